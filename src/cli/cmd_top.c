/*
 * vmtty top: the live statistics of every VM (or one host's), like
 * virt-top.  Each host is sampled on a job lane of its own through an
 * ops/stats collector, so a host that stops answering is shown as such
 * while the others go on.  Full screen: plain ANSI on the user's terminal
 * (no curses), redrawn every delay, q quits.  --batch prints one snapshot
 * per iteration: a text table, or with --json one JSON object per line.
 */
#include "cli/cli.h"
#include "cli/cli_priv.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "hv/hv.h"
#include "model/db.h"
#include "model/host.h"
#include "model/vm.h"
#include "ops/stats.h"
#include "util/err.h"
#include "util/job.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/num.h"
#include "util/str.h"
#include "util/xalloc.h"

/* How long one round of samples may take before a host counts as not
 * answering (the CLI's connect deadline). */
#define TOP_ROUND_MS 15000

struct top_host {
	struct host h;
	struct hv *hv;		/* NULL: not reachable (error says why) */
	struct cli_vmset set;
	struct stats *st;
	struct lane *lane;
	bool busy;		/* a sample is running on its lane */
	bool stuck;		/* it did not finish within TOP_ROUND_MS */
	char error[512];	/* why it has no numbers; "" */
	char sample_error[512];	/* written by the lane */
};

struct top {
	struct top_host **hosts;
	size_t nhosts;
	struct loop *loop;
	struct jobs *jobs;
	enum stats_sort sort;
	int delay_s;
	bool json, batch;
	long iteration;
};

static volatile sig_atomic_t top_quit, top_resized;

static void
on_quit(int sig)
{
	(void)sig;
	top_quit = 1;
}

static void
on_winch(int sig)
{
	(void)sig;
	top_resized = 1;
}

static void
sample_work(void *arg)
{
	struct top_host *th = arg;

	th->sample_error[0] = '\0';
	if (stats_sample(th->st, th->hv, th->set.vms, th->set.n) != 0)
		snprintf(th->sample_error, sizeof th->sample_error, "%s", err_get());
}

static void
sample_done(void *arg)
{
	struct top_host *th = arg;

	th->busy = false;
	th->stuck = false;
	snprintf(th->error, sizeof th->error, "%s", th->sample_error);
}

/* One round: every reachable host not still busy is sampled; wait until
 * all are done, the deadline passes, or the user quits. */
static void
sample_round(struct top *t)
{
	long long deadline = log_now_ms() + TOP_ROUND_MS;
	bool waiting = true;

	for (size_t i = 0; i < t->nhosts; i++) {
		struct top_host *th = t->hosts[i];

		if (th->hv == NULL || th->busy)
			continue;
		th->busy = true;
		if (job_submit(th->lane, sample_work, sample_done, th) != 0) {
			th->busy = false;
			snprintf(th->error, sizeof th->error, "%s", err_get());
		}
	}
	while (waiting && !top_quit && log_now_ms() < deadline) {
		loop_run_once(t->loop, 100);
		waiting = false;
		for (size_t i = 0; i < t->nhosts; i++)
			waiting |= t->hosts[i]->busy;
	}
	for (size_t i = 0; i < t->nhosts; i++) {
		struct top_host *th = t->hosts[i];

		if (th->busy && !th->stuck) {
			th->stuck = true;
			snprintf(th->error, sizeof th->error, "host '%s' did not answer within %d s "
			    "(%s); showing its last numbers", th->h.name, TOP_ROUND_MS / 1000, th->h.uri);
		}
	}
}

/* Every VM of every host, in T's order. */
static struct stats_vm *
gather(struct top *t, size_t *n)
{
	struct stats_vm *all = NULL;
	size_t total = 0;

	for (size_t i = 0; i < t->nhosts; i++) {
		struct stats_vm *v;
		size_t nv;

		if (t->hosts[i]->st == NULL)
			continue;
		stats_snapshot(t->hosts[i]->st, &v, &nv);
		all = xreallocarray(all, total + nv + 1, sizeof *all);
		memcpy(all + total, v, nv * sizeof *v);
		total += nv;
		free(v);	/* the arrays moved into ALL */
	}
	if (all == NULL)
		all = xcalloc(1, sizeof *all);
	stats_sort(all, total, t->sort);
	*n = total;
	return all;
}

/* --- text --- */

