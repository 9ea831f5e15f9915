/*
 * The migration dialog of one VM (key m): the destination (a libvirt host
 * other than the VM's own) and the choices of `vmtty migrate` (copy
 * storage, post-copy, auto-converge, keep the source, a bandwidth limit);
 * Enter runs the preflight and shows its findings to confirm; then the
 * move runs, with a progress bar, and Esc stops it.  At the end the page
 * closes and the status line says where the VM runs.
 *
 * Both steps take the CLI's path (ops/migrate.h) on a lane of their own,
 * never a host's (a move holds two hosts for as long as it lasts), each
 * with connections of its own (the preflight's are kept for the move: a
 * host that asks for a password asks once): migrate_check, then migrate_run, whose
 * progress rounds (about every 500 ms, on the migrating thread) come to
 * the UI thread through the job system.  The outcome goes to the
 * inventory through the writer (migrate_record): the VM moves, with both
 * hosts' journal entries, in one transaction; a failure is journaled and
 * the VM stays where it was.  Stopping only sets a flag (migrate_stop):
 * no key waits for libvirt.
 */
#include "ui/formw.h"
#include "ui/ui_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/hv.h"
#include "model/db.h"
#include "model/host.h"
#include "model/vm.h"
#include "ops/fleet.h"
#include "ops/migrate.h"
#include "util/err.h"
#include "util/job.h"
#include "util/log.h"
#include "util/num.h"
#include "util/wrap.h"
#include "util/xalloc.h"

enum mstep {
	MV_FORM,		/* the choices */
	MV_CHECKING,		/* the preflight runs */
	MV_CONFIRM,		/* its findings, to confirm */
	MV_REFUSED,		/* it failed: why */
	MV_RUNNING,		/* the move */
};

enum mfield { F_HOST, F_COPY, F_POSTCOPY, F_CONVERGE, F_KEEP, F_BANDWIDTH, F_COUNT };

static const char *const labels[F_COUNT] = {
	[F_HOST] = "Destination host",
	[F_COPY] = "Copy storage",
	[F_POSTCOPY] = "Post-copy",
	[F_CONVERGE] = "Auto-converge",
	[F_KEEP] = "Keep source",
	[F_BANDWIDTH] = "Bandwidth (MiB/s)",
};

static const char *const boxes[] = { "[ ]", "[x]", NULL };

#define MV_LABEL_COLS 20

struct mjob;

struct migv {
	struct ui *ui;
	struct vm_config cfg;		/* the VM as the inventory has it */
	struct host *hosts;		/* the destinations offered */
	size_t nhosts;
	const char **host_names;	/* their names, NULL-terminated */
	int host;			/* the one chosen */
	int flags[F_COUNT];		/* F_COPY .. F_KEEP: 0 or 1 */
	char bandwidth[16];
	int focus;
	enum mstep step;
	struct mjob *job;		/* the step in flight, or NULL */
	char to[128];			/* the destination of the step */
	uint64_t bw;			/* its bandwidth limit, MiB/s; 0 none */
	char report[2048];		/* the preflight's findings */
	char error[1024];		/* MV_REFUSED: why */
	struct hv_migrate_progress prog;	/* the last round */
	bool have_prog;
	bool stopping;			/* Esc asked the move to stop */
	long long started;		/* log_now_ms() of the move's start */
	/* The preflight's connections, kept for the move (a host that asks
	 * for a password asks once); closed on a lane when not used. */
	struct hv *hsrc, *hdst;
};

/* One step on the long lane: the preflight, or the move.  PAGE is NULL
 * once the page no longer waits for it. */
struct mjob {
	struct ui *ui;
	struct jobs *jobs;
	struct migv *page;
	bool run;			/* the move, not only the preflight */
	struct host src, dst;		/* from the inventory, for hv_open */
	struct hv *hsrc, *hdst;		/* open connections (the preflight's), or NULL */
	struct migration m;
	int rc;
	char error[1024];
};

/* One progress round, from the migrating thread to the UI thread. */
struct mprog {
	struct mjob *j;
	struct hv_migrate_progress p;
	char abort_error[512];
};

static const char *const migv_hints[] = {
	"Enter", "Next", "Tab", "Field", "Space", "Toggle", "Esc", "Back / Stop", "?", "Help",
	NULL, NULL,
};

