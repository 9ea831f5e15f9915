/*
 * Snapshots of the built-in backend's VMs, kept in their qcow2 disks.
 *
 * A full snapshot is a qcow2 internal snapshot in each disk's top file
 * (with the RAM when the VM runs): QMP snapshot-save / snapshot-load /
 * snapshot-delete jobs while qemu runs, qemu-img snapshot -c/-a/-d when it
 * does not.  A disk-only snapshot freezes each disk's top file and moves
 * the disk onto a new overlay (blockdev-snapshot-sync while running,
 * qemu-img create -b when not); the record keeps the frozen files, and a
 * revert puts a new overlay on them.
 *
 * The inventory's records (ALL) are the only map of the files.  Every
 * file a record or a disk names is "needed"; one that nothing names any
 * more (a deleted snapshot's, the discarded top of a revert) is released:
 * the files that back onto it get its data first (qemu-img rebase, or
 * block-stream inside a running qemu), then it is removed.  Each operation
 * is planned on a copy first (dry run): what cannot be done safely is
 * refused before a file is touched.
 */
#include "hv/hv.h"
#include "hv/qemu.h"
#include "hv/qmp.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

#define SNAP_QMP_MS 5000
#define SNAP_SAVE_MS (60 * 60 * 1000)	/* saving or loading a large RAM */
#define SNAP_MERGE_MS (12 * 60 * 60 * 1000)	/* streaming a large disk */
#define SNAP_NAME_TRIES 100

/* A VM under a snapshot operation: its lock held, its state known. */
struct snap {
	struct hv *hv;
	struct vm_config *c;
	struct qemu_run r;
	int lock;
	int pid;		/* its qemu, 0 when none runs */
	enum hv_state state;
	struct qmp *q;		/* while qemu runs */
};

/* A file of the VM's snapshots or disks. */
struct node {
	char *path;		/* as recorded */
	char *real;		/* canonical: what files are told apart by */
	char *backing;		/* its backing file, canonical; NULL none */
	char fmt[16];		/* its format */
	char bfmt[16];		/* the backing file's format */
	int64_t vsize, asize;	/* virtual and allocated bytes */
	struct strv tags;	/* its internal snapshots */
	bool released;		/* nothing names it any more */
	bool gone;		/* removed (in the plan, or for real) */
};

/* Every file of the VM's records and disks, and who names which. */
struct world {
	struct node *v;
	size_t n;
	size_t ndisks;
	ssize_t *cur;		/* [disk]: the node of each disk's current file */
	ssize_t *rec;		/* [record * ndisks + disk]: the node it keeps */
	size_t nrec;
};

/* A disk snapshots cover: writable, not a CD-ROM. */
static bool
snap_disk(const struct vm_disk *d)
{
	return !d->cdrom && !d->readonly;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *
canon(const char *path)
{
	char buf[PATH_MAX];

	return realpath(path, buf) != NULL ? xstrdup(buf) : xstrdup(path);
}

static size_t
files_count(const char *files)
{
	size_t n = 1;

	if (files == NULL)
		return 0;
	for (const char *p = files; (p = strchr(p, '\n')) != NULL; p++)
		n++;
	return n;
}

/* C's disk paths, one line each. */
static char *
files_of(const struct vm_config *c)
{
	size_t len = 1, off = 0;
	char *s;

	for (size_t i = 0; i < c->ndisks; i++)
		len += strlen(c->disks[i].path) + 1;
	s = xmalloc(len);
	s[0] = '\0';
	for (size_t i = 0; i < c->ndisks; i++)
		off += (size_t)snprintf(s + off, len - off, "%s%s", i > 0 ? "\n" : "",
		    c->disks[i].path);
	return s;
}

/* C can have snapshots: every disk they cover is qcow2, and there is one. */
static int
check_disks(const struct vm_config *c)
{
	size_t k = 0;

	for (size_t i = 0; i < c->ndisks; i++) {
		const struct vm_disk *d = &c->disks[i];

		if (!snap_disk(d))
			continue;
		k++;
		if (strcmp(d->format, "qcow2") != 0)
			return err_set("VM '%s': disk '%s' is %s, and snapshots need qcow2 disks; "
			    "convert it (qemu-img convert -O qcow2) or make it read-only", c->name,
			    d->path, d->format);
	}
	if (k == 0)
		return err_set("VM '%s' has no writable disk to keep a snapshot in; add a qcow2 "
		    "disk first", c->name);
	return 0;
}

/* S was taken of C as it has its disks now (one file per disk). */
static int
check_record(const struct vm_config *c, const struct vm_snapshot *s)
{
	if (files_count(s->files) != c->ndisks)
		return err_set("VM '%s' had %zu disk(s) when snapshot '%s' was taken and has %zu "
		    "now; give it back its disks of then to use that snapshot", c->name,
		    files_count(s->files), s->name, c->ndisks);
	return 0;
}

static void
snap_end(struct snap *x)
{
	if (x->q != NULL)
		qmp_close(x->q);
	x->q = NULL;
	if (x->lock >= 0)
		close(x->lock);
	x->lock = -1;
}

/* Take C's lock and learn its state; QMP connected when qemu runs. */
static int
snap_begin(struct snap *x, struct hv *hv, struct vm_config *c)
{
	struct hv_status st;

	memset(x, 0, sizeof *x);
	x->hv = hv;
	x->c = c;
	x->lock = -1;
	if (qemu_runtime(hv, c, &x->r) != 0 || (x->lock = qemu_lock_vm(c, &x->r)) < 0)
		return -1;
	if (hv_status(hv, c, &st) != 0) {
		snap_end(x);
		return -1;
	}
	x->pid = st.pid;
	x->state = st.state;
	if (x->pid > 0 && (x->q = qmp_connect(x->r.qmp, SNAP_QMP_MS)) == NULL) {
		err_prefix("VM '%s'", c->name);
		snap_end(x);
		return -1;
	}
	return 0;
}

/* Power the VM off (the current state is being discarded). */
static int
snap_stop(struct snap *x)
{
	if (x->pid == 0)
		return 0;
	if (x->q != NULL)
		qmp_close(x->q);
	x->q = NULL;
	if (qemu_action_locked(x->hv, x->c, &x->r, HV_POWEROFF) != 0)
		return -1;
	x->pid = 0;
	x->state = HV_OFF;
	return 0;
}

/* Start the VM again and connect QMP. */
static int
snap_start(struct snap *x)
{
	struct hv_status st;
	char note[256];

	if (qemu_start_locked(x->hv, x->c, &x->r, note, sizeof note) != 0)
		return -1;
	if (note[0] != '\0')
		log_debug("qemu_snap: start of '%s': %s", x->c->name, note);
	if (hv_status(x->hv, x->c, &st) != 0)
		return -1;
	x->pid = st.pid;
	x->state = st.state;
	if ((x->q = qmp_connect(x->r.qmp, SNAP_QMP_MS)) == NULL)
		return err_prefix("VM '%s'", x->c->name);
	return 0;
}

/* The node name of the format layer a running qemu has FILE open with
 * (allocated); NULL + err when it has not. */
static char *
node_of(struct snap *x, const char *file)
{
	json_object *ret = NULL, *args = json_object_new_object(), *v;
	char *want = canon(file), *name = NULL;

	json_object_object_add(args, "flat", json_object_new_boolean(1));
	if (qmp_call(x->q, "query-named-block-nodes", args, SNAP_QMP_MS, &ret) != 0) {
		free(want);
		return NULL;
	}
	for (size_t i = 0; name == NULL && i < json_object_array_length(ret); i++) {
		json_object *n = json_object_array_get_idx(ret, i);
		const char *drv = json_object_object_get_ex(n, "drv", &v) ?
		    json_object_get_string(v) : "file";
		char *f;

		if (strcmp(drv, "file") == 0 || !json_object_object_get_ex(n, "file", &v))
			continue;
		f = canon(json_object_get_string(v));
		if (strcmp(f, want) == 0 && json_object_object_get_ex(n, "node-name", &v))
			name = xstrdup(json_object_get_string(v));
		free(f);
	}
	json_object_put(ret);
	if (name == NULL)
		err_set("VM '%s': its qemu does not have '%s' open", x->c->name, file);
	free(want);
	return name;
}

/* The node names of C's snapshot disks' top files, as a JSON array;
 * *FIRST (allocated) gets the first, where the RAM goes. */
static json_object *
top_nodes(struct snap *x, char **first)
{
	json_object *a = json_object_new_array();

	*first = NULL;
	for (size_t i = 0; i < x->c->ndisks; i++) {
		char *node;

		if (!snap_disk(&x->c->disks[i]))
			continue;
		if ((node = node_of(x, x->c->disks[i].path)) == NULL) {
			json_object_put(a);
			free(*first);
			*first = NULL;
			return NULL;
		}
		json_object_array_add(a, json_object_new_string(node));
		if (*first == NULL)
			*first = node;
		else
			free(node);
	}
	return a;
}

/* A snapshot-save / snapshot-load / snapshot-delete job for TAG on the
 * disks' top files. */
static int
snap_job(struct snap *x, const char *cmd, const char *tag)
{
	json_object *args, *devs;
	char *first, id[64];
	int rc;

	if ((devs = top_nodes(x, &first)) == NULL)
		return -1;
	snprintf(id, sizeof id, "vmtty-%s-%d", cmd, (int)getpid());
	args = json_object_new_object();
	json_object_object_add(args, "job-id", json_object_new_string(id));
	json_object_object_add(args, "tag", json_object_new_string(tag));
	if (strcmp(cmd, "snapshot-delete") != 0)
		json_object_object_add(args, "vmstate", json_object_new_string(first));
	json_object_object_add(args, "devices", devs);
	free(first);
	rc = qmp_job(x->q, cmd, args, SNAP_SAVE_MS);
	return rc != 0 ? err_prefix("VM '%s': QEMU's %s of '%s' failed", x->c->name, cmd, tag) : 0;
}

/* The running VM in state WANT ("running" or "paused") after a load. */
static int
run_state(struct snap *x, const char *want)
{
	json_object *ret = NULL, *v;
	bool running;

	if (qmp_call(x->q, "query-status", NULL, SNAP_QMP_MS, &ret) != 0)
		return -1;
	running = json_object_object_get_ex(ret, "running", &v) && json_object_get_boolean(v);
	json_object_put(ret);
	if (strcmp(want, "paused") == 0)
		return running ? qmp_call(x->q, "stop", NULL, SNAP_QMP_MS, NULL) : 0;
	return running ? 0 : qmp_call(x->q, "cont", NULL, SNAP_QMP_MS, NULL);
}

static bool
has_ram(const struct vm_snapshot *s)
{
	return s->vm_state != NULL && (strcmp(s->vm_state, "running") == 0 ||
	    strcmp(s->vm_state, "paused") == 0);
}

/* ---- the world: files, who names them, what backs onto what ---- */

static void
world_free(struct world *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->v[i].path);
		free(w->v[i].real);
		free(w->v[i].backing);
		strv_free(&w->v[i].tags);
	}
	free(w->v);
	free(w->cur);
	free(w->rec);
	memset(w, 0, sizeof *w);
}

