#include "util/plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/err.h"
#include "util/log.h"

/* The Makefile sets it: the build directory for the binary in the tree,
 * LIBDIR for the one `make install` puts in place. */
#ifndef VMTTY_LIBDIR
#define VMTTY_LIBDIR "/usr/local/lib/vmtty"
#endif

static pthread_mutex_t plugin_mu = PTHREAD_MUTEX_INITIALIZER;

/* PATH opened, its ABI number checked: the handle, or NULL with the
 * reason in WHY. */
static void *
load(const char *path, char *why, size_t len)
{
	const unsigned *abi;
	void *h;

	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		snprintf(why, len, "cannot load '%s': %s", path, dlerror());
		return NULL;
	}
	abi = dlsym(h, VMTTY_PLUGIN_ABI_SYMBOL);
	if (abi == NULL || *abi != VMTTY_PLUGIN_ABI) {
		if (abi == NULL)
			snprintf(why, len, "plugin '%s' has no ABI number (it is older than this "
			    "vmtty, which needs ABI %d); reinstall vmtty", path, VMTTY_PLUGIN_ABI);
		else
			snprintf(why, len, "plugin '%s' is for ABI %u, this vmtty needs %d; "
			    "reinstall vmtty", path, *abi, VMTTY_PLUGIN_ABI);
		dlclose(h);
		return NULL;
	}
	log_debug("plugin: loaded '%s' (ABI %u)", path, *abi);
	return h;
}

void *
plugin_symbol(const char *name, const char *symbol)
{
	const char *env = getenv("VMTTY_PLUGIN_DIR");
	const char *dir = env != NULL && env[0] != '\0' ? env : VMTTY_LIBDIR;
	char path[PATH_MAX], why[PATH_MAX + 256] = "";
	void *h = NULL, *sym = NULL;

	snprintf(path, sizeof path, "%s/vmtty-%s.so", dir, name);
	pthread_mutex_lock(&plugin_mu);
	/* dlopen of an already loaded object returns the same handle. */
	if (access(path, R_OK) != 0)
		snprintf(why, sizeof why, "cannot read '%s': %s; %s", path, strerror(errno),
		    dir == env ? "install it there or unset VMTTY_PLUGIN_DIR" :
		    "install it (make install) or set VMTTY_PLUGIN_DIR to its directory");
	else
		h = load(path, why, sizeof why);
	if (h != NULL && (sym = dlsym(h, symbol)) == NULL)
		snprintf(why, sizeof why, "plugin '%s' has no '%s'; reinstall vmtty", path, symbol);
	pthread_mutex_unlock(&plugin_mu);
	if (sym == NULL)
		err_set("%s support is not available: %s", name, why);
	return sym;
}
