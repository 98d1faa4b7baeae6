/* daemon/cri/cri_call.c — one CRI call: the method table resolved against the protobuf service
 * descriptors, the call's arena, failing with a gRPC status, and the reply-building helpers. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cri_internal.h"
#include "servin/cleanup.h"
#include "servin/log.h"

const struct cri_context *cri_ctx;

/* ---- the method table ---- */

static struct cri_entry *entries;
static size_t n_entries;

static const ProtobufCServiceDescriptor *service_descriptor(const char *service)
{
    if (strcmp(service, "RuntimeService") == 0)
        return &runtime__v1__runtime_service__descriptor;
    if (strcmp(service, "ImageService") == 0)
        return &runtime__v1__image_service__descriptor;
    if (strcmp(service, "Health") == 0)
        return &grpc__health__v1__health__descriptor;
    return NULL;
}

static int add_table(const struct cri_method *table, struct servin_error *err)
{
    for (const struct cri_method *m = table; m->path; m++) {
        const ProtobufCServiceDescriptor *sd = service_descriptor(m->service);
        const ProtobufCMethodDescriptor *md =
            sd ? protobuf_c_service_descriptor_get_method_by_name(sd, m->name) : NULL;
        if (!md)
            return servin_error_set(err, EINVAL, "CRI method table: %s is not a method of the protocol",
                                    m->path);
        for (size_t i = 0; i < n_entries; i++)
            if (strcmp(entries[i].m->path, m->path) == 0)
                return servin_error_set(err, EINVAL, "CRI method table: %s is listed twice", m->path);
        entries = xrealloc(entries, (n_entries + 1) * sizeof(*entries));
        struct cri_entry *e = &entries[n_entries++];
        memset(e, 0, sizeof(*e));
        e->m = m;
        e->input = md->input;
        e->output = md->output;
        if (m->gateway)
            snprintf(e->gateway_path, sizeof(e->gateway_path), "/v1/%s/%s",
                     strcmp(m->service, "ImageService") == 0 ? "image"
                     : strcmp(m->service, "Health") == 0     ? "health"
                                                             : "runtime",
                     m->gateway);
    }
    return 0;
}

int cri_methods_init(struct servin_error *err)
{
    if (entries)
        return 0;
    const struct cri_method *tables[] = {cri_runtime_methods, cri_image_methods, cri_sandbox_methods,
                                         cri_container_methods, cri_health_methods};
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
        if (add_table(tables[t], err) < 0)
            return -1;
    /* Every RPC of both CRI services must be in a table, served or not. */
    const ProtobufCServiceDescriptor *services[] = {&runtime__v1__runtime_service__descriptor,
                                                    &runtime__v1__image_service__descriptor};
    for (size_t s = 0; s < 2; s++)
        for (unsigned i = 0; i < services[s]->n_methods; i++) {
            char path[160];
            snprintf(path, sizeof(path), "/%s/%s", services[s]->name, services[s]->methods[i].name);
            if (!cri_lookup(path))
                return servin_error_set(err, EINVAL, "CRI method table: %s has no entry", path);
        }
    return 0;
}

const struct cri_entry *cri_lookup(const char *path)
{
    for (size_t i = 0; i < n_entries; i++)
        if (strcmp(entries[i].m->path, path) == 0)
            return &entries[i];
    return NULL;
}

const struct cri_entry *cri_lookup_gateway(const char *path)
{
    for (size_t i = 0; i < n_entries; i++)
        if (entries[i].gateway_path[0] && strcmp(entries[i].gateway_path, path) == 0)
            return &entries[i];
    return NULL;
}

size_t cri_n_entries(void)
{
    return n_entries;
}

const struct cri_entry *cri_entry_at(size_t i)
{
    return i < n_entries ? &entries[i] : NULL;
}

/* ---- status codes ---- */

const char *grpc_code_name(int code)
{
    static const char *const names[] = {
        "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
        "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
        "DATA_LOSS", "UNAUTHENTICATED"};
    return code >= 0 && code < (int)(sizeof(names) / sizeof(names[0])) ? names[code] : "UNKNOWN";
}

