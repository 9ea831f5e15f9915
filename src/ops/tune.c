#include "ops/tune.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hv/hv.h"
#include "model/tuning.h"
#include "model/vm.h"
#include "util/cpuset.h"
#include "util/err.h"

/* Append ", " (unless BUF is empty) and FMT's text to BUF. */
static void __attribute__((format(printf, 3, 4)))
add(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	snprintf(buf + n, len - n, "%s", n > 0 ? ", " : "");
	n = strlen(buf);
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

/* Every host CPU of SET that HI does not have: -1 + err naming the first. */
static int
check_cpus(const struct hv_host_info *hi, const struct cpuset *set, const char *what)
{
	struct cpuset have;
	char buf[256];

	cpuset_zero(&have);
	for (size_t i = 0; i < hi->ncpu; i++)
		cpuset_add(&have, hi->cpu[i].cpu);
	if (hi->ncpu == 0)
		return 0;	/* the host did not say: it refuses a wrong one itself */
	for (int cpu = 0; cpu < CPUSET_MAX; cpu++) {
		if (cpuset_has(set, cpu) && !cpuset_has(&have, cpu)) {
			cpuset_format(&have, buf, sizeof buf);
			return err_set("%s: the host has no CPU %d; its CPUs are %s", what, cpu, buf);
		}
	}
	return 0;
}

static int
check_host(const struct tune_req *r, const struct vm_config *c, const struct hv_host_info *hi)
{
	struct cpuset set;
	char what[64];

	for (int v = 0; v < vm_config_cpus(c); v++) {
		snprintf(what, sizeof what, "pin of vCPU %d", v);
		if (tuning_vcpu_pin(c, v, &set) == 1 && check_cpus(hi, &set, what) != 0)
			return -1;
	}
	if (tuning_emulator_pin(c, &set) == 1 && check_cpus(hi, &set, "emulator pin") != 0)
		return -1;
	if (r->hugepages != NULL && c->tuning.hugepage_kib > 0) {
		char sizes[128] = "", ps[16];

		for (size_t i = 0; i < hi->npools; i++) {
			if (hi->pools[i].size_kib == c->tuning.hugepage_kib)
				return 0;
			tuning_format_pagesize(hi->pools[i].size_kib, ps, sizeof ps);
			add(sizes, sizeof sizes, "%s", ps);
		}
		tuning_format_pagesize(c->tuning.hugepage_kib, ps, sizeof ps);
		if (hi->npools == 0)
			return err_set("hugepages: the host offers no hugepages; give off");
		return err_set("hugepages: the host offers no %s pages; it has %s", ps, sizes);
	}
	return 0;
}

int
tune_apply(struct tune_req *r, struct vm_config *c, const struct hv_host_info *hi)
{
	char buf[64];

	r->changes[0] = r->pending[0] = '\0';
	r->live = 0;
	if (r->max_memory != NULL) {
		if (vm_parse_memory(r->max_memory, &c->memory_mib) != 0)
			return err_prefix("max memory");
		snprintf(buf, sizeof buf, "%lld MiB", (long long)c->memory_mib);
		add(r->changes, sizeof r->changes, "max memory %s", buf);
		add(r->pending, sizeof r->pending, "max memory");
	}
	/* One pin for each vCPU; "all" first, so that a vCPU's own pin given
	 * with it wins over it whatever the order. */
	if (tuning_pins_distinct(r->pins, r->npins) != 0)
		return -1;
	for (int all = 1; all >= 0; all--)
		for (size_t i = 0; i < r->npins; i++)
			if ((strncmp(r->pins[i], "all:", 4) == 0) == all &&
			    tuning_set_pin(c, r->pins[i]) != 0)
				return -1;
	if (r->npins > 0) {
		add(r->changes, sizeof r->changes, "pins %s",
		    c->tuning.vcpu_pins != NULL ? c->tuning.vcpu_pins : "none");
		r->live |= HV_TUNE_PINS;
	}
	if (r->emulator_pin != NULL) {
		if (tuning_set_emulator_pin(c, r->emulator_pin) != 0)
			return -1;
		add(r->changes, sizeof r->changes, "emulator pin %s",
		    c->tuning.emulator_pin != NULL ? c->tuning.emulator_pin : "none");
		r->live |= HV_TUNE_PINS;
	}
	if (r->hugepages != NULL) {
		if (tuning_parse_hugepages(r->hugepages, &c->tuning.hugepage_kib) != 0)
			return -1;
		tuning_format_pagesize(c->tuning.hugepage_kib, buf, sizeof buf);
		add(r->changes, sizeof r->changes, "hugepages %s",
		    c->tuning.hugepage_kib > 0 ? buf : "off");
		add(r->pending, sizeof r->pending, "hugepages");
	}
	if (r->balloon != NULL) {
		if (tuning_parse_balloon(c, r->balloon, &c->tuning.balloon_mib) != 0)
			return -1;
		snprintf(buf, sizeof buf, "%lld MiB", (long long)c->tuning.balloon_mib);
		add(r->changes, sizeof r->changes, "balloon %s", buf);
		r->live |= HV_TUNE_BALLOON;
	} else if (r->max_memory != NULL && c->tuning.balloon_mib > c->memory_mib) {
		/* A lower maximum takes the balloon target down with it. */
		c->tuning.balloon_mib = 0;
	} else if (r->max_memory != NULL && c->tuning.balloon_mib > 0 &&
	    c->tuning.balloon_mib < tuning_balloon_floor_mib(c)) {
		/* A higher one would leave it below its floor: say what to give. */
		return err_set("max memory: with %lld MiB the balloon of VM '%s' may not go below "
		    "%lld MiB (the larger of 64 MiB and an eighth), but its target is %lld MiB; "
		    "give a new target along with it (--balloon from %lld to %lld MiB)",
		    (long long)c->memory_mib, c->name, (long long)tuning_balloon_floor_mib(c),
		    (long long)c->tuning.balloon_mib, (long long)tuning_balloon_floor_mib(c),
		    (long long)c->memory_mib);
	}
	if (r->changes[0] == '\0')
		return err_set("nothing to change; give --pin, --emulator-pin, --hugepages, "
		    "--balloon or --max-memory");
	if (vm_config_validate(c) != 0)
		return -1;
	return hi != NULL ? check_host(r, c, hi) : 0;
}

bool
tune_balloon_range(const struct vm_config *c, int64_t running_mib, int64_t *lo, int64_t *hi)
{
	*lo = tuning_balloon_floor_mib(c);
	*hi = c->memory_mib;
	if (running_mib > 0) {
		if (tuning_floor_mib(running_mib) > *lo)
			*lo = tuning_floor_mib(running_mib);
		if (running_mib < *hi)
			*hi = running_mib;
	}
	return *lo <= *hi;
}

/*
 * A running VM keeps the memory it started with (its running maximum, as
 * the host says it; OLD's memory when it cannot say): the balloon target
 * C gives it now must lie between that memory's floor and that memory,
 * whatever maximum waits for its next start.
 */
static int
check_running_balloon(struct hv *hv, const struct vm_config *old, const struct vm_config *c)
{
	struct hv_tune_state ts;
	int64_t run = old->memory_mib, want = c->tuning.balloon_mib;

	if (hv_tune_state(hv, c, &ts) == 0 && ts.max_kib > 0)
		run = ts.max_kib / 1024;
	hv_tune_state_clear(&ts);
	err_clear();
	if (want > run)
		return err_set("balloon: VM '%s' runs with %lld MiB; a target above that waits "
		    "for a restart with the new maximum, so give at most %lld MiB now", c->name,
		    (long long)run, (long long)run);
	if (want < tuning_floor_mib(run))
		return err_set("balloon: %lld MiB is below the floor of VM '%s' while it runs with "
		    "%lld MiB; give at least %lld MiB (the larger of 64 MiB and an eighth)",
		    (long long)want, c->name, (long long)run, (long long)tuning_floor_mib(run));
	return 0;
}

int
tune_pin(const struct vm_config *c, const struct hv_tune_state *ts, int v, struct cpuset *set)
{
	if ((v < 0 ? tuning_emulator_pin(c, set) : tuning_vcpu_pin(c, v, set)) == 1)
		return 1;
	if (ts != NULL && v < 0 && ts->emulator_known && ts->emulator_pinned) {
		*set = ts->emulator;
		return 1;
	}
	if (ts != NULL && v >= 0 && (size_t)v < ts->nvcpu && ts->vcpu[v].pinned) {
		*set = ts->vcpu[v].affinity;
		return 1;
	}
	cpuset_zero(set);
	return 0;
}

/* What of the VM's tuning R changes (HV_TUNE_*): the live part, and the
 * parts that wait for its next start. */
static unsigned
tune_what(const struct tune_req *r)
{
	return r->live | (r->hugepages != NULL ? HV_TUNE_HUGEPAGES : 0) |
	    (r->max_memory != NULL ? HV_TUNE_MAXMEM : 0);
}

int
tune_run(struct hv *hv, struct tune_req *r, const struct vm_config *old,
    struct vm_config *c, bool *running)
{
	struct hv_status st;

	*running = hv_status(hv, c, &st) == 0 && st.state != HV_OFF && st.state != HV_CRASHED;
	r->state = *running ? hv_state_name(st.state) : "off";
	err_clear();
	if (*running && (r->live & HV_TUNE_BALLOON) && check_running_balloon(hv, old, c) != 0)
		return -1;
	/* Only the parts asked for: never a whole new definition, which would
	 * lose all that the inventory does not know of a libvirt domain. */
	if (hv_tune(hv, c, tune_what(r)) != 0) {
		tune_undo(hv, r, old);
		return -1;
	}
	return 0;
}

void
tune_undo(struct hv *hv, const struct tune_req *r, const struct vm_config *old)
{
	char keep[1024];

	snprintf(keep, sizeof keep, "%s", err_get());
	hv_tune(hv, old, tune_what(r));
	err_set("%s", keep);
}
