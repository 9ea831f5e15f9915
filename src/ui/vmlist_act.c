/* The VM list's keys: moving, folding, filtering and sorting, the action
 * menu, and VM and host operations.  Operations run on the fleet's lanes;
 * their outcome lands on the status line and in the journal. */
#include "ui/overlay.h"
#include "ui/vmlist_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "ops/fleet.h"
#include "ops/provision.h"
#include "model/journal.h"
#include "model/name.h"
#include "model/snapshot.h"
#include "util/err.h"
#include "util/num.h"
#include "util/log.h"
#include "util/xalloc.h"

const char *const vmlist_help[] = {
	"Moving",
	"Up/Down k/j\tselect the previous / next row",
	"PgUp/PgDn\ta page up / down (also Ctrl-B / Ctrl-F)",
	"Home/End G\tfirst / last row",
	"mouse\tclick selects, the wheel scrolls",
	"Space\tfold or unfold the selected host",
	"Left/Right h/l\tfold / unfold the selected host",
	"",
	"Viewing",
	"/\tfilter VMs by name as you type (Enter keeps, Esc clears)",
	"o F6\tsort by name, state, CPU or memory",
	"Esc\tclear the filter",
	"Ctrl-L F5 r\trefresh from every host now; unreachable ones connect again",
	"",
	"VMs",
	"n\tnew VM: the wizard (template, name, CPU, storage, network, cloud-init)",
	"Enter F2\tthe action menu of the selected VM or host",
	"e\tedit: CPUs, memory, cmdline, firmware, boot order, disks (running: pending)",
	"t\tsnapshots: the tree; create, revert or delete one",
	"T\ttuning: vCPU and emulator pins on a grid, hugepages, the balloon",
	"m\tmigrate: move the VM live to another libvirt host (a dialog: the",
	"\thost, copy storage, post-copy, bandwidth; preflight, then progress;",
	"\tEsc stops it and the VM stays where it was)",
	"s\tstart",
	"S\tshut down (ACPI power button)",
	"F\tforce off (pull the plug; asks first)",
	"R\treboot",
	"X\treset (asks first)",
	"p\tpause or resume",
	"x Delete\tdelete the VM (asks first); its disks are kept",
	"D\tdelete the VM and its disk files (type the VM's name to confirm)",
	"K\tclone the stopped VM: a new name, then a full copy or a linked clone",
	"c\tthe VM's serial console in a pane (in it, Ctrl-] ? lists its keys)",
	"C\tthe VM's serial console full screen (Ctrl-] returns)",
	"v\tthe VM's graphical display (VNC) in a pane (Ctrl-] then l: back here)",
	"g\tgraphs: CPU, memory, disk, network over 1, 5 or 10 minutes",
	"",
	"Hosts",
	"a\tadd a host (a name and a libvirt URI)",
	"x Delete\ton a host row: remove the host from vmtty (asks first)",
	"i\tthe host's details: CPUs, memory, hugepages, KSM (also on a VM's row)",
	"",
	"Everywhere",
	"? F1\tthis help",
	"q Q F10\tquit (VMs keep running)",
	NULL,
};

/* One operation in flight: what the done callback needs. */
struct op {
	struct vmlist *v;
	int action;		/* enum hv_action, FLEET_START or FLEET_UNDEFINE */
	bool delete_disks;
	int64_t id;
	char uuid[UUID_STR_LEN];
	char name[128];
	char host[128];
	struct vm_config *cfg;	/* delete_disks: the VM as it was, for its disks */
	int removed;		/* disks removed, on the host's lane */
	char error[1024];	/* the lane's failure, "" none */
};

static const char *
op_word(int action)
{
	if (action == FLEET_START)
		return "start";
	if (action == FLEET_UNDEFINE)
		return "delete";
	return hv_action_name((enum hv_action)action);
}

static void
pending_add(struct vmlist *v, const char *uuid, const char *what)
{
	v->pending = xreallocarray(v->pending, v->npending + 1, sizeof *v->pending);
	snprintf(v->pending[v->npending].uuid, sizeof v->pending[0].uuid, "%s", uuid);
	snprintf(v->pending[v->npending].what, sizeof v->pending[0].what, "%s", what);
	v->npending++;
}

