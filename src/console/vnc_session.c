/* vnc_session: the VNC console inside the vmtty-vnc.so plugin.
 *
 * One thread per session makes every libvncclient call (see vnc.h for
 * why): the RFB handshake, then a poll on the server's socket and on a
 * wake pipe for the owner's requests (keys, pointer, screenshots, a new
 * pane size).  After poll says the socket is readable it handles messages
 * until libvncclient's read-ahead buffer is empty, since poll cannot see
 * bytes that buffer already took.  Each finished framebuffer update is
 * rendered at once, on this thread, for the rows of the pane it touched;
 * the owner copies those rows out (vnc_cells) and learns about them from
 * a byte on the notify pipe.
 *
 * A server that stops in the middle of a message would keep this thread
 * in read() for ever: vnc_poll notices (the owner calls it at least once a
 * second) and shuts the socket down, which ends the read. */
#include "console/vnc_priv.h"

#include <chafa.h>
#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <poll.h>
#include <pthread.h>
#include <rfb/rfbclient.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "util/log.h"
#include "util/plugin.h"
#include "util/thread.h"
#include "util/xalloc.h"

/* vmtty-vnc.so is checked for this when it is loaded. */
VMTTY_PLUGIN_ABI_DEFINE;

#define VNC_STALL_MS 5000	/* mid-message (or handshake) without progress */
#define VNC_MAX_SIDE 8192	/* a bigger screen is a bogus size */
#define VNC_ENCODINGS "hextile zrle raw"	/* lossless: screenshots are exact */
#define VNC_KITTY_CHUNK 4096	/* base64 bytes per kitty escape, the protocol's most */

enum cmd_kind { CMD_KEY, CMD_POINTER, CMD_SHOT };

struct cmd {
	enum cmd_kind kind;
	uint32_t keysym;
	bool down;
	int x, y, buttons;
	char *path;
};

/* Which pixels show in which cells. */
struct geom {
	int sx, sy, sw, sh;	/* the source rectangle, in pixels */
	int cx, cy, cw, ch;	/* the canvas in the pane, in cells */
};

struct vnc {
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int notify[2];		/* session -> owner */
	int wake[2];		/* owner -> session */
	int sock_ctl;		/* a dup of the socket, to shut it down */
	char *name;

	/* Under mu. */
	struct vnc_info info;
	bool stop, stalled;
	long long busy_since;	/* log_now_ms() when a read began, 0 idle */
	char *password;
	struct cmd *cmds;
	size_t ncmds;
	struct vnc_render render;
	bool render_changed;
	struct cellbuf cells;	/* the pane, rendered */
	int dmg_top, dmg_bottom;
	struct geom g;
	char *img;		/* images: the newest, not taken yet */
	size_t img_len;
	struct geom img_g;

	/* The session thread's own. */
	rfbClient *cl;
	uint8_t *fb;
	int fb_w, fb_h;
	int dirty_y0, dirty_y1;	/* pixel rows changed and not rendered */
	bool bogus;
	char bogus_why[160];
	struct vnc_render r;	/* the render settings in use */
	ChafaCanvasConfig *ccfg;
	ChafaTermInfo *ti;	/* images: the sequences that frame them */
};

static int session_tag;
static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

/* libvncclient logs to stderr, which belongs to curses in the TUI. */
static void
quiet_log(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_debug("vnc: libvncclient: %s", buf);
}

static void
quiet_init(void)
{
	rfbClientLog = quiet_log;
	rfbClientErr = quiet_log;
}

static struct vnc *
session_of(rfbClient *cl)
{
	return rfbClientGetClientData(cl, &session_tag);
}

/* Tell the owner something changed; a full pipe already says so. */
static void
notify(struct vnc *v)
{
	char c = 1;

	if (write(v->notify[1], &c, 1) < 0 && errno != EAGAIN)
		log_debug("vnc: cannot notify: %s", strerror(errno));
}

static long long
thread_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static rfbBool
fb_alloc(rfbClient *cl)
{
	struct vnc *v = session_of(cl);
	size_t size;

	if (cl->width <= 0 || cl->height <= 0 || cl->width > VNC_MAX_SIDE ||
	    cl->height > VNC_MAX_SIDE) {
		v->bogus = true;
		snprintf(v->bogus_why, sizeof v->bogus_why, "a screen of %dx%d pixels, "
		    "which is not a real size", cl->width, cl->height);
		return FALSE;
	}
	size = (size_t)cl->width * (size_t)cl->height * 4;
	free(v->fb);
	v->fb = xcalloc(1, size);
	/* Opaque black: chafa reads the fourth byte as alpha. */
	for (size_t i = 3; i < size; i += 4)
		v->fb[i] = 0xff;
	cl->frameBuffer = v->fb;
	v->fb_w = cl->width;
	v->fb_h = cl->height;
	v->dirty_y0 = 0;
	v->dirty_y1 = cl->height;
	pthread_mutex_lock(&v->mu);
	v->info.width = cl->width;
	v->info.height = cl->height;
	v->render_changed = true;
	pthread_mutex_unlock(&v->mu);
	log_debug("vnc: %s: screen %dx%d", v->name, cl->width, cl->height);
	return TRUE;
}

