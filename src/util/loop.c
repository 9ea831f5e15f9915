#include "util/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

struct loop_watch {
	int fd;			/* -1: free slot */
	short events;
	loop_fd_cb cb;
	void *arg;
};

struct loop_timer {
	long long due;		/* 0: free slot */
	loop_timer_cb cb;
	void *arg;
};

struct loop {
	struct loop_watch *w;
	size_t nw;
	struct loop_timer *t;
	size_t nt;
	struct pollfd *pfd;
	int *pid;		/* pfd index -> watch id */
	int wake[2];
};

struct loop *
loop_new(void)
{
	struct loop *l = xcalloc(1, sizeof *l);

	/* pfd[0] is always the wake pipe. */
	l->pfd = xcalloc(1, sizeof *l->pfd);
	l->pid = xcalloc(1, sizeof *l->pid);

	if (pipe2(l->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		err_set("cannot create a pipe: %s", strerror(errno));
		free(l->pfd);
		free(l->pid);
		free(l);
		return NULL;
	}
	return l;
}

void
loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	close(l->wake[0]);
	close(l->wake[1]);
	free(l->w);
	free(l->t);
	free(l->pfd);
	free(l->pid);
	free(l);
}

int
loop_add_fd(struct loop *l, int fd, short events, loop_fd_cb cb, void *arg)
{
	size_t i;

	for (i = 0; i < l->nw; i++)
		if (l->w[i].fd < 0)
			break;
	if (i == l->nw) {
		l->w = xreallocarray(l->w, ++l->nw, sizeof *l->w);
		l->pfd = xreallocarray(l->pfd, l->nw + 1, sizeof *l->pfd);
		l->pid = xreallocarray(l->pid, l->nw + 1, sizeof *l->pid);
	}
	l->w[i] = (struct loop_watch){ fd, events, cb, arg };
	return (int)i;
}

void
loop_set_events(struct loop *l, int id, short events)
{
	if (id >= 0 && (size_t)id < l->nw)
		l->w[id].events = events;
}

void
loop_remove_fd(struct loop *l, int id)
{
	if (id >= 0 && (size_t)id < l->nw)
		l->w[id].fd = -1;
}

int
loop_add_timer(struct loop *l, long ms, loop_timer_cb cb, void *arg)
{
	size_t i;

	for (i = 0; i < l->nt; i++)
		if (l->t[i].due == 0)
			break;
	if (i == l->nt)
		l->t = xreallocarray(l->t, ++l->nt, sizeof *l->t);
	l->t[i] = (struct loop_timer){ log_now_ms() + (ms < 0 ? 0 : ms), cb, arg };
	return (int)i;
}

void
loop_cancel_timer(struct loop *l, int id)
{
	if (id >= 0 && (size_t)id < l->nt)
		l->t[id].due = 0;
}

void
loop_wake(struct loop *l)
{
	int saved = errno;
	ssize_t r = write(l->wake[1], "", 1);

	(void)r;
	errno = saved;
}

static void
run_timers(struct loop *l)
{
	long long now = log_now_ms();

	for (size_t i = 0; i < l->nt; i++) {
		struct loop_timer t = l->t[i];

		if (t.due == 0 || t.due > now)
			continue;
		/* Free the slot first: the callback may add a timer. */
		l->t[i].due = 0;
		t.cb(t.arg);
	}
}

int
loop_run_once(struct loop *l, long max_ms)
{
	long long now = log_now_ms(), next = -1;
	nfds_t n = 0;
	int timeout, rc;
	char drain[64];

	for (size_t i = 0; i < l->nt; i++)
		if (l->t[i].due != 0 && (next < 0 || l->t[i].due < next))
			next = l->t[i].due;
	timeout = next < 0 ? -1 : (int)(next > now ? next - now : 0);
	if (max_ms >= 0 && (timeout < 0 || timeout > max_ms))
		timeout = (int)max_ms;

	l->pfd[n] = (struct pollfd){ .fd = l->wake[0], .events = POLLIN };
	l->pid[n++] = -1;
	for (size_t i = 0; i < l->nw; i++) {
		if (l->w[i].fd < 0 || l->w[i].events == 0)
			continue;
		l->pfd[n] = (struct pollfd){ .fd = l->w[i].fd, .events = l->w[i].events };
		l->pid[n++] = (int)i;
	}
	rc = poll(l->pfd, n, timeout);
	if (rc < 0 && errno != EINTR)
		return err_set("poll failed: %s", strerror(errno));
	if (rc > 0 && (l->pfd[0].revents & POLLIN))
		while (read(l->wake[0], drain, sizeof drain) > 0)
			;
	for (nfds_t i = 1; rc > 0 && i < n; i++) {
		int id = l->pid[i];

		/* A callback may have removed this watch or replaced its fd. */
		if (l->pfd[i].revents == 0 || l->w[id].fd != l->pfd[i].fd)
			continue;
		l->w[id].cb(l->w[id].fd, l->pfd[i].revents, l->w[id].arg);
	}
	run_timers(l);
	return 0;
}
