/* The inventory: creation, permissions, refusal of foreign files,
 * migrations and backups. */
#include "unit.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "model/creation.h"
#include "model/db.h"
#include "model/host.h"
#include "model/snapshot.h"
#include "model/journal.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/xalloc.h"

static char *
read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;

	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	*len = (size_t)ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = xmalloc(*len + 1);
	assert_int_equal(fread(buf, 1, *len, fp), *len);
	fclose(fp);
	return buf;
}

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	fclose(fp);
}

static void
test_create_private(void **state)
{
	char *dir = unit_tmpdir();
	char *path = xasprintf("%s/a/b/inv.db", dir);
	char *parent = xasprintf("%s/a/b", dir);
	struct host h;
	struct stat st;
	struct db *db;

	(void)state;
	db = db_open(path);
	assert_non_null(db);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(parent, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* The first run creates the built-in host 'local'. */
	assert_int_equal(host_get(db, "local", &h), 0);
	assert_int_equal(h.kind, HOST_BUILTIN);
	assert_string_equal(h.uri, "vmtty:///local");
	host_clear(&h);
	db_close(db);
	/* Reopening keeps one 'local', not two. */
	db = db_open(path);
	assert_non_null(db);
	{
		struct host *hs;
		size_t n;

		assert_int_equal(host_list(db, &hs, &n), 0);
		assert_int_equal(n, 1);
		host_list_free(hs, n);
	}
	db_close(db);
	free(parent);
	free(path);
	unit_rmdir(dir);
}

/* A file of garbage is refused with its path named and left untouched. */
static void
test_garbage_untouched(void **state)
{
	char *dir = unit_tmpdir();
	char *path = xasprintf("%s/inv.db", dir);
	char *wal = xasprintf("%s-wal", path);
	unsigned char junk[8192];
	size_t len;
	char *after;

	(void)state;
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (unsigned char)(i * 131 + 7);
	write_file(path, junk, sizeof junk);
	assert_null(db_open(path));
	assert_non_null(strstr(err_get(), path));
	assert_non_null(strstr(err_get(), "not a SQLite database"));
	after = read_file(path, &len);
	assert_int_equal(len, sizeof junk);
	assert_memory_equal(after, junk, sizeof junk);
	assert_int_not_equal(access(wal, F_OK), 0);
	free(after);
	free(wal);
	free(path);
	unit_rmdir(dir);
}

static void
make_sqlite(const char *path, const char *sql)
{
	sqlite3 *sq;

	assert_int_equal(sqlite3_open(path, &sq), SQLITE_OK);
	assert_int_equal(sqlite3_exec(sq, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(sq);
}

static void
test_newer_schema_refused(void **state)
{
	char *dir = unit_tmpdir();
	char *path = xasprintf("%s/inv.db", dir);
	char *before, *after;
	size_t l1, l2;

	(void)state;
	make_sqlite(path, "CREATE TABLE x (a); PRAGMA user_version = 99;");
	before = read_file(path, &l1);
	assert_null(db_open(path));
	assert_non_null(strstr(err_get(), "newer than this vmtty"));
	assert_non_null(strstr(err_get(), path));
	after = read_file(path, &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(before, after, l1);
	free(before);
	free(after);
	free(path);
	unit_rmdir(dir);
}

/* An int from one SQL query on PATH, outside vmtty. */
static int
sqlite_int(const char *path, const char *sql)
{
	sqlite3 *sq;
	sqlite3_stmt *st;
	int v;

	assert_int_equal(sqlite3_open(path, &sq), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(sq, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(sq);
	return v;
}

/* A schema version below zero is no vmtty's: refused, and left as it was
 * (not reset to 0 and "migrated" over the existing tables). */
static void
test_negative_schema_refused(void **state)
{
	char *dir = unit_tmpdir();
	char *path = xasprintf("%s/inv.db", dir);
	char *before, *after;
	struct db *db;
	size_t l1, l2;

	(void)state;
	assert_non_null(db = db_open(path));
	db_close(db);
	make_sqlite(path, "PRAGMA user_version = -1;");
	before = read_file(path, &l1);
	assert_null(db_open(path));
	assert_non_null(strstr(err_get(), "schema version -1"));
	assert_non_null(strstr(err_get(), path));
	after = read_file(path, &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(before, after, l1);
	assert_int_equal(sqlite_int(path, "PRAGMA user_version"), -1);
	free(before);
	free(after);
	free(path);
	unit_rmdir(dir);
}

/* A corrupt page found after opening (before the first write): the
 * command writes nothing, no journal row saying it failed either. */
static void
test_corrupt_page_no_write(void **state)
{
	char *dir = unit_tmpdir();
	char *path = xasprintf("%s/inv.db", dir);
	char *before, *after, junk[65536];
	struct db *db;
	size_t l1, l2;
	int page, size, fd;

	(void)state;
	assert_non_null(db = db_open(path));
	assert_int_equal(host_add(db, "lab", "test:///default"), 0);
	db_close(db);
	/* Garbage over the page of the index that keeps host names unique. */
	page = sqlite_int(path, "SELECT rootpage FROM sqlite_master "
	    "WHERE name = 'sqlite_autoindex_hosts_1'");
	size = sqlite_int(path, "PRAGMA page_size");
	assert_true(page > 1 && size <= (int)sizeof junk);
	memset(junk, 0xde, (size_t)size);
	assert_true((fd = open(path, O_WRONLY)) >= 0);
	assert_int_equal(pwrite(fd, junk, (size_t)size, (off_t)(page - 1) * size), size);
	close(fd);
	before = read_file(path, &l1);

	assert_non_null(db = db_open(path));
	/* Found before the first write: every page is read first. */
	assert_int_equal(host_add(db, "lab2", "test:///default"), -1);
	assert_non_null(strstr(err_get(), "is corrupt; vmtty does not write to it"));
	assert_int_equal(journal_add(db, "lab2", NULL, "host-add", false, err_get()), -1);
	assert_non_null(strstr(err_get(), "corrupt"));
	assert_int_equal(db_begin(db), -1);
	db_close(db);
	after = read_file(path, &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(before, after, l1);
	free(before);
	free(after);
	free(path);
	unit_rmdir(dir);
}

static void
test_foreign_sqlite_refused(void **state)
{
	char *dir = unit_tmpdir();
	char *path = xasprintf("%s/other.db", dir);

	(void)state;
	make_sqlite(path, "CREATE TABLE photos (id INTEGER);");
	assert_null(db_open(path));
	assert_non_null(strstr(err_get(), "not a vmtty inventory"));
	free(path);
	unit_rmdir(dir);
}

static void
test_unwritable_path(void **state)
{
	char *dir = unit_tmpdir();
	char *file = xasprintf("%s/plainfile", dir);
	char *path = xasprintf("%s/sub/inv.db", file);

	(void)state;
	write_file(file, "x", 1);
	assert_null(db_open(path));
	assert_non_null(strstr(err_get(), "plainfile"));
	free(path);
	free(file);
	unit_rmdir(dir);
}

static void
test_directory_refused(void **state)
{
	char *dir = unit_tmpdir();

	(void)state;
	assert_null(db_open(dir));
	assert_non_null(strstr(err_get(), "not a regular file"));
	unit_rmdir(dir);
}

/* Another connection's commit is seen by db_changed; our own is not. */
static void
test_changed(void **state)
{
	char *dir = unit_tmpdir();
	char *path = xasprintf("%s/inv.db", dir);
	struct db *a, *b;

	(void)state;
	a = db_open(path);
	b = db_open(path);
	assert_non_null(a);
	assert_non_null(b);
	db_changed(a);
	assert_int_equal(db_changed(a), 0);
	assert_int_equal(host_add(a, "h1", "test:///default"), 0);
	assert_int_equal(db_changed(a), 0);
	assert_int_equal(host_add(b, "h2", "test:///default"), 0);
	assert_int_equal(db_changed(a), 1);
	assert_int_equal(db_changed(a), 0);
	db_close(a);
	db_close(b);
	free(path);
	unit_rmdir(dir);
}

/* An inventory of schema 2 (hosts with contact columns, VM UUIDs unique
 * across hosts) is migrated, with a backup of the old file, keeping its
 * VMs and their disks. */
static void
test_migrate_with_backup(void **state)
{
	char *dir = unit_tmpdir();
	char *path = xasprintf("%s/inv.db", dir);
	char *bak = xasprintf("%s.bak-v2", path);
	struct host h;
	struct db *db;
	sqlite3 *sq;
	sqlite3_stmt *st;

	(void)state;
	db = db_open(path);
	assert_non_null(db);
	assert_int_equal(host_add(db, "lab", "test:///default"), 0);
	db_close(db);
	/* Take it back to schema 2 by hand: vms with a global UNIQUE uuid,
	 * disks without the owned flag of schema 4. */
	make_sqlite(path, "DROP INDEX snapshots_current; ALTER TABLE snapshots DROP COLUMN parent;"
	    "ALTER TABLE snapshots DROP COLUMN kind; ALTER TABLE snapshots DROP COLUMN vm_state;"
	    "ALTER TABLE snapshots DROP COLUMN is_current; ALTER TABLE snapshots DROP COLUMN size;"
	    "ALTER TABLE snapshots DROP COLUMN files;"
	    "DROP TABLE creation_paths; DROP TABLE creations; DROP TABLE snapshot_intents;"
	    "ALTER TABLE tuning DROP COLUMN emulator_pin; ALTER TABLE hosts DROP COLUMN migration_address;"
	    "ALTER TABLE disks DROP COLUMN owned; DROP TABLE vms; CREATE TABLE vms (id INTEGER PRIMARY KEY,"
	    " host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	    " uuid TEXT NOT NULL UNIQUE, name TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'off',"
	    " machine TEXT NOT NULL DEFAULT 'q35', accel TEXT NOT NULL DEFAULT 'auto',"
	    " firmware TEXT NOT NULL DEFAULT 'bios', sockets INTEGER NOT NULL DEFAULT 1,"
	    " cores INTEGER NOT NULL DEFAULT 1, threads INTEGER NOT NULL DEFAULT 1,"
	    " memory_mib INTEGER NOT NULL, kernel TEXT, initrd TEXT, cmdline TEXT,"
	    " graphics TEXT NOT NULL DEFAULT 'vnc', template TEXT, notes TEXT, seen INTEGER,"
	    " created INTEGER NOT NULL, updated INTEGER NOT NULL, UNIQUE (host_id, name));"
	    "INSERT INTO vms (id, host_id, uuid, name, memory_mib, created, updated)"
	    " VALUES (7, 1, '11111111-0000-4000-8000-000000000001', 'keep', 256, 0, 0);"
	    "INSERT INTO disks (vm_id, idx, path) VALUES (7, 0, '/img/keep.qcow2');"
	    "INSERT INTO disks (vm_id, idx, path, bus) VALUES (7, 1, '/img/old-ide.qcow2', 'ide');"
	    "INSERT INTO vms (id, host_id, uuid, name, machine, memory_mib, created, updated)"
	    " VALUES (8, 1, '11111111-0000-4000-8000-000000000002', 'pcvm', 'pc', 64, 0, 0);"
	    "INSERT INTO disks (vm_id, idx, path, bus) VALUES (8, 0, '/img/pc-ide.qcow2', 'ide');"
	    "INSERT INTO tuning (vm_id, hugepages) VALUES (7, 1);"
	    "INSERT INTO snapshots (vm_id, name, description, created) VALUES (7, 'old', 'x', 5);"
	    "PRAGMA user_version = 2;");
	db = db_open(path);
	assert_non_null(db);
	assert_int_equal(host_get(db, "lab", &h), 0);
	assert_int_equal(h.last_seen, 0);
	assert_int_equal(host_set_contact(db, h.id, NULL), 0);
	host_clear(&h);
	assert_int_equal(host_get(db, "lab", &h), 0);
	assert_true(h.last_seen > 0);
	host_clear(&h);
	{
		struct vm_config c;
		const struct vm_seen seen = { "11111111-0000-4000-8000-000000000001", "keep",
			"off", 1, 256, 0, false, true };
		struct vm_summary *v;
		size_t nv;

		/* The VM and its disk survived the table rebuild... */
		assert_int_equal(vm_load(db, 7, &c), 0);
		assert_int_equal(c.ndisks, 2);
		assert_string_equal(c.disks[0].path, "/img/keep.qcow2");
		/* Schema 12: IDE on q35 was its AHCI all along: now said "sata",
		 * and the VM still saves; on pc it stays IDE. */
		assert_string_equal(c.disks[1].bus, "sata");
		assert_int_equal(vm_config_validate(&c), 0);
		vm_config_clear(&c);
		assert_int_equal(vm_load(db, 8, &c), 0);
		assert_string_equal(c.disks[0].bus, "ide");
		assert_int_equal(vm_config_validate(&c), 0);
		vm_config_clear(&c);
		assert_int_equal(vm_load(db, 7, &c), 0);
		/* Schema 4: not made by vmtty, nothing pending; schema 5: no
		 * boot order (the disks in order). */
		assert_false(c.disks[0].owned);
		assert_null(c.pending);
		assert_null(c.boot_order);
		/* Schema 8: hugepages "on" is the 2 MiB size, no emulator pin. */
		assert_int_equal(c.tuning.hugepage_kib, 2048);
		assert_null(c.tuning.emulator_pin);
		vm_config_clear(&c);
		/* Schema 6: persistent, no autostart, the memory the maximum. */
		assert_int_equal(vm_list(db, "local", &v, &nv), 0);
		assert_int_equal(nv, 2);
		assert_true(v[0].persistent);
		assert_false(v[0].autostart);
		assert_int_equal(v[0].max_memory_mib, v[0].memory_mib);
		/* Schema 11: left crashed, as before. */
		assert_false(v[0].restart_on_crash);
		vm_summary_free(v, nv);
		assert_int_equal(vm_load(db, 7, &c), 0);
		assert_string_equal(c.on_crash, "leave");
		vm_config_clear(&c);
		/* Schema 7: no creation under way. */
		{
			struct creation *cs;
			size_t nc;

			assert_int_equal(creation_list(db, &cs, &nc), 0);
			assert_int_equal(nc, 0);
			creation_free(cs, nc);
		}
		/* Schema 13: no snapshot under way. */
		{
			struct vm_snapshot_intent *si;
			size_t nsi;

			assert_int_equal(snapshot_intent_list(db, &si, &nsi), 0);
			assert_int_equal(nsi, 0);
			snapshot_intent_free(si, nsi);
		}
		/* Schema 10: a snapshot row of before is a full one, not current,
		 * of an unknown state and size, keeping no file. */
		{
			struct vm_snapshot *sn;
			size_t ns;

			assert_int_equal(snapshot_db_list(db, 7, &sn, &ns), 0);
			assert_int_equal(ns, 1);
			assert_string_equal(sn[0].name, "old");
			assert_string_equal(sn[0].description, "x");
			assert_int_equal(sn[0].created, 5);
			assert_int_equal(sn[0].kind, VM_SNAPSHOT_FULL);
			assert_null(sn[0].parent);
			assert_null(sn[0].vm_state);
			assert_false(sn[0].current);
			assert_int_equal(sn[0].size, -1);
			assert_null(sn[0].files);
			vm_snapshot_free_all(sn, ns);
		}
		/* ...and the same UUID may now exist on another host. */
		assert_int_equal(host_get(db, "lab", &h), 0);
		assert_int_equal(vm_cache_sync(db, h.id, &seen, 1, NULL, NULL), 0);
		host_clear(&h);
	}
	db_close(db);
	/* The backup is the schema-2 file, with its data. */
	assert_int_equal(sqlite3_open(bak, &sq), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(sq, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 2);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(sq, "SELECT count(*) FROM hosts WHERE name = 'lab'",
	    -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	sqlite3_close(sq);
	free(bak);
	free(path);
	unit_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_private),
		cmocka_unit_test(test_garbage_untouched),
		cmocka_unit_test(test_newer_schema_refused),
		cmocka_unit_test(test_negative_schema_refused),
		cmocka_unit_test(test_corrupt_page_no_write),
		cmocka_unit_test(test_foreign_sqlite_refused),
		cmocka_unit_test(test_unwritable_path),
		cmocka_unit_test(test_directory_refused),
		cmocka_unit_test(test_changed),
		cmocka_unit_test(test_migrate_with_backup),
	};

	return cmocka_run_group_tests_name("db", tests, NULL, NULL);
}
