#include "console/termprobe.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ESC '\033'
#define TP_MAX_PARAMS 16

/* The kitty query: a 1x1 RGB image sent directly (t=d), queried only
 * (a=q): a kitty terminal answers "OK" or an error, others ignore it. */
#define Q_KITTY "\033_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\033\\"
/* XTSMGRAPHICS: read the colour registers (1) and the sixel geometry (2). */
#define Q_SIXEL "\033[?1;1;0S\033[?2;1;0S"
#define Q_CELL "\033[16t"
#define Q_DA "\033[c"

size_t
tp_tmux_wrap(const char *bytes, size_t n, char *out, size_t len)
{
	static const char head[] = "\033Ptmux;";
	size_t o = sizeof head - 1;

	if (len < 2 * n + 16)
		return 0;
	memcpy(out, head, o);
	for (size_t i = 0; i < n; i++) {
		if (bytes[i] == ESC)
			out[o++] = ESC;
		out[o++] = bytes[i];
	}
	out[o++] = ESC;
	out[o++] = '\\';
	out[o] = '\0';
	return o;
}

size_t
tp_queries(char *out, size_t len, bool tmux)
{
	static const char all[] = Q_KITTY Q_SIXEL Q_CELL Q_DA;
	size_t o;

	if (!tmux) {
		if (len <= sizeof all - 1)
			return 0;
		memcpy(out, all, sizeof all);
		return sizeof all - 1;
	}
	/* Through tmux to the outer terminal, then tmux's own answer. */
	o = tp_tmux_wrap(all, sizeof all - 1, out, len);
	if (o == 0 || o + sizeof Q_DA > len)
		return 0;
	memcpy(out + o, Q_DA, sizeof Q_DA);
	return o + sizeof Q_DA - 1;
}

/* A CSI sequence at BUF[I] (after ESC [): its private marker, parameters
 * and final byte.  Returns the index after it, 0 when it is cut short,
 * or I + 1 when it is not a sequence (skip the ESC). */
static size_t
csi(const char *buf, size_t len, size_t i, char *marker, int *p, int *np, char *final)
{
	size_t j = i + 2;

	*marker = 0;
	*np = 0;
	if (j < len && strchr("?>=<", buf[j]) != NULL && buf[j] != '\0')
		*marker = buf[j++];
	p[0] = 0;
	for (; j < len; j++) {
		unsigned char c = (unsigned char)buf[j];

		if (c >= '0' && c <= '9') {
			if (*np == 0)
				*np = 1;
			if (*np <= TP_MAX_PARAMS && p[*np - 1] < 100000)
				p[*np - 1] = p[*np - 1] * 10 + (c - '0');
		} else if (c == ';') {
			if (*np == 0)
				*np = 1;
			if (*np < TP_MAX_PARAMS)
				p[(*np)++] = 0;
		} else if (c >= 0x20 && c <= 0x2f) {
			continue;	/* intermediates */
		} else if (c >= 0x40 && c <= 0x7e) {
			*final = (char)c;
			return j + 1;
		} else {
			return i + 1;
		}
	}
	return 0;
}

static void
on_csi(struct tp_caps *caps, char marker, const int *p, int np, char final)
{
	if (marker == '?' && final == 'c' && np >= 1) {
		if (caps->nda < TP_MAX_DA) {
			caps->da_class[caps->nda] = p[0];
			for (int k = 1; k < np; k++)
				if (p[k] == 4)
					caps->da_sixel[caps->nda] = true;
		}
		caps->nda++;
	} else if (marker == '?' && final == 'S' && np >= 3 && p[1] == 0) {
		if (p[0] == 1)
			caps->sixel_colours = p[2];
		else if (p[0] == 2 && np >= 4) {
			caps->sixel_max_w = p[2];
			caps->sixel_max_h = p[3];
		}
	} else if (marker == 0 && final == 't' && np >= 3 && p[0] == 6 && p[1] > 0 &&
	    p[2] > 0) {
		caps->cell_h = p[1];
		caps->cell_w = p[2];
	}
}

