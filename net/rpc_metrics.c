/* net/rpc_metrics.c - requests, bytes and latency per message type. */
#define LOG_SUBSYS "rpc"
#include <stdatomic.h>
#include <stdlib.h>

#include "base/metrics.h"
#include "net/proto.h"
#include "net/rpc_metrics.h"

struct srv_m {
	struct metric *req, *err, *rx, *tx, *lat;
};

struct cli_m {
	struct metric *calls, *fail, *lat;
};

/* slot MSG__MAX: types out of range */
static _Atomic(struct srv_m *) srv[MSG__MAX + 1];
static _Atomic(struct cli_m *) cli[MSG__MAX + 1];

static unsigned slot(unsigned type)
{
	return type < MSG__MAX ? type : MSG__MAX;
}

static const char *op_name(unsigned type)
{
	const char *n = type < MSG__MAX ? msg_name(type) : NULL;

	return n ? n : "UNKNOWN";
}

static struct metric *fam(const char *name, enum metric_type t,
			  const char *help, unsigned type)
{
	return metrics_get(metrics_family(name, t, help, "op"), op_name(type));
}

/* First use of a type: get-or-create is idempotent, so a racing thread
 * builds the same pointers and the loser frees its copy. */
static struct srv_m *srv_get(unsigned type)
{
	struct srv_m *m = atomic_load_explicit(&srv[slot(type)],
					       memory_order_acquire),
		     *exp = NULL;

	if (fffs_likely(m != NULL))
		return m;
	m = xmalloc(sizeof(*m));
	m->req = fam("fffs_rpc_server_requests_total", METRIC_COUNTER,
		     "Requests answered, by message type.", type);
	m->err = fam("fffs_rpc_server_errors_total", METRIC_COUNTER,
		     "Requests answered with an error status.", type);
	m->rx = fam("fffs_rpc_server_request_bytes_total", METRIC_COUNTER,
		    "Bytes of request bodies and bulk received.", type);
	m->tx = fam("fffs_rpc_server_response_bytes_total", METRIC_COUNTER,
		    "Bytes of response bodies and bulk sent.", type);
	m->lat = fam("fffs_rpc_server_latency_seconds", METRIC_HISTOGRAM,
		     "Time from receipt of a request to its reply.", type);
	if (!atomic_compare_exchange_strong(&srv[slot(type)], &exp, m)) {
		free(m);
		m = exp;
	}
	return m;
}

static struct cli_m *cli_get(unsigned type)
{
	struct cli_m *m = atomic_load_explicit(&cli[slot(type)],
					       memory_order_acquire),
		     *exp = NULL;

	if (fffs_likely(m != NULL))
		return m;
	m = xmalloc(sizeof(*m));
	m->calls = fam("fffs_rpc_client_calls_total", METRIC_COUNTER,
		       "RPC calls completed, by message type.", type);
	m->fail = fam("fffs_rpc_client_failures_total", METRIC_COUNTER,
		      "RPC calls that failed (error status, timeout, "
		      "connection loss).",
		      type);
	m->lat = fam("fffs_rpc_client_latency_seconds", METRIC_HISTOGRAM,
		     "Time from the start of a call to its completion.", type);
	if (!atomic_compare_exchange_strong(&cli[slot(type)], &exp, m)) {
		free(m);
		m = exp;
	}
	return m;
}

void rpc_metrics_served(unsigned type, int status, uint64_t req_bytes,
			uint64_t resp_bytes, uint64_t t0_ns)
{
	struct srv_m *m;

	if (!t0_ns)
		return;
	m = srv_get(type);
	metrics_add(m->req, 1);
	if (status < 0)
		metrics_add(m->err, 1);
	metrics_add(m->rx, req_bytes);
	metrics_add(m->tx, resp_bytes);
	metrics_observe(m->lat, now_ns() - t0_ns);
}

void rpc_metrics_called(unsigned type, int status, uint64_t t0_ns)
{
	struct cli_m *m;

	if (!t0_ns)
		return;
	m = cli_get(type);
	metrics_add(m->calls, 1);
	if (status < 0)
		metrics_add(m->fail, 1);
	metrics_observe(m->lat, now_ns() - t0_ns);
}
