/* hv: the backends behind one ops table.  A backend that cannot do
 * something says so ("... is not supported by <backend>"), never pretends.
 * No curses here; the UI and CLI call these and show err_get(). */
#ifndef VMTTY_HV_H
#define VMTTY_HV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "model/host.h"
#include "model/snapshot.h"
#include "model/vm.h"
#include "util/cpuset.h"
#include "util/strv.h"

enum hv_state {
	HV_OFF,
	HV_RUNNING,
	HV_PAUSED,
	HV_SHUTTING_DOWN,
	HV_CRASHED,
	HV_UNKNOWN,
	HV_STARTING,		/* a start is under way (built-in backend) */
};

enum hv_action {
	HV_SHUTDOWN,		/* ACPI power button */
	HV_POWEROFF,		/* pull the plug */
	HV_REBOOT,		/* ACPI-friendly: guest reboots */
	HV_RESET,		/* hard reset */
	HV_PAUSE,
	HV_RESUME,
};

struct hv_status {
	enum hv_state state;
	int pid;		/* built-in backend: the qemu process, else 0 */
	char accel[8];		/* "kvm" or "tcg" while running, else "" */
	uint64_t cpu_time_ns;	/* CPU time used so far, when known */
	long long started;	/* when it started, seconds since the epoch; 0 unknown */
	char detail[1024];	/* crashed: the tail of the log; else notes */
};

/* A domain as a host reports it (libvirt hosts own their domain list; the
 * inventory caches it). */
struct hv_domain {
	char uuid[UUID_STR_LEN];
	char *name;
	enum hv_state state;
	int id;			/* libvirt domain id while running, else -1 */
	int vcpus;
	int64_t memory_mib;	/* current */
	int64_t max_memory_mib;
	bool autostart;
	bool persistent;
	/* Filled by list when the host gives it cheaply (bulk stats), else 0. */
	uint64_t cpu_time_ns;
};

enum hv_event_kind {
	HV_EV_STATE,		/* UUID changed state to STATE */
	HV_EV_DEFINED,		/* a domain appeared or its definition changed */
	HV_EV_UNDEFINED,	/* a domain went away */
	HV_EV_CLOSED,		/* the connection died: REASON says why */
};

struct hv_event {
	enum hv_event_kind kind;
	char uuid[UUID_STR_LEN];
	enum hv_state state;
	char reason[256];
};

/* Called from a backend thread, never the UI thread: hand the event over
 * (copy it) and return quickly. */
typedef void (*hv_event_cb)(const struct hv_event *ev, void *arg);

struct hv;

/* Told the state ST of V[I] (see status_all). */
typedef void (*hv_status_fn)(size_t i, const struct hv_status *st, void *arg);

/* A storage volume to make on a libvirt host (or, for hv_vol_open_write, a
 * disk file in the built-in host's images directory). */
struct hv_volume {
	const char *pool;	/* NULL: "default", created when the host has no
				 * pool; built-in: a directory of the images
				 * directory (NULL: the images directory) */
	const char *name;
	const char *format;	/* qcow2 | raw */
	int64_t bytes;		/* the size; 0 with BACKING: the backing file's */
	const char *backing;	/* a path on the host, or a volume of the pool; NULL none */
	const char *upload;	/* a local file whose bytes fill the volume; NULL none */
};

/* One logical CPU of a host, as lscpu -p numbers it. */
struct hv_cpu {
	int cpu, core, socket, node;
};

/* A hugepage pool: pages of one size.  A count the host does not tell is -1. */
struct hv_hugepool {
	int64_t size_kib;
	int64_t total, free, reserved;
};

#define HV_MAX_HUGEPOOLS 8

/* What a host has for its guests: processors, memory, hugepages, KSM. */
struct hv_host_info {
	char arch[32];
	char model[128];	/* the CPU model; "" unknown */
	int mhz;		/* 0 unknown */
	int ncpus;		/* logical CPUs online */
	int sockets;		/* per NUMA node, as virsh nodeinfo counts them */
	int cores;		/* per socket */
	int threads;		/* per core */
	int nodes;		/* NUMA nodes */
	struct hv_cpu *cpu;	/* each online CPU, by number (allocated) */
	size_t ncpu;
	int64_t mem_total_kib, mem_free_kib;
	struct hv_hugepool pools[HV_MAX_HUGEPOOLS];
	size_t npools;
	bool ksm_known;		/* the built-in host: /sys/kernel/mm/ksm */
	bool ksm_run;
	int64_t ksm_shared, ksm_sharing, ksm_full_scans;
};

