/* One grammar for every size and count vmtty reads: util/num itself, and
 * each entry point that takes a size (create --memory and --disk-size, the
 * wizard's fields, edit --memory/--new-disk/--resize-disk and the edit form
 * through vmedit_apply, template keys) accepts the same forms and refuses
 * the same ones. */
#include "unit.h"

#include <fcntl.h>
#include <limits.h>

#include "ops/provision.h"
#include "ops/vmedit.h"
#include "model/template.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/num.h"
#include "util/xalloc.h"

/* Sizes: a form, and its bytes when every reader takes it (0: refused by
 * all).  Bare digits mean MiB for memory and GiB for disks, so only forms
 * with a unit have one value for all. */
static const struct {
	const char *s;
	long long bytes;
} sizes[] = {
	{ "2G", 2LL << 30 }, { "2g", 2LL << 30 }, { "2GiB", 2LL << 30 }, { "2gib", 2LL << 30 },
	{ "4096M", 4LL << 30 }, { "4096MiB", 4LL << 30 }, { "1T", 1LL << 40 },
	{ "1tib", 1LL << 40 }, { "3072m", 3LL << 30 }, { "2097152K", 2LL << 30 },
	{ "", 0 }, { "G", 0 }, { "2 G", 0 }, { " 2G", 0 }, { "2G ", 0 }, { "-2G", 0 },
	{ "+2G", 0 }, { "1.5G", 0 }, { "2GB", 0 }, { "2Gi", 0 }, { "2iB", 0 }, { "0x10G", 0 },
	{ "2e3", 0 }, { "2G2", 0 }, { "99999999999999999999G", 0 }, { "9223372036854775807T", 0 },
	{ "2\tG", 0 }, { "2\nG", 0 }, { "２G", 0 },
};

/* Each reader of a size: 0 and the bytes, or -1. */
static int
by_memory(const char *s, long long *bytes)
{
	int64_t mib;

	if (vm_parse_memory(s, &mib) != 0)
		return -1;
	*bytes = mib << 20;
	return 0;
}

static int
by_disk(const char *s, long long *bytes)
{
	int64_t b;

	if (provision_parse_size(s, &b) != 0)
		return -1;
	*bytes = b;
	return 0;
}

/* vmedit_apply on a VM with one disk: --memory, --new-disk, --resize-disk. */
static int
by_edit(const char *field, const char *s, long long *bytes)
{
	struct vmedit e = { 0 };
	struct vm_config c;
	char *spec = xasprintf("0:%s", s);
	int rc;

	vm_config_init(&c);
	c.name = xstrdup("n");
	vm_config_add_disk(&c, "/img/n.qcow2");
	if (strcmp(field, "memory") == 0)
		e.memory = s;
	else if (strcmp(field, "new") == 0)
		e.new_disk = s;
	else
		e.resize_disk = spec;
	rc = vmedit_apply(&e, &c);
	if (rc == 0)
		*bytes = strcmp(field, "memory") == 0 ? c.memory_mib << 20 :
		    strcmp(field, "new") == 0 ? e.new_bytes : e.resize_bytes;
	vmedit_clear(&e);
	vm_config_clear(&c);
	free(spec);
	return rc;
}

/* A template with KEY = S in its section. */
static int
by_template(const char *dir, const char *key, const char *s, long long *bytes)
{
	char *path = xasprintf("%s/n.ini", dir);
	char *text = xasprintf("[%s]\n%s = %s\n", strcmp(key, "memory") == 0 ? "machine" : "disk",
	    key, s);
	struct template t;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), rc;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	rc = template_load_file(path, &t);
	if (rc == 0) {
		*bytes = strcmp(key, "memory") == 0 ? t.memory_mib << 20 : t.disk_gib << 30;
		template_clear(&t);
	}
	free(text);
	free(path);
	return rc;
}

