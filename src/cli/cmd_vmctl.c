/* vmtty create | delete | start | shutdown | poweroff | reboot | reset |
 * pause | resume: VM lifecycle through the host's backend, journaled. */
#include "cli/cli.h"
#include "cli/cli_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hv/hv.h"
#include "ops/provision.h"
#include "ops/snapshot.h"
#include "model/host.h"
#include "model/journal.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/num.h"
#include "util/log.h"
#include "util/xalloc.h"

#define CLI_WAIT_S 60

void
cli_vm_free(struct cli_vm *v)
{
	hv_close(v->hv);
	vm_config_clear(&v->c);
}

int
cli_vm_load(struct cli_ctx *ctx, const char *spec, struct cli_vm *v, bool need_hv)
{
	struct host h;
	struct db *db;
	int64_t id;

	memset(v, 0, sizeof *v);
	if ((db = cli_db(ctx)) == NULL)
		return -1;
	if (vm_resolve(db, spec, &id) != 0 || vm_load(db, id, &v->c) != 0)
		return -1;
	if (host_get(db, v->c.host, &h) != 0) {
		vm_config_clear(&v->c);
		return -1;
	}
	/* Without NEED_HV only the built-in backend is opened: it answers at
	 * once, while a libvirt host may be slow or gone. */
	v->hv = need_hv || h.kind == HOST_BUILTIN ? cli_hv_open(&h) : NULL;
	host_clear(&h);
	if (v->hv == NULL && need_hv) {
		vm_config_clear(&v->c);
		return -1;
	}
	return 0;
}

/* Journal the outcome of ACTION on V; print and return the exit code. */
static int
finish(struct cli_ctx *ctx, struct cli_vm *v, const char *action, int rc, const char *okmsg)
{
	char msg[1024];

	if (rc == 0) {
		journal_add(ctx->db, v->c.host, v->c.name, action, true, okmsg);
		return CLI_OK;
	}
	snprintf(msg, sizeof msg, "%s", err_get());
	journal_add(ctx->db, v->c.host, v->c.name, action, false, msg);
	return cli_fail("%s", msg);
}

/* Returned by one_vm when --help was printed: the command is done. */
#define CLI_DONE (-1)

/* Parse a command on exactly one VM; *SPEC points into ARGV.
 * CLI_OK, or the exit code (CLI_DONE: help printed, exit 0). */
static int
one_vm(const char *cmd, int argc, char **argv, const struct cli_opt *opts, const char **spec)
{
	char **ops;
	int n, rc;

	rc = cli_parse(cmd, argc, argv, opts, &ops, &n);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_DONE : rc;
	if (n != 1) {
		free(ops);
		return cli_usage(cmd, "%s takes one VM", cmd);
	}
	*spec = ops[0];
	free(ops);
	return CLI_OK;
}

/* Load the VM named by SPEC with its backend; CLI_OK or CLI_FAILED. */
static int
load_vm(struct cli_ctx *ctx, const char *spec, struct cli_vm *v)
{
	if (cli_vm_load(ctx, spec, v, true) != 0)
		return ctx->db == NULL ? CLI_FAILED : cli_fail_err();
	return CLI_OK;
}

static int
parse_seconds(const char *cmd, const char *s, int *out)
{
	long long v;

	if (s == NULL)
		return 0;
	if (num_parse(s, 1, 86400, &v) != 0)
		return cli_usage(cmd, "--timeout takes seconds from 1 to 86400, not '%s'", s);
	*out = (int)v;
	return 0;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Poll the VM's state until it is WANT or the deadline passes. */
static int
wait_state(struct cli_vm *v, enum hv_state want, int secs, struct hv_status *st)
{
	long long deadline = log_now_ms() + (long long)secs * 1000;

	for (;;) {
		if (hv_status(v->hv, &v->c, st) != 0)
			return -1;
		if (st->state == want)
			return 0;
		if (log_now_ms() > deadline)
			return 1;
		sleep_ms(50);
	}
}

/*
 * Poll the serial log until MARKER shows up or the deadline passes.  Only
 * new bytes are read, keeping the marker's length minus one of the old
 * ones for a marker split across reads; the VM's state is checked twice a
 * second so that a guest that dies does not make us wait out the deadline.
 */
static int
wait_serial(struct cli_vm *v, const char *marker, int secs)
{
	long long deadline = log_now_ms() + (long long)secs * 1000, next_check = 0;
	size_t mlen = strlen(marker), keep = 0;
	char path[4096], *buf = xmalloc(mlen + 65536);
	struct hv_status st;
	off_t off = 0;
	int rc = -1;

	if (mlen == 0 || hv_serial_log(v->hv, &v->c, path, sizeof path) != 0)
		goto out;
	for (;;) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n;

		while (fd >= 0 && (n = pread(fd, buf + keep, 65536, off)) > 0) {
			off += n;
			if (memmem(buf, keep + (size_t)n, marker, mlen) != NULL) {
				close(fd);
				rc = 0;
				goto out;
			}
			/* Keep the tail that could start the marker. */
			size_t total = keep + (size_t)n, k = total < mlen - 1 ? total : mlen - 1;

			memmove(buf, buf + total - k, k);
			keep = k;
		}
		if (fd >= 0)
			close(fd);
		if (log_now_ms() >= next_check) {
			next_check = log_now_ms() + 500;
			if (hv_status(v->hv, &v->c, &st) == 0 &&
			    (st.state == HV_OFF || st.state == HV_CRASHED)) {
				err_set("VM '%s' stopped (%s) before '%s' appeared on its serial "
				    "console", v->c.name, hv_state_name(st.state), marker);
				goto out;
			}
		}
		if (log_now_ms() > deadline) {
			err_set("'%s' did not appear on the serial console of VM '%s' within %d s",
			    marker, v->c.name, secs);
			goto out;
		}
		sleep_ms(5);
	}
out:
	free(buf);
	return rc;
}

