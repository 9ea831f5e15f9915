/* The serial console emulator: text, colours, replies, keys, scrollback,
 * the alternate screen, resize and wide characters, all through real
 * libvterm; and, when QEMU and the tiny guest are there, a real guest's
 * shell and busybox top. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "console/serial.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

static void
feed(struct serial *s, const char *str)
{
	serial_feed(s, str, strlen(str));
}

/* Row ROW of the live screen as text. */
static const char *
row(struct serial *s, int r)
{
	static char buf[1024];

	cellbuf_row_text(serial_screen(s, 0), r, buf, sizeof buf);
	return buf;
}

static const struct cell *
cell(struct serial *s, int r, int c)
{
	const struct cellbuf *b = serial_screen(s, 0);

	assert_true(r < b->rows && c < b->cols);
	return &b->cells[(size_t)r * (size_t)b->cols + (size_t)c];
}

static void
test_plain_text(void **state)
{
	struct serial *s = serial_new(24, 80, 5000);
	const struct cellbuf *b;

	(void)state;
	feed(s, "hello\r\nworld\r\n");
	b = serial_screen(s, 0);
	assert_int_equal(b->rows, 24);
	assert_int_equal(b->cols, 80);
	assert_string_equal(row(s, 0), "hello");
	assert_string_equal(row(s, 1), "world");
	assert_string_equal(row(s, 2), "");
	b = serial_screen(s, 0);
	assert_int_equal(b->cursor_row, 2);
	assert_int_equal(b->cursor_col, 0);
	assert_true(b->cursor_visible);
	assert_int_equal(cell(s, 0, 0)->ch, 'h');
	assert_int_equal(cell(s, 0, 0)->width, 1);
	assert_int_equal(cell(s, 0, 0)->fg, CELL_DEFAULT);
	assert_int_equal(cell(s, 0, 0)->bg, CELL_DEFAULT);
	assert_int_equal(cell(s, 0, 0)->fg_index, -1);
	/* Cursor visibility follows DECTCEM. */
	feed(s, "\033[?25l");
	assert_false(serial_screen(s, 0)->cursor_visible);
	feed(s, "\033[?25h");
	assert_true(serial_screen(s, 0)->cursor_visible);
	assert_int_equal(serial_scrollback_lines(s), 0);
	serial_free(s);
}

static void
test_sgr_colours(void **state)
{
	struct serial *s = serial_new(24, 80, 5000);
	const struct cell *c;

	(void)state;
	feed(s, "\033[31mR\033[1;32mG\033[0;38;5;200mI\033[38;2;1;2;3mT"
	    "\033[0;7mV\033[0;44mB\033[0;4;3;5mU\033[31m\033[39mD\033[0m"
	    "\033[97;48;5;21mH\033[0m.");

	c = cell(s, 0, 0);	/* R: red, palette 1 */
	assert_int_equal(c->ch, 'R');
	assert_int_equal(c->fg_index, 1);
	assert_int_not_equal(c->fg, CELL_DEFAULT);
	assert_int_equal(c->bg, CELL_DEFAULT);
	assert_int_equal(c->bg_index, -1);
	assert_int_equal(c->attrs, 0);

	c = cell(s, 0, 1);	/* G: bold green */
	assert_int_equal(c->fg_index, 2);
	assert_int_equal(c->attrs, CELL_BOLD);

	c = cell(s, 0, 2);	/* I: 256-colour 200 = cube (5,0,4) */
	assert_int_equal(c->fg_index, 200);
	assert_int_equal(c->fg, 0xff00cc);

	c = cell(s, 0, 3);	/* T: truecolour, no index */
	assert_int_equal(c->fg_index, -1);
	assert_int_equal(c->fg, 0x010203);

	c = cell(s, 0, 4);	/* V: reverse, default colours */
	assert_int_equal(c->attrs, CELL_REVERSE);
	assert_int_equal(c->fg, CELL_DEFAULT);
	assert_int_equal(c->bg, CELL_DEFAULT);

	c = cell(s, 0, 5);	/* B: blue background */
	assert_int_equal(c->bg_index, 4);
	assert_int_equal(c->fg, CELL_DEFAULT);

	c = cell(s, 0, 6);	/* U: underline, italic, blink */
	assert_int_equal(c->attrs, CELL_UNDERLINE | CELL_ITALIC | CELL_BLINK);

	c = cell(s, 0, 7);	/* D: SGR 39 gives the default back */
	assert_int_equal(c->fg, CELL_DEFAULT);
	assert_int_equal(c->fg_index, -1);
	assert_int_equal(c->attrs, CELL_UNDERLINE | CELL_ITALIC | CELL_BLINK);

	c = cell(s, 0, 8);	/* H: bright white on 256-colour 21 */
	assert_int_equal(c->fg_index, 15);
	assert_int_equal(c->bg_index, 21);
	assert_int_equal(c->bg, 0x0000ff);

	c = cell(s, 0, 9);
	assert_int_equal(c->ch, '.');
	assert_int_equal(c->attrs, 0);
	assert_int_equal(c->fg, CELL_DEFAULT);

	/* Screen-wide reverse video (DECSCNM) flips every cell. */
	feed(s, "\033[?5h");
	assert_int_equal(cell(s, 0, 9)->attrs, CELL_REVERSE);
	assert_int_equal(cell(s, 0, 4)->attrs, 0);
	feed(s, "\033[?5l");
	assert_int_equal(cell(s, 0, 9)->attrs, 0);
	serial_free(s);
}

