/* plugin: backends with heavy libraries (libvirt and its dozens of
 * dependencies) live in shared objects loaded on first use, so that vmtty
 * starts in a few milliseconds with a small footprint when it does not
 * need them. */
#ifndef VMTTY_PLUGIN_H
#define VMTTY_PLUGIN_H

/* The interface between vmtty and its plugins: the hv_ops and vnc_plugin
 * tables, struct hv, and every helper of the binary a plugin calls.  Bump
 * it whenever one of them changes; a plugin built for another number is
 * refused.  Each plugin says its number with VMTTY_PLUGIN_ABI_DEFINE. */
#define VMTTY_PLUGIN_ABI 8
#define VMTTY_PLUGIN_ABI_SYMBOL "vmtty_plugin_abi"

/* In one source file of each plugin.  Weak: test programs that link the
 * code of two plugins directly get one copy. */
#define VMTTY_PLUGIN_ABI_DEFINE \
	extern const unsigned vmtty_plugin_abi; \
	__attribute__((weak, visibility("default"))) \
	const unsigned vmtty_plugin_abi = VMTTY_PLUGIN_ABI

/* SYMBOL from plugin NAME ("libvirt" -> vmtty-NAME.so), looked for in
 * $VMTTY_PLUGIN_DIR when that is set and not empty, else in VMTTY_LIBDIR
 * (set when vmtty was built): never beside the binary.  Loaded once, kept
 * for the process; a plugin whose ABI number is not VMTTY_PLUGIN_ABI is
 * refused.  Thread-safe.  NULL + err. */
void *plugin_symbol(const char *name, const char *symbol);

#endif
