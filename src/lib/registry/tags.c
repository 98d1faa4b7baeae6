/* registry/tags.c — listing a repository's tags (GET /v2/<name>/tags/list, paginated through Link). */
#include <errno.h>
#include <string.h>

#include "registry/registry_internal.h"
#include "servin/cleanup.h"
#include "servin/reference.h"

/* The URL in `Link: </v2/x/tags/list?last=a&n=100>; rel="next"`, or NULL. */
static char *next_link(const char *link)
{
    if (!link || !strstr(link, "rel=\"next\""))
        return NULL;
    const char *lt = strchr(link, '<');
    const char *gt = lt ? strchr(lt, '>') : NULL;
    if (!lt || !gt)
        return NULL;
    return xstrndup(lt + 1, (size_t)(gt - lt - 1));
}

static int list_tags(struct reg_session *s, const char *path, char ***out, struct servin_error *err)
{
    _cleanup_free_ char *scope = xasprintf("repository:%s:pull", path);
    _cleanup_free_ char *url = xasprintf("%s/v2/%s/tags/list", s->base, path);
    char **tags = xcalloc(1, sizeof(char *));
    size_t n = 0;
    /* A server that keeps sending us in a circle must not keep us forever. */
    for (int page = 0; url && page < 1000; page++) {
        struct reg_req req = {
            .method = "GET", .url = url, .scope = scope, .max_body = 16u * 1024 * 1024, .follow = true};
        struct reg_resp resp = {0};
        int ret = reg_request(s, &req, &resp, err);
        if (ret == 0 && resp.status != 200)
            ret = reg_status_error(&resp, err);
        json_t *j = ret == 0 ? json_loadb(resp.body ? resp.body : "", resp.body_len, 0, NULL) : NULL;
        if (ret == 0 && !json_is_object(j))
            ret = servin_error_set(err, EPROTO, "the tag list is not a JSON object");
        if (ret < 0) {
            json_decref(j);
            reg_resp_free(&resp);
            strv_free(tags);
            return ret;
        }
        size_t i;
        json_t *t;
        json_array_foreach (json_object_get(j, "tags"), i, t) {
            if (!json_is_string(t))
                continue;
            tags = xreallocarray(tags, n + 2, sizeof(char *));
            tags[n++] = xstrdup(json_string_value(t));
            tags[n] = NULL;
        }
        json_decref(j);
        char *next = next_link(resp.link);
        char *next_url = next ? reg_absolute_url(s, next) : NULL;
        free(next);
        /* A page pointing at itself would never end. */
        if (next_url && strcmp(next_url, url) == 0) {
            free(next_url);
            next_url = NULL;
        }
        free(url);
        url = next_url;
        reg_resp_free(&resp);
    }
    *out = tags;
    return 0;
}

int servin_registry_list_tags(const char *name, const char *auth_file, char ***tags, struct servin_error *err)
{
    struct servin_ref ref = {0};
    int ret = servin_ref_parse_name(name, &ref, err);
    if (ret < 0)
        return ret;
    struct reg_session *s = reg_session_new(ref.domain, NULL, NULL);
    reg_session_load_credentials(s, auth_file);
    ret = reg_session_ping(s, err);
    if (ret == 0)
        ret = list_tags(s, ref.path, tags, err);
    reg_session_free(s);
    servin_ref_free(&ref);
    if (ret < 0)
        return servin_error_wrap(err, "list tags of %s", name);
    return 0;
}
