/* net/loop.c - per-core io_uring event loops, timers, cross-core messages. */
#define LOG_SUBSYS "loop"
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/config.h"
#include "net/loop.h"

/* user_data tags: op pointers are 8-aligned, so the low bits are free. */
#define UD_MSG_IN  1u /* a message posted to us with MSG_RING */
#define UD_MSG_OUT 2u /* our MSG_RING send completed (fallback on error) */
#define UD_EFD	   3u /* the eventfd read: wakes us for queued posts */
#define UD_TAGS	   7u

#define MAX_HOOKS 16

struct stop_hook {
	loop_hook_cb fn;
	void *arg;
};

struct core {
	int id;
	pthread_t thread;
	struct io_uring ring;
	unsigned inflight, held;
	bool stopping, exit;
	uint64_t drain_deadline;
	bool cancelled;

	struct loop_timer **heap;
	int heap_n, heap_cap;

	/* eventfd-woken queue for posts from threads without a ring */
	int efd;
	uint64_t efd_val;
	pthread_mutex_t mq_lock;
	struct loop_msg *mq_head, *mq_tail;
	struct loop_msg *local_head, *local_tail; /* posts to ourselves */

	struct stop_hook hooks[MAX_HOOKS], exits[MAX_HOOKS];
	int nhooks, nexits;
	struct loop_msg stop_msg;

	void *local[CORE_SLOT__COUNT];

	loop_hook_cb init;
	void *init_arg;
	int start_rc;
};

static struct core *cores;
static int ncores;
static __thread struct core *self;
static pthread_barrier_t start_barrier;

int core_count(void)
{
	return ncores;
}

struct core *core_get(int id)
{
	FFFS_ASSERT(id >= 0 && id < ncores);
	return &cores[id];
}

struct core *core_self(void)
{
	return self;
}

int core_id(const struct core *c)
{
	return c->id;
}

struct io_uring *core_ring(struct core *c)
{
	return &c->ring;
}

void **core_local(struct core *c, enum core_slot slot)
{
	FFFS_ASSERT(slot < CORE_SLOT__COUNT);
	return &c->local[slot];
}

unsigned core_inflight(const struct core *c)
{
	return c->inflight;
}

void core_hold(struct core *c)
{
	FFFS_ASSERT(self == c);
	c->held++;
}

void core_unhold(struct core *c)
{
	FFFS_ASSERT(self == c && c->held > 0);
	c->held--;
}

bool loop_stopping(struct core *c)
{
	return c->stopping;
}

/* ---- submission -------------------------------------------------------- */

static struct io_uring_sqe *sqe_get(struct core *c)
{
	struct io_uring_sqe *sqe;

	FFFS_ASSERT(self == c);
	while (!(sqe = io_uring_get_sqe(&c->ring))) {
		int rc = io_uring_submit(&c->ring);

		if (rc < 0 && rc != -EAGAIN && rc != -EBUSY && rc != -EINTR)
			log_error("io_uring_submit failed: %s",
				  fffs_strerror(rc));
	}
	return sqe;
}

struct io_uring_sqe *core_sqe(struct core *c, struct loop_op *op)
{
	struct io_uring_sqe *sqe = sqe_get(c);

	FFFS_ASSERT(op && ((uintptr_t)op & UD_TAGS) == 0);
	io_uring_sqe_set_data(sqe, op);
	c->inflight++;
	return sqe;
}

struct io_uring_sqe *core_sqe_noreply(struct core *c)
{
	struct io_uring_sqe *sqe = sqe_get(c);

	io_uring_sqe_set_data64(sqe, 0);
	return sqe;
}

/* ---- timers: a binary min-heap per core --------------------------------- */

void core_timer_init(struct loop_timer *t, loop_timer_cb cb)
{
	t->cb = cb;
	t->due_ns = 0;
	t->heap_idx = -1;
}

static void heap_set(struct core *c, int i, struct loop_timer *t)
{
	c->heap[i] = t;
	t->heap_idx = i;
}

static void heap_up(struct core *c, int i)
{
	struct loop_timer *t = c->heap[i];

	while (i > 0) {
		int p = (i - 1) / 2;

		if (c->heap[p]->due_ns <= t->due_ns)
			break;
		heap_set(c, i, c->heap[p]);
		i = p;
	}
	heap_set(c, i, t);
}