static ssize_t
world_find(const struct world *w, const char *real)
{
	for (size_t i = 0; real != NULL && i < w->n; i++)
		if (strcmp(w->v[i].real, real) == 0)
			return (ssize_t)i;
	return -1;
}

/* The node of PATH, added (and read with qemu-img) when new. */
static ssize_t
world_add(struct world *w, const char *path)
{
	struct qemu_img_info info;
	struct node *nd;
	char *real = canon(path);
	ssize_t k = world_find(w, real);

	if (k >= 0) {
		free(real);
		return k;
	}
	if (qemu_img_info(path, &info) != 0) {
		free(real);
		return -1;
	}
	w->v = xreallocarray(w->v, w->n + 1, sizeof *w->v);
	nd = &w->v[w->n];
	memset(nd, 0, sizeof *nd);
	nd->path = xstrdup(path);
	nd->real = real;
	nd->backing = info.backing != NULL ? canon(info.backing) : NULL;
	snprintf(nd->fmt, sizeof nd->fmt, "%s", info.format);
	snprintf(nd->bfmt, sizeof nd->bfmt, "%s", info.backing_format[0] != '\0' ?
	    info.backing_format : "qcow2");
	nd->vsize = info.virtual_size;
	nd->asize = info.actual_size;
	strv_init(&nd->tags);
	for (size_t i = 0; i < info.snapshots.n; i++)
		strv_add(&nd->tags, info.snapshots.v[i]);
	qemu_img_info_clear(&info);
	return (ssize_t)w->n++;
}

/* The world of C with its records ALL: every file of the disks snapshots
 * cover, read with qemu-img.  A record's line for another disk is -1. */
static int
world_build(struct world *w, const struct vm_config *c, const struct vm_snapshot *all, size_t n)
{
	memset(w, 0, sizeof *w);
	w->ndisks = c->ndisks;
	w->nrec = n;
	w->cur = xcalloc(c->ndisks + 1, sizeof *w->cur);
	w->rec = xcalloc(n * c->ndisks + 1, sizeof *w->rec);
	for (size_t d = 0; d < c->ndisks; d++) {
		w->cur[d] = -1;
		if (snap_disk(&c->disks[d]) && (w->cur[d] = world_add(w, c->disks[d].path)) < 0)
			return -1;
		if (w->cur[d] >= 0 && strcmp(w->v[w->cur[d]].path, c->disks[d].path) != 0) {
			free(w->v[w->cur[d]].path);
			w->v[w->cur[d]].path = xstrdup(c->disks[d].path);
		}
	}
	for (size_t r = 0; r < n; r++) {
		bool ok = files_count(all[r].files) == c->ndisks;

		for (size_t d = 0; d < c->ndisks; d++) {
			char *f = ok && snap_disk(&c->disks[d]) ? vm_snapshot_file(&all[r], d) : NULL;

			w->rec[r * c->ndisks + d] = -1;
			if (f != NULL && (w->rec[r * c->ndisks + d] = world_add(w, f)) < 0) {
				free(f);
				return err_prefix("snapshot '%s' of VM '%s'", all[r].name, c->name);
			}
			free(f);
		}
	}
	return 0;
}

