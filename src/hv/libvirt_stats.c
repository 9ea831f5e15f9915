/*
 * Statistics of a libvirt host's domains: one virConnectGetAllDomainStats
 * for the whole host, whatever the number of domains.  A driver that
 * leaves groups out of it (the test driver reports the state only) is
 * asked domain by domain for what is missing: virDomainGetInfo,
 * GetVcpus, MemoryStats, and BlockStats / InterfaceStats for each disk
 * and NIC of the domain's XML.  The job a running or paused domain runs
 * (a migration) comes from virDomainGetJobStats, one call per such domain
 * while the driver has it, within a time budget per sample.
 */
#include "hv/hv.h"
#include "hv/libvirt.h"
#include "hv/libvirt_priv.h"
#include "hv/libvirt_xml_priv.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

#define STATS_GROUPS (VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL | \
	VIR_DOMAIN_STATS_BALLOON | VIR_DOMAIN_STATS_VCPU | VIR_DOMAIN_STATS_INTERFACE | \
	VIR_DOMAIN_STATS_BLOCK)

/* The parts a bulk record gave; the others are asked for one by one. */
enum {
	HAVE_STATE = 1 << 0,
	HAVE_CPU = 1 << 1,
	HAVE_BALLOON = 1 << 2,
	HAVE_VCPU = 1 << 3,
	HAVE_NET = 1 << 4,
	HAVE_BLOCK = 1 << 5,
	HAVE_ALL = (1 << 6) - 1,
};

struct vm_key {
	const char *uuid;
	size_t i;
};

static int
key_cmp(const void *a, const void *b)
{
	return strcasecmp(((const struct vm_key *)a)->uuid, ((const struct vm_key *)b)->uuid);
}

static int64_t
ull(virDomainStatsRecordPtr r, const char *fmt, size_t idx)
{
	unsigned long long v;
	char key[64];

	snprintf(key, sizeof key, fmt, idx);
	if (virTypedParamsGetULLong(r->params, r->nparams, key, &v) != 1 || v > INT64_MAX)
		return -1;
	return (int64_t)v;
}

static unsigned int
uint_param(virDomainStatsRecordPtr r, const char *fmt, size_t idx, bool *ok)
{
	unsigned int v = 0;
	char key[64];

	snprintf(key, sizeof key, fmt, idx);
	*ok = virTypedParamsGetUInt(r->params, r->nparams, key, &v) == 1;
	return v;
}

static void
str_param(virDomainStatsRecordPtr r, const char *fmt, size_t idx, char *out, size_t len)
{
	const char *v = NULL;
	char key[64];

	snprintf(key, sizeof key, fmt, idx);
	if (virTypedParamsGetString(r->params, r->nparams, key, &v) == 1 && v != NULL)
		snprintf(out, len, "%s", v);
}

static int
from_balloon(virDomainStatsRecordPtr r, struct hv_stats *s)
{
	s->mem_actual_kib = ull(r, "balloon.current", 0);
	s->mem_max_kib = ull(r, "balloon.maximum", 0);
	s->mem_available_kib = ull(r, "balloon.available", 0);
	s->mem_usable_kib = ull(r, "balloon.usable", 0);
	s->mem_unused_kib = ull(r, "balloon.unused", 0);
	s->mem_rss_kib = ull(r, "balloon.rss", 0);
	return s->mem_actual_kib >= 0 ? HAVE_BALLOON : 0;
}

static int
from_vcpus(virDomainStatsRecordPtr r, struct hv_stats *s)
{
	bool ok;
	unsigned int n = uint_param(r, "vcpu.current", 0, &ok);

	if (!ok || n == 0 || n > 4096)
		return 0;
	s->nvcpu = (int)n;
	s->vcpu_time_ns = xcalloc(n + 1, sizeof *s->vcpu_time_ns);
	for (unsigned int v = 0; v < n; v++)
		s->vcpu_time_ns[v] = ull(r, "vcpu.%zu.time", v);
	return s->vcpu_time_ns[0] >= 0 ? HAVE_VCPU : 0;
}

