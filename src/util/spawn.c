#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"
#include "util/log.h"

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

int
spawn_start(char *const argv[], int in_fd, int out_fd, int err_fd, pid_t *pid)
{
	int pipefd[2], child_errno = 0;
	ssize_t n;
	pid_t p, parent = getpid();

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
		/* A worker thread may block signals; the program must not. */
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
		return err_set("cannot run '%s': %s", argv[0], strerror(child_errno));
	}
	*pid = p;
	return 0;
}

int
spawn_wait(char *const argv[], int out_fd, int err_fd, int timeout_ms, int *status)
{
	long long deadline = log_now_ms() + timeout_ms;
	int st = 0;
	pid_t pid, w;

	if (spawn_start(argv, -1, out_fd, err_fd, &pid) != 0)
		return -1;
	for (;;) {
		w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return err_set("cannot wait for '%s': %s", argv[0], strerror(errno));
		if (log_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return err_set("'%s' did not finish within %d ms and was stopped",
			    argv[0], timeout_ms);
		}
		{
			struct timespec ts = { 0, 5 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
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

int
spawn_capture(char *const argv[], spawn_line_fn on_line, void *arg, const atomic_bool *cancel,
    char *errbuf, size_t errlen, int timeout_ms, int *status)
{
	int out[2], errp[2], rc = -1, done = 0;
	struct pollfd pfd[2];
	char line[4096], chunk[4096];
	size_t linelen = 0, errhave = 0;
	pid_t pid, parent = getpid();
	long long deadline = log_now_ms() + timeout_ms;

	if (errlen > 0)
		errbuf[0] = '\0';
	if (pipe2(out, O_CLOEXEC) != 0)
		return err_set("cannot create a pipe: %s", strerror(errno));
	if (pipe2(errp, O_CLOEXEC) != 0) {
		close(out[0]);
		close(out[1]);
		return err_set("cannot create a pipe: %s", strerror(errno));
	}
	/* The child gets the write ends as stdout and stderr; an exec that
	 * fails says so on stderr and exits 127. */
	pid = fork();
	if (pid < 0) {
		rc = err_set("cannot fork to run '%s': %s", argv[0], strerror(errno));
		goto out_fds;
	}
	if (pid == 0) {
		int e;

		child_die_with(parent);
		signal(SIGPIPE, SIG_DFL);
		child_fds(-1, out[1], errp[1]);
		execvp(argv[0], argv);
		e = errno;
		dprintf(2, "cannot run '%s': %s", argv[0], strerror(e));
		_exit(127);
	}
	close(out[1]);
	close(errp[1]);
	out[1] = errp[1] = -1;
	pfd[0].fd = out[0];
	pfd[1].fd = errp[0];
	pfd[0].events = pfd[1].events = POLLIN;
	while (done < 2) {
		long long left = deadline - log_now_ms();
		bool cancelled = cancel != NULL && atomic_load(cancel);
		int slice = cancel != NULL ? 100 : 1000;	/* ms between looks */
		int n;

		if (left <= 0 || cancelled) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			rc = cancelled ? err_set("cancelled: '%s' was stopped", argv[0]) :
			    err_set("'%s' did not finish within %d ms and was stopped", argv[0],
			    timeout_ms);
			goto out_fds;
		}
		n = poll(pfd, 2, left > slice ? slice : (int)left);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; n > 0 && i < 2; i++) {
			ssize_t r;

			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			r = read(pfd[i].fd, i == 0 ? line + linelen : chunk,
			    i == 0 ? sizeof line - 1 - linelen : sizeof chunk);
			if (r <= 0) {
				pfd[i].fd = -1;
				done++;
				continue;
			}
			if (i == 1) {
				spawn_keep_tail(errbuf, errlen, &errhave, chunk, (size_t)r);
				continue;
			}
			linelen = spawn_lines(line, linelen + (size_t)r, on_line, arg);
			if (linelen == sizeof line - 1)
				linelen = 0;	/* an endless line: drop it */
		}
	}
	if (waitpid(pid, &rc, 0) < 0) {
		rc = err_set("cannot wait for '%s': %s", argv[0], strerror(errno));
		goto out_fds;
	}
	*status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
	/* Trim the trailing newline(s) of the message. */
	while (errhave > 0 && (errbuf[errhave - 1] == '\n' || errbuf[errhave - 1] == '\r'))
		errbuf[--errhave] = '\0';
	rc = 0;
out_fds:
	close(out[0]);
	close(errp[0]);
	if (out[1] >= 0)
		close(out[1]);
	if (errp[1] >= 0)
		close(errp[1]);
	return rc;
}
