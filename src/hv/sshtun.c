/* sshtun: streams through `ssh -W` over one ControlMaster per host. */
#include "hv/sshtun.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/err.h"
#include "util/log.h"
#include "util/paths.h"
#include "util/spawn.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* How long the far end may take to say its first bytes (ssh login included). */
#define SSHTUN_OPEN_MS 20000
/* An idle master (no stream left) ends by itself after this, even if vmtty
 * died without sshtun_free. */
#define SSHTUN_PERSIST_S "120"
#define SSHTUN_ERRLEN 512

struct sshtun {
	char *name;			/* the vmtty host, for messages */
	struct sshtun_target t;
	char *ctl;			/* ControlPath; NULL: one ssh connection per stream */
	pthread_mutex_t lock;		/* pids */
	pid_t *pids;			/* ssh -W processes not reaped yet */
	size_t npids;
};

static atomic_int sshtun_seq;

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* S[0..LEN) with %XX decoded; allocated. */
static char *
decode(const char *s, size_t len)
{
	char *out = xmalloc(len + 1), *o = out;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len &&
		    hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			*o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

void
sshtun_target_clear(struct sshtun_target *t)
{
	free(t->program);
	free(t->user);
	free(t->host);
	free(t->port);
	free(t->keyfile);
	free(t->known_hosts);
	memset(t, 0, sizeof *t);
}

/* One KEY=VALUE of the query. */
static void
parse_param(struct sshtun_target *t, const char *kv, size_t len)
{
	const char *eq = memchr(kv, '=', len);
	char *key, *val;

	if (eq == NULL)
		return;
	key = decode(kv, (size_t)(eq - kv));
	val = decode(eq + 1, len - (size_t)(eq - kv) - 1);
	if (strcmp(key, "command") == 0 && val[0] != '\0') {
		free(t->program);
		t->program = val, val = NULL;
	} else if (strcmp(key, "keyfile") == 0 && val[0] != '\0') {
		free(t->keyfile);
		t->keyfile = val, val = NULL;
	} else if (strcmp(key, "known_hosts") == 0 && val[0] != '\0') {
		free(t->known_hosts);
		t->known_hosts = val, val = NULL;
	} else if (strcmp(key, "no_verify") == 0) {
		t->no_verify = strcmp(val, "0") != 0;
	} else if (strcmp(key, "known_hosts_verify") == 0) {
		t->no_verify = strcmp(val, "ignore") == 0;
	}
	free(key);
	free(val);
}

int
sshtun_parse(const char *host_name, const char *uri, struct sshtun_target *t)
{
	const char *sep = strstr(uri, "://"), *plus, *auth, *end, *at, *hp, *colon;

	memset(t, 0, sizeof *t);
	plus = sep != NULL ? memchr(uri, '+', (size_t)(sep - uri)) : NULL;
	if (plus == NULL || !((sep - plus == 4 && strncmp(plus, "+ssh", 4) == 0) ||
	    (sep - plus == 7 && strncmp(plus, "+libssh", 7) == 0)))
		return err_set("host '%s': '%s' is not an ssh URI; a remote graphical display "
		    "is reached through ssh, so connect the host with qemu+ssh://", host_name,
		    uri);
	auth = sep + 3;
	end = auth + strcspn(auth, "/?#");
	at = NULL;
	for (const char *c = auth; c < end; c++)
		if (*c == '@')
			at = c;
	if (at != NULL)
		t->user = decode(auth, (size_t)(at - auth));
	hp = at != NULL ? at + 1 : auth;
	if (*hp == '[') {
		const char *rb = memchr(hp, ']', (size_t)(end - hp));

		if (rb == NULL)
			goto bad;
		t->host = xstrndup(hp + 1, (size_t)(rb - hp - 1));
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = memchr(hp, ':', (size_t)(end - hp));
		t->host = decode(hp, (size_t)((colon != NULL ? colon : end) - hp));
	}
	if (colon != NULL && colon + 1 < end)
		t->port = xstrndup(colon + 1, (size_t)(end - colon - 1));
	if (t->host[0] == '\0')
		goto bad;
	if (*end == '/')
		end += strcspn(end, "?#");
	if (*end == '?') {
		const char *q = end + 1;

		while (*q != '\0' && *q != '#') {
			size_t len = strcspn(q, "&#");

			parse_param(t, q, len);
			q += len;
			if (*q == '&')
				q++;
		}
	}
	if (t->program == NULL)
		t->program = xstrdup("ssh");
	return 0;
bad:
	sshtun_target_clear(t);
	return err_set("host '%s': cannot find the remote machine in URI '%s'; write it as "
	    "qemu+ssh://[USER@]HOST[:PORT]/system", host_name, uri);
}

struct sshtun *
sshtun_new(const char *host_name, const char *uri)
{
	struct sshtun *s = xcalloc(1, sizeof *s);
	struct sockaddr_un sa;
	char *dir;

	if (sshtun_parse(host_name, uri, &s->t) != 0) {
		free(s);
		return NULL;
	}
	s->name = xstrdup(host_name);
	pthread_mutex_init(&s->lock, NULL);
	/* ssh binds CTL plus ".XXXXXXXXXXXXXXXX" first: both must fit. */
	dir = paths_runtime_dir();
	/* Another user's directory there would get the connection's socket. */
	if (paths_private_dir(dir, "runtime directory", "one ssh connection per stream") != 0)
		log_debug("sshtun: host '%s': %s", host_name, err_get());
	else {
		s->ctl = xasprintf("%s/ssh-%d-%d", dir, (int)getpid(),
		    atomic_fetch_add(&sshtun_seq, 1));
		if (strlen(s->ctl) + 18 > sizeof sa.sun_path) {
			log_debug("sshtun: host '%s': '%s' is too long for a socket; one ssh "
			    "connection per stream", host_name, s->ctl);
			free(s->ctl);
			s->ctl = NULL;
		}
	}
	free(dir);
	return s;
}

/* V gets ssh and the options common to every call (not the host). */
static void
base_argv(const struct sshtun *s, struct strv *v)
{
	strv_init(v);
	strv_add(v, s->t.program);
	if (s->t.port != NULL)
		strv_add2(v, "-p", s->t.port);
	if (s->t.user != NULL)
		strv_add2(v, "-l", s->t.user);
	if (s->t.keyfile != NULL)
		strv_add2(v, "-i", s->t.keyfile);
	strv_add2(v, "-o", "BatchMode=yes");
	strv_add2(v, "-o", "ConnectTimeout=15");
	if (s->t.no_verify)
		strv_add2(v, "-o", "StrictHostKeyChecking=no");
	if (s->t.known_hosts != NULL) {
		strv_add(v, "-o");
		strv_addf(v, "UserKnownHostsFile=%s", s->t.known_hosts);
	}
	if (s->ctl != NULL) {
		strv_add(v, "-o");
		strv_addf(v, "ControlPath=%s", s->ctl);
	}
}

/* Forget the ssh processes that have ended. */
static void
reap(struct sshtun *s)
{
	size_t j = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->npids; i++)
		if (waitpid(s->pids[i], NULL, WNOHANG) == 0)
			s->pids[j++] = s->pids[i];
	s->npids = j;
	pthread_mutex_unlock(&s->lock);
}

