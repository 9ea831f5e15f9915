/* termprobe: what a terminal can show besides text, from its answers to a
 * few queries.  The queries and the parser only: the UI writes them to the
 * terminal and reads the replies (ui/termgfx.c).  No I/O, no curses.
 *
 * Queries, in this order: the kitty graphics query, XTSMGRAPHICS (sixel
 * colour registers and geometry limit), the cell size in pixels (CSI 16 t),
 * then primary device attributes (CSI c).  Every terminal answers the last
 * one, and in order, so its reply says that all the others that will come
 * have come: a terminal that does not know a query stays silent about it. */
#ifndef VMTTY_TERMPROBE_H
#define VMTTY_TERMPROBE_H

#include <stdbool.h>
#include <stddef.h>

enum tp_mode {
	TP_SYMBOLS,	/* block symbols in cells (always works) */
	TP_SIXEL,
	TP_KITTY,
	TP_ITERM2,
};

#define TP_KITTY_PROBE_ID 31	/* the image id of the kitty query */
#define TP_MAX_DA 4

/* What the replies said.  Zero where a reply did not come. */
struct tp_caps {
	int nda;			/* primary DA replies seen */
	bool da_sixel[TP_MAX_DA];	/* reply I lists attribute 4 (sixel) */
	int da_class[TP_MAX_DA];	/* its first parameter (62, 64, 65, ...) */
	bool kitty;			/* the kitty query was answered OK */
	bool kitty_error;		/* it was answered, with an error */
	int sixel_colours;		/* XTSMGRAPHICS colour registers */
	int sixel_max_w, sixel_max_h;	/* XTSMGRAPHICS geometry limit */
	int cell_w, cell_h;		/* CSI 16 t, in pixels */
};

/* The queries as bytes; wrapped for tmux's passthrough when TMUX, with one
 * plain CSI c after them that tmux answers itself.  Returns the length
 * (< LEN), the bytes NUL-terminated. */
size_t tp_queries(char *out, size_t len, bool tmux);
/* Parse everything read so far (BUF, LEN bytes, not NUL-terminated) into
 * CAPS from scratch: a reply cut short is ignored until the rest arrives,
 * anything that is not a reply (typed keys, noise) is skipped. */
void tp_parse(struct tp_caps *caps, const char *buf, size_t len);
/* Have the replies ended: NEED_DA device-attribute replies seen (1, or 2
 * under tmux: tmux's own, then the outer terminal's through passthrough). */
bool tp_complete(const struct tp_caps *caps, int need_da);
/* What of BUF[0..LEN) is not a reply to the queries (keys the user typed
 * while the terminal was asked), in order, into OUT (LEN bytes at most):
 * how many bytes. */
size_t tp_keys(const char *buf, size_t len, char *out);

/* A reply that comes after the probe's deadline reaches the UI as keys.
 * What BUF[0..LEN), the keys since an ESC, is: not a reply (keys); the
 * beginning of a reply or of a key (ESC [ 1 ; 5 may end as a key curses
 * does not know); the beginning of a reply, which no key begins with
 * (ESC [ ?, ESC _ G); or a whole reply: DA, XTSMGRAPHICS, the cell size,
 * the kitty answer. */
enum tp_reply { TP_NOT_REPLY, TP_MAYBE_REPLY, TP_REPLY_PART, TP_REPLY };
enum tp_reply tp_reply_class(const char *buf, size_t len);

/* The mode for CAPS (NULL: no probe), the environment's TERM_PROGRAM and
 * LC_TERMINAL (NULL when unset), under tmux or not.  WHY gets a sentence
 * saying why. */
enum tp_mode tp_choose(const struct tp_caps *caps, const char *term_program,
    const char *lc_terminal, bool tmux, char *why, size_t len);
/* "symbols", "sixel", "kitty", "iterm2". */
const char *tp_mode_name(enum tp_mode m);
/* VMTTY_GRAPHICS: "auto" (0, *AUTO set) or a mode name (0); -1 otherwise. */
int tp_mode_parse(const char *s, enum tp_mode *m, bool *is_auto);
/* BYTES wrapped for tmux's passthrough (DCS tmux; ... ST, every ESC inside
 * doubled); returns the length written to OUT, or 0 when LEN is too small.
 * OUT must hold 2 * N + 16 bytes. */
size_t tp_tmux_wrap(const char *bytes, size_t n, char *out, size_t len);

#endif