/* BYTES (per second when PER_S) as "512K", "1.5M"; "-" when unknown. */
static void
fmt_bytes(double bytes, char *buf, size_t len)
{
	static const char units[] = "BKMGTP";
	int u = 0;

	if (bytes < 0) {
		snprintf(buf, len, "-");
		return;
	}
	while (bytes >= 1024 && u < 5) {
		bytes /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f", bytes);
	else
		snprintf(buf, len, bytes < 10 ? "%.1f%c" : "%.0f%c", bytes, units[u]);
}

static void
fmt_kib(int64_t kib, char *buf, size_t len)
{
	fmt_bytes(kib < 0 ? -1 : (double)kib * 1024, buf, len);
}

static void
fmt_num(double v, const char *f, char *buf, size_t len)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, f, v);
}

/* S escaped, cut to WIDTH columns, padded to them. */
static void
put_cell(FILE *out, const char *s, int width)
{
	char buf[512];
	size_t cap = (size_t)width + 1 < sizeof buf ? (size_t)width + 1 : sizeof buf;
	int w;

	str_escape_buf(buf, cap, s);
	w = (int)str_width(buf);
	fprintf(out, "%s%*s", buf, width > w ? width - w : 0, "");
}

#define TOP_HEADER "%-10s %-16s %-8s %6s %4s %6s %6s %6s %7s %7s %6s %6s %7s %7s"

static void
print_header(FILE *out)
{
	fprintf(out, TOP_HEADER, "HOST", "NAME", "STATE", "%CPU", "VCPU", "MEM", "RSS",
	    "AVAIL", "RD/s", "WR/s", "RDOP/s", "WROP/s", "RX/s", "TX/s");
}

static void
print_row(FILE *out, const struct stats_vm *v)
{
	char cpu[16], mem[16], rss[16], avail[16], rd[16], wr[16], rdo[16], wro[16], rx[16],
	    tx[16];

	fmt_num(v->cpu_pct, "%.1f", cpu, sizeof cpu);
	fmt_kib(v->mem_actual_kib, mem, sizeof mem);
	fmt_kib(v->mem_rss_kib, rss, sizeof rss);
	fmt_kib(v->mem_available_kib, avail, sizeof avail);
	fmt_bytes(v->rd_bps, rd, sizeof rd);
	fmt_bytes(v->wr_bps, wr, sizeof wr);
	fmt_num(v->rd_ops, "%.0f", rdo, sizeof rdo);
	fmt_num(v->wr_ops, "%.0f", wro, sizeof wro);
	fmt_bytes(v->rx_bps, rx, sizeof rx);
	fmt_bytes(v->tx_bps, tx, sizeof tx);
	put_cell(out, v->host, 10);
	fputc(' ', out);
	put_cell(out, v->name, 16);
	fprintf(out, " %-8s %6s %4d %6s %6s %6s %7s %7s %6s %6s %7s %7s", hv_state_name(v->state),
	    cpu, v->nvcpu, mem, rss, avail, rd, wr, rdo, wro, rx, tx);
}

/* The hosts without numbers, and what the hosts could not tell. */
static void
print_notes(FILE *out, struct top *t, const struct stats_vm *v, size_t n, int max, const char *eol)
{
	int lines = 0;

	for (size_t i = 0; i < t->nhosts && lines < max; i++)
		if (t->hosts[i]->error[0] != '\0') {
			fputs("! ", out);
			put_cell(out, t->hosts[i]->error, 200);
			fputs(eol, out);
			lines++;
		}
	for (size_t i = 0; i < n && lines < max; i++) {
		bool dup = false;

		if (v[i].note[0] == '\0')
			continue;
		for (size_t k = 0; k < i && !dup; k++)
			dup = strcmp(v[k].note, v[i].note) == 0;
		if (dup)
			continue;
		fputs("- ", out);
		put_cell(out, v[i].note, 200);
		fputs(eol, out);
		lines++;
	}
}

static void
print_text(struct top *t)
{
	struct stats_vm *v;
	size_t n;

	v = gather(t, &n);
	print_header(stdout);
	fputc('\n', stdout);
	for (size_t i = 0; i < n; i++) {
		print_row(stdout, &v[i]);
		fputc('\n', stdout);
	}
	print_notes(stdout, t, v, n, 100, "\n");
	fputc('\n', stdout);
	fflush(stdout);
	stats_vms_free(v, n);
}

