/* vm_config: a VM's configuration as a value: defaults, copies, the checks
 * every front end and backend shares (names, ranges, choices, NICs, boot
 * order) and the parsers of its numbers.  No SQL: that is vm.c. */
#include "model/vm.h"
#include "model/name.h"
#include "model/tuning.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/num.h"
#include "util/xalloc.h"

/* The choices of each enumerated field, NULL-terminated. */
const char *const vm_machines[] = { "q35", "pc", "microvm", NULL };
const char *const vm_machines_libvirt[] = { "q35", "pc", NULL };
const char *const vm_accels[] = { "auto", "kvm", "tcg", NULL };
const char *const vm_firmwares[] = { "bios", "uefi", NULL };
const char *const vm_graphics[] = { "vnc", "none", NULL };
const char *const vm_disk_formats[] = { "qcow2", "raw", NULL };
const char *const vm_disk_buses[] = { "virtio", "scsi", "sata", "ide", "nvme", NULL };
const char *const vm_disk_caches[] = { "none", "writeback", "writethrough", "directsync",
	"unsafe", NULL };
const char *const vm_nic_kinds[] = { "user", "bridge", "tap", "network", NULL };
const char *const vm_nic_models[] = { "virtio-net", "e1000", "e1000e", "rtl8139", NULL };
const char *const vm_on_crash[] = { "leave", "restart", NULL };

/* One table of what each device choice costs, for every front end. */
static const struct {
	const char *word, *hint;
} choice_hints[] = {
	{ "q35", "q35: modern PCIe chipset, SATA (AHCI) built in; the default; no IDE" },
	{ "pc", "pc: the old i440FX chipset with IDE, for old guests; no PCIe" },
	{ "microvm", "microvm: no PCI, firmware or display; boots a kernel directly, fastest "
	    "and smallest; built-in host only" },
	{ "virtio", "virtio (virtio-blk): fastest, needs virtio drivers (Linux has them; "
	    "Windows needs virtio-win)" },
	{ "scsi", "scsi (virtio-scsi): many disks, TRIM, CD-ROMs; virtio drivers as "
	    "virtio-blk; not on microvm" },
	{ "nvme", "nvme: fast, drivers in any recent guest (Linux, Windows 10); not on microvm" },
	{ "sata", "sata (AHCI): drivers in any modern guest, slower than virtio; not on microvm" },
	{ "ide", "ide: any guest, slowest; not on q35 or microvm" },
	{ "virtio-net", "virtio-net: fastest, needs virtio drivers (Linux has them; Windows "
	    "needs virtio-win)" },
	{ "e1000", "e1000: emulated Intel gigabit, drivers everywhere, slower; not on microvm" },
	{ "e1000e", "e1000e: emulated Intel PCIe gigabit, drivers in Windows and Linux, "
	    "slower than virtio; not on microvm" },
	{ "rtl8139", "rtl8139: emulated Realtek 100 Mb/s for very old guests, slowest; not "
	    "on microvm" },
};

const char *
vm_choice_hint(const char *word)
{
	for (size_t i = 0; word != NULL && i < sizeof choice_hints / sizeof choice_hints[0]; i++)
		if (strcmp(choice_hints[i].word, word) == 0)
			return choice_hints[i].hint;
	return NULL;
}

void
vm_config_init(struct vm_config *c)
{
	memset(c, 0, sizeof *c);
	c->machine = xstrdup(VM_DEFAULT_MACHINE);
	c->accel = xstrdup(VM_DEFAULT_ACCEL);
	c->firmware = xstrdup(VM_DEFAULT_FIRMWARE);
	c->graphics = xstrdup(VM_DEFAULT_GRAPHICS);
	c->state = xstrdup("off");
	c->on_crash = xstrdup(VM_DEFAULT_ON_CRASH);
	c->sockets = VM_DEFAULT_CPUS;
	c->cores = c->threads = 1;
	c->memory_mib = VM_DEFAULT_MEMORY_MIB;
}

static void
disk_clear(struct vm_disk *d)
{
	free(d->path);
	free(d->format);
	free(d->bus);
	free(d->cache);
}

static void
nic_clear(struct vm_nic *n)
{
	free(n->kind);
	free(n->model);
	free(n->mac);
	free(n->source);
	free(n->forwards);
}

