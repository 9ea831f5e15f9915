/* tune: changing a VM's resource tuning (vCPU and emulator pins,
 * hugepages, the balloon, its maximum memory), one code path for both
 * front ends (vmtty tune and the TUI's tuning page).  tune_apply reads the
 * request into a copy of the configuration and checks it against the host
 * (no I/O); tune_run does the blocking part.  Pins and the balloon reach a
 * running VM at once; hugepages and the maximum memory wait for its next
 * start.  The inventory row, the pending mark and the journal are the
 * caller's. */
#ifndef VMTTY_TUNE_H
#define VMTTY_TUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hv;
struct cpuset;
struct hv_host_info;
struct hv_tune_state;
struct vm_config;

struct tune_req {
	/* What to change, as typed; NULL (or no pins) leaves it. */
	const char *const *pins;	/* "VCPU:CPUS", "all:CPUS", "VCPU:off" */
	size_t npins;
	const char *emulator_pin;	/* CPUS or off */
	const char *hugepages;		/* 2M, 1G or off */
	const char *balloon;		/* a size */
	const char *max_memory;		/* a size */

	/* Set by tune_apply. */
	char changes[512];		/* "pins 0:0;1:1, balloon 160 MiB": what changed */
	char pending[64];		/* of those, what waits for the next start */
	unsigned live;			/* HV_TUNE_* a running VM gets at once */
	/* Set by tune_run. */
	const char *state;		/* the VM's state word: "running", "off", ... */
};

/* Apply R to C (a copy of the VM's configuration) and check the result,
 * with the host's CPUs and hugepage sizes when HI is not NULL: 0, or -1 +
 * one sentence naming what is wrong.  No I/O. */
int tune_apply(struct tune_req *r, struct vm_config *c, const struct hv_host_info *hi);
/* The balloon targets VM C may take now, from *LO to *HI MiB: from the
 * floor of its memory to its memory and, while it runs with RUNNING_MIB
 * (its running maximum; 0 when it is not running), also from that
 * memory's floor to that memory.  false when no target is both. */
bool tune_balloon_range(const struct vm_config *c, int64_t running_mib, int64_t *lo,
    int64_t *hi);
/* The pin of vCPU V of C (-1: its emulator threads) as the tuning page and
 * vmtty tune show it, into *SET: the inventory's, else the one the host
 * has (TS, may be NULL: a libvirt domain pinned outside vmtty).  1 when
 * pinned, 0 when not. */
int tune_pin(const struct vm_config *c, const struct hv_tune_state *ts, int v,
    struct cpuset *set);
/* The blocking part for C (changed by tune_apply; OLD as it was): the parts
 * R changes onto the host (hv_tune: the definition edited in place, never
 * replaced), and a running VM (*RUNNING) gets the live part now.  On
 * failure the host's definition and the VM are as they were (OLD).  Not on
 * the UI thread.  A running VM's balloon target must lie within the floor and the memory
 * it runs with (hv_tune_state's max_kib), not those of a maximum waiting
 * for its next start. */
int tune_run(struct hv *hv, struct tune_req *r, const struct vm_config *old,
    struct vm_config *c, bool *running);
/* Put the host back as OLD was, after tune_run succeeded but the inventory
 * could not take the change: the parts R changed, as OLD has them, onto
 * the VM and its definition.  Keeps the current error.  Blocking. */
void tune_undo(struct hv *hv, const struct tune_req *r, const struct vm_config *old);

#endif
