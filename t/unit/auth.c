/* t/unit/auth.c - the handshake between in-memory peers, and secret files. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define LOG_SUBSYS "test"
#include "fffs.h"
#include "net/auth.h"
#include "t/unit/tap.h"

/* One connection: a client (node 7, storage) and a server (node 1, mgmtd)
 * and the bodies they exchanged. */
struct session {
	struct auth_state cli, srv;
	uint8_t hello[AUTH_BODY_MAX], chal[AUTH_BODY_MAX], auth[AUTH_BODY_MAX];
	size_t hello_len, chal_len, auth_len;
};

static struct auth_secret key_good, key_bad;

static void self_set(struct auth_self *s, const char *cluster, uint32_t id,
		     uint8_t role)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->cluster, sizeof(s->cluster), "%s", cluster);
	s->node_id = id;
	s->role = role;
}

static void session_init(struct session *s, const struct auth_secret *ckey,
			 const char *ccluster, const struct auth_secret *skey,
			 const char *scluster)
{
	struct auth_self self;

	memset(s, 0, sizeof(*s));
	self_set(&self, ccluster, 7, ROLE_STORAGE);
	auth_init(&s->cli, ckey, &self, false);
	self_set(&self, scluster, 1, ROLE_MGMTD);
	auth_init(&s->srv, skey, &self, true);
}

static int step_hello(struct session *s)
{
	struct pack pk;
	int rc;

	pack_init(&pk, s->hello, sizeof(s->hello));
	rc = auth_client_hello(&s->cli, &pk);
	s->hello_len = pack_len(&pk);
	return rc;
}

static int step_challenge(struct session *s)
{
	struct pack pk;
	int rc;

	pack_init(&pk, s->chal, sizeof(s->chal));
	rc = auth_server_on_hello(&s->srv, s->hello, s->hello_len, &pk);
	s->chal_len = pack_len(&pk);
	return rc;
}

static int step_answer(struct session *s)
{
	struct pack pk;
	int rc;

	pack_init(&pk, s->auth, sizeof(s->auth));
	rc = auth_client_on_challenge(&s->cli, s->chal, s->chal_len, &pk);
	s->auth_len = pack_len(&pk);
	return rc;
}

static int step_auth(struct session *s)
{
	return auth_server_on_auth(&s->srv, s->auth, s->auth_len);
}

/* Run a good-secret session up to the server waiting for AUTH. */
static void session_to_auth(struct session *s)
{
	session_init(s, &key_good, "lab", &key_good, "lab");
	FFFS_ASSERT(step_hello(s) == 0);
	FFFS_ASSERT(step_challenge(s) == 0);
}

static bool has(const char *hay, const char *needle)
{
	bool found = strstr(hay, needle) != NULL;

	if (!found)
		printf("#   '%s' does not contain '%s'\n", hay, needle);
	return found;
}

/* The protocol as documented in net/auth.h, computed independently. */
static void spec_mac(uint8_t mac[AUTH_MAC_LEN], const char *label,
		     const struct session *s, const struct auth_secret *key)
{
	uint8_t hash[crypto_generichash_BYTES], in[64];
	crypto_generichash_state h;
	size_t n = strlen(label);

	crypto_generichash_init(&h, NULL, 0, sizeof(hash));
	crypto_generichash_update(&h, s->hello, s->hello_len);
	crypto_generichash_update(&h, s->chal, s->chal_len - AUTH_MAC_LEN);
	crypto_generichash_final(&h, hash, sizeof(hash));
	memcpy(in, label, n);
	memcpy(in + n, hash, sizeof(hash));
	crypto_auth(mac, in, n + sizeof(hash), key->key);
}

static size_t forge_hello(uint8_t *buf, uint16_t pmin, uint16_t pmax,
			  const char *cluster, uint32_t id, uint8_t role)
{
	uint8_t nonce[AUTH_NONCE_LEN] = { 1, 2, 3 };
	struct pack pk;

	pack_init(&pk, buf, AUTH_BODY_MAX);
	pack_u16(&pk, pmin);
	pack_u16(&pk, pmax);
	pack_str(&pk, cluster);
	pack_u32(&pk, id);
	pack_u8(&pk, role);
	pack_bytes(&pk, nonce, sizeof(nonce));
	FFFS_ASSERT(!pk.err);
	return pack_len(&pk);
}

