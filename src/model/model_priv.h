/* Private to src/model: the sqlite3 handle and statement helpers. */
#ifndef VMTTY_MODEL_PRIV_H
#define VMTTY_MODEL_PRIV_H

#include <sqlite3.h>
#include <stdint.h>

#include "model/db.h"

sqlite3 *db_sqlite(struct db *db);
/* Prepare SQL (cached per db); NULL + err naming the inventory. */
sqlite3_stmt *db_prepare(struct db *db, const char *sql);
/* Release a statement from db_prepare (reset + clear bindings). */
void db_done(sqlite3_stmt *st);
/* err_set with the sqlite message and the inventory path. */
int db_error(struct db *db, const char *what);
/* Copy of a text column, or NULL. */
char *db_col_text(sqlite3_stmt *st, int col);
int db_bind_text(sqlite3_stmt *st, int idx, const char *s);

#endif
