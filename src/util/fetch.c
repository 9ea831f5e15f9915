#include "util/fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"
#include "util/str.h"
#include "util/xalloc.h"

#ifndef VMTTY_VERSION
#define VMTTY_VERSION "0"
#endif

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static CURLcode fetch_init_rc;

static void
fetch_global_init(void)
{
	fetch_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* One transfer's state, shared by the callbacks. */
struct fetch_xfer {
	CURL *curl;
	const struct fetch_opts *opts;
	const char *url, *part;	/* fetch_file's */
	int fd;			/* the partial file; -1: into BUF */
	char *buf;
	size_t len, max;
	bool too_big;
	bool started;		/* the first body bytes came */
	int write_errno;
	int64_t have;		/* bytes in the file before this transfer */
	int64_t got;		/* bytes this transfer wrote */
	struct timespec t0, last;
	bool cancelled;
};

static double
since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void
report(struct fetch_xfer *x, int64_t dltotal, int done)
{
	struct fetch_progress p;
	struct timespec now;

	if (x->opts == NULL || x->opts->progress == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!done && since(&x->last, &now) < 0.1)
		return;
	x->last = now;
	memset(&p, 0, sizeof p);
	p.resumed_from = x->have;
	p.bytes = x->have + x->got;
	p.total = dltotal > 0 ? x->have + dltotal : -1;
	p.elapsed = since(&x->t0, &now);
	p.rate = p.elapsed > 0 ? (double)x->got / p.elapsed : 0;
	p.eta = p.total > 0 && p.rate > 0 ? (int64_t)((double)(p.total - p.bytes) / p.rate) : -1;
	if (p.eta < 0 && p.total > 0 && p.bytes >= p.total)
		p.eta = 0;
	x->opts->progress(&p, done, x->opts->arg);
}

static int
on_xferinfo(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
    curl_off_t ulnow)
{
	struct fetch_xfer *x = arg;

	(void)dlnow, (void)ultotal, (void)ulnow;
	if (x->opts != NULL && x->opts->cancel != NULL && atomic_load(x->opts->cancel)) {
		x->cancelled = true;
		return 1;
	}
	if (x->fd >= 0)
		report(x, (int64_t)dltotal, 0);
	return 0;
}

static size_t
on_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct fetch_xfer *x = arg;
	size_t n = size * nmemb, off = 0;

	if (x->fd < 0) {
		if (x->len + n > x->max) {
			x->too_big = true;
			return 0;
		}
		x->buf = xrealloc(x->buf, x->len + n + 1);
		memcpy(x->buf + x->len, data, n);
		x->len += n;
		x->buf[x->len] = '\0';
		return n;
	}
	if (!x->started) {
		int64_t dropped = 0;
		long code = 0;

		x->started = true;
		curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code);
		/* Asked for the rest, given the whole: start the file over. */
		if (x->have > 0 && code != 206) {
			if (ftruncate(x->fd, 0) != 0 || lseek(x->fd, 0, SEEK_SET) != 0) {
				x->write_errno = errno;
				return 0;
			}
			dropped = x->have;
			x->have = 0;
		}
		if (x->opts != NULL && x->opts->starting != NULL)
			x->opts->starting(x->url, x->part, x->have, dropped, x->opts->arg);
	}
	while (off < n) {
		ssize_t w = write(x->fd, data + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			x->write_errno = w < 0 ? errno : EIO;
			return 0;
		}
		off += (size_t)w;
	}
	x->got += (int64_t)n;
	return n;
}

static void
setup(struct fetch_xfer *x, const char *url, char *errbuf)
{
	const char *env = getenv("VMTTY_CONNECT_TIMEOUT");
	long timeout = x->opts != NULL ? x->opts->connect_timeout : 0;
	CURL *c = x->curl;

	if (timeout <= 0)
		timeout = env != NULL && atol(env) > 0 ? atol(env) : 30;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	/* An https:// download is never redirected to plain http. */
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR,
	    strncmp(url, "https://", 8) == 0 ? "https" : "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout);
	/* A transfer that moves nothing for a minute is given up. */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "vmtty/" VMTTY_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
}

/* The message for a failed transfer RC of URL. */
static int
fail(struct fetch_xfer *x, const char *url, CURLcode rc, const char *errbuf)
{
	char *u = str_escape(url);
	long code = 0;

	if (x->cancelled)
		err_set("download of '%s' cancelled", u);
	else if (x->write_errno != 0)
		err_set("cannot download '%s': cannot write the file: %s", u,
		    strerror(x->write_errno));
	else if (x->too_big)
		err_set("cannot download '%s': it is larger than %zu bytes", u, x->max);
	else if (rc == CURLE_HTTP_RETURNED_ERROR &&
	    curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code > 0)
		err_set("cannot download '%s': the server answered HTTP %ld", u, code);
	else {
		char *why = str_escape(errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));

		err_set("cannot download '%s': %s", u, why);
		free(why);
	}
	free(u);
	return -1;
}

