/* ptyrun [-p COLSxROWS] [-o FILE] [-q MS] CMD [ARGS]: run CMD, on a fresh
 * pseudo-terminal of that size with -p (else with output to a pipe), drain
 * what it writes (into FILE with -o, for tests of the bytes), and print its
 * wall time, peak RSS, the bytes it wrote and its CPU time (getrusage of
 * the reaped child: microseconds, not clock ticks):
 * "wall_ms=12.3 maxrss_kb=4567 bytes=8910 status=0 cpu_ms=10.1".
 * With -q (and -p), type 'q' at the program MS milliseconds after it
 * started (a TUI left idle that long, then told to quit); until then a
 * silent program is waited for however long it stays silent. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int
main(int argc, char **argv)
{
	struct winsize ws = { 0 };
	struct rusage ru;
	long long bytes = 0;
	double t0, t1, quit_ms = -1;
	int master, status = 0, first, pty = 0, pfd[2], out = -1, ch, silent = 0;
	unsigned cols, rows;
	pid_t pid, reaped = 0;
	char buf[65536];

	/* "+": the options end at CMD, whose own options are left alone. */
	while ((ch = getopt(argc, argv, "+p:o:q:")) != -1) {
		switch (ch) {
		case 'p':
			if (sscanf(optarg, "%ux%u", &cols, &rows) != 2)
				goto usage;
			ws.ws_col = (unsigned short)cols;
			ws.ws_row = (unsigned short)rows;
			pty = 1;
			break;
		case 'o':
			out = open(optarg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (out < 0) {
				perror("ptyrun: -o");
				return 1;
			}
			break;
		case 'q':
			quit_ms = atof(optarg);
			break;
		default:
			goto usage;
		}
	}
	first = optind;
	if (argc <= first || (quit_ms >= 0 && !pty))
		goto usage;
	t0 = now_ms();
	if (pty) {
		pid = forkpty(&master, NULL, NULL, &ws);
	} else {
		if (pipe(pfd) != 0)
			return 1;
		pid = fork();
		if (pid == 0) {
			dup2(pfd[1], 1);
			close(pfd[0]);
			close(pfd[1]);
		}
		close(pfd[1]);
		master = pfd[0];
	}
	if (pid < 0) {
		perror("ptyrun: fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[first], argv + first);
		perror("ptyrun: exec");
		_exit(127);
	}
	for (;;) {
		struct pollfd p = { master, POLLIN, 0 };
		int wait = 10000, r;
		ssize_t n;

		if (quit_ms >= 0) {
			double left = t0 + quit_ms - now_ms();

			if (left <= 0) {
				if (write(master, "q", 1) != 1)
					break;
				quit_ms = -1;
				continue;
			}
			wait = left < 10000 ? (int)left + 1 : 10000;
		}
		r = poll(&p, 1, wait);
		if (r == 0 && quit_ms >= 0)
			continue;
		if (r <= 0) {
			silent = r == 0;
			break;
		}
		n = read(master, buf, sizeof buf);
		if (n <= 0)
			break;	/* EIO once the child has closed the pty */
		bytes += n;
		if (out >= 0 && write(out, buf, (size_t)n) != n) {
			perror("ptyrun: -o");
			return 1;
		}
	}
	if (out >= 0)
		close(out);
	/* Silent for 10 s and still there (a TUI that did not quit): ended,
	 * and reported as killed, rather than waited for for ever. */
	if (silent && (reaped = waitpid(pid, &status, WNOHANG)) == 0)
		kill(pid, SIGKILL);
	if (reaped != pid)
		waitpid(pid, &status, 0);
	t1 = now_ms();
	getrusage(RUSAGE_CHILDREN, &ru);
	printf("wall_ms=%.2f maxrss_kb=%ld bytes=%lld status=%d cpu_ms=%.2f\n", t1 - t0,
	    ru.ru_maxrss, bytes, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
	    ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 +
	    ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3);
	return 0;
usage:
	fprintf(stderr, "usage: ptyrun [-p COLSxROWS] [-o FILE] [-q MS] CMD [ARGS]\n");
	return 2;
}
