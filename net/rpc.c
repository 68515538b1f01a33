/* net/rpc.c - RPC calls with deadlines, server dispatch, per-core peers. */
#define LOG_SUBSYS "rpc"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/fault.h"
#include "net/iobuf.h"
#include "net/pack.h"
#include "net/rpc.h"
#include "net/rpc_metrics.h"

enum call_state {
	CALL_IDLE = 0, /* never started, or done() has run */
	CALL_WAITING,  /* queued on the peer until its connection is ready */
	CALL_SENT,     /* in the link's pending map */
	CALL_FINISHING /* result known, the send queue still holds the bulk */
};

/* The owner of one connection: pending calls (client side) or running
 * requests (server side). */
struct rpc_link {
	struct conn *conn;		 /* NULL once closed */
	struct rpc_peer *peer;		 /* client side only */
	const struct rpc_handler *table; /* server side only */
	struct rpc_call **map;		 /* pending calls by req id */
	unsigned map_cap, map_n;
	unsigned
		polls_n; /* of map_n: long-polls, which a stop does not await */
	uint64_t next_id;
	unsigned srv_inflight;
	bool was_ready, draining;
	void *rx_bulk; /* request bulk being received */
	struct rpc_link *prev, *next;
};

struct rpc_peer {
	char uri[256];
	struct tcp_addr addr;
	struct rpc_link *link;
	struct rpc_call *wait_head, **wait_tailp;
	uint64_t retry_after_ns;
	struct loop_timer retry_timer;
	bool down; /* connecting failed; said once until it works again */
	struct rpc_peer *next;
};

struct rpc_core {
	struct rpc_peer *peers;
	struct rpc_link links; /* list head of live links */
};

struct rpc_server {
	int lfd, port, next_core;
	const struct rpc_handler *table;
	struct loop_op accept_op;
	struct loop_msg start_msg;
	struct loop_timer backoff;
	bool stopping, accepting;
	bool use_iobuf; /* request bulk into the registered arena */
};

struct accept_msg {
	struct loop_msg msg;
	int fd;
};

struct reply_release {
	void (*release)(void *arg);
	void *arg;
};

static struct rpc_server server = { .lfd = -1 };

static void client_ready(struct core *c, struct conn *conn);
static void *link_bulk_dest(struct core *c, struct conn *conn,
			    const struct frame_hdr *h, const void *body);
static void link_frame(struct core *c, struct conn *conn,
		       const struct frame_hdr *h, const void *body, void *bulk);
static void link_closed(struct core *c, struct conn *conn, int err);

static const struct conn_ops link_ops = {
	.ready = client_ready,
	.bulk_dest = link_bulk_dest,
	.frame = link_frame,
	.closed = link_closed,
};

/* ---- per-core state and shutdown -------------------------------------------
 */

static void link_drain(struct core *c, struct rpc_link *l)
{
	l->draining = true;
	if (!l->conn)
		return;
	if (l->table) {
		conn_rx_pause(c, l->conn);
		if (l->srv_inflight == 0)
			conn_close_after_tx(c, l->conn);
	} else if (l->map_n == l->polls_n) {
		conn_close(c, l->conn, -FFFS_ESHUTDOWN, "shutting down");
	}
}

static void rpc_core_stop(struct core *c, void *arg)
{
	struct rpc_core *rc = arg;

	for (struct rpc_peer *p = rc->peers; p; p = p->next)
		core_timer_del(c, &p->retry_timer);
	for (struct rpc_link *l = rc->links.next, *n; l != &rc->links; l = n) {
		n = l->next;
		link_drain(c, l);
	}
}

/* The core is leaving: its peers go (links still open were closed by the
 * drain, or are abandoned with the process). */
static void rpc_core_exit(struct core *c, void *arg)
{
	struct rpc_core *rc = arg;

	while (rc->peers) {
		struct rpc_peer *p = rc->peers;

		rc->peers = p->next;
		free(p);
	}
	*core_local(c, CORE_SLOT_RPC) = NULL;
	free(rc);
}

