#include "model/writer.h"
#include "model/model_priv.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/err.h"
#include "util/job.h"
#include "util/log.h"
#include "util/xalloc.h"

/* A write waiting for the lock tries again every WRITER_RETRY_MS; after
 * WRITER_NOTICE_MS of waiting the owner hears of it. */
#define WRITER_RETRY_MS 20
#define WRITER_NOTICE_MS 150

struct writer {
	struct jobs *jobs;
	struct lane *lane;
	char *path;
	struct db *db;			/* the lane's connection, opened there */
	struct db *late;		/* after writer_close: the caller's */
	bool closed;
	writer_notice_fn notice;
	void *notice_arg;
	int pending;			/* UI thread */
	bool noticed;			/* UI thread: the owner heard "waiting" */
	int written;			/* UI thread: went through since then */
	char **unwritten;		/* UI thread */
	size_t nunwritten;
	atomic_bool give_up;
	atomic_bool waiting;		/* a "waiting" notice is posted or shown */
	atomic_bool running;		/* the lane is inside a write */
};

struct witem {
	struct writer *w;
	char *what;
	writer_fn fn;
	writer_done_fn done;
	void *arg;
	int rc;
	char *error;
};

/* Kept when the lane never came back from a write (see writer_free). */
static struct writer *writer_left_behind;

static void
on_waiting(void *arg)
{
	struct writer *w = arg;

	if (w->pending == 0) {
		atomic_store(&w->waiting, false);
		return;
	}
	w->noticed = true;
	w->written = 0;
	if (w->notice != NULL)
		w->notice(w->notice_arg, true, w->pending);
}

/* SQLite's busy handler on the lane: wait for the lock until it frees or
 * the owner gives up; say once that writes are waiting. */
static int
writer_on_lock(void *arg, int count)
{
	struct writer *w = arg;
	struct timespec ts = { 0, WRITER_RETRY_MS * 1000000L };

	if (atomic_load(&w->give_up))
		return 0;
	if (count == WRITER_NOTICE_MS / WRITER_RETRY_MS && !atomic_exchange(&w->waiting, true))
		jobs_post(w->jobs, on_waiting, w);
	nanosleep(&ts, NULL);
	return 1;
}

static void
witem_run(void *arg)
{
	struct witem *it = arg;
	struct writer *w = it->w;

	atomic_store(&w->running, true);
	if (w->db == NULL) {
		w->db = db_open(w->path);
		if (w->db != NULL)
			sqlite3_busy_handler(db_sqlite(w->db), writer_on_lock, w);
	}
	err_clear();
	it->rc = w->db != NULL ? it->fn(w->db, it->arg) : -1;
	if (it->rc != 0)
		it->error = xstrdup(err_get()[0] != '\0' ? err_get() :
		    "writing to the inventory failed");
	atomic_store(&w->running, false);
}

static void
witem_finish(struct witem *it)
{
	struct writer *w = it->w;

	w->pending--;
	if (it->rc != 0)
		log_debug("writer: '%s' not written: %s", it->what, it->error);
	if (it->rc != 0 && atomic_load(&w->give_up)) {
		w->unwritten = xreallocarray(w->unwritten, w->nunwritten + 1, sizeof *w->unwritten);
		w->unwritten[w->nunwritten++] = it->what;
		it->what = NULL;
	} else if (it->rc == 0) {
		w->written++;
	}
	it->done(it->arg, it->rc, it->error);
	free(it->what);
	free(it->error);
	free(it);
	if (w->pending == 0 && w->noticed) {
		w->noticed = false;
		atomic_store(&w->waiting, false);
		if (w->notice != NULL)
			w->notice(w->notice_arg, false, w->written);
	}
}

static void
witem_done(void *arg)
{
	witem_finish(arg);
}

/* Queued when the lane stopped: never run. */
static void
witem_discard(void *arg)
{
	struct witem *it = arg;

	it->rc = -1;
	it->error = xstrdup("vmtty quit before it could be written");
	witem_finish(it);
}

/* A write after writer_close: once, here and now, never waiting. */
static void
writer_late(struct writer *w, struct witem *it)
{
	if (w->late == NULL && (w->late = db_open(w->path)) != NULL)
		sqlite3_busy_handler(db_sqlite(w->late), writer_on_lock, w);
	err_clear();
	it->rc = w->late != NULL ? it->fn(w->late, it->arg) : -1;
	if (it->rc != 0)
		it->error = xstrdup(err_get()[0] != '\0' ? err_get() :
		    "writing to the inventory failed");
	witem_finish(it);
}

struct writer *
writer_new(struct jobs *jobs, const char *path, writer_notice_fn notice, void *arg)
{
	struct writer *w = xcalloc(1, sizeof *w);

	w->jobs = jobs;
	w->path = xstrdup(path);
	w->notice = notice;
	w->notice_arg = arg;
	if ((w->lane = jobs_lane_new(jobs, "inventory")) == NULL) {
		free(w->path);
		free(w);
		return NULL;
	}
	lane_set_discard(w->lane, witem_discard);
	return w;
}

void
writer_submit(struct writer *w, const char *what, writer_fn fn, writer_done_fn done, void *arg)
{
	struct witem *it = xcalloc(1, sizeof *it);

	it->w = w;
	it->what = xstrdup(what);
	it->fn = fn;
	it->done = done;
	it->arg = arg;
	w->pending++;
	if (w->closed) {
		writer_late(w, it);
		return;
	}
	job_submit(w->lane, witem_run, witem_done, it);
	/* Already waiting: the owner may show the new count. */
	if (w->noticed && w->notice != NULL)
		w->notice(w->notice_arg, true, w->pending);
}

int
writer_pending(const struct writer *w)
{
	return w->pending;
}

void
writer_give_up(struct writer *w)
{
	atomic_store(&w->give_up, true);
}

void
writer_close(struct writer *w)
{
	if (w == NULL)
		return;
	atomic_store(&w->give_up, true);
	w->closed = true;
}

const char *const *
writer_unwritten(const struct writer *w, size_t *n)
{
	*n = w->nunwritten;
	return (const char *const *)w->unwritten;
}

void
writer_free(struct writer *w)
{
	if (w == NULL)
		return;
	/* A lane left inside a write (jobs_free did not wait for it) still
	 * uses the connection: leave both, reachable, as jobs_free does. */
	if (atomic_load(&w->running)) {
		writer_left_behind = w;
		return;
	}
	db_close(w->db);
	db_close(w->late);
	for (size_t i = 0; i < w->nunwritten; i++)
		free(w->unwritten[i]);
	free(w->unwritten);
	free(w->path);
	free(w);
}
