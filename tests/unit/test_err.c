/* err: every message is one line of UTF-8, whatever it quotes. */
#include "unit.h"

#include <locale.h>
#include <stdbool.h>
#include <wchar.h>

#include "util/err.h"

/* User input and host text with newlines, CR, ESC, C1 controls and bytes
 * that are not UTF-8 come out escaped. */
static void
test_one_line(void **state)
{
	(void)state;
	err_set("no VM named '%s'; see 'vmtty list'", "a\nb\rc\td\033[2Je\xc2\x9b" "f\xff");
	assert_string_equal(err_get(),
	    "no VM named 'a\\nb\\rc\\td\\x1b[2Je\\u009bf\\xff'; see 'vmtty list'");
	/* Printable text, backslashes and UTF-8 pass as they are. */
	err_set("path '%s'", "C:\\dir\\caf\xc3\xa9 \xe2\x82\xac");
	assert_string_equal(err_get(), "path 'C:\\dir\\caf\xc3\xa9 \xe2\x82\xac'");
	/* err_prefix keeps the escaped message as it is (no double escapes). */
	err_set("bad '%s'", "x\ny");
	err_prefix("host '%s'", "h\tq");
	assert_string_equal(err_get(), "host 'h\\tq': bad 'x\\ny'");
}

/* A message too long for the buffer is cut between characters (and
 * escapes), never inside one, and says it was cut. */
static void
test_truncation(void **state)
{
	char big[4000];
	const char *m;
	size_t len;

	(void)state;
	for (size_t shift = 0; shift < 3; shift++) {
		memset(big, 'x', shift);
		for (size_t i = shift; i + 3 < sizeof big; i += 3)
			memcpy(big + i, "\xe2\x82\xac", 3);
		big[shift + (sizeof big - shift - 1) / 3 * 3] = '\0';
		err_set("long: %s", big);
		m = err_get();
		len = strlen(m);
		assert_true(len < 1024 && len > 900);
		assert_true(unit_libc_utf8(m));
		assert_null(strstr(m, "\\x"));
	}
	/* Escapes are not cut in half either. */
	memset(big, '\n', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	err_set("%s", big);
	m = err_get();
	len = strlen(m);
	assert_true(len < 1024 && len > 900);
	for (size_t i = 0; i + 3 < len; i += 2)
		assert_true(m[i] == '\\' && m[i + 1] == 'n');
	err_prefix("%s", big);
	assert_true(strlen(err_get()) < 1024);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_line),
		cmocka_unit_test(test_truncation),
	};

	return cmocka_run_group_tests_name("err", tests, NULL, NULL);
}
