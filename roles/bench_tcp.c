/* roles/bench_tcp.c - the plain-TCP baseline of `fffs bench rpc`: blocking
 * send/recv of the same sizes and depth over loopback, no framing. */
#define LOG_SUBSYS "bench"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "roles/bench.h"

struct tcp_side {
	int fd;
	size_t req, resp; /* bytes per request and per response */
};

static int send_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* 1 when n bytes arrived, 0 at end of stream, negative on error. */
static int recv_all(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n) {
		ssize_t r = recv(fd, p, n, MSG_WAITALL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? 0 : -errno;
		p += r;
		n -= (size_t)r;
	}
	return 1;
}

/* The server: answer each request with a response, until end of stream. */
static void *tcp_server(void *arg)
{
	struct tcp_side *s = arg;
	size_t cap = s->req > s->resp ? s->req : s->resp;
	char *buf = xcalloc(1, cap);

	while (recv_all(s->fd, buf, s->req) == 1)
		if (send_all(s->fd, buf, s->resp))
			break;
	free(buf);
	return NULL;
}

/* A connected pair of loopback sockets: *cfd (client) and *sfd. */
static int tcp_pair(int *cfd, int *sfd)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int lfd, one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -errno;
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len))
		goto out_err;
	*cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*cfd < 0 || connect(*cfd, (struct sockaddr *)&sa, sizeof(sa)))
		goto out_err;
	*sfd = accept(lfd, NULL, NULL);
	if (*sfd < 0)
		goto out_err;
	setsockopt(*cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(*sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	close(lfd);
	return 0;
out_err:
	one = -errno;
	close(lfd);
	return one;
}

/* Keep depth requests in flight for the duration; responses come back in
 * order, so each one's latency is measured against its request's send. */
static int run_pipelined(const struct bench_args *a, size_t req, size_t resp,
			 uint64_t depth, struct bench_result *r)
{
	struct tcp_side s = { .req = req, .resp = resp };
	uint64_t *t0 = xcalloc(depth, sizeof(*t0));
	char *rq = xcalloc(1, req), *rs = xcalloc(1, resp);
	uint64_t sent = 0, got = 0, start, end;
	struct bench_lat lat = { 0 };
	pthread_t th;
	int cfd = -1, rc;

	rc = tcp_pair(&cfd, &s.fd);
	if (rc)
		goto out_free;
	pthread_create(&th, NULL, tcp_server, &s);
	start = now_ns();
	end = start + a->duration_s * 1000000000ull;
	for (; sent < depth && !rc; sent++) {
		t0[sent % depth] = now_ns();
		rc = send_all(cfd, rq, req);
	}
	while (!rc && got < sent) {
		if (recv_all(cfd, rs, resp) != 1) {
			rc = -EPIPE;
			break;
		}
		bench_lat_add(&lat, now_ns() - t0[got++ % depth]);
		if (now_ns() < end) {
			t0[sent++ % depth] = now_ns();
			rc = send_all(cfd, rq, req);
		}
	}
	r->secs = (double)(now_ns() - start) / 1e9;
	r->ops = got;
	r->bytes = got * (req > resp ? req : resp);
	bench_lat_finish(&lat, r);
	shutdown(cfd, SHUT_WR);
	pthread_join(th, NULL);
	close(cfd);
	close(s.fd);
out_free:
	free(t0);
	free(rq);
	free(rs);
	return rc;
}

int bench_tcp_small(const struct bench_args *a, struct bench_result *r)
{
	return run_pipelined(a, a->size, a->size, a->concurrency, r);
}

int bench_tcp_bulk(const struct bench_args *a, bool write,
		   struct bench_result *r)
{
	if (write)
		return run_pipelined(a, a->bulk_size, 1, a->bulk_depth, r);
	return run_pipelined(a, 1, a->bulk_size, a->bulk_depth, r);
}

void bench_lat_add(struct bench_lat *l, uint64_t ns)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 4096;
		l->ns = xrealloc(l->ns, l->cap * sizeof(*l->ns));
	}
	l->ns[l->n++] = ns;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

void bench_lat_finish(struct bench_lat *l, struct bench_result *r)
{
	if (l->n) {
		qsort(l->ns, l->n, sizeof(*l->ns), cmp_u64);
		r->p50_us = (double)l->ns[l->n / 2] / 1e3;
		r->p99_us = (double)l->ns[(l->n * 99) / 100] / 1e3;
	}
	free(l->ns);
	memset(l, 0, sizeof(*l));
}
