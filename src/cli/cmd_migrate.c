/* vmtty migrate VM --to HOST: a running VM moves live to another libvirt
 * host, with a preflight first, progress on the way, and Ctrl-C to stop
 * it (the VM then runs on its source as before).  With --offline a
 * stopped VM moves cold (cmd_move.c). */
#include "cli/cli.h"
#include "cli/cli_priv.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/hv.h"
#include "model/db.h"
#include "model/host.h"
#include "model/vm.h"
#include "ops/migrate.h"
#include "util/err.h"
#include "util/num.h"

/* Set by SIGINT, SIGTERM, SIGHUP while the move runs. */
static atomic_bool stop_asked;

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_asked, true);
}

struct watch {
	bool progress, json;
	bool asked;		/* migrate_stop was called */
};

static void
print_event(const char *event, const struct hv_migrate_progress *p)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "event", json_object_new_string(event));
	json_object_object_add(o, "phase", cli_json_str(p->phase));
	json_object_object_add(o, "elapsed_ms", json_object_new_int64(p->elapsed_ms));
#define NUM(k, v) json_object_object_add(o, k, (v) >= 0 ? json_object_new_int64(v) : NULL)
	NUM("memory_total", p->mem_total);
	NUM("memory_processed", p->mem_processed);
	NUM("memory_remaining", p->mem_remaining);
	NUM("disk_total", p->disk_total);
	NUM("disk_processed", p->disk_processed);
	NUM("disk_remaining", p->disk_remaining);
	NUM("dirty_rate", p->dirty_rate);
	NUM("downtime_ms", p->downtime_ms);
#undef NUM
	json_object_object_add(o, "postcopy", json_object_new_boolean(p->postcopy));
	cli_json_line(o);
}

static void
print_progress(const struct hv_migrate_progress *p)
{
	char done[32], total[32], left[32];
	int64_t all, did, rem;
	int pct = migrate_amounts(p, &all, &did, &rem);

	num_format_bytes(did, done, sizeof done);
	num_format_bytes(all, total, sizeof total);
	num_format_bytes(rem, left, sizeof left);
	printf("%5.1fs %-9s %3d%%  %s of %s, %s left", (double)p->elapsed_ms / 1000,
	    p->phase != NULL ? p->phase : "?", pct, done, total, left);
	if (p->dirty_rate >= 0)
		printf(", dirty %lld pages/s", (long long)p->dirty_rate);
	if (p->downtime_ms >= 0)
		printf(", downtime ~%lld ms", (long long)p->downtime_ms);
	printf("\n");
	fflush(stdout);
}

/* A signal came: stop the move (once). */
static void
maybe_stop(struct migration *m, struct watch *w)
{
	if (!atomic_load(&stop_asked) || w->asked)
		return;
	w->asked = true;
	if (migrate_stop(m) != 0)
		cli_warn("%s", err_get());
}

/* The preflight's findings, one a line. */
static void
print_report(const struct migration *m)
{
	printf("preflight of VM ");
	cli_print_cell(m->c.name, 0);
	printf(" to host ");
	cli_print_cell(m->to, 0);
	printf(":\n");
	for (const char *s = m->report, *nl; (nl = strchr(s, '\n')) != NULL; s = nl + 1)
		printf("  %.*s\n", (int)(nl - s), s);
	fflush(stdout);
}

/* On the migrating thread: the preflight passed, nothing moved yet. */
static void
on_checked(struct migration *m, void *arg)
{
	struct watch *w = arg;

	if (w->json) {
		json_object *e = json_object_new_object(), *a = json_object_new_array();

		for (const char *s = m->report, *nl; (nl = strchr(s, '\n')) != NULL; s = nl + 1)
			json_object_array_add(a, json_object_new_string_len(s, (int)(nl - s)));
		json_object_object_add(e, "event", json_object_new_string("preflight"));
		json_object_object_add(e, "checks", a);
		cli_json_line(e);
	} else {
		print_report(m);
	}
	maybe_stop(m, w);
}

