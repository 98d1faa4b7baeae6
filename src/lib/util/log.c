/* util/log.c — leveled logging to stderr and an optional file. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "servin/log.h"
#include "servin/timefmt.h"

static enum servin_log_level current_level = SERVIN_LOG_WARN;
static FILE *log_file;
static bool log_json;
static bool stderr_json;

static const char *const level_names[] = {"debug", "info", "warn", "error", "fatal"};

int servin_log_level_parse(const char *name)
{
    if (!name)
        return -1;
    if (strcasecmp(name, "warning") == 0)
        return SERVIN_LOG_WARN;
    if (strcasecmp(name, "panic") == 0)
        return SERVIN_LOG_FATAL;
    for (int i = 0; i <= SERVIN_LOG_FATAL; i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

const char *servin_log_level_name(enum servin_log_level level)
{
    return level <= SERVIN_LOG_FATAL ? level_names[level] : "unknown";
}

void servin_log_set_level(enum servin_log_level level)
{
    current_level = level;
}

enum servin_log_level servin_log_get_level(void)
{
    return current_level;
}

int servin_log_set_file(const char *path)
{
    FILE *f = fopen(path, "ae");
    if (!f)
        return -errno;
    if (log_file)
        fclose(log_file);
    log_file = f;
    setvbuf(log_file, NULL, _IOLBF, 0);
    return 0;
}

void servin_log_set_json(bool json)
{
    log_json = json;
}

void servin_log_set_format_json(bool json)
{
    stderr_json = json;
}

/* Minimal JSON string escaping: the message is ours, but paths may hold quotes or control bytes. */
static void put_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void servin_log_close(void)
{
    if (log_file)
        fclose(log_file);
    log_file = NULL;
}

void servin_log_to_file(enum servin_log_level level, const char *msg)
{
    if (log_file && level <= SERVIN_LOG_FATAL) {
        /* The file gets a timestamp and pid, since several processes may append to it. */
        char when[SERVIN_RFC3339_MAX];
        servin_time_format_rfc3339(servin_time_now_ns(), when);
        if (log_json) {
            fprintf(log_file, "{\"level\":\"%s\",\"msg\":", level_names[level]);
            put_json_string(log_file, msg);
            fprintf(log_file, ",\"time\":\"%s\"}\n", when);
        } else {
            fprintf(log_file, "%s [%d] %s: %s\n", when, (int)getpid(), level_names[level], msg);
        }
    }
}

void servin_log(enum servin_log_level level, const char *fmt, ...)
{
    if (level < current_level)
        return;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    if (stderr_json) {
        char when[SERVIN_RFC3339_MAX];
        servin_time_format_rfc3339(servin_time_now_ns(), when);
        fprintf(stderr, "{\"level\":\"%s\",\"msg\":", level_names[level]);
        put_json_string(stderr, msg);
        fprintf(stderr, ",\"time\":\"%s\"}\n", when);
    } else {
        fprintf(stderr, "servin %s: %s\n", level_names[level], msg);
    }
    servin_log_to_file(level, msg);
}