static void heap_down(struct core *c, int i)
{
	struct loop_timer *t = c->heap[i];

	for (;;) {
		int l = 2 * i + 1, m = l;

		if (l >= c->heap_n)
			break;
		if (l + 1 < c->heap_n &&
		    c->heap[l + 1]->due_ns < c->heap[l]->due_ns)
			m = l + 1;
		if (c->heap[m]->due_ns >= t->due_ns)
			break;
		heap_set(c, i, c->heap[m]);
		i = m;
	}
	heap_set(c, i, t);
}

void core_timer_del(struct core *c, struct loop_timer *t)
{
	struct loop_timer *m;
	int i = t->heap_idx;

	if (i < 0)
		return;
	FFFS_ASSERT(i < c->heap_n && c->heap[i] == t);
	t->heap_idx = -1;
	if (--c->heap_n == i)
		return;
	m = c->heap[c->heap_n];
	heap_set(c, i, m);
	heap_down(c, i);
	heap_up(c, m->heap_idx);
}

void core_timer_add(struct core *c, struct loop_timer *t, uint64_t delay_ns)
{
	FFFS_ASSERT(t->cb);
	core_timer_del(c, t);
	if (c->heap_n == c->heap_cap) {
		c->heap_cap = c->heap_cap ? 2 * c->heap_cap : 64;
		c->heap = xrealloc(c->heap, sizeof(*c->heap) * c->heap_cap);
	}
	t->due_ns = now_ns() + delay_ns;
	heap_set(c, c->heap_n, t);
	heap_up(c, c->heap_n++);
}

static void timers_run(struct core *c)
{
	uint64_t now = now_ns();

	while (c->heap_n > 0 && c->heap[0]->due_ns <= now) {
		struct loop_timer *t = c->heap[0];

		core_timer_del(c, t);
		t->cb(c, t);
	}
}

/* ---- cross-core messages ------------------------------------------------ */

static void mq_push(struct loop_msg **head, struct loop_msg **tail,
		    struct loop_msg *m)
{
	m->next = NULL;
	if (*tail)
		(*tail)->next = m;
	else
		*head = m;
	*tail = m;
}

static void post_via_eventfd(struct core *to, struct loop_msg *m)
{
	uint64_t one = 1;

	pthread_mutex_lock(&to->mq_lock);
	mq_push(&to->mq_head, &to->mq_tail, m);
	pthread_mutex_unlock(&to->mq_lock);
	if (write(to->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error("cannot wake core %d: %s", to->id, strerror(errno));
}

void core_post(struct core *to, struct loop_msg *m)
{
	struct core *c = self;
	struct io_uring_sqe *sqe;

	FFFS_ASSERT(m->cb);
	m->to = to;
	if (c == to) {
		mq_push(&c->local_head, &c->local_tail, m);
		return;
	}
	if (!c) {
		post_via_eventfd(to, m);
		return;
	}
	sqe = sqe_get(c);
	io_uring_prep_msg_ring(sqe, to->ring.ring_fd, 0,
			       (uint64_t)(uintptr_t)m | UD_MSG_IN, 0);
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)m | UD_MSG_OUT);
}

static void run_list(struct core *c, struct loop_msg *m)
{
	while (m) {
		struct loop_msg *next = m->next;

		m->cb(c, m);
		m = next;
	}
}

static void efd_arm(struct core *c);

/* The eventfd read is not counted in inflight: it is not work to drain. */
static void efd_done(struct core *c, int res)
{
	struct loop_msg *m;

	if (res < 0 && res != -EAGAIN && res != -EINTR && res != -ECANCELED)
		log_error("eventfd read failed: %s", fffs_strerror(res));
	pthread_mutex_lock(&c->mq_lock);
	m = c->mq_head;
	c->mq_head = c->mq_tail = NULL;
	pthread_mutex_unlock(&c->mq_lock);
	run_list(c, m);
	if (!c->exit && res != -ECANCELED)
		efd_arm(c);
}

static void efd_arm(struct core *c)
{
	struct io_uring_sqe *sqe = sqe_get(c);

	io_uring_sqe_set_data64(sqe, UD_EFD);
	io_uring_prep_read(sqe, c->efd, &c->efd_val, sizeof(c->efd_val), 0);
}

