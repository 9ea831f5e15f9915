/*
 * The snapshots page of one VM (key t): its snapshot tree drawn with tree
 * lines (each snapshot under its parent), the time, kind, the VM's state
 * when it was taken, the size and a mark on the current one; the selected
 * one's description below.  c creates one (a small form: name, kind,
 * description), r reverts to the selected one after a confirmation that
 * says what the revert discards (snapshot_revert_discards), d deletes it
 * (D with those below it).
 *
 * The work takes the CLI's path (ops/snapshot.h), which blocks (qemu-img,
 * QMP jobs, libvirt calls) and reads and writes the inventory as it goes:
 * it runs on the VM's host's lane (fleet_run) with a connection to the
 * inventory of its own, opened and closed there (as provision_build
 * does), never on the UI thread.  Each job ends by listing the tree again
 * and asking the VM's state, so the page shows what the host has after
 * it.  One job at a time; keys and resizes are answered meanwhile, and
 * the page may close: the outcome still goes to the status line.
 */
#include "ui/formw.h"
#include "ui/overlay.h"
#include "ui/ui_priv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv/hv.h"
#include "model/db.h"
#include "model/snapshot.h"
#include "model/vm.h"
#include "ops/fleet.h"
#include "ops/snapshot.h"
#include "util/err.h"
#include "util/num.h"
#include "util/str.h"
#include "util/wrap.h"
#include "util/xalloc.h"

/* Columns right of the tree: the time, kind, state and size. */
#define SNAPV_TIME_COLS 16
#define SNAPV_KIND_COLS 9
#define SNAPV_STATE_COLS 8
#define SNAPV_SIZE_COLS 9
#define SNAPV_NAME_X 3		/* the mark, then the tree */
/* The panel at the bottom: a title and four rows (the description, or the
 * creation form). */
#define SNAPV_PANEL_ROWS 5
#define SNAPV_NAME_LEN 128	/* longer than a name may be: name_check says so */

enum sop { SO_LIST, SO_CREATE, SO_REVERT, SO_DELETE };

struct sjob;

struct snapv {
	struct ui *ui;
	struct vm_config cfg;		/* as the inventory has it */
	char state[32];			/* the VM's state word, as last seen */
	bool running;			/* running or paused: a revert loses its RAM */
	struct vm_snapshot *all;	/* the tree, each parent before its children */
	size_t n;
	int *depth;
	bool loaded;			/* a list came */
	bool again;			/* list again once the job in flight is done */
	char error[1024];		/* the last list failed: why */
	struct listw list;
	struct sjob *job;		/* in flight, or NULL */
	char select[SNAPV_NAME_LEN];	/* select this one once the list comes */
	/* The creation form. */
	bool creating;
	char f_name[SNAPV_NAME_LEN];
	int f_kind;			/* 0 full, 1 disk-only */
	char f_descr[SNAPSHOT_DESCRIPTION_MAX + 2];
	int focus;
};

/* One job on the host's lane: an operation (or none), then the list.
 * PAGE is NULL once the page no longer waits for it. */
struct sjob {
	struct ui *ui;
	struct snapv *page;
	enum sop op;
	char *inventory;		/* the inventory's path */
	struct vm_config c;
	char *name;
	enum vm_snapshot_kind kind;
	char *description;
	bool children;
	int rc;
	char error[1024];
	int list_rc;
	char list_error[1024];
	struct vm_snapshot *all;
	size_t n;
	int *depth;
	bool have_state;
	bool running;
	char state[32];
};

static const char *const kinds[] = { "full", "disk-only", NULL };

static const char *const snapv_hints[] = {
	"c", "Create", "r", "Revert", "d", "Delete", "D", "With children", "Esc", "Back",
	"?", "Help", NULL, NULL,
};

/* Every line fits 80x24 whole (the overlay wraps what would not). */
static const char *const snapv_help[] = {
	"VM snapshots",
	"Up/Down k/j\tselect a snapshot",
	"c n\tcreate one: name, kind (full or disk-only), description",
	"\tin the form: Tab moves, Space picks the kind, Enter creates",
	"r\trevert to the selected one (asks first, saying what is lost)",
	"d Delete\tdelete the selected one (asks first); those below it",
	"\tmove up to its parent",
	"D\tdelete the selected one and every snapshot below it",
	"Ctrl-L F5\tread the tree again",
	"Esc q\tback to the list",
	"",
	"The current snapshot (marked) is the one the VM's disks descend",
	"from.  Full: the disks (and the RAM of a running VM) inside the",
	"qcow2 disks; disk-only: the disks frozen, new writes on overlays.",
	NULL,
};

