/* writer: the inventory's writes, off the UI thread.  One lane with its own
 * connection runs them in the order they were given.  While another
 * program holds the inventory's write lock a write waits there as long as
 * it takes, never on the UI thread; the owner hears when writes have been
 * waiting a while and again once they are all through.  Nothing is
 * dropped silently: at the end the owner waits a bounded time, gives up,
 * and learns what was not written. */
#ifndef VMTTY_WRITER_H
#define VMTTY_WRITER_H

#include <stdbool.h>
#include <stddef.h>

struct db;
struct jobs;
struct writer;

/* Runs on the writer's lane with the writer's connection: 0, or -1 + err. */
typedef int (*writer_fn)(struct db *db, void *arg);
/* Runs on the UI thread once FN returned (or never will): its result and,
 * on -1, its message.  Exactly once per write; it owns ARG then. */
typedef void (*writer_done_fn)(void *arg, int rc, const char *error);
/* On the UI thread: WAITING with COUNT writes queued when a write has
 * waited for the lock a while; then !WAITING once none is left, COUNT
 * being how many went through meanwhile. */
typedef void (*writer_notice_fn)(void *arg, bool waiting, int count);

/* Writes to the inventory at PATH; completions through JOBS.  NULL + err. */
struct writer *writer_new(struct jobs *jobs, const char *path, writer_notice_fn notice,
    void *arg);
/* Queue FN(ARG); DONE(ARG, ...) follows on the UI thread.  WHAT says what
 * it writes, for the list of what was not written ("adding host 'h1'"). */
void writer_submit(struct writer *w, const char *what, writer_fn fn, writer_done_fn done,
    void *arg);
/* Writes queued or running. */
int writer_pending(const struct writer *w);
/* Stop waiting for the lock: writes that wait, or will, fail at once. */
void writer_give_up(struct writer *w);
/* Just before jobs_free: the lane takes no more writes.  Writes submitted
 * after this (completions that run while the job system stops) are tried
 * once at once, on the calling thread, without waiting for a lock. */
void writer_close(struct writer *w);
/* What was not written because of writer_give_up: N descriptions. */
const char *const *writer_unwritten(const struct writer *w, size_t *n);
/* After jobs_free (which ran or discarded every completion). */
void writer_free(struct writer *w);

#endif
