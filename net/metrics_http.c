/* net/metrics_http.c - a tiny HTTP/1.0 server for GET /metrics. */
#define LOG_SUBSYS "metrics"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/metrics.h"
#include "net/metrics_http.h"
#include "net/tcp.h"

#define REQ_MAX 4096

static int http_lfd = -1;

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		if (k <= 0)
			return;
		p += k;
		n -= (size_t)k;
	}
}

static void respond(int fd, const char *status, const char *body, size_t len)
{
	char hdr[256];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.0 %s\r\nContent-Type: text/plain; "
			 "version=0.0.4; charset=utf-8\r\nContent-Length: "
			 "%zu\r\nConnection: close\r\n\r\n",
			 status, len);

	send_all(fd, hdr, (size_t)n);
	send_all(fd, body, len);
}

/* Read up to the end of the request head (or REQ_MAX, or a timeout). */
static int read_head(int fd, char *buf)
{
	size_t len = 0;

	while (len < REQ_MAX - 1) {
		ssize_t k = recv(fd, buf + len, REQ_MAX - 1 - len, 0);

		if (k <= 0)
			return -1;
		len += (size_t)k;
		buf[len] = 0;
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return 0;
	}
	return 0; /* long head: the request line is what matters */
}

static void serve_one(int fd)
{
	struct timeval tv = { 2, 0 };
	char buf[REQ_MAX], *sp, *path, *end;
	size_t len;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (read_head(fd, buf))
		return;
	sp = strchr(buf, ' ');
	if (!sp)
		return respond(fd, "400 Bad Request", "bad request\n", 12);
	*sp = 0;
	path = sp + 1;
	end = path + strcspn(path, " ?\r\n");
	*end = 0;
	if (strcmp(buf, "GET"))
		return respond(fd, "405 Method Not Allowed",
			       "only GET is served\n", 19);
	if (strcmp(path, "/metrics"))
		return respond(fd, "404 Not Found", "not found: try /metrics\n",
			       24);
	sp = metrics_render(&len);
	respond(fd, "200 OK", sp, len);
	free(sp);
}

static void *http_main(void *arg)
{
	for (;;) {
		int fd = accept4(http_lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			log_error("metrics: accept failed: %s; the endpoint "
				  "stops",
				  fffs_strerror(-errno));
			return NULL;
		}
		serve_one(fd);
		close(fd);
	}
}

int metrics_http_start(const char *uri, char *err, size_t errlen)
{
	char why[384];
	struct tcp_addr a;
	pthread_t t;
	int rc, fd = -1;

	FFFS_ASSERT(http_lfd < 0);
	rc = tcp_addr_parse(uri, &a, why, sizeof(why));
	if (!rc) {
		rc = fd = tcp_listen(&a, why, sizeof(why));
		if (fd >= 0)
			rc = 0;
	}
	if (rc) {
		snprintf(err, errlen, "--metrics: %s", why);
		return rc;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	http_lfd = fd;
	rc = fffs_thread_start(&t, "fffs-metrics", http_main, NULL);
	if (rc) {
		snprintf(err, errlen, "--metrics: cannot start a thread: %s",
			 fffs_strerror(rc));
		close(fd);
		http_lfd = -1;
		return rc;
	}
	pthread_detach(t);
	metrics_enable();
	return tcp_local_port(fd);
}
