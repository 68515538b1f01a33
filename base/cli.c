/* base/cli.c - option parsing, usage and manual text from the command table. */
#define LOG_SUBSYS "cli"
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "base/config.h"

const struct cli_opt cli_common_opts[] = {
	{ "config", "FILE", "Read configuration keys from a JSON file." },
	{ "set", "KEY=VALUE", "Set one configuration key (repeatable)." },
	{ "cores", "N", "Number of io_uring event loop threads." },
	{ "log-level", "LEVEL", "error, warn, info, debug or trace." },
	{ "cluster-id", "NAME", "Cluster this process belongs to." },
	{ "secret-file", "FILE", "File with the cluster secret." },
	{ "node-id", "N", "Node id of this process." },
	{ "mgmtd", "URI", "Address of the cluster manager, tcp://HOST:PORT." },
	{ "metrics", "URI",
	  "Serve Prometheus metrics on http at tcp://HOST:PORT/metrics." },
	{ NULL, NULL, NULL },
};

/* Common options that are plain config keys: option name -> key. The
 * daemon-only option --listen joins this table with the first daemon that
 * serves it. */
static const char *common_key(const char *opt)
{
	static const char *const map[][2] = {
		{ "cores", "cores" },
		{ "log-level", "log_level" },
		{ "cluster-id", "cluster_id" },
		{ "secret-file", "secret_file" },
		{ "node-id", "node_id" },
		{ "mgmtd", "mgmtd" },
		{ "metrics", "metrics" },
	};

	for (size_t i = 0; i < FFFS_ARRAY_LEN(map); i++)
		if (!strcmp(opt, map[i][0]))
			return map[i][1];
	return NULL;
}

void cli_parse_init(struct cli_parse *p, const struct cli_cmd *cmd, int argc,
		    char **argv)
{
	memset(p, 0, sizeof(*p));
	p->cmd = cmd;
	p->argc = argc;
	p->argv = argv;
	p->i = 1;
}

bool cli_is(const struct cli_parse *p, const char *name)
{
	return p->opt && !strcmp(p->opt->name, name);
}

static const struct cli_opt *find_opt(const struct cli_opt *opts,
				      const char *name, size_t len)
{
	for (; opts && opts->name; opts++)
		if (strlen(opts->name) == len &&
		    !strncmp(opts->name, name, len))
			return opts;
	return NULL;
}

static int usage_error(struct cli_parse *p, const char *fmt, ...)
	FFFS_PRINTF(2, 3);

static int usage_error(struct cli_parse *p, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fffs %s: ", p->cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cli_usage_cmd(stderr, p->cmd);
	free(p->sets);
	p->sets = NULL;
	return -1;
}

/* End of parsing: --config first, then every other common option and
 * --set in command-line order. */
static int apply_common(struct cli_parse *p)
{
	char err[512];
	int rc = 0;

	if (p->config_file &&
	    config_load_file(p->config_file, err, sizeof(err)))
		rc = -1;
	for (int i = 0; !rc && i < p->nsets; i++)
		if (config_set_kv(p->sets[i], err, sizeof(err)))
			rc = -1;
	for (int i = 0; i < p->nsets; i++)
		free((void *)p->sets[i]);
	free(p->sets);
	p->sets = NULL;
	if (rc)
		fprintf(stderr, "fffs %s: %s\n", p->cmd->name, err);
	return rc;
}

static void add_set(struct cli_parse *p, const char *kv)
{
	p->sets = xrealloc(p->sets, sizeof(*p->sets) * (size_t)(p->nsets + 1));
	p->sets[p->nsets++] = xstrdup(kv);
}

/* A common daemon option: remember it for apply_common(). */
static void take_common(struct cli_parse *p)
{
	const char *key = common_key(p->opt->name);

	if (!strcmp(p->opt->name, "config"))
		p->config_file = p->val;
	else if (!strcmp(p->opt->name, "set"))
		add_set(p, p->val);
	else {
		char *kv = xasprintf("%s=%s", key, p->val);

		add_set(p, kv);
		free(kv);
	}
}