/* 10 MB in one call; a UTF-8 character straddles the 4 KiB chunk
 * boundary and must arrive whole. */
static void
test_huge_feed(void **state)
{
	size_t len = 10 * 1024 * 1024;
	char *buf = xmalloc(len);
	struct serial *s = serial_new(24, 80, 5000);
	long long t0, t1;

	(void)state;
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + i % 26);
	memcpy(buf + 4094, "\xe2\x82\xac", 3);	/* U+20AC over 4096 */
	for (size_t i = 1024 * 1024; i < len; i += 1024 * 1024)
		memcpy(buf + i - 2, "\r\n", 2);
	memcpy(buf + len - 12, "\r\nEND-OF-IT", 11);
	buf[len - 1] = '!';
	t0 = log_now_ms();
	serial_feed(s, buf, len);
	t1 = log_now_ms();
	print_message("10 MB of text in one call: %lld ms\n", t1 - t0);
	assert_string_equal(row(s, 23), "END-OF-IT!");
	assert_int_equal(serial_scrollback_lines(s), 5000);
	free(buf);
	serial_free(s);

	s = serial_new(2, 4100, 10);
	buf = xmalloc(5000);
	memset(buf, 'x', 5000);
	memcpy(buf + 4094, "\xe2\x82\xac", 3);
	serial_feed(s, buf, 5000);
	assert_int_equal(cell(s, 0, 4094)->ch, 0x20ac);
	assert_int_equal(cell(s, 0, 4095)->ch, 'x');
	free(buf);
	serial_free(s);
}

/* A figure, not a check; under ASan (whose memmove is slow, and libvterm
 * moves the screen on every scroll) a smaller one. */
#ifdef __SANITIZE_ADDRESS__
#define THROUGHPUT_BYTES (1024 * 1024)
#else
#define THROUGHPUT_BYTES (5 * 1024 * 1024)
#endif

static void
test_throughput(void **state)
{
	size_t cap = THROUGHPUT_BYTES + 4096, len = 0;
	char *buf = xmalloc(cap);
	struct serial *s = serial_new(24, 80, 5000);
	long long t0, t1;
	unsigned n = 0;

	(void)state;
	/* Log-like lines of varying length, some colour, some UTF-8. */
	while (len < THROUGHPUT_BYTES) {
		int k = snprintf(buf + len, cap - len,
		    "%s[%8u] kernel: line %u %.*s %s\033[0m caf\xc3\xa9\r\n",
		    n % 7 == 0 ? "\033[1;31m" : n % 5 == 0 ? "\033[38;5;33m" : "",
		    n, n * 7919, (int)(n % 50),
		    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
		    n % 3 == 0 ? "OK" : "done");
		len += (size_t)k;
		n++;
	}
	t0 = log_now_ms();
	serial_feed(s, buf, len);
	(void)serial_screen(s, 0);
	t1 = log_now_ms();
	print_message("throughput: %.1f MB in %lld ms = %.1f MB/s (%u lines)\n",
	    (double)len / 1e6, t1 - t0,
	    (double)len / 1e6 / ((double)(t1 - t0 > 0 ? t1 - t0 : 1) / 1e3), n);
	assert_int_equal(serial_scrollback_lines(s), 5000);
	assert_int_not_equal(serial_search(s, "kernel: line", -1), -1);
	free(buf);
	serial_free(s);
}

