/*
 * Live migration between two libvirt hosts, both connections vmtty's own
 * (virDomainMigrate3, "managed by the client"): the preflight (what the
 * destination has for the VM), the move with its progress and the switch
 * to post-copy, and abort.
 *
 * Threads: virDomainMigrate3 blocks for the whole move, so it runs on a
 * thread of its own (thread_start: every signal blocked there, they stay
 * with the caller's thread), while the thread that called libvirt_migrate
 * asks virDomainGetJobStats every 500 ms and hands the progress to the
 * caller's callback.  A signal wakes that thread at once, so a Ctrl-C seen
 * by the callback is answered without waiting for the next round.
 * libvirt_migrate_abort may come from any thread.
 *
 * Storage: a disk the destination has (the same file at the same path) is
 * shared; libvirt counts a local file system as not shared and refuses
 * without VIR_MIGRATE_UNSAFE, so that flag goes with shared disks found
 * here, never otherwise.  The other writable disks are copied
 * (NON_SHARED_DISK + MIGRATE_DISKS) into volumes made first on the
 * destination, in the pool of the same name, at the same path; libvirt
 * would leave a volume it made there after a failed copy, these are
 * deleted again when the move fails.  The caller hears of each before it
 * is made (volume_fn): a destination whose daemon died mid-way cannot
 * delete them, the caller's record of them can, later.
 */
#include "hv/hv.h"
#include "hv/libvirt.h"
#include "hv/libvirt_priv.h"
#include "hv/libvirt_xml_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "util/err.h"
#include "util/log.h"
#include "util/thread.h"
#include "util/xalloc.h"

#define LVM_POLL_MS 500
/* Post-copy (when allowed) once the memory left has not shrunk for this
 * many rounds (3 s), or after this many passes over the memory. */
#define LVM_STALL_ROUNDS 6
#define LVM_MAX_ITERATIONS 8
/* Between two calls of the watching thread (see calm). */
#define LVM_CALL_GAP_MS 100

/* One disk of the domain, and what the destination has of it. */
struct lvm_disk {
	char *target;		/* "vda" */
	char *path;		/* its file or block device */
	char *format;		/* the driver's type: qcow2, raw */
	char *pool;		/* its storage pool on the source; NULL: none */
	bool readonly;		/* CD-ROM, floppy, <readonly/>, <shareable/>: never copied */
	bool shared;		/* the destination has this very file */
	unsigned long long capacity, allocation;
};

/* A VM about to move: its domain on the source and what goes how. */
struct lvm_plan {
	virDomainPtr dom;
	char *xml;		/* its live definition */
	char uuid[VIR_UUID_STRING_BUFLEN];
	struct lvm_disk *disks;
	size_t ndisks;
	size_t ncopy;		/* writable disks to copy */
	size_t nshared;		/* writable disks the destination has */
};

/* A migration under way: the job on its thread, and what the caller's
 * thread sees of it. */
struct lvm_run {
	/* For the migrating thread. */
	virDomainPtr dom;
	virConnectPtr dconn;
	virTypedParameterPtr params;
	int nparams;
	unsigned int flags;
	virDomainPtr ddom;	/* the domain on the destination when it moved */
	char why[1024];		/* libvirt's reason when not */
	int pipe[2];		/* one byte when virDomainMigrate3 has returned */

	/* For the caller's thread. */
	struct hv *src, *dst;
	const char *name;
	bool dst_lost;		/* its connection closed mid-way: stopped */
	char uuid[VIR_UUID_STRING_BUFLEN];
	atomic_bool abort_asked;	/* libvirt_migrate_abort came */
	bool postcopy;		/* switched to post-copy */
	bool postcopy_tried;
	bool seen_active;	/* the job has had statistics */
	long long last_call;	/* when this thread's last call returned */
	long long t0;
	int64_t least_left;	/* the least memory left seen so far */
	int stall;		/* rounds since it shrank */
	struct hv_migrate_progress last;
	struct lvm_run *next;	/* in lvm_runs */
};

/* The migrations of this process, for libvirt_migrate_abort. */
static pthread_mutex_t lvm_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lvm_run *lvm_runs;

static void
plan_clear(struct lvm_plan *pl)
{
	for (size_t i = 0; i < pl->ndisks; i++) {
		free(pl->disks[i].target);
		free(pl->disks[i].path);
		free(pl->disks[i].format);
		free(pl->disks[i].pool);
	}
	free(pl->disks);
	free(pl->xml);
	if (pl->dom != NULL)
		virDomainFree(pl->dom);
	memset(pl, 0, sizeof *pl);
}

/* The value of XPath "/domain/devices/disk[I]REST": allocated or NULL. */
static char *
disk_get(struct libvirt_xml *x, size_t i, const char *rest)
{
	char expr[128];

	snprintf(expr, sizeof expr, "/domain/devices/disk[%zu]%s", i + 1, rest);
	return libvirt_xml_get(x, expr);
}

/* What the source knows of disk D: its sizes and its pool. */
static void
disk_source_info(struct hv *hv, struct lvm_plan *pl, struct lvm_disk *d)
{
	virConnectPtr conn = libvirt_conn(hv);
	virDomainBlockInfo bi;
	virStorageVolPtr vol;
	virStoragePoolPtr pool;

	if (virDomainGetBlockInfo(pl->dom, d->target, &bi, 0) == 0) {
		d->capacity = bi.capacity;
		d->allocation = bi.allocation;
	} else {
		log_debug("libvirt: disk '%s': no block info: %s", d->path, libvirt_errmsg());
	}
	if (conn == NULL || (vol = virStorageVolLookupByPath(conn, d->path)) == NULL)
		return;
	if ((pool = virStoragePoolLookupByVolume(vol)) != NULL) {
		const char *name = virStoragePoolGetName(pool);

		d->pool = name != NULL ? xstrdup(name) : NULL;
		virStoragePoolFree(pool);
	}
	virStorageVolFree(vol);
}

/* The disks of the live definition X into PL (those with a file or a
 * block device; network disks live elsewhere and go as they are). */
