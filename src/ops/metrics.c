#include "ops/metrics.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/str.h"
#include "util/xalloc.h"

/* What one family's series are drawn from. */
enum fam_kind {
	F_META,		/* 1 per VM, with its uuid */
	F_VM,		/* an int64 of struct stats_vm at OFF */
	F_VCPUS,	/* nvcpu */
	F_VSTATE,	/* the state as libvirt numbers it */
	F_VCPU,		/* each vCPU's time, label vcpu */
	F_DISK,		/* an int64 of struct stats_disk at OFF, label target_device */
	F_NIC,		/* an int64 of struct stats_nic at OFF, label target_device */
	F_JOBTYPE,	/* the job's type as libvirt numbers it, while one runs */
	F_JOB,		/* an int64 of struct hv_job_stats at OFF, while a job runs */
};

enum fam_unit {
	U_ONE,
	U_KIB,		/* KiB, published in bytes */
	U_NS,		/* nanoseconds, published in seconds */
	U_MS,		/* milliseconds, published in seconds */
};

struct family {
	const char *name;
	const char *type;
	const char *help;
	enum fam_kind kind;
	size_t off;
	enum fam_unit unit;
};

#define VM(f) offsetof(struct stats_vm, f)
#define DISK(f) offsetof(struct stats_disk, f)
#define NIC(f) offsetof(struct stats_nic, f)
#define JOB(f) offsetof(struct hv_job_stats, f)

