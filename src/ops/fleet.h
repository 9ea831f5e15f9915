/* fleet: the live view of every host for a long-running front end (the
 * TUI).  Each host's backend lives on its own job lane, so a slow or dead
 * host never blocks the UI thread or the other hosts; its domain list is
 * refreshed on events and on a timer, and a lost connection is retried
 * with backoff.  Results arrive on the UI thread through the loop. */
#ifndef VMTTY_FLEET_H
#define VMTTY_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/hv.h"

struct jobs;
struct loop;
struct fleet;

enum fleet_state {
	FLEET_CONNECTING,
	FLEET_UP,
	FLEET_UNREACHABLE,
};

/* What the UI may read about a host between calls into the fleet. */
struct fleet_host {
	char *name;
	char *uri;
	enum host_kind kind;
	enum fleet_state state;
	char error[512];	/* why unreachable */
	long long retry_at;	/* log_now_ms() of the next attempt, when unreachable */
	struct hv_domain *doms;	/* libvirt hosts: the last list */
	size_t ndoms;
	uint64_t generation;	/* bumps whenever doms or state change */
	int busy;		/* jobs queued or running for this host */
	bool asking;		/* its connect waits for the user's answer */
	bool held;		/* the user declined to log in: not retried by
				 * itself, only by fleet_refresh */
};

/* CHANGED(ARG) runs on the UI thread after any host's view changed. */
struct fleet *fleet_new(struct loop *loop, struct jobs *jobs, void (*changed)(void *arg),
    void *arg);
/* Quitting: call fleet_shutdown, then jobs_free (completions still find the
 * fleet, and start nothing new), then fleet_free. */
void fleet_shutdown(struct fleet *f);
void fleet_free(struct fleet *f);
/* Follow exactly these hosts (by name and URI); new ones connect. */
void fleet_set_hosts(struct fleet *f, const struct host *hosts, size_t n);
struct fleet_host *fleet_get(struct fleet *f, const char *name);
/* Ask every reachable libvirt host for its list again now, and connect the
 * unreachable ones now (also those held after a declined login). */
void fleet_refresh(struct fleet *f);
/* Ask HOST for its list again now, when it is up. */
void fleet_refresh_host(struct fleet *f, const char *host);
/* The UI puts a question of HOST's connect to the user (ASKING true): no
 * timeout runs meanwhile.  ASKING false: answered, the connect goes on
 * (its timeout starts again); DECLINED: the user cancelled, so a failed
 * connect is not retried by itself. */
void fleet_asking(struct fleet *f, const char *host, bool asking, bool declined);

/* Operations besides enum hv_action. */
#define FLEET_START (-1)
#define FLEET_UNDEFINE (-2)

/* Run an operation on a VM off the UI thread: an enum hv_action,
 * FLEET_START or FLEET_UNDEFINE.  DONE gets NULL on success, else the
 * error sentence; NOTE (may be "") a remark such as the TCG notice. */
typedef void (*fleet_done_fn)(const char *error, const char *note, void *arg);
int fleet_vm_action(struct fleet *f, const char *host, const struct vm_config *c, int action,
    fleet_done_fn done, void *arg);

/* Open VM C's serial console off the UI thread; DONE gets the fd (>= 0,
 * non-blocking, the caller's to close) or -1 and the error sentence. */
typedef void (*fleet_fd_fn)(int fd, const char *error, void *arg);
int fleet_console_open(struct fleet *f, const char *host, const struct vm_config *c, bool force,
    fleet_fd_fn done, void *arg);

/* Run FN(HV, ARG) on HOST's lane with its backend (blocking work such as
 * provisioning), then DONE(ARG) on the UI thread.  0 or -1 + err. */
typedef void (*fleet_run_fn)(struct hv *hv, void *arg);
int fleet_run(struct fleet *f, const char *host, fleet_run_fn fn, void (*done)(void *arg),
    void *arg);
/* The same for a call that is quick when the host answers (a few RPCs,
 * never a copy): when FN has not returned 15 s after it began (as long as
 * the CLI waits for a host), or a bounded call ahead of it on the lane
 * has not, the host did not answer.  It is shown unreachable and
 * connected again, and STALLED(ERROR, ARG) runs on the UI thread with the
 * sentence ("host 'NAME' did not answer within 15 s (URI)"); DONE(ARG)
 * still follows if FN ever returns, so ARG lives until then. */
int fleet_run_bounded(struct fleet *f, const char *host, fleet_run_fn fn,
    void (*done)(void *arg), void (*stalled)(const char *error, void *arg), void *arg);

/* The same for VM C's graphical display: an fd to its RFB (VNC) server. */
int fleet_graphics_open(struct fleet *f, const char *host, const struct vm_config *c,
    fleet_fd_fn done, void *arg);

const char *fleet_state_name(enum fleet_state s);

/* The state of built-in VM UUID (NAME) on host FH, through HV, decided here
 * for the TUI: what its qemu shows at once (pidfile, /proc: never blocks),
 * a pause from QMP's last word through the fleet (a peek cannot see one),
 * else from RECORDED, the state last recorded.  0, or -1 + err when the
 * backend cannot say. */
int fleet_vm_state(const struct fleet_host *fh, struct hv *hv, const char *uuid, const char *name,
    const char *recorded, struct hv_status *st);

#endif
