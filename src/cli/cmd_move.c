/* vmtty migrate VM --to HOST --offline: a stopped VM moves cold between
 * any two hosts (ops/move.h): its preflight, then each disk streamed and
 * checked, with progress lines (--progress) or JSON events (--json) as a
 * live migration prints them; Ctrl-C stops it, and the destination is
 * left as it was. */
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
#include "ops/move.h"
#include "util/err.h"
#include "util/num.h"

static atomic_bool move_stop;

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&move_stop, true);
}

struct watch {
	bool progress, json;
};

static void
print_event(const char *event, const struct move_progress *p, const struct move_result *r)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "event", json_object_new_string(event));
	json_object_object_add(o, "phase", cli_json_str(p->phase));
	json_object_object_add(o, "elapsed_ms", json_object_new_int64(p->elapsed_ms));
	json_object_object_add(o, "disk_total", json_object_new_int64(p->total));
	json_object_object_add(o, "disk_processed", json_object_new_int64(p->done));
	json_object_object_add(o, "disk_remaining", json_object_new_int64(p->total > p->done ?
	    p->total - p->done : 0));
	json_object_object_add(o, "disk", json_object_new_int64((int64_t)p->disk));
	json_object_object_add(o, "disks", json_object_new_int64((int64_t)p->ndisks));
	json_object_object_add(o, "path", cli_json_str(p->path));
	if (r != NULL) {
		json_object *a = json_object_new_array();

		for (size_t i = 0; i < r->ndisks; i++) {
			json_object *d = json_object_new_object();

			json_object_object_add(d, "source", cli_json_str(r->disks[i].from));
			json_object_object_add(d, "destination", cli_json_str(r->disks[i].to));
			json_object_object_add(d, "sha256", json_object_new_string(r->disks[i].sha256));
			json_object_object_add(d, "bytes", json_object_new_int64(r->disks[i].bytes));
			json_object_object_add(d, "shared", json_object_new_boolean(r->disks[i].shared));
			json_object_object_add(d, "flattened",
			    json_object_new_boolean(r->disks[i].flattened));
			json_object_array_add(a, d);
		}
		json_object_object_add(o, "disk_list", a);
		json_object_object_add(o, "message", cli_json_str(r->message));
		json_object_object_add(o, "warning", r->warning[0] != '\0' ?
		    cli_json_str(r->warning) : NULL);
	}
	cli_json_line(o);
}

static void
print_progress(const struct move_progress *p)
{
	char done[32], total[32], left[32];
	int64_t rem = p->total > p->done ? p->total - p->done : 0;

	num_format_bytes(p->done, done, sizeof done);
	num_format_bytes(p->total, total, sizeof total);
	num_format_bytes(rem, left, sizeof left);
	printf("%5.1fs %-9s %3d%%  %s of %s, %s left", (double)p->elapsed_ms / 1000, p->phase,
	    p->total > 0 ? (int)(100 * (p->total - rem) / p->total) : 100, done, total, left);
	if (p->path != NULL) {
		printf(" (disk %zu/%zu ", p->disk, p->ndisks);
		cli_print_cell(p->path, 0);
		printf(")");
	}
	printf("\n");
	fflush(stdout);
}

/* On the moving thread. */
static void
on_progress(const struct move_progress *p, void *arg)
{
	struct watch *w = arg;

	if (strcmp(p->phase, "done") == 0)
		return;		/* the result says it */
	if (w->json)
		print_event("progress", p, NULL);
	else if (w->progress)
		print_progress(p);
}

static void
print_report(const struct vm_config *c, const char *to, char *report, bool json)
{
	if (json) {
		json_object *e = json_object_new_object(), *a = json_object_new_array();

		for (char *s = report, *nl; (nl = strchr(s, '\n')) != NULL; s = nl + 1) {
			*nl = '\0';
			json_object_array_add(a, cli_json_str(s));
			*nl = '\n';
		}
		json_object_object_add(e, "event", json_object_new_string("preflight"));
		json_object_object_add(e, "checks", a);
		cli_json_line(e);
	} else {
		printf("preflight of VM ");
		cli_print_cell(c->name, 0);
		printf(" to host ");
		cli_print_cell(to, 0);
		printf(" (offline):\n");
		for (const char *s = report, *nl; (nl = strchr(s, '\n')) != NULL; s = nl + 1) {
			char *l = strndup(s, (size_t)(nl - s));

			printf("  ");
			cli_print_cell(l, 0);
			printf("\n");
			free(l);
		}
	}
	fflush(stdout);
}

