/* xalloc: allocation wrappers that never return NULL. On exhaustion they
 * restore the terminal (through the registered fatal hook) and abort. */
#ifndef VMTTY_XALLOC_H
#define VMTTY_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
/* xstrdup that passes NULL through. */
char *xstrdup0(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Called before a fatal exit, e.g. to leave curses mode. */
void xalloc_set_fatal_hook(void (*hook)(void));
void xfatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#endif
