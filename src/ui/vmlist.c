/* The main view: hosts as groups with their VMs, and a details pane. */
#include "ui/vmlist_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/fleet.h"
#include "hv/hv.h"
#include "model/host.h"
#include "model/journal.h"
#include "model/tuning.h"
#include "model/vm.h"
#include "ops/stats.h"
#include "ui/graph.h"
#include "util/err.h"
#include "util/log.h"
#include "util/wrap.h"
#include "util/xalloc.h"

#define DETAILS_MIN_COLS 110
/* Columns besides the name: glyph, state, CPU, vCPUs, memory, uptime. */
#define LIST_FIXED_COLS 52
/* A sparkline column: its last points, one a cell (and a gap before). */
#define SPARK_W 12

static const char *const vmlist_hints[] = {
	"?", "Help", "Enter", "Menu", "s", "Start", "S", "Shutdown", "/", "Filter",
	"o", "Sort", "a", "Add host", "q", "Quit", NULL, NULL,
};

static const char *const vmlist_hints_ascii[] = {
	"?", "Help", "Enter", "Menu", "s", "Start", "S", "Shutdown", "/", "Filter",
	"o", "Sort", "a", "Add host", "q", "Quit", NULL, NULL,
};

bool
vmlist_is_collapsed(const struct vmlist *v, const char *host)
{
	for (size_t i = 0; i < v->ncollapsed; i++)
		if (strcmp(v->collapsed[i], host) == 0)
			return true;
	return false;
}

void
vmlist_toggle_collapsed(struct vmlist *v, const char *host)
{
	for (size_t i = 0; i < v->ncollapsed; i++) {
		if (strcmp(v->collapsed[i], host) == 0) {
			free(v->collapsed[i]);
			v->collapsed[i] = v->collapsed[--v->ncollapsed];
			return;
		}
	}
	v->collapsed = xreallocarray(v->collapsed, v->ncollapsed + 1, sizeof *v->collapsed);
	v->collapsed[v->ncollapsed++] = xstrdup(host);
}

/* Case-insensitive substring, for the filter. */
static bool
matches(const char *name, const char *filter)
{
	return filter[0] == '\0' || strcasestr(name, filter) != NULL;
}

static int
state_rank(const char *state)
{
	static const char *const order[] = { "crashed", "running", "starting", "paused",
		"shutting-down", "unknown", "off" };

	for (int i = 0; i < (int)(sizeof order / sizeof order[0]); i++)
		if (strcmp(order[i], state) == 0)
			return i;
	return (int)(sizeof order / sizeof order[0]);
}

/* qsort has no context argument: the view being sorted. */
static struct vmlist *sorting;

static int
cmp_vm(const void *a, const void *b)
{
	const struct vmlist *v = sorting;
	int i = *(const int *)a, j = *(const int *)b, d = 0;

	switch (v->sort) {
	case SORT_STATE:
		d = state_rank(v->vms[i].state) - state_rank(v->vms[j].state);
		break;
	case SORT_CPU:
		d = v->live[j].cpu_pct - v->live[i].cpu_pct;
		break;
	case SORT_MEMORY:
		d = (v->vms[j].memory_mib > v->vms[i].memory_mib) -
		    (v->vms[j].memory_mib < v->vms[i].memory_mib);
		break;
	default:
		break;
	}
	return d != 0 ? d : strcmp(v->vms[i].name, v->vms[j].name);
}

/* Lay the rows out: each host, then its VMs (filtered, sorted) unless
 * folded.  With a filter, hosts without a match are left out. */
static int
cmp_sample(const void *a, const void *b)
{
	return strcmp(((const struct cpu_sample *)a)->uuid, ((const struct cpu_sample *)b)->uuid);
}

/* Record a CPU-time sample of UUID; returns its CPU % (-1 until two). */
static int
cpu_sample(struct vmlist *v, const char *uuid, uint64_t ns)
{
	struct cpu_sample key, *s;
	long long now = log_now_ms();

	snprintf(key.uuid, sizeof key.uuid, "%s", uuid);
	/* bsearch's base must not be NULL, even for no elements (UBSan). */
	s = v->nsamples > 0 ? bsearch(&key, v->samples, v->nsamples, sizeof *s, cmp_sample) :
	    NULL;
	if (s == NULL) {
		v->samples = xreallocarray(v->samples, v->nsamples + 1, sizeof *v->samples);
		key.ns = ns;
		key.at = now;
		key.pct = -1;
		v->samples[v->nsamples++] = key;
		qsort(v->samples, v->nsamples, sizeof *v->samples, cmp_sample);
		return -1;
	}
	if (now - s->at >= 500 && ns >= s->ns) {
		s->pct = (int)((ns - s->ns) / 10000ULL / (unsigned long long)(now - s->at));
		s->ns = ns;
		s->at = now;
	}
	return s->pct;
}