/* What C's tuning covers, for the tune op.  Pins and the balloon reach a
 * running VM at once; hugepages and the maximum memory wait for its next
 * start. */
enum {
	HV_TUNE_PINS = 1 << 0,		/* vCPU and emulator pins */
	HV_TUNE_BALLOON = 1 << 1,	/* the balloon target */
	HV_TUNE_HUGEPAGES = 1 << 2,	/* guest memory on hugepages (or not) */
	HV_TUNE_MAXMEM = 1 << 3,	/* the maximum memory (C's memory_mib) */
};

/* One vCPU of a running VM. */
struct hv_vcpu {
	int tid;		/* the thread's id (built-in backend), else 0 */
	int cpu;		/* the host CPU it ran on last; -1 unknown */
	struct cpuset affinity;	/* the host CPUs it may run on */
	bool pinned;		/* the host itself pins it there (libvirt: the
				 * domain's pin, whoever set it); false: it may
				 * run anywhere, or the backend does not say */
};

/* A running VM's tuning as the host sees it; an unknown number is -1. */
struct hv_tune_state {
	struct hv_vcpu *vcpu;	/* each vCPU (allocated) */
	size_t nvcpu;
	bool emulator_known;
	struct cpuset emulator;	/* where the emulator threads may run */
	bool emulator_pinned;	/* the host pins them there (as vcpu[].pinned) */
	int64_t balloon_kib;	/* the memory the guest has now (balloon actual) */
	int64_t max_kib;	/* the most it can have: the memory it runs with (not
				 * a maximum waiting for its next start) */
	/* The guest's own view, from the balloon driver's statistics. */
	int64_t guest_total_kib, guest_free_kib, guest_available_kib;
};

/* How a VM moves to another host (hv_migrate). */
struct hv_migrate_opts {
	bool copy_storage;	/* disks are not shared: copy them (destination
				 * volumes exist first, same paths) */
	bool postcopy;		/* may switch to post-copy when it does not converge */
	bool auto_converge;	/* slow the guest down until it converges */
	bool keep_source;	/* leave the definition on the source */
	uint64_t bandwidth_mib;	/* MiB/s; 0 no limit */
	const char *uri;	/* where the migration stream goes (tcp://ADDR);
				 * NULL: the destination chooses */
	bool checked;		/* the caller's preflight (migrate_check with these
				 * options) ran just before on this thread: migrate
				 * asks again only what may change in a moment (the
				 * name there) and what the move needs (the disks) */
	/* May be NULL.  With copy_storage, on the migrating thread: PATH of
	 * a volume about to be made on the destination for a copied disk
	 * (MADE true: the caller records it first), and again (MADE false)
	 * once it is no longer this move's to take back: deleted again, or
	 * kept for a domain there.  A failed move whose destination could
	 * not be asked leaves the others to the caller, and its error
	 * message says nothing of them. */
	void (*volume_fn)(const char *path, bool made, void *arg);
	void *volume_arg;
};

/* A migration under way, as the source host reports it; -1 unknown. */
struct hv_migrate_progress {
	const char *phase;	/* "setup", "storage", "memory", "post-copy",
				 * "finishing" (the last steps on both hosts),
				 * "stopping" (a stop asked for, or the
				 * destination gone: under way), "done" */
	int64_t elapsed_ms;
	int64_t mem_total, mem_processed, mem_remaining;	/* bytes */
	int64_t disk_total, disk_processed, disk_remaining;	/* bytes */
	int64_t dirty_rate;	/* pages per second */
	int64_t downtime_ms;	/* expected; when done, the real one */
	bool postcopy;		/* running on the destination already */
};

/* Called about every 500 ms on the migrating thread, and once when done. */
typedef void (*hv_migrate_fn)(const struct hv_migrate_progress *p, void *arg);

