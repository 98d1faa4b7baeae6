/* Unit tests for image records: register, resolve, tags, rmi, prune and GC, on a temp store. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "servin/cleanup.h"
#include "servin/content.h"
#include "servin/fs.h"
#include "servin/image.h"

struct fixture {
    char *root;
    struct servin_store *store;
    struct servin_layer_desc base, a1, b1;
    char id_a[SERVIN_DIGEST_MAX], id_b[SERVIN_DIGEST_MAX];
    char manifest_a[SERVIN_DIGEST_MAX];
};

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* A fake layer: a diff dir with one file, and a blob standing in for its compressed tar. */
static void make_layer(struct servin_store *store, const char *name, const char *parent_chain,
                       struct servin_layer_desc *l)
{
    struct servin_error err = {0};
    memset(l, 0, sizeof(*l));
    _cleanup_free_ char *tar = xasprintf("tar of %s", name);
    servin_digest_bytes(tar, strlen(tar), l->diff_id);
    servin_chain_id(parent_chain, l->diff_id, l->chain_id);
    _cleanup_free_ char *blob = xasprintf("gzip of %s", name);
    assert_int_equal(servin_content_put(store, blob, strlen(blob), NULL, l->blob_digest, &err), 0);
    l->blob_size = strlen(blob);
    l->blob_media_type = (char *)SERVIN_MT_OCI_LAYER_GZIP;
    _cleanup_free_ char *diff = servin_layer_diff_path(store, l->chain_id);
    assert_int_equal(servin_mkdir_p(diff, 0755, &err), 0);
    _cleanup_free_ char *file = xasprintf("%s/%s.txt", diff, name);
    _cleanup_free_ char *data = xasprintf("contents of layer %s, some bytes", name);
    assert_int_equal(servin_write_file_atomic(file, data, strlen(data), 0644, &err), 0);
    l->size = strlen(data);
}

static void put_json(struct servin_store *store, const char *text, char out[SERVIN_DIGEST_MAX])
{
    struct servin_error err = {0};
    assert_int_equal(servin_content_put(store, text, strlen(text), NULL, out, &err), 0);
}

static void make_image(struct servin_store *store, const char *label, struct servin_layer_desc *l0,
                       struct servin_layer_desc *l1, const char *tag, const char *repo_digest,
                       char id[SERVIN_DIGEST_MAX], char manifest[SERVIN_DIGEST_MAX])
{
    struct servin_error err = {0};
    _cleanup_free_ char *config = xasprintf(
        "{\"created\":\"2024-01-02T03:04:05.5Z\",\"os\":\"linux\",\"architecture\":\"amd64\","
        "\"config\":{\"Cmd\":[\"sh\"],\"Labels\":{\"x\":\"%s\"}},\"history\":[{\"created_by\":\"base\"},"
        "{\"created_by\":\"top\"}],\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\",\"%s\"]}}",
        label, l0->diff_id, l1->diff_id);
    put_json(store, config, id);
    _cleanup_free_ char *man =
        xasprintf("{\"schemaVersion\":2,\"config\":{\"digest\":\"%s\"},\"label\":\"%s\"}", id, label);
    char mdigest[SERVIN_DIGEST_MAX];
    put_json(store, man, mdigest);
    if (manifest)
        strcpy(manifest, mdigest);
    struct servin_layer_desc layers[2] = {*l0, *l1};
    _cleanup_free_ char *rd = repo_digest ? xasprintf("%s@%s", repo_digest, mdigest) : NULL;
    struct servin_image_record rec = {.manifest_media_type = SERVIN_MT_OCI_MANIFEST,
                                      .n_layers = 2,
                                      .layers = layers,
                                      .tag = tag,
                                      .repo_digest = rd};
    strcpy(rec.config_digest, id);
    strcpy(rec.manifest_digest, mdigest);
    assert_int_equal(servin_image_register(store, &rec, &err), 0);
}

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    char tmpl[] = "/tmp/servin-image-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    f->root = xstrdup(tmpl);
    struct servin_error err = {0};
    assert_int_equal(servin_store_open(f->root, &f->store, &err), 0);
    make_layer(f->store, "base", NULL, &f->base);
    make_layer(f->store, "a1", f->base.chain_id, &f->a1);
    make_layer(f->store, "b1", f->base.chain_id, &f->b1);
    make_image(f->store, "a", &f->base, &f->a1, "docker.io/library/busybox:latest",
               "docker.io/library/busybox", f->id_a, f->manifest_a);
    make_image(f->store, "b", &f->base, &f->b1, "localhost/other:1", NULL, f->id_b, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    servin_image_set_in_use_hook(NULL);
    servin_store_close(f->store);
    servin_rm_rf(f->root, &err);
    free(f->root);
    free(f);
    return 0;
}