static const char *const migv_help[] = {
	"Migrate VM",
	"Tab Down / Up\tthe next / previous field",
	"Left/Right Space\tthe destination host; tick or untick a box",
	"Enter\trun the preflight; then Enter or y starts the move",
	"Esc\tclose the dialog (nothing moves); at the findings: back",
	"Esc\twhile it moves: stop it, the VM stays where it was",
	"",
	"Copy storage: copy the disks to the destination (not shared there).",
	"Post-copy: switch to post-copy when memory does not converge; from",
	"then on the VM runs on the destination and cannot be stopped.",
	"Auto-converge: slow the guest down until its memory converges.",
	"Keep source: leave the VM's definition on its host.",
	"Bandwidth: MiB/s at most (empty: no limit).",
	NULL,
};

/* Two connections to close off the UI thread (a dead host can take a
 * while to let go). */
struct conns {
	struct hv *src, *dst;
};

static void
conns_close(void *arg)
{
	struct conns *c = arg;

	hv_close(c->dst);
	hv_close(c->src);
}

static void
conns_drop(struct ui *ui, struct hv **src, struct hv **dst)
{
	struct conns *c;
	struct lane *lane;

	if (*src == NULL && *dst == NULL)
		return;
	c = xcalloc(1, sizeof *c);
	c->src = *src;
	c->dst = *dst;
	*src = *dst = NULL;
	if ((lane = ui_long_lane(ui)) == NULL || job_submit(lane, conns_close, free, c) != 0) {
		conns_close(c);
		free(c);
	}
}

static void
job_free(struct mjob *j)
{
	conns_drop(j->ui, &j->hsrc, &j->hdst);
	host_clear(&j->src);
	host_clear(&j->dst);
	migrate_clear(&j->m);
	free(j);
}

/* ---- on the lane ---------------------------------------------------------- */

static void progress_ui(void *arg);

/* The migrating thread: hand the round to the UI thread. */
static void
on_progress(struct migration *m, const struct hv_migrate_progress *p, void *arg)
{
	struct mjob *j = arg;
	struct mprog *mp = xcalloc(1, sizeof *mp);

	mp->j = j;
	mp->p = *p;
	snprintf(mp->abort_error, sizeof mp->abort_error, "%s", m->abort_error);
	jobs_post(j->jobs, progress_ui, mp);
}

static void
work(void *arg)
{
	struct mjob *j = arg;
	struct hv *src = j->hsrc, *dst = j->hdst;

	j->hsrc = j->hdst = NULL;
	if ((src == NULL && (src = hv_open(&j->src)) == NULL) ||
	    (dst == NULL && (dst = hv_open(&j->dst)) == NULL)) {
		j->rc = -1;
	} else if (j->run) {
		j->m.on_progress = on_progress;
		j->m.arg = j;
		j->rc = migrate_run(&j->m, src, dst, &j->dst);
	} else {
		j->rc = migrate_check(&j->m, src, dst);
	}
	if (j->rc != 0)
		snprintf(j->error, sizeof j->error, "%s", err_get());
	if (!j->run && j->rc == 0) {
		/* Kept for the move the findings may lead to. */
		j->hsrc = src;
		j->hdst = dst;
		return;
	}
	hv_close(dst);
	hv_close(src);
}

/* ---- back on the UI thread ------------------------------------------------ */

static void
progress_ui(void *arg)
{
	struct mprog *mp = arg;
	struct migv *v = mp->j->page;

	if (v != NULL) {
		v->prog = mp->p;
		v->have_prog = true;
		if (mp->abort_error[0] != '\0')
			ui_status(v->ui, true, "%s", mp->abort_error);
		ui_intent(v->ui, UI_REDRAW);
	}
	free(mp);
}

/* The writer's lane: the move (or its failure) into the inventory. */
static int
record_write(struct db *db, void *arg)
{
	struct mjob *j = arg;

	return migrate_record(db, &j->m, j->rc == 0 ? NULL : j->error);
}

static void
record_written(void *arg, int rc, const char *error)
{
	struct mjob *j = arg;
	char down[32];

	if (j->rc == 0 && rc != 0) {
		ui_status(j->ui, true, "%s", error);
	} else if (j->rc == 0) {
		if (j->m.last.downtime_ms >= 0)
			snprintf(down, sizeof down, "%lld ms", (long long)j->m.last.downtime_ms);
		else
			snprintf(down, sizeof down, "not known");
		ui_status(j->ui, false, "VM '%s' now runs on host '%s' (downtime %s).", j->m.c.name,
		    j->m.to, down);
	}
	/* Both hosts' lists, held while it moved, are mirrored again. */
	fleet_refresh_host(ui_fleet(j->ui), j->src.name);
	fleet_refresh_host(ui_fleet(j->ui), j->dst.name);
	ui_intent(j->ui, UI_RELOAD);
	job_free(j);
}

