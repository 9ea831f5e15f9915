/*
 * The new-VM wizard: host -> template -> name -> CPU/memory -> storage ->
 * network -> cloud-init -> review -> create, with back and forward, each
 * step's fields checked when it is left (provision_check_field).  The
 * device choices (machine type, disk bus, NIC model) show their trade-off
 * under the one in focus (vm_choice_hint); a libvirt host is not offered
 * microvm, and the wizard says so.  The
 * work (disk, seed ISO, definition) runs on the host's fleet lane; the
 * inventory row is written here on the UI thread when it is done, and a
 * failure to write it takes the work back on the lane.
 */
#include "ui/formw.h"
#include "ui/ui_priv.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/fleet.h"
#include "ops/image.h"
#include "ops/provision.h"
#include "model/db.h"
#include "model/host.h"
#include "model/journal.h"
#include "model/template.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/job.h"
#include "util/num.h"
#include "util/xalloc.h"

enum wstep { W_HOST, W_TEMPLATE, W_NAME, W_CPUMEM, W_STORAGE, W_NETWORK, W_CLOUD, W_REVIEW,
	W_NSTEPS };

static const char *const step_names[W_NSTEPS] = {
	"Host", "Template", "Name", "CPU / memory", "Storage", "Network", "Cloud-init", "Review",
};

/* The text fields (host and template are lists). */
enum wfield { F_NAME, F_CPUS, F_MEMORY, F_MACHINE, F_DISK, F_SIZE, F_IMAGE, F_ISO, F_KERNEL,
	F_INITRD, F_CMDLINE, F_POOL, F_BUS, F_NETWORK, F_NIC_MODEL, F_USER, F_KEY, F_HOSTNAME,
	F_COUNT };

static const struct {
	enum wstep step;
	const char *label;
} fields[F_COUNT] = {
	[F_NAME] = { W_NAME, "Name" },
	[F_CPUS] = { W_CPUMEM, "vCPUs" },
	[F_MEMORY] = { W_CPUMEM, "Memory (MiB or 2G)" },
	[F_MACHINE] = { W_CPUMEM, "Machine (Left/Right)" },
	[F_DISK] = { W_STORAGE, "Disk (Left/Right)" },
	[F_SIZE] = { W_STORAGE, "Disk size" },
	[F_IMAGE] = { W_STORAGE, "Image / disk file" },
	[F_ISO] = { W_STORAGE, "ISO (CD-ROM)" },
	[F_KERNEL] = { W_STORAGE, "Kernel" },
	[F_INITRD] = { W_STORAGE, "Initrd" },
	[F_CMDLINE] = { W_STORAGE, "Kernel cmdline" },
	[F_POOL] = { W_STORAGE, "Storage pool" },
	[F_BUS] = { W_STORAGE, "Disk bus (Left/Right)" },
	[F_NETWORK] = { W_NETWORK, "Network (user, none, bridge:BR, network:NET)" },
	[F_NIC_MODEL] = { W_NETWORK, "NIC model (Left/Right)" },
	[F_USER] = { W_CLOUD, "User (empty: the image's)" },
	[F_KEY] = { W_CLOUD, "SSH public key file" },
	[F_HOSTNAME] = { W_CLOUD, "Hostname" },
};

static const char *const disk_kinds[] = {
	[PROV_DISK_NONE] = "none", [PROV_DISK_NEW] = "new qcow2",
	[PROV_DISK_OVERLAY] = "overlay on an image", [PROV_DISK_COPY] = "copy of an image",
	[PROV_DISK_EXISTING] = "existing disk", [PROV_DISK_EXISTING + 1] = NULL,
};

#define WF_LEN 512

struct wizard {
	struct ui *ui;
	enum wstep step;
	int focus;			/* the field in focus within the step */
	struct host *hosts;
	size_t nhosts;
	int host_sel;
	struct template *tpls;
	size_t ntpls;
	int tpl_sel;
	int tpl_applied;		/* the template the plan has; -1 none */
	struct provision_plan plan;
	char text[F_COUNT][WF_LEN];
	/* The device choices: indexes into machines (vm_machines, or
	 * vm_machines_libvirt on a libvirt host), vm_disk_buses and
	 * vm_nic_models. */
	const char *const *machines;
	int machine, bus, nic_model;
	char error[1100];
	char typeahead[32];
	bool busy;
	atomic_bool cancel;		/* Esc while busy: provision_build stops */
	/* The job on the host's lane. */
	struct vm_config made_cfg;
	struct provision_made *made;
	int rc;
	char job_error[1024];
	/* error is at least as long as job_error plus a prefix. */
	/* The template's image, downloaded into the cache before the VM is
	 * made (no image given): its size (HEAD, on the lane), whether it is
	 * cached already, and the download's progress. */
	enum { DL_NONE, DL_SIZING, DL_SIZED, DL_PULLING } dl;
	int64_t dl_size;
	char *dl_cached;		/* the cached file; NULL: not cached */
	char *dl_path;			/* what the pull gave */
	struct fetch_progress dl_prog;
	bool dl_have_prog;
};

static const char *const wizard_hints[] = {
	"Enter", "Next", "Esc", "Back", "Tab", "Field", "F9", "Review", "Ctrl-U", "Clear",
	NULL, NULL,
};

