/* strbuf.h — a string that grows as text is appended (allocation aborts on OOM). */
#ifndef SERVIN_STRBUF_H
#define SERVIN_STRBUF_H

#include <stddef.h>

/* Zero-initialised it is empty with s NULL; once anything (even "") is put, s is NUL-terminated. */
struct servin_strbuf {
    char *s;
    size_t len, cap;
};

/* Append the n bytes at s. */
void servin_strbuf_put(struct servin_strbuf *b, const char *s, size_t n);

#endif