static void assert_resolves(struct fixture *f, const char *text, const char *want)
{
    char id[SERVIN_DIGEST_MAX] = "";
    struct servin_error err = {0};
    int ret = servin_image_resolve(f->store, text, id, &err);
    if (ret != 0)
        fail_msg("resolve %s: %s", text, err.msg);
    assert_string_equal(id, want);
}

static void resolve_every_form(void **state)
{
    struct fixture *f = *state;
    assert_resolves(f, "busybox", f->id_a);
    assert_resolves(f, "busybox:latest", f->id_a);
    assert_resolves(f, "library/busybox", f->id_a);
    assert_resolves(f, "docker.io/library/busybox:latest", f->id_a);
    assert_resolves(f, "localhost/other:1", f->id_b);
    _cleanup_free_ char *by_digest = xasprintf("busybox@%s", f->manifest_a);
    assert_resolves(f, by_digest, f->id_a);
    assert_resolves(f, f->id_a, f->id_a);
    assert_resolves(f, f->id_a + 7, f->id_a);
    _cleanup_free_ char *short_id = xstrndup(f->id_b + 7, 12);
    assert_resolves(f, short_id, f->id_b);
    _cleanup_free_ char *short_full = xstrndup(f->id_b, 7 + 12);
    assert_resolves(f, short_full, f->id_b);

    char id[SERVIN_DIGEST_MAX];
    struct servin_error err = {0};
    assert_int_equal(servin_image_resolve(f->store, "nothere", id, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "No such image: nothere"));
    assert_int_equal(servin_image_resolve(f->store, "localhost/other", id, &err), -ENOENT);
    assert_true(servin_image_resolve(f->store, "Bad/Name", id, &err) < 0);
    assert_int_not_equal(err.code, 0);
}

static void ambiguous_prefix_is_refused(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    /* Make configs until one shares the first two hex digits with image a's id. */
    char id[SERVIN_DIGEST_MAX] = "";
    for (int i = 0; i < 20000; i++) {
        _cleanup_free_ char *config = xasprintf("{\"os\":\"linux\",\"n\":%d}", i);
        servin_digest_bytes(config, strlen(config), id);
        if (strncmp(id, f->id_a, 9) == 0) {
            put_json(f->store, config, id);
            break;
        }
    }
    assert_memory_equal(id, f->id_a, 9);
    struct servin_image_record rec = {0};
    strcpy(rec.config_digest, id);
    assert_int_equal(servin_image_register(f->store, &rec, &err), 0);
    _cleanup_free_ char *prefix = xstrndup(f->id_a + 7, 2);
    char out[SERVIN_DIGEST_MAX];
    assert_int_equal(servin_image_resolve(f->store, prefix, out, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "ambiguous"));
    /* One more digit than they share may still be unique; the full id always is. */
    assert_resolves(f, f->id_a + 7, f->id_a);
}

