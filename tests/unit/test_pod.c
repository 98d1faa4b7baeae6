/* Unit tests for pod sandboxes: records and filters, config checks, cgroup parent names, CNI config
 * parsing, plugin stdin configs and results, and (as root) a whole run/stop/remove with a fake CNI
 * plugin that records what it was given. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cmocka.h>

#include "pod/pod_internal.h"
#include "servin/cgroup.h"
#include "servin/cleanup.h"
#include "servin/cni.h"
#include "servin/fs.h"

struct fixture {
    char *root;
    struct servin_store *store;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    char tmpl[] = "/tmp/servin-pod-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    f->root = xstrdup(tmpl);
    struct servin_error err = {0};
    assert_int_equal(servin_store_open(f->root, &f->store, &err), 0);
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

static void insert(struct fixture *f, const char *name, const char *app, enum servin_pod_state state,
                   struct servin_pod *out)
{
    struct servin_pod p = {0};
    pod_new_id(p.id);
    p.name = xstrdup(name);
    p.namespace = xstrdup("default");
    p.uid = xstrdup("uid-1");
    p.state = state;
    p.created = pod_now_ns();
    p.labels = json_pack("{s:s,s:s}", "app", app, "tier", "web");
    p.annotations = json_pack("{s:s}", "a", "b");
    p.hostname = xstrdup(name);
    p.port_mappings =
        json_pack("[{s:s,s:i,s:i}]", "protocol", "tcp", "container_port", 80, "host_port", 8080);
    p.additional_ips = json_array();
    p.network_mode = SERVIN_NS_POD;
    p.pid_mode = SERVIN_NS_CONTAINER;
    p.ip = xstrdup("10.1.2.3");
    struct servin_error err = {0};
    assert_int_equal(pod_record_insert(f->store, &p, &err), 0);
    *out = p;
}

static void test_record_roundtrip(void **state)
{
    struct fixture *f = *state;
    struct servin_pod p, got;
    insert(f, "web", "nginx", SERVIN_POD_READY, &p);
    struct servin_error err = {0};
    assert_int_equal(servin_pod_get(f->store, p.id, &got, &err), 0);
    assert_string_equal(got.name, "web");
    assert_string_equal(got.namespace, "default");
    assert_string_equal(got.ip, "10.1.2.3");
    assert_int_equal(got.state, SERVIN_POD_READY);
    assert_int_equal(got.pid_mode, SERVIN_NS_CONTAINER);
    assert_int_equal(got.created, p.created);
    assert_string_equal(json_string_value(json_object_get(got.labels, "app")), "nginx");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(got.port_mappings, 0), "host_port")),
                     8080);
    assert_true(json_is_null(got.cni_net));
    servin_pod_clear(&got);

    /* A prefix finds it; unknown and non-hex ids do not. */
    char prefix[13];
    snprintf(prefix, sizeof(prefix), "%.12s", p.id);
    assert_int_equal(servin_pod_get(f->store, prefix, &got, &err), 0);
    assert_string_equal(got.id, p.id);
    servin_pod_clear(&got);
    assert_int_equal(servin_pod_get(f->store, "ffffffffffff0000", &got, &err), -ENOENT);
    assert_int_equal(servin_pod_get(f->store, "../x", &got, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "not found"));

    /* Update writes state back. */
    p.state = SERVIN_POD_NOTREADY;
    free(p.ip);
    p.ip = xstrdup("");
    assert_int_equal(pod_record_update(f->store, &p, &err), 0);
    assert_int_equal(servin_pod_get(f->store, p.id, &got, &err), 0);
    assert_int_equal(got.state, SERVIN_POD_NOTREADY);
    assert_string_equal(got.ip, "");
    servin_pod_clear(&got);

    /* Same name, namespace, uid and attempt: refused. */
    struct servin_pod dup = {0};
    pod_new_id(dup.id);
    dup.name = xstrdup("web");
    dup.namespace = xstrdup("default");
    dup.uid = xstrdup("uid-1");
    assert_int_equal(pod_record_insert(f->store, &dup, &err), -EEXIST);
    dup.attempt = 1;
    assert_int_equal(pod_record_insert(f->store, &dup, &err), 0);
    servin_pod_clear(&dup);

    assert_int_equal(pod_record_delete(f->store, p.id, &err), 0);
    assert_int_equal(servin_pod_get(f->store, p.id, &got, &err), -ENOENT);
    servin_pod_clear(&p);
}

