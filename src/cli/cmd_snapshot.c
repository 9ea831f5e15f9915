/* vmtty snapshot VM create|list|revert|delete: a VM's snapshots as a tree,
 * through ops/snapshot (which journals each change). */
#include "cli/cli.h"
#include "cli/cli_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/hv.h"
#include "model/snapshot.h"
#include "ops/snapshot.h"
#include "util/err.h"
#include "util/num.h"
#include "util/xalloc.h"

static json_object *
json_files(const char *files)
{
	json_object *a;
	const char *p = files, *nl;

	if (files == NULL)
		return NULL;
	a = json_object_new_array();
	for (; p != NULL; p = nl != NULL ? nl + 1 : NULL) {
		char *line;

		nl = strchr(p, '\n');
		line = nl != NULL ? xstrndup(p, (size_t)(nl - p)) : xstrdup(p);
		json_object_array_add(a, cli_json_str(line));
		free(line);
	}
	return a;
}

static void
print_json(const struct vm_snapshot *all, size_t n, const int *depth)
{
	json_object *a = json_object_new_array();
	char when[64];

	for (size_t i = 0; i < n; i++) {
		const struct vm_snapshot *s = &all[i];
		json_object *o = json_object_new_object();

		cli_format_time_iso(s->created, when, sizeof when);
		json_object_object_add(o, "name", cli_json_str(s->name));
		json_object_object_add(o, "parent", cli_json_str(s->parent));
		json_object_object_add(o, "depth", json_object_new_int(depth[i]));
		json_object_object_add(o, "current", json_object_new_boolean(s->current));
		json_object_object_add(o, "created", json_object_new_string(when));
		json_object_object_add(o, "kind", json_object_new_string(
		    vm_snapshot_kind_name(s->kind)));
		json_object_object_add(o, "vm_state", cli_json_str(s->vm_state));
		json_object_object_add(o, "size", s->size >= 0 ? json_object_new_int64(s->size) :
		    NULL);
		json_object_object_add(o, "description", cli_json_str(s->description));
		json_object_object_add(o, "files", json_files(s->files));
		json_object_array_add(a, o);
	}
	cli_json_print(a);
}

/* The tree: each snapshot indented under its parent, the current one
 * marked with '*'. */
static void
print_text(const struct vm_config *c, const struct vm_snapshot *all, size_t n,
    const int *depth)
{
	int w = 4;
	char when[64], size[32];

	if (n == 0) {
		printf("VM ");
		cli_print_cell(c->name, 0);
		printf(" has no snapshots\n");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int cw = 2 * depth[i] + cli_cell_width(all[i].name);

		w = cw > w ? cw : w;
	}
	printf("  %-*s %-19s %-4s %-8s %-9s %s\n", w, "NAME", "CREATED", "KIND", "STATE", "SIZE",
	    "DESCRIPTION");
	for (size_t i = 0; i < n; i++) {
		const struct vm_snapshot *s = &all[i];

		printf("%c %*s", s->current ? '*' : ' ', 2 * depth[i], "");
		cli_print_cell(s->name, w - 2 * depth[i]);
		cli_format_time_local(s->created, when, sizeof when);
		num_format_bytes(s->size, size, sizeof size);
		printf(" %-19s %-4s ", when, vm_snapshot_kind_name(s->kind));
		cli_print_cell(s->vm_state != NULL ? s->vm_state : "-", 8);
		printf(" %-9s ", size);
		cli_print_cell(s->description != NULL ? s->description : "", 0);
		putchar('\n');
	}
}

static int
list(struct cli_ctx *ctx, struct cli_vm *v, bool json)
{
	struct vm_snapshot *all;
	size_t n;
	int *depth;

	if (snapshot_list(ctx->db, v->hv, &v->c, &all, &n) != 0)
		return cli_fail_err();
	depth = xcalloc(n + 1, sizeof *depth);
	snapshot_tree(all, n, depth);
	if (json)
		print_json(all, n, depth);
	else
		print_text(&v->c, all, n, depth);
	free(depth);
	vm_snapshot_free_all(all, n);
	return CLI_OK;
}

/* Which options ACTION takes, as a usage error for the others. */
static int
check_opts(const char *action, bool disk_only, const char *descr, bool json, bool children)
{
	struct {
		const char *opt;
		bool given;
		const char *action;
	} rules[] = {
		{ "--disk-only", disk_only, "create" },
		{ "--description", descr != NULL, "create" },
		{ "--json", json, "list" },
		{ "--children", children, "delete" },
	};

	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
		if (rules[i].given && strcmp(action, rules[i].action) != 0)
			return cli_usage("snapshot", "%s goes with 'snapshot VM %s', not '%s'",
			    rules[i].opt, rules[i].action, action);
	return CLI_OK;
}

/* Check the operands: VM ACTION [NAME]; *ACTION points into OPS. */
static int
check_operands(char **ops, int n)
{
	static const char *const actions[] = { "create", "list", "revert", "delete" };
	bool known = false;

	if (n < 2)
		return cli_usage("snapshot", "snapshot takes a VM and one of create, list, revert, "
		    "delete");
	for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
		known |= strcmp(ops[1], actions[i]) == 0;
	if (!known)
		return cli_usage("snapshot", "unknown snapshot action '%s'; use create, list, "
		    "revert or delete", ops[1]);
	if (strcmp(ops[1], "list") == 0 && n != 2)
		return cli_usage("snapshot", "snapshot VM list takes no name");
	if (strcmp(ops[1], "list") != 0 && n != 3)
		return cli_usage("snapshot", "snapshot VM %s takes one snapshot NAME", ops[1]);
	return CLI_OK;
}

int
cmd_snapshot(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *descr = NULL;
	bool disk_only = false, json = false, children = false;
	const struct cli_opt opts[] = {
		{ "disk-only", NULL, &disk_only, NULL },
		{ "description", &descr, NULL, NULL },
		{ "json", NULL, &json, NULL },
		{ "children", NULL, &children, NULL },
		{ 0 },
	};
	struct cli_vm v;
	const char *action;
	char **ops;
	int n, rc;

	rc = cli_parse("snapshot", argc, argv, opts, &ops, &n);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if ((rc = check_operands(ops, n)) != CLI_OK ||
	    (rc = check_opts(ops[1], disk_only, descr, json, children)) != CLI_OK) {
		free(ops);
		return rc;
	}
	action = ops[1];
	if (cli_vm_load(ctx, ops[0], &v, true) != 0) {
		free(ops);
		return ctx->db == NULL ? CLI_FAILED : cli_fail_err();
	}
	if (strcmp(action, "list") == 0)
		rc = list(ctx, &v, json);
	else if (strcmp(action, "create") == 0)
		rc = snapshot_create(ctx->db, v.hv, &v.c, ops[2], disk_only ? VM_SNAPSHOT_DISK :
		    VM_SNAPSHOT_FULL, descr) == 0 ? CLI_OK : cli_fail_err();
	else if (strcmp(action, "revert") == 0)
		rc = snapshot_revert(ctx->db, v.hv, &v.c, ops[2]) == 0 ? CLI_OK : cli_fail_err();
	else
		rc = snapshot_delete(ctx->db, v.hv, &v.c, ops[2], children) == 0 ? CLI_OK :
		    cli_fail_err();
	cli_vm_free(&v);
	free(ops);
	return rc;
}
