/* qemu_watch: the built-in backend's events.  Each running qemu has a second
 * QMP monitor (events.sock) that vmtty never uses for commands; this thread
 * keeps one connection to each, so that a pause, a resume or a shutdown
 * made by anyone (another vmtty, a QMP client, the guest itself) reaches
 * the front end at once instead of at its next poll. */
#include "hv/qemu.h"
#include "hv/qmp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/err.h"
#include "util/log.h"
#include "util/paths.h"
#include "util/thread.h"
#include "util/xalloc.h"

#define WATCH_SCAN_MS 1000	/* how often new qemus are looked for */
#define WATCH_CONNECT_MS 500	/* greeting + capabilities on the event socket */
#define WATCH_RETRY_MS 10000	/* another client holds the socket: try later */

struct wvm {
	char dir[PATH_MAX];
	char uuid[UUID_STR_LEN];
	int pid;
	struct qmp *q;		/* NULL while not connected */
	long long retry_at;
	bool seen;		/* found by the latest scan */
	struct qemu_watch *w;
};

struct qemu_watch {
	char *base;
	hv_event_cb cb;
	void *arg;
	pthread_t thread;
	int wake[2];		/* written by qemu_watch_stop */
	atomic_bool stop;
	struct wvm **vms;
	size_t nvms;
};

static void
emit(struct qemu_watch *w, const char *uuid, enum hv_state state, const char *why)
{
	struct hv_event ev;

	memset(&ev, 0, sizeof ev);
	ev.kind = HV_EV_STATE;
	ev.state = state;
	snprintf(ev.uuid, sizeof ev.uuid, "%s", uuid);
	snprintf(ev.reason, sizeof ev.reason, "%s", why);
	w->cb(&ev, w->arg);
}

/* An event from one VM's monitor: the ones that change what a list shows. */
static void
on_qmp_event(const char *event, json_object *data, void *arg)
{
	static const struct {
		const char *name;
		enum hv_state state;
	} map[] = {
		{ "STOP", HV_PAUSED },
		{ "RESUME", HV_RUNNING },
		{ "SHUTDOWN", HV_SHUTTING_DOWN },
		{ "POWERDOWN", HV_RUNNING },
		{ "RESET", HV_RUNNING },
		{ "BALLOON_CHANGE", HV_RUNNING },
	};
	struct wvm *vm = arg;

	(void)data;
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(event, map[i].name) == 0) {
			log_debug("qemu_watch: %s: %s", vm->uuid, event);
			emit(vm->w, vm->uuid, map[i].state, event);
			return;
		}
}

static void
wvm_drop(struct qemu_watch *w, size_t i, const char *why)
{
	struct wvm *vm = w->vms[i];

	if (vm->q != NULL) {
		qmp_close(vm->q);
		emit(w, vm->uuid, HV_UNKNOWN, why);
	}
	free(vm);
	w->vms[i] = w->vms[--w->nvms];
}

/* Find qemus that appeared or went away under BASE. */
static void
scan(struct qemu_watch *w)
{
	struct dirent *de;
	DIR *d;

	for (size_t i = 0; i < w->nvms; i++)
		w->vms[i]->seen = false;
	if ((d = opendir(w->base)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			char dir[PATH_MAX], uuid[UUID_STR_LEN];
			struct wvm *vm = NULL;
			int pid;

			if (de->d_name[0] == '.' ||
			    paths_join(dir, sizeof dir, w->base, de->d_name) != 0 ||
			    !qemu_dir_running(dir, &pid, uuid, sizeof uuid, NULL, 0) ||
			    uuid[0] == '\0')
				continue;
			for (size_t i = 0; i < w->nvms && vm == NULL; i++)
				if (strcmp(w->vms[i]->dir, dir) == 0 && w->vms[i]->pid == pid)
					vm = w->vms[i];
			if (vm == NULL) {
				vm = xcalloc(1, sizeof *vm);
				snprintf(vm->dir, sizeof vm->dir, "%s", dir);
				snprintf(vm->uuid, sizeof vm->uuid, "%s", uuid);
				vm->pid = pid;
				vm->w = w;
				w->vms = xreallocarray(w->vms, w->nvms + 1, sizeof *w->vms);
				w->vms[w->nvms++] = vm;
			}
			vm->seen = true;
		}
		closedir(d);
	}
	for (size_t i = w->nvms; i-- > 0;)
		if (!w->vms[i]->seen)
			wvm_drop(w, i, "qemu exited");
}

