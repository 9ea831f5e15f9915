/* qemu: the built-in backend.  vmtty starts qemu-system-x86_64 itself
 * (argv, never a shell) as a daemon with QMP, serial and VNC on unix
 * sockets in a private runtime directory, and finds it again by pidfile. */
#ifndef VMTTY_QEMU_H
#define VMTTY_QEMU_H

#include <stddef.h>

#include "model/vm.h"
#include "util/strv.h"

/* A unix socket path must fit sockaddr_un.sun_path (108 with the NUL). */
#define QEMU_SOCK_MAX 108

struct qemu_run {
	char dir[4096];
	char qmp[QEMU_SOCK_MAX];	/* short command connections */
	char events[QEMU_SOCK_MAX];	/* a long-lived connection for events */
	char serial[QEMU_SOCK_MAX];
	char vnc[QEMU_SOCK_MAX];
	char pidfile[4096];
	char log[4096];
	char trace[4096];	/* qemu's own -D log */
	char serial_log[4096];
	char lock[4096];
};

/* What the argv depends on besides the VM: resolved by the caller so the
 * builder itself is a pure function (and fixture-testable). */
struct qemu_env {
	const char *binary;	/* qemu-system-x86_64 */
	const char *accel;	/* "kvm" or "tcg", already resolved */
	const char *ovmf_code;	/* UEFI only */
	const char *ovmf_vars;	/* UEFI only: this VM's own copy */
};

/* Runtime paths of VM C under BASE/<first 8 of uuid>/. */
int qemu_run_paths(const char *base, const struct vm_config *c, struct qemu_run *r);
int qemu_build_argv(const struct vm_config *c, const struct qemu_env *env,
    const struct qemu_run *r, struct strv *out);
/* WANT auto|kvm|tcg -> "kvm" or "tcg"; NOTE explains a fallback to TCG.
 * NULL + err when kvm is demanded and unusable. */
const char *qemu_accel_resolve(const char *want, char *note, size_t len);
/* The MAC of NIC IDX when the config gives none: stable per VM. */
void qemu_default_mac(const struct vm_config *c, size_t idx, char out[18]);

#endif
