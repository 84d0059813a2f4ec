/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * pyreplay_parse.h - bounds-checked cursor parsing of Ethernet (with up to 2 VLAN tags),
 * IPv4, IPv6 (fixed header only), TCP and TCP options, for XDP and tc programs alike.
 *
 * A cursor is (pos, end) over directly accessible packet memory (XDP: ctx->data..data_end;
 * tc: skb->data..data_end after pr_tc_cursor()). Every helper checks bounds against `end`
 * before it reads, advances `pos` only on success, and returns 0 / NULL on anything short,
 * malformed or unsupported, so callers can return PASS on every failure.
 *
 * Needs, before inclusion: <uapi/linux/bpf.h>, <uapi/linux/if_ether.h>, <uapi/linux/in.h>,
 * <uapi/linux/ip.h>, <uapi/linux/ipv6.h>, <uapi/linux/tcp.h>.
 */
#ifndef PYREPLAY_PARSE_H
#define PYREPLAY_PARSE_H

#ifndef NULL
#define NULL ((void *)0)
#endif

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif
#ifndef ETH_P_8021Q
#define ETH_P_8021Q 0x8100
#endif

/* Options are parsed for at most this many entries (NOPs count); real stacks use <= 8. */
#ifndef PR_TCP_OPT_ITER
#define PR_TCP_OPT_ITER 16
#endif

struct pr_cursor {
    void *pos;
    void *end;
};

struct pr_vlan_hdr {
    __be16 tci;
    __be16 encapsulated_proto;
};

/* TCP options the replay needs; bits use PR_OPT_* from pyreplay_abi.h. */
struct pr_tcp_opts {
    __u8 bits;
    __u8 wscale;
    __u16 mss;
    __u32 tsval;
    __u32 tsecr;
};

/* Ethernet plus up to two VLAN tags; *proto gets the inner ethertype (network order).
 * Returns the L3 offset from the frame start (14, 18 or 22: a verifier-bounded constant) or 0. */
static __always_inline __u32 pr_parse_eth(struct pr_cursor *c, __be16 *proto)
{
    struct ethhdr *eth = c->pos;
    if ((void *)(eth + 1) > c->end)
        return 0;
    __be16 p = eth->h_proto;
    void *pos = eth + 1;
    __u32 offset = sizeof(*eth);
#pragma unroll
    for (int i = 0; i < 2; i++) {
        if (p != bpf_htons(ETH_P_8021Q) && p != bpf_htons(ETH_P_8021AD))
            break;
        struct pr_vlan_hdr *vlan = pos;
        if ((void *)(vlan + 1) > c->end)
            return 0;
        p = vlan->encapsulated_proto;
        pos = vlan + 1;
        offset += sizeof(*vlan);
    }
    c->pos = pos;
    *proto = p;
    return offset;
}

/* IPv4 header with options; NULL for non-first fragments (no TCP header there). */
static __always_inline struct iphdr *pr_parse_ipv4(struct pr_cursor *c)
{
    struct iphdr *ip = c->pos;
    if ((void *)(ip + 1) > c->end)
        return NULL;
    if (ip->version != 4 || ip->ihl < 5)
        return NULL;
    if (ip->frag_off & bpf_htons(0x1FFF))
        return NULL;
    __u32 hlen = ip->ihl * 4;
    if (c->pos + hlen > c->end)
        return NULL;
    c->pos += hlen;
    return ip;
}

/* IPv6 fixed header; extension headers are not followed (NULL unless next header is TCP). */
static __always_inline struct ipv6hdr *pr_parse_ipv6(struct pr_cursor *c)
{
    struct ipv6hdr *ip6 = c->pos;
    if ((void *)(ip6 + 1) > c->end)
        return NULL;
    if (ip6->version != 6 || ip6->nexthdr != IPPROTO_TCP)
        return NULL;
    c->pos = ip6 + 1;
    return ip6;
}

/* TCP header including options; c->pos ends at the payload. */
static __always_inline struct tcphdr *pr_parse_tcp(struct pr_cursor *c)
{
    struct tcphdr *tcp = c->pos;
    if ((void *)(tcp + 1) > c->end)
        return NULL;
    __u32 hlen = tcp->doff * 4;
    if (hlen < sizeof(*tcp))
        return NULL;
    if (c->pos + hlen > c->end)
        return NULL;
    c->pos += hlen;
    return tcp;
}

/* MSS, window scale, SACK-permitted and timestamps from a header pr_parse_tcp accepted. */
static __always_inline void pr_parse_tcp_options(struct tcphdr *tcp, void *end, struct pr_tcp_opts *o)
{
    __u8 *p = (__u8 *)(tcp + 1);
    __u8 *opt_end = (__u8 *)tcp + tcp->doff * 4;
#pragma unroll
    for (int i = 0; i < PR_TCP_OPT_ITER; i++) {
        if ((void *)(p + 1) > end || p + 1 > opt_end)
            return;
        __u8 kind = p[0];
        if (kind == 0)          /* end of options */
            return;
        if (kind == 1) {        /* NOP */
            p += 1;
            continue;
        }
        if ((void *)(p + 2) > end || p + 2 > opt_end)
            return;
        __u8 len = p[1];
        if (len < 2 || p + len > opt_end)
            return;
        if (kind == 2 && len == 4) {
            if ((void *)(p + 4) > end)
                return;
            o->mss = ((__u16)p[2] << 8) | p[3];
            o->bits |= PR_OPT_MSS;
        } else if (kind == 3 && len == 3) {
            if ((void *)(p + 3) > end)
                return;
            o->wscale = p[2];
            o->bits |= PR_OPT_WSCALE;
        } else if (kind == 4 && len == 2) {
            o->bits |= PR_OPT_SACK_PERM;
        } else if (kind == 8 && len == 10) {
            if ((void *)(p + 10) > end)
                return;
            o->tsval = ((__u32)p[2] << 24) | ((__u32)p[3] << 16) | ((__u32)p[4] << 8) | p[5];
            o->tsecr = ((__u32)p[6] << 24) | ((__u32)p[7] << 16) | ((__u32)p[8] << 8) | p[9];
            o->bits |= PR_OPT_TS;
        }
        p += len;
    }
}

/* Murmur3's finalizer: a real mixer (a multiplicative hash split 94/6 over 2 shards here). */
static __always_inline __u32 pr_fmix32(__u32 h)
{
    h ^= h >> 16;
    h *= 0x85ebca6b;
    h ^= h >> 13;
    h *= 0xc2b2ae35;
    h ^= h >> 16;
    return h;
}

/* Shard of a client (IPv4 address as read from the header, port in host order); mirrored in
 * pyreplay.ebpf.abi.shard_of. Both sides of a session must use the client's address/port. */
static __always_inline __u32 pr_client_shard(__u32 addr_raw, __u16 port, __u32 shards)
{
    return pr_fmix32(addr_raw ^ ((__u32)port << 16)) % shards;
}

#endif /* PYREPLAY_PARSE_H */
