/* mgmt/mgmtd.c - the cluster manager: heartbeats and leases, the chain
 * updater, operator commands, long-polls, and the thread that makes each
 * routing version durable in LMDB before anybody sees it. */
#define LOG_SUBSYS "mgmtd"
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/dirs.h"
#include "mgmt/mgmtd.h"
#include "mgmt/rtmetrics.h"
#include "net/pack.h"

#define KEY_CLUSTER    "cluster"
#define KEY_ROUTING    "routing"
#define HB_MAX_TARGETS 4096 /* targets in one heartbeat */

/* A parked ANY_MGMT_ROUTING: answered on a newer version or its timer. */
struct waiter {
	struct rpc_req *req;
	uint64_t known;
	struct loop_timer timer;
	struct waiter *next, **pprev;
};

/* An operator command waiting for its change to become durable. */
struct adm_wait {
	struct rpc_req *req;
	uint64_t version;
	uint8_t body[16];
	uint32_t len;
	struct adm_wait *next;
};

/* When each node last heartbeat (not kept across restarts). */
struct lease {
	uint32_t node;
	uint64_t last_ms;
};

/* A snapshot on its way through the persister. */
struct persist {
	struct routing *snap;
	uint8_t *buf;
	size_t len;
	int rc;
};

static struct {
	struct core *c;
	char cluster[RT_CLUSTER_MAX];
	char dir[4096];
	int lock_fd; /* owner.lock of the state dir (base/dirs.h) */
	MDB_env *env;
	MDB_dbi dbi;
	struct routing *live, *pub;
	uint8_t *pub_buf;
	size_t pub_len;
	struct lease *leases;
	uint32_t nleases;
	struct waiter *waiters;
	struct adm_wait *adm;
	struct loop_timer tick;
	uint64_t queued; /* newest version handed to the persister */
	/* the persister thread, and what it shares with the core */
	pthread_t thread;
	bool running, stop, posted;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct persist queued_p, done;
	struct loop_msg done_msg;
} M;

/* ---- LMDB ---------------------------------------------------------------- */

static int lmdb_err(int rc)
{
	if (!rc)
		return 0;
	return rc > 0 ? -rc : rc == MDB_MAP_FULL ? -ENOSPC : -EIO;
}

static int put_all(const struct persist *p, const char *cluster)
{
	MDB_val kc = { strlen(KEY_CLUSTER), KEY_CLUSTER },
		vc = { strlen(cluster), (void *)cluster },
		kr = { strlen(KEY_ROUTING), KEY_ROUTING },
		vr = { p->len, p->buf };
	MDB_txn *txn;
	int rc = mdb_txn_begin(M.env, NULL, 0, &txn);

	if (rc)
		return lmdb_err(rc);
	rc = mdb_put(txn, M.dbi, &kc, &vc, 0);
	if (!rc)
		rc = mdb_put(txn, M.dbi, &kr, &vr, 0);
	if (rc) {
		mdb_txn_abort(txn);
		return lmdb_err(rc);
	}
	return lmdb_err(mdb_txn_commit(txn));
}

