/* plugin: backends with heavy libraries (libvirt and its dozens of
 * dependencies) live in shared objects loaded on first use, so that vmtty
 * starts in a few milliseconds with a small footprint when it does not
 * need them. */
#ifndef VMTTY_PLUGIN_H
#define VMTTY_PLUGIN_H

/* SYMBOL from plugin NAME ("libvirt" -> vmtty-libvirt.so), looked for in
 * $VMTTY_PLUGIN_DIR, beside the running binary, then VMTTY_LIBDIR.
 * Loaded once, kept for the process; thread-safe.  NULL + err. */
void *plugin_symbol(const char *name, const char *symbol);

#endif
