/* paths_private_dir: a directory is used only when it is a real directory
 * of this user's that no one else can enter; each refusal says why. */
#include "unit.h"

#include <errno.h>

#include "util/err.h"
#include "util/paths.h"

#define FIX "remove it"

static char *
join(const char *dir, const char *name)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

static void
made_0700_with_parents(void **state)
{
	char *dir = unit_tmpdir(), *d = join(dir, "a/b/run");
	struct stat st;

	(void)state;
	umask(077);
	assert_int_equal(paths_private_dir(d, "runtime directory", FIX), 0);
	assert_int_equal(lstat(d, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	/* Again: an existing private directory is fine. */
	assert_int_equal(paths_private_dir(d, "runtime directory", FIX), 0);
	free(d);
	unit_rmdir(dir);
}

static void
symlink_refused(void **state)
{
	char *dir = unit_tmpdir(), *target = join(dir, "elsewhere"), *d = join(dir, "run");
	char *slash = join(dir, "run/"), want[512];

	(void)state;
	assert_int_equal(mkdir(target, 0700), 0);
	assert_int_equal(symlink(target, d), 0);
	assert_int_equal(paths_private_dir(d, "runtime directory", FIX), -1);
	snprintf(want, sizeof want, "refusing runtime directory '%s': it is a symbolic link; "
	    FIX, d);
	assert_string_equal(err_get(), want);
	/* A trailing slash must not look through the link. */
	assert_int_equal(paths_private_dir(slash, "runtime directory", FIX), -1);
	assert_string_equal(err_get(), want);
	free(slash);
	free(target);
	free(d);
	unit_rmdir(dir);
}

static void
file_refused(void **state)
{
	char *dir = unit_tmpdir(), *d = join(dir, "run"), want[512];
	FILE *f = fopen(d, "w");

	(void)state;
	assert_non_null(f);
	fclose(f);
	assert_int_equal(paths_private_dir(d, "runtime directory", FIX), -1);
	snprintf(want, sizeof want, "refusing runtime directory '%s': it is not a directory; "
	    FIX, d);
	assert_string_equal(err_get(), want);
	free(d);
	unit_rmdir(dir);
}

static void
open_mode_refused(void **state)
{
	char *dir = unit_tmpdir(), *d = join(dir, "run"), want[512];

	(void)state;
	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(chmod(d, 0750), 0);
	assert_int_equal(paths_private_dir(d, "runtime directory", FIX), -1);
	snprintf(want, sizeof want, "refusing runtime directory '%s': other users can reach it "
	    "(mode 0750); chmod 700 it, or " FIX, d);
	assert_string_equal(err_get(), want);
	free(d);
	unit_rmdir(dir);
}

static void
other_owner_refused(void **state)
{
	char *dir, *d, want[512];

	(void)state;
	if (geteuid() != 0)
		skip();	/* only root can give a directory away */
	dir = unit_tmpdir();
	d = join(dir, "run");
	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(chown(d, 65534, 65534), 0);
	assert_int_equal(paths_private_dir(d, "runtime directory", FIX), -1);
	snprintf(want, sizeof want, "refusing runtime directory '%s': it belongs to uid 65534, "
	    "not to you (uid 0); " FIX, d);
	assert_string_equal(err_get(), want);
	free(d);
	unit_rmdir(dir);
}

/* paths_same_file: one file under two names (a hard link, a symlink,
 * "sub/../x") is the same; a missing one never is, unless named alike. */
static void
same_file(void **state)
{
	char *dir = unit_tmpdir(), *f = join(dir, "f"), *g = join(dir, "g");
	char *ln = join(dir, "ln"), *sl = join(dir, "sl"), *sub = join(dir, "sub");
	char *dotted = join(dir, "sub/../f"), *gone = join(dir, "gone");
	FILE *fp;

	(void)state;
	assert_non_null(fp = fopen(f, "w"));
	fclose(fp);
	assert_non_null(fp = fopen(g, "w"));
	fclose(fp);
	assert_int_equal(link(f, ln), 0);
	assert_int_equal(symlink(f, sl), 0);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_true(paths_same_file(f, f));
	assert_true(paths_same_file(f, ln));
	assert_true(paths_same_file(sl, f));
	assert_true(paths_same_file(dotted, f));
	assert_false(paths_same_file(f, g));
	assert_false(paths_same_file(f, gone));
	assert_true(paths_same_file(gone, gone));
	free(f);
	free(g);
	free(ln);
	free(sl);
	free(sub);
	free(dotted);
	free(gone);
	unit_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(made_0700_with_parents),
		cmocka_unit_test(symlink_refused),
		cmocka_unit_test(file_refused),
		cmocka_unit_test(open_mode_refused),
		cmocka_unit_test(other_owner_refused),
		cmocka_unit_test(same_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