static void snapv_list(struct snapv *v);

/* ---- on the host's lane ----------------------------------------------- */

static void
work(struct hv *hv, void *arg)
{
	struct sjob *j = arg;
	struct db *db = db_open(j->inventory);
	struct hv_status st;

	if (db == NULL) {
		j->rc = j->list_rc = -1;
		snprintf(j->error, sizeof j->error, "%s", err_get());
		snprintf(j->list_error, sizeof j->list_error, "%s", err_get());
		return;
	}
	switch (j->op) {
	case SO_LIST:
		break;
	case SO_CREATE:
		j->rc = snapshot_create(db, hv, &j->c, j->name, j->kind, j->description);
		break;
	case SO_REVERT:
		j->rc = snapshot_revert(db, hv, &j->c, j->name);
		break;
	case SO_DELETE:
		j->rc = snapshot_delete(db, hv, &j->c, j->name, j->children);
		break;
	}
	if (j->rc != 0)
		snprintf(j->error, sizeof j->error, "%s", err_get());
	j->list_rc = snapshot_list(db, hv, &j->c, &j->all, &j->n);
	if (j->list_rc == 0) {
		j->depth = xcalloc(j->n + 1, sizeof *j->depth);
		snapshot_tree(j->all, j->n, j->depth);
	} else {
		snprintf(j->list_error, sizeof j->list_error, "%s", err_get());
	}
	if (hv_status(hv, &j->c, &st) == 0) {
		j->have_state = true;
		j->running = st.state == HV_RUNNING || st.state == HV_PAUSED;
		snprintf(j->state, sizeof j->state, "%s", hv_state_name(st.state));
	}
	err_clear();
	db_close(db);
}

/* ---- back on the UI thread -------------------------------------------- */

static void
job_free(struct sjob *j)
{
	if (j->page != NULL && j->page->job == j)
		j->page->job = NULL;
	vm_config_clear(&j->c);
	vm_snapshot_free_all(j->all, j->n);
	free(j->depth);
	free(j->inventory);
	free(j->name);
	free(j->description);
	free(j);
}

/* S with whatever could move the cursor made visible, into BUF. */
static const char *
esc(const char *s, char *buf, size_t len)
{
	str_escape_buf(buf, len, s != NULL ? s : "");
	return buf;
}

/* The status line, in one line: names and errors may come from a host
 * (a libvirt snapshot's name, an error with newlines). */
static void __attribute__((format(printf, 3, 4)))
say(struct ui *ui, bool error, const char *fmt, ...)
{
	char msg[2048], shown[sizeof msg * 4];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ui_status(ui, error, "%s", esc(msg, shown, sizeof shown));
}

/* The status line after J's operation: what it did, or why not (one
 * line: an error from a host may hold newlines). */
static void
job_status(const struct sjob *j)
{
	if (j->rc != 0) {
		say(j->ui, true, "%s", j->error);
		return;
	}
	switch (j->op) {
	case SO_LIST:
		break;
	case SO_CREATE:
		say(j->ui, false, "VM '%s': snapshot '%s' taken (%s).", j->c.name, j->name,
		    kinds[j->kind == VM_SNAPSHOT_DISK]);
		break;
	case SO_REVERT:
		say(j->ui, false, "VM '%s' reverted to snapshot '%s'%s%s.", j->c.name, j->name,
		    j->have_state ? "; it is " : "", j->have_state ? j->state : "");
		break;
	case SO_DELETE:
		say(j->ui, false, "VM '%s': snapshot '%s'%s deleted.", j->c.name, j->name,
		    j->children ? " and those below it" : "");
		break;
	}
}

/* The tree J listed onto page V, the selection kept on the same name (or
 * on V->select). */
