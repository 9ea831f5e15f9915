/* The main view: hosts as groups with their VMs, and a details pane. */
#include "ui/ui_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/fleet.h"
#include "hv/hv.h"
#include "model/host.h"
#include "model/journal.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

#define DETAILS_MIN_COLS 110

struct row {
	int host;		/* index into hosts */
	int vm;			/* index into vms, -1 for the host's own row */
};

struct vmlist {
	struct ui *ui;
	struct host *hosts;
	struct hv **hvs;	/* per host: its backend when it can be peeked */
	size_t nhosts;
	struct vm_summary *vms;
	struct hv_status *live;	/* per VM: what its backend says, if anything */
	size_t nvms;
	size_t *host_nvms;	/* VMs per host */
	char **collapsed;	/* names of folded hosts, kept across reloads */
	size_t ncollapsed;
	struct row *rows;
	struct listw list;
	struct vm_config detail;
	int64_t detail_id;	/* 0: none loaded */
	/* Per host name: the fleet generation last written to the inventory. */
	struct synced {
		char *host;
		uint64_t generation;
	} *synced;
	size_t nsynced;
};

static const char *const vmlist_hints[] = {
	"q", "Quit", "\xe2\x86\x91\xe2\x86\x93", "Move", "Space", "Fold",
	"r", "Refresh", NULL, NULL,
};

static const char *const vmlist_hints_ascii[] = {
	"q", "Quit", "j/k", "Move", "Space", "Fold", "r", "Refresh", NULL, NULL,
};

static bool
is_collapsed(const struct vmlist *v, const char *host)
{
	for (size_t i = 0; i < v->ncollapsed; i++)
		if (strcmp(v->collapsed[i], host) == 0)
			return true;
	return false;
}

static void
toggle_collapsed(struct vmlist *v, const char *host)
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

