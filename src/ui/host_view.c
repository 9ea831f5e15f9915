/*
 * The host details page (key i): what a host has for its guests, as
 * 'vmtty host info' shows it: CPUs and their topology, memory, hugepage
 * pools and, on the built-in host, KSM.  The host is asked on its own
 * lane (fleet_run + hv_host_info), again every HOSTV_REFRESH_MS while the
 * page is open, so a slow or dead host never holds up a key; its error
 * sentence shows on the page, over what it said last.
 */
#include "ui/ui_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/hv.h"
#include "model/host.h"
#include "model/tuning.h"
#include "ops/fleet.h"
#include "util/err.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/wrap.h"
#include "util/xalloc.h"

#define HOSTV_REFRESH_MS 2000
/* One CPU in the table: "CPU CORE SOCKET NODE" and a gap. */
#define HOSTV_CELL_COLS 24

struct hfetch;

struct hostv {
	struct ui *ui;
	char *name, *uri;
	enum host_kind kind;
	struct hv_host_info hi;
	bool have;			/* HI holds an answer */
	char error[1024];		/* the last ask failed: why; "" it did not */
	long long asked;		/* log_now_ms() of the last answer */
	struct hfetch *fetch;		/* in flight, or NULL */
	int timer;			/* the next ask, or -1 */
	int top;			/* the CPU table's first row shown */
	int table_rows, table_height;	/* as last drawn, for scrolling */
};

/* One ask on the host's lane; V is NULL once the page closed. */
struct hfetch {
	struct hostv *v;
	struct hv_host_info hi;
	int rc;
	char error[1024];
};

static const char *const hostv_hints[] = {
	"Esc", "Close", "Up/Down", "Scroll", "r", "Refresh", "?", "Help", NULL, NULL,
};

static const char *const hostv_help[] = {
	"Host details",
	"Up/Down k/j\tscroll the CPU table (also PgUp/PgDn, Home/End)",
	"r Ctrl-L\task the host again now (it is asked every 2 s)",
	"Esc q\tclose the page",
	"",
	"CPUs: each online CPU with its core, socket and NUMA node;",
	"hugepages: each page size with its total, free and reserved pages;",
	"KSM (built-in host): merging of identical pages, 'vmtty host ksm'.",
	NULL,
};

static void hostv_ask(struct hostv *v);

static void
on_timer(void *arg)
{
	struct hostv *v = arg;

	v->timer = -1;
	hostv_ask(v);
}

static void
schedule(struct hostv *v, long ms)
{
	if (v->timer < 0)
		v->timer = loop_add_timer(ui_loop(v->ui), ms, on_timer, v);
}

static void
work_info(struct hv *hv, void *arg)
{
	struct hfetch *f = arg;

	f->rc = hv_host_info(hv, &f->hi);
	if (f->rc != 0)
		snprintf(f->error, sizeof f->error, "host '%s': %s", hv->host.name, err_get());
}

static void
done_info(void *arg)
{
	struct hfetch *f = arg;
	struct hostv *v = f->v;

	if (v != NULL) {
		v->fetch = NULL;
		if (f->rc == 0) {
			hv_host_info_clear(&v->hi);
			v->hi = f->hi;
			memset(&f->hi, 0, sizeof f->hi);
			v->have = true;
			v->error[0] = '\0';
			v->asked = log_now_ms();
		} else {
			snprintf(v->error, sizeof v->error, "%s", f->error);
		}
		schedule(v, HOSTV_REFRESH_MS);
		ui_intent(v->ui, UI_REDRAW);
	}
	hv_host_info_clear(&f->hi);
	free(f);
}

/* Ask the host, unless an ask is in flight; a host that is not up says
 * why at once, and is asked again later. */
static void
hostv_ask(struct hostv *v)
{
	struct hfetch *f;

	if (v->fetch != NULL)
		return;
	f = xcalloc(1, sizeof *f);
	f->v = v;
	if (fleet_run(ui_fleet(v->ui), v->name, work_info, done_info, f) != 0) {
		snprintf(v->error, sizeof v->error, "%s", err_get());
		free(f);
		schedule(v, HOSTV_REFRESH_MS);
		ui_intent(v->ui, UI_REDRAW);
		return;
	}
	v->fetch = f;
}

static void
hostv_close(struct hostv *v)
{
	ui_view_remove(v->ui, v);
}

