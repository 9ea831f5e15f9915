/*
 * vmtty serve: a Prometheus exporter.  Every host of the inventory lives
 * in a fleet (ops/fleet: its own job lane, reconnected with backoff) and
 * is sampled every interval through an ops/stats collector on that lane,
 * as `vmtty top` samples.  After each sample the exposition (ops/metrics)
 * is rendered once and published; HTTP requests, answered by
 * libmicrohttpd's own threads, only take a reference to the text last
 * published, so a scrape never waits for a host.  A host that is not
 * connected, or whose sample did not come back within its time limit, has
 * no series and vmtty_host_up 0.
 *
 * With --supervise, ops/supervise also keeps the built-in VMs up (their
 * restart policy) from the same loop; SIGTERM stops both and leaves every
 * VM as it is.
 */
#include "cli/cli.h"
#include "cli/cli_priv.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hv/hv.h"
#include "model/db.h"
#include "model/host.h"
#include "ops/fleet.h"
#include "ops/metrics.h"
#include "ops/stats.h"
#include "ops/supervise.h"
#include "util/err.h"
#include "util/job.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/num.h"
#include "util/str.h"
#include "util/xalloc.h"

#define SERVE_PORT 9177
/* A sample still running after this long (or two intervals, when longer)
 * counts as the host not answering: its series go until one comes back. */
#define SERVE_LIMIT_MS 5000
#define SERVE_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A published exposition: shared by the responses that send it. */
struct page {
	int refs;		/* atomic */
	char *text;
	size_t len;
};

struct serve_host {
	char *name;
	enum host_kind kind;
	struct stats *st;
	struct cli_vmset set;	/* the VMs of the sample in flight */
	struct serve *srv;
	bool busy;		/* a sample is queued or running */
	long long started;	/* log_now_ms() when it was queued */
	bool up;		/* the last sample answered in time */
	bool stalled;		/* the running one did not */
	bool gone;		/* no longer in the inventory */
	double scrape_s;	/* how long the last sample took; -1 */
	double sample_s;	/* written by the lane: the one in flight */
	char sample_error[512];	/* written by the lane */
	char said[512];		/* the last problem logged */
};

struct serve {
	struct cli_ctx *ctx;
	struct loop *loop;
	struct jobs *jobs;
	struct fleet *fleet;
	struct serve_host **hosts;
	size_t nhosts;
	int interval_ms;
	long long limit_ms;
	bool quitting;
	bool supervising;	/* --supervise */
	pthread_mutex_t mu;	/* guards PAGE, STARTING and WHY */
	struct page *page;
	bool starting;		/* in MHD_start_daemon: its complaint goes to WHY */
	char why[256];
};

static volatile sig_atomic_t serve_quit;

static void
on_quit(int sig)
{
	(void)sig;
	serve_quit = 1;
}

/* --- the published text --- */

static void
page_unref(void *arg)
{
	struct page *p = arg;

	if (p != NULL && __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		free(p->text);
		free(p);
	}
}

/* Render every up host's VMs and publish the text. */
static void
publish(struct serve *srv)
{
	struct metrics_host *mh = xcalloc(srv->nhosts + 1, sizeof *mh);
	struct stats_vm *all = NULL;
	struct page *p = xcalloc(1, sizeof *p), *old;
	size_t total = 0, nh = 0;

	for (size_t i = 0; i < srv->nhosts; i++) {
		struct serve_host *sh = srv->hosts[i];
		struct stats_vm *v;
		size_t nv;

		if (sh->gone)
			continue;
		mh[nh].name = sh->name;
		mh[nh].up = sh->up && !sh->stalled;
		mh[nh].scrape_s = sh->scrape_s;
		if (mh[nh++].up) {
			stats_snapshot(sh->st, &v, &nv);
			all = xreallocarray(all, total + nv + 1, sizeof *all);
			memcpy(all + total, v, nv * sizeof *v);
			total += nv;
			free(v);	/* its arrays moved into ALL */
		}
	}
	p->refs = 1;
	p->text = metrics_render(mh, nh, all, total, &p->len);
	stats_vms_free(all, total);
	free(mh);
	pthread_mutex_lock(&srv->mu);
	old = srv->page;
	srv->page = p;
	pthread_mutex_unlock(&srv->mu);
	page_unref(old);
}

/* --- HTTP (libmicrohttpd's threads) --- */

static const char index_page[] =
    "<html><head><title>vmtty exporter</title></head><body>\n"
    "<h1>vmtty exporter</h1>\n<p><a href=\"/metrics\">Metrics</a></p>\n</body></html>\n";