static void
take_list(struct snapv *v, struct sjob *j)
{
	char keep[SNAPV_NAME_LEN] = "";
	ssize_t at;

	if (j->have_state) {
		snprintf(v->state, sizeof v->state, "%s", j->state);
		v->running = j->running;
	}
	if (j->list_rc != 0) {
		snprintf(v->error, sizeof v->error, "%s", j->list_error);
		return;
	}
	v->error[0] = '\0';
	if (v->select[0] != '\0')
		snprintf(keep, sizeof keep, "%s", v->select);
	else if (v->list.sel >= 0 && (size_t)v->list.sel < v->n)
		snprintf(keep, sizeof keep, "%s", v->all[v->list.sel].name);
	v->select[0] = '\0';
	vm_snapshot_free_all(v->all, v->n);
	free(v->depth);
	v->all = j->all;
	v->n = j->n;
	v->depth = j->depth;
	j->all = NULL;
	j->n = 0;
	j->depth = NULL;
	v->loaded = true;
	listw_set_rows(&v->list, (int)v->n);
	at = vm_snapshot_find(v->all, v->n, keep);
	if (at < 0) {
		/* Else the current one. */
		for (size_t i = 0; i < v->n; i++)
			if (v->all[i].current)
				at = (ssize_t)i;
	}
	if (at >= 0)
		listw_select(&v->list, (int)at);
}

static void
done(void *arg)
{
	struct sjob *j = arg;
	struct snapv *v = j->page;
	struct ui *ui = j->ui;
	bool op = j->op != SO_LIST, again = v != NULL && v->again;

	if (v != NULL) {
		v->job = NULL;
		v->again = false;
		if (j->rc != 0)
			v->select[0] = '\0';
		take_list(v, j);
	}
	job_status(j);
	job_free(j);
	/* After an operation the VM's disks may have moved and its state
	 * changed: every view reads the inventory again (this page lists the
	 * tree again then); after a list, again if the inventory changed
	 * while it was on its way. */
	if (op)
		ui_intent(ui, UI_RELOAD);
	else if (again)
		snapv_list(v);
	ui_intent(ui, UI_REDRAW);
}

/* The host did not answer a list in time: the page says so; J is freed
 * when its call returns, if ever. */
static void
stalled(const char *error, void *arg)
{
	struct sjob *j = arg;
	struct snapv *v = j->page;

	if (v == NULL)
		return;
	v->job = NULL;
	j->page = NULL;
	snprintf(v->error, sizeof v->error, "%s", error);
	ui_intent(v->ui, UI_REDRAW);
}

/* An operation is under way (a list is not one): said, for OP's key. */
static bool
busy(struct snapv *v)
{
	if (v->job == NULL || v->job->op == SO_LIST)
		return false;
	say(v->ui, true, "VM '%s': a snapshot operation is under way; wait for it to finish.",
	    v->cfg.name);
	return true;
}

/* Start OP on snapshot NAME (NULL for a list) on the VM's host's lane.
 * 0, or -1 with the reason on the status line. */
static int
start(struct snapv *v, enum sop op, const char *name, enum vm_snapshot_kind kind,
    const char *description, bool children)
{
	struct sjob *j;
	int rc;

	if (v->job != NULL && op == SO_LIST) {
		v->again = true;
		return 0;
	}
	if (busy(v))
		return -1;
	/* A list on its way is let go: the operation (after it on the lane)
	 * lists the tree again when it is done. */
	if (v->job != NULL)
		v->job->page = NULL;
	v->job = NULL;
	j = xcalloc(1, sizeof *j);
	j->ui = v->ui;
	j->op = op;
	j->inventory = xstrdup(db_path(ui_db(v->ui)));
	vm_config_copy(&j->c, &v->cfg);
	j->name = xstrdup0(name);
	j->kind = kind;
	j->description = xstrdup0(description);
	j->children = children;
	j->page = v;
	if (op == SO_LIST)
		rc = fleet_run_bounded(ui_fleet(v->ui), v->cfg.host, work, done, stalled, j);
	else
		rc = fleet_run(ui_fleet(v->ui), v->cfg.host, work, done, j);
	if (rc != 0) {
		if (op == SO_LIST)
			snprintf(v->error, sizeof v->error, "%s", err_get());
		else
			say(v->ui, true, "%s", err_get());
		j->page = NULL;
		job_free(j);
		return -1;
	}
	v->job = j;
	return 0;
}

static void
snapv_list(struct snapv *v)
{
	start(v, SO_LIST, NULL, VM_SNAPSHOT_FULL, NULL, false);
}

