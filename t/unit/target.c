/* t/unit/target.c - --target spec parsing, the superblock layout, and
 * opening file targets (and a loop device when losetup works). */
#define LOG_SUBSYS "t-target"
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/crc32c.h"
#include "chain/target.h"
#include "fffs.h"
#include "t/unit/tap.h"

#define MiB (1ull << 20)

static char dir[256];
static char err[512];

/* ---- helpers ---------------------------------------------------------- */

static void path_in(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
}

/* Parse "ARG" and open it; the message lands in err. */
static int open_arg(const char *arg, const char *cluster, uint64_t def_id,
		    struct target_dev *dev)
{
	struct target_spec spec;
	int rc;

	err[0] = 0;
	rc = target_spec_parse(arg, &spec, err, sizeof(err));
	if (rc)
		return rc;
	rc = target_open(&spec, cluster, def_id, dev, err, sizeof(err));
	if (rc)
		ok(dev->fd == -1, "a refused open leaves no fd");
	return rc;
}

/* Open NAME (in dir) with options OPTS. */
static int open_name(const char *name, const char *opts, const char *cluster,
		     uint64_t def_id, struct target_dev *dev)
{
	char arg[512];

	snprintf(arg, sizeof(arg), "%s/%s%s", dir, name, opts);
	return open_arg(arg, cluster, def_id, dev);
}

static bool err_names(const char *name)
{
	char p[300];

	path_in(p, sizeof(p), name);
	if (strstr(err, p))
		return true;
	printf("#   message '%s' does not name '%s'\n", err, p);
	return false;
}

/* CRC32C of the first MiB and the size: "untouched" means both equal. */
static uint64_t head_sum(const char *name)
{
	static uint8_t buf[MiB];
	char p[300];
	struct stat st;
	ssize_t n;
	int fd;

	path_in(p, sizeof(p), name);
	fd = open(p, O_RDONLY);
	FFFS_ASSERT(fd >= 0);
	n = pread(fd, buf, sizeof(buf), 0);
	FFFS_ASSERT(n >= 0 && !fstat(fd, &st));
	close(fd);
	return (uint64_t)crc32c(0, buf, (size_t)n) << 32 ^ (uint64_t)st.st_size;
}

/* A sparse file of size bytes, then len bytes of data at off. */
static void make_file(const char *name, uint64_t size, const void *data,
		      size_t len, off_t off)
{
	char p[300];
	int fd;

	path_in(p, sizeof(p), name);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	FFFS_ASSERT(fd >= 0 && !ftruncate(fd, (off_t)size));
	FFFS_ASSERT(!len || pwrite(fd, data, len, off) == (ssize_t)len);
	close(fd);
}

static void write_at(const char *name, const void *data, size_t len, off_t off)
{
	char p[300];
	int fd;

	path_in(p, sizeof(p), name);
	fd = open(p, O_RDWR);
	FFFS_ASSERT(fd >= 0 && pwrite(fd, data, len, off) == (ssize_t)len);
	close(fd);
}

static void read_sb(const char *name, uint8_t sb[TARGET_SB_SIZE])
{
	char p[300];
	int fd;

	path_in(p, sizeof(p), name);
	fd = open(p, O_RDONLY);
	FFFS_ASSERT(fd >= 0 &&
		    pread(fd, sb, TARGET_SB_SIZE, 0) == TARGET_SB_SIZE);
	close(fd);
}

static bool exists(const char *name)
{
	char p[300];
	struct stat st;

	path_in(p, sizeof(p), name);
	return !lstat(p, &st);
}

/* The layout as the header documents it, written independently of the
 * code under test. */
static void put_le(uint8_t *b, size_t off, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		b[off + (size_t)i] = (uint8_t)(v >> (8 * i));
}

static void fix_crc(uint8_t *b)
{
	put_le(b, 12, 0, 4);
	put_le(b, 12, crc32c(0, b, TARGET_SB_SIZE), 4);
}

