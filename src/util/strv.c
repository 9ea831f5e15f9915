#include "util/strv.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

void
strv_init(struct strv *s)
{
	s->cap = 16;
	s->n = 0;
	s->v = xcalloc(s->cap, sizeof *s->v);
}

void
strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof *s);
}

static void
strv_push(struct strv *s, char *owned)
{
	if (s->n + 1 >= s->cap) {
		s->cap *= 2;
		s->v = xreallocarray(s->v, s->cap, sizeof *s->v);
	}
	s->v[s->n++] = owned;
	s->v[s->n] = NULL;
}

void
strv_add(struct strv *s, const char *str)
{
	strv_push(s, xstrdup(str));
}

void
strv_addf(struct strv *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	strv_push(s, xvasprintf(fmt, ap));
	va_end(ap);
}

void
strv_add2(struct strv *s, const char *opt, const char *val)
{
	strv_add(s, opt);
	strv_add(s, val);
}

/* True when S is safe unquoted in a POSIX shell. */
static int
shell_plain(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789-_./=:,+@%", *s) == NULL)
			return 0;
	return 1;
}

char *
strv_join_shell(const struct strv *s)
{
	size_t len = 1;
	char *out, *p;

	for (size_t i = 0; i < s->n; i++)
		len += strlen(s->v[i]) * 4 + 3;
	p = out = xmalloc(len);
	for (size_t i = 0; i < s->n; i++) {
		const char *a = s->v[i];

		if (i > 0)
			*p++ = ' ';
		if (shell_plain(a)) {
			p = stpcpy(p, a);
			continue;
		}
		*p++ = '\'';
		for (; *a != '\0'; a++) {
			if (*a == '\'')
				p = stpcpy(p, "'\\''");
			else
				*p++ = *a;
		}
		*p++ = '\'';
	}
	*p = '\0';
	return out;
}

char *
strv_qemu_escape(const char *val)
{
	char *out = xmalloc(strlen(val) * 2 + 1), *p = out;

	for (; *val != '\0'; val++) {
		*p++ = *val;
		if (*val == ',')
			*p++ = ',';
	}
	*p = '\0';
	return out;
}
