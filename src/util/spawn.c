#include "util/spawn.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

#define SPAWN_ERR_FD 1023

/* In the child: die with vmtty (a kill -9 of it must not leave a qemu-img
 * writing on); PARENT is the pid before the fork, in case it died already. */
static void
child_die_with(pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(127);
}

/* In the child: set up fds 0-2 and close the rest but SPAWN_ERR_FD. */
static void
child_fds(int in_fd, int out_fd, int err_fd)
{
	int null = open("/dev/null", O_RDWR);

	dup2(in_fd >= 0 ? in_fd : null, 0);
	dup2(out_fd >= 0 ? out_fd : null, 1);
	dup2(err_fd >= 0 ? err_fd : null, 2);
	/* close_range where the kernel has it; a loop otherwise. */
	if (syscall(SYS_close_range, 3U, SPAWN_ERR_FD - 1U, 0U) != 0)
		for (int fd = 3; fd < SPAWN_ERR_FD; fd++)
			close(fd);
	syscall(SYS_close_range, SPAWN_ERR_FD + 1U, ~0U, 0U);
}

/*
 * Start ARGV; *PID and *PIDFD get the child and a pidfd for it.  fork +
 * exec rather than posix_spawn: the child must set PR_SET_PDEATHSIG, which
 * posix_spawn cannot.  The child unblocks every signal, puts SIGPIPE back
 * to its default, keeps only fds 0-2 and reports a failed exec through a
 * close-on-exec pipe (*EXEC_ERRNO, 0 when the exec worked).  Waiting and
 * killing go through the pidfd: poll() says when the child ends, and
 * pidfd_send_signal can never reach another process that got its pid.
 */
