"""I/O backends: capture, emit and channel transports, each small and chosen by name."""
