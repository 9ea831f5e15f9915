/* serialbench: the console pane's data path against a real guest's serial
 * socket, for bench/console.sh.  It runs the emulator vmtty's pane runs
 * (console/serial.c, libvterm) the way the pane feeds it: everything the
 * socket has per wakeup (64 KiB reads until a short one), the emulator's
 * replies written back, in a stream a rest of 1 ms between reads (see
 * console_read there; PAUSE_US=N in the environment changes it, 0 reads
 * eagerly), and a frame (serial_screen) at most every 16 ms.  Curses is
 * left out: a frame here looks for a marker in the screen's rows instead
 * of drawing them.
 *
 *   serialbench throughput SOCK ROWS COLS COMMAND MARKER
 *	type COMMAND and Enter, then read until MARKER is on the emulator's
 *	screen; prints "ms=N bytes=N frames=N wakeups=N".
 *   serialbench latency SOCK N [raw]
 *	at a shell prompt: N keystrokes, each timed from write() until its
 *	echo is on the emulator's screen (raw: until the byte comes back on
 *	the socket, without the emulator); prints
 *	"median_us=N min_us=N max_us=N".  The line is erased after (Ctrl-U).
 *   serialbench panelat VMTTY VM N
 *	end to end in the real TUI: VMTTY runs on a 120x40 pseudo-terminal
 *	whose output goes into a terminal emulator here (console/serial.c
 *	again, as the user's terminal); VM's pane is opened from the list
 *	(the first VM: 'j', then 'c'), and each of N keystrokes is timed from
 *	its write() to the pty until the prompt line on that terminal's screen
 *	shows it; same output. */
#include <errno.h>
#include <pty.h>
#include <signal.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "console/serial.h"
#include "util/log.h"

#define CHUNK (64 * 1024)
#define WAKEUP_MAX (1024 * 1024)
#define FRAME_US 16000		/* CON_FRAME_MS in src/ui/console_view.c */
#define GATHER_US 0		/* the pane reads at every wakeup (PAUSE_US to try a rest) */
#define TIMEOUT_US (600LL * 1000000)

static char buf[CHUNK];

static int
connect_to(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		fprintf(stderr, "serialbench: cannot connect to '%s': %s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

static void
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd pfd = { fd, POLLOUT, 0 };

			poll(&pfd, 1, 100);
			continue;
		}
		if (w <= 0) {
			fprintf(stderr, "serialbench: write: %s\n", strerror(errno));
			exit(1);
		}
		p += w;
		n -= (size_t)w;
	}
}

/* Read what the socket has (as the pane does on one wakeup) into S; the
 * byte count, or -1 at end of stream. */
static long
drain(int fd, struct serial *s)
{
	char reply[512];
	long total = 0;
	size_t r;

	while (total < WAKEUP_MAX) {
		ssize_t n = read(fd, buf, sizeof buf);

		if (n > 0) {
			if (s != NULL)
				serial_feed(s, buf, (size_t)n);
			total += n;
			if ((size_t)n < sizeof buf)
				break;	/* drained for now */
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		return total > 0 ? total : -1;
	}
	while (s != NULL && (r = serial_take_reply(s, reply, sizeof reply)) > 0)
		write_all(fd, reply, r);
	return total;
}

static bool
screen_has(struct serial *s, const char *text)
{
	const struct cellbuf *b = serial_screen(s, 0);
	char line[4096];

	for (int r = 0; r < b->rows; r++) {
		cellbuf_row_text(b, r, line, sizeof line);
		if (strstr(line, text) != NULL)
			return true;
	}
	return false;
}

static int
throughput(const char *sock, int rows, int cols, const char *cmd, const char *marker)
{
	struct serial *s = serial_new(rows, cols, 10000);
	int fd = connect_to(sock), frames = 0;
	long long t0, last = 0, bytes = 0, paused_until = 0, last_read = 0;
	long long pause_us = getenv("PAUSE_US") != NULL ? atoll(getenv("PAUSE_US")) : GATHER_US;
	bool pending = false;
	int reads = 0;

	drain(fd, s);	/* whatever was queued before us */
	t0 = log_now_us();
	write_all(fd, cmd, strlen(cmd));
	write_all(fd, "\r", 1);
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		long long now = log_now_us(), wait = -1;
		long n;

		if (pending)
			wait = last + FRAME_US > now ? (last + FRAME_US - now + 999) / 1000 : 0;
		/* PAUSE_US: in a stream, let the output gather for a moment. */
		if (now < paused_until) {
			pfd.fd = -1;
			if (wait < 0 || wait > (paused_until - now + 999) / 1000)
				wait = (paused_until - now + 999) / 1000;
		}
		if (poll(&pfd, 1, (int)wait) < 0 && errno != EINTR)
			return 1;
		if (pfd.revents != 0) {
			if ((n = drain(fd, s)) < 0) {
				fprintf(stderr, "serialbench: the guest closed the console\n");
				return 1;
			}
			bytes += n;
			pending = true;
			now = log_now_us();
			if (pause_us > 0 && now - last_read < pause_us)
				paused_until = now + pause_us;
			last_read = now;
			reads++;
		}
		now = log_now_us();
		if (pending && now - last >= FRAME_US) {
			frames++;
			last = now;
			pending = false;
			if (screen_has(s, marker))
				break;
		}
		if (now - t0 > TIMEOUT_US) {
			fprintf(stderr, "serialbench: no '%s' after %lld s\n", marker,
			    TIMEOUT_US / 1000000);
			return 1;
		}
	}
	printf("ms=%.1f bytes=%lld frames=%d wakeups=%d\n", (log_now_us() - t0) / 1000.0, bytes,
	    frames, reads);
	close(fd);
	serial_free(s);
	return 0;
}

