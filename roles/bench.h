/* roles/bench.h - the parts of `fffs bench` (roles/bench*.c).
 *
 * bench.c parses the options into struct bench_args; bench_rpc.c runs the
 * RPC benchmark (server, client, verify and probe modes); bench_tcp.c the
 * plain-TCP baseline it is compared with; bench_chunk.c the chunk store
 * benchmark against fio, bench_chunk_check.c its test-driver modes
 * (roles/bench_chunk.h).
 */
#ifndef ROLES_BENCH_H
#define ROLES_BENCH_H

#include "fffs.h"

struct bench_args {
	const char *what; /* "rpc", "chunk" */
	const char *server, *connect;
	uint64_t concurrency, size, bulk_size, bulk_depth, duration_s;
	uint64_t requests, count, interval_ms, timeout_ms;
	bool verify, probe, json;
	/* chunk (size and duration default to 0 here: set per benchmark) */
	const char *dir, *journal, *check;
	uint64_t target, inode, depth, rand_depth, seed, chunks, rounds;
	uint64_t verify_n, read_chunk, chunk_size; /* chunk_size 0: default */
	bool storm, fill, space, read_chunk_set;
	/* chunk over chains (roles/bench_chain.c) */
	uint64_t table, writers, readers, write_chunk;
	const char *replication; /* "1,2,3": bench over own chains */
	const char *history;
	bool workload, verify_replicas, write_chunk_set;
	bool verify_takes_n; /* parsing: the word after --verify is N */
	/* meta (roles/bench_meta.c) */
	uint64_t clients, ops;
};

#define BENCH_MAX_ROUNDS 16

/* Latency samples of one phase. */
struct bench_lat {
	uint64_t *ns;
	size_t n, cap;
};

struct bench_result {
	const char *name; /* "small", "bulk-write", "bulk-read" */
	uint64_t ops, bytes, errors;
	double secs;
	double p50_us, p99_us;
};

int bench_rpc_server(const struct bench_args *a);
int bench_chunk(const struct bench_args *a);
/* bench chunk with --table: over the chains of a chain table. */
int bench_chain(const struct bench_args *a);
const char *bench_chain_check_args(const struct bench_args *a);
/* bench chunk --replication R,...: its own cluster, a chain each. */
int bench_replicas(const struct bench_args *a);
/* Why the options do not make a chunk run, or NULL. */
const char *bench_chunk_check_args(const struct bench_args *a);
int bench_rpc_client(const struct bench_args *a);
/* bench meta: namespace operations over the meta chain (roles/bench_meta.c). */
int bench_meta(const struct bench_args *a);

/* Plain blocking TCP over loopback, same sizes and depth. */
int bench_tcp_small(const struct bench_args *a, struct bench_result *r);
int bench_tcp_bulk(const struct bench_args *a, bool write,
		   struct bench_result *r);

void bench_lat_add(struct bench_lat *l, uint64_t ns);
/* Sort the samples and fill r's percentiles; frees the samples. */
void bench_lat_finish(struct bench_lat *l, struct bench_result *r);

#endif /* ROLES_BENCH_H */
