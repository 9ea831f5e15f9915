#include "ops/provision.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv/hv.h"
#include "hv/qemu.h"
#include "model/creation.h"
#include "model/db.h"
#include "model/host.h"
#include "model/journal.h"
#include "model/name.h"
#include "model/template.h"
#include "model/vm.h"
#include "ops/keep.h"
#include "util/err.h"
#include "util/log.h"
#include "util/num.h"
#include "util/paths.h"
#include "util/spawn.h"
#include "util/strv.h"
#include "util/uuid.h"
#include "util/xalloc.h"

#define PROV_TOOL_MS (30 * 60 * 1000)	/* a big convert may take long */
#define PROV_MAX_BYTES (TEMPLATE_MAX_DISK_GIB * (1LL << 30))
#define PROV_KEY_MAX 16384

/* What a build made, in order, to take back. */
struct provision_made {
	char **files;		/* local files */
	size_t nfiles;
	char **dirs;		/* local directories, outermost first */
	size_t ndirs;
	char **volumes;		/* volume paths on a libvirt host */
	size_t nvolumes;
	struct vm_config defined;	/* the definition; name NULL: none */
	struct db *rec;		/* where the creation is recorded; NULL: not */
	bool own_rec;		/* rec is a connection of our own, closed with this */
	int64_t rec_id;
};

static const char *const field_names[PROV_F_COUNT] = {
	[PROV_F_HOST] = "host",
	[PROV_F_TEMPLATE] = "template",
	[PROV_F_NAME] = "name",
	[PROV_F_CPUS] = "CPUs",
	[PROV_F_MEMORY] = "memory",
	[PROV_F_MACHINE] = "machine type",
	[PROV_F_DISK] = "disk",
	[PROV_F_ISO] = "ISO",
	[PROV_F_KERNEL] = "kernel",
	[PROV_F_NETWORK] = "network",
	[PROV_F_CLOUD_INIT] = "cloud-init",
};

static const char *
tool(const char *env, const char *def)
{
	const char *v = getenv(env);

	return v != NULL && v[0] != '\0' ? v : def;
}

static void
set_str(char **field, const char *value)
{
	free(*field);
	*field = xstrdup0(value);
}

void
provision_init(struct provision_plan *p)
{
	memset(p, 0, sizeof *p);
	p->builtin = true;
	p->cpus = VM_DEFAULT_CPUS;
	p->memory_mib = VM_DEFAULT_MEMORY_MIB;
	p->disk_bus = xstrdup(VM_DEFAULT_DISK_BUS);
	p->network = xstrdup(VM_DEFAULT_NETWORK);
	p->nic_model = xstrdup(VM_DEFAULT_NIC_MODEL);
	p->machine = xstrdup(VM_DEFAULT_MACHINE);
	p->firmware = xstrdup(VM_DEFAULT_FIRMWARE);
	p->accel = xstrdup(VM_DEFAULT_ACCEL);
	p->graphics = xstrdup(VM_DEFAULT_GRAPHICS);
	p->template_source = TPL_EMPTY;
}

void
provision_clear(struct provision_plan *p)
{
	char **strs[] = { &p->host, &p->template_name, &p->name, &p->image, &p->disk_bus,
		&p->iso, &p->dir, &p->pool, &p->kernel, &p->initrd, &p->cmdline, &p->network,
		&p->nic_model, &p->forwards, &p->ci_user, &p->ssh_key, &p->hostname,
		&p->machine, &p->firmware, &p->accel, &p->graphics, &p->notes };

	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		free(*strs[i]);
	memset(p, 0, sizeof *p);
}

void
provision_from_template(struct provision_plan *p, const struct template *t)
{
	set_str(&p->template_name, t->name);
	p->template_source = (int)t->source;
	p->cpus = t->cpus;
	p->memory_mib = t->memory_mib;
	p->disk_bytes = t->disk_gib * (1LL << 30);
	set_str(&p->disk_bus, t->disk_bus);
	set_str(&p->nic_model, t->nic_model);
	set_str(&p->forwards, t->forwards);
	set_str(&p->machine, t->machine);
	set_str(&p->firmware, t->firmware);
	set_str(&p->accel, t->accel);
	set_str(&p->graphics, t->graphics);
	free(p->network);
	if (strcmp(t->net_mode, "bridge") == 0 || strcmp(t->net_mode, "network") == 0)
		p->network = xasprintf("%s:%s", t->net_mode, t->net_source);
	else
		p->network = xstrdup(t->net_mode);
	if (t->source == TPL_KERNEL)
		set_str(&p->cmdline, t->cmdline);
	switch (t->source) {
	case TPL_CLOUD_IMAGE:
		p->disk = PROV_DISK_OVERLAY;
		p->cloud_init = true;
		break;
	case TPL_DISK:
		p->disk = PROV_DISK_EXISTING;
		break;
	default:
		p->disk = t->disk_gib > 0 ? PROV_DISK_NEW : PROV_DISK_NONE;
		break;
	}
}

const char *
provision_field_name(enum provision_field f)
{
	return (unsigned)f < PROV_F_COUNT ? field_names[f] : "?";
}

int
provision_parse_size(const char *s, int64_t *bytes)
{
	long long v;

	if (num_parse_size(s, 30, 0, PROV_MAX_BYTES, &v) != 0)
		return err_set("disk size '%s' is not a size up to %d TiB; give one such as 20G "
		    "or 512M", s, TEMPLATE_MAX_DISK_GIB / 1024);
	*bytes = v;
	return 0;
}