static int
child_start(char *const argv[], int in_fd, int out_fd, int err_fd, pid_t *pid, int *pidfd,
    int *exec_errno)
{
	int pipefd[2], child_errno = 0;
	ssize_t n;
	pid_t p, parent = getpid();

	*exec_errno = 0;
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return err_set("cannot create a pipe: %s", strerror(errno));
	p = fork();
	if (p < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return err_set("cannot fork to run '%s': %s", argv[0], strerror(errno));
	}
	if (p == 0) {
		sigset_t none;
		int e;

		child_die_with(parent);
		/* A worker thread blocks signals; the program must not. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		dup2(pipefd[1], SPAWN_ERR_FD);
		child_fds(in_fd, out_fd, err_fd);
		fcntl(SPAWN_ERR_FD, F_SETFD, FD_CLOEXEC);
		execvp(argv[0], argv);
		e = errno;
		if (write(SPAWN_ERR_FD, &e, sizeof e) < 0)
			_exit(127);
		_exit(127);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR)
		;
	close(pipefd[0]);
	if (n == (ssize_t)sizeof child_errno) {
		waitpid(p, NULL, 0);
		*exec_errno = child_errno;
		return err_set("cannot run '%s': %s", argv[0], strerror(child_errno));
	}
	/* The child is not reaped yet, so its pid cannot have been reused. */
	if ((*pidfd = pidfd_open(p, 0)) < 0) {
		int e = errno;

		kill(p, SIGKILL);
		waitpid(p, NULL, 0);
		return err_set("cannot follow '%s' (pidfd_open: %s); vmtty needs Linux 5.3 or "
		    "later", argv[0], strerror(e));
	}
	*pid = p;
	return 0;
}

int
spawn_start(char *const argv[], int in_fd, int out_fd, int err_fd, pid_t *pid)
{
	int pidfd, exec_errno;

	if (child_start(argv, in_fd, out_fd, err_fd, pid, &pidfd, &exec_errno) != 0)
		return -1;
	close(pidfd);
	return 0;
}

/* What the two processes of spawn_daemon tell vmtty through their pipe:
 * the daemon's pid (from the first), or why its exec failed (from it). */
struct daemon_msg {
	int kind;	/* 0: pid, 1: errno of the exec */
	int value;
};

/* In the first child of spawn_daemon: a new session, then the daemon;
 * report its pid on FD and leave (vmtty reaps this one at once, so the
 * daemon is never vmtty's child). */
static _Noreturn void
daemon_first(char *const argv[], int out_fd, int err_fd, mode_t mask, int fd)
{
	struct daemon_msg m = { 0, 0 };
	sigset_t none;
	pid_t p;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (setsid() < 0 || (p = fork()) < 0) {
		m.kind = 1;
		m.value = errno;
		if (write(fd, &m, sizeof m) < 0)
			_exit(127);
		_exit(127);
	}
	if (p == 0) {
		/* The umask is set before the exec, so what the program
		 * makes (QEMU's sockets, its pidfile) is born with it. */
		umask(mask);
		if (chdir("/") != 0)
			_exit(127);
		dup2(fd, SPAWN_ERR_FD);
		child_fds(-1, out_fd, err_fd);
		fcntl(SPAWN_ERR_FD, F_SETFD, FD_CLOEXEC);
		execvp(argv[0], argv);
		m.kind = 1;
		m.value = errno;
		if (write(SPAWN_ERR_FD, &m, sizeof m) < 0)
			_exit(127);
		_exit(127);
	}
	m.value = (int)p;
	if (write(fd, &m, sizeof m) < 0)
		_exit(127);
	_exit(0);
}

int
spawn_daemon(char *const argv[], int out_fd, int err_fd, mode_t mask, pid_t *pid)
{
	int pipefd[2], err = 0;
	struct daemon_msg m;
	pid_t p, daemon = 0;
	ssize_t n;

	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return err_set("cannot create a pipe: %s", strerror(errno));
	if ((p = fork()) < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return err_set("cannot fork to run '%s': %s", argv[0], strerror(errno));
	}
	if (p == 0)
		daemon_first(argv, out_fd, err_fd, mask, pipefd[1]);
	close(pipefd[1]);
	/* Messages are smaller than PIPE_BUF: each arrives whole.  The pipe
	 * ends when the first child has left and the daemon has exec'd. */
	while ((n = read(pipefd[0], &m, sizeof m)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof m)
			break;
		if (m.kind == 0)
			daemon = m.value;
		else
			err = m.value;
	}
	close(pipefd[0]);
	while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
		;
	if (err != 0)
		return err_set("cannot run '%s': %s", argv[0], strerror(err));
	if (daemon <= 0)
		return err_set("cannot run '%s': its starter died", argv[0]);
	*pid = daemon;
	return 0;
}

/* Wait up to MS (< 0: for ever) for the child behind PIDFD to end: true
 * when it has (it is then reaped with waitpid, *ST its status). */
static bool
child_wait(pid_t pid, int pidfd, long long ms, int *st)
{
	long long deadline = log_now_ms() + ms;

	for (;;) {
		struct pollfd p = { pidfd, POLLIN, 0 };
		long long left = ms < 0 ? -1 : deadline - log_now_ms();
		int n;

		if (ms >= 0 && left < 0)
			left = 0;
		n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			break;
		if (n == 0 && ms >= 0 && log_now_ms() >= deadline)
			return false;
		if (n < 0 && errno != EINTR)
			return false;
	}
	while (waitpid(pid, st, 0) < 0)
		if (errno != EINTR)
			return false;
	return true;
}

/* Kill the child behind PIDFD and reap it. */
static void
child_kill(pid_t pid, int pidfd)
{
	int st;

	if (pidfd_send_signal(pidfd, SIGKILL, NULL, 0) != 0)
		log_debug("spawn: pidfd_send_signal %d: %s", (int)pid, strerror(errno));
	child_wait(pid, pidfd, -1, &st);
}

static int
exit_status(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int
spawn_wait(char *const argv[], int out_fd, int err_fd, int timeout_ms, int *status)
{
	int st = 0, pidfd, exec_errno, rc = 0;
	pid_t pid;

	if (child_start(argv, -1, out_fd, err_fd, &pid, &pidfd, &exec_errno) != 0)
		return -1;
	if (child_wait(pid, pidfd, timeout_ms, &st))
		*status = exit_status(st);
	else {
		child_kill(pid, pidfd);
		rc = err_set("'%s' did not finish within %d ms and was stopped", argv[0],
		    timeout_ms);
	}
	close(pidfd);
	return rc;
}

/* Hand the complete lines of BUF (LEN bytes) to ON_LINE; keep the rest. */
static size_t
spawn_lines(char *buf, size_t len, spawn_line_fn on_line, void *arg)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n' && buf[i] != '\r')
			continue;
		buf[i] = '\0';
		if (on_line != NULL && i > start)
			on_line(buf + start, arg);
		start = i + 1;
	}
	memmove(buf, buf + start, len - start);
	return len - start;
}