void
vm_config_clear(struct vm_config *c)
{
	for (size_t i = 0; i < c->ndisks; i++)
		disk_clear(&c->disks[i]);
	for (size_t i = 0; i < c->nnics; i++)
		nic_clear(&c->nics[i]);
	free(c->disks);
	free(c->nics);
	free(c->host);
	free(c->name);
	free(c->state);
	free(c->machine);
	free(c->accel);
	free(c->firmware);
	free(c->kernel);
	free(c->initrd);
	free(c->cmdline);
	free(c->graphics);
	free(c->boot_order);
	free(c->template_name);
	free(c->notes);
	free(c->pending);
	free(c->on_crash);
	free(c->tuning.vcpu_pins);
	free(c->tuning.emulator_pin);
	memset(c, 0, sizeof *c);
}

void
vm_config_copy(struct vm_config *d, const struct vm_config *c)
{
	*d = *c;
	d->host = xstrdup0(c->host);
	d->name = xstrdup0(c->name);
	d->state = xstrdup0(c->state);
	d->machine = xstrdup0(c->machine);
	d->accel = xstrdup0(c->accel);
	d->firmware = xstrdup0(c->firmware);
	d->kernel = xstrdup0(c->kernel);
	d->initrd = xstrdup0(c->initrd);
	d->cmdline = xstrdup0(c->cmdline);
	d->graphics = xstrdup0(c->graphics);
	d->boot_order = xstrdup0(c->boot_order);
	d->template_name = xstrdup0(c->template_name);
	d->notes = xstrdup0(c->notes);
	d->pending = xstrdup0(c->pending);
	d->on_crash = xstrdup0(c->on_crash);
	d->tuning.vcpu_pins = xstrdup0(c->tuning.vcpu_pins);
	d->tuning.emulator_pin = xstrdup0(c->tuning.emulator_pin);
	d->disks = NULL;
	d->ndisks = 0;
	d->nics = NULL;
	d->nnics = 0;
	for (size_t i = 0; i < c->ndisks; i++) {
		struct vm_disk *dk = vm_config_add_disk(d, c->disks[i].path);

		free(dk->format);
		free(dk->bus);
		dk->format = xstrdup0(c->disks[i].format);
		dk->bus = xstrdup0(c->disks[i].bus);
		dk->cache = xstrdup0(c->disks[i].cache);
		dk->readonly = c->disks[i].readonly;
		dk->cdrom = c->disks[i].cdrom;
		dk->owned = c->disks[i].owned;
	}
	for (size_t i = 0; i < c->nnics; i++) {
		struct vm_nic *n = vm_config_add_nic(d, c->nics[i].kind);

		free(n->model);
		n->model = xstrdup0(c->nics[i].model);
		n->mac = xstrdup0(c->nics[i].mac);
		n->source = xstrdup0(c->nics[i].source);
		n->forwards = xstrdup0(c->nics[i].forwards);
	}
}

struct vm_disk *
vm_config_add_disk(struct vm_config *c, const char *path)
{
	struct vm_disk *d;

	c->disks = xreallocarray(c->disks, c->ndisks + 1, sizeof *c->disks);
	d = &c->disks[c->ndisks++];
	memset(d, 0, sizeof *d);
	d->path = xstrdup(path);
	d->format = xstrdup(VM_DEFAULT_DISK_FORMAT);
	d->bus = xstrdup(VM_DEFAULT_DISK_BUS);
	return d;
}

void
vm_config_remove_disk(struct vm_config *c, size_t i)
{
	disk_clear(&c->disks[i]);
	memmove(&c->disks[i], &c->disks[i + 1], (c->ndisks - i - 1) * sizeof *c->disks);
	c->ndisks--;
}

void
vm_config_remove_nic(struct vm_config *c, size_t i)
{
	nic_clear(&c->nics[i]);
	memmove(&c->nics[i], &c->nics[i + 1], (c->nnics - i - 1) * sizeof *c->nics);
	c->nnics--;
}

struct vm_nic *
vm_config_add_nic(struct vm_config *c, const char *kind)
{
	struct vm_nic *n;

	c->nics = xreallocarray(c->nics, c->nnics + 1, sizeof *c->nics);
	n = &c->nics[c->nnics++];
	memset(n, 0, sizeof *n);
	n->kind = xstrdup(kind);
	n->model = xstrdup(VM_DEFAULT_NIC_MODEL);
	return n;
}

int
vm_config_cpus(const struct vm_config *c)
{
	return c->sockets * c->cores * c->threads;
}