void
provision_format_size(int64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int i = -1;

	while (i < 3 && bytes > 0 && bytes % 1024 == 0) {
		bytes /= 1024;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%lld bytes", (long long)bytes);
	else
		snprintf(buf, len, "%lld%c", (long long)bytes, units[i]);
}

/* A public key line: "TYPE BASE64 [comment]", printable, one line. */
static int
check_key(const char *key)
{
	static const char *const types[] = { "ssh-", "ecdsa-", "sk-", NULL };
	bool known = false;

	for (size_t i = 0; types[i] != NULL; i++)
		known |= strncmp(key, types[i], strlen(types[i])) == 0;
	/* C0, DEL, C1 (U+0080-U+009F) and U+2028/U+2029: YAML reads some of
	 * these as line breaks inside the quoted key. */
	for (const unsigned char *u = (const unsigned char *)key; *u != '\0'; u++)
		if (*u < 0x20 || *u == 0x7f || (u[0] == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f) ||
		    (u[0] == 0xe2 && u[1] == 0x80 && (u[2] == 0xa8 || u[2] == 0xa9)))
			return err_set("ssh key: the key has a control character or more than one "
			    "line; give one public key");
	if (!known || strchr(key, ' ') == NULL)
		return err_set("ssh key: this is not an OpenSSH public key (\"ssh-ed25519 AAAA... "
		    "comment\"); give the .pub file, e.g. ~/.ssh/id_ed25519.pub");
	return 0;
}

int
provision_read_key(const char *path, char **key)
{
	char buf[PROV_KEY_MAX + 1], *line;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*key = NULL;
	if (fd < 0)
		return err_set("ssh key: cannot read '%s': %s", path, strerror(errno));
	n = read(fd, buf, PROV_KEY_MAX);
	close(fd);
	if (n < 0)
		return err_set("ssh key: cannot read '%s': %s", path, strerror(errno));
	buf[n] = '\0';
	line = buf + strspn(buf, " \t\r\n");
	line[strcspn(line, "\r\n")] = '\0';
	if (line[0] == '\0')
		return err_set("ssh key: '%s' is empty; give a public key file", path);
	if (strstr(line, "PRIVATE KEY") != NULL)
		return err_set("ssh key: '%s' is a private key; give the public one (.pub)", path);
	if (check_key(line) != 0)
		return err_set("ssh key: '%s' is not an OpenSSH public key; give the .pub file, "
		    "e.g. ~/.ssh/id_ed25519.pub", path);
	*key = xstrdup(line);
	return 0;
}

/* A regular file (or block device) this process can read. */
static int
check_local_file(const char *field, const char *path)
{
	struct stat st;

	if (path[0] != '/')
		return err_set("%s: '%s' is not an absolute path; give the full path", field, path);
	if (stat(path, &st) != 0)
		return err_set("%s: '%s' does not exist; give an existing file", field, path);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return err_set("%s: '%s' is not a file", field, path);
	if (access(path, R_OK) != 0)
		return err_set("%s: '%s' cannot be read: %s", field, path, strerror(errno));
	return 0;
}

static int
check_disk(const struct provision_plan *p)
{
	char size[32];

	switch (p->disk) {
	case PROV_DISK_NONE:
		return 0;
	case PROV_DISK_NEW:
		if (p->disk_bytes < PROV_MIN_BYTES) {
			provision_format_size(p->disk_bytes, size, sizeof size);
			return err_set("disk size: %s is too small for a new disk; give 1M or more, "
			    "such as 20G", size);
		}
		break;
	case PROV_DISK_OVERLAY:
	case PROV_DISK_COPY:
	case PROV_DISK_EXISTING:
		if (p->image != NULL && p->image[0] == '\0')
			return err_set("disk image: the path is empty; give the path of the %s",
			    p->disk == PROV_DISK_EXISTING ? "disk file (--disk)" : "image (--image)");
		if (p->image == NULL)
			return err_set("disk image: the %s needs an image; give its path%s",
			    p->disk == PROV_DISK_EXISTING ? "existing disk" : "disk",
			    p->template_source == TPL_CLOUD_IMAGE ? " (the template's cloud "
			    "image, downloaded)" : "");
		if (p->builtin && check_local_file("disk image", p->image) != 0)
			return -1;
		if (!p->builtin && p->disk == PROV_DISK_COPY)
			return err_set("disk: copying an image is not supported on libvirt hosts; "
			    "use an overlay on it");
		if (p->disk_bytes != 0 && p->disk_bytes < PROV_MIN_BYTES && p->disk != PROV_DISK_EXISTING)
			return err_set("disk size: %lld bytes is too small; give 1M or more",
			    (long long)p->disk_bytes);
		break;
	}
	if (p->disk_bytes > PROV_MAX_BYTES)
		return err_set("disk size: more than the limit of %d TiB", TEMPLATE_MAX_DISK_GIB / 1024);
	return 0;
}

static int
check_network(const struct provision_plan *p)
{
	const char *n = p->network, *colon;

	if (n == NULL || strcmp(n, "user") == 0 || strcmp(n, "none") == 0) {
		if (p->forwards != NULL && n != NULL && strcmp(n, "none") == 0)
			return err_set("network: port forwards need user networking, not none");
		if (p->forwards != NULL) {
			struct vm_forward f[VM_MAX_FORWARDS];
			size_t nf;

			if (vm_forwards_parse(p->forwards, f, VM_MAX_FORWARDS, &nf) != 0)
				return err_prefix("network");
		}
		return 0;
	}
	colon = strchr(n, ':');
	if (colon == NULL || colon[1] == '\0' || strchr(colon + 1, ' ') != NULL ||
	    !(strncmp(n, "bridge:", 7) == 0 || strncmp(n, "network:", 8) == 0))
		return err_set("network: '%s' is not known; give user, none, bridge:NAME or "
		    "network:NAME", n);
	if (p->forwards != NULL)
		return err_set("network: port forwards need user networking, not '%s'", n);
	if (strncmp(n, "network", 7) == 0 && p->builtin)
		return err_set("network: a libvirt network ('%s') needs a libvirt host; use user "
		    "or bridge:NAME here", n);
	return 0;
}

/* An RFC 1123 host name: dot-separated labels of letters, digits and '-'. */
static int
check_hostname(const char *h)
{
	size_t len = strlen(h), label = 0;

	if (len == 0 || len > 253)
		return err_set("hostname: give 1 to 253 characters");
	for (size_t i = 0; i <= len; i++) {
		if (h[i] == '.' || h[i] == '\0') {
			if (label == 0 || label > 63 || h[i - 1] == '-' || h[i - label] == '-')
				return err_set("hostname: '%s' is not a host name; give labels "
				    "of letters, digits and '-', separated by dots", h);
			label = 0;
		} else if (isalnum((unsigned char)h[i]) || h[i] == '-') {
			label++;
		} else {
			return err_set("hostname: '%s' has '%c'; give letters, digits, '-' "
			    "and dots", h, h[i]);
		}
	}
	return 0;
}

/* The machine type, on the host and with the template's choices. */
static int
check_machine(const struct provision_plan *p)
{
	if (p->machine == NULL || strcmp(p->machine, "microvm") != 0)
		return 0;
	if (!p->builtin)
		return err_set("machine type: microvm is for the built-in backend only (libvirt "
		    "9.0 cannot define one); use host local, or q35");
	if (p->graphics != NULL && strcmp(p->graphics, "none") != 0)
		return err_set("graphics: machine type microvm has no display (no VGA, no VNC); "
		    "use graphics none, or machine type q35");
	if (p->firmware != NULL && strcmp(p->firmware, "bios") != 0)
		return err_set("firmware: machine type microvm has no %s firmware: it boots its "
		    "kernel directly; use machine type q35 for it", p->firmware);
	return 0;
}

/* The main disk's bus: one of the model's, on the machine type. */
static int
check_bus(const struct provision_plan *p)
{
	const char *b = p->disk_bus != NULL ? p->disk_bus : "";
	size_t i;

	for (i = 0; vm_disk_buses[i] != NULL; i++)
		if (strcmp(b, vm_disk_buses[i]) == 0)
			break;
	if (vm_disk_buses[i] == NULL)
		return err_set("disk bus: '%s' is not known; use virtio, scsi, sata, ide or nvme", b);
	return vm_machine_check_disk(p->machine, b, false) != 0 ? err_prefix("disk bus") : 0;
}

static int
check_cloud_init(const struct provision_plan *p)
{
	const char *u = p->ci_user, *h = p->hostname;

	if (p->cloud_init && p->machine != NULL && strcmp(p->machine, "microvm") == 0)
		return err_set("cloud-init: its seed is a CD-ROM, and machine type microvm has "
		    "none; use machine type q35 for a cloud image");
	if (!p->cloud_init) {
		if (p->ssh_key != NULL || u != NULL)
			return err_set("cloud-init: an ssh key or user needs cloud-init, which "
			    "template '%s' does not use", p->template_name != NULL ?
			    p->template_name : "(none)");
		return 0;
	}
	if (u != NULL) {
		size_t len = strlen(u);

		if (len == 0 || len > 32 || !(islower((unsigned char)u[0]) || u[0] == '_') ||
		    u[strspn(u, "abcdefghijklmnopqrstuvwxyz0123456789_-")] != '\0')
			return err_set("user: '%s' is not a user name; give lower-case letters, "
			    "digits, '_' or '-', starting with a letter", u);
	}
	if (p->ssh_key != NULL && check_key(p->ssh_key) != 0)
		return -1;
	/* The guest takes the VM's name as its host name unless given one. */
	if (h == NULL && p->name != NULL && check_hostname(p->name) != 0)
		return err_set("hostname: VM name '%s' is not a host name, and the guest would "
		    "take it as one; give a hostname (letters, digits, '-' and dots)", p->name);
	return h != NULL ? check_hostname(h) : 0;
}

void
provision_set_machine(struct provision_plan *p, const char *machine, const char *graphics)
{
	if (machine != p->machine)
		set_str(&p->machine, machine);
	if (graphics != NULL && graphics != p->graphics)
		set_str(&p->graphics, graphics);
	else if (graphics == NULL && p->machine != NULL && strcmp(p->machine, "microvm") == 0)
		set_str(&p->graphics, "none");
}

int
provision_check_field(const struct provision_plan *p, enum provision_field f)
{
	switch (f) {
	case PROV_F_HOST:
		if (p->host == NULL || p->host[0] == '\0')
			return err_set("host: choose a host");
		return 0;
	case PROV_F_TEMPLATE:
	case PROV_F_MACHINE:
		return check_machine(p);
	case PROV_F_NAME:
		if (p->name == NULL || p->name[0] == '\0')
			return err_set("name: give the VM a name");
		return name_check("VM", p->name) != 0 ? err_prefix("name") : 0;
	case PROV_F_CPUS:
		if (p->cpus < 1 || p->cpus > VM_MAX_CPUS)
			return err_set("CPUs: %d is out of range; give 1 to %d", p->cpus, VM_MAX_CPUS);
		return 0;
	case PROV_F_MEMORY:
		if (p->memory_mib < 1 || p->memory_mib > VM_MAX_MEMORY_MIB)
			return err_set("memory: %lld MiB is out of range; give 1 to %lld MiB",
			    (long long)p->memory_mib, VM_MAX_MEMORY_MIB);
		return 0;
	case PROV_F_DISK:
		if (p->disk != PROV_DISK_NONE && check_bus(p) != 0)
			return -1;
		return check_disk(p);
	case PROV_F_ISO:
		if (p->iso != NULL && vm_machine_check_disk(p->machine, "sata", true) != 0)
			return err_prefix("ISO");
		if (p->iso != NULL && p->builtin)
			return check_local_file("ISO", p->iso);
		return 0;
	case PROV_F_KERNEL:
		if (p->kernel == NULL && p->machine != NULL && strcmp(p->machine, "microvm") == 0)
			return err_set("kernel: machine type microvm boots a kernel directly, with "
			    "no firmware to boot a disk; give a kernel (and its initrd)");
		if (p->template_source == TPL_KERNEL && p->kernel == NULL)
			return err_set("kernel: template '%s' boots a kernel; give its path "
			    "(and the initrd's)", p->template_name);
		if (p->kernel == NULL && (p->initrd != NULL || p->cmdline != NULL) &&
		    p->template_source != TPL_KERNEL)
			return err_set("kernel: an initrd or command line needs a kernel too");
		if (p->builtin && p->kernel != NULL && check_local_file("kernel", p->kernel) != 0)
			return -1;
		if (p->builtin && p->initrd != NULL && check_local_file("initrd", p->initrd) != 0)
			return -1;
		return 0;
	case PROV_F_NETWORK:
		if (p->network != NULL && strcmp(p->network, "none") != 0 &&
		    vm_machine_check_nic(p->machine, p->nic_model) != 0)
			return err_prefix("network");
		return check_network(p);
	case PROV_F_CLOUD_INIT:
		return check_cloud_init(p);
	case PROV_F_COUNT:
		break;
	}
	return 0;
}

int
provision_validate(const struct provision_plan *p)
{
	for (int f = 0; f < PROV_F_COUNT; f++)
		if (provision_check_field(p, (enum provision_field)f) != 0)
			return -1;
	return 0;
}

/* ---- what was made ---------------------------------------------------- */

/* Note S, of KIND, as made: in M for provision_undo, and in the record
 * for the next vmtty should this one die before it is done. */
static int
made_add(struct provision_made *m, enum creation_kind kind, const char *s)
{
	char ***v = kind == CREATION_DIR ? &m->dirs : kind == CREATION_FILE ? &m->files :
	    &m->volumes;
	size_t *n = kind == CREATION_DIR ? &m->ndirs : kind == CREATION_FILE ? &m->nfiles :
	    &m->nvolumes;

	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = xstrdup(s);
	if (m->rec != NULL && creation_note(m->rec, m->rec_id, kind, s) != 0)
		return err_prefix("cannot record '%s' as made", s);
	return 0;
}

/* The creation is over (made or taken back): its record goes. */
static void
made_end(struct provision_made *m)
{
	if (m->rec != NULL && creation_end(m->rec, m->rec_id) < 0)
		log_debug("provision: %s", err_get());
	if (m->own_rec)
		db_close(m->rec);
	m->rec = NULL;
	m->own_rec = false;
}

static void
made_free(struct provision_made *m)
{
	made_end(m);
	for (size_t i = 0; i < m->nfiles; i++)
		free(m->files[i]);
	for (size_t i = 0; i < m->ndirs; i++)
		free(m->dirs[i]);
	for (size_t i = 0; i < m->nvolumes; i++)
		free(m->volumes[i]);
	free(m->files);
	free(m->dirs);
	free(m->volumes);
	vm_config_clear(&m->defined);
	free(m);
}

void
provision_keep(struct provision_made *m)
{
	if (m != NULL)
		made_free(m);
}

void
provision_undo(struct hv *hv, struct provision_made *m)
{
	if (m == NULL)
		return;
	/* Keep the error that made us undo: the clean-up's own are logged. */
	char *why = xstrdup(err_get());

	if (m->defined.name != NULL && hv_undefine(hv, &m->defined) != 0)
		log_debug("provision: cannot undefine '%s': %s", m->defined.name, err_get());
	for (size_t i = m->nvolumes; i-- > 0;)
		if (hv_volume_delete(hv, m->volumes[i]) != 0)
			log_debug("provision: cannot delete volume '%s': %s", m->volumes[i],
			    err_get());
	for (size_t i = m->nfiles; i-- > 0;)
		if (unlink(m->files[i]) != 0 && errno != ENOENT)
			log_debug("provision: cannot remove '%s': %s", m->files[i], strerror(errno));
	for (size_t i = m->ndirs; i-- > 0;)
		if (rmdir(m->dirs[i]) != 0)
			log_debug("provision: cannot remove '%s': %s", m->dirs[i], strerror(errno));
	err_set("%s", why);
	free(why);
	made_free(m);
}

/* mkdir -p DIR (0700 for what it makes), recording each directory made. */
static int
make_dirs(struct provision_made *m, const char *dir)
{
	char *path = xstrdup(dir);
	struct stat st;
	int rc = 0;

	for (char *s = path + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(path, 0700) == 0) {
			if ((rc = made_add(m, CREATION_DIR, path)) != 0)
				break;
		} else if (errno != EEXIST || stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
			rc = err_set("cannot create directory '%s': %s", path,
			    errno == EEXIST ? "a file is in the way" : strerror(errno));
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	if (rc == 0 && access(dir, W_OK) != 0)
		rc = err_set("directory '%s' is not writable: %s", dir, strerror(errno));
	free(path);
	return rc;
}

/* A new file at PATH must not replace anything. */
static int
check_absent(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return err_set("'%s' already exists; remove it or choose another name or "
		    "directory", path);
	return 0;
}

struct tool_progress {
	provision_progress_fn fn;
	void *arg;
	const char *step;
	int last;
};

/* qemu-img -p prints "    (12.34/100%)" and a carriage return. */
static void
on_tool_line(const char *line, void *arg)
{
	struct tool_progress *tp = arg;
	const char *open = strchr(line, '(');
	int pct;

	if (tp == NULL || tp->fn == NULL || open == NULL)
		return;
	pct = atoi(open + 1);
	if (pct >= 0 && pct <= 100 && pct != tp->last) {
		tp->last = pct;
		tp->fn(tp->step, pct, tp->arg);
	}
}

/* Run a tool; -1 + err with its stderr when it fails. */
static int
run_tool(const struct strv *argv, struct tool_progress *tp, const atomic_bool *cancel)
{
	char errbuf[1024];
	int status;

	if (spawn_capture(argv->v, on_tool_line, tp, cancel, errbuf, sizeof errbuf, PROV_TOOL_MS,
	    &status) != 0)
		return -1;
	if (status == 0)
		return 0;
	if (status == 127 && strncmp(errbuf, "cannot run", 10) == 0)
		return err_set("%s; install it (Debian: %s)", errbuf,
		    strstr(argv->v[0], "qemu-img") != NULL ? "qemu-utils" : "genisoimage");
	return err_set("%s exited with status %d: %s", argv->v[0], status,
	    errbuf[0] != '\0' ? errbuf : "no message");
}

/* The format and virtual size of IMAGE, from qemu-img info. */
static int
image_info(const char *image, char *format, size_t flen, int64_t *bytes)
{
	char *argv[] = { (char *)tool("VMTTY_QEMU_IMG", "qemu-img"), "info", "--output=json",
		(char *)image, NULL };
	char *out = spawn_output(argv, 60000);
	json_object *o, *f, *s;
	int rc = -1;

	if (out == NULL)
		return err_prefix("cannot read image '%s'", image);
	o = json_tokener_parse(out);
	free(out);
	if (o != NULL && json_object_object_get_ex(o, "format", &f) &&
	    json_object_object_get_ex(o, "virtual-size", &s)) {
		snprintf(format, flen, "%s", json_object_get_string(f));
		*bytes = json_object_get_int64(s);
		rc = 0;
	} else
		err_set("cannot read image '%s': qemu-img info gave no format and size", image);
	json_object_put(o);
	return rc;
}

/* The built-in host's disk: a file in DIR made by qemu-img. */
static int
local_disk(const struct provision_plan *p, struct provision_made *m, const char *path,
    provision_progress_fn fn, void *arg)
{
	struct tool_progress tp = { fn, arg, "Copying the image", -1 };
	const char *qimg = tool("VMTTY_QEMU_IMG", "qemu-img");
	char size[32], format[16] = "raw";
	int64_t base = 0;
	struct strv a;
	int rc;

	if (check_absent(path) != 0)
		return -1;
	if (p->disk != PROV_DISK_NEW && image_info(p->image, format, sizeof format, &base) != 0)
		return -1;
	strv_init(&a);
	strv_add(&a, qimg);
	switch (p->disk) {
	case PROV_DISK_NEW:
		strv_add(&a, "create");
		strv_add2(&a, "-f", "qcow2");
		strv_add(&a, path);
		strv_addf(&a, "%lld", (long long)p->disk_bytes);
		break;
	case PROV_DISK_OVERLAY:
		strv_add(&a, "create");
		strv_add2(&a, "-f", "qcow2");
		strv_add2(&a, "-b", p->image);
		strv_add2(&a, "-F", format);
		strv_add(&a, path);
		/* Grown to the size asked for, never shrunk below the base. */
		strv_addf(&a, "%lld", (long long)(p->disk_bytes > base ? p->disk_bytes : base));
		break;
	default:
		strv_add(&a, "convert");
		strv_add(&a, "-p");
		strv_add2(&a, "-f", format);
		strv_add2(&a, "-O", "qcow2");
		strv_add(&a, p->image);
		strv_add(&a, path);
		break;
	}
	if (fn != NULL)
		fn(p->disk == PROV_DISK_COPY ? "Copying the image" : "Creating the disk",
		    p->disk == PROV_DISK_COPY ? 0 : -1, arg);
	rc = made_add(m, CREATION_FILE, path);
	if (rc == 0)
		rc = run_tool(&a, &tp, p->cancel);
	strv_free(&a);
	if (rc == 0 && p->disk == PROV_DISK_COPY && p->disk_bytes > base) {
		provision_format_size(p->disk_bytes, size, sizeof size);
		strv_init(&a);
		strv_add(&a, qimg);
		strv_add(&a, "resize");
		strv_add2(&a, "-f", "qcow2");
		strv_add(&a, path);
		strv_addf(&a, "%lld", (long long)p->disk_bytes);
		rc = run_tool(&a, NULL, p->cancel);
		strv_free(&a);
	}
	return rc;
}

/* A YAML double-quoted scalar. */
static void
yaml_str(FILE *fp, const char *s)
{
	json_object *o = json_object_new_string(s);

	/* A JSON string is a YAML double-quoted scalar: json-c escapes quotes,
	 * backslashes and every control character (a newline in a key cannot
	 * start a new YAML key).  "\/" is left out: YAML 1.1 readers differ. */
	fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE), fp);
	json_object_put(o);
}