/* A rectangle arrived: make it opaque (the server leaves the fourth byte
 * 0) and remember its rows. */
static void
fb_update(rfbClient *cl, int x, int y, int w, int h)
{
	struct vnc *v = session_of(cl);
	bool nonblack = false;

	if (x < 0 || y < 0 || w <= 0 || h <= 0 || x + w > v->fb_w || y + h > v->fb_h)
		return;
	for (int r = y; r < y + h; r++) {
		uint32_t *p = (uint32_t *)(void *)(v->fb + ((size_t)r * (size_t)v->fb_w + (size_t)x) * 4);

		for (int i = 0; i < w; i++) {
			/* Little-endian R,G,B,X: the X byte is the top one. */
			nonblack |= (p[i] & 0x00ffffffu) != 0;
			p[i] |= 0xff000000u;
		}
	}
	if (v->dirty_y1 <= v->dirty_y0) {
		v->dirty_y0 = y;
		v->dirty_y1 = y + h;
	} else {
		v->dirty_y0 = y < v->dirty_y0 ? y : v->dirty_y0;
		v->dirty_y1 = y + h > v->dirty_y1 ? y + h : v->dirty_y1;
	}
	if (nonblack) {
		pthread_mutex_lock(&v->mu);
		v->info.nonblack = true;
		pthread_mutex_unlock(&v->mu);
	}
}

static char *
get_password(rfbClient *cl)
{
	struct vnc *v = session_of(cl);
	char *pw;

	pthread_mutex_lock(&v->mu);
	v->info.state = VNC_PASSWORD;
	v->busy_since = 0;
	notify(v);
	while (v->password == NULL && !v->stop)
		pthread_cond_wait(&v->cond, &v->mu);
	pw = v->password != NULL ? v->password : strdup("");
	v->password = NULL;
	v->info.state = VNC_CONNECTING;
	v->busy_since = log_now_ms();
	pthread_mutex_unlock(&v->mu);
	return pw;
}

/* Images: the pane in pixels (within the terminal's limit), the screen
 * scaled into it keeping its shape or 1:1, in whole cells. */
static void
geom_pixels(const struct vnc_render *r, int w, int h, struct geom *g)
{
	long long pw = (long long)r->cols * r->cell_w, ph = (long long)r->rows * r->cell_h;

	if (r->max_w > 0 && pw > r->max_w)
		pw = r->max_w;
	if (r->max_h > 0 && ph > r->max_h)
		ph = r->max_h;
	if (r->fit) {
		long long iw = pw, ih = ph;

		if (pw * h <= ph * w)
			ih = pw * h / w;
		else
			iw = ph * w / h;
		g->sw = w;
		g->sh = h;
		g->cw = (int)(iw / r->cell_w);
		g->ch = (int)(ih / r->cell_h);
	} else {
		g->cw = (int)(pw / r->cell_w);
		g->ch = (int)(ph / r->cell_h);
		if ((long long)g->cw * r->cell_w > w)
			g->cw = w / r->cell_w;
		if ((long long)g->ch * r->cell_h > h)
			g->ch = h / r->cell_h;
		g->cw = g->cw < 1 ? 1 : g->cw;
		g->ch = g->ch < 1 ? 1 : g->ch;
		g->sw = g->cw * r->cell_w < w ? g->cw * r->cell_w : w;
		g->sh = g->ch * r->cell_h < h ? g->ch * r->cell_h : h;
		g->sx = r->pan_x < 0 ? 0 : r->pan_x > w - g->sw ? w - g->sw : r->pan_x;
		g->sy = r->pan_y < 0 ? 0 : r->pan_y > h - g->sh ? h - g->sh : r->pan_y;
	}
	g->cw = g->cw < 1 ? 1 : g->cw > r->cols ? r->cols : g->cw;
	g->ch = g->ch < 1 ? 1 : g->ch > r->rows ? r->rows : g->ch;
}

/* Where the screen goes in the pane: scaled to fit keeping its shape
 * (a cell is about twice as high as wide), or 1:1 (a cell shows one
 * pixel across and two down) from the pan offset. */
