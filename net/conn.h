/* net/conn.h - one framed, authenticated TCP connection owned by one core.
 *
 * A conn turns a socket into frames: it runs the handshake (net/auth.h),
 * then hands every frame to its owner through struct conn_ops, and sends
 * the frames the owner queues. Frames are validated on arrival; a
 * malformed, truncated or oversized frame closes the connection with a
 * logged reason and never reaches the owner.
 *
 *	conn_connect(c, addr, name, ops, owner)  client side: connect, then
 *HELLO conn_accept(c, fd, ops, owner)           server side: wait for HELLO
 *	  ops->ready(conn)                       handshake done, frames may flow
 *	  ops->bulk_dest(conn, hdr, body)        where bulk bytes should land
 *	  ops->frame(conn, hdr, body, bulk)      one whole frame
 *	  ops->closed(conn, err)                 last call; conn is freed after
 *	conn_send(conn, hdr, body, bulk, sent)   queue a frame (copies body,
 *	                                         borrows bulk until sent())
 *	conn_close(conn, err, reason)            shut down; frees when idle
 *
 * Sends are batched: frames queued in one loop iteration go out in one
 * sendmsg. Bulk bytes are received straight into the buffer bulk_dest
 * returns (no copy beyond what already sat in the receive buffer) and sent
 * straight from the caller's buffer.
 *
 * A conn stays allocated while it is referenced (conn_get/conn_put), so a
 * request handler may reply after the connection closed (the reply is
 * dropped). All functions run on the conn's core.
 */
#ifndef NET_CONN_H
#define NET_CONN_H

#include "net/auth.h"
#include "net/frame.h"
#include "net/loop.h"
#include "net/tcp.h"

#include <sys/uio.h>

struct conn;

struct conn_ops {
	void (*ready)(struct core *c, struct conn *conn);
	/* Return a buffer of at least hdr->bulk_len bytes, or NULL to have
	 * the bulk read and discarded (frame() then gets bulk == NULL). */
	void *(*bulk_dest)(struct core *c, struct conn *conn,
			   const struct frame_hdr *hdr, const void *body);
	void (*frame)(struct core *c, struct conn *conn,
		      const struct frame_hdr *hdr, const void *body,
		      void *bulk);
	void (*closed)(struct core *c, struct conn *conn, int err);
};

/* Called once the frame's bytes (and bulk) left or will never leave:
 * err 0 when sent, else the connection's error. */
typedef void (*conn_sent_cb)(struct core *c, void *arg, int err);

/* Identity and secret used by every handshake of this process; set once
 * before any loop starts. */
void conn_identity_set(const struct auth_secret *secret,
		       const struct auth_self *self);

struct conn *conn_connect(struct core *c, const struct tcp_addr *addr,
			  const char *name, const struct conn_ops *ops,
			  void *owner);
struct conn *conn_accept(struct core *c, int fd, const struct conn_ops *ops,
			 void *owner);

int conn_send(struct core *c, struct conn *conn, const struct frame_hdr *hdr,
	      const void *body, const void *bulk, conn_sent_cb sent, void *arg);
/* The same with the bulk in nbulk segments (sum = hdr->bulk_len). */
int conn_sendv(struct core *c, struct conn *conn, const struct frame_hdr *hdr,
	       const void *body, const struct iovec *bulk, int nbulk,
	       conn_sent_cb sent, void *arg);
void conn_close(struct core *c, struct conn *conn, int err, const char *reason);

/* Close once every queued frame has been sent (graceful shutdown). */
void conn_close_after_tx(struct core *c, struct conn *conn);

void conn_get(struct conn *conn);
void conn_put(struct core *c, struct conn *conn);

/* Stop or restart reading (server back-pressure). */
void conn_rx_pause(struct core *c, struct conn *conn);
void conn_rx_resume(struct core *c, struct conn *conn);

bool conn_ready(const struct conn *conn);
bool conn_closing(const struct conn *conn);
/* Frames queued and not yet fully sent. */
unsigned conn_tx_queued(const struct conn *conn);
void *conn_owner(const struct conn *conn);
void conn_set_owner(struct conn *conn, void *owner);
/* "127.0.0.1:9000 (node 3 storage)" */
const char *conn_name(const struct conn *conn);
const struct auth_self *conn_peer(const struct conn *conn);

/* Drop a frame still waiting in the queue (not yet handed to the kernel).
 * Returns 0 and calls its sent(-ECANCELED), or -EBUSY if it is being sent
 * or -ENOENT if it is gone. Identified by its sent arg. */
int conn_unqueue(struct core *c, struct conn *conn, void *arg);

#endif /* NET_CONN_H */
