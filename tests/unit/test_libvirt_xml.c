/* The domain XML for a table of configs, compared with fixture files
 * tests/data/xml/NAME.xml, and each one defined on test:///default with
 * VIR_DOMAIN_DEFINE_VALIDATE: libvirt's own schema must accept it.
 * REGENERATE=1 rewrites the fixtures; review the diff before committing.
 * Reading XML back: every fixture, and the same domains written otherwise
 * (tests/data/xml/read: attribute order, quotes, comments, entities),
 * give the same values; so do VNC, capabilities and volume XML. */
#include "unit.h"

#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "hv/libvirt.h"
#include "hv/libvirt_xml_priv.h"
#include "hv/qemu.h"
#include "model/snapshot.h"
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

/* SATA on q35 (its AHCI; q35 has no IDE bus); a /dev path is a block device. */
static void
cfg_q35_sata_block(struct vm_config *c, struct libvirt_env *env)
{
	struct vm_disk *d;

	(void)env;
	d = vm_config_add_disk(c, "/dev/vg0/guest");
	set(&d->format, "raw");
	set(&d->bus, "sata");
	d = vm_config_add_disk(c, "/iso/boot.iso");
	set(&d->format, "raw");
	set(&d->bus, "sata");
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
	c->tuning.hugepage_kib = 2048;
	c->tuning.vcpu_pins = xstrdup("all:0-7;0:2;1:3-4;2:0-1");
	c->tuning.emulator_pin = xstrdup("5-6");
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
	{ "q35-sata-block", cfg_q35_sata_block },
	{ "uefi-kvm-smp", cfg_uefi_kvm },
	{ "nics", cfg_nics },
	{ "escaping", cfg_escaping },
	{ "tuning", cfg_tuning },
	{ "scsi-many", cfg_scsi_many },
	{ "boot-order", cfg_boot_order },
};

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
		want = unit_slurp(path);
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
	assert_non_null(strstr(err_get(), "has 1 vCPUs but a pin for vCPU 1"));
	set(&c.tuning.vcpu_pins, "0:x");
	assert_int_equal(libvirt_domain_xml(&c, &qemu, &xml), -1);
	assert_non_null(strstr(err_get(), "vCPU pins '0:x' are not of the form"));
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

/* Every value vmtty could want back from a domain, one line each:
 * "XPATH=VALUE", or "XPATH -" when it selects nothing. */
static const char *const dump_top[] = {
	"/domain/@type", "/domain/name", "/domain/uuid", "/domain/description",
	"/domain/memory", "/domain/memory/@unit", "/domain/currentMemory",
	"/domain/currentMemory/@unit", "/domain/memoryBacking/hugepages", "/domain/vcpu",
	"/domain/vcpu/@placement", "/domain/os/@firmware", "/domain/os/type",
	"/domain/os/type/@arch", "/domain/os/type/@machine", "/domain/os/kernel",
	"/domain/os/initrd", "/domain/os/cmdline", "/domain/cpu/@mode",
	"/domain/cpu/topology/@sockets", "/domain/cpu/topology/@dies",
	"/domain/cpu/topology/@cores", "/domain/cpu/topology/@threads", "/domain/clock/@offset",
};

static const struct {
	const char *elem;
	const char *sub[12];
} dump_each[] = {
	{ "/domain/cputune/vcpupin", { "@vcpu", "@cpuset" } },
	{ "/domain/devices/controller", { "@type", "@index", "@model" } },
	{ "/domain/devices/disk", { "@type", "@device", "driver/@name", "driver/@type",
	    "driver/@cache", "source/@file", "source/@dev", "target/@dev", "target/@bus",
	    "readonly", "boot/@order" } },
	{ "/domain/devices/interface", { "@type", "mac/@address", "source/@bridge",
	    "source/@network", "target/@dev", "target/@managed", "model/@type", "boot/@order" } },
	{ "/domain/devices/serial", { "@type", "log/@file", "target/@port" } },
	{ "/domain/devices/graphics", { "@type", "@port", "@autoport", "@listen",
	    "listen/@type", "listen/@address" } },
	{ "/domain/devices/video", { "model/@type" } },
};

static void
dump_one(FILE *fp, struct libvirt_xml *x, const char *expr)
{
	char *v = libvirt_xml_get(x, expr);

	if (v == NULL)
		fprintf(fp, "%s -\n", expr);
	else
		fprintf(fp, "%s=%s\n", expr, v);
	free(v);
}

static char *
dump(struct libvirt_xml *x)
{
	char *out = NULL, expr[256];
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);

	assert_non_null(fp);
	for (size_t i = 0; i < sizeof dump_top / sizeof dump_top[0]; i++)
		dump_one(fp, x, dump_top[i]);
	for (size_t k = 0; k < sizeof dump_each / sizeof dump_each[0]; k++) {
		int n = libvirt_xml_count(x, dump_each[k].elem);

		fprintf(fp, "%s count=%d\n", dump_each[k].elem, n);
		for (int i = 1; i <= n; i++)
			for (size_t j = 0; j < 12 && dump_each[k].sub[j] != NULL; j++) {
				snprintf(expr, sizeof expr, "%s[%d]/%s", dump_each[k].elem, i,
				    dump_each[k].sub[j]);
				dump_one(fp, x, expr);
			}
	}
	fclose(fp);
	return out;
}

static struct libvirt_xml *
parse_file(const char *file)
{
	char path[512], *text;
	struct libvirt_xml *x;

	snprintf(path, sizeof path, "%s/%s", FIXTURE_DIR, file);
	if ((text = unit_slurp(path)) == NULL)
		fail_msg("fixture '%s' is missing", path);
	if ((x = libvirt_xml_parse(text, path)) == NULL)
		fail_msg("%s", err_get());
	free(text);
	return x;
}

/* EXPR in X is WANT (NULL: selects nothing). */
static void
expect(struct libvirt_xml *x, const char *file, const char *expr, const char *want)
{
	char *got = libvirt_xml_get(x, expr);

	if (want == NULL ? got != NULL : got == NULL || strcmp(got, want) != 0)
		fail_msg("'%s': %s is '%s', want '%s'", file, expr, got != NULL ? got : "(none)",
		    want != NULL ? want : "(none)");
	free(got);
}

static void
expect_int(struct libvirt_xml *x, const char *file, const char *expr, long long want)
{
	char buf[32];

	snprintf(buf, sizeof buf, "%lld", want);
	expect(x, file, expr, buf);
}

static const char *
nic_source_path(const struct vm_nic *n)
{
	if (strcmp(n->kind, "bridge") == 0)
		return "source/@bridge";
	if (strcmp(n->kind, "network") == 0)
		return "source/@network";
	return strcmp(n->kind, "tap") == 0 ? "target/@dev" : NULL;
}

