/* The drawing helpers of the live statistics (ui/graph): sparkline
 * levels and strings, axis labels with units, round axis tops, time
 * labels, resampling, the sparkline layout, braille and ASCII canvases. */
#include "unit.h"

#include "ui/graph.h"

static void
test_levels(void **state)
{
	(void)state;
	assert_int_equal(graph_level(-1, 100), -1);
	assert_int_equal(graph_level(0, 100), 0);
	assert_int_equal(graph_level(1, 100), 0);
	assert_int_equal(graph_level(12.5, 100), 0);
	assert_int_equal(graph_level(12.6, 100), 1);
	assert_int_equal(graph_level(50, 100), 3);
	assert_int_equal(graph_level(87.6, 100), 7);
	assert_int_equal(graph_level(100, 100), 7);
	assert_int_equal(graph_level(1e30, 100), 7);
	assert_int_equal(graph_level(5, 0), 0);
}

static void
test_spark(void **state)
{
	double v[] = { 0, 25, 50, 100, -1, 75 };
	char out[64];

	(void)state;
	/* Wider than the points: padded on the left, an unknown a blank. */
	graph_spark(v, 6, 100, 8, true, out, sizeof out);
	assert_string_equal(out, "  \xe2\x96\x81\xe2\x96\x82\xe2\x96\x84\xe2\x96\x88 "
	    "\xe2\x96\x86");	/* "  ▁▂▄█ ▆" */
	graph_spark(v, 6, 100, 8, false, out, sizeof out);
	assert_string_equal(out, "  _.:# +");
	/* Narrower: the newest points. */
	graph_spark(v, 6, 100, 3, false, out, sizeof out);
	assert_string_equal(out, "# +");
	graph_spark(v, 0, 100, 4, true, out, sizeof out);
	assert_string_equal(out, "    ");
	/* A buffer too small is cut on a whole glyph, NUL-terminated. */
	graph_spark(v, 6, 100, 6, true, out, 8);
	assert_string_equal(out, "\xe2\x96\x81\xe2\x96\x82");
}

static void
test_format(void **state)
{
	static const struct {
		double v;
		enum graph_unit u;
		const char *want;
	} cases[] = {
		{ -1, GRAPH_PCT, "-" },
		{ 0, GRAPH_PCT, "0 %" },
		{ 12.5, GRAPH_PCT, "12.5 %" },
		{ 5.5, GRAPH_PCT, "5.5 %" },
		{ 99.5, GRAPH_PCT, "99.5 %" },
		{ 100, GRAPH_PCT, "100 %" },
		{ 150.25, GRAPH_PCT, "150 %" },
		{ 199.7, GRAPH_PCT, "200 %" },
		{ 0, GRAPH_KIB, "0 B" },
		{ 512, GRAPH_KIB, "512 KiB" },
		{ 1536, GRAPH_KIB, "1.5 MiB" },
		{ 262144, GRAPH_KIB, "256 MiB" },
		{ 2097152, GRAPH_KIB, "2 GiB" },
		{ 0, GRAPH_BPS, "0 B/s" },
		{ 300, GRAPH_BPS, "300 B/s" },
		{ 1024, GRAPH_BPS, "1 KiB/s" },
		{ 50013, GRAPH_BPS, "49 KiB/s" },
		{ 1.25 * 1048576, GRAPH_BPS, "1.2 MiB/s" },
		{ 1023.99 * 1048576, GRAPH_BPS, "1024 MiB/s" },
		{ 5.0 * 1099511627776.0, GRAPH_BPS, "5 TiB/s" },
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		graph_format(cases[i].v, cases[i].u, buf, sizeof buf);
		if (strcmp(buf, cases[i].want) != 0)
			fail_msg("graph_format(%g, %d): '%s', wanted '%s'", cases[i].v,
			    (int)cases[i].u, buf, cases[i].want);
	}
}

