/* The libvirt backend against libvirt's test driver (in-process, no
 * daemon): lists compared with what virsh prints for the same URI,
 * lifecycle actions, define/undefine, events, and errors.  The test
 * driver keeps no state between connections, so each test does its
 * changes and its checks on one connection. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <poll.h>
#include <sys/wait.h>
#include <time.h>
#include <libvirt/libvirt.h>

#include "hv/hv.h"
#include "hv/libvirt.h"
#include "model/host.h"
#include "model/vm.h"
#include "util/cpuset.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

/* The project's own test-driver files: always there. */
#define OWNDATA "tests/data/libvirt"
/* Richer files next to the repository, when they are: tests that need
 * them are skipped (and counted as such) without them. */
#define TESTDATA "../shared/testdata/libvirt-test"

/* A domain as `virsh list --all` prints it. */
struct vdom {
	char name[128];
	enum hv_state state;
	int id;
};

static struct hv *
open_uri(const char *name, const char *uri)
{
	struct host h = { 0 };
	struct hv *hv;

	h.name = (char *)name;
	h.uri = (char *)uri;
	h.kind = HOST_LIBVIRT;
	hv = hv_open(&h);
	if (hv == NULL)
		fail_msg("cannot open '%s': %s", uri, err_get());
	return hv;
}

/* "shut off" -> HV_OFF, as virsh words libvirt's states. */
static enum hv_state
virsh_state(const char *s)
{
	if (strcmp(s, "running") == 0 || strcmp(s, "idle") == 0)
		return HV_RUNNING;
	if (strcmp(s, "paused") == 0 || strcmp(s, "pmsuspended") == 0)
		return HV_PAUSED;
	if (strcmp(s, "in shutdown") == 0)
		return HV_SHUTTING_DOWN;
	if (strcmp(s, "shut off") == 0)
		return HV_OFF;
	if (strcmp(s, "crashed") == 0)
		return HV_CRASHED;
	return HV_UNKNOWN;
}

/* Run `virsh -c URI list --all` (no shell) and parse its table into OUT;
 * *MS gets its run time.  Returns the number of domains. */
