#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ERR_MAX 1024

static _Thread_local char err_buf[ERR_MAX];

int
err_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err_buf, sizeof err_buf, fmt, ap);
	va_end(ap);
	return -1;
}

int
err_prefix(const char *fmt, ...)
{
	char old[ERR_MAX];
	size_t n;
	va_list ap;

	memcpy(old, err_buf, sizeof old);
	va_start(ap, fmt);
	vsnprintf(err_buf, sizeof err_buf, fmt, ap);
	va_end(ap);
	n = strlen(err_buf);
	if (old[0] != '\0' && n + 2 < sizeof err_buf)
		snprintf(err_buf + n, sizeof err_buf - n, ": %s", old);
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
