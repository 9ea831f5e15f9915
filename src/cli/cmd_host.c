/* vmtty host add|list|rm */
#include "cli/cli.h"
#include "cli/cli_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/host.h"
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

int
cmd_host(struct cli_ctx *ctx, int argc, char **argv)
{
	bool json = false;
	const struct cli_opt opts[] = {
		{ "json", NULL, &json },
		{ 0 },
	};
	char **ops;
	int n, rc;

	rc = cli_parse("host", argc, argv, opts, &ops, &n);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if (n == 0)
		rc = cli_usage("host", "host needs a subcommand: add, list or rm");
	else if (strcmp(ops[0], "add") == 0)
		rc = host_add_cmd(ctx, ops + 1, n - 1);
	else if (strcmp(ops[0], "list") == 0 || strcmp(ops[0], "ls") == 0)
		rc = host_list_cmd(ctx, n - 1, json);
	else if (strcmp(ops[0], "rm") == 0 || strcmp(ops[0], "remove") == 0)
		rc = host_rm_cmd(ctx, ops + 1, n - 1);
	else
		rc = cli_usage("host", "unknown host subcommand '%s'", ops[0]);
	free(ops);
	return rc;
}
