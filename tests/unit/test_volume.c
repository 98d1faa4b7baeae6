/* Unit tests for volumes: names, --mount parsing, records, links, in-use refusal, copy-up, and
 * the mounts a container's Binds/Mounts/VolumesFrom/Volumes resolve into, on a temp store. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/fs.h"
#include "servin/volume.h"
#include "volume/volume_internal.h"

#define IMAGE_ID "sha256:1111111111111111111111111111111111111111111111111111111111111111"

struct fixture {
    char *root;
    struct servin_store *store;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    char tmpl[] = "/tmp/servin-vol-XXXXXX";
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
    servin_store_close(f->store);
    servin_rm_rf(f->root, &err);
    free(f->root);
    free(f);
    return 0;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_name_rules(void **state)
{
    (void)state;
    assert_true(servin_volume_name_valid("data"));
    assert_true(servin_volume_name_valid("a1.b_c-d"));
    assert_true(servin_volume_name_valid("0x"));
    assert_false(servin_volume_name_valid("a"));
    assert_false(servin_volume_name_valid(""));
    assert_false(servin_volume_name_valid(NULL));
    assert_false(servin_volume_name_valid(".hidden"));
    assert_false(servin_volume_name_valid("-x"));
    assert_false(servin_volume_name_valid("a/b"));
    assert_false(servin_volume_name_valid("../etc"));
    assert_false(servin_volume_name_valid("sp ace"));
}

static void test_parse_mount(void **state)
{
    (void)state;
    struct servin_error err = {0};
    json_t *m = NULL;
    assert_int_equal(
        servin_volume_parse_mount("type=volume,source=data,target=/d,readonly,volume-opt=type=tmpfs,"
                                  "volume-label=a=b,volume-nocopy",
                                  &m, &err),
        0);
    assert_string_equal(json_string_value(json_object_get(m, "Type")), "volume");
    assert_string_equal(json_string_value(json_object_get(m, "Source")), "data");
    assert_string_equal(json_string_value(json_object_get(m, "Target")), "/d");
    assert_true(json_is_true(json_object_get(m, "ReadOnly")));
    json_t *vo = json_object_get(m, "VolumeOptions");
    assert_true(json_is_true(json_object_get(vo, "NoCopy")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(vo, "Labels"), "a")), "b");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(vo, "DriverConfig"), "Options"), "type")),
                        "tmpfs");
    json_decref(m);

    assert_int_equal(servin_volume_parse_mount("type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770", &m, &err),
                     0);
    json_t *to = json_object_get(m, "TmpfsOptions");
    assert_int_equal(json_integer_value(json_object_get(to, "SizeBytes")), 1024 * 1024);
    assert_int_equal(json_integer_value(json_object_get(to, "Mode")), 01770);
    json_decref(m);

    assert_int_equal(
        servin_volume_parse_mount("type=bind,src=/h,target=/c,bind-propagation=rshared,ro=false", &m, &err),
        0);
    assert_false(json_is_true(json_object_get(m, "ReadOnly")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(m, "BindOptions"), "Propagation")),
                        "rshared");
    json_decref(m);

    /* Default type is volume, as in Docker. */
    assert_int_equal(servin_volume_parse_mount("target=/d", &m, &err), 0);
    assert_string_equal(json_string_value(json_object_get(m, "Type")), "volume");
    json_decref(m);

    const char *bad[] = {
        "type=volume",                          /* no target */
        "type=nfs,target=/x",                   /* unknown type */
        "type=bind,target=/x",                  /* bind without source */
        "type=tmpfs,source=x,target=/x",        /* tmpfs with a source */
        "type=volume,target=/x,bogus=1",        /* unknown field */
        "type=volume,target=/x,readonly=maybe", /* bad bool */
        "type=tmpfs,target=/x,tmpfs-size=lots", /* bad size */
        "type=tmpfs,target=/x,tmpfs-mode=999",  /* not octal */
        "type=bind,source=/a,target=/x,volume-nocopy",
        "type=volume,target=/x,tmpfs-size=1m",
        "type=volume,target",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        m = NULL;
        servin_error_clear(&err);
        assert_true(servin_volume_parse_mount(bad[i], &m, &err) < 0);
        assert_null(m);
        assert_non_null(strstr(err.msg, "invalid mount"));
        assert_null(strchr(err.msg, '\n'));
    }
}

