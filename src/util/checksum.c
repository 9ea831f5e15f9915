#include "util/checksum.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/err.h"

static const char *const algo_names[] = { "sha256", "sha512" };
static const size_t algo_hex[] = { 64, 128 };

const char *
checksum_algo_name(enum checksum_algo a)
{
	return algo_names[a];
}

/* N hex digits at S, lower-cased into OUT; 0, or -1. */
static int
take_hex(const char *s, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return -1;
		out[i] = (char)tolower((unsigned char)s[i]);
	}
	out[n] = '\0';
	return 0;
}

/* The algorithm whose digest has N hex digits; -1: none. */
static int
algo_of_len(size_t n)
{
	for (int a = 0; a < 2; a++)
		if (algo_hex[a] == n)
			return a;
	return -1;
}

int
checksum_parse(const char *s, struct checksum *out)
{
	const char *colon = strchr(s, ':');

	memset(out, 0, sizeof *out);
	for (int a = 0; colon != NULL && a < 2; a++) {
		if ((size_t)(colon - s) != strlen(algo_names[a]) ||
		    strncasecmp(s, algo_names[a], strlen(algo_names[a])) != 0)
			continue;
		if (strlen(colon + 1) != algo_hex[a] || take_hex(colon + 1, algo_hex[a], out->hex) != 0)
			return err_set("checksum '%.*s:...' must have %zu hex digits after "
			    "'%s:'", (int)(colon - s), s, algo_hex[a], algo_names[a]);
		out->algo = (enum checksum_algo)a;
		return 0;
	}
	return err_set("a checksum is 'sha256:HEX' or 'sha512:HEX'");
}

void
checksum_format(const struct checksum *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%s", algo_names[c->algo], c->hex);
}

int
checksum_equal(const struct checksum *a, const struct checksum *b)
{
	return a->algo == b->algo && strcmp(a->hex, b->hex) == 0;
}

/* One line (LEN bytes at L) of a checksum list: its hex into OUT when it
 * names NAME. */
static int
line_match(const char *l, size_t len, const char *name, struct checksum *out)
{
	size_t nlen = strlen(name), h = 0;
	int a;

	while (len > 0 && (l[len - 1] == '\r' || l[len - 1] == ' ' || l[len - 1] == '\t'))
		len--;
	/* BSD form: "SHA256 (NAME) = HEX". */
	for (a = 0; a < 2; a++) {
		size_t al = strlen(algo_names[a]);

		if (len > al + 2 && strncasecmp(l, algo_names[a], al) == 0 &&
		    strncmp(l + al, " (", 2) == 0) {
			const char *p = l + al + 2;

			if ((size_t)(l + len - p) < nlen + 4 + algo_hex[a] ||
			    strncmp(p, name, nlen) != 0 || strncmp(p + nlen, ") = ", 4) != 0 ||
			    (size_t)(l + len - (p + nlen + 4)) != algo_hex[a])
				return -1;
			out->algo = (enum checksum_algo)a;
			return take_hex(p + nlen + 4, algo_hex[a], out->hex);
		}
	}
	/* GNU form: "HEX  NAME" (text) or "HEX *NAME" (binary). */
	while (h < len && isxdigit((unsigned char)l[h]))
		h++;
	if ((a = algo_of_len(h)) < 0 || h + 2 + nlen != len || l[h] != ' ' ||
	    (l[h + 1] != ' ' && l[h + 1] != '*') || strncmp(l + h + 2, name, nlen) != 0)
		return -1;
	out->algo = (enum checksum_algo)a;
	return take_hex(l, h, out->hex);
}

int
checksum_list_find(const char *text, const char *name, struct checksum *out)
{
	const char *l = text;

	memset(out, 0, sizeof *out);
	if (name[0] == '\0')
		return err_set("no file name to look for in the checksum list");
	while (*l != '\0') {
		const char *nl = strchr(l, '\n');
		size_t len = nl != NULL ? (size_t)(nl - l) : strlen(l);

		if (line_match(l, len, name, out) == 0)
			return 0;
		l += len + (nl != NULL);
	}
	memset(out, 0, sizeof *out);
	return err_set("the checksum list has no line for '%s'", name);
}

/* The hex of digest D (LEN bytes) of ALGO into *OUT. */
static void
set_hex(const uint8_t *d, size_t len, enum checksum_algo algo, struct checksum *out)
{
	static const char digits[] = "0123456789abcdef";

	out->algo = algo;
	for (size_t i = 0; i < len; i++) {
		out->hex[2 * i] = digits[d[i] >> 4];
		out->hex[2 * i + 1] = digits[d[i] & 15];
	}
	out->hex[2 * len] = '\0';
}

void
checksum_buf(const void *data, size_t len, enum checksum_algo algo, struct checksum *out)
{
	uint8_t digest[SHA512_DIGEST_SIZE];

	memset(out, 0, sizeof *out);
	if (algo == CHECKSUM_SHA256) {
		struct sha256_ctx c;

		sha256_init(&c);
		sha256_update(&c, len, data);
		sha256_digest(&c, SHA256_DIGEST_SIZE, digest);
		set_hex(digest, SHA256_DIGEST_SIZE, algo, out);
	} else {
		struct sha512_ctx c;

		sha512_init(&c);
		sha512_update(&c, len, data);
		sha512_digest(&c, SHA512_DIGEST_SIZE, digest);
		set_hex(digest, SHA512_DIGEST_SIZE, algo, out);
	}
}

int
checksum_file(const char *path, enum checksum_algo algo, const atomic_bool *cancel,
    struct checksum *out)
{
	struct sha256_ctx c256;
	struct sha512_ctx c512;
	uint8_t digest[SHA512_DIGEST_SIZE];
	size_t dlen = algo == CHECKSUM_SHA256 ? SHA256_DIGEST_SIZE : SHA512_DIGEST_SIZE;
	char *buf;
	ssize_t n;
	int fd;

	memset(out, 0, sizeof *out);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return err_set("cannot read '%s': %s", path, strerror(errno));
	sha256_init(&c256);
	sha512_init(&c512);
	buf = malloc(1 << 20);
	if (buf == NULL) {
		close(fd);
		return err_set("out of memory");
	}
	while ((n = read(fd, buf, 1 << 20)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (cancel != NULL && atomic_load(cancel))) {
			int e = errno;

			free(buf);
			close(fd);
			return n < 0 ? err_set("cannot read '%s': %s", path, strerror(e)) :
			    err_set("checking '%s' cancelled", path);
		}
		if (algo == CHECKSUM_SHA256)
			sha256_update(&c256, (size_t)n, (const uint8_t *)buf);
		else
			sha512_update(&c512, (size_t)n, (const uint8_t *)buf);
	}
	free(buf);
	close(fd);
	if (algo == CHECKSUM_SHA256)
		sha256_digest(&c256, SHA256_DIGEST_SIZE, digest);
	else
		sha512_digest(&c512, SHA512_DIGEST_SIZE, digest);
	set_hex(digest, dlen, algo, out);
	return 0;
}
