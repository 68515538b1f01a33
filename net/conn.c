/* net/conn.c - framed, authenticated TCP connections on a core's io_uring. */
#define LOG_SUBSYS "conn"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/config.h"
#include "base/fault.h"
#include "net/conn.h"
#include "net/pack.h"
#include "net/proto.h"

#define RX_BUF_INIT (64 * 1024)
#define RX_MIN_FREE 4096
#define DISCARD_BUF (64 * 1024)
#define TX_BATCH    64	/* frames per sendmsg */
#define TX_IOV	    256 /* iovecs per sendmsg */

enum conn_state { CS_CONNECTING, CS_HANDSHAKE, CS_READY, CS_CLOSING };
enum rx_stage { RX_HDR, RX_BODY, RX_BULK };

struct tx_ent {
	struct tx_ent *next;
	conn_sent_cb sent;
	void *arg;
	uint32_t bulk_len; /* sum of the bulk segments */
	int nseg;	   /* segments: seg[0] is header + body */
	struct iovec seg[];
};

struct conn {
	struct core *core;
	int fd;
	int refs;
	bool server, closed_called, close_after_tx;
	enum conn_state state;
	int close_err;
	char name[160];
	struct auth_state auth;
	const struct conn_ops *ops;
	void *owner;

	struct tcp_addr addr;
	struct loop_op connect_op;
	bool connect_inflight;
	bool quiet; /* its close is reported by the owner (debug here) */
	struct loop_timer hs_timer;

	/* receive side */
	struct loop_op rx_op;
	bool rx_inflight, rx_paused, resume_pending;
	struct loop_msg resume_msg;
	uint8_t *rx_buf;
	size_t rx_cap, rx_off, rx_len;
	enum rx_stage stage;
	struct frame_hdr cur;
	uint8_t *bulk_dst; /* NULL while discarding */
	uint8_t *discard;
	uint32_t bulk_have;

	/* send side */
	struct loop_op tx_op;
	bool tx_inflight, kick_pending;
	struct loop_msg kick_msg;
	struct tx_ent *tx_head, **tx_tailp;
	unsigned tx_count, tx_nsending;
	size_t tx_off; /* bytes of tx_head already sent */
	struct iovec iov[TX_IOV];
	struct msghdr msg;
};

static const struct auth_secret *id_secret;
static struct auth_self id_self;

void conn_identity_set(const struct auth_secret *secret,
		       const struct auth_self *self)
{
	id_secret = secret;
	id_self = *self;
}

static void rx_arm(struct core *c, struct conn *conn);
static void maybe_finalize(struct core *c, struct conn *conn);

/* ---- references and accessors -------------------------------------------- */

void conn_get(struct conn *conn)
{
	conn->refs++;
}

void conn_put(struct core *c, struct conn *conn)
{
	FFFS_ASSERT(conn->refs > 0);
	if (--conn->refs > 0)
		return;
	FFFS_ASSERT(conn->state == CS_CLOSING && conn->closed_called);
	free(conn->rx_buf);
	free(conn->discard);
	free(conn);
}

bool conn_ready(const struct conn *conn)
{
	return conn->state == CS_READY;
}

bool conn_closing(const struct conn *conn)
{
	return conn->state == CS_CLOSING;
}

unsigned conn_tx_queued(const struct conn *conn)
{
	return conn->tx_count;
}

void *conn_owner(const struct conn *conn)
{
	return conn->owner;
}

void conn_set_owner(struct conn *conn, void *owner)
{
	conn->owner = owner;
}

const char *conn_name(const struct conn *conn)
{
	return conn->name;
}

const struct auth_self *conn_peer(const struct conn *conn)
{
	return &conn->auth.peer;
}

/* ---- closing ---------------------------------------------------------------
 */

void conn_close(struct core *c, struct conn *conn, int err, const char *reason)
{
	if (conn->state == CS_CLOSING)
		return;
	if (err && err != -FFFS_ESHUTDOWN && reason && !conn->quiet)
		log_warn("closing connection %s: %s", conn->name, reason);
	else if (reason)
		log_debug("closing connection %s: %s", conn->name, reason);
	conn->state = CS_CLOSING;
	conn->close_err = err ? err : -ECONNRESET;
	core_timer_del(c, &conn->hs_timer);
	if (conn->fd >= 0)
		shutdown(conn->fd, SHUT_RDWR);
	if (conn->connect_inflight)
		io_uring_prep_cancel(core_sqe_noreply(c), &conn->connect_op, 0);
	conn_get(conn);
	maybe_finalize(c, conn);
	conn_put(c, conn);
}