static void
print_result(const struct vm_config *c, const struct move_result *r, bool json)
{
	if (json) {
		struct move_progress p = { "done", r->elapsed_ms, r->bytes, r->bytes, r->ndisks,
			r->ndisks, NULL };

		print_event("done", &p, r);
	} else {
		printf("VM ");
		cli_print_cell(c->name, 0);
		printf(" ");
		cli_print_cell(r->message, 0);
		printf("\n");
		for (size_t i = 0; i < r->ndisks; i++) {
			printf("  ");
			cli_print_cell(r->disks[i].from, 0);
			printf(" -> ");
			cli_print_cell(r->disks[i].to, 0);
			printf(" sha256 %s%s%s\n", r->disks[i].sha256,
			    r->disks[i].shared ? " (shared, not copied)" : "",
			    r->disks[i].flattened ? " (flattened)" : "");
		}
	}
	fflush(stdout);
	if (r->warning[0] != '\0')
		cli_warn("the move is done, but the source is not all gone: %s", r->warning);
}

/* The preflight, then the move with signals turned into a stop. */
static int
move(struct cli_ctx *ctx, struct cli_vm *v, struct hv *dst, const struct move_opts *o,
    const struct watch *w)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa, old[3];
	struct move_result r;
	struct move_plan *p;
	char report[4096];
	int rc;

	p = move_plan(ctx->db, v->hv, dst, &v->c, o, report, sizeof report);
	if (p == NULL) {
		char msg[1024];

		/* What passed; stderr has the one line why not. */
		snprintf(msg, sizeof msg, "%s", err_get());
		if (!w->json && report[0] != '\0')
			print_report(&v->c, dst->host.name, report, false);
		journal_add(ctx->db, v->c.host, v->c.name, "migrate", false, msg);
		return err_set("%s", msg);
	}
	print_report(&v->c, dst->host.name, report, w->json);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	rc = move_run(p, &r);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	move_plan_free(p);
	if (rc == 0) {
		print_result(&v->c, &r, w->json);
		move_result_clear(&r);
	}
	return rc;
}

int
cmd_migrate_offline(struct cli_ctx *ctx, const char *spec, const char *to_name, const char *pool,
    bool offline, const struct hv_migrate_opts *live, bool progress, bool json)
{
	struct move_opts o = { pool, live->keep_source, live->bandwidth_mib, &move_stop,
		on_progress, NULL };
	struct watch w = { progress, json };
	struct host to = { 0 };
	struct hv *dst = NULL;
	struct cli_vm v;
	int rc;

	if (!offline)
		return cli_usage("migrate", "--pool is for an offline move; give --offline too");
	if (live->copy_storage || live->postcopy || live->auto_converge)
		return cli_usage("migrate", "--%s is for a live migration; an offline move "
		    "always copies the disks", live->copy_storage ? "copy-storage" :
		    live->postcopy ? "postcopy" : "auto-converge");
	o.arg = &w;
	atomic_store(&move_stop, false);
	if (cli_vm_load(ctx, spec, &v, true) != 0)
		return ctx->db == NULL ? CLI_FAILED : cli_fail_err();
	if (host_get(ctx->db, to_name, &to) != 0 || (dst = cli_hv_open(&to)) == NULL) {
		char msg[1024];

		snprintf(msg, sizeof msg, "%s", err_get());
		journal_add(ctx->db, v.c.host, v.c.name, "migrate", false, msg);
		err_set("%s", msg);
		rc = -1;
	} else {
		rc = move(ctx, &v, dst, &o, &w);
	}
	if (rc != 0)
		cli_fail("%s", err_get());
	hv_close(dst);
	host_clear(&to);
	cli_vm_free(&v);
	return rc == 0 ? CLI_OK : CLI_FAILED;
}