static void
pending_remove(struct vmlist *v, const char *uuid)
{
	for (size_t i = 0; i < v->npending; i++) {
		if (strcmp(v->pending[i].uuid, uuid) != 0)
			continue;
		v->pending[i] = v->pending[--v->npending];
		return;
	}
}

static void
op_free(struct op *o)
{
	if (o->cfg != NULL) {
		vm_config_clear(o->cfg);
		free(o->cfg);
	}
	free(o);
}

/* The disks of a deleted VM, on its host's lane (libvirt volumes need the
 * connection; files are the same rule as the CLI's). */
static void
disks_delete(struct hv *hv, void *arg)
{
	struct op *o = arg;

	if (provision_delete_disks(hv, o->cfg, &o->removed) != 0)
		snprintf(o->error, sizeof o->error, "%s", err_get());
}

/* Back on the UI thread: report and journal the whole deletion. */
static void
disks_done(void *arg)
{
	struct op *o = arg;
	char msg[1200];

	if (o->error[0] != '\0') {
		ui_journal(o->v->ui, o->host, o->name, "delete", false, o->error);
		ui_status(o->v->ui, true, "%s", o->error);
	} else {
		snprintf(msg, sizeof msg, "deleted with its disks (%d disk file(s) removed)",
		    o->removed);
		ui_journal(o->v->ui, o->host, o->name, "delete", true, msg);
		ui_status(o->v->ui, false, "VM '%s': %s.", o->name, msg);
	}
	op_free(o);
}

/* How long a shutdown may take before the force-off is offered:
 * $VMTTY_SHUTDOWN_TIMEOUT seconds, 60 by default (as the CLI's --wait). */
static long
shutdown_timeout_s(void)
{
	const char *e = getenv("VMTTY_SHUTDOWN_TIMEOUT");
	long long s;

	if (e == NULL || e[0] == '\0' || num_parse(e, 1, 86400, &s) != 0)
		return 60;
	return (long)s;
}

static void
shutdown_follow(struct vmlist *v, const char *uuid, const char *name)
{
	struct shutdown_wait *w;

	v->waits = xreallocarray(v->waits, v->nwaits + 1, sizeof *v->waits);
	w = &v->waits[v->nwaits++];
	snprintf(w->uuid, sizeof w->uuid, "%s", uuid);
	snprintf(w->name, sizeof w->name, "%s", name);
	w->deadline = log_now_ms() + shutdown_timeout_s() * 1000;
}

/* The operation went through: journal it, say so, and show the result. */
static void
op_finish(struct op *o, const char *msg)
{
	struct vmlist *v = o->v;

	ui_journal(v->ui, o->host, o->name, op_word(o->action), true, msg);
	ui_status(v->ui, false, "VM '%s': %s.", o->name, msg);
	op_free(o);
	ui_intent(v->ui, UI_RELOAD);
}

/* The writer's side of a deletion and of a fresh start. */
static int
op_write_delete(struct db *db, void *arg)
{
	struct op *o = arg;

	return vm_delete(db, o->id);
}

static int
op_write_unpend(struct db *db, void *arg)
{
	int64_t *id = arg;

	return vm_set_pending(db, *id, NULL);
}

static void
op_unpended(void *arg, int rc, const char *error)
{
	(void)rc;
	(void)error;
	free(arg);
}

/* The VM left the inventory (or did not): its disks go next. */
static void
op_deleted(void *arg, int rc, const char *error)
{
	struct op *o = arg;
	struct vmlist *v = o->v;

	if (rc != 0) {
		ui_status(v->ui, true, "%s", error);
		op_free(o);
		return;
	}
	/* Disks go last, as in the CLI: a failure leaves a file, never a VM
	 * without its disk. */
	if (o->delete_disks) {
		ui_intent(v->ui, UI_RELOAD);
		if (fleet_run(ui_fleet(v->ui), o->host, disks_delete, disks_done, o) == 0) {
			ui_status(v->ui, false, "VM '%s' deleted; removing its disks...", o->name);
			return;
		}
		snprintf(o->error, sizeof o->error, "VM '%s' deleted, but %s", o->name, err_get());
		disks_done(o);
		return;
	}
	op_finish(o, "deleted");
}

