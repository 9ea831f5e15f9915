/* Snapshot records in the inventory (model/snapshot), and the tree order
 * and revert sentence of ops/snapshot, against temp inventories. */
#include "unit.h"

#include "model/db.h"
#include "model/host.h"
#include "model/snapshot.h"
#include "model/vm.h"
#include "ops/snapshot.h"
#include "util/err.h"
#include "util/xalloc.h"

struct fx {
	char *dir;
	struct db *db;
	struct vm_config c;
};

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof *f);
	struct vm_disk *d;
	struct host h;
	char *path;

	f->dir = unit_tmpdir();
	path = xasprintf("%s/inv.db", f->dir);
	f->db = db_open(path);
	free(path);
	if (f->db == NULL || host_get(f->db, "local", &h) != 0)
		return -1;
	vm_config_init(&f->c);
	f->c.host_id = h.id;
	host_clear(&h);
	f->c.name = xstrdup("g");
	vm_config_add_disk(&f->c, "/img/g.qcow2");
	d = vm_config_add_disk(&f->c, "/img/cd.iso");
	d->cdrom = true;
	free(d->bus);
	d->bus = xstrdup("sata");
	if (vm_insert(f->db, &f->c) != 0) {
		fprintf(stderr, "setup: %s\n", err_get());
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	vm_config_clear(&f->c);
	db_close(f->db);
	unit_rmdir(f->dir);
	free(f);
	return 0;
}

static struct vm_snapshot
snap(const char *name, const char *parent, int64_t created, enum vm_snapshot_kind kind,
    const char *files)
{
	struct vm_snapshot s = { 0 };

	s.name = xstrdup(name);
	s.parent = parent != NULL ? xstrdup(parent) : NULL;
	s.created = created;
	s.kind = kind;
	s.vm_state = xstrdup("running");
	s.size = 1234;
	s.files = files != NULL ? xstrdup(files) : NULL;
	return s;
}

static void
test_kind_names(void **state)
{
	enum vm_snapshot_kind k;

	(void)state;
	assert_string_equal(vm_snapshot_kind_name(VM_SNAPSHOT_FULL), "full");
	assert_string_equal(vm_snapshot_kind_name(VM_SNAPSHOT_DISK), "disk");
	assert_int_equal(vm_snapshot_kind_parse("disk", &k), 0);
	assert_int_equal(k, VM_SNAPSHOT_DISK);
	assert_int_equal(vm_snapshot_kind_parse("full", &k), 0);
	assert_int_equal(k, VM_SNAPSHOT_FULL);
	assert_int_equal(vm_snapshot_kind_parse("internal", &k), -1);
	assert_int_equal(vm_snapshot_kind_parse(NULL, &k), -1);
}

/* Each add becomes the current one; the list is oldest first with every
 * field as written. */
/* The file of each disk: one line each, none past the last. */
static void
test_file_of_disk(void **state)
{
	struct vm_snapshot s = { .files = (char *)"/a.qcow2\n/seed.iso\n/b.qcow2" };
	struct vm_snapshot none = { 0 };
	char *f;

	(void)state;
	f = vm_snapshot_file(&s, 0);
	assert_string_equal(f, "/a.qcow2");
	free(f);
	f = vm_snapshot_file(&s, 2);
	assert_string_equal(f, "/b.qcow2");
	free(f);
	assert_null(vm_snapshot_file(&s, 3));
	assert_null(vm_snapshot_file(&none, 0));
}

