/* serial: libvterm 0.1.4 (the old API) behind a small interface.
 *
 * libvterm's screen layer keeps the live grid; we keep the scrollback
 * (sb_pushline/sb_popline, primary screen only) as trimmed rows of struct
 * cell, and convert live rows into the view only when libvterm damaged
 * them.  libvterm writes everything for the guest (replies and encoded
 * keys) through one output callback, which we point at the reply buffer
 * or, inside serial_key, at a scratch buffer. */
#include "console/serial.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vterm.h>

#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

/* A write much larger than this overflows the stack inside libvterm
 * 0.1.4 (a VLA of one uint32_t per byte of text). */
#define SERIAL_CHUNK 4096
#define SERIAL_REPLY_MAX (64 * 1024)
#define SERIAL_SCROLLBACK_MAX 1000000

struct sbline {
	struct cell *cells;
	int len;		/* cells kept; the rest of the line is blank */
	int cap;
};

struct obuf {
	char *buf;
	size_t len;
	size_t size;
};

struct serial {
	VTerm *vt;
	VTermState *state;
	VTermScreen *screen;
	int rows, cols;

	struct sbline *sb;	/* ring of sb_max lines, sb_first the oldest */
	int sb_max, sb_first, sb_count;

	struct obuf reply;
	struct obuf keys;
	struct obuf *out;	/* where libvterm's output goes now */

	struct cellbuf view;
	int view_offset;	/* what the view shows; -1: rebuild it */
	int dirty_top, dirty_bottom;	/* live rows changed since the view */
	unsigned long gen, view_gen;	/* bumped on every change */
	bool cursor_visible;

	VTermColor def_fg, def_bg;
	uint32_t palette[256];

	struct cell *row;	/* scratch: one live row */
	char *text;		/* scratch: one line as UTF-8 */
	size_t textsize;

	char pend[4];		/* the start of a cut UTF-8 character */
	size_t npend;

	int log_fd;
};

/* libvterm wants zeroed memory; ours aborts (after restoring the
 * terminal) rather than returning NULL. */
static void *
vt_malloc(size_t size, void *arg)
{
	(void)arg;
	return xcalloc(1, size);
}

static void
vt_free(void *p, void *arg)
{
	(void)arg;
	free(p);
}

static VTermAllocatorFunctions vt_alloc = {
	.malloc = vt_malloc,
	.free = vt_free,
};

