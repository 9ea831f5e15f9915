/*
 * The image cache.  Why an index file beside the images and not the
 * inventory: the cache is per user and disposable ($XDG_CACHE_HOME may be
 * wiped at any time, and then the index goes with the files it
 * describes), while the inventory (which --db / VMTTY_DB may point
 * anywhere) holds VMs and hosts; a table there would go stale the moment
 * the cache is cleaned.  The index is JSON (json-c, already linked),
 * rewritten whole through a temporary file and rename, under a lock.
 */
#include "ops/image.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "model/template.h"
#include "ops/keep.h"
#include "hv/hv.h"
#include "util/err.h"
#include "util/paths.h"
#include "util/str.h"
#include "util/xalloc.h"

#define IMAGE_SUMS_MAX (4 << 20)	/* a checksum list larger than this is not one */

char *
image_cache_dir(void)
{
	char *base = paths_cache_dir();
	char *dir = xasprintf("%s/images", base);

	free(base);
	if (paths_private_dir(dir, "the image cache", "remove it or set XDG_CACHE_HOME") != 0) {
		free(dir);
		return NULL;
	}
	return dir;
}

char *
image_cache_name(const struct checksum *c)
{
	return xasprintf("%s-%s", checksum_algo_name(c->algo), c->hex);
}

char *
image_url_file(const char *url)
{
	const char *start = strstr(url, "://");
	size_t end;
	const char *slash;

	start = start != NULL ? start + 3 : url;
	end = strcspn(start, "?#");
	slash = memrchr(start, '/', end);
	if (slash == NULL)
		return xstrdup("");
	return xstrndup(slash + 1, end - (size_t)(slash + 1 - start));
}

int
image_source_from_template(const struct template *t, struct image_source *s)
{
	memset(s, 0, sizeof *s);
	if (t->url == NULL)
		return err_set("template '%s' names no image to download (no 'url' in "
		    "[install]); give the image's path", t->name);
	s->url = t->url;
	s->checksum = t->checksum;
	s->checksum_url = t->checksum_url;
	s->template_name = t->name;
	return 0;
}

/* ---- the index ---- */

static char *
jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return xstrdup(json_object_get_string(v));
}

static int64_t
jint(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static void
entry_clear(struct image_entry *e)
{
	free(e->file);
	free(e->path);
	free(e->checksum);
	for (size_t i = 0; i < e->n_urls; i++) {
		free(e->urls[i].url);
		free(e->urls[i].name);
	}
	free(e->urls);
	for (size_t i = 0; i < e->n_templates; i++)
		free(e->templates[i]);
	free(e->templates);
	memset(e, 0, sizeof *e);
}

void
image_entries_free(struct image_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		entry_clear(&e[i]);
	free(e);
}

/* A file name of the cache: "sha256-HEX" and nothing else. */
static bool
cache_file_ok(const char *f)
{
	return f != NULL && f[0] != '.' && strchr(f, '/') == NULL && f[0] != '\0';
}

/* URL among E's addresses (verified when VERIFIED: a verified address
 * stays verified, as the file's content is what was checked). */
static void
entry_add_url(struct image_entry *e, const char *url, bool verified)
{
	struct image_url *u;

	for (size_t i = 0; i < e->n_urls; i++)
		if (strcmp(e->urls[i].url, url) == 0) {
			e->urls[i].verified |= verified;
			e->verified |= verified;
			return;
		}
	e->urls = xreallocarray(e->urls, e->n_urls + 1, sizeof *e->urls);
	u = &e->urls[e->n_urls++];
	u->url = xstrdup(url);
	u->name = image_url_file(url);
	u->verified = verified;
	e->verified |= verified;
}

static void
entry_add_template(struct image_entry *e, const char *name)
{
	for (size_t i = 0; i < e->n_templates; i++)
		if (strcmp(e->templates[i], name) == 0)
			return;
	e->templates = xreallocarray(e->templates, e->n_templates + 1, sizeof *e->templates);
	e->templates[e->n_templates++] = xstrdup(name);
}

/* Drop URL (may be NULL) and the template NAME (may be NULL) from E: they
 * now belong to another file. */
static void
entry_drop(struct image_entry *e, const char *url, const char *name)
{
	size_t k = 0;

	e->verified = false;
	for (size_t i = 0; i < e->n_urls; i++) {
		if (url != NULL && strcmp(e->urls[i].url, url) == 0) {
			free(e->urls[i].url);
			free(e->urls[i].name);
			continue;
		}
		e->verified |= e->urls[i].verified;
		e->urls[k++] = e->urls[i];
	}
	e->n_urls = k;
	k = 0;
	for (size_t i = 0; i < e->n_templates; i++) {
		if (name != NULL && strcmp(e->templates[i], name) == 0) {
			free(e->templates[i]);
			continue;
		}
		e->templates[k++] = e->templates[i];
	}
	e->n_templates = k;
}

/* The entry of FILE among E[0..N), else NULL. */
static struct image_entry *
entry_of(struct image_entry *e, size_t n, const char *file)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(e[i].file, file) == 0)
			return &e[i];
	return NULL;
}