static void
record_state(struct cli_ctx *ctx, struct cli_vm *v)
{
	struct hv_status st;

	if (hv_status(v->hv, &v->c, &st) == 0)
		vm_set_state(ctx->db, v->c.id, hv_state_name(st.state));
}

static int
cmd_start(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *marker = NULL, *timeout_s = NULL;
	bool wait = false;
	const struct cli_opt opts[] = {
		{ "wait", NULL, &wait, NULL },
		{ "wait-serial", &marker, NULL, NULL },
		{ "timeout", &timeout_s, NULL, NULL },
		{ 0 },
	};
	struct cli_vm v;
	struct hv_status st;
	char note[512], okmsg[600];
	const char *spec;
	int rc, secs = CLI_WAIT_S;

	if ((rc = one_vm("start", argc, argv, opts, &spec)) != CLI_OK)
		return rc == CLI_DONE ? CLI_OK : rc;
	if (parse_seconds("start", timeout_s, &secs) != 0)
		return CLI_USAGE;
	if (marker != NULL && marker[0] == '\0')
		return cli_usage("start", "--wait-serial needs some text to wait for");
	if ((rc = load_vm(ctx, spec, &v)) != CLI_OK)
		return rc;
	if (marker != NULL) {
		char path[64];

		/* Say so before starting anything. */
		if (hv_serial_log(v.hv, &v.c, path, sizeof path) != 0 && v.hv->host.kind != HOST_BUILTIN) {
			rc = cli_fail("--wait-serial needs a serial log that vmtty can read, which "
			    "host '%s' (libvirt) does not offer; start without it", v.hv->host.name);
			cli_vm_free(&v);
			return rc;
		}
	}
	rc = hv_start(v.hv, &v.c, note, sizeof note);
	if (rc == 0 && note[0] != '\0')
		fprintf(stderr, "vmtty: note: %s\n", note);
	if (rc == 0 && wait && wait_state(&v, HV_RUNNING, secs, &st) != 0)
		rc = err_set("VM '%s' is %s, not running", v.c.name, hv_state_name(st.state));
	/* A fresh start takes every pending change. */
	if (rc == 0 && v.c.pending != NULL)
		vm_set_pending(ctx->db, v.c.id, NULL);
	snprintf(okmsg, sizeof okmsg, "started%s%s", note[0] != '\0' ? "; " : "", note);
	rc = finish(ctx, &v, "start", rc, okmsg);
	if (rc == CLI_OK && marker != NULL && wait_serial(&v, marker, secs) != 0)
		rc = cli_fail_err();
	record_state(ctx, &v);
	cli_vm_free(&v);
	return rc;
}