/* 0 when VALUE is one of the NULL-terminated CHOICES; else -1 + err. */
static int
check_choice(const char *what, const char *value, const char *const *choices)
{
	char list[256] = "";

	for (size_t i = 0; choices[i] != NULL; i++) {
		if (value != NULL && strcmp(value, choices[i]) == 0)
			return 0;
		if (i > 0)
			strncat(list, ", ", sizeof list - strlen(list) - 1);
		strncat(list, choices[i], sizeof list - strlen(list) - 1);
	}
	return err_set("%s '%s' is not known; use one of: %s", what,
	    value != NULL ? value : "", list);
}

int
vm_on_crash_check(const char *s)
{
	return check_choice("on-crash policy", s, vm_on_crash);
}

static int
check_mac(const char *mac)
{
	static const char hex[] = "0123456789abcdefABCDEF";

	if (strlen(mac) != 17)
		goto bad;
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2 ? mac[i] != ':' : strchr(hex, mac[i]) == NULL)
			goto bad;
	}
	return 0;
bad:
	return err_set("MAC address '%s' is not of the form 52:54:00:12:34:56", mac);
}

static int
parse_port(const char *s, size_t len, int *port)
{
	int v = 0;

	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = v;
	return 0;
}

int
vm_forwards_parse(const char *s, struct vm_forward *out, size_t max, size_t *n)
{
	const char *p = s;

	*n = 0;
	while (*p != '\0') {
		const char *end = strchr(p, ','), *c1, *c2;
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		struct vm_forward f;

		c1 = memchr(p, ':', len);
		c2 = c1 != NULL ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - p)) : NULL;
		if (c1 == NULL || c2 == NULL || (size_t)(c1 - p) != 3 ||
		    (strncmp(p, "tcp", 3) != 0 && strncmp(p, "udp", 3) != 0) ||
		    parse_port(c1 + 1, (size_t)(c2 - c1 - 1), &f.host_port) != 0 ||
		    parse_port(c2 + 1, len - (size_t)(c2 + 1 - p), &f.guest_port) != 0)
			return err_set("port forward '%.*s' is not of the form tcp:HOSTPORT:GUESTPORT",
			    (int)len, p);
		if (*n == max)
			return err_set("more than %zu port forwards", max);
		memcpy(f.proto, p, 3);
		f.proto[3] = '\0';
		out[(*n)++] = f;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

int
vm_machine_check_disk(const char *machine, const char *bus, bool cdrom)
{
	if (machine == NULL || bus == NULL)
		return 0;
	if (strcmp(machine, "microvm") == 0) {
		if (cdrom)
			return err_set("machine type microvm has no CD-ROM drive (no firmware to "
			    "boot one, no PCI bus); attach the image as a disk, or use machine "
			    "type q35");
		if (strcmp(bus, "virtio") != 0)
			return err_set("machine type microvm has only virtio-mmio devices, no %s "
			    "bus; use disk bus virtio, or machine type q35", bus);
	}
	if (strcmp(machine, "q35") == 0 && strcmp(bus, "ide") == 0)
		return err_set("machine type q35 has no IDE bus; use disk bus sata (its AHCI "
		    "controller), or machine type pc");
	return 0;
}

int
vm_machine_check_nic(const char *machine, const char *model)
{
	if (machine != NULL && model != NULL && strcmp(machine, "microvm") == 0 &&
	    strcmp(model, "virtio-net") != 0)
		return err_set("machine type microvm has no PCI bus for NIC model %s; use "
		    "virtio-net, or machine type q35", model);
	return 0;
}

int
vm_machine_check_kernel(const struct vm_config *c)
{
	if (c->machine != NULL && strcmp(c->machine, "microvm") == 0 && c->kernel == NULL)
		return err_set("VM '%s': machine type microvm boots a kernel directly, with no "
		    "firmware to boot a disk; give it a kernel", c->name);
	return 0;
}

/* vm_machine_check but the kernel. */
static int
machine_check_devices(const struct vm_config *c)
{
	if (strcmp(c->machine, "microvm") != 0)
		return 0;
	if (strcmp(c->graphics, "none") != 0)
		return err_set("VM '%s': machine type microvm has no display (no VGA, no VNC); "
		    "use graphics none, or machine type q35", c->name);
	if (strcmp(c->firmware, "bios") != 0)
		return err_set("VM '%s': machine type microvm has no %s firmware: it boots its "
		    "kernel directly; use firmware bios, or machine type q35", c->name,
		    c->firmware);
	return 0;
}

