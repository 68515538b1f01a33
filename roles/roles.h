/* roles/roles.h - entry points of the subcommands, for fffs.c's table.
 *
 * Each cmd_<role>(cmd, argc, argv) parses its own options with base/cli.h
 * (argv[0] is the command name) and returns the process exit status:
 * 0 success, 1 failure, 2 bad usage.
 */
#ifndef ROLES_ROLES_H
#define ROLES_ROLES_H

#include "base/cli.h"

extern const struct cli_opt admin_opts[];
extern const struct cli_opt bench_opts[];
extern const struct cli_opt meta_opts[];
extern const struct cli_opt mgmtd_opts[];
extern const struct cli_opt lab_opts[];
extern const struct cli_opt mount_opts[];
extern const struct cli_opt no_opts[];
extern const struct cli_opt storage_opts[];

int cmd_admin(const struct cli_cmd *cmd, int argc, char **argv);
int cmd_bench(const struct cli_cmd *cmd, int argc, char **argv);
int cmd_meta(const struct cli_cmd *cmd, int argc, char **argv);
int cmd_mgmtd(const struct cli_cmd *cmd, int argc, char **argv);
int cmd_lab(const struct cli_cmd *cmd, int argc, char **argv);
int cmd_mount(const struct cli_cmd *cmd, int argc, char **argv);
int cmd_storage(const struct cli_cmd *cmd, int argc, char **argv);
int cmd_version(const struct cli_cmd *cmd, int argc, char **argv);
/* The roles of later milestones: say so and exit 2. */
int cmd_not_built(const struct cli_cmd *cmd, int argc, char **argv);

/* Shared start-up of every process that talks RPC: log role, fault
 * points, secret, identity. Returns 0, or the exit status (1, or 2 for bad
 * configuration) after printing why. */
int role_net_setup(const char *role_name, int role);

#endif /* ROLES_ROLES_H */
