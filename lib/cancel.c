/*
 * cancel.c - one async-signal-safe flag that long library work polls (cancel.h).
 */
#include "cfbp/cancel.h"

#include <signal.h>

static volatile sig_atomic_t requested_signal;

void cfbp_cancel_request(int signal_number)
{
    requested_signal = signal_number > 0 ? signal_number : -1;
}

bool cfbp_cancel_requested(void)
{
    return requested_signal != 0;
}

int cfbp_cancel_signal(void)
{
    return requested_signal > 0 ? requested_signal : 0;
}

void cfbp_cancel_reset(void)
{
    requested_signal = 0;
}