static void test_create_get_list_remove(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    struct servin_volume v = {0};
    bool created = false;
    json_t *labels = json_pack("{s:s}", "k", "v");
    struct servin_volume_create_opts o = {.name = "data", .labels = labels};
    assert_int_equal(servin_volume_create(f->store, &o, &v, &created, &err), 0);
    assert_true(created);
    assert_string_equal(v.name, "data");
    assert_string_equal(v.driver, "local");
    assert_true(exists(v.mountpoint));
    _cleanup_free_ char *mp = xstrdup(v.mountpoint);
    json_t *j = servin_volume_to_json(&v);
    assert_string_equal(json_string_value(json_object_get(j, "Scope")), "local");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "Labels"), "k")), "v");
    assert_non_null(json_object_get(j, "CreatedAt"));
    json_decref(j);
    servin_volume_clear(&v);

    /* A second create of the same name returns the same volume and keeps its data. */
    _cleanup_free_ char *file = xasprintf("%s/keep", mp);
    assert_int_equal(servin_write_file_atomic(file, "x", 1, 0644, &err), 0);
    struct servin_volume_create_opts again = {.name = "data"};
    assert_int_equal(servin_volume_create(f->store, &again, &v, &created, &err), 0);
    assert_false(created);
    assert_string_equal(json_string_value(json_object_get(v.labels, "k")), "v");
    servin_volume_clear(&v);
    assert_true(exists(file));

    /* A generated name is 64 hex digits. */
    struct servin_volume_create_opts anon = {.anonymous = true};
    assert_int_equal(servin_volume_create(f->store, &anon, &v, &created, &err), 0);
    assert_int_equal(strlen(v.name), 64);
    assert_true(v.anonymous);
    _cleanup_free_ char *anon_name = xstrdup(v.name);
    servin_volume_clear(&v);

    struct servin_volume *list = NULL;
    size_t n = 0;
    assert_int_equal(servin_volume_list(f->store, &list, &n, &err), 0);
    assert_int_equal(n, 2);
    servin_volumes_free(list, n);

    long long size = -1;
    assert_int_equal(servin_volume_remove(f->store, "data", &size, &err), 0);
    assert_int_equal(size, 1);
    assert_false(exists(mp));
    assert_int_equal(servin_volume_remove(f->store, "data", NULL, &err), -ENOENT);
    assert_int_equal(servin_volume_get(f->store, "data", &v, &err), -ENOENT);
    assert_int_equal(servin_volume_remove(f->store, anon_name, NULL, &err), 0);
    json_decref(labels);
}

static void test_bad_create_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    struct servin_volume v = {0};
    bool created = false;
    json_t *bad_opts[] = {
        json_pack("{s:s}", "type", "ext4"),
        json_pack("{s:s}", "colour", "red"),
        json_pack("{s:s,s:s}", "type", "none", "device", "/no/such/dir/anywhere"),
        json_pack("{s:s,s:s}", "type", "none", "device", "relative"),
        json_pack("{s:s}", "device", "/tmp"),
    };
    for (size_t i = 0; i < sizeof(bad_opts) / sizeof(bad_opts[0]); i++) {
        struct servin_volume_create_opts o = {.name = "bad", .options = bad_opts[i]};
        assert_true(servin_volume_create(f->store, &o, &v, &created, &err) < 0);
        json_decref(bad_opts[i]);
    }
    struct servin_volume_create_opts o = {.name = "x/../../etc"};
    assert_int_equal(servin_volume_create(f->store, &o, &v, &created, &err), -EINVAL);
    struct servin_volume_create_opts d = {.name = "okname", .driver = "nfs"};
    assert_int_equal(servin_volume_create(f->store, &d, &v, &created, &err), -EINVAL);
    struct servin_volume *list = NULL;
    size_t n = 0;
    assert_int_equal(servin_volume_list(f->store, &list, &n, &err), 0);
    assert_int_equal(n, 0);
    free(list);
    _cleanup_free_ char *dir = servin_store_path(f->store, "volumes/bad");
    assert_false(exists(dir));
}

static void make_container(struct fixture *f, const char *name, json_t *hc, json_t *cfg,
                           struct servin_container *c)
{
    struct servin_error err = {0};
    json_t *config =
        json_pack("{s:o,s:o}", "Config", cfg ? cfg : json_object(), "HostConfig", hc ? hc : json_object());
    assert_int_equal(servin_container_create_record(f->store, name, IMAGE_ID, "img", config, c, &err), 0);
    json_decref(config);
}