static size_t
virsh_list(const char *uri, struct vdom *out, size_t max, long long *ms)
{
	char buf[65536], *line, *save = NULL;
	long long t0 = log_now_ms();
	size_t len = 0, n = 0;
	int pfd[2], status, lineno = 0;
	ssize_t r;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		dup2(pfd[1], 1);
		dup2(devnull, 0);
		close(pfd[0]);
		close(pfd[1]);
		execlp("virsh", "virsh", "-q", "-c", uri, "list", "--all", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	while ((r = read(pfd[0], buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	*ms = log_now_ms() - t0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		print_message("virsh is not installed (libvirt-clients): skipped\n");
		skip();
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("virsh -c %s list --all failed (status %d): %s", uri, status, buf);
	/* -q: no header; " 1    test   running" or " -    x   shut off". */
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char id[32], state[64];

		lineno++;
		if (line[strspn(line, " ")] == '\0')
			continue;
		assert_true(n < max);
		if (sscanf(line, " %31s %127s %63[^\n]", id, out[n].name, state) != 3)
			fail_msg("cannot parse virsh line %d: '%s'", lineno, line);
		for (size_t k = strlen(state); k > 0 && state[k - 1] == ' '; k--)
			state[k - 1] = '\0';
		out[n].state = virsh_state(state);
		if (out[n].state == HV_UNKNOWN)
			fail_msg("virsh state '%s' is not known to the test", state);
		out[n].id = strcmp(id, "-") == 0 ? -1 : atoi(id);
		n++;
	}
	return n;
}

static long long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const struct hv_domain *
find_dom(const struct hv_domain *d, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(d[i].name, name) == 0)
			return &d[i];
	return NULL;
}

/* Our list of URI equals virsh's: same names, states and ids. */
static void
compare_with_virsh(const char *uri, size_t want_n)
{
	struct vdom v[64];
	struct hv_domain *d;
	long long t0, t1, t2, vms;
	size_t n, nv;
	struct hv *hv;

	t0 = now_us();
	hv = open_uri("t", uri);
	t1 = now_us();
	assert_int_equal(hv_list(hv, &d, &n), 0);
	t2 = now_us();
	nv = virsh_list(uri, v, 64, &vms);
	print_message("%s: %zu domains, open %lld us, list %lld us; virsh list --all %lld ms\n",
	    uri, n, t1 - t0, t2 - t1, vms);
	assert_int_equal(nv, want_n);
	assert_int_equal(n, nv);
	for (size_t i = 0; i < nv; i++) {
		const struct hv_domain *x = find_dom(d, n, v[i].name);

		if (x == NULL)
			fail_msg("'%s' is in virsh's list, not in ours", v[i].name);
		if (x->state != v[i].state)
			fail_msg("'%s' is %s for virsh, %s for us", v[i].name,
			    hv_state_name(v[i].state), hv_state_name(x->state));
		assert_int_equal(x->id, v[i].id);
		assert_true(uuid_valid(x->uuid));
		assert_true(x->vcpus > 0);
		assert_true(x->max_memory_mib > 0);
		assert_true(x->memory_mib > 0 && x->memory_mib <= x->max_memory_mib);
	}
	hv_domains_free(d, n);
	hv_close(hv);
}

static void
test_default_list(void **state)
{
	struct hv_domain *d;
	struct hv *hv;
	size_t n;

	(void)state;
	compare_with_virsh("test:///default", 1);
	hv = open_uri("t", "test:///default");
	assert_int_equal(hv_list(hv, &d, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(d[0].name, "test");
	assert_int_equal(d[0].state, HV_RUNNING);
	assert_int_equal(d[0].id, 1);
	assert_int_equal(d[0].vcpus, 2);
	assert_int_equal(d[0].max_memory_mib, 8192);
	assert_int_equal(d[0].memory_mib, 2048);
	assert_true(d[0].persistent);
	assert_false(d[0].autostart);
	hv_domains_free(d, n);
	hv_close(hv);
}

static char self_path[PATH_MAX];

/* test:///ABS/PATH for DIR/FILE, DIR relative to the repository root
 * (where tests/run runs us, or from build/tests/); NULL when absent. */
static char *
data_uri(const char *dir, const char *file)
{
	char path[PATH_MAX], real[PATH_MAX];

	snprintf(path, sizeof path, "%s/%s", dir, file);
	if (realpath(path, real) == NULL) {
		char *slash = strrchr(self_path, '/');

		snprintf(path, sizeof path, "%.*s/../../%s/%s",
		    slash != NULL ? (int)(slash - self_path) : 1,
		    slash != NULL ? self_path : ".", dir, file);
		if (realpath(path, real) == NULL)
			return NULL;
	}
	return xasprintf("test://%s", real);
}

/* A file of ../shared, next to the repository; NULL (skip) when absent. */
static char *
testdata_uri(const char *file)
{
	return data_uri(TESTDATA, file);
}

/* A file of the project's own, under tests/data/libvirt: must be there. */
static char *
owndata_uri(const char *file)
{
	char *uri = data_uri(OWNDATA, file);

	if (uri == NULL)
		fail_msg("'%s/%s' is missing from the repository", OWNDATA, file);
	return uri;
}

/* The project's lab: every state virsh shows, transient domains and
 * domains without a <uuid>, listed as virsh lists them. */
static void
test_lab_list(void **state)
{
	char *uri = owndata_uri("lab.xml");
	const struct hv_domain *x;
	struct hv_domain *d;
	struct hv *hv;
	size_t n;

	(void)state;
	compare_with_virsh(uri, 10);
	hv = open_uri("lab", uri);
	assert_int_equal(hv_list(hv, &d, &n), 0);
	x = find_dom(d, n, "web");
	assert_non_null(x);
	assert_int_equal(x->state, HV_RUNNING);
	assert_string_equal(x->uuid, "6c0f3a52-9d1e-4b7a-8f26-0d5e7c1a2b01");
	assert_int_equal(x->vcpus, 2);
	assert_int_equal(x->max_memory_mib, 1024);
	assert_int_equal(x->memory_mib, 512);
	assert_true(x->persistent);
	assert_int_equal(find_dom(d, n, "db")->state, HV_PAUSED);
	assert_int_equal(find_dom(d, n, "closing")->state, HV_SHUTTING_DOWN);
	assert_int_equal(find_dom(d, n, "spare")->state, HV_OFF);
	assert_true(find_dom(d, n, "spare")->persistent);
	assert_false(find_dom(d, n, "ephemeral-paused")->persistent);
	assert_int_equal(find_dom(d, n, "ephemeral-paused")->state, HV_PAUSED);
	hv_domains_free(d, n);
	hv_close(hv);
	free(uri);
}

static void
test_files_list(void **state)
{
	static const struct {
		const char *file;
		size_t n;
	} files[] = { { "testsuite.xml", 6 }, { "testdriver-lv9.xml", 13 } };

	(void)state;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char *uri = testdata_uri(files[i].file);

		if (uri == NULL) {
			print_message("'%s/%s' is absent: skipped\n", TESTDATA, files[i].file);
			skip();
		}
		compare_with_virsh(uri, files[i].n);
		free(uri);
	}
}

/* Names of domains in a test-driver file, one per case checked. */
struct flag_doms {
	const char *transient, *shutoff, *crashed, *pmsuspended;
};

/* Transient and autostart come from the filtered lists. */
static void
check_flags(const char *uri, const struct flag_doms *f)
{
	struct hv_domain *d;
	const struct hv_domain *x;
	struct vm_config c = { 0 };
	struct hv *hv;
	size_t n;

	hv = open_uri("flags", uri);
	assert_int_equal(hv_list(hv, &d, &n), 0);
	x = find_dom(d, n, f->transient);
	assert_non_null(x);
	assert_false(x->persistent);
	x = find_dom(d, n, f->shutoff);
	assert_non_null(x);
	assert_true(x->persistent);
	assert_false(x->autostart);
	assert_int_equal(x->id, -1);
	snprintf(c.uuid, sizeof c.uuid, "%s", x->uuid);
	c.name = (char *)f->shutoff;
	hv_domains_free(d, n);
	assert_int_equal(hv_set_autostart(hv, &c, true), 0);
	assert_int_equal(hv_list(hv, &d, &n), 0);
	assert_true(find_dom(d, n, f->shutoff)->autostart);
	assert_false(find_dom(d, n, f->crashed)->autostart);
	assert_int_equal(find_dom(d, n, f->crashed)->state, HV_CRASHED);
	assert_int_equal(find_dom(d, n, f->pmsuspended)->state, HV_PAUSED);
	hv_domains_free(d, n);
	assert_int_equal(hv_set_autostart(hv, &c, false), 0);
	assert_int_equal(hv_list(hv, &d, &n), 0);
	assert_false(find_dom(d, n, f->shutoff)->autostart);
	hv_domains_free(d, n);
	hv_close(hv);
}

static void
test_flags_in_list(void **state)
{
	static const struct flag_doms lab = { "ephemeral", "build", "flaky", "sleeper" };
	char *uri = owndata_uri("lab.xml");

	(void)state;
	check_flags(uri, &lab);
	free(uri);
}

static void
test_flags_in_lv9(void **state)
{
	static const struct flag_doms lv9 = { "test-state-transient", "test-state-shutoff",
		"test-state-crashed", "test-state-pmsuspended" };
	char *uri = testdata_uri("testdriver-lv9.xml");

	(void)state;
	if (uri == NULL) {
		print_message("'%s/testdriver-lv9.xml' is absent: skipped\n", TESTDATA);
		skip();
	}
	check_flags(uri, &lv9);
	free(uri);
}

/* NAME's state in a fresh list; -1 when it is not there. */
static int
state_in_list(struct hv *hv, const char *name)
{
	struct hv_domain *d;
	const struct hv_domain *x;
	size_t n;
	int s;

	assert_int_equal(hv_list(hv, &d, &n), 0);
	x = find_dom(d, n, name);
	s = x != NULL ? (int)x->state : -1;
	hv_domains_free(d, n);
	return s;
}

static void
make_vm(struct vm_config *c, const char *name, const char *uuid)
{
	vm_config_init(c);
	c->name = xstrdup(name);
	snprintf(c->uuid, sizeof c->uuid, "%s", uuid);
	c->memory_mib = 256;
	c->kernel = xstrdup("/guest/vmlinuz");
	c->cmdline = xstrdup("console=ttyS0");
	vm_config_add_disk(c, "/img/root.qcow2");
	vm_config_add_nic(c, "network")->source = xstrdup("default");
}

#define EXPECT_ERR(call, text) do {						\
	assert_int_equal((call), -1);						\
	if (strstr(err_get(), (text)) == NULL)					\
		fail_msg("error '%s' lacks '%s'", err_get(), (text));		\
} while (0)

/* Define, start, pause, resume, shutdown, poweroff, reboot, reset,
 * undefine: each seen in a later list on the same connection. */
static void
test_lifecycle(void **state)
{
	struct vm_config c;
	struct hv_status st;
	struct hv *hv;
	char note[256];

	(void)state;
	hv = open_uri("lab", "test:///default");
	make_vm(&c, "vmtty-life", "11111111-2222-4333-8444-555555555555");
	assert_int_equal(state_in_list(hv, c.name), -1);
	EXPECT_ERR(hv_status(hv, &c, &st), "VM 'vmtty-life' is not defined on host 'lab'");
	assert_int_equal(hv_check(hv, &c), 0);
	assert_int_equal(hv_define(hv, &c), 0);
	assert_int_equal(state_in_list(hv, c.name), HV_OFF);
	assert_int_equal(hv_status(hv, &c, &st), 0);
	assert_int_equal(st.state, HV_OFF);
	EXPECT_ERR(hv_action(hv, &c, HV_SHUTDOWN), "VM 'vmtty-life' is not running (off)");

	assert_int_equal(hv_start(hv, &c, note, sizeof note), 0);
	assert_string_equal(note, "");
	assert_int_equal(state_in_list(hv, c.name), HV_RUNNING);
	assert_int_equal(hv_status(hv, &c, &st), 0);
	assert_int_equal(st.state, HV_RUNNING);
	assert_string_equal(st.detail, "booted");
	EXPECT_ERR(hv_start(hv, &c, note, sizeof note), "VM 'vmtty-life' is already running");
	EXPECT_ERR(hv_undefine(hv, &c), "stop it before deleting it");
	EXPECT_ERR(hv_action(hv, &c, HV_RESUME), "VM 'vmtty-life' is not paused");

	assert_int_equal(hv_action(hv, &c, HV_PAUSE), 0);
	assert_int_equal(state_in_list(hv, c.name), HV_PAUSED);
	assert_int_equal(hv_status(hv, &c, &st), 0);
	assert_string_equal(st.detail, "paused by the user");
	EXPECT_ERR(hv_action(hv, &c, HV_PAUSE), "VM 'vmtty-life' is already paused");
	assert_int_equal(hv_action(hv, &c, HV_RESUME), 0);
	assert_int_equal(state_in_list(hv, c.name), HV_RUNNING);

	assert_int_equal(hv_action(hv, &c, HV_REBOOT), 0);
	assert_int_equal(state_in_list(hv, c.name), HV_RUNNING);
	assert_int_equal(hv_action(hv, &c, HV_RESET), 0);
	assert_int_equal(state_in_list(hv, c.name), HV_RUNNING);

	assert_int_equal(hv_action(hv, &c, HV_SHUTDOWN), 0);
	assert_int_equal(state_in_list(hv, c.name), HV_OFF);
	assert_int_equal(hv_status(hv, &c, &st), 0);
	assert_string_equal(st.detail, "shut down");

	assert_int_equal(hv_start(hv, &c, note, sizeof note), 0);
	assert_int_equal(hv_action(hv, &c, HV_POWEROFF), 0);
	assert_int_equal(state_in_list(hv, c.name), HV_OFF);
	assert_int_equal(hv_status(hv, &c, &st), 0);
	assert_string_equal(st.detail, "powered off");

	assert_int_equal(hv_undefine(hv, &c), 0);
	assert_int_equal(state_in_list(hv, c.name), -1);
	/* Undefining what is gone is not an error: nothing left to forget. */
	assert_int_equal(hv_undefine(hv, &c), 0);
	EXPECT_ERR(hv_start(hv, &c, note, sizeof note),
	    "VM 'vmtty-life' is not defined on host 'lab'");
	vm_config_clear(&c);
	hv_close(hv);
}

/* A define with the same UUID updates the domain, also under a new name. */
static void
test_redefine_rename(void **state)
{
	struct hv_domain *d;
	struct vm_config c;
	struct hv *hv;
	char *xml;
	size_t n;

	(void)state;
	hv = open_uri("lab", "test:///default");
	make_vm(&c, "vmtty-old", "21111111-2222-4333-8444-555555555555");
	assert_int_equal(hv_define(hv, &c), 0);
	c.memory_mib = 384;
	free(c.name);
	c.name = xstrdup("vmtty-new");
	assert_int_equal(hv_define(hv, &c), 0);
	assert_int_equal(hv_list(hv, &d, &n), 0);
	assert_null(find_dom(d, n, "vmtty-old"));
	assert_non_null(find_dom(d, n, "vmtty-new"));
	assert_int_equal(find_dom(d, n, "vmtty-new")->max_memory_mib, 384);
	assert_string_equal(find_dom(d, n, "vmtty-new")->uuid, c.uuid);
	hv_domains_free(d, n);
	/* describe: libvirt's own XML once defined. */
	assert_int_equal(hv_describe(hv, &c, &xml), 0);
	assert_non_null(strstr(xml, "<name>vmtty-new</name>"));
	assert_non_null(strstr(xml, "<memory unit='KiB'>393216</memory>"));
	free(xml);
	assert_int_equal(hv_undefine(hv, &c), 0);
	/* ... and what vmtty would define when it is not: the test driver
	 * offers no KVM, so auto becomes 'qemu'. */
	assert_int_equal(hv_describe(hv, &c, &xml), 0);
	assert_non_null(strstr(xml, "<domain type='qemu'>"));
	assert_non_null(strstr(xml, "<memory unit='MiB'>384</memory>"));
	free(xml);
	vm_config_clear(&c);
	hv_close(hv);
}

static void
test_errors(void **state)
{
	struct vm_config c;
	struct hv_status st;
	struct hv *hv;
	int fd = -1;

	(void)state;
	hv = open_uri("lab", "test:///default");
	/* On the test driver the name is the identity (its file's domains
	 * without <uuid> get a new one per connection), so another UUID still
	 * finds 'test'.  A real daemon refuses that: see
	 * tests/integration/test_libvirt.sh. */
	make_vm(&c, "test", "31111111-2222-4333-8444-555555555555");
	assert_int_equal(hv_status(hv, &c, &st), 0);
	assert_int_equal(st.state, HV_RUNNING);
	/* Without a UUID the name finds it. */
	c.uuid[0] = '\0';
	assert_int_equal(hv_status(hv, &c, &st), 0);
	assert_int_equal(st.state, HV_RUNNING);
	/* An unknown name is said so. */
	free(c.name);
	c.name = xstrdup("nosuchvm");
	EXPECT_ERR(hv_action(hv, &c, HV_POWEROFF), "VM 'nosuchvm' is not defined on host 'lab'");
	free(c.name);
	c.name = xstrdup("test");
	/* The test driver has no console. */
	EXPECT_ERR(hv_console_open(hv, &c, false, &fd),
	    "host 'lab': cannot open the console of VM 'test': ");
	assert_int_equal(fd, -1);
	EXPECT_ERR(hv_serial_log(hv, &c, (char[64]){ 0 }, 64), "not supported by the libvirt");
	vm_config_clear(&c);

	/* check: a named network must exist on the host; NVMe cannot be said. */
	make_vm(&c, "vmtty-check", "41111111-2222-4333-8444-555555555555");
	assert_int_equal(hv_check(hv, &c), 0);
	free(c.nics[0].source);
	c.nics[0].source = xstrdup("nosuchnet");
	EXPECT_ERR(hv_check(hv, &c), "there is no network 'nosuchnet' on host 'lab'");
	free(c.nics[0].source);
	c.nics[0].source = xstrdup("default");
	free(c.disks[0].bus);
	c.disks[0].bus = xstrdup("nvme");
	EXPECT_ERR(hv_check(hv, &c), "is on an nvme bus");
	EXPECT_ERR(hv_define(hv, &c), "is on an nvme bus");
	vm_config_clear(&c);
	hv_close(hv);
}

/* Events arrive on libvirt's event thread; the test waits on a condition. */
struct evq {
	pthread_mutex_t m;
	pthread_cond_t cv;
	struct hv_event ev[256];
	size_t n;
};

static void
on_event(const struct hv_event *ev, void *arg)
{
	struct evq *q = arg;

	pthread_mutex_lock(&q->m);
	if (q->n < sizeof q->ev / sizeof q->ev[0])
		q->ev[q->n++] = *ev;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->m);
}

/* Wait up to MS for an event KIND for UUID (and STATE for HV_EV_STATE). */
static bool
wait_event(struct evq *q, enum hv_event_kind kind, const char *uuid, enum hv_state want,
    long ms, char *reason, size_t len)
{
	struct timespec ts;
	bool found = false;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&q->m);
	for (;;) {
		for (size_t i = 0; i < q->n && !found; i++) {
			if (q->ev[i].kind == kind && strcmp(q->ev[i].uuid, uuid) == 0 &&
			    (kind != HV_EV_STATE || q->ev[i].state == want)) {
				found = true;
				if (reason != NULL)
					snprintf(reason, len, "%s", q->ev[i].reason);
				/* Consumed: later waits look for later events. */
				memmove(&q->ev[i], &q->ev[i + 1], (q->n - i - 1) * sizeof q->ev[0]);
				q->n--;
			}
		}
		if (found || pthread_cond_timedwait(&q->cv, &q->m, &ts) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&q->m);
	return found;
}

static void
test_watch(void **state)
{
	struct evq q = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, { { 0 } }, 0 };
	struct hv_status st;
	struct vm_config c;
	struct hv *hv;
	char note[256], reason[256];

	(void)state;
	hv = open_uri("lab", "test:///default");
	make_vm(&c, "vmtty-watch", "51111111-2222-4333-8444-555555555555");
	assert_int_equal(hv_watch(hv, on_event, &q, NULL), 0);
	/* Nothing seen yet: a peek does not ask the host. */
	EXPECT_ERR(hv_peek(hv, &c, &st), "is not known yet");
	assert_int_equal(hv_define(hv, &c), 0);
	assert_true(wait_event(&q, HV_EV_DEFINED, c.uuid, 0, 5000, NULL, 0));
	assert_int_equal(hv_start(hv, &c, note, sizeof note), 0);
	assert_true(wait_event(&q, HV_EV_STATE, c.uuid, HV_RUNNING, 5000, reason, sizeof reason));
	assert_string_equal(reason, "booted");
	assert_int_equal(hv_action(hv, &c, HV_PAUSE), 0);
	assert_true(wait_event(&q, HV_EV_STATE, c.uuid, HV_PAUSED, 5000, NULL, 0));
	/* The event updated what peek knows. */
	assert_int_equal(hv_peek(hv, &c, &st), 0);
	assert_int_equal(st.state, HV_PAUSED);
	assert_int_equal(hv_action(hv, &c, HV_RESUME), 0);
	assert_true(wait_event(&q, HV_EV_STATE, c.uuid, HV_RUNNING, 5000, reason, sizeof reason));
	assert_string_equal(reason, "resumed");
	assert_int_equal(hv_action(hv, &c, HV_POWEROFF), 0);
	assert_true(wait_event(&q, HV_EV_STATE, c.uuid, HV_OFF, 5000, reason, sizeof reason));
	assert_string_equal(reason, "powered off");
	assert_int_equal(hv_peek(hv, &c, &st), 0);
	assert_int_equal(st.state, HV_OFF);
	assert_int_equal(hv_undefine(hv, &c), 0);
	assert_true(wait_event(&q, HV_EV_UNDEFINED, c.uuid, 0, 5000, NULL, 0));
	EXPECT_ERR(hv_peek(hv, &c, &st), "is not known yet");
	hv_close(hv);
	/* After close the callback is never called again. */
	pthread_mutex_lock(&q.m);
	q.n = 0;
	pthread_mutex_unlock(&q.m);
	hv = open_uri("lab", "test:///default");
	assert_int_equal(hv_define(hv, &c), 0);
	assert_int_equal(hv_undefine(hv, &c), 0);
	assert_false(wait_event(&q, HV_EV_DEFINED, c.uuid, 0, 300, NULL, 0));
	hv_close(hv);
	vm_config_clear(&c);
}

