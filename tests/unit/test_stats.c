/* ops/stats without a host: counters fed in by hand become rates, a
 * counter that goes down (the VM started again) never gives a negative
 * rate, and each VM's ring holds the last 10 minutes. */
#include "unit.h"

#include "hv/hv.h"
#include "model/vm.h"
#include "ops/stats.h"
#include "util/err.h"
#include "util/xalloc.h"

#define UUID_A "11111111-2222-3333-4444-555555555555"
#define UUID_B "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

static void
vm(struct vm_config *c, const char *name, const char *uuid)
{
	vm_config_init(c);
	c->name = xstrdup(name);
	snprintf(c->uuid, sizeof c->uuid, "%s", uuid);
}

/* Counters of a running VM: CPU NS, vCPU 0 and 1 at V0 and V1, one disk
 * (vda) with RD and WR bytes (and as many requests / 1000), one NIC with
 * RX bytes (-1: unavailable). */
static void
counters(struct hv_stats *s, int64_t ns, int64_t v0, int64_t v1, int64_t rd, int64_t wr,
    int64_t rx)
{
	memset(s, 0, sizeof *s);
	s->found = true;
	s->state = HV_RUNNING;
	s->cpu_time_ns = ns;
	s->mem_actual_kib = 262144;
	s->mem_max_kib = 262144;
	s->mem_available_kib = 250000;
	s->mem_unused_kib = 200000;
	s->mem_usable_kib = 210000;
	s->mem_rss_kib = 100000;
	hv_stats_alloc(s, 2, 1, 1);
	s->vcpu_time_ns[0] = v0;
	s->vcpu_time_ns[1] = v1;
	snprintf(s->disk[0].name, sizeof s->disk[0].name, "vda");
	s->disk[0].rd_bytes = rd;
	s->disk[0].wr_bytes = wr;
	s->disk[0].rd_reqs = rd / 1000;
	s->disk[0].wr_reqs = wr / 1000;
	snprintf(s->nic[0].name, sizeof s->nic[0].name, "nic0");
	s->nic[0].rx_bytes = s->nic[0].tx_bytes = rx;
	s->nic[0].rx_packets = s->nic[0].tx_packets = rx < 0 ? -1 : rx / 100;
}

static void
feed1(struct stats *s, const struct vm_config *c, struct hv_stats *raw, long long t)
{
	const struct vm_config *v[1] = { c };

	stats_feed(s, v, raw, 1, t, 1700000000000LL + t);
	assert_int_equal(raw->nvcpu, 0);	/* taken over */
	assert_null(raw->disk);
}

static struct stats_vm *
only(struct stats *s, size_t *n)
{
	struct stats_vm *v;

	stats_snapshot(s, &v, n);
	return v;
}

/* Two samples two seconds apart: CPU % of one host CPU, per vCPU, disk
 * bytes and operations per second, and a NIC without counters is unknown
 * (-1), not zero. */
static void
test_rates(void **state)
{
	struct stats *s = stats_new("local", 2000);
	struct vm_config c;
	struct hv_stats raw;
	struct stats_vm *v;
	size_t n;

	(void)state;
	vm(&c, "a", UUID_A);
	counters(&raw, 5000000000LL, 2000000000LL, 1000000000LL, 1000000, 4000000, -1);
	feed1(s, &c, &raw, 10000);
	v = only(s, &n);
	assert_int_equal(n, 1);
	assert_false(v[0].rates);
	assert_true(v[0].cpu_pct < 0);
	assert_int_equal(v[0].wr_bytes, 4000000);
	assert_string_equal(v[0].host, "local");
	assert_string_equal(v[0].name, "a");
	stats_vms_free(v, n);
	assert_int_equal(stats_history(s, UUID_A, 0, NULL, 0), 0);

	/* 2 s later: 3 s of CPU (150 %), vCPU 0 +1 s (50 %), vCPU 1 +2 s
	 * (100 %), 2 MB read and 8 MB written. */
	counters(&raw, 8000000000LL, 3000000000LL, 3000000000LL, 3000000, 12000000, -1);
	feed1(s, &c, &raw, 12000);
	v = only(s, &n);
	assert_true(v[0].rates);
	assert_true(v[0].interval_s > 1.999 && v[0].interval_s < 2.001);
	assert_true(v[0].cpu_pct > 149.99 && v[0].cpu_pct < 150.01);
	assert_int_equal(v[0].nvcpu, 2);
	assert_true(v[0].vcpu_pct[0] > 49.99 && v[0].vcpu_pct[0] < 50.01);
	assert_true(v[0].vcpu_pct[1] > 99.99 && v[0].vcpu_pct[1] < 100.01);
	assert_true(v[0].rd_bps > 999999 && v[0].rd_bps < 1000001);
	assert_true(v[0].wr_bps > 3999999 && v[0].wr_bps < 4000001);
	assert_true(v[0].wr_ops > 3999 && v[0].wr_ops < 4001);
	assert_true(v[0].disk[0].wr_bps > 3999999);
	assert_int_equal(v[0].wr_bytes, 12000000);
	assert_true(v[0].rx_bps < 0);
	assert_true(v[0].tx_bps < 0);
	assert_true(v[0].nic[0].rx_bps < 0);
	assert_int_equal(v[0].mem_rss_kib, 100000);
	stats_vms_free(v, n);

	/* Now the NIC counts: still unknown for this interval (no earlier
	 * count), known the next. */
	counters(&raw, 8000000000LL, 3000000000LL, 3000000000LL, 3000000, 12000000, 1000);
	feed1(s, &c, &raw, 14000);
	counters(&raw, 8000000000LL, 3000000000LL, 3000000000LL, 3000000, 12000000, 5000);
	feed1(s, &c, &raw, 16000);
	v = only(s, &n);
	assert_true(v[0].rx_bps > 1999 && v[0].rx_bps < 2001);
	assert_true(v[0].rx_pps > 19.99 && v[0].rx_pps < 20.01);
	assert_true(v[0].cpu_pct == 0);
	assert_true(v[0].wr_bps == 0);
	stats_vms_free(v, n);
	vm_config_clear(&c);
	stats_free(s);
}