static void
test_axis_top(void **state)
{
	(void)state;
	assert_true(graph_axis_top(0, GRAPH_PCT) == 100);
	assert_true(graph_axis_top(42, GRAPH_PCT) == 100);
	assert_true(graph_axis_top(100.03, GRAPH_PCT) == 150);
	assert_true(graph_axis_top(180, GRAPH_PCT) == 200);
	/* Bytes per second: at least 1 KiB/s; 1, 2, 5 x 10^k of a unit. */
	assert_true(graph_axis_top(0, GRAPH_BPS) == 1024);
	assert_true(graph_axis_top(-1, GRAPH_BPS) == 1024);
	assert_true(graph_axis_top(300, GRAPH_BPS) == 1024);
	assert_true(graph_axis_top(50013, GRAPH_BPS) == 50 * 1024);
	assert_true(graph_axis_top(3.4 * 1048576, GRAPH_BPS) == 5 * 1048576);
	assert_true(graph_axis_top(1000 * 1024, GRAPH_BPS) == 1048576);
	assert_true(graph_axis_top(1048576, GRAPH_BPS) == 1048576);
	/* Sizes in KiB: at least 1 MiB. */
	assert_true(graph_axis_top(0, GRAPH_KIB) == 1024);
	assert_true(graph_axis_top(2097152, GRAPH_KIB) == 2097152);
	assert_true(graph_axis_top(300 * 1024, GRAPH_KIB) == 500 * 1024);
}

static void
test_time_labels(void **state)
{
	static const struct {
		long long ms;
		const char *want;
	} cases[] = {
		{ 0, "now" }, { 400, "now" }, { 15000, "-15s" }, { 30000, "-30s" },
		{ 60000, "-1m" }, { 150000, "-2m30s" }, { 300000, "-5m" }, { 450000, "-7m30s" },
		{ 600000, "-10m" },
	};
	char buf[16];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		graph_time_label(cases[i].ms, buf, sizeof buf);
		assert_string_equal(buf, cases[i].want);
	}
}

static void
test_resample(void **state)
{
	/* A window of 10 s up to t=100000, 5 columns of 2 s each. */
	long long when[] = { 89000, 91000, 92500, 93000, 99000, 100000, 101000 };
	double val[] = { 7, 1, 4, 2, -1, 3, 9 };
	double out[5];

	(void)state;
	graph_resample(when, val, 7, 100000, 10000, 5, out);
	/* 89000 is before the window, 101000 after it; 91000 in column 0;
	 * 92500 and 93000 in column 1 (the larger); none in 2 and 3; the
	 * unknown at 99000 does not count; 100000 (now) in the last. */
	assert_true(out[0] == 1);
	assert_true(out[1] == 4);
	assert_true(out[2] == -1);
	assert_true(out[3] == -1);
	assert_true(out[4] == 3);
}

static void
test_spark_cols(void **state)
{
	(void)state;
	/* The VM list: 52 fixed columns, sparklines 12 wide. */
	assert_int_equal(graph_spark_cols(80, 52, 12, 12), 1);	/* 80x24: CPU */
	assert_int_equal(graph_spark_cols(120, 52, 12, 12), 2);	/* 200 cols' list */
	assert_int_equal(graph_spark_cols(66, 52, 12, 12), 0);	/* 110 cols' list */
	assert_int_equal(graph_spark_cols(86, 52, 12, 12), 1);	/* no name of 20 */
	assert_int_equal(graph_spark_cols(98, 52, 12, 12), 2);
}

/* Canvas C as text rows joined by '\n'. */
static void
canvas_text(const struct graph_canvas *c, char *out, size_t len)
{
	size_t used = 0;
	char cell[5];

	for (int y = 0; y < c->h; y++) {
		for (int x = 0; x < c->w; x++) {
			graph_canvas_cell(c, x, y, cell);
			used += (size_t)snprintf(out + used, len - used, "%s", cell);
		}
		used += (size_t)snprintf(out + used, len - used, "%s", y + 1 < c->h ? "\n" : "");
	}
}

