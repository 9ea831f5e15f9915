/*
 * The libvirt backend.  One process-wide event thread runs libvirt's
 * default event loop (keepalive, lifecycle events, close callbacks and
 * console streams all need it); each struct hv holds one connection.
 *
 * Threads: the ops run on whatever thread calls them (a host's worker
 * lane); callbacks run on the event thread.  The private state is
 * reference counted: the hv holds one reference, the lifecycle
 * registration one (dropped by libvirt's free callback) and each open
 * console one, so a late event or console byte never touches freed
 * memory, even after close.
 */
#include "hv/hv.h"
#include "hv/libvirt.h"
#include "hv/libvirt_priv.h"
#include "hv/sshtun.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "model/tuning.h"
#include "util/cpuset.h"
#include "util/err.h"
#include "util/log.h"
#include "util/plugin.h"
#include "util/thread.h"
#include "util/xalloc.h"

/* vmtty-libvirt.so is checked for this when it is loaded. */
VMTTY_PLUGIN_ABI_DEFINE;

/* A ping every 5 s when the peer is quiet; after 3 more unanswered the
 * connection closes (~20 s) and the close callback says "keepalive". */
#define LV_KEEPALIVE_S 5
#define LV_KEEPALIVE_COUNT 3
#define LV_CONSOLE_BUF 65536

struct lv_console;

/* A domain run (UUID, domain id) whose balloon statistics period vmtty
 * set: once per run, the period lasts until the domain stops. */
struct lv_period {
	char uuid[UUID_STR_LEN];
	int id;
};

/* What the cache knows of one domain's state, for peek. */
struct lv_seen {
	char uuid[UUID_STR_LEN];
	enum hv_state state;
};

struct lv_priv {
	atomic_int refs;
	virConnectPtr conn;
	char *name;		/* host name and URI, for messages */
	char *uri;
	bool remote;
	bool name_is_identity;	/* UUIDs differ between connections (test driver) */
	atomic_bool closed;	/* the close callback ran */
	atomic_int close_reason;

	/* Held while the user's callback runs, so that after close nothing
	 * calls it any more; never held with LOCK. */
	pthread_mutex_t cb_lock;
	hv_event_cb cb;
	void *cb_arg;

	pthread_mutex_t lock;	/* everything below */
	int lifecycle_id;	/* -1: not registered */
	int kvm;		/* auto accel: -1 not asked yet, else 0/1 */
	struct lv_seen *seen;	/* sorted by uuid */
	size_t nseen;
	struct lv_console *consoles;
	struct sshtun *tun;	/* remote graphics: made on first use */
	struct lv_period *periods;
	size_t nperiods;
};

/* A console stream bridged to one end of a socketpair. */
struct lv_console {
	atomic_int refs;
	struct lv_priv *p;	/* a reference, for the list */
	pthread_mutex_t lock;	/* everything below */
	virStreamPtr st;
	int fd;			/* our end; -1 once torn down */
	int watch;		/* virEventAddHandle id */
	bool done;
	char out[LV_CONSOLE_BUF];	/* from the guest, not yet written to FD */
	size_t outlen;
	char in[LV_CONSOLE_BUF];	/* from FD, not yet sent to the guest */
	size_t inlen;
	struct lv_console *next;
};

static pthread_once_t lv_once = PTHREAD_ONCE_INIT;
static int lv_init_rc = -1;
static char lv_init_error[256];

/* libvirt prints every error to stderr by default; stderr belongs to
 * curses.  Errors are read with virGetLastErrorMessage() instead. */
static void
lv_silent(void *arg, virErrorPtr e)
{
	(void)arg;
	(void)e;
}

