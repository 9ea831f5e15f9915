/*
 * The tuning page of one VM (key T): a grid of its vCPUs (and the
 * emulator threads) against the host's CPUs, marking where each is pinned,
 * where it may run and where it ran last; its hugepages; its memory, the
 * balloon target, what the guest has now and the guest's own view.
 *
 * What the host sees is asked on the host's lane every TUNEV_REFRESH_MS
 * (hv_status, hv_tune_state; hv_host_info once, for the host's CPUs).
 * Changes take the CLI's path (vmtty tune): tune_apply checks the request
 * here (no I/O), tune_run applies it on the host's lane, and the writer
 * records the row, the pending mark and the journal entry; a failure says
 * why on the status line and changes nothing.  The balloon and hugepage
 * keys are gathered for TUNEV_SETTLE_MS after the last press, then applied
 * as one change; one change is in flight at a time.
 */
#include "ui/ui_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/hv.h"
#include "model/journal.h"
#include "model/tuning.h"
#include "model/vm.h"
#include "ops/fleet.h"
#include "ops/tune.h"
#include "ops/vmedit.h"
#include "util/cpuset.h"
#include "util/err.h"
#include "util/loop.h"
#include "util/wrap.h"
#include "util/xalloc.h"

#define TUNEV_REFRESH_MS 1000
#define TUNEV_SETTLE_MS 300
/* Host info that failed is asked again every this many refreshes. */
#define TUNEV_HI_RETRY 5
#define TUNEV_LABEL_COLS 9	/* "emulator " */
#define TUNEV_TEXT_COLS 16	/* the pin and last CPU right of the grid */
#define TUNEV_BOTTOM_ROWS 8	/* hugepages, balloon, memory, guest, messages */
#define TUNEV_SPEC 4200		/* "VCPU:" and a CPU list of up to CPUSET_MAX */

struct tfetch;
struct tapply;

struct tunev {
	struct ui *ui;
	struct vm_config cfg;		/* as the inventory has it */
	bool gone;			/* it could not be read again: ERROR says why */
	char state[32];			/* the VM's state word, as last seen */
	bool live;			/* running (or paused): TS is the host's view */
	struct hv_tune_state ts;
	bool have_ts;
	char ts_error[1024];		/* asking the host failed: why */
	struct hv_host_info hi;
	bool have_hi;
	char hi_error[1024];
	int hi_wait;			/* refreshes until host info is asked again */
	struct tfetch *fetch;		/* in flight, or NULL */
	int timer;			/* the next ask, or -1 */
	struct tapply *apply;		/* a change in flight, or NULL */
	/* What the keys chose and is not applied yet. */
	int64_t want_balloon;		/* MiB; 0 none */
	int64_t want_hp;		/* KiB; -1 none */
	int settle;			/* the timer that applies them, or -1 */
	/* The cursor: rows 0..n-1 the vCPUs, n the emulator, n + 1 the
	 * hugepages, n + 2 the balloon; COL indexes CPUS. */
	int row, col;
	int col_off, grid_top;		/* scrolled to, as last drawn */
	int *cpus;			/* the grid's host CPUs */
	int ncpus;
	struct cpuset named;		/* of those, the ones the host has */
};

/* One ask on the host's lane; T is NULL once the page closed. */
struct tfetch {
	struct tunev *t;
	struct vm_config c;
	bool want_hi;
	int hi_rc;
	struct hv_host_info hi;
	char hi_error[1024];
	int rc;				/* hv_status, then hv_tune_state */
	bool live;
	enum hv_state state;
	struct hv_tune_state ts;
	char error[1024];
};

/* What one change asks for, as vmtty tune's options. */
struct tchange {
	char pin[TUNEV_SPEC];		/* "" none */
	char emulator[TUNEV_SPEC];
	char hugepages[16];
	char balloon[32];
};

/* One change on its way: the host, then the writer.  T is NULL once the
 * page closed; AFTER_* are what it wanted next, applied when this one
 * went through. */
struct tapply {
	struct ui *ui;
	struct tunev *t;
	struct tchange ch;
	const char *pinv[1];
	struct tune_req r;
	struct vm_config old, c;
	bool running;
	int rc;
	char error[1024];
	char *pending;			/* running: all that waits for a restart */
	bool undo;			/* the inventory did not take it */
	bool stalled;			/* the host did not answer in time (said) */
	int64_t after_balloon, after_hp;
};

static const char *const tunev_hints[] = {
	"Arrows", "Move", "Space", "Pin", "+/-", "Balloon", "h", "Hugepages", "Esc", "Close",
	"?", "Help", NULL, NULL,
};

/* Every line fits 80x24 whole (the overlay wraps what would not). */
static const char *const tunev_help[] = {
	"VM tuning",
	"Arrows\tmove: vCPUs and the emulator x host CPUs",
	"Space Enter\tpin to the CPU under the cursor, or unpin",
	"x Delete\ttake the row's pin away (all of its CPUs)",
	"+ -\tballoon target a step up / down (Left/Right too)",
	"h\thugepages: off or a size the host offers",
	"r\task the host again now",
	"Esc q\tclose the page",
	"",
	"A vCPU without a pin runs anywhere: its first CPU pins it there.",
	"Changes apply as 'vmtty tune' does: a running VM gets pins and the",
	"balloon at once; hugepages wait for its next start.",
	"Grid: pinned (\xe2\x97\x8f or #), may run (\xc2\xb7 or .), pinned but not in",
	"effect (\xe2\x97\x8b or o), ran last ([ ]); a dim CPU number: only a pin",
	"names it, the host does not have it.",
	NULL,
};

