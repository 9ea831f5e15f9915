/* vmtty console: stub until the console lands. */
#include "cli/cli.h"
#include "cli/cli_priv.h"

int
cmd_console(struct cli_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	return cli_fail("the console command is not available in this build yet");
}