static void *
lv_event_thread(void *arg)
{
	(void)arg;
	for (;;) {
		if (virEventRunDefaultImpl() < 0) {
			struct timespec ts = { 0, 100 * 1000 * 1000 };

			log_debug("libvirt: event loop: %s", virGetLastErrorMessage());
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

/*
 * libvirt's last error, up to its first newline: an XML parse error
 * carries libxml2's excerpt of the bad line and a "----^" pointer on lines
 * of their own, which would turn a one-line message into three (with the
 * file's raw bytes in the middle).  The first line names file, line and
 * problem.
 */
static const char *
lv_errmsg(void)
{
	static _Thread_local char buf[1024];
	const char *m = virGetLastErrorMessage();
	size_t n = strcspn(m, "\n");

	if (m[n] == '\0')
		return m;
	snprintf(buf, sizeof buf, "%.*s", (int)n, m);
	return buf;
}

/* Once per process: libvirt, its event loop, and the thread that runs it
 * (with every signal blocked: they belong to the UI thread's loop). */
static void
lv_init(void)
{
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	virSetErrorFunc(NULL, lv_silent);
	libvirt_xml_init();
	if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0) {
		snprintf(lv_init_error, sizeof lv_init_error, "%s", virGetLastErrorMessage());
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = thread_start(&t, &attr, lv_event_thread, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		snprintf(lv_init_error, sizeof lv_init_error, "cannot start the event thread: %s",
		    strerror(rc));
		return;
	}
	lv_init_rc = 0;
}

static void
priv_ref(struct lv_priv *p)
{
	atomic_fetch_add(&p->refs, 1);
}

static void
priv_unref(void *arg)
{
	struct lv_priv *p = arg;

	if (atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->cb_lock);
	free(p->seen);
	free(p->periods);
	free(p->name);
	free(p->uri);
	free(p);
}

bool
libvirt_uri_is_remote(const char *uri)
{
	const char *p = strstr(uri, "://");

	/* scheme://[user@]host[:port]/path: a host part is another machine. */
	return p != NULL && p[3] != '\0' && p[3] != '/';
}

enum hv_state
libvirt_state_map(int state)
{
	switch (state) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
		return HV_RUNNING;
	case VIR_DOMAIN_PAUSED:
	case VIR_DOMAIN_PMSUSPENDED:
		return HV_PAUSED;
	case VIR_DOMAIN_SHUTDOWN:
		return HV_SHUTTING_DOWN;
	case VIR_DOMAIN_SHUTOFF:
		return HV_OFF;
	case VIR_DOMAIN_CRASHED:
		return HV_CRASHED;
	default:
		return HV_UNKNOWN;
	}
}

static const char *
close_reason_text(int reason)
{
	switch (reason) {
	case VIR_CONNECT_CLOSE_REASON_EOF:
		return "EOF";
	case VIR_CONNECT_CLOSE_REASON_KEEPALIVE:
		return "keepalive timeout";
	case VIR_CONNECT_CLOSE_REASON_CLIENT:
		return "closed by the client";
	default:
		return "error";
	}
}

/* libvirt's state reason in words ("" when it adds nothing). */
static const char *
reason_text(int state, int reason)
{
	static const char *const running[] = { "", "booted", "migrated in", "restored",
		"reverted to a snapshot", "unpaused", "migration canceled", "save canceled",
		"woken up", "crashed but still running", "post-copy migration",
		"post-copy migration failed" };
	static const char *const paused[] = { "", "paused by the user", "migrating", "saving",
		"dumping", "stopped on an I/O error", "stopped by the watchdog",
		"reverted to a snapshot", "shutting down", "taking a snapshot",
		"the guest panicked", "starting up", "post-copy migration",
		"post-copy migration failed", "an API call failed" };
	static const char *const shutdown[] = { "", "on request", "requested by the host",
		"requested by the guest" };
	static const char *const shutoff[] = { "", "shut down", "powered off", "crashed",
		"migrated away", "saved", "failed", "reverted to a snapshot",
		"stopped while the daemon was down" };
#define PICK(t) ((unsigned)reason < sizeof t / sizeof t[0] ? t[reason] : "")
	switch (state) {
	case VIR_DOMAIN_RUNNING:
		return PICK(running);
	case VIR_DOMAIN_BLOCKED:
		return "blocked on a resource";
	case VIR_DOMAIN_PAUSED:
		return PICK(paused);
	case VIR_DOMAIN_SHUTDOWN:
		return PICK(shutdown);
	case VIR_DOMAIN_SHUTOFF:
		return PICK(shutoff);
	case VIR_DOMAIN_CRASHED:
		return reason == VIR_DOMAIN_CRASHED_PANICKED ? "the guest panicked" : "";
	case VIR_DOMAIN_PMSUSPENDED:
		return "suspended by the guest's power management";
	default:
		return "";
	}
#undef PICK
}

static int lv_err(struct lv_priv *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* err_set("host 'NAME': FMT: <libvirt's message>"); returns -1. */
static int
lv_err(struct lv_priv *p, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (atomic_load(&p->closed))
		return err_set("host '%s': %s: the connection to '%s' is closed (%s)", p->name,
		    what, p->uri, close_reason_text(atomic_load(&p->close_reason)));
	return err_set("host '%s': %s: %s", p->name, what, lv_errmsg());
}

/* 0 when the connection is still there, else -1 + err. */
static int
lv_usable(struct lv_priv *p)
{
	if (!atomic_load(&p->closed))
		return 0;
	return err_set("host '%s': the connection to '%s' is closed (%s); reconnect", p->name,
	    p->uri, close_reason_text(atomic_load(&p->close_reason)));
}

static int
seen_cmp(const void *a, const void *b)
{
	return strcmp(((const struct lv_seen *)a)->uuid, ((const struct lv_seen *)b)->uuid);
}

/* UUID's entry in the cache, or NULL.  Called with P->lock held. */
static struct lv_seen *
seen_find(struct lv_priv *p, const char *uuid)
{
	struct lv_seen key;

	if (p->nseen == 0)
		return NULL;
	snprintf(key.uuid, sizeof key.uuid, "%s", uuid);
	return bsearch(&key, p->seen, p->nseen, sizeof *p->seen, seen_cmp);
}

/* Remember UUID's STATE for peek.  Called with P->lock held. */
static void
seen_set(struct lv_priv *p, const char *uuid, enum hv_state state)
{
	struct lv_seen key, *s;

	if ((s = seen_find(p, uuid)) != NULL) {
		s->state = state;
		return;
	}
	p->seen = xreallocarray(p->seen, p->nseen + 1, sizeof *p->seen);
	snprintf(key.uuid, sizeof key.uuid, "%s", uuid);
	key.state = state;
	p->seen[p->nseen++] = key;
	qsort(p->seen, p->nseen, sizeof *p->seen, seen_cmp);
}

/* Forget UUID (undefined).  Called with P->lock held. */
static void
seen_drop(struct lv_priv *p, const char *uuid)
{
	struct lv_seen *s;

	if ((s = seen_find(p, uuid)) == NULL)
		return;
	memmove(s, s + 1, (size_t)(p->seen + p->nseen - s - 1) * sizeof *s);
	p->nseen--;
}

/*
 * Authentication: libvirt asks for a user name, a password, a key's
 * passphrase (SASL, libssh); hv_ask puts it to the user (the terminal, or
 * the TUI's overlay).
 */
struct lv_ask {
	const char *host;
	const char *uri;
	char error[512];
};

static int
lv_auth(virConnectCredentialPtr cred, unsigned int ncred, void *cbdata)
{
	struct lv_ask *a = cbdata;

	for (unsigned int i = 0; i < ncred; i++) {
		struct hv_question q = { a->host, a->uri, NULL, cred[i].defresult, false };
		char prompt[512];
		size_t plen;

		snprintf(prompt, sizeof prompt, "%s", cred[i].prompt != NULL ? cred[i].prompt :
		    cred[i].type == VIR_CRED_AUTHNAME ? "user name" : "password");
		/* libvirt's prompts may end in ": " already; the asker adds one. */
		plen = strlen(prompt);
		while (plen > 0 && (prompt[plen - 1] == ' ' || prompt[plen - 1] == ':'))
			prompt[--plen] = '\0';
		q.prompt = prompt;
		q.echo = cred[i].type == VIR_CRED_AUTHNAME || cred[i].type == VIR_CRED_ECHOPROMPT;
		if (cred[i].type != VIR_CRED_AUTHNAME && cred[i].type != VIR_CRED_PASSPHRASE &&
		    cred[i].type != VIR_CRED_ECHOPROMPT && cred[i].type != VIR_CRED_NOECHOPROMPT) {
			snprintf(a->error, sizeof a->error, "libvirt asks for a credential of a "
			    "kind vmtty cannot ask for (type %d, '%s')", cred[i].type, prompt);
			return -1;
		}
		if ((cred[i].result = hv_ask(&q)) == NULL) {
			snprintf(a->error, sizeof a->error, "%s", err_get());
			return -1;
		}
		cred[i].resultlen = (unsigned int)strlen(cred[i].result);
	}
	return 0;
}

/* On the event thread: update the cache, then hand EV to the watcher. */
static void
deliver(struct lv_priv *p, const struct hv_event *ev)
{
	pthread_mutex_lock(&p->lock);
	if (ev->kind == HV_EV_STATE)
		seen_set(p, ev->uuid, ev->state);
	else if (ev->kind == HV_EV_UNDEFINED)
		seen_drop(p, ev->uuid);
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_lock(&p->cb_lock);
	if (p->cb != NULL)
		p->cb(ev, p->cb_arg);
	pthread_mutex_unlock(&p->cb_lock);
}

/* On the event thread: the connection died (EOF, keepalive, error). */
static void
lv_on_close(virConnectPtr conn, int reason, void *opaque)
{
	struct lv_priv *p = opaque;
	struct hv_event ev;

	(void)conn;
	atomic_store(&p->close_reason, reason);
	atomic_store(&p->closed, true);
	log_debug("libvirt: host '%s': connection to '%s' closed: %s", p->name, p->uri,
	    close_reason_text(reason));
	memset(&ev, 0, sizeof ev);
	ev.kind = HV_EV_CLOSED;
	ev.state = HV_UNKNOWN;
	snprintf(ev.reason, sizeof ev.reason, "the connection to '%s' closed: %s", p->uri,
	    close_reason_text(reason));
	deliver(p, &ev);
}

/* A URI whose transport is the ssh program (qemu+ssh://), not libssh. */
static bool
uri_runs_ssh(const char *uri)
{
	const char *sep = strstr(uri, "://");

	return sep != NULL && sep - uri >= 4 && strncmp(sep - 4, "+ssh", 4) == 0;
}

/* The URI to open: under an asker that is not the terminal (the TUI), the
 * ssh program must not prompt on the terminal either, so it gets libvirt's
 * no_tty=1 (ssh -T, BatchMode).  Allocated. */
static char *
open_uri(const char *uri, bool *no_tty)
{
	*no_tty = !hv_asks_on_terminal() && uri_runs_ssh(uri) && strstr(uri, "no_tty=") == NULL &&
	    strchr(uri, '#') == NULL;
	if (!*no_tty)
		return xstrdup(uri);
	return xasprintf("%s%cno_tty=1", uri, strchr(uri, '?') != NULL ? '&' : '?');
}

static int
lv_open(struct hv *hv)
{
	static int credtype[] = { VIR_CRED_AUTHNAME, VIR_CRED_PASSPHRASE, VIR_CRED_ECHOPROMPT,
		VIR_CRED_NOECHOPROMPT };
	/* Questions name the URI without its parameters (key files, sockets):
	 * enough to tell hosts apart, short enough for a prompt. */
	char shown[512];
	struct lv_ask ask = { hv->host.name, shown, "" };
	virConnectAuth auth = { credtype, sizeof credtype / sizeof credtype[0], lv_auth, &ask };
	struct lv_priv *p;
	char *uri;
	bool no_tty;

	snprintf(shown, sizeof shown, "%.*s", (int)strcspn(hv->host.uri, "?"), hv->host.uri);
	pthread_once(&lv_once, lv_init);
	if (lv_init_rc != 0)
		return err_set("host '%s': cannot set up libvirt: %s", hv->host.name,
		    lv_init_error);
	p = xcalloc(1, sizeof *p);
	atomic_init(&p->refs, 1);
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->cb_lock, NULL);
	p->name = xstrdup(hv->host.name);
	p->uri = xstrdup(hv->host.uri);
	p->remote = libvirt_uri_is_remote(p->uri);
	/* The test driver makes up a new UUID, on each connection, for every
	 * domain its file defines without one: there, only the name lasts.
	 * Told by the URI's scheme (test:, test+ssh:, ...): asking the
	 * connection would cost remote hosts a round trip. */
	p->name_is_identity = strncmp(p->uri, "test", 4) == 0 &&
	    (p->uri[4] == ':' || p->uri[4] == '+');
	p->lifecycle_id = -1;
	p->kvm = -1;
	uri = open_uri(p->uri, &no_tty);
	p->conn = virConnectOpenAuth(uri, &auth, 0);
	free(uri);
	if (p->conn == NULL) {
		const char *why = ask.error[0] != '\0' ? ask.error : lv_errmsg();

		err_set("host '%s': cannot connect to '%s': %s%s", p->name, p->uri, why,
		    no_tty && (strstr(why, "Permission denied") != NULL ||
		    strstr(why, "Host key verification failed") != NULL) ?
		    "; ssh may not ask for a passphrase, a password or a host key here: load "
		    "the key into ssh-agent, add the host key to known_hosts, or use "
		    "qemu+libssh://, whose questions vmtty asks" : "");
		priv_unref(p);
		return -1;
	}
	/* Keepalive turns a dead network or daemon into a close callback. */
	if (p->remote && virConnectSetKeepAlive(p->conn, LV_KEEPALIVE_S, LV_KEEPALIVE_COUNT) < 0)
		log_debug("libvirt: host '%s': no keepalive: %s", p->name, virGetLastErrorMessage());
	/* No free callback: unregistering waits for a running callback, and
	 * drivers without close callbacks would never call it. */
	if (virConnectRegisterCloseCallback(p->conn, lv_on_close, p, NULL) < 0)
		log_debug("libvirt: host '%s': no close callback: %s", p->name,
		    virGetLastErrorMessage());
	hv->priv = p;
	return 0;
}

static void console_kill(struct lv_console *con);

static void
lv_close(struct hv *hv)
{
	struct lv_priv *p = hv->priv;
	int id;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->cb_lock);
	p->cb = NULL;
	p->cb_arg = NULL;
	pthread_mutex_unlock(&p->cb_lock);
	pthread_mutex_lock(&p->lock);
	id = p->lifecycle_id;
	p->lifecycle_id = -1;
	for (struct lv_console *con = p->consoles; con != NULL; con = con->next)
		console_kill(con);
	pthread_mutex_unlock(&p->lock);
	if (id >= 0 && virConnectDomainEventDeregisterAny(p->conn, id) < 0)
		log_debug("libvirt: host '%s': cannot stop events: %s", p->name,
		    virGetLastErrorMessage());
	virConnectUnregisterCloseCallback(p->conn, lv_on_close);
	sshtun_free(p->tun);
	p->tun = NULL;
	/* Consoles still hold the connection until their streams are gone. */
	virConnectClose(p->conn);
	p->conn = NULL;
	hv->priv = NULL;
	priv_unref(p);
}

/*
 * The domain of C: by UUID, or by name when C has no UUID.  A domain of
 * that name with another UUID is a different VM (redefined outside
 * vmtty): never act on it.  NULL + err; *MISSING (may be NULL) tells
 * "not defined there" from other failures.
 */
static virDomainPtr
lv_lookup(struct lv_priv *p, const struct vm_config *c, bool *missing)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	virDomainPtr dom = NULL;
	virErrorPtr e = NULL;

	if (missing != NULL)
		*missing = false;
	if (lv_usable(p) != 0)
		return NULL;
	if (c->uuid[0] != '\0' &&
	    (dom = virDomainLookupByUUIDString(p->conn, c->uuid)) == NULL &&
	    ((e = virGetLastError()) == NULL || e->code != VIR_ERR_NO_DOMAIN))
		return lv_err(p, "cannot look up VM '%s'", c->name), NULL;
	if (dom == NULL && (dom = virDomainLookupByName(p->conn, c->name)) == NULL) {
		e = virGetLastError();
		if (e == NULL || e->code != VIR_ERR_NO_DOMAIN)
			return lv_err(p, "cannot look up VM '%s'", c->name), NULL;
		if (missing != NULL)
			*missing = true;
		err_set("VM '%s' is not defined on host '%s'", c->name, p->name);
		return NULL;
	}
	if (c->uuid[0] != '\0' && !p->name_is_identity &&
	    virDomainGetUUIDString(dom, uuid) == 0 && strcasecmp(uuid, c->uuid) != 0) {
		err_set("VM '%s' is not defined on host '%s': a domain of that name has UUID "
		    "%s, not %s; it was redefined outside vmtty, refresh the host", c->name,
		    p->name, uuid, c->uuid);
		virDomainFree(dom);
		return NULL;
	}
	return dom;
}

/* For libvirt_migrate.c (libvirt_priv.h). */
virConnectPtr
libvirt_conn(struct hv *hv)
{
	struct lv_priv *p = hv->priv;

	return lv_usable(p) == 0 ? p->conn : NULL;
}

virDomainPtr
libvirt_lookup(struct hv *hv, const struct vm_config *c, bool *missing)
{
	return lv_lookup(hv->priv, c, missing);
}

int
libvirt_err(struct hv *hv, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return lv_err(hv->priv, "%s", what);
}

const char *
libvirt_errmsg(void)
{
	return lv_errmsg();
}

/* Remember DOM's STATE for peek. */
static void
remember(struct lv_priv *p, virDomainPtr dom, enum hv_state state)
{
	char uuid[VIR_UUID_STRING_BUFLEN];

	if (virDomainGetUUIDString(dom, uuid) != 0)
		return;
	pthread_mutex_lock(&p->lock);
	seen_set(p, uuid, state);
	pthread_mutex_unlock(&p->lock);
}

/* The state of DOM; REASON may be NULL.  -1 + err. */
static int
lv_state(struct lv_priv *p, virDomainPtr dom, const char *vm, int *state, int *reason)
{
	int r;

	if (virDomainGetState(dom, state, &r, 0) < 0)
		return lv_err(p, "cannot read the state of VM '%s'", vm);
	if (reason != NULL)
		*reason = r;
	return 0;
}

static int
lv_status(struct hv *hv, const struct vm_config *c, struct hv_status *st)
{
	struct lv_priv *p = hv->priv;
	virDomainPtr dom;
	int state, reason = 0;

	if ((dom = lv_lookup(p, c, NULL)) == NULL)
		return -1;
	if (lv_state(p, dom, c->name, &state, &reason) != 0) {
		virDomainFree(dom);
		return -1;
	}
	st->state = libvirt_state_map(state);
	snprintf(st->detail, sizeof st->detail, "%s", reason_text(state, reason));
	remember(p, dom, st->state);
	virDomainFree(dom);
	return 0;
}

/* The state last seen (list, status, events): a peek never asks the host,
 * it may be slow or gone.  -1 when nothing is known yet. */
static int
lv_peek(struct hv *hv, const struct vm_config *c, struct hv_status *st)
{
	struct lv_priv *p = hv->priv;
	struct lv_seen *s;
	int rc = -1;

	pthread_mutex_lock(&p->lock);
	if ((s = seen_find(p, c->uuid)) != NULL) {
		st->state = s->state;
		rc = 0;
	}
	pthread_mutex_unlock(&p->lock);
	if (rc != 0)
		return err_set("the state of VM '%s' on host '%s' is not known yet", c->name,
		    p->name);
	if (atomic_load(&p->closed))
		snprintf(st->detail, sizeof st->detail, "last seen before the connection closed");
	return 0;
}

static int lv_start_tuning(struct lv_priv *p, virDomainPtr dom, const struct vm_config *c);