/* ---- keys --------------------------------------------------------------- */

static const struct vm_snapshot *
selected(const struct snapv *v)
{
	if (!v->loaded || v->n == 0 || v->list.sel < 0 || (size_t)v->list.sel >= v->n)
		return NULL;
	return &v->all[v->list.sel];
}

/* What the confirmations carry: the page and the snapshot's name. */
struct sask {
	struct snapv *v;
	char name[SNAPV_NAME_LEN];
	bool children;
};

/* The page the confirmation was asked on, if it is still shown. */
static struct snapv *
asked_page(struct ui *ui, struct sask *a)
{
	return ui_view_state(ui) == a->v ? a->v : NULL;
}

static int
on_revert(struct ui *ui, int choice, const char *input, void *arg)
{
	struct sask *a = arg;
	struct snapv *v = asked_page(ui, a);

	(void)input;
	if (v != NULL && choice == 1 && start(v, SO_REVERT, a->name, VM_SNAPSHOT_FULL, NULL,
	    false) == 0)
		say(ui, false, "VM '%s': reverting to snapshot '%s'...", v->cfg.name,
		    v->job->name);
	else if (choice != 1)
		ui_status(ui, false, "Cancelled; nothing was changed.");
	free(a);
	return UI_HANDLED | UI_REDRAW;
}

static int
on_delete(struct ui *ui, int choice, const char *input, void *arg)
{
	struct sask *a = arg;
	struct snapv *v = asked_page(ui, a);

	(void)input;
	if (v != NULL && choice == 1 && start(v, SO_DELETE, a->name, VM_SNAPSHOT_FULL, NULL,
	    a->children) == 0)
		say(ui, false, "VM '%s': deleting snapshot '%s'%s...", v->cfg.name,
		    v->job->name, a->children ? " and those below it" : "");
	else if (choice != 1)
		ui_status(ui, false, "Cancelled; nothing was changed.");
	free(a);
	return UI_HANDLED | UI_REDRAW;
}

/* Ask before reverting to, or deleting, the selected snapshot. */
static int
ask(struct snapv *v, bool revert, bool children)
{
	const struct vm_snapshot *s = selected(v);
	struct sask *a;
	char q[2048], shown[sizeof q * 4];
	size_t below = 0;

	if (busy(v))
		return UI_HANDLED | UI_REDRAW;
	if (s == NULL) {
		say(v->ui, true, "VM '%s' has no snapshot to %s; c creates one.", v->cfg.name,
		    revert ? "revert to" : "delete");
		return UI_HANDLED | UI_REDRAW;
	}
	a = xcalloc(1, sizeof *a);
	a->v = v;
	a->children = children;
	snprintf(a->name, sizeof a->name, "%s", s->name);
	if (revert) {
		snapshot_revert_discards(&v->cfg, v->all, v->n, s->name, v->running, q, sizeof q);
		ui_push(v->ui, overlay_ask("Revert to a snapshot", esc(q, shown, sizeof shown),
		    on_revert, a));
		return UI_HANDLED | UI_REDRAW;
	}
	for (int i = v->list.sel + 1; i < (int)v->n && v->depth[i] > v->depth[v->list.sel]; i++)
		below++;
	if (children && below > 0)
		snprintf(q, sizeof q, "Delete snapshot '%s' of VM '%s' and the %zu below it? Their "
		    "data is merged into the files that still need it.", s->name, v->cfg.name, below);
	else if (below > 0)
		snprintf(q, sizeof q, "Delete snapshot '%s' of VM '%s'? The %zu below it move up to "
		    "its parent; its data is merged into the files that still need it.", s->name,
		    v->cfg.name, below);
	else
		snprintf(q, sizeof q, "Delete snapshot '%s' of VM '%s'? Its data is merged into the "
		    "files that still need it.", s->name, v->cfg.name);
	ui_push(v->ui, overlay_confirm("Delete snapshot", esc(q, shown, sizeof shown), NULL,
	    on_delete, a));
	return UI_HANDLED | UI_REDRAW;
}

static int
form(struct snapv *v, struct formw_field *out)
{
	out[0] = (struct formw_field){ .label = "Name", .text = v->f_name,
	    .len = sizeof v->f_name };
	out[1] = (struct formw_field){ .label = "Kind", .choices = kinds, .choice = &v->f_kind };
	out[2] = (struct formw_field){ .label = "Description", .text = v->f_descr,
	    .len = sizeof v->f_descr };
	return 3;
}

