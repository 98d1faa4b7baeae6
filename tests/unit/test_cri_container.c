/* Unit tests for CRI containers: the CRI log format (whole lines, partial lines, reopen after
 * rotation, reading it back) and the CRI config's translation into a Docker-shaped config. */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "container/monitor_internal.h"
#include "servin/cleanup.h"
#include "servin/cri_container.h"
#include "servin/fs.h"
#include "servin/monitor.h"

static char *tmpdir(void)
{
    char tmpl[] = "/tmp/servin-critest-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return xstrdup(d);
}

static char *slurp(const char *path)
{
    struct servin_error err = {0};
    char *text = NULL;
    size_t len;
    assert_int_equal(servin_read_file(path, &text, &len, &err), 0);
    return text;
}

/* "<time> <stream> <tag> <text>": checks the time parses and returns the rest. */
static const char *after_time(const char *line)
{
    const char *sp = strchr(line, ' ');
    assert_non_null(sp);
    _cleanup_free_ char *t = xstrndup(line, (size_t)(sp - line));
    assert_true(monitor_parse_time(t) > 0);
    return sp + 1;
}

struct collected {
    int n;
    int streams[16];
    char *texts[16];
};

static int collect(void *ctx, int stream, const char *text, size_t len)
{
    struct collected *c = ctx;
    if (c->n >= 16)
        return -1;
    c->streams[c->n] = stream;
    c->texts[c->n++] = xstrndup(text, len);
    return 0;
}

static void cri_log_lines_partials_and_reopen(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = tmpdir();
    _cleanup_free_ char *path = xasprintf("%s/0.log", dir);
    struct servin_error err = {0};
    struct logfile lf;
    assert_int_equal(logfile_open(&lf, path, true, 0, 1, &err), 0);
    logfile_write(&lf, 1, "hello\nwor", 9);
    logfile_write(&lf, 2, "oops\n", 5);
    logfile_write(&lf, 1, "ld\n", 3);
    /* A line longer than the buffer: a partial record, then the rest as a whole one. */
    size_t big = LOGFILE_LINE_MAX + 10;
    char *long_line = xmalloc(big + 1);
    memset(long_line, 'x', big);
    long_line[big] = '\n';
    logfile_write(&lf, 1, long_line, big + 1);
    free(long_line);

    /* kubelet rotates: rename the file away, then ask for a reopen. */
    _cleanup_free_ char *rotated = xasprintf("%s/0.log.20261206-213000", dir);
    assert_int_equal(rename(path, rotated), 0);
    assert_int_equal(logfile_reopen(&lf), 0);
    logfile_write(&lf, 2, "after", 5);
    logfile_close(&lf); /* the unterminated last line is a whole (F) record */

    _cleanup_free_ char *old = slurp(rotated);
    char *save = NULL;
    char *l1 = strtok_r(old, "\n", &save), *l2 = strtok_r(NULL, "\n", &save);
    char *l3 = strtok_r(NULL, "\n", &save), *l4 = strtok_r(NULL, "\n", &save),
         *l5 = strtok_r(NULL, "\n", &save);
    assert_string_equal(after_time(l1), "stdout F hello");
    assert_string_equal(after_time(l2), "stderr F oops");
    assert_string_equal(after_time(l3), "stdout F world");
    assert_int_equal(strncmp(after_time(l4), "stdout P xxxx", 13), 0);
    assert_int_equal(strlen(after_time(l4)), 9 + LOGFILE_LINE_MAX);
    assert_string_equal(after_time(l5), "stdout F xxxxxxxxxx");
    assert_null(strtok_r(NULL, "\n", &save));
    _cleanup_free_ char *fresh = slurp(path);
    assert_string_equal(after_time(fresh), "stderr F after\n");

    /* servin logs reads the format back: F records end their line, P ones do not. */
    struct servin_log_read_opts all = {.tail = -1};
    struct collected c = {0};
    assert_int_equal(servin_log_read(path, &all, collect, &c, &err), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.streams[0], 2);
    assert_string_equal(c.texts[0], "after\n");
    free(c.texts[0]);
    servin_rm_rf(dir, &err);
}

static const struct servin_cri_pod_ref pod = {
    .id = "0123456789abcdef",
    .name = "web",
    .namespace = "default",
    .uid = "uid-1",
    .netns_path = "/run/pods/p/ns/net",
    .ipc_path = "/run/pods/p/ns/ipc",
    .uts_path = "/run/pods/p/ns/uts",
    .hostname = "web-host",
    .hosts_path = "/pods/p/hosts",
    .resolv_path = "/pods/p/resolv.conf",
    .hostname_path = "/pods/p/hostname",
    .cgroup_parent = "/kubepods/podx",
    .log_directory = "/var/log/pods/x",
};

static json_t *translate(const char *text, int *ret, struct servin_error *err)
{
    json_error_t jerr;
    json_t *cri = json_loads(text, 0, &jerr);
    if (!cri)
        fail_msg("bad test config %s: %s", text, jerr.text);
    json_t *out = NULL;
    *ret = servin_cri_container_config(cri, &pod, &out, err);
    json_decref(cri);
    return out;
}

