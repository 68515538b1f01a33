/* mgmt/mgmtd.h - the cluster manager: routing info kept in LMDB,
 * heartbeats as leases, the chain updater, operator commands, and the
 * long-polls through which everybody else follows the routing info.
 *
 *	mgmtd_open(&params, err, errlen);   // before the loops: LMDB, state
 *	loop_start(1, ...);                 // mgmtd runs on one core
 *	mgmtd_start(core_get(0));           // on that core: the updater
 *	rpc_serve(uri, mgmtd_handlers, ...);
 *	loop_main();
 *	mgmtd_close();                      // after the loops stopped
 *
 * State. mgmtd keeps two snapshots (mgmt/routing.h): the live one, which
 * heartbeats, the updater and operator commands change, and the published
 * one, the newest that is durable in LMDB. Every change that bumps the
 * routing version is written by a helper thread (one LMDB transaction with
 * the whole encoded snapshot, synced) and becomes the published snapshot
 * only then, so nobody ever sees a version that a crash could take back.
 * A restarted mgmtd loads the published snapshot and loses nothing; every
 * node gets a fresh lease from the restart (heartbeat times are not kept).
 * The state dir belongs to one cluster: opening it for another is refused.
 *
 * Leases. A heartbeat (SRV_MGMT_HEARTBEAT) registers its node and targets
 * the first time, then renews the node's lease and reports each target's
 * local state and space. mgmtd replies with the published routing version
 * and the lease (heartbeat_timeout_ms). A node without a heartbeat for the
 * lease is marked down at the next updater pass and its targets count as
 * offline. A heartbeat naming a target that another node reported, or a
 * node id that an up node holds with another address, is refused (-EEXIST)
 * and logged naming both.
 *
 * The updater runs every chain_update_ms: leases, then the chain state
 * machine (routing_update_chains()).
 *
 * Requests: ANY_MGMT_ROUTING answers at once when the published version is
 * newer than the caller's, else when it changes or after wait_ms (with the
 * same version). ADM_MGMT_STATUS gives the live snapshot and heartbeat
 * ages. The ADM_ commands that change things answer once their change is
 * durable, or with an error status and a str body saying why:
 *	TABLE_CREATE         routing_place()
 *	TARGET_OFFLINE       the target counts as offline until an operator
 *			     adds it to a chain again (RT_TF_ADMIN_OFFLINE)
 *	CHAIN_ADD_TARGET     a target in no chain joins a chain at its tail,
 *			     waiting (then syncing, then serving)
 *	CHAIN_REMOVE_TARGET  only a target whose public state is offline
 */
#ifndef MGMT_MGMTD_H
#define MGMT_MGMTD_H

#include "mgmt/routing.h"
#include "net/rpc.h"

struct mgmtd_params {
	const char *state_dir; /* holds the LMDB environment */
	const char *cluster;
	uint64_t map_size; /* LMDB map size */
};

int mgmtd_open(const struct mgmtd_params *p, char *err, size_t errlen);
/* On the core that owns the state, once the loops run. */
void mgmtd_start(struct core *c);
void mgmtd_close(void);

extern const struct rpc_handler mgmtd_handlers[MSG__MAX];

#endif /* MGMT_MGMTD_H */
