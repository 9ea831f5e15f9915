/* vmtty screenshot VM FILE: the VM's screen as a PNG, through its VNC
 * server (the same session the TUI's graphical console uses). */
#include "cli/cli.h"
#include "cli/cli_priv.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "console/vnc.h"
#include "hv/hv.h"
#include "util/err.h"
#include "util/num.h"
#include "util/log.h"
#include "util/xalloc.h"

#define SHOT_TIMEOUT_S 10
/* A VNC server's first frame after connecting may be stale and black:
 * wait this long past it for one that shows something. */
#define SHOT_SETTLE_MS 1500

/* Wait for the screen, then save it.  CLI_OK or CLI_FAILED. */
static int
shoot(struct vnc *s, const char *who, const char *file, int timeout_s)
{
	long long deadline = log_now_ms() + timeout_s * 1000LL, first = 0;
	struct vnc_info info;
	bool asked = false, pw_sent = false;

	for (;;) {
		struct pollfd p = { vnc_fd(s), POLLIN, 0 };
		long long now = log_now_ms();

		if (now > deadline)
			return cli_fail("%s: no screen %s within %d s; is the guest's display "
			    "running? (--timeout S waits longer)", who, asked ? "was saved" : "arrived",
			    timeout_s);
		poll(&p, 1, 200);
		vnc_poll(s, &info);
		if (info.state == VNC_CLOSED)
			return cli_fail("%s", info.error);
		if (info.state == VNC_PASSWORD && !pw_sent) {
			const char *pw = getenv("VMTTY_VNC_PASSWORD");

			if (pw == NULL)
				return cli_fail("%s: its VNC server wants a password; set "
				    "VMTTY_VNC_PASSWORD", who);
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

/* --vnc unix:PATH: any VNC server on a unix socket.  The fd, or -1 + err. */
static int
connect_address(const char *addr)
{
	struct sockaddr_un sa;
	int s;

	if (strncmp(addr, "unix:", 5) != 0 || strlen(addr + 5) >= sizeof sa.sun_path ||
	    addr[5] == '\0')
		return err_set("--vnc takes unix:PATH (a VNC server's unix socket), not '%s'", addr);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", addr + 5);
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return err_set("cannot create a socket: %s", strerror(errno));
	if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) {
		err_set("cannot connect to the VNC server at '%s': %s", addr + 5, strerror(errno));
		close(s);
		return -1;
	}
	return s;
}

/* vmtty screenshot --vnc unix:PATH FILE */
static int
shoot_address(const char *addr, const char *file, int secs)
{
	struct vnc *s;
	char *name;
	int fd, rc;

	if ((fd = connect_address(addr)) < 0)
		return cli_fail_err();
	name = xasprintf("'%s'", addr);
	s = vnc_new(fd, name);
	if (s == NULL) {
		free(name);
		return cli_fail_err();
	}
	rc = shoot(s, name, file, secs);
	vnc_free(s);
	free(name);
	return rc;
}

int
cmd_screenshot(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *timeout_s = NULL, *addr = NULL;
	const struct cli_opt opts[] = {
		{ "timeout", &timeout_s, NULL, NULL },
		{ "vnc", &addr, NULL, NULL },
		{ 0 },
	};
	char **ops, *name;
	struct cli_vm v;
	struct vnc *s;
	int n, rc, fd, secs = SHOT_TIMEOUT_S;

	rc = cli_parse("screenshot", argc, argv, opts, &ops, &n);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if (n != (addr != NULL ? 1 : 2)) {
		free(ops);
		return cli_usage("screenshot", addr != NULL ? "screenshot --vnc ADDRESS takes a PNG "
		    "file name" : "screenshot takes a VM and a PNG file name");
	}
	if (timeout_s != NULL) {
		long long t;

		if (num_parse(timeout_s, 1, 3600, &t) != 0) {
			free(ops);
			return cli_usage("screenshot", "--timeout takes seconds from 1 to 3600, "
			    "not '%s'", timeout_s);
		}
		secs = (int)t;
	}
	if (addr != NULL) {
		rc = shoot_address(addr, ops[0], secs);
		free(ops);
		return rc;
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
	name = xasprintf("VM '%s'", v.c.name);
	rc = shoot(s, name, ops[1], secs);
	free(name);
	vnc_free(s);
out:
	cli_vm_free(&v);
	free(ops);
	return rc;
}
