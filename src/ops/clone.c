/* clone: a new VM from another (ops/clone.h). */
#include "ops/clone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "hv/hv.h"
#include "hv/qemu.h"
#include "model/journal.h"
#include "model/name.h"
#include "model/snapshot.h"
#include "model/vm.h"
#include "ops/snapshot.h"
#include "util/err.h"
#include "util/log.h"
#include "util/paths.h"
#include "util/uuid.h"
#include "util/xalloc.h"

/* A disk the clone gets a file of its own for: writable, not a CD-ROM
 * (the disks a snapshot covers). */
static bool
own_disk(const struct vm_disk *d)
{
	return !d->cdrom && !d->readonly;
}

/* The seed ISO vmtty made for the VM: a CD-ROM it owns. */
static bool
seed_disk(const struct vm_disk *d)
{
	return d->cdrom && d->owned;
}

/* A new locally administered MAC address (QEMU's 52:54:00 prefix) other
 * than NOT. */
static int
new_mac(const char *not, char out[18])
{
	char u[UUID_STR_LEN];

	do {
		if (uuid_generate(u) != 0)
			return -1;
		/* Hex digits of the random part of a version 4 UUID. */
		snprintf(out, 18, "52:54:00:%.2s:%.2s:%.2s", u, u + 2, u + 4);
	} while (not != NULL && strcasecmp(not, out) == 0);
	return 0;
}

/* What a clone is made from and of. */
struct job {
	struct db *db;
	struct hv *hv;
	struct vm_config *src;
	const struct clone_opts *o;
	struct vm_snapshot *all;	/* the source's snapshots */
	size_t nall;
	const struct vm_snapshot *snap;	/* o->snapshot's record, or NULL */
	char *base_snap;		/* the snapshot a linked clone stands on */
	bool took_snap;			/* taken here (taken back on failure) */
	char *dir;			/* the clone's directory */
	struct vm_config nc;		/* the clone */
	struct provision_made *made;
	int lock;			/* the source's lock while it is copied */
};

/* The checks before anything is made. */
static int
check(struct job *j)
{
	const struct vm_config *src = j->src;
	const struct clone_opts *o = j->o;
	struct hv_status st;
	char *spec;
	int64_t id;
	int found;

	if (name_check("VM", o->name) != 0)
		return -1;
	spec = xasprintf("%s/%s", src->host, o->name);
	found = vm_resolve(j->db, spec, &id) == 0;
	free(spec);
	if (found)
		return err_set("a VM named '%s' already exists on host '%s'; choose another name",
		    o->name, src->host);
	err_clear();
	if (o->host != NULL && strcmp(o->host, src->host) != 0)
		return err_set("VM '%s' is on host '%s': a clone is made on the same host; clone "
		    "it there, then move the clone (vmtty migrate %s --to %s --offline)", src->name,
		    src->host, o->name, o->host);
	if (j->hv->host.kind != HOST_BUILTIN && o->linked)
		return err_set("VM '%s' is on libvirt host '%s': linked clones are made on built-in "
		    "hosts only; use --full (a copy of each disk in its storage pool)", src->name,
		    src->host);
	if (j->hv->host.kind != HOST_BUILTIN && o->snapshot != NULL)
		return err_set("VM '%s' is on libvirt host '%s': clones of a snapshot are made on "
		    "built-in hosts only; clone the VM as it is (stopped)", src->name, src->host);
	if (o->snapshot != NULL) {
		ssize_t k;

		if (snapshot_list(j->db, j->hv, src, &j->all, &j->nall) != 0)
			return -1;
		if ((k = vm_snapshot_find(j->all, j->nall, o->snapshot)) < 0)
			return err_set("VM '%s' has no snapshot named '%s'; 'vmtty snapshot %s list' "
			    "shows them", src->name, o->snapshot, src->name);
		j->snap = &j->all[k];
		if (o->linked && j->snap->kind != VM_SNAPSHOT_DISK)
			return err_set("snapshot '%s' of VM '%s' is a full one, inside its disks: a "
			    "linked clone stands on a disk-only snapshot's files; use --full",
			    o->snapshot, src->name);
		for (size_t i = 0; i < src->ndisks; i++) {
			char *f = vm_snapshot_file(j->snap, i);

			free(f);
			if (f == NULL)
				return err_set("VM '%s' had other disks when snapshot '%s' was taken; "
				    "clone it as it is", src->name, o->snapshot);
		}
	} else {
		if (hv_status(j->hv, src, &st) != 0)
			return -1;
		if (st.state != HV_OFF && j->hv->host.kind != HOST_BUILTIN)
			return err_set("VM '%s' is %s; shut it down first", src->name,
			    hv_state_name(st.state));
		if (st.state != HV_OFF)
			return err_set("VM '%s' is %s; shut it down first (or clone one of its "
			    "snapshots with --snapshot NAME)", src->name, hv_state_name(st.state));
	}
	for (size_t i = 0; o->linked && j->snap == NULL && i < src->ndisks; i++)
		if (own_disk(&src->disks[i]) && strcmp(src->disks[i].format, "qcow2") != 0)
			return err_set("VM '%s': disk '%s' is %s, and a linked clone stands on qcow2 "
			    "disks; use --full (a copy), or convert the disk to qcow2", src->name,
			    src->disks[i].path, src->disks[i].format);
	return 0;
}

