/* image/import.c — `import`: a rootfs tarball becomes a one-layer image. */
#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "servin/archive.h"
#include "servin/cleanup.h"
#include "servin/timefmt.h"
#include "servin/content.h"
#include "servin/fs.h"
#include "servin/image.h"
#include "servin/reference.h"
#include "servin/unpack.h"

void servin_archive_host_platform(const char **os, const char **arch, const char **variant)
{
    static struct utsname u;
    static const char *host_arch, *host_variant;
    if (!host_arch) {
        uname(&u);
        /* Go's names for the machine, as image configs and indexes use them. */
        static const struct {
            const char *machine, *arch, *variant;
        } map[] = {{"x86_64", "amd64", NULL},    {"aarch64", "arm64", NULL}, {"armv7l", "arm", "v7"},
                   {"armv6l", "arm", "v6"},      {"i686", "386", NULL},      {"i386", "386", NULL},
                   {"ppc64le", "ppc64le", NULL}, {"s390x", "s390x", NULL},   {"riscv64", "riscv64", NULL}};
        host_arch = u.machine;
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
            if (strcmp(u.machine, map[i].machine) == 0) {
                host_arch = map[i].arch;
                host_variant = map[i].variant;
            }
        }
    }
    *os = "linux";
    *arch = host_arch;
    if (variant)
        *variant = host_variant;
}

struct platform {
    char *os, *arch, *variant;
};

static void platform_free(struct platform *p)
{
    free(p->os);
    free(p->arch);
    free(p->variant);
}

static int parse_platform(const char *text, struct platform *p, struct servin_error *err)
{
    if (!text || !*text) {
        const char *os, *arch, *variant;
        servin_archive_host_platform(&os, &arch, &variant);
        p->os = xstrdup(os);
        p->arch = xstrdup(arch);
        p->variant = variant ? xstrdup(variant) : NULL;
        return 0;
    }
    _cleanup_free_ char *copy = xstrdup(text);
    char *os = copy, *arch = strchr(copy, '/'), *variant = NULL;
    if (arch) {
        *arch++ = '\0';
        variant = strchr(arch, '/');
        if (variant)
            *variant++ = '\0';
    }
    if (!arch || !*arch || (variant && (!*variant || strchr(variant, '/'))))
        return servin_error_set(err, EINVAL, "invalid platform \"%s\": expected os/arch[/variant]", text);
    if (strcmp(os, "linux") != 0)
        return servin_error_set(err, EINVAL, "unsupported platform \"%s\": only linux images can be imported",
                                text);
    if (strcmp(arch, "x86_64") == 0)
        arch = "amd64";
    else if (strcmp(arch, "aarch64") == 0)
        arch = "arm64";
    p->os = xstrdup(os);
    p->arch = xstrdup(arch);
    p->variant = variant ? xstrdup(variant) : NULL;
    return 0;
}

/* libarchive's write side hands the gzip stream to the content writer through this. */
struct gz_sink {
    struct servin_content_writer *w;
    struct servin_error *err;
    bool failed;
};

static la_ssize_t gz_sink_write(struct archive *a, void *data, const void *buf, size_t len)
{
    struct gz_sink *sink = data;
    if (servin_content_writer_write(sink->w, buf, len, sink->err) < 0) {
        sink->failed = true;
        archive_set_error(a, EIO, "%s", sink->err->msg);
        return -1;
    }
    return (la_ssize_t)len;
}

/* Read the tarball (any compression), hash its uncompressed bytes for the diff_id and store it
 * gzip-compressed as a layer blob. */
