/* net/metrics_http.h - the HTTP/1.0 endpoint that serves the metrics
 * registry (base/metrics.h) to Prometheus.
 *
 *	port = metrics_http_start("tcp://0.0.0.0:9100", err, errlen);
 *
 * Binds and listens before it returns (so a bad or busy address is an
 * error here, in err, naming the URI), then answers on its own thread
 * (fffs_thread_start: signals stay blocked), one connection at a time:
 * GET /metrics gets the text exposition (text/plain; version=0.0.4),
 * another path 404, another method 405. Not the data path: plain blocking
 * sockets, a 2 s receive/send timeout per connection, requests up to 4 KiB.
 * Switches metrics_enable() on. Returns the port bound (useful with port
 * 0) or a negative errno. One
 * server per process; the thread runs until the process exits.
 */
#ifndef NET_METRICS_HTTP_H
#define NET_METRICS_HTTP_H

#include "fffs.h"

int metrics_http_start(const char *uri, char *err, size_t errlen);

#endif /* NET_METRICS_HTTP_H */
