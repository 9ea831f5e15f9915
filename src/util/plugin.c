#include "util/plugin.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/err.h"
#include "util/log.h"

#ifndef VMTTY_LIBDIR
#define VMTTY_LIBDIR "/usr/local/lib/vmtty"
#endif

static pthread_mutex_t plugin_mu = PTHREAD_MUTEX_INITIALIZER;

/* Try DIR/vmtty-NAME.so; the handle, or NULL with the reason in WHY. */
static void *
try_dir(const char *dir, const char *name, char *why, size_t len)
{
	char path[PATH_MAX];
	void *h;

	snprintf(path, sizeof path, "%s/vmtty-%s.so", dir, name);
	if (access(path, R_OK) != 0)
		return NULL;
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL)
		snprintf(why, len, "cannot load '%s': %s", path, dlerror());
	else
		log_debug("plugin: loaded '%s'", path);
	return h;
}

void *
plugin_symbol(const char *name, const char *symbol)
{
	char self[PATH_MAX], why[PATH_MAX + 256] = "";
	const char *env = getenv("VMTTY_PLUGIN_DIR");
	void *h = NULL, *sym = NULL;
	ssize_t n;

	pthread_mutex_lock(&plugin_mu);
	/* dlopen of an already loaded object returns the same handle. */
	if (env != NULL && env[0] != '\0')
		h = try_dir(env, name, why, sizeof why);
	if (h == NULL && why[0] == '\0' && (n = readlink("/proc/self/exe", self, sizeof self - 1)) > 0) {
		char *slash;

		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			h = try_dir(self, name, why, sizeof why);
			/* Test programs live one level below build/. */
			if (h == NULL && why[0] == '\0' && (slash = strrchr(self, '/')) != NULL) {
				*slash = '\0';
				h = try_dir(self, name, why, sizeof why);
			}
		}
	}
	if (h == NULL && why[0] == '\0')
		h = try_dir(VMTTY_LIBDIR, name, why, sizeof why);
	if (h != NULL && (sym = dlsym(h, symbol)) == NULL)
		snprintf(why, sizeof why, "'vmtty-%s.so' has no '%s'", name, symbol);
	pthread_mutex_unlock(&plugin_mu);
	if (sym == NULL && why[0] == '\0')
		err_set("%s support is not available: 'vmtty-%s.so' was found neither beside "
		    "vmtty nor in '%s'; install it or set VMTTY_PLUGIN_DIR", name, name, VMTTY_LIBDIR);
	else if (sym == NULL)
		err_set("%s support is not available: %s", name, why);
	return sym;
}