static struct rpc_core *rpc_core_get(struct core *c)
{
	void **slot = core_local(c, CORE_SLOT_RPC);
	struct rpc_core *rc = *slot;

	if (rc)
		return rc;
	rc = xcalloc(1, sizeof(*rc));
	rc->links.next = rc->links.prev = &rc->links;
	*slot = rc;
	core_on_stop(c, rpc_core_stop, rc);
	core_on_exit(c, rpc_core_exit, rc);
	return rc;
}

static struct rpc_link *link_new(struct core *c)
{
	struct rpc_core *rc = rpc_core_get(c);
	struct rpc_link *l = xcalloc(1, sizeof(*l));

	l->map_cap = 64;
	l->map = xcalloc(l->map_cap, sizeof(*l->map));
	l->next = rc->links.next;
	l->prev = &rc->links;
	l->next->prev = l;
	rc->links.next = l;
	return l;
}

static void link_free(struct core *c, struct rpc_link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	iobuf_free_any(c, l->rx_bulk);
	free(l->map);
	free(l);
}

/* ---- the pending-call map (chained by call->next)
 * ----------------------------- */

static unsigned map_slot(const struct rpc_link *l, uint64_t id)
{
	return (unsigned)(id * 0x9E3779B97F4A7C15ull >> 32) & (l->map_cap - 1);
}

static void map_grow(struct rpc_link *l)
{
	struct rpc_call **old = l->map;
	unsigned ocap = l->map_cap;

	l->map_cap *= 2;
	l->map = xcalloc(l->map_cap, sizeof(*l->map));
	for (unsigned i = 0; i < ocap; i++) {
		for (struct rpc_call *k = old[i], *n; k; k = n) {
			unsigned s = map_slot(l, k->req_id);

			n = k->next;
			k->next = l->map[s];
			l->map[s] = k;
		}
	}
	free(old);
}

static void map_add(struct rpc_link *l, struct rpc_call *call)
{
	unsigned s;

	if (l->map_n >= l->map_cap)
		map_grow(l);
	s = map_slot(l, call->req_id);
	call->next = l->map[s];
	l->map[s] = call;
	l->map_n++;
	l->polls_n += call->longpoll;
}

static struct rpc_call *map_find(struct rpc_link *l, uint64_t id, bool remove)
{
	struct rpc_call **pp = &l->map[map_slot(l, id)];

	for (; *pp; pp = &(*pp)->next) {
		struct rpc_call *k = *pp;

		if (k->req_id != id)
			continue;
		if (remove) {
			*pp = k->next;
			k->next = NULL;
			l->map_n--;
			l->polls_n -= k->longpoll;
		}
		return k;
	}
	return NULL;
}

/* ---- completing calls
 * ------------------------------------------------------------ */

static void call_deliver(struct core *c, struct rpc_call *call,
			 const void *body, uint32_t len)
{
	call->state = CALL_IDLE;
	call->link = NULL;
	rpc_metrics_called(call->type, call->result, call->t0_ns);
	call->done(c, call, call->result, body, len);
}

/* The one place a call's outcome is decided. If its bulk is still in the
 * send queue, done() waits for call_sent(); the body is kept until then. */
static void call_finish(struct core *c, struct rpc_call *call, int status,
			const void *body, uint32_t len)
{
	FFFS_ASSERT(call->state == CALL_WAITING || call->state == CALL_SENT);
	core_timer_del(c, &call->timer);
	call->result = status;
	if (!call->tx_busy)
		return call_deliver(c, call, body, len);
	call->state = CALL_FINISHING;
	call->body = len ? memcpy(xmalloc(len), body, len) : NULL;
	call->body_len = len;
}

static void call_sent(struct core *c, void *arg, int err)
{
	struct rpc_call *call = arg;
	void *body;

	call->tx_busy = false;
	if (call->state != CALL_FINISHING)
		return;
	body = (void *)call->body;
	call->body = NULL;
	call_deliver(c, call, body, call->body_len);
	free(body);
}

