/* vmtty host add|list|rm|info|ksm */
#include "cli/cli.h"
#include "cli/cli_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/hv.h"
#include "model/host.h"
#include "model/tuning.h"
#include "model/journal.h"
#include "util/err.h"

/* Journal an operation's outcome; on failure keep the original message. */
static int
journaled(struct db *db, const char *host, const char *action, int rc, const char *okmsg)
{
	char msg[1024];

	if (rc == 0) {
		journal_add(db, host, NULL, action, true, okmsg);
		return CLI_OK;
	}
	snprintf(msg, sizeof msg, "%s", err_get());
	journal_add(db, host, NULL, action, false, msg);
	return cli_fail("%s", msg);
}

static int
host_add_cmd(struct cli_ctx *ctx, char **ops, int n)
{
	struct db *db;
	char okmsg[1100];

	if (n != 2)
		return cli_usage("host", "host add takes a NAME and a URI");
	if ((db = cli_db(ctx)) == NULL)
		return CLI_FAILED;
	snprintf(okmsg, sizeof okmsg, "added host with URI '%s'", ops[1]);
	return journaled(db, ops[0], "host-add", host_add(db, ops[0], ops[1]), okmsg);
}

static int
host_set_cmd(struct cli_ctx *ctx, char **ops, int n, const char *addr)
{
	struct db *db;
	char okmsg[400];

	if (n != 1)
		return cli_usage("host", "host set takes a NAME");
	if (addr == NULL)
		return cli_usage("host", "host set needs --migration-address ADDR");
	if ((db = cli_db(ctx)) == NULL)
		return CLI_FAILED;
	snprintf(okmsg, sizeof okmsg, addr[0] != '\0' ? "migration address %s" :
	    "no migration address%s", addr);
	return journaled(db, ops[0], "host-set", host_set_migration_address(db, ops[0], addr),
	    okmsg);
}

static int
host_rm_cmd(struct cli_ctx *ctx, char **ops, int n)
{
	struct db *db;

	if (n != 1)
		return cli_usage("host", "host rm takes a NAME");
	if ((db = cli_db(ctx)) == NULL)
		return CLI_FAILED;
	return journaled(db, ops[0], "host-rm", host_remove(db, ops[0]), "removed host");
}

static int
host_list_cmd(struct cli_ctx *ctx, int n, bool json)
{
	struct host *hosts;
	struct db *db;
	size_t nh;

	if (n != 0)
		return cli_usage("host", "host list takes no operands");
	if ((db = cli_db(ctx)) == NULL)
		return CLI_FAILED;
	if (host_list(db, &hosts, &nh) != 0)
		return cli_fail_err();
	if (json) {
		json_object *a = json_object_new_array_ext((int)nh);

		for (size_t i = 0; i < nh; i++) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "name", cli_json_str(hosts[i].name));
			json_object_object_add(o, "uri", cli_json_str(hosts[i].uri));
			json_object_object_add(o, "kind", cli_json_str(host_kind_name(hosts[i].kind)));
			json_object_object_add(o, "autoconnect",
			    json_object_new_boolean(hosts[i].autoconnect));
			if (hosts[i].last_seen > 0) {
				char t[40];

				cli_format_time_iso(hosts[i].last_seen, t, sizeof t);
				json_object_object_add(o, "last_seen", json_object_new_string(t));
			} else {
				json_object_object_add(o, "last_seen", NULL);
			}
			json_object_object_add(o, "last_error", cli_json_str(hosts[i].last_error));
			json_object_object_add(o, "migration_address",
			    cli_json_str(hosts[i].migration_address));
			json_object_array_add(a, o);
		}
		cli_json_print(a);
	} else {
		int w = 4;

		for (size_t i = 0; i < nh; i++)
			if (cli_cell_width(hosts[i].name) > w)
				w = cli_cell_width(hosts[i].name);
		printf("%-*s  %-7s  %s\n", w, "NAME", "KIND", "URI");
		for (size_t i = 0; i < nh; i++) {
			cli_print_cell(hosts[i].name, w);
			printf("  %-7s  ", host_kind_name(hosts[i].kind));
			cli_print_cell(hosts[i].uri, 0);
			putchar('\n');
		}
	}
	host_list_free(hosts, nh);
	return CLI_OK;
}

