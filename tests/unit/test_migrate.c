/* ops/migrate without a host: the progress figures, the bandwidth option,
 * stopping, and the inventory after a move (migrate_record), against temp
 * inventories. */
#include "unit.h"

#include "model/db.h"
#include "model/host.h"
#include "model/journal.h"
#include "model/vm.h"
#include "ops/migrate.h"
#include "util/err.h"
#include "util/xalloc.h"

struct fx {
	char *dir;
	struct db *db;
	struct host a, b;
	struct vm_config c;		/* on A */
};

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof *f);
	char *path;

	f->dir = unit_tmpdir();
	path = xasprintf("%s/inv.db", f->dir);
	f->db = db_open(path);
	free(path);
	if (f->db == NULL)
		return -1;
	assert_int_equal(host_add(f->db, "A", "test:///default"), 0);
	assert_int_equal(host_add(f->db, "B", "test:///default"), 0);
	assert_int_equal(host_get(f->db, "A", &f->a), 0);
	assert_int_equal(host_get(f->db, "B", &f->b), 0);
	vm_config_init(&f->c);
	f->c.host_id = f->a.id;
	f->c.name = xstrdup("web");
	assert_int_equal(vm_insert(f->db, &f->c), 0);
	free(f->c.host);
	f->c.host = xstrdup("A");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	vm_config_clear(&f->c);
	host_clear(&f->a);
	host_clear(&f->b);
	db_close(f->db);
	unit_rmdir(f->dir);
	free(f);
	return 0;
}

/* The host the inventory has VM ID on. */
static char *
vm_host(struct db *db, int64_t id)
{
	struct vm_config c;
	char *h;

	assert_int_equal(vm_load(db, id, &c), 0);
	h = xstrdup(c.host);
	vm_config_clear(&c);
	return h;
}

/* M as migrate_run leaves it after a move to B. */
static void
moved(struct fx *f, struct migration *m)
{
	struct hv_migrate_opts o = { .bandwidth_mib = 5 };

	migrate_init(m, &f->c, &o);
	m->to = xstrdup(f->b.name);
	m->to_id = f->b.id;
	snprintf(m->message, sizeof m->message, "moved live from host 'A' to host 'B'");
}

static void
test_amounts(void **state)
{
	struct hv_migrate_progress p = {
		.mem_total = 1000, .mem_processed = 400, .mem_remaining = 750,
		.disk_total = -1, .disk_processed = -1, .disk_remaining = -1,
	};
	int64_t all, did, rem;

	(void)state;
	assert_int_equal(migrate_amounts(&p, &all, &did, &rem), 25);
	assert_int_equal(all, 1000);
	assert_int_equal(did, 400);
	assert_int_equal(rem, 750);
	/* Disks count with memory. */
	p.disk_total = 3000;
	p.disk_processed = 3000;
	p.disk_remaining = 0;
	assert_int_equal(migrate_amounts(&p, &all, &did, NULL), 81);
	assert_int_equal(all, 4000);
	assert_int_equal(did, 3400);
	/* Nothing known yet: 0, not a division by zero. */
	p = (struct hv_migrate_progress){ .mem_total = -1, .mem_remaining = -1,
		.disk_total = -1, .disk_remaining = -1 };
	assert_int_equal(migrate_amounts(&p, NULL, NULL, NULL), 0);
	/* More left than the total (dirtied again): never below 0. */
	p.mem_total = 100;
	p.mem_remaining = 150;
	assert_int_equal(migrate_amounts(&p, NULL, NULL, NULL), 0);
}

static void
test_bandwidth(void **state)
{
	uint64_t mib = 0;

	(void)state;
	assert_int_equal(migrate_parse_bandwidth("1", &mib), 0);
	assert_int_equal(mib, 1);
	assert_int_equal(migrate_parse_bandwidth("1000000", &mib), 0);
	assert_int_equal(mib, 1000000);
	assert_int_equal(migrate_parse_bandwidth("0", &mib), -1);
	assert_string_equal(err_get(),
	    "bandwidth: '0' is not a whole number of MiB/s from 1 to 1000000");
	assert_int_equal(migrate_parse_bandwidth("1000001", &mib), -1);
	assert_int_equal(migrate_parse_bandwidth("2M", &mib), -1);
	assert_int_equal(migrate_parse_bandwidth("", &mib), -1);
}