static int
from_net(virDomainStatsRecordPtr r, struct hv_stats *s)
{
	bool ok;
	unsigned int n = uint_param(r, "net.count", 0, &ok);

	if (!ok || n > 4096)
		return 0;
	s->nnic = n;
	s->nic = xcalloc(n + 1, sizeof *s->nic);
	for (size_t i = 0; i < n; i++) {
		str_param(r, "net.%zu.name", i, s->nic[i].name, sizeof s->nic[i].name);
		s->nic[i].rx_bytes = ull(r, "net.%zu.rx.bytes", i);
		s->nic[i].rx_packets = ull(r, "net.%zu.rx.pkts", i);
		s->nic[i].tx_bytes = ull(r, "net.%zu.tx.bytes", i);
		s->nic[i].tx_packets = ull(r, "net.%zu.tx.pkts", i);
	}
	return HAVE_NET;
}

static int
from_block(virDomainStatsRecordPtr r, struct hv_stats *s)
{
	bool ok;
	unsigned int n = uint_param(r, "block.count", 0, &ok);

	if (!ok || n > 4096)
		return 0;
	s->ndisk = n;
	s->disk = xcalloc(n + 1, sizeof *s->disk);
	for (size_t i = 0; i < n; i++) {
		str_param(r, "block.%zu.name", i, s->disk[i].name, sizeof s->disk[i].name);
		s->disk[i].rd_bytes = ull(r, "block.%zu.rd.bytes", i);
		s->disk[i].rd_reqs = ull(r, "block.%zu.rd.reqs", i);
		s->disk[i].wr_bytes = ull(r, "block.%zu.wr.bytes", i);
		s->disk[i].wr_reqs = ull(r, "block.%zu.wr.reqs", i);
	}
	return HAVE_BLOCK;
}

/* S from one bulk record: the HAVE_* bits of what it held. */
static int
from_record(virDomainStatsRecordPtr r, struct hv_stats *s)
{
	int have = 0, v;

	s->found = true;
	if (virTypedParamsGetInt(r->params, r->nparams, "state.state", &v) == 1) {
		s->state = libvirt_state_map(v);
		have |= HAVE_STATE;
	}
	if ((s->cpu_time_ns = ull(r, "cpu.time", 0)) >= 0)
		have |= HAVE_CPU;
	have |= from_balloon(r, s) | from_vcpus(r, s);
	/* An inactive domain has no devices to count. */
	if (s->state != HV_RUNNING && s->state != HV_PAUSED)
		return have | HAVE_NET | HAVE_BLOCK | HAVE_VCPU;
	return have | from_net(r, s) | from_block(r, s);
}

/* Without bulk state and CPU: virDomainGetInfo. */
static void
ask_info(virDomainPtr dom, struct hv_stats *s, int have)
{
	virDomainInfo info;

	if (virDomainGetInfo(dom, &info) != 0)
		return;
	if (!(have & HAVE_STATE))
		s->state = libvirt_state_map(info.state);
	if (!(have & HAVE_CPU))
		s->cpu_time_ns = (int64_t)info.cpuTime;
	if (!(have & HAVE_BALLOON)) {
		s->mem_actual_kib = (int64_t)info.memory;
		s->mem_max_kib = (int64_t)info.maxMem;
	}
	if (s->nvcpu == 0)
		s->nvcpu = info.nrVirtCpu;
}

static void
ask_vcpus(virDomainPtr dom, struct hv_stats *s)
{
	int n = s->nvcpu > 0 ? s->nvcpu : 1;
	virVcpuInfoPtr info = xcalloc((size_t)n, sizeof *info);
	int got = virDomainGetVcpus(dom, info, n, NULL, 0);

	free(s->vcpu_time_ns);
	s->vcpu_time_ns = xcalloc((size_t)n + 1, sizeof *s->vcpu_time_ns);
	for (int v = 0; v < n; v++)
		s->vcpu_time_ns[v] = -1;
	for (int k = 0; k < got; k++)
		if (info[k].number < (unsigned int)n)
			s->vcpu_time_ns[info[k].number] = (int64_t)info[k].cpuTime;
	s->nvcpu = n;
	free(info);
}