static const char *const wizard_help[] = {
	"New VM",
	"Enter\tcheck this step and go to the next; on Review: create",
	"Esc Shift-Tab\tback one step (on the first: close the wizard)",
	"Tab Down / Up\tthe next / previous field of the step",
	"Up/Down letters\ton a list: choose (typing jumps by name)",
	"Left/Right Space\ta choice: the disk, machine type, disk bus and NIC model",
	"\t(the line under the one in focus says what it costs)",
	"F9 Ctrl-X\tcheck every step and go to Review",
	"Ctrl-U\tclear the field",
	NULL,
};

/* Is field F shown (and used) now? */
static bool
field_used(const struct wizard *w, enum wfield f)
{
	const struct provision_plan *p = &w->plan;

	switch (f) {
	case F_SIZE:
		return p->disk == PROV_DISK_NEW || p->disk == PROV_DISK_OVERLAY ||
		    p->disk == PROV_DISK_COPY;
	case F_IMAGE:
		return p->disk == PROV_DISK_OVERLAY || p->disk == PROV_DISK_COPY ||
		    p->disk == PROV_DISK_EXISTING;
	case F_KERNEL:
	case F_INITRD:
	case F_CMDLINE:
		return p->template_source == TPL_KERNEL || w->text[F_KERNEL][0] != '\0' ||
		    (p->machine != NULL && strcmp(p->machine, "microvm") == 0);
	case F_POOL:
		return !p->builtin;
	case F_BUS:
		return p->disk != PROV_DISK_NONE;
	default:
		return true;
	}
}

/* The fields of step S in order, into OUT; their count. */
static int
step_fields(const struct wizard *w, enum wstep s, enum wfield *out)
{
	int n = 0;

	for (int f = 0; f < F_COUNT; f++)
		if (fields[f].step == s && field_used(w, (enum wfield)f))
			out[n++] = (enum wfield)f;
	return n;
}

static bool
step_used(const struct wizard *w, enum wstep s)
{
	return s != W_CLOUD || w->plan.cloud_init;
}

/* The index of WORD in the NULL-terminated CHOICES; 0 when it is not one. */
static int
choice_index(const char *const *choices, const char *word)
{
	for (int i = 0; word != NULL && choices[i] != NULL; i++)
		if (strcmp(choices[i], word) == 0)
			return i;
	return 0;
}

/* The machine types the host offers, the plan's chosen among them. */
static void
sync_machine(struct wizard *w)
{
	w->machines = w->plan.builtin ? vm_machines : vm_machines_libvirt;
	w->machine = choice_index(w->machines, w->plan.machine);
}

static void
set_text(struct wizard *w, enum wfield f, const char *s)
{
	snprintf(w->text[f], WF_LEN, "%s", s != NULL ? s : "");
}

static char *
text_or_null(const struct wizard *w, enum wfield f)
{
	return w->text[f][0] != '\0' ? xstrdup(w->text[f]) : NULL;
}

/* A free name: the last VM's of the template with its number + 1, else
 * "TEMPLATE-1". */
static void
suggest_name(struct wizard *w, const char *last)
{
	char base[128], *spec, cand[160];
	size_t n;
	int64_t id;
	long num = 1;

	snprintf(base, sizeof base, "%s", last != NULL ? last : w->plan.template_name);
	n = strlen(base);
	while (n > 0 && base[n - 1] >= '0' && base[n - 1] <= '9')
		n--;
	if (last != NULL && base[n] != '\0') {
		num = strtol(base + n, NULL, 10) + 1;
		base[n] = '\0';
	} else if (last != NULL) {
		snprintf(base + strlen(base), sizeof base - strlen(base), "-");
	} else {
		snprintf(base + strlen(base), sizeof base - strlen(base), "-");
	}
	for (;; num++) {
		snprintf(cand, sizeof cand, "%s%ld", base, num);
		spec = xasprintf("%s/%s", w->plan.host, cand);
		if (vm_resolve(ui_db(w->ui), spec, &id) != 0) {
			free(spec);
			break;
		}
		free(spec);
	}
	set_text(w, F_NAME, cand);
	err_clear();
}

/* The plan gets the template's defaults, the fields the plan's values;
 * a kernel template takes kernel and initrd from its last VM. */
static void
apply_template(struct wizard *w)
{
	struct provision_plan *p = &w->plan;
	const struct template *t = &w->tpls[w->tpl_sel];
	char *host = xstrdup(p->host), size[32];
	bool builtin = p->builtin;
	struct vm_config last;
	int64_t id = 0;
	bool have_last;

	provision_clear(p);
	provision_init(p);
	p->host = host;
	p->builtin = builtin;
	provision_from_template(p, t);
	w->tpl_applied = w->tpl_sel;
	have_last = vm_last_from_template(ui_db(w->ui), t->name, &id) == 0 && id != 0 &&
	    vm_load(ui_db(w->ui), id, &last) == 0;
	suggest_name(w, have_last ? last.name : NULL);
	snprintf(w->text[F_CPUS], WF_LEN, "%d", p->cpus);
	snprintf(w->text[F_MEMORY], WF_LEN, "%lld", (long long)p->memory_mib);
	provision_format_size(p->disk_bytes, size, sizeof size);
	set_text(w, F_SIZE, p->disk_bytes > 0 ? size : "");
	set_text(w, F_IMAGE, "");
	set_text(w, F_ISO, "");
	set_text(w, F_KERNEL, have_last ? last.kernel : NULL);
	set_text(w, F_INITRD, have_last ? last.initrd : NULL);
	set_text(w, F_CMDLINE, p->cmdline);
	set_text(w, F_POOL, "");
	set_text(w, F_NETWORK, p->network);
	set_text(w, F_USER, "");
	set_text(w, F_KEY, "");
	set_text(w, F_HOSTNAME, "");
	sync_machine(w);
	w->bus = choice_index(vm_disk_buses, p->disk_bus);
	w->nic_model = choice_index(vm_nic_models, p->nic_model);
	if (have_last)
		vm_config_clear(&last);
}