int grpc_code_from_errno(int e)
{
    switch (e < 0 ? -e : e) {
    case ENOENT:
        return GRPC_NOT_FOUND;
    case EEXIST:
        return GRPC_ALREADY_EXISTS;
    case EINVAL:
        return GRPC_INVALID_ARGUMENT;
    case EBUSY:
        return GRPC_FAILED_PRECONDITION;
    case EPERM:
    case EACCES:
        return GRPC_PERMISSION_DENIED;
    case ETIMEDOUT:
        return GRPC_DEADLINE_EXCEEDED;
    case ENOSYS:
    case ENOTSUP:
        return GRPC_UNIMPLEMENTED;
    case ECONNREFUSED:
    case EHOSTUNREACH:
    case ENETUNREACH:
        return GRPC_UNAVAILABLE;
    case ENOSPC:
    case ENOMEM:
        return GRPC_RESOURCE_EXHAUSTED;
    default:
        return GRPC_UNKNOWN;
    }
}

/* ---- the arena: one malloc per allocation, chained, all freed with the call ---- */

struct cri_arena {
    struct cri_arena *next;
    max_align_t data[];
};

void *cri_alloc(struct cri_call *call, size_t size)
{
    struct cri_arena *a = xcalloc(1, sizeof(*a) + size + 1);
    a->next = call->arena;
    call->arena = a;
    return a->data;
}

char *cri_strdup(struct cri_call *call, const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s);
    char *p = cri_alloc(call, n + 1);
    memcpy(p, s, n);
    return p;
}

char *cri_printf(struct cri_call *call, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = cri_alloc(call, n > 0 ? (size_t)n + 1 : 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)(n > 0 ? n : 0) + 1, fmt, ap);
    va_end(ap);
    return p;
}

void *cri_new(struct cri_call *call, const ProtobufCMessageDescriptor *desc)
{
    void *msg = cri_alloc(call, desc->sizeof_message);
    desc->message_init(msg);
    return msg;
}

static const ProtobufCFieldDescriptor *repeated_field(const ProtobufCMessage *msg, const char *field)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, field);
    if (!f || f->label != PROTOBUF_C_LABEL_REPEATED) {
        log_error("CRI: %s has no repeated field %s", msg->descriptor->name, field);
        abort(); /* a programming error in a handler, caught by its first test */
    }
    return f;
}

static size_t elem_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_MESSAGE:
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    default:
        return 4;
    }
}

/* Arrays are copied on every append (arena memory, freed with the call): a handler with a long
 * list may set the array and its count directly instead. */
static void append_raw(struct cri_call *call, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                       const void *elem)
{
    size_t *n = (size_t *)((char *)msg + f->quantifier_offset);
    void **arr = (void **)((char *)msg + f->offset);
    size_t es = elem_size(f);
    char *grown = cri_alloc(call, (*n + 1) * es);
    if (*n)
        memcpy(grown, *arr, *n * es);
    memcpy(grown + *n * es, elem, es);
    *arr = grown;
    (*n)++;
}

void cri_append(struct cri_call *call, ProtobufCMessage *msg, const char *field, const void *value)
{
    const ProtobufCFieldDescriptor *f = repeated_field(msg, field);
    if (f->type == PROTOBUF_C_TYPE_STRING) {
        char *s = cri_strdup(call, value);
        append_raw(call, msg, f, &s);
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        append_raw(call, msg, f, &value);
    } else {
        append_raw(call, msg, f, value); /* a pointer to the number */
    }
}

void cri_map_add(struct cri_call *call, ProtobufCMessage *msg, const char *field, const char *key,
                 const char *value)
{
    const ProtobufCFieldDescriptor *f = repeated_field(msg, field);
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    ProtobufCMessage *entry = cri_new(call, ed);
    *(char **)((char *)entry + ed->fields[0].offset) = cri_strdup(call, key);
    *(char **)((char *)entry + ed->fields[1].offset) = cri_strdup(call, value);
    append_raw(call, msg, f, &entry);
}

