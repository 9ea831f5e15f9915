/* str: UTF-8 checks and the one escaping rule for terminal output. */
#include "unit.h"

#include "util/str.h"

static void
test_utf8(void **state)
{
	static const char *const good[] = { "", "abc", "caf\xc3\xa9", "\xe2\x82\xac",
		"\xf0\x9f\x98\x80", "\xef\xbf\xbd", "\xf4\x8f\xbf\xbf", "\xc2\x80" };
	static const char *const bad[] = { "\xff", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf",
		"\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xc3", "\xe2\x82",
		"\x80", "a\xc3(" };

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_true(str_utf8_valid(good[i]));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(str_utf8_valid(bad[i]));
	/* Prefixes end between characters. */
	assert_int_equal(str_utf8_prefix("\xe2\x82\xac\xe2\x82\xac", 5), 3);
	assert_int_equal(str_utf8_prefix("\xe2\x82\xac\xe2\x82\xac", 6), 6);
	assert_int_equal(str_utf8_prefix("ab", 10), 2);
	assert_int_equal(str_width("caf\xc3\xa9\xe2\x82\xac"), 5);
}

static void
test_escape(void **state)
{
	char buf[16], *s;

	(void)state;
	s = str_escape("a\r\t\n\033\x7f\xc2\x9b\xc2\xa0\xff\\z");
	assert_string_equal(s, "a\\r\\t\\n\\x1b\\x7f\\u009b\xc2\xa0\\xff\\z");
	assert_false(str_needs_escape(s));
	free(s);
	assert_true(str_needs_escape("x\xc2\x85"));
	assert_false(str_needs_escape("-rf .. caf\xc3\xa9"));
	/* Cut: between pieces, with "...", within the buffer. */
	assert_int_equal(str_escape_buf(buf, sizeof buf, "0123456789abcdefghij"), 15);
	assert_string_equal(buf, "0123456789ab...");
	str_escape_buf(buf, sizeof buf, "0123456789\xff\xff");
	assert_string_equal(buf, "0123456789...");
	str_escape_buf(buf, sizeof buf, "012345678\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac");
	assert_string_equal(buf, "012345678\xe2\x82\xac...");
	str_escape_buf(buf, sizeof buf, "exactly 15 byte");
	assert_string_equal(buf, "exactly 15 byte");
	str_escape_buf(buf, 3, "long text");
	assert_string_equal(buf, "");
}

/* Text of many lines (a host's domain XML): lines and tabs pass, the
 * escape sequences a hostile <description> could hold do not. */
static void
test_escape_text(void **state)
{
	char *e;

	(void)state;
	e = str_escape_text("<d>\x1b]0;pwned\x07\x1b[2J\xc2\x9b\x7f\r\n\tok</d>\n");
	assert_string_equal(e, "<d>\\x1b]0;pwned\\x07\\x1b[2J\\u009b\\x7f\\r\n\tok</d>\n");
	free(e);
	/* Characters that reorder or hide text are shown by code point. */
	e = str_escape("a\xe2\x80\xae" "b\xe2\x80\x8b\xef\xbb\xbf\xe2\x81\xa6\xf3\xa0\x80\x81\xe2\x80\xa8" "z");
	assert_string_equal(e, "a\\u202eb\\u200b\\ufeff\\u2066\\U000e0001\\u2028z");
	assert_true(str_needs_escape("a\xe2\x80\x8f"));
	assert_false(str_needs_escape("caf\xc3\xa9 \xe2\x80\x90"));
	free(e);
	e = str_escape_text("caf\xc3\xa9 \xff");
	assert_string_equal(e, "caf\xc3\xa9 \\xff");
	free(e);
}

/* JSON as json-c writes it: DEL and C1 raw become \u escapes (the same
 * JSON value); the rest, UTF-8 and json-c's own escapes included, stays. */
static void
test_json_safe(void **state)
{
	char *j;

	(void)state;
	j = str_json_safe("{ \"n\": \"a\xc2\x9b" "b\x7f\\u001b\xc2\xa0\xc3\xa9\\\\\" }");
	assert_string_equal(j, "{ \"n\": \"a\\u009bb\\u007f\\u001b\xc2\xa0\xc3\xa9\\\\\" }");
	free(j);
}

static void
test_fix(void **state)
{
	char *s;

	(void)state;
	s = str_utf8_fix("bad\xff-\xc3(ok\xc3\xa9");
	assert_string_equal(s, "bad\xef\xbf\xbd-\xef\xbf\xbd(ok\xc3\xa9");
	assert_true(str_utf8_valid(s));
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_text),
		cmocka_unit_test(test_json_safe),
		cmocka_unit_test(test_fix),
	};

	return cmocka_run_group_tests_name("str", tests, NULL, NULL);
}