static int
plan_disks(struct hv *hv, const struct vm_config *c, struct lvm_plan *pl, struct libvirt_xml *x)
{
	int n = libvirt_xml_count(x, "/domain/devices/disk");

	pl->disks = xcalloc((size_t)n + 1, sizeof *pl->disks);
	for (size_t i = 0; i < (size_t)n; i++) {
		struct lvm_disk *d = &pl->disks[pl->ndisks];
		char *type = disk_get(x, i, "/@type"), *dev = disk_get(x, i, "/@device");

		d->path = disk_get(x, i, type != NULL && strcmp(type, "block") == 0 ?
		    "/source/@dev" : "/source/@file");
		if (type != NULL && strcmp(type, "volume") == 0) {
			free(type);
			free(dev);
			free(d->path);
			return err_set("VM '%s' has a disk given by pool and volume name; vmtty "
			    "migrates disks given by path only", c->name);
		}
		d->target = disk_get(x, i, "/target/@dev");
		d->format = disk_get(x, i, "/driver/@type");
		d->readonly = dev != NULL && (strcmp(dev, "cdrom") == 0 ||
		    strcmp(dev, "floppy") == 0);
		free(type);
		free(dev);
		if (d->path == NULL || d->path[0] == '\0' || d->target == NULL) {
			free(d->path);
			free(d->target);
			free(d->format);
			memset(d, 0, sizeof *d);
			continue;
		}
		if (d->format == NULL)
			d->format = xstrdup("raw");
		if (!d->readonly) {
			char *ro = disk_get(x, i, "/readonly"), *sh = disk_get(x, i, "/shareable");

			d->readonly = ro != NULL || sh != NULL;
			free(ro);
			free(sh);
		}
		disk_source_info(hv, pl, d);
		pl->ndisks++;
	}
	return 0;
}

/* C's domain on HV and its disks. */
static int
plan_read(struct hv *hv, const struct vm_config *c, struct lvm_plan *pl)
{
	struct libvirt_xml *x;
	char what[300];
	int rc;

	memset(pl, 0, sizeof *pl);
	if ((pl->dom = libvirt_lookup(hv, c, NULL)) == NULL)
		return -1;
	if (virDomainGetUUIDString(pl->dom, pl->uuid) < 0 ||
	    (pl->xml = virDomainGetXMLDesc(pl->dom, 0)) == NULL) {
		libvirt_err(hv, "cannot read the definition of VM '%s'", c->name);
		plan_clear(pl);
		return -1;
	}
	snprintf(what, sizeof what, "the definition of VM '%s'", c->name);
	if ((x = libvirt_xml_parse(pl->xml, what)) == NULL) {
		plan_clear(pl);
		return -1;
	}
	rc = plan_disks(hv, c, pl, x);
	libvirt_xml_free(x);
	if (rc != 0)
		plan_clear(pl);
	return rc;
}

/* The change time libvirt reports for volume VOL ("1796360266.85"), into
 * BUF; "" when it tells none. */
static void
vol_ctime(virStorageVolPtr vol, char *buf, size_t len)
{
	struct libvirt_xml *x;
	char *xml, *t = NULL;

	buf[0] = '\0';
	if ((xml = virStorageVolGetXMLDesc(vol, 0)) == NULL)
		return;
	if ((x = libvirt_xml_parse(xml, "a volume")) != NULL) {
		t = libvirt_xml_get(x, "/volume/target/timestamps/ctime");
		libvirt_xml_free(x);
	}
	snprintf(buf, len, "%s", t != NULL ? t : "");
	free(t);
	free(xml);
}

/* The directory part of PATH ("/a/b" for "/a/b/c"), into BUF. */
static void
dir_of(const char *path, char *buf, size_t len)
{
	const char *s = strrchr(path, '/');

	snprintf(buf, len, "%.*s", s == NULL ? 0 : s == path ? 1 : (int)(s - path), path);
}

/* Refresh CONN's active pools in directory DIR: a pool sees a file put
 * there behind libvirt's back (another host, on shared storage) only after
 * a refresh.  How many there were.  (libvirt_priv.h) */
int
libvirt_refresh_pools_at(virConnectPtr conn, const char *dir)
{
	virStoragePoolPtr *pools = NULL;
	int n, hits = 0;

	if ((n = virConnectListAllStoragePools(conn, &pools,
	    VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE)) < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		char *xml = virStoragePoolGetXMLDesc(pools[i], 0), *at = NULL;
		struct libvirt_xml *x;

		if (xml != NULL && (x = libvirt_xml_parse(xml, "a storage pool")) != NULL) {
			at = libvirt_xml_get(x, "/pool/target/path");
			libvirt_xml_free(x);
		}
		if (at != NULL && strcmp(at, dir) == 0 && virStoragePoolRefresh(pools[i], 0) == 0)
			hits++;
		free(at);
		free(xml);
		virStoragePoolFree(pools[i]);
	}
	free(pools);
	return hits;
}

/*
 * Is disk D on DST the very file the source uses?  DST must know a volume
 * at its path; a file of the same path there may still be another one (a
 * copy left by an earlier move): both hosts stat the file for the volume's
 * change time, to the nanosecond, so the same file shows the same time.
 * The guest may write between the looks: the source is asked before and
 * after.  1 shared, 0 not there, -1 + err (another file there too).
 */
static int
disk_shared(struct hv *hv, struct hv *dst, const struct vm_config *c, const struct lvm_disk *d)
{
	virConnectPtr sconn = libvirt_conn(hv), dconn = libvirt_conn(dst);
	virStorageVolPtr svol, dvol;
	char s1[64], s2[64], dt[64];
	virErrorPtr e;

	if (sconn == NULL || dconn == NULL)
		return -1;
	dvol = virStorageVolLookupByPath(dconn, d->path);
	if (dvol == NULL && (e = virGetLastError()) != NULL && e->code == VIR_ERR_NO_STORAGE_VOL) {
		char dir[1024];

		dir_of(d->path, dir, sizeof dir);
		if (libvirt_refresh_pools_at(dconn, dir) > 0)
			dvol = virStorageVolLookupByPath(dconn, d->path);
	}
	if (dvol == NULL) {
		e = virGetLastError();
		if (e == NULL || e->code == VIR_ERR_NO_STORAGE_VOL)
			return 0;
		return libvirt_err(dst, "cannot look up disk '%s' of VM '%s'", d->path, c->name);
	}
	if ((svol = virStorageVolLookupByPath(sconn, d->path)) == NULL) {
		/* In no pool on the source: nothing to compare with. */
		virStorageVolFree(dvol);
		return 1;
	}
	/* libvirt stats the file anew for each volume XML. */
	vol_ctime(svol, s1, sizeof s1);
	vol_ctime(dvol, dt, sizeof dt);
	if (s1[0] != '\0' && dt[0] != '\0' && strcmp(s1, dt) != 0)
		vol_ctime(svol, s2, sizeof s2);
	else
		snprintf(s2, sizeof s2, "%s", dt);
	virStorageVolFree(svol);
	virStorageVolFree(dvol);
	if (s1[0] == '\0' || dt[0] == '\0' || strcmp(s1, dt) == 0 || strcmp(s2, dt) == 0)
		return 1;
	return err_set("host '%s' has another file at the path of disk '%s' of VM '%s' (a copy "
	    "left by an earlier move?); remove it there, then --copy-storage copies the disk "
	    "anew", dst->host.name, d->path, c->name);
}