/* What the destination has for a VM about to move there; -1 unknown. */
struct hv_migrate_check {
	bool name_taken;	/* a domain of that name (or UUID) exists there */
	bool cpu_ok;		/* the source's CPU model runs there */
	char cpu_why[256];	/* when not */
	int64_t free_kib;	/* the destination's free memory */
	char missing[512];	/* networks or pools the VM uses that it lacks */
	bool shared_storage;	/* every disk path exists there already */
	int64_t copy_bytes;	/* with copy_storage: bytes to copy */
};

/* What a volume's read stream carries (hv_vol_open_read). */
struct hv_vol_info {
	char *format;		/* qcow2 | raw: the one asked for, else the host's */
	char *pool;		/* libvirt: the pool it is in; NULL none (built-in) */
	char *backing;		/* its backing file; NULL none */
	int64_t length;		/* the bytes the stream carries: the file's length */
	int64_t capacity;	/* the disk's size as the guest sees it */
};

/* A volume open as a byte stream (hv_vol_open_read, hv_vol_open_write). */
struct hv_vol;

/*
 * Statistics of a running VM as its host reports them: cumulative
 * counters since the VM (its qemu) started, never rates; the orchestration
 * layer (ops/stats) turns two samples into rates.  A number the host does
 * not give is -1, never 0.
 */
struct hv_disk_stats {
	char name[64];		/* the host's name for the disk: "vda", "disk0" */
	int64_t rd_bytes, wr_bytes, rd_reqs, wr_reqs;
};

struct hv_nic_stats {
	char name[64];		/* "vnet0", "tap0"; built-in user networking: "nic0" */
	/* As the guest sees them (a tap's counters swapped, as libvirt does);
	 * all -1 when the host keeps none (QEMU's user networking). */
	int64_t rx_bytes, tx_bytes, rx_packets, tx_packets;
};

/* A long job of the VM (a migration, a save, a dump, a backup) as the host
 * reports it while it runs: libvirt's virDomainGetJobStats.  TYPE is
 * HV_JOB_NONE when none runs or the host cannot tell (built-in VMs); then
 * nothing else is set.  Times in ms, sizes in bytes; -1 unknown. */
enum hv_job_type {
	HV_JOB_NONE,		/* libvirt's numbers: VIR_DOMAIN_JOB_NONE */
	HV_JOB_BOUNDED,		/* its end is known (time_remaining) */
	HV_JOB_UNBOUNDED,	/* it runs until something stops it */
};

struct hv_job_stats {
	enum hv_job_type type;
	int64_t elapsed_ms, remaining_ms;
	int64_t data_total, data_processed, data_remaining;	/* memory + disk */
	int64_t mem_total, mem_processed, mem_remaining;
	int64_t disk_total, disk_processed, disk_remaining;
};

struct hv_stats {
	bool found;		/* the host knows the VM; else nothing below is set */
	enum hv_state state;
	int64_t cpu_time_ns;	/* the VM's whole CPU time (the qemu process) */
	int nvcpu;		/* vCPUs */
	int64_t *vcpu_time_ns;	/* NVCPU of them, each -1 unknown (allocated) */
	/* Memory, KiB: the balloon's size (actual) and the most it may have;
	 * the guest's own figures from its balloon driver (available: the
	 * memory it sees; usable: what it can use without swapping; unused:
	 * free); rss: the qemu process's resident memory. */
	int64_t mem_actual_kib, mem_max_kib, mem_available_kib, mem_usable_kib,
	    mem_unused_kib, mem_rss_kib;
	struct hv_disk_stats *disk;	/* allocated */
	size_t ndisk;
	struct hv_nic_stats *nic;	/* allocated */
	size_t nnic;
	struct hv_job_stats job;	/* its long job; type HV_JOB_NONE: none */
	char note[256];		/* what the host cannot tell, in a sentence; "" */
};

/* Progress of a long step: STEP ("Copying disk 1 of 2") and PERCENT
 * (0..100, or -1 when unknown), on the thread that called the op. */
typedef void (*hv_progress_fn)(const char *step, int percent, void *arg);

