/*
 * Statistics of the built-in backend's VMs: CPU time and resident memory
 * from /proc (the qemu process, and its vCPU threads, which QMP's
 * query-cpus-fast names), disks from query-blockstats, the balloon and the
 * guest's own memory figures as tuning reads them, tap NICs from their
 * /sys/class/net counters.  One QMP connection per running VM, each call
 * bounded by the QMP timeout, so a wedged qemu costs its own VM a few
 * seconds and nothing more.  QEMU keeps no counters for user networking:
 * those NICs are reported unavailable (-1), and the note says so.
 */
#include "hv/hv.h"
#include "hv/qemu.h"
#include "hv/qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

#define STATS_QMP_MS 3000

/* The first line of a small file under /proc or /sys into BUF; -1 when it
 * cannot be read. */
static int
read_small(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static int64_t
task_cpu_ns(int pid, int tid)
{
	char path[64], line[1024];

	if (tid > 0)
		snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, tid);
	else
		snprintf(path, sizeof path, "/proc/%d/stat", pid);
	if (read_small(path, line, sizeof line) != 0)
		return -1;
	return qemu_stat_cpu_ns(line);
}

/* Resident memory of PID, KiB (statm's second field, in pages). */
static int64_t
rss_kib(int pid)
{
	char path[64], line[256];
	unsigned long long size, res;
	long page = sysconf(_SC_PAGESIZE);

	snprintf(path, sizeof path, "/proc/%d/statm", pid);
	if (read_small(path, line, sizeof line) != 0 || page <= 0 ||
	    sscanf(line, "%llu %llu", &size, &res) != 2)
		return -1;
	return (int64_t)(res * (unsigned long long)page / 1024);
}

static int64_t
sys_counter(const char *ifname, const char *name)
{
	char path[256], line[64], *end;
	long long v;

	snprintf(path, sizeof path, "/sys/class/net/%s/statistics/%s", ifname, name);
	if (read_small(path, line, sizeof line) != 0)
		return -1;
	errno = 0;
	v = strtoll(line, &end, 10);
	if (errno != 0 || end == line || v < 0)
		return -1;
	return v;
}

static void
note_add(struct hv_stats *s, const char *fmt, const char *arg)
{
	size_t off = strlen(s->note);
	char one[sizeof s->note];

	snprintf(one, sizeof one, fmt, arg);
	if (strstr(s->note, one) != NULL)
		return;
	snprintf(s->note + off, sizeof s->note - off, "%s%s", off > 0 ? " " : "", one);
}

/* NIC counters: a tap's from /sys as the guest sees them (what the tap
 * receives, the guest sent); user and bridge NICs have none we can read. */
static void
read_nics(const struct vm_config *c, struct hv_stats *s)
{
	for (size_t i = 0; i < c->nnics && i < s->nnic; i++) {
		const struct vm_nic *n = &c->nics[i];
		struct hv_nic_stats *ns = &s->nic[i];

		if (strcmp(n->kind, "tap") == 0 && n->source != NULL &&
		    vm_ifname_check("tap", n->source) == 0) {
			snprintf(ns->name, sizeof ns->name, "%s", n->source);
			ns->rx_bytes = sys_counter(n->source, "tx_bytes");
			ns->tx_bytes = sys_counter(n->source, "rx_bytes");
			ns->rx_packets = sys_counter(n->source, "tx_packets");
			ns->tx_packets = sys_counter(n->source, "rx_packets");
			continue;
		}
		snprintf(ns->name, sizeof ns->name, "nic%zu", i);
		if (strcmp(n->kind, "user") == 0)
			note_add(s, "%s", "QEMU keeps no traffic counters for user networking.");
		else
			note_add(s, "A %s NIC's counters cannot be read (its tap device is named by "
			    "QEMU's helper).", n->kind);
	}
}

static int64_t
json_i64(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v);
}