static size_t forge_challenge(uint8_t *buf, uint16_t version,
			      const char *cluster, uint8_t role)
{
	uint8_t nonce[AUTH_NONCE_LEN] = { 4 }, mac[AUTH_MAC_LEN] = { 5 };
	struct pack pk;

	pack_init(&pk, buf, AUTH_BODY_MAX);
	pack_u16(&pk, version);
	pack_str(&pk, cluster);
	pack_u32(&pk, 1);
	pack_u8(&pk, role);
	pack_bytes(&pk, nonce, sizeof(nonce));
	pack_bytes(&pk, mac, sizeof(mac));
	FFFS_ASSERT(!pk.err);
	return pack_len(&pk);
}

static int server_on(struct auth_state *srv, const uint8_t *body, size_t len)
{
	uint8_t out[AUTH_BODY_MAX];
	struct auth_self self;
	struct pack pk;

	self_set(&self, "lab", 1, ROLE_MGMTD);
	auth_init(srv, &key_good, &self, true);
	pack_init(&pk, out, sizeof(out));
	return auth_server_on_hello(srv, body, len, &pk);
}

/* A client that has sent its HELLO, fed a CHALLENGE body. */
static int client_on(struct auth_state *cli, const uint8_t *body, size_t len)
{
	uint8_t out[AUTH_BODY_MAX];
	struct auth_self self;
	struct pack pk;

	self_set(&self, "lab", 7, ROLE_STORAGE);
	auth_init(cli, &key_good, &self, false);
	pack_init(&pk, out, sizeof(out));
	FFFS_ASSERT(auth_client_hello(cli, &pk) == 0);
	pack_init(&pk, out, sizeof(out));
	return auth_client_on_challenge(cli, body, len, &pk);
}

static void test_success(void)
{
	struct session s;

	session_init(&s, &key_good, "lab", &key_good, "lab");
	is_int(step_hello(&s), 0, "client writes HELLO");
	is_int(step_challenge(&s), 0, "server accepts HELLO, writes CHALLENGE");
	is_int(step_answer(&s), 0, "client accepts CHALLENGE, writes AUTH");
	is_int(s.auth_len, AUTH_MAC_LEN, "AUTH is one MAC");
	is_int(step_auth(&s), 0, "server accepts AUTH");
	is_int(s.cli.version, AUTH_PROTO_MAX, "client agreed on our version");
	is_int(s.srv.version, AUTH_PROTO_MAX, "server agreed on our version");
	is_int(s.cli.peer.node_id, 1, "client learns server node id");
	is_int(s.cli.peer.role, ROLE_MGMTD, "client learns server role");
	is_str(s.cli.peer.cluster, "lab", "client learns server cluster");
	is_int(s.srv.peer.node_id, 7, "server learns client node id");
	is_int(s.srv.peer.role, ROLE_STORAGE, "server learns client role");
	ok(!memcmp(s.cli.transcript_hash, s.srv.transcript_hash, 32),
	   "both sides hashed the same transcript");
	ok(!memcmp(s.cli.peer_nonce, s.srv.my_nonce, AUTH_NONCE_LEN) &&
		   !memcmp(s.srv.peer_nonce, s.cli.my_nonce, AUTH_NONCE_LEN),
	   "nonces crossed over");
}

/* The MACs are what net/auth.h documents, so another implementation can
 * interoperate; also proves spec_mac() below is a working forger. */
static void test_spec(void)
{
	uint8_t mac[AUTH_MAC_LEN];
	struct session s;

	session_to_auth(&s);
	spec_mac(mac, "fffs-server", &s, &key_good);
	ok(!memcmp(mac, s.chal + s.chal_len - AUTH_MAC_LEN, AUTH_MAC_LEN),
	   "server MAC is HMAC('fffs-server' || transcript)");
	spec_mac(mac, "fffs-client", &s, &key_good);
	is_int(auth_server_on_auth(&s.srv, mac, sizeof(mac)), 0,
	       "AUTH forged with the right key and label is accepted");
}

