/* chain/target.h - opening a storage target: a block device or a regular
 * file, with its superblock.
 *
 * Spec syntax (the --target argument): PATH[,size=BYTES][,id=N]
 *	size  for a file that does not exist yet: it is created and
 *	      fallocated to size (K/M/G/T suffixes, powers of 1024); required
 *	      in that case, ignored (with a warning) for an existing target
 *	id    the target id to format with (default: chosen by the caller);
 *	      for an existing target it must match the superblock
 * PATH ends at the first comma and may not be empty; each option at most
 * once; size and id are decimal and non-zero (0 in struct target_spec means
 * "not given"), size at most INT64_MAX. target_spec_parse() returns
 * -ENAMETOOLONG for a PATH of 4096 bytes or more, -EINVAL for anything
 * else malformed, with err quoting the whole argument.
 *
 *	struct target_spec spec;
 *	struct target_dev dev;
 *	if (target_spec_parse(arg, &spec, err, sizeof(err)) ||
 *	    target_open(&spec, cluster, next_id, &dev, err, sizeof(err)))
 *		...                       // err says what and names the target
 *	... O_DIRECT I/O on dev.fd in [dev.sb.data_off, dev.size) ...
 *	target_close(&dev);
 *
 * Layout on the device: the superblock in the first 4 KiB, the data area
 * from TARGET_DATA_OFF (1 MiB) to the end. Superblock (little-endian):
 *	magic "FFFSTGT\0", u32 format version, u32 crc32c of the 4 KiB with
 *	this field zero, u64 target id, u8[16] uuid, str cluster id (u16 len +
 *	bytes, up to 63), u64 size of the device when formatted, u64 data
 *	offset, u64 creation time (ns since the epoch); zeroes to 4 KiB.
 *
 * target_open() refuses, leaving the target untouched, and says why in err
 * naming the path:
 *	- a path that is neither a regular file nor a block device (-EINVAL);
 *	- a missing file without size= (-ENOENT), or a size (given, or of an
 *	  existing target) below TARGET_MIN_SIZE, two allocation groups after
 *	  the superblock area (-EINVAL);
 *	- a target opened by another process (-EBUSY): an exclusive lock (flock
 *	  for files; O_EXCL for block devices, plus flock). flock locks belong
 *	  to the open file, so a second target_open() of the same target in the
 *	  same process is refused too;
 *	- a superblock of another cluster (-FFFS_EBADCLUSTER), of an unknown
 *	  format version (-FFFS_EBADVERSION), a corrupt one (-FFFS_ECRC: a bad
 *	  checksum, or malformed fields under a good one), or one whose id
 *	  differs from id= (-EINVAL);
 *	- a device that is not blank where a superblock should be, i.e. the
 *	  first 4 KiB are not all zero and carry no fffs magic (-EEXIST): fffs
 *	  never formats over somebody else's data;
 *	- a superblock that records a larger size than the target has now
 *	  (-EINVAL: the target shrank);
 *	- a blank target when neither id= nor default_id gives an id, or a
 *	  cluster id longer than 63 bytes (-EINVAL).
 * Other failures (stat, open, fallocate, I/O) return the negative errno. A
 * file that target_open() created is removed again when the open fails.
 * A blank target (new file, or all-zero first 4 KiB) is formatted: a new
 * superblock (random uuid, the given cluster, id from the spec or
 * default_id, the current size) is written with O_DIRECT and fsync'ed.
 *
 * The returned fd is opened O_RDWR | O_DIRECT | O_CLOEXEC and stays locked
 * until target_close().
 */
#ifndef CHAIN_TARGET_H
#define CHAIN_TARGET_H

#include "fffs.h"

#define TARGET_SB_SIZE	4096
#define TARGET_DATA_OFF (1ull << 20)
#define TARGET_FORMAT	1
#define TARGET_MAGIC	"FFFSTGT" /* 8 bytes on disk with its NUL */
/* Superblock area plus two 64 MiB allocation groups (ALLOC_GROUP). */
#define TARGET_MIN_SIZE (TARGET_DATA_OFF + 2 * (64ull << 20))

struct target_spec {
	char path[4096];
	uint64_t size; /* 0: not given */
	uint64_t id;   /* 0: not given */
};

struct target_sb {
	uint32_t format;
	uint64_t id;
	uint8_t uuid[16];
	char cluster[64];
	uint64_t size, data_off, ctime_ns;
};

struct target_dev {
	int fd;
	bool is_blockdev;
	bool formatted_now; /* this open wrote the superblock */
	uint64_t size;	    /* bytes of the file or device */
	struct target_sb sb;
	char path[4096];
};

int target_spec_parse(const char *arg, struct target_spec *spec, char *err,
		      size_t errlen);
/* Open, lock, and check or format. default_id is used when formatting a
 * target whose spec has no id. cluster is at most 63 bytes. On failure dev
 * holds no fd and err (if errlen > 0) says why. */
int target_open(const struct target_spec *spec, const char *cluster,
		uint64_t default_id, struct target_dev *dev, char *err,
		size_t errlen);
void target_close(struct target_dev *dev);

/* Superblock encoding, for tests and tools. encode writes all 4 KiB and
 * the crc; sb->cluster must be NUL-terminated. decode returns 0,
 * -FFFS_EBADFRAME when the magic is missing or a field is malformed (cluster
 * longer than 63 bytes or holding a NUL, data offset not TARGET_DATA_OFF),
 * -FFFS_ECRC on a checksum mismatch, or -FFFS_EBADVERSION for a format it
 * does not know, with only sb->format filled in (later formats may lay the
 * rest out differently). */
void target_sb_encode(const struct target_sb *sb, uint8_t out[TARGET_SB_SIZE]);
int target_sb_decode(const uint8_t in[TARGET_SB_SIZE], struct target_sb *sb);

#endif /* CHAIN_TARGET_H */
