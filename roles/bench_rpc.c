/* roles/bench_rpc.c - `fffs bench rpc`: the RPC layer against plain TCP,
 * plus the verify and probe client modes the cluster tests use. */
#define LOG_SUBSYS "bench"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "net/iobuf.h"
#include "net/pack.h"
#include "net/rpc.h"
#include "roles/bench.h"

#define SERVER_BULK_MAX (64u << 20) /* largest bulk the echo server sends */
#define VERIFY_DATA_MAX 200
#define VERIFY_BULK_MAX (128u << 10)

enum phase { PH_SMALL, PH_BULK_WRITE, PH_BULK_READ, PH__COUNT };
static const char *const phase_names[PH__COUNT] = { "small", "bulk-write",
						    "bulk-read" };

struct slot {
	struct rpc_call call;
	struct driver *d;
	uint64_t t0, idx;
	uint8_t *body, *req_bulk, *resp_bulk;
};

struct driver {
	const struct bench_args *a;
	const char *uri;
	struct rpc_peer *peer;
	struct slot *slots;
	unsigned nslots, inflight;
	int phase;
	uint64_t t_start, t_end;
	struct bench_result res[PH__COUNT];
	struct bench_lat lat;
	uint8_t *bulk;	   /* shared request bulk of the bulk-write phase */
	uint64_t next_idx; /* verify: next request index */
	uint8_t *seen;	   /* verify: answered once? */
	uint64_t verified, failed;
	int exit_code;
	struct loop_msg start_msg;
	struct loop_timer timer;
	struct rpc_call ping; /* warm-up, and each --probe */
	uint8_t ping_body[8];
	uint64_t ping_t0, pings;
};

static uint8_t *server_bulk; /* zeroes, read-only once serving */

/* ---- the server
 * -------------------------------------------------------------- */

static int h_echo(struct core *c, struct rpc_req *req)
{
	return rpc_echo(c, req, server_bulk, SERVER_BULK_MAX);
}

static const struct rpc_handler bench_handlers[MSG__MAX] = {
	RPC_HANDLER(PEER_SRV_PING, rpc_handle_ping),
	RPC_HANDLER(BENCH_SRV_ECHO, h_echo),
};

static int serve(const char *uri)
{
	char err[512];
	int rc;

	server_bulk = xcalloc(1, SERVER_BULK_MAX);
	rc = rpc_serve(uri, bench_handlers, err, sizeof(err));
	if (rc)
		fprintf(stderr, "fffs bench: %s\n", err);
	return rc;
}

static void core_init(struct core *c, void *arg)
{
	iobuf_register(c);
}

/* Request bulk lands in the registered arena, as on a storage server. */
static int server_loops(void)
{
	int n = (int)config_int(CFG_cores);
	int rc = iobuf_setup(n, (size_t)config_int(CFG_io_buffer_size));

	if (!rc)
		rc = loop_start(n, core_init, NULL);
	rpc_use_iobuf(true);
	return rc;
}

int bench_rpc_server(const struct bench_args *a)
{
	int rc = server_loops();

	if (rc) {
		fprintf(stderr, "fffs bench: cannot start event loops: %s\n",
			fffs_strerror(rc));
		return 1;
	}
	if (serve(a->server)) {
		loop_request_stop();
		loop_main();
		return 1;
	}
	printf("serving on port %d\n", rpc_serve_port());
	fflush(stdout);
	loop_main();
	free(server_bulk);
	return 0;
}

/* ---- the client
 * ---------------------------------------------------------------- */

static void driver_finish(struct driver *d, int code)
{
	d->exit_code = code;
	loop_request_stop();
}

