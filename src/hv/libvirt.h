/* libvirt: the backend for libvirt hosts (any libvirt URI).  The domain
 * XML is generated from a vm_config by a pure function, so that fixtures
 * can pin it down and the CLI can show it; everything else lives behind
 * hv_libvirt_ops. */
#ifndef VMTTY_LIBVIRT_H
#define VMTTY_LIBVIRT_H

#include <stdbool.h>
#include <stddef.h>

#include "hv/hv.h"
#include "model/vm.h"
#include "util/strv.h"

/* What the XML depends on besides the VM, resolved by the caller so that
 * the generator stays a pure function (and fixture-testable). */
struct libvirt_env {
	const char *type;	/* "kvm" or "qemu": see libvirt_domain_type */
	const char *serial_log;	/* a file on the host for the serial output, or NULL */
};

/* The domain XML of C, marked as tuned by vmtty (LIBVIRT_TUNING_NS).
 * Every value is escaped.  0 and *OUT allocated, or
 * -1 + err for what libvirt 9.0 cannot express (an NVMe disk, port
 * forwards on user networking, a control character, bad vCPU pins). */
int libvirt_domain_xml(const struct vm_config *c, const struct libvirt_env *env, char **out);

/* The storage volume XML of V (its backing file in BACKING_FORMAT);
 * every value escaped.  Allocated. */
char *libvirt_volume_xml(const struct hv_volume *v, const char *backing_format);

/* The XML asking libvirt for snapshot NAME with DESCRIPTION (NULL or ""
 * none); everything else is libvirt's default (internal on qcow2 disks, or
 * the flags' choice).  Every value escaped.  Allocated. */
char *libvirt_snapshot_xml(const char *name, const char *description);

/* Snapshot XML XML (virDomainSnapshotGetXMLDesc) into S (cleared first):
 * name, parent, description, created, kind, the VM's state then (NULL
 * when the XML does not say); current false, size -1, files NULL.
 * *EXTERNAL: its memory or a disk is in a file of its own (libvirt's
 * "external" location).  0, or -1 + err when it does not parse. */
int libvirt_snapshot_read(const char *xml, struct vm_snapshot *s, bool *external);

/* Where a qemu:///system daemon (local or remote) lets virtlogd keep the
 * serial output of domain NAME: allocated, or NULL for other URIs (a
 * session daemon's log directory is the remote user's, unknown here). */
char *libvirt_serial_log_path(const char *uri, const char *name);

/* Set up libxml2 once for every thread.  libvirt parses XML with it too
 * (the test driver its files, while connecting), and two threads setting it
 * up at once race, so this runs before libvirt is first used. */
void libvirt_xml_init(void);

/* True when capabilities XML CAPS offers <domain type='kvm'> for an
 * x86_64 guest; false for NULL or XML that does not parse. */
bool libvirt_caps_have_kvm(const char *caps);

/* The first VNC display in a domain's XML, as libvirt reports it. */
struct libvirt_vnc {
	bool unix_socket;	/* it listens on a unix socket */
	int port;		/* its TCP port; 0 when none (yet) */
	char listen[64];	/* its listen address; "" when none */
};

/* Read the VNC display of VM's domain XML XML into V: 1, 0 when the
 * domain has none, -1 + err when the XML does not parse. */
int libvirt_xml_vnc(const char *xml, const char *vm, struct libvirt_vnc *v);

/* The format type of storage volume XML XML (/volume/target/format) into
 * OUT: 0, or -1 + err when it does not parse or names none. */
int libvirt_volume_format(const char *xml, char *out, size_t len);

/* ACCEL auto|kvm|tcg -> "kvm" or "qemu": auto picks kvm only when the
 * host's capabilities (CAPS, may be NULL) offer it and, for a host that is
 * this machine (LOCAL), the CPU really has vmx or svm. */
const char *libvirt_domain_type(const char *accel, const char *caps, bool local);

/*
 * What the host's capabilities XML CAPS tells into HI: arch, CPU model,
 * each online CPU with its core, socket and NUMA node (HI->cpu, allocated,
 * by number; CPUs without a socket are offline), and the hugepage pools:
 * every page size but the smallest (the base page), smallest first, each
 * with its total summed over the cells' <pages> (-1 when no cell counts
 * it), free and reserved -1.  The number of NUMA cells, or -1 + err when
 * it does not parse.
 */
int libvirt_caps_host(const char *caps, struct hv_host_info *hi);

/*
 * The namespace of vmtty's mark in a domain's <metadata>: parts of the
 * domain's tuning are the inventory's.  <vmtty:tuning/> gives every part
 * (vmtty defined the domain); <vmtty:tuning parts='pins balloon'/> the
 * parts named (vmtty was asked to tune those of a domain defined
 * elsewhere).  A part that is not the inventory's stays the domain's own.
 */