int cli_next(struct cli_parse *p)
{
	const char *a, *eq;
	size_t len;
	bool common;

	for (;;) {
		if (p->i >= p->argc)
			return apply_common(p) ? -1 : 0;
		a = p->argv[p->i++];
		p->opt = NULL;
		p->val = a;
		if (strncmp(a, "--", 2) || !a[2])
			return 1; /* positional ("--" alone too) */
		a += 2;
		if (!strcmp(a, "help")) {
			cli_usage_cmd(stdout, p->cmd);
			exit(0);
		}
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a) : strlen(a);
		p->opt = find_opt(p->cmd->opts, a, len);
		common = false;
		if (!p->opt && (p->cmd->flags & CLI_DAEMON)) {
			p->opt = find_opt(cli_common_opts, a, len);
			common = p->opt != NULL;
		}
		if (!p->opt)
			return usage_error(p, "unknown option '%s'",
					   p->argv[p->i - 1]);
		if (!p->opt->arg) {
			if (eq)
				return usage_error(p,
						   "option '--%s' takes no "
						   "value",
						   p->opt->name);
			p->val = NULL;
		} else if (eq) {
			p->val = eq + 1;
		} else if (p->i < p->argc) {
			p->val = p->argv[p->i++];
		} else {
			return usage_error(p, "option '--%s' needs a value",
					   p->opt->name);
		}
		if (!common)
			return 1;
		take_common(p);
	}
}

int cli_u64(const struct cli_parse *p, uint64_t min, uint64_t max,
	    uint64_t *out)
{
	char *end;
	uint64_t v, mul = 1;

	errno = 0;
	v = strtoull(p->val, &end, 0);
	switch (*end) {
	case 'k':
	case 'K':
		mul = 1ull << 10;
		end++;
		break;
	case 'm':
	case 'M':
		mul = 1ull << 20;
		end++;
		break;
	case 'g':
	case 'G':
		mul = 1ull << 30;
		end++;
		break;
	default:
		break;
	}
	if (errno || end == p->val || *end || p->val[0] == '-' ||
	    (v && mul > UINT64_MAX / v) || v * mul < min || v * mul > max) {
		fprintf(stderr,
			"fffs %s: option '--%s': '%s' is not a number in "
			"%llu..%llu\n",
			p->cmd->name, p->opt ? p->opt->name : "?", p->val,
			(unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	*out = v * mul;
	return 0;
}

/* ---- usage and manual ------------------------------------------------------
 */

static void usage_opts(FILE *f, const struct cli_opt *o)
{
	char left[64];

	for (; o && o->name; o++) {
		snprintf(left, sizeof(left), "--%s%s%s", o->name,
			 o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(f, "  %-28s %s\n", left, o->help);
	}
}

void cli_usage_cmd(FILE *f, const struct cli_cmd *cmd)
{
	fprintf(f, "usage: fffs %s [options]%s%s\n\n%s\n", cmd->name,
		cmd->args ? " " : "", cmd->args ? cmd->args : "", cmd->summary);
	if (cmd->flags & CLI_NOT_BUILT)
		fprintf(f, "(not built yet in this version)\n");
	fprintf(f, "\noptions:\n");
	usage_opts(f, cmd->opts);
	if (cmd->flags & CLI_DAEMON)
		usage_opts(f, cli_common_opts);
	fprintf(f, "  %-28s %s\n", "--help", "Show this help.");
}

void cli_usage_all(FILE *f, const struct cli_cmd *cmds, size_t n)
{
	fprintf(f, "usage: fffs COMMAND [options] [args]\n\ncommands:\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-10s %s%s\n", cmds[i].name, cmds[i].summary,
			cmds[i].flags & CLI_NOT_BUILT ? " (not built yet)"
						      : "");
	fprintf(f, "\n'fffs COMMAND --help' shows a command's options; "
		   "'fffs help config' the configuration keys; "
		   "man fffs the rest.\n");
}

/* troff text: escape backslashes and hyphens. */
static void troff_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

static void man_opts(FILE *f, const struct cli_opt *o)
{
	for (; o && o->name; o++) {
		fputs(".TP\n.B \\-\\-", f);
		troff_text(f, o->name);
		if (o->arg) {
			fputs(" \\fI", f);
			troff_text(f, o->arg);
			fputs("\\fR", f);
		}
		fputc('\n', f);
		troff_text(f, o->help);
		fputc('\n', f);
	}
}

void cli_man_commands(FILE *f, const struct cli_cmd *cmds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct cli_cmd *c = &cmds[i];

		fprintf(f, ".SS \"fffs %s", c->name);
		if (c->args) {
			fputc(' ', f);
			troff_text(f, c->args);
		}
		fputs("\"\n", f);
		troff_text(f, c->summary);
		fputs(c->flags & CLI_NOT_BUILT
			      ? " Not built yet in this "
				"version: exits with status 2.\n"
			      : "\n",
		      f);
		if (c->detail) {
			fputs(".PP\n", f);
			troff_text(f, c->detail);
			fputc('\n', f);
		}
		man_opts(f, c->opts);
		if (c->flags & CLI_DAEMON)
			fputs(".PP\nAlso takes the common daemon options "
			      "(see DAEMON OPTIONS).\n",
			      f);
	}
	fputs(".SH \"DAEMON OPTIONS\"\n", f);
	man_opts(f, cli_common_opts);
}