static void
geom_compute(const struct vnc_render *r, int w, int h, struct geom *g)
{
	memset(g, 0, sizeof *g);
	if (w <= 0 || h <= 0 || r->rows <= 0 || r->cols <= 0)
		return;
	if (r->pixels != TP_SYMBOLS && r->cell_w > 0 && r->cell_h > 0) {
		geom_pixels(r, w, h, g);
	} else if (r->fit) {
		g->sw = w;
		g->sh = h;
		g->cw = r->cols;
		g->ch = (int)((long long)r->cols * h / (2LL * w));
		if (g->ch > r->rows || g->ch < 1) {
			g->ch = r->rows;
			g->cw = (int)(2LL * w * r->rows / h);
			if (g->cw > r->cols)
				g->cw = r->cols;
			if (g->cw < 1)
				g->cw = 1;
		}
		if (g->ch < 1)
			g->ch = 1;
	} else {
		g->sw = w < r->cols ? w : r->cols;
		g->sh = h < 2 * r->rows ? h : 2 * r->rows;
		g->sh -= g->sh % 2;
		if (g->sh < 2)
			g->sh = h;
		g->sx = r->pan_x < 0 ? 0 : r->pan_x > w - g->sw ? w - g->sw : r->pan_x;
		g->sy = r->pan_y < 0 ? 0 : r->pan_y > h - g->sh ? h - g->sh : r->pan_y;
		g->cw = g->sw;
		g->ch = g->sh / 2 > 0 ? g->sh / 2 : 1;
	}
	g->cx = (r->cols - g->cw) / 2;
	g->cy = (r->rows - g->ch) / 2;
}

/* The sequences around an image, as chafa's own terminal database has
 * them for sixel and iTerm2 terminals (chafa 1.12 only detects a terminal
 * by its environment; vmtty asked the terminal itself).  Kitty images are
 * vmtty's own (kitty_image). */
static ChafaTermInfo *
term_info(enum tp_mode m)
{
	static const struct {
		enum tp_mode m;
		ChafaTermSeq seq;
		const char *s;
	} seqs[] = {
		{ TP_SIXEL, CHAFA_TERM_SEQ_BEGIN_SIXELS, "\033P%1;%2;%3q" },
		{ TP_SIXEL, CHAFA_TERM_SEQ_END_SIXELS, "\033\\" },
		{ TP_ITERM2, CHAFA_TERM_SEQ_BEGIN_ITERM2_IMAGE,
		  "\033]1337;File=inline=1;width=%1;height=%2;preserveAspectRatio=0:" },
		{ TP_ITERM2, CHAFA_TERM_SEQ_END_ITERM2_IMAGE, "\a" },
	};
	ChafaTermInfo *ti = chafa_term_info_new();

	for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
		GError *e = NULL;

		if (seqs[i].m != m)
			continue;
		if (chafa_term_info_set_seq(ti, seqs[i].seq, seqs[i].s, &e) < 0 || e != NULL) {
			log_debug("vnc: chafa refused a sequence: %s", e != NULL ? e->message : "?");
			g_clear_error(&e);
		}
	}
	return ti;
}

static ChafaPixelMode
pixel_mode(enum tp_mode m)
{
	return m == TP_SIXEL ? CHAFA_PIXEL_MODE_SIXELS : m == TP_KITTY ? CHAFA_PIXEL_MODE_KITTY :
	    m == TP_ITERM2 ? CHAFA_PIXEL_MODE_ITERM2 : CHAFA_PIXEL_MODE_SYMBOLS;
}

static void
ccfg_make(struct vnc *v)
{
	ChafaSymbolMap *map = chafa_symbol_map_new();

	if (v->ccfg != NULL)
		chafa_canvas_config_unref(v->ccfg);
	if (v->ti != NULL)
		chafa_term_info_unref(v->ti);
	v->ti = NULL;
	v->ccfg = chafa_canvas_config_new();
	if (v->r.pixels != TP_SYMBOLS) {
		v->ti = term_info(v->r.pixels);
		chafa_canvas_config_set_pixel_mode(v->ccfg, pixel_mode(v->r.pixels));
		chafa_canvas_config_set_cell_geometry(v->ccfg, v->r.cell_w, v->r.cell_h);
		chafa_canvas_config_set_canvas_mode(v->ccfg, CHAFA_CANVAS_MODE_TRUECOLOR);
		chafa_symbol_map_unref(map);
		return;
	}
	chafa_symbol_map_add_by_tags(map, v->r.utf8 ?
	    CHAFA_SYMBOL_TAG_BLOCK | CHAFA_SYMBOL_TAG_SPACE : CHAFA_SYMBOL_TAG_ASCII);
	chafa_canvas_config_set_symbol_map(v->ccfg, map);
	chafa_symbol_map_unref(map);
	chafa_canvas_config_set_canvas_mode(v->ccfg, v->r.colours == 16 ?
	    CHAFA_CANVAS_MODE_INDEXED_16 : v->r.colours == 256 ? CHAFA_CANVAS_MODE_INDEXED_240 :
	    CHAFA_CANVAS_MODE_TRUECOLOR);
	chafa_canvas_config_set_work_factor(v->ccfg, 0.2f);
}

/* Render canvas rows [A, B) of geometry G into v->cells (mu held for the
 * copy only). */
