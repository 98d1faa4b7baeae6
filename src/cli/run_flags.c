/* cli/run_flags.c — `run`/`create` flags into Docker's create body ({"Config", "HostConfig"}). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "run_flags.h"
#include "servin/cleanup.h"
#include "servin/runtime.h"
#include "servin/volume.h"

enum {
    OPT_RM = 256,
    OPT_NAME,
    OPT_ENV_FILE,
    OPT_HOSTNAME,
    OPT_DOMAINNAME,
    OPT_ENTRYPOINT,
    OPT_MEMORY_SWAP,
    OPT_CPUS,
    OPT_PIDS_LIMIT,
    OPT_READ_ONLY,
    OPT_CAP_ADD,
    OPT_CAP_DROP,
    OPT_PRIVILEGED,
    OPT_SECURITY_OPT,
    OPT_STOP_SIGNAL,
    OPT_STOP_TIMEOUT,
    OPT_ULIMIT,
    OPT_RESTART,
    OPT_LOG_OPT,
    OPT_LOG_DRIVER,
    OPT_INIT,
    OPT_SHM_SIZE,
    OPT_CPUSET_CPUS,
    OPT_CPU_QUOTA,
    OPT_CPU_PERIOD,
    OPT_OOM_SCORE_ADJ,
    OPT_SYSCTL,
    OPT_TMPFS,
    OPT_PULL,
    OPT_PLATFORM,
    OPT_HEALTH_CMD,
    OPT_HEALTH_INTERVAL,
    OPT_HEALTH_TIMEOUT,
    OPT_HEALTH_RETRIES,
    OPT_HEALTH_START_PERIOD,
    OPT_NO_HEALTHCHECK,
    OPT_MOUNT,
    OPT_VOLUMES_FROM,
};

static const struct option run_longopts[] = {
    {"detach", no_argument, 0, 'd'},
    {"interactive", no_argument, 0, 'i'},
    {"tty", no_argument, 0, 't'},
    {"rm", no_argument, 0, OPT_RM},
    {"name", required_argument, 0, OPT_NAME},
    {"env", required_argument, 0, 'e'},
    {"env-file", required_argument, 0, OPT_ENV_FILE},
    {"workdir", required_argument, 0, 'w'},
    {"user", required_argument, 0, 'u'},
    {"hostname", required_argument, 0, OPT_HOSTNAME},
    {"domainname", required_argument, 0, OPT_DOMAINNAME},
    {"entrypoint", required_argument, 0, OPT_ENTRYPOINT},
    {"label", required_argument, 0, 'l'},
    {"memory", required_argument, 0, 'm'},
    {"memory-swap", required_argument, 0, OPT_MEMORY_SWAP},
    {"cpus", required_argument, 0, OPT_CPUS},
    {"cpu-shares", required_argument, 0, 'c'},
    {"cpuset-cpus", required_argument, 0, OPT_CPUSET_CPUS},
    {"cpu-quota", required_argument, 0, OPT_CPU_QUOTA},
    {"cpu-period", required_argument, 0, OPT_CPU_PERIOD},
    {"pids-limit", required_argument, 0, OPT_PIDS_LIMIT},
    {"read-only", no_argument, 0, OPT_READ_ONLY},
    {"cap-add", required_argument, 0, OPT_CAP_ADD},
    {"cap-drop", required_argument, 0, OPT_CAP_DROP},
    {"privileged", no_argument, 0, OPT_PRIVILEGED},
    {"security-opt", required_argument, 0, OPT_SECURITY_OPT},
    {"stop-signal", required_argument, 0, OPT_STOP_SIGNAL},
    {"stop-timeout", required_argument, 0, OPT_STOP_TIMEOUT},
    {"ulimit", required_argument, 0, OPT_ULIMIT},
    {"restart", required_argument, 0, OPT_RESTART},
    {"log-opt", required_argument, 0, OPT_LOG_OPT},
    {"log-driver", required_argument, 0, OPT_LOG_DRIVER},
    {"network", required_argument, 0, RUN_OPT_NETWORK},
    {"net", required_argument, 0, RUN_OPT_NETWORK},
    {"network-alias", required_argument, 0, RUN_OPT_NETWORK_ALIAS},
    {"net-alias", required_argument, 0, RUN_OPT_NETWORK_ALIAS},
    {"ip", required_argument, 0, RUN_OPT_IP},
    {"dns", required_argument, 0, RUN_OPT_DNS},
    {"dns-search", required_argument, 0, RUN_OPT_DNS_SEARCH},
    {"dns-option", required_argument, 0, RUN_OPT_DNS_OPTION},
    {"add-host", required_argument, 0, RUN_OPT_ADD_HOST},
    {"publish", required_argument, 0, 'p'},
    {"publish-all", no_argument, 0, 'P'},
    {"expose", required_argument, 0, RUN_OPT_EXPOSE},
    {"init", no_argument, 0, OPT_INIT},
    {"shm-size", required_argument, 0, OPT_SHM_SIZE},
    {"oom-score-adj", required_argument, 0, OPT_OOM_SCORE_ADJ},
    {"sysctl", required_argument, 0, OPT_SYSCTL},
    {"tmpfs", required_argument, 0, OPT_TMPFS},
    {"volume", required_argument, 0, 'v'},
    {"mount", required_argument, 0, OPT_MOUNT},
    {"volumes-from", required_argument, 0, OPT_VOLUMES_FROM},
    {"pull", required_argument, 0, OPT_PULL},
    {"platform", required_argument, 0, OPT_PLATFORM},
    {"health-cmd", required_argument, 0, OPT_HEALTH_CMD},
    {"health-interval", required_argument, 0, OPT_HEALTH_INTERVAL},
    {"health-timeout", required_argument, 0, OPT_HEALTH_TIMEOUT},
    {"health-retries", required_argument, 0, OPT_HEALTH_RETRIES},
    {"health-start-period", required_argument, 0, OPT_HEALTH_START_PERIOD},
    {"no-healthcheck", no_argument, 0, OPT_NO_HEALTHCHECK},
    {"help", no_argument, 0, 'h'},
    {0},
};

static json_t *obj_array(json_t *obj, const char *key)
{
    json_t *a = json_object_get(obj, key);
    if (!json_is_array(a)) {
        a = json_array();
        json_object_set_new(obj, key, a);
    }
    return a;
}

static json_t *obj_object(json_t *obj, const char *key)
{
    json_t *o = json_object_get(obj, key);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(obj, key, o);
    }
    return o;
}

/* Docker's flag error: invalid argument "x" for "--flag" flag: why. */
static int bad_value(struct cli_ctx *ctx, const char *flag, const char *value, const char *why)
{
    return cli_usage_error(ctx, "invalid argument \"%s\" for \"%s\" flag: %s", value, flag, why);
}

