#include "model/template.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/name.h"
#include "model/vm.h"
#include "util/checksum.h"
#include "util/err.h"
#include "util/num.h"
#include "util/paths.h"
#include "util/str.h"
#include "util/xalloc.h"

#ifndef VMTTY_DATADIR
#define VMTTY_DATADIR "/usr/local/share/vmtty"
#endif

#define TPL_MAX_FILE (64 * 1024)

/*
 * The file is parsed by libinih, which splits lines into sections and
 * "key = value" pairs, strips comments and reports the first line it
 * could not parse.  It does not say where a section begins, so the
 * line reader below (which counts lines for every message) also spots
 * section headers: that is how a repeated or unknown section, even an
 * empty one, is reported on its own line.
 */

static const char *const tpl_sections[] = {
	"template", "machine", "disk", "network", "graphics", "install", NULL
};
#define TPL_NSECTIONS (sizeof tpl_sections / sizeof tpl_sections[0] - 1)

/* A template's network mode: a NIC kind of the model but tap (a device of
 * one machine), or none. */
static const char *const tpl_net_modes[] = { "user", "bridge", "network", "none", NULL };
/* In the order of enum template_source. */
static const char *const tpl_sources[] = {
	"iso", "cloud-image", "disk", "kernel", "empty", NULL
};

enum tpl_kind {
	K_NAME,		/* must match the file name */
	K_TEXT,		/* free text; empty: none */
	K_NOTES,	/* free text that may go on over indented lines */
	K_WORD,		/* one word; empty: none */
	K_CHOICE,	/* one of CHOICES */
	K_CPUS,
	K_MEMORY,	/* MiB, or with a unit */
	K_DISK,		/* GiB, or with a unit */
	K_FORWARDS,
	K_SOURCE,
	K_URL,
	K_CHECKSUM,	/* sha256:HEX | sha512:HEX */
};

struct tpl_key {
	const char *section;
	const char *key;
	enum tpl_kind kind;
	size_t off;		/* of the field in struct template */
	const char *const *choices;
};

#define F(f) offsetof(struct template, f)
static const struct tpl_key tpl_keys[] = {
	{ "template", "name", K_NAME, F(name), NULL },
	{ "template", "label", K_TEXT, F(label), NULL },
	{ "template", "notes", K_NOTES, F(notes), NULL },
	{ "machine", "type", K_CHOICE, F(machine), vm_machines },
	{ "machine", "firmware", K_CHOICE, F(firmware), vm_firmwares },
	{ "machine", "accel", K_CHOICE, F(accel), vm_accels },
	{ "machine", "cpus", K_CPUS, F(cpus), NULL },
	{ "machine", "memory", K_MEMORY, F(memory_mib), NULL },
	{ "disk", "size", K_DISK, F(disk_gib), NULL },
	{ "disk", "bus", K_CHOICE, F(disk_bus), vm_disk_buses },
	{ "disk", "format", K_CHOICE, F(disk_format), vm_disk_formats },
	{ "network", "mode", K_CHOICE, F(net_mode), tpl_net_modes },
	{ "network", "model", K_CHOICE, F(nic_model), vm_nic_models },
	{ "network", "source", K_WORD, F(net_source), NULL },
	{ "network", "forward", K_FORWARDS, F(forwards), NULL },
	{ "graphics", "type", K_CHOICE, F(graphics), vm_graphics },
	{ "install", "source", K_SOURCE, F(source), tpl_sources },
	{ "install", "url", K_URL, F(url), NULL },
	{ "install", "checksum_url", K_URL, F(checksum_url), NULL },
	{ "install", "checksum", K_CHECKSUM, F(checksum), NULL },
	{ "install", "cmdline", K_TEXT, F(cmdline), NULL },
};
#undef F
#define TPL_NKEYS (sizeof tpl_keys / sizeof tpl_keys[0])

/* The state of one parse. */
struct tpl_parse {
	struct template *t;
	const char *pos;	/* the text not yet read */
	int lineno;		/* of the line being parsed */
	bool indented;		/* it starts with white space */
	bool after_key;		/* a key came since the last header */
	int section_line[TPL_NSECTIONS];
	int key_line[TPL_NKEYS];
	int err_line;		/* 0: no line */
	char *err;		/* the first problem */
};

