/* image: the cache of downloaded images ($XDG_CACHE_HOME/vmtty/images/):
 * pull (download through util/fetch, verify the checksum, rename into
 * place), list, remove.  Files are named by their checksum
 * ("sha256-HEX"), so that templates sharing an image share the file; a
 * small index beside them (index.json), one entry per file, says which
 * URLs and templates each came from, so that a pull of a known URL needs
 * no network at all. */
#ifndef VMTTY_OPS_IMAGE_H
#define VMTTY_OPS_IMAGE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/checksum.h"
#include "util/fetch.h"

struct db;
struct template;

/* What to pull: URL, verified against CHECKSUM ("sha256:HEX"), else the
 * line for the URL's file name in the list at CHECKSUM_URL; with neither,
 * only when INSECURE.  TEMPLATE (may be NULL) names it in the index. */
struct image_source {
	const char *url;
	const char *checksum;
	const char *checksum_url;
	const char *template_name;
	bool insecure;
};

struct image_pull_opts {
	const atomic_bool *cancel;	/* set: stop, keep the .part */
	fetch_progress_fn progress;	/* NULL: none */
	/* Said once a download's server has answered: see fetch_opts. */
	void (*starting)(const char *url, const char *part, int64_t resume_from,
	    int64_t dropped, void *arg);
	void *arg;
};

/* One address an image was pulled from. */
struct image_url {
	char *url;
	char *name;		/* the URL's file name */
	bool verified;		/* false: pulled with --insecure-image */
};

/* One image of the index: one file, with every address and template it
 * was pulled for (oldest first). */
struct image_entry {
	char *file;		/* "sha256-HEX", in the cache directory */
	char *path;		/* its full path */
	char *checksum;		/* "sha256:HEX" */
	struct image_url *urls;
	size_t n_urls;
	char **templates;	/* the templates it was pulled for */
	size_t n_templates;
	int64_t size;
	int64_t fetched;	/* time(2) of its last pull */
	bool verified;		/* one of its URLs was verified */
};

/* The cache directory (made 0700 when missing), allocated; NULL + err. */
char *image_cache_dir(void);
/* The cache's file name for checksum C: "sha256-HEX" (allocated). */
char *image_cache_name(const struct checksum *c);
/* The file name of URL: its last path segment without query or fragment
 * (allocated); "" when it has none. */
char *image_url_file(const char *url);

/* Fill S from template T (its url, checksum, checksum_url).  -1 + err when
 * T names no image to download. */
int image_source_from_template(const struct template *t, struct image_source *s);

/* The cached file for S into *PATH (allocated): from the cache when it is
 * there (*CACHED true, no network), else downloaded, verified and renamed
 * into place.  -1 + err: one sentence naming the URL and the reason; a
 * cancelled or broken transfer leaves its .part for the next pull, a
 * checksum mismatch deletes it and names both checksums. */
int image_pull(const struct image_source *s, const struct image_pull_opts *o, char **path,
    bool *cached);

/* S's file when the cache has it (no network): 1 and *PATH (allocated),
 * or 0. */
int image_cached(const struct image_source *s, char **path);
/* What a pull of S would download: its size (-1: not said), through a
 * HEAD request.  CANCEL (may be NULL) stops it. */
int image_remote_size(const struct image_source *s, const atomic_bool *cancel, int64_t *size);

/* The index, one entry per file, the least recently pulled first. */
int image_list(struct image_entry **out, size_t *n);
void image_entries_free(struct image_entry *e, size_t n);
/* Remove the image NAME (its file name, checksum, URL file name, URL or
 * template), refused while a VM of DB needs the file (naming the VM).
 * *REMOVED (may be NULL) gets the file's path (allocated). */
int image_rm(struct db *db, const char *name, char **removed);

#endif
