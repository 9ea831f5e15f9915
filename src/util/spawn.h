/* spawn: run a program from an argv (execvp, never a shell). */
#ifndef VMTTY_SPAWN_H
#define VMTTY_SPAWN_H

#include <sys/types.h>

/* Run ARGV with stdin from /dev/null, stdout to OUT_FD and stderr to
 * ERR_FD (-1: /dev/null), every other fd closed; wait up to TIMEOUT_MS
 * (the child is killed after it).  *STATUS gets the exit code, or 128 +
 * signal.  0, or -1 + err (cannot run, or timed out). */
int spawn_wait(char *const argv[], int out_fd, int err_fd, int timeout_ms, int *status);

#endif
