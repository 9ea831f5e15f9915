/*
 * Tuning of the built-in backend's VMs: what a start needs of the host
 * (free hugepages, the pinned CPUs), and the pins, the balloon target and
 * the balloon's statistics applied to a running qemu.  vCPU threads come
 * from QMP (query-cpus-fast); every other thread of the qemu is an
 * emulator thread.  Pins are the threads' CPU affinity (sched_setaffinity),
 * as libvirt sets them without cgroups.
 */
#include "hv/hv.h"
#include "hv/qemu.h"
#include "hv/qmp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/tuning.h"
#include "util/err.h"
#include "util/xalloc.h"

#define TUNE_QMP_MS 3000
#define BALLOON_PATH "/machine/peripheral/balloon0"	/* qemu_argv.c's id */
#define BALLOON_STATS_S 2	/* how often the guest reports its memory */

/* The first CPU of SET that ONLINE lacks; -1 when there is none. */
static int
first_missing(const struct cpuset *set, const struct cpuset *online)
{
	for (size_t w = 0; w < sizeof set->bits / sizeof set->bits[0]; w++) {
		uint64_t miss = set->bits[w] & ~online->bits[w];

		if (miss != 0)
			return (int)(w * 64) + __builtin_ctzll(miss);
	}
	return -1;
}

/* SET has only CPUs the host has online; else an error naming WHAT's pin
 * and how to change it (FIX). */
static int
check_pin(const struct vm_config *c, const struct cpuset *set, const struct cpuset *online,
    const char *what, const char *fix)
{
	char have[256];
	int cpu = first_missing(set, online);

	if (cpu < 0)
		return 0;
	cpuset_format(online, have, sizeof have);
	return err_set("VM '%s': %s is pinned to host CPU %d, which this host does not have "
	    "online (it has CPUs %s); change the pin with 'vmtty tune %s %s'", c->name, what, cpu,
	    have, c->name, fix);
}

/* Every pin of C names CPUs of the host (ONLINE). */
static int
check_pins(const struct vm_config *c, const struct cpuset *online)
{
	struct cpuset set;
	char what[32], fix[32];

	for (int v = 0; v < vm_config_cpus(c); v++) {
		if (tuning_vcpu_pin(c, v, &set) != 1)
			continue;
		snprintf(what, sizeof what, "vCPU %d", v);
		snprintf(fix, sizeof fix, "--pin %d:CPUS", v);
		if (check_pin(c, &set, online, what, fix) != 0)
			return -1;
	}
	if (tuning_emulator_pin(c, &set) == 1 &&
	    check_pin(c, &set, online, "its emulator", "--emulator-pin CPUS") != 0)
		return -1;
	return 0;
}

/* C's memory on hugepages: the host has pages of that size, and enough of
 * them free (free and not reserved by another mapping). */
static int
check_hugepages(const char *root, const struct vm_config *c)
{
	struct hv_hugepool pools[HV_MAX_HUGEPOOLS];
	size_t n = qemu_host_hugepools(root, pools, HV_MAX_HUGEPOOLS);
	int64_t kib = c->tuning.hugepage_kib, need, avail, missing;
	const struct hv_hugepool *p = NULL;
	char size[16], have[128] = "";
	size_t off = 0;

	tuning_format_pagesize(kib, size, sizeof size);
	for (size_t i = 0; i < n; i++) {
		char s[16];

		if (pools[i].size_kib == kib)
			p = &pools[i];
		tuning_format_pagesize(pools[i].size_kib, s, sizeof s);
		off += (size_t)snprintf(have + off, sizeof have - off, "%s%s",
		    i == 0 ? "" : i + 1 == n ? " and " : ", ", s);
		if (off >= sizeof have)
			break;
	}
	if (p == NULL && n == 0)
		return err_set("VM '%s' wants its memory on %s hugepages, but this host offers "
		    "no hugepages at all ('%s/sys/kernel/mm/hugepages' has no pools); turn them "
		    "off with 'vmtty tune %s --hugepages off'", c->name, size, root, c->name);
	if (p == NULL)
		return err_set("VM '%s' wants its memory on %s hugepages, but the host offers no "
		    "%s hugepages; it has %s: use one of those ('vmtty tune %s --hugepages SIZE') "
		    "or off", c->name, size, size, have, c->name);
	if (p->free < 0 || p->total < 0)
		return err_set("VM '%s' wants its memory on %s hugepages, but the host's count "
		    "of them cannot be read ('%s/sys/kernel/mm/hugepages/hugepages-%lldkB')",
		    c->name, size, root, (long long)kib);
	need = c->memory_mib * 1024 / kib;
	avail = p->free - (p->reserved > 0 ? p->reserved : 0);
	if (avail >= need)
		return 0;
	if (avail < 0)
		avail = 0;
	missing = need - avail;
	return err_set("VM '%s' needs %lld hugepages of %s for its %lld MiB, but only %lld are "
	    "free (%lld missing); reserve more as root with 'echo %lld > "
	    "/sys/kernel/mm/hugepages/hugepages-%lldkB/nr_hugepages'", c->name,
	    (long long)need, size, (long long)c->memory_mib, (long long)avail,
	    (long long)missing, (long long)(p->total + missing), (long long)kib);
}

