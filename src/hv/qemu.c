/* The built-in backend's operations: start qemu detached, act on it and
 * read its state over QMP, tell a clean stop (qemu removes its pidfile) from
 * a crash (the pidfile stays, the process is gone).  Process handling
 * (pidfiles, /proc, the lock, logs, signals) is in qemu_proc.c. */
#include "hv/hv.h"
#include "hv/qemu.h"
#include "hv/qmp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"
#include "util/log.h"
#include "util/paths.h"
#include "util/spawn.h"
#include "util/xalloc.h"

#define QEMU_START_MS 30000	/* qemu answers on QMP once set up */
#define QEMU_QMP_MS 3000
#define QEMU_REBOOT_MS 60000

struct qemu_priv {
	char *base;		/* runtime directory of all VMs */
	struct qemu_watch *watch;	/* events, while a front end follows them */
};

static const char *
qemu_binary(void)
{
	const char *b = getenv("VMTTY_QEMU");

	return b != NULL && b[0] != '\0' ? b : "qemu-system-x86_64";
}

static int
qemu_open(struct hv *hv)
{
	struct qemu_priv *p = xcalloc(1, sizeof *p);

	p->base = paths_runtime_dir();
	hv->priv = p;
	return 0;
}

static void
qemu_close(struct hv *hv)
{
	struct qemu_priv *p = hv->priv;

	if (p != NULL) {
		qemu_watch_stop(p->watch);
		free(p->base);
	}
	free(p);
	hv->priv = NULL;
}

/* The runtime base, made and checked before anything in it is used: in a
 * shared /tmp another user could have made it first (or a symbolic link by
 * its name) and would get the VMs' sockets. */
static int
base_ready(struct qemu_priv *p)
{
	return paths_private_dir(p->base, "runtime directory", "remove it, or set "
	    "XDG_RUNTIME_DIR or VMTTY_RUNTIME_DIR to a directory of your own");
}

static int
run_paths(struct hv *hv, const struct vm_config *c, struct qemu_run *r)
{
	struct qemu_priv *p = hv->priv;

	if (base_ready(p) != 0)
		return -1;
	return qemu_run_paths(p->base, c, r);
}

int
qemu_runtime(struct hv *hv, const struct vm_config *c, struct qemu_run *r)
{
	return run_paths(hv, c, r);
}

static enum hv_state
map_status(const char *s)
{
	if (strcmp(s, "running") == 0)
		return HV_RUNNING;
	if (strcmp(s, "shutdown") == 0)
		return HV_SHUTTING_DOWN;
	if (strcmp(s, "guest-panicked") == 0 || strcmp(s, "internal-error") == 0 ||
	    strcmp(s, "io-error") == 0)
		return HV_CRASHED;
	/* paused, suspended, prelaunch, inmigrate, postmigrate, debug, ... */
	return HV_PAUSED;
}

static int
qemu_peek(struct hv *hv, const struct vm_config *c, struct hv_status *st)
{
	struct qemu_run r;
	int pid;

	/* Callers inside this file reach here without hv_status's memset. */
	memset(st, 0, sizeof *st);
	if (run_paths(hv, c, &r) != 0)
		return -1;
	pid = qemu_read_pidfile(r.pidfile);
	/* A start under way: from when it cleans up after the last qemu
	 * until its qemu answers and is set up, it is neither off (no
	 * pidfile yet) nor crashed nor unknown (QMP not up yet). */
	if (qemu_start_under_way(&r)) {
		st->state = HV_STARTING;
		if (pid > 0 && qemu_pid_is_ours(pid, r.pidfile)) {
			st->pid = pid;
			qemu_proc_times(pid, st);
		}
		return 0;
	}
	if (pid == 0) {
		st->state = HV_OFF;
		return 0;
	}
	if (!qemu_pid_is_ours(pid, r.pidfile)) {
		/* qemu removes its pidfile when it exits cleanly: this one died. */
		st->state = HV_CRASHED;
		qemu_crash_detail(&r, pid, st->detail, sizeof st->detail);
		return 0;
	}
	st->state = HV_RUNNING;
	st->pid = pid;
	qemu_cmdline_accel(pid, st->accel, sizeof st->accel);
	qemu_proc_times(pid, st);
	return 0;
}

