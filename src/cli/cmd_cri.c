/* cli/cmd_cri.c — `servin cri status` and `servin cri test`: talk gRPC to the daemon's CRI socket,
 * as kubelet does (src/daemon/cri/grpc_client.c), to show or check the runtime. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "cri/cri_internal.h"
#include "cri/grpc_client.h"
#include "servin/cleanup.h"
#include "servin/config.h"

char *cri_socket_default(struct cli_ctx *ctx)
{
    struct servin_config *cfg = ctx->config;
    if (cfg && cfg->cri.socket_path &&
        servin_config_key_source(cfg, "cri.socket_path") != SERVIN_CONFIG_DEFAULT)
        return xstrdup(cfg->cri.socket_path);
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return NULL;
    return xasprintf("%s/cri.sock", store->run_root);
}

static int parse(struct cli_ctx *ctx, int argc, char **argv, const char **socket, const char **format)
{
    static const struct option longopts[] = {{"cri-socket", required_argument, 0, 'S'},
                                             {"format", required_argument, 0, 'f'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "f:h", longopts)) != -1) {
        switch (c) {
        case 'h':
            return 1;
        case 'S':
            *socket = optarg;
            break;
        case 'f':
            if (!format || strcmp(optarg, "json") != 0) {
                cli_usage_error(ctx, "invalid --format \"%s\": only json", optarg);
                return -1;
            }
            *format = optarg;
            break;
        default:
            return -1;
        }
    }
    if (optind < argc) {
        cli_usage_error(ctx, "\"servin %s\" accepts no arguments", ctx->cmd ? ctx->cmd->path : "cri");
        return -1;
    }
    return 0;
}

static int call(const char *sock, const char *path, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *out, struct grpc_reply *r, struct servin_error *err)
{
    return grpc_unary_call(sock, path, req, out, 10000, r, err);
}

int cmd_cri_status(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *flag = NULL, *format = NULL;
    int p = parse(ctx, argc, argv, &flag, &format);
    if (p)
        return p > 0 ? 0 : CLI_EXIT_USAGE;
    _cleanup_free_ char *sock = flag ? xstrdup(flag) : cri_socket_default(ctx);
    if (!sock)
        return CLI_EXIT_FAILURE;
    struct servin_error err = {0};
    Runtime__V1__VersionRequest vreq = RUNTIME__V1__VERSION_REQUEST__INIT;
    vreq.version = "v1";
    struct grpc_reply v = {0}, s = {0};
    if (call(sock, "/runtime.v1.RuntimeService/Version", &vreq.base,
             &runtime__v1__version_response__descriptor, &v, &err) < 0)
        return cli_fail(&err);
    if (v.code != 0) {
        int r =
            cli_failf("CRI Version on %s: %s: %s", sock, grpc_code_name(v.code), v.message ? v.message : "");
        grpc_reply_clear(&v);
        return r;
    }
    Runtime__V1__StatusRequest sreq = RUNTIME__V1__STATUS_REQUEST__INIT;
    sreq.verbose = format != NULL;
    if (call(sock, "/runtime.v1.RuntimeService/Status", &sreq.base, &runtime__v1__status_response__descriptor,
             &s, &err) < 0 ||
        s.code != 0) {
        grpc_reply_clear(&v);
        if (err.msg[0])
            return cli_fail(&err);
        int r =
            cli_failf("CRI Status on %s: %s: %s", sock, grpc_code_name(s.code), s.message ? s.message : "");
        grpc_reply_clear(&s);
        return r;
    }
    const Runtime__V1__VersionResponse *ver = (const void *)v.msg;
    const Runtime__V1__StatusResponse *st = (const void *)s.msg;
    bool ready = true;
    if (format) {
        _cleanup_free_ char *vj = cri_message_to_json(v.msg);
        _cleanup_free_ char *sj = cri_message_to_json(s.msg);
        json_t *o = json_pack("{s:s, s:o?, s:o?}", "socket", sock, "version", json_loads(vj, 0, NULL),
                              "status", json_loads(sj, 0, NULL));
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        printf("Socket:          %s\n", sock);
        printf("Runtime:         %s %s\n", ver->runtime_name, ver->runtime_version);
        printf("CRI API:         %s (kubelet runtime API %s)\n", ver->runtime_api_version, ver->version);
    }
    for (size_t i = 0; st->status && i < st->status->n_conditions; i++) {
        const Runtime__V1__RuntimeCondition *c = st->status->conditions[i];
        if (!format)
            printf("%-16s %s%s%s%s%s\n", c->type[0] ? c->type : "?", c->status ? "true" : "false",
                   *c->reason ? "  " : "", c->reason, *c->message ? ": " : "", c->message);
        if (strcmp(c->type, "RuntimeReady") == 0 && !c->status)
            ready = false;
    }
    grpc_reply_clear(&v);
    grpc_reply_clear(&s);
    return ready ? 0 : 1;
}

struct check {
    int failed;
};

static void report(struct check *k, bool ok, const char *what, const char *detail)
{
    printf("%s  %-28s %s\n", ok ? "ok  " : "FAIL", what, detail ? detail : "");
    if (!ok)
        k->failed++;
}

/* A call expected to succeed: prints FAIL with the reason otherwise; the reply is in *r. */
static bool expect_ok(struct check *k, const char *sock, const char *what, const char *path,
                      const ProtobufCMessage *req, const ProtobufCMessageDescriptor *out,
                      struct grpc_reply *r)
{
    struct servin_error err = {0};
    if (call(sock, path, req, out, r, &err) < 0) {
        report(k, false, what, err.msg);
        return false;
    }
    if (r->code != 0) {
        _cleanup_free_ char *d = xasprintf("%s: %s", grpc_code_name(r->code), r->message ? r->message : "");
        report(k, false, what, d);
        grpc_reply_clear(r);
        return false;
    }
    return true;
}

