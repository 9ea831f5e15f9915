/* snapshot: one path from the front ends to a backend's snapshot slots and
 * back into the inventory and the journal (ops/snapshot.h). */
#include "ops/snapshot.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv/hv.h"
#include "model/journal.h"
#include "model/name.h"
#include "model/snapshot.h"
#include "model/vm.h"
#include "ops/keep.h"
#include "ops/provision.h"
#include "util/err.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

static bool
builtin(const struct hv *hv)
{
	return hv->host.kind == HOST_BUILTIN;
}

int
snapshot_list(struct db *db, struct hv *hv, const struct vm_config *c,
    struct vm_snapshot **out, size_t *n)
{
	if (builtin(hv))
		return snapshot_db_list(db, c->id, out, n);
	return hv_snapshot_list(hv, c, out, n) != 0 ?
	    err_prefix("cannot list the snapshots of VM '%s'", c->name) : 0;
}

/* Append ALL[I] and, below it, its children (in their order) to ORDER. */
static void
tree_walk(const struct vm_snapshot *all, size_t n, size_t i, int depth, size_t *order,
    int *depths, size_t *k, bool *seen)
{
	seen[i] = true;
	order[*k] = i;
	depths[(*k)++] = depth;
	for (size_t j = 0; j < n; j++)
		if (!seen[j] && all[j].parent != NULL && strcmp(all[j].parent, all[i].name) == 0)
			tree_walk(all, n, j, depth + 1, order, depths, k, seen);
}

void
snapshot_tree(struct vm_snapshot *all, size_t n, int *depth)
{
	size_t *order = xcalloc(n + 1, sizeof *order), k = 0;
	int *depths = xcalloc(n + 1, sizeof *depths);
	bool *seen = xcalloc(n + 1, sizeof *seen);
	struct vm_snapshot *copy = xcalloc(n + 1, sizeof *copy);

	for (size_t i = 0; i < n; i++)
		if (all[i].parent == NULL || vm_snapshot_find(all, n, all[i].parent) < 0)
			tree_walk(all, n, i, 0, order, depths, &k, seen);
	/* A cycle (a damaged record) has no root: its snapshots as roots. */
	for (size_t i = 0; i < n; i++)
		if (!seen[i])
			tree_walk(all, n, i, 0, order, depths, &k, seen);
	for (size_t i = 0; i < n; i++) {
		copy[i] = all[order[i]];
		if (depth != NULL)
			depth[i] = depths[i];
	}
	for (size_t i = 0; i < n; i++)
		all[i] = copy[i];
	free(copy);
	free(seen);
	free(depths);
	free(order);
}

/* The records and the backend's knowledge of other VMs' files, before an
 * operation on C: *ALL (allocated) and HV's keep list (KS). */
static int
prepare(struct db *db, struct hv *hv, const struct vm_config *c, struct vm_snapshot **all,
    size_t *n, struct keep *ks)
{
	memset(ks, 0, sizeof *ks);
	if (snapshot_list(db, hv, c, all, n) != 0)
		return -1;
	if (builtin(hv) && keep_build(db, c->id, ks) != 0) {
		vm_snapshot_free_all(*all, *n);
		*all = NULL;
		*n = 0;
		keep_free(ks);
		return -1;
	}
	hv_keep_set(hv, ks->k, ks->n);
	return 0;
}

static void
finish(struct hv *hv, struct vm_snapshot *all, size_t n, struct keep *ks)
{
	hv_keep_set(hv, NULL, 0);
	keep_free(ks);
	vm_snapshot_free_all(all, n);
}

/* Journal ACTION on C: RC 0 with OKFMT's words, else the error. */
static int __attribute__((format(printf, 5, 6)))
journal(struct db *db, const struct vm_config *c, const char *action, int rc,
    const char *okfmt, ...)
{
	char msg[1024];
	va_list ap;

	if (rc == 0) {
		va_start(ap, okfmt);
		vsnprintf(msg, sizeof msg, okfmt, ap);
		va_end(ap);
	} else {
		snprintf(msg, sizeof msg, "%s", err_get());
	}
	journal_add(db, c->host, c->name, action, rc == 0, msg);
	if (rc != 0)
		err_set("%s", msg);
	return rc;
}

/* The qemu of C now (built-in backend), 0 when none runs. */
static int
qemu_pid(struct hv *hv, const struct vm_config *c)
{
	struct hv_status st;

	return hv_status(hv, c, &st) == 0 ? st.pid : 0;
}

/* The VM's state as its host sees it now, into the inventory; a qemu that
 * is not the one from before (PID: a revert stopped the VM and started
 * it again) is journaled as a start.  The current error stays. */
