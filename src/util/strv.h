/* strv: a growable, NULL-terminated vector of strings (argv building). */
#ifndef VMTTY_STRV_H
#define VMTTY_STRV_H

#include <stddef.h>

struct strv {
	char **v;		/* NULL-terminated */
	size_t n;
	size_t cap;
};

void strv_init(struct strv *s);
void strv_free(struct strv *s);
void strv_add(struct strv *s, const char *str);
void strv_addf(struct strv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append two entries: an option and its value. */
void strv_add2(struct strv *s, const char *opt, const char *val);
/* One line, each element quoted for a POSIX shell where needed. */
char *strv_join_shell(const struct strv *s);
/* QEMU option values separate with ',': a literal comma is doubled. */
char *strv_qemu_escape(const char *val);

#endif
