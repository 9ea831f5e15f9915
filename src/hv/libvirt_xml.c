/* Domain XML from a vm_config, one small helper per part, every value
 * escaped.  A pure function: the domain type and the serial log path come
 * resolved from the caller (struct libvirt_env), so fixtures pin the
 * output down (tests/data/xml).  The XML libvirt hands back is read with
 * libxml2 and XPath (below libvirt_serial_log_path); a domain's definition
 * is brought to a VM's tuning by changing only those parts of its tree. */
#include "hv/libvirt.h"
#include "hv/qemu.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>

#include "hv/libvirt_xml_priv.h"
#include "model/tuning.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

/* A growing string. */
struct xb {
	char *s;
	size_t len, cap;
};

static void
xb_grow(struct xb *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return;
	while (b->len + more + 1 > b->cap)
		b->cap = b->cap == 0 ? 4096 : b->cap * 2;
	b->s = xrealloc(b->s, b->cap);
}

static void xb_add(struct xb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append raw text: only constants and numbers go through here. */
static void
xb_add(struct xb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	xb_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Append S escaped for both text and attribute values (either quote).
 * Tab, LF and CR become character references: a parser would fold them
 * to spaces in an attribute. */
static void
xb_esc(struct xb *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			xb_add(b, "&amp;");
			break;
		case '<':
			xb_add(b, "&lt;");
			break;
		case '>':
			xb_add(b, "&gt;");
			break;
		case '\'':
			xb_add(b, "&apos;");
			break;
		case '"':
			xb_add(b, "&quot;");
			break;
		case '\t':
		case '\n':
		case '\r':
			xb_add(b, "&#%d;", *s);
			break;
		default:
			xb_grow(b, 1);
			b->s[b->len++] = *s;
			b->s[b->len] = '\0';
		}
	}
}

/* INDENT spaces, <TAG>VALUE</TAG>, newline. */
static void
xb_elem(struct xb *b, int indent, const char *tag, const char *value)
{
	xb_add(b, "%*s<%s>", indent, "", tag);
	xb_esc(b, value);
	xb_add(b, "</%s>\n", tag);
}

/* XML 1.0 cannot carry control characters other than tab, LF and CR. */
static int
check_text(const struct vm_config *c, const char *what, const char *s)
{
	if (s == NULL)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7f)
			return err_set("VM '%s': the %s contains a control character, which domain "
			    "XML cannot carry; remove it", c->name, what);
	return 0;
}

static int
check_texts(const struct vm_config *c)
{
	if (check_text(c, "name", c->name) != 0 || check_text(c, "notes", c->notes) != 0 ||
	    check_text(c, "kernel path", c->kernel) != 0 ||
	    check_text(c, "initrd path", c->initrd) != 0 ||
	    check_text(c, "kernel command line", c->cmdline) != 0)
		return -1;
	for (size_t i = 0; i < c->ndisks; i++)
		if (check_text(c, "disk path", c->disks[i].path) != 0)
			return -1;
	for (size_t i = 0; i < c->nnics; i++)
		if (check_text(c, "NIC source", c->nics[i].source) != 0)
			return -1;
	return 0;
}

/* libvirt's disk names: 0 -> "a", 25 -> "z", 26 -> "aa", like
 * virDiskNameFromIndex. */
static void
disk_name(char *out, size_t len, const char *prefix, int idx)
{
	char rev[8];
	int n = 0;

	for (int i = idx; n < (int)sizeof rev; i = i / 26 - 1) {
		rev[n++] = (char)('a' + i % 26);
		if (i < 26)
			break;
	}
	snprintf(out, len, "%s", prefix);
	for (size_t o = strlen(out); n > 0 && o + 1 < len; o++) {
		out[o] = rev[--n];
		out[o + 1] = '\0';
	}
}

/* The libvirt target bus of disk D: IDE on q35 is the built-in AHCI, as
 * the built-in backend puts it too. */
static const char *
disk_bus(const struct vm_config *c, const struct vm_disk *d)
{
	if (strcmp(d->bus, "ide") == 0 && strcmp(c->machine, "pc") != 0)
		return "sata";
	return d->bus;
}

/* C's pins into <cputune>: each vCPU pinned (by its own pin or "all"),
 * and the emulator threads. */
static int
add_cputune(struct xb *b, const struct vm_config *c)
{
	struct cpuset set;
	char buf[4096];
	bool open = false;

	if (tuning_validate(c) != 0)
		return -1;
	for (int v = 0; v < vm_config_cpus(c); v++) {
		if (tuning_vcpu_pin(c, v, &set) != 1)
			continue;
		if (!open)
			xb_add(b, "  <cputune>\n");
		open = true;
		cpuset_format(&set, buf, sizeof buf);
		xb_add(b, "    <vcpupin vcpu='%d' cpuset='%s'/>\n", v, buf);
	}
	if (tuning_emulator_pin(c, &set) == 1) {
		if (!open)
			xb_add(b, "  <cputune>\n");
		open = true;
		cpuset_format(&set, buf, sizeof buf);
		xb_add(b, "    <emulatorpin cpuset='%s'/>\n", buf);
	}
	if (open)
		xb_add(b, "  </cputune>\n");
	return 0;
}

static void
add_identity(struct xb *b, const struct vm_config *c, const char *type)
{
	int64_t cur = c->tuning.balloon_mib > 0 ? c->tuning.balloon_mib : c->memory_mib;

	xb_add(b, "<domain type='%s'>\n", type);
	xb_elem(b, 2, "name", c->name);
	if (c->uuid[0] != '\0')
		xb_elem(b, 2, "uuid", c->uuid);
	if (c->notes != NULL && c->notes[0] != '\0')
		xb_elem(b, 2, "description", c->notes);
	xb_add(b, "  <metadata>\n    <vmtty:tuning xmlns:vmtty='" LIBVIRT_TUNING_NS "'/>\n"
	    "  </metadata>\n");
	xb_add(b, "  <memory unit='MiB'>%lld</memory>\n", (long long)c->memory_mib);
	xb_add(b, "  <currentMemory unit='MiB'>%lld</currentMemory>\n", (long long)cur);
	if (c->tuning.hugepage_kib > 0)
		xb_add(b, "  <memoryBacking>\n    <hugepages>\n      <page size='%lld' "
		    "unit='KiB'/>\n    </hugepages>\n  </memoryBacking>\n",
		    (long long)c->tuning.hugepage_kib);
	xb_add(b, "  <vcpu placement='static'>%d</vcpu>\n", vm_config_cpus(c));
}

static void
add_os(struct xb *b, const struct vm_config *c)
{
	if (strcmp(c->firmware, "uefi") == 0)
		xb_add(b, "  <os firmware='efi'>\n");
	else
		xb_add(b, "  <os>\n");
	xb_add(b, "    <type arch='x86_64' machine='%s'>hvm</type>\n",
	    strcmp(c->machine, "pc") == 0 ? "pc" : "q35");
	if (c->kernel != NULL) {
		xb_elem(b, 4, "kernel", c->kernel);
		if (c->initrd != NULL)
			xb_elem(b, 4, "initrd", c->initrd);
		if (c->cmdline != NULL)
			xb_elem(b, 4, "cmdline", c->cmdline);
	}
	xb_add(b, "  </os>\n");
	xb_add(b, "  <features>\n    <acpi/>\n    <apic/>\n  </features>\n");
}

static void
add_cpu(struct xb *b, const struct vm_config *c, const char *type)
{
	xb_add(b, "  <cpu%s>\n", strcmp(type, "kvm") == 0 ? " mode='host-passthrough'" : "");
	xb_add(b, "    <topology sockets='%d' dies='1' cores='%d' threads='%d'/>\n",
	    c->sockets, c->cores, c->threads);
	xb_add(b, "  </cpu>\n");
	xb_add(b, "  <clock offset='utc'/>\n");
}

/* virtio-scsi controllers for the SCSI disks: libvirt puts 7 units on
 * each, and would add an LSI one by itself. */
static void
add_controllers(struct xb *b, const struct vm_config *c)
{
	int sd = 0, max = -1;

	for (size_t i = 0; i < c->ndisks; i++) {
		const char *bus = disk_bus(c, &c->disks[i]);

		if (strcmp(bus, "scsi") == 0 && sd / 7 > max)
			max = sd / 7;
		if (strcmp(bus, "scsi") == 0 || strcmp(bus, "sata") == 0)
			sd++;
	}
	for (int i = 0; i <= max; i++)
		xb_add(b, "    <controller type='scsi' index='%d' model='virtio-scsi'/>\n", i);
}

