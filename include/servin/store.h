/* store.h — the local store: a root directory and the SQLite (WAL) metadata database in it. */
#ifndef SERVIN_STORE_H
#define SERVIN_STORE_H

#include <sqlite3.h>
#include <stdbool.h>

#include "servin/error.h"

#define SERVIN_DEFAULT_ROOT "/var/lib/servin"
#define SERVIN_DEFAULT_RUN_ROOT "/run/servin"

struct servin_store {
    char *root;     /* e.g. /var/lib/servin */
    char *run_root; /* e.g. /run/servin: state lost at reboot */
    sqlite3 *db;
};

/* Open (creating if needed) the store at root, and migrate its schema to the current version. */
int servin_store_open(const char *root, struct servin_store **out, struct servin_error *err);
/* The same with the run state (runtime.state_dir) elsewhere; NULL run_root: the default rule. */
int servin_store_open_at(const char *root, const char *run_root, struct servin_store **out,
                         struct servin_error *err);
void servin_store_close(struct servin_store *store);
void cleanup_storep(struct servin_store **store);
#define _cleanup_store_ __attribute__((cleanup(cleanup_storep)))

/* The schema version this build writes, and the one found in the database. */
int servin_store_schema_version(void);
int servin_store_db_version(struct servin_store *store);

/* "<root>/<fmt...>" as a new string. */
char *servin_store_path(const struct servin_store *store, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Write transactions take the database lock up front (BEGIN IMMEDIATE), so that two processes
 * never both read and then fail to upgrade; SQLite's busy timeout makes the second one wait. */
int servin_store_begin(struct servin_store *store, struct servin_error *err);
int servin_store_commit(struct servin_store *store, struct servin_error *err);
void servin_store_rollback(struct servin_store *store);
int servin_store_exec(struct servin_store *store, const char *sql, struct servin_error *err);
/* Prepare a statement, reporting SQLite's message in err on failure. */
int servin_store_prepare(struct servin_store *store, const char *sql, sqlite3_stmt **stmt,
                         struct servin_error *err);
/* Turn a failed sqlite3 result into err, naming what we were doing. */
int servin_store_sqlite_error(struct servin_store *store, int rc, struct servin_error *err,
                              const char *what);

void cleanup_sqlite_stmtp(sqlite3_stmt **stmt);
#define _cleanup_stmt_ __attribute__((cleanup(cleanup_sqlite_stmtp)))

/* Advisory whole-file locks under <root>/locks/<name>.lock: shared for writers of new content
 * (pulls, loads), exclusive for garbage collection, so GC never deletes what a pull just wrote. */
enum servin_lock_mode { SERVIN_LOCK_SHARED, SERVIN_LOCK_EXCLUSIVE };
int servin_store_lock(struct servin_store *store, const char *name, enum servin_lock_mode mode,
                      int *fd_out, struct servin_error *err);

#endif
