/*
 * The QMP client.  One json_tokener parses the byte stream incrementally,
 * so a message may arrive in pieces or several to one read.  Commands carry
 * string ids ("vmtty-N") and replies find their pending entry by id, which
 * lets synchronous calls and queued commands share one connection.
 *
 * Callbacks may call qmp_send, qmp_call and qmp_close: input is kept in the
 * struct, so a nested call goes on where the outer one stopped, and a close
 * from a callback only marks the connection until the outermost call
 * returns.
 */
#include "hv/qmp.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

#define QMP_READ_SIZE 16384
#define QMP_READS_MAX 16	/* per dispatch, so a flood cannot starve the loop */
#define QMP_LOG_MAX 200		/* bytes of each message in the debug log */
#define QMP_RETRY_MS 10		/* connect() again after EAGAIN (backlog full) */
#define QMP_ID_PREFIX "vmtty-"

struct qmp_pending {
	struct qmp_pending *next;
	unsigned long id;
	char *execute;
	qmp_reply_cb cb;
	void *arg;
};

struct qmp {
	int fd;
	char *path;
	bool greeted;
	char version[32];

	json_tokener *tok;
	size_t msglen;		/* bytes fed to the tokener for this message */
	char rbuf[QMP_READ_SIZE];
	size_t rpos, rlen;	/* input not yet fed to the tokener */

	char *wbuf;
	size_t woff, wlen, wsize;

	unsigned long next_id;
	struct qmp_pending *pending, *pending_tail;

	qmp_event_cb event_cb;
	void *event_arg;

	char *failed;		/* why the connection is unusable, or NULL */
	int busy;		/* calls in progress that may run callbacks */
	bool closed;		/* qmp_close from a callback: free when idle */
};

static void qmp_parse(struct qmp *q);

/* Log one line of traffic, cut to QMP_LOG_MAX bytes. */
static void
qmp_trace(const struct qmp *q, const char *dir, const char *s, size_t n)
{
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	log_debug("qmp '%s' %s %.*s%s", q->path, dir, (int)(n > QMP_LOG_MAX ? QMP_LOG_MAX : n),
	    s, n > QMP_LOG_MAX ? "..." : "");
}

/* Mark the connection unusable; the first reason sticks. */
static void __attribute__((format(printf, 2, 3)))
qmp_fail(struct qmp *q, const char *fmt, ...)
{
	va_list ap;

	if (q->failed != NULL)
		return;
	va_start(ap, fmt);
	q->failed = xvasprintf(fmt, ap);
	va_end(ap);
	log_debug("qmp '%s': %s", q->path, q->failed);
}

static void
qmp_pending_free(struct qmp_pending *p)
{
	free(p->execute);
	free(p);
}

/* Unlink the pending command ID; NULL if there is none. */
static struct qmp_pending *
qmp_take(struct qmp *q, unsigned long id)
{
	struct qmp_pending *p, *prev = NULL;

	for (p = q->pending; p != NULL; prev = p, p = p->next) {
		if (p->id != id)
			continue;
		if (prev == NULL)
			q->pending = p->next;
		else
			prev->next = p->next;
		if (q->pending_tail == p)
			q->pending_tail = prev;
		p->next = NULL;
		return p;
	}
	return NULL;
}

/* Fail every pending command of a failed connection through its callback. */
static void
qmp_fail_pending(struct qmp *q)
{
	struct qmp_pending *p;

	while ((p = q->pending) != NULL) {
		q->pending = p->next;
		if (q->pending == NULL)
			q->pending_tail = NULL;
		if (p->cb != NULL && !q->closed)
			p->cb(NULL, q->failed, p->arg);
		qmp_pending_free(p);
	}
}

static void
qmp_free(struct qmp *q)
{
	struct qmp_pending *p;

	while ((p = q->pending) != NULL) {
		q->pending = p->next;
		qmp_pending_free(p);
	}
	if (q->fd != -1)
		close(q->fd);
	if (q->tok != NULL)
		json_tokener_free(q->tok);
	free(q->wbuf);
	free(q->failed);
	free(q->path);
	free(q);
}

