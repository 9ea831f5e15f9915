/* Shared by the cmocka unit tests: temp directories and databases. */
#ifndef VMTTY_UNIT_H
#define VMTTY_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* rm -rf DIR, then free it. */
static inline void
unit_rmdir(char *dir)
{
	nftw(dir, unit_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

#endif
