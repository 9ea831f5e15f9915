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
#include "model/host.h"
#include "model/journal.h"
#include "model/vm.h"
#include "ops/migrate.h"
#include "util/err.h"
#include "util/log.h"
#include "util/num.h"

static atomic_bool migrate_stop;

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&migrate_stop, true);
}

struct watch {
	struct hv *src;
	const struct vm_config *c;
	bool progress, json;
	bool asked;		/* the abort was asked for */
	bool postcopy;
	struct hv_migrate_progress last;
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
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	fflush(stdout);
	json_object_put(o);
}

static void
print_progress(const struct hv_migrate_progress *p)
{
	char done[32], total[32], left[32];
	int64_t all = (p->mem_total > 0 ? p->mem_total : 0) + (p->disk_total > 0 ? p->disk_total : 0);
	int64_t did = (p->mem_processed > 0 ? p->mem_processed : 0) +
	    (p->disk_processed > 0 ? p->disk_processed : 0);
	int64_t rem = (p->mem_remaining > 0 ? p->mem_remaining : 0) +
	    (p->disk_remaining > 0 ? p->disk_remaining : 0);

	migrate_format_bytes(did, done, sizeof done);
	migrate_format_bytes(all, total, sizeof total);
	migrate_format_bytes(rem, left, sizeof left);
	printf("%5.1fs %-9s %3d%%  %s of %s, %s left", (double)p->elapsed_ms / 1000,
	    p->phase != NULL ? p->phase : "?", all > 0 ? (int)(100 * (all - rem) / all) : 0, done,
	    total, left);
	if (p->dirty_rate >= 0)
		printf(", dirty %lld pages/s", (long long)p->dirty_rate);
	if (p->downtime_ms >= 0)
		printf(", downtime ~%lld ms", (long long)p->downtime_ms);
	printf("\n");
	fflush(stdout);
}

/* On the migrating thread: show the progress; stop when a signal came. */
static void
on_progress(const struct hv_migrate_progress *p, void *arg)
{
	struct watch *w = arg;

	w->last = *p;
	w->postcopy = p->postcopy;
	if (w->json)
		print_event("progress", p);
	else if (w->progress)
		print_progress(p);
	if (atomic_load(&migrate_stop) && !w->asked) {
		w->asked = true;
		if (migrate_abort(w->src, w->c, p->postcopy) != 0)
			cli_warn("%s", err_get());
	}
}

/* A moved VM's journal lines on both hosts, and the inventory row. */
static int
record(struct cli_ctx *ctx, const struct vm_config *c, const struct host *to,
    const struct watch *w, int64_t ms)
{
	char msg[512], bytes[32], down[32];
	int rc;

	migrate_format_bytes((w->last.mem_processed > 0 ? w->last.mem_processed : 0) +
	    (w->last.disk_processed > 0 ? w->last.disk_processed : 0), bytes, sizeof bytes);
	if (w->last.downtime_ms >= 0)
		snprintf(down, sizeof down, "%lld ms", (long long)w->last.downtime_ms);
	else
		snprintf(down, sizeof down, "unknown");
	snprintf(msg, sizeof msg, "moved live from host '%s' to host '%s' in %.1f s (downtime %s, "
	    "%s transferred%s)", c->host, to->name, (double)ms / 1000, down, bytes,
	    w->postcopy ? ", post-copy" : "");
	rc = vm_move(ctx->db, c->id, to->id);
	if (rc != 0) {
		char why[512];

		snprintf(why, sizeof why, "%s", err_get());
		err_set("VM '%s' now runs on host '%s', but the inventory could not record it (%s); "
		    "'vmtty list --host %s' finds it there", c->name, to->name, why, to->name);
		journal_add(ctx->db, c->host, c->name, "migrate", false, err_get());
		return -1;
	}
	journal_add(ctx->db, c->host, c->name, "migrate", true, msg);
	journal_add(ctx->db, to->name, c->name, "migrate", true, msg);
	if (w->json) {
		struct hv_migrate_progress p = w->last;

		p.phase = "done";
		p.elapsed_ms = ms;
		print_event("done", &p);
	} else {
		printf("VM ");
		cli_print_cell(c->name, 0);
		printf(" %s\n", msg);
	}
	return 0;
}

/* The preflight's findings, one a line. */
static void
print_report(const struct vm_config *c, const struct host *to, const char *report)
{
	printf("preflight of VM ");
	cli_print_cell(c->name, 0);
	printf(" to host ");
	cli_print_cell(to->name, 0);
	printf(":\n");
	for (const char *s = report, *nl; (nl = strchr(s, '\n')) != NULL; s = nl + 1)
		printf("  %.*s\n", (int)(nl - s), s);
	fflush(stdout);
}

static int
migrate(struct cli_ctx *ctx, struct cli_vm *v, const struct host *to, struct hv *dst,
    struct hv_migrate_opts *o, struct watch *w)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa, old[3];
	struct hv_status st;
	char report[2048];
	int64_t t0;
	int rc;

	if (hv_status(v->hv, &v->c, &st) != 0)
		return -1;
	if (st.state != HV_RUNNING && st.state != HV_PAUSED)
		return err_set("VM '%s' is %s: a live migration needs it running; start it first",
		    v->c.name, hv_state_name(st.state));
	if (migrate_preflight(v->hv, dst, &v->c, o, report, sizeof report) != 0) {
		/* What passed, as on success; stderr has the one line why not. */
		if (!w->json && report[0] != '\0')
			print_report(&v->c, to, report);
		return -1;
	}
	if (w->json) {
		json_object *e = json_object_new_object(), *a = json_object_new_array();

		for (char *s = report, *nl; (nl = strchr(s, '\n')) != NULL; s = nl + 1) {
			*nl = '\0';
			json_object_array_add(a, json_object_new_string(s));
		}
		json_object_object_add(e, "event", json_object_new_string("preflight"));
		json_object_object_add(e, "checks", a);
		printf("%s\n", json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN));
		fflush(stdout);
		json_object_put(e);
	} else {
		print_report(&v->c, to, report);
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	atomic_store(&migrate_stop, false);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	t0 = log_now_ms();
	rc = hv_migrate(v->hv, dst, &v->c, o, on_progress, w);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	/* The backend says where the VM is after a failure (stopped as asked or
	 * not): it has looked. */
	if (rc != 0)
		return -1;
	return record(ctx, &v->c, to, w, log_now_ms() - t0);
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
	struct host to = { 0 };
	struct hv *dst = NULL;
	struct cli_vm v;
	char **ops, uri[300], msg[1024];
	long long mib;
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
	if (bw != NULL) {
		if (num_parse(bw, 1, 1000000, &mib) != 0) {
			free(ops);
			return cli_fail("bandwidth: '%s' is not a whole number of MiB/s from 1 to "
			    "1000000", bw);
		}
		o.bandwidth_mib = (uint64_t)mib;
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
	w.src = v.hv;
	w.c = &v.c;
	if (host_get(ctx->db, to_name, &to) != 0 || (dst = cli_hv_open(&to)) == NULL) {
		rc = -1;
	} else {
		migrate_uri(&o, &to, uri, sizeof uri);
		rc = migrate(ctx, &v, &to, dst, &o, &w);
	}
	if (rc != 0) {
		snprintf(msg, sizeof msg, "%s", err_get());
		journal_add(ctx->db, v.c.host, v.c.name, "migrate", false, msg);
		cli_fail("%s", msg);
	}
	hv_close(dst);
	host_clear(&to);
	cli_vm_free(&v);
	return rc == 0 ? CLI_OK : CLI_FAILED;
}
