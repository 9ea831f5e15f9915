/*
 * Full clones on a libvirt host (the clone op): the source's own
 * definition (INACTIVE | SECURE) edited with libxml2 (libvirt_xml_clone)
 * and defined, so that nothing of it is lost; each writable disk copied
 * into a new volume of its own pool with virStorageVolCreateXMLFrom.
 *
 * Everything is checked before anything is made: the domain is off, the
 * new name is free, each disk to copy is a volume of a pool, each new
 * volume's name is free there.  A failure or a cancel then deletes every
 * volume made so far, the one cut short included; the domain is defined
 * last.
 *
 * Threads: virStorageVolCreateXMLFrom blocks for the whole copy and
 * libvirt offers no progress for it, so it runs on a thread of its own
 * (thread_start: the caller's thread keeps the signals) while the calling
 * thread reads the new volume's allocation every 500 ms.  libvirt cannot
 * stop the copy: a cancel waits for it to end, then deletes the volume.
 */
#include "hv/hv.h"
#include "hv/libvirt.h"
#include "hv/libvirt_priv.h"
#include "hv/libvirt_xml_priv.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "util/err.h"
#include "util/log.h"
#include "util/thread.h"
#include "util/xalloc.h"

#define LVC_POLL_MS 500

/* What becomes of one disk of the source. */
enum lvc_how {
	LVC_SHARE,		/* the clone uses it as it is */
	LVC_SWAP,		/* the caller's volume instead */
	LVC_COPY,		/* a new volume, a copy */
};

struct lvc_disk {
	const struct libvirt_disk *d;
	enum lvc_how how;
	char *from;		/* its path ("" none) */
	const char *swap;	/* LVC_SWAP: the caller's volume */
	virStorageVolPtr src;	/* LVC_COPY: the source volume */
	virStoragePoolPtr pool;	/* its pool, where the copy goes */
	char *pool_name;
	char *name;		/* the copy's name */
	char *format;		/* the copy's (the source's) format */
	unsigned long long capacity, allocation;
	char *to;		/* the copy's path, once made */
	char *to_name;		/* a swap's volume name (volume disks) */
	char *to_pool;
	bool made;		/* a volume of that name is ours to delete */
};

struct lvc {
	struct hv *hv;
	virConnectPtr conn;
	const struct vm_config *c;
	const struct hv_clone_opts *o;
	struct libvirt_disk *disks;
	size_t ndisks;
	struct lvc_disk *p;
	size_t ncopy;
};

/* The copy on its thread. */
struct lvc_copy {
	virStoragePoolPtr pool;
	const char *xml;
	virStorageVolPtr src;
	virStorageVolPtr out;
	char why[512];
	int pipe[2];
};

static bool
cancelled(const struct lvc *r)
{
	return r->o->cancel != NULL && atomic_load(r->o->cancel);
}

/* The volume at PATH, looked for again after a refresh of the pools in
 * its directory; NULL (and no err) when no pool has it, NULL + err when
 * the host cannot say. */
static virStorageVolPtr
vol_at(struct lvc *r, const char *path, bool *none)
{
	virStorageVolPtr vol = virStorageVolLookupByPath(r->conn, path);
	virErrorPtr e;
	const char *slash;
	char *dir;

	*none = false;
	if (vol != NULL)
		return vol;
	e = virGetLastError();
	if (e == NULL || e->code != VIR_ERR_NO_STORAGE_VOL)
		return libvirt_err(r->hv, "cannot look up disk '%s'", path), NULL;
	slash = strrchr(path, '/');
	dir = xstrndup(path, slash == NULL ? 0 : slash == path ? 1 : (size_t)(slash - path));
	if (libvirt_refresh_pools_at(r->conn, dir) > 0)
		vol = virStorageVolLookupByPath(r->conn, path);
	free(dir);
	*none = vol == NULL;
	return vol;
}

/* The extension of a volume name ("qcow2" of "g.qcow2"), else one for
 * FORMAT. */
static const char *
ext_of(const char *name, const char *format)
{
	const char *dot = strrchr(name, '.');
	size_t n;

	if (dot != NULL && dot != name && (n = strlen(dot + 1)) > 0 && n <= 8) {
		for (const char *s = dot + 1; *s != '\0'; s++)
			if (!isalnum((unsigned char)*s))
				return strcmp(format, "qcow2") == 0 ? "qcow2" : "img";
		return dot + 1;
	}
	return strcmp(format, "qcow2") == 0 ? "qcow2" : "img";
}

