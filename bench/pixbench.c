/* pixbench [-p COLSxROWS] [-c WxH] [-t sixel|kitty|plain] [-k KEYS] [-s MS] [-w MS]
 *          [-r KIB_S] [-l LOG] [-o FILE] CMD [ARGS]: run the TUI CMD on a fresh
 * pseudo-terminal that answers vmtty's terminal probe (the queries ending
 * with ESC [ c) as a terminal of that kind, type KEYS once the first screen
 * has settled (500 ms without output), let it run -s MS more (default
 * 2000), then measure what CMD writes to the terminal over a window of -w MS
 * (default 10000), and quit it (Ctrl-] l, then q).
 *
 * The terminal, for -t:
 *   sixel  xterm -ti vt340's replies (device attributes listing 4, 256
 *          colour registers, the cell size for CSI 16 t), its largest sixel
 *          image being the window (COLS*W x ROWS*H pixels) as in foot or
 *          WezTerm rather than xterm's 800x480 default;
 *   kitty  kitty's replies (OK to the kitty graphics query, the cell size
 *          for CSI 16 t, device attributes without 4);
 *   plain  device attributes without 4 and nothing else (GNOME Terminal's
 *          VTE answers so): a terminal that shows no pixels.
 * The window's pixel size (TIOCGWINSZ) is COLS*W x ROWS*H (-c, default
 * 8x16) either way.  What comes is read as fast as it comes and not drawn:
 * a terminal that keeps up with anything; with -r, at most KIB_S KiB a
 * second (a slow terminal, or one over a slow link).
 *
 * Counted over the window:
 *   bytes    everything written to the terminal (-o FILE keeps them);
 *   images   sixel images ending in it (ESC P ... q ... ESC \), or kitty
 *            images (ESC _ G ... ESC \ escapes up to the one without m=1;
 *            deletions and queries are not images): each is a whole
 *            picture of the VM's screen;
 *   updates  the screen updates CMD made (curses' doupdate, each followed
 *            by its image if any): its debug log LOG's "ui: frame drawn"
 *            lines written in the window (the log is line-buffered: its
 *            size at the window's start and end delimits them).  vmtty's
 *            TUI also redraws by itself now and then: about 0.3 updates a
 *            second (28 bytes in 6 s) with the VM's screen still;
 *   write    the median time vmtty took to write an image (its log's
 *            "termgfx: N bytes of sixel (or kitty) ... in US us"): it waits at least
 *            that long, and at least 33 ms, before the next one;
 *   cpu      CMD's CPU time (/proc/PID/stat, all its threads).
 * fps is images a second for -t sixel and kitty, updates a second for -t
 * plain.
 * Prints "wall_ms=.. fps=.. kib_s=.. frame_kib=.. bytes=.. images=..
 * sixel_bytes=.. updates=.. log_images=.. write_ms=.. cpu_pct=.. status=..":
 * frames and KiB written a second, KiB a frame, the counts, the median
 * write, CMD's CPU in % of one core, and CMD's exit status (1 when it had
 * to be killed). */
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* CPU time of PID so far, all its threads, in ms; -1 when gone. */
static double
cpu_of(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After the command's name in parentheses: state, then fields 4..15. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

/* The stream's sixel and kitty images: a small parser fed every byte. */
enum { S_TEXT, S_ESC, S_DCS, S_SIXEL, S_SIXEL_ESC, S_APC, S_KITTY, S_KITTY_ESC };
static struct {
	int state;
	long long cur;		/* bytes of the image being read */
	long long images, bytes;	/* finished in the window */
	int counting;
	char ctl[128];		/* a kitty escape's keys (before ';') */
	size_t ctl_n;
	int in_data;		/* past the ';' */
} sx;

/* Whether the kitty escape's keys hold KEY (as "m=1"). */
static int
ctl_has(const char *key)
{
	size_t k = strlen(key);

	for (size_t i = 0; i + k <= sx.ctl_n; i++)
		if ((i == 0 || sx.ctl[i - 1] == ',') && memcmp(sx.ctl + i, key, k) == 0 &&
		    (i + k == sx.ctl_n || sx.ctl[i + k] == ','))
			return 1;
	return 0;
}

static void
image_done(void)
{
	if (sx.counting) {
		sx.images++;
		sx.bytes += sx.cur;
	}
	sx.cur = 0;
}

static void
sixel_feed(const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)b[i];

		if (sx.state >= S_DCS && sx.state <= S_SIXEL_ESC)
			sx.cur++;
		if (sx.state >= S_APC)
			sx.cur++;
		switch (sx.state) {
		case S_TEXT:
			if (c == 033)
				sx.state = S_ESC;
			break;
		case S_ESC:
			if (c == 'P') {
				sx.state = S_DCS;
				sx.cur = 2;
			} else if (c == '_') {
				sx.state = S_APC;
				sx.cur += 2;	/* an image goes on over escapes */
			} else {
				sx.state = c == 033 ? S_ESC : S_TEXT;
			}
			break;
		case S_DCS:	/* parameters, then q for sixel */
			if (c == 'q')
				sx.state = S_SIXEL;
			else if (!((c >= '0' && c <= '9') || c == ';'))
				sx.state = S_TEXT;	/* another DCS: not an image */
			break;
		case S_SIXEL:
			if (c == 033)
				sx.state = S_SIXEL_ESC;
			break;
		case S_SIXEL_ESC:
			if (c == '\\') {
				image_done();
				sx.state = S_TEXT;
			} else {
				sx.state = c == 033 ? S_SIXEL_ESC : S_SIXEL;
			}
			break;
		case S_APC:	/* G for the kitty graphics protocol */
			sx.state = c == 'G' ? S_KITTY : S_TEXT;
			sx.ctl_n = 0;
			sx.in_data = 0;
			break;
		case S_KITTY:
			if (c == 033)
				sx.state = S_KITTY_ESC;
			else if (c == ';')
				sx.in_data = 1;
			else if (!sx.in_data && sx.ctl_n < sizeof sx.ctl)
				sx.ctl[sx.ctl_n++] = (char)c;
			break;
		case S_KITTY_ESC:
			if (c != '\\') {
				sx.state = c == 033 ? S_KITTY_ESC : S_KITTY;
				break;
			}
			sx.state = S_TEXT;
			if (ctl_has("a=d") || ctl_has("a=q"))
				sx.cur = 0;	/* not an image */
			else if (!ctl_has("m=1"))
				image_done();
			break;
		}
	}
}

