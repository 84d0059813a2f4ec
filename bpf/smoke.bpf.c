// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * smoke.bpf.c - XDP smoke test: proves compile, load, attach and detach work here.
 *
 * Matches: every frame on the interface it is attached to.
 * Emits:   counts only, in the per-CPU array `smoke_counts`:
 *          [SMOKE_ALL] every frame, [SMOKE_IPV4] frames with a whole IPv4 header after Ethernet.
 * Returns: XDP_PASS on every path; it never drops, redirects or changes a frame.
 */
#include <uapi/linux/bpf.h>
#include <uapi/linux/if_ether.h>
#include <uapi/linux/ip.h>

#define SMOKE_ALL 0
#define SMOKE_IPV4 1

BPF_PERCPU_ARRAY(smoke_counts, u64, 2);

static __always_inline void count(u32 slot)
{
    u64 *counter = smoke_counts.lookup(&slot);
    if (counter)
        *counter += 1;
}

int smoke_xdp(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;

    count(SMOKE_ALL);
    if ((void *)(eth + 1) > data_end)
        return XDP_PASS;
    if (eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end)
        return XDP_PASS;
    count(SMOKE_IPV4);
    return XDP_PASS;
}
