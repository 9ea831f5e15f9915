/* cellview: colour mapping, and a cellbuf drawn into a real curses screen
 * (xterm-256color, output to /dev/null) read back cell by cell. */
#include "unit.h"

#include <curses.h>
#include <locale.h>
#include <wchar.h>

#include "console/cells.h"
#include "ui/cellview.h"

struct ccase {
	uint32_t rgb;
	int index;
	int ncolours;
	int want;
};

static void
test_colour_table(void **state)
{
	static const struct ccase cases[] = {
		{ CELL_DEFAULT, -1, 256, -1 },		/* the terminal's own */
		{ CELL_DEFAULT, -1, 8, -1 },
		{ 0xff0000, 9, 256, 9 },		/* an index the terminal has */
		{ 0x123456, 196, 256, 196 },		/* the index wins over the RGB */
		{ 0x00ff00, -1, 256, 46 },		/* cube (0,5,0) */
		{ 0x000000, -1, 256, 16 },
		{ 0xffffff, -1, 256, 231 },
		{ 0x808080, -1, 256, 244 },		/* grey ramp: 8 + 10 * 12 = 128 */
		{ 0x5f87af, -1, 256, 67 },		/* exactly cube (1,2,3) */
		{ 0xff0000, 196, 16, 9 },		/* no 196: nearest of 16 */
		{ 0x0000ee, 4, 16, 4 },
		{ 0xff0000, 9, 8, 1 },			/* bright red on 8: its dark twin */
		{ 0xffff00, -1, 8, 3 },			/* nearest of 8 */
		{ 0xe5e5e5, -1, 16, 7 },
		{ 0x080808, -1, 256, 232 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int got = cellview_colour(cases[i].rgb, cases[i].index, cases[i].ncolours);

		if (got != cases[i].want)
			fail_msg("case %zu: %06x/%d on %d colours: got %d, wanted %d", i,
			    cases[i].rgb, cases[i].index, cases[i].ncolours, got, cases[i].want);
	}
}

static SCREEN *scr;
static FILE *out, *in;

static int
setup_screen(void **state)
{
	(void)state;
	setlocale(LC_ALL, "C.UTF-8");
	out = fopen("/dev/null", "w");
	in = fopen("/dev/null", "r");
	if (out == NULL || in == NULL || (scr = newterm("xterm-256color", out, in)) == NULL)
		return -1;
	start_color();
	use_default_colors();
	resizeterm(10, 20);
	return 0;
}

static int
teardown_screen(void **state)
{
	(void)state;
	endwin();
	delscreen(scr);
	fclose(out);
	fclose(in);
	return 0;
}

static void
put(struct cellbuf *b, int row, int col, uint32_t ch, int width)
{
	struct cell *c = cellbuf_at(b, row, col);

	c->ch = ch;
	c->width = (uint8_t)width;
}

/* The character, attributes and colours of stdscr's cell (Y, X). */
static wchar_t
screen_cell(int y, int x, attr_t *attrs, short *fg, short *bg)
{
	wchar_t wch[CCHARW_MAX + 1];
	cchar_t cc;
	attr_t a;
	short pair;
	int ext = 0;

	mvwin_wch(stdscr, y, x, &cc);
	getcchar(&cc, wch, &a, &pair, &ext);
	if (attrs != NULL)
		*attrs = a;
	if (fg != NULL) {
		int f, b;

		extended_pair_content(ext, &f, &b);
		*fg = (short)f;
		*bg = (short)b;
	}
	return wch[0];
}

static void
test_draw(void **state)
{
	struct cellview *cv = cellview_new();
	struct cellbuf b;
	struct cell *c;
	attr_t a;
	short fg, bg;

	(void)state;
	cellbuf_init(&b, 3, 8);
	put(&b, 0, 0, 'A', 1);
	c = cellbuf_at(&b, 0, 1);
	c->ch = 'R';
	c->fg = 0xff0000;
	c->fg_index = 196;
	c->attrs = CELL_BOLD | CELL_UNDERLINE;
	c = cellbuf_at(&b, 0, 2);
	c->ch = 'G';
	c->bg = 0x00ff00;		/* RGB only: the nearest, 46 */
	c->attrs = CELL_REVERSE;
	put(&b, 1, 0, 0x5bbd, 2);	/* a wide character, then its right half */
	put(&b, 1, 1, 0, 0);
	put(&b, 1, 2, 'x', 1);
	put(&b, 1, 7, 0x5b57, 2);	/* wide in the last column: cannot show */
	cellview_draw(cv, &b, 2, 3, true);

	assert_int_equal(screen_cell(2, 3, &a, &fg, &bg), L'A');
	assert_int_equal(fg, -1);
	assert_int_equal(bg, -1);
	assert_int_equal(screen_cell(2, 4, &a, &fg, &bg), L'R');
	assert_true(a & A_BOLD);
	assert_true(a & A_UNDERLINE);
	assert_int_equal(fg, 196);
	assert_int_equal(bg, -1);
	assert_int_equal(screen_cell(2, 5, &a, &fg, &bg), L'G');
	assert_true(a & A_REVERSE);
	assert_int_equal(bg, 46);
	assert_int_equal(screen_cell(3, 3, NULL, NULL, NULL), 0x5bbd);
	assert_int_equal(screen_cell(3, 5, NULL, NULL, NULL), L'x');
	assert_int_equal(screen_cell(3, 10, NULL, NULL, NULL), L'?');

	/* Only damaged rows are converted again: a change outside the
	 * damage stays unseen until a full redraw. */
	cellbuf_clean(&b);
	put(&b, 0, 0, 'B', 1);
	put(&b, 2, 0, 'C', 1);
	cellbuf_damage(&b, 2, 3);
	cellview_draw(cv, &b, 2, 3, false);
	assert_int_equal(screen_cell(4, 3, NULL, NULL, NULL), L'C');
	assert_int_equal(screen_cell(2, 3, NULL, NULL, NULL), L'A');
	/* The pad keeps the pane: something drawn over it goes on the next draw. */
	mvaddstr(4, 3, "zz");
	cellbuf_clean(&b);
	cellview_draw(cv, &b, 2, 3, false);
	assert_int_equal(screen_cell(4, 3, NULL, NULL, NULL), L'C');
	cellview_draw(cv, &b, 2, 3, true);
	assert_int_equal(screen_cell(2, 3, NULL, NULL, NULL), L'B');

	/* Clipped to the screen (20 columns): no crash, the visible part drawn. */
	cellview_draw(cv, &b, 8, 15, true);
	assert_int_equal(screen_cell(8, 15, NULL, NULL, NULL), L'B');

	/* The cursor: where the guest's is, unless hidden. */
	{
		int y, x;

		b.cursor_row = 1;
		b.cursor_col = 2;
		b.cursor_visible = true;
		assert_true(cellview_cursor(&b, 2, 3, &y, &x));
		assert_int_equal(y, 3);
		assert_int_equal(x, 5);
		b.cursor_visible = false;
		assert_false(cellview_cursor(&b, 2, 3, &y, &x));
	}
	cellbuf_free(&b);
	cellview_free(cv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_colour_table),
		cmocka_unit_test_setup_teardown(test_draw, setup_screen, teardown_screen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
