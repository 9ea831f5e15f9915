/*
 * The built-in backend's host: this machine's processors, memory,
 * hugepage pools and KSM, read from /proc and /sys.  Every path is under a
 * root ("" for the machine itself) so that the unit tests can give a fake
 * tree; only the architecture comes from uname.
 */
#include "hv/hv.h"
#include "hv/qemu.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "util/err.h"
#include "util/xalloc.h"

#define SYS_CPU "/sys/devices/system/cpu"
#define SYS_NODE "/sys/devices/system/node"
#define SYS_HUGEPAGES "/sys/kernel/mm/hugepages"
#define SYS_KSM "/sys/kernel/mm/ksm"

/* ROOT PATH (a sysfs or procfs file) into BUF, without its trailing
 * newline: its length, or -1 (errno set) when it cannot be read. */
static ssize_t
read_text(const char *root, const char *path, char *buf, size_t len)
{
	char full[PATH_MAX];
	ssize_t n, got = 0;
	int fd, e;

	if ((size_t)snprintf(full, sizeof full, "%s%s", root, path) >= sizeof full) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(full, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	while ((size_t)got + 1 < len && (n = read(fd, buf + got, len - 1 - (size_t)got)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
		buf[--got] = '\0';
	return got;
}

/* A number in file ROOT PATH; -1 when it cannot be read. */
static int64_t
read_num(const char *root, const char *path)
{
	char buf[64], *end;
	long long v;

	if (read_text(root, path, buf, sizeof buf) <= 0)
		return -1;
	errno = 0;
	v = strtoll(buf, &end, 10);
	return errno != 0 || end == buf || *end != '\0' ? -1 : (int64_t)v;
}

/* A CPU list file ("0-3,8") into *SET: 0, or -1 when it cannot be read;
 * an empty list (a node without CPUs) is an empty set. */
static int
read_cpulist(const char *root, const char *path, struct cpuset *set)
{
	char buf[8192];
	ssize_t n = read_text(root, path, buf, sizeof buf);

	cpuset_zero(set);
	if (n < 0)
		return -1;
	return n == 0 || cpuset_parse(buf, set) == 0 ? 0 : -1;
}

int
qemu_host_online(const char *root, struct cpuset *set)
{
	errno = 0;
	if (read_cpulist(root, SYS_CPU "/online", set) == 0 && cpuset_count(set) > 0)
		return 0;
	return err_set("cannot read the host's online CPUs from '%s%s': %s", root,
	    SYS_CPU "/online", errno != 0 ? strerror(errno) : "not a CPU list");
}

static int
cmp_pool(const void *a, const void *b)
{
	const struct hv_hugepool *x = a, *y = b;

	return x->size_kib < y->size_kib ? -1 : x->size_kib > y->size_kib;
}

size_t
qemu_host_hugepools(const char *root, struct hv_hugepool *pools, size_t max)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(dir, sizeof dir, "%s%s", root, SYS_HUGEPAGES);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while (n < max && (de = readdir(d)) != NULL) {
		struct hv_hugepool *p = &pools[n];
		long long kib;
		char unit[4];

		if (sscanf(de->d_name, "hugepages-%lld%3s", &kib, unit) != 2 ||
		    strcmp(unit, "kB") != 0 || kib <= 0)
			continue;
		p->size_kib = kib;
		snprintf(path, sizeof path, "%s/%s/nr_hugepages", SYS_HUGEPAGES, de->d_name);
		p->total = read_num(root, path);
		snprintf(path, sizeof path, "%s/%s/free_hugepages", SYS_HUGEPAGES, de->d_name);
		p->free = read_num(root, path);
		snprintf(path, sizeof path, "%s/%s/resv_hugepages", SYS_HUGEPAGES, de->d_name);
		p->reserved = read_num(root, path);
		n++;
	}
	closedir(d);
	qsort(pools, n, sizeof *pools, cmp_pool);
	return n;
}

/* The index of SET in SETS (N of them), added at the end when new: how
 * lscpu numbers cores and sockets, by first appearance. */
static int
set_index(struct cpuset *sets, size_t *n, const struct cpuset *set)
{
	for (size_t i = 0; i < *n; i++)
		if (cpuset_equal(&sets[i], set))
			return (int)i;
	sets[*n] = *set;
	return (int)(*n)++;
}

/* The NUMA node of each CPU in HI (-1 when it has none): the nodeN
 * directories' CPU lists.  The number of nodes with CPUs. */
static int
read_nodes(const char *root, struct hv_host_info *hi)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	struct cpuset set;
	int nodes = 0;
	DIR *d;

	snprintf(dir, sizeof dir, "%s%s", root, SYS_NODE);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		bool any = false;
		int node;
		char tail;

		if (sscanf(de->d_name, "node%d%c", &node, &tail) != 1 || node < 0)
			continue;
		snprintf(path, sizeof path, "%s/%s/cpulist", SYS_NODE, de->d_name);
		if (read_cpulist(root, path, &set) != 0)
			continue;
		for (size_t i = 0; i < hi->ncpu; i++) {
			if (cpuset_has(&set, hi->cpu[i].cpu)) {
				hi->cpu[i].node = node;
				any = true;
			}
		}
		nodes += any;
	}
	closedir(d);
	return nodes;
}

