/*
 * Cold moves (move.h).  The bytes go through vmtty: each disk is read
 * from the source host's stream and written into the destination's, while
 * SHA-256 runs over them; the destination's volume is then read back whole
 * and must give the same digest before anything else happens.  SHA-256
 * comes from nettle (libnettle8, which libvirt's GnuTLS loads anyway: no
 * new library on a libvirt machine, no dependency of its own, and a
 * constant-time, audited implementation instead of one written here).
 *
 * What the destination gets is recorded as a creation in the inventory
 * (provision_record) as it is made: if vmtty is killed mid-way, the next
 * vmtty takes it back (provision_recover), as for a VM creation.
 */
#include "ops/move.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "hv/hv.h"
#include "model/creation.h"
#include "model/host.h"
#include "model/journal.h"
#include "model/vm.h"
#include "ops/keep.h"
#include "ops/provision.h"
#include "util/err.h"
#include "util/log.h"
#include "util/num.h"
#include "util/paths.h"
#include "util/spawn.h"
#include "util/strv.h"
#include "util/xalloc.h"

#define MOVE_CHUNK (256 * 1024)
#define MOVE_TICK_MS 500
#define MOVE_FLATTEN_MS (6 * 3600 * 1000)

/* One disk of the plan. */
struct pdisk {
	const struct vm_disk *d;	/* the VM's, in the plan's copy */
	char *read_path;	/* what is streamed: the disk, or its flattened copy */
	char *format;
	char *pool;		/* libvirt destination: its pool; NULL "default" */
	char *name;		/* the new volume's name */
	char *backing;		/* the source's backing file (built-in: flattened) */
	int64_t length, capacity;
	char *to;		/* the destination's path once made */
	char sha[65];
	bool shared, made;
};

struct move_plan {
	struct db *db;
	struct hv *src, *dst;
	struct vm_config c;
	struct move_opts o;
	struct pdisk *disks;
	size_t ndisks;
	char *flatdir;		/* where flattened copies live meanwhile */
	int64_t t0, total, done;
	long long last_tick;
	int64_t rec;		/* the creation record; 0 none */
	bool defined;		/* the destination has the VM's definition */
	struct move_progress prog;
};

