/*
 * The statistics page of a VM (key g): four graphs, CPU %, memory (the
 * balloon's size, the qemu's RSS, what the guest uses), disk read and
 * write and network rx and tx bytes per second, over the last 1, 5 or 10
 * minutes, drawn with braille dots (ASCII dots on a terminal that is not
 * UTF-8), with y-axis labels in units and x-axis times.  Two by two on a
 * terminal too short for four stacked graphs of a readable height, else
 * one above the other across the whole width; laid out again at each
 * draw, so a resize just draws anew.  The numbers come from the sampler
 * (sampled on the host's lane while this page is on screen).
 */
#include "ui/ui_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/vm.h"
#include "ops/stats.h"
#include "ui/graph.h"
#include "util/str.h"
#include "util/wrap.h"
#include "util/xalloc.h"

/* Below this height a graph goes two by two rather than four stacked. */
#define STATSV_STACK_MIN_ROWS 10
/* The y-axis labels and the axis line: "1023 MiB/s" and a rule. */
#define STATSV_LABEL_COLS 11

static const long long windows_ms[] = { 60 * 1000, 5 * 60 * 1000, 10 * 60 * 1000 };
static const char *const windows_name[] = { "1 min", "5 min", "10 min" };
#define STATSV_NWINDOWS 3

/* The series a graph can show. */
enum series { S_CPU, S_ACTUAL, S_RSS, S_USED, S_RD, S_WR, S_RX, S_TX };

struct panel {
	const char *title;
	enum graph_unit unit;
	int n;
	enum series s[3];
	const char *label[3];
};

static const struct panel panels[] = {
	{ "CPU", GRAPH_PCT, 1, { S_CPU }, { "" } },
	{ "Memory", GRAPH_KIB, 3, { S_ACTUAL, S_RSS, S_USED }, { "actual", "RSS", "used" } },
	{ "Disk", GRAPH_BPS, 2, { S_RD, S_WR }, { "read", "write" } },
	{ "Network", GRAPH_BPS, 2, { S_RX, S_TX }, { "rx", "tx" } },
};
#define STATSV_NPANELS 4

/* Each series of a graph in a colour of its own. */
static const enum theme_role series_role[] = { TH_RUNNING, TH_PAUSED, TH_HOST };

struct statsv {
	struct ui *ui;
	char *host, *name, *uuid;
	int win;			/* index into windows_ms */
	/* For one draw: the points of the window, the VM as last sampled. */
	struct stats_point *pts;
	size_t npts, cap;
	struct stats_vm *vm;		/* NULL: not sampled yet */
	long long now;			/* wall clock, ms */
};

static const char *const statsv_hints[] = {
	"1", "1 min", "5", "5 min", "0", "10 min", "Tab", "Next", "Esc", "Close", "?", "Help",
	NULL, NULL,
};

static const char *const statsv_help[] = {
	"Graphs of a VM",
	"1 5 0\tthe last 1, 5 or 10 minutes",
	"Tab Shift-Tab\tthe next / previous of those",
	"Esc q\tclose the page",
	"",
	"CPU: % of one host CPU (200 % is two busy);",
	"memory: the balloon's size (actual), the qemu's resident",
	"memory (RSS) and what the guest uses (from its balloon",
	"driver); disk: bytes read and written per second, all disks;",
	"network: bytes received and sent per second, all NICs (not",
	"available for user networking).",
	"The host is sampled every interval while the page is open",
	"($VMTTY_STATS_INTERVAL seconds, 2 by default).",
	NULL,
};

static double
point_value(const struct stats_point *p, enum series s)
{
	switch (s) {
	case S_CPU: return p->cpu_pct;
	case S_ACTUAL: return p->mem_actual_kib;
	case S_RSS: return p->mem_rss_kib;
	case S_USED: return p->mem_used_kib;
	case S_RD: return p->rd_bps;
	case S_WR: return p->wr_bps;
	case S_RX: return p->rx_bps;
	case S_TX: return p->tx_bps;
	}
	return -1;
}

