/* The qemu argv for a table of configs, compared with fixture files
 * tests/data/argv/NAME.args (one argument per line).  REGENERATE=1
 * rewrites the fixtures; review the diff before committing. */
#include "unit.h"

#include "hv/qemu.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/xalloc.h"

#ifndef FIXTURE_DIR
#define FIXTURE_DIR "tests/data/argv"
#endif

typedef void (*cfg_fn)(struct vm_config *c, struct qemu_env *env);

static void
set(char **field, const char *v)
{
	free(*field);
	*field = xstrdup(v);
}

static void
cfg_tiny(struct vm_config *c, struct qemu_env *env)
{
	(void)env;
	c->memory_mib = 256;
	c->kernel = xstrdup("/guest/vmlinuz");
	c->initrd = xstrdup("/guest/initrd.img");
	c->cmdline = xstrdup("console=ttyS0 quiet");
	vm_config_add_nic(c, "user");
}

static void
cfg_buses(struct vm_config *c, struct qemu_env *env)
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
	d = vm_config_add_disk(c, "/img/fast.qcow2");
	set(&d->bus, "nvme");
	d->readonly = true;
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
cfg_pc_ide(struct vm_config *c, struct qemu_env *env)
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

static void
cfg_uefi_kvm(struct vm_config *c, struct qemu_env *env)
{
	struct vm_nic *n;

	env->accel = "kvm";
	env->ovmf_code = "/usr/share/OVMF/OVMF_CODE_4M.fd";
	env->ovmf_vars = "/data/nvram/VARS.fd";
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

/* The windows-11 shape under TCG: the first disk on SATA (whose device id
 * must not clash with the AHCI controller's), e1000e, a CPU topology. */
static void
cfg_sata_first(struct vm_config *c, struct qemu_env *env)
{
	struct vm_nic *n;

	(void)env;
	c->sockets = 1;
	c->cores = 2;
	c->threads = 2;
	c->memory_mib = 512;
	vm_config_add_disk(c, "/img/sata.qcow2");
	set(&c->disks[0].bus, "sata");
	vm_config_add_disk(c, "/iso/install.iso");
	set(&c->disks[1].format, "raw");
	set(&c->disks[1].bus, "sata");
	c->disks[1].cdrom = true;
	n = vm_config_add_nic(c, "user");
	set(&n->model, "e1000e");
}

static void
cfg_nics(struct vm_config *c, struct qemu_env *env)
{
	struct vm_nic *n;

	(void)env;
	n = vm_config_add_nic(c, "user");
	n->forwards = xstrdup("tcp:2222:22,udp:5353:53");
	n->mac = xstrdup("52:54:00:aa:bb:cc");
	n = vm_config_add_nic(c, "bridge");
	n->source = xstrdup("br0");
	set(&n->model, "e1000");
	n = vm_config_add_nic(c, "tap");
	n->source = xstrdup("tap7");
	set(&n->model, "rtl8139");
}

/* Commas in names and paths are doubled, QEMU's escape. */
static void
cfg_commas(struct vm_config *c, struct qemu_env *env)
{
	(void)env;
	set(&c->name, "a,b 'quoted'");
	vm_config_add_disk(c, "/img/with,comma.qcow2");
	c->kernel = xstrdup("/k/vmlinuz");
	c->cmdline = xstrdup("root=/dev/vda console=ttyS0,115200");
}

/* A boot order: the CD-ROM, then the network, then the disks. */
static void
cfg_boot_order(struct vm_config *c, struct qemu_env *env)
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

/* Guest RAM on 2 MiB hugepages: a hugetlb memfd backend, preallocated,
 * named by -machine; pins and the balloon target change nothing here (a
 * start applies them to the running qemu). */
static void
cfg_hugepages(struct vm_config *c, struct qemu_env *env)
{
	(void)env;
	c->memory_mib = 256;
	c->cores = 2;
	c->kernel = xstrdup("/guest/vmlinuz");
	c->tuning.hugepage_kib = 2048;
	c->tuning.vcpu_pins = xstrdup("0:0;1:1");
	c->tuning.emulator_pin = xstrdup("1");
	c->tuning.balloon_mib = 160;
}

/* QEMU's microvm: the tiny guest with its disk, virtio-mmio devices only,
 * no display, -cpu max and the TSC rate on the command line under TCG. */
static void
cfg_microvm(struct vm_config *c, struct qemu_env *env)
{
	env->tsc_khz = 2096000;
	set(&c->machine, "microvm");
	set(&c->graphics, "none");
	c->memory_mib = 256;
	c->kernel = xstrdup("/guest/vmlinuz");
	c->initrd = xstrdup("/guest/initrd.img");
	c->cmdline = xstrdup("console=ttyS0 vmtty.root=/dev/vda");
	vm_config_add_disk(c, "/img/root.qcow2");
	vm_config_add_nic(c, "user")->forwards = xstrdup("tcp:2222:22");
}

/* A microvm under KVM, two vCPUs, two disks (one raw, read-only). */
static void
cfg_microvm_kvm(struct vm_config *c, struct qemu_env *env)
{
	struct vm_disk *d;

	env->accel = "kvm";
	set(&c->machine, "microvm");
	set(&c->graphics, "none");
	c->sockets = 2;
	c->kernel = xstrdup("/guest/vmlinuz");
	vm_config_add_disk(c, "/img/root.qcow2");
	d = vm_config_add_disk(c, "/img/data.raw");
	set(&d->format, "raw");
	d->readonly = true;
}

static const struct {
	const char *name;
	cfg_fn fn;
} cases[] = {
	{ "tiny-kernel", cfg_tiny },
	{ "disk-buses", cfg_buses },
	{ "pc-ide-nographics", cfg_pc_ide },
	{ "uefi-kvm-smp", cfg_uefi_kvm },
	{ "nics", cfg_nics },
	{ "commas", cfg_commas },
	{ "boot-order", cfg_boot_order },
	{ "sata-first", cfg_sata_first },
	{ "hugepages", cfg_hugepages },
	{ "microvm", cfg_microvm },
	{ "microvm-kvm", cfg_microvm_kvm },
};

static void
test_fixtures(void **state)
{
	const char *regen = getenv("REGENERATE");

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct qemu_env env = { "qemu-system-x86_64", "tcg", NULL, NULL, 0 };
		struct vm_config c;
		struct qemu_run r;
		struct strv a;
		char path[512], *want, *got;
		size_t len = 1;

		vm_config_init(&c);
		c.name = xstrdup(cases[i].name);
		snprintf(c.uuid, sizeof c.uuid, "0c0ffee0-1234-4abc-8def-%012zu", i);
		cases[i].fn(&c, &env);
		assert_int_equal(vm_config_validate(&c), 0);
		assert_int_equal(qemu_run_paths("/run/vmtty", &c, &r), 0);
		assert_int_equal(qemu_build_argv(&c, &env, &r, &a), 0);
		for (size_t k = 0; k < a.n; k++)
			len += strlen(a.v[k]) + 1;
		got = xcalloc(1, len);
		for (size_t k = 0; k < a.n; k++) {
			strcat(got, a.v[k]);
			strcat(got, "\n");
		}
		snprintf(path, sizeof path, "%s/%s.args", FIXTURE_DIR, cases[i].name);
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
			fail_msg("argv for '%s' differs from '%s':\n--- got\n%s", cases[i].name,
			    path, got);
		free(want);
		free(got);
		strv_free(&a);
		vm_config_clear(&c);
	}
}

