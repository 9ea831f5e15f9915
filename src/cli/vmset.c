/*
 * The VMs of one host as configurations for its backend's stats op: a
 * built-in host's from the inventory, a libvirt host's from the domains it
 * listed (the stats op needs only their uuid and name).  Shared by
 * `vmtty top` and `vmtty serve`.
 */
#include "cli/cli_priv.h"

#include <stdio.h>
#include <stdlib.h>

#include "hv/hv.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/xalloc.h"

static void
vmset_alloc(struct cli_vmset *s, size_t n)
{
	s->cfg = xcalloc(n + 1, sizeof *s->cfg);
	s->vms = xcalloc(n + 1, sizeof *s->vms);
	s->n = 0;
}

int
cli_vmset_load(struct db *db, const char *host, struct cli_vmset *s)
{
	struct vm_summary *v;
	size_t n;

	if (vm_list(db, host, &v, &n) != 0)
		return -1;
	vmset_alloc(s, n);
	for (size_t i = 0; i < n; i++) {
		if (vm_load(db, v[i].id, &s->cfg[s->n]) != 0) {
			cli_warn("%s", err_get());
			continue;
		}
		s->vms[s->n] = &s->cfg[s->n];
		s->n++;
	}
	vm_summary_free(v, n);
	return 0;
}

void
cli_vmset_domains(const struct hv_domain *d, size_t n, struct cli_vmset *s)
{
	vmset_alloc(s, n);
	for (size_t i = 0; i < n; i++) {
		struct vm_config *c = &s->cfg[s->n];

		vm_config_init(c);
		c->name = xstrdup(d[i].name != NULL ? d[i].name : "");
		snprintf(c->uuid, sizeof c->uuid, "%s", d[i].uuid);
		s->vms[s->n++] = c;
	}
}

void
cli_vmset_clear(struct cli_vmset *s)
{
	for (size_t i = 0; i < s->n; i++)
		vm_config_clear(&s->cfg[i]);
	free(s->cfg);
	free(s->vms);
	s->cfg = NULL;
	s->vms = NULL;
	s->n = 0;
}
