/* VM templates: the shipped ones, bad files (tests/data/templates/bad),
 * sizes, lookup and overriding across directories, and template_apply. */
#include "unit.h"

#include <dirent.h>

#include "model/template.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/xalloc.h"

#define SHIPPED "share/templates"
#define FIXTURES "tests/data/templates"

/* Write TEXT to DIR/FILE. */
static void
write_file(const char *dir, const char *file, const char *text)
{
	char *path = xasprintf("%s/%s", dir, file);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	free(path);
}

/* A one-line message that starts "template 'PATH', line LINE: " (or
 * "template 'PATH': " for LINE 0) and has WANT in it. */
static void
assert_message(const char *msg, const char *path, int line, const char *want)
{
	char *prefix = line > 0 ? xasprintf("template '%s', line %d: ", path, line) :
	    xasprintf("template '%s': ", path);

	if (strncmp(msg, prefix, strlen(prefix)) != 0 || strstr(msg, want) == NULL ||
	    strchr(msg, '\n') != NULL)
		fail_msg("message \"%s\" should start \"%s\" and have \"%s\"", msg, prefix, want);
	free(prefix);
}

/* Every shipped template loads, makes a valid VM, and the list has the
 * ones the documentation promises. */
static void
test_shipped(void **state)
{
	static const char *const names[] = { "alpine-iso", "blank", "debian-12-cloud",
		"fedora-cloud", "freebsd-iso", "microvm-linux", "tiny-linux", "ubuntu-24.04-cloud",
		"windows-11" };
	const char *dirs[] = { SHIPPED, NULL };
	struct template *v;
	size_t n, ne, files = 0;
	struct dirent *de;
	char **errors;
	DIR *d;

	(void)state;
	assert_non_null(d = opendir(SHIPPED));
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		struct template t;
		struct vm_config c;
		char *path;

		if (len < 5 || strcmp(de->d_name + len - 4, ".ini") != 0)
			continue;
		files++;
		path = xasprintf("%s/%s", SHIPPED, de->d_name);
		if (template_load_file(path, &t) != 0)
			fail_msg("%s", err_get());
		assert_string_equal(t.file, path);
		assert_int_equal(strncmp(de->d_name, t.name, len - 4), 0);
		assert_non_null(t.label);
		vm_config_init(&c);
		c.name = xstrdup(t.name);
		template_apply(&t, &c);
		if (t.source == TPL_KERNEL)
			c.kernel = xstrdup("/boot/vmlinuz");
		if (vm_config_validate(&c) != 0)
			fail_msg("%s: %s", path, err_get());
		vm_config_clear(&c);
		template_clear(&t);
		free(path);
	}
	closedir(d);

	assert_int_equal(template_list(dirs, &v, &n, &errors, &ne), 0);
	assert_int_equal(ne, 0);
	assert_int_equal(n, files);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		size_t j;

		for (j = 0; j < n && strcmp(v[j].name, names[i]) != 0; j++)
			;
		if (j == n)
			fail_msg("no shipped template '%s'", names[i]);
	}
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(v[i - 1].name, v[i].name) < 0);
	template_list_free(v, n);
	template_errors_free(errors, ne);
}

/* A few shipped templates, key by key. */
static void
test_shipped_values(void **state)
{
	const char *dirs[] = { SHIPPED, NULL };
	struct template t;

	(void)state;
	assert_int_equal(template_find(dirs, "windows-11", &t), 0);
	assert_string_equal(t.firmware, "uefi");
	assert_string_equal(t.disk_bus, "sata");
	assert_string_equal(t.nic_model, "e1000e");
	assert_int_equal(t.memory_mib, 4096);
	assert_int_equal(t.disk_gib, 64);
	assert_int_equal(t.source, TPL_ISO);
	template_clear(&t);

	assert_int_equal(template_find(dirs, "tiny-linux", &t), 0);
	assert_int_equal(t.source, TPL_KERNEL);
	assert_string_equal(t.cmdline, "console=ttyS0");
	assert_int_equal(t.disk_gib, 0);
	assert_int_equal(t.memory_mib, 256);
	assert_non_null(strstr(t.notes, "about 4 s under TCG."));
	template_clear(&t);

	assert_int_equal(template_find(dirs, "microvm-linux", &t), 0);
	assert_int_equal(t.source, TPL_KERNEL);
	assert_string_equal(t.machine, "microvm");
	assert_string_equal(t.graphics, "none");
	assert_string_equal(t.disk_bus, "virtio");
	assert_string_equal(t.nic_model, "virtio-net");
	assert_string_equal(t.cmdline, "console=ttyS0");
	template_clear(&t);

	assert_int_equal(template_find(dirs, "debian-12-cloud", &t), 0);
	assert_int_equal(t.source, TPL_CLOUD_IMAGE);
	assert_string_equal(template_source_name(t.source), "cloud-image");
	assert_int_equal(strncmp(t.url, "https://cloud.debian.org/", 25), 0);
	assert_string_equal(t.checksum_url,
	    "https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS");
	assert_null(t.checksum);
	assert_int_equal(t.memory_mib, 2048);
	assert_int_equal(t.disk_gib, 20);
	template_clear(&t);
}