static int
lv_start(struct hv *hv, const struct vm_config *c, char *note, size_t notelen)
{
	struct lv_priv *p = hv->priv;
	virDomainPtr dom;
	int state, rc = -1;

	(void)note;
	(void)notelen;
	if ((dom = lv_lookup(p, c, NULL)) == NULL)
		return -1;
	if (lv_state(p, dom, c->name, &state, NULL) != 0)
		goto out;
	if (state != VIR_DOMAIN_SHUTOFF) {
		err_set("VM '%s' is already %s (domain id %d)%s", c->name,
		    hv_state_name(libvirt_state_map(state)), (int)virDomainGetID(dom),
		    state == VIR_DOMAIN_CRASHED ? "; power it off first" : "");
		goto out;
	}
	if (lv_start_tuning(p, dom, c) != 0)
		goto out;
	if (virDomainCreate(dom) < 0) {
		lv_err(p, "cannot start VM '%s'", c->name);
		goto out;
	}
	remember(p, dom, HV_RUNNING);
	rc = 0;
out:
	virDomainFree(dom);
	return rc;
}

static int
lv_action(struct hv *hv, const struct vm_config *c, enum hv_action a)
{
	struct lv_priv *p = hv->priv;
	virDomainPtr dom;
	int state, reason = 0, rc = -1;
	enum hv_state s;

	if ((dom = lv_lookup(p, c, NULL)) == NULL)
		return -1;
	if (lv_state(p, dom, c->name, &state, &reason) != 0)
		goto out;
	s = libvirt_state_map(state);
	if (s == HV_OFF) {
		err_set("VM '%s' is not running (%s)", c->name, hv_state_name(s));
		goto out;
	}
	if (s == HV_CRASHED && a != HV_POWEROFF && a != HV_RESET) {
		const char *why = reason_text(state, reason);

		err_set("VM '%s' has crashed%s%s%s; only poweroff or reset help now", c->name,
		    why[0] != '\0' ? " (" : "", why, why[0] != '\0' ? ")" : "");
		goto out;
	}
	if (a == HV_PAUSE && s == HV_PAUSED) {
		err_set("VM '%s' is already paused", c->name);
		goto out;
	}
	if (a == HV_RESUME && s != HV_PAUSED) {
		err_set("VM '%s' is not paused", c->name);
		goto out;
	}
	switch (a) {
	case HV_SHUTDOWN:
		rc = virDomainShutdown(dom);
		break;
	case HV_POWEROFF:
		rc = virDomainDestroy(dom);
		break;
	case HV_REBOOT:
		rc = virDomainReboot(dom, 0);
		break;
	case HV_RESET:
		rc = virDomainReset(dom, 0);
		break;
	case HV_PAUSE:
		rc = virDomainSuspend(dom);
		break;
	case HV_RESUME:
		rc = virDomainResume(dom);
		break;
	default:
		err_set("action %d is not known", (int)a);
		goto out;
	}
	if (rc < 0) {
		lv_err(p, "cannot %s VM '%s'", hv_action_name(a), c->name);
		goto out;
	}
	rc = 0;
out:
	virDomainFree(dom);
	return rc;
}

/* Does the host offer KVM for x86_64 guests?  Asked once per connection. */
static int
lv_domain_type(struct lv_priv *p, const char *accel, const char **type)
{
	char *caps;
	int kvm;

	if (strcmp(accel, "auto") != 0) {
		*type = libvirt_domain_type(accel, NULL, false);
		return 0;
	}
	pthread_mutex_lock(&p->lock);
	kvm = p->kvm;
	pthread_mutex_unlock(&p->lock);
	if (kvm < 0) {
		if ((caps = virConnectGetCapabilities(p->conn)) == NULL)
			return lv_err(p, "cannot read the host's capabilities");
		kvm = strcmp(libvirt_domain_type("auto", caps, !p->remote), "kvm") == 0;
		free(caps);
		pthread_mutex_lock(&p->lock);
		p->kvm = kvm;
		pthread_mutex_unlock(&p->lock);
	}
	*type = kvm ? "kvm" : "qemu";
	return 0;
}

static int
lv_make_xml(struct lv_priv *p, const struct vm_config *c, char **xml)
{
	struct libvirt_env env = { NULL, NULL };
	char *log;
	int rc;

	if (lv_domain_type(p, c->accel, &env.type) != 0)
		return -1;
	env.serial_log = log = libvirt_serial_log_path(p->uri, c->name);
	rc = libvirt_domain_xml(c, &env, xml);
	free(log);
	return rc;
}

/* A rename keeps the UUID: libvirt needs virDomainRename for it (an
 * inactive domain only) before the new XML can be defined. */
static int
lv_rename(struct lv_priv *p, const struct vm_config *c)
{
	virDomainPtr dom;
	const char *old;
	int rc = 0;

	if (c->uuid[0] == '\0' || (dom = virDomainLookupByUUIDString(p->conn, c->uuid)) == NULL)
		return 0;
	old = virDomainGetName(dom);
	if (old != NULL && strcmp(old, c->name) != 0) {
		if (virDomainIsActive(dom) == 1)
			rc = err_set("VM '%s' runs on host '%s' as '%s'; stop it before renaming it",
			    c->name, p->name, old);
		else if (virDomainRename(dom, c->name, 0) < 0)
			rc = lv_err(p, "cannot rename VM '%s' to '%s'", old, c->name);
	}
	virDomainFree(dom);
	return rc;
}