static int
hostv_key(void *arg, int key)
{
	struct hostv *v = arg;
	int page = v->table_height > 1 ? v->table_height - 1 : 1;
	int max = v->table_rows - v->table_height > 0 ? v->table_rows - v->table_height : 0;

	switch (key) {
	case K_ESC:
	case 'q':
		hostv_close(v);
		return UI_HANDLED | UI_REDRAW;
	case 'r':
	case K_CTRL('l'):
	case K_FN(KEY_F(5)):
		if (v->timer >= 0)
			loop_cancel_timer(ui_loop(v->ui), v->timer);
		v->timer = -1;
		hostv_ask(v);
		ui_status(v->ui, false, "Asking host '%s' again.", v->name);
		return UI_HANDLED | UI_REDRAW;
	case K_FN(KEY_UP):
	case 'k':
		v->top--;
		break;
	case K_FN(KEY_DOWN):
	case 'j':
		v->top++;
		break;
	case K_FN(KEY_PPAGE):
	case K_CTRL('b'):
		v->top -= page;
		break;
	case K_FN(KEY_NPAGE):
	case K_CTRL('f'):
	case ' ':
		v->top += page;
		break;
	case K_FN(KEY_HOME):
	case 'g':
		v->top = 0;
		break;
	case K_FN(KEY_END):
	case 'G':
		v->top = max;
		break;
	default:
		return UI_IGNORED;
	}
	if (v->top > max)
		v->top = max;
	if (v->top < 0)
		v->top = 0;
	return UI_HANDLED | UI_REDRAW;
}

/* "Label     value" at *Y, clipped; *Y moves down unless at BOTTOM. */
static void
line(int *y, int bottom, int cols, const char *label, const char *val)
{
	char buf[1200];

	if (*y >= bottom)
		return;
	snprintf(buf, sizeof buf, " %-10s %s", label, val);
	ui_put((*y)++, 0, cols, buf);
}

/* TEXT wrapped between words over rows from *Y, in role ROLE. */
static void
wrapped(int *y, int bottom, int cols, enum theme_role role, const char *text)
{
	size_t off = 0, len, next;
	char buf[1200];

	attrset(theme_attr(role));
	while (text[off] != '\0' && *y < bottom) {
		len = wrap_line(text + off, cols - 2, &next);
		snprintf(buf, sizeof buf, " %.*s", (int)(len < sizeof buf - 2 ? len : sizeof buf - 2),
		    text + off);
		ui_put((*y)++, 0, cols, buf);
		off += next;
	}
	attrset(A_NORMAL);
}

static const char *
plural(int n)
{
	return n == 1 ? "" : "s";
}

static void
count(char *buf, size_t len, const char *what, int64_t n)
{
	size_t used = strlen(buf);

	if (n >= 0)
		snprintf(buf + used, len - used, "%lld %s", (long long)n, what);
	else
		snprintf(buf + used, len - used, "? %s", what);
}

/* The host's processors, memory, hugepages and KSM, from *Y. */
static void
draw_summary(struct hostv *v, int *y, int bottom, int cols)
{
	const struct hv_host_info *hi = &v->hi;
	char buf[512];

	snprintf(buf, sizeof buf, "%d online, %s%s%s", hi->ncpus, hi->arch,
	    hi->model[0] != '\0' ? ", " : "", hi->model);
	if (hi->mhz > 0)
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), ", %d MHz", hi->mhz);
	line(y, bottom, cols, "CPUs", buf);
	snprintf(buf, sizeof buf, "%d NUMA node%s x %d socket%s x %d core%s x %d thread%s",
	    hi->nodes, plural(hi->nodes), hi->sockets, plural(hi->sockets), hi->cores,
	    plural(hi->cores), hi->threads, plural(hi->threads));
	line(y, bottom, cols, "Topology", buf);
	snprintf(buf, sizeof buf, "%lld MiB total", (long long)(hi->mem_total_kib / 1024));
	if (hi->mem_free_kib >= 0)
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), ", %lld MiB free",
		    (long long)(hi->mem_free_kib / 1024));
	line(y, bottom, cols, "Memory", buf);
	for (size_t i = 0; i < hi->npools; i++) {
		const struct hv_hugepool *p = &hi->pools[i];

		tuning_format_pagesize(p->size_kib, buf, sizeof buf);
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), " pages: ");
		count(buf, sizeof buf, "total, ", p->total);
		count(buf, sizeof buf, "free, ", p->free);
		count(buf, sizeof buf, "reserved", p->reserved);
		line(y, bottom, cols, i == 0 ? "Hugepages" : "", buf);
	}
	if (hi->npools == 0)
		line(y, bottom, cols, "Hugepages", "none offered");
	if (hi->ksm_known) {
		snprintf(buf, sizeof buf, "%s: %lld pages shared, %lld sharing, %lld full scans",
		    hi->ksm_run ? "on" : "off", (long long)hi->ksm_shared,
		    (long long)hi->ksm_sharing, (long long)hi->ksm_full_scans);
		line(y, bottom, cols, "KSM", buf);
	}
}

