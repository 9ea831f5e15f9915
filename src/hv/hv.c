#include "hv/hv.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "util/err.h"
#include "util/paths.h"
#include "util/plugin.h"
#include "util/xalloc.h"

static const char *const state_names[] = {
	[HV_OFF] = "off",
	[HV_RUNNING] = "running",
	[HV_PAUSED] = "paused",
	[HV_SHUTTING_DOWN] = "shutting-down",
	[HV_CRASHED] = "crashed",
	[HV_UNKNOWN] = "unknown",
	[HV_STARTING] = "starting",
};

static const char *const action_names[] = {
	[HV_SHUTDOWN] = "shutdown",
	[HV_POWEROFF] = "poweroff",
	[HV_REBOOT] = "reboot",
	[HV_RESET] = "reset",
	[HV_PAUSE] = "pause",
	[HV_RESUME] = "resume",
};

static pthread_mutex_t ask_lock = PTHREAD_MUTEX_INITIALIZER;
static hv_ask_fn asker;
static void *asker_arg;
static atomic_int asking;

void
hv_set_asker(hv_ask_fn fn, void *arg)
{
	pthread_mutex_lock(&ask_lock);
	asker = fn;
	asker_arg = arg;
	pthread_mutex_unlock(&ask_lock);
}

/* One line from the terminal; echo off for secrets.  Called with
 * tty_lock held: hosts connect in parallel, their questions do not. */
static char *
tty_ask(const struct hv_question *q)
{
	struct termios old, quiet;
	char buf[1024], *line;
	size_t n = 0;
	bool restore = false;
	char ch;
	int fd;

	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		err_set("libvirt asks for '%s', but there is no terminal to ask on "
		    "(/dev/tty: %s); use an ssh key or a stored credential", q->prompt,
		    strerror(errno));
		return NULL;
	}
	/* Echo off before the prompt: TCSAFLUSH drops what was typed ahead,
	 * so nothing typed after the prompt may be lost. */
	if (!q->echo && tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
	}
	dprintf(fd, "host '%s' (%s): %s%s%s%s: ", q->host, q->uri, q->prompt,
	    q->def != NULL ? " [" : "", q->def != NULL ? q->def : "", q->def != NULL ? "]" : "");
	while (n + 1 < sizeof buf) {
		ssize_t r = read(fd, &ch, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || ch == '\n' || ch == '\r')
			break;
		buf[n++] = ch;
	}
	buf[n] = '\0';
	if (restore) {
		tcsetattr(fd, TCSANOW, &old);
		dprintf(fd, "\n");
	}
	close(fd);
	line = strdup(n == 0 && q->def != NULL ? q->def : buf);
	explicit_bzero(buf, sizeof buf);
	if (line == NULL)
		err_set("out of memory reading '%s'", q->prompt);
	return line;
}

bool
hv_asks_on_terminal(void)
{
	bool tty;

	pthread_mutex_lock(&ask_lock);
	tty = asker == NULL;
	pthread_mutex_unlock(&ask_lock);
	return tty;
}

char *
hv_ask(const struct hv_question *q)
{
	static pthread_mutex_t tty_lock = PTHREAD_MUTEX_INITIALIZER;
	hv_ask_fn fn;
	void *arg;
	char *answer;

	pthread_mutex_lock(&ask_lock);
	fn = asker;
	arg = asker_arg;
	pthread_mutex_unlock(&ask_lock);
	atomic_fetch_add(&asking, 1);
	if (fn != NULL) {
		answer = fn(q, arg);
	} else {
		pthread_mutex_lock(&tty_lock);
		answer = tty_ask(q);
		pthread_mutex_unlock(&tty_lock);
	}
	atomic_fetch_sub(&asking, 1);
	return answer;
}

int
hv_asking(void)
{
	return atomic_load(&asking);
}

const char *
hv_state_name(enum hv_state s)
{
	return (unsigned)s < sizeof state_names / sizeof state_names[0] ? state_names[s] : "unknown";
}

const char *
hv_action_name(enum hv_action a)
{
	return (unsigned)a < sizeof action_names / sizeof action_names[0] ? action_names[a] : "?";
}