static void peer_unwait(struct rpc_peer *p, struct rpc_call *call)
{
	struct rpc_call **pp = &p->wait_head;

	for (; *pp; pp = &(*pp)->next) {
		if (*pp != call)
			continue;
		*pp = call->next;
		if (p->wait_tailp == &call->next)
			p->wait_tailp = pp;
		call->next = NULL;
		return;
	}
	FFFS_ASSERT(!"waiting call not on its peer's queue");
}

static void after_call_left(struct core *c, struct rpc_link *l)
{
	if (l->draining && l->conn && l->map_n == l->polls_n)
		conn_close(c, l->conn, -FFFS_ESHUTDOWN, "shutting down");
}

static void call_timeout(struct core *c, struct loop_timer *t)
{
	struct rpc_call *call = fffs_container_of(t, struct rpc_call, timer);
	struct rpc_link *l = call->link;
	char why[160];

	if (call->state == CALL_WAITING) {
		peer_unwait(call->peer, call);
		return call_finish(c, call, -ETIMEDOUT, NULL, 0);
	}
	FFFS_ASSERT(call->state == CALL_SENT);
	map_find(l, call->req_id, true);
	if (call->tx_busy && l->conn &&
	    conn_unqueue(c, l->conn, call) == -EBUSY) {
		/* Its payload is in the socket: the stream cannot be cut, so
		 * the connection goes (the peer is not reading anyway). */
		snprintf(why, sizeof(why),
			 "request %llu timed out while its %u-byte payload "
			 "was being sent",
			 (unsigned long long)call->req_id, call->bulk_len);
		conn_close(c, l->conn, -ETIMEDOUT, why);
	}
	call_finish(c, call, -ETIMEDOUT, NULL, 0);
	after_call_left(c, l);
}

/* ---- client side: sending and peers
 * ---------------------------------------------- */

static void call_send(struct core *c, struct rpc_link *l, struct rpc_call *call)
{
	struct frame_hdr h = { .version = FRAME_VERSION,
			       .type = call->type,
			       .body_len = call->body_len,
			       .bulk_len = call->bulk_len };
	int rc;

	call->req_id = h.req_id = ++l->next_id;
	call->link = l;
	call->state = CALL_SENT;
	map_add(l, call);
	call->tx_busy = call->bulk_len > 0;
	rc = conn_send(c, l->conn, &h, call->body, call->bulk,
		       call->bulk_len ? call_sent : NULL, call);
	if (rc < 0) {
		call->tx_busy = false;
		map_find(l, call->req_id, true);
		call_finish(c, call, rc, NULL, 0);
	}
}

static void peer_fail_waiting(struct core *c, struct rpc_peer *p, int err)
{
	while (p->wait_head) {
		struct rpc_call *call = p->wait_head;

		p->wait_head = call->next;
		call->next = NULL;
		call_finish(c, call, err, NULL, 0);
	}
	p->wait_tailp = &p->wait_head;
}

static void peer_connect(struct core *c, struct rpc_peer *p);

static void peer_retry(struct core *c, struct loop_timer *t)
{
	peer_connect(c, fffs_container_of(t, struct rpc_peer, retry_timer));
}

static void peer_connect(struct core *c, struct rpc_peer *p)
{
	uint64_t now = now_ns();
	struct rpc_link *l;

	if (p->link || !p->wait_head || loop_stopping(c))
		return;
	if (now < p->retry_after_ns) {
		if (!core_timer_armed(&p->retry_timer))
			core_timer_add(c, &p->retry_timer,
				       p->retry_after_ns - now);
		return;
	}
	l = link_new(c);
	l->peer = p;
	l->conn = conn_connect(c, &p->addr, p->uri, &link_ops, l);
	if (!l->conn) {
		link_free(c, l);
		p->retry_after_ns =
			now +
			(uint64_t)config_int(CFG_rpc_reconnect_ms) * 1000000;
		peer_fail_waiting(c, p, -EMFILE);
		return;
	}
	p->link = l;
}