int
qemu_tune_preflight(const char *root, const struct vm_config *c)
{
	struct cpuset online;

	if (tuning_validate(c) != 0)
		return -1;
	if ((c->tuning.vcpu_pins != NULL || c->tuning.emulator_pin != NULL) &&
	    (qemu_host_online(root, &online) != 0 || check_pins(c, &online) != 0))
		return -1;
	if (c->tuning.hugepage_kib > 0 && check_hugepages(root, c) != 0)
		return -1;
	return 0;
}

/* The thread id of each vCPU, by its index (0: none), from QMP. */
int
qemu_vcpu_threads(struct qmp *q, const struct vm_config *c, int **tids, size_t *n)
{
	json_object *ret = NULL, *v;
	size_t len, max = 0;

	*tids = NULL;
	*n = 0;
	if (qmp_call(q, "query-cpus-fast", NULL, TUNE_QMP_MS, &ret) != 0)
		return err_prefix("VM '%s': cannot list its vCPU threads", c->name);
	if (!json_object_is_type(ret, json_type_array) || (len = json_object_array_length(ret)) == 0) {
		json_object_put(ret);
		return err_set("VM '%s': QEMU listed no vCPU threads (query-cpus-fast)", c->name);
	}
	for (size_t i = 0; i < len; i++) {
		json_object *e = json_object_array_get_idx(ret, i);
		int idx;

		if (!json_object_object_get_ex(e, "cpu-index", &v))
			continue;
		idx = json_object_get_int(v);
		if (idx >= 0 && idx < VM_MAX_CPUS && (size_t)idx + 1 > max)
			max = (size_t)idx + 1;
	}
	if (max == 0) {
		json_object_put(ret);
		return err_set("VM '%s': QEMU gave no vCPU index (query-cpus-fast)", c->name);
	}
	*tids = xcalloc(max, sizeof **tids);
	for (size_t i = 0; i < len; i++) {
		json_object *e = json_object_array_get_idx(ret, i), *t;
		int idx;

		if (!json_object_object_get_ex(e, "cpu-index", &v) ||
		    !json_object_object_get_ex(e, "thread-id", &t))
			continue;
		idx = json_object_get_int(v);
		if (idx >= 0 && (size_t)idx < max)
			(*tids)[idx] = json_object_get_int(t);
	}
	*n = max;
	json_object_put(ret);
	return 0;
}

static void
to_cpu_set(const struct cpuset *set, cpu_set_t *out)
{
	CPU_ZERO(out);
	for (int i = 0; i < CPUSET_MAX && i < CPU_SETSIZE; i++)
		if (cpuset_has(set, i))
			CPU_SET(i, out);
}

/* Thread TID of C's qemu (WHAT it runs) onto the host CPUs SET.  A thread
 * that is gone counts as done when GONE_OK (an emulator thread ends when
 * its work does). */
static int
pin_thread(const struct vm_config *c, int tid, const struct cpuset *set, const char *what,
    bool gone_ok)
{
	char cpus[256];
	cpu_set_t cs;

	to_cpu_set(set, &cs);
	if (sched_setaffinity(tid, sizeof cs, &cs) == 0 || (gone_ok && errno == ESRCH))
		return 0;
	cpuset_format(set, cpus, sizeof cpus);
	if (errno == EINVAL)
		return err_set("VM '%s': its %s (thread %d) cannot run on host CPUs %s: none of "
		    "them is online or allowed to vmtty (a cpuset cgroup or taskset confines it); "
		    "pin it to CPUs vmtty may use", c->name, what, tid, cpus);
	return err_set("VM '%s': cannot pin its %s (thread %d) to host CPUs %s: %s", c->name,
	    what, tid, cpus, strerror(errno));
}

