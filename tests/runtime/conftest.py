"""Fixtures of the end-to-end runtime tests."""

import pytest

from pyreplay.lab.replay_lab import start_servers
from pyreplay.lab.topology import lab


@pytest.fixture(scope="module")
def rl():
    """A lab with HTTP servers on online and target and intercept on the assistant, per module."""
    with lab() as the_lab:
        replay_lab = start_servers(the_lab)
        replay_lab.start_intercept()
        yield replay_lab
