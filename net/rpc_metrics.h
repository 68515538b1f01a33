/* net/rpc_metrics.h - per message type RPC metrics, for net/rpc.c.
 *
 *	t0 = rpc_metrics_t0();        // at receipt / at the start of a call
 *	rpc_metrics_served(type, status, req_bytes, resp_bytes, t0);
 *	rpc_metrics_called(type, status, t0);
 *
 * Nothing is recorded while metrics are not enabled (no --metrics
 * endpoint): rpc_metrics_t0() is then 0 and costs no clock read, and the
 * others return at once for t0 == 0. Reading the clock is what would cost
 * (clock_gettime may be a system call on a VM).
 *
 * Server side, once per request when it is answered: requests, errors
 * (status < 0), request and response bytes (body + bulk) and the latency
 * from receipt (t0, now_ns()) to the reply. Client side, once per call
 * when done() runs: calls, failures (status < 0) and the latency from
 * rpc_call_start(). Label op is msg_name(type), or "UNKNOWN". Any thread;
 * lock-free after the first use of a type.
 */
#ifndef NET_RPC_METRICS_H
#define NET_RPC_METRICS_H

#include "base/metrics.h"
#include "fffs.h"

static inline uint64_t rpc_metrics_t0(void)
{
	return metrics_enabled() ? now_ns() : 0;
}

void rpc_metrics_served(unsigned type, int status, uint64_t req_bytes,
			uint64_t resp_bytes, uint64_t t0_ns);
void rpc_metrics_called(unsigned type, int status, uint64_t t0_ns);

#endif /* NET_RPC_METRICS_H */