/* Each bad file fails with one line naming the file, the line and the
 * problem. */
static void
test_bad_files(void **state)
{
	static const struct {
		const char *file;
		int line;
		const char *want;
	} cases[] = {
		{ "syntax.ini", 5, "expected '[section]', 'key = value' or a comment" },
		{ "unclosed-section.ini", 3, "no closing ']'" },
		{ "unknown-key.ini", 3, "key 'cpu' is not known in [machine]; use one of: "
		    "type, firmware, accel, cpus, memory" },
		{ "unknown-section.ini", 4, "section [machin] is not known; use one of: "
		    "[template], [machine], [disk], [network], [graphics], [install]" },
		{ "empty-header.ini", 2, "section [] is not known" },
		{ "header-text.ini", 1, "unexpected text after the section header" },
		{ "bad-enum.ini", 3, "'bus' in [disk] is 'usb', which is not known; use one of: "
		    "virtio, scsi, sata, ide, nvme" },
		{ "empty-enum.ini", 2, "'type' in [machine] has no value; use one of: q35, pc" },
		{ "cpus-zero.ini", 2, "'cpus' in [machine] is '0'; give a whole number from 1 to 256" },
		{ "cpus-huge.ini", 2, "'cpus' in [machine] is '257'" },
		{ "memory-zero.ini", 3, "'memory' in [machine] is '0'; give MiB from 1 to" },
		{ "memory-fraction.ini", 2, "'memory' in [machine] is '1.5G'" },
		{ "disk-huge.ini", 2, "'size' in [disk] is '65T'; give GiB from 0 (no disk) to 65536" },
		{ "dup-section.ini", 7, "section [machine] appears again (first on line 3)" },
		{ "dup-key.ini", 4, "'cpus' in [machine] is given again (first on line 2)" },
		{ "name-mismatch.ini", 2, "the name 'something-else' is not the file's name "
		    "'name-mismatch'" },
		{ "key-outside.ini", 1, "'cpus' comes before any section" },
		{ "forward-bridge.ini", 4, "'forward' in [network] needs 'mode = user', not 'bridge'" },
		{ "bad-forward.ini", 2, "port forward 'tcp:22' is not of the form" },
		{ "cmdline-iso.ini", 3, "'cmdline' in [install] is only for 'source = kernel', "
		    "not 'iso'" },
		{ "continuation.ini", 3, "goes on with the value of 'cpus'; only 'notes' may span" },
		{ "bridge-no-source.ini", 3, "'mode = bridge' in [network] needs 'source'" },
		{ "source-user.ini", 3, "'source' in [network] is only for the modes bridge and "
		    "network, not 'user'" },
		{ "long-line.ini", 2, "the line is longer than 197 characters" },
		{ "bad-url.ini", 3, "'url' in [install] is 'ftp://example.org/x.iso'" },
		{ "url-kernel.ini", 3, "'url' in [install] is only for the sources" },
		{ "bad-checksum.ini", 4, "'checksum' in [install] is 'sha256:abc'; checksum "
		    "'sha256:...' must have 64 hex digits" },
		{ "checksum-no-url.ini", 3, "'checksum_url' in [install] verifies the image at "
		    "'url'; give the url too" },
		{ "bad-checksum-url.ini", 4, "'checksum_url' in [install] is 'file:///SHA256SUMS'" },
		{ "disk-size-disk.ini", 2, "'size' in [disk] must be 0 with 'source = disk'" },
	};
	size_t nfiles = 0;
	struct dirent *de;
	DIR *d;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *path = xasprintf(FIXTURES "/bad/%s", cases[i].file);
		struct template t;

		err_clear();
		if (template_load_file(path, &t) != -1)
			fail_msg("'%s' loaded", path);
		assert_message(err_get(), path, cases[i].line, cases[i].want);
		assert_null(t.name);
		free(path);
	}
	/* Every fixture is in the table. */
	assert_non_null(d = opendir(FIXTURES "/bad"));
	while ((de = readdir(d)) != NULL)
		nfiles += de->d_name[0] != '.';
	closedir(d);
	assert_int_equal(nfiles, sizeof cases / sizeof cases[0]);
}