static const char *reply;	/* the probe's answer, until it is sent */
static char tail[2];		/* the last bytes, for a query split over reads */
static size_t tail_n;
static long long bytes;
static FILE *dump;		/* -o: the window's bytes */
static double rate;		/* -r: bytes a millisecond, 0 for any */
static double read_t0 = -1, read_n;	/* since the first read */

/* Whether the device attributes query (ESC [ c, the probe's last) is in
 * BUF, or begins in what came before it. */
static int
da_query(const char *buf, size_t n)
{
	char look[sizeof tail + 3];
	size_t m = n < 3 ? n : 3, k;
	int found;

	/* A query split over reads: the last bytes before with the first now. */
	memcpy(look, tail, tail_n);
	memcpy(look + tail_n, buf, m);
	k = tail_n + m;
	found = memmem(look, k, "\033[c", 3) != NULL || memmem(buf, n, "\033[c", 3) != NULL;
	/* The last bytes of all so far (all of them are in LOOK when BUF is short). */
	if (n >= sizeof tail) {
		memcpy(tail, buf + n - sizeof tail, sizeof tail);
		tail_n = sizeof tail;
	} else {
		tail_n = k < sizeof tail ? k : sizeof tail;
		memcpy(tail, look + k - tail_n, tail_n);
	}
	return found;
}

/* Read for MS milliseconds (or, with MS < 0, until the first output and
 * then 500 ms of silence, at most 20 s), feeding the sixel parser; answer
 * the probe once its last query has come.  With COUNT, count the bytes.
 * -1 when CMD is gone. */
