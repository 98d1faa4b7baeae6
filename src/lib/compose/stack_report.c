/* compose/stack_report.c — progress lines and warnings of the project steps. */
#include <stdarg.h>
#include <stdlib.h>

#include "servin/cleanup.h"
#include "servin/log.h"
#include "stack_report.h"

void stack_progress(struct servin_compose_env *env, const char *kind, const char *name, const char *status)
{
    if (env->progress)
        env->progress(env->progress_arg, kind, name, status);
}

void stack_warn(struct servin_compose_env *env, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    if (env->warn)
        env->warn(env->warn_arg, msg);
    else
        log_warn("%s", msg);
}
