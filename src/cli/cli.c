#include "cli/cli.h"
#include "cli/cli_priv.h"

#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ops/provision.h"
#include "ops/snapshot.h"
#include "model/db.h"
#include "model/host.h"
#include "ui/ui.h"
#include "util/err.h"
#include "util/num.h"
#include "util/log.h"
#include "util/paths.h"
#include "util/str.h"
#include "util/strv.h"
#include "util/xalloc.h"

static const struct cli_cmd commands[] = {
	{ "host", "add NAME URI | list [--json] | rm NAME | set NAME --migration-address ADDR | "
	  "info HOST [--json] | ksm on|off",
	  "manage hosts: built-in (vmtty:///local) or libvirt URIs", cmd_host, CLI_READS_LIST },
	{ "list", "[--host HOST] [--json]", "list VMs with their state", cmd_list, CLI_READS },
	{ "show", "VM [--json | --argv | --xml]",
	  "show a VM's configuration, qemu command line or libvirt XML", cmd_show, CLI_READS },
	{ "create", "NAME [--template T] [--kernel K [--initrd I] [--cmdline C]] [--memory SIZE] "
	  "[--cpus N] [--disk PATH | --disk-size SIZE | --image BASE [--copy]] [--iso ISO] "
	  "[--ssh-key KEY.pub] [--user U] [--hostname H] "
	  "[--network user|none|bridge:BR|network:NET] [--forward tcp:HOST:GUEST] "
	  "[--accel auto|kvm|tcg] [--machine q35|pc|microvm] [--graphics vnc|none] "
	  "[--disk-bus virtio|scsi|sata|nvme|ide] [--nic-model virtio-net|e1000|e1000e|rtl8139] "
	  "[--notes TEXT] [--host HOST] [--pool POOL] [--dir DIR] [--insecure-image]",
	  "define a VM, from a template: new disk, overlay or copy, cloud-init seed; a "
	  "template's image is downloaded into the image cache first (Ctrl-C stops it)",
	  cmd_vmctl, CLI_WRITES },
	{ "image", "pull TEMPLATE|URL [--checksum sha256:HEX] [--insecure-image] | "
	  "list [--json] | rm NAME",
	  "the image cache ($XDG_CACHE_HOME/vmtty/images): download and verify a template's "
	  "(or a URL's) image, resuming a partial download; list; remove one no VM uses",
	  cmd_image, CLI_READS },
	{ "templates", "[--json]", "list VM templates (and files that do not load)",
	  cmd_templates, CLI_READS },
	{ "edit", "VM [--cpus N] [--memory SIZE] [--kernel K] [--initrd I] [--cmdline C] "
	  "[--firmware bios|uefi] [--machine q35|pc|microvm] [--graphics vnc|none] "
	  "[--boot disk,cdrom,network] [--add-disk PATH | --new-disk SIZE [--pool P]] "
	  "[--disk-bus BUS] "
	  "[--remove-disk DISK] [--resize-disk DISK:SIZE] "
	  "[--add-nic user|bridge:BR|tap:TAP|network:NET [--nic-model M]] [--remove-nic N] "
	  "[--on-crash restart|leave] [--autostart on|off]",
	  "change a VM; a running VM gets the changes at its next start (the restart policy, "
	  "for 'vmtty serve --supervise', at once)", cmd_edit, CLI_WRITES },
	{ "tune", "VM [--pin VCPU:CPUS]... [--emulator-pin CPUS] [--hugepages 2M|1G|off] "
	  "[--balloon SIZE] [--max-memory SIZE] | VM [--json]",
	  "pin vCPUs, back memory with hugepages, move the balloon; alone: show them", cmd_tune, CLI_WRITES },
	{ "migrate", "VM --to HOST [--copy-storage] [--postcopy] [--auto-converge] "
	  "[--bandwidth MIB/S] [--keep-source] [--progress | --json] | "
	  "VM --to HOST --offline [--pool POOL] [--bandwidth MIB/S] [--keep-source] "
	  "[--progress | --json]",
	  "move a running VM live to another libvirt host, or a stopped one (--offline) "
	  "between any two hosts, its disks copied and checked (Ctrl-C stops it)", cmd_migrate, CLI_WRITES },
	{ "snapshot", "VM create NAME [--disk-only] [--description TEXT] | VM list [--json] | "
	  "VM revert NAME | VM delete NAME [--children]",
	  "snapshots of a VM as a tree: full (RAM and disks) or disk-only", cmd_snapshot,
	  CLI_READS_LIST },
	{ "clone", "VM NEWNAME [--linked | --full] [--snapshot NAME] [--host HOST] [--progress]",
	  "copy a stopped VM (or one of its snapshots) with a new name, UUID, MACs and "
	  "cloud-init identity: full copies (default; on libvirt hosts into the disks' "
	  "storage pools) or linked overlays (built-in hosts) (Ctrl-C stops it)",
	  cmd_clone, CLI_WRITES },
	{ "delete", "VM [--delete-disks] [--snapshots]",
	  "delete a VM (its disks only when asked; its snapshots with it when asked)", cmd_vmctl, CLI_WRITES },
	{ "start", "VM [--wait] [--wait-serial TEXT] [--timeout S]", "start a VM", cmd_vmctl, CLI_WRITES },
	{ "shutdown", "VM [--wait] [--timeout S]", "ask the guest to power off (ACPI)", cmd_vmctl, CLI_WRITES },
	{ "poweroff", "VM [--wait] [--timeout S]", "stop a VM at once (pull the plug)", cmd_vmctl, CLI_WRITES },
	{ "reboot", "VM [--wait] [--timeout S]", "reboot the guest (ACPI shutdown, then start over)", cmd_vmctl, CLI_WRITES },
	{ "reset", "VM [--wait] [--timeout S]", "hard-reset a VM", cmd_vmctl, CLI_WRITES },
	{ "pause", "VM [--wait] [--timeout S]", "pause a VM's vCPUs", cmd_vmctl, CLI_WRITES },
	{ "resume", "VM [--wait] [--timeout S]", "resume a paused VM", cmd_vmctl, CLI_WRITES },
	{ "autostart", "VM on|off", "start a VM when its libvirt host boots, or a built-in VM "
	  "when 'vmtty serve --supervise' begins", cmd_vmctl, CLI_WRITES },
	{ "console", "VM [--escape KEY] [--force] [--log FILE]",
	  "the VM's serial console on this terminal (Ctrl-] leaves)", cmd_console, CLI_READS },
	{ "screenshot", "VM FILE [--timeout S] | --vnc unix:PATH FILE",
	  "save the VM's screen as a PNG (through its VNC display)", cmd_screenshot,
	  CLI_READS },
	{ "top", "[--host HOST] [--sort cpu|mem|io|name] [--batch] [--iterations N] [--delay S] "
	  "[--json]",
	  "live CPU, memory, disk and network of the VMs, like virt-top (q quits); --batch "
	  "prints a snapshot per delay, --json one JSON object per line", cmd_top,
	  CLI_READS },
	{ "serve", "[--listen ADDRESS:PORT] [--interval S] [--supervise]",
	  "export every host's VM statistics to Prometheus over HTTP (/metrics, libvirt "
	  "exporter names; 127.0.0.1:9177 unless --listen says otherwise); --supervise also "
	  "starts the built-in VMs with autostart on and restarts those with --on-crash "
	  "restart when their qemu dies", cmd_serve, CLI_READS },
	{ "log", "[VM] [--host HOST] [--limit N] [--json]",
	  "show the journal of operations", cmd_log, CLI_READS },
	{ "doctor", "", "what this terminal can show for a VM's display: images (sixel, kitty, "
	  "iTerm2) or block symbols, and why", cmd_doctor, CLI_READS },
	{ "help", "[COMMAND]", "show help for a command", NULL, CLI_READS },
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: vmtty [OPTIONS]                 open the terminal UI\n"
	    "       vmtty [OPTIONS] COMMAND [ARGS]  run one command\n"
	    "\n"
	    "Options:\n"
	    "  --db PATH      inventory database (default $VMTTY_DB, else\n"
	    "                 $XDG_DATA_HOME/vmtty/inventory.db)\n"
	    "  --log FILE     write a debug log to FILE\n"
	    "  --frames N     (TUI) draw N frames, then exit\n"
	    "  --version      print the version and exit\n"
	    "  -h, --help     print this help and exit\n"
	    "\n"
	    "Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(fp, "  %-9s %s\n            %s\n", commands[i].name, commands[i].args,
		    commands[i].summary);
	fprintf(fp,
	    "\n"
	    "A VM is named NAME when that is unique, else HOST/NAME.\n"
	    "Exit status: 0 success, 1 the operation failed, 2 usage error.\n"
	    "See vmtty(1) for details.\n");
}

