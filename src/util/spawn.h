/* spawn: run a program from an argv (execvp, never a shell). */
#ifndef VMTTY_SPAWN_H
#define VMTTY_SPAWN_H

#include <stdatomic.h>
#include <stddef.h>
#include <sys/types.h>

/* Run ARGV with stdin from /dev/null, stdout to OUT_FD and stderr to
 * ERR_FD (-1: /dev/null), every other fd closed; wait up to TIMEOUT_MS
 * (the child is killed after it).  *STATUS gets the exit code, or 128 +
 * signal.  0, or -1 + err (cannot run, or timed out). */
int spawn_wait(char *const argv[], int out_fd, int err_fd, int timeout_ms, int *status);

/* Run ARGV as spawn_wait does (stderr to /dev/null) and return all it
 * wrote to stdout (allocated, NUL-terminated), or NULL + err when it could
 * not run, timed out or exited with a status other than 0. */
char *spawn_output(char *const argv[], int timeout_ms);

/* Called with each piece of the child's stdout that ends in '\n' or '\r'
 * (progress lines such as qemu-img -p's), without the end. */
typedef void (*spawn_line_fn)(const char *line, void *arg);

/* Like spawn_wait, but stdout goes line by line to ON_LINE (may be NULL)
 * and the end of stderr (trimmed, at most ERRLEN - 1 bytes) into ERRBUF.
 * CANCEL (may be NULL) set from another thread stops the child within
 * about 0.1 s: -1 + err "cancelled". */
int spawn_capture(char *const argv[], spawn_line_fn on_line, void *arg, const atomic_bool *cancel,
    char *errbuf, size_t errlen, int timeout_ms, int *status);

/* Start ARGV in the background with stdin from IN_FD, stdout to OUT_FD and
 * stderr to ERR_FD (each -1: /dev/null), every other fd closed.  *PID gets
 * the child, which the caller reaps (waitpid).  0, or -1 + err (cannot
 * run it). */
int spawn_start(char *const argv[], int in_fd, int out_fd, int err_fd, pid_t *pid);

/* Start ARGV as a daemon, which outlives vmtty and is never its child (a
 * first child starts it in a session of its own and leaves): stdin from
 * /dev/null, stdout to OUT_FD and stderr to ERR_FD (each -1: /dev/null),
 * every other fd closed, working directory /, umask MASK from before its
 * exec (what it makes is born with it).  *PID gets the daemon's pid once
 * it has exec'd.  0, or -1 + err (cannot run it). */
int spawn_daemon(char *const argv[], int out_fd, int err_fd, mode_t mask, pid_t *pid);

/*
 * Make this process a subreaper (PR_SET_CHILD_SUBREAPER): the daemons it
 * starts with spawn_daemon (and whatever they leave running) become its
 * children when their first parents leave, so that their exit statuses
 * reach it.  It must then reap them: spawn_reap_adopted.  0, or -1 + err.
 */
int spawn_subreaper(void);

/* Told the wait STATUS of child PID, reaped. */
typedef void (*spawn_reaped_fn)(pid_t pid, int status, void *arg);
/* Reap the children this process adopted as a subreaper that have ended:
 * zombies of another session than ours (spawn_daemon's daemons and their
 * helpers), never a child a thread of ours forked and waits for itself.
 * FN (may be NULL) gets each.  How many were reaped. */
size_t spawn_reap_adopted(spawn_reaped_fn fn, void *arg);

/* A wait STATUS in words into BUF: "exited with status 1", "was killed
 * by signal 9 (SIGKILL)". */
void spawn_status_text(int status, char *buf, size_t len);

/* Keep the last ERRLEN - 1 bytes of a stream in ERRBUF (NUL-terminated),
 * *HAVE of them so far, after adding DATA (N bytes). */
void spawn_keep_tail(char *errbuf, size_t errlen, size_t *have, const char *data, size_t n);

#endif
