/* compose_stack.h — a loaded compose project (compose.h) made real: its networks, volumes and
 * containers in the store, and the commands that act on them (`servin compose up`, `down`, ...).
 *
 * Nothing is remembered apart from the store's own records: every container, network and volume
 * of a project carries Docker Compose's labels (below), and a project's state is what those
 * labels say. So `up` again compares the config-hash label of each container with the model's
 * hash and recreates only what changed, `ls` finds projects from container labels alone, and
 * docker-compose-aware tools (and the Docker API's label filters) recognise our resources.
 *
 * Names follow Docker Compose v2: containers <project>-<service>-<n> (or container_name), one-off
 * containers <project>-<service>-run-<12 hex>, networks and volumes as the model names them
 * (<project>_<key>), images built for a service without `image:` <project>-<service>.
 *
 * A service's container is created through servin_container_create() from Docker's create body
 * ({"Config", "HostConfig", "NetworkingConfig"}), the same path as `servin run` and the Docker
 * API: compose adds no second way to make a container. */
#ifndef SERVIN_COMPOSE_STACK_H
#define SERVIN_COMPOSE_STACK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "servin/build.h"
#include "servin/compose.h"
#include "servin/container.h"
#include "servin/error.h"
#include "servin/store.h"

#define SERVIN_COMPOSE_LABEL_PROJECT "com.docker.compose.project"
#define SERVIN_COMPOSE_LABEL_SERVICE "com.docker.compose.service"
#define SERVIN_COMPOSE_LABEL_NUMBER "com.docker.compose.container-number"
#define SERVIN_COMPOSE_LABEL_CONFIG_HASH "com.docker.compose.config-hash"
#define SERVIN_COMPOSE_LABEL_ONEOFF "com.docker.compose.oneoff"
#define SERVIN_COMPOSE_LABEL_WORKING_DIR "com.docker.compose.project.working_dir"
#define SERVIN_COMPOSE_LABEL_CONFIG_FILES "com.docker.compose.project.config_files"
#define SERVIN_COMPOSE_LABEL_DEPENDS_ON "com.docker.compose.depends_on"
#define SERVIN_COMPOSE_LABEL_VERSION "com.docker.compose.version"
#define SERVIN_COMPOSE_LABEL_NETWORK "com.docker.compose.network"
#define SERVIN_COMPOSE_LABEL_VOLUME "com.docker.compose.volume"
#define SERVIN_COMPOSE_LABEL_IMAGE "com.docker.compose.image"

/* ---- what is there (project_state.c) ---- */

/* A label of the container's, NULL when it has none. */
const char *servin_compose_label(const struct servin_container *c, const char *key);
/* The container-number label, 0 when missing or not a number. */
int servin_compose_container_number(const struct servin_container *c);

enum {
    SERVIN_COMPOSE_WITH_ONEOFF = 1, /* one-off (`compose run`) containers too */
    SERVIN_COMPOSE_ONLY_ONEOFF = 2, /* only them */
    SERVIN_COMPOSE_ONLY_ACTIVE = 4, /* only running, paused or restarting ones */
};
/* The project's containers (reconciled), by service name then container number, one-offs last.
 * services: NULL = every service's; else only those. */
int servin_compose_containers(struct servin_store *store, const char *project, char *const *services,
                              unsigned flags, struct servin_container **out, size_t *n,
                              struct servin_error *err);

/* `compose ls`: one {"Name", "Status" ("running(2), exited(1)"), "ConfigFiles"} per project that has
 * containers (with all=false only projects with a running one), sorted by name. */
int servin_compose_projects(struct servin_store *store, bool all, json_t **out, struct servin_error *err);

/* ---- progress (what `up`/`down` report, one line per step as docker compose prints them) ---- */

/* kind "Network" | "Volume" | "Container" | "Image" | "Service"; status "Creating", "Created",
 * "Starting", "Started", "Waiting", "Healthy", "Exited", "Recreate", "Recreated", "Running",
 * "Stopping", "Stopped", "Removing", "Removed", "Pulling", "Pulled", "Building", "Built",
 * "Skipped", "Error"... */
typedef void (*servin_compose_progress_fn)(void *arg, const char *kind, const char *name, const char *status);

/* Shared by every operation on one loaded project. */
struct servin_compose_env {
    struct servin_store *store;
    const struct servin_compose_project *project;
    servin_compose_progress_fn progress; /* may be NULL */
    void *progress_arg;
    servin_build_progress_fn build_progress; /* output of service builds; may be NULL */
    void *build_progress_arg;
    servin_compose_warn_fn warn; /* orphans found, and such (NULL: log_warn) */
    void *warn_arg;
    FILE *pull_out; /* pull progress (NULL: quiet) */
    bool pull_tty;
    const volatile int *cancel; /* set by a signal handler: stop between steps (may be NULL) */
};

