/* fetch: HTTP(S) downloads through libcurl (never a hand-written client):
 * certificate checks on, redirects followed, a bounded connect timeout,
 * a stalled transfer given up, progress reports, cancellation, and the
 * resume of a partial file with a Range request. */
#ifndef VMTTY_FETCH_H
#define VMTTY_FETCH_H

#include <stdatomic.h>
#include <stdint.h>
#include <stddef.h>

/* Where a transfer is: BYTES of TOTAL (-1: unknown) in the file so far
 * (a resumed file counts what it had), RATE in bytes per second over
 * the transfer, ETA seconds left (-1: unknown), ELAPSED seconds. */
struct fetch_progress {
	int64_t bytes, total;
	double rate, elapsed;
	int64_t eta;
	int64_t resumed_from;	/* bytes the partial file had; 0: a new one */
};

/* Called about every 100 ms and once at the end (DONE 1). */
typedef void (*fetch_progress_fn)(const struct fetch_progress *p, int done, void *arg);

struct fetch_opts {
	const atomic_bool *cancel;	/* set: the transfer stops (-1, err "cancelled") */
	fetch_progress_fn progress;	/* NULL: none */
	/* Said once, when the server has answered and before the first byte
	 * is written: RESUME_FROM bytes of the partial file PART are kept
	 * (0: from the start); DROPPED bytes it had were thrown away because
	 * the server sent the whole file to a request for the rest.  Not said
	 * when nothing comes (an error, a lock held by another vmtty). */
	void (*starting)(const char *url, const char *part, int64_t resume_from,
	    int64_t dropped, void *arg);
	void *arg;
	long connect_timeout;		/* seconds; 0: $VMTTY_CONNECT_TIMEOUT, else 30 */
};

/* Download URL onto the end of the partial file PART (made 0600 when
 * missing): a PART that has bytes asks for the rest (Range); a server that
 * answers with the whole file instead starts PART over.  0 when the file
 * is complete; -1 + err naming the URL and the reason, PART left as it is
 * for the next try.  *CANCELLED (may be NULL) says whether OPTS->cancel
 * stopped it.  Blocking. */
int fetch_file(const char *url, const char *part, const struct fetch_opts *opts,
    int *cancelled);
/* A small text file (a SHA256SUMS list) at URL into *TEXT (allocated,
 * NUL-terminated); more than MAX bytes is an error. */
int fetch_text(const char *url, size_t max, const struct fetch_opts *opts, char **text);
/* The size of the file at URL (a HEAD request) into *SIZE (-1: the
 * server does not say). */
int fetch_size(const char *url, const struct fetch_opts *opts, int64_t *size);

#endif