/* Command C's subcommand only reads: "list" ("host list", "snapshot VM
 * list"), "host info". */
static bool
list_sub(const struct cli_cmd *c, int argc, char **argv)
{
	int at = strcmp(c->name, "snapshot") == 0 ? 2 : 1;

	return argc > at && (strcmp(argv[at], "list") == 0 ||
	    (at == 1 && strcmp(argv[at], "info") == 0));
}

static const struct cli_cmd *
find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

void
cli_command_help(const char *name)
{
	const struct cli_cmd *c = find_command(name);

	if (c == NULL)
		return;
	printf("usage: vmtty %s %s\n  %s\n", c->name, c->args, c->summary);
}

/* "vmtty: MESSAGE" on stderr, one line: what the message quotes (user
 * input, names from a host) has its controls and bad bytes escaped. */
static void
vwarn(const char *fmt, va_list ap)
{
	char *msg, *esc;

	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	esc = str_escape(msg);
	fprintf(stderr, "vmtty: %s\n", esc);
	free(esc);
	free(msg);
}

void
cli_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

int
cli_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	return CLI_FAILED;
}

int
cli_fail_err(void)
{
	return cli_fail("%s", err_get());
}

int
cli_usage(const char *cmd, const char *fmt, ...)
{
	const struct cli_cmd *c = cmd != NULL ? find_command(cmd) : NULL;
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	if (c != NULL)
		fprintf(stderr, "usage: vmtty %s %s\n", c->name, c->args);
	else
		fputs("Try 'vmtty --help'.\n", stderr);
	return CLI_USAGE;
}