void
vmlist_build_rows(struct vmlist *v)
{
	int *idx = xcalloc(v->nvms + 1, sizeof *idx);
	size_t j = 0;
	int n = 0;

	free(v->rows);
	v->rows = xreallocarray(NULL, v->nhosts + v->nvms + 1, sizeof *v->rows);
	free(v->host_nvms);
	v->host_nvms = xcalloc(v->nhosts + 1, sizeof *v->host_nvms);
	for (size_t h = 0; h < v->nhosts; h++) {
		bool folded = vmlist_is_collapsed(v, v->hosts[h].name);
		int nidx = 0;

		/* vm_list orders like host_list: local first, then by name. */
		for (; j < v->nvms && strcmp(v->vms[j].host, v->hosts[h].name) == 0; j++) {
			v->host_nvms[h]++;
			if (matches(v->vms[j].name, v->filter))
				idx[nidx++] = (int)j;
		}
		if (v->filter[0] != '\0' && nidx == 0 && !matches(v->hosts[h].name, v->filter))
			continue;
		sorting = v;
		qsort(idx, (size_t)nidx, sizeof *idx, cmp_vm);
		v->rows[n++] = (struct row){ (int)h, -1 };
		for (int k = 0; k < nidx && !folded; k++)
			v->rows[n++] = (struct row){ (int)h, idx[k] };
	}
	free(idx);
	listw_set_rows(&v->list, n);
}

const struct row *
vmlist_selected(struct vmlist *v)
{
	return v->list.nrows > 0 ? &v->rows[v->list.sel] : NULL;
}

const char *
vmlist_pending(const struct vmlist *v, const char *uuid)
{
	for (size_t i = 0; i < v->npending; i++)
		if (strcmp(v->pending[i].uuid, uuid) == 0)
			return v->pending[i].what;
	return NULL;
}

static void
close_backends(struct vmlist *v)
{
	for (size_t h = 0; v->hvs != NULL && h < v->nhosts; h++)
		hv_close(v->hvs[h]);
	free(v->hvs);
	v->hvs = NULL;
}

/* Built-in hosts are on this machine: their backends answer peeks at once. */
static void
open_backends(struct vmlist *v)
{
	v->hvs = xcalloc(v->nhosts + 1, sizeof *v->hvs);
	for (size_t h = 0; h < v->nhosts; h++)
		if (v->hosts[h].kind == HOST_BUILTIN)
			v->hvs[h] = hv_open(&v->hosts[h]);
}

/* Refresh the live state of every VM; true when anything changed. */
bool
vmlist_peek_all(struct vmlist *v)
{
	bool changed = false;
	size_t j = 0;

	for (size_t h = 0; h < v->nhosts; h++) {
		struct fleet_host *fh = fleet_get(ui_fleet(v->ui), v->hosts[h].name);

		for (; j < v->nvms && strcmp(v->vms[j].host, v->hosts[h].name) == 0; j++) {
			struct hv_status st;

			if (v->hvs[h] == NULL || fleet_vm_state(fh, v->hvs[h], v->vms[j].uuid,
			    v->vms[j].name, v->vms[j].state, &st) != 0)
				continue;
			if (st.state != v->live[j].st.state ||
			    strcmp(st.accel, v->live[j].st.accel) != 0 ||
			    strcmp(st.detail, v->live[j].st.detail) != 0) {
				free(v->vms[j].state);
				v->vms[j].state = xstrdup(hv_state_name(st.state));
				changed = true;
			}
			v->live[j].st = st;
			if (st.state == HV_RUNNING || st.state == HV_PAUSED) {
				int pct = cpu_sample(v, v->vms[j].uuid, st.cpu_time_ns);

				changed |= pct != v->live[j].cpu_pct;
				v->live[j].cpu_pct = pct;
			} else {
				v->live[j].cpu_pct = -1;
			}
		}
	}
	return changed;
}

static struct synced *
synced_get(struct vmlist *v, const char *host)
{
	for (size_t i = 0; i < v->nsynced; i++)
		if (strcmp(v->synced[i].host, host) == 0)
			return &v->synced[i];
	v->synced = xreallocarray(v->synced, v->nsynced + 1, sizeof *v->synced);
	v->synced[v->nsynced].host = xstrdup(host);
	v->synced[v->nsynced].generation = 0;
	v->synced[v->nsynced].writing = false;
	return &v->synced[v->nsynced++];
}

/* One libvirt host's domains as last seen (or why it did not answer), for
 * the inventory's cache: copies, as the fleet's list moves on. */
struct cache_write {
	struct vmlist *v;
	char *host;
	int64_t host_id;
	char *error;		/* NULL: the host answered with SEEN */
	struct vm_seen *seen;
	size_t n;
};

static int vmlist_fleet_changed(void *arg);