/* Problems that are easier made on the fly: bytes, names, file kinds. */
static void
test_bad_generated(void **state)
{
	char *dir = unit_tmpdir(), *path, big[70000];
	struct template t;

	(void)state;
	write_file(dir, "ctl.ini", "[template]\nlabel = a\033[2Jb\n");
	path = xasprintf("%s/ctl.ini", dir);
	assert_int_equal(template_load_file(path, &t), -1);
	assert_message(err_get(), path, 2,
	    "the value of 'label', 'a\\x1b[2Jb', has a control character");

	write_file(dir, "ctl.ini", "[template]\nla\033bel = x\n");
	assert_int_equal(template_load_file(path, &t), -1);
	assert_message(err_get(), path, 2, "the key 'la\\x1bbel' has a control character");
	write_file(dir, "ctl.ini", "[machine]\ncpus = 1\n[dis\033k]\n");
	assert_int_equal(template_load_file(path, &t), -1);
	assert_message(err_get(), path, 3,
	    "the section header '[dis\\x1bk]' has a control character");
	/* Bytes that are not UTF-8, and C1 controls (U+009B is an 8-bit CSI),
	 * are quoted escaped: the message stays one line of UTF-8. */
	write_file(dir, "ctl.ini", "[template]\nlabel = ok\xff\n");
	assert_int_equal(template_load_file(path, &t), -1);
	assert_message(err_get(), path, 2, "the value of 'label', 'ok\\xff', is not UTF-8");
	write_file(dir, "ctl.ini", "[template]\nlabel = a\xc2\x9b" "2J\n");
	assert_int_equal(template_load_file(path, &t), -1);
	assert_message(err_get(), path, 2,
	    "the value of 'label', 'a\\u009b2J', has a control character");
	write_file(dir, "ctl.ini", "[template]\nlabel = caf\xc3\xa9\tok\n");
	assert_int_equal(template_load_file(path, &t), 0);
	template_clear(&t);
	free(path);

	write_file(dir, "-dash.ini", "");
	path = xasprintf("%s/-dash.ini", dir);
	assert_int_equal(template_load_file(path, &t), -1);
	assert_message(err_get(), path, 0, "template name '-dash' starts with '-'");
	free(path);

	write_file(dir, "x.conf", "");
	path = xasprintf("%s/x.conf", dir);
	assert_int_equal(template_load_file(path, &t), -1);
	assert_message(err_get(), path, 0, "the file name must end in '.ini'");
	free(path);

	memset(big, '#', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	write_file(dir, "big.ini", big);
	path = xasprintf("%s/big.ini", dir);
	assert_int_equal(template_load_file(path, &t), -1);
	assert_non_null(strstr(err_get(), "is larger than 65536 bytes"));
	free(path);

	path = xasprintf("%s/none.ini", dir);
	assert_int_equal(template_load_file(path, &t), -1);
	assert_non_null(strstr(err_get(), "cannot open template"));
	assert_non_null(strstr(err_get(), "No such file"));
	free(path);

	path = xasprintf("%s/d.ini", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(template_load_file(path, &t), -1);
	assert_non_null(strstr(err_get(), "is not a regular file"));
	free(path);

	/* A NUL byte: written by hand, fputs would stop at it. */
	path = xasprintf("%s/nul.ini", dir);
	{
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		assert_int_equal(fwrite("[machine]\ncpus = 1\0\n", 1, 20, f), 20);
		fclose(f);
	}
	assert_int_equal(template_load_file(path, &t), -1);
	assert_non_null(strstr(err_get(), "has a NUL byte"));
	free(path);
	unit_rmdir(dir);
}

/* Memory in MiB and disk sizes in GiB, with and without units. */
static void
test_sizes(void **state)
{
	static const struct {
		const char *key;	/* "memory" or "size" */
		const char *value;
		int64_t want;		/* -1: refused */
	} cases[] = {
		{ "memory", "512", 512 },
		{ "memory", "512M", 512 },
		{ "memory", "512 MiB", -1 },	/* one size grammar: no spaces */
		{ "memory", "2G", 2048 },
		{ "memory", "2gib", 2048 },
		{ "memory", "4T", 4194304 },
		{ "memory", "5T", -1 },
		{ "memory", "4194305", -1 },
		{ "memory", "1", 1 },
		{ "memory", "0M", -1 },
		{ "memory", "-1", -1 },
		{ "memory", "+1", -1 },
		{ "memory", "1K", -1 },
		{ "memory", "1MB", -1 },
		{ "memory", "G", -1 },
		{ "memory", "99999999999999999999", -1 },
		{ "size", "0", 0 },
		{ "size", "20", 20 },
		{ "size", "20G", 20 },
		{ "size", "1024M", 1 },
		{ "size", "1000M", -1 },
		{ "size", "1T", 1024 },
		{ "size", "64T", 65536 },
		{ "size", "65537", -1 },
		{ "size", "", -1 },
	};
	char *dir = unit_tmpdir(), *path = xasprintf("%s/s.ini", dir);

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		bool memory = strcmp(cases[i].key, "memory") == 0;
		char *text = xasprintf("[%s]\n%s = %s\n", memory ? "machine" : "disk",
		    cases[i].key, cases[i].value);
		struct template t;
		int rc;

		write_file(dir, "s.ini", text);
		rc = template_load_file(path, &t);
		if (cases[i].want == -1) {
			if (rc != -1)
				fail_msg("%s = '%s' was accepted", cases[i].key, cases[i].value);
			assert_message(err_get(), path, 2, cases[i].key);
		} else {
			if (rc != 0)
				fail_msg("%s = '%s': %s", cases[i].key, cases[i].value, err_get());
			assert_int_equal(memory ? t.memory_mib : t.disk_gib, cases[i].want);
			template_clear(&t);
		}
		free(text);
	}
	free(path);
	unit_rmdir(dir);
}

/* Defaults, comments, CRLF, a BOM, literal quotes, notes over lines. */
static void
test_syntax_details(void **state)
{
	char *dir = unit_tmpdir(), *path;
	struct template t;

	(void)state;
	assert_int_equal(template_load_file(FIXTURES "/good/minimal.ini", &t), 0);
	assert_string_equal(t.name, "minimal");
	assert_string_equal(t.label, "minimal");
	assert_null(t.notes);
	assert_string_equal(t.machine, "q35");
	assert_string_equal(t.firmware, "bios");
	assert_string_equal(t.accel, "auto");
	assert_int_equal(t.cpus, 1);
	assert_int_equal(t.memory_mib, 512);
	assert_int_equal(t.disk_gib, 0);
	assert_string_equal(t.disk_bus, "virtio");
	assert_string_equal(t.disk_format, "qcow2");
	assert_string_equal(t.net_mode, "user");
	assert_string_equal(t.nic_model, "virtio-net");
	assert_null(t.net_source);
	assert_null(t.forwards);
	assert_string_equal(t.graphics, "vnc");
	assert_int_equal(t.source, TPL_EMPTY);
	assert_null(t.url);
	assert_null(t.cmdline);
	template_clear(&t);

	write_file(dir, "crlf.ini", "\xef\xbb\xbf[template]\r\nlabel = \"Quoted\"  ; comment\r\n"
	    "notes = one\r\n  two\r\n\r\n  three\r\n# comment\r\n; comment\r\n[machine]\r\n"
	    "cpus=2;no space, so not a comment\r\n");
	path = xasprintf("%s/crlf.ini", dir);
	assert_int_equal(template_load_file(path, &t), -1);
	assert_message(err_get(), path, 10, "'cpus' in [machine] is '2;no space, so not a comment'");
	write_file(dir, "crlf.ini", "\xef\xbb\xbf[template]\r\nlabel = \"Quoted\"  ; comment\r\n"
	    "notes = one\r\n  two\r\n\r\n  three\r\n# comment\r\n; comment\r\n[machine]\r\n"
	    "  cpus = 2 ; indented first key\r\nmemory: 64\r\n");
	assert_int_equal(template_load_file(path, &t), 0);
	assert_string_equal(t.label, "\"Quoted\"");
	assert_string_equal(t.notes, "one two three");
	assert_int_equal(t.cpus, 2);
	assert_int_equal(t.memory_mib, 64);
	template_clear(&t);
	free(path);
	unit_rmdir(dir);
}

/* A template's file, as a string for write_file. */
static char *
tpl_text(int cpus, const char *label)
{
	return xasprintf("[template]\nlabel = %s\n[machine]\ncpus = %d\n", label, cpus);
}

/* Later directories win by name; missing ones are skipped. */
static void
test_override(void **state)
{
	char *sys = unit_tmpdir(), *user = unit_tmpdir(), *text, *missing;
	const char *dirs[4];
	struct template *v, t;
	size_t n, ne;
	char **errors;

	(void)state;
	missing = xasprintf("%s/nope", sys);
	dirs[0] = sys;
	dirs[1] = missing;
	dirs[2] = user;
	dirs[3] = NULL;
	write_file(sys, "alpha.ini", text = tpl_text(1, "System alpha"));
	free(text);
	write_file(sys, "beta.ini", text = tpl_text(1, "System beta"));
	free(text);
	write_file(user, "alpha.ini", text = tpl_text(2, "My alpha"));
	free(text);
	write_file(user, "gamma.ini", text = tpl_text(3, "My gamma"));
	free(text);
	/* Not templates: other suffixes, hidden files, directories. */
	write_file(user, "delta.ini~", "junk");
	write_file(user, ".hidden.ini", "junk");
	write_file(user, "README", "junk");
	text = xasprintf("%s/dir.ini", user);
	assert_int_equal(mkdir(text, 0700), 0);
	free(text);

	assert_int_equal(template_list(dirs, &v, &n, &errors, &ne), 0);
	assert_int_equal(ne, 0);
	assert_null(errors);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].name, "alpha");
	assert_string_equal(v[0].label, "My alpha");
	assert_int_equal(v[0].cpus, 2);
	text = xasprintf("%s/alpha.ini", user);
	assert_string_equal(v[0].file, text);
	free(text);
	assert_string_equal(v[1].name, "beta");
	assert_string_equal(v[1].label, "System beta");
	assert_string_equal(v[2].name, "gamma");
	template_list_free(v, n);

	assert_int_equal(template_find(dirs, "alpha", &t), 0);
	assert_string_equal(t.label, "My alpha");
	template_clear(&t);
	assert_int_equal(template_find(dirs, "beta", &t), 0);
	assert_string_equal(t.label, "System beta");
	template_clear(&t);
	assert_int_equal(template_find(dirs, "dir", &t), -1);
	assert_non_null(strstr(err_get(), "no template named 'dir'"));
	assert_int_equal(template_find(dirs, "zeta", &t), -1);
	text = xasprintf("no template named 'zeta' in '%s', '%s' or '%s'", sys, missing, user);
	assert_string_equal(err_get(), text);
	free(text);
	assert_int_equal(template_find(dirs, "../alpha", &t), -1);
	assert_non_null(strstr(err_get(), "template name '../alpha' starts with '.'"));
	assert_int_equal(template_find(dirs, "x/alpha", &t), -1);
	assert_non_null(strstr(err_get(), "contains '/'"));

	/* Errors may be dropped. */
	assert_int_equal(template_list(dirs, &v, &n, NULL, NULL), 0);
	assert_int_equal(n, 3);
	template_list_free(v, n);
	free(missing);
	unit_rmdir(sys);
	unit_rmdir(user);
}

