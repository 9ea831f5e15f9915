/*
 * The built-in backend's disks as byte streams, for cold moves: a disk
 * file read as it is, and a new disk file in the images directory
 * ($XDG_DATA_HOME/vmtty/images/DIR/NAME) written from a stream.  A new file
 * is 0600 from birth and never replaces anything (O_EXCL); runs of zeros
 * are left as holes, so a sparse disk stays sparse; a finished file is on
 * disk (fsync) before the caller may remove its source.
 */
#include "hv/hv.h"
#include "hv/qemu.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/err.h"
#include "util/paths.h"
#include "util/xalloc.h"

struct qvol {
	int fd;
	char *path;
	bool write;
	int64_t length;		/* write: the bytes announced */
	int64_t off;		/* write: the bytes taken so far */
	char *dir;		/* write: the directory, when this stream made it */
};

/*
 * What the qcow2 header of FD (PATH) says: the virtual size and the
 * backing file's name.  The format is the VM's word, never guessed from
 * the bytes (a raw disk's guest can write anything at offset 0).
 */
static int
qcow2_header(int fd, const char *path, struct hv_vol_info *info)
{
	int r = qemu_img_qcow2_header(fd, &info->capacity, &info->backing);

	if (r == 0)
		return err_set("disk '%s' is not a qcow2 image, though its VM says it is; fix the "
		    "VM's disk format (vmtty edit)", path);
	if (r < 0)
		return err_set("disk '%s': its qcow2 header names a backing file that cannot be "
		    "read", path);
	return 0;
}

int
qemu_vol_open_read(struct hv *hv, const char *path, const char *format, struct hv_vol_info *info,
    void **out)
{
	struct qvol *q;
	struct stat st;
	int fd;

	(void)hv;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return err_set("cannot read disk '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set("disk '%s' is not a regular file; only disk files move between "
		    "hosts", path);
	}
	info->format = xstrdup(format != NULL ? format : "raw");
	info->length = st.st_size;
	info->capacity = st.st_size;
	if (strcmp(info->format, "qcow2") == 0 && qcow2_header(fd, path, info) != 0) {
		close(fd);
		return -1;
	}
	q = xcalloc(1, sizeof *q);
	q->fd = fd;
	q->path = xstrdup(path);
	*out = q;
	return 0;
}