static void
record_state(struct db *db, struct hv *hv, const struct vm_config *c, int pid,
    const char *name)
{
	char *why = xstrdup(err_get());
	struct hv_status st;

	if (hv_status(hv, c, &st) == 0) {
		vm_set_state(db, c->id, hv_state_name(st.state));
		if (st.pid > 0 && st.pid != pid) {
			char msg[256];

			snprintf(msg, sizeof msg, "started by the revert to snapshot '%s' (qemu pid "
			    "%d)", name, st.pid);
			journal_add(db, c->host, c->name, "start", true, msg);
		}
	}
	err_set("%s", why);
	free(why);
}

/* The inventory after the backend changed C's snapshots (ALL) or disks;
 * a failure keeps the operation's error and adds this one. */
static int
record(struct db *db, const struct vm_config *c, const struct vm_snapshot *all, size_t n,
    int rc)
{
	char *why = rc != 0 ? xstrdup(err_get()) : NULL;

	if (snapshot_db_record(db, c, all, n) != 0) {
		if (why != NULL)
			err_set("%s; and the inventory could not record it: %s", why, err_get());
		else
			err_prefix("VM '%s': the host did it, but the inventory could not record "
			    "it", c->name);
		rc = -1;
	} else if (why != NULL) {
		err_set("%s", why);
	}
	free(why);
	return rc;
}

static int
check_name(const struct vm_config *c, const char *name)
{
	if (name_check("snapshot", name) != 0)
		return err_prefix("VM '%s'", c->name);
	/* QEMU (qemu-img snapshot -a, snapshot-load) and libvirt look a
	 * snapshot up by its numeric ID first: "1" would find another one. */
	if (name[strspn(name, "0123456789")] == '\0')
		return err_set("VM '%s': snapshot name '%s' is all digits, which QEMU takes for a "
		    "snapshot ID (it would revert to another snapshot); add a letter", c->name,
		    name);
	return 0;
}

/* The record of a snapshot being taken (model/snapshot.h). */
struct intent {
	struct db *db;
	int64_t id;		/* -1: none */
};

/* hv->note: the overlays about to be made go into the record first. */
static int
intent_overlays(const char *files, void *arg)
{
	struct intent *t = arg;

	if (t->id < 0)
		return 0;
	return snapshot_intent_overlays(t->db, t->id, files) != 0 ?
	    err_prefix("Recording the snapshot failed; nothing was made") : 0;
}

/* Record that S of C (with ALL) is about to be taken: its name, kind, the
 * parent it gets and C's disk paths now. */
static int
intent_begin(struct intent *t, const struct vm_config *c, const struct vm_snapshot *all,
    size_t n, const struct vm_snapshot *s)
{
	struct vm_snapshot rec = *s;
	size_t len = 1, off = 0;
	int rc;

	for (size_t i = 0; i < c->ndisks; i++)
		len += strlen(c->disks[i].path) + 1;
	rec.files = xmalloc(len);
	rec.files[0] = '\0';
	for (size_t i = 0; i < c->ndisks; i++)
		off += (size_t)snprintf(rec.files + off, len - off, "%s%s", i > 0 ? "\n" : "",
		    c->disks[i].path);
	rec.parent = NULL;
	for (size_t i = 0; i < n; i++)
		if (all[i].current)
			rec.parent = all[i].name;
	rc = snapshot_intent_begin(t->db, c->id, &rec, getpid(), provision_proc_start(getpid()),
	    &t->id);
	free(rec.files);
	if (rc != 0) {
		t->id = -1;
		return err_prefix("VM '%s': recording snapshot '%s' before taking it failed; "
		    "nothing was done", c->name, s->name);
	}
	return 0;
}

int
snapshot_create(struct db *db, struct hv *hv, struct vm_config *c, const char *name,
    enum vm_snapshot_kind kind, const char *description)
{
	struct vm_snapshot *all = NULL, s = { 0 };
	struct intent t = { db, -1 };
	struct keep ks;
	size_t n = 0;
	int rc = -1;
	bool made = false;