/* One object of the index into E (new, or the entry of its file, which an
 * index of an older vmtty has once per URL and template). */
static void
index_merge(struct image_entry *e, struct json_object *o)
{
	struct json_object *a, *v;
	char *s;

	if (e->checksum == NULL)
		e->checksum = jstr(o, "checksum");
	if (jint(o, "size") > 0)
		e->size = jint(o, "size");
	if (jint(o, "fetched") > e->fetched)
		e->fetched = jint(o, "fetched");
	if (json_object_object_get_ex(o, "urls", &a) && json_object_is_type(a, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(a); i++) {
			v = json_object_array_get_idx(a, i);
			if ((s = jstr(v, "url")) != NULL)
				entry_add_url(e, s, jint(v, "verified") != 0);
			free(s);
		}
	} else if ((s = jstr(o, "url")) != NULL) {
		entry_add_url(e, s, jint(o, "verified") != 0);
		free(s);
	}
	if (json_object_object_get_ex(o, "templates", &a) &&
	    json_object_is_type(a, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(a); i++) {
			v = json_object_array_get_idx(a, i);
			if (json_object_is_type(v, json_type_string))
				entry_add_template(e, json_object_get_string(v));
		}
	} else if ((s = jstr(o, "template")) != NULL) {
		entry_add_template(e, s);
		free(s);
	}
}

/* The index of DIR into *OUT / *N, one entry per file (a missing index is
 * empty). */
static int
index_read(const char *dir, struct image_entry **out, size_t *n)
{
	char path[4096];
	struct json_object *root, *a;

	*out = NULL;
	*n = 0;
	snprintf(path, sizeof path, "%s/index.json", dir);
	if (access(path, F_OK) != 0)
		return 0;
	root = json_object_from_file(path);
	if (root == NULL || !json_object_object_get_ex(root, "images", &a) ||
	    !json_object_is_type(a, json_type_array)) {
		json_object_put(root);
		return err_set("the image index '%s' is not valid JSON; remove it (the images "
		    "stay, and are indexed again when pulled)", path);
	}
	*out = xcalloc(json_object_array_length(a) + 1, sizeof **out);
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *o = json_object_array_get_idx(a, i);
		char *file = jstr(o, "file");
		struct image_entry *e;

		if (!cache_file_ok(file)) {
			free(file);
			continue;
		}
		if ((e = entry_of(*out, *n, file)) != NULL) {
			free(file);
		} else {
			e = &(*out)[(*n)++];
			e->file = file;
			e->path = xasprintf("%s/%s", dir, file);
		}
		index_merge(e, o);
	}
	json_object_put(root);
	return 0;
}

static void
jadd(struct json_object *o, const char *key, const char *v)
{
	if (v != NULL)
		json_object_object_add(o, key, json_object_new_string(v));
}

/* Write E[0..N) as the index of DIR (0600, through a rename). */
static int
index_write(const char *dir, const struct image_entry *e, size_t n)
{
	struct json_object *root = json_object_new_object(), *a = json_object_new_array();
	char path[4096], tmp[4096];
	const char *text;
	size_t len;
	int fd, rc = 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();
		struct json_object *urls = json_object_new_array(), *tmpl = json_object_new_array();

		jadd(o, "file", e[i].file);
		jadd(o, "checksum", e[i].checksum);
		for (size_t j = 0; j < e[i].n_urls; j++) {
			struct json_object *u = json_object_new_object();

			jadd(u, "url", e[i].urls[j].url);
			json_object_object_add(u, "verified",
			    json_object_new_int(e[i].urls[j].verified));
			json_object_array_add(urls, u);
		}
		json_object_object_add(o, "urls", urls);
		for (size_t j = 0; j < e[i].n_templates; j++)
			json_object_array_add(tmpl, json_object_new_string(e[i].templates[j]));
		json_object_object_add(o, "templates", tmpl);
		json_object_object_add(o, "size", json_object_new_int64(e[i].size));
		json_object_object_add(o, "fetched", json_object_new_int64(e[i].fetched));
		json_object_array_add(a, o);
	}
	json_object_object_add(root, "images", a);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY);
	len = strlen(text);
	snprintf(path, sizeof path, "%s/index.json", dir);
	snprintf(tmp, sizeof tmp, "%s/.index.json.tmp", dir);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
	    fsync(fd) != 0 || rename(tmp, path) != 0) {
		rc = err_set("cannot write the image index '%s': %s", path, strerror(errno));
		unlink(tmp);
	}
	if (fd >= 0)
		close(fd);
	json_object_put(root);
	return rc;
}

