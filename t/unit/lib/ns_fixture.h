/* t/unit/lib/ns_fixture.h - what the namespace unit tests (t/unit/ns*.c)
 * share: a head db and a replica that applies every write set of it, one
 * operation per transaction, the clock, and helpers that look and check.
 *
 *	int main(void) {
 *		if (nsf_start(true))       // tmpdir, db and rep (formatted: the
 *			return nsf_done(); // root 0777), or a failed test
 *		OK(ns_mkdir(t, &root, NS_ROOT, "d", 0755, now, &res), "mkdir");
 *		nsf_close();               // rep's digest is db's, fsck clean
 *		return nsf_done();         // tmpdir removed; the TAP plan
 *	}
 *
 * TX(expr) runs expr in a write transaction of db (the clock moves on by
 * 1 us first, unless clock_held) and applies its write set to rep; OK()
 * wants it to succeed, FAILS() to fail with a given error having written
 * nothing, NEED() is a silent set-up step. Caveats: TX() does not nest; the
 * helpers assert on LMDB errors rather than report them; open_db() dbs are
 * in tmpdir and not synced.
 */
#ifndef T_UNIT_LIB_NS_FIXTURE_H
#define T_UNIT_LIB_NS_FIXTURE_H

#include "meta/db.h"
#include "meta/ns.h"

extern char tmpdir[];
extern struct meta_db *db, *rep; /* rep gets every write set of db */
extern struct meta_txn *t;
extern uint64_t now;
/* Set while attr() and ino_of() look: a look does not move the clock, so
 * a check after an operation compares its times against the operation's
 * `now`. */
extern bool clock_held;
extern uint32_t last_writes; /* entries of the last write set */
extern struct ns_res res;
extern char fsck_all[4096]; /* every problem of the last fsck_of() */

extern const struct ns_cred root, alice, bob, carol; /* alice, carol: staff */
#define STAFF 100

int nsf_start(bool formatted);
void nsf_close(void);
int nsf_done(void);

struct meta_db *open_db(const char *name, uint64_t map);
void tx_begin(void);
void tx_end(void);

#define TX(expr)                   \
	({                         \
		int rc_;           \
		tx_begin();        \
		rc_ = (int)(expr); \
		tx_end();          \
		rc_;               \
	})

/* An error, and nothing written (the contract for failed operations). */
#define FAILS(expr, want, name)                                              \
	do {                                                                 \
		int r_ = TX(expr);                                           \
		if (!ok(r_ == (want) && last_writes == 0, name))             \
			printf("#   got %d (%s), want %d; %u writes\n", r_,  \
			       fffs_strerror(r_), (int)(want), last_writes); \
	} while (0)

#define OK(expr, name)                                                      \
	do {                                                                \
		int r_ = TX(expr);                                          \
		if (!ok(r_ >= 0, name))                                     \
			printf("#   got %d (%s)\n", r_, fffs_strerror(r_)); \
	} while (0)

/* Setup steps: silent unless they fail. */
#define NEED(expr)                                                          \
	do {                                                                \
		int r_ = TX(expr);                                          \
		if (r_ < 0) {                                               \
			ok(0, #expr);                                       \
			printf("#   got %d (%s)\n", r_, fffs_strerror(r_)); \
		}                                                           \
	} while (0)

uint64_t mkdir_(const struct ns_cred *c, uint64_t parent, const char *name,
		uint32_t mode);
uint64_t creat_(const struct ns_cred *c, uint64_t parent, const char *name,
		uint32_t mode);
struct ns_attr attr(uint64_t ino);
/* The inode of parent/name (0 when there is none). */
uint64_t ino_of(uint64_t parent, const char *name);
void chmod_(uint64_t ino, uint32_t mode);
void chown_(uint64_t ino, uint32_t uid, uint32_t gid);
/* Problems fsck finds in d (printed when verbose; all in fsck_all). */
int fsck_of(struct meta_db *d, bool verbose, char *first, size_t cap);
bool attr_eq(const struct ns_attr *a, const struct ns_attr *b);
/* Every inode of r is what getattr says now. */
bool res_fresh(const struct ns_res *r);
/* Call ns_gc_next until nothing is due, each in its own transaction,
 * finishing every inode it gives; the largest write set in *maxw. */
int gc_drain(uint64_t when, uint32_t *maxw, int *calls);
/* Finish whatever gc holds, so that a test sees only its own. */
void gc_flush(void);
/* n bytes of 'n', NUL-terminated (the caller frees it). */
char *longname(size_t n);

#endif /* T_UNIT_LIB_NS_FIXTURE_H */