/* Append "WHAT 'NAME'" to the check's list of what DST lacks (once). */
static void
lacks(struct hv_migrate_check *out, const char *what, const char *name, const char *note)
{
	char item[300];
	size_t n = strlen(out->missing);

	snprintf(item, sizeof item, "%s '%s'%s", what, name, note);
	if (strstr(out->missing, item) != NULL)
		return;
	snprintf(out->missing + n, sizeof out->missing - n, "%s%s", n > 0 ? ", " : "", item);
}

/* Can disk D be copied into DST: a pool of its pool's name, active, that
 * keeps its volumes where D is?  What is missing goes to OUT; a pool
 * elsewhere is an error. */
static int
copy_target(struct hv *dst, const struct vm_config *c, const struct lvm_disk *d,
    struct hv_migrate_check *out)
{
	virConnectPtr dconn = libvirt_conn(dst);
	virStoragePoolPtr pool;
	struct libvirt_xml *x;
	char dir[1024], *xml, *at = NULL;
	virErrorPtr e;
	int rc = 0;

	dir_of(d->path, dir, sizeof dir);
	if (d->pool == NULL) {
		lacks(out, "a storage pool in", dir, " (the disk is in none on the source)");
		return 0;
	}
	if (dconn == NULL)
		return -1;
	if ((pool = virStoragePoolLookupByName(dconn, d->pool)) == NULL) {
		e = virGetLastError();
		if (e != NULL && e->code != VIR_ERR_NO_STORAGE_POOL)
			return libvirt_err(dst, "cannot look up storage pool '%s'", d->pool);
		lacks(out, "storage pool", d->pool, "");
		return 0;
	}
	if (virStoragePoolIsActive(pool) != 1)
		lacks(out, "storage pool", d->pool, " (not active)");
	if ((xml = virStoragePoolGetXMLDesc(pool, 0)) != NULL &&
	    (x = libvirt_xml_parse(xml, "a storage pool")) != NULL) {
		at = libvirt_xml_get(x, "/pool/target/path");
		libvirt_xml_free(x);
	}
	if (at != NULL && strcmp(at, dir) != 0)
		rc = err_set("storage pool '%s' on host '%s' keeps its volumes in '%s', but disk "
		    "'%s' of VM '%s' keeps its path when it is copied: give the pool there the "
		    "directory '%s'", d->pool, dst->host.name, at, d->path, c->name, dir);
	free(at);
	free(xml);
	virStoragePoolFree(pool);
	return rc;
}

/* Every writable disk: shared, or to copy (and where). */
static int
check_storage(struct hv *hv, struct hv *dst, const struct vm_config *c,
    const struct hv_migrate_opts *o, struct lvm_plan *pl, struct hv_migrate_check *out)
{
	out->copy_bytes = 0;
	for (size_t i = 0; i < pl->ndisks; i++) {
		struct lvm_disk *d = &pl->disks[i];
		int rc;

		if (d->readonly)
			continue;
		if ((rc = disk_shared(hv, dst, c, d)) < 0)
			return -1;
		d->shared = rc == 1;
		if (d->shared) {
			pl->nshared++;
			continue;
		}
		pl->ncopy++;
		out->copy_bytes += (int64_t)d->allocation;
		if (o->copy_storage && copy_target(dst, c, d, out) != 0)
			return -1;
	}
	out->shared_storage = pl->ncopy == 0;
	return 0;
}

/* The networks of the VM's interfaces that DST lacks, into OUT. */
static int
check_networks(struct hv *dst, const char *xml, struct hv_migrate_check *out)
{
	virConnectPtr dconn = libvirt_conn(dst);
	struct libvirt_xml *x;
	virNetworkPtr net;
	virErrorPtr e;
	int n, rc = 0;

	if (dconn == NULL || (x = libvirt_xml_parse(xml, "a domain")) == NULL)
		return -1;
	n = libvirt_xml_count(x, "/domain/devices/interface[@type='network']");
	for (int i = 1; i <= n && rc == 0; i++) {
		char expr[128], *name;

		snprintf(expr, sizeof expr, "/domain/devices/interface[@type='network'][%d]/source"
		    "/@network", i);
		if ((name = libvirt_xml_get(x, expr)) == NULL)
			continue;
		if ((net = virNetworkLookupByName(dconn, name)) != NULL) {
			if (virNetworkIsActive(net) != 1)
				lacks(out, "network", name, " (not active)");
			virNetworkFree(net);
		} else if ((e = virGetLastError()) != NULL && e->code != VIR_ERR_NO_NETWORK) {
			rc = libvirt_err(dst, "cannot look up network '%s'", name);
		} else {
			lacks(out, "network", name, "");
		}
		free(name);
	}
	libvirt_xml_free(x);
	return rc;
}

/* The element <cpu>...</cpu> (or <cpu .../>) of domain XML XML: allocated,
 * or NULL when it has none.  libvirt compares a <cpu> document only. */
static char *
cpu_element(const char *xml)
{
	const char *s = xml, *e;

	while ((s = strstr(s, "<cpu")) != NULL && s[4] != ' ' && s[4] != '>' && s[4] != '/')
		s += 4;
	if (s == NULL || (e = strchr(s, '>')) == NULL)
		return NULL;
	if (e[-1] != '/') {
		if ((e = strstr(e, "</cpu>")) == NULL)
			return NULL;
		e += strlen("</cpu>") - 1;
	}
	return xasprintf("%.*s", (int)(e - s + 1), s);
}

