/* keep: the files other VMs need (ops/keep.h). */
#include "ops/keep.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hv/hv.h"
#include "hv/qemu.h"
#include "model/snapshot.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/log.h"
#include "util/paths.h"
#include "util/xalloc.h"

static void
add(struct keep *k, const char *path, const char *vm, const char *role)
{
	strv_add(&k->paths, path);
	strv_add(&k->vms, vm);
	strv_add(&k->roles, role);
}

int
keep_build(struct db *db, int64_t vm_id, struct keep *k)
{
	struct vm_disk_ref *refs;
	struct vm_snapshot_file *f;
	size_t nrefs, nf;

	memset(k, 0, sizeof *k);
	strv_init(&k->paths);
	strv_init(&k->vms);
	strv_init(&k->roles);
	if (vm_disk_refs(db, &refs, &nrefs) != 0)
		return -1;
	for (size_t i = 0; i < nrefs; i++) {
		struct strv chain;

		if (refs[i].vm_id == vm_id || !refs[i].builtin)
			continue;
		add(k, refs[i].path, refs[i].vm, "its disk");
		/* Only an image its VM calls qcow2 has a backing chain: a raw
		 * disk's guest can write a qcow2 header naming any file. */
		if (refs[i].format == NULL || strcmp(refs[i].format, "qcow2") != 0)
			continue;
		if (qemu_img_chain_quick(refs[i].path, &chain) != 0) {
			log_debug("keep: the chain of '%s' is unknown: %s", refs[i].path, err_get());
			err_clear();
		}
		for (size_t j = 1; j < chain.n; j++) {
			char *role = xasprintf("the backing file of its disk '%s'", refs[i].path);

			add(k, chain.v[j], refs[i].vm, role);
			free(role);
		}
		/* An image's data may live in an external data file. */
		for (size_t j = 0; j < chain.n; j++) {
			char *df = qemu_img_data_file(chain.v[j]), *role;

			if (df == NULL)
				continue;
			role = xasprintf("the data file of its disk '%s'", refs[i].path);
			add(k, df, refs[i].vm, role);
			free(role);
			free(df);
		}
		strv_free(&chain);
	}
	vm_disk_refs_free(refs, nrefs);
	if (snapshot_db_files(db, vm_id, &f, &nf) != 0) {
		keep_free(k);
		return -1;
	}
	for (size_t i = 0; i < nf; i++) {
		char *role = xasprintf("a file of its snapshot '%s'", f[i].snapshot);

		add(k, f[i].path, f[i].vm, role);
		free(role);
	}
	vm_snapshot_files_free(f, nf);
	k->n = k->paths.n;
	k->k = xcalloc(k->n + 1, sizeof *k->k);
	for (size_t i = 0; i < k->n; i++) {
		k->k[i].path = k->paths.v[i];
		k->k[i].vm = k->vms.v[i];
	}
	return 0;
}

const struct hv_keep *
keep_find(const struct keep *k, const char *path, const char **role)
{
	for (size_t i = 0; i < k->n; i++) {
		if (!paths_same_file(path, k->k[i].path))
			continue;
		if (role != NULL)
			*role = k->roles.v[i];
		return &k->k[i];
	}
	return NULL;
}

void
keep_free(struct keep *k)
{
	strv_free(&k->paths);
	strv_free(&k->vms);
	strv_free(&k->roles);
	free(k->k);
	memset(k, 0, sizeof *k);
}