static void
test_errors(void **state)
{
	struct qemu_env env = { "qemu-system-x86_64", "tcg", NULL, NULL, 0 };
	struct vm_config c;
	struct qemu_run r;
	struct strv a;
	char longbase[200];

	(void)state;
	vm_config_init(&c);
	c.name = xstrdup("u");
	snprintf(c.uuid, sizeof c.uuid, "0c0ffee0-1234-4abc-8def-000000000099");
	set(&c.firmware, "uefi");
	assert_int_equal(qemu_run_paths("/run/vmtty", &c, &r), 0);
	assert_int_equal(qemu_build_argv(&c, &env, &r, &a), -1);
	assert_non_null(strstr(err_get(), "install the 'ovmf' package"));
	memset(longbase, 'x', sizeof longbase - 1);
	longbase[0] = '/';
	longbase[sizeof longbase - 1] = '\0';
	assert_int_equal(qemu_run_paths(longbase, &c, &r), -1);
	assert_non_null(strstr(err_get(), "too long for unix sockets"));
	vm_config_clear(&c);
}

/* What a microvm cannot have is refused by the model and by the argv
 * builder, naming the thing; IDE is refused on q35 only. */
static void
test_machine_limits(void **state)
{
	struct qemu_env env = { "qemu-system-x86_64", "tcg", NULL, NULL, 0 };
	struct vm_config c;
	struct qemu_run r;
	struct strv a;

	(void)state;
	vm_config_init(&c);
	c.name = xstrdup("m");
	snprintf(c.uuid, sizeof c.uuid, "0c0ffee0-1234-4abc-8def-000000000098");
	set(&c.machine, "microvm");
	set(&c.graphics, "none");
	assert_int_equal(qemu_run_paths("/run/vmtty", &c, &r), 0);
	assert_int_equal(vm_config_validate(&c), -1);
	assert_non_null(strstr(err_get(), "; give it a kernel"));
	assert_int_equal(qemu_build_argv(&c, &env, &r, &a), -1);
	c.kernel = xstrdup("/guest/vmlinuz");
	assert_int_equal(vm_config_validate(&c), 0);
	set(&c.graphics, "vnc");
	assert_int_equal(vm_config_validate(&c), -1);
	assert_non_null(strstr(err_get(), "microvm has no display"));
	set(&c.graphics, "none");
	set(&c.firmware, "uefi");
	assert_int_equal(vm_config_validate(&c), -1);
	assert_non_null(strstr(err_get(), "no uefi firmware"));
	set(&c.firmware, "bios");
	set(&vm_config_add_disk(&c, "/img/a.qcow2")->bus, "nvme");
	assert_int_equal(vm_config_validate(&c), -1);
	assert_non_null(strstr(err_get(), "only virtio-mmio devices, no nvme bus"));
	set(&c.disks[0].bus, "virtio");
	c.disks[0].cdrom = true;
	assert_int_equal(vm_config_validate(&c), -1);
	assert_non_null(strstr(err_get(), "no CD-ROM drive"));
	c.disks[0].cdrom = false;
	set(&vm_config_add_nic(&c, "user")->model, "e1000e");
	assert_int_equal(vm_config_validate(&c), -1);
	assert_non_null(strstr(err_get(), "no PCI bus for NIC model e1000e"));
	set(&c.nics[0].model, "virtio-net");
	assert_int_equal(vm_config_validate(&c), 0);
	/* q35: IDE refused, SATA taken; pc: IDE taken. */
	set(&c.machine, "q35");
	set(&c.disks[0].bus, "ide");
	assert_int_equal(vm_config_validate(&c), -1);
	assert_non_null(strstr(err_get(), "q35 has no IDE bus; use disk bus sata"));
	set(&c.disks[0].bus, "sata");
	assert_int_equal(vm_config_validate(&c), 0);
	set(&c.machine, "pc");
	set(&c.disks[0].bus, "ide");
	assert_int_equal(vm_config_validate(&c), 0);
	vm_config_clear(&c);
}

static void
test_default_mac_stable(void **state)
{
	struct vm_config c;
	char m1[18], m2[18], m3[18];

	(void)state;
	vm_config_init(&c);
	snprintf(c.uuid, sizeof c.uuid, "0c0ffee0-1234-4abc-8def-000000000001");
	qemu_default_mac(&c, 0, m1);
	qemu_default_mac(&c, 0, m2);
	qemu_default_mac(&c, 1, m3);
	assert_string_equal(m1, m2);
	assert_string_not_equal(m1, m3);
	assert_memory_equal(m1, "52:54:00:", 9);
	vm_config_clear(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_machine_limits),
		cmocka_unit_test(test_default_mac_stable),
	};

	return cmocka_run_group_tests_name("qemu_argv", tests, NULL, NULL);
}
