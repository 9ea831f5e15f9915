/* The TUI's shell: terminal setup and restore, signals, the poll loop,
 * the status line and the hint bar.  Views draw the rest. */
#include "ui/ask.h"
#include "ui/overlay.h"
#include "ui/termgfx.h"
#include "ui/ui.h"
#include "ui/ui_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>

#include "ops/fleet.h"
#include "model/db.h"
#include "model/journal.h"
#include "model/writer.h"
#include "util/err.h"
#include "util/log.h"
#include "util/job.h"
#include "util/loop.h"
#include "util/str.h"
#include "util/xalloc.h"

#define UI_MIN_COLS 80
#define UI_MIN_ROWS 24
#define UI_STATUS_MS 5000
#define UI_POLL_DB_MS 1000
/* The UI thread only reads the inventory (writes go to the writer's lane);
 * in WAL mode reads do not wait for a writer, but should a lock come in
 * the way, a key is still answered well within 50 ms. */
#define UI_DB_WAIT_MS 20
/* On quit, how long writes still waiting for the inventory's lock may take. */
#define UI_QUIT_WRITE_MS 5000
#define UI_OVERLAYS 8
/* How long the rest of a terminal reply may take to follow its start. */
#define UI_REPLY_WAIT_MS 500
#define UI_REPLY_MAX 512
#define UI_VIEWS 16

struct ui {
	struct db *db;
	struct loop *loop;
	struct jobs *jobs;
	struct fleet *fleet;
	struct sampler *sampler;
	struct writer *writer;
	struct lane *long_lane;		/* see ui_long_lane */
	int stdin_watch;
	/* Keys since an ESC that may be a terminal's late reply to the probe
	 * (termgfx): held until they are one (dropped) or are not (keys). */
	char held[UI_REPLY_MAX];
	size_t nheld;
	enum tp_reply held_class;	/* what they are so far */
	long long held_ms;
	/* views[0] is the VM list, always there; the rest are consoles. */
	struct {
		const struct view *view;
		void *state;
	} views[UI_VIEWS];
	int nviews;
	int cur;
	bool utf8;
	bool dirty;
	bool quit;
	struct overlay *overlays[UI_OVERLAYS];
	int noverlays;
	char status[512];
	bool status_error;
	long long status_until;
	int rows, cols;
};

static void ui_draw(struct ui *ui);

static volatile sig_atomic_t sig_winch, sig_quit;
static int saved_stderr = -1;
static struct loop *sig_loop;
static bool curses_active;
static SCREEN *screen;

static void
ui_restore_terminal(void)
{
	if (curses_active) {
		endwin();
		curses_active = false;
	}
	if (saved_stderr >= 0) {
		dup2(saved_stderr, STDERR_FILENO);
		close(saved_stderr);
		saved_stderr = -1;
	}
}

/*
 * Libraries (libxml2, libvirt, ssh) may write to stderr, which would paint
 * over the screen: while curses runs, stderr goes to /dev/null.  It comes
 * back with the terminal, so fatal messages are still seen.
 */
static void
hide_stderr(void)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (null < 0)
		return;
	saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (saved_stderr >= 0)
		dup2(null, STDERR_FILENO);
	close(null);
}

static void
on_signal(int sig)
{
	if (sig == SIGWINCH)
		sig_winch = 1;
	else
		sig_quit = sig;
	if (sig_loop != NULL)
		loop_wake(sig_loop);
}

