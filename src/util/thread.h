/* thread: worker threads that never take the program's signals. */
#ifndef VMTTY_THREAD_H
#define VMTTY_THREAD_H

#include <pthread.h>

/* pthread_create with every signal blocked in the new thread (it inherits
 * the mask it is created under), so SIGWINCH, SIGCHLD and SIGTERM reach the
 * UI thread, whose handlers only set flags for its loop.  0 or an errno
 * value, as pthread_create. */
int thread_start(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);

#endif