int
hv_action_parse(const char *name, enum hv_action *a)
{
	for (size_t i = 0; i < sizeof action_names / sizeof action_names[0]; i++) {
		if (strcmp(action_names[i], name) == 0) {
			*a = (enum hv_action)i;
			return 0;
		}
	}
	return -1;
}

enum hv_state
hv_state_parse(const char *name)
{
	for (size_t i = 0; i < sizeof state_names / sizeof state_names[0]; i++)
		if (strcmp(state_names[i], name) == 0)
			return (enum hv_state)i;
	return HV_UNKNOWN;
}

/* Linked in directly by test programs; otherwise NULL, and the backend
 * comes from the plugin. */
extern const struct hv_ops hv_libvirt_ops __attribute__((weak));

static const struct hv_ops *
libvirt_ops(void)
{
	if (&hv_libvirt_ops != NULL)
		return &hv_libvirt_ops;
	return plugin_symbol("libvirt", "hv_libvirt_ops");
}

struct hv *
hv_open(const struct host *host)
{
	const struct hv_ops *ops;
	struct hv *hv;

	if (host->kind == HOST_BUILTIN && strcmp(host->uri, "vmtty:///local") != 0)
		return err_set("host '%s': only vmtty:///local is supported by the built-in "
		    "backend yet, not '%s'", host->name, host->uri), NULL;
	ops = host->kind == HOST_BUILTIN ? &hv_qemu_ops : libvirt_ops();
	if (ops == NULL)
		return err_prefix("host '%s'", host->name), NULL;
	hv = xcalloc(1, sizeof *hv);
	hv->ops = ops;
	hv->host.id = host->id;
	hv->host.name = xstrdup(host->name);
	hv->host.uri = xstrdup(host->uri);
	hv->host.kind = host->kind;
	hv->host.autoconnect = host->autoconnect;
	if (hv->ops->open != NULL && hv->ops->open(hv) != 0) {
		host_clear(&hv->host);
		free(hv);
		return NULL;
	}
	return hv;
}

void
hv_close(struct hv *hv)
{
	if (hv == NULL)
		return;
	if (hv->ops->close != NULL)
		hv->ops->close(hv);
	/* The backend calls no callback any more: its argument can go. */
	if (hv->watch_free != NULL)
		hv->watch_free(hv->watch_arg);
	host_clear(&hv->host);
	free(hv);
}

static int
unsupported(struct hv *hv, const char *what)
{
	return err_set("%s is not supported by the %s backend", what, hv->ops->name);
}

int
hv_check(struct hv *hv, const struct vm_config *c)
{
	if (vm_config_validate(c) != 0)
		return -1;
	return hv->ops->check != NULL ? hv->ops->check(hv, c) : 0;
}

int
hv_status(struct hv *hv, const struct vm_config *c, struct hv_status *st)
{
	memset(st, 0, sizeof *st);
	if (hv->ops->status == NULL)
		return unsupported(hv, "reading VM state");
	return hv->ops->status(hv, c, st);
}

int
hv_status_all(struct hv *hv, const struct vm_summary *v, size_t n, hv_status_fn fn, void *arg)
{
	if (hv->ops->status_all != NULL)
		return hv->ops->status_all(hv, v, n, fn, arg);
	for (size_t i = 0; i < n; i++) {
		struct vm_config c = { 0 };
		struct hv_status st;

		if (strcmp(v[i].host, hv->host.name) != 0)
			continue;
		memcpy(c.uuid, v[i].uuid, sizeof c.uuid);
		c.name = v[i].name;
		if (hv_status(hv, &c, &st) == 0)
			fn(i, &st, arg);
	}
	return 0;
}

int
hv_peek(struct hv *hv, const struct vm_config *c, struct hv_status *st)
{
	memset(st, 0, sizeof *st);
	if (hv->ops->peek == NULL)
		return unsupported(hv, "reading VM state without blocking");
	return hv->ops->peek(hv, c, st);
}

