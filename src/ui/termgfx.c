/* termgfx: see termgfx.h.  The probe puts the tty in raw mode without
 * echo for its length only, so replies neither show nor reach curses;
 * images are written with write(2) after curses flushed its own output,
 * between DECSC and DECRC so that curses' idea of the cursor stays true. */
#include "ui/termgfx.h"

#include <curses.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "console/vnc.h"
#include "util/log.h"
#include "util/str.h"
#include "util/xalloc.h"

/* The next image starts no sooner than the end of the last write plus
 * the longer of that write's time and 33 ms: at most 1 / (write + 33 ms)
 * images a second (30 only for a write that takes no time), and while a
 * terminal takes an image in slower than 33 ms, the UI thread, which the
 * write blocks, gets at least as much time free as it spent writing.
 * Pacing from the start of the write would let a slow terminal keep it
 * writing all the time. */
#define TG_MIN_INTERVAL_US 33000
#define TG_GUESS_W 6			/* a small cell: an image too small, never too big */
#define TG_GUESS_H 12

static struct termgfx_info info = { .mode = TP_SYMBOLS, .why = "not probed yet" };

/* The image on screen and the one to write. */
static struct {
	char *img;
	size_t n;
	int row, col, rows, cols;
	bool wanted;		/* a view shows it this frame */
	bool fresh;		/* new bytes this frame */
	bool moved;		/* elsewhere, or another size, than the last one */
	bool on_screen;
	bool emit;		/* write it after doupdate */
	bool kitty_delete;	/* delete the kitty image after doupdate */
	long long next_us;	/* not before this */
	unsigned long long bytes, images;
} g;

/* Keys typed during the probe (termgfx_typed). */
static char typed[4096];
static size_t typed_n;

/* The replies so far (late ones too: termgfx_late_reply), what detect
 * found wrong in VMTTY_GRAPHICS, and the tty to ask for the cell size. */
static char replies[4096];
static size_t replies_n;
static char bad[300];
static int tty_out = -1;

size_t
termgfx_typed(const char **keys)
{
	*keys = typed;
	return typed_n;
}

const struct termgfx_info *
termgfx_info(void)
{
	return &info;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			poll(&pfd, 1, 1000);
			continue;
		}
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Send the queries and read replies until the last one or the deadline. */
static void
probe(int in, int out)
{
	char q[512], buf[4096];
	size_t n = 0, qn = tp_queries(q, sizeof q, info.tmux);
	struct termios old, raw;
	long long t0 = log_now_us(), left;

	info.probed = true;
	if (tcgetattr(in, &old) != 0)
		return;
	raw = old;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(in, TCSANOW, &raw) != 0)
		return;
	if (write_all(out, q, qn) == 0) {
		while ((left = TERMGFX_DEADLINE_MS * 1000LL - (log_now_us() - t0)) > 0) {
			struct pollfd pfd = { .fd = in, .events = POLLIN };
			ssize_t r;

			if (poll(&pfd, 1, (int)((left + 999) / 1000)) <= 0)
				continue;
			if ((r = read(in, buf + n, sizeof buf - n)) <= 0) {
				if (r < 0 && (errno == EINTR || errno == EAGAIN))
					continue;
				break;
			}
			n += (size_t)r;
			tp_parse(&info.caps, buf, n);
			if (tp_complete(&info.caps, info.tmux ? 2 : 1) || n == sizeof buf) {
				info.complete = true;
				break;
			}
		}
	}
	/* What is left in the tty comes too; then the replies are taken out
	 * and what the user typed meanwhile is kept for curses (ui.c gives it
	 * back with ungetch): type-ahead is not lost, and no reply reaches
	 * curses as keys. */
	for (ssize_t r; n < sizeof buf && (r = read(in, buf + n, sizeof buf - n)) > 0;)
		n += (size_t)r;
	typed_n = tp_keys(buf, n, typed);
	memcpy(replies, buf, n);
	replies_n = n;
	tcsetattr(in, TCSANOW, &old);
	info.probe_us = log_now_us() - t0;
}

