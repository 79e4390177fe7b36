"""Our own recordings of device quirks on snmpsim (tests/data/snmp): values by what they mean,
sentinels and implausible readings as unknown, strings that are not UTF-8, counters and
reboots between two polls."""

from __future__ import annotations

import pytest
from support.snmp_agents import SnmpsimAgent

from netwatch.samples import SnmpErrorKind
from netwatch.snmp.client import SnmpClient
from netwatch.snmp.counters import (
    CounterChange,
    Reboot,
    UptimeSample,
    counter_change,
    detect_reboot,
)
from netwatch.snmp.profiles import parse_profile, read_profile
from netwatch.snmp.text import display_text, one_line

Q = "1.3.6.1.4.1.99999"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
COUNTER = f"{Q}.4.1.0"


def _temperature_profile(oid: str, extra: str = "") -> str:
    return (
        'name = "q"\n[[temperature]]\n'
        f'value = "{oid}"\nsigned = true\nminimum = -40\nmaximum = 150\n'
        "sentinels = [2147483647, 65535, -273]\n" + extra
    )


@pytest.mark.parametrize(
    ("oid", "value", "reason"),
    [
        (f"{Q}.2.1.0", -2.0, None),  # 4294967294 as Gauge32
        (f"{Q}.2.8.0", -1.0, None),  # 4294967295
        (f"{Q}.2.2.0", None, "sentinel value 2147483647"),
        (f"{Q}.2.3.0", None, "sentinel value 65535"),
        (f"{Q}.2.4.0", None, "sentinel value -273"),
    ],
)
async def test_signed_temperatures_and_sentinels(
    snmp_client: SnmpClient,
    quirk_agent: SnmpsimAgent,
    oid: str,
    value: float | None,
    reason: str | None,
) -> None:
    profile = parse_profile(_temperature_profile(oid), origin="q.toml")

    reading = await read_profile(snmp_client, quirk_agent.target("quirks"), profile)

    temperature = reading.metrics["temperature"]
    assert temperature.value == value
    if reason is not None:
        # Invalid: neither a threshold trip nor a clear, and no temperature to show.
        assert temperature.error is not None
        assert temperature.error.kind is SnmpErrorKind.MALFORMED
        assert reason in temperature.error.message


async def test_plausibility_limits_and_absent_sensor_zero(
    snmp_client: SnmpClient, quirk_agent: SnmpsimAgent
) -> None:
    too_hot = parse_profile(
        'name = "q"\n[[temperature]]\n'
        f'value = "{Q}.2.6.0"\nminimum = -40\nmaximum = 150\nscale = 1\n',
        origin="q.toml",
    )
    zero = parse_profile(
        _temperature_profile(f"{Q}.2.5.0").replace("-273]", "-273, 0]"), origin="q"
    )

    hot = (await read_profile(snmp_client, quirk_agent.target("quirks"), too_hot)).metrics
    absent = (await read_profile(snmp_client, quirk_agent.target("quirks"), zero)).metrics

    assert hot["temperature"].value is None
    assert "implausible value 420 (above 150)" in str(hot["temperature"].error)
    assert absent["temperature"].value is None
    assert "sentinel value 0" in str(absent["temperature"].error)


async def test_gauge_sent_as_counter32_and_counter64_stays_unsigned(
    snmp_client: SnmpClient, quirk_agent: SnmpsimAgent
) -> None:
    profile = parse_profile(
        f'name = "q"\n[[cpu]]\nvalue = "{Q}.2.6.0"\nscale = 0.1\n'
        f'[[temperature]]\nvalue = "{Q}.2.7.0"\nsigned = true\n',
        origin="q.toml",
    )

    reading = await read_profile(snmp_client, quirk_agent.target("quirks"), profile)

    assert reading.metrics["cpu"].value == pytest.approx(42.0)
    assert reading.metrics["temperature"].value == pytest.approx(18446744073709551610)  # unsigned


