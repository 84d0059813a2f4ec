/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * pyreplay_wakeup.h - which records of a ring wake its reader: the map-free half of the
 * "Wake-ups" rule in pyreplay_capture.h and pyreplay_response.h, shared by every program.
 *
 * `silent` points at the ring's count of records written without a wake-up since the last
 * one (NULL: no count, every record uses the ring's own rule). Per record:
 *   int quiet = pr_silent_note(silent, may_wait);   before the ring reservation
 *   ... reserve, fill ...
 *   submit with pr_silent_flags(silent, quiet);
 * A record that may wait (a pure ACK) is written silently unless PR_SILENT_MAX are already
 * waiting; the next other record forces the wake-up and starts the count again.
 */
#ifndef PYREPLAY_WAKEUP_H
#define PYREPLAY_WAKEUP_H

#include <uapi/linux/bpf.h>
#include "pyreplay_abi.h"

/* 1 if this record is written without a wake-up; counted before the reservation, so that a
 * record reserved after this one sees the count. */
static __always_inline int pr_silent_note(__u32 *silent, int may_wait)
{
    if (!silent || !may_wait || *silent >= PR_SILENT_MAX)
        return 0;
    *silent += 1;
    return 1;
}

/* The submit flags of a record pr_silent_note() said `quiet` of. */
static __always_inline __u64 pr_silent_flags(__u32 *silent, int quiet)
{
    if (quiet)
        return BPF_RB_NO_WAKEUP;
    if (silent && *silent) {
        *silent = 0;
        return BPF_RB_FORCE_WAKEUP;
    }
    return 0;
}

#endif /* PYREPLAY_WAKEUP_H */
