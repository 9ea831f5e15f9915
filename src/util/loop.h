/* loop: the one poll() loop.  It owns every fd and timer of the UI
 * thread; signal handlers only set flags and wake it through a pipe. */
#ifndef VMTTY_LOOP_H
#define VMTTY_LOOP_H

#include <poll.h>
#include <stdbool.h>

struct loop;

typedef void (*loop_fd_cb)(int fd, short revents, void *arg);
typedef void (*loop_timer_cb)(void *arg);

struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Watch FD for EVENTS (POLLIN, POLLOUT); returns a watch id >= 0. */
int loop_add_fd(struct loop *l, int fd, short events, loop_fd_cb cb, void *arg);
void loop_set_events(struct loop *l, int id, short events);
void loop_remove_fd(struct loop *l, int id);

/* One-shot timer after MS milliseconds; returns a timer id >= 0. */
int loop_add_timer(struct loop *l, long ms, loop_timer_cb cb, void *arg);
void loop_cancel_timer(struct loop *l, int id);

/* Wake a poll() in progress; async-signal-safe. */
void loop_wake(struct loop *l);

/* Wait for events up to MAX_MS (-1: no limit) and dispatch them. */
int loop_run_once(struct loop *l, long max_ms);

#endif