static int
lv_define(struct hv *hv, const struct vm_config *c)
{
	struct lv_priv *p = hv->priv;
	virDomainPtr dom;
	char *xml;

	if (lv_usable(p) != 0 || lv_make_xml(p, c, &xml) != 0)
		return -1;
	if (lv_rename(p, c) != 0) {
		free(xml);
		return -1;
	}
	dom = virDomainDefineXMLFlags(p->conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
	free(xml);
	if (dom == NULL)
		return lv_err(p, "libvirt rejected the definition of VM '%s'", c->name);
	virDomainFree(dom);
	return 0;
}

/*
 * An edit of a VM the host has (OLD -> C): its own definition, with only
 * what the edit changed (libvirt_xml_edit), is defined again, never one
 * made from C alone, which knows nothing of what vmtty does not model (a
 * domain defined with virsh keeps its <description>, <channel>s, sound,
 * <seclabel>, drivers).  A VM the host does not have yet is defined.
 */
static int
lv_redefine(struct hv *hv, const struct vm_config *old, const struct vm_config *c)
{
	struct lv_priv *p = hv->priv;
	char *gen = NULL, *own = NULL, *changed = NULL;
	virDomainPtr dom, nd;
	bool missing;
	int rc = -1;

	if (lv_usable(p) != 0)
		return -1;
	if ((dom = lv_lookup(p, c, &missing)) == NULL)
		return missing ? lv_define(hv, c) : -1;
	if (lv_make_xml(p, c, &gen) != 0)
		goto out;
	own = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
	if (own == NULL) {
		lv_err(p, "cannot read the definition of VM '%s'", c->name);
		goto out;
	}
	if (libvirt_xml_edit(own, gen, old, c, &changed) != 0)
		goto out;
	if (changed != NULL) {
		if ((nd = virDomainDefineXMLFlags(p->conn, changed, VIR_DOMAIN_DEFINE_VALIDATE)) ==
		    NULL) {
			lv_err(p, "libvirt rejected the edited definition of VM '%s'", c->name);
			goto out;
		}
		virDomainFree(nd);
		log_debug("libvirt: host '%s': VM '%s' redefined with its edit", p->name, c->name);
	}
	rc = 0;
out:
	free(gen);
	free(own);
	free(changed);
	virDomainFree(dom);
	return rc;
}

/* The bits of "unsupported flags (0x30) in function ..." in the last
 * error; 0 when it is another error. */
static unsigned int
unsupported_flags(void)
{
	virErrorPtr e = virGetLastError();
	const char *s;

	if (e == NULL || e->code != VIR_ERR_INVALID_ARG || e->message == NULL ||
	    (s = strstr(e->message, "unsupported flags (0x")) == NULL)
		return 0;
	return (unsigned int)strtoul(s + strlen("unsupported flags (0x"), NULL, 16);
}

static int
lv_undefine(struct hv *hv, const struct vm_config *c)
{
	struct lv_priv *p = hv->priv;
	char uuid[VIR_UUID_STRING_BUFLEN];
	unsigned int flags = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
	    VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA | VIR_DOMAIN_UNDEFINE_NVRAM |
	    VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA;
	virDomainPtr dom;
	int state, rc = -1;
	bool missing;

	/* Already gone: nothing left to forget. */
	if ((dom = lv_lookup(p, c, &missing)) == NULL)
		return missing ? 0 : -1;
	if (lv_state(p, dom, c->name, &state, NULL) != 0 || virDomainGetUUIDString(dom, uuid) != 0)
		goto out;
	if (state != VIR_DOMAIN_SHUTOFF) {
		err_set("VM '%s' is %s (domain id %d); stop it before deleting it", c->name,
		    hv_state_name(libvirt_state_map(state)), (int)virDomainGetID(dom));
		goto out;
	}
	/* Drop the flags a driver rejects (the test driver knows no
	 * checkpoints), one refusal at a time. */
	for (int tries = 0; (rc = virDomainUndefineFlags(dom, flags)) < 0 && tries < 4; tries++) {
		unsigned int bad = unsupported_flags();
		virErrorPtr e = virGetLastError();

		if (e != NULL && e->code == VIR_ERR_NO_SUPPORT) {
			rc = virDomainUndefine(dom);
			break;
		}
		if ((bad & flags) == 0)
			break;
		flags &= ~bad;
	}
	if (rc < 0) {
		lv_err(p, "cannot undefine VM '%s'", c->name);
		goto out;
	}
	pthread_mutex_lock(&p->lock);
	seen_drop(p, uuid);
	pthread_mutex_unlock(&p->lock);
	rc = 0;
out:
	virDomainFree(dom);
	return rc;
}

static int
lv_describe(struct hv *hv, const struct vm_config *c, char **out)
{
	struct lv_priv *p = hv->priv;
	virDomainPtr dom;
	bool missing;
	char *xml;

	/* Not defined there yet: what vmtty would define. */
	if ((dom = lv_lookup(p, c, &missing)) == NULL)
		return missing ? lv_make_xml(p, c, out) : -1;
	xml = virDomainGetXMLDesc(dom, 0);
	virDomainFree(dom);
	if (xml == NULL)
		return lv_err(p, "cannot read the XML of VM '%s'", c->name);
	*out = xstrdup(xml);
	free(xml);
	return 0;
}

static int
lv_set_autostart(struct hv *hv, const struct vm_config *c, bool on)
{
	struct lv_priv *p = hv->priv;
	virDomainPtr dom;
	int rc = 0;

	if ((dom = lv_lookup(p, c, NULL)) == NULL)
		return -1;
	if (virDomainSetAutostart(dom, on ? 1 : 0) < 0)
		rc = lv_err(p, "cannot turn autostart %s for VM '%s'", on ? "on" : "off", c->name);
	virDomainFree(dom);
	return rc;
}

static int
lv_check(struct hv *hv, const struct vm_config *c)
{
	struct lv_priv *p = hv->priv;
	char *xml;

	/* Files named by C live on the libvirt host: not checked here. */
	if (libvirt_domain_xml(c, &(struct libvirt_env){ "qemu", NULL }, &xml) != 0)
		return -1;
	free(xml);
	if (lv_usable(p) != 0)
		return -1;
	for (size_t i = 0; i < c->nnics; i++) {
		virNetworkPtr net;
		virErrorPtr e;

		if (strcmp(c->nics[i].kind, "network") != 0)
			continue;
		if (c->nics[i].source == NULL || c->nics[i].source[0] == '\0')
			return err_set("VM '%s', NIC %zu: a libvirt network NIC needs the name of "
			    "a network", c->name, i);
		if ((net = virNetworkLookupByName(p->conn, c->nics[i].source)) != NULL) {
			virNetworkFree(net);
			continue;
		}
		e = virGetLastError();
		if (e != NULL && e->code == VIR_ERR_NO_NETWORK)
			return err_set("VM '%s', NIC %zu: there is no network '%s' on host '%s'; "
			    "see 'virsh -c %s net-list --all'", c->name, i, c->nics[i].source,
			    p->name, p->uri);
		return lv_err(p, "cannot look up network '%s' for VM '%s'", c->nics[i].source,
		    c->name);
	}
	return 0;
}

/*
 * list: one ListAllDomains, two filtered lists (autostart, transient) and
 * one GetAllDomainStats whatever the number of domains; only drivers
 * without bulk stats (the test driver has state only) cost one
 * virDomainGetInfo per domain.
 */
struct lv_idx {
	unsigned char uuid[VIR_UUID_BUFLEN];
	size_t i;
};

static int
idx_cmp(const void *a, const void *b)
{
	return memcmp(a, b, VIR_UUID_BUFLEN);
}

static struct lv_idx *
idx_find(struct lv_idx *idx, size_t n, virDomainPtr dom)
{
	struct lv_idx key;

	if (virDomainGetUUID(dom, key.uuid) < 0)
		return NULL;
	return bsearch(&key, idx, n, sizeof *idx, idx_cmp);
}

/* Set autostart (FLAGS AUTOSTART) or clear persistent (TRANSIENT) for the
 * domains of the filtered list; -1 when the driver cannot filter. */
static int
mark_filtered(struct lv_priv *p, unsigned int flags, struct lv_idx *idx, size_t n,
    struct hv_domain *d)
{
	virDomainPtr *doms = NULL;
	struct lv_idx *x;
	int nd;

	if ((nd = virConnectListAllDomains(p->conn, &doms, flags)) < 0)
		return -1;
	for (int i = 0; i < nd; i++) {
		if ((x = idx_find(idx, n, doms[i])) != NULL) {
			if (flags == VIR_CONNECT_LIST_DOMAINS_AUTOSTART)
				d[x->i].autostart = true;
			else
				d[x->i].persistent = false;
		}
		virDomainFree(doms[i]);
	}
	free(doms);
	return 0;
}

enum {
	GOT_STATE = 1,
	GOT_MEMORY = 2,
	GOT_VCPUS = 4,
	GOT_ALL = 7,
};

/* Fill D from one bulk stats record; returns the GOT_* bits. */
static int
from_stats(virDomainStatsRecordPtr r, struct hv_domain *d)
{
	unsigned long long ull;
	unsigned int ui;
	int got = 0, v;

	if (virTypedParamsGetInt(r->params, r->nparams, "state.state", &v) == 1) {
		d->state = libvirt_state_map(v);
		got |= GOT_STATE;
	}
	if (virTypedParamsGetULLong(r->params, r->nparams, "balloon.current", &ull) == 1) {
		d->memory_mib = (int64_t)(ull / 1024);
		got |= GOT_MEMORY;
	}
	if (virTypedParamsGetULLong(r->params, r->nparams, "balloon.maximum", &ull) == 1)
		d->max_memory_mib = (int64_t)(ull / 1024);
	else
		got &= ~GOT_MEMORY;
	if (virTypedParamsGetUInt(r->params, r->nparams, "vcpu.current", &ui) == 1) {
		d->vcpus = (int)ui;
		got |= GOT_VCPUS;
	}
	if (virTypedParamsGetULLong(r->params, r->nparams, "cpu.time", &ull) == 1)
		d->cpu_time_ns = ull;
	return got;
}

static int
lv_list(struct hv *hv, struct hv_domain **out, size_t *n)
{
	struct lv_priv *p = hv->priv;
	virDomainStatsRecordPtr *recs = NULL;
	virDomainPtr *doms = NULL;
	struct lv_idx *idx, *x;
	struct hv_domain *d;
	unsigned char *got;
	size_t nd, k = 0;
	int rc, nr;

	if (lv_usable(p) != 0)
		return -1;
	if ((rc = virConnectListAllDomains(p->conn, &doms, 0)) < 0)
		return lv_err(p, "cannot list the domains");
	nd = (size_t)rc;
	d = xcalloc(nd + 1, sizeof *d);
	idx = xcalloc(nd + 1, sizeof *idx);
	got = xcalloc(nd + 1, 1);
	for (size_t i = 0; i < nd; i++) {
		unsigned int id = virDomainGetID(doms[i]);

		virDomainGetUUIDString(doms[i], d[i].uuid);
		virDomainGetUUID(doms[i], idx[i].uuid);
		idx[i].i = i;
		d[i].name = xstrdup(virDomainGetName(doms[i]));
		d[i].id = id == (unsigned int)-1 ? -1 : (int)id;
		d[i].state = HV_UNKNOWN;
		d[i].persistent = true;
	}
	qsort(idx, nd, sizeof *idx, idx_cmp);
	if (mark_filtered(p, VIR_CONNECT_LIST_DOMAINS_AUTOSTART, idx, nd, d) != 0 ||
	    mark_filtered(p, VIR_CONNECT_LIST_DOMAINS_TRANSIENT, idx, nd, d) != 0) {
		log_debug("libvirt: host '%s': no filtered lists (%s), asking per domain", p->name,
		    virGetLastErrorMessage());
		for (size_t i = 0; i < nd; i++) {
			int v = 0;

			d[i].autostart = virDomainGetAutostart(doms[i], &v) == 0 && v != 0;
			d[i].persistent = virDomainIsPersistent(doms[i]) != 0;
		}
	}
	nr = virConnectGetAllDomainStats(p->conn, VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_BALLOON |
	    VIR_DOMAIN_STATS_VCPU | VIR_DOMAIN_STATS_CPU_TOTAL, &recs, 0);
	if (nr < 0)
		log_debug("libvirt: host '%s': no bulk stats: %s", p->name, virGetLastErrorMessage());
	for (int r = 0; r < nr; r++)
		if ((x = idx_find(idx, nd, recs[r]->dom)) != NULL)
			got[x->i] = (unsigned char)from_stats(recs[r], &d[x->i]);
	if (recs != NULL)
		virDomainStatsRecordListFree(recs);
	for (size_t i = 0; i < nd; i++) {
		virDomainInfo info;
		virErrorPtr e;

		if (got[i] == GOT_ALL)
			continue;
		if (virDomainGetInfo(doms[i], &info) == 0) {
			d[i].state = libvirt_state_map(info.state);
			d[i].memory_mib = (int64_t)(info.memory / 1024);
			d[i].max_memory_mib = (int64_t)(info.maxMem / 1024);
			d[i].vcpus = info.nrVirtCpu;
			if (d[i].cpu_time_ns == 0)
				d[i].cpu_time_ns = info.cpuTime;
		} else if ((e = virGetLastError()) != NULL && e->code == VIR_ERR_NO_DOMAIN) {
			/* Undefined while we looked: not in the list. */
			free(d[i].name);
			d[i].name = NULL;
		}
	}
	/* Keep the domains that still exist, in the host's order; remember
	 * their states for peek. */
	pthread_mutex_lock(&p->lock);
	p->seen = xreallocarray(p->seen, nd + 1, sizeof *p->seen);
	for (size_t i = 0; i < nd; i++) {
		virDomainFree(doms[i]);
		if (d[i].name == NULL)
			continue;
		d[k] = d[i];
		memcpy(p->seen[k].uuid, d[k].uuid, sizeof p->seen[k].uuid);
		p->seen[k].state = d[k].state;
		k++;
	}
	p->nseen = k;
	qsort(p->seen, p->nseen, sizeof *p->seen, seen_cmp);
	pthread_mutex_unlock(&p->lock);
	free(doms);
	free(idx);
	free(got);
	*out = d;
	*n = k;
	return 0;
}

/* On the event thread: a domain changed.  Fill an event and hand it on. */
static int
lv_on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	static const char *const started[] = { "booted", "migrated in", "restored",
		"reverted to a snapshot", "woken up", "recreated" };
	static const char *const suspended[] = { "paused by the user", "migrating",
		"stopped on an I/O error", "stopped by the watchdog", "restored",
		"reverted to a snapshot", "an API call failed", "post-copy migration",
		"post-copy migration failed" };
	static const char *const stopped[] = { "shut down", "powered off", "crashed",
		"migrated away", "saved", "failed", "reverted to a snapshot" };
	static const char *const defined[] = { "defined", "updated", "renamed",
		"reverted to a snapshot" };
	struct lv_priv *p = opaque;
	struct hv_event ev;

	(void)conn;
	memset(&ev, 0, sizeof ev);
	ev.kind = HV_EV_STATE;
	ev.state = HV_UNKNOWN;
	virDomainGetUUIDString(dom, ev.uuid);
#define WORDS(t) ((unsigned)detail < sizeof t / sizeof t[0] ? t[detail] : "")
	switch (event) {
	case VIR_DOMAIN_EVENT_DEFINED:
		ev.kind = HV_EV_DEFINED;
		snprintf(ev.reason, sizeof ev.reason, "%s", WORDS(defined));
		break;
	case VIR_DOMAIN_EVENT_UNDEFINED:
		ev.kind = HV_EV_UNDEFINED;
		snprintf(ev.reason, sizeof ev.reason, "undefined");
		break;
	case VIR_DOMAIN_EVENT_STARTED:
		ev.state = HV_RUNNING;
		snprintf(ev.reason, sizeof ev.reason, "%s", WORDS(started));
		break;
	case VIR_DOMAIN_EVENT_RESUMED:
		ev.state = HV_RUNNING;
		snprintf(ev.reason, sizeof ev.reason, "resumed");
		break;
	case VIR_DOMAIN_EVENT_SUSPENDED:
		ev.state = HV_PAUSED;
		snprintf(ev.reason, sizeof ev.reason, "%s", WORDS(suspended));
		break;
	case VIR_DOMAIN_EVENT_PMSUSPENDED:
		ev.state = HV_PAUSED;
		snprintf(ev.reason, sizeof ev.reason, "suspended by the guest");
		break;
	case VIR_DOMAIN_EVENT_STOPPED:
		ev.state = HV_OFF;
		snprintf(ev.reason, sizeof ev.reason, "%s", WORDS(stopped));
		break;
	case VIR_DOMAIN_EVENT_SHUTDOWN:
		ev.state = HV_SHUTTING_DOWN;
		snprintf(ev.reason, sizeof ev.reason, "shutting down");
		break;
	case VIR_DOMAIN_EVENT_CRASHED:
		ev.state = HV_CRASHED;
		snprintf(ev.reason, sizeof ev.reason, "the guest panicked");
		break;
	default:
		return 0;
	}
#undef WORDS
	deliver(p, &ev);
	return 0;
}