/* Read step S's fields into the plan; -1 + err for what cannot be read. */
static int
read_step(struct wizard *w, enum wstep s)
{
	struct provision_plan *p = &w->plan;

	switch (s) {
	case W_NAME:
		free(p->name);
		p->name = text_or_null(w, F_NAME);
		return 0;
	case W_CPUMEM:
		if (vm_parse_cpus(w->text[F_CPUS], &p->cpus) != 0 ||
		    vm_parse_memory(w->text[F_MEMORY], &p->memory_mib) != 0)
			return -1;
		/* Graphics are the template's; a microvm's none (no display). */
		provision_set_machine(p, w->machines[w->machine],
		    strcmp(w->machines[w->machine], "microvm") == 0 || w->tpl_applied < 0 ? NULL :
		    w->tpls[w->tpl_applied].graphics);
		return 0;
	case W_STORAGE:
		if (field_used(w, F_SIZE)) {
			if (w->text[F_SIZE][0] == '\0')
				p->disk_bytes = 0;
			else if (provision_parse_size(w->text[F_SIZE], &p->disk_bytes) != 0)
				return -1;
		}
		free(p->image);
		p->image = field_used(w, F_IMAGE) ? text_or_null(w, F_IMAGE) : NULL;
		free(p->iso);
		p->iso = text_or_null(w, F_ISO);
		free(p->kernel);
		p->kernel = text_or_null(w, F_KERNEL);
		free(p->initrd);
		p->initrd = text_or_null(w, F_INITRD);
		free(p->cmdline);
		p->cmdline = text_or_null(w, F_CMDLINE);
		free(p->pool);
		p->pool = text_or_null(w, F_POOL);
		free(p->disk_bus);
		p->disk_bus = xstrdup(vm_disk_buses[w->bus]);
		return 0;
	case W_NETWORK:
		free(p->network);
		p->network = xstrdup(w->text[F_NETWORK][0] != '\0' ? w->text[F_NETWORK] : "none");
		free(p->nic_model);
		p->nic_model = xstrdup(vm_nic_models[w->nic_model]);
		return 0;
	case W_CLOUD:
		free(p->ci_user);
		p->ci_user = text_or_null(w, F_USER);
		free(p->hostname);
		p->hostname = text_or_null(w, F_HOSTNAME);
		free(p->ssh_key);
		p->ssh_key = NULL;
		if (w->text[F_KEY][0] != '\0')
			return provision_read_key(w->text[F_KEY], &p->ssh_key);
		return 0;
	default:
		return 0;
	}
}

/* The template's image is to be downloaded: it has a url, the host is
 * the built-in one (a libvirt host's files are its own) and the disk
 * stands on an image that was not given. */
static bool
wants_pull(const struct wizard *w)
{
	const struct template *t = w->tpl_applied >= 0 ? &w->tpls[w->tpl_applied] : NULL;

	return t != NULL && t->url != NULL && t->source != TPL_ISO && w->plan.builtin &&
	    (w->plan.disk == PROV_DISK_OVERLAY || w->plan.disk == PROV_DISK_COPY ||
	    w->plan.disk == PROV_DISK_EXISTING) && w->text[F_IMAGE][0] == '\0';
}

static void
pull_source(const struct wizard *w, struct image_source *s)
{
	if (image_source_from_template(&w->tpls[w->tpl_applied], s) != 0)
		memset(s, 0, sizeof *s);
	/* The review said so, and Enter there is the confirmation. */
	s->insecure = true;
}

/* On the lane: the size of the download. */
static void
work_size(struct hv *hv, void *arg)
{
	struct wizard *w = arg;
	struct image_source s;

	(void)hv;
	pull_source(w, &s);
	if (image_remote_size(&s, &w->cancel, &w->dl_size) != 0) {
		w->dl_size = -1;
		snprintf(w->job_error, sizeof w->job_error, "%s", err_get());
	}
}

static void
done_size(void *arg)
{
	struct wizard *w = arg;

	w->busy = false;
	w->dl = DL_SIZED;
	if (w->job_error[0] != '\0')
		snprintf(w->error, sizeof w->error, "%s", w->job_error);
	ui_intent(w->ui, UI_REDRAW);
}

/* On reaching the review: is the image cached, else how big is it. */
static void
size_download(struct wizard *w)
{
	struct image_source s;

	free(w->dl_cached);
	w->dl_cached = NULL;
	w->dl = DL_NONE;
	if (!wants_pull(w))
		return;
	pull_source(w, &s);
	if (image_cached(&s, &w->dl_cached)) {
		w->dl = DL_SIZED;
		return;
	}
	w->dl_size = -1;
	w->job_error[0] = '\0';
	atomic_store(&w->cancel, false);
	if (fleet_run(ui_fleet(w->ui), w->plan.host, work_size, done_size, w) != 0) {
		w->dl = DL_SIZED;
		return;
	}
	w->dl = DL_SIZING;
	w->busy = true;
}

