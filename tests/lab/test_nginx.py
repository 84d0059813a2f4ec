"""The generated nginx configuration (no nginx needed): one process in the foreground, every
path inside its own directory, keep-alive off for short connections."""

import re

import pytest

from pyreplay.lab.nginx import TEMP_DIRS, nginx_config
from pyreplay.lab.nginxlog import FORMAT_NAME, LOG_FORMAT


def config(tmp_path, keepalive=False):
    return nginx_config(root=tmp_path / "ng", port=80, log_path=tmp_path / "ng" / "access.log", keepalive=keepalive)


def test_one_foreground_process_and_nothing_outside_its_directory(tmp_path):
    text = config(tmp_path)
    assert "daemon off;" in text and "master_process off;" in text
    paths = re.findall(r"\s(/\S+?);", text)
    assert paths and all(p.startswith(str(tmp_path / "ng") + "/") for p in paths)
    for name in TEMP_DIRS + ("pid", "lock_file", "error_log"):
        assert name in text


def test_keepalive_off_for_short_connections(tmp_path):
    assert "keepalive_timeout 0;" in config(tmp_path, keepalive=False)
    assert "keepalive_timeout 75s;" in config(tmp_path, keepalive=True)


def test_access_log_uses_the_reader_format_and_a_fixed_body(tmp_path):
    text = config(tmp_path)
    assert f"log_format {FORMAT_NAME} '{LOG_FORMAT}';" in text
    assert f"access_log {tmp_path / 'ng' / 'access.log'} {FORMAT_NAME};" in text
    assert "return 200 'rrrrrrrrrrrrrrrr';" in text
    with pytest.raises(ValueError):
        nginx_config(root=tmp_path, port=80, log_path=tmp_path / "a", keepalive=True, body="a'; evil")
