/* events.h — the event journal: what happened to containers and images, for `docker events`.
 *
 * <root>/events.jsonl holds one Docker event per line, appended with O_APPEND by whoever made the
 * change (the CLI, the daemon, the `container cleanup` a monitor runs), so the daemon's event
 * stream shows containers started from the CLI too:
 *   {"Type":"container","Action":"start","Actor":{"ID":"<id>","Attributes":{"name":..,"image":..}},
 *    "scope":"local","time":<unix s>,"timeNano":<unix ns>}
 * Past 8 MiB the file is renamed to events.jsonl.1 (one generation kept).
 */
#ifndef SERVIN_EVENTS_H
#define SERVIN_EVENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "servin/container.h"
#include "servin/store.h"

/* Append one event; attributes (may be NULL) is stolen. Failing to journal never fails the change
 * itself: it is logged and forgotten. */
void servin_event_emit(struct servin_store *store, const char *type, const char *action, const char *id,
                       json_t *attributes);
/* A container event with its name and image as attributes, plus extra ones (stolen, may be NULL). */
void servin_event_container(struct servin_store *store, const struct servin_container *c, const char *action,
                            json_t *extra);

/* Read events with since_ns <= timeNano (< until_ns when until_ns > 0), oldest first; with follow,
 * keep waiting for new ones until stop(ctx) returns true or until_ns passes. emit returning < 0 ends
 * the read. */
int servin_events_read(struct servin_store *store, int64_t since_ns, int64_t until_ns, bool follow,
                       int (*emit)(void *ctx, json_t *event), bool (*stop)(void *ctx), void *ctx,
                       struct servin_error *err);

#endif
