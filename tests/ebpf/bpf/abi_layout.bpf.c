// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * abi_layout.bpf.c - test only: exposes the ABI structs as map value types, so bcc describes
 * their layout (ctypes classes) and a test compares it with pyreplay.ebpf.abi.
 * Also exercises pyreplay_parse.h through the verifier: for an Ethernet/IPv4-or-IPv6/TCP frame
 * it stores the parsed options in abi_tcp_opts[0] and the L4 payload offset in abi_offsets[0].
 * Returns XDP_PASS on every path.
 */
#include <uapi/linux/bpf.h>
#include <uapi/linux/if_ether.h>
#include <uapi/linux/in.h>
#include <uapi/linux/ip.h>
#include <uapi/linux/ipv6.h>
#include <uapi/linux/tcp.h>
#include "pyreplay_abi.h"
#include "pyreplay_parse.h"

BPF_ARRAY(abi_packet, struct pr_packet, 1);
BPF_ARRAY(abi_response, struct pr_response, 1);
BPF_ARRAY(abi_target_key, struct pr_target_key, 1);
BPF_ARRAY(abi_tcp_opts, struct pr_tcp_opts, 1);

BPF_ARRAY(abi_offsets, u32, 1);

int abi_layout(struct xdp_md *ctx)
{
    struct pr_cursor c = {.pos = (void *)(long)ctx->data, .end = (void *)(long)ctx->data_end};
    void *start = c.pos;
    __be16 proto;
    if (!pr_parse_eth(&c, &proto))
        return XDP_PASS;
    if (proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *ip = pr_parse_ipv4(&c);
        if (!ip || ip->protocol != IPPROTO_TCP)
            return XDP_PASS;
    } else if (proto == bpf_htons(ETH_P_IPV6)) {
        if (!pr_parse_ipv6(&c))
            return XDP_PASS;
    } else {
        return XDP_PASS;
    }
    struct tcphdr *tcp = pr_parse_tcp(&c);
    if (!tcp)
        return XDP_PASS;
    struct pr_tcp_opts opts = {};
    pr_parse_tcp_options(tcp, c.end, &opts);
    u32 zero = 0;
    abi_tcp_opts.update(&zero, &opts);
    u32 offset = c.pos - start;
    abi_offsets.update(&zero, &offset);
    return XDP_PASS;
}
