#include "model/db.h"
#include "model/model_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"
#include "util/log.h"
#include "util/paths.h"
#include "util/xalloc.h"

#define DB_STMT_CACHE 64
#define DB_BUSY_MS 5000

struct db_stmt {
	const char *sql;
	sqlite3_stmt *st;
};

struct db {
	sqlite3 *sq;
	char *path;
	struct db_stmt cache[DB_STMT_CACHE];
	size_t ncache;
	int data_version;
	bool broken;	/* SQLite found it corrupt: refused, never written */
	bool checked;	/* every page read once, before the first write */
};

/*
 * Schema migrations: entry N takes the schema from version N to N + 1.
 * Each runs in one transaction together with the user_version bump.
 * Never edit a released entry; append a new one.
 */
static const char *const migrations[] = {
	/* 0 -> 1: the first schema. */
	"CREATE TABLE hosts ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  uri TEXT NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('builtin', 'libvirt')),"
	"  autoconnect INTEGER NOT NULL DEFAULT 1,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE vms ("
	"  id INTEGER PRIMARY KEY,"
	"  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	"  uuid TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'off',"
	"  machine TEXT NOT NULL DEFAULT 'q35',"
	"  accel TEXT NOT NULL DEFAULT 'auto',"
	"  firmware TEXT NOT NULL DEFAULT 'bios',"
	"  sockets INTEGER NOT NULL DEFAULT 1,"
	"  cores INTEGER NOT NULL DEFAULT 1,"
	"  threads INTEGER NOT NULL DEFAULT 1,"
	"  memory_mib INTEGER NOT NULL,"
	"  kernel TEXT, initrd TEXT, cmdline TEXT,"
	"  graphics TEXT NOT NULL DEFAULT 'vnc',"
	"  template TEXT, notes TEXT,"
	"  seen INTEGER,"
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  UNIQUE (host_id, name));"
	"CREATE TABLE disks ("
	"  id INTEGER PRIMARY KEY,"
	"  vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL,"
	"  path TEXT NOT NULL,"
	"  format TEXT NOT NULL DEFAULT 'qcow2',"
	"  bus TEXT NOT NULL DEFAULT 'virtio',"
	"  cache TEXT,"
	"  readonly INTEGER NOT NULL DEFAULT 0,"
	"  media TEXT NOT NULL DEFAULT 'disk' CHECK (media IN ('disk', 'cdrom')),"
	"  UNIQUE (vm_id, idx));"
	"CREATE TABLE nics ("
	"  id INTEGER PRIMARY KEY,"
	"  vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL,"
	"  kind TEXT NOT NULL DEFAULT 'user',"
	"  model TEXT NOT NULL DEFAULT 'virtio-net',"
	"  mac TEXT,"
	"  source TEXT,"
	"  forwards TEXT,"
	"  UNIQUE (vm_id, idx));"
	"CREATE TABLE tuning ("
	"  vm_id INTEGER PRIMARY KEY REFERENCES vms(id) ON DELETE CASCADE,"
	"  vcpu_pins TEXT,"
	"  hugepages INTEGER NOT NULL DEFAULT 0,"
	"  balloon_mib INTEGER);"
	"CREATE TABLE snapshots ("
	"  id INTEGER PRIMARY KEY,"
	"  vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  description TEXT,"
	"  created INTEGER NOT NULL,"
	"  UNIQUE (vm_id, name));"
	"CREATE TABLE journal ("
	"  id INTEGER PRIMARY KEY,"
	"  time INTEGER NOT NULL,"
	"  host TEXT,"
	"  vm TEXT,"
	"  action TEXT NOT NULL,"
	"  result TEXT NOT NULL CHECK (result IN ('ok', 'failed')),"
	"  message TEXT);"
	"CREATE INDEX journal_vm ON journal (host, vm, time);"
	"CREATE INDEX vms_host ON vms (host_id, name);"
	"INSERT INTO hosts (name, uri, kind, autoconnect, created)"
	"  VALUES ('local', 'vmtty:///local', 'builtin', 1,"
	"          CAST(strftime('%s', 'now') AS INTEGER) * 1000);",
	/* 1 -> 2: when a host last answered, and why it did not. */
	"ALTER TABLE hosts ADD COLUMN last_seen INTEGER;"
	"ALTER TABLE hosts ADD COLUMN last_error TEXT;",
	/* 2 -> 3: a UUID is unique per host, not globally: one libvirt daemon
	 * reached through two URIs shows the same domains twice.  SQLite
	 * cannot drop a constraint, so the table is rebuilt (foreign keys
	 * are off while migrating, see db_open). */
	"CREATE TABLE vms_new ("
	"  id INTEGER PRIMARY KEY,"
	"  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	"  uuid TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'off',"
	"  machine TEXT NOT NULL DEFAULT 'q35',"
	"  accel TEXT NOT NULL DEFAULT 'auto',"
	"  firmware TEXT NOT NULL DEFAULT 'bios',"
	"  sockets INTEGER NOT NULL DEFAULT 1,"
	"  cores INTEGER NOT NULL DEFAULT 1,"
	"  threads INTEGER NOT NULL DEFAULT 1,"
	"  memory_mib INTEGER NOT NULL,"
	"  kernel TEXT, initrd TEXT, cmdline TEXT,"
	"  graphics TEXT NOT NULL DEFAULT 'vnc',"
	"  template TEXT, notes TEXT,"
	"  seen INTEGER,"
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  UNIQUE (host_id, name),"
	"  UNIQUE (host_id, uuid));"
	"INSERT INTO vms_new SELECT id, host_id, uuid, name, state, machine, accel, firmware,"
	"  sockets, cores, threads, memory_mib, kernel, initrd, cmdline, graphics, template,"
	"  notes, seen, created, updated FROM vms;"
	"DROP TABLE vms;"
	"ALTER TABLE vms_new RENAME TO vms;"
	"CREATE INDEX vms_host ON vms (host_id, name);",
	/* 3 -> 4: disks vmtty made (deleted with --delete-disks, also on
	 * libvirt hosts), and changes waiting for a VM's next start. */
	"ALTER TABLE disks ADD COLUMN owned INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE vms ADD COLUMN pending TEXT;",
	/* 4 -> 5: the boot order, device kinds ("cdrom,disk"). */
	"ALTER TABLE vms ADD COLUMN boot_order TEXT;",
	/* 5 -> 6: what a libvirt host says of its domains beyond the config:
	 * the maximum memory (NULL: the configured memory), autostart, and
	 * whether the domain is persistent (defined) or transient. */
	"ALTER TABLE vms ADD COLUMN max_memory_mib INTEGER;"
	"ALTER TABLE vms ADD COLUMN autostart INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE vms ADD COLUMN persistent INTEGER NOT NULL DEFAULT 1;",
	/* 6 -> 7: creations under way, written before a file is made, so that
	 * one cut short (kill -9) is taken back by the next vmtty: who makes
	 * it (pid and its start time) and each path it made. */
	"CREATE TABLE creations ("
	"  id INTEGER PRIMARY KEY,"
	"  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  uuid TEXT NOT NULL,"
	"  pid INTEGER NOT NULL,"
	"  pid_start INTEGER NOT NULL,"
	"  started INTEGER NOT NULL);"
	"CREATE TABLE creation_paths ("
	"  id INTEGER PRIMARY KEY,"
	"  creation_id INTEGER NOT NULL REFERENCES creations(id) ON DELETE CASCADE,"
	"  kind TEXT NOT NULL CHECK (kind IN ('dir', 'file', 'volume')),"
	"  path TEXT NOT NULL);",
	/* 7 -> 8: tuning grows the emulator threads' pin, and hugepages holds
	 * the page size in KiB (it was a flag: on meant the default, 2 MiB). */
	"UPDATE tuning SET hugepages = 2048 WHERE hugepages = 1;"
	"ALTER TABLE tuning ADD COLUMN emulator_pin TEXT;",
	/* 8 -> 9: where other hosts send a VM migrating to a host. */
	"ALTER TABLE hosts ADD COLUMN migration_address TEXT;",
	/* 9 -> 10: snapshots as a tree (model/snapshot.h): the parent's name
	 * (NULL: a root), full (RAM and disks) or disk (external overlays),
	 * the VM's state when it was taken, the current one (at most one per
	 * VM), the bytes it holds (-1 unknown) and the files it keeps.  Rows
	 * of before keep their names and times; nothing wrote them. */
	"ALTER TABLE snapshots ADD COLUMN parent TEXT;"
	"ALTER TABLE snapshots ADD COLUMN kind TEXT NOT NULL DEFAULT 'full'"
	"  CHECK (kind IN ('full', 'disk'));"
	"ALTER TABLE snapshots ADD COLUMN vm_state TEXT;"
	"ALTER TABLE snapshots ADD COLUMN is_current INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE snapshots ADD COLUMN size INTEGER NOT NULL DEFAULT -1;"
	"ALTER TABLE snapshots ADD COLUMN files TEXT;"
	"CREATE UNIQUE INDEX snapshots_current ON snapshots (vm_id) WHERE is_current = 1;",
	/* 10 -> 11: the restart policy of built-in VMs: what `vmtty serve
	 * --supervise` does when a VM's qemu dies (autostart, of schema 6,
	 * now also means "started when the supervisor begins" for them). */
	"ALTER TABLE vms ADD COLUMN on_crash TEXT NOT NULL DEFAULT 'leave'"
	"  CHECK (on_crash IN ('leave', 'restart'));",
	/* 11 -> 12: disk bus "ide" is refused on machine types other than pc
	 * (q35 has no IDE bus).  A disk of before that said "ide" on q35 was
	 * always put on its AHCI controller, which is what "sata" says: the
	 * name changes, the guest sees the same disk. */
	"UPDATE disks SET bus = 'sata' WHERE bus = 'ide'"
	"  AND vm_id IN (SELECT id FROM vms WHERE machine <> 'pc');",
	/* 12 -> 13: snapshots under way on the built-in backend, written
	 * before the host is touched, so that one cut short (kill -9) is
	 * settled by the next vmtty: who takes it (pid and its start time),
	 * what it is to be (name, kind, description, parent), the VM's disk
	 * paths before it ("\n"-separated) and the overlay files it makes
	 * (a disk-only one; one line per disk, "" for none). */
	"CREATE TABLE snapshot_intents ("
	"  id INTEGER PRIMARY KEY,"
	"  vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('full', 'disk')),"
	"  description TEXT,"
	"  parent TEXT,"
	"  files TEXT,"
	"  overlays TEXT,"
	"  pid INTEGER NOT NULL,"
	"  pid_start INTEGER NOT NULL,"
	"  started INTEGER NOT NULL);",
};

