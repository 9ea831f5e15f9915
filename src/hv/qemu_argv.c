/* The qemu command line, built from a vm_config by one small helper per
 * device so that each piece is easy to read and to test. */
#include "hv/qemu.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"
#include "util/paths.h"
#include "util/xalloc.h"

int
qemu_run_paths(const char *base, const struct vm_config *c, struct qemu_run *r)
{
	char id[9];

	memset(r, 0, sizeof *r);
	snprintf(id, sizeof id, "%.8s", c->uuid);
	if (paths_join(r->dir, sizeof r->dir, base, id) != 0 ||
	    paths_join(r->qmp, sizeof r->qmp, r->dir, "qmp.sock") != 0 ||
	    paths_join(r->events, sizeof r->events, r->dir, "events.sock") != 0 ||
	    paths_join(r->serial, sizeof r->serial, r->dir, "serial.sock") != 0 ||
	    paths_join(r->vnc, sizeof r->vnc, r->dir, "vnc.sock") != 0)
		return err_set("runtime directory '%s' is too long for unix sockets (the limit "
		    "is %d bytes); set VMTTY_RUNTIME_DIR to a shorter path", base,
		    QEMU_SOCK_MAX - 22);
	paths_join(r->pidfile, sizeof r->pidfile, r->dir, "qemu.pid");
	paths_join(r->log, sizeof r->log, r->dir, "qemu.log");
	paths_join(r->trace, sizeof r->trace, r->dir, "qemu-trace.log");
	paths_join(r->serial_log, sizeof r->serial_log, r->dir, "serial.log");
	paths_join(r->lock, sizeof r->lock, r->dir, "lock");
	paths_join(r->starting, sizeof r->starting, r->dir, "starting");
	return 0;
}

/* KVM is real only when /dev/kvm opens and the CPU advertises vmx or svm:
 * a software hypervisor may offer /dev/kvm without them, and Linux guests
 * then never boot. */
static int
kvm_usable(char *why, size_t len)
{
	FILE *fp;
	char line[4096];
	int fd, flags = 0;

	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "/dev/kvm cannot be opened: %s", strerror(errno));
		return 0;
	}
	close(fd);
	if ((fp = fopen("/proc/cpuinfo", "r")) == NULL) {
		snprintf(why, len, "/proc/cpuinfo cannot be read");
		return 0;
	}
	while (fgets(line, sizeof line, fp) != NULL) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		if (strstr(line, " vmx") != NULL || strstr(line, " svm") != NULL)
			flags = 1;
		break;
	}
	fclose(fp);
	if (!flags)
		snprintf(why, len, "the CPU shows no vmx or svm flag");
	return flags;
}

const char *
qemu_accel_resolve(const char *want, char *note, size_t len)
{
	char why[256];

	if (len > 0)
		note[0] = '\0';
	if (strcmp(want, "tcg") == 0)
		return "tcg";
	if (kvm_usable(why, sizeof why))
		return "kvm";
	if (strcmp(want, "kvm") == 0) {
		err_set("KVM was asked for but is not usable here: %s; use --accel tcg or auto", why);
		return NULL;
	}
	snprintf(note, len, "KVM is not usable here (%s); running under TCG "
	    "emulation, which is much slower", why);
	return "tcg";
}

