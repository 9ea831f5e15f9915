/* num: the one parser of whole numbers and sizes, for every option, form,
 * template key and environment variable that takes one. */
#ifndef VMTTY_NUM_H
#define VMTTY_NUM_H

#include <stddef.h>
#include <stdint.h>

/* A whole number from all of S in [MIN, MAX]: decimal digits only (no sign,
 * no space, no base prefix).  0, or -1 without a message: the caller names
 * the field. */
int num_parse(const char *s, long long min, long long max, long long *out);

/*
 * A size, into *OUT in units of 2^UNIT bytes (0: bytes, 20: MiB, 30: GiB),
 * from all of S: digits alone count in units of 2^BARE bytes; K, M, G or T
 * (KiB .. TiB; case does not matter, "iB" may follow the letter) give the
 * unit.  No sign, no space, no fraction.  A size that is not a whole number
 * of units, or more than MAX units, is refused.  0, or -1 without a message.
 */
int num_parse_size(const char *s, int bare, int unit, long long max, long long *out);

/* BYTES in the largest binary unit under it, with one decimal from KiB up:
 * "512 B", "1.5 GiB"; "?" when negative. */
void num_format_bytes(int64_t bytes, char *buf, size_t len);

#endif
