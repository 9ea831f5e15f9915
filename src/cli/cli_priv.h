/* Private to src/cli: the context every subcommand gets, and helpers. */
#ifndef VMTTY_CLI_PRIV_H
#define VMTTY_CLI_PRIV_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "model/vm.h"

struct db;

struct cli_ctx {
	const char *db_path;	/* --db, or NULL for the default */
	struct db *db;		/* opened on first use */
	bool writes;		/* the command may change a host or the inventory */
};

/* What a command does with the inventory (cli_cmd.reads). */
enum cli_reads {
	CLI_WRITES,		/* changes hosts or the inventory (the default) */
	CLI_READS,		/* only reads */
	CLI_READS_LIST,		/* only reads when its subcommand is "list" (or
				 * "info") */
};

struct cli_cmd {
	const char *name;
	const char *args;	/* usage after the name */
	const char *summary;	/* one line for --help */
	int (*run)(struct cli_ctx *ctx, int argc, char **argv);
	enum cli_reads reads;
};

/* The inventory, opened on first use; NULL after printing the error. */
struct db *cli_db(struct cli_ctx *ctx);
/* Print "vmtty: MSG" to stderr; returns CLI_FAILED. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "vmtty: MSG" to stderr (a warning or a note). */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print the last error (err_get) and return CLI_FAILED. */
int cli_fail_err(void);
/* Print a usage error for CMD and return CLI_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An absolute path for a file given on the command line (allocated). */
char *cli_abs_path(const char *p);
/* Print JSON followed by a newline, then drop the reference. */
void cli_json_print(json_object *o);
/* The same as one line (JSON_C_TO_STRING_PLAIN), flushed: a stream of
 * events. */
void cli_json_line(json_object *o);
/* O as JSON text (json-c's FLAGS), allocated, with DEL and the C1
 * controls written as \u escapes (str_json_safe): every JSON vmtty prints
 * goes through here, so nothing a user or host supplied reaches the
 * terminal raw. */
char *cli_json_text(json_object *o, int flags);
/* A JSON string (NULL for NULL); bytes that are not UTF-8 become U+FFFD,
 * since json-c copies them as they are and the output must stay JSON. */
json_object *cli_json_str(const char *s);
/*
 * Plain output of text from users and hosts: S escaped (str_escape, so a
 * domain name with CR, TAB or C1 controls cannot rewrite the line), then
 * padded with spaces to WIDTH columns; cli_cell_width gives its columns.
 */
void cli_print_cell(const char *s, int width);
int cli_cell_width(const char *s);
/* "2026-11-21T23:52:46.123Z" */
void cli_format_time_iso(int64_t ms, char *buf, size_t len);
/* Local "2026-11-21 23:52:46" */
void cli_format_time_local(int64_t ms, char *buf, size_t len);
struct strv;

/* One long option of a subcommand: a flag (BVAL), a value (SVAL), or a
 * value that may be given again and again (each added to LIST). */
struct cli_opt {
	const char *name;	/* without the leading "--" */
	const char **sval;
	bool *bval;
	struct strv *list;
};

/*
 * Parse ARGV (ARGV[0] is the subcommand) against OPTS, a table ended by a
 * zero entry: "--name value", "--name=value", "--flag", "--" ends options.
 * Operands, in order, go to *OPERANDS (pointers into ARGV, malloc'd array).
 * Returns CLI_OK, CLI_USAGE after printing a usage error, or -1 when --help
 * was given and printed.
 */
int cli_parse(const char *cmd, int argc, char **argv, const struct cli_opt *opts,
    char ***operands, int *noperands);
void cli_command_help(const char *name);

struct hv;

/* A VM with its backend, loaded from a NAME or HOST/NAME spec. */
struct cli_vm {
	struct vm_config c;
	struct hv *hv;
};

/* 0, or -1 + err (the inventory, the VM or its host's backend failed).
 * Without NEED_HV a backend that cannot be opened leaves v->hv NULL. */