/* Write as much of the queue as the socket takes without blocking. */
static void
qmp_flush(struct qmp *q)
{
	ssize_t n;

	while (q->failed == NULL && q->woff < q->wlen) {
		n = send(q->fd, q->wbuf + q->woff, q->wlen - q->woff, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				qmp_fail(q, "QEMU closed the QMP connection");
			else if (errno != EAGAIN && errno != EWOULDBLOCK)
				qmp_fail(q, "cannot write to QMP socket '%s': %s", q->path,
				    strerror(errno));
			return;
		}
		q->woff += (size_t)n;
	}
	if (q->woff == q->wlen)
		q->woff = q->wlen = 0;
}

static void
qmp_append(struct qmp *q, const char *s, size_t n)
{
	if (q->woff > 0) {
		memmove(q->wbuf, q->wbuf + q->woff, q->wlen - q->woff);
		q->wlen -= q->woff;
		q->woff = 0;
	}
	if (q->wlen + n > q->wsize) {
		q->wsize = q->wlen + n > 2 * q->wsize ? q->wlen + n : 2 * q->wsize;
		q->wbuf = xrealloc(q->wbuf, q->wsize);
	}
	memcpy(q->wbuf + q->wlen, s, n);
	q->wlen += n;
}

/* Queue a command and its pending entry, and start writing it; *IDP gets
 * its id.  ARGS is consumed whatever happens. */
