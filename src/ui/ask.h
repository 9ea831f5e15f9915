/* ask: the questions hosts ask while connecting (a password, a key's
 * passphrase), put to the user as overlays.  The connecting worker thread
 * waits; the UI thread shows the question and hands back the answer.
 * Private to src/ui. */
#ifndef VMTTY_UI_ASK_H
#define VMTTY_UI_ASK_H

struct ui;

/* Take over hv_ask for UI (before any host connects). */
void ask_start(struct ui *ui);
/* Quitting: every open question is answered "no", and later ones are
 * refused (never put to a terminal curses just left); call before the job
 * lanes are stopped. */
void ask_stop(void);

#endif
