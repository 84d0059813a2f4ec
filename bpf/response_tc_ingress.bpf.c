// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * response_tc_ingress.bpf.c - intercept on the assistant where XDP does not fit (tcx ingress):
 * the same job as response_xdp.bpf.c at the tc hook.
 *
 * Matches: IPv4 TCP segments arriving on the interface whose (source address, source port) is
 *          in `response_rules` (address all zero = any address).
 * Emits:   one struct pr_response per matching segment into the ring buffer `responses`;
 *          per-CPU counters in `response_counters` (PR_CNT_*).
 * Returns: TC_ACT_SHOT only for a matching response when compiled with -DPR_DROP_RESPONSES=1
 *          (the assistant's black hole; at ingress nothing else is affected); TC_ACT_UNSPEC
 *          (tcx: next) on every other path.
 *
 * -D flags: PR_DROP_RESPONSES (0/1, default 0), PR_RING_PAGES (default 1024), PR_MAX_RULES (256).
 */
#include <uapi/linux/bpf.h>
#include <uapi/linux/pkt_cls.h>

#ifndef PR_DROP_RESPONSES
#define PR_DROP_RESPONSES 0
#endif

#define PR_CTX struct __sk_buff
#define PR_LOAD(ctx, off, buf, len) bpf_skb_load_bytes((ctx), (off), (buf), (len))
#define PR_FRAME_LEN(ctx) ((ctx)->len)
#define PR_IFINDEX(ctx) ((ctx)->ifindex)
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

int pyrpl_resp_tc_in(struct __sk_buff *skb)
{
    struct pr_response summary = {};

    pr_count(PR_CNT_SEEN);
    if (pr_summarize(skb, &summary) < 0)
        return TC_ACT_UNSPEC;
    if (!pr_rule_matches(&summary))
        return TC_ACT_UNSPEC;
    pr_count(PR_CNT_MATCHED);
    summary.ifindex = PR_IFINDEX(skb);
    summary.tstamp_ns = bpf_ktime_get_ns();
    pr_submit(&summary);
    if (PR_DROP_RESPONSES) {
        pr_count(PR_CNT_DROPPED);
        return TC_ACT_SHOT;
    }
    return TC_ACT_UNSPEC;
}