static void
test_replies(void **state)
{
	struct serial *s = serial_new(24, 80, 5000);
	char out[64];
	size_t n;

	(void)state;
	assert_int_equal(serial_take_reply(s, out, sizeof out), 0);
	feed(s, "abc\r\n\r\nxy\033[6n");
	n = serial_take_reply(s, out, sizeof out);
	assert_int_equal(n, 6);
	assert_memory_equal(out, "\033[3;3R", 6);
	assert_int_equal(serial_take_reply(s, out, sizeof out), 0);

	/* Device attributes; a small buffer gets it in pieces. */
	feed(s, "\033[c");
	n = serial_take_reply(s, out, 3);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "\033[?", 3);
	n = serial_take_reply(s, out, sizeof out);
	assert_true(n > 1);
	assert_int_equal(out[n - 1], 'c');
	serial_free(s);
}

static size_t
key(struct serial *s, uint32_t k, int mods, bool special, char *out)
{
	return serial_key(s, k, mods, special, out, SERIAL_KEY_MAX);
}

#define assert_key(s, k, mods, special, expect) do {			\
	char kb_[SERIAL_KEY_MAX];					\
	size_t kn_ = key((s), (k), (mods), (special), kb_);		\
	assert_int_equal(kn_, sizeof(expect) - 1);			\
	assert_memory_equal(kb_, (expect), kn_);			\
} while (0)

static void
test_keys(void **state)
{
	struct serial *s = serial_new(24, 80, 5000);
	char out[8];

	(void)state;
	assert_key(s, SERIAL_KEY_UP, 0, true, "\033[A");
	assert_key(s, SERIAL_KEY_LEFT, 0, true, "\033[D");
	assert_key(s, SERIAL_KEY_HOME, 0, true, "\033[H");
	feed(s, "\033[?1h");	/* application cursor keys */
	assert_key(s, SERIAL_KEY_UP, 0, true, "\033OA");
	assert_key(s, SERIAL_KEY_RIGHT, 0, true, "\033OC");
	assert_key(s, SERIAL_KEY_HOME, 0, true, "\033OH");
	feed(s, "\033[?1l");
	assert_key(s, SERIAL_KEY_UP, 0, true, "\033[A");
	assert_key(s, SERIAL_KEY_UP, SERIAL_MOD_CTRL, true, "\033[1;5A");

	assert_key(s, 'c', SERIAL_MOD_CTRL, false, "\003");
	assert_key(s, 'C', SERIAL_MOD_CTRL, false, "\003");
	assert_key(s, 'c', SERIAL_MOD_CTRL | SERIAL_MOD_ALT, false, "\033\003");
	assert_key(s, '[', SERIAL_MOD_CTRL, false, "\033");
	assert_key(s, ']', SERIAL_MOD_CTRL, false, "\035");
	assert_key(s, '?', SERIAL_MOD_CTRL, false, "\177");
	assert_key(s, 'x', SERIAL_MOD_ALT, false, "\033x");
	assert_key(s, 'A', SERIAL_MOD_SHIFT, false, "A");
	assert_key(s, 0xe9, 0, false, "\xc3\xa9");
	assert_key(s, 0x4e2d, 0, false, "\xe4\xb8\xad");

	assert_key(s, SERIAL_KEY_ENTER, 0, true, "\r");
	assert_key(s, SERIAL_KEY_TAB, 0, true, "\t");
	assert_key(s, SERIAL_KEY_TAB, SERIAL_MOD_SHIFT, true, "\033[Z");
	assert_key(s, SERIAL_KEY_BACKSPACE, 0, true, "\177");
	assert_key(s, SERIAL_KEY_ESC, 0, true, "\033");
	assert_key(s, SERIAL_KEY_DEL, 0, true, "\033[3~");
	assert_key(s, SERIAL_KEY_INS, 0, true, "\033[2~");
	assert_key(s, SERIAL_KEY_PGUP, 0, true, "\033[5~");
	assert_key(s, SERIAL_KEY_PGDN, 0, true, "\033[6~");
	assert_key(s, SERIAL_KEY_F1, 0, true, "\033OP");
	assert_key(s, SERIAL_KEY_F(5), 0, true, "\033[15~");
	assert_key(s, SERIAL_KEY_F12, 0, true, "\033[24~");

	/* No encoding, or no room: nothing. */
	assert_int_equal(serial_key(s, 999, 0, true, out, sizeof out), 0);
	assert_int_equal(serial_key(s, 0xd800, 0, false, out, sizeof out), 0);
	assert_int_equal(serial_key(s, SERIAL_KEY_F12, 0, true, out, 2), 0);
	/* Keys are not replies. */
	assert_int_equal(serial_take_reply(s, out, sizeof out), 0);
	serial_free(s);
}