void
qemu_default_mac(const struct vm_config *c, size_t idx, char out[18])
{
	unsigned h = 2166136261u;

	/* FNV-1a of the UUID: stable across restarts, distinct between VMs. */
	for (const char *p = c->uuid; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h += (unsigned)idx;
	snprintf(out, 18, "52:54:00:%02x:%02x:%02x", (h >> 16) & 0xff, (h >> 8) & 0xff, h & 0xff);
}

static void
add_chardev_socket(struct strv *a, const char *id, const char *path, const char *logfile)
{
	char *p = strv_qemu_escape(path);

	if (logfile != NULL) {
		char *l = strv_qemu_escape(logfile);

		strv_add(a, "-chardev");
		strv_addf(a, "socket,id=%s,path=%s,server=on,wait=off,logfile=%s,logappend=off",
		    id, p, l);
		free(l);
	} else {
		strv_add(a, "-chardev");
		strv_addf(a, "socket,id=%s,path=%s,server=on,wait=off", id, p);
	}
	free(p);
}

static void
add_identity(struct strv *a, const struct vm_config *c, const struct qemu_env *env)
{
	char *name = strv_qemu_escape(c->name);

	strv_add(a, env->binary);
	strv_add(a, "-name");
	strv_addf(a, "guest=%s,debug-threads=on", name);
	strv_add2(a, "-uuid", c->uuid);
	/* Every device is explicit: no default NIC, VGA, floppy or monitor. */
	strv_add(a, "-nodefaults");
	strv_add(a, "-no-user-config");
	free(name);
}

/* QEMU's microvm: no PCI, no firmware, virtio-mmio devices. */
static bool
micro(const struct vm_config *c)
{
	return strcmp(c->machine, "microvm") == 0;
}

/* A microvm's options: no option ROMs to load, the ISA serial port for the
 * console, the RTC, and ACPI (hardware-reduced: the power button, and how
 * the guest finds its virtio-mmio devices when its kernel cannot take
 * them from the command line). */
#define MICROVM_OPTIONS "x-option-roms=off,isa-serial=on,rtc=on,acpi=on"

long
qemu_tsc_khz(void)
{
#if defined(__x86_64__) || defined(__i386__)
	struct timespec a, b;
	unsigned long long t0, t1;
	long long ns;

	clock_gettime(CLOCK_MONOTONIC_RAW, &a);
	t0 = __builtin_ia32_rdtsc();
	do {
		clock_gettime(CLOCK_MONOTONIC_RAW, &b);
		ns = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
	} while (ns < 20 * 1000 * 1000);
	t1 = __builtin_ia32_rdtsc();
	/* Ticks a millisecond are kHz; rounded to the MHz. */
	return (long)(((double)(t1 - t0) * 1e6 / (double)ns + 500) / 1000) * 1000;
#else
	return 0;
#endif
}

static void
add_machine(struct strv *a, const struct vm_config *c, const struct qemu_env *env)
{
	int cpus = vm_config_cpus(c);

	strv_add(a, "-machine");
	strv_addf(a, "%s%s%s", c->machine, micro(c) ? "," MICROVM_OPTIONS : "",
	    c->tuning.hugepage_kib > 0 ? ",memory-backend=mem0" : "");
	strv_add2(a, "-accel", env->accel);
	if (strcmp(env->accel, "kvm") == 0)
		strv_add2(a, "-cpu", "host");
	else if (micro(c))
		/* Under TCG the default CPU model hangs a Linux guest on a
		 * microvm after "tsc: Marking TSC unstable". */
		strv_add2(a, "-cpu", "max");
	strv_add(a, "-smp");
	strv_addf(a, "%d,sockets=%d,cores=%d,threads=%d", cpus, c->sockets, c->cores, c->threads);
	strv_add(a, "-m");
	strv_addf(a, "%lld", (long long)c->memory_mib);
	/* Hugepages: guest RAM from a hugetlb memfd, every page taken at
	 * start (prealloc), so that a short pool fails the start, not the
	 * guest later. */
	if (c->tuning.hugepage_kib > 0) {
		strv_add(a, "-object");
		strv_addf(a, "memory-backend-memfd,id=mem0,size=%lldM,hugetlb=on,"
		    "hugetlbsize=%lldK,prealloc=on", (long long)c->memory_mib,
		    (long long)c->tuning.hugepage_kib);
	}
}

static void
add_firmware(struct strv *a, const struct vm_config *c, const struct qemu_env *env)
{
	char *code, *vars;

	if (strcmp(c->firmware, "uefi") != 0)
		return;
	code = strv_qemu_escape(env->ovmf_code);
	vars = strv_qemu_escape(env->ovmf_vars);
	strv_add(a, "-drive");
	strv_addf(a, "if=pflash,format=raw,unit=0,readonly=on,file=%s", code);
	strv_add(a, "-drive");
	strv_addf(a, "if=pflash,format=raw,unit=1,file=%s", vars);
	free(code);
	free(vars);
}

/*
 * A microvm has no HPET and no ACPI PM timer, and its hardware-reduced ACPI
 * leaves the PIT unused: under TCG a Linux guest whose quick TSC
 * calibration fails (a busy host) marks its TSC unstable, has no clock
 * left and hangs at boot.  Told the TSC's rate (the host's, under TCG), it
 * calibrates nothing.
 */
static void
add_kernel(struct strv *a, const struct vm_config *c, const struct qemu_env *env)
{
	if (c->kernel == NULL)
		return;
	strv_add2(a, "-kernel", c->kernel);
	if (c->initrd != NULL)
		strv_add2(a, "-initrd", c->initrd);
	if (micro(c) && env->tsc_khz > 0) {
		strv_add(a, "-append");
		strv_addf(a, "%s%stsc_early_khz=%ld", c->cmdline != NULL ? c->cmdline : "",
		    c->cmdline != NULL ? " " : "", env->tsc_khz);
	} else if (c->cmdline != NULL) {
		strv_add2(a, "-append", c->cmdline);
	}
}

/* Controllers needed by the disks: one virtio-scsi and one AHCI at most. */
static void
add_controllers(struct strv *a, const struct vm_config *c)
{
	bool scsi = false, sata = false;

	for (size_t i = 0; i < c->ndisks; i++) {
		scsi |= strcmp(c->disks[i].bus, "scsi") == 0;
		sata |= strcmp(c->disks[i].bus, "sata") == 0;
	}
	if (scsi)
		strv_add2(a, "-device", "virtio-scsi-pci,id=scsi0");
	if (sata)
		strv_add2(a, "-device", "ahci,id=ahci0");
}

static void
add_disk(struct strv *a, const struct vm_config *c, size_t i, int *sata_port, int *ide_unit)
{
	int bootindex = vm_boot_index(c, false, i);
	const struct vm_disk *d = &c->disks[i];
	const char *bus = d->bus;
	char *path = strv_qemu_escape(d->path);
	char boot[24] = "";

	strv_add(a, "-drive");
	strv_addf(a, "file=%s,format=%s,if=none,id=disk%zu%s%s%s%s", path, d->format, i,
	    d->cache != NULL ? ",cache=" : "", d->cache != NULL ? d->cache : "",
	    d->readonly || d->cdrom ? ",readonly=on" : "", d->cdrom ? ",media=cdrom" : "");
	free(path);
	if (bootindex > 0)
		snprintf(boot, sizeof boot, ",bootindex=%d", bootindex);
	strv_add(a, "-device");
	if (strcmp(bus, "virtio") == 0) {
		strv_addf(a, "virtio-blk-%s,drive=disk%zu,id=vd%zu%s", micro(c) ? "device" : "pci",
		    i, i, boot);
	} else if (strcmp(bus, "scsi") == 0) {
		strv_addf(a, "%s,drive=disk%zu,bus=scsi0.0,id=sd%zu%s",
		    d->cdrom ? "scsi-cd" : "scsi-hd", i, i, boot);
	} else if (strcmp(bus, "sata") == 0) {
		strv_addf(a, "%s,drive=disk%zu,bus=ahci0.%d,id=sata%zu%s",
		    d->cdrom ? "ide-cd" : "ide-hd", i, (*sata_port)++, i, boot);
	} else if (strcmp(bus, "ide") == 0) {
		int u = (*ide_unit)++;

		/* q35's built-in AHCI has six ports ide.0..5; pc has two IDE
		 * buses of two units each. */
		if (strcmp(c->machine, "pc") == 0)
			strv_addf(a, "%s,drive=disk%zu,bus=ide.%d,unit=%d,id=ide%zu%s",
			    d->cdrom ? "ide-cd" : "ide-hd", i, u / 2, u % 2, i, boot);
		else
			strv_addf(a, "%s,drive=disk%zu,bus=ide.%d,id=ide%zu%s",
			    d->cdrom ? "ide-cd" : "ide-hd", i, u, i, boot);
	} else {
		strv_addf(a, "nvme,drive=disk%zu,serial=vmtty-disk%zu,id=nvme%zu%s", i, i, i, boot);
	}
}

static void
add_disks(struct strv *a, const struct vm_config *c)
{
	int sata_port = 0, ide_unit = 0;

	add_controllers(a, c);
	for (size_t i = 0; i < c->ndisks; i++)
		add_disk(a, c, i, &sata_port, &ide_unit);
}

static const char *
nic_device(const struct vm_config *c, const char *model)
{
	if (strcmp(model, "virtio-net") == 0)
		return micro(c) ? "virtio-net-device" : "virtio-net-pci";
	return model;
}

static void
add_nic(struct strv *a, const struct vm_config *c, size_t i)
{
	const struct vm_nic *n = &c->nics[i];
	char mac[18], *src = n->source != NULL ? strv_qemu_escape(n->source) : NULL, boot[24] = "";
	int bootindex = vm_boot_index(c, true, i);

	strv_add(a, "-netdev");
	if (strcmp(n->kind, "user") == 0) {
		struct vm_forward f[VM_MAX_FORWARDS];
		size_t nf = 0;
		char buf[2048];
		size_t off;

		off = (size_t)snprintf(buf, sizeof buf, "user,id=net%zu", i);
		if (n->forwards != NULL)
			vm_forwards_parse(n->forwards, f, VM_MAX_FORWARDS, &nf);
		for (size_t k = 0; k < nf && off < sizeof buf; k++)
			off += (size_t)snprintf(buf + off, sizeof buf - off, ",hostfwd=%s::%d-:%d",
			    f[k].proto, f[k].host_port, f[k].guest_port);
		strv_add(a, buf);
	} else if (strcmp(n->kind, "bridge") == 0) {
		strv_addf(a, "bridge,id=net%zu,br=%s", i, src);
	} else {
		strv_addf(a, "tap,id=net%zu,ifname=%s,script=no,downscript=no", i, src);
	}
	if (n->mac != NULL)
		snprintf(mac, sizeof mac, "%s", n->mac);
	else
		qemu_default_mac(c, i, mac);
	if (bootindex > 0)
		snprintf(boot, sizeof boot, ",bootindex=%d", bootindex);
	strv_add(a, "-device");
	strv_addf(a, "%s,netdev=net%zu,mac=%s,id=nic%zu%s", nic_device(c, n->model), i, mac, i, boot);
	free(src);
}

static void
add_devices(struct strv *a, const struct vm_config *c, const struct qemu_run *r)
{
	char *vnc;

	/* Ballooning and entropy are always there: cheap, and tuning needs them. */
	strv_add2(a, "-device", micro(c) ? "virtio-balloon-device,id=balloon0" :
	    "virtio-balloon-pci,id=balloon0");
	strv_add2(a, "-object", "rng-random,id=rng0,filename=/dev/urandom");
	strv_add2(a, "-device", micro(c) ? "virtio-rng-device,rng=rng0" : "virtio-rng-pci,rng=rng0");
	add_chardev_socket(a, "serial0", r->serial, r->serial_log);
	strv_add2(a, "-serial", "chardev:serial0");
	if (strcmp(c->graphics, "vnc") == 0) {
		vnc = strv_qemu_escape(r->vnc);
		strv_add2(a, "-vga", "std");
		strv_add(a, "-vnc");
		strv_addf(a, "unix:%s", vnc);
		free(vnc);
	} else {
		strv_add2(a, "-display", "none");
	}
}

static void
add_control(struct strv *a, const struct qemu_run *r)
{
	add_chardev_socket(a, "qmp0", r->qmp, NULL);
	strv_add2(a, "-mon", "chardev=qmp0,mode=control");
	add_chardev_socket(a, "qmp1", r->events, NULL);
	strv_add2(a, "-mon", "chardev=qmp1,mode=control");
	strv_add2(a, "-pidfile", r->pidfile);
	strv_add2(a, "-msg", "timestamp=on");
	/* No -daemonize: it sets qemu's umask to 027 and its sockets would be
	 * born 0750.  vmtty puts qemu in the background itself (qemu_start). */
}

int
qemu_build_argv(const struct vm_config *c, const struct qemu_env *env,
    const struct qemu_run *r, struct strv *out)
{
	if (strcmp(c->firmware, "uefi") == 0 && (env->ovmf_code == NULL || env->ovmf_vars == NULL))
		return err_set("VM '%s' uses UEFI firmware, but OVMF is not installed; "
		    "install the 'ovmf' package", c->name);
	for (size_t i = 0; i < c->nnics; i++)
		if (strcmp(c->nics[i].kind, "network") == 0)
			return err_set("VM '%s': a libvirt network NIC needs a libvirt host; "
			    "use user, bridge or tap networking here", c->name);
	if (vm_machine_check(c) != 0)
		return -1;
	strv_init(out);
	add_identity(out, c, env);
	add_machine(out, c, env);
	add_firmware(out, c, env);
	add_kernel(out, c, env);
	add_disks(out, c);
	for (size_t i = 0; i < c->nnics; i++)
		add_nic(out, c, i);
	add_devices(out, c, r);
	add_control(out, r);
	return 0;
}
