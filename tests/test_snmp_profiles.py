"""Device profiles against snmpsim serving real recordings: the README table, exactly."""

from __future__ import annotations

import pytest
from support.snmp_agents import SnmpsimAgent

from netwatch.samples import SnmpErrorKind
from netwatch.snmp.client import SnmpClient
from netwatch.snmp.profiles import (
    PROFILE_NAMES,
    ProfileError,
    load_profile,
    parse_profile,
    read_profile,
)

# file → (profile, CPU %, temperature °C); None = not supported by the device.
# unifi's only load figure (FROGFOOT loadValue = 24) is a load average ×100, not a CPU %.
DEVICES: dict[str, tuple[str, float | None, float | None]] = {
    "routeros_rb750gr3": ("mikrotik", 6.0, 38.0),
    "routeros_crs317": ("mikrotik", 16.5, 44.0),
    "airos": ("airos", 4.0, 66.0),
    "edgeos": ("edgeos", 6.0, None),
    "unifi": ("host-resources", None, None),
    "epmp": ("cambium-epmp", 42.0, None),
    "pmp_450i": ("cambium-pmp", None, -2.0),
    "mimosa_b5": ("mimosa", None, 45.0),
    "ios_c2960s": ("cisco-ios", 12.0, None),
    "iosxe_ir1101": ("cisco-ios", None, 41.0),
    "junos_ex": ("junos", 11.0, 35.0),
    "linux_raspberrypi-gpiomonitor": ("linux", 1.75, 36.476),
}


def test_every_recording_is_covered(snmpsim_agent: SnmpsimAgent) -> None:
    assert sorted(snmpsim_agent.devices) == sorted(DEVICES)


def test_every_profile_loads() -> None:
    assert set(PROFILE_NAMES) >= {
        "mikrotik",
        "airos",
        "edgeos",
        "cambium-epmp",
        "cambium-pmp",
        "mimosa",
        "cisco-ios",
        "junos",
        "linux",
        "host-resources",
    }
    for name in PROFILE_NAMES:
        assert load_profile(name).name == name


@pytest.mark.parametrize("device", sorted(DEVICES))
async def test_device_reads_as_the_readme_says(
    snmp_client: SnmpClient, snmpsim_agent: SnmpsimAgent, device: str
) -> None:
    profile_name, cpu, temperature = DEVICES[device]

    reading = await read_profile(
        snmp_client, snmpsim_agent.target(device), load_profile(profile_name)
    )

    assert reading.error is None
    for metric, expected in (("cpu", cpu), ("temperature", temperature)):
        measured = reading.metrics[metric]
        if expected is None:
            assert measured.value is None, (metric, measured)
            assert measured.error is not None
            assert measured.error.kind is SnmpErrorKind.NOT_SUPPORTED, (metric, measured)
        else:
            assert measured.error is None, (metric, measured)
            assert measured.value == pytest.approx(expected), (metric, measured)
            assert measured.source


async def test_sources_name_the_sensor(
    snmp_client: SnmpClient, snmpsim_agent: SnmpsimAgent
) -> None:
    iosxe = await read_profile(
        snmp_client, snmpsim_agent.target("iosxe_ir1101"), load_profile("cisco-ios")
    )
    crs = await read_profile(
        snmp_client, snmpsim_agent.target("routeros_crs317"), load_profile("mikrotik")
    )
    v7 = await read_profile(
        snmp_client, snmpsim_agent.target("routeros_rb750gr3"), load_profile("mikrotik")
    )

    assert iosxe.metrics["temperature"].source == (
        "highest of 2 rows of ENTITY-SENSOR-MIB::entPhySensorValue: 'Slot 0 - Temp: TS1'"
    )
    assert crs.metrics["temperature"].source == "MIKROTIK-MIB::mtxrHlProcessorTemperature.0"
    assert v7.metrics["temperature"].source == "MIKROTIK-MIB::mtxrGaugeValue 'temperature'"
    assert v7.metrics["cpu"].source == "mean of 4 rows of HOST-RESOURCES-MIB::hrProcessorLoad"


async def test_unreachable_device_is_one_device_wide_error(
    snmp_client: SnmpClient, snmpsim_agent: SnmpsimAgent
) -> None:
    target = snmpsim_agent.target("no-such-recording", timeout=0.3, retries=0)

    reading = await read_profile(snmp_client, target, load_profile("mikrotik"))

    assert reading.error is not None
    assert reading.error.kind is SnmpErrorKind.TIMEOUT
    assert reading.metrics == {}