static void
ask_memory(virDomainPtr dom, struct hv_stats *s)
{
	virDomainMemoryStatStruct m[VIR_DOMAIN_MEMORY_STAT_NR];
	int n = virDomainMemoryStats(dom, m, VIR_DOMAIN_MEMORY_STAT_NR, 0);

	for (int i = 0; i < n; i++) {
		int64_t v = m[i].val > INT64_MAX ? -1 : (int64_t)m[i].val;

		switch (m[i].tag) {
		case VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON: s->mem_actual_kib = v; break;
		case VIR_DOMAIN_MEMORY_STAT_AVAILABLE: s->mem_available_kib = v; break;
		case VIR_DOMAIN_MEMORY_STAT_USABLE: s->mem_usable_kib = v; break;
		case VIR_DOMAIN_MEMORY_STAT_UNUSED: s->mem_unused_kib = v; break;
		case VIR_DOMAIN_MEMORY_STAT_RSS: s->mem_rss_kib = v; break;
		default: break;
		}
	}
}

/* The target names of the domain's disks or NICs (EXPR selects the
 * elements), from its XML. */
static void
xml_targets(struct libvirt_xml *x, const char *expr, struct strv *out)
{
	int n = libvirt_xml_count(x, expr);
	char path[128], *v;

	for (int i = 1; i <= n; i++) {
		snprintf(path, sizeof path, "%s[%d]/target/@dev", expr, i);
		if ((v = libvirt_xml_get(x, path)) != NULL && v[0] != '\0')
			strv_add(out, v);
		free(v);
	}
}

static void
ask_devices(virDomainPtr dom, struct hv_stats *s, int have)
{
	struct libvirt_xml *x;
	struct strv disks, nics;
	char *xml = virDomainGetXMLDesc(dom, 0);

	if (xml == NULL || (x = libvirt_xml_parse(xml, "a domain's definition")) == NULL) {
		free(xml);
		return;
	}
	free(xml);
	strv_init(&disks);
	strv_init(&nics);
	if (!(have & HAVE_BLOCK))
		xml_targets(x, "/domain/devices/disk", &disks);
	if (!(have & HAVE_NET))
		xml_targets(x, "/domain/devices/interface", &nics);
	libvirt_xml_free(x);
	if (!(have & HAVE_BLOCK)) {
		free(s->disk);
		s->ndisk = disks.n;
		s->disk = xcalloc(disks.n + 1, sizeof *s->disk);
	}
	for (size_t i = 0; i < disks.n; i++) {
		struct hv_disk_stats *d = &s->disk[i];
		virDomainBlockStatsStruct b;

		snprintf(d->name, sizeof d->name, "%s", disks.v[i]);
		d->rd_bytes = d->wr_bytes = d->rd_reqs = d->wr_reqs = -1;
		if (virDomainBlockStats(dom, disks.v[i], &b, sizeof b) != 0)
			continue;
		d->rd_bytes = b.rd_bytes;
		d->wr_bytes = b.wr_bytes;
		d->rd_reqs = b.rd_req;
		d->wr_reqs = b.wr_req;
	}
	if (!(have & HAVE_NET)) {
		free(s->nic);
		s->nnic = nics.n;
		s->nic = xcalloc(nics.n + 1, sizeof *s->nic);
	}
	for (size_t i = 0; i < nics.n; i++) {
		struct hv_nic_stats *ns = &s->nic[i];
		virDomainInterfaceStatsStruct f;

		snprintf(ns->name, sizeof ns->name, "%s", nics.v[i]);
		ns->rx_bytes = ns->tx_bytes = ns->rx_packets = ns->tx_packets = -1;
		if (virDomainInterfaceStats(dom, nics.v[i], &f, sizeof f) != 0)
			continue;
		ns->rx_bytes = f.rx_bytes;
		ns->tx_bytes = f.tx_bytes;
		ns->rx_packets = f.rx_packets;
		ns->tx_packets = f.tx_packets;
	}
	strv_free(&disks);
	strv_free(&nics);
}