void conn_close_after_tx(struct core *c, struct conn *conn)
{
	if (conn->state == CS_CLOSING)
		return;
	conn->rx_paused = true;
	if (!conn->tx_head && !conn->tx_inflight)
		return conn_close(c, conn, -FFFS_ESHUTDOWN, "shutting down");
	conn->close_err = -FFFS_ESHUTDOWN;
	conn->close_after_tx = true;
}

static void tx_release_all(struct core *c, struct conn *conn)
{
	while (conn->tx_head) {
		struct tx_ent *e = conn->tx_head;

		conn->tx_head = e->next;
		conn->tx_count--;
		if (e->sent)
			e->sent(c, e->arg, conn->close_err);
		free(e);
	}
	conn->tx_tailp = &conn->tx_head;
}

/* The last step: no operation references the conn any more. */
static void maybe_finalize(struct core *c, struct conn *conn)
{
	if (conn->state != CS_CLOSING || conn->closed_called ||
	    conn->rx_inflight || conn->tx_inflight || conn->connect_inflight ||
	    conn->kick_pending || conn->resume_pending)
		return;
	conn->closed_called = true;
	tx_release_all(c, conn);
	if (conn->fd >= 0)
		close(conn->fd);
	conn->fd = -1;
	if (conn->ops->closed)
		conn->ops->closed(c, conn, conn->close_err);
	conn_put(c, conn); /* the reference of the open connection */
}

/* ---- sending ----------------------------------------------------------------
 */

static void tx_start(struct core *c, struct conn *conn);

static void kick_cb(struct core *c, struct loop_msg *m)
{
	struct conn *conn = fffs_container_of(m, struct conn, kick_msg);

	conn->kick_pending = false;
	if (conn->state != CS_CLOSING)
		tx_start(c, conn);
	maybe_finalize(c, conn);
	conn_put(c, conn);
}

static void tx_schedule(struct core *c, struct conn *conn)
{
	if (conn->tx_inflight || conn->kick_pending)
		return;
	conn->kick_pending = true;
	conn_get(conn);
	core_post(c, &conn->kick_msg);
}

int conn_sendv(struct core *c, struct conn *conn, const struct frame_hdr *hdr,
	       const void *body, const struct iovec *bulk, int nbulk,
	       conn_sent_cb sent, void *arg)
{
	size_t segs = sizeof(struct iovec) * (size_t)(nbulk + 1);
	struct tx_ent *e;
	uint8_t *data;
	uint32_t total = 0;

	if (conn->state == CS_CLOSING)
		return conn->close_err;
	e = xmalloc(sizeof(*e) + segs + FRAME_HDR_LEN + hdr->body_len);
	data = (uint8_t *)e->seg + segs;
	frame_hdr_encode(hdr, data);
	if (FAULT(FP_CONN_TX_CORRUPT))
		data[0] ^= 0x01; /* the peer must reject the frame */
	if (hdr->body_len)
		memcpy(data + FRAME_HDR_LEN, body, hdr->body_len);
	e->seg[0] = (struct iovec){ data, FRAME_HDR_LEN + hdr->body_len };
	for (int i = 0; i < nbulk; i++) {
		e->seg[i + 1] = bulk[i];
		total += (uint32_t)bulk[i].iov_len;
	}
	FFFS_ASSERT(total == hdr->bulk_len);
	e->nseg = nbulk + 1;
	e->bulk_len = total;
	e->sent = sent;
	e->arg = arg;
	e->next = NULL;
	*conn->tx_tailp = e;
	conn->tx_tailp = &e->next;
	conn->tx_count++;
	tx_schedule(c, conn);
	return 0;
}

