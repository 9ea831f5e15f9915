/* passthru: connect the user's terminal straight to a guest's console
 * (like "virsh console"): raw mode, bytes copied both ways, an escape
 * character to leave.  Used by the CLI and by the TUI outside curses. */
#ifndef VMTTY_PASSTHRU_H
#define VMTTY_PASSTHRU_H

#include <stddef.h>

#define PASSTHRU_ESCAPE_DEFAULT 0x1d	/* Ctrl-] */

/* Copy bytes between GUEST_FD and the terminal (TTY_IN, TTY_OUT) until
 * the user types ESCAPE_CHAR (a byte; < 0: Ctrl-]) or the guest side
 * closes.  Every byte from the guest is also written to LOG_FD when it is
 * >= 0 (the session log; a write error stops logging, not the session).
 * BANNER (may be NULL) is printed first, followed by CR LF.
 * TTY_IN is put in raw mode when it is a terminal; its termios, the file
 * status flags of the three fds and the handlers of SIGINT, SIGTERM,
 * SIGHUP and SIGPIPE are restored on every return.  Returns 0 on the
 * escape character (or end of input on TTY_IN), 1 when the guest closed,
 * -1 with err set on an error or SIGINT/SIGTERM/SIGHUP.  WHY (may be
 * NULL) gets one sentence saying why it returned.  Not reentrant: it
 * owns those signal handlers while it runs. */
int passthru_run(int guest_fd, int tty_in, int tty_out, int escape_char, int log_fd,
    const char *banner, char *why, size_t whylen);

#endif