static void test_wrong_secret(void)
{
	uint8_t mac[AUTH_MAC_LEN];
	struct session s;

	session_init(&s, &key_bad, "lab", &key_good, "lab");
	step_hello(&s);
	is_int(step_challenge(&s), 0,
	       "server cannot tell a wrong key at HELLO");
	is_int(step_answer(&s), -FFFS_EAUTH,
	       "client with wrong secret refuses the server's MAC");
	ok(has(s.cli.reason, "server 'node 1 (mgmtd)' failed to prove the "
			     "cluster secret (wrong secret file?)"),
	   "client reason names the server and the likely cause");
	is_int(s.auth_len, 0, "client sends no AUTH");

	/* A client that skips the check still cannot get in. */
	spec_mac(mac, "fffs-client", &s, &key_bad);
	is_int(auth_server_on_auth(&s.srv, mac, sizeof(mac)), -FFFS_EAUTH,
	       "server refuses AUTH made with the wrong secret");
	ok(has(s.srv.reason, "peer 'node 7 (storage)' failed authentication: "
			     "wrong cluster secret"),
	   "server reason names the peer");

	session_init(&s, &key_good, "lab", &key_bad, "lab");
	step_hello(&s);
	step_challenge(&s);
	is_int(step_answer(&s), -FFFS_EAUTH,
	       "client refuses a server with the wrong secret");
}

/* Anything changed in flight breaks the MAC. */
static void test_tamper(void)
{
	struct session s;

	session_init(&s, &key_good, "lab", &key_good, "lab");
	step_hello(&s);
	s.hello[s.hello_len - 1] ^= 1; /* client nonce */
	is_int(step_challenge(&s), 0,
	       "server takes a HELLO with another nonce");
	is_int(step_answer(&s), -FFFS_EAUTH,
	       "client notices its HELLO was altered");

	session_to_auth(&s);
	s.chal[s.chal_len - AUTH_MAC_LEN - 1] ^= 0x80; /* server nonce */
	is_int(step_answer(&s), -FFFS_EAUTH,
	       "client notices the CHALLENGE was altered");

	session_to_auth(&s);
	step_answer(&s);
	s.auth[0] ^= 1;
	is_int(step_auth(&s), -FFFS_EAUTH, "server notices AUTH was altered");
}

static void test_cluster(void)
{
	uint8_t buf[AUTH_BODY_MAX];
	struct auth_state st;
	struct session s;
	size_t n;

	session_init(&s, &key_good, "prod", &key_good, "lab");
	step_hello(&s);
	is_int(step_challenge(&s), -FFFS_EBADCLUSTER,
	       "server refuses a HELLO from another cluster");
	ok(has(s.srv.reason, "peer 'node 7 (storage)' is in cluster 'prod', "
			     "this server is in 'lab'"),
	   "reason names the peer and both clusters");
	is_int(s.chal_len, 0, "no CHALLENGE written");

	n = forge_challenge(buf, AUTH_PROTO_MAX, "other", ROLE_META);
	is_int(client_on(&st, buf, n), -FFFS_EBADCLUSTER,
	       "client refuses a server from another cluster");
	ok(has(st.reason, "'other'") && has(st.reason, "'lab'") &&
		   has(st.reason, "node 1 (meta)"),
	   "client reason names the server and both clusters");

	n = forge_hello(buf, 1, 1, "ev\x1b[2Jil\n", 3, ROLE_META);
	is_int(server_on(&st, buf, n), -FFFS_EBADCLUSTER,
	       "control characters in a cluster id are refused");
	ok(has(st.reason, "'ev?[2Jil?'"), "and not echoed into the reason");
}

