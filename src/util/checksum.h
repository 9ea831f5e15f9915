/* checksum: SHA-256 and SHA-512 (nettle) of files, "sha256:HEX" text, and
 * the distributions' checksum lists (SHA256SUMS, SHA512SUMS: "HEX  NAME"
 * lines, and the BSD form "SHA256 (NAME) = HEX"). */
#ifndef VMTTY_CHECKSUM_H
#define VMTTY_CHECKSUM_H

#include <stdatomic.h>
#include <stddef.h>

enum checksum_algo { CHECKSUM_SHA256, CHECKSUM_SHA512 };

#define CHECKSUM_HEX_MAX 128

struct checksum {
	enum checksum_algo algo;
	char hex[CHECKSUM_HEX_MAX + 1];	/* lower case */
};

/* "sha256:HEX" or "sha512:HEX" (the hex in either case) into *OUT; -1 +
 * err naming what is wrong. */
int checksum_parse(const char *s, struct checksum *out);
/* "sha256:HEX" into BUF (CHECKSUM_TEXT_MAX bytes hold any). */
#define CHECKSUM_TEXT_MAX (8 + CHECKSUM_HEX_MAX)
void checksum_format(const struct checksum *c, char *buf, size_t len);
/* "sha256" or "sha512". */
const char *checksum_algo_name(enum checksum_algo a);
/* The line of the checksum list TEXT for the file NAME: "HEX  NAME",
 * "HEX *NAME" or "SHA256 (NAME) = HEX"; the algorithm follows from the
 * length of the hex.  -1 + err when there is none. */
int checksum_list_find(const char *text, const char *name, struct checksum *out);
/* The checksum of the file PATH with ALGO; CANCEL (may be NULL) stops it. */
int checksum_file(const char *path, enum checksum_algo algo, const atomic_bool *cancel,
    struct checksum *out);
/* The checksum of LEN bytes at DATA. */
void checksum_buf(const void *data, size_t len, enum checksum_algo algo, struct checksum *out);
/* A and B are the same checksum. */
int checksum_equal(const struct checksum *a, const struct checksum *b);

#endif
