#include "ui/overlay.h"
#include "ui/ui_priv.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "util/wrap.h"
#include "util/xalloc.h"

#define PROMPT_MAX 512
#define HELP_KEY_COLS 15	/* the key column of a help line */

enum overlay_kind {
	OV_HELP,
	OV_MENU,
	OV_CONFIRM,
	OV_PROMPT,
};

struct overlay {
	enum overlay_kind kind;
	char *title;
	char **lines;
	int nlines;
	/* Help: LINES wrapped to WRAP_COLS as drawn, each SHOWN line with
	 * HEAD set when it is (part of) a heading, not a key's line. */
	char **shown;
	bool *head;
	int nshown, wrap_cols;
	struct listw list;
	char *question;
	char *typed;		/* confirm: the text that must be typed */
	bool refused;		/* confirm: Enter with other text, until an edit */
	bool enter_yes;		/* confirm: Enter says yes, as y does */
	char *label;
	char *hint;		/* prompt: shown dim while the input is empty */
	char input[PROMPT_MAX];
	bool secret;		/* prompt: the input is never drawn */
	overlay_fn fn;
	void *arg;
};

static struct overlay *
ov_new(enum overlay_kind kind, const char *title, const char *const *lines)
{
	struct overlay *o = xcalloc(1, sizeof *o);

	o->kind = kind;
	o->title = xstrdup(title);
	for (int i = 0; lines != NULL && lines[i] != NULL; i++) {
		o->lines = xreallocarray(o->lines, (size_t)o->nlines + 1, sizeof *o->lines);
		o->lines[o->nlines++] = xstrdup(lines[i]);
	}
	listw_set_rows(&o->list, o->nlines);
	return o;
}

struct overlay *
overlay_help(const char *title, const char *const *lines)
{
	return ov_new(OV_HELP, title, lines);
}

struct overlay *
overlay_menu(const char *title, const char *const *items, overlay_fn fn, void *arg)
{
	struct overlay *o = ov_new(OV_MENU, title, items);

	o->fn = fn;
	o->arg = arg;
	return o;
}

struct overlay *
overlay_confirm(const char *title, const char *question, const char *typed, overlay_fn fn,
    void *arg)
{
	struct overlay *o = ov_new(OV_CONFIRM, title, NULL);

	o->question = xstrdup(question);
	o->typed = xstrdup0(typed);
	o->fn = fn;
	o->arg = arg;
	return o;
}

struct overlay *
overlay_ask(const char *title, const char *question, overlay_fn fn, void *arg)
{
	struct overlay *o = overlay_confirm(title, question, NULL, fn, arg);

	o->enter_yes = true;
	return o;
}

struct overlay *
overlay_prompt(const char *title, const char *label, const char *initial, overlay_fn fn,
    void *arg)
{
	struct overlay *o = ov_new(OV_PROMPT, title, NULL);

	o->label = xstrdup(label);
	snprintf(o->input, sizeof o->input, "%s", initial != NULL ? initial : "");
	o->fn = fn;
	o->arg = arg;
	return o;
}

struct overlay *
overlay_prompt_hint(const char *title, const char *label, const char *initial, const char *hint,
    overlay_fn fn, void *arg)
{
	struct overlay *o = overlay_prompt(title, label, initial, fn, arg);

	o->hint = xstrdup0(hint);
	return o;
}

struct overlay *
overlay_secret(const char *title, const char *label, overlay_fn fn, void *arg)
{
	struct overlay *o = overlay_prompt(title, label, NULL, fn, arg);

	o->secret = true;
	return o;
}

void
overlay_free(struct overlay *o)
{
	if (o == NULL)
		return;
	explicit_bzero(o->input, sizeof o->input);
	for (int i = 0; i < o->nlines; i++)
		free(o->lines[i]);
	free(o->lines);
	for (int i = 0; i < o->nshown; i++)
		free(o->shown[i]);
	free(o->shown);
	free(o->head);
	free(o->title);
	free(o->question);
	free(o->typed);
	free(o->label);
	free(o->hint);
	free(o);
}

/* Append the UTF-8 of KEY to the input; false when it is not text. */
static bool
input_add(struct overlay *o, int key)
{
	char mb[8];
	mbstate_t st;
	size_t n, len = strlen(o->input);

	if (key < 0x20 || key == 0x7f || key > 0x10ffff)
		return false;
	memset(&st, 0, sizeof st);
	n = wcrtomb(mb, (wchar_t)key, &st);
	if (n == (size_t)-1 || len + n >= sizeof o->input)
		return true;
	memcpy(o->input + len, mb, n);
	o->input[len + n] = '\0';
	return true;
}

