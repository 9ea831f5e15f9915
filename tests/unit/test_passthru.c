/* The raw console passthrough, with a pty as the user's terminal and a
 * socketpair as the guest's console. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <termios.h>

#include "console/passthru.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

#define BANNER "Connected to 'vm1'. Escape character is ^]"

struct run {
	pthread_t thread;
	int guest, tty_in, tty_out, esc, log;
	int rc;
	char why[256];
	char err[256];
};

struct fixture {
	int master, slave;	/* the user's terminal */
	int sv[2];		/* sv[0] for passthru, sv[1] the guest */
	struct termios before;
	int fl_before;
	struct run run;
};

static void *
runner(void *arg)
{
	struct run *r = arg;

	r->rc = passthru_run(r->guest, r->tty_in, r->tty_out, r->esc, r->log, BANNER,
	    r->why, sizeof r->why);
	snprintf(r->err, sizeof r->err, "%s", r->rc == -1 ? err_get() : "");
	return NULL;
}

static void
start(struct run *r, int guest, int tty_in, int tty_out)
{
	r->guest = guest;
	r->tty_in = tty_in;
	r->tty_out = tty_out;
	assert_int_equal(pthread_create(&r->thread, NULL, runner, r), 0);
}

static int
finish(struct run *r)
{
	assert_int_equal(pthread_join(r->thread, NULL), 0);
	return r->rc;
}

/* Read FD until what arrived (kept in BUF, LEN) contains WANT, for up to
 * MS; returns whether it did. */
static bool
read_until(int fd, char *buf, size_t size, size_t *len, const char *want,
    int ms)
{
	long long deadline = log_now_ms() + ms;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = deadline - log_now_ms();
		ssize_t n;

		if (memmem(buf, *len, want, strlen(want)) != NULL)
			return true;
		if (left <= 0 || *len == size)
			return false;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = read(fd, buf + *len, size - *len);
		if (n <= 0)
			return false;
		*len += (size_t)n;
	}
}

static bool
expect(int fd, const char *want)
{
	char buf[4096];
	size_t len = 0;

	return read_until(fd, buf, sizeof buf, &len, want, 3000);
}

static void
put(int fd, const void *p, size_t n)
{
	assert_int_equal(write(fd, p, n), (ssize_t)n);
}

static void
assert_termios_equal(const struct termios *a, const struct termios *b)
{
	assert_int_equal(a->c_iflag, b->c_iflag);
	assert_int_equal(a->c_oflag, b->c_oflag);
	assert_int_equal(a->c_cflag, b->c_cflag);
	assert_int_equal(a->c_lflag, b->c_lflag);
	assert_int_equal(a->c_line, b->c_line);
	assert_memory_equal(a->c_cc, b->c_cc, sizeof a->c_cc);
	assert_int_equal(cfgetispeed(a), cfgetispeed(b));
	assert_int_equal(cfgetospeed(a), cfgetospeed(b));
}

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);

	if (openpty(&f->master, &f->slave, NULL, NULL, NULL) == -1)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, f->sv) == -1)
		return -1;
	tcgetattr(f->slave, &f->before);
	f->fl_before = fcntl(f->slave, F_GETFL);
	f->run.esc = -1;
	f->run.log = -1;
	*state = f;
	return 0;
}

/* Whatever happened, the terminal is as it was. */
static int
teardown(void **state)
{
	struct fixture *f = *state;
	struct termios after;

	assert_int_equal(tcgetattr(f->slave, &after), 0);
	assert_termios_equal(&f->before, &after);
	assert_int_equal(fcntl(f->slave, F_GETFL), f->fl_before);
	close(f->master);
	close(f->slave);
	close(f->sv[0]);
	if (f->sv[1] != -1)
		close(f->sv[1]);
	free(f);
	return 0;
}