/* magic, format, crc, id, uuid, cluster, size, data_off, ctime */
static void hand_sb(uint8_t *b, uint32_t format, const char *cluster,
		    uint64_t data_off)
{
	size_t clen = strlen(cluster), off;

	memset(b, 0, TARGET_SB_SIZE);
	memcpy(b, "FFFSTGT", 8);
	put_le(b, 8, format, 4);
	put_le(b, 16, 0x1122334455667788ull, 8);
	for (int i = 0; i < 16; i++)
		b[24 + i] = (uint8_t)(0xa0 + i);
	put_le(b, 40, clen, 2);
	memcpy(b + 42, cluster, clen);
	off = 42 + clen;
	put_le(b, off, 300 * MiB, 8);
	put_le(b, off + 8, data_off, 8);
	put_le(b, off + 16, 1700000000123456789ull, 8);
	fix_crc(b);
}

/* ---- spec ------------------------------------------------------------- */

struct spec_case {
	const char *arg;
	int rc;
	const char *path;
	uint64_t size, id;
};

static const struct spec_case spec_cases[] = {
	{ "/dev/nvme0n1", 0, "/dev/nvme0n1", 0, 0 },
	{ "/srv/fffs/t2.img,size=64G", 0, "/srv/fffs/t2.img", 64ull << 30, 0 },
	{ "t.img,size=100", 0, "t.img", 100, 0 },
	{ "t.img,size=3k", 0, "t.img", 3072, 0 },
	{ "t.img,size=10M,id=3", 0, "t.img", 10 * MiB, 3 },
	{ "t.img,id=3,size=10m", 0, "t.img", 10 * MiB, 3 },
	{ "t.img,size=2T", 0, "t.img", 2ull << 40, 0 },
	{ "t.img,id=18446744073", 0, "t.img", 0, 18446744073ull },
	{ "t.img,size=8388607T", 0, "t.img", 8388607ull << 40, 0 },
	{ "t.img,size=9223372036854775807", 0, "t.img", INT64_MAX, 0 },
	{ "", -EINVAL, NULL, 0, 0 },
	{ ",size=1G", -EINVAL, NULL, 0, 0 },
	{ "/a,foo=1", -EINVAL, NULL, 0, 0 },
	{ "/a,SIZE=1G", -EINVAL, NULL, 0, 0 },
	{ "/a,size=", -EINVAL, NULL, 0, 0 },
	{ "/a,size", -EINVAL, NULL, 0, 0 },
	{ "/a,size=12X", -EINVAL, NULL, 0, 0 },
	{ "/a,size=1GB", -EINVAL, NULL, 0, 0 },
	{ "/a,size=-1", -EINVAL, NULL, 0, 0 },
	{ "/a,size= 1", -EINVAL, NULL, 0, 0 },
	{ "/a,size=1.5G", -EINVAL, NULL, 0, 0 },
	{ "/a,size=0", -EINVAL, NULL, 0, 0 },
	{ "/a,size=0x10", -EINVAL, NULL, 0, 0 },
	{ "/a,size=K", -EINVAL, NULL, 0, 0 },
	{ "/a,size=99999999999999999999", -EINVAL, NULL, 0, 0 },
	{ "/a,size=9223372036854775808", -EINVAL, NULL, 0, 0 },
	{ "/a,size=8388608T", -EINVAL, NULL, 0, 0 },
	{ "/a,id=0", -EINVAL, NULL, 0, 0 },
	{ "/a,id=abc", -EINVAL, NULL, 0, 0 },
	{ "/a,id=1k", -EINVAL, NULL, 0, 0 },
	{ "/a,", -EINVAL, NULL, 0, 0 },
	{ "/a,,size=1G", -EINVAL, NULL, 0, 0 },
	{ "/a,size=1G,size=2G", -EINVAL, NULL, 0, 0 },
	{ "/a,id=1,id=1", -EINVAL, NULL, 0, 0 },
};

