/* ibstream: entry point. Finds the subcommand, loads its options, runs it and
 * turns a failure into one line on stderr and a documented exit status. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/log.h"
#include "tools/cli.h"
#include "tools/metrics.h"

/* The command the user most likely meant, for the hint after a typo. */
static const char *closest_command(const char *typed)
{
    const char *best = NULL;
    size_t best_common = 0;
    for (const struct cli_cmd *const *c = cli_commands; *c; c++) {
        size_t common = 0;
        while (typed[common] && typed[common] == (*c)->name[common])
            common++;
        if (common > best_common) {
            best_common = common;
            best = (*c)->name;
        }
    }
    return best_common >= 2 ? best : NULL;
}

static int fail(const struct ibs_err *err)
{
    char line[IBS_ERR_MSG_MAX + 64];
    ibs_log_redact(err->msg, line, sizeof(line));
    fprintf(stderr, "ibstream: error: %s\n", line);
    return err->code ? (int)err->code : IBS_E_INTERNAL;
}

int main(int argc, char **argv)
{
    struct ibs_err err;
    struct opts o;
    int first_arg = 0;
    int rc;

    ibs_err_clear(&err);
    if (argc < 2) {
        cli_print_overview();
        return IBS_E_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        name = "help";
    else if (strcmp(name, "--version") == 0)
        name = "version";

    const struct cli_cmd *cmd = cli_find(name);
    if (!cmd) {
        const char *guess = closest_command(name);
        if (name[0] == '-')
            ibs_err_set(&err, IBS_E_USAGE,
                        "unknown option '%s': options follow the command (see 'ibstream help')",
                        name);
        else if (guess)
            ibs_err_set(&err, IBS_E_USAGE,
                        "unknown command '%s' (did you mean '%s'? see 'ibstream help')", name,
                        guess);
        else
            ibs_err_set(&err, IBS_E_USAGE, "unknown command '%s' (see 'ibstream help')", name);
        return fail(&err);
    }

    rc = opts_load(&o, cmd->name, cmd->options, argc - 1, argv + 1, &first_arg, &err);
    if (rc)
        goto out;
    if (opts_bool(&o, OPT_HELP)) {
        cli_print_command_help(cmd);
        goto out;
    }
    rc = cli_setup_logging(&o, &err);
    if (!rc)
        rc = cli_ops_begin(&o, cmd->name, &err);
    if (rc)
        goto out;
    struct timespec started;
    clock_gettime(CLOCK_MONOTONIC, &started);
    rc = cmd->run(&o, argc - 1, argv + 1, first_arg, &err);
    cli_ops_end(&o, cmd->name, rc, &err, &started);
out:
    opts_free(&o);
    if (rc)
        rc = fail(&err);
    ibs_log_forget_secrets();
    return rc;
}
