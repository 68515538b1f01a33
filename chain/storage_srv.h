/* chain/storage_srv.h - the storage server's RPC handlers.
 *
 *	storage_srv_init(store);              // before serving
 *	rpc_serve(uri, storage_handlers, ...);
 *	storage_srv_release();                // before store_close()
 *
 * Each handler decodes its request (net/proto.h, CLI_STOR_*), sends every
 * chunk operation to the core that owns its target, and replies from the
 * connection's core once all of them are done. Batched reads reply with one
 * bulk made of every returned range, sent straight from the read buffers.
 */
#ifndef CHAIN_STORAGE_SRV_H
#define CHAIN_STORAGE_SRV_H

#include "chain/store.h"
#include "net/rpc.h"

#define STOR_BATCH_MAX 4096 /* ranges per read or remove request */

extern const struct rpc_handler storage_handlers[MSG__MAX];

void storage_srv_init(struct store *s);
/* Stop reading the store for metrics (the space gauges). */
void storage_srv_release(void);

#endif /* CHAIN_STORAGE_SRV_H */