/* Connect the event sockets of VMs that have none yet. */
static void
connect_new(struct qemu_watch *w)
{
	long long now = log_now_ms();

	for (size_t i = 0; i < w->nvms && !atomic_load(&w->stop); i++) {
		struct wvm *vm = w->vms[i];
		char sock[PATH_MAX];

		if (vm->q != NULL || now < vm->retry_at ||
		    paths_join(sock, sizeof sock, vm->dir, "events.sock") != 0)
			continue;
		if ((vm->q = qmp_connect(sock, WATCH_CONNECT_MS)) == NULL) {
			log_debug("qemu_watch: %s: %s", vm->uuid, err_get());
			vm->retry_at = now + WATCH_RETRY_MS;
			continue;
		}
		qmp_set_event_cb(vm->q, on_qmp_event, vm);
		log_debug("qemu_watch: %s: events connected", vm->uuid);
		/* Whatever happened before we listened: the list is asked again. */
		emit(w, vm->uuid, HV_RUNNING, "connected");
	}
}

static void *
watch_main(void *arg)
{
	struct qemu_watch *w = arg;
	long long next_scan = 0;

	while (!atomic_load(&w->stop)) {
		struct pollfd *pfd;
		struct wvm **polled;
		size_t n = 0;
		long long now = log_now_ms();
		int timeout;

		if (now >= next_scan) {
			scan(w);
			connect_new(w);
			next_scan = log_now_ms() + WATCH_SCAN_MS;
		}
		pfd = xcalloc(w->nvms + 1, sizeof *pfd);
		polled = xcalloc(w->nvms + 1, sizeof *polled);
		pfd[n++] = (struct pollfd){ .fd = w->wake[0], .events = POLLIN };
		for (size_t i = 0; i < w->nvms; i++)
			if (w->vms[i]->q != NULL) {
				polled[n] = w->vms[i];
				pfd[n++] = (struct pollfd){ .fd = qmp_fd(w->vms[i]->q),
				    .events = POLLIN | (qmp_want_write(w->vms[i]->q) ? POLLOUT : 0) };
			}
		timeout = (int)(next_scan - log_now_ms());
		if (poll(pfd, n, timeout < 0 ? 0 : timeout) > 0) {
			for (size_t k = 1; k < n; k++) {
				if (pfd[k].revents == 0 || qmp_dispatch(polled[k]->q) == 0)
					continue;
				/* EOF: qemu exited or closed the monitor. */
				for (size_t i = 0; i < w->nvms; i++)
					if (w->vms[i] == polled[k]) {
						wvm_drop(w, i, "event socket closed");
						break;
					}
				next_scan = 0;
			}
		}
		free(pfd);
		free(polled);
	}
	return NULL;
}

struct qemu_watch *
qemu_watch_start(const char *base, hv_event_cb cb, void *arg)
{
	struct qemu_watch *w = xcalloc(1, sizeof *w);
	int err;

	w->base = xstrdup(base);
	w->cb = cb;
	w->arg = arg;
	atomic_init(&w->stop, false);
	if (pipe2(w->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		err_set("cannot watch the built-in VMs: %s", strerror(errno));
		free(w->base);
		free(w);
		return NULL;
	}
	if ((err = thread_start(&w->thread, NULL, watch_main, w)) != 0) {
		err_set("cannot watch the built-in VMs: %s", strerror(err));
		close(w->wake[0]);
		close(w->wake[1]);
		free(w->base);
		free(w);
		return NULL;
	}
	return w;
}

void
qemu_watch_stop(struct qemu_watch *w)
{
	if (w == NULL)
		return;
	atomic_store(&w->stop, true);
	if (write(w->wake[1], "x", 1) < 0)
		log_debug("qemu_watch: wake: %s", strerror(errno));
	pthread_join(w->thread, NULL);
	for (size_t i = 0; i < w->nvms; i++) {
		qmp_close(w->vms[i]->q);
		free(w->vms[i]);
	}
	free(w->vms);
	close(w->wake[0]);
	close(w->wake[1]);
	free(w->base);
	free(w);
}