/* Check step S: read its fields, then the plan's checks for them. */
static int
check_step(struct wizard *w, enum wstep s)
{
	static const enum provision_field checks[W_NSTEPS][4] = {
		[W_HOST] = { PROV_F_HOST, PROV_F_COUNT },
		[W_TEMPLATE] = { PROV_F_TEMPLATE, PROV_F_COUNT },
		[W_NAME] = { PROV_F_NAME, PROV_F_COUNT },
		[W_CPUMEM] = { PROV_F_CPUS, PROV_F_MEMORY, PROV_F_MACHINE, PROV_F_COUNT },
		[W_STORAGE] = { PROV_F_DISK, PROV_F_ISO, PROV_F_KERNEL, PROV_F_COUNT },
		[W_NETWORK] = { PROV_F_NETWORK, PROV_F_COUNT },
		[W_CLOUD] = { PROV_F_CLOUD_INIT, PROV_F_COUNT },
		[W_REVIEW] = { PROV_F_COUNT },
	};
	int64_t id;

	if (s == W_TEMPLATE && w->tpl_applied != w->tpl_sel)
		apply_template(w);
	if (read_step(w, s) != 0)
		return -1;
	for (int i = 0; i < 4 && checks[s][i] != PROV_F_COUNT; i++)
		if ((checks[s][i] != PROV_F_DISK || !wants_pull(w)) &&
		    provision_check_field(&w->plan, checks[s][i]) != 0)
			return -1;
	if (s == W_NAME) {
		char *spec = xasprintf("%s/%s", w->plan.host, w->plan.name);
		int found = vm_resolve(ui_db(w->ui), spec, &id) == 0;

		free(spec);
		err_clear();
		if (found)
			return err_set("name: a VM named '%s' already exists on host '%s'; choose "
			    "another name", w->plan.name, w->plan.host);
	}
	return 0;
}

static void
go_step(struct wizard *w, enum wstep s)
{
	w->step = s;
	w->focus = 0;
	w->typeahead[0] = '\0';
}

/* Forward from the current step when it checks out. */
static int
next_step(struct wizard *w)
{
	enum wstep s = w->step;

	if (check_step(w, s) != 0) {
		snprintf(w->error, sizeof w->error, "%s", err_get());
		return UI_HANDLED | UI_REDRAW;
	}
	w->error[0] = '\0';
	do
		s++;
	while (s < W_REVIEW && !step_used(w, s));
	go_step(w, s);
	if (s == W_REVIEW)
		size_download(w);
	return UI_HANDLED | UI_REDRAW;
}

/* F9: check every step from here on, stopping at the first problem. */
static int
to_review(struct wizard *w)
{
	while (w->step < W_REVIEW) {
		enum wstep was = w->step;

		next_step(w);
		if (w->step == was)
			break;
	}
	return UI_HANDLED | UI_REDRAW;
}

static void
wizard_close(struct wizard *w)
{
	ui_view_remove(w->ui, w);
}

/* ---- creating, on the host's lane ------------------------------------- */

static void
work_create(struct hv *hv, void *arg)
{
	struct wizard *w = arg;

	w->rc = provision_build(hv, &w->plan, NULL, NULL, &w->made_cfg, &w->made);
	if (w->rc != 0)
		snprintf(w->job_error, sizeof w->job_error, "%s", err_get());
}

static void
work_undo(struct hv *hv, void *arg)
{
	struct provision_made *m = arg;

	provision_undo(hv, m);
}

static void
done_nothing(void *arg)
{
	(void)arg;
}

/* The inventory's part of a creation, on the writer's lane: the VM and
 * its journal entry, then the creation's record ends (what was made is
 * kept).  A VM the inventory refuses is taken back on its host's lane. */
struct create_write {
	struct ui *ui;
	struct vm_config cfg;
	struct provision_made *made;
	char *host, *name;
	char msg[1200];
};

static int
create_write(struct db *db, void *arg)
{
	struct create_write *cw = arg;
	int rc = vm_insert(db, &cw->cfg);

	if (rc != 0)
		snprintf(cw->msg, sizeof cw->msg, "Adding the VM to the inventory failed: %s",
		    err_get());
	journal_add(db, cw->host, cw->name, "create", rc == 0, cw->msg);
	if (rc != 0)
		return err_set("%s", cw->msg);
	provision_keep(cw->made);
	cw->made = NULL;
	return 0;
}

static void
create_written(void *arg, int rc, const char *error)
{
	struct create_write *cw = arg;

	if (rc != 0) {
		if (cw->made != NULL &&
		    fleet_run(ui_fleet(cw->ui), cw->host, work_undo, done_nothing, cw->made) != 0)
			provision_keep(cw->made);
		ui_status(cw->ui, true, "%s", error);
	} else {
		ui_status(cw->ui, false, "VM '%s' created on host '%s'.", cw->name, cw->host);
	}
	ui_intent(cw->ui, UI_RELOAD);
	vm_config_clear(&cw->cfg);
	free(cw->host);
	free(cw->name);
	free(cw);
}