	if (check_name(c, name) != 0)
		return journal(db, c, "snapshot-create", -1, "%s", "");
	if (description != NULL && strlen(description) > SNAPSHOT_DESCRIPTION_MAX) {
		err_set("VM '%s': the description of snapshot '%s' is %zu bytes long; the limit is "
		    "%d", c->name, name, strlen(description), SNAPSHOT_DESCRIPTION_MAX);
		return journal(db, c, "snapshot-create", -1, "%s", "");
	}
	if (prepare(db, hv, c, &all, &n, &ks) != 0)
		return journal(db, c, "snapshot-create", -1, "%s", "");
	if (vm_snapshot_find(all, n, name) >= 0) {
		err_set("VM '%s' already has a snapshot named '%s'; choose another name", c->name,
		    name);
		goto out;
	}
	/* A disk another VM uses or stands on would change under it (a full
	 * snapshot writes into the file; a disk-only one freezes it as a base
	 * that VM goes on writing to). */
	for (size_t i = 0; builtin(hv) && i < c->ndisks; i++) {
		const struct hv_keep *u;
		const char *role;

		if (c->disks[i].cdrom || c->disks[i].readonly ||
		    (u = keep_find(&ks, c->disks[i].path, &role)) == NULL)
			continue;
		err_set("VM '%s': disk '%s' is also needed by VM '%s' (%s); a snapshot would "
		    "change it under that VM: nothing was done", c->name, c->disks[i].path, u->vm,
		    role);
		goto out;
	}
	s.name = xstrdup(name);
	s.description = description != NULL && description[0] != '\0' ? xstrdup(description) :
	    NULL;
	s.kind = kind;
	s.size = -1;
	/* Built-in: the inventory is the only record, so what is about to
	 * be made is in it first; a vmtty killed meanwhile leaves it for the
	 * next one to settle (snapshot_recover). */
	if (builtin(hv)) {
		if (intent_begin(&t, c, all, n, &s) != 0)
			goto out;
		hv_note_set(hv, intent_overlays, &t);
	}
	rc = hv_snapshot_create(hv, c, all, n, &s);
	hv_note_set(hv, NULL, NULL);
	if (rc != 0)
		goto out;
	made = true;
	if (builtin(hv)) {
		all = xreallocarray(all, n + 1, sizeof *all);
		for (size_t i = 0; i < n; i++)
			all[i].current = false;
		vm_snapshot_copy(&all[n++], &s);
		all[n - 1].current = true;
		rc = record(db, c, all, n, 0);
	}
out:
	/* Recorded, or nothing left on the host (the backend took back what
	 * it made): the intent is done.  Not when the inventory could not
	 * record what the host did: the next vmtty does. */
	if (t.id >= 0 && (rc == 0 || !made))
		snapshot_intent_end(db, t.id);
	rc = journal(db, c, "snapshot-create", rc, "snapshot '%s' taken (%s, VM %s)", name,
	    vm_snapshot_kind_name(kind), s.vm_state != NULL ? s.vm_state : "state unknown");
	vm_snapshot_clear(&s);
	finish(hv, all, n, &ks);
	return rc;
}

/* C's disk paths changed from OLD (a copy of C from before). */
static bool
paths_moved(const struct vm_config *old, const struct vm_config *c)
{
	for (size_t i = 0; i < c->ndisks && i < old->ndisks; i++)
		if (strcmp(old->disks[i].path, c->disks[i].path) != 0)
			return true;
	return false;
}

static int
missing(const struct vm_config *c, const char *name)
{
	return err_set("VM '%s' has no snapshot named '%s'; 'vmtty snapshot %s list' shows "
	    "them", c->name, name, c->name);
}

int
snapshot_revert(struct db *db, struct hv *hv, struct vm_config *c, const char *name)
{
	struct vm_snapshot *all = NULL;
	struct vm_config old;
	struct keep ks;
	size_t n = 0;
	int rc = -1, pid;

	if (prepare(db, hv, c, &all, &n, &ks) != 0)
		return journal(db, c, "snapshot-revert", -1, "%s", "");
	if (vm_snapshot_find(all, n, name) < 0) {
		missing(c, name);
		goto out;
	}
	vm_config_copy(&old, c);
	pid = qemu_pid(hv, c);
	rc = hv_snapshot_revert(hv, c, all, n, name);
	/* A revert cut short after the disks moved has changed them. */
	if (builtin(hv) && (rc == 0 || paths_moved(&old, c))) {
		for (size_t i = 0; i < n; i++)
			all[i].current = strcmp(all[i].name, name) == 0;
		rc = record(db, c, all, n, rc);
	}
	vm_config_clear(&old);
	record_state(db, hv, c, pid, name);
out:
	rc = journal(db, c, "snapshot-revert", rc, "reverted to snapshot '%s'", name);
	finish(hv, all, n, &ks);
	return rc;
}

/* A file of snapshot S of C (of its writable disks) that another VM in KS
 * needs (a linked clone's base): -1 + err, WHAT first, naming that VM. */