/* Append, keeping at most SERIAL_REPLY_MAX bytes (the rest is dropped). */
static void
obuf_add(struct obuf *o, const char *p, size_t n)
{
	if (n > SERIAL_REPLY_MAX - o->len)
		n = SERIAL_REPLY_MAX - o->len;
	if (n == 0)
		return;
	if (o->len + n > o->size) {
		o->size = o->size == 0 ? 256 : o->size;
		while (o->size < o->len + n)
			o->size *= 2;
		o->buf = xrealloc(o->buf, o->size);
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void
on_output(const char *p, size_t n, void *arg)
{
	struct serial *s = arg;

	obuf_add(s->out, p, n);
}

/* Note live rows [TOP, BOTTOM) as changed (and that something changed). */
static void
dirty(struct serial *s, int top, int bottom)
{
	if (top < 0)
		top = 0;
	if (bottom > s->rows)
		bottom = s->rows;
	s->gen++;
	if (top >= bottom)
		return;
	if (s->dirty_top >= s->dirty_bottom) {
		s->dirty_top = top;
		s->dirty_bottom = bottom;
		return;
	}
	if (top < s->dirty_top)
		s->dirty_top = top;
	if (bottom > s->dirty_bottom)
		s->dirty_bottom = bottom;
}

/* A libvterm colour as 0xRRGGBB (or CELL_DEFAULT) plus its palette index.
 * 0.1.4 keeps indexed colours indexed and flags the defaults, so no
 * comparison with the default or palette colours is needed. */
static void
colour_from(const struct serial *s, const VTermColor *vc, uint32_t *rgb,
    int16_t *idx)
{
	*idx = -1;
	if (VTERM_COLOR_IS_DEFAULT_FG(vc) || VTERM_COLOR_IS_DEFAULT_BG(vc)) {
		*rgb = CELL_DEFAULT;
		return;
	}
	if (VTERM_COLOR_IS_INDEXED(vc)) {
		*idx = vc->indexed.idx;
		*rgb = s->palette[vc->indexed.idx];
		return;
	}
	*rgb = (uint32_t)vc->rgb.red << 16 | (uint32_t)vc->rgb.green << 8 |
	    vc->rgb.blue;
}

static void
colour_to(const struct serial *s, uint32_t rgb, int16_t idx, bool fg,
    VTermColor *vc)
{
	if (rgb == CELL_DEFAULT)
		*vc = fg ? s->def_fg : s->def_bg;
	else if (idx >= 0)
		vterm_color_indexed(vc, (uint8_t)idx);
	else
		vterm_color_rgb(vc, (uint8_t)(rgb >> 16), (uint8_t)(rgb >> 8),
		    (uint8_t)rgb);
}

/* The right half of a wide character comes back as chars[0] == -1 with
 * width 1; we give it width 0. */
static void
cell_from(const struct serial *s, const VTermScreenCell *vc, struct cell *c)
{
	uint32_t ch = vc->chars[0];

	if (ch == (uint32_t)-1) {
		c->ch = 0;
		c->width = 0;
	} else {
		c->ch = ch;
		c->width = vc->width == 2 ? 2 : 1;
	}
	c->attrs = 0;
	if (vc->attrs.bold)
		c->attrs |= CELL_BOLD;
	if (vc->attrs.underline)
		c->attrs |= CELL_UNDERLINE;
	if (vc->attrs.italic)
		c->attrs |= CELL_ITALIC;
	if (vc->attrs.blink)
		c->attrs |= CELL_BLINK;
	if (vc->attrs.reverse)
		c->attrs |= CELL_REVERSE;
	colour_from(s, &vc->fg, &c->fg, &c->fg_index);
	colour_from(s, &vc->bg, &c->bg, &c->bg_index);
}

/* The inverse, for lines libvterm takes back from the scrollback.  Its
 * resize code steps over columns by width, so width is never 0. */
static void
cell_to(const struct serial *s, const struct cell *c, VTermScreenCell *vc)
{
	memset(vc, 0, sizeof *vc);
	vc->chars[0] = c->width == 0 ? (uint32_t)-1 : c->ch;
	vc->width = c->width == 2 ? 2 : 1;
	vc->attrs.bold = (c->attrs & CELL_BOLD) != 0;
	vc->attrs.underline = (c->attrs & CELL_UNDERLINE) ?
	    VTERM_UNDERLINE_SINGLE : VTERM_UNDERLINE_OFF;
	vc->attrs.italic = (c->attrs & CELL_ITALIC) != 0;
	vc->attrs.blink = (c->attrs & CELL_BLINK) != 0;
	vc->attrs.reverse = (c->attrs & CELL_REVERSE) != 0;
	colour_to(s, c->fg, c->fg_index, true, &vc->fg);
	colour_to(s, c->bg, c->bg_index, false, &vc->bg);
}

static void
cell_blank(struct cell *c)
{
	memset(c, 0, sizeof *c);
	c->width = 1;
	c->fg_index = c->bg_index = -1;
	c->fg = c->bg = CELL_DEFAULT;
}

/* Whether C looks like an untouched cell (trimmed from scrollback rows). */
static bool
cell_is_blank(const struct cell *c)
{
	return (c->ch == 0 || c->ch == ' ') && c->width == 1 &&
	    (c->attrs & (CELL_REVERSE | CELL_UNDERLINE)) == 0 &&
	    c->bg == CELL_DEFAULT;
}

/* Live row ROW of libvterm's current buffer into OUT (s->cols cells). */
static void
fetch_row(const struct serial *s, int row, struct cell *out)
{
	VTermScreenCell vc;
	VTermPos pos;

	pos.row = row;
	for (pos.col = 0; pos.col < s->cols; pos.col++) {
		if (!vterm_screen_get_cell(s->screen, pos, &vc)) {
			cell_blank(&out[pos.col]);
			continue;
		}
		cell_from(s, &vc, &out[pos.col]);
	}
}

static struct sbline *
sb_line(const struct serial *s, int i)
{
	return &s->sb[(s->sb_first + i) % s->sb_max];
}

/* A line scrolled off the top of the primary screen: keep it, without
 * its trailing blanks, dropping the oldest line when full. */
static int
on_pushline(int cols, const VTermScreenCell *cells, void *arg)
{
	struct serial *s = arg;
	struct sbline *l;
	int len = 0;

	if (s->sb_max == 0)
		return 1;
	if (s->sb_count == s->sb_max) {
		l = sb_line(s, 0);	/* reuse the oldest */
		s->sb_first = (s->sb_first + 1) % s->sb_max;
		s->sb_count--;
	} else
		l = sb_line(s, s->sb_count);
	if (l->cap < cols) {
		l->cells = xreallocarray(l->cells, (size_t)cols, sizeof *l->cells);
		l->cap = cols;
	}
	for (int c = 0; c < cols; c++) {
		cell_from(s, &cells[c], &l->cells[c]);
		if (!cell_is_blank(&l->cells[c]))
			len = c + 1;
	}
	l->len = len;
	s->sb_count++;
	s->gen++;
	return 1;
}

/* The screen grew taller: give back the newest scrollback line. */
static int
on_popline(int cols, VTermScreenCell *cells, void *arg)
{
	struct serial *s = arg;
	struct sbline *l;
	struct cell blank;

	if (s->sb_count == 0)
		return 0;
	l = sb_line(s, s->sb_count - 1);
	cell_blank(&blank);
	for (int c = 0; c < cols; c++)
		cell_to(s, c < l->len ? &l->cells[c] : &blank, &cells[c]);
	/* A wide character cut by a narrower screen becomes a blank. */
	if (cols > 0 && cells[cols - 1].width == 2) {
		cell_to(s, &blank, &cells[cols - 1]);
	}
	s->sb_count--;
	s->gen++;
	return 1;
}

static int
on_damage(VTermRect r, void *arg)
{
	dirty(arg, r.start_row, r.end_row);
	return 1;
}

static int
on_settermprop(VTermProp prop, VTermValue *val, void *arg)
{
	struct serial *s = arg;

	switch (prop) {
	case VTERM_PROP_CURSORVISIBLE:
		s->cursor_visible = val->boolean != 0;
		s->gen++;
		break;
	case VTERM_PROP_REVERSE:
	case VTERM_PROP_ALTSCREEN:
		dirty(s, 0, s->rows);
		break;
	default:
		break;
	}
	return 1;
}

static int
on_resize(int rows, int cols, void *arg)
{
	struct serial *s = arg;

	s->rows = rows;
	s->cols = cols;
	cellbuf_resize(&s->view, rows, cols);
	s->row = xreallocarray(s->row, (size_t)cols, sizeof *s->row);
	s->view_offset = -1;
	dirty(s, 0, rows);
	return 1;
}

static const VTermScreenCallbacks screen_cbs = {
	.damage = on_damage,
	.settermprop = on_settermprop,
	.resize = on_resize,
	.sb_pushline = on_pushline,
	.sb_popline = on_popline,
};

struct serial *
serial_new(int rows, int cols, int scrollback)
{
	struct serial *s;
	VTermColor c;

	if (rows < 1)
		rows = 1;
	if (cols < 1)
		cols = 1;
	if (scrollback < 0)
		scrollback = SERIAL_SCROLLBACK_DEFAULT;
	if (scrollback > SERIAL_SCROLLBACK_MAX)
		scrollback = SERIAL_SCROLLBACK_MAX;

	s = xcalloc(1, sizeof *s);
	s->rows = rows;
	s->cols = cols;
	s->log_fd = -1;
	s->view_offset = -1;
	s->cursor_visible = true;
	s->out = &s->reply;
	s->sb_max = scrollback;
	s->sb = xcalloc((size_t)scrollback + 1, sizeof *s->sb);
	s->row = xreallocarray(NULL, (size_t)cols, sizeof *s->row);
	cellbuf_init(&s->view, rows, cols);

	s->vt = vterm_new_with_allocator(rows, cols, &vt_alloc, NULL);
	vterm_set_utf8(s->vt, 1);	/* the default is Latin-1 */
	vterm_output_set_callback(s->vt, on_output, s);
	s->state = vterm_obtain_state(s->vt);
	s->screen = vterm_obtain_screen(s->vt);
	vterm_screen_set_callbacks(s->screen, &screen_cbs, s);
	vterm_screen_enable_altscreen(s->screen, 1);
	vterm_screen_set_damage_merge(s->screen, VTERM_DAMAGE_SCROLL);
	vterm_screen_reset(s->screen, 1);

	vterm_state_get_default_colors(s->state, &s->def_fg, &s->def_bg);
	for (int i = 0; i < 256; i++) {
		vterm_color_indexed(&c, (uint8_t)i);
		vterm_state_convert_color_to_rgb(s->state, &c);
		s->palette[i] = (uint32_t)c.rgb.red << 16 |
		    (uint32_t)c.rgb.green << 8 | c.rgb.blue;
	}
	dirty(s, 0, rows);
	return s;
}

void
serial_free(struct serial *s)
{
	if (s == NULL)
		return;
	if (s->log_fd != -1)
		close(s->log_fd);
	vterm_free(s->vt);
	for (int i = 0; i <= s->sb_max; i++)
		free(s->sb[i].cells);
	free(s->sb);
	free(s->reply.buf);
	free(s->keys.buf);
	free(s->row);
	free(s->text);
	cellbuf_free(&s->view);
	free(s);
}

/* Append to the log; on a failure the log is closed, never retried. */
static void
log_bytes(struct serial *s, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(s->log_fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_debug("serial: log write failed (%s); logging stopped",
			    n < 0 ? strerror(errno) : "short write");
			close(s->log_fd);
			s->log_fd = -1;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* The length of the UTF-8 sequence lead byte C starts; 1 for others. */
static size_t
utf8_len(unsigned char c)
{
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 1;
}

/* How many bytes at the end of BUF (0-3) begin a UTF-8 character that
 * is not complete yet. */
static size_t
utf8_tail(const char *buf, size_t len)
{
	for (size_t k = 1; k <= 3 && k <= len; k++) {
		unsigned char c = (unsigned char)buf[len - k];

		if ((c & 0xc0) == 0x80)
			continue;
		return utf8_len(c) > k ? k : 0;
	}
	return 0;
}

/* libvterm 0.1.4 turns a UTF-8 character split between two writes into
 * two U+FFFD, so a cut character waits in s->pend for its other bytes,
 * both between our chunks and between calls. */
void
serial_feed(struct serial *s, const char *buf, size_t len)
{
	if (s->log_fd != -1)
		log_bytes(s, buf, len);
	if (s->npend > 0) {
		size_t need = utf8_len((unsigned char)s->pend[0]) - s->npend;

		while (need > 0 && len > 0 &&
		    ((unsigned char)*buf & 0xc0) == 0x80) {
			s->pend[s->npend++] = *buf++;
			len--;
			need--;
		}
		if (need > 0 && len == 0)
			return;
		vterm_input_write(s->vt, s->pend, s->npend);
		s->npend = 0;
	}
	while (len > 0) {
		size_t n = len < SERIAL_CHUNK ? len : SERIAL_CHUNK;
		size_t tail = utf8_tail(buf, n);

		if (tail > 0 && n == len) {
			memcpy(s->pend, buf + n - tail, tail);
			s->npend = tail;
			len -= tail;
		}
		n -= tail;
		if (n == 0)
			break;
		vterm_input_write(s->vt, buf, n);
		buf += n;
		len -= n;
	}
	vterm_screen_flush_damage(s->screen);
}

size_t
serial_take_reply(struct serial *s, char *out, size_t len)
{
	size_t n = s->reply.len < len ? s->reply.len : len;

	if (n == 0)
		return 0;
	memcpy(out, s->reply.buf, n);
	memmove(s->reply.buf, s->reply.buf + n, s->reply.len - n);
	s->reply.len -= n;
	return n;
}

static const VTermKey keymap[] = {
	[SERIAL_KEY_UP] = VTERM_KEY_UP,
	[SERIAL_KEY_DOWN] = VTERM_KEY_DOWN,
	[SERIAL_KEY_LEFT] = VTERM_KEY_LEFT,
	[SERIAL_KEY_RIGHT] = VTERM_KEY_RIGHT,
	[SERIAL_KEY_HOME] = VTERM_KEY_HOME,
	[SERIAL_KEY_END] = VTERM_KEY_END,
	[SERIAL_KEY_PGUP] = VTERM_KEY_PAGEUP,
	[SERIAL_KEY_PGDN] = VTERM_KEY_PAGEDOWN,
	[SERIAL_KEY_INS] = VTERM_KEY_INS,
	[SERIAL_KEY_DEL] = VTERM_KEY_DEL,
	[SERIAL_KEY_BACKSPACE] = VTERM_KEY_BACKSPACE,
	[SERIAL_KEY_ENTER] = VTERM_KEY_ENTER,
	[SERIAL_KEY_TAB] = VTERM_KEY_TAB,
	[SERIAL_KEY_ESC] = VTERM_KEY_ESCAPE,
};

/* The C0 byte Ctrl+CH gives on a VT-style keyboard, or -1.  libvterm
 * would send Ctrl+C (capital) and Ctrl+[ as "CSI 67;5u", which no serial
 * getty understands. */
static int
ctrl_byte(uint32_t ch)
{
	if (ch >= 'a' && ch <= 'z')
		return (int)(ch - 'a' + 1);
	if (ch >= '@' && ch <= '_')
		return (int)(ch & 0x1f);
	switch (ch) {
	case ' ':
	case '2':
		return 0;
	case '3':
		return 0x1b;
	case '4':
		return 0x1c;
	case '5':
		return 0x1d;
	case '6':
		return 0x1e;
	case '7':
	case '/':
		return 0x1f;
	case '8':
	case '?':
		return 0x7f;
	}
	return -1;
}

size_t
serial_key(struct serial *s, uint32_t key, int mods, bool special, char *out,
    size_t len)
{
	VTermModifier mod = VTERM_MOD_NONE;
	size_t n;
	int cb;

	if (mods & SERIAL_MOD_SHIFT)
		mod |= VTERM_MOD_SHIFT;
	if (mods & SERIAL_MOD_ALT)
		mod |= VTERM_MOD_ALT;
	if (mods & SERIAL_MOD_CTRL)
		mod |= VTERM_MOD_CTRL;

	s->keys.len = 0;
	s->out = &s->keys;
	if (special) {
		int fn = (int)key - SERIAL_KEY_F1 + 1;

		if (fn >= 1 && fn <= 12)
			vterm_keyboard_key(s->vt, VTERM_KEY_FUNCTION(fn), mod);
		else if (key < sizeof keymap / sizeof keymap[0] &&
		    keymap[key] != VTERM_KEY_NONE)
			vterm_keyboard_key(s->vt, keymap[key], mod);
	} else if (key > 0x10ffff || (key >= 0xd800 && key <= 0xdfff)) {
		/* not a scalar value: nothing to send */
	} else if ((mod & VTERM_MOD_CTRL) && (cb = ctrl_byte(key)) != -1)
		vterm_keyboard_unichar(s->vt, (uint32_t)cb,
		    mod & VTERM_MOD_ALT);
	else
		vterm_keyboard_unichar(s->vt, key, mod);
	s->out = &s->reply;

	n = s->keys.len;
	if (n == 0 || n > len)
		return 0;
	memcpy(out, s->keys.buf, n);
	return n;
}

void
serial_resize(struct serial *s, int rows, int cols)
{
	if (rows < 1)
		rows = 1;
	if (cols < 1)
		cols = 1;
	if (rows == s->rows && cols == s->cols)
		return;
	vterm_set_size(s->vt, rows, cols);
	vterm_screen_flush_damage(s->screen);
}

/* Fill view row R from document line LINE.  (DECSCNM, screen-wide
 * reverse video, is already in the cells libvterm gives us.) */
static void
view_row(struct serial *s, int r, int line)
{
	struct cell *dst = cellbuf_at(&s->view, r, 0);

	if (line < s->sb_count) {
		struct sbline *l = sb_line(s, line);

		for (int c = 0; c < s->cols; c++) {
			if (c < l->len)
				dst[c] = l->cells[c];
			else
				cell_blank(&dst[c]);
		}
		/* A wide character cut by a narrower screen. */
		if (dst[s->cols - 1].width == 2)
			cell_blank(&dst[s->cols - 1]);
	} else
		fetch_row(s, line - s->sb_count, dst);
}

const struct cellbuf *
serial_screen(struct serial *s, int offset)
{
	VTermPos pos;
	int crow;

	vterm_screen_flush_damage(s->screen);
	if (offset < 0)
		offset = 0;
	if (offset > s->sb_count)
		offset = s->sb_count;

	cellbuf_clean(&s->view);
	if (offset == 0 && s->view_offset == 0) {
		for (int r = s->dirty_top; r < s->dirty_bottom; r++)
			view_row(s, r, s->sb_count + r);
		cellbuf_damage(&s->view, s->dirty_top, s->dirty_bottom);
	} else if (offset != s->view_offset || s->gen != s->view_gen) {
		for (int r = 0; r < s->rows; r++)
			view_row(s, r, s->sb_count - offset + r);
		cellbuf_damage(&s->view, 0, s->rows);
	}
	s->dirty_top = s->dirty_bottom = 0;
	s->view_offset = offset;
	s->view_gen = s->gen;

	vterm_state_get_cursorpos(s->state, &pos);
	crow = pos.row + offset;
	s->view.cursor_row = crow < s->rows ? crow : s->rows - 1;
	s->view.cursor_col = pos.col < s->cols ? pos.col : s->cols - 1;
	s->view.cursor_visible = s->cursor_visible && crow < s->rows;
	return &s->view;
}

int
serial_scrollback_lines(const struct serial *s)
{
	return s->sb_count;
}

/* Document line I as UTF-8 in s->text (blanks as spaces). */
static const char *
line_text(struct serial *s, int i)
{
	const struct cell *cells;
	size_t o = 0;
	int n;

	if (i < s->sb_count) {
		cells = sb_line(s, i)->cells;
		n = sb_line(s, i)->len;
	} else {
		fetch_row(s, i - s->sb_count, s->row);
		cells = s->row;
		n = s->cols;
	}
	if (s->textsize < (size_t)n * 4 + 1) {
		s->textsize = (size_t)n * 4 + 1;
		s->text = xrealloc(s->text, s->textsize);
	}
	for (int c = 0; c < n; c++) {
		uint32_t ch = cells[c].ch;

		if (cells[c].width == 0)
			continue;
		if (ch == 0 || ch > 0x10ffff)
			ch = ' ';
		if (ch < 0x80)
			s->text[o++] = (char)ch;
		else if (ch < 0x800) {
			s->text[o++] = (char)(0xc0 | ch >> 6);
			s->text[o++] = (char)(0x80 | (ch & 0x3f));
		} else if (ch < 0x10000) {
			s->text[o++] = (char)(0xe0 | ch >> 12);
			s->text[o++] = (char)(0x80 | (ch >> 6 & 0x3f));
			s->text[o++] = (char)(0x80 | (ch & 0x3f));
		} else {
			s->text[o++] = (char)(0xf0 | ch >> 18);
			s->text[o++] = (char)(0x80 | (ch >> 12 & 0x3f));
			s->text[o++] = (char)(0x80 | (ch >> 6 & 0x3f));
			s->text[o++] = (char)(0x80 | (ch & 0x3f));
		}
	}
	s->text[o] = '\0';
	return s->text;
}

int
serial_search(struct serial *s, const char *text, int from)
{
	int total = s->sb_count + s->rows;

	if (text == NULL || *text == '\0')
		return -1;
	if (from < 0 || from >= total)
		from = total - 1;
	for (int i = from; i >= 0; i--)
		if (strstr(line_text(s, i), text) != NULL)
			return i;
	return -1;
}

int
serial_log_to(struct serial *s, const char *path)
{
	int fd;

	if (path == NULL) {
		if (s->log_fd != -1)
			close(s->log_fd);
		s->log_fd = -1;
		return 0;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY,
	    0600);
	if (fd == -1)
		return err_set("cannot open console log '%s': %s", path,
		    strerror(errno));
	if (s->log_fd != -1)
		close(s->log_fd);
	s->log_fd = fd;
	return 0;
}
