/* qemu: the built-in backend.  vmtty starts qemu-system-x86_64 itself
 * (argv, never a shell) as a daemon with QMP, serial and VNC on unix
 * sockets in a private runtime directory, and finds it again by pidfile. */
#ifndef VMTTY_QEMU_H
#define VMTTY_QEMU_H

#include <stdbool.h>
#include <stddef.h>

#include "hv/hv.h"
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

/* Does a qemu of ours run in runtime directory DIR?  *PID gets its pid;
 * UUID and NAME (either may be NULL) the VM's, from its command line. */
bool qemu_dir_running(const char *dir, int *pid, char *uuid, size_t uuidlen, char *name,
    size_t namelen);

/*
 * Follow the QMP events of every VM running under BASE, on a thread of its
 * own: each VM's long-lived event socket is connected when its qemu
 * appears, and CB gets HV_EV_STATE for a pause, resume, reset, power-down,
 * shutdown or balloon change, and when a qemu goes away.  NULL + err.
 */
struct qemu_watch;
struct qemu_watch *qemu_watch_start(const char *base, hv_event_cb cb, void *arg);
/* Stop the thread and close every connection (NULL is fine). */
void qemu_watch_stop(struct qemu_watch *w);

#endif
