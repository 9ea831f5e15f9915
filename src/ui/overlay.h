/* overlay: what pops up over a view and takes the keys until it closes:
 * a help text, an action menu, a confirmation (optionally typed), a
 * one-line prompt.  Private to src/ui. */
#ifndef VMTTY_OVERLAY_H
#define VMTTY_OVERLAY_H

#include <stdbool.h>

struct ui;
struct overlay;

/* CHOICE: the menu item index, 1 for yes, or -1 when cancelled; INPUT the
 * prompt's text (NULL otherwise).  Returns intents for the loop. */
typedef int (*overlay_fn)(struct ui *ui, int choice, const char *input, void *arg);

/* A scrollable text; LINES is "key\tdescription" or a heading (no tab). */
struct overlay *overlay_help(const char *title, const char *const *lines);
/* A menu of ITEMS (NULL-terminated); item text may start with "k\t" to
 * show a key. */
struct overlay *overlay_menu(const char *title, const char *const *items, overlay_fn fn,
    void *arg);
/* Yes/no (the question wrapped to the box).  With TYPED non-NULL the user
 * must type exactly TYPED. */
struct overlay *overlay_confirm(const char *title, const char *question, const char *typed,
    overlay_fn fn, void *arg);
/* Yes/no where Enter says yes too (y does, n and Esc say no). */
struct overlay *overlay_ask(const char *title, const char *question, overlay_fn fn, void *arg);
/* A one-line text prompt with an initial value. */
struct overlay *overlay_prompt(const char *title, const char *label, const char *initial,
    overlay_fn fn, void *arg);
/* The same with HINT (e.g. an example) shown dim while the input is empty:
 * it is not a value, and the first key typed replaces it. */
struct overlay *overlay_prompt_hint(const char *title, const char *label, const char *initial,
    const char *hint, overlay_fn fn, void *arg);
/* The same for a secret (a password): what is typed is never shown, and
 * the text is zeroed when the overlay goes. */
struct overlay *overlay_secret(const char *title, const char *label, overlay_fn fn, void *arg);
void overlay_free(struct overlay *o);

/* Keys go here first; *CLOSE set when the overlay is done. */
int overlay_key(struct ui *ui, struct overlay *o, int key, bool *close);
void overlay_draw(struct overlay *o, int rows, int cols, bool utf8);

#endif