static void
add_disk(struct xb *b, const struct vm_config *c, size_t i, int *vd, int *sd, int *hd)
{
	const struct vm_disk *d = &c->disks[i];
	const char *bus = disk_bus(c, d);
	bool block = strncmp(d->path, "/dev/", 5) == 0;
	char dev[16];

	if (strcmp(bus, "virtio") == 0)
		disk_name(dev, sizeof dev, "vd", (*vd)++);
	else if (strcmp(bus, "ide") == 0)
		disk_name(dev, sizeof dev, "hd", (*hd)++);
	else
		disk_name(dev, sizeof dev, "sd", (*sd)++);
	xb_add(b, "    <disk type='%s' device='%s'>\n", block ? "block" : "file",
	    d->cdrom ? "cdrom" : "disk");
	xb_add(b, "      <driver name='qemu' type='%s'", strcmp(d->format, "raw") == 0 ? "raw" :
	    "qcow2");
	if (d->cache != NULL) {
		xb_add(b, " cache='");
		xb_esc(b, d->cache);
		xb_add(b, "'");
	}
	xb_add(b, "/>\n      <source %s='", block ? "dev" : "file");
	xb_esc(b, d->path);
	xb_add(b, "'/>\n      <target dev='%s' bus='%s'/>\n", dev, bus);
	if (d->readonly || d->cdrom)
		xb_add(b, "      <readonly/>\n");
	/* The boot order, unless a kernel is given (vm_boot_index). */
	if (vm_boot_index(c, false, i) > 0)
		xb_add(b, "      <boot order='%d'/>\n", vm_boot_index(c, false, i));
	xb_add(b, "    </disk>\n");
}

static const char *
nic_model(const char *model)
{
	return strcmp(model, "virtio-net") == 0 ? "virtio" : model;
}

static int
add_nic(struct xb *b, const struct vm_config *c, size_t i)
{
	const struct vm_nic *n = &c->nics[i];
	struct vm_forward f[VM_MAX_FORWARDS];
	size_t nf = 0;
	char mac[18];

	if (strcmp(n->kind, "user") == 0 && n->forwards != NULL &&
	    vm_forwards_parse(n->forwards, f, VM_MAX_FORWARDS, &nf) != 0)
		return err_prefix("VM '%s', NIC %zu", c->name, i);
	/* libvirt forwards ports of user networking only with the passt
	 * backend, from 9.2 on; 9.0 rejects <backend type='passt'/>. */
	if (nf > 0)
		return err_set("VM '%s', NIC %zu: port forwards on user networking are not "
		    "supported by the libvirt backend (libvirt 9.0 has no passt); use a libvirt "
		    "network or a bridge instead", c->name, i);
	if (strcmp(n->kind, "tap") == 0)
		xb_add(b, "    <interface type='ethernet'>\n");
	else
		xb_add(b, "    <interface type='%s'>\n", strcmp(n->kind, "bridge") == 0 ? "bridge" :
		    strcmp(n->kind, "network") == 0 ? "network" : "user");
	/* A stable MAC, the same the built-in backend would give. */
	if (n->mac != NULL)
		snprintf(mac, sizeof mac, "%s", n->mac);
	else
		qemu_default_mac(c, i, mac);
	xb_add(b, "      <mac address='");
	xb_esc(b, mac);
	xb_add(b, "'/>\n");
	if (strcmp(n->kind, "bridge") == 0 || strcmp(n->kind, "network") == 0) {
		xb_add(b, "      <source %s='", n->kind);
		xb_esc(b, n->source != NULL ? n->source : "");
		xb_add(b, "'/>\n");
	} else if (strcmp(n->kind, "tap") == 0) {
		xb_add(b, "      <target dev='");
		xb_esc(b, n->source != NULL ? n->source : "");
		xb_add(b, "' managed='no'/>\n");
	}
	xb_add(b, "      <model type='%s'/>\n", nic_model(n->model));
	if (vm_boot_index(c, true, i) > 0)
		xb_add(b, "      <boot order='%d'/>\n", vm_boot_index(c, true, i));
	xb_add(b, "    </interface>\n");
	return 0;
}

static void
add_chardevs(struct xb *b, const struct vm_config *c, const struct libvirt_env *env)
{
	xb_add(b, "    <serial type='pty'>\n");
	/* virtlogd keeps what the guest printed while no console was open. */
	if (env->serial_log != NULL) {
		xb_add(b, "      <log file='");
		xb_esc(b, env->serial_log);
		xb_add(b, "' append='off'/>\n");
	}
	xb_add(b, "      <target port='0'/>\n    </serial>\n");
	xb_add(b, "    <console type='pty'>\n      <target type='serial' port='0'/>\n"
	    "    </console>\n");
	if (strcmp(c->graphics, "vnc") == 0) {
		xb_add(b, "    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'>\n"
		    "      <listen type='address' address='127.0.0.1'/>\n    </graphics>\n");
		xb_add(b, "    <video>\n      <model type='vga'/>\n    </video>\n");
	}
	/* Ballooning and entropy are always there, as in the built-in backend. */
	xb_add(b, "    <memballoon model='virtio'/>\n");
	xb_add(b, "    <rng model='virtio'>\n"
	    "      <backend model='random'>/dev/urandom</backend>\n    </rng>\n");
}

int
libvirt_domain_xml(const struct vm_config *c, const struct libvirt_env *env, char **out)
{
	struct xb b = { NULL, 0, 0 };
	const char *type = env->type;
	int vd = 0, sd = 0, hd = 0;

	*out = NULL;
	if (strcmp(type, "kvm") != 0 && strcmp(type, "qemu") != 0)
		return err_set("VM '%s': domain type '%s' is not known; use kvm or qemu",
		    c->name, type);
	if (check_texts(c) != 0)
		return -1;
	if (strcmp(c->machine, "microvm") == 0)
		return err_set("VM '%s': machine type microvm is for the built-in backend only: "
		    "libvirt 9.0 cannot define a microvm (it has no PCI bus for the devices "
		    "libvirt adds); use machine type q35 here, or host local", c->name);
	for (size_t i = 0; i < c->ndisks; i++)
		if (strcmp(c->disks[i].bus, "nvme") == 0)
			return err_set("VM '%s': disk '%s' is on an nvme bus, which the libvirt "
			    "backend cannot express (libvirt 9.0 has no NVMe disk target); "
			    "use virtio, scsi or sata", c->name, c->disks[i].path);
	add_identity(&b, c, type);
	if (add_cputune(&b, c) != 0)
		goto fail;
	add_os(&b, c);
	add_cpu(&b, c, type);
	xb_add(&b, "  <devices>\n");
	add_controllers(&b, c);
	for (size_t i = 0; i < c->ndisks; i++)
		add_disk(&b, c, i, &vd, &sd, &hd);
	for (size_t i = 0; i < c->nnics; i++)
		if (add_nic(&b, c, i) != 0)
			goto fail;
	if (env->serial_log != NULL && check_text(c, "serial log path", env->serial_log) != 0)
		goto fail;
	add_chardevs(&b, c, env);
	xb_add(&b, "  </devices>\n</domain>\n");
	*out = b.s;
	return 0;
fail:
	free(b.s);
	return -1;
}

char *
libvirt_serial_log_path(const char *uri, const char *name)
{
	const char *p = strstr(uri, "://"), *path;
	size_t len;

	/* qemu[+transport]://[host]/system[?params] */
	if (p == NULL || strncmp(uri, "qemu", 4) != 0 || (uri[4] != ':' && uri[4] != '+'))
		return NULL;
	if ((path = strchr(p + 3, '/')) == NULL)
		return NULL;
	len = strcspn(path, "?#");
	if (len != strlen("/system") || strncmp(path, "/system", len) != 0)
		return NULL;
	return xasprintf("/var/log/libvirt/qemu/%s-serial0.log", name);
}

/*
 * Reading libvirt's XML back: libxml2 and XPath, never strstr, so that
 * attribute order, quotes, comments and entities are libxml2's business.
 * No DTD is loaded, no entity is fetched, nothing goes to the network
 * (XML_PARSE_NONET, no XML_PARSE_NOENT or DTDLOAD), and a document with a
 * DOCTYPE is refused: libvirt never sends one.  libxml2 would print its
 * errors to stderr, which belongs to curses: while we call it, its
 * handlers (per thread) record the first message instead.
 */
struct libvirt_xml {
	xmlDocPtr doc;
	xmlXPathContextPtr xp;
};

/* The handlers of libxml2 in this thread, while vmtty calls it. */
struct quiet {
	xmlStructuredErrorFunc old_s;
	void *old_sctx;
	xmlGenericErrorFunc old_g;
	void *old_gctx;
	char msg[256];
	int line;
};

#if LIBXML_VERSION >= 21200
#define XML_ERR_CONST const
#else
#define XML_ERR_CONST
#endif

static void
quiet_structured(void *arg, XML_ERR_CONST xmlError *e)
{
	struct quiet *q = arg;

	if (q->msg[0] != '\0' || e == NULL || e->message == NULL)
		return;
	snprintf(q->msg, sizeof q->msg, "%s", e->message);
	q->msg[strcspn(q->msg, "\n")] = '\0';
	q->line = e->line;
}

