#include "util/str.h"

#include <stdio.h>
#include <string.h>

#include "util/xalloc.h"

static bool
cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

size_t
str_utf8_len(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	/* Shortest form only, no surrogates, nothing above U+10FFFF. */
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (!cont(p[i]))
			return 0;
	return n;
}

bool
str_utf8_valid(const char *s)
{
	size_t n;

	for (; *s != '\0'; s += n)
		if ((n = str_utf8_len(s)) == 0)
			return false;
	return true;
}

size_t
str_utf8_prefix(const char *s, size_t max)
{
	size_t at = 0, n;

	while (s[at] != '\0') {
		n = str_utf8_len(s + at);
		if (n == 0)
			n = 1;
		if (at + n > max)
			break;
		at += n;
	}
	return at;
}

bool
str_is_control(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	if (len == 1)
		return p[0] < 0x20 || p[0] == 0x7f;
	return len == 2 && p[0] == 0xc2 && p[1] <= 0x9f;
}

unsigned long
str_utf8_code(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long c;

	if (len <= 1)
		return p[0];
	c = p[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++)
		c = (c << 6) | (p[i] & 0x3f);
	return c;
}

/* Unicode's format characters (category Cf, Unicode 15): invisible, and
 * some reorder or hide the text around them. */
static const struct { unsigned long lo, hi; } format_chars[] = {
	{ 0x00ad, 0x00ad }, { 0x0600, 0x0605 }, { 0x061c, 0x061c }, { 0x06dd, 0x06dd },
	{ 0x070f, 0x070f }, { 0x0890, 0x0891 }, { 0x08e2, 0x08e2 }, { 0x180e, 0x180e },
	{ 0x200b, 0x200f }, { 0x202a, 0x202e }, { 0x2060, 0x2064 }, { 0x2066, 0x206f },
	{ 0xfeff, 0xfeff }, { 0xfff9, 0xfffb }, { 0x110bd, 0x110bd }, { 0x110cd, 0x110cd },
	{ 0x13430, 0x1343f }, { 0x1bca0, 0x1bca3 }, { 0x1d173, 0x1d17a }, { 0xe0001, 0xe0001 },
	{ 0xe0020, 0xe007f },
};

const char *
str_hidden_kind(const char *s, size_t len)
{
	return len == 0 ? NULL : str_hidden_code(str_utf8_code(s, len));
}

const char *
str_hidden_code(unsigned long c)
{
	if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
		return "a control character";
	if (c == 0x2028 || c == 0x2029)
		return "a line or paragraph separator";
	if (c == 0x061c || c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e) ||
	    (c >= 0x2066 && c <= 0x2069))
		return "a bidirectional control character";
	for (size_t i = 0; i < sizeof format_chars / sizeof format_chars[0]; i++)
		if (c >= format_chars[i].lo && c <= format_chars[i].hi)
			return "an invisible format character";
	/* Default_Ignorable_Code_Point outside Cf (Unicode 15 DerivedCoreProperties):
	 * drawn as nothing, so "a\u3164b" passes for "ab". */
	if (c == 0x034f || c == 0x115f || c == 0x1160 || c == 0x17b4 || c == 0x17b5 ||
	    (c >= 0x180b && c <= 0x180f) || c == 0x2065 || c == 0x3164 ||
	    (c >= 0xfe00 && c <= 0xfe0f) || c == 0xffa0 || (c >= 0xfff0 && c <= 0xfff8) ||
	    (c >= 0xe0000 && c <= 0xe0fff))
		return "an invisible character";
	return NULL;
}

/* The escaped form of the character (or stray byte) at S into OUT;
 * returns its length and sets *USED to the bytes of S it stands for. */
static size_t
piece(const char *s, char out[12], size_t *used, bool lines)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = str_utf8_len(s);
	unsigned long c;

	if (n == 0) {
		*used = 1;
		return (size_t)snprintf(out, 12, "\\x%02x", p[0]);
	}
	*used = n;
	if (str_hidden_kind(s, n) == NULL || (lines && (p[0] == '\n' || p[0] == '\t'))) {
		memcpy(out, s, n);
		return n;
	}
	if (n > 1) {
		c = str_utf8_code(s, n);
		return (size_t)snprintf(out, 12, c > 0xffff ? "\\U%08lx" : "\\u%04lx", c);
	}
	if (p[0] == '\n' || p[0] == '\r' || p[0] == '\t') {
		out[0] = '\\';
		out[1] = p[0] == '\n' ? 'n' : p[0] == '\r' ? 'r' : 't';
		return 2;
	}
	return (size_t)snprintf(out, 12, "\\x%02x", p[0]);
}

static size_t
escaped_len(const char *s, bool lines)
{
	char tmp[12];
	size_t len = 0, used;

	for (; *s != '\0'; s += used)
		len += piece(s, tmp, &used, lines);
	return len;
}

static size_t
escape_buf(char *dst, size_t cap, const char *s, bool lines)
{
	bool fits = escaped_len(s, lines) < cap;
	size_t out = 0, used, n;
	char tmp[12];

	if (cap == 0)
		return 0;
	if (!fits && cap < 4) {
		dst[0] = '\0';
		return 0;
	}
	for (; *s != '\0'; s += used) {
		n = piece(s, tmp, &used, lines);
		if (out + n + (fits ? 0 : 3) >= cap)
			break;
		memcpy(dst + out, tmp, n);
		out += n;
	}
	if (!fits) {
		memcpy(dst + out, "...", 3);
		out += 3;
	}
	dst[out] = '\0';
	return out;
}

size_t
str_escape_buf(char *dst, size_t cap, const char *s)
{
	return escape_buf(dst, cap, s, false);
}

char *
str_escape(const char *s)
{
	size_t len = escaped_len(s, false) + 1;
	char *d = xmalloc(len);

	escape_buf(d, len, s, false);
	return d;
}

char *
str_escape_text(const char *s)
{
	size_t len = escaped_len(s, true) + 1;
	char *d = xmalloc(len);

	escape_buf(d, len, s, true);
	return d;
}

char *
str_json_safe(const char *json)
{
	size_t len = strlen(json), out = 0;
	char *d = xmalloc(len * 3 + 1);

	for (const unsigned char *p = (const unsigned char *)json; *p != '\0'; p++) {
		if (p[0] == 0x7f) {
			out += (size_t)sprintf(d + out, "\\u007f");
		} else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			out += (size_t)sprintf(d + out, "\\u00%02x", p[1]);
			p++;
		} else {
			d[out++] = (char)p[0];
		}
	}
	d[out] = '\0';
	return d;
}

bool
str_needs_escape(const char *s)
{
	size_t n;

	for (; *s != '\0'; s += n)
		if ((n = str_utf8_len(s)) == 0 || str_hidden_kind(s, n) != NULL)
			return true;
	return false;
}

char *
str_utf8_fix(const char *s)
{
	size_t len = strlen(s), out = 0, n;
	char *d = xmalloc(len * 3 + 1);

	for (; *s != '\0'; s += n) {
		n = str_utf8_len(s);
		if (n == 0) {
			memcpy(d + out, "\xef\xbf\xbd", 3);
			out += 3;
			n = 1;
		} else {
			memcpy(d + out, s, n);
			out += n;
		}
	}
	d[out] = '\0';
	return d;
}

size_t
str_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (!cont((unsigned char)*s))
			w++;
	return w;
}
