/* net/auth.c - the cluster secret file and the connection handshake. */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define LOG_SUBSYS "auth"
#include "fffs.h"
#include "net/auth.h"

/* A state moves forward only; STEP_FAILED is final. */
enum auth_step {
	STEP_START = 0,
	STEP_HELLO_SENT,     /* client: waiting for CHALLENGE */
	STEP_CHALLENGE_SENT, /* server: waiting for AUTH */
	STEP_DONE,
	STEP_FAILED,
};

#define HASH_LEN	 32
#define CLUSTER_WIRE_MAX (2 + AUTH_CLUSTER_MAX - 1)
#define HELLO_MAX	 (2 + 2 + CLUSTER_WIRE_MAX + 4 + 1 + AUTH_NONCE_LEN)
#define CHALLENGE_MAX \
	(2 + CLUSTER_WIRE_MAX + 4 + 1 + AUTH_NONCE_LEN + AUTH_MAC_LEN)
#define SECRET_HEX_LEN	(2 * AUTH_KEY_LEN)
#define SECRET_FILE_MAX 256 /* longer files are not secret files */
#define WHO_MAX		48  /* "node 4294967295 (storage)" */

_Static_assert(AUTH_KEY_LEN == crypto_auth_KEYBYTES,
	       "key is a crypto_auth key");
_Static_assert(AUTH_MAC_LEN == crypto_auth_BYTES, "MAC is a crypto_auth tag");
_Static_assert(HASH_LEN == crypto_generichash_BYTES, "transcript hash size");
_Static_assert(sizeof(((struct auth_state *)0)->transcript_hash) == HASH_LEN,
	       "auth_state holds one transcript hash");
_Static_assert(HELLO_MAX <= AUTH_BODY_MAX && CHALLENGE_MAX <= AUTH_BODY_MAX,
	       "AUTH_BODY_MAX covers every handshake body");

static const char server_label[] = "fffs-server";
static const char client_label[] = "fffs-client";
_Static_assert(sizeof(client_label) == sizeof(server_label), "MAC input size");

struct hello {
	uint16_t proto_min, proto_max;
	struct auth_self self;
	uint8_t nonce[AUTH_NONCE_LEN];
};

struct challenge {
	uint16_t version;
	struct auth_self self;
	uint8_t nonce[AUTH_NONCE_LEN];
	uint8_t mac[AUTH_MAC_LEN];
};

const char *node_role_name(int role)
{
	static const char *const names[] = {
		[ROLE_NONE] = "none",	  [ROLE_MGMTD] = "mgmtd",
		[ROLE_META] = "meta",	  [ROLE_STORAGE] = "storage",
		[ROLE_CLIENT] = "client", [ROLE_ADMIN] = "admin",
		[ROLE_BENCH] = "bench",
	};
	_Static_assert(FFFS_ARRAY_LEN(names) == ROLE__COUNT, "a name per role");

	if (role < 0 || role >= ROLE__COUNT)
		return "?";
	return names[role];
}

/* sodium_init() is idempotent and thread-safe; remember success so the
 * handshake does not take its lock every time. */
static int sodium_ready(void)
{
	static int ready;

	if (__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
		return 0;
	if (sodium_init() < 0)
		return -EIO;
	__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
	return 0;
}

/* ---- messages to humans ----------------------------------------------- */

static void errf(char *err, size_t errlen, const char *fmt, ...)
	FFFS_PRINTF(3, 4);

static void errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Fail the handshake for good; the reason is for logs and refusals. */
static int auth_fail(struct auth_state *st, int err, const char *fmt, ...)
	FFFS_PRINTF(3, 4);

static int auth_fail(struct auth_state *st, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->reason, sizeof(st->reason), fmt, ap);
	va_end(ap);
	st->step = STEP_FAILED;
	log_debug("handshake refused: %s", st->reason);
	return err;
}

/* Copy n bytes of s into dst[cap] with '?' for anything non-printable, so a
 * peer cannot put control characters into our logs. */