static void
done_create(void *arg)
{
	struct wizard *w = arg;
	struct create_write *cw;
	struct ui *ui;
	char what[400];

	w->busy = false;
	w->plan.cancel = NULL;
	if (w->rc != 0 && atomic_load(&w->cancel))
		snprintf(w->job_error, sizeof w->job_error, "Cancelled; nothing was made.");
	if (w->rc != 0) {
		ui_journal(w->ui, w->plan.host, w->plan.name, "create", false, w->job_error);
		snprintf(w->error, sizeof w->error, "%s", w->job_error);
		vm_config_clear(&w->made_cfg);
		ui_intent(w->ui, UI_REDRAW);
		return;
	}
	cw = xcalloc(1, sizeof *cw);
	ui = cw->ui = w->ui;
	cw->cfg = w->made_cfg;
	memset(&w->made_cfg, 0, sizeof w->made_cfg);
	cw->made = w->made;
	w->made = NULL;
	cw->host = xstrdup(w->plan.host);
	cw->name = xstrdup(w->plan.name);
	snprintf(cw->msg, sizeof cw->msg, "created from template '%s' with %d vCPU(s), %lld MiB, "
	    "%zu disk(s)", w->plan.template_name, vm_config_cpus(&cw->cfg),
	    (long long)cw->cfg.memory_mib, cw->cfg.ndisks);
	snprintf(what, sizeof what, "the new VM '%s' on host '%s'", cw->name, cw->host);
	ui_write(ui, what, create_write, create_written, cw);
	wizard_close(w);
	ui_intent(ui, UI_REDRAW);
}

static void done_pull(void *arg);

/* A download's progress, from the lane to the UI thread. */
struct pull_prog {
	struct wizard *w;
	struct fetch_progress p;
};

static void
pull_prog_ui(void *arg)
{
	struct pull_prog *pp = arg;

	pp->w->dl_prog = pp->p;
	pp->w->dl_have_prog = true;
	ui_intent(pp->w->ui, UI_REDRAW);
	free(pp);
}

static void
on_pull_progress(const struct fetch_progress *p, int done, void *arg)
{
	struct wizard *w = arg;
	struct pull_prog *pp = xcalloc(1, sizeof *pp);

	(void)done;
	pp->w = w;
	pp->p = *p;
	jobs_post(ui_jobs(w->ui), pull_prog_ui, pp);
}

/* On the lane: the template's image into the cache. */
static void
work_pull(struct hv *hv, void *arg)
{
	struct wizard *w = arg;
	struct image_source s;
	struct image_pull_opts o = { .cancel = &w->cancel, .progress = on_pull_progress, .arg = w };
	bool cached;

	(void)hv;
	pull_source(w, &s);
	w->rc = image_pull(&s, &o, &w->dl_path, &cached);
	if (w->rc != 0)
		snprintf(w->job_error, sizeof w->job_error, "%s", err_get());
}

static int create(struct wizard *w);

static void
done_pull(void *arg)
{
	struct wizard *w = arg;

	w->busy = false;
	w->dl = DL_SIZED;
	if (w->rc != 0) {
		if (atomic_load(&w->cancel)) {
			snprintf(w->job_error, sizeof w->job_error, "Download cancelled; the "
			    "partial file stays in the image cache and the next try resumes it.");
			/* (The status line said it was cancelling: it is done.) */
			ui_status(w->ui, false, "%s", w->job_error);
		}
		ui_journal(w->ui, w->plan.host, w->plan.name, "create", false, w->job_error);
		snprintf(w->error, sizeof w->error, "%s", w->job_error);
		ui_intent(w->ui, UI_REDRAW);
		return;
	}
	free(w->plan.image);
	w->plan.image = w->dl_path;
	w->dl_path = NULL;
	/* A copy stays a copy; the cached file itself is never a VM's disk. */
	if (w->plan.disk != PROV_DISK_COPY)
		w->plan.disk = PROV_DISK_OVERLAY;
	create(w);
	ui_intent(w->ui, UI_REDRAW);
}

static int
create(struct wizard *w)
{
	if (w->plan.image == NULL && wants_pull(w)) {
		atomic_store(&w->cancel, false);
		w->job_error[0] = '\0';
		w->dl_have_prog = false;
		if (fleet_run(ui_fleet(w->ui), w->plan.host, work_pull, done_pull, w) != 0) {
			snprintf(w->error, sizeof w->error, "%s", err_get());
			return UI_HANDLED | UI_REDRAW;
		}
		w->dl = DL_PULLING;
		w->busy = true;
		w->error[0] = '\0';
		return UI_HANDLED | UI_REDRAW;
	}
	if (provision_validate(&w->plan) != 0) {
		snprintf(w->error, sizeof w->error, "%s", err_get());
		return UI_HANDLED | UI_REDRAW;
	}
	atomic_store(&w->cancel, false);
	w->plan.cancel = &w->cancel;
	/* Recorded before anything is made: a vmtty killed meanwhile leaves
	 * the next one a record of what to take back. */
	w->plan.inventory = db_path(ui_db(w->ui));
	if (fleet_run(ui_fleet(w->ui), w->plan.host, work_create, done_create, w) != 0) {
		w->plan.cancel = NULL;
		snprintf(w->error, sizeof w->error, "%s", err_get());
		return UI_HANDLED | UI_REDRAW;
	}
	w->busy = true;
	w->error[0] = '\0';
	return UI_HANDLED | UI_REDRAW;
}

/* ---- keys --------------------------------------------------------------- */

