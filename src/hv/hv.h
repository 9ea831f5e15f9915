/* hv: the backends behind one ops table.  A backend that cannot do
 * something says so ("... is not supported by <backend>"), never pretends.
 * No curses here; the UI and CLI call these and show err_get(). */
#ifndef VMTTY_HV_H
#define VMTTY_HV_H

#include <stdbool.h>

#include "model/host.h"
#include "model/vm.h"
#include "util/strv.h"

enum hv_state {
	HV_OFF,
	HV_RUNNING,
	HV_PAUSED,
	HV_SHUTTING_DOWN,
	HV_CRASHED,
	HV_UNKNOWN,
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
	char detail[1024];	/* crashed: the tail of the log; else notes */
};

struct hv;

struct hv_ops {
	const char *name;
	int (*open)(struct hv *hv);
	void (*close)(struct hv *hv);
	/* Checks that need the host (files exist, disks free, firmware). */
	int (*check)(struct hv *hv, const struct vm_config *c);
	int (*status)(struct hv *hv, const struct vm_config *c, struct hv_status *st);
	/* The state as far as it is known without asking the VM: never blocks,
	 * for the UI thread (running may really be paused). */
	int (*peek)(struct hv *hv, const struct vm_config *c, struct hv_status *st);
	/* Start; NOTE gets a sentence for the user (e.g. TCG instead of KVM). */
	int (*start)(struct hv *hv, const struct vm_config *c, char *note, size_t notelen);
	int (*action)(struct hv *hv, const struct vm_config *c, enum hv_action a);
	/* The exact command line the backend would run (dry run). */
	int (*argv)(struct hv *hv, const struct vm_config *c, struct strv *out);
	/* Forget runtime leftovers of a VM about to be deleted. */
	int (*undefine)(struct hv *hv, const struct vm_config *c);
	/* A path that receives the guest's serial output, if the backend keeps one. */
	int (*serial_log)(struct hv *hv, const struct vm_config *c, char *path, size_t len);
};

struct hv {
	const struct hv_ops *ops;
	struct host host;	/* a copy, owned */
	void *priv;
};

extern const struct hv_ops hv_qemu_ops;

/* Open the backend for HOST (copied).  NULL + err. */
struct hv *hv_open(const struct host *host);
void hv_close(struct hv *hv);

const char *hv_state_name(enum hv_state s);
const char *hv_action_name(enum hv_action a);
/* "shutdown" -> HV_SHUTDOWN; -1 when unknown. */
int hv_action_parse(const char *name, enum hv_action *a);

int hv_check(struct hv *hv, const struct vm_config *c);
int hv_status(struct hv *hv, const struct vm_config *c, struct hv_status *st);
/* Without a peek op, -1 (the caller keeps what it knew). */
int hv_peek(struct hv *hv, const struct vm_config *c, struct hv_status *st);
int hv_start(struct hv *hv, const struct vm_config *c, char *note, size_t notelen);
int hv_action(struct hv *hv, const struct vm_config *c, enum hv_action a);
int hv_argv(struct hv *hv, const struct vm_config *c, struct strv *out);
int hv_undefine(struct hv *hv, const struct vm_config *c);
int hv_serial_log(struct hv *hv, const struct vm_config *c, char *path, size_t len);

#endif