static int
write_file(const char *path, const char *what, void (*fill)(FILE *, const void *),
    const void *arg)
{
	FILE *fp = fopen(path, "wx");
	bool failed;

	if (fp == NULL)
		return err_set("cannot write %s '%s': %s", what, path, strerror(errno));
	fill(fp, arg);
	/* A write error (a full disk) sticks to the stream; fclose may not say. */
	failed = ferror(fp) != 0;
	if (fclose(fp) != 0 || failed)
		return err_set("cannot write %s '%s': %s", what, path,
		    errno != 0 ? strerror(errno) : "write error");
	return 0;
}

struct seed_data {
	const struct provision_plan *p;	/* NULL: USER_DATA as it is */
	const char *uuid;		/* the instance-id */
	const char *hostname;
	const char *user_data;		/* another seed's, the host name rewritten */
};

static void
fill_user_data(FILE *fp, const void *arg)
{
	const struct seed_data *sd = arg;
	const struct provision_plan *p = sd->p;

	if (p == NULL) {
		fputs(sd->user_data, fp);
		return;
	}
	fputs("#cloud-config\n", fp);
	fputs("hostname: ", fp);
	yaml_str(fp, sd->hostname);
	fputs("\n", fp);
	if (p->ci_user != NULL) {
		fputs("users:\n  - default\n  - name: ", fp);
		yaml_str(fp, p->ci_user);
		fputs("\n    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n    shell: /bin/sh\n", fp);
		if (p->ssh_key != NULL) {
			fputs("    ssh_authorized_keys:\n      - ", fp);
			yaml_str(fp, p->ssh_key);
			fputs("\n", fp);
		}
	} else if (p->ssh_key != NULL) {
		fputs("ssh_authorized_keys:\n  - ", fp);
		yaml_str(fp, p->ssh_key);
		fputs("\n", fp);
	}
}

