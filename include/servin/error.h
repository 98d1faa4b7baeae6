/* error.h — one error object, filled by every call that can fail and printed once by the front end. */
#ifndef SERVIN_ERROR_H
#define SERVIN_ERROR_H

#include <stddef.h>

#define SERVIN_ERROR_MSG_MAX 2048

struct servin_error {
    int code;                       /* positive errno-like value; 0 when no error is set */
    char msg[SERVIN_ERROR_MSG_MAX]; /* one sentence a user can act on */
};

/* Set the error and return -code, so that callers can write `return servin_error_set(...)`. */
int servin_error_set(struct servin_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like servin_error_set, appending ": strerror(errnum)". */
int servin_error_errno(struct servin_error *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix the context of the caller: "pull busybox: <inner message>"; returns -code. */
int servin_error_wrap(struct servin_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void servin_error_clear(struct servin_error *err);

#endif
