/* cli/cli_util.c — errors, option parsing, help and human-readable values for every command. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/image.h"
#include "servin/log.h"
#include "servin/timefmt.h"

int cli_fail(const struct servin_error *err)
{
    const char *msg = err && err->msg[0] ? err->msg : "unknown error";
    fprintf(stderr, "servin: %s\n", msg);
    servin_log_to_file(SERVIN_LOG_ERROR, msg);
    return CLI_EXIT_FAILURE;
}

int cli_failf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char msg[SERVIN_ERROR_MSG_MAX];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "servin: %s\n", msg);
    servin_log_to_file(SERVIN_LOG_ERROR, msg);
    return CLI_EXIT_FAILURE;
}

int cli_usage_error(struct cli_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("servin: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (ctx && ctx->cmd)
        fprintf(stderr, "\nSee 'servin %s --help'.\n", ctx->cmd->path);
    else
        fputc('\n', stderr);
    return CLI_EXIT_USAGE;
}

void cli_print_help(const struct cli_command *cmd, FILE *out)
{
    fprintf(out, "Usage:  servin %s %s\n\n%s\n", cmd->path, cmd->usage, cmd->summary);
    if (cmd->aliases && *cmd->aliases) {
        fputs("\nAliases:\n  ", out);
        for (const char *a = cmd->aliases; *a; a++)
            fputs(*a == '|' ? ", " : (char[]){*a, 0}, out);
        fputc('\n', out);
    }
    fputs("\nOptions:\n", out);
    if (cmd->options && *cmd->options)
        fputs(cmd->options, out);
    fputs("  -h, --help            Print usage\n", out);
}

int cli_getopt(struct cli_ctx *ctx, int argc, char **argv, const char *optstring,
               const struct option *longopts)
{
    /* Flags may come anywhere, as Docker's do ("network inspect NAME --format X": getopt moves
     * the operands behind them), except for commands whose operands end with a command line of
     * their own: a leading '+' stops at the first operand, so "run IMAGE cmd -x" leaves -x to the
     * command. A ':' lets us print our own message for a missing argument. */
    bool own_command_line = !ctx->cmd || !ctx->cmd->usage || strstr(ctx->cmd->usage, "COMMAND");
    _cleanup_free_ char *spec = xasprintf("%s:%s", own_command_line ? "+" : "", optstring);
    opterr = 0;
    int c = getopt_long(argc, argv, spec, longopts, NULL);
    if (c == 'h') {
        cli_print_help(ctx->cmd, stdout);
        return 'h';
    }
    if (c == '?') {
        if (optopt)
            cli_usage_error(ctx, "unknown shorthand flag: '%c' in -%c", optopt, optopt);
        else
            cli_usage_error(ctx, "unknown flag: %s", argv[optind - 1]);
        return '?';
    }
    if (c == ':') {
        cli_usage_error(ctx, "flag needs an argument: %s", argv[optind - 1]);
        return '?';
    }
    return c;
}

char *cli_human_size(double bytes)
{
    /* Docker prints decimal units with up to 3 significant digits: 4.26MB, 128kB, 1.2GB. */
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    int u = 0;
    while (bytes >= 1000.0 && u < 5) {
        bytes /= 1000.0;
        u++;
    }
    return xasprintf("%.3g%s", bytes, units[u]);
}

char *cli_human_since(long long unix_secs)
{
    long long d = (long long)time(NULL) - unix_secs;
    if (unix_secs <= 0)
        return xstrdup("N/A");
    if (d < 1)
        return xstrdup("Less than a second ago");
    if (d < 60)
        return xasprintf("%lld second%s ago", d, d == 1 ? "" : "s");
    if (d < 3600)
        return d < 120 ? xstrdup("About a minute ago") : xasprintf("%lld minutes ago", d / 60);
    if (d < 86400 * 2)
        return d < 7200 ? xstrdup("About an hour ago") : xasprintf("%lld hours ago", d / 3600);
    if (d < 86400 * 7 * 2)
        return xasprintf("%lld days ago", d / 86400);
    if (d < 86400 * 30 * 2)
        return xasprintf("%lld weeks ago", d / (86400 * 7));
    if (d < 86400 * 365 * 2)
        return xasprintf("%lld months ago", d / (86400 * 30));
    return xasprintf("%lld years ago", d / (86400 * 365));
}