static int watch_freed;

static void
count_free(void *arg)
{
	assert_ptr_equal(arg, &watch_freed);
	watch_freed++;
}

/* hv_watch's argument is freed by hv_close, after the backend let go of
 * it (a front end's state may outlive it so), once; a second watch frees
 * the first argument. */
static void
test_watch_free(void **state)
{
	struct evq q = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, { { 0 } }, 0 };
	struct hv *hv;

	(void)state;
	watch_freed = 0;
	hv = open_uri("lab", "test:///default");
	assert_int_equal(hv_watch(hv, on_event, &watch_freed, count_free), 0);
	assert_int_equal(watch_freed, 0);
	assert_int_equal(hv_watch(hv, on_event, &q, NULL), 0);
	assert_int_equal(watch_freed, 1);
	assert_int_equal(hv_watch(hv, on_event, &watch_freed, count_free), 0);
	hv_close(hv);
	assert_int_equal(watch_freed, 2);
}

static void
test_bogus_uri(void **state)
{
	struct host h = { 0 };
	long long t0 = log_now_ms();
	struct hv *hv;

	(void)state;
	h.name = (char *)"bogus";
	h.uri = (char *)"qemu+tcp://127.0.0.1:1/system";
	h.kind = HOST_LIBVIRT;
	hv = hv_open(&h);
	assert_null(hv);
	assert_true(log_now_ms() - t0 < 5000);
	if (strstr(err_get(), "host 'bogus': cannot connect to 'qemu+tcp://127.0.0.1:1/system': ")
	    == NULL)
		fail_msg("unexpected error: %s", err_get());
	print_message("%s\n", err_get());
}

