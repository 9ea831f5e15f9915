/* Host CPU sets as Linux and libvirt write them, and a VM's tuning rules:
 * pins merged one at a time into their canonical form, hugepage sizes,
 * the balloon's floor and ceiling. */
#include "unit.h"

#include "model/tuning.h"
#include "model/vm.h"
#include "util/cpuset.h"
#include "util/err.h"
#include "util/xalloc.h"

static void
test_cpuset(void **state)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{ "0", "0" }, { "0-3", "0-3" }, { "6,0-3", "0-3,6" }, { "0-7,^4", "0-3,5-7" },
		{ "1,2,3", "1-3" }, { "3-3", "3" }, { "1023", "1023" }, { "0,0", "0" },
	};
	static const char *const bad[] = {
		"", ",", "0,", ",0", "a", "-1", "3-1", "0-", "-", "1024", "0 ", " 0", "^4",
		"0-3,^0-3", "0x1", "+1", "1--2", "0;1", "99999999999999999999",
	};
	struct cpuset s, t;
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		assert_int_equal(cpuset_parse(ok[i].in, &s), 0);
		cpuset_format(&s, buf, sizeof buf);
		assert_string_equal(buf, ok[i].out);
		assert_int_equal(cpuset_parse(buf, &t), 0);
		assert_true(cpuset_equal(&s, &t));
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(cpuset_parse(bad[i], &s), -1);
	assert_int_equal(cpuset_parse("0-3,6", &s), 0);
	assert_int_equal(cpuset_count(&s), 5);
	assert_int_equal(cpuset_last(&s), 6);
	assert_true(cpuset_has(&s, 2) && !cpuset_has(&s, 5) && !cpuset_has(&s, -1));
	/* A buffer too small for the whole set gets whole parts only. */
	cpuset_format(&s, buf, 4);
	assert_string_equal(buf, "0-3");
}

static void
vm(struct vm_config *c, int cpus, int64_t mib)
{
	vm_config_init(c);
	c->name = xstrdup("t");
	c->sockets = cpus;
	c->memory_mib = mib;
}

static void
test_pins(void **state)
{
	struct vm_config c;
	struct cpuset s;
	char buf[64];

	(void)state;
	vm(&c, 4, 1024);
	assert_int_equal(tuning_vcpu_pin(&c, 0, &s), 0);
	assert_int_equal(tuning_set_pin(&c, "1:6,0-3"), 0);
	assert_string_equal(c.tuning.vcpu_pins, "1:0-3,6");
	assert_int_equal(tuning_set_pin(&c, "0:2"), 0);
	assert_string_equal(c.tuning.vcpu_pins, "0:2;1:0-3,6");
	/* "all" replaces every pin; a vCPU's own pin then wins over it. */
	assert_int_equal(tuning_set_pin(&c, "all:4-5"), 0);
	assert_string_equal(c.tuning.vcpu_pins, "all:4-5");
	assert_int_equal(tuning_set_pin(&c, "3:1"), 0);
	assert_string_equal(c.tuning.vcpu_pins, "all:4-5;3:1");
	assert_int_equal(tuning_vcpu_pin(&c, 0, &s), 1);
	cpuset_format(&s, buf, sizeof buf);
	assert_string_equal(buf, "4-5");
	assert_int_equal(tuning_vcpu_pin(&c, 3, &s), 1);
	cpuset_format(&s, buf, sizeof buf);
	assert_string_equal(buf, "1");
	assert_int_equal(tuning_set_pin(&c, "3:off"), 0);
	assert_string_equal(c.tuning.vcpu_pins, "all:4-5");
	assert_int_equal(tuning_set_pin(&c, "all:off"), 0);
	assert_null(c.tuning.vcpu_pins);
	/* Refused, naming the pin, and nothing changes. */
	assert_int_equal(tuning_set_pin(&c, "4:0"), -1);
	assert_string_equal(err_get(), "pin '4:0': '4' is not a vCPU of VM 't'; give 0 to 3 or all");
	assert_int_equal(tuning_set_pin(&c, "0:x"), -1);
	assert_non_null(strstr(err_get(), "'x' is not a list of host CPUs"));
	assert_int_equal(tuning_set_pin(&c, "0"), -1);
	assert_int_equal(tuning_set_pin(&c, "-1:0"), -1);
	assert_int_equal(tuning_set_pin(&c, "0:3-1"), -1);
	assert_null(c.tuning.vcpu_pins);
	/* One pin for each vCPU (and for all) in one change. */
	{
		const char *const ok[] = { "all:0", "0:1", "1:2", "01:off" };
		const char *const twice[] = { "0:1", "1:2", "00:2" };
		const char *const all_twice[] = { "all:0", "1:1", "all:off" };

		assert_int_equal(tuning_pins_distinct(ok, 3), 0);
		assert_int_equal(tuning_pins_distinct(ok, 4), -1);
		assert_string_equal(err_get(), "vCPU 1 is pinned twice, '1:2' and '01:off'; give "
		    "one pin for each vCPU");
		assert_int_equal(tuning_pins_distinct(twice, 3), -1);
		assert_string_equal(err_get(), "vCPU 0 is pinned twice, '0:1' and '00:2'; give "
		    "one pin for each vCPU");
		assert_int_equal(tuning_pins_distinct(all_twice, 3), -1);
		assert_string_equal(err_get(), "every vCPU is pinned twice, 'all:0' and 'all:off'; "
		    "give all: once");
		/* What does not read is tuning_set_pin's to refuse. */
		assert_int_equal(tuning_pins_distinct((const char *const[]){ "x", "x" }, 2), 0);
	}
	assert_int_equal(tuning_set_emulator_pin(&c, "3,1-2"), 0);
	assert_string_equal(c.tuning.emulator_pin, "1-3");
	assert_int_equal(tuning_emulator_pin(&c, &s), 1);
	assert_int_equal(tuning_set_emulator_pin(&c, "1-"), -1);
	assert_string_equal(c.tuning.emulator_pin, "1-3");
	assert_int_equal(tuning_set_emulator_pin(&c, "off"), 0);
	assert_null(c.tuning.emulator_pin);
	/* Fewer vCPUs than a pin names: the configuration is refused. */
	assert_int_equal(tuning_set_pin(&c, "3:1"), 0);
	c.sockets = 2;
	assert_int_equal(vm_config_validate(&c), -1);
	assert_non_null(strstr(err_get(), "has 2 vCPUs but a pin for vCPU 3"));
	vm_config_clear(&c);
}

