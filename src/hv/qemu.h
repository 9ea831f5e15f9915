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

/* How long a power-off waits for qemu to exit, at each signal. */
#define QEMU_STOP_MS 10000

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
	char trace[4096];	/* qemu's stdout and stderr */
	char serial_log[4096];
	char lock[4096];
	char starting[4096];	/* there while a start holds the lock */
};

/* What the argv depends on besides the VM: resolved by the caller so the
 * builder itself is a pure function (and fixture-testable). */
struct qemu_env {
	const char *binary;	/* qemu-system-x86_64 */
	const char *accel;	/* "kvm" or "tcg", already resolved */
	const char *ovmf_code;	/* UEFI only */
	const char *ovmf_vars;	/* UEFI only: this VM's own copy */
	long tsc_khz;		/* a microvm under TCG: the TSC rate its guest is told
				 * (qemu_tsc_khz); 0: not told */
};

/* Runtime paths of VM C under BASE/<first 8 of uuid>/. */
int qemu_run_paths(const char *base, const struct vm_config *c, struct qemu_run *r);
int qemu_build_argv(const struct vm_config *c, const struct qemu_env *env,
    const struct qemu_run *r, struct strv *out);
/* WANT auto|kvm|tcg -> "kvm" or "tcg"; NOTE explains a fallback to TCG.
 * NULL + err when kvm is demanded and unusable. */
const char *qemu_accel_resolve(const char *want, char *note, size_t len);
/* This host's TSC rate in kHz, measured (20 ms), rounded to the MHz: a
 * guest under TCG reads the host's TSC.  0 when it cannot be measured. */
long qemu_tsc_khz(void);
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

