// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * response_xdp.bpf.c - intercept on the assistant server: summarize the target's responses
 * routed here, for the copy processes; optionally black-hole them.
 *
 * Matches: IPv4 TCP segments whose (source address, source port) is in `response_rules`
 *          (address all zero = any address), i.e. intercept's -F filter as map entries.
 * Emits:   one struct pr_response per matching segment into the ring buffer `responses`
 *          (no payload; payload_len from the IP total length, so GRO frames count right);
 *          per-CPU counters in `response_counters` (PR_CNT_*).
 * Returns: XDP_DROP only for a matching response when compiled with -DPR_DROP_RESPONSES=1
 *          (the assistant is the responses' black hole, the explicitly configured drop of
 *          replayed responses); XDP_PASS on every other path.
 *
 * -D flags: PR_DROP_RESPONSES (0/1, default 0), PR_RING_PAGES (ring size in pages, power of
 *           two, default 1024), PR_MAX_RULES (default 256).
 */
#include <uapi/linux/bpf.h>

#ifndef PR_DROP_RESPONSES
#define PR_DROP_RESPONSES 0
#endif

#define PR_CTX struct xdp_md
#define PR_LOAD(ctx, off, buf, len) bpf_xdp_load_bytes((ctx), (off), (buf), (len))
#define PR_FRAME_LEN(ctx) ((__u32)bpf_xdp_get_buff_len(ctx))
#define PR_IFINDEX(ctx) ((ctx)->ingress_ifindex)
#include "pyreplay_response.h"
#include "pyreplay_wakeup.h"

#ifndef PR_RING_PAGES
#define PR_RING_PAGES 1024
#endif
#ifndef PR_MAX_RULES
#define PR_MAX_RULES 256
#endif

/* Per-CPU counters, slots PR_CNT_* of pyreplay_abi.h. */
BPF_PERCPU_ARRAY(response_counters, __u64, PR_CNT_MAX);
/* Summaries for user space (PR_RING_PAGES pages, a power of two). */
BPF_RINGBUF_OUTPUT(responses, PR_RING_PAGES);
/* Summaries written without waking intercept since its last wake-up (pyreplay_response.h). */
BPF_ARRAY(response_silent, __u32, 1);
/* Which responses to summarize: (source address, source port); address all zero = any. */
BPF_HASH(response_rules, struct pr_target_key, __u8, PR_MAX_RULES);

/* Map helpers stay in the main file (bcc rewrites map calls only there); same in both programs. */
static __always_inline void pr_count(__u32 slot)
{
    __u64 *counter = response_counters.lookup(&slot);
    if (counter)
        *counter += 1;
}

static __always_inline int pr_rule_matches(const struct pr_response *r)
{
    struct pr_target_key key = {};
    key.family = 4;
    key.port = r->sport;
    if (response_rules.lookup(&key))
        return 1;
    __builtin_memcpy(key.addr, r->saddr, 4);
    return response_rules.lookup(&key) != 0;
}

static __always_inline void pr_submit(const struct pr_response *summary)
{
    __u32 zero = 0;
    __u32 *silent = response_silent.lookup(&zero);
    int quiet = pr_silent_note(silent, pr_quiet_summary(summary)); /* before the reserve */
    struct pr_response *slot = responses.ringbuf_reserve(sizeof(struct pr_response));
    if (!slot) {
        pr_count(PR_CNT_LOST_RING_FULL);
        return;
    }
    __builtin_memcpy(slot, summary, sizeof(struct pr_response));
    responses.ringbuf_submit(slot, pr_silent_flags(silent, quiet));
    pr_count(PR_CNT_SUBMITTED);
}


int pyrpl_resp_xdp(struct xdp_md *ctx)
{
    struct pr_response summary = {};

    pr_count(PR_CNT_SEEN);
    if (pr_summarize(ctx, &summary) < 0)
        return XDP_PASS;
    if (!pr_rule_matches(&summary))
        return XDP_PASS;
    pr_count(PR_CNT_MATCHED);
    summary.ifindex = PR_IFINDEX(ctx);
    summary.tstamp_ns = bpf_ktime_get_ns();
    pr_submit(&summary);
    if (PR_DROP_RESPONSES) {
        pr_count(PR_CNT_DROPPED);
        return XDP_DROP;
    }
    return XDP_PASS;
}
