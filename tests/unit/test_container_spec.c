/* Unit tests for OCI spec generation from a container's config and a fabricated image. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "container/spec_internal.h"
#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/content.h"
#include "servin/fs.h"
#include "servin/image.h"

struct fixture {
    char *root;
    struct servin_store *store;
    char image_id[SERVIN_DIGEST_MAX];
};

static void put_file(const char *dir, const char *rel, const char *text)
{
    struct servin_error err = {0};
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, rel);
    _cleanup_free_ char *parent = xstrdup(path);
    *strrchr(parent, '/') = '\0';
    assert_int_equal(servin_mkdir_p(parent, 0755, &err), 0);
    assert_int_equal(servin_write_file_atomic(path, text, strlen(text), 0644, &err), 0);
}

static void make_layer(struct servin_store *store, const char *name, const char *parent_chain,
                       struct servin_layer_desc *l, char **diff_out)
{
    struct servin_error err = {0};
    memset(l, 0, sizeof(*l));
    _cleanup_free_ char *tar = xasprintf("tar of %s", name);
    servin_digest_bytes(tar, strlen(tar), l->diff_id);
    servin_chain_id(parent_chain, l->diff_id, l->chain_id);
    char *diff = servin_layer_diff_path(store, l->chain_id);
    assert_int_equal(servin_mkdir_p(diff, 0755, &err), 0);
    *diff_out = diff;
}

/* A two-layer image: the base has /etc/passwd and /etc/group, the top replaces /etc/group. */
static void make_image(struct fixture *f)
{
    struct servin_error err = {0};
    struct servin_layer_desc layers[2];
    _cleanup_free_ char *base = NULL, *top = NULL;
    make_layer(f->store, "base", NULL, &layers[0], &base);
    make_layer(f->store, "top", layers[0].chain_id, &layers[1], &top);
    put_file(base, "etc/passwd",
             "root:x:0:0:root:/root:/bin/sh\n"
             "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
             "app:x:1000:1001:App user:/home/app:/bin/sh\n");
    put_file(base, "etc/group", "root:x:0:\nold:x:7:app\n");
    put_file(top, "etc/group", "root:x:0:\napp:x:1001:\nstaff:x:50:other,app\nwheel:x:10:root\n");
    _cleanup_free_ char *config = xasprintf(
        "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{\"Entrypoint\":[\"/"
        "entry\"],\"Cmd\":[\"serve\"],"
        "\"Env\":[\"PATH=/img/bin:/bin\",\"FOO=image\",\"KEEP=1\"],\"WorkingDir\":\"/srv\","
        "\"Labels\":{\"from\":\"image\"}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\",\"%s\"]}}",
        layers[0].diff_id, layers[1].diff_id);
    assert_int_equal(servin_content_put(f->store, config, strlen(config), NULL, f->image_id, &err), 0);
    struct servin_image_record rec = {
        .manifest_media_type = SERVIN_MT_OCI_MANIFEST, .n_layers = 2, .layers = layers};
    strcpy(rec.config_digest, f->image_id);
    assert_int_equal(servin_image_register(f->store, &rec, &err), 0);
}

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    char tmpl[] = "/tmp/servin-spec-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    f->root = xstrdup(tmpl);
    struct servin_error err = {0};
    assert_int_equal(servin_store_open(f->root, &f->store, &err), 0);
    make_image(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    servin_store_close(f->store);
    servin_rm_rf(f->root, &err);
    free(f->root);
    free(f);
    return 0;
}

/* Create a container from a JSON config text and write its spec; returns the spec, or NULL with
 * *ret and err set when writing failed. */
static json_t *spec_for(struct fixture *f, const char *config_text, int *ret, struct servin_error *err)
{
    json_error_t jerr;
    json_t *config = json_loads(config_text, 0, &jerr);
    if (!config)
        fail_msg("bad test config %s: %s", config_text, jerr.text);
    struct servin_container c;
    struct servin_error cerr = {0};
    if (servin_container_create_record(f->store, NULL, f->image_id, "img", config, &c, &cerr) != 0)
        fail_msg("create: %s", cerr.msg);
    json_decref(config);
    *ret = servin_container_write_spec(f->store, &c, err);
    json_t *spec = NULL;
    if (*ret == 0) {
        _cleanup_free_ char *dir = servin_container_dir(f->store, c.id);
        _cleanup_free_ char *path = xasprintf("%s/config.json", dir);
        spec = json_load_file(path, 0, NULL);
        assert_non_null(spec);
        json_object_set_new(spec, "_test_id", json_string(c.id));
    }
    servin_container_clear(&c);
    return spec;
}

