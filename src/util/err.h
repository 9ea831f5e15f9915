/* err: the last error of the calling thread, as one whole sentence for the
 * user.  Functions return -1 (or NULL) after err_set(); callers show
 * err_get().  Like errno, it is per thread, so backend worker threads keep
 * their own. */
#ifndef VMTTY_ERR_H
#define VMTTY_ERR_H

/* Set the message; returns -1 so that "return err_set(...)" reads well. */
int err_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prefix the current message with more context: "context: old message". */
int err_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *err_get(void);
void err_clear(void);

#endif