/* Runs on the UI thread when the lane has finished.  The inventory's
 * part goes to the writer, in order after what came before. */
static void
op_done(const char *error, const char *note, void *arg)
{
	struct op *o = arg;
	struct vmlist *v = o->v;
	char msg[700];

	pending_remove(v, o->uuid);
	if (error != NULL) {
		ui_journal(v->ui, o->host, o->name, op_word(o->action), false, error);
		ui_status(v->ui, true, "%s", error);
		op_free(o);
		/* A peek during the operation may have seen it half done (a qemu
		 * that failed to start, still exiting): show the state now. */
		ui_intent(v->ui, UI_RELOAD);
		return;
	}
	if (o->action == FLEET_UNDEFINE) {
		snprintf(msg, sizeof msg, "the deletion of VM '%s' from host '%s'", o->name,
		    o->host);
		ui_write(v->ui, msg, op_write_delete, op_deleted, o);
		return;
	}
	/* A fresh start takes every change that waited for it. */
	if (o->action == FLEET_START) {
		int64_t *id = xmalloc(sizeof *id);

		*id = o->id;
		snprintf(msg, sizeof msg, "the pending changes of VM '%s' (cleared)", o->name);
		ui_write(v->ui, msg, op_write_unpend, op_unpended, id);
	}
	snprintf(msg, sizeof msg, "%s done%s%s", op_word(o->action),
	    note != NULL && note[0] != '\0' ? "; " : "", note != NULL ? note : "");
	if (o->action == HV_SHUTDOWN)
		shutdown_follow(v, o->uuid, o->name);
	op_finish(o, msg);
}

/* The selected row when it is a VM with no operation in flight; else
 * NULL, and the status line says why. */
static const struct row *
free_vm(struct vmlist *v)
{
	const struct row *r = vmlist_selected(v);

	if (r == NULL || r->vm < 0) {
		ui_status(v->ui, true, "Select a VM first (this is a host row).");
		return NULL;
	}
	if (vmlist_pending(v, v->vms[r->vm].uuid) != NULL) {
		ui_status(v->ui, true, "VM '%s' is busy with %s; wait for it to finish.",
		    v->vms[r->vm].name, vmlist_pending(v, v->vms[r->vm].uuid));
		return NULL;
	}
	return r;
}

/* Start ACTION on VM J (an index into v->vms). */
static int
vm_op_on(struct vmlist *v, size_t j, int action, bool delete_disks)
{
	struct vm_config c;
	struct op *o;

	if (vm_load(ui_db(v->ui), v->vms[j].id, &c) != 0) {
		ui_status(v->ui, true, "%s", err_get());
		return UI_HANDLED | UI_REDRAW;
	}
	o = xcalloc(1, sizeof *o);
	o->v = v;
	o->action = action;
	o->delete_disks = delete_disks;
	o->id = c.id;
	snprintf(o->uuid, sizeof o->uuid, "%s", c.uuid);
	snprintf(o->name, sizeof o->name, "%s", c.name);
	snprintf(o->host, sizeof o->host, "%s", c.host);
	if (delete_disks) {
		o->cfg = xcalloc(1, sizeof *o->cfg);
		vm_config_copy(o->cfg, &c);
	}
	if (fleet_vm_action(ui_fleet(v->ui), c.host, &c, action, op_done, o) != 0) {
		char msg[1024];

		snprintf(msg, sizeof msg, "%s", err_get());
		ui_journal(v->ui, o->host, o->name, op_word(action), false, msg);
		ui_status(v->ui, true, "%s", msg);
		op_free(o);
	} else {
		pending_add(v, o->uuid, op_word(action));
		ui_status(v->ui, false, "VM '%s': %s...", o->name, op_word(action));
	}
	vm_config_clear(&c);
	return UI_HANDLED | UI_REDRAW;
}

/* Start ACTION on the selected VM. */
static int
vm_op(struct vmlist *v, int action, bool delete_disks)
{
	const struct row *r = free_vm(v);

	if (r == NULL)
		return UI_HANDLED | UI_REDRAW;
	return vm_op_on(v, (size_t)r->vm, action, delete_disks);
}

