/* Provisioning's inventory rules: a creation cut short is taken back by
 * the next vmtty (only what it recorded, nothing in use, never a live
 * one); a disk another VM uses is never deleted with a VM. */
#include "unit.h"

#include <sys/wait.h>

#include "ops/provision.h"
#include "hv/hv.h"
#include "model/creation.h"
#include "model/db.h"
#include "model/host.h"
#include "model/journal.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/xalloc.h"

struct fx {
	char *dir;
	struct db *db;
	int64_t local;
	int said;
	char line[256];
};

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof *f);
	struct host h;
	char *path;

	f->dir = unit_tmpdir();
	path = xasprintf("%s/inv.db", f->dir);
	f->db = db_open(path);
	free(path);
	if (f->db == NULL || host_get(f->db, "local", &h) != 0)
		return -1;
	f->local = h.id;
	host_clear(&h);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	db_close(f->db);
	unit_rmdir(f->dir);
	free(f);
	return 0;
}

static void
on_said(const char *line, void *arg)
{
	struct fx *f = arg;

	f->said++;
	snprintf(f->line, sizeof f->line, "%s", line);
}

static char *
touch(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fclose(fp);
	return path;
}

/* VM NAME on the built-in host with one disk at PATH. */
static int64_t
add_vm(struct fx *f, const char *name, const char *path, const char *uuid)
{
	struct vm_config c;
	int64_t id;

	vm_config_init(&c);
	c.host_id = f->local;
	c.name = xstrdup(name);
	if (uuid != NULL)
		snprintf(c.uuid, sizeof c.uuid, "%s", uuid);
	vm_config_add_disk(&c, path);
	assert_int_equal(vm_insert(f->db, &c), 0);
	id = c.id;
	vm_config_clear(&c);
	return id;
}