async def test_hottest_valid_sensor_of_a_table_is_named(
    snmp_client: SnmpClient, quirk_agent: SnmpsimAgent
) -> None:
    profile = parse_profile(
        'name = "q"\n[[temperature]]\n'
        f'value = "{Q}.3.1.1.3"\nkind = "table"\nlabel = "{Q}.3.1.1.2"\ncombine = "max"\n'
        "signed = true\nsentinels = [0]\nminimum = -40\nmaximum = 150\n",
        origin="q.toml",
    )

    reading = await read_profile(snmp_client, quirk_agent.target("quirks"), profile)

    temperature = reading.metrics["temperature"]
    assert temperature.value == 41.0
    assert temperature.source == f"highest of 2 rows of {Q}.3.1.1.3: 'board'"


async def test_non_utf8_strings_decode_and_display(
    snmp_client: SnmpClient, quirk_agent: SnmpsimAgent
) -> None:
    result = await snmp_client.get(
        quirk_agent.target("quirks"), ["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.5.0"]
    )

    assert result.error is None
    descr, name = (varbind.value for varbind in result.varbinds)
    assert isinstance(descr, bytes) and isinstance(name, bytes)
    assert display_text(descr) == "Acme® Radio ÿ\nmodel 7"
    assert one_line(descr) == "Acme® Radio ÿ | model 7"
    assert display_text(name) == "roofÿ"


async def test_reboot_and_counter_reset_between_two_recordings(
    snmp_client: SnmpClient, quirk_agent: SnmpsimAgent
) -> None:
    before = await snmp_client.get(quirk_agent.target("quirks"), [SYS_UPTIME, COUNTER])
    rebooted = await snmp_client.get(quirk_agent.target("quirks-rebooted"), [SYS_UPTIME, COUNTER])
    wrapped = await snmp_client.get(quirk_agent.target("quirks-wrapped"), [SYS_UPTIME, COUNTER])
    (up0, c0), (up1, c1), (up2, c2) = (
        tuple(int(varbind.value) for varbind in result.varbinds)  # type: ignore[arg-type]
        for result in (before, rebooted, wrapped)
    )
    polled_at, next_poll = 1_000_000.0, 1_000_060.0

    reboot = detect_reboot(UptimeSample(up0, polled_at), UptimeSample(up1, next_poll))
    no_reboot = detect_reboot(UptimeSample(up0, polled_at), UptimeSample(up2, next_poll))

    assert reboot == Reboot(booted_at=next_poll - 180)
    assert reboot is not None and reboot.describe(next_poll) == "rebooted 3 min ago"
    assert no_reboot is None
    assert counter_change(c0, c1, bits=32, agent_restarted=True) == CounterChange(
        None, "agent restarted: counter started over"
    )
    assert counter_change(c0, c2, bits=32, agent_restarted=False) == CounterChange(
        1000, "Counter32 wrapped"
    )


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        # sysUpTime wrapped past 2^32 ticks (497 days) one minute later: not a reboot.
        (UptimeSample(2**32 - 3000, 0.0), UptimeSample(3000, 60.0), None),
        (UptimeSample(2**32 - 3000, 0.0), UptimeSample(500, 600.0), Reboot(595.0)),
        (UptimeSample(100, 0.0), UptimeSample(6100, 60.0), None),
    ],
)
def test_uptime_wrap_is_not_a_reboot(
    previous: UptimeSample, current: UptimeSample, expected: Reboot | None
) -> None:
    assert detect_reboot(previous, current) == expected


@pytest.mark.parametrize(
    ("previous", "current", "bits", "expected"),
    [
        (10, 25, 32, CounterChange(15)),
        (2**64 - 10, 5, 64, CounterChange(None, "Counter64 went down: counter was reset")),
        (2**64 - 10, 2**64 - 1, 64, CounterChange(9)),
    ],
)
def test_counter_changes(previous: int, current: int, bits: int, expected: CounterChange) -> None:
    assert counter_change(previous, current, bits=bits, agent_restarted=False) == expected
