"""Logging for the runtimes: one line per event, to stderr or the ``-l`` file.

Line format follows the C tools' (``YYYY/MM/DD HH:MM:SS +mmm [level] message``) so operators'
log greps keep working.
"""

from __future__ import annotations

import logging
import sys
import time

_LEVEL_NAMES = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warn",
                logging.ERROR: "error", logging.CRITICAL: "crit"}


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(record.created))
        millis = int(record.msecs)
        return f"{stamp} +{millis:03d} [{_LEVEL_NAMES.get(record.levelno, 'info')}] {record.getMessage()}"


def setup_logging(log_file: str | None = None, *, verbose: bool = False) -> logging.Logger:
    """Configure the ``pyreplay`` logger; a log file that cannot be opened is an OSError."""
    logger = logging.getLogger("pyreplay")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    handler: logging.Handler
    handler = logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
    return logger
