/* The domain XML for a table of configs, compared with fixture files
 * tests/data/xml/NAME.xml, and each one defined on test:///default with
 * VIR_DOMAIN_DEFINE_VALIDATE: libvirt's own schema must accept it.
 * REGENERATE=1 rewrites the fixtures; review the diff before committing. */
#include "unit.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "hv/libvirt.h"
#include "hv/qemu.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/xalloc.h"

#ifndef FIXTURE_DIR
#define FIXTURE_DIR "tests/data/xml"
#endif

typedef void (*cfg_fn)(struct vm_config *c, struct libvirt_env *env);

static void
set(char **field, const char *v)
{
	free(*field);
	*field = xstrdup(v);
}

static void
cfg_tiny(struct vm_config *c, struct libvirt_env *env)
{
	env->serial_log = "/var/log/libvirt/qemu/tiny-kernel-serial0.log";
	c->memory_mib = 256;
	c->kernel = xstrdup("/guest/vmlinuz");
	c->initrd = xstrdup("/guest/initrd.img");
	c->cmdline = xstrdup("console=ttyS0 quiet");
	vm_config_add_nic(c, "user");
}

static void
cfg_buses(struct vm_config *c, struct libvirt_env *env)
{
	struct vm_disk *d;

	(void)env;
	c->memory_mib = 2048;
	vm_config_add_disk(c, "/img/root.qcow2");
	d = vm_config_add_disk(c, "/img/data.raw");
	set(&d->format, "raw");
	set(&d->bus, "scsi");
	d->cache = xstrdup("none");
	d = vm_config_add_disk(c, "/img/sata.qcow2");
	set(&d->bus, "sata");
	d = vm_config_add_disk(c, "/img/ro.qcow2");
	d->readonly = true;
	d->cache = xstrdup("writeback");
	d = vm_config_add_disk(c, "/iso/install.iso");
	set(&d->format, "raw");
	set(&d->bus, "sata");
	d->cdrom = true;
	d = vm_config_add_disk(c, "/iso/scsi.iso");
	set(&d->format, "raw");
	set(&d->bus, "scsi");
	d->cdrom = true;
}

static void
cfg_pc_ide(struct vm_config *c, struct libvirt_env *env)
{
	struct vm_disk *d;

	(void)env;
	set(&c->machine, "pc");
	for (int i = 0; i < 3; i++) {
		char p[32];

		snprintf(p, sizeof p, "/img/ide%d.qcow2", i);
		d = vm_config_add_disk(c, p);
		set(&d->bus, "ide");
	}
	set(&c->graphics, "none");
}

/* IDE on q35 is the built-in AHCI; a /dev path is a block device. */
static void
cfg_q35_ide_block(struct vm_config *c, struct libvirt_env *env)
{
	struct vm_disk *d;

	(void)env;
	d = vm_config_add_disk(c, "/dev/vg0/guest");
	set(&d->format, "raw");
	set(&d->bus, "ide");
	d = vm_config_add_disk(c, "/iso/boot.iso");
	set(&d->format, "raw");
	set(&d->bus, "ide");
	d->cdrom = true;
}

static void
cfg_uefi_kvm(struct vm_config *c, struct libvirt_env *env)
{
	struct vm_nic *n;

	env->type = "kvm";
	set(&c->accel, "kvm");
	set(&c->firmware, "uefi");
	c->sockets = 2;
	c->cores = 4;
	c->threads = 2;
	c->memory_mib = 8192;
	vm_config_add_disk(c, "/img/win.qcow2");
	set(&c->disks[0].bus, "sata");
	n = vm_config_add_nic(c, "user");
	set(&n->model, "e1000e");
}

static void
cfg_nics(struct vm_config *c, struct libvirt_env *env)
{
	struct vm_nic *n;

	(void)env;
	n = vm_config_add_nic(c, "user");
	n->mac = xstrdup("52:54:00:aa:bb:cc");
	n = vm_config_add_nic(c, "bridge");
	n->source = xstrdup("br0");
	set(&n->model, "e1000");
	n = vm_config_add_nic(c, "tap");
	n->source = xstrdup("tap7");
	set(&n->model, "rtl8139");
	n = vm_config_add_nic(c, "network");
	n->source = xstrdup("default");
}