static void tunev_ask(struct tunev *t);
static void flush(struct tunev *t);
static int start_apply(struct ui *ui, struct tunev *t, const struct vm_config *base,
    const struct hv_host_info *hi, const struct tchange *ch);

static int
nvcpus(const struct tunev *t)
{
	return vm_config_cpus(&t->cfg);
}

/* ---- asking the host -------------------------------------------------- */

static void
on_timer(void *arg)
{
	struct tunev *t = arg;

	t->timer = -1;
	tunev_ask(t);
}

static void
schedule(struct tunev *t)
{
	if (t->timer < 0)
		t->timer = loop_add_timer(ui_loop(t->ui), TUNEV_REFRESH_MS, on_timer, t);
}

static void
work_state(struct hv *hv, void *arg)
{
	struct tfetch *f = arg;
	struct hv_status st;

	if (f->want_hi) {
		f->hi_rc = hv_host_info(hv, &f->hi);
		if (f->hi_rc != 0)
			snprintf(f->hi_error, sizeof f->hi_error, "%s", err_get());
	}
	f->rc = hv_status(hv, &f->c, &st);
	if (f->rc == 0) {
		f->state = st.state;
		f->live = st.state != HV_OFF && st.state != HV_CRASHED;
		if (f->live)
			f->rc = hv_tune_state(hv, &f->c, &f->ts);
	}
	if (f->rc != 0)
		snprintf(f->error, sizeof f->error, "%s", err_get());
}

static void
done_state(void *arg)
{
	struct tfetch *f = arg;
	struct tunev *t = f->t;

	if (t != NULL) {
		t->fetch = NULL;
		if (f->want_hi && f->hi_rc == 0) {
			t->hi = f->hi;
			memset(&f->hi, 0, sizeof f->hi);
			t->have_hi = true;
			t->hi_error[0] = '\0';
		} else if (f->want_hi) {
			snprintf(t->hi_error, sizeof t->hi_error, "%s", f->hi_error);
			t->hi_wait = TUNEV_HI_RETRY;
		}
		if (f->rc == 0 || f->live) {
			snprintf(t->state, sizeof t->state, "%s", hv_state_name(f->state));
			t->live = f->live;
		}
		hv_tune_state_clear(&t->ts);
		t->have_ts = f->rc == 0 && f->live;
		if (t->have_ts) {
			t->ts = f->ts;
			memset(&f->ts, 0, sizeof f->ts);
		}
		snprintf(t->ts_error, sizeof t->ts_error, "%s", f->rc != 0 ? f->error : "");
		schedule(t);
		ui_intent(t->ui, UI_REDRAW);
	}
	vm_config_clear(&f->c);
	hv_host_info_clear(&f->hi);
	hv_tune_state_clear(&f->ts);
	free(f);
}

/* The host did not answer in time: the page says so and asks again later
 * (the fleet connects the host again meanwhile); F is freed when its ask
 * returns, if ever. */
static void
stalled_state(const char *error, void *arg)
{
	struct tfetch *f = arg;
	struct tunev *t = f->t;

	if (t == NULL)
		return;
	f->t = NULL;
	t->fetch = NULL;
	hv_tune_state_clear(&t->ts);
	t->have_ts = false;
	snprintf(t->ts_error, sizeof t->ts_error, "%s", error);
	schedule(t);
	ui_intent(t->ui, UI_REDRAW);
}

/* Ask the host for the VM's state (and its CPUs, until it told them),
 * unless an ask is in flight. */
static void
tunev_ask(struct tunev *t)
{
	struct tfetch *f;

	if (t->fetch != NULL || t->gone)
		return;
	f = xcalloc(1, sizeof *f);
	f->t = t;
	vm_config_copy(&f->c, &t->cfg);
	f->want_hi = !t->have_hi && t->hi_wait-- <= 0;
	if (fleet_run_bounded(ui_fleet(t->ui), t->cfg.host, work_state, done_state, stalled_state,
	    f) != 0) {
		snprintf(t->ts_error, sizeof t->ts_error, "%s", err_get());
		vm_config_clear(&f->c);
		free(f);
		schedule(t);
		ui_intent(t->ui, UI_REDRAW);
		return;
	}
	t->fetch = f;
}

/* ---- applying a change ------------------------------------------------- */

static void
apply_free(struct tapply *ap)
{
	if (ap->t != NULL && ap->t->apply == ap)
		ap->t->apply = NULL;
	vm_config_clear(&ap->old);
	vm_config_clear(&ap->c);
	free(ap->pending);
	free(ap);
}

static void
work_undo(struct hv *hv, void *arg)
{
	struct tapply *ap = arg;

	/* As vmtty tune does when the inventory refuses: the host goes back. */
	tune_undo(hv, &ap->r, &ap->old);
}

static void
done_undo(void *arg)
{
	apply_free(arg);
}

/* The journal's words for AP, as vmtty tune writes them. */
static void
apply_message(const struct tapply *ap, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", ap->r.changes,
	    ap->running && ap->r.pending[0] != '\0' ? " (part pending restart)" : "");
}

