/* net/tcp.c - TCP URI parsing, listening sockets and socket options. */
#define LOG_SUBSYS "tcp"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net/tcp.h"

static int split_host_port(const char *hp, char *host, size_t hcap, char *port,
			   size_t pcap)
{
	const char *colon;
	size_t hl;

	if (hp[0] == '[') {
		const char *rb = strchr(hp, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		hp++;
		hl = (size_t)(rb - hp);
		colon = rb + 1;
	} else {
		colon = strrchr(hp, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - hp);
	}
	if (hl == 0 || hl >= hcap || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= pcap)
		return -EINVAL;
	memcpy(host, hp, hl);
	host[hl] = 0;
	snprintf(port, pcap, "%s", colon + 1);
	for (const char *p = port; *p; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	return 0;
}

/* 0 when port is a decimal number in 0..65535. */
static int port_check(const char *port)
{
	unsigned long v = 0;

	for (const char *p = port; *p; p++) {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 65535)
			return -EINVAL;
	}
	return 0;
}

int tcp_addr_parse(const char *uri, struct tcp_addr *a, char *err,
		   size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	char host[256], port[16];
	const char *hp = uri;
	int rc;

	if (!strncmp(uri, "rdma://", 7)) {
		snprintf(err, errlen,
			 "address '%s': the rdma transport is not available "
			 "in this build; use tcp://",
			 uri);
		return -EPROTONOSUPPORT;
	}
	if (!strncmp(uri, "tcp://", 6))
		hp = uri + 6;
	else if (strstr(uri, "://")) {
		snprintf(err, errlen, "address '%s': unknown scheme", uri);
		return -EINVAL;
	}
	if (split_host_port(hp, host, sizeof(host), port, sizeof(port)) ||
	    port_check(port)) {
		snprintf(err, errlen, "address '%s': expected tcp://HOST:PORT",
			 uri);
		return -EINVAL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "address '%s': cannot resolve '%s': %s",
			 uri, host, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
	a->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

void tcp_addr_str(const struct tcp_addr *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)&a->ss;

		inet_ntop(AF_INET, &s->sin_addr, host, sizeof(host));
		port = ntohs(s->sin_port);
		snprintf(buf, len, "%s:%d", host, port);
	} else if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)&a->ss;

		inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof(host));
		port = ntohs(s->sin6_port);
		snprintf(buf, len, "[%s]:%d", host, port);
	} else {
		snprintf(buf, len, "?");
	}
}

int tcp_socket(const struct tcp_addr *a)
{
	int fd = socket(a->ss.ss_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	return fd < 0 ? -errno : fd;
}

int tcp_listen(const struct tcp_addr *a, char *err, size_t errlen)
{
	char name[128];
	int fd, one = 1, rc;

	tcp_addr_str(a, name, sizeof(name));
	fd = tcp_socket(a);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create socket for '%s': %s", name,
			 fffs_strerror(fd));
		return fd;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0 ||
	    listen(fd, 1024) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot listen on '%s': %s", name,
			 fffs_strerror(rc));
		close(fd);
		return rc;
	}
	return fd;
}

void tcp_tune(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int tcp_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}
