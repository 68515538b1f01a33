/* base/log.c - the one logger: "TIME ROLE[PID]/cN SUBSYS LEVEL: message". */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "fffs.h"

int log_level_cur = LOGL_INFO;
__thread int log_core_id = -1;

static char log_role[16] = "fffs";

static const char *const level_names[] = {
	[LOGL_ERROR] = "error", [LOGL_WARN] = "warn",	[LOGL_INFO] = "info",
	[LOGL_DEBUG] = "debug", [LOGL_TRACE] = "trace",
};

void log_set_role(const char *role)
{
	snprintf(log_role, sizeof(log_role), "%s", role);
}

int log_level_parse(const char *name)
{
	for (size_t i = 0; i < FFFS_ARRAY_LEN(level_names); i++)
		if (!strcmp(name, level_names[i]))
			return (int)i;
	return -EINVAL;
}

const char *log_level_name(int level)
{
	if (level < 0 || level >= (int)FFFS_ARRAY_LEN(level_names))
		return "?";
	return level_names[level];
}

void log_emit(int level, const char *subsys, const char *fmt, ...)
{
	char line[1024], core[16];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	int n, saved = errno;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	if (log_core_id >= 0)
		snprintf(core, sizeof(core), "/c%d", log_core_id);
	else
		core[0] = 0;
	n = snprintf(line, sizeof(line),
		     "%02d:%02d:%02d.%03ld %s[%d]%s %s %s: ", tm.tm_hour,
		     tm.tm_min, tm.tm_sec, (long)tv.tv_usec / 1000, log_role,
		     (int)getpid(), core, subsys, log_level_name(level));
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(line))
		n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line, so lines of different threads do not mix. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
	errno = saved;
}
