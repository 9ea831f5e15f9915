/* template: VM templates, small INI files that give a new VM its defaults
 * (machine, CPUs, memory, disk, network, how it installs).  The format is
 * documented in vmtty-templates(5). */
#ifndef VMTTY_TEMPLATE_H
#define VMTTY_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

struct vm_config;

#define TEMPLATE_MAX_DISK_GIB 65536	/* 64 TiB */

enum template_source {
	TPL_ISO,		/* boot an installer from a CD-ROM image */
	TPL_CLOUD_IMAGE,	/* copy a cloud image, configure it with cloud-init */
	TPL_DISK,		/* boot an existing disk image */
	TPL_KERNEL,		/* direct kernel boot: kernel, initrd, cmdline */
	TPL_EMPTY,		/* nothing: a blank machine */
};

struct template {
	char *name;		/* the file name without ".ini" */
	char *label;		/* one line for lists; defaults to the name */
	char *notes;		/* NULL: none */
	char *file;		/* the file it was loaded from */

	char *machine;		/* q35 | pc */
	char *firmware;		/* bios | uefi */
	char *accel;		/* auto | kvm | tcg */
	int cpus;
	int64_t memory_mib;

	int64_t disk_gib;	/* a new disk (or a grown cloud image); 0: none */
	char *disk_bus;		/* virtio | scsi | sata | ide | nvme */
	char *disk_format;	/* qcow2 | raw */

	char *net_mode;		/* user | bridge | network | none */
	char *nic_model;	/* virtio-net | e1000 | e1000e | rtl8139 */
	char *net_source;	/* bridge or libvirt network name; NULL: none */
	char *forwards;		/* "tcp:2222:22,..."; NULL: none */

	char *graphics;		/* vnc | none */

	enum template_source source;
	char *url;		/* where to get the ISO or image; NULL: none */
	char *checksum_url;	/* its distribution's SHA256SUMS / SHA512SUMS; NULL: none */
	char *checksum;		/* "sha256:HEX" | "sha512:HEX"; NULL: none */
	char *cmdline;		/* kernel sources only; NULL: none */
};

/* Parse one file into OUT (cleared first).  -1 + err "template 'PATH',
 * line N: ..." for syntax errors, unknown sections or keys, repeated ones
 * and bad values; the message names the key and what is allowed. */
int template_load_file(const char *path, struct template *out);

/* Every template in DIRS (NULL-terminated, in order of increasing
 * priority; a template in a later directory replaces the one of the same
 * name in an earlier one), sorted by name, into *OUT and *N.  Missing
 * directories are skipped.  Files that cannot be loaded do not stop the
 * others: their messages are collected into *ERRORS and *NERRORS (both
 * may be NULL to drop them), and a broken file still hides a template of
 * the same name from a lower-priority directory, so that what is listed
 * is what template_find gives.  Returns 0. */
int template_list(const char *const *dirs, struct template **out, size_t *n,
    char ***errors, size_t *nerrors);
/* The template NAME from the highest-priority directory that has it. */
int template_find(const char *const *dirs, const char *name, struct template *out);

/* The directories to search, NULL-terminated, in order of increasing
 * priority: VMTTY_DATADIR/templates, the source tree's share/templates
 * when the running binary is build/vmtty in a source tree, and
 * $XDG_CONFIG_HOME/vmtty/templates.  Free with template_dirs_free. */
char **template_dirs(void);
void template_dirs_free(char **dirs);

/* Give C, fresh from vm_config_init, the template's defaults: machine,
 * firmware, accelerator, vCPUs, memory, graphics, a NIC unless the
 * network mode is none, the kernel command line of kernel sources and
 * the template's name.  The name, host, disks and kernel are the
 * caller's. */
void template_apply(const struct template *t, struct vm_config *c);

/* "iso", "cloud-image", "disk", "kernel" or "empty". */
const char *template_source_name(enum template_source s);

void template_clear(struct template *t);
void template_list_free(struct template *t, size_t n);
void template_errors_free(char **errors, size_t n);

#endif
