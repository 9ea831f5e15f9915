/* image cache naming and checksum lists (util/checksum, ops/image). */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ops/image.h"
#include "util/checksum.h"
#include "util/err.h"

#define ABC256 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define ABC512 "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" \
	"2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"

static void
test_parse(void **state)
{
	struct checksum c;
	char buf[CHECKSUM_TEXT_MAX + 1];

	(void)state;
	assert_int_equal(checksum_parse("sha256:" ABC256, &c), 0);
	assert_int_equal(c.algo, CHECKSUM_SHA256);
	assert_string_equal(c.hex, ABC256);
	/* Upper-case hex and algorithm are read, written lower-case. */
	assert_int_equal(checksum_parse("SHA256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", &c), 0);
	checksum_format(&c, buf, sizeof buf);
	assert_string_equal(buf, "sha256:" ABC256);
	assert_int_equal(checksum_parse("sha512:" ABC512, &c), 0);
	assert_int_equal(c.algo, CHECKSUM_SHA512);
	/* Wrong lengths, digits, algorithms. */
	assert_int_equal(checksum_parse("sha256:" ABC512, &c), -1);
	assert_non_null(strstr(err_get(), "64 hex digits"));
	assert_int_equal(checksum_parse("sha256:zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", &c), -1);
	assert_int_equal(checksum_parse("md5:900150983cd24fb0d6963f7d28e17f72", &c), -1);
	assert_int_equal(checksum_parse(ABC256, &c), -1);
	assert_int_equal(checksum_parse("", &c), -1);
}

static void
test_list(void **state)
{
	static const char gnu[] =
	    "0000000000000000000000000000000000000000000000000000000000000000  other.img\n"
	    ABC256 "  noble-server-cloudimg-amd64.img.bak\n"
	    ABC256 " *noble-server-cloudimg-amd64.img\r\n";
	static const char sha512[] =
	    ABC512 "  debian-12-genericcloud-amd64.json\n"
	    ABC512 "  debian-12-genericcloud-amd64.qcow2\n";
	static const char bsd[] =
	    "# Fedora-Cloud-41-1.4-x86_64-CHECKSUM\n"
	    "SHA256 (Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2) = " ABC256 "\n";
	struct checksum c;

	(void)state;
	assert_int_equal(checksum_list_find(gnu, "noble-server-cloudimg-amd64.img", &c), 0);
	assert_int_equal(c.algo, CHECKSUM_SHA256);
	assert_string_equal(c.hex, ABC256);
	assert_int_equal(checksum_list_find(gnu, "other.img", &c), 0);
	assert_string_equal(c.hex, "0000000000000000000000000000000000000000000000000000000000000000");
	/* A name that is only a prefix of a line's name does not match. */
	assert_int_equal(checksum_list_find(gnu, "noble-server-cloudimg", &c), -1);
	assert_non_null(strstr(err_get(), "no line for 'noble-server-cloudimg'"));
	assert_int_equal(checksum_list_find(sha512, "debian-12-genericcloud-amd64.qcow2", &c), 0);
	assert_int_equal(c.algo, CHECKSUM_SHA512);
	assert_string_equal(c.hex, ABC512);
	assert_int_equal(checksum_list_find(bsd, "Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2", &c), 0);
	assert_string_equal(c.hex, ABC256);
	assert_int_equal(checksum_list_find(bsd, "Fedora-Cloud-Base-Generic-41-1.4.x86_64", &c), -1);
	assert_int_equal(checksum_list_find("", "x", &c), -1);
	assert_int_equal(checksum_list_find(gnu, "", &c), -1);
}