static void test_list_filters(void **state)
{
    struct fixture *f = *state;
    struct servin_pod a, b, c;
    insert(f, "a", "nginx", SERVIN_POD_READY, &a);
    insert(f, "b", "redis", SERVIN_POD_NOTREADY, &b);
    insert(f, "c", "nginx", SERVIN_POD_NOTREADY, &c);
    struct servin_error err = {0};
    struct servin_pod *list = NULL;
    size_t n = 0;
    assert_int_equal(servin_pod_list(f->store, NULL, &list, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].name, "c"); /* newest first */
    servin_pods_free(list, n);

    struct servin_pod_filter flt = {.state = SERVIN_POD_NOTREADY};
    assert_int_equal(servin_pod_list(f->store, &flt, &list, &n, &err), 0);
    assert_int_equal(n, 2);
    servin_pods_free(list, n);

    flt.labels = json_pack("{s:s}", "app", "nginx");
    assert_int_equal(servin_pod_list(f->store, &flt, &list, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].name, "c");
    servin_pods_free(list, n);
    flt.state = -1;
    assert_int_equal(servin_pod_list(f->store, &flt, &list, &n, &err), 0);
    assert_int_equal(n, 2);
    servin_pods_free(list, n);
    json_decref(flt.labels);
    flt.labels = json_pack("{s:s,s:s}", "app", "nginx", "tier", "db");
    assert_int_equal(servin_pod_list(f->store, &flt, &list, &n, &err), 0);
    assert_int_equal(n, 0);
    servin_pods_free(list, n);
    json_decref(flt.labels);

    struct servin_pod_filter byid = {.state = -1, .id = b.id};
    assert_int_equal(servin_pod_list(f->store, &byid, &list, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].name, "b");
    servin_pods_free(list, n);
    servin_pod_clear(&a);
    servin_pod_clear(&b);
    servin_pod_clear(&c);
}

static void test_cgroup_parent(void **state)
{
    (void)state;
    char *p = servin_pod_cgroup_parent_path("kubepods-burstable-pod12_34.slice");
    assert_string_equal(p, "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12_34.slice");
    free(p);
    p = servin_pod_cgroup_parent_path("kubepods.slice");
    assert_string_equal(p, "/kubepods.slice");
    free(p);
    p = servin_pod_cgroup_parent_path("/kubepods/besteffort/pod1");
    assert_string_equal(p, "/kubepods/besteffort/pod1");
    free(p);
    assert_null(servin_pod_cgroup_parent_path("/kubepods/../etc"));
    assert_null(servin_pod_cgroup_parent_path("a--b.slice"));
    assert_null(servin_pod_cgroup_parent_path(""));
}

