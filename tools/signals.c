/* Interrupt handling (see signals.h). */
#include "tools/signals.h"

#include <signal.h>
#include <stdbool.h>
#include <string.h>

atomic_bool cli_interrupted;

static void on_signal(int sig)
{
    if (atomic_exchange(&cli_interrupted, true)) {
        signal(sig, SIG_DFL);
        raise(sig);
    }
}

void cli_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}