static void
test_sizes_agree(void **state)
{
	char *dir = unit_tmpdir();

	(void)state;
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		const char *s = sizes[i].s;
		const char *names[] = { "create --memory / wizard memory", "create --disk-size / "
			"wizard disk size", "edit --memory", "edit --new-disk", "edit --resize-disk",
			"template memory", "template disk size" };
		long long got[7] = { 0 };
		int rc[7];

		rc[0] = by_memory(s, &got[0]);
		rc[1] = by_disk(s, &got[1]);
		rc[2] = by_edit("memory", s, &got[2]);
		rc[3] = by_edit("new", s, &got[3]);
		rc[4] = by_edit("resize", s, &got[4]);
		/* An INI value has its outer blanks trimmed, and ends at a newline:
		 * those forms say nothing of the size grammar there. */
		bool ini = strcspn(s, "\n") == strlen(s) && s[0] != ' ' &&
		    (s[0] == '\0' || s[strlen(s) - 1] != ' ');
		int nk = ini ? 7 : 5;

		rc[5] = ini ? by_template(dir, "memory", s, &got[5]) : 0;
		rc[6] = ini ? by_template(dir, "size", s, &got[6]) : 0;
		for (int k = 0; k < nk; k++) {
			if (sizes[i].bytes == 0 && rc[k] == 0)
				fail_msg("%s took '%s'", names[k], s);
			if (sizes[i].bytes != 0 && rc[k] != 0)
				fail_msg("%s refused '%s': %s", names[k], s, err_get());
			if (sizes[i].bytes != 0 && got[k] != sizes[i].bytes)
				fail_msg("%s read '%s' as %lld bytes, not %lld", names[k], s, got[k],
				    sizes[i].bytes);
		}
	}
	unit_rmdir(dir);
}

/* Bare digits: MiB for memory, GiB for disks, everywhere. */
static void
test_bare_units(void **state)
{
	char *dir = unit_tmpdir();
	long long b;

	(void)state;
	assert_int_equal(by_memory("512", &b), 0);
	assert_int_equal(b, 512LL << 20);
	assert_int_equal(by_edit("memory", "512", &b), 0);
	assert_int_equal(b, 512LL << 20);
	assert_int_equal(by_template(dir, "memory", "512", &b), 0);
	assert_int_equal(b, 512LL << 20);
	assert_int_equal(by_disk("20", &b), 0);
	assert_int_equal(b, 20LL << 30);
	assert_int_equal(by_edit("new", "20", &b), 0);
	assert_int_equal(b, 20LL << 30);
	assert_int_equal(by_template(dir, "size", "20", &b), 0);
	assert_int_equal(b, 20LL << 30);
	unit_rmdir(dir);
}

static void
test_counts(void **state)
{
	static const struct {
		const char *s;
		int ok;
	} cases[] = {
		{ "1", 1 }, { "256", 1 }, { "007", 1 }, { "0", 0 }, { "257", 0 }, { "", 0 },
		{ "-1", 0 }, { "+1", 0 }, { " 1", 0 }, { "1 ", 0 }, { "1x", 0 }, { "0x1", 0 },
		{ "99999999999999999999", 0 },
	};
	long long v;
	int cpus;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int a = vm_parse_cpus(cases[i].s, &cpus) == 0;
		int b = num_parse(cases[i].s, 1, VM_MAX_CPUS, &v) == 0;

		if (a != cases[i].ok || b != cases[i].ok)
			fail_msg("CPUs '%s': vm_parse_cpus %d, num_parse %d, wanted %d", cases[i].s,
			    a, b, cases[i].ok);
	}
	assert_int_equal(num_parse("9223372036854775807", 0, LLONG_MAX, &v), -1);
	assert_int_equal(num_parse("999999999999999999", 0, LLONG_MAX, &v), 0);
	assert_int_equal(v, 999999999999999999LL);
	/* The overflow a shift would make is refused, not wrapped. */
	assert_int_equal(num_parse_size("8388608T", 30, 0, LLONG_MAX, &v), -1);
	assert_int_equal(num_parse_size("8388607T", 30, 0, LLONG_MAX, &v), 0);
	assert_int_equal(v, 8388607LL << 40);
}

/* Sizes as the CLI and the TUI print them: bytes whole, one decimal from
 * KiB up, TiB the largest unit, "?" for an unknown (negative) size. */
static void
test_format_bytes(void **state)
{
	static const struct {
		int64_t bytes;
		const char *want;
	} cases[] = {
		{ -1, "?" },
		{ 0, "0 B" },
		{ 1023, "1023 B" },
		{ 1024, "1.0 KiB" },
		{ 1000000, "976.6 KiB" },
		{ 1536LL << 20, "1.5 GiB" },
		{ 3LL << 40, "3.0 TiB" },
		{ 5000LL << 40, "5000.0 TiB" },
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		num_format_bytes(cases[i].bytes, buf, sizeof buf);
		assert_string_equal(buf, cases[i].want);
	}
	/* A short buffer is cut, never overrun. */
	num_format_bytes(1536LL << 20, buf, 4);
	assert_string_equal(buf, "1.5");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes_agree),
		cmocka_unit_test(test_bare_units),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_format_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