static uint64_t mix64(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

/* Request i of --verify: its data and, for one in 8, an echoed bulk. */
static uint32_t verify_data(uint64_t i, uint8_t *data, uint32_t *blen)
{
	uint64_t r = mix64(i);
	uint32_t dlen = 1 + (uint32_t)(r % VERIFY_DATA_MAX);

	for (uint32_t k = 0; k < dlen; k++)
		data[k] = (uint8_t)(mix64(r + k) >> 24);
	*blen = (r >> 40) % 8 == 0 ? 1 + (uint32_t)((r >> 16) % VERIFY_BULK_MAX)
				   : 0;
	return dlen;
}

static void slot_done(struct core *c, struct rpc_call *call, int status,
		      const void *body, uint32_t len);

static void slot_prepare(struct driver *d, struct slot *s)
{
	const struct bench_args *a = d->a;
	uint8_t data[VERIFY_DATA_MAX];
	uint32_t dlen = 0, blen = 0, rbl = 0;
	struct pack pk;

	memset(&s->call, 0, sizeof(s->call));
	s->call.type = MSG_BENCH_SRV_ECHO;
	s->call.done = slot_done;
	s->call.timeout_ms = (uint32_t)a->timeout_ms;
	if (a->verify) {
		s->idx = d->next_idx++;
		dlen = verify_data(s->idx, data, &blen);
		for (uint32_t k = 0; k < blen; k++)
			s->req_bulk[k] = (uint8_t)(s->idx * 7 + k * 31);
		rbl = blen;
		s->call.bulk = s->req_bulk;
		s->call.bulk_len = blen;
	} else if (d->phase == PH_SMALL) {
		dlen = (uint32_t)a->size; /* body is zeroes */
	} else if (d->phase == PH_BULK_WRITE) {
		s->call.bulk = d->bulk;
		s->call.bulk_len = (uint32_t)a->bulk_size;
	} else {
		rbl = (uint32_t)a->bulk_size;
	}
	s->call.resp_bulk = s->resp_bulk;
	s->call.resp_bulk_cap = rbl;
	pack_init(&pk, s->body, 8 + dlen);
	pack_u32(&pk, rbl);
	if (a->verify)
		pack_blob(&pk, data, dlen);
	else
		pack_u32(&pk, dlen);
	s->call.body = s->body;
	s->call.body_len = 8 + dlen;
}

static void slot_fire(struct core *c, struct driver *d, struct slot *s)
{
	int rc;

	slot_prepare(d, s);
	s->t0 = now_ns();
	rc = rpc_call_start(c, d->peer, &s->call);
	if (rc) {
		log_error("cannot start request: %s", fffs_strerror(rc));
		return driver_finish(d, 1);
	}
	d->inflight++;
}

static bool verify_reply(struct driver *d, struct slot *s, int status,
			 const void *body, uint32_t len)
{
	uint8_t want[VERIFY_DATA_MAX];
	uint32_t wlen, blen, glen;
	const void *got;
	struct unpack up;

	if (status) {
		log_error("request %llu failed: %s", (unsigned long long)s->idx,
			  fffs_strerror(status));
		return false;
	}
	if (d->seen[s->idx]++) {
		log_error("request %llu answered twice",
			  (unsigned long long)s->idx);
		return false;
	}
	wlen = verify_data(s->idx, want, &blen);
	unpack_init(&up, body, len);
	unpack_blob(&up, &got, &glen);
	if (unpack_finish(&up) || glen != wlen || memcmp(got, want, wlen) ||
	    s->call.resp_bulk_len != blen ||
	    memcmp(s->resp_bulk, s->req_bulk, blen)) {
		log_error("request %llu: wrong reply (%u data bytes, %u bulk "
			  "bytes)",
			  (unsigned long long)s->idx, glen,
			  s->call.resp_bulk_len);
		return false;
	}
	return true;
}

static void phase_start(struct core *c, struct driver *d);

static void phase_end(struct core *c, struct driver *d)
{
	struct bench_result *r = &d->res[d->phase];

	if (d->a->verify) {
		printf("verified %llu/%llu replies, %llu failed\n",
		       (unsigned long long)d->verified,
		       (unsigned long long)d->a->requests,
		       (unsigned long long)d->failed);
		return driver_finish(
			d, d->verified == d->a->requests && !d->failed ? 0 : 1);
	}
	r->secs = (double)(now_ns() - d->t_start) / 1e9;
	bench_lat_finish(&d->lat, r);
	if (++d->phase < PH__COUNT)
		return phase_start(c, d);
	driver_finish(d, 0);
}

static void slot_done(struct core *c, struct rpc_call *call, int status,
		      const void *body, uint32_t len)
{
	struct slot *s = fffs_container_of(call, struct slot, call);
	struct driver *d = s->d;
	struct bench_result *r = &d->res[d->phase];
	uint64_t now = now_ns();

	d->inflight--;
	if (d->a->verify) {
		if (verify_reply(d, s, status, body, len))
			d->verified++;
		else
			d->failed++;
	} else if (status) {
		if (r->errors++ < 5)
			log_error("%s request failed: %s",
				  phase_names[d->phase], fffs_strerror(status));
	} else {
		r->ops++;
		r->bytes += d->phase == PH_SMALL ? d->a->size : d->a->bulk_size;
		bench_lat_add(&d->lat, now - s->t0);
	}
	if (loop_stopping(c))
		return;
	if (d->a->verify ? d->next_idx < d->a->requests : now < d->t_end)
		return slot_fire(c, d, s);
	if (d->inflight == 0)
		phase_end(c, d);
}

static void phase_start(struct core *c, struct driver *d)
{
	const struct bench_args *a = d->a;
	unsigned n =
		(unsigned)(a->verify || d->phase == PH_SMALL ? a->concurrency
							     : a->bulk_depth);

	d->t_start = now_ns();
	d->t_end = d->t_start + a->duration_s * 1000000000ull;
	for (unsigned i = 0; i < n && i < d->nslots; i++) {
		if (a->verify && d->next_idx >= a->requests)
			break;
		slot_fire(c, d, &d->slots[i]);
	}
}

/* ---- pings: the warm-up and --probe
 * ------------------------------------------ */

static void ping_done(struct core *c, struct rpc_call *call, int status,
		      const void *body, uint32_t len);

static void ping_send(struct core *c, struct driver *d)
{
	struct pack pk;
	int rc;

	memset(&d->ping, 0, sizeof(d->ping));
	pack_init(&pk, d->ping_body, sizeof(d->ping_body));
	pack_u64(&pk, ++d->pings);
	d->ping.type = MSG_PEER_SRV_PING;
	d->ping.body = d->ping_body;
	d->ping.body_len = (uint32_t)pack_len(&pk);
	d->ping.timeout_ms = (uint32_t)d->a->timeout_ms;
	d->ping.done = ping_done;
	d->ping_t0 = now_ns();
	rc = rpc_call_start(c, d->peer, &d->ping);
	if (rc)
		driver_finish(d, 1);
}

static void ping_timer(struct core *c, struct loop_timer *t)
{
	ping_send(c, fffs_container_of(t, struct driver, timer));
}

static void ping_done(struct core *c, struct rpc_call *call, int status,
		      const void *body, uint32_t len)
{
	struct driver *d = fffs_container_of(call, struct driver, ping);
	double ms = (double)(now_ns() - d->ping_t0) / 1e6;

	if (!d->a->probe) {
		if (!status)
			return phase_start(c, d);
		fprintf(stderr, "fffs bench: cannot reach %s: %s\n", d->uri,
			fffs_strerror(status));
		return driver_finish(d, 1);
	}
	if (status)
		printf("ping %llu: failed after %.1f ms: %s\n",
		       (unsigned long long)d->pings, ms, fffs_strerror(status));
	else
		printf("ping %llu: ok in %.2f ms\n",
		       (unsigned long long)d->pings, ms);
	fflush(stdout);
	if (d->pings >= d->a->count)
		return driver_finish(d, status ? 1 : 0);
	core_timer_add(c, &d->timer, d->a->interval_ms * 1000000);
}

/* ---- setting up and reporting
 * -------------------------------------------------- */

static void driver_start(struct core *c, struct loop_msg *m)
{
	struct driver *d = fffs_container_of(m, struct driver, start_msg);
	char err[512];

	d->peer = rpc_peer_get(c, d->uri, err, sizeof(err));
	if (!d->peer) {
		fprintf(stderr, "fffs bench: %s\n", err);
		return driver_finish(d, 2);
	}
	core_timer_init(&d->timer, ping_timer);
	if (d->a->verify)
		return phase_start(c, d);
	ping_send(c, d);
}

static void driver_init(struct driver *d, const struct bench_args *a)
{
	size_t body =
		8 + (a->size > VERIFY_DATA_MAX ? a->size : VERIFY_DATA_MAX);
	size_t rbl = a->verify ? VERIFY_BULK_MAX : a->bulk_size;

	d->a = a;
	d->nslots = (unsigned)(a->concurrency > a->bulk_depth ? a->concurrency
							      : a->bulk_depth);
	d->slots = xcalloc(d->nslots, sizeof(*d->slots));
	for (unsigned i = 0; i < d->nslots; i++) {
		struct slot *s = &d->slots[i];

		s->d = d;
		s->body = xcalloc(1, body);
		s->resp_bulk = xaligned_alloc(4096, rbl);
		s->req_bulk = a->verify ? xaligned_alloc(4096, rbl) : NULL;
	}
	if (!a->verify && !a->probe)
		d->bulk = xcalloc(1, a->bulk_size);
	if (a->verify)
		d->seen = xcalloc(1, a->requests);
	d->start_msg.cb = driver_start;
}

static void driver_release(struct driver *d)
{
	for (unsigned i = 0; i < d->nslots; i++) {
		free(d->slots[i].body);
		free(d->slots[i].resp_bulk);
		free(d->slots[i].req_bulk);
	}
	free(d->slots);
	free(d->bulk);
	free(d->seen);
	free(d->lat.ns);
}

static double rate(const struct bench_result *r, bool bytes)
{
	double v = bytes ? (double)r->bytes : (double)r->ops;

	return r->secs > 0 ? v / r->secs : 0;
}

static void report_text(const struct bench_args *a, const struct driver *d,
			const struct bench_result *base)
{
	printf("fffs bench rpc: 1 connection, %lld cores, %llu s per phase\n",
	       (long long)config_int(CFG_cores),
	       (unsigned long long)a->duration_s);
	printf("%-12s %-40s %-40s %s\n", "phase", "fffs rpc", "plain tcp",
	       "ratio");
	for (int i = 0; i < PH__COUNT; i++) {
		const struct bench_result *f = &d->res[i], *t = &base[i];
		bool bytes = i != PH_SMALL;
		char fs[64], ts[64];

		snprintf(fs, sizeof(fs), bytes ? "%.0f MB/s" : "%.0f req/s",
			 rate(f, bytes) / (bytes ? 1e6 : 1));
		snprintf(ts, sizeof(ts), bytes ? "%.0f MB/s" : "%.0f req/s",
			 rate(t, bytes) / (bytes ? 1e6 : 1));
		printf("%-12s %-14s p50 %7.1fus p99 %7.1fus %-14s p50 "
		       "%7.1fus p99 %7.1fus %.2f\n",
		       phase_names[i], fs, f->p50_us, f->p99_us, ts, t->p50_us,
		       t->p99_us,
		       rate(t, bytes) > 0 ? rate(f, bytes) / rate(t, bytes)
					  : 0);
		if (f->errors)
			printf("%-12s %llu requests failed\n", "",
			       (unsigned long long)f->errors);
	}
	printf("small: %llu B x %llu in flight; bulk: %llu B x %llu in "
	       "flight\n",
	       (unsigned long long)a->size, (unsigned long long)a->concurrency,
	       (unsigned long long)a->bulk_size,
	       (unsigned long long)a->bulk_depth);
}

static cJSON *result_json(const struct bench_result *r, bool bytes)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "ops", (double)r->ops);
	cJSON_AddNumberToObject(o, "errors", (double)r->errors);
	cJSON_AddNumberToObject(o, "seconds", r->secs);
	cJSON_AddNumberToObject(o, bytes ? "bytes_per_s" : "ops_per_s",
				rate(r, bytes));
	cJSON_AddNumberToObject(o, "p50_us", r->p50_us);
	cJSON_AddNumberToObject(o, "p99_us", r->p99_us);
	return o;
}