/* Remove the last UTF-8 character of the input. */
static void
input_backspace(struct overlay *o)
{
	size_t len = strlen(o->input);

	while (len > 0 && ((unsigned char)o->input[len - 1] & 0xc0) == 0x80)
		len--;
	if (len > 0)
		len--;
	o->input[len] = '\0';
}

static int
finish(struct ui *ui, struct overlay *o, int choice, bool *close)
{
	*close = true;
	if (o->fn == NULL)
		return UI_HANDLED | UI_REDRAW;
	return UI_HANDLED | UI_REDRAW | o->fn(ui, choice,
	    o->kind == OV_PROMPT || o->kind == OV_CONFIRM ? o->input : NULL, o->arg);
}

int
overlay_key(struct ui *ui, struct overlay *o, int key, bool *close)
{
	*close = false;
	if (key == K_ESC || key == K_CTRL('c') || key == K_CTRL('g'))
		return finish(ui, o, -1, close);
	switch (o->kind) {
	case OV_HELP:
		/* Nothing is selected in the help: the moving keys scroll it,
		 * from the bottom row going down and the top row going up. */
		o->list.sel = key == K_FN(KEY_DOWN) || key == 'j' || key == K_FN(KEY_NPAGE) ||
		    key == K_CTRL('f') ? o->list.top + o->list.height - 1 : o->list.top;
		if (listw_key(&o->list, key) != UI_IGNORED)
			return UI_HANDLED | UI_REDRAW;
		if (key == 'q' || key == '?' || key == '\r' || key == K_FN(KEY_F(1)))
			return finish(ui, o, -1, close);
		return UI_HANDLED;
	case OV_MENU:
		if (key == '\r' || key == K_FN(KEY_ENTER))
			return finish(ui, o, o->list.sel, close);
		if (listw_key(&o->list, key) != UI_IGNORED)
			return UI_HANDLED | UI_REDRAW;
		/* An item's own key chooses it directly. */
		for (int i = 0; i < o->nlines; i++)
			if (o->lines[i][0] != '\0' && o->lines[i][1] == '\t' && o->lines[i][0] == key)
				return finish(ui, o, i, close);
		if (key == 'q' || key == K_FN(KEY_F(2)))
			return finish(ui, o, -1, close);
		return UI_HANDLED;
	case OV_CONFIRM:
		if (o->typed == NULL) {
			if (key == 'y' || key == 'Y' || (o->enter_yes && (key == '\r' ||
			    key == K_FN(KEY_ENTER))))
				return finish(ui, o, 1, close);
			if (key == 'n' || key == 'N' || key == 'q')
				return finish(ui, o, -1, close);
			return UI_HANDLED;
		}
		/* A typed confirmation edits like a prompt. */
		__attribute__((fallthrough));
	case OV_PROMPT:
		if (key == '\r' || key == K_FN(KEY_ENTER)) {
			if (o->kind == OV_CONFIRM && strcmp(o->input, o->typed) != 0) {
				o->refused = true;
				return UI_HANDLED | UI_REDRAW;
			}
			return finish(ui, o, 1, close);
		}
		o->refused = false;
		if (key == K_FN(KEY_BACKSPACE) || key == 0x7f || key == K_CTRL('h'))
			input_backspace(o);
		else if (key == K_CTRL('u'))
			o->input[0] = '\0';
		else if (!input_add(o, key))
			return UI_HANDLED;
		return UI_HANDLED | UI_REDRAW;
	}
	return UI_HANDLED;
}

/* A framed box of H x W centred in ROWS x COLS; returns its top-left. */
static void
frame_box(int rows, int cols, int h, int w, const char *title, int *y0, int *x0, bool utf8)
{
	*y0 = (rows - h) / 2;
	*x0 = (cols - w) / 2;
	attrset(theme_attr(TH_BORDER));
	for (int y = 0; y < h; y++) {
		const char *l = utf8 ? "\xe2\x94\x82" : "|", *r = l;
		const char *fill = (y == 0 || y == h - 1) ? (utf8 ? "\xe2\x94\x80" : "-") : " ";

		if (y == 0) {
			l = utf8 ? "\xe2\x94\x8c" : "+";
			r = utf8 ? "\xe2\x94\x90" : "+";
		} else if (y == h - 1) {
			l = utf8 ? "\xe2\x94\x94" : "+";
			r = utf8 ? "\xe2\x94\x98" : "+";
		}
		ui_put(*y0 + y, *x0, 1, l);
		for (int x = 1; x < w - 1; x++)
			ui_put(*y0 + y, *x0 + x, 1, fill);
		ui_put(*y0 + y, *x0 + w - 1, 1, r);
	}
	attrset(theme_attr(TH_HEADER));
	{
		char t[256];

		snprintf(t, sizeof t, " %s ", title);
		ui_put(*y0, *x0 + 2, ui_width(t) < w - 4 ? ui_width(t) : w - 4, t);
	}
	attrset(A_NORMAL);
}

