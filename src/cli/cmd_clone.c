/* vmtty clone VM NEWNAME [--linked | --full] [--snapshot NAME] [--host HOST]
 * [--progress]: through ops/clone (which journals it); Ctrl-C stops the
 * copy and leaves nothing. */
#include "cli/cli.h"
#include "cli/cli_priv.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv/hv.h"
#include "model/vm.h"
#include "ops/clone.h"
#include "util/err.h"

static atomic_bool clone_cancel;

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&clone_cancel, true);
}

struct watch {
	bool lines;		/* --progress: a line per step and percent */
	bool shown;		/* a rewritten line is on the terminal */
};

static void
on_progress(const char *step, int percent, void *arg)
{
	struct watch *w = arg;

	if (w->lines) {
		if (percent >= 0)
			printf("%s: %d%%\n", step, percent);
		else
			printf("%s\n", step);
		fflush(stdout);
	} else if (percent >= 0 && isatty(STDERR_FILENO)) {
		fprintf(stderr, "\r%s: %3d%%", step, percent);
		w->shown = true;
	}
}

int
cmd_clone(struct cli_ctx *ctx, int argc, char **argv)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	const char *snapshot = NULL, *host = NULL;
	bool linked = false, full = false, progress = false;
	const struct cli_opt opts[] = {
		{ "linked", NULL, &linked, NULL },
		{ "full", NULL, &full, NULL },
		{ "snapshot", &snapshot, NULL, NULL },
		{ "host", &host, NULL, NULL },
		{ "progress", NULL, &progress, NULL },
		{ 0 },
	};
	struct sigaction sa, old[3];
	struct watch w = { false, false };
	struct clone_opts o = { 0 };
	struct vm_config c;
	struct cli_vm v;
	char **ops, note[1024];
	int n, rc;

	rc = cli_parse("clone", argc, argv, opts, &ops, &n);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if (n != 2) {
		free(ops);
		return cli_usage("clone", "clone takes a VM and a NEWNAME");
	}
	if (linked && full) {
		free(ops);
		return cli_usage("clone", "--linked and --full exclude each other; give one");
	}
	if (cli_vm_load(ctx, ops[0], &v, true) != 0) {
		free(ops);
		return ctx->db == NULL ? CLI_FAILED : cli_fail_err();
	}
	o.name = ops[1];
	o.linked = linked;
	o.snapshot = snapshot;
	o.host = host;
	o.fn = on_progress;
	o.arg = &w;
	o.cancel = &clone_cancel;
	w.lines = progress;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	atomic_store(&clone_cancel, false);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	rc = clone_vm(ctx->db, v.hv, &v.c, &o, &c, note, sizeof note);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	if (w.shown)
		fputc('\n', stderr);
	if (rc != 0) {
		rc = cli_fail_err();
	} else {
		printf("VM ");
		cli_print_cell(c.name, 0);
		printf(" cloned from ");
		cli_print_cell(v.c.name, 0);
		printf(" (%s)\n", linked ? "linked" : "full copy");
		if (note[0] != '\0')
			cli_warn("note: %s", note);
		vm_config_clear(&c);
		rc = CLI_OK;
	}
	cli_vm_free(&v);
	free(ops);
	return rc;
}