static json_t *at(json_t *v, const char *path)
{
    _cleanup_free_ char *copy = xstrdup(path);
    for (char *save = NULL, *k = strtok_r(copy, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
        v = json_object_get(v, k);
    return v;
}

static const char *s_at(json_t *v, const char *path)
{
    const char *s = json_string_value(at(v, path));
    return s ? s : "(none)";
}

static bool has_string(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach (arr, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    return false;
}

static void config_translation(void **state)
{
    (void)state;
    struct servin_error err = {0};
    int ret;
    json_t *c = translate(
        "{\"metadata\":{\"name\":\"app\",\"attempt\":2},\"image\":{\"image\":\"busybox\"},"
        "\"command\":[\"/bin/sh\"],\"stop_signal\":\"SIGINT\",\"args\":[\"-c\",\"sleep "
        "1\"],\"working_dir\":\"/w\","
        "\"envs\":[{\"key\":\"A\",\"value\":\"1\"}],\"labels\":{\"l\":\"v\"},\"annotations\":{\"a\":\"b\"},"
        "\"log_path\":\"app/2.log\",\"mounts\":[{\"container_path\":\"/data\",\"host_path\":\"/"
        "srv\",\"readonly\":true,"
        "\"propagation\":\"PROPAGATION_HOST_TO_CONTAINER\"},{\"container_path\":\"/etc/"
        "hosts\",\"host_path\":\"/k/hosts\"}],"
        "\"devices\":[{\"container_path\":\"/dev/x\",\"host_path\":\"/dev/null\",\"permissions\":\"r\"}],"
        "\"linux\":{\"resources\":{\"cpu_period\":\"100000\",\"cpu_quota\":50000,\"cpu_shares\":512,"
        "\"memory_limit_in_bytes\":67108864,\"oom_score_adj\":-998,\"cpuset_cpus\":\"0\","
        "\"unified\":{\"memory.high\":\"50M\"}},"
        "\"securityContext\":{\"runAsUser\":{\"value\":1000},\"run_as_group\":{\"value\":100},"
        "\"supplemental_groups\":[5,6],\"capabilities\":{\"add_capabilities\":[\"NET_ADMIN\"],"
        "\"drop_capabilities\":[\"KILL\"]},\"readonly_rootfs\":true,\"no_new_privs\":true,"
        "\"seccomp\":{\"profile_type\":\"Unconfined\"},\"masked_paths\":[\"/proc/kcore\"],"
        "\"namespace_options\":{\"pid\":\"NODE\",\"ipc\":1}}}}",
        &ret, &err);
    if (ret != 0)
        fail_msg("translate: %s", err.msg);
    assert_string_equal(json_string_value(json_array_get(at(c, "Config.Entrypoint"), 0)), "/bin/sh");
    assert_string_equal(json_string_value(json_array_get(at(c, "Config.Cmd"), 1)), "sleep 1");
    assert_string_equal(s_at(c, "Config.WorkingDir"), "/w");
    assert_string_equal(s_at(c, "Config.StopSignal"), "SIGINT");
    assert_true(has_string(at(c, "Config.Env"), "A=1"));
    assert_string_equal(s_at(c, "Config.User"), "1000:100");
    assert_string_equal(s_at(c, "Config.Hostname"), "web-host");
    assert_string_equal(json_string_value(json_object_get(at(c, "Config.Labels"), SERVIN_CRI_POD_LABEL)),
                        pod.id);
    assert_string_equal(s_at(c, "HostConfig.NetworkMode"), "ns:/run/pods/p/ns/net");
    assert_string_equal(s_at(c, "HostConfig.UTSMode"), "ns:/run/pods/p/ns/uts");
    assert_string_equal(s_at(c, "HostConfig.PidMode"), "host");
    assert_null(at(c, "HostConfig.IpcMode")); /* CONTAINER: its own */
    assert_string_equal(s_at(c, "HostConfig.CgroupParent"), "/kubepods/podx");
    json_t *binds = at(c, "HostConfig.Binds");
    assert_true(has_string(binds, "/srv:/data:ro,rslave"));
    assert_true(has_string(binds, "/k/hosts:/etc/hosts:rw,rprivate"));
    assert_true(has_string(binds, "/pods/p/resolv.conf:/etc/resolv.conf:rw,rprivate"));
    assert_false(has_string(binds, "/pods/p/hosts:/etc/hosts:rw,rprivate")); /* kubelet's own wins */
    assert_string_equal(s_at(json_array_get(at(c, "HostConfig.Devices"), 0), "PathInContainer"), "/dev/x");
    assert_int_equal(json_integer_value(at(c, "HostConfig.CpuPeriod")), 100000);
    assert_int_equal(json_integer_value(at(c, "HostConfig.CpuQuota")), 50000);
    assert_int_equal(json_integer_value(at(c, "HostConfig.CpuShares")), 512);
    assert_int_equal(json_integer_value(at(c, "HostConfig.Memory")), 67108864);
    assert_int_equal(json_integer_value(at(c, "HostConfig.MemorySwap")), 67108864);
    assert_int_equal(json_integer_value(at(c, "HostConfig.OomScoreAdj")), -998);
    assert_string_equal(s_at(c, "HostConfig.CpusetCpus"), "0");
    assert_string_equal(json_string_value(json_object_get(at(c, "HostConfig.CgroupConf"), "memory.high")),
                        "50M");
    assert_true(has_string(at(c, "HostConfig.GroupAdd"), "6"));
    assert_true(has_string(at(c, "HostConfig.CapAdd"), "NET_ADMIN"));
    assert_true(has_string(at(c, "HostConfig.CapDrop"), "KILL"));
    assert_true(json_is_true(at(c, "HostConfig.ReadonlyRootfs")));
    assert_true(has_string(at(c, "HostConfig.SecurityOpt"), "no-new-privileges"));
    assert_true(has_string(at(c, "HostConfig.SecurityOpt"), "seccomp=unconfined"));
    assert_int_equal(json_array_size(at(c, "HostConfig.MaskedPaths")), 1);
    assert_string_equal(s_at(c, "HostConfig.LogConfig.Type"), "cri");
    assert_string_equal(s_at(c, "HostConfig.LogConfig.Config.path"), "/var/log/pods/x/app/2.log");
    assert_string_equal(s_at(c, "Cri.PodSandboxId"), pod.id);
    assert_string_equal(s_at(c, "Cri.Metadata.name"), "app");
    assert_int_equal(json_integer_value(at(c, "Cri.Metadata.attempt")), 2);
    assert_string_equal(s_at(c, "Cri.Labels.l"), "v");
    assert_string_equal(s_at(c, "Cri.Annotations.a"), "b");
    assert_string_equal(s_at(c, "Cri.LogPath"), "app/2.log");
    json_decref(c);

    json_t *cri = json_loads("{\"metadata\":{\"name\":\"a b\",\"attempt\":1}}", 0, NULL);
    _cleanup_free_ char *name = servin_cri_container_name(cri, &pod);
    assert_string_equal(name, "k8s_a-b_web_default_uid-1_1");
    json_decref(cri);

    /* The host network (NODE) also means the host's UTS namespace. */
    c = translate("{\"metadata\":{\"name\":\"h\"},\"image\":{\"image\":\"i\"},"
                  "\"linux\":{\"security_context\":{\"namespace_options\":{\"network\":2}}}}",
                  &ret, &err);
    assert_int_equal(ret, 0);
    assert_string_equal(s_at(c, "HostConfig.NetworkMode"), "host");
    assert_string_equal(s_at(c, "HostConfig.UTSMode"), "host");
    json_decref(c);

    static const struct {
        const char *config, *message;
    } bad[] = {
        {"{\"image\":{\"image\":\"i\"}}", "no metadata.name"},
        {"{\"metadata\":{\"name\":\"x\"}}", "no image"},
        {"{\"metadata\":{\"name\":\"x\"},\"image\":{\"image\":\"i\"},\"working_dir\":\"rel\"}",
         "working_dir"},
        {"{\"metadata\":{\"name\":\"x\"},\"image\":{\"image\":\"i\"},\"mounts\":[{\"container_path\":\"c\","
         "\"host_path\":\"/h\"}]}",
         "container_path"},
        {"{\"metadata\":{\"name\":\"x\"},\"image\":{\"image\":\"i\"},\"linux\":{\"security_context\":"
         "{\"run_as_group\":{\"value\":5}}}}",
         "run_as_group is set without"},
        {"{\"metadata\":{\"name\":\"x\"},\"image\":{\"image\":\"i\"},\"linux\":{\"security_context\":"
         "{\"seccomp\":{\"profile_type\":2,\"localhost_ref\":\"/nonexistent.json\"}}}}",
         "/nonexistent.json"},
        {"{\"metadata\":{\"name\":\"x\"},\"image\":{\"image\":\"i\"},\"linux\":{\"security_context\":"
         "{\"namespace_options\":{\"network\":\"TARGET\"}}}}",
         "namespace_options.network"},
        {"{\"metadata\":{\"name\":\"x\"},\"image\":{\"image\":\"i\"},\"linux\":{\"resources\":"
         "{\"memory_limit_in_bytes\":-5}}}",
         "memory_limit_in_bytes"},
        {"{\"metadata\":{\"name\":\"x\"},\"image\":{\"image\":\"i\"},\"log_path\":\"../../etc/x\"}",
         "log_path"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        servin_error_clear(&err);
        c = translate(bad[i].config, &ret, &err);
        assert_null(c);
        assert_int_equal(ret, -EINVAL);
        if (!strstr(err.msg, bad[i].message))
            fail_msg("error \"%s\" does not say \"%s\"", err.msg, bad[i].message);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cri_log_lines_partials_and_reopen),
        cmocka_unit_test(config_translation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
