/*
 * gw_migrate.h — numbered SQL migrations (NNN_name.sql), applied in order
 * and recorded in schema_migrations (version, name, checksum, applied_at).
 * Re-running applies only what is missing. A recorded file whose content
 * changed is an error (migrations are append-only). A failing file stops
 * the run with the file, statement number and server message.
 */
#ifndef GW_MIGRATE_H
#define GW_MIGRATE_H

#include <stdio.h>

struct gw_db;

/* Applies pending migrations from dir. Progress goes to out. GW_OK or not. */
int gw_migrate_run(struct gw_db *db, const char *dir, FILE *out);

#endif /* GW_MIGRATE_H */