/* The writer's lane: the row, what waits for a restart, the journal. */
static int
tune_write(struct db *db, void *arg)
{
	struct tapply *ap = arg;
	char msg[1200];
	int rc;

	rc = vm_update(db, &ap->c);
	ap->undo = rc != 0;
	if (rc == 0 && ap->pending != NULL)
		rc = vm_set_pending(db, ap->c.id, ap->pending);
	if (rc == 0)
		apply_message(ap, msg, sizeof msg);
	else
		snprintf(msg, sizeof msg, "%s", err_get());
	journal_add(db, ap->old.host, ap->old.name, "tune", rc == 0, msg);
	if (rc != 0)
		err_set("%s", msg);
	return rc;
}

static void
tune_written(void *arg, int rc, const char *error)
{
	struct tapply *ap = arg;
	struct ui *ui = ap->ui;
	struct tunev *t = ap->t;

	if (rc != 0) {
		ui_status(ui, true, "%s", error);
		if (t != NULL) {
			t->want_balloon = 0;
			t->want_hp = -1;
		}
	} else if (ap->running && ap->r.pending[0] != '\0') {
		ui_status(ui, false, "VM '%s': %s; pending until its next start: %s%s.",
		    ap->old.name, ap->r.changes, ap->r.pending,
		    ap->stalled ? " (its host answered late)" : "");
	} else {
		ui_status(ui, false, "VM '%s': %s%s%s.", ap->old.name, ap->r.changes,
		    ap->running ? ", applied now" : "",
		    ap->stalled ? " (its host answered late)" : "");
	}
	if (t != NULL)
		t->apply = NULL;
	/* The page reads the VM again, as the inventory has it now. */
	ui_intent(ui, UI_RELOAD);
	if (t != NULL && rc == 0) {
		flush(t);
	} else if (t == NULL && rc == 0 && (ap->after_balloon > 0 || ap->after_hp >= 0)) {
		struct tchange ch;

		memset(&ch, 0, sizeof ch);
		if (ap->after_balloon > 0)
			snprintf(ch.balloon, sizeof ch.balloon, "%lld", (long long)ap->after_balloon);
		if (ap->after_hp >= 0) {
			if (ap->after_hp == 0)
				snprintf(ch.hugepages, sizeof ch.hugepages, "off");
			else
				tuning_format_pagesize(ap->after_hp, ch.hugepages, sizeof ch.hugepages);
		}
		/* The next change starts from this one's, pending mark too. */
		if (ap->pending != NULL) {
			free(ap->c.pending);
			ap->c.pending = xstrdup(ap->pending);
		}
		start_apply(ui, NULL, &ap->c, NULL, &ch);
	}
	if (rc != 0 && ap->undo) {
		ap->t = NULL;
		if (fleet_run(ui_fleet(ui), ap->old.host, work_undo, done_undo, ap) == 0)
			return;
	}
	apply_free(ap);
}

static void
work_apply(struct hv *hv, void *arg)
{
	struct tapply *ap = arg;

	ap->rc = tune_run(hv, &ap->r, &ap->old, &ap->c, &ap->running);
	if (ap->rc != 0)
		snprintf(ap->error, sizeof ap->error, "%s", err_get());
}

/*
 * The host did not answer in time: the change failed as far as the page
 * goes (said, journaled; the page takes keys again).  Should the host
 * answer later, done_apply still records what it did.
 */
static void
stalled_apply(const char *error, void *arg)
{
	struct tapply *ap = arg;
	char msg[1200];

	snprintf(msg, sizeof msg, "VM '%s': %s not applied: %s", ap->old.name, ap->r.changes,
	    error);
	ap->stalled = true;
	ui_journal(ap->ui, ap->old.host, ap->old.name, "tune", false, msg);
	ui_status(ap->ui, true, "%s", msg);
	if (ap->t != NULL) {
		ap->t->want_balloon = 0;
		ap->t->want_hp = -1;
		ap->t->apply = NULL;
		ap->t = NULL;
	}
	ui_intent(ap->ui, UI_REDRAW);
}

/* The host took the change (or not): the inventory follows through the
 * writer. */
static void
done_apply(void *arg)
{
	struct tapply *ap = arg;
	char what[700];

	if (ap->rc != 0) {
		ui_journal(ap->ui, ap->old.host, ap->old.name, "tune", false, ap->error);
		ui_status(ap->ui, true, "%s", ap->error);
		if (ap->t != NULL) {
			ap->t->want_balloon = 0;
			ap->t->want_hp = -1;
		}
		ui_intent(ap->ui, UI_REDRAW);
		apply_free(ap);
		return;
	}
	if (ap->running && ap->r.pending[0] != '\0')
		ap->pending = vmedit_pending(ap->old.pending, ap->r.pending);
	snprintf(what, sizeof what, "the tuning of VM '%s' (%s)", ap->old.name, ap->r.changes);
	ui_write(ap->ui, what, tune_write, tune_written, ap);
}

/*
 * Change BASE (the VM as the inventory has it) as CH says, checked against
 * the host's CPUs and page sizes in HI (may be NULL): tune_apply here,
 * tune_run on the host's lane, the inventory through the writer.  T (may
 * be NULL) is the page, busy until the change is written.  0, or -1 with
 * the reason on the status line and in the journal.
 */
