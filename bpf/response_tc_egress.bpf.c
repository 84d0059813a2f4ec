// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * response_tc_egress.bpf.c - route-free intercept on the target itself (tcx egress): summarize
 * the target's responses to the replayed clients and swallow them before they reach the wire.
 *
 * Matches: IPv4 TCP segments leaving the interface whose destination is in the client pool
 *          (`pool_prefixes`, an LPM trie of IPv4 prefixes) and whose (source address, source
 *          port) is in `response_rules` (address all zero = any address).
 * Emits:   one struct pr_response per matching segment into the ring buffer `responses`;
 *          per-CPU counters in `response_counters` (PR_CNT_*).
 * Returns: for a matching response, when compiled with -DPR_SWALLOW_RESPONSES=1, the result of
 *          bpf_redirect(PR_DISCARD_IFINDEX, 0): the segment goes to the namespace's loopback
 *          (ifindex 1), whose stack drops a non-local destination (ip_forward=0). The target's
 *          TCP counts it as sent. Not TC_ACT_SHOT (TCP would treat the segment as unsent and
 *          the replay stalls), not TC_ACT_STOLEN (tcx treats it as "next": the response leaks).
 *          TC_ACT_UNSPEC (tcx: next) on every other path.
 *
 * -D flags: PR_SWALLOW_RESPONSES (0/1, default 0), PR_DISCARD_IFINDEX (default 1, loopback),
 *           PR_RING_PAGES (default 1024), PR_MAX_RULES (default 256), PR_MAX_POOL_PREFIXES (64).
 */
#include <uapi/linux/bpf.h>
#include <uapi/linux/pkt_cls.h>

#ifndef PR_SWALLOW_RESPONSES
#define PR_SWALLOW_RESPONSES 0
#endif
#ifndef PR_DISCARD_IFINDEX
#define PR_DISCARD_IFINDEX 1
#endif
#ifndef PR_MAX_POOL_PREFIXES
#define PR_MAX_POOL_PREFIXES 64
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

struct pr_pool_key {
    __u32 prefixlen;
    __u8 addr[4]; /* network order */
};

BPF_LPM_TRIE(pool_prefixes, struct pr_pool_key, __u8, PR_MAX_POOL_PREFIXES);

int pyrpl_resp_tc(struct __sk_buff *skb)
{
    struct pr_response summary = {};

    pr_count(PR_CNT_SEEN);
    if (pr_summarize(skb, &summary) < 0)
        return TC_ACT_UNSPEC;
    struct pr_pool_key pool = {.prefixlen = 32};
    __builtin_memcpy(pool.addr, summary.daddr, 4);
    if (!pool_prefixes.lookup(&pool))
        return TC_ACT_UNSPEC;
    if (!pr_rule_matches(&summary))
        return TC_ACT_UNSPEC;
    pr_count(PR_CNT_MATCHED);
    summary.ifindex = PR_IFINDEX(skb);
    summary.tstamp_ns = bpf_ktime_get_ns();
    pr_submit(&summary);
    if (PR_SWALLOW_RESPONSES) {
        pr_count(PR_CNT_DROPPED);
        return bpf_redirect(PR_DISCARD_IFINDEX, 0);
    }
    return TC_ACT_UNSPEC;
}