static ssize_t
vm_by_uuid(const struct vmlist *v, const char *uuid)
{
	for (size_t j = 0; j < v->nvms; j++)
		if (strcmp(v->vms[j].uuid, uuid) == 0)
			return (ssize_t)j;
	return -1;
}

/* The answer to "force it off?": the UUID is the callback's. */
static int
on_force_off(struct ui *ui, int choice, const char *input, void *arg)
{
	struct vmlist *v = ui_view_state(ui);
	char *uuid = arg;
	ssize_t j = vm_by_uuid(v, uuid);
	int intent = UI_HANDLED | UI_REDRAW;

	(void)input;
	if (choice != 1)
		ui_status(ui, false, "The VM was left running.");
	else if (j < 0)
		ui_status(ui, true, "That VM is gone; nothing was done.");
	else if (strcmp(v->vms[j].state, "off") == 0)
		ui_status(ui, false, "VM '%s' is off by now.", v->vms[j].name);
	else if (vmlist_pending(v, uuid) != NULL)
		ui_status(ui, true, "VM '%s' is busy with %s; nothing more was done.",
		    v->vms[j].name, vmlist_pending(v, uuid));
	else
		intent = vm_op_on(v, (size_t)j, HV_POWEROFF, false);
	free(uuid);
	return intent;
}

int
vmlist_check_shutdowns(struct vmlist *v)
{
	long long now = log_now_ms();
	int intent = UI_IGNORED;

	for (size_t i = v->nwaits; i-- > 0;) {
		struct shutdown_wait *w = &v->waits[i];
		ssize_t j = vm_by_uuid(v, w->uuid);
		bool up = j >= 0 && (strcmp(v->vms[j].state, "running") == 0 ||
		    strcmp(v->vms[j].state, "paused") == 0);
		char q[400];

		if (up && now < w->deadline)
			continue;
		if (up) {
			snprintf(q, sizeof q, "VM '%s' did not shut down within %ld s (the guest "
			    "ignored the power button). Force it off? Unsaved guest data is lost.",
			    w->name, shutdown_timeout_s());
			ui_push(v->ui, overlay_confirm("Shutdown timed out", q, NULL, on_force_off,
			    xstrdup(w->uuid)));
			intent = UI_REDRAW;
		}
		v->waits[i] = v->waits[--v->nwaits];
	}
	return intent;
}

/* Confirmation callbacks carry the action in a small heap cell. */
struct ask {
	int action;
	bool disks;
};

static int
on_confirm(struct ui *ui, int choice, const char *input, void *arg)
{
	struct ask *a = arg;
	struct vmlist *v = ui_view_state(ui);
	int intent = UI_HANDLED;

	(void)input;
	if (choice == 1)
		intent = vm_op(v, a->action, a->disks);
	else
		ui_status(ui, false, "Cancelled; nothing was changed.");
	free(a);
	return intent;
}

static int
confirm_op(struct vmlist *v, int action, bool disks)
{
	const struct row *r = vmlist_selected(v);
	struct ask *a;
	char q[400];

	if (r == NULL || r->vm < 0)
		return vm_op(v, action, disks);
	/* A built-in VM's snapshots are the inventory's records: deleting the
	 * VM here would leave their files behind. */
	if (action == FLEET_UNDEFINE && v->hosts[r->host].kind == HOST_BUILTIN) {
		struct vm_snapshot *sn;
		size_t nsn = 0;

		if (snapshot_db_list(ui_db(v->ui), v->vms[r->vm].id, &sn, &nsn) == 0)
			vm_snapshot_free_all(sn, nsn);
		if (nsn > 0) {
			ui_status(v->ui, true, "VM '%s' has %zu snapshot%s; 'vmtty delete %s "
			    "--snapshots' deletes it with them.", v->vms[r->vm].name, nsn,
			    nsn == 1 ? "" : "s", v->vms[r->vm].name);
			return UI_HANDLED | UI_REDRAW;
		}
	}
	if (disks) {
		struct vm_config c;
		int bad;

		if (vm_load(ui_db(v->ui), v->vms[r->vm].id, &c) != 0) {
			ui_status(v->ui, true, "%s", err_get());
			return UI_HANDLED | UI_REDRAW;
		}
		bad = provision_check_delete_disks(ui_db(v->ui), &c,
		    v->hosts[r->host].kind == HOST_BUILTIN);
		vm_config_clear(&c);
		if (bad != 0) {
			ui_status(v->ui, true, "%s; x deletes the VM only.", err_get());
			return UI_HANDLED | UI_REDRAW;
		}
	}
	a = xcalloc(1, sizeof *a);
	a->action = action;
	a->disks = disks;
	if (action == FLEET_UNDEFINE && disks) {
		snprintf(q, sizeof q, "Delete VM '%s' AND its disk files? This cannot be undone.",
		    v->vms[r->vm].name);
		ui_push(v->ui, overlay_confirm("Delete VM and disks", q, v->vms[r->vm].name,
		    on_confirm, a));
	} else {
		snprintf(q, sizeof q, "%s VM '%s'%s?", action == FLEET_UNDEFINE ? "Delete" :
		    action == HV_POWEROFF ? "Force off" : "Reset", v->vms[r->vm].name,
		    action == FLEET_UNDEFINE ? " (its disks are kept)" :
		    " (unsaved guest data is lost)");
		ui_push(v->ui, overlay_confirm(action == FLEET_UNDEFINE ? "Delete VM" :
		    "Are you sure?", q, NULL, on_confirm, a));
	}
	return UI_HANDLED | UI_REDRAW;
}

