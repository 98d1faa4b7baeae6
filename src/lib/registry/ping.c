/* registry/ping.c — is a registry there, does it speak v2, and do our stored credentials work. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry_internal.h"
#include "servin/cleanup.h"

void servin_registry_status_free(struct servin_registry_status *st)
{
    free(st->base);
    st->base = NULL;
}

int servin_registry_ping(const char *server, const char *auth_file, struct servin_registry_status *out,
                         struct servin_error *err)
{
    memset(out, 0, sizeof(*out));
    _cleanup_free_ char *key = servin_authfile_key(server);
    struct reg_session *s = reg_session_new(key, NULL, NULL);
    reg_session_load_credentials(s, auth_file);
    out->credentials = s->user != NULL;
    int ret = reg_session_ping(s, err);
    if (ret == 0) {
        out->reachable = true;
        out->base = xstrdup(s->base);
        /* With credentials this runs the registry's whole auth flow; without, a 401 says auth is on. */
        struct reg_req req = {.method = "GET", .url = "/v2/"};
        struct reg_resp resp = {0};
        struct servin_error inner = {0};
        if (reg_request(s, &req, &resp, &inner) == 0) {
            out->status = resp.status;
        } else {
            out->status = 401;
        }
        out->auth_required = out->status == 401 || s->basic || s->have_bearer;
        reg_resp_free(&resp);
    }
    reg_session_free(s);
    if (ret < 0)
        return servin_error_wrap(err, "ping %s", server);
    return 0;
}
