/* t/unit/mproto.c - CLI_META_OP bodies: requests and replies survive a
 * round trip field for field, and truncated or oversized ones are
 * refused with the documented errors. */
#include <stdlib.h>

#include "meta/mproto.h"
#include "tap.h"

static struct mreq sample_req(void)
{
	static uint8_t data[] = "/a/b/c";
	struct mreq q = {
		.chain_ver = 7,
		.client = 0x1122334455667788ull,
		.req_id = 42,
		.ack_floor = 40,
		.op = MOP_RENAME,
		.cred = { .uid = 1000,
			  .gid = 100,
			  .ngroups = 2,
			  .groups = { 5, 6 } },
		.ino = 9,
		.parent = 1,
		.newparent = 3,
		.data = data,
		.data_len = 6,
		.mode = 0755,
		.uid = 1,
		.gid = 2,
		.set = NS_SET_MODE | NS_SET_SIZE,
		.size = 1ull << 40,
		.atime = 11,
		.mtime = 12,
		.flags = 3,
		.cookie = 0xabcdef,
		.max = 100,
		.session = 77,
		.layout = { .table = 2, .chunk_size = 1 << 20, .stripe = 4 }
	};

	snprintf(q.name, sizeof(q.name), "from");
	snprintf(q.name2, sizeof(q.name2), "to");
	return q;
}

static void test_req(void)
{
	struct mreq q = sample_req(), q2;
	uint8_t buf[2048];
	struct pack pk;
	size_t len;

	pack_init(&pk, buf, sizeof(buf));
	mreq_pack(&pk, &q);
	ok(!pk.err, "a request packs");
	len = pack_len(&pk);
	is_int(mreq_unpack(buf, len, &q2), 0, "and unpacks");
	ok(q2.chain_ver == 7 && q2.client == q.client && q2.req_id == 42 &&
		   q2.ack_floor == 40 && q2.op == MOP_RENAME,
	   "header fields survive");
	ok(q2.cred.uid == 1000 && q2.cred.gid == 100 && q2.cred.ngroups == 2 &&
		   q2.cred.groups[1] == 6,
	   "credentials survive");
	ok(q2.ino == 9 && q2.parent == 1 && q2.newparent == 3 &&
		   !strcmp(q2.name, "from") && !strcmp(q2.name2, "to"),
	   "names and inodes survive");
	ok(q2.data_len == 6 && q2.data && !memcmp(q2.data, "/a/b/c", 7),
	   "data survives, NUL-terminated");
	ok(q2.mode == 0755 && q2.uid == 1 && q2.gid == 2 && q2.set == q.set &&
		   q2.size == q.size && q2.atime == 11 && q2.mtime == 12 &&
		   q2.flags == 3 && q2.cookie == q.cookie && q2.max == 100 &&
		   q2.session == 77,
	   "the op fields survive");
	ok(q2.layout.table == 2 && q2.layout.chunk_size == 1 << 20 &&
		   q2.layout.stripe == 4,
	   "the layout survives");
	mreq_release(&q2);
	for (size_t cut = 0; cut < len; cut += 7)
		if (mreq_unpack(buf, cut, &q2) != -FFFS_EBADFRAME) {
			ok(0, "a truncated request is refused");
			return;
		}
	ok(1, "every truncation of a request is -FFFS_EBADFRAME");
	buf[0] = 99;
	is_int(mreq_unpack(buf, len, &q2), -EINVAL, "an unknown format");
}

static void test_req_limits(void)
{
	struct mreq q = { .op = MOP_SYMLINK }, q2;
	size_t n = NS_PATH_MAX + 10;
	uint8_t *buf = malloc(n + 2048), *big = calloc(1, n);
	struct pack pk;
	int bad;

	memset(big, 'x', n);
	q.data = big;
	q.data_len = (uint32_t)n;
	pack_init(&pk, buf, n + 2048);
	mreq_pack(&pk, &q);
	is_int(mreq_unpack(buf, pack_len(&pk), &q2), -ENAMETOOLONG,
	       "symlink data past NS_PATH_MAX is -ENAMETOOLONG");
	free(buf);
	free(big);
	n = NS_XATTR_SIZE_MAX + 1;
	buf = malloc(n + 2048);
	big = calloc(1, n);
	q.op = MOP_SETXATTR;
	q.data = big;
	q.data_len = (uint32_t)n;
	pack_init(&pk, buf, n + 2048);
	mreq_pack(&pk, &q);
	is_int(mreq_unpack(buf, pack_len(&pk), &q2), -E2BIG,
	       "an xattr value past NS_XATTR_SIZE_MAX is -E2BIG");
	q.op = MOP_CLOSE;
	q.flags = MCLOSE_LIST;
	bad = 0;
	for (uint32_t len = 0; len <= MCLOSE_LIST_MAX * 8 + 8; len += 4) {
		int want = !len || len % 8 || len > MCLOSE_LIST_MAX * 8
				   ? -EINVAL
				   : 0;

		q.data_len = len;
		pack_init(&pk, buf, n + 2048);
		mreq_pack(&pk, &q);
		if (mreq_unpack(buf, pack_len(&pk), &q2) != want)
			bad++;
		mreq_release(&q2);
	}
	is_int(bad, 0,
	       "a close list is 1..MCLOSE_LIST_MAX sessions of 8 bytes, "
	       "else -EINVAL");
	q.flags = 0;
	q.data_len = 16;
	pack_init(&pk, buf, n + 2048);
	mreq_pack(&pk, &q);
	is_int(mreq_unpack(buf, pack_len(&pk), &q2), 0,
	       "without MCLOSE_LIST a close's data is not looked at");
	mreq_release(&q2);
	q.op = 200;
	q.flags = 0;
	q.data_len = 0;
	pack_init(&pk, buf, n + 2048);
	mreq_pack(&pk, &q);
	is_int(mreq_unpack(buf, pack_len(&pk), &q2), -EINVAL,
	       "an unknown op is -EINVAL");
	free(buf);
	free(big);
}