/* The latest value of S, -1 unknown. */
static double
latest_value(const struct stats_vm *v, enum series s)
{
	if (v == NULL)
		return -1;
	switch (s) {
	case S_CPU: return v->rates ? v->cpu_pct : -1;
	case S_ACTUAL: return (double)v->mem_actual_kib;
	case S_RSS: return (double)v->mem_rss_kib;
	case S_USED:
		return v->mem_available_kib >= 0 && v->mem_unused_kib >= 0 ?
		    (double)(v->mem_available_kib - v->mem_unused_kib) : -1;
	case S_RD: return v->rates ? v->rd_bps : -1;
	case S_WR: return v->rates ? v->wr_bps : -1;
	case S_RX: return v->rates ? v->rx_bps : -1;
	case S_TX: return v->rates ? v->tx_bps : -1;
	}
	return -1;
}

static long long
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Series S over the window into OUT[0..COLS) (dot columns); the largest
 * value into *MAX; false when no point knows it. */
static bool
series_columns(struct statsv *v, enum series s, int cols, double *out, double *max)
{
	long long *when = xcalloc(v->npts + 1, sizeof *when);
	double *val = xcalloc(v->npts + 1, sizeof *val);
	bool known = false;

	for (size_t i = 0; i < v->npts; i++) {
		when[i] = v->pts[i].when_ms;
		val[i] = point_value(&v->pts[i], s);
		known |= val[i] >= 0;
		if (val[i] > *max)
			*max = val[i];
	}
	graph_resample(when, val, v->npts, v->now, windows_ms[v->win], cols, out);
	free(when);
	free(val);
	return known;
}

/* The title line of panel P: its name and each series' latest value in
 * the series' colour; narrower (the name cut to three letters, single
 * spaces) when that does not fit in W. */
static void
draw_legend(struct statsv *v, const struct panel *p, int y, int x, int w)
{
	char buf[3][64], val[32], title[16];
	int used, sep = 2, need;

	snprintf(title, sizeof title, "%s", p->title);
	need = ui_width(title);
	for (int i = 0; i < p->n; i++) {
		graph_format(latest_value(v->vm, p->s[i]), p->unit, val, sizeof val);
		snprintf(buf[i], sizeof buf[i], "%s%s%s", p->label[i],
		    p->label[i][0] != '\0' ? " " : "", val);
		need += sep + ui_width(buf[i]);
	}
	if (need > w) {
		title[3] = '\0';
		sep = 1;
	}
	attrset(A_BOLD);
	ui_put(y, x, w, title);
	used = ui_width(title) + sep;
	for (int i = 0; i < p->n && used < w; i++) {
		attrset(theme_attr(series_role[i]));
		ui_put(y, x + used, w - used, buf[i]);
		used += ui_width(buf[i]) + sep;
	}
	attrset(A_NORMAL);
}

/* The y-axis of a graph GH rows high at (Y, X): TOP at its top row, half
 * of it in the middle, 0 at the bottom, and a rule. */
static void
draw_y_axis(struct statsv *v, const struct panel *p, double top, int y, int x, int gh)
{
	char buf[32];

	attrset(theme_attr(TH_DIM));
	for (int r = 0; r < gh; r++) {
		buf[0] = '\0';
		if (r == 0)
			graph_format(top, p->unit, buf, sizeof buf);
		else if (r == gh - 1)
			graph_format(0, p->unit, buf, sizeof buf);
		else if (gh >= 5 && r == (gh - 1) / 2)
			graph_format(top * (double)(gh - 1 - r) / (gh - 1), p->unit, buf, sizeof buf);
		ui_put(y + r, x, STATSV_LABEL_COLS - 1 - ui_width(buf), "");
		ui_put(y + r, x + STATSV_LABEL_COLS - 1 - ui_width(buf), ui_width(buf), buf);
		ui_put(y + r, x + STATSV_LABEL_COLS - 1, 1, ui_utf8(v->ui) ? "\xe2\x94\xa4" : "|");
	}
	attrset(A_NORMAL);
}

/* Times under a graph GW cells wide at (Y, X): the window's start, its
 * quarters when there is room, and "now" at the right. */
static void
draw_x_axis(struct statsv *v, int y, int x, int gw)
{
	int ticks = gw >= 60 ? 4 : gw >= 24 ? 2 : 1;
	char buf[32];

	attrset(theme_attr(TH_DIM));
	ui_put(y, x, gw, "");
	for (int t = 0; t <= ticks; t++) {
		int at = (gw - 1) * t / ticks, lw;

		graph_time_label(windows_ms[v->win] * (ticks - t) / ticks, buf, sizeof buf);
		lw = ui_width(buf);
		at = t == 0 ? 0 : t == ticks ? gw - lw : at - lw / 2;
		if (at >= 0 && at + lw <= gw)
			ui_put(y, x + at, lw, buf);
	}
	attrset(A_NORMAL);
}