/* --- JSON --- */

static json_object *
j_num(double v)
{
	return v < 0 ? NULL : json_object_new_double(v);
}

static json_object *
j_int(int64_t v)
{
	return v < 0 ? NULL : json_object_new_int64(v);
}

static json_object *
json_disks(const struct stats_vm *v)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();

	json_object_object_add(o, "rd_bytes_per_s", j_num(v->rd_bps));
	json_object_object_add(o, "wr_bytes_per_s", j_num(v->wr_bps));
	json_object_object_add(o, "rd_ops_per_s", j_num(v->rd_ops));
	json_object_object_add(o, "wr_ops_per_s", j_num(v->wr_ops));
	json_object_object_add(o, "rd_bytes", j_int(v->rd_bytes));
	json_object_object_add(o, "wr_bytes", j_int(v->wr_bytes));
	json_object_object_add(o, "rd_reqs", j_int(v->rd_reqs));
	json_object_object_add(o, "wr_reqs", j_int(v->wr_reqs));
	for (size_t i = 0; i < v->ndisk; i++) {
		const struct stats_disk *d = &v->disk[i];
		json_object *dj = json_object_new_object();

		json_object_object_add(dj, "name", cli_json_str(d->name));
		json_object_object_add(dj, "rd_bytes_per_s", j_num(d->rd_bps));
		json_object_object_add(dj, "wr_bytes_per_s", j_num(d->wr_bps));
		json_object_object_add(dj, "rd_ops_per_s", j_num(d->rd_ops));
		json_object_object_add(dj, "wr_ops_per_s", j_num(d->wr_ops));
		json_object_object_add(dj, "rd_bytes", j_int(d->rd_bytes));
		json_object_object_add(dj, "wr_bytes", j_int(d->wr_bytes));
		json_object_object_add(dj, "rd_reqs", j_int(d->rd_reqs));
		json_object_object_add(dj, "wr_reqs", j_int(d->wr_reqs));
		json_object_array_add(a, dj);
	}
	json_object_object_add(o, "devices", a);
	return o;
}

static json_object *
json_nics(const struct stats_vm *v)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();

	json_object_object_add(o, "rx_bytes_per_s", j_num(v->rx_bps));
	json_object_object_add(o, "tx_bytes_per_s", j_num(v->tx_bps));
	json_object_object_add(o, "rx_packets_per_s", j_num(v->rx_pps));
	json_object_object_add(o, "tx_packets_per_s", j_num(v->tx_pps));
	json_object_object_add(o, "rx_bytes", j_int(v->rx_bytes));
	json_object_object_add(o, "tx_bytes", j_int(v->tx_bytes));
	for (size_t i = 0; i < v->nnic; i++) {
		const struct stats_nic *d = &v->nic[i];
		json_object *dj = json_object_new_object();

		json_object_object_add(dj, "name", cli_json_str(d->name));
		json_object_object_add(dj, "rx_bytes_per_s", j_num(d->rx_bps));
		json_object_object_add(dj, "tx_bytes_per_s", j_num(d->tx_bps));
		json_object_object_add(dj, "rx_packets_per_s", j_num(d->rx_pps));
		json_object_object_add(dj, "tx_packets_per_s", j_num(d->tx_pps));
		json_object_object_add(dj, "rx_bytes", j_int(d->rx_bytes));
		json_object_object_add(dj, "tx_bytes", j_int(d->tx_bytes));
		json_object_object_add(dj, "rx_packets", j_int(d->rx_packets));
		json_object_object_add(dj, "tx_packets", j_int(d->tx_packets));
		json_object_array_add(a, dj);
	}
	json_object_object_add(o, "devices", a);
	return o;
}

