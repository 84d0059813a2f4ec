"""What a run says about its sessions' counters, in the same words for copy and burn.

Contract: pure functions of a counters mapping (``Session.counters`` summed over sessions).
They cover the events a healthy replay has none of, each costing client bytes the target
never gets or gets twice: capture holes resynced past (the client bytes skipped with each), and
reconnects after the target closed or reset a connection with client data left (the requests
it had not answered are resent whole on the new connection; those that could not be are
counted too). ``event_lines`` gives summary lines, ``event_notes`` short fragments
for a one-line status; both leave out what did not happen, so a healthy run adds nothing.
``event_fields`` gives the same counts for a JSON report, always present.
"""

from __future__ import annotations

from collections.abc import Mapping

EVENT_COUNTERS = ("capture_gap_resyncs", "capture_gap_bytes_skipped", "reconnects",
                  "requests_resent_after_reconnect", "bytes_resent_after_reconnect",
                  "requests_not_resent_twice", "requests_too_large_to_resend")


def event_lines(counters: Mapping[str, int]) -> list[str]:
    """One summary line per kind of event that happened (none in a healthy run)."""
    lines = []
    if counters.get("capture_gap_resyncs"):
        lines.append(f"capture holes resynced past: {counters['capture_gap_resyncs']}, "
                     f"client bytes skipped: {counters.get('capture_gap_bytes_skipped', 0)}")
    if counters.get("reconnects"):
        not_resent = counters.get("requests_not_resent_twice", 0) + counters.get("requests_too_large_to_resend", 0)
        lines.append(f"reconnects after the target closed or reset: {counters['reconnects']}, "
                     f"requests resent whole: {counters.get('requests_resent_after_reconnect', 0)} "
                     f"({counters.get('bytes_resent_after_reconnect', 0)} bytes)"
                     + (f", unanswered and not resent: {not_resent}" if not_resent else ""))
    return lines


def event_notes(counters: Mapping[str, int]) -> list[str]:
    """The same as ``event_lines``, as short fragments for a status line."""
    notes = []
    if counters.get("capture_gap_resyncs"):
        notes.append(f"capture holes resynced {counters['capture_gap_resyncs']} "
                     f"({counters.get('capture_gap_bytes_skipped', 0)} bytes skipped)")
    if counters.get("reconnects"):
        notes.append(f"reconnects {counters['reconnects']} "
                     f"({counters.get('requests_resent_after_reconnect', 0)} requests resent)")
    return notes


def event_fields(counters: Mapping[str, int]) -> dict[str, int]:
    """Every ``EVENT_COUNTERS`` count by its counter name, zeros included (a JSON report)."""
    return {name: counters.get(name, 0) for name in EVENT_COUNTERS}