/* Adding a host: a name prompt, then a URI prompt.  The URI prompt starts
 * empty, an example shown dim in it; a URI of the wrong form is refused
 * and asked for again, as typed, to correct. */
#define HOST_URI_HINT "e.g. qemu+ssh://root@HOST/system or qemu:///system"

static int on_host_uri(struct ui *ui, int choice, const char *input, void *arg);

static void
host_uri_prompt(struct ui *ui, char *name, const char *initial)
{
	if (!ui_push(ui, overlay_prompt_hint("Add host", "libvirt URI:", initial, HOST_URI_HINT,
	    on_host_uri, name)))
		free(name);
}

/* A host to add or remove, on the writer's lane, with its journal entry. */
struct host_write {
	struct ui *ui;
	bool add;
	char *name;
	char *uri;
};

static int
host_write(struct db *db, void *arg)
{
	struct host_write *h = arg;
	char msg[1024];
	int rc;

	rc = h->add ? host_add(db, h->name, h->uri) : host_remove(db, h->name);
	if (rc == 0 && h->add)
		snprintf(msg, sizeof msg, "added host with URI '%s'", h->uri);
	else
		snprintf(msg, sizeof msg, "%s", rc == 0 ? "removed host" : err_get());
	/* The journal in the same write: it is there whenever the change is. */
	journal_add(db, h->name, NULL, h->add ? "host-add" : "host-rm", rc == 0, msg);
	if (rc != 0)
		err_set("%s", msg);
	return rc;
}

static void
host_written(void *arg, int rc, const char *error)
{
	struct host_write *h = arg;

	if (rc != 0)
		ui_status(h->ui, true, "%s", error);
	else if (h->add)
		ui_status(h->ui, false, "Host '%s' added; connecting.", h->name);
	else
		ui_status(h->ui, false, "Host '%s' removed from vmtty.", h->name);
	ui_intent(h->ui, UI_RELOAD);
	free(h->name);
	free(h->uri);
	free(h);
}

/* NAME (taken) with URI, or without: removed. */
static void
host_change(struct ui *ui, char *name, const char *uri)
{
	struct host_write *h = xcalloc(1, sizeof *h);
	char what[400];

	h->ui = ui;
	h->add = uri != NULL;
	h->name = name;
	h->uri = uri != NULL ? xstrdup(uri) : NULL;
	snprintf(what, sizeof what, "%s host '%s'", h->add ? "adding" : "removing", name);
	ui_status(ui, false, "%s host '%s'...", h->add ? "Adding" : "Removing", name);
	ui_write(ui, what, host_write, host_written, h);
}

static int
on_host_uri(struct ui *ui, int choice, const char *input, void *arg)
{
	char *name = arg;
	enum host_kind kind;

	if (choice != 1) {
		ui_status(ui, false, "Cancelled; no host was added.");
		free(name);
		return UI_HANDLED;
	}
	if (host_kind_from_uri(input, &kind) != 0) {
		ui_journal(ui, name, NULL, "host-add", false, err_get());
		ui_status(ui, true, "%s", err_get());
		host_uri_prompt(ui, name, input);
		return UI_HANDLED | UI_REDRAW;
	}
	host_change(ui, name, input);
	return UI_HANDLED | UI_REDRAW;
}