static void client_ready(struct core *c, struct conn *conn)
{
	struct rpc_link *l = conn_owner(conn);
	struct rpc_peer *p = l->peer;

	l->was_ready = true;
	if (!p)
		return; /* server side: the peer sends first */
	if (p->down)
		log_info("%s is reachable again", p->uri);
	p->down = false;
	while (p->wait_head) {
		struct rpc_call *call = p->wait_head;

		p->wait_head = call->next;
		call->next = NULL;
		call_send(c, l, call);
	}
	p->wait_tailp = &p->wait_head;
}

int rpc_call_start(struct core *c, struct rpc_peer *p, struct rpc_call *call)
{
	uint64_t ms = call->timeout_ms
			      ? call->timeout_ms
			      : (uint64_t)config_int(CFG_rpc_timeout_ms);

	FFFS_ASSERT(call->done && call->state == CALL_IDLE);
	if (loop_stopping(c))
		return -FFFS_ESHUTDOWN;
	call->result = 0;
	call->resp_bulk_len = 0;
	call->tx_busy = false;
	call->t0_ns = rpc_metrics_t0();
	call->peer = p;
	call->link = NULL;
	call->next = NULL;
	core_timer_init(&call->timer, call_timeout);
	core_timer_add(c, &call->timer, ms * 1000000);
	if (p->link && p->link->conn && conn_ready(p->link->conn)) {
		call_send(c, p->link, call);
		return 0;
	}
	call->state = CALL_WAITING;
	*p->wait_tailp = call;
	p->wait_tailp = &call->next;
	peer_connect(c, p);
	return 0;
}

struct rpc_peer *rpc_peer_get(struct core *c, const char *uri, char *err,
			      size_t errlen)
{
	struct rpc_core *rc = rpc_core_get(c);
	struct rpc_peer *p;

	for (p = rc->peers; p; p = p->next)
		if (!strcmp(p->uri, uri))
			return p;
	p = xcalloc(1, sizeof(*p));
	if (strlen(uri) >= sizeof(p->uri) ||
	    tcp_addr_parse(uri, &p->addr, err, errlen)) {
		if (strlen(uri) >= sizeof(p->uri))
			snprintf(err, errlen, "address '%.40s...' too long",
				 uri);
		free(p);
		return NULL;
	}
	snprintf(p->uri, sizeof(p->uri), "%s", uri);
	p->wait_tailp = &p->wait_head;
	core_timer_init(&p->retry_timer, peer_retry);
	p->next = rc->peers;
	rc->peers = p;
	return p;
}

const char *rpc_peer_name(const struct rpc_peer *p)
{
	return p->uri;
}

/* ---- frames and closes of every link
 * --------------------------------------------- */

static void *link_bulk_dest(struct core *c, struct conn *conn,
			    const struct frame_hdr *h, const void *body)
{
	struct rpc_link *l = conn_owner(conn);
	struct rpc_call *call;

	if (!(h->flags & FRAME_F_RESPONSE)) {
		size_t n = ((size_t)h->bulk_len + 4095) & ~(size_t)4095;

		FFFS_ASSERT(!l->rx_bulk);
		if (server.use_iobuf)
			l->rx_bulk = iobuf_get(c, n);
		if (!l->rx_bulk)
			l->rx_bulk = xaligned_alloc(4096, n);
		/* the padding to 4 KiB is defined: O_DIRECT may write it */
		memset((uint8_t *)l->rx_bulk + h->bulk_len, 0, n - h->bulk_len);
		return l->rx_bulk;
	}
	call = map_find(l, h->req_id, false);
	if (!call || h->bulk_len > call->resp_bulk_cap)
		return NULL;
	return call->resp_bulk;
}