static void
cell_from_tty(int out)
{
	struct winsize ws;

	if (ioctl(out, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0 &&
	    ws.ws_xpixel >= ws.ws_col && ws.ws_ypixel >= ws.ws_row) {
		info.cell_w = ws.ws_xpixel / ws.ws_col;
		info.cell_h = ws.ws_ypixel / ws.ws_row;
		info.cell_from = "TIOCGWINSZ";
	}
}

/* The mode from what the terminal said. */
static void
choose_mode(void)
{
	info.mode = tp_choose(&info.caps, getenv("TERM_PROGRAM"), getenv("LC_TERMINAL"),
	    info.tmux, info.why, sizeof info.why);
	if (bad[0] != '\0') {
		char w[sizeof bad + sizeof info.why];

		snprintf(w, sizeof w, "%s%s", bad, info.why);
		snprintf(info.why, sizeof info.why, "%.*s", (int)sizeof info.why - 1, w);
	}
}

/* The cell size: from the reply, the tty, or a guess. */
static void
cell_size(void)
{
	info.cell_w = info.cell_h = 0;
	if (info.caps.cell_w > 0 && info.caps.cell_h > 0) {
		info.cell_w = info.caps.cell_w;
		info.cell_h = info.caps.cell_h;
		info.cell_from = "CSI 16 t";
	} else {
		cell_from_tty(tty_out);
	}
	if (info.cell_w <= 0 || info.cell_h <= 0) {
		info.cell_w = TG_GUESS_W;
		info.cell_h = TG_GUESS_H;
		info.cell_from = "a guess (the terminal did not say)";
	}
	log_debug("termgfx: %s: %s; cell %dx%d px from %s", tp_mode_name(info.mode), info.why,
	    info.cell_w, info.cell_h, info.cell_from);
}

void
termgfx_detect(int in, int out)
{
	const char *env = getenv("VMTTY_GRAPHICS"), *term = getenv("TERM"), *tmux = getenv("TMUX");
	enum tp_mode m;
	bool is_auto;

	memset(&info, 0, sizeof info);
	bad[0] = '\0';
	replies_n = 0;
	tty_out = out;
	info.tmux = tmux != NULL && tmux[0] != '\0';
	if (tp_mode_parse(env, &m, &is_auto) != 0) {
		char *e = str_escape(env);

		snprintf(bad, sizeof bad, "VMTTY_GRAPHICS='%s' is none of auto, kitty, sixel, "
		    "iterm2, symbols; ", e);
		free(e);
		is_auto = true;
	}
	if (!is_auto && m == TP_SYMBOLS) {
		info.mode = TP_SYMBOLS;
		info.forced = true;
		snprintf(info.why, sizeof info.why, "VMTTY_GRAPHICS=symbols");
		return;
	}
	if (!isatty(in) || !isatty(out)) {
		snprintf(info.why, sizeof info.why, "%sno terminal to ask: block symbols", bad);
		return;
	}
	if (term == NULL || term[0] == '\0' || strcmp(term, "dumb") == 0) {
		snprintf(info.why, sizeof info.why, "%sTERM is '%s', which asks for no escape "
		    "sequences: block symbols", bad, term != NULL ? term : "");
		info.mode = TP_SYMBOLS;
	} else {
		probe(in, out);
		log_debug("termgfx: probe took %lld us, %d DA replies, %s", info.probe_us,
		    info.caps.nda, info.complete ? "complete" : "deadline reached");
		choose_mode();
	}
	if (!is_auto) {
		info.mode = m;
		info.forced = true;
		snprintf(info.why, sizeof info.why, "VMTTY_GRAPHICS=%s", tp_mode_name(m));
	}
	cell_size();
}

void
termgfx_late_reply(const char *bytes, size_t n)
{
	if (!info.probed || info.complete || n > sizeof replies - replies_n)
		return;
	memcpy(replies + replies_n, bytes, n);
	replies_n += n;
	tp_parse(&info.caps, replies, replies_n);
	info.complete = tp_complete(&info.caps, info.tmux ? 2 : 1);
	log_debug("termgfx: a reply came after the deadline (%d DA replies now)", info.caps.nda);
	/* What the terminal can do is clearer now; once a picture is out, it
	 * keeps the mode it was drawn in. */
	if (!info.forced && g.images == 0) {
		choose_mode();
		cell_size();
	}
}

void
termgfx_resized(int out)
{
	if (info.mode != TP_SYMBOLS)
		cell_from_tty(out);
}

void
termgfx_report(FILE *fp)
{
	const char *tp = getenv("TERM_PROGRAM"), *lt = getenv("LC_TERMINAL");
	char *e;

	e = str_escape(getenv("TERM") != NULL ? getenv("TERM") : "");
	fprintf(fp, "terminal:   TERM=%s%s\n", e, info.tmux ? ", under tmux" : "");
	free(e);
	if (tp != NULL || lt != NULL) {
		char *a = str_escape(tp != NULL ? tp : ""), *b = str_escape(lt != NULL ? lt : "");

		fprintf(fp, "            TERM_PROGRAM=%s LC_TERMINAL=%s\n", a, b);
		free(a);
		free(b);
	}
	if (info.probed) {
		fprintf(fp, "probe:      %.1f ms (deadline %d ms), %s\n", (double)info.probe_us / 1000.0,
		    TERMGFX_DEADLINE_MS, info.complete ? "all replies came" :
		    info.caps.nda == 0 ? "no reply" : "the deadline came first");
		for (int i = 0; i < info.caps.nda && i < TP_MAX_DA; i++)
			fprintf(fp, "            device attributes%s: class %d, sixel %s\n",
			    info.tmux ? (i == 0 ? " (tmux)" : " (outer terminal)") : "",
			    info.caps.da_class[i], info.caps.da_sixel[i] ? "yes" : "no");
		fprintf(fp, "            kitty graphics: %s\n", info.caps.kitty ? "yes" :
		    info.caps.kitty_error ? "answered with an error" : "no answer");
		if (info.caps.sixel_max_w > 0 || info.caps.sixel_colours > 0)
			fprintf(fp, "            sixel limits: %dx%d pixels, %d colour registers\n",
			    info.caps.sixel_max_w, info.caps.sixel_max_h, info.caps.sixel_colours);
	} else {
		fprintf(fp, "probe:      not made\n");
	}
	if (info.cell_w > 0)
		fprintf(fp, "cell:       %dx%d pixels (%s)\n", info.cell_w, info.cell_h, info.cell_from);
	fprintf(fp, "graphics:   %s: %s\n", tp_mode_name(info.mode), info.why);
}

void
termgfx_frame_begin(void)
{
	g.wanted = false;
	g.fresh = false;
	g.moved = false;
}

void
termgfx_show(int row, int col, int rows, int cols, const char *bytes, size_t n)
{
	g.moved = row != g.row || col != g.col || rows != g.rows || cols != g.cols;
	free(g.img);
	g.img = xmalloc(n);
	memcpy(g.img, bytes, n);
	g.n = n;
	g.row = row;
	g.col = col;
	g.rows = rows;
	g.cols = cols;
	g.wanted = true;
	g.fresh = true;
}

void
termgfx_keep(void)
{
	g.wanted = g.img != NULL;
}

void
termgfx_frame_end(bool covered)
{
	bool show = g.wanted && !covered;

	g.emit = false;
	if (info.mode == TP_SYMBOLS)
		return;
	/* Gone, or about to be drawn elsewhere: clear what is left of it. */
	if (g.on_screen && (!show || g.moved)) {
		clearok(curscr, TRUE);
		g.on_screen = false;
		g.kitty_delete = info.mode == TP_KITTY;
	}
	g.emit = show && (g.fresh || !g.on_screen || is_cleared(curscr));
}

static void
write_wrapped(int out, const char *p, size_t n)
{
	char *w;
	size_t wn;

	if (!info.tmux) {
		write_all(out, p, n);
		return;
	}
	w = xmalloc(2 * n + 16);
	wn = tp_tmux_wrap(p, n, w, 2 * n + 16);
	write_all(out, w, wn);
	free(w);
}

void
termgfx_flush(int out)
{
	char pos[32];
	long long t0, t1, took;

	if (g.kitty_delete) {
		char del[64];

		snprintf(del, sizeof del, "\033_Ga=d,d=I,i=%d,q=2\033\\", VNC_KITTY_IMAGE_ID);
		fflush(stdout);
		write_wrapped(out, del, strlen(del));
		g.kitty_delete = false;
	}
	if (!g.emit || g.img == NULL)
		return;
	g.emit = false;
	fflush(stdout);
	t0 = log_now_us();
	snprintf(pos, sizeof pos, "\0337\033[%d;%dH", g.row + 1, g.col + 1);
	write_all(out, pos, strlen(pos));
	write_wrapped(out, g.img, g.n);
	write_all(out, "\0338", 2);
	t1 = log_now_us();
	took = t1 - t0;
	g.next_us = t1 + (took > TG_MIN_INTERVAL_US ? took : TG_MIN_INTERVAL_US);
	g.on_screen = true;
	g.bytes += g.n;
	g.images++;
	log_debug("termgfx: %zu bytes of %s at %d,%d (%dx%d cells) in %lld us", g.n,
	    tp_mode_name(info.mode), g.row, g.col, g.cols, g.rows, took);
}

void
termgfx_end(int out)
{
	if (g.on_screen && info.mode == TP_KITTY)
		g.kitty_delete = true;
	g.emit = false;
	g.on_screen = false;
	termgfx_flush(out);
	free(g.img);
	g.img = NULL;
	g.n = 0;
}

bool
termgfx_ready(long *wait_ms)
{
	long long now = log_now_us();

	if (now >= g.next_us)
		return true;
	*wait_ms = (long)((g.next_us - now + 999) / 1000);
	return false;
}

void
termgfx_stats(unsigned long long *bytes, unsigned long long *images)
{
	*bytes = g.bytes;
	*images = g.images;
}