/*
 * Can DST run the VM's CPU?  The running domain's <cpu> (libvirt fills in
 * the model it started with: qemu64 for a TCG guest defined without one)
 * against what DST's hypervisor offers for that kind of domain: TCG
 * emulates any model, so comparing with DST's host CPU would be wrong
 * there.  host-passthrough is the source host's CPU: that one against
 * DST's host CPU.
 */
static int
check_cpu(struct hv *hv, struct hv *dst, const char *xml, struct hv_migrate_check *out)
{
	virConnectPtr sconn = libvirt_conn(hv), dconn = libvirt_conn(dst);
	struct libvirt_xml *x;
	char *cpu, *mode = NULL, *type = NULL, *arch = NULL, *machine = NULL, *emu = NULL;
	char *caps = NULL;
	virErrorPtr e;
	int r, rc = 0;

	out->cpu_ok = true;
	if (sconn == NULL || dconn == NULL || (x = libvirt_xml_parse(xml, "a domain")) == NULL)
		return -1;
	cpu = cpu_element(xml);
	mode = libvirt_xml_get(x, "/domain/cpu/@mode");
	type = libvirt_xml_get(x, "/domain/@type");
	arch = libvirt_xml_get(x, "/domain/os/type/@arch");
	machine = libvirt_xml_get(x, "/domain/os/type/@machine");
	emu = libvirt_xml_get(x, "/domain/devices/emulator");
	libvirt_xml_free(x);
	if (cpu == NULL)
		goto out;	/* the hypervisor's default model, there as here */
	if (mode != NULL && strcmp(mode, "host-passthrough") == 0) {
		if ((caps = virConnectGetCapabilities(sconn)) == NULL) {
			rc = libvirt_err(hv, "cannot read the host's capabilities");
			goto out;
		}
		free(cpu);
		cpu = cpu_element(caps);
		r = cpu == NULL ? VIR_CPU_COMPARE_IDENTICAL : virConnectCompareCPU(dconn, cpu,
		    VIR_CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE);
	} else {
		r = virConnectCompareHypervisorCPU(dconn, emu, arch, machine, type, cpu,
		    VIR_CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE);
		if (r == VIR_CPU_COMPARE_ERROR && (e = virGetLastError()) != NULL &&
		    e->code == VIR_ERR_NO_SUPPORT)
			r = virConnectCompareCPU(dconn, cpu, VIR_CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE);
	}
	if (r == VIR_CPU_COMPARE_INCOMPATIBLE) {
		out->cpu_ok = false;
	} else if (r == VIR_CPU_COMPARE_ERROR) {
		e = virGetLastError();
		if (e != NULL && e->code == VIR_ERR_CPU_INCOMPATIBLE) {
			const char *m = libvirt_errmsg(), *why = strstr(m, "host CPU: ");

			out->cpu_ok = false;
			snprintf(out->cpu_why, sizeof out->cpu_why, "%s",
			    why != NULL ? why + strlen("host CPU: ") : m);
		} else {
			rc = libvirt_err(dst, "cannot compare CPUs");
		}
	}
out:
	free(caps);
	free(cpu);
	free(mode);
	free(type);
	free(arch);
	free(machine);
	free(emu);
	return rc;
}

/* Does DST have a domain of C's name or of UUID? */
static int
check_name(struct hv *dst, const struct vm_config *c, const char *uuid, bool *taken)
{
	virConnectPtr dconn = libvirt_conn(dst);
	virDomainPtr d;
	virErrorPtr e;

	*taken = false;
	if (dconn == NULL)
		return -1;
	if ((d = virDomainLookupByName(dconn, c->name)) == NULL &&
	    ((e = virGetLastError()) == NULL || e->code == VIR_ERR_NO_DOMAIN))
		d = virDomainLookupByUUIDString(dconn, uuid);
	if (d != NULL) {
		*taken = true;
		virDomainFree(d);
		return 0;
	}
	if ((e = virGetLastError()) != NULL && e->code != VIR_ERR_NO_DOMAIN)
		return libvirt_err(dst, "cannot look up VM '%s'", c->name);
	return 0;
}

/* Everything the preflight asks, with PL read already. */
static int
check_all(struct hv *hv, struct hv *dst, const struct vm_config *c,
    const struct hv_migrate_opts *o, struct lvm_plan *pl, struct hv_migrate_check *out)
{
	virConnectPtr dconn = libvirt_conn(dst);
	unsigned long long free_bytes;

	if (dconn == NULL)
		return -1;
	if (check_name(dst, c, pl->uuid, &out->name_taken) != 0)
		return -1;
	if (o->checked) {
		out->cpu_ok = true;
		return check_storage(hv, dst, c, o, pl, out);
	}
	if (check_cpu(hv, dst, pl->xml, out) != 0)
		return -1;
	if ((free_bytes = virNodeGetFreeMemory(dconn)) > 0)
		out->free_kib = (int64_t)(free_bytes / 1024);
	else
		log_debug("libvirt: host '%s': free memory unknown: %s", dst->host.name,
		    libvirt_errmsg());
	if (check_networks(dst, pl->xml, out) != 0 ||
	    check_storage(hv, dst, c, o, pl, out) != 0)
		return -1;
	return 0;
}

int
libvirt_migrate_check(struct hv *hv, struct hv *dst, const struct vm_config *c,
    const struct hv_migrate_opts *o, struct hv_migrate_check *out)
{
	struct lvm_plan pl;
	int rc;

	if (plan_read(hv, c, &pl) != 0)
		return -1;
	rc = check_all(hv, dst, c, o, &pl, out);
	plan_clear(&pl);
	return rc;
}

/* ---- the destination's volumes ------------------------------------------ */

/* Add NOTE ("; ...") to the error message. */
static void
err_append(const char *note)
{
	char msg[2048];

	if (note[0] == '\0')
		return;
	snprintf(msg, sizeof msg, "%s", err_get());
	err_set("%s%s", msg, note);
}

/* Tell O's caller of volume PATH (hv_migrate_opts.volume_fn). */
static void
vol_said(const struct hv_migrate_opts *o, const char *path, bool made)
{
	if (o->volume_fn != NULL)
		o->volume_fn(path, made, o->volume_arg);
}

/* Delete the volumes at MADE[0..N) on DST; what stays is named in NOTE,
 * unless DST cannot be asked and O's caller takes them back.  The error
 * message stays as it was. */