static bool spec_case_ok(const struct spec_case *c)
{
	struct target_spec spec;
	static const struct target_spec zero;
	int rc;

	memset(&spec, 0x5a, sizeof(spec));
	err[0] = 0;
	rc = target_spec_parse(c->arg, &spec, err, sizeof(err));
	if (rc != c->rc) {
		printf("#   '%s': got %d, want %d (%s)\n", c->arg, rc, c->rc,
		       err);
		return false;
	}
	if (rc && (!strstr(err, c->arg) || !strstr(err, "invalid target") ||
		   memcmp(&spec, &zero, sizeof(spec)))) {
		printf("#   '%s': message '%s' or spec not cleared\n", c->arg,
		       err);
		return false;
	}
	if (!rc && (strcmp(spec.path, c->path) || spec.size != c->size ||
		    spec.id != c->id)) {
		printf("#   '%s': got '%s' size %" PRIu64 " id %" PRIu64 "\n",
		       c->arg, spec.path, spec.size, spec.id);
		return false;
	}
	return true;
}

/* What the message says for a few refusals, besides quoting the arg. */
static void test_spec_messages(void)
{
	static const char *const cases[][2] = {
		{ "", "empty path" },
		{ "/a,foo=1", "unknown option 'foo=1'" },
		{ "/a,,id=1", "empty option" },
		{ "/a,size", "size= needs a value" },
		{ "/a,size=1G,size=1G", "size= given twice" },
		{ "/a,size=12X", "size '12X' is not a positive number" },
		{ "/a,size=8388608T", "size '8388608T' is too large" },
		{ "/a,id=-3", "id '-3' is not a positive integer" },
	};
	struct target_spec spec;
	char name[96];

	for (size_t i = 0; i < FFFS_ARRAY_LEN(cases); i++) {
		err[0] = 0;
		target_spec_parse(cases[i][0], &spec, err, sizeof(err));
		snprintf(name, sizeof(name), "spec '%s' says '%s'", cases[i][0],
			 cases[i][1]);
		if (!ok(strstr(err, cases[i][1]), name))
			printf("#   got '%s'\n", err);
	}
}

static void test_spec(void)
{
	char name[96], *longarg;
	struct target_spec spec;

	for (size_t i = 0; i < FFFS_ARRAY_LEN(spec_cases); i++) {
		snprintf(name, sizeof(name), "spec '%s' -> %d",
			 spec_cases[i].arg, spec_cases[i].rc);
		ok(spec_case_ok(&spec_cases[i]), name);
	}
	longarg = xmalloc(sizeof(spec.path) + 16);
	memset(longarg, 'a', sizeof(spec.path));
	snprintf(longarg + sizeof(spec.path), 16, ",size=1G");
	is_int(target_spec_parse(longarg, &spec, err, sizeof(err)),
	       -ENAMETOOLONG, "a 4096-byte path is too long");
	longarg[sizeof(spec.path) - 1] = 0;
	is_int(target_spec_parse(longarg, &spec, err, sizeof(err)), 0,
	       "a 4095-byte path fits");
	free(longarg);
	is_int(target_spec_parse("/a,bad", &spec, NULL, 0), -EINVAL,
	       "no message buffer is fine");
}

/* ---- superblock codec ------------------------------------------------- */

static void test_sb_layout(void)
{
	uint8_t b[TARGET_SB_SIZE], e[TARGET_SB_SIZE];
	struct target_sb sb;

	hand_sb(b, TARGET_FORMAT, "prod-1", TARGET_DATA_OFF);
	is_int(target_sb_decode(b, &sb), 0, "decode the documented layout");
	ok(sb.format == TARGET_FORMAT && sb.id == 0x1122334455667788ull &&
		   sb.uuid[0] == 0xa0 && sb.uuid[15] == 0xaf &&
		   !strcmp(sb.cluster, "prod-1") && sb.size == 300 * MiB &&
		   sb.data_off == TARGET_DATA_OFF &&
		   sb.ctime_ns == 1700000000123456789ull,
	   "every field decoded");
	target_sb_encode(&sb, e);
	ok(!memcmp(b, e, sizeof(b)), "encode gives back the same 4 KiB");
	b[100] ^= 1;
	is_int(target_sb_decode(b, &sb), -FFFS_ECRC, "a flipped byte: ECRC");
	b[100] ^= 1;
	b[TARGET_SB_SIZE - 1] = 1;
	is_int(target_sb_decode(b, &sb), -FFFS_ECRC,
	       "the crc covers the padding");
	b[TARGET_SB_SIZE - 1] = 0;
	b[12] ^= 0x80;
	is_int(target_sb_decode(b, &sb), -FFFS_ECRC, "a wrong crc: ECRC");
	b[12] ^= 0x80;
	b[3] = 'x';
	is_int(target_sb_decode(b, &sb), -FFFS_EBADFRAME, "no magic");
	hand_sb(b, 2, "prod-1", TARGET_DATA_OFF);
	is_int(target_sb_decode(b, &sb), -FFFS_EBADVERSION, "format 2");
	is_int(sb.format, 2, "the unknown format is reported");
	hand_sb(b, TARGET_FORMAT, "prod-1", 2 * MiB);
	is_int(target_sb_decode(b, &sb), -FFFS_EBADFRAME, "data offset 2 MiB");
}

