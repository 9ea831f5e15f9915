/* The built-in backend's disks as byte streams (hv_vol_*, qemu_vol.c):
 * new files 0600 from birth in images/DIR/, never over an existing one,
 * sparse where the data is zeros, taken back when not finished; a qcow2
 * read for its virtual size and backing file; deletes. */
#include "unit.h"

#include <fcntl.h>

#include "hv/hv.h"
#include "util/err.h"
#include "util/spawn.h"
#include "util/xalloc.h"

struct fx {
	char *dir;		/* $XDG_DATA_HOME */
	char *images;
	struct hv *hv;
};

static int
setup(void **state)
{
	struct host h = { 0, "local", "vmtty:///local", HOST_BUILTIN, false, 0, 0, NULL, NULL };
	struct fx *f = xcalloc(1, sizeof *f);

	f->dir = unit_tmpdir();
	setenv("XDG_DATA_HOME", f->dir, 1);
	f->images = xasprintf("%s/vmtty/images", f->dir);
	f->hv = hv_open(&h);
	assert_non_null(f->hv);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	hv_close(f->hv);
	free(f->images);
	unit_rmdir(f->dir);
	free(f);
	return 0;
}

/* The directory of PATH (in a static buffer). */
static const char *
dirname_of(const char *path)
{
	static char buf[4096];

	snprintf(buf, sizeof buf, "%.*s", (int)(strrchr(path, '/') - path), path);
	return buf;
}

static int
mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (int)(st.st_mode & 07777);
}

/* Data, a long run of zeros, data: the file has them, 0600, with a hole. */
static void
test_write_sparse(void **state)
{
	struct fx *f = *state;
	struct hv_volume v = { "vm1", "disk.raw", "raw", 4 << 20, NULL, NULL };
	char *buf = xcalloc(1, 1 << 20), *path, *want, *back;
	struct hv_vol *w;
	struct stat st;
	int fd;

	memset(buf, 0xa5, 4096);
	w = hv_vol_open_write(f->hv, &v, 4 << 20, &path);
	assert_non_null(w);
	want = xasprintf("%s/vm1/disk.raw", f->images);
	assert_string_equal(path, want);
	assert_int_equal(mode_of(path), 0600);
	assert_int_equal(mode_of(f->images), 0700);
	assert_int_equal(mode_of(dirname_of(path)), 0700);
	assert_int_equal(hv_vol_write(w, buf, 1 << 20), 0);
	memset(buf, 0, 4096);
	assert_int_equal(hv_vol_write(w, buf, 1 << 20), 0);
	assert_int_equal(hv_vol_write(w, buf, 1 << 20), 0);
	memset(buf + (1 << 20) - 4096, 0x5a, 4096);
	assert_int_equal(hv_vol_write(w, buf, 1 << 20), 0);
	/* More than announced is refused. */
	assert_int_equal(hv_vol_write(w, buf, 1), -1);
	assert_non_null(strstr(err_get(), "more than the 4194304 bytes announced"));
	assert_int_equal(hv_vol_close(w, true), 0);

	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 4 << 20);
	assert_true(st.st_blocks * 512 < (3 << 20));	/* the zeros are a hole */
	back = xmalloc(4 << 20);
	fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, back, 4 << 20), 4 << 20);
	close(fd);
	assert_int_equal((unsigned char)back[0], 0xa5);
	assert_int_equal(back[4096], 0);
	assert_int_equal(back[(2 << 20) + 5], 0);
	assert_int_equal((unsigned char)back[(4 << 20) - 1], 0x5a);
	assert_int_equal(back[(4 << 20) - 4097], 0);
	free(back);

	/* Never over an existing file: O_EXCL. */
	free(path);
	assert_null(hv_vol_open_write(f->hv, &v, 10, &path));
	assert_null(path);
	assert_non_null(strstr(err_get(), "exists already"));
	assert_int_equal(stat(want, &st), 0);
	assert_int_equal(st.st_size, 4 << 20);
	free(want);
	free(buf);
}

/* Closed without OK, or short of its length: the file goes, and the
 * directory when the stream made it. */