/* On the migrating thread: show the progress; stop when a signal came. */
static void
on_progress(struct migration *m, const struct hv_migrate_progress *p, void *arg)
{
	struct watch *w = arg;

	if (m->abort_error[0] != '\0')
		cli_warn("%s", m->abort_error);
	if (w->json)
		print_event("progress", p);
	else if (w->progress)
		print_progress(p);
	maybe_stop(m, w);
}

/* The move went through: say so. */
static void
print_done(const struct migration *m, const struct watch *w)
{
	if (w->json) {
		struct hv_migrate_progress p = m->last;

		p.phase = "done";
		p.elapsed_ms = m->ms;
		print_event("done", &p);
	} else {
		printf("VM ");
		cli_print_cell(m->c.name, 0);
		printf(" %s\n", m->message);
	}
}

/* Move M from SRC to host TO, with the signals that stop it caught. */
static int
run(struct migration *m, struct hv *src, const struct host *to, struct watch *w)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa, old[3];
	struct hv *dst;
	int rc;

	if ((dst = cli_hv_open(to)) == NULL)
		return -1;
	m->on_checked = on_checked;
	m->on_progress = on_progress;
	m->arg = w;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	atomic_store(&stop_asked, false);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	rc = migrate_run(m, src, dst, to);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	/* What passed of a refused preflight, as on success; stderr has the
	 * one line why not. */
	if (rc != 0 && !m->checked && !w->json && m->report[0] != '\0')
		print_report(m);
	hv_close(dst);
	return rc;
}

int
cmd_migrate(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *to_name = NULL, *bw = NULL, *pool = NULL;
	struct hv_migrate_opts o = { 0 };
	struct watch w = { 0 };
	bool offline = false;
	const struct cli_opt opts[] = {
		{ "to", &to_name, NULL, NULL },
		{ "copy-storage", NULL, &o.copy_storage, NULL },
		{ "postcopy", NULL, &o.postcopy, NULL },
		{ "auto-converge", NULL, &o.auto_converge, NULL },
		{ "keep-source", NULL, &o.keep_source, NULL },
		{ "bandwidth", &bw, NULL, NULL },
		{ "progress", NULL, &w.progress, NULL },
		{ "json", NULL, &w.json, NULL },
		{ "offline", NULL, &offline, NULL },
		{ "pool", &pool, NULL, NULL },
		{ 0 },
	};
	struct migration m;
	struct host to = { 0 };
	struct cli_vm v;
	char **ops, msg[1024];
	int n, rc;

	rc = cli_parse("migrate", argc, argv, opts, &ops, &n);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if (n != 1) {
		free(ops);
		return cli_usage("migrate", "migrate takes one VM");
	}
	if (to_name == NULL) {
		free(ops);
		return cli_usage("migrate", "migrate needs --to HOST");
	}
	if (bw != NULL && migrate_parse_bandwidth(bw, &o.bandwidth_mib) != 0) {
		free(ops);
		return cli_fail_err();
	}
	if (offline || pool != NULL) {
		rc = cmd_migrate_offline(ctx, ops[0], to_name, pool, offline, &o, w.progress, w.json);
		free(ops);
		return rc;
	}
	rc = cli_vm_load(ctx, ops[0], &v, true);
	free(ops);
	if (rc != 0)
		return ctx->db == NULL ? CLI_FAILED : cli_fail_err();
	migrate_init(&m, &v.c, &o);
	m.inventory = db_path(ctx->db);
	rc = host_get(ctx->db, to_name, &to) == 0 ? run(&m, v.hv, &to, &w) : -1;
	if (rc != 0) {
		snprintf(msg, sizeof msg, "%s", err_get());
		migrate_record(ctx->db, &m, msg);
		cli_fail("%s", msg);
	} else if (migrate_record(ctx->db, &m, NULL) != 0) {
		rc = -1;
		cli_fail_err();
	} else {
		print_done(&m, &w);
	}
	migrate_clear(&m);
	host_clear(&to);
	cli_vm_free(&v);
	return rc == 0 ? CLI_OK : CLI_FAILED;
}
