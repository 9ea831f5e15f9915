/* Private to src/ui: views, intent flags, the shared UI state. */
#ifndef VMTTY_UI_PRIV_H
#define VMTTY_UI_PRIV_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

#include "model/writer.h"

struct db;
struct lane;
struct ui;

/* Key handlers return these intents; the loop acts on them. */
enum {
	UI_IGNORED = 0,
	UI_HANDLED = 1 << 0,
	UI_REDRAW = 1 << 1,
	UI_RELOAD = 1 << 2,
	UI_QUIT = 1 << 3,
};

/* Keys: characters as themselves, curses function keys with K_FN set. */
#define K_FN(k) (0x1000000 | (k))
#define K_CTRL(c) ((c) & 0x1f)
#define K_ESC 27

/* A screen.  Views draw into stdscr rows [top, top + rows). */
struct view {
	const char *name;
	void *(*init)(struct ui *ui);
	void (*free)(void *v);
	/* Re-read what the view shows (inventory, backend state). */
	void (*reload)(void *v);
	void (*draw)(void *v, int top, int rows, int cols);
	int (*key)(void *v, int key);
	/* Once a second: refresh cheap live state; returns intents. */
	int (*tick)(void *v);
	/* The fleet's view of some host changed; returns intents. */
	int (*fleet_changed)(void *v);
	/* Keys for the hint bar: "q Quit  / Filter ..." pairs. */
	const char *const *hints;
	const char *const *hints_ascii;	/* the same without UTF-8 glyphs */
	/* The '?' overlay: "key\tdescription" lines and headings. */
	const char *const *help;
};

extern const struct view vmlist_view;

struct overlay;

/* The inventory, for reading: the UI thread never writes it (a write
 * could wait seconds for another program's lock).  Writes go through
 * ui_write, in order, on the writer's lane (model/writer.h). */
struct db *ui_db(struct ui *ui);
void ui_write(struct ui *ui, const char *what, writer_fn fn, writer_done_fn done, void *arg);
/* Journal one operation (through ui_write). */
void ui_journal(struct ui *ui, const char *host, const char *vm, const char *action, bool ok,
    const char *message);
/* Show O on top of everything; it takes the keys until it closes.  False
 * (O freed, its callback never called) when too many are open. */
bool ui_push(struct ui *ui, struct overlay *o);
/* The view's state (for overlay callbacks). */
void *ui_view_state(struct ui *ui);
/* Act on INTENT as if a key handler had returned it (for callbacks). */
void ui_intent(struct ui *ui, int intent);

/* More views besides the VM list (consoles): add one (the UI frees it with
 * its view's free), show it, remove it; the VM list is shown after the
 * current view is removed.  0 or -1 + err. */
int ui_view_add(struct ui *ui, const struct view *view, void *state);
void ui_view_show(struct ui *ui, void *state);
void ui_view_remove(struct ui *ui, void *state);
/* The next view of kind VIEW after AFTER (NULL: the first); NULL: none. */
void *ui_view_next(struct ui *ui, const struct view *view, void *after);
struct loop *ui_loop(struct ui *ui);
struct jobs *ui_jobs(struct ui *ui);
/* A lane with nothing queued or running, for a long job that is no one
 * host's (a migration talks to two): the last one when it is idle, else a
 * new one.  NULL + err. */
