/*
 * metrics: the Prometheus text exposition format (version 0.0.4) of what
 * the stats collectors last sampled, for `vmtty serve`.  Metric names and
 * labels follow the maintained libvirt exporter (libvirt_domain_info_*,
 * libvirt_domain_vcpu_*, libvirt_domain_memory_stats_*_bytes,
 * libvirt_domain_block_stats_*_total, libvirt_domain_interface_stats_*,
 * and libvirt_domain_job_info_* while a domain runs a job, as
 * prometheus-libvirt-exporter names them),
 * with a `host` label before `domain` since one vmtty watches many hosts;
 * plus vmtty_host_up and vmtty_scrape_duration_seconds per host.  Every
 * family is one group with its HELP and TYPE lines; a number the host does
 * not tell has no series.  No HTTP here: the caller serves the text.
 */
#ifndef VMTTY_METRICS_H
#define VMTTY_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "ops/stats.h"

/* A host as the exporter sees it. */
struct metrics_host {
	const char *name;
	bool up;		/* its last sample came back in time */
	double scrape_s;	/* how long that sample took; < 0 unknown */
};

/* The whole exposition for HOSTS[0..NH) and the VMs V[0..NV) (of the hosts
 * that are up), as a NUL-terminated string (allocated); *LEN its length. */
char *metrics_render(const struct metrics_host *hosts, size_t nh, const struct stats_vm *v,
    size_t nv, size_t *len);

/* The libvirt number of a state (libvirt_domain_info_vstate: 1 running,
 * 3 paused, 4 shutting down, 5 shut off, 6 crashed, 0 no state). */
int metrics_vstate(enum hv_state s);

/* S as a label value (allocated): bytes that are not UTF-8 replaced by
 * U+FFFD, then backslash, double quote and newline escaped. */
char *metrics_label_escape(const char *s);

#endif