static void run_local(struct core *c)
{
	while (c->local_head) {
		struct loop_msg *m = c->local_head;

		c->local_head = c->local_tail = NULL;
		run_list(c, m);
	}
}

/* ---- completion dispatch ------------------------------------------------ */

static void dispatch(struct core *c, struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	struct loop_op *op;

	if (ud == 0)
		return;
	switch (ud & UD_TAGS) {
	case UD_MSG_IN: {
		/* one message per CQE: its next field is not ours to follow */
		struct loop_msg *m =
			(struct loop_msg *)(uintptr_t)(ud & ~(uint64_t)UD_TAGS);

		m->cb(c, m);
		return;
	}
	case UD_MSG_OUT:
		if (cqe->res < 0) {
			struct loop_msg *m =
				(struct loop_msg *)(uintptr_t)(ud &
							       ~(uint64_t)
								       UD_TAGS);

			post_via_eventfd(m->to, m);
		}
		return;
	case UD_EFD:
		efd_done(c, cqe->res);
		return;
	case 0:
		break;
	default:
		FFFS_ASSERT(!"bad user_data tag");
	}
	op = (struct loop_op *)(uintptr_t)ud;
	FFFS_ASSERT(c->inflight > 0);
	c->inflight--;
	if (cqe->res < 0 && op->fail)
		op->fail(c, op, cqe->res);
	else
		op->done(c, op, cqe->res);
}

static int reap(struct core *c)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&c->ring, head, cqe)
	{
		dispatch(c, cqe);
		n++;
	}
	io_uring_cq_advance(&c->ring, n);
	return (int)n;
}

/* ---- stop and drain ------------------------------------------------------ */

void core_on_stop(struct core *c, loop_hook_cb fn, void *arg)
{
	FFFS_ASSERT(c->nhooks < MAX_HOOKS);
	c->hooks[c->nhooks++] = (struct stop_hook){ fn, arg };
}

void core_on_exit(struct core *c, loop_hook_cb fn, void *arg)
{
	FFFS_ASSERT(c->nexits < MAX_HOOKS);
	c->exits[c->nexits++] = (struct stop_hook){ fn, arg };
}

static void stop_msg_cb(struct core *c, struct loop_msg *m)
{
	if (c->stopping)
		return;
	c->stopping = true;
	c->drain_deadline =
		now_ns() +
		(uint64_t)config_int(CFG_shutdown_drain_ms) * 1000000;
	for (int i = 0; i < c->nhooks; i++)
		c->hooks[i].fn(c, c->hooks[i].arg);
}

/* Past the drain deadline: cancel everything still in flight, give the
 * cancellations a second to complete, then leave. */
static bool drain_check(struct core *c)
{
	uint64_t now = now_ns();

	if (c->inflight == 0 && c->held == 0)
		return true;
	if (now < c->drain_deadline)
		return false;
	if (!c->cancelled) {
		struct io_uring_sqe *sqe = core_sqe_noreply(c);

		log_warn("%u operations still in flight after the drain "
			 "period; cancelling them",
			 c->inflight);
		io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
		c->cancelled = true;
		c->drain_deadline = now + 1000000000ull;
		return false;
	}
	log_warn("%u operations did not complete; exiting anyway", c->inflight);
	return true;
}

/* ---- the loop ------------------------------------------------------------ */

static void loop_wait(struct core *c)
{
	struct __kernel_timespec ts, *tsp = NULL;
	struct io_uring_cqe *cqe;
	uint64_t now, due = UINT64_MAX;
	int rc;

	if (c->local_head) {
		io_uring_submit(&c->ring);
		return;
	}
	if (c->heap_n)
		due = c->heap[0]->due_ns;
	if (c->stopping && c->drain_deadline < due)
		due = c->drain_deadline;
	if (due != UINT64_MAX) {
		now = now_ns();
		due = due > now ? due - now : 0;
		ts.tv_sec = (long long)(due / 1000000000ull);
		ts.tv_nsec = (long long)(due % 1000000000ull);
		tsp = &ts;
	}
	rc = io_uring_submit_and_wait_timeout(&c->ring, &cqe, 1, tsp, NULL);
	if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN &&
	    rc != -EBUSY)
		log_error("io_uring wait failed: %s", fffs_strerror(rc));
}

