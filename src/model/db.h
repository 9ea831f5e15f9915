/* db: the SQLite inventory.  Opening applies pragmas and schema
 * migrations; a corrupt, foreign or newer database is refused with a
 * message naming its path, and never recreated or written. */
#ifndef VMTTY_DB_H
#define VMTTY_DB_H

#include <stdint.h>

struct db;

/* The schema version this build creates and understands. */
#define DB_SCHEMA_VERSION 13

/* Open (creating if absent: dir 0700, file 0600) and migrate. NULL + err. */
struct db *db_open(const char *path);
void db_close(struct db *db);
const char *db_path(const struct db *db);

/* How long a statement waits for another connection's lock before it
 * fails as busy (db_open: 5000 ms, right for the CLI). */
void db_set_busy_timeout(struct db *db, int ms);

/* Read every page now, as the first write of this process would: 0, or -1
 * + err when the inventory is corrupt (it is then refused for writing).  For
 * a command that changes a host before it records what it did: it asks
 * before touching anything.  Once per process; later calls are free. */
int db_check_pages(struct db *db);
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);

/* 1 when another connection committed since the last call, else 0. */
int db_changed(struct db *db);

/* Milliseconds since the epoch, the inventory's time unit. */
int64_t db_now_ms(void);

#endif