static void
test_recover_dead(void **state)
{
	struct fx *f = *state;
	char *vmdir = xasprintf("%s/images-gone", f->dir), *disk, *used, *live;
	struct creation *cs;
	struct journal_entry *e;
	int64_t dead, recycled, alive;
	size_t n;

	assert_int_equal(mkdir(vmdir, 0700), 0);
	disk = touch(vmdir, "gone.qcow2");
	used = touch(f->dir, "used.qcow2");
	live = touch(f->dir, "live.qcow2");
	add_vm(f, "user", used, NULL);
	/* Made by a process that is gone: the dir, its disk, and a file a VM
	 * uses now (recorded, but it stays). */
	assert_int_equal(creation_begin(f->db, f->local, "gone", "u-1", unit_dead_pid(), 1, &dead),
	    0);
	assert_int_equal(creation_note(f->db, dead, CREATION_DIR, vmdir), 0);
	assert_int_equal(creation_note(f->db, dead, CREATION_FILE, disk), 0);
	assert_int_equal(creation_note(f->db, dead, CREATION_FILE, used), 0);
	/* A live pid that started at another time: the maker was another
	 * process, gone; nothing recorded yet. */
	assert_int_equal(creation_begin(f->db, f->local, "early", "u-2", getppid(), 1LL << 40,
	    &recycled), 0);
	/* This very process: under way, left alone. */
	assert_int_equal(creation_begin(f->db, f->local, "busy", "u-3", getpid(), 0, &alive), 0);
	assert_int_equal(creation_note(f->db, alive, CREATION_FILE, live), 0);

	assert_int_equal(provision_recover(f->db, NULL, NULL, on_said, f), 0);
	assert_int_equal(f->said, 2);
	assert_string_equal(f->line, "creation of early interrupted; cleaned up");
	assert_int_equal(access(disk, F_OK), -1);
	assert_int_equal(access(vmdir, F_OK), -1);
	assert_int_equal(access(used, F_OK), 0);
	assert_int_equal(access(live, F_OK), 0);
	assert_int_equal(creation_list(f->db, &cs, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(cs[0].name, "busy");
	assert_int_equal(cs[0].npaths, 1);
	creation_free(cs, n);
	assert_int_equal(journal_list(f->db, "local", "gone", 0, &e, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].message, "creation of gone interrupted; cleaned up");
	assert_false(e[0].ok);
	journal_free(e, n);
	/* Once only. */
	f->said = 0;
	assert_int_equal(provision_recover(f->db, NULL, NULL, on_said, f), 0);
	assert_int_equal(f->said, 0);
	free(vmdir);
	free(disk);
	free(used);
	free(live);
}

/* The maker died after the VM was in the inventory: everything stays. */
static void
test_recover_kept(void **state)
{
	struct fx *f = *state;
	const char *uuid = "22222222-0000-4000-8000-000000000001";
	char *disk = touch(f->dir, "kept.qcow2");
	struct creation *cs;
	int64_t id;
	size_t n;

	add_vm(f, "kept", disk, uuid);
	assert_int_equal(creation_begin(f->db, f->local, "kept", uuid, unit_dead_pid(), 1, &id), 0);
	assert_int_equal(creation_note(f->db, id, CREATION_FILE, disk), 0);
	assert_int_equal(provision_recover(f->db, NULL, NULL, on_said, f), 0);
	assert_int_equal(f->said, 0);
	assert_int_equal(access(disk, F_OK), 0);
	assert_int_equal(creation_list(f->db, &cs, &n), 0);
	assert_int_equal(n, 0);
	creation_free(cs, n);
	free(disk);
}

/* A libvirt host that does not answer: its record waits. */
static void
test_recover_libvirt_waits(void **state)
{
	struct fx *f = *state;
	struct creation *cs;
	struct host h;
	int64_t id;
	size_t n;

	assert_int_equal(host_add(f->db, "lab", "test:///default"), 0);
	assert_int_equal(host_get(f->db, "lab", &h), 0);
	assert_int_equal(creation_begin(f->db, h.id, "far", "u-4", unit_dead_pid(), 1, &id), 0);
	host_clear(&h);
	assert_int_equal(creation_note(f->db, id, CREATION_VOLUME, "/pool/far.qcow2"), 0);
	assert_int_equal(provision_recover(f->db, NULL, NULL, on_said, f), 0);
	assert_int_equal(f->said, 0);
	assert_int_equal(creation_list(f->db, &cs, &n), 0);
	assert_int_equal(n, 1);
	assert_false(cs[0].builtin);
	assert_int_equal(cs[0].paths[0].kind, CREATION_VOLUME);
	creation_free(cs, n);
}

static struct hv *
open_host(const char *name, void *arg)
{
	struct fx *f = arg;
	struct host h;
	struct hv *hv;

	if (host_get(f->db, name, &h) != 0)
		return NULL;
	hv = hv_open(&h);
	host_clear(&h);
	return hv;
}

/* A libvirt host that answers: a record whose VM has a domain there waits
 * (a move that went through, an incoming one the host is about to end);
 * one whose maker gave it up (creation_release) is taken back at once,
 * even by the process that made it. */
static void
test_recover_libvirt_domain(void **state)
{
	struct fx *f = *state;
	/* The test driver's domain "test". */
	const char *there = "6695eb01-f6a4-8304-79aa-97f2502e193f";
	struct creation *cs;
	struct host h;
	int64_t waits, mine;
	size_t n;

	assert_int_equal(host_add(f->db, "lab", "test:///default"), 0);
	assert_int_equal(host_get(f->db, "lab", &h), 0);
	assert_int_equal(creation_begin(f->db, h.id, "test", there, unit_dead_pid(), 1, &waits), 0);
	assert_int_equal(creation_note(f->db, waits, CREATION_VOLUME, "/pool/test.qcow2"), 0);
	assert_int_equal(provision_record(f->db, h.id, "gone", "33333333-0000-4000-8000-000000000001",
	    &mine), 0);
	host_clear(&h);
	assert_int_equal(creation_note(f->db, mine, CREATION_VOLUME, "/pool/gone.qcow2"), 0);
	/* Its maker runs: it stays. */
	assert_int_equal(provision_recover(f->db, open_host, f, on_said, f), 0);
	assert_int_equal(f->said, 0);
	assert_int_equal(creation_list(f->db, &cs, &n), 0);
	assert_int_equal(n, 2);
	creation_free(cs, n);

	assert_int_equal(creation_release(f->db, mine), 0);
	assert_int_equal(provision_recover(f->db, open_host, f, on_said, f), 0);
	assert_int_equal(f->said, 1);
	assert_string_equal(f->line, "creation of gone interrupted; cleaned up");
	assert_int_equal(creation_list(f->db, &cs, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(cs[0].id, waits);
	creation_free(cs, n);
}

static void
test_shared_disk(void **state)
{
	struct fx *f = *state;
	char *shared = touch(f->dir, "S.qcow2"), *own = touch(f->dir, "own.qcow2");
	char *link = xasprintf("%s/S-link.qcow2", f->dir);
	struct vm_config c;
	int64_t t2, t3, t4;

	assert_int_equal(symlink(shared, link), 0);
	add_vm(f, "t1", shared, NULL);
	t2 = add_vm(f, "t2", shared, NULL);
	t3 = add_vm(f, "t3", own, NULL);
	t4 = add_vm(f, "t4", link, NULL);

	assert_int_equal(vm_load(f->db, t2, &c), 0);
	assert_int_equal(provision_check_delete_disks(f->db, &c, true), -1);
	assert_non_null(strstr(err_get(), "of VM 't2' is also used by VM 't1' on host 'local'"));
	vm_config_clear(&c);
	/* The same file through a symlink is the same disk. */
	assert_int_equal(vm_load(f->db, t4, &c), 0);
	assert_int_equal(provision_check_delete_disks(f->db, &c, true), -1);
	assert_non_null(strstr(err_get(), "is also used by VM 't1'"));
	vm_config_clear(&c);
	assert_int_equal(vm_load(f->db, t3, &c), 0);
	assert_int_equal(provision_check_delete_disks(f->db, &c, true), 0);
	/* A CD-ROM vmtty did not make is never deleted: sharing it is fine. */
	c.disks[0].cdrom = true;
	free(c.disks[0].path);
	c.disks[0].path = xstrdup(shared);
	assert_int_equal(provision_check_delete_disks(f->db, &c, true), 0);
	vm_config_clear(&c);
	free(shared);
	free(own);
	free(link);
}

/* A qcow2 header that names BACKING (the fields ops/keep reads). */
static char *
qcow2(const char *dir, const char *name, const char *backing)
{
	char *path = xasprintf("%s/%s", dir, name);
	unsigned char h[104] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };
	size_t len = backing != NULL ? strlen(backing) : 0;
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	if (len > 0) {
		h[15] = sizeof h;	/* backing_file_offset */
		h[19] = (unsigned char)len;	/* backing_file_size */
	}
	assert_int_equal(fwrite(h, 1, sizeof h, fp), sizeof h);
	if (len > 0)
		assert_int_equal(fwrite(backing, 1, len, fp), len);
	fclose(fp);
	return path;
}

/* A file another VM's disk stands on (its backing chain, named relative or
 * absolute, two links down) goes with no VM's --delete-disks. */
static void
test_backing_disk(void **state)
{
	struct fx *f = *state;
	char *gold = qcow2(f->dir, "GOLD.qcow2", NULL);
	char *mid = qcow2(f->dir, "mid.qcow2", "GOLD.qcow2");
	char *clone = qcow2(f->dir, "clone.qcow2", mid);
	struct vm_config c;
	int64_t golden, middle, cv;

	golden = add_vm(f, "golden", gold, NULL);
	cv = add_vm(f, "cv", clone, NULL);
	assert_int_equal(vm_load(f->db, golden, &c), 0);
	assert_int_equal(provision_check_delete_disks(f->db, &c, true), -1);
	assert_non_null(strstr(err_get(), "of VM 'golden' is needed by VM 'cv' (the backing file "
	    "of its disk '"));
	assert_non_null(strstr(err_get(), "clone.qcow2'), which keeps it: nothing was deleted"));
	vm_config_clear(&c);
	middle = add_vm(f, "middle", mid, NULL);
	assert_int_equal(vm_load(f->db, middle, &c), 0);
	assert_int_equal(provision_check_delete_disks(f->db, &c, true), -1);
	assert_non_null(strstr(err_get(), "is needed by VM 'cv'"));
	vm_config_clear(&c);
	/* The overlay on top needs its base; nothing needs the overlay. */
	assert_int_equal(vm_load(f->db, cv, &c), 0);
	assert_int_equal(provision_check_delete_disks(f->db, &c, true), 0);
	vm_config_clear(&c);
	free(gold);
	free(mid);
	free(clone);
}

/* The machine type as the wizard and create set it: a microvm's graphics
 * are none unless given (and then refused); another machine keeps or
 * takes the graphics given; a libvirt host is refused a microvm. */
static void
test_set_machine(void **state)
{
	struct provision_plan p;

	(void)state;
	provision_init(&p);
	p.host = xstrdup("local");
	p.builtin = true;
	provision_set_machine(&p, "q35", "vnc");
	provision_set_machine(&p, "microvm", NULL);
	assert_string_equal(p.machine, "microvm");
	assert_string_equal(p.graphics, "none");
	assert_int_equal(provision_check_field(&p, PROV_F_MACHINE), 0);
	provision_set_machine(&p, p.machine, NULL);	/* its own value */
	assert_string_equal(p.machine, "microvm");
	provision_set_machine(&p, "q35", "vnc");
	assert_string_equal(p.machine, "q35");
	assert_string_equal(p.graphics, "vnc");
	provision_set_machine(&p, "pc", NULL);
	assert_string_equal(p.graphics, "vnc");
	provision_set_machine(&p, "microvm", "vnc");
	assert_int_equal(provision_check_field(&p, PROV_F_MACHINE), -1);
	assert_non_null(strstr(err_get(), "graphics: machine type microvm has no display"));
	provision_set_machine(&p, "microvm", NULL);
	p.builtin = false;
	assert_int_equal(provision_check_field(&p, PROV_F_MACHINE), -1);
	assert_string_equal(err_get(), "machine type: microvm is for the built-in backend only "
	    "(libvirt 9.0 cannot define one); use host local, or q35");
	assert_string_equal(provision_field_name(PROV_F_MACHINE), "machine type");
	provision_clear(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_recover_dead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_libvirt_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_libvirt_domain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backing_disk, setup, teardown),
		cmocka_unit_test(test_set_machine),
	};

	return cmocka_run_group_tests_name("provision", tests, NULL, NULL);
}
