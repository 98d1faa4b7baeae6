/* daemon/cri/cri_service.h — what a Kubernetes CRI v1 RPC handler sees: the call, its request,
 * its reply, its failure. The gRPC transport (HTTP/2, framing, deadlines, trailers) and the
 * HTTP/JSON gateway are behind this; a handler never touches either.
 *
 * How to add (or fill) an RPC
 *   1. Every RPC of runtime.v1.RuntimeService and runtime.v1.ImageService has exactly one entry
 *      in one of the method tables below (one table per file, each file one service area):
 *        runtime_service.c   Version, Status, UpdateRuntimeConfig, RuntimeConfig, metrics, events
 *        image_service.c     ImageService
 *        sandbox_service.c   pod sandboxes (RunPodSandbox ... ListPodSandboxStats, PortForward)
 *        container_service.c containers, exec/attach, logs, stats
 *      An entry: CRI_METHOD(RuntimeService, RunPodSandbox, run_pod_sandbox, "sandbox/run") —
 *      the service and the RPC's name as in api.proto, the handler (NULL: the RPC answers
 *      UNIMPLEMENTED "… is not implemented by servin yet"), and the path of the HTTP/JSON gateway
 *      under /v1/runtime/ or /v1/image/ (NULL: not on the gateway). The descriptors come from the
 *      name, so the request and reply types always match api.proto; at start the server checks
 *      each entry against the service descriptor and refuses to start on a typo.
 *   2. The handler:
 *        static int run_pod_sandbox(struct cri_call *call, const ProtobufCMessage *req_msg,
 *                                   ProtobufCMessage **resp_msg)
 *        {
 *            const Runtime__V1__RunPodSandboxRequest *req = (const void *)req_msg;
 *            if (!req->config || !req->config->metadata)
 *                return cri_fail(call, GRPC_INVALID_ARGUMENT, "RunPodSandbox: config.metadata is required");
 *            Runtime__V1__RunPodSandboxResponse *resp = cri_new(call,
 * &runtime__v1__run_pod_sandbox_response__descriptor); resp->pod_sandbox_id = cri_strdup(call, id); *resp_msg
 * = &resp->base; return 0;
 *        }
 *      Return 0 with *resp_msg set (NULL means an empty reply of the response type), or the
 *      value of cri_fail/cri_fail_error (negative). A request is never NULL: absent sub-messages
 *      are NULL pointers and absent strings are "" (proto3).
 *   3. Memory: build the reply from cri_new/cri_alloc/cri_strdup/cri_printf/cri_* helpers, which
 *      allocate from the call's arena (everything freed after the reply is sent), or from static
 *      strings. Never malloc a part of the reply: nothing would free it.
 *   4. Threads: every call runs in a thread of its own, so a handler may block (a pull, a stop
 *      with a grace period). Open the store with cri_store(call) (one SQLite handle per call,
 *      closed after it); shared state between calls needs the handler file's own lock.
 *   5. The deadline (grpc-timeout): cri_deadline_passed(call) in long loops; the client has been
 *      answered DEADLINE_EXCEEDED by then and the result is thrown away.
 *
 * Start-up and shut-down hooks: each service file defines cri_<area>_start (after the store is
 * open, before the socket accepts) and cri_<area>_stop; the stubs do nothing.
 */
#ifndef SERVIN_DAEMON_CRI_SERVICE_H
#define SERVIN_DAEMON_CRI_SERVICE_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "grpc/health/v1/health.pb-c.h"
#include "runtime/v1/api.pb-c.h"
#include "servin/error.h"
#include "servin/store.h"

/* The gRPC status codes (grpc/doc/statuscodes.md). */
enum grpc_code {
    GRPC_OK = 0,
    GRPC_CANCELLED = 1,
    GRPC_UNKNOWN = 2,
    GRPC_INVALID_ARGUMENT = 3,
    GRPC_DEADLINE_EXCEEDED = 4,
    GRPC_NOT_FOUND = 5,
    GRPC_ALREADY_EXISTS = 6,
    GRPC_PERMISSION_DENIED = 7,
    GRPC_RESOURCE_EXHAUSTED = 8,
    GRPC_FAILED_PRECONDITION = 9,
    GRPC_ABORTED = 10,
    GRPC_OUT_OF_RANGE = 11,
    GRPC_UNIMPLEMENTED = 12,
    GRPC_INTERNAL = 13,
    GRPC_UNAVAILABLE = 14,
    GRPC_DATA_LOSS = 15,
    GRPC_UNAUTHENTICATED = 16,
};
const char *grpc_code_name(int code);

/* The daemon-wide settings every handler may read (set once at start, then constant). */
struct cri_context {
    const char *root;         /* store root (--root); NULL: the default */
    const char *state_dir;    /* runtime.state_dir; NULL: the default rule */
    const char *socket_path;  /* the CRI unix socket, or NULL */
    const char *cni_conf_dir; /* /etc/cni/net.d unless $SERVIN_CNI_CONF_DIR says otherwise */
    const char *cni_bin_dir;  /* /usr/lib/cni unless $SERVIN_CNI_BIN_DIR says otherwise */
};
extern const struct cri_context *cri_ctx;