/* Every kind of value that XML must escape, in text and attributes. */
static void
cfg_escaping(struct vm_config *c, struct libvirt_env *env)
{
	struct vm_nic *n;

	(void)env;
	set(&c->name, "a&b <c> 'd' \"e\"");
	vm_config_add_disk(c, "/img/it's & <x> \"y\".qcow2");
	c->kernel = xstrdup("/k/vm&linuz");
	c->cmdline = xstrdup("root=/dev/vda init=\"/bin/sh\" x='1' a<b c>d e&f\ttab");
	c->notes = xstrdup("line 1\nline 2 & <3>");
	/* libvirt's schema limits bridge names, not network names. */
	n = vm_config_add_nic(c, "network");
	n->source = xstrdup("net 'x' & <y>");
}

static void
cfg_tuning(struct vm_config *c, struct libvirt_env *env)
{
	(void)env;
	c->sockets = 1;
	c->cores = 2;
	c->threads = 2;
	c->memory_mib = 1024;
	c->tuning.hugepages = true;
	c->tuning.vcpu_pins = xstrdup("0:2,1:3-4,2:0,1,3:4-7,^5");
	c->tuning.balloon_mib = 768;
}

/* Past 7 SCSI disks libvirt needs a second controller; names go on to "sdh". */
static void
cfg_scsi_many(struct vm_config *c, struct libvirt_env *env)
{
	(void)env;
	for (int i = 0; i < 9; i++) {
		char p[32];
		struct vm_disk *d;

		snprintf(p, sizeof p, "/img/s%d.qcow2", i);
		d = vm_config_add_disk(c, p);
		set(&d->bus, i == 0 ? "virtio" : "scsi");
	}
}

/* A boot order: the CD-ROM, then the network, then the disks. */
static void
cfg_boot_order(struct vm_config *c, struct libvirt_env *env)
{
	struct vm_disk *d;

	(void)env;
	vm_config_add_disk(c, "/img/root.qcow2");
	d = vm_config_add_disk(c, "/iso/install.iso");
	set(&d->format, "raw");
	set(&d->bus, "sata");
	d->cdrom = true;
	vm_config_add_disk(c, "/img/data.raw");
	set(&c->disks[2].format, "raw");
	vm_config_add_nic(c, "user");
	c->boot_order = xstrdup("cdrom,network,disk");
}

static const struct {
	const char *name;
	cfg_fn fn;
} cases[] = {
	{ "tiny-kernel", cfg_tiny },
	{ "disk-buses", cfg_buses },
	{ "pc-ide-nographics", cfg_pc_ide },
	{ "q35-ide-block", cfg_q35_ide_block },
	{ "uefi-kvm-smp", cfg_uefi_kvm },
	{ "nics", cfg_nics },
	{ "escaping", cfg_escaping },
	{ "tuning", cfg_tuning },
	{ "scsi-many", cfg_scsi_many },
	{ "boot-order", cfg_boot_order },
};

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long n;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = xmalloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, fp) != (size_t)n)
		n = 0;
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static void
silent(void *arg, virErrorPtr e)
{
	(void)arg;
	(void)e;
}

/* Case I's config and generated XML. */
static char *
make_case(size_t i, struct vm_config *c)
{
	struct libvirt_env env = { "qemu", NULL };
	char *xml;

	vm_config_init(c);
	c->name = xstrdup(cases[i].name);
	snprintf(c->uuid, sizeof c->uuid, "0c0ffee0-1234-4abc-8def-%012zu", i);
	cases[i].fn(c, &env);
	assert_int_equal(vm_config_validate(c), 0);
	if (libvirt_domain_xml(c, &env, &xml) != 0)
		fail_msg("case '%s': %s", cases[i].name, err_get());
	return xml;
}

static void
test_fixtures(void **state)
{
	const char *regen = getenv("REGENERATE");

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct vm_config c;
		char path[512], *want, *got;

		got = make_case(i, &c);
		snprintf(path, sizeof path, "%s/%s.xml", FIXTURE_DIR, cases[i].name);
		if (regen != NULL && regen[0] == '1') {
			FILE *fp = fopen(path, "w");

			assert_non_null(fp);
			fputs(got, fp);
			fclose(fp);
		}
		want = slurp(path);
		if (want == NULL)
			fail_msg("fixture '%s' is missing; run with REGENERATE=1", path);
		if (strcmp(want, got) != 0)
			fail_msg("XML for '%s' differs from '%s':\n--- got\n%s", cases[i].name,
			    path, got);
		free(want);
		free(got);
		vm_config_clear(&c);
	}
}