static void
test_scrollback_search(void **state)
{
	struct serial *s = serial_new(24, 80, 5000);
	const struct cellbuf *b;
	char line[64], text[128];
	int sb;

	(void)state;
	for (int i = 0; i < 6000; i++) {
		snprintf(line, sizeof line, "line %04d\r\n", i);
		feed(s, line);
	}
	/* 6000 lines, 23 on screen above the cursor, the first 977 gone. */
	sb = serial_scrollback_lines(s);
	assert_int_equal(sb, 5000);
	assert_string_equal(row(s, 0), "line 5977");
	assert_int_equal(serial_search(s, "line 1000", -1), 1000 - 977);
	assert_int_equal(serial_search(s, "line 1000", 1000 - 977 - 1), -1);
	assert_int_equal(serial_search(s, "line 0977", -1), 0);
	assert_int_equal(serial_search(s, "line 0976", -1), -1);
	assert_int_equal(serial_search(s, "line 5990", -1), sb + 13);
	assert_int_equal(serial_search(s, "line 59", 100), -1);
	assert_int_equal(serial_search(s, "no such", -1), -1);

	/* Scrolled back so that line 1000 is on top. */
	b = serial_screen(s, sb - serial_search(s, "line 1000", -1));
	cellbuf_row_text(b, 0, text, sizeof text);
	assert_string_equal(text, "line 1000");
	cellbuf_row_text(b, 23, text, sizeof text);
	assert_string_equal(text, "line 1023");
	assert_false(b->cursor_visible);
	assert_int_equal(b->damage_top, 0);
	assert_int_equal(b->damage_bottom, 24);
	/* Offsets are clamped to the scrollback. */
	b = serial_screen(s, 1000000);
	cellbuf_row_text(b, 0, text, sizeof text);
	assert_string_equal(text, "line 0977");
	/* Two lines back: the cursor row moves down with the text. */
	b = serial_screen(s, 2);
	cellbuf_row_text(b, 0, text, sizeof text);
	assert_string_equal(text, "line 5975");
	assert_false(b->cursor_visible);
	b = serial_screen(s, 0);
	assert_true(b->cursor_visible);
	assert_int_equal(b->cursor_row, 23);
	serial_free(s);
}