static int
create_key(struct snapv *v, int key)
{
	struct formw_field fs[3];

	if (key == K_ESC) {
		v->creating = false;
		ui_status(v->ui, false, "Cancelled; no snapshot was taken.");
		return UI_HANDLED | UI_REDRAW;
	}
	if (key == K_FN(KEY_F(1)) || key == K_FN(KEY_F(10)))
		return UI_IGNORED;
	if (key != '\r' && key != K_FN(KEY_ENTER)) {
		formw_key(fs, form(v, fs), &v->focus, key);
		return UI_HANDLED | UI_REDRAW;
	}
	/* The form stays open on a refusal here; a failure on the host is
	 * said on the status line. */
	if (start(v, SO_CREATE, v->f_name, v->f_kind == 1 ? VM_SNAPSHOT_DISK : VM_SNAPSHOT_FULL,
	    v->f_descr, false) == 0) {
		say(v->ui, false, "VM '%s': taking snapshot '%s' (%s)...", v->cfg.name,
		    v->job->name, kinds[v->f_kind]);
		snprintf(v->select, sizeof v->select, "%s", v->f_name);
		v->creating = false;
	}
	return UI_HANDLED | UI_REDRAW;
}

static void
snapv_close(struct snapv *v)
{
	ui_view_remove(v->ui, v);
}

static int
snapv_key(void *arg, int key)
{
	struct snapv *v = arg;
	int intent;

	if (v->creating)
		return create_key(v, key);
	if ((intent = listw_key(&v->list, key)) != UI_IGNORED)
		return intent;
	switch (key) {
	case K_ESC:
	case 'q':
		snapv_close(v);
		return UI_HANDLED | UI_REDRAW;
	case 'c':
	case 'n':
		if (busy(v))
			return UI_HANDLED | UI_REDRAW;
		v->creating = true;
		v->focus = 0;
		v->f_name[0] = v->f_descr[0] = '\0';
		v->f_kind = 0;
		return UI_HANDLED | UI_REDRAW;
	case 'r':
		return ask(v, true, false);
	case 'd':
	case K_FN(KEY_DC):
		return ask(v, false, false);
	case 'D':
		return ask(v, false, true);
	case K_CTRL('l'):
	case K_FN(KEY_F(5)):
		snapv_list(v);
		return UI_HANDLED | UI_REDRAW;
	default:
		return UI_IGNORED;
	}
}

/* ---- drawing ------------------------------------------------------------ */

/* Row I's tree lines into BUF: for each level above it a bar where that
 * ancestor has a later sibling, then its own branch. */
static void
tree_prefix(const struct snapv *v, size_t i, char *buf, size_t len)
{
	bool u = ui_utf8(v->ui);
	size_t off = 0;

	buf[0] = '\0';
	for (int k = 1; k <= v->depth[i]; k++) {
		bool more = false;
		const char *g;

		/* Does the level-K ancestor (or I itself, at its own level)
		 * have a sibling further down? */
		for (size_t j = i + 1; j < v->n && v->depth[j] >= k; j++) {
			if (v->depth[j] == k) {
				more = true;
				break;
			}
		}
		if (k < v->depth[i])
			g = more ? (u ? "\xe2\x94\x82  " : "|  ") : "   ";
		else
			g = more ? (u ? "\xe2\x94\x9c\xe2\x94\x80 " : "|- ") :
			    (u ? "\xe2\x94\x94\xe2\x94\x80 " : "`- ");
		off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s", g);
		if (off >= len)
			return;
	}
}

