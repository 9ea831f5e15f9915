/* termgfx: pictures on the terminal besides curses' cells (sixel, the
 * kitty protocol, iTerm2 inline images).
 *
 * termgfx_detect asks the terminal once, before curses starts, within a
 * hard deadline (console/termprobe.h has the queries and the parser);
 * VMTTY_GRAPHICS=auto|kitty|sixel|iterm2|symbols overrides.
 *
 * An image is written straight to the terminal after curses' doupdate(),
 * over cells that curses keeps blank.  Each frame the view that shows one
 * says so (termgfx_show with new bytes, or termgfx_keep); a frame where no
 * one does, or where something covers the screen, clears the screen (curses
 * repaints everything), so no picture outlives its view, a resize or an
 * overlay. */
#ifndef VMTTY_TERMGFX_H
#define VMTTY_TERMGFX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "console/termprobe.h"

#define TERMGFX_DEADLINE_MS 100

struct termgfx_info {
	enum tp_mode mode;	/* what images use */
	bool forced;		/* by VMTTY_GRAPHICS */
	bool probed;		/* the terminal was asked */
	bool tmux;		/* under tmux: images go through its passthrough */
	bool complete;		/* every reply came before the deadline */
	struct tp_caps caps;
	int cell_w, cell_h;	/* pixels per cell; 0 when unknown */
	const char *cell_from;	/* "CSI 16 t", "TIOCGWINSZ", "a guess" */
	long long probe_us;	/* how long the probe took */
	char why[400];		/* why MODE, as a sentence */
};

/* Ask the terminal on IN/OUT (a tty, not yet in curses' hands) what it can
 * show; at most TERMGFX_DEADLINE_MS.  Always succeeds (symbols at worst). */
void termgfx_detect(int in, int out);
const struct termgfx_info *termgfx_info(void);
/* The keys the user typed while the terminal was asked (not replies), in
 * order: how many bytes, *KEYS pointing at them. */
size_t termgfx_typed(const char **keys);
/* A whole reply to the queries that came after the deadline, as keys (the
 * UI takes it out of them with tp_reply_class): what it says counts, and
 * the mode is chosen again while no picture has been drawn. */
void termgfx_late_reply(const char *bytes, size_t n);
/* What was found, for 'vmtty doctor'. */
void termgfx_report(FILE *fp);
/* The terminal was resized: the cell size again, where the tty says it. */
void termgfx_resized(int out);

/* Frames (ui.c): begin before views draw; end after they drew, before
 * doupdate (COVERED: an overlay or a message is on top); flush after
 * doupdate writes what was shown. */
void termgfx_frame_begin(void);
void termgfx_frame_end(bool covered);
void termgfx_flush(int out);
/* Views: a new image, BYTES (copied), covering ROWS x COLS cells from
 * screen cell (ROW, COL); or the one shown last, still there. */
void termgfx_show(int row, int col, int rows, int cols, const char *bytes, size_t n);
void termgfx_keep(void);
/* Whether the terminal has taken the last image in: a new one now would
 * not queue up behind it.  When false, *WAIT_MS says when to ask again. */
bool termgfx_ready(long *wait_ms);
/* Before curses ends: no image stays behind (the kitty protocol keeps
 * images apart from the text, even across a clear). */
void termgfx_end(int out);
/* Bytes of images written so far, and images, for the view's details. */
void termgfx_stats(unsigned long long *bytes, unsigned long long *images);

#endif