/* Lay the rows out: each host, then its VMs unless folded. */
static void
build_rows(struct vmlist *v)
{
	size_t j = 0;
	int n = 0;

	free(v->rows);
	v->rows = xreallocarray(NULL, v->nhosts + v->nvms + 1, sizeof *v->rows);
	free(v->host_nvms);
	v->host_nvms = xcalloc(v->nhosts + 1, sizeof *v->host_nvms);
	for (size_t h = 0; h < v->nhosts; h++) {
		bool folded = is_collapsed(v, v->hosts[h].name);

		v->rows[n++] = (struct row){ (int)h, -1 };
		/* vm_list orders like host_list: local first, then by name. */
		for (; j < v->nvms && strcmp(v->vms[j].host, v->hosts[h].name) == 0; j++) {
			v->host_nvms[h]++;
			if (!folded)
				v->rows[n++] = (struct row){ (int)h, (int)j };
		}
	}
	listw_set_rows(&v->list, n);
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
static bool
peek_all(struct vmlist *v)
{
	bool changed = false;
	size_t j = 0;

	for (size_t h = 0; h < v->nhosts; h++) {
		for (; j < v->nvms && strcmp(v->vms[j].host, v->hosts[h].name) == 0; j++) {
			struct vm_config c = { 0 };
			struct hv_status st;

			if (v->hvs[h] == NULL)
				continue;
			memcpy(c.uuid, v->vms[j].uuid, sizeof c.uuid);
			c.name = v->vms[j].name;
			if (hv_peek(v->hvs[h], &c, &st) != 0)
				continue;
			/* A peek cannot see a pause; the last recorded state can. */
			if (st.state == HV_RUNNING && strcmp(v->vms[j].state, "paused") == 0)
				st.state = HV_PAUSED;
			if (st.state != v->live[j].state || strcmp(st.accel, v->live[j].accel) != 0 ||
			    strcmp(st.detail, v->live[j].detail) != 0) {
				free(v->vms[j].state);
				v->vms[j].state = xstrdup(hv_state_name(st.state));
				v->live[j] = st;
				changed = true;
			}
		}
	}
	return changed;
}

static uint64_t *
synced_gen(struct vmlist *v, const char *host)
{
	for (size_t i = 0; i < v->nsynced; i++)
		if (strcmp(v->synced[i].host, host) == 0)
			return &v->synced[i].generation;
	v->synced = xreallocarray(v->synced, v->nsynced + 1, sizeof *v->synced);
	v->synced[v->nsynced].host = xstrdup(host);
	v->synced[v->nsynced].generation = 0;
	return &v->synced[v->nsynced++].generation;
}

/*
 * The fleet has news: mirror each libvirt host's list into the inventory
 * (the cache that makes the next start instant) and record contacts, then
 * reload from the inventory like any other change.
 */
static int
vmlist_fleet_changed(void *arg)
{
	struct vmlist *v = arg;
	bool wrote = false;

	for (size_t h = 0; h < v->nhosts; h++) {
		struct fleet_host *fh = fleet_get(ui_fleet(v->ui), v->hosts[h].name);
		uint64_t *gen;

		if (fh == NULL || v->hosts[h].kind != HOST_LIBVIRT)
			continue;
		gen = synced_gen(v, fh->name);
		if (*gen == fh->generation)
			continue;
		*gen = fh->generation;
		if (fh->state == FLEET_UP) {
			struct vm_seen *seen = xcalloc(fh->ndoms + 1, sizeof *seen);

			for (size_t i = 0; i < fh->ndoms; i++) {
				seen[i].uuid = fh->doms[i].uuid;
				seen[i].name = fh->doms[i].name;
				seen[i].state = hv_state_name(fh->doms[i].state);
				seen[i].vcpus = fh->doms[i].vcpus;
				seen[i].memory_mib = fh->doms[i].memory_mib;
			}
			if (vm_cache_sync(ui_db(v->ui), v->hosts[h].id, seen, fh->ndoms, NULL, NULL) != 0)
				ui_status(v->ui, true, "%s", err_get());
			host_set_contact(ui_db(v->ui), v->hosts[h].id, NULL);
			free(seen);
		} else if (fh->state == FLEET_UNREACHABLE) {
			host_set_contact(ui_db(v->ui), v->hosts[h].id, fh->error);
		}
		wrote = true;
	}
	/* Even without writes, host states changed: redraw. */
	return wrote ? UI_RELOAD : UI_REDRAW;
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
	for (size_t i = 0; i < v->nvms; i++)
		v->live[i].state = HV_UNKNOWN;
	fleet_set_hosts(ui_fleet(v->ui), v->hosts, v->nhosts);
	open_backends(v);
	peek_all(v);
	build_rows(v);
	for (int i = 0; sel_host != NULL && i < v->list.nrows; i++) {
		r = &v->rows[i];
		if (strcmp(v->hosts[r->host].name, sel_host) == 0 &&
		    (sel_vm == 0 ? r->vm < 0 : r->vm >= 0 && v->vms[r->vm].id == sel_vm)) {
			listw_select(&v->list, i);
			break;
		}
	}
	free(sel_host);
	v->detail_id = -1;	/* reload details too */
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
	for (size_t i = 0; i < v->ncollapsed; i++)
		free(v->collapsed[i]);
	free(v->collapsed);
	free(v->rows);
	free(v->host_nvms);
	for (size_t i = 0; i < v->nsynced; i++)
		free(v->synced[i].host);
	free(v->synced);
	if (v->detail_id > 0)
		vm_config_clear(&v->detail);
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

/* "connecting", "unreachable: why", or "" when up; a spinner while busy. */
static const char *
host_conn_text(struct vmlist *v, const struct host *h)
{
	static char buf[600];
	static const char spin[] = "|/-\\";
	struct fleet_host *fh = h->kind == HOST_LIBVIRT ? fleet_get(ui_fleet(v->ui), h->name) : NULL;

	if (fh == NULL)
		return "";
	if (fh->state == FLEET_CONNECTING)
		snprintf(buf, sizeof buf, "connecting %c", spin[(log_now_ms() / 250) % 4]);
	else if (fh->state == FLEET_UNREACHABLE)
		snprintf(buf, sizeof buf, "unreachable: %s", fh->error);
	else
		buf[0] = '\0';
	return buf;
}

static void
draw_row(struct vmlist *v, int i, int y, int width)
{
	const struct row *r = &v->rows[i];
	bool sel = i == v->list.sel;
	char buf[512], mem[32];
	int namew = width - 34;

	if (namew < 12)
		namew = 12;
	if (r->vm < 0) {
		const struct host *h = &v->hosts[r->host];
		bool folded = is_collapsed(v, h->name);
		const char *arrow = ui_utf8(v->ui) ? (folded ? "\xe2\x96\xb8" : "\xe2\x96\xbe") :
		    (folded ? "+" : "-");

		const char *conn = host_conn_text(v, h);

		snprintf(buf, sizeof buf, "%s %s  (%s, %zu VM%s)  %s%s%s", arrow, h->name,
		    host_kind_name(h->kind), v->host_nvms[r->host],
		    v->host_nvms[r->host] == 1 ? "" : "s", h->uri, conn[0] != '\0' ? "  " : "",
		    conn);
		attrset(sel ? theme_attr(TH_SELECTED) : theme_attr(host_unreachable(v, h) ?
		    TH_CRASHED : TH_HOST));
		ui_put(y, 0, width, buf);
		attrset(A_NORMAL);
		return;
	}
	const struct vm_summary *s = &v->vms[r->vm];

	attrset(sel ? theme_attr(TH_SELECTED) : theme_attr(theme_state_role(s->state)));
	ui_put(y, 0, 3, "");
	mvaddstr(y, 2, state_glyph(v, s->state));
	attrset(sel ? theme_attr(TH_SELECTED) : A_NORMAL);
	ui_put(y, 4, namew, s->name);
	format_mem(s->memory_mib, mem, sizeof mem);
	snprintf(buf, sizeof buf, " %-10s %5d %10s", s->state, s->cpus, mem);
	attrset(sel ? theme_attr(TH_SELECTED) : theme_attr(theme_state_role(s->state)));
	ui_put(y, 4 + namew, 11, buf);
	attrset(sel ? theme_attr(TH_SELECTED) : A_NORMAL);
	ui_put(y, 15 + namew, width - 15 - namew, buf + 11);
	attrset(A_NORMAL);
}

/* "Label     value" in the details pane, the value wrapped under itself
 * (by bytes: good enough for the ASCII of paths and logs). */
static void
detail_line(int *y, int bottom, int x, int w, const char *label, const char *val)
{
	char buf[256];
	size_t len, chunk, off = 0;

	if (val == NULL || w <= 12)
		return;
	len = strlen(val);
	chunk = (size_t)w - 10;
	do {
		size_t n = len - off < chunk ? len - off : chunk;

		if (*y >= bottom)
			return;
		snprintf(buf, sizeof buf, "%-9s %.*s", off == 0 ? label : "",
		    (int)(n < sizeof buf - 11 ? n : sizeof buf - 11), val + off);
		ui_put((*y)++, x, w, buf);
		off += n;
	} while (off < len);
}

/* The details pane for the selected row, in rows [top, bottom). */
static void
draw_details(struct vmlist *v, int top, int bottom, int x, int w)
{
	const struct row *r;
	char buf[256];
	int y = top;

	for (int i = top; i < bottom; i++)
		ui_put(i, x, w, "");
	if (v->list.nrows == 0)
		return;
	r = &v->rows[v->list.sel];
	if (r->vm < 0) {
		const struct host *h = &v->hosts[r->host];

		attrset(theme_attr(TH_HOST));
		detail_line(&y, bottom, x, w, "Host", h->name);
		attrset(A_NORMAL);
		detail_line(&y, bottom, x, w, "URI", h->uri);
		detail_line(&y, bottom, x, w, "Backend", h->kind == HOST_BUILTIN ?
		    "built-in QEMU" : "libvirt");
		snprintf(buf, sizeof buf, "%zu", v->host_nvms[r->host]);
		detail_line(&y, bottom, x, w, "VMs", buf);
		if (h->kind == HOST_LIBVIRT) {
			struct fleet_host *fh = fleet_get(ui_fleet(v->ui), h->name);

			if (fh != NULL) {
				detail_line(&y, bottom, x, w, "Link", fleet_state_name(fh->state));
				if (fh->state == FLEET_UNREACHABLE) {
					attrset(theme_attr(TH_CRASHED));
					detail_line(&y, bottom, x, w, "Reason", fh->error);
					attrset(A_NORMAL);
				}
			}
		}
		return;
	}
	if (v->detail_id != v->vms[r->vm].id) {
		if (v->detail_id > 0)
			vm_config_clear(&v->detail);
		v->detail_id = 0;
		if (vm_load(ui_db(v->ui), v->vms[r->vm].id, &v->detail) != 0) {
			ui_put(y, x, w, err_get());
			return;
		}
		v->detail_id = v->vms[r->vm].id;
	}
	const struct vm_config *c = &v->detail;

	attrset(theme_attr(TH_HOST));
	detail_line(&y, bottom, x, w, "VM", c->name);
	attrset(A_NORMAL);
	detail_line(&y, bottom, x, w, "Host", c->host);
	{
		const struct hv_status *st = &v->live[r->vm];

		attrset(theme_attr(theme_state_role(v->vms[r->vm].state)));
		detail_line(&y, bottom, x, w, "State", v->vms[r->vm].state);
		attrset(A_NORMAL);
		if (st->pid > 0 && strcmp(st->accel, "tcg") == 0) {
			attrset(theme_attr(TH_PAUSED));
			detail_line(&y, bottom, x, w, "Accel", "TCG (software; KVM unusable)");
			attrset(A_NORMAL);
		} else if (st->pid > 0 && st->accel[0] != '\0') {
			detail_line(&y, bottom, x, w, "Accel", st->accel);
		}
		if (st->state == HV_CRASHED) {
			attrset(theme_attr(TH_CRASHED));
			detail_line(&y, bottom, x, w, "Crash", st->detail);
			attrset(A_NORMAL);
		}
	}
	detail_line(&y, bottom, x, w, "UUID", c->uuid);
	snprintf(buf, sizeof buf, "%d (%dx%dx%d)", vm_config_cpus(c), c->sockets, c->cores,
	    c->threads);
	detail_line(&y, bottom, x, w, "vCPUs", buf);
	format_mem(c->memory_mib, buf, sizeof buf);
	detail_line(&y, bottom, x, w, "Memory", buf);
	snprintf(buf, sizeof buf, "%s, %s, accel %s", c->machine, c->firmware, c->accel);
	detail_line(&y, bottom, x, w, "Machine", buf);
	detail_line(&y, bottom, x, w, "Kernel", c->kernel);
	detail_line(&y, bottom, x, w, "Cmdline", c->cmdline);
	detail_line(&y, bottom, x, w, "Graphics", c->graphics);
	for (size_t i = 0; i < c->ndisks; i++) {
		snprintf(buf, sizeof buf, "%s (%s, %s%s)", c->disks[i].path, c->disks[i].format,
		    c->disks[i].bus, c->disks[i].cdrom ? ", cdrom" : "");
		detail_line(&y, bottom, x, w, i == 0 ? "Disks" : "", buf);
	}
	for (size_t i = 0; i < c->nnics; i++) {
		snprintf(buf, sizeof buf, "%s, %s%s%s", c->nics[i].kind, c->nics[i].model,
		    c->nics[i].mac != NULL ? ", " : "", c->nics[i].mac != NULL ? c->nics[i].mac : "");
		detail_line(&y, bottom, x, w, i == 0 ? "NICs" : "", buf);
	}
	detail_line(&y, bottom, x, w, "Notes", c->notes);
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
	namew = listw - 34 < 12 ? 12 : listw - 34;

	snprintf(buf, sizeof buf, " vmtty %s   %zu host%s, %zu VM%s", VMTTY_VERSION,
	    v->nhosts, v->nhosts == 1 ? "" : "s", v->nvms, v->nvms == 1 ? "" : "s");
	attrset(theme_attr(TH_HEADER));
	ui_put(top, 0, cols, buf);
	snprintf(buf, sizeof buf, "    %-*s %-10s %5s %10s", namew, "NAME", "STATE", "CPUS", "MEMORY");
	ui_put(top + 1, 0, listw, buf);
	attrset(A_NORMAL);

	listw_set_height(&v->list, rows - 2);
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
		ui_put(top + 2, listw + 1, 1, "");
		draw_details(v, top + 2, top + rows, detx, cols - detx);
	}
}

static int
vmlist_tick(void *arg)
{
	struct vmlist *v = arg;
	bool redraw = peek_all(v);

	/* Keep the spinner of a host that is still connecting moving. */
	for (size_t h = 0; h < v->nhosts && !redraw; h++) {
		struct fleet_host *fh = fleet_get(ui_fleet(v->ui), v->hosts[h].name);

		redraw = fh != NULL && fh->kind == HOST_LIBVIRT && fh->state == FLEET_CONNECTING;
	}
	return redraw ? UI_REDRAW : UI_IGNORED;
}

static int
vmlist_key(void *arg, int key)
{
	struct vmlist *v = arg;
	const struct row *r = v->list.nrows > 0 ? &v->rows[v->list.sel] : NULL;
	int intent = listw_key(&v->list, key);

	if (intent != UI_IGNORED)
		return intent;
	switch (key) {
	case ' ':
	case K_FN(KEY_LEFT):
	case K_FN(KEY_RIGHT):
	case 'h':
	case 'l':
		if (r == NULL)
			return UI_HANDLED;
		{
			const char *host = v->hosts[r->host].name;
			bool folded = is_collapsed(v, host);
			bool want = key == ' ' ? !folded :
			    key == K_FN(KEY_LEFT) || key == 'h';
			int hrow = v->list.sel;

			if (want != folded)
				toggle_collapsed(v, host);
			while (hrow > 0 && v->rows[hrow].vm >= 0)
				hrow--;
			build_rows(v);
			listw_select(&v->list, want ? hrow : v->list.sel);
		}
		return UI_HANDLED | UI_REDRAW;
	case 'r':
	case K_CTRL('l'):
		ui_status(v->ui, false, "Refreshed.");
		return UI_HANDLED | UI_RELOAD;
	default:
		return UI_IGNORED;
	}
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
};
