// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * smoke_tcx.bpf.c - tc (tcx) smoke test: proves a tcx link attaches, sees traffic and detaches.
 *
 * Matches: every packet passing the tc hook (ingress or egress) it is attached to.
 * Emits:   a count of packets in the per-CPU array `smoke_tcx_counts`, slot 0.
 * Returns: TC_ACT_UNSPEC (= TCX_NEXT) on every path, so later programs and the stack proceed
 *          as if this program were not there.
 */
#include <uapi/linux/bpf.h>
#include <uapi/linux/pkt_cls.h>

BPF_PERCPU_ARRAY(smoke_tcx_counts, u64, 1);

int smoke_tcx(struct __sk_buff *skb)
{
    u32 slot = 0;
    u64 *counter = smoke_tcx_counts.lookup(&slot);
    if (counter)
        *counter += 1;
    return TC_ACT_UNSPEC;
}