_Static_assert(sizeof migrations / sizeof migrations[0] == DB_SCHEMA_VERSION,
    "one migration per schema version");

int64_t
db_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

sqlite3 *
db_sqlite(struct db *db)
{
	return db->sq;
}

const char *
db_path(const struct db *db)
{
	return db->path;
}

/*
 * A corrupt page can show up at any query, long after opening.  From then
 * on the inventory is refused like one that fails at open: no statement
 * that writes runs (no journal row saying what failed, no cache update),
 * so the file stays byte for byte as it was for whoever repairs it.
 */
static void
db_note_broken(struct db *db)
{
	int code = sqlite3_errcode(db->sq);

	if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
		db->broken = true;
}

static int
db_refuse_write(struct db *db)
{
	return err_set("inventory '%s' is corrupt; vmtty does not write to it: move it aside "
	    "(or restore a backup) and choose another with --db", db->path);
}

/*
 * Before this process first writes, read every page once (PRAGMA
 * quick_check: the b-trees and their pages, not the index contents): a
 * damaged table that the command would only reach after its first write
 * (a creation recorded, then the VM list read) refuses the command before
 * any byte changes, and a damaged journal refuses it instead of losing
 * its rows.  Commands that only read never pay for it.
 */
int
db_check_pages(struct db *db)
{
	sqlite3_stmt *st;
	int rc;

	if (db->checked)
		return 0;
	db->checked = true;
	if (sqlite3_prepare_v2(db->sq, "PRAGMA quick_check(1)", -1, &st, NULL) != SQLITE_OK) {
		db_note_broken(db);
		return db->broken ? db_refuse_write(db) : 0;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(st, 0);

		if (r == NULL || strcmp(r, "ok") != 0) {
			log_debug("db: quick_check of '%s': %s", db->path, r != NULL ? r : "?");
			db->broken = true;
		}
	} else if (rc != SQLITE_DONE) {
		db_note_broken(db);
	}
	sqlite3_finalize(st);
	return db->broken ? db_refuse_write(db) : 0;
}