static int
on_host_name(struct ui *ui, int choice, const char *input, void *arg)
{
	(void)arg;
	if (choice != 1) {
		ui_status(ui, false, "Cancelled; no host was added.");
		return UI_HANDLED;
	}
	if (name_check("host", input) != 0) {
		ui_status(ui, true, "%s", err_get());
		return UI_HANDLED;
	}
	host_uri_prompt(ui, xstrdup(input), NULL);
	return UI_HANDLED | UI_REDRAW;
}

static int
on_host_remove(struct ui *ui, int choice, const char *input, void *arg)
{
	char *name = arg;

	(void)input;
	if (choice != 1) {
		ui_status(ui, false, "Cancelled; nothing was changed.");
		free(name);
		return UI_HANDLED | UI_REDRAW;
	}
	host_change(ui, name, NULL);
	return UI_HANDLED | UI_REDRAW;
}

static int
remove_host(struct vmlist *v, const struct row *r)
{
	char q[300];

	snprintf(q, sizeof q, "Remove host '%s' from vmtty? Its VMs are not touched.",
	    v->hosts[r->host].name);
	ui_push(v->ui, overlay_confirm("Remove host", q, NULL, on_host_remove,
	    xstrdup(v->hosts[r->host].name)));
	return UI_HANDLED | UI_REDRAW;
}

/* The action menu: items depend on the row; each maps to a key. */
static const char *const vm_menu[] = {
	"s\tStart", "S\tShut down", "R\tReboot", "p\tPause / resume", "F\tForce off",
	"X\tReset", "c\tSerial console", "C\tSerial console, full screen",
	"v\tGraphical display (VNC)", "e\tEdit", "t\tSnapshots", "T\tTuning", "g\tGraphs", "m\tMigrate",
	"i\tHost details", "x\tDelete VM",
	"D\tDelete VM and disks", "n\tNew VM", NULL,
};
static const char *const host_menu[] = {
	"n\tNew VM on this host", "i\tHost details", "a\tAdd a host", "x\tRemove this host",
	"r\tRefresh now", NULL,
};

static int
on_menu(struct ui *ui, int choice, const char *input, void *arg)
{
	const char *const *items = arg;
	struct vmlist *v = ui_view_state(ui);

	(void)input;
	if (choice < 0)
		return UI_HANDLED;
	/* Choosing an item is pressing its key. */
	return vmlist_key(v, items[choice][0] == 'r' ? K_CTRL('l') : items[choice][0]);
}

static int
filter_key(struct vmlist *v, int key)
{
	size_t len = strlen(v->filter);

	if (key == K_ESC) {
		v->filter[0] = '\0';
		v->filtering = false;
	} else if (key == '\r' || key == K_FN(KEY_ENTER)) {
		v->filtering = false;
	} else if (key == K_FN(KEY_BACKSPACE) || key == 0x7f || key == K_CTRL('h')) {
		while (len > 0 && ((unsigned char)v->filter[len - 1] & 0xc0) == 0x80)
			len--;
		if (len > 0)
			v->filter[len - 1] = '\0';
	} else if (key >= 0x20 && key < 0x7f && len + 1 < sizeof v->filter) {
		v->filter[len] = (char)key;
		v->filter[len + 1] = '\0';
	} else if (listw_key(&v->list, key) != UI_IGNORED) {
		return UI_HANDLED | UI_REDRAW;
	} else {
		return UI_HANDLED;
	}
	vmlist_build_rows(v);
	return UI_HANDLED | UI_REDRAW;
}