/* What a full clone of a stopped VM on its own host is (hv_clone). */
struct hv_clone_opts {
	const char *name;	/* the new VM's */
	const char *uuid;	/* its UUID */
	/* Disks whose source is FROM[i] (a path on the host) get TO[i]
	 * instead, a volume the caller made (a new cloud-init seed). */
	const char *const *from;
	const char *const *to;
	size_t nswap;
	hv_progress_fn fn;	/* NULL: no progress */
	void *arg;
	const atomic_bool *cancel;	/* set: stop, nothing left */
	/* Told each volume made, at once (the caller records it should
	 * vmtty die before the end); -1 + err stops the clone. */
	int (*made)(const char *path, void *arg);
	void *made_arg;
};

/* One disk of a clone's definition, in the definition's order. */
struct hv_clone_disk {
	char *from;		/* the source's disk: its path, "" for none */
	char *to;		/* the clone's: a new volume, a swap's, or FROM */
	char *format;		/* qcow2, raw, ...; NULL unknown */
	char *bus;		/* the host's word: virtio, sata, ...; NULL unknown */
	bool cdrom;
	bool readonly;
	bool made;		/* TO is the clone's own (a copy or a swap) */
};

struct hv_clone_result {
	struct hv_clone_disk *disks;
	size_t ndisks;
	struct strv macs;	/* of the clone's NICs, in order, as the host chose */
};

