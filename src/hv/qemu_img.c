/*
 * qemu-img for the built-in backend's disk files: what an image is (its
 * format, size, backing file and internal snapshots), overlays made 0600
 * from birth, and the commands that change images (snapshot, rebase), run
 * from an argv with their stderr kept for the error.  Every read is made
 * with -U (force share): the image may belong to a running qemu.
 */
#include "hv/qemu.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "util/err.h"
#include "util/log.h"
#include "util/spawn.h"
#include "util/xalloc.h"

#define QIMG_INFO_MS 60000
/* A rebase or commit copies data: as long as the disk is big. */
#define QIMG_LONG_MS (12 * 3600 * 1000)

const char *
qemu_img_binary(void)
{
	const char *b = getenv("VMTTY_QEMU_IMG");

	return b != NULL && b[0] != '\0' ? b : "qemu-img";
}

/* qemu-img with A (A->v[0] is the program); -1 + err with its stderr. */
static int
run(const struct strv *a, int timeout_ms)
{
	char errbuf[1024], *line = strv_join_shell(a);
	int status;

	log_debug("qemu-img: %s", line);
	free(line);
	if (spawn_capture(a->v, NULL, NULL, NULL, errbuf, sizeof errbuf, timeout_ms,
	    &status) != 0)
		return -1;
	if (status == 0)
		return 0;
	if (status == 127 && strncmp(errbuf, "cannot run", 10) == 0)
		return err_set("%s; install it (Debian: qemu-utils)", errbuf);
	return err_set("%s %s failed (exit %d): %s", a->v[0], a->v[1], status,
	    errbuf[0] != '\0' ? errbuf : "no message");
}

static const char *
jstr(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static int64_t
jint(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;
}

/* One image of qemu-img info's JSON into OUT. */
static void
fill_info(json_object *o, struct qemu_img_info *out)
{
	const char *s;
	json_object *snaps;

	memset(out, 0, sizeof *out);
	strv_init(&out->snapshots);
	snprintf(out->format, sizeof out->format, "%s", (s = jstr(o, "format")) ? s : "");
	out->virtual_size = jint(o, "virtual-size");
	out->actual_size = jint(o, "actual-size");
	if ((s = jstr(o, "full-backing-filename")) != NULL || (s = jstr(o, "backing-filename")))
		out->backing = xstrdup(s);
	snprintf(out->backing_format, sizeof out->backing_format, "%s",
	    (s = jstr(o, "backing-filename-format")) != NULL ? s : "");
	if (json_object_object_get_ex(o, "snapshots", &snaps) &&
	    json_object_is_type(snaps, json_type_array)) {
		size_t n = json_object_array_length(snaps);

		out->vmstate = xcalloc(n > 0 ? n : 1, sizeof *out->vmstate);
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(snaps, i);

			strv_add(&out->snapshots, (s = jstr(e, "name")) != NULL ? s : "");
			out->vmstate[i] = jint(e, "vm-state-size");
		}
	}
}

int
qemu_img_info(const char *path, struct qemu_img_info *out)
{
	struct strv a;
	json_object *o;
	char *text;

	strv_init(&a);
	strv_add(&a, qemu_img_binary());
	strv_add(&a, "info");
	strv_add(&a, "-U");
	strv_add(&a, "--output=json");
	strv_add(&a, path);
	text = spawn_output(a.v, QIMG_INFO_MS);
	strv_free(&a);
	if (text == NULL)
		return err_prefix("cannot read disk image '%s'", path);
	o = json_tokener_parse(text);
	free(text);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return err_set("cannot read disk image '%s': qemu-img info gave no JSON", path);
	}
	fill_info(o, out);
	json_object_put(o);
	if (out->format[0] == '\0') {
		qemu_img_info_clear(out);
		return err_set("cannot read disk image '%s': qemu-img info gave no format", path);
	}
	return 0;
}

void
qemu_img_info_clear(struct qemu_img_info *i)
{
	free(i->backing);
	free(i->vmstate);
	strv_free(&i->snapshots);
	memset(i, 0, sizeof *i);
}

int64_t
qemu_img_vmstate(const struct qemu_img_info *i, const char *tag)
{
	for (size_t k = 0; k < i->snapshots.n; k++)
		if (strcmp(i->snapshots.v[k], tag) == 0)
			return i->vmstate[k];
	return -1;
}

int
qemu_img_chain(const char *path, struct strv *out)
{
	struct strv a;
	json_object *o;
	char *text;
	int rc = 0;

	strv_init(out);
	strv_init(&a);
	strv_add(&a, qemu_img_binary());
	strv_add(&a, "info");
	strv_add(&a, "-U");
	strv_add(&a, "--backing-chain");
	strv_add(&a, "--output=json");
	strv_add(&a, path);
	text = spawn_output(a.v, QIMG_INFO_MS);
	strv_free(&a);
	if (text == NULL)
		return err_prefix("cannot read disk image '%s'", path);
	o = json_tokener_parse(text);
	free(text);
	if (o == NULL || !json_object_is_type(o, json_type_array)) {
		rc = err_set("cannot read the backing chain of '%s': qemu-img gave no JSON list",
		    path);
	} else {
		for (size_t i = 0; i < json_object_array_length(o); i++) {
			const char *f = jstr(json_object_array_get_idx(o, i), "filename");

			if (f != NULL)
				strv_add(out, f);
		}
	}
	json_object_put(o);
	return rc;
}