static bool
is_vcpu(const int *tids, size_t n, int tid)
{
	for (size_t i = 0; i < n; i++)
		if (tids[i] == tid)
			return true;
	return false;
}

/* Each vCPU thread to its pin, every other thread of qemu PID to the
 * emulator pin; what is not pinned may run on every online CPU (so that
 * taking a pin away really frees the thread).  The pins are checked
 * against the host before any thread moves. */
static int
apply_pins(const struct vm_config *c, int pid, const int *tids, size_t n)
{
	struct cpuset online, set, emu;
	char path[64], what[32];
	struct dirent *de;
	int rc = 0;
	DIR *d;

	if (qemu_host_online("", &online) != 0 || check_pins(c, &online) != 0)
		return -1;
	for (size_t v = 0; v < n; v++) {
		if (tids[v] <= 0)
			continue;
		if (tuning_vcpu_pin(c, (int)v, &set) != 1)
			set = online;
		snprintf(what, sizeof what, "vCPU %zu", v);
		if (pin_thread(c, tids[v], &set, what, false) != 0)
			return -1;
	}
	if (tuning_emulator_pin(c, &emu) != 1)
		emu = online;
	snprintf(path, sizeof path, "/proc/%d/task", pid);
	if ((d = opendir(path)) == NULL)
		return err_set("VM '%s': cannot list the threads of its qemu (pid %d): %s", c->name,
		    pid, strerror(errno));
	while (rc == 0 && (de = readdir(d)) != NULL) {
		char *end;
		long tid = strtol(de->d_name, &end, 10);

		if (de->d_name[0] == '.' || *end != '\0' || tid <= 0 || tid > INT_MAX ||
		    is_vcpu(tids, n, (int)tid))
			continue;
		rc = pin_thread(c, (int)tid, &emu, "emulator", tid != pid);
	}
	closedir(d);
	return rc;
}

static int
apply_balloon(struct qmp *q, const struct vm_config *c)
{
	int64_t mib = c->tuning.balloon_mib > 0 ? c->tuning.balloon_mib : c->memory_mib;
	json_object *a = json_object_new_object();

	json_object_object_add(a, "value", json_object_new_int64(mib * 1024 * 1024));
	if (qmp_call(q, "balloon", a, TUNE_QMP_MS, NULL) != 0)
		return err_prefix("VM '%s': cannot set its balloon target to %lld MiB", c->name,
		    (long long)mib);
	return 0;
}

/* Ask the guest's balloon driver for its memory statistics every few
 * seconds (QEMU asks for none by default). */
static int
apply_stats(struct qmp *q, const struct vm_config *c)
{
	json_object *a = json_object_new_object();

	json_object_object_add(a, "path", json_object_new_string(BALLOON_PATH));
	json_object_object_add(a, "property", json_object_new_string("guest-stats-polling-interval"));
	json_object_object_add(a, "value", json_object_new_int(BALLOON_STATS_S));
	if (qmp_call(q, "qom-set", a, TUNE_QMP_MS, NULL) != 0)
		return err_prefix("VM '%s': cannot turn on its balloon statistics", c->name);
	return 0;
}

int
qemu_tune_apply(const struct vm_config *c, const char *sock, int pid, unsigned what)
{
	struct qmp *q;
	int *tids = NULL;
	size_t n = 0;
	int rc = -1;

	if (pid <= 0)
		return err_set("VM '%s' has no qemu process to tune", c->name);
	if ((q = qmp_connect(sock, TUNE_QMP_MS)) == NULL)
		return err_prefix("VM '%s'", c->name);
	if ((what & HV_TUNE_PINS) != 0 && (qemu_vcpu_threads(q, c, &tids, &n) != 0 ||
	    apply_pins(c, pid, tids, n) != 0))
		goto out;
	if ((what & HV_TUNE_BALLOON) != 0 && apply_balloon(q, c) != 0)
		goto out;
	if ((what & QEMU_TUNE_STATS) != 0 && apply_stats(q, c) != 0)
		goto out;
	rc = 0;
out:
	free(tids);
	qmp_close(q);
	return rc;
}