static void
test_altscreen(void **state)
{
	struct serial *s = serial_new(10, 40, 5000);
	const struct cellbuf *b;
	char line[64];
	int sb;

	(void)state;
	for (int i = 0; i < 12; i++) {
		snprintf(line, sizeof line, "primary %d\r\n", i);
		feed(s, line);
	}
	sb = serial_scrollback_lines(s);
	assert_int_equal(sb, 3);
	assert_string_equal(row(s, 0), "primary 3");

	/* A full-screen program: 1049 saves the cursor and clears. */
	feed(s, "\033[?1049h\033[H\033[2J");
	assert_string_equal(row(s, 0), "");
	for (int i = 0; i < 100; i++) {
		snprintf(line, sizeof line, "\033[1;7mtop %d\033[0m\r\n", i);
		feed(s, line);
	}
	assert_string_equal(row(s, 0), "top 91");
	assert_int_equal(cell(s, 0, 0)->attrs, CELL_BOLD | CELL_REVERSE);
	assert_int_equal(serial_scrollback_lines(s), sb);
	/* Scrolling back while there shows the primary's history. */
	b = serial_screen(s, 1);
	cellbuf_row_text(b, 0, line, sizeof line);
	assert_string_equal(line, "primary 2");

	feed(s, "\033[?1049l");
	assert_string_equal(row(s, 0), "primary 3");
	assert_string_equal(row(s, 8), "primary 11");
	assert_string_equal(row(s, 9), "");
	b = serial_screen(s, 0);
	assert_int_equal(b->cursor_row, 9);
	assert_int_equal(b->cursor_col, 0);
	assert_int_equal(serial_scrollback_lines(s), sb);
	assert_int_equal(serial_search(s, "top", -1), -1);
	assert_int_equal(cell(s, 0, 0)->attrs, 0);

	/* A resize while there (same height) keeps the primary screen. */
	feed(s, "\033[?1049h\033[Hfull screen");
	serial_resize(s, 10, 30);
	assert_string_equal(row(s, 0), "full screen");
	feed(s, "\033[?1049l");
	assert_string_equal(row(s, 0), "primary 3");
	assert_string_equal(row(s, 8), "primary 11");
	assert_int_equal(serial_screen(s, 0)->cols, 30);
	assert_int_equal(serial_scrollback_lines(s), sb);
	serial_free(s);
}

static void
test_resize(void **state)
{
	struct serial *s = serial_new(10, 20, 100);
	const struct cellbuf *b;
	char line[64];

	(void)state;
	for (int i = 0; i < 30; i++) {
		snprintf(line, sizeof line, "l%02d\r\n", i);
		feed(s, line);
	}
	feed(s, "\033[32m$ ");
	assert_int_equal(serial_scrollback_lines(s), 21);
	assert_string_equal(row(s, 8), "l29");
	assert_string_equal(row(s, 9), "$");

	/* Shrinking keeps the cursor line; the rest goes to scrollback. */
	serial_resize(s, 5, 10);
	b = serial_screen(s, 0);
	assert_int_equal(b->rows, 5);
	assert_int_equal(b->cols, 10);
	assert_int_equal(b->damage_top, 0);
	assert_int_equal(b->damage_bottom, 5);
	assert_int_equal(serial_scrollback_lines(s), 26);
	assert_string_equal(row(s, 3), "l29");
	assert_string_equal(row(s, 4), "$");
	assert_int_equal(b->cursor_row, 4);
	assert_int_equal(b->cursor_col, 2);

	/* Growing takes lines back from the scrollback, colours intact. */
	feed(s, "\033[1;33mYY\033[0m\r\n\033[32m$ ");
	assert_int_equal(serial_scrollback_lines(s), 27);
	serial_resize(s, 12, 40);
	b = serial_screen(s, 0);
	assert_int_equal(b->rows, 12);
	assert_int_equal(b->cols, 40);
	assert_int_equal(serial_scrollback_lines(s), 27 - 7);
	assert_string_equal(row(s, 9), "l29");
	assert_string_equal(row(s, 10), "$ YY");
	assert_int_equal(cell(s, 10, 0)->fg_index, 2);
	assert_int_equal(cell(s, 10, 2)->fg_index, 3);
	assert_int_equal(cell(s, 10, 2)->attrs, CELL_BOLD);
	assert_string_equal(row(s, 11), "$");
	assert_string_equal(row(s, 0), "l20");
	assert_int_equal(b->cursor_row, 11);
	assert_int_equal(b->cursor_col, 2);
	/* The emulator knows the new size. */
	feed(s, "\033[999;999H\033[6n");
	{
		char out[32];
		size_t n = serial_take_reply(s, out, sizeof out);

		assert_int_equal(n, strlen("\033[12;40R"));
		assert_memory_equal(out, "\033[12;40R", n);
	}
	serial_free(s);
}

