/* The command table, help output and logging set-up shared by all commands. */
#include "tools/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"

const struct cli_cmd *const cli_commands[] = {
    &cmd_backup,
    &cmd_restore,
    &cmd_prepare,
    &cmd_check,
    &cmd_list,
    &cmd_info,
    &cmd_verify,
    &cmd_expire,
    &cmd_cleanup,
    &cmd_doc,
    &cmd_help,
    &cmd_version,
    NULL,
};

const struct cli_cmd *cli_find(const char *name)
{
    for (const struct cli_cmd *const *c = cli_commands; *c; c++)
        if (strcmp((*c)->name, name) == 0)
            return *c;
    return NULL;
}

static const char exit_codes_text[] =
    "Exit status:\n"
    "  0 success          1 internal error     2 usage or configuration\n"
    "  3 cannot connect   4 server refused     5 storage (S3/directory)\n"
    "  6 integrity        7 repository locked  8 interrupted\n"
    "  9 local file I/O  10 no space          11 not found\n"
    " 12 redo log overwritten or unreadable\n";

void cli_print_overview(void)
{
    printf("ibstream: hot physical backups of MariaDB streamed to S3\n\n"
           "Usage: ibstream COMMAND [options]\n\nCommands:\n");
    for (const struct cli_cmd *const *c = cli_commands; *c; c++)
        printf("  %-10s %s\n", (*c)->name, (*c)->summary);
    printf("\nRun 'ibstream help COMMAND' for the options of a command.\n"
           "Options come from the command line, then IBSTREAM_<OPTION> environment\n"
           "variables, then the config file (--config, default %s),\n"
           "then built-in defaults, in that order of precedence.\n\n%s",
           IBS_DEFAULT_CONFIG_FILE, exit_codes_text);
}

const char *cli_exit_codes_text(void)
{
    return exit_codes_text;
}

static void print_option(int id)
{
    const struct opt_def *d = &opt_defs[id];
    char left[64], env[96];
    if (d->has_arg == required_argument)
        snprintf(left, sizeof(left), "--%s %s", d->name, d->metavar);
    else if (d->has_arg == optional_argument)
        snprintf(left, sizeof(left), "--%s[=%s]", d->name, d->metavar);
    else
        snprintf(left, sizeof(left), "--%s", d->name);
    printf("  %-28s %s", left, d->help);
    if (d->def)
        printf(" (default %s)", d->def);
    if (id != OPT_HELP && id != OPT_CONFIG) {
        opts_env_name(d->name, env, sizeof(env));
        printf(" [%s]", env);
    }
    printf("\n");
}

void cli_print_command_help(const struct cli_cmd *cmd)
{
    printf("Usage: %s\n\n%s\n", cmd->usage, cmd->summary);
    if (cmd->description && cmd->description[0])
        printf("\n%s\n", cmd->description);
    bool any = false;
    for (const int *a = cmd->options; *a >= 0; a++) {
        if (!any) {
            printf("\nOptions:\n");
            any = true;
        }
        print_option(*a);
    }
    printf("\nOptions of every command:\n");
    for (int id = 0; id < OPT__COUNT; id++)
        if (opt_defs[id].global)
            print_option(id);
    printf("\n%s", exit_codes_text);
}

int cli_setup_logging(const struct opts *o, struct ibs_err *err)
{
    enum ibs_log_level level = IBS_LOG_INFO;
    enum ibs_log_format format = IBS_LOG_TEXT;
    const char *v;

    if ((v = opts_str(o, OPT_LOG_LEVEL)) && ibs_log_level_parse(v, &level) != 0)
        return ibs_err_set(err, IBS_E_USAGE,
                           "--log-level: '%s' is not one of debug, info, warn, error", v);
    if (opts_bool(o, OPT_QUIET) && level < IBS_LOG_WARN)
        level = IBS_LOG_WARN;
    if ((v = opts_str(o, OPT_LOG_FORMAT)) && ibs_log_format_parse(v, &format) != 0)
        return ibs_err_set(err, IBS_E_USAGE, "--log-format: '%s' is not text or json", v);
    ibs_log_configure(level, format, stderr);
    return 0;
}