struct hv_ops {
	const char *name;
	int (*open)(struct hv *hv);
	void (*close)(struct hv *hv);
	/* Checks that need the host (files exist, disks free, firmware). */
	int (*check)(struct hv *hv, const struct vm_config *c);
	int (*status)(struct hv *hv, const struct vm_config *c, struct hv_status *st);
	/* FN(i, state) for each V[i] of this host, for a long list: a backend
	 * that can tell which VMs are off without asking each one. */
	int (*status_all)(struct hv *hv, const struct vm_summary *v, size_t n, hv_status_fn fn,
	    void *arg);
	/* The state as far as it is known without asking the VM: never blocks,
	 * for the UI thread (running may really be paused). */
	int (*peek)(struct hv *hv, const struct vm_config *c, struct hv_status *st);
	/* Start; NOTE gets a sentence for the user (e.g. TCG instead of KVM). */
	int (*start)(struct hv *hv, const struct vm_config *c, char *note, size_t notelen);
	/* Start C only while it is in state FROM (off, or crashed: its qemu
	 * died), checked under the same lock as every other lifecycle
	 * operation: 0 started, 1 nothing done (C is no longer FROM, or
	 * another vmtty starts or stops it; err says which), -1 + err. */
	int (*start_if)(struct hv *hv, const struct vm_config *c, enum hv_state from, char *note,
	    size_t notelen);
	int (*action)(struct hv *hv, const struct vm_config *c, enum hv_action a);
	/* Is a start or stop of C under way right now, by any process (the
	 * built-in backend: a vmtty holds C's lock)?  Never blocks. */
	bool (*busy)(struct hv *hv, const struct vm_config *c);
	/* The exact command line the backend would run (dry run). */
	int (*argv)(struct hv *hv, const struct vm_config *c, struct strv *out);
	/* Forget runtime leftovers of a VM about to be deleted. */
	int (*undefine)(struct hv *hv, const struct vm_config *c);
	/* A path that receives the guest's serial output, if the backend keeps one. */
	int (*serial_log)(struct hv *hv, const struct vm_config *c, char *path, size_t len);
	/* The host's own list of domains (libvirt).  Allocated array. */
	int (*list)(struct hv *hv, struct hv_domain **out, size_t *n);
	/* Create or update the host's definition of C (libvirt: domain XML,
	 * validated by libvirt); C->uuid is kept. */
	int (*define)(struct hv *hv, const struct vm_config *c);
	/* Change the host's definition of a VM from OLD to C, touching only
	 * what differs (libvirt: the domain's own XML, edited in place, so
	 * what vmtty does not model stays); NULL: define C. */
	int (*redefine)(struct hv *hv, const struct vm_config *old, const struct vm_config *c);
	/* The backend's own description of C: libvirt domain XML.  Allocated. */
	int (*describe)(struct hv *hv, const struct vm_config *c, char **out);
	int (*set_autostart)(struct hv *hv, const struct vm_config *c, bool on);
	/* Deliver lifecycle events and connection loss to CB until close:
	 * once close returns, CB is not running and never runs again. */
	int (*watch)(struct hv *hv, hv_event_cb cb, void *arg);
	/* A byte stream to the guest's serial console (non-blocking fd). */
	int (*console_open)(struct hv *hv, const struct vm_config *c, bool force, int *fd);
	/* Storage pools, for provisioning (names allocated). */
	int (*pool_list)(struct hv *hv, char ***names, size_t *n);
	/* Make volume V; *PATH gets its path on the host (allocated). */
	int (*volume_create)(struct hv *hv, const struct hv_volume *v, char **path);
	/* Delete the volume at PATH on the host. */
	int (*volume_delete)(struct hv *hv, const char *path);
	/* A connected fd to the guest's graphical display, an RFB (VNC) server. */
	int (*graphics_open)(struct hv *hv, const struct vm_config *c, int *fd);
	/* The host's processors, memory, hugepages and KSM. */
	int (*host_info)(struct hv *hv, struct hv_host_info *out);
	/* Turn KSM on or off on the host (root only). */
	int (*ksm_set)(struct hv *hv, bool on);
	/* Apply WHAT (HV_TUNE_*) of C's tuning to the VM now: pins and the
	 * balloon to a running VM at once, and every part for its next start
	 * (libvirt: into its definition, in place, nothing else of it
	 * changed; the built-in backend's definition is the inventory row,
	 * the caller's); start re-applies them as well. */
	int (*tune)(struct hv *hv, const struct vm_config *c, unsigned what);
	/* A running VM's vCPUs, pins and memory (allocated parts in OUT). */
	int (*tune_state)(struct hv *hv, const struct vm_config *c, struct hv_tune_state *out);
	/* What DST has for C about to move there from HV (both hosts of this
	 * backend). */
	int (*migrate_check)(struct hv *hv, struct hv *dst, const struct vm_config *c,
	    const struct hv_migrate_opts *o, struct hv_migrate_check *out);
	/* Move running C to DST, live; FN gets the progress.  On failure C
	 * runs on HV as before and DST has no part of it. */
	int (*migrate)(struct hv *hv, struct hv *dst, const struct vm_config *c,
	    const struct hv_migrate_opts *o, hv_migrate_fn fn, void *arg);
	/* Stop C's migration (from another thread): migrate then fails. */
	int (*migrate_abort)(struct hv *hv, const struct vm_config *c);
	/*
	 * Snapshots (model/snapshot.h).  A libvirt host keeps its own tree
	 * (snapshot_list); the built-in backend keeps none: the inventory's
	 * records of C (ALL, N) come in, and the caller records what changed.
	 * create: S comes with name, description and kind; the backend fills
	 * created, vm_state, size, parent and files, and the built-in backend
	 * may move C's disks onto new overlay files (C's disk paths change).
	 * revert: the disks (and, for a full snapshot of a running VM, the RAM
	 * and state) as they were at NAME; C's disk paths may change.  delete:
	 * NAME gone (with its descendants when CHILDREN), its data merged where
	 * a child needs it, never a file another snapshot or VM still needs;
	 * *ALL and *N rewritten (parents, files) for the caller to record.  A
	 * backend that cannot do one safely refuses before touching anything.
	 * A merge cut short by a failure leaves *ALL and C describing what is
	 * on the host, for the caller to record all the same.  Files in
	 * hv->keep (other VMs') are never changed or removed: an operation
	 * that would is refused naming the VM.
	 */
	int (*snapshot_list)(struct hv *hv, const struct vm_config *c, struct vm_snapshot **out,
	    size_t *n);
	int (*snapshot_create)(struct hv *hv, struct vm_config *c, const struct vm_snapshot *all,
	    size_t n, struct vm_snapshot *s);
	int (*snapshot_revert)(struct hv *hv, struct vm_config *c, const struct vm_snapshot *all,
	    size_t n, const char *name);
	int (*snapshot_delete)(struct hv *hv, struct vm_config *c, struct vm_snapshot **all,
	    size_t *n, const char *name, bool children);
	/*
	 * Snapshot S of C that process PID was taking when it died (S: name,
	 * kind, parent, description, created; files: C's disk paths when it
	 * began; OVERLAYS: the overlay files it was to make, one line per
	 * disk, "" for none; NULL: none), settled on the host: 1 when the host
	 * has S whole (S gets files, vm_state and size, and C's disk paths
	 * move onto the overlays its qemu writes to), 0 when what was made of
	 * it is gone (never a file C or another VM uses).  NOTE (LEN) gets a
	 * few words on what was done.  -1 + err when it cannot be settled now
	 * (QEMU is still saving it): the caller tries again later.
	 */
	int (*snapshot_recover)(struct hv *hv, struct vm_config *c, struct vm_snapshot *s,
	    const char *overlays, int64_t pid, char *note, size_t len);
	/* Volumes as byte streams, for cold moves between hosts (each
	 * stream is the backend's own pointer, used by one thread).  Open
	 * the disk at PATH on the host for reading; FORMAT is what the VM
	 * says it is (NULL: the host's word).  INFO gets what it is. */
	int (*vol_open_read)(struct hv *hv, const char *path, const char *format,
	    struct hv_vol_info *info, void **st);
	/* Make volume V (V->bytes its capacity; no backing, no upload) and
	 * open it to be filled with LENGTH bytes; *PATH gets its path. */
	int (*vol_open_write)(struct hv *hv, const struct hv_volume *v, int64_t length,
	    char **path, void **st);
	/* Up to LEN bytes: how many, 0 at the end, -1 + err. */
	ssize_t (*vol_read)(struct hv *hv, void *st, void *buf, size_t len);
	/* All LEN bytes, or -1 + err. */
	int (*vol_write)(struct hv *hv, void *st, const void *buf, size_t len);
	/* End ST.  A write stream closed with OK finishes the volume (-1 +
	 * err when it cannot, and then removes it); without OK it removes
	 * the volume it made. */
	int (*vol_close)(struct hv *hv, void *st, bool ok);
	/* The disks of C's definition on the host, as paths ("network disk
	 * ..." for one that is no file): the host's word, not the inventory's. */
	int (*disk_paths)(struct hv *hv, const struct vm_config *c, struct strv *out);
	/* The statistics of VMS[i] into OUT[i] (zeroed by the caller) for
	 * each of the N, in one pass over the host (libvirt: one bulk call):
	 * a VM the host does not know gets found false.  -1 + err only when
	 * the host cannot say anything. */
	int (*stats)(struct hv *hv, const struct vm_config *const *vms, size_t n,
	    struct hv_stats *out);
	/* A full clone of stopped C on its host, defined there: each writable
	 * disk copied into a new volume of its pool (a disk in no pool is
	 * refused before anything is made), CD-ROMs and read-only disks
	 * shared unless O swaps them, the rest of C's definition kept but its
	 * name, UUID and MAC addresses.  OUT gets the clone's disks and MACs.
	 * On failure or cancel nothing of it is left on the host. */
	int (*clone)(struct hv *hv, const struct vm_config *c, const struct hv_clone_opts *o,
	    struct hv_clone_result *out);
};

