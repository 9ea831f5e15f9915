#include "util/paths.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/err.h"
#include "util/xalloc.h"

static const char *
home_dir(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h != NULL && h[0] == '/')
		return h;
	pw = getpwuid(getuid());
	return pw != NULL && pw->pw_dir != NULL ? pw->pw_dir : "/";
}

static char *
xdg_dir(const char *var, const char *fallback)
{
	const char *v = getenv(var);

	/* The spec says relative values are invalid and must be ignored. */
	if (v != NULL && v[0] == '/')
		return xasprintf("%s/vmtty", v);
	return xasprintf("%s/%s/vmtty", home_dir(), fallback);
}

char *
paths_data_dir(void)
{
	return xdg_dir("XDG_DATA_HOME", ".local/share");
}

char *
paths_config_dir(void)
{
	return xdg_dir("XDG_CONFIG_HOME", ".config");
}

char *
paths_cache_dir(void)
{
	return xdg_dir("XDG_CACHE_HOME", ".cache");
}

char *
paths_inventory(const char *override)
{
	const char *env = getenv("VMTTY_DB");
	char *dir, *p;

	if (override != NULL && override[0] != '\0')
		return xstrdup(override);
	if (env != NULL && env[0] != '\0')
		return xstrdup(env);
	dir = paths_data_dir();
	p = xasprintf("%s/inventory.db", dir);
	free(dir);
	return p;
}

char *
paths_runtime_dir(void)
{
	const char *v = getenv("VMTTY_RUNTIME_DIR");

	if (v != NULL && v[0] == '/')
		return xstrdup(v);
	v = getenv("XDG_RUNTIME_DIR");
	if (v != NULL && v[0] == '/')
		return xasprintf("%s/vmtty", v);
	if (getuid() == 0)
		return xstrdup("/run/vmtty");
	return xasprintf("/tmp/vmtty-%u", (unsigned)getuid());
}

int
paths_mkdir_p(const char *dir, mode_t mode)
{
	char *buf = xstrdup(dir);
	struct stat st;
	int rc = 0;

	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST) {
			rc = err_set("cannot create directory '%s': %s", buf, strerror(errno));
			break;
		}
		if (stat(buf, &st) != 0) {
			rc = err_set("cannot use directory '%s': %s", buf, strerror(errno));
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			rc = err_set("cannot use '%s' as a directory: it is not one", buf);
			break;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	free(buf);
	return rc;
}

/* Why ST (a directory's lstat) is not a private directory, into BUF; false
 * when it is one.  *MODE: only its mode is wrong (the owner can fix it). */
static bool
not_private(const struct stat *st, char *buf, size_t len, bool *mode)
{
	*mode = false;
	if (S_ISLNK(st->st_mode))
		snprintf(buf, len, "it is a symbolic link");
	else if (!S_ISDIR(st->st_mode))
		snprintf(buf, len, "it is not a directory");
	else if (st->st_uid != geteuid())
		snprintf(buf, len, "it belongs to uid %u, not to you (uid %u)",
		    (unsigned)st->st_uid, (unsigned)geteuid());
	else if ((st->st_mode & 077) != 0) {
		snprintf(buf, len, "other users can reach it (mode %04o)",
		    (unsigned)(st->st_mode & 07777));
		*mode = true;
	} else
		return false;
	return true;
}

/*
 * As tmux does for its socket directory: make DIR 0700 (its parents as
 * paths_mkdir_p), then look at DIR itself, never through a symbolic link,
 * and use it only when it is a real directory of this user's that no one
 * else can enter.  Another user who made the name first (a shared /tmp)
 * must not get what is put in it.
 */
int
paths_private_dir(const char *dir, const char *what, const char *fix)
{
	char why[128], *d = xstrdup(dir);
	size_t len = strlen(d);
	struct stat st;
	bool mode;
	int rc = -1;

	/* "DIR/" would be looked at through a symbolic link. */
	while (len > 1 && d[len - 1] == '/')
		d[--len] = '\0';
	if (paths_mkdir_parent(d, 0700) != 0)
		goto out;
	if (mkdir(d, 0700) != 0 && errno != EEXIST)
		err_set("cannot create %s '%s': %s", what, d, strerror(errno));
	else if (lstat(d, &st) != 0)
		err_set("cannot use %s '%s': %s", what, d, strerror(errno));
	else if (not_private(&st, why, sizeof why, &mode))
		err_set("refusing %s '%s': %s; %s%s", what, d, why, mode ? "chmod 700 it, or " : "",
		    fix);
	else
		rc = 0;
out:
	free(d);
	return rc;
}

int
paths_mkdir_parent(const char *path, mode_t mode)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int rc;

	if (slash == NULL || slash == path)
		return 0;
	dir = xstrndup(path, (size_t)(slash - path));
	rc = paths_mkdir_p(dir, mode);
	free(dir);
	return rc;
}

int
paths_copy_file(const char *src, const char *dst, mode_t mode)
{
	char buf[65536];
	ssize_t n;
	int in, out, rc = 0;

	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		return err_set("cannot read '%s': %s", src, strerror(errno));
	if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) < 0) {
		close(in);
		return err_set("cannot create '%s': %s", dst, strerror(errno));
	}
	while ((n = read(in, buf, sizeof buf)) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			rc = err_set("cannot write '%s': %s", dst, strerror(errno));
			break;
		}
	}
	if (n < 0)
		rc = err_set("cannot read '%s': %s", src, strerror(errno));
	close(in);
	if (close(out) != 0 && rc == 0)
		rc = err_set("cannot write '%s': %s", dst, strerror(errno));
	if (rc != 0)
		unlink(dst);
	return rc;
}

int
paths_join(char *out, size_t len, const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);

	if (dl + 1 + nl + 1 > len)
		return -1;
	memcpy(out, dir, dl);
	out[dl] = '/';
	memcpy(out + dl + 1, name, nl + 1);
	return 0;
}

bool
paths_same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (strcmp(a, b) == 0)
		return true;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	    sa.st_ino == sb.st_ino;
}