static void
world_copy(struct world *dst, const struct world *src)
{
	*dst = *src;
	dst->v = xcalloc(src->n + 1, sizeof *dst->v);
	for (size_t i = 0; i < src->n; i++) {
		dst->v[i] = src->v[i];
		dst->v[i].path = xstrdup(src->v[i].path);
		dst->v[i].real = xstrdup(src->v[i].real);
		dst->v[i].backing = src->v[i].backing ? xstrdup(src->v[i].backing) : NULL;
		strv_init(&dst->v[i].tags);
		for (size_t t = 0; t < src->v[i].tags.n; t++)
			strv_add(&dst->v[i].tags, src->v[i].tags.v[t]);
	}
	dst->cur = xcalloc(src->ndisks + 1, sizeof *dst->cur);
	memcpy(dst->cur, src->cur, src->ndisks * sizeof *dst->cur);
	dst->rec = xcalloc(src->nrec * src->ndisks + 1, sizeof *dst->rec);
	memcpy(dst->rec, src->rec, src->nrec * src->ndisks * sizeof *dst->rec);
}

/* Node K is a file the disks or the records KEEP (KEEP[r]: record r
 * stays; NULL: all do) name. */
static bool
named(const struct world *w, size_t k, const bool *keep)
{
	for (size_t d = 0; d < w->ndisks; d++)
		if (w->cur[d] == (ssize_t)k)
			return true;
	for (size_t r = 0; r < w->nrec; r++)
		for (size_t d = 0; (keep == NULL || keep[r]) && d < w->ndisks; d++)
			if (w->rec[r * w->ndisks + d] == (ssize_t)k)
				return true;
	return false;
}

/* The files that back onto node K, into DEPS (at most w->n). */
static size_t
dependents(const struct world *w, size_t k, size_t *deps)
{
	size_t nd = 0;

	for (size_t i = 0; i < w->n; i++)
		if (!w->v[i].gone && w->v[i].backing != NULL &&
		    strcmp(w->v[i].backing, w->v[k].real) == 0)
			deps[nd++] = i;
	return nd;
}

/* Node K is in the backing chain a running qemu has open for a disk. */
static bool
on_chain(const struct world *w, size_t k)
{
	for (size_t d = 0; d < w->ndisks; d++)
		for (ssize_t j = w->cur[d]; j >= 0; j = world_find(w, w->v[j].backing))
			if (j == (ssize_t)k)
				return true;
	return false;
}

/* Another VM needs FILE: refuse what would change it (WHAT). */
static int
check_kept(struct snap *x, const char *file, const char *what)
{
	const char *who = hv_kept(x->hv, file);

	if (who == NULL)
		return 0;
	return err_set("VM '%s': %s would change '%s', which VM '%s' also needs; nothing was "
	    "changed", x->c->name, what, file, who);
}

/* Node D keeps reading the same data without node K under it: block-stream
 * inside the running qemu when it has D open, else qemu-img rebase. */
static int
merge_into(struct snap *x, struct world *w, size_t d, size_t k)
{
	const char *base = w->v[k].backing;
	json_object *args;
	char *top, *bnode = NULL, id[64];
	int rc;

	log_debug("qemu_snap: '%s' into '%s'", w->v[k].path, w->v[d].path);
	if (x->pid == 0 || !on_chain(w, d))
		return qemu_img_rebase(w->v[d].path, base, w->v[k].bfmt) != 0 ?
		    err_prefix("merging '%s' into '%s' failed", w->v[k].path, w->v[d].path) : 0;
	if ((top = node_of(x, w->v[d].path)) == NULL ||
	    (base != NULL && (bnode = node_of(x, base)) == NULL)) {
		free(top);
		return -1;
	}
	snprintf(id, sizeof id, "vmtty-stream-%d", (int)getpid());
	args = json_object_new_object();
	json_object_object_add(args, "job-id", json_object_new_string(id));
	json_object_object_add(args, "device", json_object_new_string(top));
	if (bnode != NULL)
		json_object_object_add(args, "base-node", json_object_new_string(bnode));
	json_object_object_add(args, "auto-dismiss", json_object_new_boolean(0));
	rc = qmp_job(x->q, "block-stream", args, SNAP_MERGE_MS);
	free(top);
	free(bnode);
	return rc != 0 ? err_prefix("merging '%s' into '%s' failed", w->v[k].path,
	    w->v[d].path) : 0;
}

/*
 * Remove the released files of W, each once the files that back onto it
 * hold its data; the one first whose dependents are not released
 * themselves (the nearest the top: less to copy).  DRY: only check that
 * it can be done, on a copy; nothing is touched.  *DONE counts the files
 * changed or removed.
 */
static int
release(struct snap *x, struct world *w, bool dry, int *done)
{
	size_t *deps = xcalloc(w->n + 1, sizeof *deps), nd;
	int rc = 0;

	for (;;) {
		ssize_t k = -1;

		for (size_t i = 0; i < w->n; i++) {
			bool top = true;

			if (!w->v[i].released || w->v[i].gone)
				continue;
			nd = dependents(w, i, deps);
			for (size_t j = 0; j < nd; j++)
				top &= !w->v[deps[j]].released;
			if (k < 0 || top)
				k = (ssize_t)i;
			if (top)
				break;
		}
		if (k < 0)
			break;
		nd = dependents(w, (size_t)k, deps);
		if ((rc = check_kept(x, w->v[k].path, "removing a file no snapshot needs")) != 0)
			break;
		if (x->pid > 0 && nd == 0 && on_chain(w, (size_t)k)) {
			rc = err_set("VM '%s' runs on '%s'; stop it first", x->c->name, w->v[k].path);
			break;
		}
		for (size_t j = 0; rc == 0 && j < nd; j++) {
			if ((rc = check_kept(x, w->v[deps[j]].path, "merging snapshot files")) != 0)
				break;
			/* A merge rewrites the file's live data only: a full snapshot
			 * kept inside it would lose what it read from K. */
			if (w->v[deps[j]].tags.n > 0) {
				rc = err_set("VM '%s': full snapshot '%s' is kept inside '%s', which reads "
				    "data of '%s'; merging that file away would lose it: delete "
				    "snapshot '%s' first; nothing was changed", x->c->name,
				    w->v[deps[j]].tags.v[0], w->v[deps[j]].path, w->v[k].path,
				    w->v[deps[j]].tags.v[0]);
				break;
			}
			if (!dry && (rc = merge_into(x, w, deps[j], (size_t)k)) == 0)
				(*done)++;
			free(w->v[deps[j]].backing);
			w->v[deps[j]].backing = w->v[k].backing ? xstrdup(w->v[k].backing) : NULL;
			memcpy(w->v[deps[j]].bfmt, w->v[k].bfmt, sizeof w->v[k].bfmt);
		}
		if (rc != 0)
			break;
		if (!dry) {
			log_debug("qemu_snap: removing '%s'", w->v[k].path);
			if (unlink(w->v[k].path) != 0 && errno != ENOENT) {
				rc = err_set("cannot remove '%s': %s", w->v[k].path, strerror(errno));
				break;
			}
			(*done)++;
		}
		w->v[k].gone = true;
	}
	free(deps);
	return rc;
}

