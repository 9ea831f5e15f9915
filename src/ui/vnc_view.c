/* The graphical console pane: a VM's screen through its VNC server
 * (console/vnc.h), drawn as an image where the terminal shows them (sixel,
 * the kitty protocol, iTerm2: ui/termgfx.h), else with block symbols in
 * the terminal's colours; scaled to the pane or 1:1 with panning.  Keys go to the guest as X
 * keysyms, mouse clicks, drags and the wheel as pointer events; Ctrl-]
 * starts a command (back to the list, the menu of chords a terminal
 * cannot type such as Ctrl-Alt-Del, a screenshot, zoom, panning).
 *
 * The session runs on a thread of its own; this view sees it through one
 * fd in the loop, and calls vnc_poll once a second as well, which is what
 * catches a server stuck in the middle of a message. */
#include "ui/cellview.h"
#include "ui/overlay.h"
#include "ui/termgfx.h"
#include "ui/ui_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "console/vnc.h"
#include "ops/fleet.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xalloc.h"

#define VV_PREFIX K_CTRL(']')
#define VV_PAN_STEP 32		/* pixels per arrow key in 1:1 mode */

/* X11 keysyms (X11/keysymdef.h) the view sends. */
enum {
	XK_BackSpace = 0xff08, XK_Tab = 0xff09, XK_Return = 0xff0d, XK_Escape = 0xff1b,
	XK_Home = 0xff50, XK_Left = 0xff51, XK_Up = 0xff52, XK_Right = 0xff53, XK_Down = 0xff54,
	XK_Page_Up = 0xff55, XK_Page_Down = 0xff56, XK_End = 0xff57, XK_Print = 0xff61,
	XK_Insert = 0xff63, XK_F1 = 0xffbe, XK_Shift_L = 0xffe1, XK_Control_L = 0xffe3,
	XK_Alt_L = 0xffe9, XK_Super_L = 0xffeb, XK_Delete = 0xffff, XK_Sys_Req = 0xff15,
};

struct opening;

struct vncview {
	struct ui *ui;
	void *list;		/* the VM list's state, to go back to */
	char *vm;		/* the VM's name */
	char *host;		/* and its host: names are unique per host only */
	struct opening *opening;
	struct vnc *s;
	int watch, timer;
	struct vnc_info info;
	char closed[600];	/* why there is no session, or "" */
	struct cellbuf cells;
	struct cellview *cv;
	struct vnc_render r;
	bool render_set;
	bool prefix;
	int buttons;		/* pointer buttons held */
	int top;		/* the pane's first screen row, as last drawn */
	bool have_img;		/* images: one for the current settings was shown */
	int img_timer;		/* images: a redraw when the terminal is ready */
};

struct opening {
	struct vncview *v;	/* NULL once the view went away */
};

static const char *const vnc_hints[] = {
	"Ctrl-] m", "Keys menu", "Ctrl-] l", "List", "Ctrl-] s", "Screenshot", "Ctrl-] z", "Zoom",
	"Ctrl-] ?", "Help", NULL, NULL,
};

static const char *const vnc_help[] = {
	"Every key goes to the guest, except Ctrl-] and what follows it:",
	"Ctrl-] m Enter\tthe menu of keys a terminal cannot send (Ctrl-Alt-Del, ...)",
	"Ctrl-] l\tback to the VM list (the display stays open)",
	"Ctrl-] k\tclose this display",
	"Ctrl-] s\tsave the screen as a PNG",
	"Ctrl-] z\tscaled to the pane / 1:1 (one cell: a pixel across, two down)",
	"Ctrl-] arrows\t1:1: move over the screen",
	"Ctrl-] r\tredraw everything",
	"Ctrl-] Ctrl-]\tsend Ctrl-] itself to the guest",
	"Ctrl-] ?\tthis help",
	"",
	"The mouse: clicks, drags and the wheel go to the guest's pointer.",
	"The title says how the screen is drawn: as an image (sixel, kitty,",
	"iterm2) where the terminal shows them, else with block symbols;",
	"'vmtty doctor' says why, VMTTY_GRAPHICS chooses.",
	"'v' in the VM list opens a display; 'vmtty screenshot VM FILE' saves one.",
	NULL,
};

extern const struct view vnc_view;

/* Chords from the menu: keysyms pressed in order, released in reverse. */
struct chord {
	const char *label;
	uint32_t keys[3];
};

