/* clone: a new VM from a stopped one, or from one of its snapshots, with a
 * name, UUID and MAC addresses of its own and, when it has a cloud-init
 * seed, a new seed (instance-id, host name = the new name) so that its
 * guest takes a new identity.  One code path for the front ends (vmtty
 * clone, the TUI's K).
 *
 * Full: each disk copied (qemu-img convert, the whole chain flattened into
 * a new qcow2).  Linked: each disk a qcow2 overlay on a file that never
 * changes again: a disk-only snapshot of the source ("clone-NAME", taken
 * here) or the one given.  The source then runs on its own overlays, and
 * its snapshot's files are kept for the clone: neither the snapshot nor
 * the source can be deleted while the clone exists (ops/snapshot says so,
 * naming the clone).
 *
 * On a libvirt host only full clones of a stopped VM as it is: the host
 * copies each disk into a new volume of its pool and defines the clone
 * from the source's own definition (the clone op, hv.h); a seed vmtty made
 * is re-made and uploaded as a volume.
 *
 * What is made is recorded (the creations table) before it is made, and
 * taken back on any failure, a cancel included; the inventory gets the new
 * VM in one transaction once its files exist; the journal of both VMs says
 * "clone".  Blocking (qemu-img): not on the UI thread; DB is used from the
 * calling thread only. */
#ifndef VMTTY_OPS_CLONE_H
#define VMTTY_OPS_CLONE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "ops/provision.h"

struct db;
struct hv;
struct vm_config;

struct clone_opts {
	const char *name;	/* the new VM's */
	bool linked;		/* overlays; false: full copies */
	const char *snapshot;	/* clone from this snapshot of the source; NULL:
				 * the source as it is now (a stopped VM) */
	const char *host;	/* where the clone goes; NULL: the source's host */
	provision_progress_fn fn;	/* NULL: no progress */
	void *arg;
	const atomic_bool *cancel;	/* set (a signal, another thread): stop,
					 * nothing left */
};

/* The base snapshot a linked clone of a VM as it is takes: "clone-NAME". */
#define CLONE_SNAPSHOT_PREFIX "clone-"

/* Clone SRC (loaded from DB, on HV's host) as O says.  *OUT gets the new
 * VM (in the inventory).  NOTE (may be NULL) gets a sentence of what
 * changed on the source ("" when nothing did: a linked clone moves it onto
 * overlays).  0, or -1 + err; journaled either way. */
int clone_vm(struct db *db, struct hv *hv, struct vm_config *src, const struct clone_opts *o,
    struct vm_config *out, char *note, size_t len);

#endif
