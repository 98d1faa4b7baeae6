/* daemon/util.c — small helpers the resource groups share: writes, stdcopy frames, times, filters. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/timefmt.h"

int daemon_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == ENOTSOCK)
            n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int daemon_write_frame(FILE *out, int stream, const char *buf, size_t len)
{
    unsigned char hdr[8] = {(unsigned char)stream,
                            0,
                            0,
                            0,
                            (unsigned char)(len >> 24),
                            (unsigned char)(len >> 16),
                            (unsigned char)(len >> 8),
                            (unsigned char)len};
    if (fwrite(hdr, 1, 8, out) != 8 || (len && fwrite(buf, 1, len, out) != len))
        return -1;
    return fflush(out) == 0 ? 0 : -1;
}

json_t *daemon_time_json(int64_t unix_ns)
{
    if (!unix_ns)
        return json_string("0001-01-01T00:00:00Z");
    char buf[SERVIN_RFC3339_MAX];
    servin_time_format_rfc3339(unix_ns, buf);
    return json_string(buf);
}

int daemon_parse_filters(const char *text, json_t **out, struct servin_error *err)
{
    *out = json_object();
    if (!text || !*text)
        return 0;
    json_error_t jerr;
    json_t *in = json_loads(text, 0, &jerr);
    if (!json_is_object(in)) {
        json_decref(in);
        json_decref(*out);
        *out = NULL;
        return servin_error_set(err, EINVAL, "invalid filters: %s", text);
    }
    const char *key;
    json_t *v;
    json_object_foreach (in, key, v) {
        json_t *list = json_array();
        if (json_is_array(v)) {
            size_t i;
            json_t *s;
            json_array_foreach (v, i, s)
                if (json_is_string(s))
                    json_array_append(list, s);
        } else if (json_is_object(v)) {
            const char *k;
            json_t *b;
            json_object_foreach (v, k, b)
                if (json_is_true(b))
                    json_array_append_new(list, json_string(k));
        } else {
            /* The key belongs to in: say it before releasing in. */
            int ret = servin_error_set(err, EINVAL, "invalid filter '%s'", key);
            json_decref(list);
            json_decref(in);
            json_decref(*out);
            *out = NULL;
            return ret;
        }
        json_object_set_new(*out, key, list);
    }
    json_decref(in);
    return 0;
}

int dreq_container(struct dreq *r, const char *text, struct servin_container *c, struct servin_store **store)
{
    struct servin_error err = {0};
    struct servin_store *s = dreq_store(r, &err);
    if (store)
        *store = s;
    if (!s)
        return dreply_servin_error(r, &err), -1;
    if (servin_container_get(s, text, c, &err) < 0) {
        if (err.code == ENOENT)
            return dreply_error(r, 404, "No such container: %s", text), -1;
        return dreply_servin_error(r, &err), -1;
    }
    return 0;
}

/* label=k or label=k=v against a {"k": "v"} object. */
bool daemon_label_matches(json_t *labels, const char *want)
{
    const char *eq = strchr(want, '=');
    _cleanup_free_ char *key = eq ? xstrndup(want, (size_t)(eq - want)) : xstrdup(want);
    json_t *have = json_object_get(labels, key);
    if (!have)
        return false;
    return !eq || (json_string_value(have) && strcmp(json_string_value(have), eq + 1) == 0);
}

/* Every filter key is one of known; else a 400 naming it (answered here, before filters goes). */
int daemon_check_filter_keys(struct dreq *r, json_t *filters, const char *const *known)
{
    const char *key;
    json_t *vals;
    json_object_foreach (filters, key, vals) {
        bool ok = false;
        for (const char *const *k = known; *k; k++)
            ok = ok || strcmp(key, *k) == 0;
        if (!ok)
            return dreply_error(r, 400, "invalid filter '%s'", key), -1;
    }
    return 0;
}

bool daemon_filters_pass(json_t *filters, bool (*match)(const char *key, const char *want, void *ctx),
                         void *ctx)
{
    const char *key;
    json_t *vals;
    json_object_foreach (filters, key, vals) {
        /* Docker ORs the values of one key, except labels: every label given must match. */
        bool every_label = strcmp(key, "label") == 0;
        bool any = json_array_size(vals) == 0 || every_label;
        size_t i;
        json_t *v;
        json_array_foreach (vals, i, v) {
            bool m = match(key, json_string_value(v), ctx);
            any = every_label ? any && m : any || m;
        }
        if (!any)
            return false;
    }
    return true;
}