int
hv_start(struct hv *hv, const struct vm_config *c, char *note, size_t notelen)
{
	if (notelen > 0)
		note[0] = '\0';
	if (hv->ops->start == NULL)
		return unsupported(hv, "starting VMs");
	return hv->ops->start(hv, c, note, notelen);
}

int
hv_start_if(struct hv *hv, const struct vm_config *c, enum hv_state from, char *note,
    size_t notelen)
{
	if (notelen > 0)
		note[0] = '\0';
	if (hv->ops->start_if == NULL)
		return unsupported(hv, "supervised starts");
	return hv->ops->start_if(hv, c, from, note, notelen);
}

bool
hv_busy(struct hv *hv, const struct vm_config *c)
{
	return hv->ops->busy != NULL && hv->ops->busy(hv, c);
}

int
hv_action(struct hv *hv, const struct vm_config *c, enum hv_action a)
{
	if (hv->ops->action == NULL)
		return unsupported(hv, hv_action_name(a));
	return hv->ops->action(hv, c, a);
}

int
hv_argv(struct hv *hv, const struct vm_config *c, struct strv *out)
{
	if (hv->ops->argv == NULL)
		return unsupported(hv, "showing a command line");
	return hv->ops->argv(hv, c, out);
}

int
hv_undefine(struct hv *hv, const struct vm_config *c)
{
	if (hv->ops->undefine == NULL)
		return unsupported(hv, "deleting VMs");
	return hv->ops->undefine(hv, c);
}

int
hv_serial_log(struct hv *hv, const struct vm_config *c, char *path, size_t len)
{
	if (hv->ops->serial_log == NULL)
		return unsupported(hv, "a serial log");
	return hv->ops->serial_log(hv, c, path, len);
}

int
hv_list(struct hv *hv, struct hv_domain **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (hv->ops->list == NULL)
		return unsupported(hv, "listing the host's own domains");
	return hv->ops->list(hv, out, n);
}

void
hv_domains_free(struct hv_domain *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(d[i].name);
	free(d);
}

struct vm_seen *
hv_domains_seen(const struct hv_domain *d, size_t n)
{
	struct vm_seen *seen = xcalloc(n + 1, sizeof *seen);

	for (size_t i = 0; i < n; i++) {
		seen[i].uuid = d[i].uuid;
		seen[i].name = d[i].name;
		seen[i].state = hv_state_name(d[i].state);
		seen[i].vcpus = d[i].vcpus;
		seen[i].memory_mib = d[i].memory_mib;
		seen[i].max_memory_mib = d[i].max_memory_mib;
		seen[i].autostart = d[i].autostart;
		seen[i].persistent = d[i].persistent;
	}
	return seen;
}

int
hv_define(struct hv *hv, const struct vm_config *c)
{
	if (hv->ops->define == NULL)
		return unsupported(hv, "defining VMs");
	return hv->ops->define(hv, c);
}

int
hv_redefine(struct hv *hv, const struct vm_config *old, const struct vm_config *c)
{
	if (hv->ops->redefine == NULL)
		return hv_define(hv, c);
	return hv->ops->redefine(hv, old, c);
}

int
hv_describe(struct hv *hv, const struct vm_config *c, char **out)
{
	*out = NULL;
	if (hv->ops->describe == NULL)
		return unsupported(hv, "showing domain XML");
	return hv->ops->describe(hv, c, out);
}

int
hv_set_autostart(struct hv *hv, const struct vm_config *c, bool on)
{
	if (hv->ops->set_autostart == NULL)
		return unsupported(hv, "autostart");
	return hv->ops->set_autostart(hv, c, on);
}

int
hv_watch(struct hv *hv, hv_event_cb cb, void *arg, void (*free_arg)(void *arg))
{
	void *old_arg = hv->watch_arg;
	void (*old_free)(void *) = hv->watch_free;

	if (hv->ops->watch == NULL)
		return unsupported(hv, "watching for events");
	if (hv->ops->watch(hv, cb, arg) != 0)
		return -1;
	hv->watch_arg = arg;
	hv->watch_free = free_arg;
	/* Watched again: the backend let go of the earlier argument. */
	if (old_free != NULL)
		old_free(old_arg);
	return 0;
}