static void
fill_meta_data(FILE *fp, const void *arg)
{
	const struct seed_data *sd = arg;

	fprintf(fp, "instance-id: %s\nlocal-hostname: ", sd->uuid);
	yaml_str(fp, sd->hostname);
	fputs("\n", fp);
}

/* The NoCloud seed ISO (volume id "cidata") at ISO, from a temp dir. */
static int
make_seed(const struct seed_data *sd, const char *iso, const atomic_bool *cancel)
{
	char tmpl[] = "/tmp/vmtty-seed.XXXXXX", *ud = NULL, *md = NULL;
	struct strv a;
	int rc = -1;

	if (mkdtemp(tmpl) == NULL)
		return err_set("cannot create a temporary directory: %s", strerror(errno));
	ud = xasprintf("%s/user-data", tmpl);
	md = xasprintf("%s/meta-data", tmpl);
	if (write_file(ud, "user-data", fill_user_data, sd) != 0 ||
	    write_file(md, "meta-data", fill_meta_data, sd) != 0)
		goto out;
	strv_init(&a);
	strv_add(&a, tool("VMTTY_MKISO", "genisoimage"));
	strv_add(&a, "-quiet");
	strv_add2(&a, "-output", iso);
	strv_add2(&a, "-volid", "cidata");
	strv_add(&a, "-joliet");
	strv_add(&a, "-rock");
	strv_add(&a, ud);
	strv_add(&a, md);
	rc = run_tool(&a, NULL, cancel);
	strv_free(&a);
out:
	unlink(ud);
	unlink(md);
	rmdir(tmpl);
	free(ud);
	free(md);
	return rc;
}

/* The seed of plan P for the VM of UUID. */
static int
plan_seed(const struct provision_plan *p, const char *uuid, const char *iso)
{
	struct seed_data sd = { p, uuid, p->hostname != NULL ? p->hostname : p->name, NULL };

	return make_seed(&sd, iso, p->cancel);
}

/* Fill C from P: everything but the disks. */
static void
plan_config(const struct provision_plan *p, int64_t host_id, struct vm_config *c)
{
	vm_config_init(c);
	c->host_id = host_id;
	c->host = xstrdup(p->host);
	c->name = xstrdup(p->name);
	set_str(&c->machine, p->machine);
	set_str(&c->firmware, p->firmware);
	set_str(&c->accel, p->accel);
	set_str(&c->graphics, p->graphics);
	c->sockets = p->cpus;
	c->memory_mib = p->memory_mib;
	c->kernel = xstrdup0(p->kernel);
	c->initrd = xstrdup0(p->initrd);
	c->cmdline = xstrdup0(p->kernel != NULL ? p->cmdline : NULL);
	c->template_name = xstrdup0(p->template_name);
	c->notes = xstrdup0(p->notes);
	if (p->network != NULL && strcmp(p->network, "none") != 0) {
		const char *colon = strchr(p->network, ':');
		char *kind = colon != NULL ? xstrndup(p->network, (size_t)(colon - p->network)) :
		    xstrdup(p->network);
		struct vm_nic *n = vm_config_add_nic(c, kind);

		free(kind);
		set_str(&n->model, p->nic_model);
		n->source = colon != NULL ? xstrdup(colon + 1) : NULL;
		n->forwards = xstrdup0(p->forwards);
	}
}