/* ---- a service as a container (service_spec.c) ---- */

/* The image a service runs: image:, or <project>-<service> for a build-only service (allocated). */
char *servin_compose_service_image(const struct servin_compose_project *p,
                                   const struct servin_compose_service *s);
/* The name of the service's n-th container: container_name (n must be 1), else <project>-<svc>-<n>. */
char *servin_compose_container_name(const struct servin_compose_project *p,
                                    const struct servin_compose_service *s, int number);

/* Docker's create body for the service's container number `number` (0 = a one-off), with the
 * compose labels, ports, mounts (named volumes by their real names, configs and secrets as
 * read-only binds), the first network as NetworkMode with the service name and aliases as
 * aliases, resources, healthcheck... *extra_networks gets [{"Name", "Aliases" []|null,
 * "IPv4Address"}] for the networks after the first (connected after create), or NULL. */
int servin_compose_service_body(struct servin_compose_env *env, const struct servin_compose_service *s,
                                int number, json_t **body, json_t **extra_networks, struct servin_error *err);

/* Create (not start) the service's container `number` under `name` (NULL = the default name),
 * connecting its other networks. body_override (may be NULL) is merged over Config/HostConfig of
 * the service's body (one-off runs: Cmd, Env...). */
int servin_compose_create_container(struct servin_compose_env *env, const struct servin_compose_service *s,
                                    int number, const char *name, json_t *body_override,
                                    struct servin_container *out, struct servin_error *err);

/* ---- images (images.c) ---- */

/* Make sure the service's image is there: build it (when it has a build section and the image is
 * missing, or force_build), pull it (missing, or pull_policy always). pull_policy never with a
 * missing image is an error naming the service. */
int servin_compose_ensure_image(struct servin_compose_env *env, const struct servin_compose_service *s,
                                bool force_build, bool no_build, struct servin_error *err);
int servin_compose_build_service(struct servin_compose_env *env, const struct servin_compose_service *s,
                                 bool no_cache, bool pull, struct servin_error *err);

/* ---- networks and volumes (resources.c) ---- */

/* Create the project's networks and volumes that are used and missing (external ones must exist). */
int servin_compose_ensure_resources(struct servin_compose_env *env,
                                    struct servin_compose_service *const *services, size_t n,
                                    struct servin_error *err);

/* ---- up (up.c) ---- */

struct servin_compose_scale {
    const char *service;
    int replicas;
};

struct servin_compose_up_opts {
    char *const *services; /* NULL = all */
    bool no_deps;          /* only the services named, not their dependencies */
    bool force_recreate, no_recreate;
    bool build, no_build;
    bool no_start;
    bool remove_orphans;
    const struct servin_compose_scale *scale;
    size_t n_scale;
    long timeout_s;      /* stop timeout for recreated/removed containers; < 0 = each container's own */
    bool wait;           /* return once every container is running (and healthy, when it has a check) */
    long wait_timeout_s; /* <= 0 = no limit */
};

/* Converge: networks, volumes, then each service in depends_on order (waiting for its
 * dependencies' conditions): create missing replicas, recreate those whose config hash changed,
 * start stopped ones, remove extra replicas. A failed dependency stops it with an error that names
 * the dependency and why. */
int servin_compose_up(struct servin_compose_env *env, const struct servin_compose_up_opts *opts,
                      struct servin_error *err);

/* Wait for a started container per a depends_on condition (service_started: running or exited
 * by itself; service_healthy: health "healthy", an error when "unhealthy" or when it stops;
 * service_completed_successfully: exited 0, an error for another exit code). */
int servin_compose_wait_condition(struct servin_compose_env *env, const char *service,
                                  enum servin_compose_condition cond, long timeout_ms,
                                  struct servin_error *err);

/* ---- down and the simple verbs (down.c) ---- */

struct servin_compose_down_opts {
    bool volumes;        /* named volumes declared by the project (not external) and anonymous ones */
    const char *rmi;     /* NULL, "local" (images built for services without image:) or "all" */
    bool remove_orphans; /* also containers of services no longer in the model */
    long timeout_s;      /* < 0 = each container's own */
};
int servin_compose_down(struct servin_compose_env *env, const struct servin_compose_down_opts *opts,
                        struct servin_error *err);

/* Stop the containers, dependents before their dependencies: level by level down the depends_on
 * graph, all containers of one level at once (signalled, then waited for); entries with an empty
 * id are skipped. timeout_s < 0: each container's own. */
int servin_compose_stop_containers(struct servin_compose_env *env, struct servin_container *list, size_t n,
                                   long timeout_s, struct servin_error *err);

/* Docker Compose's stop order: dependents before their dependencies (the reverse of start order);
 * containers of services not in the model last. Containers are modified in place. */
void servin_compose_sort_for_stop(const struct servin_compose_project *p, struct servin_container *list,
                                  size_t n);

#endif
