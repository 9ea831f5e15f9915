/* passthru: raw terminal <-> guest console copy loop.
 *
 * Every fd is non-blocking and each direction has its own buffer: when a
 * buffer is full we stop reading its source, so a slow side loses no
 * bytes and never stalls the other direction.  Signals reach the loop
 * through a self-pipe; all the restoring happens in one place. */
#include "console/passthru.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

#define PT_BUFSIZE (64 * 1024)
#define PT_FLUSH_MS 1000	/* how long pending output may take at exit */

enum { PT_RUNNING = -2 };

struct ptbuf {
	char data[PT_BUFSIZE];
	size_t start, end;	/* pending bytes are data[start, end) */
};

static const int pt_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
#define PT_NSIG (sizeof pt_signals / sizeof pt_signals[0])

struct pt {
	int guest, in, out, esc, log;
	struct ptbuf to_guest, to_tty;

	int sigpipe[2];
	struct sigaction old_sa[PT_NSIG];
	bool sa_saved;
	int old_fl[3];		/* guest, in, out; -1: not changed */
	struct termios old_tio;
	bool tio_saved;

	char why[256];
};

/* The write end of the self-pipe for the signal handler. */
static volatile int pt_sig_fd = -1;

static void
pt_on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;

	if (pt_sig_fd != -1)
		(void)!write(pt_sig_fd, &b, 1);
	errno = saved;
}

static const char *
sig_name(int sig)
{
	switch (sig) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	case SIGHUP:
		return "SIGHUP";
	}
	return "a signal";
}

static size_t
buf_room(const struct ptbuf *b)
{
	return PT_BUFSIZE - b->end + b->start;
}

static bool
buf_pending(const struct ptbuf *b)
{
	return b->end > b->start;
}

/* Make the free space contiguous at the end. */
static void
buf_compact(struct ptbuf *b)
{
	if (b->start == 0)
		return;
	memmove(b->data, b->data + b->start, b->end - b->start);
	b->end -= b->start;
	b->start = 0;
}

static void
buf_add(struct ptbuf *b, const char *p, size_t n)
{
	buf_compact(b);
	if (n > PT_BUFSIZE - b->end)
		n = PT_BUFSIZE - b->end;
	memcpy(b->data + b->end, p, n);
	b->end += n;
}

/* Read what FD has into B: the byte count, 0 at end of file, -1 with
 * errno (EAGAIN when nothing was there). */
static ssize_t
buf_read(struct ptbuf *b, int fd)
{
	ssize_t n;

	buf_compact(b);
	do
		n = read(fd, b->data + b->end, PT_BUFSIZE - b->end);
	while (n < 0 && errno == EINTR);
	return n;
}

/* Write what B holds to FD; 0 (perhaps partly written) or -1 with errno. */
static int
buf_write(struct ptbuf *b, int fd)
{
	while (buf_pending(b)) {
		ssize_t n = write(fd, b->data + b->start, b->end - b->start);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return -1;
		b->start += (size_t)n;
	}
	b->start = b->end = 0;
	return 0;
}

/* Whether errno after a read or write means the peer went away. */
static bool
is_hangup(int e)
{
	return e == EIO || e == EPIPE || e == ECONNRESET || e == ENXIO;
}

/* Make FD non-blocking, remembering its flags in old_fl[I]. */
static int
set_nonblock(struct pt *p, int i, int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return err_set("cannot make fd %d non-blocking: %s", fd,
		    strerror(errno));
	p->old_fl[i] = fl;
	return 0;
}

/* Install our handlers, then raw mode; the inverse is pt_restore. */
static int
pt_setup(struct pt *p)
{
	struct sigaction sa;
	struct termios raw;

	if (pipe2(p->sigpipe, O_CLOEXEC | O_NONBLOCK) == -1)
		return err_set("cannot create a pipe: %s", strerror(errno));
	if (set_nonblock(p, 0, p->guest) == -1 ||
	    set_nonblock(p, 1, p->in) == -1 ||
	    set_nonblock(p, 2, p->out) == -1)
		return -1;

	pt_sig_fd = p->sigpipe[1];
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < PT_NSIG; i++) {
		sa.sa_handler = pt_signals[i] == SIGPIPE ? SIG_IGN : pt_on_signal;
		sigaction(pt_signals[i], &sa, &p->old_sa[i]);
	}
	p->sa_saved = true;

	if (tcgetattr(p->in, &p->old_tio) == -1) {
		if (errno != ENOTTY && errno != EINVAL)
			return err_set("cannot read the terminal settings: %s",
			    strerror(errno));
		return 0;	/* not a terminal: no raw mode to set */
	}
	p->tio_saved = true;
	raw = p->old_tio;
	cfmakeraw(&raw);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(p->in, TCSANOW, &raw) == -1)
		return err_set("cannot put the terminal in raw mode: %s",
		    strerror(errno));
	return 0;
}

