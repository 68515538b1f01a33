/* fuse/fclose.h - the closes of write sessions that wrote nothing, sent a
 * little later and many in one request.
 *
 *	fclose_start(pick);          // the closer thread (pick: a core's
 *	                             // meta client, round robin)
 *	if (!fclose_defer(session))  // release of a handle that wrote nothing
 *		close it now;            // deferring is off (delay 0) or
 *stopped fclose_stop();               // the FUSE session ended, the loops
 *	                             // still run: what waits is sent
 *
 * A write session that wrote nothing ends without changing its file (no
 * size, no times: ns_close without a size), so its close need not hold up
 * the release it comes from, nor take a replicated commit of its own. The
 * closer thread waits fuse_close_delay_ms after the first session comes,
 * then sends all that wait, MCLOSE_LIST_MAX in one MOP_CLOSE with
 * MCLOSE_LIST (meta/mproto.h). A loop that creates empty files costs one
 * commit per file instead of two (create, close).
 *
 * What the delay shows: meta counts the session (ns_attr.sessions) until
 * its close arrives, so a file unlinked within the delay stays an orphan
 * until then, and its gc starts that much later. The attributes the
 * kernel holds do not show sessions.
 *
 * Failures. The meta client retries a close list as it does any change
 * (mcli_timeout_ms; meta skips sessions closed before). A list that still
 * fails is logged with its size and dropped: meta prunes the sessions of
 * this mount's client once mgmtd lists it down (meta/msrv_gc.c), as it
 * does for a mount that died. fclose_stop() gives what is left
 * shutdown_drain_ms.
 */
#ifndef FUSE_FCLOSE_H
#define FUSE_FCLOSE_H

#include <stdbool.h>
#include <stdint.h>

#include "meta/mcli.h"

void fclose_start(struct mcli *(*pick)(void));
/* Queue session for the closer: false when closes are not deferred
 * (fuse_close_delay_ms 0, or after fclose_stop()): the caller closes it. */
bool fclose_defer(uint64_t session);
void fclose_stop(void);

#endif /* FUSE_FCLOSE_H */
