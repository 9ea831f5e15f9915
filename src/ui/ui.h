/* ui: the ncurses terminal UI. */
#ifndef VMTTY_UI_H
#define VMTTY_UI_H

struct db;

/* Run the TUI until the user quits (or after FRAMES frames when > 0).
 * 0, or -1 + err; the terminal is restored on every path. */
int ui_main(struct db *db, long frames);

#endif
