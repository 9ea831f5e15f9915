#include "model/tuning.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/vm.h"
#include "util/err.h"
#include "util/num.h"
#include "util/xalloc.h"

/* Pins as a table: slot 0 is "all", slot 1 + V is vCPU V. */
struct pins {
	bool has[VM_MAX_CPUS + 1];
	struct cpuset set[VM_MAX_CPUS + 1];
};

#define PINS_MAX_TEXT (16 * 1024)

/* C's stored pins ("all:0-1;0:2;1:3") into P.  0, or -1 + err. */
static int
pins_read(const struct vm_config *c, struct pins *p)
{
	const char *s = c->tuning.vcpu_pins;

	memset(p, 0, sizeof *p);
	if (s == NULL || *s == '\0')
		return 0;
	for (;;) {
		size_t len = strcspn(s, ";");
		const char *colon = memchr(s, ':', len);
		char num[8], set[PINS_MAX_TEXT];
		long long v;
		int slot;

		if (colon == NULL || (size_t)(colon - s) >= sizeof num ||
		    (size_t)(s + len - colon - 1) >= sizeof set)
			goto bad;
		memcpy(num, s, (size_t)(colon - s));
		num[colon - s] = '\0';
		memcpy(set, colon + 1, (size_t)(s + len - colon - 1));
		set[s + len - colon - 1] = '\0';
		if (strcmp(num, "all") == 0)
			slot = 0;
		else if (num_parse(num, 0, VM_MAX_CPUS - 1, &v) == 0)
			slot = 1 + (int)v;
		else
			goto bad;
		if (p->has[slot] || cpuset_parse(set, &p->set[slot]) != 0)
			goto bad;
		p->has[slot] = true;
		if (s[len] == '\0')
			break;
		s += len + 1;
	}
	return 0;
bad:
	return err_set("VM '%s': its vCPU pins '%s' are not of the form VCPU:CPUS;... "
	    "(e.g. 0:0-3,6;1:1); set them again with 'vmtty tune %s --pin all:off --pin ...'",
	    c->name, c->tuning.vcpu_pins, c->name);
}

/* P in canonical form into C (NULL when there is no pin). */
static void
pins_write(struct vm_config *c, const struct pins *p)
{
	char *out = xcalloc(1, PINS_MAX_TEXT * 2);
	size_t n = 0;

	for (int slot = 0; slot <= VM_MAX_CPUS; slot++) {
		char set[PINS_MAX_TEXT];

		if (!p->has[slot])
			continue;
		cpuset_format(&p->set[slot], set, sizeof set);
		if (slot == 0)
			n += (size_t)snprintf(out + n, PINS_MAX_TEXT * 2 - n, "%sall:%s",
			    n > 0 ? ";" : "", set);
		else
			n += (size_t)snprintf(out + n, PINS_MAX_TEXT * 2 - n, "%s%d:%s",
			    n > 0 ? ";" : "", slot - 1, set);
	}
	free(c->tuning.vcpu_pins);
	c->tuning.vcpu_pins = n > 0 ? xstrdup(out) : NULL;
	free(out);
}

int64_t
tuning_floor_mib(int64_t memory_mib)
{
	int64_t floor = memory_mib / 8 > 64 ? memory_mib / 8 : 64;

	return floor < memory_mib ? floor : memory_mib;
}

int64_t
tuning_balloon_floor_mib(const struct vm_config *c)
{
	return tuning_floor_mib(c->memory_mib);
}

int
tuning_vcpu_pin(const struct vm_config *c, int vcpu, struct cpuset *set)
{
	struct pins *p = xcalloc(1, sizeof *p);
	int rc = 0;

	cpuset_zero(set);
	if (vcpu >= 0 && vcpu < VM_MAX_CPUS && pins_read(c, p) == 0) {
		if (p->has[1 + vcpu]) {
			*set = p->set[1 + vcpu];
			rc = 1;
		} else if (p->has[0]) {
			*set = p->set[0];
			rc = 1;
		}
	}
	free(p);
	return rc;
}