static const struct chord chords[] = {
	{ "Ctrl-Alt-Del", { XK_Control_L, XK_Alt_L, XK_Delete } },
	{ "Ctrl-Alt-Backspace", { XK_Control_L, XK_Alt_L, XK_BackSpace } },
	{ "Ctrl-Alt-F1", { XK_Control_L, XK_Alt_L, XK_F1 } },
	{ "Ctrl-Alt-F2", { XK_Control_L, XK_Alt_L, XK_F1 + 1 } },
	{ "Ctrl-Alt-F3", { XK_Control_L, XK_Alt_L, XK_F1 + 2 } },
	{ "Ctrl-Alt-F4", { XK_Control_L, XK_Alt_L, XK_F1 + 3 } },
	{ "Ctrl-Alt-F5", { XK_Control_L, XK_Alt_L, XK_F1 + 4 } },
	{ "Ctrl-Alt-F6", { XK_Control_L, XK_Alt_L, XK_F1 + 5 } },
	{ "Ctrl-Alt-F7", { XK_Control_L, XK_Alt_L, XK_F1 + 6 } },
	{ "Ctrl-Alt-F8", { XK_Control_L, XK_Alt_L, XK_F1 + 7 } },
	{ "Ctrl-Alt-F9", { XK_Control_L, XK_Alt_L, XK_F1 + 8 } },
	{ "Ctrl-Alt-F10", { XK_Control_L, XK_Alt_L, XK_F1 + 9 } },
	{ "Ctrl-Alt-F11", { XK_Control_L, XK_Alt_L, XK_F1 + 10 } },
	{ "Ctrl-Alt-F12", { XK_Control_L, XK_Alt_L, XK_F1 + 11 } },
	{ "Alt-Tab", { XK_Alt_L, XK_Tab, 0 } },
	{ "Alt-F4", { XK_Alt_L, XK_F1 + 3, 0 } },
	{ "Alt-SysRq", { XK_Alt_L, XK_Sys_Req, 0 } },
	{ "Print Screen", { XK_Print, 0, 0 } },
	{ "Super (Windows key)", { XK_Super_L, 0, 0 } },
	{ "Ctrl-]", { XK_Control_L, ']', 0 } },
};
#define NCHORDS (sizeof chords / sizeof chords[0])

static bool
vv_current(const struct vncview *v)
{
	return ui_view_state(v->ui) == v;
}

static void
chord_send(struct vncview *v, const uint32_t *keys, int n)
{
	if (v->s == NULL)
		return;
	for (int i = 0; i < n && keys[i] != 0; i++)
		vnc_key(v->s, keys[i], true);
	for (int i = n - 1; i >= 0; i--)
		if (keys[i] != 0)
			vnc_key(v->s, keys[i], false);
}

/* The keysym of a curses key, and whether Ctrl is held with it; 0 when the
 * key has none. */
static uint32_t
key_sym(int key, bool *ctrl)
{
	static const struct {
		int key;
		uint32_t sym;
	} fn[] = {
		{ KEY_UP, XK_Up }, { KEY_DOWN, XK_Down }, { KEY_LEFT, XK_Left },
		{ KEY_RIGHT, XK_Right }, { KEY_HOME, XK_Home }, { KEY_END, XK_End },
		{ KEY_PPAGE, XK_Page_Up }, { KEY_NPAGE, XK_Page_Down }, { KEY_IC, XK_Insert },
		{ KEY_DC, XK_Delete }, { KEY_BACKSPACE, XK_BackSpace }, { KEY_ENTER, XK_Return },
	};

	*ctrl = false;
	if (key & K_FN(0)) {
		int k = key & ~K_FN(0);

		if (k >= KEY_F(1) && k <= KEY_F(12))
			return XK_F1 + (uint32_t)(k - KEY_F(1));
		for (size_t i = 0; i < sizeof fn / sizeof fn[0]; i++)
			if (fn[i].key == k)
				return fn[i].sym;
		return 0;
	}
	switch (key) {
	case '\r':
	case '\n':
		return XK_Return;
	case '\t':
		return XK_Tab;
	case 0x7f:
	case K_CTRL('h'):
		return XK_BackSpace;
	case K_ESC:
		return XK_Escape;
	default:
		break;
	}
	if (key > 0 && key < 0x20) {
		*ctrl = true;
		return (uint32_t)(key + 0x60);	/* Ctrl-A: Control + 'a' */
	}
	if (key < 0x100)
		return (uint32_t)key;	/* Latin-1 keysyms are the code points */
	return 0x01000000u | (uint32_t)key;	/* Unicode keysyms */
}