static void test_checks(void **state)
{
    (void)state;
    struct servin_error err = {0};
    json_t *s = json_pack("{s:s,s:s}", "net.ipv4.ip_unprivileged_port_start", "0", "kernel.shmmax", "100000");
    assert_int_equal(pod_sysctls_check(s, false, false, &err), 0);
    assert_int_equal(pod_sysctls_check(s, true, false, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "host's network"));
    assert_int_equal(pod_sysctls_check(s, false, true, &err), -EINVAL);
    json_decref(s);
    s = json_pack("{s:s}", "vm.swappiness", "1");
    assert_int_equal(pod_sysctls_check(s, false, false, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "not namespaced"));
    json_decref(s);
    s = json_pack("{s:s}", "net/../../x", "1");
    assert_int_equal(pod_sysctls_check(s, false, false, &err), -EINVAL);
    json_decref(s);

    json_t *dns = json_pack("{s:[s,s],s:[s],s:[s]}", "servers", "10.0.0.10", "fd00::1", "searches",
                            "svc.local", "options", "ndots:5");
    assert_int_equal(pod_dns_check(dns, &err), 0);
    json_decref(dns);
    dns = json_pack("{s:[s]}", "servers", "dns.example");
    assert_int_equal(pod_dns_check(dns, &err), -EINVAL);
    json_decref(dns);
    dns = json_pack("{s:[s]}", "searches", "a b");
    assert_int_equal(pod_dns_check(dns, &err), -EINVAL);
    json_decref(dns);
}

static const char *CONFLIST =
    "{\"cniVersion\": \"1.0.0\", \"name\": \"podnet\", \"plugins\": ["
    "{\"type\": \"bridge\", \"bridge\": \"cni-x\", \"ipam\": {\"type\": \"host-local\"}},"
    "{\"type\": \"portmap\", \"capabilities\": {\"portMappings\": true}}]}";

static void test_cni_parse(void **state)
{
    (void)state;
    struct servin_error err = {0};
    struct servin_cni_net *net = NULL;
    assert_int_equal(servin_cni_parse(CONFLIST, "x.conflist", "/opt/cni", &net, &err), 0);
    assert_string_equal(net->name, "podnet");
    assert_string_equal(net->cni_version, "1.0.0");
    assert_int_equal(json_array_size(net->plugins), 2);
    assert_string_equal(net->bin_dir, "/opt/cni");

    /* Plugin configs: name and version injected, prevResult chained, portMappings only for the
     * plugin that declares the capability, and only mappings with a host port. */
    json_t *ports =
        json_pack("[{s:s,s:i,s:i,s:s},{s:s,s:i,s:i}]", "protocol", "tcp", "container_port", 80, "host_port",
                  8080, "host_ip", "127.0.0.1", "protocol", "udp", "container_port", 53, "host_port", 0);
    struct servin_cni_runtime rt = {.container_id = "abc", .netns = "/x", .port_mappings = ports};
    json_t *c0 = servin_cni_plugin_config(net, 0, NULL, &rt);
    assert_string_equal(json_string_value(json_object_get(c0, "name")), "podnet");
    assert_string_equal(json_string_value(json_object_get(c0, "cniVersion")), "1.0.0");
    assert_null(json_object_get(c0, "runtimeConfig"));
    assert_null(json_object_get(c0, "prevResult"));
    json_t *prev = json_pack("{s:[{s:s}]}", "ips", "address", "10.0.0.2/24");
    json_t *c1 = servin_cni_plugin_config(net, 1, prev, &rt);
    json_t *pm = json_object_get(json_object_get(c1, "runtimeConfig"), "portMappings");
    assert_int_equal(json_array_size(pm), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(pm, 0), "hostPort")), 8080);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(pm, 0), "containerPort")), 80);
    assert_string_equal(json_string_value(json_object_get(json_array_get(pm, 0), "hostIP")), "127.0.0.1");
    assert_true(json_equal(json_object_get(c1, "prevResult"), prev));
    json_decref(c0);
    json_decref(c1);

    /* Round trip through a record. */
    json_t *j = servin_cni_net_to_json(net);
    struct servin_cni_net *back = NULL;
    assert_int_equal(servin_cni_net_from_json(j, &back, &err), 0);
    assert_string_equal(back->bin_dir, "/opt/cni");
    assert_true(json_equal(back->plugins, net->plugins));
    servin_cni_net_free(back);
    json_decref(j);
    servin_cni_net_free(net);

    /* A single .conf is a list of one; an old version gets no prevResult. */
    assert_int_equal(servin_cni_parse("{\"cniVersion\":\"0.2.0\",\"name\":\"old\",\"type\":\"bridge\"}",
                                      "a.conf", NULL, &net, &err),
                     0);
    assert_int_equal(json_array_size(net->plugins), 1);
    assert_string_equal(net->bin_dir, "/usr/lib/cni");
    c0 = servin_cni_plugin_config(net, 0, prev, &rt);
    assert_null(json_object_get(c0, "prevResult"));
    json_decref(c0);
    servin_cni_net_free(net);
    json_decref(prev);
    json_decref(ports);

    const char *bad[] = {
        "not json",
        "{\"cniVersion\":\"1.0.0\",\"plugins\":[{\"type\":\"bridge\"}]}",               /* no name */
        "{\"name\":\"x\",\"plugins\":[{\"type\":\"bridge\"}]}",                         /* no version */
        "{\"cniVersion\":\"1.0.0\",\"name\":\"x\",\"plugins\":[]}",                     /* empty */
        "{\"cniVersion\":\"1.0.0\",\"name\":\"x\",\"plugins\":[{\"ipam\":{}}]}",        /* no type */
        "{\"cniVersion\":\"1.0.0\",\"name\":\"x\",\"plugins\":[{\"type\":\"../sh\"}]}", /* path in type */
        "{\"cniVersion\":\"1.0.0\",\"name\":\"a b\",\"type\":\"bridge\"}",              /* bad name */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(servin_cni_parse(bad[i], "bad.conf", NULL, &net, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "bad.conf"));
    }
}