static void report_json(const struct bench_args *a, const struct driver *d,
			const struct bench_result *base)
{
	cJSON *root = cJSON_CreateObject(), *arr = cJSON_CreateArray();
	char *s;

	cJSON_AddStringToObject(root, "benchmark", "rpc");
	cJSON_AddNumberToObject(root, "cores", (double)config_int(CFG_cores));
	cJSON_AddNumberToObject(root, "size", (double)a->size);
	cJSON_AddNumberToObject(root, "concurrency", (double)a->concurrency);
	cJSON_AddNumberToObject(root, "bulk_size", (double)a->bulk_size);
	cJSON_AddNumberToObject(root, "bulk_depth", (double)a->bulk_depth);
	for (int i = 0; i < PH__COUNT; i++) {
		cJSON *o = cJSON_CreateObject();
		bool bytes = i != PH_SMALL;
		double t = rate(&base[i], bytes);

		cJSON_AddStringToObject(o, "phase", phase_names[i]);
		cJSON_AddItemToObject(o, "fffs",
				      result_json(&d->res[i], bytes));
		cJSON_AddItemToObject(o, "tcp", result_json(&base[i], bytes));
		cJSON_AddNumberToObject(
			o, "ratio", t > 0 ? rate(&d->res[i], bytes) / t : 0);
		cJSON_AddItemToArray(arr, o);
	}
	cJSON_AddItemToObject(root, "phases", arr);
	s = cJSON_Print(root);
	printf("%s\n", s);
	free(s);
	cJSON_Delete(root);
}