int
db_error(struct db *db, const char *what)
{
	db_note_broken(db);
	return err_set("inventory '%s': %s: %s", db->path, what, sqlite3_errmsg(db->sq));
}

sqlite3_stmt *
db_prepare(struct db *db, const char *sql)
{
	sqlite3_stmt *st;

	for (size_t i = 0; i < db->ncache; i++)
		if (db->cache[i].sql == sql || strcmp(db->cache[i].sql, sql) == 0) {
			if (!sqlite3_stmt_readonly(db->cache[i].st) &&
			    (db->broken || db_check_pages(db) != 0))
				return db_refuse_write(db), NULL;
			return db->cache[i].st;
		}
	if (sqlite3_prepare_v2(db->sq, sql, -1, &st, NULL) != SQLITE_OK) {
		db_error(db, "cannot prepare a query");
		return NULL;
	}
	if (!sqlite3_stmt_readonly(st) && (db->broken || db_check_pages(db) != 0)) {
		sqlite3_finalize(st);
		return db_refuse_write(db), NULL;
	}
	if (db->ncache < DB_STMT_CACHE) {
		db->cache[db->ncache].sql = sql;
		db->cache[db->ncache].st = st;
		db->ncache++;
	} else {
		/* Cache full: a programming error worth seeing in the log. */
		log_debug("db: statement cache full, not caching: %s", sql);
	}
	return st;
}