static int ring_setup(struct core *c)
{
	struct io_uring_params p;
	unsigned entries = (unsigned)config_int(CFG_ring_entries);
	int rc;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
		  IORING_SETUP_SUBMIT_ALL;
	rc = io_uring_queue_init_params(entries, &c->ring, &p);
	if (rc == -EINVAL) {
		memset(&p, 0, sizeof(p));
		rc = io_uring_queue_init_params(entries, &c->ring, &p);
	}
	if (rc < 0)
		log_error("cannot create io_uring with %u entries: %s", entries,
			  fffs_strerror(rc));
	return rc;
}

static void *core_thread(void *arg)
{
	struct core *c = arg;

	self = c;
	log_core_id = c->id;
	c->start_rc = ring_setup(c);
	if (c->start_rc == 0) {
		efd_arm(c);
		if (c->init)
			c->init(c, c->init_arg);
	}
	pthread_barrier_wait(&start_barrier);
	if (c->start_rc)
		return NULL;
	while (!c->exit) {
		loop_wait(c);
		reap(c);
		timers_run(c);
		run_local(c);
		if (c->stopping && drain_check(c))
			c->exit = true;
	}
	for (int i = c->nexits - 1; i >= 0; i--)
		c->exits[i].fn(c, c->exits[i].arg);
	io_uring_queue_exit(&c->ring);
	return NULL;
}

static void block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void core_init_struct(struct core *c, int id, loop_hook_cb init,
			     void *arg)
{
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->init = init;
	c->init_arg = arg;
	c->stop_msg.cb = stop_msg_cb;
	pthread_mutex_init(&c->mq_lock, NULL);
	c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

/* After every loop thread was joined: nothing touches the barrier now. */
static void cores_free(void)
{
	pthread_barrier_destroy(&start_barrier);
	for (int i = 0; i < ncores; i++) {
		if (cores[i].efd >= 0)
			close(cores[i].efd);
		pthread_mutex_destroy(&cores[i].mq_lock);
		free(cores[i].heap);
	}
	free(cores);
	cores = NULL;
	ncores = 0;
}

int loop_start(int n, loop_hook_cb init, void *arg)
{
	int rc = 0, started = 0;

	FFFS_ASSERT(!cores && n > 0);
	block_signals();
	cores = xcalloc((size_t)n, sizeof(*cores));
	ncores = n;
	for (int i = 0; i < n; i++) {
		core_init_struct(&cores[i], i, init, arg);
		if (cores[i].efd < 0)
			rc = -errno;
	}
	pthread_barrier_init(&start_barrier, NULL, (unsigned)n + 1);
	if (rc)
		goto out_free;
	for (; started < n; started++) {
		char name[24];

		rc = -pthread_create(&cores[started].thread, NULL, core_thread,
				     &cores[started]);
		if (rc)
			FFFS_ASSERT(!"cannot create loop thread");
		snprintf(name, sizeof(name), "fffs-core%d", started);
		name[15] = '\0'; /* the kernel's limit */
		pthread_setname_np(cores[started].thread, name);
	}
	pthread_barrier_wait(&start_barrier);
	for (int i = 0; i < n; i++)
		if (cores[i].start_rc && !rc)
			rc = cores[i].start_rc;
	if (!rc)
		return 0;
	for (int i = 0; i < n; i++)
		if (!cores[i].start_rc)
			core_post(&cores[i], &cores[i].stop_msg);
	for (int i = 0; i < n; i++)
		pthread_join(cores[i].thread, NULL);
out_free:
	cores_free();
	return rc;
}

void loop_request_stop(void)
{
	kill(getpid(), SIGUSR1);
}

int loop_main(void)
{
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	if (sigwait(&set, &sig))
		sig = 0;
	if (sig != SIGUSR1)
		log_info("caught signal %d (%s), shutting down", sig,
			 strsignal(sig));
	for (int i = 0; i < ncores; i++)
		core_post(&cores[i], &cores[i].stop_msg);
	for (int i = 0; i < ncores; i++)
		pthread_join(cores[i].thread, NULL);
	cores_free();
	return sig == SIGUSR1 ? 0 : sig;
}