static int
lv_watch(struct hv *hv, hv_event_cb cb, void *arg)
{
	struct lv_priv *p = hv->priv;
	int id;

	if (lv_usable(p) != 0)
		return -1;
	pthread_mutex_lock(&p->cb_lock);
	p->cb = cb;
	p->cb_arg = arg;
	pthread_mutex_unlock(&p->cb_lock);
	pthread_mutex_lock(&p->lock);
	id = p->lifecycle_id;
	pthread_mutex_unlock(&p->lock);
	if (id >= 0)
		return 0;
	priv_ref(p);
	id = virConnectDomainEventRegisterAny(p->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
	    VIR_DOMAIN_EVENT_CALLBACK(lv_on_lifecycle), p, priv_unref);
	if (id < 0) {
		lv_err(p, "cannot watch for domain events");
		pthread_mutex_lock(&p->cb_lock);
		p->cb = NULL;
		p->cb_arg = NULL;
		pthread_mutex_unlock(&p->cb_lock);
		priv_unref(p);
		return -1;
	}
	pthread_mutex_lock(&p->lock);
	p->lifecycle_id = id;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

/*
 * Consoles.  virDomainOpenConsole gives a stream; callers want a plain
 * non-blocking fd for their poll loop.  A socketpair joins the two: the
 * caller gets one end, and on the event thread a stream callback and an
 * fd watch pump bytes both ways through two buffers.  The bridge ends
 * (stream aborted, our end closed, so the caller reads EOF) when the
 * caller closes its end, when the guest side ends (domain stopped,
 * console taken with force), or on hv close.
 */
static void
console_unref(void *arg)
{
	struct lv_console *con = arg;

	if (atomic_fetch_sub(&con->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&con->lock);
	priv_unref(con->p);
	free(con);
}

/* Make our end read EOF, so that the event thread tears the bridge down.
 * Called with P->lock held. */
static void
console_kill(struct lv_console *con)
{
	pthread_mutex_lock(&con->lock);
	if (con->fd >= 0)
		shutdown(con->fd, SHUT_RDWR);
	pthread_mutex_unlock(&con->lock);
}

/* Tear the bridge down (CON->lock held; on the event thread). */
static void
console_end(struct lv_console *con)
{
	if (con->done)
		return;
	con->done = true;
	virStreamEventRemoveCallback(con->st);
	virStreamAbort(con->st);
	virStreamFree(con->st);
	con->st = NULL;
	virEventRemoveHandle(con->watch);
	close(con->fd);
	con->fd = -1;
}

/* Once ended: off the host's list, and the list's reference dropped. */
static void
console_unlist(struct lv_console *con)
{
	struct lv_priv *p = con->p;

	pthread_mutex_lock(&p->lock);
	for (struct lv_console **pp = &p->consoles; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == con) {
			*pp = con->next;
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
	console_unref(con);
}

/* Move what can move without blocking; 0, or -1 when the bridge ends. */
static int
console_pump(struct lv_console *con)
{
	ssize_t n;
	int r;

	while (con->outlen > 0) {
		n = send(con->fd, con->out, con->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return -1;
		memmove(con->out, con->out + n, con->outlen - (size_t)n);
		con->outlen -= (size_t)n;
	}
	while (con->inlen > 0) {
		r = virStreamSend(con->st, con->in, con->inlen);
		if (r == -2)
			break;
		if (r < 0)
			return -1;
		memmove(con->in, con->in + r, con->inlen - (size_t)r);
		con->inlen -= (size_t)r;
	}
	return 0;
}

/* Listen for what fits the buffers. */
static void
console_update(struct lv_console *con)
{
	int fdev = 0, stev = 0;

	if (con->inlen < sizeof con->in)
		fdev |= VIR_EVENT_HANDLE_READABLE;
	if (con->outlen > 0)
		fdev |= VIR_EVENT_HANDLE_WRITABLE;
	if (con->outlen < sizeof con->out)
		stev |= VIR_STREAM_EVENT_READABLE;
	if (con->inlen > 0)
		stev |= VIR_STREAM_EVENT_WRITABLE;
	virEventUpdateHandle(con->watch, fdev);
	virStreamEventUpdateCallback(con->st, stev | VIR_STREAM_EVENT_ERROR |
	    VIR_STREAM_EVENT_HANGUP);
}

/* On the event thread: the caller wrote, read, or closed its end. */
static void
console_on_fd(int watch, int fd, int events, void *opaque)
{
	struct lv_console *con = opaque;
	bool end = false;
	ssize_t n;

	(void)watch;
	pthread_mutex_lock(&con->lock);
	if (con->done) {
		pthread_mutex_unlock(&con->lock);
		return;
	}
	if ((events & VIR_EVENT_HANDLE_READABLE) && con->inlen < sizeof con->in) {
		n = read(fd, con->in + con->inlen, sizeof con->in - con->inlen);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			end = true;
		else if (n > 0)
			con->inlen += (size_t)n;
	} else if (events & (VIR_EVENT_HANDLE_HANGUP | VIR_EVENT_HANDLE_ERROR)) {
		end = true;
	}
	if (end || console_pump(con) != 0)
		console_end(con);
	else
		console_update(con);
	end = con->done;
	pthread_mutex_unlock(&con->lock);
	if (end)
		console_unlist(con);
}

/* On the event thread: the guest sent something, or the stream ended. */
static void
console_on_stream(virStreamPtr st, int events, void *opaque)
{
	struct lv_console *con = opaque;
	bool end = false;
	int n;

	pthread_mutex_lock(&con->lock);
	if (con->done) {
		pthread_mutex_unlock(&con->lock);
		return;
	}
	while ((events & VIR_STREAM_EVENT_READABLE) && con->outlen < sizeof con->out) {
		n = virStreamRecv(st, con->out + con->outlen, sizeof con->out - con->outlen);
		if (n == -2)
			break;
		if (n <= 0) {
			end = true;
			break;
		}
		con->outlen += (size_t)n;
	}
	if (events & (VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP))
		end = true;
	/* Hand over what arrived, even when the stream just ended. */
	if (console_pump(con) != 0 || end)
		console_end(con);
	else
		console_update(con);
	end = con->done;
	pthread_mutex_unlock(&con->lock);
	if (end)
		console_unlist(con);
}

static int
lv_console_open(struct hv *hv, const struct vm_config *c, bool force, int *fd)
{
	struct lv_priv *p = hv->priv;
	struct lv_console *con;
	virDomainPtr dom;
	virStreamPtr st;
	int sv[2], rc = -1;

	if ((dom = lv_lookup(p, c, NULL)) == NULL)
		return -1;
	if ((st = virStreamNew(p->conn, VIR_STREAM_NONBLOCK)) == NULL) {
		virDomainFree(dom);
		return lv_err(p, "cannot open the console of VM '%s'", c->name);
	}
	if (virDomainOpenConsole(dom, NULL, st, force ? VIR_DOMAIN_CONSOLE_FORCE : 0) < 0) {
		lv_err(p, "cannot open the console of VM '%s'", c->name);
		virStreamFree(st);
		virDomainFree(dom);
		return -1;
	}
	virDomainFree(dom);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
		err_set("cannot make a socket pair for the console of VM '%s': %s", c->name,
		    strerror(errno));
		virStreamAbort(st);
		virStreamFree(st);
		return -1;
	}
	/* On the host's list first (its reference), so that close can find it
	 * whatever the callbacks do. */
	con = xcalloc(1, sizeof *con);
	atomic_init(&con->refs, 1);
	pthread_mutex_init(&con->lock, NULL);
	priv_ref(p);
	con->p = p;
	con->st = st;
	con->fd = sv[1];
	con->watch = -1;
	pthread_mutex_lock(&p->lock);
	con->next = p->consoles;
	p->consoles = con;
	pthread_mutex_unlock(&p->lock);

	/*
	 * The fd watch holds a reference, dropped by its free callback.  The
	 * stream callback holds none: libvirt 9.0's remote driver never calls
	 * a stream callback's free function.  It needs none either, since it
	 * runs on the event thread, as does console_end, which removes it
	 * before the last reference can go; so it is added last, when nothing
	 * can fail any more.
	 */
	pthread_mutex_lock(&con->lock);
	atomic_fetch_add(&con->refs, 1);
	if ((con->watch = virEventAddHandle(sv[1], VIR_EVENT_HANDLE_READABLE, console_on_fd, con,
	    console_unref)) < 0) {
		err_set("cannot watch the console of VM '%s': %s", c->name, lv_errmsg());
		atomic_fetch_sub(&con->refs, 1);
		goto out;
	}
	if (virStreamEventAddCallback(st, VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_ERROR |
	    VIR_STREAM_EVENT_HANGUP, console_on_stream, con, NULL) < 0) {
		lv_err(p, "cannot watch the console of VM '%s'", c->name);
		virEventRemoveHandle(con->watch);
		goto out;
	}
	*fd = sv[0];
	rc = 0;
out:
	if (rc != 0) {
		con->done = true;
		con->st = NULL;
		con->fd = -1;
		virStreamAbort(st);
		virStreamFree(st);
		close(sv[0]);
		close(sv[1]);
	}
	pthread_mutex_unlock(&con->lock);
	if (rc != 0)
		console_unlist(con);
	return rc;
}

/* ---- storage: pools and volumes, for provisioning ---------------------- */

#define LV_DEFAULT_POOL "default"
#define LV_DEFAULT_POOL_DIR "/var/lib/libvirt/images"

static int
lv_pool_list(struct hv *hv, char ***names, size_t *n)
{
	struct lv_priv *p = hv->priv;
	virStoragePoolPtr *pools = NULL;
	int count;

	if (lv_usable(p) != 0)
		return -1;
	if ((count = virConnectListAllStoragePools(p->conn, &pools, 0)) < 0)
		return lv_err(p, "cannot list storage pools");
	*names = xcalloc((size_t)count + 1, sizeof **names);
	for (int i = 0; i < count; i++) {
		const char *name = virStoragePoolGetName(pools[i]);

		(*names)[i] = xstrdup(name != NULL ? name : "?");
		virStoragePoolFree(pools[i]);
	}
	free(pools);
	*n = (size_t)count;
	return 0;
}

/* The pool NAME (NULL: "default"), started; "default" is made (a directory
 * pool in /var/lib/libvirt/images, autostarted) when the host lacks it. */
static virStoragePoolPtr
lv_pool(struct lv_priv *p, const char *name)
{
	static const char xml[] = "<pool type='dir'><name>" LV_DEFAULT_POOL "</name><target>"
	    "<path>" LV_DEFAULT_POOL_DIR "</path></target></pool>";
	virStoragePoolPtr pool;
	virErrorPtr e;

	if (name == NULL)
		name = LV_DEFAULT_POOL;
	if ((pool = virStoragePoolLookupByName(p->conn, name)) == NULL) {
		e = virGetLastError();
		if (e == NULL || e->code != VIR_ERR_NO_STORAGE_POOL)
			return lv_err(p, "cannot look up storage pool '%s'", name), NULL;
		if (strcmp(name, LV_DEFAULT_POOL) != 0)
			return err_set("host '%s' has no storage pool '%s'; see 'virsh -c %s "
			    "pool-list --all'", p->name, name, p->uri), NULL;
		if ((pool = virStoragePoolDefineXML(p->conn, xml, 0)) == NULL)
			return lv_err(p, "cannot define storage pool 'default'"), NULL;
		if (virStoragePoolBuild(pool, 0) < 0 || virStoragePoolSetAutostart(pool, 1) < 0) {
			lv_err(p, "cannot build storage pool 'default' in '%s'", LV_DEFAULT_POOL_DIR);
			virStoragePoolUndefine(pool);
			virStoragePoolFree(pool);
			return NULL;
		}
		log_debug("libvirt: host '%s': made storage pool 'default'", p->name);
	}
	if (virStoragePoolIsActive(pool) != 1 && virStoragePoolCreate(pool, 0) < 0) {
		lv_err(p, "cannot start storage pool '%s'", name);
		virStoragePoolFree(pool);
		return NULL;
	}
	return pool;
}

virStoragePoolPtr
libvirt_pool(struct hv *hv, const char *name)
{
	struct lv_priv *p = hv->priv;

	return lv_usable(p) == 0 ? lv_pool(p, name) : NULL;
}

/* Where the backing file BACKING is (a path, or a volume of POOL) and in
 * what format: the volume's own when libvirt knows it, else by name. */
static int
lv_backing(struct lv_priv *p, virStoragePoolPtr pool, const char *backing, char **path,
    char *format, size_t flen)
{
	virStorageVolPtr vol;
	char *xml, f[16];
	size_t n = strlen(backing);

	vol = backing[0] == '/' ? virStorageVolLookupByPath(p->conn, backing) :
	    virStorageVolLookupByName(pool, backing);
	if (vol == NULL && backing[0] != '/')
		return err_set("host '%s': there is no volume '%s' in the pool; give a path on "
		    "the host or a volume name", p->name, backing);
	snprintf(format, flen, "%s", n > 6 && strcmp(backing + n - 6, ".qcow2") == 0 ? "qcow2" :
	    "raw");
	if (vol == NULL) {
		*path = xstrdup(backing);
		return 0;
	}
	*path = virStorageVolGetPath(vol);
	/* Without a readable format the guess by name stands. */
	if ((xml = virStorageVolGetXMLDesc(vol, 0)) != NULL &&
	    libvirt_volume_format(xml, f, sizeof f) == 0)
		snprintf(format, flen, "%s", f);
	else if (xml != NULL)
		log_debug("libvirt: volume '%s': %s", backing, err_get());
	free(xml);
	virStorageVolFree(vol);
	if (*path == NULL)
		return lv_err(p, "cannot read the path of volume '%s'", backing);
	return 0;
}

/* Fill VOL with the bytes of the local file FILE. */
static int
lv_upload(struct lv_priv *p, virStorageVolPtr vol, const char *file, int64_t bytes)
{
	virStreamPtr st = virStreamNew(p->conn, 0);
	char buf[65536];
	int fd, rc = -1;
	ssize_t n;

	if (st == NULL)
		return lv_err(p, "cannot open a stream");
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
		err_set("cannot read '%s': %s", file, strerror(errno));
		virStreamFree(st);
		return -1;
	}
	if (virStorageVolUpload(vol, st, 0, (unsigned long long)bytes, 0) < 0) {
		lv_err(p, "cannot upload into volume");
		goto out;
	}
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (ssize_t off = 0; off < n;) {
			int w = virStreamSend(st, buf + off, (size_t)(n - off));

			if (w < 0) {
				lv_err(p, "cannot upload into volume");
				virStreamAbort(st);
				goto out;
			}
			off += w;
		}
	}
	if (n < 0) {
		err_set("cannot read '%s': %s", file, strerror(errno));
		virStreamAbort(st);
		goto out;
	}
	if (virStreamFinish(st) < 0) {
		lv_err(p, "cannot finish the upload");
		goto out;
	}
	rc = 0;
out:
	close(fd);
	virStreamFree(st);
	return rc;
}

static int
lv_volume_create(struct hv *hv, const struct hv_volume *v, char **path)
{
	struct lv_priv *p = hv->priv;
	struct hv_volume vv = *v;
	virStoragePoolPtr pool;
	virStorageVolPtr vol;
	char format[16] = "raw", *backing = NULL, *xml;
	int rc = -1;

	if (lv_usable(p) != 0 || (pool = lv_pool(p, v->pool)) == NULL)
		return -1;
	if (v->backing != NULL) {
		if (lv_backing(p, pool, v->backing, &backing, format, sizeof format) != 0)
			goto out;
		vv.backing = backing;
	}
	xml = libvirt_volume_xml(&vv, format);
	vol = virStorageVolCreateXML(pool, xml, 0);
	free(xml);
	if (vol == NULL) {
		lv_err(p, "cannot create volume '%s' in pool '%s'", v->name,
		    virStoragePoolGetName(pool));
		goto out;
	}
	if ((*path = virStorageVolGetPath(vol)) == NULL)
		lv_err(p, "cannot read the path of volume '%s'", v->name);
	else if (v->upload == NULL || lv_upload(p, vol, v->upload, v->bytes) == 0)
		rc = 0;
	if (rc != 0) {
		virStorageVolDelete(vol, 0);
		free(*path);
		*path = NULL;
	}
	virStorageVolFree(vol);
out:
	free(backing);
	virStoragePoolFree(pool);
	return rc;
}

static int
lv_volume_delete(struct hv *hv, const char *path)
{
	struct lv_priv *p = hv->priv;
	virStorageVolPtr vol;
	virErrorPtr e;
	int rc = 0;

	if (lv_usable(p) != 0)
		return -1;
	if ((vol = virStorageVolLookupByPath(p->conn, path)) == NULL) {
		e = virGetLastError();
		if (e != NULL && e->code == VIR_ERR_NO_STORAGE_VOL)
			return 0;
		return lv_err(p, "cannot look up volume '%s'", path);
	}
	if (virStorageVolDelete(vol, 0) < 0)
		rc = lv_err(p, "cannot delete volume '%s'", path);
	virStorageVolFree(vol);
	return rc;
}

/* The VNC server of running domain DOM as the host sees it: ADDR, *PORT. */
static int
lv_vnc_address(struct lv_priv *p, virDomainPtr dom, const char *vm, char *addr, size_t len,
    int *port)
{
	char *xml = virDomainGetXMLDesc(dom, 0);
	struct libvirt_vnc v;
	int rc;

	if (xml == NULL)
		return lv_err(p, "cannot read the definition of VM '%s'", vm);
	rc = libvirt_xml_vnc(xml, vm, &v);
	free(xml);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return err_set("VM '%s' on host '%s' has no VNC display; set graphics=vnc and "
		    "restart it", vm, p->name);
	if (v.unix_socket)
		return err_set("the VNC display of VM '%s' on host '%s' listens on a unix socket, "
		    "which cannot be reached through ssh; give it a TCP listen address", vm,
		    p->name);
	*port = v.port;
	if (*port <= 0 || *port > 65535)
		return err_set("VM '%s' on host '%s' has no VNC port yet; is it running?", vm,
		    p->name);
	if (v.listen[0] == '\0' || strcmp(v.listen, "0.0.0.0") == 0)
		snprintf(addr, len, "127.0.0.1");
	else if (strcmp(v.listen, "::") == 0)
		snprintf(addr, len, "::1");
	else
		snprintf(addr, len, "%s", v.listen);
	return 0;
}

/*
 * The domain's VNC server: on a local connection libvirt hands over a
 * connected fd itself; on a remote one its <graphics> port is reached with
 * `ssh -W` from the host, over one shared ssh connection per host (the
 * user, port and key of the qemu+ssh:// URI).
 */
static int
lv_graphics_open(struct hv *hv, const struct vm_config *c, int *fd)
{
	struct lv_priv *p = hv->priv;
	virDomainPtr dom;
	char addr[64], *what;
	int s, port = 0, active, rc;
	struct sshtun *tun;

	if ((dom = lv_lookup(p, c, NULL)) == NULL)
		return -1;
	if (!p->remote) {
		s = virDomainOpenGraphicsFD(dom, 0, VIR_DOMAIN_OPEN_GRAPHICS_SKIPAUTH);
		virDomainFree(dom);
		if (s < 0)
			return lv_err(p, "cannot open the graphical display of VM '%s'", c->name);
		*fd = s;
		return 0;
	}
	if ((active = virDomainIsActive(dom)) <= 0) {
		virDomainFree(dom);
		if (active < 0)
			return lv_err(p, "cannot read the state of VM '%s'", c->name);
		return err_set("VM '%s' on host '%s' is not running; start it to see its display",
		    c->name, p->name);
	}
	rc = lv_vnc_address(p, dom, c->name, addr, sizeof addr, &port);
	virDomainFree(dom);
	if (rc != 0)
		return -1;
	pthread_mutex_lock(&p->lock);
	if (p->tun == NULL)
		p->tun = sshtun_new(p->name, p->uri);
	tun = p->tun;
	pthread_mutex_unlock(&p->lock);
	if (tun == NULL)
		return -1;
	what = xasprintf("the graphical display of VM '%s'", c->name);
	rc = sshtun_open(tun, addr, port, what, fd);
	free(what);
	return rc;
}

/* ---- resource tuning: host information, pins, balloon, hugepages ------- */

/* Room for any CPU set's text ("0,2,4,...": up to 4 characters a CPU). */
#define LV_CPUSET_TEXT (CPUSET_MAX * 5)

/* The host's CPUs: *N of them (numbered 0 .. N-1, at most CPUSET_MAX), the
 * online ones in ONLINE. */
static int
lv_host_cpus(struct lv_priv *p, int *n, struct cpuset *online)
{
	unsigned char *map = NULL;
	virNodeInfo ni;
	int count;

	cpuset_zero(online);
	if ((count = virNodeGetCPUMap(p->conn, &map, NULL, 0)) > 0) {
		if (count > CPUSET_MAX)
			count = CPUSET_MAX;
		for (int i = 0; i < count; i++)
			if (VIR_CPU_USED(map, i))
				cpuset_add(online, i);
		free(map);
		*n = count;
		return 0;
	}
	free(map);
	log_debug("libvirt: host '%s': no CPU map (%s), taking every CPU as online", p->name,
	    virGetLastErrorMessage());
	if (virNodeGetInfo(p->conn, &ni) < 0)
		return lv_err(p, "cannot read the host's processors");
	count = (int)VIR_NODEINFO_MAXCPUS(ni);
	if (count > CPUSET_MAX)
		count = CPUSET_MAX;
	for (int i = 0; i < count; i++)
		cpuset_add(online, i);
	*n = count;
	return 0;
}

/* SET as a libvirt CPU map of N CPUs (VIR_CPU_MAPLEN(N) bytes at MAP). */
static void
set_to_map(const struct cpuset *set, int n, unsigned char *map)
{
	memset(map, 0, (size_t)VIR_CPU_MAPLEN(n));
	for (int i = 0; i < n; i++)
		if (cpuset_has(set, i))
			VIR_USE_CPU(map, i);
}

static void
map_to_set(const unsigned char *map, int n, struct cpuset *set)
{
	cpuset_zero(set);
	for (int i = 0; i < n; i++)
		if (VIR_CPU_USED(map, i))
			cpuset_add(set, i);
}

/* Where a change to DOM goes: the running domain (LIVE) and its
 * definition (CONFIG, when it is persistent). */
static int
lv_affect(struct lv_priv *p, virDomainPtr dom, const char *vm, unsigned int *flags)
{
	int active = virDomainIsActive(dom), persistent = virDomainIsPersistent(dom);

	if (active < 0 || persistent < 0)
		return lv_err(p, "cannot read the state of VM '%s'", vm);
	*flags = (active == 1 ? VIR_DOMAIN_AFFECT_LIVE : 0) |
	    (persistent == 1 ? VIR_DOMAIN_AFFECT_CONFIG : 0);
	return 0;
}

/* After a call with *FLAGS failed: without the flags the driver said it
 * does not support (the test driver pins only the current state), and
 * whether that is worth another try. */
static bool
retry_flags(unsigned int *flags)
{
	unsigned int bad = unsupported_flags() & *flags;

	if (bad == 0)
		return false;
	*flags &= ~bad;
	return true;
}

/* FLAGS' LIVE and CONFIG one at a time into PARTS (the test driver takes
 * only one per call): how many (just 0, the current state, for neither). */
static int
flag_parts(unsigned int flags, unsigned int parts[2])
{
	int n = 0;

	if (flags & VIR_DOMAIN_AFFECT_LIVE)
		parts[n++] = VIR_DOMAIN_AFFECT_LIVE;
	if (flags & VIR_DOMAIN_AFFECT_CONFIG)
		parts[n++] = VIR_DOMAIN_AFFECT_CONFIG;
	if (n == 0)
		parts[n++] = VIR_DOMAIN_AFFECT_CURRENT;
	return n;
}

/* Where vCPU V of C (-1: the emulator) is to run into *SET: its pin,
 * checked against the host's N CPUs, else every online CPU. */
static int
pin_target(struct lv_priv *p, const struct vm_config *c, int v, struct cpuset *set, int n,
    const struct cpuset *online)
{
	char what[32], buf[LV_CPUSET_TEXT];

	if ((v < 0 ? tuning_emulator_pin(c, set) : tuning_vcpu_pin(c, v, set)) == 0) {
		*set = *online;
		return 0;
	}
	if (cpuset_last(set) < n)
		return 0;
	if (v < 0)
		snprintf(what, sizeof what, "the emulator");
	else
		snprintf(what, sizeof what, "vCPU %d", v);
	cpuset_format(set, buf, sizeof buf);
	return err_set("VM '%s': %s is pinned to host CPUs %s, but host '%s' has CPUs 0-%d "
	    "only; pin it again within those", c->name, what, buf, p->name, n - 1);
}

/* PIN (vCPU VCPU, or the emulator for -1) of DOM to MAP (MAPLEN bytes),
 * in each of FLAGS. */
static int
pin_one(virDomainPtr dom, int vcpu, unsigned char *map, int maplen, unsigned int flags)
{
	unsigned int parts[2], fl;
	int n = flag_parts(flags, parts), r = 0;

	for (int i = 0; i < n && r == 0; i++) {
		fl = parts[i];
		while ((r = vcpu < 0 ? virDomainPinEmulator(dom, map, maplen, fl) :
		    virDomainPinVcpuFlags(dom, (unsigned int)vcpu, map, maplen, fl)) < 0 &&
		    retry_flags(&fl))
			;
	}
	return r < 0 ? -1 : 0;
}

/* C's vCPU and emulator pins onto DOM (FLAGS: LIVE, CONFIG); an unpinned
 * one runs anywhere (every online CPU).  All are checked before the
 * first is changed. */
static int
lv_apply_pins(struct lv_priv *p, virDomainPtr dom, const struct vm_config *c,
    unsigned int flags)
{
	char buf[LV_CPUSET_TEXT];
	struct cpuset online, *want;
	unsigned char *map;
	virDomainInfo info;
	int n, nv, maplen, rc = -1;

	if (lv_host_cpus(p, &n, &online) != 0)
		return -1;
	if (virDomainGetInfo(dom, &info) < 0)
		return lv_err(p, "cannot read the vCPUs of VM '%s'", c->name);
	nv = (int)info.nrVirtCpu;
	maplen = VIR_CPU_MAPLEN(n);
	map = xcalloc(1, (size_t)maplen);
	/* want[0]: the emulator; want[1 + V]: vCPU V. */
	want = xcalloc((size_t)nv + 1, sizeof *want);
	for (int v = -1; v < nv; v++)
		if (pin_target(p, c, v, &want[1 + v], n, &online) != 0)
			goto out;
	for (int v = 0; v <= nv; v++) {
		set_to_map(&want[v], n, map);
		if (pin_one(dom, v - 1, map, maplen, flags) != 0) {
			cpuset_format(&want[v], buf, sizeof buf);
			if (v == 0)
				lv_err(p, "cannot pin the emulator threads of VM '%s' to host CPUs "
				    "%s", c->name, buf);
			else
				lv_err(p, "cannot pin vCPU %d of VM '%s' to host CPUs %s", v - 1,
				    c->name, buf);
			goto out;
		}
	}
	rc = 0;
out:
	free(want);
	free(map);
	return rc;
}

/* C's balloon target onto running DOM (FLAGS: LIVE, CONFIG): its
 * balloon_mib, or all of its memory for 0. */
static int
lv_apply_balloon(struct lv_priv *p, virDomainPtr dom, const struct vm_config *c,
    unsigned int flags)
{
	unsigned long target;
	virDomainInfo info;
	unsigned int parts[2], fl;
	int n, r = 0;

	if (virDomainGetInfo(dom, &info) < 0)
		return lv_err(p, "cannot read the memory of VM '%s'", c->name);
	target = info.maxMem;
	if (c->tuning.balloon_mib > 0) {
		if ((unsigned long long)c->tuning.balloon_mib * 1024 > info.maxMem)
			return err_set("VM '%s': its balloon target, %lld MiB, is above the %lu MiB "
			    "it has on host '%s'; set a smaller one", c->name,
			    (long long)c->tuning.balloon_mib, info.maxMem / 1024, p->name);
		target = (unsigned long)c->tuning.balloon_mib * 1024;
	}
	n = flag_parts(flags, parts);
	for (int i = 0; i < n && r == 0; i++) {
		fl = parts[i];
		while ((r = virDomainSetMemoryFlags(dom, target, fl)) < 0 && retry_flags(&fl))
			;
	}
	if (r < 0)
		return lv_err(p, "cannot set the balloon of VM '%s' to %lu MiB", c->name,
		    target / 1024);
	return 0;
}

/*
 * The definition of DOM with WHAT (LIBVIRT_TUNE_*) of C's tuning, the
 * parts that are the inventory's (libvirt_xml_tuning): the host's own
 * definition edited, redefined only when it differs and then with only
 * those changed, never one made from C (which knows too little of a
 * domain defined elsewhere: its kernel, machine, devices).  The pins go
 * into the XML: drivers pin a domain that is off through the API either to
 * every CPU (qemu) or not at all (test).  1, 0 (the domain's own tuning:
 * left alone), or -1 + err.
 */
static int
lv_sync_definition(struct lv_priv *p, virDomainPtr dom, const struct vm_config *c,
    unsigned what)
{
	struct cpuset online, set;
	char *xml, *changed = NULL;
	virDomainPtr nd;
	int rc, n;

	if (what & LIBVIRT_TUNE_PINS) {
		if (lv_host_cpus(p, &n, &online) != 0)
			return -1;
		for (int v = -1; v < vm_config_cpus(c); v++)
			if (pin_target(p, c, v, &set, n, &online) != 0)
				return -1;
	}
	xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
	if (xml == NULL)
		return lv_err(p, "cannot read the definition of VM '%s'", c->name);
	rc = libvirt_xml_tuning(xml, c, what, &changed);
	free(xml);
	if (rc <= 0 || changed == NULL)
		return rc;
	nd = virDomainDefineXMLFlags(p->conn, changed, VIR_DOMAIN_DEFINE_VALIDATE);
	free(changed);
	if (nd == NULL)
		return lv_err(p, "libvirt rejected the tuning of VM '%s'", c->name);
	virDomainFree(nd);
	log_debug("libvirt: host '%s': VM '%s' redefined with its tuning", p->name, c->name);
	return 1;
}

/* A running domain gets pins and the balloon at once (and its definition
 * them too); the rest, and everything of a domain that is off, goes into
 * its definition.  The parts asked for are the inventory's from then on;
 * the others stay the domain's own. */
static int
lv_tune(struct hv *hv, const struct vm_config *c, unsigned what)
{
	struct lv_priv *p = hv->priv;
	unsigned int flags = 0;
	unsigned parts = LIBVIRT_TUNE_ADOPT |
	    (what & HV_TUNE_PINS ? LIBVIRT_TUNE_PINS : 0) |
	    (what & HV_TUNE_BALLOON ? LIBVIRT_TUNE_BALLOON : 0) |
	    (what & HV_TUNE_HUGEPAGES ? LIBVIRT_TUNE_HUGEPAGES : 0) |
	    (what & HV_TUNE_MAXMEM ? LIBVIRT_TUNE_MEMORY : 0);
	virDomainPtr dom;
	int rc = -1;

	if (tuning_validate(c) != 0 || (dom = lv_lookup(p, c, NULL)) == NULL)
		return -1;
	if (lv_affect(p, dom, c->name, &flags) != 0)
		goto out;
	if ((flags & VIR_DOMAIN_AFFECT_LIVE) &&
	    (((what & HV_TUNE_PINS) && lv_apply_pins(p, dom, c, flags) != 0) ||
	    ((what & HV_TUNE_BALLOON) && lv_apply_balloon(p, dom, c, flags) != 0)))
		goto out;
	if (flags & VIR_DOMAIN_AFFECT_CONFIG) {
		if (lv_sync_definition(p, dom, c, parts) < 0)
			goto out;
	} else if (what & (HV_TUNE_HUGEPAGES | HV_TUNE_MAXMEM)) {
		err_set("VM '%s' is transient on host '%s': it has no definition to keep "
		    "hugepages or a maximum memory for its next start; define it there first",
		    c->name, p->name);
		goto out;
	}
	rc = 0;
out:
	virDomainFree(dom);
	return rc;
}

/* Free memory (node memory statistics, else the free memory call): -1
 * when the driver tells neither. */
static int64_t
lv_free_memory(struct lv_priv *p)
{
	virNodeMemoryStatsPtr st;
	unsigned long long bytes;
	int64_t kib = -1;
	int n = 0;

	if (virNodeGetMemoryStats(p->conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, NULL, &n, 0) == 0 &&
	    n > 0) {
		st = xcalloc((size_t)n, sizeof *st);
		if (virNodeGetMemoryStats(p->conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, st, &n, 0) == 0)
			for (int i = 0; i < n; i++)
				if (strcmp(st[i].field, VIR_NODE_MEMORY_STATS_FREE) == 0)
					kib = (int64_t)st[i].value;
		free(st);
	}
	if (kib >= 0)
		return kib;
	log_debug("libvirt: host '%s': no memory statistics: %s", p->name,
	    virGetLastErrorMessage());
	if ((bytes = virNodeGetFreeMemory(p->conn)) > 0)
		return (int64_t)(bytes / 1024);
	log_debug("libvirt: host '%s': no free memory: %s", p->name, virGetLastErrorMessage());
	return -1;
}

/* The free pages of each pool of HI, summed over NCELLS cells. */
static void
lv_free_pages(struct lv_priv *p, struct hv_host_info *hi, int ncells)
{
	unsigned int sizes[HV_MAX_HUGEPOOLS];
	unsigned long long *counts;
	unsigned int np = (unsigned int)hi->npools;
	int got;

	if (np == 0 || ncells <= 0)
		return;
	for (unsigned int i = 0; i < np; i++)
		sizes[i] = (unsigned int)hi->pools[i].size_kib;
	counts = xcalloc((size_t)np * (size_t)ncells, sizeof *counts);
	got = virNodeGetFreePages(p->conn, np, sizes, 0, (unsigned int)ncells, counts, 0);
	if (got < 0)
		log_debug("libvirt: host '%s': no free hugepages: %s", p->name,
		    virGetLastErrorMessage());
	/* The number of counts filled in; libvirt 9.0's test driver fills
	 * them all and says 0. */
	if (got == 0)
		got = (int)np * ncells;
	for (int k = 0; k < got && k < (int)np * ncells; k++) {
		struct hv_hugepool *pool = &hi->pools[(unsigned int)k % np];

		pool->free = (pool->free < 0 ? 0 : pool->free) + (int64_t)counts[k];
	}
	free(counts);
}

/* What the host has: node information (it must answer that), the rest
 * from its capabilities and what the driver tells (unknown otherwise). */
static int
lv_host_fill(struct lv_priv *p, struct hv_host_info *hi)
{
	struct cpuset online;
	virNodeInfo ni;
	char *caps;
	int ncells = -1, n;

	memset(hi, 0, sizeof *hi);
	if (lv_usable(p) != 0)
		return -1;
	if (virNodeGetInfo(p->conn, &ni) < 0)
		return lv_err(p, "cannot read the host's processors and memory");
	snprintf(hi->arch, sizeof hi->arch, "%s", ni.model);
	hi->mhz = (int)ni.mhz;
	hi->ncpus = (int)ni.cpus;
	hi->nodes = (int)ni.nodes;
	hi->sockets = (int)ni.sockets;
	hi->cores = (int)ni.cores;
	hi->threads = (int)ni.threads;
	hi->mem_total_kib = (int64_t)ni.memory;
	if ((caps = virConnectGetCapabilities(p->conn)) == NULL)
		log_debug("libvirt: host '%s': no capabilities: %s", p->name,
		    virGetLastErrorMessage());
	else if ((ncells = libvirt_caps_host(caps, hi)) < 0)
		log_debug("libvirt: host '%s': %s", p->name, err_get());
	free(caps);
	/* No topology: the online CPUs, where they sit unknown. */
	if (hi->ncpu == 0 && lv_host_cpus(p, &n, &online) == 0) {
		hi->cpu = xcalloc((size_t)cpuset_count(&online) + 1, sizeof *hi->cpu);
		for (int i = 0; i < n; i++)
			if (cpuset_has(&online, i))
				hi->cpu[hi->ncpu++] = (struct hv_cpu){ i, -1, -1, -1 };
	}
	err_clear();
	hi->mem_free_kib = lv_free_memory(p);
	lv_free_pages(p, hi, ncells > 0 ? ncells : hi->nodes);
	hi->ksm_known = false;
	return 0;
}

static int
lv_host_info(struct hv *hv, struct hv_host_info *out)
{
	return lv_host_fill(hv->priv, out);
}

/* Hugepages for DOM (C's size): the host must have the pool, with enough
 * pages free for all of the domain's memory (summed over the cells). */
static int
lv_hugepages_check(struct lv_priv *p, virDomainPtr dom, const struct vm_config *c)
{
	int64_t kib = c->tuning.hugepage_kib, need, missing, nr;
	const struct hv_hugepool *pool = NULL;
	struct hv_host_info hi;
	char size[16], sizes[128] = "";
	virDomainInfo info;
	int rc = 0;

	if (kib <= 0)
		return 0;
	if (virDomainGetInfo(dom, &info) < 0)
		return lv_err(p, "cannot read the memory of VM '%s'", c->name);
	if (lv_host_fill(p, &hi) != 0)
		return -1;
	tuning_format_pagesize(kib, size, sizeof size);
	for (size_t i = 0; i < hi.npools; i++) {
		char one[16];

		if (hi.pools[i].size_kib == kib)
			pool = &hi.pools[i];
		tuning_format_pagesize(hi.pools[i].size_kib, one, sizeof one);
		snprintf(sizes + strlen(sizes), sizeof sizes - strlen(sizes), "%s%s",
		    i > 0 ? ", " : "", one);
	}
	need = ((int64_t)info.maxMem + kib - 1) / kib;
	if (pool == NULL) {
		rc = err_set("VM '%s' wants hugepages of %s, which host '%s' does not have (%s%s); "
		    "choose another size or turn hugepages off", c->name, size, p->name,
		    hi.npools > 0 ? "it has " : "it has none", sizes);
	} else if (pool->free < 0) {
		log_debug("libvirt: host '%s': free hugepages of %s unknown; starting VM '%s' "
		    "unchecked", p->name, size, c->name);
	} else if (pool->free < need) {
		missing = need - pool->free;
		nr = (pool->total > pool->free ? pool->total : pool->free) + missing;
		rc = err_set("VM '%s' needs %lld hugepages of %s for its %lu MiB on host '%s', but "
		    "only %lld are free (%lld missing); reserve more as root on that host with "
		    "'echo %lld > /sys/kernel/mm/hugepages/hugepages-%lldkB/nr_hugepages', or "
		    "turn hugepages off", c->name, (long long)need, size, info.maxMem / 1024,
		    p->name, (long long)pool->free, (long long)missing, (long long)nr,
		    (long long)kib);
	}
	hv_host_info_clear(&hi);
	return rc;
}

/* Before DOM (off) starts: C's hugepages checked against what the host
 * has free (nothing changed when they fall short), then C's pins,
 * hugepages and balloon in its definition, each unless it is the domain's
 * own. */
static int
lv_start_tuning(struct lv_priv *p, virDomainPtr dom, const struct vm_config *c)
{
	if (tuning_validate(c) != 0 || lv_hugepages_check(p, dom, c) != 0 ||
	    lv_sync_definition(p, dom, c, LIBVIRT_TUNE_PINS | LIBVIRT_TUNE_HUGEPAGES |
	    LIBVIRT_TUNE_BALLOON) < 0)
		return -1;
	return 0;
}

/* Ask running DOM's balloon driver for statistics every 2 s, once per
 * run of the domain (the period lasts until it stops). */
static void
lv_stats_period(struct lv_priv *p, virDomainPtr dom, const char *vm)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	int id = (int)virDomainGetID(dom);
	size_t i;

	if (virDomainGetUUIDString(dom, uuid) != 0)
		return;
	pthread_mutex_lock(&p->lock);
	for (i = 0; i < p->nperiods && strcmp(p->periods[i].uuid, uuid) != 0; i++)
		;
	if (i < p->nperiods && p->periods[i].id == id) {
		pthread_mutex_unlock(&p->lock);
		return;
	}
	if (i == p->nperiods)
		p->periods = xreallocarray(p->periods, ++p->nperiods, sizeof *p->periods);
	snprintf(p->periods[i].uuid, sizeof p->periods[i].uuid, "%s", uuid);
	p->periods[i].id = id;
	pthread_mutex_unlock(&p->lock);
	if (virDomainSetMemoryStatsPeriod(dom, 2, VIR_DOMAIN_AFFECT_LIVE) < 0)
		log_debug("libvirt: host '%s': VM '%s': no balloon statistics: %s", p->name, vm,
		    virGetLastErrorMessage());
}