/* A broken file is reported; the good ones load; a broken override hides
 * the template it overrides, as template_find would. */
static void
test_broken_next_to_good(void **state)
{
	char *sys = unit_tmpdir(), *user = unit_tmpdir(), *text;
	const char *dirs[] = { sys, user, NULL };
	struct template *v, t;
	size_t n, ne;
	char **errors;

	(void)state;
	write_file(sys, "alpha.ini", text = tpl_text(1, "System alpha"));
	free(text);
	write_file(sys, "beta.ini", text = tpl_text(1, "System beta"));
	free(text);
	write_file(user, "alpha.ini", "[machine]\ncpus = many\n");
	write_file(user, "broken.ini", "[machine\n");
	write_file(user, "gamma.ini", text = tpl_text(3, "My gamma"));
	free(text);

	assert_int_equal(template_list(dirs, &v, &n, &errors, &ne), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "beta");
	assert_string_equal(v[1].name, "gamma");
	assert_int_equal(ne, 2);
	text = xasprintf("%s/alpha.ini", user);
	assert_message(errors[0], text, 2, "'cpus' in [machine] is 'many'");
	free(text);
	text = xasprintf("%s/broken.ini", user);
	assert_message(errors[1], text, 1, "no closing ']'");
	free(text);
	template_list_free(v, n);
	template_errors_free(errors, ne);

	assert_int_equal(template_find(dirs, "alpha", &t), -1);
	assert_non_null(strstr(err_get(), "'many'"));
	unit_rmdir(sys);
	unit_rmdir(user);
}

