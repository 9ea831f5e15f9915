#include "ops/vmedit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv/hv.h"
#include "ops/provision.h"
#include "hv/qemu.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/num.h"
#include "util/xalloc.h"

/* Append WHAT to LIST (of SIZE bytes), once. */
static void
list_add(char *list, size_t size, const char *what)
{
	size_t n = strlen(list), wl = strlen(what);

	for (const char *p = list; (p = strstr(p, what)) != NULL; p += wl)
		if ((p == list || p[-1] == ' ') && (p[wl] == '\0' || p[wl] == ','))
			return;
	snprintf(list + n, size - n, "%s%s", n > 0 ? ", " : "", what);
}

/* Append WHAT to the list of changes, once. */
static void
changed(struct vmedit *e, const char *what)
{
	list_add(e->changes, sizeof e->changes, what);
}

static void
replace(char **field, const char *value)
{
	free(*field);
	*field = value[0] != '\0' ? xstrdup(value) : NULL;
}

/* The disk named by SPEC: its path, or its number from 0. */
static int
find_disk(const struct vm_config *c, const char *spec, size_t *idx)
{
	long long n;

	if (num_parse(spec, 0, (long long)c->ndisks - 1, &n) == 0) {
		*idx = (size_t)n;
		return 0;
	}
	for (size_t i = 0; i < c->ndisks; i++) {
		if (strcmp(c->disks[i].path, spec) == 0) {
			*idx = i;
			return 0;
		}
	}
	return err_set("VM '%s' has no disk '%s'; give its path or number (see 'vmtty show "
	    "%s')", c->name, spec, c->name);
}

static int
apply_cpu_memory(struct vmedit *e, struct vm_config *c)
{
	if (e->cpus != NULL) {
		int n;

		if (vm_parse_cpus(e->cpus, &n) != 0)
			return -1;
		c->sockets = n;
		c->cores = c->threads = 1;
		changed(e, "CPUs");
	}
	if (e->memory != NULL) {
		if (vm_parse_memory(e->memory, &c->memory_mib) != 0)
			return -1;
		changed(e, "memory");
	}
	return 0;
}

static int
apply_boot(struct vmedit *e, struct vm_config *c)
{
	static const struct {
		size_t off;
		const char *what;
	} texts[] = {
		{ offsetof(struct vmedit, kernel), "kernel" },
		{ offsetof(struct vmedit, initrd), "initrd" },
		{ offsetof(struct vmedit, cmdline), "kernel command line" },
		{ offsetof(struct vmedit, firmware), "firmware" },
		{ offsetof(struct vmedit, machine), "machine type" },
		{ offsetof(struct vmedit, graphics), "graphics" },
	};
	char **fields[] = { &c->kernel, &c->initrd, &c->cmdline, &c->firmware, &c->machine,
		&c->graphics };

	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		const char *v = *(const char *const *)((const char *)e + texts[i].off);

		if (v == NULL)
			continue;
		/* A path of the host's, which no working directory qualifies. */
		if (i < 2 && v[0] != '\0' && v[0] != '/')
			return err_set("%s: '%s' is not an absolute path; give the full path",
			    texts[i].what, v);
		replace(fields[i], v);
		changed(e, texts[i].what);
	}
	if (e->boot != NULL) {
		if (e->boot[0] != '\0' && vm_boot_order_check(e->boot) != 0)
			return -1;
		replace(&c->boot_order, e->boot);
		changed(e, "boot order");
	}
	return 0;
}

/* The size of a disk to make or grow: a size, and not less than a new disk
 * may be (0 would be taken and do nothing). */
static int
disk_size(const char *s, int64_t *bytes)
{
	if (provision_parse_size(s, bytes) != 0)
		return -1;
	if (*bytes < PROV_MIN_BYTES)
		return err_set("disk size '%s' is too small; give 1M or more, such as 20G", s);
	return 0;
}

