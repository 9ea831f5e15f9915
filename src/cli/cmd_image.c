/* vmtty image pull|list|rm: the cache of downloaded images (ops/image). */
#include "cli/cli.h"
#include "cli/cli_priv.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "model/template.h"
#include "ops/image.h"
#include "util/err.h"
#include "util/num.h"
#include "util/str.h"
#include "util/xalloc.h"

/* The state of the progress display. */
struct pull_show {
	bool tty;
	bool drawn;		/* a bar is on the line */
	int last_tenth;		/* plain lines: the last tenth said */
	double last_line;	/* plain lines: when the last was said */
};

static void
on_starting(const char *url, const char *part, int64_t resume_from, int64_t dropped,
    void *arg)
{
	char *u = str_escape(url), size[32];

	(void)arg;
	(void)part;
	if (resume_from > 0) {
		num_format_bytes(resume_from, size, sizeof size);
		fprintf(stderr, "vmtty: resuming '%s' after %s\n", u, size);
	} else if (dropped > 0) {
		num_format_bytes(dropped, size, sizeof size);
		fprintf(stderr, "vmtty: the server of '%s' cannot resume a download; the %s kept "
		    "from an earlier try were dropped and it downloads from the start\n", u, size);
	} else {
		fprintf(stderr, "vmtty: downloading '%s'\n", u);
	}
	free(u);
}

/* Progress on stderr: a bar on a terminal, else a plain line per tenth
 * (or every 5 s when the size is unknown) and one at the end. */
static void
on_progress(const struct fetch_progress *p, int done, void *arg)
{
	struct pull_show *s = arg;
	char have[32], total[32], rate[32], left[32] = "";
	int pct = p->total > 0 ? (int)(p->bytes * 100 / p->total) : -1;

	num_format_bytes(p->bytes, have, sizeof have);
	num_format_bytes(p->total > 0 ? p->total : 0, total, sizeof total);
	num_format_bytes((int64_t)p->rate, rate, sizeof rate);
	if (p->eta >= 0)
		snprintf(left, sizeof left, ", %lld:%02lld left", (long long)(p->eta / 60),
		    (long long)(p->eta % 60));
	if (s->tty) {
		char bar[31];
		int fill = pct >= 0 ? pct * 30 / 100 : 0;

		memset(bar, '#', (size_t)fill);
		memset(bar + fill, '.', (size_t)(30 - fill));
		bar[30] = '\0';
		if (pct >= 0)
			fprintf(stderr, "\r[%s] %3d%% %s of %s, %s/s%s\033[K", bar, pct, have, total,
			    rate, left);
		else
			fprintf(stderr, "\r%s, %s/s\033[K", have, rate);
		s->drawn = true;
		if (done) {
			fputc('\n', stderr);
			s->drawn = false;
		}
		return;
	}
	if (!done && p->bytes == p->resumed_from)
		return;
	if (!done && (pct >= 0 ? pct / 10 <= s->last_tenth :
	    p->elapsed - s->last_line < 5))
		return;
	s->last_tenth = pct >= 0 ? pct / 10 : s->last_tenth;
	s->last_line = p->elapsed;
	if (pct >= 0)
		fprintf(stderr, "vmtty: download: %d%%, %s of %s, %s/s%s\n", pct, have, total,
		    rate, left);
	else
		fprintf(stderr, "vmtty: download: %s, %s/s\n", have, rate);
}

/* Ctrl-C (TERM, HUP) during a download: stop it, keep the .part. */
static atomic_bool pull_cancel;

static void
on_pull_signal(int sig)
{
	(void)sig;
	atomic_store(&pull_cancel, true);
}

int
cli_image_pull(const struct image_source *s, char **path)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct pull_show show = { .tty = isatty(STDERR_FILENO), .last_tenth = -1,
		.last_line = -100 };
	struct image_pull_opts o = { .cancel = &pull_cancel, .progress = on_progress,
		.starting = on_starting, .arg = &show };
	struct sigaction sa, old[3];
	bool cached;
	int rc;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_pull_signal;
	sigemptyset(&sa.sa_mask);
	atomic_store(&pull_cancel, false);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	rc = image_pull(s, &o, path, &cached);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	if (show.drawn)
		fputc('\n', stderr);
	if (rc != 0 && atomic_load(&pull_cancel)) {
		char *u = str_escape(s->url);

		err_set("download of '%s' cancelled; the partial file stays in the image cache "
		    "and the next pull resumes it", u);
		free(u);
	}
	else if (rc == 0 && cached)
		fprintf(stderr, "vmtty: using the cached image '%s'\n", *path);
	else if (rc == 0)
		fprintf(stderr, "vmtty: %s; cached as '%s'\n", s->checksum != NULL ||
		    s->checksum_url != NULL ? "verified" : "not verified (--insecure-image)",
		    *path);
	return rc;
}

/* TARGET, a template name or a URL, into *S (*T holds the template). */
static int
source_of(const char *target, struct template *t, struct image_source *s)
{
	char **dirs;
	int rc;

	memset(t, 0, sizeof *t);
	memset(s, 0, sizeof *s);
	if (strstr(target, "://") != NULL) {
		if (strncmp(target, "https://", 8) != 0 && strncmp(target, "http://", 7) != 0)
			return err_set("'%s' is not an http:// or https:// address", target);
		s->url = target;
		return 0;
	}
	dirs = template_dirs();
	rc = template_find((const char *const *)dirs, target, t);
	template_dirs_free(dirs);
	if (rc != 0)
		return -1;
	return image_source_from_template(t, s);
}