static void
test_write_taken_back(void **state)
{
	struct fx *f = *state;
	struct hv_volume a = { "vm2", "a.qcow2", "qcow2", 1 << 20, NULL, NULL };
	struct hv_volume b = { "vm2", "b.qcow2", "qcow2", 1 << 20, NULL, NULL };
	char *pa, *pb, *dir = xasprintf("%s/vm2", f->images);
	struct hv_vol *w, *w2;
	struct stat st;

	w = hv_vol_open_write(f->hv, &a, 100, &pa);
	assert_non_null(w);
	assert_int_equal(hv_vol_write(w, "not zeros", 9), 0);
	/* A second one in the directory the first made. */
	w2 = hv_vol_open_write(f->hv, &b, 100, &pb);
	assert_non_null(w2);
	assert_int_equal(hv_vol_close(w2, false), 0);
	assert_int_equal(stat(pb, &st), -1);
	assert_int_equal(stat(dir, &st), 0);	/* not its to remove */
	/* 9 of 100 bytes, closed as if done: refused, taken back. */
	assert_int_equal(hv_vol_close(w, true), -1);
	assert_non_null(strstr(err_get(), "got 9 of the 100 bytes announced"));
	assert_int_equal(stat(pa, &st), -1);
	assert_int_equal(stat(dir, &st), -1);
	free(pa);
	free(pb);
	free(dir);
}

static void
test_write_names(void **state)
{
	struct fx *f = *state;
	struct hv_volume v = { "vm3", "../escape", "raw", 1, NULL, NULL };
	char *path;

	assert_null(hv_vol_open_write(f->hv, &v, 1, &path));
	assert_non_null(strstr(err_get(), "cannot be a file name"));
	v.name = "ok";
	v.pool = "..";
	assert_null(hv_vol_open_write(f->hv, &v, 1, &path));
	v.pool = "a/b";
	assert_null(hv_vol_open_write(f->hv, &v, 1, &path));
}

/* A qcow2 overlay: its virtual size and backing file from its header, and
 * its bytes as they are; the VM's word for the format, never a guess. */
static void
test_read_qcow2(void **state)
{
	struct fx *f = *state;
	char *base = xasprintf("%s/base.raw", f->dir), *over = xasprintf("%s/over.qcow2", f->dir);
	struct hv_vol_info info;
	struct hv_vol *r;
	struct stat st;
	char buf[70000];
	ssize_t n;
	int64_t total = 0;
	int fd;

	fd = open(base, O_WRONLY | O_CREAT, 0600);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	{
		char *argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F",
			"raw", over, "32M", NULL };
		int status;

		assert_int_equal(spawn_wait(argv, -1, -1, 30000, &status), 0);
		assert_int_equal(status, 0);
	}
	r = hv_vol_open_read(f->hv, over, "qcow2", &info);
	assert_non_null(r);
	assert_string_equal(info.format, "qcow2");
	assert_int_equal(info.capacity, 32 << 20);
	assert_non_null(info.backing);
	assert_string_equal(info.backing, base);
	assert_null(info.pool);
	assert_int_equal(stat(over, &st), 0);
	assert_int_equal(info.length, st.st_size);
	while ((n = hv_vol_read(r, buf, sizeof buf)) > 0)
		total += n;
	assert_int_equal(n, 0);
	assert_int_equal(total, st.st_size);
	assert_int_equal(hv_vol_close(r, true), 0);
	hv_vol_info_clear(&info);

	/* A raw disk said to be qcow2: refused, not probed. */
	assert_null(hv_vol_open_read(f->hv, base, "qcow2", &info));
	assert_non_null(strstr(err_get(), "is not a qcow2 image, though its VM says it is"));
	/* Raw: its size is its capacity. */
	r = hv_vol_open_read(f->hv, base, "raw", &info);
	assert_non_null(r);
	assert_int_equal(info.capacity, 1 << 20);
	assert_int_equal(info.length, 1 << 20);
	assert_null(info.backing);
	hv_vol_close(r, false);
	hv_vol_info_clear(&info);
	free(base);
	free(over);
}

/* Deleting a disk file removes its VM's directory when that is empty, and
 * leaves what is not a file alone. */
static void
test_delete(void **state)
{
	struct fx *f = *state;
	struct hv_volume v = { "vm4", "d.raw", "raw", 1, NULL, NULL };
	char *path, *dir = xasprintf("%s/vm4", f->images);
	struct hv_vol *w;
	struct stat st;

	w = hv_vol_open_write(f->hv, &v, 1, &path);
	assert_non_null(w);
	assert_int_equal(hv_vol_write(w, "x", 1), 0);
	assert_int_equal(hv_vol_close(w, true), 0);
	assert_int_equal(hv_volume_delete(f->hv, dir), -1);
	assert_non_null(strstr(err_get(), "is not a disk file"));
	assert_int_equal(hv_volume_delete(f->hv, path), 0);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(stat(dir, &st), -1);
	assert_int_equal(stat(f->images, &st), 0);	/* never the images dir */
	assert_int_equal(hv_volume_delete(f->hv, path), 0);	/* gone already */
	free(path);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_sparse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_taken_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_qcow2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