static void test_prepare_links_and_in_use(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    char hostdir[] = "/tmp/servin-vol-host-XXXXXX";
    assert_non_null(mkdtemp(hostdir));
    _cleanup_free_ char *bind = xasprintf("%s:/h:ro", hostdir);
    json_t *hc = json_pack("{s:[s,s],s:[{s:s,s:s,s:{s:I}}]}", "Binds", "named:/data", bind, "Mounts", "Type",
                           "tmpfs", "Target", "/t", "TmpfsOptions", "SizeBytes", (json_int_t)65536);
    json_t *cfg = json_pack("{s:{s:{},s:{}}}", "Volumes", "/anon", "/data");
    struct servin_container c = {0};
    make_container(f, "c1", hc, cfg, &c);
    assert_int_equal(servin_volume_prepare_container(f->store, &c, &err), 0);

    json_t *points = json_object_get(c.config, "MountPoints");
    /* /data is the user's named volume, not a second anonymous one. */
    assert_int_equal(json_array_size(points), 4);
    json_t *mounts = servin_volume_mounts_json(&c);
    size_t i;
    json_t *m;
    int seen = 0;
    json_array_foreach (mounts, i, m) {
        const char *dest = json_string_value(json_object_get(m, "Destination"));
        assert_null(json_object_get(m, "Spec"));
        if (strcmp(dest, "/data") == 0) {
            assert_string_equal(json_string_value(json_object_get(m, "Name")), "named");
            assert_string_equal(json_string_value(json_object_get(m, "Type")), "volume");
            seen |= 1;
        } else if (strcmp(dest, "/h") == 0) {
            assert_string_equal(json_string_value(json_object_get(m, "Type")), "bind");
            assert_false(json_is_true(json_object_get(m, "RW")));
            assert_string_equal(json_string_value(json_object_get(m, "Propagation")), "rprivate");
            seen |= 2;
        } else if (strcmp(dest, "/t") == 0) {
            assert_string_equal(json_string_value(json_object_get(m, "Type")), "tmpfs");
            seen |= 4;
        } else if (strcmp(dest, "/anon") == 0) {
            assert_int_equal(strlen(json_string_value(json_object_get(m, "Name"))), 64);
            seen |= 8;
        }
    }
    assert_int_equal(seen, 15);
    json_decref(mounts);

    /* The config was saved with the points. */
    struct servin_container again = {0};
    assert_int_equal(servin_container_get(f->store, "c1", &again, &err), 0);
    assert_int_equal(json_array_size(json_object_get(again.config, "MountPoints")), 4);
    servin_container_clear(&again);

    /* In use: refused, and the data stays. */
    assert_int_equal(servin_volume_remove(f->store, "named", NULL, &err), -EBUSY);
    assert_non_null(strstr(err.msg, "in use"));
    _cleanup_strv_ char **users = NULL;
    assert_int_equal(servin_volume_users(f->store, "named", &users, &err), 0);
    assert_string_equal(users[0], c.id);

    /* Another container takes them over with --volumes-from, read-only. */
    _cleanup_free_ char *from = xasprintf("%s:ro", "c1");
    struct servin_container c2 = {0};
    make_container(f, "c2", json_pack("{s:[s]}", "VolumesFrom", from), NULL, &c2);
    assert_int_equal(servin_volume_prepare_container(f->store, &c2, &err), 0);
    json_t *p2 = json_object_get(c2.config, "MountPoints");
    assert_int_equal(json_array_size(p2), 3); /* tmpfs is the container's own */
    json_array_foreach (p2, i, m)
        assert_false(json_is_true(json_object_get(m, "RW")));

    _cleanup_strv_ char **anon = NULL;
    assert_int_equal(servin_volume_anonymous_of(f->store, c.id, &anon, &err), 0);
    assert_non_null(anon[0]);
    assert_null(anon[1]);

    /* Removing c1: links go, volumes stay; c2 still holds the anonymous one. */
    assert_int_equal(servin_container_delete_record(f->store, c.id, &err), 0);
    servin_volume_remove_unused(f->store, anon);
    struct servin_volume v = {0};
    assert_int_equal(servin_volume_get(f->store, anon[0], &v, &err), 0);
    servin_volume_clear(&v);
    assert_int_equal(servin_container_delete_record(f->store, c2.id, &err), 0);
    servin_volume_remove_unused(f->store, anon);
    assert_int_equal(servin_volume_get(f->store, anon[0], &v, &err), -ENOENT);
    /* The named volume outlives both. */
    assert_int_equal(servin_volume_get(f->store, "named", &v, &err), 0);
    servin_volume_clear(&v);
    assert_int_equal(servin_volume_remove(f->store, "named", NULL, &err), 0);

    servin_container_clear(&c);
    servin_container_clear(&c2);
    servin_rm_rf(hostdir, &err);
}

