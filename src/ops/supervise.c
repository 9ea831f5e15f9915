/* supervise: the built-in VMs' restart policy, while `vmtty serve
 * --supervise` runs (see supervise.h). */
#include "ops/supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "hv/hv.h"
#include "model/host.h"
#include "model/journal.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/job.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/paths.h"
#include "util/spawn.h"
#include "util/xalloc.h"

#define SUP_REAPED 64		/* exit statuses kept for the crashes to come */
/* Starts run on this many lanes, a VM always on the same one (by id):
 * a VM whose starts are slow, or that crashes over and over, does not
 * hold up the restart of another one on another lane. */
#define SUP_LANES 4

enum phase {
	SUP_WATCH,		/* running or off: followed */
	SUP_WAIT,		/* crashed (or its restart failed): a restart is due */
	SUP_STARTING,		/* a start runs on the lane */
	SUP_LEFT,		/* crashed, on-crash leave: left as it is */
	SUP_GAVE_UP,		/* crashed too often: left until someone starts it */
};

struct svm {
	struct supervise *s;
	int64_t id;
	char *host, *name;
	char uuid[UUID_STR_LEN];
	bool restart, autostart;	/* its policy, as last read */
	bool seen;		/* in the latest look at the inventory */
	bool gone;		/* deleted while a start ran: freed when it ends */
	enum phase phase;
	int pid;		/* its qemu when last seen running; 0 */
	int pidfd, watch;	/* following that qemu; -1 */
	int timer;		/* the restart that is due; -1 */
	enum hv_state from;	/* what the next start expects it to be */
	long long tries[SUPERVISE_RESTARTS];	/* when the last restarts began */
	size_t ntry;		/* the next slot of TRIES */
	long long started;	/* when a restart of ours last brought it up; 0 */
	int backoff_ms;		/* before the next restart */
	char why[512];		/* its last crash, in a few words */
};

struct sup_hv {
	char *name;
	struct hv *hv;		/* for peeks, on the loop's thread */
};

struct supervise {
	struct loop *loop;
	struct jobs *jobs;
	struct lane *lanes[SUP_LANES];
	struct db *db;
	supervise_say_fn say;
	void *say_arg;
	int lock;		/* one supervisor per runtime directory */
	int timer;		/* the next sweep */
	bool quitting;
	struct sup_hv *hvs;
	size_t nhvs;
	struct svm **vms;
	size_t nvms;
	struct {
		pid_t pid;
		int status;
	} reaped[SUP_REAPED];
	size_t nreaped;		/* the next slot of REAPED */
};

/* A start on the lane: what it needs is its own, the VM is not touched
 * there. */
struct start_job {
	struct svm *vm;
	struct host host;
	struct vm_config c;
	enum hv_state from;
	bool autostart;
	int rc;
	char note[256];
	char error[1024];
};

static void look(struct supervise *s, struct svm *vm, bool first);
static void done_start_cb(void *arg);