static int
mouse_key(struct vmlist *v)
{
	MEVENT ev;

	if (getmouse(&ev) != OK)
		return UI_HANDLED;
	if (ev.bstate & BUTTON4_PRESSED)
		return listw_key(&v->list, K_FN(KEY_UP)) | UI_REDRAW;
	if (ev.bstate & BUTTON5_PRESSED)
		return listw_key(&v->list, K_FN(KEY_DOWN)) | UI_REDRAW;
	if (ev.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_RELEASED)) {
		/* The list starts two rows below the top (header and titles). */
		int row = v->list.top + ev.y - 2;

		if (ev.y >= 2 && row < v->list.nrows)
			listw_select(&v->list, row);
		return UI_HANDLED | UI_REDRAW;
	}
	return UI_HANDLED;
}

/* OPEN (the edit form, the snapshots or tuning page, the migration dialog)
 * on the selected VM's configuration, with the state the list shows. */
static int
open_vm_page(struct vmlist *v, int (*open)(struct ui *ui, const struct vm_config *c))
{
	const struct row *r = free_vm(v);
	struct vm_config c;

	if (r == NULL)
		return UI_HANDLED | UI_REDRAW;
	if (vm_load(ui_db(v->ui), v->vms[r->vm].id, &c) != 0) {
		ui_status(v->ui, true, "%s", err_get());
		return UI_HANDLED | UI_REDRAW;
	}
	free(c.state);
	c.state = xstrdup(v->vms[r->vm].state);
	if (open(v->ui, &c) != 0)
		ui_status(v->ui, true, "%s", err_get());
	vm_config_clear(&c);
	return UI_HANDLED | UI_REDRAW;
}

/* The details page of the selected row's host. */
static int
host_key(struct vmlist *v)
{
	const struct row *r = vmlist_selected(v);

	if (r == NULL)
		return UI_HANDLED;
	if (host_view_open(v->ui, &v->hosts[r->host]) != 0)
		ui_status(v->ui, true, "%s", err_get());
	return UI_HANDLED | UI_REDRAW;
}

/* Open the selected VM's console: in a pane, or full screen; with
 * GRAPHICS its graphical display. */
static int
console_key(struct vmlist *v, bool full, bool graphics)
{
	const struct row *r = vmlist_selected(v);
	struct vm_config c;
	int rc;

	if (r == NULL || r->vm < 0) {
		ui_status(v->ui, true, "Select a VM first (this is a host row).");
		return UI_HANDLED | UI_REDRAW;
	}
	if (vm_load(ui_db(v->ui), v->vms[r->vm].id, &c) != 0) {
		ui_status(v->ui, true, "%s", err_get());
		return UI_HANDLED | UI_REDRAW;
	}
	rc = graphics ? vnc_view_open(v->ui, &c) : full ? console_passthru(v->ui, &c, false) :
	    console_view_open(v->ui, &c, false);
	if (rc != 0)
		ui_status(v->ui, true, "%s", err_get());
	vm_config_clear(&c);
	return UI_HANDLED | UI_REDRAW;
}

/* The statistics page of the selected VM, busy or not. */
static int
stats_key(struct vmlist *v)
{
	const struct row *r = vmlist_selected(v);
	struct vm_config c;

	if (r == NULL || r->vm < 0) {
		ui_status(v->ui, true, "Select a VM first (this is a host row).");
		return UI_HANDLED | UI_REDRAW;
	}
	if (vm_load(ui_db(v->ui), v->vms[r->vm].id, &c) != 0) {
		ui_status(v->ui, true, "%s", err_get());
		return UI_HANDLED | UI_REDRAW;
	}
	if (stats_view_open(v->ui, &c) != 0)
		ui_status(v->ui, true, "%s", err_get());
	vm_config_clear(&c);
	return UI_HANDLED | UI_REDRAW;
}

static int
fold_key(struct vmlist *v, const struct row *r, int key)
{
	const char *host = v->hosts[r->host].name;
	bool folded = vmlist_is_collapsed(v, host);
	bool want = key == ' ' ? !folded : key == K_FN(KEY_LEFT) || key == 'h';
	int hrow = v->list.sel;

	if (want != folded)
		vmlist_toggle_collapsed(v, host);
	while (hrow > 0 && v->rows[hrow].vm >= 0)
		hrow--;
	vmlist_build_rows(v);
	listw_select(&v->list, want ? hrow : v->list.sel);
	return UI_HANDLED | UI_REDRAW;
}

