/* ops/tune without a host: a request read into a copy of the VM's
 * configuration (tune_apply) and the balloon targets a VM may take while
 * it runs with the memory it started with (tune_balloon_range). */
#include "unit.h"

#include "model/vm.h"
#include "ops/tune.h"
#include "util/err.h"
#include "util/xalloc.h"

static void
vm(struct vm_config *c, int cpus, int64_t mib, int64_t balloon)
{
	vm_config_init(c);
	c->name = xstrdup("t");
	c->host = xstrdup("local");
	c->kernel = xstrdup("/boot/vmlinuz");
	c->sockets = cpus;
	c->cores = c->threads = 1;
	c->memory_mib = mib;
	c->tuning.balloon_mib = balloon;
}

/* A higher maximum whose floor is above the stored balloon target is
 * refused, saying what to give; a lower one takes the target down. */
static void
test_max_memory(void **state)
{
	struct tune_req r = { 0 };
	struct vm_config c;

	(void)state;
	vm(&c, 1, 256, 160);
	r.max_memory = "2048M";
	assert_int_equal(tune_apply(&r, &c, NULL), -1);
	assert_string_equal(err_get(), "max memory: with 2048 MiB the balloon of VM 't' may not "
	    "go below 256 MiB (the larger of 64 MiB and an eighth), but its target is 160 MiB; "
	    "give a new target along with it (--balloon from 256 to 2048 MiB)");
	vm_config_clear(&c);

	vm(&c, 1, 256, 160);
	r.balloon = "512M";
	assert_int_equal(tune_apply(&r, &c, NULL), 0);
	assert_int_equal(c.memory_mib, 2048);
	assert_int_equal(c.tuning.balloon_mib, 512);
	vm_config_clear(&c);

	vm(&c, 1, 256, 160);
	r.balloon = NULL;
	r.max_memory = "32M";
	assert_int_equal(tune_apply(&r, &c, NULL), 0);
	assert_int_equal(c.memory_mib, 32);
	assert_int_equal(c.tuning.balloon_mib, 0);
	vm_config_clear(&c);
}

/* Pins: one for each vCPU; "all" first, whatever the order given. */
static void
test_pins(void **state)
{
	const char *const twice[] = { "0:1", "1:1", "0:2" };
	const char *const all_last[] = { "1:1", "all:0" };
	struct tune_req r = { 0 };
	struct vm_config c;

	(void)state;
	vm(&c, 2, 256, 0);
	r.pins = twice;
	r.npins = 3;
	assert_int_equal(tune_apply(&r, &c, NULL), -1);
	assert_string_equal(err_get(), "vCPU 0 is pinned twice, '0:1' and '0:2'; give one pin "
	    "for each vCPU");
	assert_null(c.tuning.vcpu_pins);
	r.pins = all_last;
	r.npins = 2;
	assert_int_equal(tune_apply(&r, &c, NULL), 0);
	assert_string_equal(c.tuning.vcpu_pins, "all:0;1:1");
	vm_config_clear(&c);
}

static void
test_balloon_range(void **state)
{
	struct vm_config c;
	int64_t lo, hi;

	(void)state;
	vm(&c, 1, 256, 0);
	/* Off: the configuration's floor to its memory. */
	assert_true(tune_balloon_range(&c, 0, &lo, &hi));
	assert_int_equal(lo, 64);
	assert_int_equal(hi, 256);
	/* Running with 256 MiB, 32 pending: nothing fits both. */
	c.memory_mib = 32;
	assert_false(tune_balloon_range(&c, 256, &lo, &hi));
	/* Running with 256 MiB, 2048 pending: 256 (2048's floor) to 256. */
	c.memory_mib = 2048;
	assert_true(tune_balloon_range(&c, 256, &lo, &hi));
	assert_int_equal(lo, 256);
	assert_int_equal(hi, 256);
	/* Running with 1024 MiB, 512 pending: 128 to 512. */
	c.memory_mib = 512;
	assert_true(tune_balloon_range(&c, 1024, &lo, &hi));
	assert_int_equal(lo, 128);
	assert_int_equal(hi, 512);
	vm_config_clear(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_max_memory),
		cmocka_unit_test(test_pins),
		cmocka_unit_test(test_balloon_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
