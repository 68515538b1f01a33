/* roles/bench_chunk.h - what the two halves of `fffs bench chunk` share.
 *
 * roles/bench_chunk.c is the benchmark (its own storage server as a child
 * process, fio as the baseline, the three phases, the reports) and the
 * driver every mode runs on: one struct bench_drv per invocation, on the
 * last loop core, which connects, asks the server for its targets
 * (CLI_STOR_SPACE) and then starts the mode. roles/bench_chunk_check.c
 * holds the test-driver modes of the cluster tests: --verify, --storm,
 * --fill, --check, --space and --read-chunk.
 *
 * Calling sequence of a test mode, as bench_chunk.c drives it:
 *
 *	bench_chunk_mode_init(d);           // before the loops; -1: it said
 *	                                    // why on stderr
 *	bench_chunk_space_print(d, space);  // --space: the whole mode
 *	bench_chunk_mode_start(c, d);       // on the driver's core, once the
 *	                                    // space answer lists the target
 *	  ... bench_drv_finish(d, exit status) when the mode is over
 *	bench_chunk_mode_summary(d);        // after the loops stopped
 *	bench_chunk_mode_release(d);        // also after a failed _init
 *
 * Caveats: the modes run only on the driver's core and own d->v, d->s,
 * d->k and d->one; the benchmark owns the fields under "the benchmark".
 */
#ifndef ROLES_BENCH_CHUNK_H
#define ROLES_BENCH_CHUNK_H

#include "chain/storage_cli.h"
#include "roles/bench.h"

#define MIB	(1u << 20)
#define RAND_BS 4096u /* random reads; page alignment of test writes */

enum bench_mode {
	M_BENCH,
	M_VERIFY,
	M_STORM,
	M_FILL,
	M_CHECK,
	M_SPACE,
	M_READ_CHUNK
};
enum bench_phase { PH_WRITE, PH_READ, PH_RAND, PH__COUNT };
extern const char *const bench_phase_names[PH__COUNT];

/* Bytes of a target that holds size bytes of 1 MiB chunks. */
uint64_t bench_target_bytes(uint64_t size);

struct bslot;
struct bench_step;
struct fio_job;
struct verify;
struct storm;
struct check;

/* The client: one per invocation, on the last loop core. */
struct bench_drv {
	const struct bench_args *a;
	enum bench_mode mode;
	const char *uri;
	uint64_t target;
	struct rpc_peer *peer;
	struct stor_client cl;
	struct stor_space space;
	struct loop_msg start_msg;
	int exit_code;
	bool finished;
	uint64_t rng;
	/* the benchmark: a list of steps, each an fffs phase or a fio run */
	int phase;
	uint64_t nchunks, next, t_start, t_end;
	unsigned inflight, nslots;
	struct bslot *slots;
	struct bench_step *steps;
	unsigned step, nsteps;
	struct bench_result *res;      /* [round * PH__COUNT + phase]: fffs */
	struct bench_result *fio;      /* the same for fio */
	struct bench_result *fio_sync; /* [round]: fio writes with O_DSYNC */
	struct bench_result *fio_end;  /* [round]: ... with an fdatasync at the
					* end */
	struct bench_result *cur;      /* what the running fffs phase fills */
	struct bench_lat lat;
	struct fio_job *job; /* the fio run in progress, or NULL */
	struct stor_remove *removes;
	uint64_t cleanup_errors;
	/* the test modes */
	struct verify *v;
	struct storm *s;
	struct check *k;
	struct stor_read one;
};

/* The mode is over: stop the loops; the first exit status given wins. */
void bench_drv_finish(struct bench_drv *d, int code);

/* ---- deterministic data ---------------------------------------------- */

static inline uint64_t bench_mix64(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

static inline uint64_t bench_rng_next(uint64_t *s)
{
	*s += 0x9E3779B97F4A7C15ull;
	return bench_mix64(*s);
}

static inline uint64_t bench_rng_below(uint64_t *s, uint64_t n)
{
	return bench_rng_next(s) % n;
}

/* Bytes [pos, pos + len) of the stream named key: byte x is byte x % 8 of
 * bench_mix64(key + x / 8), so any range can be made without the rest. */
void bench_gen_fill(uint64_t key, uint64_t pos, uint8_t *dst, size_t len);

/* ---- the test modes (bench_chunk_check.c) ------------------------------ */

int bench_chunk_mode_init(struct bench_drv *d);
void bench_chunk_mode_start(struct core *c, struct bench_drv *d);
/* --space: print every target of the answer, then finish. */
void bench_chunk_space_print(struct bench_drv *d, const struct stor_space *s);
/* --storm, --fill: what it did, on stdout. */
void bench_chunk_mode_summary(const struct bench_drv *d);
void bench_chunk_mode_release(struct bench_drv *d);

#endif /* ROLES_BENCH_CHUNK_H */
