#include "util/num.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Up to 18 digits: no overflow of a long long, whatever follows. */
#define NUM_DIGITS_MAX 18

/* The value of the N digits at S (N <= NUM_DIGITS_MAX). */
static long long
digits_value(const char *s, size_t n)
{
	long long v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

int
num_parse(const char *s, long long min, long long max, long long *out)
{
	size_t n = strspn(s, "0123456789");
	long long v;

	if (n == 0 || s[n] != '\0' || n > NUM_DIGITS_MAX)
		return -1;
	v = digits_value(s, n);
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
num_parse_size(const char *s, int bare, int unit, long long max, long long *out)
{
	static const struct {
		const char *suffix;
		int shift;
	} units[] = {
		{ "k", 10 }, { "kib", 10 }, { "m", 20 }, { "mib", 20 },
		{ "g", 30 }, { "gib", 30 }, { "t", 40 }, { "tib", 40 },
	};
	size_t n = strspn(s, "0123456789");
	int shift = bare;
	long long v;

	if (n == 0 || n > NUM_DIGITS_MAX)
		return -1;
	if (s[n] != '\0') {
		size_t i;

		for (i = 0; i < sizeof units / sizeof units[0]; i++)
			if (strcasecmp(s + n, units[i].suffix) == 0)
				break;
		if (i == sizeof units / sizeof units[0])
			return -1;
		shift = units[i].shift;
	}
	v = digits_value(s, n);
	if (shift > unit) {
		/* v << d must stay within MAX (and so within a long long). */
		int d = shift - unit;

		if (v > (max >> d))
			return -1;
		v <<= d;
	} else if (shift < unit) {
		long long one = 1LL << (unit - shift);

		if (v % one != 0)
			return -1;
		v /= one;
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

void
num_format_bytes(int64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 0) {
		snprintf(buf, len, "?");
		return;
	}
	while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
}
