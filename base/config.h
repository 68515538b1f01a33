/* base/config.h - the one table of configuration keys.
 *
 * Every tunable of every role is one row of CONFIG_KEYS below:
 *	X(name, type, default, min, max, choices, help)
 * The same table validates values, fills defaults, prints `fffs help
 * config` and generates the CONFIGURATION section of man/fffs.1.
 *
 * Start-up sequence (single-threaded, before any loop starts):
 *	config_reset();                      // defaults
 *	config_load_file(path, err, errlen); // --config FILE (JSON object)
 *	config_set_kv("key=value", err, errlen); // each --set, in order
 * After that the values are read-only and any thread may read them.
 * Reading or setting a key before the first config_reset() is a bug and
 * aborts (FFFS_ASSERT).
 *
 * Types, and the text each accepts (the defaults use the same parser):
 *  CFG_INT   integer within [min,max]: decimal, or hex with 0x; optional
 *            leading '-'; no spaces, no trailing characters.
 *  CFG_SIZE  bytes: a decimal integer with an optional K/M/G/T suffix
 *            (powers of 1024; "KB"/"KiB" forms and a bare "B" accepted, any
 *            case), within [min,max] after scaling. No hex: 0x1B would be
 *            ambiguous.
 *  CFG_MS    milliseconds: a decimal integer with an optional ms/s/m suffix
 *            (none means ms), within [min,max] after scaling.
 *  CFG_BOOL  true/false/1/0/yes/no/on/off, any case; min/max unused (0, 1).
 *  CFG_STR   any string; min/max bound its length in bytes.
 *  CFG_ENUM  one of the '|'-separated words of `choices` (exact case);
 *            min/max unused (0). choices is NULL for every other type.
 * In JSON, INT/SIZE/MS may be integral numbers or strings ("64M", "5s"),
 * BOOL true/false or the strings above, STR and ENUM strings.
 *
 * Errors are one line and name the key (and the file when loading one):
 *	config key 'rpc_timeout_ms': value '-3' is below the minimum 1
 *	unknown config key 'foo'
 *	config file '/x.json': unknown key 'foo'
 *	config file '/x.json': not valid JSON near line 3, column 5
 *	config file '/x.json': key 'cores': expected a number or a string, not
 *	a boolean
 *	cannot read config file '/x.json': No such file or directory
 * Setting log_level also sets log_level_cur (its choices are in LOGL_*
 * order), including at config_reset().
 */
#ifndef BASE_CONFIG_H
#define BASE_CONFIG_H

#include <stdio.h>

#include "fffs.h"

enum cfg_type { CFG_INT, CFG_SIZE, CFG_MS, CFG_BOOL, CFG_STR, CFG_ENUM };