/* A file another VM of the inventory needs: its disk, a file its
 * snapshots keep, or a backing file of those. */
struct hv_keep {
	const char *path;
	const char *vm;		/* who needs it */
};

struct hv {
	const struct hv_ops *ops;
	struct host host;	/* a copy, owned */
	void *priv;
	/* hv_watch's argument, freed by hv_close after the backend closed. */
	void *watch_arg;
	void (*watch_free)(void *arg);
	/* Set by the orchestration layer around a snapshot operation
	 * (hv_keep_set; borrowed): the files other VMs need. */
	const struct hv_keep *keep;
	size_t nkeep;
	/* Set by the orchestration layer around a snapshot create
	 * (hv_note_set): told the files the backend is about to make, one
	 * line per disk ("" for none), before it makes any; -1 + err from it
	 * stops the create before anything is made. */
	int (*note)(const char *files, void *arg);
	void *note_arg;
};

extern const struct hv_ops hv_qemu_ops;
/* hv_libvirt_ops lives in the vmtty-libvirt.so plugin (src/hv/libvirt*.c). */

/* Open the backend for HOST (copied).  NULL + err. */
struct hv *hv_open(const struct host *host);
void hv_close(struct hv *hv);

/*
 * What a host asks the user while connecting: a user name, a password, a
 * key's passphrase, whether to trust a host key (libvirt's auth callback).
 * The asker runs on the connecting (worker) thread and may block until the
 * user answers.  It returns the answer (allocated; the caller zeroes and
 * frees it), or NULL + err when nobody can answer or the user declined.
 */
