/*
 * The edit form of one VM (key e): CPUs, memory, a built-in VM's kernel and
 * initrd, the kernel command line, firmware, machine type, boot order, a
 * new disk (size, bus), removing and growing a disk, adding (network kind,
 * source, model) and removing a NIC, and for a built-in VM its restart
 * policy (on crash, autostart: at once, never pending).  The device choice
 * in focus has its trade-off on the line under the form (vm_choice_hint).
 * Each field is checked as it is left with the CLI's own code (vmedit_apply;
 * a microvm without a kernel is told of the Kernel field, the CLI of --kernel);
 * saving runs the blocking part (vmedit_run) on the host's lane and then
 * hands the inventory's part to the writer (ui_write), off the UI thread.  A running VM gets the
 * changes as pending, as with vmtty edit.
 */
#include "ui/formw.h"
#include "ui/ui_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/fleet.h"
#include "ops/vmedit.h"
#include "model/journal.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/xalloc.h"

/* A libvirt VM's form has no kernel, initrd (paths on its host, which
 * vmtty cannot check from here) nor restart policy. */
enum efield { E_CPUS, E_MEMORY, E_KERNEL, E_INITRD, E_CMDLINE, E_FIRMWARE, E_MACHINE, E_BOOT,
	E_NEW_DISK, E_DISK_BUS, E_REMOVE_DISK, E_RESIZE_DISK, E_NIC_KIND, E_NIC_SOURCE, E_NIC_MODEL,
	E_REMOVE_NIC, E_ON_CRASH, E_AUTOSTART, E_COUNT };

static const char *const labels[E_COUNT] = {
	[E_CPUS] = "vCPUs",
	[E_MEMORY] = "Memory (MiB or 2G)",
	[E_KERNEL] = "Kernel",
	[E_INITRD] = "Initrd",
	[E_CMDLINE] = "Kernel cmdline",
	[E_FIRMWARE] = "Firmware (Left/Right)",
	[E_MACHINE] = "Machine type (Left/Right)",
	[E_BOOT] = "Boot order (disk,cdrom,network)",
	[E_NEW_DISK] = "New disk (size)",
	[E_DISK_BUS] = "New disk bus (Left/Right)",
	[E_REMOVE_DISK] = "Remove disk (number)",
	[E_RESIZE_DISK] = "Grow disk (DISK:SIZE)",
	[E_NIC_KIND] = "New NIC (Left/Right)",
	[E_NIC_SOURCE] = "NIC source (bridge, tap, net)",
	[E_NIC_MODEL] = "NIC model (Left/Right)",
	[E_REMOVE_NIC] = "Remove NIC (number)",
	[E_ON_CRASH] = "On crash (Left/Right)",
	[E_AUTOSTART] = "Autostart (Left/Right)",
};

/* Autostart's words, as --autostart takes them. */
static const char *const on_off[] = { "off", "on", NULL };

/* "none" adds no NIC; the others are vmedit's kinds and models. */
static const char *const nic_kinds[] = { "none", "user", "bridge", "tap", "network", NULL };
/* The built-in backend has no libvirt networks: not offered there. */
static const char *const nic_kinds_builtin[] = { "none", "user", "bridge", "tap", NULL };

#define EF_LEN 512

struct editf {
	struct ui *ui;
	struct vm_config orig;		/* the VM as it was opened */
	char text[E_COUNT][EF_LEN];
	char init[E_COUNT][EF_LEN];	/* what the fields started with */
	int firmware, firmware0;
	const char *const *machines;	/* vm_machines or vm_machines_libvirt */
	int machine, machine0;		/* an index into machines */
	int disk_bus;			/* the new disk's, into vm_disk_buses */
	bool builtin;			/* the kernel, initrd and restart policy's
					 * fields are shown */
	int on_crash, on_crash0;	/* indexes into vm_on_crash */
	int autostart, autostart0;	/* into on_off */
	const char *const *kinds;	/* nic_kinds or nic_kinds_builtin */
	int nic_kind, nic_model;	/* indexes into kinds, vm_nic_models */
	char nic_spec[EF_LEN + 16];	/* KIND[:SOURCE] of the new NIC */
	int focus;
	bool busy;
	/* The job on the host's lane. */
	struct vmedit e;
	struct vm_config c;
	bool running;
	char *newdisk;
	int rc;
	char job_error[1024];
};