static void
render_band(struct vnc *v, const struct geom *g, int a, int b)
{
	int py0 = g->sy + (int)((long long)a * g->sh / g->ch);
	int py1 = g->sy + (int)((long long)b * g->sh / g->ch);
	bool indexed = v->r.colours == 16 || v->r.colours == 256;
	ChafaCanvas *canvas;

	if (py1 <= py0)
		py1 = py0 + 1;
	if (py1 > v->fb_h)
		py1 = v->fb_h;
	chafa_canvas_config_set_geometry(v->ccfg, g->cw, b - a);
	canvas = chafa_canvas_new(v->ccfg);
	chafa_canvas_draw_all_pixels(canvas, CHAFA_PIXEL_RGBA8_UNASSOCIATED,
	    v->fb + ((size_t)py0 * (size_t)v->fb_w + (size_t)g->sx) * 4, g->sw, py1 - py0,
	    v->fb_w * 4);
	pthread_mutex_lock(&v->mu);
	for (int y = 0; y < b - a; y++) {
		for (int x = 0; x < g->cw; x++) {
			struct cell *c = cellbuf_at(&v->cells, g->cy + a + y, g->cx + x);
			int fg, bg;

			if (c == NULL)
				continue;
			c->ch = chafa_canvas_get_char_at(canvas, x, y);
			c->width = 1;
			c->attrs = 0;
			chafa_canvas_get_colors_at(canvas, x, y, &fg, &bg);
			c->fg = fg < 0 ? 0 : (uint32_t)fg & 0xffffff;
			c->bg = bg < 0 ? 0 : (uint32_t)bg & 0xffffff;
			c->fg_index = c->bg_index = -1;
			if (indexed) {
				chafa_canvas_get_raw_colors_at(canvas, x, y, &fg, &bg);
				c->fg_index = fg >= 0 && fg < 256 ? (int16_t)fg : -1;
				c->bg_index = bg >= 0 && bg < 256 ? (int16_t)bg : -1;
			}
		}
	}
	if (v->dmg_bottom <= v->dmg_top) {
		v->dmg_top = g->cy + a;
		v->dmg_bottom = g->cy + b;
	} else {
		v->dmg_top = g->cy + a < v->dmg_top ? g->cy + a : v->dmg_top;
		v->dmg_bottom = g->cy + b > v->dmg_bottom ? g->cy + b : v->dmg_bottom;
	}
	pthread_mutex_unlock(&v->mu);
	chafa_canvas_unref(canvas);
}

/* Kitty: one image id, replaced frame by frame; no replies (q=2), which
 * would reach curses as keys; the cursor stays (C=1).  The source
 * rectangle of G as RGB (f=24), no larger than the
 * pane's pixels (box-averaged down when the screen is bigger; the
 * terminal scales it to c x r cells), zlib-compressed (o=z) and base64 in
 * escapes of at most 4096 bytes of payload.  chafa 1.12 sends raw RGBA, 4
 * bytes a pixel before base64: a text screen of 1280x704 was 4.9 MB a
 * frame; compressed it is a few tens of KiB.  NULL when zlib fails. */
static GString *
kitty_image(struct vnc *v, const struct geom *g)
{
	long long tw = (long long)g->cw * v->r.cell_w, th = (long long)g->ch * v->r.cell_h;
	int ow = g->sw < tw ? g->sw : (int)tw, oh = g->sh < th ? g->sh : (int)th;
	size_t rn = (size_t)ow * (size_t)oh * 3;
	uint8_t *rgb = xmalloc(rn), *z;
	uLongf zn;
	gchar *b64;
	GString *s;
	size_t bn;

	for (int y = 0; y < oh; y++) {
		int y0 = g->sy + (int)((long long)y * g->sh / oh);
		int y1 = g->sy + (int)((long long)(y + 1) * g->sh / oh);

		for (int x = 0; x < ow; x++) {
			int x0 = g->sx + (int)((long long)x * g->sw / ow);
			int x1 = g->sx + (int)((long long)(x + 1) * g->sw / ow);
			unsigned sum[3] = { 0, 0, 0 }, cnt = 0;
			uint8_t *o = rgb + ((size_t)y * (size_t)ow + (size_t)x) * 3;

			for (int yy = y0; yy < (y1 > y0 ? y1 : y0 + 1); yy++) {
				const uint8_t *p = v->fb + ((size_t)yy * (size_t)v->fb_w + (size_t)x0) * 4;

				for (int xx = x0; xx < (x1 > x0 ? x1 : x0 + 1); xx++, p += 4, cnt++) {
					sum[0] += p[0];
					sum[1] += p[1];
					sum[2] += p[2];
				}
			}
			for (int i = 0; i < 3; i++)
				o[i] = (uint8_t)((sum[i] + cnt / 2) / cnt);
		}
	}
	zn = compressBound((uLong)rn);
	z = xmalloc(zn);
	if (compress2(z, &zn, rgb, (uLong)rn, 1) != Z_OK) {
		log_debug("vnc: zlib could not compress a %dx%d image", ow, oh);
		free(rgb);
		free(z);
		return NULL;
	}
	free(rgb);
	b64 = g_base64_encode(z, zn);
	free(z);
	bn = strlen(b64);
	s = g_string_sized_new(bn + bn / VNC_KITTY_CHUNK * 16 + 160);
	for (size_t off = 0; off == 0 || off < bn; off += VNC_KITTY_CHUNK) {
		size_t len = bn - off < VNC_KITTY_CHUNK ? bn - off : VNC_KITTY_CHUNK;
		int more = off + len < bn;

		if (off == 0)
			g_string_append_printf(s, "\033_Ga=T,i=%d,q=2,C=1,f=24,o=z,s=%d,v=%d,c=%d,"
			    "r=%d,m=%d;", VNC_KITTY_IMAGE_ID, ow, oh, g->cw, g->ch, more);
		else
			g_string_append_printf(s, "\033_Gm=%d;", more);
		g_string_append_len(s, b64 + off, (gssize)len);
		g_string_append(s, "\033\\");
	}
	g_free(b64);
	return s;
}