static void
volumes_drop(struct hv *dst, const struct hv_migrate_opts *o, char **made, size_t n, char *note,
    size_t len)
{
	char msg[2048];
	virConnectPtr dconn;

	snprintf(msg, sizeof msg, "%s", err_get());
	dconn = libvirt_conn(dst);

	for (size_t i = 0; i < n; i++) {
		virStorageVolPtr vol = dconn != NULL ? virStorageVolLookupByPath(dconn, made[i]) :
		    NULL;
		size_t k = strlen(note);

		if (vol != NULL && virStorageVolDelete(vol, 0) == 0) {
			log_debug("libvirt: host '%s': deleted volume '%s' again", dst->host.name,
			    made[i]);
			vol_said(o, made[i], false);
		} else if (dconn == NULL && o->volume_fn != NULL) {
			log_debug("libvirt: host '%s': volume '%s' left to the caller (the "
			    "connection is gone)", dst->host.name, made[i]);
		} else {
			snprintf(note + k, len - k, "; volume '%s' made for the copy stays on host "
			    "'%s' (%s): delete it there", made[i], dst->host.name,
			    dconn == NULL ? "the connection is gone" : libvirt_errmsg());
			if (dconn != NULL)
				vol_said(o, made[i], false);
		}
		if (vol != NULL)
			virStorageVolFree(vol);
	}
	err_set("%s", msg);
}

/* On DST, the empty volume each disk to copy goes into: its pool's
 * namesake there, its name, format and size.  Their paths into *MADE. */
static int
volumes_make(struct hv *dst, const struct vm_config *c, const struct hv_migrate_opts *o,
    const struct lvm_plan *pl, char ***made, size_t *n)
{
	virConnectPtr dconn = libvirt_conn(dst);
	char note[1024] = "";

	*made = xcalloc(pl->ndisks + 1, sizeof **made);
	*n = 0;
	if (dconn == NULL)
		return -1;
	for (size_t i = 0; i < pl->ndisks; i++) {
		const struct lvm_disk *d = &pl->disks[i];
		const char *base = strrchr(d->path, '/');
		struct hv_volume v = { d->pool, base != NULL ? base + 1 : d->path, d->format,
			(int64_t)d->capacity, NULL, NULL };
		virStoragePoolPtr pool;
		virStorageVolPtr vol;
		char *xml, *path;

		if (d->readonly || d->shared)
			continue;
		if ((pool = virStoragePoolLookupByName(dconn, d->pool)) == NULL) {
			libvirt_err(dst, "cannot look up storage pool '%s'", d->pool);
			goto fail;
		}
		virStoragePoolRefresh(pool, 0);
		xml = libvirt_volume_xml(&v, NULL);
		vol_said(o, d->path, true);
		vol = virStorageVolCreateXML(pool, xml, 0);
		free(xml);
		virStoragePoolFree(pool);
		if (vol == NULL) {
			vol_said(o, d->path, false);
			libvirt_err(dst, "cannot make volume '%s' in pool '%s' for disk '%s' of VM "
			    "'%s'", v.name, d->pool, d->path, c->name);
			goto fail;
		}
		path = virStorageVolGetPath(vol);
		virStorageVolFree(vol);
		if (path == NULL) {
			libvirt_err(dst, "cannot read the path of the new volume '%s'", v.name);
			goto fail;
		}
		(*made)[(*n)++] = path;
		if (strcmp(path, d->path) != 0) {
			vol_said(o, path, true);
			vol_said(o, d->path, false);
			err_set("host '%s' made the volume for disk '%s' of VM '%s' at '%s': the copy "
			    "must keep the disk's path", dst->host.name, d->path, c->name, path);
			goto fail;
		}
	}
	return 0;
fail:
	volumes_drop(dst, o, *made, *n, note, sizeof note);
	err_append(note);
	return -1;
}

/* ---- progress ------------------------------------------------------------ */

static int64_t
param(virTypedParameterPtr p, int n, const char *name)
{
	unsigned long long v;

	return virTypedParamsGetULLong(p, n, name, &v) == 1 ? (int64_t)v : -1;
}

/* R's job as libvirt reports it now (FLAGS: 0, or the completed job's). */
static int
job_read(virDomainPtr dom, unsigned int flags, struct hv_migrate_progress *p, int64_t *iter)
{
	virTypedParameterPtr params = NULL;
	int n = 0, type = VIR_DOMAIN_JOB_NONE;

	if (virDomainGetJobStats(dom, &type, &params, &n, flags) < 0)
		return -1;
	if (type == VIR_DOMAIN_JOB_NONE) {
		virTypedParamsFree(params, n);
		return -1;
	}
	p->elapsed_ms = param(params, n, VIR_DOMAIN_JOB_TIME_ELAPSED);
	p->mem_total = param(params, n, VIR_DOMAIN_JOB_MEMORY_TOTAL);
	p->mem_processed = param(params, n, VIR_DOMAIN_JOB_MEMORY_PROCESSED);
	p->mem_remaining = param(params, n, VIR_DOMAIN_JOB_MEMORY_REMAINING);
	p->disk_total = param(params, n, VIR_DOMAIN_JOB_DISK_TOTAL);
	p->disk_processed = param(params, n, VIR_DOMAIN_JOB_DISK_PROCESSED);
	p->disk_remaining = param(params, n, VIR_DOMAIN_JOB_DISK_REMAINING);
	p->dirty_rate = param(params, n, VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE);
	p->downtime_ms = param(params, n, VIR_DOMAIN_JOB_DOWNTIME);
	*iter = param(params, n, VIR_DOMAIN_JOB_MEMORY_ITERATION);
	virTypedParamsFree(params, n);
	return 0;
}

/* Past setup: "storage" while the disks copy (memory waits for them),
 * then "memory", "post-copy" once switched. */
static const char *
phase_of(const struct lvm_run *r, const struct hv_migrate_progress *p)
{
	if (r->postcopy)
		return "post-copy";
	if (p->mem_processed > 0)
		return "memory";
	if (p->disk_total > 0)
		return "storage";
	return "setup";
}