static void test_prepare_bad_input_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    json_t *cases[] = {
        json_pack("{s:[s]}", "Binds", "bad name:/d"),
        json_pack("{s:[s]}", "Binds", "good:relative"),
        json_pack("{s:[s]}", "Binds", "good:/"),
        json_pack("{s:[s]}", "Binds", "good:/d:rx"),
        json_pack("{s:[s,s]}", "Binds", "good:/d", "other:/d"),
        json_pack("{s:[{s:s,s:s,s:s}]}", "Mounts", "Type", "bind", "Source", "/no/such/servin/path", "Target",
                  "/x"),
        json_pack("{s:[s]}", "VolumesFrom", "nosuchcontainer"),
        json_pack("{s:[s],s:[{s:s,s:s}]}", "Binds", "good:/d", "Mounts", "Type", "volume", "Target", "/d"),
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct servin_container c = {0};
        char name[16];
        snprintf(name, sizeof(name), "bad%zu", i);
        make_container(f, name, cases[i], NULL, &c);
        servin_error_clear(&err);
        assert_true(servin_volume_prepare_container(f->store, &c, &err) < 0);
        assert_non_null(err.msg[0] ? err.msg : NULL);
        assert_null(json_object_get(c.config, "MountPoints"));
        assert_int_equal(servin_container_delete_record(f->store, c.id, &err), 0);
        servin_container_clear(&c);
    }
    struct servin_volume *list = NULL;
    size_t n = 0;
    assert_int_equal(servin_volume_list(f->store, &list, &n, &err), 0);
    assert_int_equal(n, 0);
    free(list);
    assert_false(exists("/no/such/servin/path"));
}

static void test_copy_up_keeps_owner_and_mode(void **state)
{
    (void)state;
    struct servin_error err = {0};
    char src[] = "/tmp/servin-vol-src-XXXXXX", dst[] = "/tmp/servin-vol-dst-XXXXXX";
    assert_non_null(mkdtemp(src));
    assert_non_null(mkdtemp(dst));
    _cleanup_free_ char *app = xasprintf("%s/app", src);
    _cleanup_free_ char *sub = xasprintf("%s/app/sub", src);
    _cleanup_free_ char *file = xasprintf("%s/app/sub/f", src);
    _cleanup_free_ char *link = xasprintf("%s/app/l", src);
    assert_int_equal(mkdir(app, 0750), 0);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(servin_write_file_atomic(file, "hello", 5, 0640, &err), 0);
    assert_int_equal(symlink("sub/f", link), 0);
    assert_int_equal(chown(app, 1234, 5678), 0);
    assert_int_equal(chown(file, 42, 43), 0);
    assert_int_equal(chmod(app, 0750), 0);

    _cleanup_close_ int root = open(src, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(vol_dir_empty(dst));
    assert_int_equal(vol_copy_up(root, "/app", dst, &err), 0);
    assert_false(vol_dir_empty(dst));
    struct stat st;
    assert_int_equal(stat(dst, &st), 0);
    assert_int_equal(st.st_uid, 1234);
    assert_int_equal(st.st_gid, 5678);
    assert_int_equal(st.st_mode & 07777, 0750);
    _cleanup_free_ char *cf = xasprintf("%s/sub/f", dst);
    assert_int_equal(stat(cf, &st), 0);
    assert_int_equal(st.st_uid, 42);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(st.st_size, 5);
    _cleanup_free_ char *cl = xasprintf("%s/l", dst);
    char target[64] = {0};
    assert_int_equal(readlink(cl, target, sizeof(target) - 1), 5);
    assert_string_equal(target, "sub/f");

    /* A missing path copies nothing and is no error; nor is a file. */
    assert_int_equal(vol_copy_up(root, "/nothing/here", dst, &err), 0);
    assert_int_equal(vol_copy_up(root, "/app/sub/f", dst, &err), 0);
    servin_rm_rf(src, &err);
    servin_rm_rf(dst, &err);
}

/* Two processes creating one name at once: both succeed, one row, one directory. */
static void test_concurrent_create(void **state)
{
    struct fixture *f = *state;
    pid_t kids[6];
    for (size_t i = 0; i < 6; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            struct servin_store *s = NULL;
            struct servin_error err = {0};
            struct servin_volume v = {0};
            bool created = false;
            struct servin_volume_create_opts o = {.name = "race"};
            int rc = servin_store_open(f->root, &s, &err) == 0 &&
                             servin_volume_create(s, &o, &v, &created, &err) == 0
                         ? 0
                         : 1;
            _exit(rc);
        }
    }
    for (size_t i = 0; i < 6; i++) {
        int status = 0;
        assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    struct servin_volume *list = NULL;
    size_t n = 0;
    struct servin_error err = {0};
    assert_int_equal(servin_volume_list(f->store, &list, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_true(exists(list[0].mountpoint));
    servin_volumes_free(list, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_rules),
        cmocka_unit_test(test_parse_mount),
        cmocka_unit_test_setup_teardown(test_create_get_list_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_create_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepare_links_and_in_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepare_bad_input_leaves_nothing, setup, teardown),
        cmocka_unit_test(test_copy_up_keeps_owner_and_mode),
        cmocka_unit_test_setup_teardown(test_concurrent_create, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