static void on_response(struct core *c, struct rpc_link *l,
			const struct frame_hdr *h, const void *body, void *bulk)
{
	struct rpc_call *call = map_find(l, h->req_id, true);

	if (!call) {
		log_debug("dropping response %llu (%s) from %s: no such "
			  "request (timed out?)",
			  (unsigned long long)h->req_id,
			  msg_name(h->type) ? msg_name(h->type) : "?",
			  conn_name(l->conn));
		return;
	}
	if (h->bulk_len && !bulk) {
		log_warn("response %llu from %s carries %u bulk bytes, the "
			 "caller expected at most %u",
			 (unsigned long long)h->req_id, conn_name(l->conn),
			 h->bulk_len, call->resp_bulk_cap);
		call_finish(c, call, -EMSGSIZE, NULL, 0);
	} else {
		call->resp_bulk_len = h->bulk_len;
		call_finish(c, call, h->status, body, h->body_len);
	}
	after_call_left(c, l);
}

static void on_request(struct core *c, struct rpc_link *l,
		       const struct frame_hdr *h, const void *body, void *bulk)
{
	const struct rpc_handler *hd =
		l->table && h->type < MSG__MAX ? &l->table[h->type] : NULL;
	struct rpc_req *req = xcalloc(1, sizeof(*req));
	int rc;

	req->hdr = *h;
	req->body = body;
	req->body_len = h->body_len;
	req->bulk = bulk;
	req->bulk_len = bulk ? h->bulk_len : 0;
	req->link = l;
	req->t0_ns = rpc_metrics_t0();
	l->rx_bulk = NULL;
	if (++l->srv_inflight >= (unsigned)config_int(CFG_rpc_max_inflight))
		conn_rx_pause(c, l->conn);
	if (!hd || !hd->fn) {
		log_warn("unknown message type %u from %s", h->type,
			 conn_name(l->conn));
		rc = -FFFS_EUNKNOWNMSG;
	} else {
		rc = hd->fn(c, req);
	}
	/* rc == 0: req may be gone already (answered inside the handler) */
	if (rc < 0)
		rpc_reply(c, req, rc, NULL, 0, NULL, 0, NULL, NULL);
}

static void link_frame(struct core *c, struct conn *conn,
		       const struct frame_hdr *h, const void *body, void *bulk)
{
	struct rpc_link *l = conn_owner(conn);

	if (h->flags & FRAME_F_RESPONSE)
		on_response(c, l, h, body, bulk);
	else
		on_request(c, l, h, body, bulk);
}

static void link_closed(struct core *c, struct conn *conn, int err)
{
	struct rpc_link *l = conn_owner(conn);
	struct rpc_peer *p = l->peer;

	l->conn = NULL;
	for (unsigned i = 0; i < l->map_cap; i++) {
		while (l->map[i]) {
			struct rpc_call *call = l->map[i];

			l->map[i] = call->next;
			l->map_n--;
			l->polls_n -= call->longpoll;
			call_finish(c, call, err, NULL, 0);
		}
	}
	if (p && p->link == l) {
		p->link = NULL;
		if (!l->was_ready) {
			if (!p->down && !loop_stopping(c))
				log_warn("cannot connect to %s: %s; retrying "
					 "every %lld ms while calls wait",
					 p->uri, fffs_strerror(err),
					 (long long)config_int(
						 CFG_rpc_reconnect_ms));
			p->down = true;
			p->retry_after_ns =
				now_ns() +
				(uint64_t)config_int(CFG_rpc_reconnect_ms) *
					1000000;
			peer_fail_waiting(c, p, err);
		} else {
			peer_connect(c, p);
		}
	}
	if (l->srv_inflight == 0)
		link_free(c, l);
}

/* ---- server side
 * ------------------------------------------------------------------ */

static void reply_sent(struct core *c, void *arg, int err)
{
	struct reply_release *r = arg;

	r->release(r->arg);
	free(r);
}