int conn_send(struct core *c, struct conn *conn, const struct frame_hdr *hdr,
	      const void *body, const void *bulk, conn_sent_cb sent, void *arg)
{
	struct iovec iov = { (void *)bulk, hdr->bulk_len };

	return conn_sendv(c, conn, hdr, body, &iov, hdr->bulk_len ? 1 : 0, sent,
			  arg);
}

static void tx_done(struct core *c, struct loop_op *op, int res);

/* Gather queued frames into one sendmsg, skipping what was already sent
 * of the first; an entry that does not fit whole goes partly. */
static void tx_start(struct core *c, struct conn *conn)
{
	struct io_uring_sqe *sqe;
	size_t off = conn->tx_off;
	int niov = 0, n = 0;

	if (conn->tx_inflight || !conn->tx_head)
		return;
	for (struct tx_ent *e = conn->tx_head;
	     e && n < TX_BATCH && niov < TX_IOV; e = e->next, n++) {
		for (int i = 0; i < e->nseg && niov < TX_IOV; i++) {
			if (off >= e->seg[i].iov_len) {
				off -= e->seg[i].iov_len;
				continue;
			}
			conn->iov[niov++] =
				(struct iovec){ (uint8_t *)e->seg[i].iov_base +
							off,
						e->seg[i].iov_len - off };
			off = 0;
		}
	}
	memset(&conn->msg, 0, sizeof(conn->msg));
	conn->msg.msg_iov = conn->iov;
	conn->msg.msg_iovlen = (size_t)niov;
	conn->tx_nsending = (unsigned)n;
	conn->tx_op.done = tx_done;
	sqe = core_sqe(c, &conn->tx_op);
	io_uring_prep_sendmsg(sqe, conn->fd, &conn->msg, MSG_NOSIGNAL);
	conn->tx_inflight = true;
	conn_get(conn);
}

static void tx_advance(struct core *c, struct conn *conn, size_t res)
{
	while (conn->tx_head) {
		struct tx_ent *e = conn->tx_head;
		size_t total = e->seg[0].iov_len + e->bulk_len - conn->tx_off;

		if (res < total) {
			conn->tx_off += res;
			return;
		}
		res -= total;
		conn->tx_off = 0;
		conn->tx_head = e->next;
		if (!conn->tx_head)
			conn->tx_tailp = &conn->tx_head;
		conn->tx_count--;
		if (e->sent)
			e->sent(c, e->arg, 0);
		free(e);
	}
	FFFS_ASSERT(res == 0);
}

static void tx_done(struct core *c, struct loop_op *op, int res)
{
	struct conn *conn = fffs_container_of(op, struct conn, tx_op);
	char why[128];

	conn->tx_inflight = false;
	conn->tx_nsending = 0;
	if (res < 0 && conn->state != CS_CLOSING) {
		snprintf(why, sizeof(why), "send failed: %s",
			 fffs_strerror(res));
		conn_close(c, conn, res, why);
	} else if (res >= 0) {
		tx_advance(c, conn, (size_t)res);
		if (conn->state != CS_CLOSING && conn->tx_head)
			tx_start(c, conn);
		else if (conn->close_after_tx && !conn->tx_head)
			conn_close(c, conn, conn->close_err, NULL);
	}
	maybe_finalize(c, conn);
	conn_put(c, conn);
}

int conn_unqueue(struct core *c, struct conn *conn, void *arg)
{
	struct tx_ent **pp = &conn->tx_head;
	unsigned i = 0;

	for (; *pp; pp = &(*pp)->next, i++) {
		struct tx_ent *e = *pp;

		if (e->arg != arg)
			continue;
		if ((conn->tx_inflight && i < conn->tx_nsending) ||
		    (i == 0 && conn->tx_off))
			return -EBUSY;
		*pp = e->next;
		if (conn->tx_tailp == &e->next)
			conn->tx_tailp = pp;
		conn->tx_count--;
		if (e->sent)
			e->sent(c, e->arg, -ECANCELED);
		free(e);
		return 0;
	}
	return -ENOENT;
}

/* ---- handshake
 * --------------------------------------------------------------- */

static void send_small(struct core *c, struct conn *conn, uint16_t type,
		       uint32_t flags, int status, const struct pack *pk)
{
	struct frame_hdr h = { .version = FRAME_VERSION,
			       .type = type,
			       .flags = flags,
			       .status = status,
			       .body_len = (uint32_t)pack_len(pk) };

	conn_send(c, conn, &h, pk->start, NULL, NULL, NULL);
}