static void test_sb_cluster(void)
{
	char c63[64], c64[65];
	uint8_t b[TARGET_SB_SIZE];
	struct target_sb sb;

	memset(c63, 'c', 63);
	c63[63] = 0;
	memset(c64, 'c', 64);
	c64[64] = 0;
	hand_sb(b, TARGET_FORMAT, c63, TARGET_DATA_OFF);
	is_int(target_sb_decode(b, &sb), 0, "a 63-byte cluster id");
	is_str(sb.cluster, c63, "... decoded whole");
	hand_sb(b, TARGET_FORMAT, c64, TARGET_DATA_OFF);
	is_int(target_sb_decode(b, &sb), -FFFS_EBADFRAME,
	       "a 64-byte cluster id is malformed");
	hand_sb(b, TARGET_FORMAT, "ab", TARGET_DATA_OFF);
	b[43] = 0;
	fix_crc(b);
	is_int(target_sb_decode(b, &sb), -FFFS_EBADFRAME,
	       "a NUL inside the cluster id is malformed");
	hand_sb(b, TARGET_FORMAT, "", TARGET_DATA_OFF);
	is_int(target_sb_decode(b, &sb), 0, "an empty cluster id decodes");
}

/* ---- file targets ----------------------------------------------------- */

static bool sb_fields_ok(const struct target_dev *dev, uint64_t id, uint64_t t0)
{
	static const uint8_t zero[16];
	uint8_t raw[TARGET_SB_SIZE];
	struct target_sb disk;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	read_sb("t1.img", raw);
	return !dev->is_blockdev && dev->size == 256 * MiB &&
	       dev->sb.format == TARGET_FORMAT && dev->sb.id == id &&
	       !strcmp(dev->sb.cluster, "c1") && dev->sb.size == 256 * MiB &&
	       dev->sb.data_off == TARGET_DATA_OFF && dev->sb.ctime_ns >= t0 &&
	       dev->sb.ctime_ns <= (uint64_t)ts.tv_sec * 1000000000ull +
					   (uint64_t)ts.tv_nsec &&
	       memcmp(dev->sb.uuid, zero, 16) &&
	       !target_sb_decode(raw, &disk) &&
	       !memcmp(&disk, &dev->sb, sizeof(disk));
}

static void test_create(struct target_dev *dev)
{
	struct timespec ts;
	struct stat st;
	char p[300];
	uint64_t t0;

	clock_gettime(CLOCK_REALTIME, &ts);
	t0 = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	is_int(open_name("t1.img", ",size=256M", "c1", 5, dev), 0,
	       "create a 256M file target");
	if (err[0])
		diag(err);
	ok(dev->formatted_now, "it was formatted now");
	ok(dev->fd >= 0 && (fcntl(dev->fd, F_GETFL) & O_DIRECT) &&
		   (fcntl(dev->fd, F_GETFL) & O_ACCMODE) == O_RDWR &&
		   (fcntl(dev->fd, F_GETFD) & FD_CLOEXEC),
	   "fd is O_RDWR | O_DIRECT | O_CLOEXEC");
	ok(sb_fields_ok(dev, 5, t0),
	   "superblock fields, in memory and on disk");
	path_in(p, sizeof(p), "t1.img");
	ok(!stat(p, &st) && S_ISREG(st.st_mode) &&
		   (st.st_mode & 0777) == 0600 && st.st_size == 256 * MiB &&
		   (uint64_t)st.st_blocks * 512 >= 256 * MiB,
	   "a 0600 file with 256M allocated");
}