/* A string sequence (APC, DCS, OSC) from BUF[I]: the index after its
 * terminator (ST, or BEL), 0 when cut short; its body is [I + 2, *END). */
static size_t
string_seq(const char *buf, size_t len, size_t i, size_t *end)
{
	for (size_t j = i + 2; j < len; j++) {
		if (buf[j] == '\a') {
			*end = j;
			return j + 1;
		}
		if (buf[j] == ESC) {
			if (j + 1 >= len)
				return 0;
			*end = j;
			return buf[j + 1] == '\\' ? j + 2 : j + 1;
		}
	}
	return 0;
}

static void
on_apc(struct tp_caps *caps, const char *body, size_t n)
{
	const char *semi;
	char id[16];

	if (n < 2 || body[0] != 'G' || (semi = memchr(body, ';', n)) == NULL)
		return;
	snprintf(id, sizeof id, "i=%d", TP_KITTY_PROBE_ID);
	/* Only our query's answer: "Gi=31;OK" or "Gi=31;ENOENT:...". */
	if (memmem(body, (size_t)(semi - body), id, strlen(id)) == NULL)
		return;
	n -= (size_t)(semi + 1 - body);
	if (n == 2 && memcmp(semi + 1, "OK", 2) == 0)
		caps->kitty = true;
	else
		caps->kitty_error = true;
}

void
tp_parse(struct tp_caps *caps, const char *buf, size_t len)
{
	size_t i = 0, next, end;
	int p[TP_MAX_PARAMS];
	int np;
	char marker, final;

	memset(caps, 0, sizeof *caps);
	while (i < len) {
		if (buf[i] != ESC || i + 1 >= len) {
			i++;
			continue;
		}
		switch (buf[i + 1]) {
		case '[':
			next = csi(buf, len, i, &marker, p, &np, &final);
			if (next == 0)
				return;	/* the rest has not arrived yet */
			if (next > i + 1)
				on_csi(caps, marker, p, np, final);
			i = next;
			break;
		case '_':
		case 'P':
		case ']':
			if ((next = string_seq(buf, len, i, &end)) == 0)
				return;
			if (buf[i + 1] == '_')
				on_apc(caps, buf + i + 2, end - (i + 2));
			i = next;
			break;
		default:
			i++;
			break;
		}
	}
}

enum tp_reply
tp_reply_class(const char *buf, size_t len)
{
	size_t next, end;
	int p[TP_MAX_PARAMS];
	int np;
	char marker, final;

	if (len == 0 || buf[0] != ESC)
		return TP_NOT_REPLY;
	if (len == 1)
		return TP_MAYBE_REPLY;
	switch (buf[1]) {
	case '[':
		next = csi(buf, len, 0, &marker, p, &np, &final);
		/* ESC [ ? and ESC [ > begin replies only; ESC [ 1 ; 5 may be
		 * a key that curses does not know. */
		if (next == 0)
			return len > 2 && (buf[2] == '?' || buf[2] == '>') ? TP_REPLY_PART :
			    TP_MAYBE_REPLY;
		/* DA (primary or secondary), XTSMGRAPHICS, the cell size: no key
		 * ends so, and a key (a letter) typed after a reply cut short
		 * does not make it one. */
		return next == len && (final == 'c' || (marker == '?' && final == 'S') ||
		    (marker == 0 && final == 't')) ? TP_REPLY : TP_NOT_REPLY;
	case '_':
		/* The kitty reply, the only string a query gets back. */
		if (len == 2)
			return TP_MAYBE_REPLY;
		if (buf[2] != 'G')
			return TP_NOT_REPLY;
		if ((next = string_seq(buf, len, 0, &end)) == 0)
			return TP_REPLY_PART;
		return next == len ? TP_REPLY : TP_NOT_REPLY;
	default:
		return TP_NOT_REPLY;
	}
}

bool
tp_complete(const struct tp_caps *caps, int need_da)
{
	return caps->nda >= need_da;
}