/* The last line(s) of ssh's stderr, tidied into one clause. */
static void
tidy(char *buf)
{
	size_t n = strlen(buf);

	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	for (char *c = buf; *c != '\0'; c++)
		if (*c == '\n' || *c == '\r')
			*c = ';';
	if (n > 0 && buf[n - 1] == '.')
		buf[n - 1] = '\0';
}

/* Read what is there on ERRFD into BUF (keeps the end). */
static void
drain(int errfd, char *buf, size_t *have)
{
	char chunk[256];
	ssize_t r;

	while ((r = read(errfd, chunk, sizeof chunk)) > 0)
		spawn_keep_tail(buf, SSHTUN_ERRLEN, have, chunk, (size_t)r);
}

int
sshtun_open(struct sshtun *s, const char *addr, int port, const char *what, int *fd)
{
	struct strv argv;
	char target[300], errbuf[SSHTUN_ERRLEN] = "";
	long long deadline = log_now_ms() + SSHTUN_OPEN_MS;
	int sv[2], ep[2], rc = -1, st;
	size_t have = 0;
	bool exited = false, eof = false;
	pid_t pid;

	reap(s);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return err_set("cannot create a socket pair: %s", strerror(errno));
	if (pipe2(ep, O_CLOEXEC | O_NONBLOCK) != 0) {
		close(sv[0]);
		close(sv[1]);
		return err_set("cannot create a pipe: %s", strerror(errno));
	}
	snprintf(target, sizeof target, strchr(addr, ':') != NULL ? "[%s]:%d" : "%s:%d", addr,
	    port);
	base_argv(s, &argv);
	if (s->ctl != NULL) {
		strv_add2(&argv, "-o", "ControlMaster=auto");
		strv_add2(&argv, "-o", "ControlPersist=" SSHTUN_PERSIST_S);
	}
	strv_add2(&argv, "-W", target);
	strv_add2(&argv, "--", s->t.host);
	rc = spawn_start(argv.v, sv[1], sv[1], ep[1], &pid);
	strv_free(&argv);
	close(sv[1]);
	close(ep[1]);
	if (rc != 0) {
		close(sv[0]);
		close(ep[0]);
		return err_prefix("host '%s': cannot start ssh for %s", s->name, what);
	}
	rc = -1;
	for (;;) {
		struct pollfd p[2] = { { sv[0], POLLIN, 0 }, { ep[0], POLLIN, 0 } };
		long long left = deadline - log_now_ms();
		char c;

		if (left <= 0)
			break;
		poll(p, ep[0] >= 0 ? 2 : 1, left > 200 ? 200 : (int)left);
		if (ep[0] >= 0 && p[1].revents != 0) {
			drain(ep[0], errbuf, &have);
			if (p[1].revents & POLLHUP) {
				close(ep[0]);
				ep[0] = -1;
			}
		}
		if (p[0].revents != 0) {
			ssize_t r = recv(sv[0], &c, 1, MSG_PEEK | MSG_DONTWAIT);

			if (r > 0) {
				rc = 0;
				break;
			}
			if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				eof = true;
				break;
			}
		}
		if (waitpid(pid, &st, WNOHANG) == pid) {
			exited = true;
			break;
		}
	}
	if (rc == 0) {
		if (ep[0] >= 0)
			close(ep[0]);
		pthread_mutex_lock(&s->lock);
		s->pids = xrealloc(s->pids, (s->npids + 1) * sizeof *s->pids);
		s->pids[s->npids++] = pid;
		pthread_mutex_unlock(&s->lock);
		*fd = sv[0];
		log_debug("sshtun: host '%s': %s through ssh -W %s (pid %d)", s->name, what,
		    target, (int)pid);
		return 0;
	}
	close(sv[0]);
	if (!exited) {
		/* EOF first: ssh is on its way out; a timeout: stop it. */
		long long until = log_now_ms() + (eof ? 2000 : 0);

		while (waitpid(pid, &st, WNOHANG) == 0) {
			if (log_now_ms() >= until) {
				kill(pid, SIGTERM);
				waitpid(pid, &st, 0);
				break;
			}
			poll(NULL, 0, 10);
		}
	}
	if (ep[0] >= 0) {
		drain(ep[0], errbuf, &have);
		close(ep[0]);
	}
	tidy(errbuf);
	if (!eof && !exited)
		return err_set("host '%s': %s (%s on the host) did not answer through ssh within "
		    "%d s; check that the host is reachable and that ssh to it works without a "
		    "password", s->name, what, target, SSHTUN_OPEN_MS / 1000);
	return err_set("host '%s': cannot reach %s (%s on the host) through ssh: %s; check that "
	    "ssh to the host works without a password and that its sshd allows TCP forwarding "
	    "(AllowTcpForwarding)", s->name, what, target,
	    errbuf[0] != '\0' ? errbuf : "the connection closed at once");
}

