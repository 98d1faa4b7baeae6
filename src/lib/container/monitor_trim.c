/* container/monitor_trim.c — keep an idle monitor's resident set small.
 *
 * Starting a container runs much code (the runtime core, jansson, libseccomp, the C library) that
 * an idle monitor never runs again, and the kernel maps code pages around each fault (fault-around,
 * 64 KiB), so a monitor ends up with ~2 MiB of shared-library code in its page tables although
 * its poll loop touches a few pages. After a start (and after each health probe) we drop those
 * mappings: madvise(MADV_DONTNEED) on file-backed mappings that are not writable and hold no
 * private (copy-on-write) page, i.e. whose content is exactly the file's. The pages stay in the
 * page cache, shared with every other process; a page the monitor needs again is mapped back on
 * its next touch. Mappings with private pages (relocated RELRO data, .data) are left alone: there
 * MADV_DONTNEED would bring back the file's unrelocated bytes. The heap's free memory goes back
 * with malloc_trim. */
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "container/monitor_internal.h"

#define TRIM_MAX_RANGES 128

struct range {
    unsigned long start, end;
};

void mon_trim_memory(void)
{
    malloc_trim(0);
    struct range ranges[TRIM_MAX_RANGES];
    size_t n = 0;
    FILE *f = fopen("/proc/self/smaps", "re");
    if (!f)
        return;
    char line[512];
    unsigned long start = 0, end = 0, ino = 0;
    char perms[8] = "";
    bool candidate = false;
    long rss = -1, anon = -1;
    for (;;) {
        bool more = fgets(line, sizeof(line), f) != NULL;
        unsigned long s, e;
        char p[8];
        bool header = more && sscanf(line, "%lx-%lx %7s %*s %*s %lu", &s, &e, p, &ino) == 4;
        if (!more || header) {
            /* The previous mapping is complete. */
            if (candidate && rss > 0 && anon == 0 && n < TRIM_MAX_RANGES)
                ranges[n++] = (struct range){start, end};
            if (!more)
                break;
            start = s, end = e;
            memcpy(perms, p, sizeof(perms));
            candidate = ino != 0 && perms[0] == 'r' && perms[1] != 'w' && perms[3] == 'p';
            rss = anon = -1;
            continue;
        }
        long kb;
        if (sscanf(line, "Rss: %ld kB", &kb) == 1)
            rss = kb;
        else if (sscanf(line, "Anonymous: %ld kB", &kb) == 1)
            anon = kb;
        /* Lines longer than the buffer (a long path) continue here and match nothing. */
    }
    fclose(f);
    for (size_t i = 0; i < n; i++)
        madvise((void *)ranges[i].start, ranges[i].end - ranges[i].start, MADV_DONTNEED);
}
