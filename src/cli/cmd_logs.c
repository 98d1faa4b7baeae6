/* cli/cmd_logs.c — `logs`: the container's json-file log, stdout lines to stdout, stderr to stderr. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/image.h"
#include "servin/monitor.h"
#include "servin/timefmt.h"

static int emit_line(void *ctx, int stream, const char *text, size_t len)
{
    (void)ctx;
    FILE *out = stream == 2 ? stderr : stdout;
    if (fwrite(text, 1, len, out) != len)
        return -1;
    /* Followed logs are read by someone waiting: do not hold lines in our buffer. */
    fflush(out);
    return 0;
}

int cmd_logs(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"follow", no_argument, 0, 'f'},      {"timestamps", no_argument, 0, 't'},
        {"tail", required_argument, 0, 'n'},  {"since", required_argument, 0, 'S'},
        {"until", required_argument, 0, 'U'}, {"details", no_argument, 0, 'D'},
        {"help", no_argument, 0, 'h'},        {0}};
    struct servin_log_read_opts o = {.tail = -1};
    struct servin_error err = {0};
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "ftn:h", longopts)) != -1) {
        switch (c) {
        case 'h':
            return 0;
        case 'f':
            o.follow = true;
            break;
        case 't':
            o.timestamps = true;
            break;
        case 'n': {
            int code = cli_parse_tail(ctx, optarg, &o.tail);
            if (code)
                return code;
            if (o.tail < 0)
                o.tail = -1;
            break;
        }
        case 'S':
        case 'U':
            if (cli_parse_time(optarg, c == 'S' ? &o.since_ns : &o.until_ns, &err) < 0)
                return cli_fail(&err);
            break;
        case 'D':
            break; /* no log attributes are recorded, so there are no details to add */
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (argc - optind != 1)
        return cli_usage_error(ctx, "\"%s\" requires exactly 1 argument.", ctx->cmd->path);
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    struct servin_container ct = {0};
    if (servin_container_get(store, argv[optind], &ct, &err) < 0)
        return cli_fail(&err);
    _cleanup_free_ char *dir = servin_container_dir(store, ct.id);
    _cleanup_free_ char *run_dir = servin_container_run_dir(store, ct.id);
    _cleanup_free_ char *log_path = servin_container_log_path(store, &ct);
    const char *log_type = json_string_value(
        json_object_get(json_object_get(json_object_get(ct.config, "HostConfig"), "LogConfig"), "Type"));
    int code = 0;
    if (log_type && strcmp(log_type, "none") == 0) {
        code = cli_failf("configured logging driver does not support reading");
    } else {
        o.run_dir = run_dir;
        /* Follow only while something can still write: a container that is not running ends at once. */
        if (o.follow && ct.state != SERVIN_CONTAINER_RUNNING && ct.state != SERVIN_CONTAINER_PAUSED &&
            ct.state != SERVIN_CONTAINER_RESTARTING)
            o.follow = false;
        int r = servin_log_read(log_path, &o, emit_line, NULL, &err);
        if (r < 0 && r != -ENOENT)
            code = cli_fail(&err);
    }
    servin_container_clear(&ct);
    return code;
}