static void test_cni_load_order(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    _cleanup_free_ char *dir = xasprintf("%s/net.d", f->root);
    assert_int_equal(servin_mkdir_p(dir, 0755, &err), 0);
    struct servin_cni_net *net = NULL;
    assert_int_equal(servin_cni_load(dir, NULL, &net, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "no CNI network config"));
    const char *files[][2] = {
        {"20-b.conflist",
         "{\"cniVersion\":\"1.0.0\",\"name\":\"second\",\"plugins\":[{\"type\":\"bridge\"}]}"},
        {"10-a.conf", "{\"cniVersion\":\"0.4.0\",\"name\":\"first\",\"type\":\"ptp\"}"},
        {"00-ignored.txt", "junk"},
    };
    for (size_t i = 0; i < 3; i++) {
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, files[i][0]);
        assert_int_equal(servin_write_file_atomic(path, files[i][1], strlen(files[i][1]), 0644, &err), 0);
    }
    assert_int_equal(servin_cni_load(dir, NULL, &net, &err), 0);
    assert_string_equal(net->name, "first");
    assert_non_null(strstr(net->file, "10-a.conf"));
    servin_cni_net_free(net);
}

static void test_cni_result_ips(void **state)
{
    (void)state;
    json_t *r =
        json_loads("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"cni0\"},{\"name\":\"veth1\"},"
                   "{\"name\":\"eth0\",\"sandbox\":\"/run/ns\"}],\"ips\":[{\"address\":\"fd00::5/64\","
                   "\"interface\":2},{\"address\":\"10.5.0.7/24\",\"interface\":2},{\"address\":"
                   "\"10.5.0.1/24\",\"interface\":0}]}",
                   0, NULL);
    char *ip = NULL;
    json_t *more = NULL;
    assert_int_equal(servin_cni_result_ips(r, &ip, &more), 0);
    assert_string_equal(ip, "10.5.0.7");
    assert_int_equal(json_array_size(more), 1);
    assert_string_equal(json_string_value(json_array_get(more, 0)), "fd00::5");
    free(ip);
    json_decref(more);
    json_decref(r);
    r = json_loads("{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.9.0.2/16\"}}", 0, NULL);
    assert_int_equal(servin_cni_result_ips(r, &ip, &more), 0);
    assert_string_equal(ip, "10.9.0.2");
    free(ip);
    json_decref(more);
    json_decref(r);
    /* The loopback plugin's result alone gives the pod no address. */
    r = json_loads("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"lo\",\"sandbox\":\"/x\"}],"
                   "\"ips\":[{\"address\":\"127.0.0.1/8\",\"interface\":0},{\"address\":\"::1/128\","
                   "\"interface\":0}]}",
                   0, NULL);
    assert_int_equal(servin_cni_result_ips(r, &ip, &more), -ENOENT);
    json_decref(more);
    json_decref(r);
    r = json_object();
    assert_int_equal(servin_cni_result_ips(r, &ip, &more), -ENOENT);
    json_decref(more);
    json_decref(r);
}

