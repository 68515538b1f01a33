/* base/fault.c - the switches and counters behind FAULT(). */
#define LOG_SUBSYS "fault"
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/fault.h"

bool fault_enabled;

static const char *const names[FP__COUNT] = {
#define FAULT_NAME(id, name, what) name,
	FAULT_POINTS(FAULT_NAME)
#undef FAULT_NAME
};

static unsigned every[FP__COUNT]; /* 0: off */
static atomic_uint passes[FP__COUNT];

static int fault_find(const char *name, size_t len)
{
	for (int i = 0; i < FP__COUNT; i++)
		if (strlen(names[i]) == len && !strncmp(names[i], name, len))
			return i;
	return -1;
}

/* One "name" or "name=N" item of the faults key. */
static int fault_item(const char *item, size_t len, char *err, size_t errlen)
{
	const char *eq = memchr(item, '=', len);
	size_t nlen = eq ? (size_t)(eq - item) : len;
	int fp = fault_find(item, nlen);
	unsigned long n = 1;
	char *end;

	if (fp < 0) {
		snprintf(err, errlen,
			 "config key 'faults': unknown fault "
			 "point '%.*s'",
			 (int)nlen, item);
		return -FFFS_ECONFIG;
	}
	if (eq) {
		n = strtoul(eq + 1, &end, 10);
		if (end != item + len || n == 0 || n > 1000000000) {
			snprintf(err, errlen,
				 "config key 'faults': '%.*s' wants "
				 "name=N with N in 1..1000000000",
				 (int)len, item);
			return -FFFS_ECONFIG;
		}
	}
	every[fp] = (unsigned)n;
	return 0;
}

int fault_setup(char *err, size_t errlen)
{
	const char *s = config_str(CFG_faults);
	int rc;

	memset(every, 0, sizeof(every));
	fault_enabled = false;
	if (!*s)
		return 0;
	if (!config_bool(CFG_debug_faults)) {
		snprintf(err, errlen,
			 "config key 'faults' is set but "
			 "'debug_faults' is false");
		return -FFFS_ECONFIG;
	}
	while (*s) {
		size_t len = strcspn(s, ",");

		if (len && (rc = fault_item(s, len, err, errlen)))
			return rc;
		s += len + (s[len] == ',');
	}
	for (int i = 0; i < FP__COUNT; i++)
		if (every[i])
			log_warn("fault point '%s' is on (every %u passes)",
				 names[i], every[i]);
	fault_enabled = true;
	return 0;
}

bool fault_hit(enum fault_point fp)
{
	if (!every[fp])
		return false;
	return (atomic_fetch_add(&passes[fp], 1) + 1) % every[fp] == 0;
}