void
db_done(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

char *
db_col_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t == NULL ? NULL : xstrdup((const char *)t);
}

int
db_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
}

/* Run SQL with no result rows (pragmas, DDL). */
static int
db_exec(struct db *db, const char *sql, const char *what)
{
	char *msg = NULL;

	if (db->broken)
		return db_refuse_write(db);
	if (sqlite3_exec(db->sq, sql, NULL, NULL, &msg) != SQLITE_OK) {
		db_note_broken(db);
		err_set("inventory '%s': %s: %s", db->path, what,
		    msg != NULL ? msg : sqlite3_errmsg(db->sq));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
db_int_query(struct db *db, const char *sql, int *out)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db->sq, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
db_changed(struct db *db)
{
	int v = 0;

	/* data_version moves only for commits made by other connections. */
	if (db_int_query(db, "PRAGMA data_version", &v) != 0 || v == db->data_version)
		return 0;
	db->data_version = v;
	return 1;
}

void
db_set_busy_timeout(struct db *db, int ms)
{
	sqlite3_busy_timeout(db->sq, ms);
}

int
db_begin(struct db *db)
{
	if (db_check_pages(db) != 0)
		return -1;
	return db_exec(db, "BEGIN IMMEDIATE", "cannot begin a transaction");
}

int
db_commit(struct db *db)
{
	return db_exec(db, "COMMIT", "cannot commit");
}

void
db_rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(db->sq))
		sqlite3_exec(db->sq, "ROLLBACK", NULL, NULL, NULL);
}

/* Make sure PATH exists as a regular file we may read and write, creating
 * it (and its directory) with private permissions when absent; *CREATED
 * says whether this call made the file. */
static int
db_prepare_file(const char *path, bool *created)
{
	struct stat st;
	int fd;

	if (stat(path, &st) == 0) {
		if (!S_ISREG(st.st_mode))
			return err_set("cannot open inventory '%s': it is not a regular file", path);
		if (access(path, R_OK | W_OK) != 0)
			return err_set("cannot open inventory '%s': %s", path, strerror(errno));
		return 0;
	}
	if (errno != ENOENT)
		return err_set("cannot open inventory '%s': %s", path, strerror(errno));
	if (paths_mkdir_parent(path, 0700) != 0)
		return err_prefix("cannot create inventory '%s'", path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno != EEXIST)
		return err_set("cannot create inventory '%s': %s", path, strerror(errno));
	if (fd >= 0) {
		close(fd);
		*created = true;
	}
	return 0;
}

/* A new inventory that could not be set up (a full disk, say) is removed
 * with SQLite's side files: a 0-byte file would pass for an inventory. */
static void
db_unlink_new(const char *path)
{
	static const char *const side[] = { "-wal", "-shm", "-journal" };

	for (size_t i = 0; i < sizeof side / sizeof side[0]; i++) {
		char *p = xasprintf("%s%s", path, side[i]);

		unlink(p);
		free(p);
	}
	unlink(path);
}

