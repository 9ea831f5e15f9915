/* vmtty console VM [--escape KEY] [--force] [--log FILE]: the VM's serial
 * console on this terminal, like "virsh console": raw mode, every byte to
 * the guest until the escape character (Ctrl-] unless told otherwise);
 * what the guest sends also appended to FILE. */
#include "cli/cli.h"
#include "cli/cli_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console/passthru.h"
#include "hv/hv.h"
#include "util/err.h"

/* "^]", "^a", "^?" or one character -> its byte; -1 when not one of those. */
static int
parse_escape(const char *s)
{
	unsigned char c;

	if (s[0] == '^' && s[1] != '\0' && s[2] == '\0') {
		c = (unsigned char)s[1];
		if (c == '?')
			return 0x7f;
		if (c >= 'a' && c <= 'z')
			c = (unsigned char)(c - 'a' + 'A');
		if (c >= '@' && c <= '_')
			return c & 0x1f;
		return -1;
	}
	if (s[0] != '\0' && s[1] == '\0')
		return (unsigned char)s[0];
	return -1;
}

/* How the escape character reads in the banner: "^]" or the character. */
static void
escape_name(int esc, char *out, size_t len)
{
	if (esc < 0x20)
		snprintf(out, len, "^%c", esc + '@');
	else if (esc == 0x7f)
		snprintf(out, len, "^?");
	else
		snprintf(out, len, "%c", esc);
}

int
cmd_console(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *escape = NULL, *logpath = NULL;
	bool force = false;
	const struct cli_opt opts[] = {
		{ "escape", &escape, NULL, NULL },
		{ "force", NULL, &force, NULL },
		{ "log", &logpath, NULL, NULL },
		{ 0 },
	};
	char **ops, banner[512], ename[8], why[512];
	struct cli_vm v;
	struct hv_status st;
	int n, rc, esc = PASSTHRU_ESCAPE_DEFAULT, fd, logfd = -1;

	rc = cli_parse("console", argc, argv, opts, &ops, &n);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if (n != 1) {
		free(ops);
		return cli_usage("console", "console takes one VM");
	}
	if (escape != NULL && (esc = parse_escape(escape)) < 0) {
		free(ops);
		return cli_usage("console", "--escape takes a character such as '^]', '^a' or "
		    "'~', not '%s'", escape);
	}
	if (logpath != NULL && logpath[0] == '\0') {
		free(ops);
		return cli_usage("console", "--log takes a file name");
	}
	rc = cli_vm_load(ctx, ops[0], &v, true);
	free(ops);
	if (rc != 0)
		return ctx->db == NULL ? CLI_FAILED : cli_fail_err();
	if (hv_console_open(v.hv, &v.c, force, &fd) != 0) {
		rc = cli_fail_err();
		cli_vm_free(&v);
		return rc;
	}
	if (logpath != NULL && (logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
	    O_NOCTTY, 0600)) < 0) {
		rc = cli_fail("cannot open the console log '%s': %s", logpath, strerror(errno));
		close(fd);
		cli_vm_free(&v);
		return rc;
	}
	escape_name(esc, ename, sizeof ename);
	snprintf(banner, sizeof banner, "Connected to VM '%s' on host '%s'. "
	    "Escape character is %s.", v.c.name, v.c.host, ename);
	fflush(stdout);
	rc = passthru_run(fd, STDIN_FILENO, STDOUT_FILENO, esc, logfd, banner, why, sizeof why);
	close(fd);
	if (logfd >= 0)
		close(logfd);
	/* The guest may have left the cursor mid-line: the shell (or our
	 * message) starts on a fresh one. */
	if (isatty(STDERR_FILENO))
		fputs("\r\n", stderr);
	if (rc == 0) {
		rc = CLI_OK;
	} else if (rc == 1) {
		/* Say what became of the VM when the backend knows. */
		if (hv_status(v.hv, &v.c, &st) == 0 && st.state != HV_RUNNING &&
		    st.state != HV_PAUSED && st.state != HV_UNKNOWN)
			rc = cli_fail("the console of VM '%s' closed: the VM is %s now",
			    v.c.name, hv_state_name(st.state));
		else
			rc = cli_fail("the console of VM '%s' closed: %s", v.c.name, why);
	} else {
		rc = cli_fail("the console of VM '%s': %s", v.c.name, why);
	}
	cli_vm_free(&v);
	return rc;
}
