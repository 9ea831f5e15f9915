/* vmtty: the TUI when no subcommand is given, else the CLI. */
#include "cli/cli.h"

int
main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