static json_object *
json_vm(const struct stats_vm *v)
{
	json_object *o = json_object_new_object(), *m = json_object_new_object();
	json_object *vc = json_object_new_array();
	char when[40];

	json_object_object_add(o, "host", cli_json_str(v->host));
	json_object_object_add(o, "name", cli_json_str(v->name));
	json_object_object_add(o, "uuid", cli_json_str(v->uuid));
	json_object_object_add(o, "state", json_object_new_string(hv_state_name(v->state)));
	cli_format_time_iso(v->when_ms, when, sizeof when);
	json_object_object_add(o, "time", json_object_new_string(when));
	json_object_object_add(o, "interval_s", v->rates ? json_object_new_double(v->interval_s) :
	    NULL);
	json_object_object_add(o, "cpu_pct", j_num(v->cpu_pct));
	json_object_object_add(o, "cpu_time_ns", j_int(v->cpu_time_ns));
	json_object_object_add(o, "vcpus", json_object_new_int(v->nvcpu));
	for (int i = 0; i < v->nvcpu; i++) {
		json_object *c = json_object_new_object();

		json_object_object_add(c, "cpu_pct", j_num(v->vcpu_pct[i]));
		json_object_object_add(c, "time_ns", j_int(v->vcpu_time_ns[i]));
		json_object_array_add(vc, c);
	}
	json_object_object_add(o, "vcpu", vc);
	json_object_object_add(m, "actual_kib", j_int(v->mem_actual_kib));
	json_object_object_add(m, "max_kib", j_int(v->mem_max_kib));
	json_object_object_add(m, "rss_kib", j_int(v->mem_rss_kib));
	json_object_object_add(m, "available_kib", j_int(v->mem_available_kib));
	json_object_object_add(m, "usable_kib", j_int(v->mem_usable_kib));
	json_object_object_add(m, "unused_kib", j_int(v->mem_unused_kib));
	json_object_object_add(o, "mem", m);
	json_object_object_add(o, "disk", json_disks(v));
	json_object_object_add(o, "net", json_nics(v));
	json_object_object_add(o, "note", v->note[0] != '\0' ? cli_json_str(v->note) : NULL);
	return o;
}

static void
print_json(struct top *t)
{
	json_object *o = json_object_new_object(), *hosts = json_object_new_array();
	json_object *vms = json_object_new_array();
	struct stats_vm *v;
	size_t n;

	v = gather(t, &n);
	json_object_object_add(o, "iteration", json_object_new_int64(t->iteration));
	json_object_object_add(o, "delay_s", json_object_new_int(t->delay_s));
	for (size_t i = 0; i < t->nhosts; i++) {
		json_object *h = json_object_new_object();
		const struct top_host *th = t->hosts[i];

		json_object_object_add(h, "name", cli_json_str(th->h.name));
		json_object_object_add(h, "up", json_object_new_boolean(th->error[0] == '\0'));
		json_object_object_add(h, "error", th->error[0] != '\0' ? cli_json_str(th->error) :
		    NULL);
		json_object_array_add(hosts, h);
	}
	json_object_object_add(o, "hosts", hosts);
	for (size_t i = 0; i < n; i++)
		json_object_array_add(vms, json_vm(&v[i]));
	json_object_object_add(o, "vms", vms);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	fflush(stdout);
	json_object_put(o);
	stats_vms_free(v, n);
}

/* --- full screen --- */

static const char *
sort_name(enum stats_sort s)
{
	switch (s) {
	case STATS_SORT_CPU: return "cpu";
	case STATS_SORT_MEM: return "mem";
	case STATS_SORT_IO: return "io";
	case STATS_SORT_NAME: return "name";
	}
	return "";
}

static void
draw_screen(struct top *t)
{
	struct winsize ws = { 0 };
	int rows = 24, running = 0;
	struct stats_vm *v;
	char clock[16];
	time_t now = time(NULL);
	struct tm tm;
	size_t n;
	FILE *out = stdout;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
		rows = ws.ws_row;
	v = gather(t, &n);
	for (size_t i = 0; i < n; i++)
		running += v[i].state == HV_RUNNING;
	localtime_r(&now, &tm);
	strftime(clock, sizeof clock, "%H:%M:%S", &tm);
	/* Home, then each line cleared to its end; the rest cleared at the end. */
	fputs("\033[H", out);
	fprintf(out, "vmtty top - %s  hosts: %zu  VMs: %zu, %d running  every %d s  sort: %s"
	    "  (q quit, c/m/i/n sort)\033[K\r\n\033[K\r\n\033[7m", clock, t->nhosts, n, running,
	    t->delay_s, sort_name(t->sort));
	print_header(out);
	fputs("\033[0m\033[K\r", out);
	for (size_t i = 0; i < n && (int)i < rows - 6; i++) {
		fputs("\n", out);
		print_row(out, &v[i]);
		fputs("\033[K\r", out);
	}
	fputs("\n\033[K\r\n", out);
	print_notes(out, t, v, n, rows - 5 - (int)(n < (size_t)rows ? n : (size_t)rows), "\033[K\r\n");
	fputs("\033[J", out);
	fflush(out);
	stats_vms_free(v, n);
}

