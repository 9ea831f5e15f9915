/* The QMP client against a scripted fake server (fragmented and batched
 * messages, errors, garbage, EOF, floods, silence) and, when it is
 * installed, a real QEMU. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "hv/qmp.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

#define QEMU_BIN "/usr/bin/qemu-system-x86_64"
#define FAKE_MAX 3

#define GREETING \
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 1, \"minor\": 2, \"major\": 8}," \
	" \"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n"
#define EV_STOP \
	"{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"," \
	" \"data\": {\"x\": 7}}\r\n"
#define BOGUS_DESC "The command bogus has not been found"

/* ---- the fake server, run in a forked child ---- */

enum fake_greet {
	GREET_SPLIT,		/* a QMP greeting in two writes */
	GREET_BAD,		/* JSON, but no greeting */
	GREET_NONE,		/* silence */
};

struct fake {
	char *dir;
	char *path;
	pid_t pid;
};

struct fixture {
	struct fake fakes[FAKE_MAX];
	int nfakes;
};

struct linebuf {
	char *buf;
	size_t len, size;
};

static void
pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
fake_write(int fd, const char *s, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, s, n, MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
fake_puts(int fd, const char *s)
{
	return fake_write(fd, s, strlen(s));
}

/* The next line the client sent (without its newline); NULL at EOF. */
static char *
fake_getline(int fd, struct linebuf *lb)
{
	char *nl, *line;
	ssize_t n;

	for (;;) {
		if (lb->len > 0 && (nl = memchr(lb->buf, '\n', lb->len)) != NULL) {
			line = xstrndup(lb->buf, (size_t)(nl - lb->buf));
			lb->len -= (size_t)(nl - lb->buf) + 1;
			memmove(lb->buf, nl + 1, lb->len);
			return line;
		}
		if (lb->size - lb->len < 65536) {
			lb->size = lb->size * 2 + 65536;
			lb->buf = xrealloc(lb->buf, lb->size);
		}
		n = read(fd, lb->buf + lb->len, lb->size - lb->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		lb->len += (size_t)n;
	}
}

static void
fake_reply(int fd, const char *id, const char *ret)
{
	char *s = xasprintf("{\"return\": %s, \"id\": %s}\r\n", ret, id);

	fake_puts(fd, s);
	free(s);
}

/* The fake's one job (per connection: each is served by its own child):
 * "fakejob" starts it, query-jobs shows it running, then ready (mode
 * "ready", until job-complete) or concluded (with an error in mode
 * "fail"; mode "stuck" never ends), job-dismiss takes it away. */
static struct {
	char id[64], mode[16];
	int polls;
	bool completed, dismissed, cancelled;
} job;

static char *
fake_jobs(void)
{
	const char *status = "running";

	if (job.id[0] == '\0' || job.dismissed)
		return xstrdup("[]");
	if (job.polls++ >= 1 && strcmp(job.mode, "stuck") != 0)
		status = strcmp(job.mode, "ready") == 0 && !job.completed ? "ready" : "concluded";
	return xasprintf("[{\"id\": \"%s\", \"type\": \"fake\", \"status\": \"%s\"%s}]",
	    job.id, status, strcmp(status, "concluded") == 0 && strcmp(job.mode, "fail") == 0 ?
	    ", \"error\": \"it broke\"" : "");
}

static void
fake_job_command(int fd, const char *exec, const char *id, json_object *cmd)
{
	json_object *a = NULL, *v;
	char *s;

	json_object_object_get_ex(cmd, "arguments", &a);
	if (strcmp(exec, "fakejob") == 0) {
		memset(&job, 0, sizeof job);
		if (a != NULL && json_object_object_get_ex(a, "job-id", &v))
			snprintf(job.id, sizeof job.id, "%s", json_object_get_string(v));
		if (a != NULL && json_object_object_get_ex(a, "mode", &v))
			snprintf(job.mode, sizeof job.mode, "%s", json_object_get_string(v));
		fake_reply(fd, id, "{}");
	} else if (strcmp(exec, "query-jobs") == 0) {
		s = fake_jobs();
		fake_reply(fd, id, s);
		free(s);
	} else {
		job.completed |= strcmp(exec, "job-complete") == 0;
		job.dismissed |= strcmp(exec, "job-dismiss") == 0;
		job.cancelled |= strcmp(exec, "job-cancel") == 0;
		fake_reply(fd, id, "{}");
	}
}

/* One command; false to hang up. */
static bool
fake_command(int fd, const char *line)
{
	json_object *cmd = json_tokener_parse(line), *v;
	const char *exec = "", *id = "null", *args = "{}";
	bool more = true;
	char *s;

	if (cmd != NULL && json_object_object_get_ex(cmd, "execute", &v))
		exec = json_object_get_string(v);
	if (cmd != NULL && json_object_object_get_ex(cmd, "id", &v))
		id = json_object_to_json_string(v);
	if (cmd != NULL && json_object_object_get_ex(cmd, "arguments", &v))
		args = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);

	if (strcmp(exec, "qmp_capabilities") == 0 || strcmp(exec, "quit") == 0) {
		fake_reply(fd, id, "{}");
		more = strcmp(exec, "quit") != 0;
	} else if (strcmp(exec, "query-status") == 0) {
		/* An event, then the reply, in one write. */
		s = xasprintf(EV_STOP "{\"return\": {\"status\": \"running\", \"running\": true},"
		    " \"id\": %s}\r\n", id);
		fake_puts(fd, s);
		free(s);
	} else if (strcmp(exec, "echo") == 0) {
		fake_reply(fd, id, args);
	} else if (strcmp(exec, "fakejob") == 0 || strncmp(exec, "job-", 4) == 0 ||
	    strcmp(exec, "query-jobs") == 0) {
		fake_job_command(fd, exec, id, cmd);
	} else if (strcmp(exec, "sink") == 0) {
		s = xasprintf("{\"len\": %zu}", strlen(line));
		fake_reply(fd, id, s);
		free(s);
	} else if (strcmp(exec, "bogus") == 0) {
		s = xasprintf("{\"id\": %s, \"error\": {\"class\": \"CommandNotFound\","
		    " \"desc\": \"" BOGUS_DESC "\"}}\r\n", id);
		fake_puts(fd, s);
		free(s);
	} else if (strcmp(exec, "split") == 0) {
		/* One byte per write. */
		s = xasprintf("{\"return\": {\"split\": true}, \"id\": %s}\r\n", id);
		for (size_t i = 0; s[i] != '\0'; i++) {
			fake_write(fd, s + i, 1);
			pause_ms(1);
		}
		free(s);
	} else if (strcmp(exec, "two") == 0) {
		/* Events around the reply, a stray reply and blank lines, one write. */
		s = xasprintf("{\"event\": \"A\"}\r\n{\"return\": {}, \"id\": \"other-1\"}\r\n"
		    "\r\n{\"return\": {\"two\": 2}, \"id\": %s}{\"event\": \"B\","
		    " \"data\": {\"y\": 1}}\r\n", id);
		fake_puts(fd, s);
		free(s);
	} else if (strcmp(exec, "late") == 0) {
		pause_ms(400);
		fake_reply(fd, id, "{\"late\": true}");
	} else if (strcmp(exec, "hang") == 0) {
		/* Never answer. */
	} else if (strcmp(exec, "garbage") == 0) {
		fake_puts(fd, "{\"return\": [1, 2, }}\r\n");
		more = false;
	} else if (strcmp(exec, "die") == 0) {
		fake_puts(fd, "{\"return\": {\"sta");
		more = false;
	} else if (strcmp(exec, "flood") == 0) {
		/* A string that never ends, until the client gives up. */
		char chunk[65536];

		memset(chunk, 'a', sizeof chunk);
		fake_puts(fd, "{\"return\": \"");
		for (int i = 0; i < 64; i++)
			if (fake_write(fd, chunk, sizeof chunk) != 0)
				break;
		more = false;
	} else {
		s = xasprintf("{\"id\": %s, \"error\": {\"class\": \"GenericError\","
		    " \"desc\": \"unknown command\"}}\r\n", id);
		fake_puts(fd, s);
		free(s);
	}
	json_object_put(cmd);
	return more;
}

static void
fake_serve(int fd, enum fake_greet greet)
{
	struct linebuf lb = { NULL, 0, 0 };
	size_t half = strlen(GREETING) / 2;
	char *line;

	switch (greet) {
	case GREET_SPLIT:
		fake_write(fd, GREETING, half);
		pause_ms(50);
		fake_puts(fd, GREETING + half);
		break;
	case GREET_BAD:
		fake_puts(fd, "{\"hello\": \"world\"}\r\n");
		break;
	case GREET_NONE:
		break;
	}
	while ((line = fake_getline(fd, &lb)) != NULL) {
		bool more = greet == GREET_SPLIT ? fake_command(fd, line) : true;

		free(line);
		if (!more)
			break;
	}
	free(lb.buf);
}

/* Listen on a fresh socket and serve every connection from a child. */
static const char *
fake_start(struct fixture *fx, enum fake_greet greet)
{
	struct fake *f = &fx->fakes[fx->nfakes];
	struct sockaddr_un sa;
	int l, c;

	assert_true(fx->nfakes < FAKE_MAX);
	f->dir = unit_tmpdir();
	f->path = xasprintf("%s/qmp.sock", f->dir);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", f->path);
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(l, 8), 0);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		alarm(60);
		signal(SIGPIPE, SIG_IGN);
		for (;;) {
			if ((c = accept(l, NULL, NULL)) == -1) {
				if (errno == EINTR)
					continue;
				_exit(1);
			}
			fake_serve(c, greet);
			close(c);
		}
	}
	close(l);
	fx->nfakes++;
	return f->path;
}