/* Running DOM's balloon and the guest's own view of its memory. */
static void
lv_guest_memory(struct lv_priv *p, virDomainPtr dom, const char *vm,
    struct hv_tune_state *out)
{
	virDomainMemoryStatStruct st[VIR_DOMAIN_MEMORY_STAT_NR];
	int n = virDomainMemoryStats(dom, st, VIR_DOMAIN_MEMORY_STAT_NR, 0);
	bool guest = false;

	for (int i = 0; i < n; i++) {
		int64_t v = (int64_t)st[i].val;

		switch (st[i].tag) {
		case VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON:
			out->balloon_kib = v;
			break;
		case VIR_DOMAIN_MEMORY_STAT_AVAILABLE:
			out->guest_total_kib = v;
			guest = true;
			break;
		case VIR_DOMAIN_MEMORY_STAT_UNUSED:
			out->guest_free_kib = v;
			guest = true;
			break;
		case VIR_DOMAIN_MEMORY_STAT_USABLE:
			out->guest_available_kib = v;
			guest = true;
			break;
		default:
			break;
		}
	}
	if (n < 0)
		log_debug("libvirt: host '%s': VM '%s': no memory statistics: %s", p->name, vm,
		    virGetLastErrorMessage());
	if (!guest)
		lv_stats_period(p, dom, vm);
}

