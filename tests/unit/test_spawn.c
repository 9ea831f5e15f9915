/* spawn: children are waited for on a pidfd (no polling), killed through
 * it at their deadline, die with vmtty, and start with no signal blocked;
 * a subreaper reaps the daemons it adopted, with their status, never a
 * child of its own. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "util/err.h"
#include "util/log.h"
#include "util/spawn.h"
#include "util/thread.h"

/* Is PID gone (or a zombie nobody reaped yet)? */
static int
gone(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY)) < 0)
		return 1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && p[2] == 'Z';
}

/* Wait up to MS for PID to be gone. */
static int
wait_gone(pid_t pid, long ms)
{
	long long deadline = log_now_ms() + ms;

	while (!gone(pid) && log_now_ms() < deadline)
		poll(NULL, 0, 10);
	return gone(pid);
}

/* The first line of FILE as a number. */
static long
read_num(const char *file)
{
	FILE *fp = fopen(file, "r");
	long v = -1;

	if (fp != NULL) {
		if (fscanf(fp, "%ld", &v) != 1)
			v = -1;
		fclose(fp);
	}
	return v;
}

static void
test_status(void **state)
{
	char *const ok[] = { "sh", "-c", "exit 3", NULL };
	char *const sig[] = { "sh", "-c", "kill -TERM $$", NULL };
	int st = -1;

	(void)state;
	assert_int_equal(spawn_wait(ok, -1, -1, 5000, &st), 0);
	assert_int_equal(st, 3);
	assert_int_equal(spawn_wait(sig, -1, -1, 5000, &st), 0);
	assert_int_equal(st, 128 + SIGTERM);
}

/* spawn_output: all of stdout, none of stderr; a failure is NULL + err. */
static void
test_output(void **state)
{
	char *const two[] = { "sh", "-c", "printf 'a\\nbc'; echo noise >&2", NULL };
	char *const fails[] = { "sh", "-c", "echo partial; exit 4", NULL };
	char *out;

	(void)state;
	out = spawn_output(two, 5000);
	assert_non_null(out);
	assert_string_equal(out, "a\nbc");
	free(out);
	assert_null(spawn_output(fails, 5000));
	assert_non_null(strstr(err_get(), "exited with status 4"));
}

/* A child past its deadline is killed (through its pidfd) and reaped. */
static void
test_timeout_kills(void **state)
{
	char *dir = unit_tmpdir(), file[256], cmd[320];
	char *const argv[] = { "sh", "-c", cmd, NULL };
	char errbuf[128];
	long long t0;
	long pid;
	int st = -1;

	(void)state;
	snprintf(file, sizeof file, "%s/pid", dir);
	snprintf(cmd, sizeof cmd, "echo $$ > %s; exec sleep 30", file);
	t0 = log_now_ms();
	assert_int_equal(spawn_wait(argv, -1, -1, 300, &st), -1);
	assert_true(log_now_ms() - t0 < 3000);
	assert_non_null(strstr(err_get(), "did not finish within 300 ms"));
	assert_true((pid = read_num(file)) > 0);
	assert_true(gone((pid_t)pid));
	/* The same through spawn_capture. */
	unlink(file);
	t0 = log_now_ms();
	assert_int_equal(spawn_capture(argv, NULL, NULL, NULL, errbuf, sizeof errbuf, 300, &st),
	    -1);
	assert_true(log_now_ms() - t0 < 3000);
	assert_non_null(strstr(err_get(), "did not finish within 300 ms"));
	assert_true((pid = read_num(file)) > 0);
	assert_true(gone((pid_t)pid));
	unit_rmdir(dir);
}

/* Waiting sleeps on the pidfd: no wake-ups every few milliseconds while a
 * child runs for half a second (a 5 ms waitpid poll made ~100). */