/* ---- create ---- */

/* Each disk's top file really is qcow2, of a known size. */
static int
check_formats(struct snap *x, const struct world *w)
{
	for (size_t d = 0; d < x->c->ndisks; d++) {
		const struct node *nd = w->cur[d] >= 0 ? &w->v[w->cur[d]] : NULL;

		if (nd == NULL)
			continue;
		if (strcmp(nd->fmt, "qcow2") != 0)
			return err_set("VM '%s': disk '%s' is a %s file, and snapshots need qcow2; "
			    "convert it (qemu-img convert -O qcow2)", x->c->name, nd->path, nd->fmt);
		if (nd->vsize < 0)
			return err_set("VM '%s': qemu-img does not tell the size of disk '%s'",
			    x->c->name, nd->path);
	}
	return 0;
}

/* NAME with every byte but [A-Za-z0-9._-] as '_', for file names. */
static void
file_part(const char *name, char *out, size_t len)
{
	size_t i = 0;

	for (; name[i] != '\0' && i + 1 < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		out[i] = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ? (char)ch : '_';
	}
	out[i] = '\0';
}

/* The path of a new overlay for disk D of C on its file TOP, named after
 * the VM and the snapshot NAME, next to TOP, that is not there yet
 * (allocated). */
static char *
overlay_path(const struct vm_config *c, size_t d, const char *top, const char *name)
{
	char vm[80], sn[80], *real = canon(top), *slash = strrchr(real, '/'), *path = NULL;
	size_t nsnap = 0;
	struct stat st;

	for (size_t i = 0; i < c->ndisks; i++)
		nsnap += snap_disk(&c->disks[i]);
	file_part(c->name, vm, sizeof vm);
	file_part(name, sn, sizeof sn);
	if (slash != NULL)
		*slash = '\0';
	for (int t = 1; t <= SNAP_NAME_TRIES; t++) {
		char num[16] = "", idx[24] = "";

		if (t > 1)
			snprintf(num, sizeof num, "-%d", t);
		if (nsnap > 1)
			snprintf(idx, sizeof idx, "-disk%zu", d);
		free(path);
		path = xasprintf("%s/%s%s.%s%s.qcow2", slash != NULL ? real : ".", vm, idx, sn, num);
		if (lstat(path, &st) != 0)
			break;
	}
	free(real);
	return path;
}

/* A new overlay for disk D of C on its file TOP (VSIZE bytes), named
 * after the VM and the snapshot NAME, next to TOP; *OUT (allocated). */
static int
new_overlay(const struct vm_config *c, size_t d, const char *top, int64_t vsize,
    const char *name, char **out)
{
	char *path = overlay_path(c, d, top, name);

	if (qemu_img_overlay(path, top, vsize) != 0) {
		free(path);
		return -1;
	}
	*out = path;
	return 0;
}

/* Tell hv->note the overlays PATHS (one per disk of C, NULL none) before
 * any is made. */
static int
note_overlays(struct snap *x, char **paths)
{
	size_t len = 1, off = 0;
	char *s;
	int rc;

	if (x->hv->note == NULL)
		return 0;
	for (size_t d = 0; d < x->c->ndisks; d++)
		len += (paths[d] != NULL ? strlen(paths[d]) : 0) + 1;
	s = xmalloc(len);
	s[0] = '\0';
	for (size_t d = 0; d < x->c->ndisks; d++)
		off += (size_t)snprintf(s + off, len - off, "%s%s", d > 0 ? "\n" : "",
		    paths[d] != NULL ? paths[d] : "");
	rc = x->hv->note(s, x->hv->note_arg);
	free(s);
	return rc;
}

/* Disk-only: every disk onto a new overlay, its file frozen in S. */
static int
create_disk(struct snap *x, struct world *w, struct vm_snapshot *s)
{
	struct vm_config *c = x->c;
	char **made = xcalloc(c->ndisks + 1, sizeof *made);
	char **paths = xcalloc(c->ndisks + 1, sizeof *paths);
	json_object *actions = json_object_new_array();
	int rc = 0;

	/* Every overlay's name is told (the inventory records it) before the
	 * first is made: a vmtty killed meanwhile leaves nothing unnamed. */
	for (size_t d = 0; d < c->ndisks; d++)
		if (snap_disk(&c->disks[d]))
			paths[d] = overlay_path(c, d, c->disks[d].path, s->name);
	rc = note_overlays(x, paths);
	s->size = 0;
	for (size_t d = 0; rc == 0 && d < c->ndisks; d++) {
		const struct node *nd;
		json_object *a, *data;
		char dev[32];

		if (!snap_disk(&c->disks[d]))
			continue;
		nd = &w->v[w->cur[d]];
		s->size += nd->asize > 0 ? nd->asize : 0;
		if ((rc = qemu_img_overlay(paths[d], c->disks[d].path, nd->vsize)) != 0)
			break;
		made[d] = xstrdup(paths[d]);
		data = json_object_new_object();
		snprintf(dev, sizeof dev, "disk%zu", d);	/* qemu_argv.c's drive id */
		json_object_object_add(data, "device", json_object_new_string(dev));
		json_object_object_add(data, "snapshot-file", json_object_new_string(made[d]));
		json_object_object_add(data, "format", json_object_new_string("qcow2"));
		json_object_object_add(data, "mode", json_object_new_string("existing"));
		a = json_object_new_object();
		json_object_object_add(a, "type", json_object_new_string("blockdev-snapshot-sync"));
		json_object_object_add(a, "data", data);
		json_object_array_add(actions, a);
	}
	/* One transaction: every disk moves, or none does. */
	if (rc == 0 && x->pid > 0) {
		json_object *args = json_object_new_object();

		json_object_object_add(args, "actions", json_object_get(actions));
		if ((rc = qmp_call(x->q, "transaction", args, SNAP_QMP_MS, NULL)) != 0)
			err_prefix("VM '%s': QEMU did not move its disks onto the overlays", c->name);
	}
	json_object_put(actions);
	if (rc == 0) {
		s->files = files_of(c);
		for (size_t d = 0; d < c->ndisks; d++)
			if (made[d] != NULL) {
				free(c->disks[d].path);
				c->disks[d].path = made[d];
				made[d] = NULL;
			}
	}
	for (size_t d = 0; d < c->ndisks; d++) {
		if (made[d] != NULL)
			unlink(made[d]);
		free(made[d]);
		free(paths[d]);
	}
	free(made);
	free(paths);
	return rc;
}

