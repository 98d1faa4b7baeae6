/* container/spec_internal.h — the parts of OCI spec generation, one file each. */
#ifndef SERVIN_CONTAINER_SPEC_INTERNAL_H
#define SERVIN_CONTAINER_SPEC_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "servin/container.h"
#include "servin/error.h"
#include "servin/store.h"

/* spec_user.c: the process user from Docker's "user[:group]" (names or numbers). */
struct ctr_user {
    uid_t uid;
    gid_t gid;
    gid_t *groups; /* supplementary groups from /etc/group membership */
    size_t n_groups;
    char *home; /* from /etc/passwd, "/" when unknown */
};
void ctr_user_clear(struct ctr_user *u);
/* passwd/group_text: the files' contents, NULL when the image has no such file. */
int ctr_user_resolve(const char *spec, const char *passwd, const char *group_text, struct ctr_user *out,
                     struct servin_error *err);
/* The contents of a regular file of the container's root: from merged/ when mounted (resolved
 * inside it), else from the topmost layer that has it (a whiteout above hides it). rel has no
 * leading '/'. NULL when absent. */
char *ctr_rootfs_read(struct servin_store *store, const struct servin_container *c, const char *rel);

/* The gid of a group given by number or by name in the image's /etc/group (group_text, NULL when
 * absent); EINVAL names the group when unknown. */
int ctr_group_id(const char *spec, const char *group_text, gid_t *out, struct servin_error *err);

/* spec_linux.c */
/* linux.namespaces: pid, ipc, uts from PidMode/IpcMode/UTSMode ("host", "private", "container:X",
 * "ns:<path>"), mount, cgroup, and network (netns: path to join; none and not host_network: a new
 * one). *own_uts: the container has a UTS namespace of its own, so the spec may set a hostname. */
int ctr_namespaces(struct servin_store *store, const struct servin_container *c, json_t *hc,
                   const char *netns, bool host_network, json_t **out, bool *own_uts,
                   struct servin_error *err);
/* HostConfig.Devices [{PathOnHost, PathInContainer, CgroupPermissions}] appended to linux.devices
 * and to the device cgroup's allow list. */
int ctr_devices(json_t *hc, json_t *linux_devices, json_t *allow, struct servin_error *err);
/* linux.cgroupsPath: "<CgroupParent>/<id>", or servin/<id> without a parent. */
int ctr_cgroups_path(const struct servin_container *c, json_t *hc, char **out, struct servin_error *err);

/* spec_init.c: with HostConfig.Init, process.args run under the init bind-mounted at
 * /sbin/docker-init (tini-static, or $SERVIN_INIT_PATH), appended to mounts. */
const char *ctr_init_binary(void);
int ctr_apply_init(json_t *host_config, json_t *process, json_t *mounts, struct servin_error *err);

/* spec_security.c */
/* process.capabilities from Docker's defaults, CapAdd/CapDrop ("ALL" accepted) or Privileged. */
int ctr_capabilities(json_t *host_config, json_t **caps, struct servin_error *err);
/* linux.seccomp (NULL when unconfined) and noNewPrivileges from SecurityOpt and Privileged. */
int ctr_security_opts(json_t *host_config, json_t *bounding, json_t **seccomp, bool *no_new_privs,
                      struct servin_error *err);
/* linux.devices for a privileged container: every device node of the host's /dev. */
json_t *ctr_host_devices(void);

/* spec_ulimits.c: append security.default_ulimits to process.rlimits for the names list lacks, lowered
 * (with one warning) to what the runtime may set; says whether nofile was among them. */
int ctr_default_ulimits(json_t *list, bool *nofile_set);
bool ctr_can_raise_rlimits(void);

/* spec_files.c: <dir>/hostname, <dir>/hosts and <dir>/resolv.conf. */
/* hc: HostConfig (ExtraHosts, Dns, DnsSearch, DnsOptions); ip: the container's address (NULL:
 * 127.0.0.1); network_dns: nameservers of its networks (NULL: the host's). */
int ctr_write_etc_files(const char *dir, const char *hostname, bool host_network, json_t *hc, const char *ip,
                        json_t *network_dns, struct servin_error *err);
/* The hostname the container gets (Hostname, the host's on its network, else the short id). */
void ctr_hostname(const struct servin_container *c, json_t *cfg, json_t *hc, char out[256]);
/* resolv.conf text without loopback nameservers; NULL when no nameserver is left. */
char *ctr_resolv_filter(const char *text);

#endif