static int
start_apply(struct ui *ui, struct tunev *t, const struct vm_config *base,
    const struct hv_host_info *hi, const struct tchange *ch)
{
	struct tapply *ap = xcalloc(1, sizeof *ap);
	char msg[1024];

	ap->ui = ui;
	ap->ch = *ch;
	ap->after_hp = -1;
	if (ap->ch.pin[0] != '\0') {
		ap->pinv[0] = ap->ch.pin;
		ap->r.pins = ap->pinv;
		ap->r.npins = 1;
	}
	ap->r.emulator_pin = ap->ch.emulator[0] != '\0' ? ap->ch.emulator : NULL;
	ap->r.hugepages = ap->ch.hugepages[0] != '\0' ? ap->ch.hugepages : NULL;
	ap->r.balloon = ap->ch.balloon[0] != '\0' ? ap->ch.balloon : NULL;
	vm_config_copy(&ap->old, base);
	vm_config_copy(&ap->c, base);
	if (tune_apply(&ap->r, &ap->c, hi) != 0 ||
	    fleet_run_bounded(ui_fleet(ui), base->host, work_apply, done_apply, stalled_apply,
	    ap) != 0) {
		snprintf(msg, sizeof msg, "%s", err_get());
		ui_journal(ui, base->host, base->name, "tune", false, msg);
		ui_status(ui, true, "%s", msg);
		apply_free(ap);
		return -1;
	}
	ap->t = t;
	if (t != NULL)
		t->apply = ap;
	ui_status(ui, false, "VM '%s': applying %s...", base->name, ap->r.changes);
	return 0;
}

/* The balloon target and hugepages of T as the keys left them. */
static int64_t
balloon_target(const struct tunev *t)
{
	if (t->want_balloon > 0)
		return t->want_balloon;
	return t->cfg.tuning.balloon_mib > 0 ? t->cfg.tuning.balloon_mib : t->cfg.memory_mib;
}

static int64_t
hugepages(const struct tunev *t)
{
	return t->want_hp >= 0 ? t->want_hp : t->cfg.tuning.hugepage_kib;
}

/* What the keys chose and the VM does not have yet into CH (the wants
 * cleared); false when there is nothing. */
static bool
take_wants(struct tunev *t, struct tchange *ch)
{
	bool any = false;

	if (t->want_balloon > 0 && t->want_balloon != (t->cfg.tuning.balloon_mib > 0 ?
	    t->cfg.tuning.balloon_mib : t->cfg.memory_mib)) {
		snprintf(ch->balloon, sizeof ch->balloon, "%lld", (long long)t->want_balloon);
		any = true;
	}
	if (t->want_hp >= 0 && t->want_hp != t->cfg.tuning.hugepage_kib) {
		if (t->want_hp == 0)
			snprintf(ch->hugepages, sizeof ch->hugepages, "off");
		else
			tuning_format_pagesize(t->want_hp, ch->hugepages, sizeof ch->hugepages);
		any = true;
	}
	t->want_balloon = 0;
	t->want_hp = -1;
	return any;
}

static void
cancel_settle(struct tunev *t)
{
	if (t->settle >= 0)
		loop_cancel_timer(ui_loop(t->ui), t->settle);
	t->settle = -1;
}

/* Apply what the keys chose, unless a change is in flight (its end comes
 * back here). */
static void
flush(struct tunev *t)
{
	struct tchange ch;

	cancel_settle(t);
	if (t->apply != NULL || t->gone)
		return;
	memset(&ch, 0, sizeof ch);
	if (take_wants(t, &ch))
		start_apply(t->ui, t, &t->cfg, t->have_hi ? &t->hi : NULL, &ch);
	ui_intent(t->ui, UI_REDRAW);
}

static void
on_settle(void *arg)
{
	struct tunev *t = arg;

	t->settle = -1;
	flush(t);
}

static void
settle(struct tunev *t)
{
	cancel_settle(t);
	t->settle = loop_add_timer(ui_loop(t->ui), TUNEV_SETTLE_MS, on_settle, t);
}

/* ---- the grid's columns and the keys ---------------------------------- */

static void
cpus_add(struct cpuset *all, const struct cpuset *set)
{
	for (int i = 0; i < (int)(sizeof all->bits / sizeof all->bits[0]); i++)
		all->bits[i] |= set->bits[i];
}

/* The CPUs pinned in T's configuration, and those its vCPUs ran on last,
 * into ALL. */
static void
cpus_named(const struct tunev *t, struct cpuset *all)
{
	struct cpuset set;

	for (int v = 0; v < nvcpus(t); v++)
		if (tuning_vcpu_pin(&t->cfg, v, &set) == 1)
			cpus_add(all, &set);
	if (tuning_emulator_pin(&t->cfg, &set) == 1)
		cpus_add(all, &set);
	for (size_t v = 0; t->have_ts && v < t->ts.nvcpu; v++)
		if (t->ts.vcpu[v].cpu >= 0 && t->ts.vcpu[v].cpu < CPUSET_MAX)
			cpuset_add(all, t->ts.vcpu[v].cpu);
}

/*
 * The CPUs the grid shows: the host's own and any other a pin names (one
 * made on another host: it can be seen, and taken away), or while the host
 * has not named its CPUs, every CPU it counts, a pin names or the live
 * state allows (at least CPU 0, without gaps).
 */