/* Append FMT's text and a newline to REPORT. */
static void __attribute__((format(printf, 3, 4)))
line(char *report, size_t len, const char *fmt, ...)
{
	size_t n = strlen(report);
	va_list ap;

	if (n >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(report + n, len - n, fmt, ap);
	va_end(ap);
	n = strlen(report);
	snprintf(report + n, len - n, "\n");
}

static bool
builtin(const struct hv *hv)
{
	return hv->host.kind == HOST_BUILTIN;
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

static bool
stopped(const struct move_plan *p)
{
	return p->o.cancel != NULL && atomic_load(p->o.cancel);
}

/* ---- the preflight -------------------------------------------------------- */

/* The VM is off on its host. */
static int
check_off(struct hv *src, const struct vm_config *c)
{
	struct hv_status st;

	if (hv_status(src, c, &st) != 0)
		return err_prefix("cannot tell whether VM '%s' is off", c->name);
	if (st.state != HV_OFF && st.state != HV_CRASHED)
		return err_set("VM '%s' is %s on host '%s': stop it first, or migrate it live "
		    "(without --offline)", c->name, hv_state_name(st.state), src->host.name);
	return 0;
}

/* No other VM of C's name (or UUID) on DST: in the inventory, and for a
 * libvirt host in its own list. */
static int
check_name(struct db *db, struct hv *dst, const struct vm_config *c)
{
	struct vm_summary *v;
	struct hv_domain *d;
	size_t n;
	int rc = 0;

	if (vm_list(db, dst->host.name, &v, &n) != 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++)
		if (strcmp(v[i].name, c->name) == 0 || strcmp(v[i].uuid, c->uuid) == 0)
			rc = err_set("host '%s' already has a VM named '%s' (or with its UUID) in "
			    "the inventory; rename or remove one of them first", dst->host.name,
			    v[i].name);
	vm_summary_free(v, n);
	if (rc != 0 || builtin(dst))
		return rc;
	if (hv_list(dst, &d, &n) != 0)
		return err_prefix("cannot list the domains of host '%s'", dst->host.name);
	for (size_t i = 0; i < n && rc == 0; i++)
		if (strcmp(d[i].name, c->name) == 0 || strcasecmp(d[i].uuid, c->uuid) == 0)
			rc = err_set("host '%s' already has a domain named '%s' (or with its UUID); "
			    "rename or remove it there first", dst->host.name, c->name);
	hv_domains_free(d, n);
	return rc;
}

/* A libvirt source's domain has exactly the inventory's disks: a domain
 * defined or changed outside vmtty would lose what the inventory does
 * not know of it. */
static int
check_disks(struct hv *src, const struct vm_config *c)
{
	struct strv paths;
	int rc = 0;

	if (builtin(src))
		return 0;
	if (hv_disk_paths(src, c, &paths) != 0)
		return -1;
	for (size_t i = 0; i < paths.n && rc == 0; i++) {
		bool known = false;

		for (size_t j = 0; j < c->ndisks && !known; j++)
			known = strcmp(c->disks[j].path, paths.v[i]) == 0;
		if (!known && paths.v[i][0] != '\0')
			rc = err_set("VM '%s' on host '%s' has a disk the inventory does not know "
			    "('%s'): it was defined or changed outside vmtty, which moves a VM only "
			    "when it knows all of it; add the disk with 'vmtty edit' first",
			    c->name, src->host.name, paths.v[i]);
	}
	for (size_t j = 0; j < c->ndisks && rc == 0; j++) {
		bool there = false;

		for (size_t i = 0; i < paths.n && !there; i++)
			there = strcmp(c->disks[j].path, paths.v[i]) == 0;
		if (!there)
			rc = err_set("the inventory gives VM '%s' disk '%s', which its domain on host "
			    "'%s' does not have; refresh the host or fix the VM with 'vmtty edit'",
			    c->name, c->disks[j].path, src->host.name);
	}
	strv_free(&paths);
	return rc;
}

/* DST can run C (a built-in host: all but its disks, not there yet). */
static int
check_config(struct hv *dst, const struct vm_config *c)
{
	struct vm_config bare;
	int rc;

	if (!builtin(dst))
		return hv_check(dst, c) != 0 ? err_prefix("host '%s' cannot take VM '%s'",
		    dst->host.name, c->name) : 0;
	vm_config_copy(&bare, c);
	while (bare.ndisks > 0)
		vm_config_remove_disk(&bare, bare.ndisks - 1);
	rc = hv_check(dst, &bare);
	vm_config_clear(&bare);
	return rc != 0 ? err_prefix("host '%s' cannot take VM '%s'", dst->host.name, c->name) : 0;
}

static bool
in_list(char **names, size_t n, const char *name)
{
	for (size_t i = 0; name != NULL && i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* What each disk is, and where it goes. */
static int
plan_disks(struct move_plan *p, char *report, size_t len)
{
	char **pools = NULL, a[32], b[32];
	size_t npools = 0;
	int rc = 0;

	if (!builtin(p->dst) && hv_pool_list(p->dst, &pools, &npools) != 0)
		return err_prefix("cannot list the storage pools of host '%s'", p->dst->host.name);
	if (p->o.pool != NULL && !builtin(p->dst) && !in_list(pools, npools, p->o.pool))
		rc = err_set("host '%s' has no storage pool '%s'; give one it has (virsh "
		    "pool-list)", p->dst->host.name, p->o.pool);
	p->disks = xcalloc(p->c.ndisks + 1, sizeof *p->disks);
	for (size_t i = 0; i < p->c.ndisks && rc == 0; i++) {
		struct pdisk *pd = &p->disks[p->ndisks++];
		struct hv_vol_info info;
		struct hv_vol *v;

		pd->d = &p->c.disks[i];
		pd->read_path = xstrdup(pd->d->path);
		if ((v = hv_vol_open_read(p->src, pd->d->path, pd->d->format, &info)) == NULL) {
			rc = err_prefix("VM '%s'", p->c.name);
			break;
		}
		hv_vol_close(v, false);
		pd->format = info.format;
		pd->backing = info.backing;
		pd->length = info.length;
		pd->capacity = info.capacity;
		info.format = info.backing = NULL;
		pd->name = xstrdup(base_name(pd->d->path));
		if (builtin(p->dst))
			pd->pool = xstrdup(p->c.name);
		else if (p->o.pool != NULL)
			pd->pool = xstrdup(p->o.pool);
		else if (in_list(pools, npools, info.pool))
			pd->pool = xstrdup(info.pool);
		else
			pd->pool = in_list(pools, npools, "default") ? xstrdup("default") : NULL;
		hv_vol_info_clear(&info);
		if (pd->backing != NULL && !builtin(p->src)) {
			rc = err_set("disk '%s' of VM '%s' has a backing file ('%s') on host '%s'; "
			    "vmtty moves whole disks only: merge it there first (virsh blockpull, "
			    "or qemu-img convert)", pd->d->path, p->c.name, pd->backing,
			    p->src->host.name);
			break;
		}
		num_format_bytes(pd->length, a, sizeof a);
		num_format_bytes(pd->capacity, b, sizeof b);
		line(report, len, "disk '%s': %s, %s of %s%s%s; to %s '%s'", pd->d->path,
		    pd->format, a, b, pd->backing != NULL ? ", flattened first (backing file " : "",
		    pd->backing != NULL ? "found)" : "", builtin(p->dst) ? "directory" : "pool",
		    builtin(p->dst) ? pd->pool : pd->pool != NULL ? pd->pool : "default");
		p->total += pd->length;
	}
	for (size_t i = 0; i < npools; i++)
		free(pools[i]);
	free(pools);
	return rc;
}

struct move_plan *
move_plan(struct db *db, struct hv *src, struct hv *dst, const struct vm_config *c,
    const struct move_opts *o, char *report, size_t len)
{
	struct move_plan *p;
	char all[32];

	report[0] = '\0';
	if (strcmp(src->host.name, dst->host.name) == 0)
		return err_set("VM '%s' is on host '%s' already; give another host", c->name,
		    dst->host.name), NULL;
	if (builtin(dst) && o->pool != NULL)
		return err_set("host '%s' runs the built-in backend, which has no storage pools; "
		    "leave out --pool", dst->host.name), NULL;
	if (check_off(src, c) != 0)
		return NULL;
	line(report, len, "VM '%s' is off on host '%s'", c->name, src->host.name);
	line(report, len, "host '%s' answers", dst->host.name);
	if (check_name(db, dst, c) != 0)
		return NULL;
	line(report, len, "the name '%s' is free there", c->name);
	if (check_disks(src, c) != 0)
		return NULL;
	if (check_config(dst, c) != 0)
		return NULL;
	line(report, len, "host '%s' takes its configuration", dst->host.name);
	p = xcalloc(1, sizeof *p);
	p->db = db;
	p->src = src;
	p->dst = dst;
	p->o = *o;
	vm_config_copy(&p->c, c);
	if (plan_disks(p, report, len) != 0) {
		move_plan_free(p);
		return NULL;
	}
	num_format_bytes(p->total, all, sizeof all);
	line(report, len, "copies %zu disk%s, %s in all", p->ndisks, p->ndisks == 1 ? "" : "s",
	    all);
	return p;
}

void
move_plan_free(struct move_plan *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->ndisks; i++) {
		free(p->disks[i].read_path);
		free(p->disks[i].format);
		free(p->disks[i].pool);
		free(p->disks[i].name);
		free(p->disks[i].backing);
		free(p->disks[i].to);
	}
	free(p->disks);
	free(p->flatdir);
	vm_config_clear(&p->c);
	free(p);
}

/* ---- progress, pace --------------------------------------------------------- */

static void
tell(struct move_plan *p, const char *phase, size_t disk, bool force)
{
	long long now = log_now_ms();

	if (p->o.fn == NULL || (!force && now - p->last_tick < MOVE_TICK_MS))
		return;
	p->last_tick = now;
	p->prog.phase = phase;
	p->prog.elapsed_ms = now - p->t0;
	p->prog.total = p->total;
	p->prog.done = p->done;
	p->prog.disk = disk + 1;
	p->prog.ndisks = p->ndisks;
	p->prog.path = disk < p->ndisks ? p->disks[disk].d->path : NULL;
	p->o.fn(&p->prog, p->o.arg);
}

/* Keep to the bandwidth: wait until DONE bytes are due since START. */
static void
pace(struct move_plan *p, long long start, int64_t done)
{
	long long due, now;

	if (p->o.bandwidth_mib == 0)
		return;
	due = start + (long long)(done * 1000 / (int64_t)(p->o.bandwidth_mib << 20));
	while (!stopped(p) && (now = log_now_ms()) < due) {
		long long ms = due - now > 100 ? 100 : due - now;
		struct timespec ts = { 0, ms * 1000000L };

		nanosleep(&ts, NULL);
	}
}

static int
cancelled(struct move_plan *p)
{
	(void)p;
	return err_set("the move stopped as asked");
}

/* Record PATH, of KIND, for provision_recover, should vmtty die before
 * the move ends (removed newest first). */
static void
note_path(struct move_plan *p, enum creation_kind kind, const char *path)
{
	if (p->rec != 0 && creation_note(p->db, p->rec, kind, path) != 0)
		log_debug("move: cannot record '%s': %s", path, err_get());
}

/* PATH, just made on the destination: on a built-in host its directory
 * first (removed after it, when empty). */
static void
note(struct move_plan *p, const char *path)
{
	char *dir = xstrndup(path, (size_t)(strrchr(path, '/') != NULL ?
	    strrchr(path, '/') - path : 0));

	if (builtin(p->dst) && dir[0] != '\0')
		note_path(p, CREATION_DIR, dir);
	note_path(p, builtin(p->dst) ? CREATION_FILE : CREATION_VOLUME, path);
	free(dir);
}

/* ---- flattening ------------------------------------------------------------ */

struct flat_line {
	struct move_plan *p;
	size_t disk;
	int64_t base;
};

/* qemu-img -p: "    (12.34/100%)". */
static void
on_flat_line(const char *s, void *arg)
{
	struct flat_line *f = arg;
	const char *open = strchr(s, '(');
	double pct;

	if (open != NULL && sscanf(open, "(%lf/100%%)", &pct) == 1) {
		f->p->done = f->base + (int64_t)(pct / 100 * (double)f->p->disks[f->disk].capacity);
		tell(f->p, "flatten", f->disk, false);
	}
}

/* A built-in disk on a backing file becomes one whole qcow2 (qemu-img
 * convert) in a private directory; that copy is what moves. */
static int
flatten(struct move_plan *p)
{
	struct flat_line fl = { p, 0, 0 };
	char errbuf[1024], *data, *images;
	const char *qimg = getenv("VMTTY_QEMU_IMG");
	int64_t total = p->total;
	const char *at = NULL;
	int status, rc = 0;

	/* Counted in the disks' capacities meanwhile: what qemu-img counts. */
	p->total = 0;
	for (size_t i = 0; i < p->ndisks; i++)
		p->total += p->disks[i].backing != NULL ? p->disks[i].capacity : 0;
	for (size_t i = 0; i < p->ndisks && rc == 0; i++) {
		struct pdisk *pd = &p->disks[i];
		struct stat st;
		struct strv a;

		if (pd->backing == NULL)
			continue;
		if (p->flatdir == NULL) {
			data = paths_data_dir();
			images = xasprintf("%s/images", data);
			free(data);
			p->flatdir = xasprintf("%s/.move-XXXXXX", images);
			rc = paths_mkdir_p(images, 0700);
			free(images);
			if (rc != 0 || mkdtemp(p->flatdir) == NULL) {
				if (rc == 0)
					rc = err_set("cannot create a directory in '%s': %s",
					    p->flatdir, strerror(errno));
				free(p->flatdir);
				p->flatdir = NULL;
				break;
			}
			note_path(p, CREATION_DIR, p->flatdir);
		}
		free(pd->read_path);
		pd->read_path = xasprintf("%s/%zu-%s", p->flatdir, i, pd->name);
		note_path(p, CREATION_FILE, pd->read_path);
		strv_init(&a);
		strv_add(&a, qimg != NULL && qimg[0] != '\0' ? qimg : "qemu-img");
		strv_add(&a, "convert");
		strv_add(&a, "-p");
		strv_add2(&a, "-f", pd->format);
		strv_add2(&a, "-O", pd->format);
		strv_add(&a, pd->d->path);
		strv_add(&a, pd->read_path);
		fl.disk = i;
		fl.base = p->done;
		tell(p, "flatten", i, true);
		rc = spawn_capture(a.v, on_flat_line, &fl, p->o.cancel, errbuf, sizeof errbuf,
		    MOVE_FLATTEN_MS, &status);
		strv_free(&a);
		if (rc == 0 && status != 0)
			rc = err_set("qemu-img convert of disk '%s' exited with status %d: %s",
			    pd->d->path, status, errbuf[0] != '\0' ? errbuf : "no message");
		if (rc == 0 && stat(pd->read_path, &st) != 0)
			rc = err_set("cannot read '%s': %s", pd->read_path, strerror(errno));
		if (rc != 0) {
			at = pd->d->path;
			break;
		}
		total += st.st_size - pd->length;
		pd->length = st.st_size;
		p->done = fl.base + pd->capacity;
	}
	p->total = total;
	p->done = 0;
	if (rc != 0)
		return stopped(p) ? cancelled(p) : at != NULL ? err_prefix("cannot flatten disk '%s'",
		    at) : -1;
	return 0;
}

/* Remove the flattened copies and their directory. */
static void
flat_clean(struct move_plan *p)
{
	if (p->flatdir == NULL)
		return;
	for (size_t i = 0; i < p->ndisks; i++)
		if (p->disks[i].backing != NULL && strncmp(p->disks[i].read_path, p->flatdir,
		    strlen(p->flatdir)) == 0)
			unlink(p->disks[i].read_path);
	rmdir(p->flatdir);
}

/* ---- streaming ---------------------------------------------------------------- */

static void
hex(const uint8_t *d, char out[65])
{
	for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* Read all of R into SHA (and into W when not NULL) in the PHASE of disk
 * I, counting into p->done; R is closed, W is left open. */
static int
pump(struct move_plan *p, size_t i, const char *phase, struct hv_vol *r, struct hv_vol *w,
    char out[65])
{
	struct sha256_ctx sha;
	uint8_t digest[SHA256_DIGEST_SIZE];
	char *buf = xmalloc(MOVE_CHUNK);
	long long start = log_now_ms();
	int64_t moved = 0;
	ssize_t n;
	int rc = 0;

	sha256_init(&sha);
	while ((n = hv_vol_read(r, buf, MOVE_CHUNK)) > 0) {
		sha256_update(&sha, (size_t)n, (const uint8_t *)buf);
		if (w != NULL && hv_vol_write(w, buf, (size_t)n) != 0) {
			rc = -1;
			break;
		}
		moved += n;
		p->done += n;
		tell(p, phase, i, false);
		if (w != NULL)
			pace(p, start, moved);
		if (stopped(p)) {
			rc = cancelled(p);
			break;
		}
	}
	if (n < 0)
		rc = -1;
	free(buf);
	if (hv_vol_close(r, rc == 0) != 0 && rc == 0)
		rc = -1;
	if (rc == 0) {
		sha256_digest(&sha, SHA256_DIGEST_SIZE, digest);
		hex(digest, out);
	}
	return rc;
}

/* The digest of PATH on HV (FORMAT), read whole, in PHASE: 0, or -1 +
 * err. */
static int
digest_of(struct move_plan *p, size_t i, struct hv *hv, const char *path, const char *format,
    const char *phase, char out[65])
{
	struct hv_vol_info info;
	struct hv_vol *r = hv_vol_open_read(hv, path, format, &info);

	if (r == NULL)
		return -1;
	hv_vol_info_clear(&info);
	return pump(p, i, phase, r, NULL, out);
}

/*
 * Between two libvirt hosts: has the destination this very disk (a pool
 * on shared storage)?  The same path there with the same bytes is taken
 * as shared: nothing is copied and the source's file stays, since it may
 * be the destination's.  The same path with other bytes is refused.
 */
static int
check_shared(struct move_plan *p, size_t i)
{
	struct pdisk *pd = &p->disks[i];
	struct hv_vol_info info;
	int64_t done = p->done;
	char there[65];
	struct hv_vol *r;
	int rc;

	if (builtin(p->src) || builtin(p->dst) || p->o.pool != NULL)
		return 0;
	if ((r = hv_vol_open_read(p->dst, pd->d->path, pd->format, &info)) == NULL) {
		log_debug("move: disk '%s' is not on host '%s': %s", pd->d->path,
		    p->dst->host.name, err_get());
		return 0;
	}
	hv_vol_info_clear(&info);
	rc = pump(p, i, "compare", r, NULL, there) != 0 ||
	    digest_of(p, i, p->src, pd->read_path, pd->format, "compare", pd->sha) != 0 ? -1 : 0;
	p->done = done;
	if (rc != 0)
		return -1;
	if (strcmp(there, pd->sha) != 0)
		return err_set("host '%s' has another file at the path of disk '%s' (a copy left "
		    "by an earlier move?); remove it there, or give --pool", p->dst->host.name,
		    pd->d->path);
	pd->shared = true;
	pd->to = xstrdup(pd->d->path);
	p->total -= pd->length;
	return 0;
}

/* Disk I streamed into a new volume on the destination, and read back. */
static int
copy_disk(struct move_plan *p, size_t i)
{
	struct pdisk *pd = &p->disks[i];
	struct hv_volume v = { pd->pool, pd->name, pd->format, pd->capacity, NULL, NULL };
	struct hv_vol_info info;
	struct hv_vol *r, *w;
	char back[65], why[1024];
	int rc;

	if ((r = hv_vol_open_read(p->src, pd->read_path, pd->format, &info)) == NULL)
		return -1;
	if (info.length != pd->length) {
		p->total += info.length - pd->length;
		pd->length = info.length;
	}
	hv_vol_info_clear(&info);
	if ((w = hv_vol_open_write(p->dst, &v, pd->length, &pd->to)) == NULL) {
		hv_vol_close(r, false);
		return -1;
	}
	pd->made = true;
	note(p, pd->to);
	tell(p, "copy", i, true);
	rc = pump(p, i, "copy", r, w, pd->sha);
	if (rc == 0)
		tell(p, "copy", i, true);
	else
		snprintf(why, sizeof why, "%s", err_get());
	/* Closed without OK, or failing to finish, the volume goes; unless
	 * that fails too (the host is gone): then undo tries again. */
	if (hv_vol_close(w, rc == 0) == 0) {
		pd->made = rc == 0;
	} else if (rc == 0) {
		rc = -1;
	} else {
		log_debug("move: %s", err_get());
		err_set("%s", why);
	}
	if (rc != 0)
		return -1;
	p->done -= pd->length;
	tell(p, "verify", i, true);
	if (digest_of(p, i, p->dst, pd->to, pd->format, "verify", back) != 0)
		return err_prefix("cannot read back disk '%s' from host '%s'", pd->to,
		    p->dst->host.name);
	tell(p, "verify", i, true);
	if (strcmp(back, pd->sha) != 0)
		return err_set("disk '%s' reads back from host '%s' with SHA-256 %s, not the %s "
		    "it was sent with", pd->to, p->dst->host.name, back, pd->sha);
	return 0;
}

/* ---- the end: define, record, remove ------------------------------------ */

/* C as the destination runs it: the new paths, made by vmtty. */
static void
dest_config(struct move_plan *p, struct vm_config *out)
{
	vm_config_copy(out, &p->c);
	out->host_id = p->dst->host.id;
	for (size_t i = 0; i < p->ndisks; i++) {
		if (p->disks[i].shared)
			continue;
		free(out->disks[i].path);
		out->disks[i].path = xstrdup(p->disks[i].to);
		out->disks[i].owned = true;
	}
}

/* Take back what the destination got; 0 when all of it went. */
static int
undo(struct move_plan *p, const struct vm_config *dc)
{
	int rc = 0;

	if (p->defined && hv_undefine(p->dst, dc) != 0) {
		log_debug("move: undefine on '%s': %s", p->dst->host.name, err_get());
		rc = -1;
	}
	for (size_t i = p->ndisks; i-- > 0;) {
		struct pdisk *pd = &p->disks[i];

		if (!pd->made)
			continue;
		if (hv_volume_delete(p->dst, pd->to) != 0) {
			log_debug("move: delete '%s' on '%s': %s", pd->to, p->dst->host.name,
			    err_get());
			rc = -1;
		} else {
			pd->made = false;
		}
	}
	return rc;
}

/* Disk I of the source goes after the move: copied, not a CD-ROM or
 * read-only disk vmtty did not make, no other VM uses it, and on a
 * built-in host no other VM's disk stands on it (KEEP: its backing chain,
 * its snapshots' files); what stays and why goes into WARN. */
static bool
source_goes(struct move_plan *p, size_t i, const struct vm_disk_ref *refs, size_t nrefs,
    const struct keep *keep, char *warn, size_t len)
{
	const struct vm_disk *d = p->disks[i].d;
	const struct hv_keep *u;
	const char *role;
	size_t n;

	if (p->disks[i].shared || ((d->cdrom || d->readonly) && !d->owned))
		return false;
	if (provision_disk_user(refs, nrefs, p->c.id, p->c.host_id, builtin(p->src),
	    d->path) != NULL)
		return false;
	if (keep == NULL || (u = keep_find(keep, d->path, &role)) == NULL)
		return true;
	if ((n = strlen(warn)) < len)
		snprintf(warn + n, len - n, "%sdisk '%s' stays on host '%s': VM '%s' needs it (%s)",
		    n > 0 ? "; " : "", d->path, p->src->host.name, u->vm, role);
	return false;
}

/* The source's definition and disks go; what could not, into WARN. */
static void
remove_source(struct move_plan *p, char *warn, size_t len)
{
	struct vm_disk_ref *refs = NULL;
	struct keep keep, *kp = NULL;
	size_t nrefs = 0, n;

	warn[0] = '\0';
	if (hv_undefine(p->src, &p->c) != 0) {
		snprintf(warn, len, "VM '%s' could not be undefined on host '%s': %s", p->c.name,
		    p->src->host.name, err_get());
		return;
	}
	if (vm_disk_refs(p->db, &refs, &nrefs) != 0) {
		snprintf(warn, len, "its disks stay on host '%s': %s", p->src->host.name,
		    err_get());
		return;
	}
	if (builtin(p->src) && keep_build(p->db, p->c.id, &keep) == 0) {
		kp = &keep;
	} else if (builtin(p->src)) {
		snprintf(warn, len, "its disks stay on host '%s': %s", p->src->host.name, err_get());
		vm_disk_refs_free(refs, nrefs);
		return;
	}
	for (size_t i = 0; i < p->ndisks; i++) {
		if (!source_goes(p, i, refs, nrefs, kp, warn, len))
			continue;
		if (hv_volume_delete(p->src, p->disks[i].d->path) != 0 &&
		    (n = strlen(warn)) < len)
			snprintf(warn + n, len - n, "%s%s", n > 0 ? "; " : "", err_get());
	}
	if (kp != NULL)
		keep_free(kp);
	vm_disk_refs_free(refs, nrefs);
}

static void
result_fill(struct move_plan *p, struct move_result *r)
{
	char bytes[32];
	size_t copied = 0;

	r->disks = xcalloc(p->ndisks + 1, sizeof *r->disks);
	r->ndisks = p->ndisks;
	for (size_t i = 0; i < p->ndisks; i++) {
		struct move_disk *m = &r->disks[i];

		m->from = xstrdup(p->disks[i].d->path);
		m->to = xstrdup(p->disks[i].to);
		memcpy(m->sha256, p->disks[i].sha, sizeof m->sha256);
		m->shared = p->disks[i].shared;
		m->flattened = p->disks[i].backing != NULL;
		m->bytes = m->shared ? 0 : p->disks[i].length;
		r->bytes += m->bytes;
		copied += !m->shared;
	}
	r->elapsed_ms = log_now_ms() - p->t0;
	num_format_bytes(r->bytes, bytes, sizeof bytes);
	snprintf(r->message, sizeof r->message, "moved offline from host '%s' to host '%s' in "
	    "%.1f s (%zu of %zu disk%s copied, %s, SHA-256 checked%s)", p->src->host.name,
	    p->dst->host.name, (double)r->elapsed_ms / 1000, copied, p->ndisks,
	    p->ndisks == 1 ? "" : "s", bytes, p->o.keep_source ? "; the source kept" : "");
}

/* Copy, check, define, record: 0 once the inventory has the VM on DST. */
static int
run_steps(struct move_plan *p, struct vm_config *dc)
{
	if (flatten(p) != 0)
		return -1;
	for (size_t i = 0; i < p->ndisks; i++) {
		if (stopped(p))
			return cancelled(p);
		if (check_shared(p, i) != 0 || (!p->disks[i].shared && copy_disk(p, i) != 0))
			return -1;
	}
	p->done = p->total;
	tell(p, "define", p->ndisks, true);
	/* Started meanwhile, it may have written after its disks were read. */
	if (check_off(p->src, &p->c) != 0)
		return -1;
	if (stopped(p))
		return cancelled(p);
	dest_config(p, dc);
	if (hv_check(p->dst, dc) != 0)
		return err_prefix("host '%s' cannot take VM '%s'", p->dst->host.name, p->c.name);
	if (hv_define(p->dst, dc) != 0)
		return -1;
	p->defined = true;
	if (vm_move_config(p->db, dc, p->dst->host.id) != 0)
		return err_prefix("the inventory could not record the move");
	return 0;
}

int
move_run(struct move_plan *p, struct move_result *r)
{
	struct vm_config dc = { 0 };
	char why[1536];
	int rc;

	memset(r, 0, sizeof *r);
	p->t0 = log_now_ms();
	p->done = 0;
	if (provision_record(p->db, p->dst->host.id, p->c.name, p->c.uuid, &p->rec) != 0) {
		log_debug("move: no creation record: %s", err_get());
		p->rec = 0;
	}
	rc = run_steps(p, &dc);
	flat_clean(p);
	if (rc != 0) {
		snprintf(why, sizeof why, "VM '%s' did not move to host '%s': %s; it stays on host "
		    "'%s' as before", p->c.name, p->dst->host.name, err_get(), p->src->host.name);
		if (undo(p, dc.name != NULL ? &dc : &p->c) != 0) {
			size_t n = strlen(why);

			snprintf(why + n, sizeof why - n, "; what it made on host '%s' could not all "
			    "be removed (%s): the next vmtty removes it once the host answers",
			    p->dst->host.name, err_get());
		} else if (p->rec != 0) {
			creation_end(p->db, p->rec);
		}
		vm_config_clear(&dc);
		journal_add(p->db, p->src->host.name, p->c.name, "migrate", false, why);
		return err_set("%s", why);
	}
	if (p->rec != 0)
		creation_end(p->db, p->rec);
	result_fill(p, r);
	journal_add(p->db, p->src->host.name, p->c.name, "migrate", true, r->message);
	journal_add(p->db, p->dst->host.name, p->c.name, "migrate", true, r->message);
	if (!p->o.keep_source) {
		remove_source(p, r->warning, sizeof r->warning);
		if (r->warning[0] != '\0')
			journal_add(p->db, p->src->host.name, p->c.name, "migrate", false,
			    r->warning);
	}
	p->done = p->total;
	tell(p, "done", p->ndisks, true);
	vm_config_clear(&dc);
	return 0;
}

void
move_result_clear(struct move_result *r)
{
	for (size_t i = 0; i < r->ndisks; i++) {
		free(r->disks[i].from);
		free(r->disks[i].to);
	}
	free(r->disks);
	memset(r, 0, sizeof *r);
}
