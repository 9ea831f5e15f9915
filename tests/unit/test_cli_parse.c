/* The subcommand option parser: a table of argv cases. */
#include "unit.h"

#include <fcntl.h>

#include "cli/cli.h"
#include "cli/cli_priv.h"
#include "util/strv.h"

struct pcase {
	const char *argv[8];
	int rc;			/* CLI_OK, CLI_USAGE, or -1 for --help */
	int nops;
	const char *first;	/* first operand */
	const char *host;
	bool json;
};

static void
test_parse_table(void **state)
{
	static const struct pcase cases[] = {
		{ { "list", NULL }, CLI_OK, 0, NULL, NULL, false },
		{ { "list", "--json", NULL }, CLI_OK, 0, NULL, NULL, true },
		{ { "list", "--host", "lab", NULL }, CLI_OK, 0, NULL, "lab", false },
		{ { "list", "--host=a=b", NULL }, CLI_OK, 0, NULL, "a=b", false },
		{ { "show", "vm1", "--json", NULL }, CLI_OK, 1, "vm1", NULL, true },
		{ { "show", "--", "--json", NULL }, CLI_OK, 1, "--json", NULL, false },
		{ { "show", "-", NULL }, CLI_OK, 1, "-", NULL, false },
		{ { "list", "--host", NULL }, CLI_USAGE, 0, NULL, NULL, false },
		{ { "list", "--json=1", NULL }, CLI_USAGE, 0, NULL, NULL, false },
		{ { "list", "--bogus", NULL }, CLI_USAGE, 0, NULL, NULL, false },
		{ { "list", "-x", NULL }, CLI_USAGE, 0, NULL, NULL, false },
		{ { "list", "--help", NULL }, -1, 0, NULL, NULL, false },
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct pcase *c = &cases[i];
		const char *host = NULL;
		bool json = false;
		const struct cli_opt opts[] = {
			{ "host", &host, NULL, NULL },
			{ "json", NULL, &json, NULL },
			{ 0 },
		};
		char **ops = NULL;
		int argc = 0, n = 0, rc;

		while (c->argv[argc] != NULL)
			argc++;
		/* Usage errors go to stderr; keep them out of the test output. */
		fflush(stderr);
		int saved = dup(2), null = open("/dev/null", O_WRONLY);

		dup2(null, 2);
		rc = cli_parse(c->argv[0], argc, (char **)c->argv, opts, &ops, &n);
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		close(null);
		assert_int_equal(rc, c->rc);
		if (rc != CLI_OK)
			continue;
		assert_int_equal(n, c->nops);
		if (c->first != NULL)
			assert_string_equal(ops[0], c->first);
		if (c->host != NULL)
			assert_string_equal(host, c->host);
		else
			assert_null(host);
		assert_int_equal(json, c->json);
		free(ops);
	}
}

/* An option given again and again keeps each value, in order, in both
 * forms; a single-value option keeps the last. */
static void
test_repeated(void **state)
{
	const char *argv[] = { "tune", "--pin", "0:1", "vm", "--pin=1:2-3", "--balloon", "1G",
		"--balloon=2G", "--pin", "all:off", NULL };
	const char *balloon = NULL;
	struct strv pins;
	const struct cli_opt opts[] = {
		{ "pin", NULL, NULL, &pins },
		{ "balloon", &balloon, NULL, NULL },
		{ 0 },
	};
	char **ops = NULL;
	int n = 0;

	(void)state;
	strv_init(&pins);
	assert_int_equal(cli_parse("tune", 10, (char **)argv, opts, &ops, &n), CLI_OK);
	assert_int_equal(n, 1);
	assert_string_equal(ops[0], "vm");
	assert_int_equal(pins.n, 3);
	assert_string_equal(pins.v[0], "0:1");
	assert_string_equal(pins.v[1], "1:2-3");
	assert_string_equal(pins.v[2], "all:off");
	assert_string_equal(balloon, "2G");
	free(ops);
	strv_free(&pins);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_repeated),
	};

	return cmocka_run_group_tests_name("cli_parse", tests, NULL, NULL);
}
