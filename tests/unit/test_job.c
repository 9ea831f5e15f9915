/* Jobs: lanes run in order off the UI thread, completions come back
 * through the loop, and a stuck lane neither blocks others nor quitting. */
#include "unit.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "util/job.h"
#include "util/log.h"
#include "util/loop.h"

struct rec {
	int order[16];
	int n;
	pthread_t ui;
	int wrong_thread;
	pthread_mutex_t mu;
};

struct item {
	struct rec *r;
	int id;
	int sleep_ms;
	pthread_t worker;
	int started;		/* set (atomically) when its work begins */
};

static void
work(void *arg)
{
	struct item *it = arg;
	struct timespec ts = { it->sleep_ms / 1000, (it->sleep_ms % 1000) * 1000000L };

	it->worker = pthread_self();
	__atomic_store_n(&it->started, 1, __ATOMIC_SEQ_CST);
	nanosleep(&ts, NULL);
}

static void
done(void *arg)
{
	struct item *it = arg;

	if (!pthread_equal(pthread_self(), it->r->ui) || pthread_equal(it->worker, it->r->ui))
		it->r->wrong_thread++;
	it->r->order[it->r->n++] = it->id;
	free(it);
}

static struct item *
item(struct rec *r, int id, int ms)
{
	struct item *it = calloc(1, sizeof *it);

	it->r = r;
	it->id = id;
	it->sleep_ms = ms;
	return it;
}

static void
run_until(struct loop *l, struct rec *r, int n, long ms)
{
	long long deadline = log_now_ms() + ms;

	while (r->n < n && log_now_ms() < deadline)
		loop_run_once(l, 50);
}

static void
test_order_and_threads(void **state)
{
	struct loop *l = loop_new();
	struct jobs *j = jobs_new(l);
	struct lane *a = jobs_lane_new(j, "a"), *b = jobs_lane_new(j, "b");
	struct rec r = { .ui = pthread_self() };

	(void)state;
	/* Lane a: 3 jobs in order; lane b: one fast job that finishes first. */
	job_submit(a, work, done, item(&r, 1, 60));
	job_submit(a, work, done, item(&r, 2, 10));
	job_submit(a, work, done, item(&r, 3, 10));
	job_submit(b, work, done, item(&r, 9, 0));
	assert_true(lane_busy(a) >= 2);
	run_until(l, &r, 4, 5000);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.order[0], 9);
	assert_int_equal(r.order[1], 1);
	assert_int_equal(r.order[2], 2);
	assert_int_equal(r.order[3], 3);
	assert_int_equal(r.wrong_thread, 0);
	assert_int_equal(lane_busy(a), 0);
	jobs_free(j);
	loop_free(l);
}

struct post {
	struct jobs *jobs;
	struct item *it;
};

static void *
poster(void *arg)
{
	struct post *p = arg;

	p->it->worker = pthread_self();
	jobs_post(p->jobs, done, p->it);
	return NULL;
}

static void
test_post_from_thread(void **state)
{
	struct loop *l = loop_new();
	struct jobs *j = jobs_new(l);
	struct rec r = { .ui = pthread_self() };
	struct post p = { j, item(&r, 5, 0) };
	pthread_t t;

	(void)state;
	pthread_create(&t, NULL, poster, &p);
	pthread_join(t, NULL);
	run_until(l, &r, 1, 2000);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.order[0], 5);
	jobs_free(j);
	loop_free(l);
}

/* A lane stuck for seconds: another lane still completes, and quitting
 * takes about the grace period, not the stuck call's time. */
static void
test_stuck_lane(void **state)
{
	struct loop *l = loop_new();
	struct jobs *j = jobs_new(l);
	struct lane *slow = jobs_lane_new(j, "slow"), *fast = jobs_lane_new(j, "fast");
	/* The stuck call outlives this test (jobs_free leaves it after the
	 * grace period) and has no completion to free its argument: the
	 * argument is static, so nothing is left to a thread still asleep
	 * when the program ends. */
	static struct rec r;
	static struct item stuck;
	long long t0;

	(void)state;
	memset(&r, 0, sizeof r);
	r.ui = pthread_self();
	stuck = (struct item){ .r = &r, .id = 1, .sleep_ms = 3000 };
	job_submit(slow, work, NULL, &stuck);
	job_submit(fast, work, done, item(&r, 2, 0));
	run_until(l, &r, 1, 2000);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.order[0], 2);
	t0 = log_now_ms();
	jobs_free(j);
	assert_true(log_now_ms() - t0 < 1500);
	loop_free(l);
}

static int discarded;

static void
discard(void *arg)
{
	struct item *it = arg;

	discarded += it->id;
	free(it);
}