static void
done(void *arg)
{
	struct mjob *j = arg;
	struct migv *v = j->page;
	char what[400];

	if (v != NULL)
		v->job = NULL;
	if (!j->run) {
		if (v != NULL && j->rc == 0) {
			v->hsrc = j->hsrc;
			v->hdst = j->hdst;
			j->hsrc = j->hdst = NULL;
		}
		conns_drop(j->ui, &j->hsrc, &j->hdst);
		if (v != NULL) {
			snprintf(v->report, sizeof v->report, "%s", j->m.report);
			snprintf(v->error, sizeof v->error, "%s", j->rc != 0 ? j->error : "");
			v->step = j->rc != 0 ? MV_REFUSED : MV_CONFIRM;
			ui_intent(v->ui, UI_REDRAW);
		}
		job_free(j);
		return;
	}
	/* The move is over: the page goes, the outcome to the inventory (in
	 * order before the hosts' lists, held until now). */
	if (j->rc != 0)
		ui_status(j->ui, true, "%s", j->error);
	else
		ui_status(j->ui, false, "VM '%s' moved to host '%s'; recording it...", j->m.c.name,
		    j->m.to);
	snprintf(what, sizeof what, "the migration of VM '%s' to host '%s'", j->m.c.name,
	    j->dst.name);
	ui_write(j->ui, what, record_write, record_written, j);
	if (v != NULL)
		ui_view_remove(j->ui, v);
	ui_intent(j->ui, UI_REDRAW);
}

/* ---- the steps -------------------------------------------------------------- */

/* Start the preflight (RUN false) or the move of the choices on the page. */
static int
start(struct migv *v, bool run)
{
	struct hv_migrate_opts o = { 0 };
	struct lane *lane;
	struct mjob *j;

	if (!run) {
		v->bw = 0;
		if (v->bandwidth[0] != '\0' && migrate_parse_bandwidth(v->bandwidth, &v->bw) != 0) {
			ui_status(v->ui, true, "%s", err_get());
			v->focus = F_BANDWIDTH;
			return UI_HANDLED | UI_REDRAW;
		}
		snprintf(v->to, sizeof v->to, "%s", v->hosts[v->host].name);
	}
	o.copy_storage = v->flags[F_COPY];
	o.postcopy = v->flags[F_POSTCOPY];
	o.auto_converge = v->flags[F_CONVERGE];
	o.keep_source = v->flags[F_KEEP];
	o.bandwidth_mib = v->bw;
	j = xcalloc(1, sizeof *j);
	j->ui = v->ui;
	j->jobs = ui_jobs(v->ui);
	j->run = run;
	migrate_init(&j->m, &v->cfg, &o);
	j->m.inventory = db_path(ui_db(v->ui));
	/* The hosts as the inventory has them now (a migration address may
	 * have been set meanwhile). */
	if (host_get(ui_db(v->ui), v->cfg.host, &j->src) != 0 ||
	    host_get(ui_db(v->ui), v->to, &j->dst) != 0 || (lane = ui_long_lane(v->ui)) == NULL) {
		ui_status(v->ui, true, "%s", err_get());
		job_free(j);
		return UI_HANDLED | UI_REDRAW;
	}
	j->page = v;
	v->job = j;
	if (run) {
		j->hsrc = v->hsrc;
		j->hdst = v->hdst;
		v->hsrc = v->hdst = NULL;
		v->step = MV_RUNNING;
		v->have_prog = false;
		v->stopping = false;
		v->started = log_now_ms();
		ui_status(v->ui, false, "VM '%s': moving to host '%s'...", v->cfg.name, v->to);
	} else {
		v->step = MV_CHECKING;
		v->report[0] = v->error[0] = '\0';
		ui_status(v->ui, false, "%s", "");
	}
	job_submit(lane, work, done, j);
	return UI_HANDLED | UI_REDRAW;
}