/* Read until nothing came for MS milliseconds. */
static void
settle(int fd, struct serial *s, int ms)
{
	struct pollfd pfd = { fd, POLLIN, 0 };

	while (poll(&pfd, 1, ms) > 0)
		if (drain(fd, s) < 0)
			exit(1);
}

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static int
latency(const char *sock, int n, bool raw)
{
	struct serial *s = serial_new(24, 200, 100);
	int fd = connect_to(sock), col0;
	long long *t = calloc((size_t)n, sizeof *t);
	const struct cellbuf *b;

	write_all(fd, "\025", 1);	/* Ctrl-U: an empty line */
	settle(fd, s, 300);
	b = serial_screen(s, 0);
	col0 = b->cursor_col;
	for (int i = 0; i < n; i++) {
		char c = (char)('a' + i % 26);
		long long t0 = log_now_us();
		bool seen = false;

		write_all(fd, &c, 1);
		while (!seen) {
			struct pollfd pfd = { fd, POLLIN, 0 };
			ssize_t got;

			if (poll(&pfd, 1, 5000) <= 0) {
				fprintf(stderr, "serialbench: no echo of key %d\n", i);
				return 1;
			}
			if (raw) {
				got = read(fd, buf, sizeof buf);
				if (got == 0)
					return 1;
				seen = got > 0 && memchr(buf, c, (size_t)got) != NULL;
				if (got > 0)
					serial_feed(s, buf, (size_t)got);
				continue;
			}
			if (drain(fd, s) < 0)
				return 1;
			b = serial_screen(s, 0);
			seen = b->cursor_col == col0 + i + 1 &&
			    b->cells[b->cursor_row * b->cols + b->cursor_col - 1].ch == (uint32_t)c;
		}
		t[i] = log_now_us() - t0;
		/* Keep the keys apart, as typing does. */
		settle(fd, s, 5);
	}
	write_all(fd, "\025", 1);
	settle(fd, s, 200);
	qsort(t, (size_t)n, sizeof *t, cmp_ll);
	printf("median_us=%lld min_us=%lld max_us=%lld\n",
	    n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2, t[0], t[n - 1]);
	free(t);
	close(fd);
	serial_free(s);
	return 0;
}

/* The user's terminal for panelat: what VMTTY drew, emulated. */
struct term {
	int fd;
	struct serial *s;
};

/* Read what the TUI drew for up to MS (or until it pauses, when MS is 0)
 * and answer its terminal queries; false when it exited. */
static bool
term_pump(struct term *t, int ms)
{
	struct pollfd pfd = { t->fd, POLLIN, 0 };
	char reply[256];
	size_t r;
	ssize_t n;

	if (poll(&pfd, 1, ms) <= 0)
		return true;
	n = read(t->fd, buf, sizeof buf);
	if (n <= 0)
		return false;
	serial_feed(t->s, buf, (size_t)n);
	while ((r = serial_take_reply(t->s, reply, sizeof reply)) > 0)
		write_all(t->fd, reply, r);
	return true;
}