/* Work of a failed inventory write, taken back on the lane. */
struct undo {
	struct vm_config old, c;
	char *newdisk;
};

static const char *const edit_hints[] = {
	"Enter", "Save", "Esc", "Cancel", "Tab", "Field", "Ctrl-U", "Clear", NULL, NULL,
};

static const char *const edit_help[] = {
	"Edit VM",
	"Tab Down / Up\tthe next / previous field (the field is checked first;",
	"\tthe kernel's three, the new disk's two and the new NIC's three",
	"\twhen the focus leaves them)",
	"Kernel Initrd\ta built-in VM's: absolute paths on this machine, checked",
	"\twhen saved; empty Kernel: no kernel (a microvm needs one)",
	"Left/Right Space\ta choice: firmware, machine type, the new disk's bus, the",
	"\tnew NIC's kind and model (the line under the form says what the",
	"\tone in focus costs), on crash (restart or leave) and autostart,",
	"\twhich a built-in VM gets from 'vmtty serve --supervise'; these",
	"\ttwo hold at once, never pending",
	"Ctrl-U\tclear the field",
	"Enter\tsave: a running VM gets the changes at its next start",
	"Esc\tclose the form; nothing is changed",
	NULL,
};

/* Is field I in the form of F? */
static bool
shown(const struct editf *f, int i)
{
	return f->builtin || (i != E_KERNEL && i != E_INITRD && i != E_ON_CRASH &&
	    i != E_AUTOSTART);
}

/* The fields of F into OUT, each one's efield into IDS (may be NULL); f->focus
 * is an index into them.  Returns their number. */
static int
form(struct editf *f, struct formw_field *out, int *ids)
{
	int n = 0;

	for (int i = 0; i < E_COUNT; i++) {
		struct formw_field *o = &out[n];

		if (!shown(f, i))
			continue;
		if (ids != NULL)
			ids[n] = i;
		n++;
		*o = (struct formw_field){ .label = labels[i] };
		if (i == E_ON_CRASH) {
			o->choices = vm_on_crash;
			o->choice = &f->on_crash;
		} else if (i == E_AUTOSTART) {
			o->choices = on_off;
			o->choice = &f->autostart;
		} else if (i == E_FIRMWARE) {
			o->choices = vm_firmwares;
			o->choice = &f->firmware;
		} else if (i == E_MACHINE) {
			o->choices = f->machines;
			o->choice = &f->machine;
		} else if (i == E_DISK_BUS) {
			o->choices = vm_disk_buses;
			o->choice = &f->disk_bus;
		} else if (i == E_NIC_KIND) {
			o->choices = f->kinds;
			o->choice = &f->nic_kind;
		} else if (i == E_NIC_MODEL) {
			o->choices = vm_nic_models;
			o->choice = &f->nic_model;
		} else {
			o->text = f->text[i];
			o->len = EF_LEN;
		}
	}
	return n;
}

/* The group of field I: the new NIC's three are checked together, when
 * the focus leaves them (a bridge's name is typed after its kind), and so
 * are the new disk's size and bus, and the kernel, initrd and command line
 * (an initrd or command line needs a kernel: clearing them all, the kernel
 * first, is one change); each other field is its own. */
static int
group(int i)
{
	if (i == E_KERNEL || i == E_INITRD || i == E_CMDLINE)
		return E_KERNEL;
	if (i == E_NIC_KIND || i == E_NIC_SOURCE || i == E_NIC_MODEL)
		return E_NIC_KIND;
	if (i == E_NEW_DISK || i == E_DISK_BUS)
		return E_NEW_DISK;
	return i;
}

