/* log.h — leveled logging to stderr and, optionally, a file. */
#ifndef SERVIN_LOG_H
#define SERVIN_LOG_H

#include <stdbool.h>

enum servin_log_level {
    SERVIN_LOG_DEBUG = 0,
    SERVIN_LOG_INFO = 1,
    SERVIN_LOG_WARN = 2,
    SERVIN_LOG_ERROR = 3,
    SERVIN_LOG_FATAL = 4,
};

/* Parse "debug|info|warn|warning|error|fatal"; returns -1 for an unknown name. */
int servin_log_level_parse(const char *name);
const char *servin_log_level_name(enum servin_log_level level);
void servin_log_set_level(enum servin_log_level level);
enum servin_log_level servin_log_get_level(void);
/* Also append every message to this file; returns -errno if it cannot be opened. */
int servin_log_set_file(const char *path);
void servin_log_close(void);
/* Write the log file as one JSON object per line ({"level","msg","time"}), as runc's
 * --log-format json does: tools that drive a runtime read its errors from there. */
void servin_log_set_json(bool json);
/* Write stderr lines as JSON objects too ($SERVIN_LOG_FORMAT=json, runtime.log_format: json), for
 * log collectors that read a daemon's stderr. */
void servin_log_set_format_json(bool json);
/* Only to the log file (if any): for errors the front end already printed on stderr. */
void servin_log_to_file(enum servin_log_level level, const char *msg);
void servin_log(enum servin_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) servin_log(SERVIN_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) servin_log(SERVIN_LOG_INFO, __VA_ARGS__)
#define log_warn(...) servin_log(SERVIN_LOG_WARN, __VA_ARGS__)
#define log_error(...) servin_log(SERVIN_LOG_ERROR, __VA_ARGS__)

#endif
