/* provision: make a new VM from a plan (a template plus the user's
 * choices): check every field, then create its disk (qemu-img here, a
 * storage-pool volume on a libvirt host), its cloud-init seed ISO and its
 * definition.  What a run made is recorded, so that a failure at any step
 * takes all of it back and the error names the step.  No curses, no SQL
 * of its own: the inventory row is the caller's last step (vm_insert). */
#ifndef VMTTY_PROVISION_H
#define VMTTY_PROVISION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct db;
struct hv;
struct template;
struct vm_config;

/* The VM's main disk. */
enum provision_disk {
	PROV_DISK_NONE,		/* no disk (a kernel or ISO-only VM) */
	PROV_DISK_NEW,		/* a new empty qcow2 of SIZE */
	PROV_DISK_OVERLAY,	/* a qcow2 overlay on the base IMAGE */
	PROV_DISK_COPY,		/* a full copy of IMAGE (qemu-img convert), grown to SIZE */
	PROV_DISK_EXISTING,	/* the disk file IMAGE as it is */
};

/* The fields, in the wizard's order; provision_check_field checks one. */
enum provision_field {
	PROV_F_HOST,
	PROV_F_TEMPLATE,
	PROV_F_NAME,
	PROV_F_CPUS,
	PROV_F_MEMORY,
	PROV_F_MACHINE,		/* the machine type, on the host */
	PROV_F_DISK,		/* kind, size and image together */
	PROV_F_ISO,
	PROV_F_KERNEL,		/* kernel, initrd, cmdline */
	PROV_F_NETWORK,
	PROV_F_CLOUD_INIT,	/* user, ssh key, hostname */
	PROV_F_COUNT,
};

struct provision_plan {
	char *host;		/* host name */
	bool builtin;		/* the host runs the built-in backend */
	char *template_name;
	int template_source;	/* enum template_source of the template */
	char *name;
	int cpus;
	int64_t memory_mib;

	enum provision_disk disk;
	int64_t disk_bytes;	/* NEW: the size; OVERLAY/COPY: at least this */
	char *image;		/* OVERLAY/COPY: the base; EXISTING: the disk */
	char *disk_bus;
	char *iso;		/* a CD-ROM image to attach; NULL none */
	char *dir;		/* built-in: where the files go; NULL: images/NAME */
	char *pool;		/* libvirt: the storage pool; NULL: "default" */

	char *kernel, *initrd, *cmdline;

	char *network;		/* user | none | bridge:NAME | network:NAME */
	char *nic_model;
	char *forwards;

	bool cloud_init;	/* make a NoCloud seed ISO */
	char *ci_user;
	char *ssh_key;		/* the public key itself, one line */
	char *hostname;

	/* From the template, passed through. */
	char *machine, *firmware, *accel, *graphics, *notes;

	/* Set from another thread (the wizard's Esc): provision_build stops
	 * its tool (qemu-img, genisoimage) and takes back what it made.  NULL:
	 * not cancellable.  Not owned. */
	const atomic_bool *cancel;

	/* The inventory's path: provision_build records the creation there
	 * (its own connection, so any thread) before anything is made, so
	 * that the next vmtty takes back one cut short.  NULL: not recorded
	 * (provision_create records it in its DB).  Not owned. */
	const char *inventory;
};

/* What provision_build made, to keep or take back. */
struct provision_made;

/* Progress of a long step: STEP ("Copying the image") and PERCENT
 * (0..100, or -1 when unknown).  Runs on the thread of provision_build. */
typedef void (*provision_progress_fn)(const char *step, int percent, void *arg);

void provision_init(struct provision_plan *p);
void provision_clear(struct provision_plan *p);
/* Fill P (fresh from provision_init, host set) with T's defaults. */
void provision_from_template(struct provision_plan *p, const struct template *t);

/* P's machine type becomes MACHINE, and its graphics GRAPHICS; without
 * GRAPHICS (NULL) a microvm's are none (it has no display), any other's
 * stay as they are. */