static int
cache_write(struct db *db, void *arg)
{
	struct cache_write *c = arg;

	if (c->error != NULL)
		return host_set_contact(db, c->host_id, c->error);
	if (vm_cache_sync(db, c->host_id, c->seen, c->n, NULL, NULL) != 0)
		return -1;
	return host_set_contact(db, c->host_id, NULL);
}

static void
cache_written(void *arg, int rc, const char *error)
{
	struct cache_write *c = arg;

	if (rc != 0)
		ui_status(c->v->ui, true, "%s", error);
	synced_get(c->v, c->host)->writing = false;
	/* What the fleet saw while this waited for the inventory's lock. */
	ui_intent(c->v->ui, vmlist_fleet_changed(c->v) | UI_RELOAD);
	free(c->host);
	for (size_t i = 0; i < c->n; i++) {
		free((char *)c->seen[i].uuid);
		free((char *)c->seen[i].name);
		free((char *)c->seen[i].state);
	}
	free(c->seen);
	free(c->error);
	free(c);
}

static void
cache_update(struct vmlist *v, size_t h, const struct fleet_host *fh)
{
	struct cache_write *c = xcalloc(1, sizeof *c);
	char what[300];

	c->v = v;
	c->host = xstrdup(v->hosts[h].name);
	c->host_id = v->hosts[h].id;
	if (fh->state == FLEET_UP) {
		c->seen = hv_domains_seen(fh->doms, fh->ndoms);
		c->n = fh->ndoms;
		for (size_t i = 0; i < c->n; i++) {
			c->seen[i].uuid = xstrdup(c->seen[i].uuid);
			c->seen[i].name = xstrdup(c->seen[i].name);
			c->seen[i].state = xstrdup(c->seen[i].state);
		}
	} else {
		c->error = xstrdup(fh->error);
	}
	snprintf(what, sizeof what, "the cached domain list of host '%s'", v->hosts[h].name);
	ui_write(v->ui, what, cache_write, cache_written, c);
}

/*
 * The fleet has news: mirror each libvirt host's list into the inventory
 * (the cache that makes the next start instant) and record contacts; the
 * list reloads from the inventory once that is written, like after any
 * other change.
 */
static int
vmlist_fleet_changed(void *arg)
{
	struct vmlist *v = arg;

	for (size_t h = 0; h < v->nhosts; h++) {
		struct fleet_host *fh = fleet_get(ui_fleet(v->ui), v->hosts[h].name);
		struct synced *sy;

		if (fh == NULL || v->hosts[h].kind != HOST_LIBVIRT)
			continue;
		sy = synced_get(v, fh->name);
		if (sy->generation == fh->generation || sy->writing ||
		    migrate_view_moving(v->ui, fh->name))
			continue;
		sy->generation = fh->generation;
		if (fh->state == FLEET_UP || fh->state == FLEET_UNREACHABLE) {
			sy->writing = true;
			cache_update(v, h, fh);
		}
	}
	/* Even without writes, host states changed (and built-in VMs' QMP
	 * states with them): redraw. */
	vmlist_peek_all(v);
	return UI_REDRAW;
}

/* Drop the details pane's VM; the next draw loads the selected one. */
static void
detail_forget(struct vmlist *v)
{
	if (v->detail_id > 0)
		vm_config_clear(&v->detail);
	journal_free(v->djournal, v->ndjournal);
	v->djournal = NULL;
	v->ndjournal = 0;
	v->detail_id = 0;
}

static void
vmlist_reload(void *arg)
{
	struct vmlist *v = arg;
	const struct row *r;
	char *sel_host = NULL;
	int64_t sel_vm = 0;

	/* Keep the selection on the same host or VM across the reload. */
	if (v->list.nrows > 0) {
		r = &v->rows[v->list.sel];
		sel_host = xstrdup(v->hosts[r->host].name);
		sel_vm = r->vm >= 0 ? v->vms[r->vm].id : 0;
	}
	close_backends(v);
	host_list_free(v->hosts, v->nhosts);
	vm_summary_free(v->vms, v->nvms);
	free(v->live);
	v->hosts = NULL;
	v->vms = NULL;
	v->nhosts = v->nvms = 0;
	if (host_list(ui_db(v->ui), &v->hosts, &v->nhosts) != 0 ||
	    vm_list(ui_db(v->ui), NULL, &v->vms, &v->nvms) != 0)
		ui_status(v->ui, true, "%s", err_get());
	v->live = xcalloc(v->nvms + 1, sizeof *v->live);
	for (size_t i = 0; i < v->nvms; i++) {
		v->live[i].st.state = HV_UNKNOWN;
		v->live[i].cpu_pct = -1;
	}
	fleet_set_hosts(ui_fleet(v->ui), v->hosts, v->nhosts);
	sampler_set_vms(ui_sampler(v->ui), v->hosts, v->nhosts, v->vms, v->nvms);
	open_backends(v);
	vmlist_peek_all(v);
	vmlist_build_rows(v);
	for (int i = 0; sel_host != NULL && i < v->list.nrows; i++) {
		r = &v->rows[i];
		if (strcmp(v->hosts[r->host].name, sel_host) == 0 &&
		    (sel_vm == 0 ? r->vm < 0 : r->vm >= 0 && v->vms[r->vm].id == sel_vm)) {
			listw_select(&v->list, i);
			break;
		}
	}
	free(sel_host);
	detail_forget(v);	/* reload details too */
}

