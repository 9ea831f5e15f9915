/* vmtty edit VM ...: change a VM's configuration.  A running VM keeps
 * running as it was; the changes are marked pending until its next start. */
#include "cli/cli.h"
#include "cli/cli_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/hv.h"
#include "ops/vmedit.h"
#include "model/journal.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/xalloc.h"

int
cmd_edit(struct cli_ctx *ctx, int argc, char **argv)
{
	struct vmedit e = { 0 };
	const struct cli_opt opts[] = {
		{ "cpus", &e.cpus, NULL, NULL },
		{ "memory", &e.memory, NULL, NULL },
		{ "cmdline", &e.cmdline, NULL, NULL },
		{ "kernel", &e.kernel, NULL, NULL },
		{ "initrd", &e.initrd, NULL, NULL },
		{ "firmware", &e.firmware, NULL, NULL },
		{ "machine", &e.machine, NULL, NULL },
		{ "graphics", &e.graphics, NULL, NULL },
		{ "disk-bus", &e.disk_bus, NULL, NULL },
		{ "boot", &e.boot, NULL, NULL },
		{ "add-disk", &e.add_disk, NULL, NULL },
		{ "new-disk", &e.new_disk, NULL, NULL },
		{ "remove-disk", &e.remove_disk, NULL, NULL },
		{ "resize-disk", &e.resize_disk, NULL, NULL },
		{ "add-nic", &e.add_nic, NULL, NULL },
		{ "nic-model", &e.nic_model, NULL, NULL },
		{ "remove-nic", &e.remove_nic, NULL, NULL },
		{ "pool", &e.pool, NULL, NULL },
		{ "on-crash", &e.on_crash, NULL, NULL },
		{ "autostart", &e.autostart, NULL, NULL },
		{ 0 },
	};
	struct cli_vm v;
	struct vm_config c;
	char **ops, msg[1024], what[400], *newdisk = NULL, *abs[3] = { NULL, NULL, NULL };
	const char **paths[3] = { &e.kernel, &e.initrd, &e.add_disk };
	bool running = false;
	int n, rc;

	rc = cli_parse("edit", argc, argv, opts, &ops, &n);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if (n != 1) {
		free(ops);
		return cli_usage("edit", "edit takes one VM");
	}
	/* The policy's words are the command's own: a usage error, in one
	 * line (edit's whole usage would bury it). */
	if (e.on_crash != NULL && vm_on_crash_check(e.on_crash) != 0) {
		free(ops);
		cli_warn("edit: --on-crash takes restart or leave, not '%s'", e.on_crash);
		return CLI_USAGE;
	}
	if (e.autostart != NULL && strcmp(e.autostart, "on") != 0 &&
	    strcmp(e.autostart, "off") != 0) {
		free(ops);
		cli_warn("edit: --autostart takes on or off, not '%s'", e.autostart);
		return CLI_USAGE;
	}
	rc = cli_vm_load(ctx, ops[0], &v, true);
	free(ops);
	if (rc != 0)
		return ctx->db == NULL ? CLI_FAILED : cli_fail_err();
	/* Files of the built-in host are named from here: make them absolute. */
	for (int i = 0; i < 3; i++) {
		if (*paths[i] != NULL && (*paths[i])[0] != '\0' && v.hv->host.kind == HOST_BUILTIN) {
			abs[i] = cli_abs_path(*paths[i]);
			*paths[i] = abs[i];
		}
	}
	vm_config_copy(&c, &v.c);
	rc = vmedit_apply(&e, &c);
	vmedit_summary(&e, what, sizeof what);
	if (rc == 0 && what[0] == '\0')
		rc = err_set("nothing to change; give an option such as --cpus or --memory (see "
		    "'vmtty help edit')");
	if (rc == 0)
		rc = vmedit_run(v.hv, &e, &v.c, &c, &running, &newdisk);
	if (rc == 0 && vm_update(ctx->db, &c) != 0) {
		vmedit_undo(v.hv, &v.c, &c, newdisk);
		rc = -1;
	}
	if (rc == 0 && running && e.changes[0] != '\0') {
		char *all = vmedit_pending(v.c.pending, e.changes);

		rc = vm_set_pending(ctx->db, c.id, all);
		cli_warn("note: VM '%s' is %s: %s take effect at its next start",
		    c.name, e.state, e.changes);
		free(all);
	}
	if (rc == 0) {
		snprintf(msg, sizeof msg, "changed %s%s", what,
		    running && e.changes[0] != '\0' ? " (pending restart)" : "");
		journal_add(ctx->db, v.c.host, v.c.name, "edit", true, msg);
	} else {
		/* The model's sentence ends "give it a kernel": how, here. */
		snprintf(msg, sizeof msg, "%s%s", err_get(), e.no_kernel ?
		    " (--kernel, with --initrd)" : "");
		journal_add(ctx->db, v.c.host, v.c.name, "edit", false, msg);
		cli_fail("%s", msg);
	}
	for (int i = 0; i < 3; i++)
		free(abs[i]);
	free(newdisk);
	vmedit_clear(&e);
	vm_config_clear(&c);
	cli_vm_free(&v);
	return rc == 0 ? CLI_OK : CLI_FAILED;
}