static void tag_moves_between_images(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    assert_int_equal(servin_image_tag(f->store, f->id_b, "busybox", &err), 0);
    assert_resolves(f, "busybox:latest", f->id_b);
    struct servin_image_summary s;
    assert_int_equal(servin_image_get(f->store, f->id_a, &s, &err), 0);
    assert_null(s.tags[0]); /* a is dangling now */
    assert_non_null(s.repo_digests[0]);
    servin_image_summary_clear(&s);
    assert_int_equal(servin_image_get(f->store, f->id_b, &s, &err), 0);
    assert_string_equal(s.tags[0], "docker.io/library/busybox:latest");
    assert_string_equal(s.tags[1], "localhost/other:1");
    assert_int_equal(s.size, f->base.size + f->b1.size);
    servin_image_summary_clear(&s);

    assert_true(servin_image_tag(f->store, f->id_b,
                                 "x@sha256:0000000000000000000000000000000000000000000000000000000000000000",
                                 &err) < 0);
    assert_non_null(strstr(err.msg, "digest"));
    assert_true(servin_image_tag(f->store, f->id_b, "UPPER", &err) < 0);
}

static void list_and_read_back(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    struct servin_image_summary *list = NULL;
    size_t n = 0;
    assert_int_equal(servin_image_list(f->store, &list, &n, &err), 0);
    assert_int_equal(n, 2);
    servin_image_summaries_free(list, n);

    struct servin_layer_desc *layers = NULL;
    assert_int_equal(servin_image_layers(f->store, f->id_a, &layers, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(layers[0].chain_id, f->base.chain_id);
    assert_string_equal(layers[1].chain_id, f->a1.chain_id);
    assert_string_equal(layers[1].blob_digest, f->a1.blob_digest);
    servin_layer_descs_free(layers, n);

    json_t *config = NULL, *manifest = NULL;
    char *mt = NULL;
    assert_int_equal(servin_image_config(f->store, f->id_a, &config, &err), 0);
    assert_string_equal(json_string_value(json_object_get(config, "architecture")), "amd64");
    json_decref(config);
    assert_int_equal(servin_image_manifest(f->store, f->id_a, &manifest, &mt, &err), 0);
    assert_string_equal(mt, SERVIN_MT_OCI_MANIFEST);
    free(mt);
    json_decref(manifest);
    assert_int_equal(servin_time_parse_rfc3339("2024-01-02T03:04:05.5Z"), 1704164645);
    assert_int_equal(servin_time_parse_rfc3339("2024-01-02T04:04:05+01:00"), 1704164645);
    assert_int_equal(servin_time_parse_rfc3339("yesterday"), -1);
}

struct report {
    char text[2048];
};

static void collect(void *ctx, const char *action, const char *what)
{
    struct report *r = ctx;
    size_t len = strlen(r->text);
    snprintf(r->text + len, sizeof(r->text) - len, "%s: %s\n", action, what);
}

static void rmi_keeps_shared_layer_until_last(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    struct report r = {0};
    _cleanup_free_ char *base_dir = servin_layer_diff_path(f->store, f->base.chain_id);
    _cleanup_free_ char *b1_dir = servin_layer_diff_path(f->store, f->b1.chain_id);
    _cleanup_free_ char *a1_dir = servin_layer_diff_path(f->store, f->a1.chain_id);
    _cleanup_free_ char *b1_blob = servin_content_path(f->store, f->b1.blob_digest);
    _cleanup_free_ char *base_blob = servin_content_path(f->store, f->base.blob_digest);
    _cleanup_free_ char *a_config = servin_content_path(f->store, f->id_a);

    assert_int_equal(servin_image_remove(f->store, "localhost/other:1", false, collect, &r, &err), 0);
    _cleanup_free_ char *want = xasprintf("Untagged: localhost/other:1\nDeleted: %s\n", f->id_b);
    assert_string_equal(r.text, want);
    assert_false(exists(b1_dir));
    assert_false(exists(b1_blob));
    assert_true(exists(base_dir));
    assert_true(exists(base_blob));
    assert_true(exists(a1_dir));

    /* Removing it again fails cleanly and changes nothing. */
    assert_int_equal(servin_image_remove(f->store, "localhost/other:1", false, collect, &r, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "No such image"));

    /* The last image goes by id: its single tag and repo digest go with it, then the shared base. */
    memset(&r, 0, sizeof(r));
    _cleanup_free_ char *short_id = xstrndup(f->id_a + 7, 12);
    assert_int_equal(servin_image_remove(f->store, short_id, false, collect, &r, &err), 0);
    assert_non_null(strstr(r.text, "Untagged: busybox:latest\n"));
    assert_non_null(strstr(r.text, "Untagged: busybox@sha256:"));
    assert_non_null(strstr(r.text, "Deleted: sha256:"));
    assert_false(exists(base_dir));
    assert_false(exists(base_blob));
    assert_false(exists(a1_dir));
    assert_false(exists(a_config));
    char id[SERVIN_DIGEST_MAX];
    assert_int_equal(servin_image_resolve(f->store, "busybox", id, &err), -ENOENT);
}

static void rmi_by_id_with_several_tags_needs_force(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    struct report r = {0};
    assert_int_equal(servin_image_tag(f->store, f->id_a, "localhost/mine:2", &err), 0);
    assert_int_equal(servin_image_remove(f->store, f->id_a, false, collect, &r, &err), -EBUSY);
    assert_non_null(strstr(err.msg, "referenced in multiple repositories"));
    assert_string_equal(r.text, "");
    assert_resolves(f, "localhost/mine:2", f->id_a);

    /* Untagging one of two tags keeps the image. */
    assert_int_equal(servin_image_remove(f->store, "localhost/mine:2", false, collect, &r, &err), 0);
    assert_string_equal(r.text, "Untagged: localhost/mine:2\n");
    assert_resolves(f, "busybox", f->id_a);

    assert_int_equal(servin_image_tag(f->store, f->id_a, "localhost/mine:2", &err), 0);
    memset(&r, 0, sizeof(r));
    assert_int_equal(servin_image_remove(f->store, f->id_a, true, collect, &r, &err), 0);
    assert_non_null(strstr(r.text, "Untagged: localhost/mine:2\n"));
    assert_non_null(strstr(r.text, "Deleted: "));
}

static bool always_in_use(struct servin_store *store, const char *id)
{
    return true;
}

static void rmi_refuses_image_in_use(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    struct report r = {0};
    servin_image_set_in_use_hook(always_in_use);
    assert_int_equal(servin_image_remove(f->store, f->id_b, false, collect, &r, &err), -EBUSY);
    assert_non_null(strstr(err.msg, "being used"));
    /* Forced, it is only untagged, so the container's layers stay. */
    assert_int_equal(servin_image_remove(f->store, f->id_b, true, collect, &r, &err), 0);
    assert_null(strstr(r.text, "Deleted"));
    assert_resolves(f, f->id_b, f->id_b);
    uint64_t freed = 0;
    assert_int_equal(servin_image_prune(f->store, true, collect, &r, &freed, &err), 0);
    assert_resolves(f, f->id_b, f->id_b);
}

static void prune_removes_dangling_only(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    struct report r = {0};
    uint64_t freed = 0;
    assert_int_equal(servin_image_prune(f->store, false, collect, &r, &freed, &err), 0);
    assert_string_equal(r.text, "");
    /* Moving busybox:latest to b leaves a dangling. */
    assert_int_equal(servin_image_tag(f->store, f->id_b, "busybox:latest", &err), 0);
    assert_int_equal(servin_image_prune(f->store, false, collect, &r, &freed, &err), 0);
    assert_non_null(strstr(r.text, f->id_a));
    assert_true(freed >= f->a1.size + f->a1.blob_size);
    char id[SERVIN_DIGEST_MAX];
    assert_int_equal(servin_image_resolve(f->store, f->id_a, id, &err), -ENOENT);
    assert_resolves(f, "localhost/other:1", f->id_b);
    _cleanup_free_ char *base_dir = servin_layer_diff_path(f->store, f->base.chain_id);
    assert_true(exists(base_dir));

    /* -a takes tagged images too. */
    memset(&r, 0, sizeof(r));
    assert_int_equal(servin_image_prune(f->store, true, collect, &r, &freed, &err), 0);
    assert_non_null(strstr(r.text, "Untagged: busybox:latest"));
    assert_int_equal(servin_image_resolve(f->store, f->id_b, id, &err), -ENOENT);
    assert_false(exists(base_dir));
}

static void gc_removes_leftovers_of_dead_writers(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    _cleanup_free_ char *dead = servin_store_path(f->store, "tmp/unpack.tmp-%d", 999999999);
    _cleanup_free_ char *alive = servin_store_path(f->store, "tmp/unpack.tmp-%d", (int)getpid());
    _cleanup_free_ char *orphan = servin_store_path(f->store, "layers/%064d", 7);
    assert_int_equal(servin_mkdir_p(dead, 0700, &err), 0);
    assert_int_equal(servin_mkdir_p(alive, 0700, &err), 0);
    assert_int_equal(servin_mkdir_p(orphan, 0700, &err), 0);
    uint64_t freed = 0;
    assert_int_equal(servin_store_gc(f->store, &freed, &err), 0);
    assert_false(exists(dead));
    assert_true(exists(alive));
    assert_false(exists(orphan));
    _cleanup_free_ char *base_dir = servin_layer_diff_path(f->store, f->base.chain_id);
    assert_true(exists(base_dir));
    assert_resolves(f, "busybox", f->id_a);
}

/* While a pull holds the GC lock shared, rmi deletes the record at once and leaves the files to a
 * later GC instead of waiting for the pull. */
static void rmi_does_not_wait_for_a_pull(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    int lock = -1;
    assert_int_equal(servin_store_lock(f->store, "gc", SERVIN_LOCK_SHARED, &lock, &err), 0);
    assert_int_equal(servin_image_remove(f->store, "localhost/other:1", false, NULL, NULL, &err), 0);
    _cleanup_free_ char *b1_dir = servin_layer_diff_path(f->store, f->b1.chain_id);
    assert_true(exists(b1_dir));
    close(lock);
    uint64_t freed = 0;
    assert_int_equal(servin_store_gc(f->store, &freed, &err), 0);
    assert_false(exists(b1_dir));
    assert_true(freed >= f->b1.size);
}

/* Untagging the last tag of a repository also drops that repository's digests, so the image is
 * not left listed under a name the user removed. */
static void last_tag_of_repo_takes_its_digests(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    struct report r = {0};
    assert_int_equal(servin_image_tag(f->store, f->id_a, "localhost/keep:1", &err), 0);
    assert_int_equal(servin_image_remove(f->store, "busybox", false, collect, &r, &err), 0);
    assert_non_null(strstr(r.text, "Untagged: busybox:latest\nUntagged: busybox@sha256:"));
    assert_null(strstr(r.text, "Deleted"));
    struct servin_image_summary s;
    assert_int_equal(servin_image_get(f->store, f->id_a, &s, &err), 0);
    assert_null(s.repo_digests[0]);
    assert_string_equal(s.tags[0], "localhost/keep:1");
    servin_image_summary_clear(&s);
}

static void register_refuses_missing_layer_dir(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    struct servin_layer_desc l = f->a1;
    servin_chain_id(f->b1.chain_id, f->a1.diff_id, l.chain_id);
    struct servin_image_record rec = {.n_layers = 1, .layers = &l, .tag = "localhost/broken:latest"};
    strcpy(rec.config_digest, f->id_a);
    assert_int_equal(servin_image_register(f->store, &rec, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "not unpacked"));
    char id[SERVIN_DIGEST_MAX];
    assert_int_equal(servin_image_resolve(f->store, "localhost/broken", id, &err), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(resolve_every_form, setup, teardown),
        cmocka_unit_test_setup_teardown(ambiguous_prefix_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(tag_moves_between_images, setup, teardown),
        cmocka_unit_test_setup_teardown(list_and_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(rmi_keeps_shared_layer_until_last, setup, teardown),
        cmocka_unit_test_setup_teardown(rmi_by_id_with_several_tags_needs_force, setup, teardown),
        cmocka_unit_test_setup_teardown(rmi_refuses_image_in_use, setup, teardown),
        cmocka_unit_test_setup_teardown(prune_removes_dangling_only, setup, teardown),
        cmocka_unit_test_setup_teardown(gc_removes_leftovers_of_dead_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(register_refuses_missing_layer_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(rmi_does_not_wait_for_a_pull, setup, teardown),
        cmocka_unit_test_setup_teardown(last_tag_of_repo_takes_its_digests, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