/* Full, of a stopped VM: an internal snapshot in each disk's top file,
 * all or none. */
static int
create_full_offline(struct snap *x, struct world *w, struct vm_snapshot *s)
{
	struct vm_config *c = x->c;
	size_t d;
	int rc = 0;

	for (d = 0; d < c->ndisks; d++) {
		const struct node *nd = snap_disk(&c->disks[d]) ? &w->v[w->cur[d]] : NULL;

		for (size_t t = 0; nd != NULL && t < nd->tags.n; t++)
			if (strcmp(nd->tags.v[t], s->name) == 0)
				return err_set("VM '%s': disk '%s' already holds an internal snapshot "
				    "named '%s' that vmtty did not record; remove it (qemu-img snapshot "
				    "-d) or choose another name", c->name, nd->path, s->name);
	}
	for (d = 0; rc == 0 && d < c->ndisks; d++)
		if (snap_disk(&c->disks[d]))
			rc = qemu_img_snapshot("-c", s->name, c->disks[d].path);
	if (rc != 0) {
		/* Take back the ones made (the failed one made none). */
		for (size_t k = 0; k + 1 < d; k++)
			if (snap_disk(&c->disks[k]))
				qemu_img_snapshot("-d", s->name, c->disks[k].path);
		return err_prefix("VM '%s'", c->name);
	}
	return 0;
}

/* The saved RAM of snapshot NAME in C's top files. */
static int64_t
ram_size(const struct vm_config *c, const char *name)
{
	struct qemu_img_info info;
	int64_t size = 0;

	for (size_t d = 0; d < c->ndisks; d++) {
		if (!snap_disk(&c->disks[d]) || qemu_img_info(c->disks[d].path, &info) != 0)
			continue;
		if (qemu_img_vmstate(&info, name) > 0)
			size += qemu_img_vmstate(&info, name);
		qemu_img_info_clear(&info);
	}
	err_clear();
	return size;
}

int
qemu_snapshot_create(struct hv *hv, struct vm_config *c, const struct vm_snapshot *all,
    size_t n, struct vm_snapshot *s)
{
	struct world w = { 0 };
	struct snap x;
	int rc = -1;

	if (check_disks(c) != 0 || snap_begin(&x, hv, c) != 0)
		return -1;
	if (x.pid > 0 && x.state == HV_CRASHED) {
		err_set("VM '%s' has crashed; power it off before taking a snapshot", c->name);
		goto out;
	}
	if (world_build(&w, c, NULL, 0) != 0 || check_formats(&x, &w) != 0)
		goto out;
	s->created = now_ms();
	free(s->vm_state);
	s->vm_state = xstrdup(x.pid > 0 ? hv_state_name(x.state) : "off");
	free(s->parent);
	s->parent = NULL;
	for (size_t i = 0; i < n; i++)
		if (all[i].current)
			s->parent = xstrdup(all[i].name);
	free(s->files);
	s->files = NULL;
	if (s->kind == VM_SNAPSHOT_DISK) {
		rc = create_disk(&x, &w, s);
	} else {
		rc = x.pid > 0 ? snap_job(&x, "snapshot-save", s->name) :
		    create_full_offline(&x, &w, s);
		if (rc == 0) {
			s->files = files_of(c);
			s->size = ram_size(c, s->name);
		}
	}
	if (rc == 0)
		qemu_log_append(x.r.log, "snapshot '%s' (%s) of VM '%s' taken", s->name,
		    vm_snapshot_kind_name(s->kind), c->name);
out:
	world_free(&w);
	snap_end(&x);
	return rc;
}

/* ---- an interrupted create ---- */

/* How long the next vmtty waits for a snapshot-save that QEMU goes on with
 * after its vmtty died; longer, and a later vmtty settles it. */
#define SNAP_ADOPT_MS (30 * 1000)

/* Full: QEMU (its job over, if one ran) or qemu-img made the internal
 * snapshot in every top file, or in none: what is there of it goes. */
static int
recover_full(struct snap *x, struct vm_snapshot *s, int64_t pid, char *note, size_t len)
{
	struct vm_config *c = x->c;
	bool *has = xcalloc(c->ndisks + 1, sizeof *has);
	size_t want = 0, nhas = 0;
	int rc = 0;

	if (x->pid > 0) {
		char id[64];

		snprintf(id, sizeof id, "vmtty-snapshot-save-%lld", (long long)pid);
		if (qmp_job_wait(x->q, id, SNAP_ADOPT_MS) != 0) {
			free(has);
			return err_prefix("VM '%s': snapshot '%s'", c->name, s->name);
		}
	}
	for (size_t d = 0; d < c->ndisks; d++) {
		struct qemu_img_info info;

		if (!snap_disk(&c->disks[d]))
			continue;
		want++;
		if (qemu_img_info(c->disks[d].path, &info) != 0) {
			free(has);
			return err_prefix("VM '%s'", c->name);
		}
		has[d] = qemu_img_vmstate(&info, s->name) >= 0;
		nhas += has[d];
		qemu_img_info_clear(&info);
	}
	if (want > 0 && nhas == want) {
		free(has);
		free(s->files);
		s->files = files_of(c);
		s->size = ram_size(c, s->name);
		free(s->vm_state);
		s->vm_state = xstrdup(s->size <= 0 ? "off" : x->pid > 0 && x->state == HV_PAUSED ?
		    "paused" : "running");
		snprintf(note, len, "QEMU had taken it");
		return 1;
	}
	/* Part of it: the disks that have it lose it (no VM but this one
	 * writes into them: the create refused those). */
	if (nhas > 0 && x->pid > 0)
		rc = snap_job(x, "snapshot-delete", s->name);
	for (size_t d = 0; rc == 0 && x->pid == 0 && d < c->ndisks; d++)
		if (has[d] && qemu_img_snapshot("-d", s->name, c->disks[d].path) != 0)
			rc = err_prefix("VM '%s'", c->name);
	free(has);
	if (rc != 0)
		return -1;
	snprintf(note, len, nhas > 0 ? "its part-made internal snapshot removed" :
	    "QEMU had not taken it");
	return 0;
}

/* The running qemu of X writes to (has open) FILE. */
static bool
qemu_uses(struct snap *x, const char *file)
{
	char *node;

	if (x->pid == 0)
		return false;
	node = node_of(x, file);
	free(node);
	err_clear();
	return node != NULL;
}

/* FILE is a whole qcow2 overlay on BASE. */
static bool
overlay_on(const char *file, const char *base)
{
	struct qemu_img_info info;
	char *b, *want;
	bool ok;

	if (access(file, F_OK) != 0 || qemu_img_info(file, &info) != 0) {
		err_clear();
		return false;
	}
	b = info.backing != NULL ? canon(info.backing) : NULL;
	want = canon(base);
	ok = b != NULL && strcmp(b, want) == 0 && strcmp(info.format, "qcow2") == 0;
	free(b);
	free(want);
	qemu_img_info_clear(&info);
	return ok;
}