static int
apply_disks(struct vmedit *e, struct vm_config *c)
{
	if (e->disk_bus != NULL) {
		size_t i;

		if (e->add_disk == NULL && e->new_disk == NULL)
			return err_set("disk bus: '%s' is the bus of a disk to add; give the disk "
			    "too (--add-disk or --new-disk)", e->disk_bus);
		for (i = 0; vm_disk_buses[i] != NULL; i++)
			if (strcmp(e->disk_bus, vm_disk_buses[i]) == 0)
				break;
		if (vm_disk_buses[i] == NULL)
			return err_set("disk bus: '%s' is not known; use virtio, scsi, sata, ide "
			    "or nvme", e->disk_bus);
		/* The new disk is made later (vmedit_run): its bus is checked now. */
		if (e->new_disk != NULL && vm_machine_check_disk(c->machine, e->disk_bus,
		    false) != 0)
			return err_prefix("VM '%s', new disk", c->name);
	}
	if (e->remove_disk != NULL) {
		size_t i;

		if (find_disk(c, e->remove_disk, &i) != 0)
			return err_prefix("remove disk");
		vm_config_remove_disk(c, i);
		changed(e, "disks");
	}
	if (e->add_disk != NULL) {
		struct vm_disk *d;
		size_t n = strlen(e->add_disk);

		if (n == 0)
			return err_set("add disk: give the path of a disk file");
		d = vm_config_add_disk(c, e->add_disk);
		free(d->format);
		d->format = xstrdup(n > 6 && strcmp(e->add_disk + n - 6, ".qcow2") == 0 ? "qcow2" :
		    "raw");
		if (e->disk_bus != NULL) {
			free(d->bus);
			d->bus = xstrdup(e->disk_bus);
		}
		changed(e, "disks");
	}
	if (e->new_disk != NULL) {
		if (disk_size(e->new_disk, &e->new_bytes) != 0)
			return err_prefix("new disk");
		changed(e, "disks");
	}
	if (e->resize_disk != NULL) {
		const char *colon = strrchr(e->resize_disk, ':');
		char *spec;
		size_t i;
		int rc;

		if (colon == NULL)
			return err_set("resize disk: '%s' is not DISK:SIZE, such as 0:40G",
			    e->resize_disk);
		spec = xstrndup(e->resize_disk, (size_t)(colon - e->resize_disk));
		rc = find_disk(c, spec, &i);
		free(spec);
		if (rc != 0 || disk_size(colon + 1, &e->resize_bytes) != 0)
			return err_prefix("resize disk");
		free(e->resize_path);
		e->resize_path = xstrdup(c->disks[i].path);
		changed(e, "disk size");
	}
	return 0;
}

static int
apply_nics(struct vmedit *e, struct vm_config *c)
{
	if (e->remove_nic != NULL) {
		long long ln;
		size_t n;

		if (num_parse(e->remove_nic, 0, (long long)c->nnics - 1, &ln) != 0)
			return err_set("VM '%s' has no NIC '%s'; give its number from 0", c->name,
			    e->remove_nic);
		n = (size_t)ln;
		/* A NIC without a stored MAC gets one from its position: pin
		 * those after N first, so that the guest's other NICs keep
		 * their addresses. */
		for (size_t i = n + 1; i < c->nnics; i++)
			if (c->nics[i].mac == NULL) {
				char mac[18];

				qemu_default_mac(c, i, mac);
				c->nics[i].mac = xstrdup(mac);
			}
		vm_config_remove_nic(c, n);
		changed(e, "NICs");
	}
	if (e->nic_model != NULL && e->add_nic == NULL)
		return err_set("NIC model: '%s' is the model of a NIC to add; give the NIC too "
		    "(--add-nic)", e->nic_model);
	if (e->add_nic != NULL) {
		const char *colon = strchr(e->add_nic, ':');
		char *kind = colon != NULL ? xstrndup(e->add_nic, (size_t)(colon - e->add_nic)) :
		    xstrdup(e->add_nic);
		struct vm_nic *n;

		if (kind[0] == '\0') {
			free(kind);
			return err_set("add NIC: '%s' has no network kind; give user, bridge:BR, "
			    "tap:TAP or network:NET", e->add_nic);
		}
		n = vm_config_add_nic(c, kind);
		free(kind);
		n->source = colon != NULL ? xstrdup(colon + 1) : NULL;
		if (e->nic_model != NULL) {
			free(n->model);
			n->model = xstrdup(e->nic_model);
		}
		changed(e, "NICs");
	}
	return 0;
}

/* The restart policy: it holds at once, so it is listed apart. */
static int
apply_policy(struct vmedit *e, struct vm_config *c)
{
	if (e->on_crash != NULL) {
		char what[32];

		if (vm_on_crash_check(e->on_crash) != 0)
			return -1;
		replace(&c->on_crash, e->on_crash);
		snprintf(what, sizeof what, "on-crash %s", e->on_crash);
		list_add(e->at_once, sizeof e->at_once, what);
	}
	if (e->autostart != NULL) {
		if (strcmp(e->autostart, "on") != 0 && strcmp(e->autostart, "off") != 0)
			return err_set("autostart: '%s' is neither on nor off", e->autostart);
		c->autostart = strcmp(e->autostart, "on") == 0;
		list_add(e->at_once, sizeof e->at_once, c->autostart ? "autostart on" :
		    "autostart off");
	}
	return 0;
}