/* Esc while it moves. */
static int
stop(struct migv *v)
{
	if (v->job == NULL || v->stopping)
		return UI_HANDLED;
	if (migrate_stop(&v->job->m) != 0) {
		ui_status(v->ui, true, "%s", err_get());
		return UI_HANDLED | UI_REDRAW;
	}
	v->stopping = true;
	ui_status(v->ui, false, "Stopping the migration of VM '%s'; it stays on host '%s'...",
	    v->cfg.name, v->cfg.host);
	return UI_HANDLED | UI_REDRAW;
}

/* Back to the choices; a preflight still on its way is let go. */
static void
back(struct migv *v)
{
	if (v->job != NULL)
		v->job->page = NULL;
	v->job = NULL;
	v->step = MV_FORM;
	conns_drop(v->ui, &v->hsrc, &v->hdst);
}

static void
migv_close(struct migv *v, const char *why)
{
	back(v);
	ui_status(v->ui, false, "%s; VM '%s' was not moved.", why, v->cfg.name);
	ui_view_remove(v->ui, v);
}

/* ---- keys ------------------------------------------------------------------ */

static int
form(struct migv *v, struct formw_field *out)
{
	for (int i = 0; i < F_COUNT; i++) {
		out[i] = (struct formw_field){ .label = labels[i] };
		if (i == F_HOST) {
			out[i].choices = v->host_names;
			out[i].choice = &v->host;
		} else if (i == F_BANDWIDTH) {
			out[i].text = v->bandwidth;
			out[i].len = sizeof v->bandwidth;
		} else {
			out[i].choices = boxes;
			out[i].choice = &v->flags[i];
		}
	}
	return F_COUNT;
}

static int
migv_key(void *arg, int key)
{
	struct migv *v = arg;
	struct formw_field fs[F_COUNT];
	bool enter = key == '\r' || key == K_FN(KEY_ENTER);

	if (key == '?' || key == K_FN(KEY_F(1)))
		return UI_IGNORED;
	switch (v->step) {
	case MV_FORM:
		if (key == K_FN(KEY_F(10)))
			return UI_IGNORED;
		if (key == K_ESC) {
			migv_close(v, "Cancelled");
			return UI_HANDLED | UI_REDRAW;
		}
		if (enter)
			return start(v, false);
		formw_key(fs, form(v, fs), &v->focus, key);
		return UI_HANDLED | UI_REDRAW;
	case MV_CHECKING:
	case MV_REFUSED:
		if (key == K_ESC || (v->step == MV_REFUSED && enter))
			back(v);
		return UI_HANDLED | UI_REDRAW;
	case MV_CONFIRM:
		if (enter || key == 'y' || key == 'Y')
			return start(v, true);
		if (key == K_ESC || key == 'n' || key == 'N')
			back(v);
		return UI_HANDLED | UI_REDRAW;
	case MV_RUNNING:
		if (key == K_ESC)
			return stop(v);
		if (key == 'q' || key == 'Q' || key == K_FN(KEY_F(10)))
			ui_status(v->ui, true, "VM '%s' is moving: Esc stops the migration; quit once "
			    "it has ended.", v->cfg.name);
		return UI_HANDLED | UI_REDRAW;
	}
	return UI_HANDLED;
}

/* ---- drawing ---------------------------------------------------------------- */

/* TEXT wrapped from *Y on, below BOTTOM never, indented by INDENT. */
static void
text(int *y, int bottom, int cols, int indent, enum theme_role role, const char *s)
{
	size_t off = 0, len, next;
	char buf[1200];

	attrset(theme_attr(role));
	while (s[off] != '\0' && *y < bottom) {
		len = wrap_line(s + off, cols - indent - 1, &next);
		snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf - 1 ? len : sizeof buf - 1),
		    s + off);
		ui_put((*y)++, indent, cols - indent, buf);
		off += next;
	}
	attrset(A_NORMAL);
}

/* The preflight's findings, one a line, from *Y on. */
static void
findings(struct migv *v, int *y, int bottom, int cols)
{
	bool u = ui_utf8(v->ui);
	char line[600];

	for (const char *s = v->report, *nl; (nl = strchr(s, '\n')) != NULL && *y < bottom;
	    s = nl + 1) {
		snprintf(line, sizeof line, "%s %.*s", u ? "\xe2\x9c\x93" : "+", (int)(nl - s), s);
		ui_put((*y)++, 3, cols - 4, line);
	}
}

/* "Label        value" at Y. */
static void
row(int y, int cols, const char *label, const char *value)
{
	char buf[700];

	snprintf(buf, sizeof buf, "%-14s %s", label, value);
	ui_put(y, 2, cols - 3, buf);
}