/* The clone's configuration: the source's, with its own name, UUID, MAC
 * addresses and no port forwards (they would clash with the source's). */
static int
identity(struct job *j, bool *forwards)
{
	struct vm_config *nc = &j->nc;

	vm_config_copy(nc, j->src);
	nc->id = 0;
	free(nc->name);
	nc->name = xstrdup(j->o->name);
	free(nc->state);
	nc->state = NULL;
	free(nc->pending);
	nc->pending = NULL;
	/* Started with its source by the supervisor only when asked. */
	nc->autostart = false;
	nc->created = nc->updated = nc->seen = 0;
	if (uuid_generate(nc->uuid) != 0)
		return -1;
	*forwards = false;
	for (size_t i = 0; i < nc->nnics; i++) {
		struct vm_nic *n = &nc->nics[i];
		char mac[18];

		if (n->mac != NULL) {
			if (new_mac(n->mac, mac) != 0)
				return -1;
			free(n->mac);
			n->mac = xstrdup(mac);
		}
		/* Without a MAC of its own a NIC's comes from the (new) UUID. */
		if (n->forwards != NULL) {
			*forwards = true;
			free(n->forwards);
			n->forwards = NULL;
		}
	}
	return vm_config_validate(nc);
}

/* "clone-NAME", or with a number when the source has one already. */
static char *
base_name(const struct job *j)
{
	char *name = xasprintf(CLONE_SNAPSHOT_PREFIX "%s", j->o->name);

	if (name_check("snapshot", name) != 0) {
		free(name);
		name = xasprintf(CLONE_SNAPSHOT_PREFIX "%.8s", j->nc.uuid);
	}
	err_clear();
	for (int k = 2; vm_snapshot_find(j->all, j->nall, name) >= 0; k++) {
		char *next = xasprintf(CLONE_SNAPSHOT_PREFIX "%.8s-%d", j->nc.uuid, k);

		free(name);
		name = next;
	}
	return name;
}

/* The clone's file for disk I of the source: its seed, a copy or an
 * overlay, into the clone's directory; CD-ROMs and read-only disks are
 * shared as they are. */
static int
make_disk(struct job *j, size_t i, size_t *k, size_t nown)
{
	const struct vm_disk *sd = &j->src->disks[i];
	struct vm_disk *d = &j->nc.disks[i];
	char *from, *to, step[64];
	int rc;

	if (seed_disk(sd)) {
		to = xasprintf("%s/%s-seed.iso", j->dir, j->nc.name);
		rc = provision_made_reseed(j->made, sd->path, to, j->nc.uuid, j->nc.name,
		    j->o->cancel);
	} else if (!own_disk(sd)) {
		d->owned = false;	/* the source's, or nobody's */
		return 0;
	} else {
		from = j->snap != NULL && j->snap->kind == VM_SNAPSHOT_DISK ?
		    vm_snapshot_file(j->snap, i) : xstrdup(sd->path);
		to = *k == 0 ? xasprintf("%s/%s.qcow2", j->dir, j->nc.name) :
		    xasprintf("%s/%s-%zu.qcow2", j->dir, j->nc.name, *k);
		(*k)++;
		if (j->o->linked) {
			rc = provision_made_overlay(j->made, from, to);
		} else {
			struct provision_copy cp = { from, j->snap != NULL &&
			    j->snap->kind == VM_SNAPSHOT_DISK ? "qcow2" : sd->format,
			    j->snap != NULL && j->snap->kind != VM_SNAPSHOT_DISK ? j->snap->name : NULL,
			    to, step, j->o->fn, j->o->arg, j->o->cancel };

			snprintf(step, sizeof step, "Copying disk %zu of %zu", *k, nown);
			rc = provision_made_copy(j->made, &cp);
		}
		free(from);
		if (rc == 0) {
			free(d->format);
			d->format = xstrdup("qcow2");
		}
	}
	if (rc == 0) {
		free(d->path);
		d->path = to;
		d->owned = true;
	} else {
		free(to);
	}
	return rc;
}

