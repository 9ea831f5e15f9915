/* vm: a VM's configuration as the inventory keeps it, independent of the
 * backend that runs it, plus list summaries for the front ends. */
#ifndef VMTTY_VM_H
#define VMTTY_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/uuid.h"

struct db;

/* The defaults of a new VM, written once: vm_config_init, templates and
 * provisioning all take them from here. */
#define VM_DEFAULT_MACHINE "q35"
#define VM_DEFAULT_ACCEL "auto"
#define VM_DEFAULT_FIRMWARE "bios"
#define VM_DEFAULT_GRAPHICS "vnc"
#define VM_DEFAULT_CPUS 1
#define VM_DEFAULT_MEMORY_MIB 512
#define VM_DEFAULT_DISK_BUS "virtio"
#define VM_DEFAULT_DISK_FORMAT "qcow2"
#define VM_DEFAULT_NETWORK "user"
#define VM_DEFAULT_NIC_MODEL "virtio-net"

/* The choices of each enumerated field, NULL-terminated: the model checks
 * them, templates and forms offer them. */
extern const char *const vm_machines[], *const vm_accels[], *const vm_firmwares[];
extern const char *const vm_graphics[], *const vm_disk_formats[], *const vm_disk_buses[];
extern const char *const vm_disk_caches[], *const vm_nic_kinds[], *const vm_nic_models[];
/* The trade-off of device choice WORD (a machine type of vm_machines, a
 * disk bus of vm_disk_buses or a NIC model of vm_nic_models) in one short
 * line, "ide: any guest, slowest; not on q35", as the wizard and the edit
 * form show it under the choice; NULL for any other word. */
const char *vm_choice_hint(const char *word);
/* The machine types a libvirt host is offered: libvirt 9.0 cannot define
 * a microvm (hv/libvirt_xml refuses one). */
extern const char *const vm_machines_libvirt[];
/* What `vmtty serve --supervise` does when a built-in VM's qemu dies
 * without a clean shutdown: "leave" (the default) or "restart". */
extern const char *const vm_on_crash[];
#define VM_DEFAULT_ON_CRASH "leave"
/* S is one of vm_on_crash: 0, or -1 + err naming the choices. */
int vm_on_crash_check(const char *s);

#define VM_MAX_CPUS 256
#define VM_MAX_MEMORY_MIB (4LL * 1024 * 1024)	/* 4 TiB */

struct vm_disk {
	char *path;
	char *format;	/* qcow2 | raw */
	char *bus;	/* virtio | scsi | sata | nvme | ide */
	char *cache;	/* NULL (default) | none | writeback | writethrough | directsync | unsafe */
	bool readonly;
	bool cdrom;
	bool owned;	/* vmtty created it: --delete-disks may remove it */
};

struct vm_nic {
	char *kind;	/* user | bridge | tap | network */
	char *model;	/* virtio-net | e1000 | e1000e | rtl8139 */
	char *mac;	/* NULL: generated when started */
	char *source;	/* bridge, tap or libvirt network name */
	char *forwards;	/* user networking: "tcp:2222:22,udp:5353:53" */
};

/* Resource tuning (model/tuning.h has its rules), re-applied at each start. */
struct vm_tuning {
	char *vcpu_pins;	/* "all:0-3;1:2": vCPU ("all" first) -> host CPUs,
				 * canonical; NULL none */
	char *emulator_pin;	/* host CPUs of QEMU's other threads; NULL none */
	int64_t hugepage_kib;	/* guest memory on hugepages of this size; 0 not */
	int64_t balloon_mib;	/* the balloon target; 0: the whole memory */
};

struct vm_config {
	int64_t id;
	int64_t host_id;
	char *host;		/* host name, filled by vm_load */
	char uuid[UUID_STR_LEN];
	char *name;
	char *state;		/* last state seen: off, running, paused, crashed, ... */
	char *machine;		/* q35 | pc | microvm */
	char *accel;		/* auto | kvm | tcg */
	char *firmware;		/* bios | uefi */
	int sockets, cores, threads;
	int64_t memory_mib;	/* the most it may have (libvirt: <memory>); the
				 * balloon target is in TUNING */
	char *kernel, *initrd, *cmdline;
	char *graphics;		/* vnc | none */
	char *boot_order;	/* "cdrom,disk,network": device kinds to boot from, in
				 * order; NULL: the disks in their order */
	char *template_name;
	char *notes;
	char *pending;		/* changes that wait for a restart ("cpus, memory"); NULL none */
	/* The restart policy, in effect at once (never pending).  Built-in
	 * VMs: ON_CRASH (vm_on_crash; NULL: leave) and AUTOSTART, started
	 * when `vmtty serve --supervise` begins.  libvirt VMs: AUTOSTART is
	 * the host's flag (started when the host boots), as last seen. */
	char *on_crash;
	bool autostart;
	struct vm_disk *disks;
	size_t ndisks;
	struct vm_nic *nics;
	size_t nnics;
	struct vm_tuning tuning;
	int64_t created, updated, seen;
};

