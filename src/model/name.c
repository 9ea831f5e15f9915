#include "model/name.h"

#include <string.h>

#include "util/err.h"
#include "util/str.h"

#define NAME_MAX_LEN 64

/*
 * Names reach file names, libvirt XML, JSON and terminals, and the
 * "host/name" syntax, so '/' and ".." are out, as are bytes that are not
 * UTF-8, control characters (C0, DEL and C1), characters that are
 * invisible or reorder text (str_hidden_kind) and a leading '-' or '.'
 * (option-like or hidden).  Quotes and other punctuation are fine: the
 * inventory binds values, it never splices them into SQL.
 */
int
name_check(const char *what, const char *name)
{
	size_t n = strlen(name), len;

	if (n == 0)
		return err_set("%s name is empty; give a name", what);
	if (n > NAME_MAX_LEN)
		return err_set("%s name '%.*s...' is %zu bytes long; the limit is %d",
		    what, (int)str_utf8_prefix(name, 20), name, n, NAME_MAX_LEN);
	if (name[0] == '-' || name[0] == '.')
		return err_set("%s name '%s' starts with '%c'; start it with a letter or digit",
		    what, name, name[0]);
	if (name[0] == ' ' || name[n - 1] == ' ')
		return err_set("%s name '%s' starts or ends with a space; remove it", what, name);
	if (strchr(name, '/') != NULL)
		return err_set("%s name '%s' contains '/'; choose a name without it", what, name);
	if (strstr(name, "..") != NULL)
		return err_set("%s name '%s' contains '..'; choose a name without it", what, name);
	/* err_set shows the name with its bad bytes escaped (\xff, \n, \u009b,
	 * \u202e).  Characters that do not show as themselves (controls, bidi
	 * overrides that reverse what follows, zero-width ones) would make two
	 * names look alike, or one look like another. */
	for (const char *p = name; *p != '\0'; p += len) {
		const char *kind;

		if ((len = str_utf8_len(p)) == 0)
			return err_set("%s name '%s' is not valid UTF-8; use UTF-8 text", what, name);
		if ((kind = str_hidden_kind(p, len)) != NULL)
			return err_set("%s name '%s' contains U+%04lX (%s); use printable "
			    "characters", what, name, str_utf8_code(p, len), kind);
	}
	return 0;
}