static int parse_int(const char *text, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end)
        return -1;
    *out = v;
    return 0;
}

/* "-e KEY" takes the value from our own environment and is dropped when unset, as in Docker. */
static void add_env(json_t *env, const char *text)
{
    if (strchr(text, '=')) {
        json_array_append_new(env, json_string(text));
        return;
    }
    const char *v = getenv(text);
    if (v) {
        _cleanup_free_ char *kv = xasprintf("%s=%s", text, v);
        json_array_append_new(env, json_string(kv));
    }
}

static int read_env_file(struct cli_ctx *ctx, const char *path, json_t *env)
{
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    if (!f)
        return cli_failf("open env file %s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#')
            continue;
        add_env(env, p);
    }
    free(line);
    (void)ctx;
    return 0;
}

static int parse_restart(struct cli_ctx *ctx, const char *text, json_t *host)
{
    const char *colon = strchr(text, ':');
    size_t nl = colon ? (size_t)(colon - text) : strlen(text);
    long long max = 0;
    _cleanup_free_ char *name = xstrndup(text, nl);
    if (strcmp(name, "no") != 0 && strcmp(name, "always") != 0 && strcmp(name, "unless-stopped") != 0 &&
        strcmp(name, "on-failure") != 0)
        return bad_value(ctx, "--restart", text,
                         "invalid restart policy format: use no, always, unless-stopped "
                         "or on-failure[:max-retries]");
    if (colon) {
        if (strcmp(name, "on-failure") != 0)
            return bad_value(ctx, "--restart", text,
                             "maximum retry count can only be used with 'on-failure'");
        if (parse_int(colon + 1, &max) < 0 || max < 0)
            return bad_value(ctx, "--restart", text, "maximum retry count must be a non-negative integer");
    }
    json_object_set_new(host, "RestartPolicy",
                        json_pack("{s:s,s:I}", "Name", name, "MaximumRetryCount", max));
    return 0;
}

