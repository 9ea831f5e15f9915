/* name: the rules for host and VM names, shared by every front end. */
#ifndef VMTTY_NAME_H
#define VMTTY_NAME_H

/* 0 when NAME is a valid host or VM name; else -1 + err naming WHAT. */
int name_check(const char *what, const char *name);

#endif