static int
image_pull_cmd(const char *target, const char *checksum, bool insecure)
{
	struct image_source s;
	struct template t;
	char *path = NULL;
	int rc;

	rc = source_of(target, &t, &s);
	if (rc == 0 && checksum != NULL) {
		s.checksum = checksum;
		s.checksum_url = NULL;
	}
	s.insecure = insecure;
	if (rc == 0)
		rc = cli_image_pull(&s, &path);
	if (rc == 0)
		printf("%s\n", path);
	free(path);
	template_clear(&t);
	return rc == 0 ? CLI_OK : cli_fail_err();
}

/* S, or S with ", " and ADD after it (S freed). */
static char *
list_add(char *s, const char *add)
{
	char *r = s != NULL ? xasprintf("%s, %s", s, add) : xstrdup(add);

	free(s);
	return r;
}

/* E's URL file names (each once) and templates, ", " between them, into
 * NAMES and TEMPLATES (allocated; "-" for none). */
static void
entry_names(const struct image_entry *e, char **names, char **templates)
{
	*names = *templates = NULL;
	for (size_t i = 0; i < e->n_urls; i++) {
		size_t j = 0;

		while (j < i && strcmp(e->urls[j].name, e->urls[i].name) != 0)
			j++;
		if (j == i)
			*names = list_add(*names, e->urls[i].name);
	}
	for (size_t i = 0; i < e->n_templates; i++)
		*templates = list_add(*templates, e->templates[i]);
	if (*names == NULL)
		*names = xstrdup("-");
	if (*templates == NULL)
		*templates = xstrdup("-");
}

/* One image as JSON: every URL and template it answers to, and the first
 * of each under the singular keys. */
static json_object *
entry_json(const struct image_entry *e)
{
	json_object *j = json_object_new_object(), *names = json_object_new_array(),
	    *urls = json_object_new_array(), *tmpl = json_object_new_array();

	json_object_object_add(j, "name", cli_json_str(e->n_urls > 0 ? e->urls[0].name : NULL));
	json_object_object_add(j, "file", cli_json_str(e->file));
	json_object_object_add(j, "path", cli_json_str(e->path));
	json_object_object_add(j, "url", cli_json_str(e->n_urls > 0 ? e->urls[0].url : NULL));
	json_object_object_add(j, "checksum", cli_json_str(e->checksum));
	json_object_object_add(j, "template",
	    cli_json_str(e->n_templates > 0 ? e->templates[0] : NULL));
	for (size_t i = 0; i < e->n_urls; i++) {
		json_object_array_add(urls, cli_json_str(e->urls[i].url));
		json_object_array_add(names, cli_json_str(e->urls[i].name));
	}
	for (size_t i = 0; i < e->n_templates; i++)
		json_object_array_add(tmpl, cli_json_str(e->templates[i]));
	json_object_object_add(j, "names", names);
	json_object_object_add(j, "urls", urls);
	json_object_object_add(j, "templates", tmpl);
	json_object_object_add(j, "size", json_object_new_int64(e->size));
	json_object_object_add(j, "fetched", json_object_new_int64(e->fetched));
	json_object_object_add(j, "verified", json_object_new_boolean(e->verified));
	return j;
}

static int
image_list_cmd(bool json)
{
	struct image_entry *e;
	size_t n;
	char size[32], *names, *templates;

	if (image_list(&e, &n) != 0)
		return cli_fail_err();
	if (json) {
		json_object *o = json_object_new_object(), *a = json_object_new_array();

		for (size_t i = 0; i < n; i++)
			json_object_array_add(a, entry_json(&e[i]));
		json_object_object_add(o, "images", a);
		cli_json_print(o);
	} else {
		printf("%-40s %-20s %10s %-10s %s\n", "NAME", "TEMPLATE", "SIZE", "VERIFIED",
		    "FILE");
		for (size_t i = 0; i < n; i++) {
			num_format_bytes(e[i].size, size, sizeof size);
			entry_names(&e[i], &names, &templates);
			cli_print_cell(names, 40);
			putchar(' ');
			cli_print_cell(templates, 20);
			printf(" %10s %-10s ", size, e[i].verified ? "yes" : "no");
			cli_print_cell(e[i].file, 0);
			putchar('\n');
			free(names);
			free(templates);
		}
	}
	image_entries_free(e, n);
	return CLI_OK;
}

int
cmd_image(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *checksum = NULL;
	bool json = false, insecure = false;
	const struct cli_opt opts[] = {
		{ "checksum", &checksum, NULL, NULL },
		{ "insecure-image", NULL, &insecure, NULL },
		{ "json", NULL, &json, NULL },
		{ 0 },
	};
	char **ops, *removed = NULL;
	struct db *db;
	int n, rc;

	rc = cli_parse("image", argc, argv, opts, &ops, &n);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if (n == 2 && strcmp(ops[0], "pull") == 0 && !json) {
		rc = image_pull_cmd(ops[1], checksum, insecure);
	} else if (n == 1 && strcmp(ops[0], "list") == 0 && checksum == NULL && !insecure) {
		rc = image_list_cmd(json);
	} else if (n == 2 && strcmp(ops[0], "rm") == 0 && checksum == NULL && !insecure &&
	    !json) {
		if ((db = cli_db(ctx)) == NULL)
			rc = CLI_FAILED;
		else if (image_rm(db, ops[1], &removed) != 0)
			rc = cli_fail_err();
		else
			fprintf(stderr, "vmtty: removed '%s'\n", removed);
		free(removed);
	} else {
		rc = cli_usage("image", "give pull TEMPLATE|URL [--checksum sha256:HEX] "
		    "[--insecure-image], list [--json] or rm NAME");
	}
	free(ops);
	return rc;
}