static void
test_memory(void **state)
{
	struct vm_config c;
	int64_t v;
	char buf[16];

	(void)state;
	vm(&c, 1, 256);
	assert_int_equal(tuning_parse_hugepages("2M", &v), 0);
	assert_int_equal(v, 2048);
	assert_int_equal(tuning_parse_hugepages("1G", &v), 0);
	assert_int_equal(v, 1024 * 1024);
	assert_int_equal(tuning_parse_hugepages("off", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(tuning_parse_hugepages("3M", &v), -1);
	assert_int_equal(tuning_parse_hugepages("2K", &v), -1);
	assert_int_equal(tuning_parse_hugepages("on", &v), -1);
	assert_non_null(strstr(err_get(), "hugepages: 'on' is not a page size"));
	/* A bare number has no unit: refused, not read as MiB (nor KiB). */
	assert_int_equal(tuning_parse_hugepages("2048", &v), -1);
	assert_string_equal(err_get(), "hugepages: '2048' has no unit; give a page size with "
	    "its unit, 2M or 1G (what the host offers: 'vmtty host info'), or off");
	assert_int_equal(tuning_parse_hugepages("2", &v), -1);
	assert_int_equal(tuning_parse_hugepages("2048K", &v), 0);
	assert_int_equal(v, 2048);
	tuning_format_pagesize(2048, buf, sizeof buf);
	assert_string_equal(buf, "2M");
	tuning_format_pagesize(1024 * 1024, buf, sizeof buf);
	assert_string_equal(buf, "1G");
	/* 256 MiB: the floor is 64 MiB; 16 GiB: an eighth, 2 GiB. */
	assert_int_equal(tuning_balloon_floor_mib(&c), 64);
	assert_int_equal(tuning_parse_balloon(&c, "160M", &v), 0);
	assert_int_equal(v, 160);
	assert_int_equal(tuning_parse_balloon(&c, "256", &v), 0);
	assert_int_equal(tuning_parse_balloon(&c, "257M", &v), -1);
	assert_string_equal(err_get(), "balloon: 257 MiB is outside what VM 't' allows, 64 to "
	    "256 MiB (its memory; raise it with --max-memory)");
	assert_int_equal(tuning_parse_balloon(&c, "63M", &v), -1);
	assert_int_equal(tuning_parse_balloon(&c, "1.5G", &v), -1);
	c.memory_mib = 16384;
	assert_int_equal(tuning_balloon_floor_mib(&c), 2048);
	/* max(64 MiB, memory / 8), never above the memory. */
	assert_int_equal(tuning_floor_mib(256), 64);
	assert_int_equal(tuning_floor_mib(520), 65);
	assert_int_equal(tuning_floor_mib(32), 32);
	assert_int_equal(tuning_floor_mib(1), 1);
	/* Memory that is not a whole number of pages is refused. */
	c.memory_mib = 1000;
	c.tuning.hugepage_kib = 1024 * 1024;
	assert_int_equal(vm_config_validate(&c), -1);
	assert_non_null(strstr(err_get(), "is not a whole number of 1G pages"));
	c.memory_mib = 2048;
	assert_int_equal(vm_config_validate(&c), 0);
	c.tuning.balloon_mib = 100;	/* below the floor of 256 */
	assert_int_equal(vm_config_validate(&c), -1);
	vm_config_clear(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpuset),
		cmocka_unit_test(test_pins),
		cmocka_unit_test(test_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