static void
info_json(const struct host *h, const struct hv_host_info *hi)
{
	json_object *o = json_object_new_object(), *cpus = json_object_new_array();
	json_object *pools = json_object_new_array(), *ksm = NULL;

	json_object_object_add(o, "host", cli_json_str(h->name));
	json_object_object_add(o, "uri", cli_json_str(h->uri));
	json_object_object_add(o, "arch", cli_json_str(hi->arch));
	json_object_object_add(o, "model", hi->model[0] != '\0' ? cli_json_str(hi->model) : NULL);
	json_object_object_add(o, "mhz", hi->mhz > 0 ? json_object_new_int(hi->mhz) : NULL);
	json_object_object_add(o, "cpus", json_object_new_int(hi->ncpus));
	json_object_object_add(o, "sockets", json_object_new_int(hi->sockets));
	json_object_object_add(o, "cores", json_object_new_int(hi->cores));
	json_object_object_add(o, "threads", json_object_new_int(hi->threads));
	json_object_object_add(o, "nodes", json_object_new_int(hi->nodes));
	for (size_t i = 0; i < hi->ncpu; i++) {
		json_object *c = json_object_new_object();

		json_object_object_add(c, "cpu", json_object_new_int(hi->cpu[i].cpu));
		json_object_object_add(c, "core", json_object_new_int(hi->cpu[i].core));
		json_object_object_add(c, "socket", json_object_new_int(hi->cpu[i].socket));
		json_object_object_add(c, "node", json_object_new_int(hi->cpu[i].node));
		json_object_array_add(cpus, c);
	}
	json_object_object_add(o, "cpu", cpus);
	json_object_object_add(o, "memory_total_kib", json_object_new_int64(hi->mem_total_kib));
	json_object_object_add(o, "memory_free_kib", hi->mem_free_kib >= 0 ?
	    json_object_new_int64(hi->mem_free_kib) : NULL);
	for (size_t i = 0; i < hi->npools; i++) {
		const struct hv_hugepool *p = &hi->pools[i];
		json_object *j = json_object_new_object();

		json_object_object_add(j, "size_kib", json_object_new_int64(p->size_kib));
		json_object_object_add(j, "total", p->total >= 0 ? json_object_new_int64(p->total) : NULL);
		json_object_object_add(j, "free", p->free >= 0 ? json_object_new_int64(p->free) : NULL);
		json_object_object_add(j, "reserved", p->reserved >= 0 ?
		    json_object_new_int64(p->reserved) : NULL);
		json_object_array_add(pools, j);
	}
	json_object_object_add(o, "hugepages", pools);
	if (hi->ksm_known) {
		ksm = json_object_new_object();
		json_object_object_add(ksm, "run", json_object_new_boolean(hi->ksm_run));
		json_object_object_add(ksm, "pages_shared", json_object_new_int64(hi->ksm_shared));
		json_object_object_add(ksm, "pages_sharing", json_object_new_int64(hi->ksm_sharing));
		json_object_object_add(ksm, "full_scans", json_object_new_int64(hi->ksm_full_scans));
	}
	json_object_object_add(o, "ksm", ksm);
	cli_json_print(o);
}

static void
print_count(int64_t v)
{
	if (v >= 0)
		printf("  %-9lld", (long long)v);
	else
		printf("  %-9s", "-");
}

static void
info_text(const struct host *h, const struct hv_host_info *hi)
{
	printf("host ");
	cli_print_cell(h->name, 0);
	printf(" (");
	cli_print_cell(h->uri, 0);
	printf(")\nCPUs: %d ", hi->ncpus);
	cli_print_cell(hi->arch, 0);
	if (hi->model[0] != '\0') {
		printf(" ");
		cli_print_cell(hi->model, 0);
	}
	if (hi->mhz > 0)
		printf(", %d MHz", hi->mhz);
	printf("; %d NUMA node%s x %d socket%s x %d core%s x %d thread%s\n", hi->nodes,
	    hi->nodes == 1 ? "" : "s", hi->sockets, hi->sockets == 1 ? "" : "s", hi->cores,
	    hi->cores == 1 ? "" : "s", hi->threads, hi->threads == 1 ? "" : "s");
	printf("memory: %lld MiB", (long long)(hi->mem_total_kib / 1024));
	if (hi->mem_free_kib >= 0)
		printf(", %lld MiB free", (long long)(hi->mem_free_kib / 1024));
	printf("\n\n%-5s %-5s %-7s %s\n", "CPU", "CORE", "SOCKET", "NODE");
	for (size_t i = 0; i < hi->ncpu; i++)
		printf("%-5d %-5d %-7d %d\n", hi->cpu[i].cpu, hi->cpu[i].core, hi->cpu[i].socket,
		    hi->cpu[i].node);
	printf("\n%-9s  %-9s  %-9s  %s\n", "HUGEPAGES", "TOTAL", "FREE", "RESERVED");
	for (size_t i = 0; i < hi->npools; i++) {
		char ps[16];

		tuning_format_pagesize(hi->pools[i].size_kib, ps, sizeof ps);
		printf("%-9s", ps);
		print_count(hi->pools[i].total);
		print_count(hi->pools[i].free);
		print_count(hi->pools[i].reserved);
		putchar('\n');
	}
	if (hi->npools == 0)
		printf("(none)\n");
	if (hi->ksm_known)
		printf("\nKSM: %s, %lld pages shared, %lld sharing, %lld full scans\n",
		    hi->ksm_run ? "on" : "off", (long long)hi->ksm_shared,
		    (long long)hi->ksm_sharing, (long long)hi->ksm_full_scans);
}

