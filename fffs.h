/* fffs.h - shared basics every fffs file includes: error codes, asserts,
 * logging, allocation and clocks.
 *
 * Calling conventions used everywhere:
 *  - a function that can fail returns int: 0 (or a count) on success, a
 *    negative errno or a negative FFFS_E* code on failure;
 *  - fffs_strerror() names either kind;
 *  - FFFS_ASSERT() stays on in release builds and aborts with file:line;
 *  - x*alloc() never return NULL (they abort with a message instead);
 *  - each .c defines LOG_SUBSYS before including this header, so every log
 *    line names role, core and subsystem.
 */
#ifndef FFFS_H
#define FFFS_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define FFFS_VERSION "0.1.0"

/* fffs-specific error codes: X(NAME, number, message). Returned negated,
 * like errno values; numbers sit above the errno range. */
#define FFFS_ERRORS(X)                                       \
	X(EBADFRAME, 2001, "malformed frame")                \
	X(ETOOBIG, 2002, "frame exceeds size limit")         \
	X(EBADVERSION, 2003, "unsupported protocol version") \
	X(EBADCLUSTER, 2004, "wrong cluster id")             \
	X(EAUTH, 2005, "authentication failed")              \
	X(ECRC, 2006, "checksum mismatch")                   \
	X(EUNKNOWNMSG, 2007, "unknown message type")         \
	X(ECONFIG, 2008, "invalid configuration")            \
	X(ESHUTDOWN, 2009, "shutting down")                  \
	X(ECHAINVER, 2010, "chain version mismatch")         \
	X(ENOTSERVING, 2011, "target not serving")           \
	X(EREMOTE, 2012, "remote error")                     \
	X(EVERSION, 2013, "chunk version mismatch")          \
	X(ENOTHEAD, 2014, "not the head of the chain")       \
	X(EFENCED, 2015, "lease lost: not serving")          \
	X(EDIRTY, 2016, "a write is pending here: ask the tail")

enum fffs_error {
	FFFS_ERRBASE = 2000,
#define FFFS_ERR_ENUM(name, num, msg) FFFS_##name = num,
	FFFS_ERRORS(FFFS_ERR_ENUM)
#undef FFFS_ERR_ENUM
};

/* Message for a negative (or positive) errno or FFFS_E* code. Never NULL. */
const char *fffs_strerror(int err);

/* ---- asserts ---------------------------------------------------------- */

_Noreturn void fffs_assert_fail(const char *expr, const char *file, int line,
				const char *func);

#define FFFS_ASSERT(cond)                                                      \
	do {                                                                   \
		if (__builtin_expect(!(cond), 0))                              \
			fffs_assert_fail(#cond, __FILE__, __LINE__, __func__); \
	} while (0)

#define FFFS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define FFFS_UNUSED	  __attribute__((unused))
#define FFFS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define fffs_likely(x)	  __builtin_expect(!!(x), 1)
#define fffs_unlikely(x)  __builtin_expect(!!(x), 0)
#define fffs_container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))

/* ---- logging ---------------------------------------------------------- */

enum log_level {
	LOGL_ERROR = 0,
	LOGL_WARN,
	LOGL_INFO,
	LOGL_DEBUG,
	LOGL_TRACE,
};

extern int log_level_cur;	 /* lines above this level are skipped */
extern __thread int log_core_id; /* -1 outside loop threads */

void log_set_role(const char *role);   /* "storage", "bench", ... */
int log_level_parse(const char *name); /* "info" -> LOGL_INFO, or -EINVAL */
const char *log_level_name(int level);
void log_emit(int level, const char *subsys, const char *fmt, ...)
	FFFS_PRINTF(3, 4);

#ifndef LOG_SUBSYS
#define LOG_SUBSYS "fffs"
#endif

/* Arguments are evaluated only when the level is enabled. */
#define log_at(lvl, ...)                                          \
	do {                                                      \
		if ((lvl) <= log_level_cur)                       \
			log_emit((lvl), LOG_SUBSYS, __VA_ARGS__); \
	} while (0)
#define log_error(...) log_at(LOGL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_at(LOGL_WARN, __VA_ARGS__)
#define log_info(...)  log_at(LOGL_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOGL_DEBUG, __VA_ARGS__)
#define log_trace(...) log_at(LOGL_TRACE, __VA_ARGS__)

/* ---- allocation (abort on exhaustion) --------------------------------- */

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Aligned allocation; free with free(). align is a power of two. */
void *xaligned_alloc(size_t align, size_t n);
/* snprintf into a new string. */
char *xasprintf(const char *fmt, ...) FFFS_PRINTF(1, 2);

/* ---- threads ---------------------------------------------------------- */

#include <pthread.h>

/* pthread_create() with every signal blocked in the new thread, so that
 * signals meant for the process (SIGTERM) never land on a helper; the
 * thread is named `name` (at most 15 characters: top -H, perf, gdb). 0 or
 * a negative errno. */
int fffs_thread_start(pthread_t *t, const char *name, void *(*fn)(void *),
		      void *arg);

/* ---- clocks ----------------------------------------------------------- */

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t now_ms(void)
{
	return now_ns() / 1000000ull;
}

#endif /* FFFS_H */
