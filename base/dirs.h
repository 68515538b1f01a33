/* base/dirs.h - state directories: creating them and owning them.
 *
 *	int fd;
 *	if (dir_make(dir, err, errlen) || dir_own(dir, &fd, err, errlen))
 *		...                // err names the directory and the reason
 *	...
 *	close(fd);                 // or exit: the ownership goes with it
 *
 * dir_make() creates dir and its missing parents (mode 0700); a path that
 * exists and is not a directory is -ENOTDIR. dir_own() holds dir/owner.lock
 * with an exclusive flock(), so that two processes never work in one state
 * directory: the second gets -EBUSY and "state dir '...' is in use by
 * another process". flock locks belong to the open file: a second
 * dir_own() of the same directory in the same process is refused too.
 * dir_sync() fsync()s a directory, so that the names created, renamed or
 * removed in it so far survive a power loss: 0 or -errno.
 */
#ifndef BASE_DIRS_H
#define BASE_DIRS_H

#include "fffs.h"

int dir_make(const char *dir, char *err, size_t errlen);
int dir_own(const char *dir, int *fd, char *err, size_t errlen);
int dir_sync(const char *dir);

#endif /* BASE_DIRS_H */