int
vmedit_apply(struct vmedit *e, struct vm_config *c)
{
	e->changes[0] = '\0';
	e->at_once[0] = '\0';
	e->no_kernel = false;
	e->new_bytes = 0;
	free(e->resize_path);
	e->resize_path = NULL;
	if (apply_cpu_memory(e, c) != 0 || apply_boot(e, c) != 0 || apply_disks(e, c) != 0 ||
	    apply_nics(e, c) != 0 || apply_policy(e, c) != 0)
		return -1;
	if (vm_config_validate_but_kernel(c) != 0)
		return -1;
	/* All else is right: the front end says how to give a kernel. */
	if (vm_machine_check_kernel(c) != 0) {
		e->no_kernel = true;
		return -1;
	}
	return 0;
}

void
vmedit_summary(const struct vmedit *e, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", e->changes, e->changes[0] != '\0' && e->at_once[0] != '\0' ?
	    ", " : "", e->at_once);
}

int
vmedit_run(struct hv *hv, struct vmedit *e, const struct vm_config *old, struct vm_config *c,
    bool *running, char **newdisk)
{
	struct hv_status st;
	char *made = NULL;

	*newdisk = NULL;
	if (e->on_crash != NULL && hv->host.kind != HOST_BUILTIN)
		return err_set("VM '%s' is on libvirt host '%s': an on-crash policy is for built-in "
		    "VMs, which `vmtty serve --supervise` restarts (libvirt keeps its own, "
		    "<on_crash> in the domain XML)", c->name, hv->host.name);
	*running = hv_status(hv, c, &st) == 0 && st.state != HV_OFF && st.state != HV_CRASHED;
	e->state = *running ? hv_state_name(st.state) : "off";
	err_clear();
	if (e->resize_path != NULL) {
		if (*running)
			return err_set("VM '%s' is %s: a disk grows only while it is stopped; stop "
			    "it first", c->name, hv_state_name(st.state));
		if (provision_resize_disk(hv, c, e->resize_path, e->resize_bytes) != 0)
			return -1;
	}
	if (e->new_bytes > 0) {
		struct vm_disk *d;

		if (provision_add_disk(hv, c, e->pool, e->new_bytes, &made) != 0)
			return -1;
		d = vm_config_add_disk(c, made);
		d->owned = true;
		if (e->disk_bus != NULL) {
			free(d->bus);
			d->bus = xstrdup(e->disk_bus);
		}
	}
	/* Only what the edit changed goes into the host's definition: a
	 * libvirt domain keeps what vmtty does not model (hv_redefine). */
	if (hv_check(hv, c) != 0 || (hv_redefine(hv, old, c) != 0 &&
	    err_prefix("Defining the VM failed") != 0)) {
		vmedit_undo(hv, NULL, NULL, made);
		free(made);
		return -1;
	}
	/* A libvirt host keeps the autostart flag itself; the built-in host's
	 * is the inventory's (the caller's). */
	if (e->autostart != NULL && hv->host.kind != HOST_BUILTIN &&
	    hv_set_autostart(hv, c, c->autostart) != 0) {
		vmedit_undo(hv, old, c, made);
		free(made);
		return -1;
	}
	*newdisk = made;
	return 0;
}

void
vmedit_undo(struct hv *hv, const struct vm_config *old, const struct vm_config *c,
    const char *newdisk)
{
	char keep[1024];

	snprintf(keep, sizeof keep, "%s", err_get());
	if (old != NULL && c != NULL)
		hv_redefine(hv, c, old);	/* the host's definition as it was */
	if (newdisk != NULL) {
		if (hv->host.kind == HOST_BUILTIN)
			unlink(newdisk);
		else
			hv_volume_delete(hv, newdisk);
	}
	err_set("%s", keep);
}

/* LIST (items parted by ", ") has the item of LEN bytes at ITEM. */
static bool
pending_has(const char *list, const char *item, size_t len)
{
	while (list != NULL && *list != '\0') {
		size_t n = strcspn(list, ",");

		if (n == len && strncmp(list, item, len) == 0)
			return true;
		list += n;
		list += strspn(list, ", ");
	}
	return false;
}

char *
vmedit_pending(const char *old, const char *changes)
{
	char *out = xstrdup(old != NULL ? old : "");

	/* Each change once: the same one made again still waits once. */
	while (*changes != '\0') {
		size_t n = strcspn(changes, ",");

		if (n > 0 && !pending_has(out, changes, n)) {
			char *more = xasprintf("%s%s%.*s", out, out[0] != '\0' ? ", " : "", (int)n,
			    changes);

			free(out);
			out = more;
		}
		changes += n;
		changes += strspn(changes, ", ");
	}
	return out;
}

void
vmedit_clear(struct vmedit *e)
{
	free(e->resize_path);
	e->resize_path = NULL;
}