/* A crash: put the terminal back, then die of the same signal. */
static void
on_fatal(int sig)
{
	ui_restore_terminal();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
install_signals(void)
{
	struct sigaction sa;
	static const int quits[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };
	static const int fatals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sigaction(SIGWINCH, &sa, NULL);
	for (size_t i = 0; i < sizeof quits / sizeof quits[0]; i++)
		sigaction(quits[i], &sa, NULL);
	sa.sa_handler = on_fatal;
	sa.sa_flags = SA_RESETHAND;
	for (size_t i = 0; i < sizeof fatals / sizeof fatals[0]; i++)
		sigaction(fatals[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void
restore_signals(void)
{
	static const int all[] = { SIGWINCH, SIGTERM, SIGINT, SIGHUP, SIGQUIT,
		SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };

	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		signal(all[i], SIG_DFL);
}

struct db *
ui_db(struct ui *ui)
{
	return ui->db;
}

bool
ui_push(struct ui *ui, struct overlay *o)
{
	if (ui->noverlays == UI_OVERLAYS) {
		overlay_free(o);
		return false;
	}
	ui->overlays[ui->noverlays++] = o;
	ui->dirty = true;
	return true;
}

void *
ui_view_state(struct ui *ui)
{
	return ui->views[ui->cur].state;
}

int
ui_view_add(struct ui *ui, const struct view *view, void *state)
{
	if (ui->nviews == UI_VIEWS)
		return err_set("too many open views (%d); close one first", UI_VIEWS - 1);
	ui->views[ui->nviews].view = view;
	ui->views[ui->nviews].state = state;
	ui->nviews++;
	return 0;
}

void
ui_view_show(struct ui *ui, void *state)
{
	for (int i = 0; i < ui->nviews; i++)
		if (ui->views[i].state == state)
			ui->cur = i;
	clearok(curscr, TRUE);
	ui->dirty = true;
}

void
ui_view_remove(struct ui *ui, void *state)
{
	for (int i = 1; i < ui->nviews; i++) {
		if (ui->views[i].state != state)
			continue;
		ui->views[i].view->free(state);
		memmove(&ui->views[i], &ui->views[i + 1],
		    (size_t)(ui->nviews - i - 1) * sizeof ui->views[0]);
		ui->nviews--;
		if (ui->cur >= i)
			ui->cur = ui->cur == i ? 0 : ui->cur - 1;
		break;
	}
	clearok(curscr, TRUE);
	ui->dirty = true;
}

void *
ui_view_next(struct ui *ui, const struct view *view, void *after)
{
	bool seen = after == NULL;

	for (int i = 0; i < ui->nviews; i++) {
		if (ui->views[i].view != view)
			continue;
		if (seen)
			return ui->views[i].state;
		seen = ui->views[i].state == after;
	}
	return NULL;
}

struct loop *
ui_loop(struct ui *ui)
{
	return ui->loop;
}

struct jobs *
ui_jobs(struct ui *ui)
{
	return ui->jobs;
}

struct lane *
ui_long_lane(struct ui *ui)
{
	/* A busy one may be stuck in a call to a dead host: it keeps its
	 * thread, and the next job gets a lane of its own. */
	if (ui->long_lane == NULL || lane_busy(ui->long_lane) > 0)
		ui->long_lane = jobs_lane_new(ui->jobs, "long");
	return ui->long_lane;
}

void
ui_suspend(struct ui *ui)
{
	(void)ui;
	def_prog_mode();
	endwin();
}

void
ui_resume(struct ui *ui)
{
	reset_prog_mode();
	clearok(curscr, TRUE);
	ui->dirty = true;
	/* The terminal may have been resized meanwhile. */
	sig_winch = 1;
}

/* Remove O from the stack wherever it is (its callback may have pushed
 * another one above it). */
static void
ui_pop(struct ui *ui, struct overlay *o)
{
	for (int i = 0; i < ui->noverlays; i++) {
		if (ui->overlays[i] != o)
			continue;
		memmove(&ui->overlays[i], &ui->overlays[i + 1],
		    (size_t)(ui->noverlays - i - 1) * sizeof ui->overlays[0]);
		ui->noverlays--;
		break;
	}
	overlay_free(o);
	ui->dirty = true;
}

void
ui_write(struct ui *ui, const char *what, writer_fn fn, writer_done_fn done, void *arg)
{
	writer_submit(ui->writer, what, fn, done, arg);
}

struct journal_write {
	char *host, *vm, *action, *message;
	bool ok;
};

static int
journal_write(struct db *db, void *arg)
{
	struct journal_write *j = arg;

	return journal_add(db, j->host, j->vm, j->action, j->ok, j->message);
}

static void
journal_written(void *arg, int rc, const char *error)
{
	struct journal_write *j = arg;

	(void)rc;
	(void)error;
	free(j->host);
	free(j->vm);
	free(j->action);
	free(j->message);
	free(j);
}

void
ui_journal(struct ui *ui, const char *host, const char *vm, const char *action, bool ok,
    const char *message)
{
	struct journal_write *j = xcalloc(1, sizeof *j);
	char what[300];

	j->host = host != NULL ? xstrdup(host) : NULL;
	j->vm = vm != NULL ? xstrdup(vm) : NULL;
	j->action = xstrdup(action);
	j->message = message != NULL ? xstrdup(message) : NULL;
	j->ok = ok;
	snprintf(what, sizeof what, "the journal entry '%s' of %s '%s'", action,
	    vm != NULL ? "VM" : "host", vm != NULL ? vm : host != NULL ? host : "");
	writer_submit(ui->writer, what, journal_write, journal_written, j);
}

/* The writer waits for another program's lock on the inventory, or is
 * through: say so on the status line. */
static void
on_writer_notice(void *arg, bool waiting, int count)
{
	struct ui *ui = arg;

	if (!waiting && count == 0)
		return;
	if (waiting)
		ui_status(ui, true, "Inventory busy: another program holds its write lock; "
		    "%d change(s) kept, to be written when it frees.", count);
	else
		ui_status(ui, false, "Inventory free again: %d change(s) written.", count);
}

/* Quitting: give writes still waiting for the lock a bounded time, then
 * give up on them (ui_main says which were not written). */
static void
ui_finish_writes(struct ui *ui)
{
	long long deadline = log_now_ms() + UI_QUIT_WRITE_MS;

	if (ui->writer == NULL || writer_pending(ui->writer) == 0)
		return;
	if (ui->stdin_watch >= 0) {
		loop_remove_fd(ui->loop, ui->stdin_watch);
		ui->stdin_watch = -1;
	}
	ui_status(ui, true, "Quitting: writing %d change(s) to the inventory (up to %d s)...",
	    writer_pending(ui->writer), UI_QUIT_WRITE_MS / 1000);
	if (curses_active)
		ui_draw(ui);
	while (writer_pending(ui->writer) > 0 && log_now_ms() < deadline)
		loop_run_once(ui->loop, 50);
	writer_give_up(ui->writer);
	deadline = log_now_ms() + 1000;
	while (writer_pending(ui->writer) > 0 && log_now_ms() < deadline)
		loop_run_once(ui->loop, 50);
}

/* After the writer's completions ran: -1 + err listing what was not
 * written, else 0. */
static int
ui_unwritten(struct ui *ui)
{
	const char *const *what;
	char list[1024] = "";
	size_t n, len = 0;

	if (ui->writer == NULL)
		return 0;
	what = writer_unwritten(ui->writer, &n);
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n && len < sizeof list; i++)
		len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
		    i > 0 ? "; " : "", what[i]);
	return err_set("%zu change(s) were not written to the inventory '%s': another "
	    "program held its write lock past %d s after quitting (%s)", n, db_path(ui->db),
	    UI_QUIT_WRITE_MS / 1000, list);
}

struct fleet *
ui_fleet(struct ui *ui)
{
	return ui->fleet;
}

struct sampler *
ui_sampler(struct ui *ui)
{
	return ui->sampler;
}

bool
ui_utf8(const struct ui *ui)
{
	return ui->utf8;
}

void
ui_status(struct ui *ui, bool error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ui->status, sizeof ui->status, fmt, ap);
	va_end(ap);
	ui->status_error = error;
	ui->status_until = error ? 0 : log_now_ms() + UI_STATUS_MS;
	ui->dirty = true;
	log_debug("ui: status%s: %s", error ? " (error)" : "", ui->status);
}

void
ui_put(int y, int x, int width, const char *s)
{
	wchar_t wbuf[512];
	mbstate_t mb;
	const char *p = s;
	size_t n;
	int used = 0, i;

	if (width <= 0)
		return;
	memset(&mb, 0, sizeof mb);
	n = mbsrtowcs(wbuf, &p, sizeof wbuf / sizeof wbuf[0] - 1, &mb);
	if (n == (size_t)-1) {
		/* Not valid in this locale: show the bytes that are ASCII. */
		for (n = 0; s[n] != '\0' && n < sizeof wbuf / sizeof wbuf[0] - 1; n++)
			wbuf[n] = (unsigned char)s[n] < 0x80 ? (wchar_t)s[n] : L'?';
	}
	wbuf[n] = L'\0';
	move(y, x);
	for (i = 0; wbuf[i] != L'\0'; i++) {
		int w = wcwidth(wbuf[i]);

		/* Controls, and what would reorder or hide the text around it
		 * (a bidi override in a host's domain name), show as '?'. */
		if (w < 0 || str_hidden_code((unsigned long)wbuf[i]) != NULL) {
			wbuf[i] = L'?';
			w = 1;
		}
		if (used + w > width)
			break;
		used += w;
	}
	addnwstr(wbuf, i);
	for (; used < width; used++)
		addch(' ');
}

int
ui_width(const char *s)
{
	wchar_t wbuf[512];
	mbstate_t mb;
	const char *p = s;
	size_t n;
	int w;

	memset(&mb, 0, sizeof mb);
	n = mbsrtowcs(wbuf, &p, sizeof wbuf / sizeof wbuf[0] - 1, &mb);
	if (n == (size_t)-1)
		return (int)strlen(s);
	wbuf[n] = L'\0';
	w = wcswidth(wbuf, n);
	return w < 0 ? (int)n : w;
}

static void
draw_hints(struct ui *ui)
{
	const struct view *view = ui->views[ui->cur].view;
	const char *const *h = ui->utf8 ? view->hints : view->hints_ascii;
	int y = ui->rows - 1, x = 0;

	attrset(theme_attr(TH_HINT));
	ui_put(y, 0, ui->cols, "");
	for (size_t i = 0; h != NULL && h[i] != NULL && h[i + 1] != NULL; i += 2) {
		int kw = ui_width(h[i]), tw = ui_width(h[i + 1]);

		if (x + kw + tw + 3 > ui->cols)
			break;
		attrset(theme_attr(TH_HINT_KEY));
		ui_put(y, x, kw + 2, "");
		ui_put(y, x + 1, kw, h[i]);
		attrset(theme_attr(TH_HINT));
		ui_put(y, x + kw + 2, tw, h[i + 1]);
		x += kw + tw + 4;
	}
	attrset(A_NORMAL);
}

static void
draw_status(struct ui *ui)
{
	if (ui->status_until != 0 && log_now_ms() > ui->status_until)
		ui->status[0] = '\0';
	attrset(theme_attr(ui->status_error ? TH_ERROR : TH_STATUS));
	ui_put(ui->rows - 2, 0, ui->cols, ui->status);
	attrset(A_NORMAL);
}

static void
draw_too_small(struct ui *ui)
{
	char msg[128];
	int len;

	erase();
	len = snprintf(msg, sizeof msg, "vmtty needs at least %dx%d; this terminal is %dx%d",
	    UI_MIN_COLS, UI_MIN_ROWS, ui->cols, ui->rows);
	if (len > ui->cols)
		len = ui->cols;
	attrset(theme_attr(TH_ERROR));
	mvaddnstr(ui->rows / 2, ui->cols > len ? (ui->cols - len) / 2 : 0, msg, len);
	attrset(A_NORMAL);
}

static void
ui_draw(struct ui *ui)
{
	long long t0 = log_now_ms();
	bool small = ui->cols < UI_MIN_COLS || ui->rows < UI_MIN_ROWS;

	termgfx_frame_begin();
	if (small) {
		draw_too_small(ui);
	} else {
		ui->views[ui->cur].view->draw(ui->views[ui->cur].state, 0, ui->rows - 2, ui->cols);
		draw_status(ui);
		draw_hints(ui);
		for (int i = 0; i < ui->noverlays; i++)
			overlay_draw(ui->overlays[i], ui->rows - 1, ui->cols, ui->utf8);
	}
	/* Images go on top of curses' cells; an overlay would be under one. */
	termgfx_frame_end(small || ui->noverlays > 0);
	wnoutrefresh(stdscr);
	doupdate();
	termgfx_flush(STDOUT_FILENO);
	ui->dirty = false;
	log_debug("ui: frame drawn in %lld ms", log_now_ms() - t0);
}

static void
ui_resize(struct ui *ui)
{
	struct winsize ws;

	sig_winch = 0;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resize_term(ws.ws_row, ws.ws_col);
	ui->rows = LINES;
	ui->cols = COLS;
	termgfx_resized(STDOUT_FILENO);
	/* Everything is drawn anew, so nothing stale survives a resize. */
	clearok(curscr, TRUE);
	ui->dirty = true;
	log_debug("ui: resized to %dx%d", ui->cols, ui->rows);
}

static void
ui_apply(struct ui *ui, int intent)
{
	if (intent & UI_QUIT)
		ui->quit = true;
	if (intent & UI_RELOAD)
		for (int i = 0; i < ui->nviews; i++)
			if (ui->views[i].view->reload != NULL)
				ui->views[i].view->reload(ui->views[i].state);
	if (intent & (UI_REDRAW | UI_RELOAD))
		ui->dirty = true;
}

/* Keys every view shares: quit and help. */
static int
ui_global_key(struct ui *ui, int key)
{
	switch (key) {
	case 'q':
	case 'Q':
	case K_FN(KEY_F(10)):
		return UI_QUIT;
	case '?':
	case K_FN(KEY_F(1)):
		if (ui->views[ui->cur].view->help != NULL)
			ui_push(ui, overlay_help("Keys", ui->views[ui->cur].view->help));
		return UI_HANDLED | UI_REDRAW;
	default:
		return UI_IGNORED;
	}
}

/* One key to the overlay on top, or the view and then the global keys. */
static void
ui_key(struct ui *ui, int key)
{
	int intent;

	if (ui->cols < UI_MIN_COLS || ui->rows < UI_MIN_ROWS) {
		if (key == 'q' || key == K_CTRL('c'))
			ui->quit = true;
		return;
	}
	if (ui->noverlays > 0) {
		struct overlay *o = ui->overlays[ui->noverlays - 1];
		bool close;

		intent = overlay_key(ui, o, key, &close);
		if (close)
			ui_pop(ui, o);
	} else {
		intent = ui->views[ui->cur].view->key(ui->views[ui->cur].state, key);
		if (intent == UI_IGNORED)
			intent = ui_global_key(ui, key);
	}
	ui_apply(ui, intent);
}

/* The held keys are keys after all: in order, as typed. */
static void
release_held(struct ui *ui)
{
	size_t n = ui->nheld;

	ui->nheld = 0;
	for (size_t i = 0; i < n && !ui->quit; i++)
		ui_key(ui, (unsigned char)ui->held[i]);
}

/* Keys held as the beginning of a reply that did not go on as one: keys
 * after all when they may be (an ESC [ 1 ; 5 A curses does not know),
 * dropped when no key begins so (ESC [ ?: a reply cut short). */
static void
end_held(struct ui *ui)
{
	if (ui->held_class == TP_REPLY_PART) {
		log_debug("ui: dropped %zu bytes of a terminal reply cut short", ui->nheld);
		ui->nheld = 0;
	} else {
		release_held(ui);
	}
}

static void
on_held_timer(void *arg)
{
	struct ui *ui = arg;

	if (ui->nheld > 0 && log_now_ms() - ui->held_ms >= UI_REPLY_WAIT_MS)
		end_held(ui);
}

/*
 * A terminal answers the probe's queries (termgfx) after its deadline when
 * the link is slow (ssh across the world, a loaded machine): the reply then
 * reaches curses, which has no key for it and hands it over byte by byte:
 * ESC, '[', '?' (which would open the help), ...  Keys from an ESC on are
 * held while they may still be such a reply; a whole one is given to
 * termgfx, and anything else goes on as keys.  True when KEY was taken.
 */
static bool
filter_reply(struct ui *ui, int r, wint_t wc)
{
	enum tp_reply c;

	if (ui->nheld == 0) {
		if (r == KEY_CODE_YES || wc != 033)
			return false;
		ui->held[ui->nheld++] = 033;
		ui->held_class = TP_MAYBE_REPLY;
		ui->held_ms = log_now_ms();
		return true;
	}
	if (r == KEY_CODE_YES || wc > 0x7e || ui->nheld == sizeof ui->held) {
		end_held(ui);
		return false;
	}
	ui->held[ui->nheld++] = (char)wc;
	c = tp_reply_class(ui->held, ui->nheld);
	if (c == TP_REPLY) {
		termgfx_late_reply(ui->held, ui->nheld);
		ui->nheld = 0;
		ui->dirty = true;
	} else if (c == TP_NOT_REPLY) {
		ui->nheld--;
		end_held(ui);
		if (ui->quit)
			return true;
		if (wc != 033) {
			ui_key(ui, (int)wc);
			return true;
		}
		/* An ESC may begin a reply of its own. */
		ui->held[ui->nheld++] = 033;
		ui->held_class = TP_MAYBE_REPLY;
		ui->held_ms = log_now_ms();
	} else {
		ui->held_class = c;
	}
	return true;
}

static void
on_stdin(int fd, short revents, void *arg)
{
	struct ui *ui = arg;
	wint_t wc;
	int r;

	(void)fd;
	if (revents & (POLLHUP | POLLERR | POLLNVAL)) {
		ui->quit = true;
		return;
	}
	while ((r = get_wch(&wc)) != ERR) {
		if (r == KEY_CODE_YES && wc == KEY_RESIZE) {
			ui_resize(ui);
			continue;
		}
		if (filter_reply(ui, r, wc)) {
			if (ui->quit)
				return;
			continue;
		}
		ui_key(ui, r == KEY_CODE_YES ? K_FN((int)wc) : (int)wc);
		if (ui->quit)
			return;
	}
	/* curses gives ESC alone only when nothing came with it: the Esc key.
	 * The beginning of a reply waits a while for its rest. */
	if (ui->nheld == 1)
		release_held(ui);
	else if (ui->nheld > 1)
		loop_add_timer(ui->loop, UI_REPLY_WAIT_MS, on_held_timer, ui);
}

/* Another vmtty (or the CLI) changed the inventory: show it.  Then let the
 * view refresh its live state. */
static void
on_db_timer(void *arg)
{
	struct ui *ui = arg;

	if (db_changed(ui->db))
		ui_apply(ui, UI_RELOAD);
	else
		for (int i = 0; i < ui->nviews; i++)
			if (ui->views[i].view->tick != NULL)
				ui_apply(ui, ui->views[i].view->tick(ui->views[i].state));
	loop_add_timer(ui->loop, UI_POLL_DB_MS, on_db_timer, ui);
}

void
ui_intent(struct ui *ui, int intent)
{
	ui_apply(ui, intent);
}

static void
on_fleet_changed(void *arg)
{
	struct ui *ui = arg;

	for (int i = 0; i < ui->nviews; i++)
		if (ui->views[i].view->fleet_changed != NULL)
			ui_apply(ui, ui->views[i].view->fleet_changed(ui->views[i].state));
}

static int
ui_setup_terminal(struct ui *ui)
{
	const char *cs;

	setlocale(LC_ALL, "");
	cs = nl_langinfo(CODESET);
	ui->utf8 = cs != NULL && strcmp(cs, "UTF-8") == 0;
	set_escdelay(25);
	/* Before curses reads the terminal: its replies are not keys. */
	termgfx_detect(STDIN_FILENO, STDOUT_FILENO);
	if ((screen = newterm(NULL, stdout, stdin)) == NULL)
		return err_set("cannot start the terminal UI: unknown terminal type '%s'",
		    getenv("TERM") != NULL ? getenv("TERM") : "");
	curses_active = true;
	hide_stderr();
	xalloc_set_fatal_hook(ui_restore_terminal);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	{
		/* Type-ahead from the probe, first in line (ungetch is a stack). */
		const char *keys;

		for (size_t k = termgfx_typed(&keys); k > 0; k--)
			ungetch((unsigned char)keys[k - 1]);
	}
	/* Home and End as tmux, screen, the Linux console and rxvt send them,
	 * whatever TERM claims: otherwise their ESC reads as Esc (which clears
	 * a filter).  define_key ignores what terminfo already has. */
	{
		static const struct { const char *seq; int key; } alt[] = {
			{ "\033[1~", KEY_HOME }, { "\033[7~", KEY_HOME }, { "\033[H", KEY_HOME },
			{ "\033OH", KEY_HOME }, { "\033[4~", KEY_END }, { "\033[8~", KEY_END },
			{ "\033[F", KEY_END }, { "\033OF", KEY_END },
		};

		for (size_t i = 0; i < sizeof alt / sizeof alt[0]; i++)
			if (key_defined(alt[i].seq) == 0)
				define_key(alt[i].seq, alt[i].key);
	}
	nodelay(stdscr, TRUE);
	curs_set(0);
	mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
	mouseinterval(0);
	theme_init();
	ui->rows = LINES;
	ui->cols = COLS;
	return 0;
}

int
ui_main(struct db *db, long frames)
{
	struct ui ui;
	long drawn = 0;
	long long t0 = log_now_ms();
	int rc = 0;

	memset(&ui, 0, sizeof ui);
	ui.db = db;

	if ((ui.loop = loop_new()) == NULL)
		return -1;
	if ((ui.jobs = jobs_new(ui.loop)) == NULL) {
		loop_free(ui.loop);
		return -1;
	}
	ui.stdin_watch = -1;
	if ((ui.writer = writer_new(ui.jobs, db_path(db), on_writer_notice, &ui)) == NULL) {
		jobs_free(ui.jobs);
		loop_free(ui.loop);
		return -1;
	}
	db_set_busy_timeout(db, UI_DB_WAIT_MS);
	ui.fleet = fleet_new(ui.loop, ui.jobs, on_fleet_changed, &ui);
	ui.sampler = sampler_new(&ui);
	/* Hosts' login questions become overlays, never reads of the
	 * terminal curses owns. */
	ask_start(&ui);
	sig_loop = ui.loop;
	install_signals();
	if (ui_setup_terminal(&ui) != 0) {
		rc = -1;
		goto out;
	}
	db_changed(db);
	ui.views[0].view = &vmlist_view;
	ui.views[0].state = vmlist_view.init(&ui);
	ui.nviews = 1;
	ui.dirty = true;
	ui.stdin_watch = loop_add_fd(ui.loop, STDIN_FILENO, POLLIN, on_stdin, &ui);
	{
		/* Keys typed while the terminal was asked are in curses' queue,
		 * not on stdin: read them now. */
		const char *keys;

		if (termgfx_typed(&keys) > 0)
			on_stdin(STDIN_FILENO, 0, &ui);
	}
	loop_add_timer(ui.loop, UI_POLL_DB_MS, on_db_timer, &ui);

	while (!ui.quit && !sig_quit) {
		if (sig_winch)
			ui_resize(&ui);
		if (ui.dirty) {
			ui_draw(&ui);
			if (drawn++ == 0)
				log_debug("ui: first frame %lld ms after start", log_now_ms() - t0);
			if (frames > 0 && drawn >= frames)
				break;
		}
		/* Wake at least when a transient status message expires. */
		if (loop_run_once(ui.loop, frames > 0 ? 0 : ui.status_until != 0 ?
		    UI_STATUS_MS : -1) != 0) {
			rc = -1;
			break;
		}
		if (ui.status_until != 0 && log_now_ms() > ui.status_until) {
			ui.status_until = 0;
			ui.dirty = true;
		}
		if (frames > 0)
			ui.dirty = true;
	}
	ui_finish_writes(&ui);
	/* Backends first: completions may still reach the view. */
	ask_stop();
	fleet_shutdown(ui.fleet);
	writer_close(ui.writer);
	jobs_free(ui.jobs);
	ui.jobs = NULL;
	while (ui.nviews > 0) {
		ui.nviews--;
		ui.views[ui.nviews].view->free(ui.views[ui.nviews].state);
	}
	while (ui.noverlays > 0)
		overlay_free(ui.overlays[--ui.noverlays]);
out:
	ask_stop();
	if (ui.jobs != NULL) {
		fleet_shutdown(ui.fleet);
		writer_close(ui.writer);
		jobs_free(ui.jobs);
	}
	/* After jobs_free: no sample completes any more. */
	sampler_free(ui.sampler);
	fleet_free(ui.fleet);
	if (rc == 0 && ui_unwritten(&ui) != 0)
		rc = -1;
	writer_free(ui.writer);
	/* The CLI's connection again: its commands may wait for a lock. */
	db_set_busy_timeout(db, 5000);
	if (curses_active)
		termgfx_end(STDOUT_FILENO);
	ui_restore_terminal();
	if (screen != NULL) {
		delscreen(screen);
		screen = NULL;
	}
	restore_signals();
	xalloc_set_fatal_hook(NULL);
	sig_loop = NULL;
	loop_free(ui.loop);
	if (sig_quit && rc == 0)
		log_debug("ui: quit on signal %d", (int)sig_quit);
	sig_quit = 0;
	return rc;
}