/* WHAT in the middle of an empty graph GW x GH at (Y, X), and WHY (may
 * be NULL: a sentence from the host) wrapped under it as far as it fits. */
static void
draw_empty(int y, int x, int gw, int gh, const char *what, const char *why)
{
	char buf[300], line[300];
	size_t off = 0, len, next;
	int w = ui_width(what) < gw ? ui_width(what) : gw, row = y + (gh - 1) / 2;

	if (why != NULL && gh >= 3)
		row = y + (gh - 2) / 2;
	attrset(theme_attr(TH_DIM));
	ui_put(row++, x + (gw - w) / 2, w, what);
	str_escape_buf(buf, sizeof buf, why != NULL ? why : "");
	while (buf[off] != '\0' && row < y + gh) {
		len = wrap_line(buf + off, gw, &next);
		snprintf(line, sizeof line, "%.*s", (int)len, buf + off);
		w = ui_width(line);
		ui_put(row++, x + (gw - w) / 2, w, line);
		off += next;
	}
	attrset(A_NORMAL);
}

/* The braille (or ASCII) cells of canvas C at (Y, X), in the series'
 * colours. */
static void
draw_canvas(const struct graph_canvas *c, int y, int x)
{
	char cell[5];

	for (int r = 0; r < c->h; r++) {
		move(y + r, x);
		for (int k = 0; k < c->w; k++) {
			int who = graph_canvas_cell(c, k, r, cell);

			attrset(who >= 0 ? theme_attr(series_role[who]) : A_NORMAL);
			addstr(cell);
		}
	}
	attrset(A_NORMAL);
}

/* Panel P in the box at (Y, X), W x H: legend, y-axis, graph, times. */
static void
draw_panel(struct statsv *v, const struct panel *p, int y, int x, int w, int h)
{
	int gh = h >= 6 ? h - 3 : h - 2, gw = w - STATSV_LABEL_COLS - 1;
	int interval = sampler_interval_ms(ui_sampler(v->ui));
	struct graph_canvas c;
	double *cols, max = 0, top;
	bool known = false;
	int dcols, gap;

	if (gh < 1 || gw < 4)
		return;
	draw_legend(v, p, y, x, w);
	graph_canvas_init(&c, gw, gh, ui_utf8(v->ui));
	dcols = gw * c.dx;
	cols = xcalloc((size_t)p->n * (size_t)dcols + 1, sizeof *cols);
	for (int i = 0; i < p->n; i++)
		known |= series_columns(v, p->s[i], dcols, cols + (size_t)i * (size_t)dcols, &max);
	top = graph_axis_top(max, p->unit);
	/* Points closer than two and a half intervals are joined: a sample
	 * missed is no gap, a stop is. */
	gap = (int)((long long)dcols * interval * 5 / 2 / windows_ms[v->win]);
	for (int i = 0; i < p->n; i++)
		graph_canvas_plot(&c, cols + (size_t)i * (size_t)dcols, top, i, gap);
	draw_y_axis(v, p, top, y + 1, x, gh);
	draw_canvas(&c, y + 1, x + STATSV_LABEL_COLS);
	/* Sampled, and still nothing: the host does not count it (the note
	 * says why, e.g. user networking). */
	if (!known && v->vm != NULL && v->vm->rates && latest_value(v->vm, p->s[0]) < 0)
		draw_empty(y + 1, x + STATSV_LABEL_COLS, gw, gh, "not available",
		    v->vm->note[0] != '\0' ? v->vm->note : NULL);
	else if (!known)
		draw_empty(y + 1, x + STATSV_LABEL_COLS, gw, gh, "waiting for samples...", NULL);
	draw_x_axis(v, y + 1 + gh, x + STATSV_LABEL_COLS, gw);
	graph_canvas_free(&c);
	free(cols);
}

