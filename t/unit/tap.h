/* t/unit/tap.h - minimal TAP producer for the unit test programs.
 *
 *	int main(void) {
 *		ok(1 + 1 == 2, "addition");
 *		is_int(f(), 0, "f succeeds");
 *		return done_testing();
 *	}
 * done_testing() prints the plan and returns non-zero if a test failed.
 */
#ifndef T_UNIT_TAP_H
#define T_UNIT_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Weak: a test program of several files (t/unit/lib/) counts in one. */
__attribute__((weak)) int tap_n, tap_failed;

static inline int tap_ok(int cond, const char *file, int line, const char *name)
{
	tap_n++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tap_n, name);
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return cond;
}

#define ok(cond, name) tap_ok(!!(cond), __FILE__, __LINE__, (name))

#define is_int(got, want, name)                                          \
	do {                                                             \
		long long g_ = (long long)(got), w_ = (long long)(want); \
		if (!tap_ok(g_ == w_, __FILE__, __LINE__, (name)))       \
			printf("#   got %lld, want %lld\n", g_, w_);     \
	} while (0)

#define is_str(got, want, name)                                              \
	do {                                                                 \
		const char *g_ = (got), *w_ = (want);                        \
		if (!tap_ok(g_ && w_ && !strcmp(g_, w_), __FILE__, __LINE__, \
			    (name)))                                         \
			printf("#   got '%s', want '%s'\n",                  \
			       g_ ? g_ : "(null)", w_ ? w_ : "(null)");      \
	} while (0)

static inline void diag(const char *msg)
{
	printf("# %s\n", msg);
}

static inline int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif /* T_UNIT_TAP_H */