static void
draw_row(struct snapv *v, size_t i, int y, int cols)
{
	const struct vm_snapshot *s = &v->all[i];
	bool u = ui_utf8(v->ui), sel = (int)i == v->list.sel;
	int x_size = cols - 1 - SNAPV_SIZE_COLS, x_state = x_size - 1 - SNAPV_STATE_COLS;
	int x_kind = x_state - 1 - SNAPV_KIND_COLS, x_time = x_kind - 1 - SNAPV_TIME_COLS;
	char buf[1024], name[SNAPV_NAME_LEN * 4], when[32], size[32];
	time_t t = (time_t)(s->created / 1000);
	struct tm tm;

	attrset(sel ? theme_attr(TH_SELECTED) : s->current ? A_BOLD : A_NORMAL);
	ui_put(y, 0, cols, "");
	ui_put(y, 1, 2, s->current ? (u ? "\xe2\x97\x8f" : "*") : "");
	tree_prefix(v, i, buf, sizeof buf / 2);
	snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s",
	    esc(s->name, name, sizeof name));
	ui_put(y, SNAPV_NAME_X, x_time - 1 - SNAPV_NAME_X, buf);
	if (s->created > 0 && localtime_r(&t, &tm) != NULL)
		strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
	else
		snprintf(when, sizeof when, "-");
	ui_put(y, x_time, SNAPV_TIME_COLS, when);
	ui_put(y, x_kind, SNAPV_KIND_COLS, kinds[s->kind == VM_SNAPSHOT_DISK]);
	ui_put(y, x_state, SNAPV_STATE_COLS, esc(s->vm_state != NULL ? s->vm_state : "-", buf,
	    sizeof buf));
	if (s->size >= 0)
		num_format_bytes(s->size, size, sizeof size);
	else
		snprintf(size, sizeof size, "-");
	snprintf(buf, sizeof buf, "%*s", SNAPV_SIZE_COLS, size);
	ui_put(y, x_size, SNAPV_SIZE_COLS, buf);
	attrset(A_NORMAL);
}

/* TEXT wrapped from *Y to BOTTOM, from column X. */
static void
text(int *y, int bottom, int x, int cols, enum theme_role role, const char *s)
{
	size_t off = 0, len, next;
	char buf[1200];

	attrset(theme_attr(role));
	while (s[off] != '\0' && *y < bottom) {
		len = wrap_line(s + off, cols - x - 1, &next);
		snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf - 1 ? len : sizeof buf - 1),
		    s + off);
		ui_put((*y)++, x, cols - x, buf);
		off += next;
	}
	attrset(A_NORMAL);
}

/* The panel from Y: the creation form, or the selected one's description. */
static void
draw_panel(struct snapv *v, int y, int bottom, int cols)
{
	const struct vm_snapshot *s = selected(v);
	struct formw_field fs[3];
	char buf[SNAPSHOT_DESCRIPTION_MAX * 4 + 64], name[SNAPV_NAME_LEN * 4];

	attrset(theme_attr(TH_BORDER));
	for (int x = 0; x < cols; x++)
		ui_put(y, x, 1, ui_utf8(v->ui) ? "\xe2\x94\x80" : "-");
	attrset(theme_attr(TH_HEADER));
	if (v->creating) {
		snprintf(buf, sizeof buf, " New snapshot: Tab next field, Space kind, Enter take "
		    "it, Esc cancel ");
		ui_put(y++, 1, ui_width(buf) < cols - 2 ? ui_width(buf) : cols - 2, buf);
		attrset(A_NORMAL);
		formw_draw(fs, form(v, fs), v->focus, y, 1, 2, cols - 3, 12);
		y += 3;
		attrset(theme_attr(TH_DIM));
		ui_put(y, 2, cols - 3, v->running ?
		    "Full: the disks and the RAM (the guest goes on); disk-only: new overlays." :
		    "Full: the disks, inside their qcow2 files; disk-only: new overlay files.");
		attrset(A_NORMAL);
		return;
	}
	if (s == NULL) {
		attrset(A_NORMAL);
		return;
	}
	snprintf(buf, sizeof buf, " %s ", esc(s->name, name, sizeof name));
	ui_put(y++, 1, ui_width(buf) < cols - 2 ? ui_width(buf) : cols - 2, buf);
	attrset(A_NORMAL);
	if (s->description == NULL || s->description[0] == '\0') {
		attrset(theme_attr(TH_DIM));
		ui_put(y, 1, cols - 2, "(no description)");
		attrset(A_NORMAL);
		return;
	}
	text(&y, bottom, 1, cols, TH_NORMAL, esc(s->description, buf, sizeof buf));
}

static const char *
busy_words(const struct sjob *j)
{
	switch (j->op) {
	case SO_LIST:
		return "reading...";
	case SO_CREATE:
		return "taking a snapshot...";
	case SO_REVERT:
		return "reverting...";
	case SO_DELETE:
		return "deleting...";
	}
	return "";
}