/* The new NIC as vmedit takes it (--add-nic, --nic-model), from its
 * three fields; a source without a kind is ":SOURCE", which vmedit
 * refuses. */
static void
edit_nic(struct editf *f, struct vmedit *e)
{
	const char *src = f->text[E_NIC_SOURCE];

	/* A model without a NIC is refused by vmedit, saying so. */
	if (f->nic_kind == 0 && src[0] == '\0') {
		if (f->nic_model != 0)
			e->nic_model = vm_nic_models[f->nic_model];
		return;
	}
	snprintf(f->nic_spec, sizeof f->nic_spec, "%s%s%s", f->nic_kind != 0 ?
	    f->kinds[f->nic_kind] : "", src[0] != '\0' ? ":" : "", src);
	e->add_nic = f->nic_spec;
	if (f->nic_kind != 0)
		e->nic_model = vm_nic_models[f->nic_model];
}

/* E gets field I when it differs from what it started with. */
static void
edit_field(struct editf *f, struct vmedit *e, int i)
{
	const char *t = f->text[i];

	if (i == E_FIRMWARE) {
		if (f->firmware != f->firmware0)
			e->firmware = vm_firmwares[f->firmware];
		return;
	}
	if (i == E_MACHINE) {
		if (f->machine != f->machine0)
			e->machine = f->machines[f->machine];
		return;
	}
	/* The new disk's bus goes with its size (vmedit checks it against the
	 * machine type); a bus without a disk is refused by vmedit. */
	if (i == E_NEW_DISK || i == E_DISK_BUS) {
		if (t[0] != '\0' && i == E_NEW_DISK)
			e->new_disk = t;
		if (f->text[E_NEW_DISK][0] != '\0' || f->disk_bus != 0)
			e->disk_bus = vm_disk_buses[f->disk_bus];
		return;
	}
	if (i == E_ON_CRASH) {
		if (f->on_crash != f->on_crash0)
			e->on_crash = vm_on_crash[f->on_crash];
		return;
	}
	if (i == E_AUTOSTART) {
		if (f->autostart != f->autostart0)
			e->autostart = on_off[f->autostart];
		return;
	}
	if (group(i) == E_NIC_KIND) {
		edit_nic(f, e);
		return;
	}
	if (strcmp(t, f->init[i]) == 0)
		return;
	switch (i) {
	case E_CPUS: e->cpus = t; break;
	case E_MEMORY: e->memory = t; break;
	case E_KERNEL: e->kernel = t; break;
	case E_INITRD: e->initrd = t; break;
	case E_CMDLINE: e->cmdline = t; break;
	case E_BOOT: e->boot = t; break;
	case E_REMOVE_DISK: e->remove_disk = t; break;
	case E_RESIZE_DISK: e->resize_disk = t; break;
	case E_REMOVE_NIC: e->remove_nic = t; break;
	}
}

/* The status line says why vmedit_apply refused E; a microvm without a
 * kernel is given one here. */
static void
refused(struct editf *f, const struct vmedit *e)
{
	ui_status(f->ui, true, "%s%s", err_get(), e->no_kernel ? " (the Kernel field)" : "");
}

/* Check the field (its group) the focus leaves, with every field as it
 * stands (each other one was checked as it was left; what one field may
 * hold depends on others: the new disk's bus on the machine type, the
 * machine type on the kernel): 0, or -1 and the status line says why;
 * *NO_KERNEL (may be NULL): all that is wrong is a microvm's missing
 * kernel, given in another field. */
static int
check_field(struct editf *f, bool *no_kernel)
{
	struct vmedit e = { 0 };
	struct vm_config c;
	int rc;

	for (int j = 0; j < E_COUNT; j++)
		edit_field(f, &e, j);
	vm_config_copy(&c, &f->orig);
	rc = vmedit_apply(&e, &c);
	if (rc != 0)
		refused(f, &e);
	if (no_kernel != NULL)
		*no_kernel = e.no_kernel;
	vmedit_clear(&e);
	vm_config_clear(&c);
	return rc;
}

