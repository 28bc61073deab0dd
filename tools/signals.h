/* SIGINT/SIGTERM set a flag the engine polls, so an interrupted backup still
 * ends its BACKUP STAGE and removes what it stored; a second signal kills. */
#ifndef IBS_TOOLS_SIGNALS_H
#define IBS_TOOLS_SIGNALS_H

#include <stdatomic.h>

extern atomic_bool cli_interrupted;

void cli_install_signals(void);

#endif