int
tuning_emulator_pin(const struct vm_config *c, struct cpuset *set)
{
	cpuset_zero(set);
	return c->tuning.emulator_pin != NULL && cpuset_parse(c->tuning.emulator_pin, set) == 0;
}

int
tuning_set_pin(struct vm_config *c, const char *spec)
{
	const char *colon = strchr(spec, ':');
	struct pins *p;
	struct cpuset set;
	char num[8];
	long long v;
	int slot, cpus = vm_config_cpus(c);
	bool off;

	if (colon == NULL || (size_t)(colon - spec) >= sizeof num)
		return err_set("pin '%s': give VCPU:CPUS, such as 0:2 or all:0-3 (or 1:off)", spec);
	memcpy(num, spec, (size_t)(colon - spec));
	num[colon - spec] = '\0';
	if (strcmp(num, "all") == 0)
		slot = 0;
	else if (num_parse(num, 0, cpus - 1, &v) == 0)
		slot = 1 + (int)v;
	else
		return err_set("pin '%s': '%s' is not a vCPU of VM '%s'; give 0 to %d or all",
		    spec, num, c->name, cpus - 1);
	off = strcmp(colon + 1, "off") == 0;
	if (!off && cpuset_parse(colon + 1, &set) != 0)
		return err_set("pin '%s': '%s' is not a list of host CPUs; give numbers and "
		    "ranges such as 0-3,6 (below %d)", spec, colon + 1, CPUSET_MAX);
	p = xcalloc(1, sizeof *p);
	if (pins_read(c, p) != 0) {
		/* Pins that no longer read are replaced by an "all" change. */
		if (slot != 0) {
			free(p);
			return -1;
		}
		memset(p, 0, sizeof *p);
		err_clear();
	}
	if (slot == 0)	/* all: every vCPU's own pin goes */
		memset(p, 0, sizeof *p);
	p->has[slot] = !off;
	if (!off)
		p->set[slot] = set;
	pins_write(c, p);
	free(p);
	return 0;
}

/* The slot SPEC pins (0 all, 1 + V vCPU V), or -1 when it does not read. */
static int
pin_slot(const char *spec)
{
	const char *colon = strchr(spec, ':');
	char num[8];
	long long v;

	if (colon == NULL || (size_t)(colon - spec) >= sizeof num)
		return -1;
	memcpy(num, spec, (size_t)(colon - spec));
	num[colon - spec] = '\0';
	if (strcmp(num, "all") == 0)
		return 0;
	return num_parse(num, 0, VM_MAX_CPUS - 1, &v) == 0 ? 1 + (int)v : -1;
}

int
tuning_pins_distinct(const char *const *specs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int slot = pin_slot(specs[i]);

		for (size_t j = i + 1; slot >= 0 && j < n; j++) {
			if (pin_slot(specs[j]) != slot)
				continue;
			if (slot == 0)
				return err_set("every vCPU is pinned twice, '%s' and '%s'; give all: "
				    "once", specs[i], specs[j]);
			return err_set("vCPU %d is pinned twice, '%s' and '%s'; give one pin for "
			    "each vCPU", slot - 1, specs[i], specs[j]);
		}
	}
	return 0;
}

int
tuning_set_emulator_pin(struct vm_config *c, const char *spec)
{
	struct cpuset set;
	char buf[PINS_MAX_TEXT];

	if (strcmp(spec, "off") == 0) {
		free(c->tuning.emulator_pin);
		c->tuning.emulator_pin = NULL;
		return 0;
	}
	if (cpuset_parse(spec, &set) != 0)
		return err_set("emulator pin: '%s' is not a list of host CPUs; give numbers and "
		    "ranges such as 0-3,6 (below %d), or off", spec, CPUSET_MAX);
	cpuset_format(&set, buf, sizeof buf);
	free(c->tuning.emulator_pin);
	c->tuning.emulator_pin = xstrdup(buf);
	return 0;
}