/* Type-ahead on a list of NAMES: the first that starts with what was typed. */
static void
list_typeahead(struct wizard *w, int key, const char *const *names, size_t n, int *sel)
{
	size_t len = strlen(w->typeahead);

	if (len + 1 < sizeof w->typeahead) {
		w->typeahead[len] = (char)key;
		w->typeahead[len + 1] = '\0';
	}
	for (size_t i = 0; i < n; i++) {
		if (strncmp(names[i], w->typeahead, strlen(w->typeahead)) == 0) {
			*sel = (int)i;
			return;
		}
	}
}

static int
list_key(struct wizard *w, int key)
{
	bool hosts = w->step == W_HOST;
	int *sel = hosts ? &w->host_sel : &w->tpl_sel;
	int n = (int)(hosts ? w->nhosts : w->ntpls);
	const char *names[256];
	size_t nn = 0;

	if (key == K_FN(KEY_UP) || key == K_FN(KEY_DOWN)) {
		*sel += key == K_FN(KEY_UP) ? -1 : 1;
		if (*sel < 0)
			*sel = 0;
		if (*sel >= n)
			*sel = n - 1;
		w->typeahead[0] = '\0';
	} else if (key > 0x20 && key < 0x7f) {
		for (int i = 0; i < n && nn < 256; i++)
			names[nn++] = hosts ? w->hosts[i].name : w->tpls[i].name;
		list_typeahead(w, key, names, nn, sel);
	} else {
		return UI_HANDLED;
	}
	if (hosts) {
		free(w->plan.host);
		w->plan.host = xstrdup(w->hosts[w->host_sel].name);
		w->plan.builtin = w->hosts[w->host_sel].kind == HOST_BUILTIN;
		sync_machine(w);
	}
	return UI_HANDLED | UI_REDRAW;
}

/* The form of the current step's fields; their count.  *DISK holds the
 * disk choice while the form is in use. */
static int
step_form(struct wizard *w, struct formw_field *form, int *disk)
{
	enum wfield fs[F_COUNT];
	int n = step_fields(w, w->step, fs);

	*disk = (int)w->plan.disk;
	for (int i = 0; i < n; i++) {
		form[i] = (struct formw_field){ .label = fields[fs[i]].label };
		if (fs[i] == F_DISK) {
			form[i].choices = disk_kinds;
			form[i].choice = disk;
		} else if (fs[i] == F_MACHINE) {
			form[i].choices = w->machines;
			form[i].choice = &w->machine;
		} else if (fs[i] == F_BUS) {
			form[i].choices = vm_disk_buses;
			form[i].choice = &w->bus;
		} else if (fs[i] == F_NIC_MODEL) {
			form[i].choices = vm_nic_models;
			form[i].choice = &w->nic_model;
		} else {
			form[i].text = w->text[fs[i]];
			form[i].len = WF_LEN;
		}
	}
	return n;
}

static int
field_key(struct wizard *w, int key)
{
	struct formw_field form[F_COUNT];
	int disk, n = step_form(w, form, &disk), focus = w->focus, choice = -1;
	char text[WF_LEN];

	/* The focused field's value before the key. */
	if (focus < n && form[focus].choices != NULL)
		choice = *form[focus].choice;
	else if (focus < n)
		snprintf(text, sizeof text, "%s", form[focus].text);
	formw_key(form, n, &w->focus, key);
	w->plan.disk = (enum provision_disk)disk;
	/* A refusal was about the value it had: changed, it is stale. */
	if (focus < n && (form[focus].choices != NULL ? *form[focus].choice != choice :
	    strcmp(form[focus].text, text) != 0))
		w->error[0] = '\0';
	return UI_HANDLED | UI_REDRAW;
}

static int
wizard_key(void *arg, int key)
{
	struct wizard *w = arg;

	if (key == K_FN(KEY_F(1)) || key == K_FN(KEY_F(10)))
		return UI_IGNORED;
	if (w->busy) {
		/* Esc stops the tool making the disk or the seed; what was
		 * made is taken back (done_create says so). */
		if (key == K_ESC && !atomic_load(&w->cancel)) {
			atomic_store(&w->cancel, true);
			ui_status(w->ui, false, "Cancelling the creation of VM '%s'...", w->plan.name);
			return UI_HANDLED | UI_REDRAW;
		}
		return UI_HANDLED;
	}
	if (key == K_ESC || key == K_FN(KEY_BTAB)) {
		enum wstep s = w->step;

		w->error[0] = '\0';
		if (s == W_HOST) {
			ui_status(w->ui, false, "Cancelled; no VM was created.");
			wizard_close(w);
			return UI_HANDLED | UI_REDRAW;
		}
		do
			s--;
		while (s > W_HOST && !step_used(w, s));
		go_step(w, s);
		return UI_HANDLED | UI_REDRAW;
	}
	if (key == '\r' || key == K_FN(KEY_ENTER))
		return w->step == W_REVIEW ? create(w) : next_step(w);
	if (key == K_FN(KEY_F(9)) || key == K_CTRL('x'))
		return to_review(w);
	if (w->step == W_HOST || w->step == W_TEMPLATE)
		return list_key(w, key);
	return field_key(w, key);
}

/* ---- drawing -------------------------------------------------------------- */

