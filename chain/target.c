/* chain/target.c - storage targets: the --target spec, opening and locking
 * the file or block device, and checking or writing its superblock. */
#define LOG_SUBSYS "target"
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/crc32c.h"
#include "chain/alloc.h"
#include "chain/target.h"
#include "fffs.h"
#include "net/pack.h"

#define SB_MAGIC_LEN 8
#define SB_CRC_OFF   12 /* after the magic and the format version */

_Static_assert(sizeof(TARGET_MAGIC) == SB_MAGIC_LEN, "magic is 8 bytes");
_Static_assert(TARGET_MIN_SIZE == TARGET_DATA_OFF + 2 * ALLOC_GROUP,
	       "a target holds at least two allocation groups");

/* Format a message into err (when there is room) and return rc. */
FFFS_PRINTF(4, 5)
static int target_err(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* ---- spec ------------------------------------------------------------- */

static int size_shift(char c)
{
	switch (c) {
	case 'K':
	case 'k':
		return 10;
	case 'M':
	case 'm':
		return 20;
	case 'G':
	case 'g':
		return 30;
	case 'T':
	case 't':
		return 40;
	default:
		return -1;
	}
}

/* s[0..len) as decimal digits, with one K/M/G/T suffix when allowed:
 * 0, -EINVAL when it is not a number, -ERANGE past INT64_MAX (fallocate
 * and lseek offsets are signed). */
static int parse_num(const char *s, size_t len, bool suffix, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;
	int shift = 0;

	for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (INT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0)
		return -EINVAL;
	if (suffix && i + 1 == len && size_shift(s[i]) > 0)
		shift = size_shift(s[i++]);
	if (i != len)
		return -EINVAL;
	if (v > (uint64_t)INT64_MAX >> shift)
		return -ERANGE;
	*out = v << shift;
	return 0;
}

/* The value of option name, val[0..vlen), into *dst: a positive number. */
static int spec_value(const char *arg, const char *name, const char *val,
		      size_t vlen, uint64_t *dst, char *err, size_t errlen)
{
	bool is_size = !strcmp(name, "size");
	int rc = parse_num(val, vlen, is_size, dst);
	const char *why;

	if (!rc && *dst)
		return 0;
	if (rc == -ERANGE)
		why = "too large";
	else if (is_size)
		why = "not a positive number of bytes (K/M/G/T suffixes "
		      "allowed)";
	else
		why = "not a positive integer";
	*dst = 0;
	return target_err(err, errlen, -EINVAL,
			  "invalid target '%s': %s '%.*s' is %s", arg, name,
			  (int)vlen, val, why);
}

/* One NAME=VALUE option, opt[0..len), of the spec arg. */
static int spec_option(const char *arg, const char *opt, size_t len,
		       struct target_spec *spec, char *err, size_t errlen)
{
	const char *eq = memchr(opt, '=', len);
	size_t klen = eq ? (size_t)(eq - opt) : len;
	const char *name;
	uint64_t *dst;

	if (klen == 4 && !memcmp(opt, "size", 4)) {
		name = "size";
		dst = &spec->size;
	} else if (klen == 2 && !memcmp(opt, "id", 2)) {
		name = "id";
		dst = &spec->id;
	} else {
		return target_err(err, errlen, -EINVAL,
				  "invalid target '%s': %s option '%.*s' "
				  "(known: size=, id=)",
				  arg, len ? "unknown" : "empty", (int)len,
				  opt);
	}
	if (*dst)
		return target_err(err, errlen, -EINVAL,
				  "invalid target '%s': %s= given twice", arg,
				  name);
	if (!eq)
		return target_err(err, errlen, -EINVAL,
				  "invalid target '%s': %s= needs a value", arg,
				  name);
	return spec_value(arg, name, eq + 1, len - klen - 1, dst, err, errlen);
}

int target_spec_parse(const char *arg, struct target_spec *spec, char *err,
		      size_t errlen)
{
	const char *comma = strchr(arg, ',');
	size_t plen = comma ? (size_t)(comma - arg) : strlen(arg);
	const char *opt, *next;
	int rc;

	memset(spec, 0, sizeof(*spec));
	if (!plen)
		return target_err(err, errlen, -EINVAL,
				  "invalid target '%s': empty path", arg);
	if (plen >= sizeof(spec->path))
		return target_err(err, errlen, -ENAMETOOLONG,
				  "invalid target '%s': path longer than %zu "
				  "bytes",
				  arg, sizeof(spec->path) - 1);
	memcpy(spec->path, arg, plen);
	for (opt = comma; opt; opt = next) {
		opt++;
		next = strchr(opt, ',');
		rc = spec_option(arg, opt,
				 next ? (size_t)(next - opt) : strlen(opt),
				 spec, err, errlen);
		if (rc) {
			memset(spec, 0, sizeof(*spec));
			return rc;
		}
	}
	return 0;
}

/* ---- superblock ------------------------------------------------------- */

/* crc32c of the 4 KiB with the crc field read as zero. */
static uint32_t sb_crc(const uint8_t *sb)
{
	static const uint8_t zero[4];
	uint32_t crc = crc32c(0, sb, SB_CRC_OFF);

	crc = crc32c(crc, zero, sizeof(zero));
	return crc32c(crc, sb + SB_CRC_OFF + 4,
		      TARGET_SB_SIZE - SB_CRC_OFF - 4);
}

void target_sb_encode(const struct target_sb *sb, uint8_t out[TARGET_SB_SIZE])
{
	struct pack pk;

	FFFS_ASSERT(memchr(sb->cluster, 0, sizeof(sb->cluster)));
	memset(out, 0, TARGET_SB_SIZE);
	pack_init(&pk, out, TARGET_SB_SIZE);
	pack_bytes(&pk, TARGET_MAGIC, SB_MAGIC_LEN);
	pack_u32(&pk, sb->format);
	pack_u32(&pk, 0); /* the crc, below */
	pack_u64(&pk, sb->id);
	pack_bytes(&pk, sb->uuid, sizeof(sb->uuid));
	pack_str(&pk, sb->cluster);
	pack_u64(&pk, sb->size);
	pack_u64(&pk, sb->data_off);
	pack_u64(&pk, sb->ctime_ns);
	FFFS_ASSERT(!pk.err);
	pack_init(&pk, out + SB_CRC_OFF, 4);
	pack_u32(&pk, sb_crc(out));
}

int target_sb_decode(const uint8_t in[TARGET_SB_SIZE], struct target_sb *sb)
{
	struct unpack up;
	uint32_t format, crc;

	memset(sb, 0, sizeof(*sb));
	if (memcmp(in, TARGET_MAGIC, SB_MAGIC_LEN))
		return -FFFS_EBADFRAME;
	unpack_init(&up, in + SB_MAGIC_LEN, TARGET_SB_SIZE - SB_MAGIC_LEN);
	format = unpack_u32(&up);
	crc = unpack_u32(&up);
	if (crc != sb_crc(in))
		return -FFFS_ECRC;
	sb->format = format;
	if (format != TARGET_FORMAT)
		return -FFFS_EBADVERSION;
	sb->id = unpack_u64(&up);
	unpack_bytes(&up, sb->uuid, sizeof(sb->uuid));
	unpack_cstr(&up, sb->cluster, sizeof(sb->cluster));
	sb->size = unpack_u64(&up);
	sb->data_off = unpack_u64(&up);
	sb->ctime_ns = unpack_u64(&up);
	if (!up.err && sb->data_off == TARGET_DATA_OFF)
		return 0;
	memset(sb, 0, sizeof(*sb));
	return -FFFS_EBADFRAME;
}

/* ---- opening ---------------------------------------------------------- */

/* Remove the file this open created, unless the name now points elsewhere. */
static void remove_created(struct target_dev *dev)
{
	struct stat a, b;

	if (fstat(dev->fd, &a) || stat(dev->path, &b) || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino)
		return;
	if (unlink(dev->path))
		log_warn("cannot remove target '%s' after a failed open: %s",
			 dev->path, fffs_strerror(errno));
}

static int target_lock(struct target_dev *dev, char *err, size_t errlen)
{
	int e;

	if (!flock(dev->fd, LOCK_EX | LOCK_NB))
		return 0;
	e = errno;
	if (e == EWOULDBLOCK)
		return target_err(err, errlen, -EBUSY,
				  "target '%s' is in use by another process",
				  dev->path);
	return target_err(err, errlen, -e, "cannot lock target '%s': %s",
			  dev->path, fffs_strerror(e));
}

/* O_DIRECT is set after the open so that a file system without direct I/O
 * is named as such, and an O_CREAT open cannot fail after creating. */
static int target_set_direct(struct target_dev *dev, char *err, size_t errlen)
{
	int fl = fcntl(dev->fd, F_GETFL), e;

	if (fl >= 0 && !fcntl(dev->fd, F_SETFL, fl | O_DIRECT))
		return 0;
	e = errno;
	return target_err(err, errlen, -e,
			  "cannot use O_DIRECT on target '%s': %s%s", dev->path,
			  fffs_strerror(e),
			  e == EINVAL ? " (the file system does not support "
					"direct I/O)"
				      : "");
}

/* Type and size of the open target; it must still be what stat() saw. */
static int target_size(struct target_dev *dev, char *err, size_t errlen)
{
	struct stat st;
	int e;

	if (fstat(dev->fd, &st))
		goto out_errno;
	if (S_ISREG(st.st_mode) && !dev->is_blockdev) {
		dev->size = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode) && dev->is_blockdev) {
		if (ioctl(dev->fd, BLKGETSIZE64, &dev->size))
			goto out_errno;
	} else {
		return target_err(err, errlen, -EINVAL,
				  "target '%s' changed while being opened",
				  dev->path);
	}
	if (dev->size >= TARGET_MIN_SIZE)
		return 0;
	return target_err(err, errlen, -EINVAL,
			  "target '%s' is too small: %" PRIu64
			  " bytes, need at least %llu",
			  dev->path, dev->size, TARGET_MIN_SIZE);

out_errno:
	e = errno;
	return target_err(err, errlen, -e,
			  "cannot get the size of target '%s': %s", dev->path,
			  fffs_strerror(e));
}

