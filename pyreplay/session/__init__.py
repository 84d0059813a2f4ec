"""Session engine (pure): per-connection TCP replay state machine; events in, commands out."""
