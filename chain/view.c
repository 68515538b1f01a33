/* chain/view.c - a replica's view of its chain (chain/view.h). */
#include <stdio.h>
#include <string.h>

#include "chain/view.h"
#include "mgmt/agent.h"

static int pstate_of(const struct routing *r, uint64_t target)
{
	const struct rt_target *t = routing_target(r, target);

	return t ? t->pstate : RT_OFFLINE;
}

static void addr_of(const struct routing *r, uint64_t target, char *out)
{
	const struct rt_target *t = target ? routing_target(r, target) : NULL;
	const struct rt_node *n = t ? routing_node(r, t->node) : NULL;

	snprintf(out, RT_ADDR_MAX, "%s", n ? n->addr : "");
}

void chain_view_compute(struct chain_view *v, const struct routing *r,
			uint64_t target)
{
	const struct rt_target *t = routing_target(r, target);
	const struct rt_chain *ch =
		t && t->chain ? routing_chain(r, t->chain) : NULL;
	int me = ch ? rt_chain_pos(ch, target) : -1, last_serving = -1;

	memset(v, 0, sizeof(*v));
	v->pstate = -1;
	v->tail = true;
	if (me < 0)
		return;
	v->chain = ch->id;
	v->chain_ver = ch->version;
	v->pstate = t->pstate;
	for (int i = 0; i < ch->n; i++) {
		int ps = pstate_of(r, ch->targets[i]);

		if (ps == RT_SERVING) {
			last_serving = i;
			v->qtail = ch->targets[i];
			if (i > me)
				v->tail = false;
		}
		if (chain_in_write_set(ps) && i > me && !v->succ) {
			v->succ = ch->targets[i];
			v->succ_syncing = ps == RT_SYNCING;
		}
	}
	v->head = v->pstate == RT_SERVING && me == 0;
	if (last_serving == me && me + 1 < ch->n &&
	    pstate_of(r, ch->targets[me + 1]) == RT_SYNCING)
		v->next_syncing = ch->targets[me + 1];
	addr_of(r, v->succ, v->succ_addr);
	addr_of(r, v->qtail, v->qtail_addr);
	addr_of(r, v->next_syncing, v->next_addr);
}

int chain_view_check(const struct chain_view *v, uint32_t chain,
		     uint32_t chain_ver, enum chain_accept accept)
{
	if (!v->chain || chain != v->chain)
		return -FFFS_ENOTSERVING;
	if (!agent_serving_allowed())
		return -FFFS_EFENCED;
	if (chain_ver != v->chain_ver)
		return -FFFS_ECHAINVER;
	if (accept == CHAIN_SERVING && v->pstate != RT_SERVING)
		return -FFFS_ENOTSERVING;
	if (accept == CHAIN_IN_WRITE_SET && !chain_in_write_set(v->pstate))
		return -FFFS_ENOTSERVING;
	return 0;
}

uint8_t chain_local_state(int pstate, uint32_t chain_ver, uint32_t synced_ver,
			  bool failed)
{
	if (failed)
		return RT_L_OFFLINE;
	if (pstate == RT_SERVING && agent_serving_allowed())
		return RT_L_UPTODATE;
	if (pstate == RT_SYNCING && synced_ver && synced_ver == chain_ver)
		return RT_L_UPTODATE;
	return RT_L_ONLINE;
}
