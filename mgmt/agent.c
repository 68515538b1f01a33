/* mgmt/agent.c - following mgmtd's routing info, and heartbeats that hold
 * a server's lease. */
#define LOG_SUBSYS "agent"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/metrics.h"
#include "mgmt/agent.h"
#include "mgmt/rtmetrics.h"
#include "net/pack.h"
#include "net/rpc.h"

#define HB_BODY (4 + 1 + 2 + RT_ADDR_MAX + 4 + AGENT_MAX_TARGETS * 25)

static struct {
	struct core *c;
	struct agent_params p;
	struct rpc_peer *peer;
	pthread_mutex_t mu;
	struct routing *cur; /* under mu */
	_Atomic uint64_t cur_version;
	/* the lease */
	_Atomic uint64_t last_ok_ns; /* send time of the last answered beat */
	_Atomic uint32_t lease_ms;
	_Atomic bool awaiting;	    /* lapsed: wait for fresh routing */
	_Atomic uint64_t regain_ns; /* when the lease came back */
	/* heartbeats */
	struct rpc_call hb;
	uint8_t hb_body[HB_BODY];
	uint64_t hb_sent;
	bool hb_busy, hb_down;
	struct loop_timer hb_timer;
	/* the long-poll, and immediate fetches */
	struct rpc_call poll, fetch;
	uint8_t poll_body[12], fetch_body[12];
	uint64_t poll_sent, fetch_sent;
	bool poll_busy, fetch_busy, fetch_again, poll_down;
	struct loop_timer poll_timer;
	struct loop_msg refresh_msg;
	atomic_bool refresh_posted;
} A;

/* ---- the current snapshot ----------------------------------------------- */

struct routing *agent_routing(void)
{
	struct routing *r;

	pthread_mutex_lock(&A.mu);
	r = A.cur ? routing_ref(A.cur) : NULL;
	pthread_mutex_unlock(&A.mu);
	return r;
}

uint64_t agent_routing_version(void)
{
	return atomic_load(&A.cur_version);
}

/* A routing answer: a newer snapshot replaces the current one. sent is
 * when the request left: an answer to a request sent after the lease came
 * back ends the wait for fresh routing. */
static void routing_arrived(const void *body, uint32_t len, uint64_t sent)
{
	struct routing *r, *old = NULL;

	if (routing_decode(body, len, &r)) {
		log_error("mgmtd %s sent malformed routing info (%u bytes)",
			  A.p.mgmtd, len);
		return;
	}
	if (r->version > atomic_load(&A.cur_version) || !A.cur) {
		pthread_mutex_lock(&A.mu);
		old = A.cur;
		A.cur = r;
		atomic_store(&A.cur_version, r->version);
		pthread_mutex_unlock(&A.mu);
		log_debug("routing version %llu",
			  (unsigned long long)r->version);
		if (A.p.changed)
			A.p.changed(A.p.arg, r);
	} else {
		old = r;
	}
	routing_unref(old);
	if (atomic_load(&A.awaiting) && sent >= atomic_load(&A.regain_ns))
		atomic_store(&A.awaiting, false);
}

/* Testing: a cut-off from mgmtd, on while agent_cut_file exists. */
static bool cut_off(void)
{
	const char *f = config_str(CFG_agent_cut_file);

	return *f && config_bool(CFG_debug_faults) && access(f, F_OK) == 0;
}

/* ---- fetching ------------------------------------------------------------ */

static void poll_start(struct core *c);
static void fetch_start(struct core *c);

static void outage(bool *down, const char *what, int status)
{
	if (status && !*down)
		log_warn("%s to mgmtd %s failed: %s; retrying", what, A.p.mgmtd,
			 fffs_strerror(status));
	else if (!status && *down)
		log_info("%s to mgmtd %s works again", what, A.p.mgmtd);
	*down = status != 0;
}

static void poll_done(struct core *c, struct rpc_call *call, int status,
		      const void *body, uint32_t len)
{
	A.poll_busy = false;
	if (loop_stopping(c))
		return;
	outage(&A.poll_down, "routing poll", status);
	if (!status)
		routing_arrived(body, len, A.poll_sent);
	if (status) /* do not spin on a dead mgmtd */
		return core_timer_add(
			c, &A.poll_timer,
			(uint64_t)config_int(CFG_rpc_reconnect_ms) * 1000000);
	poll_start(c);
}