/* An exclusive lock on DIR's index; the fd, or -1 + err. */
static int
index_lock(const char *dir)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof path, "%s/.lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		err_set("cannot lock the image cache '%s': %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* What a pull settled on, for the index. */
struct image_pulled {
	const char *file;	/* "sha256-HEX" */
	const char *checksum;
	const char *url;
	const char *template_name;	/* NULL: pulled by URL */
	int64_t size;
	bool verified;
};

/* Record P in DIR's index: its file's entry gets its URL and template
 * (which leave any other file's entry: they now give this one) and goes
 * last, as the most recently pulled. */
static int
index_add(const char *dir, const struct image_pulled *p)
{
	struct image_entry *e, *hit, last;
	size_t n;
	int lock, rc;

	if ((lock = index_lock(dir)) < 0)
		return -1;
	if (index_read(dir, &e, &n) != 0) {
		close(lock);
		return -1;
	}
	e = xreallocarray(e, n + 1, sizeof *e);
	if ((hit = entry_of(e, n, p->file)) != NULL) {
		last = *hit;
		memmove(hit, hit + 1, (size_t)(e + n - (hit + 1)) * sizeof *e);
		n--;
	} else {
		memset(&last, 0, sizeof last);
		last.file = xstrdup(p->file);
		last.path = xasprintf("%s/%s", dir, p->file);
		last.checksum = xstrdup(p->checksum);
	}
	for (size_t i = 0; i < n; i++)
		entry_drop(&e[i], p->url, p->template_name);
	entry_add_url(&last, p->url, p->verified);
	if (p->template_name != NULL)
		entry_add_template(&last, p->template_name);
	last.size = p->size;
	last.fetched = (int64_t)time(NULL);
	e[n++] = last;
	rc = index_write(dir, e, n);
	image_entries_free(e, n);
	close(lock);
	return rc;
}

/* ---- pull ---- */

/* A regular file at PATH: its size, else -1. */
static int64_t
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1;
}

/* The index's entry for S (by URL, and by checksum when WANT) whose file
 * is still there, into *HIT; false: none. */
static bool
lookup(const char *dir, const struct image_source *s, const struct checksum *want,
    struct image_entry *hit)
{
	struct image_entry *e;
	size_t n;
	char sum[CHECKSUM_TEXT_MAX + 1];
	bool found = false;

	if (want != NULL)
		checksum_format(want, sum, sizeof sum);
	if (index_read(dir, &e, &n) != 0) {
		err_clear();
		return false;
	}
	for (size_t i = n; i-- > 0 && !found;) {
		const struct image_url *u = NULL;

		for (size_t j = 0; j < e[i].n_urls && u == NULL; j++)
			if (strcmp(e[i].urls[j].url, s->url) == 0)
				u = &e[i].urls[j];
		if (u == NULL || e[i].checksum == NULL || file_size(e[i].path) < 0)
			continue;
		if (want != NULL && strcmp(e[i].checksum, sum) != 0)
			continue;
		/* An unverified download serves only an insecure pull. */
		if (!u->verified && !s->insecure)
			continue;
		*hit = e[i];
		memset(&e[i], 0, sizeof e[i]);
		found = true;
	}
	image_entries_free(e, n);
	return found;
}

/* The checksum S asks for into *WANT (*HAVE false: none; an insecure
 * pull).  Reads S's checksum list over the network. */
