/* util/strbuf.c — a string that grows as text is appended. */
#include "servin/strbuf.h"

#include <string.h>

#include "servin/cleanup.h"

void servin_strbuf_put(struct servin_strbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}
