/* paths: where vmtty keeps its files (XDG base directories). */
#ifndef VMTTY_PATHS_H
#define VMTTY_PATHS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* $XDG_DATA_HOME/vmtty (default ~/.local/share/vmtty); allocated. */
char *paths_data_dir(void);
/* The inventory: --db, else $VMTTY_DB, else DATA_DIR/inventory.db. */
char *paths_inventory(const char *override);
/* $XDG_CONFIG_HOME/vmtty; allocated. */
char *paths_config_dir(void);
/* $XDG_CACHE_HOME/vmtty (default ~/.cache/vmtty); allocated. */
char *paths_cache_dir(void);
/* Where running VMs keep sockets and pidfiles: $VMTTY_RUNTIME_DIR, else
 * $XDG_RUNTIME_DIR/vmtty, else /run/vmtty for root, else /tmp/vmtty-UID. */
char *paths_runtime_dir(void);
/* OUT = DIR "/" NAME; -1 when it does not fit in LEN. */
int paths_join(char *out, size_t len, const char *dir, const char *name);
/* mkdir -p; directories it creates get MODE, existing ones are left. */
int paths_mkdir_p(const char *dir, mode_t mode);
/* mkdir -p DIR, mode 0700, then refuse it (-1 + err naming WHAT, DIR, the
 * reason, then FIX, what to do) unless it is a real directory, not a
 * symbolic link, owned by this user, with no group or other bits. */
int paths_private_dir(const char *dir, const char *what, const char *fix);
/* mkdir -p of the directory part of PATH. */
int paths_mkdir_parent(const char *path, mode_t mode);

/* Local paths A and B name the same file: the same string, or the same
 * device and inode (a link, "sub/../x"); false when either is missing. */
bool paths_same_file(const char *a, const char *b);

/* Copy SRC to a new file DST (which must not exist) with MODE. */
int paths_copy_file(const char *src, const char *dst, mode_t mode);

#endif
