/* Hosts, VMs, the journal and the name rules, against temp inventories. */
#include "unit.h"

#include <locale.h>
#include <stdbool.h>
#include <wchar.h>

#include "model/db.h"
#include "model/host.h"
#include "model/journal.h"
#include "model/model_priv.h"
#include "model/name.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/xalloc.h"

struct fx {
	char *dir;
	struct db *db;
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

static int64_t
host_id(struct db *db, const char *name)
{
	struct host h;
	int64_t id;

	assert_int_equal(host_get(db, name, &h), 0);
	id = h.id;
	host_clear(&h);
	return id;
}

static void
make_vm(struct db *db, const char *host, const char *name, struct vm_config *c)
{
	vm_config_init(c);
	c->host_id = host_id(db, host);
	c->name = xstrdup(name);
}

static void
test_host_add_dup(void **state)
{
	struct fx *f = *state;
	struct host *hs;
	size_t n;

	assert_int_equal(host_add(f->db, "lab", "test:///default"), 0);
	assert_int_equal(host_add(f->db, "lab", "qemu:///system"), -1);
	assert_non_null(strstr(err_get(), "'lab' already exists"));
	assert_int_equal(host_list(f->db, &hs, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(hs[0].name, "local");
	assert_string_equal(hs[1].name, "lab");
	assert_int_equal(hs[1].kind, HOST_LIBVIRT);
	host_list_free(hs, n);
}

static void
test_host_uri_kinds(void **state)
{
	static const struct {
		const char *uri;
		int ok;
		enum host_kind kind;
	} cases[] = {
		{ "vmtty:///local", 1, HOST_BUILTIN },
		{ "vmtty+ssh://root@box/", 1, HOST_BUILTIN },
		{ "qemu:///system", 1, HOST_LIBVIRT },
		{ "qemu+ssh://user@host:2222/system?keyfile=/k", 1, HOST_LIBVIRT },
		{ "test:///default", 1, HOST_LIBVIRT },
		{ "vmttyx:///", 1, HOST_LIBVIRT },
		{ "nocolon", 0, 0 },
		{ "://x", 0, 0 },
		{ "qe mu:///system", 0, 0 },
		{ "qemu:///sys tem", 0, 0 },
		{ "", 0, 0 },
		{ "not a uri", 0, 0 },
		{ "qemu+libssh2://h/system", 1, HOST_LIBVIRT },
		{ "qemu+tcp://10.0.0.1:16509/system", 1, HOST_LIBVIRT },
		{ "qemu+tls://[fe80::1]:16514/system", 1, HOST_LIBVIRT },
		{ "qemu+unix:///system?socket=/tmp/s/libvirt-sock", 1, HOST_LIBVIRT },
		{ "qemu+ext:///system?command=/bin/x", 1, HOST_LIBVIRT },
		{ "qemu+ssh://h/system?name=qemu:///system", 1, HOST_LIBVIRT },
		{ "lxc:///", 1, HOST_LIBVIRT },
		{ "ch:///session", 1, HOST_LIBVIRT },
		{ "qemu+ssh://root@HOST", 1, HOST_LIBVIRT },
		/* Typed after the old pre-filled text: two URIs run together. */
		{ "qemu+ssh://root@HOST/systemtest:///default", 0, 0 },
		{ "qemu+ftp://host/system", 0, 0 },
		{ "qemu+ssh+tcp://host/system", 0, 0 },
		{ "qemu+://host/system", 0, 0 },
		{ "1qemu:///system", 0, 0 },
		{ "qe_mu:///system", 0, 0 },
		{ "qemu+ssh://a@b@host/system", 0, 0 },
		{ "qemu+ssh://host:/system", 0, 0 },
		{ "qemu+ssh://host:99999/system", 0, 0 },
		{ "qemu+ssh://host:22x/system", 0, 0 },
		{ "qemu+ssh://ho!st/system", 0, 0 },
		{ "qemu+tls://[fe80::1/system", 0, 0 },
		{ "qemu:///sys\ttem", 0, 0 },
		{ "qemu:///sys\x01tem", 0, 0 },
		/* What does not show as itself, as in names: C1, bidi, zero-width. */
		{ "test:///a\xc2\x9b" "b.xml", 0, 0 },
		{ "test:///def\xe2\x80\xae" "ault", 0, 0 },
		{ "qemu+ssh://h\xe2\x80\x8bost/system", 0, 0 },
		{ "test:///\xff.xml", 0, 0 },
		{ "test:///caf\xc3\xa9.xml", 1, HOST_LIBVIRT },
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum host_kind k = HOST_BUILTIN;
		int rc = host_kind_from_uri(cases[i].uri, &k);

		if (cases[i].ok) {
			assert_int_equal(rc, 0);
			assert_int_equal(k, cases[i].kind);
		} else {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(err_get(), "URI"));
		}
	}
	{
		enum host_kind k;

		assert_int_equal(host_kind_from_uri("test:///def\xe2\x80\xae" "ault", &k), -1);
		assert_string_equal(err_get(), "host URI 'test:///def\\u202eault' contains U+202E "
		    "(a bidirectional control character); give one like 'qemu:///system' or "
		    "'qemu+ssh://user@host/system'");
	}
}

static void
test_host_remove(void **state)
{
	struct fx *f = *state;
	struct host h;

	assert_int_equal(host_remove(f->db, "local"), -1);
	assert_non_null(strstr(err_get(), "cannot be removed"));
	assert_int_equal(host_remove(f->db, "nope"), -1);
	assert_non_null(strstr(err_get(), "no host named 'nope'"));
	assert_int_equal(host_add(f->db, "lab", "test:///default"), 0);
	assert_int_equal(host_remove(f->db, "lab"), 0);
	assert_int_equal(host_get(f->db, "lab", &h), -1);
}

/* Values are bound, never spliced: SQL in a name is just text. */
static void
test_injection_verbatim(void **state)
{
	struct fx *f = *state;
	const char *evil = "'; DROP TABLE vms; --";
	struct vm_summary *v;
	struct vm_config c, l;
	struct host h;
	size_t n;
	int64_t id;

	assert_int_equal(host_add(f->db, evil, "test:///default"), 0);
	assert_int_equal(host_get(f->db, evil, &h), 0);
	assert_string_equal(h.name, evil);
	host_clear(&h);
	make_vm(f->db, "local", evil, &c);
	c.kernel = xstrdup("/boot/vmlinuz");
	c.cmdline = xstrdup("console=ttyS0 quiet='yes' \"x\"");
	assert_int_equal(vm_insert(f->db, &c), 0);
	vm_config_clear(&c);
	assert_int_equal(vm_list(f->db, NULL, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].name, evil);
	vm_summary_free(v, n);
	assert_int_equal(vm_resolve(f->db, evil, &id), 0);
	assert_int_equal(vm_load(f->db, id, &l), 0);
	assert_string_equal(l.cmdline, "console=ttyS0 quiet='yes' \"x\"");
	vm_config_clear(&l);
}

static void
test_names(void **state)
{
	static const char *const bad[] = { "", "a/b", "..", "x..y", ".hidden", "-opt",
		" lead", "trail ", "tab\there",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
	static const char *const good[] = { "web1", "db.prod", "my vm", "'; DROP TABLE vms; --",
		"caf\xc3\xa9", "a-b_c" };

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(name_check("VM", bad[i]), -1);
		assert_non_null(strstr(err_get(), "VM name"));
	}
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_int_equal(name_check("VM", good[i]), 0);
}

/* Names that are not UTF-8 or hold C0, DEL or C1 controls are refused
 * (JSON and terminals cannot carry them), and the message shows the bad
 * bytes escaped, on one line of UTF-8. */
static void
test_names_bytes(void **state)
{
	static const struct { const char *name, *want; } cases[] = {
		{ "bad\xff", "VM name 'bad\\xff' is not valid UTF-8" },
		{ "over\xc0\xaflong", "VM name 'over\\xc0\\xaflong' is not valid UTF-8" },
		{ "cut\xc3", "VM name 'cut\\xc3' is not valid UTF-8" },
		{ "a\xc2\x9b" "2J", "VM name 'a\\u009b2J' contains U+009B (a control character)" },
		{ "a\xc2\x85z", "VM name 'a\\u0085z' contains U+0085 (a control character)" },
		{ "cr\rx", "VM name 'cr\\rx' contains U+000D (a control character)" },
		{ "nl\nx", "VM name 'nl\\nx' contains U+000A (a control character)" },
		{ "del\x7f", "VM name 'del\\x7f' contains U+007F (a control character)" },
	};
	char euros[67];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(name_check("VM", cases[i].name), -1);
		if (strstr(err_get(), cases[i].want) == NULL)
			fail_msg("name %zu: \"%s\" lacks \"%s\"", i, err_get(), cases[i].want);
		assert_null(strchr(err_get(), '\n'));
		assert_true(unit_libc_utf8(err_get()));
	}
	/* U+00A0 is the first printable character after C1. */
	assert_int_equal(name_check("VM", "nb\xc2\xa0sp"), 0);
	/* A long name is cut between characters in the message (a euro
	 * sign is 3 bytes: 20 bytes would end inside the seventh). */
	for (size_t i = 0; i < 22; i++)
		memcpy(euros + 3 * i, "\xe2\x82\xac", 3);
	euros[66] = '\0';
	assert_int_equal(name_check("VM", euros), -1);
	assert_non_null(strstr(err_get(), "is 66 bytes long"));
	assert_true(unit_libc_utf8(err_get()));
	assert_null(strstr(err_get(), "\\x"));
}

/* Characters that do not show as themselves are refused in every kind of
 * name, with their code point and what they are, on one line of UTF-8 in
 * which the name itself is escaped: bidi controls (a right-to-left
 * override makes "evil\u202Egpj.exe" look like "evilexe.jpg"), zero-width
 * and other format characters (two names that look alike), separators. */
static void
test_names_hidden(void **state)
{
	static const struct { const char *name, *want; } cases[] = {
		{ "evil\xe2\x80\xaegpj", "name 'evil\\u202egpj' contains U+202E (a bidirectional "
		    "control character); use printable characters" },
		{ "web\xe2\x80\x8b" "1", "name 'web\\u200b1' contains U+200B (an invisible format "
		    "character)" },
		{ "a\xe2\x80\x8e", "contains U+200E (a bidirectional control character)" },
		{ "a\xe2\x80\x8f", "contains U+200F (a bidirectional control character)" },
		{ "a\xe2\x81\xa6z", "contains U+2066 (a bidirectional control character)" },
		{ "a\xe2\x81\xa9z", "contains U+2069 (a bidirectional control character)" },
		{ "a\xd8\x9cz", "contains U+061C (a bidirectional control character)" },
		{ "\xef\xbb\xbfweb", "name '\\ufeffweb' contains U+FEFF (an invisible format "
		    "character)" },
		{ "soft\xc2\xadhy", "contains U+00AD (an invisible format character)" },
		{ "a\xe2\x81\xa0z", "contains U+2060 (an invisible format character)" },
		{ "tag\xf3\xa0\x80\x81", "name 'tag\\U000e0001' contains U+E0001 (an invisible "
		    "format character)" },
		{ "a\xe2\x80\xa8z", "contains U+2028 (a line or paragraph separator)" },
		{ "c1\xc2\x80", "contains U+0080 (a control character)" },
		{ "c1\xc2\x9f", "contains U+009F (a control character)" },
		/* Default-ignorable, though not format characters. */
		{ "a\xe3\x85\xa4" "b", "contains U+3164 (an invisible character)" },
		{ "a\xe1\x85\x9f" "b", "contains U+115F (an invisible character)" },
		{ "a\xcd\x8f" "b", "contains U+034F (an invisible character)" },
		{ "a\xef\xb8\x8f" "b", "contains U+FE0F (an invisible character)" },
	};
	static const char *const what[] = { "VM", "host", "snapshot", "template" };

	(void)state;
	for (size_t w = 0; w < sizeof what / sizeof what[0]; w++)
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			assert_int_equal(name_check(what[w], cases[i].name), -1);
			if (strstr(err_get(), cases[i].want) == NULL ||
			    strncmp(err_get(), what[w], strlen(what[w])) != 0)
				fail_msg("%s name %zu: \"%s\" lacks \"%s\"", what[w], i, err_get(),
				    cases[i].want);
			assert_null(strchr(err_get(), '\n'));
			assert_true(unit_libc_utf8(err_get()));
			/* Nothing invisible reaches the message. */
			assert_null(strstr(err_get(), "\xe2\x80"));
			assert_null(strstr(err_get(), "\xe2\x81"));
			assert_null(strstr(err_get(), "\xef\xbb\xbf"));
		}
	/* Visible neighbours pass: a hyphen, U+2010, an en dash, a non-breaking
	 * space, Hebrew and Arabic letters (their direction is their own). */
	assert_int_equal(name_check("VM", "a\xe2\x80\x90z"), 0);
	assert_int_equal(name_check("VM", "a\xe2\x80\x93z"), 0);
	assert_int_equal(name_check("VM", "nb\xc2\xa0sp"), 0);
	assert_int_equal(name_check("VM", "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d"), 0);
	assert_int_equal(name_check("VM", "\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85"), 0);
}