/*
 * libvirt 9.0's client can lose the wakeup of the thread that polls the
 * connection for everyone (here the migrating thread, waiting for its
 * virDomainMigrate3): a call made while that thread is between two polls,
 * e.g. right after it delivered this thread's previous reply, waits for
 * the daemon's next keepalive ping, 5 s (g_main_loop_quit before
 * g_main_loop_run).  Calls from this thread leave it a moment to get back
 * into its poll.
 */
static void
calm(struct lvm_run *r)
{
	long long wait = r->last_call + LVM_CALL_GAP_MS - log_now_ms();

	if (wait > 0) {
		struct timespec ts = { 0, (long)wait * 1000 * 1000 };

		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
}

/* Stop R's job (asked for, or its destination is gone). */
static void
stop(struct lvm_run *r, const char *why)
{
	calm(r);
	if (virDomainAbortJob(r->dom) < 0)
		log_debug("libvirt: cannot stop the migration (%s) yet: %s", why,
		    libvirt_errmsg());
	else
		log_debug("libvirt: stopping the migration (%s)", why);
	r->last_call = log_now_ms();
}

/* Post-copy when allowed and memory does not converge. */
static void
maybe_postcopy(struct lvm_run *r, const struct hv_migrate_progress *p, int64_t iter)
{
	if (r->postcopy || r->postcopy_tried || strcmp(p->phase, "memory") != 0 ||
	    p->mem_remaining < 0)
		return;
	if (r->least_left < 0 || p->mem_remaining < r->least_left) {
		r->least_left = p->mem_remaining;
		r->stall = 0;
	} else {
		r->stall++;
	}
	if (r->stall < LVM_STALL_ROUNDS && iter < LVM_MAX_ITERATIONS)
		return;
	r->postcopy_tried = true;
	calm(r);
	if (virDomainMigrateStartPostCopy(r->dom, 0) < 0) {
		log_debug("libvirt: no post-copy after %lld passes: %s", (long long)iter,
		    libvirt_errmsg());
	} else {
		log_debug("libvirt: post-copy after %lld passes, %lld bytes left",
		    (long long)iter, (long long)p->mem_remaining);
		r->postcopy = true;
	}
	r->last_call = log_now_ms();
}

/* One round: the job's statistics to FN, then what FN or the round asked
 * for (stop, post-copy).  An abort asked for before the job could take it
 * is asked again each round until it has ended. */
static void
tick(struct lvm_run *r, bool allow_postcopy, hv_migrate_fn fn, void *arg)
{
	struct hv_migrate_progress p = {
		.phase = "setup", .elapsed_ms = -1, .mem_total = -1, .mem_processed = -1,
		.mem_remaining = -1, .disk_total = -1, .disk_processed = -1,
		.disk_remaining = -1, .dirty_rate = -1, .downtime_ms = -1,
	};
	int64_t iter = -1;
	bool active;

	/* Managed by the client, the source would send the VM's whole memory
	 * to a destination whose daemon is gone before anyone noticed: stop
	 * the job as soon as its connection closes (not in post-copy: the VM
	 * runs there already). */
	if (!r->dst_lost && !r->postcopy && libvirt_conn(r->dst) == NULL) {
		r->dst_lost = true;
		log_debug("libvirt: %s", err_get());
		stop(r, "the destination's connection closed");
	}
	calm(r);
	active = job_read(r->dom, 0, &p, &iter) == 0;
	r->last_call = log_now_ms();
	p.elapsed_ms = log_now_ms() - r->t0;
	if (!active && r->seen_active) {
		/* Its statistics are gone, the call not back yet: the last steps
		 * on both hosts, or a stop under way. */
		p = r->last;
		p.phase = "finishing";
		p.elapsed_ms = log_now_ms() - r->t0;
	}
	r->seen_active = r->seen_active || active;
	if (active) {
		p.phase = phase_of(r, &p);
		if (allow_postcopy && !atomic_load(&r->abort_asked)) {
			maybe_postcopy(r, &p, iter);
			p.phase = phase_of(r, &p);
		}
	}
	/* A stop under way (not in post-copy: that one goes on to its end). */
	if (!r->postcopy && (atomic_load(&r->abort_asked) || r->dst_lost))
		p.phase = "stopping";
	p.postcopy = r->postcopy;
	r->last = p;
	if (fn != NULL)
		fn(&p, arg);
	if (atomic_load(&r->abort_asked) && (active || !r->seen_active))
		stop(r, "asked");
}

/* The move is done: its figures, the real downtime among them, once more
 * to FN.  The source keeps the completed job unless it undefined the
 * domain; the destination has it too. */
static void
report_done(struct lvm_run *r, hv_migrate_fn fn, void *arg)
{
	unsigned int flags = VIR_DOMAIN_JOB_STATS_COMPLETED | VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED;
	struct hv_migrate_progress p = r->last;
	int64_t iter;

	/* (libvirt 9.0 keeps none after post-copy: the downtime is unknown.) */
	if (job_read(r->dom, flags, &p, &iter) != 0 &&
	    (r->ddom == NULL || job_read(r->ddom, flags, &p, &iter) != 0)) {
		log_debug("libvirt: no statistics of the completed migration: %s",
		    libvirt_errmsg());
		p.downtime_ms = -1;
	}
	p.phase = "done";
	p.postcopy = r->postcopy;
	p.elapsed_ms = log_now_ms() - r->t0;
	if (p.mem_remaining > 0)
		p.mem_remaining = 0;
	if (p.disk_remaining > 0)
		p.disk_remaining = 0;
	r->last = p;
	if (fn != NULL)
		fn(&p, arg);
}

/* ---- the move ------------------------------------------------------------ */

static void *
migrate_thread(void *arg)
{
	struct lvm_run *r = arg;
	ssize_t w;

	r->ddom = virDomainMigrate3(r->dom, r->dconn, r->params, (unsigned int)r->nparams,
	    r->flags);
	if (r->ddom == NULL)
		snprintf(r->why, sizeof r->why, "%s", libvirt_errmsg());
	log_debug("libvirt: virDomainMigrate3 returned after %lld ms%s%s", log_now_ms() - r->t0,
	    r->ddom == NULL ? ": " : "", r->why);
	do
		w = write(r->pipe[1], "x", 1);
	while (w < 0 && errno == EINTR);
	return NULL;
}

/* Run R's migration on its thread; report every LVM_POLL_MS (and at once
 * when a signal comes) until it has returned. */
static int
run(struct lvm_run *r, bool allow_postcopy, hv_migrate_fn fn, void *arg)
{
	long long next;
	pthread_t t;
	int e;

	if (pipe2(r->pipe, O_CLOEXEC) != 0)
		return err_set("cannot make a pipe: %s", strerror(errno));
	r->t0 = log_now_ms();
	if ((e = thread_start(&t, NULL, migrate_thread, r)) != 0) {
		close(r->pipe[0]);
		close(r->pipe[1]);
		return err_set("cannot start the migration thread: %s", strerror(e));
	}
	next = r->t0 + LVM_POLL_MS;
	for (;;) {
		struct pollfd pfd = { r->pipe[0], POLLIN, 0 };
		long long wait = next - log_now_ms();
		int n = poll(&pfd, 1, wait < 0 ? 0 : (int)wait);

		if (n > 0)
			break;
		if (n < 0 && errno != EINTR) {
			log_debug("libvirt: poll: %s", strerror(errno));
			continue;
		}
		tick(r, allow_postcopy, fn, arg);
		next = log_now_ms() + LVM_POLL_MS;
	}
	pthread_join(t, NULL);
	close(r->pipe[0]);
	close(r->pipe[1]);
	return 0;
}

/* The parameters and flags of the move. */
static int
run_params(struct lvm_run *r, const struct hv_migrate_opts *o, const struct lvm_plan *pl)
{
	int max = 0;

	r->flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PERSIST_DEST;
	if (!o->keep_source)
		r->flags |= VIR_MIGRATE_UNDEFINE_SOURCE;
	if (o->postcopy)
		r->flags |= VIR_MIGRATE_POSTCOPY;
	if (o->auto_converge)
		r->flags |= VIR_MIGRATE_AUTO_CONVERGE;
	if (pl->nshared > 0)
		r->flags |= VIR_MIGRATE_UNSAFE;
	if (o->uri != NULL && virTypedParamsAddString(&r->params, &r->nparams, &max,
	    VIR_MIGRATE_PARAM_URI, o->uri) < 0)
		goto fail;
	if (o->bandwidth_mib > 0 && virTypedParamsAddULLong(&r->params, &r->nparams, &max,
	    VIR_MIGRATE_PARAM_BANDWIDTH, o->bandwidth_mib) < 0)
		goto fail;
	if (pl->ncopy == 0)
		return 0;
	r->flags |= VIR_MIGRATE_NON_SHARED_DISK;
	for (size_t i = 0; i < pl->ndisks; i++)
		if (!pl->disks[i].readonly && !pl->disks[i].shared &&
		    virTypedParamsAddString(&r->params, &r->nparams, &max,
		    VIR_MIGRATE_PARAM_MIGRATE_DISKS, pl->disks[i].target) < 0)
			goto fail;
	return 0;
fail:
	return err_set("cannot set the migration's parameters: %s", libvirt_errmsg());
}

static void
runs_add(struct lvm_run *r)
{
	pthread_mutex_lock(&lvm_lock);
	r->next = lvm_runs;
	lvm_runs = r;
	pthread_mutex_unlock(&lvm_lock);
}

static void
runs_drop(struct lvm_run *r)
{
	pthread_mutex_lock(&lvm_lock);
	for (struct lvm_run **pp = &lvm_runs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	pthread_mutex_unlock(&lvm_lock);
}

/* ---- after a failure ----------------------------------------------------- */

/* Where C is after a failed move: on the source as before (true), or said
 * loudly in NOTE what it is there now. */
static bool
source_after(struct hv *hv, const struct vm_config *c, int before, char *note, size_t len)
{
	virDomainPtr dom = libvirt_lookup(hv, c, NULL);
	int state = -1, reason = 0;

	if (dom == NULL) {
		snprintf(note, len, "; BEWARE: VM '%s' is no longer on host '%s' (%s): look for it "
		    "on both hosts", c->name, hv->host.name, err_get());
		return false;
	}
	if (virDomainGetState(dom, &state, &reason, 0) < 0)
		state = -1;
	virDomainFree(dom);
	if (state == before || (state == VIR_DOMAIN_BLOCKED && before == VIR_DOMAIN_RUNNING)) {
		snprintf(note, len, "; it %s on host '%s' as before",
		    state == VIR_DOMAIN_PAUSED ? "is paused" : "runs", hv->host.name);
		return true;
	}
	snprintf(note, len, "; BEWARE: VM '%s' is %s on host '%s' now%s, not %s as before: look "
	    "at it there", c->name, state < 0 ? "in an unknown state" :
	    hv_state_name(libvirt_state_map(state)), hv->host.name,
	    state == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_POSTCOPY_FAILED ?
	    " (post-copy failed)" : "", before == VIR_DOMAIN_PAUSED ? "paused" : "running");
	return false;
}

/* What the destination kept of a failed move: a domain with the VM's UUID
 * that this move made goes when the VM still runs on the source (never
 * one that runs there: then both do, and the user must choose).  *GONE:
 * DST has no domain of it now. */
static void
dest_after(struct hv *dst, const struct vm_config *c, const char *uuid, bool src_ok, bool *gone,
    char *note, size_t len, bool *asked)
{
	virConnectPtr dconn = libvirt_conn(dst);
	virDomainPtr d;
	int state = -1, reason;
	size_t k = strlen(note);

	*gone = false;
	*asked = dconn != NULL;
	if (dconn == NULL) {
		log_debug("libvirt: %s", err_get());
		snprintf(note + k, len - k, "; host '%s' could not be asked whether it kept "
		    "anything", dst->host.name);
		return;
	}
	if ((d = virDomainLookupByUUIDString(dconn, uuid)) == NULL) {
		*gone = true;
		return;
	}
	virDomainGetState(d, &state, &reason, 0);
	if (!src_ok || state == VIR_DOMAIN_RUNNING || state == VIR_DOMAIN_BLOCKED) {
		snprintf(note + k, len - k, "; BEWARE: host '%s' has VM '%s' too (%s): look at both "
		    "hosts", dst->host.name, c->name, state < 0 ? "state unknown" :
		    hv_state_name(libvirt_state_map(state)));
	} else if ((state != VIR_DOMAIN_SHUTOFF && virDomainDestroy(d) < 0) ||
	    (virDomainIsPersistent(d) == 1 && virDomainUndefine(d) < 0)) {
		snprintf(note + k, len - k, "; the half-made VM '%s' stays on host '%s' (%s): remove "
		    "it there", c->name, dst->host.name, libvirt_errmsg());
	} else {
		log_debug("libvirt: host '%s': removed the half-made domain '%s'", dst->host.name,
		    c->name);
		*gone = true;
	}
	virDomainFree(d);
}

/* The sentence for a failed move of C, with what became of both sides;
 * volumes MADE on DST go when nothing there uses them. */
static int
failed(struct hv *hv, struct hv *dst, const struct vm_config *c, const struct hv_migrate_opts *o,
    struct lvm_run *r, int before, char **made, size_t nmade)
{
	char src[512], note[2048] = "";
	bool src_ok, gone, asked;

	src_ok = source_after(hv, c, before, src, sizeof src);
	dest_after(dst, c, r->uuid, src_ok, &gone, note, sizeof note, &asked);
	if (gone) {
		volumes_drop(dst, o, made, nmade, note, sizeof note);
	} else if (nmade > 0 && (asked || o->volume_fn == NULL)) {
		snprintf(note + strlen(note), sizeof note - strlen(note), "; the volumes made "
		    "for the copy stay on host '%s'", dst->host.name);
		/* With the domain there, or said to the user: no longer ours. */
		for (size_t i = 0; asked && i < nmade; i++)
			vol_said(o, made[i], false);
	}
	if (atomic_load(&r->abort_asked))
		return err_set("the migration of VM '%s' to host '%s' stopped as asked%s%s",
		    c->name, dst->host.name, src, note);
	if (r->dst_lost)
		return err_set("VM '%s' did not move to host '%s': the connection to host '%s' "
		    "closed mid-way and vmtty stopped the migration%s%s", c->name, dst->host.name,
		    dst->host.name, src, note);
	return err_set("VM '%s' did not move to host '%s': %s%s%s", c->name, dst->host.name,
	    r->why[0] != '\0' ? r->why : "libvirt gave no reason", src, note);
}

int
libvirt_migrate(struct hv *hv, struct hv *dst, const struct vm_config *c,
    const struct hv_migrate_opts *o, hv_migrate_fn fn, void *arg)
{
	struct hv_migrate_check k;
	struct lvm_plan pl;
	struct lvm_run r;
	char **made = NULL;
	size_t nmade = 0;
	int before = -1, reason, rc = -1;

	memset(&r, 0, sizeof r);
	memset(&k, 0, sizeof k);
	k.free_kib = k.copy_bytes = -1;
	r.least_left = -1;
	if (plan_read(hv, c, &pl) != 0)
		return -1;
	if (check_all(hv, dst, c, o, &pl, &k) != 0)
		goto out;
	/* The preflight said all this already; things may have changed since. */
	if (k.name_taken) {
		err_set("host '%s' already has a domain named '%s' (or with its UUID)",
		    dst->host.name, c->name);
		goto out;
	}
	if (!k.cpu_ok || k.missing[0] != '\0') {
		err_set("host '%s' %s VM '%s': %s", dst->host.name, k.cpu_ok ? "lacks what" :
		    "cannot run the CPU of", c->name, k.cpu_ok ? k.missing : k.cpu_why);
		goto out;
	}
	if (pl.ncopy > 0 && !o->copy_storage) {
		err_set("the disks of VM '%s' are not on host '%s': give --copy-storage",
		    c->name, dst->host.name);
		goto out;
	}
	if (virDomainGetState(pl.dom, &before, &reason, 0) < 0) {
		libvirt_err(hv, "cannot read the state of VM '%s'", c->name);
		goto out;
	}
	if (volumes_make(dst, c, o, &pl, &made, &nmade) != 0)
		goto out;
	r.dom = pl.dom;
	r.src = hv;
	r.dst = dst;
	r.name = c->name;
	r.dconn = libvirt_conn(dst);
	snprintf(r.uuid, sizeof r.uuid, "%s", pl.uuid);
	if (r.dconn == NULL || run_params(&r, o, &pl) != 0) {
		char note[1024] = "";

		volumes_drop(dst, o, made, nmade, note, sizeof note);
		err_append(note);
		goto out;
	}
	log_debug("libvirt: migrating '%s' from '%s' to '%s' (flags 0x%x, %zu disks copied, %zu "
	    "shared)", c->name, hv->host.name, dst->host.name, r.flags, pl.ncopy, pl.nshared);
	runs_add(&r);
	rc = run(&r, o->postcopy, fn, arg);
	if (rc == 0 && r.ddom != NULL) {
		report_done(&r, fn, arg);
	} else if (rc == 0) {
		rc = failed(hv, dst, c, o, &r, before, made, nmade);
	} else {
		char note[1024] = "";

		volumes_drop(dst, o, made, nmade, note, sizeof note);
		err_append(note);
	}
	runs_drop(&r);
out:
	if (r.ddom != NULL)
		virDomainFree(r.ddom);
	virTypedParamsFree(r.params, r.nparams);
	for (size_t i = 0; i < nmade; i++)
		free(made[i]);
	free(made);
	plan_clear(&pl);
	return rc;
}

int
libvirt_migrate_abort(struct hv *hv, const struct vm_config *c)
{
	virDomainPtr dom;
	bool ours = false;
	int rc = 0;

	/* A migration of this process: its watching thread stops it (at once
	 * when it is the caller, as from the progress callback; else within a
	 * round), and again until the job has ended, so that an abort asked
	 * for before the job began is not lost.  Calls from here could wait
	 * 5 s while it runs (see calm). */
	pthread_mutex_lock(&lvm_lock);
	for (struct lvm_run *r = lvm_runs; r != NULL; r = r->next)
		if (r->src == hv && (strcasecmp(r->uuid, c->uuid) == 0 ||
		    (c->uuid[0] == '\0' && strcmp(r->name, c->name) == 0))) {
			atomic_store(&r->abort_asked, true);
			ours = true;
		}
	pthread_mutex_unlock(&lvm_lock);
	if (ours)
		return 0;
	if ((dom = libvirt_lookup(hv, c, NULL)) == NULL)
		return -1;
	if (virDomainAbortJob(dom) < 0)
		rc = libvirt_err(hv, "cannot stop the migration of VM '%s'", c->name);
	virDomainFree(dom);
	return rc;
}
