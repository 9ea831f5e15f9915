/* The serial console pane: a guest's serial console through a libvterm
 * emulator (console/serial.c) drawn in a view of its own, a prefix key
 * (Ctrl-]) for commands, scrollback with search, and reattaching when the
 * guest's end goes away.  Also the full-screen passthrough ('C').
 *
 * Everything runs on the UI thread: the console fd is one more watch of the
 * loop, read as it comes (see console_read), and written only when it
 * takes bytes (keys and the emulator's replies wait in a buffer
 * meanwhile); frames are spaced at most 60 a second.  Opening goes through
 * the fleet, off the UI thread.  For built-in hosts the serial log gives
 * the history before the pane opened and what was missed while it was
 * detached. */
#include "ui/cellview.h"
#include "ui/overlay.h"
#include "ui/ui_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "console/passthru.h"
#include "console/serial.h"
#include "ops/fleet.h"
#include "model/host.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/paths.h"
#include "util/xalloc.h"

#define CON_PREFIX K_CTRL(']')
#define CON_SCROLLBACK 10000		/* lines */
#define CON_HISTORY_MAX (256 * 1024)	/* of the serial log fed on open */
#define CON_READ_CHUNK (64 * 1024)
#define CON_READ_MAX (1024 * 1024)	/* per wakeup, so that keys get a turn */
#define CON_OUT_MAX (256 * 1024)	/* bytes for the guest not written yet */
#define CON_FRAME_MS 16			/* at most one frame per burst of this */
#define CON_FLOOD_FRAME_MS 50		/* ... and of this in a long stream */
#define CON_FLOOD_US 250000		/* output this long without a rest: a stream */
#define CON_REST_US 50000		/* a pause this long ends a stream */
#define CON_RETRY_MS 1000
#define CON_TAIL 64			/* the last bytes seen, to find them in the log */

struct opening;

struct console {
	struct ui *ui;
	void *list;		/* the VM list's state, to go back to */
	struct vm_config cfg;	/* a copy, for the title and reattaching */
	bool builtin;		/* built-in host: history from the log, reattach */
	char *log_path;		/* the serial log on this machine, or NULL */
	off_t log_pos;		/* how far into the log the screen has got */
	char tail[CON_TAIL];	/* the last bytes fed to the emulator */
	size_t ntail;

	struct serial *s;
	struct cellview *cv;
	int rows, cols;		/* the emulator's size: the pane's */

	int fd, watch;
	char *out;		/* for the guest, not written yet */
	size_t outlen, outsize;
	long long last_read;	/* log_now_us() of the last read that got bytes */
	long long burst_start;	/* log_now_us() of the first read after a rest */

	bool closed;
	char why[512];		/* why it closed */
	struct opening *opening;	/* a reattach in flight */
	int retry_timer;
	bool retry_asked;	/* Ctrl-] r: say how the reattach went */

	bool prefix;		/* Ctrl-] typed: the next key is a command */
	bool scrolling;
	int offset;		/* lines scrolled back */
	char search[256];
	int match;		/* document line of the last match, -1 none */
	char *session_log;	/* the file the session is logged to, or NULL */

	int frame_timer;
	long long last_frame;
	int cursor_timer;
	bool cursor_show, help_open;
	int cursor_y, cursor_x;
};

/* A console being opened (a new pane, a reattach, or the passthrough). */
struct opening {
	struct ui *ui;
	struct console *con;	/* the pane to reattach, or NULL */
	bool passthru;
	bool cancelled;		/* the pane went away meanwhile */
	void *list;
	struct vm_config cfg;
	bool builtin;
	struct opening *next;
};

/* Openings of new panes, so that a second 'c' does not open twice. */
static struct opening *openings;

static const char *const console_hints[] = {
	"Ctrl-] l", "List", "Ctrl-] n", "Next", "Ctrl-] [", "Scroll", "Ctrl-] k", "Close",
	"Ctrl-] ?", "Help", NULL, NULL,
};

static const char *const console_help[] = {
	"Every key goes to the guest, except Ctrl-] and what follows it:",
	"Ctrl-] l\tback to the VM list (the console stays open)",
	"Ctrl-] n / p\tthe next / previous open console",
	"Ctrl-] [ PgUp\tscrollback mode",
	"Ctrl-] k\tclose this console",
	"Ctrl-] r\treattach now (after the console closed)",
	"Ctrl-] s\ttype 'stty rows R cols C' for the pane's size",
	"Ctrl-] w\tlog the session to a file (again: stop logging)",
	"Ctrl-] Ctrl-]\tsend Ctrl-] itself to the guest",
	"Ctrl-] ?\tthis help",
	"Ctrl-] Esc\tnothing (cancel the prefix)",
	"",
	"Scrollback mode",
	"PgUp PgDn\ta page up / down",
	"Up Down k j\ta line up / down",
	"g Home G End\tthe oldest line / the live screen",
	"mouse wheel\tscroll back and forth",
	"/\tsearch backwards for a text",
	"n\tthe next match further back",
	"q Esc\tback to the live console",
	"",
	"The 'c' and 'C' keys of the VM list open consoles; from the shell,",
	"'vmtty console VM' does the same full screen.",
	NULL,
};

extern const struct view console_view;

static void console_reopen(struct console *con);
static void on_retry(void *arg);