static enum MHD_Result
reply_static(struct MHD_Connection *conn, unsigned status, const char *type, const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
	    MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **req_cls)
{
	struct serve *srv = cls;
	struct MHD_Response *r;
	struct page *p;
	enum MHD_Result rc;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)req_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_static(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
		    "Only GET and HEAD are served here.\n");
	if (strcmp(url, "/") == 0)
		return reply_static(conn, MHD_HTTP_OK, "text/html; charset=utf-8", index_page);
	if (strcmp(url, "/metrics") != 0)
		return reply_static(conn, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8",
		    "Not found: the metrics are at /metrics.\n");
	pthread_mutex_lock(&srv->mu);
	p = srv->page;
	__atomic_add_fetch(&p->refs, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&srv->mu);
	r = MHD_create_response_from_buffer_with_free_callback_cls(p->len, p->text, page_unref, p);
	if (r == NULL) {
		page_unref(p);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, SERVE_CONTENT_TYPE);
	rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rc;
}

/* libmicrohttpd's complaints, as one escaped line each on stderr. */
static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct serve *srv = cls;
	char buf[512], *line;
	size_t n;
	bool starting;

	vsnprintf(buf, sizeof buf, fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	line = str_escape(buf);
	pthread_mutex_lock(&srv->mu);
	starting = srv->starting;
	/* Why the start failed: said in the one line that says it failed. */
	if (starting)
		snprintf(srv->why, sizeof srv->why, "%s", line);
	pthread_mutex_unlock(&srv->mu);
	if (!starting)
		cli_warn("http: %s", line);
	free(line);
}

/* --- sampling (the loop's thread, and each host's lane) --- */

/* Log WHY about SH once (until it changes); "" clears it. */
static void
say(struct serve_host *sh, const char *why)
{
	if (strcmp(sh->said, why) == 0)
		return;
	snprintf(sh->said, sizeof sh->said, "%s", why);
	if (why[0] != '\0') {
		char *e = str_escape(why);

		cli_warn("host '%s' is down: %s", sh->name, e);
		free(e);
	} else {
		cli_warn("host '%s' is up", sh->name);
	}
}

static void
work_sample(struct hv *hv, void *arg)
{
	struct serve_host *sh = arg;
	long long t0 = log_now_us();

	sh->sample_error[0] = '\0';
	if (stats_sample(sh->st, hv, sh->set.vms, sh->set.n) != 0)
		snprintf(sh->sample_error, sizeof sh->sample_error, "%s", err_get());
	sh->sample_s = (double)(log_now_us() - t0) / 1e6;
}

static void
done_sample(void *arg)
{
	struct serve_host *sh = arg;

	sh->busy = false;
	sh->stalled = false;
	sh->scrape_s = sh->sample_s;
	cli_vmset_clear(&sh->set);
	if (sh->srv->quitting)
		return;
	sh->up = sh->sample_error[0] == '\0';
	say(sh, sh->sample_error);
	publish(sh->srv);
}

static void
stalled_sample(const char *error, void *arg)
{
	struct serve_host *sh = arg;

	sh->stalled = true;
	if (sh->srv->quitting)
		return;
	say(sh, error);
	publish(sh->srv);
}

/* Queue a sample of SH on its lane when its fleet host is up. */
static void
sample_host(struct serve *srv, struct serve_host *sh)
{
	struct fleet_host *fh = fleet_get(srv->fleet, sh->name);
	long long now = log_now_ms();

	if (sh->busy) {
		if (!sh->stalled && now - sh->started > srv->limit_ms) {
			char why[512];

			snprintf(why, sizeof why, "its statistics did not come back within %lld ms",
			    srv->limit_ms);
			sh->stalled = true;
			say(sh, why);
		}
		return;
	}
	if (fh == NULL || fh->state != FLEET_UP) {
		sh->up = false;
		if (fh != NULL && fh->state == FLEET_UNREACHABLE)
			say(sh, fh->error);
		return;
	}
	if (sh->kind == HOST_BUILTIN) {
		struct db *db = cli_db(srv->ctx);

		if (db == NULL || cli_vmset_load(db, sh->name, &sh->set) != 0) {
			sh->up = false;
			say(sh, err_get());
			return;
		}
	} else {
		cli_vmset_domains(fh->doms, fh->ndoms, &sh->set);
	}
	sh->busy = true;
	sh->started = now;
	if (fleet_run_bounded(srv->fleet, sh->name, work_sample, done_sample, stalled_sample,
	    sh) != 0) {
		sh->busy = false;
		sh->up = false;
		cli_vmset_clear(&sh->set);
		say(sh, err_get());
	}
}