/* Process handling (qemu_proc.c), for the backend's operations. */
/* The pid in PIDFILE; 0 when there is none. */
int qemu_read_pidfile(const char *pidfile);
/* /proc/PID/cmdline, NUL-separated, *LEN bytes; NULL when gone. */
char *qemu_proc_cmdline(int pid, size_t *len);
/* PID runs, is a qemu, and its -pidfile is PIDFILE. */
bool qemu_pid_is_ours(int pid, const char *pidfile);
/* The last NLINES lines of FILE, joined with " | ", into BUF. */
void qemu_log_tail(const char *file, int nlines, char *buf, size_t len);
/* A line of vmtty's own in the VM's qemu log. */
void qemu_log_append(const char *file, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Why the qemu (PID) of a crashed VM ended, from its logs. */
void qemu_crash_detail(const struct qemu_run *r, int pid, char *buf, size_t len);
/* The value after PREFIX of option FLAG in command line CMD (CLEN bytes). */
void qemu_cmdline_value(const char *cmd, size_t clen, const char *flag, const char *prefix,
    char *out, size_t len);
/* "kvm" or "tcg": the accelerator qemu PID was started with. */
void qemu_cmdline_accel(int pid, char *out, size_t len);
/* CPU time and start time of qemu PID into ST. */
void qemu_proc_times(int pid, struct hv_status *st);
/* Command line CMD (LEN bytes) has WANT as the file= of a -drive. */
bool qemu_cmdline_uses(const char *cmd, size_t len, const char *want);
/* Remove what a stopped or crashed qemu left in its runtime directory. */
void qemu_clean_runtime(const struct qemu_run *r);
/* Take VM C's lock (one lifecycle operation at a time, across processes):
 * the lock's fd, or -1 + err. */
int qemu_lock_vm(const struct vm_config *c, const struct qemu_run *r);
/* Does some process hold the lock of qemu_lock_vm now (a start or stop is
 * under way)?  Read from /proc/locks: the lock is never touched. */
bool qemu_lock_held(const struct qemu_run *r);
/* Is a start of the VM under way: its marker there (qemu_start_mark)
 * and its lock held?  A marker whose vmtty died mid-start is not one. */
bool qemu_start_under_way(const struct qemu_run *r);
/* Mark a start under way (the caller holds the lock), or unmark it. */
void qemu_start_mark(const struct qemu_run *r, bool on);
/* Make any of the VM's sockets that is looser than 0600 (a qemu an older
 * vmtty started) 0600. */
void qemu_private_sockets(const struct qemu_run *r);
/* The files qemu writes, made fresh (never through a link); *QEMUFD gets
 * the trace file, opened for qemu's stdout and stderr. */
int qemu_fresh_logs(const struct qemu_run *r, int *qemufd);
/* A pidfd for qemu PID once it is checked to be this VM's; -1 if not. */
int qemu_open_ours(const struct qemu_run *r, int pid);
/* Wait up to MS for qemu PID (PIDFD, or -1) to exit. */
bool qemu_gone(const struct qemu_run *r, int pid, int pidfd, long ms);
/* QMP does not answer: SIGTERM, then SIGKILL, through PIDFD; 0 when qemu
 * is gone, else -1 + err. */
int qemu_poweroff_signals(const struct vm_config *c, const struct qemu_run *r, int pid,
    int pidfd);

/* The host (qemu_host.c), read from /proc and /sys under ROOT: "" for
 * this machine, a fake tree in the unit tests. */
int qemu_host_read(const char *root, struct hv_host_info *out);
/* The host's online CPUs.  0, or -1 + err. */
int qemu_host_online(const char *root, struct cpuset *set);
/* Up to MAX hugepage pools, smallest pages first: how many there are. */
size_t qemu_host_hugepools(const char *root, struct hv_hugepool *pools, size_t max);
/* Turn KSM on or off (its run file).  0, or -1 + err. */
int qemu_host_ksm(const char *root, bool on);
/* The CPU a thread last ran on, field 39 of its /proc/PID/task/TID/stat
 * line LINE; -1 when LINE has none. */
int qemu_stat_last_cpu(const char *line);
/* The CPU time (user + system) of a /proc/PID/stat or task stat LINE,
 * ns; -1 when LINE has none. */
int64_t qemu_stat_cpu_ns(const char *line);

/* Disks as byte streams (qemu_vol.c): the ops of the same names in hv.h. */
int qemu_vol_open_read(struct hv *hv, const char *path, const char *format,
    struct hv_vol_info *info, void **st);
int qemu_vol_open_write(struct hv *hv, const struct hv_volume *v, int64_t length, char **path,
    void **st);
ssize_t qemu_vol_read(struct hv *hv, void *st, void *buf, size_t len);
int qemu_vol_write(struct hv *hv, void *st, const void *buf, size_t len);
int qemu_vol_close(struct hv *hv, void *st, bool ok);
int qemu_volume_delete(struct hv *hv, const char *path);
/* $XDG_DATA_HOME/vmtty/images: where the built-in host's disks live
 * (allocated). */
char *qemu_images_dir(void);

/* Tuning (qemu_tune.c).  Besides HV_TUNE_*: ask the guest's balloon driver
 * for its memory statistics, as each start does. */
#define QEMU_TUNE_STATS (1u << 16)
/* What a start of C needs of the host under ROOT: valid tuning, pins on
 * CPUs it has, enough free hugepages of C's size.  0, or -1 + err saying
 * what to do. */
int qemu_tune_preflight(const char *root, const struct vm_config *c);
/* WHAT of C's tuning onto its running qemu PID, whose QMP socket is SOCK. */
int qemu_tune_apply(const struct vm_config *c, const char *sock, int pid, unsigned what);
/* The vCPUs, pins and memory of C's running qemu PID into OUT (its vcpu
 * array allocated). */
int qemu_tune_read(const struct vm_config *c, const char *sock, int pid,
    struct hv_tune_state *out);
struct qmp;
/* The thread id of each vCPU of C's qemu behind Q, by index (0: none;
 * *TIDS allocated), from query-cpus-fast.  0, or -1 + err. */
int qemu_vcpu_threads(struct qmp *q, const struct vm_config *c, int **tids, size_t *n);
/* The balloon's size, the memory qemu runs with and the guest's own
 * figures into TS's memory fields (each -1 when QEMU does not say). */
void qemu_tune_memory(struct qmp *q, struct hv_tune_state *ts);

/* The statistics op of the built-in backend (qemu_stats.c). */
int qemu_stats(struct hv *hv, const struct vm_config *const *vms, size_t n,
    struct hv_stats *out);

/* For the snapshots (qemu_snap.c).  C's runtime paths under the
 * backend's base directory (made and checked). */
int qemu_runtime(struct hv *hv, const struct vm_config *c, struct qemu_run *r);
/* Start C or act on it while the caller holds its lock (qemu_lock_vm). */
int qemu_start_locked(struct hv *hv, const struct vm_config *c, const struct qemu_run *r,
    char *note, size_t notelen);
int qemu_action_locked(struct hv *hv, const struct vm_config *c, const struct qemu_run *r,
    enum hv_action a);
/* The snapshot slots of the built-in backend (hv.h). */
int qemu_snapshot_create(struct hv *hv, struct vm_config *c, const struct vm_snapshot *all,
    size_t n, struct vm_snapshot *s);
int qemu_snapshot_revert(struct hv *hv, struct vm_config *c, const struct vm_snapshot *all,
    size_t n, const char *name);
int qemu_snapshot_recover(struct hv *hv, struct vm_config *c, struct vm_snapshot *s,
    const char *overlays, int64_t pid, char *note, size_t len);
int qemu_snapshot_delete(struct hv *hv, struct vm_config *c, struct vm_snapshot **all,
    size_t *n, const char *name, bool children);

/* qemu-img (qemu_img.c); every read with -U, the image may be in use. */
struct qemu_img_info {
	char format[16];
	int64_t virtual_size, actual_size;	/* bytes; -1 unknown */
	char *backing;		/* the backing file (as the image names it, made
				 * absolute); NULL none */
	char backing_format[16];	/* "" when the image does not say */
	struct strv snapshots;	/* internal snapshots, by name */
	int64_t *vmstate;	/* the saved RAM of each, bytes (0: none) */
};

/* $VMTTY_QEMU_IMG, else qemu-img. */
const char *qemu_img_binary(void);
int qemu_img_info(const char *path, struct qemu_img_info *out);
void qemu_img_info_clear(struct qemu_img_info *i);
/* The saved RAM of internal snapshot TAG, bytes; -1 when I has no TAG. */
int64_t qemu_img_vmstate(const struct qemu_img_info *i, const char *tag);
/* The files of PATH's backing chain, PATH first, as qemu-img names them. */
int qemu_img_chain(const char *path, struct strv *out);
/* The qcow2 header of the image open at FD: 1 with *CAPACITY and
 * *BACKING (the name as the image has it, allocated; NULL none), 0 when FD
 * is no qcow2 image, -1 when the backing name is unreadable. */
int qemu_img_qcow2_header(int fd, int64_t *capacity, char **backing);
/* The external data file qcow2 image PATH keeps its data in (its header
 * extension), made absolute against PATH's directory; NULL when none or
 * PATH is no qcow2 image (allocated). */
char *qemu_img_data_file(const char *path);
/* The same, from the qcow2 headers when they name plain files (no
 * process runs; a file that is no qcow2 image ends the chain), else
 * qemu_img_chain's answer. */
int qemu_img_chain_quick(const char *path, struct strv *out);
/* A new qcow2 PATH of BYTES over qcow2 BACKING, 0600 from birth, made
 * without opening BACKING; nothing is left on failure. */
int qemu_img_overlay(const char *path, const char *backing, int64_t bytes);
/* qemu-img snapshot OP ("-c", "-a", "-d") TAG on PATH. */
int qemu_img_snapshot(const char *op, const char *tag, const char *path);
/* PATH's data kept as it reads, on BACKING (of format BACKING_FMT; NULL:
 * no backing file, PATH then stands alone). */
int qemu_img_rebase(const char *path, const char *backing, const char *backing_fmt);

#endif
