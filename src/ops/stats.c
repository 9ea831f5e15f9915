/*
 * The statistics collector (stats.h).  Each VM's entry keeps the latest
 * view and a ring of points; a sample builds the new entries from the
 * counters and the old entries (found by UUID through a sorted index, so
 * a host of a thousand domains costs no thousand-squared comparisons),
 * then swaps them in under the lock.
 */
#include "ops/stats.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "model/vm.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

struct entry {
	struct stats_vm cur;
	long long mono_ms;	/* when cur was read */
	struct stats_point *ring;	/* ring_cap points */
	size_t head;		/* the next slot to write */
	size_t count;
};

struct stats {
	pthread_mutex_t lock;
	char host[128];
	int interval_ms;
	size_t ring_cap;
	struct entry *e;
	size_t n;
};

size_t
stats_ring_size(int interval_ms)
{
	if (interval_ms < STATS_INTERVAL_MIN_MS)
		interval_ms = STATS_INTERVAL_MIN_MS;
	return (size_t)((STATS_WINDOW_MS + interval_ms - 1) / interval_ms) + 1;
}

struct stats *
stats_new(const char *host, int interval_ms)
{
	struct stats *s = xcalloc(1, sizeof *s);

	pthread_mutex_init(&s->lock, NULL);
	snprintf(s->host, sizeof s->host, "%s", host != NULL ? host : "");
	if (interval_ms <= 0)
		interval_ms = STATS_INTERVAL_MS;
	if (interval_ms < STATS_INTERVAL_MIN_MS)
		interval_ms = STATS_INTERVAL_MIN_MS;
	s->interval_ms = interval_ms;
	s->ring_cap = stats_ring_size(interval_ms);
	return s;
}

static void
vm_clear(struct stats_vm *v)
{
	free(v->vcpu_time_ns);
	free(v->vcpu_pct);
	free(v->disk);
	free(v->nic);
	v->vcpu_time_ns = NULL;
	v->vcpu_pct = NULL;
	v->disk = NULL;
	v->nic = NULL;
}

static void
entry_free(struct entry *e)
{
	vm_clear(&e->cur);
	free(e->ring);
}