static void
test_wait_does_not_poll(void **state)
{
	char *const argv[] = { "sleep", "0.5", NULL };
	struct rusage before, after;
	int st = -1;

	(void)state;
	getrusage(RUSAGE_THREAD, &before);
	assert_int_equal(spawn_wait(argv, -1, -1, 5000, &st), 0);
	getrusage(RUSAGE_THREAD, &after);
	assert_int_equal(st, 0);
	assert_true(after.ru_nvcsw - before.ru_nvcsw < 20);
}

static void
test_exec_failure(void **state)
{
	char *const argv[] = { "/nonexistent/vmtty-no-such-program", NULL };
	char errbuf[256];
	pid_t pid;
	int st = -1;

	(void)state;
	assert_int_equal(spawn_wait(argv, -1, -1, 5000, &st), -1);
	assert_string_equal(err_get(), "cannot run '/nonexistent/vmtty-no-such-program': "
	    "No such file or directory");
	assert_int_equal(spawn_start(argv, -1, -1, -1, &pid), -1);
	assert_non_null(strstr(err_get(), "No such file or directory"));
	/* spawn_capture says it as a shell would: 127 and why. */
	assert_int_equal(spawn_capture(argv, NULL, NULL, NULL, errbuf, sizeof errbuf, 5000, &st),
	    0);
	assert_int_equal(st, 127);
	assert_string_equal(errbuf, "cannot run '/nonexistent/vmtty-no-such-program': "
	    "No such file or directory");
}

/* A child of a process that dies is killed with it (PR_SET_PDEATHSIG):
 * a process forks, spawns a long sleep, says its pid and exits. */
static void
test_dies_with_parent(void **state)
{
	int p[2];
	pid_t mid, child = 0;

	(void)state;
	assert_int_equal(pipe(p), 0);
	mid = fork();
	assert_true(mid >= 0);
	if (mid == 0) {
		char *const argv[] = { "sleep", "30", NULL };
		pid_t c = 0;

		close(p[0]);
		if (spawn_start(argv, -1, -1, -1, &c) != 0)
			c = 0;
		if (write(p[1], &c, sizeof c) < 0)
			_exit(2);
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &child, sizeof child), (ssize_t)sizeof child);
	close(p[0]);
	waitpid(mid, NULL, 0);
	assert_true(child > 0);
	assert_true(wait_gone(child, 3000));
}

/* A daemon gets the umask it is given before its exec (the file it makes
 * is born 0600 under vmtty's 022 here), a session of its own, cwd /, and is
 * not vmtty's child; a failed exec is said. */
static void
test_daemon(void **state)
{
	char dir[] = "/tmp/vmtty-spawn.XXXXXX", file[64], cmd[512];
	char *const bad[] = { "/nonexistent/vmtty-no-such-program", NULL };
	struct stat st;
	pid_t pid = 0;
	mode_t old;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof file, "%s/made", dir);
	snprintf(cmd, sizeof cmd, "pwd >%s.tmp; ps -o sid= -p $$ >>%s.tmp; mv %s.tmp %s; sleep 30",
	    file, file, file, file);
	{
		char *const argv[] = { "sh", "-c", cmd, NULL };

		old = umask(022);
		assert_int_equal(spawn_daemon(argv, -1, -1, 0177, &pid), 0);
		umask(old);
	}
	assert_true(pid > 0);
	for (int i = 0; i < 500 && stat(file, &st) != 0; i++)
		poll(NULL, 0, 10);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	{
		char buf[128] = "";
		FILE *f = fopen(file, "r");
		int sid = 0;

		assert_non_null(f);
		assert_non_null(fgets(buf, sizeof buf, f));
		assert_string_equal(buf, "/\n");
		assert_int_equal(fscanf(f, "%d", &sid), 1);
		fclose(f);
		/* The session its first child made: never the terminal's. */
		assert_int_not_equal(sid, (int)getsid(0));
		assert_int_equal(getsid(pid), sid);
	}
	/* Not a child of ours: there is nothing for us to wait for. */
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	kill(pid, SIGKILL);
	assert_true(wait_gone(pid, 3000));
	unlink(file);
	rmdir(dir);
	assert_int_equal(spawn_daemon(bad, -1, -1, 077, &pid), -1);
	assert_string_equal(err_get(), "cannot run '/nonexistent/vmtty-no-such-program': "
	    "No such file or directory");
}