static int
kept_by_other(const struct keep *ks, const struct vm_config *c, const struct vm_snapshot *s,
    const char *what)
{
	for (size_t i = 0; i < c->ndisks; i++) {
		char *f = c->disks[i].cdrom || c->disks[i].readonly ? NULL : vm_snapshot_file(s, i);
		const char *role = "";
		const struct hv_keep *u = f != NULL ? keep_find(ks, f, &role) : NULL;

		if (u != NULL) {
			/* A snapshot made as linked clones' base says so (ops/clone);
			 * the VM of any other overlay is a VM. */
			bool clone = strncmp(role, "the backing file", 16) == 0 &&
			    s->description != NULL &&
			    strncmp(s->description, "the base of linked clone ", 25) == 0;

			err_set("%s: %s '%s' needs '%s', a file of snapshot '%s' (%s); delete VM '%s' "
			    "first", what, clone ? "linked clone" : "VM", u->vm, f, s->name, role,
			    u->vm);
		}
		free(f);
		if (u != NULL)
			return -1;
	}
	return 0;
}

int
snapshot_delete(struct db *db, struct hv *hv, struct vm_config *c, const char *name,
    bool children)
{
	struct vm_snapshot *all = NULL, *before;
	struct keep ks;
	size_t n = 0;
	int rc = -1;

	if (prepare(db, hv, c, &all, &n, &ks) != 0)
		return journal(db, c, "snapshot-delete", -1, "%s", "");
	if (vm_snapshot_find(all, n, name) < 0) {
		missing(c, name);
		goto out;
	}
	if (builtin(hv)) {
		char *what = xasprintf("snapshot '%s' of VM '%s' cannot be deleted", name, c->name);

		rc = kept_by_other(&ks, c, &all[vm_snapshot_find(all, n, name)], what);
		free(what);
		if (rc != 0)
			goto out;
	}
	before = all;
	rc = hv_snapshot_delete(hv, c, &all, &n, name, children);
	/* The backend rewrote the records when it changed files, even if it
	 * failed afterwards. */
	if (builtin(hv) && (rc == 0 || all != before))
		rc = record(db, c, all, n, rc);
out:
	rc = journal(db, c, "snapshot-delete", rc, "snapshot '%s'%s deleted", name,
	    children ? " and those below it" : "");
	finish(hv, all, n, &ks);
	return rc;
}

/* What a running VM's revert to S leaves it doing. */
static const char *
ends(const struct vm_snapshot *s, bool running)
{
	bool ram = s->vm_state != NULL && (strcmp(s->vm_state, "running") == 0 ||
	    strcmp(s->vm_state, "paused") == 0);

	if (s->kind == VM_SNAPSHOT_DISK)
		return running ? "the VM is powered off and started again on them" :
		    "the VM stays off";
	if (ram)
		return s->vm_state[0] == 'p' ? "the guest goes on from there, paused" :
		    "the guest goes on running from there";
	return running ? "the VM is powered off, as it was when the snapshot was taken" :
	    "the VM stays off";
}

void
snapshot_revert_discards(const struct vm_config *c, const struct vm_snapshot *all,
    size_t n, const char *name, bool running, char *buf, size_t len)
{
	ssize_t i = vm_snapshot_find(all, n, name);
	const struct vm_snapshot *s;

	if (len > 0)
		buf[0] = '\0';
	if (i < 0)
		return;
	s = &all[i];
	snprintf(buf, len, "Reverting VM '%s' to '%s' discards every change to its disks since "
	    "then%s; the disks become as they were at '%s' (%s), and %s.", c->name, s->name,
	    running ? " and what the running guest has in memory" : "", s->name,
	    s->kind == VM_SNAPSHOT_DISK ? "disks only, no memory" : "with its memory",
	    ends(s, running));
}

int
snapshot_vm_delete_check(struct db *db, struct hv *hv, const struct vm_config *c,
    bool with_snapshots, size_t *count)
{
	struct vm_snapshot *all;
	char names[512] = "";
	size_t n, off = 0;

	*count = 0;
	/* A backend without snapshots has none to lose. */
	if (!builtin(hv) && hv->ops->snapshot_list == NULL)
		return 0;
	if (snapshot_list(db, hv, c, &all, &n) != 0)
		return -1;
	/* Not while another VM stands on a file of its snapshots. */
	if (builtin(hv) && n > 0) {
		char *what = xasprintf("VM '%s' cannot be deleted", c->name);
		struct keep ks;
		int rc = keep_build(db, c->id, &ks);

		for (size_t i = 0; rc == 0 && i < n; i++)
			rc = kept_by_other(&ks, c, &all[i], what);
		keep_free(&ks);
		free(what);
		if (rc != 0) {
			vm_snapshot_free_all(all, n);
			return -1;
		}
	}
	*count = n;
	snapshot_tree(all, n, NULL);
	for (size_t i = 0; i < n && off < sizeof names; i++)
		off += (size_t)snprintf(names + off, sizeof names - off, "%s'%s'", i > 0 ? ", " : "",
		    all[i].name);
	vm_snapshot_free_all(all, n);
	if (n == 0 || with_snapshots)
		return 0;
	return err_set("VM '%s' has %zu snapshot%s (%s); delete %s with it: vmtty delete %s "
	    "--snapshots", c->name, n, n == 1 ? "" : "s", names, n == 1 ? "it" : "them", c->name);
}