static void
test_vm_roundtrip(void **state)
{
	struct fx *f = *state;
	struct vm_config c, l;
	struct vm_disk *d;
	struct vm_nic *nic;

	make_vm(f->db, "local", "web", &c);
	c.sockets = 2;
	c.cores = 2;
	c.memory_mib = 2048;
	c.kernel = xstrdup("/boot/vmlinuz");
	c.initrd = xstrdup("/boot/initrd.img");
	c.cmdline = xstrdup("console=ttyS0");
	d = vm_config_add_disk(&c, "/images/web.qcow2");
	d->cache = xstrdup("none");
	d = vm_config_add_disk(&c, "/isos/install.iso");
	free(d->format);
	d->format = xstrdup("raw");
	free(d->bus);
	d->bus = xstrdup("sata");
	d->cdrom = d->readonly = true;
	nic = vm_config_add_nic(&c, "user");
	nic->mac = xstrdup("52:54:00:12:34:56");
	nic->forwards = xstrdup("tcp:2222:22,udp:5353:53");
	c.tuning.vcpu_pins = xstrdup("0:0;1:1-3,5");
	c.tuning.emulator_pin = xstrdup("4");
	c.tuning.hugepage_kib = 2048;
	c.tuning.balloon_mib = 1024;
	assert_int_equal(vm_insert(f->db, &c), 0);
	assert_true(c.id > 0);
	assert_true(uuid_valid(c.uuid));

	assert_int_equal(vm_load(f->db, c.id, &l), 0);
	assert_string_equal(l.host, "local");
	assert_string_equal(l.uuid, c.uuid);
	assert_int_equal(vm_config_cpus(&l), 4);
	assert_int_equal(l.memory_mib, 2048);
	assert_string_equal(l.cmdline, "console=ttyS0");
	assert_int_equal(l.ndisks, 2);
	assert_string_equal(l.disks[0].cache, "none");
	assert_true(l.disks[1].cdrom);
	assert_string_equal(l.disks[1].bus, "sata");
	assert_int_equal(l.nnics, 1);
	assert_string_equal(l.nics[0].mac, "52:54:00:12:34:56");
	assert_string_equal(l.tuning.vcpu_pins, "0:0;1:1-3,5");
	assert_string_equal(l.tuning.emulator_pin, "4");
	assert_int_equal(l.tuning.hugepage_kib, 2048);
	assert_int_equal(l.tuning.balloon_mib, 1024);

	assert_null(l.boot_order);
	/* The restart policy of a new VM: leave, no autostart. */
	assert_string_equal(l.on_crash, "leave");
	assert_false(l.autostart);

	/* Update replaces devices, and writes the restart policy. */
	l.memory_mib = 4096;
	l.boot_order = xstrdup("cdrom,disk");
	free(l.on_crash);
	l.on_crash = xstrdup("restart");
	l.autostart = true;
	free(l.disks[1].path);
	l.disks[1].path = xstrdup("/isos/other.iso");
	assert_int_equal(vm_update(f->db, &l), 0);
	vm_config_clear(&l);
	assert_int_equal(vm_load(f->db, c.id, &l), 0);
	assert_int_equal(l.memory_mib, 4096);
	assert_string_equal(l.disks[1].path, "/isos/other.iso");
	assert_string_equal(l.boot_order, "cdrom,disk");
	assert_string_equal(l.on_crash, "restart");
	assert_true(l.autostart);
	vm_config_clear(&l);
	{
		struct vm_summary *v;
		size_t n;

		assert_int_equal(vm_list(f->db, "local", &v, &n), 0);
		assert_int_equal(n, 1);
		assert_true(v[0].restart_on_crash);
		assert_true(v[0].autostart);
		vm_summary_free(v, n);
		/* vm_set_policy: both at once; a word it does not know is
		 * refused, nothing written. */
		assert_int_equal(vm_set_policy(f->db, c.id, "leave", false), 0);
		assert_int_equal(vm_set_policy(f->db, c.id, "reboot", true), -1);
		assert_non_null(strstr(err_get(), "on-crash policy 'reboot' is not known; use one "
		    "of: leave, restart"));
		assert_int_equal(vm_list(f->db, "local", &v, &n), 0);
		assert_false(v[0].restart_on_crash);
		assert_false(v[0].autostart);
		vm_summary_free(v, n);
		assert_int_equal(vm_set_policy(f->db, c.id, "restart", false), 0);
		assert_int_equal(vm_set_policy(f->db, 999999, "restart", false), -1);
		/* The inventory refuses another word even past the model. */
		assert_int_not_equal(sqlite3_exec(db_sqlite(f->db), "UPDATE vms SET on_crash = "
		    "'reboot'", NULL, NULL, NULL), SQLITE_OK);
	}

	/* A deep copy equals the original and owns its strings. */
	{
		struct vm_config cp;

		assert_int_equal(vm_load(f->db, c.id, &l), 0);
		vm_config_copy(&cp, &l);
		vm_config_clear(&l);
		assert_string_equal(cp.cmdline, "console=ttyS0");
		assert_int_equal(cp.ndisks, 2);
		assert_string_equal(cp.disks[1].path, "/isos/other.iso");
		assert_string_equal(cp.nics[0].forwards, "tcp:2222:22,udp:5353:53");
		assert_string_equal(cp.tuning.vcpu_pins, "0:0;1:1-3,5");
		assert_string_equal(cp.boot_order, "cdrom,disk");
		assert_string_equal(cp.on_crash, "restart");
		vm_config_clear(&cp);
	}
	assert_int_equal(vm_delete(f->db, c.id), 0);
	assert_int_equal(vm_load(f->db, c.id, &l), -1);
	vm_config_clear(&c);
}