static void
test_wide(void **state)
{
	struct serial *s = serial_new(5, 10, 100);
	const struct cellbuf *b;

	(void)state;
	feed(s, "\xe4\xb8\xad" "x\xf0\x9f\x98\x80" "y");
	assert_int_equal(cell(s, 0, 0)->ch, 0x4e2d);
	assert_int_equal(cell(s, 0, 0)->width, 2);
	assert_int_equal(cell(s, 0, 1)->width, 0);
	assert_int_equal(cell(s, 0, 2)->ch, 'x');
	assert_int_equal(cell(s, 0, 3)->ch, 0x1f600);
	assert_int_equal(cell(s, 0, 3)->width, 2);
	assert_int_equal(cell(s, 0, 4)->width, 0);
	assert_int_equal(cell(s, 0, 5)->ch, 'y');
	b = serial_screen(s, 0);
	assert_int_equal(b->cursor_col, 6);
	assert_string_equal(row(s, 0), "\xe4\xb8\xad" "x\xf0\x9f\x98\x80" "y");
	/* A wide character that does not fit wraps whole. */
	feed(s, "\r\n123456789\xe4\xb8\xad");
	assert_string_equal(row(s, 1), "123456789");
	assert_int_equal(cell(s, 2, 0)->ch, 0x4e2d);
	assert_int_equal(serial_search(s, "x\xf0\x9f\x98\x80", -1), 0);
	serial_free(s);
}

/* Characters cut between two reads of the guest's output. */
static void
test_utf8_split(void **state)
{
	struct serial *s = serial_new(5, 20, 100);

	(void)state;
	feed(s, "a\xe2");
	feed(s, "\x82");
	feed(s, "\xac" "b\xf0\x9f");
	feed(s, "\x98\x80" "c\xc3");
	feed(s, "\xa9");
	assert_string_equal(row(s, 0), "a\xe2\x82\xac" "b\xf0\x9f\x98\x80" "c\xc3\xa9");
	/* A lead byte without its continuation does not eat what follows
	 * (libvterm drops it). */
	feed(s, "\r\n\xe2");
	feed(s, "x\033[31my");
	assert_string_equal(row(s, 1), "xy");
	assert_int_equal(cell(s, 1, 1)->fg_index, 1);
	serial_free(s);
}

static void
test_damage(void **state)
{
	struct serial *s = serial_new(24, 80, 100);
	const struct cellbuf *b;

	(void)state;
	b = serial_screen(s, 0);
	assert_int_equal(b->damage_top, 0);
	assert_int_equal(b->damage_bottom, 24);
	b = serial_screen(s, 0);
	assert_true(b->damage_top >= b->damage_bottom);
	feed(s, "\033[5;1Hzz");
	b = serial_screen(s, 0);
	assert_int_equal(b->damage_top, 4);
	assert_int_equal(b->damage_bottom, 5);
	feed(s, "\033[3;1Ha\033[7;1Hb");
	b = serial_screen(s, 0);
	assert_int_equal(b->damage_top, 2);
	assert_int_equal(b->damage_bottom, 7);
	/* Moving the cursor damages nothing, but the cursor moves. */
	feed(s, "\033[10;10H");
	b = serial_screen(s, 0);
	assert_true(b->damage_top >= b->damage_bottom);
	assert_int_equal(b->cursor_row, 9);
	assert_int_equal(b->cursor_col, 9);
	/* Scrolling damages the whole screen. */
	feed(s, "\033[24;1H\r\n");
	b = serial_screen(s, 0);
	assert_int_equal(b->damage_top, 0);
	assert_int_equal(b->damage_bottom, 24);
	assert_string_equal(row(s, 3), "zz");
	serial_free(s);
}

