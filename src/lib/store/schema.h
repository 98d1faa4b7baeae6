/* store/schema.h — the ordered list of schema migrations. */
#ifndef SERVIN_STORE_SCHEMA_H
#define SERVIN_STORE_SCHEMA_H

/* Number of migrations, which is also the current schema version. */
int servin_schema_count(void);
/* SQL that moves the schema from `from_version` to `from_version + 1`. */
const char *servin_schema_migration(int from_version);

#endif
