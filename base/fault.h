/* base/fault.h - fault points compiled into the code, switched on per
 * process, so failure paths are tested on purpose.
 *
 *	if (FAULT(FP_RPC_DROP_REPLY)) ...   // false unless switched on
 *
 * A point fires only when debug_faults is true and the faults key names it:
 *	--set debug_faults=true --set faults=rpc_drop_reply=3,conn_tx_corrupt
 * "name=N" fires on every Nth pass through the point, "name" on every pass.
 * fault_setup() reads the configuration once at start-up, before the loops
 * run, and refuses unknown names or faults without debug_faults.
 */
#ifndef BASE_FAULT_H
#define BASE_FAULT_H

#include "fffs.h"

/* X(ID, name, what happens) */
#define FAULT_POINTS(X)                                                \
	X(RPC_DROP_REPLY, "rpc_drop_reply",                            \
	  "a server drops a reply instead of sending it")              \
	X(CONN_TX_CORRUPT, "conn_tx_corrupt",                          \
	  "a connection flips a bit in the magic of a frame it sends") \
	X(STORE_IO_ERROR, "store_io_error",                            \
	  "a data read or write of a storage target fails with EIO")   \
	X(CRAQ_CLI_STALE, "craq_cli_stale",                            \
	  "a chain client's first send of a write carries the chain "  \
	  "version before the one it knows")

enum fault_point {
#define FAULT_ENUM(id, name, what) FP_##id,
	FAULT_POINTS(FAULT_ENUM)
#undef FAULT_ENUM
		FP__COUNT
};

extern bool fault_enabled; /* any point switched on */

int fault_setup(char *err, size_t errlen);
bool fault_hit(enum fault_point fp);

#define FAULT(fp) (fffs_unlikely(fault_enabled) && fault_hit(fp))

#endif /* BASE_FAULT_H */
