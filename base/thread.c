/* base/thread.c - helper threads that never take the process's signals. */
#include <pthread.h>
#include <signal.h>

#include "fffs.h"

int fffs_thread_start(pthread_t *t, const char *name, void *(*fn)(void *),
		      void *arg)
{
	sigset_t all, old;
	int rc;

	/* the new thread inherits the mask: block everything around the
	 * create, so that SIGTERM always reaches the thread that waits for
	 * it (net/loop.h loop_main) and never kills a helper */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = -pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!rc)
		pthread_setname_np(*t, name); /* at most 15 characters */
	return rc;
}