static void
snapv_draw(void *arg, int top, int rows, int cols)
{
	struct snapv *v = arg;
	int bottom = top + rows, panel = bottom - SNAPV_PANEL_ROWS, y = top + 2;
	int x_size = cols - 1 - SNAPV_SIZE_COLS, x_state = x_size - 1 - SNAPV_STATE_COLS;
	int x_kind = x_state - 1 - SNAPV_KIND_COLS, x_time = x_kind - 1 - SNAPV_TIME_COLS;
	char buf[1200], line[sizeof buf * 4];

	erase();
	attrset(theme_attr(TH_HEADER));
	snprintf(buf, sizeof buf, " Snapshots of VM %s on %s (%s)%s%s", v->cfg.name,
	    v->cfg.host, v->state[0] != '\0' ? v->state : "?", v->job != NULL ? ": " : "",
	    v->job != NULL ? busy_words(v->job) : "");
	ui_put(top, 0, cols, esc(buf, line, sizeof line));
	attrset(theme_attr(TH_DIM));
	ui_put(top + 1, 0, cols, "");
	ui_put(top + 1, SNAPV_NAME_X, x_time - 1 - SNAPV_NAME_X, "NAME");
	ui_put(top + 1, x_time, SNAPV_TIME_COLS, "CREATED");
	ui_put(top + 1, x_kind, SNAPV_KIND_COLS, "KIND");
	ui_put(top + 1, x_state, SNAPV_STATE_COLS, "VM STATE");
	snprintf(buf, sizeof buf, "%*s", SNAPV_SIZE_COLS, "SIZE");
	ui_put(top + 1, x_size, SNAPV_SIZE_COLS, buf);
	attrset(A_NORMAL);
	listw_set_height(&v->list, panel - y);
	if (v->error[0] != '\0') {
		text(&y, panel, 1, cols, TH_ERROR, esc(v->error, line, sizeof line));
	} else if (!v->loaded) {
		text(&y, panel, 1, cols, TH_DIM, "Reading the snapshots...");
	} else if (v->n == 0) {
		snprintf(buf, sizeof buf, "VM %s has no snapshots; c creates one.", v->cfg.name);
		text(&y, panel, 1, cols, TH_DIM, esc(buf, line, sizeof line));
	}
	if (v->loaded && v->error[0] == '\0')
		for (int r = v->list.top; r < (int)v->n && y < panel; r++, y++)
			draw_row(v, (size_t)r, y, cols);
	draw_panel(v, panel, bottom, cols);
}

/* ---- the view ------------------------------------------------------------ */

static void
snapv_reload(void *arg)
{
	struct snapv *v = arg;
	struct vm_config c;

	/* The inventory changed (this page's job, or another program): the
	 * VM as it has it now, and the tree again. */
	if (vm_load(ui_db(v->ui), v->cfg.id, &c) != 0) {
		snprintf(v->error, sizeof v->error, "%s", err_get());
		return;
	}
	vm_config_clear(&v->cfg);
	v->cfg = c;
	snapv_list(v);
}

static void
snapv_free(void *arg)
{
	struct snapv *v = arg;

	if (v->job != NULL)
		v->job->page = NULL;
	vm_snapshot_free_all(v->all, v->n);
	free(v->depth);
	vm_config_clear(&v->cfg);
	free(v);
}

static const struct view snapshot_view = {
	.name = "snapshots",
	.free = snapv_free,
	.reload = snapv_reload,
	.draw = snapv_draw,
	.key = snapv_key,
	.hints = snapv_hints,
	.hints_ascii = snapv_hints,
	.help = snapv_help,
};

int
snapshot_view_open(struct ui *ui, const struct vm_config *c)
{
	struct snapv *v = xcalloc(1, sizeof *v);

	v->ui = ui;
	vm_config_copy(&v->cfg, c);
	snprintf(v->state, sizeof v->state, "%s", c->state != NULL ? c->state : "");
	v->running = strcmp(v->state, "running") == 0 || strcmp(v->state, "paused") == 0;
	if (ui_view_add(ui, &snapshot_view, v) != 0) {
		snapv_free(v);
		return -1;
	}
	ui_view_show(ui, v);
	snapv_list(v);
	return 0;
}
