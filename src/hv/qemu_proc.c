/* The built-in backend's process handling: qemu's pidfile and /proc, its
 * runtime directory and lock, its logs, and stopping it by signal through a
 * pidfd.  The operations (start, actions, status over QMP) are in qemu.c. */
#include "hv/hv.h"
#include "hv/qemu.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"
#include "util/log.h"
#include "util/paths.h"
#include "util/xalloc.h"

#define LOG_LINE_MAX 200	/* a log line shown in a crash detail is cut here */

/* The pid in PIDFILE; 0 when there is none. */
int
qemu_read_pidfile(const char *pidfile)
{
	char buf[32];
	ssize_t n;
	int fd = open(pidfile, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return atoi(buf);
}

/* Read /proc/PID/cmdline (NUL-separated); allocated, NULL if gone. */
char *
qemu_proc_cmdline(int pid, size_t *len)
{
	char path[64], *buf = xmalloc(65536);
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	n = read(fd, buf, 65535);
	close(fd);
	if (n <= 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* True when PID is alive and is the qemu that owns PIDFILE (pids get reused). */
bool
qemu_pid_is_ours(int pid, const char *pidfile)
{
	size_t len;
	char *cmd;
	bool ours = false;

	if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH))
		return false;
	if ((cmd = qemu_proc_cmdline(pid, &len)) == NULL)
		return false;
	for (size_t i = 0; i < len; i += strlen(cmd + i) + 1)
		if (strcmp(cmd + i, pidfile) == 0)
			ours = true;
	free(cmd);
	return ours;
}

/* The last N lines of FILE, joined with " | ", into BUF. */
void
qemu_log_tail(const char *file, int nlines, char *buf, size_t len)
{
	char *data, *p, *start;
	struct stat st;
	ssize_t n;
	off_t off;
	int fd, seen = 0;

	buf[0] = '\0';
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	off = st.st_size > 8192 ? st.st_size - 8192 : 0;
	data = xmalloc(8193);
	n = pread(fd, data, 8192, off);
	close(fd);
	if (n <= 0) {
		free(data);
		return;
	}
	data[n] = '\0';
	while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r'))
		data[--n] = '\0';
	for (start = data + n; start > data; start--)
		if (start[-1] == '\n' && ++seen == nlines)
			break;
	for (p = start; *p != '\0'; p++)
		if (*p == '\n')
			*p = '\x01';
	/* Replace line breaks by a visible separator, one line for the UI;
	 * each line is cut at LOG_LINE_MAX characters. */
	{
		size_t o = 0, col = 0;

		for (p = start; *p != '\0' && o + 4 < len; p++) {
			if (*p == '\x01') {
				memcpy(buf + o, " | ", 3);
				o += 3;
				col = 0;
			} else if (col++ == LOG_LINE_MAX) {
				memcpy(buf + o, "...", 3);
				o += 3;
			} else if (col < LOG_LINE_MAX && ((unsigned char)*p >= 0x20 || *p == '\t')) {
				buf[o++] = *p;
			}
		}
		buf[o] = '\0';
	}
	free(data);
}

/* Add a line of vmtty's own to the VM's qemu log. */
void
qemu_log_append(const char *file, const char *fmt, ...)
{
	char stamp[32];
	time_t t = time(NULL);
	struct tm tm;
	va_list ap;
	int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	FILE *fp = fd >= 0 ? fdopen(fd, "a") : NULL;

	if (fp == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(fp, "%s vmtty: ", stamp);
	va_start(ap, fmt);
	vfprintf(fp, fmt, ap);
	va_end(ap);
	fputc('\n', fp);
	fclose(fp);
}

/* What QEMU last said (its stderr, in its trace file) and vmtty's own last
 * lines, for a VM whose qemu died. */
void
qemu_crash_detail(const struct qemu_run *r, int pid, char *buf, size_t len)
{
	char qemu[400], ours[400];

	qemu_log_tail(r->trace, 2, qemu, sizeof qemu);
	qemu_log_tail(r->log, 1, ours, sizeof ours);
	snprintf(buf, len, "qemu (pid %d) ended without a clean shutdown; log: %.390s%s%.390s",
	    pid, qemu, qemu[0] != '\0' && ours[0] != '\0' ? " | " : "", ours);
}

/* V up to its first single comma into OUT, QEMU's ",," escapes undone. */
static void
qemu_unescape_option(const char *v, char *out, size_t len)
{
	size_t o = 0;

	for (; *v != '\0' && o + 1 < len; v++) {
		if (*v == ',') {
			if (v[1] != ',')
				break;
			v++;
		}
		out[o++] = *v;
	}
	out[o] = '\0';
}

/* The argument after FLAG in the NUL-separated command line CMD, up to
 * its first single comma (QEMU's ",," escapes are undone), skipping
 * PREFIX; "" when absent. */
void
qemu_cmdline_value(const char *cmd, size_t clen, const char *flag, const char *prefix, char *out,
    size_t len)
{
	size_t plen = strlen(prefix);

	out[0] = '\0';
	for (size_t i = 0; i < clen; i += strlen(cmd + i) + 1) {
		size_t next = i + strlen(cmd + i) + 1;

		if (strcmp(cmd + i, flag) != 0 || next >= clen ||
		    strncmp(cmd + next, prefix, plen) != 0)
			continue;
		qemu_unescape_option(cmd + next + plen, out, len);
		return;
	}
}

/* The value after "-accel" in qemu's command line. */
void
qemu_cmdline_accel(int pid, char *out, size_t len)
{
	size_t clen;
	char *cmd = qemu_proc_cmdline(pid, &clen);

	out[0] = '\0';
	if (cmd == NULL)
		return;
	qemu_cmdline_value(cmd, clen, "-accel", "", out, len);
	free(cmd);
}

/* CPU time and start time of PID from /proc (all of qemu's threads). */
void
qemu_proc_times(int pid, struct hv_status *st)
{
	static long long boot;
	char path[64], buf[1024], *p;
	unsigned long long utime, stime, start;
	long hz = sysconf(_SC_CLK_TCK);
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	/* The command name may hold spaces: fields start after the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d "
	    "%*d %*d %*d %llu", &utime, &stime, &start) != 3 || hz <= 0)
		return;
	st->cpu_time_ns = (utime + stime) * (1000000000ULL / (unsigned long long)hz);
	if (boot == 0) {
		FILE *fp = fopen("/proc/stat", "r");
		char line[256];

		while (fp != NULL && fgets(line, sizeof line, fp) != NULL)
			if (sscanf(line, "btime %lld", &boot) == 1)
				break;
		if (fp != NULL)
			fclose(fp);
	}
	if (boot > 0)
		st->started = boot + (long long)(start / (unsigned long long)hz);
}

/* Each "-drive" value's file= of a qemu command line (NUL-separated). */
bool
qemu_cmdline_uses(const char *cmd, size_t len, const char *want)
{
	for (size_t i = 0; i < len; i += strlen(cmd + i) + 1) {
		const char *a = cmd + i, *f;
		char path[PATH_MAX], real[PATH_MAX];

		if (strcmp(a, "-drive") != 0 || i + strlen(a) + 1 >= len)
			continue;
		a = cmd + i + strlen(a) + 1;
		if ((f = strstr(a, "file=")) == NULL || (f != a && f[-1] != ','))
			continue;
		qemu_unescape_option(f + 5, path, sizeof path);
		if (strcmp(path, want) == 0 ||
		    (realpath(path, real) != NULL && strcmp(real, want) == 0))
			return true;
	}
	return false;
}

/* Remove what a stopped or crashed qemu left in its runtime directory. */
void
qemu_clean_runtime(const struct qemu_run *r)
{
	unlink(r->pidfile);
	unlink(r->qmp);
	unlink(r->events);
	unlink(r->serial);
	unlink(r->vnc);
}

/* Hold the VM's lock file: one start or stop at a time, across processes. */
int
qemu_lock_vm(const struct vm_config *c, const struct qemu_run *r)
{
	int fd;

	if (paths_private_dir(r->dir, "VM runtime directory", "remove it") != 0)
		return -1;
	fd = open(r->lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err_set("cannot open lock '%s': %s", r->lock, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return err_set("VM '%s' is being started or stopped by another vmtty; "
		    "try again in a moment", c->name);
	}
	/* A start marker found by the lock's holder is a dead vmtty's. */
	qemu_start_mark(r, false);
	return fd;
}

/* /proc/locks has "ID: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE 0 EOF" for
 * each lock held ("ID: -> ..." for one waited for). */
bool
qemu_lock_held(const struct qemu_run *r)
{
	char line[256];
	struct stat st;
	bool held = false;
	FILE *fp;

	if (stat(r->lock, &st) != 0 || (fp = fopen("/proc/locks", "re")) == NULL)
		return false;
	while (!held && fgets(line, sizeof line, fp) != NULL) {
		unsigned maj, min;
		unsigned long ino;
		char kind[16];

		if (sscanf(line, "%*d: %15s %*s %*s %*d %x:%x:%lu", kind, &maj, &min, &ino) == 4 &&
		    strcmp(kind, "FLOCK") == 0 && maj == major(st.st_dev) &&
		    min == minor(st.st_dev) && ino == (unsigned long)st.st_ino)
			held = true;
	}
	fclose(fp);
	return held;
}

bool
qemu_start_under_way(const struct qemu_run *r)
{
	return access(r->starting, F_OK) == 0 && qemu_lock_held(r) &&
	    access(r->starting, F_OK) == 0;
}

void
qemu_start_mark(const struct qemu_run *r, bool on)
{
	int fd;

	if (!on) {
		unlink(r->starting);
		return;
	}
	fd = open(r->starting, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0)
		close(fd);
}

/*
 * QEMU is started with umask 0177 (qemu_start), so its sockets are born
 * 0600.  A qemu started by an older vmtty (with -daemonize, which sets
 * umask 027) may have 0750 ones: on reattach, a socket of ours with any
 * bit for group or others is made 0600 before it is used.
 */
void
qemu_private_sockets(const struct qemu_run *r)
{
	const char *socks[] = { r->qmp, r->events, r->serial, r->vnc };
	struct stat st;

	for (size_t i = 0; i < sizeof socks / sizeof socks[0]; i++) {
		if (lstat(socks[i], &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_uid != geteuid() ||
		    (st.st_mode & 0177) == 0)
			continue;
		if (chmod(socks[i], 0600) != 0)
			log_debug("qemu: chmod '%s': %s", socks[i], strerror(errno));
		else
			log_debug("qemu: '%s' was mode %04o; made 0600", socks[i],
			    (unsigned)(st.st_mode & 07777));
	}
}

/*
 * The files QEMU writes (the serial log, opened by name and truncated;
 * its stdout and stderr) are made afresh here, never reached through a
 * symbolic link: whatever had their names goes first.  *QEMUFD gets the
 * second, for QEMU's stdout and stderr.  vmtty's own log grows across
 * starts; a symbolic link there is refused.
 */
int
qemu_fresh_logs(const struct qemu_run *r, int *qemufd)
{
	const char *files[] = { r->serial_log, r->trace };
	int fd = -1;

	*qemufd = -1;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		if (unlink(files[i]) != 0 && errno != ENOENT)
			return err_set("cannot remove '%s': %s", files[i], strerror(errno));
		fd = open(files[i], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_APPEND,
		    0600);
		if (fd < 0)
			return err_set("cannot create '%s': %s", files[i], strerror(errno));
		if (files[i] != r->trace)
			close(fd);
	}
	*qemufd = fd;
	fd = open(r->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		close(*qemufd);
		*qemufd = -1;
		return err_set("cannot open log '%s': %s", r->log, errno == ELOOP ?
		    "it is a symbolic link; remove it" : strerror(errno));
	}
	close(fd);
	return 0;
}

/* Wait for qemu to exit (the pidfile goes) up to MS. */
static bool
qemu_wait_gone(const struct qemu_run *r, int pid, long ms)
{
	long long deadline = log_now_ms() + ms;
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	while (log_now_ms() < deadline) {
		if (!qemu_pid_is_ours(pid, r->pidfile))
			return true;
		nanosleep(&ts, NULL);
	}
	return !qemu_pid_is_ours(pid, r->pidfile);
}

/*
 * A pidfd for PID, opened before checking that PID is still the qemu of
 * R's pidfile: once that holds, a signal sent through it reaches that qemu
 * or nothing, never a process that got its pid since (kill after a /proc
 * check had that window).  -1 when it is gone or the pidfd cannot be had.
 */
int
qemu_open_ours(const struct qemu_run *r, int pid)
{
	int fd = pidfd_open(pid, 0);

	if (fd < 0) {
		log_debug("qemu: pidfd_open %d: %s", pid, strerror(errno));
		return -1;
	}
	if (!qemu_pid_is_ours(pid, r->pidfile)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Wait up to MS for qemu PID to end: poll on PIDFD when there is one. */
bool
qemu_gone(const struct qemu_run *r, int pid, int pidfd, long ms)
{
	long long deadline = log_now_ms() + ms;

	if (pidfd < 0)
		return qemu_wait_gone(r, pid, ms);
	for (;;) {
		struct pollfd p = { pidfd, POLLIN, 0 };
		long long left = deadline - log_now_ms();
		int n = poll(&p, 1, left > 0 ? (int)left : 0);

		if (n > 0)
			return true;
		if ((n == 0 && left <= 0) || (n < 0 && errno != EINTR))
			return false;
	}
}

/* QMP does not answer: power qemu off with SIGTERM, then SIGKILL, each
 * sent through its pidfd. */
int
qemu_poweroff_signals(const struct vm_config *c, const struct qemu_run *r, int pid, int pidfd)
{
	if (pidfd >= 0) {
		pidfd_send_signal(pidfd, SIGTERM, NULL, 0);
		if (!qemu_gone(r, pid, pidfd, QEMU_STOP_MS))
			pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
	}
	if (!qemu_gone(r, pid, pidfd, QEMU_STOP_MS))
		return err_set("VM '%s' did not power off (qemu pid %d, whose QMP does not "
		    "answer)", c->name, pid);
	qemu_clean_runtime(r);
	qemu_log_append(r->log, "VM '%s' powered off with signals (QMP did not answer)", c->name);
	return 0;
}

bool
qemu_dir_running(const char *dir, int *pid, char *uuid, size_t uuidlen, char *name,
    size_t namelen)
{
	char pidfile[PATH_MAX];
	size_t clen;
	char *cmd;

	if (paths_join(pidfile, sizeof pidfile, dir, "qemu.pid") != 0)
		return false;
	*pid = qemu_read_pidfile(pidfile);
	if (!qemu_pid_is_ours(*pid, pidfile) || (cmd = qemu_proc_cmdline(*pid, &clen)) == NULL)
		return false;
	if (uuid != NULL)
		qemu_cmdline_value(cmd, clen, "-uuid", "", uuid, uuidlen);
	if (name != NULL)
		qemu_cmdline_value(cmd, clen, "-name", "guest=", name, namelen);
	free(cmd);
	return true;
}
