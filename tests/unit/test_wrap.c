/* wrap_line: lines broken between words, by display width, never inside a
 * UTF-8 character. */
#include "unit.h"

#include <locale.h>

#include "util/wrap.h"

/* S wrapped at WIDTH, the lines joined with '|'. */
static void
wrap_all(const char *s, int width, char *out, size_t size)
{
	size_t off = 0, len, next, o = 0;

	out[0] = '\0';
	for (int guard = 0; s[off] != '\0'; guard++) {
		assert_true(guard < 100);
		len = wrap_line(s + off, width, &next);
		assert_true(next > 0);
		o += (size_t)snprintf(out + o, size - o, "%s%.*s", o > 0 ? "|" : "", (int)len, s + off);
		off += next;
	}
}

static void
test_wrap_words(void **state)
{
	static const struct {
		const char *in;
		int width;
		const char *out;
	} cases[] = {
		{ "", 10, "" },
		{ "short", 10, "short" },
		{ "exactly10!", 10, "exactly10!" },
		{ "hello world", 5, "hello|world" },
		{ "ab cdefg hij", 8, "ab cdefg|hij" },
		{ "start failed: qemu refused the kernel", 16,
		    "start failed:|qemu refused the|kernel" },
		{ "a  b   c", 4, "a  b|c" },
		{ "a  b   c", 3, "a|b|c" },
		{ "averyveryverylongword end", 8, "averyver|yverylon|gword|end" },
		{ "x /a/very/long/path/name", 10, "x|/a/very/lo|ng/path/na|me" },
		{ "line one\nline two", 40, "line one|line two" },
		{ "trailing   ", 8, "trailing" },
		/* Two columns a character: 3 of them fill 6 columns. */
		{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xa7", 6,
		    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e|\xe3\x81\xa7" },
		/* Multi-byte, one column each: "é" never split. */
		{ "caf\xc3\xa9 \xc3\xa9t\xc3\xa9 d\xc3\xa9j\xc3\xa0", 9,
		    "caf\xc3\xa9 \xc3\xa9t\xc3\xa9|d\xc3\xa9j\xc3\xa0" },
		{ "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 2,
		    "\xc3\xa9\xc3\xa9|\xc3\xa9\xc3\xa9|\xc3\xa9" },
		/* A wide character in a narrower line still moves on. */
		{ "\xe6\x97\xa5\xe6\x9c\xac", 1, "\xe6\x97\xa5|\xe6\x9c\xac" },
		/* Bytes that are no text count one column each. */
		{ "\xff\xfe\xfd", 2, "\xff\xfe|\xfd" },
	};
	char out[256];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		wrap_all(cases[i].in, cases[i].width, out, sizeof out);
		assert_string_equal(out, cases[i].out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrap_words),
	};

	if (setlocale(LC_ALL, "C.UTF-8") == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
