// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * ring_probe.bpf.c - test only: writes records into a one-page ring buffer on command, so the
 * Python consumer can be tested with BPF_PROG_TEST_RUN (no interface needed).
 *
 * Matches: every frame; frame[0] is the command:
 *   'O' output frame[1:] as one record (variable length, up to 2048 bytes),
 *   'R' reserve a 64-byte record, fill it with frame[1] and submit it,
 *   'D' reserve a 64-byte record and discard it.
 * Emits: records in `probe_ring`; failures (ring full) counted in probe_fails[0].
 * Returns: XDP_PASS on every path.
 */
#include <uapi/linux/bpf.h>

#define PROBE_CAP 2048

BPF_RINGBUF_OUTPUT(probe_ring, 1);
struct probe_buf {
    u8 bytes[PROBE_CAP];
};

BPF_PERCPU_ARRAY(probe_scratch, struct probe_buf, 1);
BPF_ARRAY(probe_fails, u64, 1);

struct probe_fixed {
    u8 bytes[64];
};

static __always_inline void fail(void)
{
    u32 zero = 0;
    u64 *count = probe_fails.lookup(&zero);
    if (count)
        __sync_fetch_and_add(count, 1);
}

int ring_probe(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    if (data + 2 > data_end)
        return XDP_PASS;
    u8 command = ((u8 *)data)[0];
    u8 fill = ((u8 *)data)[1];
    if (command == 'O') {
        u32 zero = 0;
        struct probe_buf *buf = probe_scratch.lookup(&zero);
        if (!buf)
            return XDP_PASS;
        u32 len = bpf_xdp_get_buff_len(ctx) - 1;
        if (len > PROBE_CAP)
            len = PROBE_CAP;
        len = ((len - 1) & (PROBE_CAP - 1)) + 1;
        if (bpf_xdp_load_bytes(ctx, 1, buf, len) < 0)
            return XDP_PASS;
        if (probe_ring.ringbuf_output(buf, len, 0) < 0)
            fail();
    } else if (command == 'R' || command == 'D') {
        struct probe_fixed *rec = probe_ring.ringbuf_reserve(sizeof(struct probe_fixed));
        if (!rec) {
            fail();
            return XDP_PASS;
        }
        __builtin_memset(rec->bytes, fill, sizeof(rec->bytes));
        if (command == 'R')
            probe_ring.ringbuf_submit(rec, 0);
        else
            probe_ring.ringbuf_discard(rec, 0);
    }
    return XDP_PASS;
}