/* Big-endian integers of a qcow2 header. */
static uint64_t
be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int
qemu_img_qcow2_header(int fd, int64_t *capacity, char **backing)
{
	unsigned char h[32];
	uint64_t off;
	uint32_t len;

	*backing = NULL;
	if (pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h || memcmp(h, "QFI\xfb", 4) != 0)
		return 0;
	off = be64(h + 8);
	len = be32(h + 16);
	*capacity = (int64_t)be64(h + 24);
	if (off == 0 || len == 0)
		return 1;
	/* qemu takes names up to 1023 bytes. */
	if (len > 1023 || off > INT64_MAX)
		return -1;
	*backing = xmalloc(len + 1);
	if (pread(fd, *backing, len, (off_t)off) != (ssize_t)len ||
	    memchr(*backing, '\0', len) != NULL) {
		free(*backing);
		*backing = NULL;
		return -1;
	}
	(*backing)[len] = '\0';
	return 1;
}

/*
 * The backing file of qcow2 image PATH, made absolute against PATH's
 * directory as qemu does: 1 and *OUT (allocated), 0 when PATH is no
 * qcow2 image or has no backing file, -1 when the header names one this
 * cannot follow (a protocol or json: name, a damaged header).
 */
static int
header_backing(const char *path, char **out)
{
	char *name;
	int64_t capacity;
	int fd, r;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		return 0;
	r = qemu_img_qcow2_header(fd, &capacity, &name);
	close(fd);
	if (r <= 0)
		return r;
	if (name == NULL)
		return 0;
	if (strchr(name, ':') != NULL) {
		free(name);
		return -1;
	}
	if (name[0] == '/') {
		*out = name;
	} else {
		const char *slash = strrchr(path, '/');

		*out = slash == NULL ? xstrdup(name) :
		    xasprintf("%.*s/%s", (int)(slash - path), path, name);
		free(name);
	}
	return 1;
}

char *
qemu_img_data_file(const char *path)
{
	unsigned char h[104], e[8];
	char *name = NULL;
	uint64_t at;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		return NULL;
	if (pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h || memcmp(h, "QFI\xfb", 4) != 0 ||
	    be32(h + 4) < 3) {
		close(fd);
		return NULL;	/* version 2 images have no data file */
	}
	/* The header extensions follow the header (header_length at 100),
	 * each a type, a length and its data padded to 8 bytes, until type 0. */
	at = be32(h + 100);
	for (int i = 0; i < 64 && pread(fd, e, sizeof e, (off_t)at) == (ssize_t)sizeof e; i++) {
		uint32_t type = be32(e), len = be32(e + 4);

		if (type == 0)
			break;
		if (type == 0x44415441 && len > 0 && len < 1024) {	/* "DATA" */
			name = xmalloc(len + 1);
			if (pread(fd, name, len, (off_t)(at + 8)) != (ssize_t)len ||
			    memchr(name, '\0', len) != NULL) {
				free(name);
				name = NULL;
			} else {
				name[len] = '\0';
			}
			break;
		}
		at += 8 + ((uint64_t)len + 7) / 8 * 8;
	}
	close(fd);
	if (name == NULL || name[0] == '/' || strrchr(path, '/') == NULL)
		return name;
	{
		const char *slash = strrchr(path, '/');
		char *abs = xasprintf("%.*s/%s", (int)(slash - path), path, name);

		free(name);
		return abs;
	}
}

int
qemu_img_chain_quick(const char *path, struct strv *out)
{
	char *cur = xstrdup(path), *next;
	int r;

	strv_init(out);
	strv_add(out, path);
	/* 64 links: deeper is a loop or a damaged image. */
	while (out->n < 64 && (r = header_backing(cur, &next)) == 1) {
		free(cur);
		strv_add(out, next);
		cur = next;
	}
	free(cur);
	if (out->n >= 64 || r < 0) {
		strv_free(out);
		return qemu_img_chain(path, out);
	}
	return 0;
}

int
qemu_img_overlay(const char *path, const char *backing, int64_t bytes)
{
	struct strv a;
	int fd, rc;

	/* Made here first, 0600 and only if absent: qemu-img then writes into
	 * the file it finds, which keeps its mode. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set("cannot create overlay '%s': %s", path, strerror(errno));
	close(fd);
	strv_init(&a);
	strv_add(&a, qemu_img_binary());
	strv_add(&a, "create");
	strv_add(&a, "-q");
	strv_add2(&a, "-f", "qcow2");
	/* -u: the backing file is not opened (a running qemu holds it); its
	 * size is given instead. */
	strv_add(&a, "-u");
	strv_add2(&a, "-b", backing);
	strv_add2(&a, "-F", "qcow2");
	strv_add(&a, path);
	strv_addf(&a, "%lld", (long long)bytes);
	rc = run(&a, QIMG_INFO_MS);
	strv_free(&a);
	if (rc != 0) {
		unlink(path);
		return err_prefix("cannot create overlay '%s'", path);
	}
	return 0;
}

int
qemu_img_snapshot(const char *op, const char *tag, const char *path)
{
	struct strv a;
	int rc;

	strv_init(&a);
	strv_add(&a, qemu_img_binary());
	strv_add(&a, "snapshot");
	strv_add(&a, "-q");
	strv_add2(&a, op, tag);
	strv_add(&a, path);
	rc = run(&a, QIMG_LONG_MS);
	strv_free(&a);
	return rc;
}

int
qemu_img_rebase(const char *path, const char *backing, const char *backing_fmt)
{
	struct strv a;
	int rc;

	strv_init(&a);
	strv_add(&a, qemu_img_binary());
	strv_add(&a, "rebase");
	strv_add(&a, "-q");
	strv_add2(&a, "-f", "qcow2");
	strv_add2(&a, "-b", backing != NULL ? backing : "");
	if (backing != NULL)
		strv_add2(&a, "-F", backing_fmt);
	strv_add(&a, path);
	rc = run(&a, QIMG_LONG_MS);
	strv_free(&a);
	return rc;
}