static int
fixture_setup(void **state)
{
	*state = xcalloc(1, sizeof(struct fixture));
	return 0;
}

static int
fixture_teardown(void **state)
{
	struct fixture *fx = *state;

	for (int i = 0; i < fx->nfakes; i++) {
		kill(fx->fakes[i].pid, SIGKILL);
		waitpid(fx->fakes[i].pid, NULL, 0);
		free(fx->fakes[i].path);
		unit_rmdir(fx->fakes[i].dir);
	}
	free(fx);
	return 0;
}

/* ---- what the callbacks saw ---- */

struct seen {
	char log[4096];
	int events;
	int replies;
	int64_t x;
	struct qmp *close_me;
};

static void
seen_add(struct seen *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
seen_add(struct seen *s, const char *fmt, ...)
{
	size_t n = strlen(s->log);
	va_list ap;

	if (n > 0 && n < sizeof s->log - 1)
		s->log[n++] = ';';
	va_start(ap, fmt);
	vsnprintf(s->log + n, sizeof s->log - n, fmt, ap);
	va_end(ap);
}

static void
on_event(const char *event, json_object *data, void *arg)
{
	struct seen *s = arg;
	json_object *v;

	s->events++;
	if (data != NULL && json_object_object_get_ex(data, "x", &v))
		s->x = json_object_get_int64(v);
	seen_add(s, "event %s", event);
}

static void
on_reply(json_object *ret, const char *error, void *arg)
{
	struct seen *s = arg;

	s->replies++;
	if (error != NULL)
		seen_add(s, "error %s", error);
	else
		seen_add(s, "reply %s", json_object_to_json_string_ext(ret, JSON_C_TO_STRING_PLAIN));
	if (s->close_me != NULL)
		qmp_close(s->close_me);
}

/* Run the poll loop until WANT replies were seen or dispatch fails; the
 * last dispatch result. */
static int
pump(struct qmp *q, struct seen *s, int want, long ms)
{
	long long deadline = log_now_ms() + ms;
	struct pollfd pfd;
	int rc = 0;

	while (s->replies < want && log_now_ms() < deadline) {
		pfd.fd = qmp_fd(q);
		pfd.events = POLLIN | (qmp_want_write(q) ? POLLOUT : 0);
		if (poll(&pfd, 1, 100) > 0 && (rc = qmp_dispatch(q)) != 0)
			break;
	}
	return rc;
}

static json_object *
obj1(const char *key, json_object *val)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, key, val);
	return o;
}

