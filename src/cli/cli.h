/* cli/cli.h — what every command of the servin CLI shares. */
#ifndef SERVIN_CLI_H
#define SERVIN_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "servin/error.h"
#include "servin/store.h"

/* Exit codes, as Docker uses them. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILURE 125
#define CLI_EXIT_USAGE 125

struct cli_ctx {
    const char *root;            /* runtime.data_dir: --root, $SERVIN_ROOT, the config file, or the default */
    const char *state_dir;       /* runtime.state_dir, NULL for the default rule */
    struct servin_config *config; /* the effective configuration (NULL for `config check`) */
    struct servin_store *store;  /* opened on first use */
    const struct cli_command *cmd;
    int argc; /* the whole command line, for re-executing ourselves */
    char **argv;
};

struct cli_command {
    const char *path;     /* canonical words: "image ls" */
    const char *aliases;  /* more paths, separated by '|': "images|image list|images ls" */
    int (*run)(struct cli_ctx *ctx, int argc, char **argv);
    const char *usage;    /* "[OPTIONS] [REPOSITORY[:TAG]]" */
    const char *summary;  /* one line */
    const char *options;  /* the options' help text, lines "  -a, --all   Show all images" */
};

/* Open the store once; on failure prints the error and returns NULL. */
struct servin_store *cli_store(struct cli_ctx *ctx);
/* Print "servin: <message>" for err and return the exit code for Servin's own failures. */
int cli_fail(const struct servin_error *err);
int cli_failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print a usage error plus the hint to run --help; returns CLI_EXIT_USAGE. */
int cli_usage_error(struct cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_print_help(const struct cli_command *cmd, FILE *out);

/* getopt_long wrapper that handles -h/--help (prints help, returns 'h') and unknown options
 * (prints the usage error, returns '?'). Always add {"help", no_argument, 0, 'h'} to longopts
 * and 'h' to optstring. Reset optind = 0 before the first call (done by the dispatcher). */
int cli_getopt(struct cli_ctx *ctx, int argc, char **argv, const char *optstring,
               const struct option *longopts);

/* Go-template-like output: "{{.Field}}", "{{.A.B}}", "{{json .}}", "{{json .Field}}", a leading
 * "table " prints a header row; "\t" and "\n" escapes work. Values come from a JSON object. */
int cli_format_render(const char *tmpl, json_t *obj, FILE *out, struct servin_error *err);
void cli_format_table_header(const char *tmpl, FILE *out);
/* What every inspect command prints for the objects it found: the JSON array (no format, or
 * "json"), else format rendered for each item, one line each. 0, or the exit code of a template
 * that failed (reported). */
int cli_print_inspect(json_t *items, const char *format);
/* Print rows as aligned columns: call cli_table_add for each row (tab-separated cells), then flush. */
struct cli_table;
struct cli_table *cli_table_new(void);
void cli_table_add(struct cli_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_table_flush(struct cli_table *t, FILE *out);

/* Human helpers, as Docker shows them. */
char *cli_human_size(double bytes);         /* "4.26MB" (decimal units, like Docker) */
char *cli_human_since(long long unix_secs); /* "3 hours ago" */
/* A point in time for --since/--until and the until= filter: an RFC 3339 time, a unix timestamp
 * (seconds, maybe fractional), or a duration back from now ("10m", "1h30m"); unix ns into *ns. */
int cli_parse_time(const char *text, int64_t *ns, struct servin_error *err);
/* The value of -n/--tail: "all" (-1) or a number; 0, or the usage error's exit code. */
int cli_parse_tail(struct cli_ctx *ctx, const char *text, long *tail);
/* Ask "question [y/N]" on the terminal; false when stdin is not a terminal. */
bool cli_confirm(const char *question);

#endif