static void test_version(void)
{
	uint8_t buf[AUTH_BODY_MAX];
	struct auth_state st;
	char want[64];
	size_t n;

	n = forge_hello(buf, 5, 6, "lab", 9, ROLE_BENCH);
	is_int(server_on(&st, buf, n), -FFFS_EBADVERSION,
	       "HELLO with only newer versions is refused");
	snprintf(want, sizeof(want),
		 "speaks protocol 5..6, this server speaks %d..%d",
		 AUTH_PROTO_MIN, AUTH_PROTO_MAX);
	ok(has(st.reason, "peer 'node 9 (bench)'") && has(st.reason, want),
	   "reason names the peer and both ranges");

	n = forge_hello(buf, 0, 0, "lab", 9, ROLE_BENCH);
	is_int(server_on(&st, buf, n), -FFFS_EBADVERSION,
	       "HELLO with only older versions is refused");

	n = forge_hello(buf, 0, 60000, "lab", 9, ROLE_BENCH);
	is_int(server_on(&st, buf, n), 0, "overlapping wide range is accepted");
	is_int(st.version, AUTH_PROTO_MAX, "server picks the highest common");

	n = forge_hello(buf, 3, 2, "lab", 9, ROLE_BENCH);
	is_int(server_on(&st, buf, n), -FFFS_EBADFRAME,
	       "inverted version range is malformed");

	n = forge_hello(buf, 1, 1, "lab", 9, ROLE_NONE);
	is_int(server_on(&st, buf, n), -FFFS_EBADFRAME, "role none is refused");
	n = forge_hello(buf, 1, 1, "lab", 9, ROLE__COUNT);
	is_int(server_on(&st, buf, n), -FFFS_EBADFRAME,
	       "out-of-range role is refused");
	ok(has(st.reason, "invalid role"), "reason says the role is invalid");

	n = forge_challenge(buf, AUTH_PROTO_MAX + 1, "lab", ROLE_META);
	is_int(client_on(&st, buf, n), -FFFS_EBADVERSION,
	       "client refuses a version it did not offer");
	ok(has(st.reason, "chose protocol"), "reason says what was chosen");
	n = forge_challenge(buf, AUTH_PROTO_MIN - 1, "lab", ROLE_META);
	is_int(client_on(&st, buf, n), -FFFS_EBADVERSION,
	       "client refuses a version below its range");
	n = forge_challenge(buf, AUTH_PROTO_MAX, "lab", 99);
	is_int(client_on(&st, buf, n), -FFFS_EBADFRAME,
	       "client refuses a server with an invalid role");
}

/* Every proper prefix of a body, and the body plus a byte, is malformed. */
static void test_truncation(void)
{
	int bad_hello = 0, bad_chal = 0, bad_auth = 0, bad_reason = 0;
	uint8_t buf[AUTH_BODY_MAX + 1];
	struct auth_state st;
	struct session s;
	struct pack pk;

	session_to_auth(&s);
	step_answer(&s);
	for (size_t n = 0; n <= s.hello_len + 1; n++) {
		memcpy(buf, s.hello, s.hello_len);
		buf[s.hello_len] = 0;
		if (n != s.hello_len &&
		    server_on(&st, buf, n) != -FFFS_EBADFRAME)
			bad_hello++;
	}
	ok(!bad_hello, "every truncated HELLO is EBADFRAME");
	ok(has(st.reason, "malformed HELLO"), "reason says malformed");

	for (size_t n = 0; n <= s.chal_len + 1; n++) {
		memcpy(buf, s.chal, s.chal_len);
		buf[s.chal_len] = 0;
		if (n != s.chal_len &&
		    client_on(&st, buf, n) != -FFFS_EBADFRAME)
			bad_chal++;
	}
	ok(!bad_chal, "every truncated CHALLENGE is EBADFRAME");

	for (size_t n = 0; n <= AUTH_MAC_LEN + 1; n++) {
		struct session t;

		if (n == AUTH_MAC_LEN)
			continue;
		session_to_auth(&t);
		memcpy(buf, s.auth, AUTH_MAC_LEN);
		buf[AUTH_MAC_LEN] = 0;
		if (auth_server_on_auth(&t.srv, buf, n) != -FFFS_EBADFRAME)
			bad_auth++;
	}
	ok(!bad_auth, "every truncated AUTH is EBADFRAME");

	pack_init(&pk, buf, sizeof(buf));
	auth_refusal_encode(&pk, "go away");
	for (size_t n = 0; n <= pack_len(&pk) + 1; n++) {
		char r[32];

		if (n != pack_len(&pk) &&
		    auth_refusal_decode(buf, n, r, sizeof(r)) !=
			    -FFFS_EBADFRAME)
			bad_reason++;
	}
	ok(!bad_reason, "every truncated refusal is EBADFRAME");
}

/* Garbage of every length up to past the largest body: an error, and no
 * sanitizer complaint. */
static void test_garbage(void)
{
	uint8_t buf[AUTH_BODY_MAX + 64];
	uint32_t x = 2463534242u;
	int accepted = 0;
	struct auth_state st;
	struct session s;
	char r[16];

	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)round % sizeof(buf);

		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = (uint8_t)x;
		}
		/* Odd rounds start like a HELLO: versions 1..1, a 3-byte
		 * cluster, so decoding gets further. */
		if (round & 1 && n >= 6)
			memcpy(buf, "\1\0\1\0\3\0", 6);
		accepted += server_on(&st, buf, n) == 0;
		accepted += client_on(&st, buf, n) == 0;
		session_to_auth(&s);
		accepted += auth_server_on_auth(&s.srv, buf, n) == 0;
		auth_refusal_decode(buf, n, r, sizeof(r));
	}
	is_int(accepted, 0, "random bodies are never accepted");
}