static int
wanted(const struct image_source *s, const struct image_pull_opts *o, struct checksum *want,
    bool *have)
{
	struct fetch_opts fo = { .cancel = o != NULL ? o->cancel : NULL };
	char *text, *file;
	int rc;

	*have = false;
	if (s->checksum != NULL) {
		if (checksum_parse(s->checksum, want) != 0)
			return -1;
		*have = true;
		return 0;
	}
	if (s->checksum_url != NULL) {
		if (fetch_text(s->checksum_url, IMAGE_SUMS_MAX, &fo, &text) != 0)
			return err_prefix("cannot get the checksums of '%s'", s->url);
		file = image_url_file(s->url);
		rc = checksum_list_find(text, file, want);
		free(text);
		free(file);
		if (rc != 0) {
			char *u = str_escape(s->checksum_url);

			err_prefix("cannot verify '%s': '%s'", s->url, u);
			free(u);
			return -1;
		}
		*have = true;
		return 0;
	}
	if (s->insecure)
		return 0;
	if (s->template_name != NULL)
		return err_set("template '%s' gives no checksum for its image '%s', which "
		    "cannot be verified; give --insecure-image to use it unverified",
		    s->template_name, s->url);
	return err_set("no checksum for '%s', which cannot be verified; give --checksum "
	    "sha256:HEX, or --insecure-image to use it unverified", s->url);
}

/* The partial download of URL in DIR (allocated): one per URL, named by
 * the URL's own SHA-256 (no URL text in file names). */
static char *
part_path(const char *dir, const char *url)
{
	struct checksum c;

	checksum_buf(url, strlen(url), CHECKSUM_SHA256, &c);
	return xasprintf("%s/download-%.16s.part", dir, c.hex);
}

/* Verify PART against WANT (when HAVE) and move it into place in DIR as
 * *FINAL. */
static int
settle(const char *dir, const char *part, const struct image_source *s,
    const struct checksum *want, bool have, const atomic_bool *cancel, char **final,
    struct checksum *got)
{
	char a[CHECKSUM_TEXT_MAX + 1], b[CHECKSUM_TEXT_MAX + 1];
	char *name, *u;

	if (checksum_file(part, have ? want->algo : CHECKSUM_SHA256, cancel, got) != 0)
		return -1;
	if (have && !checksum_equal(want, got)) {
		checksum_format(want, a, sizeof a);
		checksum_format(got, b, sizeof b);
		unlink(part);
		u = str_escape(s->url);
		err_set("image '%s' is corrupt: expected %s, found %s; the download was deleted",
		    u, a, b);
		free(u);
		return -1;
	}
	name = image_cache_name(got);
	*final = xasprintf("%s/%s", dir, name);
	free(name);
	if (rename(part, *final) != 0) {
		err_set("cannot move the download to '%s': %s", *final, strerror(errno));
		free(*final);
		*final = NULL;
		return -1;
	}
	return 0;
}

int
image_pull(const struct image_source *s, const struct image_pull_opts *o, char **path,
    bool *cached)
{
	struct fetch_opts fo = { 0 };
	struct image_pulled add;
	struct image_entry hit;
	struct checksum want, got;
	char sum[CHECKSUM_TEXT_MAX + 1];
	char *dir, *part = NULL, *final = NULL;
	bool have = false;
	int rc = -1;

	*path = NULL;
	*cached = false;
	/* The cache lists an image by the URL's file name. */
	final = image_url_file(s->url);
	if (final[0] == '\0') {
		char *u = str_escape(s->url);

		err_set("'%s' names no file (it ends in '/' or has no path); give the address "
		    "of the image file itself", u);
		free(u);
		free(final);
		return -1;
	}
	free(final);
	final = NULL;
	memset(&hit, 0, sizeof hit);
	memset(&add, 0, sizeof add);
	if ((dir = image_cache_dir()) == NULL)
		return -1;
	if (s->checksum != NULL && checksum_parse(s->checksum, &want) != 0)
		goto out;
	/* Known: no network at all. */
	if (lookup(dir, s, s->checksum != NULL ? &want : NULL, &hit)) {
		*cached = true;
		final = xstrdup(hit.path);
		snprintf(sum, sizeof sum, "%s", hit.checksum);
		/* The URL's flag stays as it is (index_add keeps "verified"). */
		add.verified = false;
	} else {
		if (wanted(s, o, &want, &have) != 0)
			goto out;
		if (have) {
			char *name = image_cache_name(&want);

			final = xasprintf("%s/%s", dir, name);
			free(name);
			if (file_size(final) < 0) {
				free(final);
				final = NULL;
			}
		}
		if (final != NULL) {
			*cached = true;
			got = want;
		} else {
			int cancelled;

			part = part_path(dir, s->url);
			if (o != NULL) {
				fo.cancel = o->cancel;
				fo.progress = o->progress;
				fo.starting = o->starting;
				fo.arg = o->arg;
			}
			if (fetch_file(s->url, part, &fo, &cancelled) != 0 ||
			    settle(dir, part, s, &want, have, o != NULL ? o->cancel : NULL,
			    &final, &got) != 0)
				goto out;
		}
		checksum_format(&got, sum, sizeof sum);
		add.verified = have;
	}
	add.file = strrchr(final, '/') + 1;
	add.url = s->url;
	add.checksum = sum;
	add.template_name = s->template_name;
	add.size = file_size(final);
	rc = index_add(dir, &add);
	if (rc == 0) {
		*path = final;
		final = NULL;
	}
out:
	entry_clear(&hit);
	free(final);
	free(part);
	free(dir);
	return rc;
}

