/* move: a cold move of a shut-off VM between any two hosts (built-in ->
 * libvirt, libvirt -> built-in, libvirt -> libvirt), one code path for the
 * front ends (vmtty migrate --offline).  First a plan (the preflight: the
 * VM is off, its name is free there, the destination takes its
 * configuration, what each disk is), then the run: each disk streamed
 * through vmtty from the source's volume into a new one on the
 * destination (hv_vol_*), its SHA-256 compared with what the destination
 * reads back, the VM defined there from its configuration with the new
 * paths; only then does the inventory move it (one transaction), the
 * journal of both hosts say so, and the source go (unless kept).  On any
 * failure, an abort included, the destination is left as it was, and so
 * are the source and the inventory.  Blocking: off the UI thread. */
#ifndef VMTTY_MOVE_H
#define VMTTY_MOVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct hv;
struct vm_config;

/* Where a move is, for the caller's progress callback. */
struct move_progress {
	const char *phase;	/* "flatten", "copy", "verify", "define", "done" */
	int64_t elapsed_ms;
	int64_t total;		/* bytes to copy, every disk */
	int64_t done;		/* of them: copied ("copy"), read back ("verify") */
	size_t disk, ndisks;	/* the disk at hand (1-based), of how many */
	const char *path;	/* its path on the source */
};

/* Called about every 500 ms and at each step, on the moving thread. */
typedef void (*move_fn)(const struct move_progress *p, void *arg);

struct move_opts {
	const char *pool;	/* a libvirt destination's pool; NULL: the one of
				 * the disk's pool's name there, else "default" */
	bool keep_source;	/* leave the VM and its disks on the source */
	uint64_t bandwidth_mib;	/* MiB/s; 0 no limit */
	const atomic_bool *cancel;	/* set (by a signal, another thread): stop */
	move_fn fn;		/* NULL: no progress */
	void *arg;
};

/* One disk as it moved. */
struct move_disk {
	char *from, *to;	/* its paths on the source and the destination */
	char sha256[65];	/* of its bytes, the same on both sides */
	int64_t bytes;		/* copied; 0 when shared */
	bool shared;		/* the destination has the very file (same path,
				 * same bytes): nothing copied, nothing removed */
	bool flattened;		/* its backing chain was merged into the copy */
};

struct move_result {
	struct move_disk *disks;
	size_t ndisks;
	int64_t bytes;		/* copied in all */
	int64_t elapsed_ms;
	char message[512];	/* the journal's line: "moved offline from ..." */
	char warning[1024];	/* what of the source could not be removed; "" */
};

struct move_plan;

/*
 * The preflight of moving C (off) from SRC to DST with O: each finding, a
 * line each, into REPORT.  The plan, or NULL + err saying what failed and
 * where (REPORT has the lines before).  DB is the inventory (names there).
 */
struct move_plan *move_plan(struct db *db, struct hv *src, struct hv *dst,
    const struct vm_config *c, const struct move_opts *o, char *report, size_t len);
void move_plan_free(struct move_plan *p);

/* Move P's VM (see above); P stays the caller's.  0 and *R filled (free it
 * with move_result_clear), or -1 + err: "VM 'x' did not move to host 'b':
 * why; it stays on host 'a' as before".  Both journal it. */
int move_run(struct move_plan *p, struct move_result *r);
void move_result_clear(struct move_result *r);

#endif
