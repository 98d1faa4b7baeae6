/* build/copy_step.c — COPY and ADD as steps: flags, sources from the context (hashed for the
 * cache), from an earlier stage or from an image (its id decides the cache), here-documents, and
 * ADD's URLs, fetched only when the network answers. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build/build_internal.h"
#include "container/spec_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"

struct copy_job {
    bool add;
    char **srcs; /* expanded, here-document tokens excluded */
    size_t n_srcs;
    const struct bf_instr *in;
    char *dest;
    bool dest_slash;
    const char *chown;
    bool chmod;
    mode_t mode;
    struct bf_state *from; /* the state --from names, or NULL for the context */
    char *download_dir;    /* ADD <url>: where the files were fetched */
    char **bodies;         /* the here-documents' contents, expanded unless the delimiter is quoted */
};

static int resolve_owner(struct bf_fs *fs, const char *spec, uid_t *uid, gid_t *gid, struct servin_error *err)
{
    char *end;
    unsigned long u = strtoul(spec, &end, 10);
    if (end != spec && (*end == '\0' || *end == ':')) {
        const char *g = *end == ':' ? end + 1 : NULL;
        char *gend = NULL;
        unsigned long gv = g ? strtoul(g, &gend, 10) : u;
        if (!g || (gend != g && *gend == '\0')) {
            *uid = (uid_t)u;
            *gid = (gid_t)gv;
            return 0;
        }
    }
    /* Names are looked up in the image being built, as Docker does. */
    char *files[2] = {NULL, NULL};
    const char *paths[2] = {"/etc/passwd", "/etc/group"};
    for (int i = 0; i < 2; i++) {
        int fd = bf_fs_open_in(fs, paths[i], O_RDONLY, NULL);
        if (fd < 0)
            continue;
        _cleanup_free_ char *proc = xasprintf("/proc/self/fd/%d", fd);
        servin_read_file(proc, &files[i], NULL, NULL);
        close(fd);
    }
    struct ctr_user user;
    int ret = ctr_user_resolve(spec, files[0], files[1], &user, err);
    free(files[0]);
    free(files[1]);
    if (ret < 0)
        return servin_error_wrap(err, "--chown=%s", spec);
    *uid = user.uid;
    *gid = user.gid;
    ctr_user_clear(&user);
    return 0;
}

static bool is_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

static size_t to_fd(char *data, size_t size, size_t nmemb, void *userdata)
{
    int fd = *(int *)userdata;
    size_t len = size * nmemb;
    return write(fd, data, len) == (ssize_t)len ? len : 0;
}

/* ADD <url>: into dir/<last path element>. */
static int fetch(const char *url, const char *dir, char **name_out, struct servin_error *err)
{
    const char *slash = strrchr(url + 8, '/');
    _cleanup_free_ char *name = xstrdup(slash && slash[1] ? slash + 1 : "index.html");
    name[strcspn(name, "?#")] = '\0';
    if (!*name || strcmp(name, "..") == 0 || strcmp(name, ".") == 0) {
        free(name);
        name = xstrdup("download");
    }
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return servin_error_errno(err, errno, "create %s", path);
    CURL *curl = curl_easy_init();
    if (!curl)
        return servin_error_set(err, ENOMEM, "cannot start the download of %s", url);
    char msg[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, msg);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, to_fd);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &fd);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 15L);
    CURLcode rc = curl_easy_perform(curl);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK)
        return servin_error_set(
            err, EHOSTUNREACH,
            "cannot download %s: %s (ADD from a URL needs network access; without it, put the "
            "file in the context and ADD or COPY it from there)",
            url, msg[0] ? msg : curl_easy_strerror(rc));
    *name_out = steal_pointer(&name);
    return 0;
}

