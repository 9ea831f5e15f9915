/* graph: the pure drawing helpers of the live statistics (the VM list's
 * sparklines, the stats page's graphs): levels, braille and ASCII
 * canvases, axis labels with units.  No curses: strings and dot bits,
 * drawn by the views. */
#ifndef VMTTY_GRAPH_H
#define VMTTY_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum graph_unit {
	GRAPH_PCT,	/* percent (of one host CPU) */
	GRAPH_KIB,	/* a size in KiB */
	GRAPH_BPS,	/* bytes per second */
};

/* The sparkline level of V on a scale from 0 to MAX: 0..7 (0 also for
 * 0 and anything below MAX/8), -1 when V is unknown (< 0). */
int graph_level(double v, double max);

/* The last WIDTH of VALS[0..N) (-1: unknown, a blank) as a sparkline
 * scaled to MAX, right-aligned, padded with spaces on the left: the
 * blocks U+2581..U+2588 when UTF8, else "_.-:=+*#".  Into OUT (LEN
 * bytes; 3 * WIDTH + 1 hold any). */
void graph_spark(const double *vals, size_t n, double max, int width, bool utf8, char *out,
    size_t len);

/* V in UNIT as "50 %", "12.5 %" (a tenth below 100 %), "512 KiB",
 * "1.5 GiB" (a tenth below 10 of a unit), "300 B/s", "2 MiB/s"; "-"
 * when V < 0. */
void graph_format(double v, enum graph_unit unit, char *buf, size_t len);

/* A round top for an axis of values up to MAX in UNIT: 100 % at least
 * (then by 50 %), else 1, 2 or 5 times a power of ten of the largest
 * binary unit under it (1 KiB/s, 1 MiB at least). */
double graph_axis_top(double max, enum graph_unit unit);

/* "now", "-30s", "-1m", "-2m30s": MS_AGO milliseconds before now. */
void graph_time_label(long long ms_ago, char *buf, size_t len);

/* Points (WHEN[i] ms, VAL[i]) into COLS columns covering the WINDOW ms up
 * to NOW, the oldest column first: the largest known value falling in
 * each, -1 in a column with none. */
void graph_resample(const long long *when, const double *val, size_t n, long long now,
    long long window, int cols, double *out);

/* How many sparkline columns of SPARK_W (plus a gap) a list WIDTH wide
 * can add to its FIXED columns and still leave a name MIN_NAME wide: 0,
 * 1 (CPU) or 2 (CPU and I/O; the second needs a name of 20). */
int graph_spark_cols(int width, int fixed, int spark_w, int min_name);

/* A canvas of W x H cells, each DX x DY dots: 2 x 4 (braille, U+2800
 * block) or 1 x 2 (ASCII: ' ' '\'' '.' ':').  Each cell remembers the
 * series drawn in it last. */
struct graph_canvas {
	int w, h, dx, dy;
	uint8_t *bits;		/* W * H */
	signed char *who;	/* W * H: the series, -1 none */
};

void graph_canvas_init(struct graph_canvas *c, int w, int h, bool braille);
void graph_canvas_free(struct graph_canvas *c);
/* Series WHO: VALS[0..W * DX) (one per dot column, -1 none) on a scale
 * from 0 (the bottom dot row) to TOP (the top one), as a line: a dot per
 * value, joined to the one before when at most MAX_GAP columns without a
 * value lie between them (a wider gap stays open). */
void graph_canvas_plot(struct graph_canvas *c, const double *vals, double top, int who,
    int max_gap);
/* Cell (X, Y)'s glyph into OUT (NUL-terminated; up to 3 bytes + NUL):
 * its series, -1 for an empty cell (OUT a space). */
int graph_canvas_cell(const struct graph_canvas *c, int x, int y, char out[5]);

#endif