/* Whether SET, where a thread of a domain on a host of N CPUs (ONLINE of
 * them online) may run, is a pin: libvirt gives an unpinned vCPU every CPU
 * of the host, and a running one may run on every online CPU. */
static bool
is_pin(const struct cpuset *set, int n, const struct cpuset *online)
{
	struct cpuset all;

	cpuset_zero(&all);
	for (int i = 0; i < n; i++)
		cpuset_add(&all, i);
	return cpuset_count(set) > 0 && !cpuset_equal(set, &all) && !cpuset_equal(set, online);
}

/* The vCPUs of DOM (NV of them; ACTIVE: running) into OUT: where each ran
 * last and may run, or only its pin (current state, or the definition);
 * which of them the domain pins, whoever pinned them. */
static int
lv_vcpu_state(struct lv_priv *p, virDomainPtr dom, const char *vm, int nv, bool active,
    struct hv_tune_state *out)
{
	struct cpuset online;
	unsigned char *maps;
	virVcpuInfoPtr vi;
	unsigned int fl = active ? VIR_DOMAIN_AFFECT_CURRENT : VIR_DOMAIN_AFFECT_CONFIG;
	int n, maplen, got = -1, r;

	if (lv_host_cpus(p, &n, &online) != 0)
		return -1;
	maplen = VIR_CPU_MAPLEN(n);
	maps = xcalloc((size_t)nv + 1, (size_t)maplen);
	vi = xcalloc((size_t)nv + 1, sizeof *vi);
	out->vcpu = xcalloc((size_t)nv + 1, sizeof *out->vcpu);
	if (active && (got = virDomainGetVcpus(dom, vi, nv, maps, maplen)) < 0)
		log_debug("libvirt: host '%s': VM '%s': no vCPU information: %s", p->name, vm,
		    virGetLastErrorMessage());
	for (int v = 0; v < got; v++) {
		out->vcpu[v].cpu = vi[v].cpu;
		map_to_set(VIR_GET_CPUMAP(maps, maplen, v), n, &out->vcpu[v].affinity);
	}
	if (got < 0) {
		while ((got = virDomainGetVcpuPinInfo(dom, nv, maps, maplen, fl)) < 0 &&
		    retry_flags(&fl))
			;
		for (int v = 0; v < got; v++) {
			out->vcpu[v].cpu = -1;
			map_to_set(VIR_GET_CPUMAP(maps, maplen, v), n, &out->vcpu[v].affinity);
		}
	}
	free(vi);
	if (got < 0) {
		free(maps);
		return lv_err(p, "cannot read the vCPUs of VM '%s'", vm);
	}
	out->nvcpu = (size_t)got;
	for (int v = 0; v < got; v++)
		out->vcpu[v].pinned = is_pin(&out->vcpu[v].affinity, n, &online);
	fl = active ? VIR_DOMAIN_AFFECT_CURRENT : VIR_DOMAIN_AFFECT_CONFIG;
	while ((r = virDomainGetEmulatorPinInfo(dom, maps, maplen, fl)) < 0 && retry_flags(&fl))
		;
	if (r >= 0) {
		out->emulator_known = true;
		map_to_set(maps, n, &out->emulator);
		out->emulator_pinned = is_pin(&out->emulator, n, &online);
	} else {
		log_debug("libvirt: host '%s': VM '%s': no emulator pin: %s", p->name, vm,
		    virGetLastErrorMessage());
	}
	free(maps);
	return 0;
}

