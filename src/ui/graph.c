/* The drawing helpers of the live statistics (graph.h). */
#include "ui/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/* Without libm: the few roundings needed here, for finite values. */
static double
up(double v)
{
	double t = (double)(long long)v;

	return t < v ? t + 1 : t;
}

static long long
nearest(double v)
{
	return (long long)(v >= 0 ? v + 0.5 : v - 0.5);
}

/* V has a tenth that shows: 1.5, not 2.0 or 1.98. */
static bool
fractional(double v)
{
	double d = v - (double)nearest(v);

	return d >= 0.05 || d <= -0.05;
}

int
graph_level(double v, double max)
{
	int l;

	if (v < 0 || v != v)
		return -1;
	if (max <= 0 || v <= 0)
		return 0;
	if (v >= max)
		return 7;
	l = (int)up(v / max * 8.0) - 1;
	return l < 0 ? 0 : l > 7 ? 7 : l;
}

void
graph_spark(const double *vals, size_t n, double max, int width, bool utf8, char *out,
    size_t len)
{
	static const char ascii[] = "_.-:=+*#";
	size_t used = 0, first = n > (size_t)width ? n - (size_t)width : 0;
	int pad = width > (int)n ? width - (int)n : 0;

	if (len == 0)
		return;
	out[0] = '\0';
	for (int i = 0; i < pad && used + 1 < len; i++)
		out[used++] = ' ';
	for (size_t i = first; i < n; i++) {
		int l = graph_level(vals[i], max);

		if (l < 0 || !utf8) {
			if (used + 1 >= len)
				break;
			out[used++] = l < 0 ? ' ' : ascii[l];
		} else {
			/* U+2581 + l: E2 96 81..88 */
			if (used + 3 >= len)
				break;
			out[used++] = '\xe2';
			out[used++] = '\x96';
			out[used++] = (char)(0x81 + l);
		}
	}
	out[used] = '\0';
}

/* V bytes in the largest binary unit under it: "512 KiB", "1.5 MiB". */
static void
format_bytes(double v, const char *suffix, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	/* One decimal below 10 unless whole (after rounding to it). */
	if (u > 0 && v < 9.95 && fractional(v))
		snprintf(buf, len, "%.1f %s%s", v, units[u], suffix);
	else
		snprintf(buf, len, "%.0f %s%s", v, units[u], suffix);
}

void
graph_format(double v, enum graph_unit unit, char *buf, size_t len)
{
	if (v < 0 || v != v) {
		snprintf(buf, len, "-");
		return;
	}
	switch (unit) {
	case GRAPH_PCT:
		if (v < 99.95 && fractional(v))
			snprintf(buf, len, "%.1f %%", v);
		else
			snprintf(buf, len, "%.0f %%", v);
		break;
	case GRAPH_KIB:
		format_bytes(v * 1024, "", buf, len);
		break;
	case GRAPH_BPS:
		format_bytes(v, "/s", buf, len);
		break;
	}
}

double
graph_axis_top(double max, enum graph_unit unit)
{
	static const double steps[] = { 1, 2, 5, 10, 20, 50, 100, 200, 500, 1024 };
	double bytes, scale = 1;

	if (unit == GRAPH_PCT)
		return max <= 100 ? 100 : up(max / 50) * 50;
	bytes = unit == GRAPH_KIB ? max * 1024 : max;
	if (!(bytes > 0))
		bytes = 0;
	/* A floor, so that an idle series lies flat on a sensible scale. */
	if (bytes < (unit == GRAPH_KIB ? 1048576.0 : 1024.0))
		bytes = unit == GRAPH_KIB ? 1048576.0 : 1024.0;
	while (bytes / scale >= 1024)
		scale *= 1024;
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		if (bytes <= steps[i] * scale) {
			bytes = steps[i] * scale;
			break;
		}
	}
	return unit == GRAPH_KIB ? bytes / 1024 : bytes;
}

void
graph_time_label(long long ms_ago, char *buf, size_t len)
{
	long long s = (ms_ago + 500) / 1000;

	if (s <= 0)
		snprintf(buf, len, "now");
	else if (s < 60)
		snprintf(buf, len, "-%llds", s);
	else if (s % 60 == 0)
		snprintf(buf, len, "-%lldm", s / 60);
	else
		snprintf(buf, len, "-%lldm%02llds", s / 60, s % 60);
}