int
hv_console_open(struct hv *hv, const struct vm_config *c, bool force, int *fd)
{
	*fd = -1;
	if (hv->ops->console_open == NULL)
		return unsupported(hv, "a serial console");
	return hv->ops->console_open(hv, c, force, fd);
}

int
hv_pool_list(struct hv *hv, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	if (hv->ops->pool_list == NULL)
		return unsupported(hv, "listing storage pools");
	return hv->ops->pool_list(hv, names, n);
}

int
hv_volume_create(struct hv *hv, const struct hv_volume *v, char **path)
{
	*path = NULL;
	if (hv->ops->volume_create == NULL)
		return unsupported(hv, "creating storage volumes");
	return hv->ops->volume_create(hv, v, path);
}

int
hv_volume_delete(struct hv *hv, const char *path)
{
	if (hv->ops->volume_delete == NULL)
		return unsupported(hv, "deleting storage volumes");
	return hv->ops->volume_delete(hv, path);
}

int
hv_graphics_open(struct hv *hv, const struct vm_config *c, int *fd)
{
	*fd = -1;
	if (c->graphics != NULL && strcmp(c->graphics, "none") == 0)
		return err_set("VM '%s' has no graphical display (graphics=none); use its serial "
		    "console instead", c->name);
	if (hv->ops->graphics_open == NULL)
		return unsupported(hv, "a graphical console");
	return hv->ops->graphics_open(hv, c, fd);
}

int
hv_host_info(struct hv *hv, struct hv_host_info *out)
{
	memset(out, 0, sizeof *out);
	if (hv->ops->host_info == NULL)
		return unsupported(hv, "host information");
	if (hv->ops->host_info(hv, out) != 0) {
		hv_host_info_clear(out);
		return -1;
	}
	return 0;
}

void
hv_host_info_clear(struct hv_host_info *hi)
{
	free(hi->cpu);
	memset(hi, 0, sizeof *hi);
}

int
hv_ksm_set(struct hv *hv, bool on)
{
	if (hv->ops->ksm_set == NULL)
		return unsupported(hv, "changing KSM");
	return hv->ops->ksm_set(hv, on);
}

int
hv_tune(struct hv *hv, const struct vm_config *c, unsigned what)
{
	if (hv->ops->tune == NULL)
		return unsupported(hv, "tuning");
	return hv->ops->tune(hv, c, what);
}

int
hv_tune_state(struct hv *hv, const struct vm_config *c, struct hv_tune_state *out)
{
	memset(out, 0, sizeof *out);
	if (hv->ops->tune_state == NULL)
		return unsupported(hv, "reading a VM's tuning");
	if (hv->ops->tune_state(hv, c, out) != 0) {
		hv_tune_state_clear(out);
		return -1;
	}
	return 0;
}

void
hv_tune_state_clear(struct hv_tune_state *ts)
{
	free(ts->vcpu);
	memset(ts, 0, sizeof *ts);
}

/* Both hosts must be of one backend that migrates. */
static int
migratable(struct hv *hv, struct hv *dst, const char *what)
{
	if (hv->ops->migrate == NULL)
		return unsupported(hv, what);
	if (dst->ops != hv->ops)
		return err_set("host '%s' (%s) and host '%s' (%s) are of different kinds: a "
		    "running VM moves only between libvirt hosts; stop it and move it with "
		    "--offline", hv->host.name, hv->ops->name, dst->host.name, dst->ops->name);
	return 0;
}

int
hv_migrate_check(struct hv *hv, struct hv *dst, const struct vm_config *c,
    const struct hv_migrate_opts *o, struct hv_migrate_check *out)
{
	memset(out, 0, sizeof *out);
	out->free_kib = out->copy_bytes = -1;
	if (migratable(hv, dst, "live migration") != 0)
		return -1;
	if (hv->ops->migrate_check == NULL)
		return unsupported(hv, "checking a migration");
	return hv->ops->migrate_check(hv, dst, c, o, out);
}

int
hv_migrate(struct hv *hv, struct hv *dst, const struct vm_config *c,
    const struct hv_migrate_opts *o, hv_migrate_fn fn, void *arg)
{
	if (migratable(hv, dst, "live migration") != 0)
		return -1;
	return hv->ops->migrate(hv, dst, c, o, fn, arg);
}

