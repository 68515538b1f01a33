/* net/proto.h - every wire message, listed once.
 *
 * X(id, NAME, layout): NAME reads FROM_TO_VERB; layout is the body of the
 * request, then " -> " and the body of the response (one-way messages have
 * no response). Types in layouts: u8/u16/u32/u64, str (u16 length + bytes),
 * blob (u32 length + bytes), bytes[N], and "bulk" for the payload that
 * follows the body. Responses carry the request's type with
 * FRAME_F_RESPONSE and a status in the header.
 *
 * Adding a message: one line here, a handler in the server's table
 * (RPC_HANDLER(NAME, fn)), a client that packs the layout it documents.
 */
#ifndef NET_PROTO_H
#define NET_PROTO_H

#include "fffs.h"

#define PROTO_MESSAGES(X)                                                    \
	/* connection handshake, see net/auth.h */                           \
	X(1, PEER_SRV_HELLO,                                                 \
	  "u16 proto_min, u16 proto_max, str cluster, u32 node, u8 role, "   \
	  "bytes[32] nonce -> u16 version, str cluster, u32 node, u8 role, " \
	  "bytes[32] nonce, bytes[32] mac (CHALLENGE)")                      \
	X(2, PEER_SRV_AUTH,                                                  \
	  "bytes[32] mac -> empty (WELCOME), or status<0 and str reason")    \
	/* generic */                                                        \
	X(10, PEER_SRV_PING, "u64 token -> u64 token, u64 server_time_ns")   \
	/* fffs bench rpc */                                                 \
	X(20, BENCH_SRV_ECHO,                                                \
	  "u32 resp_bulk_len, blob data, bulk -> blob data, "                \
	  "bulk[resp_bulk_len]")                                             \
	/* storage: chunks of one target (chain 0), or of a chain through */ \
	/* one of its targets, with the sender's chain version */            \
	/* (chain/storage_srv.h, chain/craq_srv.h) */                        \
	X(30, CLI_STOR_WRITE,                                                \
	  "u64 target, u32 chain, u32 chain_ver, u64 inode, u32 index, "     \
	  "u32 offset, u32 length, u32 chunk_size, u32 crc, u64 client, "    \
	  "u64 req_id, bulk[length] -> u64 version, u32 chunk_length, "      \
	  "u32 chunk_crc")                                                   \
	X(31, CLI_STOR_READ,                                                 \
	  "u32 n, n x (u64 target, u32 chain, u32 chain_ver, u64 inode, "    \
	  "u32 index, u32 offset, u32 length) -> u32 n, n x (i32 status, "   \
	  "u32 length, u32 crc, u64 version), bulk = the bytes of every ok " \
	  "range, in order")                                                 \
	X(32, CLI_STOR_REMOVE,                                               \
	  "u32 n, n x (u64 target, u32 chain, u32 chain_ver, u64 inode, "    \
	  "u32 index) -> u32 n, n x i32 status")                             \
	X(33, CLI_STOR_TRUNCATE,                                             \
	  "u64 target, u32 chain, u32 chain_ver, u64 inode, u32 index, "     \
	  "u32 length, u32 chunk_size, u64 client, u64 req_id -> "           \
	  "u64 version, u32 chunk_length, u32 chunk_crc")                    \
	X(34, CLI_STOR_QUERY_LAST,                                           \
	  "u64 target, u64 inode -> u32 index, u32 length (-ENOENT: none)")  \
	X(35, CLI_STOR_SPACE,                                                \
	  "empty -> u32 n, n x (u64 target, u8 state, u64 capacity, "        \
	  "u64 used, u64 free, u64 chunks)")                                 \
	X(36, CLI_STOR_DUMP,                                                 \
	  "u64 target, u64 start_inode, u32 start_index, u32 max -> u32 n, " \
	  "n x (u64 inode, u32 index, u32 length, u64 committed, "           \
	  "u64 pending, u32 chain_ver, u32 crc), u8 more")                   \
	/* chain replication between storage servers (chain/craq_srv.h) */   \
	X(37, STOR_STOR_FORWARD,                                             \
	  "u32 chain, u32 chain_ver, u64 target, u8 kind (1 write, 2 "       \
	  "truncate, 3 remove, 4 whole chunk), u8 sync, u64 inode, "         \
	  "u32 index, u64 version, u64 base, u32 offset, u32 length, "       \
	  "u32 chunk_size, u32 crc, u64 client, u64 req_id, bulk[length] "   \
	  "-> u64 version, u32 chunk_length, u32 chunk_crc")                 \
	X(38, STOR_STOR_COMMITTED,                                           \
	  "u32 chain, u32 chain_ver, u64 target, u64 inode, u32 index -> "   \
	  "u64 version reads may see at the query tail (0: none)")           \
	X(39, STOR_STOR_SYNC_DONE,                                           \
	  "u32 chain, u32 chain_ver, u64 target -> empty")                   \
	/* cluster manager (mgmt/mgmtd.h, mgmt/agent.h); on errors the */    \
	/* response body of an ADM_ message is a str saying why */           \
	X(40, SRV_MGMT_HEARTBEAT,                                            \
	  "u32 node, u8 role, str addr, u32 n, n x (u64 target, u8 lstate, " \
	  "u64 capacity, u64 used) -> u64 routing_version, u32 lease_ms")    \
	X(41, ANY_MGMT_ROUTING,                                              \
	  "u64 known_version, u32 wait_ms -> routing (mgmt/routing.h), "     \
	  "once newer than known_version or after wait_ms")                  \
	X(42, ADM_MGMT_STATUS,                                               \
	  "empty -> blob routing (live, not yet durable), u32 lease_ms, "    \
	  "u32 n, n x (u32 node, u32 heartbeat_age_ms)")                     \
	X(43, ADM_MGMT_TABLE_CREATE,                                         \
	  "u32 chains, u8 replicas -> u32 table, u64 routing_version")       \
	X(44, ADM_MGMT_TARGET_OFFLINE, "u64 target -> u64 routing_version")  \
	X(45, ADM_MGMT_CHAIN_ADD_TARGET,                                     \
	  "u32 chain, u64 target -> u64 routing_version")                    \
	X(46, ADM_MGMT_CHAIN_REMOVE_TARGET,                                  \
	  "u32 chain, u64 target -> u64 routing_version")                    \
	/* metadata (meta/mproto.h, meta/msrv.h) */                          \
	X(50, CLI_META_OP, "mreq (meta/mproto.h) -> mres (meta/mproto.h)")   \
	X(51, META_META_FORWARD,                                             \
	  "u32 chain, u32 chain_ver, u64 target, u64 seq, blob ws -> u64 "   \
	  "applied_seq (-FFFS_EVERSION: a gap, resume after applied_seq)")   \
	X(52, META_META_SEQ,                                                 \
	  "u32 chain, u32 chain_ver, u64 target -> u64 applied_seq")         \
	X(53, META_META_SNAPSHOT,                                            \
	  "u32 chain, u32 chain_ver, u64 target, u64 offset, u64 total, "    \
	  "bulk -> u64 seq (after the last piece: of the installed copy)")   \
	X(54, META_META_SYNC_DONE,                                           \
	  "u32 chain, u32 chain_ver, u64 target, u64 seq -> empty")          \
	X(55, ADM_META_FSCK, "empty -> u64 seq, u32 problems, blob report")  \
	X(56, ADM_META_DIGEST, "empty -> u64 seq, bytes[32] digest")

enum msg_type {
#define PROTO_ENUM(id, name, layout) MSG_##name = id,
	PROTO_MESSAGES(PROTO_ENUM)
#undef PROTO_ENUM
		MSG__MAX = 64 /* ids are below this */
};

/* "PEER_SRV_PING", or NULL for an unknown type. */
const char *msg_name(unsigned type);
/* The layout comment of a type, or NULL. */
const char *msg_layout(unsigned type);

#endif /* NET_PROTO_H */