/* X(name, type, default, min, max, choices, help) */
#define CONFIG_KEYS(X)                                                         \
	X(log_level, CFG_ENUM, "info", 0, 0, "error|warn|info|debug|trace",    \
	  "Log lines above this level are not written.")                       \
	X(cores, CFG_INT, "1", 1, 256, NULL,                                   \
	  "Number of io_uring event loop threads.")                            \
	X(cluster_id, CFG_STR, "fffs", 1, 63, NULL,                            \
	  "Name of the cluster this node joins.")                              \
	X(secret_file, CFG_STR, "/etc/fffs/secret", 1, 4096, NULL,             \
	  "File holding the cluster secret (64 hex digits).")                  \
	X(node_id, CFG_INT, "0", 0, 4294967295, NULL,                          \
	  "Node id of this process (0: none).")                                \
	X(rpc_timeout_ms, CFG_MS, "5000", 1, 3600000, NULL,                    \
	  "Default deadline of an RPC, from send to reply.")                   \
	X(rpc_connect_timeout_ms, CFG_MS, "3000", 1, 600000, NULL,             \
	  "Deadline of a connection set-up, TCP connect plus authentication.") \
	X(rpc_reconnect_ms, CFG_MS, "200", 1, 600000, NULL,                    \
	  "Wait after a failed connection before the next attempt to the "     \
	  "same peer.")                                                        \
	X(rpc_max_body, CFG_SIZE, "1M", 4096, 16777216, NULL,                  \
	  "Largest message body accepted; larger frames close the "            \
	  "connection.")                                                       \
	X(rpc_max_bulk, CFG_SIZE, "64M", 0, 1073741824, NULL,                  \
	  "Largest bulk payload accepted; larger frames close the "            \
	  "connection.")                                                       \
	X(rpc_max_inflight, CFG_INT, "1024", 1, 1048576, NULL,                 \
	  "Requests a server runs at once per connection before it stops "     \
	  "reading.")                                                          \
	X(mgmtd, CFG_STR, "", 0, 1024, NULL,                                   \
	  "Address of the cluster manager, tcp://HOST:PORT (empty: none; a "   \
	  "storage server without one serves its targets alone).")             \
	X(metrics, CFG_STR, "", 0, 1024, NULL,                                 \
	  "Serve Prometheus text metrics over HTTP (GET /metrics) on "         \
	  "tcp://HOST:PORT (port 0: any free port, logged; empty: none).")     \
	X(heartbeat_interval_ms, CFG_MS, "1000", 10, 600000, NULL,             \
	  "How often a server heartbeats to mgmtd (renewing its lease).")      \
	X(heartbeat_timeout_ms, CFG_MS, "10000", 100, 3600000, NULL,           \
	  "The lease: mgmtd marks a server failed after this long without a "  \
	  "heartbeat; a server stops serving after half of it without one.")   \
	X(chain_update_ms, CFG_MS, "1000", 10, 600000, NULL,                   \
	  "How often mgmtd runs the chain updater.")                           \
	X(routing_poll_ms, CFG_MS, "10000", 10, 600000, NULL,                  \
	  "How long a routing request waits at mgmtd for a newer version.")    \
	X(craq_retry_ms, CFG_MS, "100", 1, 60000, NULL,                        \
	  "How often a storage server retries a forward that failed while "    \
	  "it waits for new routing info.")                                    \
	X(craq_write_timeout_ms, CFG_MS, "60000", 100, 3600000, NULL,          \
	  "How long a chain write may wait for its chain to recover before "   \
	  "it fails (servers), or be retried (clients).")                      \
	X(mcli_retry_ms, CFG_MS, "100", 1, 60000, NULL,                        \
	  "How often a meta client resends a namespace operation while the "   \
	  "meta chain recovers or its routing info is stale.")                 \
	X(fuse_close_delay_ms, CFG_MS, "5", 0, 60000, NULL,                    \
	  "How long a mount holds the close of a write session that wrote "    \
	  "nothing, so that many go to meta in one request (0: each at "       \
	  "once).")                                                            \
	X(mcli_timeout_ms, CFG_MS, "30000", 100, 3600000, NULL,                \
	  "How long a meta client retries a namespace operation before it "    \
	  "fails with the last error (or a timeout).")                         \
	X(ring_entries, CFG_INT, "1024", 64, 32768, NULL,                      \
	  "Submission queue entries of each core's io_uring.")                 \
	X(shutdown_drain_ms, CFG_MS, "5000", 0, 600000, NULL,                  \
	  "On SIGINT/SIGTERM, time allowed for in-flight work to finish.")     \
	X(chunk_meta_map_size, CFG_SIZE, "4G", 16777216, 1099511627776, NULL,  \
	  "LMDB map size of each target's chunk metadata (sparse).")           \
	X(io_buffer_size, CFG_SIZE, "64M", 0, 1073741824, NULL,                \
	  "Registered I/O buffer memory per core (storage servers).")          \
	X(meta_map_size, CFG_SIZE, "4G", 16777216, 1099511627776, NULL,        \
	  "LMDB map size of a meta server's namespace db (sparse).")           \
	X(msrv_log_bytes, CFG_SIZE, "64M", 65536, 17179869184, NULL,           \
	  "Write sets a meta server keeps in memory for its successor; a "     \
	  "successor further behind gets a copy of the whole db.")             \
	X(msrv_gc_rate, CFG_INT, "1000", 1, 1000000, NULL,                     \
	  "Chunks per second a meta chain's head removes from storage for "    \
	  "the files it garbage collects.")                                    \
	X(agent_cut_file, CFG_STR, "", 0, 4096, NULL,                          \
	  "Testing (needs debug_faults): while this file exists the process "  \
	  "acts as if mgmtd were unreachable (no heartbeat, no routing).")     \
	X(store_hold_file, CFG_STR, "", 0, 4096, NULL,                         \
	  "Testing (needs debug_faults): while this file exists, storage "     \
	  "targets hold their chunk metadata batches (a write's data is "      \
	  "written, its metadata waits).")                                     \
	X(debug_faults, CFG_BOOL, "false", 0, 1, NULL,                         \
	  "Allow fault points (FAULT()) to be switched on in this process.")   \
	X(faults, CFG_STR, "", 0, 1024, NULL,                                  \
	  "Fault points to switch on, name[=N],... (needs debug_faults).")

enum cfg_key {
#define CFG_ENUM_KEY(name, type, def, min, max, choices, help) CFG_##name,
	CONFIG_KEYS(CFG_ENUM_KEY)
#undef CFG_ENUM_KEY
		CFG__COUNT
};

/* Back to the defaults of the table (frees every string set since). */
void config_reset(void);

/* Apply one key. err gets a one-line message naming the key on failure;
 * returns 0 or -FFFS_ECONFIG, and the old value stays. err may be NULL. */
int config_set(const char *key, const char *value, char *err, size_t errlen);
/* "key=value" form of config_set(), as given to --set; the value is
 * everything after the first '='. No '=' is an error naming kv. */
int config_set_kv(const char *kv, char *err, size_t errlen);
/* Apply every key of a JSON object file. Everything is validated before
 * anything is applied: on any error nothing of the file is applied.
 * Returns 0, -FFFS_ECONFIG, or -errno when the file cannot be read (the
 * message names the path). A key given twice is an error. */
int config_load_file(const char *path, char *err, size_t errlen);

/* Index of a key by name, or -1. */
int config_find(const char *key);

/* Readers. config_int works for INT, SIZE (bytes), MS, BOOL (0/1) and ENUM
 * (index of the choice); config_bool for BOOL only; config_str for every
 * type, giving the canonical text: INT/SIZE/MS in decimal base units
 * ("64M" reads back as "67108864"), BOOL "true"/"false", ENUM the choice,
 * STR the string. Canonical text parses back to the same value. Using a
 * reader on the wrong type aborts (FFFS_ASSERT). */
int64_t config_int(enum cfg_key k);
bool config_bool(enum cfg_key k);
const char *config_str(enum cfg_key k);

/* Human table for `fffs help config`. */
void config_print_help(FILE *f);
/* troff (man(7)) list of every key, for the CONFIGURATION section: one
 * .TP per key, the tag line "\fBname\fR (type, default X, range ...)",
 * then the help text. */
void config_print_troff(FILE *f);
/* The effective configuration as a JSON object (for --json outputs):
 * numbers as numbers, booleans as booleans. Free with free(); never NULL
 * (aborts when out of memory, like x*alloc). */
char *config_dump_json(void);

#endif /* BASE_CONFIG_H */
