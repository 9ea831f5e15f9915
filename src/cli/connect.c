/* Reaching hosts from the CLI with a deadline: a libvirt connect or RPC to
 * a dead or black-holed host may block for minutes inside libvirt, so it
 * runs on a job lane and the CLI stops waiting when the deadline passes
 * (the stuck thread is left behind; the process is about to exit). */
#include "cli/cli.h"
#include "cli/cli_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/hv.h"
#include "model/host.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/job.h"
#include "util/log.h"
#include "util/num.h"
#include "util/loop.h"
#include "util/xalloc.h"

#define CLI_CONNECT_MS 15000
#define CLI_CONNECT_MAX_S 300	/* an hour-long wait is a hang, not a timeout */

struct reach {
	struct host host;	/* a copy */
	bool list;		/* also list the host's domains */
	/* Results, written by the worker, read after done. */
	struct hv *hv;
	struct hv_domain *doms;
	size_t ndoms;
	char error[1024];
	bool finished;
};

static void
reach_work(void *arg)
{
	struct reach *r = arg;

	r->hv = hv_open(&r->host);
	if (r->hv == NULL) {
		snprintf(r->error, sizeof r->error, "%s", err_get());
		return;
	}
	if (r->list && hv_list(r->hv, &r->doms, &r->ndoms) != 0)
		snprintf(r->error, sizeof r->error, "%s", err_get());
}

static void
reach_done(void *arg)
{
	struct reach *r = arg;

	r->finished = true;
}

/* $VMTTY_CONNECT_TIMEOUT in ms: whole seconds from 1 to CLI_CONNECT_MAX_S;
 * anything else is said on stderr and the default (or the cap) used. */
static int
read_timeout_ms(void)
{
	const char *e = getenv("VMTTY_CONNECT_TIMEOUT");
	size_t digits;
	long long v;

	if (e == NULL || e[0] == '\0')
		return CLI_CONNECT_MS;
	if (num_parse(e, 1, CLI_CONNECT_MAX_S, &v) == 0)
		return (int)v * 1000;
	digits = strspn(e, "0123456789");
	if (digits > 0 && e[digits] == '\0' && strspn(e, "0") < digits) {
		fprintf(stderr, "vmtty: VMTTY_CONNECT_TIMEOUT: more than the limit of %d seconds; "
		    "using %d\n", CLI_CONNECT_MAX_S, CLI_CONNECT_MAX_S);
		return CLI_CONNECT_MAX_S * 1000;
	}
	fprintf(stderr, "vmtty: VMTTY_CONNECT_TIMEOUT: not a number of seconds from 1 to "
	    "%d; using the default of %d\n", CLI_CONNECT_MAX_S, CLI_CONNECT_MS / 1000);
	return CLI_CONNECT_MS;
}

/* The connect timeout, read (and any complaint said) once a process. */
static int
timeout_ms(void)
{
	static int ms;

	if (ms == 0)
		ms = read_timeout_ms();
	return ms;
}

/*
 * Reach N hosts at once (one lane each) and wait for all of them or the
 * deadline.  A host still connecting at the deadline gets an error; its
 * reach struct is then owned by the stuck thread and must not be freed.
 */
static void
reach_all(struct reach **rs, size_t n)
{
	struct loop *l = loop_new();
	struct jobs *j = l != NULL ? jobs_new(l) : NULL;
	long long deadline = log_now_ms() + timeout_ms();
	size_t left = n;

	if (j == NULL) {
		for (size_t i = 0; i < n; i++)
			snprintf(rs[i]->error, sizeof rs[i]->error, "%s", err_get());
		loop_free(l);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct lane *lane = jobs_lane_new(j, rs[i]->host.name);

		if (lane == NULL || job_submit(lane, reach_work, reach_done, rs[i]) != 0) {
			snprintf(rs[i]->error, sizeof rs[i]->error, "%s", err_get());
			rs[i]->finished = true;
		}
	}
	while (left > 0 && log_now_ms() < deadline) {
		loop_run_once(l, 100);
		/* Time the user takes to answer a password question is not the
		 * host's: the deadline counts from the answer. */
		if (hv_asking() > 0)
			deadline = log_now_ms() + timeout_ms();
		left = 0;
		for (size_t i = 0; i < n; i++)
			left += !rs[i]->finished;
	}
	for (size_t i = 0; i < n; i++)
		if (!rs[i]->finished)
			snprintf(rs[i]->error, sizeof rs[i]->error, "host '%s' did not answer within "
			    "%d s (%s)", rs[i]->host.name, timeout_ms() / 1000, rs[i]->host.uri);
	jobs_free(j);
	loop_free(l);
}

static struct reach *
reach_new(const struct host *h, bool list)
{
	struct reach *r = xcalloc(1, sizeof *r);

	r->host = *h;
	r->host.name = xstrdup(h->name);
	r->host.uri = xstrdup(h->uri);
	r->host.last_error = NULL;
	r->host.migration_address = NULL;
	r->list = list;
	return r;
}

/* Free a reach whose worker is done; a stuck one is left alone. */
static void
reach_free(struct reach *r)
{
	if (!r->finished)
		return;
	hv_domains_free(r->doms, r->ndoms);
	host_clear(&r->host);
	free(r);
}

struct hv *
cli_hv_open(const struct host *h)
{
	struct reach *r;
	struct hv *hv;

	/* The built-in backend opens at once: no thread needed. */
	if (h->kind == HOST_BUILTIN)
		return hv_open(h);
	r = reach_new(h, false);
	reach_all(&r, 1);
	hv = r->finished ? r->hv : NULL;
	if (hv == NULL)
		err_set("%s", r->error);
	r->hv = NULL;
	reach_free(r);
	return hv;
}

/* Turn the domains a host reported into the inventory's cache rows. */
static int
sync_host(struct db *db, const struct host *h, const struct hv_domain *d, size_t n)
{
	struct vm_seen *seen = hv_domains_seen(d, n);
	int rc;

	rc = vm_cache_sync(db, h->id, seen, n, NULL, NULL);
	free(seen);
	return rc;
}

int
cli_refresh_hosts(struct db *db, const char *only, char ***stale, size_t *nstale)
{
	struct host *hosts;
	struct reach **rs;
	size_t nh, n = 0;

	*stale = NULL;
	*nstale = 0;
	if (host_list(db, &hosts, &nh) != 0)
		return -1;
	rs = xcalloc(nh + 1, sizeof *rs);
	for (size_t i = 0; i < nh; i++)
		if (hosts[i].kind == HOST_LIBVIRT && (only == NULL || strcmp(only, hosts[i].name) == 0))
			rs[n++] = reach_new(&hosts[i], true);
	if (n > 0)
		reach_all(rs, n);
	*stale = xcalloc(n + 1, sizeof **stale);
	for (size_t i = 0; i < n; i++) {
		struct reach *r = rs[i];

		if (r->finished && r->error[0] == '\0' &&
		    sync_host(db, &r->host, r->doms, r->ndoms) == 0) {
			host_set_contact(db, r->host.id, NULL);
		} else {
			if (r->error[0] == '\0')
				snprintf(r->error, sizeof r->error, "%s", err_get());
			host_set_contact(db, r->host.id, r->error);
			cli_warn("%s; showing the VMs last seen there", r->error);
			(*stale)[(*nstale)++] = xstrdup(r->host.name);
		}
		if (r->finished && r->hv != NULL)
			hv_close(r->hv);
		r->hv = NULL;
		reach_free(r);
	}
	free(rs);
	host_list_free(hosts, nh);
	return 0;
}
