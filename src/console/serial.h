/* serial: a terminal emulator session (libvterm) for a guest's serial
 * console.  Bytes from the guest go in through serial_feed; the screen
 * comes out as a struct cellbuf for the UI; keys go back to the guest as
 * the bytes serial_key encodes, and so do the emulator's own replies
 * (cursor position reports) from serial_take_reply.  Nothing here does
 * I/O on the guest's fd: the caller owns it.
 *
 * Line numbers ("document lines") used by serial_search: 0 is the oldest
 * line kept in the scrollback, serial_scrollback_lines(s) - 1 the newest;
 * the lines after it are the rows of the screen, so the last document
 * line is serial_scrollback_lines(s) + rows - 1.  To show document line N
 * at the top of the view, pass offset = serial_scrollback_lines(s) - N
 * (clamped at 0) to serial_screen.  Numbers shift down by one for every
 * line that falls off a full scrollback. */
#ifndef VMTTY_SERIAL_H
#define VMTTY_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "console/cells.h"

#define SERIAL_SCROLLBACK_DEFAULT 10000	/* lines, when given < 0 */
#define SERIAL_KEY_MAX 32		/* enough for any serial_key output */

/* Special keys for serial_key (with SPECIAL true). */
enum serial_key {
	SERIAL_KEY_UP = 1,
	SERIAL_KEY_DOWN,
	SERIAL_KEY_LEFT,
	SERIAL_KEY_RIGHT,
	SERIAL_KEY_HOME,
	SERIAL_KEY_END,
	SERIAL_KEY_PGUP,
	SERIAL_KEY_PGDN,
	SERIAL_KEY_INS,
	SERIAL_KEY_DEL,
	SERIAL_KEY_BACKSPACE,
	SERIAL_KEY_ENTER,
	SERIAL_KEY_TAB,
	SERIAL_KEY_ESC,
	SERIAL_KEY_F1,
	SERIAL_KEY_F12 = SERIAL_KEY_F1 + 11,
};
#define SERIAL_KEY_F(n) (SERIAL_KEY_F1 + (n) - 1)

enum {
	SERIAL_MOD_SHIFT = 1 << 0,
	SERIAL_MOD_ALT = 1 << 1,
	SERIAL_MOD_CTRL = 1 << 2,
};

struct serial;

/* ROWS x COLS screen, SCROLLBACK lines kept (< 0: the default). */
struct serial *serial_new(int rows, int cols, int scrollback);
void serial_free(struct serial *s);

/* Feed guest output, any size (cut into small writes for libvterm). */
void serial_feed(struct serial *s, const char *buf, size_t len);

/* Copy out up to LEN bytes the emulator wants sent to the guest (replies
 * to ESC[6n, ESC[c, ...); the caller writes them to the guest.  Returns
 * the number of bytes copied, 0 when none.  At most 64 KiB are kept. */
size_t serial_take_reply(struct serial *s, char *out, size_t len);

/* Encode a key for the guest into OUT: a Unicode character (SPECIAL
 * false; Ctrl with a letter or one of @[\]^_? gives the C0 byte) or an
 * enum serial_key (SPECIAL true), with SERIAL_MOD_* modifiers, following
 * the emulator's modes (application cursor keys).  Alt prefixes ESC.
 * Returns the length, 0 when the key has no encoding or LEN is too
 * small (SERIAL_KEY_MAX is always enough). */
size_t serial_key(struct serial *s, uint32_t unichar_or_key, int mods,
    bool special, char *out, size_t len);

/* Resize the screen; libvterm moves lines between the screen and the
 * scrollback when the height changes (no reflow of long lines; columns
 * cut off are gone).  On the alternate screen libvterm 0.1.4 cuts the
 * primary screen to the new height without saving the rows below.  A
 * guest on a serial line is not told the new size. */
void serial_resize(struct serial *s, int rows, int cols);

/* The visible screen (cursor included) scrolled back by OFFSET lines (0:
 * live; clamped to the scrollback).  Its damage covers the rows changed
 * since the previous call, so draw after every call (or redraw all).  The
 * buffer belongs to S and stays valid until the next call. */
const struct cellbuf *serial_screen(struct serial *s, int offset);

/* Lines in the scrollback now. */
int serial_scrollback_lines(const struct serial *s);

/* The document line (see above) of the last line at or before FROM that
 * contains TEXT (plain, case-sensitive substring), or -1.  FROM < 0 or
 * past the end: start at the last line. */
int serial_search(struct serial *s, const char *text, int from);

/* Append every byte fed to the file PATH (0600); NULL stops.  0 or -1. */
int serial_log_to(struct serial *s, const char *path);

#endif
