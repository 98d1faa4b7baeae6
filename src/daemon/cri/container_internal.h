/* daemon/cri/container_internal.h — what the CRI container files share: finding a container of a
 * call, the CRI view of its state, the JSON form of request messages, and the streaming server. */
#ifndef SERVIN_DAEMON_CRI_CONTAINER_INTERNAL_H
#define SERVIN_DAEMON_CRI_CONTAINER_INTERNAL_H

#include <jansson.h>

#include "cri_service.h"
#include "servin/container.h"
#include "servin/cri_container.h"

/* container_service.c */
/* The CRI container named by id (full id or unique prefix), reconciled: 0, or the call failed
 * (INVALID_ARGUMENT for an empty id, NOT_FOUND for an unknown one or one that is not CRI's). */
int cri_container_find(struct cri_call *call, struct servin_store *store, const char *id,
                       struct servin_container *c);
Runtime__V1__ContainerState cri_container_state(const struct servin_container *c);
/* Does the container carry every label of the selector (a map field of a filter message)? */
bool cri_labels_match(const struct servin_container *c, const ProtobufCMessage *filter, const char *field);
/* The containers of the pod a ContainerFilter or ContainerStatsFilter names (of every pod when
 * pod_sandbox_id is NULL or empty): 0, or the call failed. */
int cri_filter_containers(struct cri_call *call, struct servin_store *store, const char *pod_sandbox_id,
                          struct servin_container **list, size_t *n);
/* Does the container match such a filter's id (a prefix; empty matches all) and label_selector? */
bool cri_filter_match(const struct servin_container *c, const char *id, const ProtobufCMessage *filter);
Runtime__V1__ContainerMetadata *cri_container_metadata(struct cri_call *call,
                                                       const struct servin_container *c);
void cri_container_labels(struct cri_call *call, const struct servin_container *c, ProtobufCMessage *msg);

/* container_exec.c: ExecSync, ContainerStats, ListContainerStats. */
int cri_exec_sync(struct cri_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp);
int cri_container_stats(struct cri_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp);
int cri_list_container_stats(struct cri_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp);
/* Spawn `servin --root R exec [-i] [-t] ID CMD...` (posix_spawn: we are threaded) on the fds. */
pid_t cri_exec_spawn(struct servin_store *store, const char *id, char *const *cmd, size_t n_cmd, bool in,
                     bool tty, int in_fd, int out_fd, int err_fd);

/* container_stream.c: the streaming server (Exec, Attach, PortForward URLs). */
int cri_stream_start(struct servin_error *err);
void cri_stream_stop(void);
int cri_exec(struct cri_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp);
int cri_attach(struct cri_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp);
int cri_port_forward(struct cri_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp);

#endif
