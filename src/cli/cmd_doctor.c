/* doctor: what this terminal can show (ui/termgfx.h), asked the way the
 * TUI asks it at start. */
#include "cli/cli.h"
#include "cli/cli_priv.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ui/termgfx.h"

int
cmd_doctor(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct cli_opt opts[] = { { 0 } };
	char **ops = NULL;
	int nops = 0, rc, tty;

	(void)ctx;
	if ((rc = cli_parse("doctor", argc, argv, opts, &ops, &nops)) != CLI_OK) {
		free(ops);
		return rc < 0 ? CLI_OK : rc;
	}
	free(ops);
	if (nops > 0)
		return cli_usage("doctor", "doctor takes no operands");
	/* The terminal itself, so that the report can go to a file. */
	if ((tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) >= 0) {
		termgfx_detect(tty, tty);
		close(tty);
	} else {
		termgfx_detect(STDIN_FILENO, STDOUT_FILENO);
	}
	termgfx_report(stdout);
	return CLI_OK;
}
