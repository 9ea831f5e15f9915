/* The clone dialog (key K on a stopped VM): a prompt for the new name,
 * then full or linked; the clone is made by ops/clone on a long lane with
 * the inventory's own connection there (never the UI thread's), its
 * progress and outcome on the status line, and the list reloads. */
#include "ui/overlay.h"
#include "ui/ui_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/hv.h"
#include "model/db.h"
#include "model/host.h"
#include "model/vm.h"
#include "ops/clone.h"
#include "util/err.h"
#include "util/job.h"
#include "util/xalloc.h"

struct cjob {
	struct ui *ui;
	struct jobs *jobs;
	struct vm_config cfg;	/* the source as the inventory had it */
	struct host host;
	char *inventory;	/* its path, for the lane's own connection */
	char *name;		/* the clone's */
	bool linked;
	int rc;
	char error[1024];
	char note[1024];
};

/* A line of progress, on its way to the UI thread. */
struct cprog {
	struct ui *ui;
	char line[256];
};

static void
cjob_free(struct cjob *j)
{
	vm_config_clear(&j->cfg);
	host_clear(&j->host);
	free(j->inventory);
	free(j->name);
	free(j);
}

static void
progress_ui(void *arg)
{
	struct cprog *p = arg;

	ui_status(p->ui, false, "%s", p->line);
	ui_intent(p->ui, UI_REDRAW);
	free(p);
}

/* On the lane: hand the step over to the UI thread. */
static void
on_progress(const char *step, int percent, void *arg)
{
	struct cjob *j = arg;
	struct cprog *p = xcalloc(1, sizeof *p);

	p->ui = j->ui;
	if (percent >= 0)
		snprintf(p->line, sizeof p->line, "Cloning VM '%s' to '%s': %s, %d%%...",
		    j->cfg.name, j->name, step, percent);
	else
		snprintf(p->line, sizeof p->line, "Cloning VM '%s' to '%s': %s...", j->cfg.name,
		    j->name, step);
	jobs_post(j->jobs, progress_ui, p);
}

static void
work(void *arg)
{
	struct cjob *j = arg;
	struct clone_opts o = { j->name, j->linked, NULL, NULL, on_progress, j, NULL };
	struct vm_config out;
	struct hv *hv = NULL;
	struct db *db = NULL;

	j->rc = -1;
	if ((db = db_open(j->inventory)) != NULL && (hv = hv_open(&j->host)) != NULL &&
	    (j->rc = clone_vm(db, hv, &j->cfg, &o, &out, j->note, sizeof j->note)) == 0)
		vm_config_clear(&out);
	if (j->rc != 0)
		snprintf(j->error, sizeof j->error, "%s", err_get());
	hv_close(hv);
	db_close(db);
}

static void
done(void *arg)
{
	struct cjob *j = arg;

	if (j->rc != 0)
		ui_status(j->ui, true, "%s", j->error);
	else if (j->note[0] != '\0')
		ui_status(j->ui, false, "VM '%s' cloned from '%s' (%s). %s.", j->name, j->cfg.name,
		    j->linked ? "linked" : "full copy", j->note);
	else
		ui_status(j->ui, false, "VM '%s' cloned from '%s' (%s).", j->name, j->cfg.name,
		    j->linked ? "linked" : "full copy");
	ui_intent(j->ui, UI_RELOAD | UI_REDRAW);
	cjob_free(j);
}

static const char *const kinds[] = {
	"f\tFull copy: disks of its own",
	"l\tLinked: overlays on a snapshot of it",
	NULL,
};

static int
on_kind(struct ui *ui, int choice, const char *input, void *arg)
{
	struct cjob *j = arg;
	struct lane *lane;

	(void)input;
	if (choice < 0) {
		ui_status(ui, false, "Cancelled; nothing was cloned.");
		cjob_free(j);
		return UI_HANDLED | UI_REDRAW;
	}
	j->linked = choice == 1;
	if ((lane = ui_long_lane(ui)) == NULL || job_submit(lane, work, done, j) != 0) {
		ui_status(ui, true, "%s", err_get());
		cjob_free(j);
		return UI_HANDLED | UI_REDRAW;
	}
	ui_status(ui, false, "Cloning VM '%s' to '%s' (%s)...", j->cfg.name, j->name,
	    j->linked ? "linked" : "full copy");
	return UI_HANDLED | UI_REDRAW;
}

static int
on_name(struct ui *ui, int choice, const char *input, void *arg)
{
	struct cjob *j = arg;
	char title[160];

	if (choice < 0 || input == NULL || input[0] == '\0') {
		ui_status(ui, false, "Cancelled; nothing was cloned.");
		cjob_free(j);
		return UI_HANDLED | UI_REDRAW;
	}
	j->name = xstrdup(input);
	snprintf(title, sizeof title, "Clone '%s' as '%s'", j->cfg.name, j->name);
	if (!ui_push(ui, overlay_menu(title, kinds, on_kind, j)))
		cjob_free(j);
	return UI_HANDLED | UI_REDRAW;
}

int
clone_dialog_open(struct ui *ui, const struct vm_config *c)
{
	struct cjob *j;
	char title[160], *initial;

	if (!vm_state_stopped(c->state))
		return err_set("VM '%s' is %s; shut it down first to clone it", c->name,
		    c->state != NULL ? c->state : "in an unknown state");
	j = xcalloc(1, sizeof *j);
	j->ui = ui;
	j->jobs = ui_jobs(ui);
	vm_config_copy(&j->cfg, c);
	j->inventory = xstrdup(db_path(ui_db(ui)));
	if (host_get(ui_db(ui), c->host, &j->host) != 0) {
		cjob_free(j);
		return -1;
	}
	snprintf(title, sizeof title, "Clone VM '%s'", c->name);
	initial = xasprintf("%s-clone", c->name);
	if (!ui_push(ui, overlay_prompt(title, "New name:", initial, on_name, j)))
		cjob_free(j);
	free(initial);
	return 0;
}