static void
test_file(void **state)
{
	char *dir = unit_tmpdir(), path[512];
	struct checksum c;
	FILE *fp;

	(void)state;
	snprintf(path, sizeof path, "%s/f", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("abc", fp);
	fclose(fp);
	assert_int_equal(checksum_file(path, CHECKSUM_SHA256, NULL, &c), 0);
	assert_string_equal(c.hex, ABC256);
	assert_int_equal(checksum_file(path, CHECKSUM_SHA512, NULL, &c), 0);
	assert_string_equal(c.hex, ABC512);
	checksum_buf("abc", 3, CHECKSUM_SHA256, &c);
	assert_string_equal(c.hex, ABC256);
	snprintf(path, sizeof path, "%s/missing", dir);
	assert_int_equal(checksum_file(path, CHECKSUM_SHA256, NULL, &c), -1);
	unit_rmdir(dir);
}

static void
test_naming(void **state)
{
	struct checksum a, b;
	char *n1, *n2, *f;

	(void)state;
	/* Named by checksum: the same image under two URLs is one file. */
	assert_int_equal(checksum_parse("sha256:" ABC256, &a), 0);
	assert_int_equal(checksum_parse("SHA256:" ABC256, &b), 0);
	n1 = image_cache_name(&a);
	n2 = image_cache_name(&b);
	assert_string_equal(n1, "sha256-" ABC256);
	assert_string_equal(n1, n2);
	free(n1);
	free(n2);
	assert_int_equal(checksum_parse("sha512:" ABC512, &a), 0);
	n1 = image_cache_name(&a);
	assert_string_equal(n1, "sha512-" ABC512);
	free(n1);
	/* The file name a checksum list is searched for. */
	f = image_url_file("https://cloud.debian.org/images/cloud/bookworm/latest/"
	    "debian-12-genericcloud-amd64.qcow2");
	assert_string_equal(f, "debian-12-genericcloud-amd64.qcow2");
	free(f);
	f = image_url_file("http://127.0.0.1:8000/d/img.qcow2?token=a/b#frag");
	assert_string_equal(f, "img.qcow2");
	free(f);
	f = image_url_file("http://host");
	assert_string_equal(f, "");
	free(f);
	f = image_url_file("http://host/dir/");
	assert_string_equal(f, "");
	free(f);
}

/* An index an older vmtty wrote has an entry per URL and template, two
 * for one file pulled for a template and by its URL: read, they are one
 * image, with every address and template, verified if one address was. */
static void
test_index_one_per_file(void **state)
{
	char dir[] = "/tmp/vmtty-unit-image.XXXXXX", path[256];
	struct image_entry *e;
	size_t n;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	setenv("XDG_CACHE_HOME", dir, 1);
	snprintf(path, sizeof path, "%s/vmtty", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/vmtty/images", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/vmtty/images/index.json", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("{ \"images\": ["
	    "{ \"file\": \"sha256-" ABC256 "\", \"name\": \"a.qcow2\", \"url\": \"http://h/a.qcow2\","
	    " \"checksum\": \"sha256:" ABC256 "\", \"template\": \"t\", \"size\": 3,"
	    " \"fetched\": 10, \"verified\": 1 },"
	    "{ \"file\": \"sha256-" ABC256 "\", \"name\": \"a.qcow2\", \"url\": \"http://h/a.qcow2\","
	    " \"checksum\": \"sha256:" ABC256 "\", \"size\": 3, \"fetched\": 20, \"verified\": 1 },"
	    "{ \"file\": \"sha256-" ABC256 "\", \"name\": \"b.qcow2\", \"url\": \"http://m/b.qcow2\","
	    " \"checksum\": \"sha256:" ABC256 "\", \"size\": 3, \"fetched\": 15, \"verified\": 0 },"
	    "{ \"file\": \"sha512-" ABC512 "\", \"name\": \"c.img\", \"url\": \"http://h/c.img\","
	    " \"checksum\": \"sha512:" ABC512 "\", \"template\": \"u\", \"size\": 5,"
	    " \"fetched\": 30, \"verified\": 0 } ] }\n", f);
	fclose(f);
	assert_int_equal(image_list(&e, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(e[0].file, "sha256-" ABC256);
	assert_int_equal(e[0].n_urls, 2);
	assert_string_equal(e[0].urls[0].url, "http://h/a.qcow2");
	assert_string_equal(e[0].urls[0].name, "a.qcow2");
	assert_true(e[0].urls[0].verified);
	assert_string_equal(e[0].urls[1].name, "b.qcow2");
	assert_false(e[0].urls[1].verified);
	assert_int_equal(e[0].n_templates, 1);
	assert_string_equal(e[0].templates[0], "t");
	assert_true(e[0].verified);
	assert_int_equal(e[0].fetched, 20);
	assert_int_equal(e[0].size, 3);
	assert_string_equal(e[1].file, "sha512-" ABC512);
	assert_int_equal(e[1].n_urls, 1);
	assert_string_equal(e[1].templates[0], "u");
	assert_false(e[1].verified);
	image_entries_free(e, n);
	unlink(path);
	snprintf(path, sizeof path, "%s/vmtty/images", dir);
	rmdir(path);
	snprintf(path, sizeof path, "%s/vmtty", dir);
	rmdir(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_naming),
		cmocka_unit_test(test_index_one_per_file),
	};

	return cmocka_run_group_tests_name("image", tests, NULL, NULL);
}