struct masked {
	char line[128];
};

static void
on_line(const char *line, void *arg)
{
	struct masked *m = arg;

	if (strncmp(line, "SigBlk:", 7) == 0)
		snprintf(m->line, sizeof m->line, "%s", line);
}

/* Run from a worker thread (every signal blocked), a program still starts
 * with none blocked. */
static void *
capture_thread(void *arg)
{
	char *const argv[] = { "grep", "SigBlk", "/proc/self/status", NULL };
	char errbuf[128];
	int st = -1;

	if (spawn_capture(argv, on_line, arg, NULL, errbuf, sizeof errbuf, 5000, &st) != 0 ||
	    st != 0)
		((struct masked *)arg)->line[0] = '\0';
	return NULL;
}

static void
test_child_mask(void **state)
{
	struct masked m = { "" };
	pthread_t t;
	sigset_t cur;

	(void)state;
	assert_int_equal(thread_start(&t, NULL, capture_thread, &m), 0);
	pthread_join(t, NULL);
	assert_string_equal(m.line, "SigBlk:\t0000000000000000");
	/* thread_start left this thread's own mask alone. */
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	assert_false(sigismember(&cur, SIGTERM));
}

struct reaped {
	int n;
	pid_t pid;
	int status;
};

static void
on_reaped(pid_t pid, int status, void *arg)
{
	struct reaped *r = arg;

	r->n++;
	r->pid = pid;
	r->status = status;
}

static void
test_reap_adopted(void **state)
{
	char *const argv[] = { "sh", "-c", "kill -9 $$", NULL };
	struct reaped r = { 0, 0, 0 };
	char text[64];
	siginfo_t si;
	pid_t pid, mine;
	int st;

	(void)state;
	spawn_status_text(3 << 8, text, sizeof text);
	assert_string_equal(text, "exited with status 3");
	assert_int_equal(spawn_subreaper(), 0);
	/* A child of our own that has ended, its status not yet taken. */
	if ((mine = fork()) == 0)
		_exit(3);
	assert_true(mine > 0);
	memset(&si, 0, sizeof si);
	assert_int_equal(waitid(P_PID, (id_t)mine, &si, WEXITED | WNOWAIT), 0);
	/* A daemon that kills itself: adopted once its first parent left. */
	assert_int_equal(spawn_daemon(argv, -1, -1, 077, &pid), 0);
	for (long long end = log_now_ms() + 5000; r.n == 0 && log_now_ms() < end;)
		if (spawn_reap_adopted(on_reaped, &r) == 0)
			poll(NULL, 0, 10);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.pid, pid);
	assert_true(WIFSIGNALED(r.status));
	assert_int_equal(WTERMSIG(r.status), SIGKILL);
	spawn_status_text(r.status, text, sizeof text);
	assert_string_equal(text, "was killed by signal 9 (SIGKILL)");
	/* Ours was left to us. */
	assert_int_equal(spawn_reap_adopted(on_reaped, &r), 0);
	assert_int_equal(waitpid(mine, &st, WNOHANG), mine);
	assert_int_equal(WEXITSTATUS(st), 3);
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_output),
		cmocka_unit_test(test_timeout_kills),
		cmocka_unit_test(test_wait_does_not_poll),
		cmocka_unit_test(test_exec_failure),
		cmocka_unit_test(test_dies_with_parent),
		cmocka_unit_test(test_daemon),
		cmocka_unit_test(test_child_mask),
		cmocka_unit_test(test_reap_adopted),
	};

	return cmocka_run_group_tests_name("spawn", tests, NULL, NULL);
}