static void
columns(struct tunev *t)
{
	struct cpuset all;

	cpuset_zero(&all);
	cpuset_zero(&t->named);
	if (t->have_hi && t->hi.ncpu > 0) {
		for (size_t i = 0; i < t->hi.ncpu; i++)
			cpuset_add(&t->named, t->hi.cpu[i].cpu);
		all = t->named;
		cpus_named(t, &all);
	} else {
		/* A host that counts its CPUs without naming them: 0 .. N-1. */
		for (int c = 0; t->have_hi && c < t->hi.ncpus && c < CPUSET_MAX; c++)
			cpuset_add(&all, c);
		cpuset_add(&all, 0);
		cpus_named(t, &all);
		for (size_t v = 0; t->have_ts && v < t->ts.nvcpu; v++)
			cpus_add(&all, &t->ts.vcpu[v].affinity);
		if (t->have_ts && t->ts.emulator_known)
			cpus_add(&all, &t->ts.emulator);
		for (int c = cpuset_last(&all); c > 0; c--)
			cpuset_add(&all, c - 1);
		t->named = all;
	}
	t->ncpus = 0;
	for (int c = 0; c < CPUSET_MAX; c++)
		if (cpuset_has(&all, c))
			t->cpus[t->ncpus++] = c;
	if (t->col >= t->ncpus)
		t->col = t->ncpus - 1;
	if (t->col < 0)
		t->col = 0;
}

static int
nrows(const struct tunev *t)
{
	return nvcpus(t) + 3;
}

/* Space on a grid cell: host CPU CPU in or out of row ROW's pin; CPU -1
 * (x): the row's own pin taken away. */
static int
toggle(struct tunev *t, int row, int cpu)
{
	struct cpuset set;
	struct tchange ch;
	bool emu = row == nvcpus(t);
	char list[TUNEV_SPEC - 16];
	int pinned;

	if (t->apply != NULL) {
		ui_status(t->ui, true, "VM '%s': a change is still being applied; press again "
		    "when it is done.", t->cfg.name);
		return UI_HANDLED | UI_REDRAW;
	}
	cancel_settle(t);
	memset(&ch, 0, sizeof ch);
	take_wants(t, &ch);
	pinned = tune_pin(&t->cfg, t->have_ts ? &t->ts : NULL, emu ? -1 : row, &set);
	if (pinned != 1 || cpu < 0)
		cpuset_zero(&set);
	if (cpu < 0) {
		/* nothing: off */
	} else if (cpuset_has(&set, cpu)) {
		struct cpuset less;

		cpuset_zero(&less);
		for (int c = 0; c < CPUSET_MAX; c++)
			if (c != cpu && cpuset_has(&set, c))
				cpuset_add(&less, c);
		set = less;
	} else {
		cpuset_add(&set, cpu);
	}
	cpuset_format(&set, list, sizeof list);
	if (emu)
		snprintf(ch.emulator, sizeof ch.emulator, "%s", list[0] != '\0' ? list : "off");
	else
		snprintf(ch.pin, sizeof ch.pin, "%d:%s", row, list[0] != '\0' ? list : "off");
	start_apply(t->ui, t, &t->cfg, t->have_hi ? &t->hi : NULL, &ch);
	return UI_HANDLED | UI_REDRAW;
}

/* The memory a running VM runs with (MiB), as the host says it; 0 when it
 * is not running or the host has not said. */
static int64_t
running_mib(const struct tunev *t)
{
	return t->have_ts && t->ts.max_kib > 0 ? t->ts.max_kib / 1024 : 0;
}

/* +/-: the balloon target a step (a sixteenth of the memory, at least
 * 16 MiB) up or down, between the floor and the memory (while it runs,
 * those of the memory it runs with too: tune_balloon_range). */
static int
balloon_key(struct tunev *t, int dir)
{
	int64_t floor, mem, step, to;

	if (!tune_balloon_range(&t->cfg, running_mib(t), &floor, &mem)) {
		ui_status(t->ui, true, "VM '%s' runs with %lld MiB and gets %lld MiB at its next "
		    "start: no balloon target suits both; restart it first.", t->cfg.name,
		    (long long)running_mib(t), (long long)t->cfg.memory_mib);
		return UI_HANDLED | UI_REDRAW;
	}
	step = mem / 16 > 16 ? mem / 16 : 16;
	to = balloon_target(t) + dir * step;
	if (to > mem)
		to = mem;
	if (to < floor)
		to = floor;
	if (to == balloon_target(t)) {
		ui_status(t->ui, false, "The balloon target of VM '%s' is at its %s, %lld MiB.",
		    t->cfg.name, dir > 0 ? "memory" : "floor", (long long)to);
		return UI_HANDLED | UI_REDRAW;
	}
	t->want_balloon = to;
	settle(t);
	return UI_HANDLED | UI_REDRAW;
}

/* h: hugepages off, then each page size the host offers (2M and 1G while
 * it has not said), in turn. */
static int
hugepage_key(struct tunev *t, int dir)
{
	int64_t sizes[HV_MAX_HUGEPOOLS + 1];
	int n = 0, at = -1;

	sizes[n++] = 0;
	if (t->have_hi) {
		for (size_t i = 0; i < t->hi.npools; i++)
			sizes[n++] = t->hi.pools[i].size_kib;
	} else {
		sizes[n++] = 2048;
		sizes[n++] = 1024 * 1024;
	}
	for (int i = 0; i < n; i++)
		if (sizes[i] == hugepages(t))
			at = i;
	if (n == 1) {
		ui_status(t->ui, true, "Host '%s' offers no hugepages.", t->cfg.host);
		return UI_HANDLED | UI_REDRAW;
	}
	t->want_hp = sizes[at < 0 ? 0 : (at + dir + n) % n];
	settle(t);
	return UI_HANDLED | UI_REDRAW;
}