static void
shown_add(struct overlay *o, const char *text, bool head)
{
	o->shown = xreallocarray(o->shown, (size_t)o->nshown + 1, sizeof *o->shown);
	o->head = xreallocarray(o->head, (size_t)o->nshown + 1, sizeof *o->head);
	o->head[o->nshown] = head;
	o->shown[o->nshown++] = xstrdup(text);
}

/*
 * The help's lines wrapped to COLS columns (once for each width): a key's
 * description goes on under its own column, a heading or a note from the
 * left, so that every word can be read however narrow the screen.
 */
static void
help_wrap(struct overlay *o, int cols)
{
	char buf[PROMPT_MAX + 64];

	if (o->wrap_cols == cols && o->shown != NULL)
		return;
	for (int i = 0; i < o->nshown; i++)
		free(o->shown[i]);
	o->nshown = 0;
	o->wrap_cols = cols;
	for (int i = 0; i < o->nlines; i++) {
		const char *l = o->lines[i], *tab = strchr(l, '\t');
		const char *text = tab != NULL ? tab + 1 : l;
		int indent = tab != NULL ? HELP_KEY_COLS + 2 : 1;
		int width = cols - indent > 10 ? cols - indent : 10;
		bool first = true;
		size_t off = 0, len, next;

		if (*text == '\0') {
			if (tab != NULL)
				snprintf(buf, sizeof buf, " %.*s", (int)(tab - l), l);
			else
				buf[0] = '\0';
			shown_add(o, buf, false);
			continue;
		}
		while (text[off] != '\0') {
			len = wrap_line(text + off, width, &next);
			if (tab != NULL && first)
				snprintf(buf, sizeof buf, " %-*.*s %.*s", HELP_KEY_COLS, (int)(tab - l), l,
				    (int)len, text + off);
			else
				snprintf(buf, sizeof buf, "%*s%.*s", indent, "", (int)len, text + off);
			shown_add(o, buf, tab == NULL);
			first = false;
			off += next;
		}
	}
	listw_set_rows(&o->list, o->nshown);
}

static void
draw_help(struct overlay *o, int rows, int cols, int w, bool utf8)
{
	int h, y0, x0;

	help_wrap(o, w - 3);	/* a column free on the right, as on the left */
	h = o->nshown + 4 < rows - 2 ? o->nshown + 4 : rows - 2;
	frame_box(rows, cols, h, w, o->title, &y0, &x0, utf8);
	listw_set_height(&o->list, h - 4);
	for (int i = 0; i < h - 4; i++) {
		int li = o->list.top + i;

		if (li < o->nshown && o->head[li] && o->shown[li][0] != '\0')
			attrset(theme_attr(TH_HOST));
		ui_put(y0 + 2 + i, x0 + 1, w - 2, li < o->nshown ? o->shown[li] : "");
		attrset(A_NORMAL);
	}
	attrset(theme_attr(TH_DIM));
	ui_put(y0 + h - 1, x0 + 2, w - 4 > 40 ? 40 : w - 4, " Esc close  arrows scroll ");
	attrset(A_NORMAL);
}

/* The lines of question Q wrapped to WIDTH columns: how many; with Y >= 0
 * the first MAX of them drawn from (Y, X) on. */
static int
question_lines(const char *q, int width, int y, int x, int max)
{
	size_t off = 0, len, next;
	char line[PROMPT_MAX + 64];
	int n = 0;

	while (q[off] != '\0') {
		len = wrap_line(q + off, width, &next);
		if (y >= 0 && n < max) {
			snprintf(line, sizeof line, "%.*s",
			    (int)(len < sizeof line - 1 ? len : sizeof line - 1), q + off);
			ui_put(y + n, x, width, line);
		}
		n++;
		off += next;
	}
	return n > 0 ? n : 1;
}

