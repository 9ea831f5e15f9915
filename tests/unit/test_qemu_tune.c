/* The built-in backend's tune and tune_state ops on a real QEMU (TCG,
 * firmware only, no guest: about a second): pins applied by the start and
 * changed while it runs, as the kernel has them; the balloon; what a VM
 * that is off gets.  Skipped without qemu-system-x86_64 or a second CPU. */
#include "unit.h"

#include <dirent.h>
#include <sched.h>
#include <signal.h>

#include "hv/hv.h"
#include "hv/qemu.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/xalloc.h"

static bool
have_qemu(void)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, file[4096];
	bool found = false;

	if (path == NULL)
		return false;
	copy = xstrdup(path);
	for (dir = strtok_r(copy, ":", &save); dir != NULL && !found;
	    dir = strtok_r(NULL, ":", &save)) {
		snprintf(file, sizeof file, "%s/qemu-system-x86_64", dir);
		found = access(file, X_OK) == 0;
	}
	free(copy);
	return found;
}

static struct cpuset
affinity_of(int tid)
{
	struct cpuset set;
	cpu_set_t cs;

	cpuset_zero(&set);
	assert_int_equal(sched_getaffinity(tid, sizeof cs, &cs), 0);
	for (int i = 0; i < CPU_SETSIZE && i < CPUSET_MAX; i++)
		if (CPU_ISSET(i, &cs))
			cpuset_add(&set, i);
	return set;
}

static void
assert_set(const struct cpuset *set, const char *want)
{
	char buf[256];

	cpuset_format(set, buf, sizeof buf);
	assert_string_equal(buf, want);
}

/* Every thread of PID other than the vCPUs' (TS) may run on WANT only. */
static void
assert_emulator(int pid, const struct hv_tune_state *ts, const char *want)
{
	char path[64];
	struct dirent *de;
	int others = 0;
	DIR *d;

	snprintf(path, sizeof path, "/proc/%d/task", pid);
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL) {
		int tid = atoi(de->d_name);
		bool vcpu = false;
		struct cpuset set;

		if (tid <= 0)
			continue;
		for (size_t i = 0; i < ts->nvcpu; i++)
			vcpu |= ts->vcpu[i].tid == tid;
		if (vcpu)
			continue;
		set = affinity_of(tid);
		assert_set(&set, want);
		others++;
	}
	closedir(d);
	assert_true(others >= 1);
}

static char *run;	/* the runtime dir, for the teardown */

/* A qemu left by a failed assertion is killed. */
static int
teardown(void **state)
{
	char path[4096];
	FILE *fp;
	int pid = 0;

	(void)state;
	if (run == NULL)
		return 0;
	snprintf(path, sizeof path, "%s/7e57c0de/qemu.pid", run);
	if ((fp = fopen(path, "r")) != NULL) {
		if (fscanf(fp, "%d", &pid) == 1 && pid > 0)
			kill(pid, SIGKILL);
		fclose(fp);
	}
	unit_rmdir(run);
	run = NULL;
	return 0;
}

