/*
 * Snapshots on a libvirt host (the snapshot slots of hv.h): the host keeps
 * the tree, each snapshot's XML says what it is.  A full snapshot is
 * libvirt's default (internal: RAM and disks inside the qcow2 files), a
 * disk-only one is external (DISK_ONLY + ATOMIC: each disk frozen, later
 * writes on a new overlay file libvirt makes).
 *
 * What libvirt cannot do is refused here before anything is asked of it,
 * in one sentence: reverting to an external snapshot (libvirt before 9.7),
 * deleting an external snapshot together with those below it, or one whose
 * parent is internal (libvirt 9.0 deletes other external snapshots itself,
 * merging their overlays).  METADATA_ONLY is never used: it would leave the
 * snapshot's files behind without a record of them.
 */
#include "hv/hv.h"
#include "hv/libvirt.h"
#include "hv/libvirt_priv.h"
#include "hv/libvirt_xml_priv.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "model/snapshot.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

/* The first libvirt that reverts to external snapshots. */
#define LVS_REVERT_EXTERNAL 9007000UL

/* A snapshot's <state> -> virDomainState, -1 for "disk-snapshot" and the
 * unknown. */
static int
snap_state(const char *s)
{
	static const struct {
		const char *name;
		int state;
	} states[] = {
		{ "nostate", VIR_DOMAIN_NOSTATE },
		{ "running", VIR_DOMAIN_RUNNING },
		{ "blocked", VIR_DOMAIN_BLOCKED },
		{ "paused", VIR_DOMAIN_PAUSED },
		{ "shutdown", VIR_DOMAIN_SHUTDOWN },
		{ "shutoff", VIR_DOMAIN_SHUTOFF },
		{ "crashed", VIR_DOMAIN_CRASHED },
		{ "pmsuspended", VIR_DOMAIN_PMSUSPENDED },
	};

	for (size_t i = 0; s != NULL && i < sizeof states / sizeof states[0]; i++)
		if (strcmp(s, states[i].name) == 0)
			return states[i].state;
	return -1;
}

int
libvirt_snapshot_read(const char *xml, struct vm_snapshot *s, bool *external)
{
	struct libvirt_xml *x = libvirt_xml_parse(xml, "a snapshot");
	char *mem, *state, *t, *end;
	int ext_disks, st;

	memset(s, 0, sizeof *s);
	s->size = -1;
	*external = false;
	if (x == NULL)
		return -1;
	if ((s->name = libvirt_xml_get(x, "/domainsnapshot/name")) == NULL) {
		libvirt_xml_free(x);
		return err_set("cannot read a snapshot: libvirt's XML names none");
	}
	s->parent = libvirt_xml_get(x, "/domainsnapshot/parent/name");
	s->description = libvirt_xml_get(x, "/domainsnapshot/description");
	if (s->description != NULL && s->description[0] == '\0') {
		free(s->description);
		s->description = NULL;
	}
	if ((t = libvirt_xml_get(x, "/domainsnapshot/creationTime")) != NULL) {
		long long v = strtoll(t, &end, 10);

		if (end != t && *end == '\0' && v > 0 && v < INT64_MAX / 1000)
			s->created = v * 1000;
		free(t);
	}
	mem = libvirt_xml_get(x, "/domainsnapshot/memory/@snapshot");
	state = libvirt_xml_get(x, "/domainsnapshot/state");
	ext_disks = libvirt_xml_count(x, "/domainsnapshot/disks/disk[@snapshot='external']");
	*external = ext_disks > 0 || (mem != NULL && strcmp(mem, "external") == 0);
	/* Disk-only: no memory, the disks in overlays (state "disk-snapshot"). */
	s->kind = (mem == NULL || strcmp(mem, "no") == 0) &&
	    (ext_disks > 0 || (state != NULL && strcmp(state, "disk-snapshot") == 0)) ?
	    VM_SNAPSHOT_DISK : VM_SNAPSHOT_FULL;
	if ((st = snap_state(state)) > 0)
		s->vm_state = xstrdup(hv_state_name(libvirt_state_map(st)));
	/* A disk-only snapshot's state says only that; libvirt keeps the
	 * inactive definition beside the live one only of an active domain. */
	else if (state != NULL && strcmp(state, "disk-snapshot") == 0 &&
	    libvirt_xml_count(x, "/domainsnapshot/inactiveDomain") > 0)
		s->vm_state = xstrdup(hv_state_name(HV_RUNNING));
	free(mem);
	free(state);
	libvirt_xml_free(x);
	return 0;
}