static void
editf_close(struct editf *f)
{
	ui_view_remove(f->ui, f);
}

/* ---- saving, on the host's lane ------------------------------------------ */

static void
work_edit(struct hv *hv, void *arg)
{
	struct editf *f = arg;

	f->rc = vmedit_run(hv, &f->e, &f->orig, &f->c, &f->running, &f->newdisk);
	if (f->rc != 0)
		snprintf(f->job_error, sizeof f->job_error, "%s", err_get());
}

static void
work_undo(struct hv *hv, void *arg)
{
	struct undo *u = arg;

	vmedit_undo(hv, &u->old, &u->c, u->newdisk);
}

static void
done_undo(void *arg)
{
	struct undo *u = arg;

	vm_config_clear(&u->old);
	vm_config_clear(&u->c);
	free(u->newdisk);
	free(u);
}

/* The inventory's part of a saved edit, on the writer's lane: the new
 * configuration, what waits for a restart, and the journal entry. */
struct edit_write {
	struct ui *ui;
	struct vm_config c;		/* as the host has it now */
	struct vm_config old;		/* as it was, to take back */
	char *newdisk;
	char *pending;			/* all that waits for a restart; NULL: nothing
					 * of this edit does (stopped, or only the
					 * restart policy changed) */
	bool undo;			/* the configuration was not taken */
	char changes[400];		/* every change (vmedit_summary) */
};

static int
edit_write(struct db *db, void *arg)
{
	struct edit_write *ew = arg;
	char msg[1200];
	int rc;

	rc = vm_update(db, &ew->c);
	ew->undo = rc != 0;
	if (rc == 0 && ew->pending != NULL)
		rc = vm_set_pending(db, ew->c.id, ew->pending);
	if (rc == 0)
		snprintf(msg, sizeof msg, "changed %s%s", ew->changes,
		    ew->pending != NULL ? " (pending restart)" : "");
	else
		snprintf(msg, sizeof msg, "%s", err_get());
	journal_add(db, ew->old.host, ew->old.name, "edit", rc == 0, msg);
	if (rc != 0)
		err_set("%s", msg);
	return rc;
}

static void
edit_written(void *arg, int rc, const char *error)
{
	struct edit_write *ew = arg;

	if (rc != 0 && ew->undo) {
		struct undo *u = xcalloc(1, sizeof *u);

		vm_config_copy(&u->old, &ew->old);
		vm_config_copy(&u->c, &ew->c);
		u->newdisk = ew->newdisk;
		ew->newdisk = NULL;
		if (fleet_run(ui_fleet(ew->ui), ew->old.host, work_undo, done_undo, u) != 0)
			done_undo(u);
	}
	if (rc != 0)
		ui_status(ew->ui, true, "%s", error);
	else if (ew->pending != NULL)
		ui_status(ew->ui, false, "VM '%s': %s changed; pending until its next start.",
		    ew->old.name, ew->changes);
	else
		ui_status(ew->ui, false, "VM '%s': %s changed.", ew->old.name, ew->changes);
	ui_intent(ew->ui, UI_RELOAD);
	vm_config_clear(&ew->c);
	vm_config_clear(&ew->old);
	free(ew->newdisk);
	free(ew->pending);
	free(ew);
}

/* The host took the change (or not): the inventory follows through the
 * writer, and the form closes, the change in the writer's hands. */
static void
done_edit(void *arg)
{
	struct editf *f = arg;
	struct ui *ui = f->ui;
	struct edit_write *ew;
	char what[700];

	f->busy = false;
	if (f->rc != 0) {
		ui_journal(ui, f->orig.host, f->orig.name, "edit", false, f->job_error);
		ui_status(ui, true, "%s", f->job_error);
		vm_config_clear(&f->c);
		ui_intent(ui, UI_REDRAW);
		return;
	}
	ew = xcalloc(1, sizeof *ew);
	ew->ui = ui;
	vm_config_copy(&ew->c, &f->c);
	vm_config_copy(&ew->old, &f->orig);
	ew->newdisk = f->newdisk;
	f->newdisk = NULL;
	if (f->running && f->e.changes[0] != '\0')
		ew->pending = vmedit_pending(f->orig.pending, f->e.changes);
	vmedit_summary(&f->e, ew->changes, sizeof ew->changes);
	snprintf(what, sizeof what, "the edit of VM '%s' (%s)", f->orig.name, ew->changes);
	ui_write(ui, what, edit_write, edit_written, ew);
	editf_close(f);
	ui_intent(ui, UI_REDRAW);
}

