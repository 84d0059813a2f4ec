/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * pyreplay_capture.h - the request capture shared by capture_xdp.bpf.c and capture_tc.bpf.c.
 *
 * Matches IPv4 TCP packets whose (daddr, dport) or (any address, dport) is a key of the hash
 * map `pr_targets` (struct pr_target_key: the `-x` online addresses/ports, filled from user
 * space, so no recompile per port). Copies the L3 packet (at most PR_CAPTURE_MAX bytes; the
 * real length, GRO/GSO super-frames included, goes in pkt_len) behind a struct pr_packet into
 * ring `pr_ring<k>`, k = pr_client_shard(client address, client port, PR_RINGS), so a worker
 * per ring sees whole sessions. Counts in the per-CPU array `pr_counters` (PR_CNT_*).
 *
 * Wake-ups: a pure ACK (ACK alone, no payload) is written without waking the reader
 * (BPF_RB_NO_WAKEUP): copy takes nothing from it that cannot wait for its next wake-up, and the
 * client's ACK of each response would otherwise be a wake-up per request. The ring's own rule
 * wakes the reader only for a record written while it had caught up, so after a silent record
 * nothing would wake it: `pr_silent` counts, per ring, the silent records since the last
 * wake-up, and the next other record, or the PR_SILENT_MAX+1st pure ACK in a row, forces one
 * (BPF_RB_FORCE_WAKEUP). Two CPUs racing on the count can cost that wake-up; the reader then
 * finds the records at its next timed wake-up (copy waits at most 50 ms).
 *
 * Configuration (-D): PR_RINGS (1..PR_MAX_RINGS), PR_RING_PAGES (pages per ring, a power of
 * two), PR_CAPTURE_MAX (a power of two <= PR_CAPTURE_LIMIT), PR_NR_CPUS (possible CPUs: one
 * scratch slot each), PR_MAX_TARGETS (entries of pr_targets).
 *
 * bcc rewrites map operations (map.lookup(), ring.ringbuf_output()) only in the main file, not
 * in headers nor in macros, so this header holds the map declarations and every map-free step;
 * the two programs hold the few lines that touch maps (the same in both; keep them in step).
 */
#ifndef PYREPLAY_CAPTURE_H
#define PYREPLAY_CAPTURE_H

#include "pyreplay_abi.h"
#include "pyreplay_parse.h"

#ifndef PR_RINGS
#define PR_RINGS 1
#endif
#ifndef PR_RING_PAGES
#define PR_RING_PAGES 4096
#endif
#ifndef PR_CAPTURE_MAX
#define PR_CAPTURE_MAX PR_CAPTURE_LIMIT
#endif
#ifndef PR_NR_CPUS
#define PR_NR_CPUS 64
#endif
#ifndef PR_MAX_TARGETS
#define PR_MAX_TARGETS 1024
#endif

#if PR_RINGS < 1 || PR_RINGS > PR_MAX_RINGS
#error "PR_RINGS must be between 1 and PR_MAX_RINGS"
#endif
#if (PR_CAPTURE_MAX & (PR_CAPTURE_MAX - 1)) || PR_CAPTURE_MAX > PR_CAPTURE_LIMIT || PR_CAPTURE_MAX < 64
#error "PR_CAPTURE_MAX must be a power of two between 64 and PR_CAPTURE_LIMIT"
#endif

/* One capture buffer per CPU: a per-CPU array cannot hold more than 32 KiB per value, so a
 * plain array indexed by CPU. XDP and tc ingress run in softirq with no nesting on one CPU. */
struct pr_scratch {
    struct pr_packet hdr;
    __u8 data[PR_CAPTURE_MAX];
};

BPF_HASH(pr_targets, struct pr_target_key, __u8, PR_MAX_TARGETS);
BPF_PERCPU_ARRAY(pr_counters, __u64, PR_CNT_MAX);
BPF_ARRAY(pr_scratch, struct pr_scratch, PR_NR_CPUS);
BPF_ARRAY(pr_silent, __u32, PR_RINGS); /* records ring k took without a wake-up since the last */