/* Snapshot SP of VM VM into S; *EXTERNAL as libvirt_snapshot_read. */
static int
snap_read(struct hv *hv, virDomainSnapshotPtr sp, const char *vm, struct vm_snapshot *s,
    bool *external)
{
	char *xml = virDomainSnapshotGetXMLDesc(sp, 0);
	int rc;

	if (xml == NULL)
		return libvirt_err(hv, "cannot read snapshot '%s' of VM '%s'",
		    virDomainSnapshotGetName(sp), vm);
	rc = libvirt_snapshot_read(xml, s, external);
	free(xml);
	return rc;
}

static int
snap_cmp(const void *a, const void *b)
{
	const struct vm_snapshot *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The name of DOM's current snapshot (allocated), or NULL when it has
 * none or libvirt cannot say (logged: the list goes on without it). */
static char *
current_name(virDomainPtr dom)
{
	virDomainSnapshotPtr cur;
	char *name;

	if (virDomainHasCurrentSnapshot(dom, 0) != 1)
		return NULL;
	if ((cur = virDomainSnapshotCurrent(dom, 0)) == NULL) {
		log_debug("libvirt: no current snapshot: %s", libvirt_errmsg());
		return NULL;
	}
	name = xstrdup(virDomainSnapshotGetName(cur));
	virDomainSnapshotFree(cur);
	return name;
}

/* DOM's snapshots, oldest first. */
static int
list_dom(struct hv *hv, virDomainPtr dom, const char *vm, struct vm_snapshot **out, size_t *n)
{
	virDomainSnapshotPtr *snaps = NULL;
	struct vm_snapshot *all;
	char *cur;
	int ns, rc = 0;
	size_t k = 0;
	bool ext;

	*out = NULL;
	*n = 0;
	if ((ns = virDomainListAllSnapshots(dom, &snaps, 0)) < 0)
		return libvirt_err(hv, "reading them");
	cur = current_name(dom);
	all = xcalloc((size_t)ns + 1, sizeof *all);
	for (int i = 0; i < ns; i++) {
		if (rc == 0 && snap_read(hv, snaps[i], vm, &all[k], &ext) == 0) {
			all[k].current = cur != NULL && strcmp(all[k].name, cur) == 0;
			k++;
		} else {
			rc = -1;
		}
		virDomainSnapshotFree(snaps[i]);
	}
	free(snaps);
	free(cur);
	if (rc != 0) {
		vm_snapshot_free_all(all, k);
		return -1;
	}
	qsort(all, k, sizeof *all, snap_cmp);
	*out = all;
	*n = k;
	return 0;
}

int
libvirt_snapshot_list(struct hv *hv, const struct vm_config *c, struct vm_snapshot **out,
    size_t *n)
{
	virDomainPtr dom;
	int rc;

	*out = NULL;
	*n = 0;
	if ((dom = libvirt_lookup(hv, c, NULL)) == NULL)
		return -1;
	rc = list_dom(hv, dom, c->name, out, n);
	virDomainFree(dom);
	return rc;
}

/* XML 1.0 carries no control character but tab, LF and CR. */
static int
check_text(const struct vm_config *c, const char *name, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; p != NULL && *p != '\0'; p++)
		if ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7f)
			return err_set("VM '%s': the description of snapshot '%s' has a control "
			    "character, which libvirt cannot keep; leave it out", c->name, name);
	return 0;
}