static void
tunev_close(struct tunev *t)
{
	/* What the keys chose goes on: now, or after the change in flight. */
	if (t->settle >= 0 && t->apply == NULL) {
		flush(t);
	} else if (t->apply != NULL) {
		t->apply->after_balloon = t->want_balloon;
		t->apply->after_hp = t->want_hp;
	}
	ui_view_remove(t->ui, t);
}

static int
tunev_key(void *arg, int key)
{
	struct tunev *t = arg;
	int n = nrows(t), grid = nvcpus(t) + 1;

	columns(t);
	switch (key) {
	case K_ESC:
	case 'q':
		tunev_close(t);
		return UI_HANDLED | UI_REDRAW;
	case K_FN(KEY_UP):
	case 'k':
		t->row = t->row > 0 ? t->row - 1 : 0;
		return UI_HANDLED | UI_REDRAW;
	case K_FN(KEY_DOWN):
	case 'j':
		t->row = t->row < n - 1 ? t->row + 1 : n - 1;
		return UI_HANDLED | UI_REDRAW;
	case K_FN(KEY_PPAGE):
	case K_FN(KEY_HOME):
		t->row = 0;
		return UI_HANDLED | UI_REDRAW;
	case K_FN(KEY_NPAGE):
	case K_FN(KEY_END):
		t->row = n - 1;
		return UI_HANDLED | UI_REDRAW;
	case K_FN(KEY_LEFT):
	case K_FN(KEY_RIGHT): {
		int dir = key == K_FN(KEY_LEFT) ? -1 : 1;

		if (t->row == n - 1)
			return balloon_key(t, dir);
		if (t->row == n - 2)
			return hugepage_key(t, dir);
		t->col += dir;
		if (t->col < 0)
			t->col = 0;
		if (t->col >= t->ncpus)
			t->col = t->ncpus - 1;
		return UI_HANDLED | UI_REDRAW;
	}
	case ' ':
	case '\r':
	case K_FN(KEY_ENTER):
		if (t->row < grid && t->ncpus > 0)
			return toggle(t, t->row, t->cpus[t->col]);
		if (t->row == n - 2)
			return hugepage_key(t, 1);
		flush(t);
		return UI_HANDLED | UI_REDRAW;
	case 'x':
	case K_FN(KEY_DC):
		if (t->row < grid)
			return toggle(t, t->row, -1);
		return UI_HANDLED;
	case '+':
	case '=':
		return balloon_key(t, 1);
	case '-':
	case '_':
		return balloon_key(t, -1);
	case 'h':
		return hugepage_key(t, 1);
	case 'r':
	case K_CTRL('l'):
	case K_FN(KEY_F(5)):
		if (t->timer >= 0)
			loop_cancel_timer(ui_loop(t->ui), t->timer);
		t->timer = -1;
		if (!t->have_hi)
			t->hi_wait = 0;
		tunev_ask(t);
		return UI_HANDLED | UI_REDRAW;
	default:
		return UI_IGNORED;
	}
}

/* ---- drawing ------------------------------------------------------------ */

static int
digits(int n)
{
	int d = 1;

	while (n >= 10) {
		n /= 10;
		d++;
	}
	return d;
}

/* The cell of one row at host CPU C: pinned there, allowed to run there,
 * ran there last. */
static void
draw_cell(const struct tunev *t, int y, int x, int w, bool pinned, bool allowed, bool last,
    bool cursor)
{
	bool u = ui_utf8(t->ui);
	const char *g;
	char buf[32];

	if (pinned && allowed)
		g = u ? "\xe2\x97\x8f" : "#";		/* ● */
	else if (pinned)
		g = u ? "\xe2\x97\x8b" : "o";		/* ○ */
	else if (allowed)
		g = u ? "\xc2\xb7" : ".";		/* · */
	else
		g = " ";
	snprintf(buf, sizeof buf, "%*s%s%s%s", w - 3, "", last ? "[" : " ", g, last ? "]" : " ");
	attrset(cursor ? theme_attr(TH_SELECTED) : last ? theme_attr(TH_RUNNING) | A_BOLD :
	    pinned ? theme_attr(TH_HOST) : theme_attr(TH_DIM));
	ui_put(y, x, w, buf);
	attrset(A_NORMAL);
}

/* Grid row ROW (a vCPU, or the emulator) at Y, columns from the scroll
 * offset; SHOWN of them, W wide each. */