/* The domain XML X holds config C, field by field. */
static void
check_config(struct libvirt_xml *x, const char *file, const struct vm_config *c)
{
	char expr[128], mac[18];

	expect(x, file, "/domain/name", c->name);
	expect(x, file, "/domain/uuid", c->uuid);
	expect(x, file, "/domain/description",
	    c->notes != NULL && c->notes[0] != '\0' ? c->notes : NULL);
	expect_int(x, file, "/domain/memory", c->memory_mib);
	expect_int(x, file, "/domain/vcpu", vm_config_cpus(c));
	expect_int(x, file, "/domain/cpu/topology/@sockets", c->sockets);
	expect_int(x, file, "/domain/cpu/topology/@cores", c->cores);
	expect_int(x, file, "/domain/cpu/topology/@threads", c->threads);
	expect(x, file, "/domain/os/type/@machine", c->machine);
	expect(x, file, "/domain/os/kernel", c->kernel);
	expect(x, file, "/domain/os/initrd", c->kernel != NULL ? c->initrd : NULL);
	expect(x, file, "/domain/os/cmdline", c->kernel != NULL ? c->cmdline : NULL);
	assert_int_equal(libvirt_xml_count(x, "/domain/devices/disk"), (int)c->ndisks);
	for (size_t i = 0; i < c->ndisks; i++) {
		snprintf(expr, sizeof expr, "/domain/devices/disk[%zu]/source/@*", i + 1);
		expect(x, file, expr, c->disks[i].path);
		snprintf(expr, sizeof expr, "/domain/devices/disk[%zu]/@device", i + 1);
		expect(x, file, expr, c->disks[i].cdrom ? "cdrom" : "disk");
	}
	assert_int_equal(libvirt_xml_count(x, "/domain/devices/interface"), (int)c->nnics);
	for (size_t i = 0; i < c->nnics; i++) {
		const struct vm_nic *n = &c->nics[i];

		if (nic_source_path(n) != NULL) {
			snprintf(expr, sizeof expr, "/domain/devices/interface[%zu]/%s", i + 1,
			    nic_source_path(n));
			expect(x, file, expr, n->source);
		}
		if (n->mac != NULL)
			snprintf(mac, sizeof mac, "%s", n->mac);
		else
			qemu_default_mac(c, i, mac);
		snprintf(expr, sizeof expr, "/domain/devices/interface[%zu]/mac/@address", i + 1);
		expect(x, file, expr, mac);
		snprintf(expr, sizeof expr, "/domain/devices/interface[%zu]/model/@type", i + 1);
		expect(x, file, expr, strcmp(n->model, "virtio-net") == 0 ? "virtio" : n->model);
	}
}

/* Every fixture reads back as the config it was made from. */
static void
test_read_fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct vm_config c;
		char file[128], *xml = make_case(i, &c);
		struct libvirt_xml *x;

		snprintf(file, sizeof file, "%s.xml", cases[i].name);
		x = parse_file(file);
		check_config(x, file, &c);
		libvirt_xml_free(x);
		free(xml);
		vm_config_clear(&c);
	}
}

/* The same domains written otherwise read back the same, value by value,
 * and as the same config. */
static void
test_read_variants(void **state)
{
	static const struct {
		const char *file, *base;
	} t[] = {
		{ "read/escaping.xml", "escaping" },
		{ "read/nics.xml", "nics" },
	};

	(void)state;
	for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
		char file[128], *want, *got;
		struct libvirt_xml *base, *x;
		struct vm_config c;
		size_t i;

		for (i = 0; strcmp(cases[i].name, t[k].base) != 0; i++)
			;
		free(make_case(i, &c));
		snprintf(file, sizeof file, "%s.xml", t[k].base);
		base = parse_file(file);
		x = parse_file(t[k].file);
		want = dump(base);
		got = dump(x);
		if (strcmp(want, got) != 0) {
			size_t at = 0;

			/* The first line that differs (cmocka cuts long messages). */
			for (size_t j = 0; want[j] == got[j]; j++)
				if (want[j] == '\n')
					at = j + 1;
			fail_msg("'%s' reads otherwise than '%s':\nwant %.*s\ngot  %.*s", t[k].file,
			    file, (int)strcspn(want + at, "\n"), want + at,
			    (int)strcspn(got + at, "\n"), got + at);
		}
		check_config(x, t[k].file, &c);
		free(want);
		free(got);
		libvirt_xml_free(base);
		libvirt_xml_free(x);
		vm_config_clear(&c);
	}
}