/* A name of one path component: not empty, no '/', not "." or "..". */
static int
plain_name(const char *what, const char *s)
{
	if (s == NULL || s[0] == '\0' || strchr(s, '/') != NULL || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return err_set("%s '%s' cannot be a file name in the images directory; give "
		    "another", what, s != NULL ? s : "");
	return 0;
}

int
qemu_vol_open_write(struct hv *hv, const struct hv_volume *v, int64_t length, char **path,
    void **out)
{
	char *images, *dir;
	struct qvol *q;
	bool made = false;
	int fd;

	(void)hv;
	if (plain_name("volume name", v->name) != 0 ||
	    (v->pool != NULL && plain_name("directory", v->pool) != 0))
		return -1;
	if (length < 0)
		return err_set("volume '%s': a length of %lld bytes is not one", v->name,
		    (long long)length);
	images = qemu_images_dir();
	if (paths_private_dir(images, "images directory", "remove it, or set XDG_DATA_HOME "
	    "to a directory of your own") != 0) {
		free(images);
		return -1;
	}
	if (v->pool == NULL) {
		dir = images;
	} else {
		dir = xasprintf("%s/%s", images, v->pool);
		free(images);
		if (mkdir(dir, 0700) == 0) {
			made = true;
		} else if (errno != EEXIST) {
			err_set("cannot create directory '%s': %s", dir, strerror(errno));
			free(dir);
			return -1;
		}
	}
	*path = xasprintf("%s/%s", dir, v->name);
	fd = open(*path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			err_set("'%s' exists already; move or remove it first", *path);
		else
			err_set("cannot create '%s': %s", *path, strerror(errno));
		if (made)
			rmdir(dir);
		free(dir);
		free(*path);
		*path = NULL;
		return -1;
	}
	q = xcalloc(1, sizeof *q);
	q->fd = fd;
	q->path = xstrdup(*path);
	q->write = true;
	q->length = length;
	q->dir = made ? dir : NULL;
	if (!made)
		free(dir);
	*out = q;
	return 0;
}

ssize_t
qemu_vol_read(struct hv *hv, void *st, void *buf, size_t len)
{
	struct qvol *q = st;
	ssize_t n;

	(void)hv;
	while ((n = read(q->fd, buf, len)) < 0 && errno == EINTR)
		continue;
	if (n < 0)
		return err_set("cannot read disk '%s': %s", q->path, strerror(errno));
	return n;
}

static bool
all_zero(const unsigned char *p, size_t len)
{
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

int
qemu_vol_write(struct hv *hv, void *st, const void *buf, size_t len)
{
	struct qvol *q = st;
	const char *p = buf;

	(void)hv;
	if (q->off + (int64_t)len > q->length)
		return err_set("'%s': more than the %lld bytes announced", q->path,
		    (long long)q->length);
	/* A hole where the data is zeros: the file stays sparse. */
	if (all_zero(buf, len)) {
		if (lseek(q->fd, (off_t)len, SEEK_CUR) < 0)
			return err_set("cannot write '%s': %s", q->path, strerror(errno));
		q->off += (int64_t)len;
		return 0;
	}
	while (len > 0) {
		ssize_t n = write(q->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_set("cannot write '%s': %s", q->path,
			    n < 0 ? strerror(errno) : "no space written");
		p += n;
		len -= (size_t)n;
		q->off += n;
	}
	return 0;
}

/* The directory of PATH on disk too, so that a new name survives a crash. */
static void
sync_dir(const char *path)
{
	char *dir = xstrndup(path, (size_t)(strrchr(path, '/') - path));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

/* A written file finished: its length set (a trailing hole), on disk. */
static int
finish(struct qvol *q)
{
	if (q->off != q->length)
		return err_set("'%s' got %lld of the %lld bytes announced", q->path,
		    (long long)q->off, (long long)q->length);
	if (ftruncate(q->fd, (off_t)q->length) != 0 || fsync(q->fd) != 0)
		return err_set("cannot write '%s': %s", q->path, strerror(errno));
	sync_dir(q->path);
	return 0;
}

int
qemu_vol_close(struct hv *hv, void *st, bool ok)
{
	struct qvol *q = st;
	int rc = 0;

	(void)hv;
	if (q->write && ok && finish(q) != 0)
		rc = -1;
	if (close(q->fd) != 0 && q->write && ok && rc == 0)
		rc = err_set("cannot write '%s': %s", q->path, strerror(errno));
	if (q->write && (!ok || rc != 0)) {
		unlink(q->path);
		if (q->dir != NULL)
			rmdir(q->dir);
	}
	free(q->path);
	free(q->dir);
	free(q);
	return rc;
}

char *
qemu_images_dir(void)
{
	char *data = paths_data_dir(), *dir;

	dir = xasprintf("%s/images", data);
	free(data);
	return dir;
}

/*
 * Delete disk file PATH; its directory too when it is a directory of the
 * images directory (one VM's) and is empty now.  A file that is gone
 * already is fine.
 */
int
qemu_volume_delete(struct hv *hv, const char *path)
{
	char *images = qemu_images_dir(), *dir;
	const char *slash = strrchr(path, '/');
	struct stat st;
	size_t n = strlen(images);

	(void)hv;
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		free(images);
		return err_set("'%s' is not a disk file; left as it is", path);
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		err_set("cannot delete '%s': %s", path, strerror(errno));
		free(images);
		return -1;
	}
	if (slash != NULL && (size_t)(slash - path) > n + 1 && strncmp(path, images, n) == 0 &&
	    path[n] == '/' && memchr(path + n + 1, '/', (size_t)(slash - path) - n - 1) == NULL) {
		dir = xstrndup(path, (size_t)(slash - path));
		rmdir(dir);	/* only when empty */
		free(dir);
	}
	free(images);
	return 0;
}
