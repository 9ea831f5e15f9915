/* snapshot: a VM's snapshots as a tree.  A libvirt host keeps its own
 * tree (the backend reads it); for the built-in backend the inventory is
 * the only record (table snapshots): these functions read and write it,
 * the backend gets the records and says what it made.  Names follow the
 * VM name rules (name_check). */
#ifndef VMTTY_SNAPSHOT_H
#define VMTTY_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

enum vm_snapshot_kind {
	VM_SNAPSHOT_FULL,	/* the RAM (of a running VM) and every disk, kept
				 * inside the disks (qcow2 internal, libvirt
				 * internal) */
	VM_SNAPSHOT_DISK,	/* the disks only: each disk frozen as it was,
				 * later writes going to a new overlay file
				 * (external) */
};

struct vm_snapshot {
	char *name;
	char *parent;		/* NULL: a root of the tree */
	char *description;	/* NULL: none */
	int64_t created;	/* ms since the epoch */
	enum vm_snapshot_kind kind;
	char *vm_state;		/* the VM's state when it was taken: "running", "off" */
	bool current;		/* the one the VM's disks (and RAM) descend from */
	int64_t size;		/* bytes it holds, -1 unknown */
	/* VM_SNAPSHOT_DISK: the files holding each disk as it was at this
	 * snapshot, in disk order, "\n"-separated (built-in; a revert puts a
	 * new overlay on them); NULL otherwise. */
	char *files;
};

void vm_snapshot_clear(struct vm_snapshot *s);
void vm_snapshot_free_all(struct vm_snapshot *s, size_t n);
/* "full" / "disk"; the parse returns -1 for anything else. */
const char *vm_snapshot_kind_name(enum vm_snapshot_kind k);
int vm_snapshot_kind_parse(const char *s, enum vm_snapshot_kind *k);

/* The inventory's snapshots of VM VM_ID, oldest first (allocated). */
int snapshot_db_list(struct db *db, int64_t vm_id, struct vm_snapshot **out, size_t *n);
/* Record S (made on the host) for VM_ID; it becomes the current one. */
int snapshot_db_add(struct db *db, int64_t vm_id, const struct vm_snapshot *s);
/* NAME becomes the current snapshot of VM_ID (after a revert). */
int snapshot_db_set_current(struct db *db, int64_t vm_id, const char *name);
/* Replace the records of VM_ID by ALL (after a delete or a merge changed
 * parents and files), in one transaction. */
int snapshot_db_replace(struct db *db, int64_t vm_id, const struct vm_snapshot *all, size_t n);

#endif
