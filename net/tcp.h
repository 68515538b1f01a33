/* net/tcp.h - TCP sockets: URI parsing, listening, socket tuning.
 *
 * URIs are "tcp://HOST:PORT" (HOST a name, an IPv4 address or [IPv6]);
 * "HOST:PORT" alone means tcp. "rdma://" is recognised and refused with
 * -EPROTONOSUPPORT until the RDMA transport exists. Name resolution blocks:
 * resolve at start-up or when a peer is first used, not per request.
 */
#ifndef NET_TCP_H
#define NET_TCP_H

#include <sys/socket.h>

#include "fffs.h"

struct tcp_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Parse and resolve uri; err names the URI on failure. */
int tcp_addr_parse(const char *uri, struct tcp_addr *a, char *err,
		   size_t errlen);
/* "127.0.0.1:9000" */
void tcp_addr_str(const struct tcp_addr *a, char *buf, size_t len);

/* A listening, non-blocking socket bound to a; err names the address. */
int tcp_listen(const struct tcp_addr *a, char *err, size_t errlen);
/* A new non-blocking stream socket for a's family. */
int tcp_socket(const struct tcp_addr *a);
/* Low latency options for a connected socket (TCP_NODELAY). */
void tcp_tune(int fd);
/* The local port a socket is bound to (for listen on port 0). */
int tcp_local_port(int fd);

#endif /* NET_TCP_H */