/* What the bulk record (HAVE) lacked, asked of DOM itself. */
static void
ask_rest(virDomainPtr dom, struct hv_stats *s, int have)
{
	bool active;

	if ((have & (HAVE_STATE | HAVE_CPU | HAVE_BALLOON)) !=
	    (HAVE_STATE | HAVE_CPU | HAVE_BALLOON) || s->nvcpu == 0)
		ask_info(dom, s, have);
	active = s->state == HV_RUNNING || s->state == HV_PAUSED;
	if (!active)
		return;
	if (!(have & HAVE_VCPU))
		ask_vcpus(dom, s);
	if (!(have & HAVE_BALLOON))
		ask_memory(dom, s);
	if ((have & (HAVE_NET | HAVE_BLOCK)) != (HAVE_NET | HAVE_BLOCK))
		ask_devices(dom, s, have);
}

static int64_t
job_ull(virTypedParameterPtr p, int n, const char *key)
{
	unsigned long long v;

	if (virTypedParamsGetULLong(p, n, key, &v) != 1 || v > INT64_MAX)
		return -1;
	return (int64_t)v;
}

/*
 * The job DOM runs now, if any (a migration out or in, a save, a dump):
 * one virDomainGetJobStats.  The bulk stats have no job group (libvirt
 * 9.0), so this is a call per domain, made only for running and paused
 * ones, and its answer when no job runs is cheap (no monitor command).
 * Returns false when the driver has no job statistics at all (the test
 * driver): the caller asks no more domains of this host this time.
 */
static bool
ask_job(virDomainPtr dom, struct hv_stats *s)
{
	virTypedParameterPtr p = NULL;
	int type = VIR_DOMAIN_JOB_NONE, n = 0;
	struct hv_job_stats *j = &s->job;

	if (virDomainGetJobStats(dom, &type, &p, &n, 0) != 0) {
		virErrorPtr e = virGetLastError();

		if (e != NULL && (e->code == VIR_ERR_NO_SUPPORT ||
		    e->code == VIR_ERR_OPERATION_UNSUPPORTED))
			return false;
		log_debug("libvirt: job stats: %s", libvirt_errmsg());
		return true;
	}
	if (type == VIR_DOMAIN_JOB_BOUNDED || type == VIR_DOMAIN_JOB_UNBOUNDED) {
		j->type = type == VIR_DOMAIN_JOB_BOUNDED ? HV_JOB_BOUNDED : HV_JOB_UNBOUNDED;
		j->elapsed_ms = job_ull(p, n, VIR_DOMAIN_JOB_TIME_ELAPSED);
		j->remaining_ms = job_ull(p, n, VIR_DOMAIN_JOB_TIME_REMAINING);
		j->data_total = job_ull(p, n, VIR_DOMAIN_JOB_DATA_TOTAL);
		j->data_processed = job_ull(p, n, VIR_DOMAIN_JOB_DATA_PROCESSED);
		j->data_remaining = job_ull(p, n, VIR_DOMAIN_JOB_DATA_REMAINING);
		j->mem_total = job_ull(p, n, VIR_DOMAIN_JOB_MEMORY_TOTAL);
		j->mem_processed = job_ull(p, n, VIR_DOMAIN_JOB_MEMORY_PROCESSED);
		j->mem_remaining = job_ull(p, n, VIR_DOMAIN_JOB_MEMORY_REMAINING);
		j->disk_total = job_ull(p, n, VIR_DOMAIN_JOB_DISK_TOTAL);
		j->disk_processed = job_ull(p, n, VIR_DOMAIN_JOB_DISK_PROCESSED);
		j->disk_remaining = job_ull(p, n, VIR_DOMAIN_JOB_DISK_REMAINING);
	}
	virTypedParamsFree(p, n);
	return true;
}

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The jobs of the running and paused domains among RECS[0..NR) (IDX[r]:
 * the slot in OUT of record r, SIZE_MAX none): a call each, which on a
 * remote host is a round trip each.  So that many domains on a slow link
 * never make the whole sample late (the host would look down), the calls
 * stop after JOB_BUDGET_MS, starting at a random domain each sample: past
 * the budget every domain is still asked now and then.
 */
