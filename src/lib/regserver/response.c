/* regserver/response.c — answers in the distribution spec's shape: headers, JSON and its error codes. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "regserver/regserver_internal.h"
#include "servin/cleanup.h"
#include "servin/log.h"

/* The spec's error codes and the status each is answered with. */
static const struct {
    const char *code;
    unsigned status;
} error_codes[] = {
    {"BLOB_UNKNOWN", MHD_HTTP_NOT_FOUND},
    {"BLOB_UPLOAD_INVALID", MHD_HTTP_BAD_REQUEST},
    {"BLOB_UPLOAD_UNKNOWN", MHD_HTTP_NOT_FOUND},
    {"DIGEST_INVALID", MHD_HTTP_BAD_REQUEST},
    {"MANIFEST_BLOB_UNKNOWN", MHD_HTTP_BAD_REQUEST},
    {"MANIFEST_INVALID", MHD_HTTP_BAD_REQUEST},
    {"MANIFEST_UNKNOWN", MHD_HTTP_NOT_FOUND},
    {"NAME_INVALID", MHD_HTTP_BAD_REQUEST},
    {"NAME_UNKNOWN", MHD_HTTP_NOT_FOUND},
    {"SIZE_INVALID", MHD_HTTP_BAD_REQUEST},
    {"UNAUTHORIZED", MHD_HTTP_UNAUTHORIZED},
    {"DENIED", MHD_HTTP_FORBIDDEN},
    {"UNSUPPORTED", MHD_HTTP_METHOD_NOT_ALLOWED},
    {"TOOMANYREQUESTS", MHD_HTTP_TOO_MANY_REQUESTS},
    {"PAGINATION_NUMBER_INVALID", MHD_HTTP_BAD_REQUEST},
    /* not spec codes, but what distribution answers with */
    {"RANGE_INVALID", MHD_HTTP_RANGE_NOT_SATISFIABLE},
    {"MANIFEST_TOO_LARGE", MHD_HTTP_CONTENT_TOO_LARGE},
    {"UNKNOWN", MHD_HTTP_INTERNAL_SERVER_ERROR},
};

const char *rs_arg(struct rs_req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *rs_header(struct rs_req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, key);
}

int rs_respond(struct rs_req *r, unsigned status, struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Docker-Distribution-API-Version", "registry/2.0");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"servin-registry\"");
    enum MHD_Result ok = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    r->status = status;
    r->responded = true;
    return ok == MHD_YES ? 0 : -EIO;
}

static void add_headers(struct MHD_Response *resp, const char *const *headers)
{
    for (; headers && headers[0]; headers += 2)
        MHD_add_response_header(resp, headers[0], headers[1]);
}

int rs_respond_empty(struct rs_req *r, unsigned status, const char *const *headers)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    add_headers(resp, headers);
    return rs_respond(r, status, resp);
}

int rs_respond_json(struct rs_req *r, unsigned status, json_t *body, const char *content_type,
                    const char *const *headers)
{
    char *text = json_dumps(body, JSON_COMPACT);
    size_t len = text ? strlen(text) : 0;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, text ? text : (void *)"", text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            content_type ? content_type : "application/json");
    add_headers(resp, headers);
    r->bytes = len;
    return rs_respond(r, status, resp);
}

int rs_respond_error(struct rs_req *r, const char *code, const char *fmt, ...)
{
    unsigned status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    for (size_t i = 0; i < sizeof(error_codes) / sizeof(error_codes[0]); i++)
        if (strcmp(error_codes[i].code, code) == 0)
            status = error_codes[i].status;
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    /* Our private codes map to the spec's nearest one in the body; the status says the rest. */
    const char *wire = strcmp(code, "RANGE_INVALID") == 0        ? "BLOB_UPLOAD_INVALID"
                       : strcmp(code, "MANIFEST_TOO_LARGE") == 0 ? "SIZE_INVALID"
                                                                 : code;
    json_t *body = json_pack("{s:[{s:s,s:s,s:{}}]}", "errors", "code", wire, "message", msg, "detail");
    int ret = rs_respond_json(r, status, body, "application/json", NULL);
    json_decref(body);
    return ret;
}

int rs_respond_internal(struct rs_req *r, const struct servin_error *err)
{
    log_error("registry: %s %s: %s", r->method, r->path, err->msg);
    return rs_respond_error(r, "UNKNOWN", "%s", err->msg);
}
