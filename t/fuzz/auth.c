/* t/fuzz/auth.c - libFuzzer target: arbitrary bytes at every handshake step. */
/* fuzz-sources: net/auth.c base/log.c base/err.c base/alloc.c */
/* fuzz-pkgs: libsodium */
#include <string.h>

#define LOG_SUBSYS "fuzz"
#include "fffs.h"
#include "net/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct auth_secret key = { { 0x5a } };

static void self_set(struct auth_self *s, uint32_t id, uint8_t role)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->cluster, "lab", 4);
	s->node_id = id;
	s->role = role;
}

/* Only success may leave bytes in out, and only a fitting amount. */
static void check(int rc, const struct pack *out)
{
	FFFS_ASSERT(rc <= 0);
	FFFS_ASSERT(rc == 0 || pack_len(out) == 0);
	FFFS_ASSERT(pack_len(out) <= AUTH_BODY_MAX);
}

/* The input as a HELLO; if it passes, the client side of a real
 * handshake would still refuse it with the key it does not know. */
static void fuzz_hello(const uint8_t *data, size_t size)
{
	uint8_t out[AUTH_BODY_MAX];
	struct auth_state srv;
	struct auth_self self;
	struct pack pk;
	int rc;

	self_set(&self, 1, ROLE_MGMTD);
	auth_init(&srv, &key, &self, true);
	pack_init(&pk, out, sizeof(out));
	rc = auth_server_on_hello(&srv, data, size, &pk);
	check(rc, &pk);
	FFFS_ASSERT(rc == 0 || srv.reason[0]);
}

static void fuzz_challenge(const uint8_t *data, size_t size)
{
	uint8_t out[AUTH_BODY_MAX];
	struct auth_state cli;
	struct auth_self self;
	struct pack pk;
	int rc;

	self_set(&self, 7, ROLE_STORAGE);
	auth_init(&cli, &key, &self, false);
	pack_init(&pk, out, sizeof(out));
	FFFS_ASSERT(auth_client_hello(&cli, &pk) == 0);
	pack_init(&pk, out, sizeof(out));
	rc = auth_client_on_challenge(&cli, data, size, &pk);
	check(rc, &pk);
	/* Accepting would mean forging the server MAC for a fresh nonce. */
	FFFS_ASSERT(rc != 0);
	FFFS_ASSERT(cli.reason[0]);
}

/* A server that took a real HELLO, fed the input as AUTH. */
static void fuzz_auth(const uint8_t *data, size_t size)
{
	uint8_t hello[AUTH_BODY_MAX], out[AUTH_BODY_MAX];
	struct auth_state cli, srv;
	struct auth_self self;
	struct pack hp, pk;

	self_set(&self, 7, ROLE_STORAGE);
	auth_init(&cli, &key, &self, false);
	pack_init(&hp, hello, sizeof(hello));
	FFFS_ASSERT(auth_client_hello(&cli, &hp) == 0);
	self_set(&self, 1, ROLE_MGMTD);
	auth_init(&srv, &key, &self, true);
	pack_init(&pk, out, sizeof(out));
	FFFS_ASSERT(auth_server_on_hello(&srv, hello, pack_len(&hp), &pk) == 0);
	FFFS_ASSERT(auth_server_on_auth(&srv, data, size) != 0);
	FFFS_ASSERT(srv.reason[0]);
}

static void fuzz_refusal(const uint8_t *data, size_t size)
{
	char reason[AUTH_REASON_MAX];
	int rc = auth_refusal_decode(data, size, reason, sizeof(reason));

	FFFS_ASSERT(rc == 0 || rc == -FFFS_EBADFRAME);
	FFFS_ASSERT(strlen(reason) < sizeof(reason));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_hello(data, size);
	fuzz_challenge(data, size);
	fuzz_auth(data, size);
	fuzz_refusal(data, size);
	return 0;
}
