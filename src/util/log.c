#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/err.h"

static FILE *log_fp;
static long long log_start;

long long
log_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long
log_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int
log_open(const char *path)
{
	FILE *fp = fopen(path, "a");

	if (fp == NULL)
		return err_set("cannot open log file '%s': %s", path, strerror(errno));
	setvbuf(fp, NULL, _IOLBF, 0);
	log_fp = fp;
	log_start = log_now_ms();
	return 0;
}

void
log_close(void)
{
	if (log_fp != NULL)
		fclose(log_fp);
	log_fp = NULL;
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_fp == NULL)
		return;
	fprintf(log_fp, "%8lld ", log_now_ms() - log_start);
	va_start(ap, fmt);
	vfprintf(log_fp, fmt, ap);
	va_end(ap);
	fputc('\n', log_fp);
}