int
libvirt_snapshot_create(struct hv *hv, struct vm_config *c, const struct vm_snapshot *all,
    size_t n, struct vm_snapshot *s)
{
	unsigned int flags = s->kind == VM_SNAPSHOT_DISK ?
	    VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY | VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC : 0;
	struct vm_snapshot got;
	virDomainSnapshotPtr sp;
	virDomainPtr dom;
	int state = -1, reason;
	char *xml;
	bool ext;

	(void)all;
	(void)n;
	if (check_text(c, s->name, s->description) != 0)
		return -1;
	if ((dom = libvirt_lookup(hv, c, NULL)) == NULL)
		return -1;
	if (virDomainGetState(dom, &state, &reason, 0) < 0)
		state = -1;
	xml = libvirt_snapshot_xml(s->name, s->description);
	sp = virDomainSnapshotCreateXML(dom, xml, flags);
	free(xml);
	if (sp == NULL) {
		libvirt_err(hv, "cannot take %s snapshot '%s' of VM '%s'",
		    s->kind == VM_SNAPSHOT_DISK ? "disk-only" : "full", s->name, c->name);
		virDomainFree(dom);
		return -1;
	}
	/* It is made: what the host says of it, or else what is known here. */
	free(s->vm_state);
	free(s->parent);
	s->vm_state = s->parent = NULL;
	if (snap_read(hv, sp, c->name, &got, &ext) == 0) {
		s->created = got.created;
		s->parent = got.parent;
		s->vm_state = got.vm_state;
		got.parent = got.vm_state = NULL;
		vm_snapshot_clear(&got);
	} else {
		log_debug("libvirt: snapshot '%s' of VM '%s' is made, but: %s", s->name, c->name,
		    err_get());
		err_clear();
	}
	if (s->vm_state == NULL && state >= 0)
		s->vm_state = xstrdup(hv_state_name(libvirt_state_map(state)));
	s->size = -1;
	virDomainSnapshotFree(sp);
	virDomainFree(dom);
	return 0;
}

/* Snapshot NAME of VM C (DOM) and what it is; NULL + err. */
static virDomainSnapshotPtr
snap_lookup(struct hv *hv, virDomainPtr dom, const struct vm_config *c, const char *name,
    struct vm_snapshot *s, bool *external)
{
	virDomainSnapshotPtr sp = virDomainSnapshotLookupByName(dom, name, 0);
	virErrorPtr e;

	if (sp == NULL) {
		e = virGetLastError();
		if (e != NULL && e->code == VIR_ERR_NO_DOMAIN_SNAPSHOT)
			err_set("VM '%s' has no snapshot named '%s' on host '%s'; 'vmtty snapshot "
			    "%s list' shows them", c->name, name, hv->host.name, c->name);
		else
			libvirt_err(hv, "cannot find snapshot '%s' of VM '%s'", name, c->name);
		return NULL;
	}
	if (snap_read(hv, sp, c->name, s, external) != 0) {
		virDomainSnapshotFree(sp);
		return NULL;
	}
	return sp;
}

/* The host's libvirt version as "9.0.0" into BUF, and as a number. */
static unsigned long
lib_version(struct hv *hv, char *buf, size_t len)
{
	virConnectPtr conn = libvirt_conn(hv);
	unsigned long v = 0;

	if (conn == NULL || virConnectGetLibVersion(conn, &v) < 0)
		v = 0;
	if (v == 0)
		snprintf(buf, len, "of unknown version");
	else
		snprintf(buf, len, "%lu.%lu.%lu", v / 1000000, v / 1000 % 1000, v % 1000);
	return v;
}

/* What makes external snapshot S external, for a refusal. */
static const char *
external_what(const struct vm_snapshot *s)
{
	return s->kind == VM_SNAPSHOT_DISK ? "disk-only: its disks' later writes went to "
	    "overlay files" : "its memory or disks are in files of their own";
}

int
libvirt_snapshot_revert(struct hv *hv, struct vm_config *c, const struct vm_snapshot *all,
    size_t n, const char *name)
{
	struct vm_snapshot s = { 0 };
	virDomainSnapshotPtr sp;
	virDomainPtr dom;
	char ver[32];
	int rc = -1;
	bool ext;

	(void)all;
	(void)n;
	if ((dom = libvirt_lookup(hv, c, NULL)) == NULL)
		return -1;
	if ((sp = snap_lookup(hv, dom, c, name, &s, &ext)) == NULL)
		goto out;
	if (ext && lib_version(hv, ver, sizeof ver) < LVS_REVERT_EXTERNAL) {
		err_set("VM '%s': snapshot '%s' is external (%s), and libvirt %s on host '%s' "
		    "cannot revert to an external snapshot (libvirt 9.7 and later can); nothing "
		    "was changed", c->name, name, external_what(&s), ver, hv->host.name);
		goto out;
	}
	if (virDomainRevertToSnapshot(sp, 0) < 0) {
		libvirt_err(hv, "cannot revert VM '%s' to snapshot '%s'", c->name, name);
		goto out;
	}
	rc = 0;
out:
	vm_snapshot_clear(&s);
	if (sp != NULL)
		virDomainSnapshotFree(sp);
	virDomainFree(dom);
	return rc;
}