/* Everything of the clone but its inventory row. */
static int
make(struct job *j)
{
	struct qemu_run r;
	size_t k = 0, nown = 0;
	char *data;

	/* Nobody starts the source while its disks are copied. */
	if (!j->o->linked && j->snap == NULL) {
		struct hv_status st;

		if (qemu_runtime(j->hv, j->src, &r) != 0 || (j->lock = qemu_lock_vm(j->src, &r)) < 0)
			return -1;
		if (hv_status(j->hv, j->src, &st) != 0)
			return -1;
		if (st.state != HV_OFF)
			return err_set("VM '%s' is %s; shut it down first", j->src->name,
			    hv_state_name(st.state));
	}
	data = paths_data_dir();
	j->dir = xasprintf("%s/images/%s", data, j->nc.name);
	free(data);
	if ((j->made = provision_made_begin(j->db, &j->nc)) == NULL ||
	    provision_made_dir(j->made, j->dir) != 0)
		return -1;
	for (size_t i = 0; i < j->src->ndisks; i++)
		nown += own_disk(&j->src->disks[i]);
	/* The seed first: it is quick, and checks the name as a host name. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < j->src->ndisks; i++)
			if (seed_disk(&j->src->disks[i]) == (pass == 0) &&
			    make_disk(j, i, &k, nown) != 0)
				return -1;
	if (j->o->cancel != NULL && atomic_load(j->o->cancel))
		return err_set("cancelled");
	/* A linked clone of the VM as it is: the files its overlays stand on
	 * are frozen now, as a disk-only snapshot of the source (which moves
	 * onto overlays of its own); until then nothing wrote to them. */
	if (j->o->linked && j->snap == NULL) {
		char *descr = xasprintf("the base of linked clone '%s'", j->nc.name);
		int rc;

		if (j->all == NULL && snapshot_list(j->db, j->hv, j->src, &j->all, &j->nall) != 0) {
			free(descr);
			return -1;
		}
		j->base_snap = base_name(j);
		rc = snapshot_create(j->db, j->hv, j->src, j->base_snap, VM_SNAPSHOT_DISK, descr);
		free(descr);
		if (rc != 0)
			return err_prefix("Taking the base snapshot failed");
		j->took_snap = true;
	}
	return 0;
}

/* Told each volume the host made for the clone: recorded at once. */
static int
note_volume(const char *path, void *arg)
{
	return provision_made_volume(arg, path);
}

/* The clone's disk rows: its definition's disks (RES), each with the
 * source's row of the same path when there is one; owned when made for
 * it. */
static void
take_disks(struct job *j, const struct hv_clone_result *res)
{
	struct vm_config *nc = &j->nc;

	while (nc->ndisks > 0)
		vm_config_remove_disk(nc, nc->ndisks - 1);
	for (size_t i = 0; i < res->ndisks; i++) {
		const struct hv_clone_disk *r = &res->disks[i];
		const struct vm_disk *sd = NULL;
		struct vm_disk *d;

		if (r->to[0] == '\0')
			continue;	/* an empty drive: nothing to keep a row of */
		for (size_t k = 0; k < j->src->ndisks && sd == NULL; k++)
			if (strcmp(j->src->disks[k].path, r->from) == 0)
				sd = &j->src->disks[k];
		d = vm_config_add_disk(nc, r->to);
		if (sd != NULL) {
			free(d->bus);
			d->bus = xstrdup(sd->bus);
			free(d->cache);
			d->cache = xstrdup0(sd->cache);
		} else if (r->bus != NULL) {
			for (size_t k = 0; vm_disk_buses[k] != NULL; k++)
				if (strcmp(vm_disk_buses[k], r->bus) == 0) {
					free(d->bus);
					d->bus = xstrdup(r->bus);
				}
		}
		for (size_t k = 0; r->format != NULL && vm_disk_formats[k] != NULL; k++)
			if (strcmp(vm_disk_formats[k], r->format) == 0) {
				free(d->format);
				d->format = xstrdup(r->format);
			}
		d->cdrom = r->cdrom;
		d->readonly = r->readonly;
		d->owned = r->made;
	}
	/* The MACs the host chose, when they are as many as the rows. */
	for (size_t i = 0; i < nc->nnics; i++) {
		free(nc->nics[i].mac);
		nc->nics[i].mac = res->macs.n == nc->nnics && res->macs.v[i][0] != '\0' ?
		    xstrdup(res->macs.v[i]) : NULL;
	}
}

/* A libvirt host: a new seed volume for each seed vmtty made, then the
 * host copies the disks and defines the clone from the source's own
 * definition (the clone op). */