int
vm_machine_check(const struct vm_config *c)
{
	return vm_machine_check_kernel(c) != 0 ? -1 : machine_check_devices(c);
}

int
vm_config_validate(const struct vm_config *c)
{
	return vm_config_validate_but_kernel(c) != 0 ? -1 : vm_machine_check_kernel(c);
}

int
vm_config_validate_but_kernel(const struct vm_config *c)
{
	long long cpus;

	if (c->name == NULL || name_check("VM", c->name) != 0)
		return c->name == NULL ? err_set("VM name is missing; give a name") : -1;
	if (c->sockets < 1 || c->cores < 1 || c->threads < 1)
		return err_set("VM '%s': sockets, cores and threads must each be at least 1", c->name);
	cpus = (long long)c->sockets * c->cores * c->threads;
	if (cpus > VM_MAX_CPUS)
		return err_set("VM '%s': %lld vCPUs is more than the limit of %d; give fewer",
		    c->name, cpus, VM_MAX_CPUS);
	if (c->memory_mib < 1)
		return err_set("VM '%s': memory of %lld MiB is too small; give at least 1 MiB",
		    c->name, (long long)c->memory_mib);
	if (c->memory_mib > VM_MAX_MEMORY_MIB)
		return err_set("VM '%s': memory of %lld MiB is more than the limit of %lld MiB",
		    c->name, (long long)c->memory_mib, VM_MAX_MEMORY_MIB);
	if (check_choice("machine type", c->machine, vm_machines) != 0 ||
	    check_choice("accelerator", c->accel, vm_accels) != 0 ||
	    check_choice("firmware", c->firmware, vm_firmwares) != 0 ||
	    check_choice("graphics", c->graphics, vm_graphics) != 0 ||
	    (c->on_crash != NULL && check_choice("on-crash policy", c->on_crash, vm_on_crash) != 0))
		return err_prefix("VM '%s'", c->name);
	if (c->boot_order != NULL && vm_boot_order_check(c->boot_order) != 0)
		return err_prefix("VM '%s'", c->name);
	if ((c->initrd != NULL || c->cmdline != NULL) && c->kernel == NULL)
		return err_set("VM '%s': an initrd or kernel command line needs a kernel too", c->name);
	if (machine_check_devices(c) != 0)
		return -1;
	for (size_t i = 0; i < c->ndisks; i++) {
		const struct vm_disk *d = &c->disks[i];

		if (d->path == NULL || d->path[0] == '\0')
			return err_set("VM '%s': disk %zu has no path", c->name, i);
		if (check_choice("disk format", d->format, vm_disk_formats) != 0 ||
		    check_choice("disk bus", d->bus, vm_disk_buses) != 0 ||
		    (d->cache != NULL && check_choice("disk cache mode", d->cache, vm_disk_caches) != 0))
			return err_prefix("VM '%s', disk '%s'", c->name, d->path);
		if (vm_machine_check_disk(c->machine, d->bus, d->cdrom) != 0)
			return err_prefix("VM '%s', disk '%s'", c->name, d->path);
		if (d->cdrom && (strcmp(d->bus, "virtio") == 0 || strcmp(d->bus, "nvme") == 0))
			return err_set("VM '%s': CD-ROM '%s' cannot sit on a %s bus; use sata, ide "
			    "or scsi", c->name, d->path, d->bus);
		for (size_t j = 0; j < i; j++)
			if (strcmp(c->disks[j].path, d->path) == 0)
				return err_set("VM '%s': disk '%s' is listed twice", c->name, d->path);
	}
	for (size_t i = 0; i < c->nnics; i++) {
		const struct vm_nic *n = &c->nics[i];

		if (check_choice("network kind", n->kind, vm_nic_kinds) != 0 ||
		    check_choice("NIC model", n->model, vm_nic_models) != 0 ||
		    (n->mac != NULL && check_mac(n->mac) != 0))
			return err_prefix("VM '%s', NIC %zu", c->name, i);
		if (vm_machine_check_nic(c->machine, n->model) != 0)
			return err_prefix("VM '%s', NIC %zu", c->name, i);
		if (n->forwards != NULL) {
			struct vm_forward f[VM_MAX_FORWARDS];
			size_t nf;

			if (strcmp(n->kind, "user") != 0)
				return err_set("VM '%s', NIC %zu: port forwards need user networking",
				    c->name, i);
			if (vm_forwards_parse(n->forwards, f, VM_MAX_FORWARDS, &nf) != 0)
				return err_prefix("VM '%s', NIC %zu", c->name, i);
		}
		if (strcmp(n->kind, "user") != 0 && (n->source == NULL || n->source[0] == '\0'))
			return err_set("VM '%s', NIC %zu: %s networking needs a source name",
			    c->name, i, n->kind);
		if ((strcmp(n->kind, "bridge") == 0 || strcmp(n->kind, "tap") == 0) &&
		    vm_ifname_check(n->kind, n->source) != 0)
			return err_prefix("VM '%s', NIC %zu", c->name, i);
	}
	return tuning_validate(c);
}