void
spawn_keep_tail(char *errbuf, size_t errlen, size_t *have, const char *data, size_t n)
{
	if (errlen < 2)
		return;
	if (n >= errlen - 1) {
		memcpy(errbuf, data + n - (errlen - 1), errlen - 1);
		*have = errlen - 1;
	} else {
		if (*have + n > errlen - 1) {
			size_t drop = *have + n - (errlen - 1);

			memmove(errbuf, errbuf + drop, *have - drop);
			*have -= drop;
		}
		memcpy(errbuf + *have, data, n);
		*have += n;
	}
	errbuf[*have] = '\0';
}

/* The child's output as spawn_capture reads it. */
struct capture {
	spawn_line_fn on_line;
	void *arg;
	char *errbuf;
	size_t errlen, errhave;
	char line[4096];
	size_t linelen;
};

/* Read OUT (lines to CAP's on_line) and ERR (its tail into CAP's errbuf)
 * until both end.  -1 when DEADLINE passes or CANCEL is set (*CANCELLED
 * says which). */
static int
capture_pipes(int out, int err, struct capture *cap, const atomic_bool *cancel,
    long long deadline, bool *cancelled)
{
	struct pollfd pfd[2] = { { out, POLLIN, 0 }, { err, POLLIN, 0 } };
	char chunk[4096];
	int done = 0;

	while (done < 2) {
		long long left = deadline - log_now_ms();
		int slice = cancel != NULL ? 100 : 1000;	/* ms between looks */
		int n;

		*cancelled = cancel != NULL && atomic_load(cancel);
		if (left <= 0 || *cancelled)
			return -1;
		n = poll(pfd, 2, left > slice ? slice : (int)left);
		if (n < 0 && errno != EINTR)
			return 0;	/* the wait for the child decides */
		for (int i = 0; n > 0 && i < 2; i++) {
			ssize_t r;

			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			r = read(pfd[i].fd, i == 0 ? cap->line + cap->linelen : chunk,
			    i == 0 ? sizeof cap->line - 1 - cap->linelen : sizeof chunk);
			if (r <= 0) {
				pfd[i].fd = -1;
				done++;
				continue;
			}
			if (i == 1) {
				spawn_keep_tail(cap->errbuf, cap->errlen, &cap->errhave, chunk,
				    (size_t)r);
				continue;
			}
			cap->linelen = spawn_lines(cap->line, cap->linelen + (size_t)r,
			    cap->on_line, cap->arg);
			if (cap->linelen == sizeof cap->line - 1)
				cap->linelen = 0;	/* an endless line: drop it */
		}
	}
	return 0;
}

int
spawn_capture(char *const argv[], spawn_line_fn on_line, void *arg, const atomic_bool *cancel,
    char *errbuf, size_t errlen, int timeout_ms, int *status)
{
	struct capture *cap;
	int out[2], errp[2], rc, pidfd = -1, exec_errno, st;
	long long deadline = log_now_ms() + timeout_ms, left;
	bool cancelled = false;
	pid_t pid;

	if (errlen > 0)
		errbuf[0] = '\0';
	if (pipe2(out, O_CLOEXEC) != 0)
		return err_set("cannot create a pipe: %s", strerror(errno));
	if (pipe2(errp, O_CLOEXEC) != 0) {
		close(out[0]);
		close(out[1]);
		return err_set("cannot create a pipe: %s", strerror(errno));
	}
	rc = child_start(argv, -1, out[1], errp[1], &pid, &pidfd, &exec_errno);
	close(out[1]);
	close(errp[1]);
	if (rc != 0) {
		/* A program that cannot run: exit status 127 and why, as a shell
		 * says it (callers suggest the package to install). */
		if (exec_errno != 0) {
			if (errlen > 0)
				snprintf(errbuf, errlen, "%s", err_get());
			*status = 127;
			rc = 0;
		}
		goto out_fds;
	}
	cap = xcalloc(1, sizeof *cap);
	cap->on_line = on_line;
	cap->arg = arg;
	cap->errbuf = errbuf;
	cap->errlen = errlen;
	rc = capture_pipes(out[0], errp[0], cap, cancel, deadline, &cancelled);
	left = deadline - log_now_ms();
	if (rc != 0 || !child_wait(pid, pidfd, left > 0 ? left : 0, &st)) {
		child_kill(pid, pidfd);
		rc = cancelled ? err_set("cancelled: '%s' was stopped", argv[0]) :
		    err_set("'%s' did not finish within %d ms and was stopped", argv[0],
		    timeout_ms);
	} else {
		*status = exit_status(st);
		/* Trim the trailing newline(s) of the message. */
		while (cap->errhave > 0 && (errbuf[cap->errhave - 1] == '\n' ||
		    errbuf[cap->errhave - 1] == '\r'))
			errbuf[--cap->errhave] = '\0';
	}
	free(cap);
	close(pidfd);
out_fds:
	close(out[0]);
	close(errp[0]);
	return rc;
}