static const struct family families[] = {
	{ "libvirt_domain_info_meta", "gauge", "Domain metadata: its uuid.", F_META, 0, U_ONE },
	{ "libvirt_domain_info_maximum_memory_bytes", "gauge",
	  "Maximum allowed memory of the domain, in bytes.", F_VM, VM(mem_max_kib), U_KIB },
	{ "libvirt_domain_info_memory_usage_bytes", "gauge",
	  "Memory usage of the domain (its balloon's size), in bytes.", F_VM, VM(mem_actual_kib),
	  U_KIB },
	{ "libvirt_domain_info_virtual_cpus", "gauge", "Number of virtual CPUs for the domain.",
	  F_VCPUS, 0, U_ONE },
	{ "libvirt_domain_info_cpu_time_seconds_total", "counter",
	  "Amount of CPU time used by the domain, in seconds.", F_VM, VM(cpu_time_ns), U_NS },
	{ "libvirt_domain_info_vstate", "gauge",
	  "Virtual domain state. 0: no state, 1: the domain is running, 2: the domain is blocked on "
	  "resource, 3: the domain is paused by user, 4: the domain is being shut down, 5: the "
	  "domain is shut off, 6: the domain is crashed, 7: the domain is suspended by guest power "
	  "management", F_VSTATE, 0, U_ONE },
	{ "libvirt_domain_vcpu_time_seconds_total", "counter",
	  "Amount of CPU time used by the domain's VCPU, in seconds.", F_VCPU, 0, U_NS },
	{ "libvirt_domain_memory_stats_actual_balloon_bytes", "gauge",
	  "Current balloon value (in bytes).", F_VM, VM(mem_actual_kib), U_KIB },
	{ "libvirt_domain_memory_stats_available_bytes", "gauge",
	  "The total amount of usable memory as seen by the domain, in bytes.", F_VM,
	  VM(mem_available_kib), U_KIB },
	{ "libvirt_domain_memory_stats_usable_bytes", "gauge",
	  "How much the balloon can be inflated without pushing the guest system to swap, in "
	  "bytes.", F_VM, VM(mem_usable_kib), U_KIB },
	{ "libvirt_domain_memory_stats_unused_bytes", "gauge",
	  "The amount of memory left completely unused by the system, in bytes.", F_VM,
	  VM(mem_unused_kib), U_KIB },
	{ "libvirt_domain_memory_stats_rss_bytes", "gauge",
	  "Resident Set Size of the process running the domain, in bytes.", F_VM, VM(mem_rss_kib),
	  U_KIB },
	{ "libvirt_domain_block_stats_read_bytes_total", "counter",
	  "Number of bytes read from a block device, in bytes.", F_DISK, DISK(rd_bytes), U_ONE },
	{ "libvirt_domain_block_stats_read_requests_total", "counter",
	  "Number of read requests from a block device.", F_DISK, DISK(rd_reqs), U_ONE },
	{ "libvirt_domain_block_stats_write_bytes_total", "counter",
	  "Number of bytes written to a block device, in bytes.", F_DISK, DISK(wr_bytes), U_ONE },
	{ "libvirt_domain_block_stats_write_requests_total", "counter",
	  "Number of write requests to a block device.", F_DISK, DISK(wr_reqs), U_ONE },
	{ "libvirt_domain_interface_stats_receive_bytes_total", "counter",
	  "Number of bytes received on a network interface, in bytes.", F_NIC, NIC(rx_bytes),
	  U_ONE },
	{ "libvirt_domain_interface_stats_receive_packets_total", "counter",
	  "Number of packets received on a network interface.", F_NIC, NIC(rx_packets), U_ONE },
	{ "libvirt_domain_interface_stats_transmit_bytes_total", "counter",
	  "Number of bytes transmitted on a network interface, in bytes.", F_NIC, NIC(tx_bytes),
	  U_ONE },
	{ "libvirt_domain_interface_stats_transmit_packets_total", "counter",
	  "Number of packets transmitted on a network interface.", F_NIC, NIC(tx_packets), U_ONE },
	/* A domain's job (a migration), only while one runs: the names,
	 * types and units of prometheus-libvirt-exporter (inovex), whose
	 * file_* are libvirt's disk_* figures (virDomainJobInfo's file*). */
	{ "libvirt_domain_job_info_type", "gauge",
	  "Code of the domain job type. 1: bounded (its end is known), 2: unbounded. No series "
	  "while no job runs.", F_JOBTYPE, 0, U_ONE },
	{ "libvirt_domain_job_info_time_elapsed_seconds", "gauge",
	  "Time elapsed since the start of the domain job, in seconds.", F_JOB, JOB(elapsed_ms),
	  U_MS },
	{ "libvirt_domain_job_info_time_remaining_seconds", "gauge",
	  "Time remaining until the end of the domain job (bounded jobs), in seconds.", F_JOB,
	  JOB(remaining_ms), U_MS },
	{ "libvirt_domain_job_info_data_total_bytes", "gauge",
	  "Data total of the domain job (memory and disks), in bytes.", F_JOB, JOB(data_total),
	  U_ONE },
	{ "libvirt_domain_job_info_data_processed_bytes", "gauge",
	  "Data processed of the domain job (memory and disks), in bytes.", F_JOB,
	  JOB(data_processed), U_ONE },
	{ "libvirt_domain_job_info_data_remaining_bytes", "gauge",
	  "Data remaining of the domain job (memory and disks), in bytes.", F_JOB,
	  JOB(data_remaining), U_ONE },
	{ "libvirt_domain_job_info_memory_total_bytes", "gauge",
	  "Memory total of the domain job, in bytes.", F_JOB, JOB(mem_total), U_ONE },
	{ "libvirt_domain_job_info_memory_processed_bytes", "gauge",
	  "Memory processed of the domain job, in bytes.", F_JOB, JOB(mem_processed), U_ONE },
	{ "libvirt_domain_job_info_memory_remaining_bytes", "gauge",
	  "Memory remaining of the domain job, in bytes.", F_JOB, JOB(mem_remaining), U_ONE },
	{ "libvirt_domain_job_info_file_total_bytes", "gauge",
	  "File (disk) total of the domain job, in bytes.", F_JOB, JOB(disk_total), U_ONE },
	{ "libvirt_domain_job_info_file_processed_bytes", "gauge",
	  "File (disk) processed of the domain job, in bytes.", F_JOB, JOB(disk_processed),
	  U_ONE },
	{ "libvirt_domain_job_info_file_remaining_bytes", "gauge",
	  "File (disk) remaining of the domain job, in bytes.", F_JOB, JOB(disk_remaining),
	  U_ONE },
};

int
metrics_vstate(enum hv_state s)
{
	switch (s) {
	case HV_RUNNING: return 1;
	case HV_PAUSED: return 3;
	case HV_SHUTTING_DOWN: return 4;
	case HV_OFF: return 5;
	case HV_CRASHED: return 6;
	case HV_UNKNOWN: return 0;
	/* As libvirt says of a domain starting up: paused. */
	case HV_STARTING: return 3;
	}
	return 0;
}

char *
metrics_label_escape(const char *in)
{
	char *fixed = str_utf8_fix(in), *out = xmalloc(2 * strlen(fixed) + 1), *p = out;

	for (const char *s = fixed; *s != '\0'; s++) {
		switch (*s) {
		case '\\': *p++ = '\\'; *p++ = '\\'; break;
		case '"': *p++ = '\\'; *p++ = '"'; break;
		case '\n': *p++ = '\\'; *p++ = 'n'; break;
		default: *p++ = *s; break;
		}
	}
	*p = '\0';
	free(fixed);
	return out;
}

static int64_t
field(const void *base, size_t off)
{
	int64_t v;

	memcpy(&v, (const char *)base + off, sizeof v);
	return v;
}