static int
save(struct editf *f)
{
	char what[400];

	vmedit_clear(&f->e);
	memset(&f->e, 0, sizeof f->e);
	for (int i = 0; i < E_COUNT; i++)
		edit_field(f, &f->e, i);
	vm_config_clear(&f->c);
	vm_config_copy(&f->c, &f->orig);
	if (vmedit_apply(&f->e, &f->c) != 0) {
		refused(f, &f->e);
		return UI_HANDLED | UI_REDRAW;
	}
	if (f->e.changes[0] == '\0' && f->e.at_once[0] == '\0') {
		ui_status(f->ui, false, "No field was changed; VM '%s' is as it was.", f->orig.name);
		editf_close(f);
		return UI_HANDLED | UI_REDRAW;
	}
	free(f->newdisk);
	f->newdisk = NULL;
	if (fleet_run(ui_fleet(f->ui), f->orig.host, work_edit, done_edit, f) != 0) {
		ui_status(f->ui, true, "%s", err_get());
		return UI_HANDLED | UI_REDRAW;
	}
	f->busy = true;
	vmedit_summary(&f->e, what, sizeof what);
	ui_status(f->ui, false, "VM '%s': saving %s...", f->orig.name, what);
	return UI_HANDLED | UI_REDRAW;
}

/* ---- keys and drawing ----------------------------------------------------- */

static int
editf_key(void *arg, int key)
{
	struct editf *f = arg;
	struct formw_field fs[E_COUNT];
	int ids[E_COUNT], n = form(f, fs, ids);

	if (key == K_FN(KEY_F(1)) || key == K_FN(KEY_F(10)))
		return UI_IGNORED;
	if (f->busy)
		return UI_HANDLED;
	if (key == K_ESC) {
		ui_status(f->ui, false, "Cancelled; VM '%s' was not changed.", f->orig.name);
		editf_close(f);
		return UI_HANDLED | UI_REDRAW;
	}
	if (key == '\r' || key == K_FN(KEY_ENTER))
		return check_field(f, NULL) != 0 ? UI_HANDLED | UI_REDRAW : save(f);
	/* A field is checked before the focus leaves it (the NIC's fields
	 * when it leaves them all).  A microvm without a kernel lets it go, the
	 * refusal kept on the status line: the kernel is another field's,
	 * above the machine type's. */
	if (formw_moves(key)) {
		int to = f->focus;
		bool no_kernel = false;

		formw_key(fs, n, &to, key);
		if (group(ids[f->focus]) != group(ids[to]) && check_field(f, &no_kernel) != 0 &&
		    !no_kernel)
			return UI_HANDLED | UI_REDRAW;
		if (!no_kernel)
			ui_status(f->ui, false, "%s", "");
		f->focus = to;
		return UI_HANDLED | UI_REDRAW;
	}
	formw_key(fs, n, &f->focus, key);
	return UI_HANDLED | UI_REDRAW;
}