static int parse_ulimit(struct cli_ctx *ctx, const char *text, json_t *host)
{
    const char *eq = strchr(text, '=');
    long long soft, hard;
    if (!eq || eq == text)
        return bad_value(ctx, "--ulimit", text, "expected NAME=SOFT[:HARD]");
    _cleanup_free_ char *name = xstrndup(text, (size_t)(eq - text));
    _cleanup_free_ char *vals = xstrdup(eq + 1);
    char *colon = strchr(vals, ':');
    if (colon)
        *colon = '\0';
    if (parse_int(vals, &soft) < 0 || (colon && parse_int(colon + 1, &hard) < 0))
        return bad_value(ctx, "--ulimit", text, "limits must be integers");
    if (!colon)
        hard = soft;
    if (soft > hard)
        return bad_value(ctx, "--ulimit", text, "the soft limit must not exceed the hard limit");
    json_array_append_new(obj_array(host, "Ulimits"),
                          json_pack("{s:s,s:I,s:I}", "Name", name, "Soft", soft, "Hard", hard));
    return 0;
}

static int parse_security_opt(struct cli_ctx *ctx, const char *text, json_t *host)
{
    json_t *opts = obj_array(host, "SecurityOpt");
    if (strcmp(text, "no-new-privileges") == 0 || strcmp(text, "no-new-privileges=true") == 0 ||
        strcmp(text, "no-new-privileges:true") == 0) {
        json_array_append_new(opts, json_string("no-new-privileges"));
        return 0;
    }
    if (strcmp(text, "no-new-privileges=false") == 0 || strcmp(text, "no-new-privileges:false") == 0)
        return 0;
    if (strncmp(text, "seccomp=", 8) == 0 || strncmp(text, "seccomp:", 8) == 0) {
        const char *v = text + 8;
        if (strcmp(v, "unconfined") == 0) {
            json_array_append_new(opts, json_string("seccomp=unconfined"));
            return 0;
        }
        /* The profile's text goes into the record, so the container keeps working if the file goes. */
        json_error_t jerr;
        json_t *profile = json_load_file(v, 0, &jerr);
        if (!profile)
            return cli_failf("opening seccomp profile (%s) failed: %s", v, jerr.text);
        _cleanup_free_ char *dump = json_dumps(profile, JSON_COMPACT);
        json_decref(profile);
        _cleanup_free_ char *opt = xasprintf("seccomp=%s", dump);
        json_array_append_new(opts, json_string(opt));
        return 0;
    }
    if (strncmp(text, "label", 5) == 0 || strncmp(text, "apparmor", 8) == 0)
        return 0; /* no SELinux or AppArmor here: accepted and ignored, as Docker does without them */
    return bad_value(ctx, "--security-opt", text,
                     "use no-new-privileges, seccomp=unconfined or seccomp=PROFILE.json");
}

static int parse_log_opt(struct cli_ctx *ctx, const char *text, json_t *host)
{
    json_t *log = obj_object(host, "LogConfig");
    json_t *cfg = obj_object(log, "Config");
    const char *eq = strchr(text, '=');
    if (!eq)
        return bad_value(ctx, "--log-opt", text, "expected KEY=VALUE");
    _cleanup_free_ char *key = xstrndup(text, (size_t)(eq - text));
    const char *v = eq + 1;
    struct servin_error err = {0};
    if (strcmp(key, "max-size") == 0) {
        int64_t bytes;
        if (servin_parse_bytes(v, &bytes, &err) < 0 || bytes <= 0)
            return bad_value(ctx, "--log-opt", text, "max-size must be a positive size like 10m");
    } else if (strcmp(key, "max-file") == 0) {
        long long n;
        if (parse_int(v, &n) < 0 || n < 1)
            return bad_value(ctx, "--log-opt", text, "max-file must be a positive integer");
    } else {
        return bad_value(ctx, "--log-opt", text, "unknown log opt for json-file: use max-size or max-file");
    }
    json_object_set_new(cfg, key, json_string(v));
    return 0;
}

static int parse_bytes_flag(struct cli_ctx *ctx, const char *flag, const char *text, int64_t *out)
{
    struct servin_error err = {0};
    if (servin_parse_bytes(text, out, &err) < 0 || *out < 0)
        return bad_value(ctx, flag, text, "invalid size: use a number with an optional unit (b, k, m, g)");
    return 0;
}

