/* image/image_internal.h — small SQL helpers shared by image.c, image_remove.c and gc.c. */
#ifndef SERVIN_IMAGE_INTERNAL_H
#define SERVIN_IMAGE_INTERNAL_H

#include <sqlite3.h>
#include <stdarg.h>

#include "servin/error.h"
#include "servin/store.h"

/* Bind parameters by a type string: 's' text (NULL binds SQL NULL), 'i' int64. */
void img_sql_bind(sqlite3_stmt *stmt, const char *types, va_list ap);
/* Run one statement to completion. */
int img_sql_run(struct servin_store *store, struct servin_error *err, const char *sql, const char *types,
                ...);
/* First column of the first row as a new string, or *out = NULL when there is no row. */
int img_sql_text(struct servin_store *store, struct servin_error *err, char **out, const char *sql,
                 const char *types, ...);
/* The first column of every row as a NULL-terminated list. */
int img_sql_strv(struct servin_store *store, struct servin_error *err, char ***out, const char *sql,
                 const char *types, ...);

#endif