static void call_send(struct core *c, struct rpc_call *call, uint8_t *body,
		      uint32_t wait_ms, rpc_done_cb done)
{
	struct pack pk;

	pack_init(&pk, body, 12);
	pack_u64(&pk, atomic_load(&A.cur_version));
	pack_u32(&pk, wait_ms);
	memset(call, 0, sizeof(*call));
	if (cut_off())
		pk.err = -ENETUNREACH; /* testing: fails below, sends nothing */
	call->type = MSG_ANY_MGMT_ROUTING;
	call->body = body;
	call->body_len = 12;
	call->timeout_ms = wait_ms + (uint32_t)config_int(CFG_rpc_timeout_ms);
	call->longpoll = wait_ms > 0;
	call->done = done;
	if (pk.err)
		return done(c, call, pk.err, NULL, 0);
	rpc_call_start(c, A.peer, call);
}

static void poll_start(struct core *c)
{
	if (A.poll_busy || loop_stopping(c))
		return;
	A.poll_busy = true;
	A.poll_sent = now_ns();
	call_send(c, &A.poll, A.poll_body,
		  (uint32_t)config_int(CFG_routing_poll_ms), poll_done);
}

static void poll_timer(struct core *c, struct loop_timer *t)
{
	poll_start(c);
}

static void fetch_done(struct core *c, struct rpc_call *call, int status,
		       const void *body, uint32_t len)
{
	A.fetch_busy = false;
	if (!status)
		routing_arrived(body, len, A.fetch_sent);
	if (A.fetch_again && !loop_stopping(c))
		fetch_start(c);
}

/* Ask for the routing info now, without waiting at mgmtd. */
static void fetch_start(struct core *c)
{
	if (A.fetch_busy) {
		A.fetch_again = true; /* once this one is back */
		return;
	}
	A.fetch_again = false;
	A.fetch_busy = true;
	A.fetch_sent = now_ns();
	call_send(c, &A.fetch, A.fetch_body, 0, fetch_done);
}

static void refresh_cb(struct core *c, struct loop_msg *m)
{
	atomic_store(&A.refresh_posted, false);
	if (!loop_stopping(c))
		fetch_start(c);
}

void agent_refresh(void)
{
	if (A.c && !atomic_exchange(&A.refresh_posted, true))
		core_post(A.c, &A.refresh_msg);
}

/* ---- heartbeats and the lease -------------------------------------------- */

bool agent_serving_allowed(void)
{
	uint64_t last = atomic_load(&A.last_ok_ns);
	uint64_t half = (uint64_t)atomic_load(&A.lease_ms) * 500000;

	if (!last || now_ns() - last >= half)
		return false;
	return !atomic_load(&A.awaiting);
}

uint32_t agent_lease_ms(void)
{
	return atomic_load(&A.lease_ms);
}

static void hb_answered(struct core *c, const void *body, uint32_t len)
{
	uint64_t prev = atomic_load(&A.last_ok_ns), version, half;
	struct unpack up;
	uint32_t lease;

	unpack_init(&up, body, len);
	version = unpack_u64(&up);
	lease = unpack_u32(&up);
	if (unpack_finish(&up) || !lease) {
		log_error("mgmtd %s sent a malformed heartbeat answer",
			  A.p.mgmtd);
		return;
	}
	half = (uint64_t)lease * 500000;
	if (!prev || A.hb_sent - prev >= half) {
		/* lapsed (or first): serve only on routing fetched from now */
		if (prev)
			log_warn("lease regained after %llu ms without one; "
				 "serving again once routing info is fresh",
				 (unsigned long long)((A.hb_sent - prev) /
						      1000000));
		atomic_store(&A.regain_ns, A.hb_sent);
		atomic_store(&A.awaiting, true);
		fetch_start(c);
	} else if (version > atomic_load(&A.cur_version)) {
		fetch_start(c);
	}
	atomic_store(&A.lease_ms, lease);
	atomic_store(&A.last_ok_ns, A.hb_sent);
}

static void hb_done(struct core *c, struct rpc_call *call, int status,
		    const void *body, uint32_t len)
{
	A.hb_busy = false;
	if (loop_stopping(c))
		return;
	outage(&A.hb_down, "heartbeat", status);
	if (!status)
		hb_answered(c, body, len);
}

