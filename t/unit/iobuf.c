/* t/unit/iobuf.c - the registered buffer arena: partitions per core, frees
 * from another core, fixed-buffer I/O through it. */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/config.h"
#include "net/iobuf.h"
#include "t/unit/tap.h"

#define PART (1u << 20) /* 16 units per core */

static atomic_int stage;
static void *held[32];
static int got0, got_after_free, big_null, remote_back, fixed_ok;
static struct loop_msg to1, back0, check0;
static struct loop_op rd;
static char path[] = "/tmp/fffs-iobuf-XXXXXX";

static void init(struct core *c, void *arg)
{
	iobuf_register(c);
}

static void fixed_done(struct core *c, struct loop_op *op, int res)
{
	uint8_t *p = held[0];

	fixed_ok = res == 4096 && p[0] == 'x' && p[4095] == 'x';
	iobuf_put(c, held[0]);
	atomic_store(&stage, 2);
	core_post(core_get(1), &to1);
}

/* core 1 frees core 0's buffers: they must go home by message */
static void on1(struct core *c, struct loop_msg *m)
{
	for (int i = 1; i < got0; i++)
		iobuf_put(c, held[i]);
	core_post(core_get(0), &back0);
}

static void check_on0(struct core *c, struct loop_msg *m)
{
	void *p;

	while ((p = iobuf_get(c, IOBUF_UNIT)))
		held[1 + remote_back++] = p;
	for (int i = 1; i <= remote_back; i++)
		iobuf_put(c, held[i]);
	atomic_store(&stage, 3);
}

static void back_on0(struct core *c, struct loop_msg *m)
{
	/* the remote frees were posted before this message: all are home */
	check0.cb = check_on0;
	core_post(c, &check0);
}

static void start0(struct core *c, struct loop_msg *m)
{
	int fd = mkstemp(path);
	struct io_uring_sqe *sqe;
	void *p;

	while ((p = iobuf_get(c, IOBUF_UNIT)))
		held[got0++] = p;
	iobuf_put(c, held[got0 - 1]);
	got_after_free = iobuf_get(c, IOBUF_UNIT) == held[got0 - 1];
	big_null = iobuf_get(c, 2 * PART) == NULL;
	memset(held[0], 'x', 4096);
	if (fd < 0 || pwrite(fd, held[0], 4096, 0) != 4096)
		return;
	memset(held[0], 0, 4096);
	rd.done = fixed_done;
	sqe = core_sqe(c, &rd);
	io_uring_prep_read_fixed(sqe, fd, held[0], 4096, 0, 0);
	to1.cb = on1;
	back0.cb = back_on0;
}

int main(void)
{
	static struct loop_msg go;

	config_reset();
	ok(!iobuf_fixed(&go, 1), "nothing is fixed before setup");
	is_int(iobuf_setup(2, PART), 0, "arena of 2 x 1 MiB");
	is_int(loop_start(2, init, NULL), 0, "cores start and register it");
	go.cb = start0;
	core_post(core_get(0), &go);
	for (int i = 0; i < 5000 && atomic_load(&stage) < 3; i++)
		usleep(1000);
	is_int(got0, 16, "a core's partition holds 16 units");
	ok(got_after_free, "a freed unit is handed out again");
	ok(big_null, "a request larger than a partition gets NULL");
	ok(fixed_ok, "READ_FIXED into an arena buffer works");
	ok(iobuf_fixed(held[0], 4096), "arena buffers are fixed");
	is_int(remote_back, 16, "buffers freed on another core went home");
	loop_request_stop();
	loop_main();
	unlink(path);
	return done_testing();
}