/* What disk P->d becomes: shared, swapped, or copied (its volume found). */
static int
plan_disk(struct lvc *r, struct lvc_disk *p, size_t i)
{
	const struct libvirt_disk *d = p->d;
	const struct hv_clone_opts *o = r->o;
	bool none = false;
	char *xml;

	if (d->source != NULL) {
		p->from = xstrdup(d->source);
	} else if (d->pool != NULL && d->volume != NULL) {
		virStoragePoolPtr pool = virStoragePoolLookupByName(r->conn, d->pool);

		if (pool != NULL) {
			p->src = virStorageVolLookupByName(pool, d->volume);
			virStoragePoolFree(pool);
		}
		if (p->src == NULL)
			return libvirt_err(r->hv, "cannot find volume '%s' of pool '%s' (disk %zu of "
			    "VM '%s')", d->volume, d->pool, i + 1, r->c->name);
		if ((p->from = virStorageVolGetPath(p->src)) == NULL)
			return libvirt_err(r->hv, "cannot read the path of volume '%s'", d->volume);
	} else {
		p->from = xstrdup("");
	}
	for (size_t k = 0; k < o->nswap; k++)
		if (p->from[0] != '\0' && strcmp(p->from, o->from[k]) == 0) {
			p->how = LVC_SWAP;
			p->swap = o->to[k];
			return 0;
		}
	if (d->readonly || d->shareable ||
	    (strcmp(d->device, "disk") != 0 && strcmp(d->device, "lun") != 0)) {
		p->how = LVC_SHARE;
		return 0;
	}
	if (p->from[0] == '\0') {
		/* An empty drive has nothing to copy; a disk of another kind
		 * (network, nvme, dir) is not in a pool. */
		p->how = LVC_SHARE;
		if (d->type != NULL && (strcmp(d->type, "file") == 0 ||
		    strcmp(d->type, "block") == 0))
			return 0;
		return err_set("disk '%s' of VM '%s' on host '%s' is a %s disk, not a volume of a "
		    "storage pool: vmtty copies disks through pools; clone it with virt-clone",
		    d->target != NULL ? d->target : "?", r->c->name, r->hv->host.name,
		    d->type != NULL ? d->type : "typeless");
	}
	p->how = LVC_COPY;
	if (p->src == NULL && (p->src = vol_at(r, p->from, &none)) == NULL)
		return none ? err_set("disk '%s' of VM '%s' is not a volume of a storage pool on "
		    "host '%s': vmtty copies disks through pools; define one for its directory "
		    "(virsh pool-define-as NAME dir --target DIR), then clone again", p->from,
		    r->c->name, r->hv->host.name) : -1;
	if ((p->pool = virStoragePoolLookupByVolume(p->src)) == NULL)
		return libvirt_err(r->hv, "cannot find the pool of volume '%s'", p->from);
	{
		const char *pn = virStoragePoolGetName(p->pool);
		virStorageVolInfo vi;
		char f[32];

		p->pool_name = xstrdup(pn != NULL ? pn : "");
		if (virStorageVolGetInfo(p->src, &vi) < 0)
			return libvirt_err(r->hv, "cannot read volume '%s'", p->from);
		p->capacity = vi.capacity;
		p->allocation = vi.allocation;
		if ((xml = virStorageVolGetXMLDesc(p->src, 0)) == NULL)
			return libvirt_err(r->hv, "cannot read volume '%s'", p->from);
		p->format = xstrdup(libvirt_volume_format(xml, f, sizeof f) == 0 ? f : "raw");
		free(xml);
	}
	return 0;
}

/* Names for the copies: NAME.EXT, then NAME-1.EXT, ...; each free in its
 * pool. */