static void
test_tune_running(void **state)
{
	struct host h = { .name = "local", .uri = "vmtty:///local", .kind = HOST_BUILTIN };
	char note[256];
	struct hv_tune_state ts;
	struct hv_status st;
	struct vm_config c;
	struct cpuset online;
	struct hv *hv;

	(void)state;
	if (!have_qemu() || qemu_host_online("", &online) != 0 || !cpuset_has(&online, 0) ||
	    !cpuset_has(&online, 1))
		skip();
	run = unit_tmpdir();
	setenv("VMTTY_RUNTIME_DIR", run, 1);
	setenv("XDG_DATA_HOME", run, 1);
	assert_non_null(hv = hv_open(&h));
	vm_config_init(&c);
	c.name = xstrdup("tuned");
	snprintf(c.uuid, sizeof c.uuid, "7e57c0de-1234-4abc-8def-000000000001");
	free(c.accel);
	c.accel = xstrdup("tcg");
	free(c.graphics);
	c.graphics = xstrdup("none");
	c.sockets = 1;
	c.cores = 2;
	c.memory_mib = 128;
	c.tuning.vcpu_pins = xstrdup("0:1;1:0");
	c.tuning.emulator_pin = xstrdup("0");

	/* Off: tune waits for the next start, tune_state says it is off. */
	assert_int_equal(hv_tune(hv, &c, HV_TUNE_PINS | HV_TUNE_BALLOON), 0);
	assert_int_equal(hv_tune_state(hv, &c, &ts), -1);
	assert_string_equal(err_get(), "VM 'tuned' is not running (off); its vCPUs and memory "
	    "show while it runs");
	assert_null(ts.vcpu);

	/* The start pins: vCPU 0 on CPU 1, vCPU 1 on CPU 0, the rest on 0. */
	if (hv_start(hv, &c, note, sizeof note) != 0)
		fail_msg("start: %s", err_get());
	assert_int_equal(hv_status(hv, &c, &st), 0);
	assert_true(st.pid > 0);
	assert_int_equal(hv_tune_state(hv, &c, &ts), 0);
	assert_int_equal(ts.nvcpu, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_true(ts.vcpu[i].tid > 0 && ts.vcpu[i].tid != st.pid);
		assert_true(ts.vcpu[i].cpu == -1 || cpuset_has(&online, ts.vcpu[i].cpu));
	}
	assert_set(&ts.vcpu[0].affinity, "1");
	assert_set(&ts.vcpu[1].affinity, "0");
	assert_true(ts.emulator_known);
	assert_set(&ts.emulator, "0");
	assert_emulator(st.pid, &ts, "0");
	assert_int_equal(ts.max_kib, 128 * 1024);
	assert_int_equal(ts.balloon_kib, 128 * 1024);
	/* No guest, no balloon driver: nothing the guest would say. */
	assert_int_equal(ts.guest_total_kib, -1);
	assert_int_equal(ts.guest_free_kib, -1);
	assert_int_equal(ts.guest_available_kib, -1);
	hv_tune_state_clear(&ts);

	/* Pins changed while it runs: vCPU 1 unpinned runs anywhere, the
	 * emulator moves to CPU 1. */
	free(c.tuning.vcpu_pins);
	c.tuning.vcpu_pins = xstrdup("0:0");
	free(c.tuning.emulator_pin);
	c.tuning.emulator_pin = xstrdup("1");
	assert_int_equal(hv_tune(hv, &c, HV_TUNE_PINS), 0);
	assert_int_equal(hv_tune_state(hv, &c, &ts), 0);
	assert_set(&ts.vcpu[0].affinity, "0");
	assert_true(cpuset_equal(&ts.vcpu[1].affinity, &online));
	assert_set(&ts.emulator, "1");
	assert_emulator(st.pid, &ts, "1");
	hv_tune_state_clear(&ts);

	/* A pin on a CPU the host lacks moves nothing. */
	free(c.tuning.vcpu_pins);
	c.tuning.vcpu_pins = xstrdup("0:1;1:1023");
	assert_int_equal(hv_tune(hv, &c, HV_TUNE_PINS), -1);
	assert_non_null(strstr(err_get(), "VM 'tuned': vCPU 1 is pinned to host CPU 1023, which "
	    "this host does not have online"));
	assert_int_equal(hv_tune_state(hv, &c, &ts), 0);
	assert_set(&ts.vcpu[0].affinity, "0");
	hv_tune_state_clear(&ts);

	/* The balloon target: QEMU takes it (without a guest driver nothing
	 * moves; the integration test has the guest). */
	c.tuning.balloon_mib = 64;
	assert_int_equal(hv_tune(hv, &c, HV_TUNE_BALLOON), 0);

	assert_int_equal(hv_action(hv, &c, HV_POWEROFF), 0);
	assert_int_equal(hv_tune(hv, &c, HV_TUNE_PINS), 0);
	assert_int_equal(hv_tune_state(hv, &c, &ts), -1);
	vm_config_clear(&c);
	hv_close(hv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_tune_running, teardown),
	};

	return cmocka_run_group_tests_name("qemu_tune", tests, NULL, NULL);
}
