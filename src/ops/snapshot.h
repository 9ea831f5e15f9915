/* snapshot: a VM's snapshots, one code path for both front ends (vmtty
 * snapshot and a TUI page).  A libvirt host keeps its own tree (the list
 * comes from it); for the built-in backend the inventory is the record:
 * these functions hand the records to the backend, record what it changed
 * (the snapshots and the VM's disk paths, in one transaction), and tell the
 * backend which files other VMs need (it never touches those).  Every
 * create, revert and delete is journaled, ok or failed.  Names follow the
 * VM name rules.  Blocking (qemu-img, QMP jobs, libvirt calls): not on the
 * UI thread; DB is only used from the calling thread. */
#ifndef VMTTY_OPS_SNAPSHOT_H
#define VMTTY_OPS_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

#include "model/snapshot.h"
#include "ops/provision.h"

struct db;
struct hv;
struct vm_config;

/* The longest description taken, in bytes. */
#define SNAPSHOT_DESCRIPTION_MAX 1024

/* C's snapshots, oldest first (allocated; vm_snapshot_free_all). */
int snapshot_list(struct db *db, struct hv *hv, const struct vm_config *c,
    struct vm_snapshot **out, size_t *n);
/* ALL (N) as a tree, in place: each parent before its children, siblings
 * oldest first, a snapshot whose parent is missing as a root; DEPTH[i]
 * (an array of N, may be NULL) gets each one's depth, 0 for a root. */
void snapshot_tree(struct vm_snapshot *all, size_t n, int *depth);

/* Take snapshot NAME of C (KIND; DESCRIPTION may be NULL); it becomes the
 * current one.  C's disk paths may change (a disk-only snapshot moves the
 * disks onto overlays): C is updated, and so is the inventory. */
int snapshot_create(struct db *db, struct hv *hv, struct vm_config *c, const char *name,
    enum vm_snapshot_kind kind, const char *description);
/* C back to snapshot NAME, which becomes the current one (C updated). */
int snapshot_revert(struct db *db, struct hv *hv, struct vm_config *c, const char *name);
/* Delete snapshot NAME of C (with every snapshot below it when CHILDREN;
 * else those move up to its parent); its data is merged into the files
 * that still need it. */
int snapshot_delete(struct db *db, struct hv *hv, struct vm_config *c, const char *name,
    bool children);

/* One sentence saying what reverting C (RUNNING or not) to NAME among
 * ALL discards and how the VM ends, for a confirmation; "" when NAME is
 * not in ALL. */
void snapshot_revert_discards(const struct vm_config *c, const struct vm_snapshot *all,
    size_t n, const char *name, bool running, char *buf, size_t len);

/* Before deleting VM C: *N its snapshots; without WITH_SNAPSHOTS a VM
 * that has some is refused (-1 + err naming them and the way to go on). */
int snapshot_vm_delete_check(struct db *db, struct hv *hv, const struct vm_config *c,
    bool with_snapshots, size_t *n);
/* Delete every snapshot of C, merging their data into its disks, so that
 * C can be deleted without leaving a snapshot file behind (C's disk paths
 * may change: C updated, and the inventory). */
int snapshot_delete_all(struct db *db, struct hv *hv, struct vm_config *c);

/*
 * Settle the snapshots of built-in VMs whose vmtty died while taking them
 * (kill -9, a crash; model/snapshot.h's intents): one the host has whole
 * (QEMU finished its snapshot-save, or its disks moved onto the overlays)
 * is recorded; of one it has not, what was made goes (an overlay no qemu
 * uses, a part-made internal snapshot), never a file a VM uses.  Either
 * way the journal says "snapshot NAME of VM 'VM' interrupted; ...", and
 * so does SAID.  OPEN_HV opens a host by name; a
 * snapshot QEMU is still saving waits for a later vmtty.  Run it once
 * when vmtty opens the inventory.  -1 + err when DB cannot be read.
 */
int snapshot_recover(struct db *db, provision_open_fn open_hv, void *arg,
    void (*said)(const char *line, void *arg), void *said_arg);

#endif
