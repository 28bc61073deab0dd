/* The subcommands of ibstream and what they share: their table, help text and
 * the one place an error becomes a message and an exit status. */
#ifndef IBS_TOOLS_CLI_H
#define IBS_TOOLS_CLI_H

#include "common/err.h"
#include "tools/options.h"

struct cli_cmd {
    const char *name;
    const char *summary;     /* one line for the command list */
    const char *usage;       /* "ibstream backup --repo URL [options]" */
    const char *description; /* paragraphs shown by 'ibstream help NAME' */
    const int *options;      /* opt_id list ending in -1 */
    /* argv[first_arg..argc) are the non-option arguments. */
    int (*run)(struct opts *o, int argc, char **argv, int first_arg, struct ibs_err *err);
};

/* Every command, NULL-terminated; a command is listed here only once it works. */
extern const struct cli_cmd *const cli_commands[];

const struct cli_cmd *cli_find(const char *name);
void cli_print_overview(void);
void cli_print_command_help(const struct cli_cmd *cmd);
/* The exit status table printed by the help (also in the manual page). */
const char *cli_exit_codes_text(void);

/* Applies --log-level/--log-format/--quiet; IBS_E_USAGE on a bad value. */
int cli_setup_logging(const struct opts *o, struct ibs_err *err);

extern const struct cli_cmd cmd_backup;
extern const struct cli_cmd cmd_restore;
extern const struct cli_cmd cmd_prepare;
extern const struct cli_cmd cmd_check;
extern const struct cli_cmd cmd_list;
extern const struct cli_cmd cmd_info;
extern const struct cli_cmd cmd_verify;
extern const struct cli_cmd cmd_expire;
extern const struct cli_cmd cmd_cleanup;
extern const struct cli_cmd cmd_doc;
extern const struct cli_cmd cmd_help;
extern const struct cli_cmd cmd_version;

#endif
