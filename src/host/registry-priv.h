/* The registry's schema migrations, for the tests. */
#pragma once

#include <sqlite3.h>

#include "registry.h"

/* Migration to version `version` from version - 1: SQL run inside the
 * migration's transaction. */
typedef struct {
    int version;
    const char *sql;
} SnpgRegistryMigration;

/* Brings db from its user_version to the last migration's version, each
 * step in its own BEGIN IMMEDIATE transaction (so concurrent openers apply
 * it once). A database newer than the list is refused. */
gboolean snpg_registry_migrate(sqlite3 *db, const SnpgRegistryMigration *migrations,
                               gsize n_migrations, GError **error);

/* This build's migrations. */
extern const SnpgRegistryMigration snpg_registry_migrations[];
extern const gsize snpg_registry_n_migrations;

/* The connection, for tests that inspect the tables. */
sqlite3 *snpg_registry_db(SnpgRegistry *reg);