static int
qemu_status(struct hv *hv, const struct vm_config *c, struct hv_status *st)
{
	struct qemu_run r;
	json_object *ret = NULL, *v;
	struct qmp *q;

	if (qemu_peek(hv, c, st) != 0 || run_paths(hv, c, &r) != 0)
		return -1;
	if (st->state != HV_RUNNING)
		return 0;
	/* Reattaching to a qemu an older vmtty started: its sockets become
	 * the owner's alone before any is used. */
	qemu_private_sockets(&r);
	if ((q = qmp_connect(r.qmp, QEMU_QMP_MS)) == NULL) {
		st->state = HV_UNKNOWN;
		snprintf(st->detail, sizeof st->detail, "%s", err_get());
		return 0;
	}
	if (qmp_call(q, "query-status", NULL, QEMU_QMP_MS, &ret) != 0) {
		st->state = HV_UNKNOWN;
		snprintf(st->detail, sizeof st->detail, "%s", err_get());
		qmp_close(q);
		return 0;
	}
	st->state = json_object_object_get_ex(ret, "status", &v) ?
	    map_status(json_object_get_string(v)) : HV_UNKNOWN;
	json_object_put(ret);
	ret = NULL;
	if (qmp_call(q, "query-kvm", NULL, QEMU_QMP_MS, &ret) == 0 &&
	    json_object_object_get_ex(ret, "enabled", &v))
		snprintf(st->accel, sizeof st->accel, "%s", json_object_get_boolean(v) ? "kvm" : "tcg");
	json_object_put(ret);
	qmp_close(q);
	return 0;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The states of many VMs with one look at the runtime directory: a VM has
 * a directory there (named by the first 8 characters of its UUID) once it
 * has been started since boot, and only those can be running or crashed.
 * The others are off without a file of theirs being opened: `vmtty list`
 * over 10,000 VMs made 10,000 failed pidfile opens (and 60,000 mkdir and
 * stat calls of the base directory) before.
 */
static int
qemu_status_all(struct hv *hv, const struct vm_summary *v, size_t n, hv_status_fn fn, void *arg)
{
	struct qemu_priv *p = hv->priv;
	char **names = NULL, id[9];
	size_t nn = 0;
	struct dirent *de;
	DIR *d;

	if (base_ready(p) != 0)
		return -1;
	if ((d = opendir(p->base)) == NULL)
		return err_set("cannot read runtime directory '%s': %s", p->base, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strlen(de->d_name) != 8)
			continue;
		names = xreallocarray(names, nn + 1, sizeof *names);
		names[nn++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (nn > 0)
		qsort(names, nn, sizeof *names, cmp_name);
	for (size_t i = 0; i < n; i++) {
		const char *key = id;
		struct vm_config c = { 0 };
		struct hv_status st;

		if (strcmp(v[i].host, hv->host.name) != 0)
			continue;
		snprintf(id, sizeof id, "%.8s", v[i].uuid);
		memset(&st, 0, sizeof st);
		if (nn > 0 && bsearch(&key, names, nn, sizeof *names, cmp_name) != NULL) {
			memcpy(c.uuid, v[i].uuid, sizeof c.uuid);
			c.name = v[i].name;
			if (qemu_status(hv, &c, &st) != 0)
				continue;
		}
		fn(i, &st, arg);	/* no directory: HV_OFF */
	}
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	return 0;
}

/* Another running VM of ours that has DISK open; its name into WHO. */
static bool
disk_in_use(struct hv *hv, const struct vm_config *self, const char *disk, char *who, size_t len)
{
	struct qemu_priv *p = hv->priv;
	char real[PATH_MAX], pidfile[PATH_MAX];
	struct dirent *de;
	bool used = false;
	DIR *d;

	if (realpath(disk, real) == NULL || base_ready(p) != 0)
		return false;
	if ((d = opendir(p->base)) == NULL)
		return false;
	while (!used && (de = readdir(d)) != NULL) {
		size_t clen;
		char *cmd;
		int pid;

		if (de->d_name[0] == '.' || strncmp(de->d_name, self->uuid, 8) == 0)
			continue;
		snprintf(pidfile, sizeof pidfile, "%s/%s/qemu.pid", p->base, de->d_name);
		pid = qemu_read_pidfile(pidfile);
		if (!qemu_pid_is_ours(pid, pidfile) || (cmd = qemu_proc_cmdline(pid, &clen)) == NULL)
			continue;
		if (qemu_cmdline_uses(cmd, clen, real)) {
			used = true;
			/* The guest name from "-name guest=NAME,...", else the dir. */
			qemu_cmdline_value(cmd, clen, "-name", "guest=", who, len);
			if (who[0] == '\0')
				snprintf(who, len, "%.64s", de->d_name);
		}
		free(cmd);
	}
	closedir(d);
	return used;
}

static int
check_file(const char *what, const char *vm, const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return err_set("VM '%s': %s '%s' does not exist; give an existing file",
		    vm, what, path);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return err_set("VM '%s': %s '%s' is not a file", vm, what, path);
	if (access(path, R_OK) != 0)
		return err_set("VM '%s': %s '%s' cannot be read: %s", vm, what, path,
		    strerror(errno));
	return 0;
}

/* A NIC this machine can give the VM: a bridge that exists (qemu's bridge
 * helper would only fail at start), a tap that exists or that root's qemu
 * makes, no libvirt network. */
static int
check_nic(const struct vm_config *c, size_t i)
{
	const struct vm_nic *n = &c->nics[i];
	char path[64];
	struct stat st;

	if (strcmp(n->kind, "network") == 0)
		return err_set("VM '%s': a libvirt network NIC needs a libvirt host; "
		    "use user, bridge or tap networking here", c->name);
	if (strcmp(n->kind, "bridge") == 0) {
		/* vm_config_validate kept the name to 15 safe characters. */
		snprintf(path, sizeof path, "/sys/class/net/%s/bridge", n->source);
		if (stat(path, &st) != 0)
			return err_set("VM '%s', NIC %zu: bridge '%s' does not exist on this "
			    "machine; create it (ip link add %s type bridge) or give another",
			    c->name, i, n->source, n->source);
	} else if (strcmp(n->kind, "tap") == 0 && getuid() != 0) {
		snprintf(path, sizeof path, "/sys/class/net/%s", n->source);
		if (stat(path, &st) != 0)
			return err_set("VM '%s', NIC %zu: tap '%s' does not exist, and only root's "
			    "qemu can make one; create it (ip tuntap add %s mode tap user USER)",
			    c->name, i, n->source, n->source);
	}
	return 0;
}

static int
qemu_check(struct hv *hv, const struct vm_config *c)
{
	char who[256];

	if (c->kernel != NULL && check_file("kernel", c->name, c->kernel) != 0)
		return -1;
	if (c->initrd != NULL && check_file("initrd", c->name, c->initrd) != 0)
		return -1;
	for (size_t i = 0; i < c->ndisks; i++) {
		const struct vm_disk *d = &c->disks[i];

		if (check_file(d->cdrom ? "CD-ROM image" : "disk", c->name, d->path) != 0)
			return -1;
		if (!d->readonly && !d->cdrom && access(d->path, W_OK) != 0)
			return err_set("VM '%s': disk '%s' is not writable: %s", c->name, d->path,
			    strerror(errno));
		if (disk_in_use(hv, c, d->path, who, sizeof who))
			return err_set("VM '%s': disk '%s' is in use by running VM '%s'; stop it "
			    "or use another disk", c->name, d->path, who);
	}
	for (size_t i = 0; i < c->nnics; i++)
		if (check_nic(c, i) != 0)
			return -1;
	return 0;
}

static const char *const ovmf_code_paths[] = {
	"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_CODE.fd", NULL,
};
static const char *const ovmf_vars_paths[] = {
	"/usr/share/OVMF/OVMF_VARS_4M.fd", "/usr/share/OVMF/OVMF_VARS.fd", NULL,
};

static const char *
first_existing(const char *const *paths)
{
	for (; *paths != NULL; paths++)
		if (access(*paths, R_OK) == 0)
			return *paths;
	return NULL;
}

/* This VM's own UEFI variable store, copied from the template once. */
static char *
uefi_vars(const struct vm_config *c, const char *tmpl)
{
	char *dir = paths_data_dir(), *path;

	path = xasprintf("%s/nvram/%s_VARS.fd", dir, c->uuid);
	free(dir);
	if (access(path, F_OK) == 0 || tmpl == NULL)
		return path;
	if (paths_mkdir_parent(path, 0700) != 0 || paths_copy_file(tmpl, path, 0600) != 0) {
		free(path);
		return NULL;
	}
	return path;
}

/* Build the argv with the environment resolved for this machine. */
static int
make_argv(struct hv *hv, const struct vm_config *c, const char *accel, struct qemu_run *r,
    struct strv *out, bool create_vars)
{
	struct qemu_env env = { qemu_binary(), accel, NULL, NULL, 0 };
	char *vars = NULL;
	int rc;

	if (strcmp(c->machine, "microvm") == 0 && strcmp(accel, "tcg") == 0)
		env.tsc_khz = qemu_tsc_khz();

	if (run_paths(hv, c, r) != 0)
		return -1;
	if (strcmp(c->firmware, "uefi") == 0) {
		env.ovmf_code = first_existing(ovmf_code_paths);
		if (env.ovmf_code != NULL) {
			vars = create_vars ? uefi_vars(c, first_existing(ovmf_vars_paths)) :
			    uefi_vars(c, NULL);
			if (vars == NULL)
				return -1;
		}
		env.ovmf_vars = vars;
	}
	rc = qemu_build_argv(c, &env, r, out);
	free(vars);
	return rc;
}

static int
qemu_argv(struct hv *hv, const struct vm_config *c, struct strv *out)
{
	struct qemu_run r;
	char note[256];
	const char *accel = qemu_accel_resolve(c->accel, note, sizeof note);

	if (accel == NULL)
		return -1;
	return make_argv(hv, c, accel, &r, out, false);
}

/* The tuning a start applies once qemu is up: the pins (so that pins
 * taken away while it was off are gone too), the balloon target when one
 * is set, and the balloon's statistics. */
static unsigned
start_tuning(const struct vm_config *c)
{
	return HV_TUNE_PINS | QEMU_TUNE_STATS | (c->tuning.balloon_mib > 0 ? HV_TUNE_BALLOON : 0);
}

/* A start that failed once qemu was up (PID): stop that qemu and remove
 * what it left, so that nothing runs half set up; the error stays, with
 * a word that the start was undone. */
static void
undo_start(const struct vm_config *c, const struct qemu_run *r, int pid)
{
	char *why = xstrdup(err_get());
	int pidfd = pid > 0 ? qemu_open_ours(r, pid) : -1;
	struct qmp *q;

	if (pid > 0 && (q = qmp_connect(r->qmp, QEMU_QMP_MS)) != NULL) {
		/* QEMU may close the connection before it answers. */
		qmp_call(q, "quit", NULL, QEMU_QMP_MS, NULL);
		qmp_close(q);
	}
	if (pid > 0 && !qemu_gone(r, pid, pidfd, QEMU_STOP_MS))
		qemu_poweroff_signals(c, r, pid, pidfd);
	if (pidfd >= 0)
		close(pidfd);
	qemu_clean_runtime(r);
	qemu_log_append(r->log, "start of VM '%s' undone, qemu stopped: %s", c->name, why);
	err_set("%s; the start was undone (qemu stopped)", why);
	free(why);
}

/*
 * Wait for the qemu just started (DAEMON, the process vmtty ran) to answer
 * on QMP, which it does once its main loop runs, after its whole set-up.
 * 0 and *PID the qemu of the pidfile; -1 + err (*PID as far as known)
 * when it exited first or did not answer within QEMU_START_MS.
 */
static int
wait_ready(const struct vm_config *c, const struct qemu_run *r, pid_t daemon, int *pid)
{
	long long deadline = log_now_ms() + QEMU_START_MS;
	int pidfd = pidfd_open(daemon, 0);
	char tail[1024];

	for (;;) {
		long long left = deadline - log_now_ms();
		struct pollfd p = { pidfd, POLLIN, 0 };
		bool ours;
		struct qmp *q;

		*pid = qemu_read_pidfile(r->pidfile);
		ours = *pid > 0 && qemu_pid_is_ours(*pid, r->pidfile);
		if (ours && (q = qmp_connect(r->qmp, left > 0 ? (int)left : 0)) != NULL) {
			qmp_close(q);
			break;
		}
		if (!ours && (pidfd < 0 || poll(&p, 1, 0) == 1)) {
			if (pidfd >= 0)
				close(pidfd);
			qemu_log_tail(r->trace, 2, tail, sizeof tail);
			*pid = 0;
			return err_set("qemu could not start VM '%s': %s", c->name,
			    tail[0] != '\0' ? tail : "it exited and said nothing");
		}
		if (deadline - log_now_ms() <= 0) {
			if (pidfd >= 0)
				close(pidfd);
			return err_set("VM '%s' did not start: qemu did not answer within %d s",
			    c->name, QEMU_START_MS / 1000);
		}
		poll(NULL, 0, 10);
	}
	if (pidfd >= 0)
		close(pidfd);
	return 0;
}

/* Start C, whose lock the caller holds (R its runtime paths). */
static int
start_locked(struct hv *hv, const struct vm_config *c, const struct qemu_run *rp, char *note,
    size_t notelen)
{
	struct hv_status st;
	struct qemu_run r = *rp;
	struct strv argv = { 0 };
	const char *accel;
	char *line;
	int qemufd = -1, pid, rc = -1;
	pid_t daemon;

	if (qemu_status(hv, c, &st) != 0)
		goto out;
	/* A crashed guest whose qemu still runs (a panic, an internal error)
	 * is still a running qemu: it must be powered off first. */
	if (st.pid > 0) {
		err_set("VM '%s' is already %s (qemu pid %d)%s", c->name, hv_state_name(st.state),
		    st.pid, st.state == HV_CRASHED ? "; power it off first" : "");
		goto out;
	}
	if ((accel = qemu_accel_resolve(c->accel, note, notelen)) == NULL)
		goto out;
	if (make_argv(hv, c, accel, &r, &argv, true) != 0)
		goto out;
	if (st.state == HV_CRASHED)
		qemu_log_append(r.log, "cleaning up after the crashed qemu of VM '%s'", c->name);
	/* Said "starting" by status readers until the start is over. */
	qemu_start_mark(&r, true);
	qemu_clean_runtime(&r);
	if (qemu_fresh_logs(&r, &qemufd) != 0)
		goto out;
	line = strv_join_shell(&argv);
	qemu_log_append(r.log, "starting VM '%s' (accel %s): %s", c->name, accel, line);
	log_debug("qemu: start '%s': %s", c->name, line);
	free(line);
	/* Umask 0177 from before qemu's exec: its sockets and its pidfile are
	 * born 0600, with no moment at which they are anything else. */
	if (spawn_daemon(argv.v, qemufd, qemufd, 0177, &daemon) != 0) {
		err_prefix("VM '%s' did not start", c->name);
		goto out;
	}
	if (wait_ready(c, &r, daemon, &pid) != 0) {
		if (pid > 0)
			undo_start(c, &r, pid);
		else
			qemu_clean_runtime(&r);
		goto out;
	}
	if (qemu_tune_apply(c, r.qmp, pid, start_tuning(c)) != 0) {
		undo_start(c, &r, pid);
		goto out;
	}
	qemu_log_append(r.log, "VM '%s' started, qemu pid %d", c->name, pid);
	rc = 0;
out:
	qemu_start_mark(&r, false);
	if (qemufd >= 0)
		close(qemufd);
	strv_free(&argv);
	return rc;
}

int
qemu_start_locked(struct hv *hv, const struct vm_config *c, const struct qemu_run *r,
    char *note, size_t notelen)
{
	if (hv_check(hv, c) != 0 || qemu_tune_preflight("", c) != 0)
		return -1;
	return start_locked(hv, c, r, note, notelen);
}

static int
qemu_start(struct hv *hv, const struct vm_config *c, char *note, size_t notelen)
{
	struct hv_status st;
	struct qemu_run r;
	int lock, rc;

	if (hv_check(hv, c) != 0 || run_paths(hv, c, &r) != 0)
		return -1;
	/* What the host must give (pinned CPUs, free hugepages), before the
	 * VM's runtime directory is touched; a running VM is refused below. */
	if (qemu_peek(hv, c, &st) != 0 || (st.pid == 0 && qemu_tune_preflight("", c) != 0))
		return -1;
	if ((lock = qemu_lock_vm(c, &r)) < 0)
		return -1;
	rc = start_locked(hv, c, &r, note, notelen);
	close(lock);
	return rc;
}

/*
 * A supervisor's start: only while C is still FROM, decided under C's
 * lock.  A crash seen a moment ago may have been a poweroff finishing
 * (qemu killed, its files not yet removed), and another vmtty may have
 * started the VM since: either way the supervisor's word no longer holds.
 */
static int
qemu_start_if(struct hv *hv, const struct vm_config *c, enum hv_state from, char *note,
    size_t notelen)
{
	struct hv_status st;
	struct qemu_run r;
	int lock, rc;

	if (from != HV_OFF && from != HV_CRASHED)
		return err_set("VM '%s': only a VM that is off or crashed can be started", c->name);
	if (hv_check(hv, c) != 0 || run_paths(hv, c, &r) != 0)
		return -1;
	/* Busy: another vmtty starts or stops it now. */
	if ((lock = qemu_lock_vm(c, &r)) < 0)
		return 1;
	if (qemu_peek(hv, c, &st) != 0) {
		close(lock);
		return -1;
	}
	if (st.state != from) {
		err_set("VM '%s' is %s now, no longer %s", c->name, hv_state_name(st.state),
		    hv_state_name(from));
		close(lock);
		return 1;
	}
	rc = qemu_start_locked(hv, c, &r, note, notelen);
	close(lock);
	return rc;
}

/* A start or stop of C under way: some process holds its lock. */
static bool
qemu_busy(struct hv *hv, const struct vm_config *c)
{
	struct qemu_run r;

	return run_paths(hv, c, &r) == 0 && qemu_lock_held(&r);
}

struct reboot_wait {
	bool shutdown;
};

static void
on_reboot_event(const char *event, json_object *data, void *arg)
{
	struct reboot_wait *w = arg;

	(void)data;
	if (strcmp(event, "SHUTDOWN") == 0)
		w->shutdown = true;
}

static json_object *
action_arg(const char *key, const char *val)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, key, json_object_new_string(val));
	return o;
}