static void
test_escape(void **state)
{
	struct fixture *f = *state;
	struct termios during;
	char buf[64];

	start(&f->run, f->sv[0], f->slave, f->slave);
	assert_true(expect(f->master, BANNER "\r\n"));
	/* Raw now: no canonical mode, no echo, CR stays CR. */
	assert_int_equal(tcgetattr(f->slave, &during), 0);
	assert_int_equal(during.c_lflag & (ICANON | ECHO | ISIG), 0);
	assert_true(fcntl(f->sv[0], F_GETFL) & O_NONBLOCK);

	put(f->master, "ls -l\r", 6);
	assert_true(expect(f->sv[1], "ls -l\r"));
	put(f->master, "\003", 1);	/* Ctrl-C goes to the guest */
	assert_true(expect(f->sv[1], "\003"));
	put(f->sv[1], "total 0\nfile\n", 13);
	assert_true(expect(f->master, "total 0\nfile\n"));

	/* The escape: what precedes it is sent, what follows is not. */
	put(f->master, "ab\035cd", 5);
	assert_int_equal(finish(&f->run), 0);
	assert_non_null(strstr(f->run.why, "escape"));
	assert_true(expect(f->sv[1], "ab"));
	fcntl(f->sv[1], F_SETFL, O_NONBLOCK);
	assert_int_equal(read(f->sv[1], buf, sizeof buf), -1);
	assert_int_equal(errno, EAGAIN);
	/* The guest's fd got its flags back too. */
	assert_false(fcntl(f->sv[0], F_GETFL) & O_NONBLOCK);
}

static void
test_other_escape(void **state)
{
	struct fixture *f = *state;

	f->run.esc = 'q' & 0x1f;	/* Ctrl-Q */
	start(&f->run, f->sv[0], f->slave, f->slave);
	assert_true(expect(f->master, BANNER));
	put(f->master, "x\035y\021", 4);
	assert_int_equal(finish(&f->run), 0);
	assert_true(expect(f->sv[1], "x\035y"));
}

static void
test_guest_eof(void **state)
{
	struct fixture *f = *state;

	start(&f->run, f->sv[0], f->slave, f->slave);
	assert_true(expect(f->master, BANNER));
	put(f->sv[1], "reboot: Power down\r\n", 20);
	close(f->sv[1]);
	f->sv[1] = -1;
	assert_int_equal(finish(&f->run), 1);
	assert_non_null(strstr(f->run.why, "closed"));
	/* Its last words reached the terminal. */
	assert_true(expect(f->master, "reboot: Power down\r\n"));
}

static void
noop(int sig)
{
	(void)sig;
}

/* SIGTERM (to the thread) and SIGHUP (to the process) while running:
 * -1, the terminal restored, our handlers replaced by the old ones. */