static void *
vmlist_init(struct ui *ui)
{
	struct vmlist *v = xcalloc(1, sizeof *v);

	v->ui = ui;
	vmlist_reload(v);
	return v;
}

static void
vmlist_free(void *arg)
{
	struct vmlist *v = arg;

	close_backends(v);
	host_list_free(v->hosts, v->nhosts);
	vm_summary_free(v->vms, v->nvms);
	free(v->live);
	free(v->samples);
	free(v->pending);
	free(v->waits);
	for (size_t i = 0; i < v->ncollapsed; i++)
		free(v->collapsed[i]);
	free(v->collapsed);
	free(v->rows);
	free(v->host_nvms);
	for (size_t i = 0; i < v->nsynced; i++)
		free(v->synced[i].host);
	free(v->synced);
	detail_forget(v);
	free(v);
}

static const char *
state_glyph(const struct vmlist *v, const char *state)
{
	bool u = ui_utf8(v->ui);

	switch (theme_state_role(state)) {
	case TH_RUNNING:
		return u ? "\xe2\x96\xb6" : ">";	/* ▶ */
	case TH_PAUSED:
		return u ? "\xe2\x80\x96" : "=";	/* ‖ */
	case TH_CRASHED:
		return u ? "\xe2\x9c\x96" : "!";	/* ✖ */
	default:
		return u ? "\xe2\x96\xa0" : ".";	/* ■ */
	}
}

/* "3d 4h", "5h 12m", "7m" since STARTED (epoch seconds); "-" when 0. */
static void
format_uptime(long long started, char *buf, size_t len)
{
	long long s = started > 0 ? (long long)time(NULL) - started : -1;

	if (s < 0)
		snprintf(buf, len, "-");
	else if (s >= 86400)
		snprintf(buf, len, "%lldd %lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%lldh %lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%lldm %llds", s / 60, s % 60);
}

static void
format_mem(int64_t mib, char *buf, size_t len)
{
	if (mib >= 10240 && mib % 1024 == 0)
		snprintf(buf, len, "%lld GiB", (long long)(mib / 1024));
	else
		snprintf(buf, len, "%lld MiB", (long long)mib);
}

static bool
host_unreachable(struct vmlist *v, const struct host *h)
{
	struct fleet_host *fh = h->kind == HOST_LIBVIRT ? fleet_get(ui_fleet(v->ui), h->name) : NULL;

	return fh != NULL && fh->state == FLEET_UNREACHABLE;
}

/* FH's error without what the host's row already says (its name and URI):
 * "host 'x': cannot connect to 'uri': why" -> "cannot connect: why". */
static const char *
short_error(const struct fleet_host *fh, char *buf, size_t len)
{
	const char *why = fh->error;
	char pre[700];
	size_t n;

	snprintf(pre, sizeof pre, "host '%s': ", fh->name);
	if (strncmp(why, pre, strlen(pre)) == 0)
		why += strlen(pre);
	snprintf(pre, sizeof pre, "cannot connect to '%s': ", fh->uri);
	n = strlen(pre);
	if (strncmp(why, pre, n) == 0) {
		snprintf(buf, len, "cannot connect: %s", why + n);
		return buf;
	}
	return why;
}

/* "connecting", "unreachable: why", or "" when up; a spinner while busy. */
static const char *
host_conn_text(struct vmlist *v, const struct host *h)
{
	char why[600];
	static char buf[600];
	static const char spin[] = "|/-\\";
	struct fleet_host *fh = h->kind == HOST_LIBVIRT ? fleet_get(ui_fleet(v->ui), h->name) : NULL;

	if (fh == NULL)
		return "";
	if (fh->asking)
		snprintf(buf, sizeof buf, "logging in: waiting for your answer");
	else if (fh->state == FLEET_CONNECTING)
		snprintf(buf, sizeof buf, "connecting %c", spin[(log_now_ms() / 250) % 4]);
	else if (fh->state == FLEET_UNREACHABLE && fh->held)
		snprintf(buf, sizeof buf, "unreachable: %s (r tries again)",
		    short_error(fh, why, sizeof why));
	else if (fh->state == FLEET_UNREACHABLE)
		snprintf(buf, sizeof buf, "unreachable: %s", short_error(fh, why, sizeof why));
	else
		buf[0] = '\0';
	return buf;
}

/* VM row R's sparklines from column X: its CPU % and, in a second
 * column, its disk bytes read and written per second. */
