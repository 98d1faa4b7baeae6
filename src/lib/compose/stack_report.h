/* compose/stack_report.h — how the project steps (up, down, images, resources) report to the
 * caller: progress lines and warnings through the env's callbacks. */
#ifndef SERVIN_COMPOSE_STACK_REPORT_H
#define SERVIN_COMPOSE_STACK_REPORT_H

#include "servin/compose_stack.h"

/* A progress line ("Container", "web-1", "Started"), when the caller wants them. */
void stack_progress(struct servin_compose_env *env, const char *kind, const char *name, const char *status);
/* A warning to the caller's callback, or the log when it has none. */
void stack_warn(struct servin_compose_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
