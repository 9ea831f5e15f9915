#include "ops/fleet.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif
#include <unistd.h>

#include "util/err.h"
#include "util/job.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xalloc.h"

#define FLEET_CONNECT_MS 10000	/* a connect taking longer shows unreachable */
/* A bounded call (fleet_run_bounded) running longer: the host did not
 * answer.  As long as the CLI waits for a host by default. */
#define FLEET_CALL_MS 15000
#define FLEET_POLL_MS 5000	/* list refresh without events */
#define FLEET_BACKOFF_MIN 1000
#define FLEET_BACKOFF_MAX 30000

struct fleet;

/*
 * What a backend's event callback holds instead of the host: a backend
 * may outlive the fleet (one busy or stuck at quit is left to the ending
 * process), so its callback must never reach the host or the job system
 * after they are gone.  The host holds one reference and each backend
 * watched with it another, dropped by hv_close; JOBS is cleared, under MU,
 * when the fleet stops listening, and events are dropped from then on.
 */
struct fsink {
	pthread_mutex_t mu;
	int refs;
	struct jobs *jobs;		/* NULL: nobody listens any more */
	struct fleet *f;
	char host[128];
};

/* The per-host state; PUB is what fleet_get hands out. */
struct fhost {
	struct fleet_host pub;
	struct fleet *f;
	struct host host;		/* a copy, for hv_open */
	struct fsink *sink;		/* for its backends' events */
	struct lane *lane;
	/* Set and read on the UI thread only; jobs get their own copy of the
	 * pointer, so a lane never reads this field. */
	struct hv *hv;
	unsigned seq;			/* of the newest connect attempt */
	long long connect_started;
	long backoff;
	bool connected;			/* hv open and watched (lane's view) */
	bool refresh_queued;
	bool refresh_again;
	bool gone;			/* removed by fleet_set_hosts */
	int timer;
	int watchdog;
	struct fjob *bounded;		/* bounded calls in flight (UI thread) */
	struct fjob *parked;		/* actions, consoles asked for while connecting */
	struct fhost *next;
};

struct fleet {
	struct loop *loop;
	struct jobs *jobs;
	void (*changed)(void *arg);
	void *arg;
	struct fhost *hosts;
	int poll_timer;
	/* Parked jobs of hosts removed meanwhile, told so from the loop
	 * (never from inside fleet_set_hosts, which the UI calls). */
	struct fjob *orphans;
	int orphan_timer;
	bool closing;
};

/* One piece of work for a host's lane, and its result. */
struct fjob {
	struct fhost *h;
	enum { FJ_CONNECT, FJ_LIST, FJ_ACTION, FJ_CLOSE, FJ_CONSOLE, FJ_RUN } kind;
	struct hv *hv;			/* the backend this job uses or opened */
	struct hv *old_hv;		/* FJ_CONNECT: closed first, on the lane */
	struct host host;		/* FJ_CONNECT: the job's own copy */
	struct fsink *sink;		/* FJ_CONNECT: a reference, for hv_watch */
	unsigned seq;
	struct vm_config cfg;		/* FJ_ACTION: a private copy */
	int action;
	fleet_done_fn done;
	fleet_fd_fn fd_done;
	fleet_run_fn run;		/* FJ_RUN */
	void (*run_done)(void *arg);
	void *done_arg;
	bool force;
	bool graphics;			/* FJ_CONSOLE: the graphical display */
	int fd;
	struct lane *lane;		/* the lane it was queued on */
	/* FJ_RUN through fleet_run_bounded (UI thread, but STARTED). */
	void (*stalled)(const char *error, void *arg);
	bool answered;			/* STALLED ran; DONE is still owed */
	long long started;		/* log_now_ms() when FN began; 0 before
					 * (written by the lane: atomic) */
	int call_timer;			/* its deadline, or -1 */
	struct fjob *bnext;		/* in the host's BOUNDED list */
	struct fjob *pnext;		/* in the host's PARKED list */
	/* Results. */
	int rc;
	char error[512];
	char note[256];
	struct hv_domain *doms;
	size_t ndoms;
};

/* An event from a backend thread, carried to the UI thread. */
struct fevent {
	struct fleet *f;
	char host[128];
	struct hv_event ev;
};

static void schedule_connect(struct fhost *h, long delay);
static void queue_list(struct fhost *h);
static void unbound(struct fjob *j);
static void run_parked(struct fhost *h, const char *error);
static void tell_failed(struct fjob *j, const char *error);

const char *
fleet_state_name(enum fleet_state s)
{
	switch (s) {
	case FLEET_CONNECTING:
		return "connecting";
	case FLEET_UP:
		return "up";
	default:
		return "unreachable";
	}
}