static void
test_log(void **state)
{
	char *dir = unit_tmpdir();
	char *path = xasprintf("%s/console.log", dir);
	struct serial *s = serial_new(24, 80, 100);
	char buf[64];
	FILE *fp;
	size_t n;

	(void)state;
	assert_int_equal(serial_log_to(s, path), 0);
	feed(s, "one\r\n\033[31mtwo");
	assert_int_equal(serial_log_to(s, NULL), 0);
	feed(s, "three");
	fp = fopen(path, "rb");
	assert_non_null(fp);
	n = fread(buf, 1, sizeof buf, fp);
	fclose(fp);
	assert_int_equal(n, strlen("one\r\n\033[31mtwo"));
	assert_memory_equal(buf, "one\r\n\033[31mtwo", n);
	assert_int_equal(serial_log_to(s, "/nonexistent/dir/log"), -1);
	assert_non_null(strstr(err_get(), "'/nonexistent/dir/log'"));
	serial_free(s);
	free(path);
	unit_rmdir(dir);
}

/*
 * A real guest: QEMU (TCG) with the tiny guest's serial on a unix socket.
 */

struct guest {
	pid_t pid;
	char *dir;
	int fd;
	struct serial *s;
};

static int
guest_teardown(void **state)
{
	struct guest *g = *state;

	if (g == NULL)
		return 0;
	if (g->fd != -1)
		close(g->fd);
	if (g->pid > 0) {
		kill(g->pid, SIGKILL);
		while (waitpid(g->pid, NULL, 0) == -1 && errno == EINTR)
			;
		/* Reaped: nothing of it is left. */
		assert_int_equal(kill(g->pid, 0), -1);
	}
	serial_free(g->s);
	if (g->dir != NULL)
		unit_rmdir(g->dir);
	free(g);
	*state = NULL;
	return 0;
}

static int
guest_setup(void **state)
{
	struct guest *g = xcalloc(1, sizeof *g);

	g->fd = -1;
	*state = g;
	return 0;
}

/* Feed what the guest says for up to MS, answering the emulator's
 * replies; stop early once TEXT is on the live screen (or anywhere when
 * ANYWHERE).  Returns whether it was found. */
static bool
guest_wait(struct guest *g, const char *text, bool anywhere, int ms)
{
	long long deadline = log_now_ms() + ms;
	char buf[4096];

	for (;;) {
		struct pollfd pfd = { .fd = g->fd, .events = POLLIN };
		long long left = deadline - log_now_ms();
		ssize_t n;
		size_t r;

		if (anywhere ? serial_search(g->s, text, -1) != -1 :
		    serial_search(g->s, text, -1) >=
		    serial_scrollback_lines(g->s))
			return true;
		if (left <= 0)
			return false;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = read(g->fd, buf, sizeof buf);
		if (n <= 0)
			return false;
		serial_feed(g->s, buf, (size_t)n);
		while ((r = serial_take_reply(g->s, buf, sizeof buf)) > 0)
			assert_int_equal(write(g->fd, buf, r), (ssize_t)r);
	}
}

static void
guest_type(struct guest *g, const char *text)
{
	char out[SERIAL_KEY_MAX];
	size_t n;

	for (const char *p = text; *p != '\0'; p++) {
		n = serial_key(g->s, (unsigned char)*p, 0, false, out, sizeof out);
		assert_int_equal(n, 1);
		assert_int_equal(write(g->fd, out, n), (ssize_t)n);
	}
	n = serial_key(g->s, SERIAL_KEY_ENTER, 0, true, out, sizeof out);
	assert_int_equal(write(g->fd, out, n), (ssize_t)n);
}

static bool
have_qemu(void)
{
	const char *path = getenv("PATH");
	char *dirs, *save = NULL;
	bool found = false;

	if (path == NULL)
		return false;
	dirs = xstrdup(path);
	for (char *d = strtok_r(dirs, ":", &save); d != NULL && !found;
	    d = strtok_r(NULL, ":", &save)) {
		char *exe = xasprintf("%s/qemu-system-x86_64", d);

		found = access(exe, X_OK) == 0;
		free(exe);
	}
	free(dirs);
	return found;
}

