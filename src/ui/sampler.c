/*
 * The TUI's statistics sampler: one ops/stats collector per host, sampled
 * every interval on the host's fleet lane (fleet_run_bounded), only while
 * a view on screen shows that host's numbers (sampler_want, from the
 * views' draw).  The UI thread only reads the collectors.
 *
 * Why the fleet's lane and not one of its own: the lane has the host's
 * connection (a second one would mean a second login, and a second
 * reconnect logic), and a sample is a few RPCs or /proc reads.  A long
 * operation on the lane (a snapshot, a disk copy) delays the samples
 * meanwhile: the graphs show a gap, and the rates after it span the whole
 * gap.  A host that stops answering: the bounded call's deadline says so,
 * the fleet reconnects, and the stuck sample keeps its own collector; the
 * host starts a new one.  One sample per host at a time, never queued up.
 */
#include "ui/ui_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#include "model/host.h"
#include "model/vm.h"
#include "ops/fleet.h"
#include "ops/stats.h"
#include "util/err.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xalloc.h"

/* A wanted host not up yet is tried again this often. */
#define SAMPLER_RETRY_MS 250

/* The VMs a sample reads, shared by the host and its job in flight. */
struct cfgset {
	int refs;		/* UI thread only */
	struct vm_config *cfg;
	const struct vm_config **vms;
	size_t n;
};

/* A VM of the list, as much as it takes to load or make its config. */
struct svm {
	int64_t id;
	char uuid[UUID_STR_LEN];
	char *name;
	int cpus;
};

struct sjob;

struct shost {
	char *name;
	enum host_kind kind;
	struct stats *st;
	struct svm *vms;
	size_t nvms;
	struct cfgset *set;	/* NULL: to be made from VMS at the next round */
	long long want_until;	/* log_now_ms(): sampled until then */
	long long next_at;	/* log_now_ms() of its next sample */
	struct sjob *job;	/* in flight */
	char error[512];	/* why its numbers are old; "" */
	struct shost *next;
};

enum { SJ_QUEUED, SJ_RUNNING, SJ_DONE };

struct sjob {
	struct sampler *s;
	struct shost *h;	/* NULL once orphaned (stalled, or the host went) */
	struct stats *st;	/* the host's collector; the job's own once orphaned */
	struct cfgset *set;
	int state;		/* SJ_*: written by the lane (atomic) */
	int rc;
	char error[512];
	struct sjob *next;	/* every job not done */
};

struct sampler {
	struct ui *ui;
	int interval_ms;
	int timer;
	struct shost *hosts;
	struct sjob *jobs;
};

/* $VMTTY_STATS_INTERVAL seconds (fractions allowed, 0.1 to 3600), else
 * STATS_INTERVAL_MS.  Read before the TUI sets the user's locale, so the
 * fraction is always written with a point. */
static int
interval_from_env(void)
{
	const char *e = getenv("VMTTY_STATS_INTERVAL");
	char *end;
	double s;

	if (e == NULL || e[0] == '\0')
		return STATS_INTERVAL_MS;
	s = strtod(e, &end);
	if (*end != '\0' || !(s * 1000 >= STATS_INTERVAL_MIN_MS) ||
	    !(s * 1000 <= STATS_INTERVAL_MAX_MS)) {
		log_debug("sampler: VMTTY_STATS_INTERVAL '%s' is not 0.1 to 3600 seconds; "
		    "sampling every %d ms", e, STATS_INTERVAL_MS);
		return STATS_INTERVAL_MS;
	}
	return (int)(s * 1000 + 0.5);
}

struct sampler *
sampler_new(struct ui *ui)
{
	struct sampler *s = xcalloc(1, sizeof *s);

	s->ui = ui;
	s->interval_ms = interval_from_env();
	s->timer = -1;
	return s;
}

int
sampler_interval_ms(const struct sampler *s)
{
	return s->interval_ms;
}

static void
set_unref(struct cfgset *set)
{
	if (set == NULL || --set->refs > 0)
		return;
	for (size_t i = 0; i < set->n; i++)
		vm_config_clear(&set->cfg[i]);
	free(set->cfg);
	free(set->vms);
	free(set);
}

static struct shost *
find(struct sampler *s, const char *name)
{
	for (struct shost *h = s->hosts; h != NULL; h = h->next)
		if (strcmp(h->name, name) == 0)
			return h;
	return NULL;
}

static void
vms_clear(struct shost *h)
{
	for (size_t i = 0; i < h->nvms; i++)
		free(h->vms[i].name);
	free(h->vms);
	h->vms = NULL;
	h->nvms = 0;
}

/* H's job in flight goes on alone: it keeps the collector it samples. */
static void
orphan(struct shost *h)
{
	if (h->job == NULL)
		return;
	h->job->h = NULL;
	h->job = NULL;
	h->st = NULL;
}

