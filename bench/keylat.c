/* keylat [-p COLSxROWS] [-n N] [-s KEYS] CMD [ARGS]: run the TUI CMD on a
 * fresh pseudo-terminal, let it settle (with -s: send KEYS one at a time,
 * each once the screen answered the last, e.g. an action that writes the
 * inventory, and let it settle again), then send keys and
 * time the answers:
 * N moves of the selection (j and k in turn) and N openings of the help
 * overlay (? then Esc).  A key's latency is the time from writing it to
 * the first byte of the redraw it causes.  Prints
 * "move_med_ms=.. move_max_ms=.. help_med_ms=.. help_max_ms=.. n=N",
 * then sends q and exits with CMD's exit status. */
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int master = -1;

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Read whatever comes within MS milliseconds of silence; 0 once quiet,
 * -1 when the program is gone. */
static int
drain(int quiet_ms)
{
	char buf[65536];

	for (;;) {
		struct pollfd p = { master, POLLIN, 0 };
		int r = poll(&p, 1, quiet_ms);

		if (r == 0)
			return 0;
		if (r < 0 || read(master, buf, sizeof buf) <= 0)
			return -1;
	}
}

/* Write KEY and return the milliseconds to the first byte back (-1 when
 * nothing came within 5 s); then drain the rest of the redraw. */
static double
answer(const char *key, size_t len)
{
	struct pollfd p = { master, POLLIN, 0 };
	double t0 = now_ms(), t;

	if (write(master, key, len) != (ssize_t)len)
		return -1;
	if (poll(&p, 1, 5000) != 1)
		return -1;
	t = now_ms() - t0;
	if (drain(30) != 0)
		return -1;
	return t;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
report(const char *what, double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp);
	printf("%s_med_ms=%.2f %s_max_ms=%.2f ", what,
	    n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, what, v[n - 1]);
}

int
main(int argc, char **argv)
{
	struct winsize ws = { .ws_col = 120, .ws_row = 40 };
	unsigned cols, rows;
	const char *keys = NULL;
	int n = 20, opt, status;
	double *mv, *hp;
	pid_t pid;

	while ((opt = getopt(argc, argv, "+p:n:s:")) != -1) {
		switch (opt) {
		case 'p':
			if (sscanf(optarg, "%ux%u", &cols, &rows) != 2)
				goto usage;
			ws.ws_col = (unsigned short)cols;
			ws.ws_row = (unsigned short)rows;
			break;
		case 'n':
			n = atoi(optarg);
			if (n < 1)
				goto usage;
			break;
		case 's':
			keys = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind >= argc)
		goto usage;
	mv = calloc((size_t)n, sizeof *mv);
	hp = calloc((size_t)n, sizeof *hp);
	if (mv == NULL || hp == NULL)
		return 1;
	pid = forkpty(&master, NULL, NULL, &ws);
	if (pid < 0) {
		perror("keylat: forkpty");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[optind], argv + optind);
		perror("keylat: exec");
		_exit(127);
	}
	/* Settled: the first output (however slow the start: a sanitizer
	 * build, a loaded machine), then 500 ms without any. */
	{
		struct pollfd p = { master, POLLIN, 0 };

		if (poll(&p, 1, 20000) != 1 || drain(500) != 0)
			goto gone;
	}
	/* One key at a time, each once the screen has answered the one
	 * before (or after 2 s of nothing), as a person types: on a loaded
	 * machine a burst can reach a view before the key that opens it
	 * has been drawn. */
	for (const char *k = keys; k != NULL && *k != '\0'; k++) {
		struct pollfd p = { master, POLLIN, 0 };

		if (write(master, k, 1) != 1)
			goto gone;
		if (poll(&p, 1, 2000) == 1 && drain(150) != 0)
			goto gone;
	}
	if (keys != NULL && drain(300) != 0)
		goto gone;
	for (int i = 0; i < n; i++) {
		if ((mv[i] = answer(i % 2 ? "k" : "j", 1)) < 0)
			goto gone;
	}
	for (int i = 0; i < n; i++) {
		if ((hp[i] = answer("?", 1)) < 0 || answer("\033", 1) < 0)
			goto gone;
	}
	report("move", mv, n);
	report("help", hp, n);
	printf("n=%d\n", n);
	fflush(stdout);
	free(mv);
	free(hp);
	if (write(master, "q", 1) != 1 || drain(2000) == 0)
		kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	/* CMD's own exit status: did it quit cleanly? */
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
gone:
	fprintf(stderr, "keylat: %s stopped answering\n", argv[optind]);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return 1;
usage:
	fprintf(stderr, "usage: keylat [-p COLSxROWS] [-n N] [-s KEYS] CMD [ARGS]\n");
	return 2;
}
