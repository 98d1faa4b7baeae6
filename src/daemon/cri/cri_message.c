/* daemon/cri/cri_message.c — what handlers build replies and failures with: gRPC status codes, the
 * call's arena, descriptor-driven helpers for repeated and map fields, cri_fail. No server state:
 * the unit tests link this file alone. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cri_internal.h"
#include "servin/cleanup.h"
#include "servin/log.h"

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

void cri_arena_free(struct cri_call *call)
{
    while (call->arena) {
        struct cri_arena *next = call->arena->next;
        free(call->arena);
        call->arena = next;
    }
}

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
