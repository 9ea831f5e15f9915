/* cpuset: a set of host CPUs, as Linux and libvirt write it ("0-3,6"). */
#ifndef VMTTY_CPUSET_H
#define VMTTY_CPUSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CPUSET_MAX 1024		/* CPUs 0 .. CPUSET_MAX - 1 */

struct cpuset {
	uint64_t bits[CPUSET_MAX / 64];
};

/*
 * All of S into *OUT: CPU numbers and ranges ("0-3") separated by commas,
 * "^N" taking N out again (libvirt's form: "0-7,^4").  No spaces, no empty
 * parts, ranges low to high, CPUs below CPUSET_MAX, not empty.  0, or -1
 * without a message (the caller names the field).
 */
int cpuset_parse(const char *s, struct cpuset *out);
/* The canonical form ("0-3,6"; "" for the empty set) into BUF. */
void cpuset_format(const struct cpuset *set, char *buf, size_t len);
void cpuset_zero(struct cpuset *set);
void cpuset_add(struct cpuset *set, int cpu);
bool cpuset_has(const struct cpuset *set, int cpu);
int cpuset_count(const struct cpuset *set);
/* The highest CPU in SET; -1 when it is empty. */
int cpuset_last(const struct cpuset *set);
bool cpuset_equal(const struct cpuset *a, const struct cpuset *b);

#endif
