/* wrap: breaking text into lines of a given display width, between words,
 * never inside a UTF-8 character. */
#ifndef VMTTY_WRAP_H
#define VMTTY_WRAP_H

#include <stddef.h>

/* The first line of S that fits in WIDTH columns (at least 1): returns its
 * length in bytes, trailing spaces left out, and sets *NEXT to where the
 * next line starts (past the spaces it broke at; at the terminating NUL
 * when S fits).  It breaks at the last space that fits, or at a newline; a
 * word longer than WIDTH is cut between two characters.  Widths are those
 * of the current locale (wcwidth); a byte that is not valid text counts as
 * one column. */
size_t wrap_line(const char *s, int width, size_t *next);

#endif