static int
name_copies(struct lvc *r)
{
	size_t k = 0;

	for (size_t i = 0; i < r->ndisks; i++) {
		struct lvc_disk *p = &r->p[i];
		const char *vname;
		virStorageVolPtr v;

		if (p->how != LVC_COPY)
			continue;
		vname = virStorageVolGetName(p->src);
		p->name = k == 0 ? xasprintf("%s.%s", r->o->name, ext_of(vname, p->format)) :
		    xasprintf("%s-%zu.%s", r->o->name, k, ext_of(vname, p->format));
		k++;
		for (size_t j = 0; j < i; j++)
			if (r->p[j].name != NULL && strcmp(r->p[j].name, p->name) == 0 &&
			    strcmp(r->p[j].pool_name, p->pool_name) == 0)
				return err_set("VM '%s': two of its disks would be copied into volume "
				    "'%s' of pool '%s'", r->c->name, p->name, p->pool_name);
		if ((v = virStorageVolLookupByName(p->pool, p->name)) != NULL) {
			virStorageVolFree(v);
			return err_set("pool '%s' on host '%s' has a volume named '%s' already; "
			    "choose another name for the clone, or remove that volume", p->pool_name,
			    r->hv->host.name, p->name);
		}
	}
	r->ncopy = k;
	return 0;
}

static void *
copy_thread(void *arg)
{
	struct lvc_copy *cp = arg;
	ssize_t w;

	cp->out = virStorageVolCreateXMLFrom(cp->pool, cp->xml, cp->src, 0);
	if (cp->out == NULL)
		snprintf(cp->why, sizeof cp->why, "%s", libvirt_errmsg());
	do
		w = write(cp->pipe[1], "x", 1);
	while (w < 0 && errno == EINTR);
	return NULL;
}

/* How far the copy into P is: percent of the source's allocation. */
static int
progress(const struct lvc_disk *p)
{
	virStorageVolPtr v = virStorageVolLookupByName(p->pool, p->name);
	virStorageVolInfo vi;
	int pc = -1;

	if (v == NULL)
		return -1;
	if (virStorageVolGetInfo(v, &vi) == 0 && p->allocation > 0) {
		unsigned long long n = vi.allocation * 100 / p->allocation;

		pc = n > 99 ? 99 : (int)n;
	}
	virStorageVolFree(v);
	return pc;
}

/* Copy disk P (the K-th of the copies) into its new volume. */
static int
copy_disk(struct lvc *r, struct lvc_disk *p, size_t k)
{
	struct hv_volume v = { p->pool_name, p->name, p->format, (int64_t)p->capacity, NULL,
		NULL };
	struct lvc_copy cp = { p->pool, NULL, p->src, NULL, "", { -1, -1 } };
	char step[96], *path;
	bool told = false;
	pthread_t t;
	int e;

	snprintf(step, sizeof step, "Copying disk %zu of %zu", k, r->ncopy);
	if (pipe2(cp.pipe, O_CLOEXEC) != 0)
		return err_set("cannot make a pipe: %s", strerror(errno));
	cp.xml = libvirt_volume_xml(&v, NULL);
	/* From here a volume of that name is this clone's (it was free). */
	p->made = true;
	if (r->o->fn != NULL)
		r->o->fn(step, 0, r->o->arg);
	if ((e = thread_start(&t, NULL, copy_thread, &cp)) != 0) {
		close(cp.pipe[0]);
		close(cp.pipe[1]);
		free((char *)cp.xml);
		return err_set("cannot start the copy thread: %s", strerror(e));
	}
	for (;;) {
		struct pollfd pfd = { cp.pipe[0], POLLIN, 0 };
		int n = poll(&pfd, 1, LVC_POLL_MS);

		if (n > 0)
			break;
		if (n < 0 && errno != EINTR)
			continue;
		if (cancelled(r)) {
			if (!told && r->o->fn != NULL)
				r->o->fn("Cancelling: libvirt cannot stop a copy, waiting for it to end",
				    -1, r->o->arg);
			told = true;
		} else if (n == 0 && r->o->fn != NULL) {
			r->o->fn(step, progress(p), r->o->arg);
		}
	}
	pthread_join(t, NULL);
	close(cp.pipe[0]);
	close(cp.pipe[1]);
	free((char *)cp.xml);
	if (cp.out == NULL)
		return err_set("host '%s': cannot copy disk '%s' into volume '%s' of pool '%s': %s",
		    r->hv->host.name, p->from, p->name, p->pool_name, cp.why);
	path = virStorageVolGetPath(cp.out);
	virStorageVolFree(cp.out);
	if (path == NULL)
		return libvirt_err(r->hv, "cannot read the path of volume '%s'", p->name);
	p->to = xstrdup(path);
	free(path);
	if (r->o->made != NULL && r->o->made(p->to, r->o->made_arg) != 0)
		return -1;
	if (cancelled(r))
		return err_set("cancelled");
	if (r->o->fn != NULL)
		r->o->fn(step, 100, r->o->arg);
	return 0;
}