/* Images: the whole source rectangle of G as one image for the owner,
 * replacing one it has not taken. */
static void
render_image(struct vnc *v, const struct geom *g)
{
	ChafaCanvas *canvas = NULL;
	GString *s;

	if (v->r.pixels == TP_KITTY) {
		if ((s = kitty_image(v, g)) == NULL)
			return;
	} else {
		chafa_canvas_config_set_geometry(v->ccfg, g->cw, g->ch);
		canvas = chafa_canvas_new(v->ccfg);
		chafa_canvas_draw_all_pixels(canvas, CHAFA_PIXEL_RGBA8_UNASSOCIATED,
		    v->fb + ((size_t)g->sy * (size_t)v->fb_w + (size_t)g->sx) * 4, g->sw, g->sh,
		    v->fb_w * 4);
		s = chafa_canvas_print(canvas, v->ti);
	}
	pthread_mutex_lock(&v->mu);
	free(v->img);
	v->img = xmalloc(s->len > 0 ? s->len : 1);
	memcpy(v->img, s->str, s->len);
	v->img_len = s->len;
	v->img_g = *g;
	pthread_mutex_unlock(&v->mu);
	g_string_free(s, TRUE);
	if (canvas != NULL)
		chafa_canvas_unref(canvas);
}

/* Render what changed: everything after new settings, else the rows the
 * last updates touched. */
static void
render(struct vnc *v)
{
	struct geom g;
	long long t0 = thread_cpu_us();
	bool all;
	int a, b;

	pthread_mutex_lock(&v->mu);
	all = v->render_changed;
	if (all) {
		v->r = v->render;
		v->render_changed = false;
		if (v->cells.rows != v->r.rows || v->cells.cols != v->r.cols)
			cellbuf_resize(&v->cells, v->r.rows, v->r.cols);
		cellbuf_clear(&v->cells);
		geom_compute(&v->r, v->fb_w, v->fb_h, &v->g);
		v->dmg_top = 0;
		v->dmg_bottom = v->cells.rows;
	}
	g = v->g;
	pthread_mutex_unlock(&v->mu);
	if (all) {
		ccfg_make(v);
		log_debug("vnc: %s: %s in the pane at %d,%d (%dx%d cells) from %d,%d (%dx%d "
		    "pixels)", v->name, tp_mode_name(v->r.pixels), g.cy, g.cx, g.cw, g.ch, g.sx,
		    g.sy, g.sw, g.sh);
	}
	if (v->fb == NULL || g.ch <= 0 || g.sh <= 0 || v->r.rows <= 0)
		return;
	if (v->r.pixels != TP_SYMBOLS) {
		bool waiting;

		pthread_mutex_lock(&v->mu);
		waiting = v->img != NULL;
		pthread_mutex_unlock(&v->mu);
		/* The owner has not written the last one yet: the changes
		 * wait (vs_image wakes this thread when it takes it). */
		if (!all && (waiting || v->dirty_y1 <= v->dirty_y0))
			return;
		v->dirty_y0 = v->dirty_y1 = 0;
		render_image(v, &g);
		goto done;
	}
	if (all) {
		a = 0;
		b = g.ch;
	} else {
		if (v->dirty_y1 <= v->dirty_y0)
			return;
		a = (int)((long long)(v->dirty_y0 - g.sy) * g.ch / g.sh);
		b = (int)(((long long)(v->dirty_y1 - g.sy) * g.ch + g.sh - 1) / g.sh);
		a = a < 0 ? 0 : a;
		b = b > g.ch ? g.ch : b;
	}
	v->dirty_y0 = v->dirty_y1 = 0;
	if (a >= b)
		return;
	render_band(v, &g, a, b);
done:
	pthread_mutex_lock(&v->mu);
	v->info.renders++;
	v->info.render_ms = (double)(thread_cpu_us() - t0) / 1000.0;
	pthread_mutex_unlock(&v->mu);
	notify(v);
}