static void
test_vm_duplicate_and_resolve(void **state)
{
	struct fx *f = *state;
	struct vm_config c;
	struct vm_summary *v;
	size_t n;
	int64_t id;

	assert_int_equal(host_add(f->db, "lab", "test:///default"), 0);
	make_vm(f->db, "local", "db", &c);
	assert_int_equal(vm_insert(f->db, &c), 0);
	vm_config_clear(&c);
	make_vm(f->db, "local", "db", &c);
	assert_int_equal(vm_insert(f->db, &c), -1);
	assert_non_null(strstr(err_get(), "already exists on host 'local'"));
	vm_config_clear(&c);
	/* The failed insert left nothing behind. */
	assert_int_equal(vm_list(f->db, NULL, &v, &n), 0);
	assert_int_equal(n, 1);
	vm_summary_free(v, n);

	make_vm(f->db, "lab", "db", &c);
	assert_int_equal(vm_insert(f->db, &c), 0);
	vm_config_clear(&c);
	assert_int_equal(vm_resolve(f->db, "db", &id), -1);
	assert_non_null(strstr(err_get(), "several hosts (lab, local)"));
	assert_int_equal(vm_resolve(f->db, "lab/db", &id), 0);
	assert_int_equal(vm_resolve(f->db, "nope", &id), -1);
	assert_non_null(strstr(err_get(), "no VM named 'nope'"));
	assert_int_equal(vm_list(f->db, "lab", &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].host, "lab");
	vm_summary_free(v, n);
}

