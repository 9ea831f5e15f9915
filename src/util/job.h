/* job: blocking work (a libvirt call, an ssh connect, qemu-img) off the UI
 * thread.  Jobs go to a lane, one worker thread each (e.g. one per host),
 * and run there in order; their done callbacks run on the UI thread, from
 * the poll loop.  A lane stuck in a call that never returns holds up only
 * its own jobs. */
#ifndef VMTTY_JOB_H
#define VMTTY_JOB_H

#include <stdbool.h>

struct loop;
struct jobs;
struct lane;

/* Runs on the lane's worker thread. */
typedef void (*job_fn)(void *arg);
/* Runs on the UI thread after job_fn returned (or for jobs_post). */
typedef void (*job_done_fn)(void *arg);

/* The job system, its completions delivered through LOOP. NULL + err. */
struct jobs *jobs_new(struct loop *loop);
/* Stop the lanes and run the completions of finished jobs (so call it
 * while their callbacks' state is alive).  Idle workers are joined; one
 * busy in a call that does not return within a short grace period (longer
 * for a lane with lane_at_quit work) is left behind, with the job system's
 * memory, so that quitting never hangs. */
void jobs_free(struct jobs *j);

struct lane *jobs_lane_new(struct jobs *j, const char *name);
/* Queue FN(ARG) on LANE; DONE(ARG) follows on the UI thread.  0 or -1. */
int job_submit(struct lane *lane, job_fn fn, job_done_fn done, void *arg);
/* Jobs still queued on LANE when jobs_free stops it never run, nor do
 * their completions: DISCARD(ARG) frees their arguments instead (on the
 * UI thread, from jobs_free). */
void lane_set_discard(struct lane *lane, job_done_fn discard);
/* FN(ARG) runs on LANE's thread once jobs_free stopped it, after the job
 * it was running (e.g. closing a connection that job still used); jobs
 * still queued never run.  jobs_free waits a few seconds for such a
 * lane, not longer: a thread still stuck then runs FN whenever its call
 * returns.  No completion follows. */
void lane_at_quit(struct lane *lane, job_fn fn, void *arg);
/* Jobs queued or running on LANE. */
int lane_busy(struct lane *lane);
/* From any thread: run DONE(ARG) on the UI thread soon. */
void jobs_post(struct jobs *j, job_done_fn done, void *arg);
/* Run the completions that are ready (the loop does this by itself;
 * exposed for waiting on one job from synchronous code). */
void jobs_dispatch(struct jobs *j);

#endif