/* Take back every volume made (or cut short) for the clone. */
static void
take_back(struct lvc *r)
{
	for (size_t i = r->ndisks; i-- > 0;) {
		struct lvc_disk *p = &r->p[i];
		virStorageVolPtr v;

		if (!p->made)
			continue;
		/* By name: a copy that failed may have left its volume. */
		if ((v = virStorageVolLookupByName(p->pool, p->name)) == NULL)
			continue;
		if (virStorageVolDelete(v, 0) < 0)
			log_debug("libvirt: host '%s': cannot delete volume '%s' of the failed clone: "
			    "%s", r->hv->host.name, p->name, libvirt_errmsg());
		virStorageVolFree(v);
	}
}

/* The swap P's volume name and pool, for a disk of type volume. */
static int
swap_volume(struct lvc *r, struct lvc_disk *p)
{
	virStorageVolPtr v = virStorageVolLookupByPath(r->conn, p->swap);
	virStoragePoolPtr pool;
	const char *s;
	int rc = 0;

	if (v == NULL)
		return libvirt_err(r->hv, "cannot find volume '%s'", p->swap);
	s = virStorageVolGetName(v);
	p->to_name = xstrdup(s != NULL ? s : "");
	if ((pool = virStoragePoolLookupByVolume(v)) == NULL) {
		rc = libvirt_err(r->hv, "cannot find the pool of volume '%s'", p->swap);
	} else {
		s = virStoragePoolGetName(pool);
		p->to_pool = xstrdup(s != NULL ? s : "");
		virStoragePoolFree(pool);
	}
	virStorageVolFree(v);
	return rc;
}

/* The clone's definition, defined; its MACs into OUT. */
static int
define(struct lvc *r, const char *xml, struct hv_clone_result *out)
{
	struct libvirt_disk_source *src = xcalloc(r->ndisks + 1, sizeof *src);
	char *def = NULL, *back, what[300];
	virDomainPtr nd;
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < r->ndisks; i++) {
		struct lvc_disk *p = &r->p[i];
		bool vol = p->d->type != NULL && strcmp(p->d->type, "volume") == 0;

		if (p->how == LVC_SHARE)
			continue;
		if (p->how == LVC_SWAP && vol && swap_volume(r, p) != 0) {
			free(src);
			return -1;
		}
		src[n].index = i;
		src[n].path = p->how == LVC_COPY ? p->to : p->swap;
		src[n].pool = p->how == LVC_COPY ? p->pool_name : p->to_pool;
		src[n].volume = p->how == LVC_COPY ? p->name : p->to_name;
		n++;
	}
	rc = libvirt_xml_clone(xml, r->c->name, r->o->name, r->o->uuid, src, n, &def);
	free(src);
	if (rc != 0)
		return -1;
	nd = virDomainDefineXMLFlags(r->conn, def, VIR_DOMAIN_DEFINE_VALIDATE);
	free(def);
	if (nd == NULL)
		return libvirt_err(r->hv, "libvirt rejected the definition of clone '%s'",
		    r->o->name);
	back = virDomainGetXMLDesc(nd, VIR_DOMAIN_XML_INACTIVE);
	snprintf(what, sizeof what, "the definition of VM '%s'", r->o->name);
	if (back == NULL || libvirt_xml_macs(back, what, &out->macs) != 0)
		log_debug("libvirt: host '%s': cannot read the MACs of clone '%s'",
		    r->hv->host.name, r->o->name);
	free(back);
	virDomainFree(nd);
	return 0;
}