bool cli_confirm(const char *question)
{
    if (!isatty(STDIN_FILENO))
        return false;
    fprintf(stderr, "%s [y/N] ", question);
    char line[16];
    if (!fgets(line, sizeof(line), stdin))
        return false;
    return line[0] == 'y' || line[0] == 'Y';
}

struct cli_table {
    char **rows;
    size_t n;
};

struct cli_table *cli_table_new(void)
{
    return xcalloc(1, sizeof(struct cli_table));
}

void cli_table_add(struct cli_table *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    t->rows = xreallocarray(t->rows, t->n + 1, sizeof(char *));
    t->rows[t->n++] = xvasprintf(fmt, ap);
    va_end(ap);
}

void cli_table_flush(struct cli_table *t, FILE *out)
{
    size_t widths[32] = {0};
    for (size_t r = 0; r < t->n; r++) {
        size_t col = 0, len = 0;
        for (const char *p = t->rows[r];; p++) {
            if (*p == '\t' || *p == '\0') {
                if (col < 32 && len > widths[col])
                    widths[col] = len;
                col++;
                len = 0;
                if (!*p)
                    break;
            } else if (((unsigned char)*p & 0xC0) != 0x80) {
                len++; /* characters, not bytes: "…" in a truncated command is one column */
            }
        }
    }
    /* Columns are separated by at least three spaces, as in Docker's tables. */
    for (size_t r = 0; r < t->n; r++) {
        size_t col = 0, len = 0;
        for (const char *p = t->rows[r]; *p; p++) {
            if (*p == '\t') {
                for (size_t pad = len; col < 32 && pad < widths[col] + 3; pad++)
                    fputc(' ', out);
                col++;
                len = 0;
            } else {
                fputc(*p, out);
                if (((unsigned char)*p & 0xC0) != 0x80)
                    len++;
            }
        }
        fputc('\n', out);
        free(t->rows[r]);
    }
    free(t->rows);
    free(t);
}

/* (cli.h) */
int cli_parse_tail(struct cli_ctx *ctx, const char *text, long *tail)
{
    if (strcmp(text, "all") == 0) {
        *tail = -1;
        return 0;
    }
    char *end = NULL;
    *tail = strtol(text, &end, 10);
    if (end == text || *end)
        return cli_usage_error(ctx, "invalid argument \"%s\" for \"-n, --tail\" flag: use a number or all",
                               text);
    return 0;
}

/* (cli.h) */
int cli_parse_time(const char *text, int64_t *ns, struct servin_error *err)
{
    char *end = NULL;
    double secs = strtod(text, &end);
    if (end != text && *end == '\0') {
        *ns = (int64_t)(secs * 1e9);
        return 0;
    }
    int64_t d = 0;
    struct servin_error ignored = {0};
    if (servin_parse_duration(text, &d, &ignored) == 0) {
        *ns = servin_time_now_ns() - d;
        return 0;
    }
    long long t = servin_time_parse_rfc3339(text);
    if (t < 0) {
        /* A date alone, as Docker accepts: 2024-01-02. */
        _cleanup_free_ char *full = xasprintf("%sT00:00:00Z", text);
        t = strlen(text) == 10 ? servin_time_parse_rfc3339(full) : -1;
    }
    if (t < 0)
        return servin_error_set(err, EINVAL,
                                "invalid time \"%s\": use RFC 3339 (2024-01-02T15:04:05Z), a unix timestamp "
                                "or a duration like 10m",
                                text);
    *ns = (int64_t)t * 1000000000LL;
    /* servin_time_parse_rfc3339 has whole seconds: keep the fraction, which --since needs to be exact. */
    const char *dot = strchr(text, '.');
    if (dot) {
        int64_t frac = 0, scale = 100000000;
        for (const char *p = dot + 1; *p >= '0' && *p <= '9' && scale; p++, scale /= 10)
            frac += (*p - '0') * scale;
        *ns += frac;
    }
    return 0;
}