static void
editf_draw(void *arg, int top, int rows, int cols)
{
	struct editf *f = arg;
	struct formw_field fs[E_COUNT];
	int n = form(f, fs, NULL), y = top + 2;
	char line[700];
	const struct vm_config *c = &f->orig;

	erase();
	attrset(theme_attr(TH_HEADER));
	snprintf(line, sizeof line, " Edit VM %s on %s (%s)%s", c->name, c->host, c->state,
	    f->busy ? ": saving..." : "");
	ui_put(top, 0, cols, line);
	attrset(A_NORMAL);
	formw_draw(fs, n, f->focus, y, 1, 2, cols - 3, 32);
	y += n;
	if (formw_hint(fs, n, f->focus) != NULL) {
		attrset(theme_attr(TH_DIM));
		ui_put(y, 2, cols - 3, formw_hint(fs, n, f->focus));
		attrset(A_NORMAL);
	}
	y++;
	for (size_t i = 0; i < c->ndisks && y < top + rows - 1; i++, y++) {
		snprintf(line, sizeof line, "  disk %zu: %s (%s, %s%s)", i, c->disks[i].path,
		    c->disks[i].format, c->disks[i].bus, c->disks[i].cdrom ? ", cdrom" : "");
		ui_put(y, 0, cols, line);
	}
	for (size_t i = 0; i < c->nnics && y < top + rows - 1; i++, y++) {
		const struct vm_nic *nic = &c->nics[i];

		snprintf(line, sizeof line, "  NIC %zu: %s%s%s (%s)", i, nic->kind,
		    nic->source != NULL ? " " : "", nic->source != NULL ? nic->source : "",
		    nic->model);
		ui_put(y, 0, cols, line);
	}
	if (y < top + rows - 1 && strcmp(c->state, "off") != 0 && strcmp(c->state, "crashed") != 0) {
		attrset(theme_attr(TH_DIM));
		ui_put(y + 1 < top + rows - 1 ? y + 1 : y, 2, cols - 3,
		    "The VM is not off: the changes take effect at its next start.");
		attrset(A_NORMAL);
	}
}

static void
editf_free(void *arg)
{
	struct editf *f = arg;

	vm_config_clear(&f->orig);
	vm_config_clear(&f->c);
	vmedit_clear(&f->e);
	free(f->newdisk);
	free(f);
}

static const struct view edit_view = {
	.name = "edit",
	.free = editf_free,
	.draw = editf_draw,
	.key = editf_key,
	.hints = edit_hints,
	.hints_ascii = edit_hints,
	.help = edit_help,
};

int
edit_form_open(struct ui *ui, const struct vm_config *c)
{
	struct editf *f = xcalloc(1, sizeof *f);
	struct host h;

	f->ui = ui;
	vm_config_copy(&f->orig, c);
	f->kinds = nic_kinds;
	f->machines = vm_machines_libvirt;
	if (host_get(ui_db(ui), c->host, &h) == 0) {
		if (h.kind == HOST_BUILTIN) {
			f->kinds = nic_kinds_builtin;
			f->machines = vm_machines;
			f->builtin = true;
		}
		host_clear(&h);
	}
	for (int i = 0; f->machines[i] != NULL; i++)
		if (c->machine != NULL && strcmp(c->machine, f->machines[i]) == 0)
			f->machine = f->machine0 = i;
	f->on_crash = f->on_crash0 = c->on_crash != NULL && strcmp(c->on_crash, "restart") == 0;
	f->autostart = f->autostart0 = c->autostart;
	snprintf(f->init[E_CPUS], EF_LEN, "%d", vm_config_cpus(c));
	snprintf(f->init[E_MEMORY], EF_LEN, "%lld", (long long)c->memory_mib);
	snprintf(f->init[E_KERNEL], EF_LEN, "%s", c->kernel != NULL ? c->kernel : "");
	snprintf(f->init[E_INITRD], EF_LEN, "%s", c->initrd != NULL ? c->initrd : "");
	snprintf(f->init[E_CMDLINE], EF_LEN, "%s", c->cmdline != NULL ? c->cmdline : "");
	snprintf(f->init[E_BOOT], EF_LEN, "%s", c->boot_order != NULL ? c->boot_order : "");
	memcpy(f->text, f->init, sizeof f->text);
	f->firmware = f->firmware0 = c->firmware != NULL && strcmp(c->firmware, "uefi") == 0;
	if (ui_view_add(ui, &edit_view, f) != 0) {
		editf_free(f);
		return -1;
	}
	ui_view_show(ui, f);
	return 0;
}
