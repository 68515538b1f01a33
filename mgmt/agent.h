/* mgmt/agent.h - a process's link to mgmtd: it follows the routing info
 * (every process), and for servers it heartbeats and holds the lease.
 *
 *	struct agent_params p = { .mgmtd = "tcp://10.0.0.1:8000", ... };
 *	agent_start(core_get(0), &p);    // on that core, once the loops run
 *	r = agent_routing();             // any thread: a reference, or NULL
 *	...
 *	routing_unref(r);
 *	if (!agent_serving_allowed())    // servers, any thread, per request
 *		return -FFFS_EFENCED;
 *
 * Routing. The agent keeps one request at mgmtd that waits for a newer
 * version (ANY_MGMT_ROUTING, routing_poll_ms), so a change reaches it as
 * soon as mgmtd has made it durable. Each new version replaces the current
 * snapshot and is handed to changed() on the agent's core. A version
 * older than the current one is ignored. agent_refresh() (any thread)
 * asks again at once, for a caller that met a newer chain version than its
 * snapshot knows.
 *
 * Heartbeats (servers: heartbeat set). Every heartbeat_interval_ms the
 * agent asks report() for its targets' local states and space and sends
 * them with its node id, role and address. A server may serve only while
 * its lease holds: agent_serving_allowed() is true when the last heartbeat
 * mgmtd answered was sent less than half the lease ago (the lease comes
 * with every answer) and, after the lease had lapsed, once routing info
 * fetched after the lease was regained has arrived (so a server that was
 * stopped or cut off never serves on the routing it had before). Before
 * the first answer it is false.
 *
 * Caveats: one agent per process; changed() and report() run on the
 * agent's core and must not block; a failed heartbeat or poll is retried
 * on the next interval (logged once per outage, and when it recovers).
 */
#ifndef MGMT_AGENT_H
#define MGMT_AGENT_H

#include "mgmt/routing.h"
#include "net/loop.h"

#define AGENT_MAX_TARGETS 256

struct agent_report {
	uint64_t target;
	uint8_t lstate; /* enum rt_lstate */
	uint64_t capacity, used;
};

struct agent_params {
	const char *mgmtd; /* tcp://HOST:PORT */
	bool heartbeat;	   /* a server: register, heartbeat, hold a lease */
	uint32_t node_id;  /* heartbeat: non-zero */
	uint8_t role;	   /* heartbeat: ROLE_STORAGE or ROLE_META */
	char addr[RT_ADDR_MAX]; /* heartbeat: where clients reach us */
	/* heartbeat: fill out[0..max) and return the count */
	int (*report)(void *arg, struct agent_report *out, int max);
	/* a new snapshot; r is borrowed for the call (routing_ref() it to
	 * keep it) */
	void (*changed)(void *arg, struct routing *r);
	void *arg;
};

/* 0, or -EINVAL for a bad mgmtd URI (logged). */
int agent_start(struct core *c, const struct agent_params *p);
/* agent_start() of a copy of p on core 0, from any thread (loops
 * running); if it fails the loops are asked to stop. */
void agent_launch(const struct agent_params *p);
/* p->addr: listen's host with the port this process serves on
 * (rpc_serve_port()), for a server whose --listen port may be 0. */
void agent_served_addr(struct agent_params *p, const char *listen);
/* Any thread: the newest snapshot (one reference), or NULL before the
 * first one arrived. */
struct routing *agent_routing(void);
/* Any thread: the version agent_routing() would give (0: none yet). */
uint64_t agent_routing_version(void);
/* Any thread. */
bool agent_serving_allowed(void);
uint32_t agent_lease_ms(void);
void agent_refresh(void);

#endif /* MGMT_AGENT_H */