/* Jobs still queued when the job system stops never run: their arguments
 * go to the lane's discard function; the running one finishes and its
 * completion still runs. */
static void
test_discard_queued(void **state)
{
	struct loop *l = loop_new();
	struct jobs *j = jobs_new(l);
	struct lane *ln = jobs_lane_new(j, "queue");
	struct rec r = { .ui = pthread_self() };
	struct item *first;
	long long deadline;

	(void)state;
	lane_set_discard(ln, discard);
	first = item(&r, 1, 100);
	job_submit(ln, work, done, first);
	job_submit(ln, work, done, item(&r, 20, 0));
	job_submit(ln, work, done, item(&r, 300, 0));
	/* Stop while the first one runs. */
	deadline = log_now_ms() + 5000;
	while (!__atomic_load_n(&first->started, __ATOMIC_SEQ_CST) && log_now_ms() < deadline) {
		struct timespec ts = { 0, 1000000L };

		nanosleep(&ts, NULL);
	}
	jobs_free(j);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.order[0], 1);
	assert_int_equal(discarded, 320);
	assert_int_equal(r.wrong_thread, 0);
	loop_free(l);
}

struct quitter {
	struct item *busy;	/* the job running when the lane stops */
	int ran;		/* 1: ran after the job; -1: before it ended */
	pthread_t thread;
};

static void
at_quit(void *arg)
{
	struct quitter *q = arg;

	q->thread = pthread_self();
	q->ran = q->busy->worker != 0 && pthread_equal(q->busy->worker, pthread_self()) ? 1 : -1;
}

/* Work given to a busy lane for when it stops (closing what its running
 * job still uses) runs on that lane's thread once the job returns, before
 * jobs_free does, even when the job outlasts the short grace period; the
 * job's completion still runs. */
static void
test_at_quit(void **state)
{
	struct loop *l = loop_new();
	struct jobs *j = jobs_new(l);
	struct lane *ln = jobs_lane_new(j, "closing");
	struct rec r = { .ui = pthread_self() };
	struct quitter q = { 0 };
	long long deadline;

	(void)state;
	q.busy = item(&r, 7, 800);
	job_submit(ln, work, done, q.busy);
	deadline = log_now_ms() + 5000;
	while (!__atomic_load_n(&q.busy->started, __ATOMIC_SEQ_CST) && log_now_ms() < deadline) {
		struct timespec ts = { 0, 1000000L };

		nanosleep(&ts, NULL);
	}
	lane_at_quit(ln, at_quit, &q);
	assert_int_equal(q.ran, 0);
	jobs_free(j);
	assert_int_equal(q.ran, 1);
	assert_false(pthread_equal(q.thread, pthread_self()));
	assert_int_equal(r.n, 1);
	assert_int_equal(r.order[0], 7);
	loop_free(l);
}

struct masked {
	struct rec *r;
	int blocked;		/* SIGWINCH, SIGCHLD and SIGTERM, as the job saw them */
};

static void
mask_work(void *arg)
{
	struct masked *m = arg;
	sigset_t cur;

	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	m->blocked = sigismember(&cur, SIGWINCH) + sigismember(&cur, SIGCHLD) +
	    sigismember(&cur, SIGTERM) + sigismember(&cur, SIGINT);
}

static void
mask_done(void *arg)
{
	struct masked *m = arg;

	m->r->order[m->r->n++] = 1;
}

/* A job's worker thread takes none of the program's signals: they belong
 * to the UI thread, whose handlers set the flags its loop reads. */
static void
test_workers_block_signals(void **state)
{
	struct loop *l = loop_new();
	struct jobs *j = jobs_new(l);
	struct lane *a = jobs_lane_new(j, "a");
	struct rec r = { .ui = pthread_self() };
	struct masked m = { &r, -1 };
	sigset_t cur;

	(void)state;
	job_submit(a, mask_work, mask_done, &m);
	run_until(l, &r, 1, 5000);
	assert_int_equal(r.n, 1);
	assert_int_equal(m.blocked, 4);
	/* The UI thread's own mask is as it was. */
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	assert_false(sigismember(&cur, SIGWINCH));
	assert_false(sigismember(&cur, SIGTERM));
	jobs_free(j);
	loop_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_threads),
		cmocka_unit_test(test_post_from_thread),
		cmocka_unit_test(test_stuck_lane),
		cmocka_unit_test(test_discard_queued),
		cmocka_unit_test(test_at_quit),
		cmocka_unit_test(test_workers_block_signals),
	};

	return cmocka_run_group_tests_name("job", tests, NULL, NULL);
}