int cli_vm_load(struct cli_ctx *ctx, const char *spec, struct cli_vm *v, bool need_hv);
void cli_vm_free(struct cli_vm *v);

struct host;

/* Open HOST's backend, giving up after the connect deadline
 * ($VMTTY_CONNECT_TIMEOUT seconds, default 15).  NULL + err. */
struct hv *cli_hv_open(const struct host *h);
/* Refresh the inventory's cache of libvirt hosts (ONLY one, or all when
 * NULL), all at once with a deadline.  Hosts that did not answer are
 * warned about on stderr and returned in *STALE (names, allocated). */
int cli_refresh_hosts(struct db *db, const char *only, char ***stale, size_t *nstale);

struct hv_domain;

/* One host's VMs as configurations for its backend (hv_stats takes VMS). */
struct cli_vmset {
	struct vm_config *cfg;
	const struct vm_config **vms;	/* &cfg[i] */
	size_t n;
};

/* HOST's VMs from the inventory (a VM that does not load is warned about
 * and left out).  0, or -1 + err. */
int cli_vmset_load(struct db *db, const char *host, struct cli_vmset *s);
/* The domains D[0..N) a libvirt host listed: uuid and name each. */
void cli_vmset_domains(const struct hv_domain *d, size_t n, struct cli_vmset *s);
void cli_vmset_clear(struct cli_vmset *s);

/* The options of `vmtty create`. */
struct cli_create_opts {
	const char *host, *template_name, *kernel, *initrd, *cmdline, *memory, *cpus;
	const char *disk, *accel, *machine, *graphics, *fwd, *notes, *disk_bus, *nic_model;
	const char *disk_size, *image, *iso, *ssh_key, *user, *hostname, *network, *pool, *dir;
	bool copy, insecure_image;
};

/* `vmtty create NAME --template ...`: through provisioning (cmd_provision.c). */
int cli_create_plan(struct cli_ctx *ctx, const char *name, const struct cli_create_opts *o);
int cmd_templates(struct cli_ctx *ctx, int argc, char **argv);
int cmd_image(struct cli_ctx *ctx, int argc, char **argv);
struct image_source;
/* Pull S into the image cache with progress on stderr (Ctrl-C stops it,
 * keeping the .part): *PATH (allocated).  0, or -1 + err. */
int cli_image_pull(const struct image_source *s, char **path);
int cmd_edit(struct cli_ctx *ctx, int argc, char **argv);
int cmd_tune(struct cli_ctx *ctx, int argc, char **argv);
int cmd_migrate(struct cli_ctx *ctx, int argc, char **argv);
struct hv_migrate_opts;
/* `vmtty migrate VM --to HOST --offline` (cmd_move.c): a cold move of
 * VM SPEC, with the options cmd_migrate parsed (LIVE's live-only ones are
 * refused, OFFLINE false with a POOL too). */
int cmd_migrate_offline(struct cli_ctx *ctx, const char *spec, const char *to, const char *pool,
    bool offline, const struct hv_migrate_opts *live, bool progress, bool json);
int cmd_snapshot(struct cli_ctx *ctx, int argc, char **argv);
int cmd_clone(struct cli_ctx *ctx, int argc, char **argv);

int cmd_host(struct cli_ctx *ctx, int argc, char **argv);
int cmd_vmctl(struct cli_ctx *ctx, int argc, char **argv);
int cmd_console(struct cli_ctx *ctx, int argc, char **argv);
int cmd_list(struct cli_ctx *ctx, int argc, char **argv);
int cmd_show(struct cli_ctx *ctx, int argc, char **argv);
int cmd_log(struct cli_ctx *ctx, int argc, char **argv);
int cmd_screenshot(struct cli_ctx *ctx, int argc, char **argv);
int cmd_top(struct cli_ctx *ctx, int argc, char **argv);
int cmd_doctor(struct cli_ctx *ctx, int argc, char **argv);
int cmd_serve(struct cli_ctx *ctx, int argc, char **argv);

#endif
