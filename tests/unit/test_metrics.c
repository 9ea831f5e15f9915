/* ops/metrics: the Prometheus text of two hosts' VMs compared with
 * tests/data/metrics/two-hosts.prom (REGENERATE=1 rewrites it; review the
 * diff), label values escaped, unknown numbers left out, every family
 * grouped under one HELP and TYPE, job series only while a job runs. */
#include "unit.h"

#include "ops/metrics.h"
#include "ops/stats.h"
#include "util/xalloc.h"

#ifndef FIXTURE
#define FIXTURE "tests/data/metrics/two-hosts.prom"
#endif

/* A running VM with two vCPUs, a disk and a NIC, every counter known. */
static void
running(struct stats_vm *v, const char *host, const char *name, const char *uuid)
{
	memset(v, 0, sizeof *v);
	snprintf(v->host, sizeof v->host, "%s", host);
	snprintf(v->name, sizeof v->name, "%s", name);
	snprintf(v->uuid, sizeof v->uuid, "%s", uuid);
	v->state = HV_RUNNING;
	v->cpu_time_ns = 12345678901LL;
	v->nvcpu = 2;
	v->vcpu_time_ns = xcalloc(2, sizeof *v->vcpu_time_ns);
	v->vcpu_pct = xcalloc(2, sizeof *v->vcpu_pct);
	v->vcpu_time_ns[0] = 5000000000LL;
	v->vcpu_time_ns[1] = 7000000001LL;
	v->mem_actual_kib = v->mem_max_kib = 262144;
	v->mem_available_kib = 250000;
	v->mem_usable_kib = 210000;
	v->mem_unused_kib = 200000;
	v->mem_rss_kib = 100000;
	v->disk = xcalloc(1, sizeof *v->disk);
	v->ndisk = 1;
	snprintf(v->disk[0].name, sizeof v->disk[0].name, "vda");
	v->disk[0].rd_bytes = 1048576;
	v->disk[0].wr_bytes = 2097152;
	v->disk[0].rd_reqs = 10;
	v->disk[0].wr_reqs = 20;
	v->nic = xcalloc(1, sizeof *v->nic);
	v->nnic = 1;
	snprintf(v->nic[0].name, sizeof v->nic[0].name, "vnet0");
	v->nic[0].rx_bytes = 3000;
	v->nic[0].tx_bytes = 4000;
	v->nic[0].rx_packets = 30;
	v->nic[0].tx_packets = 40;
}

/* A VM that is off: only what a stopped VM has (no CPU, no balloon
 * figures, user networking without counters). */
static void
off(struct stats_vm *v, const char *host, const char *name, const char *uuid)
{
	memset(v, 0, sizeof *v);
	snprintf(v->host, sizeof v->host, "%s", host);
	snprintf(v->name, sizeof v->name, "%s", name);
	snprintf(v->uuid, sizeof v->uuid, "%s", uuid);
	v->state = HV_OFF;
	v->cpu_time_ns = -1;
	v->nvcpu = 1;
	v->vcpu_time_ns = xcalloc(1, sizeof *v->vcpu_time_ns);
	v->vcpu_pct = xcalloc(1, sizeof *v->vcpu_pct);
	v->vcpu_time_ns[0] = -1;
	v->mem_max_kib = 524288;
	v->mem_actual_kib = v->mem_available_kib = v->mem_usable_kib = v->mem_unused_kib =
	    v->mem_rss_kib = -1;
	v->nic = xcalloc(1, sizeof *v->nic);
	v->nnic = 1;
	snprintf(v->nic[0].name, sizeof v->nic[0].name, "nic0");
	v->nic[0].rx_bytes = v->nic[0].tx_bytes = v->nic[0].rx_packets = v->nic[0].tx_packets = -1;
}