static void
test_real_guest(void **state)
{
	struct guest *g = *state;
	const char *gdir = getenv("VMTTY_GUEST_DIR");
	char *cmd, *kernel, *initrd, *sock, *chardev;
	struct sockaddr_un sa;
	long long deadline;
	int rc;

	if (getenv("VMTTY_NO_GUEST") != NULL || !have_qemu() ||
	    access("tests/guest/build.sh", X_OK) != 0) {
		print_message("no qemu-system-x86_64 or tests/guest: skipped\n");
		skip();
	}
	if (gdir == NULL)
		gdir = "build/guest";
	cmd = xasprintf("tests/guest/build.sh '%s' >/dev/null 2>&1", gdir);
	rc = system(cmd);
	free(cmd);
	kernel = xasprintf("%s/vmlinuz", gdir);
	initrd = xasprintf("%s/initrd.img", gdir);
	if (rc != 0 || access(kernel, R_OK) != 0 || access(initrd, R_OK) != 0) {
		free(kernel);
		free(initrd);
		print_message("the tiny guest could not be built: skipped\n");
		skip();
	}

	g->dir = unit_tmpdir();
	sock = xasprintf("%s/serial", g->dir);
	chardev = xasprintf("socket,id=s0,path=%s,server=on,wait=off", sock);
	g->pid = fork();
	assert_true(g->pid != -1);
	if (g->pid == 0) {
		int null = open("/dev/null", O_RDWR);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execlp("qemu-system-x86_64", "qemu-system-x86_64",
		    "-accel", "tcg", "-m", "256", "-display", "none",
		    "-monitor", "none", "-nic", "none", "-no-reboot",
		    "-kernel", kernel, "-initrd", initrd,
		    "-append", "console=ttyS0",
		    "-chardev", chardev, "-serial", "chardev:s0", (char *)NULL);
		_exit(127);
	}
	free(kernel);
	free(initrd);
	free(chardev);

	/* The socket shows up once QEMU has started. */
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
	free(sock);
	g->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(g->fd != -1);
	deadline = log_now_ms() + 5000;
	while (connect(g->fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
		assert_true(log_now_ms() < deadline);
		assert_int_equal(waitpid(g->pid, NULL, WNOHANG), 0);
		usleep(20000);
	}

	g->s = serial_new(24, 80, 5000);
	assert_true(guest_wait(g, "GUEST READY", true, 20000));
	/* Let the prompt (and its cursor position request) arrive. */
	(void)guest_wait(g, "no such text", false, 500);

	guest_type(g, "echo MARK-$((6*7))");
	assert_true(guest_wait(g, "MARK-42", false, 5000));

	/* busybox top takes the whole screen: the header replaces it. */
	guest_type(g, "top");
	assert_true(guest_wait(g, "PID  PPID USER", false, 8000));
	assert_true(guest_wait(g, "Load average", false, 2000));
	assert_true(serial_search(g->s, "MARK-42", -1) <
	    serial_scrollback_lines(g->s));
	{
		char q = 'q';

		assert_int_equal(write(g->fd, &q, 1), 1);
	}
	guest_type(g, "echo BACK-$((40+2))");
	assert_true(guest_wait(g, "BACK-42", false, 5000));
	/* And the shell's prompt follows on the cursor's line. */
	(void)guest_wait(g, "no such text", false, 300);
	{
		const struct cellbuf *b = serial_screen(g->s, 0);
		char text[256];

		cellbuf_row_text(b, b->cursor_row, text, sizeof text);
		assert_non_null(strchr(text, '#'));	/* "guest:/# " */
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_text),
		cmocka_unit_test(test_sgr_colours),
		cmocka_unit_test(test_huge_feed),
		cmocka_unit_test(test_throughput),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_scrollback_search),
		cmocka_unit_test(test_altscreen),
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_wide),
		cmocka_unit_test(test_utf8_split),
		cmocka_unit_test(test_damage),
		cmocka_unit_test(test_log),
		cmocka_unit_test_setup_teardown(test_real_guest, guest_setup,
		    guest_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