static struct vm_disk *
add_disk(struct vm_config *c, const char *path, const char *format, const char *bus,
    bool cdrom, bool owned)
{
	struct vm_disk *d = vm_config_add_disk(c, path);

	set_str(&d->format, format);
	set_str(&d->bus, cdrom ? (strcmp(c->machine, "pc") == 0 ? "ide" : "sata") : bus);
	d->cdrom = cdrom;
	d->readonly = cdrom;
	d->owned = owned;
	return d;
}

/* The existing disk's format: qcow2 by magic (a libvirt host's: by name). */
static const char *
existing_format(const struct provision_plan *p)
{
	unsigned char magic[4];
	size_t n = strlen(p->image);
	int fd;
	ssize_t r;

	if (!p->builtin)
		return n > 6 && strcmp(p->image + n - 6, ".qcow2") == 0 ? "qcow2" : "raw";
	fd = open(p->image, O_RDONLY | O_CLOEXEC);
	r = fd >= 0 ? read(fd, magic, sizeof magic) : -1;
	if (fd >= 0)
		close(fd);
	return r == 4 && memcmp(magic, "QFI\xfb", 4) == 0 ? "qcow2" : "raw";
}

/* The disk and the CD-ROM the user gave, which vmtty does not make. */
static void
add_given_media(const struct provision_plan *p, struct vm_config *c)
{
	if (p->disk == PROV_DISK_EXISTING)
		add_disk(c, p->image, existing_format(p), p->disk_bus, false, false);
	if (p->iso != NULL)
		add_disk(c, p->iso, "raw", NULL, true, false);
}

/* Built-in host: the files in the VM's directory. */
static int
build_local(const struct provision_plan *p, struct provision_made *m, struct vm_config *c,
    provision_progress_fn fn, void *arg)
{
	char *dir, *path;
	int rc = 0;

	if (p->dir != NULL) {
		dir = xstrdup(p->dir);
	} else {
		char *data = paths_data_dir();

		dir = xasprintf("%s/images/%s", data, p->name);
		free(data);
	}
	if ((p->disk == PROV_DISK_NEW || p->disk == PROV_DISK_OVERLAY ||
	    p->disk == PROV_DISK_COPY || p->cloud_init) && make_dirs(m, dir) != 0) {
		free(dir);
		return err_prefix("Creating the directory failed");
	}
	if (p->disk == PROV_DISK_NEW || p->disk == PROV_DISK_OVERLAY || p->disk == PROV_DISK_COPY) {
		path = xasprintf("%s/%s.qcow2", dir, p->name);
		rc = local_disk(p, m, path, fn, arg);
		if (rc == 0)
			add_disk(c, path, "qcow2", p->disk_bus, false, true);
		free(path);
		if (rc != 0) {
			free(dir);
			return err_prefix("Creating the disk failed");
		}
	}
	add_given_media(p, c);
	if (p->cloud_init) {
		path = xasprintf("%s/%s-seed.iso", dir, p->name);
		if (fn != NULL)
			fn("Making the cloud-init seed ISO", -1, arg);
		if (check_absent(path) != 0)
			rc = -1;
		else if ((rc = made_add(m, CREATION_FILE, path)) == 0)
			rc = plan_seed(p, c->uuid, path);
		if (rc == 0)
			add_disk(c, path, "raw", NULL, true, true);
		free(path);
		if (rc != 0)
			err_prefix("Making the cloud-init seed ISO failed");
	}
	free(dir);
	return rc;
}

/* libvirt host: volumes in the plan's pool; the seed made here, uploaded. */
static int
build_remote(struct hv *hv, const struct provision_plan *p, struct provision_made *m,
    struct vm_config *c, provision_progress_fn fn, void *arg)
{
	struct hv_volume v = { p->pool, NULL, "qcow2", p->disk_bytes, NULL, NULL };
	char *path = NULL, *name;
	int rc = 0;

	if (p->disk == PROV_DISK_NEW || p->disk == PROV_DISK_OVERLAY) {
		name = xasprintf("%s.qcow2", p->name);
		v.name = name;
		v.backing = p->disk == PROV_DISK_OVERLAY ? p->image : NULL;
		if (fn != NULL)
			fn("Creating the disk", -1, arg);
		rc = hv_volume_create(hv, &v, &path);
		free(name);
		if (rc != 0)
			return err_prefix("Creating the disk failed");
		rc = made_add(m, CREATION_VOLUME, path);
		add_disk(c, path, "qcow2", p->disk_bus, false, true);
		free(path);
		if (rc != 0)
			return err_prefix("Creating the disk failed");
	}
	add_given_media(p, c);
	if (p->cloud_init) {
		char tmpl[] = "/tmp/vmtty-iso.XXXXXX", *iso;
		struct stat st;

		if (fn != NULL)
			fn("Making the cloud-init seed ISO", -1, arg);
		if (mkdtemp(tmpl) == NULL)
			return err_set("Making the cloud-init seed ISO failed: cannot create a "
			    "temporary directory: %s", strerror(errno));
		iso = xasprintf("%s/seed.iso", tmpl);
		name = xasprintf("%s-seed.iso", p->name);
		rc = plan_seed(p, c->uuid, iso);
		if (rc == 0 && stat(iso, &st) != 0)
			rc = err_set("cannot read '%s': %s", iso, strerror(errno));
		if (rc == 0) {
			struct hv_volume sv = { p->pool, name, "raw", st.st_size, NULL, iso };

			rc = hv_volume_create(hv, &sv, &path);
		}
		unlink(iso);
		rmdir(tmpl);
		free(iso);
		free(name);
		if (rc != 0)
			return err_prefix("Making the cloud-init seed ISO failed");
		rc = made_add(m, CREATION_VOLUME, path);
		add_disk(c, path, "raw", NULL, true, true);
		free(path);
		if (rc != 0)
			return err_prefix("Making the cloud-init seed ISO failed");
	}
	return 0;
}

/* The start time of process PID (field 22 of /proc/PID/stat, clock ticks
 * since boot): with the pid, it names one process; -1 when there is none. */
int64_t
provision_proc_start(pid_t pid)
{
	char path[64], buf[1024], *s;
	long long start = -1;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* After the command name in parentheses: state is field 3. */
	if ((s = strrchr(buf, ')')) == NULL)
		return -1;
	s++;
	for (int field = 3; field <= 22 && s != NULL; field++) {
		s += strspn(s, " ");
		if (field == 22)
			start = strtoll(s, NULL, 10);
		s = strchr(s, ' ');
	}
	return start;
}

int
provision_record(struct db *db, int64_t host_id, const char *name, const char *uuid, int64_t *id)
{
	return creation_begin(db, host_id, name, uuid, getpid(), provision_proc_start(getpid()),
	    id);
}

/* Record the creation of C in REC (the inventory) before anything is made. */
static int
record_begin(struct provision_made *m, struct db *rec, bool own, const struct vm_config *c)
{
	if (rec == NULL)
		return 0;
	if (creation_begin(rec, c->host_id, c->name, c->uuid, getpid(),
	    provision_proc_start(getpid()), &m->rec_id) != 0)
		return err_prefix("Recording the creation failed");
	m->rec = rec;
	m->own_rec = own;
	return 0;
}

/* provision_build, recording the creation in REC (NULL: not recorded;
 * OWN: a connection of its own, closed when the creation ends). */
static int
build(struct hv *hv, const struct provision_plan *p, provision_progress_fn fn, void *arg,
    struct vm_config *out, struct provision_made **made, struct db *rec, bool own)
{
	struct provision_made *m = xcalloc(1, sizeof *m);
	struct vm_config c;
	int rc;