/* The move under way: a bar, then its figures. */
static void
draw_progress(struct migv *v, int y, int bottom, int cols)
{
	const struct hv_migrate_progress *p = &v->prog;
	bool u = ui_utf8(v->ui);
	int64_t all, did, rem;
	int pct = v->have_prog ? migrate_amounts(p, &all, &did, &rem) : 0;
	int w = cols - 12 < 200 ? cols - 12 : 200, fill = w * pct / 100;
	char buf[1200], a[32], b[32];

	buf[0] = '\0';
	for (int i = 0; i < w; i++)
		strcat(buf, i < fill ? (u ? "\xe2\x96\x88" : "#") : (u ? "\xe2\x96\x91" : "-"));
	snprintf(buf + strlen(buf), sizeof buf - strlen(buf), " %3d%%", pct);
	attrset(theme_attr(TH_RUNNING));
	ui_put(y++, 2, cols - 3, buf);
	attrset(A_NORMAL);
	y++;
	if (!v->have_prog) {
		snprintf(buf, sizeof buf, "%.1f s", (double)(log_now_ms() - v->started) / 1000);
		row(y++, cols, "Phase", "preflight, then the start of the move");
		row(y++, cols, "Elapsed", buf);
		return;
	}
	row(y++, cols, "Phase", p->phase != NULL ? p->phase : "?");
	snprintf(buf, sizeof buf, "%.1f s", (double)p->elapsed_ms / 1000);
	row(y++, cols, "Elapsed", buf);
	num_format_bytes(did, a, sizeof a);
	num_format_bytes(all, b, sizeof b);
	snprintf(buf, sizeof buf, "%s of %s (memory and disks)", a, b);
	row(y++, cols, "Processed", buf);
	num_format_bytes(rem, a, sizeof a);
	row(y++, cols, "Remaining", a);
	if (p->downtime_ms >= 0)
		snprintf(buf, sizeof buf, "~%lld ms expected", (long long)p->downtime_ms);
	else
		snprintf(buf, sizeof buf, "not known yet");
	row(y++, cols, "Downtime", buf);
	if (p->dirty_rate >= 0) {
		snprintf(buf, sizeof buf, "%lld pages/s", (long long)p->dirty_rate);
		row(y++, cols, "Dirty rate", buf);
	}
	if (p->postcopy && y < bottom)
		text(&y, bottom, cols, 2, TH_PAUSED, "Post-copy: the VM runs on the destination "
		    "already; the move cannot be stopped now.");
}

static void
migv_draw(void *arg, int top, int rows, int cols)
{
	struct migv *v = arg;
	struct formw_field fs[F_COUNT];
	int bottom = top + rows, y = top + 2;
	char buf[1200];

	erase();
	attrset(theme_attr(TH_HEADER));
	if (v->step == MV_RUNNING)
		snprintf(buf, sizeof buf, " Migrating VM %s from host %s to host %s%s", v->cfg.name,
		    v->cfg.host, v->to, v->stopping ? ": stopping..." : "");
	else
		snprintf(buf, sizeof buf, " Migrate VM %s from host %s (%s)", v->cfg.name,
		    v->cfg.host, v->cfg.state != NULL ? v->cfg.state : "?");
	ui_put(top, 0, cols, buf);
	attrset(A_NORMAL);
	if (v->step == MV_RUNNING) {
		char opts[200] = "";

		if (v->bw > 0)
			snprintf(opts, sizeof opts, "bandwidth %llu MiB/s", (unsigned long long)v->bw);
		for (int i = F_COPY; i <= F_KEEP; i++)
			if (v->flags[i])
				snprintf(opts + strlen(opts), sizeof opts - strlen(opts), "%s%s",
				    opts[0] != '\0' ? ", " : "", labels[i]);
		row(y++, cols, "Options", opts[0] != '\0' ? opts : "none");
		y++;
		draw_progress(v, y, bottom - 2, cols);
		snprintf(buf, sizeof buf, v->stopping ? "Stopping: VM '%s' stays on host %s." :
		    "Esc stops the migration: VM '%s' then runs on host %s as before.", v->cfg.name,
		    v->cfg.host);
		attrset(theme_attr(TH_DIM));
		ui_put(bottom - 1, 2, cols - 3, buf);
		attrset(A_NORMAL);
		return;
	}
	formw_draw(fs, form(v, fs), v->step == MV_FORM ? v->focus : -1, y, 1, 2, cols - 3,
	    MV_LABEL_COLS);
	y += F_COUNT + 1;
	switch (v->step) {
	case MV_FORM:
		text(&y, bottom, cols, 2, TH_DIM, "Enter runs the preflight (nothing moves yet); "
		    "Bandwidth empty: no limit.  Esc closes.");
		break;
	case MV_CHECKING:
		snprintf(buf, sizeof buf, "Checking: the preflight of VM %s to host %s...",
		    v->cfg.name, v->to);
		text(&y, bottom, cols, 1, TH_STATUS, buf);
		break;
	case MV_CONFIRM:
	case MV_REFUSED:
		snprintf(buf, sizeof buf, "Preflight of VM %s to host %s:", v->cfg.name, v->to);
		text(&y, bottom, cols, 1, TH_HOST, buf);
		findings(v, &y, bottom - 2, cols);
		if (v->step == MV_REFUSED) {
			text(&y, bottom - 1, cols, 3, TH_ERROR, v->error);
			y++;
			text(&y, bottom, cols, 1, TH_DIM, "Nothing moved.  Esc or Enter: back to "
			    "the choices.");
		} else {
			y++;
			text(&y, bottom, cols, 1, TH_HINT_KEY, "Enter or y: migrate now    Esc or "
			    "n: back to the choices");
		}
		break;
	case MV_RUNNING:
		break;
	}
}