int cmd_cri_test(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *flag = NULL;
    int p = parse(ctx, argc, argv, &flag, NULL);
    if (p)
        return p > 0 ? 0 : CLI_EXIT_USAGE;
    _cleanup_free_ char *sock = flag ? xstrdup(flag) : cri_socket_default(ctx);
    if (!sock)
        return CLI_EXIT_FAILURE;
    struct check k = {0};
    struct grpc_reply r = {0};
    printf("CRI self-check on %s\n", sock);

    Runtime__V1__VersionRequest vreq = RUNTIME__V1__VERSION_REQUEST__INIT;
    if (expect_ok(&k, sock, "Version", "/runtime.v1.RuntimeService/Version", &vreq.base,
                  &runtime__v1__version_response__descriptor, &r)) {
        const Runtime__V1__VersionResponse *v = (const void *)r.msg;
        _cleanup_free_ char *d =
            xasprintf("%s %s, API %s", v->runtime_name, v->runtime_version, v->runtime_api_version);
        report(&k, strcmp(v->runtime_api_version, "v1") == 0, "Version", d);
        grpc_reply_clear(&r);
    } else {
        printf("1 check failed: the CRI server does not answer\n");
        return 1; /* nothing else can work */
    }

    Runtime__V1__StatusRequest sreq = RUNTIME__V1__STATUS_REQUEST__INIT;
    if (expect_ok(&k, sock, "Status", "/runtime.v1.RuntimeService/Status", &sreq.base,
                  &runtime__v1__status_response__descriptor, &r)) {
        const Runtime__V1__StatusResponse *st = (const void *)r.msg;
        bool runtime = false;
        const Runtime__V1__RuntimeCondition *net = NULL;
        for (size_t i = 0; st->status && i < st->status->n_conditions; i++) {
            if (strcmp(st->status->conditions[i]->type, "RuntimeReady") == 0)
                runtime = st->status->conditions[i]->status;
            if (strcmp(st->status->conditions[i]->type, "NetworkReady") == 0)
                net = st->status->conditions[i];
        }
        report(&k, runtime, "Status: RuntimeReady", runtime ? "true" : "false");
        /* NetworkReady false is a fact about the node (no CNI config yet), not a broken runtime. */
        _cleanup_free_ char *d = net ? xasprintf("%s%s%s", net->status ? "true" : "false (",
                                                 net->status ? "" : net->message, net->status ? "" : ")")
                                     : xstrdup("missing");
        report(&k, net != NULL, "Status: NetworkReady", d);
        grpc_reply_clear(&r);
    }

    Runtime__V1__ListImagesRequest lreq = RUNTIME__V1__LIST_IMAGES_REQUEST__INIT;
    if (expect_ok(&k, sock, "ListImages", "/runtime.v1.ImageService/ListImages", &lreq.base,
                  &runtime__v1__list_images_response__descriptor, &r)) {
        const Runtime__V1__ListImagesResponse *l = (const void *)r.msg;
        _cleanup_free_ char *d = xasprintf("%zu image(s)", l->n_images);
        report(&k, true, "ListImages", d);
        grpc_reply_clear(&r);
    }

    Runtime__V1__ImageFsInfoRequest freq = RUNTIME__V1__IMAGE_FS_INFO_REQUEST__INIT;
    if (expect_ok(&k, sock, "ImageFsInfo", "/runtime.v1.ImageService/ImageFsInfo", &freq.base,
                  &runtime__v1__image_fs_info_response__descriptor, &r)) {
        const Runtime__V1__ImageFsInfoResponse *f = (const void *)r.msg;
        bool ok = f->n_image_filesystems > 0 && f->image_filesystems[0]->fs_id;
        _cleanup_free_ char *d =
            ok ? xasprintf("%s", f->image_filesystems[0]->fs_id->mountpoint) : xstrdup("no image filesystem");
        report(&k, ok, "ImageFsInfo", d);
        grpc_reply_clear(&r);
    }

    Runtime__V1__ListPodSandboxRequest preq = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
    struct servin_error err = {0};
    if (call(sock, "/runtime.v1.RuntimeService/ListPodSandbox", &preq.base,
             &runtime__v1__list_pod_sandbox_response__descriptor, &r, &err) < 0) {
        report(&k, false, "ListPodSandbox", err.msg);
    } else {
        bool ok = r.code == 0 || r.code == GRPC_UNIMPLEMENTED;
        _cleanup_free_ char *d =
            r.code == 0
                ? xasprintf("%zu pod(s)", ((const Runtime__V1__ListPodSandboxResponse *)r.msg)->n_items)
                : xasprintf("%s: %s", grpc_code_name(r.code), r.message ? r.message : "");
        report(&k, ok, "ListPodSandbox", d);
        grpc_reply_clear(&r);
    }

    Grpc__Health__V1__HealthCheckRequest hreq = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    if (expect_ok(&k, sock, "Health/Check", "/grpc.health.v1.Health/Check", &hreq.base,
                  &grpc__health__v1__health_check_response__descriptor, &r)) {
        const Grpc__Health__V1__HealthCheckResponse *h = (const void *)r.msg;
        bool ok = h->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
        report(&k, ok, "Health/Check", ok ? "SERVING" : "not serving");
        grpc_reply_clear(&r);
    }

    if (call(sock, "/runtime.v1.RuntimeService/NoSuchMethod", &vreq.base,
             &runtime__v1__version_response__descriptor, &r, &err) < 0) {
        report(&k, false, "unknown method", err.msg);
    } else {
        report(&k, r.code == GRPC_UNIMPLEMENTED, "unknown method", grpc_code_name(r.code));
        grpc_reply_clear(&r);
    }

    if (k.failed)
        printf("%d check(s) failed\n", k.failed);
    else
        printf("all checks passed\n");
    return k.failed ? 1 : 0;
}
