#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"
#include "util/log.h"

#define SPAWN_ERR_FD 1023

/* In the child: set up fds 0-2 and close the rest but SPAWN_ERR_FD. */
static void
child_fds(int out_fd, int err_fd)
{
	int null = open("/dev/null", O_RDWR);

	dup2(null, 0);
	dup2(out_fd >= 0 ? out_fd : null, 1);
	dup2(err_fd >= 0 ? err_fd : null, 2);
	/* close_range where the kernel has it; a loop otherwise. */
	if (syscall(SYS_close_range, 3U, SPAWN_ERR_FD - 1U, 0U) != 0)
		for (int fd = 3; fd < SPAWN_ERR_FD; fd++)
			close(fd);
	syscall(SYS_close_range, SPAWN_ERR_FD + 1U, ~0U, 0U);
}

int
spawn_wait(char *const argv[], int out_fd, int err_fd, int timeout_ms, int *status)
{
	long long deadline = log_now_ms() + timeout_ms;
	int st = 0, pipefd[2];
	ssize_t n;
	pid_t pid, w;
	int child_errno = 0;

	/* A close-on-exec pipe tells us whether execvp itself failed. */
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return err_set("cannot create a pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return err_set("cannot fork to run '%s': %s", argv[0], strerror(errno));
	}
	if (pid == 0) {
		int e;

		signal(SIGPIPE, SIG_DFL);
		dup2(pipefd[1], SPAWN_ERR_FD);
		child_fds(out_fd, err_fd);
		fcntl(SPAWN_ERR_FD, F_SETFD, FD_CLOEXEC);
		execvp(argv[0], argv);
		e = errno;
		if (write(SPAWN_ERR_FD, &e, sizeof e) < 0)
			_exit(127);
		_exit(127);
	}
	close(pipefd[1]);
	n = read(pipefd[0], &child_errno, sizeof child_errno);
	close(pipefd[0]);
	if (n == (ssize_t)sizeof child_errno) {
		waitpid(pid, NULL, 0);
		return err_set("cannot run '%s': %s", argv[0], strerror(child_errno));
	}
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