int
hv_migrate_abort(struct hv *hv, const struct vm_config *c)
{
	if (hv->ops->migrate_abort == NULL)
		return unsupported(hv, "stopping a migration");
	return hv->ops->migrate_abort(hv, c);
}

void
hv_keep_set(struct hv *hv, const struct hv_keep *k, size_t n)
{
	hv->keep = k;
	hv->nkeep = k != NULL ? n : 0;
}

const char *
hv_kept(const struct hv *hv, const char *path)
{
	for (size_t i = 0; i < hv->nkeep; i++)
		if (paths_same_file(hv->keep[i].path, path))
			return hv->keep[i].vm;
	return NULL;
}

int
hv_snapshot_list(struct hv *hv, const struct vm_config *c, struct vm_snapshot **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (hv->ops->snapshot_list == NULL)
		return unsupported(hv, "listing snapshots");
	return hv->ops->snapshot_list(hv, c, out, n);
}

int
hv_snapshot_create(struct hv *hv, struct vm_config *c, const struct vm_snapshot *all, size_t n,
    struct vm_snapshot *s)
{
	if (hv->ops->snapshot_create == NULL)
		return unsupported(hv, "snapshots");
	return hv->ops->snapshot_create(hv, c, all, n, s);
}

int
hv_snapshot_revert(struct hv *hv, struct vm_config *c, const struct vm_snapshot *all, size_t n,
    const char *name)
{
	if (hv->ops->snapshot_revert == NULL)
		return unsupported(hv, "reverting to a snapshot");
	return hv->ops->snapshot_revert(hv, c, all, n, name);
}

int
hv_snapshot_delete(struct hv *hv, struct vm_config *c, struct vm_snapshot **all, size_t *n,
    const char *name, bool children)
{
	if (hv->ops->snapshot_delete == NULL)
		return unsupported(hv, "deleting snapshots");
	return hv->ops->snapshot_delete(hv, c, all, n, name, children);
}

int
hv_snapshot_recover(struct hv *hv, struct vm_config *c, struct vm_snapshot *s,
    const char *overlays, int64_t pid, char *note, size_t len)
{
	if (len > 0)
		note[0] = '\0';
	if (hv->ops->snapshot_recover == NULL)
		return unsupported(hv, "settling an interrupted snapshot");
	return hv->ops->snapshot_recover(hv, c, s, overlays, pid, note, len);
}

void
hv_note_set(struct hv *hv, int (*fn)(const char *files, void *arg), void *arg)
{
	hv->note = fn;
	hv->note_arg = arg;
}

/* An open volume stream: the backend's own, and whose it is. */
struct hv_vol {
	struct hv *hv;
	void *st;
};

void
hv_vol_info_clear(struct hv_vol_info *info)
{
	free(info->format);
	free(info->pool);
	free(info->backing);
	memset(info, 0, sizeof *info);
}

struct hv_vol *
hv_vol_open_read(struct hv *hv, const char *path, const char *format, struct hv_vol_info *info)
{
	struct hv_vol *v;
	void *st = NULL;

	memset(info, 0, sizeof *info);
	if (hv->ops->vol_open_read == NULL)
		return unsupported(hv, "reading volumes"), NULL;
	if (hv->ops->vol_open_read(hv, path, format, info, &st) != 0) {
		hv_vol_info_clear(info);
		return NULL;
	}
	v = xcalloc(1, sizeof *v);
	v->hv = hv;
	v->st = st;
	return v;
}

struct hv_vol *
hv_vol_open_write(struct hv *hv, const struct hv_volume *vol, int64_t length, char **path)
{
	struct hv_vol *v;
	void *st = NULL;

	*path = NULL;
	if (hv->ops->vol_open_write == NULL)
		return unsupported(hv, "writing volumes"), NULL;
	if (hv->ops->vol_open_write(hv, vol, length, path, &st) != 0) {
		free(*path);
		*path = NULL;
		return NULL;
	}
	v = xcalloc(1, sizeof *v);
	v->hv = hv;
	v->st = st;
	return v;
}