static void quiet_generic(void *arg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
quiet_generic(void *arg, const char *fmt, ...)
{
	struct quiet *q = arg;
	va_list ap;

	if (q->msg[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(q->msg, sizeof q->msg, fmt, ap);
	va_end(ap);
	q->msg[strcspn(q->msg, "\n")] = '\0';
}

/* libxml2 sets up its globals on first use, and two threads doing that at
 * once (two hosts' test drivers parsing their files while they connect)
 * race: it must happen once, before any connection. */
static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void
xml_init(void)
{
	xmlInitParser();
}

void
libvirt_xml_init(void)
{
	pthread_once(&xml_once, xml_init);
}

static void
quiet_begin(struct quiet *q)
{
	libvirt_xml_init();
	q->msg[0] = '\0';
	q->line = 0;
	q->old_s = xmlStructuredError;
	q->old_sctx = xmlStructuredErrorContext;
	q->old_g = xmlGenericError;
	q->old_gctx = xmlGenericErrorContext;
	xmlSetStructuredErrorFunc(q, quiet_structured);
	xmlSetGenericErrorFunc(q, quiet_generic);
}

static void
quiet_end(struct quiet *q)
{
	xmlSetStructuredErrorFunc(q->old_sctx, q->old_s);
	xmlSetGenericErrorFunc(q->old_gctx, q->old_g);
}

struct libvirt_xml *
libvirt_xml_parse(const char *xml, const char *what)
{
	struct libvirt_xml *x;
	struct quiet q;
	xmlDocPtr doc;

	if (xml == NULL || xml[0] == '\0') {
		err_set("cannot read %s: libvirt's XML is empty", what);
		return NULL;
	}
	quiet_begin(&q);
	doc = xmlReadMemory(xml, (int)strnlen(xml, INT_MAX), "libvirt.xml", NULL,
	    XML_PARSE_NONET);
	quiet_end(&q);
	if (doc == NULL) {
		err_set("cannot read %s: libvirt's XML does not parse at line %d: %s", what,
		    q.line, q.msg[0] != '\0' ? q.msg : "unknown error");
		return NULL;
	}
	if (doc->intSubset != NULL || xmlDocGetRootElement(doc) == NULL) {
		xmlFreeDoc(doc);
		err_set("cannot read %s: libvirt's XML has a DOCTYPE or no element, which "
		    "libvirt never sends", what);
		return NULL;
	}
	x = xcalloc(1, sizeof *x);
	x->doc = doc;
	quiet_begin(&q);
	x->xp = xmlXPathNewContext(doc);
	quiet_end(&q);
	if (x->xp == NULL) {
		libvirt_xml_free(x);
		err_set("cannot read %s: out of memory for XPath", what);
		return NULL;
	}
	return x;
}

void
libvirt_xml_free(struct libvirt_xml *x)
{
	if (x == NULL)
		return;
	xmlXPathFreeContext(x->xp);
	xmlFreeDoc(x->doc);
	free(x);
}

/* The node set EXPR selects, or NULL when it selects nothing. */
static xmlXPathObjectPtr
xml_eval(struct libvirt_xml *x, const char *expr)
{
	xmlXPathObjectPtr o;
	struct quiet q;

	quiet_begin(&q);
	o = xmlXPathEval((const xmlChar *)expr, x->xp);
	quiet_end(&q);
	if (o == NULL)
		log_debug("libvirt: XPath '%s': %s", expr, q.msg);
	if (o != NULL && (o->type != XPATH_NODESET || o->nodesetval == NULL ||
	    o->nodesetval->nodeNr == 0)) {
		xmlXPathFreeObject(o);
		o = NULL;
	}
	return o;
}

int
libvirt_xml_count(struct libvirt_xml *x, const char *expr)
{
	xmlXPathObjectPtr o = xml_eval(x, expr);
	int n = o != NULL ? o->nodesetval->nodeNr : 0;

	xmlXPathFreeObject(o);
	return n;
}

char *
libvirt_xml_get(struct libvirt_xml *x, const char *expr)
{
	xmlXPathObjectPtr o = xml_eval(x, expr);
	xmlChar *v;
	char *s;

	if (o == NULL)
		return NULL;
	v = xmlXPathCastNodeToString(o->nodesetval->nodeTab[0]);
	xmlXPathFreeObject(o);
	s = xstrdup(v != NULL ? (const char *)v : "");
	xmlFree(v);
	return s;
}

bool
libvirt_caps_have_kvm(const char *caps)
{
	struct libvirt_xml *x = libvirt_xml_parse(caps, "the host's capabilities");
	bool kvm;

	if (x == NULL) {
		if (caps != NULL)
			log_debug("libvirt: %s", err_get());
		return false;
	}
	kvm = libvirt_xml_count(x,
	    "/capabilities/guest/arch[@name='x86_64']/domain[@type='kvm']") > 0;
	libvirt_xml_free(x);
	return kvm;
}

/* The first VNC display of a domain. */
#define VNC_G "/domain/devices/graphics[@type='vnc'][1]"

int
libvirt_xml_vnc(const char *xml, const char *vm, struct libvirt_vnc *v)
{
	struct libvirt_xml *x;
	char what[300], *port, *addr;
	int rc = 1;

	memset(v, 0, sizeof *v);
	snprintf(what, sizeof what, "the definition of VM '%s'", vm);
	if ((x = libvirt_xml_parse(xml, what)) == NULL)
		return -1;
	if (libvirt_xml_count(x, VNC_G) == 0) {
		libvirt_xml_free(x);
		return 0;
	}
	v->unix_socket = libvirt_xml_count(x, VNC_G "[@socket or listen[@type='socket']]") > 0;
	if ((port = libvirt_xml_get(x, VNC_G "/@port")) != NULL)
		v->port = atoi(port);
	/* libvirt copies the first address listen into @listen; older or
	 * hand-written XML may have only the element. */
	if ((addr = libvirt_xml_get(x, VNC_G "/@listen")) == NULL)
		addr = libvirt_xml_get(x, VNC_G "/listen[@type='address'][1]/@address");
	if (addr != NULL && (size_t)snprintf(v->listen, sizeof v->listen, "%s", addr) >=
	    sizeof v->listen)
		rc = err_set("cannot read %s: the VNC listen address '%.64s...' is too long",
		    what, addr);
	free(port);
	free(addr);
	libvirt_xml_free(x);
	return rc;
}

int
libvirt_volume_format(const char *xml, char *out, size_t len)
{
	struct libvirt_xml *x = libvirt_xml_parse(xml, "the storage volume");
	char *f;
	int rc = 0;

	if (x == NULL)
		return -1;
	f = libvirt_xml_get(x, "/volume/target/format/@type");
	if (f == NULL || f[0] == '\0')
		rc = err_set("cannot read the storage volume: libvirt's XML names no format");
	else if ((size_t)snprintf(out, len, "%s", f) >= len)
		rc = err_set("cannot read the storage volume: its format '%s' is too long", f);
	free(f);
	libvirt_xml_free(x);
	return rc;
}

const char *
libvirt_domain_type(const char *accel, const char *caps, bool local)
{
	char note[256];

	if (strcmp(accel, "kvm") == 0)
		return "kvm";
	if (strcmp(accel, "tcg") == 0 || !libvirt_caps_have_kvm(caps))
		return "qemu";
	/* libvirt offers kvm whenever /dev/kvm opens; a software hypervisor may
	 * offer it without vmx/svm, and Linux guests then never boot.  On this
	 * machine we can look; a remote host's capabilities are trusted. */
	if (local && strcmp(qemu_accel_resolve("auto", note, sizeof note), "kvm") != 0)
		return "qemu";
	return "kvm";
}

char *
libvirt_volume_xml(const struct hv_volume *v, const char *backing_format)
{
	struct xb b = { NULL, 0, 0 };

	xb_add(&b, "<volume>\n");
	xb_elem(&b, 2, "name", v->name);
	xb_add(&b, "  <capacity unit='bytes'>%lld</capacity>\n", (long long)v->bytes);
	xb_add(&b, "  <target>\n    <format type='");
	xb_esc(&b, v->format);
	xb_add(&b, "'/>\n    <permissions>\n      <mode>0600</mode>\n    </permissions>\n"
	    "  </target>\n");
	if (v->backing != NULL) {
		xb_add(&b, "  <backingStore>\n");
		xb_elem(&b, 4, "path", v->backing);
		xb_add(&b, "    <format type='");
		xb_esc(&b, backing_format);
		xb_add(&b, "'/>\n  </backingStore>\n");
	}
	xb_add(&b, "</volume>\n");
	return b.s;
}

char *
libvirt_snapshot_xml(const char *name, const char *description)
{
	struct xb b = { NULL, 0, 0 };

	xb_add(&b, "<domainsnapshot>\n");
	xb_elem(&b, 2, "name", name);
	if (description != NULL && description[0] != '\0')
		xb_elem(&b, 2, "description", description);
	xb_add(&b, "</domainsnapshot>\n");
	return b.s;
}

/* ---- a host's capabilities; a domain's tuning ---------------------------- */

/* KiB in one UNIT of a libvirt size ("KiB", "M", ...; none: KiB); 0 when
 * it is not a unit this code knows. */
static int64_t
unit_kib(const char *unit)
{
	if (unit == NULL || unit[0] == '\0' || strcmp(unit, "KiB") == 0 ||
	    strcasecmp(unit, "k") == 0)
		return 1;
	if (strcmp(unit, "MiB") == 0 || strcasecmp(unit, "m") == 0)
		return 1024;
	if (strcmp(unit, "GiB") == 0 || strcasecmp(unit, "g") == 0)
		return 1024 * 1024;
	return 0;
}

/* The integer value of the first node EXPR selects; DFLT when it selects
 * none or is no number. */
static int64_t
xml_num(struct libvirt_xml *x, const char *expr, int64_t dflt)
{
	char *s = libvirt_xml_get(x, expr), *end;
	long long v;

	if (s == NULL)
		return dflt;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0)
		v = dflt;
	free(s);
	return v;
}

/* The size in KiB of the <pages> or <page> element PATH (its @size in its
 * @unit); 0 when it has none that makes sense. */
static int64_t
page_kib(struct libvirt_xml *x, const char *path)
{
	char expr[256], *unit;
	int64_t size, scale;

	snprintf(expr, sizeof expr, "%s/@size", path);
	size = xml_num(x, expr, 0);
	snprintf(expr, sizeof expr, "%s/@unit", path);
	unit = libvirt_xml_get(x, expr);
	scale = unit_kib(unit);
	free(unit);
	if (size <= 0 || scale == 0 || size > INT64_MAX / scale)
		return 0;
	return size * scale;
}

/* SIZE among SIZES (N of them, at most MAX): added when new. */
static void
size_add(int64_t *sizes, size_t *n, size_t max, int64_t size)
{
	for (size_t i = 0; i < *n; i++)
		if (sizes[i] == size)
			return;
	if (size > 0 && *n < max)
		sizes[(*n)++] = size;
}

static int
int64_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int
cpu_cmp(const void *a, const void *b)
{
	return ((const struct hv_cpu *)a)->cpu - ((const struct hv_cpu *)b)->cpu;
}

#define CAPS_CELL "/capabilities/host/topology/cells/cell"
#define CAPS_MAX_SIZES 32

/* Each online CPU of the cells (CPUs without a socket are offline). */
static void
caps_cpus(struct libvirt_xml *x, int ncells, struct hv_host_info *hi)
{
	size_t cap = 0;

	for (int i = 1; i <= ncells; i++) {
		char expr[256];
		int node, n;

		snprintf(expr, sizeof expr, CAPS_CELL "[%d]/@id", i);
		node = (int)xml_num(x, expr, i - 1);
		snprintf(expr, sizeof expr, CAPS_CELL "[%d]/cpus/cpu", i);
		n = libvirt_xml_count(x, expr);
		for (int j = 1; j <= n; j++) {
			struct hv_cpu cpu = { -1, -1, -1, node };

			snprintf(expr, sizeof expr, CAPS_CELL "[%d]/cpus/cpu[%d]/@socket_id", i, j);
			if ((cpu.socket = (int)xml_num(x, expr, -1)) < 0)
				continue;
			snprintf(expr, sizeof expr, CAPS_CELL "[%d]/cpus/cpu[%d]/@id", i, j);
			cpu.cpu = (int)xml_num(x, expr, -1);
			snprintf(expr, sizeof expr, CAPS_CELL "[%d]/cpus/cpu[%d]/@core_id", i, j);
			cpu.core = (int)xml_num(x, expr, -1);
			if (cpu.cpu < 0)
				continue;
			if (hi->ncpu == cap) {
				cap = cap == 0 ? 64 : cap * 2;
				hi->cpu = xreallocarray(hi->cpu, cap, sizeof *hi->cpu);
			}
			hi->cpu[hi->ncpu++] = cpu;
		}
	}
	if (hi->ncpu > 0)
		qsort(hi->cpu, hi->ncpu, sizeof *hi->cpu, cpu_cmp);
}

/* The page sizes of the host and its cells; every one but the smallest
 * (the base page) is a hugepage pool, its total summed over the cells. */
static void
caps_pools(struct libvirt_xml *x, int ncells, struct hv_host_info *hi)
{
	int64_t sizes[CAPS_MAX_SIZES];
	size_t nsizes = 0;
	char expr[256];
	int n;

	n = libvirt_xml_count(x, "/capabilities/host/cpu/pages");
	for (int j = 1; j <= n; j++) {
		snprintf(expr, sizeof expr, "/capabilities/host/cpu/pages[%d]", j);
		size_add(sizes, &nsizes, CAPS_MAX_SIZES, page_kib(x, expr));
	}
	for (int i = 1; i <= ncells; i++) {
		snprintf(expr, sizeof expr, CAPS_CELL "[%d]/pages", i);
		n = libvirt_xml_count(x, expr);
		for (int j = 1; j <= n; j++) {
			snprintf(expr, sizeof expr, CAPS_CELL "[%d]/pages[%d]", i, j);
			size_add(sizes, &nsizes, CAPS_MAX_SIZES, page_kib(x, expr));
		}
	}
	if (nsizes < 2)
		return;
	qsort(sizes, nsizes, sizeof *sizes, int64_cmp);
	for (size_t k = 1; k < nsizes && hi->npools < HV_MAX_HUGEPOOLS; k++) {
		struct hv_hugepool *pool = &hi->pools[hi->npools++];

		pool->size_kib = sizes[k];
		pool->total = pool->free = pool->reserved = -1;
		for (int i = 1; i <= ncells; i++) {
			snprintf(expr, sizeof expr, CAPS_CELL "[%d]/pages", i);
			n = libvirt_xml_count(x, expr);
			for (int j = 1; j <= n; j++) {
				int64_t count;

				snprintf(expr, sizeof expr, CAPS_CELL "[%d]/pages[%d]", i, j);
				if (page_kib(x, expr) != sizes[k])
					continue;
				if ((count = xml_num(x, expr, -1)) < 0)
					continue;
				pool->total = (pool->total < 0 ? 0 : pool->total) + count;
			}
		}
	}
}

int
libvirt_caps_host(const char *caps, struct hv_host_info *hi)
{
	struct libvirt_xml *x = libvirt_xml_parse(caps, "the host's capabilities");
	char *s;
	int ncells;

	if (x == NULL)
		return -1;
	if ((s = libvirt_xml_get(x, "/capabilities/host/cpu/arch")) != NULL)
		snprintf(hi->arch, sizeof hi->arch, "%s", s);
	free(s);
	if ((s = libvirt_xml_get(x, "/capabilities/host/cpu/model")) != NULL)
		snprintf(hi->model, sizeof hi->model, "%s", s);
	free(s);
	ncells = libvirt_xml_count(x, CAPS_CELL);
	caps_cpus(x, ncells, hi);
	caps_pools(x, ncells, hi);
	libvirt_xml_free(x);
	return ncells;
}

#define DOM_HUGEPAGES "/domain/memoryBacking/hugepages"

/* The first element EXPR selects, or NULL. */
static xmlNodePtr
xml_node(struct libvirt_xml *x, const char *expr)
{
	xmlXPathObjectPtr o = xml_eval(x, expr);
	xmlNodePtr n = o != NULL ? o->nodesetval->nodeTab[0] : NULL;

	xmlXPathFreeObject(o);
	return n != NULL && n->type == XML_ELEMENT_NODE ? n : NULL;
}

/* Take away every element EXPR selects. */
static void
xml_drop(struct libvirt_xml *x, const char *expr)
{
	xmlNodePtr n;

	while ((n = xml_node(x, expr)) != NULL) {
		xmlUnlinkNode(n);
		xmlFreeNode(n);
	}
}

/* Take away element EXPR when nothing but text is left in it. */
static void
xml_drop_empty(struct libvirt_xml *x, const char *expr)
{
	xmlNodePtr n = xml_node(x, expr);

	if (n == NULL)
		return;
	for (xmlNodePtr k = n->children; k != NULL; k = k->next)
		if (k->type == XML_ELEMENT_NODE)
			return;
	xmlUnlinkNode(n);
	xmlFreeNode(n);
}

/* Element NAME of /domain, made (at the end) when there is none. */
static xmlNodePtr
xml_section(struct libvirt_xml *x, const char *name)
{
	char expr[64];
	xmlNodePtr n;

	snprintf(expr, sizeof expr, "/domain/%s", name);
	if ((n = xml_node(x, expr)) == NULL &&
	    (n = xmlNewChild(xmlDocGetRootElement(x->doc), NULL, BAD_CAST name, NULL)) == NULL)
		xfatal("out of memory in libxml2");
	return n;
}

/* A new element NAME in PARENT with attribute A1=V1 (and A2=V2 unless A2
 * is NULL). */
static xmlNodePtr
xml_add(xmlNodePtr parent, const char *name, const char *a1, const char *v1, const char *a2,
    const char *v2)
{
	xmlNodePtr n = xmlNewChild(parent, NULL, BAD_CAST name, NULL);

	if (n == NULL || xmlNewProp(n, BAD_CAST a1, BAD_CAST v1) == NULL ||
	    (a2 != NULL && xmlNewProp(n, BAD_CAST a2, BAD_CAST v2) == NULL))
		xfatal("out of memory in libxml2");
	return n;
}

/* The hugepages the definition asks for: 0 none, the page size, or -1
 * (the host's default size, sizes per NUMA node). */
static int64_t
dom_hugepages(struct libvirt_xml *x)
{
	int64_t kib;

	if (libvirt_xml_count(x, DOM_HUGEPAGES) == 0)
		return 0;
	if (libvirt_xml_count(x, DOM_HUGEPAGES "/page") != 1 ||
	    libvirt_xml_count(x, DOM_HUGEPAGES "/page[@nodeset]") != 0 ||
	    (kib = page_kib(x, DOM_HUGEPAGES "/page")) == 0)
		return -1;
	return kib;
}

/* Whether the pin at EXPR (a cpuset attribute) is PINNED to WANT. */
static bool
pin_same(struct libvirt_xml *x, const char *expr, int pinned, const struct cpuset *want)
{
	char *s = libvirt_xml_get(x, expr);
	struct cpuset have;
	bool same;

	same = s == NULL ? !pinned : pinned && cpuset_parse(s, &have) == 0 &&
	    cpuset_equal(&have, want);
	free(s);
	return same;
}

/* The vCPUs of the definition (C's when it does not say). */
static int
dom_vcpus(struct libvirt_xml *x, const struct vm_config *c)
{
	int64_t n = xml_num(x, "/domain/vcpu", -1);

	return n > 0 && n <= VM_MAX_CPUS ? (int)n : vm_config_cpus(c);
}

/* Whether the definition's <cputune> has C's vCPU and emulator pins. */
static bool
pins_same(struct libvirt_xml *x, const struct vm_config *c)
{
	struct cpuset want;
	char expr[96];
	int pinned, n = dom_vcpus(x, c);

	for (int v = 0; v < n; v++) {
		pinned = tuning_vcpu_pin(c, v, &want);
		snprintf(expr, sizeof expr, "/domain/cputune/vcpupin[@vcpu='%d']/@cpuset", v);
		if (!pin_same(x, expr, pinned, &want))
			return false;
	}
	pinned = tuning_emulator_pin(c, &want);
	return pin_same(x, "/domain/cputune/emulatorpin/@cpuset", pinned, &want);
}

/* C's pins as the only ones in the definition's <cputune>. */
static void
pins_write(struct libvirt_xml *x, const struct vm_config *c)
{
	char set[4096], num[16];
	struct cpuset want;
	xmlNodePtr ct;
	int n = dom_vcpus(x, c);

	xml_drop(x, "/domain/cputune/vcpupin");
	xml_drop(x, "/domain/cputune/emulatorpin");
	ct = xml_section(x, "cputune");
	for (int v = 0; v < n; v++) {
		if (tuning_vcpu_pin(c, v, &want) != 1)
			continue;
		cpuset_format(&want, set, sizeof set);
		snprintf(num, sizeof num, "%d", v);
		xml_add(ct, "vcpupin", "vcpu", num, "cpuset", set);
	}
	if (tuning_emulator_pin(c, &want) == 1) {
		cpuset_format(&want, set, sizeof set);
		xml_add(ct, "emulatorpin", "cpuset", set, NULL, NULL);
	}
	xml_drop_empty(x, "/domain/cputune");
}

/* C's hugepages as the definition's. */
static void
hugepages_write(struct libvirt_xml *x, const struct vm_config *c)
{
	char size[32];

	xml_drop(x, DOM_HUGEPAGES);
	if (c->tuning.hugepage_kib > 0) {
		snprintf(size, sizeof size, "%lld", (long long)c->tuning.hugepage_kib);
		xml_add(xmlNewChild(xml_section(x, "memoryBacking"), NULL, BAD_CAST "hugepages",
		    NULL), "page", "size", size, "unit", "KiB");
	}
	xml_drop_empty(x, "/domain/memoryBacking");
}

/* The mark of a definition whose tuning is (in part) the inventory's. */
#define DOM_MARK "/domain/metadata/*[local-name()='tuning' and namespace-uri()='" \
	LIBVIRT_TUNING_NS "']"

/* The parts of a domain's tuning that a mark can give to the inventory. */
#define TUNE_PARTS (LIBVIRT_TUNE_PINS | LIBVIRT_TUNE_HUGEPAGES | LIBVIRT_TUNE_BALLOON)

/* Each part's word in the mark's parts attribute. */
static const struct {
	unsigned part;
	const char *word;
} part_words[] = {
	{ LIBVIRT_TUNE_PINS, "pins" },
	{ LIBVIRT_TUNE_HUGEPAGES, "hugepages" },
	{ LIBVIRT_TUNE_BALLOON, "balloon" },
};

/* The parts the definition's mark gives to the inventory: none without a
 * mark, every part with one that names none (vmtty defined the domain). */
static unsigned
mark_parts(struct libvirt_xml *x)
{
	unsigned parts = 0;
	char *s, *w, *save = NULL;

	if (libvirt_xml_count(x, DOM_MARK) == 0)
		return 0;
	if ((s = libvirt_xml_get(x, DOM_MARK "/@parts")) == NULL)
		return TUNE_PARTS;
	for (w = strtok_r(s, " \t\n", &save); w != NULL; w = strtok_r(NULL, " \t\n", &save))
		for (size_t i = 0; i < sizeof part_words / sizeof part_words[0]; i++)
			if (strcmp(w, part_words[i].word) == 0)
				parts |= part_words[i].part;
	free(s);
	return parts;
}

/* The definition's mark, giving PARTS to the inventory. */
static void
mark_write(struct libvirt_xml *x, unsigned parts)
{
	xmlNodePtr n = xml_node(x, DOM_MARK);
	char words[64] = "";
	xmlNsPtr ns;

	if (n == NULL) {
		n = xmlNewChild(xml_section(x, "metadata"), NULL, BAD_CAST "tuning", NULL);
		ns = n != NULL ? xmlNewNs(n, BAD_CAST LIBVIRT_TUNING_NS, BAD_CAST "vmtty") : NULL;
		if (ns == NULL)
			xfatal("out of memory in libxml2");
		xmlSetNs(n, ns);
	}
	if (parts == TUNE_PARTS) {
		xmlUnsetProp(n, BAD_CAST "parts");
		return;
	}
	for (size_t i = 0; i < sizeof part_words / sizeof part_words[0]; i++)
		if (parts & part_words[i].part)
			snprintf(words + strlen(words), sizeof words - strlen(words), "%s%s",
			    words[0] != '\0' ? " " : "", part_words[i].word);
	if (xmlSetProp(n, BAD_CAST "parts", BAD_CAST words) == NULL)
		xfatal("out of memory in libxml2");
}

/* The parts of the tuning the inventory has something for in C. */
static unsigned
tuning_parts(const struct vm_config *c)
{
	return ((c->tuning.vcpu_pins != NULL && c->tuning.vcpu_pins[0] != '\0') ||
	    c->tuning.emulator_pin != NULL ? LIBVIRT_TUNE_PINS : 0) |
	    (c->tuning.hugepage_kib != 0 ? LIBVIRT_TUNE_HUGEPAGES : 0) |
	    (c->tuning.balloon_mib != 0 ? LIBVIRT_TUNE_BALLOON : 0);
}

/* The size of the definition's element NAME (memory, currentMemory) in
 * KiB; -1 when it has none that makes sense. */
static int64_t
dom_mem_kib(struct libvirt_xml *x, const char *name)
{
	char expr[64], *unit;
	int64_t v, scale;

	snprintf(expr, sizeof expr, "/domain/%s", name);
	v = xml_num(x, expr, -1);
	snprintf(expr, sizeof expr, "/domain/%s/@unit", name);
	unit = libvirt_xml_get(x, expr);
	scale = unit_kib(unit);
	free(unit);
	if (v < 0 || scale == 0 || v > INT64_MAX / scale)
		return -1;
	return v * scale;
}

/* The definition's element NAME set to KIB KiB. */
static void
dom_mem_set(struct libvirt_xml *x, const char *name, int64_t kib)
{
	xmlNodePtr n = xml_section(x, name);
	char num[32];

	snprintf(num, sizeof num, "%lld", (long long)kib);
	xmlNodeSetContent(n, BAD_CAST num);
	if (xmlSetProp(n, BAD_CAST "unit", BAD_CAST "KiB") == NULL)
		xfatal("out of memory in libxml2");
}

/*
 * <memory> (with MEMORY: C's) and <currentMemory> (with BALLOON: C's
 * balloon target, its balloon_mib or all of the memory; else it follows a
 * new maximum when it had all of the old one, and never stays above it).
 * *CHANGED is set when either changes.  -1 + err for what cannot be.
 */
static int
memory_write(struct libvirt_xml *x, const struct vm_config *c, bool memory, bool balloon,
    bool *changed)
{
	int64_t max = dom_mem_kib(x, "memory"), cur = dom_mem_kib(x, "currentMemory");
	int64_t want_max = max, want_cur;

	if (max <= 0)
		return err_set("the definition of VM '%s' on its host has no memory size that "
		    "vmtty can read", c->name);
	if (cur <= 0 || cur > max)
		cur = max;
	if (memory) {
		if (libvirt_xml_count(x, "/domain/cpu/numa/cell") > 0)
			return err_set("VM '%s': its memory is split over NUMA cells in its "
			    "definition, whose sizes make its maximum; change those on its host "
			    "(virsh edit)", c->name);
		want_max = c->memory_mib * 1024;
	}
	if (balloon) {
		want_cur = c->tuning.balloon_mib > 0 ? c->tuning.balloon_mib * 1024 : want_max;
		if (want_cur > want_max)
			return err_set("VM '%s': its balloon target, %lld MiB, is above the %lld MiB "
			    "it has; set a smaller one", c->name, (long long)c->tuning.balloon_mib,
			    (long long)(want_max / 1024));
	} else {
		want_cur = cur == max || cur > want_max ? want_max : cur;
	}
	if (want_max != max) {
		dom_mem_set(x, "memory", want_max);
		*changed = true;
	}
	if (want_cur != dom_mem_kib(x, "currentMemory")) {
		dom_mem_set(x, "currentMemory", want_cur);
		*changed = true;
	}
	return 0;
}

int
libvirt_xml_tuning(const char *xml, const struct vm_config *c, unsigned what, char **out)
{
	struct libvirt_xml *x;
	unsigned marked, owned, write;
	bool changed = false;
	xmlChar *buf = NULL;
	char desc[300];
	int len = 0;

	*out = NULL;
	snprintf(desc, sizeof desc, "the definition of VM '%s'", c->name);
	if ((x = libvirt_xml_parse(xml, desc)) == NULL)
		return -1;
	marked = mark_parts(x);
	owned = marked | tuning_parts(c) | (what & LIBVIRT_TUNE_ADOPT ? what & TUNE_PARTS : 0);
	if (owned == 0 && !(what & (LIBVIRT_TUNE_ADOPT | LIBVIRT_TUNE_MEMORY))) {
		libvirt_xml_free(x);
		return 0;
	}
	write = what & owned & TUNE_PARTS;
	if ((write & LIBVIRT_TUNE_PINS) && !pins_same(x, c)) {
		pins_write(x, c);
		changed = true;
	}
	if ((write & LIBVIRT_TUNE_HUGEPAGES) && dom_hugepages(x) != c->tuning.hugepage_kib) {
		hugepages_write(x, c);
		changed = true;
	}
	if (((what & LIBVIRT_TUNE_MEMORY) || (write & LIBVIRT_TUNE_BALLOON)) &&
	    memory_write(x, c, what & LIBVIRT_TUNE_MEMORY, write & LIBVIRT_TUNE_BALLOON,
	    &changed) != 0) {
		libvirt_xml_free(x);
		return -1;
	}
	if ((write & ~marked) != 0) {
		mark_write(x, marked | write);
		changed = true;
	}
	if (changed) {
		xmlDocDumpMemory(x->doc, &buf, &len);
		if (buf == NULL)
			xfatal("out of memory in libxml2");
		*out = xstrdup((const char *)buf);
		xmlFree(buf);
	}
	libvirt_xml_free(x);
	return 1;
}

/*
 * Editing a domain's own definition (vmtty edit): only what the edit
 * changed between OLD and C is written into it, the new elements taken
 * from GEN (what vmtty would define for C), so that what vmtty does not
 * model (a <description>, a <channel>, a <sound>, <seclabel>, a driver of
 * an interface) stays as the domain's definer wrote it.
 */

static bool
same_text(const char *a, const char *b)
{
	return (a == NULL || a[0] == '\0') ? (b == NULL || b[0] == '\0') :
	    b != NULL && strcmp(a, b) == 0;
}

/* Child element NAME of PARENT, or NULL. */
static xmlNodePtr
child(xmlNodePtr parent, const char *name)
{
	for (xmlNodePtr k = parent != NULL ? parent->children : NULL; k != NULL; k = k->next)
		if (k->type == XML_ELEMENT_NODE && xmlStrcmp(k->name, BAD_CAST name) == 0)
			return k;
	return NULL;
}

static void
drop(xmlNodePtr n)
{
	if (n != NULL) {
		xmlUnlinkNode(n);
		xmlFreeNode(n);
	}
}

/* <os>'s child NAME with the text VALUE, or none when VALUE is NULL or "". */
static void
os_text(xmlNodePtr os, const char *name, const char *value)
{
	xmlNodePtr n = child(os, name);

	if (value == NULL || value[0] == '\0') {
		drop(n);
		return;
	}
	if (n == NULL && (n = xmlNewChild(os, NULL, BAD_CAST name, NULL)) == NULL)
		xfatal("out of memory in libxml2");
	xmlNodeSetContent(n, NULL);
	xmlNodeAddContent(n, BAD_CAST value);	/* text as it is: escaped when written */
}

static void
set_prop(xmlNodePtr n, const char *name, const char *value)
{
	if (xmlSetProp(n, BAD_CAST name, BAD_CAST value) == NULL)
		xfatal("out of memory in libxml2");
}

/* The file or device of <disk> N; NULL when it has neither. */
static char *
disk_source(xmlNodePtr n)
{
	xmlNodePtr s = child(n, "source");
	xmlChar *v;
	char *out;

	if (s == NULL || ((v = xmlGetProp(s, BAD_CAST "file")) == NULL &&
	    (v = xmlGetProp(s, BAD_CAST "dev")) == NULL))
		return NULL;
	out = xstrdup((const char *)v);
	xmlFree(v);
	return out;
}

/* The <disk> of DEVICES whose source is PATH, or NULL. */
static xmlNodePtr
disk_by_path(xmlNodePtr devices, const char *path)
{
	for (xmlNodePtr k = devices != NULL ? devices->children : NULL; k != NULL; k = k->next) {
		char *src;
		bool hit;

		if (k->type != XML_ELEMENT_NODE || xmlStrcmp(k->name, BAD_CAST "disk") != 0 ||
		    (src = disk_source(k)) == NULL)
			continue;
		hit = strcmp(src, path) == 0;
		free(src);
		if (hit)
			return k;
	}
	return NULL;
}

/* The IDX-th (from 0) child NAME of DEVICES, or NULL; the last of them in
 * *LAST when LAST is not NULL. */
static xmlNodePtr
nth_device(xmlNodePtr devices, const char *name, size_t idx, xmlNodePtr *last)
{
	xmlNodePtr hit = NULL;
	size_t i = 0;

	if (last != NULL)
		*last = NULL;
	for (xmlNodePtr k = devices != NULL ? devices->children : NULL; k != NULL; k = k->next) {
		if (k->type != XML_ELEMENT_NODE || xmlStrcmp(k->name, BAD_CAST name) != 0)
			continue;
		if (i++ == idx)
			hit = k;
		if (last != NULL)
			*last = k;
	}
	return hit;
}

/* Whether a <disk> of DEVICES has target dev DEV. */
static bool
target_used(xmlNodePtr devices, const char *dev)
{
	for (xmlNodePtr k = devices->children; k != NULL; k = k->next) {
		xmlNodePtr t;
		xmlChar *v;
		bool hit;

		if (k->type != XML_ELEMENT_NODE || xmlStrcmp(k->name, BAD_CAST "disk") != 0 ||
		    (t = child(k, "target")) == NULL || (v = xmlGetProp(t, BAD_CAST "dev")) == NULL)
			continue;
		hit = strcmp((const char *)v, dev) == 0;
		xmlFree(v);
		if (hit)
			return true;
	}
	return false;
}

/* NODE (a copy of one of GEN's devices) put into DEVICES after AFTER (at
 * the end when NULL), without its <address> and, unless BOOT, its boot
 * order; a disk gets a target name no disk there has yet. */
static void
device_put(xmlNodePtr devices, xmlNodePtr after, xmlNodePtr node, bool boot)
{
	xmlNodePtr t = child(node, "target");
	xmlChar *dev;

	drop(child(node, "address"));
	if (!boot)
		drop(child(node, "boot"));
	if (xmlStrcmp(node->name, BAD_CAST "disk") == 0 && t != NULL &&
	    (dev = xmlGetProp(t, BAD_CAST "dev")) != NULL) {
		char prefix[3] = { (char)dev[0], (char)dev[1], '\0' }, name[16];

		for (int i = 0; target_used(devices, (const char *)dev) && i < 26 * 27; i++) {
			disk_name(name, sizeof name, prefix, i);
			xmlFree(dev);
			dev = xmlStrdup(BAD_CAST name);
		}
		set_prop(t, "dev", (const char *)dev);
		xmlFree(dev);
	}
	if ((after != NULL ? xmlAddNextSibling(after, node) : xmlAddChild(devices, node)) == NULL)
		xfatal("out of memory in libxml2");
}

static bool
nic_same(const struct vm_nic *a, const struct vm_nic *b)
{
	return same_text(a->kind, b->kind) && same_text(a->model, b->model) &&
	    same_text(a->mac, b->mac) && same_text(a->source, b->source) &&
	    same_text(a->forwards, b->forwards);
}

static bool
disk_in(const struct vm_config *c, const char *path)
{
	for (size_t i = 0; i < c->ndisks; i++)
		if (strcmp(c->disks[i].path, path) == 0)
			return true;
	return false;
}

/* Disks: those OLD had and C has not go, those C has and OLD had not come
 * from GEN (after the last disk). */
static void
edit_disks(xmlNodePtr devices, xmlNodePtr gdev, const struct vm_config *old,
    const struct vm_config *c, bool boot, bool *changed)
{
	xmlNodePtr last, n;
	bool added = false;

	for (size_t i = 0; i < old->ndisks; i++)
		if (!disk_in(c, old->disks[i].path) &&
		    (n = disk_by_path(devices, old->disks[i].path)) != NULL) {
			drop(n);
			*changed = true;
		}
	for (size_t i = 0; i < c->ndisks; i++) {
		xmlNodePtr g;

		if (disk_in(old, c->disks[i].path) ||
		    (g = disk_by_path(gdev, c->disks[i].path)) == NULL)
			continue;
		nth_device(devices, "disk", SIZE_MAX, &last);
		device_put(devices, last, xmlDocCopyNode(g, devices->doc, 1), boot);
		*changed = added = true;
	}
	/* A new SCSI disk needs the controller GEN has for it. */
	for (xmlNodePtr g = gdev->children; g != NULL; g = g->next) {
		xmlChar *type, *idx;
		bool have = false;

		if (g->type != XML_ELEMENT_NODE || xmlStrcmp(g->name, BAD_CAST "controller") != 0)
			continue;
		type = xmlGetProp(g, BAD_CAST "type");
		idx = xmlGetProp(g, BAD_CAST "index");
		for (n = devices->children; n != NULL && !have; n = n->next) {
			xmlChar *t2, *i2;

			if (n->type != XML_ELEMENT_NODE || xmlStrcmp(n->name, BAD_CAST "controller"))
				continue;
			t2 = xmlGetProp(n, BAD_CAST "type");
			i2 = xmlGetProp(n, BAD_CAST "index");
			have = xmlStrEqual(t2, type) && xmlStrEqual(i2, idx);
			xmlFree(t2);
			xmlFree(i2);
		}
		xmlFree(type);
		xmlFree(idx);
		if (!have && added)
			device_put(devices, NULL, xmlDocCopyNode(g, devices->doc, 1), false);
	}
}

/* NICs: OLD's and C's lists lined up in order (an edit removes some and
 * adds at the end); OLD's that C lacks go (the interface at the same place
 * in the definition), C's that are new come from GEN. */
static void
edit_nics(xmlNodePtr devices, xmlNodePtr gdev, const struct vm_config *old,
    const struct vm_config *c, bool boot, bool *changed)
{
	bool *gone = xcalloc(old->nnics + 1, sizeof *gone);
	size_t j = 0;
	xmlNodePtr last, n;

	for (size_t i = 0; i < old->nnics; i++) {
		if (j < c->nnics && nic_same(&old->nics[i], &c->nics[j]))
			j++;
		else
			gone[i] = true;
	}
	for (size_t i = old->nnics; i-- > 0;)
		if (gone[i] && (n = nth_device(devices, "interface", i, NULL)) != NULL) {
			drop(n);
			*changed = true;
		}
	free(gone);
	for (; j < c->nnics; j++) {
		xmlNodePtr g = nth_device(gdev, "interface", j, NULL);

		if (g == NULL)
			continue;
		nth_device(devices, "interface", SIZE_MAX, &last);
		device_put(devices, last, xmlDocCopyNode(g, devices->doc, 1), boot);
		*changed = true;
	}
}

/* A new boot order: the devices' <boot order> and <os><boot dev> give way
 * to GEN's orders, for the disks and NICs of C the definition has. */
static void
edit_boot(xmlNodePtr os, xmlNodePtr devices, xmlNodePtr gdev, const struct vm_config *c)
{
	xmlNodePtr b;

	while ((b = child(os, "boot")) != NULL)
		drop(b);
	for (xmlNodePtr k = devices->children; k != NULL; k = k->next)
		if (k->type == XML_ELEMENT_NODE)
			drop(child(k, "boot"));
	for (size_t i = 0; i < c->ndisks; i++) {
		xmlNodePtr d = disk_by_path(devices, c->disks[i].path);
		xmlNodePtr g = disk_by_path(gdev, c->disks[i].path);

		if (d != NULL && g != NULL && (b = child(g, "boot")) != NULL)
			xmlAddChild(d, xmlDocCopyNode(b, d->doc, 1));
	}
	for (size_t i = 0; i < c->nnics; i++) {
		xmlNodePtr d = nth_device(devices, "interface", i, NULL);
		xmlNodePtr g = nth_device(gdev, "interface", i, NULL);

		if (d != NULL && g != NULL && (b = child(g, "boot")) != NULL)
			xmlAddChild(d, xmlDocCopyNode(b, d->doc, 1));
	}
}

/* CPUs: <vcpu>'s count and <cpu><topology>. */
static void
edit_cpus(struct libvirt_xml *x, const struct vm_config *c)
{
	xmlNodePtr v = xml_section(x, "vcpu"), cpu = xml_section(x, "cpu"), t;
	char num[16];

	snprintf(num, sizeof num, "%d", vm_config_cpus(c));
	xmlNodeSetContent(v, BAD_CAST num);
	xmlUnsetProp(v, BAD_CAST "current");
	if ((t = child(cpu, "topology")) == NULL &&
	    (t = xmlNewChild(cpu, NULL, BAD_CAST "topology", NULL)) == NULL)
		xfatal("out of memory in libxml2");
	snprintf(num, sizeof num, "%d", c->sockets);
	set_prop(t, "sockets", num);
	set_prop(t, "dies", "1");
	snprintf(num, sizeof num, "%d", c->cores);
	set_prop(t, "cores", num);
	snprintf(num, sizeof num, "%d", c->threads);
	set_prop(t, "threads", num);
}

/* <os>: kernel, initrd, command line, machine and firmware, as changed. */
static void
edit_os(xmlNodePtr os, const struct vm_config *old, const struct vm_config *c, bool *changed)
{
	xmlNodePtr type = child(os, "type");

	if (!same_text(old->kernel, c->kernel) || !same_text(old->initrd, c->initrd) ||
	    !same_text(old->cmdline, c->cmdline)) {
		os_text(os, "kernel", c->kernel);
		os_text(os, "initrd", c->kernel != NULL ? c->initrd : NULL);
		os_text(os, "cmdline", c->kernel != NULL ? c->cmdline : NULL);
		*changed = true;
	}
	if (!same_text(old->machine, c->machine) && type != NULL) {
		set_prop(type, "machine", strcmp(c->machine, "pc") == 0 ? "pc" : "q35");
		*changed = true;
	}
	if (!same_text(old->firmware, c->firmware)) {
		if (strcmp(c->firmware, "uefi") == 0) {
			set_prop(os, "firmware", "efi");
		} else {
			xmlUnsetProp(os, BAD_CAST "firmware");
			drop(child(os, "loader"));
			drop(child(os, "nvram"));
			drop(child(os, "firmware"));
		}
		*changed = true;
	}
}

static bool
boot_changed(const struct vm_config *old, const struct vm_config *c)
{
	return !same_text(old->boot_order, c->boot_order);
}

int
libvirt_xml_edit(const char *xml, const char *gen, const struct vm_config *old,
    const struct vm_config *c, char **out)
{
	struct libvirt_xml *x, *g;
	xmlNodePtr os, devices, gdev;
	bool changed = false, boot = boot_changed(old, c);
	xmlChar *buf = NULL;
	char desc[300];
	int len = 0, rc = -1;

	*out = NULL;
	snprintf(desc, sizeof desc, "the definition of VM '%s'", c->name);
	if ((x = libvirt_xml_parse(xml, desc)) == NULL)
		return -1;
	if ((g = libvirt_xml_parse(gen, desc)) == NULL) {
		libvirt_xml_free(x);
		return -1;
	}
	os = xml_section(x, "os");
	devices = xml_section(x, "devices");
	gdev = xml_node(g, "/domain/devices");
	if (old->sockets != c->sockets || old->cores != c->cores || old->threads != c->threads) {
		edit_cpus(x, c);
		changed = true;
	}
	if (old->memory_mib != c->memory_mib &&
	    memory_write(x, c, true, false, &changed) != 0)
		goto out;
	edit_os(os, old, c, &changed);
	if (gdev != NULL) {
		edit_disks(devices, gdev, old, c, boot, &changed);
		edit_nics(devices, gdev, old, c, boot, &changed);
		if (boot) {
			edit_boot(os, devices, gdev, c);
			changed = true;
		}
	}
	if (changed) {
		xmlDocDumpMemory(x->doc, &buf, &len);
		if (buf == NULL)
			xfatal("out of memory in libxml2");
		*out = xstrdup((const char *)buf);
		xmlFree(buf);
	}
	rc = 0;
out:
	libvirt_xml_free(x);
	libvirt_xml_free(g);
	return rc;
}

/* ---- a clone's definition ------------------------------------------------ */

/* Attribute A of the element EXPR selects, or NULL. */
static char *
xml_attr(struct libvirt_xml *x, const char *expr, const char *a)
{
	char e[160];

	snprintf(e, sizeof e, "%s/@%s", expr, a);
	return libvirt_xml_get(x, e);
}

int
libvirt_xml_disks(const char *xml, const char *what, struct libvirt_disk **out, size_t *n)
{
	struct libvirt_xml *x;
	struct libvirt_disk *d;
	char e[96];
	int count;

	*out = NULL;
	*n = 0;
	if ((x = libvirt_xml_parse(xml, what)) == NULL)
		return -1;
	count = libvirt_xml_count(x, "/domain/devices/disk");
	d = xcalloc((size_t)count + 1, sizeof *d);
	for (int i = 0; i < count; i++) {
		struct libvirt_disk *k = &d[i];

		snprintf(e, sizeof e, "/domain/devices/disk[%d]", i + 1);
		k->type = xml_attr(x, e, "type");
		k->device = xml_attr(x, e, "device");
		if (k->device == NULL)
			k->device = xstrdup("disk");
		snprintf(e, sizeof e, "/domain/devices/disk[%d]/source", i + 1);
		if (k->type != NULL && strcmp(k->type, "file") == 0)
			k->source = xml_attr(x, e, "file");
		else if (k->type != NULL && strcmp(k->type, "block") == 0)
			k->source = xml_attr(x, e, "dev");
		else if (k->type != NULL && strcmp(k->type, "volume") == 0) {
			k->pool = xml_attr(x, e, "pool");
			k->volume = xml_attr(x, e, "volume");
		}
		snprintf(e, sizeof e, "/domain/devices/disk[%d]/driver", i + 1);
		k->format = xml_attr(x, e, "type");
		snprintf(e, sizeof e, "/domain/devices/disk[%d]/target", i + 1);
		k->target = xml_attr(x, e, "dev");
		k->bus = xml_attr(x, e, "bus");
		snprintf(e, sizeof e, "/domain/devices/disk[%d]/readonly", i + 1);
		k->readonly = libvirt_xml_count(x, e) > 0;
		snprintf(e, sizeof e, "/domain/devices/disk[%d]/shareable", i + 1);
		k->shareable = libvirt_xml_count(x, e) > 0;
	}
	libvirt_xml_free(x);
	*out = d;
	*n = (size_t)count;
	return 0;
}

void
libvirt_disks_free(struct libvirt_disk *d, size_t n)
{
	for (size_t i = 0; d != NULL && i < n; i++) {
		free(d[i].type);
		free(d[i].device);
		free(d[i].source);
		free(d[i].pool);
		free(d[i].volume);
		free(d[i].format);
		free(d[i].target);
		free(d[i].bus);
	}
	free(d);
}

int
libvirt_xml_macs(const char *xml, const char *what, struct strv *out)
{
	struct libvirt_xml *x = libvirt_xml_parse(xml, what);
	char e[96];
	int n;

	if (x == NULL)
		return -1;
	n = libvirt_xml_count(x, "/domain/devices/interface");
	for (int i = 0; i < n; i++) {
		char *mac;

		snprintf(e, sizeof e, "/domain/devices/interface[%d]/mac/@address", i + 1);
		mac = libvirt_xml_get(x, e);
		strv_add(out, mac != NULL ? mac : "");
		free(mac);
	}
	libvirt_xml_free(x);
	return 0;
}

/* Element N's text set to S (escaped when written out). */
static void
xml_text(xmlNodePtr n, const char *s)
{
	xmlNodeSetContent(n, NULL);
	xmlNodeAddContent(n, BAD_CAST s);
}

/* PATH with its file name's leading VM (followed by '-', '_' or '.')
 * turned into NAME, allocated; NULL when its file name does not begin so. */
static char *
renamed(const char *path, const char *vm, const char *name)
{
	const char *base = strrchr(path, '/');
	size_t n = strlen(vm);

	base = base != NULL ? base + 1 : path;
	if (strncmp(base, vm, n) != 0 || strchr("-_.", base[n]) == NULL || base[n] == '\0')
		return NULL;
	return xasprintf("%.*s%s%s", (int)(base - path), path, name, base + n);
}

/* The files named after the VM (logs, UEFI variables) named after NAME. */
static void
rename_files(struct libvirt_xml *x, const char *vm, const char *name)
{
	xmlXPathObjectPtr o = xml_eval(x, "//log[@file] | /domain/os/nvram");

	for (int i = 0; o != NULL && i < o->nodesetval->nodeNr; i++) {
		xmlNodePtr n = o->nodesetval->nodeTab[i];
		bool attr = xmlStrcmp(n->name, BAD_CAST "log") == 0;
		xmlChar *v = attr ? xmlGetProp(n, BAD_CAST "file") : xmlNodeGetContent(n);
		char *to = v != NULL ? renamed((const char *)v, vm, name) : NULL;

		if (to != NULL && attr) {
			if (xmlSetProp(n, BAD_CAST "file", BAD_CAST to) == NULL)
				xfatal("out of memory in libxml2");
		} else if (to != NULL) {
			xml_text(n, to);
		}
		free(to);
		xmlFree(v);
	}
	xmlXPathFreeObject(o);
}

/* Disk S->index's source set to S's. */
static int
set_source(struct libvirt_xml *x, const char *vm, const struct libvirt_disk_source *s)
{
	char e[96];
	xmlNodePtr disk, src;
	xmlChar *type;
	int rc = 0;

	snprintf(e, sizeof e, "/domain/devices/disk[%zu]", s->index + 1);
	if ((disk = xml_node(x, e)) == NULL)
		return err_set("the definition of VM '%s' has no disk %zu", vm, s->index + 1);
	snprintf(e, sizeof e, "/domain/devices/disk[%zu]/source", s->index + 1);
	if ((src = xml_node(x, e)) == NULL &&
	    (src = xmlNewChild(disk, NULL, BAD_CAST "source", NULL)) == NULL)
		xfatal("out of memory in libxml2");
	/* A copy stands alone: the source's chain is not the clone's. */
	snprintf(e, sizeof e, "/domain/devices/disk[%zu]/backingStore", s->index + 1);
	xml_drop(x, e);
	type = xmlGetProp(disk, BAD_CAST "type");
	if (type != NULL && xmlStrcmp(type, BAD_CAST "volume") == 0 && s->pool != NULL) {
		if (xmlSetProp(src, BAD_CAST "pool", BAD_CAST s->pool) == NULL ||
		    xmlSetProp(src, BAD_CAST "volume", BAD_CAST s->volume) == NULL)
			xfatal("out of memory in libxml2");
	} else if (type != NULL && (xmlStrcmp(type, BAD_CAST "file") == 0 ||
	    xmlStrcmp(type, BAD_CAST "block") == 0)) {
		if (xmlSetProp(src, BAD_CAST (xmlStrcmp(type, BAD_CAST "file") == 0 ? "file" :
		    "dev"), BAD_CAST s->path) == NULL)
			xfatal("out of memory in libxml2");
	} else {
		rc = err_set("disk %zu of VM '%s' is of type '%s', whose source vmtty cannot "
		    "change", s->index + 1, vm, type != NULL ? (const char *)type : "unknown");
	}
	xmlFree(type);
	return rc;
}

int
libvirt_xml_clone(const char *xml, const char *vm, const char *name, const char *uuid,
    const struct libvirt_disk_source *src, size_t n, char **out)
{
	struct libvirt_xml *x;
	xmlNodePtr node;
	xmlChar *buf = NULL;
	char desc[300];
	int len = 0;

	*out = NULL;
	snprintf(desc, sizeof desc, "the definition of VM '%s'", vm);
	if ((x = libvirt_xml_parse(xml, desc)) == NULL)
		return -1;
	if ((node = xml_node(x, "/domain/name")) == NULL) {
		libvirt_xml_free(x);
		return err_set("cannot read %s: it has no name", desc);
	}
	xml_text(node, name);
	xml_text(xml_section(x, "uuid"), uuid);
	/* SMBIOS says the UUID too, and libvirt wants the two to agree. */
	if ((node = xml_node(x, "/domain/sysinfo/system/entry[@name='uuid']")) != NULL)
		xml_text(node, uuid);
	/* libvirt makes a new MAC address for an interface without one. */
	xml_drop(x, "/domain/devices/interface/mac");
	rename_files(x, vm, name);
	for (size_t i = 0; i < n; i++)
		if (set_source(x, vm, &src[i]) != 0) {
			libvirt_xml_free(x);
			return -1;
		}
	xmlDocDumpMemory(x->doc, &buf, &len);
	if (buf == NULL)
		xfatal("out of memory in libxml2");
	*out = xstrdup((const char *)buf);
	xmlFree(buf);
	libvirt_xml_free(x);
	return 0;
}