/* One sample: NAME{LABELS[,EXTRA="VALUE"]} V in UNIT; nothing when V < 0. */
static void
sample(FILE *out, const char *name, const char *labels, const char *extra, const char *value,
    int64_t v, enum fam_unit unit)
{
	if (v < 0)
		return;
	fprintf(out, "%s{%s", name, labels);
	if (extra != NULL) {
		char *e = metrics_label_escape(value);

		fprintf(out, ",%s=\"%s\"", extra, e);
		free(e);
	}
	switch (unit) {
	case U_ONE: fprintf(out, "} %" PRId64 "\n", v); break;
	case U_KIB: fprintf(out, "} %" PRId64 "\n", v * 1024); break;
	case U_NS:
		fprintf(out, "} %" PRId64 ".%09" PRId64 "\n", v / 1000000000, v % 1000000000);
		break;
	case U_MS:
		fprintf(out, "} %" PRId64 ".%03" PRId64 "\n", v / 1000, v % 1000);
		break;
	}
}

static void
family_vm(FILE *out, const struct family *f, const struct stats_vm *v, const char *labels)
{
	char num[32];

	switch (f->kind) {
	case F_META:
		sample(out, f->name, labels, "uuid", v->uuid, 1, U_ONE);
		break;
	case F_VM:
		sample(out, f->name, labels, NULL, NULL, field(v, f->off), f->unit);
		break;
	case F_VCPUS:
		sample(out, f->name, labels, NULL, NULL, v->nvcpu, U_ONE);
		break;
	case F_VSTATE:
		sample(out, f->name, labels, NULL, NULL, metrics_vstate(v->state), U_ONE);
		break;
	case F_VCPU:
		for (int i = 0; i < v->nvcpu; i++) {
			snprintf(num, sizeof num, "%d", i);
			sample(out, f->name, labels, "vcpu", num, v->vcpu_time_ns[i], f->unit);
		}
		break;
	case F_DISK:
		for (size_t i = 0; i < v->ndisk; i++)
			sample(out, f->name, labels, "target_device", v->disk[i].name,
			    field(&v->disk[i], f->off), f->unit);
		break;
	case F_NIC:
		for (size_t i = 0; i < v->nnic; i++)
			sample(out, f->name, labels, "target_device", v->nic[i].name,
			    field(&v->nic[i], f->off), f->unit);
		break;
	case F_JOBTYPE:
		if (v->job.type != HV_JOB_NONE)
			sample(out, f->name, labels, NULL, NULL, v->job.type, U_ONE);
		break;
	case F_JOB:
		if (v->job.type != HV_JOB_NONE)
			sample(out, f->name, labels, NULL, NULL, field(&v->job, f->off), f->unit);
		break;
	}
}

static void
header(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

char *
metrics_render(const struct metrics_host *hosts, size_t nh, const struct stats_vm *v,
    size_t nv, size_t *len)
{
	char **labels = xcalloc(nv + 1, sizeof *labels), **hl = xcalloc(nh + 1, sizeof *hl);
	char *buf = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&buf, &size);

	if (out == NULL)
		xfatal("out of memory writing the metrics");
	/* Each VM's host and domain labels, escaped once. */
	for (size_t i = 0; i < nv; i++) {
		char *h = metrics_label_escape(v[i].host), *d = metrics_label_escape(v[i].name);
		size_t n = strlen(h) + strlen(d) + 32;

		labels[i] = xmalloc(n);
		snprintf(labels[i], n, "host=\"%s\",domain=\"%s\"", h, d);
		free(h);
		free(d);
	}
	for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
		header(out, families[i].name, families[i].type, families[i].help);
		for (size_t k = 0; k < nv; k++)
			family_vm(out, &families[i], &v[k], labels[k]);
	}
	for (size_t i = 0; i < nh; i++)
		hl[i] = metrics_label_escape(hosts[i].name);
	header(out, "vmtty_host_up", "gauge",
	    "Whether the host's last collection answered within its time limit (1) or not (0).");
	for (size_t i = 0; i < nh; i++)
		fprintf(out, "vmtty_host_up{host=\"%s\"} %d\n", hl[i], hosts[i].up ? 1 : 0);
	header(out, "vmtty_scrape_duration_seconds", "gauge",
	    "How long the host's last collection of statistics took, in seconds.");
	for (size_t i = 0; i < nh; i++)
		if (hosts[i].scrape_s >= 0)
			fprintf(out, "vmtty_scrape_duration_seconds{host=\"%s\"} %.6f\n", hl[i],
			    hosts[i].scrape_s);
	if (fclose(out) != 0 || buf == NULL)
		xfatal("out of memory writing the metrics");
	for (size_t i = 0; i < nv; i++)
		free(labels[i]);
	for (size_t i = 0; i < nh; i++)
		free(hl[i]);
	free(labels);
	free(hl);
	*len = size;
	return buf;
}
