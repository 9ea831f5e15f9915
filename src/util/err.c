#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/str.h"

#define ERR_MAX 1024

static _Thread_local char err_buf[ERR_MAX];

/*
 * Keep MSG as the message: one line whatever it quotes (user input, a
 * host's domain names, libxml2's excerpts), with controls and bytes that
 * are not UTF-8 escaped, and cut between characters when too long.
 * Escaping leaves escaped text as it is, so err_prefix can store the old
 * message again.
 */
static void
err_store(const char *msg)
{
	str_escape_buf(err_buf, sizeof err_buf, msg);
}

/* Format FMT: allocated, or into FALLBACK when memory is short. */
static char *
err_format(char *fallback, size_t len, const char *fmt, va_list ap)
{
	char *s;
	va_list copy;

	va_copy(copy, ap);
	if (vasprintf(&s, fmt, copy) < 0) {
		vsnprintf(fallback, len, fmt, ap);
		fallback[str_utf8_prefix(fallback, len - 1)] = '\0';
		s = NULL;
	}
	va_end(copy);
	return s;
}

int
err_set(const char *fmt, ...)
{
	char small[ERR_MAX], *s;
	va_list ap;

	va_start(ap, fmt);
	s = err_format(small, sizeof small, fmt, ap);
	va_end(ap);
	err_store(s != NULL ? s : small);
	free(s);
	return -1;
}

int
err_prefix(const char *fmt, ...)
{
	char small[ERR_MAX], old[ERR_MAX], *s, *both;
	va_list ap;

	memcpy(old, err_buf, sizeof old);
	va_start(ap, fmt);
	s = err_format(small, sizeof small, fmt, ap);
	va_end(ap);
	if (old[0] == '\0' || asprintf(&both, "%s: %s", s != NULL ? s : small, old) < 0)
		both = NULL;
	err_store(both != NULL ? both : s != NULL ? s : small);
	free(both);
	free(s);
	return -1;
}

const char *
err_get(void)
{
	return err_buf[0] != '\0' ? err_buf : "unknown error";
}

void
err_clear(void)
{
	err_buf[0] = '\0';
}