/* Where thread TID may run and where it ran last. */
static void
read_thread(int pid, int tid, struct cpuset *affinity, int *last)
{
	char path[64], line[1024];
	cpu_set_t cs;
	ssize_t n;
	int fd;

	cpuset_zero(affinity);
	if (sched_getaffinity(tid, sizeof cs, &cs) == 0)
		for (int i = 0; i < CPUSET_MAX && i < CPU_SETSIZE; i++)
			if (CPU_ISSET(i, &cs))
				cpuset_add(affinity, i);
	*last = -1;
	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, tid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, line, sizeof line - 1);
	close(fd);
	if (n <= 0)
		return;
	line[n] = '\0';
	*last = qemu_stat_last_cpu(line);
}

/* A statistic of the guest in bytes as KiB; -1 when the guest gave none
 * (QEMU reports those as 2^64 - 1). */
static int64_t
stat_kib(json_object *stats, const char *name)
{
	json_object *v;
	uint64_t b;

	if (!json_object_object_get_ex(stats, name, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	b = json_object_get_uint64(v);
	return b >= (uint64_t)INT64_MAX ? -1 : (int64_t)(b / 1024);
}

/* The memory qemu runs with (its -m, not the inventory's memory, which
 * may be a maximum waiting for the next start); -1 when it does not say. */
static int64_t
read_max(struct qmp *q)
{
	json_object *ret = NULL, *v;
	int64_t kib = -1;

	if (qmp_call(q, "query-memory-size-summary", NULL, TUNE_QMP_MS, &ret) == 0 &&
	    json_object_object_get_ex(ret, "base-memory", &v) &&
	    json_object_is_type(v, json_type_int))
		kib = json_object_get_int64(v) / 1024;
	json_object_put(ret);
	return kib;
}

/* The balloon's size now, and the guest's own memory figures from its
 * balloon driver (all -1 until the driver has reported once). */
void
qemu_tune_memory(struct qmp *q, struct hv_tune_state *ts)
{
	json_object *ret = NULL, *v, *stats, *a;

	ts->max_kib = read_max(q);
	ts->balloon_kib = -1;
	ts->guest_total_kib = ts->guest_free_kib = ts->guest_available_kib = -1;
	if (qmp_call(q, "query-balloon", NULL, TUNE_QMP_MS, &ret) == 0 &&
	    json_object_object_get_ex(ret, "actual", &v))
		ts->balloon_kib = json_object_get_int64(v) / 1024;
	json_object_put(ret);
	ret = NULL;
	a = json_object_new_object();
	json_object_object_add(a, "path", json_object_new_string(BALLOON_PATH));
	json_object_object_add(a, "property", json_object_new_string("guest-stats"));
	if (qmp_call(q, "qom-get", a, TUNE_QMP_MS, &ret) == 0 &&
	    json_object_object_get_ex(ret, "last-update", &v) && json_object_get_int64(v) > 0 &&
	    json_object_object_get_ex(ret, "stats", &stats)) {
		ts->guest_total_kib = stat_kib(stats, "stat-total-memory");
		ts->guest_free_kib = stat_kib(stats, "stat-free-memory");
		ts->guest_available_kib = stat_kib(stats, "stat-available-memory");
	}
	json_object_put(ret);
}

int
qemu_tune_read(const struct vm_config *c, const char *sock, int pid, struct hv_tune_state *out)
{
	struct qmp *q;
	int *tids = NULL, last;
	size_t n = 0;

	memset(out, 0, sizeof *out);
	if ((q = qmp_connect(sock, TUNE_QMP_MS)) == NULL)
		return err_prefix("VM '%s'", c->name);
	if (qemu_vcpu_threads(q, c, &tids, &n) != 0) {
		qmp_close(q);
		return -1;
	}
	out->vcpu = xcalloc(n, sizeof *out->vcpu);
	out->nvcpu = n;
	for (size_t v = 0; v < n; v++) {
		out->vcpu[v].tid = tids[v];
		out->vcpu[v].cpu = -1;
		if (tids[v] > 0)
			read_thread(pid, tids[v], &out->vcpu[v].affinity, &out->vcpu[v].cpu);
	}
	read_thread(pid, pid, &out->emulator, &last);
	out->emulator_known = cpuset_count(&out->emulator) > 0;
	qemu_tune_memory(q, out);
	free(tids);
	qmp_close(q);
	return 0;
}
