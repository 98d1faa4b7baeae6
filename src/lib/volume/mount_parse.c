/* volume/mount_parse.c — Docker's --mount text into an API Mounts entry. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "servin/cleanup.h"
#include "volume/volume_internal.h"

static json_t *sub(json_t *obj, const char *key)
{
    json_t *o = json_object_get(obj, key);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(obj, key, o);
    }
    return o;
}

static int parse_bool(const char *v, bool *out)
{
    if (!v || strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0) {
        *out = true;
        return 0;
    }
    if (strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0) {
        *out = false;
        return 0;
    }
    return -1;
}

/* "k=v" into obj[k] = v; the value may itself hold '='. */
static int add_pair(json_t *obj, const char *text)
{
    const char *eq = strchr(text, '=');
    if (!eq || eq == text)
        return -1;
    _cleanup_free_ char *k = xstrndup(text, (size_t)(eq - text));
    json_object_set_new(obj, k, json_string(eq + 1));
    return 0;
}

static int one_field(json_t *m, const char *field, const char *text, struct servin_error *err)
{
    const char *eq = strchr(field, '=');
    _cleanup_free_ char *key = eq ? xstrndup(field, (size_t)(eq - field)) : xstrdup(field);
    const char *val = eq ? eq + 1 : NULL;
    bool b;
    if (strcmp(key, "readonly") == 0 || strcmp(key, "ro") == 0) {
        if (parse_bool(val, &b) < 0)
            return servin_error_set(
                err, EINVAL, "invalid mount \"%s\": readonly takes true or false, not \"%s\"", text, val);
        json_object_set_new(m, "ReadOnly", json_boolean(b));
        return 0;
    }
    if (strcmp(key, "volume-nocopy") == 0) {
        if (parse_bool(val, &b) < 0)
            return servin_error_set(err, EINVAL, "invalid mount \"%s\": volume-nocopy takes true or false",
                                    text);
        json_object_set_new(sub(m, "VolumeOptions"), "NoCopy", json_boolean(b));
        return 0;
    }
    if (!val)
        return servin_error_set(err, EINVAL, "invalid mount \"%s\": field \"%s\" must be a key=value pair",
                                text, field);
    if (strcmp(key, "type") == 0)
        json_object_set_new(m, "Type", json_string(val));
    else if (strcmp(key, "source") == 0 || strcmp(key, "src") == 0)
        json_object_set_new(m, "Source", json_string(val));
    else if (strcmp(key, "target") == 0 || strcmp(key, "destination") == 0 || strcmp(key, "dst") == 0)
        json_object_set_new(m, "Target", json_string(val));
    else if (strcmp(key, "bind-propagation") == 0)
        json_object_set_new(sub(m, "BindOptions"), "Propagation", json_string(val));
    else if (strcmp(key, "bind-create-src") == 0) /* our own: create a missing bind source as -v does */
        json_object_set_new(sub(m, "BindOptions"), "CreateMountpoint", json_true());
    else if (strcmp(key, "volume-driver") == 0)
        json_object_set_new(sub(sub(m, "VolumeOptions"), "DriverConfig"), "Name", json_string(val));
    else if (strcmp(key, "volume-opt") == 0) {
        if (add_pair(sub(sub(sub(m, "VolumeOptions"), "DriverConfig"), "Options"), val) < 0)
            return servin_error_set(err, EINVAL, "invalid mount \"%s\": volume-opt takes key=value", text);
    } else if (strcmp(key, "volume-label") == 0) {
        if (add_pair(sub(sub(m, "VolumeOptions"), "Labels"), val) < 0)
            return servin_error_set(err, EINVAL, "invalid mount \"%s\": volume-label takes key=value", text);
    } else if (strcmp(key, "tmpfs-size") == 0) {
        int64_t size;
        if (servin_parse_bytes(val, &size, err) < 0 || size <= 0)
            return servin_error_set(err, EINVAL, "invalid mount \"%s\": tmpfs-size \"%s\" is not a size",
                                    text, val);
        json_object_set_new(sub(m, "TmpfsOptions"), "SizeBytes", json_integer(size));
    } else if (strcmp(key, "tmpfs-mode") == 0) {
        char *end = NULL;
        long mode = strtol(val, &end, 8);
        if (!*val || *end || mode < 0 || mode > 07777)
            return servin_error_set(
                err, EINVAL, "invalid mount \"%s\": tmpfs-mode \"%s\" is not an octal mode", text, val);
        json_object_set_new(sub(m, "TmpfsOptions"), "Mode", json_integer(mode));
    } else if (strcmp(key, "consistency") == 0)
        ; /* a macOS setting: nothing to do on Linux */
    else
        return servin_error_set(err, EINVAL, "invalid mount \"%s\": unknown field \"%s\"", text, key);
    return 0;
}

int servin_volume_parse_mount(const char *text, json_t **out, struct servin_error *err)
{
    *out = NULL;
    json_t *m = json_object();
    _cleanup_free_ char *copy = xstrdup(text);
    int ret = 0;
    for (char *save = NULL, *f = strtok_r(copy, ",", &save); f && ret == 0; f = strtok_r(NULL, ",", &save))
        ret = one_field(m, f, text, err);
    const char *type = json_string_value(json_object_get(m, "Type"));
    if (ret == 0 && !type)
        json_object_set_new(m, "Type", json_string(type = "volume"));
    if (ret == 0 && strcmp(type, "volume") != 0 && strcmp(type, "bind") != 0 && strcmp(type, "tmpfs") != 0)
        ret = servin_error_set(err, EINVAL, "invalid mount \"%s\": type \"%s\" is not volume, bind or tmpfs",
                               text, type);
    if (ret == 0 && !json_string_value(json_object_get(m, "Target")))
        ret = servin_error_set(err, EINVAL, "invalid mount \"%s\": target is required", text);
    if (ret == 0 && strcmp(type, "bind") == 0 && !json_string_value(json_object_get(m, "Source")))
        ret = servin_error_set(err, EINVAL, "invalid mount \"%s\": a bind mount needs a source", text);
    if (ret == 0 && strcmp(type, "tmpfs") == 0 && json_string_value(json_object_get(m, "Source")))
        ret = servin_error_set(err, EINVAL, "invalid mount \"%s\": a tmpfs mount takes no source", text);
    const char *const foreign[][2] = {
        {"bind", "BindOptions"}, {"volume", "VolumeOptions"}, {"tmpfs", "TmpfsOptions"}};
    for (size_t i = 0; ret == 0 && i < sizeof(foreign) / sizeof(foreign[0]); i++)
        if (strcmp(type, foreign[i][0]) != 0 && json_object_get(m, foreign[i][1]))
            ret = servin_error_set(err, EINVAL, "invalid mount \"%s\": %s options need type=%s", text,
                                   foreign[i][0], foreign[i][0]);
    if (ret < 0) {
        json_decref(m);
        return ret;
    }
    *out = m;
    return 0;
}