/*
 * A guest-friendly reboot, as libvirt does it: ask QEMU to pause instead of
 * exiting on the guest's power-off, press the ACPI power button, and when
 * the guest has shut down, reset and continue it.
 */
static int
qemu_reboot(struct qmp *q, const struct vm_config *c)
{
	struct reboot_wait w = { false };
	long long deadline = log_now_ms() + QEMU_REBOOT_MS;
	int rc = -1;

	qmp_set_event_cb(q, on_reboot_event, &w);
	if (qmp_call(q, "set-action", action_arg("shutdown", "pause"), QEMU_QMP_MS, NULL) != 0)
		return -1;
	if (qmp_call(q, "system_powerdown", NULL, QEMU_QMP_MS, NULL) != 0)
		goto restore;
	while (!w.shutdown && log_now_ms() < deadline) {
		/* query-status doubles as a way to read events with a deadline. */
		if (qmp_call(q, "query-status", NULL, QEMU_QMP_MS, NULL) != 0)
			goto restore;
		if (!w.shutdown) {
			struct timespec ts = { 0, 50 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	if (!w.shutdown) {
		err_set("VM '%s' did not shut down for the reboot within %d s; use reset",
		    c->name, QEMU_REBOOT_MS / 1000);
		goto restore;
	}
	if (qmp_call(q, "system_reset", NULL, QEMU_QMP_MS, NULL) != 0 ||
	    qmp_call(q, "cont", NULL, QEMU_QMP_MS, NULL) != 0)
		goto restore;
	rc = 0;
restore:
	qmp_set_event_cb(q, NULL, NULL);
	if (qmp_call(q, "set-action", action_arg("shutdown", "poweroff"), QEMU_QMP_MS, NULL) != 0 &&
	    rc == 0)
		rc = -1;
	return rc;
}

/* Action A on VM C, whose lock the caller holds. */
int
qemu_action_locked(struct hv *hv, const struct vm_config *c, const struct qemu_run *r,
    enum hv_action a)
{
	static const char *const cmds[] = {
		[HV_SHUTDOWN] = "system_powerdown",
		[HV_POWEROFF] = "quit",
		[HV_REBOOT] = NULL,
		[HV_RESET] = "system_reset",
		[HV_PAUSE] = "stop",
		[HV_RESUME] = "cont",
	};
	struct hv_status st;
	struct qmp *q;
	int rc, pidfd;

	if (qemu_status(hv, c, &st) != 0)
		return -1;
	if (st.pid == 0)
		return err_set("VM '%s' is not running (%s)", c->name, hv_state_name(st.state));
	if (st.state == HV_CRASHED && a != HV_POWEROFF && a != HV_RESET)
		return err_set("VM '%s' has crashed (%s); only poweroff or reset help now",
		    c->name, st.detail);
	if (a == HV_PAUSE && st.state == HV_PAUSED)
		return err_set("VM '%s' is already paused", c->name);
	if (a == HV_RESUME && st.state == HV_RUNNING)
		return err_set("VM '%s' is not paused", c->name);
	if ((q = qmp_connect(r->qmp, QEMU_QMP_MS)) == NULL) {
		if (a != HV_POWEROFF)
			return err_prefix("VM '%s'", c->name);
		/* No QMP: power off the hard way. */
		pidfd = qemu_open_ours(r, st.pid);
		rc = qemu_poweroff_signals(c, r, st.pid, pidfd);
		if (pidfd >= 0)
			close(pidfd);
		return rc;
	}
	pidfd = a == HV_POWEROFF ? qemu_open_ours(r, st.pid) : -1;
	if (a == HV_REBOOT)
		rc = qemu_reboot(q, c);
	else
		rc = qmp_call(q, cmds[a], NULL, QEMU_QMP_MS, NULL);
	/* quit: QEMU may close the connection before or instead of answering. */
	if (a == HV_POWEROFF) {
		rc = qemu_gone(r, st.pid, pidfd, QEMU_STOP_MS) ? 0 :
		    err_set("VM '%s' did not power off within %d s", c->name, QEMU_STOP_MS / 1000);
		if (rc == 0)
			qemu_clean_runtime(r);
		if (pidfd >= 0)
			close(pidfd);
	}
	qmp_close(q);
	if (rc == 0)
		qemu_log_append(r->log, "%s of VM '%s' requested", hv_action_name(a), c->name);
	return rc;
}

/* Every lifecycle operation holds the VM's lock: a poweroff never races
 * a start, nor a reboot a delete, whichever vmtty asks. */
static int
qemu_action(struct hv *hv, const struct vm_config *c, enum hv_action a)
{
	struct qemu_run r;
	int lock, rc;

	if (run_paths(hv, c, &r) != 0 || (lock = qemu_lock_vm(c, &r)) < 0)
		return -1;
	rc = qemu_action_locked(hv, c, &r, a);
	close(lock);
	return rc;
}

static int
qemu_undefine(struct hv *hv, const struct vm_config *c)
{
	struct hv_status st;
	struct qemu_run r;
	char *dir, *vars;
	int lock;

	if (run_paths(hv, c, &r) != 0 || (lock = qemu_lock_vm(c, &r)) < 0)
		return -1;
	if (qemu_status(hv, c, &st) != 0 || st.pid > 0) {
		if (st.pid > 0)
			err_set("VM '%s' is %s (qemu pid %d); stop it before deleting it",
			    c->name, hv_state_name(st.state), st.pid);
		close(lock);
		return -1;
	}
	qemu_clean_runtime(&r);
	unlink(r.log);
	unlink(r.trace);
	unlink(r.serial_log);
	unlink(r.lock);
	rmdir(r.dir);
	close(lock);
	dir = paths_data_dir();
	vars = xasprintf("%s/nvram/%s_VARS.fd", dir, c->uuid);
	unlink(vars);
	free(vars);
	free(dir);
	return 0;
}

/* Connect to the unix socket SOCK of running VM C, which serves WHAT. */
static int
connect_run_socket(struct hv *hv, const struct vm_config *c, const char *sock, const char *what,
    int *fd)
{
	struct sockaddr_un sa;
	struct hv_status st;
	int s;

	if (qemu_peek(hv, c, &st) != 0)
		return -1;
	if (st.pid == 0)
		return err_set("VM '%s' is not running (%s); start it to use its %s", c->name,
		    hv_state_name(st.state), what);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return err_set("cannot create a socket: %s", strerror(errno));
	if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) {
		int e = errno;

		close(s);
		return err_set("cannot connect to the %s of VM '%s' ('%s'): %s",
		    what, c->name, sock, strerror(e));
	}
	*fd = s;
	return 0;
}

/*
 * The guest's serial port, a unix socket QEMU serves.  QEMU takes one
 * client at a time: a second one waits in the backlog until the first
 * leaves, which FORCE cannot change (QEMU has no take-over).
 */
static int
qemu_console_open(struct hv *hv, const struct vm_config *c, bool force, int *fd)
{
	struct qemu_run r;

	(void)force;
	if (run_paths(hv, c, &r) != 0)
		return -1;
	return connect_run_socket(hv, c, r.serial, "serial console", fd);
}

/* QEMU's VNC server on its unix socket (-vnc unix:...). */
static int
qemu_graphics_open(struct hv *hv, const struct vm_config *c, int *fd)
{
	struct qemu_run r;

	if (run_paths(hv, c, &r) != 0)
		return -1;
	return connect_run_socket(hv, c, r.vnc, "graphical display", fd);
}

/* The live state of the qemu behind QMP socket SOCK, and its balloon's
 * size: HV_UNKNOWN when QMP does not answer (another client may hold it). */
static enum hv_state
qmp_state(const char *sock, int64_t *memory_mib)
{
	json_object *ret = NULL, *v;
	enum hv_state state = HV_UNKNOWN;
	struct qmp *q = qmp_connect(sock, QEMU_QMP_MS);

	if (q == NULL)
		return HV_UNKNOWN;
	if (qmp_call(q, "query-status", NULL, QEMU_QMP_MS, &ret) == 0 &&
	    json_object_object_get_ex(ret, "status", &v))
		state = map_status(json_object_get_string(v));
	json_object_put(ret);
	ret = NULL;
	if (qmp_call(q, "query-balloon", NULL, QEMU_QMP_MS, &ret) == 0 &&
	    json_object_object_get_ex(ret, "actual", &v))
		*memory_mib = json_object_get_int64(v) / (1024 * 1024);
	json_object_put(ret);
	qmp_close(q);
	return state;
}

/* The VMs whose qemu runs now, found in the runtime directory, with their
 * live state from QMP: what a long-running front end follows (events from
 * qemu_watch say when to ask again). */
static int
qemu_list(struct hv *hv, struct hv_domain **out, size_t *n)
{
	struct qemu_priv *p = hv->priv;
	struct hv_domain *doms = NULL;
	struct dirent *de;
	size_t nd = 0;
	DIR *d;

	*out = NULL;
	*n = 0;
	if (base_ready(p) != 0)
		return -1;
	if ((d = opendir(p->base)) == NULL)
		return errno == ENOENT ? 0 : err_set("cannot read runtime directory '%s': %s",
		    p->base, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		char dir[PATH_MAX], name[256], sock[PATH_MAX];
		struct hv_domain *dom;
		int pid;

		if (de->d_name[0] == '.' || paths_join(dir, sizeof dir, p->base, de->d_name) != 0)
			continue;
		doms = xreallocarray(doms, nd + 1, sizeof *doms);
		dom = &doms[nd];
		memset(dom, 0, sizeof *dom);
		if (!qemu_dir_running(dir, &pid, dom->uuid, sizeof dom->uuid, name, sizeof name) ||
		    dom->uuid[0] == '\0' || paths_join(sock, sizeof sock, dir, "qmp.sock") != 0)
			continue;
		dom->name = xstrdup(name);
		dom->id = pid;
		dom->persistent = true;
		dom->state = qmp_state(sock, &dom->memory_mib);
		nd++;
	}
	closedir(d);
	*out = doms;
	*n = nd;
	return 0;
}

static int
qemu_watch(struct hv *hv, hv_event_cb cb, void *arg)
{
	struct qemu_priv *p = hv->priv;

	if (p->watch != NULL)
		return err_set("the built-in backend is already being watched");
	if (base_ready(p) != 0)
		return -1;
	p->watch = qemu_watch_start(p->base, cb, arg);
	return p->watch != NULL ? 0 : -1;
}

/* The built-in backend's definition is the inventory row itself. */
static int
qemu_define(struct hv *hv, const struct vm_config *c)
{
	(void)hv;
	(void)c;
	return 0;
}

static int
qemu_serial_log(struct hv *hv, const struct vm_config *c, char *path, size_t len)
{
	struct qemu_run r;

	if (run_paths(hv, c, &r) != 0)
		return -1;
	snprintf(path, len, "%s", r.serial_log);
	return 0;
}

static int
qemu_host_info(struct hv *hv, struct hv_host_info *out)
{
	(void)hv;
	return qemu_host_read("", out);
}

static int
qemu_ksm_set(struct hv *hv, bool on)
{
	(void)hv;
	return qemu_host_ksm("", on);
}

/* A VM that is not running gets its tuning at its next start, and so do
 * hugepages and the maximum memory of one that runs: the start builds
 * qemu's argv from the inventory row, which is the caller's to write.  No
 * lock: pins and the balloon target are idempotent, and a start that runs
 * meanwhile applies the tuning it read itself. */
static int
qemu_tune(struct hv *hv, const struct vm_config *c, unsigned what)
{
	struct hv_status st;
	struct qemu_run r;

	what &= HV_TUNE_PINS | HV_TUNE_BALLOON;
	if (what == 0)
		return 0;
	if (qemu_peek(hv, c, &st) != 0 || run_paths(hv, c, &r) != 0)
		return -1;
	if (st.pid == 0)
		return 0;
	return qemu_tune_apply(c, r.qmp, st.pid, what);
}

/* Only a running VM has threads and a balloon to show: for any other, an
 * error that says so. */
static int
qemu_tune_state(struct hv *hv, const struct vm_config *c, struct hv_tune_state *out)
{
	struct hv_status st;
	struct qemu_run r;

	if (qemu_peek(hv, c, &st) != 0 || run_paths(hv, c, &r) != 0)
		return -1;
	if (st.pid == 0)
		return err_set("VM '%s' is not running (%s); its vCPUs and memory show while it "
		    "runs", c->name, hv_state_name(st.state));
	return qemu_tune_read(c, r.qmp, st.pid, out);
}

const struct hv_ops hv_qemu_ops = {
	.name = "built-in QEMU",
	.open = qemu_open,
	.close = qemu_close,
	.check = qemu_check,
	.status = qemu_status,
	.status_all = qemu_status_all,
	.peek = qemu_peek,
	.start = qemu_start,
	.start_if = qemu_start_if,
	.busy = qemu_busy,
	.action = qemu_action,
	.argv = qemu_argv,
	.define = qemu_define,
	.undefine = qemu_undefine,
	.serial_log = qemu_serial_log,
	.list = qemu_list,
	.watch = qemu_watch,
	.console_open = qemu_console_open,
	.graphics_open = qemu_graphics_open,
	.host_info = qemu_host_info,
	.ksm_set = qemu_ksm_set,
	.tune = qemu_tune,
	.tune_state = qemu_tune_state,
	.volume_delete = qemu_volume_delete,
	.vol_open_read = qemu_vol_open_read,
	.vol_open_write = qemu_vol_open_write,
	.vol_read = qemu_vol_read,
	.vol_write = qemu_vol_write,
	.vol_close = qemu_vol_close,
	.snapshot_create = qemu_snapshot_create,
	.snapshot_revert = qemu_snapshot_revert,
	.snapshot_delete = qemu_snapshot_delete,
	.snapshot_recover = qemu_snapshot_recover,
	.stats = qemu_stats,
};