/* shutdown, poweroff, reboot, reset, pause, resume */
static int
cmd_action(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *timeout_s = NULL;
	bool wait = false;
	const struct cli_opt opts[] = {
		{ "wait", NULL, &wait, NULL },
		{ "timeout", &timeout_s, NULL, NULL },
		{ 0 },
	};
	static const enum hv_state target[] = {
		[HV_SHUTDOWN] = HV_OFF,
		[HV_POWEROFF] = HV_OFF,
		[HV_REBOOT] = HV_RUNNING,
		[HV_RESET] = HV_RUNNING,
		[HV_PAUSE] = HV_PAUSED,
		[HV_RESUME] = HV_RUNNING,
	};
	enum hv_action a;
	struct cli_vm v;
	struct hv_status st;
	char okmsg[64];
	const char *spec;
	int rc, secs = CLI_WAIT_S;

	if (hv_action_parse(argv[0], &a) != 0)
		return cli_usage(NULL, "unknown command '%s'", argv[0]);
	if ((rc = one_vm(argv[0], argc, argv, opts, &spec)) != CLI_OK)
		return rc == CLI_DONE ? CLI_OK : rc;
	if (parse_seconds(argv[0], timeout_s, &secs) != 0)
		return CLI_USAGE;
	if ((rc = load_vm(ctx, spec, &v)) != CLI_OK)
		return rc;
	rc = hv_action(v.hv, &v.c, a);
	if (rc == 0 && wait) {
		int w = wait_state(&v, target[a], secs, &st);

		if (w > 0 && a == HV_SHUTDOWN)
			rc = err_set("VM '%s' did not power off within %d s (it is %s); "
			    "'vmtty poweroff %s' pulls the plug", v.c.name, secs,
			    hv_state_name(st.state), v.c.name);
		else if (w != 0)
			rc = err_set("VM '%s' is %s after %d s, not %s", v.c.name,
			    hv_state_name(st.state), secs, hv_state_name(target[a]));
	}
	snprintf(okmsg, sizeof okmsg, "%s done", hv_action_name(a));
	rc = finish(ctx, &v, hv_action_name(a), rc, okmsg);
	record_state(ctx, &v);
	cli_vm_free(&v);
	return rc;
}

static int
cmd_create(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_create_opts o = { .host = "local" };
	const struct cli_opt opts[] = {
		{ "host", &o.host, NULL, NULL },
		{ "kernel", &o.kernel, NULL, NULL },
		{ "initrd", &o.initrd, NULL, NULL },
		{ "cmdline", &o.cmdline, NULL, NULL },
		{ "memory", &o.memory, NULL, NULL },
		{ "cpus", &o.cpus, NULL, NULL },
		{ "disk", &o.disk, NULL, NULL },
		{ "accel", &o.accel, NULL, NULL },
		{ "machine", &o.machine, NULL, NULL },
		{ "graphics", &o.graphics, NULL, NULL },
		{ "disk-bus", &o.disk_bus, NULL, NULL },
		{ "nic-model", &o.nic_model, NULL, NULL },
		{ "forward", &o.fwd, NULL, NULL },
		{ "notes", &o.notes, NULL, NULL },
		{ "template", &o.template_name, NULL, NULL },
		{ "disk-size", &o.disk_size, NULL, NULL },
		{ "image", &o.image, NULL, NULL },
		{ "copy", NULL, &o.copy, NULL },
		{ "insecure-image", NULL, &o.insecure_image, NULL },
		{ "iso", &o.iso, NULL, NULL },
		{ "ssh-key", &o.ssh_key, NULL, NULL },
		{ "user", &o.user, NULL, NULL },
		{ "hostname", &o.hostname, NULL, NULL },
		{ "network", &o.network, NULL, NULL },
		{ "pool", &o.pool, NULL, NULL },
		{ "dir", &o.dir, NULL, NULL },
		{ 0 },
	};
	char **ops;
	int n, rc;

	rc = cli_parse("create", argc, argv, opts, &ops, &n);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if (n != 1) {
		free(ops);
		return cli_usage("create", "create takes one NAME");
	}
	/* Every option set is one provision_plan: one path, one set of checks. */
	rc = cli_create_plan(ctx, ops[0], &o);
	free(ops);
	return rc;
}

/* Before a VM with snapshots is deleted: it is stopped, and its snapshots
 * go (their data merged into its disks, their files removed); a disk that
 * now has another path is said.  0, or -1 + err. */
static int
delete_snapshots(struct cli_ctx *ctx, struct cli_vm *v)
{
	struct hv_status st;
	struct vm_config old;
	int rc;

	if (hv_status(v->hv, &v->c, &st) != 0)
		return -1;
	if (st.state != HV_OFF && st.state != HV_CRASHED)
		return err_set("VM '%s' is %s; stop it before deleting it", v->c.name,
		    hv_state_name(st.state));
	vm_config_copy(&old, &v->c);
	rc = snapshot_delete_all(ctx->db, v->hv, &v->c);
	for (size_t i = 0; i < v->c.ndisks && i < old.ndisks; i++)
		if (strcmp(old.disks[i].path, v->c.disks[i].path) != 0)
			cli_warn("note: disk %zu of VM '%s' is now '%s'", i, v->c.name,
			    v->c.disks[i].path);
	vm_config_clear(&old);
	return rc;
}