static void
notify(struct fleet *f)
{
	if (f->changed != NULL)
		f->changed(f->arg);
}

static struct fhost *
find(struct fleet *f, const char *name)
{
	for (struct fhost *h = f->hosts; h != NULL; h = h->next)
		if (!h->gone && strcmp(h->pub.name, name) == 0)
			return h;
	return NULL;
}

struct fleet_host *
fleet_get(struct fleet *f, const char *name)
{
	struct fhost *h = find(f, name);

	return h != NULL ? &h->pub : NULL;
}

static void
set_unreachable(struct fhost *h, const char *why)
{
	char msg[sizeof h->pub.error + 200];

	snprintf(h->pub.error, sizeof h->pub.error, "%s", why);
	h->pub.state = FLEET_UNREACHABLE;
	h->pub.generation++;
	snprintf(msg, sizeof msg, "host '%s' is unreachable: %s", h->pub.name, why);
	run_parked(h, msg);
	h->backoff = h->backoff == 0 ? FLEET_BACKOFF_MIN : h->backoff * 2;
	if (h->backoff > FLEET_BACKOFF_MAX)
		h->backoff = FLEET_BACKOFF_MAX;
	if (h->pub.held) {
		/* The user declined to log in: asking again on a timer would
		 * only nag.  'Refresh' (fleet_refresh) tries again. */
		h->pub.retry_at = 0;
		log_debug("fleet: host '%s' unreachable: %s (held)", h->pub.name, why);
		return;
	}
	h->pub.retry_at = log_now_ms() + h->backoff;
	log_debug("fleet: host '%s' unreachable: %s (retry in %ld ms)", h->pub.name, why,
	    h->backoff);
	schedule_connect(h, h->backoff);
}

static struct fsink *
sink_new(struct fleet *f, const char *host)
{
	struct fsink *s = xcalloc(1, sizeof *s);

	pthread_mutex_init(&s->mu, NULL);
	s->refs = 1;
	s->jobs = f->jobs;
	s->f = f;
	snprintf(s->host, sizeof s->host, "%s", host);
	return s;
}

static struct fsink *
sink_ref(struct fsink *s)
{
	pthread_mutex_lock(&s->mu);
	s->refs++;
	pthread_mutex_unlock(&s->mu);
	return s;
}