static const char *
get_str(json_object *o, const char *key)
{
	json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	return json_object_get_string(v);
}

/* ---- tests against the fake server ---- */

static void
test_calls(void **state)
{
	const char *path = fake_start(*state, GREET_SPLIT);
	struct seen s;
	json_object *ret, *args, *v;
	struct qmp *q;

	memset(&s, 0, sizeof s);
	q = qmp_connect(path, 2000);
	if (q == NULL)
		fail_msg("%s", err_get());
	assert_string_equal(qmp_version(q), "8.2.1");
	assert_true(fcntl(qmp_fd(q), F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(qmp_fd(q), F_GETFL) & O_NONBLOCK);
	qmp_set_event_cb(q, on_event, &s);

	/* The event comes in the same write, before the reply. */
	assert_int_equal(qmp_call(q, "query-status", NULL, 2000, &ret), 0);
	assert_string_equal(get_str(ret, "status"), "running");
	json_object_put(ret);
	assert_int_equal(s.events, 1);
	assert_int_equal(s.x, 7);
	assert_string_equal(s.log, "event STOP");

	/* Arguments arrive intact, quotes and all. */
	args = json_object_new_object();
	json_object_object_add(args, "a", json_object_new_string("b\"c/d"));
	json_object_object_add(args, "n", json_object_new_int(3));
	assert_int_equal(qmp_call(q, "echo", args, 2000, &ret), 0);
	assert_string_equal(get_str(ret, "a"), "b\"c/d");
	assert_true(json_object_object_get_ex(ret, "n", &v));
	assert_int_equal(json_object_get_int(v), 3);
	json_object_put(ret);
	assert_int_equal(qmp_call(q, "echo", NULL, 2000, &ret), 0);
	assert_true(json_object_is_type(ret, json_type_object));
	assert_int_equal(json_object_object_length(ret), 0);
	json_object_put(ret);
	assert_int_equal(qmp_call(q, "echo", NULL, 2000, NULL), 0);

	/* An error reply. */
	ret = (json_object *)&s;
	assert_int_equal(qmp_call(q, "bogus", NULL, 2000, &ret), -1);
	assert_null(ret);
	assert_string_equal(err_get(), "QEMU refused 'bogus': " BOGUS_DESC);

	/* A reply trickling in one byte at a time. */
	assert_int_equal(qmp_call(q, "split", NULL, 2000, &ret), 0);
	assert_true(json_object_object_get_ex(ret, "split", &v));
	assert_true(json_object_get_boolean(v));
	json_object_put(ret);

	/* Several messages in one read, with a stray reply among them. */
	s.log[0] = '\0';
	assert_int_equal(qmp_call(q, "two", NULL, 2000, &ret), 0);
	assert_true(json_object_object_get_ex(ret, "two", &v));
	assert_int_equal(json_object_get_int(v), 2);
	json_object_put(ret);
	/* B came after the reply in the same read: handled, not lost. */
	assert_string_equal(s.log, "event A;event B");
	assert_int_equal(s.events, 3);

	/* Still in step afterwards. */
	assert_int_equal(qmp_call(q, "echo", obj1("k", json_object_new_string("v")), 2000, &ret), 0);
	assert_string_equal(get_str(ret, "k"), "v");
	json_object_put(ret);
	qmp_close(q);
}

static json_object *
job_args(const char *id, const char *mode)
{
	json_object *a = json_object_new_object();

	if (id != NULL)
		json_object_object_add(a, "job-id", json_object_new_string(id));
	json_object_object_add(a, "mode", json_object_new_string(mode));
	return a;
}

/* qmp_job: waits for the job through query-jobs, completes a ready one,
 * dismisses it, says why it failed, and gives up at its deadline. */
static void
test_job(void **state)
{
	const char *path = fake_start(*state, GREET_SPLIT);
	json_object *ret;
	struct qmp *q = qmp_connect(path, 2000);

	if (q == NULL)
		fail_msg("%s", err_get());
	assert_int_equal(qmp_job(q, "fakejob", job_args("j1", "ok"), 5000), 0);
	/* Dismissed: no job left. */
	assert_int_equal(qmp_call(q, "query-jobs", NULL, 2000, &ret), 0);
	assert_int_equal(json_object_array_length(ret), 0);
	json_object_put(ret);
	/* A ready job is told to complete, then concludes. */
	assert_int_equal(qmp_job(q, "fakejob", job_args("j2", "ready"), 5000), 0);
	assert_int_equal(qmp_job(q, "fakejob", job_args("j3", "fail"), 5000), -1);
	assert_string_equal(err_get(), "it broke");
	assert_int_equal(qmp_job(q, "fakejob", job_args("j4", "stuck"), 300), -1);
	assert_string_equal(err_get(), "QEMU's job 'j4' (fakejob) did not end within 300 ms; it "
	    "was asked to stop");
	assert_int_equal(qmp_job(q, "fakejob", job_args(NULL, "ok"), 5000), -1);
	assert_string_equal(err_get(), "QMP command 'fakejob' was sent without a job-id");
	qmp_close(q);
}

static void
test_async(void **state)
{
	const char *path = fake_start(*state, GREET_SPLIT);
	struct seen s, big_seen;
	json_object *ret;
	struct qmp *q;
	size_t bigsz = 4u << 20;
	char *big, *want;

	memset(&s, 0, sizeof s);
	memset(&big_seen, 0, sizeof big_seen);
	q = qmp_connect(path, 2000);
	if (q == NULL)
		fail_msg("%s", err_get());
	qmp_set_event_cb(q, on_event, &s);
	assert_int_equal(qmp_send(q, "echo", obj1("n", json_object_new_int(1)), on_reply, &s), 0);
	assert_int_equal(qmp_send(q, "bogus", NULL, on_reply, &s), 0);
	assert_int_equal(qmp_send(q, "query-status", NULL, on_reply, &s), 0);
	assert_int_equal(qmp_send(q, "echo", NULL, NULL, NULL), 0);
	assert_int_equal(pump(q, &s, 3, 3000), 0);
	assert_int_equal(s.replies, 3);
	assert_string_equal(s.log, "reply {\"n\":1};error QEMU refused 'bogus': " BOGUS_DESC
	    ";event STOP;reply {\"status\":\"running\",\"running\":true}");

	/* More than the socket buffer takes: queued, written as it drains
	 * (the server sleeps over 'late' meanwhile, so it cannot drain). */
	assert_int_equal(qmp_send(q, "late", NULL, NULL, NULL), 0);
	big = xmalloc(bigsz + 1);
	memset(big, 'z', bigsz);
	big[bigsz] = '\0';
	assert_int_equal(qmp_send(q, "sink", obj1("data", json_object_new_string(big)), on_reply,
	    &big_seen), 0);
	free(big);
	assert_true(qmp_want_write(q));
	/* A synchronous call behind it writes the rest, and runs the
	 * callback of the earlier command when its reply passes by. */
	assert_int_equal(qmp_call(q, "echo", obj1("after", json_object_new_int(1)), 5000, &ret), 0);
	assert_non_null(strstr(json_object_to_json_string(ret), "after"));
	json_object_put(ret);
	assert_false(qmp_want_write(q));
	assert_int_equal(big_seen.replies, 1);
	want = xasprintf("reply {\"len\":%zu}", bigsz + strlen("{\"execute\":\"sink\","
	    "\"arguments\":{\"data\":\"\"},\"id\":\"vmtty-7\"}"));
	assert_string_equal(big_seen.log, want);
	free(want);

	/* The poll loop path for writes, too. */
	big = xmalloc(bigsz + 1);
	memset(big, 'y', bigsz);
	big[bigsz] = '\0';
	memset(&big_seen, 0, sizeof big_seen);
	assert_int_equal(qmp_send(q, "late", NULL, NULL, NULL), 0);
	assert_int_equal(qmp_send(q, "sink", obj1("data", json_object_new_string(big)), on_reply,
	    &big_seen), 0);
	free(big);
	assert_true(qmp_want_write(q));
	assert_int_equal(pump(q, &big_seen, 1, 5000), 0);
	assert_int_equal(big_seen.replies, 1);
	assert_false(qmp_want_write(q));
	qmp_close(q);
}

static void
test_failures(void **state)
{
	const char *path = fake_start(*state, GREET_SPLIT);
	struct seen s;
	long long t0;
	struct qmp *q;

	/* Malformed JSON fails the connection, for good. */
	q = qmp_connect(path, 2000);
	assert_non_null(q);
	assert_int_equal(qmp_call(q, "garbage", NULL, 2000, NULL), -1);
	assert_string_equal(err_get(),
	    "QEMU sent malformed JSON on the QMP connection: unexpected character");
	err_clear();
	assert_int_equal(qmp_call(q, "echo", NULL, 2000, NULL), -1);
	assert_string_equal(err_get(),
	    "QEMU sent malformed JSON on the QMP connection: unexpected character");
	assert_int_equal(qmp_dispatch(q), -1);
	assert_int_equal(qmp_send(q, "echo", NULL, NULL, NULL), -1);
	qmp_close(q);

	/* EOF in the middle of a reply, synchronous. */
	q = qmp_connect(path, 2000);
	assert_non_null(q);
	assert_int_equal(qmp_call(q, "die", NULL, 2000, NULL), -1);
	assert_string_equal(err_get(), "QEMU closed the QMP connection");
	qmp_close(q);

	/* The same through the poll loop: answered commands get their
	 * replies, the others the failure. */
	memset(&s, 0, sizeof s);
	q = qmp_connect(path, 2000);
	assert_non_null(q);
	/* The server sleeps over 'late', so all three are written first. */
	assert_int_equal(qmp_send(q, "late", NULL, on_reply, &s), 0);
	assert_int_equal(qmp_send(q, "die", NULL, on_reply, &s), 0);
	assert_int_equal(qmp_send(q, "echo", NULL, on_reply, &s), 0);
	assert_int_equal(pump(q, &s, 3, 3000), -1);
	assert_string_equal(err_get(), "QEMU closed the QMP connection");
	assert_string_equal(s.log, "reply {\"late\":true};error QEMU closed the QMP connection;"
	    "error QEMU closed the QMP connection");
	assert_int_equal(qmp_dispatch(q), -1);
	qmp_close(q);

	/* An endless message is cut off at QMP_MSG_MAX. */
	q = qmp_connect(path, 2000);
	assert_non_null(q);
	t0 = log_now_ms();
	assert_int_equal(qmp_call(q, "flood", NULL, 5000, NULL), -1);
	assert_true(log_now_ms() - t0 < 4000);
	assert_string_equal(err_get(), "QEMU sent a QMP message longer than 1048576 bytes");
	qmp_close(q);

	/* A callback may close the connection. */
	memset(&s, 0, sizeof s);
	q = qmp_connect(path, 2000);
	assert_non_null(q);
	s.close_me = q;
	assert_int_equal(qmp_send(q, "echo", NULL, on_reply, &s), 0);
	assert_int_equal(qmp_send(q, "echo", NULL, on_reply, &s), 0);
	t0 = log_now_ms() + 3000;
	while (s.replies == 0 && log_now_ms() < t0) {
		struct pollfd pfd = { qmp_fd(q), POLLIN, 0 };

		if (poll(&pfd, 1, 100) > 0)
			assert_int_equal(qmp_dispatch(q), 0);
	}
	/* q is gone now; the second reply never ran. */
	assert_int_equal(s.replies, 1);
	assert_string_equal(s.log, "reply {}");
}

static void
test_timeout(void **state)
{
	const char *path = fake_start(*state, GREET_SPLIT);
	json_object *ret;
	long long t0, dt;
	struct qmp *q;

	q = qmp_connect(path, 2000);
	assert_non_null(q);
	t0 = log_now_ms();
	assert_int_equal(qmp_call(q, "hang", NULL, 300, NULL), -1);
	dt = log_now_ms() - t0;
	assert_true(dt >= 290);
	assert_true(dt < 600);
	assert_string_equal(err_get(), "QEMU did not answer 'hang' within 300 ms");

	/* A reply after the deadline is dropped; the next call still pairs
	 * with its own reply. */
	assert_int_equal(qmp_call(q, "late", NULL, 200, NULL), -1);
	assert_string_equal(err_get(), "QEMU did not answer 'late' within 200 ms");
	assert_int_equal(qmp_call(q, "echo", obj1("mine", json_object_new_boolean(1)), 2000, &ret), 0);
	assert_non_null(strstr(json_object_to_json_string(ret), "mine"));
	json_object_put(ret);

	/* A zero timeout does not wait. */
	t0 = log_now_ms();
	assert_int_equal(qmp_call(q, "hang", NULL, 0, NULL), -1);
	assert_true(log_now_ms() - t0 < 100);
	qmp_close(q);
}

static void
test_connect_errors(void **state)
{
	struct fixture *fx = *state;
	char *dir = unit_tmpdir(), *path, *want, *longp;
	const char *bad, *silent;
	long long t0, dt;

	path = xasprintf("%s/nope.sock", dir);
	assert_null(qmp_connect(path, 500));
	want = xasprintf("cannot connect to QMP socket '%s': No such file or directory", path);
	assert_string_equal(err_get(), want);
	free(want);

	/* Not a socket. */
	fclose(fopen(path, "w"));
	assert_null(qmp_connect(path, 500));
	want = xasprintf("cannot connect to QMP socket '%s': Connection refused", path);
	assert_string_equal(err_get(), want);
	free(want);
	free(path);

	longp = xmalloc(200);
	memset(longp, 'x', 199);
	longp[0] = '/';
	longp[199] = '\0';
	assert_null(qmp_connect(longp, 500));
	assert_non_null(strstr(err_get(), "the path is longer than 107 bytes"));
	free(longp);

	bad = fake_start(fx, GREET_BAD);
	assert_null(qmp_connect(bad, 2000));
	want = xasprintf("cannot connect to QMP socket '%s': the peer did not send a QMP greeting",
	    bad);
	assert_string_equal(err_get(), want);
	free(want);

	silent = fake_start(fx, GREET_NONE);
	t0 = log_now_ms();
	assert_null(qmp_connect(silent, 300));
	dt = log_now_ms() - t0;
	assert_true(dt >= 290 && dt < 600);
	want = xasprintf("cannot connect to QMP socket '%s': no greeting within 300 ms", silent);
	assert_string_equal(err_get(), want);
	free(want);
	unit_rmdir(dir);
}

/* ---- a real QEMU ---- */

struct real {
	char *dir;
	pid_t parent;		/* the daemonizing qemu process */
	pid_t pid;		/* the daemon, from the pidfile */
};

static pid_t real_pid_atexit;

static bool
pid_gone(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *fp;
	bool gone = true;

	if (kill(pid, 0) == -1 && errno == ESRCH)
		return true;
	/* A zombie that nobody reaped yet counts as gone. */
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return true;
	if (fgets(buf, sizeof buf, fp) != NULL && (p = strrchr(buf, ')')) != NULL)
		gone = p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
	fclose(fp);
	return gone;
}

static bool
wait_gone(pid_t pid, long ms)
{
	long long deadline = log_now_ms() + ms;

	while (!pid_gone(pid)) {
		if (log_now_ms() >= deadline)
			return false;
		pause_ms(20);
	}
	return true;
}

static void
real_kill(pid_t *pid)
{
	if (*pid > 0 && !pid_gone(*pid)) {
		kill(*pid, SIGKILL);
		wait_gone(*pid, 5000);
	}
	*pid = 0;
}

static void
real_atexit(void)
{
	real_kill(&real_pid_atexit);
}

static int
real_setup(void **state)
{
	struct real *r = xcalloc(1, sizeof *r);

	r->dir = unit_tmpdir();
	*state = r;
	atexit(real_atexit);
	return 0;
}

static int
real_teardown(void **state)
{
	struct real *r = *state;

	if (r->parent > 0) {
		kill(r->parent, SIGKILL);
		waitpid(r->parent, NULL, 0);
	}
	real_kill(&r->pid);
	real_pid_atexit = 0;
	unit_rmdir(r->dir);
	free(r);
	return 0;
}

static void
print_file(const char *path)
{
	char buf[512];
	FILE *fp = fopen(path, "r");

	if (fp == NULL)
		return;
	while (fgets(buf, sizeof buf, fp) != NULL)
		fprintf(stderr, "  | %s", buf);
	fclose(fp);
}

/* Start qemu -daemonize and return once its parent has exited 0. */
static void
real_start(struct real *r, const char *sock, const char *pidfile, const char *logf)
{
	char *qmparg = xasprintf("unix:%s,server=on,wait=off", sock);
	char *argv[] = {
		QEMU_BIN, "-accel", "tcg", "-machine", "q35", "-m", "64", "-nodefaults",
		"-display", "none", "-qmp", qmparg, "-daemonize", "-pidfile", (char *)pidfile,
		NULL,
	};
	long long deadline;
	int status = 0, fd;
	pid_t w;
	FILE *fp;

	r->parent = fork();
	assert_true(r->parent >= 0);
	if (r->parent == 0) {
		fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, 0);
		execv(QEMU_BIN, argv);
		_exit(127);
	}
	free(qmparg);
	deadline = log_now_ms() + 30000;
	while ((w = waitpid(r->parent, &status, WNOHANG)) == 0 && log_now_ms() < deadline)
		pause_ms(20);
	if (w == 0)
		fail_msg("qemu did not daemonize within 30 s");
	r->parent = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		print_file(logf);
		fail_msg("qemu failed to start (status %d)", status);
	}
	fp = fopen(pidfile, "r");
	assert_non_null(fp);
	assert_int_equal(fscanf(fp, "%d", &r->pid), 1);
	fclose(fp);
	assert_true(r->pid > 0);
	real_pid_atexit = r->pid;
}