/* In a child: open t1.img, report, hold it until the pipe closes. */
static _Noreturn void child_hold(int go, int hold)
{
	struct target_spec spec;
	struct target_dev dev;
	char c;

	memset(&spec, 0, sizeof(spec));
	path_in(spec.path, sizeof(spec.path), "t1.img");
	c = !target_open(&spec, "c1", 5, &dev, NULL, 0);
	if (write(go, &c, 1) != 1 || read(hold, &c, 1) < 0)
		_exit(2);
	_exit(0);
}

/* A child holds the target until the pipe closes; we are refused. */
static void test_busy_child(void)
{
	struct target_dev mine;
	int go[2], hold[2], status;
	char c = 0;
	pid_t pid;

	FFFS_ASSERT(!pipe(go) && !pipe(hold));
	fflush(stdout);
	pid = fork();
	FFFS_ASSERT(pid >= 0);
	if (!pid) {
		close(go[0]);
		close(hold[1]);
		child_hold(go[1], hold[0]);
	}
	close(go[1]);
	close(hold[0]);
	ok(read(go[0], &c, 1) == 1 && c, "a child process opens the target");
	is_int(open_name("t1.img", "", "c1", 5, &mine), -EBUSY,
	       "... and we cannot: EBUSY");
	ok(err_names("t1.img") && strstr(err, "in use"),
	   "the message names the target");
	close(hold[1]);
	close(go[0]);
	ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		   !WEXITSTATUS(status),
	   "the child exits");
	is_int(open_name("t1.img", "", "c1", 5, &mine), 0,
	       "once it is gone, the target opens");
	target_close(&mine);
}

static void test_reopen(struct target_dev *dev)
{
	struct target_dev again;
	struct target_sb first = dev->sb;

	is_int(open_name("t1.img", "", "c1", 5, &again), -EBUSY,
	       "a second open in the same process: EBUSY");
	ok(err_names("t1.img"), "the message names the target");
	target_close(dev);
	ok(dev->fd == -1, "target_close forgets the fd");
	target_close(dev);
	test_busy_child();
	is_int(open_name("t1.img", "", "c1", 9, dev), 0, "reopen");
	ok(!dev->formatted_now, "not formatted again");
	ok(!memcmp(&dev->sb, &first, sizeof(first)),
	   "same uuid, id 5 (not the new default 9), same ctime");
	target_close(dev);
	is_int(open_name("t1.img", ",id=5", "c1", 9, dev), 0,
	       "reopen with the matching id=5");
	target_close(dev);
	is_int(open_name("t1.img", ",size=1T", "c1", 9, dev), 0,
	       "size= is ignored for an existing target");
	is_int(dev->size, 256 * MiB, "... and the size is the file's");
	target_close(dev);
}

/* An open refused with want, naming the target, leaving it as it was. */
static void refused(const char *name, const char *opts, const char *cluster,
		    int want, const char *what)
{
	uint64_t before = head_sum(name);
	struct target_dev dev;
	char msg[128];

	snprintf(msg, sizeof(msg), "%s: %s", what, fffs_strerror(want));
	is_int(open_name(name, opts, cluster, 7, &dev), want, msg);
	snprintf(msg, sizeof(msg), "%s: message names the target", what);
	ok(err_names(name), msg);
	snprintf(msg, sizeof(msg), "%s: bytes untouched", what);
	ok(head_sum(name) == before, msg);
}