/* The VM started again between two samples: its counters went down.  The
 * rate counts from zero (what it did since the start), never below. */
static void
test_counter_reset(void **state)
{
	struct stats *s = stats_new("local", 1000);
	struct stats_point pts[8];
	struct vm_config c;
	struct hv_stats raw;
	struct stats_vm *v;
	size_t n;

	(void)state;
	vm(&c, "a", UUID_A);
	counters(&raw, 90000000000LL, 40000000000LL, 40000000000LL, 500000000, 900000000, 7000000);
	feed1(s, &c, &raw, 1000);
	counters(&raw, 500000000LL, 200000000LL, 100000000LL, 100000, 300000, 2000);
	feed1(s, &c, &raw, 2000);
	v = only(s, &n);
	assert_true(v[0].rates);
	assert_true(v[0].cpu_pct > 49.99 && v[0].cpu_pct < 50.01);
	assert_true(v[0].vcpu_pct[0] > 19.99 && v[0].vcpu_pct[0] < 20.01);
	assert_true(v[0].vcpu_pct[1] > 9.99 && v[0].vcpu_pct[1] < 10.01);
	assert_true(v[0].rd_bps > 99999 && v[0].rd_bps < 100001);
	assert_true(v[0].wr_bps > 299999 && v[0].wr_bps < 300001);
	assert_true(v[0].rx_bps > 1999 && v[0].rx_bps < 2001);
	stats_vms_free(v, n);
	assert_int_equal(stats_history(s, UUID_A, 0, pts, 8), 1);
	assert_true(pts[0].cpu_pct >= 0);
	assert_true(pts[0].rd_bps >= 0 && pts[0].wr_bps >= 0 && pts[0].rx_bps >= 0);

	/* Off in between: no rate across the stop, then a fresh start. */
	memset(&raw, 0, sizeof raw);
	raw.found = true;
	raw.state = HV_OFF;
	raw.cpu_time_ns = -1;
	feed1(s, &c, &raw, 3000);
	v = only(s, &n);
	assert_int_equal(v[0].state, HV_OFF);
	assert_false(v[0].rates);
	assert_true(v[0].cpu_pct < 0);
	stats_vms_free(v, n);
	counters(&raw, 100000000LL, 0, 0, 0, 0, 0);
	feed1(s, &c, &raw, 4000);
	v = only(s, &n);
	assert_false(v[0].rates);
	stats_vms_free(v, n);
	vm_config_clear(&c);
	stats_free(s);
}

/* 10 minutes at the interval: the ring keeps that many points and drops
 * the oldest; a shorter window gives the newest points only, oldest
 * first.  A VM no longer sampled is forgotten with its ring. */