static int copy_work(struct bf_builder *b, struct bf_stage *s, struct bf_fs *fs, void *data,
                     struct servin_error *err)
{
    struct copy_job *j = data;
    uid_t uid = 0;
    gid_t gid = 0;
    int ret = j->chown ? resolve_owner(fs, j->chown, &uid, &gid, err) : 0;
    if (ret < 0)
        return ret;
    bool dest_is_dir = j->dest_slash || j->n_srcs + j->in->n_heredocs > 1;
    int probe = bf_fs_open_in(fs, j->dest, O_PATH | O_DIRECTORY, NULL);
    if (probe >= 0) {
        dest_is_dir = true;
        close(probe);
    }
    struct bf_fs from_fs = {0};
    const char *root = b->ctx.dir;
    const struct bf_ignore *ignore = b->ctx.ignore;
    const char *what = "build context";
    if (j->download_dir) {
        root = j->download_dir;
        ignore = NULL;
        what = "download";
    } else if (j->from) {
        ret = bf_fs_open(b->store, j->from, &from_fs, err);
        if (ret < 0) {
            bf_fs_close(b->store, &from_fs);
            return ret;
        }
        root = from_fs.merged;
        ignore = NULL;
        what = "source image";
    }
    struct bf_source *sources = NULL;
    size_t n = 0;
    if (j->n_srcs)
        ret = bf_sources_resolve(root, ignore, j->srcs, j->n_srcs, what, &sources, &n, NULL, err);
    if (ret == 0 && n > 1 && !dest_is_dir)
        ret = servin_error_set(err, EINVAL,
                               "%s names %zu sources: the destination %s must be a directory ending in /",
                               j->add ? "ADD" : "COPY", n, j->dest);
    if (ret == 0 && n) {
        struct bf_copy_opts o = {.src_root = root,
                                 .ignore = ignore,
                                 .sources = sources,
                                 .n_sources = n,
                                 .dest = j->dest,
                                 .dest_is_dir = dest_is_dir,
                                 .chown = j->chown != NULL,
                                 .uid = uid,
                                 .gid = gid,
                                 .chmod = j->chmod,
                                 .mode = j->mode,
                                 .keep_owner = j->from != NULL,
                                 .extract_archives = j->add && !j->from && !j->download_dir};
        ret = bf_copy(fs, &o, err);
    }
    for (size_t i = 0; i < j->in->n_heredocs && ret == 0; i++) {
        const struct bf_heredoc *h = &j->in->heredocs[i];
        _cleanup_free_ char *path = dest_is_dir ? xasprintf("%s/%s", j->dest, h->name) : xstrdup(j->dest);
        ret = bf_copy_text(fs, path, j->bodies[i], j->chmod ? j->mode : 0644, uid, gid, err);
    }
    bf_sources_free(sources, n);
    bf_fs_close(b->store, &from_fs);
    return ret;
}

static int parse_words(struct bf_builder *b, const struct bf_instr *in, char ***out, struct servin_error *err)
{
    if (in->json) {
        size_t n = json_array_size(in->json);
        char **v = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
            v[i] = xstrdup(json_string_value(json_array_get(in->json, i)));
        *out = v;
        return 0;
    }
    _cleanup_strv_ char **raw = bf_split_words(in->args, b->file.escape);
    size_t n = 0;
    while (raw[n])
        n++;
    char **v = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        /* Here-document tokens stay as written: their names are the files they make. */
        if (strncmp(raw[i], "<<", 2) == 0 && in->n_heredocs) {
            v[i] = xstrdup(raw[i]);
            continue;
        }
        int ret = bf_expand_word(raw[i], b->file.escape, bf_stage_lookup, b, &v[i], err);
        if (ret < 0) {
            strv_free(v);
            return ret;
        }
    }
    *out = v;
    return 0;
}

static void job_free(struct copy_job *j)
{
    for (size_t i = 0; i < j->n_srcs; i++)
        free(j->srcs[i]);
    free(j->srcs);
    free(j->dest);
    if (j->download_dir)
        servin_rm_rf(j->download_dir, NULL);
    free(j->download_dir);
    strv_free(j->bodies);
    if (j->from)
        bf_state_clear(j->from);
    free(j->from);
}