void
stats_free(struct stats *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		entry_free(&s->e[i]);
	free(s->e);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int
stats_interval_ms(const struct stats *s)
{
	return s->interval_ms;
}

/* Per second from counter CUR and PREV over DT seconds; a counter that
 * went down started again from zero.  -1 when either is unknown. */
static double
rate(int64_t cur, int64_t prev, double dt)
{
	if (cur < 0 || prev < 0 || dt <= 0)
		return -1;
	return (double)(cur >= prev ? cur - prev : cur) / dt;
}

static bool
active(enum hv_state st)
{
	return st == HV_RUNNING || st == HV_PAUSED || st == HV_SHUTTING_DOWN;
}

static const struct stats_disk *
find_disk(const struct stats_vm *v, const char *name)
{
	for (size_t i = 0; v != NULL && i < v->ndisk; i++)
		if (strcmp(v->disk[i].name, name) == 0)
			return &v->disk[i];
	return NULL;
}

static const struct stats_nic *
find_nic(const struct stats_vm *v, const char *name)
{
	for (size_t i = 0; v != NULL && i < v->nnic; i++)
		if (strcmp(v->nic[i].name, name) == 0)
			return &v->nic[i];
	return NULL;
}

/* Add X to *SUM unless X is unknown; *SUM starts at -1 (nothing yet). */
static void
add_d(double *sum, double x)
{
	if (x < 0)
		return;
	*sum = *sum < 0 ? x : *sum + x;
}

static void
add_i(int64_t *sum, int64_t x)
{
	if (x < 0)
		return;
	*sum = *sum < 0 ? x : *sum + x;
}

static void
fold_disks(struct stats_vm *v, const struct hv_stats *r, const struct stats_vm *prev, double dt)
{
	v->rd_bps = v->wr_bps = v->rd_ops = v->wr_ops = -1;
	v->rd_bytes = v->wr_bytes = v->rd_reqs = v->wr_reqs = -1;
	v->ndisk = r->ndisk;
	v->disk = xcalloc(r->ndisk + 1, sizeof *v->disk);
	for (size_t i = 0; i < r->ndisk; i++) {
		struct stats_disk *d = &v->disk[i];
		const struct stats_disk *p;

		snprintf(d->name, sizeof d->name, "%s", r->disk[i].name);
		d->rd_bytes = r->disk[i].rd_bytes;
		d->wr_bytes = r->disk[i].wr_bytes;
		d->rd_reqs = r->disk[i].rd_reqs;
		d->wr_reqs = r->disk[i].wr_reqs;
		d->rd_bps = d->wr_bps = d->rd_ops = d->wr_ops = -1;
		if ((p = find_disk(prev, d->name)) != NULL) {
			d->rd_bps = rate(d->rd_bytes, p->rd_bytes, dt);
			d->wr_bps = rate(d->wr_bytes, p->wr_bytes, dt);
			d->rd_ops = rate(d->rd_reqs, p->rd_reqs, dt);
			d->wr_ops = rate(d->wr_reqs, p->wr_reqs, dt);
		}
		add_d(&v->rd_bps, d->rd_bps);
		add_d(&v->wr_bps, d->wr_bps);
		add_d(&v->rd_ops, d->rd_ops);
		add_d(&v->wr_ops, d->wr_ops);
		add_i(&v->rd_bytes, d->rd_bytes);
		add_i(&v->wr_bytes, d->wr_bytes);
		add_i(&v->rd_reqs, d->rd_reqs);
		add_i(&v->wr_reqs, d->wr_reqs);
	}
	if (r->ndisk == 0 && prev != NULL)
		v->rd_bps = v->wr_bps = v->rd_ops = v->wr_ops = 0;
}

static void
fold_nics(struct stats_vm *v, const struct hv_stats *r, const struct stats_vm *prev, double dt)
{
	v->rx_bps = v->tx_bps = v->rx_pps = v->tx_pps = -1;
	v->rx_bytes = v->tx_bytes = -1;
	v->nnic = r->nnic;
	v->nic = xcalloc(r->nnic + 1, sizeof *v->nic);
	for (size_t i = 0; i < r->nnic; i++) {
		struct stats_nic *d = &v->nic[i];
		const struct stats_nic *p;

		snprintf(d->name, sizeof d->name, "%s", r->nic[i].name);
		d->rx_bytes = r->nic[i].rx_bytes;
		d->tx_bytes = r->nic[i].tx_bytes;
		d->rx_packets = r->nic[i].rx_packets;
		d->tx_packets = r->nic[i].tx_packets;
		d->rx_bps = d->tx_bps = d->rx_pps = d->tx_pps = -1;
		if ((p = find_nic(prev, d->name)) != NULL) {
			d->rx_bps = rate(d->rx_bytes, p->rx_bytes, dt);
			d->tx_bps = rate(d->tx_bytes, p->tx_bytes, dt);
			d->rx_pps = rate(d->rx_packets, p->rx_packets, dt);
			d->tx_pps = rate(d->tx_packets, p->tx_packets, dt);
		}
		add_d(&v->rx_bps, d->rx_bps);
		add_d(&v->tx_bps, d->tx_bps);
		add_d(&v->rx_pps, d->rx_pps);
		add_d(&v->tx_pps, d->tx_pps);
		add_i(&v->rx_bytes, d->rx_bytes);
		add_i(&v->tx_bytes, d->tx_bytes);
	}
	/* No NIC at all: nothing flows, and that is known. */
	if (r->nnic == 0 && prev != NULL)
		v->rx_bps = v->tx_bps = v->rx_pps = v->tx_pps = 0;
}

/* V from counters R, with rates against PREV (NULL: none) DT seconds
 * before. */
static void
fold(struct stats_vm *v, const struct hv_stats *r, const struct stats_vm *prev, double dt)
{
	bool have_prev = prev != NULL && active(prev->state) && active(r->state) && dt > 0 &&
	    prev->cpu_time_ns >= 0 && r->cpu_time_ns >= 0;

	if (!have_prev)
		prev = NULL;
	v->state = r->state;
	v->rates = have_prev;
	v->interval_s = have_prev ? dt : 0;
	v->cpu_time_ns = r->cpu_time_ns;
	v->cpu_pct = have_prev ? rate(r->cpu_time_ns, prev->cpu_time_ns, dt) / 1e7 : -1;
	v->nvcpu = r->nvcpu;
	v->vcpu_time_ns = xcalloc((size_t)r->nvcpu + 1, sizeof *v->vcpu_time_ns);
	v->vcpu_pct = xcalloc((size_t)r->nvcpu + 1, sizeof *v->vcpu_pct);
	for (int i = 0; i < r->nvcpu; i++) {
		v->vcpu_time_ns[i] = r->vcpu_time_ns != NULL ? r->vcpu_time_ns[i] : -1;
		v->vcpu_pct[i] = -1;
		if (prev != NULL && i < prev->nvcpu && v->vcpu_time_ns[i] >= 0 &&
		    prev->vcpu_time_ns[i] >= 0)
			v->vcpu_pct[i] = rate(v->vcpu_time_ns[i], prev->vcpu_time_ns[i], dt) / 1e7;
	}
	v->mem_actual_kib = r->mem_actual_kib;
	v->mem_max_kib = r->mem_max_kib;
	v->mem_available_kib = r->mem_available_kib;
	v->mem_usable_kib = r->mem_usable_kib;
	v->mem_unused_kib = r->mem_unused_kib;
	v->mem_rss_kib = r->mem_rss_kib;
	fold_disks(v, r, prev, dt);
	fold_nics(v, r, prev, dt);
	v->job = r->job;
	snprintf(v->note, sizeof v->note, "%s", r->note);
}

static void
ring_push(struct stats *s, struct entry *e)
{
	const struct stats_vm *v = &e->cur;
	struct stats_point *p;

	if (e->ring == NULL)
		e->ring = xcalloc(s->ring_cap, sizeof *e->ring);
	p = &e->ring[e->head];
	p->when_ms = v->when_ms;
	p->cpu_pct = (float)v->cpu_pct;
	p->mem_actual_kib = (float)v->mem_actual_kib;
	p->mem_rss_kib = (float)v->mem_rss_kib;
	p->mem_used_kib = v->mem_available_kib >= 0 && v->mem_unused_kib >= 0 ?
	    (float)(v->mem_available_kib - v->mem_unused_kib) : -1;
	p->rd_bps = (float)v->rd_bps;
	p->wr_bps = (float)v->wr_bps;
	p->rd_ops = (float)v->rd_ops;
	p->wr_ops = (float)v->wr_ops;
	p->rx_bps = (float)v->rx_bps;
	p->tx_bps = (float)v->tx_bps;
	e->head = (e->head + 1) % s->ring_cap;
	if (e->count < s->ring_cap)
		e->count++;
}

struct key {
	const char *uuid;
	size_t i;
};

static int
key_cmp(const void *a, const void *b)
{
	return strcasecmp(((const struct key *)a)->uuid, ((const struct key *)b)->uuid);
}

void
stats_feed(struct stats *s, const struct vm_config *const *vms, struct hv_stats *raw, size_t n,
    long long mono_ms, long long wall_ms)
{
	struct entry *ne = xcalloc(n + 1, sizeof *ne), *old;
	struct key *keys, k, *hit;
	bool *taken;
	size_t nn = 0, nold;

	pthread_mutex_lock(&s->lock);
	old = s->e;
	nold = s->n;
	keys = xcalloc(nold + 1, sizeof *keys);
	taken = xcalloc(nold + 1, sizeof *taken);
	for (size_t i = 0; i < nold; i++) {
		keys[i].uuid = old[i].cur.uuid;
		keys[i].i = i;
	}
	qsort(keys, nold, sizeof *keys, key_cmp);
	for (size_t i = 0; i < n; i++) {
		struct entry *e = &ne[nn];
		struct entry *o = NULL;

		if (!raw[i].found || vms[i]->uuid[0] == '\0')
			continue;
		k.uuid = vms[i]->uuid;
		if ((hit = bsearch(&k, keys, nold, sizeof *keys, key_cmp)) != NULL &&
		    !taken[hit->i]) {
			o = &old[hit->i];
			taken[hit->i] = true;
		}
		snprintf(e->cur.uuid, sizeof e->cur.uuid, "%s", vms[i]->uuid);
		snprintf(e->cur.name, sizeof e->cur.name, "%s", vms[i]->name != NULL ?
		    vms[i]->name : "");
		snprintf(e->cur.host, sizeof e->cur.host, "%s", s->host);
		e->cur.when_ms = wall_ms;
		e->mono_ms = mono_ms;
		fold(&e->cur, &raw[i], o != NULL ? &o->cur : NULL,
		    o != NULL ? (double)(mono_ms - o->mono_ms) / 1000.0 : 0);
		if (o != NULL) {
			e->ring = o->ring;
			e->head = o->head;
			e->count = o->count;
			o->ring = NULL;
		}
		if (e->cur.rates)
			ring_push(s, e);
		nn++;
	}
	for (size_t i = 0; i < nold; i++)
		entry_free(&old[i]);
	free(old);
	s->e = ne;
	s->n = nn;
	pthread_mutex_unlock(&s->lock);
	free(keys);
	free(taken);
	hv_stats_clear(raw, n);
}

static long long
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
stats_sample(struct stats *s, struct hv *hv, const struct vm_config *const *vms, size_t n)
{
	struct hv_stats *raw = xcalloc(n + 1, sizeof *raw);

	if (hv_stats(hv, vms, n, raw) != 0) {
		free(raw);
		return -1;
	}
	stats_feed(s, vms, raw, n, log_now_ms(), wall_ms());
	free(raw);
	return 0;
}

static void
vm_copy(struct stats_vm *dst, const struct stats_vm *src)
{
	*dst = *src;
	dst->vcpu_time_ns = xcalloc((size_t)src->nvcpu + 1, sizeof *dst->vcpu_time_ns);
	dst->vcpu_pct = xcalloc((size_t)src->nvcpu + 1, sizeof *dst->vcpu_pct);
	if (src->nvcpu > 0) {
		memcpy(dst->vcpu_time_ns, src->vcpu_time_ns,
		    (size_t)src->nvcpu * sizeof *dst->vcpu_time_ns);
		memcpy(dst->vcpu_pct, src->vcpu_pct, (size_t)src->nvcpu * sizeof *dst->vcpu_pct);
	}
	dst->disk = xcalloc(src->ndisk + 1, sizeof *dst->disk);
	if (src->ndisk > 0)
		memcpy(dst->disk, src->disk, src->ndisk * sizeof *dst->disk);
	dst->nic = xcalloc(src->nnic + 1, sizeof *dst->nic);
	if (src->nnic > 0)
		memcpy(dst->nic, src->nic, src->nnic * sizeof *dst->nic);
}

void
stats_snapshot(struct stats *s, struct stats_vm **out, size_t *n)
{
	pthread_mutex_lock(&s->lock);
	*out = xcalloc(s->n + 1, sizeof **out);
	for (size_t i = 0; i < s->n; i++)
		vm_copy(&(*out)[i], &s->e[i].cur);
	*n = s->n;
	pthread_mutex_unlock(&s->lock);
}

void
stats_vms_free(struct stats_vm *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		vm_clear(&v[i]);
	free(v);
}

size_t
stats_history(struct stats *s, const char *uuid, long long window_ms, struct stats_point *out,
    size_t max)
{
	size_t got = 0;

	if (window_ms <= 0 || window_ms > STATS_WINDOW_MS)
		window_ms = STATS_WINDOW_MS;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++) {
		const struct entry *e = &s->e[i];
		long long since;
		size_t first;

		if (strcasecmp(e->cur.uuid, uuid) != 0 || e->count == 0)
			continue;
		since = e->cur.when_ms - window_ms;
		first = (e->head + s->ring_cap - e->count) % s->ring_cap;
		for (size_t k = 0; k < e->count; k++) {
			const struct stats_point *p = &e->ring[(first + k) % s->ring_cap];

			if (p->when_ms <= since)
				continue;
			if (got == max) {
				/* Keep the newest MAX: drop the oldest kept. */
				memmove(out, out + 1, (max - 1) * sizeof *out);
				got--;
			}
			if (max > 0)
				out[got++] = *p;
		}
		break;
	}
	pthread_mutex_unlock(&s->lock);
	return got;
}

