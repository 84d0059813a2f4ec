// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * capture_xdp.bpf.c - request capture for `pyreplay copy --xdp IFACE` (generic or native XDP).
 *
 * Matches: IPv4 TCP frames (Ethernet, up to two VLAN tags) to an address/port in `pr_targets`
 *          (the -x online side; port-only entries match any address).
 * Emits:   struct pr_packet + the L3 packet (up to PR_CAPTURE_MAX bytes, real length in pkt_len)
 *          into ring pr_ring<fmix32(client addr, port) % PR_RINGS>; counters in pr_counters.
 *          See bpf/include/pyreplay_capture.h.
 * Returns: XDP_PASS on every path; it never drops, redirects or changes a frame.
 */
#include <uapi/linux/bpf.h>
#include <uapi/linux/if_ether.h>
#include <uapi/linux/in.h>
#include <uapi/linux/ip.h>
#include <uapi/linux/ipv6.h>
#include <uapi/linux/tcp.h>

#include "pyreplay_capture.h"
#include "pyreplay_wakeup.h"

#define PR_LOAD_BYTES bpf_xdp_load_bytes

/* ---- map glue: identical in capture_xdp.bpf.c and capture_tc.bpf.c (bcc rewrites map calls
 * only in the main file); everything map-free is in pyreplay_capture.h. ---- */
static __always_inline void pr_count(__u32 slot)
{
    __u64 *counter = pr_counters.lookup(&slot);
    if (counter)
        *counter += 1;
}

static __always_inline int pr_target_match(__be32 daddr, __u16 dport)
{
    struct pr_target_key key;
    pr_target_key_v4(&key, daddr, dport);
    if (pr_targets.lookup(&key))
        return 1;
    pr_target_key_v4(&key, 0, dport);
    return pr_targets.lookup(&key) != NULL;
}

/* The ring's wake-up flags for a record (see "Wake-ups" in pyreplay_capture.h). */
static __always_inline __u64 pr_wakeup_flags(__u32 shard, int pure_ack)
{
    __u32 *silent = pr_silent.lookup(&shard);
    return pr_silent_flags(silent, pr_silent_note(silent, pure_ack));
}

static __always_inline int pr_ring_output(__u32 shard, void *record, __u64 size, __u64 flags)
{
    switch (shard) {
#if PR_RINGS > 1
    case 1: return pr_ring1.ringbuf_output(record, size, flags);
#endif
#if PR_RINGS > 2
    case 2: return pr_ring2.ringbuf_output(record, size, flags);
#endif
#if PR_RINGS > 3
    case 3: return pr_ring3.ringbuf_output(record, size, flags);
#endif
#if PR_RINGS > 4
    case 4: return pr_ring4.ringbuf_output(record, size, flags);
#endif
#if PR_RINGS > 5
    case 5: return pr_ring5.ringbuf_output(record, size, flags);
#endif
#if PR_RINGS > 6
    case 6: return pr_ring6.ringbuf_output(record, size, flags);
#endif
#if PR_RINGS > 7
    case 7: return pr_ring7.ringbuf_output(record, size, flags);
#endif
    default: return pr_ring0.ringbuf_output(record, size, flags);
    }
}

/* Match, copy and submit one frame (data..data_end readable, frame_len its whole length). */
static __always_inline void pr_capture(void *ctx, void *data, void *data_end, __u32 frame_len,
                                       __u32 ifindex)
{
    struct pr_capture_info info;
    pr_count(PR_CNT_SEEN);
    if (!pr_capture_parse(data, data_end, &info))
        return;
    if (!pr_target_match(info.daddr, info.dport))
        return;
    pr_count(PR_CNT_MATCHED);
    __u32 cpu = bpf_get_smp_processor_id();
    struct pr_scratch *scratch = pr_scratch.lookup(&cpu);
    if (!scratch || frame_len <= info.l3_offset) {
        pr_count(PR_CNT_LOST_RING_FULL); /* no buffer: lost, and counted like a full ring */
        return;
    }
    __u32 pkt_len = frame_len - info.l3_offset;
    __u32 cap_len = pr_cap_len(pkt_len);
    if (PR_LOAD_BYTES(ctx, info.l3_offset, scratch->data, cap_len) < 0) {
        pr_count(PR_CNT_LOST_RING_FULL);
        return;
    }
    pr_fill_header(&scratch->hdr, ifindex, pkt_len, cap_len);
    if (cap_len < pkt_len)
        pr_count(PR_CNT_TRUNCATED);
    __u32 shard = pr_client_shard(info.saddr, info.sport, PR_RINGS);
    __u64 flags = pr_wakeup_flags(shard, info.pure_ack);
    if (pr_ring_output(shard, scratch, sizeof(struct pr_packet) + cap_len, flags) < 0)
        pr_count(PR_CNT_LOST_RING_FULL);
    else
        pr_count(PR_CNT_SUBMITTED);
}
/* ---- end of map glue ---- */

int pr_capture_xdp(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    /* the whole frame, fragments of multi-buffer frames included */
    __u32 frame_len = bpf_xdp_get_buff_len(ctx);
    pr_capture(ctx, data, data_end, frame_len, ctx->ingress_ifindex);
    return XDP_PASS;
}