static void
test_ring(void **state)
{
	struct stats *s = stats_new("h", 2000);
	size_t cap = stats_ring_size(2000), n, got;
	struct stats_point *pts = xcalloc(cap + 10, sizeof *pts);
	struct vm_config a, b;
	const struct vm_config *both[2] = { &a, &b };
	struct hv_stats raw[2];
	struct stats_vm *v;

	(void)state;
	assert_int_equal(cap, 301);
	assert_int_equal(stats_ring_size(1000), 601);
	assert_int_equal(stats_interval_ms(s), 2000);
	vm(&a, "a", UUID_A);
	vm(&b, "b", UUID_B);
	for (int i = 0; i < 400; i++) {
		long long t = 2000LL * i;

		counters(&raw[0], (int64_t)i * 1000000000LL, 0, 0, (int64_t)i * 1000, 0, -1);
		counters(&raw[1], (int64_t)i * 2000000000LL, 0, 0, 0, 0, -1);
		stats_feed(s, both, raw, 2, t, t);
	}
	got = stats_history(s, UUID_A, 0, pts, cap + 10);
	/* Points newer than 10 minutes before the last sample. */
	assert_int_equal(got, 300);
	assert_int_equal(pts[0].when_ms, 2000LL * 100);
	assert_int_equal(pts[got - 1].when_ms, 2000LL * 399);
	for (size_t i = 0; i < got; i++) {
		assert_true(pts[i].cpu_pct > 49.9 && pts[i].cpu_pct < 50.1);
		assert_true(pts[i].rd_bps > 499 && pts[i].rd_bps < 501);
		if (i > 0)
			assert_true(pts[i].when_ms > pts[i - 1].when_ms);
	}
	got = stats_history(s, UUID_B, 60000, pts, cap);
	assert_int_equal(got, 30);
	assert_true(pts[0].cpu_pct > 99.9 && pts[0].cpu_pct < 100.1);
	assert_int_equal(pts[29].when_ms, 2000LL * 399);
	/* At most MAX: the newest. */
	got = stats_history(s, UUID_B, 0, pts, 5);
	assert_int_equal(got, 5);
	assert_int_equal(pts[4].when_ms, 2000LL * 399);
	assert_int_equal(pts[0].when_ms, 2000LL * 395);

	/* B is gone (not sampled), A not found on the host any more. */
	counters(&raw[0], 0, 0, 0, 0, 0, -1);
	raw[0].found = false;
	stats_feed(s, both, raw, 1, 800000, 800000);
	stats_snapshot(s, &v, &n);
	assert_int_equal(n, 0);
	stats_vms_free(v, n);
	assert_int_equal(stats_history(s, UUID_B, 0, pts, cap), 0);
	free(pts);
	vm_config_clear(&a);
	vm_config_clear(&b);
	stats_free(s);
}

static void
test_sort(void **state)
{
	struct stats_vm v[3] = { 0 };
	enum stats_sort by;

	(void)state;
	assert_int_equal(stats_sort_parse("cpu", &by), 0);
	assert_int_equal(by, STATS_SORT_CPU);
	assert_int_equal(stats_sort_parse("io", &by), 0);
	assert_int_equal(by, STATS_SORT_IO);
	assert_int_equal(stats_sort_parse("mem", &by), 0);
	assert_int_equal(by, STATS_SORT_MEM);
	assert_int_equal(stats_sort_parse("disk", &by), -1);
	assert_string_equal(err_get(), "unknown sort order 'disk'; use cpu, mem, io or name");
	snprintf(v[0].name, sizeof v[0].name, "x");
	v[0].cpu_pct = 5;
	v[0].mem_rss_kib = 300;
	v[0].rd_bps = -1;
	v[0].wr_bps = -1;
	snprintf(v[1].name, sizeof v[1].name, "y");
	v[1].cpu_pct = 80;
	v[1].mem_rss_kib = -1;
	v[1].mem_actual_kib = 100;
	v[1].wr_bps = 10;
	snprintf(v[2].name, sizeof v[2].name, "z");
	v[2].cpu_pct = -1;
	v[2].mem_rss_kib = 200;
	v[2].rd_bps = 50;
	stats_sort(v, 3, STATS_SORT_CPU);
	assert_string_equal(v[0].name, "y");
	assert_string_equal(v[2].name, "z");
	stats_sort(v, 3, STATS_SORT_MEM);
	assert_string_equal(v[0].name, "x");
	assert_string_equal(v[1].name, "z");
	stats_sort(v, 3, STATS_SORT_IO);
	assert_string_equal(v[0].name, "z");
	assert_string_equal(v[1].name, "y");
	stats_sort(v, 3, STATS_SORT_NAME);
	assert_string_equal(v[0].name, "x");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_counter_reset),
		cmocka_unit_test(test_ring),
		cmocka_unit_test(test_sort),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