static void
draw_list(struct wizard *w, int y, int rows, int x, int width)
{
	bool hosts = w->step == W_HOST;
	int n = (int)(hosts ? w->nhosts : w->ntpls), sel = hosts ? w->host_sel : w->tpl_sel;
	int first = sel >= rows ? sel - rows + 1 : 0;
	char line[512];

	for (int i = first; i < n && i - first < rows; i++) {
		if (hosts)
			snprintf(line, sizeof line, " %-16s %s", w->hosts[i].name, w->hosts[i].uri);
		else
			snprintf(line, sizeof line, " %-20s %-12s %s%s", w->tpls[i].name,
			    template_source_name(w->tpls[i].source), w->tpls[i].label,
			    !w->plan.builtin && w->tpls[i].machine != NULL &&
			    strcmp(w->tpls[i].machine, "microvm") == 0 ?
			    " (not offered here: built-in host only)" : "");
		attrset(i == sel ? theme_attr(TH_SELECTED) : A_NORMAL);
		ui_put(y + i - first, x, width, line);
	}
	attrset(A_NORMAL);
}

/* The review's lines about the template's image: cached, or the download
 * it offers (with its size), or its progress bar. */
static void
draw_download(struct wizard *w, int y, int *i, int x, int width)
{
	const struct template *t = w->tpl_applied >= 0 ? &w->tpls[w->tpl_applied] : NULL;
	char line[1200], a[32], b[32], r[32];
	bool u = ui_utf8(w->ui);

	if (w->dl == DL_NONE || t == NULL || !wants_pull(w))
		return;
	if (w->dl_cached != NULL) {
		snprintf(line, sizeof line, "Image:     cached, %s", w->dl_cached);
		ui_put(y + (*i)++, x, width, line);
		return;
	}
	if (w->dl == DL_SIZING)
		snprintf(a, sizeof a, "size: asking...");
	else if (w->dl_size >= 0)
		num_format_bytes(w->dl_size, a, sizeof a);
	else
		snprintf(a, sizeof a, "size unknown");
	snprintf(line, sizeof line, "Download:  %s (%s)", t->url, a);
	ui_put(y + (*i)++, x, width, line);
	snprintf(line, sizeof line, "           %s", t->checksum != NULL || t->checksum_url != NULL ?
	    "verified against its checksum, then cached" :
	    "NOT verified: the template has no checksum (Enter confirms)");
	ui_put(y + (*i)++, x, width, line);
	if (w->dl == DL_PULLING) {
		const struct fetch_progress *p = &w->dl_prog;
		int pct = w->dl_have_prog && p->total > 0 ? (int)(p->bytes * 100 / p->total) : 0;
		int bw = width - 8 < 40 ? width - 8 : 40, fill = bw * pct / 100;
		size_t n = 0;

		line[0] = '\0';
		for (int k = 0; k < bw && n + 4 < sizeof line; k++) {
			const char *c = k < fill ? (u ? "\xe2\x96\x88" : "#") : (u ? "\xe2\x96\x91" : "-");

			memcpy(line + n, c, strlen(c) + 1);
			n += strlen(c);
		}
		snprintf(line + n, sizeof line - n, " %3d%%", pct);
		attrset(theme_attr(TH_RUNNING));
		ui_put(y + (*i)++, x, width, line);
		attrset(A_NORMAL);
		num_format_bytes(p->bytes, a, sizeof a);
		num_format_bytes(p->total > 0 ? p->total : 0, b, sizeof b);
		num_format_bytes((int64_t)p->rate, r, sizeof r);
		snprintf(line, sizeof line, "%s of %s, %s/s, %lld s left", a, b, r,
		    (long long)(p->eta >= 0 ? p->eta : 0));
		ui_put(y + (*i)++, x, width, line);
	}
}

static void
draw_review(struct wizard *w, int y, int x, int width)
{
	const struct provision_plan *p = &w->plan;
	char line[700], size[32];
	int i = 0;

	provision_format_size(p->disk_bytes, size, sizeof size);
#define R(...) do { snprintf(line, sizeof line, __VA_ARGS__); ui_put(y + i++, x, width, line); } while (0)
	R("Host:      %s", p->host);
	R("Template:  %s", p->template_name);
	R("Name:      %s", p->name);
	R("CPUs:      %d    Memory: %lld MiB", p->cpus, (long long)p->memory_mib);
	R("Machine:   %s, disk bus %s, NIC model %s", p->machine != NULL ? p->machine :
	    VM_DEFAULT_MACHINE, p->disk_bus, p->nic_model);
	R("Disk:      %s%s%s%s%s", disk_kinds[p->disk], p->disk_bytes > 0 &&
	    p->disk != PROV_DISK_EXISTING && p->disk != PROV_DISK_NONE ? ", " : "",
	    p->disk_bytes > 0 && p->disk != PROV_DISK_EXISTING && p->disk != PROV_DISK_NONE ?
	    size : "", p->image != NULL ? ", " : "", p->image != NULL ? p->image : "");
	draw_download(w, y, &i, x, width);
	if (p->iso != NULL)
		R("ISO:       %s", p->iso);
	if (p->kernel != NULL)
		R("Kernel:    %s%s%s", p->kernel, p->initrd != NULL ? " + " : "",
		    p->initrd != NULL ? p->initrd : "");
	if (p->cmdline != NULL)
		R("Cmdline:   %s", p->cmdline);
	R("Network:   %s", p->network);
	if (p->cloud_init)
		R("Cloud-init: user %s, %s, hostname %s", p->ci_user != NULL ? p->ci_user :
		    "(default)", p->ssh_key != NULL ? "with an ssh key" : "no ssh key",
		    p->hostname != NULL ? p->hostname : p->name);
#undef R
	i++;
	attrset(A_BOLD);
	ui_put(y + i, x, width, !w->busy ? (w->dl == DL_SIZED && w->dl_cached == NULL &&
	    wants_pull(w) ? "Enter: download the image and create the VM" :
	    "Enter: create the VM") : atomic_load(&w->cancel) ? "Cancelling..." :
	    w->dl == DL_SIZING ? "Asking the size of the image...  Esc stops" :
	    w->dl == DL_PULLING ? "Downloading the image...  Esc cancels" :
	    "Creating the VM...  Esc cancels");
	attrset(A_NORMAL);
}