/* Follow the inventory's hosts: new ones join, removed ones go. */
static void
sync_hosts(struct serve *srv)
{
	struct db *db = cli_db(srv->ctx);
	struct host *hosts;
	size_t n;

	if (db == NULL || host_list(db, &hosts, &n) != 0) {
		cli_warn("%s", err_get());
		return;
	}
	fleet_set_hosts(srv->fleet, hosts, n);
	for (size_t k = 0; k < srv->nhosts; k++) {
		bool keep = false;

		for (size_t i = 0; i < n && !keep; i++)
			keep = strcmp(hosts[i].name, srv->hosts[k]->name) == 0;
		srv->hosts[k]->gone = !keep;
	}
	for (size_t i = 0; i < n; i++) {
		struct serve_host *sh = NULL;

		for (size_t k = 0; k < srv->nhosts && sh == NULL; k++)
			if (strcmp(hosts[i].name, srv->hosts[k]->name) == 0)
				sh = srv->hosts[k];
		if (sh != NULL)
			continue;
		sh = xcalloc(1, sizeof *sh);
		sh->name = xstrdup(hosts[i].name);
		sh->kind = hosts[i].kind;
		sh->st = stats_new(sh->name, srv->interval_ms);
		sh->srv = srv;
		sh->scrape_s = -1;
		srv->hosts = xreallocarray(srv->hosts, srv->nhosts + 1, sizeof *srv->hosts);
		srv->hosts[srv->nhosts++] = sh;
	}
	host_list_free(hosts, n);
}

static void
on_round(void *arg)
{
	struct serve *srv = arg;

	if (serve_quit)
		return;
	sync_hosts(srv);
	for (size_t i = 0; i < srv->nhosts; i++)
		if (!srv->hosts[i]->gone)
			sample_host(srv, srv->hosts[i]);
	/* Hosts that went down (or away) lose their series now. */
	publish(srv);
	loop_add_timer(srv->loop, srv->interval_ms, on_round, srv);
}

/* A host's view changed (connected, lost): sample it at once when it came up. */
static void
on_fleet_changed(void *arg)
{
	struct serve *srv = arg;

	if (serve_quit || srv->quitting)
		return;
	for (size_t i = 0; i < srv->nhosts; i++) {
		struct serve_host *sh = srv->hosts[i];
		struct fleet_host *fh = fleet_get(srv->fleet, sh->name);

		if (!sh->gone && !sh->busy && !sh->up && fh != NULL && fh->state == FLEET_UP)
			sample_host(srv, sh);
	}
}

/* --- setup --- */

/*
 * ADDR:PORT (an IPv4 address, or [IPv6]) into SS.  *LOOPBACK tells
 * whether only this machine can reach it.  0, or -1 + err.
 */
static int
parse_listen(const char *s, struct sockaddr_storage *ss, bool *loopback)
{
	char host[128];
	const char *colon = strrchr(s, ':');
	long long port;
	size_t hl;

	memset(ss, 0, sizeof *ss);
	if (colon == NULL || colon == s)
		return err_set("--listen takes ADDRESS:PORT (such as 127.0.0.1:9177 or "
		    "[::1]:9177), not '%s'", s), -1;
	hl = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hl < 3 || s[hl - 1] != ']')
			return err_set("--listen: '%s' is not [IPv6]:PORT", s), -1;
		hl -= 2;
		s++;
	}
	if (hl >= sizeof host)
		return err_set("--listen: the address in '%s' is too long", s), -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (num_parse(colon + 1, 1, 65535, &port) != 0)
		return err_set("--listen: the port must be a number from 1 to 65535, not '%s'",
		    colon + 1), -1;
	if (s[-1] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return err_set("--listen: '%s' is not an IPv6 address", host), -1;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return err_set("--listen: '%s' is not an IPv4 address (write an IPv6 one "
			    "as [ADDRESS]:PORT)", host), -1;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		*loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	return 0;
}

static struct MHD_Daemon *
start_http(struct serve *srv, const struct sockaddr_storage *ss)
{
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	struct MHD_Daemon *d;
	uint16_t port;

	if (ss->ss_family == AF_INET6) {
		flags |= MHD_USE_IPv6;
		port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	} else {
		port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	}
	pthread_mutex_lock(&srv->mu);
	srv->starting = true;
	srv->why[0] = '\0';
	pthread_mutex_unlock(&srv->mu);
	d = MHD_start_daemon(flags, port, NULL, NULL, on_request, srv,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
	    MHD_OPTION_SOCK_ADDR, ss,
	    MHD_OPTION_THREAD_POOL_SIZE, 2U,
	    MHD_OPTION_CONNECTION_LIMIT, 256U,
	    MHD_OPTION_CONNECTION_TIMEOUT, 10U,
	    MHD_OPTION_END);
	pthread_mutex_lock(&srv->mu);
	srv->starting = false;
	pthread_mutex_unlock(&srv->mu);
	return d;
}

static void
serve_free(struct serve *srv)
{
	for (size_t i = 0; i < srv->nhosts; i++) {
		struct serve_host *sh = srv->hosts[i];

		/* A lane stuck in a sample may still write it. */
		if (sh->busy)
			continue;
		cli_vmset_clear(&sh->set);
		stats_free(sh->st);
		free(sh->name);
		free(sh);
	}
	free(srv->hosts);
	page_unref(srv->page);
	pthread_mutex_destroy(&srv->mu);
}