static void hb_send(struct core *c)
{
	struct agent_report rep[AGENT_MAX_TARGETS];
	int n = A.p.report ? A.p.report(A.p.arg, rep, AGENT_MAX_TARGETS) : 0;
	struct pack pk;

	pack_init(&pk, A.hb_body, sizeof(A.hb_body));
	pack_u32(&pk, A.p.node_id);
	pack_u8(&pk, A.p.role);
	pack_str(&pk, A.p.addr);
	pack_u32(&pk, (uint32_t)n);
	for (int i = 0; i < n; i++) {
		pack_u64(&pk, rep[i].target);
		pack_u8(&pk, rep[i].lstate);
		pack_u64(&pk, rep[i].capacity);
		pack_u64(&pk, rep[i].used);
	}
	FFFS_ASSERT(!pk.err);
	memset(&A.hb, 0, sizeof(A.hb));
	A.hb.type = MSG_SRV_MGMT_HEARTBEAT;
	A.hb.body = A.hb_body;
	A.hb.body_len = (uint32_t)pack_len(&pk);
	A.hb.timeout_ms =
		(uint32_t)config_int(CFG_heartbeat_timeout_ms) / 4 + 1;
	A.hb.done = hb_done;
	A.hb_busy = true;
	A.hb_sent = now_ns();
	if (cut_off())
		return hb_done(c, &A.hb, -ENETUNREACH, NULL, 0);
	rpc_call_start(c, A.peer, &A.hb);
}

static void hb_timer(struct core *c, struct loop_timer *t)
{
	if (loop_stopping(c))
		return;
	if (!A.hb_busy)
		hb_send(c);
	core_timer_add(c, t,
		       (uint64_t)config_int(CFG_heartbeat_interval_ms) *
			       1000000);
}

/* ---- start --------------------------------------------------------------- */

/* Collector (the metrics thread): gauges of the current snapshot and of the
 * lease. */
static void agent_metrics(void *arg)
{
	struct routing *r = agent_routing();

	if (r)
		rtmetrics_export(r);
	routing_unref(r);
	if (A.p.heartbeat)
		metrics_set(metrics_get(metrics_family(
				    "fffs_lease_held", METRIC_GAUGE,
				    "1 while this server holds its lease "
				    "and may serve, else 0.",
				    NULL)),
			    agent_serving_allowed());
}

static void agent_on_stop(struct core *c, void *arg)
{
	core_timer_del(c, &A.hb_timer);
	core_timer_del(c, &A.poll_timer);
}

static void agent_on_exit(struct core *c, void *arg)
{
	pthread_mutex_lock(&A.mu);
	routing_unref(A.cur);
	A.cur = NULL;
	pthread_mutex_unlock(&A.mu);
}

int agent_start(struct core *c, const struct agent_params *p)
{
	char err[256];

	FFFS_ASSERT(!A.c && (!p->heartbeat || (p->node_id && p->addr[0])));
	A.p = *p;
	A.peer = rpc_peer_get(c, p->mgmtd, err, sizeof(err));
	if (!A.peer) {
		log_error("mgmtd: %s", err);
		return -EINVAL;
	}
	A.c = c;
	pthread_mutex_init(&A.mu, NULL);
	A.refresh_msg.cb = refresh_cb;
	core_timer_init(&A.poll_timer, poll_timer);
	core_timer_init(&A.hb_timer, hb_timer);
	core_on_stop(c, agent_on_stop, NULL);
	core_on_exit(c, agent_on_exit, NULL);
	metrics_collector_add(agent_metrics, NULL);
	if (p->heartbeat)
		hb_timer(c, &A.hb_timer);
	fetch_start(c); /* the first answer at once, then the long-poll */
	poll_start(c);
	return 0;
}

struct agent_launch {
	struct loop_msg m;
	struct agent_params p;
};

static void launch_go(struct core *c, struct loop_msg *m)
{
	struct agent_launch *a = fffs_container_of(m, struct agent_launch, m);

	if (agent_start(c, &a->p))
		loop_request_stop();
	free(a);
}

void agent_launch(const struct agent_params *p)
{
	struct agent_launch *a = xcalloc(1, sizeof(*a));

	a->p = *p;
	a->m.cb = launch_go;
	core_post(core_get(0), &a->m);
}

void agent_served_addr(struct agent_params *p, const char *listen)
{
	const char *colon = strrchr(listen, ':');

	snprintf(p->addr, sizeof(p->addr), "%.*s:%d",
		 (int)(colon ? colon - listen : (long)strlen(listen)), listen,
		 rpc_serve_port());
}
