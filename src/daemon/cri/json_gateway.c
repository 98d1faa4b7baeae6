/* daemon/cri/json_gateway.c — protobuf messages to and from JSON, driven by the protobuf-c
 * descriptors, for the HTTP/JSON gateway: one generic mapping for every CRI message.
 *
 * It follows the proto3 JSON mapping where curl users would notice: lowerCamelCase names (the
 * proto names are accepted too), enums by name (numbers accepted), maps as objects, bytes as
 * base64, wrapper messages as objects. Replies show every field of the messages they contain,
 * zero values included, and 64-bit numbers as JSON numbers (not strings), which reads better
 * in a terminal. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cri_internal.h"
#include "servin/cleanup.h"

static char *camel(const char *name)
{
    char *out = xstrdup(name), *o = out;
    bool up = false;
    for (const char *p = name; *p; p++) {
        if (*p == '_') {
            up = true;
            continue;
        }
        *o++ = up && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
        up = false;
    }
    *o = '\0';
    return out;
}

static bool is_map_entry(const ProtobufCMessageDescriptor *d)
{
    size_t n = strlen(d->short_name);
    return n > 5 && strcmp(d->short_name + n - 5, "Entry") == 0 && d->n_fields == 2 &&
           strcmp(d->fields[0].name, "key") == 0 && strcmp(d->fields[1].name, "value") == 0;
}

/* ---- base64 ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64_encode(const uint8_t *data, size_t len)
{
    char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (i + 1 < len ? (uint32_t)data[i + 1] << 8 : 0) |
                     (i + 2 < len ? data[i + 2] : 0);
        *o++ = b64[v >> 18 & 63];
        *o++ = b64[v >> 12 & 63];
        *o++ = i + 1 < len ? b64[v >> 6 & 63] : '=';
        *o++ = i + 2 < len ? b64[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

static int base64_decode(struct cri_call *call, const char *s, ProtobufCBinaryData *out)
{
    size_t n = strlen(s);
    uint8_t *buf = cri_alloc(call, n / 4 * 3 + 3);
    size_t len = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (const char *p = s; *p && *p != '='; p++) {
        const char *q = strchr(b64, *p == '-' ? '+' : *p == '_' ? '/' : *p);
        if (!q || !*p)
            return -1;
        acc = acc << 6 | (uint32_t)(q - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[len++] = (uint8_t)(acc >> bits);
        }
    }
    out->data = buf;
    out->len = len;
    return 0;
}

/* ---- message to JSON ---- */

static json_t *message_json(const ProtobufCMessage *msg);

static json_t *value_json(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return json_integer(*(const int64_t *)p);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
        uint64_t v = *(const uint64_t *)p;
        if (v <= (uint64_t)INT64_MAX)
            return json_integer((json_int_t)v);
        char buf[32];
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
        return json_string(buf);
    }
    case PROTOBUF_C_TYPE_FLOAT:
        return json_real(*(const float *)p);
    case PROTOBUF_C_TYPE_DOUBLE:
        return json_real(*(const double *)p);
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
        return ev ? json_string(ev->name) : json_integer(v);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)p;
        return json_string(s ? s : "");
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        _cleanup_free_ char *s = base64_encode(b->data, b->len);
        return json_string(s);
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m = *(const ProtobufCMessage *const *)p;
        return m ? message_json(m) : json_null();
    }
    }
    return json_null();
}

static size_t type_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_MESSAGE:
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    default:
        return 4;
    }
}

static json_t *message_json(const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    json_t *o = json_object();
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)msg + f->offset;
        _cleanup_free_ char *name = camel(f->name);
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)msg + f->quantifier_offset);
            const char *arr = *(const char *const *)base;
            if (f->type == PROTOBUF_C_TYPE_MESSAGE && is_map_entry(f->descriptor)) {
                json_t *map = json_object();
                const ProtobufCMessageDescriptor *ed = f->descriptor;
                for (size_t k = 0; k < n; k++) {
                    const ProtobufCMessage *e = ((ProtobufCMessage *const *)arr)[k];
                    const char *key = *(const char *const *)((const char *)e + ed->fields[0].offset);
                    json_object_set_new(map, key ? key : "",
                                        value_json(&ed->fields[1], (const char *)e + ed->fields[1].offset));
                }
                json_object_set_new(o, name, map);
                continue;
            }
            json_t *a = json_array();
            for (size_t k = 0; k < n; k++)
                json_array_append_new(a, value_json(f, arr + k * type_size(f)));
            json_object_set_new(o, name, a);
            continue;
        }
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && !*(const ProtobufCMessage *const *)base)
            continue; /* an absent sub-message */
        json_object_set_new(o, name, value_json(f, base));
    }
    return o;
}

json_t *cri_message_json(const ProtobufCMessage *msg)
{
    return message_json(msg);
}

char *cri_message_to_json(const ProtobufCMessage *msg)
{
    json_t *o = message_json(msg);
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

/* ---- JSON to message ---- */

struct jctx {
    struct cri_call *call;
    char *why;
    size_t why_len;
};

static int bad(struct jctx *j, const char *path, const char *what)
{
    snprintf(j->why, j->why_len, "%s: %s", *path ? path : "the body", what);
    return -1;
}

static int fill_message(struct jctx *j, const ProtobufCMessageDescriptor *d, json_t *o,
                        ProtobufCMessage **out, const char *path);

static int json_int(json_t *v, json_int_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        char *end;
        errno = 0;
        long long x = strtoll(json_string_value(v), &end, 10);
        if (errno || !*json_string_value(v) || *end)
            return -1;
        *out = x;
        return 0;
    }
    return -1;
}

