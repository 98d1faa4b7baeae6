/* build.h — `servin build`: an image from a Buildfile (Dockerfile syntax) and a context, with a
 * step cache. The CLI and the Docker API daemon's POST /build both call servin_build(). */
#ifndef SERVIN_BUILD_H
#define SERVIN_BUILD_H

#include <stdbool.h>
#include <stddef.h>

#include "servin/digest.h"
#include "servin/error.h"
#include "servin/store.h"

/* What the build reports as it goes. */
enum servin_build_event {
    SERVIN_BUILD_STEP,    /* a step starts: step, n_steps, stage, text = the instruction */
    SERVIN_BUILD_CACHED,  /* the step was found in the cache */
    SERVIN_BUILD_OUTPUT,  /* output of a RUN step: text (len bytes, not NUL-terminated) */
    SERVIN_BUILD_DONE,    /* the step finished: seconds */
    SERVIN_BUILD_MESSAGE, /* a line from the builder itself ("Successfully tagged x"), text */
    SERVIN_BUILD_WARNING, /* a warning line, text */
};

struct servin_build_progress {
    enum servin_build_event event;
    int step, n_steps; /* 1-based over the steps that will run */
    const char *stage; /* the stage's name or index ("0", "builder") */
    const char *text;
    size_t len;
    double seconds;
};

typedef void (*servin_build_progress_fn)(void *ctx, const struct servin_build_progress *p);

struct servin_build_opts {
    /* The context: a directory, or (when context_dir is NULL) a tar stream read from context_fd
     * (any compression), as Docker's API sends it. */
    const char *context_dir;
    int context_fd;
    /* The Buildfile: a path relative to the context (or absolute, outside it); NULL looks for
     * "Buildfile" and then "Dockerfile" in the context. "-" is not handled here. */
    const char *file;
    const char *const *tags; /* "name[:tag]", n_tags of them */
    size_t n_tags;
    const char *const *build_args; /* "NAME=value", or "NAME" to take it from the environment */
    size_t n_build_args;
    const char *const *labels; /* "key=value" */
    size_t n_labels;
    const char *const *secrets; /* "id=ID,src=PATH" (also "source=", "type=file") */
    size_t n_secrets;
    const char *target;  /* the stage to stop at; NULL: the last one */
    const char *network; /* "none", "host", "bridge" or NULL ("bridge") for RUN steps */
    /* "os/arch[/variant]" to build for, NULL for the host's. Only the host's platform can be built
     * (RUN steps run natively): any other is refused before anything runs. */
    const char *platform;
    bool no_cache;
    bool pull; /* pull every base image again even when present */
    servin_build_progress_fn progress;
    void *progress_ctx;
    /* Set (by a signal handler, another thread) to stop the build before its next step; what the
     * steps made so far is cleaned up and the build fails with ECANCELED. May be NULL. */
    const volatile int *cancel;
};

/* Build and tag the image; id_out gets its id ("sha256:..."). A failing RUN step stops the build
 * with EIO and its exit code in *exit_code (when not NULL; 0 for other failures); nothing it
 * made is left behind. The image id is a function of the inputs: with SOURCE_DATE_EPOCH set in
 * the environment, timestamps are that time, so identical inputs give identical ids. */
int servin_build(struct servin_store *store, const struct servin_build_opts *opts,
                 char id_out[SERVIN_DIGEST_MAX], int *exit_code, struct servin_error *err);

#endif
