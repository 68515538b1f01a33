/* base/metrics.c - counters, gauges and histograms with lock-free updates,
 * rendered as Prometheus text. */
#define LOG_SUBSYS "metrics"
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/metrics.h"

#define NSHARDS	   8 /* cores share a shard modulo this */
#define CELL_ALIGN 8 /* cells per cache line */

const uint64_t metrics_bucket_ns[METRICS_NBUCKETS] = {
	50000,	   100000,     250000,	   500000,     1000000,	    2500000,
	5000000,   10000000,   25000000,   50000000,   100000000,   250000000,
	500000000, 1000000000, 2500000000, 5000000000, 10000000000,
};

struct metric {
	struct metric_family *f;
	char *vals[METRICS_MAX_LABELS];
	bool touched; /* since the last mark */
	_Atomic int64_t gauge;
	/* counters: 1 cell; histograms: buckets, +Inf, sum (ns) */
	_Atomic uint64_t *cells; /* NSHARDS x stride */
	struct metric *next;
};

struct metric_family {
	char *name, *help;
	enum metric_type type;
	int nlabels;
	char *labels[METRICS_MAX_LABELS];
	unsigned stride; /* cells per shard */
	struct metric *series, **tailp;
	struct metric_family *next;
};

struct collector {
	void (*fn)(void *arg);
	void *arg;
	struct collector *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
/* held while collectors run, so that one removed is not running */
static pthread_mutex_t collect_mu = PTHREAD_MUTEX_INITIALIZER;
static struct metric_family *families, **fam_tailp = &families;
static struct collector *collectors;
static atomic_bool enabled;

void metrics_enable(void)
{
	atomic_store(&enabled, true);
}

bool metrics_enabled(void)
{
	return atomic_load_explicit(&enabled, memory_order_relaxed);
}

/* ---- registration -------------------------------------------------------- */

static int split_labels(const char *labels, char **out)
{
	const char *s = labels ? labels : "";
	int n = 0;

	while (*s) {
		const char *e = strchr(s, ',');
		size_t len = e ? (size_t)(e - s) : strlen(s);

		FFFS_ASSERT(n < METRICS_MAX_LABELS && len > 0);
		out[n++] = strndup(s, len);
		FFFS_ASSERT(out[n - 1]);
		s += len + (e ? 1 : 0);
	}
	return n;
}

struct metric_family *metrics_family(const char *name, enum metric_type type,
				     const char *help, const char *labels)
{
	struct metric_family *f;
	unsigned cells;

	pthread_mutex_lock(&mu);
	for (f = families; f; f = f->next)
		if (!strcmp(f->name, name))
			break;
	if (f) {
		FFFS_ASSERT(f->type == type);
		goto out;
	}
	f = xcalloc(1, sizeof(*f));
	f->name = xstrdup(name);
	f->help = xstrdup(help);
	f->type = type;
	f->nlabels = split_labels(labels, f->labels);
	cells = type == METRIC_HISTOGRAM ? METRICS_NBUCKETS + 2 : 1;
	f->stride = (cells + CELL_ALIGN - 1) / CELL_ALIGN * CELL_ALIGN;
	f->tailp = &f->series;
	*fam_tailp = f;
	fam_tailp = &f->next;
out:
	pthread_mutex_unlock(&mu);
	return f;
}

static struct metric *series_new(struct metric_family *f,
				 const char *const *vals)
{
	struct metric *m = xcalloc(1, sizeof(*m));
	size_t bytes = (size_t)NSHARDS * f->stride * sizeof(uint64_t);

	m->f = f;
	for (int i = 0; i < f->nlabels; i++)
		m->vals[i] = xstrdup(vals[i]);
	if (f->type != METRIC_GAUGE) {
		m->cells = xaligned_alloc(64, bytes);
		memset((void *)m->cells, 0, bytes);
	}
	*f->tailp = m;
	f->tailp = &m->next;
	return m;
}

static bool series_is(const struct metric *m, const char *const *vals)
{
	for (int i = 0; i < m->f->nlabels; i++)
		if (strcmp(m->vals[i], vals[i]))
			return false;
	return true;
}

struct metric *metrics_getv(struct metric_family *f, const char *const *vals)
{
	struct metric *m;

	pthread_mutex_lock(&mu);
	for (m = f->series; m; m = m->next)
		if (series_is(m, vals))
			break;
	if (!m)
		m = series_new(f, vals);
	m->touched = true;
	pthread_mutex_unlock(&mu);
	return m;
}

struct metric *metrics_get(struct metric_family *f, ...)
{
	const char *vals[METRICS_MAX_LABELS];
	va_list ap;

