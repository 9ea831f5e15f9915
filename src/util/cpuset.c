#include "util/cpuset.h"

#include <stdio.h>
#include <string.h>

#include "util/num.h"

void
cpuset_zero(struct cpuset *set)
{
	memset(set, 0, sizeof *set);
}

void
cpuset_add(struct cpuset *set, int cpu)
{
	if (cpu >= 0 && cpu < CPUSET_MAX)
		set->bits[cpu / 64] |= UINT64_C(1) << (cpu % 64);
}

static void
cpuset_del(struct cpuset *set, int cpu)
{
	if (cpu >= 0 && cpu < CPUSET_MAX)
		set->bits[cpu / 64] &= ~(UINT64_C(1) << (cpu % 64));
}

bool
cpuset_has(const struct cpuset *set, int cpu)
{
	return cpu >= 0 && cpu < CPUSET_MAX &&
	    (set->bits[cpu / 64] & (UINT64_C(1) << (cpu % 64))) != 0;
}

int
cpuset_count(const struct cpuset *set)
{
	int n = 0;

	for (size_t i = 0; i < sizeof set->bits / sizeof set->bits[0]; i++)
		n += __builtin_popcountll(set->bits[i]);
	return n;
}

int
cpuset_last(const struct cpuset *set)
{
	for (int cpu = CPUSET_MAX - 1; cpu >= 0; cpu--)
		if (cpuset_has(set, cpu))
			return cpu;
	return -1;
}

bool
cpuset_equal(const struct cpuset *a, const struct cpuset *b)
{
	return memcmp(a->bits, b->bits, sizeof a->bits) == 0;
}

/* One CPU number of LEN bytes at S. */
static int
cpu_number(const char *s, size_t len, long long *cpu)
{
	char buf[16];

	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return num_parse(buf, 0, CPUSET_MAX - 1, cpu);
}

int
cpuset_parse(const char *s, struct cpuset *out)
{
	cpuset_zero(out);
	if (s == NULL || *s == '\0')
		return -1;
	for (;;) {
		size_t len = strcspn(s, ",");
		bool neg = s[0] == '^';
		const char *p = s + (neg ? 1 : 0), *dash = memchr(p, '-', len - (neg ? 1 : 0));
		long long lo, hi;

		if (dash != NULL) {
			if (neg || cpu_number(p, (size_t)(dash - p), &lo) != 0 ||
			    cpu_number(dash + 1, (size_t)(s + len - dash - 1), &hi) != 0 || lo > hi)
				return -1;
		} else if (cpu_number(p, (size_t)(s + len - p), &lo) != 0) {
			return -1;
		} else {
			hi = lo;
		}
		for (long long c = lo; c <= hi; c++) {
			if (neg)
				cpuset_del(out, (int)c);
			else
				cpuset_add(out, (int)c);
		}
		if (s[len] == '\0')
			break;
		s += len + 1;
	}
	return cpuset_count(out) > 0 ? 0 : -1;
}

void
cpuset_format(const struct cpuset *set, char *buf, size_t len)
{
	size_t n = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (int c = 0; c < CPUSET_MAX; c++) {
		int e = c;
		int w;

		if (!cpuset_has(set, c))
			continue;
		while (e + 1 < CPUSET_MAX && cpuset_has(set, e + 1))
			e++;
		if (e == c)
			w = snprintf(buf + n, len - n, "%s%d", n > 0 ? "," : "", c);
		else
			w = snprintf(buf + n, len - n, "%s%d-%d", n > 0 ? "," : "", c, e);
		if (w < 0 || (size_t)w >= len - n) {
			buf[n] = '\0';
			return;
		}
		n += (size_t)w;
		c = e;
	}
}
