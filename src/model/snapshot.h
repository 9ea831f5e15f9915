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
#include <sys/types.h>

struct db;
struct vm_config;

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
	/* Built-in backend, one line per disk of the VM in disk order,
	 * "\n"-separated (CD-ROMs and read-only disks: their own path).
	 * VM_SNAPSHOT_DISK: the files holding each disk as it was at this
	 * snapshot (a revert puts a new overlay on them).  VM_SNAPSHOT_FULL:
	 * the files the snapshot is kept inside (qcow2 internal snapshots:
	 * each disk's top file when it was taken).  NULL: none (libvirt). */
	char *files;
};

/* A file that a snapshot of another VM keeps (snapshot_db_files). */
struct vm_snapshot_file {
	char *vm;		/* the VM's name */
	char *snapshot;		/* the snapshot's name */
	char *path;
};

void vm_snapshot_clear(struct vm_snapshot *s);
void vm_snapshot_free_all(struct vm_snapshot *s, size_t n);
/* A deep copy of SRC into DST (overwritten, not cleared). */
void vm_snapshot_copy(struct vm_snapshot *dst, const struct vm_snapshot *src);
/* The index of the snapshot named NAME in ALL, or -1. */
ssize_t vm_snapshot_find(const struct vm_snapshot *all, size_t n, const char *name);
/* The file of S for disk I (line I of its files, allocated); NULL when it
 * has none. */
char *vm_snapshot_file(const struct vm_snapshot *s, size_t i);
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
/* After a backend acted on VM C: its records become ALL (each current as
 * ALL says) and its disks' paths C's, in one transaction. */
int snapshot_db_record(struct db *db, const struct vm_config *c, const struct vm_snapshot *all,
    size_t n);
/* Every file the snapshots of the built-in hosts' VMs other than VM_ID
 * keep, with whose they are (allocated). */
int snapshot_db_files(struct db *db, int64_t vm_id, struct vm_snapshot_file **out, size_t *n);
void vm_snapshot_files_free(struct vm_snapshot_file *f, size_t n);

/* A snapshot being taken on the built-in backend (table snapshot_intents):
 * recorded before the host is touched, removed once the snapshot is in
 * the inventory or everything it made was taken back.  One whose taker is
 * gone (kill -9, a crash) tells the next vmtty what to settle. */
struct vm_snapshot_intent {
	int64_t id;
	int64_t vm_id;
	/* name, kind, description, parent, created; files: the VM's disk
	 * paths when it began, one line per disk. */
	struct vm_snapshot s;
	/* The overlay files a disk-only one makes, one line per disk ("" for
	 * none); NULL: none (yet). */
	char *overlays;
	int64_t pid;		/* the process taking it, */
	int64_t pid_start;	/* and its start time (/proc/PID/stat field 22) */
};

/* Record that process PID (started at PID_START) begins to take S (name,
 * kind, description, parent, files) of VM VM_ID; *ID gets the record's id. */
int snapshot_intent_begin(struct db *db, int64_t vm_id, const struct vm_snapshot *s,
    int64_t pid, int64_t pid_start, int64_t *id);
/* The overlay files (one line per disk) record ID is about to make. */
int snapshot_intent_overlays(struct db *db, int64_t id, const char *overlays);
/* Remove record ID: 1 when this call removed it, 0 when it was gone. */
int snapshot_intent_end(struct db *db, int64_t id);
/* Every record, oldest first (allocated; snapshot_intent_free). */
int snapshot_intent_list(struct db *db, struct vm_snapshot_intent **out, size_t *n);
void snapshot_intent_free(struct vm_snapshot_intent *v, size_t n);

#endif