/* A libvirt host, for taking back an interrupted creation's volumes. */
static struct hv *
recover_open(const char *name, void *arg)
{
	struct host h;
	struct hv *hv;

	if (host_get(arg, name, &h) != 0)
		return NULL;
	hv = cli_hv_open(&h);
	host_clear(&h);
	return hv;
}

static void
recover_said(const char *line, void *arg)
{
	(void)arg;
	fprintf(stderr, "vmtty: %s\n", line);
}

struct db *
cli_db(struct cli_ctx *ctx)
{
	char *path;

	if (ctx->db != NULL)
		return ctx->db;
	path = paths_inventory(ctx->db_path);
	ctx->db = db_open(path);
	free(path);
	if (ctx->db == NULL) {
		cli_fail_err();
		return NULL;
	}
	/* A command that may change a host reads the whole inventory first:
	 * a corrupt one is refused before anything is touched, not after the
	 * host changed with nowhere to record it. */
	if (ctx->writes && db_check_pages(ctx->db) != 0) {
		cli_fail_err();
		db_close(ctx->db);
		ctx->db = NULL;
		return NULL;
	}
	/* Every command and the TUI open the inventory here: a creation
	 * that a killed vmtty left half made is taken back first. */
	if (provision_recover(ctx->db, recover_open, ctx->db, recover_said, NULL) != 0)
		fprintf(stderr, "vmtty: %s\n", err_get());
	/* And so is a snapshot one left half taken. */
	if (snapshot_recover(ctx->db, recover_open, ctx->db, recover_said, NULL) != 0)
		fprintf(stderr, "vmtty: %s\n", err_get());
	return ctx->db;
}

void
cli_json_print(json_object *o)
{
	char *t = cli_json_text(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	    JSON_C_TO_STRING_NOSLASHESCAPE);

	puts(t);
	free(t);
	json_object_put(o);
}

void
cli_json_line(json_object *o)
{
	char *t = cli_json_text(o, JSON_C_TO_STRING_PLAIN);

	puts(t);
	fflush(stdout);
	free(t);
	json_object_put(o);
}

char *
cli_json_text(json_object *o, int flags)
{
	return str_json_safe(json_object_to_json_string_ext(o, flags));
}

json_object *
cli_json_str(const char *s)
{
	json_object *o;
	char *fixed;

	if (s == NULL)
		return NULL;
	if (str_utf8_valid(s))
		return json_object_new_string(s);
	fixed = str_utf8_fix(s);
	o = json_object_new_string(fixed);
	free(fixed);
	return o;
}

void
cli_print_cell(const char *s, int width)
{
	char *esc = str_escape(s);
	int w = (int)str_width(esc);

	fputs(esc, stdout);
	printf("%*s", width > w ? width - w : 0, "");
	free(esc);
}

int
cli_cell_width(const char *s)
{
	char *esc;
	int w;

	if (!str_needs_escape(s))
		return (int)str_width(s);
	esc = str_escape(s);
	w = (int)str_width(esc);
	free(esc);
	return w;
}