BPF_RINGBUF_OUTPUT(pr_ring0, PR_RING_PAGES);
#if PR_RINGS > 1
BPF_RINGBUF_OUTPUT(pr_ring1, PR_RING_PAGES);
#endif
#if PR_RINGS > 2
BPF_RINGBUF_OUTPUT(pr_ring2, PR_RING_PAGES);
#endif
#if PR_RINGS > 3
BPF_RINGBUF_OUTPUT(pr_ring3, PR_RING_PAGES);
#endif
#if PR_RINGS > 4
BPF_RINGBUF_OUTPUT(pr_ring4, PR_RING_PAGES);
#endif
#if PR_RINGS > 5
BPF_RINGBUF_OUTPUT(pr_ring5, PR_RING_PAGES);
#endif
#if PR_RINGS > 6
BPF_RINGBUF_OUTPUT(pr_ring6, PR_RING_PAGES);
#endif
#if PR_RINGS > 7
BPF_RINGBUF_OUTPUT(pr_ring7, PR_RING_PAGES);
#endif

/* What a matching candidate looks like; filled by pr_capture_parse. */
struct pr_capture_info {
    __u32 l3_offset;
    __be32 saddr;   /* client address as in the header */
    __be32 daddr;
    __u16 sport;    /* host order */
    __u16 dport;    /* host order */
    __u8 pure_ack;  /* ACK alone, no payload */
};

/* Parse Ethernet/VLAN, IPv4 (first fragments) and a whole TCP header; 1 if it is a candidate. */
static __always_inline int pr_capture_parse(void *data, void *data_end, struct pr_capture_info *info)
{
    struct pr_cursor c = {.pos = data, .end = data_end};
    __be16 proto = 0;
    __u32 l3_offset = pr_parse_eth(&c, &proto);
    if (!l3_offset || proto != bpf_htons(ETH_P_IP))
        return 0;
    struct iphdr *ip = pr_parse_ipv4(&c);
    if (!ip || ip->protocol != IPPROTO_TCP)
        return 0;
    struct tcphdr *tcp = pr_parse_tcp(&c);
    if (!tcp)
        return 0;
    info->l3_offset = l3_offset;
    info->saddr = ip->saddr;
    info->daddr = ip->daddr;
    info->sport = bpf_ntohs(tcp->source);
    info->dport = bpf_ntohs(tcp->dest);
    info->pure_ack = tcp->ack && !(tcp->syn | tcp->fin | tcp->rst)
        && bpf_ntohs(ip->tot_len) == ip->ihl * 4 + tcp->doff * 4;
    return 1;
}

/* The exact pr_targets key for (daddr, dport); the wildcard key is the same with addr zeroed. */
static __always_inline void pr_target_key_v4(struct pr_target_key *key, __be32 daddr, __u16 dport)
{
    __builtin_memset(key, 0, sizeof(*key));
    __builtin_memcpy(key->addr, &daddr, sizeof(daddr));
    key->port = dport;
    key->family = 4;
}

/* Capture length for a packet of pkt_len bytes, bounded so the verifier can see 1..MAX. */
static __always_inline __u32 pr_cap_len(__u32 pkt_len)
{
    __u32 cap_len = pkt_len > PR_CAPTURE_MAX ? PR_CAPTURE_MAX : pkt_len;
    return ((cap_len - 1) & (PR_CAPTURE_MAX - 1)) + 1;
}

static __always_inline void pr_fill_header(struct pr_packet *hdr, __u32 ifindex, __u32 pkt_len, __u32 cap_len)
{
    hdr->kind = PR_KIND_PACKET;
    hdr->flags = cap_len < pkt_len ? PR_PKT_F_TRUNCATED : 0;
    hdr->ifindex = ifindex;
    hdr->pkt_len = pkt_len;
    hdr->cap_len = cap_len;
    hdr->tstamp_ns = bpf_ktime_get_ns();
}

#endif /* PYREPLAY_CAPTURE_H */
