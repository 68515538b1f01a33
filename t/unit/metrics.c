/* t/unit/metrics.c - unit test of the metrics registry, histogram buckets,
 * the Prometheus text rendering (base/metrics.c) and the HTTP endpoint
 * (net/metrics_http.c). */
#define LOG_SUBSYS "t-metrics"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/metrics.h"
#include "fffs.h"
#include "net/metrics_http.h"
#include "t/unit/tap.h"

static void test_buckets(void)
{
	is_int(metrics_bucket(0), 0, "0 ns is in the first bucket");
	is_int(metrics_bucket(50000), 0, "50 us is in the first bucket (le)");
	is_int(metrics_bucket(50001), 1, "just above 50 us is in the second");
	is_int(metrics_bucket(1000000), 4, "1 ms is in the le=0.001 bucket");
	is_int(metrics_bucket(10000000000ull), METRICS_NBUCKETS - 1,
	       "10 s is in the last finite bucket");
	is_int(metrics_bucket(10000000001ull), METRICS_NBUCKETS,
	       "above 10 s is +Inf");
	is_int(metrics_bucket(UINT64_MAX), METRICS_NBUCKETS, "huge is +Inf");
	for (int i = 1; i < METRICS_NBUCKETS; i++)
		if (metrics_bucket_ns[i] <= metrics_bucket_ns[i - 1])
			ok(0, "bucket bounds increase");
}

static void test_registry(void)
{
	struct metric_family *f =
		metrics_family("t_total", METRIC_COUNTER, "T.", "op,role");
	struct metric *a = metrics_get(f, "READ", "storage");
	struct metric *b = metrics_get(f, "WRITE", "storage");

	ok(metrics_family("t_total", METRIC_COUNTER, "T.", "op,role") == f,
	   "a family is get-or-create by name");
	ok(metrics_get(f, "READ", "storage") == a,
	   "a series is get-or-create by label values");
	ok(a != b, "other label values give another series");
	metrics_add(a, 3);
	metrics_add(a, 4);
	is_int(metrics_value(a), 7, "a counter sums its adds");
	is_int(metrics_value(b), 0, "another series is untouched");
	metrics_reset();
}

struct adder {
	struct metric *c, *h;
	int core;
};

static void *adder_main(void *arg)
{
	struct adder *a = arg;

	log_core_id = a->core; /* its own shard, or a shared one */
	for (int i = 0; i < 100000; i++) {
		metrics_add(a->c, 1);
		metrics_observe(a->h, 1000);
	}
	return NULL;
}