static void
test_read_vnc(void **state)
{
	static const struct {
		const char *what, *xml;
		int rc;
		bool sock;
		int port;
		const char *listen;
	} t[] = {
		{ "libvirt's order", "<domain><devices><graphics type='vnc' port='5901' "
		    "autoport='yes' listen='192.168.1.5'><listen type='address' "
		    "address='192.168.1.5'/></graphics></devices></domain>", 1, false, 5901,
		    "192.168.1.5" },
		{ "reordered, double quotes, newlines", "<domain>\n<devices>\n<graphics "
		    "listen=\"192.168.1.5\"\n\tautoport=\"yes\" port=\"5901\" type=\"vnc\"/>"
		    "</devices></domain>", 1, false, 5901, "192.168.1.5" },
		{ "a comment, then spice", "<domain><devices><!-- <graphics type='vnc' "
		    "port='1'/> --><graphics type='spice' port='5900'/><graphics port='5902' "
		    "type='vnc' listen='::'/></devices></domain>", 1, false, 5902, "::" },
		{ "only a listen element", "<domain><devices><graphics type='vnc' port='5903'>"
		    "<listen type='address' address='10.0.0.1'/></graphics></devices></domain>",
		    1, false, 5903, "10.0.0.1" },
		{ "character references", "<domain><devices><graphics type='vnc' "
		    "port='&#53;904' listen='&#x31;27.0.0.1'/></devices></domain>", 1, false, 5904,
		    "127.0.0.1" },
		{ "not started", "<domain><devices><graphics type='vnc' port='-1' "
		    "autoport='yes'/></devices></domain>", 1, false, -1, "" },
		{ "a socket with an entity", "<domain><devices><graphics type='vnc' "
		    "socket='/run/a&amp;b/vnc.sock'/></devices></domain>", 1, true, 0, "" },
		{ "a socket listen", "<domain><devices><graphics type='vnc'><listen "
		    "type='socket' socket='/run/x.sock'/></graphics></devices></domain>", 1, true,
		    0, "" },
		{ "spice only", "<domain><devices><graphics type='spice' port='5900'/>"
		    "</devices></domain>", 0, false, 0, "" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct libvirt_vnc v;
		int rc = libvirt_xml_vnc(t[i].xml, "g", &v);

		if (rc != t[i].rc || v.unix_socket != t[i].sock || v.port != t[i].port ||
		    strcmp(v.listen, t[i].listen) != 0)
			fail_msg("%s: got %d socket=%d port=%d listen='%s', want %d %d %d '%s'",
			    t[i].what, rc, v.unix_socket, v.port, v.listen, t[i].rc, t[i].sock,
			    t[i].port, t[i].listen);
	}
}

static void
test_read_caps(void **state)
{
	static const struct {
		const char *what, *xml;
		bool kvm;
	} t[] = {
		{ "double quotes, other attributes", "<capabilities><guest><os_type>hvm</os_type>"
		    "<arch name=\"x86_64\"><domain type=\"qemu\"/><domain type=\"kvm\">"
		    "<emulator>/usr/bin/qemu-system-x86_64</emulator></domain></arch></guest>"
		    "</capabilities>", true },
		{ "newlines in tags", "<capabilities>\n<guest>\n<arch\n  name='x86_64'\n>\n"
		    "<domain\n type='kvm'\n/>\n</arch>\n</guest>\n</capabilities>", true },
		{ "kvm only in a comment", "<capabilities><guest><arch name='x86_64'>"
		    "<domain type='qemu'/><!-- <domain type='kvm'/> --></arch></guest>"
		    "</capabilities>", false },
		{ "x86_64 only as a machine name", "<capabilities><guest><arch name='i686'>"
		    "<machine name='x86_64'/><domain type='kvm'/></arch></guest>"
		    "</capabilities>", false },
		{ "malformed", "<capabilities><guest><arch name='x86_64'><domain type='kvm'/>",
		    false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (libvirt_caps_have_kvm(t[i].xml) != t[i].kvm)
			fail_msg("%s: want %s", t[i].what, t[i].kvm ? "kvm" : "no kvm");
}

static void
test_read_volume(void **state)
{
	static const struct {
		const char *what, *xml, *want;
	} t[] = {
		{ "libvirt's order", "<volume type='file'><name>a&amp;b.qcow2</name><target>"
		    "<path>/var/lib/libvirt/images/a&amp;b.qcow2</path><format type='qcow2'/>"
		    "</target></volume>", "qcow2" },
		{ "double quotes", "<volume type=\"file\"><target><format type=\"raw\"/>"
		    "</target></volume>", "raw" },
		{ "the backing store first", "<volume><backingStore><path>/b.raw</path><format "
		    "type='raw'/></backingStore><target><path>/a&lt;1&gt;.qcow2</path><format "
		    "type='qcow2'/></target></volume>", "qcow2" },
		{ "no format", "<volume><target><path>/x</path></target></volume>", NULL },
		{ "malformed", "<volume><target><format type='qcow2'></target></volume>", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char f[16] = "";
		int rc = libvirt_volume_format(t[i].xml, f, sizeof f);

		if (t[i].want == NULL ? rc != -1 : rc != 0 || strcmp(f, t[i].want) != 0)
			fail_msg("%s: got %d '%s', want '%s'", t[i].what, rc, f,
			    t[i].want != NULL ? t[i].want : "an error");
	}
}

/* XML that does not parse, or that brings a DTD (an external entity),
 * gives one line of error and nothing on stderr. */
static void
test_read_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"not xml",
		"<domain><devices>",
		"<domain><name>a & b</name></domain>",
		"<domain><name>&nbsp;</name></domain>",
		"<domain type='qemu' type='kvm'/>",
		"<?xml version='1.0'?><!DOCTYPE domain [<!ENTITY x SYSTEM "
		    "'file:///etc/passwd'>]><domain><name>&x;</name></domain>",
		"<!DOCTYPE domain [<!ENTITY a 'aaaa'>]><domain><devices><graphics type='vnc' "
		    "port='5900' listen='&a;'/></devices></domain>",
	};
	FILE *tmp = tmpfile();
	int saved = dup(2);
	long n;

	(void)state;
	assert_non_null(tmp);
	fflush(stderr);
	dup2(fileno(tmp), 2);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct libvirt_vnc v;
		char f[16];

		if (libvirt_xml_vnc(bad[i], "v1", &v) != -1) {
			dup2(saved, 2);
			fail_msg("'%s' reads", bad[i]);
		}
		assert_non_null(strstr(err_get(), "cannot read the definition of VM 'v1': "));
		assert_null(strchr(err_get(), '\n'));
		assert_false(libvirt_caps_have_kvm(bad[i]));
		assert_int_equal(libvirt_volume_format(bad[i], f, sizeof f), -1);
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	fseek(tmp, 0, SEEK_END);
	n = ftell(tmp);
	fclose(tmp);
	assert_int_equal(n, 0);
	assert_int_equal(libvirt_xml_vnc("<domain><devices>", "v1", &(struct libvirt_vnc){ 0 }),
	    -1);
	assert_non_null(strstr(err_get(), "does not parse at line 1: "));
}

/* libvirt's XML of DOMAIN (defined on CONN with schema validation) has
 * each of WANT (NULL-terminated) and none of NOT. */
static void
libvirt_has(virConnectPtr conn, const char *xml, const char *const *want,
    const char *const *not)
{
	virDomainPtr dom = virDomainDefineXMLFlags(conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
	char *back;

	if (dom == NULL)
		fail_msg("libvirt rejects: %s\n%s", virGetLastErrorMessage(), xml);
	assert_non_null(back = virDomainGetXMLDesc(dom, 0));
	for (; want != NULL && *want != NULL; want++)
		if (strstr(back, *want) == NULL)
			fail_msg("libvirt's XML lacks \"%s\":\n%s", *want, back);
	for (; not != NULL && *not != NULL; not++)
		if (strstr(back, *not) != NULL)
			fail_msg("libvirt's XML has \"%s\":\n%s", *not, back);
	free(back);
	assert_int_equal(virDomainUndefine(dom), 0);
	virDomainFree(dom);
}

/* How often NEEDLE is in S. */
static int
libvirt_xml_count_str(const char *s, const char *needle)
{
	int n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return n;
}

#define TUNE_ALL (LIBVIRT_TUNE_PINS | LIBVIRT_TUNE_HUGEPAGES)
#define MARK "<vmtty:tuning xmlns:vmtty=\"" LIBVIRT_TUNING_NS "\"/>"
/* The mark giving the inventory only PARTS ("pins hugepages"). */
#define MARK_OF(parts) "<vmtty:tuning xmlns:vmtty=\"" LIBVIRT_TUNING_NS "\" parts=\"" \
	parts "\"/>"

/*
 * A definition brought to a VM's tuning: every fixture has its own
 * already (marked, no change); tuning taken away and put back, each time
 * only that, as libvirt reads it; what else is in <cputune> and
 * <memoryBacking> stays; a domain defined elsewhere keeps its own tuning
 * until the VM has some, or vmtty adopts it.
 */
static void
test_tuning_edit(void **state)
{
	struct vm_config c, bare;
	char *xml, *out, *out2;
	virConnectPtr conn;
	size_t t;

	(void)state;
	virSetErrorFunc(NULL, silent);
	assert_non_null(conn = virConnectOpen("test:///default"));
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		xml = make_case(i, &c);
		assert_int_equal(libvirt_xml_tuning(xml, &c, TUNE_ALL, &out), 1);
		if (out != NULL)
			fail_msg("case '%s' gets a change of its own tuning:\n%s", cases[i].name, out);
		free(xml);
		vm_config_clear(&c);
	}

	for (t = 0; strcmp(cases[t].name, "tuning") != 0; t++)
		;
	xml = make_case(t, &c);
	vm_config_copy(&bare, &c);
	free(bare.tuning.vcpu_pins);
	free(bare.tuning.emulator_pin);
	bare.tuning.vcpu_pins = bare.tuning.emulator_pin = NULL;
	bare.tuning.hugepage_kib = bare.tuning.balloon_mib = 0;
	/* Pins only: the hugepages stay. */
	assert_int_equal(libvirt_xml_tuning(xml, &bare, LIBVIRT_TUNE_PINS, &out), 1);
	assert_non_null(out);
	libvirt_has(conn, out, (const char *const[]){ "<page size='2048' unit='KiB'/>", MARK,
	    NULL }, (const char *const[]){ "<cputune>", "pin", NULL });
	/* And hugepages: neither is left, nor the elements that held them. */
	assert_int_equal(libvirt_xml_tuning(out, &bare, TUNE_ALL, &out2), 1);
	assert_non_null(out2);
	free(out);
	assert_null(strstr(out2, "cputune"));
	assert_null(strstr(out2, "memoryBacking"));
	assert_int_equal(libvirt_xml_tuning(out2, &bare, TUNE_ALL, &out), 1);
	assert_null(out);
	/* Back: as the generator writes them, and as libvirt reads them. */
	assert_int_equal(libvirt_xml_tuning(out2, &c, 0, &out), 1);
	assert_null(out);
	assert_int_equal(libvirt_xml_tuning(out2, &c, TUNE_ALL, &out), 1);
	assert_non_null(out);
	libvirt_has(conn, out, (const char *const[]){ "<page size='2048' unit='KiB'/>",
	    "<vcpupin vcpu='0' cpuset='2'/>", "<vcpupin vcpu='1' cpuset='3-4'/>",
	    "<vcpupin vcpu='2' cpuset='0-1'/>", "<vcpupin vcpu='3' cpuset='0-7'/>",
	    "<emulatorpin cpuset='5-6'/>", "<name>tuning</name>", MARK, NULL }, NULL);
	free(out2);
	assert_int_equal(libvirt_xml_tuning(out, &c, TUNE_ALL, &out2), 1);
	assert_null(out2);
	free(out);
	free(xml);

	/* Defined elsewhere (no mark): its own pins and hugepages stay while
	 * the VM has no tuning; adopted, or given some, it is marked (those
	 * parts) and brought to the VM's, and what else <cputune> and
	 * <memoryBacking> hold stays. */
	xml = xstrdup("<domain type='qemu'><name>tuning</name><memory>1048576</memory>"
	    "<vcpu>4</vcpu><metadata><app:x xmlns:app='urn:x-app'/></metadata><memoryBacking>"
	    "<hugepages><page size='1' unit='G' nodeset='0'/></hugepages><locked/>"
	    "</memoryBacking><cputune><shares>2048</shares><vcpupin vcpu='0' "
	    "cpuset='0-7,^2'/></cputune><os><type>hvm</type></os></domain>");
	assert_int_equal(libvirt_xml_tuning(xml, &bare, TUNE_ALL, &out), 0);
	assert_null(out);
	assert_int_equal(libvirt_xml_tuning(xml, &bare, TUNE_ALL | LIBVIRT_TUNE_ADOPT, &out), 1);
	assert_non_null(out);
	libvirt_has(conn, out, (const char *const[]){ "<locked/>", "<shares>2048</shares>",
	    MARK_OF("pins hugepages"), "<app:x xmlns:app=\"urn:x-app\"/>", NULL },
	    (const char *const[]){ "<hugepages", "vcpupin", "emulatorpin", NULL });
	free(out);
	assert_int_equal(libvirt_xml_tuning(xml, &c, TUNE_ALL, &out), 1);
	assert_non_null(out);
	libvirt_has(conn, out, (const char *const[]){ "<locked/>", "<shares>2048</shares>",
	    "<page size='2048' unit='KiB'/>", "<vcpupin vcpu='0' cpuset='2'/>",
	    "<emulatorpin cpuset='5-6'/>", MARK_OF("pins hugepages"), NULL },
	    (const char *const[]){ "nodeset", NULL });
	free(out);
	free(xml);
	/* Marked already: only what differs; "0-7,^2" is libvirt's way to
	 * write 0-1,3-7. */
	free(c.tuning.vcpu_pins);
	c.tuning.vcpu_pins = xstrdup("0:0-1,3-7");
	xml = xstrdup("<domain><vcpu>1</vcpu><metadata>" MARK "</metadata><cputune>"
	    "<vcpupin vcpu='0' cpuset='0-7,^2'/><emulatorpin cpuset='6,5'/></cputune></domain>");
	c.sockets = c.cores = c.threads = 1;
	assert_int_equal(libvirt_xml_tuning(xml, &c, LIBVIRT_TUNE_PINS, &out), 1);
	assert_null(out);
	assert_int_equal(libvirt_xml_tuning(xml, &bare, 0, &out), 1);
	assert_null(out);
	free(xml);
	assert_int_equal(libvirt_xml_tuning("<domain><vcpu>", &c, TUNE_ALL, &out), -1);
	assert_non_null(strstr(err_get(), "cannot read the definition of VM 'tuning': "));
	vm_config_clear(&bare);
	vm_config_clear(&c);
	virConnectClose(conn);
}

/*
 * A domain defined elsewhere, as virsh defines one: direct kernel boot,
 * machine pc, devices vmtty's model has no word for, pins of its own and a
 * balloon of its own.  Each part vmtty is asked to tune becomes the
 * inventory's (the mark names it) and only that part changes; a start
 * (no ADOPT) leaves the others alone; the maximum memory changes <memory>
 * alone, <currentMemory> following it only when it had all of it.
 */
/*
 * vmtty edit on a domain defined elsewhere: only the edited parts of its
 * own definition change (CPUs, memory, a disk and a NIC added), what vmtty
 * does not model stays, the new disk gets a target of its own; an edit
 * that changes nothing changes nothing.
 */
static void
test_edit_in_place(void **state)
{
	static const char own[] =
	    "<domain type='qemu'><name>own</name><description>by hand</description>"
	    "<memory unit='MiB'>256</memory><currentMemory unit='MiB'>256</currentMemory>"
	    "<vcpu placement='static'>1</vcpu>"
	    "<os><type arch='x86_64' machine='pc'>hvm</type><kernel>/k</kernel>"
	    "<cmdline>console=ttyS0</cmdline><boot dev='hd'/></os>"
	    "<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2' "
	    "cache='none'/><source file='/tmp/own.qcow2'/><target dev='vda' bus='virtio'/></disk>"
	    "<interface type='user'><mac address='52:54:00:aa:00:01'/><model type='virtio'/>"
	    "</interface><interface type='user'><mac address='52:54:00:aa:00:02'/>"
	    "<model type='virtio'/><driver name='qemu' rx_queue_size='512'/></interface>"
	    "<sound model='ich6'/></devices><seclabel type='none'/></domain>";
	struct libvirt_env env = { "qemu", NULL };
	struct vm_config old, c;
	virConnectPtr conn;
	char *gen, *out;

	(void)state;
	virSetErrorFunc(NULL, silent);
	assert_non_null(conn = virConnectOpen("test:///default"));
	vm_config_init(&old);
	old.name = xstrdup("own");
	old.memory_mib = 256;
	vm_config_copy(&c, &old);
	assert_int_equal(libvirt_domain_xml(&c, &env, &gen), 0);
	assert_int_equal(libvirt_xml_edit(own, gen, &old, &c, &out), 0);
	assert_null(out);
	free(gen);
	c.sockets = 2;
	c.memory_mib = 384;
	vm_config_add_disk(&c, "/tmp/new.qcow2");
	vm_config_add_nic(&c, "user");
	assert_int_equal(vm_config_validate(&c), 0);
	assert_int_equal(libvirt_domain_xml(&c, &env, &gen), 0);
	assert_int_equal(libvirt_xml_edit(own, gen, &old, &c, &out), 0);
	assert_non_null(out);
	libvirt_has(conn, out, (const char *const[]){ "<description>by hand</description>",
	    "<memory unit='KiB'>393216</memory>", "<vcpu placement='static'>2</vcpu>",
	    "<topology sockets='2' dies='1' cores='1' threads='1'/>", "<kernel>/k</kernel>",
	    "<boot dev='hd'/>", "cache='none'/>\n      <source file='/tmp/own.qcow2'/>\n"
	    "      <target dev='vda' bus='virtio'/>", "<source file='/tmp/new.qcow2'/>\n"
	    "      <target dev='vdb' bus='virtio'/>", "rx_queue_size='512'", "52:54:00:aa:00:01",
	    "<sound model='ich6'", "<seclabel type='none'", NULL },
	    (const char *const[]){ "<boot order", NULL });
	assert_int_equal(libvirt_xml_count_str(out, "<interface "), 3);
	free(out);
	free(gen);
	vm_config_clear(&old);
	vm_config_clear(&c);
	virConnectClose(conn);
}

static void
test_tuning_parts(void **state)
{
	static const char ext[] = "<domain type='qemu'><name>ext</name>"
	    "<memory unit='MiB'>256</memory><currentMemory unit='MiB'>200</currentMemory>"
	    "<vcpu placement='static'>2</vcpu><cputune><vcpupin vcpu='0' cpuset='1'/>"
	    "<emulatorpin cpuset='0'/></cputune>"
	    "<os><type arch='x86_64' machine='pc'>hvm</type><kernel>/k/vmlinuz</kernel>"
	    "<initrd>/k/initrd.img</initrd><cmdline>console=ttyS0 quiet</cmdline></os>"
	    "<devices><rng model='virtio'><backend model='random'>/dev/urandom</backend>"
	    "</rng><watchdog model='i6300esb' action='reset'/><memballoon model='virtio'/>"
	    "</devices></domain>";
	static const char *const kept[] = { "machine='pc", "<kernel>/k/vmlinuz</kernel>",
		"<initrd>/k/initrd.img</initrd>", "<cmdline>console=ttyS0 quiet</cmdline>",
		"<rng model='virtio'>", "<watchdog model='i6300esb' action='reset'/>", NULL };
	struct vm_config c;
	char *out, *out2, *numa;
	virConnectPtr conn;

	(void)state;
	virSetErrorFunc(NULL, silent);
	assert_non_null(conn = virConnectOpen("test:///default"));
	vm_config_init(&c);
	c.name = xstrdup("ext");
	c.sockets = 2;
	c.memory_mib = 256;

	/* The balloon: <currentMemory> alone; its pins stay its own. */
	c.tuning.balloon_mib = 128;
	assert_int_equal(libvirt_xml_tuning(ext, &c, LIBVIRT_TUNE_BALLOON | LIBVIRT_TUNE_ADOPT,
	    &out), 1);
	assert_non_null(out);
	libvirt_has(conn, out, kept, NULL);
	libvirt_has(conn, out, (const char *const[]){ "<memory unit='KiB'>262144</memory>",
	    "<currentMemory unit='KiB'>131072</currentMemory>", "<vcpupin vcpu='0' cpuset='1'/>",
	    "<emulatorpin cpuset='0'/>", MARK_OF("balloon"), NULL }, NULL);
	/* A start with no pins in the inventory: the pins are not its to take. */
	assert_int_equal(libvirt_xml_tuning(out, &c, LIBVIRT_TUNE_PINS |
	    LIBVIRT_TUNE_HUGEPAGES | LIBVIRT_TUNE_BALLOON, &out2), 1);
	assert_null(out2);

	/* A larger maximum: <memory>; the balloon stays where it is. */
	c.memory_mib = 384;
	assert_int_equal(libvirt_xml_tuning(out, &c, LIBVIRT_TUNE_MEMORY | LIBVIRT_TUNE_ADOPT,
	    &out2), 1);
	assert_non_null(out2);
	libvirt_has(conn, out2, kept, NULL);
	libvirt_has(conn, out2, (const char *const[]){ "<memory unit='KiB'>393216</memory>",
	    "<currentMemory unit='KiB'>131072</currentMemory>", "<vcpupin vcpu='0' cpuset='1'/>",
	    MARK_OF("balloon"), NULL }, NULL);
	free(out2);
	/* Balloon 0 is all of the memory, the new maximum's too. */
	c.tuning.balloon_mib = 0;
	assert_int_equal(libvirt_xml_tuning(out, &c, LIBVIRT_TUNE_MEMORY | LIBVIRT_TUNE_BALLOON |
	    LIBVIRT_TUNE_ADOPT, &out2), 1);
	libvirt_has(conn, out2, (const char *const[]){ "<memory unit='KiB'>393216</memory>",
	    "<currentMemory unit='KiB'>393216</currentMemory>", NULL }, NULL);
	free(out2);
	free(out);

	/* Unballooned, a new maximum takes the balloon with it, up or down;
	 * a domain ballooned below a lower maximum keeps its balloon. */
	c.memory_mib = 512;
	assert_int_equal(libvirt_xml_tuning("<domain><name>ext</name><memory>262144</memory>"
	    "<currentMemory>262144</currentMemory><vcpu>2</vcpu></domain>", &c,
	    LIBVIRT_TUNE_MEMORY, &out), 1);
	assert_non_null(strstr(out, "<memory unit=\"KiB\">524288</memory>"));
	assert_non_null(strstr(out, "<currentMemory unit=\"KiB\">524288</currentMemory>"));
	free(out);
	c.memory_mib = 128;
	assert_int_equal(libvirt_xml_tuning(ext, &c, LIBVIRT_TUNE_MEMORY, &out), 1);
	libvirt_has(conn, out, (const char *const[]){ "<memory unit='KiB'>131072</memory>",
	    "<currentMemory unit='KiB'>131072</currentMemory>", "<vcpupin vcpu='0' cpuset='1'/>",
	    NULL }, (const char *const[]){ "vmtty:tuning", NULL });
	free(out);
	c.memory_mib = 256;
	assert_int_equal(libvirt_xml_tuning(ext, &c, LIBVIRT_TUNE_MEMORY, &out), 1);
	assert_null(out);

	/* Pins and hugepages, then: only those, each named in the mark. */
	c.tuning.vcpu_pins = xstrdup("1:0");
	assert_int_equal(libvirt_xml_tuning(ext, &c, LIBVIRT_TUNE_PINS | LIBVIRT_TUNE_ADOPT,
	    &out), 1);
	libvirt_has(conn, out, kept, NULL);
	libvirt_has(conn, out, (const char *const[]){ "<vcpupin vcpu='1' cpuset='0'/>",
	    "<currentMemory unit='KiB'>204800</currentMemory>", MARK_OF("pins"), NULL },
	    (const char *const[]){ "<vcpupin vcpu='0'", "emulatorpin", NULL });
	c.tuning.hugepage_kib = 2048;
	assert_int_equal(libvirt_xml_tuning(out, &c, LIBVIRT_TUNE_HUGEPAGES | LIBVIRT_TUNE_ADOPT,
	    &out2), 1);
	libvirt_has(conn, out2, kept, NULL);
	libvirt_has(conn, out2, (const char *const[]){ "<page size='2048' unit='KiB'/>",
	    "<vcpupin vcpu='1' cpuset='0'/>", MARK_OF("pins hugepages"), NULL }, NULL);
	free(out);
	/* Every part named: the mark of a domain vmtty defined. */
	assert_int_equal(libvirt_xml_tuning(out2, &c, LIBVIRT_TUNE_BALLOON | LIBVIRT_TUNE_ADOPT,
	    &out), 1);
	libvirt_has(conn, out, (const char *const[]){ MARK,
	    "<currentMemory unit='KiB'>262144</currentMemory>", NULL }, NULL);
	free(out);
	free(out2);

	/* NUMA cells make the maximum: refused, in a sentence. */
	numa = xstrdup("<domain><name>ext</name><memory>262144</memory><vcpu>2</vcpu><cpu>"
	    "<numa><cell id='0' cpus='0-1' memory='262144'/></numa></cpu></domain>");
	c.memory_mib = 512;
	assert_int_equal(libvirt_xml_tuning(numa, &c, LIBVIRT_TUNE_MEMORY, &out), -1);
	assert_null(out);
	assert_string_equal(err_get(), "VM 'ext': its memory is split over NUMA cells in its "
	    "definition, whose sizes make its maximum; change those on its host (virsh edit)");
	free(numa);
	/* A balloon above the maximum. */
	c.memory_mib = 256;
	c.tuning.balloon_mib = 300;
	assert_int_equal(libvirt_xml_tuning(ext, &c, LIBVIRT_TUNE_BALLOON, &out), -1);
	assert_string_equal(err_get(), "VM 'ext': its balloon target, 300 MiB, is above the "
	    "256 MiB it has; set a smaller one");
	vm_config_clear(&c);
	virConnectClose(conn);
}

/* A host's capabilities: CPUs by number (offline ones left out), each
 * with its core, socket and cell; every page size but the smallest a
 * pool, counted over the cells. */
static void
test_read_host_caps(void **state)
{
	static const char numa[] = "<capabilities><host><cpu><arch>x86_64</arch>"
	    "<model>Skylake-Server-IBRS</model><pages unit='KiB' size='4'/>"
	    "<pages unit='KiB' size='2048'/><pages unit='KiB' size='1048576'/></cpu>"
	    "<topology><cells num='2'>"
	    "<cell id='1'><memory unit='KiB'>8000000</memory>"
	    "<pages unit='KiB' size='4'>2000000</pages><pages unit='KiB' size='2048'>64</pages>"
	    "<pages unit='KiB' size='1048576'>1</pages><cpus num='3'>"
	    "<cpu id='3' socket_id='1' die_id='0' core_id='0' siblings='1,3'/>"
	    "<cpu id='1' socket_id='1' die_id='0' core_id='0' siblings='1,3'/>"
	    "<cpu id='5'/></cpus></cell>"
	    "<cell id='0'><memory unit='KiB'>8000000</memory>"
	    "<pages unit='KiB' size='4'>2000000</pages><pages unit='KiB' size='2048'>36</pages>"
	    "<pages size='1' unit='GiB'>2</pages><cpus num='2'>"
	    "<cpu id='0' socket_id='0' die_id='0' core_id='0' siblings='0,2'/>"
	    "<cpu id='2' socket_id='0' die_id='0' core_id='0' siblings='0,2'/>"
	    "</cpus></cell></cells></topology></host></capabilities>";
	static const struct hv_cpu want[] = { { 0, 0, 0, 0 }, { 1, 0, 1, 1 }, { 2, 0, 0, 0 },
		{ 3, 0, 1, 1 } };
	struct hv_host_info hi;

	(void)state;
	memset(&hi, 0, sizeof hi);
	assert_int_equal(libvirt_caps_host(numa, &hi), 2);
	assert_string_equal(hi.arch, "x86_64");
	assert_string_equal(hi.model, "Skylake-Server-IBRS");
	assert_int_equal(hi.ncpu, 4);
	for (size_t i = 0; i < 4; i++)
		if (memcmp(&hi.cpu[i], &want[i], sizeof want[i]) != 0)
			fail_msg("CPU %zu: %d core %d socket %d node %d", i, hi.cpu[i].cpu,
			    hi.cpu[i].core, hi.cpu[i].socket, hi.cpu[i].node);
	assert_int_equal(hi.npools, 2);
	assert_int_equal(hi.pools[0].size_kib, 2048);
	assert_int_equal(hi.pools[0].total, 100);
	assert_int_equal(hi.pools[1].size_kib, 1048576);
	assert_int_equal(hi.pools[1].total, 3);
	for (size_t i = 0; i < 2; i++)
		assert_true(hi.pools[i].free == -1 && hi.pools[i].reserved == -1);
	hv_host_info_clear(&hi);

	/* No topology, no counts: page sizes with unknown totals. */
	assert_int_equal(libvirt_caps_host("<capabilities><host><cpu><arch>aarch64</arch>"
	    "<pages unit='KiB' size='64'/><pages unit='KiB' size='4'/><pages unit='KiB' "
	    "size='2048'/></cpu></host></capabilities>", &hi), 0);
	assert_string_equal(hi.arch, "aarch64");
	assert_string_equal(hi.model, "");
	assert_int_equal(hi.ncpu, 0);
	assert_int_equal(hi.npools, 2);
	assert_int_equal(hi.pools[0].size_kib, 64);
	assert_int_equal(hi.pools[0].total, -1);
	assert_int_equal(hi.pools[1].size_kib, 2048);
	hv_host_info_clear(&hi);
	assert_int_equal(libvirt_caps_host("<capabilities><host>", &hi), -1);
	assert_non_null(strstr(err_get(), "cannot read the host's capabilities: "));
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

/* A clone's definition: the source's, with only the name, UUID (sysinfo
 * too), MACs, the disks given and the files named after the VM changed. */
/* S (allocated, or NULL) is WANT; freed. */
static void
str_is(char *s, const char *want)
{
	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

static void
test_clone_xml(void **state)
{
	static const char src[] =
	    "<domain type='kvm'>\n"
	    "  <name>web</name>\n"
	    "  <uuid>11111111-2222-3333-4444-555555555555</uuid>\n"
	    "  <title>a &amp; b</title>\n"
	    "  <description>kept &lt;here&gt;</description>\n"
	    "  <memory unit='KiB'>65536</memory>\n"
	    "  <sysinfo type='smbios'><system>"
	    "<entry name='uuid'>11111111-2222-3333-4444-555555555555</entry>"
	    "<entry name='serial'>S1</entry></system></sysinfo>\n"
	    "  <os><type arch='x86_64'>hvm</type>"
	    "<nvram template='/usr/share/OVMF/OVMF_VARS.fd'>/var/lib/libvirt/qemu/nvram/web_VARS.fd</nvram></os>\n"
	    "  <devices>\n"
	    "    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
	    "<source file='/p/web.qcow2'/><backingStore type='file'><format type='qcow2'/>"
	    "<source file='/p/base.qcow2'/></backingStore><target dev='vda' bus='virtio'/></disk>\n"
	    "    <disk type='volume' device='disk'><driver name='qemu' type='raw'/>"
	    "<source pool='p2' volume='web-1.img'/><target dev='vdb' bus='virtio'/></disk>\n"
	    "    <disk type='block' device='disk'><source dev='/dev/vg/web'/>"
	    "<target dev='vdc' bus='virtio'/><shareable/></disk>\n"
	    "    <disk type='file' device='cdrom'><source file='/p/web-seed.iso'/>"
	    "<target dev='sda' bus='sata'/><readonly/></disk>\n"
	    "    <disk type='network' device='disk'><source protocol='nbd' name='x'>"
	    "<host name='h'/></source><target dev='vdd' bus='virtio'/></disk>\n"
	    "    <interface type='network'><mac address='52:54:00:00:00:01'/>"
	    "<source network='default'/></interface>\n"
	    "    <interface type='user'><mac address='52:54:00:00:00:02'/></interface>\n"
	    "    <serial type='pty'><log file='/var/log/libvirt/qemu/web-serial0.log'/></serial>\n"
	    "    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>\n"
	    "  </devices>\n"
	    "</domain>\n";
	const struct libvirt_disk_source ns[] = {
		{ 0, "/p/web2.qcow2", "p", "web2.qcow2" },
		{ 1, "/q/web2-1.img", "p2", "web2-1.img" },
		{ 3, "/p/web2-seed.iso", NULL, NULL },
	};
	const struct libvirt_disk_source bad[] = { { 4, "/x", NULL, NULL } };
	const char *uuid = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
	struct libvirt_disk *d;
	struct libvirt_xml *x;
	struct strv macs;
	size_t n;
	char *out;

	(void)state;
	assert_int_equal(libvirt_xml_disks(src, "web", &d, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(d[0].type, "file");
	assert_string_equal(d[0].source, "/p/web.qcow2");
	assert_string_equal(d[0].format, "qcow2");
	assert_string_equal(d[1].pool, "p2");
	assert_string_equal(d[1].volume, "web-1.img");
	assert_null(d[1].source);
	assert_string_equal(d[2].source, "/dev/vg/web");
	assert_true(d[2].shareable);
	assert_string_equal(d[3].device, "cdrom");
	assert_true(d[3].readonly);
	assert_string_equal(d[3].bus, "sata");
	assert_string_equal(d[4].type, "network");
	assert_null(d[4].source);
	libvirt_disks_free(d, n);

	assert_int_equal(libvirt_xml_clone(src, "web", "web2", uuid, ns, 3, &out), 0);
	x = libvirt_xml_parse(out, "the clone");
	assert_non_null(x);
	str_is(libvirt_xml_get(x, "/domain/name"), "web2");
	str_is(libvirt_xml_get(x, "/domain/uuid"), uuid);
	str_is(libvirt_xml_get(x,
	    "/domain/sysinfo/system/entry[@name='uuid']"), uuid);
	str_is(libvirt_xml_get(x,
	    "/domain/sysinfo/system/entry[@name='serial']"), "S1");
	str_is(libvirt_xml_get(x, "/domain/title"), "a & b");
	str_is(libvirt_xml_get(x, "/domain/description"), "kept <here>");
	assert_int_equal(libvirt_xml_count(x, "/domain/devices/interface"), 2);
	assert_int_equal(libvirt_xml_count(x, "//mac"), 0);
	str_is(libvirt_xml_get(x, "/domain/devices/interface/source/@network"),
	    "default");
	str_is(libvirt_xml_get(x, "/domain/devices/disk[1]/source/@file"),
	    "/p/web2.qcow2");
	assert_int_equal(libvirt_xml_count(x, "/domain/devices/disk[1]/backingStore"), 0);
	str_is(libvirt_xml_get(x, "/domain/devices/disk[2]/source/@volume"),
	    "web2-1.img");
	str_is(libvirt_xml_get(x, "/domain/devices/disk[3]/source/@dev"),
	    "/dev/vg/web");
	str_is(libvirt_xml_get(x, "/domain/devices/disk[4]/source/@file"),
	    "/p/web2-seed.iso");
	str_is(libvirt_xml_get(x, "/domain/devices/disk[5]/source/@protocol"),
	    "nbd");
	str_is(libvirt_xml_get(x, "/domain/devices/serial/log/@file"),
	    "/var/log/libvirt/qemu/web2-serial0.log");
	str_is(libvirt_xml_get(x, "/domain/os/nvram"),
	    "/var/lib/libvirt/qemu/nvram/web2_VARS.fd");
	str_is(libvirt_xml_get(x, "/domain/os/nvram/@template"),
	    "/usr/share/OVMF/OVMF_VARS.fd");
	str_is(libvirt_xml_get(x, "/domain/devices/channel/target/@name"),
	    "org.qemu.guest_agent.0");
	libvirt_xml_free(x);
	strv_init(&macs);
	assert_int_equal(libvirt_xml_macs(src, "web", &macs), 0);
	assert_int_equal(macs.n, 2);
	assert_string_equal(macs.v[1], "52:54:00:00:00:02");
	strv_free(&macs);
	strv_init(&macs);
	assert_int_equal(libvirt_xml_macs(out, "web2", &macs), 0);
	assert_string_equal(macs.v[0], "");
	strv_free(&macs);
	free(out);

	/* Names that only begin like the VM's stay. */
	{
		static const char other[] = "<domain><name>web</name><devices><serial type='pty'>"
		    "<log file='/l/webby-serial0.log'/></serial><console type='pty'>"
		    "<log file='/l/web.log'/></console></devices></domain>";

		assert_int_equal(libvirt_xml_clone(other, "web", "w2", uuid, NULL, 0, &out), 0);
		x = libvirt_xml_parse(out, "the clone");
		str_is(libvirt_xml_get(x, "/domain/devices/serial/log/@file"),
		    "/l/webby-serial0.log");
		str_is(libvirt_xml_get(x, "/domain/devices/console/log/@file"),
		    "/l/w2.log");
		str_is(libvirt_xml_get(x, "/domain/uuid"), uuid);
		libvirt_xml_free(x);
		free(out);
	}
	assert_int_equal(libvirt_xml_clone(src, "web", "web2", uuid, bad, 1, &out), -1);
	assert_null(out);
	assert_non_null(strstr(err_get(), "disk 5 of VM 'web' is of type 'network'"));
	assert_int_equal(libvirt_xml_clone("<domain>", "web", "web2", uuid, NULL, 0, &out), -1);
	assert_non_null(strstr(err_get(), "cannot read the definition of VM 'web'"));
}

/* Snapshot XML as libvirt writes it (kinds, states, parents, entities)
 * reads into the snapshot model; what does not parse is one line. */
static void
test_read_snapshot(void **state)
{
	static const struct {
		const char *what, *xml;
		const char *name, *parent, *descr, *vm_state;
		int64_t created;
		enum vm_snapshot_kind kind;
		bool external;
	} t[] = {
		{ "internal, running", "<domainsnapshot><name>s1</name><description>A &amp; "
		    "B\nline 2</description><state>running</state><creationTime>1796389202"
		    "</creationTime><memory snapshot='internal'/><disks><disk name='vda' "
		    "snapshot='internal'/></disks><domain type='qemu'><name>g</name></domain>"
		    "</domainsnapshot>", "s1", NULL, "A & B\nline 2", "running", 1796389202000,
		    VM_SNAPSHOT_FULL, false },
		{ "disk-only of a running VM", "<domainsnapshot><name>d1</name><state>"
		    "disk-snapshot</state><parent><name>s1</name></parent><creationTime>5"
		    "</creationTime><memory snapshot='no'/><disks><disk name='vda' snapshot="
		    "\"external\" type='file'><driver type='qcow2'/><source file='/i/g.d1'/></disk>"
		    "</disks><domain type='qemu'/><inactiveDomain type='qemu'/></domainsnapshot>",
		    "d1", "s1", NULL, "running", 5000, VM_SNAPSHOT_DISK, true },
		{ "disk-only of a stopped VM", "<domainsnapshot><name>d2</name><state>"
		    "disk-snapshot</state><memory snapshot='no'/><disks><disk name='vda' "
		    "snapshot='external'/></disks></domainsnapshot>", "d2", NULL, NULL, NULL, 0,
		    VM_SNAPSHOT_DISK, true },
		{ "internal, off, an odd name", "<domainsnapshot><name>a&amp;b&lt;'\"</name>"
		    "<state>shutoff</state><parent><name>p&amp;</name></parent><memory "
		    "snapshot='no'/><description></description></domainsnapshot>", "a&b<'\"", "p&",
		    NULL, "off", 0, VM_SNAPSHOT_FULL, false },
		{ "memory in a file", "<domainsnapshot><name>m</name><state>paused</state>"
		    "<memory snapshot='external' file='/m'/><disks><disk name='vda' "
		    "snapshot='external'/></disks></domainsnapshot>", "m", NULL, NULL, "paused", 0,
		    VM_SNAPSHOT_FULL, true },
		{ "no memory element, external disks", "<domainsnapshot><name>z</name><state>"
		    "shutoff</state><disks><disk name='hda' snapshot='external'/></disks>"
		    "</domainsnapshot>", "z", NULL, NULL, "off", 0, VM_SNAPSHOT_DISK, true },
	};

	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct vm_snapshot s;
		bool ext = !t[i].external;

		if (libvirt_snapshot_read(t[i].xml, &s, &ext) != 0)
			fail_msg("%s: %s", t[i].what, err_get());
		if (strcmp(s.name, t[i].name) != 0 ||
		    (t[i].parent == NULL ? s.parent != NULL : s.parent == NULL ||
		    strcmp(s.parent, t[i].parent) != 0) ||
		    (t[i].descr == NULL ? s.description != NULL : s.description == NULL ||
		    strcmp(s.description, t[i].descr) != 0) ||
		    (t[i].vm_state == NULL ? s.vm_state != NULL : s.vm_state == NULL ||
		    strcmp(s.vm_state, t[i].vm_state) != 0) ||
		    s.created != t[i].created || s.kind != t[i].kind || ext != t[i].external ||
		    s.current || s.size != -1 || s.files != NULL)
			fail_msg("%s: got '%s' parent '%s' descr '%s' state '%s' %lld %d %d", t[i].what,
			    s.name, s.parent, s.description, s.vm_state, (long long)s.created,
			    s.kind, ext);
		vm_snapshot_clear(&s);
	}
	{
		struct vm_snapshot s;
		bool ext;

		assert_int_equal(libvirt_snapshot_read("<domainsnapshot><name>x</name>", &s, &ext),
		    -1);
		assert_null(strchr(err_get(), '\n'));
		assert_null(s.name);
		assert_int_equal(libvirt_snapshot_read("<domainsnapshot/>", &s, &ext), -1);
		assert_string_equal(err_get(), "cannot read a snapshot: libvirt's XML names none");
	}
}

/* The XML asking for a snapshot carries any name and description through
 * libvirt (the test driver) and back. */
static void
test_snapshot_xml(void **state)
{
	const char *name = "a&b<c>'\"d", *descr = "line 1 & <2>\n\tline 'two'";
	virConnectPtr conn = virConnectOpen("test:///default");
	virDomainSnapshotPtr sp;
	struct vm_snapshot s;
	virDomainPtr dom;
	char *xml;
	bool ext;

	(void)state;
	assert_non_null(conn);
	assert_non_null(dom = virDomainLookupByName(conn, "test"));
	xml = libvirt_snapshot_xml(name, descr);
	assert_non_null(sp = virDomainSnapshotCreateXML(dom, xml, 0));
	free(xml);
	xml = virDomainSnapshotGetXMLDesc(sp, 0);
	assert_int_equal(libvirt_snapshot_read(xml, &s, &ext), 0);
	assert_string_equal(s.name, name);
	assert_string_equal(s.description, descr);
	assert_string_equal(s.vm_state, "running");
	assert_int_equal(s.kind, VM_SNAPSHOT_FULL);
	assert_false(ext);
	assert_true(s.created > 0);
	vm_snapshot_clear(&s);
	free(xml);
	xml = libvirt_snapshot_xml("n", "");
	assert_null(strstr(xml, "description"));
	free(xml);
	virDomainSnapshotFree(sp);
	virDomainFree(dom);
	virConnectClose(conn);
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
		cmocka_unit_test(test_read_fixtures),
		cmocka_unit_test(test_read_variants),
		cmocka_unit_test(test_read_vnc),
		cmocka_unit_test(test_read_caps),
		cmocka_unit_test(test_read_volume),
		cmocka_unit_test(test_read_malformed),
		cmocka_unit_test(test_serial_log_path),
		cmocka_unit_test(test_uri_remote),
		cmocka_unit_test(test_clone_xml),
		cmocka_unit_test(test_tuning_edit),
		cmocka_unit_test(test_edit_in_place),
		cmocka_unit_test(test_tuning_parts),
		cmocka_unit_test(test_read_host_caps),
		cmocka_unit_test(test_read_snapshot),
		cmocka_unit_test(test_snapshot_xml),
	};

	return cmocka_run_group_tests_name("libvirt_xml", tests, NULL, NULL);
}