int
stats_sort_parse(const char *s, enum stats_sort *out)
{
	static const char *const names[] = { "cpu", "mem", "io", "name" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum stats_sort)i;
			return 0;
		}
	return err_set("unknown sort order '%s'; use cpu, mem, io or name", s);
}

static double
mem_of(const struct stats_vm *v)
{
	return (double)(v->mem_rss_kib >= 0 ? v->mem_rss_kib : v->mem_actual_kib);
}

static double
io_of(const struct stats_vm *v)
{
	return (v->rd_bps > 0 ? v->rd_bps : 0) + (v->wr_bps > 0 ? v->wr_bps : 0);
}

static int
vm_cmp(const void *a, const void *b, void *arg)
{
	const struct stats_vm *x = a, *y = b;
	enum stats_sort sort_by = *(const enum stats_sort *)arg;
	double kx = 0, ky = 0;
	int c;

	switch (sort_by) {
	case STATS_SORT_CPU: kx = x->cpu_pct; ky = y->cpu_pct; break;
	case STATS_SORT_MEM: kx = mem_of(x); ky = mem_of(y); break;
	case STATS_SORT_IO: kx = io_of(x); ky = io_of(y); break;
	case STATS_SORT_NAME: break;
	}
	if (kx != ky)
		return kx > ky ? -1 : 1;
	if ((c = strcmp(x->host, y->host)) != 0)
		return c;
	return strcmp(x->name, y->name);
}

void
stats_sort(struct stats_vm *v, size_t n, enum stats_sort by)
{
	qsort_r(v, n, sizeof *v, vm_cmp, &by);
}