static int
cmd_delete(struct cli_ctx *ctx, int argc, char **argv)
{
	bool disks = false, snaps = false;
	const struct cli_opt opts[] = {
		{ "delete-disks", NULL, &disks, NULL },
		{ "snapshots", NULL, &snaps, NULL },
		{ 0 },
	};
	struct cli_vm v;
	char okmsg[256];
	const char *spec;
	size_t nsnap = 0;
	int rc, removed = 0;

	if ((rc = one_vm("delete", argc, argv, opts, &spec)) != CLI_OK)
		return rc == CLI_DONE ? CLI_OK : rc;
	if ((rc = load_vm(ctx, spec, &v)) != CLI_OK)
		return rc;
	/* Snapshots go only when asked, and before anything else does. */
	if (snapshot_vm_delete_check(ctx->db, v.hv, &v.c, snaps, &nsnap) != 0) {
		rc = finish(ctx, &v, "delete", -1, NULL);
		cli_vm_free(&v);
		return rc;
	}
	/* A libvirt host's disks live on that host: a local file at the same
	 * path is somebody else's.  Volumes vmtty made there go through the
	 * storage API; if the VM has other disks, or a disk another VM uses,
	 * nothing is deleted. */
	if (disks && provision_check_delete_disks(ctx->db, &v.c,
	    v.hv->host.kind == HOST_BUILTIN) != 0) {
		char why[1024];

		snprintf(why, sizeof why, "%s", err_get());
		err_set("%s; delete the VM without --delete-disks", why);
		rc = finish(ctx, &v, "delete", -1, NULL);
		cli_vm_free(&v);
		return rc;
	}
	rc = nsnap > 0 ? delete_snapshots(ctx, &v) : 0;
	if (rc == 0)
		rc = hv_undefine(v.hv, &v.c);
	if (rc == 0)
		rc = vm_delete(ctx->db, v.c.id);
	/* Disks go last, and only when asked: the inventory row is gone by
	 * then, so a failure here leaves a file, never a VM without its disk. */
	if (rc == 0 && disks && provision_delete_disks(v.hv, &v.c, &removed) != 0)
		fprintf(stderr, "vmtty: %s\n", err_get());
	snprintf(okmsg, sizeof okmsg, "deleted%s%s%s (%d disk file(s) removed)",
	    disks || nsnap > 0 ? " with its " : "", disks ? "disks" : "",
	    nsnap > 0 ? (disks ? " and snapshots" : "snapshots") : "", removed);
	rc = finish(ctx, &v, "delete", rc, okmsg);
	cli_vm_free(&v);
	return rc;
}

static int
cmd_autostart(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_opt opts[] = { { 0 } };
	struct cli_vm v;
	char **ops, okmsg[64];
	bool on;
	int n, rc;

	rc = cli_parse("autostart", argc, argv, opts, &ops, &n);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if (n != 2 || (strcmp(ops[1], "on") != 0 && strcmp(ops[1], "off") != 0)) {
		free(ops);
		return cli_usage("autostart", "autostart takes a VM and 'on' or 'off'");
	}
	on = strcmp(ops[1], "on") == 0;
	rc = load_vm(ctx, ops[0], &v);
	free(ops);
	if (rc != CLI_OK)
		return rc;
	snprintf(okmsg, sizeof okmsg, "autostart %s", on ? "on" : "off");
	/* A built-in VM's flag is the inventory's: `vmtty serve --supervise`
	 * starts it when it begins; a libvirt host keeps its own. */
	if (v.hv->host.kind == HOST_BUILTIN)
		rc = finish(ctx, &v, "autostart", vm_set_policy(ctx->db, v.c.id, v.c.on_crash != NULL ?
		    v.c.on_crash : VM_DEFAULT_ON_CRASH, on), okmsg);
	else
		rc = finish(ctx, &v, "autostart", hv_set_autostart(v.hv, &v.c, on), okmsg);
	cli_vm_free(&v);
	return rc;
}

int
cmd_vmctl(struct cli_ctx *ctx, int argc, char **argv)
{
	if (strcmp(argv[0], "autostart") == 0)
		return cmd_autostart(ctx, argc, argv);
	if (strcmp(argv[0], "create") == 0)
		return cmd_create(ctx, argc, argv);
	if (strcmp(argv[0], "delete") == 0)
		return cmd_delete(ctx, argc, argv);
	if (strcmp(argv[0], "start") == 0)
		return cmd_start(ctx, argc, argv);
	return cmd_action(ctx, argc, argv);
}
