/* daemon/containers.c — /containers/...: create, lifecycle, list, inspect, logs, top, changes, export. */
#include "daemon.h"

const struct droute daemon_container_routes[] = {
    {NULL, NULL, NULL, 0},
};