/* Server side: tell the peer why it is refused, then close. */
static void refuse(struct core *c, struct conn *conn, uint16_t type, int err,
		   const char *reason)
{
	uint8_t buf[512];
	struct pack pk;

	log_warn("refusing connection %s: %s", conn->name, reason);
	pack_init(&pk, buf, sizeof(buf));
	auth_refusal_encode(&pk, reason);
	send_small(c, conn, type, FRAME_F_RESPONSE, err, &pk);
	conn->close_err = err;
	conn->close_after_tx = true;
	conn->rx_paused = true;
}

static void became_ready(struct core *c, struct conn *conn)
{
	size_t n = strlen(conn->name);

	conn->state = CS_READY;
	core_timer_del(c, &conn->hs_timer);
	snprintf(conn->name + n, sizeof(conn->name) - n, " (node %u %s)",
		 conn->auth.peer.node_id, node_role_name(conn->auth.peer.role));
	log_debug("connection %s ready, protocol %u", conn->name,
		  conn->auth.version);
	if (conn->ops->ready)
		conn->ops->ready(c, conn);
}

static void hs_server(struct core *c, struct conn *conn,
		      const struct frame_hdr *h, const void *body)
{
	uint8_t buf[512];
	struct pack pk;
	int rc;

	pack_init(&pk, buf, sizeof(buf));
	if (h->type == MSG_PEER_SRV_HELLO && !(h->flags & FRAME_F_RESPONSE)) {
		rc = auth_server_on_hello(&conn->auth, body, h->body_len, &pk);
		if (rc)
			return refuse(c, conn, h->type, rc, conn->auth.reason);
		send_small(c, conn, h->type, FRAME_F_RESPONSE, 0, &pk);
		return;
	}
	if (h->type == MSG_PEER_SRV_AUTH && !(h->flags & FRAME_F_RESPONSE)) {
		rc = auth_server_on_auth(&conn->auth, body, h->body_len);
		if (rc)
			return refuse(c, conn, h->type, rc, conn->auth.reason);
		send_small(c, conn, h->type, FRAME_F_RESPONSE, 0, &pk);
		became_ready(c, conn);
		return;
	}
	refuse(c, conn, h->type, -FFFS_EAUTH,
	       "message before authentication completed");
}

static void hs_refused(struct core *c, struct conn *conn,
		       const struct frame_hdr *h, const void *body)
{
	char reason[256], why[400];

	if (auth_refusal_decode(body, h->body_len, reason, sizeof(reason)))
		snprintf(reason, sizeof(reason), "%s",
			 fffs_strerror(h->status));
	snprintf(why, sizeof(why), "refused by server: %s", reason);
	log_error("connection %s %s", conn->name, why);
	conn_close(c, conn, h->status, NULL);
}

static void hs_client(struct core *c, struct conn *conn,
		      const struct frame_hdr *h, const void *body)
{
	uint8_t buf[512];
	struct pack pk;
	int rc;

	if (!(h->flags & FRAME_F_RESPONSE) ||
	    (h->type != MSG_PEER_SRV_HELLO && h->type != MSG_PEER_SRV_AUTH))
		return conn_close(c, conn, -FFFS_EAUTH,
				  "unexpected message during authentication");
	if (h->status < 0)
		return hs_refused(c, conn, h, body);
	if (h->type == MSG_PEER_SRV_AUTH)
		return became_ready(c, conn);
	pack_init(&pk, buf, sizeof(buf));
	rc = auth_client_on_challenge(&conn->auth, body, h->body_len, &pk);
	if (rc) {
		log_error("connection %s: %s", conn->name, conn->auth.reason);
		return conn_close(c, conn, rc, NULL);
	}
	send_small(c, conn, MSG_PEER_SRV_AUTH, 0, 0, &pk);
}