/* A server that maps keysyms to scancodes (QEMU) presses Shift itself for
 * capitals but not for the shifted punctuation of a US keyboard: a
 * terminal gives characters, not key presses, so Shift goes with those. */
static bool
needs_shift(uint32_t sym)
{
	return (sym >= 'A' && sym <= 'Z') || (sym < 0x80 && strchr("~!@#$%^&*()_+{}|:\"<>?",
	    (int)sym) != NULL && sym != 0);
}

static void
key_send(struct vncview *v, int key)
{
	bool ctrl;
	uint32_t sym = key_sym(key, &ctrl);
	uint32_t keys[2] = { XK_Control_L, sym };

	if (sym == 0 || v->s == NULL)
		return;
	if (!ctrl && needs_shift(sym)) {
		keys[0] = XK_Shift_L;
		ctrl = true;
	}
	if (key == K_FN(KEY_BTAB)) {
		keys[0] = XK_Shift_L;
		keys[1] = XK_Tab;
		ctrl = true;
	}
	if (ctrl)
		chord_send(v, keys, 2);
	else
		chord_send(v, &sym, 1);
}

static void
session_close(struct vncview *v)
{
	if (v->watch >= 0)
		loop_remove_fd(ui_loop(v->ui), v->watch);
	v->watch = -1;
	vnc_free(v->s);
	v->s = NULL;
}

static int
on_password(struct ui *ui, int choice, const char *input, void *arg)
{
	struct vncview *v = arg;

	(void)ui;
	if (v->s == NULL)
		return UI_HANDLED;
	if (choice < 0 || input == NULL) {
		snprintf(v->closed, sizeof v->closed, "No password given for the VNC display of "
		    "VM '%s'.", v->vm);
		session_close(v);
		return UI_HANDLED | UI_REDRAW;
	}
	vnc_password(v->s, input);
	return UI_HANDLED | UI_REDRAW;
}

/* What the session says: new cells, a password wanted, a screenshot
 * saved, the end. */
static int
vv_poll(struct vncview *v)
{
	enum vnc_state was = v->info.state;

	if (v->s == NULL)
		return UI_IGNORED;
	vnc_poll(v->s, &v->info);
	if (v->info.note[0] != '\0')
		ui_status(v->ui, v->info.note_error, "%s", v->info.note);
	if (v->info.state == VNC_PASSWORD && was != VNC_PASSWORD)
		ui_push(v->ui, overlay_prompt("VNC password", "Password:", "", on_password, v));
	if (v->info.state == VNC_CLOSED) {
		snprintf(v->closed, sizeof v->closed, "%s.", v->info.error);
		ui_status(v->ui, true, "%s", v->closed);
		session_close(v);
	}
	return vv_current(v) ? UI_REDRAW : UI_IGNORED;
}

static void
on_session(int fd, short revents, void *arg)
{
	struct vncview *v = arg;

	(void)fd;
	(void)revents;
	ui_intent(v->ui, vv_poll(v));
}

