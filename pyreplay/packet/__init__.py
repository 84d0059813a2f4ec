"""Packet layer (pure): header views, checksums, segmentation, pcap read/write."""
