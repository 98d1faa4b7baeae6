/* cleanup.h — scope-bound release of resources, and allocation that aborts on OOM. */
#ifndef SERVIN_CLEANUP_H
#define SERVIN_CLEANUP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Multiply with overflow check before allocating an array. */
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap);

void cleanup_freep(void *p);
void cleanup_closep(int *fd);
void cleanup_fclosep(FILE **f);
void cleanup_strvp(char ***v);
void strv_free(char **v);

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(cleanup_freep)
#define _cleanup_close_ _cleanup_(cleanup_closep)
#define _cleanup_fclose_ _cleanup_(cleanup_fclosep)
#define _cleanup_strv_ _cleanup_(cleanup_strvp)

/* Hand a resource out of a cleanup-scoped variable. */
#define steal_pointer(pp)                                                                          \
    ({                                                                                             \
        __typeof__(*(pp)) _tmp = *(pp);                                                            \
        *(pp) = NULL;                                                                              \
        _tmp;                                                                                      \
    })
#define steal_fd(fdp)                                                                              \
    ({                                                                                             \
        int _fd = *(fdp);                                                                          \
        *(fdp) = -1;                                                                               \
        _fd;                                                                                       \
    })

#endif