static void test_refusals(void)
{
	uint8_t sb[TARGET_SB_SIZE], save[TARGET_SB_SIZE];
	uint8_t byte;

	refused("t1.img", "", "c2", -FFFS_EBADCLUSTER, "another cluster");
	ok(strstr(err, "'c1'") && strstr(err, "'c2'"),
	   "... both clusters named");
	refused("t1.img", ",id=6", "c1", -EINVAL, "id=6 for target 5");
	ok(strstr(err, " 5") && strstr(err, " 6"), "... both ids named");
	read_sb("t1.img", save);
	byte = save[16] ^ 0x40;
	write_at("t1.img", &byte, 1, 16);
	refused("t1.img", "", "c1", -FFFS_ECRC, "a corrupt superblock");
	ok(strstr(err, "checksum mismatch"), "... says checksum mismatch");
	memcpy(sb, save, sizeof(sb));
	put_le(sb, 8, 99, 4);
	fix_crc(sb);
	write_at("t1.img", sb, sizeof(sb), 0);
	refused("t1.img", "", "c1", -FFFS_EBADVERSION, "format 99");
	ok(strstr(err, "99") && strstr(err, "format 1"),
	   "... both versions named");
	write_at("t1.img", save, sizeof(save), 0);
}

static void test_not_ours(void)
{
	uint8_t junk[TARGET_SB_SIZE];
	struct target_dev dev;
	uint8_t one = 1;

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 7 + 3);
	make_file("junk.img", 256 * MiB, junk, sizeof(junk), 0);
	refused("junk.img", "", "c1", -EEXIST, "garbage in the first 4 KiB");
	ok(strstr(err, "refusing to format"), "... says it will not format");
	make_file("last.img", 256 * MiB, &one, 1, TARGET_SB_SIZE - 1);
	refused("last.img", "", "c1", -EEXIST, "one byte at 4095");
	make_file("blank.img", 256 * MiB, &one, 1, TARGET_SB_SIZE);
	is_int(open_name("blank.img", ",id=42", "c1", 7, &dev), 0,
	       "zero first 4 KiB: formatted");
	ok(dev.formatted_now && dev.sb.id == 42, "... with id=42");
	target_close(&dev);
}

static void test_shapes(void)
{
	struct target_dev dev;
	uint64_t before;
	char arg[300];

	is_int(open_arg(dir, "c1", 7, &dev), -EINVAL, "a directory: EINVAL");
	ok(strstr(err, dir) && strstr(err, "neither a regular file nor a "
					   "block device"),
	   "... the message names it");
	is_int(open_arg("/dev/null", "c1", 7, &dev), -EINVAL,
	       "/dev/null: EINVAL");
	ok(strstr(err, "'/dev/null' is neither"), "... the message names it");
	is_int(open_name("none.img", "", "c1", 7, &dev), -ENOENT,
	       "a missing file without size=: ENOENT");
	ok(err_names("none.img") && !exists("none.img"),
	   "... named, and not created");
	snprintf(arg, sizeof(arg), ",size=%llu", TARGET_MIN_SIZE - 1);
	is_int(open_name("small.img", arg, "c1", 7, &dev), -EINVAL,
	       "size one byte below the minimum: EINVAL");
	ok(err_names("small.img") && !exists("small.img"),
	   "... named, and not created");
	snprintf(arg, sizeof(arg), ",size=%llu", TARGET_MIN_SIZE);
	is_int(open_name("min.img", arg, "c1", 7, &dev), 0,
	       "size exactly the minimum");
	target_close(&dev);
	make_file("tiny.img", 100 * MiB, NULL, 0, 0);
	refused("tiny.img", "", "c1", -EINVAL, "an existing 100M file");
	ok(open_name("huge.img", ",size=4096T", "c1", 7, &dev) < 0,
	   "a size the file system cannot allocate fails");
	diag(err);
	ok(err_names("huge.img") && !exists("huge.img"),
	   "... named, and the file it created is gone");
	is_int(open_name("t1.img", "",
			 "0123456789012345678901234567890123456789"
			 "012345678901234567890123",
			 7, &dev),
	       -EINVAL, "a 64-byte cluster id: EINVAL");
	is_int(open_name("t1.img", "", "c1", 0, &dev), 0,
	       "default id 0 is fine for a formatted target");
	target_close(&dev);
	make_file("noid.img", 256 * MiB, NULL, 0, 0);
	before = head_sum("noid.img");
	is_int(open_name("noid.img", "", "c1", 0, &dev), -EINVAL,
	       "a blank target and no id: EINVAL");
	ok(err_names("noid.img") && head_sum("noid.img") == before,
	   "... named, and still blank");
}

