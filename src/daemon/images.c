/* daemon/images.c — /images/...: list, inspect, history, tag, remove, pull, push, save, load, prune. */
#include "daemon.h"

const struct droute daemon_image_routes[] = {
    {NULL, NULL, NULL, 0},
};
