#include "console/cells.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

static void
blank(struct cell *c)
{
	memset(c, 0, sizeof *c);
	c->width = 1;
	c->fg_index = c->bg_index = -1;
	c->fg = c->bg = CELL_DEFAULT;
}

void
cellbuf_init(struct cellbuf *b, int rows, int cols)
{
	memset(b, 0, sizeof *b);
	cellbuf_resize(b, rows, cols);
}

void
cellbuf_free(struct cellbuf *b)
{
	free(b->cells);
	memset(b, 0, sizeof *b);
}

void
cellbuf_resize(struct cellbuf *b, int rows, int cols)
{
	struct cell *n;

	if (rows < 1)
		rows = 1;
	if (cols < 1)
		cols = 1;
	n = xreallocarray(NULL, (size_t)rows * (size_t)cols, sizeof *n);
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++) {
			struct cell *d = &n[(size_t)r * (size_t)cols + (size_t)c];

			if (r < b->rows && c < b->cols)
				*d = b->cells[(size_t)r * (size_t)b->cols + (size_t)c];
			else
				blank(d);
		}
	free(b->cells);
	b->cells = n;
	b->rows = rows;
	b->cols = cols;
	if (b->cursor_row >= rows)
		b->cursor_row = rows - 1;
	if (b->cursor_col >= cols)
		b->cursor_col = cols - 1;
	cellbuf_damage(b, 0, rows);
}

void
cellbuf_clear(struct cellbuf *b)
{
	for (size_t i = 0; i < (size_t)b->rows * (size_t)b->cols; i++)
		blank(&b->cells[i]);
	cellbuf_damage(b, 0, b->rows);
}

struct cell *
cellbuf_at(struct cellbuf *b, int row, int col)
{
	if (row < 0 || row >= b->rows || col < 0 || col >= b->cols)
		return NULL;
	return &b->cells[(size_t)row * (size_t)b->cols + (size_t)col];
}

void
cellbuf_damage(struct cellbuf *b, int top, int bottom)
{
	if (top < 0)
		top = 0;
	if (bottom > b->rows)
		bottom = b->rows;
	if (top >= bottom)
		return;
	if (b->damage_top >= b->damage_bottom) {
		b->damage_top = top;
		b->damage_bottom = bottom;
		return;
	}
	if (top < b->damage_top)
		b->damage_top = top;
	if (bottom > b->damage_bottom)
		b->damage_bottom = bottom;
}

void
cellbuf_clean(struct cellbuf *b)
{
	b->damage_top = b->damage_bottom = 0;
}

/* Encode one scalar as UTF-8; returns its length. */
static int
utf8_put(uint32_t ch, char *out)
{
	if (ch < 0x80) {
		out[0] = (char)ch;
		return 1;
	}
	if (ch < 0x800) {
		out[0] = (char)(0xc0 | (ch >> 6));
		out[1] = (char)(0x80 | (ch & 0x3f));
		return 2;
	}
	if (ch < 0x10000) {
		out[0] = (char)(0xe0 | (ch >> 12));
		out[1] = (char)(0x80 | ((ch >> 6) & 0x3f));
		out[2] = (char)(0x80 | (ch & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (ch >> 18));
	out[1] = (char)(0x80 | ((ch >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((ch >> 6) & 0x3f));
	out[3] = (char)(0x80 | (ch & 0x3f));
	return 4;
}

void
cellbuf_row_text(const struct cellbuf *b, int row, char *out, int len)
{
	int o = 0, last = 0;

	if (len <= 0)
		return;
	out[0] = '\0';
	if (row < 0 || row >= b->rows)
		return;
	for (int c = 0; c < b->cols; c++) {
		const struct cell *cl = &b->cells[(size_t)row * (size_t)b->cols + (size_t)c];
		char u[4];
		int n;

		if (cl->width == 0)
			continue;
		n = utf8_put(cl->ch == 0 ? ' ' : cl->ch, u);
		if (o + n >= len)
			break;
		memcpy(out + o, u, (size_t)n);
		o += n;
		if (cl->ch != 0 && cl->ch != ' ')
			last = o;
	}
	out[last] = '\0';
}