struct cri_arena;
struct cri_method;

/* One RPC in progress. */
struct cri_call {
    const struct cri_method *method;
    const char *path;           /* "/runtime.v1.RuntimeService/Version" */
    bool gateway;               /* came through the HTTP/JSON gateway, not gRPC */
    int64_t deadline;           /* CLOCK_MONOTONIC ns; 0: none */
    int code;                   /* GRPC_OK until cri_fail */
    char *message;              /* the one-line error of cri_fail */
    struct servin_store *store; /* cri_store() */
    struct cri_arena *arena;
};

typedef int (*cri_handler_fn)(struct cri_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp);

struct cri_method {
    const char *path;       /* "/runtime.v1.RuntimeService/Version" */
    const char *service;    /* "RuntimeService" */
    const char *name;       /* "Version" */
    const char *gateway;    /* "version": POST /v1/runtime/version; NULL: none */
    cri_handler_fn handler; /* NULL: UNIMPLEMENTED */
};

#define CRI_METHOD(svc, rpc, fn, gw)                                                                         \
    {                                                                                                        \
        "/runtime.v1." #svc "/" #rpc, #svc, #rpc, gw, fn                                                     \
    }

/* The tables (each ends with {NULL}). */
extern const struct cri_method cri_runtime_methods[];   /* runtime_service.c */
extern const struct cri_method cri_image_methods[];     /* image_service.c */
extern const struct cri_method cri_sandbox_methods[];   /* sandbox_service.c */
extern const struct cri_method cri_container_methods[]; /* container_service.c */

/* ---- failing ---- */
/* Fail the call with a gRPC status and a one-line message; returns -1 for `return cri_fail(...)`. */
int cri_fail(struct cri_call *call, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Fail with a libservin error: the code from err->code (ENOENT NOT_FOUND, EEXIST ALREADY_EXISTS,
 * EINVAL INVALID_ARGUMENT, EBUSY FAILED_PRECONDITION, EPERM/EACCES PERMISSION_DENIED, ETIMEDOUT
 * DEADLINE_EXCEEDED, ENOSYS UNIMPLEMENTED, ECONNREFUSED/EHOSTUNREACH UNAVAILABLE, else UNKNOWN). */
int cri_fail_error(struct cri_call *call, const struct servin_error *err);
int grpc_code_from_errno(int e);

/* ---- resources ---- */
/* The call's store handle, opened on first use; NULL after failing the call (INTERNAL). */
struct servin_store *cri_store(struct cri_call *call);
bool cri_deadline_passed(const struct cri_call *call);
/* Milliseconds left before the deadline; -1 when there is none (0 when passed). */
int64_t cri_deadline_remaining_ms(const struct cri_call *call);

/* ---- building replies (arena memory, freed after the call) ---- */
void *cri_alloc(struct cri_call *call, size_t size);    /* zeroed */
char *cri_strdup(struct cri_call *call, const char *s); /* NULL gives "" */
char *cri_printf(struct cri_call *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A new message of that type, initialised with its defaults. */
void *cri_new(struct cri_call *call, const ProtobufCMessageDescriptor *desc);
/* Append to a repeated field of msg named `field` (as in api.proto): a message pointer (for a
 * repeated message field) or a string (repeated string; copied). Grows in the arena. */
void cri_append(struct cri_call *call, ProtobufCMessage *msg, const char *field, const void *value);
/* Add key=value to a map<string,string> field of msg (copied). */
void cri_map_add(struct cri_call *call, ProtobufCMessage *msg, const char *field, const char *key,
                 const char *value);
/* A value of a map<string,string> field of a request, or NULL. */
const char *cri_map_get(const ProtobufCMessage *msg, const char *field, const char *key);
/* A request message as JSON, as the gateway writes it (proto3 JSON mapping: lowerCamelCase names,
 * enum value names, maps as objects): for handing a whole message to libservin. */
json_t *cri_message_json(const ProtobufCMessage *msg);
/* The wrappers kubelet uses for optional numbers. */
Runtime__V1__UInt64Value *cri_u64(struct cri_call *call, uint64_t v);
Runtime__V1__Int64Value *cri_i64(struct cri_call *call, int64_t v);

/* ---- service start/stop hooks (called by the server, in this order) ---- */
int cri_runtime_start(struct servin_error *err);
int cri_image_start(struct servin_error *err);
int cri_sandbox_start(struct servin_error *err);
int cri_container_start(struct servin_error *err);
void cri_container_stop(void);
void cri_sandbox_stop(void);

/* ---- shared runtime facts ---- */
#define CRI_RUNTIME_NAME "servin"
#define CRI_API_VERSION "v1"
/* NetworkReady for Status (defined in sandbox_service.c, which owns pod networking): true when a
 * CNI network configuration (*.conf, *.conflist, *.json) is in cni_conf_dir; false with a
 * CamelCase reason and a message (arena strings) otherwise. */
bool cri_network_ready(struct cri_call *call, const char **reason, const char **message);

#endif
