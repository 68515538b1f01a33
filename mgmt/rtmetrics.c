/* mgmt/rtmetrics.c - target and chain state gauges from routing info. */
#define LOG_SUBSYS "metrics"
#include <stdio.h>

#include "base/metrics.h"
#include "mgmt/rtmetrics.h"

static struct metric_family *family(const char *name, const char *help,
				    const char *labels)
{
	return metrics_family(name, METRIC_GAUGE, help, labels);
}

static void export_targets(const struct routing *r)
{
	struct metric_family *ps = family(
		"fffs_target_public_state",
		"Public state of each target in the routing info (value 1).",
		"target,state");
	struct metric_family *ls = family(
		"fffs_target_local_state",
		"Local state of each target as mgmtd knows it (value 1).",
		"target,state");
	char id[24];

	metrics_family_mark(ps);
	metrics_family_mark(ls);
	for (uint32_t i = 0; i < r->ntargets; i++) {
		const struct rt_target *t = &r->targets[i];

		snprintf(id, sizeof(id), "%llu", (unsigned long long)t->id);
		metrics_set(metrics_get(ps, id, rt_pstate_name(t->pstate)), 1);
		metrics_set(metrics_get(ls, id, rt_lstate_name(t->lstate)), 1);
	}
	metrics_family_sweep(ps);
	metrics_family_sweep(ls);
}

static void export_chains(const struct routing *r)
{
	struct metric_family *ver =
		family("fffs_chain_version", "Version of each chain.", "chain");
	struct metric_family *srv =
		family("fffs_chain_serving_targets",
		       "Members of each chain that serve.", "chain");
	uint64_t serving[RT_CHAIN_MAX];
	char id[16];

	metrics_family_mark(ver);
	metrics_family_mark(srv);
	for (uint32_t i = 0; i < r->nchains; i++) {
		const struct rt_chain *ch = &r->chains[i];

		snprintf(id, sizeof(id), "%u", ch->id);
		metrics_set(metrics_get(ver, id), ch->version);
		metrics_set(metrics_get(srv, id),
			    routing_chain_serving(r, ch, serving));
	}
	metrics_family_sweep(ver);
	metrics_family_sweep(srv);
}

void rtmetrics_export(const struct routing *r)
{
	metrics_set(
		metrics_get(family("fffs_routing_version",
				   "Version of the routing info held.", NULL)),
		(int64_t)r->version);
	export_targets(r);
	export_chains(r);
}