static void
test_vm_validate(void **state)
{
	struct fx *f = *state;
	struct vm_config c;
	struct vm_summary *v;
	size_t n;

	make_vm(f->db, "local", "x", &c);
	c.memory_mib = 0;
	assert_int_equal(vm_insert(f->db, &c), -1);
	assert_non_null(strstr(err_get(), "memory of 0 MiB"));
	c.memory_mib = 256;
	c.sockets = 10000;
	assert_int_equal(vm_insert(f->db, &c), -1);
	assert_non_null(strstr(err_get(), "10000 vCPUs"));
	c.sockets = 1;
	free(c.machine);
	c.machine = xstrdup("vax");
	assert_int_equal(vm_insert(f->db, &c), -1);
	assert_non_null(strstr(err_get(), "machine type 'vax' is not known"));
	free(c.machine);
	c.machine = xstrdup("pc");
	vm_config_add_nic(&c, "bridge");
	assert_int_equal(vm_insert(f->db, &c), -1);
	assert_non_null(strstr(err_get(), "needs a source"));
	c.nics[0].source = xstrdup("br0");
	c.nics[0].mac = xstrdup("zz:54:00:12:34:56");
	assert_int_equal(vm_insert(f->db, &c), -1);
	assert_non_null(strstr(err_get(), "MAC address"));
	free(c.name);
	c.name = xstrdup("../etc");
	assert_int_equal(vm_insert(f->db, &c), -1);
	vm_config_clear(&c);
	assert_int_equal(vm_list(f->db, NULL, &v, &n), 0);
	assert_int_equal(n, 0);
	vm_summary_free(v, n);
}

