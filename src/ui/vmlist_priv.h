/* Private to the VM list view (vmlist.c: data and drawing; vmlist_act.c:
 * keys, menus and actions). */
#ifndef VMTTY_VMLIST_PRIV_H
#define VMTTY_VMLIST_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/hv.h"
#include "model/host.h"
#include "model/vm.h"
#include "ui/ui_priv.h"

enum vmlist_sort {
	SORT_NAME,
	SORT_STATE,
	SORT_CPU,
	SORT_MEMORY,
	SORT_COUNT,
};

struct row {
	int host;		/* index into hosts */
	int vm;			/* index into vms, -1 for the host's own row */
};

/* Live numbers of a VM: what its backend said, and CPU % (-1 unknown). */
struct vm_live {
	struct hv_status st;
	int cpu_pct;
};

/* The previous CPU-time sample of a VM, kept across reloads by UUID. */
struct cpu_sample {
	char uuid[UUID_STR_LEN];
	uint64_t ns;
	long long at;		/* log_now_ms */
	int pct;
};

/* An operation in flight, shown with a spinner on its row. */
struct pending {
	char uuid[UUID_STR_LEN];
	char what[24];
};

/* A shutdown asked for here, followed until the VM is off; past its
 * deadline the user is offered to force it off. */
struct shutdown_wait {
	char uuid[UUID_STR_LEN];
	char name[128];
	long long deadline;	/* log_now_ms() */
};

struct vmlist {
	struct ui *ui;
	struct host *hosts;
	struct hv **hvs;	/* per host: its backend when it can be peeked */
	size_t nhosts;
	struct vm_summary *vms;
	struct vm_live *live;	/* per VM */
	size_t nvms;
	size_t *host_nvms;	/* VMs per host (all, not only the filtered) */
	char **collapsed;	/* names of folded hosts, kept across reloads */
	size_t ncollapsed;
	struct row *rows;
	struct listw list;
	struct vm_config detail;
	int64_t detail_id;	/* 0: none loaded */
	struct journal_entry *djournal;	/* the detail VM's newest journal lines */
	size_t ndjournal;
	/* Per host name: the fleet generation last written to the inventory. */
	struct synced {
		char *host;
		uint64_t generation;
		bool writing;	/* a write of its list is queued: one at a time */
	} *synced;
	size_t nsynced;
	struct cpu_sample *samples;	/* sorted by UUID */
	size_t nsamples;
	char filter[128];
	bool filtering;		/* typing into the filter */
	enum vmlist_sort sort;
	struct pending *pending;
	size_t npending;
	struct shutdown_wait *waits;
	size_t nwaits;
	bool esc_hint_shown;
	int nspark;		/* sparkline columns drawn: 0, 1 (CPU), 2 (and I/O) */
};

/* vmlist.c */
void vmlist_build_rows(struct vmlist *v);
const struct row *vmlist_selected(struct vmlist *v);
bool vmlist_is_collapsed(const struct vmlist *v, const char *host);
void vmlist_toggle_collapsed(struct vmlist *v, const char *host);
const char *vmlist_pending(const struct vmlist *v, const char *uuid);
bool vmlist_peek_all(struct vmlist *v);

/* vmlist_act.c */
int vmlist_key(void *arg, int key);
/* Shutdowns past their deadline with the VM still up: offer a force-off.
 * Intent flags. */
int vmlist_check_shutdowns(struct vmlist *v);
extern const char *const vmlist_help[];

#endif
