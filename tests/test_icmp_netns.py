"""Real packets between network namespaces this test creates (TEST-NET addresses only), with the
pinger running inside the source namespace."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.netns import NetnsLab

pytestmark = pytest.mark.netns

OPEN_PING_GROUPS = "0 2147483647"
# Hang guard only: a request must end on its ICMP error, long before this reply timeout.
LONG_TIMEOUT = 600.0


def by_address(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert "results" in report, report
    return {result["address"]: result for result in report["results"]}


def test_silent_host_loses_everything(netns_lab: NetnsLab) -> None:
    source = netns_lab.namespace("src")
    target = netns_lab.namespace("dst")
    netns_lab.link(
        source, ["198.51.100.1/24", "2001:db8::1/64"], target, ["198.51.100.2/24", "2001:db8::2/64"]
    )
    addresses = ["198.51.100.2", "2001:db8::2"]

    # Control: the same path answers while the target still replies to pings.
    for result in by_address(netns_lab.ping_from(source, addresses, count=2, timeout=2.0)).values():
        assert (result["sent"], result["received"], result["error"]) == (2, 2, None)

    netns_lab.sysctl(target, "net.ipv4.icmp_echo_ignore_all", "1")
    netns_lab.sysctl(target, "net.ipv6.icmp.echo_ignore_all", "1")
    results = by_address(netns_lab.ping_from(source, addresses, count=3, timeout=0.5))

    for address in addresses:
        result = results[address]
        assert (result["sent"], result["received"], result["rtts_ms"]) == (3, 0, [])
        assert result["error"] is None


def build_routed_pair(lab: NetnsLab) -> tuple[str, str]:
    """source ── router; the source reaches 198.51.100.0/24 and 2001:db8:1::/48 via the router."""
    source = lab.namespace("src")
    router = lab.namespace("rtr")
    lab.link(
        source, ["198.51.100.1/30", "2001:db8::1/64"], router, ["198.51.100.2/30", "2001:db8::2/64"]
    )
    lab.exec(source, "ip", "route", "add", "198.51.100.0/24", "via", "198.51.100.2")
    lab.exec(source, "ip", "-6", "route", "add", "2001:db8:1::/48", "via", "2001:db8::2")
    for key, value in [
        ("net.ipv4.ip_forward", "1"),
        ("net.ipv6.conf.all.forwarding", "1"),
        # Linux rate-limits ICMP errors per destination by default.
        ("net.ipv4.icmp_ratelimit", "0"),
        ("net.ipv6.icmp.ratelimit", "0"),
    ]:
        lab.sysctl(router, key, value)
    return source, router


# Each case gets fresh namespaces: IPv4 also rate-limits errors for unreachable/prohibit routes
# per source host (a burst of 5, then 1/s, not tunable per namespace), so cases must not share.
@pytest.mark.parametrize("socket_kind", ["raw", "dgram"])
@pytest.mark.parametrize(
    ("route_type", "prefix", "address", "expected_error"),
    [
        (
            "unreachable",
            "198.51.100.128/25",
            "198.51.100.200",
            "host unreachable (reported by 198.51.100.2)",
        ),
        (
            "prohibit",
            "198.51.100.64/26",
            "198.51.100.70",
            "communication administratively prohibited (reported by 198.51.100.2)",
        ),
        (
            "unreachable",
            "2001:db8:1::/64",
            "2001:db8:1::9",
            "no route to destination (reported by 2001:db8::2)",
        ),
        (
            "prohibit",
            "2001:db8:1:1::/64",
            "2001:db8:1:1::9",
            "communication administratively prohibited (reported by 2001:db8::2)",
        ),
    ],
)
def test_router_reports_unreachable_and_ends_the_wait(
    netns_lab: NetnsLab,
    socket_kind: str,
    route_type: str,
    prefix: str,
    address: str,
    expected_error: str,
) -> None:
    source, router = build_routed_pair(netns_lab)
    netns_lab.exec(
        router, "ip", "-6" if ":" in prefix else "-4", "route", "add", route_type, prefix
    )
    if socket_kind == "dgram":
        netns_lab.sysctl(source, "net.ipv4.ping_group_range", OPEN_PING_GROUPS)

    report = netns_lab.ping_from(
        source, [address], count=3, timeout=LONG_TIMEOUT, socket_kind=socket_kind
    )

    assert report["socket_kinds"] == {"v4": socket_kind, "v6": socket_kind}
    result = by_address(report)[address]
    assert (result["sent"], result["received"], result["error"]) == (3, 0, expected_error)


def test_datagram_sockets_are_used_when_raw_is_not_permitted(netns_lab: NetnsLab) -> None:
    namespace = netns_lab.namespace("dgram")
    netns_lab.sysctl(namespace, "net.ipv4.ping_group_range", OPEN_PING_GROUPS)

    report = netns_lab.ping_from(
        namespace, ["127.0.0.1", "::1", "127.9.8.7"], timeout=2.0, without_net_raw=True
    )

    assert report["socket_kinds"] == {"v4": "dgram", "v6": "dgram"}
    for result in by_address(report).values():
        assert (result["sent"], result["received"], result["error"]) == (3, 3, None)


def test_without_any_icmp_permission_the_error_says_what_to_do(netns_lab: NetnsLab) -> None:
    namespace = netns_lab.namespace("noperm")
    netns_lab.sysctl(namespace, "net.ipv4.ping_group_range", "1 0")

    report = netns_lab.ping_from(namespace, ["127.0.0.1"], without_net_raw=True)

    assert report.get("exception") == "IcmpPermissionError", report
    assert "setcap cap_net_raw+ep /" in report["message"]
    assert 'sysctl -w net.ipv4.ping_group_range="0 2147483647"' in report["message"]


def test_namespaces_are_removed_afterwards() -> None:
    lab = NetnsLab()
    try:
        name = lab.namespace("gone")
        assert name in netns_names()
    finally:
        lab.close()
    assert name not in netns_names()


def netns_names() -> set[str]:
    from support.netns import run_command

    return {line.split()[0] for line in run_command("ip", "netns", "list").splitlines() if line}


def test_netwatch_run_without_icmp_permission_fails_at_start_with_the_advice(
    netns_lab: NetnsLab, tmp_path: Path
) -> None:
    namespace = netns_lab.namespace("norun")
    netns_lab.sysctl(namespace, "net.ipv4.ping_group_range", "1 0")
    config = tmp_path / "devices.toml"
    config.write_text(
        '[netwatch]\ninterval = "5s"\n'
        '[[devices]]\nid = "lo"\naddress = "127.0.0.1"\nprofile = "ping-only"\n'
    )

    result = subprocess.run(
        ["ip", "netns", "exec", namespace,
         "setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw", "--",
         sys.executable, "-m", "netwatch.cli", "run", "--config", str(config)],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 1, result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("netwatch: cannot open an ICMP socket"), result.stderr
    assert "setcap cap_net_raw+ep /" in last_line
    assert 'sysctl -w net.ipv4.ping_group_range="0 2147483647"' in last_line
    assert "Traceback" not in result.stderr


def test_router_rate_limiting_echo_replies_shows_as_partial_loss_not_an_outage(
    netns_lab: NetnsLab,
) -> None:
    source = netns_lab.namespace("src")
    router = netns_lab.namespace("rtr")
    netns_lab.link(source, ["198.51.100.1/24"], router, ["198.51.100.2/24"])

    control = by_address(netns_lab.ping_from(source, ["198.51.100.2"], count=8, interval=0.02))
    assert (control["198.51.100.2"]["sent"], control["198.51.100.2"]["received"]) == (8, 8)

    # Police echo replies (bit 0 of the mask) to one per second per destination, after a
    # small burst: eight requests 20 ms apart cannot all be answered.
    netns_lab.sysctl(router, "net.ipv4.icmp_ratemask", str(0x1819 | 1))
    netns_lab.sysctl(router, "net.ipv4.icmp_ratelimit", "1000")
    result = by_address(
        netns_lab.ping_from(source, ["198.51.100.2"], count=8, interval=0.02, timeout=0.5)
    )["198.51.100.2"]

    assert result["sent"] == 8
    assert 0 < result["received"] < 8, result
    assert len(result["rtts_ms"]) == result["received"]
    assert (result["duplicates"], result["error"]) == (0, None)


def test_link_cut_mid_cycle_loses_the_requests_after_the_cut(netns_lab: NetnsLab) -> None:
    source = netns_lab.namespace("src")
    target = netns_lab.namespace("dst")
    _, target_end = netns_lab.link(source, ["198.51.100.1/24"], target, ["198.51.100.2/24"])
    cut = ["ip", "netns", "exec", target, "ip", "link", "set", target_end, "down"]

    # Requests at 0, 0.3, 0.6, 0.9, 1.2, 1.5 s; the cut lands in the middle of a gap.
    report = netns_lab.ping_from(
        source, ["198.51.100.2"], count=6, interval=0.3, timeout=0.25, actions=[(0.75, cut)]
    )

    result = by_address(report)["198.51.100.2"]
    assert result["sent"] == 6
    assert 1 <= result["received"] <= 5, result
    assert (result["duplicates"], result["error"]) == (0, None)
    assert "state DOWN" in netns_lab.exec(target, "ip", "link", "show", target_end)


@pytest.mark.parametrize("socket_kind", ["raw", "dgram"])
def test_routing_loop_reports_ttl_exceeded_with_the_router_address(
    netns_lab: NetnsLab, socket_kind: str
) -> None:
    """source ── r1 ── r2, and r1 and r2 each route 198.51.100.128/25 to the other."""
    source = netns_lab.namespace("src")
    first = netns_lab.namespace("r1")
    second = netns_lab.namespace("r2")
    for router in (first, second):
        for key, value in [
            ("net.ipv4.ip_forward", "1"),
            ("net.ipv4.icmp_ratelimit", "0"),
            ("net.ipv4.conf.all.rp_filter", "0"),
            ("net.ipv4.conf.default.rp_filter", "0"),
        ]:
            netns_lab.sysctl(router, key, value)
    netns_lab.link(source, ["198.51.100.1/30"], first, ["198.51.100.2/30"])
    netns_lab.link(first, ["198.51.100.5/30"], second, ["198.51.100.6/30"])
    netns_lab.exec(source, "ip", "route", "add", "default", "via", "198.51.100.2")
    netns_lab.exec(first, "ip", "route", "add", "198.51.100.128/25", "via", "198.51.100.6")
    netns_lab.exec(second, "ip", "route", "add", "198.51.100.128/25", "via", "198.51.100.5")
    netns_lab.exec(second, "ip", "route", "add", "198.51.100.0/30", "via", "198.51.100.5")
    if socket_kind == "dgram":
        netns_lab.sysctl(source, "net.ipv4.ping_group_range", OPEN_PING_GROUPS)

    report = netns_lab.ping_from(
        source, ["198.51.100.200"], count=3, timeout=LONG_TIMEOUT, socket_kind=socket_kind
    )

    # Sent with TTL 64, the request reaches r1 with even TTLs and r2 with odd ones, so r2 sees
    # it arrive with TTL 1 and reports.
    result = by_address(report)["198.51.100.200"]
    assert (result["sent"], result["received"], result["error"]) == (
        3,
        0,
        "TTL exceeded in transit (reported by 198.51.100.6)",
    )


# Runs inside a namespace: polls every (ping-only) device of an inventory once, JSON out.
POLL_SCRIPT = """
import dataclasses, json, sys, time
from pathlib import Path
import trio
from netwatch.icmp import Pinger
from netwatch.inventory import load_inventory
from netwatch.poller import NetworkProber
from netwatch.snmp.client import SnmpClient