static void test_size_changes(void)
{
	struct target_dev dev;
	char p[300];

	is_int(open_name("grow.img", ",size=256M", "c1", 3, &dev), 0,
	       "create grow.img");
	target_close(&dev);
	path_in(p, sizeof(p), "grow.img");
	FFFS_ASSERT(!truncate(p, 300 * MiB));
	is_int(open_name("grow.img", "", "c1", 3, &dev), 0,
	       "a grown target opens");
	ok(dev.size == 300 * MiB && dev.sb.size == 256 * MiB,
	   "... with its new size and the recorded one");
	target_close(&dev);
	FFFS_ASSERT(!truncate(p, 200 * MiB));
	refused("grow.img", "", "c1", -EINVAL, "a shrunk target");
	ok(strstr(err, "shrank"), "... says it shrank");
}

static void test_symlink(void)
{
	struct target_dev dev;
	char p[300], l[300];

	path_in(p, sizeof(p), "t1.img");
	path_in(l, sizeof(l), "link.img");
	FFFS_ASSERT(!symlink(p, l));
	is_int(open_name("link.img", "", "c1", 7, &dev), 0,
	       "a symlink to a target opens it");
	ok(!dev.formatted_now && dev.sb.id == 5, "... the same target");
	target_close(&dev);
}

/* ---- loop device ------------------------------------------------------ */

static bool loop_attach(const char *file, char *loop, size_t n)
{
	char cmd[400];
	FILE *f;
	bool ok_ = false;

	snprintf(cmd, sizeof(cmd), "losetup -f --show '%s' 2>/dev/null", file);
	f = popen(cmd, "r");
	if (!f)
		return false;
	if (fgets(loop, (int)n, f) && !strncmp(loop, "/dev/loop", 9)) {
		loop[strcspn(loop, "\n")] = 0;
		ok_ = true;
	}
	return pclose(f) == 0 && ok_;
}

static void test_loop_dev(const char *loop)
{
	struct target_dev dev, again;
	struct target_sb first;
	char l[300];

	is_int(open_arg(loop, "c1", 11, &dev), 0, "a loop device target");
	ok(dev.formatted_now && dev.is_blockdev && dev.size == 256 * MiB,
	   "... formatted, a block device of 256M");
	first = dev.sb;
	is_int(open_arg(loop, "c1", 11, &again), -EBUSY,
	       "a second open of the device: EBUSY");
	ok(strstr(err, loop), "... the message names it");
	target_close(&dev);
	path_in(l, sizeof(l), "loop-link");
	FFFS_ASSERT(!symlink(loop, l));
	is_int(open_arg(l, "c1", 12, &dev), 0, "reopen through a symlink");
	ok(dev.is_blockdev && !dev.formatted_now &&
		   !memcmp(&dev.sb, &first, sizeof(first)),
	   "... the same superblock, not formatted again");
	target_close(&dev);
	is_int(open_arg(loop, "c2", 11, &dev), -FFFS_EBADCLUSTER,
	       "the device refuses another cluster");
}

static void test_loop(void)
{
	char file[300], loop[64], cmd[128];

	if (geteuid()) {
		diag("skipping the loop device test: not root");
		return;
	}
	make_file("loop.img", 256 * MiB, NULL, 0, 0);
	path_in(file, sizeof(file), "loop.img");
	if (!loop_attach(file, loop, sizeof(loop))) {
		diag("skipping the loop device test: losetup does not work");
		return;
	}
	test_loop_dev(loop);
	snprintf(cmd, sizeof(cmd), "losetup -d '%s'", loop);
	ok(system(cmd) == 0, "detach the loop device");
}

/* ---- main ------------------------------------------------------------- */

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(p);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	struct target_dev dev;

	log_level_cur = LOGL_ERROR;
	snprintf(dir, sizeof(dir), "%s/fffs-target-XXXXXX", tmp ? tmp : "/tmp");
	FFFS_ASSERT(mkdtemp(dir));
	test_spec();
	test_spec_messages();
	test_sb_layout();
	test_sb_cluster();
	test_create(&dev);
	test_reopen(&dev);
	test_refusals();
	test_not_ours();
	test_shapes();
	test_size_changes();
	test_symlink();
	test_loop();
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