void
graph_resample(const long long *when, const double *val, size_t n, long long now,
    long long window, int cols, double *out)
{
	long long start = now - window;

	for (int i = 0; i < cols; i++)
		out[i] = -1;
	if (cols <= 0 || window <= 0)
		return;
	for (size_t i = 0; i < n; i++) {
		long long at = when[i] - start;
		int c;

		if (at <= 0 || at > window || val[i] < 0 || val[i] != val[i])
			continue;
		/* (start, now] onto columns 0..cols-1; NOW itself in the last. */
		c = (int)((at * cols - 1) / window);
		if (c >= cols)
			c = cols - 1;
		if (val[i] > out[c])
			out[c] = val[i];
	}
}

int
graph_spark_cols(int width, int fixed, int spark_w, int min_name)
{
	int n = 0;

	if (width - fixed - (spark_w + 1) >= min_name)
		n = 1;
	if (width - fixed - 2 * (spark_w + 1) >= (min_name > 20 ? min_name : 20))
		n = 2;
	return n;
}

void
graph_canvas_init(struct graph_canvas *c, int w, int h, bool braille)
{
	c->w = w > 0 ? w : 0;
	c->h = h > 0 ? h : 0;
	c->dx = braille ? 2 : 1;
	c->dy = braille ? 4 : 2;
	c->bits = xcalloc((size_t)c->w * (size_t)c->h + 1, 1);
	c->who = xcalloc((size_t)c->w * (size_t)c->h + 1, 1);
	memset(c->who, -1, (size_t)c->w * (size_t)c->h);
}

void
graph_canvas_free(struct graph_canvas *c)
{
	free(c->bits);
	free(c->who);
	c->bits = NULL;
	c->who = NULL;
}

/* The dot at column X, row Y (0 the top) of the whole canvas. */
static void
dot(struct graph_canvas *c, int x, int y, int who)
{
	/* Braille dots 1-8: left column 0x01 0x02 0x04 0x40, right 0x08 0x10
	 * 0x20 0x80, top to bottom.  ASCII: 1 the upper half, 2 the lower. */
	static const uint8_t braille[2][4] = { { 0x01, 0x02, 0x04, 0x40 },
		{ 0x08, 0x10, 0x20, 0x80 } };
	int cx = x / c->dx, cy = y / c->dy, sx = x % c->dx, sy = y % c->dy;
	size_t i;

	if (x < 0 || y < 0 || cx >= c->w || cy >= c->h)
		return;
	i = (size_t)cy * (size_t)c->w + (size_t)cx;
	c->bits[i] |= c->dx == 2 ? braille[sx][sy] : (uint8_t)(1 << sy);
	c->who[i] = (signed char)who;
}

/* The dot row (0 the top) of V on a scale to TOP over DH rows. */
static int
row_of(double v, double top, int dh)
{
	/* Clamped before rounding: a value far over TOP stays in range. */
	int r = top > 0 && v < top ? (int)nearest(v / top * (dh - 1)) : top > 0 ? dh - 1 : 0;

	return dh - 1 - r;
}

void
graph_canvas_plot(struct graph_canvas *c, const double *vals, double top, int who, int max_gap)
{
	int dw = c->w * c->dx, dh = c->h * c->dy, px = -1, prow = 0;

	if (dh == 0)
		return;
	for (int x = 0; x < dw; x++) {
		double v = vals[x];
		int row;

		if (v < 0 || v != v)
			continue;
		row = row_of(v, top, dh);
		if (px < 0 || x - px - 1 > max_gap) {
			dot(c, x, row, who);
		} else {
			/* A line from (PX, PROW): each column's row by linear
			 * interpolation, joined to the last by a vertical run. */
			int last = prow;

			for (int xi = px + 1; xi <= x; xi++) {
				int ri = prow + (row - prow) * (xi - px) / (x - px);
				int lo = last < ri ? last : ri, hi = last > ri ? last : ri;

				/* The run is drawn in the later column, but for the
				 * end the earlier column has. */
				for (int y = lo; y <= hi; y++)
					if (y != last || lo == hi)
						dot(c, xi, y, who);
				last = ri;
			}
		}
		px = x;
		prow = row;
	}
}

int
graph_canvas_cell(const struct graph_canvas *c, int x, int y, char out[5])
{
	static const char ascii[] = " '.:";
	size_t i;
	uint8_t b;

	out[0] = ' ';
	out[1] = '\0';
	if (x < 0 || y < 0 || x >= c->w || y >= c->h)
		return -1;
	i = (size_t)y * (size_t)c->w + (size_t)x;
	b = c->bits[i];
	if (b == 0)
		return -1;
	if (c->dx == 1) {
		out[0] = ascii[b & 3];
	} else {
		/* U+2800 + b: E2 A0..A3 80..BF */
		out[0] = '\xe2';
		out[1] = (char)(0xa0 | (b >> 6));
		out[2] = (char)(0x80 | (b & 0x3f));
		out[3] = '\0';
	}
	return c->who[i];
}