/*
 * Each online CPU's core, socket and node as `lscpu -p` numbers them: a
 * core is a set of thread siblings and a socket a set of core siblings,
 * each numbered by first appearance in CPU order (a logical index, not
 * the kernel's core_id, which repeats across sockets and has gaps); the
 * node is the kernel's node number (0 without NUMA directories).
 */
static int
read_cpus(const char *root, struct hv_host_info *hi)
{
	struct cpuset online, *cores, *sockets;
	size_t ncores = 0, nsockets = 0;
	char path[PATH_MAX];

	if (qemu_host_online(root, &online) != 0)
		return -1;
	hi->ncpus = cpuset_count(&online);
	hi->cpu = xcalloc((size_t)hi->ncpus, sizeof *hi->cpu);
	cores = xcalloc((size_t)hi->ncpus, sizeof *cores);
	sockets = xcalloc((size_t)hi->ncpus, sizeof *sockets);
	for (int c = 0; c < CPUSET_MAX; c++) {
		struct hv_cpu *cpu;
		struct cpuset set;

		if (!cpuset_has(&online, c))
			continue;
		cpu = &hi->cpu[hi->ncpu++];
		cpu->cpu = c;
		cpu->core = cpu->socket = cpu->node = -1;
		snprintf(path, sizeof path, SYS_CPU "/cpu%d/topology/thread_siblings_list", c);
		if (read_cpulist(root, path, &set) == 0 && cpuset_count(&set) > 0)
			cpu->core = set_index(cores, &ncores, &set);
		snprintf(path, sizeof path, SYS_CPU "/cpu%d/topology/core_siblings_list", c);
		if (read_cpulist(root, path, &set) == 0 && cpuset_count(&set) > 0)
			cpu->socket = set_index(sockets, &nsockets, &set);
	}
	free(cores);
	free(sockets);
	hi->nodes = read_nodes(root, hi);
	if (hi->nodes == 0) {
		hi->nodes = 1;
		for (size_t i = 0; i < hi->ncpu; i++)
			hi->cpu[i].node = 0;
	}
	return 0;
}

static int
cmp_place(const void *a, const void *b)
{
	const struct hv_cpu *x = a, *y = b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	if (x->socket != y->socket)
		return x->socket < y->socket ? -1 : 1;
	if (x->core != y->core)
		return x->core < y->core ? -1 : 1;
	return x->cpu < y->cpu ? -1 : x->cpu > y->cpu;
}

static int
max_of(int a, int b)
{
	return a > b ? a : b;
}

/*
 * Sockets per node, cores per socket, threads per core, as virsh nodeinfo
 * counts them: the largest of each over the nodes, sockets and cores (the
 * CPUs sorted by place, each count is a run).  When those do not multiply
 * to the CPUs online (CPUs taken offline, an uneven topology), one node
 * with one socket of single-threaded cores, as libvirt says then.
 */
static void
count_topology(struct hv_host_info *hi)
{
	struct hv_cpu *c = xcalloc(hi->ncpu + 1, sizeof *c);
	int sockets = 0, cores = 0, threads = 0;

	memcpy(c, hi->cpu, hi->ncpu * sizeof *c);
	qsort(c, hi->ncpu, sizeof *c, cmp_place);
	hi->sockets = hi->cores = hi->threads = 0;
	for (size_t i = 0; i < hi->ncpu; i++) {
		bool node = i == 0 || c[i].node != c[i - 1].node;
		bool socket = node || c[i].socket != c[i - 1].socket;
		bool core = socket || c[i].core != c[i - 1].core;

		sockets = node ? 1 : sockets + socket;
		cores = socket ? 1 : cores + core;
		threads = core ? 1 : threads + 1;
		hi->sockets = max_of(hi->sockets, sockets);
		hi->cores = max_of(hi->cores, cores);
		hi->threads = max_of(hi->threads, threads);
	}
	free(c);
	if ((long long)hi->nodes * hi->sockets * hi->cores * hi->threads != hi->ncpus) {
		hi->nodes = 1;
		hi->sockets = 1;
		hi->cores = hi->ncpus;
		hi->threads = 1;
	}
}

/* The CPU model and its speed: the first "model name" and "cpu MHz". */
static void
read_cpuinfo(const char *root, struct hv_host_info *hi)
{
	char path[PATH_MAX], line[1024];
	FILE *fp;

	snprintf(path, sizeof path, "%s/proc/cpuinfo", root);
	if ((fp = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof line, fp) != NULL && (hi->model[0] == '\0' || hi->mhz == 0)) {
		char *colon = strchr(line, ':'), *v;
		size_t klen;
		double mhz;

		if (colon == NULL)
			continue;
		for (klen = (size_t)(colon - line); klen > 0 && (line[klen - 1] == ' ' ||
		    line[klen - 1] == '\t'); klen--)
			;
		v = colon + 1 + strspn(colon + 1, " \t");
		v[strcspn(v, "\n")] = '\0';
		if (klen == 10 && strncmp(line, "model name", 10) == 0 && hi->model[0] == '\0')
			snprintf(hi->model, sizeof hi->model, "%s", v);
		else if (klen == 7 && strncmp(line, "cpu MHz", 7) == 0 && hi->mhz == 0 &&
		    sscanf(v, "%lf", &mhz) == 1 && mhz > 0)
			hi->mhz = (int)(mhz + 0.5);
	}
	fclose(fp);
}

