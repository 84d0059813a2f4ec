"""The lab in real network namespaces: built as specified, torn down completely."""

import pytest

from pyreplay.lab import netns
from pyreplay.lab.netns import LabError
from pyreplay.lab.topology import HOST_ADDRESSES, Lab, LabSpec, lab

pytestmark = pytest.mark.netns


def sysctl(the_lab, role, key):
    return the_lab.run(role, ["cat", "/proc/sys/" + key.replace(".", "/")]).stdout.strip()


def test_lab_builds_the_deployment_and_removes_it():
    with lab() as the_lab:
        names = set(netns.list_namespaces())
        assert set(the_lab.namespaces) <= names
        for role in ("client", "online", "target", "assistant"):
            assert sysctl(the_lab, role, "net.ipv4.ip_forward") == "0"
            assert sysctl(the_lab, role, "net.ipv4.conf.all.rp_filter") == "0"
            assert sysctl(the_lab, role, "net.ipv4.conf.lab0.rp_filter") == "0"
            assert int(sysctl(the_lab, role, "net.core.somaxconn")) >= 16384
        route = the_lab.run("target", ["ip", "route", "show", the_lab.client_pool]).stdout
        assert f"via {HOST_ADDRESSES['assistant']}" in route
        # every host reaches every other over the bridge
        ping = the_lab.run("client", ["ping", "-c", "1", "-W", "2", HOST_ADDRESSES["target"]], check=False)
        assert ping.returncode == 0, ping.stdout + ping.stderr
        built = list(the_lab.namespaces)
    assert not set(built) & set(netns.list_namespaces())


def test_route_free_variant_has_no_pool_route():
    with lab(LabSpec(route_pool_via_assistant=False)) as the_lab:
        assert the_lab.run("target", ["ip", "route", "show", the_lab.client_pool]).stdout.strip() == ""


def test_teardown_happens_when_the_body_fails():
    with pytest.raises(RuntimeError, match="boom"):
        with lab() as the_lab:
            built = list(the_lab.namespaces)
            raise RuntimeError("boom")
    assert not set(built) & set(netns.list_namespaces())


def test_two_labs_coexist_and_are_independent():
    with lab() as a, lab() as b:
        assert a.name != b.name
        assert not set(a.namespaces) & set(b.namespaces)
        assert a.run("client", ["ping", "-c", "1", "-W", "2", HOST_ADDRESSES["online"]], check=False).returncode == 0
        assert b.run("client", ["ping", "-c", "1", "-W", "2", HOST_ADDRESSES["online"]], check=False).returncode == 0


def test_down_ends_the_processes_the_lab_started():
    with lab() as the_lab:
        proc = the_lab.spawn("online", ["sleep", "60"])
        assert proc.poll() is None
    assert proc.wait(timeout=5) is not None


def test_partial_build_is_cleaned_up(monkeypatch):
    the_lab = Lab("prlfail" + "x")

    original = netns.set_sysctls
    calls = {"n": 0}

    def failing(ns, values):
        calls["n"] += 1
        if calls["n"] == 4:
            raise LabError("injected failure")
        return original(ns, values)

    monkeypatch.setattr(netns, "set_sysctls", failing)
    with pytest.raises(LabError, match="injected"):
        the_lab.up()
    assert not set(the_lab.namespaces) & set(netns.list_namespaces())