static json_t *spec_ok(struct fixture *f, const char *config_text)
{
    int ret;
    struct servin_error err = {0};
    json_t *spec = spec_for(f, config_text, &ret, &err);
    if (ret != 0)
        fail_msg("write spec for %s: %s", config_text, err.msg);
    return spec;
}

static void spec_fails(struct fixture *f, const char *config_text, const char *want_msg)
{
    int ret;
    struct servin_error err = {0};
    json_t *spec = spec_for(f, config_text, &ret, &err);
    json_decref(spec);
    if (ret == 0)
        fail_msg("write spec for %s should fail", config_text);
    if (!strstr(err.msg, want_msg))
        fail_msg("error \"%s\" does not say \"%s\"", err.msg, want_msg);
}

static json_t *at(json_t *v, const char *path)
{
    _cleanup_free_ char *copy = xstrdup(path);
    for (char *save = NULL, *k = strtok_r(copy, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
        v = json_object_get(v, k);
    return v;
}

static bool array_has(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach (arr, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

static bool has_namespace(json_t *spec, const char *type)
{
    size_t i;
    json_t *v;
    json_array_foreach (at(spec, "linux.namespaces"), i, v) {
        if (strcmp(json_string_value(json_object_get(v, "type")), type) == 0)
            return true;
    }
    return false;
}

static json_t *mount_at(json_t *spec, const char *dest)
{
    size_t i;
    json_t *v;
    json_array_foreach (json_object_get(spec, "mounts"), i, v) {
        if (strcmp(json_string_value(json_object_get(v, "destination")), dest) == 0)
            return v;
    }
    return NULL;
}

static long long rlimit(json_t *spec, const char *type)
{
    size_t i;
    json_t *v;
    json_array_foreach (at(spec, "process.rlimits"), i, v) {
        if (strcmp(json_string_value(json_object_get(v, "type")), type) == 0)
            return json_integer_value(json_object_get(v, "soft"));
    }
    return -1;
}

static void defaults_and_image_merge(void **state)
{
    struct fixture *f = *state;
    json_t *spec = spec_ok(
        f, "{\"Config\":{\"Cmd\":[\"echo\",\"hi\"],\"Env\":[\"FOO=user\",\"BAR=1\"]},\"HostConfig\":{}}");
    const char *id = json_string_value(json_object_get(spec, "_test_id"));
    json_t *args = at(spec, "process.args");
    assert_int_equal(json_array_size(args), 3);
    assert_string_equal(json_string_value(json_array_get(args, 0)), "/entry");
    assert_string_equal(json_string_value(json_array_get(args, 1)), "echo");
    assert_string_equal(json_string_value(json_array_get(args, 2)), "hi");
    json_t *env = at(spec, "process.env");
    assert_true(array_has(env, "PATH=/img/bin:/bin"));
    assert_true(array_has(env, "FOO=user"));
    assert_false(array_has(env, "FOO=image"));
    assert_true(array_has(env, "KEEP=1"));
    assert_true(array_has(env, "BAR=1"));
    assert_true(array_has(env, "HOME=/root"));
    _cleanup_free_ char *host_env = xasprintf("HOSTNAME=%.12s", id);
    assert_true(array_has(env, host_env));
    assert_false(array_has(env, "TERM=xterm"));
    assert_string_equal(json_string_value(at(spec, "process.cwd")), "/srv");
    assert_int_equal(json_integer_value(at(spec, "process.user.uid")), 0);
    assert_false(json_is_true(at(spec, "process.terminal")));
    assert_false(json_is_true(at(spec, "process.noNewPrivileges")));
    json_t *caps = at(spec, "process.capabilities.bounding");
    assert_int_equal(json_array_size(caps), 14);
    assert_true(array_has(caps, "CAP_CHOWN"));
    assert_true(array_has(caps, "CAP_AUDIT_WRITE"));
    assert_false(array_has(caps, "CAP_SYS_ADMIN"));
    assert_non_null(at(spec, "linux.seccomp"));
    assert_true(array_has(at(spec, "linux.maskedPaths"), "/proc/kcore"));
    assert_true(array_has(at(spec, "linux.maskedPaths"), "/sys/devices/virtual/powercap"));
    assert_true(array_has(at(spec, "linux.readonlyPaths"), "/proc/sysrq-trigger"));
    assert_true(has_namespace(spec, "network"));
    assert_true(has_namespace(spec, "pid"));
    assert_true(has_namespace(spec, "cgroup"));
    _cleanup_free_ char *cg = xasprintf("servin/%s", id);
    assert_string_equal(json_string_value(at(spec, "linux.cgroupsPath")), cg);
    /* Docker's 1048576, or our own hard limit when we could not raise it that far. */
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    long long nofile = rlimit(spec, "RLIMIT_NOFILE");
    assert_true(nofile == 1048576 || (nofile == (long long)rl.rlim_max && rl.rlim_max < 1048576));
    assert_false(json_is_true(at(spec, "root.readonly")));
    assert_non_null(strstr(json_string_value(at(spec, "root.path")), "/merged"));
    char hostname[13];
    snprintf(hostname, sizeof(hostname), "%.12s", id);
    assert_string_equal(json_string_value(json_object_get(spec, "hostname")), hostname);
    assert_true(array_has(json_object_get(mount_at(spec, "/dev/shm"), "options"), "size=67108864"));
    json_t *hosts_mount = mount_at(spec, "/etc/hosts");
    assert_non_null(hosts_mount);

    /* The files the spec binds. */
    _cleanup_free_ char *dir = servin_container_dir(f->store, id);
    _cleanup_free_ char *hosts_path = xasprintf("%s/hosts", dir);
    assert_string_equal(json_string_value(json_object_get(hosts_mount, "source")), hosts_path);
    _cleanup_free_ char *hosts = NULL, *name = NULL, *resolv = NULL;
    struct servin_error err = {0};
    assert_int_equal(servin_read_file(hosts_path, &hosts, NULL, &err), 0);
    assert_non_null(strstr(hosts, "127.0.0.1\tlocalhost"));
    assert_non_null(strstr(hosts, hostname));
    _cleanup_free_ char *name_path = xasprintf("%s/hostname", dir);
    assert_int_equal(servin_read_file(name_path, &name, NULL, &err), 0);
    _cleanup_free_ char *want_name = xasprintf("%s\n", hostname);
    assert_string_equal(name, want_name);
    _cleanup_free_ char *resolv_path = xasprintf("%s/resolv.conf", dir);
    assert_int_equal(servin_read_file(resolv_path, &resolv, NULL, &err), 0);
    assert_null(strstr(resolv, "nameserver 127."));
    assert_non_null(strstr(resolv, "nameserver "));
    json_decref(spec);
}

static void entrypoint_and_cmd_rules(void **state)
{
    struct fixture *f = *state;
    /* The image's own pair. */
    json_t *spec = spec_ok(f, "{\"Config\":{},\"HostConfig\":{}}");
    json_t *args = at(spec, "process.args");
    assert_int_equal(json_array_size(args), 2);
    assert_string_equal(json_string_value(json_array_get(args, 0)), "/entry");
    assert_string_equal(json_string_value(json_array_get(args, 1)), "serve");
    json_decref(spec);
    /* A new entrypoint drops the image's Cmd. */
    spec = spec_ok(f, "{\"Config\":{\"Entrypoint\":[\"/bin/other\"]}}");
    args = at(spec, "process.args");
    assert_int_equal(json_array_size(args), 1);
    assert_string_equal(json_string_value(json_array_get(args, 0)), "/bin/other");
    json_decref(spec);
    /* Tty: TERM and a terminal; Hostname given; WorkingDir must be absolute. */
    spec = spec_ok(f, "{\"Config\":{\"Tty\":true,\"Hostname\":\"box\",\"Env\":[\"HOME=/h\"]}}");
    assert_true(json_is_true(at(spec, "process.terminal")));
    assert_true(array_has(at(spec, "process.env"), "TERM=xterm"));
    assert_true(array_has(at(spec, "process.env"), "HOSTNAME=box"));
    assert_true(array_has(at(spec, "process.env"), "HOME=/h"));
    assert_string_equal(json_string_value(json_object_get(spec, "hostname")), "box");
    json_decref(spec);
    spec_fails(f, "{\"Config\":{\"WorkingDir\":\"rel\"}}", "must be an absolute path");
}

static void users_numeric_and_by_name(void **state)
{
    struct fixture *f = *state;
    json_t *spec = spec_ok(f, "{\"Config\":{\"User\":\"1000:1000\"}}");
    assert_int_equal(json_integer_value(at(spec, "process.user.uid")), 1000);
    assert_int_equal(json_integer_value(at(spec, "process.user.gid")), 1000);
    json_decref(spec);

    /* By name: uid and primary group from /etc/passwd, supplementary groups from the top layer's
     * /etc/group (the base layer's "old" group is shadowed). */
    spec = spec_ok(f, "{\"Config\":{\"User\":\"app\"}}");
    assert_int_equal(json_integer_value(at(spec, "process.user.uid")), 1000);
    assert_int_equal(json_integer_value(at(spec, "process.user.gid")), 1001);
    json_t *gids = at(spec, "process.user.additionalGids");
    assert_int_equal(json_array_size(gids), 1);
    assert_int_equal(json_integer_value(json_array_get(gids, 0)), 50);
    assert_true(array_has(at(spec, "process.env"), "HOME=/home/app"));
    json_decref(spec);

    spec = spec_ok(f, "{\"Config\":{\"User\":\"app:wheel\"}}");
    assert_int_equal(json_integer_value(at(spec, "process.user.gid")), 10);
    json_decref(spec);

    /* A uid without a passwd entry: group 0, home /. */
    spec = spec_ok(f, "{\"Config\":{\"User\":\"4242\"}}");
    assert_int_equal(json_integer_value(at(spec, "process.user.uid")), 4242);
    assert_int_equal(json_integer_value(at(spec, "process.user.gid")), 0);
    assert_true(array_has(at(spec, "process.env"), "HOME=/"));
    json_decref(spec);

    spec_fails(f, "{\"Config\":{\"User\":\"nobody2\"}}",
               "invalid user \"nobody2\": no such user in the image");
    spec_fails(f, "{\"Config\":{\"User\":\"app:nogroup\"}}",
               "invalid group \"nogroup\": no such group in the image");
    spec_fails(f, "{\"Config\":{\"User\":\":5\"}}", "invalid user");
}

static void capabilities_add_drop_all(void **state)
{
    struct fixture *f = *state;
    json_t *spec = spec_ok(f, "{\"Config\":{},\"HostConfig\":{\"CapAdd\":[\"NET_ADMIN\",\"cap_sys_ptrace\"],"
                              "\"CapDrop\":[\"chown\"]}}");
    json_t *caps = at(spec, "process.capabilities.effective");
    assert_true(array_has(caps, "CAP_NET_ADMIN"));
    assert_true(array_has(caps, "CAP_SYS_PTRACE"));
    assert_false(array_has(caps, "CAP_CHOWN"));
    assert_int_equal(json_array_size(caps), 15);
    json_decref(spec);

    spec = spec_ok(f, "{\"Config\":{},\"HostConfig\":{\"CapDrop\":[\"ALL\"],\"CapAdd\":[\"KILL\"]}}");
    caps = at(spec, "process.capabilities.bounding");
    assert_int_equal(json_array_size(caps), 1);
    assert_true(array_has(caps, "CAP_KILL"));
    json_decref(spec);

    spec = spec_ok(f, "{\"Config\":{},\"HostConfig\":{\"CapAdd\":[\"ALL\"],\"CapDrop\":[\"MKNOD\"]}}");
    caps = at(spec, "process.capabilities.permitted");
    assert_true(json_array_size(caps) > 30);
    assert_true(array_has(caps, "CAP_SYS_ADMIN"));
    assert_false(array_has(caps, "CAP_MKNOD"));
    json_decref(spec);

    spec_fails(f, "{\"Config\":{},\"HostConfig\":{\"CapAdd\":[\"FLY\"]}}", "unknown capability \"FLY\"");
}

static void privileged_and_security_opts(void **state)
{
    struct fixture *f = *state;
    json_t *spec = spec_ok(f, "{\"Config\":{},\"HostConfig\":{\"Privileged\":true}}");
    assert_null(at(spec, "linux.seccomp"));
    assert_null(at(spec, "linux.maskedPaths"));
    assert_null(at(spec, "linux.readonlyPaths"));
    assert_true(array_has(at(spec, "process.capabilities.bounding"), "CAP_SYS_ADMIN"));
    assert_true(
        json_is_true(json_object_get(json_array_get(at(spec, "linux.resources.devices"), 0), "allow")));
    assert_true(json_array_size(at(spec, "linux.devices")) > 0);
    json_t *sys = mount_at(spec, "/sys");
    assert_false(array_has(json_object_get(sys, "options"), "ro"));
    json_decref(spec);

    spec = spec_ok(
        f, "{\"Config\":{},\"HostConfig\":{\"SecurityOpt\":[\"seccomp=unconfined\",\"no-new-privileges\"],"
           "\"ReadonlyRootfs\":true}}");
    assert_null(at(spec, "linux.seccomp"));
    assert_true(json_is_true(at(spec, "process.noNewPrivileges")));
    assert_true(json_is_true(at(spec, "root.readonly")));
    assert_true(array_has(at(spec, "linux.maskedPaths"), "/proc/keys"));
    json_decref(spec);

    spec = spec_ok(
        f, "{\"Config\":{},\"HostConfig\":{\"SecurityOpt\":[\"seccomp={\\\"defaultAction\\\":"
           "\\\"SCMP_ACT_ALLOW\\\",\\\"syscalls\\\":[{\\\"names\\\":[\\\"mkdir\\\"],\\\"action\\\":"
           "\\\"SCMP_ACT_ERRNO\\\"},{\\\"names\\\":[\\\"mount\\\"],\\\"action\\\":\\\"SCMP_ACT_ALLOW\\\","
           "\\\"includes\\\":{\\\"caps\\\":[\\\"CAP_SYS_ADMIN\\\"]}}]}\"]}}");
    assert_string_equal(json_string_value(at(spec, "linux.seccomp.defaultAction")), "SCMP_ACT_ALLOW");
    json_t *rules = at(spec, "linux.seccomp.syscalls");
    assert_int_equal(json_array_size(rules), 1); /* mount needs CAP_SYS_ADMIN, which it lacks */
    assert_true(array_has(json_object_get(json_array_get(rules, 0), "names"), "mkdir"));
    json_decref(spec);

    spec_fails(f, "{\"Config\":{},\"HostConfig\":{\"SecurityOpt\":[\"bogus\"]}}",
               "invalid --security-opt \"bogus\"");
    spec_fails(f, "{\"Config\":{},\"HostConfig\":{\"SecurityOpt\":[\"seccomp={not json\"]}}",
               "invalid seccomp profile");

    /* --init: the init (here any executable, named by SERVIN_INIT_PATH) runs the process after "--". */
    setenv("SERVIN_INIT_PATH", "/bin/true", 1);
    spec = spec_ok(
        f, "{\"Config\":{\"Entrypoint\":[\"sleep\"],\"Cmd\":[\"1\"]},\"HostConfig\":{\"Init\":true}}");
    json_t *args = at(spec, "process.args");
    assert_string_equal(json_string_value(json_array_get(args, 0)), "/sbin/docker-init");
    assert_string_equal(json_string_value(json_array_get(args, 1)), "--");
    assert_string_equal(json_string_value(json_array_get(args, 2)), "sleep");
    bool mounted = false;
    size_t i;
    json_t *m;
    json_array_foreach (at(spec, "mounts"), i, m)
        mounted = mounted ||
                  (strcmp(json_string_value(json_object_get(m, "destination")), "/sbin/docker-init") == 0 &&
                   strcmp(json_string_value(json_object_get(m, "source")), "/bin/true") == 0);
    assert_true(mounted);
    json_decref(spec);
    setenv("SERVIN_INIT_PATH", "/nonexistent/init", 1);
    spec_fails(f, "{\"Config\":{},\"HostConfig\":{\"Init\":true}}", "--init needs an init binary");
    unsetenv("SERVIN_INIT_PATH");
}

static void resources_and_limits(void **state)
{
    struct fixture *f = *state;
    json_t *spec = spec_ok(f, "{\"Config\":{},\"HostConfig\":{\"Memory\":536870912,\"NanoCpus\":1500000000,"
                              "\"PidsLimit\":100,\"CpuShares\":512,\"ShmSize\":1048576,"
                              "\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":1024,\"Hard\":2048},"
                              "{\"Name\":\"nproc\",\"Soft\":10,\"Hard\":20}]}}");
    assert_int_equal(json_integer_value(at(spec, "linux.resources.memory.limit")), 536870912);
    assert_int_equal(json_integer_value(at(spec, "linux.resources.memory.swap")), 2LL * 536870912);
    assert_int_equal(json_integer_value(at(spec, "linux.resources.cpu.quota")), 150000);
    assert_int_equal(json_integer_value(at(spec, "linux.resources.cpu.period")), 100000);
    assert_int_equal(json_integer_value(at(spec, "linux.resources.cpu.shares")), 512);
    assert_int_equal(json_integer_value(at(spec, "linux.resources.pids.limit")), 100);
    assert_false(
        json_is_true(json_object_get(json_array_get(at(spec, "linux.resources.devices"), 0), "allow")));
    assert_int_equal(rlimit(spec, "RLIMIT_NOFILE"), 1024);
    assert_int_equal(rlimit(spec, "RLIMIT_NPROC"), 10);
    assert_true(array_has(json_object_get(mount_at(spec, "/dev/shm"), "options"), "size=1048576"));
    json_decref(spec);

    spec = spec_ok(f, "{\"Config\":{},\"HostConfig\":{}}");
    assert_null(at(spec, "linux.resources.memory"));
    assert_null(at(spec, "linux.resources.cpu"));
    assert_null(at(spec, "linux.resources.pids"));
    json_decref(spec);

    spec_fails(f, "{\"Config\":{},\"HostConfig\":{\"NanoCpus\":1000000000,\"CpuQuota\":5000}}",
               "conflicting options");
    spec_fails(f, "{\"Config\":{},\"HostConfig\":{\"Ulimits\":[{\"Name\":\"wings\",\"Soft\":1,\"Hard\":1}]}}",
               "invalid ulimit \"wings\"");
    spec_fails(f,
               "{\"Config\":{},\"HostConfig\":{\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":9,\"Hard\":1}]}}",
               "above the hard limit");
}

static void network_modes_and_mounts(void **state)
{
    struct fixture *f = *state;
    json_t *spec = spec_ok(f, "{\"Config\":{},\"HostConfig\":{\"NetworkMode\":\"host\"}}");
    assert_false(has_namespace(spec, "network"));
    assert_true(has_namespace(spec, "uts"));
    json_decref(spec);

    spec =
        spec_ok(f, "{\"Config\":{},\"HostConfig\":{\"NetworkMode\":\"none\",\"Binds\":[\"/tmp:/hosttmp:ro\"],"
                   "\"Tmpfs\":{\"/run\":\"size=1m\"}}}");
    assert_true(has_namespace(spec, "network"));
    json_t *bind = mount_at(spec, "/hosttmp");
    assert_non_null(bind);
    assert_string_equal(json_string_value(json_object_get(bind, "source")), "/tmp");
    assert_true(array_has(json_object_get(bind, "options"), "ro"));
    json_t *tmpfs = mount_at(spec, "/run");
    assert_non_null(tmpfs);
    assert_true(array_has(json_object_get(tmpfs, "options"), "size=1m"));
    json_decref(spec);

    spec_fails(f, "{\"Config\":{},\"HostConfig\":{\"Binds\":[\"data:/data\"]}}",
               "named volumes are not supported yet");
    spec_fails(f, "{\"Config\":{},\"HostConfig\":{\"Binds\":[\"/tmp:rel\"]}}", "must be absolute");
    spec_fails(f, "{\"Config\":{},\"HostConfig\":{\"Binds\":[\"/tmp:/x:ate\"]}}", "unknown option \"ate\"");
    spec = spec_ok(f, "{\"Config\":{},\"HostConfig\":{\"Binds\":[\"/tmp:/x:rw,rslave\"]}}");
    assert_true(array_has(json_object_get(mount_at(spec, "/x"), "options"), "rslave"));
    assert_false(array_has(json_object_get(mount_at(spec, "/x"), "options"), "ro"));
    json_decref(spec);
}

static json_t *namespace_of(json_t *spec, const char *type)
{
    size_t i;
    json_t *v;
    json_array_foreach (at(spec, "linux.namespaces"), i, v) {
        if (strcmp(json_string_value(json_object_get(v, "type")), type) == 0)
            return v;
    }
    return NULL;
}

/* What pods (CRI) need: joining namespace files, the host's UTS, a cgroup parent, added groups,
 * devices, and Kubernetes' own masked/readonly lists and unified cgroup files. */
static void pod_namespaces_groups_devices_and_paths(void **state)
{
    struct fixture *f = *state;
    json_t *spec = spec_ok(
        f, "{\"Config\":{\"Hostname\":\"pod\"},\"HostConfig\":{\"NetworkMode\":\"ns:/proc/self/ns/net\","
           "\"IpcMode\":\"ns:/proc/self/ns/ipc\",\"UTSMode\":\"ns:/proc/self/ns/uts\","
           "\"PidMode\":\"host\",\"CgroupParent\":\"/kubepods/pod1\",\"GroupAdd\":[\"staff\",\"4242\"],"
           "\"Devices\":[{\"PathOnHost\":\"/dev/null\",\"PathInContainer\":\"/dev/xnull\","
           "\"CgroupPermissions\":\"rw\"}],\"MaskedPaths\":[\"/proc/kcore\"],\"ReadonlyPaths\":[],"
           "\"CgroupConf\":{\"memory.high\":\"100M\"}}}");
    assert_string_equal(json_string_value(json_object_get(namespace_of(spec, "network"), "path")),
                        "/proc/self/ns/net");
    assert_string_equal(json_string_value(json_object_get(namespace_of(spec, "ipc"), "path")),
                        "/proc/self/ns/ipc");
    assert_string_equal(json_string_value(json_object_get(namespace_of(spec, "uts"), "path")),
                        "/proc/self/ns/uts");
    assert_null(namespace_of(spec, "pid"));
    /* A joined UTS namespace keeps its owner's hostname. */
    assert_null(json_object_get(spec, "hostname"));
    _cleanup_free_ char *cg =
        xasprintf("/kubepods/pod1/%s", json_string_value(json_object_get(spec, "_test_id")));
    assert_string_equal(json_string_value(at(spec, "linux.cgroupsPath")), cg);
    json_t *gids = at(spec, "process.user.additionalGids");
    bool staff = false, extra = false;
    size_t i;
    json_t *v;
    json_array_foreach (gids, i, v) {
        staff = staff || json_integer_value(v) == 50;
        extra = extra || json_integer_value(v) == 4242;
    }
    assert_true(staff && extra);
    json_t *dev = json_array_get(at(spec, "linux.devices"), 0);
    assert_string_equal(json_string_value(json_object_get(dev, "path")), "/dev/xnull");
    assert_int_equal(json_integer_value(json_object_get(dev, "major")), 1);
    json_t *allow = at(spec, "linux.resources.devices");
    assert_int_equal(json_array_size(allow), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(allow, 1), "access")), "rw");
    assert_int_equal(json_array_size(at(spec, "linux.maskedPaths")), 1);
    assert_int_equal(json_array_size(at(spec, "linux.readonlyPaths")), 0);
    assert_string_equal(
        json_string_value(json_object_get(at(spec, "linux.resources.unified"), "memory.high")), "100M");
    json_decref(spec);

    spec = spec_ok(f, "{\"Config\":{},\"HostConfig\":{\"UTSMode\":\"host\",\"IpcMode\":\"host\"}}");
    assert_null(namespace_of(spec, "uts"));
    assert_null(namespace_of(spec, "ipc"));
    assert_non_null(namespace_of(spec, "pid"));
    assert_null(json_object_get(spec, "hostname"));
    json_decref(spec);

    spec_fails(f, "{\"Config\":{},\"HostConfig\":{\"IpcMode\":\"ns:relative\"}}", "must be absolute");
    spec_fails(f, "{\"Config\":{},\"HostConfig\":{\"PidMode\":\"ns:/nonexistent/ns\"}}", "/nonexistent/ns");
    spec_fails(f, "{\"Config\":{},\"HostConfig\":{\"PidMode\":\"bogus\"}}", "invalid --pid");
    spec_fails(f, "{\"Config\":{},\"HostConfig\":{\"GroupAdd\":[\"nogroup\"]}}", "nogroup");
    spec_fails(f, "{\"Config\":{},\"HostConfig\":{\"CgroupParent\":\"/a/../b\"}}", "invalid cgroup parent");
    spec_fails(f, "{\"Config\":{},\"HostConfig\":{\"Devices\":[{\"PathOnHost\":\"/etc/passwd\"}]}}",
               "not a character or block device");
}

static void apply_image_defaults_is_idempotent(void **state)
{
    (void)state;
    json_t *image = json_loads("{\"config\":{\"Cmd\":[\"sh\"],\"Env\":[\"A=1\",\"B=2\"],\"User\":\"app\","
                               "\"Labels\":{\"x\":\"img\",\"y\":\"img\"}}}",
                               0, NULL);
    json_t *config = json_loads("{\"Config\":{\"Env\":[\"B=3\"],\"Labels\":{\"x\":\"mine\"}}}", 0, NULL);
    servin_container_apply_image_defaults(config, image);
    _cleanup_free_ char *once = json_dumps(config, JSON_SORT_KEYS | JSON_COMPACT);
    servin_container_apply_image_defaults(config, image);
    _cleanup_free_ char *twice = json_dumps(config, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(once, twice);
    json_t *cfg = json_object_get(config, "Config");
    assert_string_equal(json_string_value(json_array_get(json_object_get(cfg, "Cmd"), 0)), "sh");
    assert_string_equal(json_string_value(json_array_get(json_object_get(cfg, "Env"), 0)), "A=1");
    assert_string_equal(json_string_value(json_array_get(json_object_get(cfg, "Env"), 1)), "B=3");
    assert_string_equal(json_string_value(json_object_get(cfg, "User")), "app");
    assert_string_equal(json_string_value(at(cfg, "Labels.x")), "mine");
    assert_string_equal(json_string_value(at(cfg, "Labels.y")), "img");
    json_decref(image);
    json_decref(config);
}

static void resolv_conf_drops_loopback_servers(void **state)
{
    (void)state;
    _cleanup_free_ char *kept = ctr_resolv_filter("# generated\nnameserver 127.0.0.53\nnameserver 10.0.0.2\n"
                                                  "nameserver ::1\nsearch example.org\noptions edns0\n");
    assert_non_null(kept);
    assert_string_equal(kept, "# generated\nnameserver 10.0.0.2\nsearch example.org\noptions edns0\n");
    assert_null(ctr_resolv_filter("nameserver 127.0.0.53\noptions edns0 trust-ad\n"));
    assert_null(ctr_resolv_filter(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(defaults_and_image_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(entrypoint_and_cmd_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(users_numeric_and_by_name, setup, teardown),
        cmocka_unit_test_setup_teardown(capabilities_add_drop_all, setup, teardown),
        cmocka_unit_test_setup_teardown(privileged_and_security_opts, setup, teardown),
        cmocka_unit_test_setup_teardown(resources_and_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(network_modes_and_mounts, setup, teardown),
        cmocka_unit_test_setup_teardown(pod_namespaces_groups_devices_and_paths, setup, teardown),
        cmocka_unit_test(apply_image_defaults_is_idempotent),
        cmocka_unit_test(resolv_conf_drops_loopback_servers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
