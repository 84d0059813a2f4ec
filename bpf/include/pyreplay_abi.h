/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * pyreplay_abi.h - THE contract between pyreplay's BPF programs and Python.
 *
 * Mirrored once in pyreplay/ebpf/abi.py; tests/ebpf/test_ebpf_abi.py compiles this header with
 * bcc and compares every size and offset with the mirror. Change both together and bump
 * PYREPLAY_ABI_VERSION. Every struct is laid out with explicit padding (no implicit holes), so
 * C and Python agree on any ABI; multi-byte fields are host order unless a comment says
 * otherwise; addresses are byte arrays in network order.
 *
 * Records in ring buffers start with a __u16 kind (PR_KIND_*), so one consumer can tell them apart.
 */
#ifndef PYREPLAY_ABI_H
#define PYREPLAY_ABI_H

#define PYREPLAY_ABI_VERSION 1

/* Record kinds (first __u16 of every ring-buffer record). */
#define PR_KIND_PACKET 1
#define PR_KIND_RESPONSE 2

/* pr_packet.flags */
#define PR_PKT_F_TRUNCATED 1 /* cap_len < pkt_len: the copy is cut at PR_CAPTURE_MAX */

/* Limits (programs may lower them with -D, never raise the ring shard maximum). */
#define PR_MAX_RINGS 8       /* ring buffers (worker shards) a capture program can feed */
#define PR_SILENT_MAX 8      /* pure ACKs in a row a ring takes without waking its reader */
#define PR_CAPTURE_LIMIT 131072 /* largest L3 copy: generic XDP sees GRO frames up to ~128 KiB */

/* pr_response.opt_bits */
#define PR_OPT_MSS 1
#define PR_OPT_WSCALE 2
#define PR_OPT_SACK_PERM 4
#define PR_OPT_TS 8

/*
 * A captured packet: this header, then cap_len bytes of the L3 (IP) packet.
 * pkt_len is the real L3 length (GRO/GSO super-frames included, also when the IPv4 total
 * length field is 0 or smaller); cap_len <= pkt_len.
 */
struct pr_packet {
    __u16 kind;      /* PR_KIND_PACKET */
    __u16 flags;     /* PR_PKT_F_* */
    __u32 ifindex;   /* interface the packet arrived on */
    __u32 pkt_len;   /* real IP length */
    __u32 cap_len;   /* bytes of IP packet following this header */
    __u64 tstamp_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
};

/* A response summary: fixed size, no payload. For IPv4 the addresses use the first 4 bytes. */
struct pr_response {
    __u16 kind;       /* PR_KIND_RESPONSE */
    __u8 family;      /* 4 or 6 */
    __u8 tcp_flags;   /* FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32, ECE 64, CWR 128 */
    __u32 ifindex;
    __u8 saddr[16];
    __u8 daddr[16];
    __u16 sport;      /* host order */
    __u16 dport;      /* host order */
    __u32 seq;        /* host order */
    __u32 ack;        /* host order */
    __u16 window;     /* raw header value, host order (not scaled) */
    __u8 opt_bits;    /* PR_OPT_* present in the header */
    __u8 wscale;
    __u16 mss;
    __u16 pad;
    __u32 payload_len; /* TCP payload bytes (real length, GRO frames included) */
    __u32 tsval;
    __u32 tsecr;
    __u64 tstamp_ns;
};

/* Key of the hash map of addresses/ports a program matches (capture: the -x online side). */
struct pr_target_key {
    __u8 addr[16];    /* network order; all zero = any address. IPv4 in the first 4 bytes */
    __u16 port;       /* host order */
    __u8 family;      /* 4 or 6 */
    __u8 pad;
};

/* Per-CPU counter indices (BPF_PERCPU_ARRAY of __u64, PR_CNT_MAX slots). */
#define PR_CNT_SEEN 0           /* packets the program ran on */
#define PR_CNT_MATCHED 1        /* packets matching the configuration */
#define PR_CNT_SUBMITTED 2      /* records written to a ring */
#define PR_CNT_LOST_RING_FULL 3 /* records lost: the ring was full */
#define PR_CNT_TRUNCATED 4      /* records with cap_len < pkt_len */
#define PR_CNT_DROPPED 5        /* only explicitly configured drops of replayed responses */
#define PR_CNT_MAX 8

#endif /* PYREPLAY_ABI_H */