	va_start(ap, f);
	for (int i = 0; i < f->nlabels; i++)
		vals[i] = va_arg(ap, const char *);
	va_end(ap);
	return metrics_getv(f, vals);
}

static void series_free(struct metric *m)
{
	for (int i = 0; i < m->f->nlabels; i++)
		free(m->vals[i]);
	free((void *)m->cells);
	free(m);
}

void metrics_family_mark(struct metric_family *f)
{
	pthread_mutex_lock(&mu);
	for (struct metric *m = f->series; m; m = m->next)
		m->touched = false;
	pthread_mutex_unlock(&mu);
}

void metrics_family_sweep(struct metric_family *f)
{
	struct metric **pp;

	pthread_mutex_lock(&mu);
	for (pp = &f->series; *pp;) {
		struct metric *m = *pp;

		if (m->touched) {
			pp = &m->next;
			continue;
		}
		*pp = m->next;
		series_free(m);
	}
	f->tailp = pp;
	pthread_mutex_unlock(&mu);
}

void metrics_collector_add(void (*fn)(void *arg), void *arg)
{
	struct collector *k = xcalloc(1, sizeof(*k));

	k->fn = fn;
	k->arg = arg;
	pthread_mutex_lock(&collect_mu);
	k->next = collectors;
	collectors = k;
	pthread_mutex_unlock(&collect_mu);
}

void metrics_collector_del(void (*fn)(void *arg), void *arg)
{
	struct collector **pp, *k;

	pthread_mutex_lock(&collect_mu);
	for (pp = &collectors; (k = *pp); pp = &k->next) {
		if (k->fn == fn && k->arg == arg) {
			*pp = k->next;
			free(k);
			break;
		}
	}
	pthread_mutex_unlock(&collect_mu);
}

void metrics_reset(void)
{
	pthread_mutex_lock(&mu);
	while (families) {
		struct metric_family *f = families;

		families = f->next;
		while (f->series) {
			struct metric *m = f->series;

			f->series = m->next;
			series_free(m);
		}
		for (int i = 0; i < f->nlabels; i++)
			free(f->labels[i]);
		free(f->name);
		free(f->help);
		free(f);
	}
	fam_tailp = &families;
	pthread_mutex_unlock(&mu);
	pthread_mutex_lock(&collect_mu);
	while (collectors) {
		struct collector *k = collectors;

		collectors = k->next;
		free(k);
	}
	pthread_mutex_unlock(&collect_mu);
}

/* ---- updates (hot path) -------------------------------------------------- */

/* Loop thread i owns shard i + 1 alone (while i + 1 < NSHARDS) and
 * updates it without a locked instruction; every other thread shares
 * shard 0 with atomic adds. */
static _Atomic uint64_t *shard(const struct metric *m, bool *own)
{
	unsigned s = (unsigned)(log_core_id + 1);

	*own = s > 0 && s < NSHARDS;
	return m->cells + (size_t)(*own ? s : 0) * m->f->stride;
}

static void cell_add(_Atomic uint64_t *c, uint64_t n, bool own)
{
	if (own)
		atomic_store_explicit(
			c, atomic_load_explicit(c, memory_order_relaxed) + n,
			memory_order_relaxed);
	else
		atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

void metrics_add(struct metric *m, uint64_t n)
{
	_Atomic uint64_t *c;
	bool own;

	if (m->f->type == METRIC_GAUGE) {
		atomic_fetch_add_explicit(&m->gauge, (int64_t)n,
					  memory_order_relaxed);
		return;
	}
	FFFS_ASSERT(m->f->type == METRIC_COUNTER);
	c = shard(m, &own);
	cell_add(c, n, own);
}

void metrics_set(struct metric *m, int64_t v)
{
	FFFS_ASSERT(m->f->type == METRIC_GAUGE);
	atomic_store_explicit(&m->gauge, v, memory_order_relaxed);
}

int metrics_bucket(uint64_t ns)
{
	int i = 0;

	while (i < METRICS_NBUCKETS && ns > metrics_bucket_ns[i])
		i++;
	return i;
}

void metrics_observe(struct metric *m, uint64_t ns)
{
	bool own;
	_Atomic uint64_t *c = shard(m, &own);

	FFFS_ASSERT(m->f->type == METRIC_HISTOGRAM);
	cell_add(&c[metrics_bucket(ns)], 1, own);
	cell_add(&c[METRICS_NBUCKETS + 1], ns, own);
}

static uint64_t cell_sum(const struct metric *m, unsigned i)
{
	uint64_t v = 0;

	for (unsigned s = 0; s < NSHARDS; s++)
		v += atomic_load_explicit(&m->cells[s * m->f->stride + i],
					  memory_order_relaxed);
	return v;
}

int64_t metrics_value(const struct metric *m)
{
	uint64_t v = 0;

	switch (m->f->type) {
	case METRIC_GAUGE:
		return atomic_load_explicit(&m->gauge, memory_order_relaxed);
	case METRIC_COUNTER:
		return (int64_t)cell_sum(m, 0);
	case METRIC_HISTOGRAM:
		for (unsigned i = 0; i <= METRICS_NBUCKETS; i++)
			v += cell_sum(m, i);
		return (int64_t)v;
	}
	return 0;
}

/* ---- rendering ----------------------------------------------------------- */

struct out {
	char *buf;
	size_t len, cap;
};

static void outf(struct out *o, const char *fmt, ...) FFFS_PRINTF(2, 3);

static void outf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		FFFS_ASSERT(n >= 0);
		if ((size_t)n < o->cap - o->len)
			break;
		o->cap = (o->cap + (size_t)n) * 2;
		o->buf = xrealloc(o->buf, o->cap);
	}
	o->len += (size_t)n;
}

