/* base/dirs.c - creating state directories and holding them exclusively. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/dirs.h"

static int mkdir_one(const char *path)
{
	return mkdir(path, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

int dir_make(const char *dir, char *err, size_t errlen)
{
	char *path = xstrdup(dir);
	struct stat st;
	int rc = *path ? 0 : -EINVAL;

	for (char *p = path + 1; *p && !rc; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		rc = mkdir_one(path);
		*p = '/';
	}
	if (!rc)
		rc = mkdir_one(path);
	if (!rc && stat(path, &st) < 0)
		rc = -errno;
	else if (!rc && !S_ISDIR(st.st_mode))
		rc = -ENOTDIR;
	if (rc)
		snprintf(err, errlen, "cannot create state dir '%s': %s", dir,
			 fffs_strerror(rc));
	free(path);
	return rc;
}

int dir_own(const char *dir, int *fd, char *err, size_t errlen)
{
	char *path = xasprintf("%s/owner.lock", dir);
	int rc = 0;

	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open '%s': %s", path,
			 fffs_strerror(rc));
	} else if (flock(*fd, LOCK_EX | LOCK_NB)) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		if (rc == -EBUSY)
			snprintf(err, errlen,
				 "state dir '%s' is in use by another process",
				 dir);
		else
			snprintf(err, errlen, "cannot lock state dir '%s': %s",
				 dir, fffs_strerror(rc));
		close(*fd);
		*fd = -1;
	}
	free(path);
	return rc;
}

int dir_sync(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		rc = -errno;
	close(fd);
	return rc;
}