const char *
tp_mode_name(enum tp_mode m)
{
	switch (m) {
	case TP_SIXEL:
		return "sixel";
	case TP_KITTY:
		return "kitty";
	case TP_ITERM2:
		return "iterm2";
	case TP_SYMBOLS:
	default:
		return "symbols";
	}
}

int
tp_mode_parse(const char *s, enum tp_mode *m, bool *is_auto)
{
	static const enum tp_mode all[] = { TP_SYMBOLS, TP_SIXEL, TP_KITTY, TP_ITERM2 };

	*is_auto = false;
	if (s == NULL || s[0] == '\0' || strcasecmp(s, "auto") == 0) {
		*is_auto = true;
		*m = TP_SYMBOLS;
		return 0;
	}
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		if (strcasecmp(s, tp_mode_name(all[i])) == 0) {
			*m = all[i];
			return 0;
		}
	return -1;
}

static bool
is_iterm2(const char *term_program, const char *lc_terminal)
{
	return (term_program != NULL && strcmp(term_program, "iTerm.app") == 0) ||
	    (lc_terminal != NULL && strcmp(lc_terminal, "iTerm2") == 0);
}

enum tp_mode
tp_choose(const struct tp_caps *caps, const char *term_program, const char *lc_terminal,
    bool tmux, char *why, size_t len)
{
	/* Under tmux the first DA reply is tmux's own; the outer terminal's
	 * comes second, through passthrough, if at all. */
	int own = 0, outer = tmux ? 1 : 0;

	if (caps == NULL || caps->nda == 0) {
		if (!tmux && is_iterm2(term_program, lc_terminal)) {
			snprintf(why, len, "iTerm2 (by TERM_PROGRAM/LC_TERMINAL), which answered "
			    "no query in time");
			return TP_ITERM2;
		}
		snprintf(why, len, "the terminal answered no query in time: block symbols");
		return TP_SYMBOLS;
	}
	if (tmux && caps->da_sixel[own]) {
		snprintf(why, len, "tmux itself shows sixel images (its device attributes "
		    "list 4)");
		return TP_SIXEL;
	}
	if (tmux && caps->nda < 2) {
		snprintf(why, len, "under tmux, and the outer terminal did not answer through "
		    "tmux's passthrough (set allow-passthrough on, or the terminal has no "
		    "images): block symbols");
		return TP_SYMBOLS;
	}
	if (caps->kitty) {
		snprintf(why, len, "the terminal answered the kitty graphics query%s",
		    tmux ? " (through tmux's passthrough)" : "");
		return TP_KITTY;
	}
	if (caps->da_sixel[outer]) {
		snprintf(why, len, "the terminal's device attributes list 4 (sixel)%s",
		    tmux ? " (through tmux's passthrough)" : "");
		return TP_SIXEL;
	}
	if (is_iterm2(term_program, lc_terminal)) {
		snprintf(why, len, "iTerm2 (by TERM_PROGRAM/LC_TERMINAL)");
		return TP_ITERM2;
	}
	snprintf(why, len, "the terminal has neither sixel nor the kitty protocol: block "
	    "symbols");
	return TP_SYMBOLS;
}

size_t
tp_keys(const char *buf, size_t len, char *out)
{
	size_t i = 0, k = 0, next, end;
	int p[TP_MAX_PARAMS];
	int np;
	char marker, final;

	while (i < len) {
		if (buf[i] == ESC && i + 1 < len && buf[i + 1] == '[' &&
		    (next = csi(buf, len, i, &marker, p, &np, &final)) > i + 1 &&
		    (marker == '?' || final == 'c' || final == 't')) {
			i = next;	/* DA, XTSMGRAPHICS, the cell size */
			continue;
		}
		if (buf[i] == ESC && i + 1 < len && (buf[i + 1] == '_' || buf[i + 1] == 'P' ||
		    buf[i + 1] == ']') && (next = string_seq(buf, len, i, &end)) > 0) {
			i = next;	/* the kitty reply, a tmux-wrapped one */
			continue;
		}
		out[k++] = buf[i++];
	}
	return k;
}