static void req_release(struct core *c, struct rpc_req *req)
{
	struct rpc_link *l = req->link;

	iobuf_free_any(c, req->bulk);
	free(req);
	FFFS_ASSERT(l->srv_inflight > 0);
	l->srv_inflight--;
	if (!l->conn) {
		if (l->srv_inflight == 0)
			link_free(c, l);
		return;
	}
	if (l->draining && l->srv_inflight == 0)
		conn_close_after_tx(c, l->conn);
	else if (!l->draining &&
		 l->srv_inflight < (unsigned)config_int(CFG_rpc_max_inflight))
		conn_rx_resume(c, l->conn);
}

void rpc_replyv(struct core *c, struct rpc_req *req, int status,
		const void *body, uint32_t body_len, const struct iovec *bulk,
		int nbulk, void (*release)(void *arg), void *arg)
{
	struct frame_hdr h = { .version = FRAME_VERSION,
			       .type = req->hdr.type,
			       .flags = FRAME_F_RESPONSE,
			       .status = status,
			       .req_id = req->hdr.req_id,
			       .body_len = body_len };
	struct conn *conn = req->link->conn;
	struct reply_release *r = NULL;
	int rc = -ECONNRESET;

	for (int i = 0; i < nbulk; i++)
		h.bulk_len += (uint32_t)bulk[i].iov_len;
	if (release) {
		r = xmalloc(sizeof(*r));
		*r = (struct reply_release){ release, arg };
	}
	if (FAULT(FP_RPC_DROP_REPLY)) {
		log_warn("fault rpc_drop_reply: not replying to request %llu",
			 (unsigned long long)req->hdr.req_id);
		conn = NULL;
	}
	if (conn && !(req->hdr.flags & FRAME_F_ONEWAY))
		rc = conn_sendv(c, conn, &h, body, bulk, nbulk,
				r ? reply_sent : NULL, r);
	if (rc < 0 && r)
		reply_sent(c, r, rc);
	rpc_metrics_served(req->hdr.type, status,
			   (uint64_t)req->hdr.body_len + req->hdr.bulk_len,
			   (uint64_t)body_len + h.bulk_len, req->t0_ns);
	req_release(c, req);
}

void rpc_reply(struct core *c, struct rpc_req *req, int status,
	       const void *body, uint32_t body_len, const void *bulk,
	       uint32_t bulk_len, void (*release)(void *arg), void *arg)
{
	struct iovec iov = { (void *)bulk, bulk_len };

	rpc_replyv(c, req, status, body, body_len, &iov, bulk_len ? 1 : 0,
		   release, arg);
}

void *rpc_req_take_bulk(struct rpc_req *req)
{
	void *b = req->bulk;

	req->bulk = NULL;
	return b;
}

const char *rpc_req_peer(const struct rpc_req *req)
{
	return req->link->conn ? conn_name(req->link->conn)
			       : "(closed connection)";
}

int rpc_handle_ping(struct core *c, struct rpc_req *req)
{
	uint8_t buf[16];
	struct unpack up;
	struct pack pk;
	uint64_t token;

	unpack_init(&up, req->body, req->body_len);
	token = unpack_u64(&up);
	if (unpack_finish(&up))
		return -FFFS_EBADFRAME;
	pack_init(&pk, buf, sizeof(buf));
	pack_u64(&pk, token);
	pack_u64(&pk, now_ns());
	rpc_reply(c, req, 0, buf, (uint32_t)pack_len(&pk), NULL, 0, NULL, NULL);
	return 0;
}

static void echo_bulk_free(void *p)
{
	iobuf_free_any(core_self(), p);
}