const char *cri_map_get(const ProtobufCMessage *msg, const char *field, const char *key)
{
    const ProtobufCFieldDescriptor *f = repeated_field(msg, field);
    size_t n = *(const size_t *)((const char *)msg + f->quantifier_offset);
    ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)((const char *)msg + f->offset);
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    for (size_t i = 0; i < n; i++) {
        const char *k = *(const char *const *)((const char *)arr[i] + ed->fields[0].offset);
        if (k && strcmp(k, key) == 0)
            return *(const char *const *)((const char *)arr[i] + ed->fields[1].offset);
    }
    return NULL;
}

Runtime__V1__UInt64Value *cri_u64(struct cri_call *call, uint64_t v)
{
    Runtime__V1__UInt64Value *w = cri_new(call, &runtime__v1__uint64_value__descriptor);
    w->value = v;
    return w;
}

Runtime__V1__Int64Value *cri_i64(struct cri_call *call, int64_t v)
{
    Runtime__V1__Int64Value *w = cri_new(call, &runtime__v1__int64_value__descriptor);
    w->value = v;
    return w;
}

/* ---- failing ---- */

int cri_fail(struct cri_call *call, int code, const char *fmt, ...)
{
    free(call->message);
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&call->message, fmt, ap) < 0)
        call->message = NULL;
    va_end(ap);
    if (call->message) /* one line */
        for (char *p = call->message; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
    call->code = code == GRPC_OK ? GRPC_UNKNOWN : code;
    return -1;
}

int cri_fail_error(struct cri_call *call, const struct servin_error *err)
{
    return cri_fail(call, grpc_code_from_errno(err->code), "%s", err->msg[0] ? err->msg : "unknown error");
}

/* ---- resources ---- */

struct servin_store *cri_store(struct cri_call *call)
{
    if (call->store)
        return call->store;
    struct servin_error err = {0};
    if (servin_store_open_at(cri_ctx ? cri_ctx->root : NULL, cri_ctx ? cri_ctx->state_dir : NULL,
                             &call->store, &err) < 0) {
        call->store = NULL;
        cri_fail(call, GRPC_INTERNAL, "open the store: %s", err.msg);
        return NULL;
    }
    return call->store;
}

int64_t cri_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool cri_deadline_passed(const struct cri_call *call)
{
    return call->deadline && cri_now_ns() >= call->deadline;
}

int64_t cri_deadline_remaining_ms(const struct cri_call *call)
{
    if (!call->deadline)
        return -1;
    int64_t left = call->deadline - cri_now_ns();
    return left > 0 ? left / 1000000 : 0;
}

/* ---- running a call ---- */

void cri_call_init(struct cri_call *call, const struct cri_entry *e, int64_t deadline, bool gateway)
{
    memset(call, 0, sizeof(*call));
    call->method = e->m;
    call->path = e->m->path;
    call->deadline = deadline;
    call->gateway = gateway;
}

void cri_call_clear(struct cri_call *call)
{
    while (call->arena) {
        struct cri_arena *next = call->arena->next;
        free(call->arena);
        call->arena = next;
    }
    if (call->store)
        servin_store_close(call->store);
    call->store = NULL;
    free(call->message);
    call->message = NULL;
}

int cri_call_run(struct cri_call *call, const struct cri_entry *e, const ProtobufCMessage *req,
                 ProtobufCMessage **resp)
{
    *resp = NULL;
    if (!e->m->handler)
        return cri_fail(call, GRPC_UNIMPLEMENTED, "%s is not implemented by servin yet", e->m->path + 1);
    if (cri_deadline_passed(call))
        return cri_fail(call, GRPC_DEADLINE_EXCEEDED, "%s: the deadline passed before the call started",
                        e->m->path + 1);
    int r = e->m->handler(call, req, resp);
    if (r < 0 || call->code != GRPC_OK) {
        if (call->code == GRPC_OK)
            cri_fail(call, GRPC_INTERNAL, "%s failed without saying why", e->m->path + 1);
        *resp = NULL;
        return -1;
    }
    if (!*resp)
        *resp = cri_new(call, e->output);
    if ((*resp)->descriptor != e->output) {
        const char *got = (*resp)->descriptor->name;
        *resp = NULL;
        return cri_fail(call, GRPC_INTERNAL, "%s replied a %s instead of a %s", e->m->path + 1, got,
                        e->output->name);
    }
    return 0;
}