/* Disk-only: the VM's disks are on the overlays (its qemu writes to them,
 * or, when none runs, each one is whole on its disk's file: nothing is
 * lost keeping it), or the overlays go. */
static int
recover_disk(struct snap *x, struct vm_snapshot *s, const char *overlays, char *note,
    size_t len)
{
	struct vm_config *c = x->c;
	struct vm_snapshot ov = { .files = (char *)overlays };
	char **o = xcalloc(c->ndisks + 1, sizeof *o);
	size_t want = 0, nused = 0, removed = 0;
	int rc = 0;

	for (size_t d = 0; overlays != NULL && d < c->ndisks; d++) {
		if (!snap_disk(&c->disks[d]) || (o[d] = vm_snapshot_file(&ov, d)) == NULL)
			continue;
		if (o[d][0] == '\0') {
			free(o[d]);
			o[d] = NULL;
			continue;
		}
		want++;
		if (x->pid > 0 ? qemu_uses(x, o[d]) : overlay_on(o[d], c->disks[d].path))
			nused++;
	}
	if (want > 0 && nused == want) {
		int64_t size = 0;

		free(s->files);
		s->files = files_of(c);
		for (size_t d = 0; d < c->ndisks; d++) {
			struct qemu_img_info info;

			if (o[d] == NULL)
				continue;
			if (qemu_img_info(c->disks[d].path, &info) == 0) {
				size += info.actual_size > 0 ? info.actual_size : 0;
				qemu_img_info_clear(&info);
			}
			free(c->disks[d].path);
			c->disks[d].path = o[d];
			o[d] = NULL;
		}
		err_clear();
		s->size = size;
		free(s->vm_state);
		s->vm_state = xstrdup(x->pid > 0 ? hv_state_name(x->state) : "off");
		snprintf(note, len, x->pid > 0 ? "QEMU had moved its disks onto the overlays" :
		    "its overlays were whole");
	} else if (nused > 0) {
		/* One transaction moves every disk, so this is not QEMU's doing. */
		rc = err_set("VM '%s': its qemu writes to some of the overlays of snapshot '%s' "
		    "and not to others; left as it is", c->name, s->name);
	} else {
		for (size_t d = 0; d < c->ndisks; d++) {
			const char *who;

			if (o[d] == NULL || access(o[d], F_OK) != 0)
				continue;
			if ((who = hv_kept(x->hv, o[d])) != NULL) {
				log_debug("qemu_snap: '%s' stays: VM '%s' needs it", o[d], who);
				continue;
			}
			if (unlink(o[d]) != 0) {
				rc = err_set("cannot remove '%s': %s", o[d], strerror(errno));
				break;
			}
			removed++;
		}
		if (rc == 0)
			snprintf(note, len, "%s", removed == 0 ? "nothing had been made" :
			    removed > 1 ? "its unused overlay files removed" :
			    "its unused overlay file removed");
	}
	for (size_t d = 0; d < c->ndisks; d++)
		free(o[d]);
	free(o);
	return rc != 0 ? -1 : want > 0 && nused == want ? 1 : 0;
}

int
qemu_snapshot_recover(struct hv *hv, struct vm_config *c, struct vm_snapshot *s,
    const char *overlays, int64_t pid, char *note, size_t len)
{
	struct snap x;
	int rc;

	if (check_record(c, s) != 0 || snap_begin(&x, hv, c) != 0)
		return -1;
	rc = s->kind == VM_SNAPSHOT_DISK ? recover_disk(&x, s, overlays, note, len) :
	    recover_full(&x, s, pid, note, len);
	if (rc > 0)
		qemu_log_append(x.r.log, "snapshot '%s' (%s) of VM '%s' taken (settled after its "
		    "vmtty was interrupted)", s->name, vm_snapshot_kind_name(s->kind), c->name);
	snap_end(&x);
	return rc;
}

/* ---- revert ---- */

/* Node K is named by a record (any). */
static bool
named_by_record(const struct world *w, size_t k, ssize_t *which)
{
	for (size_t r = 0; r < w->nrec; r++)
		for (size_t d = 0; d < w->ndisks; d++)
			if (w->rec[r * w->ndisks + d] == (ssize_t)k) {
				*which = (ssize_t)r;
				return true;
			}
	return false;
}

/* Check the release W plans as if the VM were stopped (a revert stops it
 * first). */
static int
plan_stopped(struct snap *x, const struct world *w)
{
	struct world plan;
	int pid = x->pid, rc, ignored = 0;

	world_copy(&plan, w);
	x->pid = 0;
	rc = release(x, &plan, true, &ignored);
	x->pid = pid;
	world_free(&plan);
	return rc;
}

/* Disk-only S (record SI): each disk onto a new overlay on S's frozen
 * files; the tops it leaves go when nothing else names them.  A running
 * VM is powered off first (its state is what a revert discards) and
 * started again on the new overlays. */
static int
revert_disk(struct snap *x, struct world *w, const struct vm_snapshot *s, size_t si)
{
	struct vm_config *c = x->c;
	char **made = xcalloc(c->ndisks + 1, sizeof *made);
	bool was_running = x->pid > 0;
	int rc = 0, done = 0;

	for (size_t d = 0; d < c->ndisks; d++) {
		ssize_t old = w->cur[d];

		if (old < 0)
			continue;
		w->cur[d] = w->rec[si * w->ndisks + d];
		if (old != w->cur[d] && !named(w, (size_t)old, NULL))
			w->v[old].released = true;
	}
	if (plan_stopped(x, w) != 0 || snap_stop(x) != 0) {
		free(made);
		return -1;
	}
	for (size_t d = 0; rc == 0 && d < c->ndisks; d++) {
		const struct node *f = w->cur[d] >= 0 ? &w->v[w->cur[d]] : NULL;

		if (f != NULL)
			rc = new_overlay(c, d, f->path, f->vsize, s->name, &made[d]);
	}
	if (rc != 0) {
		for (size_t d = 0; d < c->ndisks; d++)
			if (made[d] != NULL)
				unlink(made[d]);
		if (was_running && snap_start(x) != 0)
			log_debug("qemu_snap: '%s' did not start again: %s", c->name, err_get());
		goto out;
	}
	for (size_t d = 0; d < c->ndisks; d++)
		if (made[d] != NULL) {
			free(c->disks[d].path);
			c->disks[d].path = made[d];
			made[d] = NULL;
		}
	if (release(x, w, false, &done) != 0)
		rc = err_prefix("VM '%s' was reverted to snapshot '%s', but a file it left could "
		    "not go", c->name, s->name);
	else if (was_running && snap_start(x) != 0)
		rc = err_prefix("VM '%s' was reverted to snapshot '%s', but did not start again",
		    c->name, s->name);
out:
	for (size_t d = 0; d < c->ndisks; d++)
		free(made[d]);
	free(made);
	return rc;
}

