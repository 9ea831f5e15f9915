#include "util/job.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/thread.h"
#include "util/xalloc.h"

#define JOBS_GRACE_MS 300
/* A lane with work to do at quit (lane_at_quit) is waited for longer. */
#define JOBS_QUIT_GRACE_MS 3000

struct job {
	job_fn fn;
	job_done_fn done;
	void *arg;
	struct job *next;
};

struct lane {
	struct jobs *jobs;
	char *name;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *head, *tail;
	job_done_fn discard;	/* for the arguments of jobs that never ran */
	struct job *at_quit;	/* run by the thread once it stops */
	int busy;		/* queued + running */
	bool quit;
	bool exited;
	struct lane *next;
};

struct jobs {
	struct loop *loop;
	int pipe[2];
	int watch;
	pthread_mutex_t mu;
	struct job *done_head, *done_tail;
	struct lane *lanes;
};

/* Append a completion and wake the loop; any thread. */
static void
push_done(struct jobs *j, job_done_fn done, void *arg)
{
	struct job *d = xcalloc(1, sizeof *d);
	ssize_t r;

	d->done = done;
	d->arg = arg;
	pthread_mutex_lock(&j->mu);
	if (j->done_tail != NULL)
		j->done_tail->next = d;
	else
		j->done_head = d;
	j->done_tail = d;
	pthread_mutex_unlock(&j->mu);
	r = write(j->pipe[1], "", 1);
	(void)r;
}

void
jobs_dispatch(struct jobs *j)
{
	struct job *d;
	char buf[256];

	while (read(j->pipe[0], buf, sizeof buf) > 0)
		;
	pthread_mutex_lock(&j->mu);
	d = j->done_head;
	j->done_head = j->done_tail = NULL;
	pthread_mutex_unlock(&j->mu);
	while (d != NULL) {
		struct job *next = d->next;

		if (d->done != NULL)
			d->done(d->arg);
		free(d);
		d = next;
	}
}

static void
on_pipe(int fd, short revents, void *arg)
{
	(void)fd;
	(void)revents;
	jobs_dispatch(arg);
}

struct jobs *
jobs_new(struct loop *loop)
{
	struct jobs *j = xcalloc(1, sizeof *j);

	if (pipe2(j->pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		err_set("cannot create a pipe: %s", strerror(errno));
		free(j);
		return NULL;
	}
	pthread_mutex_init(&j->mu, NULL);
	j->loop = loop;
	j->watch = loop != NULL ? loop_add_fd(loop, j->pipe[0], POLLIN, on_pipe, j) : -1;
	return j;
}

static void *
lane_main(void *arg)
{
	struct lane *l = arg;

	pthread_mutex_lock(&l->mu);
	for (;;) {
		struct job *jb;

		while (l->head == NULL && !l->quit)
			pthread_cond_wait(&l->cv, &l->mu);
		if (l->quit)
			break;
		jb = l->head;
		l->head = jb->next;
		if (l->head == NULL)
			l->tail = NULL;
		pthread_mutex_unlock(&l->mu);
		jb->fn(jb->arg);
		pthread_mutex_lock(&l->mu);
		l->busy--;
		pthread_mutex_unlock(&l->mu);
		push_done(l->jobs, jb->done, jb->arg);
		free(jb);
		pthread_mutex_lock(&l->mu);
	}
	while (l->at_quit != NULL) {
		struct job *jb = l->at_quit;

		l->at_quit = jb->next;
		pthread_mutex_unlock(&l->mu);
		jb->fn(jb->arg);
		free(jb);
		pthread_mutex_lock(&l->mu);
	}
	l->exited = true;
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

struct lane *
jobs_lane_new(struct jobs *j, const char *name)
{
	struct lane *l = xcalloc(1, sizeof *l);

	l->jobs = j;
	l->name = xstrdup(name);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	if (thread_start(&l->thread, NULL, lane_main, l) != 0) {
		err_set("cannot start a worker thread for '%s'", name);
		free(l->name);
		free(l);
		return NULL;
	}
	l->next = j->lanes;
	j->lanes = l;
	return l;
}

int
job_submit(struct lane *l, job_fn fn, job_done_fn done, void *arg)
{
	struct job *jb = xcalloc(1, sizeof *jb);

	jb->fn = fn;
	jb->done = done;
	jb->arg = arg;
	pthread_mutex_lock(&l->mu);
	if (l->tail != NULL)
		l->tail->next = jb;
	else
		l->head = jb;
	l->tail = jb;
	l->busy++;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	return 0;
}

void
lane_at_quit(struct lane *l, job_fn fn, void *arg)
{
	struct job *jb = xcalloc(1, sizeof *jb);

	jb->fn = fn;
	jb->arg = arg;
	pthread_mutex_lock(&l->mu);
	jb->next = l->at_quit;
	l->at_quit = jb;
	pthread_mutex_unlock(&l->mu);
}

void
lane_set_discard(struct lane *l, job_done_fn discard)
{
	l->discard = discard;
}

int
lane_busy(struct lane *l)
{
	int n;

	pthread_mutex_lock(&l->mu);
	n = l->busy;
	pthread_mutex_unlock(&l->mu);
	return n;
}

void
jobs_post(struct jobs *j, job_done_fn done, void *arg)
{
	push_done(j, done, arg);
}

/* The job system jobs_free had to leave to a stuck lane. */
static struct jobs *jobs_left_behind;

void
jobs_free(struct jobs *j)
{
	struct lane *l, *next;
	struct timespec start, ts;
	bool stuck = false;

	if (j == NULL)
		return;
	for (l = j->lanes; l != NULL; l = l->next) {
		pthread_mutex_lock(&l->mu);
		l->quit = true;
		pthread_cond_signal(&l->cv);
		pthread_mutex_unlock(&l->mu);
	}
	clock_gettime(CLOCK_REALTIME, &start);
	for (l = j->lanes; l != NULL; l = next) {
		bool finish;

		next = l->next;
		pthread_mutex_lock(&l->mu);
		finish = l->at_quit != NULL;
		pthread_mutex_unlock(&l->mu);
		ts = start;
		ts.tv_nsec += (finish ? JOBS_QUIT_GRACE_MS : JOBS_GRACE_MS) * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		if (pthread_timedjoin_np(l->thread, NULL, &ts) != 0) {
			/* Stuck in a call: leave the thread and its lane behind. */
			log_debug("jobs: lane '%s' is busy; not waiting for it", l->name);
			pthread_detach(l->thread);
			stuck = true;
			continue;
		}
		while (l->head != NULL) {
			struct job *jb = l->head;

			l->head = jb->next;
			if (l->discard != NULL)
				l->discard(jb->arg);
			free(jb);
		}
		pthread_mutex_destroy(&l->mu);
		pthread_cond_destroy(&l->cv);
		free(l->name);
		free(l);
	}
	if (j->loop != NULL && j->watch >= 0)
		loop_remove_fd(j->loop, j->watch);
	/* A thread left behind will still post its completion: keep the
	 * pipe and the struct alive for it (the process is ending anyway),
	 * and reachable, so that leak checkers see it was kept on purpose. */
	if (stuck) {
		jobs_left_behind = j;
		return;
	}
	/* Completions of finished jobs still run: they free their arguments. */
	jobs_dispatch(j);
	close(j->pipe[0]);
	close(j->pipe[1]);
	pthread_mutex_destroy(&j->mu);
	free(j);
}
