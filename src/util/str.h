/* str: text from users and hosts made safe to show: UTF-8 checks and one
 * escaping rule for every place that prints such text on a terminal. */
#ifndef VMTTY_STR_H
#define VMTTY_STR_H

#include <stdbool.h>
#include <stddef.h>

/* The length (1-4) of the valid UTF-8 character S starts with; 0 when S
 * starts with a byte that begins no valid, shortest-form character. */
size_t str_utf8_len(const char *s);
bool str_utf8_valid(const char *s);
/* The longest prefix of S, at most MAX bytes, that cuts no character. */
size_t str_utf8_prefix(const char *s, size_t max);
/* A control character (C0, DEL, or C1 U+0080..U+009F) of the character
 * at S, of length LEN (from str_utf8_len). */
bool str_is_control(const char *s, size_t len);
/* The code point of the valid UTF-8 character at S, LEN bytes long. */
unsigned long str_utf8_code(const char *s, size_t len);
/* What the character at S (LEN bytes, from str_utf8_len) is when it does
 * not show as itself: "a control character" (C0, DEL, C1), "a
 * bidirectional control character" (U+061C, U+200E/F, U+202A..202E,
 * U+2066..2069), "a line or paragraph separator" (U+2028/9), "an
 * invisible format character" (any other of Unicode's category Cf, such
 * as U+200B or U+FEFF); NULL for a character that shows. */
const char *str_hidden_kind(const char *s, size_t len);
/* The same for code point C. */
const char *str_hidden_code(unsigned long c);
/*
 * S with every byte that could move the cursor or break a line, and every
 * character that is invisible or reorders the text, made visible: \n \r
 * \t, other C0 controls and DEL as \xHH, C1 controls and the characters
 * of str_hidden_kind as \uHHHH (\UHHHHHHHH past U+FFFF), bytes that are
 * not UTF-8 as \xHH.  Printable text
 * (backslash included) passes as it is, so escaping twice changes nothing.
 * Writes at most CAP bytes with the NUL; when S does not fit it is cut
 * between characters and ends in "...".  Returns the length written.
 */
size_t str_escape_buf(char *dst, size_t cap, const char *s);
/* The same, allocated and never cut. */
char *str_escape(const char *s);
/* The same for text of many lines (an XML document): \n and \t pass as
 * they are, everything else is escaped as above. */
char *str_escape_text(const char *s);
/* JSON text (UTF-8, as json-c writes it) with DEL and the C1 controls,
 * which JSON lets through raw, written as \u escapes: the same JSON
 * value, with nothing in it a terminal would act on.  Allocated. */
char *str_json_safe(const char *json);
/* Whether str_escape would change S. */
bool str_needs_escape(const char *s);
/* A copy of S with each byte that is not UTF-8 replaced by U+FFFD, so
 * that JSON built from it is valid (json-c copies bytes as they are). */
char *str_utf8_fix(const char *s);
/* Terminal columns of S, counted as one per character. */
size_t str_width(const char *s);

#endif