static int
make_libvirt(struct job *j)
{
	struct hv_clone_opts ho = { j->nc.name, j->nc.uuid, NULL, NULL, 0, j->o->fn, j->o->arg,
		j->o->cancel, note_volume, NULL };
	struct hv_clone_result res;
	const char **from = xcalloc(j->src->ndisks + 1, sizeof *from);
	char **to = xcalloc(j->src->ndisks + 1, sizeof *to);
	size_t n = 0;
	int rc = 0;

	if ((j->made = provision_made_begin(j->db, &j->nc)) == NULL) {
		free(from);
		free(to);
		return -1;
	}
	ho.made_arg = j->made;
	for (size_t i = 0; rc == 0 && i < j->src->ndisks; i++) {
		if (!seed_disk(&j->src->disks[i]))
			continue;
		if (j->o->fn != NULL)
			j->o->fn("Making the cloud-init seed ISO", -1, j->o->arg);
		from[n] = j->src->disks[i].path;
		if ((rc = provision_made_reseed_volume(j->made, j->hv, from[n], j->nc.uuid,
		    j->nc.name, j->o->cancel, &to[n])) == 0)
			n++;
	}
	if (rc == 0 && j->o->cancel != NULL && atomic_load(j->o->cancel))
		rc = err_set("cancelled");
	if (rc == 0) {
		ho.from = from;
		ho.to = (const char *const *)to;
		ho.nswap = n;
		rc = hv_clone(j->hv, j->src, &ho, &res);
	}
	if (rc == 0) {
		provision_made_defined(j->made, &j->nc);
		take_disks(j, &res);
		hv_clone_result_clear(&res);
		rc = vm_config_validate(&j->nc);
	}
	for (size_t i = 0; i < n; i++)
		free(to[i]);
	free(from);
	free(to);
	return rc;
}

/* A failed clone: its files go, and the snapshot taken for it. */
static void
take_back(struct job *j)
{
	char *why = xstrdup(err_get());

	provision_undo(j->hv, j->made);
	j->made = NULL;
	if (j->took_snap && snapshot_delete(j->db, j->hv, j->src, j->base_snap, false) != 0)
		log_debug("clone: cannot delete snapshot '%s' of '%s' again: %s", j->base_snap,
		    j->src->name, err_get());
	err_set("%s", why);
	free(why);
}

int
clone_vm(struct db *db, struct hv *hv, struct vm_config *src, const struct clone_opts *o,
    struct vm_config *out, char *note, size_t len)
{
	struct job j = { .db = db, .hv = hv, .src = src, .o = o, .lock = -1 };
	char msg[1024], how[256];
	bool forwards = false;
	int rc;

	memset(out, 0, sizeof *out);
	if (note != NULL && len > 0)
		note[0] = '\0';
	rc = check(&j);
	if (rc == 0)
		rc = identity(&j, &forwards);
	if (rc == 0 && (rc = hv->host.kind == HOST_BUILTIN ? make(&j) : make_libvirt(&j)) == 0 &&
	    (rc = vm_insert(db, &j.nc)) != 0)
		err_prefix("Adding the VM to the inventory failed");
	if (j.lock >= 0)
		close(j.lock);
	if (rc != 0 && j.made != NULL)
		take_back(&j);
	else if (rc == 0)
		provision_keep(j.made);
	if (rc != 0 && o->cancel != NULL && atomic_load(o->cancel))
		err_set("VM '%s': the clone was cancelled; nothing was made", o->name);
	if (rc != 0) {
		char *why = xstrdup(err_get());

		snprintf(msg, sizeof msg, "clone to '%s' failed: %s", o->name, why);
		journal_add(db, src->host, src->name, "clone", false, msg);
		err_set("%s", why);
		free(why);
		vm_config_clear(&j.nc);
	} else {
		const char *base = j.base_snap != NULL ? j.base_snap : o->snapshot;
		const char *first = "";

		for (size_t i = 0; i < src->ndisks && first[0] == '\0'; i++)
			if (own_disk(&src->disks[i]))
				first = src->disks[i].path;
		snprintf(how, sizeof how, "%s%s%s%s%s", o->linked ? "linked" : "full copy",
		    base != NULL ? ", on snapshot '" : "", base != NULL ? base : "",
		    base != NULL ? "'" : "", forwards ? "; port forwards not copied" : "");
		snprintf(msg, sizeof msg, "cloned to VM '%s' (%s)", j.nc.name, how);
		journal_add(db, src->host, src->name, "clone", true, msg);
		snprintf(msg, sizeof msg, "cloned from VM '%s' (%s)", src->name, how);
		journal_add(db, j.nc.host, j.nc.name, "clone", true, msg);
		if (note != NULL && j.took_snap)
			snprintf(note, len, "VM '%s' now runs on overlay '%s'; its snapshot '%s' keeps "
			    "the disk linked clone '%s' stands on", src->name, first, j.base_snap,
			    j.nc.name);
		else if (note != NULL && forwards)
			snprintf(note, len, "VM '%s' has no port forwards: those of VM '%s' would "
			    "clash", j.nc.name, src->name);
		*out = j.nc;
	}
	vm_snapshot_free_all(j.all, j.nall);
	free(j.base_snap);
	free(j.dir);
	return rc;
}