static void
test_signals(void **state)
{
	struct fixture *f = *state;
	struct sigaction sa, now;
	int sigs[2] = { SIGTERM, SIGHUP };

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = noop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	for (int i = 0; i < 2; i++) {
		struct termios after;

		start(&f->run, f->sv[0], f->slave, f->slave);
		assert_true(expect(f->master, BANNER));
		if (sigs[i] == SIGTERM)
			pthread_kill(f->run.thread, SIGTERM);
		else
			kill(getpid(), SIGHUP);
		assert_int_equal(finish(&f->run), -1);
		assert_non_null(strstr(f->run.err, sigs[i] == SIGTERM ?
		    "SIGTERM" : "SIGHUP"));
		assert_string_equal(f->run.why, f->run.err);
		assert_int_equal(tcgetattr(f->slave, &after), 0);
		assert_termios_equal(&f->before, &after);
	}
	sigaction(SIGTERM, NULL, &now);
	assert_ptr_equal(now.sa_handler, noop);
	sigaction(SIGHUP, NULL, &now);
	assert_ptr_equal(now.sa_handler, noop);
	sigaction(SIGPIPE, NULL, &now);
	assert_ptr_equal(now.sa_handler, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
}

struct flood {
	int fd;
	size_t len;
};

static unsigned char
flood_byte(size_t i)
{
	return (unsigned char)(i * 7 + i / 251);
}

static void *
flooder(void *arg)
{
	struct flood *fl = arg;
	unsigned char buf[8192];

	for (size_t off = 0; off < fl->len; off += sizeof buf) {
		for (size_t i = 0; i < sizeof buf; i++)
			buf[i] = flood_byte(off + i);
		for (size_t done = 0; done < sizeof buf;) {
			ssize_t n = write(fl->fd, buf + done, sizeof buf - done);

			if (n <= 0)
				return NULL;
			done += (size_t)n;
		}
	}
	return NULL;
}

/* 4 MB from the guest to a terminal that stops reading for a while: no
 * byte lost or reordered, and typing still reaches the guest meanwhile. */
static void
test_slow_terminal(void **state)
{
	struct fixture *f = *state;
	struct flood fl = { .fd = f->sv[1], .len = 4 << 20 };
	size_t got = 0, blen = 0;
	char bbuf[256];
	pthread_t th;
	bool typed = false;
	long long t0;

	start(&f->run, f->sv[0], f->slave, f->slave);
	assert_true(read_until(f->master, bbuf, sizeof bbuf, &blen, BANNER "\r\n",
	    3000));
	/* Whatever came after the banner is the flood's start: none yet. */
	assert_int_equal(blen, strlen(BANNER "\r\n"));
	assert_int_equal(pthread_create(&th, NULL, flooder, &fl), 0);
	t0 = log_now_ms();
	while (got < fl.len) {
		unsigned char buf[4096];
		struct pollfd pfd = { .fd = f->master, .events = POLLIN };
		ssize_t n;

		if (!typed && got > fl.len / 2) {
			/* The terminal stalls; the other way must still flow. */
			usleep(300 * 1000);
			put(f->master, "still here\r", 11);
			assert_true(expect(f->sv[1], "still here\r"));
			typed = true;
		}
		assert_true(log_now_ms() - t0 < 20000);
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		n = read(f->master, buf, sizeof buf);
		assert_true(n > 0);
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != flood_byte(got + (size_t)i))
				fail_msg("byte %zu is %#x, not %#x", got + (size_t)i,
				    buf[i], flood_byte(got + (size_t)i));
		got += (size_t)n;
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	put(f->master, "\035", 1);
	assert_int_equal(finish(&f->run), 0);
}

/* Input that is not a terminal: no raw mode, end of input ends it. */
static void
test_not_a_tty(void **state)
{
	struct fixture *f = *state;
	int in[2];

	assert_int_equal(pipe(in), 0);
	start(&f->run, f->sv[0], in[0], f->slave);
	assert_true(expect(f->master, BANNER));
	put(in[1], "uname\n", 6);
	assert_true(expect(f->sv[1], "uname\n"));
	close(in[1]);
	assert_int_equal(finish(&f->run), 0);
	assert_non_null(strstr(f->run.why, "input"));
	close(in[0]);
}

/* The session log gets what the guest sent, and only that. */
static void
test_log(void **state)
{
	struct fixture *f = *state;
	char path[] = "/tmp/vmtty-ptlog.XXXXXX", buf[256];
	ssize_t n;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	f->run.log = fd;
	start(&f->run, f->sv[0], f->slave, f->slave);
	assert_true(expect(f->master, BANNER));
	put(f->master, "typed\r", 6);
	assert_true(expect(f->sv[1], "typed\r"));
	put(f->sv[1], "guest says hi\r\n", 15);
	assert_true(expect(f->master, "guest says hi"));
	put(f->master, "\035", 1);
	assert_int_equal(finish(&f->run), 0);
	n = pread(fd, buf, sizeof buf, 0);
	assert_int_equal(n, 15);
	assert_memory_equal(buf, "guest says hi\r\n", 15);
	close(fd);
}

static void
test_bad_fd(void **state)
{
	struct fixture *f = *state;
	char why[128];

	(void)f;
	assert_int_equal(passthru_run(-1, f->slave, f->slave, -1, -1, NULL, why,
	    sizeof why), -1);
	assert_non_null(strstr(err_get(), "descriptors"));
	assert_string_equal(why, err_get());
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_escape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_escape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_terminal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_tty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_fd, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