/* Full S (record SI) can be applied to disk D's file F: F is the disk's
 * top (in place), or the top is an overlay right on F that nothing else
 * needs and F is frozen for no one (it is then discarded, and the disk
 * goes back to F).  *INPLACE says which. */
static int
full_applies(struct snap *x, const struct world *w, const struct vm_snapshot *all, size_t si,
    size_t d, bool *inplace)
{
	const struct vm_snapshot *s = &all[si];
	ssize_t f = w->rec[si * w->ndisks + d], top = w->cur[d], r;
	size_t *deps = xcalloc(w->n + 1, sizeof *deps), nd = dependents(w, (size_t)f, deps);
	const struct node *fn = &w->v[f];
	bool has = false;
	int rc = 0;

	for (size_t t = 0; t < fn->tags.n; t++)
		has |= strcmp(fn->tags.v[t], s->name) == 0;
	*inplace = f == top;
	if (!has)
		rc = err_set("VM '%s': snapshot '%s' is no longer inside '%s'; it cannot be "
		    "reverted to (delete it)", x->c->name, s->name, fn->path);
	else if (*inplace)
		rc = check_kept(x, fn->path, "reverting");
	else if (nd != 1 || deps[0] != (size_t)top || named_by_record(w, (size_t)top, &r))
		rc = err_set("VM '%s': snapshot '%s' is kept inside '%s', and files other than the "
		    "disk's current overlay are based on it; delete the disk-only snapshots taken "
		    "after '%s' first", x->c->name, s->name, fn->path, s->name);
	else {
		for (size_t k = 0; rc == 0 && k < w->nrec * w->ndisks; k++)
			if (w->rec[k] == f && k / w->ndisks != si &&
			    all[k / w->ndisks].kind == VM_SNAPSHOT_DISK)
				rc = err_set("VM '%s': reverting to snapshot '%s' would change '%s', which "
				    "snapshot '%s' keeps as it was; delete '%s' first", x->c->name,
				    s->name, fn->path, all[k / w->ndisks].name, all[k / w->ndisks].name);
		if (rc == 0 && (rc = check_kept(x, fn->path, "reverting")) == 0)
			rc = check_kept(x, w->v[top].path, "reverting");
	}
	free(deps);
	return rc;
}

/* Full S (record SI): a running VM on the same files loads it (RAM and
 * disks: the guest goes on from there); otherwise the VM is stopped,
 * disks on overlays above S's files go back to those files, and S is
 * applied: loaded into a fresh qemu when it has RAM, else with qemu-img. */
static int
revert_full(struct snap *x, struct world *w, const struct vm_snapshot *all, size_t si)
{
	const struct vm_snapshot *s = &all[si];
	struct vm_config *c = x->c;
	bool all_inplace = true;
	int rc = 0, done = 0;

	for (size_t d = 0; d < c->ndisks; d++) {
		bool inplace;

		if (w->cur[d] < 0)
			continue;
		if (full_applies(x, w, all, si, d, &inplace) != 0)
			return -1;
		all_inplace &= inplace;
	}
	if (all_inplace && x->pid > 0 && has_ram(s)) {
		if ((rc = snap_job(x, "snapshot-load", s->name)) != 0) {
			/* A failed load leaves the guest stopped. */
			run_state(x, x->state == HV_PAUSED ? "paused" : "running");
			return -1;
		}
		return run_state(x, s->vm_state);
	}
	for (size_t d = 0; d < c->ndisks; d++) {
		ssize_t f = w->cur[d] >= 0 ? w->rec[si * w->ndisks + d] : -1;

		if (f >= 0 && f != w->cur[d]) {
			w->v[w->cur[d]].released = true;
			w->cur[d] = f;
		}
	}
	if (plan_stopped(x, w) != 0 || snap_stop(x) != 0)
		return -1;
	for (size_t d = 0; d < c->ndisks; d++)
		if (w->cur[d] >= 0 && strcmp(c->disks[d].path, w->v[w->cur[d]].path) != 0) {
			free(c->disks[d].path);
			c->disks[d].path = xstrdup(w->v[w->cur[d]].path);
		}
	if (release(x, w, false, &done) != 0)
		return err_prefix("VM '%s': the overlay above snapshot '%s' could not go", c->name,
		    s->name);
	if (!has_ram(s)) {
		for (size_t d = 0; rc == 0 && d < c->ndisks; d++)
			if (w->cur[d] >= 0)
				rc = qemu_img_snapshot("-a", s->name, c->disks[d].path);
		return rc != 0 ? err_prefix("VM '%s': reverting to snapshot '%s' failed", c->name,
		    s->name) : 0;
	}
	if (snap_start(x) != 0)
		return err_prefix("VM '%s' did not start to load snapshot '%s'", c->name, s->name);
	if (snap_job(x, "snapshot-load", s->name) != 0 || run_state(x, s->vm_state) != 0) {
		char *why = xstrdup(err_get());

		snap_stop(x);
		err_set("%s; the VM was powered off", why);
		free(why);
		return -1;
	}
	return 0;
}

int
qemu_snapshot_revert(struct hv *hv, struct vm_config *c, const struct vm_snapshot *all,
    size_t n, const char *name)
{
	ssize_t si = vm_snapshot_find(all, n, name);
	struct world w = { 0 };
	struct snap x;
	int rc = -1;

	if (si < 0)
		return err_set("VM '%s' has no snapshot named '%s'", c->name, name);
	if (check_disks(c) != 0 || check_record(c, &all[si]) != 0 || snap_begin(&x, hv, c) != 0)
		return -1;
	if (world_build(&w, c, all, n) == 0 && check_formats(&x, &w) == 0)
		rc = all[si].kind == VM_SNAPSHOT_DISK ? revert_disk(&x, &w, &all[si], (size_t)si) :
		    revert_full(&x, &w, all, (size_t)si);
	if (rc == 0)
		qemu_log_append(x.r.log, "VM '%s' reverted to snapshot '%s'", c->name, name);
	world_free(&w);
	snap_end(&x);
	return rc;
}

/* ---- delete ---- */

/* Take internal snapshot S (record R, full) out of its files: inside a
 * running qemu for a disk's top file, with qemu-img for a file it does
 * not have open; a frozen file it reads is refused.  DRY: check only. */
