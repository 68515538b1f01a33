/* roles/admin_meta.h - the metadata commands of `fffs admin`: fsck, meta
 * digest, layout get/set and the ns shell (roles/admin_meta.c), and the ns
 * load generator (roles/admin_load.c).
 *
 *	struct ameta_args m = AMETA_ARGS_INIT;
 *	while (cli_next(&p) > 0)
 *		if ((rc = ameta_opt(&p, &m)) != 1) ...   // 1: not ours
 *	if (ameta_is_cmd(words[0]))
 *		return ameta_run(&m, words, nwords, json);
 *
 * Every command starts one loop core and the routing agent (--mgmtd is
 * required), and talks to the meta chain through meta/mcli.h, except fsck
 * and digest, which ask the replicas directly.
 */
#ifndef ROLES_ADMIN_META_H
#define ROLES_ADMIN_META_H

#include "base/cli.h"
#include "meta/mcli.h"

struct ameta_args {
	const char *server; /* fsck --server URI */
	bool all;	    /* fsck --all */
	bool table_set, chunk_set, stripe_set;
	uint64_t table, chunk_size, stripe;
	uint64_t clients, ops, seed, page;
	const char *log;
	uint32_t mode; /* 0: the default of the op */
};

#define AMETA_ARGS_INIT                              \
	{                                            \
		.clients = 4, .ops = 1000, .seed = 1 \
	}

/* 1: not an option of these commands; 0: taken; -1: bad (reported). */
int ameta_opt(struct cli_parse *p, struct ameta_args *m);
bool ameta_is_cmd(const char *word);
/* The exit status: 0, 1 (failed, or fsck found problems), 2 (usage). */
int ameta_run(const struct ameta_args *m, const char *const *words, int nwords,
	      bool json);

/* ---- shared with roles/admin_load.c ---------------------------------- */

/* The caller's credentials (effective uid, gid and groups). */
void ameta_cred(struct ns_cred *cred);
/* ns load, on the loop; the exit status. */
int ameta_load(const struct ameta_args *m, struct mcli *cl);

#endif /* ROLES_ADMIN_META_H */
