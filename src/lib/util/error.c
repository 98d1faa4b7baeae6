/* util/error.c — filling and wrapping the error object. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "servin/error.h"

static int normalise_code(int code)
{
    if (code < 0)
        code = -code;
    return code == 0 ? EINVAL : code;
}

int servin_error_set(struct servin_error *err, int code, const char *fmt, ...)
{
    code = normalise_code(code);
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return -code;
}

int servin_error_errno(struct servin_error *err, int errnum, const char *fmt, ...)
{
    errnum = normalise_code(errnum);
    if (err) {
        char head[SERVIN_ERROR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(head, sizeof(head), fmt, ap);
        va_end(ap);
        snprintf(err->msg, sizeof(err->msg), "%.1900s: %s", head, strerror(errnum));
        err->code = errnum;
    }
    return -errnum;
}

int servin_error_wrap(struct servin_error *err, const char *fmt, ...)
{
    if (!err)
        return -EINVAL;
    char head[SERVIN_ERROR_MSG_MAX], inner[SERVIN_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    memcpy(inner, err->msg, sizeof(inner));
    snprintf(err->msg, sizeof(err->msg), "%.1000s: %.1000s", head, inner);
    err->code = normalise_code(err->code);
    return -err->code;
}

void servin_error_clear(struct servin_error *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}