	*made = NULL;
	memset(out, 0, sizeof *out);
	if (provision_validate(p) != 0) {
		if (own)
			db_close(rec);
		made_free(m);
		return -1;
	}
	plan_config(p, hv->host.id, &c);
	/* The model's checks before anything is made; then the record. */
	if (uuid_generate(c.uuid) != 0 || vm_config_validate(&c) != 0 ||
	    record_begin(m, rec, own, &c) != 0) {
		if (own && m->rec == NULL)
			db_close(rec);
		vm_config_clear(&c);
		made_free(m);
		return -1;
	}
	rc = p->builtin ? build_local(p, m, &c, fn, arg) : build_remote(hv, p, m, &c, fn, arg);
	if (rc == 0 && p->cancel != NULL && atomic_load(p->cancel))
		rc = err_set("cancelled before the VM was defined");
	if (rc == 0 && hv_check(hv, &c) != 0)
		rc = err_prefix("Checking the VM failed");
	if (rc == 0) {
		if (fn != NULL)
			fn("Defining the VM", -1, arg);
		if (hv_define(hv, &c) != 0)
			rc = err_prefix("Defining the VM failed");
		else
			vm_config_copy(&m->defined, &c);
	}
	if (rc != 0) {
		vm_config_clear(&c);
		provision_undo(hv, m);
		return -1;
	}
	*out = c;
	*made = m;
	return 0;
}

int
provision_build(struct hv *hv, const struct provision_plan *p, provision_progress_fn fn,
    void *arg, struct vm_config *out, struct provision_made **made)
{
	struct db *rec = NULL;

	/* Its own connection: this runs on whatever thread the caller chose. */
	if (p->inventory != NULL && (rec = db_open(p->inventory)) == NULL) {
		*made = NULL;
		memset(out, 0, sizeof *out);
		return err_prefix("Recording the creation failed");
	}
	return build(hv, p, fn, arg, out, made, rec, rec != NULL);
}

int
provision_create(struct db *db, struct hv *hv, const struct provision_plan *p,
    provision_progress_fn fn, void *arg, struct vm_config *out)
{
	struct provision_made *m;
	char *spec;
	int64_t id;
	int rc;

	if (provision_validate(p) != 0)
		return -1;
	spec = xasprintf("%s/%s", p->host, p->name);
	rc = vm_resolve(db, spec, &id);
	free(spec);
	if (rc == 0)
		return err_set("name: a VM named '%s' already exists on host '%s'; choose "
		    "another name", p->name, p->host);
	if (build(hv, p, fn, arg, out, &m, db, false) != 0)
		return -1;
	if (vm_insert(db, out) != 0) {
		err_prefix("Adding the VM to the inventory failed");
		provision_undo(hv, m);
		vm_config_clear(out);
		return -1;
	}
	provision_keep(m);
	return 0;
}

int
provision_add_disk(struct hv *hv, const struct vm_config *c, const char *pool, int64_t bytes,
    char **path)
{
	struct provision_plan p;
	struct provision_made *m;
	char *dir = NULL, *name;
	int rc, n = (int)c->ndisks;

	*path = NULL;
	if (bytes < PROV_MIN_BYTES || bytes > PROV_MAX_BYTES)
		return err_set("disk size: give 1M to %d TiB", TEMPLATE_MAX_DISK_GIB / 1024);
	/* The name of the first free "NAME-N.qcow2". */
	for (;; n++) {
		bool used = false;

		name = xasprintf("%s-%d.qcow2", c->name, n);
		for (size_t i = 0; i < c->ndisks; i++) {
			const char *base = strrchr(c->disks[i].path, '/');

			used |= strcmp(base != NULL ? base + 1 : c->disks[i].path, name) == 0;
		}
		if (!used)
			break;
		free(name);
	}
	if (hv->host.kind != HOST_BUILTIN) {
		struct hv_volume v = { pool, name, "qcow2", bytes, NULL, NULL };

		rc = hv_volume_create(hv, &v, path);
		free(name);
		return rc != 0 ? err_prefix("Creating the disk failed") : 0;
	}
	/* Beside the VM's first disk it made, else in its own directory. */
	for (size_t i = 0; i < c->ndisks && dir == NULL; i++)
		if (c->disks[i].owned && !c->disks[i].cdrom && strrchr(c->disks[i].path, '/') != NULL)
			dir = xstrndup(c->disks[i].path,
			    (size_t)(strrchr(c->disks[i].path, '/') - c->disks[i].path));
	if (dir == NULL) {
		char *data = paths_data_dir();

		dir = xasprintf("%s/images/%s", data, c->name);
		free(data);
	}
	*path = xasprintf("%s/%s", dir, name);
	free(name);
	provision_init(&p);
	p.disk = PROV_DISK_NEW;
	p.disk_bytes = bytes;
	m = xcalloc(1, sizeof *m);
	rc = make_dirs(m, dir) != 0 ? err_prefix("Creating the directory failed") :
	    local_disk(&p, m, *path, NULL, NULL) != 0 ? err_prefix("Creating the disk failed") : 0;
	provision_clear(&p);
	free(dir);
	if (rc != 0) {
		provision_undo(hv, m);
		free(*path);
		*path = NULL;
		return -1;
	}
	made_free(m);
	return 0;
}

int
provision_resize_disk(struct hv *hv, const struct vm_config *c, const char *path, int64_t bytes)
{
	char format[16];
	int64_t now;
	struct strv a;
	int rc;

	if (hv->host.kind != HOST_BUILTIN)
		return err_set("VM '%s': resizing disks on libvirt hosts is not supported yet; "
		    "use 'virsh vol-resize'", c->name);
	if (image_info(path, format, sizeof format, &now) != 0)
		return -1;
	if (bytes <= now)
		return err_set("disk '%s' is already %lld bytes; give a larger size (disks only "
		    "grow)", path, (long long)now);
	strv_init(&a);
	strv_add(&a, tool("VMTTY_QEMU_IMG", "qemu-img"));
	strv_add(&a, "resize");
	strv_add2(&a, "-f", format);
	strv_add(&a, path);
	strv_addf(&a, "%lld", (long long)bytes);
	rc = run_tool(&a, NULL, NULL);
	strv_free(&a);
	return rc != 0 ? err_prefix("Resizing disk '%s' failed", path) : 0;
}

/* ---- a VM made from another one (ops/clone.c) ---------------------------- */

struct provision_made *
provision_made_begin(struct db *rec, const struct vm_config *c)
{
	struct provision_made *m = xcalloc(1, sizeof *m);

	if (record_begin(m, rec, false, c) != 0) {
		made_free(m);
		return NULL;
	}
	return m;
}

int
provision_made_dir(struct provision_made *m, const char *dir)
{
	return make_dirs(m, dir) != 0 ? err_prefix("Creating the directory failed") : 0;
}

int
provision_made_copy(struct provision_made *m, const struct provision_copy *cp)
{
	struct tool_progress tp = { cp->fn, cp->arg, cp->step, -1 };
	struct strv a;
	int rc;

	if (check_absent(cp->to) != 0 || made_add(m, CREATION_FILE, cp->to) != 0)
		return -1;
	strv_init(&a);
	strv_add(&a, tool("VMTTY_QEMU_IMG", "qemu-img"));
	strv_add(&a, "convert");
	strv_add(&a, "-p");
	/* The source may be open in a running qemu (a snapshot's file). */
	strv_add(&a, "-U");
	strv_add2(&a, "-f", cp->format);
	if (cp->snapshot != NULL) {
		char *esc = strv_qemu_escape(cp->snapshot);

		strv_add(&a, "-l");
		strv_addf(&a, "snapshot.name=%s", esc);
		free(esc);
	}
	strv_add2(&a, "-O", "qcow2");
	strv_add(&a, cp->from);
	strv_add(&a, cp->to);
	if (cp->fn != NULL) {
		cp->fn(cp->step, 0, cp->arg);
		tp.last = 0;
	}
	rc = run_tool(&a, &tp, cp->cancel);
	strv_free(&a);
	return rc != 0 ? err_prefix("Copying '%s' failed", cp->from) : 0;
}