static int scalar(struct jctx *j, const ProtobufCFieldDescriptor *f, json_t *v, void *p, const char *path)
{
    json_int_t x = 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (json_int(v, &x) < 0 || x < INT32_MIN || x > INT32_MAX)
            return bad(j, path, "expected a 32-bit integer");
        *(int32_t *)p = (int32_t)x;
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (json_int(v, &x) < 0 || x < 0 || x > UINT32_MAX)
            return bad(j, path, "expected an unsigned 32-bit integer");
        *(uint32_t *)p = (uint32_t)x;
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (json_int(v, &x) < 0)
            return bad(j, path, "expected an integer");
        *(int64_t *)p = x;
        return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (json_is_string(v)) {
            char *end;
            errno = 0;
            unsigned long long u = strtoull(json_string_value(v), &end, 10);
            if (errno || *end || !*json_string_value(v) || json_string_value(v)[0] == '-')
                return bad(j, path, "expected an unsigned integer");
            *(uint64_t *)p = u;
            return 0;
        }
        if (json_int(v, &x) < 0 || x < 0)
            return bad(j, path, "expected an unsigned integer");
        *(uint64_t *)p = (uint64_t)x;
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        if (!json_is_number(v))
            return bad(j, path, "expected a number");
        if (f->type == PROTOBUF_C_TYPE_FLOAT)
            *(float *)p = (float)json_number_value(v);
        else
            *(double *)p = json_number_value(v);
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v))
            return bad(j, path, "expected true or false");
        *(protobuf_c_boolean *)p = json_is_true(v);
        return 0;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumValue *ev = NULL;
        if (json_is_string(v))
            ev = protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, json_string_value(v));
        else if (json_is_integer(v))
            ev = protobuf_c_enum_descriptor_get_value(f->descriptor, (int)json_integer_value(v));
        if (!ev)
            return bad(j, path, "not a value of the enum");
        *(int *)p = ev->value;
        return 0;
    }
    case PROTOBUF_C_TYPE_STRING:
        if (!json_is_string(v))
            return bad(j, path, "expected a string");
        *(char **)p = cri_strdup(j->call, json_string_value(v));
        return 0;
    case PROTOBUF_C_TYPE_BYTES:
        if (!json_is_string(v) || base64_decode(j->call, json_string_value(v), p) < 0)
            return bad(j, path, "expected base64 text");
        return 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return fill_message(j, f->descriptor, v, p, path);
    }
    return bad(j, path, "unsupported field type");
}

static const ProtobufCFieldDescriptor *field_named(const ProtobufCMessageDescriptor *d, const char *key)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);
    if (f)
        return f;
    for (unsigned i = 0; i < d->n_fields; i++) {
        _cleanup_free_ char *c = camel(d->fields[i].name);
        if (strcmp(c, key) == 0)
            return &d->fields[i];
    }
    return NULL;
}

static int fill_message(struct jctx *j, const ProtobufCMessageDescriptor *d, json_t *o,
                        ProtobufCMessage **out, const char *path)
{
    if (json_is_null(o)) {
        *out = NULL;
        return 0;
    }
    if (!json_is_object(o))
        return bad(j, path, "expected an object");
    ProtobufCMessage *msg = cri_new(j->call, d);
    const char *key;
    json_t *v;
    json_object_foreach (o, key, v) {
        char sub[512];
        snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key);
        const ProtobufCFieldDescriptor *f = field_named(d, key);
        if (!f)
            return bad(j, sub, "unknown field");
        void *p = (char *)msg + f->offset;
        if (f->label != PROTOBUF_C_LABEL_REPEATED) {
            if (scalar(j, f, v, p, sub) < 0)
                return -1;
            continue;
        }
        size_t *n = (size_t *)((char *)msg + f->quantifier_offset);
        size_t es = type_size(f);
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && is_map_entry(f->descriptor)) {
            if (!json_is_object(v))
                return bad(j, sub, "expected an object (a map)");
            const ProtobufCMessageDescriptor *ed = f->descriptor;
            ProtobufCMessage **arr = cri_alloc(j->call, (json_object_size(v) + 1) * sizeof(void *));
            const char *mk;
            json_t *mv;
            json_object_foreach (v, mk, mv) {
                ProtobufCMessage *e = cri_new(j->call, ed);
                *(char **)((char *)e + ed->fields[0].offset) = cri_strdup(j->call, mk);
                if (scalar(j, &ed->fields[1], mv, (char *)e + ed->fields[1].offset, sub) < 0)
                    return -1;
                arr[(*n)++] = e;
            }
            *(void **)p = arr;
            continue;
        }
        if (!json_is_array(v))
            return bad(j, sub, "expected an array");
        char *arr = cri_alloc(j->call, (json_array_size(v) + 1) * es);
        size_t i;
        json_t *item;
        json_array_foreach (v, i, item) {
            if (scalar(j, f, item, arr + i * es, sub) < 0)
                return -1;
            if (f->type == PROTOBUF_C_TYPE_MESSAGE && !((void **)arr)[i])
                return bad(j, sub, "null in a list");
        }
        *n = json_array_size(v);
        *(void **)p = arr;
    }
    *out = msg;
    return 0;
}

int cri_json_to_message(struct cri_call *call, const ProtobufCMessageDescriptor *desc, const char *text,
                        size_t len, ProtobufCMessage **out, char *why, size_t why_len)
{
    struct jctx j = {call, why, why_len};
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t'))
        i++;
    if (i == len) { /* no body: the empty request */
        *out = cri_new(call, desc);
        return 0;
    }
    json_error_t jerr;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) {
        snprintf(why, why_len, "invalid JSON at line %d: %s", jerr.line, jerr.text);
        return -1;
    }
    int r = fill_message(&j, desc, o, out, "");
    json_decref(o);
    if (r == 0 && !*out)
        *out = cri_new(call, desc);
    return r;
}