/* Undo pt_setup, whatever part of it was done. */
static void
pt_restore(struct pt *p)
{
	int fds[3] = { p->guest, p->in, p->out };

	if (p->tio_saved) {
		while (tcsetattr(p->in, TCSANOW, &p->old_tio) == -1 &&
		    errno == EINTR)
			;
	}
	if (p->sa_saved)
		for (size_t i = 0; i < PT_NSIG; i++)
			sigaction(pt_signals[i], &p->old_sa[i], NULL);
	pt_sig_fd = -1;
	/* In reverse, so that shared fds end with their first flags. */
	for (int i = 2; i >= 0; i--)
		if (p->old_fl[i] != -1)
			fcntl(fds[i], F_SETFL, p->old_fl[i]);
	for (int i = 0; i < 2; i++)
		if (p->sigpipe[i] != -1)
			close(p->sigpipe[i]);
}

/* Best effort: write what is pending to both sides for a little while. */
static void
pt_flush(struct pt *p)
{
	long long deadline = log_now_ms() + PT_FLUSH_MS;

	while (buf_pending(&p->to_guest) || buf_pending(&p->to_tty)) {
		struct pollfd pfd[2];
		long long left = deadline - log_now_ms();
		int n = 0;

		if (left <= 0)
			break;
		if (buf_pending(&p->to_guest))
			pfd[n++] = (struct pollfd){ p->guest, POLLOUT, 0 };
		if (buf_pending(&p->to_tty))
			pfd[n++] = (struct pollfd){ p->out, POLLOUT, 0 };
		n = poll(pfd, (nfds_t)n, (int)left);
		if (n == 0 || (n < 0 && errno != EINTR))
			break;
		/* A side that fails gets nothing more. */
		if (buf_write(&p->to_guest, p->guest) == -1)
			p->to_guest.start = p->to_guest.end = 0;
		if (buf_write(&p->to_tty, p->out) == -1)
			p->to_tty.start = p->to_tty.end = 0;
	}
}

/* Input from the user: everything up to the escape character goes to
 * the guest.  Returns PT_RUNNING, 0 (escape or end of input) or -1. */
static int
pt_from_tty(struct pt *p)
{
	struct ptbuf *b = &p->to_guest;
	size_t before;
	ssize_t n;
	char *e;

	buf_compact(b);
	before = b->end;
	n = buf_read(b, p->in);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return PT_RUNNING;
	if (n == 0 || (n < 0 && is_hangup(errno))) {
		snprintf(p->why, sizeof p->why,
		    "the terminal closed its input");
		return 0;
	}
	if (n < 0)
		return err_set("cannot read from the terminal: %s",
		    strerror(errno));
	e = memchr(b->data + before, p->esc, (size_t)n);
	if (e != NULL) {
		b->end = (size_t)(e - b->data);
		snprintf(p->why, sizeof p->why,
		    "disconnected by the escape character");
		return 0;
	}
	b->end = before + (size_t)n;
	return PT_RUNNING;
}

/* Append guest output to the session log; on an error, stop logging. */
static void
pt_log(struct pt *p, const char *data, size_t n)
{
	while (n > 0) {
		ssize_t w = write(p->log, data, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_debug("passthru: the session log failed (%s); logging stopped",
			    w < 0 ? strerror(errno) : "short write");
			p->log = -1;
			return;
		}
		data += w;
		n -= (size_t)w;
	}
}

