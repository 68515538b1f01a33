/* t/unit/loop.c - the per-core io_uring loop: timers, cross-core messages,
 * completion and error handlers, and draining at shutdown. */
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/config.h"
#include "net/loop.h"
#include "t/unit/tap.h"

#define NRANDOM 1000

struct ttimer {
	struct loop_timer t;
	int id;
	uint64_t armed, delay;
};

static struct ttimer order_timers[4];
static int fired_order[8], nfired;
static uint64_t max_late_ns;
static bool cancelled_fired;

static struct ttimer random_timers[NRANDOM];
static uint64_t last_due;
static int random_fired, random_out_of_order;

static atomic_int pongs, main_posts;
static int fail_res = 1, done_res = -1;
static atomic_int drain_done;
static atomic_int phase_done;

static void order_cb(struct core *c, struct loop_timer *t)
{
	struct ttimer *tt = (struct ttimer *)t;
	uint64_t late = now_ns() - tt->armed - tt->delay;

	if (tt->id == 3)
		cancelled_fired = true;
	if (late > max_late_ns)
		max_late_ns = late;
	fired_order[nfired++] = tt->id;
	if (nfired == 3)
		atomic_fetch_add(&phase_done, 1);
}

static void arm(struct core *c, struct ttimer *tt, int id, uint64_t ms,
		loop_timer_cb cb)
{
	core_timer_init(&tt->t, cb);
	tt->id = id;
	tt->delay = ms * 1000000;
	tt->armed = now_ns();
	core_timer_add(c, &tt->t, tt->delay);
}

static void random_cb(struct core *c, struct loop_timer *t)
{
	uint64_t due = t->due_ns;

	/* timers must fire in order of their due time */
	if (due < last_due)
		random_out_of_order++;
	last_due = due;
	if (++random_fired == NRANDOM)
		atomic_fetch_add(&phase_done, 1);
}

/* ---- messages: core 0 -> core 1 -> core 0 ------------------------------- */

struct ping {
	struct loop_msg m;
	int hops;
};

static struct ping pings[100];

static void ping_cb(struct core *c, struct loop_msg *m)
{
	struct ping *p = (struct ping *)m;

	if (++p->hops < 10)
		return core_post(core_get(1 - core_id(c)), &p->m);
	atomic_fetch_add(&pongs, 1);
}

static void main_post_cb(struct core *c, struct loop_msg *m)
{
	atomic_fetch_add(&main_posts, 1);
}

/* ---- completions and errors ---------------------------------------------- */

static struct loop_op bad_op, nop_op, drain_op;
static struct __kernel_timespec drain_ts = { .tv_nsec = 200000000 };

static void bad_fail(struct core *c, struct loop_op *op, int res)
{
	fail_res = res;
}

static void bad_done(struct core *c, struct loop_op *op, int res)
{
	fail_res = 1000; /* must not be called on error */
}

static void nop_done(struct core *c, struct loop_op *op, int res)
{
	done_res = res;
	atomic_fetch_add(&phase_done, 1);
}

static void drain_cb(struct core *c, struct loop_op *op, int res)
{
	atomic_store(&drain_done, res == -ETIME ? 1 : res);
}

/* On stop: start one more 200 ms operation; the core must wait for it. */
static void on_stop(struct core *c, void *arg)
{
	struct io_uring_sqe *sqe;

	drain_op.done = drain_cb;
	sqe = core_sqe(c, &drain_op);
	io_uring_prep_timeout(sqe, &drain_ts, 0, 0);
}

static void init(struct core *c, void *arg)
{
	static char buf[8];
	struct io_uring_sqe *sqe;

	if (core_id(c) != 0)
		return;
	arm(c, &order_timers[0], 0, 30, order_cb);
	arm(c, &order_timers[1], 1, 10, order_cb);
	arm(c, &order_timers[2], 2, 20, order_cb);
	arm(c, &order_timers[3], 3, 15, order_cb);
	core_timer_del(c, &order_timers[3].t);
	core_timer_del(c, &order_timers[3].t); /* twice is harmless */
	for (int i = 0; i < NRANDOM; i++)
		arm(c, &random_timers[i], i, 5 + (uint64_t)(rand() % 100),
		    random_cb);
	for (size_t i = 0; i < FFFS_ARRAY_LEN(pings); i++) {
		pings[i].m.cb = ping_cb;
		core_post(core_get(1), &pings[i].m);
	}
	bad_op = (struct loop_op){ .done = bad_done, .fail = bad_fail };
	sqe = core_sqe(c, &bad_op);
	io_uring_prep_read(sqe, -1, buf, sizeof(buf), 0);
	nop_op.done = nop_done;
	io_uring_prep_nop(core_sqe(c, &nop_op));
	core_on_stop(c, on_stop, NULL);
}

static bool wait_until(atomic_int *v, int want, int ms)
{
	for (int i = 0; i < ms && atomic_load(v) < want; i++)
		usleep(1000);
	return atomic_load(v) >= want;
}

int main(void)
{
	static struct loop_msg from_main[2];

	config_reset();
	srand(42);
	is_int(loop_start(2, init, NULL), 0, "two cores start");
	for (int i = 0; i < 2; i++) {
		from_main[i].cb = main_post_cb;
		core_post(core_get(i), &from_main[i]); /* eventfd path */
	}
	ok(wait_until(&phase_done, 3, 5000), "timers and ops completed");
	is_int(nfired, 3, "three of four timers fired");
	ok(fired_order[0] == 1 && fired_order[1] == 2 && fired_order[2] == 0,
	   "timers fire in due order (10, 20, 30 ms)");
	ok(!cancelled_fired, "a deleted timer never fires");
	ok(max_late_ns < 200000000ull, "timers fire within 200 ms of due");
	is_int(random_fired, NRANDOM, "1000 random timers all fired");
	is_int(random_out_of_order, 0, "random timers fired in due order");
	ok(wait_until(&pongs, (int)FFFS_ARRAY_LEN(pings), 5000),
	   "100 messages bounced 10 times between cores");
	ok(wait_until(&main_posts, 2, 5000),
	   "posts from a non-loop thread arrive");
	is_int(fail_res, -EBADF,
	       "an error completion goes to the fail handler");
	is_int(done_res, 0, "a successful completion goes to done");
	loop_request_stop();
	is_int(loop_main(), 0, "loop_main returns 0 after loop_request_stop");
	is_int(atomic_load(&drain_done), 1,
	       "shutdown waited for the operation started while stopping");
	return done_testing();
}