static void
draw_sparks(struct vmlist *v, const struct row *r, bool sel, int y, int x)
{
	struct stats_point pts[SPARK_W];
	double cpu[SPARK_W], io[SPARK_W], cmax = 0, imax = 0;
	char buf[SPARK_W * 3 + 1];
	size_t n;

	if (v->nspark == 0)
		return;
	n = sampler_history(ui_sampler(v->ui), v->vms[r->vm].host, v->vms[r->vm].uuid,
	    (long long)(SPARK_W + 1) * sampler_interval_ms(ui_sampler(v->ui)), pts, SPARK_W);
	for (size_t i = 0; i < n; i++) {
		cpu[i] = pts[i].cpu_pct;
		io[i] = pts[i].rd_bps < 0 ? pts[i].wr_bps : pts[i].wr_bps < 0 ? pts[i].rd_bps :
		    (double)pts[i].rd_bps + pts[i].wr_bps;
		cmax = cpu[i] > cmax ? cpu[i] : cmax;
		imax = io[i] > imax ? io[i] : imax;
	}
	graph_spark(cpu, n, graph_axis_top(cmax, GRAPH_PCT), SPARK_W, ui_utf8(v->ui), buf,
	    sizeof buf);
	attrset(sel ? theme_attr(TH_SELECTED) : theme_attr(TH_RUNNING));
	ui_put(y, x, SPARK_W, buf);
	if (v->nspark < 2)
		return;
	graph_spark(io, n, graph_axis_top(imax, GRAPH_BPS), SPARK_W, ui_utf8(v->ui), buf,
	    sizeof buf);
	attrset(sel ? theme_attr(TH_SELECTED) : theme_attr(TH_HOST));
	ui_put(y, x + SPARK_W + 1, SPARK_W, buf);
}

static void
draw_row(struct vmlist *v, int i, int y, int width)
{
	const struct row *r = &v->rows[i];
	bool sel = i == v->list.sel;
	char buf[512], mem[32];
	int namew = width - LIST_FIXED_COLS - v->nspark * (SPARK_W + 1);

	if (namew < 12)
		namew = 12;
	if (r->vm < 0) {
		const struct host *h = &v->hosts[r->host];
		bool folded = vmlist_is_collapsed(v, h->name);
		const char *arrow = ui_utf8(v->ui) ? (folded ? "\xe2\x96\xb8" : "\xe2\x96\xbe") :
		    (folded ? "+" : "-");

		const char *conn = host_conn_text(v, h);

		/* The state before the URI: a long URI must not push it off screen. */
		snprintf(buf, sizeof buf, "%s %s  (%s, %zu VM%s)  %s%s%s", arrow, h->name,
		    host_kind_name(h->kind), v->host_nvms[r->host],
		    v->host_nvms[r->host] == 1 ? "" : "s", conn, conn[0] != '\0' ? "  " : "",
		    h->uri);
		attrset(sel ? theme_attr(TH_SELECTED) : theme_attr(host_unreachable(v, h) ?
		    TH_CRASHED : TH_HOST));
		ui_put(y, 0, width, buf);
		attrset(A_NORMAL);
		return;
	}
	const struct vm_summary *s = &v->vms[r->vm];
	const struct vm_live *lv = &v->live[r->vm];
	const char *busy = vmlist_pending(v, s->uuid);
	bool stale = host_unreachable(v, &v->hosts[r->host]);
	char state[32], cpu[16], up[32];

	if (busy != NULL)
		snprintf(state, sizeof state, "%s %c", busy, "|/-\\"[(log_now_ms() / 250) % 4]);
	else
		snprintf(state, sizeof state, "%s%s%s", s->state, stale ? "?" : "",
		    s->pending && !vm_state_stopped(s->state) ? "*" : "");
	if (lv->cpu_pct >= 0)
		snprintf(cpu, sizeof cpu, "%d%%", lv->cpu_pct);
	else
		snprintf(cpu, sizeof cpu, "-");
	format_uptime(lv->st.pid > 0 ? lv->st.started : 0, up, sizeof up);
	attrset(sel ? theme_attr(TH_SELECTED) : theme_attr(stale ? TH_DIM :
	    theme_state_role(s->state)));
	/* Every cell of the row is written: another view's text may be under it. */
	ui_put(y, 0, 4, "");
	mvaddstr(y, 2, state_glyph(v, s->state));
	attrset(sel ? theme_attr(TH_SELECTED) : A_NORMAL);
	ui_put(y, 4, namew, s->name);
	format_mem(s->memory_mib, mem, sizeof mem);
	snprintf(buf, sizeof buf, " %-13s", state);
	attrset(sel ? theme_attr(TH_SELECTED) : theme_attr(stale ? TH_DIM :
	    theme_state_role(s->state)));
	ui_put(y, 4 + namew, 14, buf);
	attrset(sel ? theme_attr(TH_SELECTED) : A_NORMAL);
	snprintf(buf, sizeof buf, "%5s %5d %10s %9s", cpu, s->cpus, mem, up);
	ui_put(y, 18 + namew, width - 18 - namew, buf);
	draw_sparks(v, r, sel, y, 18 + namew + 34);
	attrset(A_NORMAL);
}