static void
host_free(struct shost *h)
{
	orphan(h);
	stats_free(h->st);
	set_unref(h->set);
	vms_clear(h);
	free(h->name);
	free(h);
}

void
sampler_set_vms(struct sampler *s, const struct host *hosts, size_t nhosts,
    const struct vm_summary *vms, size_t nvms)
{
	struct shost **p = &s->hosts;

	/* Hosts no longer listed go (a job in flight finishes alone). */
	while (*p != NULL) {
		bool keep = false;

		for (size_t i = 0; i < nhosts && !keep; i++)
			keep = strcmp(hosts[i].name, (*p)->name) == 0 &&
			    hosts[i].kind == (*p)->kind;
		if (keep) {
			p = &(*p)->next;
		} else {
			struct shost *gone = *p;

			*p = gone->next;
			host_free(gone);
		}
	}
	for (size_t i = 0; i < nhosts; i++) {
		struct shost *h = find(s, hosts[i].name);

		if (h == NULL) {
			h = xcalloc(1, sizeof *h);
			h->name = xstrdup(hosts[i].name);
			h->kind = hosts[i].kind;
			h->st = stats_new(h->name, s->interval_ms);
			h->next = s->hosts;
			s->hosts = h;
		}
		vms_clear(h);
		h->vms = xcalloc(nvms + 1, sizeof *h->vms);
		for (size_t k = 0; k < nvms; k++) {
			struct svm *m;

			if (strcmp(vms[k].host, h->name) != 0)
				continue;
			m = &h->vms[h->nvms++];
			m->id = vms[k].id;
			snprintf(m->uuid, sizeof m->uuid, "%s", vms[k].uuid);
			m->name = xstrdup(vms[k].name);
			m->cpus = vms[k].cpus;
		}
		/* Made again at the next round: a configuration may have
		 * changed (a disk added) with the list. */
		set_unref(h->set);
		h->set = NULL;
	}
}

/*
 * H's VMs for a sample.  A built-in VM's sample needs its whole
 * configuration (its disks, NICs and runtime files), read from the
 * inventory; a libvirt host finds its domains by UUID, so a config made
 * from the list's summary does (no thousand reads for a big host).
 */
static struct cfgset *
make_set(struct sampler *s, struct shost *h)
{
	struct cfgset *set = xcalloc(1, sizeof *set);

	set->refs = 1;
	set->cfg = xcalloc(h->nvms + 1, sizeof *set->cfg);
	set->vms = xcalloc(h->nvms + 1, sizeof *set->vms);
	for (size_t i = 0; i < h->nvms; i++) {
		struct vm_config *c = &set->cfg[set->n];

		if (h->kind == HOST_BUILTIN) {
			if (vm_load(ui_db(s->ui), h->vms[i].id, c) != 0) {
				log_debug("sampler: %s", err_get());
				memset(c, 0, sizeof *c);
				continue;
			}
		} else {
			snprintf(c->uuid, sizeof c->uuid, "%s", h->vms[i].uuid);
			c->name = xstrdup(h->vms[i].name);
			c->host = xstrdup(h->name);
			c->sockets = c->threads = 1;
			c->cores = h->vms[i].cpus > 0 ? h->vms[i].cpus : 1;
		}
		set->vms[set->n] = c;
		set->n++;
	}
	return set;
}

/* Lane: read the host's counters into the collector. */
static void
work_sample(struct hv *hv, void *arg)
{
	struct sjob *j = arg;

	__atomic_store_n(&j->state, SJ_RUNNING, __ATOMIC_RELEASE);
	j->rc = stats_sample(j->st, hv, j->set->vms, j->set->n);
	if (j->rc != 0)
		snprintf(j->error, sizeof j->error, "%s", err_get());
	__atomic_store_n(&j->state, SJ_DONE, __ATOMIC_RELEASE);
}

static void
job_unlink(struct sjob *j)
{
	for (struct sjob **p = &j->s->jobs; *p != NULL; p = &(*p)->next) {
		if (*p == j) {
			*p = j->next;
			break;
		}
	}
}

static void
done_sample(void *arg)
{
	struct sjob *j = arg;

	job_unlink(j);
	if (j->h != NULL) {
		j->h->job = NULL;
		snprintf(j->h->error, sizeof j->h->error, "%s", j->rc == 0 ? "" : j->error);
		/* New numbers for whatever shows them. */
		ui_intent(j->s->ui, UI_REDRAW);
	} else {
		stats_free(j->st);
	}
	set_unref(j->set);
	free(j);
}

/* The host did not answer within the fleet's deadline: the job keeps its
 * collector (its thread may still write it); the host starts afresh. */
static void
stalled_sample(const char *error, void *arg)
{
	struct sjob *j = arg;
	struct shost *h = j->h;

	if (h == NULL)
		return;
	snprintf(h->error, sizeof h->error, "%s", error);
	orphan(h);
	h->st = stats_new(h->name, j->s->interval_ms);
	ui_intent(j->s->ui, UI_REDRAW);
}