void provision_set_machine(struct provision_plan *p, const char *machine, const char *graphics);
/* "disk", "memory", ...: the field's name as messages say it. */
const char *provision_field_name(enum provision_field f);
/* Check one field as the user gave it: 0, or -1 + one sentence that
 * names the field and what to do.  Only local facts are checked (files
 * of a built-in host exist; a libvirt host's files are its own). */
int provision_check_field(const struct provision_plan *p, enum provision_field f);
/* Every field, in order; the first problem. */
int provision_validate(const struct provision_plan *p);

/* The smallest disk vmtty makes. */
#define PROV_MIN_BYTES (1LL << 20)

/* "20G", "512M", "1T" or "20" (GiB) into bytes (PROV_MIN_BYTES is checked
 * where a disk is made). */
int provision_parse_size(const char *s, int64_t *bytes);
/* "16G", "512M": the size in the largest unit that divides it. */
void provision_format_size(int64_t bytes, char *buf, size_t len);
/* A public key file's one key line into *KEY (allocated). */
int provision_read_key(const char *path, char **key);

/*
 * Make everything for P on HV's host: the directory and disk, the seed
 * ISO, then the host's definition (libvirt: validated XML).  *OUT gets
 * the VM's configuration (UUID set) for the inventory.  On failure
 * everything made so far is removed and the error says which step failed
 * ("Creating the disk failed: ..."); on success *MADE records it all for
 * provision_undo (when the inventory row cannot be written) or
 * provision_keep.  Blocking: run it off the UI thread.
 */
int provision_build(struct hv *hv, const struct provision_plan *p, provision_progress_fn fn,
    void *arg, struct vm_config *out, struct provision_made **made);
/* Take back everything MADE records (the definition, volumes, files and
 * directories it created), then free it.  Blocking. */
void provision_undo(struct hv *hv, struct provision_made *made);
/* Keep what was made; free the record. */
void provision_keep(struct provision_made *made);

/* The whole of it for one front end that owns DB and HV on one thread
 * (the CLI): no VM of that name yet, build, then the inventory row,
 * undone if that fails.  *OUT as provision_build. */
int provision_create(struct db *db, struct hv *hv, const struct provision_plan *p,
    provision_progress_fn fn, void *arg, struct vm_config *out);

/* Edits of an existing VM C (stopped, for resize).  A new empty qcow2 disk
 * of BYTES next to its others (built-in: its directory; libvirt: a volume
 * of POOL), made by vmtty: *PATH (allocated). */
int provision_add_disk(struct hv *hv, const struct vm_config *c, const char *pool,
    int64_t bytes, char **path);
/* Grow disk PATH of C to BYTES (built-in hosts: qemu-img resize). */
int provision_resize_disk(struct hv *hv, const struct vm_config *c, const char *path,
    int64_t bytes);

/*
 * The pieces of a build, for a VM made from another one (ops/clone.c):
 * everything made is noted in the record M, taken back by provision_undo
 * or kept by provision_keep, as a build's.  Each is 0, or -1 + err.
 */
/* What is made for VM C (host_id, name and uuid set), recorded in REC (the
 * caller's connection, open until undo or keep; NULL: not recorded).
 * NULL + err when the record cannot be written. */
struct provision_made *provision_made_begin(struct db *rec, const struct vm_config *c);
/* mkdir -p DIR, the directories made 0700. */
int provision_made_dir(struct provision_made *m, const char *dir);

/* A copy of an image into a new qcow2 file (qemu-img convert). */
struct provision_copy {
	const char *from;	/* the image, read as it is in its chain */
	const char *format;	/* its format */
	const char *snapshot;	/* its internal snapshot to copy; NULL: its data now */
	const char *to;		/* the new file: must not exist */
	const char *step;	/* for FN: "Copying disk 1 of 2" */
	provision_progress_fn fn;
	void *arg;
	const atomic_bool *cancel;	/* set: qemu-img stops, -1 */
};
int provision_made_copy(struct provision_made *m, const struct provision_copy *cp);
/* A qcow2 overlay TO on the qcow2 image BASE, of its size. */
int provision_made_overlay(struct provision_made *m, const char *base, const char *to);
/* A NoCloud seed ISO at TO with the user-data of seed FROM, its host name
 * set to HOSTNAME, and meta-data of instance-id UUID and HOSTNAME: the
 * guest's cloud-init sees a new instance. */