/* "Label     value" in the details pane, the value wrapped under itself
 * between words. */
static void
detail_line(int *y, int bottom, int x, int w, const char *label, const char *val)
{
	char buf[1200];
	size_t off = 0, len, next;
	bool first = true;

	if (val == NULL || w <= 12)
		return;
	do {
		if (*y >= bottom)
			return;
		len = wrap_line(val + off, w - 10, &next);
		snprintf(buf, sizeof buf, "%-9s %.*s", first ? label : "",
		    (int)(len < sizeof buf - 11 ? len : sizeof buf - 11), val + off);
		ui_put((*y)++, x, w, buf);
		off += next;
		first = false;
	} while (val[off] != '\0');
}

/* The details of host row R. */
static void
draw_host_details(struct vmlist *v, const struct row *r, int *y, int bottom, int x, int w)
{
	const struct host *h = &v->hosts[r->host];
	char buf[256];

	attrset(theme_attr(TH_HOST));
	detail_line(y, bottom, x, w, "Host", h->name);
	attrset(A_NORMAL);
	detail_line(y, bottom, x, w, "URI", h->uri);
	detail_line(y, bottom, x, w, "Backend", h->kind == HOST_BUILTIN ?
	    "built-in QEMU" : "libvirt");
	snprintf(buf, sizeof buf, "%zu", v->host_nvms[r->host]);
	detail_line(y, bottom, x, w, "VMs", buf);
	if (h->kind == HOST_LIBVIRT) {
		struct fleet_host *fh = fleet_get(ui_fleet(v->ui), h->name);
		char why[600];

		if (fh != NULL) {
			detail_line(y, bottom, x, w, "Link", fleet_state_name(fh->state));
			if (fh->state == FLEET_UNREACHABLE) {
				attrset(theme_attr(TH_CRASHED));
				detail_line(y, bottom, x, w, "Reason",
				    short_error(fh, why, sizeof why));
				attrset(A_NORMAL);
			}
		}
	}
}

/* Load the selected VM's configuration and last journal entries, once per
 * selection; -1 (the error drawn) when it cannot be read. */
static int
detail_load(struct vmlist *v, const struct row *r, int y, int x, int w)
{
	if (v->detail_id != v->vms[r->vm].id) {
		detail_forget(v);
		if (vm_load(ui_db(v->ui), v->vms[r->vm].id, &v->detail) != 0) {
			ui_put(y, x, w, err_get());
			return -1;
		}
		v->detail_id = v->vms[r->vm].id;
		/* A journal that cannot be read only leaves its lines out. */
		if (journal_list(ui_db(v->ui), v->detail.host, v->detail.name, 5,
		    &v->djournal, &v->ndjournal) != 0) {
			v->djournal = NULL;
			v->ndjournal = 0;
		}
	}
	return 0;
}

/* State, accelerator and crash log of VM row R. */
static void
draw_vm_state(struct vmlist *v, const struct row *r, int *y, int bottom, int x, int w)
{
	const struct hv_status *st = &v->live[r->vm].st;

	attrset(theme_attr(theme_state_role(v->vms[r->vm].state)));
	detail_line(y, bottom, x, w, "State", v->vms[r->vm].state);
	attrset(A_NORMAL);
	if (st->pid > 0 && strcmp(st->accel, "tcg") == 0) {
		attrset(theme_attr(TH_PAUSED));
		detail_line(y, bottom, x, w, "Accel", "TCG (software; KVM unusable)");
		attrset(A_NORMAL);
	} else if (st->pid > 0 && st->accel[0] != '\0') {
		detail_line(y, bottom, x, w, "Accel", st->accel);
	}
	if (st->state == HV_CRASHED) {
		attrset(theme_attr(TH_CRASHED));
		detail_line(y, bottom, x, w, "Crash", st->detail);
		attrset(A_NORMAL);
	}
}

