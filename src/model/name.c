#include "model/name.h"

#include <string.h>

#include "util/err.h"

#define NAME_MAX_LEN 64

/*
 * Names reach file names, libvirt XML and the "host/name" syntax, so '/'
 * and ".." are out, as are control characters and a leading '-' or '.'
 * (option-like or hidden).  Quotes and other punctuation are fine: the
 * inventory binds values, it never splices them into SQL.
 */
int
name_check(const char *what, const char *name)
{
	size_t n = strlen(name);

	if (n == 0)
		return err_set("%s name is empty; give a name", what);
	if (n > NAME_MAX_LEN)
		return err_set("%s name '%.20s...' is %zu bytes long; the limit is %d",
		    what, name, n, NAME_MAX_LEN);
	if (name[0] == '-' || name[0] == '.')
		return err_set("%s name '%s' starts with '%c'; start it with a letter or digit",
		    what, name, name[0]);
	if (name[0] == ' ' || name[n - 1] == ' ')
		return err_set("%s name '%s' starts or ends with a space; remove it", what, name);
	if (strchr(name, '/') != NULL)
		return err_set("%s name '%s' contains '/'; choose a name without it", what, name);
	if (strstr(name, "..") != NULL)
		return err_set("%s name '%s' contains '..'; choose a name without it", what, name);
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return err_set("%s name contains a control character; use printable characters", what);
	return 0;
}