int servin_image_store_layer(struct servin_store *store, int fd, char blob[SERVIN_DIGEST_MAX], uint64_t *blob_size,
                             char diff_id[SERVIN_DIGEST_MAX], struct servin_error *err)
{
    struct servin_content_writer *w = NULL;
    int ret = servin_content_writer_open(store, NULL, &w, NULL, err);
    if (ret < 0)
        return ret;

    struct gz_sink sink = {.w = w, .err = err};
    struct archive *in = archive_read_new();
    struct archive *out = archive_write_new();
    struct servin_sha256 *hash = servin_sha256_new();
    struct archive_entry *entry = NULL, *raw = archive_entry_new();
    uint64_t total = 0;
    ret = -EIO;

    archive_read_support_filter_all(in);
    archive_read_support_format_raw(in);
    archive_read_support_format_empty(in);
    archive_write_add_filter_gzip(out);
    archive_write_set_format_raw(out);
    /* No blocking: padding after the gzip stream would be trailing garbage to strict readers. */
    archive_write_set_bytes_per_block(out, 0);
    archive_write_set_bytes_in_last_block(out, 1);
    archive_entry_set_filetype(raw, AE_IFREG);
    archive_entry_set_pathname(raw, "layer.tar");

    if (archive_read_open_fd(in, fd, 64 * 1024) != ARCHIVE_OK) {
        servin_error_set(err, EINVAL, "cannot read the tarball: %s", archive_error_string(in));
        goto out;
    }
    int r = archive_read_next_header(in, &entry);
    if (r == ARCHIVE_EOF) {
        servin_error_set(err, EINVAL, "the tarball is empty");
        goto out;
    }
    if (r != ARCHIVE_OK) {
        servin_error_set(err, EINVAL, "cannot read the tarball: %s", archive_error_string(in));
        goto out;
    }
    if (archive_write_open(out, &sink, NULL, gz_sink_write, NULL) != ARCHIVE_OK ||
        archive_write_header(out, raw) != ARCHIVE_OK) {
        if (!sink.failed)
            servin_error_set(err, EIO, "cannot compress the layer: %s", archive_error_string(out));
        goto out;
    }
    for (;;) {
        const void *buf;
        size_t len;
        la_int64_t off;
        r = archive_read_data_block(in, &buf, &len, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK) {
            servin_error_set(err, EINVAL, "the tarball is truncated or corrupt: %s",
                             archive_error_string(in));
            goto out;
        }
        servin_sha256_update(hash, buf, len);
        total += len;
        if (archive_write_data(out, buf, len) < 0) {
            if (!sink.failed)
                servin_error_set(err, EIO, "cannot compress the layer: %s", archive_error_string(out));
            goto out;
        }
    }
    if (total == 0) {
        servin_error_set(err, EINVAL, "the tarball is empty");
        goto out;
    }
    if (archive_write_close(out) != ARCHIVE_OK) {
        if (!sink.failed)
            servin_error_set(err, EIO, "cannot compress the layer: %s", archive_error_string(out));
        goto out;
    }
    servin_sha256_finish(hash, diff_id);
    hash = NULL;
    *blob_size = servin_content_writer_size(w);
    ret = servin_content_writer_commit(steal_pointer(&w), 0, blob, err);
out:
    if (hash)
        servin_sha256_free(hash);
    if (w)
        servin_content_writer_close(w);
    archive_entry_free(raw);
    archive_write_free(out);
    archive_read_free(in);
    return ret;
}

static char *now_rfc3339(void)
{
    char buf[SERVIN_RFC3339_MAX];
    servin_time_format_rfc3339(servin_time_now_ns(), buf);
    return xstrdup(buf);
}

static int put_json(struct servin_store *store, json_t *obj, char digest[SERVIN_DIGEST_MAX], uint64_t *size,
                    struct servin_error *err)
{
    _cleanup_free_ char *text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return servin_error_set(err, ENOMEM, "cannot serialise JSON");
    *size = strlen(text);
    return servin_content_put(store, text, *size, NULL, digest, err);
}

/* Everything that can be refused is checked before anything is written. */
static int prepare(const struct servin_import_opts *opts, json_t **config_out, struct platform *plat,
                   char **tag_out, struct servin_error *err)
{
    if (opts->tag) {
        struct servin_ref ref = {0};
        int ret = servin_ref_parse(opts->tag, &ref, err);
        if (ret < 0)
            return servin_error_wrap(err, "invalid reference \"%s\"", opts->tag);
        if (ref.digest) {
            servin_ref_free(&ref);
            return servin_error_set(err, EINVAL, "invalid reference \"%s\": cannot import to a digest",
                                    opts->tag);
        }
        *tag_out = servin_ref_string(&ref);
        servin_ref_free(&ref);
    }
    json_t *cfg = json_object();
    for (size_t i = 0; i < opts->n_changes; i++) {
        int ret = servin_config_apply_change(cfg, opts->changes[i], err);
        if (ret < 0) {
            json_decref(cfg);
            return ret;
        }
    }
    int ret = parse_platform(opts->platform, plat, err);
    if (ret < 0) {
        json_decref(cfg);
        return ret;
    }
    *config_out = cfg;
    return 0;
}

static int import_locked(struct servin_store *store, int fd, json_t *cfg, const struct platform *plat,
                         const char *message, const char *tag, char id_out[SERVIN_DIGEST_MAX],
                         struct servin_error *err)
{
    struct servin_layer_desc layer = {.blob_media_type = SERVIN_MT_OCI_LAYER_GZIP};
    char diff_id[SERVIN_DIGEST_MAX];
    int ret = servin_image_store_layer(store, fd, layer.blob_digest, &layer.blob_size, diff_id, err);
    if (ret < 0)
        return ret;
    ret = servin_layer_unpack(store, layer.blob_digest, NULL, diff_id, layer.diff_id, layer.chain_id,
                              &layer.size, err);
    if (ret < 0)
        return servin_error_wrap(err, "unpack the tarball");