static void hs_start_client(struct core *c, struct conn *conn)
{
	uint8_t buf[512];
	struct pack pk;
	int rc;

	pack_init(&pk, buf, sizeof(buf));
	rc = auth_client_hello(&conn->auth, &pk);
	if (rc)
		return conn_close(c, conn, rc, conn->auth.reason);
	send_small(c, conn, MSG_PEER_SRV_HELLO, 0, 0, &pk);
}

static void hs_timeout(struct core *c, struct loop_timer *t)
{
	struct conn *conn = fffs_container_of(t, struct conn, hs_timer);
	char why[128];

	snprintf(why, sizeof(why),
		 "connection set-up did not complete within %lld ms",
		 (long long)config_int(CFG_rpc_connect_timeout_ms));
	conn_close(c, conn, -ETIMEDOUT, why);
}

/* ---- receiving --------------------------------------------------------------
 */

static void deliver(struct core *c, struct conn *conn, const void *body,
		    void *bulk)
{
	if (conn->state == CS_HANDSHAKE && conn->server)
		hs_server(c, conn, &conn->cur, body);
	else if (conn->state == CS_HANDSHAKE)
		hs_client(c, conn, &conn->cur, body);
	else if (conn->state == CS_READY)
		conn->ops->frame(c, conn, &conn->cur, body, bulk);
}

static void bad_frame(struct core *c, struct conn *conn, int rc)
{
	const struct frame_hdr *h = &conn->cur;
	char why[256];

	if (rc == -FFFS_EBADVERSION)
		snprintf(why, sizeof(why),
			 "peer speaks frame version %u, we speak %u",
			 h->version, (unsigned)FRAME_VERSION);
	else if (rc == -FFFS_ETOOBIG)
		snprintf(why, sizeof(why),
			 "frame of type %u too large: body %u, bulk %u bytes "
			 "(limits %lld, %lld)",
			 h->type, h->body_len, h->bulk_len,
			 (long long)config_int(CFG_rpc_max_body),
			 (long long)config_int(CFG_rpc_max_bulk));
	else
		snprintf(why, sizeof(why),
			 "malformed frame header (bad magic, checksum or "
			 "flags)");
	if (rc == -FFFS_EBADVERSION && conn->server &&
	    conn->state == CS_HANDSHAKE)
		return refuse(c, conn, h->type, rc, why);
	conn_close(c, conn, rc, why);
}

/* Body complete at rx_buf + rx_off: deliver it or start on its bulk. */
static bool rx_body(struct core *c, struct conn *conn)
{
	uint8_t *body = conn->rx_buf + conn->rx_off;
	size_t extra = conn->rx_len - conn->rx_off - conn->cur.body_len;
	uint32_t take, bl = conn->cur.bulk_len;

	if (bl == 0) {
		conn->rx_off += conn->cur.body_len;
		conn->stage = RX_HDR;
		deliver(c, conn, body, NULL);
		return true;
	}
	if (conn->state != CS_READY) {
		conn_close(c, conn, -FFFS_EBADFRAME,
			   "bulk payload during authentication");
		return false;
	}
	conn->bulk_dst = conn->ops->bulk_dest(c, conn, &conn->cur, body);
	take = extra < bl ? (uint32_t)extra : bl;
	if (conn->bulk_dst && take)
		memcpy(conn->bulk_dst, body + conn->cur.body_len, take);
	conn->bulk_have = take;
	if (take == bl) {
		conn->rx_off += conn->cur.body_len + take;
		conn->stage = RX_HDR;
		deliver(c, conn, body, conn->bulk_dst);
		return true;
	}
	/* Everything after the body is bulk; the rest goes straight to dst. */
	conn->rx_len = conn->rx_off + conn->cur.body_len;
	conn->stage = RX_BULK;
	return false;
}

static void rx_process(struct core *c, struct conn *conn)
{
	uint32_t max_body = (uint32_t)config_int(CFG_rpc_max_body);
	uint32_t max_bulk = (uint32_t)config_int(CFG_rpc_max_bulk);
	int rc;

	while (conn->state != CS_CLOSING && !conn->close_after_tx) {
		size_t avail = conn->rx_len - conn->rx_off;

		if (conn->stage == RX_HDR) {
			if (avail < FRAME_HDR_LEN)
				return;
			rc = frame_hdr_decode(conn->rx_buf + conn->rx_off,
					      &conn->cur, max_body, max_bulk);
			if (rc)
				return bad_frame(c, conn, rc);
			conn->rx_off += FRAME_HDR_LEN;
			conn->stage = RX_BODY;
			avail -= FRAME_HDR_LEN;
		}
		if (conn->stage != RX_BODY || avail < conn->cur.body_len)
			return;
		if (!rx_body(c, conn))
			return;
	}
}