static void persist_free(struct persist *p)
{
	routing_unref(p->snap);
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

/* The persister: write the newest snapshot handed over, report it. */
static void *persister(void *arg)
{
	pthread_mutex_lock(&M.mu);
	for (;;) {
		struct persist p;

		while (!M.queued_p.snap && !M.stop)
			pthread_cond_wait(&M.cv, &M.mu);
		if (!M.queued_p.snap)
			break;
		p = M.queued_p;
		memset(&M.queued_p, 0, sizeof(M.queued_p));
		pthread_mutex_unlock(&M.mu);
		p.rc = put_all(&p, M.cluster);
		pthread_mutex_lock(&M.mu);
		persist_free(&M.done); /* superseded, never seen */
		M.done = p;
		if (!M.posted && !M.stop) {
			M.posted = true;
			core_post(M.c, &M.done_msg);
		}
	}
	pthread_mutex_unlock(&M.mu);
	return NULL;
}

/* Hand the live snapshot to the persister when it has a new version. */
static void publish_later(void)
{
	struct persist p = { 0 };

	if (M.live->version <= M.queued)
		return;
	p.snap = routing_copy(M.live);
	routing_encode(p.snap, &p.buf, &p.len);
	M.queued = M.live->version;
	pthread_mutex_lock(&M.mu);
	persist_free(&M.queued_p);
	M.queued_p = p;
	pthread_cond_signal(&M.cv);
	pthread_mutex_unlock(&M.mu);
}

/* ---- publishing ---------------------------------------------------------- */

static void waiter_reply(struct core *c, struct waiter *w)
{
	core_timer_del(c, &w->timer);
	*w->pprev = w->next;
	if (w->next)
		w->next->pprev = w->pprev;
	rpc_reply(c, w->req, 0, M.pub_buf, (uint32_t)M.pub_len, NULL, 0, NULL,
		  NULL);
	free(w);
}

static void adm_flush(struct core *c, bool all, int status)
{
	struct adm_wait **pp = &M.adm, *a;

	while ((a = *pp)) {
		if (!all && a->version > M.pub->version) {
			pp = &a->next;
			continue;
		}
		*pp = a->next;
		rpc_reply(c, a->req, status, a->body, status ? 0 : a->len, NULL,
			  0, NULL, NULL);
		free(a);
	}
}

static void published(struct core *c, struct persist *p)
{
	struct waiter *w = M.waiters, *next;

	routing_unref(M.pub);
	free(M.pub_buf);
	M.pub = p->snap;
	M.pub_buf = p->buf;
	M.pub_len = p->len;
	memset(p, 0, sizeof(*p));
	log_debug("routing version %llu is durable",
		  (unsigned long long)M.pub->version);
	rtmetrics_export(M.pub);
	for (; w; w = next) {
		next = w->next;
		if (w->known < M.pub->version)
			waiter_reply(c, w);
	}
	adm_flush(c, false, 0);
}

static void persist_done(struct core *c, struct loop_msg *m)
{
	struct persist p;

	pthread_mutex_lock(&M.mu);
	p = M.done;
	memset(&M.done, 0, sizeof(M.done));
	M.posted = false;
	pthread_mutex_unlock(&M.mu);
	if (!p.snap)
		return;
	if (p.rc) {
		log_error("cannot store routing version %llu in '%s': %s; "
			  "retrying",
			  (unsigned long long)p.snap->version, M.dir,
			  fffs_strerror(p.rc));
		M.queued = 0; /* the next tick hands it over again */
		persist_free(&p);
		return;
	}
	published(c, &p);
}

/* ---- leases ---------------------------------------------------------------
 */

static struct lease *lease_of(uint32_t node, bool add)
{
	for (uint32_t i = 0; i < M.nleases; i++)
		if (M.leases[i].node == node)
			return &M.leases[i];
	if (!add)
		return NULL;
	M.leases = xrealloc(M.leases, (M.nleases + 1) * sizeof(*M.leases));
	M.leases[M.nleases] = (struct lease){ node, now_ms() };
	return &M.leases[M.nleases++];
}

static uint64_t lease_ms(void)
{
	return (uint64_t)config_int(CFG_heartbeat_timeout_ms);
}

/* Nodes whose lease ran out are down, and their targets offline. */
static bool leases_check(void)
{
	uint64_t now = now_ms();
	bool changed = false;

	for (uint32_t i = 0; i < M.live->nnodes; i++) {
		struct rt_node *n = &M.live->nodes[i];
		struct lease *l = lease_of(n->id, true);

		if (n->status != RT_NODE_UP || now - l->last_ms <= lease_ms())
			continue;
		log_warn("node %u (%s) sent no heartbeat for %llu ms: marked "
			 "down",
			 n->id, n->addr,
			 (unsigned long long)(now - l->last_ms));
		n->status = RT_NODE_DOWN;
		changed = true;
	}
	for (uint32_t i = 0; i < M.live->ntargets; i++) {
		struct rt_target *t = &M.live->targets[i];
		const struct rt_node *n = routing_node(M.live, t->node);

		if (!n || n->status != RT_NODE_UP ||
		    (t->flags & RT_TF_ADMIN_OFFLINE))
			t->lstate = RT_L_OFFLINE;
	}
	return changed;
}

static void chains_log(const struct routing *before)
{
	for (uint32_t i = 0; i < M.live->nchains; i++) {
		const struct rt_chain *ch = &M.live->chains[i];
		const struct rt_chain *old = routing_chain(before, ch->id);
		char line[512];
		size_t n = 0;

		if (old && old->version == ch->version)
			continue;
		for (int k = 0; k < ch->n && n < sizeof(line) - 40; k++) {
			const struct rt_target *t =
				routing_target(M.live, ch->targets[k]);

			n += (size_t)snprintf(
				line + n, sizeof(line) - n, " %llu %s",
				(unsigned long long)ch->targets[k],
				t ? rt_pstate_name(t->pstate) : "?");
		}
		log_info("chain %u version %u:%s", ch->id, ch->version, line);
	}
}

/* Leases, then the chain state machine; whatever changed goes out. */
static void update(void)
{
	struct routing *before = routing_copy(M.live);

	if (leases_check())
		M.live->version++;
	routing_update_chains(M.live);
	chains_log(before);
	routing_unref(before);
	publish_later();
}

static void tick(struct core *c, struct loop_timer *t)
{
	update();
	core_timer_add(c, t,
		       (uint64_t)config_int(CFG_chain_update_ms) * 1000000);
}

/* ---- heartbeats ---------------------------------------------------------- */

struct hb_target {
	uint64_t id;
	uint8_t lstate;
	uint64_t capacity, used;
};

struct hb {
	uint32_t node, n;
	uint8_t role;
	char addr[RT_ADDR_MAX];
	struct hb_target *t;
};

static int hb_decode(const struct rpc_req *req, struct hb *hb)
{
	struct unpack up;
	const char *addr;
	size_t alen;

	unpack_init(&up, req->body, req->body_len);
	hb->node = unpack_u32(&up);
	hb->role = unpack_u8(&up);
	unpack_str(&up, &addr, &alen);
	hb->n = unpack_u32(&up);
	if (up.err || !hb->node || !alen || alen >= RT_ADDR_MAX ||
	    (hb->role != ROLE_STORAGE && hb->role != ROLE_META &&
	     hb->role != ROLE_CLIENT) ||
	    (hb->role == ROLE_CLIENT && hb->n) || hb->n > HB_MAX_TARGETS ||
	    unpack_left(&up) != hb->n * 25ull)
		return -FFFS_EBADFRAME;
	memcpy(hb->addr, addr, alen);
	hb->addr[alen] = 0;
	hb->t = xcalloc(hb->n ? hb->n : 1, sizeof(*hb->t));
	for (uint32_t i = 0; i < hb->n; i++) {
		hb->t[i].id = unpack_u64(&up);
		hb->t[i].lstate = unpack_u8(&up);
		hb->t[i].capacity = unpack_u64(&up);
		hb->t[i].used = unpack_u64(&up);
		if (!hb->t[i].id || hb->t[i].lstate >= RT_LSTATE__COUNT)
			up.err = -FFFS_EBADFRAME;
	}
	if (unpack_finish(&up)) {
		free(hb->t);
		return -FFFS_EBADFRAME;
	}
	return 0;
}

/* A refused heartbeat repeats every interval: say so once a minute per
 * claimed node and address. */
static bool refusal_news(uint32_t node, const char *addr)
{
	static uint32_t last_node;
	static char last_addr[RT_ADDR_MAX];
	static uint64_t last_ms;
	uint64_t now = now_ms();

	if (node == last_node && !strcmp(addr, last_addr) &&
	    now - last_ms < 60000)
		return false;
	last_node = node;
	snprintf(last_addr, sizeof(last_addr), "%s", addr);
	last_ms = now;
	return true;
}

/* Everything a heartbeat claims must fit what mgmtd knows: checked
 * before any of it is applied. */
static int hb_check(const struct hb *hb, const char *peer)
{
	const struct rt_node *n = routing_node(M.live, hb->node);
	const struct lease *l = lease_of(hb->node, false);

	if (n && strcmp(n->addr, hb->addr) && n->status == RT_NODE_UP && l &&
	    now_ms() - l->last_ms <= lease_ms()) {
		if (refusal_news(hb->node, hb->addr))
			log_warn("heartbeat from %s as node %u at %s refused: "
				 "node %u is up at %s",
				 peer, hb->node, hb->addr, hb->node, n->addr);
		return -EEXIST;
	}
	for (uint32_t i = 0; i < hb->n; i++) {
		const struct rt_target *t = routing_target(M.live, hb->t[i].id);

		if (t && t->node != hb->node) {
			log_warn("heartbeat from node %u (%s) refused: target "
				 "%llu belongs to node %u",
				 hb->node, hb->addr, (unsigned long long)t->id,
				 t->node);
			return -EEXIST;
		}
	}
	return 0;
}

static bool hb_node(const struct hb *hb)
{
	struct rt_node n = { .id = hb->node,
			     .role = hb->role,
			     .status = RT_NODE_UP };
	const struct rt_node *old = routing_node(M.live, hb->node);

	snprintf(n.addr, sizeof(n.addr), "%s", hb->addr);
	if (!old)
		log_info("node %u (%s) registered at %s", hb->node,
			 node_role_name(hb->role), hb->addr);
	else if (old->status != RT_NODE_UP)
		log_info("node %u (%s) is up again", hb->node, hb->addr);
	return routing_node_upsert(M.live, &n) > 0;
}

/* The targets it reports; its targets it no longer reports are offline.
 * True when a new target joined. */
/* A target's space moved far from what the published routing info says
 * (capacity changed, or used by 1% of the capacity or 256 MiB, whichever
 * is less): worth a new version, so that statfs at meta follows the space
 * gc frees and writes take. Smaller moves wait for the next version. */
static bool space_news(const struct rt_target *t)
{
	const struct rt_target *p = M.pub ? routing_target(M.pub, t->id) : NULL;
	uint64_t step = t->capacity / 100, d;

	if (step > (256ull << 20) || !step)
		step = 256ull << 20;
	if (!p)
		return false; /* new: published with the target itself */
	if (p->capacity != t->capacity)
		return true;
	d = p->used > t->used ? p->used - t->used : t->used - p->used;
	return d >= step;
}

static bool hb_reports(const struct hb *hb, uint64_t id)
{
	for (uint32_t i = 0; i < hb->n; i++)
		if (hb->t[i].id == id)
			return true;
	return false;
}

/* A change of a target's local state is news too: the published routing
 * (and what ops tools show of it) must not keep a state the target no
 * longer reports. */
static bool hb_targets(const struct hb *hb)
{
	bool news = false;

	for (uint32_t i = 0; i < M.live->ntargets; i++) {
		struct rt_target *t = &M.live->targets[i];

		if (t->node == hb->node && t->lstate != RT_L_OFFLINE &&
		    !hb_reports(hb, t->id)) {
			t->lstate = RT_L_OFFLINE;
			news = true;
		}
	}
	for (uint32_t i = 0; i < hb->n; i++) {
		struct rt_target *t = routing_target_mut(M.live, hb->t[i].id);
		struct rt_target nt = { .id = hb->t[i].id,
					.node = hb->node,
					.pstate = RT_OFFLINE };
		uint8_t ls;

		if (!t) {
			routing_target_upsert(M.live, &nt);
			t = routing_target_mut(M.live, nt.id);
			log_info("target %llu of node %u registered",
				 (unsigned long long)nt.id, hb->node);
			news = true;
		}
		ls = (t->flags & RT_TF_ADMIN_OFFLINE) ? RT_L_OFFLINE
						      : hb->t[i].lstate;
		news |= t->lstate != ls;
		t->lstate = ls;
		t->capacity = hb->t[i].capacity;
		t->used = hb->t[i].used;
		news |= space_news(t);
	}
	return news;
}

static int h_heartbeat(struct core *c, struct rpc_req *req)
{
	uint8_t out[12];
	struct pack pk;
	struct hb hb;
	bool changed;
	int rc = hb_decode(req, &hb);

	if (rc)
		return rc;
	rc = hb_check(&hb, rpc_req_peer(req));
	if (!rc) {
		changed = hb_node(&hb);
		changed |= hb_targets(&hb);
		lease_of(hb.node, true)->last_ms = now_ms();
		if (changed) {
			M.live->version++;
			publish_later();
		}
	}
	free(hb.t);
	if (rc)
		return rc;
	pack_init(&pk, out, sizeof(out));
	pack_u64(&pk, M.pub->version);
	pack_u32(&pk, (uint32_t)lease_ms());
	rpc_reply(c, req, 0, out, sizeof(out), NULL, 0, NULL, NULL);
	return 0;
}

/* ---- routing and status ------------------------------------------------- */

static void waiter_timeout(struct core *c, struct loop_timer *t)
{
	waiter_reply(c, fffs_container_of(t, struct waiter, timer));
}

static int h_routing(struct core *c, struct rpc_req *req)
{
	struct waiter *w;
	struct unpack up;
	uint64_t known;
	uint32_t wait;

	unpack_init(&up, req->body, req->body_len);
	known = unpack_u64(&up);
	wait = unpack_u32(&up);
	if (unpack_finish(&up))
		return -FFFS_EBADFRAME;
	if (M.pub->version > known || !wait) {
		rpc_reply(c, req, 0, M.pub_buf, (uint32_t)M.pub_len, NULL, 0,
			  NULL, NULL);
		return 0;
	}
	w = xcalloc(1, sizeof(*w));
	w->req = req;
	w->known = known;
	core_timer_init(&w->timer, waiter_timeout);
	core_timer_add(c, &w->timer, (uint64_t)wait * 1000000);
	w->next = M.waiters;
	if (w->next)
		w->next->pprev = &w->next;
	w->pprev = &M.waiters;
	M.waiters = w;
	return 0;
}

static int h_status(struct core *c, struct rpc_req *req)
{
	uint64_t now = now_ms();
	uint8_t *enc, *body;
	size_t len, cap;
	struct pack pk;

	if (req->body_len)
		return -FFFS_EBADFRAME;
	routing_encode(M.live, &enc, &len);
	cap = 4 + len + 8 + (size_t)M.live->nnodes * 8;
	body = xmalloc(cap);
	pack_init(&pk, body, cap);
	pack_blob(&pk, enc, (uint32_t)len);
	pack_u32(&pk, (uint32_t)lease_ms());
	pack_u32(&pk, M.live->nnodes);
	for (uint32_t i = 0; i < M.live->nnodes; i++) {
		const struct lease *l = lease_of(M.live->nodes[i].id, false);
		uint64_t age = l ? now - l->last_ms : UINT32_MAX;

		pack_u32(&pk, M.live->nodes[i].id);
		pack_u32(&pk, age > UINT32_MAX ? UINT32_MAX : (uint32_t)age);
	}
	FFFS_ASSERT(!pk.err);
	rpc_reply(c, req, 0, body, (uint32_t)pack_len(&pk), NULL, 0, NULL,
		  NULL);
	free(enc);
	free(body);
	return 0;
}

/* ---- operator commands ---------------------------------------------------
 */

/* Refuse an operator command, saying why in the reply body. */
static int adm_refuse(struct core *c, struct rpc_req *req, int status,
		      const char *fmt, ...) FFFS_PRINTF(4, 5);

static int adm_refuse(struct core *c, struct rpc_req *req, int status,
		      const char *fmt, ...)
{
	char msg[512];
	uint8_t body[520];
	struct pack pk;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("%s refused: %s", msg_name(req->hdr.type), msg);
	pack_init(&pk, body, sizeof(body));
	pack_str(&pk, msg);
	rpc_reply(c, req, status, body, (uint32_t)pack_len(&pk), NULL, 0, NULL,
		  NULL);
	return 0;
}

/* The change is made: answer once it is durable, with body (and the
 * routing version after it). */
static int adm_done(struct rpc_req *req, const void *body, uint32_t len)
{
	struct adm_wait *a = xcalloc(1, sizeof(*a));
	struct pack pk;

	update();
	a->req = req;
	a->version = M.live->version;
	pack_init(&pk, a->body, sizeof(a->body));
	pack_bytes(&pk, body, len);
	pack_u64(&pk, a->version);
	a->len = (uint32_t)pack_len(&pk);
	a->next = M.adm;
	M.adm = a;
	if (M.pub->version >= a->version)
		adm_flush(M.c, false, 0);
	return 0;
}

static void chain_bump(struct rt_chain *ch)
{
	struct rt_table *t = routing_table_mut(M.live, ch->table);

	ch->version++;
	if (t)
		t->version++;
	M.live->version++;
}

static int h_table_create(struct core *c, struct rpc_req *req)
{
	uint32_t nchains, table = 0;
	uint8_t replicas, role = ROLE_STORAGE, body[4];
	struct unpack up;
	struct pack pk;
	char err[256];
	int rc;

	unpack_init(&up, req->body, req->body_len);
	nchains = unpack_u32(&up);
	replicas = unpack_u8(&up);
	if (unpack_left(&up)) /* the role came later: storage without it */
		role = unpack_u8(&up);
	if (unpack_finish(&up))
		return -FFFS_EBADFRAME;
	if (role != ROLE_STORAGE && role != ROLE_META)
		return adm_refuse(c, req, -EINVAL,
				  "a table takes targets of storage or meta "
				  "nodes, not of %s nodes",
				  node_role_name(role));
	rc = routing_place(M.live, nchains, replicas, role, &table, err,
			   sizeof(err));
	if (rc)
		return adm_refuse(c, req, rc, "%s", err);
	log_info("table %u created: %u chains of %u %s targets", table, nchains,
		 replicas, node_role_name(role));
	pack_init(&pk, body, sizeof(body));
	pack_u32(&pk, table);
	return adm_done(req, body, sizeof(body));
}

static int h_target_offline(struct core *c, struct rpc_req *req)
{
	struct rt_target *t;
	struct unpack up;
	uint64_t id;

	unpack_init(&up, req->body, req->body_len);
	id = unpack_u64(&up);
	if (unpack_finish(&up))
		return -FFFS_EBADFRAME;
	t = routing_target_mut(M.live, id);
	if (!t)
		return adm_refuse(c, req, -ENOENT, "there is no target %llu",
				  (unsigned long long)id);
	t->flags |= RT_TF_ADMIN_OFFLINE;
	t->lstate = RT_L_OFFLINE;
	M.live->version++; /* the flag is news even if no chain changes */
	log_info("target %llu taken offline by an operator",
		 (unsigned long long)id);
	return adm_done(req, NULL, 0);
}

static int chain_target_args(struct core *c, struct rpc_req *req,
			     struct rt_chain **ch, struct rt_target **t)
{
	struct unpack up;
	uint32_t chain;
	uint64_t id;

	unpack_init(&up, req->body, req->body_len);
	chain = unpack_u32(&up);
	id = unpack_u64(&up);
	if (unpack_finish(&up))
		return -FFFS_EBADFRAME;
	*ch = routing_chain_mut(M.live, chain);
	*t = routing_target_mut(M.live, id);
	if (!*ch)
		return adm_refuse(c, req, -ENOENT, "there is no chain %u",
				  chain);
	if (!*t)
		return adm_refuse(c, req, -ENOENT, "there is no target %llu",
				  (unsigned long long)id);
	return 1;
}

static int h_chain_add(struct core *c, struct rpc_req *req)
{
	struct rt_chain *ch;
	struct rt_target *t;
	int rc = chain_target_args(c, req, &ch, &t);

	if (rc <= 0)
		return rc;
	if (t->chain)
		return adm_refuse(c, req, -EBUSY,
				  "target %llu is in chain %u already",
				  (unsigned long long)t->id, t->chain);
	if (ch->n == RT_CHAIN_MAX)
		return adm_refuse(c, req, -ENOSPC,
				  "chain %u has %d targets, the most a chain "
				  "may have",
				  ch->id, RT_CHAIN_MAX);
	for (int i = 0; i < ch->n; i++) {
		const struct rt_target *o =
			routing_target(M.live, ch->targets[i]);

		if (o && o->node == t->node)
			return adm_refuse(c, req, -EINVAL,
					  "chain %u has target %llu on node "
					  "%u already; a chain's targets must "
					  "be on distinct nodes",
					  ch->id, (unsigned long long)o->id,
					  t->node);
	}
	ch->targets[ch->n++] = t->id;
	t->chain = ch->id;
	t->pstate = RT_WAITING;
	if (t->flags & RT_TF_ADMIN_OFFLINE) {
		const struct rt_node *n = routing_node(M.live, t->node);

		/* Its lstate was offline only because of the flag: online
		 * until its next heartbeat says better, so that the updater
		 * run below does not take it offline again at once. */
		t->flags &= (uint8_t)~RT_TF_ADMIN_OFFLINE;
		if (n && n->status == RT_NODE_UP)
			t->lstate = RT_L_ONLINE;
	}
	chain_bump(ch);
	log_info("target %llu added to chain %u", (unsigned long long)t->id,
		 ch->id);
	return adm_done(req, NULL, 0);
}

static int h_chain_remove(struct core *c, struct rpc_req *req)
{
	struct rt_chain *ch;
	struct rt_target *t;
	int rc = chain_target_args(c, req, &ch, &t), pos;

	if (rc <= 0)
		return rc;
	pos = rt_chain_pos(ch, t->id);
	if (pos < 0)
		return adm_refuse(c, req, -ENOENT,
				  "target %llu is not in chain %u",
				  (unsigned long long)t->id, ch->id);
	if (t->pstate != RT_OFFLINE)
		return adm_refuse(c, req, -EBUSY,
				  "target %llu of chain %u is %s: only an "
				  "offline target can be removed (fffs admin "
				  "target offline %llu)",
				  (unsigned long long)t->id, ch->id,
				  rt_pstate_name(t->pstate),
				  (unsigned long long)t->id);
	memmove(&ch->targets[pos], &ch->targets[pos + 1],
		(size_t)(ch->n - pos - 1) * sizeof(ch->targets[0]));
	ch->n--;
	t->chain = 0;
	chain_bump(ch);
	log_info("target %llu removed from chain %u", (unsigned long long)t->id,
		 ch->id);
	return adm_done(req, NULL, 0);
}

const struct rpc_handler mgmtd_handlers[MSG__MAX] = {
	RPC_HANDLER(PEER_SRV_PING, rpc_handle_ping),
	RPC_HANDLER(SRV_MGMT_HEARTBEAT, h_heartbeat),
	RPC_HANDLER(ANY_MGMT_ROUTING, h_routing),
	RPC_HANDLER(ADM_MGMT_STATUS, h_status),
	RPC_HANDLER(ADM_MGMT_TABLE_CREATE, h_table_create),
	RPC_HANDLER(ADM_MGMT_TARGET_OFFLINE, h_target_offline),
	RPC_HANDLER(ADM_MGMT_CHAIN_ADD_TARGET, h_chain_add),
	RPC_HANDLER(ADM_MGMT_CHAIN_REMOVE_TARGET, h_chain_remove),
};

/* ---- open, start, close -------------------------------------------------- */

/* The stored cluster and routing, or a new state for p->cluster. */
static int state_load(const struct mgmtd_params *p, char *err, size_t errlen)
{
	MDB_val k = { strlen(KEY_CLUSTER), KEY_CLUSTER }, v;
	MDB_txn *txn;
	int rc = mdb_txn_begin(M.env, NULL, MDB_RDONLY, &txn);

	if (!rc)
		rc = mdb_dbi_open(txn, NULL, 0, &M.dbi);
	if (rc)
		goto out_lmdb;
	rc = mdb_get(txn, M.dbi, &k, &v);
	if (rc == MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		M.live = routing_new(p->cluster);
		log_info("new cluster '%s' in '%s'", p->cluster, p->state_dir);
		return 0;
	}
	if (rc)
		goto out_abort;
	if (v.mv_size != strlen(p->cluster) ||
	    memcmp(v.mv_data, p->cluster, v.mv_size)) {
		snprintf(err, errlen,
			 "state dir '%s' belongs to cluster '%.*s', not '%s'",
			 p->state_dir, (int)v.mv_size, (char *)v.mv_data,
			 p->cluster);
		mdb_txn_abort(txn);
		return -FFFS_EBADCLUSTER;
	}
	k = (MDB_val){ strlen(KEY_ROUTING), KEY_ROUTING };
	rc = mdb_get(txn, M.dbi, &k, &v);
	if (!rc && routing_decode(v.mv_data, v.mv_size, &M.live)) {
		snprintf(err, errlen,
			 "state dir '%s': the stored routing info is corrupt",
			 p->state_dir);
		mdb_txn_abort(txn);
		return -FFFS_EBADFRAME;
	}
out_abort:
	mdb_txn_abort(txn);
out_lmdb:
	if (rc) {
		snprintf(err, errlen, "cannot read mgmtd state in '%s': %s",
			 p->state_dir, mdb_strerror(rc));
		return lmdb_err(rc);
	}
	log_info("cluster '%s' loaded from '%s': routing version %llu, %u "
		 "nodes, %u targets, %u chains",
		 p->cluster, p->state_dir, (unsigned long long)M.live->version,
		 M.live->nnodes, M.live->ntargets, M.live->nchains);
	return 0;
}

static int env_open(const struct mgmtd_params *p, char *err, size_t errlen)
{
	int rc = mdb_env_create(&M.env);

	if (!rc)
		rc = mdb_env_set_mapsize(M.env, (size_t)p->map_size);
	if (!rc)
		rc = mdb_env_open(M.env, p->state_dir, MDB_NOTLS, 0600);
	if (rc)
		snprintf(err, errlen, "cannot open mgmtd state in '%s': %s",
			 p->state_dir, mdb_strerror(rc));
	if (rc && M.env) {
		mdb_env_close(M.env);
		M.env = NULL;
	}
	return lmdb_err(rc);
}

/* Make the loaded state the published one, durably (a new state is
 * written now, so a restart finds the cluster id). */
static int state_publish(char *err, size_t errlen)
{
	struct persist p = { 0 };
	int rc;

	p.snap = routing_copy(M.live);
	routing_encode(p.snap, &p.buf, &p.len);
	rc = put_all(&p, M.cluster);
	if (rc) {
		snprintf(err, errlen, "cannot write mgmtd state: %s",
			 fffs_strerror(rc));
		persist_free(&p);
		return rc;
	}
	M.pub = p.snap;
	M.pub_buf = p.buf;
	M.pub_len = p.len;
	M.queued = M.live->version;
	return 0;
}

int mgmtd_open(const struct mgmtd_params *p, char *err, size_t errlen)
{
	int rc;

	memset(&M, 0, sizeof(M));
	M.lock_fd = -1;
	snprintf(M.cluster, sizeof(M.cluster), "%s", p->cluster);
	snprintf(M.dir, sizeof(M.dir), "%s", p->state_dir);
	rc = dir_make(p->state_dir, err, errlen);
	if (!rc)
		rc = dir_own(p->state_dir, &M.lock_fd, err, errlen);
	if (!rc)
		rc = env_open(p, err, errlen);
	if (!rc)
		rc = state_load(p, err, errlen);
	if (!rc)
		rc = state_publish(err, errlen);
	if (rc)
		goto out;
	pthread_mutex_init(&M.mu, NULL);
	pthread_cond_init(&M.cv, NULL);
	M.done_msg.cb = persist_done;
	rc = fffs_thread_start(&M.thread, "fffs-persist", persister, NULL);
	if (rc) {
		snprintf(err, errlen, "cannot start the persister: %s",
			 fffs_strerror(rc));
		goto out;
	}
	M.running = true;
	return 0;
out:
	routing_unref(M.live);
	routing_unref(M.pub);
	free(M.pub_buf);
	if (M.env)
		mdb_env_close(M.env);
	if (M.lock_fd >= 0)
		close(M.lock_fd);
	memset(&M, 0, sizeof(M));
	return rc;
}

/* A stop: the persister finishes what it has, parked requests get the
 * current answer (or that the change did not become durable). */
static void mgmtd_on_stop(struct core *c, void *arg)
{
	struct persist p;

	pthread_mutex_lock(&M.mu);
	M.stop = true;
	pthread_cond_signal(&M.cv);
	pthread_mutex_unlock(&M.mu);
	pthread_join(M.thread, NULL);
	M.running = false;
	p = M.done;
	memset(&M.done, 0, sizeof(M.done));
	if (p.snap && !p.rc)
		published(c, &p);
	persist_free(&p);
	core_timer_del(c, &M.tick);
	while (M.waiters)
		waiter_reply(c, M.waiters);
	adm_flush(c, true, -FFFS_ESHUTDOWN);
}

void mgmtd_start(struct core *c)
{
	uint64_t now = now_ms();

	M.c = c;
	rtmetrics_export(M.pub);
	for (uint32_t i = 0; i < M.live->nnodes; i++)
		lease_of(M.live->nodes[i].id, true)->last_ms = now;
	core_on_stop(c, mgmtd_on_stop, NULL);
	core_timer_init(&M.tick, tick);
	core_timer_add(c, &M.tick,
		       (uint64_t)config_int(CFG_chain_update_ms) * 1000000);
}

void mgmtd_close(void)
{
	if (M.running) {
		pthread_mutex_lock(&M.mu);
		M.stop = true;
		pthread_cond_signal(&M.cv);
		pthread_mutex_unlock(&M.mu);
		pthread_join(M.thread, NULL);
	}
	persist_free(&M.queued_p);
	persist_free(&M.done);
	routing_unref(M.live);
	routing_unref(M.pub);
	free(M.pub_buf);
	free(M.leases);
	if (M.env)
		mdb_env_close(M.env);
	if (M.lock_fd >= 0)
		close(M.lock_fd);
	pthread_cond_destroy(&M.cv);
	pthread_mutex_destroy(&M.mu);
	memset(&M, 0, sizeof(M));
}