/* libvirt itself must accept every fixture: define it on the test driver
 * with schema validation, and read back what it understood. */
static void
test_libvirt_accepts(void **state)
{
	virConnectPtr conn;

	(void)state;
	virSetErrorFunc(NULL, silent);
	conn = virConnectOpen("test:///default");
	assert_non_null(conn);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct vm_config c;
		char uuid[VIR_UUID_STRING_BUFLEN], *xml = make_case(i, &c), *back;
		virDomainPtr dom;

		dom = virDomainDefineXMLFlags(conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
		if (dom == NULL)
			fail_msg("libvirt rejects the XML of '%s': %s\n%s", cases[i].name,
			    virGetLastErrorMessage(), xml);
		/* The escaped name and UUID come back unchanged. */
		assert_string_equal(virDomainGetName(dom), c.name);
		assert_int_equal(virDomainGetUUIDString(dom, uuid), 0);
		assert_string_equal(uuid, c.uuid);
		back = virDomainGetXMLDesc(dom, 0);
		assert_non_null(back);
		if (c.kernel != NULL)
			assert_non_null(strstr(back, "<kernel>"));
		if (c.ndisks > 0)
			assert_non_null(strstr(back, "<target dev="));
		free(back);
		assert_int_equal(virDomainUndefine(dom), 0);
		virDomainFree(dom);
		free(xml);
		vm_config_clear(&c);
	}
	virConnectClose(conn);
}

/* The escaped values, checked directly as well: the fixture would
 * happily keep a wrong escape. */
static void
test_escaping(void **state)
{
	struct vm_config c;
	char *xml;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (strcmp(cases[i].name, "escaping") != 0)
			continue;
		xml = make_case(i, &c);
		assert_non_null(strstr(xml,
		    "<name>a&amp;b &lt;c&gt; &apos;d&apos; &quot;e&quot;</name>"));
		assert_non_null(strstr(xml,
		    "file='/img/it&apos;s &amp; &lt;x&gt; &quot;y&quot;.qcow2'"));
		assert_non_null(strstr(xml, "e&amp;f&#9;tab</cmdline>"));
		assert_non_null(strstr(xml, "line 1&#10;line 2 &amp; &lt;3&gt;"));
		assert_non_null(strstr(xml, "<source network='net &apos;x&apos; &amp; &lt;y&gt;'/>"));
		assert_null(strstr(xml, "it's"));
		free(xml);
		vm_config_clear(&c);
	}
}

static void
test_errors(void **state)
{
	const struct libvirt_env qemu = { "qemu", NULL }, xen = { "xen", NULL };
	struct vm_config c;
	struct vm_disk *d;
	char *xml = NULL;

	(void)state;
	vm_config_init(&c);
	c.name = xstrdup("e");
	d = vm_config_add_disk(&c, "/img/fast.qcow2");
	set(&d->bus, "nvme");
	assert_int_equal(libvirt_domain_xml(&c, &qemu, &xml), -1);
	assert_null(xml);
	assert_non_null(strstr(err_get(), "VM 'e': disk '/img/fast.qcow2' is on an nvme bus"));
	assert_non_null(strstr(err_get(), "use virtio, scsi or sata"));
	set(&d->bus, "virtio");
	assert_int_equal(libvirt_domain_xml(&c, &xen, &xml), -1);
	assert_non_null(strstr(err_get(), "domain type 'xen' is not known"));
	c.kernel = xstrdup("/k");
	c.cmdline = xstrdup("a\x01z");
	assert_int_equal(libvirt_domain_xml(&c, &qemu, &xml), -1);
	assert_non_null(strstr(err_get(), "the kernel command line contains a control character"));
	free(c.cmdline);
	c.cmdline = NULL;
	c.tuning.vcpu_pins = xstrdup("1:2");	/* only vCPU 0 exists */
	assert_int_equal(libvirt_domain_xml(&c, &qemu, &xml), -1);
	assert_non_null(strstr(err_get(), "vCPU pins '1:2' are not of the form"));
	set(&c.tuning.vcpu_pins, "0:x");
	assert_int_equal(libvirt_domain_xml(&c, &qemu, &xml), -1);
	set(&c.tuning.vcpu_pins, "0:1");
	assert_int_equal(libvirt_domain_xml(&c, &qemu, &xml), 0);
	assert_non_null(strstr(xml, "<vcpupin vcpu='0' cpuset='1'/>"));
	free(xml);
	vm_config_add_nic(&c, "user")->forwards = xstrdup("tcp:2222:22");
	assert_int_equal(libvirt_domain_xml(&c, &qemu, &xml), -1);
	assert_non_null(strstr(err_get(), "port forwards on user networking are not supported"));
	vm_config_clear(&c);
}