struct hv_question {
	const char *host;	/* the host's name in vmtty */
	const char *uri;
	const char *prompt;	/* libvirt's words, without a trailing ": " */
	const char *def;	/* the default answer, or NULL */
	bool echo;		/* false: a secret, never shown */
};

typedef char *(*hv_ask_fn)(const struct hv_question *q, void *arg);
/* Who answers (the TUI: an overlay); NULL: the terminal, one question at a
 * time, on /dev/tty (never stdin). */
void hv_set_asker(hv_ask_fn fn, void *arg);
char *hv_ask(const struct hv_question *q);
/* True while no asker is set: questions go to the terminal, and so may
 * those of programs a backend runs (ssh). */
bool hv_asks_on_terminal(void);
/* Questions open right now: a connect deadline waits while the user
 * answers. */
int hv_asking(void);

const char *hv_state_name(enum hv_state s);
const char *hv_action_name(enum hv_action a);
/* "shutdown" -> HV_SHUTDOWN; -1 when unknown. */
int hv_action_parse(const char *name, enum hv_action *a);

int hv_check(struct hv *hv, const struct vm_config *c);
int hv_status(struct hv *hv, const struct vm_config *c, struct hv_status *st);
/* FN(i, state) for each V[i] on HV's host (V may hold other hosts' VMs):
 * through status_all, else VM by VM; a VM whose state cannot be read is
 * skipped.  -1 + err when the host cannot say anything. */
int hv_status_all(struct hv *hv, const struct vm_summary *v, size_t n, hv_status_fn fn,
    void *arg);
/* Without a peek op, -1 (the caller keeps what it knew). */
int hv_peek(struct hv *hv, const struct vm_config *c, struct hv_status *st);
int hv_start(struct hv *hv, const struct vm_config *c, char *note, size_t notelen);
/* The start_if op: a supervisor's start that never overrides what someone
 * else did meanwhile (a backend without it says so). */
int hv_start_if(struct hv *hv, const struct vm_config *c, enum hv_state from, char *note,
    size_t notelen);
int hv_action(struct hv *hv, const struct vm_config *c, enum hv_action a);
/* The busy op; false for a backend without it. */
bool hv_busy(struct hv *hv, const struct vm_config *c);
int hv_argv(struct hv *hv, const struct vm_config *c, struct strv *out);
int hv_undefine(struct hv *hv, const struct vm_config *c);
int hv_serial_log(struct hv *hv, const struct vm_config *c, char *path, size_t len);
int hv_list(struct hv *hv, struct hv_domain **out, size_t *n);
void hv_domains_free(struct hv_domain *d, size_t n);
/* D's N domains as the inventory's cache rows (vm_cache_sync); the rows
 * point into D.  Free the array alone. */
struct vm_seen *hv_domains_seen(const struct hv_domain *d, size_t n);
int hv_define(struct hv *hv, const struct vm_config *c);
int hv_redefine(struct hv *hv, const struct vm_config *old, const struct vm_config *c);
int hv_describe(struct hv *hv, const struct vm_config *c, char **out);
int hv_set_autostart(struct hv *hv, const struct vm_config *c, bool on);
/* CB(EV, ARG) on a backend thread for each event until hv_close, which
 * then calls FREE(ARG) (may be NULL), as libvirt's free callbacks do: ARG
 * lives as long as the backend may use it, even when the backend outlives
 * its caller.  On failure ARG stays the caller's. */
int hv_watch(struct hv *hv, hv_event_cb cb, void *arg, void (*free_arg)(void *arg));
int hv_console_open(struct hv *hv, const struct vm_config *c, bool force, int *fd);
int hv_pool_list(struct hv *hv, char ***names, size_t *n);
int hv_volume_create(struct hv *hv, const struct hv_volume *v, char **path);
int hv_volume_delete(struct hv *hv, const char *path);
/* A VM without graphics (graphics=none) gets a sentence saying so. */
int hv_graphics_open(struct hv *hv, const struct vm_config *c, int *fd);
int hv_host_info(struct hv *hv, struct hv_host_info *out);
void hv_host_info_clear(struct hv_host_info *hi);
int hv_ksm_set(struct hv *hv, bool on);
/* WHAT (HV_TUNE_*) of C's tuning onto the VM: a running VM gets pins and
 * the balloon at once, and every part waits for its next start (see the
 * tune op).  Never a whole new definition: a libvirt domain keeps all
 * that vmtty's model does not know of it. */