#define JOB_BUDGET_MS 1000

static void
jobs_of(virDomainStatsRecordPtr *recs, int nr, const size_t *idx, struct hv_stats *out)
{
	long long t0 = mono_ms();
	int start = nr > 0 ? (int)(random() % nr) : 0;

	for (int j = 0; j < nr; j++) {
		int r = (start + j) % nr;
		struct hv_stats *s;

		if (idx[r] == SIZE_MAX)
			continue;
		s = &out[idx[r]];
		if (s->state != HV_RUNNING && s->state != HV_PAUSED)
			continue;
		if (!ask_job(recs[r]->dom, s))
			return;
		if (mono_ms() - t0 > JOB_BUDGET_MS) {
			log_debug("libvirt: job stats: %d of %d domains asked within %d ms", j + 1, nr,
			    JOB_BUDGET_MS);
			return;
		}
	}
}

/* Domain by domain: the driver has no bulk stats at all. */
static void
one_by_one(struct hv *hv, const struct vm_config *const *vms, size_t n, struct hv_stats *out)
{
	bool jobs = true;

	for (size_t i = 0; i < n; i++) {
		bool missing;
		virDomainPtr dom = libvirt_lookup(hv, vms[i], &missing);

		if (dom == NULL) {
			if (!missing)
				log_debug("libvirt: stats: %s", err_get());
			continue;
		}
		out[i].found = true;
		out[i].state = HV_UNKNOWN;
		ask_rest(dom, &out[i], 0);
		if (jobs && (out[i].state == HV_RUNNING || out[i].state == HV_PAUSED))
			jobs = ask_job(dom, &out[i]);
		virDomainFree(dom);
	}
}

int
libvirt_stats(struct hv *hv, const struct vm_config *const *vms, size_t n, struct hv_stats *out)
{
	virConnectPtr conn = libvirt_conn(hv);
	virDomainStatsRecordPtr *recs = NULL;
	struct vm_key *keys, key, *k;
	char uuid[VIR_UUID_STRING_BUFLEN];
	size_t *idx;
	int nr;

	if (conn == NULL)
		return -1;
	if ((nr = virConnectGetAllDomainStats(conn, STATS_GROUPS, &recs, 0)) < 0) {
		virErrorPtr e = virGetLastError();

		if (e == NULL || (e->code != VIR_ERR_NO_SUPPORT &&
		    e->code != VIR_ERR_ARGUMENT_UNSUPPORTED))
			return libvirt_err(hv, "cannot read the statistics of its domains");
		log_debug("libvirt: host '%s': no bulk stats: %s", hv->host.name, libvirt_errmsg());
		one_by_one(hv, vms, n, out);
		return 0;
	}
	keys = xcalloc(n + 1, sizeof *keys);
	for (size_t i = 0; i < n; i++) {
		keys[i].uuid = vms[i]->uuid;
		keys[i].i = i;
	}
	qsort(keys, n, sizeof *keys, key_cmp);
	idx = xcalloc((size_t)nr + 1, sizeof *idx);
	for (int r = 0; r < nr; r++) {
		idx[r] = SIZE_MAX;
		int have;

		if (virDomainGetUUIDString(recs[r]->dom, uuid) != 0)
			continue;
		key.uuid = uuid;
		if ((k = bsearch(&key, keys, n, sizeof *keys, key_cmp)) == NULL)
			continue;
		have = from_record(recs[r], &out[k->i]);
		if (have != HAVE_ALL)
			ask_rest(recs[r]->dom, &out[k->i], have);
		idx[r] = k->i;
	}
	jobs_of(recs, nr, idx, out);
	free(idx);
	virDomainStatsRecordListFree(recs);
	free(keys);
	return 0;
}