static void
fb_finished(rfbClient *cl)
{
	struct vnc *v = session_of(cl);

	pthread_mutex_lock(&v->mu);
	v->info.updates++;
	pthread_mutex_unlock(&v->mu);
	render(v);
}

/* The framebuffer as an RGB PNG at PATH.  0, or -1 with WHY. */
static int
write_png(struct vnc *v, const char *path, char *why, size_t len)
{
	png_structp png = NULL;
	png_infop info = NULL;
	uint8_t *row = NULL;
	FILE *f;

	if (v->fb == NULL)
		return snprintf(why, len, "no screen has arrived yet"), -1;
	if ((f = fopen(path, "wb")) == NULL)
		return snprintf(why, len, "cannot create '%s': %s", path, strerror(errno)), -1;
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	if (png != NULL)
		info = png_create_info_struct(png);
	if (png == NULL || info == NULL || setjmp(png_jmpbuf(png))) {
		snprintf(why, len, "cannot write '%s': libpng failed", path);
		png_destroy_write_struct(&png, &info);
		free(row);
		fclose(f);
		unlink(path);
		return -1;
	}
	png_init_io(png, f);
	png_set_compression_level(png, 3);
	png_set_IHDR(png, info, (png_uint_32)v->fb_w, (png_uint_32)v->fb_h, 8, PNG_COLOR_TYPE_RGB,
	    PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	row = xmalloc((size_t)v->fb_w * 3);
	for (int y = 0; y < v->fb_h; y++) {
		const uint8_t *p = v->fb + (size_t)y * (size_t)v->fb_w * 4;

		for (int x = 0; x < v->fb_w; x++)
			memcpy(row + x * 3, p + x * 4, 3);
		png_write_row(png, row);
	}
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	free(row);
	if (fclose(f) != 0)
		return snprintf(why, len, "cannot write '%s': %s", path, strerror(errno)), -1;
	return 0;
}

static void
run_cmd(struct vnc *v, struct cmd *c)
{
	char why[400];

	switch (c->kind) {
	case CMD_KEY:
		SendKeyEvent(v->cl, c->keysym, c->down ? TRUE : FALSE);
		break;
	case CMD_POINTER:
		SendPointerEvent(v->cl, c->x, c->y, c->buttons);
		break;
	case CMD_SHOT: {
		int rc = write_png(v, c->path, why, sizeof why);

		pthread_mutex_lock(&v->mu);
		v->info.note_error = rc != 0;
		if (rc == 0)
			snprintf(v->info.note, sizeof v->info.note, "Saved the screen of %s "
			    "(%dx%d) to '%s'.", v->name, v->fb_w, v->fb_h, c->path);
		else
			snprintf(v->info.note, sizeof v->info.note, "Cannot save the screen of "
			    "%s: %s.", v->name, why);
		pthread_mutex_unlock(&v->mu);
		notify(v);
		break;
	}
	}
	free(c->path);
}

/* The owner's requests, in order. */
static void
run_cmds(struct vnc *v)
{
	struct cmd *cmds;
	size_t n;
	char buf[64];

	while (read(v->wake[0], buf, sizeof buf) > 0)
		;
	pthread_mutex_lock(&v->mu);
	cmds = v->cmds;
	n = v->ncmds;
	v->cmds = NULL;
	v->ncmds = 0;
	pthread_mutex_unlock(&v->mu);
	for (size_t i = 0; i < n; i++)
		run_cmd(v, &cmds[i]);
	free(cmds);
}

static void
busy(struct vnc *v, bool on)
{
	pthread_mutex_lock(&v->mu);
	v->busy_since = on ? log_now_ms() : 0;
	pthread_mutex_unlock(&v->mu);
}

/* Messages until libvncclient's buffer is empty.  0, or -1 when the
 * connection is over. */
static int
handle_messages(struct vnc *v)
{
	busy(v, true);
	do {
		if (!HandleRFBServerMessage(v->cl)) {
			busy(v, false);
			return -1;
		}
	} while (v->cl->buffered > 0);
	busy(v, false);
	return 0;
}

static void
session_loop(struct vnc *v)
{
	struct pollfd pfd[2];
	bool stop, changed;

	for (;;) {
		pfd[0].fd = v->cl->sock;
		pfd[0].events = POLLIN;
		pfd[1].fd = v->wake[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			return;
		pthread_mutex_lock(&v->mu);
		stop = v->stop;
		changed = v->render_changed;
		pthread_mutex_unlock(&v->mu);
		if (stop)
			return;
		if (pfd[1].revents & POLLIN)
			run_cmds(v);
		if (changed || v->dirty_y1 > v->dirty_y0)
			render(v);
		if ((pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) && handle_messages(v) != 0)
			return;
	}
}

static void *
session_main(void *arg)
{
	struct vnc *v = arg;
	rfbClient *cl = rfbGetClient(8, 3, 4);
	char why[512];
	bool ok;

	rfbClientSetClientData(cl, &session_tag, v);
	cl->sock = v->sock_ctl >= 0 ? dup(v->sock_ctl) : -1;
	cl->listenSpecified = TRUE;
	cl->MallocFrameBuffer = fb_alloc;
	cl->GotFrameBufferUpdate = fb_update;
	cl->FinishedFrameBufferUpdate = fb_finished;
	cl->GetPassword = get_password;
	cl->canHandleNewFBSize = TRUE;
	cl->appData.encodingsString = VNC_ENCODINGS;
	cl->appData.useRemoteCursor = FALSE;
	busy(v, true);
	ok = rfbInitClient(cl, NULL, NULL);	/* frees CL when it fails */
	busy(v, false);
	if (ok) {
		v->cl = cl;
		pthread_mutex_lock(&v->mu);
		v->info.state = VNC_UP;
		snprintf(v->info.name, sizeof v->info.name, "%s",
		    cl->desktopName != NULL ? cl->desktopName : "");
		pthread_mutex_unlock(&v->mu);
		notify(v);
		log_debug("vnc: %s: up, desktop '%s'", v->name, v->info.name);
		session_loop(v);
		rfbClientCleanup(cl);
		v->cl = NULL;
	}
	pthread_mutex_lock(&v->mu);
	if (v->bogus)
		snprintf(why, sizeof why, "the VNC server of %s announced %s", v->name, v->bogus_why);
	else if (v->stalled)
		snprintf(why, sizeof why, "the VNC server of %s stopped answering in the middle "
		    "of %s for %d s; disconnected", v->name, ok ? "a message" : "the handshake",
		    VNC_STALL_MS / 1000);
	else if (v->stop)
		snprintf(why, sizeof why, "the VNC console of %s was closed", v->name);
	else if (ok)
		snprintf(why, sizeof why, "the VNC server of %s closed the connection", v->name);
	else
		snprintf(why, sizeof why, "the VNC server of %s ended the handshake (not an RFB "
		    "server, or it refused us)", v->name);
	v->info.state = VNC_CLOSED;
	snprintf(v->info.error, sizeof v->info.error, "%s", why);
	pthread_mutex_unlock(&v->mu);
	log_debug("vnc: %s: closed: %s", v->name, why);
	notify(v);
	return NULL;
}

static int
pipe_nb(int p[2])
{
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
		return -1;
	return 0;
}

static struct vnc *
vs_new(int fd, const char *name)
{
	struct vnc *v = xcalloc(1, sizeof *v);
	int flags;

	pthread_once(&quiet_once, quiet_init);
	pthread_mutex_init(&v->mu, NULL);
	pthread_cond_init(&v->cond, NULL);
	v->name = xstrdup(name);
	v->sock_ctl = fd;
	v->notify[0] = v->notify[1] = v->wake[0] = v->wake[1] = -1;
	v->info.state = VNC_CONNECTING;
	cellbuf_init(&v->cells, 1, 1);
	/* The session thread blocks in reads; vnc_poll unsticks it. */
	if ((flags = fcntl(fd, F_GETFL)) >= 0)
		fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	if (pipe_nb(v->notify) != 0 || pipe_nb(v->wake) != 0 ||
	    (errno = thread_start(&v->thread, NULL, session_main, v)) != 0) {
		v->info.state = VNC_CLOSED;
		snprintf(v->info.error, sizeof v->info.error, "cannot start the VNC console "
		    "of %s: %s", name, strerror(errno));
		if (v->notify[1] >= 0)
			notify(v);
		return v;
	}
	v->started = true;
	return v;
}

static void
vs_free(struct vnc *v)
{
	pthread_mutex_lock(&v->mu);
	v->stop = true;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->mu);
	if (v->sock_ctl >= 0)
		shutdown(v->sock_ctl, SHUT_RDWR);
	if (v->wake[1] >= 0 && write(v->wake[1], "x", 1) < 0)
		log_debug("vnc: cannot wake the session: %s", strerror(errno));
	if (v->started)
		pthread_join(v->thread, NULL);
	for (size_t i = 0; i < v->ncmds; i++)
		free(v->cmds[i].path);
	free(v->cmds);
	free(v->password);
	if (v->ccfg != NULL)
		chafa_canvas_config_unref(v->ccfg);
	if (v->ti != NULL)
		chafa_term_info_unref(v->ti);
	free(v->img);
	free(v->fb);
	cellbuf_free(&v->cells);
	for (int i = 0; i < 2; i++) {
		if (v->notify[i] >= 0)
			close(v->notify[i]);
		if (v->wake[i] >= 0)
			close(v->wake[i]);
	}
	if (v->sock_ctl >= 0)
		close(v->sock_ctl);
	pthread_mutex_destroy(&v->mu);
	pthread_cond_destroy(&v->cond);
	free(v->name);
	free(v);
}

static int
vs_fd(struct vnc *v)
{
	return v->notify[0];
}

static void
vs_poll(struct vnc *v, struct vnc_info *info)
{
	char buf[64];

	while (read(v->notify[0], buf, sizeof buf) > 0)
		;
	pthread_mutex_lock(&v->mu);
	if (v->busy_since != 0 && log_now_ms() - v->busy_since > VNC_STALL_MS && !v->stalled) {
		v->stalled = true;
		shutdown(v->sock_ctl, SHUT_RDWR);
	}
	*info = v->info;
	v->info.note[0] = '\0';
	pthread_mutex_unlock(&v->mu);
}

static void
vs_password(struct vnc *v, const char *password)
{
	pthread_mutex_lock(&v->mu);
	free(v->password);
	v->password = xstrdup(password);
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->mu);
}

