/* base/metrics.h - the process's metrics registry (counters, gauges,
 * latency histograms) and its Prometheus text rendering.
 *
 *	struct metric_family *f = metrics_family("fffs_rpc_requests_total",
 *		METRIC_COUNTER, "Requests served.", "op");
 *	struct metric *m = metrics_get(f, "PEER_SRV_PING");  // keep it
 *	metrics_add(m, 1);                    // hot path, any thread
 *	metrics_observe(lat, now_ns() - t0);  // histograms take nanoseconds
 *	char *text = metrics_render(&len);    // free() it
 *
 * metrics_family() and metrics_get() are get-or-create (the same name or
 * the same label values give the same object) and take the registry lock:
 * call them once and keep the pointer. Families and series live as long as
 * the process, except series removed by metrics_family_sweep(). Labels are
 * at most METRICS_MAX_LABELS names, given as one comma-separated string
 * ("op,target"; NULL or "" for none); metrics_get() takes exactly that many
 * values.
 *
 * Updates are lock-free: counters and histograms are sharded by core
 * (log_core_id) into cache-line aligned cells, summed when rendered; the
 * first loop threads own a shard each and update it without locked
 * instructions, other threads share one with relaxed atomic adds; a gauge
 * is one atomic value. A scrape
 * sees each cell at some recent moment, not one consistent instant.
 *
 * Histograms have the fixed buckets of metrics_bucket_ns (50 us .. 10 s,
 * 1-2.5-5 steps, then +Inf); they render in seconds (le, _sum), as
 * Prometheus expects of *_seconds metrics.
 *
 * Gauges that mirror a snapshot (routing info) are rebuilt with
 * metrics_family_mark(f), metrics_get()+metrics_set() for what exists now,
 * metrics_family_sweep(f): series not touched since the mark go. Only for
 * families whose series pointers nobody keeps.
 *
 * Collectors (metrics_collector_add) run on the scraping thread just before
 * rendering, to set gauges from state that is cheap to read from any
 * thread (space of targets); remove one before what it reads goes.
 */
#ifndef BASE_METRICS_H
#define BASE_METRICS_H

#include "fffs.h"

#define METRICS_MAX_LABELS 3
#define METRICS_NBUCKETS   17 /* finite buckets; +Inf is extra */

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metric_family;
struct metric;

extern const uint64_t metrics_bucket_ns[METRICS_NBUCKETS];

struct metric_family *metrics_family(const char *name, enum metric_type type,
				     const char *help, const char *labels);
/* The series with these label values (as many as the family has). */
struct metric *metrics_get(struct metric_family *f, ...);
struct metric *metrics_getv(struct metric_family *f, const char *const *vals);

void metrics_add(struct metric *m, uint64_t n); /* counter or gauge */
void metrics_set(struct metric *m, int64_t v);	/* gauge */
/* Histogram: one observation of ns nanoseconds. */
void metrics_observe(struct metric *m, uint64_t ns);
/* Index of the bucket ns falls in (METRICS_NBUCKETS: +Inf). */
int metrics_bucket(uint64_t ns);
/* Current value (counter/gauge; histogram: the count), summed. */
int64_t metrics_value(const struct metric *m);

void metrics_family_mark(struct metric_family *f);
void metrics_family_sweep(struct metric_family *f);

/* Whether anybody can read the metrics (an endpoint serves them): until
 * metrics_enable(), instrumentation whose own cost matters (taking the
 * time for latencies) may skip its work. */
void metrics_enable(void);
bool metrics_enabled(void);

void metrics_collector_add(void (*fn)(void *arg), void *arg);
/* Remove it; once this returns it is not running (do not call it from a
 * collector). */
void metrics_collector_del(void (*fn)(void *arg), void *arg);

/* Prometheus text exposition (format 0.0.4) of every family in creation
 * order, series in creation order. A new string; *len its length. */
char *metrics_render(size_t *len);

/* Tests: forget every family, series and collector. Not thread-safe
 * against updates. */
void metrics_reset(void);

#endif /* BASE_METRICS_H */