static const char *printable(char *dst, size_t cap, const char *s, size_t n)
{
	size_t i;

	FFFS_ASSERT(cap > 0);
	for (i = 0; i < n && i < cap - 1; i++)
		dst[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
	dst[i] = 0;
	return dst;
}

static const char *who(char *dst, size_t cap, const struct auth_self *p)
{
	snprintf(dst, cap, "node %u (%s)", p->node_id, node_role_name(p->role));
	return dst;
}

static const char *step_name(const struct auth_state *st)
{
	switch (st->step) {
	case STEP_START:
		return st->server ? "server, waiting for HELLO"
				  : "client, HELLO not sent";
	case STEP_HELLO_SENT:
		return "client, waiting for CHALLENGE";
	case STEP_CHALLENGE_SENT:
		return "server, waiting for AUTH";
	case STEP_DONE:
		return "handshake finished";
	case STEP_FAILED:
		return "handshake already failed";
	default:
		return "?";
	}
}

static int expect(struct auth_state *st, bool server, int step, const char *msg)
{
	if (st->server == server && st->step == step)
		return 0;
	return auth_fail(st, -FFFS_EBADFRAME,
			 "unexpected handshake message: %s (%s)", msg,
			 step_name(st));
}

static int start(struct auth_state *st, bool server, int step, const char *msg)
{
	int rc = expect(st, server, step, msg);

	if (rc)
		return rc;
	FFFS_ASSERT(st->secret);
	if (sodium_ready())
		return auth_fail(st, -EIO, "libsodium failed to initialise");
	return 0;
}

/* ---- wire encodings --------------------------------------------------- */

static void pack_cluster(struct pack *pk, const char *cluster)
{
	pack_strn(pk, cluster, strnlen(cluster, AUTH_CLUSTER_MAX - 1));
}

static void hello_pack(struct pack *pk, const struct auth_self *self,
		       const uint8_t *nonce)
{
	pack_u16(pk, AUTH_PROTO_MIN);
	pack_u16(pk, AUTH_PROTO_MAX);
	pack_cluster(pk, self->cluster);
	pack_u32(pk, self->node_id);
	pack_u8(pk, self->role);
	pack_bytes(pk, nonce, AUTH_NONCE_LEN);
}

static int hello_unpack(const void *body, size_t len, struct hello *h)
{
	struct unpack up;

	unpack_init(&up, body, len);
	h->proto_min = unpack_u16(&up);
	h->proto_max = unpack_u16(&up);
	unpack_cstr(&up, h->self.cluster, sizeof(h->self.cluster));
	h->self.node_id = unpack_u32(&up);
	h->self.role = unpack_u8(&up);
	unpack_bytes(&up, h->nonce, AUTH_NONCE_LEN);
	return unpack_finish(&up) ? -FFFS_EBADFRAME : 0;
}

/* The CHALLENGE without its MAC: the part the MAC covers. */
static void challenge_pack(struct pack *pk, uint16_t version,
			   const struct auth_self *self, const uint8_t *nonce)
{
	pack_u16(pk, version);
	pack_cluster(pk, self->cluster);
	pack_u32(pk, self->node_id);
	pack_u8(pk, self->role);
	pack_bytes(pk, nonce, AUTH_NONCE_LEN);
}

static int challenge_unpack(const void *body, size_t len, struct challenge *c)
{
	struct unpack up;

	unpack_init(&up, body, len);
	c->version = unpack_u16(&up);
	unpack_cstr(&up, c->self.cluster, sizeof(c->self.cluster));
	c->self.node_id = unpack_u32(&up);
	c->self.role = unpack_u8(&up);
	unpack_bytes(&up, c->nonce, AUTH_NONCE_LEN);
	unpack_bytes(&up, c->mac, AUTH_MAC_LEN);
	return unpack_finish(&up) ? -FFFS_EBADFRAME : 0;
}

static bool role_valid(uint8_t role)
{
	return role != ROLE_NONE && role < ROLE__COUNT;
}

/* ---- transcript and MACs ---------------------------------------------- */

static void transcript(uint8_t out[HASH_LEN], const void *hello,
		       size_t hello_len, const void *chal, size_t chal_len)
{
	uint8_t buf[HELLO_MAX + CHALLENGE_MAX];

	FFFS_ASSERT(hello_len <= HELLO_MAX && chal_len <= CHALLENGE_MAX);
	memcpy(buf, hello, hello_len);
	memcpy(buf + hello_len, chal, chal_len);
	crypto_generichash(out, HASH_LEN, buf, hello_len + chal_len, NULL, 0);
}

static size_t mac_input(uint8_t *in, const char *label,
			const uint8_t hash[HASH_LEN])
{
	size_t n = strlen(label);

	memcpy(in, label, n);
	memcpy(in + n, hash, HASH_LEN);
	return n + HASH_LEN;
}

static void mac_make(uint8_t mac[AUTH_MAC_LEN], const char *label,
		     const uint8_t hash[HASH_LEN], const struct auth_secret *s)
{
	uint8_t in[sizeof(server_label) + HASH_LEN];

	crypto_auth(mac, in, mac_input(in, label, hash), s->key);
}

/* Constant time. */
static bool mac_ok(const uint8_t mac[AUTH_MAC_LEN], const char *label,
		   const uint8_t hash[HASH_LEN], const struct auth_secret *s)
{
	uint8_t in[sizeof(server_label) + HASH_LEN];

	return crypto_auth_verify(mac, in, mac_input(in, label, hash),
				  s->key) == 0;
}

/* ---- the handshake ---------------------------------------------------- */

void auth_init(struct auth_state *st, const struct auth_secret *secret,
	       const struct auth_self *self, bool server)
{
	memset(st, 0, sizeof(*st));
	st->secret = secret;
	st->self = *self;
	st->self.cluster[AUTH_CLUSTER_MAX - 1] = 0;
	st->server = server;
	st->step = STEP_START;
}

int auth_client_hello(struct auth_state *st, struct pack *out)
{
	int rc = start(st, false, STEP_START, "HELLO");

	if (rc)
		return rc;
	randombytes_buf(st->my_nonce, AUTH_NONCE_LEN);
	hello_pack(out, &st->self, st->my_nonce);
	if (out->err)
		return auth_fail(st, out->err,
				 "HELLO does not fit in %zu bytes",
				 (size_t)(out->end - out->start));
	st->step = STEP_HELLO_SENT;
	return 0;
}

/* Server: is this HELLO from a node we may talk to? Picks the version. */
static int hello_check(struct auth_state *st, const struct hello *h)
{
	char name[WHO_MAX], theirs[AUTH_CLUSTER_MAX], ours[AUTH_CLUSTER_MAX];
	int lo = h->proto_min > AUTH_PROTO_MIN ? h->proto_min : AUTH_PROTO_MIN;
	int hi = h->proto_max < AUTH_PROTO_MAX ? h->proto_max : AUTH_PROTO_MAX;

	who(name, sizeof(name), &h->self);
	if (!role_valid(h->self.role))
		return auth_fail(st, -FFFS_EBADFRAME,
				 "peer '%s' sent HELLO with invalid role %u",
				 name, h->self.role);
	if (h->proto_min > h->proto_max)
		return auth_fail(
			st, -FFFS_EBADFRAME,
			"peer '%s' sent HELLO with protocol range %u..%u", name,
			h->proto_min, h->proto_max);
	if (lo > hi)
		return auth_fail(st, -FFFS_EBADVERSION,
				 "peer '%s' speaks protocol %u..%u, this "
				 "server speaks %d..%d",
				 name, h->proto_min, h->proto_max,
				 AUTH_PROTO_MIN, AUTH_PROTO_MAX);
	if (strcmp(h->self.cluster, st->self.cluster))
		return auth_fail(
			st, -FFFS_EBADCLUSTER,
			"peer '%s' is in cluster '%s', this server is in '%s'",
			name,
			printable(theirs, sizeof(theirs), h->self.cluster,
				  strlen(h->self.cluster)),
			printable(ours, sizeof(ours), st->self.cluster,
				  strlen(st->self.cluster)));
	st->version = (uint16_t)hi;
	return 0;
}

int auth_server_on_hello(struct auth_state *st, const void *body, size_t len,
			 struct pack *out)
{
	uint8_t chal[CHALLENGE_MAX], mac[AUTH_MAC_LEN];
	struct hello h;
	struct pack cp;
	int rc = start(st, true, STEP_START, "HELLO");

	if (rc)
		return rc;
	if (hello_unpack(body, len, &h))
		return auth_fail(st, -FFFS_EBADFRAME,
				 "malformed HELLO (%zu bytes)", len);
	rc = hello_check(st, &h);
	if (rc)
		return rc;
	st->peer = h.self;
	memcpy(st->peer_nonce, h.nonce, AUTH_NONCE_LEN);
	randombytes_buf(st->my_nonce, AUTH_NONCE_LEN);

	pack_init(&cp, chal, sizeof(chal));
	challenge_pack(&cp, st->version, &st->self, st->my_nonce);
	FFFS_ASSERT(!cp.err);
	transcript(st->transcript_hash, body, len, chal, pack_len(&cp));
	mac_make(mac, server_label, st->transcript_hash, st->secret);

	pack_bytes(out, chal, pack_len(&cp));
	pack_bytes(out, mac, AUTH_MAC_LEN);
	if (out->err)
		return auth_fail(st, out->err,
				 "CHALLENGE does not fit in %zu bytes",
				 (size_t)(out->end - out->start));
	st->step = STEP_CHALLENGE_SENT;
	return 0;
}

/* Client: is this CHALLENGE from a server we may talk to? */
static int challenge_check(struct auth_state *st, const struct challenge *c)
{
	char name[WHO_MAX], theirs[AUTH_CLUSTER_MAX], ours[AUTH_CLUSTER_MAX];

	who(name, sizeof(name), &c->self);
	if (!role_valid(c->self.role))
		return auth_fail(
			st, -FFFS_EBADFRAME,
			"server '%s' sent CHALLENGE with invalid role %u", name,
			c->self.role);
	if (c->version < AUTH_PROTO_MIN || c->version > AUTH_PROTO_MAX)
		return auth_fail(st, -FFFS_EBADVERSION,
				 "server '%s' chose protocol %u, this client "
				 "speaks %d..%d",
				 name, c->version, AUTH_PROTO_MIN,
				 AUTH_PROTO_MAX);
	if (strcmp(c->self.cluster, st->self.cluster))
		return auth_fail(st, -FFFS_EBADCLUSTER,
				 "server '%s' is in cluster '%s', this client "
				 "is in '%s'",
				 name,
				 printable(theirs, sizeof(theirs),
					   c->self.cluster,
					   strlen(c->self.cluster)),
				 printable(ours, sizeof(ours), st->self.cluster,
					   strlen(st->self.cluster)));
	return 0;
}

int auth_client_on_challenge(struct auth_state *st, const void *body,
			     size_t len, struct pack *out)
{
	uint8_t hello[HELLO_MAX], mac[AUTH_MAC_LEN];
	char name[WHO_MAX];
	struct challenge c;
	struct pack hp;
	int rc = start(st, false, STEP_HELLO_SENT, "CHALLENGE");

	if (rc)
		return rc;
	if (challenge_unpack(body, len, &c))
		return auth_fail(st, -FFFS_EBADFRAME,
				 "malformed CHALLENGE (%zu bytes)", len);
	rc = challenge_check(st, &c);
	if (rc)
		return rc;

	/* Our HELLO encodes the same way every time: rebuild it rather than
	 * keep a copy in the state. */
	pack_init(&hp, hello, sizeof(hello));
	hello_pack(&hp, &st->self, st->my_nonce);
	FFFS_ASSERT(!hp.err);
	transcript(st->transcript_hash, hello, pack_len(&hp), body,
		   len - AUTH_MAC_LEN);
	if (!mac_ok(c.mac, server_label, st->transcript_hash, st->secret))
		return auth_fail(st, -FFFS_EAUTH,
				 "server '%s' failed to prove the cluster "
				 "secret (wrong secret file?)",
				 who(name, sizeof(name), &c.self));
	st->peer = c.self;
	st->version = c.version;
	memcpy(st->peer_nonce, c.nonce, AUTH_NONCE_LEN);

	mac_make(mac, client_label, st->transcript_hash, st->secret);
	pack_bytes(out, mac, AUTH_MAC_LEN);
	if (out->err)
		return auth_fail(st, out->err, "AUTH does not fit in %zu bytes",
				 (size_t)(out->end - out->start));
	st->step = STEP_DONE;
	return 0;
}

int auth_server_on_auth(struct auth_state *st, const void *body, size_t len)
{
	uint8_t mac[AUTH_MAC_LEN];
	char name[WHO_MAX];
	struct unpack up;
	int rc = start(st, true, STEP_CHALLENGE_SENT, "AUTH");

	if (rc)
		return rc;
	who(name, sizeof(name), &st->peer);
	unpack_init(&up, body, len);
	unpack_bytes(&up, mac, AUTH_MAC_LEN);
	if (unpack_finish(&up))
		return auth_fail(st, -FFFS_EBADFRAME,
				 "malformed AUTH from peer '%s' (%zu bytes)",
				 name, len);
	if (!mac_ok(mac, client_label, st->transcript_hash, st->secret))
		return auth_fail(st, -FFFS_EAUTH,
				 "peer '%s' failed authentication: wrong "
				 "cluster secret",
				 name);
	st->step = STEP_DONE;
	return 0;
}

/* ---- refusals --------------------------------------------------------- */

void auth_refusal_encode(struct pack *out, const char *reason)
{
	pack_strn(out, reason, strnlen(reason, AUTH_REASON_MAX - 1));
}

int auth_refusal_decode(const void *body, size_t len, char *reason, size_t cap)
{
	struct unpack up;
	const char *s;
	size_t n;

	unpack_init(&up, body, len);
	unpack_str(&up, &s, &n);
	if (unpack_finish(&up)) {
		if (cap)
			reason[0] = 0;
		return -FFFS_EBADFRAME;
	}
	if (cap)
		printable(reason, cap, s, n);
	return 0;
}

/* ---- the secret file -------------------------------------------------- */

void auth_secret_release(struct auth_secret *s)
{
	sodium_memzero(s, sizeof(*s));
}

static int secret_check_mode(int fd, const char *path, char *err, size_t errlen)
{
	const mode_t others = S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH;
	struct stat sb;

	if (fstat(fd, &sb)) {
		int rc = -errno;

		errf(err, errlen, "cannot stat secret file '%s': %s", path,
		     fffs_strerror(rc));
		return rc;
	}
	if (!S_ISREG(sb.st_mode)) {
		errf(err, errlen, "secret file '%s' is not a regular file",
		     path);
		return -FFFS_ECONFIG;
	}
	if (sb.st_mode & others) {
		errf(err, errlen,
		     "secret file '%s' is %s by others (mode %04o); "
		     "chmod 600 it",
		     path,
		     sb.st_mode & (S_IRGRP | S_IROTH) ? "readable" : "writable",
		     (unsigned)(sb.st_mode & 07777));
		return -FFFS_ECONFIG;
	}
	return 0;
}

/* Read up to cap bytes; returns the count or -errno. */
static ssize_t read_upto(int fd, char *buf, size_t cap)
{
	size_t got = 0;

	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* 64 hex digits with optional whitespace around them. */
static int secret_parse(const char *buf, size_t n, struct auth_secret *s)
{
	size_t lo = 0, hi = n, binlen = 0;

	while (lo < hi && isspace((unsigned char)buf[lo]))
		lo++;
	while (hi > lo && isspace((unsigned char)buf[hi - 1]))
		hi--;
	if (hi - lo != SECRET_HEX_LEN)
		return -FFFS_ECONFIG;
	if (sodium_hex2bin(s->key, sizeof(s->key), buf + lo, hi - lo, NULL,
			   &binlen, NULL) ||
	    binlen != sizeof(s->key))
		return -FFFS_ECONFIG;
	return 0;
}

int auth_secret_load(const char *path, struct auth_secret *s, char *err,
		     size_t errlen)
{
	char buf[SECRET_FILE_MAX];
	ssize_t n;
	int fd, rc;

	memset(s, 0, sizeof(*s));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		errf(err, errlen, "cannot read secret file '%s': %s", path,
		     fffs_strerror(rc));
		return rc;
	}
	rc = secret_check_mode(fd, path, err, errlen);
	if (rc)
		goto out_close;
	n = read_upto(fd, buf, sizeof(buf));
	if (n < 0) {
		rc = (int)n;
		errf(err, errlen, "cannot read secret file '%s': %s", path,
		     fffs_strerror(rc));
		goto out_wipe;
	}
	rc = (size_t)n < sizeof(buf) ? secret_parse(buf, (size_t)n, s)
				     : -FFFS_ECONFIG;
	if (rc) {
		errf(err, errlen, "secret file '%s': expected %d hex digits",
		     path, SECRET_HEX_LEN);
		auth_secret_release(s);
	}
out_wipe:
	sodium_memzero(buf, sizeof(buf));
out_close:
	close(fd);
	return rc;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write a fresh key to an open file, make sure it is on disk, close it. */
static int secret_write(int fd)
{
	uint8_t key[AUTH_KEY_LEN];
	char hex[SECRET_HEX_LEN + 2];
	int rc;

	randombytes_buf(key, sizeof(key));
	sodium_bin2hex(hex, SECRET_HEX_LEN + 1, key, sizeof(key));
	hex[SECRET_HEX_LEN] = '\n';
	hex[SECRET_HEX_LEN + 1] = 0;
	/* umask can only take bits away, but be explicit about the mode. */
	rc = fchmod(fd, 0600) ? -errno : 0;
	if (!rc)
		rc = write_all(fd, hex, SECRET_HEX_LEN + 1);
	if (!rc && fsync(fd))
		rc = -errno;
	if (close(fd) && !rc)
		rc = -errno;
	sodium_memzero(key, sizeof(key));
	sodium_memzero(hex, sizeof(hex));
	return rc;
}

int auth_secret_create(const char *path, char *err, size_t errlen)
{
	int fd, rc;

	if (sodium_ready()) {
		errf(err, errlen,
		     "cannot create secret file '%s': libsodium "
		     "failed to initialise",
		     path);
		return -EIO;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		if (rc == -EEXIST)
			errf(err, errlen,
			     "secret file '%s' already exists; refusing to "
			     "overwrite it",
			     path);
		else
			errf(err, errlen, "cannot create secret file '%s': %s",
			     path, fffs_strerror(rc));
		return rc;
	}
	rc = secret_write(fd);
	if (rc) {
		errf(err, errlen, "cannot write secret file '%s': %s", path,
		     fffs_strerror(rc));
		unlink(path);
	}
	return rc;
}
