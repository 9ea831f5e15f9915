/* vmedit: changing an existing VM, one code path for both front ends
 * (vmtty edit and the TUI's edit form).  vmedit_apply reads the changes
 * as the user typed them into a copy of the configuration and checks
 * them (no I/O: the TUI calls it for each field as it is left);
 * vmedit_run does the blocking part on the host (grow a disk, make a new
 * one, define the VM).  The inventory row and the pending mark are the
 * caller's, with vmedit_pending. */
#ifndef VMTTY_VMEDIT_H
#define VMTTY_VMEDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hv;
struct vm_config;

struct vmedit {
	/* What to change, as typed; NULL leaves it, "" clears a text field.
	 * Paths are used as given (the CLI makes them absolute first). */
	const char *cpus, *memory, *cmdline, *kernel, *initrd, *firmware, *machine, *boot;
	const char *graphics;		/* vnc | none */
	const char *add_disk;		/* an existing disk file or volume */
	const char *new_disk;		/* SIZE: a new empty qcow2 made by vmtty */
	const char *disk_bus;		/* the added or new disk's bus; NULL virtio */
	const char *remove_disk;	/* a disk's number (from 0) or path */
	const char *resize_disk;	/* DISK:SIZE, only ever larger */
	const char *add_nic;		/* KIND[:SOURCE] */
	const char *nic_model;		/* the added NIC's model; NULL virtio-net */
	const char *remove_nic;		/* a NIC's number */
	const char *pool;		/* libvirt: the pool of the new disk */
	/* The restart policy, in effect at once (never pending): ON_CRASH
	 * "restart" or "leave" (built-in VMs), AUTOSTART "on" or "off"
	 * (built-in: when `vmtty serve --supervise` begins; libvirt: the
	 * host's flag, set by vmedit_run). */
	const char *on_crash, *autostart;

	/* Set by vmedit_apply. */
	char changes[256];		/* "CPUs, memory": what changed that waits for
					 * a running VM's next start, "" nothing */
	char at_once[64];		/* "on-crash restart, autostart on": what changed
					 * that holds at once, "" nothing */
	bool no_kernel;			/* refused: a microvm without a kernel, all
					 * else right; the sentence ends "give it
					 * a kernel", for the front end to add how */
	int64_t new_bytes;		/* the new disk's size; 0 none */
	char *resize_path;		/* the disk to grow; NULL none */
	int64_t resize_bytes;
	/* Set by vmedit_run: the VM's state word ("running", "paused", ...). */
	const char *state;
};

/* Apply E's changes to C (a copy of the VM's configuration), in the order
 * remove, add, resize, and check the result: 0, or -1 + one sentence that
 * names the field ("CPUs: '0' is not a whole number from 1 to 256").  A
 * kernel or initrd is an absolute path; that the file is there and can be
 * read is the host's check (vmedit_run). */
int vmedit_apply(struct vmedit *e, struct vm_config *c);
/* Every change of E (changes, then at_once) into BUF: "CPUs, autostart on";
 * "" when there is none. */
void vmedit_summary(const struct vmedit *e, char *buf, size_t len);
/* The blocking part for C (changed by vmedit_apply; OLD as it was): is the
 * VM running (*RUNNING; a disk grows only while it is stopped), grow the
 * disk, make the new disk (added to C), check C and change the host's
 * definition from OLD to C (hv_redefine: only what changed), and a libvirt
 * host's autostart flag; an on-crash policy is refused for a libvirt VM.  On failure
 * the new disk is taken back.  *NEWDISK (allocated, may be NULL) is the
 * disk made, for vmedit_undo.  Not on the UI thread. */
int vmedit_run(struct hv *hv, struct vmedit *e, const struct vm_config *old, struct vm_config *c,
    bool *running, char **newdisk);
/* When the inventory cannot take C after vmedit_run: change the host's
 * definition back from C to OLD and remove NEWDISK (may be NULL).  Keeps
 * the current error.  Blocking. */
void vmedit_undo(struct hv *hv, const struct vm_config *old, const struct vm_config *c,
    const char *newdisk);
/* OLD pending changes (may be NULL) followed by those of CHANGES it does
 * not name yet ("cpus, memory" and "memory, hugepages": "cpus, memory,
 * hugepages"): allocated. */
char *vmedit_pending(const char *old, const char *changes);
void vmedit_clear(struct vmedit *e);

#endif