struct lane *ui_long_lane(struct ui *ui);
/* Leave curses for a full-screen program on the real terminal, and back. */
void ui_suspend(struct ui *ui);
void ui_resume(struct ui *ui);
struct fleet *ui_fleet(struct ui *ui);
/* A message for the status line; ERROR shows it in the error colour. */
void ui_status(struct ui *ui, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool ui_utf8(const struct ui *ui);

struct vm_config;

/* The serial console of VM C in a pane of its own (or switch to the pane
 * already open).  0, or -1 + err; the opening itself goes on off the UI
 * thread and reports on the status line.  (console_view.c) */
int console_view_open(struct ui *ui, const struct vm_config *c, bool force);
/* VM C's console full screen on the real terminal until the escape key;
 * then back to the TUI.  (console_view.c) */
int console_passthru(struct ui *ui, const struct vm_config *c, bool force);
/* VM C's graphical display (VNC) in a pane of its own, or the pane already
 * open.  0, or -1 + err.  (vnc_view.c) */
int vnc_view_open(struct ui *ui, const struct vm_config *c);

/* The new-VM wizard as a view, starting on host HOST (may be NULL).
 * 0, or -1 + err.  (wizard.c) */
int wizard_open(struct ui *ui, const char *host);
/* The edit form of VM C as a view.  0, or -1 + err.  (edit_form.c) */
int edit_form_open(struct ui *ui, const struct vm_config *c);
/* The tuning page of VM C (pins, hugepages, the balloon; key T) as a view.
 * 0, or -1 + err.  (tune_view.c) */
int tune_view_open(struct ui *ui, const struct vm_config *c);
/* The snapshots page of VM C (key t): its snapshot tree; create, revert,
 * delete.  0, or -1 + err.  (snapshot_view.c) */
int snapshot_view_open(struct ui *ui, const struct vm_config *c);

/* The clone dialog of stopped VM C (key K): the new name, full or linked,
 * then the clone made off the UI thread.  0, or -1 + err.  (clone_dialog.c) */
int clone_dialog_open(struct ui *ui, const struct vm_config *c);
/* The migration dialog of VM C (key m): the destination and the choices,
 * the preflight's findings to confirm, then the move with its progress;
 * Esc stops it.  0, or -1 + err.  (migrate_view.c) */
int migrate_view_open(struct ui *ui, const struct vm_config *c);
/* Is a migration from or to host HOST under way in the UI?  (The VM list
 * does not mirror such a host's list into the inventory meanwhile: the
 * move's own record comes first.) */
bool migrate_view_moving(struct ui *ui, const char *host);

struct host;

/* The details page of host H (CPUs, memory, hugepages, KSM) as a view.
 * 0, or -1 + err.  (host_view.c) */
int host_view_open(struct ui *ui, const struct host *h);

struct sampler;
struct stats_point;
struct stats_vm;
struct vm_summary;

/* The live statistics of the hosts' VMs, sampled on the hosts' fleet lanes
 * while a view shows them.  (sampler.c) */
struct sampler *ui_sampler(struct ui *ui);
/* Quitting: free it after jobs_free. */
struct sampler *sampler_new(struct ui *ui);
void sampler_free(struct sampler *s);
/* Every how many ms ($VMTTY_STATS_INTERVAL, default 2 s). */
int sampler_interval_ms(const struct sampler *s);
/* The hosts and their VMs, as the VM list has them now. */
void sampler_set_vms(struct sampler *s, const struct host *hosts, size_t nhosts,
    const struct vm_summary *vms, size_t nvms);
/* A view shows HOST's numbers now: sample it (at once when idle) for the
 * next two intervals. */
void sampler_want(struct sampler *s, const char *host);
/* VM UUID of HOST: its points of the last WINDOW_MS, as stats_history. */
size_t sampler_history(struct sampler *s, const char *host, const char *uuid, long long window_ms,
    struct stats_point *out, size_t max);
/* VM UUID of HOST as last sampled (free with stats_vms_free(v, 1)), or NULL. */
struct stats_vm *sampler_latest(struct sampler *s, const char *host, const char *uuid);
/* Why HOST's numbers are not fresh: a sentence, or "". */
const char *sampler_error(struct sampler *s, const char *host);

/* The statistics page of VM C (key g): graphs of its CPU, memory, disk
 * and network over the last 1, 5 or 10 minutes.  0, or -1 + err.
 * (stats_view.c) */
int stats_view_open(struct ui *ui, const struct vm_config *c);

/* Colour roles, resolved to attributes by theme_attr(). */
enum theme_role {
	TH_NORMAL,
	TH_HEADER,
	TH_SELECTED,
	TH_HOST,
	TH_RUNNING,
	TH_PAUSED,
	TH_OFF,
	TH_CRASHED,
	TH_STATUS,
	TH_ERROR,
	TH_HINT_KEY,
	TH_HINT,
	TH_DIM,
	TH_BORDER,
	TH_COUNT,
};

/* Choose colours: 256/16/mono by terminal, none under NO_COLOR. */
void theme_init(void);
attr_t theme_attr(enum theme_role role);
/* The role for a VM state word ("running", "paused", ...). */
enum theme_role theme_state_role(const char *state);

/* The one list widget: selection and scrolling over NROWS rows. */
struct listw {
	int nrows;
	int sel;
	int top;
	int height;
};

void listw_set_rows(struct listw *l, int nrows);
void listw_set_height(struct listw *l, int height);
/* Arrow/vi/page keys; UI_REDRAW when the selection moved. */
int listw_key(struct listw *l, int key);
void listw_select(struct listw *l, int row);

/* Display width of UTF-8 S in terminal columns. */
int ui_width(const char *s);
/* Draw S clipped to WIDTH columns at (y, x), padding with spaces. */
void ui_put(int y, int x, int width, const char *s);

#endif