/* 1,000 domains (half running) in a test driver file: one list, timed
 * against virsh. */
static void
test_thousand(void **state)
{
	char *dir = unit_tmpdir(), path[PATH_MAX], *uri;
	struct hv_domain *d;
	struct vdom *v;
	long long t0, t1, t2, vms;
	size_t n, nv, running = 0;
	struct hv *hv;
	FILE *fp;

	(void)state;
	snprintf(path, sizeof path, "%s/thousand.xml", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "<node>\n");
	for (int i = 0; i < 1000; i++)
		fprintf(fp, "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/"
		    "test/1.0'><name>d%04d</name><memory>%d</memory><vcpu>%d</vcpu>"
		    "<os><type>hvm</type></os>%s</domain>\n", i, 262144 + 1024 * i, 1 + i % 4,
		    i % 2 ? "<test:runstate>5</test:runstate>" : "");
	fprintf(fp, "</node>\n");
	fclose(fp);
	uri = xasprintf("test://%s", path);
	t0 = log_now_ms();
	hv = open_uri("k", uri);
	t1 = log_now_ms();
	assert_int_equal(hv_list(hv, &d, &n), 0);
	t2 = log_now_ms();
	v = xcalloc(1100, sizeof *v);
	nv = virsh_list(uri, v, 1100, &vms);
	print_message("1000 domains: open %lld ms, list %lld ms; virsh list --all %lld ms\n",
	    t1 - t0, t2 - t1, vms);
	assert_int_equal(n, 1000);
	assert_int_equal(nv, 1000);
	for (size_t i = 0; i < n; i++) {
		const struct hv_domain *x = find_dom(d, n, v[i].name);

		assert_non_null(x);
		assert_int_equal(x->state, v[i].state);
		running += x->state == HV_RUNNING;
	}
	assert_int_equal(running, 500);
	assert_int_equal(find_dom(d, n, "d0003")->vcpus, 4);
	assert_int_equal(find_dom(d, n, "d0003")->max_memory_mib, 256 + 3);
	/* Generous: the test driver answers in-process (ASan is slower). */
	assert_true(t2 - t1 < 2000);
	hv_domains_free(d, n);
	hv_close(hv);
	free(v);
	free(uri);
	unit_rmdir(dir);
}

/*
 * Authentication asks on /dev/tty.  The test driver asks for a user and
 * a password when its file has <auth>.  The asking runs in a child (this
 * program again, "--auth-child URI") in a session of its own: without a
 * terminal, or with a pty whose master the test types into.
 */
static int
auth_child(const char *uri)
{
	struct host h = { 0 };
	struct hv_domain *d;
	struct hv *hv;
	size_t n;

	h.name = (char *)"auth";
	h.uri = (char *)uri;
	h.kind = HOST_LIBVIRT;
	if ((hv = hv_open(&h)) == NULL) {
		printf("FAILED %s\n", err_get());
		return 1;
	}
	if (hv_list(hv, &d, &n) != 0 || n != 1) {
		printf("FAILED list\n");
		return 1;
	}
	printf("OPENED %s\n", d[0].name);
	hv_domains_free(d, n);
	hv_close(hv);
	return 0;
}

/* Run the child with PTY (a slave path, or NULL: no terminal) as its
 * terminal; ANSWERS go to the pty after each prompt.  Returns the child's
 * stdout; *SEEN what the pty showed. */
