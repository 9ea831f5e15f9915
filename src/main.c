/* vmtty: the TUI when no subcommand is given, else the CLI. */
#include <sys/stat.h>

#include "cli/cli.h"

int
main(int argc, char **argv)
{
	/* Whatever vmtty and the tools it runs make (disks, seed ISOs, logs)
	 * is its user's alone, whatever umask it was started with. */
	umask(077);
	return cli_main(argc, argv);
}