static void
test_add_list_current(void **state)
{
	struct fx *f = *state;
	struct vm_snapshot a = snap("a", NULL, 100, VM_SNAPSHOT_FULL, "/img/g.qcow2\n/img/cd.iso");
	struct vm_snapshot b = snap("b", "a", 200, VM_SNAPSHOT_DISK, "/img/g.qcow2\n/img/cd.iso");
	struct vm_snapshot *all;
	size_t n;

	b.description = xstrdup("it's \"quoted\"; DROP TABLE snapshots;");
	assert_int_equal(snapshot_db_list(f->db, f->c.id, &all, &n), 0);
	assert_int_equal(n, 0);
	free(all);
	assert_int_equal(snapshot_db_add(f->db, f->c.id, &b), 0);
	assert_int_equal(snapshot_db_add(f->db, f->c.id, &a), 0);
	assert_int_equal(snapshot_db_list(f->db, f->c.id, &all, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(all[0].name, "a");
	assert_null(all[0].parent);
	assert_true(all[0].current);
	assert_string_equal(all[1].name, "b");
	assert_string_equal(all[1].parent, "a");
	assert_false(all[1].current);
	assert_int_equal(all[1].kind, VM_SNAPSHOT_DISK);
	assert_int_equal(all[1].created, 200);
	assert_int_equal(all[1].size, 1234);
	assert_string_equal(all[1].vm_state, "running");
	assert_string_equal(all[1].files, "/img/g.qcow2\n/img/cd.iso");
	assert_string_equal(all[1].description, "it's \"quoted\"; DROP TABLE snapshots;");
	assert_int_equal(vm_snapshot_find(all, n, "b"), 1);
	assert_int_equal(vm_snapshot_find(all, n, "c"), -1);
	vm_snapshot_free_all(all, n);

	assert_int_equal(snapshot_db_set_current(f->db, f->c.id, "b"), 0);
	assert_int_equal(snapshot_db_list(f->db, f->c.id, &all, &n), 0);
	assert_false(all[0].current);
	assert_true(all[1].current);
	vm_snapshot_free_all(all, n);
	/* A missing name changes nothing. */
	assert_int_equal(snapshot_db_set_current(f->db, f->c.id, "zz"), -1);
	assert_non_null(strstr(err_get(), "no snapshot named 'zz'"));
	assert_int_equal(snapshot_db_list(f->db, f->c.id, &all, &n), 0);
	assert_true(all[1].current);
	vm_snapshot_free_all(all, n);
	vm_snapshot_clear(&a);
	vm_snapshot_clear(&b);
}

/* A duplicate name, a bad name and two current ones are refused whole. */
static void
test_refusals(void **state)
{
	struct fx *f = *state;
	struct vm_snapshot a = snap("a", NULL, 1, VM_SNAPSHOT_FULL, NULL);
	struct vm_snapshot two[2] = { snap("x", NULL, 1, VM_SNAPSHOT_FULL, NULL),
		snap("y", "x", 2, VM_SNAPSHOT_FULL, NULL) };
	struct vm_snapshot *all;
	size_t n;

	assert_int_equal(snapshot_db_add(f->db, f->c.id, &a), 0);
	assert_int_equal(snapshot_db_add(f->db, f->c.id, &a), -1);
	assert_non_null(strstr(err_get(), "'a' is already recorded"));
	free(a.name);
	a.name = xstrdup("../x");
	assert_int_equal(snapshot_db_add(f->db, f->c.id, &a), -1);
	assert_non_null(strstr(err_get(), "snapshot name '../x'"));
	two[0].current = two[1].current = true;
	assert_int_equal(snapshot_db_replace(f->db, f->c.id, two, 2), -1);
	/* The failed replace left the old records. */
	assert_int_equal(snapshot_db_list(f->db, f->c.id, &all, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(all[0].name, "a");
	assert_true(all[0].current);
	vm_snapshot_free_all(all, n);
	vm_snapshot_clear(&a);
	vm_snapshot_clear(&two[0]);
	vm_snapshot_clear(&two[1]);
}

/* snapshot_db_record: the records and the VM's disk paths in one go; the
 * records go with the VM. */
static void
test_record_with_paths(void **state)
{
	struct fx *f = *state;
	struct vm_snapshot s = snap("d1", NULL, 5, VM_SNAPSHOT_DISK, "/img/g.qcow2\n/img/cd.iso");
	struct vm_snapshot *all;
	struct vm_config c;
	size_t n;

	s.current = true;
	free(f->c.disks[0].path);
	f->c.disks[0].path = xstrdup("/img/g.d1.qcow2");
	assert_int_equal(snapshot_db_record(f->db, &f->c, &s, 1), 0);
	assert_int_equal(vm_load(f->db, f->c.id, &c), 0);
	assert_string_equal(c.disks[0].path, "/img/g.d1.qcow2");
	assert_string_equal(c.disks[1].path, "/img/cd.iso");
	assert_true(c.disks[1].cdrom);
	vm_config_clear(&c);
	assert_int_equal(snapshot_db_list(f->db, f->c.id, &all, &n), 0);
	assert_int_equal(n, 1);
	assert_true(all[0].current);
	vm_snapshot_free_all(all, n);
	/* No records: all gone. */
	assert_int_equal(snapshot_db_record(f->db, &f->c, NULL, 0), 0);
	assert_int_equal(snapshot_db_list(f->db, f->c.id, &all, &n), 0);
	assert_int_equal(n, 0);
	free(all);
	assert_int_equal(snapshot_db_add(f->db, f->c.id, &s), 0);
	assert_int_equal(vm_delete(f->db, f->c.id), 0);
	assert_int_equal(snapshot_db_list(f->db, f->c.id, &all, &n), 0);
	assert_int_equal(n, 0);
	free(all);
	vm_snapshot_clear(&s);
}

/* The files other VMs' snapshots keep, one per line of each record, with
 * whose they are; this VM's own are left out. */
static void
test_other_files(void **state)
{
	struct fx *f = *state;
	struct vm_snapshot mine = snap("m", NULL, 1, VM_SNAPSHOT_DISK, "/img/g.qcow2\n/img/cd.iso");
	struct vm_snapshot theirs = snap("t", NULL, 1, VM_SNAPSHOT_DISK, "/img/o.qcow2\n/img/o2.qcow2");
	struct vm_snapshot_file *fl;
	struct vm_config o;
	size_t n;

	vm_config_init(&o);
	o.host_id = f->c.host_id;
	o.name = xstrdup("other");
	vm_config_add_disk(&o, "/img/o.ov.qcow2");
	assert_int_equal(vm_insert(f->db, &o), 0);
	assert_int_equal(snapshot_db_add(f->db, f->c.id, &mine), 0);
	assert_int_equal(snapshot_db_add(f->db, o.id, &theirs), 0);
	assert_int_equal(snapshot_db_files(f->db, f->c.id, &fl, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(fl[0].vm, "other");
	assert_string_equal(fl[0].snapshot, "t");
	assert_string_equal(fl[0].path, "/img/o.qcow2");
	assert_string_equal(fl[1].path, "/img/o2.qcow2");
	vm_snapshot_files_free(fl, n);
	assert_int_equal(snapshot_db_files(f->db, o.id, &fl, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(fl[0].vm, "g");
	vm_snapshot_files_free(fl, n);
	vm_config_clear(&o);
	vm_snapshot_clear(&mine);
	vm_snapshot_clear(&theirs);
}

/* The tree: parents first, siblings oldest first, depths; a snapshot whose
 * parent is not there is a root. */
static void
test_tree_order(void **state)
{
	struct vm_snapshot all[6] = {
		snap("a", NULL, 1, VM_SNAPSHOT_FULL, NULL),
		snap("b", "a", 2, VM_SNAPSHOT_FULL, NULL),
		snap("c", "a", 3, VM_SNAPSHOT_DISK, NULL),
		snap("d", "b", 4, VM_SNAPSHOT_FULL, NULL),
		snap("e", "gone", 5, VM_SNAPSHOT_FULL, NULL),
		snap("f", "c", 6, VM_SNAPSHOT_FULL, NULL),
	};
	const char *want[] = { "a", "b", "d", "c", "f", "e" };
	const int wdepth[] = { 0, 1, 2, 1, 2, 0 };
	int depth[6];

	(void)state;
	snapshot_tree(all, 6, depth);
	for (size_t i = 0; i < 6; i++) {
		assert_string_equal(all[i].name, want[i]);
		assert_int_equal(depth[i], wdepth[i]);
	}
	for (size_t i = 0; i < 6; i++)
		vm_snapshot_clear(&all[i]);
}

/* What the TUI's confirmation says a revert discards. */
static void
test_revert_sentence(void **state)
{
	struct fx *f = *state;
	struct vm_snapshot all[2] = {
		snap("full1", NULL, 1, VM_SNAPSHOT_FULL, NULL),
		snap("disk1", "full1", 2, VM_SNAPSHOT_DISK, NULL),
	};
	char buf[512];

	snapshot_revert_discards(&f->c, all, 2, "full1", true, buf, sizeof buf);
	assert_string_equal(buf, "Reverting VM 'g' to 'full1' discards every change to its disks "
	    "since then and what the running guest has in memory; the disks become as they were "
	    "at 'full1' (with its memory), and the guest goes on running from there.");
	snapshot_revert_discards(&f->c, all, 2, "disk1", true, buf, sizeof buf);
	assert_non_null(strstr(buf, "(disks only, no memory), and the VM is powered off and "
	    "started again on them."));
	snapshot_revert_discards(&f->c, all, 2, "disk1", false, buf, sizeof buf);
	assert_non_null(strstr(buf, "the VM stays off."));
	assert_null(strstr(buf, "in memory"));
	snapshot_revert_discards(&f->c, all, 2, "none", false, buf, sizeof buf);
	assert_string_equal(buf, "");
	vm_snapshot_clear(&all[0]);
	vm_snapshot_clear(&all[1]);
}


static void
said(const char *line, void *arg)
{
	(*(int *)arg)++;
	(void)line;
}

/* Snapshots under way: recorded with their overlays, listed, ended; the
 * next vmtty leaves one whose taker lives, drops one whose snapshot was
 * recorded, and one whose host it cannot reach waits. */
static void
test_intents(void **state)
{
	struct fx *f = *state;
	struct vm_snapshot a = snap("a", NULL, 100, VM_SNAPSHOT_DISK, "/img/g.qcow2\n/img/cd.iso");
	struct vm_snapshot_intent *v;
	int64_t live, done, away;
	size_t n;
	int lines = 0;

	a.description = xstrdup("d");
	assert_int_equal(snapshot_intent_begin(f->db, f->c.id, &a, getpid(), -1, &live), 0);
	assert_int_equal(snapshot_intent_overlays(f->db, live, "/img/g.a.qcow2\n"), 0);
	assert_int_equal(snapshot_intent_list(f->db, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].id, live);
	assert_int_equal(v[0].vm_id, f->c.id);
	assert_string_equal(v[0].s.name, "a");
	assert_int_equal(v[0].s.kind, VM_SNAPSHOT_DISK);
	assert_string_equal(v[0].s.description, "d");
	assert_null(v[0].s.parent);
	assert_string_equal(v[0].s.files, "/img/g.qcow2\n/img/cd.iso");
	assert_string_equal(v[0].overlays, "/img/g.a.qcow2\n");
	assert_int_equal(v[0].pid, getpid());
	assert_true(v[0].s.created > 0);
	snapshot_intent_free(v, n);

	/* Its taker died after recording it: only the intent goes. */
	assert_int_equal(snapshot_db_add(f->db, f->c.id, &a), 0);
	assert_int_equal(snapshot_intent_begin(f->db, f->c.id, &a, unit_dead_pid(), 1, &done), 0);
	/* Not recorded, and no host to settle it on: it waits. */
	free(a.name);
	a.name = xstrdup("b");
	assert_int_equal(snapshot_intent_begin(f->db, f->c.id, &a, unit_dead_pid(), 1, &away), 0);
	assert_int_equal(snapshot_recover(f->db, NULL, NULL, said, &lines), 0);
	assert_int_equal(lines, 0);
	assert_int_equal(snapshot_intent_list(f->db, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].id, live);
	assert_int_equal(v[1].id, away);
	snapshot_intent_free(v, n);
	assert_int_equal(snapshot_intent_end(f->db, live), 1);
	assert_int_equal(snapshot_intent_end(f->db, live), 0);
	/* The VM's deletion takes its intents with it. */
	assert_int_equal(vm_delete(f->db, f->c.id), 0);
	assert_int_equal(snapshot_intent_list(f->db, &v, &n), 0);
	assert_int_equal(n, 0);
	snapshot_intent_free(v, n);
	vm_snapshot_clear(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_file_of_disk),
		cmocka_unit_test_setup_teardown(test_add_list_current, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_with_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_files, setup, teardown),
		cmocka_unit_test(test_tree_order),
		cmocka_unit_test_setup_teardown(test_revert_sentence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intents, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