void
overlay_draw(struct overlay *o, int rows, int cols, bool utf8)
{
	int h, w = cols - 8 < 76 ? cols - 8 : 76, y0, x0;
	char buf[PROMPT_MAX + 64];

	if (w < 20)
		w = cols;
	switch (o->kind) {
	case OV_HELP:
		draw_help(o, rows, cols, w, utf8);
		break;
	case OV_MENU:
		h = o->nlines + 4 < rows - 2 ? o->nlines + 4 : rows - 2;
		if (o->kind == OV_MENU && w > 44)
			w = 44;
		frame_box(rows, cols, h, w, o->title, &y0, &x0, utf8);
		listw_set_height(&o->list, h - 4);
		for (int i = 0; i < h - 4; i++) {
			int li = o->list.top + i;
			const char *l = li < o->nlines ? o->lines[li] : "";
			const char *tab = strchr(l, '\t');

			if (o->kind == OV_MENU && li == o->list.sel)
				attrset(theme_attr(TH_SELECTED));
			else if (tab == NULL && l[0] != '\0')
				attrset(theme_attr(TH_HOST));
			if (tab != NULL)
				snprintf(buf, sizeof buf, " %-*.*s %s", o->kind == OV_MENU ? 3 : 15,
				    (int)(tab - l), l, tab + 1);
			else
				snprintf(buf, sizeof buf, " %s", l);
			ui_put(y0 + 2 + i, x0 + 1, w - 2, buf);
			attrset(A_NORMAL);
		}
		attrset(theme_attr(TH_DIM));
		ui_put(y0 + h - 1, x0 + 2, w - 4 > 40 ? 40 : w - 4,
		    o->kind == OV_MENU ? " Enter choose  Esc close " : " Esc close  arrows scroll ");
		attrset(A_NORMAL);
		break;
	case OV_CONFIRM: {
		/* The question wrapped whole (it may say what is lost), as far
		 * as the screen goes. */
		int qh = question_lines(o->question, w - 4, -1, 0, 0);

		if (qh > rows - 2 - (o->typed != NULL ? 7 : 5))
			qh = rows - 2 - (o->typed != NULL ? 7 : 5);
		if (qh < 1)
			qh = 1;
		h = (o->typed != NULL ? 8 : 6) + qh - 1;
		frame_box(rows, cols, h, w, o->title, &y0, &x0, utf8);
		question_lines(o->question, w - 4, y0 + 2, x0 + 2, qh);
		y0 += qh - 1;
		if (o->typed != NULL) {
			snprintf(buf, sizeof buf, "Type '%s' and Enter: %s", o->typed, o->input);
			ui_put(y0 + 4, x0 + 2, w - 4, buf);
			if (o->refused) {
				snprintf(buf, sizeof buf, "'%s' is not '%s'; nothing was changed.",
				    o->input, o->typed);
				attrset(theme_attr(TH_ERROR));
				ui_put(y0 + 5, x0 + 2, w - 4, buf);
				attrset(A_NORMAL);
			}
			ui_put(y0 + 6, x0 + 2, w - 4, "Esc cancels; nothing is changed.");
		} else {
			attrset(theme_attr(TH_HINT_KEY));
			ui_put(y0 + 4, x0 + 2, w - 4, o->enter_yes ?
			    "Enter / y  yes        n / Esc  no, change nothing" :
			    "y  yes        n / Esc  no, change nothing");
			attrset(A_NORMAL);
		}
		break;
	}
	case OV_PROMPT:
		h = 6;
		frame_box(rows, cols, h, w, o->title, &y0, &x0, utf8);
		snprintf(buf, sizeof buf, "%s %s_", o->label, o->secret ? "" : o->input);
		ui_put(y0 + 2, x0 + 2, w - 4, buf);
		if (o->hint != NULL && o->input[0] == '\0' && ui_width(buf) + 1 < w - 4) {
			/* Not a value: the first key typed replaces it. */
			attrset(theme_attr(TH_DIM));
			ui_put(y0 + 2, x0 + 3 + ui_width(buf), w - 5 - ui_width(buf), o->hint);
			attrset(A_NORMAL);
		}
		attrset(theme_attr(TH_DIM));
		ui_put(y0 + 4, x0 + 2, w - 4, o->secret ?
		    "(not shown)  Enter accept   Esc cancel   Ctrl-U clear" :
		    "Enter accept   Esc cancel   Ctrl-U clear");
		attrset(A_NORMAL);
		break;
	}
}