ssize_t
hv_vol_read(struct hv_vol *v, void *buf, size_t len)
{
	return v->hv->ops->vol_read(v->hv, v->st, buf, len);
}

int
hv_vol_write(struct hv_vol *v, const void *buf, size_t len)
{
	return v->hv->ops->vol_write(v->hv, v->st, buf, len);
}

int
hv_vol_close(struct hv_vol *v, bool ok)
{
	int rc;

	if (v == NULL)
		return 0;
	rc = v->hv->ops->vol_close(v->hv, v->st, ok);
	free(v);
	return rc;
}

int
hv_disk_paths(struct hv *hv, const struct vm_config *c, struct strv *out)
{
	strv_init(out);
	if (hv->ops->disk_paths == NULL)
		return unsupported(hv, "reading a VM's disks from the host");
	if (hv->ops->disk_paths(hv, c, out) != 0) {
		strv_free(out);
		strv_init(out);
		return -1;
	}
	return 0;
}

void
hv_stats_clear(struct hv_stats *out, size_t n)
{
	for (size_t i = 0; out != NULL && i < n; i++) {
		free(out[i].vcpu_time_ns);
		free(out[i].disk);
		free(out[i].nic);
		memset(&out[i], 0, sizeof out[i]);
	}
}

void
hv_stats_alloc(struct hv_stats *s, int nvcpu, size_t ndisk, size_t nnic)
{
	free(s->vcpu_time_ns);
	free(s->disk);
	free(s->nic);
	s->nvcpu = nvcpu > 0 ? nvcpu : 0;
	s->vcpu_time_ns = xcalloc((size_t)s->nvcpu + 1, sizeof *s->vcpu_time_ns);
	for (int v = 0; v < s->nvcpu; v++)
		s->vcpu_time_ns[v] = -1;
	s->ndisk = ndisk;
	s->disk = xcalloc(ndisk + 1, sizeof *s->disk);
	for (size_t i = 0; i < ndisk; i++)
		s->disk[i].rd_bytes = s->disk[i].wr_bytes = s->disk[i].rd_reqs =
		    s->disk[i].wr_reqs = -1;
	s->nnic = nnic;
	s->nic = xcalloc(nnic + 1, sizeof *s->nic);
	for (size_t i = 0; i < nnic; i++)
		s->nic[i].rx_bytes = s->nic[i].tx_bytes = s->nic[i].rx_packets =
		    s->nic[i].tx_packets = -1;
}

int
hv_stats(struct hv *hv, const struct vm_config *const *vms, size_t n, struct hv_stats *out)
{
	memset(out, 0, n * sizeof *out);
	for (size_t i = 0; i < n; i++) {
		out[i].cpu_time_ns = -1;
		out[i].mem_actual_kib = out[i].mem_max_kib = out[i].mem_available_kib = -1;
		out[i].mem_usable_kib = out[i].mem_unused_kib = out[i].mem_rss_kib = -1;
	}
	if (hv->ops->stats == NULL)
		return unsupported(hv, "reading statistics");
	if (hv->ops->stats(hv, vms, n, out) != 0) {
		hv_stats_clear(out, n);
		return -1;
	}
	return 0;
}

int
hv_clone(struct hv *hv, const struct vm_config *c, const struct hv_clone_opts *o,
    struct hv_clone_result *out)
{
	memset(out, 0, sizeof *out);
	strv_init(&out->macs);
	if (hv->ops->clone == NULL)
		return unsupported(hv, "cloning VMs through the backend");
	if (hv->ops->clone(hv, c, o, out) != 0) {
		hv_clone_result_clear(out);
		return -1;
	}
	return 0;
}

void
hv_clone_result_clear(struct hv_clone_result *r)
{
	for (size_t i = 0; i < r->ndisks; i++) {
		free(r->disks[i].from);
		free(r->disks[i].to);
		free(r->disks[i].format);
		free(r->disks[i].bus);
	}
	free(r->disks);
	if (r->macs.v != NULL)
		strv_free(&r->macs);
	memset(r, 0, sizeof *r);
}