#define FAKE_PLUGIN                                                                                          \
    "#!/bin/sh\n"                                                                                            \
    "d=$(dirname \"$0\")\n"                                                                                  \
    "cat > \"$d/$CNI_COMMAND.stdin\"\n"                                                                      \
    "env | grep '^CNI_' | sort > \"$d/$CNI_COMMAND.env\"\n"                                                  \
    "if [ -e \"$d/fail\" ]; then echo '{\"code\":7,\"msg\":\"boom\",\"details\":\"no luck\"}'; exit 1; fi\n" \
    "if [ \"$CNI_COMMAND\" = ADD ]; then echo "                                                              \
    "'{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\","                                         \
    "\"sandbox\":\"'$CNI_NETNS'\"}],\"ips\":[{\"address\":\"10.99.0.5/24\",\"interface\":0}]}'; fi\n"

static bool is_nsfs(const char *path)
{
    struct statfs sf;
    return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == 0x6e736673UL;
}

static char *read_text(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    struct servin_error err = {0};
    if (servin_read_file(path, &text, &len, &err) < 0)
        return xstrdup("");
    return text;
}

/* As root: a real pod with pinned namespaces, a cgroup and a fake CNI plugin. */
static void test_pod_lifecycle(void **state)
{
    struct fixture *f = *state;
    if (geteuid() != 0) {
        print_message("skipped: needs root\n");
        skip();
    }
    struct servin_error err = {0};
    _cleanup_free_ char *conf = xasprintf("%s/net.d", f->root);
    _cleanup_free_ char *bin = xasprintf("%s/bin", f->root);
    assert_int_equal(servin_mkdir_p(conf, 0755, &err), 0);
    assert_int_equal(servin_mkdir_p(bin, 0755, &err), 0);
    _cleanup_free_ char *conflist = xasprintf("%s/10-fake.conflist", conf);
    const char *cl = "{\"cniVersion\":\"1.0.0\",\"name\":\"fakenet\",\"plugins\":[{\"type\":\"fake\","
                     "\"capabilities\":{\"portMappings\":true}}]}";
    assert_int_equal(servin_write_file_atomic(conflist, cl, strlen(cl), 0644, &err), 0);
    _cleanup_free_ char *plugin = xasprintf("%s/fake", bin);
    assert_int_equal(servin_write_file_atomic(plugin, FAKE_PLUGIN, strlen(FAKE_PLUGIN), 0755, &err), 0);

    _cleanup_free_ char *cgparent = xasprintf("/servin-unit-pod-%d", (int)getpid());
    json_t *dns = json_pack("{s:[s],s:[s,s],s:[s]}", "servers", "10.0.0.10", "searches", "ns.svc", "svc",
                            "options", "ndots:5");
    json_t *ports = json_pack("[{s:s,s:i,s:i}]", "protocol", "tcp", "container_port", 80, "host_port", 18080);
    json_t *sysctls = json_pack("{s:s}", "net.ipv4.ip_unprivileged_port_start", "53");
    struct servin_pod_config cfg = {
        .name = "nginx",
        .namespace = "default",
        .uid = "u1",
        .hostname = "web-1",
        .dns = dns,
        .port_mappings = ports,
        .sysctls = sysctls,
        .cgroup_parent = cgparent,
        .pid_mode = SERVIN_NS_CONTAINER,
    };
    struct servin_pod_net_opts net = {.cni_conf_dir = conf, .cni_bin_dir = bin};
    struct servin_pod p;
    int ret = servin_pod_run(f->store, &cfg, &net, &p, &err);
    if (ret < 0)
        fail_msg("pod run: %s", err.msg);
    assert_int_equal(p.state, SERVIN_POD_READY);
    assert_string_equal(p.ip, "10.99.0.5");
    assert_true(is_nsfs(p.netns_path));
    assert_true(is_nsfs(p.ipc_path));
    assert_true(is_nsfs(p.uts_path));
    assert_true(p.cgroup_created);

    /* The plugin got the protocol's variables and its config. */
    _cleanup_free_ char *envp = xasprintf("%s/ADD.env", bin);
    _cleanup_free_ char *env = read_text(envp);
    assert_non_null(strstr(env, "CNI_IFNAME=eth0"));
    _cleanup_free_ char *want = xasprintf("CNI_CONTAINERID=%s", p.id);
    assert_non_null(strstr(env, want));
    _cleanup_free_ char *want_ns = xasprintf("CNI_NETNS=%s", p.netns_path);
    assert_non_null(strstr(env, want_ns));
    assert_non_null(strstr(env, "K8S_POD_NAME=nginx"));
    _cleanup_free_ char *inp = xasprintf("%s/ADD.stdin", bin);
    json_t *stdin_conf = json_load_file(inp, 0, NULL);
    assert_non_null(stdin_conf);
    assert_string_equal(json_string_value(json_object_get(stdin_conf, "name")), "fakenet");
    assert_int_equal(
        json_integer_value(json_object_get(
            json_array_get(json_object_get(json_object_get(stdin_conf, "runtimeConfig"), "portMappings"), 0),
            "hostPort")),
        18080);
    json_decref(stdin_conf);

    /* Files. */
    _cleanup_free_ char *hn = servin_pod_file_path(f->store, p.id, "hostname");
    _cleanup_free_ char *hns = read_text(hn);
    assert_string_equal(hns, "web-1\n");
    _cleanup_free_ char *rc = servin_pod_file_path(f->store, p.id, "resolv.conf");
    _cleanup_free_ char *rcs = read_text(rc);
    assert_string_equal(rcs, "nameserver 10.0.0.10\nsearch ns.svc svc\noptions ndots:5\n");
    _cleanup_free_ char *hp = servin_pod_file_path(f->store, p.id, "hosts");
    _cleanup_free_ char *hs = read_text(hp);
    assert_non_null(strstr(hs, "10.99.0.5\tweb-1\n"));

    /* The survivors of a "restart": a fresh look-up has the same paths. */
    struct servin_pod again;
    assert_int_equal(servin_pod_get(f->store, p.id, &again, &err), 0);
    assert_string_equal(again.netns_path, p.netns_path);
    assert_true(json_is_object(again.cni_result));
    servin_pod_clear(&again);
    char *ns = servin_pod_netns_path(f->store, p.id, &err);
    assert_non_null(ns);
    free(ns);

    /* CHECK runs the chain with the stored result as prevResult. */
    struct servin_cni_net *cnet = NULL;
    assert_int_equal(servin_cni_net_from_json(p.cni_net, &cnet, &err), 0);
    struct servin_cni_runtime crt = {.container_id = p.id, .netns = p.netns_path};
    assert_int_equal(servin_cni_check(cnet, &crt, p.cni_result, &err), 0);
    servin_cni_net_free(cnet);
    _cleanup_free_ char *checkp = xasprintf("%s/CHECK.stdin", bin);
    json_t *check_conf = json_load_file(checkp, 0, NULL);
    assert_true(json_equal(json_object_get(check_conf, "prevResult"), p.cni_result));
    json_decref(check_conf);

    struct servin_pod_stats st;
    assert_int_equal(servin_pod_stats(f->store, &p, &st, &err), 0);
    assert_true(st.has_cgroup);
    assert_false(st.has_network); /* the fake plugin made no eth0 */

    /* Stop: DEL with the stored prevResult, namespaces unpinned; twice is fine. */
    assert_int_equal(servin_pod_stop(f->store, p.id, &err), 0);
    _cleanup_free_ char *delp = xasprintf("%s/DEL.stdin", bin);
    json_t *del_conf = json_load_file(delp, 0, NULL);
    json_t *prev_ip = json_object_get(
        json_array_get(json_object_get(json_object_get(del_conf, "prevResult"), "ips"), 0), "address");
    assert_string_equal(json_string_value(prev_ip), "10.99.0.5/24");
    assert_non_null(json_object_get(del_conf, "prevResult"));
    json_decref(del_conf);
    assert_false(is_nsfs(p.netns_path));
    assert_int_equal(servin_pod_stop(f->store, p.id, &err), 0);
    assert_int_equal(servin_pod_get(f->store, p.id, &again, &err), 0);
    assert_int_equal(again.state, SERVIN_POD_NOTREADY);
    assert_string_equal(again.ip, "");
    servin_pod_clear(&again);

    /* Remove: files, cgroup and record gone. */
    assert_int_equal(servin_pod_remove(f->store, p.id, &err), 0);
    assert_int_equal(servin_pod_get(f->store, p.id, &again, &err), -ENOENT);
    assert_int_equal(access(hn, F_OK), -1);
    _cleanup_free_ char *memcg = xasprintf("/sys/fs/cgroup/memory%s", cgparent);
    struct stat sb;
    assert_int_not_equal(stat(memcg, &sb), 0);
    assert_int_equal(servin_pod_remove(f->store, p.id, &err), -ENOENT);
    servin_pod_clear(&p);

    /* A pod whose namespace vanished (a reboot, someone's umount): stop still runs DEL, without
     * CNI_NETNS, so the plugins release the address. */
    cfg.name = "vanish";
    ret = servin_pod_run(f->store, &cfg, &net, &p, &err);
    if (ret < 0)
        fail_msg("pod run: %s", err.msg);
    assert_int_equal(umount2(p.netns_path, MNT_DETACH), 0);
    /* Seen at once as not ready, before anything settles it. */
    assert_int_equal(servin_pod_get(f->store, p.id, &again, &err), 0);
    assert_int_equal(again.state, SERVIN_POD_NOTREADY);
    servin_pod_clear(&again);
    int changed = -1;
    assert_int_equal(servin_pod_reconcile(f->store, &changed, &err), 0);
    assert_int_equal(changed, 1);
    _cleanup_free_ char *delenv_path = xasprintf("%s/DEL.env", bin);
    _cleanup_free_ char *delenv = read_text(delenv_path);
    assert_non_null(strstr(delenv, "CNI_NETNS=\n"));
    _cleanup_free_ char *want_del = xasprintf("CNI_CONTAINERID=%s", p.id);
    assert_non_null(strstr(delenv, want_del));
    assert_int_equal(servin_pod_get(f->store, p.id, &again, &err), 0);
    assert_int_equal(again.state, SERVIN_POD_NOTREADY);
    assert_string_equal(again.netns_path, "");
    servin_pod_clear(&again);
    assert_false(is_nsfs(p.ipc_path)); /* the others were unpinned too */
    assert_int_equal(servin_pod_remove(f->store, p.id, &err), 0);
    servin_pod_clear(&p);
    cfg.name = "nginx";

    /* A failing plugin: its message reaches the caller and nothing is left. */
    _cleanup_free_ char *failflag = xasprintf("%s/fail", bin);
    assert_int_equal(servin_write_file_atomic(failflag, "", 0, 0644, &err), 0);
    ret = servin_pod_run(f->store, &cfg, &net, &p, &err);
    assert_true(ret < 0);
    assert_non_null(strstr(err.msg, "boom: no luck"));
    struct servin_pod *list = NULL;
    size_t n = 0;
    assert_int_equal(servin_pod_list(f->store, NULL, &list, &n, &err), 0);
    assert_int_equal(n, 0);
    servin_pods_free(list, n);
    assert_int_not_equal(stat(memcg, &sb), 0);
    unlink(failflag);

    /* Bad config: refused before anything happens. */
    cfg.hostname = "bad host";
    assert_int_equal(servin_pod_run(f->store, &cfg, &net, &p, &err), -EINVAL);
    json_decref(dns);
    json_decref(ports);
    json_decref(sysctls);
}