struct vm_summary {
	int64_t id;
	char *host;
	char *name;
	char uuid[UUID_STR_LEN];
	char *state;
	int cpus;
	int64_t memory_mib;	/* what it has: a libvirt host's word for a domain
				 * (its current memory), else the configured memory */
	int64_t max_memory_mib;	/* the configured memory unless a host says more */
	bool autostart;		/* libvirt: started when its host boots; built-in:
				 * when `vmtty serve --supervise` begins */
	bool restart_on_crash;	/* built-in: on_crash is "restart" */
	bool persistent;	/* false: a transient libvirt domain */
	bool pending;		/* changes wait for the next start */
};

/* A user-networking port forward, "tcp:2222:22" (host port, guest port). */
struct vm_forward {
	char proto[4];		/* tcp | udp */
	int host_port;
	int guest_port;
};

#define VM_MAX_FORWARDS 32

/* Parse "tcp:2222:22,udp:5353:53" into OUT (at most MAX). */
int vm_forwards_parse(const char *s, struct vm_forward *out, size_t max, size_t *n);

/* Defaults: q35, auto accel, bios, 1 vCPU, 512 MiB, vnc. */
void vm_config_init(struct vm_config *c);
void vm_config_clear(struct vm_config *c);
/* A deep copy of SRC into DST (which is overwritten, not cleared). */
void vm_config_copy(struct vm_config *dst, const struct vm_config *src);
struct vm_disk *vm_config_add_disk(struct vm_config *c, const char *path);
struct vm_nic *vm_config_add_nic(struct vm_config *c, const char *kind);
/* Remove disk or NIC I (< ndisks, < nnics); the others keep their order. */
void vm_config_remove_disk(struct vm_config *c, size_t i);
void vm_config_remove_nic(struct vm_config *c, size_t i);
int vm_config_cpus(const struct vm_config *c);
/* The vCPU count and the memory (MiB, or a size such as 2G) as every option,
 * form and template takes them, through util/num.  0, or -1 + err naming the
 * field. */
int vm_parse_cpus(const char *s, int *cpus);
int vm_parse_memory(const char *s, int64_t *mib);
/* What machine type MACHINE (q35, pc, microvm) can hold: a disk on BUS (a
 * CD-ROM when CDROM), a NIC of MODEL, and the VM as a whole (microvm: a
 * kernel to boot directly, no display, no UEFI).  0, or -1 + err naming
 * the thing and what to use instead.  vm_config_validate calls them; the
 * front ends call them to refuse a choice before anything is made. */
int vm_machine_check_disk(const char *machine, const char *bus, bool cdrom);
int vm_machine_check_nic(const char *machine, const char *model);
int vm_machine_check(const struct vm_config *c);
/* One of vm_machine_check's: a microvm has a kernel.  Its sentence ends
 * "give it a kernel", for each front end to add how (--kernel, or the edit
 * form's Kernel field). */
int vm_machine_check_kernel(const struct vm_config *c);
/* Backend-independent checks: name, ranges, enumerations, the machine
 * type's limits; a microvm's kernel last, so that its refusal means that
 * all else is right. */
int vm_config_validate(const struct vm_config *c);
/* vm_config_validate but a microvm's kernel (vm_machine_check_kernel):
 * vmedit tells the two apart, for its front ends to say how to give one. */
int vm_config_validate_but_kernel(const struct vm_config *c);
/* A boot order: "disk", "cdrom" and "network", each at most once, comma
 * separated ("cdrom,disk").  0, or -1 + err naming what is wrong. */
int vm_boot_order_check(const char *order);
/* The interface name of a bridge or tap NIC (KIND names it in the message).
 * 0, or -1 + err. */
