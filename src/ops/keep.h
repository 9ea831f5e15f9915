/* keep: the files the VMs of the inventory need on the built-in hosts,
 * so that no operation on one VM removes or rewrites a file another VM
 * still needs: each VM's disks with their backing chains (a linked
 * clone's base, an image an overlay was made on) and every file its
 * snapshots keep.  The chains come from the images' headers (qemu-img
 * only for a name the header cannot resolve): file reads, no process. */
#ifndef VMTTY_OPS_KEEP_H
#define VMTTY_OPS_KEEP_H

#include <stddef.h>
#include <stdint.h>

#include "util/strv.h"

struct db;
struct hv_keep;

struct keep {
	struct hv_keep *k;	/* N entries, for hv_keep_set */
	size_t n;
	struct strv paths, vms, roles;
};

/* What the built-in hosts' VMs other than VM_ID need (-1: every VM's).
 * -1 + err when the inventory cannot be read. */
int keep_build(struct db *db, int64_t vm_id, struct keep *k);
/* The entry of K that names the file at PATH (the same file, by device
 * and inode when both exist), or NULL; *ROLE (may be NULL) gets why that
 * VM needs it ("its disk", "the backing file of its disk '...'", "its
 * snapshot '...'"). */
const struct hv_keep *keep_find(const struct keep *k, const char *path, const char **role);
void keep_free(struct keep *k);

#endif