char *
spawn_output(char *const argv[], int timeout_ms)
{
	int fd = memfd_create("vmtty-output", MFD_CLOEXEC), status;
	char *buf = NULL;
	off_t len;

	if (fd < 0) {
		err_set("cannot create a memory file: %s", strerror(errno));
		return NULL;
	}
	if (spawn_wait(argv, fd, -1, timeout_ms, &status) != 0)
		goto out;
	if (status != 0) {
		err_set("%s exited with status %d", argv[0], status);
		goto out;
	}
	len = lseek(fd, 0, SEEK_END);
	buf = xmalloc((size_t)len + 1);
	if (pread(fd, buf, (size_t)len, 0) != len) {
		free(buf);
		buf = NULL;
		err_set("cannot read the output of %s", argv[0]);
		goto out;
	}
	buf[len] = '\0';
out:
	close(fd);
	return buf;
}

int
spawn_subreaper(void)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
		return err_set("cannot adopt the processes this one starts (PR_SET_CHILD_SUBREAPER): "
		    "%s", strerror(errno));
	return 0;
}

/* The first LEN - 1 bytes of file PATH, NUL-terminated; -1 when unreadable. */
static ssize_t
read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* /proc/PID/stat: its command name, state, parent and session. */
static bool
proc_stat(pid_t pid, char *comm, size_t clen, char *state, pid_t *ppid, pid_t *sid)
{
	char path[64], buf[1024], *open_paren, *close_paren;
	int pp, ss;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (read_small(path, buf, sizeof buf) <= 0 ||
	    (open_paren = strchr(buf, '(')) == NULL || (close_paren = strrchr(buf, ')')) == NULL ||
	    close_paren < open_paren ||
	    sscanf(close_paren + 1, " %c %d %*d %d", state, &pp, &ss) != 3)
		return false;
	snprintf(comm, clen, "%.*s", (int)(close_paren - open_paren - 1), open_paren + 1);
	*ppid = pp;
	*sid = ss;
	return true;
}

/*
 * Linux tells no process which of its children it adopted: a child of
 * ours in another session is one (our own forks keep our session, but for
 * spawn_daemon's first child, which leaves a session of its own at once
 * and is reaped by spawn_daemon: its command name is still ours, as it
 * never execs).  /proc/self/task/ID/children needs CONFIG_PROC_CHILDREN,
 * which kernels may lack, so /proc is read, and only while some child has
 * ended.
 */
size_t
spawn_reap_adopted(spawn_reaped_fn fn, void *arg)
{
	char self_comm[64] = "", comm[64], state;
	pid_t self = getpid(), session = getsid(0), ppid, sid;
	siginfo_t si;
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	memset(&si, 0, sizeof si);
	if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid == 0)
		return 0;
	if (read_small("/proc/self/comm", self_comm, sizeof self_comm) > 0)
		self_comm[strcspn(self_comm, "\n")] = '\0';
	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		pid_t pid;
		int st;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)atoi(de->d_name);
		if (!proc_stat(pid, comm, sizeof comm, &state, &ppid, &sid) || ppid != self ||
		    state != 'Z' || sid == session || strcmp(comm, self_comm) == 0)
			continue;
		if (waitpid(pid, &st, WNOHANG) != pid)
			continue;
		n++;
		if (fn != NULL)
			fn(pid, st, arg);
	}
	closedir(d);
	return n;
}

void
spawn_status_text(int status, char *buf, size_t len)
{
	if (WIFEXITED(status)) {
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		const char *abbrev = sigabbrev_np(WTERMSIG(status));

		snprintf(buf, len, "was killed by signal %d%s%s%s", WTERMSIG(status),
		    abbrev != NULL ? " (SIG" : "", abbrev != NULL ? abbrev : "",
		    abbrev != NULL ? ")" : "");
	} else {
		snprintf(buf, len, "ended (wait status 0x%x)", (unsigned)status);
	}
}
