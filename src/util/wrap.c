#include "util/wrap.h"

#include <string.h>
#include <wchar.h>

/* The character at S: its length in bytes (at least 1) and *COLS, its
 * width in columns. */
static size_t
char_at(const char *s, int *cols)
{
	mbstate_t st;
	wchar_t wc;
	size_t n;
	int w;

	memset(&st, 0, sizeof st);
	n = mbrtowc(&wc, s, strlen(s), &st);
	if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
		*cols = 1;
		return 1;
	}
	w = wcwidth(wc);
	*cols = w < 0 ? 1 : w;
	return n;
}

static size_t
skip_spaces(const char *s, size_t i)
{
	while (s[i] == ' ')
		i++;
	return i;
}

static size_t
trim(const char *s, size_t len)
{
	while (len > 0 && s[len - 1] == ' ')
		len--;
	return len;
}

size_t
wrap_line(const char *s, int width, size_t *next)
{
	size_t i = 0, brk = 0;
	int used = 0;

	if (width < 1)
		width = 1;
	while (s[i] != '\0') {
		int cw;
		size_t n;

		if (s[i] == '\n') {
			*next = i + 1;
			return trim(s, i);
		}
		n = char_at(s + i, &cw);
		if (used + cw > width) {
			if (s[i] == ' ' || brk == 0) {
				/* The text fits up to here, or one word fills
				 * the line: break at I, but never before the
				 * first character. */
				if (i == 0)
					i = n;
				*next = skip_spaces(s, i);
				return trim(s, i);
			}
			*next = skip_spaces(s, brk);
			return trim(s, brk);
		}
		if (s[i] == ' ' && trim(s, i) > 0)
			brk = i;
		used += cw;
		i += n;
	}
	*next = i;
	return trim(s, i);
}