static void test_replay(void)
{
	uint8_t buf[AUTH_BODY_MAX];
	struct session a, b;

	session_to_auth(&a);
	step_answer(&a);
	is_int(step_auth(&a), 0, "session A completes");
	is_int(auth_server_on_auth(&a.srv, a.auth, a.auth_len), -FFFS_EBADFRAME,
	       "AUTH replayed into its own session refused");

	session_to_auth(&b);
	is_int(auth_server_on_auth(&b.srv, a.auth, a.auth_len), -FFFS_EAUTH,
	       "AUTH from session A is rejected in session B");

	session_to_auth(&b);
	memcpy(buf, b.chal + b.chal_len - AUTH_MAC_LEN, AUTH_MAC_LEN);
	is_int(auth_server_on_auth(&b.srv, buf, AUTH_MAC_LEN), -FFFS_EAUTH,
	       "server's own MAC reflected as AUTH is rejected");

	session_init(&b, &key_good, "lab", &key_good, "lab");
	step_hello(&b);
	memcpy(b.chal, a.chal, a.chal_len);
	b.chal_len = a.chal_len;
	is_int(step_answer(&b), -FFFS_EAUTH,
	       "CHALLENGE from session A is rejected in session B");
}

static void test_order(void)
{
	uint8_t out[AUTH_BODY_MAX];
	struct session s;
	struct pack pk;

	session_init(&s, &key_good, "lab", &key_good, "lab");
	is_int(step_auth(&s), -FFFS_EBADFRAME, "AUTH before HELLO is refused");
	ok(has(s.srv.reason, "unexpected handshake message"),
	   "reason says unexpected message");
	is_int(step_challenge(&s), -FFFS_EBADFRAME,
	       "a failed server stays failed");

	session_init(&s, &key_good, "lab", &key_good, "lab");
	is_int(step_answer(&s), -FFFS_EBADFRAME,
	       "CHALLENGE before HELLO is refused");

	session_init(&s, &key_good, "lab", &key_good, "lab");
	step_hello(&s);
	is_int(step_hello(&s), -FFFS_EBADFRAME, "a second HELLO is refused");

	session_init(&s, &key_good, "lab", &key_good, "lab");
	pack_init(&pk, out, sizeof(out));
	is_int(auth_client_hello(&s.srv, &pk), -FFFS_EBADFRAME,
	       "a server does not send HELLO");
	is_int(auth_server_on_hello(&s.cli, out, 0, &pk), -FFFS_EBADFRAME,
	       "a client does not take HELLO");

	session_to_auth(&s);
	step_answer(&s);
	pack_init(&pk, out, sizeof(out));
	is_int(auth_server_on_hello(&s.srv, s.hello, s.hello_len, &pk),
	       -FFFS_EBADFRAME, "a second HELLO is refused");
	is_int(step_auth(&s), -FFFS_EBADFRAME,
	       "after that even a valid AUTH is refused");

	session_to_auth(&s);
	step_answer(&s);
	is_int(step_answer(&s), -FFFS_EBADFRAME,
	       "a second CHALLENGE is refused");
}

static void test_small_output(void)
{
	uint8_t out[8];
	struct session s;
	struct pack pk;

	session_init(&s, &key_good, "lab", &key_good, "lab");
	pack_init(&pk, out, sizeof(out));
	is_int(auth_client_hello(&s.cli, &pk), -FFFS_ETOOBIG,
	       "HELLO into a small buffer is ETOOBIG");
}

