/* cellview: a struct cellbuf drawn with curses.
 *
 * Colours: a palette index the guest chose is used as it is when the
 * terminal has it (libvterm's idea of the 256-colour cube differs from
 * xterm's, so its RGB would pick a neighbour); otherwise the RGB goes to
 * the nearest xterm colour the terminal has.  Pairs come from alloc_pair,
 * whose extended pairs give each fg/bg combination its own pair. */
#include "ui/cellview.h"
#include "ui/ui_priv.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "util/xalloc.h"

struct cellview {
	WINDOW *pad;
	int rows, cols;		/* of the pad; 0 before the first draw */
};

/* xterm's first 16 colours (its defaults). */
static const uint32_t xterm16[16] = {
	0x000000, 0xcd0000, 0x00cd00, 0xcdcd00, 0x0000ee, 0xcd00cd, 0x00cdcd, 0xe5e5e5,
	0x7f7f7f, 0xff0000, 0x00ff00, 0xffff00, 0x5c5cff, 0xff00ff, 0x00ffff, 0xffffff,
};
static const int cube_level[6] = { 0, 95, 135, 175, 215, 255 };

struct cellview *
cellview_new(void)
{
	return xcalloc(1, sizeof(struct cellview));
}

void
cellview_free(struct cellview *cv)
{
	if (cv == NULL)
		return;
	if (cv->pad != NULL)
		delwin(cv->pad);
	free(cv);
}

static int
dist2(uint32_t a, uint32_t b)
{
	int dr = (int)(a >> 16 & 0xff) - (int)(b >> 16 & 0xff);
	int dg = (int)(a >> 8 & 0xff) - (int)(b >> 8 & 0xff);
	int db = (int)(a & 0xff) - (int)(b & 0xff);

	return dr * dr + dg * dg + db * db;
}

/* The nearest of xterm's first N (8 or 16) colours. */
static int
nearest_basic(uint32_t rgb, int n)
{
	int best = 0, bestd = INT_MAX;

	for (int i = 0; i < n; i++) {
		int d = dist2(rgb, xterm16[i]);

		if (d < bestd) {
			bestd = d;
			best = i;
		}
	}
	return best;
}

static int
cube_index(int v)
{
	if (v < 48)
		return 0;
	if (v < 115)
		return 1;
	return (v - 35) / 40;
}

/* The nearest colour of xterm's 6x6x6 cube and grey ramp (16-255). */
static int
nearest_256(uint32_t rgb)
{
	int r = rgb >> 16 & 0xff, g = rgb >> 8 & 0xff, b = rgb & 0xff;
	int ri = cube_index(r), gi = cube_index(g), bi = cube_index(b);
	int avg = (r + g + b) / 3, gray = avg > 238 ? 23 : avg < 8 ? 0 : (avg - 8) / 10;
	uint32_t crgb = (uint32_t)cube_level[ri] << 16 | (uint32_t)cube_level[gi] << 8 |
	    (uint32_t)cube_level[bi];
	uint32_t glevel = (uint32_t)(8 + 10 * gray);
	uint32_t grgb = glevel << 16 | glevel << 8 | glevel;

	if (dist2(rgb, grgb) < dist2(rgb, crgb))
		return 232 + gray;
	return 16 + 36 * ri + 6 * gi + bi;
}

int
cellview_colour(uint32_t rgb, int index, int ncolours)
{
	if (rgb == CELL_DEFAULT && index < 0)
		return -1;
	if (index >= 0 && index < ncolours)
		return index;
	/* Bright colours on an 8-colour terminal: their dark twins. */
	if (index >= 8 && index < 16 && ncolours >= 8)
		return index - 8;
	if (rgb == CELL_DEFAULT)
		return -1;
	if (ncolours >= 256)
		return nearest_256(rgb);
	return nearest_basic(rgb, ncolours >= 16 ? 16 : 8);
}

static attr_t
cell_attrs(const struct cell *c)
{
	attr_t a = A_NORMAL;

	if (c->attrs & CELL_BOLD)
		a |= A_BOLD;
	if (c->attrs & CELL_UNDERLINE)
		a |= A_UNDERLINE;
	if (c->attrs & CELL_REVERSE)
		a |= A_REVERSE;
	if (c->attrs & CELL_ITALIC)
		a |= A_ITALIC;
	if (c->attrs & CELL_BLINK)
		a |= A_BLINK;
	if (c->attrs & CELL_DIM)
		a |= A_DIM;
	return a;
}