static int
delete_tags(struct snap *x, const struct world *w, const struct vm_snapshot *s, size_t r,
    bool dry)
{
	json_object *devs = json_object_new_array(), *args;
	char id[64];
	int rc = 0;

	for (size_t d = 0; rc == 0 && d < w->ndisks; d++) {
		ssize_t f = w->rec[r * w->ndisks + d];
		const struct node *fn = f >= 0 ? &w->v[f] : NULL;
		bool has = false;
		char *node;

		for (size_t t = 0; fn != NULL && t < fn->tags.n; t++)
			has |= strcmp(fn->tags.v[t], s->name) == 0;
		if (!has)
			continue;
		if (x->pid == 0 || !on_chain(w, (size_t)f)) {
			if (!dry)
				rc = qemu_img_snapshot("-d", s->name, fn->path);
		} else if (f != w->cur[d]) {
			rc = err_set("VM '%s' is running, and snapshot '%s' is kept inside '%s', which "
			    "it reads below its current overlay; stop the VM to delete it",
			    x->c->name, s->name, fn->path);
		} else if (!dry) {
			if ((node = node_of(x, fn->path)) == NULL)
				rc = -1;
			else
				json_object_array_add(devs, json_object_new_string(node));
			free(node);
		}
	}
	if (rc == 0 && json_object_array_length(devs) > 0) {
		snprintf(id, sizeof id, "vmtty-snapshot-delete-%d", (int)getpid());
		args = json_object_new_object();
		json_object_object_add(args, "job-id", json_object_new_string(id));
		json_object_object_add(args, "tag", json_object_new_string(s->name));
		json_object_object_add(args, "devices", json_object_get(devs));
		rc = qmp_job(x->q, "snapshot-delete", args, SNAP_SAVE_MS);
	}
	json_object_put(devs);
	return rc != 0 ? err_prefix("VM '%s': deleting snapshot '%s' failed", x->c->name,
	    s->name) : 0;
}

/* The records left when GONE go: their children under the parent of the
 * one deleted (NAME), the current one moved up to it when it went. */
static struct vm_snapshot *
survivors(const struct vm_snapshot *all, size_t n, const bool *gone, const char *name,
    size_t *nout)
{
	ssize_t si = vm_snapshot_find(all, n, name);
	const char *up = all[si].parent;
	struct vm_snapshot *v = xcalloc(n + 1, sizeof *v);
	bool moved = false;
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		moved |= gone[i] && all[i].current;
	for (size_t i = 0; i < n; i++) {
		if (gone[i])
			continue;
		vm_snapshot_copy(&v[k], &all[i]);
		if (v[k].parent != NULL && strcmp(v[k].parent, name) == 0) {
			free(v[k].parent);
			v[k].parent = up != NULL ? xstrdup(up) : NULL;
		}
		if (moved)
			v[k].current = up != NULL && strcmp(all[i].name, up) == 0;
		k++;
	}
	*nout = k;
	return v;
}

/* NAME and, with CHILDREN, every snapshot below it: GONE[i]. */
static bool *
doomed(const struct vm_snapshot *all, size_t n, const char *name, bool children)
{
	bool *gone = xcalloc(n + 1, sizeof *gone), more = true;

	gone[vm_snapshot_find(all, n, name)] = true;
	while (children && more) {
		more = false;
		for (size_t i = 0; i < n; i++) {
			ssize_t p = all[i].parent != NULL ? vm_snapshot_find(all, n, all[i].parent) : -1;

			if (!gone[i] && p >= 0 && gone[p])
				gone[i] = more = true;
		}
	}
	return gone;
}

/* The full snapshots of GONE out of W's files' tags: deleted (or about to
 * be), so no merge has to keep them. */
static void
strip_tags(struct world *w, const struct vm_snapshot *all, const bool *gone)
{
	for (size_t r = 0; r < w->nrec; r++) {
		if (!gone[r] || all[r].kind != VM_SNAPSHOT_FULL)
			continue;
		for (size_t i = 0; i < w->n; i++) {
			struct strv left;

			strv_init(&left);
			for (size_t t = 0; t < w->v[i].tags.n; t++)
				if (strcmp(w->v[i].tags.v[t], all[r].name) != 0)
					strv_add(&left, w->v[i].tags.v[t]);
			strv_free(&w->v[i].tags);
			w->v[i].tags = left;
		}
	}
}

/* Plan the delete of GONE on W (dry), then do it; *TOUCHED says whether
 * anything on disk changed. */
static int
delete_run(struct snap *x, struct world *w, const struct vm_snapshot *all, const bool *gone,
    bool *touched)
{
	bool *keep = xcalloc(w->nrec + 1, sizeof *keep);
	int rc = 0, done = 0;

	*touched = false;
	for (size_t r = 0; r < w->nrec; r++)
		keep[r] = !gone[r];
	for (size_t r = 0; r < w->nrec; r++)
		for (size_t d = 0; gone[r] && d < w->ndisks; d++) {
			ssize_t k = w->rec[r * w->ndisks + d];

			if (k >= 0 && !named(w, (size_t)k, keep))
				w->v[k].released = true;
		}
	for (size_t r = 0; rc == 0 && r < w->nrec; r++)
		if (gone[r] && all[r].kind == VM_SNAPSHOT_FULL)
			rc = delete_tags(x, w, &all[r], r, true);
	if (rc == 0) {
		struct world plan;
		int ignored = 0;

		world_copy(&plan, w);
		strip_tags(&plan, all, gone);
		rc = release(x, &plan, true, &ignored);
		world_free(&plan);
	}
	for (size_t r = 0; rc == 0 && r < w->nrec; r++)
		if (gone[r] && all[r].kind == VM_SNAPSHOT_FULL) {
			rc = delete_tags(x, w, &all[r], r, false);
			*touched = true;
		}
	if (rc == 0) {
		strip_tags(w, all, gone);
		rc = release(x, w, false, &done);
		*touched |= done > 0;
	}
	free(keep);
	return rc;
}

int
qemu_snapshot_delete(struct hv *hv, struct vm_config *c, struct vm_snapshot **allp,
    size_t *np, const char *name, bool children)
{
	struct vm_snapshot *all = *allp, *left;
	ssize_t si = vm_snapshot_find(all, *np, name);
	struct world w = { 0 };
	bool *gone, touched = false;
	size_t n = *np, nleft;
	struct snap x;
	int rc = -1;

	if (si < 0)
		return err_set("VM '%s' has no snapshot named '%s'", c->name, name);
	gone = doomed(all, n, name, children);
	for (size_t i = 0; i < n; i++)
		if (gone[i] && all[i].files != NULL && check_record(c, &all[i]) != 0) {
			free(gone);
			return -1;
		}
	if (snap_begin(&x, hv, c) != 0) {
		free(gone);
		return -1;
	}
	if (world_build(&w, c, all, n) == 0)
		rc = delete_run(&x, &w, all, gone, &touched);
	/* Once a file changed, the records say what is on disk now, whatever
	 * failed after. */
	if (rc == 0 || touched) {
		left = survivors(all, n, gone, name, &nleft);
		vm_snapshot_free_all(all, n);
		*allp = left;
		*np = nleft;
	}
	if (rc == 0)
		qemu_log_append(x.r.log, "snapshot '%s'%s of VM '%s' deleted", name,
		    children ? " and those below it" : "", c->name);
	else if (touched)
		err_prefix("snapshot '%s' of VM '%s' is gone, but not all of its files were merged "
		    "and removed", name, c->name);
	free(gone);
	world_free(&w);
	snap_end(&x);
	return rc;
}
