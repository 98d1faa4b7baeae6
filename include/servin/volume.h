/* volume.h — named and anonymous volumes, and the mounts a container asks for.
 *
 * A volume is a row in the `volumes` table (schema migration 3) and a directory
 * <root>/volumes/<name>/_data. The table `container_volumes` links each container to the volumes
 * it mounts; a volume with a link is in use and cannot be removed (the foreign key refuses it
 * too), and a container's removal drops its links (ON DELETE CASCADE) but never the volume: only
 * servin_volume_remove/prune delete data.
 *
 * Every change happens inside one store write transaction (BEGIN IMMEDIATE), directory work
 * included, so two creates of one name, or a create racing a removal, are serialised.
 *
 * The local driver's options (Docker's `--opt`): type=tmpfs with o=size=..,mode=.. gives each
 * container a tmpfs; type=none with o=bind and device=/path mounts that host directory. No other
 * option is accepted.
 */
#ifndef SERVIN_VOLUME_H
#define SERVIN_VOLUME_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "servin/container.h"
#include "servin/error.h"
#include "servin/store.h"

struct servin_volume {
    char *name;
    char *driver;     /* "local" */
    char *mountpoint; /* <root>/volumes/<name>/_data */
    int64_t created;  /* unix nanoseconds */
    json_t *labels;   /* {"k": "v"} */
    json_t *options;  /* {"type": "tmpfs", "device": ..., "o": ...} */
    bool anonymous;   /* made for one container (image VOLUME, `-v /path`): `rm -v` removes it */
};
void servin_volume_clear(struct servin_volume *v);
void servin_volumes_free(struct servin_volume *list, size_t n);

/* Docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (two characters at least). */
bool servin_volume_name_valid(const char *name);

struct servin_volume_create_opts {
    const char *name;   /* NULL: a generated 64-hex name */
    const char *driver; /* NULL or "local" */
    json_t *labels;     /* borrowed; may be NULL */
    json_t *options;    /* borrowed; may be NULL */
    bool anonymous;
};
/* Create the volume, or return the existing one of that name (as Docker does); *created tells
 * which. EINVAL for a bad name, driver or option, each with one clear sentence. */
int servin_volume_create(struct servin_store *store, const struct servin_volume_create_opts *opts,
                         struct servin_volume *out, bool *created, struct servin_error *err);
/* ENOENT "no such volume: x". */
int servin_volume_get(struct servin_store *store, const char *name, struct servin_volume *out,
                      struct servin_error *err);
/* Every volume, sorted by name. */
int servin_volume_list(struct servin_store *store, struct servin_volume **out, size_t *n,
                       struct servin_error *err);
/* Ids of the containers that use the volume (NULL-terminated, strv_free); empty when unused. */
int servin_volume_users(struct servin_store *store, const char *name, char ***ids, struct servin_error *err);
/* Delete the volume and its data. EBUSY "volume is in use - [id...]" while a container links it;
 * ENOENT when missing. *size gets the bytes its data held (may be NULL). */
int servin_volume_remove(struct servin_store *store, const char *name, long long *size,
                         struct servin_error *err);
/* The volume in Docker's inspect shape: Name, Driver, Mountpoint, Labels, Options, Scope,
 * CreatedAt. */
json_t *servin_volume_to_json(const struct servin_volume *v);

/* Docker's --mount text ("type=volume,source=x,target=/d,readonly,...") as an API Mounts entry
 * ({Type, Source, Target, ReadOnly, BindOptions, VolumeOptions, TmpfsOptions}). */
int servin_volume_parse_mount(const char *text, json_t **out, struct servin_error *err);

/* Resolve a new container's mounts: HostConfig.Binds ("name:/d[:ro]", "/host:/d[:ro|rw]"),
 * HostConfig.Mounts (API objects), HostConfig.VolumesFrom ("ctr[:ro|rw]") and Config.Volumes
 * (image VOLUME and `-v /d`: anonymous volumes unless something else is mounted there). Creates
 * the volumes named or needed, links them to the container, fills each empty volume from the
 * image content under its destination (copy-up; the rootfs must be mounted), and stores the
 * result in the container's config as "MountPoints": [{Type, Name, Source, Destination, Driver,
 * Mode, RW, Propagation, Spec: {type, source, options}}] (Spec is the OCI mounts entry that
 * servin_container_write_spec adds). On failure nothing it created is left. */
int servin_volume_prepare_container(struct servin_store *store, struct servin_container *c,
                                    struct servin_error *err);
/* The anonymous volumes the container links (strv_free), read before it is removed... */
int servin_volume_anonymous_of(struct servin_store *store, const char *container_id, char ***names,
                               struct servin_error *err);
/* ...and removed after, each one no other container uses. Failures are skipped silently. */
void servin_volume_remove_unused(struct servin_store *store, char **names);

/* Docker's inspect "Mounts" of a container, from its MountPoints. */
json_t *servin_volume_mounts_json(const struct servin_container *c);

#endif