int
snapshot_delete_all(struct db *db, struct hv *hv, struct vm_config *c)
{
	struct vm_snapshot *all;
	size_t n;

	for (;;) {
		char *root;

		if (snapshot_list(db, hv, c, &all, &n) != 0)
			return -1;
		if (n == 0) {
			vm_snapshot_free_all(all, n);
			return 0;
		}
		snapshot_tree(all, n, NULL);
		root = xstrdup(all[0].name);
		vm_snapshot_free_all(all, n);
		if (snapshot_delete(db, hv, c, root, true) != 0) {
			free(root);
			return -1;
		}
		free(root);
	}
}

/* Settle intent T (its taker gone) on HV; *LINE (LEN) what to say. */
static int
recover_one(struct db *db, struct hv *hv, struct vm_config *c, struct vm_snapshot_intent *t,
    char *line, size_t len)
{
	struct vm_snapshot *all = NULL;
	struct keep ks;
	char note[256];
	size_t n = 0;
	int rc;

	if (prepare(db, hv, c, &all, &n, &ks) != 0)
		return -1;
	rc = hv_snapshot_recover(hv, c, &t->s, t->overlays, t->pid, note, sizeof note);
	if (rc > 0) {
		all = xreallocarray(all, n + 1, sizeof *all);
		for (size_t i = 0; i < n; i++)
			all[i].current = false;
		vm_snapshot_copy(&all[n++], &t->s);
		all[n - 1].current = true;
		if (record(db, c, all, n, 0) != 0)
			rc = -1;
		else
			snprintf(line, len, "snapshot %s of VM '%s' interrupted; %s: recorded",
			    t->s.name, c->name, note);
	} else if (rc == 0) {
		snprintf(line, len, "snapshot %s of VM '%s' interrupted; %s: cleaned up",
		    t->s.name, c->name, note);
	}
	finish(hv, all, n, &ks);
	return rc;
}

int
snapshot_recover(struct db *db, provision_open_fn open_hv, void *arg,
    void (*said)(const char *line, void *arg), void *said_arg)
{
	struct vm_snapshot_intent *v;
	size_t n;

	if (snapshot_intent_list(db, &v, &n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct vm_snapshot_intent *t = &v[i];
		struct vm_snapshot *all;
		struct vm_config c;
		struct hv *hv;
		char line[1024] = "";
		size_t na;
		int rc;

		if (provision_alive(t->pid, t->pid_start))
			continue;
		if (vm_load(db, t->vm_id, &c) != 0) {
			log_debug("snapshot: the interrupted snapshot '%s' waits: %s", t->s.name,
			    err_get());
			continue;
		}
		/* Its taker died after recording it: nothing left to do. */
		if (snapshot_db_list(db, c.id, &all, &na) == 0 &&
		    vm_snapshot_find(all, na, t->s.name) >= 0) {
			snapshot_intent_end(db, t->id);
			vm_snapshot_free_all(all, na);
			vm_config_clear(&c);
			continue;
		}
		vm_snapshot_free_all(all, na);
		if (open_hv == NULL || (hv = open_hv(c.host, arg)) == NULL) {
			log_debug("snapshot: the interrupted snapshot '%s' of '%s' waits for the "
			    "host: %s", t->s.name, c.name, err_get());
			vm_config_clear(&c);
			continue;
		}
		rc = builtin(hv) ? recover_one(db, hv, &c, t, line, sizeof line) : 0;
		hv_close(hv);
		if (rc < 0) {
			log_debug("snapshot: the interrupted snapshot '%s' of '%s' waits: %s",
			    t->s.name, c.name, err_get());
			vm_config_clear(&c);
			continue;
		}
		if (snapshot_intent_end(db, t->id) == 1 && line[0] != '\0') {
			journal_add(db, c.host, c.name, "snapshot-create", rc > 0, line);
			if (said != NULL)
				said(line, said_arg);
		}
		vm_config_clear(&c);
	}
	snapshot_intent_free(v, n);
	err_clear();
	return 0;
}