static void
draw_grid_row(struct tunev *t, int row, int y, int shown, int w, int cols)
{
	bool emu = row == nvcpus(t), live, pinned;
	const struct hv_vcpu *h = NULL;
	struct cpuset pin, allow;
	int x = TUNEV_LABEL_COLS, last = -1;
	char buf[TUNEV_SPEC + 64], list[TUNEV_SPEC];

	pinned = tune_pin(&t->cfg, t->have_ts ? &t->ts : NULL, emu ? -1 : row, &pin) == 1;
	if (!emu && t->have_ts && (size_t)row < t->ts.nvcpu)
		h = &t->ts.vcpu[row];
	live = emu ? t->have_ts && t->ts.emulator_known : h != NULL;
	if (live) {
		allow = emu ? t->ts.emulator : h->affinity;
		last = h != NULL ? h->cpu : -1;
	} else {
		allow = pin;
	}
	snprintf(buf, sizeof buf, emu ? " emulator" : " vCPU %d", row);
	attrset(t->row == row ? theme_attr(TH_HOST) : A_NORMAL);
	ui_put(y, 0, TUNEV_LABEL_COLS, buf);
	attrset(A_NORMAL);
	for (int i = 0; i < shown; i++, x += w) {
		int c = t->cpus[t->col_off + i];

		draw_cell(t, y, x, w, pinned && cpuset_has(&pin, c),
		    live || pinned ? cpuset_has(&allow, c) : true, c == last,
		    t->row == row && t->col == t->col_off + i);
	}
	if (pinned)
		cpuset_format(&pin, list, sizeof list);
	snprintf(buf, sizeof buf, "  %s%s", pinned ? "pin " : "no pin", pinned ? list : "");
	if (last >= 0)
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), ", last %d", last);
	ui_put(y, x, cols - x, buf);
}

/* The grid from row TOP to BOTTOM: a header of CPU numbers, the vCPUs and
 * the emulator, scrolled to keep the cursor in sight. */
static void
draw_grid(struct tunev *t, int top, int bottom, int cols)
{
	int w = digits(t->ncpus > 0 ? t->cpus[t->ncpus - 1] : 0) + 1, shown, height;
	int grid = nvcpus(t) + 1, x = TUNEV_LABEL_COLS;
	char buf[32];

	if (w < 3)
		w = 3;
	shown = (cols - TUNEV_LABEL_COLS - TUNEV_TEXT_COLS) / w;
	if (shown < 1)
		shown = 1;
	if (shown > t->ncpus)
		shown = t->ncpus;
	if (t->col < t->col_off)
		t->col_off = t->col;
	if (t->col >= t->col_off + shown)
		t->col_off = t->col - shown + 1;
	if (t->col_off > t->ncpus - shown)
		t->col_off = t->ncpus - shown;
	if (t->col_off < 0)
		t->col_off = 0;
	attrset(theme_attr(TH_HEADER));
	ui_put(top, 0, cols, t->col_off > 0 ? " CPU    <" : " CPU");
	for (int i = 0; i < shown; i++, x += w) {
		int c = t->cpus[t->col_off + i];

		/* A CPU only a pin names is dim: the host does not have it. */
		attrset(theme_attr(cpuset_has(&t->named, c) ? TH_HEADER : TH_DIM));
		snprintf(buf, sizeof buf, "%*d", w, c);
		ui_put(top, x, w, buf);
	}
	attrset(theme_attr(TH_HEADER));
	if (t->col_off + shown < t->ncpus)
		ui_put(top, x, 2, " >");
	attrset(A_NORMAL);
	height = bottom - top - 1;
	if (height < 1)
		return;
	if (t->row < grid && t->row < t->grid_top)
		t->grid_top = t->row;
	if (t->row < grid && t->row >= t->grid_top + height)
		t->grid_top = t->row - height + 1;
	if (t->grid_top > grid - height)
		t->grid_top = grid - height > 0 ? grid - height : 0;
	for (int r = t->grid_top, y = top + 1; r < grid && y < bottom; r++, y++)
		draw_grid_row(t, r, y, shown, w, cols);
}

static void
kib_text(char *buf, size_t len, const char *label, int64_t kib)
{
	size_t n = strlen(buf);

	if (kib >= 0)
		snprintf(buf + n, len - n, "%s %lld MiB", label, (long long)(kib / 1024));
	else
		snprintf(buf + n, len - n, "%s -", label);
}

/* One "Label  value" row; the cursor's row marked. */
static void
field(struct tunev *t, int y, int cols, int row, const char *label, const char *val)
{
	char buf[700];

	snprintf(buf, sizeof buf, " %-9s", label);
	attrset(t->row == row ? theme_attr(TH_SELECTED) : A_NORMAL);
	ui_put(y, 0, 10, buf);
	attrset(A_NORMAL);
	ui_put(y, 10, cols - 10, "");
	ui_put(y, 11, cols - 11, val);
}

/* Hugepages, the balloon, the memory and the guest's view from Y. */
static void
draw_memory(struct tunev *t, int y, int cols)
{
	int n = nrows(t);
	bool settling = t->settle >= 0 || t->want_balloon > 0 || t->want_hp >= 0;
	int64_t lo, hi, run = running_mib(t);
	char buf[600], ps[16];

	tuning_format_pagesize(hugepages(t), ps, sizeof ps);
	snprintf(buf, sizeof buf, "%s%s   (h: off or a size the host offers; at the next start)",
	    hugepages(t) > 0 ? ps : "off", t->want_hp >= 0 ? " (to apply)" : "");
	field(t, y++, cols, n - 2, "Hugepages", buf);
	snprintf(buf, sizeof buf, "target %lld MiB%s", (long long)balloon_target(t),
	    t->want_balloon > 0 && settling ? " (to apply)" : "");
	if (tune_balloon_range(&t->cfg, run, &lo, &hi))
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "   (+/-: %lld to %lld MiB)",
		    (long long)lo, (long long)hi);
	else
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "   (none fits: restart)");
	field(t, y++, cols, n - 1, "Balloon", buf);
	/* While it runs, the memory it started with; a maximum waiting for
	 * its next start is said apart. */
	snprintf(buf, sizeof buf, "max %lld MiB", (long long)(run > 0 ? run : t->cfg.memory_mib));
	if (run > 0 && run != t->cfg.memory_mib)
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), " (%lld at the next start)",
		    (long long)t->cfg.memory_mib);
	if (t->have_ts)
		kib_text(buf, sizeof buf, ", actual", t->ts.balloon_kib);
	else
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), ", %s",
		    t->live ? "actual not known" : "not running");
	field(t, y++, cols, -1, "Memory", buf);
	buf[0] = '\0';
	if (t->have_ts) {
		kib_text(buf, sizeof buf, "total", t->ts.guest_total_kib);
		kib_text(buf, sizeof buf, ", free", t->ts.guest_free_kib);
		kib_text(buf, sizeof buf, ", available", t->ts.guest_available_kib);
	} else {
		snprintf(buf, sizeof buf, "-");
	}
	field(t, y, cols, -1, "Guest", buf);
}