static void test_names_and_refusal(void)
{
	char r[AUTH_REASON_MAX], small[6];
	uint8_t buf[AUTH_BODY_MAX];
	struct pack pk;

	is_str(node_role_name(ROLE_MGMTD), "mgmtd", "role name mgmtd");
	is_str(node_role_name(ROLE_BENCH), "bench", "role name bench");
	is_str(node_role_name(ROLE_NONE), "none", "role name none");
	is_str(node_role_name(ROLE__COUNT), "?", "role name out of range");
	is_str(node_role_name(-1), "?", "role name negative");

	pack_init(&pk, buf, sizeof(buf));
	auth_refusal_encode(&pk, "wrong cluster\tsecret");
	is_int(auth_refusal_decode(buf, pack_len(&pk), r, sizeof(r)), 0,
	       "refusal decodes");
	is_str(r, "wrong cluster?secret", "refusal reason round-trips, tamed");
	is_int(auth_refusal_decode(buf, pack_len(&pk), small, sizeof(small)), 0,
	       "refusal into a small buffer");
	is_str(small, "wrong", "is truncated");
}

/* ---- secret files ----------------------------------------------------- */

static char tmpdir[] = "/tmp/fffs-t-auth-XXXXXX";

static const char *tpath(const char *name)
{
	static char p[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", tmpdir, name);
	return p[i];
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	FFFS_ASSERT(f);
	fputs(text, f);
	FFFS_ASSERT(fclose(f) == 0);
	FFFS_ASSERT(chmod(path, mode) == 0);
}

static int load(const char *name, struct auth_secret *s, char *err, size_t len)
{
	err[0] = 0;
	return auth_secret_load(tpath(name), s, err, len);
}

static void test_secret_create(void)
{
	struct auth_secret s, again;
	const char *p = tpath("secret");
	char err[512], text[80] = "";
	size_t n = 0;
	struct stat sb;
	FILE *f;

	is_int(auth_secret_create(p, err, sizeof(err)), 0, "create a secret");
	ok(stat(p, &sb) == 0 && (sb.st_mode & 07777) == 0600, "mode is 0600");
	f = fopen(p, "r");
	if (f) {
		n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
	}
	ok(n == 65 && text[64] == '\n' &&
		   strspn(text, "0123456789abcdef") == 64,
	   "64 lowercase hex digits and a newline");
	is_int(load("secret", &s, err, sizeof(err)), 0, "load it back");
	ok(!sodium_is_zero(s.key, sizeof(s.key)), "key is not zero");

	is_int(auth_secret_create(p, err, sizeof(err)), -EEXIST,
	       "create refuses to overwrite");
	ok(has(err, p) && has(err, "already exists"), "message names the path");
	is_int(load("secret", &again, err, sizeof(err)), 0, "still loads");
	ok(!memcmp(s.key, again.key, sizeof(s.key)), "key unchanged");

	is_int(auth_secret_create(tpath("secret2"), err, sizeof(err)), 0,
	       "create a second secret");
	load("secret2", &again, err, sizeof(err));
	ok(memcmp(s.key, again.key, sizeof(s.key)), "secrets are random");

	is_int(auth_secret_create(tpath("nodir/secret"), err, sizeof(err)),
	       -ENOENT, "create in a missing directory fails");
	ok(has(err, "nodir/secret"), "message names the path");
	auth_secret_release(&s);
	ok(sodium_is_zero(s.key, sizeof(s.key)), "release wipes the key");
}

static void test_secret_refused(void)
{
	const char *hex = "00112233445566778899aabbccddeeff00112233445566778899"
			  "AABBCCDDEEFF";
	struct auth_secret s;
	char err[512], text[200];

	snprintf(text, sizeof(text), " \n\t%s\n\n", hex);
	write_file(tpath("ws"), text, 0600);
	is_int(load("ws", &s, err, sizeof(err)), 0,
	       "whitespace around the digits, mixed case");
	ok(s.key[0] == 0x00 && s.key[10] == 0xaa && s.key[31] == 0xff,
	   "digits decoded");

	chmod(tpath("ws"), 0644);
	is_int(load("ws", &s, err, sizeof(err)), -FFFS_ECONFIG,
	       "world-readable secret is refused");
	ok(has(err, tpath("ws")) &&
		   has(err, "readable by others (mode 0644)") &&
		   has(err, "chmod 600"),
	   "message names path, mode and fix");
	ok(sodium_is_zero(s.key, sizeof(s.key)), "key zeroed on failure");
	chmod(tpath("ws"), 0640);
	is_int(load("ws", &s, err, sizeof(err)), -FFFS_ECONFIG,
	       "group-readable secret is refused");
	chmod(tpath("ws"), 0602);
	is_int(load("ws", &s, err, sizeof(err)), -FFFS_ECONFIG,
	       "world-writable secret is refused");
	ok(has(err, "writable by others"), "message says writable");
	chmod(tpath("ws"), 0400);
	is_int(load("ws", &s, err, sizeof(err)), 0, "mode 0400 is fine");

	write_file(tpath("badhex"),
		   "zz112233445566778899aabbccddeeff00112233445566778899aabbccd"
		   "deeff\n",
		   0600);
	is_int(load("badhex", &s, err, sizeof(err)), -FFFS_ECONFIG,
	       "bad hex is refused");
	ok(has(err, tpath("badhex")) && has(err, "expected 64 hex digits"),
	   "message names the path and the format");

	snprintf(text, sizeof(text), "%.62s\n", hex);
	write_file(tpath("short"), text, 0600);
	is_int(load("short", &s, err, sizeof(err)), -FFFS_ECONFIG,
	       "62 digits refused");
	snprintf(text, sizeof(text), "%s00\n", hex);
	write_file(tpath("long"), text, 0600);
	is_int(load("long", &s, err, sizeof(err)), -FFFS_ECONFIG,
	       "66 digits refused");
	snprintf(text, sizeof(text), "%.32s %s\n", hex, hex + 33);
	write_file(tpath("inner"), text, 0600);
	is_int(load("inner", &s, err, sizeof(err)), -FFFS_ECONFIG,
	       "space inside the digits refused");
	write_file(tpath("empty"), "", 0600);
	is_int(load("empty", &s, err, sizeof(err)), -FFFS_ECONFIG,
	       "empty file refused");
	memset(text, '0', sizeof(text) - 1);
	text[sizeof(text) - 1] = 0;
	write_file(tpath("huge"), text, 0600);
	for (int i = 0; i < 2; i++) {
		FILE *f = fopen(tpath("huge"), "a");

		fputs(text, f);
		fclose(f);
	}
	is_int(load("huge", &s, err, sizeof(err)), -FFFS_ECONFIG,
	       "long file refused");

	is_int(load("missing", &s, err, sizeof(err)), -ENOENT,
	       "missing file refused");
	ok(has(err, tpath("missing")) && has(err, "No such file"),
	   "message names the path and the errno");
	is_int(auth_secret_load(tpath("missing"), &s, NULL, 0), -ENOENT,
	       "NULL err buffer is fine");
	is_int(auth_secret_load(tmpdir, &s, err, sizeof(err)), -FFFS_ECONFIG,
	       "a directory is refused");
	ok(has(err, "not a regular file"), "message says why");
}

/* Two nodes loading the same file can talk. */
static void test_secret_handshake(void)
{
	struct auth_secret a, b;
	struct session s;
	char err[512];

	load("secret", &a, err, sizeof(err));
	load("secret", &b, err, sizeof(err));
	session_init(&s, &a, "lab", &b, "lab");
	step_hello(&s);
	step_challenge(&s);
	step_answer(&s);
	is_int(step_auth(&s), 0, "handshake with secrets loaded from a file");
	load("secret2", &b, err, sizeof(err));
	session_init(&s, &a, "lab", &b, "lab");
	step_hello(&s);
	step_challenge(&s);
	is_int(step_answer(&s), -FFFS_EAUTH, "different secret files disagree");
}

static void cleanup(void)
{
	static const char *const names[] = {
		"secret", "secret2", "ws",    "badhex", "short",
		"long",	  "inner",   "empty", "huge",
	};

	for (size_t i = 0; i < FFFS_ARRAY_LEN(names); i++)
		unlink(tpath(names[i]));
	if (rmdir(tmpdir))
		diag("could not remove the temporary directory");
}

int main(void)
{
	FFFS_ASSERT(sodium_init() >= 0);
	memset(key_good.key, 0x11, sizeof(key_good.key));
	memset(key_bad.key, 0x11, sizeof(key_bad.key));
	key_bad.key[31] ^= 1;

	test_success();
	test_spec();
	test_wrong_secret();
	test_tamper();
	test_cluster();
	test_version();
	test_truncation();
	test_garbage();
	test_replay();
	test_order();
	test_small_output();
	test_names_and_refusal();

	if (!mkdtemp(tmpdir)) {
		ok(0, "mkdtemp");
		return done_testing();
	}
	test_secret_create();
	test_secret_refused();
	test_secret_handshake();
	cleanup();
	return done_testing();
}