/* Any thread (hv_close calls it for a watched backend). */
static void
sink_unref(void *arg)
{
	struct fsink *s = arg;
	int left;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	left = --s->refs;
	pthread_mutex_unlock(&s->mu);
	if (left > 0)
		return;
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* No event is posted after this returns (one being posted is waited for). */
static void
sink_detach(struct fsink *s)
{
	pthread_mutex_lock(&s->mu);
	s->jobs = NULL;
	pthread_mutex_unlock(&s->mu);
}

/* Backend thread -> UI thread. */
static void
on_event_ui(void *arg)
{
	struct fevent *e = arg;
	struct fhost *h = e->f->closing ? NULL : find(e->f, e->host);

	log_debug("fleet: host '%s': event %d%s", e->host, (int)e->ev.kind,
	    h == NULL ? " (host gone or fleet closing)" : "");
	if (h != NULL && h->pub.state == FLEET_UP) {
		if (e->ev.kind == HV_EV_CLOSED) {
			h->connected = false;
			set_unreachable(h, e->ev.reason);
			notify(e->f);
		} else {
			queue_list(h);
		}
	}
	free(e);
}

/* Called by the backend on its own thread: copy and hand over, unless
 * the fleet stopped listening. */
static void
on_event(const struct hv_event *ev, void *arg)
{
	struct fsink *s = arg;
	struct fevent *e;

	pthread_mutex_lock(&s->mu);
	if (s->jobs != NULL) {
		e = xcalloc(1, sizeof *e);
		e->f = s->f;
		snprintf(e->host, sizeof e->host, "%s", s->host);
		e->ev = *ev;
		jobs_post(s->jobs, on_event_ui, e);
	}
	pthread_mutex_unlock(&s->mu);
}

static void
fjob_free(struct fjob *j)
{
	hv_domains_free(j->doms, j->ndoms);
	if (j->hv != NULL && j->kind == FJ_CONNECT)
		hv_close(j->hv);
	if (j->kind == FJ_ACTION || j->kind == FJ_CONSOLE)
		vm_config_clear(&j->cfg);
	host_clear(&j->host);
	sink_unref(j->sink);
	free(j);
}

/* A job that never ran (the fleet closed first): free it.  A backend it
 * was to close is left to the ending process, as close_on_lane does. */
static void
discard_job(void *arg)
{
	struct fjob *j = arg;

#ifdef __SANITIZE_ADDRESS__
	if (j->kind == FJ_CLOSE && j->hv != NULL)
		__lsan_ignore_object(j->hv);
	if (j->old_hv != NULL)
		__lsan_ignore_object(j->old_hv);
#endif
	if (j->kind == FJ_CLOSE)
		j->hv = NULL;
	fjob_free(j);
}

/* Lane: close the old backend, open a new one, watch it, list.  Only the
 * job is used here, never the host: a lane stuck in a connect at quit
 * finishes it after the fleet is gone. */
static void
work_connect(void *arg)
{
	struct fjob *j = arg;

	hv_close(j->old_hv);
	j->old_hv = NULL;
	j->hv = hv_open(&j->host);
	if (j->hv == NULL) {
		j->rc = -1;
		snprintf(j->error, sizeof j->error, "%s", err_get());
		return;
	}
	/* Events are a bonus: without them the poll timer still refreshes.
	 * The backend takes the job's reference to the sink. */
	if (hv_watch(j->hv, on_event, j->sink, sink_unref) == 0)
		j->sink = NULL;
	else
		log_debug("fleet: host '%s': %s", j->host.name, err_get());
	if (hv_list(j->hv, &j->doms, &j->ndoms) != 0) {
		j->rc = -1;
		snprintf(j->error, sizeof j->error, "%s", err_get());
	}
}

static void
work_list(void *arg)
{
	struct fjob *j = arg;

	if (hv_list(j->hv, &j->doms, &j->ndoms) != 0) {
		j->rc = -1;
		snprintf(j->error, sizeof j->error, "%s", err_get());
	}
}

static void
work_action(void *arg)
{
	struct fjob *j = arg;

	if (j->action == FLEET_START)
		j->rc = hv_start(j->hv, &j->cfg, j->note, sizeof j->note);
	else if (j->action == FLEET_UNDEFINE)
		j->rc = hv_undefine(j->hv, &j->cfg);
	else
		j->rc = hv_action(j->hv, &j->cfg, (enum hv_action)j->action);
	if (j->rc != 0)
		snprintf(j->error, sizeof j->error, "%s", err_get());
}

static void
work_console(void *arg)
{
	struct fjob *j = arg;

	j->rc = j->graphics ? hv_graphics_open(j->hv, &j->cfg, &j->fd) :
	    hv_console_open(j->hv, &j->cfg, j->force, &j->fd);
	if (j->rc != 0)
		snprintf(j->error, sizeof j->error, "%s", err_get());
}

/* Queue J on its host's lane; the host counts it busy until it settles. */
static int
submit(struct fjob *j, job_fn fn, job_done_fn done)
{
	j->lane = j->h->lane;
	j->h->pub.busy++;
	if (job_submit(j->lane, fn, done, j) != 0) {
		j->h->pub.busy--;
		return -1;
	}
	return 0;
}

/* J is done: false when its lane was given up meanwhile (the host has a
 * new lane, or none yet), so that what it brings is out of date. */
static bool
settle(struct fjob *j)
{
	if (j->lane != j->h->lane)
		return false;
	j->h->pub.busy--;
	return true;
}

static void
done_console(void *arg)
{
	struct fjob *j = arg;

	settle(j);
	if (j->fd_done != NULL)
		j->fd_done(j->rc == 0 ? j->fd : -1, j->rc == 0 ? NULL : j->error, j->done_arg);
	else if (j->rc == 0)
		close(j->fd);
	fjob_free(j);
}

static void
work_close(void *arg)
{
	struct fjob *j = arg;

	hv_close(j->hv);
	j->hv = NULL;
}

static void
done_free(void *arg)
{
	struct fjob *j = arg;

	settle(j);
	free(j);
}

static void
take_list(struct fhost *h, struct fjob *j)
{
	hv_domains_free(h->pub.doms, h->pub.ndoms);
	h->pub.doms = j->doms;
	h->pub.ndoms = j->ndoms;
	j->doms = NULL;
	j->ndoms = 0;
	h->pub.generation++;
}

static struct fjob *fjob_new(struct fhost *h, int kind);

/* Close HV on the host's lane (never on the UI thread: it may block). */
static void
close_on_lane(struct fhost *h, struct hv *hv)
{
	struct fjob *c;

	if (hv == NULL)
		return;
	if (h->lane == NULL || h->f->closing) {
		/* No lane to run it: leave it to the ending process (closing it
		 * here could block on a dead host, and quitting never hangs).
		 * Said to LeakSanitizer too, so that its runs stay meaningful. */
#ifdef __SANITIZE_ADDRESS__
		__lsan_ignore_object(hv);
#endif
		return;
	}
	c = fjob_new(h, FJ_CLOSE);
	c->hv = hv;
	if (submit(c, work_close, done_free) != 0)
		free(c);
}

static void
done_connect(void *arg)
{
	struct fjob *j = arg;
	struct fhost *h = j->h;

	settle(j);
	/* A late answer from an abandoned attempt, or the fleet is closing. */
	if (h->gone || h->f->closing || j->seq != h->seq) {
		close_on_lane(h, j->hv);
		j->hv = NULL;
		fjob_free(j);
		return;
	}
	h->hv = j->hv;
	j->hv = NULL;
	if (j->rc != 0) {
		h->connected = false;
		set_unreachable(h, j->error);
	} else {
		h->connected = true;
		h->backoff = 0;
		h->pub.held = false;
		h->pub.state = FLEET_UP;
		h->pub.error[0] = '\0';
		take_list(h, j);
		run_parked(h, NULL);
	}
	fjob_free(j);
	notify(h->f);
}

static void
done_list(void *arg)
{
	struct fjob *j = arg;
	struct fhost *h = j->h;

	/* A list from a lane given up is out of date: the new lane lists. */
	if (!settle(j)) {
		fjob_free(j);
		return;
	}
	h->refresh_queued = false;
	if (!h->gone && !h->f->closing) {
		if (j->rc != 0) {
			h->connected = false;
			set_unreachable(h, j->error);
		} else {
			take_list(h, j);
		}
		notify(h->f);
		if (h->refresh_again && h->pub.state == FLEET_UP) {
			h->refresh_again = false;
			queue_list(h);
		}
	}
	fjob_free(j);
}

static void
done_action(void *arg)
{
	struct fjob *j = arg;
	struct fhost *h = j->h;

	settle(j);
	if (j->done != NULL)
		j->done(j->rc == 0 ? NULL : j->error, j->note, j->done_arg);
	if (!h->gone && !h->f->closing)
		queue_list(h);
	fjob_free(j);
}

static struct fjob *
fjob_new(struct fhost *h, int kind)
{
	struct fjob *j = xcalloc(1, sizeof *j);

	j->h = h;
	j->kind = kind;
	j->call_timer = -1;
	return j;
}

/* Give up H's lane, stuck in a call: the lane keeps its thread and the hv
 * it uses, closed there after the stuck call and the jobs queued behind it
 * (which finish, if ever, as out of date); the next connect makes a new
 * lane. */
static void
abandon_lane(struct fhost *h)
{
	log_debug("fleet: host '%s': lane stuck, giving it up", h->pub.name);
	close_on_lane(h, h->hv);
	h->lane = NULL;
	h->hv = NULL;
	h->connected = false;
	h->pub.busy = 0;
	h->refresh_queued = h->refresh_again = false;
}

/* A fresh lane when the current one is stuck in a call for too long. */
static void
ensure_lane(struct fhost *h)
{
	if (h->lane != NULL && lane_busy(h->lane) == 0)
		return;
	if (h->lane != NULL && log_now_ms() - h->connect_started < FLEET_CONNECT_MS)
		return;
	if (h->lane != NULL)
		abandon_lane(h);
	h->lane = jobs_lane_new(h->f->jobs, h->pub.name);
	if (h->lane != NULL)
		lane_set_discard(h->lane, discard_job);
}

static void
on_connect_timer(void *arg)
{
	struct fhost *h = arg;
	struct fjob *j;

	h->timer = -1;
	if (h->gone || h->f->closing)
		return;
	ensure_lane(h);
	if (h->lane == NULL) {
		set_unreachable(h, err_get());
		return;
	}
	if (h->pub.state != FLEET_UNREACHABLE) {
		h->pub.state = FLEET_CONNECTING;
		h->pub.generation++;
	}
	h->connect_started = log_now_ms();
	j = fjob_new(h, FJ_CONNECT);
	j->host = h->host;
	j->host.name = xstrdup(h->host.name);
	j->host.uri = xstrdup(h->host.uri);
	j->host.last_error = j->host.migration_address = NULL;
	j->sink = sink_ref(h->sink);
	j->seq = ++h->seq;
	j->old_hv = h->hv;
	h->hv = NULL;
	h->connected = false;
	if (submit(j, work_connect, done_connect) != 0) {
		h->hv = j->old_hv;
		j->old_hv = NULL;
		fjob_free(j);
		set_unreachable(h, err_get());
		return;
	}
	schedule_connect(h, -1);
}

/* The connect watchdog: still no answer -> unreachable (UI only). */
static void
on_connect_watchdog(void *arg)
{
	struct fhost *h = arg;

	h->watchdog = -1;
	if (h->gone || h->connected || h->pub.state == FLEET_UP)
		return;
	/* The user is answering a question of this connect, or answered it
	 * lately: the timeout counts from the answer. */
	if (h->pub.asking || (h->lane != NULL && lane_busy(h->lane) > 0 &&
	    log_now_ms() - h->connect_started < FLEET_CONNECT_MS)) {
		schedule_connect(h, -1);
		return;
	}
	if (h->lane != NULL && lane_busy(h->lane) > 0) {
		char why[512];

		snprintf(why, sizeof why, "host '%s' did not answer within %d s (%s)",
		    h->pub.name, FLEET_CONNECT_MS / 1000, h->pub.uri);
		set_unreachable(h, why);
		notify(h->f);
	}
}

/* DELAY >= 0: a connect attempt after DELAY ms; -1: arm the watchdog. */
static void
schedule_connect(struct fhost *h, long delay)
{
	if (delay < 0) {
		if (h->watchdog >= 0)
			loop_cancel_timer(h->f->loop, h->watchdog);
		h->watchdog = loop_add_timer(h->f->loop, FLEET_CONNECT_MS + 50,
		    on_connect_watchdog, h);
		return;
	}
	if (h->timer >= 0)
		loop_cancel_timer(h->f->loop, h->timer);
	h->timer = loop_add_timer(h->f->loop, delay, on_connect_timer, h);
}

static void
queue_list(struct fhost *h)
{
	struct fjob *j;

	if (h->pub.state != FLEET_UP || h->lane == NULL || h->hv == NULL || h->f->closing)
		return;
	if (h->refresh_queued) {
		h->refresh_again = true;
		return;
	}
	j = fjob_new(h, FJ_LIST);
	j->hv = h->hv;
	if (submit(j, work_list, done_list) != 0) {
		fjob_free(j);
		return;
	}
	h->refresh_queued = true;
}

void
fleet_refresh(struct fleet *f)
{
	for (struct fhost *h = f->hosts; h != NULL; h = h->next) {
		if (h->gone)
			continue;
		if (h->pub.state == FLEET_UNREACHABLE && !h->pub.asking &&
		    (h->lane == NULL || lane_busy(h->lane) == 0)) {
			h->pub.held = false;
			h->backoff = 0;
			schedule_connect(h, 0);
			continue;
		}
		queue_list(h);
	}
}

void
fleet_refresh_host(struct fleet *f, const char *host)
{
	struct fhost *h = find(f, host);

	if (h != NULL)
		queue_list(h);
}

void
fleet_asking(struct fleet *f, const char *host, bool asking, bool declined)
{
	struct fhost *h = find(f, host);

	if (h == NULL)
		return;
	h->pub.asking = asking;
	if (!asking) {
		h->connect_started = log_now_ms();
		h->pub.held = declined;
	}
	h->pub.generation++;
	notify(f);
}

static void
on_poll(void *arg)
{
	struct fleet *f = arg;

	/* Only the lists: reconnecting is the backoff's business (and a held
	 * host's user's). */
	for (struct fhost *h = f->hosts; h != NULL; h = h->next)
		if (!h->gone)
			queue_list(h);
	f->poll_timer = loop_add_timer(f->loop, FLEET_POLL_MS, on_poll, f);
}

struct fleet *
fleet_new(struct loop *loop, struct jobs *jobs, void (*changed)(void *arg), void *arg)
{
	struct fleet *f = xcalloc(1, sizeof *f);

	f->loop = loop;
	f->jobs = jobs;
	f->changed = changed;
	f->arg = arg;
	f->poll_timer = loop_add_timer(loop, FLEET_POLL_MS, on_poll, f);
	f->orphan_timer = -1;
	return f;
}

static void
on_orphans(void *arg)
{
	struct fleet *f = arg;
	struct fjob *j;

	f->orphan_timer = -1;
	while ((j = f->orphans) != NULL) {
		f->orphans = j->pnext;
		tell_failed(j, j->error);
	}
}

static void
fhost_drop(struct fhost *h)
{
	h->gone = true;
	if (h->timer >= 0)
		loop_cancel_timer(h->f->loop, h->timer);
	if (h->watchdog >= 0)
		loop_cancel_timer(h->f->loop, h->watchdog);
	h->timer = h->watchdog = -1;
	while (h->parked != NULL) {
		struct fjob *j = h->parked;

		h->parked = j->pnext;
		snprintf(j->error, sizeof j->error, "host '%s' was removed before it connected; "
		    "nothing was done", h->pub.name);
		j->pnext = h->f->orphans;
		h->f->orphans = j;
		if (h->f->orphan_timer < 0)
			h->f->orphan_timer = loop_add_timer(h->f->loop, 0, on_orphans, h->f);
	}
	sink_detach(h->sink);
	close_on_lane(h, h->hv);
	h->hv = NULL;
}

void
fleet_set_hosts(struct fleet *f, const struct host *hosts, size_t n)
{
	for (struct fhost *h = f->hosts; h != NULL; h = h->next) {
		bool keep = false;

		for (size_t i = 0; i < n && !keep; i++)
			keep = strcmp(hosts[i].name, h->pub.name) == 0 &&
			    strcmp(hosts[i].uri, h->pub.uri) == 0;
		if (!keep && !h->gone)
			fhost_drop(h);
	}
	for (size_t i = 0; i < n; i++) {
		struct fhost *h;

		if (find(f, hosts[i].name) != NULL)
			continue;
		h = xcalloc(1, sizeof *h);
		h->f = f;
		h->timer = h->watchdog = -1;
		h->host = hosts[i];
		h->host.name = xstrdup(hosts[i].name);
		h->host.uri = xstrdup(hosts[i].uri);
		h->host.last_error = NULL;
		h->host.migration_address = NULL;
		h->sink = sink_new(f, hosts[i].name);
		h->pub.name = xstrdup(hosts[i].name);
		h->pub.uri = xstrdup(hosts[i].uri);
		h->pub.kind = hosts[i].kind;
		h->pub.state = FLEET_CONNECTING;
		h->next = f->hosts;
		f->hosts = h;
		schedule_connect(h, 0);
	}
}

/* HOST, connected with a lane and a backend; NULL + err saying why not. */
static struct fhost *
ready(struct fleet *f, const char *host)
{
	struct fhost *h = find(f, host);

	if (h == NULL)
		return err_set("no host named '%s'", host), NULL;
	if (h->pub.state != FLEET_UP || h->lane == NULL || h->hv == NULL)
		return err_set("host '%s' is %s%s%s", host, fleet_state_name(h->pub.state),
		    h->pub.error[0] != '\0' ? ": " : "", h->pub.error), NULL;
	return h;
}

/* A parked job (an action or a console) that will not run: its caller
 * is told ERROR. */
static void
tell_failed(struct fjob *j, const char *error)
{
	if (j->kind == FJ_CONSOLE && j->fd_done != NULL)
		j->fd_done(-1, error, j->done_arg);
	else if (j->kind == FJ_ACTION && j->done != NULL)
		j->done(error, "", j->done_arg);
	fjob_free(j);
}

/* Park J until H's first connect ends (run_parked). */
static void
park(struct fhost *h, struct fjob *j, const char *what)
{
	struct fjob **tail = &h->parked;

	while (*tail != NULL)
		tail = &(*tail)->pnext;
	*tail = j;
	log_debug("fleet: host '%s': %s of VM '%s' waits for the host to connect", h->pub.name,
	    what, j->cfg.name);
}

/* Whether to park a job for HOST rather than refuse it: the host is on
 * its first connect, which is not an error to tell the user about. */
static struct fhost *
parking(struct fleet *f, const char *host)
{
	struct fhost *h = find(f, host);

	return h != NULL && !f->closing && h->pub.state == FLEET_CONNECTING ? h : NULL;
}

/* Jobs asked for while H connected: on its lane now that it is up (ERROR
 * NULL), else told ERROR.  In the order they were asked for. */
static void
run_parked(struct fhost *h, const char *error)
{
	struct fjob *j = h->parked, *next;

	h->parked = NULL;
	for (; j != NULL; j = next) {
		next = j->pnext;
		j->pnext = NULL;
		if (error == NULL) {
			j->hv = h->hv;
			if (j->kind == FJ_CONSOLE ? submit(j, work_console, done_console) == 0 :
			    submit(j, work_action, done_action) == 0)
				continue;
		}
		tell_failed(j, error != NULL ? error : err_get());
	}
}

int
fleet_vm_action(struct fleet *f, const char *host, const struct vm_config *c, int action,
    fleet_done_fn done, void *arg)
{
	struct fhost *h = parking(f, host);
	struct fjob *j;
	bool parked = h != NULL;

	/* Asked for as vmtty starts, before the host answered: it runs once
	 * the host is up (it is not refused for being early). */
	if (!parked && (h = ready(f, host)) == NULL)
		return -1;
	j = fjob_new(h, FJ_ACTION);
	vm_config_copy(&j->cfg, c);
	j->action = action;
	j->done = done;
	j->done_arg = arg;
	if (parked) {
		park(h, j, "an action");
		return 0;
	}
	j->hv = h->hv;
	if (submit(j, work_action, done_action) != 0) {
		fjob_free(j);
		return -1;
	}
	return 0;
}

/* Lane, at quit: the host's backend, which its last job still used. */
static void
close_at_quit(void *arg)
{
	hv_close(arg);
}

void
fleet_shutdown(struct fleet *f)
{
	if (f == NULL || f->closing)
		return;
	f->closing = true;
	if (f->poll_timer >= 0)
		loop_cancel_timer(f->loop, f->poll_timer);
	f->poll_timer = -1;
	if (f->orphan_timer >= 0)
		loop_cancel_timer(f->loop, f->orphan_timer);
	f->orphan_timer = -1;
	while (f->orphans != NULL) {
		struct fjob *j = f->orphans;

		f->orphans = j->pnext;
		fjob_free(j);
	}
	for (struct fhost *h = f->hosts; h != NULL; h = h->next) {
		if (h->timer >= 0)
			loop_cancel_timer(f->loop, h->timer);
		if (h->watchdog >= 0)
			loop_cancel_timer(f->loop, h->watchdog);
		h->timer = h->watchdog = -1;
		/* Actions that waited for a connect go as lane jobs that never
		 * ran do (discard_job): vmtty is quitting. */
		while (h->parked != NULL) {
			struct fjob *j = h->parked;

			h->parked = j->pnext;
			fjob_free(j);
		}
		/* No deadline fires any more; a call still stuck keeps its job. */
		while (h->bounded != NULL)
			unbound(h->bounded);
		/* From now on its backends' events are dropped: a backend still
		 * open when the fleet is freed never reaches it. */
		sink_detach(h->sink);
		/* Idle: close now, which also stops its events.  Busy: the lane
		 * still uses it; the lane closes it once its call returns (an
		 * ssh master or a daemon's session never outlives vmtty). */
		if (h->hv != NULL && (h->lane == NULL || lane_busy(h->lane) == 0))
			hv_close(h->hv);
		else if (h->hv != NULL)
			lane_at_quit(h->lane, close_at_quit, h->hv);
		h->hv = NULL;
	}
}

void
fleet_free(struct fleet *f)
{
	struct fhost *h, *next;

	if (f == NULL)
		return;
	fleet_shutdown(f);
	for (h = f->hosts; h != NULL; h = next) {
		next = h->next;
		hv_domains_free(h->pub.doms, h->pub.ndoms);
		free(h->pub.name);
		free(h->pub.uri);
		host_clear(&h->host);
		sink_unref(h->sink);
		free(h);
	}
	free(f);
}

/* A serial console (GRAPHICS false) or the graphical display. */
static int
open_fd(struct fleet *f, const char *host, const struct vm_config *c, bool force, bool graphics,
    fleet_fd_fn done, void *arg)
{
	struct fhost *h = parking(f, host);
	struct fjob *j;
	bool parked = h != NULL;

	if (!parked && (h = ready(f, host)) == NULL)
		return -1;
	j = fjob_new(h, FJ_CONSOLE);
	j->fd = -1;
	j->force = force;
	j->graphics = graphics;
	vm_config_copy(&j->cfg, c);
	j->fd_done = done;
	j->done_arg = arg;
	if (parked) {
		park(h, j, graphics ? "the display" : "the console");
		return 0;
	}
	j->hv = h->hv;
	if (submit(j, work_console, done_console) != 0) {
		fjob_free(j);
		return -1;
	}
	return 0;
}

static void
work_run(void *arg)
{
	struct fjob *j = arg;

	__atomic_store_n(&j->started, log_now_ms(), __ATOMIC_RELEASE);
	j->run(j->hv, j->done_arg);
}

/* J leaves its host's list of bounded calls, and its deadline goes. */
static void
unbound(struct fjob *j)
{
	if (j->call_timer >= 0)
		loop_cancel_timer(j->h->f->loop, j->call_timer);
	j->call_timer = -1;
	for (struct fjob **p = &j->h->bounded; *p != NULL; p = &(*p)->bnext) {
		if (*p == j) {
			*p = j->bnext;
			break;
		}
	}
}

static void
done_run(void *arg)
{
	struct fjob *j = arg;

	settle(j);
	if (j->stalled != NULL)
		unbound(j);
	j->run_done(j->done_arg);
	fjob_free(j);
}

/*
 * Host H's LANE is stuck in a bounded call past its deadline: the host did
 * not answer.  It shows unreachable (and is connected again, on a new
 * lane), and every bounded call queued or running on LANE is told so now;
 * their DONE still follows if the stuck call ever returns.
 */
static void
stall(struct fhost *h, struct lane *lane)
{
	struct fjob **told = NULL;
	size_t n = 0;
	char why[512];

	snprintf(why, sizeof why, "host '%s' did not answer within %d s (%s)", h->pub.name,
	    FLEET_CALL_MS / 1000, h->pub.uri);
	log_debug("fleet: %s", why);
	for (struct fjob *j = h->bounded; j != NULL; j = j->bnext) {
		if (j->lane != lane || j->answered)
			continue;
		j->answered = true;
		if (j->call_timer >= 0)
			loop_cancel_timer(h->f->loop, j->call_timer);
		j->call_timer = -1;
		told = xreallocarray(told, n + 1, sizeof *told);
		told[n++] = j;
	}
	if (lane == h->lane && !h->gone && !h->f->closing) {
		abandon_lane(h);
		set_unreachable(h, why);
		notify(h->f);
	}
	/* Last: a callback may ask the fleet again (and hear the host is
	 * unreachable). */
	for (size_t i = 0; i < n; i++)
		told[i]->stalled(why, told[i]->done_arg);
	free(told);
}

/* A bounded call's deadline: FLEET_CALL_MS after it began on its lane (a
 * call queued behind another waits for that one's deadline first). */
static void
on_call_timer(void *arg)
{
	struct fjob *j = arg;
	long long started = __atomic_load_n(&j->started, __ATOMIC_ACQUIRE);
	long long left = started > 0 ? started + FLEET_CALL_MS - log_now_ms() : FLEET_CALL_MS;

	j->call_timer = -1;
	if (j->answered)
		return;
	if (left > 0) {
		j->call_timer = loop_add_timer(j->h->f->loop, left, on_call_timer, j);
		return;
	}
	stall(j->h, j->lane);
}

static int
run_job(struct fleet *f, const char *host, fleet_run_fn fn, void (*done)(void *arg),
    void (*stalled)(const char *error, void *arg), void *arg)
{
	struct fhost *h = ready(f, host);
	struct fjob *j;

	if (h == NULL)
		return -1;
	j = fjob_new(h, FJ_RUN);
	j->hv = h->hv;
	j->run = fn;
	j->run_done = done;
	j->stalled = stalled;
	j->done_arg = arg;
	if (submit(j, work_run, done_run) != 0) {
		fjob_free(j);
		return -1;
	}
	if (stalled != NULL) {
		j->bnext = h->bounded;
		h->bounded = j;
		j->call_timer = loop_add_timer(f->loop, FLEET_CALL_MS, on_call_timer, j);
	}
	return 0;
}

int
fleet_run(struct fleet *f, const char *host, fleet_run_fn fn, void (*done)(void *arg), void *arg)
{
	return run_job(f, host, fn, done, NULL, arg);
}

int
fleet_run_bounded(struct fleet *f, const char *host, fleet_run_fn fn, void (*done)(void *arg),
    void (*stalled)(const char *error, void *arg), void *arg)
{
	return run_job(f, host, fn, done, stalled, arg);
}

int
fleet_console_open(struct fleet *f, const char *host, const struct vm_config *c, bool force,
    fleet_fd_fn done, void *arg)
{
	return open_fd(f, host, c, force, false, done, arg);
}

int
fleet_graphics_open(struct fleet *f, const char *host, const struct vm_config *c,
    fleet_fd_fn done, void *arg)
{
	return open_fd(f, host, c, false, true, done, arg);
}

/* What the fleet last heard of built-in VM UUID (its QMP state, kept
 * current by the host's event watch); NULL when it has no word. */
static const struct hv_domain *
fleet_word(const struct fleet_host *fh, const char *uuid)
{
	for (size_t i = 0; fh != NULL && fh->state == FLEET_UP && i < fh->ndoms; i++)
		if (strcmp(fh->doms[i].uuid, uuid) == 0)
			return fh->doms[i].state == HV_UNKNOWN ? NULL : &fh->doms[i];
	return NULL;
}

int
fleet_vm_state(const struct fleet_host *fh, struct hv *hv, const char *uuid, const char *name,
    const char *recorded, struct hv_status *st)
{
	struct vm_config c = { 0 };
	const struct hv_domain *word;

	snprintf(c.uuid, sizeof c.uuid, "%s", uuid);
	c.name = (char *)name;	/* read only: C is not cleared */
	if (hv_peek(hv, &c, st) != 0)
		return -1;
	/* A peek cannot see a pause: QMP (through the fleet) can, else the
	 * last recorded state is the best guess. */
	word = st->state == HV_RUNNING ? fleet_word(fh, uuid) : NULL;
	if (word != NULL && word->state == HV_PAUSED)
		st->state = HV_PAUSED;
	else if (word == NULL && recorded != NULL && strcmp(recorded, "paused") == 0)
		st->state = HV_PAUSED;
	return 0;
}
