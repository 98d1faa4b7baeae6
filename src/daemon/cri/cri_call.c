/* daemon/cri/cri_call.c — one CRI call: the method table resolved against the protobuf service
 * descriptors, the call's resources (store, deadline) and running its handler. */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
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

/* ---- resources ---- */

/* Store handles are kept for the next calls: opening one (directories, the open lock, SQLite and
 * its pragmas) costs more than most calls. A handle serves one call at a time (SQLite is opened
 * in serialized mode, so a handle may move between threads). */
#define STORE_POOL_MAX 16
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct servin_store *store_pool[STORE_POOL_MAX];
static int n_pooled;

static void store_release(struct servin_store *store)
{
    /* A handle left inside a transaction by a failed call is not reused. */
    if (sqlite3_get_autocommit(store->db)) {
        pthread_mutex_lock(&pool_lock);
        if (n_pooled < STORE_POOL_MAX) {
            store_pool[n_pooled++] = store;
            store = NULL;
        }
        pthread_mutex_unlock(&pool_lock);
    }
    if (store)
        servin_store_close(store);
}

void cri_store_pool_drain(void)
{
    pthread_mutex_lock(&pool_lock);
    while (n_pooled > 0)
        servin_store_close(store_pool[--n_pooled]);
    pthread_mutex_unlock(&pool_lock);
}

struct servin_store *cri_store(struct cri_call *call)
{
    if (call->store)
        return call->store;
    pthread_mutex_lock(&pool_lock);
    if (n_pooled > 0)
        call->store = store_pool[--n_pooled];
    pthread_mutex_unlock(&pool_lock);
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
    cri_arena_free(call);
    if (call->store)
        store_release(call->store);
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