int
image_cached(const struct image_source *s, char **path)
{
	struct image_entry hit;
	struct checksum want;
	char *dir = image_cache_dir();
	int found = 0;

	*path = NULL;
	if (dir == NULL) {
		err_clear();
		return 0;
	}
	if (s->checksum == NULL || checksum_parse(s->checksum, &want) == 0) {
		memset(&hit, 0, sizeof hit);
		if (lookup(dir, s, s->checksum != NULL ? &want : NULL, &hit)) {
			*path = xstrdup(hit.path);
			found = 1;
		}
		entry_clear(&hit);
	}
	err_clear();
	free(dir);
	return found;
}

int
image_remote_size(const struct image_source *s, const atomic_bool *cancel, int64_t *size)
{
	struct fetch_opts fo = { .cancel = cancel };

	return fetch_size(s->url, &fo, size);
}

int
image_list(struct image_entry **out, size_t *n)
{
	char *dir = image_cache_dir();
	int rc;

	*out = NULL;
	*n = 0;
	if (dir == NULL)
		return -1;
	rc = index_read(dir, out, n);
	free(dir);
	return rc;
}

static bool
entry_matches(const struct image_entry *e, const char *name)
{
	if ((e->file != NULL && strcmp(e->file, name) == 0) ||
	    (e->checksum != NULL && strcmp(e->checksum, name) == 0))
		return true;
	for (size_t i = 0; i < e->n_urls; i++)
		if (strcmp(e->urls[i].url, name) == 0 || strcmp(e->urls[i].name, name) == 0)
			return true;
	for (size_t i = 0; i < e->n_templates; i++)
		if (strcmp(e->templates[i], name) == 0)
			return true;
	return false;
}

int
image_rm(struct db *db, const char *name, char **removed)
{
	struct image_entry *e;
	struct keep k;
	const struct hv_keep *hk;
	const char *role = NULL;
	char *dir, *file = NULL;
	size_t n, m = 0;
	int lock, rc = -1;

	if (removed != NULL)
		*removed = NULL;
	if ((dir = image_cache_dir()) == NULL)
		return -1;
	if ((lock = index_lock(dir)) < 0) {
		free(dir);
		return -1;
	}
	if (index_read(dir, &e, &n) != 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (entry_matches(&e[i], name)) {
			if (file != NULL && strcmp(file, e[i].path) != 0) {
				err_set("'%s' names more than one cached image; give its file "
				    "name (vmtty image list)", name);
				goto out_free;
			}
			free(file);
			file = xstrdup(e[i].path);
		}
	if (file == NULL) {
		err_set("no cached image '%s'; see vmtty image list", name);
		goto out_free;
	}
	if (keep_build(db, -1, &k) != 0)
		goto out_free;
	hk = keep_find(&k, file, &role);
	if (hk != NULL) {
		err_set("image '%s' is in use: VM '%s' needs it (%s); delete that VM first",
		    name, hk->vm, role != NULL ? role : "its disk");
		keep_free(&k);
		goto out_free;
	}
	keep_free(&k);
	if (unlink(file) != 0 && errno != ENOENT) {
		err_set("cannot remove '%s': %s", file, strerror(errno));
		goto out_free;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(e[i].path, file) == 0)
			entry_clear(&e[i]);
		else
			e[m++] = e[i];
	}
	rc = index_write(dir, e, m);
	n = m;
	if (rc == 0 && removed != NULL) {
		*removed = file;
		file = NULL;
	}
out_free:
	image_entries_free(e, n);
out:
	free(file);
	close(lock);
	free(dir);
	return rc;
}
