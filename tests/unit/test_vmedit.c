/* vmedit_apply: the edit checks both front ends share, field by field,
 * and what a combined edit does to a configuration (no host involved). */
#include "unit.h"

#include "hv/qemu.h"
#include "ops/vmedit.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/xalloc.h"

/* A stopped VM with a disk and a CD-ROM, booting no kernel. */
static void
make(struct vm_config *c)
{
	struct vm_disk *d;

	vm_config_init(c);
	c->name = xstrdup("ed");
	vm_config_add_disk(c, "/img/ed.qcow2");
	d = vm_config_add_disk(c, "/iso/x.iso");
	free(d->bus);
	d->bus = xstrdup("sata");
	d->cdrom = true;
	vm_config_add_nic(c, "user");
}

/* Apply E to a fresh VM; 0/-1 as vmedit_apply, the VM into *OUT (may be NULL). */
static int
apply(struct vmedit *e, struct vm_config *out)
{
	struct vm_config c;
	int rc;

	make(&c);
	rc = vmedit_apply(e, &c);
	if (out != NULL)
		*out = c;
	else
		vm_config_clear(&c);
	return rc;
}

static void
test_refused(void **state)
{
	static const struct {
		struct vmedit e;
		const char *error;
	} cases[] = {
		{ { .cpus = "0" }, "CPUs: '0' is not a whole number from 1 to 256" },
		{ { .cpus = "two" }, "CPUs: 'two' is not a whole number" },
		{ { .cpus = "257" }, "CPUs: '257' is not a whole number from 1 to 256" },
		{ { .memory = "lots" }, "memory: 'lots' is not a size" },
		{ { .memory = "0" }, "memory: '0' is not a size; give MiB from 1 to" },
		{ { .memory = "1536K" }, "memory: '1536K' is not a size" },
		{ { .boot = "disk,floppy" }, "boot order 'disk,floppy': 'floppy' is not a device kind" },
		{ { .firmware = "coreboot" }, "firmware 'coreboot' is not known" },
		{ { .cmdline = "quiet" }, "needs a kernel too" },
		{ { .initrd = "/boot/initrd.img" }, "needs a kernel too" },
		{ { .kernel = "vmlinuz" }, "kernel: 'vmlinuz' is not an absolute path; give the full "
		  "path" },
		{ { .kernel = "/boot/vmlinuz", .initrd = "initrd.img" }, "initrd: 'initrd.img' is "
		  "not an absolute path" },
		/* Without the CD-ROM (no place on a microvm) and the display, all
		 * that is missing is a kernel. */
		{ { .machine = "microvm", .graphics = "none", .remove_disk = "1" }, "VM 'ed': machine "
		  "type microvm boots a kernel directly, with no firmware to boot a disk; give it a "
		  "kernel" },
		/* What else is wrong comes first: a kernel would not do. */
		{ { .machine = "microvm", .remove_disk = "1" }, "machine type microvm has no display" },
		{ { .machine = "microvm", .graphics = "none" }, "CD-ROM" },
		{ { .remove_disk = "5" }, "VM 'ed' has no disk '5'" },
		{ { .resize_disk = "0" }, "resize disk: '0' is not DISK:SIZE" },
		{ { .resize_disk = "9:2G" }, "resize disk: VM 'ed' has no disk '9'" },
		{ { .new_disk = "big" }, "new disk:" },
		{ { .remove_nic = "1" }, "VM 'ed' has no NIC '1'" },
		{ { .add_nic = "bridge" }, "bridge networking needs a source name" },
		{ { .add_nic = ":br0" }, "add NIC: ':br0' has no network kind" },
		{ { .add_nic = "token-ring" }, "network kind 'token-ring' is not known" },
		{ { .add_nic = "user", .nic_model = "ne2k" }, "NIC 1: NIC model 'ne2k' is not known" },
		{ { .nic_model = "e1000" }, "NIC model: 'e1000' is the model of a NIC to add" },
		{ { .on_crash = "reboot" }, "on-crash policy 'reboot' is not known; use one of: "
		  "leave, restart" },
		{ { .on_crash = "" }, "on-crash policy '' is not known" },
		{ { .autostart = "yes" }, "autostart: 'yes' is neither on nor off" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct vmedit e = cases[i].e;

		if (apply(&e, NULL) != -1)
			fail_msg("case %zu was accepted", i);
		if (strstr(err_get(), cases[i].error) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, err_get(), cases[i].error);
		/* Only a microvm without a kernel has the front end say how. */
		if (e.no_kernel != (strstr(cases[i].error, "give it a kernel") != NULL))
			fail_msg("case %zu: no_kernel is %d", i, e.no_kernel);
		vmedit_clear(&e);
	}
}

static void
test_applied(void **state)
{
	struct vmedit e = { .cpus = "4", .memory = "2G", .boot = "cdrom,disk",
		.firmware = "uefi", .remove_disk = "1", .new_disk = "1G",
		.resize_disk = "/img/ed.qcow2:20G", .add_nic = "bridge:br0", .nic_model = "e1000e" };
	struct vm_config c;

	(void)state;
	assert_int_equal(apply(&e, &c), 0);
	assert_int_equal(vm_config_cpus(&c), 4);
	assert_int_equal(c.memory_mib, 2048);
	assert_string_equal(c.boot_order, "cdrom,disk");
	assert_string_equal(c.firmware, "uefi");
	/* The CD-ROM went; the new disk is made by vmedit_run, not here. */
	assert_int_equal(c.ndisks, 1);
	assert_int_equal(e.new_bytes, 1LL << 30);
	assert_string_equal(e.resize_path, "/img/ed.qcow2");
	assert_int_equal(e.resize_bytes, 20LL << 30);
	assert_int_equal(c.nnics, 2);
	assert_string_equal(c.nics[1].kind, "bridge");
	assert_string_equal(c.nics[1].source, "br0");
	assert_string_equal(c.nics[1].model, "e1000e");
	/* Each kind of change once, in order. */
	assert_string_equal(e.changes, "CPUs, memory, firmware, boot order, disks, disk size, NICs");
	vm_config_clear(&c);
	vmedit_clear(&e);

	/* An empty boot order goes back to none; an empty edit changes nothing. */
	{
		struct vmedit b = { .boot = "" }, none = { 0 }, r = { .remove_nic = "0" },
		    u = { .add_nic = "user" };

		assert_int_equal(apply(&b, &c), 0);
		assert_null(c.boot_order);
		assert_string_equal(b.changes, "boot order");
		vm_config_clear(&c);
		assert_int_equal(apply(&none, NULL), 0);
		assert_string_equal(none.changes, "");
		/* The last NIC goes; an added one is virtio-net unless told. */
		assert_int_equal(apply(&r, &c), 0);
		assert_int_equal(c.nnics, 0);
		assert_string_equal(r.changes, "NICs");
		vm_config_clear(&c);
		assert_int_equal(apply(&u, &c), 0);
		assert_int_equal(c.nnics, 2);
		assert_string_equal(c.nics[1].model, "virtio-net");
		assert_null(c.nics[1].source);
		vm_config_clear(&c);
	}
}

/* The restart policy holds at once: listed apart from what may wait for a
 * restart, and with the CPUs it comes after them. */
static void
test_policy(void **state)
{
	struct vmedit e = { .on_crash = "restart", .autostart = "on" },
	    both = { .cpus = "2", .autostart = "off" };
	struct vm_config c;
	char all[300];

	(void)state;
	assert_int_equal(apply(&e, &c), 0);
	assert_string_equal(c.on_crash, "restart");
	assert_true(c.autostart);
	assert_string_equal(e.changes, "");
	assert_string_equal(e.at_once, "on-crash restart, autostart on");
	vmedit_summary(&e, all, sizeof all);
	assert_string_equal(all, "on-crash restart, autostart on");
	vm_config_clear(&c);
	assert_int_equal(apply(&both, &c), 0);
	assert_false(c.autostart);
	assert_string_equal(c.on_crash, "leave");
	assert_string_equal(both.changes, "CPUs");
	vmedit_summary(&both, all, sizeof all);
	assert_string_equal(all, "CPUs, autostart off");
	vm_config_clear(&c);
}

/* Removing a NIC keeps the MACs of the NICs after it: a MAC that was only
 * derived from the NIC's position is stored before the positions shift. */
static void
test_remove_nic_keeps_macs(void **state)
{
	struct vmedit e = { .remove_nic = "0" };
	struct vm_config c;
	char before1[18], before2[18];

	(void)state;
	make(&c);
	snprintf(c.uuid, sizeof c.uuid, "%s", "0c0ffee0-1234-4abc-8def-0000000000aa");
	vm_config_add_nic(&c, "user");
	vm_config_add_nic(&c, "user");
	c.nics[2].mac = xstrdup("52:54:00:12:34:56");
	qemu_default_mac(&c, 1, before1);
	snprintf(before2, sizeof before2, "%s", c.nics[2].mac);
	assert_int_equal(vmedit_apply(&e, &c), 0);
	assert_int_equal(c.nnics, 2);
	assert_non_null(c.nics[0].mac);
	assert_string_equal(c.nics[0].mac, before1);
	assert_string_equal(c.nics[1].mac, before2);
	vm_config_clear(&c);
	vmedit_clear(&e);
}

/* What waits for a restart names each change once, however often made. */
static void
test_pending(void **state)
{
	char *p;

	(void)state;
	p = vmedit_pending(NULL, "max memory");
	assert_string_equal(p, "max memory");
	free(p);
	p = vmedit_pending("max memory", "max memory");
	assert_string_equal(p, "max memory");
	free(p);
	p = vmedit_pending("CPUs, max memory", "hugepages, max memory, memory");
	assert_string_equal(p, "CPUs, max memory, hugepages, memory");
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_applied),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_remove_nic_keeps_macs),
		cmocka_unit_test(test_pending),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
