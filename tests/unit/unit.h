/* Shared by the cmocka unit tests: temp directories and databases. */
#ifndef VMTTY_UNIT_H
#define VMTTY_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wchar.h>

/* A fresh private directory for one test; removed by unit_rmdir. */
static inline char *
unit_tmpdir(void)
{
	char tmpl[] = "/tmp/vmtty-unit.XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static inline int
unit_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A pid that no process has now: a child's, once reaped. */
static inline pid_t
unit_dead_pid(void)
{
	pid_t p = fork();

	assert_true(p >= 0);
	if (p == 0)
		_exit(0);
	waitpid(p, NULL, 0);
	return p;
}

/* rm -rf DIR, then free it. */
static inline void
unit_rmdir(char *dir)
{
	nftw(dir, unit_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* Whether S is UTF-8, by the C library's decoder (not vmtty's). */
static inline bool
unit_libc_utf8(const char *s)
{
	mbstate_t st = { 0 };
	size_t len = strlen(s), n;

	assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
	for (; len > 0; s += n, len -= n) {
		n = mbrtowc(NULL, s, len, &st);
		if (n == (size_t)-1 || n == (size_t)-2)
			return false;
	}
	return true;
}

/* The whole file PATH (allocated, NUL-terminated), NULL when it cannot be
 * opened: a fixture to compare with. */
static inline char *
unit_slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long n;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	if (fread(buf, 1, (size_t)n, fp) != (size_t)n)
		n = 0;
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

#endif