int hv_tune(struct hv *hv, const struct vm_config *c, unsigned what);
int hv_tune_state(struct hv *hv, const struct vm_config *c, struct hv_tune_state *out);
void hv_tune_state_clear(struct hv_tune_state *ts);

/* Migration between two hosts of the same backend (libvirt). */
int hv_migrate_check(struct hv *hv, struct hv *dst, const struct vm_config *c,
    const struct hv_migrate_opts *o, struct hv_migrate_check *out);
int hv_migrate(struct hv *hv, struct hv *dst, const struct vm_config *c,
    const struct hv_migrate_opts *o, hv_migrate_fn fn, void *arg);
int hv_migrate_abort(struct hv *hv, const struct vm_config *c);
/* The files other VMs need, for the operations that follow (K borrowed
 * until the next call; NULL, 0: none). */
void hv_keep_set(struct hv *hv, const struct hv_keep *k, size_t n);
/* The VM that needs PATH among hv->keep (the same file), or NULL. */
const char *hv_kept(const struct hv *hv, const char *path);
int hv_snapshot_list(struct hv *hv, const struct vm_config *c, struct vm_snapshot **out,
    size_t *n);
int hv_snapshot_create(struct hv *hv, struct vm_config *c, const struct vm_snapshot *all,
    size_t n, struct vm_snapshot *s);
int hv_snapshot_revert(struct hv *hv, struct vm_config *c, const struct vm_snapshot *all,
    size_t n, const char *name);
int hv_snapshot_delete(struct hv *hv, struct vm_config *c, struct vm_snapshot **all,
    size_t *n, const char *name, bool children);
int hv_snapshot_recover(struct hv *hv, struct vm_config *c, struct vm_snapshot *s,
    const char *overlays, int64_t pid, char *note, size_t len);
/* Who hears of the files a snapshot create is about to make (NULL: none). */
void hv_note_set(struct hv *hv, int (*fn)(const char *files, void *arg), void *arg);

/*
 * Volumes as byte streams (cold moves).  A stream belongs to one thread;
 * hv_vol_close ends it whatever happens (NULL is fine).  A write stream
 * closed with OK keeps the volume only when it was filled with exactly the
 * announced length; closed without OK it takes the volume back.
 */
struct hv_vol *hv_vol_open_read(struct hv *hv, const char *path, const char *format,
    struct hv_vol_info *info);
struct hv_vol *hv_vol_open_write(struct hv *hv, const struct hv_volume *v, int64_t length,
    char **path);
ssize_t hv_vol_read(struct hv_vol *v, void *buf, size_t len);
int hv_vol_write(struct hv_vol *v, const void *buf, size_t len);
int hv_vol_close(struct hv_vol *v, bool ok);
void hv_vol_info_clear(struct hv_vol_info *info);
int hv_disk_paths(struct hv *hv, const struct vm_config *c, struct strv *out);
/* The counters of each of VMS[0..N) into OUT[0..N) (see the stats op;
 * OUT is cleared first).  A backend without the op says so. */
int hv_stats(struct hv *hv, const struct vm_config *const *vms, size_t n, struct hv_stats *out);
/* Free what the stats op allocated in OUT[0..N) and zero them. */
void hv_stats_clear(struct hv_stats *out, size_t n);
/* Allocate S's arrays: NVCPU vCPU times (-1), NDISK disks, NNIC NICs
 * (their counters -1), for the backends. */
void hv_stats_alloc(struct hv_stats *s, int nvcpu, size_t ndisk, size_t nnic);

/* A full clone of stopped C on its own host (the clone op); OUT zeroed
 * first, cleared on failure.  A backend without the op says so. */
int hv_clone(struct hv *hv, const struct vm_config *c, const struct hv_clone_opts *o,
    struct hv_clone_result *out);
/* Free R's parts and zero it. */
void hv_clone_result_clear(struct hv_clone_result *r);

/* The state named NAME ("running", ...); HV_UNKNOWN when not one. */
enum hv_state hv_state_parse(const char *name);

#endif