/* ---- the view ---------------------------------------------------------------- */

static void
migv_free(void *arg)
{
	struct migv *v = arg;

	if (v->job != NULL)
		v->job->page = NULL;
	conns_drop(v->ui, &v->hsrc, &v->hdst);
	host_list_free(v->hosts, v->nhosts);
	free(v->host_names);
	vm_config_clear(&v->cfg);
	free(v);
}

/* Once a second: the elapsed time until the first round comes. */
static int
migv_tick(void *arg)
{
	struct migv *v = arg;

	return v->step == MV_RUNNING && !v->have_prog ? UI_REDRAW : UI_IGNORED;
}

static const struct view migrate_view = {
	.name = "migrate",
	.free = migv_free,
	.draw = migv_draw,
	.key = migv_key,
	.tick = migv_tick,
	.hints = migv_hints,
	.hints_ascii = migv_hints,
	.help = migv_help,
};

bool
migrate_view_moving(struct ui *ui, const char *host)
{
	for (struct migv *v = ui_view_next(ui, &migrate_view, NULL); v != NULL;
	    v = ui_view_next(ui, &migrate_view, v))
		if (v->step == MV_RUNNING && (strcmp(v->cfg.host, host) == 0 ||
		    strcmp(v->to, host) == 0))
			return true;
	return false;
}

int
migrate_view_open(struct ui *ui, const struct vm_config *c)
{
	struct host src, *all = NULL;
	struct migv *v;
	size_t n = 0;

	if (host_get(ui_db(ui), c->host, &src) != 0)
		return -1;
	if (src.kind != HOST_LIBVIRT) {
		err_set("VM '%s' is on host '%s', this machine's built-in backend: a live migration "
		    "moves VMs between libvirt hosts", c->name, c->host);
		host_clear(&src);
		return -1;
	}
	if (host_list(ui_db(ui), &all, &n) != 0) {
		host_clear(&src);
		return -1;
	}
	v = xcalloc(1, sizeof *v);
	v->ui = ui;
	vm_config_copy(&v->cfg, c);
	v->hosts = xcalloc(n + 1, sizeof *v->hosts);
	v->host_names = xcalloc(n + 1, sizeof *v->host_names);
	for (size_t i = 0; i < n; i++) {
		if (!migrate_live_ok(&src, &all[i]))
			continue;
		v->host_names[v->nhosts] = all[i].name;
		v->hosts[v->nhosts++] = all[i];
		memset(&all[i], 0, sizeof all[i]);
	}
	host_list_free(all, n);
	host_clear(&src);
	if (v->nhosts == 0) {
		err_set("there is no other libvirt host to move VM '%s' to; add one first (a)",
		    c->name);
		migv_free(v);
		return -1;
	}
	if (ui_view_add(ui, &migrate_view, v) != 0) {
		migv_free(v);
		return -1;
	}
	ui_view_show(ui, v);
	return 0;
}
