/* net/pack.h - little-endian put/get helpers for message bodies.
 *
 * Bodies are encoded field by field; never cast a struct onto the wire.
 *
 *	struct pack pk;
 *	pack_init(&pk, buf, sizeof(buf));
 *	pack_u32(&pk, x); pack_str(&pk, name);
 *	if (pk.err) ...            // -FFFS_ETOOBIG: did not fit
 *	len = pack_len(&pk);
 *
 *	struct unpack up;
 *	unpack_init(&up, body, len);
 *	x = unpack_u32(&up); unpack_str(&up, &s, &slen);
 *	if (unpack_finish(&up)) ... // -FFFS_EBADFRAME: truncated or trailing
 *bytes
 *
 * Errors are sticky: after the first failure every put is ignored and every
 * get returns zero, so a decoder checks once at the end. Strings are a u16
 * length and the bytes (no NUL on the wire); unpack_str() returns a pointer
 * into the input, not NUL-terminated. Blobs are a u32 length and the bytes.
 */
#ifndef NET_PACK_H
#define NET_PACK_H

#include <string.h>

#include "fffs.h"

struct pack {
	uint8_t *p, *start, *end;
	int err;
};

struct unpack {
	const uint8_t *p, *end;
	int err;
};

static inline void pack_init(struct pack *pk, void *buf, size_t cap)
{
	pk->p = pk->start = buf;
	pk->end = pk->start + cap;
	pk->err = 0;
}

static inline size_t pack_len(const struct pack *pk)
{
	return (size_t)(pk->p - pk->start);
}

static inline uint8_t *pack_reserve(struct pack *pk, size_t n)
{
	uint8_t *q = pk->p;

	if (pk->err)
		return NULL;
	if ((size_t)(pk->end - pk->p) < n) {
		pk->err = -FFFS_ETOOBIG;
		return NULL;
	}
	pk->p += n;
	return q;
}

static inline void pack_le(struct pack *pk, uint64_t v, int n)
{
	uint8_t *q = pack_reserve(pk, (size_t)n);

	for (int i = 0; q && i < n; i++)
		q[i] = (uint8_t)(v >> (8 * i));
}

static inline void pack_u8(struct pack *pk, uint8_t v)
{
	pack_le(pk, v, 1);
}
static inline void pack_u16(struct pack *pk, uint16_t v)
{
	pack_le(pk, v, 2);
}
static inline void pack_u32(struct pack *pk, uint32_t v)
{
	pack_le(pk, v, 4);
}
static inline void pack_u64(struct pack *pk, uint64_t v)
{
	pack_le(pk, v, 8);
}
static inline void pack_i32(struct pack *pk, int32_t v)
{
	pack_le(pk, (uint32_t)v, 4);
}
static inline void pack_i64(struct pack *pk, int64_t v)
{
	pack_le(pk, (uint64_t)v, 8);
}

static inline void pack_bytes(struct pack *pk, const void *b, size_t n)
{
	uint8_t *q = pack_reserve(pk, n);

	if (q && n)
		memcpy(q, b, n);
}

static inline void pack_strn(struct pack *pk, const char *s, size_t n)
{
	if (n > UINT16_MAX) {
		if (!pk->err)
			pk->err = -FFFS_ETOOBIG;
		return;
	}
	pack_u16(pk, (uint16_t)n);
	pack_bytes(pk, s, n);
}

static inline void pack_str(struct pack *pk, const char *s)
{
	pack_strn(pk, s, s ? strlen(s) : 0);
}

static inline void pack_blob(struct pack *pk, const void *b, uint32_t n)
{
	pack_u32(pk, n);
	pack_bytes(pk, b, n);
}

static inline void unpack_init(struct unpack *up, const void *buf, size_t len)
{
	up->p = buf;
	up->end = up->p + len;
	up->err = 0;
}

static inline size_t unpack_left(const struct unpack *up)
{
	return (size_t)(up->end - up->p);
}

static inline const uint8_t *unpack_take(struct unpack *up, size_t n)
{
	const uint8_t *q = up->p;

	if (up->err)
		return NULL;
	if (unpack_left(up) < n) {
		up->err = -FFFS_EBADFRAME;
		return NULL;
	}
	up->p += n;
	return q;
}