static void
test_fixture(void **state)
{
	struct metrics_host hosts[] = {
		{ "local", true, 0.0125 },
		{ "lab \"1\"", true, -1 },
		{ "gone", false, 15.0 },
	};
	struct stats_vm *v = xcalloc(3, sizeof *v);
	const char *regen = getenv("REGENERATE");
	char *got, *want;
	size_t len;

	(void)state;
	running(&v[0], "local", "web", "11111111-2222-4333-8444-555555555555");
	off(&v[1], "local", "db", "22222222-2222-4333-8444-555555555555");
	/* A name with every character the format escapes. */
	running(&v[2], "lab \"1\"", "a\\b\"c\nd", "33333333-2222-4333-8444-555555555555");
	/* ...migrating: an unbounded job without disks, no time remaining. */
	v[2].job = (struct hv_job_stats){ HV_JOB_UNBOUNDED, 2345, -1, 300000000, 120000000,
	    180000000, 300000000, 120000000, 180000000, -1, -1, -1 };
	/* A job the stats collector says none runs: no series, whatever the rest. */
	v[1].job = (struct hv_job_stats){ HV_JOB_NONE, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5 };
	got = metrics_render(hosts, 3, v, 3, &len);
	assert_int_equal(strlen(got), len);
	if (regen != NULL && regen[0] == '1') {
		FILE *fp = fopen(FIXTURE, "w");

		assert_non_null(fp);
		fputs(got, fp);
		fclose(fp);
	}
	want = unit_slurp(FIXTURE);
	if (want == NULL)
		fail_msg("fixture '%s' is missing; run with REGENERATE=1", FIXTURE);
	if (strcmp(want, got) != 0)
		fail_msg("the metrics differ from '%s':\n--- got\n%s", FIXTURE, got);
	/* What the fixture must hold, whatever was regenerated. */
	assert_non_null(strstr(got, "libvirt_domain_info_cpu_time_seconds_total{host=\"local\","
	    "domain=\"web\"} 12.345678901\n"));
	assert_non_null(strstr(got, "domain=\"a\\\\b\\\"c\\nd\""));
	assert_non_null(strstr(got, "{host=\"lab \\\"1\\\"\""));
	assert_non_null(strstr(got, "vmtty_host_up{host=\"gone\"} 0\n"));
	assert_null(strstr(got, "cpu_time_seconds_total{host=\"local\",domain=\"db\"}"));
	assert_null(strstr(got, "target_device=\"nic0\""));
	assert_non_null(strstr(got, "libvirt_domain_info_vstate{host=\"local\",domain=\"db\"} 5\n"));
	/* Job series: only for the VM whose job runs, ms in seconds. */
	assert_non_null(strstr(got, "\nlibvirt_domain_job_info_type{host=\"lab \\\"1\\\"\","
	    "domain=\"a\\\\b\\\"c\\nd\"} 2\n"));
	assert_non_null(strstr(got, "\nlibvirt_domain_job_info_time_elapsed_seconds{host=\"lab "
	    "\\\"1\\\"\",domain=\"a\\\\b\\\"c\\nd\"} 2.345\n"));
	assert_non_null(strstr(got, "\"} 120000000\n"));
	assert_non_null(strstr(got, "# TYPE libvirt_domain_job_info_data_processed_bytes gauge\n"));
	assert_null(strstr(got, "job_info_time_remaining_seconds{"));
	assert_null(strstr(got, "job_info_file_total_bytes{"));
	assert_null(strstr(got, "job_info_type{host=\"local\""));
	assert_null(strstr(got, "job_info_data_total_bytes{host=\"local\""));
	/* One HELP per family. */
	assert_ptr_equal(strstr(got, "# HELP libvirt_domain_info_meta "),
	    strstr(got, "# HELP libvirt_domain_info_meta"));
	{
		const char *p = strstr(got, "# TYPE libvirt_domain_info_vstate gauge");

		assert_non_null(p);
		assert_null(strstr(p + 1, "# TYPE libvirt_domain_info_vstate"));
	}
	free(want);
	free(got);
	stats_vms_free(v, 3);
}

static void
test_escape(void **state)
{
	char *e;

	(void)state;
	e = metrics_label_escape("plain");
	assert_string_equal(e, "plain");
	free(e);
	e = metrics_label_escape("\\\"\n\t");
	assert_string_equal(e, "\\\\\\\"\\n\t");
	free(e);
	e = metrics_label_escape("a\xff" "b");
	assert_string_equal(e, "a\xef\xbf\xbd" "b");
	free(e);
	assert_int_equal(metrics_vstate(HV_RUNNING), 1);
	assert_int_equal(metrics_vstate(HV_PAUSED), 3);
	assert_int_equal(metrics_vstate(HV_CRASHED), 6);
}

static void
test_empty(void **state)
{
	size_t len;
	char *got;

	(void)state;
	got = metrics_render(NULL, 0, NULL, 0, &len);
	assert_non_null(strstr(got, "# TYPE vmtty_host_up gauge\n"));
	assert_null(strstr(got, "{"));
	free(got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