/* The configuration of the loaded VM C (row R). */
static void
draw_vm_config(struct vmlist *v, const struct row *r, const struct vm_config *c, int *y,
    int bottom, int x, int w)
{
	char buf[256];

	if (c->pending != NULL && !vm_state_stopped(v->vms[r->vm].state)) {
		snprintf(buf, sizeof buf, "%s (takes effect at the next start)", c->pending);
		attrset(theme_attr(TH_PAUSED));
		detail_line(y, bottom, x, w, "Pending", buf);
		attrset(A_NORMAL);
	}
	detail_line(y, bottom, x, w, "UUID", c->uuid);
	snprintf(buf, sizeof buf, "%d (%dx%dx%d)", vm_config_cpus(c), c->sockets, c->cores,
	    c->threads);
	detail_line(y, bottom, x, w, "vCPUs", buf);
	/* What it has now (a libvirt host's word) and its maximum. */
	format_mem(v->vms[r->vm].memory_mib, buf, sizeof buf);
	if (c->memory_mib > v->vms[r->vm].memory_mib) {
		char max[32];

		format_mem(c->memory_mib, max, sizeof max);
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), " (max %s)", max);
	}
	detail_line(y, bottom, x, w, "Memory", buf);
	if (v->hosts[r->host].kind == HOST_LIBVIRT)
		detail_line(y, bottom, x, w, "Domain", !v->vms[r->vm].persistent ?
		    "transient (gone when it stops)" : v->vms[r->vm].autostart ?
		    "persistent, autostart" : "persistent, no autostart");
	snprintf(buf, sizeof buf, "%s, %s, accel %s", c->machine, c->firmware, c->accel);
	detail_line(y, bottom, x, w, "Machine", buf);
	detail_line(y, bottom, x, w, "Kernel", c->kernel);
	detail_line(y, bottom, x, w, "Cmdline", c->cmdline);
	detail_line(y, bottom, x, w, "Graphics", c->graphics);
	for (size_t i = 0; i < c->ndisks; i++) {
		snprintf(buf, sizeof buf, "%s (%s, %s%s)", c->disks[i].path, c->disks[i].format,
		    c->disks[i].bus, c->disks[i].cdrom ? ", cdrom" : "");
		detail_line(y, bottom, x, w, i == 0 ? "Disks" : "", buf);
	}
	for (size_t i = 0; i < c->nnics; i++) {
		snprintf(buf, sizeof buf, "%s, %s%s%s", c->nics[i].kind, c->nics[i].model,
		    c->nics[i].mac != NULL ? ", " : "", c->nics[i].mac != NULL ? c->nics[i].mac : "");
		detail_line(y, bottom, x, w, i == 0 ? "NICs" : "", buf);
	}
	snprintf(buf, sizeof buf, "serial%s", strcmp(c->graphics, "vnc") == 0 ? ", VNC" : "");
	detail_line(y, bottom, x, w, "Consoles", buf);
	buf[0] = '\0';
	if (c->tuning.vcpu_pins != NULL)
		snprintf(buf, sizeof buf, "pins %s", c->tuning.vcpu_pins);
	if (c->tuning.emulator_pin != NULL)
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%semulator %s",
		    buf[0] != '\0' ? ", " : "", c->tuning.emulator_pin);
	if (c->tuning.hugepage_kib > 0) {
		char ps[16];

		tuning_format_pagesize(c->tuning.hugepage_kib, ps, sizeof ps);
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%shugepages %s",
		    buf[0] != '\0' ? ", " : "", ps);
	}
	if (c->tuning.balloon_mib > 0) {
		char mem[32];

		format_mem(c->tuning.balloon_mib, mem, sizeof mem);
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%sballoon %s",
		    buf[0] != '\0' ? ", " : "", mem);
	}
	if (buf[0] != '\0')
		detail_line(y, bottom, x, w, "Tuning", buf);
	detail_line(y, bottom, x, w, "Notes", c->notes);
}

/* The loaded VM's last journal entries, newest last. */
static void
draw_vm_journal(struct vmlist *v, int *y, int bottom, int x, int w)
{
	for (size_t i = 0; i < v->ndjournal; i++) {
		const struct journal_entry *e = &v->djournal[i];
		time_t t = (time_t)(e->time / 1000);
		struct tm tm;
		char when[16], line[1200];

		localtime_r(&t, &tm);
		strftime(when, sizeof when, "%m-%d %H:%M", &tm);
		snprintf(line, sizeof line, "%s %s %s%s%s", when, e->action, e->ok ? "ok" : "FAILED",
		    e->message != NULL && e->message[0] != '\0' ? ": " : "",
		    e->message != NULL ? e->message : "");
		if (!e->ok)
			attrset(theme_attr(TH_CRASHED));
		detail_line(y, bottom, x, w, i == 0 ? "Journal" : "", line);
		attrset(A_NORMAL);
	}
}

/* The details pane for the selected row, in rows [top, bottom). */
static void
draw_details(struct vmlist *v, int top, int bottom, int x, int w)
{
	const struct row *r;
	int y = top;

	for (int i = top; i < bottom; i++)
		ui_put(i, x, w, "");
	if (v->list.nrows == 0)
		return;
	r = &v->rows[v->list.sel];
	if (r->vm < 0) {
		draw_host_details(v, r, &y, bottom, x, w);
		return;
	}
	if (detail_load(v, r, y, x, w) != 0)
		return;
	attrset(theme_attr(TH_HOST));
	detail_line(&y, bottom, x, w, "VM", v->detail.name);
	attrset(A_NORMAL);
	detail_line(&y, bottom, x, w, "Host", v->detail.host);
	draw_vm_state(v, r, &y, bottom, x, w);
	draw_vm_config(v, r, &v->detail, &y, bottom, x, w);
	draw_vm_journal(v, &y, bottom, x, w);
}