static void rx_bulk_done(struct core *c, struct conn *conn)
{
	void *body = conn->rx_buf + conn->rx_off;

	conn->rx_off += conn->cur.body_len;
	conn->stage = RX_HDR;
	deliver(c, conn, body, conn->bulk_dst);
}

static void rx_done(struct core *c, struct loop_op *op, int res)
{
	struct conn *conn = fffs_container_of(op, struct conn, rx_op);
	char why[128];

	conn->rx_inflight = false;
	if (conn->state == CS_CLOSING) {
		/* nothing more to read */
	} else if (res <= 0) {
		snprintf(why, sizeof(why), "%s",
			 res < 0		       ? fffs_strerror(res)
			 : conn->state == CS_HANDSHAKE ? "peer closed the "
							 "connection before "
							 "authentication "
							 "completed"
						       : "peer closed the "
							 "connection");
		conn_close(c, conn, res == 0 ? -ECONNRESET : res,
			   conn->state == CS_READY && res == 0 ? NULL : why);
	} else if (conn->stage == RX_BULK) {
		conn->bulk_have += (uint32_t)res;
		if (conn->bulk_have == conn->cur.bulk_len) {
			rx_bulk_done(c, conn);
			rx_process(c, conn);
		}
	} else {
		conn->rx_len += (size_t)res;
		rx_process(c, conn);
	}
	rx_arm(c, conn);
	maybe_finalize(c, conn);
	conn_put(c, conn);
}

/* Room in rx_buf for the next header or the current body. */
static void rx_make_room(struct conn *conn)
{
	size_t need =
		conn->stage == RX_BODY ? conn->cur.body_len : FRAME_HDR_LEN;

	if (conn->rx_off == conn->rx_len)
		conn->rx_off = conn->rx_len = 0;
	if (conn->rx_cap - conn->rx_len >= RX_MIN_FREE &&
	    conn->rx_cap - conn->rx_off >= need)
		return;
	if (conn->rx_off) {
		memmove(conn->rx_buf, conn->rx_buf + conn->rx_off,
			conn->rx_len - conn->rx_off);
		conn->rx_len -= conn->rx_off;
		conn->rx_off = 0;
	}
	if (conn->rx_cap < need + RX_MIN_FREE) {
		conn->rx_cap = need + RX_MIN_FREE;
		conn->rx_buf = xrealloc(conn->rx_buf, conn->rx_cap);
	}
}

static void rx_arm(struct core *c, struct conn *conn)
{
	struct io_uring_sqe *sqe;
	int flags = 0;
	uint8_t *buf;
	size_t len;

	if (conn->rx_inflight || conn->rx_paused || conn->close_after_tx ||
	    conn->state == CS_CLOSING || conn->state == CS_CONNECTING)
		return;
	if (conn->stage == RX_BULK && conn->bulk_dst) {
		buf = conn->bulk_dst + conn->bulk_have;
		len = conn->cur.bulk_len - conn->bulk_have;
		flags = MSG_WAITALL; /* one completion for the whole payload */
	} else if (conn->stage == RX_BULK) {
		if (!conn->discard)
			conn->discard = xmalloc(DISCARD_BUF);
		buf = conn->discard;
		len = conn->cur.bulk_len - conn->bulk_have;
		len = len < DISCARD_BUF ? len : DISCARD_BUF;
	} else {
		rx_make_room(conn);
		buf = conn->rx_buf + conn->rx_len;
		len = conn->rx_cap - conn->rx_len;
	}
	conn->rx_op.done = rx_done;
	sqe = core_sqe(c, &conn->rx_op);
	io_uring_prep_recv(sqe, conn->fd, buf, len, flags);
	conn->rx_inflight = true;
	conn_get(conn);
}

void conn_rx_pause(struct core *c, struct conn *conn)
{
	conn->rx_paused = true;
}

