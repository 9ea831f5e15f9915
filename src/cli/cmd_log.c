/* vmtty log: the journal. */
#include "cli/cli.h"
#include "cli/cli_priv.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/journal.h"
#include "util/num.h"
#include "model/vm.h"
#include "util/xalloc.h"

int
cmd_log(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *host = NULL, *limit_s = NULL;
	bool json = false;
	const struct cli_opt opts[] = {
		{ "host", &host, NULL, NULL },
		{ "limit", &limit_s, NULL, NULL },
		{ "json", NULL, &json, NULL },
		{ 0 },
	};
	struct journal_entry *e;
	struct vm_config c = { 0 };
	const char *vm = NULL;
	struct db *db;
	long long limit = 50;
	char **ops;
	size_t n;
	int nops, rc;

	rc = cli_parse("log", argc, argv, opts, &ops, &nops);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if (nops > 1) {
		free(ops);
		return cli_usage("log", "log takes at most one VM");
	}
	if (limit_s != NULL) {
		if (num_parse(limit_s, 0, LLONG_MAX, &limit) != 0) {
			free(ops);
			return cli_usage("log", "--limit takes a whole number (0 for all), not '%s'",
			    limit_s);
		}
	}
	if ((db = cli_db(ctx)) == NULL) {
		free(ops);
		return CLI_FAILED;
	}
	if (nops == 1) {
		int64_t id;

		/* A deleted VM has no inventory row but still has journal lines. */
		if (vm_resolve(db, ops[0], &id) == 0 && vm_load(db, id, &c) == 0) {
			vm = c.name;
			host = c.host;
		} else {
			vm = strchr(ops[0], '/') != NULL ? strchr(ops[0], '/') + 1 : ops[0];
		}
	}
	rc = journal_list(db, host, vm, (size_t)limit, &e, &n);
	free(ops);
	if (rc != 0) {
		vm_config_clear(&c);
		return cli_fail_err();
	}
	if (json) {
		json_object *a = json_object_new_array_ext((int)n);
		char t[40];

		for (size_t i = 0; i < n; i++) {
			json_object *o = json_object_new_object();

			cli_format_time_iso(e[i].time, t, sizeof t);
			json_object_object_add(o, "time", json_object_new_string(t));
			json_object_object_add(o, "host", cli_json_str(e[i].host));
			json_object_object_add(o, "vm", cli_json_str(e[i].vm));
			json_object_object_add(o, "action", cli_json_str(e[i].action));
			json_object_object_add(o, "result", json_object_new_string(
			    e[i].ok ? "ok" : "failed"));
			json_object_object_add(o, "message", cli_json_str(e[i].message));
			json_object_array_add(a, o);
		}
		cli_json_print(a);
	} else {
		for (size_t i = 0; i < n; i++) {
			char t[40], *line;

			cli_format_time_local(e[i].time, t, sizeof t);
			/* One line per entry, whatever the names and message hold. */
			line = xasprintf("%s  %-6s  %-10s  %s%s%s: %s", t, e[i].ok ? "ok" : "FAILED",
			    e[i].action, e[i].host != NULL ? e[i].host : "",
			    e[i].vm != NULL ? "/" : "", e[i].vm != NULL ? e[i].vm : "",
			    e[i].message != NULL ? e[i].message : "");
			cli_print_cell(line, 0);
			putchar('\n');
			free(line);
		}
	}
	journal_free(e, n);
	vm_config_clear(&c);
	return CLI_OK;
}