/* What went wrong asking the host, wrapped from *Y to BOTTOM. */
static void
message(int *y, int bottom, int cols, enum theme_role role, const char *text)
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

static void
tunev_draw(void *arg, int top, int rows, int cols)
{
	struct tunev *t = arg;
	int bottom = top + rows, mem = bottom - TUNEV_BOTTOM_ROWS + 1, y;
	bool u = ui_utf8(t->ui);
	/* Stopped, what waited for a restart is its configuration. */
	const char *pending = vm_state_stopped(t->state) ? NULL : t->cfg.pending;
	char buf[1200];

	columns(t);
	erase();
	attrset(theme_attr(TH_HEADER));
	snprintf(buf, sizeof buf, " Tune VM %s on %s (%s)%s%s%s", t->cfg.name, t->cfg.host,
	    t->state, t->apply != NULL ? ": applying..." : "",
	    pending != NULL ? "   pending restart: " : "", pending != NULL ? pending : "");
	ui_put(top, 0, cols, buf);
	attrset(A_NORMAL);
	snprintf(buf, sizeof buf, " %s pinned  %s may run  %s not in effect  [ ] ran last",
	    u ? "\xe2\x97\x8f" : "#", u ? "\xc2\xb7" : ".", u ? "\xe2\x97\x8b" : "o");
	if (t->have_hi)
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "   host CPUs: %d",
		    t->hi.ncpus);
	attrset(theme_attr(TH_DIM));
	ui_put(top + 1, 0, cols, buf);
	attrset(A_NORMAL);
	draw_grid(t, top + 2, mem - 1, cols);
	draw_memory(t, mem, cols);
	y = mem + 4;
	if (t->gone)
		message(&y, bottom, cols, TH_ERROR, t->ts_error);
	else if (t->ts_error[0] != '\0')
		message(&y, bottom, cols, TH_ERROR, t->ts_error);
	else if (!t->live && t->state[0] != '\0')
		message(&y, bottom, cols, TH_DIM, "Not running: the grid shows the pins it gets "
		    "at its next start.");
	if (!t->have_hi && t->hi_error[0] != '\0') {
		snprintf(buf, sizeof buf, "Host CPUs not known: %s", t->hi_error);
		message(&y, bottom, cols, TH_DIM, buf);
	}
}

/* ---- the view ------------------------------------------------------------ */

static void
tunev_reload(void *arg)
{
	struct tunev *t = arg;
	struct vm_config c;

	/* A change on its way is shown once written (it reloads then). */
	if (t->apply != NULL)
		return;
	if (vm_load(ui_db(t->ui), t->cfg.id, &c) != 0) {
		snprintf(t->ts_error, sizeof t->ts_error, "%s", err_get());
		t->gone = true;
		return;
	}
	vm_config_clear(&t->cfg);
	t->cfg = c;
	if (t->row >= nrows(t))
		t->row = nrows(t) - 1;
}

static void
tunev_free(void *arg)
{
	struct tunev *t = arg;

	if (t->fetch != NULL)
		t->fetch->t = NULL;
	if (t->apply != NULL)
		t->apply->t = NULL;
	if (t->timer >= 0)
		loop_cancel_timer(ui_loop(t->ui), t->timer);
	cancel_settle(t);
	hv_tune_state_clear(&t->ts);
	hv_host_info_clear(&t->hi);
	vm_config_clear(&t->cfg);
	free(t->cpus);
	free(t);
}

static const struct view tune_view = {
	.name = "tune",
	.free = tunev_free,
	.reload = tunev_reload,
	.draw = tunev_draw,
	.key = tunev_key,
	.hints = tunev_hints,
	.hints_ascii = tunev_hints,
	.help = tunev_help,
};

int
tune_view_open(struct ui *ui, const struct vm_config *c)
{
	struct tunev *t = xcalloc(1, sizeof *t);

	t->ui = ui;
	vm_config_copy(&t->cfg, c);
	snprintf(t->state, sizeof t->state, "%s", c->state != NULL ? c->state : "");
	t->timer = t->settle = -1;
	t->want_hp = -1;
	t->cpus = xcalloc(CPUSET_MAX, sizeof *t->cpus);
	if (ui_view_add(ui, &tune_view, t) != 0) {
		tunev_free(t);
		return -1;
	}
	ui_view_show(ui, t);
	tunev_ask(t);
	return 0;
}
