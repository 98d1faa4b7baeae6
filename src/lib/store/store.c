/* store/store.c — opening the store, its directories, transactions and locks. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/store.h"
#include "store/schema.h"

/* Generous: a second process waits for a pull's short transaction instead of failing. */
#define BUSY_TIMEOUT_MS 30000

static const char *const store_dirs[] = {"content/blobs/sha256", "content/ingest", "layers", "locks",
                                         "tmp"};

int servin_store_sqlite_error(struct servin_store *store, int rc, struct servin_error *err,
                              const char *what)
{
    const char *detail = store && store->db ? sqlite3_errmsg(store->db) : sqlite3_errstr(rc);
    int code = (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) ? EBUSY : EIO;
    return servin_error_set(err, code, "%s: database error: %s", what, detail);
}

int servin_store_exec(struct servin_store *store, const char *sql, struct servin_error *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(store->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        int ret = servin_error_set(err, EIO, "database error: %s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return ret;
    }
    return 0;
}

int servin_store_prepare(struct servin_store *store, const char *sql, sqlite3_stmt **stmt,
                         struct servin_error *err)
{
    int rc = sqlite3_prepare_v2(store->db, sql, -1, stmt, NULL);
    if (rc != SQLITE_OK)
        return servin_store_sqlite_error(store, rc, err, "prepare query");
    return 0;
}

void cleanup_sqlite_stmtp(sqlite3_stmt **stmt)
{
    if (*stmt)
        sqlite3_finalize(*stmt);
}

int servin_store_begin(struct servin_store *store, struct servin_error *err)
{
    return servin_store_exec(store, "BEGIN IMMEDIATE", err);
}

int servin_store_commit(struct servin_store *store, struct servin_error *err)
{
    int ret = servin_store_exec(store, "COMMIT", err);
    if (ret < 0)
        servin_store_rollback(store);
    return ret;
}

void servin_store_rollback(struct servin_store *store)
{
    sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
}

int servin_store_schema_version(void)
{
    return servin_schema_count();
}

int servin_store_db_version(struct servin_store *store)
{
    sqlite3_stmt *stmt = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(store->db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        version = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    return version;
}

static int migrate(struct servin_store *store, struct servin_error *err)
{
    int target = servin_schema_count();
    /* Check, then re-check under the write lock: another process may have migrated meanwhile. */
    if (servin_store_db_version(store) == target)
        return 0;
    int ret = servin_store_begin(store, err);
    if (ret < 0)
        return servin_error_wrap(err, "migrate database schema");
    int version = servin_store_db_version(store);
    if (version > target) {
        servin_store_rollback(store);
        return servin_error_set(err, EPROTO,
                                "database schema version %d is newer than this servin understands "
                                "(%d); upgrade servin",
                                version, target);
    }
    for (; version < target; version++) {
        ret = servin_store_exec(store, servin_schema_migration(version), err);
        if (ret < 0) {
            servin_store_rollback(store);
            return servin_error_wrap(err, "migrate database schema to version %d", version + 1);
        }
    }
    _cleanup_free_ char *pragma = xasprintf("PRAGMA user_version = %d", target);
    ret = servin_store_exec(store, pragma, err);
    if (ret < 0) {
        servin_store_rollback(store);
        return ret;
    }
    return servin_store_commit(store, err);
}

char *servin_store_path(const struct servin_store *store, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *rel = xvasprintf(fmt, ap);
    va_end(ap);
    return xasprintf("%s/%s", store->root, rel);
}

int servin_store_open(const char *root, struct servin_store **out, struct servin_error *err)
{
    return servin_store_open_at(root, NULL, out, err);
}

int servin_store_open_at(const char *root, const char *run_root, struct servin_store **out,
                         struct servin_error *err)
{
    _cleanup_store_ struct servin_store *store = xcalloc(1, sizeof(*store));
    store->root = xstrdup(root && *root ? root : SERVIN_DEFAULT_ROOT);
    /* A custom root keeps its run state inside itself, so tests never touch /run/servin. */
    if (run_root && *run_root)
        store->run_root = xstrdup(run_root);
    else if (root && *root && strcmp(root, SERVIN_DEFAULT_ROOT) != 0)
        store->run_root = xasprintf("%s/run", store->root);
    else
        store->run_root = xstrdup(SERVIN_DEFAULT_RUN_ROOT);

    int ret = servin_mkdir_p(store->root, 0711, err);
    if (ret < 0)
        return servin_error_wrap(err, "open store %s", store->root);
    for (size_t i = 0; i < sizeof(store_dirs) / sizeof(store_dirs[0]); i++) {
        _cleanup_free_ char *dir = servin_store_path(store, "%s", store_dirs[i]);
        ret = servin_mkdir_p(dir, 0700, err);
        if (ret < 0)
            return servin_error_wrap(err, "open store %s", store->root);
    }

    /* Switching a new database to WAL and migrating it take locks that SQLite's busy handler does
     * not always wait for: serialise that part of opening between processes with a file lock. */
    _cleanup_close_ int open_lock = -1;
    ret = servin_store_lock(store, "open", SERVIN_LOCK_EXCLUSIVE, &open_lock, err);
    if (ret < 0)
        return servin_error_wrap(err, "open store %s", store->root);
    _cleanup_free_ char *db_path = servin_store_path(store, "servin.db");
    int rc = sqlite3_open_v2(db_path, &store->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK)
        return servin_error_set(err, EIO, "open database %s: %s", db_path,
                                store->db ? sqlite3_errmsg(store->db) : sqlite3_errstr(rc));
    chmod(db_path, 0600);
    sqlite3_busy_timeout(store->db, BUSY_TIMEOUT_MS);
    /* Most commands are short processes: a checkpoint when each closes the database, and deleting
     * and re-creating the WAL file, would cost every command a few fsyncs. The WAL is checkpointed
     * as it grows instead (SQLite's auto-checkpoint), and stays on disk between commands. */
    int persist_wal = 1;
    sqlite3_file_control(store->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist_wal);
    sqlite3_db_config(store->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    /* WAL lets readers go on while one process writes; NORMAL sync is safe in WAL mode. */
    ret = servin_store_exec(store, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                                   "PRAGMA foreign_keys=ON;", err);
    if (ret < 0)
        return servin_error_wrap(err, "open database %s", db_path);
    ret = migrate(store, err);
    if (ret < 0)
        return ret;
    *out = steal_pointer(&store);
    return 0;
}

void servin_store_close(struct servin_store *store)
{
    if (!store)
        return;
    if (store->db)
        sqlite3_close_v2(store->db);
    free(store->root);
    free(store->run_root);
    free(store);
}

void cleanup_storep(struct servin_store **store)
{
    servin_store_close(*store);
}

int servin_store_lock(struct servin_store *store, const char *name, enum servin_lock_mode mode,
                      int *fd_out, struct servin_error *err)
{
    _cleanup_free_ char *path = servin_store_path(store, "locks/%s.lock", name);
    _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return servin_error_errno(err, errno, "open lock %s", path);
    int op = mode == SERVIN_LOCK_EXCLUSIVE ? LOCK_EX : LOCK_SH;
    while (flock(fd, op) < 0) {
        if (errno != EINTR)
            return servin_error_errno(err, errno, "lock %s", path);
    }
    *fd_out = steal_fd(&fd);
    return 0;
}
