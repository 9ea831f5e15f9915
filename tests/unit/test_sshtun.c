/* sshtun: what a libvirt ssh URI says about the ssh side (the harness's
 * real URIs are tested end to end in tests/integration/test_vnc_libvirt.sh),
 * and ssh's own words when the far end cannot be reached. */
#include "unit.h"

#include "hv/sshtun.h"
#include "util/err.h"

static void
test_full_uri(void **state)
{
	struct sshtun_target t;

	(void)state;
	assert_int_equal(sshtun_parse("h", "qemu+ssh://root@10.0.0.5:2222/system?keyfile=/k/id%20x"
	    "&no_verify=1&command=/opt/my%2Bssh&socket=/run/x", &t), 0);
	assert_string_equal(t.program, "/opt/my+ssh");
	assert_string_equal(t.user, "root");
	assert_string_equal(t.host, "10.0.0.5");
	assert_string_equal(t.port, "2222");
	assert_string_equal(t.keyfile, "/k/id x");
	assert_null(t.known_hosts);
	assert_true(t.no_verify);
	sshtun_target_clear(&t);
}

static void
test_plain_and_ipv6(void **state)
{
	struct sshtun_target t;

	(void)state;
	assert_int_equal(sshtun_parse("h", "qemu+ssh://kvm1/system", &t), 0);
	assert_string_equal(t.program, "ssh");
	assert_null(t.user);
	assert_string_equal(t.host, "kvm1");
	assert_null(t.port);
	assert_false(t.no_verify);
	sshtun_target_clear(&t);
	assert_int_equal(sshtun_parse("h", "qemu+libssh://me@[fd00::1]:22/system?"
	    "known_hosts=/kh&known_hosts_verify=ignore", &t), 0);
	assert_string_equal(t.user, "me");
	assert_string_equal(t.host, "fd00::1");
	assert_string_equal(t.port, "22");
	assert_string_equal(t.known_hosts, "/kh");
	assert_true(t.no_verify);
	sshtun_target_clear(&t);
}

static void
test_not_ssh(void **state)
{
	struct sshtun_target t;

	(void)state;
	assert_int_equal(sshtun_parse("h1", "qemu+tcp://kvm1/system", &t), -1);
	assert_non_null(strstr(err_get(), "host 'h1': 'qemu+tcp://kvm1/system' is not an ssh URI"));
	assert_int_equal(sshtun_parse("h1", "qemu:///system", &t), -1);
	assert_int_equal(sshtun_parse("h2", "qemu+ssh:///system", &t), -1);
	assert_non_null(strstr(err_get(), "host 'h2': cannot find the remote machine"));
	assert_null(sshtun_new("h1", "qemu+tls://kvm1/system"));
}

/* A program that fails like ssh does: its stderr ends up in the sentence. */
static void
test_failure_words(void **state)
{
	char *dir = unit_tmpdir(), *prog, *uri;
	struct sshtun *s;
	FILE *f;
	int fd = -1;

	(void)state;
	assert_int_equal(asprintf(&prog, "%s/fake-ssh", dir), (int)strlen(dir) + 9);
	f = fopen(prog, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\necho 'channel 0: open failed: administratively prohibited: open "
	    "failed' >&2\nexit 255\n", f);
	fclose(f);
	chmod(prog, 0755);
	setenv("VMTTY_RUNTIME_DIR", dir, 1);
	assert_true(asprintf(&uri, "qemu+ssh://u@kvm1/system?command=%s", prog) > 0);
	s = sshtun_new("kvm1", uri);
	assert_non_null(s);
	assert_int_equal(sshtun_open(s, "127.0.0.1", 5900, "the graphical display of VM 'g1'",
	    &fd), -1);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(err_get(), "host 'kvm1': cannot reach the graphical display of VM "
	    "'g1' (127.0.0.1:5900 on the host) through ssh: channel 0: open failed: "
	    "administratively prohibited: open failed; check that"));
	sshtun_free(s);
	free(uri);
	free(prog);
	unit_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_uri),
		cmocka_unit_test(test_plain_and_ipv6),
		cmocka_unit_test(test_not_ssh),
		cmocka_unit_test(test_failure_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