static void
wake(struct vnc *v)
{
	if (write(v->wake[1], "x", 1) < 0 && errno != EAGAIN)
		log_debug("vnc: cannot wake the session: %s", strerror(errno));
}

static void
vs_set_render(struct vnc *v, const struct vnc_render *r)
{
	pthread_mutex_lock(&v->mu);
	v->render = *r;
	v->render_changed = true;
	pthread_mutex_unlock(&v->mu);
	wake(v);
}

static bool
vs_cells(struct vnc *v, struct cellbuf *b)
{
	bool changed;

	pthread_mutex_lock(&v->mu);
	if (b->rows != v->cells.rows || b->cols != v->cells.cols) {
		cellbuf_resize(b, v->cells.rows, v->cells.cols);
		v->dmg_top = 0;
		v->dmg_bottom = v->cells.rows;
	}
	changed = v->dmg_bottom > v->dmg_top;
	if (changed) {
		memcpy(b->cells + (size_t)v->dmg_top * (size_t)b->cols,
		    v->cells.cells + (size_t)v->dmg_top * (size_t)b->cols,
		    (size_t)(v->dmg_bottom - v->dmg_top) * (size_t)b->cols * sizeof(struct cell));
		cellbuf_damage(b, v->dmg_top, v->dmg_bottom);
		v->dmg_top = v->dmg_bottom = 0;
	}
	b->cursor_visible = false;
	pthread_mutex_unlock(&v->mu);
	return changed;
}