/* How the terminal shows colour: 0 colours under NO_COLOR or when curses
 * has none (the theme started no colour then). */
static int
colours_now(bool *defaults)
{
	const char *nc = getenv("NO_COLOR");

	*defaults = true;
	if ((nc != NULL && nc[0] != '\0') || !has_colors() || COLORS < 8 || COLOR_PAIRS < 2)
		return 0;
	/* The theme asked for them already; asking again costs nothing. */
	*defaults = use_default_colors() == OK;
	return COLORS;
}

/* Row R of B into the pad. */
static void
draw_row(struct cellview *cv, const struct cellbuf *b, int r, int ncolours, bool defaults)
{
	int last_fg = -2, last_bg = -2, pair = 0;
	bool covered = false;

	for (int x = 0; x < b->cols && x < cv->cols; x++) {
		const struct cell *c = &b->cells[(size_t)r * (size_t)b->cols + (size_t)x];
		wchar_t wc[2] = { L' ', L'\0' };
		attr_t a = cell_attrs(c);
		cchar_t cc;
		int w;

		/* The right half of a wide character was drawn with it. */
		if (covered) {
			covered = false;
			continue;
		}
		if (c->ch != 0 && c->width != 0) {
			wc[0] = (wchar_t)c->ch;
			w = wcwidth(wc[0]);
			/* What this locale cannot show in the cell's width: '?'. */
			if (w < 0 || w == 0 || w > c->width || (w == 2 && x + 1 >= cv->cols))
				wc[0] = c->ch < 0x20 || c->ch == 0x7f ? L' ' : L'?';
		}
		if (ncolours > 0) {
			int fg = cellview_colour(c->fg, c->fg_index, ncolours);
			int bg = cellview_colour(c->bg, c->bg_index, ncolours);

			if (ncolours < 16 && c->fg_index >= 8 && c->fg_index < 16)
				a |= A_BOLD;
			if (!defaults) {
				fg = fg < 0 ? COLOR_WHITE : fg;
				bg = bg < 0 ? COLOR_BLACK : bg;
			}
			if (fg != last_fg || bg != last_bg) {
				pair = fg == -1 && bg == -1 ? 0 : alloc_pair(fg, bg);
				if (pair < 0)
					pair = 0;
				last_fg = fg;
				last_bg = bg;
			}
		}
		setcchar(&cc, wc, a, 0, &pair);
		mvwadd_wch(cv->pad, r, x, &cc);
		if (c->width != 2 || x + 1 >= cv->cols)
			continue;
		/* Its right half: drawn already when the locale shows it wide,
		 * else blanked. */
		covered = true;
		if (wcwidth(wc[0]) != 2) {
			wc[0] = L' ';
			setcchar(&cc, wc, a, 0, &pair);
			mvwadd_wch(cv->pad, r, x + 1, &cc);
		}
	}
}

void
cellview_draw(struct cellview *cv, const struct cellbuf *b, int top, int left, bool all)
{
	int ncolours, top_row = b->damage_top, bottom_row = b->damage_bottom, h, w;
	bool defaults;

	if (cv->pad == NULL || cv->rows != b->rows || cv->cols != b->cols) {
		if (cv->pad != NULL)
			delwin(cv->pad);
		if ((cv->pad = newpad(b->rows, b->cols)) == NULL) {
			cv->rows = cv->cols = 0;
			return;
		}
		cv->rows = b->rows;
		cv->cols = b->cols;
		all = true;
	}
	if (all) {
		top_row = 0;
		bottom_row = b->rows;
	}
	ncolours = colours_now(&defaults);
	for (int r = top_row; r < bottom_row && r < b->rows; r++)
		draw_row(cv, b, r, ncolours, defaults);

	h = cv->rows < LINES - top ? cv->rows : LINES - top;
	w = cv->cols < COLS - left ? cv->cols : COLS - left;
	if (h > 0 && w > 0 && top >= 0 && left >= 0)
		copywin(cv->pad, stdscr, 0, 0, top, left, top + h - 1, left + w - 1, FALSE);
}

bool
cellview_cursor(const struct cellbuf *b, int top, int left, int *y, int *x)
{
	if (!b->cursor_visible || b->cursor_row < 0 || b->cursor_col < 0)
		return false;
	*y = top + b->cursor_row;
	*x = left + b->cursor_col;
	return *y < LINES && *x < COLS;
}