static void test_res(void)
{
	struct mres r = { .status = 0 }, r2 = { .status = 0 };
	struct mdirent ents[3];
	uint8_t buf[8192];
	struct pack pk;
	size_t len;

	memset(ents, 0, sizeof(ents));
	for (int i = 0; i < 3; i++) {
		snprintf(ents[i].name, sizeof(ents[i].name), "e%d", i);
		ents[i].ino = 100 + i;
		ents[i].type = 8;
		ents[i].next = 1000 + i;
	}
	r.res.n = 2;
	r.res.a[0].ino = 1;
	r.res.a[0].mode = 040755;
	r.res.a[1].ino = 5;
	r.res.a[1].size = 12345;
	r.res.a[1].layout = (struct ns_layout){ 1, 65536, 2, 3, 99 };
	r.res.session = 8;
	r.ents = ents;
	r.nents = 3;
	r.eof = true;
	r.size = 17;
	pack_init(&pk, buf, sizeof(buf));
	mres_pack(&pk, MOP_READDIR, &r);
	len = pack_len(&pk);
	ok(!pk.err && len <= mres_size(MOP_READDIR, &r),
	   "a readdir reply packs within mres_size()");
	is_int(mres_unpack(MOP_READDIR, buf, len, &r2), 0, "and unpacks");
	ok(r2.res.n == 2 && r2.res.a[0].mode == 040755 &&
		   r2.res.a[1].size == 12345 && r2.res.a[1].layout.seed == 99 &&
		   r2.res.a[1].layout.start == 3 && r2.res.session == 8,
	   "attributes and session survive");
	ok(r2.nents == 3 && !strcmp(r2.ents[2].name, "e2") &&
		   r2.ents[2].ino == 102 && r2.ents[2].next == 1002 &&
		   r2.ents[0].type == 8 && r2.eof && r2.size == 17,
	   "entries, eof and size survive");
	mres_release(&r2);
	is_int(mres_unpack(MOP_READDIR, buf, len - 1, &r2), -FFFS_EBADFRAME,
	       "a truncated reply is refused");
	r2.status = -ENOENT;
	is_int(mres_unpack(MOP_LOOKUP, NULL, 0, &r2), 0,
	       "an error with an empty body is fine");
	is_int(r2.status, -ENOENT, "and keeps its status");

	memset(&r, 0, sizeof(r));
	r.data = (uint8_t *)"target";
	r.data_len = 6;
	pack_init(&pk, buf, sizeof(buf));
	mres_pack(&pk, MOP_READLINK, &r);
	r2.status = 0;
	is_int(mres_unpack(MOP_READLINK, buf, pack_len(&pk), &r2), 0,
	       "a readlink reply");
	ok(r2.data_len == 6 && !strcmp((char *)r2.data, "target"),
	   "its target survives");
	mres_release(&r2);

	memset(&r, 0, sizeof(r));
	r.inodes = 3;
	r.capacity = 1ull << 40;
	r.used = 5;
	pack_init(&pk, buf, sizeof(buf));
	mres_pack(&pk, MOP_STATFS, &r);
	is_int(mres_unpack(MOP_STATFS, buf, pack_len(&pk), &r2), 0,
	       "a statfs reply");
	ok(r2.inodes == 3 && r2.capacity == 1ull << 40 && r2.used == 5,
	   "its counts survive");
}

int main(void)
{
	ok(mop_is_read(MOP_LOOKUP) && mop_is_read(MOP_LAYOUT_GET) &&
		   !mop_is_read(MOP_SETATTR) && !mop_is_read(MOP_CREATE),
	   "reads and changes are told apart");
	ok(!mop_valid(0) && !mop_valid(MOP__READS_END) &&
		   !mop_valid(MOP__END) && mop_valid(MOP_REMOVE_TREE),
	   "op numbers are checked");
	is_str(mop_name(MOP_MKDIR), "mkdir", "op names");
	is_str(mop_name(99), "?", "unknown op name");
	test_req();
	test_req_limits();
	test_res();
	return done_testing();
}