async def test_a_device_with_the_wrong_profile_reads_not_supported(
    snmp_client: SnmpClient, snmpsim_agent: SnmpsimAgent
) -> None:
    reading = await read_profile(snmp_client, snmpsim_agent.target("unifi"), load_profile("airos"))

    assert reading.error is None
    for metric in ("cpu", "temperature"):
        assert reading.metrics[metric].value is None
        assert reading.metrics[metric].error is not None
        assert reading.metrics[metric].error.kind is SnmpErrorKind.NOT_SUPPORTED  # type: ignore[union-attr]


TABLE = '[[cpu]]\nvalue = "HOST-RESOURCES-MIB::hrProcessorLoad"\n'
COLUMN = 'column = "HOST-RESOURCES-MIB::hrDeviceType"'
VALID_SCALAR = '[[cpu]]\nvalue = "SNMPv2-MIB::sysUpTime"\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('name = "Bad Name"\n', "name"),
        ('name = "p"\nsurprise = 1\n', "surprise"),
        ('name = "p"\n' + VALID_SCALAR.replace("SNMPv2-MIB::", ""), "numeric OID"),
        (
            'name = "p"\n' + VALID_SCALAR.replace("sysUpTime", "sysUpTme"),
            "SNMPv2-MIB defines no object 'sysUpTme' (did you mean sysUpTime",
        ),
        ('name = "p"\n' + VALID_SCALAR.replace("SNMPv2-MIB", "NOPE-MIB"), "unknown MIB module"),
        ('name = "p"\n[[cpu]]\nvalue = "1.3.6.1.2.1.1.3"\n', "say `kind`"),
        ('name = "p"\n[[cpu]]\nvalue = "SNMPv2-MIB::system"\n', "say `kind`"),
        (
            'name = "p"\n[[cpu]]\nvalue = { oid = "1.3.6.1.2.1.1.3.0", symbol = "X" }\n',
            "name the object as a string",
        ),
        ('name = "p"\n' + VALID_SCALAR + 'kind = "tabel"\n', "kind"),
        (
            'name = "p"\n' + VALID_SCALAR + f"select = [{{ {COLUMN}, equals = 1 }}]\n",
            "tables only",
        ),
        ('name = "p"\n' + VALID_SCALAR + "minimum = 10\nmaximum = 0\n", "minimum"),
        ('name = "p"\n' + VALID_SCALAR + "scale = 0\n", "scale"),
        ('name = "p"\n' + VALID_SCALAR + 'combine = "median"\n', "combine"),
        (
            'name = "p"\n' + TABLE + f"select = [{{ {COLUMN} }}]\n",
            "exactly one",
        ),
        (
            'name = "p"\n' + TABLE + f'select = [{{ {COLUMN}, matches = "(" }}]\n',
            "regular expression",
        ),
        ("name = \n", "Invalid"),
    ],
)
def test_invalid_profiles_are_rejected_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(ProfileError, match=r"test\.toml") as raised:
        parse_profile(text, origin="test.toml")
    assert message in str(raised.value)


def test_unknown_profile_name() -> None:
    with pytest.raises(ProfileError, match="unknown profile 'nope'"):
        load_profile("nope")


def test_kind_follows_from_the_mib_and_numeric_oids_need_it() -> None:
    profile = parse_profile(
        'name = "p"\n'
        '[[cpu]]\nvalue = "UCD-SNMP-MIB::ssCpuIdle"\nsubtract_from = 100\n'
        '[[cpu]]\nvalue = "HOST-RESOURCES-MIB::hrProcessorLoad"\n'
        '[[cpu]]\nvalue = "IF-MIB::ifInOctets.3"\n'
        '[[temperature]]\nvalue = "1.3.6.1.4.1.9.9.13.1.3.1.3"\nkind = "table"\n',
        origin="test.toml",
    )
    idle, load, one_cell = profile.cpu
    assert (idle.kind, idle.value.oid, idle.value.symbol) == (
        "scalar",
        "1.3.6.1.4.1.2021.11.11.0",
        "UCD-SNMP-MIB::ssCpuIdle.0",
    )
    assert (load.kind, load.value.oid) == ("table", "1.3.6.1.2.1.25.3.3.1.2")
    assert (one_cell.kind, one_cell.value.oid) == ("scalar", "1.3.6.1.2.1.2.2.1.10.3")
    assert profile.temperature[0].value.symbol == "1.3.6.1.4.1.9.9.13.1.3.1.3"


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_shipped_profiles_name_every_object_by_mib_symbol(name: str) -> None:
    profile = load_profile(name)
    objects = []
    for alternative in (*profile.cpu, *profile.temperature):
        objects.append(alternative.value)
        objects.extend(row_filter.column for row_filter in alternative.select)
        if alternative.label is not None:
            objects.append(alternative.label)
    assert objects
    for mib_object in objects:
        assert "::" in mib_object.symbol, mib_object
        assert mib_object.node in ("scalar", "column"), mib_object