/* Boot orders: device kinds, each once; positions kind by kind. */
static void
test_boot_order(void **state)
{
	static const struct {
		const char *order;
		const char *error;	/* NULL: valid */
	} checks[] = {
		{ "disk", NULL },
		{ "cdrom,disk,network", NULL },
		{ "network,cdrom", NULL },
		{ "", "boot order is empty" },
		{ "floppy", "'floppy' is not a device kind" },
		{ "disk,disk", "names disk twice" },
		{ "disk,", "ends with a comma" },
		{ ",disk", "'' is not a device kind" },
		{ "Disk", "'Disk' is not a device kind" },
	};
	struct vm_config c;
	struct vm_disk *d;

	(void)state;
	for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
		int rc = vm_boot_order_check(checks[i].order);

		if (checks[i].error == NULL) {
			assert_int_equal(rc, 0);
		} else {
			assert_int_equal(rc, -1);
			if (strstr(err_get(), checks[i].error) == NULL)
				fail_msg("'%s': '%s' lacks '%s'", checks[i].order, err_get(),
				    checks[i].error);
		}
	}
	vm_config_init(&c);
	c.name = xstrdup("b");
	vm_config_add_disk(&c, "/img/a.qcow2");
	d = vm_config_add_disk(&c, "/iso/x.iso");
	free(d->bus);
	d->bus = xstrdup("sata");
	d->cdrom = true;
	vm_config_add_disk(&c, "/img/b.qcow2");
	vm_config_add_nic(&c, "user");
	/* No order: the disks in order, CD-ROMs too; NICs never. */
	assert_int_equal(vm_boot_index(&c, false, 0), 1);
	assert_int_equal(vm_boot_index(&c, false, 1), 2);
	assert_int_equal(vm_boot_index(&c, false, 2), 3);
	assert_int_equal(vm_boot_index(&c, true, 0), 0);
	c.boot_order = xstrdup("cdrom,network,disk");
	assert_int_equal(vm_config_validate(&c), 0);
	assert_int_equal(vm_boot_index(&c, false, 1), 1);
	assert_int_equal(vm_boot_index(&c, true, 0), 2);
	assert_int_equal(vm_boot_index(&c, false, 0), 3);
	assert_int_equal(vm_boot_index(&c, false, 2), 4);
	/* A kind left out is not booted from. */
	free(c.boot_order);
	c.boot_order = xstrdup("network");
	assert_int_equal(vm_boot_index(&c, true, 0), 1);
	assert_int_equal(vm_boot_index(&c, false, 0), 0);
	assert_int_equal(vm_boot_index(&c, false, 1), 0);
	/* A kernel boots directly. */
	c.kernel = xstrdup("/boot/vmlinuz");
	assert_int_equal(vm_boot_index(&c, true, 0), 0);
	free(c.boot_order);
	c.boot_order = xstrdup("disk,tape");
	assert_int_equal(vm_config_validate(&c), -1);
	assert_non_null(strstr(err_get(), "VM 'b': boot order 'disk,tape': 'tape'"));
	vm_config_clear(&c);
}