static int open_existing(const struct target_spec *spec, const struct stat *st,
			 struct target_dev *dev, char *err, size_t errlen)
{
	int e;

	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode))
		return target_err(err, errlen, -EINVAL,
				  "target '%s' is neither a regular file nor a "
				  "block device",
				  dev->path);
	if (spec->size)
		log_warn("target '%s' exists: size=%" PRIu64 " ignored",
			 dev->path, spec->size);
	dev->is_blockdev = S_ISBLK(st->st_mode);
	dev->fd = open(dev->path,
		       O_RDWR | O_CLOEXEC | (dev->is_blockdev ? O_EXCL : 0));
	if (dev->fd >= 0)
		return 0;
	e = errno;
	if (e == EBUSY && dev->is_blockdev)
		return target_err(err, errlen, -EBUSY,
				  "target '%s' is in use (mounted, or held "
				  "open exclusively)",
				  dev->path);
	return target_err(err, errlen, -e, "cannot open target '%s': %s",
			  dev->path, fffs_strerror(e));
}

/* Create the file, lock it, allocate it; *created once it is ours. */
static int create_file(const struct target_spec *spec, struct target_dev *dev,
		       bool *created, char *err, size_t errlen)
{
	int rc, e;

	if (spec->size < TARGET_MIN_SIZE)
		return target_err(err, errlen, -EINVAL,
				  "target '%s': size %" PRIu64
				  " is too small, need at least %llu",
				  dev->path, spec->size, TARGET_MIN_SIZE);
	dev->fd = open(dev->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (dev->fd < 0) {
		e = errno;
		return target_err(err, errlen, -e,
				  "cannot create target '%s': %s", dev->path,
				  fffs_strerror(e));
	}
	rc = target_lock(dev, err, errlen); /* if not, it is someone else's */
	if (rc)
		return rc;
	*created = true;
	if (!fallocate(dev->fd, 0, 0, (off_t)spec->size))
		return 0;
	e = errno;
	return target_err(err, errlen, -e,
			  "cannot allocate %" PRIu64 " bytes for target '%s': "
			  "%s",
			  spec->size, dev->path, fffs_strerror(e));
}

/* The new file's name is durable only once its directory is synced. */
static int sync_parent(const struct target_dev *dev, char *err, size_t errlen)
{
	char dir[sizeof(dev->path)];
	char *slash;
	int fd, e;

	snprintf(dir, sizeof(dir), "%s", dev->path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && !fsync(fd)) {
		close(fd);
		return 0;
	}
	e = errno;
	if (fd >= 0)
		close(fd);
	return target_err(err, errlen, -e,
			  "cannot sync the directory of target '%s': %s",
			  dev->path, fffs_strerror(e));
}

/* stat (not lstat: a symlink to a device is fine), then open or create,
 * lock, switch to O_DIRECT and size. On failure dev->fd is closed. */
static int target_acquire(const struct target_spec *spec,
			  struct target_dev *dev, bool *created, char *err,
			  size_t errlen)
{
	struct stat st;
	int rc, e;

	if (!stat(dev->path, &st)) {
		rc = open_existing(spec, &st, dev, err, errlen);
		if (!rc)
			rc = target_lock(dev, err, errlen);
	} else if ((e = errno) != ENOENT) {
		return target_err(err, errlen, -e,
				  "cannot stat target '%s': %s", dev->path,
				  fffs_strerror(e));
	} else if (!spec->size) {
		return target_err(err, errlen, -ENOENT,
				  "target '%s' does not exist (give size= to "
				  "create it)",
				  dev->path);
	} else {
		rc = create_file(spec, dev, created, err, errlen);
	}
	if (!rc)
		rc = target_set_direct(dev, err, errlen);
	if (!rc)
		rc = target_size(dev, err, errlen);
	if (!rc && *created)
		rc = sync_parent(dev, err, errlen);
	if (rc && *created)
		remove_created(dev);
	if (rc && dev->fd >= 0) {
		close(dev->fd);
		dev->fd = -1;
	}
	return rc;
}

static int fill_random(uint8_t *p, size_t n)
{
	ssize_t r;

	while (n) {
		r = getrandom(p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Write a new superblock into the blank target and make it durable. */
static int sb_format(struct target_dev *dev, const char *cluster, uint64_t id,
		     uint8_t *buf, char *err, size_t errlen)
{
	struct target_sb *sb = &dev->sb;
	struct timespec ts;
	ssize_t n;
	int rc, e;

	if (!id)
		return target_err(err, errlen, -EINVAL,
				  "target '%s' is blank and no id was given",
				  dev->path);
	memset(sb, 0, sizeof(*sb));
	rc = fill_random(sb->uuid, sizeof(sb->uuid));
	if (rc)
		return target_err(err, errlen, rc,
				  "cannot make a uuid for target '%s': %s",
				  dev->path, fffs_strerror(rc));
	clock_gettime(CLOCK_REALTIME, &ts);
	sb->format = TARGET_FORMAT;
	sb->id = id;
	snprintf(sb->cluster, sizeof(sb->cluster), "%s", cluster);
	sb->size = dev->size;
	sb->data_off = TARGET_DATA_OFF;
	sb->ctime_ns =
		(uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	target_sb_encode(sb, buf);
	n = pwrite(dev->fd, buf, TARGET_SB_SIZE, 0);
	if (n == TARGET_SB_SIZE && !fsync(dev->fd)) {
		dev->formatted_now = true;
		return 0;
	}
	e = n < 0 || n == TARGET_SB_SIZE ? errno : EIO;
	return target_err(err, errlen, -e,
			  "cannot write the superblock of target '%s': %s",
			  dev->path, fffs_strerror(e));
}

/* Decode the superblock and hold it against the cluster, id= and size. */
static int sb_check(struct target_dev *dev, const char *cluster,
		    uint64_t want_id, const uint8_t *buf, char *err,
		    size_t errlen)
{
	struct target_sb *sb = &dev->sb;
	int rc = target_sb_decode(buf, sb);

	if (rc == -FFFS_ECRC)
		return target_err(err, errlen, rc,
				  "target '%s': superblock checksum mismatch",
				  dev->path);
	if (rc == -FFFS_EBADVERSION)
		return target_err(err, errlen, rc,
				  "target '%s' has superblock format %" PRIu32
				  "; this fffs knows format %d",
				  dev->path, sb->format, TARGET_FORMAT);
	if (rc)
		return target_err(err, errlen, -FFFS_ECRC,
				  "target '%s': malformed superblock",
				  dev->path);
	if (strcmp(sb->cluster, cluster))
		return target_err(err, errlen, -FFFS_EBADCLUSTER,
				  "target '%s' belongs to cluster '%s', not "
				  "'%s'",
				  dev->path, sb->cluster, cluster);
	if (want_id && want_id != sb->id)
		return target_err(err, errlen, -EINVAL,
				  "target '%s' has id %" PRIu64 ", not %" PRIu64
				  " as given by id=",
				  dev->path, sb->id, want_id);
	if (sb->size > dev->size)
		return target_err(err, errlen, -EINVAL,
				  "target '%s' shrank: formatted with %" PRIu64
				  " bytes, now %" PRIu64,
				  dev->path, sb->size, dev->size);
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	return !p[0] && !memcmp(p, p + 1, n - 1);
}

/* Read the first 4 KiB, then format a blank target or check ours. */
static int target_sb_load(struct target_dev *dev,
			  const struct target_spec *spec, const char *cluster,
			  uint64_t default_id, char *err, size_t errlen)
{
	uint8_t *buf = xaligned_alloc(TARGET_SB_SIZE, TARGET_SB_SIZE);
	ssize_t n;
	int rc, e;

	n = pread(dev->fd, buf, TARGET_SB_SIZE, 0);
	if (n != TARGET_SB_SIZE) {
		e = n < 0 ? errno : EIO;
		rc = target_err(err, errlen, -e,
				"cannot read the superblock of target '%s': %s",
				dev->path, fffs_strerror(e));
	} else if (all_zero(buf, TARGET_SB_SIZE)) {
		rc = sb_format(dev, cluster, spec->id ? spec->id : default_id,
			       buf, err, errlen);
	} else if (!memcmp(buf, TARGET_MAGIC, SB_MAGIC_LEN)) {
		rc = sb_check(dev, cluster, spec->id, buf, err, errlen);
	} else {
		rc = target_err(err, errlen, -EEXIST,
				"target '%s' holds data that is not an fffs "
				"target; refusing to format it",
				dev->path);
	}
	free(buf);
	return rc;
}

int target_open(const struct target_spec *spec, const char *cluster,
		uint64_t default_id, struct target_dev *dev, char *err,
		size_t errlen)
{
	bool created = false;
	int rc;

	memset(dev, 0, sizeof(*dev));
	dev->fd = -1;
	snprintf(dev->path, sizeof(dev->path), "%s", spec->path);
	if (strlen(cluster) >= sizeof(dev->sb.cluster))
		return target_err(err, errlen, -EINVAL,
				  "target '%s': cluster id '%s' is longer than "
				  "%zu bytes",
				  dev->path, cluster,
				  sizeof(dev->sb.cluster) - 1);
	rc = target_acquire(spec, dev, &created, err, errlen);
	if (rc)
		return rc;
	rc = target_sb_load(dev, spec, cluster, default_id, err, errlen);
	if (rc)
		goto out_close;
	log_debug("target '%s': id %" PRIu64 ", cluster '%s', %" PRIu64
		  " bytes%s",
		  dev->path, dev->sb.id, dev->sb.cluster, dev->size,
		  dev->formatted_now ? ", formatted now" : "");
	return 0;

out_close:
	if (created)
		remove_created(dev);
	target_close(dev);
	memset(&dev->sb, 0, sizeof(dev->sb));
	dev->formatted_now = false;
	return rc;
}

void target_close(struct target_dev *dev)
{
	if (dev->fd < 0)
		return;
	flock(dev->fd, LOCK_UN);
	close(dev->fd);
	dev->fd = -1;
}