/* Label values: backslash, double quote and newline escaped. */
static void out_escaped(struct out *o, const char *s, bool help)
{
	for (; *s; s++) {
		if (*s == '\\')
			outf(o, "\\\\");
		else if (*s == '\n')
			outf(o, "\\n");
		else if (*s == '"' && !help)
			outf(o, "\\\"");
		else
			outf(o, "%c", *s);
	}
}

/* {a="x",b="y"} plus an optional le; nothing when there are no labels. */
static void out_labels(struct out *o, const struct metric *m, const char *le)
{
	const struct metric_family *f = m->f;

	if (!f->nlabels && !le)
		return;
	outf(o, "{");
	for (int i = 0; i < f->nlabels; i++) {
		outf(o, "%s%s=\"", i ? "," : "", f->labels[i]);
		out_escaped(o, m->vals[i], false);
		outf(o, "\"");
	}
	if (le)
		outf(o, "%sle=\"%s\"", f->nlabels ? "," : "", le);
	outf(o, "}");
}

/* Nanoseconds as decimal seconds without trailing zeros: 50000 -> 0.00005 */
static void secs(char *buf, size_t len, uint64_t ns)
{
	int n = snprintf(buf, len, "%llu.%09llu",
			 (unsigned long long)(ns / 1000000000ull),
			 (unsigned long long)(ns % 1000000000ull));

	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = 0;
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = 0;
}

static void render_histogram(struct out *o, const struct metric *m)
{
	const char *name = m->f->name;
	uint64_t cum = 0;
	char le[32];

	for (unsigned i = 0; i <= METRICS_NBUCKETS; i++) {
		cum += cell_sum(m, i);
		if (i < METRICS_NBUCKETS)
			secs(le, sizeof(le), metrics_bucket_ns[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		outf(o, "%s_bucket", name);
		out_labels(o, m, le);
		outf(o, " %llu\n", (unsigned long long)cum);
	}
	secs(le, sizeof(le), cell_sum(m, METRICS_NBUCKETS + 1));
	outf(o, "%s_sum", name);
	out_labels(o, m, NULL);
	outf(o, " %s\n%s_count", le, name);
	out_labels(o, m, NULL);
	outf(o, " %llu\n", (unsigned long long)cum);
}

static void render_family(struct out *o, const struct metric_family *f)
{
	static const char *const tname[] = { "counter", "gauge", "histogram" };

	if (!f->series)
		return;
	outf(o, "# HELP %s ", f->name);
	out_escaped(o, f->help, true);
	outf(o, "\n# TYPE %s %s\n", f->name, tname[f->type]);
	for (const struct metric *m = f->series; m; m = m->next) {
		if (f->type == METRIC_HISTOGRAM) {
			render_histogram(o, m);
			continue;
		}
		outf(o, "%s", f->name);
		out_labels(o, m, NULL);
		if (f->type == METRIC_GAUGE)
			outf(o, " %lld\n", (long long)metrics_value(m));
		else
			outf(o, " %llu\n",
			     (unsigned long long)metrics_value(m));
	}
}

char *metrics_render(size_t *len)
{
	struct out o = { .buf = xmalloc(4096), .cap = 4096 };

	o.buf[0] = 0;
	/* not under mu: collectors take it (metrics_get) */
	pthread_mutex_lock(&collect_mu);
	for (struct collector *k = collectors; k; k = k->next)
		k->fn(k->arg);
	pthread_mutex_unlock(&collect_mu);
	pthread_mutex_lock(&mu);
	for (const struct metric_family *f = families; f; f = f->next)
		render_family(&o, f);
	pthread_mutex_unlock(&mu);
	if (len)
		*len = o.len;
	return o.buf;
}
