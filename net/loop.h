/* net/loop.h - one io_uring event loop per core.
 *
 * A role starts N cores (threads), each with its own ring. Everything a core
 * does is an operation on its ring; an object (connection, target queue)
 * belongs to one core and other cores reach it by posting a message.
 *
 *	loop_start(n, init_fn, arg);   // n threads; init_fn(core, arg) on each
 *	loop_main();                   // main thread: wait for SIGINT/SIGTERM
 *or
 *	                               // loop_request_stop(), drain, join
 *
 * Operations: embed a struct loop_op in your object, set .done (and .fail
 * for errors), get an SQE with core_sqe(c, op), prep it with liburing and
 * return; the loop submits it. The completion calls op->fail(c, op, -errno)
 * when res < 0 and op->fail is set, else op->done(c, op, res). An op must
 * not be reused before its completion has been delivered.
 *
 * Timers: struct loop_timer with .cb, armed with core_timer_add(c, t, ns);
 * core_timer_del() is safe on an unarmed timer. Timers fire on their core.
 *
 * Messages: struct loop_msg with .cb, core_post(to, msg) from any thread;
 * msg->cb(to, msg) then runs on core `to` (IORING_OP_MSG_RING from a loop
 * thread, an eventfd-woken queue otherwise).
 *
 * Shutdown: on SIGINT/SIGTERM (or loop_request_stop()), every core runs its
 * stop hooks (core_on_stop) — they stop accepting new work — then keeps
 * running until its in-flight operations reach zero or shutdown_drain_ms
 * passes; then it cancels what is left and the thread exits.
 */
#ifndef NET_LOOP_H
#define NET_LOOP_H

#include <liburing.h>

#include "fffs.h"

struct core;
struct loop_op;
struct loop_timer;
struct loop_msg;

typedef void (*loop_op_cb)(struct core *c, struct loop_op *op, int res);
typedef void (*loop_timer_cb)(struct core *c, struct loop_timer *t);
typedef void (*loop_msg_cb)(struct core *c, struct loop_msg *m);
typedef void (*loop_hook_cb)(struct core *c, void *arg);

struct loop_op {
	loop_op_cb done; /* res >= 0, or any res when fail is NULL */
	loop_op_cb fail; /* res < 0 */
};

struct loop_timer {
	loop_timer_cb cb;
	uint64_t due_ns; /* private */
	int heap_idx;	 /* private: -1 when unarmed */
};

struct loop_msg {
	loop_msg_cb cb;
	struct loop_msg *next; /* private */
	struct core *to;       /* private */
};

/* Start n loop threads; init(core, arg) runs first on each, on its thread.
 * Returns 0 or a negative errno (nothing is left running on failure). */
int loop_start(int n, loop_hook_cb init, void *arg);
/* Main thread: block until a stop is requested, then drain and join every
 * core. Returns the signal number that stopped it, or 0. */
int loop_main(void);
/* Ask for a clean shutdown, from any thread (same as SIGTERM). */
void loop_request_stop(void);
/* True once a stop was requested (cores stop taking new work). */
bool loop_stopping(struct core *c);

int core_count(void);
struct core *core_get(int id);
/* The core of the calling loop thread, or NULL on other threads. */
struct core *core_self(void);
int core_id(const struct core *c);
struct io_uring *core_ring(struct core *c);

/* A free SQE for op on c's ring (flushes the SQ when full). Never NULL. */
struct io_uring_sqe *core_sqe(struct core *c, struct loop_op *op);
/* An SQE whose completion is ignored (cancels, fire-and-forget closes). */
struct io_uring_sqe *core_sqe_noreply(struct core *c);
/* Operations submitted on c and not yet completed. */
unsigned core_inflight(const struct core *c);
/* Work in progress that is not an io_uring operation (a request waiting
 * for another thread or core): shutdown drains it like an operation. */
void core_hold(struct core *c);
void core_unhold(struct core *c);

void core_timer_init(struct loop_timer *t, loop_timer_cb cb);
void core_timer_add(struct core *c, struct loop_timer *t, uint64_t delay_ns);
void core_timer_del(struct core *c, struct loop_timer *t);
static inline bool core_timer_armed(const struct loop_timer *t)
{
	return t->heap_idx >= 0;
}

void core_post(struct core *to, struct loop_msg *m);

/* Per-core state of a module: one pointer slot per module, owned by it. */
enum core_slot {
	CORE_SLOT_RPC,
	CORE_SLOT_ROLE,
	CORE_SLOT_CRAQ,
	CORE_SLOT__COUNT
};
void **core_local(struct core *c, enum core_slot slot);

/* Run fn(c, arg) on c when a stop is requested (before draining). */
void core_on_stop(struct core *c, loop_hook_cb fn, void *arg);
/* Run fn(c, arg) on c after draining, as the loop thread ends. */
void core_on_exit(struct core *c, loop_hook_cb fn, void *arg);

#endif /* NET_LOOP_H */