static bool
con_current(const struct console *con)
{
	return ui_view_state(con->ui) == con;
}

/* The loop draws when the UI is dirty; during a flood of output that would
 * be once per read, so frames are spaced CON_FRAME_MS apart instead, and
 * CON_FLOOD_FRAME_MS in a long stream (a 5 MB cat): each frame then
 * redraws the whole pane, for us and for the terminal, CPU that the
 * guest's vCPU wants (it makes the stream); 20 frames a second still look
 * live. */
static void
on_frame(void *arg)
{
	struct console *con = arg;

	con->frame_timer = -1;
	ui_intent(con->ui, UI_REDRAW);
}

static void
con_dirty(struct console *con)
{
	long long since, now;
	int spacing;

	/* A frame already due: nothing to do (and no clock to read, once per
	 * read in a stream). */
	if (!con_current(con) || con->frame_timer >= 0)
		return;
	since = log_now_ms() - con->last_frame;
	now = log_now_us();
	spacing = now - con->last_read < CON_REST_US &&
	    con->last_read - con->burst_start > CON_FLOOD_US ? CON_FLOOD_FRAME_MS : CON_FRAME_MS;
	if (since >= spacing)
		ui_intent(con->ui, UI_REDRAW);
	else
		con->frame_timer = loop_add_timer(ui_loop(con->ui), spacing - since,
		    on_frame, con);
}

/* Remember the last bytes the emulator got (see console_history). */
static void
tail_add(struct console *con, const char *p, size_t n)
{
	if (n >= CON_TAIL) {
		memcpy(con->tail, p + n - CON_TAIL, CON_TAIL);
		con->ntail = CON_TAIL;
		return;
	}
	if (con->ntail + n > CON_TAIL) {
		size_t drop = con->ntail + n - CON_TAIL;

		memmove(con->tail, con->tail + drop, con->ntail - drop);
		con->ntail -= drop;
	}
	memcpy(con->tail + con->ntail, p, n);
	con->ntail += n;
}

/* Whether the log still holds what we fed last at log_pos: the same QEMU
 * wrote it, so the screen continues from there. */
static bool
log_continues(struct console *con, int fd, off_t size)
{
	char buf[CON_TAIL];

	if (con->log_pos == 0 || size < con->log_pos || (off_t)con->ntail > con->log_pos)
		return false;
	if (pread(fd, buf, con->ntail, con->log_pos - (off_t)con->ntail) != (ssize_t)con->ntail)
		return false;
	return memcmp(buf, con->tail, con->ntail) == 0;
}

/*
 * Feed the emulator what the serial log holds that the screen lacks: on
 * the first attach its last CON_HISTORY_MAX bytes, on a reattach what the
 * guest printed while we were away (or the new log of a VM started again:
 * QEMU truncates it).  Replies the emulator makes to old queries in there
 * are dropped: the guest asked them long ago.
 */
