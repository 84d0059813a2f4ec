"""Config parsing: every flag's good and bad values, cross-field rules, the compatibility-only
flags (accepted, validated, one warning each), and command lines of tcpcopy, intercept and
tcpburn taken unchanged."""

from __future__ import annotations

import dataclasses
import getopt
import ipaddress
import shlex

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyreplay.channel.codec import max_responses_per_frame
from pyreplay.config import (
    BURN_DEFAULT_TIMEOUT,
    MAX_COMBINE,
    DEFAULT_INTERCEPT_PORT,
    BurnConfig,
    ConfigError,
    CopyConfig,
    Endpoint,
    InterceptConfig,
    PortSlice,
    Transfer,
    UserLayout,
    parse_client_pool,
    parse_dockered,
    parse_interfaces,
    parse_intercepts,
    parse_port_slice,
    parse_transfers,
)


def ip(text: str) -> bytes:
    return ipaddress.ip_address(text).packed


def copy_config(**options) -> CopyConfig:
    options.setdefault("transfers", "80-10.0.0.2:8080")
    options.setdefault("intercepts", "10.0.0.3")
    return CopyConfig.from_options(**options)


def error_of(call, *args, **kwargs) -> str:
    with pytest.raises(ConfigError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- -x ------------------------------------------------------------------------------------------


def test_transfer_port_only_matches_any_online_address():
    assert parse_transfers("80-10.0.0.2:8080") == (Transfer(None, 80, ip("10.0.0.2"), 8080),)


def test_transfer_list_with_online_addresses_ipv6_and_spaces():
    got = parse_transfers("10.0.0.5:80-10.0.0.1:8080, 81-10.0.0.2:9090,[2001:db8::1]:80-[::2]:8080")
    assert got == (
        Transfer(ip("10.0.0.5"), 80, ip("10.0.0.1"), 8080),
        Transfer(None, 81, ip("10.0.0.2"), 9090),
        Transfer(ip("2001:db8::1"), 80, ip("::2"), 8080),
    )


def test_transfer_unspecified_online_address_is_the_wildcard():
    assert parse_transfers("0.0.0.0:80-10.0.0.2:8080")[0].online_addr is None


def test_transfer_exact_and_wildcard_on_one_port_and_both_families_coexist():
    got = parse_transfers("80-10.0.0.2:8080,10.0.0.9:80-10.0.0.3:8080,80-[::2]:8080")
    assert len(got) == 3


def test_transfer_target_without_port_names_the_fix():
    assert error_of(parse_transfers, "80-10.0.0.2") == (
        "-x '80-10.0.0.2': target needs IP:PORT, e.g. 80-10.0.0.2:8080")


@pytest.mark.parametrize("text, quoted, hint", [
    ("10008-192.168.1.1", "10008-192.168.1.1", "target needs IP:PORT"),
    ("80", "80", "needs [ONLINE_IP:]PORT-TARGET_IP:PORT"),
    ("80-10.0.0.2:8080-9", "80-10.0.0.2:8080-9", "needs [ONLINE_IP:]PORT-TARGET_IP:PORT"),
    ("80-10.0.0.2:0", "80-10.0.0.2:0", "target port '0' must be a number 1..65535"),
    ("80-10.0.0.2:65536", "80-10.0.0.2:65536", "1..65535"),
    ("0-10.0.0.2:80", "0-10.0.0.2:80", "online port '0'"),
    ("http-10.0.0.2:80", "http-10.0.0.2:80", "online port 'http'"),
    ("80-target:8080", "80-target:8080", "'target' is not an IPv4 or IPv6 address"),
    ("80-0.0.0.0:8080", "80-0.0.0.0:8080", "0.0.0.0 is not a host address"),
    ("80-224.0.0.1:8080", "80-224.0.0.1:8080", "not a host address"),
    ("80-[::2]", "80-[::2]", "[ADDRESS]:PORT"),
    ("80-2001:db8::2:8080", "80-2001:db8::2:8080", "[ADDRESS]:PORT"),
    ("2001:db8::1:80-[::2]:8080", "2001:db8::1:80-[::2]:8080", "IPv6 in brackets"),
    ("10.0.0.1:80-[::2]:8080", "10.0.0.1:80-[::2]:8080", "same family"),
    ("80@00:11:22:33:44:55-10.0.0.2:8080@00:11:22:33:44:66", "80@00:11:22:33:44:55-", "MAC"),
    ("80-10.0.0.2:8080,", "80-10.0.0.2:8080,", "empty entry"),
    ("", "", "empty entry"),
    ("80-10.0.0.2:8080,80-10.0.0.3:8080", "80-10.0.0.3:8080", "already mapped by '80-10.0.0.2:8080'"),
    ("1.1.1.1:80-10.0.0.2:8080,1.1.1.1:80-10.0.0.2:8080", "1.1.1.1:80-10.0.0.2:8080", "already"),
])
def test_transfer_errors_name_flag_value_and_expectation(text, quoted, hint):
    message = error_of(parse_transfers, text)
    assert message.startswith("-x '" + quoted)
    assert hint in message


HOSTS_V4 = st.ip_addresses(v=4).filter(
    lambda a: not (a.is_unspecified or a.is_multicast or str(a) == "255.255.255.255"))


@given(st.lists(st.tuples(st.one_of(st.none(), st.just(ipaddress.IPv4Address(0)), HOSTS_V4),
                          st.integers(1, 65535), HOSTS_V4, st.integers(1, 65535)),
                min_size=1, max_size=5))
def test_transfer_text_round_trips(items):
    items = [(None if o is not None and o.is_unspecified else o, op, t, tp) for o, op, t, tp in items]
    if len({(o, op) for o, op, _, _ in items}) != len(items):
        return  # an explicit 0.0.0.0 and a bare port are the same online side
    text = ",".join(f"{'' if o is None else f'{o}:'}{op}-{t}:{tp}" for o, op, t, tp in items)
    expected = tuple(Transfer(None if o is None else o.packed, op, t.packed, tp)
                     for o, op, t, tp in items)
    assert parse_transfers(text) == expected


# --- -c ------------------------------------------------------------------------------------------


def test_pool_x_expands_to_1_through_254():
    pool = parse_client_pool("62.135.200.x")
    assert len(pool) == 254
    assert pool[0] == ip("62.135.200.1") and pool[-1] == ip("62.135.200.254")
    assert parse_client_pool("62.135.200.X") == pool


@pytest.mark.parametrize("text, expected", [
    ("10.0.0.0/30", ["10.0.0.1", "10.0.0.2"]),
    ("10.0.0.0/31", ["10.0.0.0", "10.0.0.1"]),
    ("10.0.0.7/32", ["10.0.0.7"]),
    ("2001:db8::/126", ["2001:db8::1", "2001:db8::2", "2001:db8::3"]),
    ("10.0.0.254-10.0.1.1", ["10.0.0.254", "10.0.0.255", "10.0.1.0", "10.0.1.1"]),
    ("10.0.0.9", ["10.0.0.9"]),
    ("10.0.0.3,10.0.0.1-10.0.0.4", ["10.0.0.3", "10.0.0.1", "10.0.0.2", "10.0.0.4"]),
    ("2001:db8::5, 10.1.1.1", ["2001:db8::5", "10.1.1.1"]),
])
def test_pool_forms_keep_order_and_drop_repeats(text, expected):
    assert parse_client_pool(text) == tuple(ip(a) for a in expected)


def test_pool_holds_exactly_the_limit():
    assert len(parse_client_pool("10.0.0.0/16,10.1.0.0/31")) == 65536
    message = error_of(parse_client_pool, "10.0.0.0/16,10.1.0.0/31,10.2.0.1")
    assert message.startswith("-c '10.2.0.1': the pool would hold 65537 addresses, more than 65536")


@pytest.mark.parametrize("text, quoted, hint", [
    ("62.135.200.*", "62.135.200.*", "use x instead of *, e.g. 62.135.200.x"),
    ("10.0.0.0/8", "10.0.0.0/8", "more than 65536"),
    ("2001:db8::/64", "2001:db8::/64", "more than 65536"),
    ("10.0.0.5/24", "10.0.0.5/24", "did you mean 10.0.0.0/24?"),
    ("10.0.0.0/33", "10.0.0.0/33", "CIDR prefix"),
    ("10.0.0.9-10.0.0.1", "10.0.0.9-10.0.0.1", "below its start"),
    ("10.0.0.1-::2", "10.0.0.1-::2", "same family"),
    ("224.0.0.1", "224.0.0.1", "not a unicast host address"),
    ("0.0.0.0", "0.0.0.0", "not a unicast host address"),
    ("2001:db8::x", "2001:db8::x", "IPv4 only (a.b.c.x)"),
    ("1.2.3.4.x", "1.2.3.4.x", "prefix '1.2.3.4.0' is not an IPv4"),
    ("10.x.0.1", "10.x.0.1", "not an IPv4 or IPv6 address"),
    ("host.example", "host.example", "not an IPv4 or IPv6 address"),
    ("10.0.0.1,,10.0.0.2", "10.0.0.1,,10.0.0.2", "empty entry"),
])
def test_pool_errors(text, quoted, hint):
    message = error_of(parse_client_pool, text)
    assert message.startswith(f"-c '{quoted}'")
    assert hint in message


def test_pool_leaves_out_targets_and_intercepts_and_says_so():
    config = copy_config(transfers="80-10.0.0.2:8080", intercepts="10.0.0.3",
                         client_pool="10.0.0.0/29")
    assert ip("10.0.0.2") not in config.client_pool and ip("10.0.0.3") not in config.client_pool
    assert len(config.client_pool) == 4
    assert "-c: left out 10.0.0.2: a -x target cannot be its own client" in config.warnings
    assert any(w.startswith("-c: left out 10.0.0.3: an intercept") for w in config.warnings)


def test_pool_empty_after_leaving_out_targets_is_an_error():
    message = error_of(copy_config, client_pool="10.0.0.2")
    assert message.startswith("-c '10.0.0.2': no address left")


def test_pool_absent_keeps_client_addresses():
    assert copy_config().client_pool == ()


# --- -s -f -i -b ---------------------------------------------------------------------------------


def test_intercepts_default_and_explicit_ports():
    assert parse_intercepts("10.0.0.3,10.0.0.4:4000,[::1]:5000,::2", 36524) == (
        Endpoint(ip("10.0.0.3"), 36524), Endpoint(ip("10.0.0.4"), 4000),
        Endpoint(ip("::1"), 5000), Endpoint(ip("::2"), 36524))


def test_intercept_port_flag_sets_the_default():
    assert copy_config(intercept_port="4000").intercepts == (Endpoint(ip("10.0.0.3"), 4000),)


@pytest.mark.parametrize("text, hint", [
    ("intercept.local", "not an IPv4 or IPv6 address"),
    ("10.0.0.3:0", "port '0' must be a number 1..65535"),
    ("10.0.0.3:x", "port 'x'"),
    ("0.0.0.0", "not a host address"),
    ("10.0.0.3,10.0.0.3:36524", "intercept listed twice"),
    ("[::1", "without ']'"),
])
def test_intercept_errors(text, hint):
    message = error_of(parse_intercepts, text)
    assert message.startswith("-s '")
    assert hint in message


@pytest.mark.parametrize("text, expected", [
    ("0", PortSlice(0, 32)), ("31", PortSlice(31, 32)), ("1/4", PortSlice(1, 4)),
    ("0/1", PortSlice(0, 1)), ("255/256", PortSlice(255, 256)),
])
def test_port_slice(text, expected):
    assert parse_port_slice(text) == expected


@pytest.mark.parametrize("text", ["32", "4/4", "1/0", "-1", "1/257", "a", "1/", "/4", "1.5"])
def test_port_slice_errors(text):
    message = error_of(parse_port_slice, text)
    assert message.startswith(f"-f '{text}'")
    assert "INDEX/COUNT" in message


def test_port_slices_partition_the_ports():
    shares = [PortSlice(i, 4).ports() for i in range(4)]
    assert sorted(p for share in shares for p in share) == list(range(1024, 65536))
    assert all(p % 4 == 2 for p in PortSlice(2, 4).ports())
    assert 1026 in PortSlice(2, 4) and 1027 not in PortSlice(2, 4) and 0 not in PortSlice(0, 1)


def test_interfaces():
    assert parse_interfaces("any") == ()
    assert parse_interfaces("eth0, veth-t1") == ("eth0", "veth-t1")


@pytest.mark.parametrize("text, hint", [
    ("eth0,eth0", "listed twice"), ("a-very-long-interface", "at most 15"),
    ("eth0,any", "cannot be combined"), ("../x", "no '/'"), ("eth0,", "empty entry"),
])
def test_interface_errors(text, hint):
    message = error_of(parse_interfaces, text)
    assert message.startswith("-i '")
    assert hint in message


# --- numbers and cross-field rules of copy ---------------------------------------------------------


def test_copy_defaults():
    config = copy_config()
    assert (config.copies, config.sample_percent, config.session_timeout,
            config.keepalive_timeout, config.mtu, config.mss, config.memory_limit_mb) == (
        1, 100, 600.0, 720.0, 1500, 1460, 2048)
    assert config.port_slice == PortSlice(0, 1)
    assert config.intercepts == (Endpoint(ip("10.0.0.3"), DEFAULT_INTERCEPT_PORT),)
    assert config.warnings == ()


def test_copy_values_are_taken():
    config = copy_config(copies="2", port_slice="2/4", sample_percent="30",
                         only_full_sessions=True, no_response_wait=True, session_timeout="5.5",
                         mtu="9000", mss="8960", offline_file="a.pcap", acceleration="2.5",
                         gap_threshold_ms="500", log_file="/tmp/x.log", daemon=True,
                         pid_file="/run/x.pid", memory_limit_mb="512")
    assert (config.copies, config.port_slice, config.sample_percent, config.only_full_sessions,
            config.no_response_wait, config.session_timeout, config.keepalive_timeout,
            config.mtu, config.mss, config.offline_file, config.acceleration,
            config.gap_threshold_ms, config.log_file, config.daemon, config.pid_file,
            config.memory_limit_mb) == (
        2, PortSlice(2, 4), 30, True, True, 5.5, 125.5, 9000, 8960, "a.pcap", 2.5, 500,
        "/tmp/x.log", True, "/run/x.pid", 512)
    assert config.warnings == ()


def test_keepalive_explicit():
    assert copy_config(session_timeout="10", keepalive_timeout="30").keepalive_timeout == 30.0


def test_numbers_may_come_as_numbers_and_lists_as_sequences():
    config = copy_config(transfers=["80-10.0.0.2:8080", "81-10.0.0.2:8081"], copies=2,
                         session_timeout=1.5)
    assert len(config.transfers) == 2 and config.copies == 2 and config.session_timeout == 1.5


@pytest.mark.parametrize("options, flag, hint", [
    ({"copies": "0"}, "-n", "1..1023"),
    ({"copies": "1024"}, "-n", "1..1023"),
    ({"copies": "two"}, "-n", "1..1023"),
    ({"copies": "1.5"}, "-n", "whole number"),
    ({"sample_percent": "0"}, "-r", "1..100 percent of sessions (100 = all)"),
    ({"sample_percent": "101"}, "-r", "1..100"),
    ({"session_timeout": "0"}, "-t", "> 0 seconds"),
    ({"session_timeout": "-5"}, "-t", "> 0"),
    ({"session_timeout": "nan"}, "-t", "> 0"),
    ({"session_timeout": "inf"}, "-t", "> 0"),
    ({"keepalive_timeout": "0"}, "-k", "> 0"),
    ({"mtu": "575"}, "-M", "576..65535"),
    ({"mtu": "65536"}, "-M", "576..65535"),
    ({"mtu": "1000", "transfers": "80-[::2]:8080"}, "-M", "IPv6 targets need an MTU of at least 1280"),
    ({"mss": "87"}, "-D", "88..65495"),
    ({"acceleration": "0.5"}, "-a", ">= 1"),
    ({"acceleration": "fast"}, "-a", ">= 1"),
    ({"gap_threshold_ms": "-1"}, "-I", ">= 0 milliseconds"),
    ({"memory_limit_mb": "10"}, "-m", ">= 64 megabytes"),
    ({"intercept_port": "0"}, "-p", "1..65535"),
    ({"port_slice": "40"}, "-f", "0..31"),
    ({"log_file": ""}, "-l", "file path"),
    ({"pid_file": ""}, "-P", "file path"),
    ({"offline_file": ""}, "-i", "file path"),
    ({"transfers": None}, "-x", "is required"),
    ({"intercepts": ""}, "-s", "is required"),
    ({"transfers": "80-10.0.0.2"}, "-x", "target needs IP:PORT"),
    ({"client_pool": "1.2.3.*"}, "-c", "use x instead of *"),
    ({"intercepts": "10.0.0.3:99999"}, "-s", "1..65535"),
    ({"copies": True}, "-n", "'True': expected a value, not a bare switch"),
])
def test_copy_errors_name_the_flag(options, flag, hint):
    message = error_of(copy_config, **options)
    assert message.startswith(flag + " ")
    assert hint in message


def test_copies_must_fit_the_identities():
    message = error_of(copy_config, client_pool="10.9.8.1", port_slice="0/256", copies="300")
    assert message == ("-n 300: 1 IPv4 -c address(es) x 252 ports of the -f share give only 252 "
                       "client identities; add -c addresses or lower -n")


def test_copies_with_a_small_pool_warn_about_the_rate():
    config = copy_config(client_pool="10.9.8.1", copies="100")
    assert any(w.startswith("-n 100 with 1 IPv4 -c address(es) x 64512 ports: at most ~10.8 new")
               for w in config.warnings)
    assert copy_config(client_pool="10.9.8.x", copies="10").warnings == ()
    assert copy_config(copies="3", port_slice="2/4").warnings == (
        "-n 3 with each client's own address (no -c) x 16128 ports: at most ~89.6 new sessions "
        "per second per client address, since each identity rests 60 s after use",)


@pytest.mark.parametrize("options, start", [
    ({"pid_file": "/run/c.pid"}, "-P '/run/c.pid' without -d"),
    ({"acceleration": "2"}, "-a only applies to offline replay"),
    ({"gap_threshold_ms": "100"}, "-I only applies to offline replay"),
    ({"mss": "1460", "mtu": "1000"}, "-D 1460 exceeds -M 1000"),
])
def test_copy_warnings(options, start):
    assert any(w.startswith(start) for w in copy_config(**options).warnings)


def test_defaults_passed_explicitly_by_a_cli_do_not_warn():
    assert copy_config(acceleration="1", gap_threshold_ms="0", copies="1",
                       sample_percent="100", repeat="1").warnings == ()


# --- copy flags of tcpcopy that act: -H -T -g -L -F ---------------------------------------------------


def test_copy_new_flag_defaults():
    config = copy_config()
    assert (config.loopback_source, config.repeat, config.gradual, config.lonely, config.capture_filter) == (
        None, 1, False, False, None)


def test_copy_new_flag_values_are_taken():
    config = copy_config(loopback_source="10.0.0.9", repeat="3", gradual=True, lonely=True,
                         capture_filter="src net 10.1.0.0/16", offline_file="a.pcap")
    assert (config.loopback_source, config.repeat, config.gradual, config.lonely, config.capture_filter) == (
        ip("10.0.0.9"), 3, True, True, "src net 10.1.0.0/16")
    assert config.warnings == ()
    assert copy_config(transfers="80-[2001:db8::2]:8080", loopback_source="2001:db8::9").loopback_source == (
        ip("2001:db8::9"))


@pytest.mark.parametrize("options, flag, hint", [
    ({"loopback_source": "127.0.0.2"}, "-H", "must not be a loopback address"),
    ({"loopback_source": "::1"}, "-H", "must not be a loopback address"),
    ({"loopback_source": "localhost"}, "-H", "is not an IPv4 or IPv6 address"),
    ({"loopback_source": "224.0.0.1"}, "-H", "not a host address"),
    ({"repeat": "0"}, "-T", ">= 1 passes over the file"),
    ({"repeat": "twice"}, "-T", ">= 1"),
    ({"capture_filter": ""}, "-F", "expected a pcap filter expression"),
    ({"channel_connections": "0"}, "-C", "1..11 connections per intercept"),
    ({"channel_connections": "12"}, "-C", "1..11"),
    ({"default_rtt_ms": "-1"}, "-R", ">= 0 milliseconds"),
    ({"default_rtt_ms": "fast"}, "-R", ">= 0"),
    ({"session_pool_kb": "0"}, "-U", "1..63 KB"),
    ({"session_pool_kb": "64"}, "-U", "1..63"),
    ({"capture_buffer_mb": "0"}, "-B", "1..1024 MB"),
    ({"snaplen": "0"}, "-S", ">= 1 bytes"),
    ({"output_device": "eth0,eth1"}, "-o", "one interface name"),
    ({"output_device": "any"}, "-o", "one interface name"),
    ({"output_device": "a/b"}, "-o", "not an interface name"),
])
def test_copy_new_flag_errors(options, flag, hint):
    message = error_of(copy_config, **options)
    assert message.startswith(flag + " ") and hint in message


@pytest.mark.parametrize("options, line", [
    ({"repeat": "2"}, "-T only applies to offline replay (-i FILE); ignored"),
    ({"loopback_source": "10.0.0.9", "client_pool": "10.9.8.x"},
     "-H 10.0.0.9: no visible effect with -c: -c rewrites every client address, loopback ones included"),
    ({"loopback_source": "10.0.0.9", "transfers": "80-127.0.0.1:8080"},
     "-H 10.0.0.9: no effect: no -x target is a non-loopback IPv4 address (only sessions towards such "
     "targets leave loopback)"),
    ({"loopback_source": "2001:db8::9"}, "-H 2001:db8::9: no effect: no -x target is a non-loopback IPv6"),
    ({"channel_connections": "4"},
     "-C 4: accepted for compatibility, no effect: pyreplay opens one channel connection per intercept; "
     "responses arrive batched on it and one process reads them"),
    ({"default_rtt_ms": "5"}, "-R 5: accepted for compatibility, no effect: the original never applied it"),
    ({"session_pool_kb": "2"}, "-U 2: accepted for compatibility, no effect: pyreplay has no per-session "
                               "memory pool; -m limits the whole process"),
    ({"snaplen": "65535"}, "-S 65535: accepted for compatibility, no effect: pyreplay captures whole packets"),
    ({"output_device": "eth1"}, "-o eth1: accepted for compatibility, no effect: pyreplay sends through a raw "
                                "IP socket"),
])
def test_copy_flags_without_effect_say_so_in_exactly_one_line(options, line):
    warnings = copy_config(**options).warnings
    assert len(warnings) == 1 and warnings[0].startswith(line), warnings
    assert "\n" not in warnings[0]


def test_capture_buffer_sizes_the_bpf_ring_in_power_of_two_megabytes():
    assert copy_config().capture_buffer_mb == 16  # tcpcopy's -B default
    assert copy_config(capture_buffer_mb="64").capture_buffer_mb == 64
    assert copy_config(capture_buffer_mb="64").warnings == ()
    with pytest.raises(ConfigError, match=r"^-B 100: the capture ring buffer must be a power of two in MB "
                                          r"\(1, 2, 4, \.\.\. 1024\), e\.g\. -B 128$"):
        copy_config(capture_buffer_mb="100")
    with pytest.raises(ConfigError, match="-B"):
        copy_config(capture_buffer_mb="2048")


def test_compatibility_flags_absent_or_not_given_say_nothing():
    assert copy_config(channel_connections=None, default_rtt_ms=None, session_pool_kb=None,
                       capture_buffer_mb=None, snaplen=None, output_device=None).warnings == ()


def test_configs_are_frozen():
    config = copy_config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.copies = 2  # type: ignore[misc]


@settings(max_examples=300)
@given(st.dictionaries(
    st.sampled_from(["transfers", "intercepts", "client_pool", "copies", "port_slice",
                     "sample_percent", "session_timeout", "mtu", "mss", "acceleration",
                     "loopback_source", "repeat", "capture_filter", "channel_connections",
                     "default_rtt_ms", "session_pool_kb", "capture_buffer_mb", "snaplen",
                     "output_device"]),
    st.text(alphabet="0123456789.:-,/[]*xa f", max_size=20)))
def test_any_text_is_a_config_or_a_config_error(options):
    options.setdefault("transfers", "80-10.0.0.2:8080")
    options.setdefault("intercepts", "10.0.0.3")
    try:
        CopyConfig.from_options(**options)
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("-")


FUZZ_TEXT = st.text(alphabet="0123456789abcdefx.:-,/[]*@% f", max_size=40)


@settings(max_examples=500)
@given(FUZZ_TEXT, st.sampled_from([parse_transfers, parse_client_pool, parse_intercepts,
                                   parse_port_slice, parse_interfaces, parse_dockered]))
def test_parsers_raise_only_config_errors(text, parser):
    try:
        parser(text)
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("-")


def test_ipv4_mapped_x_form_is_rejected():
    assert "IPv4 only" in error_of(parse_client_pool, "::ffff:1.2.3.x")


# --- intercept ----------------------------------------------------------------------------------


def test_intercept_config():
    config = InterceptConfig.from_options(interfaces="eth1", filter="tcp and src port 8080",
                                          port="4000", bind="10.0.0.3", daemon=True,
                                          pid_file="/run/i.pid", log_file="i.log")
    assert config == InterceptConfig(("eth1",), "tcp and src port 8080", 4000, ip("10.0.0.3"),
                                     "i.log", True, "/run/i.pid")
    assert config.warnings == ()
    defaults = InterceptConfig.from_options()
    assert (defaults.interfaces, defaults.port, defaults.bind) == ((), 36524, None)
    assert InterceptConfig.from_options(bind="0.0.0.0").bind is None
    assert InterceptConfig.from_options(bind="[::1]").bind == ip("::1")
    assert InterceptConfig.from_options(pid_file="p").warnings[0].startswith("-P 'p' without -d")


@pytest.mark.parametrize("options, flag", [
    ({"port": "0"}, "-p"), ({"bind": "any"}, "-b"), ({"bind": "224.0.0.1"}, "-b"),
    ({"filter": ""}, "-F"), ({"interfaces": "eth0,eth0"}, "-i"),
])
def test_intercept_errors_name_the_flag(options, flag):
    assert error_of(InterceptConfig.from_options, **options).startswith(flag + " ")


def test_intercept_flags_of_the_original_that_act():
    config = InterceptConfig.from_options(combine="16", delay_capacity="65536",
                                          dockered="172.17.0.5-10.9.0.5, 172.17.0.6-10.9.0.6",
                                          route_timeout="30")
    assert (config.combine, config.delay_capacity, config.route_timeout) == (16, 65536, 30.0)
    assert config.dockered == ((ip("172.17.0.5"), ip("10.9.0.5")), (ip("172.17.0.6"), ip("10.9.0.6")))
    assert config.warnings == ()
    defaults = InterceptConfig.from_options()
    assert (defaults.combine, defaults.delay_capacity, defaults.dockered, defaults.route_timeout) == (
        None, None, (), None)


@pytest.mark.parametrize("text, combine", [("0", 1), ("1", 1), ("6", 6), (str(MAX_COMBINE), MAX_COMBINE)])
def test_intercept_combine_zero_and_one_send_each_response_at_once(text, combine):
    assert InterceptConfig.from_options(combine=text).combine == combine


def test_intercept_combine_limit_fits_one_channel_frame():
    assert MAX_COMBINE <= max_responses_per_frame()


@pytest.mark.parametrize("options, flag, hint", [
    ({"combine": "-1"}, "-n", "0..1024"), ({"combine": "1025"}, "-n", "0..1024"),
    ({"combine": "many"}, "-n", "0..1024"),
    ({"delay_capacity": "0"}, "-s", "1..16777216"), ({"delay_capacity": "16777217"}, "-s", "1..16777216"),
    ({"route_timeout": "0"}, "-t", "> 0 seconds"), ({"route_timeout": "soon"}, "-t", "> 0 seconds"),
    ({"dockered": "172.17.0.5"}, "-D", "needs DOCKER_IP-ORIGINAL_IP"),
    ({"dockered": "172.17.0.5-10.9.0.5-1"}, "-D", "needs DOCKER_IP-ORIGINAL_IP"),
    ({"dockered": "172.17.0.5-172.17.0.5"}, "-D", "the two addresses are the same"),
    ({"dockered": "172.17.0.5-2001:db8::5"}, "-D", "same family"),
    ({"dockered": "172.17.0.5-10.9.0.5,172.17.0.5-10.9.0.6"}, "-D", "already rewritten"),
    ({"dockered": "docker-10.9.0.5"}, "-D", "'docker' is not an IPv4 or IPv6 address"),
    ({"dockered": "172.17.0.5-0.0.0.0"}, "-D", "not a host address"),
    ({"dockered": ""}, "-D", "empty entry"),
    ({"pass_through": "10.0.0.9,x"}, "-x", "'x' is not an IPv4 or IPv6 address"),
    ({"queue_length": "-2"}, "-q", ">= -1"), ({"queue_length": "long"}, "-q", ">= -1"),
])
def test_intercept_new_flag_errors(options, flag, hint):
    message = error_of(InterceptConfig.from_options, **options)
    assert message.startswith(flag + " ") and hint in message


ROUTE_FREE = dict(route_free=True, pool="198.19.0.0/24", filter="tcp and src port 8080", interfaces="veth0")


def test_intercept_route_free_dockered_address_must_be_in_the_pool():
    config = InterceptConfig.from_options(dockered="198.19.0.77-10.9.0.5", **ROUTE_FREE)
    assert config.dockered == ((ip("198.19.0.77"), ip("10.9.0.5")),)
    assert error_of(InterceptConfig.from_options, dockered="172.17.0.5-10.9.0.5", **ROUTE_FREE) == (
        "-D '172.17.0.5-10.9.0.5': 172.17.0.5 must be inside --pool: route-free intercept only takes "
        "responses addressed to --pool")


def test_intercept_pass_through_addresses_inside_the_route_free_pool_are_an_error():
    assert "198.19.0.9 is inside --pool" in error_of(InterceptConfig.from_options, pass_through="198.19.0.9",
                                                     **ROUTE_FREE)
    assert InterceptConfig.from_options(pass_through="10.0.0.9", **ROUTE_FREE).warnings[0].startswith("-x 10.0.0.9: ")


@pytest.mark.parametrize("options, line", [
    ({"pass_through": "10.0.0.9,10.0.0.10"},
     "-x 10.0.0.9,10.0.0.10: accepted for compatibility, no effect: responses to these addresses pass "
     "untouched already: pyreplay intercept only swallows responses to --pool (route-free)"),
    ({"queue_length": "2048"},
     "-q 2048: accepted for compatibility, no effect: pyreplay uses no NFQUEUE: route-free intercept takes "
     "responses at tc egress in the kernel"),
    ({"queue_length": "-1"}, "-q -1: accepted for compatibility, no effect: "),
    ({"protect_connections": True},
     "-c: accepted for compatibility, no effect: pyreplay intercept serves every copy/burn process at once "
     "and a newcomer never displaces another"),
])
def test_intercept_compatibility_flags_say_so_in_one_line(options, line):
    warnings = InterceptConfig.from_options(**options).warnings
    assert len(warnings) == 1 and warnings[0].startswith(line) and "\n" not in warnings[0]


def test_dockered_ipv6_pairs():
    assert parse_dockered("fd00::5-2001:db8::5") == ((ip("fd00::5"), ip("2001:db8::5")),)


# --- burn ---------------------------------------------------------------------------------------


def burn_config(**options) -> BurnConfig:
    base = dict(transfers="80-10.0.0.2:8080", files="a.pcap", intercepts="10.0.0.3",
                client_pool="10.2.0.x", users="100")
    base.update(options)
    return BurnConfig.from_options(**base)


def test_burn_defaults_and_values():
    config = burn_config()
    assert (len(config.client_pool), config.users, config.rate, config.session_timeout,
            config.layout, config.port_seed, config.loops, config.duration, config.comet) == (
        254, 100, 1024, BURN_DEFAULT_TIMEOUT, UserLayout.IP_FIRST, 0, 1, None, False)
    config = burn_config(files="a.pcap,b.pcap", rate="50", acceleration="2", session_timeout="30",
                         mtu="1400", layout="1", port_seed="7", comet=True, loops="0",
                         duration="90", log_file="b.log")
    assert (config.files, config.rate, config.acceleration, config.session_timeout, config.mtu,
            config.layout, config.port_seed, config.comet, config.loops, config.duration) == (
        ("a.pcap", "b.pcap"), 50, 2.0, 30.0, 1400, UserLayout.PORT_FIRST, 7, True, 0, 90.0)
    assert config.warnings == ()


def test_burn_file_sequence_is_taken_literally():
    assert burn_config(files=["a,1.pcap", "b.pcap"]).files == ("a,1.pcap", "b.pcap")


def test_burn_users_must_fit_the_pool():
    assert burn_config(client_pool="10.2.0.1", users="28233").users == 28233
    assert error_of(burn_config, client_pool="10.2.0.1,10.2.0.5", users="100000") == (
        "-u 100000: needs at least 4 client addresses (28233 ports each), -c gives 2")


def test_burn_endless_loop_warns():
    assert burn_config(loops="0").warnings == (
        "--loop 0 without --duration: replays until interrupted",)


@pytest.mark.parametrize("options, flag", [
    ({"users": None}, "-u"), ({"users": "0"}, "-u"), ({"client_pool": None}, "-c"),
    ({"files": None}, "-f"), ({"files": ""}, "-f"), ({"files": []}, "-f"),
    ({"rate": "0"}, "-i"), ({"acceleration": "0"}, "-a"), ({"session_timeout": "0"}, "-t"),
    ({"mtu": "100"}, "-M"), ({"layout": "8"}, "-m"), ({"port_seed": "-1"}, "-e"),
    ({"loops": "-1"}, "--loop"), ({"duration": "0"}, "--duration"), ({"transfers": "80"}, "-x"),
    ({"intercepts": None}, "-s"), ({"client_pool": "10.0.0.2"}, "-c"),
])
def test_burn_errors_name_the_flag(options, flag):
    assert error_of(burn_config, **options).startswith(flag + " ")


def test_burn_ignitions_per_ms_cap_the_start_rate_like_tcpburn():
    assert burn_config().start_rate == 1024 and burn_config().ignitions_per_ms is None
    capped = burn_config(rate="5000", ignitions_per_ms="2")
    assert (capped.rate, capped.ignitions_per_ms, capped.start_rate) == (5000, 2, 2000)
    assert capped.warnings == ("-A 2 caps the start rate at 2000 connections per second, below -i 5000 "
                               "(tcpburn starts at most -A per 1 ms tick)",)
    roomy = burn_config(rate="500", ignitions_per_ms="1")
    assert roomy.start_rate == 500 and roomy.warnings == ()


def test_burn_topology_daemon_and_pid_file():
    config = burn_config(topology_window="6", daemon=True, pid_file="/run/b.pid")
    assert (config.topology_window, config.daemon, config.pid_file) == (6.0, True, "/run/b.pid")
    assert config.warnings == ()
    assert burn_config(topology_window="0").topology_window == 0.0
    defaults = burn_config()
    assert (defaults.topology_window, defaults.daemon, defaults.pid_file) == (None, False, None)
    assert burn_config(pid_file="b.pid").warnings[0].startswith("-P 'b.pid' without -d")


@pytest.mark.parametrize("options, flag, hint", [
    ({"ignitions_per_ms": "0"}, "-A", ">= 1 connection starts per millisecond"),
    ({"ignitions_per_ms": "x"}, "-A", ">= 1"),
    ({"topology_window": "-1"}, "-T", ">= 0 seconds"),
    ({"topology_window": "nan"}, "-T", ">= 0 seconds"),
    ({"mss": "87"}, "-S", "88..65495"),
    ({"channel_connections": "17"}, "-C", "1..16 connections per intercept"),
    ({"output_device": ""}, "-o", "one interface name"),
    ({"pid_file": ""}, "-P", "file path"),
])
def test_burn_new_flag_errors(options, flag, hint):
    message = error_of(burn_config, **options)
    assert message.startswith(flag + " ") and hint in message


@pytest.mark.parametrize("options, line", [
    ({"mss": "1460"}, "-S 1460: accepted for compatibility, no effect: burn replays each captured SYN with "
                      "its own options"),
    ({"channel_connections": "16"}, "-C 16: accepted for compatibility, no effect: pyreplay opens one "
                                    "channel connection per intercept"),
    ({"output_device": "eth1"}, "-o eth1: accepted for compatibility, no effect: pyreplay sends through a "
                                "raw IP socket"),
])
def test_burn_flags_without_effect_say_so_in_exactly_one_line(options, line):
    warnings = burn_config(**options).warnings
    assert len(warnings) == 1 and warnings[0].startswith(line), warnings


# --- tcpcopy / tcpburn command lines from the reference work unchanged ---------------------------

COPY_FLAGS = {
    "-x": "transfers", "-s": "intercepts", "-p": "intercept_port", "-c": "client_pool",
    "-n": "copies", "-f": "port_slice", "-r": "sample_percent", "-t": "session_timeout",
    "-k": "keepalive_timeout", "-M": "mtu", "-D": "mss", "-i": "offline_file",
    "-a": "acceleration", "-I": "gap_threshold_ms", "-l": "log_file", "-P": "pid_file",
    "-m": "memory_limit_mb", "-H": "loopback_source", "-T": "repeat", "-F": "capture_filter",
    "-C": "channel_connections", "-R": "default_rtt_ms", "-U": "session_pool_kb",
    "-B": "capture_buffer_mb", "-S": "snaplen", "-o": "output_device",
}
COPY_SWITCHES = {"-O": "only_full_sessions", "-W": "no_response_wait", "-d": "daemon", "-g": "gradual",
                 "-L": "lonely"}
# tcpcopy's getopt string (src/tcpcopy/main.c) without -h/-v, which exit before any config
TCPCOPY_GETOPT = "x:s:p:c:n:f:r:t:k:M:D:i:a:I:l:P:m:H:T:F:C:R:U:B:S:o:OWdgL"


def tcpcopy(command_line: str) -> CopyConfig:
    """What a thin CLI does: map each tcpcopy flag to its option, pass the text through."""
    opts, rest = getopt.getopt(shlex.split(command_line), TCPCOPY_GETOPT)
    assert rest == []
    options = {COPY_FLAGS[f]: v for f, v in opts if f in COPY_FLAGS}
    options.update({COPY_SWITCHES[f]: True for f, _ in opts if f in COPY_SWITCHES})
    assert len(options) == len(opts), "a flag of the command line has no option"
    return CopyConfig.from_options(**options)


def test_tcpcopy_classic_command_line():
    config = tcpcopy("-x 80-10.0.0.2:8080 -s 10.0.0.3 -c 62.135.200.x")
    assert config.transfers == (Transfer(None, 80, ip("10.0.0.2"), 8080),)
    assert config.intercepts == (Endpoint(ip("10.0.0.3"), 36524),)
    assert len(config.client_pool) == 254 and config.warnings == ()


@pytest.mark.parametrize("line", [
    "-x 10.0.0.5:80-10.0.1.1:8080,81-10.0.1.2:9090 -s 10.0.0.3",
    "-x 80-10.0.0.2:8080 -s 10.0.0.3:36524,10.0.0.4 -c 10.9.8.x -n 3 -r 30 -d -P /run/tcpcopy.pid",
    "-x 80-10.0.0.2:8080 -s 10.0.0.3 -c 10.9.8.1 -O -W -t 5 -k 60 -M 1500 -D 1460 -m 1024",
    "-x 80-10.0.0.2:8080 -s 10.0.0.3 -i online.pcap -a 2 -I 500 -l copy.log",
    "-x 80-10.0.0.2:8080 -s 10.0.0.3 -c 10.9.8.x -f 1",
    "-x 80-10.0.0.2:8080 -s 10.0.0.3 -c 10.1.2.x -n 2 -f 1 -U 2 -C 4 -L -R 5 -i f.pcap -T 2 -a 10",
    "-x 80-10.0.0.2:8080 -s 10.0.0.3 -H 10.0.0.9 -g -r 50 -F 'tcp and dst port 80' -B 64 -S 65535",
    "-x 80@00:11:22:33:44:55-10.0.0.2:8080@66:77:88:99:aa:bb -s 10.0.0.3 -o eth1",
])
def test_tcpcopy_reference_command_lines(line):
    if "@" in line:  # --pcap-send builds: the MAC form is the one thing refused, in one line
        assert "MAC addresses" in error_of(tcpcopy, line)
        return
    tcpcopy(line)


def test_tcpcopy_command_line_of_the_task_keeps_every_value():
    config = tcpcopy("-x 80-10.0.0.2:8080 -s 10.0.0.3 -c 10.1.2.x -n 2 -f 1 -U 2 -C 4 -L -R 5 -i f.pcap "
                     "-T 2 -a 10")
    assert (config.copies, config.port_slice, config.lonely, config.offline_file, config.repeat,
            config.acceleration) == (2, PortSlice(1, 32), True, "f.pcap", 2, 10.0)
    assert [w.split(":")[0] for w in config.warnings] == ["-C 4", "-R 5", "-U 2"]


INTERCEPT_FLAGS = {"-i": "interfaces", "-F": "filter", "-p": "port", "-b": "bind", "-l": "log_file",
                   "-P": "pid_file", "-n": "combine", "-s": "delay_capacity", "-D": "dockered",
                   "-t": "route_timeout", "-x": "pass_through", "-q": "queue_length"}
INTERCEPT_SWITCHES = {"-d": "daemon", "-c": "protect_connections"}


@pytest.mark.parametrize("line", [
    "-i eth1 -F 'tcp and src port 8080' -d -l intercept.log",
    "-F 'tcp and src port 8080' -n 6 -s 131072 -D 172.17.0.2-10.9.0.2 -b 10.0.0.3 -p 36524",
    "-x 10.0.0.9,10.0.0.10 -q 2048 -c -t 120 -P /run/intercept.pid -d",
])
def test_intercept_reference_command_lines(line):
    opts, rest = getopt.getopt(shlex.split(line), "i:F:p:b:l:P:n:s:D:t:x:q:dc")
    assert rest == []
    options = {INTERCEPT_FLAGS[f]: v for f, v in opts if f in INTERCEPT_FLAGS}
    options.update({INTERCEPT_SWITCHES[f]: True for f, _ in opts if f in INTERCEPT_SWITCHES})
    assert len(options) == len(opts)
    InterceptConfig.from_options(**options)


def test_tcpburn_reference_command_line():
    opts, _ = getopt.getopt(shlex.split(
        "-x 80-10.0.0.2:8080 -f a.pcap -s 10.0.0.3 -u 100 -c 10.2.0.x -i 50"), "x:f:s:u:c:i:")
    names = {"-x": "transfers", "-f": "files", "-s": "intercepts", "-u": "users",
             "-c": "client_pool", "-i": "rate"}
    config = BurnConfig.from_options(**{names[f]: v for f, v in opts})
    assert (config.users, config.rate, len(config.client_pool)) == (100, 50, 254)


BURN_FLAGS = {"-x": "transfers", "-f": "files", "-s": "intercepts", "-u": "users", "-c": "client_pool",
              "-i": "rate", "-p": "intercept_port", "-a": "acceleration", "-t": "session_timeout",
              "-M": "mtu", "-m": "layout", "-e": "port_seed", "-l": "log_file", "-A": "ignitions_per_ms",
              "-T": "topology_window", "-P": "pid_file", "-S": "mss", "-C": "channel_connections",
              "-o": "output_device"}


def test_tcpburn_command_line_with_every_flag():
    opts, rest = getopt.getopt(shlex.split(
        "-x 80-10.0.0.2:8080 -f a.pcap,b.pcap -s 10.0.0.3 -p 36524 -u 1000 -c 10.2.0.x -i 1024 -a 2 -t 120 "
        "-M 1500 -m 1 -e 7 -A 3 -T 6 -S 1460 -C 2 -l burn.log -P /run/burn.pid -d"), "x:f:s:p:u:c:i:a:t:M:m:e:A:T:S:C:l:P:o:d")
    assert rest == []
    options = {BURN_FLAGS[f]: v for f, v in opts if f in BURN_FLAGS}
    options["daemon"] = ("-d", "") in opts
    config = BurnConfig.from_options(**options)
    assert (config.start_rate, config.topology_window, config.daemon, config.layout) == (
        1024, 6.0, True, UserLayout.PORT_FIRST)
    assert [w.split(":")[0] for w in config.warnings] == ["-S 1460", "-C 2"]