/* query-blockstats: one entry per drive of C (disk0, disk1, ...). */
static void
read_disks(struct qmp *q, const struct vm_config *c, struct hv_stats *s)
{
	json_object *ret = NULL, *st, *dev;
	size_t len;

	if (qmp_call(q, "query-blockstats", NULL, STATS_QMP_MS, &ret) != 0) {
		log_debug("stats: VM '%s': %s", c->name, err_get());
		return;
	}
	len = json_object_is_type(ret, json_type_array) ? json_object_array_length(ret) : 0;
	for (size_t i = 0; i < len; i++) {
		json_object *e = json_object_array_get_idx(ret, i);
		const char *name;
		char *end;
		unsigned long idx;

		if (!json_object_object_get_ex(e, "device", &dev) ||
		    !json_object_object_get_ex(e, "stats", &st))
			continue;
		name = json_object_get_string(dev);
		if (name == NULL || strncmp(name, "disk", 4) != 0)
			continue;	/* firmware flash, or a device of nobody's */
		idx = strtoul(name + 4, &end, 10);
		if (end == name + 4 || *end != '\0' || idx >= s->ndisk)
			continue;
		snprintf(s->disk[idx].name, sizeof s->disk[idx].name, "%s", name);
		s->disk[idx].rd_bytes = json_i64(st, "rd_bytes");
		s->disk[idx].wr_bytes = json_i64(st, "wr_bytes");
		s->disk[idx].rd_reqs = json_i64(st, "rd_operations");
		s->disk[idx].wr_reqs = json_i64(st, "wr_operations");
	}
	json_object_put(ret);
}

static enum hv_state
run_state(struct qmp *q)
{
	json_object *ret = NULL, *v;
	enum hv_state st = HV_RUNNING;
	const char *s;

	if (qmp_call(q, "query-status", NULL, STATS_QMP_MS, &ret) != 0)
		return HV_UNKNOWN;
	if (json_object_object_get_ex(ret, "status", &v) && (s = json_object_get_string(v)) != NULL) {
		if (strcmp(s, "shutdown") == 0)
			st = HV_SHUTTING_DOWN;
		else if (strcmp(s, "guest-panicked") == 0 || strcmp(s, "internal-error") == 0)
			st = HV_CRASHED;
		else if (strcmp(s, "running") != 0)
			st = HV_PAUSED;
	}
	json_object_put(ret);
	return st;
}

/* What QMP tells of running C (qemu PID): state, vCPU times, disks,
 * memory.  A qemu that does not answer leaves those unknown. */
static void
read_qmp(const struct qemu_run *r, const struct vm_config *c, int pid, struct hv_stats *s)
{
	struct hv_tune_state ts = { 0 };
	struct qmp *q;
	int *tids = NULL;
	size_t ntid = 0;

	if ((q = qmp_connect(r->qmp, STATS_QMP_MS)) == NULL) {
		s->state = HV_UNKNOWN;
		note_add(s, "%s", err_get());
		return;
	}
	s->state = run_state(q);
	if (qemu_vcpu_threads(q, c, &tids, &ntid) == 0) {
		free(s->vcpu_time_ns);
		s->nvcpu = (int)ntid;
		s->vcpu_time_ns = xcalloc(ntid + 1, sizeof *s->vcpu_time_ns);
		for (size_t v = 0; v < ntid; v++)
			s->vcpu_time_ns[v] = tids[v] > 0 ? task_cpu_ns(pid, tids[v]) : -1;
	}
	free(tids);
	read_disks(q, c, s);
	qemu_tune_memory(q, &ts);
	s->mem_actual_kib = ts.balloon_kib;
	s->mem_max_kib = ts.max_kib;
	/* As libvirt names them: available is all the guest sees, usable
	 * what it can take without swapping, unused its free memory. */
	s->mem_available_kib = ts.guest_total_kib;
	s->mem_usable_kib = ts.guest_available_kib;
	s->mem_unused_kib = ts.guest_free_kib;
	qmp_close(q);
}

static void
one_vm(struct hv *hv, const struct vm_config *c, struct hv_stats *s)
{
	struct qemu_run r;
	int pid;

	if (qemu_runtime(hv, c, &r) != 0) {
		log_debug("stats: VM '%s': %s", c->name, err_get());
		return;
	}
	s->found = true;
	pid = qemu_read_pidfile(r.pidfile);
	if (pid == 0) {
		s->state = HV_OFF;
		return;
	}
	if (!qemu_pid_is_ours(pid, r.pidfile)) {
		s->state = HV_CRASHED;
		return;
	}
	hv_stats_alloc(s, vm_config_cpus(c), c->ndisks, c->nnics);
	s->state = HV_RUNNING;
	s->cpu_time_ns = task_cpu_ns(pid, 0);
	s->mem_rss_kib = rss_kib(pid);
	read_nics(c, s);
	read_qmp(&r, c, pid, s);
}

int
qemu_stats(struct hv *hv, const struct vm_config *const *vms, size_t n, struct hv_stats *out)
{
	for (size_t i = 0; i < n; i++)
		one_vm(hv, vms[i], &out[i]);
	return 0;
}
