/*
 * stats: live statistics of one host's VMs, for every front end (vmtty
 * top, the TUI's sparklines and stats page, the Prometheus exporter).  A
 * collector samples the host's counters through hv_stats, turns two
 * consecutive samples into rates (CPU % of one host CPU, bytes and
 * operations per second) and keeps a ring of the last 10 minutes per VM,
 * in memory only.
 *
 * Threads: one thread samples a collector at a time (a fleet lane, or the
 * CLI's own loop); any thread may read it meanwhile (stats_snapshot,
 * stats_history copy under the collector's lock).  No curses, no libvirt.
 */
#ifndef VMTTY_STATS_H
#define VMTTY_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/hv.h"

#define STATS_INTERVAL_MS 2000			/* the default sampling interval */
#define STATS_INTERVAL_MIN_MS 100
#define STATS_INTERVAL_MAX_MS (3600 * 1000)
#define STATS_WINDOW_MS (10 * 60 * 1000)	/* how far back the ring goes */

struct stats;

/* One disk's counters and rates; a rate is -1 until two samples exist or
 * when the host does not count it. */
struct stats_disk {
	char name[64];
	int64_t rd_bytes, wr_bytes, rd_reqs, wr_reqs;	/* cumulative, -1 unknown */
	double rd_bps, wr_bps, rd_ops, wr_ops;		/* per second */
};

struct stats_nic {
	char name[64];
	int64_t rx_bytes, tx_bytes, rx_packets, tx_packets;	/* -1: unavailable */
	double rx_bps, tx_bps, rx_pps, tx_pps;
};

/* A VM as last sampled: its counters (what an exporter publishes) and the
 * rates since the sample before. */
struct stats_vm {
	char uuid[UUID_STR_LEN];
	char name[256];
	char host[128];
	enum hv_state state;
	long long when_ms;	/* wall clock of the sample (ms since the epoch) */
	bool rates;		/* two samples of a run: the rates mean something */
	double interval_s;	/* between the two */
	/* CPU: cumulative and as % of one host CPU (200 = two CPUs busy). */
	int64_t cpu_time_ns;
	double cpu_pct;
	int nvcpu;
	int64_t *vcpu_time_ns;	/* NVCPU (allocated) */
	double *vcpu_pct;	/* NVCPU (allocated) */
	/* Memory, KiB (hv_stats's meaning); -1 unknown. */
	int64_t mem_actual_kib, mem_max_kib, mem_available_kib, mem_usable_kib,
	    mem_unused_kib, mem_rss_kib;
	struct stats_disk *disk;	/* allocated */
	size_t ndisk;
	struct stats_nic *nic;		/* allocated */
	size_t nnic;
	/* Sums over the disks and the NICs that are counted; -1 when none
	 * is (the NICs of user networking). */
	double rd_bps, wr_bps, rd_ops, wr_ops;
	int64_t rd_bytes, wr_bytes, rd_reqs, wr_reqs;
	double rx_bps, tx_bps, rx_pps, tx_pps;
	int64_t rx_bytes, tx_bytes;
	struct hv_job_stats job;	/* its long job as sampled; type HV_JOB_NONE: none */
	char note[256];		/* what the host could not tell */
};

/* One point of a VM's ring: the rates of one interval; -1 unknown. */
struct stats_point {
	long long when_ms;	/* wall clock */
	float cpu_pct;
	float mem_actual_kib, mem_rss_kib, mem_used_kib;	/* used: available - unused */
	float rd_bps, wr_bps, rd_ops, wr_ops;
	float rx_bps, tx_bps;
};

/* A collector for host HOST (its name, for the VMs' records), sampled
 * every INTERVAL_MS (0: STATS_INTERVAL_MS) by its caller. */
struct stats *stats_new(const char *host, int interval_ms);
void stats_free(struct stats *s);
int stats_interval_ms(const struct stats *s);

/* Read VMS[0..N) of HV's host (hv_stats) and fold the counters in.  On
 * the sampling thread; blocks as long as the host takes.  0, or -1 + err
 * (nothing changed). */
int stats_sample(struct stats *s, struct hv *hv, const struct vm_config *const *vms, size_t n);

/* Fold counters RAW[0..N) of VMS[0..N), read at monotonic time MONO_MS
 * and wall time WALL_MS, into S: rates against the previous sample of
 * each VM, a point on its ring.  A counter lower than before (the VM
 * started again) counts from zero: a rate is never negative.  VMs not in
 * VMS, or not found, are forgotten.  RAW's arrays are taken over (RAW is
 * left cleared).  What stats_sample does after reading. */
void stats_feed(struct stats *s, const struct vm_config *const *vms, struct hv_stats *raw,
    size_t n, long long mono_ms, long long wall_ms);

/* A copy of every VM's latest view, in the order last sampled.  Free
 * with stats_vms_free. */
void stats_snapshot(struct stats *s, struct stats_vm **out, size_t *n);
void stats_vms_free(struct stats_vm *v, size_t n);

/* The points of VM UUID's ring from the last WINDOW_MS (at most
 * STATS_WINDOW_MS), oldest first, into OUT (at most MAX): how many. */
size_t stats_history(struct stats *s, const char *uuid, long long window_ms,
    struct stats_point *out, size_t max);
/* How many points the ring of a collector sampled every INTERVAL_MS holds. */
size_t stats_ring_size(int interval_ms);

enum stats_sort {
	STATS_SORT_CPU,		/* CPU %, highest first */
	STATS_SORT_MEM,		/* memory (RSS, else the balloon), largest first */
	STATS_SORT_IO,		/* disk bytes/s read + written, highest first */
	STATS_SORT_NAME,
};

/* "cpu", "mem", "io", "name".  0, or -1 + err listing the choices. */
int stats_sort_parse(const char *s, enum stats_sort *out);
/* V[0..N) in BY's order (ties: by host, then name). */
void stats_sort(struct stats_vm *v, size_t n, enum stats_sort by);

#endif