static int
run_for(double ms, int count)
{
	double start = now_ms(), end = start + (ms < 0 ? 20000 : ms), quiet_since = -1;
	char buf[65536];

	for (;;) {
		double t = now_ms();
		int wait = (int)(end - t) + 1;
		struct pollfd p = { master, POLLIN, 0 };
		ssize_t n;

		if (t >= end)
			return ms < 0 ? -1 : 0;
		if (ms < 0 && quiet_since >= 0) {
			if (t - quiet_since >= 500)
				return 0;
			wait = (int)(quiet_since + 500 - t) + 1;
		}
		if (poll(&p, 1, wait) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (!(p.revents & (POLLIN | POLLHUP)))
			continue;
		if (rate > 0 && read_t0 >= 0 && read_n / rate > t - read_t0) {
			/* Slow: nothing more until the rate allows it. */
			struct timespec d = { 0, 1000000 };

			nanosleep(&d, NULL);
			continue;
		}
		if ((n = read(master, buf, rate > 0 ? 4096 : sizeof buf)) <= 0)
			return -1;	/* EIO once CMD has closed the pty */
		if (read_t0 < 0)
			read_t0 = t;
		read_n += (double)n;
		if (count) {
			bytes += n;
			if (dump != NULL)
				fwrite(buf, 1, (size_t)n, dump);
		}
		quiet_since = now_ms();
		sixel_feed(buf, (size_t)n);
		if (reply != NULL && da_query(buf, (size_t)n)) {
			if (write(master, reply, strlen(reply)) != (ssize_t)strlen(reply))
				return -1;
			reply = NULL;
		}
	}
}

/* The size of FILE now; 0 when it is not there (yet). */
static long long
size_of(const char *file)
{
	struct stat st;

	return file != NULL && stat(file, &st) == 0 ? (long long)st.st_size : 0;
}

static int
cmp_ll(const void *x, const void *y)
{
	long long a = *(const long long *)x, b = *(const long long *)y;

	return (a > b) - (a < b);
}

/* What vmtty's debug log FILE says between byte offsets FROM and TO: the
 * screen updates ("ui: frame drawn"), the images written ("termgfx: N
 * bytes of sixel ... in US us") and the median time one took to write. */
static void
read_log(const char *file, long long from, long long to, long long *updates, long long *images,
    double *write_ms)
{
	static long long us[65536];
	char line[4096], *p;
	size_t n = 0;
	FILE *f;

	*updates = *images = 0;
	*write_ms = 0;
	if (file == NULL || (f = fopen(file, "r")) == NULL || fseek(f, from, SEEK_SET) != 0) {
		*updates = *images = -1;
		return;
	}
	while (ftell(f) < to && fgets(line, sizeof line, f) != NULL) {
		if (strstr(line, "ui: frame drawn") != NULL)
			(*updates)++;
		if (strstr(line, " bytes of sixel ") != NULL || strstr(line, " bytes of kitty ") != NULL) {
			(*images)++;
			if ((p = strstr(line, ") in ")) != NULL && n < sizeof us / sizeof us[0])
				us[n++] = atoll(p + 5);
		}
	}
	fclose(f);
	if (n > 0) {
		qsort(us, n, sizeof us[0], cmp_ll);
		*write_ms = (n % 2 ? us[n / 2] : (us[n / 2 - 1] + us[n / 2]) / 2) / 1000.0;
	}
}

int
main(int argc, char **argv)
{
	struct winsize ws = { .ws_col = 160, .ws_row = 48 };
	unsigned cols, rows, cw = 8, ch = 16;
	const char *keys = "v", *type = "sixel", *log = NULL;
	double settle = 2000, window = 10000, t0, t1, c0, c1;
	long long l0, l1, updates, log_images;
	double write_ms;
	char sixel_reply[256], kitty_reply[256];
	int opt, status, killed = 0;
	pid_t pid;

	while ((opt = getopt(argc, argv, "+p:c:t:k:s:w:r:l:o:")) != -1) {
		switch (opt) {
		case 'p':
			if (sscanf(optarg, "%ux%u", &cols, &rows) != 2)
				goto usage;
			ws.ws_col = (unsigned short)cols;
			ws.ws_row = (unsigned short)rows;
			break;
		case 'c':
			if (sscanf(optarg, "%ux%u", &cw, &ch) != 2 || cw == 0 || ch == 0)
				goto usage;
			break;
		case 't':
			type = optarg;
			break;
		case 'k':
			keys = optarg;
			break;
		case 's':
			settle = atof(optarg);
			break;
		case 'w':
			window = atof(optarg);
			break;
		case 'r':
			rate = atof(optarg) * 1024.0 / 1000.0;
			break;
		case 'l':
			log = optarg;
			break;
		case 'o':
			if ((dump = fopen(optarg, "w")) == NULL) {
				perror("pixbench: -o");
				return 1;
			}
			break;
		default:
			goto usage;
		}
	}
	if (optind >= argc || window <= 0)
		goto usage;
	ws.ws_xpixel = (unsigned short)(ws.ws_col * cw);
	ws.ws_ypixel = (unsigned short)(ws.ws_row * ch);
	if (strcmp(type, "sixel") == 0) {
		snprintf(sixel_reply, sizeof sixel_reply,
		    "\033[?1;0;256S\033[?2;0;%u;%uS\033[6;%u;%ut\033[?63;1;2;4;6;9;15;22c",
		    ws.ws_xpixel, ws.ws_ypixel, ch, cw);
		reply = sixel_reply;
	} else if (strcmp(type, "kitty") == 0) {
		snprintf(kitty_reply, sizeof kitty_reply, "\033_Gi=31;OK\033\\\033[6;%u;%ut\033[?62;c",
		    ch, cw);
		reply = kitty_reply;
	} else if (strcmp(type, "plain") == 0) {
		reply = "\033[?65;1;9c";
	} else {
		goto usage;
	}
	pid = forkpty(&master, NULL, NULL, &ws);
	if (pid < 0) {
		perror("pixbench: forkpty");
		return 1;
	}
	if (pid == 0) {
		/* The replies alone decide: nothing else names the terminal. */
		unsetenv("TMUX");
		unsetenv("TERM_PROGRAM");
		unsetenv("LC_TERMINAL");
		unsetenv("COLORTERM");
		execvp(argv[optind], argv + optind);
		perror("pixbench: exec");
		_exit(127);
	}
	if (run_for(-1, 0) != 0 || write(master, keys, strlen(keys)) != (ssize_t)strlen(keys) ||
	    run_for(settle, 0) != 0)
		goto gone;
	sx.counting = 1;
	l0 = size_of(log);
	t0 = now_ms();
	c0 = cpu_of(pid);
	if (run_for(window, 1) != 0)
		goto gone;
	t1 = now_ms();
	c1 = cpu_of(pid);
	l1 = size_of(log);
	sx.counting = 0;
	if (dump != NULL)
		fclose(dump);
	/* Back to the list, and quit. */
	if (write(master, "\035l", 2) != 2 || run_for(300, 0) != 0 || write(master, "q", 1) != 1 ||
	    run_for(5000, 0) == 0) {
		kill(pid, SIGTERM);
		killed = 1;
	}
	waitpid(pid, &status, 0);
	read_log(log, l0, l1, &updates, &log_images, &write_ms);
	{
		double s = (t1 - t0) / 1000.0;
		long long frames = strcmp(type, "plain") != 0 ? sx.images : updates;

		printf("wall_ms=%.1f fps=%.2f kib_s=%.1f frame_kib=%.1f bytes=%lld images=%lld "
		    "sixel_bytes=%lld updates=%lld log_images=%lld write_ms=%.1f cpu_pct=%.1f "
		    "status=%d\n", t1 - t0, frames / s, bytes / 1024.0 / s,
		    frames > 0 ? bytes / 1024.0 / frames : 0.0, bytes, sx.images, sx.bytes, updates,
		    log_images, write_ms, (c1 - c0) / (t1 - t0) * 100.0,
		    killed || !WIFEXITED(status) ? 1 : WEXITSTATUS(status));
	}
	return 0;
gone:
	fprintf(stderr, "pixbench: %s stopped (or never started) answering\n", argv[optind]);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return 1;
usage:
	fprintf(stderr, "usage: pixbench [-p COLSxROWS] [-c WxH] [-t sixel|kitty|plain] [-k KEYS] "
	    "[-s MS] [-w MS] [-r KIB_S] [-l LOG] [-o FILE] CMD [ARGS]\n");
	return 2;
}
