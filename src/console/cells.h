/* cells: a grid of terminal cells, the common output of every console
 * session (serial through libvterm, VNC through chafa).  The UI draws a
 * grid into a pane; nothing here knows about curses. */
#ifndef VMTTY_CELLS_H
#define VMTTY_CELLS_H

#include <stdbool.h>
#include <stdint.h>

#define CELL_DEFAULT 0xff000000u	/* the terminal's own colour */

enum {
	CELL_BOLD = 1 << 0,
	CELL_UNDERLINE = 1 << 1,
	CELL_REVERSE = 1 << 2,
	CELL_ITALIC = 1 << 3,
	CELL_BLINK = 1 << 4,
	CELL_DIM = 1 << 5,
};

struct cell {
	uint32_t ch;		/* Unicode scalar; 0 is a blank */
	uint8_t width;		/* 1 or 2; 0 for the right half of a wide char */
	uint8_t attrs;		/* CELL_* */
	int16_t fg_index;	/* palette index 0-255 when the source had one, else -1 */
	int16_t bg_index;
	uint32_t fg;		/* 0xRRGGBB or CELL_DEFAULT */
	uint32_t bg;
};

struct cellbuf {
	int rows, cols;
	struct cell *cells;	/* rows * cols, row-major */
	int cursor_row, cursor_col;
	bool cursor_visible;
	/* Rows changed since the last cellbuf_clean: [damage_top, damage_bottom). */
	int damage_top, damage_bottom;
};

void cellbuf_init(struct cellbuf *b, int rows, int cols);
void cellbuf_free(struct cellbuf *b);
/* Resize, keeping what fits; everything is marked damaged. */
void cellbuf_resize(struct cellbuf *b, int rows, int cols);
void cellbuf_clear(struct cellbuf *b);
struct cell *cellbuf_at(struct cellbuf *b, int row, int col);
void cellbuf_damage(struct cellbuf *b, int top, int bottom);
void cellbuf_clean(struct cellbuf *b);
/* The text of row ROW as UTF-8 (trailing blanks trimmed); for tests. */
void cellbuf_row_text(const struct cellbuf *b, int row, char *out, int len);

#endif