/* May SP (S, EXT) be deleted (with those below it when CHILDREN)?  What
 * libvirt cannot do is refused, naming it. */
static int
delete_check(struct hv *hv, virDomainPtr dom, const struct vm_config *c,
    virDomainSnapshotPtr sp, const struct vm_snapshot *s, bool ext, bool children)
{
	virDomainSnapshotPtr *kids = NULL, psp;
	struct vm_snapshot ps;
	char ver[32];
	int nk = 0;
	bool pext;

	if (children) {
		nk = virDomainSnapshotListAllChildren(sp, &kids,
		    VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS | VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL);
		if (nk < 0)
			return libvirt_err(hv, "cannot list the snapshots below '%s' of VM '%s'",
			    s->name, c->name);
		if (ext || nk > 0) {
			lib_version(hv, ver, sizeof ver);
			err_set("VM '%s': snapshot '%s'%s is external, and libvirt %s on host '%s' "
			    "cannot delete external snapshots together with those below them; "
			    "delete them one at a time, the lowest first; nothing was changed",
			    c->name, ext ? s->name : virDomainSnapshotGetName(kids[0]),
			    ext ? "" : (nk > 1 ? " (among others below it)" : " (below it)"), ver,
			    hv->host.name);
		}
		for (int i = 0; i < nk; i++)
			virDomainSnapshotFree(kids[i]);
		free(kids);
		return ext || nk > 0 ? -1 : 0;
	}
	if (!ext || s->parent == NULL)
		return 0;
	if ((psp = snap_lookup(hv, dom, c, s->parent, &ps, &pext)) == NULL)
		return err_prefix("VM '%s': cannot check the parent of snapshot '%s'", c->name,
		    s->name);
	virDomainSnapshotFree(psp);
	vm_snapshot_clear(&ps);
	if (pext)
		return 0;
	lib_version(hv, ver, sizeof ver);
	return err_set("VM '%s': snapshot '%s' is external (%s) and its parent '%s' is "
	    "internal, and libvirt %s on host '%s' cannot delete an external snapshot whose "
	    "parent is internal; nothing was changed", c->name, s->name, external_what(s),
	    s->parent, ver, hv->host.name);
}

int
libvirt_snapshot_delete(struct hv *hv, struct vm_config *c, struct vm_snapshot **all,
    size_t *n, const char *name, bool children)
{
	struct vm_snapshot s = { 0 }, *now;
	virDomainSnapshotPtr sp;
	virDomainPtr dom;
	size_t nnow;
	int rc = -1;
	bool ext;

	if ((dom = libvirt_lookup(hv, c, NULL)) == NULL)
		return -1;
	if ((sp = snap_lookup(hv, dom, c, name, &s, &ext)) == NULL ||
	    delete_check(hv, dom, c, sp, &s, ext, children) != 0)
		goto out;
	if (virDomainSnapshotDelete(sp, children ? VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN : 0) < 0) {
		libvirt_err(hv, "cannot delete snapshot '%s' of VM '%s'", name, c->name);
		goto out;
	}
	rc = 0;
	/* The tree as the host has it now, for the caller. */
	if (list_dom(hv, dom, c->name, &now, &nnow) == 0) {
		vm_snapshot_free_all(*all, *n);
		*all = now;
		*n = nnow;
	} else {
		log_debug("libvirt: after deleting snapshot '%s': %s", name, err_get());
		err_clear();
	}
out:
	vm_snapshot_clear(&s);
	if (sp != NULL)
		virDomainSnapshotFree(sp);
	virDomainFree(dom);
	return rc;
}
