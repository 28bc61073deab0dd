/* ibstream help [COMMAND] */
#include <stdio.h>

#include "tools/cli.h"

static const int help_options[] = {OPT_HELP, -1};

static int run_help(struct opts *o, int argc, char **argv, int first_arg, struct ibs_err *err)
{
    if (first_arg >= argc) {
        cli_print_overview();
        return 0;
    }
    const struct cli_cmd *cmd = cli_find(argv[first_arg]);
    if (!cmd)
        return ibs_err_set(err, IBS_E_USAGE, "no command '%s' (see 'ibstream help')",
                           argv[first_arg]);
    cli_print_command_help(cmd);
    return 0;
}

const struct cli_cmd cmd_help = {
    .name = "help",
    .summary = "show the commands, or the options of one command",
    .usage = "ibstream help [COMMAND]",
    .description = NULL,
    .options = help_options,
    .run = run_help,
};