/* Copy the database to PATH.bak-vN before migrating it from version N. */
static int
db_backup(struct db *db, int from)
{
	char *bak = xasprintf("%s.bak-v%d", db->path, from);
	sqlite3 *dst = NULL;
	sqlite3_backup *b;
	int rc = -1;

	if (sqlite3_open_v2(bak, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		err_set("cannot create inventory backup '%s': %s", bak, sqlite3_errmsg(dst));
		goto out;
	}
	b = sqlite3_backup_init(dst, "main", db->sq, "main");
	if (b == NULL) {
		err_set("cannot back up inventory to '%s': %s", bak, sqlite3_errmsg(dst));
		goto out;
	}
	sqlite3_backup_step(b, -1);
	if (sqlite3_backup_finish(b) != SQLITE_OK) {
		err_set("cannot back up inventory to '%s': %s", bak, sqlite3_errmsg(dst));
		goto out;
	}
	chmod(bak, 0600);
	rc = 0;
out:
	sqlite3_close(dst);
	free(bak);
	return rc;
}

static int
db_migrate(struct db *db, int version)
{
	for (int v = version; v < DB_SCHEMA_VERSION; v++) {
		char bump[64];

		if (db_begin(db) != 0)
			return -1;
		snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
		if (db_exec(db, migrations[v], "cannot migrate the schema") != 0 ||
		    db_exec(db, bump, "cannot record the schema version") != 0 ||
		    db_commit(db) != 0) {
			db_rollback(db);
			return -1;
		}
		log_debug("db: migrated '%s' to schema %d", db->path, v + 1);
	}
	return 0;
}

/* After a migration: no row may point at a missing parent. */
static int
db_fk_check(struct db *db)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db->sq, "PRAGMA foreign_key_check", -1, &st, NULL) != SQLITE_OK)
		return db_error(db, "cannot check foreign keys");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		err_set("inventory '%s': after migrating, table '%s' has rows whose parent is "
		    "missing; the backup beside it is intact", db->path,
		    (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Check that the file is a vmtty inventory we understand.  This only reads,
 * so a file that is not ours is left byte for byte as it was.
 */
static int
db_check(struct db *db, int *version)
{
	int tables;

	/* The schema too is read (sqlite_master), so a damaged first page is
	 * found before anything is written (WAL mode, a migration). */
	if (db_int_query(db, "PRAGMA user_version", version) != 0 ||
	    db_int_query(db, "SELECT count(*) FROM sqlite_master", &tables) != 0) {
		int code = sqlite3_errcode(db->sq);

		if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
			return err_set("inventory '%s' is not a SQLite database or is corrupt; "
			    "move it aside or choose another with --db", db->path);
		return db_error(db, "cannot read the schema version");
	}
	if (*version > DB_SCHEMA_VERSION)
		return err_set("inventory '%s' has schema version %d, newer than this vmtty "
		    "understands (%d); upgrade vmtty", db->path, *version, DB_SCHEMA_VERSION);
	if (*version < 0)
		return err_set("inventory '%s' has schema version %d, which no vmtty writes; "
		    "it is damaged or not an inventory: move it aside or choose another "
		    "with --db", db->path, *version);
	if (*version == 0) {
		if (tables > 0)
			return err_set("inventory '%s' is a SQLite database but not a vmtty "
			    "inventory; choose another with --db", db->path);
	}
	return 0;
}

struct db *
db_open(const char *path)
{
	struct db *db;
	bool created = false;
	int version = 0;

	if (db_prepare_file(path, &created) != 0)
		return NULL;
	db = xcalloc(1, sizeof *db);
	db->path = xstrdup(path);
	if (sqlite3_open_v2(path, &db->sq, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		err_set("cannot open inventory '%s': %s", path,
		    db->sq != NULL ? sqlite3_errmsg(db->sq) : "out of memory");
		goto fail;
	}
	db_set_busy_timeout(db, DB_BUSY_MS);
	sqlite3_extended_result_codes(db->sq, 0);
	if (db_check(db, &version) != 0)
		goto fail;
	if (db_exec(db, "PRAGMA journal_mode = WAL", "cannot enable WAL") != 0 ||
	    db_exec(db, "PRAGMA synchronous = NORMAL", "cannot set synchronous mode") != 0)
		goto fail;
	if (version > 0 && version < DB_SCHEMA_VERSION && db_backup(db, version) != 0)
		goto fail;
	/* Foreign keys stay off while migrating (a table rebuild would cascade
	 * deletes); the result is checked before they are turned on. */
	if (db_migrate(db, version) != 0)
		goto fail;
	if (version < DB_SCHEMA_VERSION && db_fk_check(db) != 0)
		goto fail;
	if (db_exec(db, "PRAGMA foreign_keys = ON", "cannot enable foreign keys") != 0)
		goto fail;
	return db;
fail:
	db_close(db);
	if (created)
		db_unlink_new(path);
	return NULL;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	for (size_t i = 0; i < db->ncache; i++)
		sqlite3_finalize(db->cache[i].st);
	sqlite3_close(db->sq);
	free(db->path);
	free(db);
}
