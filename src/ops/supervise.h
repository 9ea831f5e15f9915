/*
 * supervise: keeps the built-in VMs up while `vmtty serve --supervise`
 * runs.  VMs with autostart on that are off are started when it begins.
 * A VM whose qemu dies without a clean shutdown (kill -9, a segfault: its
 * pidfile stays, while a guest that powers itself off, a shutdown, a
 * poweroff or a SIGTERM make qemu remove it) has crashed: with on-crash
 * restart it is started again after a backoff (1 s, then twice as long
 * each time, at most SUPERVISE_RESTARTS times within SUPERVISE_WINDOW_MS,
 * after which it is given up); with leave it stays crashed.  Each crash,
 * start and giving up is journaled with why.
 *
 * Everything runs on the loop's thread but the starts, which go to a job
 * lane of their own; the inventory is read and the journal written on
 * the loop's thread.  A running qemu is followed through a pidfd, so a
 * crash is seen at once; every VM is looked at again every
 * SUPERVISE_SWEEP_MS (VMs started by others, policies changed since).
 * The supervisor adopts the qemus it starts (a subreaper): the exit status
 * of those reaches it, and the journal says which signal killed them.
 */
#ifndef VMTTY_SUPERVISE_H
#define VMTTY_SUPERVISE_H

#define SUPERVISE_SWEEP_MS 2000
#define SUPERVISE_BACKOFF_MS 1000	/* before the first restart after a crash */
#define SUPERVISE_BACKOFF_MAX_MS 30000	/* the backoff doubles up to this */
#define SUPERVISE_RESTARTS 4		/* at most this many restarts of a VM ... */
#define SUPERVISE_WINDOW_MS 60000	/* ... within this long, then it gives up */
#define SUPERVISE_STABLE_MS 60000	/* up this long after a restart: the backoff
					 * starts again at SUPERVISE_BACKOFF_MS */

struct db;
struct jobs;
struct loop;
struct supervise;

/* A line for the log (one sentence, not escaped: the caller escapes). */
typedef void (*supervise_say_fn)(const char *line, void *arg);

/*
 * Supervise the built-in VMs of DB's inventory from LOOP's thread (JOBS
 * delivers the starts' results there).  Only one supervisor per runtime
 * directory: another one running is an error.  The autostart VMs are
 * queued for a start before it returns.  NULL + err.
 */
struct supervise *supervise_new(struct loop *loop, struct jobs *jobs, struct db *db,
    supervise_say_fn say, void *arg);
/* Quitting: call supervise_shutdown (nothing new starts; the VMs are left
 * as they are), then jobs_free (a start that ends meanwhile is still
 * journaled), then supervise_free. */
void supervise_shutdown(struct supervise *s);
void supervise_free(struct supervise *s);

#endif