/* A sample of H on its lane; false when H is not up (or the lane
 * refused), so that it is tried again soon. */
static bool
sample_host(struct sampler *s, struct shost *h)
{
	struct fleet_host *fh = fleet_get(ui_fleet(s->ui), h->name);
	struct sjob *j;

	if (fh == NULL || fh->state != FLEET_UP) {
		if (fh != NULL)
			snprintf(h->error, sizeof h->error, "host '%s' is %s", h->name,
			    fleet_state_name(fh->state));
		return false;
	}
	if (h->set == NULL)
		h->set = make_set(s, h);
	j = xcalloc(1, sizeof *j);
	j->s = s;
	j->h = h;
	j->st = h->st;
	j->set = h->set;
	j->set->refs++;
	if (fleet_run_bounded(ui_fleet(s->ui), h->name, work_sample, done_sample,
	    stalled_sample, j) != 0) {
		snprintf(h->error, sizeof h->error, "%s", err_get());
		set_unref(j->set);
		free(j);
		return false;
	}
	h->job = j;
	j->next = s->jobs;
	s->jobs = j;
	return true;
}

/* Each wanted host is due every interval from its last sample (one still
 * busy waits for its next turn); a host not up yet is tried again after
 * SAMPLER_RETRY_MS, so that its first samples follow its connect. */
static void
on_timer(void *arg)
{
	struct sampler *s = arg;
	long long now = log_now_ms(), next = -1;

	s->timer = -1;
	for (struct shost *h = s->hosts; h != NULL; h = h->next) {
		if (h->want_until < now)
			continue;
		if (h->next_at <= now) {
			if (h->job != NULL || sample_host(s, h))
				h->next_at = now + s->interval_ms;
			else
				h->next_at = now + (s->interval_ms < SAMPLER_RETRY_MS ?
				    s->interval_ms : SAMPLER_RETRY_MS);
		}
		if (next < 0 || h->next_at < next)
			next = h->next_at;
	}
	if (next >= 0)
		s->timer = loop_add_timer(ui_loop(s->ui), next > now ? next - now : 0, on_timer, s);
}

void
sampler_want(struct sampler *s, const char *host)
{
	struct shost *h = find(s, host);
	long long now = log_now_ms();
	bool fresh;

	if (h == NULL)
		return;
	/* Newly wanted: sampled now, not at the other hosts' next turn. */
	fresh = h->want_until < now && h->next_at <= now;
	/* Two intervals and a margin: a view that draws after each sample
	 * keeps it going; one no longer on screen lets it stop. */
	h->want_until = now + 2 * (long long)s->interval_ms + 500;
	if (s->timer >= 0 && fresh) {
		loop_cancel_timer(ui_loop(s->ui), s->timer);
		s->timer = -1;
	}
	if (s->timer < 0)
		s->timer = loop_add_timer(ui_loop(s->ui), 0, on_timer, s);
}

size_t
sampler_history(struct sampler *s, const char *host, const char *uuid, long long window_ms,
    struct stats_point *out, size_t max)
{
	struct shost *h = find(s, host);

	return h != NULL && h->st != NULL ? stats_history(h->st, uuid, window_ms, out, max) : 0;
}

struct stats_vm *
sampler_latest(struct sampler *s, const char *host, const char *uuid)
{
	struct shost *h = find(s, host);
	struct stats_vm *all, *one = NULL;
	size_t n;

	if (h == NULL || h->st == NULL)
		return NULL;
	stats_snapshot(h->st, &all, &n);
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(all[i].uuid, uuid) != 0)
			continue;
		one = xcalloc(1, sizeof *one);
		*one = all[i];
		/* Its arrays move to ONE. */
		memset(&all[i], 0, sizeof all[i]);
		break;
	}
	stats_vms_free(all, n);
	return one;
}

const char *
sampler_error(struct sampler *s, const char *host)
{
	struct shost *h = find(s, host);

	return h != NULL ? h->error : "";
}

void
sampler_free(struct sampler *s)
{
	struct sjob *j, *next;

	if (s == NULL)
		return;
	if (s->timer >= 0)
		loop_cancel_timer(ui_loop(s->ui), s->timer);
	while (s->hosts != NULL) {
		struct shost *h = s->hosts;

		s->hosts = h->next;
		host_free(h);
	}
	/* After jobs_free: what is left never ran (discarded) or is stuck in
	 * a call on a thread left behind, which may still write its job. */
	for (j = s->jobs; j != NULL; j = next) {
		next = j->next;
		if (__atomic_load_n(&j->state, __ATOMIC_ACQUIRE) == SJ_RUNNING) {
#ifdef __SANITIZE_ADDRESS__
			__lsan_ignore_object(j);
#endif
			continue;
		}
		stats_free(j->st);
		set_unref(j->set);
		free(j);
	}
	free(s);
}
