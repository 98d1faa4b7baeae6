/* util/dl_lazy.c — the lookup behind dl_stubs.S: the libraries of util/dl_symbols.h opened at first use.
 *
 * servin_dl_ptrs holds one function pointer per line of util/dl_symbols.h, in that order; the
 * stubs jump through it, and call servin_dl_resolve(index) while a slot is empty. A library that
 * cannot be loaded ends the command with one line (there is no error path in the library's own
 * calls that could carry it). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

enum { DL_CURL, DL_ARCHIVE, DL_MHD, DL_GNUTLS, DL_CRYPTO, DL_YAML, DL_CRYPT, DL_NGHTTP2, DL_PROTOBUF_C, DL_NLIBS };

/* The sonames the build links against (Debian 12). */
static const char *const dl_sonames[DL_NLIBS] = {
    [DL_CURL] = "libcurl.so.4",      [DL_ARCHIVE] = "libarchive.so.13", [DL_MHD] = "libmicrohttpd.so.12",
    [DL_GNUTLS] = "libgnutls.so.30", [DL_CRYPTO] = "libcrypto.so.3",    [DL_YAML] = "libyaml-0.so.2",
    [DL_CRYPT] = "libcrypt.so.1",    [DL_NGHTTP2] = "libnghttp2.so.14", [DL_PROTOBUF_C] = "libprotobuf-c.so.1",
};

static const struct {
    unsigned char lib;
    const char *name;
} dl_syms[] = {
#define DL_SYM(lib, name) {lib, #name},
#include "util/dl_symbols.h"
#undef DL_SYM
};

#define DL_NSYMS (sizeof(dl_syms) / sizeof(dl_syms[0]))

__attribute__((visibility("hidden"))) void *servin_dl_ptrs[DL_NSYMS];
__attribute__((visibility("hidden"))) void *servin_dl_resolve(unsigned idx);

void *servin_dl_resolve(unsigned idx)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static void *handles[DL_NLIBS];
    if (idx >= DL_NSYMS)
        _exit(125);
    pthread_mutex_lock(&lock);
    unsigned lib = dl_syms[idx].lib;
    if (!handles[lib])
        handles[lib] = dlopen(dl_sonames[lib], RTLD_NOW | RTLD_LOCAL);
    void *fn = handles[lib] ? dlsym(handles[lib], dl_syms[idx].name) : NULL;
    if (!fn) {
        const char *why = dlerror();
        fprintf(stderr, "servin: cannot load %s from %s: %s\n", dl_syms[idx].name, dl_sonames[lib],
                why ? why : "not found");
        fflush(stderr);
        _exit(125);
    }
    __atomic_store_n(&servin_dl_ptrs[idx], fn, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&lock);
    return fn;
}
