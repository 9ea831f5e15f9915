/* migrate: moving a running VM to another libvirt host, one code path for
 * both front ends (vmtty migrate and the TUI's migrate dialog).
 *
 * A struct migration carries one move: the front end sets it up
 * (migrate_init), may look first (migrate_check: the VM's state and the
 * preflight's findings), then runs it off the UI thread (migrate_run: the
 * preflight again, then hv_migrate, blocking, with progress about every
 * 500 ms on the migrating thread) and may stop it from any thread
 * (migrate_stop).  The outcome goes to the inventory with migrate_record
 * (the CLI's connection, or the TUI's writer): on success the VM moves
 * and both hosts' journals say so, in one transaction; on failure the
 * journal says why, and the VM runs on its source as before. */
#ifndef VMTTY_MIGRATE_H
#define VMTTY_MIGRATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/hv.h"
#include "model/vm.h"

struct db;
struct host;
struct migration;

/* On the migrating thread (see struct migration). */
typedef void (*migrate_checked_fn)(struct migration *m, void *arg);
typedef void (*migrate_progress_fn)(struct migration *m, const struct hv_migrate_progress *p,
    void *arg);

struct migration {
	/* Set by migrate_init. */
	struct vm_config c;		/* the VM, on its source host (a copy) */
	struct hv_migrate_opts o;	/* the choices */
	/* Set by migrate_run. */
	char *to;			/* the destination host's name */
	int64_t to_id;
	char uri[300];			/* o.uri: from its migration address */
	/* Set by the caller, may be NULL; called on the migrating thread:
	 * ON_CHECKED once the preflight passed (REPORT has its findings),
	 * ON_PROGRESS about every 500 ms and once when done (ABORT_ERROR, when
	 * not "", says why a stop asked for earlier could not be).  Either may
	 * call migrate_stop. */
	migrate_checked_fn on_checked;
	migrate_progress_fn on_progress;
	void *arg;
	/* Set by the caller, may be NULL: the inventory's path.  The volumes
	 * a copy makes on the destination are recorded there (a creation,
	 * on a connection of migrate_run's own) before they are made: those
	 * that a destination whose daemon died mid-way keeps go with the
	 * next vmtty that reaches it (provision_recover). */
	const char *inventory;
	/* What migrate_check and migrate_run found. */
	char report[2048];		/* the preflight's findings, one a line */
	bool checked;			/* the preflight passed */
	struct hv_migrate_progress last;	/* phase: a static string */
	int64_t ms;			/* the move's wall time */
	char message[1024];		/* after migrate_run: the journal's words for
					 * the move, or why it failed */
	char abort_error[512];
	/* Between threads. */
	atomic_bool stop;		/* migrate_stop was called */
	atomic_bool postcopy;		/* running on the destination already */
	bool asked;			/* the source was asked to stop */
	struct hv *src;
	/* migrate_run's record of the volumes made on the destination. */
	struct db *rec_db;
	int64_t rec;			/* 0: none */
	char **vols;			/* made, not yet deleted again */
	size_t nvols;
	bool unrecorded;		/* one could not be recorded */
};

/* O's migration URI from host DST's migration address (tcp://ADDR), into
 * BUF; O->uri stays NULL when DST has none. */
void migrate_uri(struct hv_migrate_opts *o, const struct host *dst, char *buf, size_t len);

/* M for moving C with O (both copied; the callbacks NULL). */
void migrate_init(struct migration *m, const struct vm_config *c, const struct hv_migrate_opts *o);
void migrate_clear(struct migration *m);

/* Can a running VM on host FROM move live to host TO?  (Two libvirt
 * hosts, not the same one.) */
bool migrate_live_ok(const struct host *from, const struct host *to);

/* The preflight of C from SRC to DST with O: each finding, one line each,
 * into REPORT ("name free on 'b'", "storage shared", "copies 1.2 GiB").  0,
 * or -1 + err saying what failed and where (REPORT has the lines before). */
int migrate_preflight(struct hv *src, struct hv *dst, const struct vm_config *c,
    const struct hv_migrate_opts *o, char *report, size_t len);

/* Before anything moves (blocking): M's VM runs (or is paused) on SRC and
 * the preflight to DST passes, its findings in M->report.  0, or -1 + err. */
int migrate_check(struct migration *m, struct hv *src, struct hv *dst);

/* Move M's VM from SRC to DST, host TO's backend (blocking, until it is
 * there or has failed): migrate_check, then the move with M's callbacks.
 * Writes no inventory but the record of the volumes it makes (see
 * inventory) for as long as it may have to take them back; one that a
 * dead destination keeps stays recorded, and the error says so.  0 with
 * M->message the journal's words, or -1 +
 * err (also in M->message); the VM then runs on SRC as before, unless the
 * error says otherwise. */
int migrate_run(struct migration *m, struct hv *src, struct hv *dst, const struct host *to);

/* From any thread (never blocks): stop M's move; migrate_run then fails
 * and the VM stays on its source.  In post-copy it cannot: -1 + err
 * saying why. */
int migrate_stop(struct migration *m);

/* The inventory after migrate_run: ERROR NULL (it moved): the VM onto the
 * destination, with the journal's entries on both hosts, in one
 * transaction; else (a failure there or before it) the journal says
 * ERROR on the source host.  0, or -1 + err. */
int migrate_record(struct db *db, const struct migration *m, const char *error);

/* Ask SRC to stop C's migration; migrate_run then fails and C stays.  In
 * post-copy it cannot: -1 + err saying why. */
int migrate_abort(struct hv *src, const struct vm_config *c, bool postcopy);

/* Memory and disks together, the unknown parts as 0: the bytes of P in
 * all, processed and remaining (each may be NULL); returns the percent
 * done, 0 to 100. */
int migrate_amounts(const struct hv_migrate_progress *p, int64_t *total, int64_t *processed,
    int64_t *remaining);

/* A bandwidth limit as the user gave it (whole MiB/s, 1 to 1000000) into
 * *MIB.  0, or -1 + err naming it. */
int migrate_parse_bandwidth(const char *s, uint64_t *mib);

#endif
