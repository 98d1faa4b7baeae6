/* daemon/cri/cri_internal.h — what the transport files share: the resolved method table and the
 * call runner. Handlers use cri_service.h only. */
#ifndef SERVIN_DAEMON_CRI_INTERNAL_H
#define SERVIN_DAEMON_CRI_INTERNAL_H

#include "cri_service.h"

/* A method of the tables with its protobuf descriptors resolved from the service descriptors. */
struct cri_entry {
    const struct cri_method *m;
    const ProtobufCMessageDescriptor *input, *output;
    char gateway_path[96]; /* "/v1/runtime/version", "" when none */
};

/* Resolve and check every table against the service descriptors (once, at start). */
int cri_methods_init(struct servin_error *err);
/* The entry for a gRPC path ("/runtime.v1.RuntimeService/Version") or a gateway path, or NULL. */
const struct cri_entry *cri_lookup(const char *path);
const struct cri_entry *cri_lookup_gateway(const char *path);
/* Is the path a method of the proto (served or not)? For UNIMPLEMENTED's message. */
size_t cri_n_entries(void);
const struct cri_entry *cri_entry_at(size_t i);

/* Set up and tear down a call (arena, store, message). */
void cri_call_init(struct cri_call *call, const struct cri_entry *e, int64_t deadline, bool gateway);
void cri_call_clear(struct cri_call *call);
/* Run the handler: 0 with *resp (arena or NULL-free), or -1 with call->code/message set. */
int cri_call_run(struct cri_call *call, const struct cri_entry *e, const ProtobufCMessage *req,
                 ProtobufCMessage **resp);

int64_t cri_now_ns(void); /* CLOCK_MONOTONIC */
/* Run fn(arg) in a thread of the worker pool (cri_workers.c): 0, or -errno when no thread could
 * start (fn does not run then). */
int cri_worker_submit(void (*fn)(void *), void *arg);
/* Close the store handles kept between calls (at server stop). */
void cri_store_pool_drain(void);
/* Free everything cri_alloc gave the call (cri_message.c). */
void cri_arena_free(struct cri_call *call);

/* The health service (health_service.c). */
extern const struct cri_method cri_health_methods[];
void cri_health_set_serving(bool serving);

/* The HTTP/JSON gateway (json_gateway.c): a descriptor-driven mapping. */
int cri_json_to_message(struct cri_call *call, const ProtobufCMessageDescriptor *desc, const char *text,
                        size_t len, ProtobufCMessage **out, char *why, size_t why_len);
char *cri_message_to_json(const ProtobufCMessage *msg); /* malloc'd */

#endif
