/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * pyreplay_response.h - summarize a target's TCP response into struct pr_response, and the
 * (source address, source port) rules that say which packets are responses. Shared by
 * response_xdp.bpf.c (assistant) and response_tc_egress.bpf.c (route-free, on the target).
 *
 * Only map-free code lives here: bcc rewrites map calls (`m.lookup()`) in the main file only,
 * so each program declares its maps and the small helpers that use them itself.
 * Before including, define:
 *   PR_CTX                           the program's context type (struct xdp_md / struct __sk_buff)
 *   PR_LOAD(ctx, off, buf, len)      bpf_xdp_load_bytes / bpf_skb_load_bytes
 *   PR_FRAME_LEN(ctx)                bytes in the whole frame, from the Ethernet header
 *   PR_IFINDEX(ctx)                  the interface the program runs on
 *
 * Every read goes through PR_LOAD into the stack, so the same code is correct for XDP (GRO
 * frames linearized by generic XDP, multi-buffer frames in native mode) and for tc at egress
 * (GSO skbs whose bytes need not be linear). Reads are bounded by constants the verifier sees.
 *
 * pr_summarize() mirrors pyreplay.packet.summary.summarize exactly: IPv4 only (IHL >= 5, not a
 * fragment, protocol TCP), TCP data offset >= 5 and within the frame; the IP total length gives
 * the payload length, or, when it is 0 (BIG TCP, merged frames over 64 KiB), the frame length;
 * a total length shorter than the headers is not a summary. Options are read like
 * parse_tcp_options(strict=False): stop at EOL or at the first malformed option, keep what was
 * read before. It returns 0 and fills *out when the packet is a summarizable IPv4/TCP segment.
 *
 * Wake-ups: a summary of a pure ACK (ACK alone, no payload, a window open) is written without
 * waking intercept (BPF_RB_NO_WAKEUP), to go to copy with the next summary: the target's ACK
 * of a request or of a FIN would otherwise cost intercept and copy a wake-up each. The
 * programs count them in `response_silent` (before reserving, so a record reserved after one
 * sees the count), and the next other summary, or the PR_SILENT_MAX+1st pure ACK in a row (an
 * upload acked by the target: copy's window must move), forces the wake-up. A race between
 * CPUs can leave a silent record for intercept's next timed wake-up (at most 50 ms).
 */
#ifndef PYREPLAY_RESPONSE_H
#define PYREPLAY_RESPONSE_H

#include <uapi/linux/bpf.h>
#include <uapi/linux/in.h>
#include <uapi/linux/if_ether.h>
#include <uapi/linux/ip.h>
#include <uapi/linux/tcp.h>
#include "pyreplay_abi.h"


#define PR_ETH_P_8021Q 0x8100
#define PR_ETH_P_8021AD 0x88A8
#define PR_ETH_P_QINQ 0x9100
#define PR_MAX_VLAN_TAGS 2
#define PR_TCP_OPT_MAX 40
#define PR_OPT_BUF 64 /* power of two >= PR_TCP_OPT_MAX: indices are masked with PR_OPT_BUF - 1 */

static __always_inline void pr_read_options(PR_CTX *ctx, __u32 offset, __u32 optlen,
                                            struct pr_response *out)
{
    __u8 buf[PR_OPT_BUF] = {};
    if (optlen == 0 || optlen > PR_TCP_OPT_MAX)
        return;
    /* The verifier needs the length's bounds from arithmetic it can follow: 1..64, == optlen. */
    if (PR_LOAD(ctx, offset, buf, ((optlen - 1) & (PR_OPT_BUF - 1)) + 1) < 0)
        return;
    __u32 i = 0;
    for (int step = 0; step < PR_TCP_OPT_MAX; step++) {
        if (i >= optlen)
            break;
        __u8 kind = buf[i & (PR_OPT_BUF - 1)];
        if (kind == 0) /* EOL */
            break;
        if (kind == 1) { /* NOP */
            i = (i + 1) & (PR_OPT_BUF - 1); /* i < 40 anyway: the mask keeps verifier states few */
            continue;
        }
        if (i + 1 >= optlen)
            break;
        __u32 len = buf[(i + 1) & (PR_OPT_BUF - 1)];
        if (len < 2 || i + len > optlen)
            break;
        if (kind == 2) { /* MSS */
            if (len != 4)
                break;
            out->mss = ((__u16)buf[(i + 2) & (PR_OPT_BUF - 1)] << 8) | buf[(i + 3) & (PR_OPT_BUF - 1)];
            out->opt_bits |= PR_OPT_MSS;
        } else if (kind == 3) { /* window scale */
            if (len != 3)
                break;
            out->wscale = buf[(i + 2) & (PR_OPT_BUF - 1)];
            out->opt_bits |= PR_OPT_WSCALE;
        } else if (kind == 4) { /* SACK permitted */
            if (len != 2)
                break;
            out->opt_bits |= PR_OPT_SACK_PERM;
        } else if (kind == 8) { /* timestamps */
            if (len != 10)
                break;
            __u32 tsval = 0, tsecr = 0;
            for (int b = 0; b < 4; b++) {
                tsval = (tsval << 8) | buf[(i + 2 + b) & (PR_OPT_BUF - 1)];
                tsecr = (tsecr << 8) | buf[(i + 6 + b) & (PR_OPT_BUF - 1)];
            }
            out->tsval = tsval;
            out->tsecr = tsecr;
            out->opt_bits |= PR_OPT_TS;
        }
        i = (i + len) & (PR_OPT_BUF - 1);
    }
}

/* 0 and *out filled for a summarizable IPv4/TCP segment; -1 for anything else. */
static __always_inline int pr_summarize(PR_CTX *ctx, struct pr_response *out)
{
    struct ethhdr eth;
    __u32 offset = sizeof(eth);
    if (PR_LOAD(ctx, 0, &eth, sizeof(eth)) < 0)
        return -1;
    __u16 proto = eth.h_proto;
    for (int tag = 0; tag < PR_MAX_VLAN_TAGS; tag++) {
        if (proto != bpf_htons(PR_ETH_P_8021Q) && proto != bpf_htons(PR_ETH_P_8021AD) &&
            proto != bpf_htons(PR_ETH_P_QINQ))
            break;
        __u16 inner[2];
        if (PR_LOAD(ctx, offset, inner, sizeof(inner)) < 0)
            return -1;
        proto = inner[1];
        offset += 4;
    }
    if (proto != bpf_htons(ETH_P_IP))
        return -1;

    struct iphdr ip;
    if (PR_LOAD(ctx, offset, &ip, sizeof(ip)) < 0)
        return -1;
    __u32 ihl = ip.ihl * 4;
    if (ip.version != 4 || ihl < 20 || ip.protocol != IPPROTO_TCP)
        return -1;
    if (ip.frag_off & bpf_htons(0x3FFF)) /* MF or a fragment offset */
        return -1;
    __u32 l3_len = PR_FRAME_LEN(ctx) - offset;
    if (PR_FRAME_LEN(ctx) < offset + ihl + 20)
        return -1;
    __u32 tcp_offset = offset + ihl;

    struct tcphdr tcp;
    if (PR_LOAD(ctx, tcp_offset, &tcp, sizeof(tcp)) < 0)
        return -1;
    __u32 doff = tcp.doff * 4;
    if (doff < 20 || ihl + doff > l3_len)
        return -1;
    __u32 total = bpf_ntohs(ip.tot_len);
    if (total == 0)
        total = l3_len;
    if (total < ihl + doff)
        return -1;

    out->kind = PR_KIND_RESPONSE;
    out->family = 4;
    out->tcp_flags = ((__u8 *)&tcp)[13];
    __builtin_memcpy(out->saddr, &ip.saddr, 4);
    __builtin_memcpy(out->daddr, &ip.daddr, 4);
    out->sport = bpf_ntohs(tcp.source);
    out->dport = bpf_ntohs(tcp.dest);
    out->seq = bpf_ntohl(tcp.seq);
    out->ack = bpf_ntohl(tcp.ack_seq);
    out->window = bpf_ntohs(tcp.window);
    out->payload_len = total - ihl - doff;
    pr_read_options(ctx, tcp_offset + 20, doff - 20, out);
    return 0;
}

/* A summary that may wait for the next one (see "Wake-ups" above). */
static __always_inline int pr_quiet_summary(const struct pr_response *r)
{
    return (r->tcp_flags & 0x17) == 0x10 /* ACK; not SYN, FIN, RST */ && r->payload_len == 0
        && r->window != 0;
}

#endif /* PYREPLAY_RESPONSE_H */