static char *
run_auth_child(const char *uri, int master, const char *slave, const char *const *answers,
    char *seen, size_t seenlen)
{
	static char out[4096];
	size_t olen = 0, slen = 0, asked = 0;
	long long deadline = log_now_ms() + 10000;
	int pfd[2], status;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		setsid();
		if (slave != NULL)
			close(open(slave, O_RDWR));	/* becomes the controlling tty */
		dup2(devnull, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		execl(self_path, self_path, "--auth-child", uri, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	seen[0] = '\0';
	for (;;) {
		struct pollfd p[2] = { { pfd[0], POLLIN, 0 }, { master, POLLIN, 0 } };
		ssize_t r;

		if (log_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			close(pfd[0]);
			fail_msg("the auth child hangs; the pty shows: %s", seen);
		}
		if (poll(p, master >= 0 ? 2 : 1, 100) <= 0)
			continue;
		if (master >= 0 && (p[1].revents & POLLIN) &&
		    (r = read(master, seen + slen, seenlen - 1 - slen)) > 0) {
			slen += (size_t)r;
			seen[slen] = '\0';
			/* Each prompt ends in ": " after "host 'auth' (URI): ". */
			while (answers[asked] != NULL && slen >= 2 && strcmp(seen + slen - 2, ": ") == 0 &&
			    strstr(seen, "host 'auth' (") != NULL) {
				size_t prompts = 0;

				for (const char *q = seen; (q = strstr(q, "host 'auth' (")) != NULL; q++)
					prompts++;
				if (prompts <= asked)
					break;
				assert_true(write(master, answers[asked], strlen(answers[asked])) > 0);
				asked++;
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP)) {
			r = read(pfd[0], out + olen, sizeof out - 1 - olen);
			if (r <= 0)
				break;
			olen += (size_t)r;
		}
	}
	out[olen] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return out;
}

/* An asker as the TUI sets one: answers from a script, records what it
 * was asked. */
struct script {
	const char *answers[4];
	int asked;
	char seen[1024];
};

static char *
scripted_asker(const struct hv_question *q, void *arg)
{
	struct script *s = arg;
	size_t len = strlen(s->seen);
	const char *a = s->answers[s->asked];

	snprintf(s->seen + len, sizeof s->seen - len, "[%s|%s|%s|%s]", q->host, q->uri,
	    q->prompt, q->echo ? "echo" : "secret");
	s->asked++;
	if (a == NULL) {
		err_set("you cancelled the login");
		return NULL;
	}
	return xstrdup(a);
}

static void
test_auth(void **state)
{
	static const char *const none[] = { NULL };
	static const char *const good[] = { "alice\n", "s3cret\n", NULL };
	char *dir = unit_tmpdir(), path[PATH_MAX], *uri, *out, seen[4096];
	int master;
	FILE *fp;

	(void)state;
	snprintf(path, sizeof path, "%s/auth.xml", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "<node><auth><user password='s3cret'>alice</user></auth>"
	    "<domain type='test'><name>locked</name><memory>262144</memory><vcpu>1</vcpu>"
	    "<os><type>hvm</type></os></domain></node>\n");
	fclose(fp);
	uri = xasprintf("test://%s", path);

	/* No terminal: a clear refusal, never a read from stdin. */
	out = run_auth_child(uri, -1, NULL, none, seen, sizeof seen);
	if (strstr(out, "FAILED host 'auth': cannot connect to 'test://") == NULL ||
	    strstr(out, "there is no terminal to ask on") == NULL || strstr(out, "Sanitizer") != NULL)
		fail_msg("unexpected: %s", out);

	/* A terminal: the user name is echoed, the password is not. */
	master = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	out = run_auth_child(uri, master, ptsname(master), good, seen, sizeof seen);
	if (strstr(out, "OPENED locked") == NULL || strstr(out, "Sanitizer") != NULL)
		fail_msg("authentication failed: %s; the pty showed: %s", out, seen);
	assert_non_null(strstr(seen, "alice"));
	assert_null(strstr(seen, "s3cret"));
	close(master);

	/* An asker of its own (the TUI's): the questions go there, with the
	 * host, the URI and whether the answer is a secret. */
	{
		struct script good_s = { { "alice", "s3cret", NULL }, 0, "" };
		struct script cancel_s = { { NULL }, 0, "" };
		struct host h = { 0 };
		struct hv *hv;
		char want[2048];

		h.name = (char *)"auth";
		h.uri = uri;
		h.kind = HOST_LIBVIRT;
		assert_true(hv_asks_on_terminal());
		hv_set_asker(scripted_asker, &good_s);
		assert_false(hv_asks_on_terminal());
		hv = hv_open(&h);
		if (hv == NULL)
			fail_msg("cannot open with the asker: %s", err_get());
		hv_close(hv);
		assert_int_equal(good_s.asked, 2);
		snprintf(want, sizeof want, "[auth|%s|Enter username for localhost|echo]"
		    "[auth|%s|Enter alice's password for localhost|secret]", uri, uri);
		assert_string_equal(good_s.seen, want);
		assert_int_equal(hv_asking(), 0);
		/* Declined: the connect fails with the asker's reason. */
		hv_set_asker(scripted_asker, &cancel_s);
		assert_null(hv_open(&h));
		assert_non_null(strstr(err_get(), "host 'auth': cannot connect to 'test://"));
		assert_non_null(strstr(err_get(), "you cancelled the login"));
		assert_int_equal(cancel_s.asked, 1);
		hv_set_asker(NULL, NULL);
	}
	free(uri);
	unit_rmdir(dir);
}

/* ---- resource tuning ---------------------------------------------------- */

#define EXPECT_OK(call) do {							\
	if ((call) != 0)							\
		fail_msg("%s failed: %s", #call, err_get());			\
} while (0)

/* The output of `virsh -q -c URI ARGS...` (no shell) into BUF. */
static void
virsh_run(const char *uri, const char *const *args, char *buf, size_t size)
{
	const char *argv[16] = { "virsh", "-q", "-c", uri };
	size_t len = 0, na = 4;
	int pfd[2], status;
	ssize_t r;
	pid_t pid;

	for (; *args != NULL && na < 15; args++)
		argv[na++] = *args;
	argv[na] = NULL;
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		dup2(pfd[1], 1);
		dup2(devnull, 0);
		close(pfd[0]);
		close(pfd[1]);
		execvp("virsh", (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	while ((r = read(pfd[0], buf + len, size - 1 - len)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		print_message("virsh is not installed (libvirt-clients): skipped\n");
		skip();
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("virsh -c %s %s failed (status %d): %s", uri, args[0], status, buf);
}

/* The number after LABEL ("CPU(s):") in virsh's nodeinfo table. */
static long long
nodeinfo_num(const char *out, const char *label)
{
	const char *p = strstr(out, label);

	if (p == NULL)
		fail_msg("virsh nodeinfo has no '%s': %s", label, out);
	return strtoll(p + strlen(label), NULL, 10);
}

/* The value of attribute NAME in the tag that starts at LINE; -1 none. */
static long long
attr_num(const char *line, const char *name)
{
	char key[64];
	const char *p, *end = strchr(line, '>');

	snprintf(key, sizeof key, " %s='", name);
	p = strstr(line, key);
	if (p == NULL || (end != NULL && p > end))
		return -1;
	return strtoll(p + strlen(key), NULL, 10);
}

/*
 * host_info of test:///default against what virsh says of the same URI:
 * nodeinfo (CPUs, MHz, sockets, cores, threads, cells, memory),
 * capabilities (arch, each CPU's socket, core and cell, the page sizes
 * and their counts, read here line by line, not through our XPath) and
 * freepages (free hugepages of every cell summed).
 */
static void
test_host_info(void **state)
{
	static char out[1 << 18];
	const char *uri = "test:///default";
	struct hv_host_info hi;
	struct hv_cpu cpus[64];
	int64_t sizes[16], totals[16];
	size_t ncpus = 0, nsizes = 0, smallest = 0;
	int node = -1;
	char *line, *save = NULL;
	struct hv *hv;

	(void)state;
	hv = open_uri("lab", uri);
	EXPECT_OK(hv_host_info(hv, &hi));
	virsh_run(uri, (const char *[]){ "nodeinfo", NULL }, out, sizeof out);
	assert_int_equal(hi.ncpus, nodeinfo_num(out, "CPU(s):"));
	assert_int_equal(hi.mhz, nodeinfo_num(out, "CPU frequency:"));
	assert_int_equal(hi.sockets, nodeinfo_num(out, "CPU socket(s):"));
	assert_int_equal(hi.cores, nodeinfo_num(out, "Core(s) per socket:"));
	assert_int_equal(hi.threads, nodeinfo_num(out, "Thread(s) per core:"));
	assert_int_equal(hi.nodes, nodeinfo_num(out, "NUMA cell(s):"));
	assert_int_equal(hi.mem_total_kib, nodeinfo_num(out, "Memory size:"));
	assert_false(hi.ksm_known);

	virsh_run(uri, (const char *[]){ "capabilities", NULL }, out, sizeof out);
	memset(totals, 0, sizeof totals);
	for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		long long size;

		line += strspn(line, " ");
		if (strncmp(line, "<arch>", 6) == 0 && node < 0 && nsizes == 0)
			assert_int_equal(strncmp(hi.arch, line + 6, strlen(hi.arch)), 0);
		else if (strncmp(line, "<cell id=", 9) == 0)
			node = (int)attr_num(line, "id");
		else if (strncmp(line, "<cpu id=", 8) == 0 && attr_num(line, "socket_id") >= 0) {
			assert_true(ncpus < 64);
			cpus[ncpus++] = (struct hv_cpu){ (int)attr_num(line, "id"),
			    (int)attr_num(line, "core_id"), (int)attr_num(line, "socket_id"), node };
		} else if (strncmp(line, "<pages ", 7) == 0 && strstr(line, "unit='KiB'") != NULL &&
		    (size = attr_num(line, "size")) > 0) {
			size_t k;

			for (k = 0; k < nsizes && sizes[k] != size; k++)
				;
			if (k == nsizes) {
				assert_true(nsizes < 16);
				sizes[nsizes++] = size;
			}
			if (node >= 0)
				totals[k] += strtoll(strchr(line, '>') + 1, NULL, 10);
		} else if (strncmp(line, "</topology>", 11) == 0) {
			break;
		}
	}
	assert_int_equal(hi.ncpu, ncpus);
	assert_true(ncpus > 0);
	for (size_t i = 0; i < ncpus; i++) {
		/* virsh lists them by cell; both are by number here. */
		assert_int_equal(hi.cpu[i].cpu, cpus[i].cpu);
		assert_int_equal(hi.cpu[i].core, cpus[i].core);
		assert_int_equal(hi.cpu[i].socket, cpus[i].socket);
		assert_int_equal(hi.cpu[i].node, cpus[i].node);
	}
	/* Every size but the smallest (the base page) is a pool. */
	for (size_t k = 1; k < nsizes; k++)
		if (sizes[k] < sizes[smallest])
			smallest = k;
	assert_int_equal(hi.npools, nsizes - 1);
	for (size_t k = 0; k < nsizes; k++) {
		const struct hv_hugepool *pool = NULL;

		for (size_t j = 0; j < hi.npools; j++)
			if (hi.pools[j].size_kib == sizes[k])
				pool = &hi.pools[j];
		if (k == smallest) {
			assert_null(pool);
			continue;
		}
		if (pool == NULL)
			fail_msg("no pool of %lld KiB", (long long)sizes[k]);
		assert_int_equal(pool->total, totals[k]);
		/* The test driver makes its free counts up from the order of
		 * the call's arguments: known, not comparable with virsh's
		 * (tests/integration/test_tune_libvirt.sh compares a real
		 * host's). */
		assert_true(pool->free >= 0);
		assert_int_equal(pool->reserved, -1);
		print_message("pool %lld KiB: %lld total, %lld free\n", (long long)pool->size_kib,
		    (long long)pool->total, (long long)pool->free);
	}
	for (size_t j = 1; j < hi.npools; j++)
		assert_true(hi.pools[j - 1].size_kib < hi.pools[j].size_kib);
	/* The test driver has no memory statistics: the free memory call. */
	virsh_run(uri, (const char *[]){ "freecell", NULL }, out, sizeof out);
	assert_int_equal(hi.mem_free_kib, nodeinfo_num(out, "Total:"));
	print_message("%s: %s '%s', %d CPUs, %d MHz, %d cells, %lld KiB (%lld free)\n", uri,
	    hi.arch, hi.model, hi.ncpus, hi.mhz, hi.nodes, (long long)hi.mem_total_kib,
	    (long long)hi.mem_free_kib);
	hv_host_info_clear(&hi);
	hv_close(hv);
}

/* The online CPUs of URI as `virsh nodecpumap` draws them ("y-y-y---"). */
static void
virsh_online(const char *uri, struct cpuset *set)
{
	static char out[4096];
	const char *p;

	virsh_run(uri, (const char *[]){ "nodecpumap", NULL }, out, sizeof out);
	assert_non_null(p = strstr(out, "CPU map:"));
	p += strlen("CPU map:");
	p += strspn(p, " ");
	cpuset_zero(set);
	for (int i = 0; p[i] == 'y' || p[i] == '-'; i++)
		if (p[i] == 'y')
			cpuset_add(set, i);
}

static void
expect_set(const struct cpuset *got, const char *want)
{
	struct cpuset w;
	char buf[256];

	assert_int_equal(cpuset_parse(want, &w), 0);
	if (!cpuset_equal(got, &w)) {
		cpuset_format(got, buf, sizeof buf);
		fail_msg("CPUs %s, want %s", buf, want);
	}
}

/* tune on the test driver's running domain 'test' (2 vCPUs, 8 GiB), seen
 * through tune_state and its live XML. */
static void
test_tune_running(void **state)
{
	struct hv_tune_state ts;
	struct cpuset online;
	struct vm_config c;
	struct hv *hv;
	char *xml;

	(void)state;
	hv = open_uri("lab", "test:///default");
	make_vm(&c, "test", "");
	c.cores = 2;
	c.memory_mib = 8192;
	c.tuning.vcpu_pins = xstrdup("0:1;1:2");
	c.tuning.emulator_pin = xstrdup("3");
	c.tuning.balloon_mib = 2000;
	EXPECT_OK(hv_tune(hv, &c, HV_TUNE_PINS | HV_TUNE_BALLOON));
	EXPECT_OK(hv_tune_state(hv, &c, &ts));
	assert_int_equal(ts.nvcpu, 2);
	expect_set(&ts.vcpu[0].affinity, "1");
	expect_set(&ts.vcpu[1].affinity, "2");
	for (size_t v = 0; v < ts.nvcpu; v++) {
		assert_true(cpuset_has(&ts.vcpu[v].affinity, ts.vcpu[v].cpu));
		assert_int_equal(ts.vcpu[v].tid, 0);
	}
	assert_true(ts.emulator_known);
	expect_set(&ts.emulator, "3");
	assert_int_equal(ts.balloon_kib, 2000 * 1024);
	assert_int_equal(ts.max_kib, 8192 * 1024);
	/* The test driver makes up the guest's statistics. */
	assert_true(ts.guest_total_kib > 0 && ts.guest_free_kib >= 0 &&
	    ts.guest_available_kib >= 0);
	hv_tune_state_clear(&ts);
	EXPECT_OK(hv_describe(hv, &c, &xml));
	assert_non_null(strstr(xml, "<vcpupin vcpu='0' cpuset='1'/>"));
	assert_non_null(strstr(xml, "<vcpupin vcpu='1' cpuset='2'/>"));
	assert_non_null(strstr(xml, "<emulatorpin cpuset='3'/>"));
	free(xml);

	/* No pins: each runs on every online CPU again; balloon 0: all of it. */
	free(c.tuning.vcpu_pins);
	c.tuning.vcpu_pins = xstrdup("1:4");
	free(c.tuning.emulator_pin);
	c.tuning.emulator_pin = NULL;
	c.tuning.balloon_mib = 0;
	EXPECT_OK(hv_tune(hv, &c, HV_TUNE_PINS));
	EXPECT_OK(hv_tune_state(hv, &c, &ts));
	virsh_online("test:///default", &online);
	assert_true(cpuset_count(&online) > 0);
	assert_true(cpuset_equal(&ts.vcpu[0].affinity, &online));
	expect_set(&ts.vcpu[1].affinity, "4");
	assert_true(cpuset_equal(&ts.emulator, &online));
	assert_int_equal(ts.balloon_kib, 2000 * 1024);	/* not asked to change */
	hv_tune_state_clear(&ts);
	EXPECT_OK(hv_tune(hv, &c, HV_TUNE_BALLOON));
	EXPECT_OK(hv_tune_state(hv, &c, &ts));
	assert_int_equal(ts.balloon_kib, ts.max_kib);
	hv_tune_state_clear(&ts);

	/* A CPU the host does not have, a vCPU the VM does not have, a VM
	 * that is not there: one sentence each, nothing changed. */
	free(c.tuning.vcpu_pins);
	c.tuning.vcpu_pins = xstrdup("0:2;1:9");
	EXPECT_ERR(hv_tune(hv, &c, HV_TUNE_PINS),
	    "VM 'test': vCPU 1 is pinned to host CPUs 9, but host 'lab' has CPUs 0-7 only");
	free(c.tuning.vcpu_pins);
	c.tuning.vcpu_pins = xstrdup("5:1");
	EXPECT_ERR(hv_tune(hv, &c, HV_TUNE_PINS), "VM 'test' has 2 vCPUs but a pin for vCPU 5");
	EXPECT_OK(hv_tune_state(hv, &c, &ts));
	assert_true(cpuset_equal(&ts.vcpu[0].affinity, &online));
	hv_tune_state_clear(&ts);
	free(c.tuning.vcpu_pins);
	c.tuning.vcpu_pins = NULL;
	free(c.name);
	c.name = xstrdup("nosuchvm");
	EXPECT_ERR(hv_tune(hv, &c, HV_TUNE_BALLOON), "VM 'nosuchvm' is not defined on host 'lab'");
	EXPECT_ERR(hv_tune_state(hv, &c, &ts), "VM 'nosuchvm' is not defined on host 'lab'");
	assert_null(ts.vcpu);
	vm_config_clear(&c);
	hv_close(hv);
}

/*
 * A domain defined outside vmtty (direct kernel boot, machine pc, devices
 * vmtty's model does not know, a pin of its own), known to the inventory
 * only by what a list tells (name, UUID, vCPUs, memory): each tune
 * changes the part asked for in its own definition and nothing else, off
 * or running; the pins it has of its own show in tune_state until vmtty
 * pins it.
 */
static void
test_tune_external(void **state)
{
	static const char ext[] = "<domain type='test'><name>ext-tune</name>"
	    "<uuid>6e000000-0000-4000-8000-000000000001</uuid>"
	    "<memory unit='MiB'>256</memory><currentMemory unit='MiB'>256</currentMemory>"
	    "<vcpu placement='static'>2</vcpu><cputune><vcpupin vcpu='0' cpuset='1'/></cputune>"
	    "<os><type arch='x86_64' machine='pc'>hvm</type><kernel>/k/vmlinuz</kernel>"
	    "<initrd>/k/initrd.img</initrd><cmdline>console=ttyS0 quiet</cmdline></os>"
	    "<devices><rng model='virtio'><backend model='random'>/dev/urandom</backend>"
	    "</rng><watchdog model='i6300esb' action='reset'/></devices></domain>";
	static const char *const kept[] = { "machine='pc'", "<kernel>/k/vmlinuz</kernel>",
		"<initrd>/k/initrd.img</initrd>", "<cmdline>console=ttyS0 quiet</cmdline>",
		"<rng model='virtio'>", "<watchdog model='i6300esb' action='reset'/>", NULL };
	struct hv_tune_state ts;
	struct vm_config c;
	virConnectPtr conn;
	virDomainPtr dom;
	struct hv *hv;
	char note[256], *xml;

	(void)state;
	assert_non_null(conn = virConnectOpen("test:///default"));
	assert_non_null(dom = virDomainDefineXML(conn, ext));
	hv = open_uri("lab", "test:///default");
	vm_config_init(&c);
	c.name = xstrdup("ext-tune");
	snprintf(c.uuid, sizeof c.uuid, "6e000000-0000-4000-8000-000000000001");
	c.sockets = 2;
	c.memory_mib = 256;

	/* Its own pin shows; nothing of it is the inventory's yet. */
	EXPECT_OK(hv_tune_state(hv, &c, &ts));
	assert_true(ts.vcpu[0].pinned);
	expect_set(&ts.vcpu[0].affinity, "1");
	assert_false(ts.vcpu[1].pinned);
	hv_tune_state_clear(&ts);

	/* Off: hugepages, a new maximum and the balloon, one at a time. */
	c.tuning.hugepage_kib = 2048;
	EXPECT_OK(hv_tune(hv, &c, HV_TUNE_HUGEPAGES));
	c.memory_mib = 384;
	EXPECT_OK(hv_tune(hv, &c, HV_TUNE_MAXMEM));
	c.tuning.balloon_mib = 200;
	EXPECT_OK(hv_tune(hv, &c, HV_TUNE_BALLOON));
	EXPECT_OK(hv_describe(hv, &c, &xml));
	for (const char *const *k = kept; *k != NULL; k++)
		if (strstr(xml, *k) == NULL)
			fail_msg("the definition lost \"%s\":\n%s", *k, xml);
	assert_non_null(strstr(xml, "<page size='2048' unit='KiB'/>"));
	assert_non_null(strstr(xml, "<memory unit='KiB'>393216</memory>"));
	assert_non_null(strstr(xml, "<currentMemory unit='KiB'>204800</currentMemory>"));
	assert_non_null(strstr(xml, "<vcpupin vcpu='0' cpuset='1'/>"));
	assert_non_null(strstr(xml, "parts=\"hugepages balloon\""));
	free(xml);
	/* A start keeps its own pin (the inventory has none). */
	c.tuning.hugepage_kib = 0;
	EXPECT_OK(hv_tune(hv, &c, HV_TUNE_HUGEPAGES));
	EXPECT_OK(hv_start(hv, &c, note, sizeof note));
	EXPECT_OK(hv_describe(hv, &c, &xml));
	assert_non_null(strstr(xml, "<vcpupin vcpu='0' cpuset='1'/>"));
	assert_null(strstr(xml, "<hugepages"));
	free(xml);

	/* Running: pins (vmtty's from now on) and the balloon at once, the
	 * rest in the definition; still only those parts. */
	free(c.tuning.vcpu_pins);
	c.tuning.vcpu_pins = xstrdup("1:0");
	c.tuning.balloon_mib = 256;
	EXPECT_OK(hv_tune(hv, &c, HV_TUNE_PINS | HV_TUNE_BALLOON));
	EXPECT_OK(hv_tune_state(hv, &c, &ts));
	assert_false(ts.vcpu[0].pinned);
	assert_true(ts.vcpu[1].pinned);
	expect_set(&ts.vcpu[1].affinity, "0");
	hv_tune_state_clear(&ts);
	c.memory_mib = 512;
	EXPECT_OK(hv_tune(hv, &c, HV_TUNE_MAXMEM));
	assert_non_null(xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE));
	for (const char *const *k = kept; *k != NULL; k++)
		if (strstr(xml, *k) == NULL)
			fail_msg("the definition lost \"%s\":\n%s", *k, xml);
	assert_non_null(strstr(xml, "<memory unit='KiB'>524288</memory>"));
	assert_non_null(strstr(xml, "<vcpupin vcpu='1' cpuset='0'/>"));
	assert_null(strstr(xml, "<vcpupin vcpu='0'"));
	free(xml);
	EXPECT_OK(hv_action(hv, &c, HV_POWEROFF));
	EXPECT_OK(hv_undefine(hv, &c));
	virDomainFree(dom);

	/* A transient domain has no definition for the next start. */
	assert_non_null(dom = virDomainCreateXML(conn, ext, 0));
	EXPECT_ERR(hv_tune(hv, &c, HV_TUNE_HUGEPAGES), "VM 'ext-tune' is transient on host "
	    "'lab': it has no definition to keep hugepages or a maximum memory for its next "
	    "start; define it there first");
	assert_int_equal(virDomainDestroy(dom), 0);
	virDomainFree(dom);
	vm_config_clear(&c);
	hv_close(hv);
	virConnectClose(conn);
}

/*
 * A start brings the inventory's tuning into the definition (pins,
 * emulator pin, hugepages, balloon) and checks the hugepages the host has
 * free first.
 */
static void
test_tune_start(void **state)
{
	struct hv_host_info hi;
	struct hv_tune_state ts;
	struct hv_status st;
	struct vm_config c;
	struct hv *hv;
	char note[256], want[512], *xml;
	int64_t free2m = -1;

	(void)state;
	hv = open_uri("lab", "test:///default");
	make_vm(&c, "vmtty-tune", "61111111-2222-4333-8444-555555555555");
	c.cores = 2;
	EXPECT_OK(hv_define(hv, &c));
	/* Set in the inventory after the definition (as `vmtty tune` on a
	 * stopped VM, or another vmtty, may leave it). */
	c.tuning.vcpu_pins = xstrdup("all:1;1:2");
	c.tuning.emulator_pin = xstrdup("3");
	c.tuning.hugepage_kib = 2048;
	c.tuning.balloon_mib = 128;
	EXPECT_OK(hv_describe(hv, &c, &xml));
	assert_null(strstr(xml, "<vcpupin"));
	assert_null(strstr(xml, "<hugepages"));
	free(xml);
	EXPECT_OK(hv_start(hv, &c, note, sizeof note));
	EXPECT_OK(hv_describe(hv, &c, &xml));
	assert_non_null(strstr(xml, "<vcpupin vcpu='0' cpuset='1'/>"));
	assert_non_null(strstr(xml, "<vcpupin vcpu='1' cpuset='2'/>"));
	assert_non_null(strstr(xml, "<emulatorpin cpuset='3'/>"));
	assert_non_null(strstr(xml, "<page size='2048' unit='KiB'/>"));
	assert_non_null(strstr(xml, "<currentMemory unit='KiB'>131072</currentMemory>"));
	/* Everything else as it was. */
	assert_non_null(strstr(xml, "<source file='/img/root.qcow2'/>"));
	assert_non_null(strstr(xml, "<source network='default'/>"));
	free(xml);
	EXPECT_OK(hv_action(hv, &c, HV_POWEROFF));

	/* Off: the pins of the definition, where each ran last unknown. */
	EXPECT_OK(hv_tune_state(hv, &c, &ts));
	assert_int_equal(ts.nvcpu, 2);
	expect_set(&ts.vcpu[0].affinity, "1");
	expect_set(&ts.vcpu[1].affinity, "2");
	assert_int_equal(ts.vcpu[0].cpu, -1);
	assert_int_equal(ts.vcpu[1].tid, 0);
	assert_true(ts.emulator_known);
	expect_set(&ts.emulator, "3");
	assert_int_equal(ts.balloon_kib, 128 * 1024);
	assert_int_equal(ts.max_kib, 256 * 1024);
	assert_int_equal(ts.guest_total_kib, -1);
	hv_tune_state_clear(&ts);
	/* tune on a VM that is off: its definition, at once. */
	free(c.tuning.vcpu_pins);
	c.tuning.vcpu_pins = xstrdup("1:3");
	c.tuning.balloon_mib = 200;
	EXPECT_OK(hv_tune(hv, &c, HV_TUNE_PINS | HV_TUNE_BALLOON));
	EXPECT_OK(hv_describe(hv, &c, &xml));
	assert_null(strstr(xml, "<vcpupin vcpu='0'"));
	assert_non_null(strstr(xml, "<vcpupin vcpu='1' cpuset='3'/>"));
	assert_non_null(strstr(xml, "<currentMemory unit='KiB'>204800</currentMemory>"));
	free(xml);
	free(c.tuning.vcpu_pins);
	c.tuning.vcpu_pins = xstrdup("0:8");
	EXPECT_ERR(hv_tune(hv, &c, HV_TUNE_PINS),
	    "VM 'vmtty-tune': vCPU 0 is pinned to host CPUs 8, but host 'lab' has CPUs 0-7 only");
	free(c.tuning.vcpu_pins);
	c.tuning.vcpu_pins = xstrdup("all:1;1:2");

	/* Ten pages of 2M more than the host has free: not started, saying
	 * how many miss and how to reserve them. */
	EXPECT_OK(hv_host_info(hv, &hi));
	for (size_t i = 0; i < hi.npools; i++)
		if (hi.pools[i].size_kib == 2048)
			free2m = hi.pools[i].free;
	hv_host_info_clear(&hi);
	assert_true(free2m > 0);
	c.memory_mib = (free2m + 10) * 2;
	EXPECT_OK(hv_define(hv, &c));
	snprintf(want, sizeof want, "VM 'vmtty-tune' needs %lld hugepages of 2M for its %lld MiB "
	    "on host 'lab', but only %lld are free (10 missing); reserve more as root on that "
	    "host with 'echo %lld > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages', "
	    "or turn hugepages off", (long long)free2m + 10, (long long)c.memory_mib,
	    (long long)free2m, (long long)free2m + 10);
	EXPECT_ERR(hv_start(hv, &c, note, sizeof note), want);
	EXPECT_OK(hv_status(hv, &c, &st));
	assert_int_equal(st.state, HV_OFF);
	/* Ten fewer: it starts. */
	c.memory_mib = (free2m - 10) * 2;
	EXPECT_OK(hv_define(hv, &c));
	EXPECT_OK(hv_start(hv, &c, note, sizeof note));
	EXPECT_OK(hv_action(hv, &c, HV_POWEROFF));
	/* A page size the host does not have. */
	c.memory_mib = 256;
	c.tuning.hugepage_kib = 4096;
	EXPECT_ERR(hv_start(hv, &c, note, sizeof note),
	    "VM 'vmtty-tune' wants hugepages of 4M, which host 'lab' does not have (it has ");
	EXPECT_OK(hv_status(hv, &c, &st));
	assert_int_equal(st.state, HV_OFF);
	/* A start refused changes nothing. */
	EXPECT_OK(hv_describe(hv, &c, &xml));
	assert_non_null(strstr(xml, "<page size='2048' unit='KiB'/>"));
	free(xml);
	/* Hugepages off again: the definition loses them at the next start. */
	c.tuning.hugepage_kib = 0;
	EXPECT_OK(hv_start(hv, &c, note, sizeof note));
	EXPECT_OK(hv_describe(hv, &c, &xml));
	assert_null(strstr(xml, "<hugepages"));
	free(xml);
	EXPECT_OK(hv_action(hv, &c, HV_POWEROFF));
	EXPECT_OK(hv_undefine(hv, &c));
	vm_config_clear(&c);
	hv_close(hv);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_list),
		cmocka_unit_test(test_lab_list),
		cmocka_unit_test(test_files_list),
		cmocka_unit_test(test_flags_in_list),
		cmocka_unit_test(test_flags_in_lv9),
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_redefine_rename),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_watch),
		cmocka_unit_test(test_watch_free),
		cmocka_unit_test(test_bogus_uri),
		cmocka_unit_test(test_thousand),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_host_info),
		cmocka_unit_test(test_tune_running),
		cmocka_unit_test(test_tune_start),
		cmocka_unit_test(test_tune_external),
	};

	if (argc == 3 && strcmp(argv[1], "--auth-child") == 0)
		return auth_child(argv[2]);
	if (realpath("/proc/self/exe", self_path) == NULL)
		snprintf(self_path, sizeof self_path, "%s", argv[0]);

	return cmocka_run_group_tests_name("libvirt", tests, NULL, NULL);
}