static int run_baseline(const struct bench_args *a, struct bench_result *base)
{
	int rc = bench_tcp_small(a, &base[PH_SMALL]);

	if (!rc)
		rc = bench_tcp_bulk(a, true, &base[PH_BULK_WRITE]);
	if (!rc)
		rc = bench_tcp_bulk(a, false, &base[PH_BULK_READ]);
	if (rc)
		fprintf(stderr, "fffs bench: plain tcp baseline failed: %s\n",
			fffs_strerror(rc));
	return rc;
}

/* Start the loops; in-process mode also serves, on core 0, and drives
 * from the last core. */
static int client_loops(struct driver *d, char *uri, size_t urilen)
{
	char err[64];
	int rc;

	if (!d->a->connect && config_int(CFG_cores) < 2)
		config_set("cores", "2", err, sizeof(err));
	rc = d->a->connect ? loop_start((int)config_int(CFG_cores), NULL, NULL)
			   : server_loops();
	if (rc) {
		fprintf(stderr, "fffs bench: cannot start event loops: %s\n",
			fffs_strerror(rc));
		return rc;
	}
	if (!d->a->connect) {
		rc = serve("tcp://127.0.0.1:0");
		if (rc) {
			loop_request_stop();
			loop_main();
			return rc;
		}
		snprintf(uri, urilen, "tcp://127.0.0.1:%d", rpc_serve_port());
	}
	d->uri = d->a->connect ? d->a->connect : uri;
	core_post(core_get(core_count() - 1), &d->start_msg);
	return 0;
}

int bench_rpc_client(const struct bench_args *a)
{
	struct bench_result base[PH__COUNT] = { { 0 } };
	struct driver d = { 0 };
	char uri[64];
	int rc;

	driver_init(&d, a);
	if (client_loops(&d, uri, sizeof(uri))) {
		driver_release(&d);
		return 1;
	}
	loop_main();
	rc = d.exit_code;
	if (!rc && !a->verify && !a->probe && !run_baseline(a, base)) {
		if (a->json)
			report_json(a, &d, base);
		else
			report_text(a, &d, base);
		for (int i = 0; i < PH__COUNT; i++)
			if (d.res[i].errors)
				rc = 1;
	} else if (!rc && !a->verify && !a->probe) {
		rc = 1;
	}
	driver_release(&d);
	free(server_bulk);
	return rc;
}