static void
wizard_draw(void *arg, int top, int rows, int cols)
{
	struct wizard *w = arg;
	char line[700];
	int x = 18, width = cols - x - 1, y = top + 2;

	erase();
	attrset(theme_attr(TH_HEADER));
	snprintf(line, sizeof line, " New VM on %s: %s", w->plan.host, step_names[w->step]);
	ui_put(top, 0, cols, line);
	attrset(A_NORMAL);
	for (int s = 0; s < W_NSTEPS && s < rows - 2; s++) {
		snprintf(line, sizeof line, " %s %s", s == (int)w->step ? ">" : " ", step_names[s]);
		attrset(s == (int)w->step ? A_BOLD : step_used(w, s) ? A_NORMAL :
		    theme_attr(TH_DIM));
		ui_put(y + s, 0, x - 1, line);
	}
	attrset(A_NORMAL);
	if (w->step == W_HOST || w->step == W_TEMPLATE) {
		draw_list(w, y, rows - 5, x, width);
	} else if (w->step == W_REVIEW) {
		draw_review(w, y, x, width);
	} else {
		struct formw_field form[F_COUNT];
		int disk, n = step_form(w, form, &disk);

		const char *hint;

		formw_draw(form, n, w->focus, y, 2, x, width, 22);
		attrset(theme_attr(TH_DIM));
		if ((hint = formw_hint(form, n, w->focus)) != NULL)
			ui_put(y + 2 * w->focus + 1, x + 2, width - 2, hint);
		/* Say it rather than pretend: the choice is not there. */
		if (w->step == W_CPUMEM && !w->plan.builtin) {
			snprintf(line, sizeof line, "microvm is not offered on libvirt host '%s': "
			    "libvirt 9.0 cannot define one (host local can).", w->plan.host);
			ui_put(y + 2 * n, x, width, line);
		}
		attrset(A_NORMAL);
	}
	if (w->error[0] != '\0') {
		attrset(theme_attr(TH_ERROR));
		ui_put(top + rows - 1, 0, cols, w->error);
		attrset(A_NORMAL);
	}
}

/* ---- life --------------------------------------------------------------- */

static void
wizard_free(void *arg)
{
	struct wizard *w = arg;

	host_list_free(w->hosts, w->nhosts);
	template_list_free(w->tpls, w->ntpls);
	provision_clear(&w->plan);
	vm_config_clear(&w->made_cfg);
	free(w->dl_cached);
	free(w->dl_path);
	free(w);
}

static const struct view wizard_view = {
	.name = "wizard",
	.free = wizard_free,
	.draw = wizard_draw,
	.key = wizard_key,
	.hints = wizard_hints,
	.hints_ascii = wizard_hints,
	.help = wizard_help,
};

/* The template of the VM made last, to start from; 0 when none. */
static int
recent_template(struct wizard *w)
{
	int64_t best = 0, id;
	int sel = 0;

	for (size_t i = 0; i < w->ntpls; i++) {
		if (vm_last_from_template(ui_db(w->ui), w->tpls[i].name, &id) == 0 && id > best) {
			best = id;
			sel = (int)i;
		}
	}
	return sel;
}

int
wizard_open(struct ui *ui, const char *host)
{
	struct wizard *w;
	char **dirs;

	if (ui_view_next(ui, &wizard_view, NULL) != NULL) {
		ui_view_show(ui, ui_view_next(ui, &wizard_view, NULL));
		return 0;
	}
	w = xcalloc(1, sizeof *w);
	w->ui = ui;
	if (host_list(ui_db(ui), &w->hosts, &w->nhosts) != 0 || w->nhosts == 0) {
		free(w);
		return -1;
	}
	dirs = template_dirs();
	template_list((const char *const *)dirs, &w->tpls, &w->ntpls, NULL, NULL);
	template_dirs_free(dirs);
	if (w->ntpls == 0) {
		host_list_free(w->hosts, w->nhosts);
		free(w);
		return err_set("no templates found; see vmtty-templates(5)");
	}
	for (size_t i = 0; i < w->nhosts; i++)
		if (host != NULL && strcmp(w->hosts[i].name, host) == 0)
			w->host_sel = (int)i;
	provision_init(&w->plan);
	w->plan.host = xstrdup(w->hosts[w->host_sel].name);
	w->plan.builtin = w->hosts[w->host_sel].kind == HOST_BUILTIN;
	sync_machine(w);
	w->tpl_sel = recent_template(w);
	w->tpl_applied = -1;
	/* The host is chosen from the selected row: start at the template
	 * (Esc goes back to the host). */
	go_step(w, W_TEMPLATE);
	if (ui_view_add(ui, &wizard_view, w) != 0) {
		wizard_free(w);
		return -1;
	}
	ui_view_show(ui, w);
	return 0;
}