/* Stopping only sets a flag, except in post-copy: then it says why not. */
static void
test_stop(void **state)
{
	struct fx *f = *state;
	struct hv_migrate_opts o = { 0 };
	struct migration m;

	migrate_init(&m, &f->c, &o);
	assert_false(atomic_load(&m.stop));
	assert_int_equal(migrate_stop(&m), 0);
	assert_true(atomic_load(&m.stop));
	atomic_store(&m.stop, false);
	atomic_store(&m.postcopy, true);
	assert_int_equal(migrate_stop(&m), -1);
	assert_false(atomic_load(&m.stop));
	assert_non_null(strstr(err_get(), "VM 'web' runs on the destination already (post-copy)"));
	migrate_clear(&m);
}

/* A move: the VM on B, both journals say so. */
static void
test_record_moved(void **state)
{
	struct fx *f = *state;
	struct journal_entry *e;
	struct migration m;
	char *h;
	size_t n;

	moved(f, &m);
	assert_int_equal(migrate_record(f->db, &m, NULL), 0);
	h = vm_host(f->db, f->c.id);
	assert_string_equal(h, "B");
	free(h);
	assert_int_equal(journal_list(f->db, NULL, "web", 0, &e, &n), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		assert_true(e[i].ok);
		assert_string_equal(e[i].action, "migrate");
		assert_string_equal(e[i].message, "moved live from host 'A' to host 'B'");
	}
	assert_string_equal(e[0].host, "A");
	assert_string_equal(e[1].host, "B");
	journal_free(e, n);
	migrate_clear(&m);
}

/* A failure: the journal of the source says why, nothing moves. */
static void
test_record_failed(void **state)
{
	struct fx *f = *state;
	struct journal_entry *e;
	struct migration m;
	struct hv_migrate_opts o = { 0 };
	char *h;
	size_t n;

	migrate_init(&m, &f->c, &o);
	assert_int_equal(migrate_record(f->db, &m, "it stopped as asked"), 0);
	h = vm_host(f->db, f->c.id);
	assert_string_equal(h, "A");
	free(h);
	assert_int_equal(journal_list(f->db, NULL, NULL, 0, &e, &n), 0);
	assert_int_equal(n, 1);
	assert_false(e[0].ok);
	assert_string_equal(e[0].host, "A");
	assert_string_equal(e[0].message, "it stopped as asked");
	journal_free(e, n);
	/* Not run at all: nothing to record as a move. */
	assert_int_equal(migrate_record(f->db, &m, NULL), -1);
	migrate_clear(&m);
}

/* The VM left the inventory meanwhile: the move cannot be recorded, and
 * no journal entry claims it was (one transaction); the failure is. */
static void
test_record_gone(void **state)
{
	struct fx *f = *state;
	struct journal_entry *e;
	struct migration m;
	size_t n;

	moved(f, &m);
	assert_int_equal(vm_delete(f->db, f->c.id), 0);
	assert_int_equal(migrate_record(f->db, &m, NULL), -1);
	assert_string_equal(err_get(), "VM 'web' now runs on host 'B', but the inventory could "
	    "not record it (the VM is no longer in the inventory); 'vmtty list --host B' finds "
	    "it there");
	assert_int_equal(journal_list(f->db, NULL, NULL, 0, &e, &n), 0);
	assert_int_equal(n, 1);
	assert_false(e[0].ok);
	assert_string_equal(e[0].host, "A");
	journal_free(e, n);
	migrate_clear(&m);
}

/* Only two libvirt hosts, not the same one, are offered a live move. */
static void
test_live_ok(void **state)
{
	struct fx *f = *state;
	struct host local;

	assert_true(migrate_live_ok(&f->a, &f->b));
	assert_false(migrate_live_ok(&f->a, &f->a));
	assert_int_equal(host_get(f->db, "local", &local), 0);
	assert_false(migrate_live_ok(&local, &f->b));
	assert_false(migrate_live_ok(&f->a, &local));
	host_clear(&local);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_amounts),
		cmocka_unit_test(test_bandwidth),
		cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_moved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_failed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_ok, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