/* Each CPU with its core, socket and node, several to a row, scrolled. */
static void
draw_cpus(struct hostv *v, int y, int bottom, int cols)
{
	const struct hv_host_info *hi = &v->hi;
	int per = (cols - 1) / HOSTV_CELL_COLS, rows;
	char buf[64];

	if (per < 1)
		per = 1;
	rows = ((int)hi->ncpu + per - 1) / per;
	v->table_rows = rows;
	v->table_height = bottom - y - 1;
	if (v->table_height < 1 || hi->ncpu == 0)
		return;
	if (v->top > rows - v->table_height)
		v->top = rows - v->table_height > 0 ? rows - v->table_height : 0;
	attrset(theme_attr(TH_HEADER));
	ui_put(y, 0, cols, "");
	for (int c = 0; c < per && c < (int)hi->ncpu; c++) {
		snprintf(buf, sizeof buf, "%4s %5s %6s %4s", "CPU", "CORE", "SOCKET", "NODE");
		ui_put(y, c * HOSTV_CELL_COLS, HOSTV_CELL_COLS - 2, buf);
	}
	attrset(A_NORMAL);
	y++;
	for (int r = v->top; r < rows && y < bottom; r++, y++) {
		ui_put(y, 0, cols, "");
		for (int c = 0; c < per; c++) {
			size_t i = (size_t)(r * per + c);

			if (i >= hi->ncpu)
				break;
			snprintf(buf, sizeof buf, "%4d %5d %6d %4d", hi->cpu[i].cpu, hi->cpu[i].core,
			    hi->cpu[i].socket, hi->cpu[i].node);
			ui_put(y, c * HOSTV_CELL_COLS, HOSTV_CELL_COLS - 2, buf);
		}
	}
	if (rows > v->table_height) {
		snprintf(buf, sizeof buf, " rows %d-%d of %d ", v->top + 1,
		    v->top + v->table_height < rows ? v->top + v->table_height : rows, rows);
		attrset(theme_attr(TH_DIM));
		ui_put(bottom - 1, cols - ui_width(buf), ui_width(buf), buf);
		attrset(A_NORMAL);
	}
}

static void
hostv_draw(void *arg, int top, int rows, int cols)
{
	struct hostv *v = arg;
	int y = top + 1, bottom = top + rows;
	char buf[1200];

	erase();
	attrset(theme_attr(TH_HEADER));
	snprintf(buf, sizeof buf, " Host %s (%s): %s", v->name,
	    v->kind == HOST_BUILTIN ? "built-in QEMU" : "libvirt", v->uri);
	ui_put(top, 0, cols, buf);
	attrset(A_NORMAL);
	if (v->error[0] != '\0') {
		wrapped(&y, bottom, cols, TH_ERROR, v->error);
		if (v->have) {
			snprintf(buf, sizeof buf, "What it said %lld s ago:",
			    (log_now_ms() - v->asked) / 1000);
			wrapped(&y, bottom, cols, TH_DIM, buf);
		}
	} else if (!v->have) {
		wrapped(&y, bottom, cols, TH_DIM, "Asking the host...");
	}
	if (!v->have)
		return;
	y++;
	draw_summary(v, &y, bottom, cols);
	y++;
	draw_cpus(v, y, bottom, cols);
}

static void
hostv_free(void *arg)
{
	struct hostv *v = arg;

	if (v->fetch != NULL)
		v->fetch->v = NULL;
	if (v->timer >= 0)
		loop_cancel_timer(ui_loop(v->ui), v->timer);
	hv_host_info_clear(&v->hi);
	free(v->name);
	free(v->uri);
	free(v);
}

static const struct view host_view = {
	.name = "host",
	.free = hostv_free,
	.draw = hostv_draw,
	.key = hostv_key,
	.hints = hostv_hints,
	.hints_ascii = hostv_hints,
	.help = hostv_help,
};

int
host_view_open(struct ui *ui, const struct host *h)
{
	struct hostv *v = xcalloc(1, sizeof *v);

	v->ui = ui;
	v->name = xstrdup(h->name);
	v->uri = xstrdup(h->uri);
	v->kind = h->kind;
	v->timer = -1;
	if (ui_view_add(ui, &host_view, v) != 0) {
		hostv_free(v);
		return -1;
	}
	ui_view_show(ui, v);
	hostv_ask(v);
	return 0;
}
