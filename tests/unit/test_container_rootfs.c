/* Unit tests for the container root filesystem: overlayfs over fabricated layers (needs root). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/content.h"
#include "servin/fs.h"
#include "servin/image.h"

struct fixture {
    char *root;
    struct servin_store *store;
};

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void put_file(const char *dir, const char *rel, const char *text)
{
    struct servin_error err = {0};
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, rel);
    _cleanup_free_ char *parent = xstrdup(path);
    *strrchr(parent, '/') = '\0';
    assert_int_equal(servin_mkdir_p(parent, 0755, &err), 0);
    assert_int_equal(servin_write_file_atomic(path, text, strlen(text), 0644, &err), 0);
}

static char *read_text(const char *path)
{
    char *text = NULL;
    struct servin_error err = {0};
    if (servin_read_file(path, &text, NULL, &err) < 0)
        return NULL;
    return text;
}

/* How many mounts sit exactly on path, from our mountinfo. */
static int mounts_at(const char *path)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[8192];
    int n = 0;
    while (f && fgets(line, sizeof(line), f)) {
        char mnt[4096];
        if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 && strcmp(mnt, path) == 0)
            n++;
    }
    return n;
}

/* Register an image of n fabricated layers; fill(i, diff) puts each layer's files. */
static void make_image(struct fixture *f, size_t n, void (*fill)(size_t i, const char *diff),
                       char id[SERVIN_DIGEST_MAX])
{
    struct servin_error err = {0};
    struct servin_layer_desc *layers = xcalloc(n, sizeof(*layers));
    char *diff_ids = xstrdup("");
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *tar = xasprintf("tar %zu of %zu", i, n);
        servin_digest_bytes(tar, strlen(tar), layers[i].diff_id);
        servin_chain_id(i ? layers[i - 1].chain_id : NULL, layers[i].diff_id, layers[i].chain_id);
        _cleanup_free_ char *diff = servin_layer_diff_path(f->store, layers[i].chain_id);
        assert_int_equal(servin_mkdir_p(diff, 0755, &err), 0);
        fill(i, diff);
        char *next = xasprintf("%s%s\"%s\"", diff_ids, i ? "," : "", layers[i].diff_id);
        free(diff_ids);
        diff_ids = next;
    }
    _cleanup_free_ char *config = xasprintf(
        "{\"os\":\"linux\",\"config\":{\"Cmd\":[\"sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[%s]}}",
        diff_ids);
    free(diff_ids);
    assert_int_equal(servin_content_put(f->store, config, strlen(config), NULL, id, &err), 0);
    struct servin_image_record rec = {
        .manifest_media_type = SERVIN_MT_OCI_MANIFEST, .n_layers = n, .layers = layers};
    strcpy(rec.config_digest, id);
    assert_int_equal(servin_image_register(f->store, &rec, &err), 0);
    free(layers);
}

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    char tmpl[] = "/tmp/servin-ctrfs-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    f->root = xstrdup(tmpl);
    struct servin_error err = {0};
    assert_int_equal(servin_store_open(f->root, &f->store, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    /* Never leave a mount behind, even when a test failed half way. */
    struct servin_container *list = NULL;
    size_t n = 0;
    if (servin_container_list(f->store, &list, &n, &err) == 0) {
        for (size_t i = 0; i < n; i++)
            servin_container_unmount_rootfs(f->store, &list[i], &err);
        servin_containers_free(list, n);
    }
    servin_store_close(f->store);
    servin_rm_rf(f->root, &err);
    free(f->root);
    free(f);
    return 0;
}

static void fill_two(size_t i, const char *diff)
{
    if (i == 0) {
        put_file(diff, "a.txt", "base a");
        put_file(diff, "gone.txt", "deleted above");
        put_file(diff, "dir/x", "x");
        put_file(diff, "keep/y", "y");
        return;
    }
    put_file(diff, "a.txt", "top a");
    put_file(diff, "b.txt", "top b");
    _cleanup_free_ char *wh = xasprintf("%s/gone.txt", diff);
    assert_int_equal(mknod(wh, S_IFCHR | 0000, makedev(0, 0)), 0);
}

static void create(struct fixture *f, const char *image_id, struct servin_container *c)
{
    struct servin_error err = {0};
    if (servin_container_create_record(f->store, NULL, image_id, NULL, NULL, c, &err) != 0)
        fail_msg("create: %s", err.msg);
}

static void overlay_merges_layers_and_whiteouts(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    char id[SERVIN_DIGEST_MAX];
    make_image(f, 2, fill_two, id);
    struct servin_container c;
    create(f, id, &c);
    if (servin_container_mount_rootfs(f->store, &c, &err) != 0)
        fail_msg("mount: %s", err.msg);
    _cleanup_free_ char *dir = servin_container_dir(f->store, c.id);
    _cleanup_free_ char *merged = xasprintf("%s/merged", dir);
    assert_int_equal(mounts_at(merged), 1);
    /* Idempotent: a second mount is a no-op. */
    assert_int_equal(servin_container_mount_rootfs(f->store, &c, &err), 0);
    assert_int_equal(mounts_at(merged), 1);

    _cleanup_free_ char *a = xasprintf("%s/a.txt", merged);
    _cleanup_free_ char *b = xasprintf("%s/b.txt", merged);
    _cleanup_free_ char *gone = xasprintf("%s/gone.txt", merged);
    _cleanup_free_ char *x = xasprintf("%s/dir/x", merged);
    _cleanup_free_ char *a_text = read_text(a), *b_text = read_text(b), *x_text = read_text(x);
    assert_non_null(a_text);
    assert_string_equal(a_text, "top a");
    assert_string_equal(b_text, "top b");
    assert_string_equal(x_text, "x");
    assert_false(exists(gone));

    /* Changes: add, modify inside a dir, delete a lower file. */
    put_file(merged, "new.txt", "new");
    assert_int_equal(unlink(x), 0);
    put_file(merged, "keep/y", "changed");
    char **changes = NULL;
    if (servin_container_diff(f->store, &c, &changes, &err) != 0)
        fail_msg("diff: %s", err.msg);
    const char *want[] = {"C /dir", "D /dir/x", "C /keep", "C /keep/y", "A /new.txt", NULL};
    for (size_t i = 0; want[i]; i++) {
        if (!changes[i] || strcmp(changes[i], want[i]) != 0)
            fail_msg("change %zu: got \"%s\", want \"%s\"", i, changes[i] ? changes[i] : "(end)", want[i]);
    }
    assert_null(changes[5]);
    strv_free(changes);

    /* The record cannot go while mounted. */
    assert_int_equal(servin_container_delete_record(f->store, c.id, &err), -EBUSY);

    assert_int_equal(servin_container_unmount_rootfs(f->store, &c, &err), 0);
    assert_int_equal(mounts_at(merged), 0);
    assert_false(exists(a));
    assert_int_equal(servin_container_unmount_rootfs(f->store, &c, &err), 0);
    /* The layers themselves were not touched. */
    struct servin_layer_desc *layers = NULL;
    size_t n = 0;
    assert_int_equal(servin_image_layers(f->store, id, &layers, &n, &err), 0);
    _cleanup_free_ char *base = servin_layer_diff_path(f->store, layers[0].chain_id);
    _cleanup_free_ char *base_x = xasprintf("%s/dir/x", base);
    assert_true(exists(base_x));
    servin_layer_descs_free(layers, n);
    assert_int_equal(servin_container_delete_record(f->store, c.id, &err), 0);
    assert_false(exists(dir));
    servin_container_clear(&c);
}

static void fill_many(size_t i, const char *diff)
{
    _cleanup_free_ char *name = xasprintf("f%zu", i);
    _cleanup_free_ char *text = xasprintf("layer %zu", i);
    put_file(diff, name, text);
    put_file(diff, "top", text);
}

static void one_hundred_layers(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    char id[SERVIN_DIGEST_MAX];
    make_image(f, 100, fill_many, id);
    struct servin_container c;
    create(f, id, &c);
    if (servin_container_mount_rootfs(f->store, &c, &err) != 0)
        fail_msg("mount: %s", err.msg);
    _cleanup_free_ char *dir = servin_container_dir(f->store, c.id);
    _cleanup_free_ char *f0 = xasprintf("%s/merged/f0", dir);
    _cleanup_free_ char *f99 = xasprintf("%s/merged/f99", dir);
    _cleanup_free_ char *top = xasprintf("%s/merged/top", dir);
    assert_true(exists(f0));
    assert_true(exists(f99));
    _cleanup_free_ char *top_text = read_text(top);
    assert_string_equal(top_text, "layer 99");
    /* The absolute paths do not fit in one page of mount options: short links were used. */
    _cleanup_free_ char *link99 = xasprintf("%s/l/99", dir);
    assert_true(exists(link99));
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_null(strstr(cwd, f->root)); /* the relative-path mount went back to where it was */
    assert_int_equal(servin_container_unmount_rootfs(f->store, &c, &err), 0);
    assert_false(exists(f0));
    servin_container_clear(&c);
}

static void fill_one(size_t i, const char *diff)
{
    put_file(diff, "only", "single");
}

static void single_layer_and_busy_unmount(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    char id[SERVIN_DIGEST_MAX];
    make_image(f, 1, fill_one, id);
    struct servin_container c;
    create(f, id, &c);
    assert_int_equal(servin_container_mount_rootfs(f->store, &c, &err), 0);
    _cleanup_free_ char *dir = servin_container_dir(f->store, c.id);
    _cleanup_free_ char *merged = xasprintf("%s/merged", dir);
    _cleanup_free_ char *only = xasprintf("%s/only", merged);
    assert_true(exists(only));
    /* An open file keeps the mount busy: unmount detaches it all the same. */
    FILE *held = fopen(only, "re");
    assert_non_null(held);
    assert_int_equal(servin_container_unmount_rootfs(f->store, &c, &err), 0);
    assert_int_equal(mounts_at(merged), 0);
    fclose(held);
    servin_container_clear(&c);
}

static void fill_none(size_t i, const char *diff)
{
}

static void image_without_layers_and_missing_image(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    struct servin_container c, gone;
    char id[SERVIN_DIGEST_MAX];
    make_image(f, 0, fill_none, id);
    create(f, id, &c);
    /* No layers: an empty lower dir, still a valid (empty) root. */
    if (servin_container_mount_rootfs(f->store, &c, &err) != 0)
        fail_msg("mount: %s", err.msg);
    _cleanup_free_ char *dir = servin_container_dir(f->store, c.id);
    _cleanup_free_ char *merged = xasprintf("%s/merged", dir);
    assert_int_equal(mounts_at(merged), 1);
    assert_int_equal(servin_container_unmount_rootfs(f->store, &c, &err), 0);
    assert_int_equal(mounts_at(merged), 0);

    create(f, "sha256:3333333333333333333333333333333333333333333333333333333333333333", &gone);
    assert_int_equal(servin_container_mount_rootfs(f->store, &gone, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "No such image"));
    _cleanup_free_ char *gone_dir = servin_container_dir(f->store, gone.id);
    _cleanup_free_ char *gone_merged = xasprintf("%s/merged", gone_dir);
    assert_int_equal(mounts_at(gone_merged), 0);
    servin_container_clear(&c);
    servin_container_clear(&gone);
}

static void fill_escape(size_t i, const char *diff)
{
    put_file(diff, "bin/sh", "not a shell");
    _cleanup_free_ char *link = xasprintf("%s/out", diff);
    assert_int_equal(symlink("../../../../../../../../tmp", link), 0);
}

static void working_dir_created_inside_the_root(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    char id[SERVIN_DIGEST_MAX];
    make_image(f, 1, fill_escape, id);
    _cleanup_free_ char *name = xasprintf("servin-wd-test-%d", (int)getpid());
    _cleanup_free_ char *host_path = xasprintf("/tmp/%s", name);
    _cleanup_free_ char *wd = xasprintf("/out/%s/sub", name);
    json_t *config = json_pack("{s:{s:s,s:[s]}}", "Config", "WorkingDir", wd, "Cmd", "sh");
    struct servin_container c;
    assert_int_equal(servin_container_create_record(f->store, NULL, id, NULL, config, &c, &err), 0);
    json_decref(config);
    assert_int_equal(servin_container_mount_rootfs(f->store, &c, &err), 0);
    if (servin_container_write_spec(f->store, &c, &err) != 0)
        fail_msg("write spec: %s", err.msg);
    /* The image's symlink points "out" of the root: the walk stays inside it. */
    assert_false(exists(host_path));
    _cleanup_free_ char *dir = servin_container_dir(f->store, c.id);
    _cleanup_free_ char *inside = xasprintf("%s/merged/tmp/%s/sub", dir, name);
    assert_true(exists(inside));
    assert_int_equal(servin_container_unmount_rootfs(f->store, &c, &err), 0);
    servin_container_clear(&c);
}

static char fake_passwd[64];

static void fill_passwd_link(size_t i, const char *diff)
{
    put_file(diff, "bin/sh", "not a shell");
    _cleanup_free_ char *etc = xasprintf("%s/etc", diff);
    assert_int_equal(mkdir(etc, 0755), 0);
    _cleanup_free_ char *link = xasprintf("%s/etc/passwd", diff);
    assert_int_equal(symlink(fake_passwd, link), 0);
}

static void user_lookup_never_reads_host_files(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    /* A host file the image's /etc/passwd symlink names with an absolute path. */
    snprintf(fake_passwd, sizeof(fake_passwd), "/tmp/servin-fake-passwd-%d", (int)getpid());
    const char *evil = "evil:x:4242:4242::/:/bin/sh\n";
    assert_int_equal(servin_write_file_atomic(fake_passwd, evil, strlen(evil), 0644, &err), 0);
    char id[SERVIN_DIGEST_MAX];
    make_image(f, 1, fill_passwd_link, id);
    json_t *config = json_pack("{s:{s:s,s:[s]}}", "Config", "User", "evil", "Cmd", "sh");
    struct servin_container c;
    assert_int_equal(servin_container_create_record(f->store, NULL, id, NULL, config, &c, &err), 0);
    json_decref(config);
    /* From the layers (not mounted), then through the mounted root. */
    assert_int_equal(servin_container_write_spec(f->store, &c, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "invalid user \"evil\""));
    assert_int_equal(servin_container_mount_rootfs(f->store, &c, &err), 0);
    assert_int_equal(servin_container_write_spec(f->store, &c, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "invalid user \"evil\""));
    assert_int_equal(servin_container_unmount_rootfs(f->store, &c, &err), 0);
    unlink(fake_passwd);
    servin_container_clear(&c);
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "skipping: overlay mounts need root\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(overlay_merges_layers_and_whiteouts, setup, teardown),
        cmocka_unit_test_setup_teardown(one_hundred_layers, setup, teardown),
        cmocka_unit_test_setup_teardown(single_layer_and_busy_unmount, setup, teardown),
        cmocka_unit_test_setup_teardown(image_without_layers_and_missing_image, setup, teardown),
        cmocka_unit_test_setup_teardown(working_dir_created_inside_the_root, setup, teardown),
        cmocka_unit_test_setup_teardown(user_lookup_never_reads_host_files, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