/* Pump until the TUI has drawn nothing for MS. */
static void
term_settle(struct term *t, int ms)
{
	struct pollfd pfd = { t->fd, POLLIN, 0 };

	while (poll(&pfd, 1, ms) > 0)
		if (!term_pump(t, 0))
			return;
}

/* Pump until the TUI's screen shows TEXT, for up to MS; false if not. */
static bool
term_wait(struct term *t, const char *text, int ms)
{
	long long deadline = log_now_us() + ms * 1000LL;

	while (!screen_has(t->s, text)) {
		if (log_now_us() > deadline || !term_pump(t, 20))
			return false;
	}
	return true;
}

static int
panelat(const char *vmtty, const char *vm, int n)
{
	struct winsize ws = { .ws_row = 40, .ws_col = 120 };
	struct term t = { -1, serial_new(40, 120, 100) };
	long long *lat = calloc((size_t)n, sizeof *lat);
	char want[256], title[256], typed[128] = "";
	pid_t pid;
	int rc = 1;

	pid = forkpty(&t.fd, NULL, NULL, &ws);
	if (pid == 0) {
		setenv("TERM", "xterm-256color", 1);
		setenv("LANG", "C.UTF-8", 1);
		execl(vmtty, vmtty, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || lat == NULL)
		return 1;
	snprintf(title, sizeof title, "Console: VM '%s'", vm);
	if (!term_wait(&t, vm, 20000)) {
		fprintf(stderr, "serialbench: the TUI did not list '%s'\n", vm);
		goto out;
	}
	write_all(t.fd, "j", 1);
	term_settle(&t, 200);
	write_all(t.fd, "c", 1);
	if (!term_wait(&t, title, 20000)) {
		fprintf(stderr, "serialbench: no pane for '%s'\n", vm);
		goto out;
	}
	write_all(t.fd, "\025", 1);	/* Ctrl-U: an empty line */
	if (!term_wait(&t, ":/#", 5000))
		goto out;
	term_settle(&t, 300);
	for (int i = 0; i < n && i < (int)sizeof typed - 1; i++) {
		char c = (char)('a' + i % 26);
		long long t0;

		typed[i] = c;
		typed[i + 1] = '\0';
		snprintf(want, sizeof want, "# %s", typed);
		t0 = log_now_us();
		write_all(t.fd, &c, 1);
		if (!term_wait(&t, want, 5000)) {
			fprintf(stderr, "serialbench: no echo of key %d in the pane\n", i);
			goto out;
		}
		lat[i] = log_now_us() - t0;
		/* Keep the keys apart, as typing does (fast: 20 keys a second;
		 * keys closer than a frame's 16 ms share frames). */
		term_settle(&t, 50);
	}
	write_all(t.fd, "\025", 1);
	term_settle(&t, 200);
	qsort(lat, (size_t)n, sizeof *lat, cmp_ll);
	printf("median_us=%lld min_us=%lld max_us=%lld\n",
	    n % 2 ? lat[n / 2] : (lat[n / 2 - 1] + lat[n / 2]) / 2, lat[0], lat[n - 1]);
	rc = 0;
out:
	kill(pid, SIGTERM);
	while (term_pump(&t, 1000))
		;
	waitpid(pid, NULL, 0);
	close(t.fd);
	serial_free(t.s);
	free(lat);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc == 7 && strcmp(argv[1], "throughput") == 0)
		return throughput(argv[2], atoi(argv[3]), atoi(argv[4]), argv[5], argv[6]);
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "latency") == 0 && atoi(argv[3]) > 0)
		return latency(argv[2], atoi(argv[3]), argc == 5 && strcmp(argv[4], "raw") == 0);
	if (argc == 5 && strcmp(argv[1], "panelat") == 0 && atoi(argv[4]) > 0 && atoi(argv[4]) < 100)
		return panelat(argv[2], argv[3], atoi(argv[4]));
	fprintf(stderr, "usage: serialbench throughput SOCK ROWS COLS COMMAND MARKER\n"
	    "       serialbench latency SOCK N [raw]\n"
	    "       serialbench panelat VMTTY VM N\n");
	return 2;
}
