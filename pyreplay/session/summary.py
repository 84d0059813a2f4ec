"""What a run says about its sessions' counters, in the same words for copy and burn.

Contract: pure functions of a counters mapping (``Session.counters`` summed over sessions).
They cover the events a healthy replay has none of, each costing client bytes the target
never gets: capture holes resynced past (the client bytes skipped with each), and reconnects
after the target closed a connection with client data left (the bytes it had not acknowledged
then are not sent again). ``event_lines`` gives summary lines, ``event_notes`` short fragments
for a one-line status; both leave out what did not happen, so a healthy run adds nothing.
``event_fields`` gives the same counts for a JSON report, always present.
"""

from __future__ import annotations

from collections.abc import Mapping

EVENT_COUNTERS = ("capture_gap_resyncs", "capture_gap_bytes_skipped", "reconnects", "bytes_unacked_at_reconnect")


def event_lines(counters: Mapping[str, int]) -> list[str]:
    """One summary line per kind of event that happened (none in a healthy run)."""
    lines = []
    if counters.get("capture_gap_resyncs"):
        lines.append(f"capture holes resynced past: {counters['capture_gap_resyncs']}, "
                     f"client bytes skipped: {counters.get('capture_gap_bytes_skipped', 0)}")
    if counters.get("reconnects"):
        lines.append(f"reconnects after the target closed with client data left: {counters['reconnects']}, "
                     f"unacknowledged bytes dropped: {counters.get('bytes_unacked_at_reconnect', 0)}")
    return lines


def event_notes(counters: Mapping[str, int]) -> list[str]:
    """The same as ``event_lines``, as short fragments for a status line."""
    notes = []
    if counters.get("capture_gap_resyncs"):
        notes.append(f"capture holes resynced {counters['capture_gap_resyncs']} "
                     f"({counters.get('capture_gap_bytes_skipped', 0)} bytes skipped)")
    if counters.get("reconnects"):
        notes.append(f"reconnects {counters['reconnects']}")
    return notes


def event_fields(counters: Mapping[str, int]) -> dict[str, int]:
    """Every ``EVENT_COUNTERS`` count by its counter name, zeros included (a JSON report)."""
    return {name: counters.get(name, 0) for name in EVENT_COUNTERS}