static int prepare(struct bf_builder *b, struct bf_stage *s, const struct bf_instr *in, struct copy_job *j,
                   char **words, struct servin_sha256 *extra, struct servin_error *err)
{
    size_t n = 0;
    while (words[n])
        n++;
    if (n < 2)
        return servin_error_set(err, EINVAL, "expected at least one source and a destination");
    const char *dest = words[n - 1];
    j->dest_slash = dest[strlen(dest) - 1] == '/';
    const char *wd = json_string_value(json_object_get(bf_state_cfg(&s->state), "WorkingDir"));
    _cleanup_free_ char *abs = dest[0] == '/' ? xstrdup(dest) : xasprintf("%s/%s", wd && *wd ? wd : "", dest);
    _cleanup_free_ char *clean = bf_clean_rel(abs);
    j->dest = xasprintf("/%s", clean ? clean : "");
    j->srcs = xcalloc(n, sizeof(char *));
    for (size_t i = 0; i + 1 < n; i++) {
        if (strncmp(words[i], "<<", 2) == 0 && in->n_heredocs)
            continue;
        j->srcs[j->n_srcs++] = xstrdup(words[i]);
    }
    j->bodies = xcalloc(in->n_heredocs + 1, sizeof(char *));
    for (size_t i = 0; i < in->n_heredocs; i++) {
        const struct bf_heredoc *h = &in->heredocs[i];
        if (!h->expand) {
            j->bodies[i] = xstrdup(h->body);
        } else {
            int ret = bf_expand_heredoc(h->body, b->file.escape, bf_stage_lookup, b, &j->bodies[i], err);
            if (ret < 0)
                return ret;
        }
        /* What is written, not what is typed: a changed ARG changes the file. */
        servin_sha256_update(extra, h->name, strlen(h->name) + 1);
        servin_sha256_update(extra, j->bodies[i], strlen(j->bodies[i]) + 1);
    }
    const char *from = bf_flag(in, "from");
    if (from) {
        _cleanup_free_ char *name = NULL;
        int ret = bf_expand_word(from, b->file.escape, bf_stage_lookup, b, &name, err);
        if (ret < 0)
            return ret;
        j->from = xcalloc(1, sizeof(*j->from));
        struct bf_stage *dep = bf_stage_find(b, name, s->index);
        if (dep) {
            bf_state_copy(j->from, &dep->state);
        } else {
            ret = bf_image_state(b, name, false, j->from, err);
            if (ret < 0)
                return ret;
        }
        /* The source's state id names its content: no need to read it for the cache. */
        char id[SERVIN_DIGEST_MAX];
        bf_state_id(j->from, id);
        servin_sha256_update(extra, id, strlen(id));
        return 0;
    }
    bool urls = false;
    for (size_t i = 0; i < j->n_srcs; i++)
        urls = urls || is_url(j->srcs[i]);
    if (urls) {
        if (!j->add)
            return servin_error_set(err, EINVAL, "COPY cannot fetch URLs; use ADD");
        _cleanup_free_ char *parent = servin_store_path(b->store, "tmp");
        int ret = servin_mkdir_p(parent, 0700, err);
        if (ret < 0)
            return ret;
        j->download_dir = xasprintf("%s/build-add-XXXXXX", parent);
        if (!mkdtemp(j->download_dir))
            return servin_error_errno(err, errno, "create %s", j->download_dir);
        for (size_t i = 0; i < j->n_srcs; i++) {
            if (!is_url(j->srcs[i]))
                return servin_error_set(err, EINVAL, "ADD cannot mix URLs and local files in one step");
            char *name = NULL;
            ret = fetch(j->srcs[i], j->download_dir, &name, err);
            if (ret < 0)
                return ret;
            free(j->srcs[i]);
            j->srcs[i] = name;
        }
    }
    struct bf_source *sources = NULL;
    size_t count = 0;
    if (j->n_srcs == 0)
        return 0;
    int ret = bf_sources_resolve(
        j->download_dir ? j->download_dir : b->ctx.dir, j->download_dir ? NULL : b->ctx.ignore, j->srcs,
        j->n_srcs, j->download_dir ? "download" : "build context", &sources, &count, extra, err);
    bf_sources_free(sources, count);
    return ret;
}

int bf_exec_copy(struct bf_builder *b, struct bf_stage *s, const struct bf_instr *in,
                 struct servin_error *err)
{
    static const char *const allowed[] = {"from", "chown", "chmod", "link", NULL};
    const char *bad = bf_unknown_flag(in, allowed);
    if (bad)
        return servin_error_set(err, EINVAL, "unknown flag %s", bad);
    struct copy_job j = {.add = strcmp(in->cmd, "add") == 0, .in = in, .chown = bf_flag(in, "chown")};
    _cleanup_free_ char *chown = NULL;
    if (j.chown) {
        int ret = bf_expand_word(j.chown, b->file.escape, bf_stage_lookup, b, &chown, err);
        if (ret < 0)
            return ret;
        j.chown = chown;
    }
    const char *chmod = bf_flag(in, "chmod");
    if (chmod) {
        char *end;
        unsigned long m = strtoul(chmod, &end, 8);
        if (!*chmod || *end || m > 07777)
            return servin_error_set(err, EINVAL, "invalid --chmod=%s: expected an octal mode such as 755",
                                    chmod);
        j.chmod = true;
        j.mode = (mode_t)m;
    }
    char **words = NULL;
    int ret = parse_words(b, in, &words, err);
    if (ret < 0)
        return ret;
    struct servin_sha256 *extra = servin_sha256_new();
    ret = prepare(b, s, in, &j, words, extra, err);
    char extra_digest[SERVIN_DIGEST_MAX];
    servin_sha256_finish(extra, extra_digest);
    if (ret == 0) {
        _cleanup_free_ char *flags = xstrdup("");
        for (size_t i = 0; i < in->n_flags; i++) {
            char *next = xasprintf("%s%s ", flags, in->flags[i]);
            free(flags);
            flags = next;
        }
        _cleanup_free_ char *text = xstrdup("");
        for (size_t i = 0; words[i]; i++) {
            char *next = xasprintf("%s%s%s", text, i ? " " : "", words[i]);
            free(text);
            text = next;
        }
        _cleanup_free_ char *created_by = xasprintf("%s %s%s", j.add ? "ADD" : "COPY", flags, text);
        char parent[SERVIN_DIGEST_MAX], key[SERVIN_DIGEST_MAX];
        bf_state_id(&s->state, parent);
        bf_cache_key(parent, created_by, extra_digest, key);
        if (!bf_cache_lookup(b, s, key))
            ret = bf_layer_step(b, s, created_by, key, copy_work, &j, err);
    }
    strv_free(words);
    job_free(&j);
    return ret;
}