/* The supervisor's lines, on stderr (a unit's log). */
static void
on_supervise_say(const char *line, void *arg)
{
	(void)arg;
	cli_warn("%s", line);
}

static int
serve_run(struct serve *srv, const struct sockaddr_storage *ss, const char *listen,
    bool asked, bool loopback)
{
	struct sigaction sa = { 0 }, old_int, old_term, old_pipe;
	struct MHD_Daemon *d;

	sync_hosts(srv);
	publish(srv);
	if ((d = start_http(srv, ss)) == NULL)
		return srv->why[0] != '\0' ?
		    cli_fail("cannot listen on %s: %s; choose another with --listen ADDRESS:PORT",
		    listen, srv->why) :
		    cli_fail("cannot listen on %s (is the port in use, or the address not "
		    "this machine's?); choose another with --listen ADDRESS:PORT", listen);
	/* Said once the port is bound (and the supervise lock taken). */
	if (asked)
		cli_warn("listening on %s, as --listen asks%s", listen, loopback ? "" :
		    ": reachable from other machines (the metrics name every VM; put a firewall "
		    "or a proxy with authentication in front)");
	serve_quit = 0;
	sa.sa_handler = on_quit;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &old_pipe);
	cli_warn("serving metrics on http://%s/metrics, from %zu host%s every %d s%s", listen,
	    srv->nhosts, srv->nhosts == 1 ? "" : "s", srv->interval_ms / 1000, srv->supervising ?
	    "; supervising the built-in VMs" : "");
	on_round(srv);
	while (!serve_quit)
		loop_run_once(srv->loop, 500);
	srv->quitting = true;
	MHD_stop_daemon(d);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	cli_warn("stopped; the VMs were left as they are");
	return CLI_OK;
}

int
cmd_serve(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *listen = NULL, *interval = NULL;
	bool supervise = false;
	const struct cli_opt opts[] = {
		{ "listen", &listen, NULL, NULL },
		{ "interval", &interval, NULL, NULL },
		{ "supervise", NULL, &supervise, NULL },
		{ 0 },
	};
	struct supervise *sup = NULL;
	struct serve srv = { .ctx = ctx, .interval_ms = STATS_INTERVAL_MS };
	struct sockaddr_storage ss;
	bool loopback = true;
	char deflt[32];
	char **ops;
	int nops, rc;
	long long v;

	rc = cli_parse("serve", argc, argv, opts, &ops, &nops);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	free(ops);
	if (nops != 0)
		return cli_usage("serve", "serve takes no operands; use --listen ADDRESS:PORT to "
		    "choose where it listens");
	if (interval != NULL) {
		if (num_parse(interval, 1, STATS_INTERVAL_MAX_MS / 1000, &v) != 0)
			return cli_usage("serve", "--interval takes whole seconds from 1 to %d, not "
			    "'%s'", STATS_INTERVAL_MAX_MS / 1000, interval);
		srv.interval_ms = (int)v * 1000;
	}
	snprintf(deflt, sizeof deflt, "127.0.0.1:%d", SERVE_PORT);
	/* One line, for a unit file's log. */
	if (parse_listen(listen != NULL ? listen : deflt, &ss, &loopback) != 0)
		return cli_warn("%s", err_get()), CLI_USAGE;
	srv.limit_ms = 2LL * srv.interval_ms > SERVE_LIMIT_MS ? 2LL * srv.interval_ms :
	    SERVE_LIMIT_MS;
	if (cli_db(ctx) == NULL)
		return CLI_FAILED;
	pthread_mutex_init(&srv.mu, NULL);
	if ((srv.loop = loop_new()) == NULL || (srv.jobs = jobs_new(srv.loop)) == NULL) {
		loop_free(srv.loop);
		pthread_mutex_destroy(&srv.mu);
		return cli_fail_err();
	}
	srv.fleet = fleet_new(srv.loop, srv.jobs, on_fleet_changed, &srv);
	srv.supervising = supervise;
	/* Before listening: a second supervisor is refused at once. */
	if (supervise && (sup = supervise_new(srv.loop, srv.jobs, cli_db(ctx), on_supervise_say,
	    NULL)) == NULL)
		rc = cli_fail_err();
	else
		rc = serve_run(&srv, &ss, listen != NULL ? listen : deflt, listen != NULL,
		    loopback);
	srv.quitting = true;
	supervise_shutdown(sup);
	fleet_shutdown(srv.fleet);
	jobs_free(srv.jobs);
	fleet_free(srv.fleet);
	supervise_free(sup);
	serve_free(&srv);
	loop_free(srv.loop);
	return rc;
}
