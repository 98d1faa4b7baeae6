/* Unit tests for the store: migrations, reopening, and two writers at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/store.h"

static char *make_root(void)
{
    char tmpl[] = "/tmp/servin-store-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    return xstrdup(tmpl);
}

static void open_migrates_to_current(void **state)
{
    _cleanup_free_ char *root = make_root();
    struct servin_error err = {0};
    struct servin_store *store = NULL;
    assert_int_equal(servin_store_open(root, &store, &err), 0);
    assert_int_equal(servin_store_db_version(store), servin_store_schema_version());
    servin_store_close(store);
    /* Reopening an up-to-date store changes nothing. */
    assert_int_equal(servin_store_open(root, &store, &err), 0);
    assert_int_equal(servin_store_db_version(store), servin_store_schema_version());
    /* A database from a newer servin is refused rather than misread. */
    assert_int_equal(servin_store_exec(store, "PRAGMA user_version = 999", &err), 0);
    servin_store_close(store);
    assert_true(servin_store_open(root, &store, &err) < 0);
    assert_non_null(strstr(err.msg, "newer"));
    servin_rm_rf(root, &err);
}

/* Several processes insert at once; every row must arrive and the database stay consistent. */
static void parallel_writers_never_corrupt(void **state)
{
    _cleanup_free_ char *root = make_root();
    struct servin_error err = {0};
    enum { WRITERS = 6, ROWS = 50 };
    for (int w = 0; w < WRITERS; w++) {
        if (fork() == 0) {
            struct servin_store *s = NULL;
            if (servin_store_open(root, &s, &err) < 0)
                _exit(1);
            for (int i = 0; i < ROWS; i++) {
                char sql[256];
                snprintf(sql, sizeof(sql),
                         "INSERT INTO images(id, manifest_digest, manifest_media_type, added) "
                         "VALUES('sha256:%02d%04d', 'm', 't', 0)", w, i);
                if (servin_store_begin(s, &err) < 0 || servin_store_exec(s, sql, &err) < 0 ||
                    servin_store_commit(s, &err) < 0)
                    _exit(2);
            }
            servin_store_close(s);
            _exit(0);
        }
    }
    for (int w = 0; w < WRITERS; w++) {
        int status = 0;
        wait(&status);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    struct servin_store *store = NULL;
    assert_int_equal(servin_store_open(root, &store, &err), 0);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(servin_store_prepare(store, "SELECT count(*) FROM images", &stmt, &err), 0);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(stmt, 0), WRITERS * ROWS);
    sqlite3_finalize(stmt);
    assert_int_equal(servin_store_prepare(store, "PRAGMA integrity_check", &stmt, &err), 0);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "ok");
    sqlite3_finalize(stmt);
    servin_store_close(store);
    servin_rm_rf(root, &err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_migrates_to_current),
        cmocka_unit_test(parallel_writers_never_corrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
