/* container/container_internal.h — helpers shared by the container files. */
#ifndef SERVIN_CONTAINER_INTERNAL_H
#define SERVIN_CONTAINER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "servin/container.h"

/* Unix nanoseconds now (CLOCK_REALTIME). */
int64_t ctr_now_ns(void);
/* True when pid exists, is not a zombie, and (when since_ns > 0) started no later than since_ns
 * plus a little slack: a pid the kernel handed to a newer process is not the one we recorded. */
bool ctr_pid_alive(pid_t pid, int64_t since_ns);
/* The state name back to the enum; -1 when unknown. */
int ctr_state_parse(const char *name);
/* Names must match [a-zA-Z0-9][a-zA-Z0-9_.-]+. */
bool ctr_name_valid(const char *name);

/* config_defaults.c: EUSERS when runtime.max_containers containers exist already; inside the create
 * transaction, so two creates cannot both pass. */
int ctr_check_max_containers(struct servin_store *store, struct servin_error *err);

#endif
