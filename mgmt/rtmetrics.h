/* mgmt/rtmetrics.h - gauges from a routing snapshot (base/metrics.h).
 *
 *	rtmetrics_export(r);   // whenever r is new (mgmtd), or from a
 *	                       // collector on the scraping thread (agent)
 *
 * Sets, and removes what the snapshot no longer has:
 *	fffs_routing_version                       the snapshot's version
 *	fffs_target_public_state{target,state}     1, one series per target
 *	fffs_target_local_state{target,state}      1, one series per target
 *	fffs_chain_version{chain}
 *	fffs_chain_serving_targets{chain}          members serving now
 * One caller per process (it rebuilds the families with mark/sweep); a
 * scrape meanwhile sees the old or the new series of a family.
 */
#ifndef MGMT_RTMETRICS_H
#define MGMT_RTMETRICS_H

#include "mgmt/routing.h"

void rtmetrics_export(const struct routing *r);

#endif /* MGMT_RTMETRICS_H */
