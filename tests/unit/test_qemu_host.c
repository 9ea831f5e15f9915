/* The built-in backend's view of its host, read from fake /proc and /sys
 * trees (and from this machine, against lscpu): CPUs numbered as lscpu
 * numbers them, virsh nodeinfo's counts, memory, hugepage pools, KSM;
 * the hugepage and pin checks a start makes; the last-CPU field of a
 * thread's stat line. */
#include "unit.h"

#include <errno.h>
#include <limits.h>

#include "hv/qemu.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/paths.h"
#include "util/spawn.h"
#include "util/xalloc.h"

/* ROOT/PATH holds TEXT (directories made as needed). */
static void
put(const char *root, const char *path, const char *text)
{
	char full[PATH_MAX];
	FILE *fp;

	snprintf(full, sizeof full, "%s%s", root, path);
	assert_int_equal(paths_mkdir_parent(full, 0700), 0);
	fp = fopen(full, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void
putf(const char *root, const char *text, const char *fmt, int n)
{
	char path[256];

	snprintf(path, sizeof path, fmt, n);
	put(root, path, text);
}

/* A CPU's topology files. */
static void
put_cpu(const char *root, int cpu, const char *threads, const char *core_sib, int core_id,
    int package)
{
	char num[16];

	putf(root, threads, "/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", cpu);
	putf(root, core_sib, "/sys/devices/system/cpu/cpu%d/topology/core_siblings_list", cpu);
	snprintf(num, sizeof num, "%d\n", core_id);
	putf(root, num, "/sys/devices/system/cpu/cpu%d/topology/core_id", cpu);
	snprintf(num, sizeof num, "%d\n", package);
	putf(root, num, "/sys/devices/system/cpu/cpu%d/topology/physical_package_id", cpu);
}

static void
put_pool(const char *root, const char *dir, const char *nr, const char *fr, const char *resv)
{
	char path[256];

	snprintf(path, sizeof path, "/sys/kernel/mm/hugepages/%s/nr_hugepages", dir);
	put(root, path, nr);
	snprintf(path, sizeof path, "/sys/kernel/mm/hugepages/%s/free_hugepages", dir);
	put(root, path, fr);
	snprintf(path, sizeof path, "/sys/kernel/mm/hugepages/%s/resv_hugepages", dir);
	put(root, path, resv);
}

/*
 * Two NUMA nodes of one socket each, two cores of two threads per socket,
 * the sibling threads numbered far apart (0 and 4) as on Intel machines.
 * core_id repeats across the sockets (0, 1 in both): lscpu's Core column
 * is its own index, 0-3, by first appearance.
 */
static void
fake_numa_host(const char *root)
{
	put(root, "/sys/devices/system/cpu/online", "0-7\n");
	put_cpu(root, 0, "0,4\n", "0-1,4-5\n", 0, 0);
	put_cpu(root, 1, "1,5\n", "0-1,4-5\n", 1, 0);
	put_cpu(root, 2, "2,6\n", "2-3,6-7\n", 0, 1);
	put_cpu(root, 3, "3,7\n", "2-3,6-7\n", 1, 1);
	put_cpu(root, 4, "0,4\n", "0-1,4-5\n", 0, 0);
	put_cpu(root, 5, "1,5\n", "0-1,4-5\n", 1, 0);
	put_cpu(root, 6, "2,6\n", "2-3,6-7\n", 0, 1);
	put_cpu(root, 7, "3,7\n", "2-3,6-7\n", 1, 1);
	put(root, "/sys/devices/system/node/node0/cpulist", "0-1,4-5\n");
	put(root, "/sys/devices/system/node/node1/cpulist", "2-3,6-7\n");
	/* A memory-only node: no CPUs, not counted. */
	put(root, "/sys/devices/system/node/node2/cpulist", "\n");
	put(root, "/sys/devices/system/node/online", "0-2\n");
	put(root, "/proc/cpuinfo",
	    "processor\t: 0\nvendor_id\t: GenuineIntel\n"
	    "model name\t: Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz\n"
	    "cpu MHz\t\t: 2599.6\nflags\t\t: fpu vme\n\n"
	    "processor\t: 1\nmodel name\t: Other\ncpu MHz\t\t: 1200.000\n");
	put(root, "/proc/meminfo", "MemTotal:       16318440 kB\nMemFree:         9123456 kB\n"
	    "MemAvailable:   12000000 kB\nHugePages_Total:       0\n");
	put_pool(root, "hugepages-2048kB", "160\n", "100\n", "4\n");
	put_pool(root, "hugepages-1048576kB", "2\n", "2\n", "0\n");
	put(root, "/sys/kernel/mm/ksm/run", "1\n");
	put(root, "/sys/kernel/mm/ksm/pages_shared", "12\n");
	put(root, "/sys/kernel/mm/ksm/pages_sharing", "345\n");
	put(root, "/sys/kernel/mm/ksm/full_scans", "6\n");
}

static void
test_numa_host(void **state)
{
	static const struct hv_cpu want[] = {
		{ 0, 0, 0, 0 }, { 1, 1, 0, 0 }, { 2, 2, 1, 1 }, { 3, 3, 1, 1 },
		{ 4, 0, 0, 0 }, { 5, 1, 0, 0 }, { 6, 2, 1, 1 }, { 7, 3, 1, 1 },
	};
	char *root = unit_tmpdir();
	struct hv_host_info hi;

	(void)state;
	fake_numa_host(root);
	assert_int_equal(qemu_host_read(root, &hi), 0);
	assert_true(hi.arch[0] != '\0');
	assert_string_equal(hi.model, "Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz");
	assert_int_equal(hi.mhz, 2600);
	assert_int_equal(hi.ncpus, 8);
	assert_int_equal(hi.ncpu, 8);
	for (size_t i = 0; i < 8; i++) {
		assert_int_equal(hi.cpu[i].cpu, want[i].cpu);
		assert_int_equal(hi.cpu[i].core, want[i].core);
		assert_int_equal(hi.cpu[i].socket, want[i].socket);
		assert_int_equal(hi.cpu[i].node, want[i].node);
	}
	/* virsh nodeinfo: 2 cells, 1 socket per cell, 2 cores, 2 threads. */
	assert_int_equal(hi.nodes, 2);
	assert_int_equal(hi.sockets, 1);
	assert_int_equal(hi.cores, 2);
	assert_int_equal(hi.threads, 2);
	assert_int_equal(hi.mem_total_kib, 16318440);
	assert_int_equal(hi.mem_free_kib, 9123456);
	assert_int_equal(hi.npools, 2);
	assert_int_equal(hi.pools[0].size_kib, 2048);
	assert_int_equal(hi.pools[0].total, 160);
	assert_int_equal(hi.pools[0].free, 100);
	assert_int_equal(hi.pools[0].reserved, 4);
	assert_int_equal(hi.pools[1].size_kib, 1048576);
	assert_int_equal(hi.pools[1].total, 2);
	assert_true(hi.ksm_known);
	assert_true(hi.ksm_run);
	assert_int_equal(hi.ksm_shared, 12);
	assert_int_equal(hi.ksm_sharing, 345);
	assert_int_equal(hi.ksm_full_scans, 6);
	free(hi.cpu);
	unit_rmdir(root);
}

/*
 * No NUMA directories, no KSM, no hugepages; 2 cores of 2 threads with
 * CPU 3 offline: the counts no longer multiply to the 3 CPUs online, so
 * they are one socket of 3 single-threaded cores, as libvirt says then.
 */
static void
test_offline_cpu(void **state)
{
	char *root = unit_tmpdir(), path[PATH_MAX];
	struct hv_host_info hi;

	(void)state;
	put(root, "/sys/devices/system/cpu/online", "0-2\n");
	put_cpu(root, 0, "0,2\n", "0-2\n", 0, 0);
	put_cpu(root, 1, "1\n", "0-2\n", 1, 0);
	put_cpu(root, 2, "0,2\n", "0-2\n", 0, 0);
	assert_int_equal(qemu_host_read(root, &hi), 0);
	assert_int_equal(hi.ncpus, 3);
	assert_int_equal(hi.cpu[1].core, 1);
	assert_int_equal(hi.cpu[2].core, 0);
	assert_int_equal(hi.cpu[2].node, 0);
	assert_int_equal(hi.nodes, 1);
	assert_int_equal(hi.sockets, 1);
	assert_int_equal(hi.cores, 3);
	assert_int_equal(hi.threads, 1);
	assert_string_equal(hi.model, "");
	assert_int_equal(hi.mhz, 0);
	assert_int_equal(hi.mem_total_kib, -1);
	assert_int_equal(hi.npools, 0);
	assert_false(hi.ksm_known);
	free(hi.cpu);

	/* No online file: an error naming it. */
	snprintf(path, sizeof path, "%s/sys/devices/system/cpu/online", root);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(qemu_host_read(root, &hi), -1);
	assert_non_null(strstr(err_get(), "cannot read the host's online CPUs from '"));
	assert_non_null(strstr(err_get(), "/sys/devices/system/cpu/online': No such file"));
	unit_rmdir(root);
}

struct lines {
	char buf[16384];
	size_t len;
};

static void
on_line(const char *line, void *arg)
{
	struct lines *l = arg;

	if (line[0] == '#')
		return;
	l->len += (size_t)snprintf(l->buf + l->len, sizeof l->buf - l->len, "%s\n", line);
}

/* This machine's CPUs exactly as `lscpu -p=CPU,Core,Socket,Node` gives
 * them (lscpu leaves Node empty without NUMA directories; 0 here). */
static void
test_this_host_like_lscpu(void **state)
{
	char *argv[] = { "lscpu", "-p=CPU,Core,Socket,Node", NULL };
	struct lines want = { .len = 0 }, got = { .len = 0 };
	struct hv_host_info hi;
	char err[256];
	int status;

	(void)state;
	if (access("/usr/bin/lscpu", X_OK) != 0 && access("/bin/lscpu", X_OK) != 0)
		skip();
	assert_int_equal(spawn_capture(argv, on_line, &want, NULL, err, sizeof err, 10000,
	    &status), 0);
	assert_int_equal(status, 0);
	assert_int_equal(qemu_host_read("", &hi), 0);
	for (size_t i = 0; i < hi.ncpu; i++)
		got.len += (size_t)snprintf(got.buf + got.len, sizeof got.buf - got.len,
		    "%d,%d,%d,%d\n", hi.cpu[i].cpu, hi.cpu[i].core, hi.cpu[i].socket,
		    hi.cpu[i].node);
	assert_string_equal(got.buf, want.buf);
	assert_int_equal((long)hi.ncpus, sysconf(_SC_NPROCESSORS_ONLN));
	assert_int_equal((long long)hi.nodes * hi.sockets * hi.cores * hi.threads, hi.ncpus);
	assert_true(hi.mem_total_kib > 0 && hi.mem_free_kib > 0 &&
	    hi.mem_free_kib <= hi.mem_total_kib);
	free(hi.cpu);
}

static void
test_ksm_write(void **state)
{
	char *root = unit_tmpdir(), path[PATH_MAX], buf[8] = "";
	FILE *fp;

	(void)state;
	assert_int_equal(qemu_host_ksm(root, true), -1);
	assert_non_null(strstr(err_get(), "cannot turn KSM on: this host's kernel has no KSM"));
	put(root, "/sys/kernel/mm/ksm/run", "0\n");
	assert_int_equal(qemu_host_ksm(root, true), 0);
	snprintf(path, sizeof path, "%s/sys/kernel/mm/ksm/run", root);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(buf, sizeof buf, fp));
	fclose(fp);
	assert_string_equal(buf, "1\n");
	assert_int_equal(qemu_host_ksm(root, false), 0);
	fp = fopen(path, "r");
	assert_non_null(fgets(buf, sizeof buf, fp));
	fclose(fp);
	assert_string_equal(buf, "0\n");
	unit_rmdir(root);
}

static void
tiny_vm(struct vm_config *c)
{
	vm_config_init(c);
	c->name = xstrdup("hp");
	c->memory_mib = 256;
	c->cores = 2;
}

static void
test_preflight(void **state)
{
	char *root = unit_tmpdir();
	struct vm_config c;

	(void)state;
	fake_numa_host(root);
	tiny_vm(&c);
	assert_int_equal(qemu_tune_preflight(root, &c), 0);

	/* 256 MiB of 2M pages: 128 needed, 100 free but 4 reserved. */
	c.tuning.hugepage_kib = 2048;
	assert_int_equal(qemu_tune_preflight(root, &c), -1);
	assert_string_equal(err_get(), "VM 'hp' needs 128 hugepages of 2M for its 256 MiB, but "
	    "only 96 are free (32 missing); reserve more as root with 'echo 192 > "
	    "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages'");
	put_pool(root, "hugepages-2048kB", "200\n", "132\n", "4\n");
	assert_int_equal(qemu_tune_preflight(root, &c), 0);

	/* A size the host does not offer. */
	c.tuning.hugepage_kib = 16 * 1024;
	assert_int_equal(qemu_tune_preflight(root, &c), -1);
	assert_string_equal(err_get(), "VM 'hp' wants its memory on 16M hugepages, but the host "
	    "offers no 16M hugepages; it has 2M and 1G: use one of those ('vmtty tune hp "
	    "--hugepages SIZE') or off");
	c.memory_mib = 2048;
	c.tuning.hugepage_kib = 1024 * 1024;
	assert_int_equal(qemu_tune_preflight(root, &c), 0);
	c.memory_mib = 4096;
	assert_int_equal(qemu_tune_preflight(root, &c), -1);
	assert_non_null(strstr(err_get(), "needs 4 hugepages of 1G for its 4096 MiB, but only 2 "
	    "are free (2 missing); reserve more as root with 'echo 4 > "
	    "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages'"));
	/* Memory that is not whole pages: tuning_validate's rule. */
	c.memory_mib = 1000;
	assert_int_equal(qemu_tune_preflight(root, &c), -1);
	assert_non_null(strstr(err_get(), "is not a whole number of 1G pages"));
	c.memory_mib = 256;
	c.tuning.hugepage_kib = 0;

	/* Pins on CPUs the host has (0-7), and one it has not. */
	c.tuning.vcpu_pins = xstrdup("all:0-7;1:6");
	c.tuning.emulator_pin = xstrdup("7");
	assert_int_equal(qemu_tune_preflight(root, &c), 0);
	free(c.tuning.vcpu_pins);
	c.tuning.vcpu_pins = xstrdup("0:1;1:6,9");
	assert_int_equal(qemu_tune_preflight(root, &c), -1);
	assert_string_equal(err_get(), "VM 'hp': vCPU 1 is pinned to host CPU 9, which this host "
	    "does not have online (it has CPUs 0-7); change the pin with 'vmtty tune hp --pin "
	    "1:CPUS'");
	free(c.tuning.vcpu_pins);
	c.tuning.vcpu_pins = NULL;
	free(c.tuning.emulator_pin);
	c.tuning.emulator_pin = xstrdup("8-9");
	assert_int_equal(qemu_tune_preflight(root, &c), -1);
	assert_non_null(strstr(err_get(), "its emulator is pinned to host CPU 8, which this host "
	    "does not have online"));
	vm_config_clear(&c);

	/* A host without hugepages at all. */
	unit_rmdir(root);
	root = unit_tmpdir();
	put(root, "/sys/devices/system/cpu/online", "0-1\n");
	tiny_vm(&c);
	c.tuning.hugepage_kib = 2048;
	assert_int_equal(qemu_tune_preflight(root, &c), -1);
	assert_non_null(strstr(err_get(), "this host offers no hugepages at all"));
	vm_config_clear(&c);
	unit_rmdir(root);
}

static void
test_stat_last_cpu(void **state)
{
	/* Field 39 is 3 here; the command name holds spaces and parentheses. */
	static const char plain[] = "1234 (qemu-system-x86) S 1 1233 1233 0 -1 4194624 "
	    "28345 0 0 0 812 349 0 0 20 0 7 0 4462 1378545664 61447 18446744073709551615 1 1 "
	    "0 0 0 0 0 4096 17635 0 0 0 17 3 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
	static const char tricky[] = "1240 (CPU 1/TCG) ) (x) R 1 1233 1233 0 -1 4194624 "
	    "0 0 0 0 812 349 0 0 20 0 7 0 4462 1378545664 61447 18446744073709551615 1 1 "
	    "0 0 0 0 0 4096 17635 0 0 0 17 12 0 0 0";

	(void)state;
	assert_int_equal(qemu_stat_last_cpu(plain), 3);
	assert_int_equal(qemu_stat_last_cpu(tricky), 12);
	assert_int_equal(qemu_stat_last_cpu("1 (init) S 0 1 1"), -1);
	assert_int_equal(qemu_stat_last_cpu("no parenthesis at all"), -1);
	assert_int_equal(qemu_stat_last_cpu(""), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numa_host),
		cmocka_unit_test(test_offline_cpu),
		cmocka_unit_test(test_this_host_like_lscpu),
		cmocka_unit_test(test_ksm_write),
		cmocka_unit_test(test_preflight),
		cmocka_unit_test(test_stat_last_cpu),
	};

	return cmocka_run_group_tests_name("qemu_host", tests, NULL, NULL);
}