static bool
vs_image(struct vnc *v, struct vnc_image *img)
{
	bool got;

	pthread_mutex_lock(&v->mu);
	got = v->img != NULL;
	if (got) {
		img->data = v->img;
		img->len = v->img_len;
		img->row = v->img_g.cy;
		img->col = v->img_g.cx;
		img->rows = v->img_g.ch;
		img->cols = v->img_g.cw;
		v->img = NULL;
	}
	pthread_mutex_unlock(&v->mu);
	if (got)
		wake(v);
	return got;
}

static bool
vs_cell_pixel(struct vnc *v, int row, int col, int *x, int *y)
{
	struct geom g;

	pthread_mutex_lock(&v->mu);
	g = v->g;
	pthread_mutex_unlock(&v->mu);
	if (g.cw <= 0 || g.ch <= 0 || row < g.cy || row >= g.cy + g.ch || col < g.cx ||
	    col >= g.cx + g.cw)
		return false;
	*x = g.sx + (int)(((long long)(col - g.cx) * 2 + 1) * g.sw / (2LL * g.cw));
	*y = g.sy + (int)(((long long)(row - g.cy) * 2 + 1) * g.sh / (2LL * g.ch));
	return true;
}

static void
queue(struct vnc *v, const struct cmd *c)
{
	pthread_mutex_lock(&v->mu);
	v->cmds = xreallocarray(v->cmds, v->ncmds + 1, sizeof *v->cmds);
	v->cmds[v->ncmds++] = *c;
	pthread_mutex_unlock(&v->mu);
	wake(v);
}

static void
vs_key(struct vnc *v, uint32_t keysym, bool down)
{
	struct cmd c = { .kind = CMD_KEY, .keysym = keysym, .down = down };

	queue(v, &c);
}

static void
vs_pointer(struct vnc *v, int x, int y, int buttons)
{
	struct cmd c = { .kind = CMD_POINTER, .x = x, .y = y, .buttons = buttons };

	queue(v, &c);
}

static void
vs_screenshot(struct vnc *v, const char *path)
{
	struct cmd c = { .kind = CMD_SHOT, .path = xstrdup(path) };

	queue(v, &c);
}

const struct vnc_plugin vnc_plugin_ops = {
	.new_session = vs_new,
	.free_session = vs_free,
	.fd = vs_fd,
	.poll = vs_poll,
	.password = vs_password,
	.set_render = vs_set_render,
	.cells = vs_cells,
	.image = vs_image,
	.cell_pixel = vs_cell_pixel,
	.key = vs_key,
	.pointer = vs_pointer,
	.screenshot = vs_screenshot,
};