/* The sparkline columns a list LISTW wide has room for, once any VM of
 * the HEIGHT rows on screen has points (two samples); the hosts of those
 * VMs are sampled meanwhile. */
static int
spark_cols(struct vmlist *v, int listw, int height)
{
	int n = graph_spark_cols(listw, LIST_FIXED_COLS, SPARK_W, 12);
	bool points = false;
	struct stats_point p;

	for (int i = 0; n > 0 && i < height && v->list.top + i < v->list.nrows; i++) {
		const struct row *r = &v->rows[v->list.top + i];

		if (r->vm < 0)
			continue;
		sampler_want(ui_sampler(v->ui), v->vms[r->vm].host);
		points = points || sampler_history(ui_sampler(v->ui), v->vms[r->vm].host,
		    v->vms[r->vm].uuid, 0, &p, 1) > 0;
	}
	return points ? n : 0;
}

static void
vmlist_draw(void *arg, int top, int rows, int cols)
{
	struct vmlist *v = arg;
	int listw = cols, detx = 0, namew;
	char buf[256];

	if (cols >= DETAILS_MIN_COLS) {
		listw = cols * 3 / 5;
		detx = listw + 2;
	}
	listw_set_height(&v->list, rows - 2);
	v->nspark = spark_cols(v, listw, rows - 2);
	namew = listw - LIST_FIXED_COLS - v->nspark * (SPARK_W + 1);
	if (namew < 12)
		namew = 12;

	{
		static const char *const sorts[] = { "name", "state", "CPU", "memory" };
		char filt[160] = "";

		if (v->filtering || v->filter[0] != '\0')
			snprintf(filt, sizeof filt, "   filter: %s%s", v->filter,
			    v->filtering ? "_" : "");
		snprintf(buf, sizeof buf, " vmtty %s   %zu host%s, %zu VM%s   sort: %s%s",
		    VMTTY_VERSION, v->nhosts, v->nhosts == 1 ? "" : "s", v->nvms,
		    v->nvms == 1 ? "" : "s", sorts[v->sort], filt);
	}
	attrset(theme_attr(TH_HEADER));
	ui_put(top, 0, cols, buf);
	snprintf(buf, sizeof buf, "    %-*s %-13s %5s %5s %10s %9s %-*s %-*s", namew, "NAME", "STATE",
	    "CPU", "VCPUS", "MEMORY", "UPTIME", SPARK_W, v->nspark > 0 ? "CPU HISTORY" : "",
	    SPARK_W, v->nspark > 1 ? "DISK I/O" : "");
	ui_put(top + 1, 0, listw, buf);
	attrset(A_NORMAL);

	for (int i = 0; i < rows - 2; i++) {
		int ri = v->list.top + i;

		if (ri < v->list.nrows)
			draw_row(v, ri, top + 2 + i, listw);
		else
			ui_put(top + 2 + i, 0, listw, "");
	}
	if (detx > 0) {
		attrset(theme_attr(TH_HEADER));
		ui_put(top + 1, listw, cols - listw, "  DETAILS");
		attrset(theme_attr(TH_BORDER));
		for (int y = top + 2; y < top + rows; y++)
			ui_put(y, listw, 1, ui_utf8(v->ui) ? "\xe2\x94\x82" : "|");	/* │ */
		attrset(A_NORMAL);
		/* The gap between border and details, so nothing stale stays. */
		for (int y = top + 2; y < top + rows; y++)
			ui_put(y, listw + 1, 1, "");
		draw_details(v, top + 2, top + rows, detx, cols - detx);
	}
}

static int
vmlist_tick(void *arg)
{
	struct vmlist *v = arg;
	bool redraw = vmlist_peek_all(v);
	int intent = vmlist_check_shutdowns(v);

	/* Keep the spinner of a host that is still connecting moving. */
	for (size_t h = 0; h < v->nhosts && !redraw; h++) {
		struct fleet_host *fh = fleet_get(ui_fleet(v->ui), v->hosts[h].name);

		redraw = fh != NULL && fh->kind == HOST_LIBVIRT && fh->state == FLEET_CONNECTING;
	}
	return intent | (redraw ? UI_REDRAW : UI_IGNORED);
}

const struct view vmlist_view = {
	.name = "vmlist",
	.init = vmlist_init,
	.free = vmlist_free,
	.reload = vmlist_reload,
	.draw = vmlist_draw,
	.key = vmlist_key,
	.tick = vmlist_tick,
	.fleet_changed = vmlist_fleet_changed,
	.hints = vmlist_hints,
	.hints_ascii = vmlist_hints_ascii,
	.help = vmlist_help,
};