void
cli_format_time_iso(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char tmp[32];

	gmtime_r(&t, &tm);
	strftime(tmp, sizeof tmp, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", tmp, (int)(ms % 1000));
}

void
cli_format_time_local(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

char *
cli_abs_path(const char *p)
{
	char cwd[PATH_MAX];

	/* An empty path stays empty, for the checks to name, not the cwd. */
	if (p[0] == '/' || p[0] == '\0')
		return xstrdup(p);
	if (getcwd(cwd, sizeof cwd) == NULL)
		return xstrdup(p);
	return xasprintf("%s/%s", cwd, p);
}

static const struct cli_opt *
find_opt(const struct cli_opt *opts, const char *name, size_t len)
{
	for (; opts->name != NULL; opts++)
		if (strlen(opts->name) == len && strncmp(opts->name, name, len) == 0)
			return opts;
	return NULL;
}

int
cli_parse(const char *cmd, int argc, char **argv, const struct cli_opt *opts,
    char ***operands, int *noperands)
{
	char **ops = xcalloc((size_t)argc + 1, sizeof *ops);
	bool dashdash = false;
	int n = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq;
		const struct cli_opt *o;
		size_t len;

		if (dashdash || a[0] != '-' || a[1] == '\0') {
			ops[n++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			dashdash = true;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			free(ops);
			cli_command_help(cmd);
			return -1;
		}
		if (a[1] != '-') {
			free(ops);
			return cli_usage(cmd, "unknown option '%s'", a);
		}
		eq = strchr(a + 2, '=');
		len = eq != NULL ? (size_t)(eq - (a + 2)) : strlen(a + 2);
		o = find_opt(opts, a + 2, len);
		if (o == NULL) {
			free(ops);
			return cli_usage(cmd, "unknown option '%.*s'", (int)len + 2, a);
		}
		if (o->bval != NULL) {
			if (eq != NULL) {
				free(ops);
				return cli_usage(cmd, "option '--%s' takes no value", o->name);
			}
			*o->bval = true;
		} else if (eq != NULL || i + 1 < argc) {
			const char *val = eq != NULL ? eq + 1 : argv[++i];

			if (o->list != NULL)
				strv_add(o->list, val);
			else
				*o->sval = val;
		} else {
			free(ops);
			return cli_usage(cmd, "option '--%s' needs a value", o->name);
		}
	}
	*operands = ops;
	*noperands = n;
	return CLI_OK;
}

static int
parse_frames(const char *s, long *out)
{
	long long v;

	if (num_parse(s, 1, 1000000, &v) != 0)
		return -1;
	*out = (long)v;
	return 0;
}

int
cli_main(int argc, char **argv)
{
	struct cli_ctx ctx = { 0 };
	const char *logfile = NULL;
	long frames = 0;
	int i, rc;

	/* A closed pipe (an ssh transport that died, `vmtty list | head`) is
	 * an error to report, not a reason to die. */
	signal(SIGPIPE, SIG_IGN);
	/* Global options come before the command. */
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--version") == 0) {
			printf("vmtty %s\n", VMTTY_VERSION);
			return CLI_OK;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return CLI_OK;
		} else if (strcmp(a, "--db") == 0 || strcmp(a, "--log") == 0 ||
		    strcmp(a, "--frames") == 0) {
			if (i + 1 >= argc)
				return cli_usage(NULL, "option '%s' needs a value", a);
			if (a[2] == 'd')
				ctx.db_path = argv[++i];
			else if (a[2] == 'l')
				logfile = argv[++i];
			else if (parse_frames(argv[++i], &frames) != 0)
				return cli_usage(NULL, "--frames takes a whole number from 1 "
				    "to 1000000, not '%s'", argv[i]);
		} else if (strncmp(a, "--db=", 5) == 0) {
			ctx.db_path = a + 5;
		} else if (strncmp(a, "--log=", 6) == 0) {
			logfile = a + 6;
		} else if (strncmp(a, "--frames=", 9) == 0) {
			if (parse_frames(a + 9, &frames) != 0)
				return cli_usage(NULL, "--frames takes a whole number from 1 "
				    "to 1000000, not '%s'", a + 9);
		} else {
			return cli_usage(NULL, "unknown option '%s'", a);
		}
	}
	if (ctx.db_path != NULL && ctx.db_path[0] == '\0')
		return cli_usage(NULL, "--db needs a path");
	if (logfile != NULL && log_open(logfile) != 0)
		return cli_fail_err();

	if (i == argc) {
		if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
			return cli_fail("the terminal UI needs a terminal on standard input "
			    "and output; run a command instead (see 'vmtty --help')");
		ctx.writes = true;
		if (cli_db(&ctx) == NULL)
			return CLI_FAILED;
		rc = ui_main(ctx.db, frames) == 0 ? CLI_OK : cli_fail_err();
	} else if (strcmp(argv[i], "help") == 0) {
		if (i + 1 < argc) {
			if (find_command(argv[i + 1]) == NULL)
				return cli_usage(NULL, "unknown command '%s'", argv[i + 1]);
			cli_command_help(argv[i + 1]);
		} else {
			usage(stdout);
		}
		rc = CLI_OK;
	} else {
		const struct cli_cmd *c = find_command(argv[i]);

		if (c == NULL)
			return cli_usage(NULL, "unknown command '%s'", argv[i]);
		ctx.writes = c->reads == CLI_WRITES || (c->reads == CLI_READS_LIST &&
		    !list_sub(c, argc - i, argv + i));
		rc = c->run(&ctx, argc - i, argv + i);
	}
	db_close(ctx.db);
	log_close();
	return rc;
}