static void
test_braille(void **state)
{
	struct graph_canvas c;
	double flat[4] = { 0, 0, 0, 0 }, top[4] = { 10, 10, -1, 10 };
	double ramp[4] = { 0, 1, 2, 3 };
	char cell[5], text[256];

	(void)state;
	/* 2 cells x 1 row: 4 x 4 dots.  0 on a scale to 10: the bottom row,
	 * dots 7 and 8 in each cell: U+28C0. */
	graph_canvas_init(&c, 2, 1, true);
	graph_canvas_plot(&c, flat, 10, 0, 0);
	assert_int_equal(graph_canvas_cell(&c, 0, 0, cell), 0);
	assert_string_equal(cell, "\xe2\xa3\x80");	/* ⣀ */
	/* The top, as series 1, with a gap of one column: not joined with
	 * MAX_GAP 0, so column 2 stays empty. */
	graph_canvas_plot(&c, top, 10, 1, 0);
	assert_int_equal(graph_canvas_cell(&c, 0, 0, cell), 1);
	assert_string_equal(cell, "\xe2\xa3\x89");	/* ⣉: dots 1 4 7 8 */
	assert_int_equal(graph_canvas_cell(&c, 1, 0, cell), 1);
	assert_string_equal(cell, "\xe2\xa3\x88");	/* ⣈: dots 4 7 8 */
	graph_canvas_free(&c);

	/* A ramp 0..3 on a scale to 3 over 4 dot rows: a diagonal. */
	graph_canvas_init(&c, 2, 1, true);
	graph_canvas_plot(&c, ramp, 3, 0, 0);
	canvas_text(&c, text, sizeof text);
	assert_string_equal(text, "\xe2\xa1\xa0\xe2\xa0\x8a");	/* ⡠⠊ */
	graph_canvas_free(&c);

	/* A gap joined when MAX_GAP allows: 10 at column 0, 10 at column 3. */
	graph_canvas_init(&c, 2, 1, true);
	top[1] = -1;
	graph_canvas_plot(&c, top, 10, 0, 2);
	canvas_text(&c, text, sizeof text);
	assert_string_equal(text, "\xe2\xa0\x89\xe2\xa0\x89");	/* ⠉⠉ */
	graph_canvas_free(&c);
	/* Out of range cells are blank. */
	assert_int_equal(graph_canvas_cell(&c, 5, 0, cell), -1);
	assert_string_equal(cell, " ");
}

static void
test_ascii_canvas(void **state)
{
	struct graph_canvas c;
	double v[3] = { 0, 10, 5 };
	char text[64];

	(void)state;
	/* 3 cells x 2 rows, 1 x 2 dots each: 4 dot rows.  0 -> the bottom,
	 * 10 -> the top, 5 -> row 1 from the top (1.5 rounds to 2 from the
	 * bottom); each joined to the one before by a run in its own column. */
	graph_canvas_init(&c, 3, 2, false);
	graph_canvas_plot(&c, v, 10, 0, 0);
	canvas_text(&c, text, sizeof text);
	assert_string_equal(text, " :.\n.' ");
	graph_canvas_free(&c);
	/* Values above the top stay on the top row. */
	v[0] = v[1] = v[2] = 1e12;
	graph_canvas_init(&c, 3, 1, false);
	graph_canvas_plot(&c, v, 10, 0, 0);
	canvas_text(&c, text, sizeof text);
	assert_string_equal(text, "'''");
	graph_canvas_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_spark),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_axis_top),
		cmocka_unit_test(test_time_labels),
		cmocka_unit_test(test_resample),
		cmocka_unit_test(test_spark_cols),
		cmocka_unit_test(test_braille),
		cmocka_unit_test(test_ascii_canvas),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