/* Open HOST's backend: NULL after printing why. */
static struct hv *
open_host(struct cli_ctx *ctx, const char *name, struct host *h)
{
	struct db *db;
	struct hv *hv;

	if ((db = cli_db(ctx)) == NULL)
		return NULL;
	if (host_get(db, name, h) != 0) {
		cli_fail_err();
		return NULL;
	}
	if ((hv = cli_hv_open(h)) == NULL) {
		cli_fail_err();
		host_clear(h);
	}
	return hv;
}

static int
host_info_cmd(struct cli_ctx *ctx, char **ops, int n, bool json)
{
	struct hv_host_info hi;
	struct host h;
	struct hv *hv;
	int rc = CLI_OK;

	if (n != 1)
		return cli_usage("host", "host info takes a HOST");
	if ((hv = open_host(ctx, ops[0], &h)) == NULL)
		return CLI_FAILED;
	if (hv_host_info(hv, &hi) != 0) {
		rc = cli_fail("host '%s': %s", h.name, err_get());
	} else {
		if (json)
			info_json(&h, &hi);
		else
			info_text(&h, &hi);
		hv_host_info_clear(&hi);
	}
	hv_close(hv);
	host_clear(&h);
	return rc;
}

/* vmtty host ksm on|off: the built-in host's KSM. */
static int
host_ksm_cmd(struct cli_ctx *ctx, char **ops, int n)
{
	struct host h;
	struct hv *hv;
	bool on;
	int rc;

	if (n != 1 || (strcmp(ops[0], "on") != 0 && strcmp(ops[0], "off") != 0))
		return cli_usage("host", "host ksm takes on or off");
	on = strcmp(ops[0], "on") == 0;
	if ((hv = open_host(ctx, "local", &h)) == NULL)
		return CLI_FAILED;
	rc = journaled(ctx->db, h.name, "ksm", hv_ksm_set(hv, on), on ? "KSM on" : "KSM off");
	hv_close(hv);
	host_clear(&h);
	return rc;
}

/* The options each host subcommand takes: one table of options is parsed
 * for all of them, and a subcommand refuses the others as unknown. */
static const struct {
	const char *name, *alias;
	bool json, addr;
} host_subs[] = {
	{ "add", NULL, false, false },
	{ "list", "ls", true, false },
	{ "rm", "remove", false, false },
	{ "set", NULL, false, true },
	{ "info", NULL, true, false },
	{ "ksm", NULL, false, false },
};

/* CLI_OK, or CLI_USAGE after saying which option SUB does not take. */
static int
host_opts_check(const char *sub, bool json, const char *addr)
{
	for (size_t i = 0; i < sizeof host_subs / sizeof host_subs[0]; i++) {
		if (strcmp(sub, host_subs[i].name) != 0 &&
		    (host_subs[i].alias == NULL || strcmp(sub, host_subs[i].alias) != 0))
			continue;
		if (json && !host_subs[i].json)
			return cli_usage("host", "host %s: unknown option '--json'", sub);
		if (addr != NULL && !host_subs[i].addr)
			return cli_usage("host", "host %s: unknown option '--migration-address'", sub);
		return CLI_OK;
	}
	return CLI_OK;	/* an unknown subcommand is said below */
}

int
cmd_host(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *addr = NULL;
	bool json = false;
	const struct cli_opt opts[] = {
		{ "json", NULL, &json, NULL },
		{ "migration-address", &addr, NULL, NULL },
		{ 0 },
	};
	char **ops;
	int n, rc;

	rc = cli_parse("host", argc, argv, opts, &ops, &n);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if (n == 0)
		rc = cli_usage("host", "host needs a subcommand: add, list, rm, set, info or ksm");
	else if (host_opts_check(ops[0], json, addr) != CLI_OK)
		rc = CLI_USAGE;
	else if (strcmp(ops[0], "add") == 0)
		rc = host_add_cmd(ctx, ops + 1, n - 1);
	else if (strcmp(ops[0], "list") == 0 || strcmp(ops[0], "ls") == 0)
		rc = host_list_cmd(ctx, n - 1, json);
	else if (strcmp(ops[0], "rm") == 0 || strcmp(ops[0], "remove") == 0)
		rc = host_rm_cmd(ctx, ops + 1, n - 1);
	else if (strcmp(ops[0], "set") == 0)
		rc = host_set_cmd(ctx, ops + 1, n - 1, addr);
	else if (strcmp(ops[0], "info") == 0)
		rc = host_info_cmd(ctx, ops + 1, n - 1, json);
	else if (strcmp(ops[0], "ksm") == 0)
		rc = host_ksm_cmd(ctx, ops + 1, n - 1);
	else
		rc = cli_usage("host", "unknown host subcommand '%s'", ops[0]);
	free(ops);
	return rc;
}
