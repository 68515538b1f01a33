/* fuse/fclose.c - deferred closes of write sessions that wrote nothing
 * (fuse/fclose.h): one thread, a queue under a mutex. */
#define LOG_SUBSYS "fuse"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/config.h"
#include "fuse/fclose.h"

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* sessions came, or stop */
	uint64_t *ids;
	size_t n, cap;
	bool started, stopping;
	uint64_t delay_ns;
	struct mcli *(*pick)(void);
	pthread_t thread;
} q = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* Send ids (at most MCLOSE_LIST_MAX) as one close list. */
static void send_list(const uint64_t *ids, size_t n, uint32_t timeout_ms)
{
	uint8_t data[MCLOSE_LIST_MAX * 8];
	struct mcli_op op;
	struct pack pk;
	int rc;

	pack_init(&pk, data, sizeof(data));
	for (size_t i = 0; i < n; i++)
		pack_u64(&pk, ids[i]);
	FFFS_ASSERT(!pk.err);
	memset(&op, 0, sizeof(op));
	op.q.op = MOP_CLOSE;
	op.q.flags = MCLOSE_LIST;
	op.q.data = data;
	op.q.data_len = (uint32_t)pack_len(&pk);
	op.timeout_ms = timeout_ms;
	rc = mcli_call(q.pick(), &op);
	if (!rc)
		rc = op.r.status;
	mres_release(&op.r);
	if (rc)
		log_warn("closing %zu write sessions (session %llu first) "
			 "failed: %s; meta prunes them once this mount ends",
			 n, (unsigned long long)ids[0], fffs_strerror(rc));
	else
		log_debug("closed %zu write sessions that wrote nothing", n);
}

/* With q.mu held: send what waits, the lock dropped meanwhile. */
static void drain(uint32_t timeout_ms)
{
	while (q.n) {
		uint64_t ids[MCLOSE_LIST_MAX];
		size_t n = q.n < MCLOSE_LIST_MAX ? q.n : MCLOSE_LIST_MAX;

		memcpy(ids, q.ids, n * sizeof(*ids));
		memmove(q.ids, q.ids + n, (q.n - n) * sizeof(*ids));
		q.n -= n;
		pthread_mutex_unlock(&q.mu);
		send_list(ids, n, timeout_ms);
		pthread_mutex_lock(&q.mu);
	}
}

static void *closer(void *arg)
{
	struct timespec ts;

	(void)arg;
	pthread_mutex_lock(&q.mu);
	while (!q.stopping) {
		if (!q.n) {
			pthread_cond_wait(&q.cv, &q.mu);
			continue;
		}
		/* the first one waits the delay; what comes meanwhile
		 * goes with it */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)(q.delay_ns / 1000000000ull);
		ts.tv_nsec += (long)(q.delay_ns % 1000000000ull);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (!q.stopping && q.n < MCLOSE_LIST_MAX &&
		       pthread_cond_timedwait(&q.cv, &q.mu, &ts) != ETIMEDOUT)
			;
		if (!q.stopping)
			drain(0);
	}
	pthread_mutex_unlock(&q.mu);
	return NULL;
}

void fclose_start(struct mcli *(*pick)(void))
{
	pthread_condattr_t ca;

	q.delay_ns = (uint64_t)config_int(CFG_fuse_close_delay_ms) * 1000000;
	if (!q.delay_ns)
		return;
	q.pick = pick;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q.cv, &ca);
	pthread_condattr_destroy(&ca);
	if (fffs_thread_start(&q.thread, "fffs-closer", closer, NULL)) {
		log_warn("cannot start the closer thread: write sessions "
			 "close one by one");
		return;
	}
	q.started = true;
}

bool fclose_defer(uint64_t session)
{
	bool ok;

	pthread_mutex_lock(&q.mu);
	ok = q.started && !q.stopping;
	if (ok) {
		if (q.n == q.cap) {
			q.cap = q.cap ? 2 * q.cap : 64;
			q.ids = xrealloc(q.ids, q.cap * sizeof(*q.ids));
		}
		q.ids[q.n++] = session;
		if (q.n == 1 || q.n == MCLOSE_LIST_MAX)
			pthread_cond_signal(&q.cv);
	}
	pthread_mutex_unlock(&q.mu);
	return ok;
}

void fclose_stop(void)
{
	if (!q.started)
		return;
	pthread_mutex_lock(&q.mu);
	q.stopping = true;
	pthread_cond_signal(&q.cv);
	pthread_mutex_unlock(&q.mu);
	pthread_join(q.thread, NULL);
	pthread_mutex_lock(&q.mu);
	if (q.n)
		log_info("closing the %zu write sessions still waiting", q.n);
	/* 0 would mean mcli_timeout_ms */
	drain((uint32_t)config_int(CFG_shutdown_drain_ms) + 1);
	pthread_mutex_unlock(&q.mu);
	free(q.ids);
	q.ids = NULL;
	q.cap = 0;
	q.started = false;
}