/* Journal MESSAGE as ACTION on VM, and log it. */
static void
record(struct supervise *s, struct svm *vm, const char *action, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
record(struct supervise *s, struct svm *vm, const char *action, bool ok, const char *fmt, ...)
{
	char msg[2048], line[2300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (journal_add(s->db, vm->host, vm->name, action, ok, msg) != 0)
		s->say(err_get(), s->say_arg);
	snprintf(line, sizeof line, "VM '%s/%s': %s", vm->host, vm->name, msg);
	s->say(line, s->say_arg);
}

/* --- the qemus this process adopted --- */

static void
on_reaped(pid_t pid, int status, void *arg)
{
	struct supervise *s = arg;

	s->reaped[s->nreaped].pid = pid;
	s->reaped[s->nreaped].status = status;
	s->nreaped = (s->nreaped + 1) % SUP_REAPED;
	log_debug("supervise: reaped %d (status 0x%x)", (int)pid, (unsigned)status);
}

/* How qemu PID ended, when it was ours to reap: its status into BUF. */
static bool
reaped_status(struct supervise *s, int pid, char *buf, size_t len)
{
	spawn_reap_adopted(on_reaped, s);
	for (size_t i = 0; pid > 0 && i < SUP_REAPED; i++)
		if (s->reaped[i].pid == pid) {
			spawn_status_text(s->reaped[i].status, buf, len);
			return true;
		}
	return false;
}

/* --- following a running qemu --- */

static void
unwatch(struct svm *vm)
{
	if (vm->watch >= 0)
		loop_remove_fd(vm->s->loop, vm->watch);
	if (vm->pidfd >= 0)
		close(vm->pidfd);
	vm->watch = vm->pidfd = -1;
}

static void
on_exit_fd(int fd, short revents, void *arg)
{
	struct svm *vm = arg;

	(void)fd;
	(void)revents;
	unwatch(vm);
	if (!vm->s->quitting)
		look(vm->s, vm, false);
}

/* Follow qemu PID: its pidfd turns readable when it ends.  A pid reused in
 * between is found out at the next sweep. */
static void
watch(struct svm *vm, int pid)
{
	unwatch(vm);
	vm->pid = pid;
	if ((vm->pidfd = pidfd_open(pid, 0)) < 0) {
		log_debug("supervise: pidfd_open %d: %s", pid, strerror(errno));
		return;
	}
	vm->watch = loop_add_fd(vm->s->loop, vm->pidfd, POLLIN, on_exit_fd, vm);
}

/* --- starts, on the lane --- */

static void
work_start(void *arg)
{
	struct start_job *j = arg;
	struct hv *hv = hv_open(&j->host);

	if (hv == NULL) {
		j->rc = -1;
	} else {
		j->rc = hv_start_if(hv, &j->c, j->from, j->note, sizeof j->note);
		hv_close(hv);
	}
	if (j->rc != 0)
		snprintf(j->error, sizeof j->error, "%s", err_get());
}

static void
start_job_free(struct start_job *j)
{
	host_clear(&j->host);
	vm_config_clear(&j->c);
	free(j);
}

static void
svm_free(struct svm *vm)
{
	unwatch(vm);
	if (vm->timer >= 0)
		loop_cancel_timer(vm->s->loop, vm->timer);
	free(vm->host);
	free(vm->name);
	free(vm);
}

/* Restarts of VM that began within the window. */
static int
recent_tries(const struct svm *vm)
{
	long long now = log_now_ms();
	int n = 0;

	for (size_t i = 0; i < SUPERVISE_RESTARTS; i++)
		if (vm->tries[i] > 0 && now - vm->tries[i] < SUPERVISE_WINDOW_MS)
			n++;
	return n;
}

static void on_due(void *arg);

/* VM has crashed (or its restart failed): restart it after the backoff,
 * unless it has been restarted too often.  WHAT says what happened,
 * journaled as ACTION; false when it was given up. */
static bool
plan_restart(struct supervise *s, struct svm *vm, const char *action, const char *what)
{
	int delay = vm->backoff_ms;

	if (recent_tries(vm) >= SUPERVISE_RESTARTS) {
		vm->phase = SUP_GAVE_UP;
		record(s, vm, action, false, "%s; gave up after %d tries to restart it within "
		    "%d s: it stays %s until it is started by hand", what, SUPERVISE_RESTARTS,
		    SUPERVISE_WINDOW_MS / 1000,
		    strcmp(action, "crash") == 0 ? "crashed" : "off");
		return false;
	}
	vm->phase = SUP_WAIT;
	vm->timer = loop_add_timer(s->loop, delay, on_due, vm);
	record(s, vm, action, false, "%s; restarting in %d s (on-crash restart)", what,
	    (delay + 999) / 1000);
	return true;
}

/* The backend of built-in host NAME, for peeks (opened once). */
static struct hv *
host_hv(struct supervise *s, const char *name)
{
	struct host h;
	struct hv *hv;

	for (size_t i = 0; i < s->nhvs; i++)
		if (strcmp(s->hvs[i].name, name) == 0)
			return s->hvs[i].hv;
	if (host_get(s->db, name, &h) != 0)
		return NULL;
	hv = hv_open(&h);
	host_clear(&h);
	if (hv == NULL)
		return NULL;
	s->hvs = xreallocarray(s->hvs, s->nhvs + 1, sizeof *s->hvs);
	s->hvs[s->nhvs].name = xstrdup(name);
	s->hvs[s->nhvs++].hv = hv;
	return hv;
}

/* What VM's qemu shows at once (pidfile and /proc: never blocks). */
static int
peek(struct supervise *s, struct svm *vm, struct hv_status *st)
{
	struct hv *hv = host_hv(s, vm->host);
	struct vm_config c;

	if (hv == NULL)
		return -1;
	memset(&c, 0, sizeof c);
	memcpy(c.uuid, vm->uuid, sizeof c.uuid);
	c.name = vm->name;
	return hv_peek(hv, &c, st);
}

/* Start VM (FROM: what it should still be), on the lane. */
static void
start(struct supervise *s, struct svm *vm, enum hv_state from, bool autostart)
{
	struct start_job *j = xcalloc(1, sizeof *j);
	char why[1100];

	if (!autostart) {
		vm->tries[vm->ntry] = log_now_ms();
		vm->ntry = (vm->ntry + 1) % SUPERVISE_RESTARTS;
		vm->backoff_ms = vm->backoff_ms * 2 > SUPERVISE_BACKOFF_MAX_MS ?
		    SUPERVISE_BACKOFF_MAX_MS : vm->backoff_ms * 2;
	}
	j->vm = vm;
	j->from = from;
	j->autostart = autostart;
	if (vm_load(s->db, vm->id, &j->c) != 0 || host_get(s->db, vm->host, &j->host) != 0) {
		snprintf(why, sizeof why, "%s", err_get());
		start_job_free(j);
		vm->phase = SUP_WATCH;
		if (autostart)
			record(s, vm, "start", false, "autostart failed: %s", why);
		else
			plan_restart(s, vm, "start", why);
		return;
	}
	vm->phase = SUP_STARTING;
	job_submit(s->lanes[(size_t)vm->id % SUP_LANES], work_start, done_start_cb, j);
}

/* A restart is due. */
static void
on_due(void *arg)
{
	struct svm *vm = arg;

	vm->timer = -1;
	if (vm->s->quitting || vm->phase != SUP_WAIT)
		return;
	start(vm->s, vm, vm->from, false);
}

/* VM's qemu died without a clean shutdown (ST: what the backend says). */
static void
crash(struct supervise *s, struct svm *vm, const struct hv_status *st, bool first)
{
	const char *log = strstr(st->detail, "; log: ");
	char status[128], what[1400];
	int pid = vm->pid;

	if (pid == 0 && sscanf(st->detail, "qemu (pid %d)", &pid) != 1)
		pid = 0;
	unwatch(vm);
	vm->pid = 0;
	if (reaped_status(s, pid, status, sizeof status))
		snprintf(vm->why, sizeof vm->why, "its qemu (pid %d) %s", pid, status);
	else if (pid > 0)
		snprintf(vm->why, sizeof vm->why, "its qemu (pid %d) ended without a clean "
		    "shutdown", pid);
	else
		snprintf(vm->why, sizeof vm->why, "its qemu ended without a clean shutdown");
	snprintf(what, sizeof what, "%s: %s%s%s", first ? "found crashed as vmtty serve "
	    "--supervise began" : "crashed", vm->why, log != NULL ? "; log: " : "",
	    log != NULL ? log + 7 : "");
	vm_set_state(s->db, vm->id, "crashed");
	if (!vm->restart) {
		/* Journaled once; one that was crashed before is no news. */
		vm->phase = SUP_LEFT;
		if (!first)
			record(s, vm, "crash", false, "%s; left crashed (on-crash leave)", what);
		return;
	}
	if (vm->started > 0 && log_now_ms() - vm->started >= SUPERVISE_STABLE_MS)
		vm->backoff_ms = SUPERVISE_BACKOFF_MS;
	vm->from = HV_CRASHED;
	plan_restart(s, vm, "crash", what);
}

/* Look at VM now: follow a running qemu, see a crash, start an autostart
 * VM when the supervisor begins (FIRST). */
static void
look(struct supervise *s, struct svm *vm, bool first)
{
	struct hv_status st;

	if (vm->phase == SUP_STARTING)
		return;
	if (peek(s, vm, &st) != 0) {
		log_debug("supervise: %s/%s: %s", vm->host, vm->name, err_get());
		return;
	}
	if (st.pid > 0) {
		if (st.pid != vm->pid || vm->pidfd < 0)
			watch(vm, st.pid);
		if (vm->phase != SUP_WATCH) {
			/* Someone started it meanwhile: after giving up (or
			 * leaving it) that is a fresh start. */
			if (vm->timer >= 0)
				loop_cancel_timer(s->loop, vm->timer);
			vm->timer = -1;
			if (vm->phase != SUP_WAIT) {
				memset(vm->tries, 0, sizeof vm->tries);
				vm->backoff_ms = SUPERVISE_BACKOFF_MS;
			}
			vm->phase = SUP_WATCH;
		}
		return;
	}
	unwatch(vm);
	if (st.state == HV_OFF) {
		vm->pid = 0;
		/* Off while a restart is due: the last one failed and was
		 * undone; the next one starts it from off. */
		if (vm->phase == SUP_WAIT) {
			vm->from = HV_OFF;
			return;
		}
		vm->phase = SUP_WATCH;
		if (first && vm->autostart)
			start(s, vm, HV_OFF, true);
		return;
	}
	if (st.state == HV_CRASHED && vm->phase == SUP_WATCH)
		crash(s, vm, &st, first);
}

/* VM's start ended (rc as hv_start_if's). */
static void
done_start_cb(void *arg)
{
	struct start_job *j = arg;
	struct svm *vm = j->vm;
	struct supervise *s = vm->s;
	struct hv_status st;
	char what[1200];

	if (vm->gone) {
		svm_free(vm);
		start_job_free(j);
		return;
	}
	vm->phase = SUP_WATCH;
	if (j->rc == 0) {
		if (j->autostart)
			record(s, vm, "start", true, "started: autostart, as vmtty serve --supervise "
			    "began%s%s", j->note[0] != '\0' ? "; " : "", j->note);
		else
			record(s, vm, "start", true, "restarted after a crash, as its on-crash policy "
			    "says: %s; restart %d within %d s%s%s", vm->why, recent_tries(vm),
			    SUPERVISE_WINDOW_MS / 1000, j->note[0] != '\0' ? "; " : "", j->note);
		vm_set_state(s->db, vm->id, "running");
		vm->started = log_now_ms();
	} else if (j->autostart) {
		if (j->rc < 0)
			record(s, vm, "start", false, "autostart failed: %s", j->error);
	} else {
		bool down = peek(s, vm, &st) == 0 && st.pid == 0;

		/* Failed, or not made because another vmtty held the VM while
		 * it stayed down: the restart is still due. */
		if (j->rc < 0 || (down && st.state == j->from)) {
			snprintf(what, sizeof what, "restart failed: %s", j->error);
			if (down && !s->quitting) {
				vm->from = st.state == HV_CRASHED ? HV_CRASHED : HV_OFF;
				plan_restart(s, vm, "start", what);
			} else {
				record(s, vm, "start", false, "%s", what);
			}
		}
	}
	start_job_free(j);
	if (!s->quitting && vm->phase == SUP_WATCH)
		look(s, vm, false);
}

/* A start that never ran: the supervisor is quitting. */
static void
discard_start(void *arg)
{
	struct start_job *j = arg;

	if (j->vm->gone)
		svm_free(j->vm);
	else
		j->vm->phase = SUP_WATCH;
	start_job_free(j);
}

/* --- the inventory --- */

static struct svm *
find_vm(struct supervise *s, int64_t id, const char *uuid)
{
	for (size_t i = 0; i < s->nvms; i++)
		if (s->vms[i]->id == id && strcmp(s->vms[i]->uuid, uuid) == 0)
			return s->vms[i];
	return NULL;
}

/* Follow the built-in VMs of host NAME as the inventory has them now. */
static void
load_host(struct supervise *s, const char *name)
{
	struct vm_summary *v;
	size_t n;

	if (vm_list(s->db, name, &v, &n) != 0) {
		s->say(err_get(), s->say_arg);
		/* Keep what was known rather than drop it. */
		for (size_t i = 0; i < s->nvms; i++)
			if (strcmp(s->vms[i]->host, name) == 0)
				s->vms[i]->seen = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct svm *vm = find_vm(s, v[i].id, v[i].uuid);

		if (vm == NULL) {
			vm = xcalloc(1, sizeof *vm);
			vm->s = s;
			vm->id = v[i].id;
			memcpy(vm->uuid, v[i].uuid, sizeof vm->uuid);
			vm->pidfd = vm->watch = vm->timer = -1;
			vm->backoff_ms = SUPERVISE_BACKOFF_MS;
			s->vms = xreallocarray(s->vms, s->nvms + 1, sizeof *s->vms);
			s->vms[s->nvms++] = vm;
		}
		free(vm->host);
		free(vm->name);
		vm->host = xstrdup(v[i].host);
		vm->name = xstrdup(v[i].name);
		vm->restart = v[i].restart_on_crash;
		vm->autostart = v[i].autostart;
		vm->seen = true;
	}
	vm_summary_free(v, n);
}

/* Read the inventory again and look at every built-in VM.  FIRST: the
 * supervisor begins (autostart). */
static void
sweep(struct supervise *s, bool first)
{
	struct host *hosts;
	size_t nh;

	spawn_reap_adopted(on_reaped, s);
	if (host_list(s->db, &hosts, &nh) != 0) {
		s->say(err_get(), s->say_arg);
		return;
	}
	for (size_t i = 0; i < s->nvms; i++)
		s->vms[i]->seen = false;
	for (size_t i = 0; i < nh; i++)
		if (hosts[i].kind == HOST_BUILTIN)
			load_host(s, hosts[i].name);
	host_list_free(hosts, nh);
	for (size_t i = s->nvms; i-- > 0;) {
		struct svm *vm = s->vms[i];

		if (vm->seen)
			continue;
		s->vms[i] = s->vms[--s->nvms];
		if (vm->phase == SUP_STARTING) {
			unwatch(vm);
			vm->gone = true;
		} else {
			svm_free(vm);
		}
	}
	for (size_t i = 0; i < s->nvms; i++) {
		struct svm *vm = s->vms[i];

		/* The policy changed: a due restart is called off, a VM left
		 * crashed is restarted now. */
		if (vm->phase == SUP_WAIT && !vm->restart) {
			if (vm->timer >= 0)
				loop_cancel_timer(s->loop, vm->timer);
			vm->timer = -1;
			vm->phase = SUP_LEFT;
			record(s, vm, "crash", false, "not restarted: its on-crash policy is leave now");
		} else if (vm->phase == SUP_LEFT && vm->restart) {
			vm->phase = SUP_WATCH;
		}
		look(s, vm, first);
	}
}

static void
on_sweep(void *arg)
{
	struct supervise *s = arg;

	s->timer = -1;
	if (s->quitting)
		return;
	sweep(s, false);
	s->timer = loop_add_timer(s->loop, SUPERVISE_SWEEP_MS, on_sweep, s);
}

/* --- the supervisor --- */

/* One supervisor per runtime directory: a lock file there, held while it
 * runs.  The fd, or -1 + err. */
static int
take_lock(void)
{
	char *base = paths_runtime_dir(), *path;
	int fd = -1;

	if (paths_private_dir(base, "runtime directory", "remove it, or set XDG_RUNTIME_DIR or "
	    "VMTTY_RUNTIME_DIR to a directory of your own") != 0)
		goto out;
	path = xasprintf("%s/supervise.lock", base);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		err_set("cannot open lock '%s': %s", path, strerror(errno));
	else if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			err_set("another 'vmtty serve --supervise' already supervises the built-in "
			    "VMs of runtime directory '%s' (it holds '%s'); stop it first, or run "
			    "this one without --supervise", base, path);
		else
			err_set("cannot lock '%s': %s", path, strerror(errno));
		close(fd);
		fd = -1;
	}
	free(path);
out:
	free(base);
	return fd;
}

struct supervise *
supervise_new(struct loop *loop, struct jobs *jobs, struct db *db, supervise_say_fn say,
    void *arg)
{
	struct supervise *s;
	int lock;

	if ((lock = take_lock()) < 0)
		return NULL;
	s = xcalloc(1, sizeof *s);
	s->loop = loop;
	s->jobs = jobs;
	s->db = db;
	s->say = say;
	s->say_arg = arg;
	s->lock = lock;
	s->timer = -1;
	for (size_t i = 0; i < SUP_LANES; i++) {
		/* Lanes made before a failure stop with the job system. */
		if ((s->lanes[i] = jobs_lane_new(jobs, "supervise")) == NULL) {
			close(lock);
			free(s);
			return NULL;
		}
		lane_set_discard(s->lanes[i], discard_start);
	}
	/* Without it the supervisor still works; the journal then cannot
	 * say how a qemu ended. */
	if (spawn_subreaper() != 0)
		log_debug("supervise: %s", err_get());
	sweep(s, true);
	s->timer = loop_add_timer(loop, SUPERVISE_SWEEP_MS, on_sweep, s);
	return s;
}

void
supervise_shutdown(struct supervise *s)
{
	if (s == NULL)
		return;
	s->quitting = true;
	if (s->timer >= 0)
		loop_cancel_timer(s->loop, s->timer);
	s->timer = -1;
	for (size_t i = 0; i < s->nvms; i++) {
		unwatch(s->vms[i]);
		if (s->vms[i]->timer >= 0)
			loop_cancel_timer(s->loop, s->vms[i]->timer);
		s->vms[i]->timer = -1;
	}
}

void
supervise_free(struct supervise *s)
{
	if (s == NULL)
		return;
	/* A start still running on a lane left behind never reports: its
	 * job keeps its own copies, not the VM. */
	for (size_t i = 0; i < s->nvms; i++)
		svm_free(s->vms[i]);
	free(s->vms);
	for (size_t i = 0; i < s->nhvs; i++) {
		hv_close(s->hvs[i].hv);
		free(s->hvs[i].name);
	}
	free(s->hvs);
	close(s->lock);
	free(s);
}