static inline uint64_t unpack_le(struct unpack *up, int n)
{
	const uint8_t *q = unpack_take(up, (size_t)n);
	uint64_t v = 0;

	for (int i = 0; q && i < n; i++)
		v |= (uint64_t)q[i] << (8 * i);
	return v;
}

static inline uint8_t unpack_u8(struct unpack *up)
{
	return (uint8_t)unpack_le(up, 1);
}
static inline uint16_t unpack_u16(struct unpack *up)
{
	return (uint16_t)unpack_le(up, 2);
}
static inline uint32_t unpack_u32(struct unpack *up)
{
	return (uint32_t)unpack_le(up, 4);
}
static inline uint64_t unpack_u64(struct unpack *up)
{
	return unpack_le(up, 8);
}
static inline int32_t unpack_i32(struct unpack *up)
{
	return (int32_t)unpack_u32(up);
}
static inline int64_t unpack_i64(struct unpack *up)
{
	return (int64_t)unpack_u64(up);
}

/* Copy n bytes out; on failure *dst is zero-filled. */
static inline void unpack_bytes(struct unpack *up, void *dst, size_t n)
{
	const uint8_t *q = unpack_take(up, n);

	if (q)
		memcpy(dst, q, n);
	else if (n)
		memset(dst, 0, n);
}

/* n u32 values at once (page CRC lists): one bounds check, and a plain
 * copy on a little-endian host. */
static inline void pack_u32_array(struct pack *pk, const uint32_t *v, size_t n)
{
	uint8_t *q = pack_reserve(pk, n * 4);

	if (!q || !n)
		return;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(q, v, n * 4);
#else
	for (size_t i = 0; i < n; i++)
		for (int b = 0; b < 4; b++)
			q[4 * i + b] = (uint8_t)(v[i] >> (8 * b));
#endif
}

/* On failure dst is zero-filled. */
static inline void unpack_u32_array(struct unpack *up, uint32_t *dst, size_t n)
{
	const uint8_t *q = unpack_take(up, n * 4);

	if (!n)
		return;
	if (!q) {
		memset(dst, 0, n * 4);
		return;
	}
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(dst, q, n * 4);
#else
	for (size_t i = 0; i < n; i++)
		dst[i] = (uint32_t)q[4 * i] | (uint32_t)q[4 * i + 1] << 8 |
			 (uint32_t)q[4 * i + 2] << 16 |
			 (uint32_t)q[4 * i + 3] << 24;
#endif
}

/* Borrow a string: *s points into the input (not NUL-terminated). */
static inline void unpack_str(struct unpack *up, const char **s, size_t *n)
{
	size_t len = unpack_u16(up);
	const uint8_t *q = unpack_take(up, len);

	*s = q ? (const char *)q : "";
	*n = q ? len : 0;
}

/* Copy a string into dst[cap] with a NUL; a string that does not fit with
 * its NUL, or that contains a NUL, is malformed. */
static inline void unpack_cstr(struct unpack *up, char *dst, size_t cap)
{
	const char *s;
	size_t n;

	unpack_str(up, &s, &n);
	if (!up->err && (n >= cap || memchr(s, 0, n)))
		up->err = -FFFS_EBADFRAME;
	if (up->err) {
		if (cap)
			dst[0] = 0;
		return;
	}
	memcpy(dst, s, n);
	dst[n] = 0;
}

/* Borrow a blob (u32 length + bytes). */
static inline void unpack_blob(struct unpack *up, const void **b, uint32_t *n)
{
	uint32_t len = unpack_u32(up);
	const uint8_t *q = unpack_take(up, len);

	*b = q;
	*n = q ? len : 0;
}

/* 0 when every byte was consumed without error; else -FFFS_EBADFRAME. */
static inline int unpack_finish(const struct unpack *up)
{
	if (up->err)
		return up->err;
	return up->p == up->end ? 0 : -FFFS_EBADFRAME;
}

#endif /* NET_PACK_H */