static void
on_key(int fd, short revents, void *arg)
{
	struct top *t = arg;
	char buf[64];
	ssize_t n;

	(void)revents;
	n = read(fd, buf, sizeof buf);
	if (n == 0) {
		top_quit = 1;
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		switch (buf[i]) {
		case 'q': case 'Q': top_quit = 1; break;
		case 'c': t->sort = STATS_SORT_CPU; top_resized = 1; break;
		case 'm': t->sort = STATS_SORT_MEM; top_resized = 1; break;
		case 'i': t->sort = STATS_SORT_IO; top_resized = 1; break;
		case 'n': t->sort = STATS_SORT_NAME; top_resized = 1; break;
		default: break;
		}
	}
}

/* Wait until monotonic time UNTIL_MS (or a quit); a key or a resize
 * redraws at once in full-screen mode. */
static void
wait_until(struct top *t, long long until_ms)
{
	long long now;

	while (!top_quit && (now = log_now_ms()) < until_ms) {
		loop_run_once(t->loop, until_ms - now < 100 ? until_ms - now : 100);
		if (!t->batch && top_resized) {
			top_resized = 0;
			draw_screen(t);
		}
	}
}

static void
run_rounds(struct top *t, long iterations)
{
	long long next;

	sample_round(t);	/* the first counters: rates need two */
	next = log_now_ms();
	if (!t->batch)
		draw_screen(t);
	for (t->iteration = 1; !top_quit && (iterations <= 0 || t->iteration <= iterations);
	    t->iteration++) {
		next += (long long)t->delay_s * 1000;
		wait_until(t, next);
		if (top_quit)
			break;
		sample_round(t);
		if (!t->batch)
			draw_screen(t);
		else if (t->json)
			print_json(t);
		else
			print_text(t);
		if (log_now_ms() > next)
			next = log_now_ms();
	}
}

/* The user's terminal for full-screen mode: keys one by one without echo
 * (signals still work), the alternate screen, no line wrap, no cursor. */
static void
screen_begin(struct termios *saved)
{
	struct termios raw;

	tcgetattr(STDIN_FILENO, saved);
	raw = *saved;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
	fputs("\033[?1049h\033[?7l\033[?25l\033[H\033[2J", stdout);
	fflush(stdout);
}

static void
screen_end(const struct termios *saved)
{
	fputs("\033[?25h\033[?7h\033[?1049l", stdout);
	fflush(stdout);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, saved);
}

/* --- setup --- */

static void
host_free(struct top_host *th)
{
	/* A host whose lane is stuck in a call keeps its memory: the thread
	 * may still write it. */
	if (th->busy)
		return;
	cli_vmset_clear(&th->set);
	stats_free(th->st);
	if (th->hv != NULL)
		hv_close(th->hv);
	host_clear(&th->h);
	free(th);
}

static int
top_setup(struct cli_ctx *ctx, struct top *t, const char *only, int delay_s)
{
	struct host *hosts;
	char **stale;
	size_t nh, nstale;
	struct db *db;

	if ((db = cli_db(ctx)) == NULL)
		return -1;
	if (only != NULL) {
		struct host h;

		if (host_get(db, only, &h) != 0)
			return cli_warn("%s", err_get()), -1;
		host_clear(&h);
	}
	if (cli_refresh_hosts(db, only, &stale, &nstale) != 0 || host_list(db, &hosts, &nh) != 0)
		return cli_warn("%s", err_get()), -1;
	t->hosts = xcalloc(nh + 1, sizeof *t->hosts);
	for (size_t i = 0; i < nh; i++) {
		struct top_host *th;
		bool is_stale = false;

		if (only != NULL && strcmp(only, hosts[i].name) != 0)
			continue;
		for (size_t k = 0; k < nstale; k++)
			is_stale |= strcmp(stale[k], hosts[i].name) == 0;
		th = xcalloc(1, sizeof *th);
		th->h = hosts[i];	/* taken over */
		memset(&hosts[i], 0, sizeof hosts[i]);
		t->hosts[t->nhosts++] = th;
		th->st = stats_new(th->h.name, delay_s * 1000);
		if (cli_vmset_load(db, th->h.name, &th->set) != 0) {
			snprintf(th->error, sizeof th->error, "%s", err_get());
			continue;
		}
		if (is_stale) {
			snprintf(th->error, sizeof th->error, "host '%s' did not answer (%s)",
			    th->h.name, th->h.uri);
			continue;
		}
		if ((th->hv = cli_hv_open(&th->h)) == NULL) {
			snprintf(th->error, sizeof th->error, "%s", err_get());
			continue;
		}
		if ((th->lane = jobs_lane_new(t->jobs, th->h.name)) == NULL) {
			snprintf(th->error, sizeof th->error, "%s", err_get());
			hv_close(th->hv);
			th->hv = NULL;
		}
	}
	for (size_t k = 0; k < nstale; k++)
		free(stale[k]);
	free(stale);
	host_list_free(hosts, nh);
	return 0;
}