    _cleanup_free_ char *created = now_rfc3339();
    json_t *history = json_pack("{s:s,s:s}", "created", created, "created_by", "import");
    if (message && *message)
        json_object_set_new(history, "comment", json_string(message));
    json_t *config = json_pack("{s:s,s:s,s:s,s:O,s:{s:s,s:[s]},s:[o]}", "created", created, "architecture",
                               plat->arch, "os", plat->os, "config", cfg, "rootfs", "type", "layers",
                               "diff_ids", layer.diff_id, "history", history);
    if (plat->variant)
        json_object_set_new(config, "variant", json_string(plat->variant));
    if (message && *message)
        json_object_set_new(config, "comment", json_string(message));
    char config_digest[SERVIN_DIGEST_MAX], manifest_digest[SERVIN_DIGEST_MAX];
    uint64_t config_size = 0, manifest_size = 0;
    ret = put_json(store, config, config_digest, &config_size, err);
    json_decref(config);
    if (ret < 0)
        return servin_error_wrap(err, "store the image config");

    json_t *manifest =
        json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:[{s:s,s:s,s:I}]}", "schemaVersion", 2, "mediaType",
                  SERVIN_MT_OCI_MANIFEST, "config", "mediaType", SERVIN_MT_OCI_CONFIG, "digest",
                  config_digest, "size", (json_int_t)config_size, "layers", "mediaType",
                  SERVIN_MT_OCI_LAYER_GZIP, "digest", layer.blob_digest, "size", (json_int_t)layer.blob_size);
    ret = put_json(store, manifest, manifest_digest, &manifest_size, err);
    json_decref(manifest);
    if (ret < 0)
        return servin_error_wrap(err, "store the image manifest");

    struct servin_image_record rec = {
        .manifest_media_type = SERVIN_MT_OCI_MANIFEST, .n_layers = 1, .layers = &layer, .tag = tag};
    memcpy(rec.config_digest, config_digest, sizeof(rec.config_digest));
    memcpy(rec.manifest_digest, manifest_digest, sizeof(rec.manifest_digest));
    ret = servin_image_register(store, &rec, err);
    if (ret < 0)
        return ret;
    memcpy(id_out, config_digest, SERVIN_DIGEST_MAX);
    return 0;
}

int servin_image_import_fd(struct servin_store *store, int fd, const struct servin_import_opts *opts,
                           char id_out[SERVIN_DIGEST_MAX], struct servin_error *err)
{
    _cleanup_free_ char *tag = NULL;
    struct platform plat = {0};
    json_t *cfg = NULL;
    int ret = prepare(opts, &cfg, &plat, &tag, err);
    if (ret < 0)
        return ret;

    /* Shared "gc" lock: a concurrent GC must not collect the blob before the image names it. */
    _cleanup_close_ int lock = -1;
    ret = servin_store_lock(store, "gc", SERVIN_LOCK_SHARED, &lock, err);
    if (ret >= 0)
        ret = import_locked(store, fd, cfg, &plat, opts->message, tag, id_out, err);
    json_decref(cfg);
    platform_free(&plat);
    return ret;
}

static size_t curl_to_fd(char *data, size_t size, size_t nmemb, void *userdata)
{
    int fd = *(int *)userdata;
    size_t len = size * nmemb, done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 0;
        done += (size_t)w;
    }
    return len;
}

static int download(struct servin_store *store, const char *url, int *fd_out, struct servin_error *err)
{
    _cleanup_free_ char *dir = servin_store_path(store, "tmp");
    int ret = servin_mkdir_p(dir, 0700, err);
    if (ret < 0)
        return ret;
    _cleanup_close_ int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return servin_error_errno(err, errno, "create a temp file in %s", dir);

    CURL *curl = curl_easy_init();
    if (!curl)
        return servin_error_set(err, ENOMEM, "cannot start the download of %s", url);
    char curl_err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, curl_to_fd);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &fd);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
    CURLcode rc = curl_easy_perform(curl);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK)
        return servin_error_set(err, EIO, "download %s: %s", url,
                                curl_err[0] ? curl_err : curl_easy_strerror(rc));
    if (lseek(fd, 0, SEEK_SET) < 0)
        return servin_error_errno(err, errno, "rewind the download of %s", url);
    *fd_out = steal_fd(&fd);
    return 0;
}

int servin_image_import_url(struct servin_store *store, const char *url,
                            const struct servin_import_opts *opts, char id_out[SERVIN_DIGEST_MAX],
                            struct servin_error *err)
{
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return servin_error_set(err, EINVAL, "unsupported URL %s: only http and https are supported", url);
    /* Check the options before spending time on the download. */
    _cleanup_free_ char *tag = NULL;
    struct platform plat = {0};
    json_t *cfg = NULL;
    int ret = prepare(opts, &cfg, &plat, &tag, err);
    if (ret < 0)
        return ret;
    json_decref(cfg);
    platform_free(&plat);

    _cleanup_close_ int fd = -1;
    ret = download(store, url, &fd, err);
    if (ret < 0)
        return ret;
    return servin_image_import_fd(store, fd, opts, id_out, err);
}