/* --health-*: Docker's Healthcheck, durations in ns; what is left out comes from the image. */
static int parse_health(struct cli_ctx *ctx, int c, const char *arg, json_t *cfg)
{
    static const char *const keys[] = {"Interval", "Timeout", "StartPeriod"};
    static const char *const flags[] = {"--health-interval", "--health-timeout", "--health-start-period"};
    json_t *hc = obj_object(cfg, "Healthcheck");
    struct servin_error err = {0};
    long long n;
    int64_t ns;
    switch (c) {
    case OPT_NO_HEALTHCHECK:
        json_object_set_new(hc, "Test", json_pack("[s]", "NONE"));
        json_object_set_new(cfg, "NoHealthcheckFlag", json_true());
        return 0;
    case OPT_HEALTH_CMD:
        json_object_set_new(hc, "Test", json_pack("[s,s]", "CMD-SHELL", arg));
        break;
    case OPT_HEALTH_RETRIES:
        if (parse_int(arg, &n) < 0 || n < 0 || n > 1000000)
            return bad_value(ctx, "--health-retries", arg, "expected a number of retries, 0 or more");
        json_object_set_new(hc, "Retries", json_integer(n));
        break;
    default: {
        int k = c == OPT_HEALTH_INTERVAL ? 0 : c == OPT_HEALTH_TIMEOUT ? 1 : 2;
        /* Docker refuses what is below a millisecond, but 0 means its default. */
        if (servin_parse_duration(arg, &ns, &err) < 0 || ns < 0 || (ns > 0 && ns < 1000000))
            return bad_value(ctx, flags[k], arg, "expected a duration of at least 1ms, like 30s or 1m30s");
        json_object_set_new(hc, keys[k], json_integer(ns));
        break;
    }
    }
    json_object_set_new(cfg, "HealthFlags", json_true());
    return 0;
}