static char **
tpl_field_str(struct template *t, const struct tpl_key *k)
{
	return (char **)(void *)((char *)t + k->off);
}

static void
tpl_set_str(char **field, const char *value)
{
	free(*field);
	*field = xstrdup0(value);
}

/* CHOICES as "a, b, c", with PRE and POST around each, into BUF. */
static const char *
tpl_join(const char *const *choices, const char *pre, const char *post, char *buf,
    size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; choices[i] != NULL && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s%s%s", i > 0 ? ", " : "",
		    pre, choices[i], post);
	return buf;
}

static int
tpl_index(const char *const *list, const char *s)
{
	for (int i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return i;
	return -1;
}

/* Record the first problem, at LINE (0: none); returns 0 for the handler. */
static int __attribute__((format(printf, 3, 4)))
tpl_fail(struct tpl_parse *p, int line, const char *fmt, ...)
{
	va_list ap;

	if (p->err != NULL)
		return 0;
	va_start(ap, fmt);
	p->err = xvasprintf(fmt, ap);
	va_end(ap);
	p->err_line = line;
	return 0;
}

/* What is wrong with text S ("is not UTF-8", "has a control character":
 * C0 but a tab, DEL, C1), or NULL when it is fine.  The messages quote S
 * whole; err_set shows its bad bytes escaped (\xff, \u009b). */
static const char *
tpl_bad_text(const char *s)
{
	size_t n;

	for (; *s != '\0'; s += n) {
		if ((n = str_utf8_len(s)) == 0)
			return "is not UTF-8";
		if (*s != '\t' && str_is_control(s, n))
			return "has a control character";
	}
	return NULL;
}

/* A non-indented "[name]" line (or one before any key): check it. */
static void
tpl_header(struct tpl_parse *p, const char *line)
{
	char list[128];
	const char *close = strchr(line, ']'), *rest, *why;
	char *name;
	int i;

	if (close == NULL) {
		tpl_fail(p, p->lineno, "the section header has no closing ']'");
		return;
	}
	rest = close + 1 + strspn(close + 1, " \t");
	if (*rest != '\n' && *rest != ';' && *rest != '#') {
		tpl_fail(p, p->lineno, "unexpected text after the section header; "
		    "write a comment as '; text'");
		return;
	}
	name = xstrndup(line + 1, (size_t)(close - line - 1));
	if ((why = tpl_bad_text(name)) != NULL)
		tpl_fail(p, p->lineno, "the section header '[%s]' %s; use printable text",
		    name, why);
	else if ((i = tpl_index(tpl_sections, name)) == -1)
		tpl_fail(p, p->lineno, "section [%s] is not known; use one of: %s", name,
		    tpl_join(tpl_sections, "[", "]", list, sizeof list));
	else if (p->section_line[i] != 0)
		tpl_fail(p, p->lineno, "section [%s] appears again (first on line %d); "
		    "merge the two", name, p->section_line[i]);
	else
		p->section_line[i] = p->lineno;
	free(name);
	p->after_key = false;
}

/* libinih's line reader: the next line of the text into STR, counted, with
 * section headers checked.  Over-long lines are reported, not split. */
static char *
tpl_read(char *str, int num, void *stream)
{
	struct tpl_parse *p = stream;
	const char *s = p->pos, *nl, *start;
	size_t len, next;

	if (*s == '\0' || num < 4)
		return NULL;
	nl = strchr(s, '\n');
	next = nl != NULL ? (size_t)(nl - s) + 1 : strlen(s);
	len = nl != NULL ? (size_t)(nl - s) : next;
	if (len > 0 && s[len - 1] == '\r')
		len--;
	p->pos = s + next;
	p->lineno++;
	p->indented = len > 0 && (s[0] == ' ' || s[0] == '\t');
	if (len > (size_t)num - 3) {
		tpl_fail(p, p->lineno, "the line is longer than %d characters; shorten it",
		    num - 3);
		len = 0;
	}
	memcpy(str, s, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	start = str;
	if (p->lineno == 1 && strncmp(start, "\xef\xbb\xbf", 3) == 0)
		start += 3;
	start += strspn(start, " \t");
	/* libinih reads an indented line after a key as more of its value. */
	if (*start == '[' && !(p->indented && p->after_key))
		tpl_header(p, start);
	return str;
}

/* Check VALUE of key K and store it into the template. */
static int
tpl_set(struct tpl_parse *p, const struct tpl_key *k, const char *value)
{
	struct template *t = p->t;
	char list[128];
	long long v;
	int i;

	switch (k->kind) {
	case K_NAME:
		if (name_check("template", value) != 0)
			return tpl_fail(p, p->lineno, "%s", err_get());
		if (strcmp(value, t->name) != 0)
			return tpl_fail(p, p->lineno, "the name '%s' is not the file's name '%s'; "
			    "make them the same", value, t->name);
		return 1;
	case K_TEXT:
	case K_NOTES:
		tpl_set_str(tpl_field_str(t, k), value[0] != '\0' ? value : NULL);
		return 1;
	case K_WORD:
		if (value[strcspn(value, " \t")] != '\0')
			return tpl_fail(p, p->lineno, "'%s' in [%s] is '%s'; give one word",
			    k->key, k->section, value);
		tpl_set_str(tpl_field_str(t, k), value[0] != '\0' ? value : NULL);
		return 1;
	case K_CHOICE:
	case K_SOURCE:
		if ((i = tpl_index(k->choices, value)) == -1) {
			tpl_join(k->choices, "", "", list, sizeof list);
			if (value[0] == '\0')
				return tpl_fail(p, p->lineno, "'%s' in [%s] has no value; use one "
				    "of: %s", k->key, k->section, list);
			return tpl_fail(p, p->lineno, "'%s' in [%s] is '%s', which is not known; "
			    "use one of: %s", k->key, k->section, value, list);
		}
		if (k->kind == K_SOURCE)
			t->source = (enum template_source)i;
		else
			tpl_set_str(tpl_field_str(t, k), value);
		return 1;
	case K_CPUS:
		if (num_parse(value, 1, VM_MAX_CPUS, &v) != 0)
			return tpl_fail(p, p->lineno, "'cpus' in [machine] is '%s'; give a whole "
			    "number from 1 to %d", value, VM_MAX_CPUS);
		t->cpus = (int)v;
		return 1;
	case K_MEMORY:
		if (num_parse_size(value, 20, 20, VM_MAX_MEMORY_MIB, &v) != 0 || v < 1)
			return tpl_fail(p, p->lineno, "'memory' in [machine] is '%s'; give MiB "
			    "from 1 to %lld, or a size such as 512M or 4G", value,
			    VM_MAX_MEMORY_MIB);
		t->memory_mib = v;
		return 1;
	case K_DISK:
		if (num_parse_size(value, 30, 30, TEMPLATE_MAX_DISK_GIB, &v) != 0)
			return tpl_fail(p, p->lineno, "'size' in [disk] is '%s'; give GiB from "
			    "0 (no disk) to %d, or a size such as 2T", value,
			    TEMPLATE_MAX_DISK_GIB);
		t->disk_gib = v;
		return 1;
	case K_FORWARDS:
		if (value[0] != '\0') {
			struct vm_forward f[VM_MAX_FORWARDS];
			size_t nf;

			if (vm_forwards_parse(value, f, VM_MAX_FORWARDS, &nf) != 0)
				return tpl_fail(p, p->lineno, "'forward' in [network]: %s",
				    err_get());
		}
		tpl_set_str(&t->forwards, value[0] != '\0' ? value : NULL);
		return 1;
	case K_URL:
		if (value[0] != '\0' && ((strncmp(value, "https://", 8) != 0 &&
		    strncmp(value, "http://", 7) != 0) || value[strcspn(value, " \t")] != '\0'))
			return tpl_fail(p, p->lineno, "'%s' in [install] is '%s'; give an "
			    "http:// or https:// address without spaces", k->key, value);
		tpl_set_str(tpl_field_str(t, k), value[0] != '\0' ? value : NULL);
		return 1;
	case K_CHECKSUM:
		if (value[0] != '\0') {
			struct checksum c;

			if (checksum_parse(value, &c) != 0)
				return tpl_fail(p, p->lineno, "'checksum' in [install] is '%s'; %s",
				    value, err_get());
		}
		tpl_set_str(tpl_field_str(t, k), value[0] != '\0' ? value : NULL);
		return 1;
	}
	return 1;
}

/* libinih's handler: one "key = value" line, or a continuation line. */
static int
tpl_handler(void *user, const char *section, const char *key, const char *value)
{
	struct tpl_parse *p = user;
	bool continued = p->indented && p->after_key;
	char list[160];
	size_t i, n = 0;
	const char *keys[TPL_NKEYS + 1], *why;

	p->after_key = true;
	if (p->err != NULL)
		return 1;
	if ((why = tpl_bad_text(section)) != NULL)
		return tpl_fail(p, p->lineno, "section [%s] %s; use printable text", section, why);
	if ((why = tpl_bad_text(key)) != NULL)
		return tpl_fail(p, p->lineno, "the key '%s' %s; use printable text", key, why);
	if ((why = tpl_bad_text(value)) != NULL)
		return tpl_fail(p, p->lineno, "the value of '%s', '%s', %s; use printable text",
		    key, value, why);
	if (section[0] == '\0')
		return tpl_fail(p, p->lineno, "'%s' comes before any section; put it under "
		    "one of: %s", key, tpl_join(tpl_sections, "[", "]", list, sizeof list));
	if (tpl_index(tpl_sections, section) == -1)
		return tpl_fail(p, p->lineno, "section [%s] is not known; use one of: %s",
		    section, tpl_join(tpl_sections, "[", "]", list, sizeof list));
	for (i = 0; i < TPL_NKEYS; i++)
		if (strcmp(tpl_keys[i].section, section) == 0 && strcmp(tpl_keys[i].key, key) == 0)
			break;
	if (continued) {
		char **notes = &p->t->notes;
		char *joined;

		if (i == TPL_NKEYS || tpl_keys[i].kind != K_NOTES)
			return tpl_fail(p, p->lineno, "this indented line goes on with the value "
			    "of '%s'; only 'notes' may span lines, so remove the indentation",
			    key);
		joined = *notes == NULL ? xstrdup(value) : xasprintf("%s %s", *notes, value);
		free(*notes);
		*notes = joined;
		return 1;
	}
	if (i == TPL_NKEYS) {
		for (size_t j = 0; j < TPL_NKEYS; j++)
			if (strcmp(tpl_keys[j].section, section) == 0)
				keys[n++] = tpl_keys[j].key;
		keys[n] = NULL;
		return tpl_fail(p, p->lineno, "key '%s' is not known in [%s]; use one of: %s",
		    key, section, tpl_join(keys, "", "", list, sizeof list));
	}
	if (p->key_line[i] != 0)
		return tpl_fail(p, p->lineno, "'%s' in [%s] is given again (first on line %d); "
		    "keep one", key, section, p->key_line[i]);
	p->key_line[i] = p->lineno;
	return tpl_set(p, &tpl_keys[i], value);
}

/* Where KEY of SECTION was set; 0: it was not. */
static int
tpl_key_line(const struct tpl_parse *p, const char *section, const char *key)
{
	for (size_t i = 0; i < TPL_NKEYS; i++)
		if (strcmp(tpl_keys[i].section, section) == 0 && strcmp(tpl_keys[i].key, key) == 0)
			return p->key_line[i];
	return 0;
}

/* The checks that involve more than one key, each reported on a line. */
static void
tpl_check_keys(struct tpl_parse *p)
{
	const struct template *t = p->t;
	const char *mode = t->net_mode, *source = tpl_sources[t->source];
	bool user = strcmp(mode, "user") == 0;
	bool linked = strcmp(mode, "bridge") == 0 || strcmp(mode, "network") == 0;

	if (t->forwards != NULL && !user)
		tpl_fail(p, tpl_key_line(p, "network", "forward"),
		    "'forward' in [network] needs 'mode = user', not '%s'", mode);
	if (linked && t->net_source == NULL)
		tpl_fail(p, tpl_key_line(p, "network", "mode"),
		    "'mode = %s' in [network] needs 'source', the name of the %s", mode,
		    mode[0] == 'b' ? "bridge" : "libvirt network");
	if (!linked && t->net_source != NULL)
		tpl_fail(p, tpl_key_line(p, "network", "source"),
		    "'source' in [network] is only for the modes bridge and network, not '%s'",
		    mode);
	if (t->cmdline != NULL && t->source != TPL_KERNEL)
		tpl_fail(p, tpl_key_line(p, "install", "cmdline"),
		    "'cmdline' in [install] is only for 'source = kernel', not '%s'", source);
	if (t->disk_gib > 0 && t->source == TPL_DISK)
		tpl_fail(p, tpl_key_line(p, "disk", "size"), "'size' in [disk] must be 0 with "
		    "'source = disk': the existing disk is used as it is");
	if (t->url != NULL && t->source != TPL_ISO && t->source != TPL_CLOUD_IMAGE &&
	    t->source != TPL_DISK)
		tpl_fail(p, tpl_key_line(p, "install", "url"), "'url' in [install] is only for "
		    "the sources iso, cloud-image and disk, not '%s'", source);
	if ((t->checksum != NULL || t->checksum_url != NULL) && t->url == NULL)
		tpl_fail(p, tpl_key_line(p, "install", t->checksum != NULL ? "checksum" :
		    "checksum_url"), "'%s' in [install] verifies the image at 'url'; give "
		    "the url too", t->checksum != NULL ? "checksum" : "checksum_url");
	if (t->checksum != NULL && t->checksum_url != NULL)
		tpl_fail(p, tpl_key_line(p, "install", "checksum"), "give 'checksum' or "
		    "'checksum_url' in [install], not both");
}

/* The VM the template makes must pass vm_config_validate: a catch-all
 * for what the key checks missed.  Kernel and disk paths are stand-ins. */
static int
tpl_check_vm(const struct template *t)
{
	struct vm_config c;
	int rc;

	vm_config_init(&c);
	c.name = xstrdup(t->name);
	template_apply(t, &c);
	if (t->source == TPL_KERNEL)
		c.kernel = xstrdup("vmlinuz");
	if (t->disk_gib > 0) {
		struct vm_disk *d = vm_config_add_disk(&c, "disk");

		tpl_set_str(&d->bus, t->disk_bus);
		tpl_set_str(&d->format, t->disk_format);
	}
	rc = vm_config_validate(&c);
	vm_config_clear(&c);
	return rc;
}

/* The defaults of every key, NAME from the file name. */
static void
tpl_init(struct template *t, const char *name, const char *path)
{
	memset(t, 0, sizeof *t);
	t->name = xstrdup(name);
	t->file = xstrdup(path);
	t->machine = xstrdup(VM_DEFAULT_MACHINE);
	t->firmware = xstrdup(VM_DEFAULT_FIRMWARE);
	t->accel = xstrdup(VM_DEFAULT_ACCEL);
	t->cpus = VM_DEFAULT_CPUS;
	t->memory_mib = VM_DEFAULT_MEMORY_MIB;
	t->disk_bus = xstrdup(VM_DEFAULT_DISK_BUS);
	t->disk_format = xstrdup(VM_DEFAULT_DISK_FORMAT);
	t->net_mode = xstrdup(VM_DEFAULT_NETWORK);
	t->nic_model = xstrdup(VM_DEFAULT_NIC_MODEL);
	t->graphics = xstrdup(VM_DEFAULT_GRAPHICS);
	t->source = TPL_EMPTY;
}

/* The whole of PATH, NUL-terminated, refused if too big or binary. */
static char *
tpl_read_file(const char *path)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		err_set("cannot open template '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		err_set("cannot read template '%s': %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set("template '%s' is not a regular file", path);
		goto fail;
	}
	if (st.st_size > TPL_MAX_FILE) {
		err_set("template '%s' is larger than %d bytes; it cannot be a template",
		    path, TPL_MAX_FILE);
		goto fail;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		r = read(fd, buf + len, (size_t)st.st_size - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			err_set("cannot read template '%s': %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		err_set("template '%s' has a NUL byte; it is not a text file", path);
		goto fail;
	}
	close(fd);
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

/* The template name a file name gives: "a/b/NAME.ini". */
static int
tpl_name_of(const char *path, char **name)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base != NULL ? base + 1 : path;
	n = strlen(base);
	if (n <= 4 || strcmp(base + n - 4, ".ini") != 0)
		return err_set("template '%s': the file name must end in '.ini'", path);
	*name = xstrndup(base, n - 4);
	if (name_check("template", *name) != 0) {
		free(*name);
		*name = NULL;
		return err_prefix("template '%s'", path);
	}
	return 0;
}

int
template_load_file(const char *path, struct template *out)
{
	struct tpl_parse p;
	char *text, *name;
	int rc;

	memset(out, 0, sizeof *out);
	if (tpl_name_of(path, &name) != 0)
		return -1;
	if ((text = tpl_read_file(path)) == NULL) {
		free(name);
		return -1;
	}
	tpl_init(out, name, path);
	free(name);
	memset(&p, 0, sizeof p);
	p.t = out;
	p.pos = text;
	rc = ini_parse_stream(tpl_read, &p, tpl_handler, &p);
	if (rc > 0 && (p.err == NULL || rc < p.err_line)) {
		free(p.err);
		p.err = xstrdup("expected '[section]', 'key = value' or a comment");
		p.err_line = rc;
	} else if (rc < 0 && p.err == NULL)
		tpl_fail(&p, 0, "out of memory while parsing");
	if (p.err == NULL)
		tpl_check_keys(&p);
	free(text);
	if (p.err != NULL) {
		if (p.err_line > 0)
			err_set("template '%s', line %d: %s", path, p.err_line, p.err);
		else
			err_set("template '%s': %s", path, p.err);
		free(p.err);
		goto fail;
	}
	if (out->label == NULL)
		out->label = xstrdup(out->name);
	if (tpl_check_vm(out) != 0) {
		err_prefix("template '%s' does not make a valid VM", path);
		goto fail;
	}
	return 0;
fail:
	template_clear(out);
	return -1;
}

static int
tpl_compare(const void *a, const void *b)
{
	return strcmp(((const struct template *)a)->name, ((const struct template *)b)->name);
}

static int
tpl_compare_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The "*.ini" entries of DIR, sorted; -1 + err when DIR cannot be read,
 * 0 with none when it does not exist. */
static int
tpl_scan(const char *dir, char ***names, size_t *n)
{
	struct dirent *de;
	DIR *d;

	*names = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return err_set("cannot read template directory '%s': %s", dir,
		    strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len <= 4 || strcmp(de->d_name + len - 4, ".ini") != 0)
			continue;
		*names = xreallocarray(*names, *n + 1, sizeof **names);
		(*names)[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*n > 0)
		qsort(*names, *n, sizeof **names, tpl_compare_str);
	return 0;
}

static void
tpl_add_error(char ***errors, size_t *nerrors, const char *msg)
{
	if (errors == NULL)
		return;
	*errors = xreallocarray(*errors, *nerrors + 1, sizeof **errors);
	(*errors)[(*nerrors)++] = xstrdup(msg);
}

/* Drop the template named NAME (of LEN bytes) from V, if there. */
static void
tpl_drop(struct template *v, size_t *n, const char *name, size_t len)
{
	for (size_t i = 0; i < *n; i++) {
		if (strncmp(v[i].name, name, len) != 0 || v[i].name[len] != '\0')
			continue;
		template_clear(&v[i]);
		v[i] = v[--*n];
		return;
	}
}

int
template_list(const char *const *dirs, struct template **out, size_t *n,
    char ***errors, size_t *nerrors)
{
	struct template *v = NULL;
	size_t nv = 0, ne = 0;

	if (errors != NULL)
		*errors = NULL;
	for (size_t i = 0; dirs[i] != NULL; i++) {
		char **names;
		size_t nn;

		if (tpl_scan(dirs[i], &names, &nn) != 0) {
			tpl_add_error(errors, &ne, err_get());
			continue;
		}
		for (size_t j = 0; j < nn; j++) {
			char *path = xasprintf("%s/%s", dirs[i], names[j]);
			struct stat st;
			struct template t;

			/* A directory or dangling link named *.ini is no template. */
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
				tpl_drop(v, &nv, names[j], strlen(names[j]) - 4);
				if (template_load_file(path, &t) == 0) {
					v = xreallocarray(v, nv + 1, sizeof *v);
					v[nv++] = t;
				} else
					tpl_add_error(errors, &ne, err_get());
			}
			free(path);
			free(names[j]);
		}
		free(names);
	}
	if (nv > 0)
		qsort(v, nv, sizeof *v, tpl_compare);
	*out = v;
	*n = nv;
	if (nerrors != NULL)
		*nerrors = ne;
	return 0;
}

int
template_find(const char *const *dirs, const char *name, struct template *out)
{
	char list[512];
	size_t ndirs = 0, len = 0;

	memset(out, 0, sizeof *out);
	if (name_check("template", name) != 0)
		return -1;
	while (dirs[ndirs] != NULL)
		ndirs++;
	for (size_t i = ndirs; i-- > 0;) {
		char *path = xasprintf("%s/%s.ini", dirs[i], name);
		struct stat st;
		int rc;

		if (stat(path, &st) == -1) {
			rc = errno;
			free(path);
			if (rc == ENOENT || rc == ENOTDIR)
				continue;
			return err_set("cannot read template '%s/%s.ini': %s", dirs[i], name,
			    strerror(rc));
		}
		/* Like template_list, which skips directories named *.ini. */
		if (!S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		rc = template_load_file(path, out);
		free(path);
		return rc;
	}
	list[0] = '\0';
	for (size_t i = 0; i < ndirs && len < sizeof list; i++)
		len += (size_t)snprintf(list + len, sizeof list - len, "%s'%s'",
		    i == 0 ? "" : i + 1 == ndirs ? " or " : ", ", dirs[i]);
	if (ndirs == 0)
		return err_set("no template named '%s': there is no directory to look in", name);
	return err_set("no template named '%s' in %s", name, list);
}

/* SRC/share/templates when this program runs from SRC/BUILD/ in a source
 * tree (it has src/main.c); else NULL. */
static char *
tpl_source_tree_dir(void)
{
	char exe[PATH_MAX], *slash, *dir, *marker;
	ssize_t n;
	struct stat st;

	if ((n = readlink("/proc/self/exe", exe, sizeof exe - 1)) <= 0)
		return NULL;
	exe[n] = '\0';
	for (int i = 0; i < 2; i++) {
		if ((slash = strrchr(exe, '/')) == NULL)
			return NULL;
		*slash = '\0';
	}
	marker = xasprintf("%s/src/main.c", exe);
	dir = xasprintf("%s/share/templates", exe);
	if (stat(marker, &st) != 0 || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		free(dir);
		dir = NULL;
	}
	free(marker);
	return dir;
}

static bool
tpl_same_dir(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	    sa.st_ino == sb.st_ino;
}

char **
template_dirs(void)
{
	char **v = xcalloc(4, sizeof *v), *dir;
	size_t n = 0;

	v[n++] = xstrdup(VMTTY_DATADIR "/templates");
	if ((dir = tpl_source_tree_dir()) != NULL && !tpl_same_dir(dir, v[0]))
		v[n++] = dir;
	else
		free(dir);
	dir = paths_config_dir();
	v[n++] = xasprintf("%s/templates", dir);
	free(dir);
	return v;
}

void
template_dirs_free(char **dirs)
{
	if (dirs == NULL)
		return;
	for (size_t i = 0; dirs[i] != NULL; i++)
		free(dirs[i]);
	free(dirs);
}

void
template_apply(const struct template *t, struct vm_config *c)
{
	tpl_set_str(&c->machine, t->machine);
	tpl_set_str(&c->firmware, t->firmware);
	tpl_set_str(&c->accel, t->accel);
	c->sockets = t->cpus;
	c->cores = c->threads = 1;
	c->memory_mib = t->memory_mib;
	tpl_set_str(&c->graphics, t->graphics);
	if (strcmp(t->net_mode, "none") != 0) {
		struct vm_nic *nic = vm_config_add_nic(c, t->net_mode);

		tpl_set_str(&nic->model, t->nic_model);
		tpl_set_str(&nic->source, t->net_source);
		tpl_set_str(&nic->forwards, t->forwards);
	}
	if (t->source == TPL_KERNEL)
		tpl_set_str(&c->cmdline, t->cmdline);
	tpl_set_str(&c->template_name, t->name);
}

const char *
template_source_name(enum template_source s)
{
	if ((size_t)s >= sizeof tpl_sources / sizeof tpl_sources[0] - 1)
		return "unknown";
	return tpl_sources[s];
}

void
template_clear(struct template *t)
{
	free(t->name);
	free(t->label);
	free(t->notes);
	free(t->file);
	free(t->machine);
	free(t->firmware);
	free(t->accel);
	free(t->disk_bus);
	free(t->disk_format);
	free(t->net_mode);
	free(t->nic_model);
	free(t->net_source);
	free(t->forwards);
	free(t->graphics);
	free(t->url);
	free(t->checksum_url);
	free(t->checksum);
	free(t->cmdline);
	memset(t, 0, sizeof *t);
}

void
template_list_free(struct template *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		template_clear(&t[i]);
	free(t);
}

void
template_errors_free(char **errors, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(errors[i]);
	free(errors);
}