static void test_threads(void)
{
	struct metric *c =
		metrics_get(metrics_family("t_c", METRIC_COUNTER, "C.", NULL));
	struct metric *h = metrics_get(
		metrics_family("t_h", METRIC_HISTOGRAM, "H.", NULL));
	struct adder ad[4];
	pthread_t t[4];

	for (int i = 0; i < 4; i++) {
		ad[i] = (struct adder){ c, h, i % 3 - 1 };
		pthread_create(&t[i], NULL, adder_main, &ad[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	is_int(metrics_value(c), 400000, "4 threads x 100000 adds: no loss");
	is_int(metrics_value(h), 400000, "histogram count from 4 threads");
	metrics_reset();
}

static const char *expected =
	"# HELP fffs_req_total Requests, by op.\n"
	"# TYPE fffs_req_total counter\n"
	"fffs_req_total{op=\"PING\"} 2\n"
	"fffs_req_total{op=\"a\\\"b\\\\c\\nd\"} 1\n"
	"# HELP fffs_up Up (1) or \\\\ down.\n"
	"# TYPE fffs_up gauge\n"
	"fffs_up -5\n"
	"# HELP fffs_lat_seconds Latency.\n"
	"# TYPE fffs_lat_seconds histogram\n"
	"fffs_lat_seconds_bucket{op=\"PING\",le=\"0.00005\"} 1\n"
	"fffs_lat_seconds_bucket{op=\"PING\",le=\"0.0001\"} 1\n"
	"fffs_lat_seconds_bucket{op=\"PING\",le=\"0.00025\"} 1\n"
	"fffs_lat_seconds_bucket{op=\"PING\",le=\"0.0005\"} 1\n"
	"fffs_lat_seconds_bucket{op=\"PING\",le=\"0.001\"} 1\n"
	"fffs_lat_seconds_bucket{op=\"PING\",le=\"0.0025\"} 1\n"
	"fffs_lat_seconds_bucket{op=\"PING\",le=\"0.005\"} 2\n"
	"fffs_lat_seconds_bucket{op=\"PING\",le=\"0.01\"} 2\n"
	"fffs_lat_seconds_bucket{op=\"PING\",le=\"0.025\"} 2\n"
	"fffs_lat_seconds_bucket{op=\"PING\",le=\"0.05\"} 2\n"
	"fffs_lat_seconds_bucket{op=\"PING\",le=\"0.1\"} 2\n"
	"fffs_lat_seconds_bucket{op=\"PING\",le=\"0.25\"} 2\n"
	"fffs_lat_seconds_bucket{op=\"PING\",le=\"0.5\"} 2\n"
	"fffs_lat_seconds_bucket{op=\"PING\",le=\"1\"} 2\n"
	"fffs_lat_seconds_bucket{op=\"PING\",le=\"2.5\"} 2\n"
	"fffs_lat_seconds_bucket{op=\"PING\",le=\"5\"} 2\n"
	"fffs_lat_seconds_bucket{op=\"PING\",le=\"10\"} 2\n"
	"fffs_lat_seconds_bucket{op=\"PING\",le=\"+Inf\"} 3\n"
	"fffs_lat_seconds_sum{op=\"PING\"} 12.00303\n"
	"fffs_lat_seconds_count{op=\"PING\"} 3\n";

static int collected;

static void collect(void *arg)
{
	collected++;
	metrics_set(arg, -5);
}

static void test_render(void)
{
	struct metric_family *req = metrics_family(
		"fffs_req_total", METRIC_COUNTER, "Requests, by op.", "op");
	struct metric_family *up = metrics_family("fffs_up", METRIC_GAUGE,
						  "Up (1) or \\ down.", "");
	struct metric_family *lat = metrics_family(
		"fffs_lat_seconds", METRIC_HISTOGRAM, "Latency.", "op");
	struct metric *h = metrics_get(lat, "PING");
	char *text;
	size_t len;

	metrics_family("fffs_empty", METRIC_GAUGE, "No series: not shown.",
		       "x");
	metrics_add(metrics_get(req, "PING"), 2);
	metrics_add(metrics_get(req, "a\"b\\c\nd"), 1);
	metrics_collector_add(collect, metrics_get(up));
	metrics_observe(h, 30000);
	metrics_observe(h, 3000000);
	metrics_observe(h, 12000000000ull);
	text = metrics_render(&len);
	is_str(text, expected, "text exposition, exactly");
	is_int(len, strlen(expected), "its length");
	is_int(collected, 1, "collectors run once per render");
	if (strcmp(text, expected))
		printf("# got:\n%s", text);
	free(text);
	metrics_collector_del(collect, metrics_get(up));
	free(metrics_render(NULL));
	is_int(collected, 1, "a removed collector runs no more");
	metrics_reset();
}

static void test_sweep(void)
{
	struct metric_family *f =
		metrics_family("t_state", METRIC_GAUGE, "S.", "target,state");
	char *text;

	metrics_set(metrics_get(f, "1", "serving"), 1);
	metrics_set(metrics_get(f, "2", "serving"), 1);
	metrics_family_mark(f);
	metrics_set(metrics_get(f, "1", "offline"), 1);
	metrics_set(metrics_get(f, "2", "serving"), 1);
	metrics_family_sweep(f);
	metrics_set(metrics_get(f, "3", "waiting"), 1);
	text = metrics_render(NULL);
	is_str(text,
	       "# HELP t_state S.\n# TYPE t_state gauge\n"
	       "t_state{target=\"2\",state=\"serving\"} 1\n"
	       "t_state{target=\"1\",state=\"offline\"} 1\n"
	       "t_state{target=\"3\",state=\"waiting\"} 1\n",
	       "sweep drops the series not set since the mark");
	free(text);
	metrics_reset();
}

/* One HTTP/1.0 exchange with the endpoint; the whole answer. */
static char *http(int port, const char *req)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port) };
	size_t len = 0, cap = 65536;
	char *buf = xcalloc(1, cap);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ssize_t k;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    write(fd, req, strlen(req)) == (ssize_t)strlen(req))
		while (len < cap - 1 &&
		       (k = read(fd, buf + len, cap - 1 - len)) > 0)
			len += (size_t)k;
	close(fd);
	return buf;
}

static void test_http(void)
{
	char err[512];
	char *r;
	int port;

	is_int(metrics_http_start("tcp://127.0.0.1:notaport", err, sizeof(err)),
	       -EINVAL, "a bad URI is refused");
	ok(strstr(err, "--metrics") && strstr(err, "notaport"),
	   "and the error names the option and the URI");
	ok(metrics_http_start("rdma://127.0.0.1:0", err, sizeof(err)) < 0,
	   "rdma:// is refused");
	metrics_add(metrics_get(metrics_family("t_http_total", METRIC_COUNTER,
					       "H.", NULL)),
		    42);
	ok(!metrics_enabled(), "metrics are off until an endpoint serves them");
	port = metrics_http_start("tcp://127.0.0.1:0", err, sizeof(err));
	ok(port > 0, "the endpoint listens on a port of its own");
	ok(metrics_enabled(), "... and on once it does");
	r = http(port, "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n");
	ok(!strncmp(r, "HTTP/1.0 200 OK\r\n", 17), "GET /metrics: 200");
	ok(strstr(r, "Content-Type: text/plain; version=0.0.4") != NULL,
	   "with the text exposition content type");
	ok(strstr(r, "\r\n\r\n# HELP t_http_total H.\n") &&
		   strstr(r, "\nt_http_total 42\n"),
	   "and the metrics as body");
	free(r);
	r = http(port, "GET /other HTTP/1.1\r\n\r\n");
	ok(!strncmp(r, "HTTP/1.0 404 ", 13), "another path: 404");
	free(r);
	r = http(port, "POST /metrics HTTP/1.0\r\n\r\n");
	ok(!strncmp(r, "HTTP/1.0 405 ", 13), "another method: 405");
	free(r);
}

int main(void)
{
	test_buckets();
	test_registry();
	test_threads();
	test_render();
	test_sweep();
	test_http();
	return done_testing();
}