int provision_made_reseed(struct provision_made *m, const char *from, const char *to,
    const char *uuid, const char *hostname, const atomic_bool *cancel);

/* The same for a libvirt host: seed volume FROM read through the storage
 * API, the new seed uploaded as volume HOSTNAME-seed.iso of the same pool;
 * *PATH gets its path (allocated). */
int provision_made_reseed_volume(struct provision_made *m, struct hv *hv, const char *from,
    const char *uuid, const char *hostname, const atomic_bool *cancel, char **path);
/* Volume PATH on the host was made for the VM (recorded; undo deletes it). */
int provision_made_volume(struct provision_made *m, const char *path);
/* C was defined on the host for it: undo undefines it. */
void provision_made_defined(struct provision_made *m, const struct vm_config *c);

/* Deleting a VM C with its disks, asked before anything is deleted (the
 * CLI and the TUI both ask here).  On a libvirt host only the volumes vmtty
 * made can go (through the storage API): a disk it did not make is
 * refused, by name.  A disk that another VM in DB's inventory uses (the
 * same path, or locally the same file) is refused naming that VM, which
 * keeps it; so is, on the built-in hosts, a file another VM's disk stands
 * on (its backing chain: a linked clone's base) or its snapshots keep
 * (ops/keep.h).  0 or -1 + err. */
int provision_check_delete_disks(struct db *db, const struct vm_config *c, bool builtin);
/* Delete C's disks once C itself is gone (a failure then leaves a file,
 * never a VM without its disk).  CD-ROMs and read-only disks stay unless
 * vmtty made them (the seed ISO); a directory vmtty made goes when empty.
 * *REMOVED counts what went.  Every disk is tried; -1 + err names the
 * first that could not be removed.  Blocking (libvirt): not on the UI
 * thread. */
int provision_delete_disks(struct hv *hv, const struct vm_config *c, int *removed);

/* The VM other than VM_ID (-1: any) in REFS (vm_disk_refs) whose disks
 * include PATH: on host HOST_ID for a libvirt path, the same file for a
 * path of the built-in host (BUILTIN).  NULL when none. */
struct vm_disk_ref;
const struct vm_disk_ref *provision_disk_user(const struct vm_disk_ref *refs, size_t n,
    int64_t vm_id, int64_t host_id, bool builtin, const char *path);

/* Record in DB that this process begins to make VM NAME (UUID) on host
 * HOST_ID: each path it makes is added with creation_note, and the record
 * ends with creation_end.  Should the process die first, provision_recover
 * takes those paths back.  *ID gets the record's id.  0, or -1 + err. */
int provision_record(struct db *db, int64_t host_id, const char *name, const char *uuid,
    int64_t *id);

/* The start time of process PID (field 22 of /proc/PID/stat, clock ticks
 * since boot): with the pid, it names one process; -1 when there is none. */
int64_t provision_proc_start(pid_t pid);
/* Process PID, started at PID_START (-1: unknown), still runs (this
 * process counts). */
bool provision_alive(int64_t pid, int64_t pid_start);

/* Opens host HOST for provision_recover (a libvirt host's volumes);
 * NULL + err when it does not answer. */
typedef struct hv *(*provision_open_fn)(const char *host, void *arg);

/*
 * Take back the creations in DB that were cut short (their vmtty was
 * killed, or crashed): for each record whose maker process is gone, the
 * paths it recorded as made by it are removed (none that a VM in the
 * inventory or another creation uses), the record goes, the journal says
 * "creation of NAME interrupted; cleaned up", and so does SAID.  A
 * creation whose VM reached the inventory only loses its record.  A
 * libvirt host's record waits until OPEN_HV reaches the host.  Run it once
 * when vmtty opens the inventory.  -1 + err when DB cannot be read.
 */
int provision_recover(struct db *db, provision_open_fn open_hv, void *arg,
    void (*said)(const char *line, void *arg), void *said_arg);

#endif
