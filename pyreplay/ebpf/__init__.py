"""Kernel side: compile bcc programs, mirror the ABI, attach and detach through bpf_link."""