static void
console_history(struct console *con)
{
	struct stat st;
	off_t from = 0;
	size_t len, skip = 0;
	char *buf, junk[256];
	ssize_t n;
	int fd;

	if (con->log_path == NULL ||
	    (fd = open(con->log_path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return;
	}
	if (log_continues(con, fd, st.st_size))
		from = con->log_pos;
	if (st.st_size - from > CON_HISTORY_MAX) {
		from = st.st_size - CON_HISTORY_MAX;
		skip = 1;	/* cut in a line: start at the next one */
	}
	len = (size_t)(st.st_size - from);
	buf = xmalloc(len + 1);
	n = len > 0 ? pread(fd, buf, len, from) : 0;
	close(fd);
	if (n < 0)
		n = 0;
	len = (size_t)n;
	if (skip) {
		char *nl = memchr(buf, '\n', len);

		skip = nl != NULL ? (size_t)(nl - buf) + 1 : 0;
	}
	if (len > skip) {
		serial_feed(con->s, buf + skip, len - skip);
		tail_add(con, buf + skip, len - skip);
	}
	while (serial_take_reply(con->s, junk, sizeof junk) > 0)
		;
	con->log_pos = from + (off_t)len;
	log_debug("console: VM '%s': %zu bytes of history from '%s'", con->cfg.name,
	    len > skip ? len - skip : 0, con->log_path);
	free(buf);
}

static void
out_events(struct console *con)
{
	if (con->watch >= 0)
		loop_set_events(ui_loop(con->ui), con->watch,
		    POLLIN | (con->outlen > 0 ? POLLOUT : 0));
}

/* The guest's end is gone: keep the screen, say why, and for built-in
 * hosts (with RETRY) try again every second (a VM started again has a new
 * socket). */
static void
console_closed(struct console *con, const char *why, bool retry)
{
	if (con->fd >= 0) {
		loop_remove_fd(ui_loop(con->ui), con->watch);
		close(con->fd);
	}
	con->fd = con->watch = -1;
	con->outlen = 0;
	con->closed = true;
	snprintf(con->why, sizeof con->why, "%s", why);
	log_debug("console: VM '%s': closed: %s", con->cfg.name, why);
	if (con_current(con))
		ui_status(con->ui, false, "The console of VM '%s' closed: %s.", con->cfg.name, why);
	if (retry && con->builtin && con->retry_timer < 0 && con->opening == NULL)
		con->retry_timer = loop_add_timer(ui_loop(con->ui), CON_RETRY_MS,
		    on_retry, con);
	con_dirty(con);
}

/* Write what waits for the guest, as far as it takes it now. */
static void
out_flush(struct console *con)
{
	while (con->outlen > 0 && con->fd >= 0) {
		ssize_t n = write(con->fd, con->out, con->outlen);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			console_closed(con, n < 0 ? strerror(errno) : "the guest takes no input", true);
			return;
		}
		memmove(con->out, con->out + n, con->outlen - (size_t)n);
		con->outlen -= (size_t)n;
	}
	out_events(con);
}

static void
out_add(struct console *con, const char *p, size_t n)
{
	if (con->fd < 0)
		return;
	if (con->outlen + n > CON_OUT_MAX) {
		ui_status(con->ui, true, "The guest of VM '%s' is not reading its console; "
		    "%zu bytes of input were dropped.", con->cfg.name, n);
		return;
	}
	if (con->outlen + n > con->outsize) {
		con->outsize = con->outlen + n > 4096 ? (con->outlen + n) * 2 : 4096;
		con->out = xrealloc(con->out, con->outsize);
	}
	memcpy(con->out + con->outlen, p, n);
	con->outlen += n;
}

/* Guest output into the emulator; its replies go back to the guest. */
static void
console_feed(struct console *con, const char *p, size_t n)
{
	char reply[512];
	size_t r;

	serial_feed(con->s, p, n);
	con->log_pos += (off_t)n;
	tail_add(con, p, n);
	while ((r = serial_take_reply(con->s, reply, sizeof reply)) > 0)
		out_add(con, reply, r);
}

/*
 * Read what the guest sent, at every wakeup.  QEMU writes a serial port's
 * output to the socket a byte or a few at a time, and the socket holds
 * only some 150 such writes before QEMU's next one blocks and the guest's
 * UART stalls: letting output gather (a 1 ms rest between reads, as this
 * did) cut a 5 MB cat to a third of socat's speed.  Drawing, not reading,
 * is what is spaced out (con_dirty).
 */
static void
console_read(struct console *con)
{
	static char buf[CON_READ_CHUNK];
	int sb0 = serial_scrollback_lines(con->s), sb1;
	size_t total = 0;
	long long now;

	while (con->fd >= 0 && total < CON_READ_MAX) {
		ssize_t n = read(con->fd, buf, sizeof buf);

		if (n > 0) {
			console_feed(con, buf, (size_t)n);
			total += (size_t)n;
			if ((size_t)n < sizeof buf)
				break;	/* drained for now */
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		console_closed(con, n != 0 ? strerror(errno) : con->builtin ?
		    "the guest's end hung up" : "the console stream ended (the VM stopped, "
		    "another client took the console over, or the host went away)", true);
		return;
	}
	/* Scrolled back, the view stays on the same lines while output
	 * arrives (until the scrollback is full and lines fall off). */
	sb1 = serial_scrollback_lines(con->s);
	if (con->scrolling && sb1 > sb0)
		con->offset = con->offset + sb1 - sb0 > sb1 ? sb1 : con->offset + sb1 - sb0;
	if (total > 0) {
		now = log_now_us();
		if (now - con->last_read >= CON_REST_US)
			con->burst_start = now;
		con->last_read = now;
	}
	if (con->outlen > 0)
		out_flush(con);
	else
		out_events(con);
	if (total > 0)
		con_dirty(con);
}

static void
on_console_fd(int fd, short revents, void *arg)
{
	struct console *con = arg;

	(void)fd;
	if (revents & POLLOUT)
		out_flush(con);
	if (con->fd >= 0 && (revents & (POLLIN | POLLHUP | POLLERR)))
		console_read(con);
	if (con->fd >= 0 && (revents & POLLNVAL))
		console_closed(con, "the connection is no longer valid", true);
}

static void
console_attach(struct console *con, int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl != -1 && !(fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	con->fd = fd;
	con->watch = loop_add_fd(ui_loop(con->ui), fd, POLLIN, on_console_fd, con);
	con->closed = false;
	con->why[0] = '\0';
	con_dirty(con);
}

static struct opening *
opening_new(struct ui *ui, const struct vm_config *c, bool passthru)
{
	struct opening *op = xcalloc(1, sizeof *op);
	struct fleet_host *fh = fleet_get(ui_fleet(ui), c->host);

	op->ui = ui;
	op->passthru = passthru;
	vm_config_copy(&op->cfg, c);
	/* The serial log is on this machine only for a local built-in host. */
	op->builtin = fh != NULL && fh->kind == HOST_BUILTIN &&
	    (fh->uri == NULL || strstr(fh->uri, "+ssh") == NULL);
	return op;
}

static void
opening_free(struct opening *op)
{
	struct opening **pp;

	for (pp = &openings; *pp != NULL; pp = &(*pp)->next)
		if (*pp == op) {
			*pp = op->next;
			break;
		}
	vm_config_clear(&op->cfg);
	free(op);
}

static struct console *
console_new(struct opening *op)
{
	struct console *con = xcalloc(1, sizeof *con);

	con->ui = op->ui;
	con->list = op->list;
	vm_config_copy(&con->cfg, &op->cfg);
	con->builtin = op->builtin;
	con->rows = LINES - 3 > 1 ? LINES - 3 : 1;
	con->cols = COLS > 1 ? COLS : 1;
	con->s = serial_new(con->rows, con->cols, CON_SCROLLBACK);
	con->cv = cellview_new();
	con->fd = con->watch = -1;
	con->retry_timer = con->frame_timer = con->cursor_timer = -1;
	con->match = -1;
	if (con->builtin) {
		char *dir = paths_runtime_dir();

		con->log_path = xasprintf("%s/%.8s/serial.log", dir, con->cfg.uuid);
		free(dir);
	}
	return con;
}

static void
console_free(void *arg)
{
	struct console *con = arg;
	struct loop *loop = ui_loop(con->ui);

	if (con->opening != NULL) {
		con->opening->cancelled = true;
		con->opening->con = NULL;
	}
	if (con->retry_timer >= 0)
		loop_cancel_timer(loop, con->retry_timer);
	if (con->frame_timer >= 0)
		loop_cancel_timer(loop, con->frame_timer);
	if (con->cursor_timer >= 0)
		loop_cancel_timer(loop, con->cursor_timer);
	if (con->fd >= 0) {
		loop_remove_fd(loop, con->watch);
		close(con->fd);
	}
	serial_free(con->s);
	cellview_free(con->cv);
	vm_config_clear(&con->cfg);
	free(con->log_path);
	free(con->session_log);
	free(con->out);
	free(con);
}

/* Whether A and B are the same VM on the same host (one libvirt domain
 * can be seen through two hosts' URIs: each gets a pane of its own). */
static bool
same_vm(const struct vm_config *a, const struct vm_config *b)
{
	return strcmp(a->uuid, b->uuid) == 0 && strcmp(a->host, b->host) == 0;
}

/* The pane of VM C, if one is open. */
static struct console *
console_find(struct ui *ui, const struct vm_config *c)
{
	struct console *con = NULL;

	while ((con = ui_view_next(ui, &console_view, con)) != NULL)
		if (same_vm(&con->cfg, c))
			return con;
	return NULL;
}

/*
 * Leave curses for the guest's console on the real terminal, and back.
 * QEMU serves one client at a time (the next waits in the backlog), so a
 * pane of the same VM lets go of its connection meanwhile and reattaches
 * afterwards, catching up from the serial log.
 */
static void
run_passthru(struct opening *op, int fd)
{
	struct console *con = console_find(op->ui, &op->cfg);
	char banner[512], why[512];
	int rc;

	if (con != NULL && con->fd >= 0) {
		console_closed(con, "in use full screen", false);
	}
	snprintf(banner, sizeof banner, "Connected to VM '%s' on host '%s'. "
	    "Escape character is ^].", op->cfg.name, op->cfg.host);
	ui_suspend(op->ui);
	rc = passthru_run(fd, STDIN_FILENO, STDOUT_FILENO, PASSTHRU_ESCAPE_DEFAULT, -1, banner,
	    why, sizeof why);
	close(fd);
	ui_resume(op->ui);
	/* The UI thread was here all along: CON is still open. */
	if (con != NULL && con->closed && con->opening == NULL)
		console_reopen(con);
	if (rc == 0)
		ui_status(op->ui, false, "Left the console of VM '%s'.", op->cfg.name);
	else if (rc == 1)
		ui_status(op->ui, true, "The console of VM '%s' closed: %s.", op->cfg.name, why);
	else
		ui_status(op->ui, true, "The console of VM '%s': %s", op->cfg.name, why);
}

/* Reattaching did not work (the VM is not running again yet, most often):
 * quietly, unless the user asked for it. */
static void
reattach_failed(struct console *con, const char *error)
{
	log_debug("console: VM '%s': reattach failed: %s", con->cfg.name, error);
	if (con->retry_asked && con_current(con))
		ui_status(con->ui, true, "%s", error);
	con->retry_asked = false;
}

/* A console someone else holds (libvirt refuses a second client): */
static bool
console_busy(const char *error)
{
	return error != NULL && strstr(error, "Active console session") != NULL;
}

struct takeover {
	struct vm_config cfg;
	bool passthru;
};

static int
on_takeover(struct ui *ui, int choice, const char *input, void *arg)
{
	struct takeover *t = arg;
	int rc = 0;

	(void)input;
	if (choice == 1)
		rc = t->passthru ? console_passthru(ui, &t->cfg, true) :
		    console_view_open(ui, &t->cfg, true);
	if (rc != 0)
		ui_status(ui, true, "%s", err_get());
	vm_config_clear(&t->cfg);
	free(t);
	return UI_HANDLED | UI_REDRAW;
}

/* Opening failed: say why; when another client has the console, offer to
 * take it over (as 'vmtty console --force' does). */
static void
open_failed(struct opening *op, const char *error)
{
	struct takeover *t;
	char q[512];

	ui_status(op->ui, true, "%s", error);
	if (!console_busy(error))
		return;
	t = xcalloc(1, sizeof *t);
	vm_config_copy(&t->cfg, &op->cfg);
	t->passthru = op->passthru;
	snprintf(q, sizeof q, "Another client has the console of VM '%s' open. Take it over? "
	    "That client is disconnected.", op->cfg.name);
	ui_push(op->ui, overlay_confirm("Console in use", q, NULL, on_takeover, t));
}

/* A console fd (or an error) from the fleet, on the UI thread. */
static void
on_opened(int fd, const char *error, void *arg)
{
	struct opening *op = arg;
	struct console *con = op->con;

	if (op->passthru) {
		if (fd < 0)
			open_failed(op, error);
		else
			run_passthru(op, fd);
	} else if (op->cancelled) {
		if (fd >= 0)
			close(fd);
	} else if (con != NULL) {
		/* A reattach: fd < 0 is the usual "not running"; try again. */
		con->opening = NULL;
		if (fd < 0) {
			reattach_failed(con, error);
			if (con->builtin)
				con->retry_timer = loop_add_timer(ui_loop(con->ui),
				    CON_RETRY_MS, on_retry, con);
		} else {
			con->retry_asked = false;
			console_history(con);
			console_attach(con, fd);
			if (con_current(con))
				ui_status(con->ui, false, "Reattached to the console of VM '%s'.",
				    con->cfg.name);
		}
	} else if (fd < 0) {
		open_failed(op, error);
	} else {
		con = console_new(op);
		console_history(con);
		if (ui_view_add(op->ui, &console_view, con) != 0) {
			ui_status(op->ui, true, "%s", err_get());
			close(fd);
			console_free(con);
		} else {
			console_attach(con, fd);
			ui_view_show(op->ui, con);
			ui_status(op->ui, false, "The console of VM '%s'. Ctrl-] is the command key: "
			    "Ctrl-] ? lists the commands.", con->cfg.name);
		}
	}
	opening_free(op);
}

/* Try to reattach a closed console (the retry timer, or Ctrl-] r). */
static void
console_reopen(struct console *con)
{
	struct opening *op;

	con->retry_timer = -1;
	if (!con->closed || con->opening != NULL)
		return;
	op = opening_new(con->ui, &con->cfg, false);
	op->con = con;
	op->list = con->list;
	if (fleet_console_open(ui_fleet(con->ui), con->cfg.host, &con->cfg, false, on_opened,
	    op) != 0) {
		reattach_failed(con, err_get());
		opening_free(op);
		if (con->builtin)
			con->retry_timer = loop_add_timer(ui_loop(con->ui), CON_RETRY_MS,
			    on_retry, con);
		return;
	}
	con->opening = op;
}

static void
on_retry(void *arg)
{
	console_reopen(arg);
}

/* The terminal cursor goes where the guest's is, once the frame is out:
 * ui_draw moves it to the status and hint lines after the view's draw, so
 * this runs from a timer just after the frame and only moves the cursor. */
static void
on_cursor(void *arg)
{
	struct console *con = arg;

	con->cursor_timer = -1;
	if (con_current(con) && con->cursor_show && !con->help_open) {
		curs_set(1);
		wmove(stdscr, con->cursor_y, con->cursor_x);
		wnoutrefresh(stdscr);
		doupdate();
	} else
		curs_set(0);
}

/* Which console this is of how many: "[2/3]". */
static void
console_index(struct console *con, int *idx, int *n)
{
	void *p = NULL;

	*idx = *n = 0;
	while ((p = ui_view_next(con->ui, &console_view, p)) != NULL) {
		(*n)++;
		if (p == con)
			*idx = *n;
	}
}

static void
draw_title(struct console *con, int top, int cols)
{
	struct fleet_host *fh;
	char title[512], mark[1024];
	int idx, n, w;

	console_index(con, &idx, &n);
	snprintf(title, sizeof title, " Console: VM '%s' on host '%s'  [%d/%d]  "
	    "(guest terminal %dx%d)", con->cfg.name, con->cfg.host, idx, n, con->cols,
	    con->rows);
	mark[0] = '\0';
	fh = con->builtin ? NULL : fleet_get(ui_fleet(con->ui), con->cfg.host);
	if (con->closed && fh != NULL && fh->state == FLEET_UNREACHABLE)
		snprintf(mark, sizeof mark, "  [the console closed: host '%s' is unreachable: %s; "
		    "Ctrl-] r retries]", con->cfg.host, fh->error);
	else if (con->closed)
		snprintf(mark, sizeof mark, "  [the console closed: %s%s]", con->why,
		    con->builtin ? "; retrying every second" : "; Ctrl-] r retries");
	else if (con->scrolling && con->match >= 0)
		snprintf(mark, sizeof mark, "  [scrollback: '%s' at line %d; n next, q back]",
		    con->search, con->match + 1);
	else if (con->scrolling)
		snprintf(mark, sizeof mark, "  [scrollback: %d of %d lines up; / search, q back]",
		    con->offset, serial_scrollback_lines(con->s));
	else if (con->session_log != NULL)
		snprintf(mark, sizeof mark, "  [logging to '%s']", con->session_log);
	attrset(theme_attr(TH_HEADER));
	ui_put(top, 0, cols, title);
	w = ui_width(title);
	if (mark[0] != '\0' && w < cols) {
		attrset(con->closed ? theme_attr(TH_ERROR) | A_REVERSE : theme_attr(TH_HEADER));
		ui_put(top, w, cols - w, mark);
	}
	attrset(A_NORMAL);
}

static void
console_draw(void *arg, int top, int rows, int cols)
{
	struct console *con = arg;
	const struct cellbuf *b;
	int prows = rows - 1 > 1 ? rows - 1 : 1;

	if (prows != con->rows || cols != con->cols) {
		serial_resize(con->s, prows, cols);
		con->rows = prows;
		con->cols = cols;
		log_debug("console: VM '%s': the pane is now %dx%d", con->cfg.name, cols, prows);
	}
	if (con->offset > serial_scrollback_lines(con->s))
		con->offset = serial_scrollback_lines(con->s);
	draw_title(con, top, cols);
	b = serial_screen(con->s, con->scrolling ? con->offset : 0);
	cellview_draw(con->cv, b, top + 1, 0, false);
	con->last_frame = log_now_ms();
	if (con->frame_timer >= 0) {
		loop_cancel_timer(ui_loop(con->ui), con->frame_timer);
		con->frame_timer = -1;
	}
	con->cursor_show = !con->scrolling &&
	    cellview_cursor(b, top + 1, 0, &con->cursor_y, &con->cursor_x);
	if (con->cursor_timer < 0)
		con->cursor_timer = loop_add_timer(ui_loop(con->ui), 0, on_cursor, con);
}

/* Keys to the guest: curses function keys through the emulator's
 * encoding (it knows the cursor-key mode), characters as UTF-8, control
 * characters as their byte (Enter is '\r': curses runs with nonl). */
static int
send_key(struct console *con, int key)
{
	static const struct {
		int curses;
		int key;
		int mods;
	} fkeys[] = {
		{ KEY_UP, SERIAL_KEY_UP, 0 }, { KEY_DOWN, SERIAL_KEY_DOWN, 0 },
		{ KEY_LEFT, SERIAL_KEY_LEFT, 0 }, { KEY_RIGHT, SERIAL_KEY_RIGHT, 0 },
		{ KEY_HOME, SERIAL_KEY_HOME, 0 }, { KEY_END, SERIAL_KEY_END, 0 },
		{ KEY_PPAGE, SERIAL_KEY_PGUP, 0 }, { KEY_NPAGE, SERIAL_KEY_PGDN, 0 },
		{ KEY_IC, SERIAL_KEY_INS, 0 }, { KEY_DC, SERIAL_KEY_DEL, 0 },
		{ KEY_BACKSPACE, SERIAL_KEY_BACKSPACE, 0 }, { KEY_BTAB, SERIAL_KEY_TAB,
		    SERIAL_MOD_SHIFT },
		{ KEY_SR, SERIAL_KEY_UP, SERIAL_MOD_SHIFT }, { KEY_SF, SERIAL_KEY_DOWN,
		    SERIAL_MOD_SHIFT },
		{ KEY_SLEFT, SERIAL_KEY_LEFT, SERIAL_MOD_SHIFT }, { KEY_SRIGHT,
		    SERIAL_KEY_RIGHT, SERIAL_MOD_SHIFT },
		{ KEY_SHOME, SERIAL_KEY_HOME, SERIAL_MOD_SHIFT }, { KEY_SEND, SERIAL_KEY_END,
		    SERIAL_MOD_SHIFT },
		{ KEY_SDC, SERIAL_KEY_DEL, SERIAL_MOD_SHIFT },
	};
	char buf[SERIAL_KEY_MAX];
	size_t n = 0;

	if (key & K_FN(0)) {
		int fn = key & ~K_FN(0);

		if (fn == KEY_ENTER) {
			buf[0] = '\r';
			n = 1;
		} else if (fn >= KEY_F(1) && fn <= KEY_F(12)) {
			n = serial_key(con->s, (uint32_t)SERIAL_KEY_F(fn - KEY_F0), 0, true, buf,
			    sizeof buf);
		} else if (fn >= KEY_F(13) && fn <= KEY_F(24)) {
			/* xterm's Shift-F1..F12 */
			n = serial_key(con->s, (uint32_t)SERIAL_KEY_F(fn - KEY_F0 - 12),
			    SERIAL_MOD_SHIFT, true, buf, sizeof buf);
		} else {
			for (size_t i = 0; i < sizeof fkeys / sizeof fkeys[0]; i++)
				if (fkeys[i].curses == fn)
					n = serial_key(con->s, (uint32_t)fkeys[i].key,
					    fkeys[i].mods, true, buf, sizeof buf);
		}
	} else if (key >= 0 && (key < 0x20 || key == 0x7f)) {
		buf[0] = (char)key;
		n = 1;
	} else if (key > 0)
		n = serial_key(con->s, (uint32_t)key, 0, false, buf, sizeof buf);
	if (n == 0)
		return UI_HANDLED;
	if (con->fd < 0) {
		ui_status(con->ui, true, "The console of VM '%s' is closed%s.", con->cfg.name,
		    con->builtin ? "; it reattaches when the VM runs again" :
		    "; Ctrl-] r tries to reattach");
		return UI_HANDLED | UI_REDRAW;
	}
	out_add(con, buf, n);
	out_flush(con);
	return UI_HANDLED;
}

/* Put document line LINE in the middle of the view, scrolled back. */
static void
show_line(struct console *con, int line)
{
	int sb = serial_scrollback_lines(con->s);
	int off = sb - line + con->rows / 2;

	con->offset = off < 0 ? 0 : off > sb ? sb : off;
}

static void
search_from(struct console *con, int from)
{
	int line = from >= 0 ? serial_search(con->s, con->search, from) : -1;

	if (line < 0) {
		ui_status(con->ui, true, "'%s' is not in the console%s.", con->search,
		    con->match >= 0 ? " further back" : "");
		return;
	}
	con->match = line;
	show_line(con, line);
	ui_status(con->ui, false, "%s", "");
}

static int
on_search(struct ui *ui, int choice, const char *input, void *arg)
{
	struct console *con = arg;
	int sb = serial_scrollback_lines(con->s);

	(void)ui;
	con->help_open = false;
	if (choice < 0 || input == NULL || input[0] == '\0')
		return UI_HANDLED | UI_REDRAW;
	snprintf(con->search, sizeof con->search, "%s", input);
	con->match = -1;
	/* From the last line in view, backwards. */
	search_from(con, sb - con->offset + con->rows - 1);
	return UI_HANDLED | UI_REDRAW;
}

static int
scroll_key(struct console *con, int key)
{
	int sb = serial_scrollback_lines(con->s), page = con->rows > 2 ? con->rows - 1 : 1;

	switch (key) {
	case 'q':
	case K_ESC:
		con->scrolling = false;
		con->offset = 0;
		con->match = -1;
		break;
	case K_FN(KEY_PPAGE):
	case 'b':
	case K_CTRL('b'):
		con->offset += page;
		break;
	case K_FN(KEY_NPAGE):
	case ' ':
	case 'f':
	case K_CTRL('f'):
		con->offset -= page;
		break;
	case K_FN(KEY_UP):
	case 'k':
		con->offset++;
		break;
	case K_FN(KEY_DOWN):
	case 'j':
	case '\r':
		con->offset--;
		break;
	case 'g':
	case K_FN(KEY_HOME):
		con->offset = sb;
		break;
	case 'G':
	case K_FN(KEY_END):
		con->offset = 0;
		break;
	case '/':
		con->help_open = true;	/* no guest cursor under the prompt */
		ui_push(con->ui, overlay_prompt("Search the console", "Text:", "",
		    on_search, con));
		break;
	case 'n':
		if (con->search[0] == '\0')
			ui_status(con->ui, true, "Nothing to search for yet: '/' asks for a text.");
		else
			search_from(con, con->match >= 0 ? con->match - 1 :
			    sb - con->offset + con->rows - 1);
		break;
	default:
		ui_status(con->ui, false, "Scrollback: q or Esc goes back to the live console; "
		    "Ctrl-] ? lists the keys.");
		return UI_HANDLED | UI_REDRAW;
	}
	if (con->offset < 0)
		con->offset = 0;
	if (con->offset > sb)
		con->offset = sb;
	return UI_HANDLED | UI_REDRAW;
}

static int
on_log_file(struct ui *ui, int choice, const char *input, void *arg)
{
	struct console *con = arg;

	con->help_open = false;
	if (choice < 0 || input == NULL || input[0] == '\0')
		return UI_HANDLED | UI_REDRAW;
	if (serial_log_to(con->s, input) != 0) {
		ui_status(ui, true, "%s", err_get());
		return UI_HANDLED | UI_REDRAW;
	}
	free(con->session_log);
	con->session_log = xstrdup(input);
	ui_status(ui, false, "Logging the console of VM '%s' to '%s' (Ctrl-] w stops).",
	    con->cfg.name, input);
	return UI_HANDLED | UI_REDRAW;
}

/* Ctrl-] w: start logging the session to a file, or stop. */
static void
log_key(struct console *con)
{
	char *def;

	if (con->session_log != NULL) {
		serial_log_to(con->s, NULL);
		ui_status(con->ui, false, "Stopped logging the console of VM '%s' to '%s'.",
		    con->cfg.name, con->session_log);
		free(con->session_log);
		con->session_log = NULL;
		return;
	}
	def = xasprintf("vmtty-console-%s.log", con->cfg.name);
	con->help_open = true;	/* no guest cursor under the prompt */
	ui_push(con->ui, overlay_prompt("Log the console to a file (appended)", "File:", def,
	    on_log_file, con));
	free(def);
}

/* Another open console, after (or before, BACK) this one, round. */
static struct console *
console_other(struct console *con, bool back)
{
	void *p = NULL, *prev = NULL, *last = NULL, *first;

	first = ui_view_next(con->ui, &console_view, NULL);
	while ((p = ui_view_next(con->ui, &console_view, p)) != NULL) {
		if (p == con)
			prev = last;
		last = p;
	}
	if (!back)
		p = ui_view_next(con->ui, &console_view, con);
	else
		p = prev;
	if (p == NULL)
		p = back ? last : first;
	return p == con ? NULL : p;
}

/* The key after Ctrl-]. */
static int
prefix_key(struct console *con, int key)
{
	struct ui *ui = con->ui;
	struct console *other;
	char buf[64], name[256];
	int n;

	ui_status(ui, false, "%s", "");
	switch (key) {
	case 'l':
	case 'L':
		curs_set(0);
		erase();	/* the list may not paint every cell */
		ui_view_show(ui, con->list);
		break;
	case 'n':
	case 'p':
		if ((other = console_other(con, key == 'p')) == NULL) {
			ui_status(ui, false, "This is the only open console.");
			break;
		}
		ui_view_show(ui, other);
		break;
	case 'k':
		snprintf(name, sizeof name, "%s", con->cfg.name);
		curs_set(0);
		erase();
		ui_view_remove(ui, con);	/* frees con */
		ui_status(ui, false, "Closed the console of VM '%s'.", name);
		break;
	case '[':
	case K_FN(KEY_PPAGE):
		con->scrolling = true;
		con->offset = 0;
		con->match = -1;
		if (key == K_FN(KEY_PPAGE))
			return scroll_key(con, key);
		break;
	case CON_PREFIX:
		buf[0] = CON_PREFIX;
		if (con->fd >= 0) {
			out_add(con, buf, 1);
			out_flush(con);
		}
		break;
	case '?':
	case K_FN(KEY_F(1)):
		con->help_open = true;
		ui_push(ui, overlay_help("Console keys", console_help));
		break;
	case 'r':
		if (!con->closed)
			ui_status(ui, false, "The console of VM '%s' is attached.", con->cfg.name);
		else if (con->opening != NULL)
			ui_status(ui, false, "Reattaching to VM '%s'...", con->cfg.name);
		else {
			if (con->retry_timer >= 0)
				loop_cancel_timer(ui_loop(ui), con->retry_timer);
			con->retry_asked = true;
			console_reopen(con);
		}
		break;
	case 's':
		n = snprintf(buf, sizeof buf, "stty rows %d cols %d\r", con->rows, con->cols);
		if (con->fd >= 0) {
			out_add(con, buf, (size_t)n);
			out_flush(con);
		}
		break;
	case 'w':
		log_key(con);
		break;
	case K_ESC:
		break;
	default:
		ui_status(ui, true, "That key is not a Ctrl-] command; Ctrl-] ? lists them.");
		break;
	}
	return UI_HANDLED | UI_REDRAW;
}

/* The mouse wheel scrolls back; the rest of the mouse is not the guest's. */
static int
mouse_key(struct console *con)
{
	MEVENT ev;

	if (getmouse(&ev) != OK)
		return UI_HANDLED;
	if (ev.bstate & BUTTON4_PRESSED) {
		con->scrolling = true;
		con->offset += 3;
	} else if ((ev.bstate & BUTTON5_PRESSED) && con->scrolling) {
		con->offset -= 3;
		if (con->offset <= 0) {
			con->offset = 0;
			con->scrolling = false;
			con->match = -1;
		}
	} else
		return UI_HANDLED;
	if (con->offset > serial_scrollback_lines(con->s))
		con->offset = serial_scrollback_lines(con->s);
	return UI_HANDLED | UI_REDRAW;
}

static int
console_key(void *arg, int key)
{
	struct console *con = arg;

	if (con->help_open) {
		con->help_open = false;
		con_dirty(con);	/* the cursor comes back */
	}
	if (key == K_FN(KEY_MOUSE))
		return mouse_key(con);
	if (con->prefix) {
		con->prefix = false;
		return prefix_key(con, key);
	}
	if (key == CON_PREFIX) {
		con->prefix = true;
		ui_status(con->ui, false, "Ctrl-] ...  l list, n/p next/previous, [ scroll, "
		    "w log, k close, ? help, Ctrl-] sends Ctrl-]");
		return UI_HANDLED | UI_REDRAW;
	}
	if (con->scrolling)
		return scroll_key(con, key);
	return send_key(con, key);
}

/* A closed libvirt console's title names its host's state. */
static int
console_fleet_changed(void *arg)
{
	struct console *con = arg;

	return con->closed && !con->builtin ? UI_REDRAW : 0;
}

const struct view console_view = {
	.name = "console",
	.fleet_changed = console_fleet_changed,
	.free = console_free,
	.draw = console_draw,
	.key = console_key,
	.hints = console_hints,
	.hints_ascii = console_hints,
	.help = console_help,
};

/* The state to go back to with Ctrl-] l: the VM list, current when a
 * console is opened from it (or the list a current console goes back to). */
static void *
list_state(struct ui *ui)
{
	void *cur = ui_view_state(ui), *p = NULL;

	while ((p = ui_view_next(ui, &console_view, p)) != NULL)
		if (p == cur)
			return ((struct console *)p)->list;
	return cur;
}

int
console_view_open(struct ui *ui, const struct vm_config *c, bool force)
{
	struct console *con = console_find(ui, c);
	struct opening *op;

	if (con != NULL) {
		ui_view_show(ui, con);
		return 0;
	}
	for (op = openings; op != NULL; op = op->next)
		if (op->ui == ui && same_vm(&op->cfg, c)) {
			ui_status(ui, false, "Still opening the console of VM '%s'...", c->name);
			return 0;
		}
	op = opening_new(ui, c, false);
	op->list = list_state(ui);
	if (fleet_console_open(ui_fleet(ui), c->host, c, force, on_opened, op) != 0) {
		opening_free(op);
		return -1;
	}
	op->next = openings;
	openings = op;
	ui_status(ui, false, "Opening the console of VM '%s'...", c->name);
	return 0;
}

int
console_passthru(struct ui *ui, const struct vm_config *c, bool force)
{
	struct opening *op = opening_new(ui, c, true);

	if (fleet_console_open(ui_fleet(ui), c->host, c, force, on_opened, op) != 0) {
		opening_free(op);
		return -1;
	}
	ui_status(ui, false, "Opening the console of VM '%s'...", c->name);
	return 0;
}
