/* util/jsonstr.c — JSON values written as plain text. */
#include "servin/jsonstr.h"

#include <stdlib.h>

#include "servin/cleanup.h"

char *servin_json_join_words(const json_t *list)
{
    char *out = xstrdup("");
    size_t i;
    json_t *v;
    json_array_foreach (list, i, v) {
        char *next = xasprintf("%s%s%s", out, i ? " " : "", json_string_value(v));
        free(out);
        out = next;
    }
    return out;
}