/* The first two lines: whose graphs, the window, and how fresh. */
static void
draw_head(struct statsv *v, int top, int cols)
{
	char name[300], host[300], buf[900], err[600];
	const char *why = sampler_error(ui_sampler(v->ui), v->host);
	int x = 1;

	str_escape_buf(name, sizeof name, v->name);
	str_escape_buf(host, sizeof host, v->host);
	snprintf(buf, sizeof buf, " Graphs of VM %s on %s (%s), every %.1f s", name, host,
	    v->vm != NULL ? hv_state_name(v->vm->state) : "not sampled yet",
	    sampler_interval_ms(ui_sampler(v->ui)) / 1000.0);
	attrset(theme_attr(TH_HEADER));
	ui_put(top, 0, cols, buf);
	attrset(A_NORMAL);
	ui_put(top + 1, 0, cols, "");
	for (int i = 0; i < STATSV_NWINDOWS; i++) {
		snprintf(buf, sizeof buf, " %s ", windows_name[i]);
		attrset(i == v->win ? theme_attr(TH_SELECTED) : theme_attr(TH_DIM));
		ui_put(top + 1, x, ui_width(buf), buf);
		x += ui_width(buf) + 1;
	}
	attrset(A_NORMAL);
	if (why[0] != '\0') {
		str_escape_buf(err, sizeof err, why);
		attrset(theme_attr(TH_ERROR));
		ui_put(top + 1, x + 1, cols - x - 1, err);
		attrset(A_NORMAL);
	}
}

static void
statsv_draw(void *arg, int top, int rows, int cols)
{
	struct statsv *v = arg;
	struct sampler *s = ui_sampler(v->ui);
	int h = rows - 2, y = top + 2;
	bool stack = h / STATSV_NPANELS >= STATSV_STACK_MIN_ROWS;

	sampler_want(s, v->host);
	stats_vms_free(v->vm, v->vm != NULL ? 1 : 0);
	v->vm = sampler_latest(s, v->host, v->uuid);
	if (v->cap == 0) {
		v->cap = stats_ring_size(sampler_interval_ms(s));
		v->pts = xcalloc(v->cap, sizeof *v->pts);
	}
	v->npts = sampler_history(s, v->host, v->uuid, windows_ms[v->win], v->pts, v->cap);
	v->now = wall_ms();
	erase();
	draw_head(v, top, cols);
	for (int i = 0; i < STATSV_NPANELS; i++) {
		if (stack)
			draw_panel(v, &panels[i], y + h * i / 4, 0, cols, h * (i + 1) / 4 - h * i / 4);
		else
			draw_panel(v, &panels[i], y + h / 2 * (i / 2), cols / 2 * (i % 2),
			    i % 2 == 0 ? cols / 2 : cols - cols / 2, i / 2 == 0 ? h / 2 : h - h / 2);
	}
}

static int
statsv_key(void *arg, int key)
{
	struct statsv *v = arg;

	switch (key) {
	case K_ESC:
	case 'q':
		ui_view_remove(v->ui, v);
		return UI_HANDLED | UI_REDRAW;
	case '1':
		v->win = 0;
		break;
	case '5':
		v->win = 1;
		break;
	case '0':
		v->win = 2;
		break;
	case '\t':
		v->win = (v->win + 1) % STATSV_NWINDOWS;
		break;
	case K_FN(KEY_BTAB):
		v->win = (v->win + STATSV_NWINDOWS - 1) % STATSV_NWINDOWS;
		break;
	default:
		return UI_IGNORED;
	}
	return UI_HANDLED | UI_REDRAW;
}

static void
statsv_free(void *arg)
{
	struct statsv *v = arg;

	stats_vms_free(v->vm, v->vm != NULL ? 1 : 0);
	free(v->pts);
	free(v->host);
	free(v->name);
	free(v->uuid);
	free(v);
}

static const struct view stats_view = {
	.name = "stats",
	.free = statsv_free,
	.draw = statsv_draw,
	.key = statsv_key,
	.hints = statsv_hints,
	.hints_ascii = statsv_hints,
	.help = statsv_help,
};

int
stats_view_open(struct ui *ui, const struct vm_config *c)
{
	struct statsv *v;

	/* The page of this VM already open: show it. */
	for (v = ui_view_next(ui, &stats_view, NULL); v != NULL;
	    v = ui_view_next(ui, &stats_view, v)) {
		if (strcmp(v->uuid, c->uuid) == 0 && strcmp(v->host, c->host) == 0) {
			ui_view_show(ui, v);
			return 0;
		}
	}
	v = xcalloc(1, sizeof *v);
	v->ui = ui;
	v->host = xstrdup(c->host);
	v->name = xstrdup(c->name);
	v->uuid = xstrdup(c->uuid);
	if (ui_view_add(ui, &stats_view, v) != 0) {
		statsv_free(v);
		return -1;
	}
	ui_view_show(ui, v);
	return 0;
}