static int
lv_tune_state(struct hv *hv, const struct vm_config *c, struct hv_tune_state *out)
{
	struct lv_priv *p = hv->priv;
	virDomainInfo info;
	virDomainPtr dom;
	int active, rc = -1;

	if ((dom = lv_lookup(p, c, NULL)) == NULL)
		return -1;
	if (virDomainGetInfo(dom, &info) < 0 || (active = virDomainIsActive(dom)) < 0) {
		lv_err(p, "cannot read VM '%s'", c->name);
		goto out;
	}
	out->balloon_kib = (int64_t)info.memory;
	out->max_kib = (int64_t)info.maxMem;
	out->guest_total_kib = out->guest_free_kib = out->guest_available_kib = -1;
	if (lv_vcpu_state(p, dom, c->name, info.nrVirtCpu, active == 1, out) != 0)
		goto out;
	if (active == 1)
		lv_guest_memory(p, dom, c->name, out);
	rc = 0;
out:
	virDomainFree(dom);
	return rc;
}

const struct hv_ops hv_libvirt_ops = {
	.name = "libvirt",
	.open = lv_open,
	.close = lv_close,
	.check = lv_check,
	.status = lv_status,
	.peek = lv_peek,
	.start = lv_start,
	.action = lv_action,
	.undefine = lv_undefine,
	.list = lv_list,
	.define = lv_define,
	.redefine = lv_redefine,
	.describe = lv_describe,
	.set_autostart = lv_set_autostart,
	.migrate_check = libvirt_migrate_check,
	.migrate = libvirt_migrate,
	.migrate_abort = libvirt_migrate_abort,
	.snapshot_list = libvirt_snapshot_list,
	.snapshot_create = libvirt_snapshot_create,
	.snapshot_revert = libvirt_snapshot_revert,
	.snapshot_delete = libvirt_snapshot_delete,
	.watch = lv_watch,
	.console_open = lv_console_open,
	.pool_list = lv_pool_list,
	.volume_create = lv_volume_create,
	.volume_delete = lv_volume_delete,
	.graphics_open = lv_graphics_open,
	.host_info = lv_host_info,
	.tune = lv_tune,
	.tune_state = lv_tune_state,
	.vol_open_read = libvirt_vol_open_read,
	.vol_open_write = libvirt_vol_open_write,
	.vol_read = libvirt_vol_read,
	.vol_write = libvirt_vol_write,
	.vol_close = libvirt_vol_close,
	.disk_paths = libvirt_disk_paths,
	.stats = libvirt_stats,
	.clone = libvirt_clone,
};