/* template_apply fills what the template says and nothing else. */
static void
test_apply(void **state)
{
	const char *dirs[] = { SHIPPED, NULL };
	struct template t;
	struct vm_config c;

	(void)state;
	assert_int_equal(template_load_file(FIXTURES "/good/full.ini", &t), 0);
	assert_string_equal(t.notes, "First line, second line. Third, after a tab.");
	assert_int_equal(t.disk_gib, 2048);
	vm_config_init(&c);
	c.name = xstrdup("vm1");
	template_apply(&t, &c);
	assert_string_equal(c.name, "vm1");
	assert_string_equal(c.machine, "pc");
	assert_string_equal(c.firmware, "uefi");
	assert_string_equal(c.accel, "tcg");
	assert_int_equal(c.sockets, 3);
	assert_int_equal(c.cores, 1);
	assert_int_equal(c.threads, 1);
	assert_int_equal(vm_config_cpus(&c), 3);
	assert_int_equal(c.memory_mib, 1024);
	assert_string_equal(c.graphics, "none");
	assert_int_equal(c.nnics, 1);
	assert_string_equal(c.nics[0].kind, "bridge");
	assert_string_equal(c.nics[0].model, "e1000");
	assert_string_equal(c.nics[0].source, "br0");
	assert_null(c.nics[0].forwards);
	assert_null(c.nics[0].mac);
	assert_string_equal(c.cmdline, "console=ttyS0 quiet \"x=y\"");
	assert_null(c.kernel);
	assert_int_equal(c.ndisks, 0);
	assert_string_equal(c.template_name, "full");
	assert_null(c.notes);
	c.kernel = xstrdup("/boot/vmlinuz");
	assert_int_equal(vm_config_validate(&c), 0);
	vm_config_clear(&c);
	template_clear(&t);

	/* User networking with forwards; no NIC for mode none; an ISO has no
	 * command line. */
	assert_int_equal(template_find(dirs, "tiny-linux", &t), 0);
	free(t.forwards);
	t.forwards = xstrdup("tcp:2222:22");
	vm_config_init(&c);
	c.name = xstrdup("vm2");
	template_apply(&t, &c);
	assert_int_equal(c.nnics, 1);
	assert_string_equal(c.nics[0].kind, "user");
	assert_string_equal(c.nics[0].model, "virtio-net");
	assert_null(c.nics[0].source);
	assert_string_equal(c.nics[0].forwards, "tcp:2222:22");
	assert_string_equal(c.cmdline, "console=ttyS0");
	assert_int_equal(c.memory_mib, 256);
	vm_config_clear(&c);
	free(t.net_mode);
	t.net_mode = xstrdup("none");
	t.source = TPL_ISO;
	vm_config_init(&c);
	c.name = xstrdup("vm3");
	template_apply(&t, &c);
	assert_int_equal(c.nnics, 0);
	assert_null(c.cmdline);
	assert_int_equal(vm_config_validate(&c), 0);
	vm_config_clear(&c);
	template_clear(&t);
}

/* System data first, the user's config last. */
static void
test_dirs(void **state)
{
	char **dirs;
	size_t n;

	(void)state;
	setenv("XDG_CONFIG_HOME", "/nonexistent/cfg", 1);
	dirs = template_dirs();
	for (n = 0; dirs[n] != NULL; n++)
		;
	assert_in_range(n, 2, 3);
	assert_string_equal(dirs[0], VMTTY_DATADIR "/templates");
	assert_string_equal(dirs[n - 1], "/nonexistent/cfg/vmtty/templates");
	if (n == 3) {
		size_t len = strlen(dirs[1]);

		assert_true(len > 16 && strcmp(dirs[1] + len - 16, "/share/templates") == 0);
	}
	template_dirs_free(dirs);
	assert_string_equal(template_source_name(TPL_KERNEL), "kernel");
	assert_string_equal(template_source_name(TPL_EMPTY), "empty");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped),
		cmocka_unit_test(test_shipped_values),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_bad_generated),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_syntax_details),
		cmocka_unit_test(test_override),
		cmocka_unit_test(test_broken_next_to_good),
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_dirs),
	};

	return cmocka_run_group_tests_name("template", tests, NULL, NULL);
}
