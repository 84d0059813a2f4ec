"""TCPBurn (sans-IO core): captured sessions indexed once, replayed by many users.

``index`` loads and indexes sessions, ``users`` hands out user identities, ``scheduler`` starts
users and feeds their sessions, ``report`` counts and says what happened. No module here opens
sockets, files or reads a clock; ``pyreplay.runtime.burn`` is the loop around them.
"""

from .index import CapturedSession, SessionIndex
from .report import BurnReport
from .scheduler import BurnPlan, Scheduler
from .users import IdentityPool, session_for

__all__ = ["BurnPlan", "BurnReport", "CapturedSession", "IdentityPool", "Scheduler", "SessionIndex",
           "session_for"]