static int apply_opt(struct cli_ctx *ctx, int c, const char *arg, struct run_flags *f, json_t *cfg,
                     json_t *host)
{
    int64_t bytes;
    long long n;
    switch (c) {
    case 'd':
        f->detach = true;
        break;
    case 'i':
        f->interactive = true;
        break;
    case 't':
        f->tty = true;
        break;
    case OPT_RM:
        f->auto_remove = true;
        break;
    case OPT_NAME:
        f->name = arg;
        break;
    case 'e':
        add_env(obj_array(cfg, "Env"), arg);
        break;
    case OPT_ENV_FILE:
        return read_env_file(ctx, arg, obj_array(cfg, "Env"));
    case 'w':
        if (arg[0] != '/')
            return bad_value(ctx, "--workdir", arg, "the working directory must be an absolute path");
        json_object_set_new(cfg, "WorkingDir", json_string(arg));
        break;
    case 'u':
        json_object_set_new(cfg, "User", json_string(arg));
        break;
    case OPT_HOSTNAME:
        json_object_set_new(cfg, "Hostname", json_string(arg));
        break;
    case OPT_DOMAINNAME:
        json_object_set_new(cfg, "Domainname", json_string(arg));
        break;
    case OPT_ENTRYPOINT: {
        json_t *ep = json_array();
        if (*arg)
            json_array_append_new(ep, json_string(arg));
        json_object_set_new(cfg, "Entrypoint", ep);
        break;
    }
    case 'l': {
        const char *eq = strchr(arg, '=');
        _cleanup_free_ char *key = eq ? xstrndup(arg, (size_t)(eq - arg)) : xstrdup(arg);
        json_object_set_new(obj_object(cfg, "Labels"), key, json_string(eq ? eq + 1 : ""));
        break;
    }
    case 'm':
        if (parse_bytes_flag(ctx, "-m, --memory", arg, &bytes) != 0)
            return CLI_EXIT_USAGE;
        if (bytes > 0 && bytes < 6 * 1024 * 1024)
            return cli_failf("Minimum memory limit allowed is 6MB");
        json_object_set_new(host, "Memory", json_integer(bytes));
        break;
    case OPT_MEMORY_SWAP:
        if (strcmp(arg, "-1") == 0)
            bytes = -1;
        else if (parse_bytes_flag(ctx, "--memory-swap", arg, &bytes) != 0)
            return CLI_EXIT_USAGE;
        json_object_set_new(host, "MemorySwap", json_integer(bytes));
        break;
    case OPT_SHM_SIZE:
        if (parse_bytes_flag(ctx, "--shm-size", arg, &bytes) != 0)
            return CLI_EXIT_USAGE;
        json_object_set_new(host, "ShmSize", json_integer(bytes));
        break;
    case OPT_CPUS: {
        char *end = NULL;
        double cpus = strtod(arg, &end);
        if (end == arg || *end || !isfinite(cpus) || cpus < 0)
            return bad_value(ctx, "--cpus", arg, "expected a non-negative number of CPUs like 1.5");
        json_object_set_new(host, "NanoCpus", json_integer((json_int_t)(cpus * 1e9 + 0.5)));
        break;
    }
    case 'c':
        if (parse_int(arg, &n) < 0 || n < 0)
            return bad_value(ctx, "-c, --cpu-shares", arg, "expected a non-negative integer");
        json_object_set_new(host, "CpuShares", json_integer(n));
        break;
    case OPT_CPUSET_CPUS:
        json_object_set_new(host, "CpusetCpus", json_string(arg));
        break;
    case OPT_CPU_QUOTA:
    case OPT_CPU_PERIOD:
        if (parse_int(arg, &n) < 0)
            return bad_value(ctx, c == OPT_CPU_QUOTA ? "--cpu-quota" : "--cpu-period", arg,
                             "expected an integer");
        json_object_set_new(host, c == OPT_CPU_QUOTA ? "CpuQuota" : "CpuPeriod", json_integer(n));
        break;
    case OPT_PIDS_LIMIT:
        if (parse_int(arg, &n) < 0)
            return bad_value(ctx, "--pids-limit", arg, "expected an integer (-1 for unlimited)");
        json_object_set_new(host, "PidsLimit", json_integer(n));
        break;
    case OPT_OOM_SCORE_ADJ:
        if (parse_int(arg, &n) < 0 || n < -1000 || n > 1000)
            return bad_value(ctx, "--oom-score-adj", arg, "expected an integer from -1000 to 1000");
        json_object_set_new(host, "OomScoreAdj", json_integer(n));
        break;
    case OPT_READ_ONLY:
        json_object_set_new(host, "ReadonlyRootfs", json_true());
        break;
    case OPT_PRIVILEGED:
        json_object_set_new(host, "Privileged", json_true());
        break;
    case OPT_INIT:
        json_object_set_new(host, "Init", json_true());
        break;
    case OPT_CAP_ADD:
    case OPT_CAP_DROP:
        json_array_append_new(obj_array(host, c == OPT_CAP_ADD ? "CapAdd" : "CapDrop"), json_string(arg));
        break;
    case OPT_SECURITY_OPT:
        return parse_security_opt(ctx, arg, host);
    case OPT_STOP_SIGNAL:
        if (servin_signal_parse(arg) <= 0)
            return bad_value(ctx, "--stop-signal", arg, "unknown signal");
        json_object_set_new(cfg, "StopSignal", json_string(arg));
        break;
    case OPT_STOP_TIMEOUT:
        if (parse_int(arg, &n) < 0 || n < -1)
            return bad_value(ctx, "--stop-timeout", arg, "expected seconds (-1 to wait forever)");
        json_object_set_new(cfg, "StopTimeout", json_integer(n));
        break;
    case OPT_ULIMIT:
        return parse_ulimit(ctx, arg, host);
    case OPT_RESTART:
        return parse_restart(ctx, arg, host);
    case OPT_LOG_OPT:
        return parse_log_opt(ctx, arg, host);
    case OPT_LOG_DRIVER:
        if (strcmp(arg, "json-file") != 0 && strcmp(arg, "none") != 0)
            return bad_value(ctx, "--log-driver", arg, "only json-file and none are supported");
        json_object_set_new(obj_object(host, "LogConfig"), "Type", json_string(arg));
        break;
    case 'p':
        return run_flags_net_opt(ctx, RUN_OPT_PUBLISH, arg, f->config);
    case 'P':
        return run_flags_net_opt(ctx, RUN_OPT_PUBLISH_ALL, arg, f->config);
    case RUN_OPT_NETWORK:
    case RUN_OPT_NETWORK_ALIAS:
    case RUN_OPT_IP:
    case RUN_OPT_DNS:
    case RUN_OPT_DNS_SEARCH:
    case RUN_OPT_DNS_OPTION:
    case RUN_OPT_ADD_HOST:
    case RUN_OPT_EXPOSE:
        return run_flags_net_opt(ctx, c, arg, f->config);
    case OPT_SYSCTL: {
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg)
            return bad_value(ctx, "--sysctl", arg, "expected KEY=VALUE");
        _cleanup_free_ char *key = xstrndup(arg, (size_t)(eq - arg));
        json_object_set_new(obj_object(host, "Sysctls"), key, json_string(eq + 1));
        break;
    }
    case OPT_TMPFS: {
        const char *colon = strchr(arg, ':');
        _cleanup_free_ char *dst = colon ? xstrndup(arg, (size_t)(colon - arg)) : xstrdup(arg);
        if (dst[0] != '/')
            return bad_value(ctx, "--tmpfs", arg, "the mount point must be an absolute path");
        json_object_set_new(obj_object(host, "Tmpfs"), dst, json_string(colon ? colon + 1 : ""));
        break;
    }
    case 'v':
        /* A lone container path is an anonymous volume: Docker puts it in Config.Volumes. */
        if (arg[0] == '/' && !strchr(arg, ':'))
            json_object_set_new(obj_object(cfg, "Volumes"), arg, json_object());
        else if (!*arg)
            return bad_value(ctx, "--volume", arg, "expected [NAME|/host/path:]/container/path[:ro|rw]");
        else
            json_array_append_new(obj_array(host, "Binds"), json_string(arg));
        break;
    case OPT_MOUNT: {
        json_t *m = NULL;
        struct servin_error err = {0};
        if (servin_volume_parse_mount(arg, &m, &err) < 0)
            return cli_fail(&err);
        json_array_append_new(obj_array(host, "Mounts"), m);
        break;
    }
    case OPT_VOLUMES_FROM:
        json_array_append_new(obj_array(host, "VolumesFrom"), json_string(arg));
        break;
    case OPT_PULL:
        if (strcmp(arg, "missing") != 0 && strcmp(arg, "always") != 0 && strcmp(arg, "never") != 0)
            return bad_value(ctx, "--pull", arg, "use missing, always or never");
        f->pull = arg;
        break;
    case OPT_PLATFORM:
        break; /* the host's platform is the only one we run */
    case OPT_HEALTH_CMD:
    case OPT_HEALTH_INTERVAL:
    case OPT_HEALTH_TIMEOUT:
    case OPT_HEALTH_RETRIES:
    case OPT_HEALTH_START_PERIOD:
    case OPT_NO_HEALTHCHECK:
        return parse_health(ctx, c, arg, cfg);
    default:
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* Docker's `run -h NAME` sets the hostname (only --help asks for help): rewrite it before getopt,
 * which would take -h for help. Stops at IMAGE, so a command's own -h is left alone. */
static void hostname_short_flag(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || strcmp(a, "--") == 0)
            return;
        if (strcmp(a, "-h") == 0) {
            argv[i] = "--hostname";
            i++;
            continue;
        }
        if (a[1] == '-') {
            /* A long option that takes its value as the next word. */
            if (!strchr(a, '='))
                for (const struct option *o = run_longopts; o->name; o++)
                    if (strcmp(a + 2, o->name) == 0 && o->has_arg == required_argument)
                        i++;
            continue;
        }
        /* A short cluster: the first letter that takes a value ends it, with the rest or the next word. */
        for (const char *p = a + 1; *p; p++)
            if (strchr("ewulmcvp", *p)) {
                if (!p[1])
                    i++;
                break;
            }
    }
}

