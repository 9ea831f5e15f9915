/* vmtty screenshot VM FILE: the VM's screen as a PNG, through its VNC
 * server (the same session the TUI's graphical console uses). */
#include "cli/cli.h"
#include "cli/cli_priv.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/vnc.h"
#include "hv/hv.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

#define SHOT_TIMEOUT_S 10
/* A VNC server's first frame after connecting may be stale and black:
 * wait this long past it for one that shows something. */
#define SHOT_SETTLE_MS 1500

/* Wait for the screen, then save it.  CLI_OK or CLI_FAILED. */
static int
shoot(struct vnc *s, const char *vm, const char *file, int timeout_s)
{
	long long deadline = log_now_ms() + timeout_s * 1000LL, first = 0;
	struct vnc_info info;
	bool asked = false, pw_sent = false;

	for (;;) {
		struct pollfd p = { vnc_fd(s), POLLIN, 0 };
		long long now = log_now_ms();

		if (now > deadline)
			return cli_fail("VM '%s': no screen %s within %d s; is the guest's display "
			    "running? (--timeout S waits longer)", vm, asked ? "was saved" : "arrived",
			    timeout_s);
		poll(&p, 1, 200);
		vnc_poll(s, &info);
		if (info.state == VNC_CLOSED)
			return cli_fail("VM '%s': %s", vm, info.error);
		if (info.state == VNC_PASSWORD && !pw_sent) {
			const char *pw = getenv("VMTTY_VNC_PASSWORD");

			if (pw == NULL)
				return cli_fail("VM '%s': its VNC server wants a password; set "
				    "VMTTY_VNC_PASSWORD", vm);
			vnc_password(s, pw);
			pw_sent = true;
		}
		if (info.note[0] != '\0') {
			if (info.note_error)
				return cli_fail("%s", info.note);
			printf("%s\n", info.note);
			return CLI_OK;
		}
		if (info.updates > 0 && first == 0)
			first = now;
		if (!asked && first != 0 && (info.nonblack || now - first > SHOT_SETTLE_MS)) {
			vnc_screenshot(s, file);
			asked = true;
		}
	}
}

int
cmd_screenshot(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *timeout_s = NULL;
	const struct cli_opt opts[] = {
		{ "timeout", &timeout_s, NULL },
		{ NULL, NULL, NULL },
	};
	char **ops, *end, *name;
	struct cli_vm v;
	struct vnc *s;
	int n, rc, fd, secs = SHOT_TIMEOUT_S;

	rc = cli_parse("screenshot", argc, argv, opts, &ops, &n);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if (n != 2) {
		free(ops);
		return cli_usage("screenshot", "screenshot takes a VM and a PNG file name");
	}
	if (timeout_s != NULL) {
		long t = strtol(timeout_s, &end, 10);

		if (*timeout_s == '\0' || *end != '\0' || t < 1 || t > 3600) {
			free(ops);
			return cli_usage("screenshot", "--timeout takes seconds from 1 to 3600, "
			    "not '%s'", timeout_s);
		}
		secs = (int)t;
	}
	if (cli_vm_load(ctx, ops[0], &v, true) != 0) {
		free(ops);
		return ctx->db == NULL ? CLI_FAILED : cli_fail_err();
	}
	if (hv_graphics_open(v.hv, &v.c, &fd) != 0) {
		rc = cli_fail_err();
		goto out;
	}
	name = xasprintf("VM '%s'", v.c.name);
	s = vnc_new(fd, name);
	free(name);
	if (s == NULL) {
		rc = cli_fail_err();
		goto out;
	}
	rc = shoot(s, v.c.name, ops[1], secs);
	vnc_free(s);
out:
	cli_vm_free(&v);
	free(ops);
	return rc;
}
