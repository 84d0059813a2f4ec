"""Session engine (pure): per-connection TCP replay state machine; events in, commands out.

Public surface: ``Session``/``SessionConfig`` (one connection), ``SessionTable`` (all of them),
the events (``ClientSegment``, ``TargetResponse``, ``Tick``, ``Shutdown``, ``Superseded``), the
commands (``Send``, ``Register``, ``Unregister``, ``Finished`` with an ``Outcome``) and ``Phase``.
No module here imports sockets, clocks, threads or kernel tooling.
"""

from .commands import Command, Finished, Outcome, Register, Send, Unregister
from .config import SessionConfig
from .events import ClientSegment, Event, Shutdown, Superseded, TargetResponse, Tick
from .session import Session
from .state import Phase
from .table import SessionTable

__all__ = [
    "ClientSegment", "Command", "Event", "Finished", "Outcome", "Phase", "Register", "Send",
    "Session", "SessionConfig", "SessionTable", "Shutdown", "Superseded", "TargetResponse", "Tick",
    "Unregister",
]