static void
test_forwards(void **state)
{
	struct vm_forward f[4];
	size_t n;

	(void)state;
	assert_int_equal(vm_forwards_parse("tcp:2222:22,udp:5353:53", f, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(f[0].proto, "tcp");
	assert_int_equal(f[0].host_port, 2222);
	assert_int_equal(f[1].guest_port, 53);
	assert_int_equal(vm_forwards_parse("", f, 4, &n), 0);
	assert_int_equal(n, 0);
	static const char *const bad[] = { "tcp:2222", "sctp:1:2", "tcp:0:22", "tcp:70000:22",
		"tcp:22:x", "tcp::22", "tcp:1:2,", "tcp:1:2,,udp:3:4" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (strcmp(bad[i], "tcp:1:2,") == 0) {
			/* A trailing comma is tolerated as an empty end. */
			assert_int_equal(vm_forwards_parse(bad[i], f, 4, &n), 0);
			continue;
		}
		assert_int_equal(vm_forwards_parse(bad[i], f, 4, &n), -1);
		assert_non_null(strstr(err_get(), "port forward"));
	}
	assert_int_equal(vm_forwards_parse("tcp:1:2,tcp:3:4,tcp:5:6", f, 2, &n), -1);
}

static void
test_journal(void **state)
{
	struct fx *f = *state;
	struct journal_entry *e;
	size_t n;

	assert_int_equal(journal_add(f->db, "local", "web", "start", true, "started"), 0);
	assert_int_equal(journal_add(f->db, "local", "db", "start", false, "no kernel"), 0);
	assert_int_equal(journal_add(f->db, "lab", NULL, "host-add", true, NULL), 0);
	assert_int_equal(journal_list(f->db, NULL, NULL, 0, &e, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(e[0].action, "start");
	assert_true(e[0].ok);
	assert_false(e[1].ok);
	assert_null(e[2].vm);
	assert_true(e[0].time <= e[2].time);
	journal_free(e, n);
	assert_int_equal(journal_list(f->db, "local", "db", 0, &e, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].message, "no kernel");
	journal_free(e, n);
	/* A limit keeps the newest, still oldest first. */
	assert_int_equal(journal_list(f->db, NULL, NULL, 2, &e, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(e[0].vm, "db");
	assert_string_equal(e[1].action, "host-add");
	journal_free(e, n);
}

/* A cold move: the row goes to the other host with its new disk paths,
 * in one transaction; a cached row of the same domain there gives way; a
 * VM of the same name there refuses it, and nothing changes. */
static void
test_vm_move_config(void **state)
{
	struct fx *f = *state;
	struct vm_config c, l, other;
	struct vm_seen seen = { 0 };
	struct vm_summary *v;
	int64_t lab;
	size_t n;

	assert_int_equal(host_add(f->db, "lab", "test:///default"), 0);
	lab = host_id(f->db, "lab");
	make_vm(f->db, "local", "mover", &c);
	vm_config_add_disk(&c, "/images/mover/mover.qcow2")->owned = false;
	assert_int_equal(vm_insert(f->db, &c), 0);
	/* lab reported the domain while it arrived: a cached row, same UUID. */
	seen.uuid = c.uuid;
	seen.name = "mover";
	seen.state = "off";
	seen.vcpus = 1;
	seen.memory_mib = 512;
	seen.persistent = true;
	assert_int_equal(vm_cache_sync(f->db, lab, &seen, 1, NULL, NULL), 0);

	assert_int_equal(vm_load(f->db, c.id, &l), 0);
	free(l.disks[0].path);
	l.disks[0].path = xstrdup("/var/lib/libvirt/images/mover.qcow2");
	l.disks[0].owned = true;
	assert_int_equal(vm_move_config(f->db, &l, lab), 0);
	vm_config_clear(&l);
	assert_int_equal(vm_load(f->db, c.id, &l), 0);
	assert_string_equal(l.host, "lab");
	assert_string_equal(l.uuid, c.uuid);
	assert_int_equal(l.ndisks, 1);
	assert_string_equal(l.disks[0].path, "/var/lib/libvirt/images/mover.qcow2");
	assert_true(l.disks[0].owned);
	assert_int_equal(vm_list(f->db, "lab", &v, &n), 0);
	assert_int_equal(n, 1);	/* the cached row gave way */
	vm_summary_free(v, n);

	/* Back to local, where a VM of that name now stands: refused whole. */
	make_vm(f->db, "local", "mover", &other);
	assert_int_equal(vm_insert(f->db, &other), 0);
	free(l.disks[0].path);
	l.disks[0].path = xstrdup("/images/mover/back.qcow2");
	assert_int_equal(vm_move_config(f->db, &l, host_id(f->db, "local")), -1);
	assert_non_null(strstr(err_get(), "already has a VM of that name"));
	vm_config_clear(&l);
	assert_int_equal(vm_load(f->db, c.id, &l), 0);
	assert_string_equal(l.host, "lab");
	assert_string_equal(l.disks[0].path, "/var/lib/libvirt/images/mover.qcow2");
	vm_config_clear(&l);
	vm_config_clear(&other);
	vm_config_clear(&c);
}

/* A libvirt host's domain list mirrored into the inventory. */
static void
test_cache_sync(void **state)
{
	struct fx *f = *state;
	struct vm_summary *v;
	struct vm_config c;
	size_t n, added, removed;
	int64_t lab, id;
	const struct vm_seen first[] = {
		{ "11111111-0000-4000-8000-000000000001", "alpha", "running", 2, 1024, 0, false, true },
		{ "11111111-0000-4000-8000-000000000002", "beta", "off", 1, 512, 0, false, true },
	};
	/* beta is gone; alpha renamed to beta's name; gamma new. */
	const struct vm_seen second[] = {
		{ "11111111-0000-4000-8000-000000000001", "beta", "paused", 4, 2048, 4096, true, true },
		{ "11111111-0000-4000-8000-000000000003", "gamma", "running", 1, 256, 0, false, false },
	};
	const struct vm_seen swapped[] = {
		{ "11111111-0000-4000-8000-000000000001", "gamma", "paused", 4, 2048, 4096, true, true },
		{ "11111111-0000-4000-8000-000000000003", "beta", "running", 1, 256, 0, false, false },
	};
	/* Only autostart and persistence change: still written. */
	const struct vm_seen flags[] = {
		{ "11111111-0000-4000-8000-000000000001", "gamma", "paused", 4, 2048, 4096, false, true },
		{ "11111111-0000-4000-8000-000000000003", "beta", "running", 1, 256, 0, false, true },
	};

	assert_int_equal(host_add(f->db, "lab", "test:///default"), 0);
	lab = host_id(f->db, "lab");
	make_vm(f->db, "local", "mine", &c);
	assert_int_equal(vm_insert(f->db, &c), 0);
	vm_config_clear(&c);
	assert_int_equal(vm_cache_sync(f->db, lab, first, 2, &added, &removed), 0);
	assert_int_equal(added, 2);
	assert_int_equal(removed, 0);
	assert_int_equal(vm_cache_sync(f->db, lab, second, 2, &added, &removed), 0);
	assert_int_equal(added, 1);
	assert_int_equal(removed, 1);
	assert_int_equal(vm_list(f->db, "lab", &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "beta");
	assert_string_equal(v[0].uuid, "11111111-0000-4000-8000-000000000001");
	assert_string_equal(v[0].state, "paused");
	assert_int_equal(v[0].cpus, 4);
	assert_int_equal(v[0].memory_mib, 2048);
	assert_int_equal(v[0].max_memory_mib, 4096);
	assert_true(v[0].autostart);
	assert_true(v[0].persistent);
	assert_string_equal(v[1].name, "gamma");
	/* No maximum reported: the memory is the maximum. */
	assert_int_equal(v[1].max_memory_mib, 256);
	assert_false(v[1].autostart);
	assert_false(v[1].persistent);
	vm_summary_free(v, n);
	/* A ballooned domain's configuration has its maximum as its memory
	 * (the balloon is not what it may have); written back (a tune), it
	 * stays that, and the next list has the host's word again. */
	assert_int_equal(vm_resolve(f->db, "lab/beta", &id), 0);
	assert_int_equal(vm_load(f->db, id, &c), 0);
	assert_int_equal(c.memory_mib, 4096);
	c.tuning.balloon_mib = 2048;
	assert_int_equal(vm_update(f->db, &c), 0);
	vm_config_clear(&c);
	assert_int_equal(vm_load(f->db, id, &c), 0);
	assert_int_equal(c.memory_mib, 4096);
	assert_int_equal(c.tuning.balloon_mib, 2048);
	vm_config_clear(&c);
	assert_int_equal(vm_cache_sync(f->db, lab, second, 2, &added, &removed), 0);
	assert_int_equal(vm_load(f->db, id, &c), 0);
	assert_int_equal(c.memory_mib, 4096);
	vm_config_clear(&c);
	assert_int_equal(vm_list(f->db, "lab", &v, &n), 0);
	assert_int_equal(v[0].memory_mib, 2048);
	assert_int_equal(v[0].max_memory_mib, 4096);
	vm_summary_free(v, n);
	/* A built-in VM: persistent, no autostart, its memory the maximum. */
	assert_int_equal(vm_list(f->db, "local", &v, &n), 0);
	assert_int_equal(n, 1);
	assert_true(v[0].persistent);
	assert_false(v[0].autostart);
	assert_int_equal(v[0].max_memory_mib, v[0].memory_mib);
	vm_summary_free(v, n);
	/* The same list again changes nothing; two VMs swapping names (a
	 * name moving between UUIDs both ways) goes through. */
	assert_int_equal(vm_cache_sync(f->db, lab, second, 2, &added, &removed), 0);
	assert_int_equal(added, 0);
	assert_int_equal(removed, 0);
	assert_int_equal(vm_cache_sync(f->db, lab, swapped, 2, &added, &removed), 0);
	assert_int_equal(added + removed, 0);
	assert_int_equal(vm_list(f->db, "lab", &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "beta");
	assert_string_equal(v[0].uuid, "11111111-0000-4000-8000-000000000003");
	assert_string_equal(v[1].name, "gamma");
	assert_string_equal(v[1].uuid, "11111111-0000-4000-8000-000000000001");
	vm_summary_free(v, n);
	assert_int_equal(vm_cache_sync(f->db, lab, flags, 2, &added, &removed), 0);
	assert_int_equal(vm_list(f->db, "lab", &v, &n), 0);
	assert_int_equal(n, 2);
	assert_true(v[0].persistent);
	assert_false(v[1].autostart);
	vm_summary_free(v, n);
	/* Other hosts' VMs are untouched; an empty list empties only lab. */
	assert_int_equal(vm_cache_sync(f->db, lab, NULL, 0, &added, &removed), 0);
	assert_int_equal(removed, 2);
	assert_int_equal(vm_resolve(f->db, "local/mine", &id), 0);
}

/* Every machine type, disk bus and NIC model has its trade-off, one short
 * line that starts with the word; the libvirt host's machine types are
 * the others without microvm; other words have none. */
static void
test_choice_hints(void **state)
{
	const char *const *lists[] = { vm_machines, vm_disk_buses, vm_nic_models };

	(void)state;
	for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
		for (size_t i = 0; lists[l][i] != NULL; i++) {
			const char *h = vm_choice_hint(lists[l][i]);
			size_t n = strlen(lists[l][i]);

			assert_non_null(h);
			assert_true(strncmp(h, lists[l][i], n) == 0 && (h[n] == ':' || h[n] == ' '));
			assert_true(strlen(h) <= 110);
			assert_null(strchr(h, '\n'));
		}
	}
	assert_string_equal(vm_choice_hint("ide"), "ide: any guest, slowest; not on q35 or microvm");
	assert_null(vm_choice_hint("uefi"));
	assert_null(vm_choice_hint(NULL));
	for (size_t i = 0; vm_machines_libvirt[i] != NULL; i++)
		assert_true(strcmp(vm_machines_libvirt[i], "microvm") != 0 &&
		    strcmp(vm_machines_libvirt[i], vm_machines[i]) == 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_host_add_dup, setup, teardown),
		cmocka_unit_test(test_host_uri_kinds),
		cmocka_unit_test(test_names_bytes),
		cmocka_unit_test(test_names_hidden),
		cmocka_unit_test_setup_teardown(test_host_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_injection_verbatim, setup, teardown),
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_vm_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_duplicate_and_resolve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_validate, setup, teardown),
		cmocka_unit_test(test_forwards),
		cmocka_unit_test(test_boot_order),
		cmocka_unit_test(test_choice_hints),
		cmocka_unit_test_setup_teardown(test_cache_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_move_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal, setup, teardown),
	};

	return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