/* The clone's disks for the caller. */
static void
report(struct lvc *r, struct hv_clone_result *out)
{
	out->disks = xcalloc(r->ndisks + 1, sizeof *out->disks);
	out->ndisks = r->ndisks;
	for (size_t i = 0; i < r->ndisks; i++) {
		const struct lvc_disk *p = &r->p[i];
		struct hv_clone_disk *d = &out->disks[i];

		d->from = xstrdup(p->from);
		d->to = xstrdup(p->how == LVC_COPY ? p->to : p->how == LVC_SWAP ? p->swap : p->from);
		d->format = xstrdup0(p->how == LVC_COPY ? p->format : p->d->format);
		d->bus = xstrdup0(p->d->bus);
		d->cdrom = strcmp(p->d->device, "cdrom") == 0;
		d->readonly = p->d->readonly;
		d->made = p->how != LVC_SHARE;
	}
}

/* The checks before anything is made: off, the name free. */
static int
check(struct lvc *r, virDomainPtr dom)
{
	virDomainPtr other;
	int state, reason;

	if (virDomainGetState(dom, &state, &reason, 0) < 0)
		return libvirt_err(r->hv, "cannot read the state of VM '%s'", r->c->name);
	if (state != VIR_DOMAIN_SHUTOFF)
		return err_set("VM '%s' is %s; shut it down first", r->c->name,
		    hv_state_name(libvirt_state_map(state)));
	if ((other = virDomainLookupByName(r->conn, r->o->name)) != NULL) {
		virDomainFree(other);
		return err_set("host '%s' has a domain named '%s' already; choose another name",
		    r->hv->host.name, r->o->name);
	}
	if ((other = virDomainLookupByUUIDString(r->conn, r->o->uuid)) != NULL) {
		virDomainFree(other);
		return err_set("host '%s' has a domain with UUID %s already", r->hv->host.name,
		    r->o->uuid);
	}
	return 0;
}

int
libvirt_clone(struct hv *hv, const struct vm_config *c, const struct hv_clone_opts *o,
    struct hv_clone_result *out)
{
	struct lvc r = { .hv = hv, .c = c, .o = o };
	virDomainPtr dom;
	char *xml = NULL, what[300];
	size_t k = 0;
	int rc = -1;

	if ((r.conn = libvirt_conn(hv)) == NULL || (dom = libvirt_lookup(hv, c, NULL)) == NULL)
		return -1;
	if (check(&r, dom) != 0)
		goto out;
	if ((xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE |
	    VIR_DOMAIN_XML_SECURE)) == NULL) {
		libvirt_err(hv, "cannot read the definition of VM '%s'", c->name);
		goto out;
	}
	snprintf(what, sizeof what, "the definition of VM '%s'", c->name);
	if (libvirt_xml_disks(xml, what, &r.disks, &r.ndisks) != 0)
		goto out;
	r.p = xcalloc(r.ndisks + 1, sizeof *r.p);
	for (size_t i = 0; i < r.ndisks; i++) {
		r.p[i].d = &r.disks[i];
		if (plan_disk(&r, &r.p[i], i) != 0)
			goto out;
	}
	if (name_copies(&r) != 0)
		goto out;
	for (size_t i = 0; i < r.ndisks; i++)
		if (r.p[i].how == LVC_COPY && copy_disk(&r, &r.p[i], ++k) != 0)
			goto fail;
	if (cancelled(&r)) {
		err_set("cancelled");
		goto fail;
	}
	if (o->fn != NULL)
		o->fn("Defining the clone", -1, o->arg);
	if (define(&r, xml, out) != 0)
		goto fail;
	report(&r, out);
	log_debug("libvirt: host '%s': VM '%s' cloned to '%s' (%zu disks copied)", hv->host.name,
	    c->name, o->name, r.ncopy);
	rc = 0;
	goto out;
fail:
	{
		char *why = xstrdup(err_get());

		take_back(&r);
		err_set("%s", why);
		free(why);
	}
out:
	for (size_t i = 0; r.p != NULL && i < r.ndisks; i++) {
		struct lvc_disk *p = &r.p[i];

		if (p->src != NULL)
			virStorageVolFree(p->src);
		if (p->pool != NULL)
			virStoragePoolFree(p->pool);
		free(p->from);
		free(p->pool_name);
		free(p->name);
		free(p->format);
		free(p->to);
		free(p->to_name);
		free(p->to_pool);
	}
	free(r.p);
	libvirt_disks_free(r.disks, r.ndisks);
	free(xml);
	virDomainFree(dom);
	return rc;
}