/* Output of the guest.  Returns PT_RUNNING, 1 (closed) or -1. */
static int
pt_from_guest(struct pt *p)
{
	struct ptbuf *b = &p->to_tty;
	ssize_t n;

	buf_compact(b);
	n = buf_read(b, p->guest);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return PT_RUNNING;
	if (n == 0 || (n < 0 && is_hangup(errno))) {
		snprintf(p->why, sizeof p->why, "the guest's console closed");
		return 1;
	}
	if (n < 0)
		return err_set("cannot read from the guest's console: %s",
		    strerror(errno));
	if (p->log >= 0)
		pt_log(p, b->data + b->end, (size_t)n);
	b->end += (size_t)n;
	return PT_RUNNING;
}

/* A signal arrived: which one, as an error. */
static int
pt_signalled(struct pt *p)
{
	unsigned char b;

	if (read(p->sigpipe[0], &b, 1) != 1)
		return PT_RUNNING;
	err_set("the console session was interrupted by %s", sig_name(b));
	snprintf(p->why, sizeof p->why, "%s", err_get());
	return -1;
}

/* One pass of the loop: poll, then move bytes.  Returns PT_RUNNING or
 * the result of the session. */
static int
pt_step(struct pt *p)
{
	struct pollfd pfd[4];
	short gev = 0;
	int rc;

	if (buf_room(&p->to_tty) > 0)
		gev |= POLLIN;
	if (buf_pending(&p->to_guest))
		gev |= POLLOUT;
	/* A negative fd is left out by poll(). */
	pfd[0] = (struct pollfd){ p->sigpipe[0], POLLIN, 0 };
	pfd[1] = (struct pollfd){ buf_room(&p->to_guest) > 0 ? p->in : -1,
	    POLLIN, 0 };
	pfd[2] = (struct pollfd){ gev != 0 ? p->guest : -1, gev, 0 };
	pfd[3] = (struct pollfd){ buf_pending(&p->to_tty) ? p->out : -1,
	    POLLOUT, 0 };
	if (poll(pfd, 4, -1) == -1) {
		if (errno == EINTR)
			return PT_RUNNING;
		return err_set("cannot poll the console: %s", strerror(errno));
	}

	if (pfd[0].revents != 0 && (rc = pt_signalled(p)) != PT_RUNNING)
		return rc;
	if (pfd[1].revents != 0 && (rc = pt_from_tty(p)) != PT_RUNNING)
		return rc;
	if ((pfd[2].revents & (POLLIN | POLLHUP | POLLERR)) && (gev & POLLIN) &&
	    (rc = pt_from_guest(p)) != PT_RUNNING)
		return rc;
	if (pfd[2].revents != 0 && buf_pending(&p->to_guest) &&
	    buf_write(&p->to_guest, p->guest) == -1) {
		if (is_hangup(errno)) {
			snprintf(p->why, sizeof p->why,
			    "the guest's console closed");
			return 1;
		}
		return err_set("cannot write to the guest's console: %s",
		    strerror(errno));
	}
	if (pfd[3].revents != 0 && buf_write(&p->to_tty, p->out) == -1)
		return err_set("cannot write to the terminal: %s",
		    strerror(errno));
	return PT_RUNNING;
}

int
passthru_run(int guest_fd, int tty_in, int tty_out, int escape_char, int log_fd,
    const char *banner, char *why, size_t whylen)
{
	struct pt *p = xcalloc(1, sizeof *p);	/* 128 KiB of buffers */
	int rc;

	p->guest = guest_fd;
	p->in = tty_in;
	p->out = tty_out;
	p->esc = escape_char < 0 ? PASSTHRU_ESCAPE_DEFAULT : escape_char & 0xff;
	p->log = log_fd;
	p->sigpipe[0] = p->sigpipe[1] = -1;
	p->old_fl[0] = p->old_fl[1] = p->old_fl[2] = -1;

	if (guest_fd < 0 || tty_in < 0 || tty_out < 0)
		rc = err_set("the console passthrough needs open descriptors");
	else if ((rc = pt_setup(p)) == 0) {
		if (banner != NULL) {
			buf_add(&p->to_tty, banner, strlen(banner));
			buf_add(&p->to_tty, "\r\n", 2);
		}
		while ((rc = pt_step(p)) == PT_RUNNING)
			;
		if (rc != -1)
			pt_flush(p);
	}
	if (rc == -1 && p->why[0] == '\0')
		snprintf(p->why, sizeof p->why, "%s", err_get());
	pt_restore(p);
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", p->why);
	free(p);
	return rc;
}