#define LIBVIRT_TUNING_NS "urn:x-vmtty:tuning:1"

enum {
	LIBVIRT_TUNE_PINS = 1 << 0,	/* the vCPU and emulator pins (<cputune>) */
	LIBVIRT_TUNE_HUGEPAGES = 1 << 1,	/* <memoryBacking><hugepages> */
	LIBVIRT_TUNE_ADOPT = 1 << 2,	/* the parts asked for become the inventory's */
	LIBVIRT_TUNE_BALLOON = 1 << 3,	/* <currentMemory>: the balloon target */
	LIBVIRT_TUNE_MEMORY = 1 << 4,	/* <memory>: C's memory, the maximum
					 * (asked for, never a part to adopt) */
};

/*
 * Domain XML XML of VM C with WHAT (LIBVIRT_TUNE_*) of C's tuning in it,
 * each part only when it is the inventory's: the mark gives it, C has
 * some of it, or ADOPT (the mark then names it).  Pins: C's vCPU and
 * emulator pins as the only pins of <cputune> (an unpinned vCPU has
 * none); hugepages; balloon: <currentMemory> at C's balloon target (all of
 * <memory> for 0); memory: <memory> at C's memory_mib, <currentMemory>
 * following it when it had all of the old one (refused for a domain whose
 * NUMA cells size its memory).  Everything else stays as it was.
 * Returns 1 when some of it is the inventory's (or MEMORY), with *OUT the
 * changed XML (allocated) or NULL when XML has all that already; 0 when
 * none is (*OUT NULL: leave it); -1 + err when XML does not parse or a
 * part cannot be.
 */
int libvirt_xml_tuning(const char *xml, const struct vm_config *c, unsigned what, char **out);

/*
 * The domain's own definition XML changed from OLD to C as vmtty edit
 * changes a VM, and nothing else: CPUs (<vcpu>, <cpu><topology>), memory
 * (as libvirt_xml_tuning's MEMORY), kernel, initrd and command line,
 * machine, firmware; disks OLD has and C lacks (by path) removed, those C
 * adds copied from GEN (the XML vmtty would define for C) with a target
 * name of their own; NICs likewise (lined up in order); a new boot order
 * from GEN's.  *OUT the changed XML (allocated), NULL when nothing
 * changed; 0, or -1 + err.
 */
int libvirt_xml_edit(const char *xml, const char *gen, const struct vm_config *old,
    const struct vm_config *c, char **out);

/* One disk of a domain's definition (libvirt_xml_disks). */
struct libvirt_disk {
	char *type;		/* file | block | volume | network | ...; NULL unknown */
	char *device;		/* disk | cdrom | floppy | lun */
	char *source;		/* file or block: its path; NULL none (an empty drive) */
	char *pool, *volume;	/* volume: its pool and name */
	char *format;		/* <driver type>; NULL */
	char *target;		/* "vda"; NULL */
	char *bus;		/* virtio, sata, ...; NULL */
	bool readonly, shareable;
};

/* The disks of domain XML XML (libvirt's word for WHAT, "the definition of
 * VM 'x'"), in order, into *OUT (allocated, libvirt_disks_free).  0, or -1
 * + err when it does not parse. */
int libvirt_xml_disks(const char *xml, const char *what, struct libvirt_disk **out, size_t *n);
void libvirt_disks_free(struct libvirt_disk *d, size_t n);

/* The MAC address of each interface of domain XML XML, in order ("" for
 * one without), added to OUT.  0, or -1 + err. */
int libvirt_xml_macs(const char *xml, const char *what, struct strv *out);

/* A new source for one disk of a definition (libvirt_xml_clone). */
struct libvirt_disk_source {
	size_t index;		/* the disk's position among the domain's disks */
	const char *path;	/* file or block disk: the new path */
	const char *pool, *volume;	/* volume disk: the new volume */
};

/*
 * Domain XML XML of VM VM made a clone's: name NAME, UUID UUID (in
 * <sysinfo> too), no <mac> in its interfaces (libvirt makes new ones), the
 * N disks of SRC on their new sources (their <backingStore> gone: a copy
 * stands alone), and the files named after VM (<log file>, <nvram>) named
 * after NAME.  Everything else stays as it was.  0 and *OUT (allocated),
 * or -1 + err when it does not parse or a disk's source cannot change.
 */
int libvirt_xml_clone(const char *xml, const char *vm, const char *name, const char *uuid,
    const struct libvirt_disk_source *src, size_t n, char **out);

/* A libvirt domain state (virDomainState) as vmtty sees it. */
enum hv_state libvirt_state_map(int state);

/* True when URI names another machine ("qemu+ssh://host/system"); false
 * for "qemu:///system", "test:///default", "qemu+unix:///...". */
bool libvirt_uri_is_remote(const char *uri);

#endif