/* MemTotal and MemFree: "free" as free(1) and virsh nodememstats say it
 * (memory nothing uses, not what could be reclaimed: MemAvailable). */
static void
read_meminfo(const char *root, struct hv_host_info *hi)
{
	char path[PATH_MAX], line[256];
	long long v;
	FILE *fp;

	hi->mem_total_kib = hi->mem_free_kib = -1;
	snprintf(path, sizeof path, "%s/proc/meminfo", root);
	if ((fp = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof line, fp) != NULL) {
		if (sscanf(line, "MemTotal: %lld kB", &v) == 1)
			hi->mem_total_kib = v;
		else if (sscanf(line, "MemFree: %lld kB", &v) == 1)
			hi->mem_free_kib = v;
	}
	fclose(fp);
}

static void
read_ksm(const char *root, struct hv_host_info *hi)
{
	int64_t run = read_num(root, SYS_KSM "/run");

	hi->ksm_known = run >= 0;
	if (!hi->ksm_known)
		return;
	hi->ksm_run = run == 1;
	hi->ksm_shared = read_num(root, SYS_KSM "/pages_shared");
	hi->ksm_sharing = read_num(root, SYS_KSM "/pages_sharing");
	hi->ksm_full_scans = read_num(root, SYS_KSM "/full_scans");
}

int
qemu_host_read(const char *root, struct hv_host_info *out)
{
	struct utsname u;

	memset(out, 0, sizeof *out);
	if (uname(&u) == 0)
		snprintf(out->arch, sizeof out->arch, "%.*s", (int)sizeof out->arch - 1, u.machine);
	if (read_cpus(root, out) != 0)
		return -1;
	count_topology(out);
	read_cpuinfo(root, out);
	read_meminfo(root, out);
	out->npools = qemu_host_hugepools(root, out->pools, HV_MAX_HUGEPOOLS);
	read_ksm(root, out);
	return 0;
}

int
qemu_host_ksm(const char *root, bool on)
{
	char path[PATH_MAX];
	const char *what = on ? "on" : "off";
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "%s%s", root, SYS_KSM "/run");
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return err_set("cannot turn KSM %s: this host's kernel has no KSM ('%s' "
			    "does not exist)", what, path);
		if (errno == EACCES || errno == EPERM || errno == EROFS)
			return err_set("cannot turn KSM %s: '%s' is not writable (%s); only root "
			    "can change KSM", what, path, strerror(errno));
		return err_set("cannot turn KSM %s: cannot open '%s': %s", what, path,
		    strerror(errno));
	}
	n = write(fd, on ? "1\n" : "0\n", 2);
	if (n != 2) {
		int e = n < 0 ? errno : EIO;

		close(fd);
		return err_set("cannot turn KSM %s: writing '%s' failed: %s", what, path,
		    strerror(e));
	}
	if (close(fd) != 0)
		return err_set("cannot turn KSM %s: writing '%s' failed: %s", what, path,
		    strerror(errno));
	return 0;
}

/* Field FIELD (numbered from 1, as proc(5) does; 3 or more) of a
 * /proc/PID/stat LINE as a number; -1 when LINE has none. */
static int
stat_field(const char *line, int field, unsigned long long *out)
{
	/* The command name (field 2) is in parentheses and may hold spaces
	 * and parentheses itself: the fields are counted after the last ')'.
	 * Field 3 (the state) follows it. */
	const char *p = strrchr(line, ')');
	char *end;
	unsigned long long v;

	if (p == NULL || field < 3)
		return -1;
	p++;
	for (int f = 3; f < field; f++) {
		p += strspn(p, " ");
		if (*p == '\0')
			return -1;
		p += strcspn(p, " ");
	}
	p += strspn(p, " ");
	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno != 0 || (*end != '\0' && *end != ' ' && *end != '\n'))
		return -1;
	*out = v;
	return 0;
}

int
qemu_stat_last_cpu(const char *line)
{
	unsigned long long v;

	/* Field 39 is the CPU it ran on last. */
	if (stat_field(line, 39, &v) != 0 || v > INT_MAX)
		return -1;
	return (int)v;
}

int64_t
qemu_stat_cpu_ns(const char *line)
{
	unsigned long long utime, stime;
	long hz = sysconf(_SC_CLK_TCK);

	/* Fields 14 and 15: user and system time in clock ticks. */
	if (hz <= 0 || stat_field(line, 14, &utime) != 0 || stat_field(line, 15, &stime) != 0 ||
	    utime + stime > (unsigned long long)INT64_MAX / 1000000000ULL)
		return -1;
	return (int64_t)((utime + stime) * (1000000000ULL / (unsigned long long)hz));
}
