/* net/auth.h - cluster secret and the connection handshake (libsodium).
 *
 * Every connection starts with three messages before any request is served:
 *
 *	client -> server  HELLO      u16 proto_min, u16 proto_max, str cluster,
 *	                             u32 node_id, u8 role, nonce[32]
 *	server -> client  CHALLENGE  u16 version, str cluster, u32 node_id,
 *	                             u8 role, nonce[32], server MAC[32]
 *	client -> server  AUTH       client MAC[32]
 *	server -> client  WELCOME    (status 0), or a refusal: status < 0 and a
 *	                             reason string (auth_refusal_encode)
 *
 * transcript = BLAKE2b-256 (crypto_generichash) of the HELLO body as sent
 * followed by the CHALLENGE body without its MAC; both encodings are
 * self-delimiting, so the concatenation is unambiguous.
 *	server MAC = crypto_auth(key, "fffs-server" || transcript)
 *	client MAC = crypto_auth(key, "fffs-client" || transcript)
 * crypto_auth is HMAC-SHA512-256 keyed by the 32-byte cluster secret. Both
 * nonces are fresh per connection, so a MAC cannot be replayed into another
 * connection, and the labels differ, so one cannot be reflected back. Both
 * sides prove the secret: a client never talks to a server that does not
 * know it either, and finds out first (at CHALLENGE).
 *
 * Calling sequence (each function at most once, in this order; anything else
 * fails with -FFFS_EBADFRAME "unexpected handshake message ..."):
 *	client: auth_init(.., false); auth_client_hello();
 *auth_client_on_challenge() server: auth_init(.., true);
 *auth_server_on_hello(); auth_server_on_auth() A failure is final: the state
 *refuses every later call.
 *
 * These functions are pure (no I/O): net/conn.c feeds them message bodies
 * and sends what they produce. On refusal they return a negative code
 * (-FFFS_EBADVERSION, -FFFS_EBADCLUSTER, -FFFS_EAUTH, -FFFS_EBADFRAME; -EIO
 * if libsodium cannot start) and write a one-line reason naming the subject
 * into st->reason, e.g.
 *	"peer 'node 7 (storage)' is in cluster 'prod', we are in 'lab'".
 * Strings taken from the peer are printed with non-printable bytes as '?'.
 * A HELLO or CHALLENGE must name a role other than ROLE_NONE.
 */
#ifndef NET_AUTH_H
#define NET_AUTH_H

#include "fffs.h"
#include "net/pack.h"

#define AUTH_KEY_LEN	 32
#define AUTH_NONCE_LEN	 32
#define AUTH_MAC_LEN	 32
#define AUTH_CLUSTER_MAX 64  /* with NUL */
#define AUTH_PROTO_MIN	 1   /* oldest protocol version we speak */
#define AUTH_PROTO_MAX	 1   /* newest */
#define AUTH_REASON_MAX	 256 /* with NUL */
#define AUTH_BODY_MAX	 256 /* every handshake body fits in this */

enum node_role {
	ROLE_NONE = 0,
	ROLE_MGMTD,
	ROLE_META,
	ROLE_STORAGE,
	ROLE_CLIENT,
	ROLE_ADMIN,
	ROLE_BENCH,
	ROLE__COUNT
};

/* "mgmtd", "meta", ...; "none" for ROLE_NONE, "?" out of range. */
const char *node_role_name(int role);

struct auth_secret {
	uint8_t key[AUTH_KEY_LEN];
};

/* Read a secret file: 64 hex digits, surrounding whitespace allowed. A file
 * that group or others may read or write is refused, as is anything but a
 * regular file. Returns 0, -errno when the file cannot be read, or
 * -FFFS_ECONFIG when its mode or content is wrong; err gets a message naming
 * the path, e.g.
 *	"cannot read secret file '/etc/fffs/secret': No such file or directory"
 *	"secret file '/x' is readable by others (mode 0644); chmod 600 it"
 *	"secret file '/x': expected 64 hex digits"
 * err may be NULL. On failure *s is zeroed. */
int auth_secret_load(const char *path, struct auth_secret *s, char *err,
		     size_t errlen);
/* Create a new random secret file with mode 0600 (64 lowercase hex digits
 * and a newline, fsynced); refuses (-EEXIST) to overwrite an existing one.
 * A partly written file is removed. */
int auth_secret_create(const char *path, char *err, size_t errlen);
/* Wipe a loaded secret from memory. */
void auth_secret_release(struct auth_secret *s);

/* What one side says about itself. */
struct auth_self {
	char cluster[AUTH_CLUSTER_MAX];
	uint32_t node_id;
	uint8_t role;
};

struct auth_state {
	const struct auth_secret *secret;
	struct auth_self self;
	bool server;
	int step;	  /* internal */
	uint16_t version; /* agreed protocol version once done */
	struct auth_self peer;
	uint8_t my_nonce[AUTH_NONCE_LEN];
	uint8_t peer_nonce[AUTH_NONCE_LEN];
	uint8_t transcript_hash[32]; /* HELLO + CHALLENGE, see above */
	char reason[AUTH_REASON_MAX];
};

/* secret must outlive the handshake; self is copied. */
void auth_init(struct auth_state *st, const struct auth_secret *secret,
	       const struct auth_self *self, bool server);

/* Client: write the HELLO body. */
int auth_client_hello(struct auth_state *st, struct pack *out);
/* Client: check a CHALLENGE body (server MAC), write the AUTH body. */
int auth_client_on_challenge(struct auth_state *st, const void *body,
			     size_t len, struct pack *out);
/* Server: check a HELLO body (version, cluster), write the CHALLENGE body. */
int auth_server_on_hello(struct auth_state *st, const void *body, size_t len,
			 struct pack *out);
/* Server: check an AUTH body (client MAC). 0 means the peer is in. */
int auth_server_on_auth(struct auth_state *st, const void *body, size_t len);

/* Refusal body: a reason string (at most AUTH_REASON_MAX - 1 bytes are sent).
 * decode truncates to cap and replaces non-printable bytes with '?';
 * -FFFS_EBADFRAME on a malformed body. */
void auth_refusal_encode(struct pack *out, const char *reason);
int auth_refusal_decode(const void *body, size_t len, char *reason, size_t cap);

#endif /* NET_AUTH_H */