int run_flags_update_parse(struct cli_ctx *ctx, int argc, char **argv, json_t **changes, int *code)
{
    static const struct option longopts[] = {{"memory", required_argument, 0, 'm'},
                                             {"memory-swap", required_argument, 0, OPT_MEMORY_SWAP},
                                             {"cpus", required_argument, 0, OPT_CPUS},
                                             {"cpu-shares", required_argument, 0, 'c'},
                                             {"cpuset-cpus", required_argument, 0, OPT_CPUSET_CPUS},
                                             {"cpu-quota", required_argument, 0, OPT_CPU_QUOTA},
                                             {"cpu-period", required_argument, 0, OPT_CPU_PERIOD},
                                             {"pids-limit", required_argument, 0, OPT_PIDS_LIMIT},
                                             {"restart", required_argument, 0, OPT_RESTART},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    struct run_flags f = {0};
    json_t *cfg = json_object();
    json_t *host = json_object();
    int c;
    *code = 0;
    *changes = NULL;
    while ((c = cli_getopt(ctx, argc, argv, "m:c:h", longopts)) != -1) {
        if (c == 'h' || c == '?') {
            *code = c == 'h' ? 0 : CLI_EXIT_USAGE;
            break;
        }
        /* The same parsing (and checks) as run's flags of the same names. */
        int r = apply_opt(ctx, c, optarg, &f, cfg, host);
        if (r != 0) {
            *code = r;
            break;
        }
    }
    json_decref(cfg);
    if (c != -1 || *code != 0) {
        json_decref(host);
        return -1;
    }
    *changes = host;
    return 0;
}

int run_flags_parse(struct cli_ctx *ctx, int argc, char **argv, struct run_flags *f, int *code)
{
    hostname_short_flag(argc, argv);
    memset(f, 0, sizeof(*f));
    f->pull = "missing";
    json_t *cfg = json_object();
    json_t *host = json_object();
    f->config = json_pack("{s:o,s:o}", "Config", cfg, "HostConfig", host);
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "dite:w:u:l:m:c:v:hp:P", run_longopts)) != -1) {
        if (c == 'h') {
            *code = 0;
            return -1;
        }
        if (c == '?') {
            *code = CLI_EXIT_USAGE;
            return -1;
        }
        int r = apply_opt(ctx, c, optarg, f, cfg, host);
        if (r != 0) {
            *code = r;
            return -1;
        }
    }
    if (optind >= argc) {
        *code = cli_usage_error(ctx, "\"%s\" requires at least 1 argument.", ctx->cmd->path);
        return -1;
    }
    f->image = argv[optind++];
    if (optind < argc) {
        json_t *cmd = json_array();
        for (int i = optind; i < argc; i++)
            json_array_append_new(cmd, json_string(argv[i]));
        json_object_set_new(cfg, "Cmd", cmd);
    }
    const char *restart = json_string_value(json_object_get(json_object_get(host, "RestartPolicy"), "Name"));
    if (f->auto_remove && restart && strcmp(restart, "no") != 0) {
        *code = cli_failf("Conflicting options: --restart and --rm");
        return -1;
    }
    /* The markers of which health flags were given are not part of the config. */
    bool no_health = json_is_true(json_object_get(cfg, "NoHealthcheckFlag"));
    bool health_flags = json_is_true(json_object_get(cfg, "HealthFlags"));
    json_object_del(cfg, "NoHealthcheckFlag");
    json_object_del(cfg, "HealthFlags");
    if (no_health && health_flags) {
        *code = cli_failf("--no-healthcheck conflicts with --health-* options");
        return -1;
    }
    if (no_health)
        json_object_set_new(cfg, "Healthcheck", json_pack("{s:[s]}", "Test", "NONE"));
    if (f->name && (!*f->name || (f->name[0] == '/' && !f->name[1]))) {
        *code =
            cli_failf("invalid container name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", f->name);
        return -1;
    }
    json_object_set_new(cfg, "Image", json_string(f->image));
    json_object_set_new(cfg, "Tty", json_boolean(f->tty));
    json_object_set_new(cfg, "OpenStdin", json_boolean(f->interactive));
    json_object_set_new(cfg, "StdinOnce", json_boolean(f->interactive && !f->detach));
    json_object_set_new(cfg, "AttachStdin", json_boolean(f->interactive && !f->detach));
    json_object_set_new(cfg, "AttachStdout", json_boolean(!f->detach));
    json_object_set_new(cfg, "AttachStderr", json_boolean(!f->detach));
    json_object_set_new(host, "AutoRemove", json_boolean(f->auto_remove));
    if (!json_object_get(host, "RestartPolicy"))
        json_object_set_new(host, "RestartPolicy",
                            json_pack("{s:s,s:i}", "Name", "no", "MaximumRetryCount", 0));
    /* No --log-driver: the configuration's logging.driver fills Type when the record is created. */
    json_t *log = obj_object(host, "LogConfig");
    obj_object(log, "Config");
    if (!json_object_get(host, "NetworkMode"))
        json_object_set_new(host, "NetworkMode", json_string("default"));
    int r = run_flags_net_finish(ctx, f->config);
    if (r != 0) {
        *code = r;
        return -1;
    }
    return 0;
}

void run_flags_clear(struct run_flags *f)
{
    json_decref(f->config);
    f->config = NULL;
}