void
sshtun_free(struct sshtun *s)
{
	long long until;
	int st;

	if (s == NULL)
		return;
	if (s->ctl != NULL && access(s->ctl, F_OK) == 0) {
		struct strv argv;

		base_argv(s, &argv);
		strv_add2(&argv, "-O", "exit");
		strv_add2(&argv, "--", s->t.host);
		st = 0;
		if (spawn_wait(argv.v, -1, -1, 5000, &st) != 0)
			log_debug("sshtun: host '%s': ssh -O exit: %s", s->name, err_get());
		else if (st != 0)
			log_debug("sshtun: host '%s': ssh -O exit said %d", s->name, st);
		strv_free(&argv);
	}
	if (s->ctl != NULL)
		unlink(s->ctl);
	/* Streams end with their master; a direct one once its fd is closed. */
	until = log_now_ms() + 2000;
	for (;;) {
		reap(s);
		if (s->npids == 0)
			break;
		if (log_now_ms() >= until) {
			for (size_t i = 0; i < s->npids; i++) {
				kill(s->pids[i], SIGTERM);
				waitpid(s->pids[i], NULL, 0);
			}
			break;
		}
		poll(NULL, 0, 20);
	}
	free(s->pids);
	free(s->ctl);
	free(s->name);
	sshtun_target_clear(&s->t);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