int
provision_made_overlay(struct provision_made *m, const char *base, const char *to)
{
	struct qemu_img_info info;
	int rc;

	if (check_absent(to) != 0)
		return -1;
	if (qemu_img_info(base, &info) != 0)
		return err_prefix("cannot read image '%s'", base);
	rc = strcmp(info.format, "qcow2") != 0 ? err_set("'%s' is a %s image; a linked clone "
	    "stands on qcow2 images only", base, info.format) : info.virtual_size < 0 ?
	    err_set("qemu-img does not tell the size of '%s'", base) : 0;
	if (rc == 0)
		rc = made_add(m, CREATION_FILE, to);
	if (rc == 0)
		rc = qemu_img_overlay(to, base, info.virtual_size);
	qemu_img_info_clear(&info);
	return rc;
}

/* USER_DATA with its top-level hostname set to HOSTNAME (allocated). */
static char *
user_data_rehost(const char *user_data, const char *hostname)
{
	char *out = NULL;
	size_t len = 0;
	bool done = false;
	FILE *fp = open_memstream(&out, &len);

	for (const char *p = user_data; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) + 1 : strlen(p);

		if (strncmp(p, "hostname:", 9) == 0) {
			if (!done) {
				fputs("hostname: ", fp);
				yaml_str(fp, hostname);
				fputs("\n", fp);
			}
			done = true;
		} else {
			fwrite(p, 1, n, fp);
			/* None yet: right after the "#cloud-config" line. */
			if (!done && p == user_data && strncmp(p, "#cloud-config", 13) == 0) {
				if (nl == NULL)
					fputs("\n", fp);
				fputs("hostname: ", fp);
				yaml_str(fp, hostname);
				fputs("\n", fp);
				done = true;
			}
		}
		p += n;
	}
	fclose(fp);
	return out;
}

/* A new seed at TO from seed FROM (provision_made_reseed). */
static int
reseed(const char *from, const char *to, const char *uuid, const char *hostname,
    const atomic_bool *cancel)
{
	char *argv[] = { (char *)tool("VMTTY_ISOINFO", "isoinfo"), "-R", "-i", (char *)from,
		"-x", "/user-data", NULL };
	char *ud, *rehosted;
	struct seed_data sd = { NULL, uuid, hostname, NULL };
	int rc;

	if ((ud = spawn_output(argv, 60000)) == NULL)
		return err_prefix("cannot read the cloud-init seed '%s' (isoinfo, Debian: "
		    "genisoimage)", from);
	rehosted = user_data_rehost(ud, hostname);
	free(ud);
	sd.user_data = rehosted;
	rc = make_seed(&sd, to, cancel);
	free(rehosted);
	return rc;
}

/* The seed's name as a host name, or a sentence why not. */
static int
reseed_check(const char *hostname)
{
	if (check_hostname(hostname) != 0)
		return err_set("VM name '%s' is not a host name, and the guest would take it as "
		    "one (its cloud-init seed); choose a name of letters, digits and '-'", hostname);
	return 0;
}

int
provision_made_reseed(struct provision_made *m, const char *from, const char *to,
    const char *uuid, const char *hostname, const atomic_bool *cancel)
{
	int rc;

	if (reseed_check(hostname) != 0)
		return -1;
	rc = check_absent(to) != 0 || made_add(m, CREATION_FILE, to) != 0 ? -1 :
	    reseed(from, to, uuid, hostname, cancel);
	return rc != 0 ? err_prefix("Making the cloud-init seed ISO failed") : 0;
}

int
provision_made_volume(struct provision_made *m, const char *path)
{
	return made_add(m, CREATION_VOLUME, path);
}

void
provision_made_defined(struct provision_made *m, const struct vm_config *c)
{
	vm_config_clear(&m->defined);
	vm_config_copy(&m->defined, c);
}

/* Volume FROM on HV's host into the new local file TO (0600). */
static int
download(struct hv *hv, const char *from, const char *to, char **pool)
{
	struct hv_vol_info info = { 0 };
	struct hv_vol *v = hv_vol_open_read(hv, from, "raw", &info);
	char buf[65536];
	ssize_t n = 0;
	int fd, rc = 0;

	*pool = NULL;
	if (v == NULL)
		return -1;
	if ((fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		hv_vol_close(v, false);
		hv_vol_info_clear(&info);
		return err_set("cannot write '%s': %s", to, strerror(errno));
	}
	while (rc == 0 && (n = hv_vol_read(v, buf, sizeof buf)) > 0)
		for (ssize_t off = 0; rc == 0 && off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));

			if (w < 0 && errno != EINTR)
				rc = err_set("cannot write '%s': %s", to, strerror(errno));
			off += w > 0 ? w : 0;
		}
	if (n < 0)
		rc = -1;
	if (close(fd) != 0 && rc == 0)
		rc = err_set("cannot write '%s': %s", to, strerror(errno));
	if (hv_vol_close(v, rc == 0) != 0)
		rc = -1;
	if (rc == 0)
		*pool = xstrdup0(info.pool);
	hv_vol_info_clear(&info);
	return rc;
}

int
provision_made_reseed_volume(struct provision_made *m, struct hv *hv, const char *from,
    const char *uuid, const char *hostname, const atomic_bool *cancel, char **path)
{
	char tmpl[] = "/tmp/vmtty-seed.XXXXXX", *old, *iso, *pool = NULL, *name;
	struct stat st;
	int rc;

	*path = NULL;
	if (reseed_check(hostname) != 0)
		return -1;
	if (mkdtemp(tmpl) == NULL)
		return err_set("Making the cloud-init seed ISO failed: cannot create a temporary "
		    "directory: %s", strerror(errno));
	old = xasprintf("%s/old.iso", tmpl);
	iso = xasprintf("%s/seed.iso", tmpl);
	name = xasprintf("%s-seed.iso", hostname);
	rc = download(hv, from, old, &pool) != 0 ? err_prefix("cannot read the cloud-init seed "
	    "'%s'", from) : reseed(old, iso, uuid, hostname, cancel);
	if (rc == 0 && stat(iso, &st) != 0)
		rc = err_set("cannot read '%s': %s", iso, strerror(errno));
	if (rc == 0) {
		struct hv_volume v = { pool, name, "raw", st.st_size, NULL, iso };

		rc = hv_volume_create(hv, &v, path);
	}
	if (rc == 0 && made_add(m, CREATION_VOLUME, *path) != 0)
		rc = -1;
	unlink(old);
	unlink(iso);
	rmdir(tmpl);
	free(old);
	free(iso);
	free(name);
	free(pool);
	return rc != 0 ? err_prefix("Making the cloud-init seed ISO failed") : 0;
}

/* Disk D of a VM goes with --delete-disks (the rule of provision_delete_disks). */
static bool
disk_goes(const struct vm_disk *d, bool builtin)
{
	if ((d->cdrom || d->readonly) && !d->owned)
		return false;
	return builtin || d->owned;
}

const struct vm_disk_ref *
provision_disk_user(const struct vm_disk_ref *refs, size_t n, int64_t vm_id, int64_t host_id,
    bool builtin, const char *path)
{
	for (size_t i = 0; i < n; i++) {
		if (refs[i].vm_id == vm_id || refs[i].builtin != builtin)
			continue;
		if (builtin ? paths_same_file(path, refs[i].path) :
		    refs[i].host_id == host_id && strcmp(path, refs[i].path) == 0)
			return &refs[i];
	}
	return NULL;
}