/* Dispatch until an event named NAME was seen (by the log). */
static void
wait_event(struct qmp *q, struct seen *s, const char *name)
{
	long long deadline = log_now_ms() + 5000;
	char want[64];
	struct pollfd pfd;

	snprintf(want, sizeof want, "event %s", name);
	while (strstr(s->log, want) == NULL) {
		if (log_now_ms() >= deadline)
			fail_msg("no %s event within 5 s (saw: %s)", name, s->log);
		pfd.fd = qmp_fd(q);
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 100) > 0)
			assert_int_equal(qmp_dispatch(q), 0);
	}
}

static void
test_real_qemu(void **state)
{
	struct real *r = *state;
	char *sock, *pidfile, *logf, task[64];
	json_object *ret, *v, *cpu;
	struct seen s;
	struct qmp *q;
	int rc;

	if (access(QEMU_BIN, X_OK) != 0)
		skip();
	sock = xasprintf("%s/q.sock", r->dir);
	pidfile = xasprintf("%s/q.pid", r->dir);
	logf = xasprintf("%s/q.log", r->dir);
	real_start(r, sock, pidfile, logf);

	memset(&s, 0, sizeof s);
	q = qmp_connect(sock, 5000);
	if (q == NULL)
		fail_msg("%s", err_get());
	assert_true(strchr(qmp_version(q), '.') != NULL);
	assert_string_not_equal(qmp_version(q), "0.0.0");
	qmp_set_event_cb(q, on_event, &s);

	assert_int_equal(qmp_call(q, "query-status", NULL, 5000, &ret), 0);
	assert_string_equal(get_str(ret, "status"), "running");
	json_object_put(ret);

	assert_int_equal(qmp_call(q, "stop", NULL, 5000, NULL), 0);
	wait_event(q, &s, "STOP");
	assert_int_equal(qmp_call(q, "query-status", NULL, 5000, &ret), 0);
	assert_string_equal(get_str(ret, "status"), "paused");
	assert_true(json_object_object_get_ex(ret, "running", &v));
	assert_false(json_object_get_boolean(v));
	json_object_put(ret);

	/* QEMU's own error text comes through. */
	assert_int_equal(qmp_call(q, "no-such-command", NULL, 5000, NULL), -1);
	assert_non_null(strstr(err_get(), "QEMU refused 'no-such-command': "));
	assert_non_null(strstr(err_get(), "no-such-command"));

	assert_int_equal(qmp_call(q, "cont", NULL, 5000, NULL), 0);
	wait_event(q, &s, "RESUME");
	assert_int_equal(qmp_call(q, "query-status", NULL, 5000, &ret), 0);
	assert_string_equal(get_str(ret, "status"), "running");
	json_object_put(ret);

	assert_int_equal(qmp_call(q, "query-cpus-fast", NULL, 5000, &ret), 0);
	assert_true(json_object_is_type(ret, json_type_array));
	assert_true(json_object_array_length(ret) >= 1);
	cpu = json_object_array_get_idx(ret, 0);
	assert_true(json_object_object_get_ex(cpu, "thread-id", &v));
	assert_true(json_object_is_type(v, json_type_int));
	/* The vCPU thread belongs to the daemon. */
	snprintf(task, sizeof task, "/proc/%d/task/%d", (int)r->pid, json_object_get_int(v));
	assert_int_equal(access(task, F_OK), 0);
	json_object_put(ret);

	/* quit: the reply may or may not beat the EOF; either way the end is
	 * a clean "closed" and the process goes away. */
	rc = qmp_call(q, "quit", NULL, 5000, NULL);
	if (rc != 0)
		assert_string_equal(err_get(), "QEMU closed the QMP connection");
	{
		long long deadline = log_now_ms() + 10000;
		struct pollfd pfd;

		for (;;) {
			if (log_now_ms() >= deadline)
				fail_msg("QEMU did not close the QMP connection after 'quit'");
			pfd.fd = qmp_fd(q);
			pfd.events = POLLIN;
			if (poll(&pfd, 1, 100) > 0 && qmp_dispatch(q) != 0)
				break;
		}
	}
	assert_string_equal(err_get(), "QEMU closed the QMP connection");
	assert_int_equal(qmp_call(q, "query-status", NULL, 1000, NULL), -1);
	assert_string_equal(err_get(), "QEMU closed the QMP connection");
	qmp_close(q);
	assert_true(wait_gone(r->pid, 10000));
	r->pid = 0;
	real_pid_atexit = 0;
	free(sock);
	free(pidfile);
	free(logf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_calls, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_async, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_job, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_failures, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_timeout, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_connect_errors, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(test_real_qemu, real_setup, real_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("qmp", tests, NULL, NULL);
}