static int
qmp_queue(struct qmp *q, const char *execute, json_object *args, qmp_reply_cb cb, void *arg,
    unsigned long *idp)
{
	struct qmp_pending *p;
	json_object *cmd;
	const char *s;
	char id[32];
	size_t n;

	if (q->failed != NULL || q->closed) {
		json_object_put(args);
		return err_set("%s", q->failed != NULL ? q->failed : "the QMP connection is closed");
	}
	p = xcalloc(1, sizeof *p);
	p->id = ++q->next_id;
	p->execute = xstrdup(execute);
	p->cb = cb;
	p->arg = arg;
	snprintf(id, sizeof id, QMP_ID_PREFIX "%lu", p->id);

	cmd = json_object_new_object();
	json_object_object_add(cmd, "execute", json_object_new_string(execute));
	if (args != NULL)
		json_object_object_add(cmd, "arguments", args);
	json_object_object_add(cmd, "id", json_object_new_string(id));
	s = json_object_to_json_string_length(cmd,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	qmp_trace(q, "->", s, n);
	qmp_append(q, s, n);
	qmp_append(q, "\n", 1);
	json_object_put(cmd);

	if (q->pending_tail == NULL)
		q->pending = p;
	else
		q->pending_tail->next = p;
	q->pending_tail = p;
	*idp = p->id;

	qmp_flush(q);
	if (q->failed != NULL) {
		qmp_pending_free(qmp_take(q, p->id));
		return err_set("%s", q->failed);
	}
	return 0;
}

/* The first message: it must be a QMP greeting. */
static void
qmp_greeting(struct qmp *q, json_object *msg)
{
	json_object *g, *v, *qemu;
	int64_t major = 0, minor = 0, micro = 0;

	if (!json_object_object_get_ex(msg, "QMP", &g) || !json_object_is_type(g, json_type_object)) {
		qmp_fail(q, "the peer did not send a QMP greeting");
		return;
	}
	if (json_object_object_get_ex(g, "version", &v) &&
	    json_object_object_get_ex(v, "qemu", &qemu)) {
		if (json_object_object_get_ex(qemu, "major", &v))
			major = json_object_get_int64(v);
		if (json_object_object_get_ex(qemu, "minor", &v))
			minor = json_object_get_int64(v);
		if (json_object_object_get_ex(qemu, "micro", &v))
			micro = json_object_get_int64(v);
	}
	snprintf(q->version, sizeof q->version, "%lld.%lld.%lld", (long long)major,
	    (long long)minor, (long long)micro);
	q->greeted = true;
}

/* A reply: find its command by id and run the callback. */
static void
qmp_reply(struct qmp *q, json_object *msg)
{
	json_object *idv, *ret = NULL, *e, *v;
	struct qmp_pending *p = NULL;
	const char *ids, *desc = NULL;
	unsigned long id;
	char *end, *text;

	if (json_object_object_get_ex(msg, "id", &idv) && json_object_is_type(idv, json_type_string)) {
		ids = json_object_get_string(idv);
		if (strncmp(ids, QMP_ID_PREFIX, strlen(QMP_ID_PREFIX)) == 0) {
			errno = 0;
			id = strtoul(ids + strlen(QMP_ID_PREFIX), &end, 10);
			if (errno == 0 && *end == '\0')
				p = qmp_take(q, id);
		}
	}
	if (p == NULL) {
		log_debug("qmp '%s': dropping a reply to no pending command", q->path);
		return;
	}
	if (json_object_object_get_ex(msg, "return", &ret)) {
		if (p->cb != NULL)
			p->cb(ret, NULL, p->arg);
	} else {
		if (json_object_object_get_ex(msg, "error", &e)) {
			if (json_object_object_get_ex(e, "desc", &v))
				desc = json_object_get_string(v);
			else if (json_object_object_get_ex(e, "class", &v))
				desc = json_object_get_string(v);
		}
		text = xasprintf("QEMU refused '%s': %s", p->execute,
		    desc != NULL ? desc : "no reason given");
		if (p->cb != NULL)
			p->cb(NULL, text, p->arg);
		free(text);
	}
	qmp_pending_free(p);
}

/* One complete message from QEMU. */
static void
qmp_message(struct qmp *q, json_object *msg)
{
	json_object *ev, *data = NULL;

	if (!json_object_is_type(msg, json_type_object)) {
		qmp_fail(q, "QEMU sent a QMP message that is not a JSON object");
		return;
	}
	if (!q->greeted) {
		qmp_greeting(q, msg);
		return;
	}
	if (json_object_object_get_ex(msg, "event", &ev)) {
		if (!json_object_is_type(ev, json_type_string)) {
			log_debug("qmp '%s': ignoring an event without a name", q->path);
			return;
		}
		json_object_object_get_ex(msg, "data", &data);
		if (q->event_cb != NULL)
			q->event_cb(json_object_get_string(ev), data, q->event_arg);
	} else if (json_object_object_get_ex(msg, "return", NULL) ||
	    json_object_object_get_ex(msg, "error", NULL))
		qmp_reply(q, msg);
	else
		log_debug("qmp '%s': ignoring a message that is no reply and no event", q->path);
}

/*
 * Feed buffered input to the tokener and handle each complete message.
 * Stops when the input runs out, the connection fails or a callback closed
 * it; the tokener is reset before each message is handled, so a nested
 * call from a callback can parse the rest.
 */
static void
qmp_parse(struct qmp *q)
{
	enum json_tokener_error e;
	json_object *msg;
	const char *s;
	size_t n, used;

	while (q->rpos < q->rlen && q->failed == NULL && !q->closed) {
		n = q->rlen - q->rpos;
		msg = json_tokener_parse_ex(q->tok, q->rbuf + q->rpos, (int)n);
		e = json_tokener_get_error(q->tok);
		if (e == json_tokener_continue) {
			q->rpos = q->rlen;
			q->msglen += n;
			if (q->msglen > QMP_MSG_MAX)
				qmp_fail(q, "QEMU sent a QMP message longer than %d bytes", QMP_MSG_MAX);
			return;
		}
		if (e != json_tokener_success) {
			qmp_fail(q, "QEMU sent malformed JSON on the QMP connection: %s",
			    json_tokener_error_desc(e));
			return;
		}
		used = json_tokener_get_parse_end(q->tok);
		q->msglen += used;
		s = q->rbuf + q->rpos;
		q->rpos += used;
		json_tokener_reset(q->tok);
		if (q->msglen > QMP_MSG_MAX) {
			json_object_put(msg);
			qmp_fail(q, "QEMU sent a QMP message longer than %d bytes", QMP_MSG_MAX);
			return;
		}
		if (q->msglen == used)
			qmp_trace(q, "<-", s, used);
		else {
			s = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
			qmp_trace(q, "<-", s, strlen(s));
		}
		q->msglen = 0;
		qmp_message(q, msg);
		json_object_put(msg);
	}
}

/* Read once into the (empty) input buffer: 1 with data, 0 when there is
 * none yet, -1 when the connection failed. */
static int
qmp_read(struct qmp *q)
{
	ssize_t n;

	for (;;) {
		n = recv(q->fd, q->rbuf, sizeof q->rbuf, 0);
		if (n > 0) {
			q->rpos = 0;
			q->rlen = (size_t)n;
			return 1;
		}
		/* ECONNRESET: QEMU exited with our input unread. */
		if (n == 0 || errno == ECONNRESET) {
			qmp_fail(q, "QEMU closed the QMP connection");
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		qmp_fail(q, "cannot read from QMP socket '%s': %s", q->path, strerror(errno));
		return -1;
	}
}

/* Write what is queued, then read and handle what has arrived, up to
 * QMP_READS_MAX reads. */
static void
qmp_io(struct qmp *q)
{
	qmp_flush(q);
	qmp_parse(q);
	for (int i = 0; i < QMP_READS_MAX; i++) {
		if (q->failed != NULL || q->closed || qmp_read(q) <= 0)
			break;
		qmp_parse(q);
	}
}

/* Wait for the socket until DEADLINE and do its I/O: 1 when something
 * happened, 0 at the deadline. */
static int
qmp_wait(struct qmp *q, long long deadline)
{
	struct pollfd pfd;
	long long left;
	int n;

	if (q->rpos < q->rlen) {
		/* Left over by the outer call whose callback we run in. */
		qmp_parse(q);
		return 1;
	}
	left = deadline - log_now_ms();
	if (left <= 0)
		return 0;
	pfd.fd = q->fd;
	pfd.events = POLLIN | (qmp_want_write(q) ? POLLOUT : 0);
	pfd.revents = 0;
	n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
	if (n == -1 && errno != EINTR)
		qmp_fail(q, "cannot poll QMP socket '%s': %s", q->path, strerror(errno));
	if (n > 0)
		qmp_io(q);
	return 1;
}

/* Connect a non-blocking socket to PATH by DEADLINE; -1 + err (the bare
 * reason). */
static int
qmp_open(const char *path, long long deadline)
{
	struct sockaddr_un sa;
	struct pollfd pfd;
	socklen_t elen;
	long long left;
	int fd, e;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa.sun_path)
		return err_set("the path is longer than %zu bytes", sizeof sa.sun_path - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return err_set("%s", strerror(errno));
	while (connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
		e = errno;
		left = deadline - log_now_ms();
		if (e == EAGAIN) {
			/* The listen backlog is full: try again shortly. */
			if (left <= 0)
				goto timeout;
			poll(NULL, 0, left < QMP_RETRY_MS ? (int)left : QMP_RETRY_MS);
			continue;
		}
		if (e != EINPROGRESS && e != EINTR) {
			close(fd);
			return err_set("%s", strerror(e));
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do {
			left = deadline - log_now_ms();
			if (left <= 0)
				goto timeout;
		} while (poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left) != 1);
		elen = sizeof e;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1)
			e = errno;
		if (e != 0) {
			close(fd);
			return err_set("%s", strerror(e));
		}
		break;
	}
	return fd;
timeout:
	close(fd);
	return err_set("timed out");
}

struct qmp *
qmp_connect(const char *path, int timeout_ms)
{
	long long deadline, left;
	struct qmp *q;
	int fd;

	if (timeout_ms < 0)
		timeout_ms = 0;
	deadline = log_now_ms() + timeout_ms;
	if ((fd = qmp_open(path, deadline)) == -1) {
		err_prefix("cannot connect to QMP socket '%s'", path);
		return NULL;
	}
	q = xcalloc(1, sizeof *q);
	q->fd = fd;
	q->path = xstrdup(path);
	if ((q->tok = json_tokener_new()) == NULL)
		xfatal("out of memory");
	json_tokener_set_flags(q->tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);

	while (!q->greeted && q->failed == NULL) {
		if (qmp_wait(q, deadline) == 0) {
			err_set("cannot connect to QMP socket '%s': no greeting within %d ms",
			    path, timeout_ms);
			goto fail;
		}
	}
	if (q->failed != NULL) {
		err_set("cannot connect to QMP socket '%s': %s", path, q->failed);
		goto fail;
	}
	left = deadline - log_now_ms();
	if (qmp_call(q, "qmp_capabilities", NULL, left > 0 ? (int)left : 0, NULL) != 0) {
		err_prefix("cannot connect to QMP socket '%s'", path);
		goto fail;
	}
	log_debug("qmp '%s': connected to QEMU %s", path, q->version);
	return q;
fail:
	qmp_free(q);
	return NULL;
}

void
qmp_close(struct qmp *q)
{
	if (q == NULL)
		return;
	if (q->busy > 0) {
		q->closed = true;
		return;
	}
	qmp_free(q);
}

int
qmp_fd(const struct qmp *q)
{
	return q->fd;
}

const char *
qmp_version(const struct qmp *q)
{
	return q->version;
}

void
qmp_set_event_cb(struct qmp *q, qmp_event_cb cb, void *arg)
{
	q->event_cb = cb;
	q->event_arg = arg;
}

bool
qmp_want_write(const struct qmp *q)
{
	return q->failed == NULL && q->woff < q->wlen;
}

int
qmp_send(struct qmp *q, const char *execute, json_object *args, qmp_reply_cb cb, void *arg)
{
	unsigned long id;

	return qmp_queue(q, execute, args, cb, arg, &id);
}

struct qmp_sync {
	bool done;
	json_object *ret;
	char *error;
};

static void
qmp_sync_cb(json_object *ret, const char *error, void *arg)
{
	struct qmp_sync *s = arg;

	s->done = true;
	if (error != NULL)
		s->error = xstrdup(error);
	else
		s->ret = json_object_get(ret);
}

int
qmp_call(struct qmp *q, const char *execute, json_object *args, int timeout_ms,
    json_object **ret)
{
	struct qmp_sync s = { false, NULL, NULL };
	struct qmp_pending *p;
	long long deadline;
	unsigned long id;
	int rc = -1;

	if (ret != NULL)
		*ret = NULL;
	if (timeout_ms < 0)
		timeout_ms = 0;
	deadline = log_now_ms() + timeout_ms;
	q->busy++;
	if (qmp_queue(q, execute, args, qmp_sync_cb, &s, &id) != 0)
		goto out;
	while (!s.done && q->failed == NULL && !q->closed)
		if (qmp_wait(q, deadline) == 0)
			break;
	if (q->failed != NULL)
		qmp_fail_pending(q);	/* ours too, unless answered */
	if (!s.done && (p = qmp_take(q, id)) != NULL)
		qmp_pending_free(p);	/* a late reply is dropped */
	if (s.error != NULL)
		err_set("%s", s.error);
	else if (s.done) {
		rc = 0;
		if (ret != NULL)
			*ret = s.ret;
		else
			json_object_put(s.ret);
	} else if (q->closed)
		err_set("the QMP connection was closed before QEMU answered '%s'", execute);
	else
		err_set("QEMU did not answer '%s' within %d ms", execute, timeout_ms);
	free(s.error);
out:
	if (--q->busy == 0 && q->closed)
		qmp_free(q);
	return rc;
}

int
qmp_dispatch(struct qmp *q)
{
	int rc = 0;

	q->busy++;
	if (q->failed == NULL)
		qmp_io(q);
	if (q->failed != NULL) {
		qmp_fail_pending(q);
		rc = err_set("%s", q->failed);
	}
	if (--q->busy == 0 && q->closed) {
		qmp_free(q);
		return 0;
	}
	return rc;
}

/* Job ID's status in query-jobs' answer RET, and its error (both
 * borrowed); false when RET does not have it. */
static bool
job_find(json_object *ret, const char *id, const char **status, const char **error)
{
	for (size_t i = 0; json_object_is_type(ret, json_type_array) &&
	    i < json_object_array_length(ret); i++) {
		json_object *j = json_object_array_get_idx(ret, i), *v;

		if (!json_object_object_get_ex(j, "id", &v) ||
		    strcmp(json_object_get_string(v), id) != 0)
			continue;
		*status = json_object_object_get_ex(j, "status", &v) ?
		    json_object_get_string(v) : "";
		*error = json_object_object_get_ex(j, "error", &v) ?
		    json_object_get_string(v) : NULL;
		return true;
	}
	return false;
}

/* Wait for job ID (EXECUTE) as qmp_job says; ADOPTED: another client
 * started it, so a missing job has ended and the deadline cancels nothing. */
static int
job_wait(struct qmp *q, const char *id, const char *execute, int timeout_ms, bool adopted)
{
	long long deadline = log_now_ms() + timeout_ms;
	bool completed = false;

	for (;;) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		const char *status, *error;
		json_object *ret = NULL, *a;
		char *why;

		if (qmp_call(q, "query-jobs", NULL, QMP_JOB_CALL_MS, &ret) != 0)
			return -1;
		if (!job_find(ret, id, &status, &error)) {
			json_object_put(ret);
			if (adopted)
				return 0;
			return err_set("QEMU's job '%s' (%s) went away before it ended", id, execute);
		}
		if (strcmp(status, "concluded") == 0) {
			why = error != NULL && !adopted ? xstrdup(error) : NULL;
			json_object_put(ret);
			a = json_object_new_object();
			json_object_object_add(a, "id", json_object_new_string(id));
			qmp_call(q, "job-dismiss", a, QMP_JOB_CALL_MS, NULL);
			if (why == NULL)
				return 0;
			err_set("%s", why);
			free(why);
			return -1;
		}
		/* An active commit waits in "ready" until it is told to finish. */
		if (strcmp(status, "ready") == 0 && !completed && !adopted) {
			a = json_object_new_object();
			json_object_object_add(a, "id", json_object_new_string(id));
			if (qmp_call(q, "job-complete", a, QMP_JOB_CALL_MS, NULL) != 0) {
				json_object_put(ret);
				return -1;
			}
			completed = true;
		}
		json_object_put(ret);
		if (log_now_ms() > deadline) {
			if (adopted)
				return err_set("QEMU's job '%s' is still running", id);
			a = json_object_new_object();
			json_object_object_add(a, "id", json_object_new_string(id));
			qmp_call(q, "job-cancel", a, QMP_JOB_CALL_MS, NULL);
			return err_set("QEMU's job '%s' (%s) did not end within %d %s; it was asked to "
			    "stop", id, execute, timeout_ms >= 1000 ? timeout_ms / 1000 : timeout_ms,
			    timeout_ms >= 1000 ? "s" : "ms");
		}
		nanosleep(&ts, NULL);
	}
}

int
qmp_job(struct qmp *q, const char *execute, json_object *args, int timeout_ms)
{
	json_object *v;
	char id[128];

	if (args == NULL || !json_object_object_get_ex(args, "job-id", &v)) {
		json_object_put(args);
		return err_set("QMP command '%s' was sent without a job-id", execute);
	}
	snprintf(id, sizeof id, "%s", json_object_get_string(v));
	if (qmp_call(q, execute, args, QMP_JOB_CALL_MS, NULL) != 0)
		return -1;
	return job_wait(q, id, execute, timeout_ms, false);
}

int
qmp_job_wait(struct qmp *q, const char *id, int timeout_ms)
{
	return job_wait(q, id, "job", timeout_ms, true);
}