int
vmlist_key(void *arg, int key)
{
	struct vmlist *v = arg;
	const struct row *r = vmlist_selected(v);
	int intent;

	if (v->filtering)
		return filter_key(v, key);
	if (key == K_FN(KEY_MOUSE))
		return mouse_key(v);
	/* g is the graphs here, not the first row (Home is). */
	if (key != 'g' && (intent = listw_key(&v->list, key)) != UI_IGNORED)
		return intent;
	switch (key) {
	case ' ':
	case K_FN(KEY_LEFT):
	case K_FN(KEY_RIGHT):
	case 'h':
	case 'l':
		return r == NULL ? UI_HANDLED : fold_key(v, r, key);
	case '/':
		v->filtering = true;
		return UI_HANDLED | UI_REDRAW;
	case K_ESC:
		if (v->filter[0] != '\0') {
			v->filter[0] = '\0';
			vmlist_build_rows(v);
		} else if (!v->esc_hint_shown) {
			v->esc_hint_shown = true;
			ui_status(v->ui, false, "Tip: Esc and Alt keys answer after %d ms "
			    "(ESCDELAY); set ESCDELAY to change it.", ESCDELAY);
		}
		return UI_HANDLED | UI_REDRAW;
	case 'o':
	case K_FN(KEY_F(6)): {
		static const char *const names[] = { "name", "state", "CPU", "memory" };

		v->sort = (v->sort + 1) % SORT_COUNT;
		vmlist_build_rows(v);
		ui_status(v->ui, false, "Sorted by %s.", names[v->sort]);
		return UI_HANDLED | UI_REDRAW;
	}
	case 'r':
	case K_CTRL('l'):
	case K_FN(KEY_F(5)):
		fleet_refresh(ui_fleet(v->ui));
		clearok(curscr, TRUE);
		ui_status(v->ui, false, "Refreshing.");
		return UI_HANDLED | UI_RELOAD;
	case '\r':
	case K_FN(KEY_ENTER):
	case K_FN(KEY_F(2)):
		if (r == NULL)
			return UI_HANDLED;
		ui_push(v->ui, overlay_menu(r->vm >= 0 ? v->vms[r->vm].name : v->hosts[r->host].name,
		    r->vm >= 0 ? vm_menu : host_menu, on_menu,
		    (void *)(r->vm >= 0 ? vm_menu : host_menu)));
		return UI_HANDLED | UI_REDRAW;
	case 's':
		return vm_op(v, FLEET_START, false);
	case 'S':
		return vm_op(v, HV_SHUTDOWN, false);
	case 'R':
		return vm_op(v, HV_REBOOT, false);
	case 'F':
		return confirm_op(v, HV_POWEROFF, false);
	case 'X':
		return confirm_op(v, HV_RESET, false);
	case 'p':
		if (r == NULL || r->vm < 0)
			return vm_op(v, HV_PAUSE, false);
		return vm_op(v, strcmp(v->vms[r->vm].state, "paused") == 0 ? HV_RESUME : HV_PAUSE,
		    false);
	case 'x':
	case K_FN(KEY_DC):
		if (r != NULL && r->vm < 0)
			return remove_host(v, r);
		return confirm_op(v, FLEET_UNDEFINE, false);
	case 'D':
		return confirm_op(v, FLEET_UNDEFINE, true);
	case 'a':
		ui_push(v->ui, overlay_prompt("Add host", "Name:", "", on_host_name, NULL));
		return UI_HANDLED | UI_REDRAW;
	case 'n':
		if (wizard_open(v->ui, r != NULL ? v->hosts[r->host].name : NULL) != 0)
			ui_status(v->ui, true, "%s", err_get());
		return UI_HANDLED | UI_REDRAW;
	case 'e':
		return open_vm_page(v, edit_form_open);
	case 't':
		return open_vm_page(v, snapshot_view_open);
	case 'T':
		return open_vm_page(v, tune_view_open);
	case 'm':
		return open_vm_page(v, migrate_view_open);
	case 'K':
		return open_vm_page(v, clone_dialog_open);
	case 'g':
		return stats_key(v);
	case 'i':
		return host_key(v);
	case 'c':
		return console_key(v, false, false);
	case 'C':
		return console_key(v, true, false);
	case 'v':
		return console_key(v, false, true);
	default:
		return UI_IGNORED;
	}
}
