/* base/cli.h - subcommands and their options, parsed and documented from
 * one table.
 *
 * fffs.c holds the table of struct cli_cmd; each role declares its options
 * as a NULL-terminated array of struct cli_opt. The same data prints
 * `fffs help`, `fffs CMD --help` and the COMMANDS section of man/fffs.1, so
 * usage and manual cannot drift.
 *
 *	int cmd_x(int argc, char **argv) {
 *		struct cli_parse p;
 *		cli_parse_init(&p, &cmd, argc, argv);
 *		while ((rc = cli_next(&p)) > 0)
 *			... p.opt (NULL for a positional), p.val ...
 *		if (rc < 0) return 2;             // usage already printed
 *	}
 *
 * A command with CLI_DAEMON also takes the common daemon options
 * (cli_common_opts: --config, --set, --cores, --log-level, --cluster-id,
 * --secret-file, --node-id, --mgmtd, --metrics); cli_next() applies
 * them to the configuration itself (--config first, then the rest in
 * order) when parsing ends, and reports a bad key or value naming it.
 */
#ifndef BASE_CLI_H
#define BASE_CLI_H

#include <stdio.h>

#include "fffs.h"

struct cli_opt {
	const char *name; /* long name without "--" */
	const char *arg;  /* metavar, or NULL for a flag */
	const char *help;
};

enum cli_flags {
	CLI_DAEMON = 1u << 0,	 /* takes cli_common_opts */
	CLI_NOT_BUILT = 1u << 1, /* listed, but not in this build yet */
};

struct cli_cmd {
	const char *name;
	int (*fn)(const struct cli_cmd *cmd, int argc, char **argv);
	const char *args;    /* synopsis after the options, e.g. "MOUNTPOINT" */
	const char *summary; /* one line */
	const char *detail;  /* a paragraph for the manual, or NULL */
	const struct cli_opt *opts;
	unsigned flags;
};

extern const struct cli_opt cli_common_opts[];

struct cli_parse {
	const struct cli_cmd *cmd;
	int argc, i;
	char **argv;
	const struct cli_opt *opt; /* matched option, NULL for a positional */
	const char *val;	   /* its argument, or the positional */
	/* common options collected until the end of parsing */
	const char *config_file;
	const char **sets;
	int nsets;
};

void cli_parse_init(struct cli_parse *p, const struct cli_cmd *cmd, int argc,
		    char **argv);
/* 1: an option or positional is in p->opt/p->val; 0: done (common options
 * applied); -1: bad usage or configuration, already reported on stderr
 * (exit 2); --help prints usage on stdout and exits 0. */
int cli_next(struct cli_parse *p);
/* Compare p->opt to a name. */
bool cli_is(const struct cli_parse *p, const char *name);

/* Parse an unsigned/size number argument naming the option on error. */
int cli_u64(const struct cli_parse *p, uint64_t min, uint64_t max,
	    uint64_t *out);

void cli_usage_cmd(FILE *f, const struct cli_cmd *cmd);
void cli_usage_all(FILE *f, const struct cli_cmd *cmds, size_t n);
/* troff for the COMMANDS section of man/fffs.1. */
void cli_man_commands(FILE *f, const struct cli_cmd *cmds, size_t n);

#endif /* BASE_CLI_H */