static const char caps_kvm[] =
    "<capabilities><host><cpu><arch>x86_64</arch></cpu></host>"
    "<guest><os_type>hvm</os_type><arch name='i686'><domain type='qemu'/>"
    "<domain type='kvm'/></arch></guest>"
    "<guest><os_type>hvm</os_type><arch name='x86_64'><wordsize>64</wordsize>"
    "<domain type='qemu'/><domain type='kvm'/></arch></guest></capabilities>";
static const char caps_i686_kvm[] =
    "<capabilities><guest><os_type>hvm</os_type><arch name='i686'>"
    "<domain type='kvm'/></arch></guest><guest><os_type>hvm</os_type>"
    "<arch name='x86_64'><domain type='qemu'/></arch></guest></capabilities>";

static void
test_domain_type(void **state)
{
	virConnectPtr conn;
	char note[256], *caps;
	const char *local;

	(void)state;
	assert_true(libvirt_caps_have_kvm(caps_kvm));
	assert_false(libvirt_caps_have_kvm(caps_i686_kvm));
	assert_false(libvirt_caps_have_kvm(NULL));
	assert_string_equal(libvirt_domain_type("kvm", NULL, false), "kvm");
	assert_string_equal(libvirt_domain_type("tcg", caps_kvm, false), "qemu");
	assert_string_equal(libvirt_domain_type("auto", caps_kvm, false), "kvm");
	assert_string_equal(libvirt_domain_type("auto", caps_i686_kvm, false), "qemu");
	assert_string_equal(libvirt_domain_type("auto", NULL, false), "qemu");
	/* On this machine, kvm only when the CPU really has it. */
	local = strcmp(qemu_accel_resolve("auto", note, sizeof note), "kvm") == 0 ? "kvm" : "qemu";
	assert_string_equal(libvirt_domain_type("auto", caps_kvm, true), local);
	/* The test driver offers no kvm. */
	virSetErrorFunc(NULL, silent);
	conn = virConnectOpen("test:///default");
	assert_non_null(conn);
	caps = virConnectGetCapabilities(conn);
	assert_non_null(caps);
	assert_false(libvirt_caps_have_kvm(caps));
	free(caps);
	virConnectClose(conn);
}

static void
test_serial_log_path(void **state)
{
	static const struct {
		const char *uri, *want;
	} t[] = {
		{ "qemu:///system", "/var/log/libvirt/qemu/g1-serial0.log" },
		{ "qemu+ssh://root@lab/system", "/var/log/libvirt/qemu/g1-serial0.log" },
		{ "qemu+unix:///system?socket=/x/libvirt-sock", "/var/log/libvirt/qemu/g1-serial0.log" },
		{ "qemu:///session", NULL },
		{ "qemu+ssh://lab/session", NULL },
		{ "test:///default", NULL },
		{ "qemuish:///system", NULL },
		{ "qemu:///systemd", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char *got = libvirt_serial_log_path(t[i].uri, "g1");

		if (t[i].want == NULL && got != NULL)
			fail_msg("'%s' gives '%s', want none", t[i].uri, got);
		if (t[i].want != NULL && (got == NULL || strcmp(got, t[i].want) != 0))
			fail_msg("'%s' gives '%s', want '%s'", t[i].uri, got != NULL ? got : "none",
			    t[i].want);
		free(got);
	}
}

static void
test_uri_remote(void **state)
{
	(void)state;
	assert_true(libvirt_uri_is_remote("qemu+ssh://root@lab/system"));
	assert_true(libvirt_uri_is_remote("qemu+tcp://127.0.0.1:1/system"));
	assert_false(libvirt_uri_is_remote("qemu:///system"));
	assert_false(libvirt_uri_is_remote("test:///default"));
	assert_false(libvirt_uri_is_remote("qemu+unix:///system?socket=/tmp/s"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_libvirt_accepts),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_domain_type),
		cmocka_unit_test(test_serial_log_path),
		cmocka_unit_test(test_uri_remote),
	};

	return cmocka_run_group_tests_name("libvirt_xml", tests, NULL, NULL);
}
