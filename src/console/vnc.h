/* vnc: a graphical console.  An RFB session (libvncclient) on a connected
 * fd, its framebuffer rendered into a cell grid (libchafa) and saved as
 * PNG (libpng).  Those libraries live in the vmtty-vnc.so plugin, loaded
 * on first use; this header is all the rest of vmtty sees.  No curses.
 *
 * Each session has a thread of its own that does every libvncclient call:
 * libvncclient reads a whole message at once and blocks until it has it,
 * so a server that stalls mid-frame would freeze whatever thread ran it.
 * The owner's thread (the UI's loop, or the CLI) sees the session through
 * vnc_fd (readable when something changed) and vnc_poll, and talks to it
 * through calls that only queue work; none of them blocks. */
#ifndef VMTTY_VNC_H
#define VMTTY_VNC_H

#include <stdbool.h>
#include <stdint.h>

#include "console/cells.h"
#include "console/termprobe.h"

/* The one kitty image id a session's pictures use, replaced frame by
 * frame and deleted by it. */
#define VNC_KITTY_IMAGE_ID 7331

struct vnc;

enum vnc_state {
	VNC_CONNECTING,		/* the RFB handshake */
	VNC_PASSWORD,		/* the server wants a password: vnc_password */
	VNC_UP,
	VNC_CLOSED,		/* see vnc_info.error */
};

/* How pixels become cells. */
struct vnc_render {
	int rows, cols;		/* the pane */
	int colours;		/* 16, 256, or 0 for truecolor */
	bool utf8;		/* block symbols; else ASCII */
	bool fit;		/* the whole screen scaled into the pane, else 1:1 */
	int pan_x, pan_y;	/* 1:1: the top left pixel shown */
	enum tp_mode pixels;	/* TP_SYMBOLS: cells; else images, and blank cells */
	int cell_w, cell_h;	/* images: pixels per cell */
	int max_w, max_h;	/* images: the terminal's largest, 0 when unknown */
};

/* A picture for the terminal: the bytes that draw it (sixel, kitty or
 * iTerm2 sequences) at cell (ROW, COL) of the pane, ROWS x COLS cells. */
struct vnc_image {
	char *data;		/* malloc'd */
	size_t len;
	int row, col, rows, cols;
};

struct vnc_info {
	enum vnc_state state;
	int width, height;	/* of the guest's screen, once up */
	char name[128];		/* the desktop's name */
	uint64_t updates;	/* framebuffer updates received */
	bool nonblack;		/* the screen shows something besides black */
	uint64_t renders;	/* times the cells (or an image) were rendered */
	double render_ms;	/* CPU time of the last render */
	char error[512];	/* VNC_CLOSED: why, as a sentence */
	char note[600];		/* the outcome of the last screenshot, once */
	bool note_error;
};

/* Start a session on FD (connected to an RFB server; taken over, closed by
 * vnc_free).  NAME says whose screen it is in messages.  NULL + err when
 * the plugin is missing. */
struct vnc *vnc_new(int fd, const char *name);
/* Stop the session (it never waits for a stuck server) and free it. */
void vnc_free(struct vnc *v);
/* Readable when vnc_poll has news. */
int vnc_fd(struct vnc *v);
/* Consume the news and fill INFO; also catches a server that stalled
 * mid-message and drops it. */
void vnc_poll(struct vnc *v, struct vnc_info *info);
void vnc_password(struct vnc *v, const char *password);

/* Render into cells as R says from now on (everything again). */
void vnc_set_render(struct vnc *v, const struct vnc_render *r);
/* Copy the rows that changed since the last call into B (resized to the
 * pane when needed) and mark them damaged there; false when none did. */
bool vnc_cells(struct vnc *v, struct cellbuf *b);
/* Images: the newest one not taken yet, into IMG; false when none.  The
 * session renders the next one only once this one is taken, so images
 * come at the rate the owner can write them. */
bool vnc_image(struct vnc *v, struct vnc_image *img);
/* The guest pixel under cell (ROW, COL) of the pane; false outside it. */
bool vnc_cell_pixel(struct vnc *v, int row, int col, int *x, int *y);

/* X11 keysyms (XK_*), and the pointer at guest pixel (X, Y) with BUTTONS
 * (bit 0 left, 1 middle, 2 right, 3/4 wheel up/down). */
void vnc_key(struct vnc *v, uint32_t keysym, bool down);
void vnc_pointer(struct vnc *v, int x, int y, int buttons);
/* Save the screen as a PNG at PATH; the outcome arrives as info.note. */
void vnc_screenshot(struct vnc *v, const char *path);

#endif