static void resume_cb(struct core *c, struct loop_msg *m)
{
	struct conn *conn = fffs_container_of(m, struct conn, resume_msg);

	conn->resume_pending = false;
	if (!conn->rx_paused && conn->state != CS_CLOSING) {
		rx_process(c, conn);
		rx_arm(c, conn);
	}
	maybe_finalize(c, conn);
	conn_put(c, conn);
}

/* Frames already buffered are processed from the loop, not from inside
 * the reply that resumed us: no recursion through handlers. */
void conn_rx_resume(struct core *c, struct conn *conn)
{
	if (!conn->rx_paused || conn->close_after_tx)
		return;
	conn->rx_paused = false;
	if (conn->resume_pending)
		return;
	conn->resume_pending = true;
	conn_get(conn);
	core_post(c, &conn->resume_msg);
}

/* ---- set-up
 * ------------------------------------------------------------------ */

static struct conn *conn_new(struct core *c, int fd, const struct conn_ops *ops,
			     void *owner, bool server)
{
	struct conn *conn = xcalloc(1, sizeof(*conn));

	conn->core = c;
	conn->fd = fd;
	conn->refs = 1;
	conn->server = server;
	conn->ops = ops;
	conn->owner = owner;
	conn->tx_tailp = &conn->tx_head;
	conn->kick_msg.cb = kick_cb;
	conn->resume_msg.cb = resume_cb;
	conn->rx_cap = RX_BUF_INIT;
	conn->rx_buf = xmalloc(conn->rx_cap);
	FFFS_ASSERT(id_secret);
	auth_init(&conn->auth, id_secret, &id_self, server);
	core_timer_init(&conn->hs_timer, hs_timeout);
	core_timer_add(c, &conn->hs_timer,
		       (uint64_t)config_int(CFG_rpc_connect_timeout_ms) *
			       1000000);
	return conn;
}

static void connect_done(struct core *c, struct loop_op *op, int res)
{
	struct conn *conn = fffs_container_of(op, struct conn, connect_op);
	char why[256];

	conn->connect_inflight = false;
	if (conn->state == CS_CLOSING) {
		/* closed while connecting */
	} else if (res < 0) {
		snprintf(why, sizeof(why), "cannot connect: %s",
			 fffs_strerror(res));
		conn->quiet = true; /* the rpc layer says it once per outage */
		conn_close(c, conn, res, why);
	} else {
		tcp_tune(conn->fd);
		conn->state = CS_HANDSHAKE;
		hs_start_client(c, conn);
		rx_arm(c, conn);
	}
	maybe_finalize(c, conn);
	conn_put(c, conn);
}

struct conn *conn_connect(struct core *c, const struct tcp_addr *addr,
			  const char *name, const struct conn_ops *ops,
			  void *owner)
{
	struct io_uring_sqe *sqe;
	struct conn *conn;
	int fd = tcp_socket(addr);

	if (fd < 0) {
		log_error("cannot create socket for %s: %s", name,
			  fffs_strerror(fd));
		return NULL;
	}
	conn = conn_new(c, fd, ops, owner, false);
	conn->addr = *addr;
	snprintf(conn->name, sizeof(conn->name), "%s", name);
	conn->state = CS_CONNECTING;
	conn->connect_op.done = connect_done;
	sqe = core_sqe(c, &conn->connect_op);
	io_uring_prep_connect(sqe, fd, (struct sockaddr *)&conn->addr.ss,
			      conn->addr.len);
	conn->connect_inflight = true;
	conn_get(conn);
	return conn;
}

struct conn *conn_accept(struct core *c, int fd, const struct conn_ops *ops,
			 void *owner)
{
	struct conn *conn = conn_new(c, fd, ops, owner, true);
	struct tcp_addr a;

	a.len = sizeof(a.ss);
	if (getpeername(fd, (struct sockaddr *)&a.ss, &a.len) == 0)
		tcp_addr_str(&a, conn->name, sizeof(conn->name));
	else
		snprintf(conn->name, sizeof(conn->name), "fd %d", fd);
	tcp_tune(fd);
	conn->state = CS_HANDSHAKE;
	rx_arm(c, conn);
	return conn;
}
