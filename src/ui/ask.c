/*
 * A host's question (libvirt's auth callback, on the host's worker thread)
 * becomes an overlay on the UI thread.  The worker's request lives on its
 * own stack and sits in the pending list until answered; the UI finds it
 * there by id, under the lock, so an answer that comes too late (vmtty
 * quitting) never touches a request that is gone.
 */
#include "ui/ask.h"
#include "ui/overlay.h"
#include "ui/ui_priv.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/fleet.h"
#include "hv/hv.h"
#include "util/err.h"
#include "util/job.h"
#include "util/xalloc.h"

struct ask_req {
	struct ask_req *next;
	unsigned id;
	const struct hv_question *q;	/* the worker's, alive until done */
	bool shown;
	bool done;
	char *answer;			/* NULL: declined, see error */
	char error[256];
	pthread_cond_t cond;
};

static struct {
	pthread_mutex_t lock;
	struct ask_req *pending;
	struct ui *ui;
	struct jobs *jobs;
	unsigned next_id;
	bool open;
} A = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Called with A.lock held. */
static struct ask_req *
find_req(unsigned id)
{
	for (struct ask_req *r = A.pending; r != NULL; r = r->next)
		if (r->id == id)
			return r;
	return NULL;
}

/* Called with A.lock held: R is answered; its worker goes on. */
static void
answer_req(struct ask_req *r, const char *answer, const char *why)
{
	r->done = true;
	r->answer = answer != NULL ? xstrdup(answer) : NULL;
	snprintf(r->error, sizeof r->error, "%s", why != NULL ? why : "");
	pthread_cond_signal(&r->cond);
}

/* The overlay closed: Enter (CHOICE 1) with INPUT, or Esc. */
static int
on_answer(struct ui *ui, int choice, const char *input, void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	char host[128] = "";
	struct ask_req *r;

	pthread_mutex_lock(&A.lock);
	if ((r = find_req(id)) != NULL && !r->done) {
		snprintf(host, sizeof host, "%s", r->q->host);
		if (choice == 1 && input != NULL)
			answer_req(r, input, NULL);
		else
			answer_req(r, NULL, "you cancelled the login");
	}
	pthread_mutex_unlock(&A.lock);
	if (host[0] != '\0') {
		fleet_asking(ui_fleet(ui), host, false, choice != 1);
		if (choice != 1)
			ui_status(ui, false, "Host '%s': login cancelled; r tries again.", host);
	}
	return UI_REDRAW;
}

/* UI thread: put every question not yet shown. */
static void
pump(void *arg)
{
	(void)arg;
	for (;;) {
		char title[256], label[600], host[128];
		struct overlay *o;
		struct ask_req *r;
		unsigned id;

		pthread_mutex_lock(&A.lock);
		for (r = A.pending; r != NULL && r->shown; r = r->next)
			;
		if (r == NULL || A.ui == NULL) {
			pthread_mutex_unlock(&A.lock);
			return;
		}
		r->shown = true;
		id = r->id;
		snprintf(host, sizeof host, "%s", r->q->host);
		snprintf(title, sizeof title, "Log in to host '%s'", r->q->host);
		snprintf(label, sizeof label, "%s (%s)%s%s%s:", r->q->prompt, r->q->uri,
		    r->q->def != NULL ? " [" : "", r->q->def != NULL ? r->q->def : "",
		    r->q->def != NULL ? "]" : "");
		o = r->q->echo ? overlay_prompt(title, label, r->q->def, on_answer,
		    (void *)(uintptr_t)id) : overlay_secret(title, label, on_answer,
		    (void *)(uintptr_t)id);
		pthread_mutex_unlock(&A.lock);
		if (!ui_push(A.ui, o)) {
			pthread_mutex_lock(&A.lock);
			if ((r = find_req(id)) != NULL && !r->done)
				answer_req(r, NULL, "too many windows were open to ask; close "
				    "some and press r");
			pthread_mutex_unlock(&A.lock);
			fleet_asking(ui_fleet(A.ui), host, false, true);
			continue;
		}
		fleet_asking(ui_fleet(A.ui), host, true, false);
	}
}

/* Worker thread (hv_ask): queue Q, wake the UI, wait for the answer. */
static char *
ui_asker(const struct hv_question *q, void *arg)
{
	struct ask_req r;
	char *answer;

	(void)arg;
	memset(&r, 0, sizeof r);
	r.q = q;
	pthread_cond_init(&r.cond, NULL);
	pthread_mutex_lock(&A.lock);
	if (!A.open) {
		pthread_mutex_unlock(&A.lock);
		pthread_cond_destroy(&r.cond);
		err_set("host '%s' asks for '%s', but vmtty is quitting", q->host, q->prompt);
		return NULL;
	}
	r.id = ++A.next_id;
	r.next = A.pending;
	A.pending = &r;
	jobs_post(A.jobs, pump, NULL);
	while (!r.done)
		pthread_cond_wait(&r.cond, &A.lock);
	for (struct ask_req **p = &A.pending; *p != NULL; p = &(*p)->next)
		if (*p == &r) {
			*p = r.next;
			break;
		}
	pthread_mutex_unlock(&A.lock);
	pthread_cond_destroy(&r.cond);
	answer = r.answer;
	if (answer == NULL)
		err_set("%s", r.error);
	return answer;
}

void
ask_start(struct ui *ui)
{
	pthread_mutex_lock(&A.lock);
	A.ui = ui;
	A.jobs = ui_jobs(ui);
	A.open = true;
	pthread_mutex_unlock(&A.lock);
	hv_set_asker(ui_asker, NULL);
}

void
ask_stop(void)
{
	pthread_mutex_lock(&A.lock);
	A.open = false;
	A.ui = NULL;
	for (struct ask_req *r = A.pending; r != NULL; r = r->next)
		if (!r->done)
			answer_req(r, NULL, "vmtty quit before the login was answered");
	pthread_mutex_unlock(&A.lock);
}