int
provision_check_delete_disks(struct db *db, const struct vm_config *c, bool builtin)
{
	struct keep k;
	struct vm_disk_ref *refs;
	size_t n;
	int rc = 0;

	for (size_t i = 0; !builtin && i < c->ndisks; i++) {
		const struct vm_disk *d = &c->disks[i];

		if (d->owned || d->cdrom || d->readonly)
			continue;
		return err_set("VM '%s' is on libvirt host '%s': its disks are there, and deleting "
		    "them through storage pools is not supported for disks vmtty did not make "
		    "('%s')", c->name, c->host, d->path);
	}
	/* A disk another VM uses stays, and so does everything else. */
	if (vm_disk_refs(db, &refs, &n) != 0)
		return -1;
	for (size_t i = 0; rc == 0 && i < c->ndisks; i++) {
		const struct vm_disk *d = &c->disks[i];
		const struct vm_disk_ref *u;

		if (!disk_goes(d, builtin) ||
		    (u = provision_disk_user(refs, n, c->id, c->host_id, builtin, d->path)) == NULL)
			continue;
		rc = err_set("disk '%s' of VM '%s' is also used by VM '%s' on host '%s', which "
		    "keeps it: nothing was deleted", d->path, c->name, u->vm, u->host);
	}
	vm_disk_refs_free(refs, n);
	if (rc != 0 || !builtin)
		return rc;
	/* Nor does a file another VM's disk stands on (a linked clone's base,
	 * the image an overlay was made on) or its snapshots keep. */
	if (keep_build(db, c->id, &k) != 0)
		return -1;
	for (size_t i = 0; rc == 0 && i < c->ndisks; i++) {
		const struct vm_disk *d = &c->disks[i];
		const struct hv_keep *u;
		const char *role;

		if (!disk_goes(d, builtin) || (u = keep_find(&k, d->path, &role)) == NULL)
			continue;
		rc = err_set("disk '%s' of VM '%s' is needed by VM '%s' (%s), which keeps it: "
		    "nothing was deleted", d->path, c->name, u->vm, role);
	}
	keep_free(&k);
	return rc;
}

int
provision_delete_disks(struct hv *hv, const struct vm_config *c, int *removed)
{
	char first[1024] = "";

	*removed = 0;
	for (size_t i = 0; i < c->ndisks; i++) {
		const struct vm_disk *d = &c->disks[i];

		if (!disk_goes(d, hv->host.kind == HOST_BUILTIN))
			continue;	/* provision_check_delete_disks said so */
		if (hv->host.kind != HOST_BUILTIN) {
			if (hv_volume_delete(hv, d->path) == 0)
				(*removed)++;
			else if (first[0] == '\0')
				snprintf(first, sizeof first, "%s", err_get());
			continue;
		}
		if (unlink(d->path) == 0) {
			(*removed)++;
			/* The VM's own directory goes when it is empty. */
			if (d->owned) {
				char *dir = xstrdup(d->path), *slash = strrchr(dir, '/');

				if (slash != NULL && slash != dir) {
					*slash = '\0';
					rmdir(dir);
				}
				free(dir);
			}
		} else if (errno != ENOENT && first[0] == '\0') {
			snprintf(first, sizeof first, "disk '%s' could not be removed: %s", d->path,
			    strerror(errno));
		}
	}
	if (first[0] != '\0')
		return err_set("VM '%s' deleted, but %s", c->name, first);
	return 0;
}

bool
provision_alive(int64_t pid, int64_t pid_start)
{
	int64_t start;

	if (pid == (int64_t)getpid())
		return true;
	if (pid <= 0 || (start = provision_proc_start((pid_t)pid)) < 0)
		return false;
	/* Another process with the recycled pid is not the maker. */
	return pid_start < 0 || start == pid_start;
}

/* The maker of creation C still runs (this process counts: its own
 * creations are under way on another thread). */
static bool
owner_alive(const struct creation *c)
{
	return provision_alive(c->pid, c->pid_start);
}

/* PATH is recorded by a creation other than C that is still under way. */
static bool
made_by_other(const struct creation *all, size_t n, const struct creation *c,
    const char *path)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; &all[i] != c && j < all[i].npaths && owner_alive(&all[i]); j++)
			if (strcmp(all[i].paths[j].path, path) == 0)
				return true;
	return false;
}

/* Remove what creation C made, newest first: only the paths it recorded,
 * and of those none that a VM in the inventory or another creation uses. */
static void
take_back(struct hv *hv, const struct creation *c, const struct creation *all, size_t n,
    const struct vm_disk_ref *refs, size_t nrefs)
{
	for (size_t i = c->npaths; i-- > 0;) {
		const struct creation_path *p = &c->paths[i];
		const struct vm_disk_ref *u = provision_disk_user(refs, nrefs, -1, c->host_id,
		    p->kind != CREATION_VOLUME, p->path);

		if (u != NULL || made_by_other(all, n, c, p->path)) {
			log_debug("provision: '%s' of the interrupted creation of '%s' stays: "
			    "it is in use", p->path, c->name);
			continue;
		}
		switch (p->kind) {
		case CREATION_DIR:
			if (rmdir(p->path) != 0 && errno != ENOENT)
				log_debug("provision: cannot remove '%s': %s", p->path,
				    strerror(errno));
			break;
		case CREATION_FILE:
			if (unlink(p->path) != 0 && errno != ENOENT)
				log_debug("provision: cannot remove '%s': %s", p->path,
				    strerror(errno));
			break;
		case CREATION_VOLUME:
			if (hv == NULL || hv_volume_delete(hv, p->path) != 0)
				log_debug("provision: cannot delete volume '%s': %s", p->path,
				    hv == NULL ? "no connection" : err_get());
			break;
		}
	}
}

/* A VM of UUID is on host HOST_ID in the inventory (made, and kept). */
static bool
vm_kept(const struct vm_summary *vms, size_t nvms, const struct creation *c)
{
	for (size_t i = 0; i < nvms; i++)
		if (strcmp(vms[i].uuid, c->uuid) == 0 && strcmp(vms[i].host, c->host) == 0)
			return true;
	return false;
}

/* Host HV has a domain of C's UUID (or cannot tell): what C made may be
 * that domain's now (a move that went through, a definition that did not
 * reach the inventory yet), or an incoming migration's that the host ends
 * in a moment: the record waits. */
static bool
domain_there(struct hv *hv, const struct creation *c)
{
	struct hv_domain *d;
	size_t n;
	bool there = false;

	if (hv_list(hv, &d, &n) != 0)
		return true;
	for (size_t i = 0; i < n && !there; i++)
		there = strcasecmp(d[i].uuid, c->uuid) == 0;
	hv_domains_free(d, n);
	return there;
}

int
provision_recover(struct db *db, provision_open_fn open_hv, void *arg,
    void (*said)(const char *line, void *arg), void *said_arg)
{
	struct creation *cs;
	struct vm_disk_ref *refs = NULL;
	struct vm_summary *vms = NULL;
	size_t n, nrefs = 0, nvms = 0;
	int rc = 0;

	if (creation_list(db, &cs, &n) != 0)
		return -1;
	if (n > 0 && (vm_disk_refs(db, &refs, &nrefs) != 0 || vm_list(db, NULL, &vms, &nvms) != 0))
		rc = -1;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct creation *c = &cs[i];
		struct hv *hv = NULL;
		char msg[512];

		if (owner_alive(c))
			continue;
		/* Its maker died after the VM was in the inventory: all kept. */
		if (vm_kept(vms, nvms, c)) {
			creation_end(db, c->id);
			continue;
		}
		/* A libvirt host's volumes need the host; if it does not answer,
		 * the record stays for the next vmtty. */
		if (!c->builtin && (open_hv == NULL || (hv = open_hv(c->host, arg)) == NULL)) {
			log_debug("provision: the interrupted creation of '%s' on '%s' waits for "
			    "the host: %s", c->name, c->host, err_get());
			continue;
		}
		if (hv != NULL && domain_there(hv, c)) {
			log_debug("provision: the interrupted creation of '%s' on '%s' waits: the "
			    "host has a domain of its UUID (or could not list them)", c->name,
			    c->host);
			hv_close(hv);
			continue;
		}
		take_back(hv, c, cs, n, refs, nrefs);
		hv_close(hv);
		if (creation_end(db, c->id) != 1)
			continue;	/* another vmtty took it back at the same time */
		snprintf(msg, sizeof msg, "creation of %s interrupted; cleaned up", c->name);
		journal_add(db, c->host, c->name, "create", false, msg);
		if (said != NULL)
			said(msg, said_arg);
	}
	vm_summary_free(vms, nvms);
	vm_disk_refs_free(refs, nrefs);
	creation_free(cs, n);
	return rc;
}