static int
parse_opts(const char *sort, const char *iterations, const char *delay, struct top *t,
    long *iters)
{
	long long v;

	if (sort != NULL && stats_sort_parse(sort, &t->sort) != 0)
		return cli_usage("top", "--sort: %s", err_get());
	*iters = 0;
	if (iterations != NULL) {
		if (num_parse(iterations, 1, 1000000000, &v) != 0)
			return cli_usage("top", "--iterations takes a count from 1, not '%s'",
			    iterations);
		*iters = (long)v;
	}
	t->delay_s = STATS_INTERVAL_MS / 1000;
	if (delay != NULL) {
		if (num_parse(delay, 1, STATS_INTERVAL_MAX_MS / 1000, &v) != 0)
			return cli_usage("top", "--delay takes whole seconds from 1 to %d, not '%s'",
			    STATS_INTERVAL_MAX_MS / 1000, delay);
		t->delay_s = (int)v;
	}
	if (!t->batch && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)))
		return cli_usage("top", "the full-screen view needs a terminal; use --batch "
		    "(or --json) for output to a pipe or file");
	return CLI_OK;
}

int
cmd_top(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *host = NULL, *sort = NULL, *iterations = NULL, *delay = NULL;
	struct top t = { .sort = STATS_SORT_CPU };
	const struct cli_opt opts[] = {
		{ "host", &host, NULL, NULL },
		{ "sort", &sort, NULL, NULL },
		{ "batch", NULL, &t.batch, NULL },
		{ "iterations", &iterations, NULL, NULL },
		{ "delay", &delay, NULL, NULL },
		{ "json", NULL, &t.json, NULL },
		{ 0 },
	};
	struct sigaction sa = { 0 }, old_int, old_term, old_hup, old_winch;
	struct termios saved;
	char **ops;
	int nops, rc, key = -1;
	long iters = 0;

	rc = cli_parse("top", argc, argv, opts, &ops, &nops);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	free(ops);
	if (nops != 0)
		return cli_usage("top", "top takes no operands; use --host HOST to choose a host");
	t.batch |= t.json;
	if ((rc = parse_opts(sort, iterations, delay, &t, &iters)) != CLI_OK)
		return rc;
	if ((t.loop = loop_new()) == NULL || (t.jobs = jobs_new(t.loop)) == NULL) {
		loop_free(t.loop);
		return cli_fail_err();
	}
	rc = CLI_FAILED;
	if (top_setup(ctx, &t, host, t.delay_s) != 0)
		goto out;
	top_quit = top_resized = 0;
	sa.sa_handler = on_quit;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	sa.sa_handler = on_winch;
	sigaction(SIGWINCH, &sa, &old_winch);
	if (!t.batch) {
		screen_begin(&saved);
		key = loop_add_fd(t.loop, STDIN_FILENO, POLLIN, on_key, &t);
	}
	run_rounds(&t, iters);
	if (!t.batch) {
		if (key >= 0)
			loop_remove_fd(t.loop, key);
		screen_end(&saved);
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	sigaction(SIGWINCH, &old_winch, NULL);
	rc = CLI_OK;
out:
	jobs_free(t.jobs);
	for (size_t i = 0; i < t.nhosts; i++)
		host_free(t.hosts[i]);
	free(t.hosts);
	loop_free(t.loop);
	return rc;
}