int vm_ifname_check(const char *kind, const char *name);
/* The boot position (1, 2, ...) of disk IDX, or of NIC IDX when NIC; 0 when
 * the device is not one to boot from.  A VM with a kernel boots it directly:
 * no device has a position.  Without a boot order the disks (CD-ROMs too)
 * boot in their order, NICs never. */
int vm_boot_index(const struct vm_config *c, bool nic, size_t idx);

/* Insert C (c->host_id set) with disks, NICs and tuning in one
 * transaction; fills c->id and, when empty, c->uuid. */
int vm_insert(struct db *db, struct vm_config *c);
/* Replace the stored configuration of c->id, in one transaction. */
int vm_update(struct db *db, const struct vm_config *c);
int vm_delete(struct db *db, int64_t id);
/* VM ID now lives on host HOST_ID (it migrated), in one transaction: a
 * cached row of the same domain there (seen while it arrived) gives way.
 * 0, or -1 + err. */
int vm_move(struct db *db, int64_t id, int64_t host_id);
/* vm_move, and in the same transaction the journal's entry ACTION with
 * MESSAGE (a success) for VM NAME on host FROM and on host TO: both are
 * written, or nothing is.  0, or -1 + err. */
int vm_move_journaled(struct db *db, int64_t id, int64_t host_id, const char *name,
    const char *from, const char *to, const char *action, const char *message);
/* vm_move of VM C->id with C's devices (a cold move's new disk paths), in
 * the same one transaction.  0, or -1 + err. */
int vm_move_config(struct db *db, const struct vm_config *c, int64_t host_id);
int vm_load(struct db *db, int64_t id, struct vm_config *out);
/* SPEC is "name" when unique, else "host/name". */
int vm_resolve(struct db *db, const char *spec, int64_t *id);
/* Record VM ID's state word; one that is stopped (vm_state_stopped) also
 * takes its pending mark away. */
int vm_set_state(struct db *db, int64_t id, const char *state);
/* VM ID's restart policy: ON_CRASH (vm_on_crash) and AUTOSTART.  0, or
 * -1 + err. */
int vm_set_policy(struct db *db, int64_t id, const char *on_crash, bool autostart);
/* Record changes that wait for VM ID's next start (NULL: none left). */
int vm_set_pending(struct db *db, int64_t id, const char *pending);
/* STATE (a state word: off, crashed, running, ...) has no running VM, so
 * nothing waits for a restart: the pending changes are simply its
 * configuration, and no front end marks them.  NULL (not known): false. */
bool vm_state_stopped(const char *state);
/* The VM most recently made from template TEMPLATE, into *ID; 0 and
 * *ID = 0 when there is none. */
int vm_last_from_template(struct db *db, const char *template_name, int64_t *id);

/* One disk of one VM in the inventory: who uses which path. */
struct vm_disk_ref {
	int64_t vm_id;
	int64_t host_id;
	char *vm;		/* the VM's name */
	char *host;		/* its host's name */
	bool builtin;		/* the host runs the built-in backend */
	char *path;
	char *format;		/* the VM's word: qcow2, raw; NULL unknown */
};

/* Every disk (CD-ROMs too) of every VM in the inventory. */
int vm_disk_refs(struct db *db, struct vm_disk_ref **out, size_t *n);
void vm_disk_refs_free(struct vm_disk_ref *r, size_t n);

/* A domain as a libvirt host reported it, for the inventory's cache. */
struct vm_seen {
	const char *uuid;
	const char *name;
	const char *state;
	int vcpus;
	int64_t memory_mib;	/* current (the balloon's) */
	int64_t max_memory_mib;	/* 0: unknown, taken as MEMORY_MIB; the VM's
				 * memory in its configuration (vm_load) */
	bool autostart;
	bool persistent;
};

/* Make host HOST_ID's VMs in the inventory exactly SEEN, matched by UUID:
 * new ones added, known ones updated, vanished ones removed.  One
 * transaction; *ADDED and *REMOVED (may be NULL) count the changes. */
int vm_cache_sync(struct db *db, int64_t host_id, const struct vm_seen *seen, size_t n,
    size_t *added, size_t *removed);

/* HOST NULL: all hosts.  Sorted by host (local first), then name. */
int vm_list(struct db *db, const char *host, struct vm_summary **out, size_t *n);
void vm_summary_free(struct vm_summary *v, size_t n);

#endif
