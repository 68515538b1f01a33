/* net/rpc.h - requests and responses over pooled connections.
 *
 * Client side. Embed a struct rpc_call in your object, fill the public part
 * and start it on the current core:
 *
 *	struct rpc_peer *p = rpc_peer_get(c, "tcp://10.0.0.1:8000");
 *	call->type = MSG_PEER_SRV_PING; call->body = buf; call->body_len = n;
 *	call->done = my_done;         // runs exactly once, on this core
 *	rpc_call_start(c, p, call);
 *
 * done(c, call, status, body, len) gets status 0 or the server's negative
 * status, or a local error: -ETIMEDOUT when the deadline (timeout_ms, or
 * rpc_timeout_ms) passed first, -ECONNRESET and friends when the connection
 * failed, -FFFS_EAUTH / -FFFS_EBADCLUSTER / -FFFS_EBADVERSION when the
 * server refused us. body is valid only during done(). A response bulk
 * lands directly in resp_bulk (resp_bulk_len set before done()); a larger
 * one than resp_bulk_cap fails the call with -EMSGSIZE. The request bulk is
 * borrowed until done() runs. A response that arrives after the deadline
 * is dropped.
 *
 * Peers are per core and keep one connection each; a failed connection is
 * re-established on the next call (no sooner than rpc_reconnect_ms after a
 * failure), and calls made meanwhile wait for it within their deadline.
 *
 * Server side. A handler table, indexed by message type, built with
 * RPC_HANDLER(NAME, fn) so ids and names cannot drift from net/proto.h:
 *
 *	static const struct rpc_handler tbl[MSG__MAX] = {
 *		RPC_HANDLER(PEER_SRV_PING, ping),
 *	};
 *	rpc_serve(uri, tbl, err, errlen);   // before loop_start: listens
 *
 * Connections are accepted on core 0 and spread over all cores. A handler
 * int fn(c, req) returns 0 once it has replied or will reply later with
 * rpc_reply(); a negative return is sent as the response status. req->body
 * is valid only during the handler call; req->bulk belongs to req (freed
 * after the reply) unless taken with rpc_req_take_bulk(). Unknown types get
 * -FFFS_EUNKNOWNMSG. At most rpc_max_inflight requests run per connection;
 * past that the server stops reading it.
 */
#ifndef NET_RPC_H
#define NET_RPC_H

#include "net/conn.h"
#include "net/proto.h"

struct rpc_peer;
struct rpc_call;
struct rpc_req;

typedef void (*rpc_done_cb)(struct core *c, struct rpc_call *call, int status,
			    const void *body, uint32_t body_len);

struct rpc_call {
	/* set by the caller */
	uint16_t type;
	const void *body;
	uint32_t body_len;
	const void *bulk;
	uint32_t bulk_len;
	void *resp_bulk;
	uint32_t resp_bulk_cap;
	uint32_t timeout_ms; /* 0: rpc_timeout_ms */
	bool longpoll;	     /* its answer may take long: a stop does not
				wait for it, it fails with -FFFS_ESHUTDOWN */
	rpc_done_cb done;
	/* set before done() */
	uint32_t resp_bulk_len;
	/* private */
	struct rpc_call *next;
	struct rpc_peer *peer;
	struct rpc_link *link;
	struct loop_timer timer;
	uint64_t req_id;
	int state, result;
	bool tx_busy;	/* bulk still referenced by the send queue */
	uint64_t t0_ns; /* started, for the latency metric */
};

int rpc_call_start(struct core *c, struct rpc_peer *p, struct rpc_call *call);

/* The peer for uri on core c (created on first use; never freed while the
 * core runs). NULL if the URI is invalid; err says why. */
struct rpc_peer *rpc_peer_get(struct core *c, const char *uri, char *err,
			      size_t errlen);
const char *rpc_peer_name(const struct rpc_peer *p);

struct rpc_req {
	struct frame_hdr hdr;
	const void *body; /* valid during the handler call only */
	uint32_t body_len;
	void *bulk; /* 4 KiB aligned */
	uint32_t bulk_len;
	/* private */
	struct rpc_link *link;
	uint64_t t0_ns; /* received, for the latency metric */
};

typedef int (*rpc_handler_fn)(struct core *c, struct rpc_req *req);

struct rpc_handler {
	rpc_handler_fn fn;
	const char *name;
};

#define RPC_HANDLER(NAME, fn) [MSG_##NAME] = { (fn), #NAME }

int rpc_serve(const char *uri, const struct rpc_handler *table, char *err,
	      size_t errlen);
/* Receive request bulk into the registered arena (net/iobuf.h) when it
 * has room, so it can be written with fixed-buffer I/O. */
void rpc_use_iobuf(bool on);
/* The port rpc_serve listens on (useful with port 0). */
int rpc_serve_port(void);

/* Reply to req and release it. The response bulk is borrowed until
 * release(arg) runs (release may be NULL). Never fails: a reply to a closed
 * connection is dropped. */
void rpc_reply(struct core *c, struct rpc_req *req, int status,
	       const void *body, uint32_t body_len, const void *bulk,
	       uint32_t bulk_len, void (*release)(void *arg), void *arg);
/* The same with the response bulk in nbulk segments. */
void rpc_replyv(struct core *c, struct rpc_req *req, int status,
		const void *body, uint32_t body_len, const struct iovec *bulk,
		int nbulk, void (*release)(void *arg), void *arg);
/* Take ownership of the request bulk (4 KiB aligned and zero-padded to a
 * multiple of 4 KiB; free it with iobuf_free_any() on a loop thread). */
void *rpc_req_take_bulk(struct rpc_req *req);
const char *rpc_req_peer(const struct rpc_req *req);

/* Handler of PEER_SRV_PING, for every server's table. */
int rpc_handle_ping(struct core *c, struct rpc_req *req);
/* Handler of BENCH_SRV_ECHO for a server that only echoes: the data, and
 * the request's bulk when resp_bulk_len is its length (else -EINVAL). It
 * is the ceiling `fffs bench` compares a server's own operations with,
 * over the same connections. */
int rpc_handle_echo(struct core *c, struct rpc_req *req);
/* The same, where a resp_bulk_len that is not the request's bulk length
 * (up to zeros_max) is answered with that much of zeros (a server's read
 * speed), -EMSGSIZE above. */
int rpc_echo(struct core *c, struct rpc_req *req, const void *zeros,
	     uint32_t zeros_max);

#endif /* NET_RPC_H */