/* A Linux network interface name as a bridge or tap NIC names it: what the
 * kernel takes (1 to 15 bytes, not . or ..) in the characters that are safe
 * inside QEMU's comma-separated options and libvirt's XML. */
int
vm_ifname_check(const char *kind, const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > 15 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    name[strspn(name, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")] != '\0')
		return err_set("%s name '%s' is not an interface name; give 1 to 15 letters, "
		    "digits, '-', '_' or '.'", kind, name);
	return 0;
}

int
vm_parse_cpus(const char *s, int *cpus)
{
	long long v;

	if (num_parse(s, 1, VM_MAX_CPUS, &v) != 0)
		return err_set("CPUs: '%s' is not a whole number from 1 to %d", s, VM_MAX_CPUS);
	*cpus = (int)v;
	return 0;
}

int
vm_parse_memory(const char *s, int64_t *mib)
{
	long long v;

	if (num_parse_size(s, 20, 20, VM_MAX_MEMORY_MIB, &v) != 0 || v < 1)
		return err_set("memory: '%s' is not a size; give MiB from 1 to %lld, or a size "
		    "such as 512M or 4G", s, VM_MAX_MEMORY_MIB);
	*mib = v;
	return 0;
}

static const char *const boot_kinds[] = { "disk", "cdrom", "network", NULL };

int
vm_boot_order_check(const char *order)
{
	const char *p = order;
	bool seen[3] = { false, false, false };

	if (order[0] == '\0')
		return err_set("boot order is empty; give device kinds such as cdrom,disk "
		    "(disk, cdrom, network)");
	while (*p != '\0') {
		size_t len = strcspn(p, ","), k;

		for (k = 0; boot_kinds[k] != NULL; k++)
			if (strlen(boot_kinds[k]) == len && strncmp(p, boot_kinds[k], len) == 0)
				break;
		if (boot_kinds[k] == NULL)
			return err_set("boot order '%s': '%.*s' is not a device kind; use disk, "
			    "cdrom or network, comma separated", order, (int)len, p);
		if (seen[k])
			return err_set("boot order '%s' names %s twice", order, boot_kinds[k]);
		seen[k] = true;
		p += len;
		if (*p == ',' && *++p == '\0')
			return err_set("boot order '%s' ends with a comma", order);
	}
	return 0;
}

/* The kind (index into boot_kinds) of disk IDX or NIC IDX. */
static size_t
boot_kind(const struct vm_config *c, bool nic, size_t idx)
{
	return nic ? 2 : c->disks[idx].cdrom ? 1 : 0;
}

int
vm_boot_index(const struct vm_config *c, bool nic, size_t idx)
{
	const char *p = c->boot_order;
	size_t want = boot_kind(c, nic, idx);
	int pos = 0;

	if (c->kernel != NULL)
		return 0;
	if (p == NULL)
		return nic ? 0 : (int)idx + 1;
	/* Every device of each kind in the order, kind by kind. */
	while (*p != '\0') {
		size_t len = strcspn(p, ","), k;

		for (k = 0; boot_kinds[k] != NULL; k++)
			if (strlen(boot_kinds[k]) == len && strncmp(p, boot_kinds[k], len) == 0)
				break;
		if (k == want) {
			for (size_t i = 0; i < idx; i++)
				pos += boot_kind(c, nic, i) == k;
			return pos + 1;
		}
		if (k == 0 || k == 1) {
			for (size_t i = 0; i < c->ndisks; i++)
				pos += boot_kind(c, false, i) == k;
		} else if (k == 2) {
			pos += (int)c->nnics;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}
