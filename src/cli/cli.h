/* cli: argv parsing, subcommands, exit codes (0 ok, 1 failed, 2 usage). */
#ifndef VMTTY_CLI_H
#define VMTTY_CLI_H

#define CLI_OK 0
#define CLI_FAILED 1
#define CLI_USAGE 2

int cli_main(int argc, char **argv);

#endif