static void
on_opened(int fd, const char *error, void *arg)
{
	struct opening *o = arg;
	struct vncview *v = o->v;
	char *who;

	free(o);
	if (v == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	v->opening = NULL;
	if (fd < 0) {
		snprintf(v->closed, sizeof v->closed, "%s.", error);
		ui_status(v->ui, true, "%s", v->closed);
		ui_intent(v->ui, UI_REDRAW);
		return;
	}
	who = xasprintf("VM '%s'", v->vm);
	v->s = vnc_new(fd, who);
	free(who);
	if (v->s == NULL) {
		snprintf(v->closed, sizeof v->closed, "%s.", err_get());
		ui_status(v->ui, true, "%s", v->closed);
	} else {
		v->watch = loop_add_fd(ui_loop(v->ui), vnc_fd(v->s), POLLIN, on_session, v);
		v->render_set = false;
	}
	ui_intent(v->ui, UI_REDRAW);
}

/* Once a second (see the top of the file). */
static int
vv_tick(void *arg)
{
	return vv_poll(arg) & ~UI_REDRAW;
}

static void *
vv_init(struct ui *ui)
{
	(void)ui;
	return NULL;	/* made by vnc_view_open */
}

static void
vv_free(void *arg)
{
	struct vncview *v = arg;

	if (v == NULL)
		return;
	if (v->opening != NULL)
		v->opening->v = NULL;
	if (v->img_timer >= 0)
		loop_cancel_timer(ui_loop(v->ui), v->img_timer);
	session_close(v);
	cellview_free(v->cv);
	cellbuf_free(&v->cells);
	free(v->vm);
	free(v->host);
	free(v);
}

static int
terminal_colours(void)
{
	const char *ct = getenv("COLORTERM");

	if (ct != NULL && (strcmp(ct, "truecolor") == 0 || strcmp(ct, "24bit") == 0))
		return 0;
	return has_colors() && COLORS >= 256 ? 256 : 16;
}

static void
draw_message(int top, int rows, int cols, const char *msg)
{
	int len = (int)strlen(msg);

	if (len > cols)
		len = cols;
	attrset(theme_attr(TH_DIM));
	mvaddnstr(top + rows / 2, len < cols ? (cols - len) / 2 : 0, msg, len);
	attrset(A_NORMAL);
}

static void
on_img_timer(void *arg)
{
	struct vncview *v = arg;

	v->img_timer = -1;
	if (vv_current(v))
		ui_intent(v->ui, UI_REDRAW);
}

/* Images: the newest one goes to the terminal when it has taken the last
 * one in; until then the one on screen stays, and a timer comes back. */
static void
draw_image(struct vncview *v, int top)
{
	struct vnc_image img;
	long wait = 0;

	if (!termgfx_ready(&wait)) {
		if (v->have_img)
			termgfx_keep();
		if (v->img_timer < 0)
			v->img_timer = loop_add_timer(ui_loop(v->ui), wait, on_img_timer, v);
		return;
	}
	if (vnc_image(v->s, &img)) {
		termgfx_show(top + img.row, img.col, img.rows, img.cols, img.data, img.len);
		free(img.data);
		v->have_img = true;
	} else if (v->have_img) {
		termgfx_keep();
	}
}

/* The render settings for a pane of ROWS x COLS: images when the terminal
 * shows them (termgfx.h), else cells. */
static void
render_settings(struct vncview *v, int rows, int cols)
{
	const struct termgfx_info *gi = termgfx_info();

	v->r.rows = rows;
	v->r.cols = cols;
	v->r.colours = terminal_colours();
	v->r.utf8 = ui_utf8(v->ui);
	v->r.pixels = gi->mode;
	v->r.cell_w = gi->cell_w;
	v->r.cell_h = gi->cell_h;
	v->r.max_w = gi->mode == TP_SIXEL ? gi->caps.sixel_max_w : 0;
	v->r.max_h = gi->mode == TP_SIXEL ? gi->caps.sixel_max_h : 0;
}

static void
vv_draw(void *arg, int top, int rows, int cols)
{
	struct vncview *v = arg;
	const struct termgfx_info *gi = termgfx_info();
	char title[512];

	for (int y = top; y < top + rows; y++) {
		move(y, 0);
		clrtoeol();
	}
	snprintf(title, sizeof title, " VM %s  display %dx%d  %s  %s  Ctrl-] m: keys menu ", v->vm,
	    v->info.width, v->info.height, v->r.fit ? "scaled" : "1:1", tp_mode_name(gi->mode));
	attrset(theme_attr(TH_HEADER));
	ui_put(top, 0, cols, title);
	attrset(A_NORMAL);
	v->top = top + 1;
	rows--;
	if (v->s == NULL || v->info.state != VNC_UP) {
		draw_message(top + 1, rows, cols, v->closed[0] != '\0' ? v->closed :
		    v->opening != NULL ? "Opening the display..." :
		    v->info.state == VNC_PASSWORD ? "The VNC server wants a password." :
		    "Connecting to the VNC server...");
		return;
	}
	if (!v->render_set || v->r.rows != rows || v->r.cols != cols ||
	    v->r.cell_w != gi->cell_w || v->r.cell_h != gi->cell_h) {
		render_settings(v, rows, cols);
		vnc_set_render(v->s, &v->r);
		v->render_set = true;
		v->have_img = false;
	}
	/* The rows that changed go to the pad; the pad goes to the screen.
	 * Under an image the cells are blank. */
	vnc_cells(v->s, &v->cells);
	cellview_draw(v->cv, &v->cells, top + 1, 0, false);
	cellbuf_clean(&v->cells);
	if (v->r.pixels != TP_SYMBOLS)
		draw_image(v, top + 1);
}

static void
rerender(struct vncview *v)
{
	v->have_img = false;
	if (v->s != NULL)
		vnc_set_render(v->s, &v->r);
}

static int
on_chord(struct ui *ui, int choice, const char *input, void *arg)
{
	struct vncview *v = arg;

	(void)ui;
	(void)input;
	if (choice < 0 || (size_t)choice >= NCHORDS)
		return UI_HANDLED;
	chord_send(v, chords[choice].keys, 3);
	ui_status(v->ui, false, "Sent %s to VM '%s'.", chords[choice].label, v->vm);
	return UI_HANDLED | UI_REDRAW;
}

static int
on_shot(struct ui *ui, int choice, const char *input, void *arg)
{
	struct vncview *v = arg;

	(void)ui;
	if (choice < 0 || input == NULL || input[0] == '\0' || v->s == NULL)
		return UI_HANDLED | UI_REDRAW;
	vnc_screenshot(v->s, input);
	return UI_HANDLED | UI_REDRAW;
}

static int
shot_key(struct vncview *v)
{
	char path[600];
	time_t t = time(NULL);
	struct tm tm;

	if (v->s == NULL || v->info.state != VNC_UP) {
		ui_status(v->ui, true, "The display of VM '%s' is not open; nothing to save.", v->vm);
		return UI_HANDLED | UI_REDRAW;
	}
	localtime_r(&t, &tm);
	snprintf(path, sizeof path, "%s-%04d%02d%02d-%02d%02d%02d.png", v->vm, tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	ui_push(v->ui, overlay_prompt("Screenshot", "Save as:", path, on_shot, v));
	return UI_HANDLED | UI_REDRAW;
}

static int
menu_key(struct vncview *v)
{
	static const char *items[NCHORDS + 1];

	for (size_t i = 0; i < NCHORDS; i++)
		items[i] = chords[i].label;
	items[NCHORDS] = NULL;
	ui_push(v->ui, overlay_menu("Send keys", items, on_chord, v));
	return UI_HANDLED | UI_REDRAW;
}

static int
pan(struct vncview *v, int dx, int dy)
{
	if (v->r.fit) {
		ui_status(v->ui, false, "Panning is for 1:1 mode (Ctrl-] z).");
		return UI_HANDLED | UI_REDRAW;
	}
	v->r.pan_x += dx;
	v->r.pan_y += dy;
	v->r.pan_x = v->r.pan_x < 0 ? 0 : v->r.pan_x > v->info.width ? v->info.width : v->r.pan_x;
	v->r.pan_y = v->r.pan_y < 0 ? 0 : v->r.pan_y > v->info.height ? v->info.height :
	    v->r.pan_y;
	rerender(v);
	return UI_HANDLED | UI_REDRAW;
}

/* The key after Ctrl-].  The "Ctrl-] ..." status goes first: it is no
 * longer true, here or on the list 'l' and 'k' go back to. */
static int
command_key(struct vncview *v, int key)
{
	ui_status(v->ui, false, "%s", "");
	switch (key) {
	case 'l':
		ui_view_show(v->ui, v->list);
		return UI_HANDLED | UI_REDRAW;
	case 'k':
		ui_view_show(v->ui, v->list);
		ui_view_remove(v->ui, v);	/* frees V */
		return UI_HANDLED | UI_REDRAW;
	case 'm':
	case '\r':
	case K_FN(KEY_ENTER):
		return menu_key(v);
	case 's':
		return shot_key(v);
	case 'z':
		v->r.fit = !v->r.fit;
		rerender(v);
		return UI_HANDLED | UI_REDRAW;
	case 'r':
		clearok(curscr, TRUE);
		rerender(v);
		return UI_HANDLED | UI_REDRAW;
	case K_FN(KEY_LEFT):
		return pan(v, -VV_PAN_STEP, 0);
	case K_FN(KEY_RIGHT):
		return pan(v, VV_PAN_STEP, 0);
	case K_FN(KEY_UP):
		return pan(v, 0, -VV_PAN_STEP);
	case K_FN(KEY_DOWN):
		return pan(v, 0, VV_PAN_STEP);
	case '?':
		ui_push(v->ui, overlay_help("Graphical console keys", vnc_help));
		return UI_HANDLED | UI_REDRAW;
	case VV_PREFIX:
		chord_send(v, chords[NCHORDS - 1].keys, 2);
		return UI_HANDLED;
	default:
		return UI_HANDLED;
	}
}

/* Clicks, drags and the wheel, at the pixel under the cell. */
static int
mouse_key(struct vncview *v)
{
	MEVENT ev;
	int x, y, b = v->buttons;

	if (getmouse(&ev) != OK || v->s == NULL ||
	    !vnc_cell_pixel(v->s, ev.y - v->top, ev.x, &x, &y))
		return UI_HANDLED;
	if (ev.bstate & (BUTTON4_PRESSED | BUTTON5_PRESSED)) {
		int wheel = ev.bstate & BUTTON4_PRESSED ? 8 : 16;

		vnc_pointer(v->s, x, y, b | wheel);
		vnc_pointer(v->s, x, y, b);
		return UI_HANDLED;
	}
	if (ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED))
		b |= 1;
	if (ev.bstate & (BUTTON2_PRESSED | BUTTON2_CLICKED))
		b |= 2;
	if (ev.bstate & (BUTTON3_PRESSED | BUTTON3_CLICKED))
		b |= 4;
	vnc_pointer(v->s, x, y, b);
	if (ev.bstate & (BUTTON1_RELEASED | BUTTON1_CLICKED))
		b &= ~1;
	if (ev.bstate & (BUTTON2_RELEASED | BUTTON2_CLICKED))
		b &= ~2;
	if (ev.bstate & (BUTTON3_RELEASED | BUTTON3_CLICKED))
		b &= ~4;
	if (b != v->buttons || (ev.bstate & (BUTTON1_CLICKED | BUTTON2_CLICKED | BUTTON3_CLICKED)))
		vnc_pointer(v->s, x, y, b);
	v->buttons = b;
	return UI_HANDLED;
}

static int
vv_key(void *arg, int key)
{
	struct vncview *v = arg;

	if (v->prefix) {
		v->prefix = false;
		return command_key(v, key);
	}
	if (key == VV_PREFIX) {
		v->prefix = true;
		ui_status(v->ui, false, "Ctrl-] ... (m menu, l list, s screenshot, z zoom, ? help)");
		return UI_HANDLED | UI_REDRAW;
	}
	if (key == K_FN(KEY_MOUSE))
		return mouse_key(v);
	if (key == K_FN(KEY_RESIZE))
		return UI_IGNORED;
	key_send(v, key);
	return UI_HANDLED;
}

const struct view vnc_view = {
	.name = "vnc",
	.init = vv_init,
	.free = vv_free,
	.draw = vv_draw,
	.key = vv_key,
	.tick = vv_tick,
	.hints = vnc_hints,
	.hints_ascii = vnc_hints,
	.help = vnc_help,
};

int
vnc_view_open(struct ui *ui, const struct vm_config *c)
{
	struct vncview *v;
	struct opening *o;

	for (v = ui_view_next(ui, &vnc_view, NULL); v != NULL; v = ui_view_next(ui, &vnc_view, v)) {
		if (strcmp(v->vm, c->name) == 0 && strcmp(v->host, c->host != NULL ? c->host : "") == 0 &&
		    (v->s != NULL || v->opening != NULL)) {
			ui_view_show(ui, v);
			return 0;
		}
	}
	if (c->machine != NULL && strcmp(c->machine, "microvm") == 0)
		return err_set("VM '%s' is a microvm, which has no display at all (no VGA, no "
		    "VNC); use its serial console ('c') instead", c->name);
	if (c->graphics != NULL && strcmp(c->graphics, "none") == 0)
		return err_set("VM '%s' has no graphical display (graphics=none); use its serial "
		    "console ('c') instead", c->name);
	v = xcalloc(1, sizeof *v);
	v->ui = ui;
	v->list = ui_view_state(ui);
	v->vm = xstrdup(c->name);
	v->host = xstrdup(c->host != NULL ? c->host : "");
	v->watch = v->timer = v->img_timer = -1;
	v->cv = cellview_new();
	v->r.fit = true;
	cellbuf_init(&v->cells, 1, 1);
	o = xcalloc(1, sizeof *o);
	o->v = v;
	v->opening = o;
	if (ui_view_add(ui, &vnc_view, v) != 0) {
		free(o);
		v->opening = NULL;
		vv_free(v);
		return -1;
	}
	if (fleet_graphics_open(ui_fleet(ui), c->host, c, on_opened, o) != 0) {
		ui_view_remove(ui, v);	/* frees V; O was never handed over */
		free(o);
		return -1;
	}
	mousemask(ALL_MOUSE_EVENTS, NULL);
	ui_view_show(ui, v);
	return 0;
}
