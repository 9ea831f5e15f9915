/* cellview: a console's cell grid (struct cellbuf) on the curses screen.
 *
 * A cellview keeps its own off-screen copy of the grid (a curses pad), so
 * that only the rows the emulator damaged are converted again; each draw
 * copies the pad onto stdscr, where curses sends only what differs from
 * the terminal.  Overlays and other views may draw over the same rows in
 * between without the pane noticing.  Private to src/ui. */
#ifndef VMTTY_CELLVIEW_H
#define VMTTY_CELLVIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "console/cells.h"

struct cellview;

struct cellview *cellview_new(void);
void cellview_free(struct cellview *cv);

/* Bring the pad up to date with B (its damaged rows; every row when ALL,
 * on the first draw or after B changed size), then copy it to stdscr at
 * (TOP, LEFT), clipped to the screen. */
void cellview_draw(struct cellview *cv, const struct cellbuf *b, int top, int left, bool all);

/* Where the terminal cursor belongs for B drawn at (TOP, LEFT): false when
 * the guest hid it or it is outside the screen. */
bool cellview_cursor(const struct cellbuf *b, int top, int left, int *y, int *x);

/* The curses colour for a cell colour (RGB, CELL_DEFAULT, and the palette
 * INDEX when >= 0) on a terminal of NCOLOURS colours: an index below
 * NCOLOURS, else the nearest xterm colour; -1 for the default.  Exposed
 * for the tests. */
int cellview_colour(uint32_t rgb, int index, int ncolours);

#endif