int
tuning_parse_hugepages(const char *s, int64_t *kib)
{
	long long v;

	if (strcmp(s, "off") == 0) {
		*kib = 0;
		return 0;
	}
	if (s[0] != '\0' && strspn(s, "0123456789") == strlen(s))
		return err_set("hugepages: '%s' has no unit; give a page size with its unit, 2M "
		    "or 1G (what the host offers: 'vmtty host info'), or off", s);
	/* A page size is a power of two from 4 KiB to 16 GiB. */
	if (num_parse_size(s, 20, 10, 16LL * 1024 * 1024, &v) != 0 || v < 4 || (v & (v - 1)) != 0)
		return err_set("hugepages: '%s' is not a page size; give 2M or 1G (what the host "
		    "offers: 'vmtty host info'), or off", s);
	*kib = v;
	return 0;
}

void
tuning_format_pagesize(int64_t kib, char *buf, size_t len)
{
	if (kib >= 1024 * 1024 && kib % (1024 * 1024) == 0)
		snprintf(buf, len, "%lldG", (long long)(kib / (1024 * 1024)));
	else if (kib >= 1024 && kib % 1024 == 0)
		snprintf(buf, len, "%lldM", (long long)(kib / 1024));
	else
		snprintf(buf, len, "%lldK", (long long)kib);
}

int
tuning_parse_balloon(const struct vm_config *c, const char *s, int64_t *mib)
{
	long long v;
	int64_t floor = tuning_balloon_floor_mib(c);

	if (num_parse_size(s, 20, 20, VM_MAX_MEMORY_MIB, &v) != 0)
		return err_set("balloon: '%s' is not a size; give MiB, or a size such as 384M or "
		    "2G", s);
	if (v < floor || v > c->memory_mib)
		return err_set("balloon: %lld MiB is outside what VM '%s' allows, %lld to %lld "
		    "MiB (its memory; raise it with --max-memory)", v, c->name, (long long)floor,
		    (long long)c->memory_mib);
	*mib = v;
	return 0;
}

int
tuning_validate(const struct vm_config *c)
{
	struct pins *p = xcalloc(1, sizeof *p);
	struct cpuset set;
	int rc = pins_read(c, p), cpus = vm_config_cpus(c);

	for (int v = cpus; rc == 0 && v < VM_MAX_CPUS; v++)
		if (p->has[1 + v])
			rc = err_set("VM '%s' has %d vCPUs but a pin for vCPU %d; take it away "
			    "with 'vmtty tune %s --pin %d:off'", c->name, cpus, v, c->name, v);
	free(p);
	if (rc != 0)
		return -1;
	if (c->tuning.emulator_pin != NULL && cpuset_parse(c->tuning.emulator_pin, &set) != 0)
		return err_set("VM '%s': its emulator pin '%s' is not a list of host CPUs",
		    c->name, c->tuning.emulator_pin);
	if (c->tuning.hugepage_kib < 0 || (c->tuning.hugepage_kib != 0 &&
	    (c->tuning.hugepage_kib < 4 || (c->tuning.hugepage_kib & (c->tuning.hugepage_kib - 1)))))
		return err_set("VM '%s': hugepage size %lld KiB is not a page size", c->name,
		    (long long)c->tuning.hugepage_kib);
	if (c->tuning.hugepage_kib > 0 && (c->memory_mib * 1024) % c->tuning.hugepage_kib != 0) {
		char ps[16];

		tuning_format_pagesize(c->tuning.hugepage_kib, ps, sizeof ps);
		return err_set("VM '%s': its memory, %lld MiB, is not a whole number of %s pages; "
		    "change one of them", c->name, (long long)c->memory_mib, ps);
	}
	if (c->tuning.balloon_mib != 0 && (c->tuning.balloon_mib < tuning_balloon_floor_mib(c) ||
	    c->tuning.balloon_mib > c->memory_mib))
		return err_set("VM '%s': its balloon target, %lld MiB, is outside %lld to %lld MiB "
		    "(its memory); set another with 'vmtty tune %s --balloon SIZE'", c->name,
		    (long long)c->tuning.balloon_mib, (long long)tuning_balloon_floor_mib(c),
		    (long long)c->memory_mib, c->name);
	return 0;
}