/* The pod cgroup on a v2 tree of plain files (the host here is v1): created under the converted
 * parent with the controllers enabled above it, known as Servin's, removed with the pod; one that
 * existed before (kubelet's) stays. */
static void test_pod_cgroup_v2(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    _cleanup_free_ char *root = xasprintf("%s/cg2", f->root);
    assert_int_equal(servin_mkdir_p(root, 0755, &err), 0);
    _cleanup_free_ char *ctrl = xasprintf("%s/cgroup.controllers", root);
    const char *ctrls = "cpuset cpu io memory pids\n";
    assert_int_equal(servin_write_file_atomic(ctrl, ctrls, strlen(ctrls), 0644, &err), 0);
    _cleanup_free_ char *sub = xasprintf("%s/cgroup.subtree_control", root);
    assert_int_equal(servin_write_file_atomic(sub, "", 0, 0644, &err), 0);
    struct servin_cgroup_system *sys = NULL;
    assert_int_equal(servin_cgroup_system_open(root, SERVIN_CGROUP_V2, SERVIN_CGROUP_PLAIN_FILES, &sys, &err),
                     0);

    struct servin_pod p = {0};
    pod_new_id(p.id);
    p.cgroup_path = servin_pod_cgroup_parent_path("kubepods-besteffort-pod1.slice");
    p.cgroup = json_null();
    assert_int_equal(pod_cgroup_create_in(sys, &p, &err), 0);
    assert_true(p.cgroup_created);
    _cleanup_free_ char *dir =
        xasprintf("%s/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice", root);
    struct stat sb;
    assert_int_equal(stat(dir, &sb), 0);
    assert_string_equal(json_string_value(json_object_get(p.cgroup, "mode")), "v2");
    _cleanup_free_ char *parent_sub = xasprintf("%s/kubepods.slice/cgroup.subtree_control", root);
    _cleanup_free_ char *enabled = read_text(parent_sub);
    assert_non_null(strstr(enabled, "memory"));
    assert_int_equal(pod_cgroup_remove(&p, &err), 0);
    assert_int_not_equal(stat(dir, &sb), 0);
    assert_true(json_is_null(p.cgroup));

    /* Kubelet's own pod cgroup, there before the pod: used, not removed. */
    _cleanup_free_ char *kubelet = xasprintf("%s/kubepods/podk", root);
    assert_int_equal(servin_mkdir_p(kubelet, 0755, &err), 0);
    free(p.cgroup_path);
    p.cgroup_path = xstrdup("/kubepods/podk");
    assert_int_equal(pod_cgroup_create_in(sys, &p, &err), 0);
    assert_false(p.cgroup_created);
    assert_int_equal(pod_cgroup_remove(&p, &err), 0);
    assert_int_equal(stat(kubelet, &sb), 0);
    servin_pod_clear(&p);
    servin_cgroup_system_free(sys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_record_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_filters, setup, teardown),
        cmocka_unit_test(test_cgroup_parent),
        cmocka_unit_test(test_checks),
        cmocka_unit_test(test_cni_parse),
        cmocka_unit_test_setup_teardown(test_cni_load_order, setup, teardown),
        cmocka_unit_test(test_cni_result_ips),
        cmocka_unit_test_setup_teardown(test_pod_cgroup_v2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pod_lifecycle, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