int rpc_echo(struct core *c, struct rpc_req *req, const void *zeros,
	     uint32_t zeros_max)
{
	const void *data, *bulk = NULL;
	uint32_t rbl, dlen;
	struct unpack up;
	struct pack pk;
	uint8_t *buf;

	unpack_init(&up, req->body, req->body_len);
	rbl = unpack_u32(&up);
	unpack_blob(&up, &data, &dlen);
	if (unpack_finish(&up))
		return -FFFS_EBADFRAME;
	if (rbl && rbl != req->bulk_len && (!zeros || rbl > zeros_max))
		return zeros ? -EMSGSIZE : -EINVAL;
	buf = xmalloc(dlen + 4);
	pack_init(&pk, buf, dlen + 4);
	pack_blob(&pk, data, dlen);
	if (rbl && rbl == req->bulk_len)
		bulk = rpc_req_take_bulk(req); /* the payload comes back */
	else if (rbl)
		bulk = zeros;
	rpc_reply(c, req, 0, buf, (uint32_t)pack_len(&pk), bulk, rbl,
		  bulk && bulk != zeros ? echo_bulk_free : NULL, (void *)bulk);
	free(buf);
	return 0;
}

int rpc_handle_echo(struct core *c, struct rpc_req *req)
{
	return rpc_echo(c, req, NULL, 0);
}

static void accept_arm(struct core *c);

static void accepted_here(struct core *c, int fd)
{
	struct rpc_link *l = link_new(c);

	l->table = server.table;
	l->conn = conn_accept(c, fd, &link_ops, l);
	if (loop_stopping(c))
		link_drain(c, l);
}

static void accept_msg_cb(struct core *c, struct loop_msg *m)
{
	struct accept_msg *am = fffs_container_of(m, struct accept_msg, msg);

	accepted_here(c, am->fd);
	free(am);
}

static void accept_done(struct core *c, struct loop_op *op, int res)
{
	struct accept_msg *am;
	int target;

	server.accepting = false;
	if (res < 0) {
		if (server.stopping || res == -ECANCELED)
			goto out_close;
		log_error("accept on port %d failed: %s", server.port,
			  fffs_strerror(res));
		core_timer_add(c, &server.backoff, 100 * 1000000ull);
		return;
	}
	target = server.next_core++ % core_count();
	if (target == core_id(c)) {
		accepted_here(c, res);
	} else {
		am = xmalloc(sizeof(*am));
		am->msg.cb = accept_msg_cb;
		am->fd = res;
		core_post(core_get(target), &am->msg);
	}
	if (!server.stopping)
		return accept_arm(c);
out_close:
	if (server.lfd >= 0)
		close(server.lfd);
	server.lfd = -1;
}

static void accept_arm(struct core *c)
{
	struct io_uring_sqe *sqe = core_sqe(c, &server.accept_op);

	io_uring_prep_accept(sqe, server.lfd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
	server.accepting = true;
}

static void accept_backoff(struct core *c, struct loop_timer *t)
{
	if (!server.stopping)
		accept_arm(c);
}

static void server_stop(struct core *c, void *arg)
{
	server.stopping = true;
	core_timer_del(c, &server.backoff);
	if (server.accepting)
		io_uring_prep_cancel(core_sqe_noreply(c), &server.accept_op, 0);
	else if (server.lfd >= 0) {
		close(server.lfd);
		server.lfd = -1;
	}
}

static void server_start(struct core *c, struct loop_msg *m)
{
	core_on_stop(c, server_stop, NULL);
	if (loop_stopping(c))
		return server_stop(c, NULL);
	accept_arm(c);
}

int rpc_serve(const char *uri, const struct rpc_handler *table, char *err,
	      size_t errlen)
{
	struct tcp_addr a;
	int rc;

	FFFS_ASSERT(server.lfd < 0 && core_count() > 0);
	rc = tcp_addr_parse(uri, &a, err, errlen);
	if (rc)
		return rc;
	rc = tcp_listen(&a, err, errlen);
	if (rc < 0)
		return rc;
	server.lfd = rc;
	server.port = tcp_local_port(rc);
	server.table = table;
	server.accept_op.done = accept_done;
	core_timer_init(&server.backoff, accept_backoff);
	server.start_msg.cb = server_start;
	core_post(core_get(0), &server.start_msg);
	return 0;
}

void rpc_use_iobuf(bool on)
{
	server.use_iobuf = on;
}

int rpc_serve_port(void)
{
	return server.port;
}