static int
xfer_begin(struct fetch_xfer *x, const struct fetch_opts *opts)
{
	memset(x, 0, sizeof *x);
	x->fd = -1;
	x->opts = opts;
	pthread_once(&fetch_once, fetch_global_init);
	if (fetch_init_rc != CURLE_OK)
		return err_set("cannot start libcurl: %s", curl_easy_strerror(fetch_init_rc));
	if ((x->curl = curl_easy_init()) == NULL)
		return err_set("cannot start a libcurl transfer");
	clock_gettime(CLOCK_MONOTONIC, &x->t0);
	x->last = x->t0;
	x->last.tv_sec -= 1;
	return 0;
}

int
fetch_file(const char *url, const char *part, const struct fetch_opts *opts, int *cancelled)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	char range[32];
	struct fetch_xfer x;
	struct stat st;
	curl_off_t total = -1;
	CURLcode rc;
	long code = 0;
	int ret = -1;

	if (cancelled != NULL)
		*cancelled = 0;
	if (xfer_begin(&x, opts) != 0)
		return -1;
	x.fd = open(part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (x.fd < 0 || fstat(x.fd, &st) != 0) {
		err_set("cannot open '%s': %s", part, strerror(errno));
		goto out;
	}
	/* One writer per partial file: a second vmtty pulling the same URL
	 * would interleave its bytes. */
	if (flock(x.fd, LOCK_EX | LOCK_NB) != 0) {
		char *u = str_escape(url);

		err_set("'%s' is being downloaded by another vmtty already; wait for it", u);
		free(u);
		goto out;
	}
	x.have = st.st_size;
	x.url = url;
	x.part = part;
	setup(&x, url, errbuf);
	if (x.have > 0) {
		snprintf(range, sizeof range, "%lld-", (long long)x.have);
		curl_easy_setopt(x.curl, CURLOPT_RANGE, range);
	}
	rc = curl_easy_perform(x.curl);
	curl_easy_getinfo(x.curl, CURLINFO_RESPONSE_CODE, &code);
	/* Asked for the rest of a file that was already whole. */
	if (rc == CURLE_HTTP_RETURNED_ERROR && code == 416 && x.have > 0)
		rc = CURLE_OK;
	if (rc != CURLE_OK) {
		fail(&x, url, rc, errbuf);
		if (cancelled != NULL)
			*cancelled = x.cancelled;
		/* Nothing came: no partial file either. */
		if (x.have + x.got == 0)
			unlink(part);
		goto out;
	}
	curl_easy_getinfo(x.curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &total);
	report(&x, total, 1);
	if (fsync(x.fd) != 0) {
		err_set("cannot write '%s': %s", part, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (x.fd >= 0)
		close(x.fd);
	curl_easy_cleanup(x.curl);
	return ret;
}

int
fetch_text(const char *url, size_t max, const struct fetch_opts *opts, char **text)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct fetch_xfer x;
	CURLcode rc;

	*text = NULL;
	if (xfer_begin(&x, opts) != 0)
		return -1;
	x.max = max;
	x.buf = xstrdup("");
	setup(&x, url, errbuf);
	rc = curl_easy_perform(x.curl);
	if (rc != CURLE_OK) {
		fail(&x, url, rc, errbuf);
		free(x.buf);
		curl_easy_cleanup(x.curl);
		return -1;
	}
	curl_easy_cleanup(x.curl);
	*text = x.buf;
	return 0;
}

int
fetch_size(const char *url, const struct fetch_opts *opts, int64_t *size)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct fetch_xfer x;
	curl_off_t len = -1;
	CURLcode rc;

	*size = -1;
	if (xfer_begin(&x, opts) != 0)
		return -1;
	x.max = 0;
	setup(&x, url, errbuf);
	curl_easy_setopt(x.curl, CURLOPT_NOBODY, 1L);
	rc = curl_easy_perform(x.curl);
	if (rc != CURLE_OK) {
		fail(&x, url, rc, errbuf);
		curl_easy_cleanup(x.curl);
		return -1;
	}
	if (curl_easy_getinfo(x.curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len) == CURLE_OK &&
	    len >= 0)
		*size = (int64_t)len;
	curl_easy_cleanup(x.curl);
	return 0;
}
