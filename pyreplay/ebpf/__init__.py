"""Kernel side: compile bcc programs, mirror the ABI, attach and detach through bpf_link.

Modules, one job each:
- ``paths``: where ``bpf/`` sources and the per-user cache live.
- ``headers``: assemble the kernel header tree bcc compiles against; ``diagnose()`` for doctor.
- ``loader``: compile ``bpf/*.bpf.c`` with ``-D`` flags; the exact source and flags for dumps.
- ``syscall``: the raw ``bpf()`` system call through ctypes.
- ``link``: XDP and tcx attach as kernel-owned links (context managers that always detach).
- ``abi``: the Python mirror of ``bpf/include/pyreplay_abi.h`` (records, counters, shard hash).
- ``ringbuf``: our own mmap batch consumer of BPF ring buffer maps.
- ``prog_test_run``: run a loaded program on a packet in the kernel (BPF_PROG_TEST_RUN).
"""