async def main():
    inventory = load_inventory(Path(sys.argv[1]))
    pinger = Pinger()
    async with trio.open_nursery() as nursery:
        await nursery.start(pinger.run)
        prober = NetworkProber(pinger, SnmpClient(), wall_clock=time.time)
        pings = {}
        for device in inventory.devices:
            pings[device.id] = dataclasses.asdict((await prober.poll(device)).ping)
        nursery.cancel_scope.cancel()
    return pings

print(json.dumps(trio.run(main)))
"""


def test_dns_names_first_address_that_answers_pinned_family_and_no_such_name(
    netns_lab: NetnsLab, tmp_path: Path
) -> None:
    source = netns_lab.namespace("src")
    target = netns_lab.namespace("dst")
    netns_lab.link(
        source, ["198.51.100.1/24", "2001:db8::1/64"], target, ["198.51.100.2/24", "2001:db8::2/64"]
    )
    netns_lab.sysctl(target, "net.ipv6.icmp.echo_ignore_all", "1")  # IPv6 is silent
    # Names come from the namespace's own hosts file; nsswitch without "dns" keeps every lookup
    # on this machine.
    netns_lab.etc_file(source, "hosts", "2001:db8::2 tower.test\n198.51.100.2 tower.test\n")
    netns_lab.etc_file(source, "nsswitch.conf", "hosts: files\n")
    config = tmp_path / "devices.toml"
    config.write_text(
        '[defaults]\nprofile = "ping-only"\n[defaults.ping]\ncount = 2\ninterval = "50ms"\n'
        'timeout = "300ms"\n'
        '[[devices]]\nid = "any"\naddress = "tower.test"\n'
        '[[devices]]\nid = "v6"\naddress = "tower.test"\nping = { family = "ipv6" }\n'
        '[[devices]]\nid = "gone"\naddress = "nosuch.test"\n'
    )

    pings = json.loads(netns_lab.exec(source, sys.executable, "-c", POLL_SCRIPT, str(config)))

    assert (pings["any"]["address"], pings["any"]["received"]) == ("198.51.100.2", 2)
    assert (pings["v6"]["address"], pings["v6"]["sent"], pings["v6"]["received"]) == (
        "2001:db8::2",
        2,
        0,
    )
    assert pings["gone"] == {
        "address": "nosuch.test",
        "sent": 0,
        "received": 0,
        "rtts_ms": [],
        "duplicates": 0,
        "error": "DNS: no such name (nosuch.test)",
    }
