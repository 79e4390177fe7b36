"""devices.toml: every invalid inventory paired with the exact problems it must produce, the
layering of valid ones, secrets as exact bytes, and a round-trip property."""

from __future__ import annotations

import ipaddress
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netwatch.inventory import (
    PING_ONLY,
    DeviceConfig,
    Inventory,
    InventoryError,
    Problem,
    known_profiles,
    load_inventory,
    parse_inventory,
)

DATA = Path(__file__).parent / "data" / "inventory"
ROUTING_KEY = b"R0123456789abcdef0123456789abcde"  # the shape of an Events API v2 key

# Names the tests rely on: profile data files shipped in src/netwatch/profiles/, plus ping-only.
EXPECTED_PROFILES = {"ping-only", "linux", "mikrotik", "host-resources"}

# (line, device, field, message) per problem, in the order they are reported.
Expected = tuple[int | None, str | None, str | None, str]


def _known_list() -> str:
    return ", ".join(sorted(known_profiles()))


INVALID: list[tuple[str, list[Expected]]] = [
    (
        # TOML has types; a quoted number or "yes" is a mistake, never silently converted.
        "wrong_types.toml",
        [
            (3, None, "defaults.snmp.retries", "must be a whole number"),
            (7, "a", "enabled", "must be true or false"),
            (10, "a", "thresholds.cpu.warning", "must be a number"),
            (8, "a", "snmp_port", "must be a whole number"),
        ],
    ),
    ("unknown_key.toml", [(6, "tower-1", "threshhold", "unknown key (misspelled?)")]),
    (
        "bad_poll_workers.toml",
        [(3, None, "netwatch.poll_workers", 'must be "auto" or a whole number from 1 to 64')],
    ),
    (
        "unknown_key_in_defaults_snmp.toml",
        [(3, None, "defaults.snmp.threshhold", "unknown key (misspelled?)")],
    ),
    ("duplicate_id.toml", [(9, "tower-1", "id", "duplicate id (first defined at line 4)")]),
    (
        "unknown_parent.toml",
        [(5, "sector-1", "parent", "parent 'tower-9' is not a device in this inventory")],
    ),
    ("self_parent.toml", [(5, "tower-1", "parent", "a device cannot be its own parent")]),
    ("parent_cycle.toml", [(7, "a", "parent", "parent cycle: a -> c -> b -> a")]),
    (
        "bad_addresses.toml",
        [
            (6, "r1", "address", "'999.999.999.999' is not a valid IPv4 address"),
            (10, "r2", "address", "'192.0.2.012' is not a valid IPv4 address"),
        ],
    ),
    (
        "warning_above_critical.toml",
        [(1, "r1", "thresholds.cpu", "warning (95.0) is above critical (90.0)")],
    ),
    (
        "negative_duration.toml",
        [(5, "r1", "hold_down", "duration must not be negative: '-5m'")],
    ),
    (
        "devices_table_twice.toml",
        [
            (
                5,
                None,
                None,
                "TOML syntax: Cannot declare ('devices',) twice (a table declared twice: "
                "for several devices write [[devices]], not [devices])",
            )
        ],
    ),
    (
        "devices_table_once.toml",
        [(1, None, None, "`devices` must be an array of tables: write [[devices]], not [devices]")],
    ),
    (
        "unquoted_value.toml",
        [
            (
                3,
                None,
                None,
                "TOML syntax: Expected newline or end of document after a statement "
                '(strings must be quoted: address = "192.0.2.1")',
            )
        ],
    ),
    (
        "v3_auth_without_key.toml",
        [(1, "r1", "snmp.auth_key", "auth_protocol is set but auth_key is missing")],
    ),
    (
        "v3_short_key.toml",
        [(9, "r1", "snmp.auth_key", "auth_key is shorter than 8 characters")],
    ),
    (
        "routing_key_clear_text.toml",
        [
            (
                2,
                None,
                "pagerduty.routing_key",
                "routing_key must be a reference (env:NAME or file:PATH); "
                "never put the key itself in the inventory",
            )
        ],
    ),
    (
        "env_missing.toml",
        [(4, "r1", "snmp.community", "environment variable NETWATCH_TEST_SURELY_UNSET is not set")],
    ),
    (
        "file_unreadable.toml",
        [
            (
                6,
                "r1",
                "snmp.community",
                f"cannot read {DATA / 'missing-community.txt'}: No such file or directory",
            )
        ],
    ),
    (
        "all_at_once.toml",
        # [defaults] is broken, yet every device entry is still checked on its own: one run
        # of check-config shows all of it (it took three rounds before).
        [
            (6, None, "defaults.snmp.version", "must be '1', '2c' or '3'"),
            (8, None, "defaults.thresholds.cpu", "warning (95.0) is above critical (90.0)"),
            (3, None, "defaults.hold_dwon", "unknown key (misspelled?)"),
            (
                15,
                "lab-server",
                "snmp.community",
                "environment variable NETWATCH_TEST_SURELY_UNSET is not set",
            ),
            (19, "lab-router", "address", "'127.0.0.300' is not a valid IPv4 address"),
            (
                24,
                "lab-radio",
                "profile",
                f"unknown profile 'airOS' (did you mean 'airos'?); known: {_known_list()}",
            ),
            (43, "lab-v3", "snmp.auth_key", "auth_key is shorter than 8 characters"),
            (
                45,
                "lab-v3",
                "snmp.priv_key",
                "environment variable NETWATCH_TEST_SURELY_UNSET_PRIV is not set",
            ),
            (27, "lab-server", "id", "duplicate id (first defined at line 12)"),
            (33, "lab-switch", "parent", "parent 'lab-sever' is not a device in this inventory"),
        ],
    ),
    (
        # an unreadable priv_key no longer hides the short auth_key
        "v3_every_key_problem.toml",
        [
            (
                11,
                "r1",
                "snmp.priv_key",
                "environment variable NETWATCH_TEST_SURELY_UNSET_PRIV is not set",
            ),
            (9, "r1", "snmp.auth_key", "auth_key is shorter than 8 characters"),
        ],
    ),
    (
        # reported once, where it is written, not at each device's [[devices]] line
        "defaults_secret_missing.toml",
        [
            (
                5,
                None,
                "defaults.snmp.community",
                "environment variable NETWATCH_TEST_SURELY_UNSET is not set "
                "(used by 2 devices: 'r1', 'r2')",
            )
        ],
    ),
    (
        "group_unknown_profile.toml",
        [
            (
                5,
                None,
                "groups.tower-north.profile",
                f"unknown profile 'airOS' (did you mean 'airos'?); known: {_known_list()} "
                "(used by 2 devices: 'cpe-1', 'cpe-2')",
            )
        ],
    ),
    (
        "route_key_missing.toml",
        [
            (
                2,
                None,
                "pagerduty.routing_key",
                "environment variable NETWATCH_TEST_SURELY_UNSET is not set",
            ),
            (
                10,
                None,
                "paging.routes[2].routing_key",
                "environment variable NETWATCH_TEST_SURELY_UNSET_CORE is not set",
            ),
        ],
    ),
    (
        "route_key_clear_text.toml",
        [
            (
                9,
                None,
                "paging.routes[2].routing_key",
                "routing_key must be a reference (env:NAME or file:PATH); "
                "never put the secret itself in the inventory",
            )
        ],
    ),
    (
        "routing_key_wrong_shape.toml",
        [
            (
                2,
                None,
                "pagerduty.routing_key",
                "the routing key read from file:routing_key_wrong_shape.txt is not 32 letters "
                "and digits (a PagerDuty Events API v2 integration key)",
            )
        ],
    ),
    (
        "device_messages.toml",
        [
            (
                2,
                "-r1",
                "id",
                "id may contain letters, digits and . _ : / @ - and must start with a letter "
                "or digit",
            ),
            (5, "r2", "address", "address is required"),
            (11, "r3", "tags", 'must be a list, like ["a", "b"]'),
            (12, "r3", "page_from", "must be 'warning' or 'critical'"),
            (15, "r3", "snmp.version", "must be '1', '2c' or '3'"),
        ],
    ),
    (
        "unclosed_string.toml",
        [
            (
                2,
                None,
                None,
                "TOML syntax: Illegal character '\\n' (a string is not closed: add the "
                "closing quote)",
            )
        ],
    ),
    (
        "numeric_looking_addresses.toml",
        [
            (
                6,
                "r1",
                "address",
                "'0x7f.1' looks like an IPv4 address in hex or short form; write four decimal "
                "numbers (a.b.c.d)",
            ),
            (
                10,
                "r2",
                "address",
                "'router.123' is not a valid DNS name: its last label is all digits",
            ),
            (
                14,
                "r3",
                "address",
                "'0x7f000001' looks like an IPv4 address in hex or short form; write four "
                "decimal numbers (a.b.c.d)",
            ),
        ],
    ),
    (
        "several_errors.toml",
        [
            (6, "r1", "address", "'999.999.999.999' is not a valid IPv4 address"),
            (11, "r2", "threshhold", "unknown key (misspelled?)"),
            (21, "r3", "hold_down", "duration must not be negative: '-1s'"),
            (19, "r3", "id", "duplicate id (first defined at line 13)"),
            (16, "r3", "parent", "parent 'nowhere' is not a device in this inventory"),
        ],
    ),
]


def _problems(path: Path) -> list[Problem]:
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    return caught.value.problems


@pytest.mark.parametrize(("name", "expected"), INVALID, ids=[case[0] for case in INVALID])
def test_invalid_inventory_reports_exact_problems(name: str, expected: list[Expected]) -> None:
    assert not [name for name in os.environ if name.startswith("NETWATCH_TEST_SURELY_UNSET")]
    path = DATA / name
    problems = _problems(path)
    assert [(p.line, p.device, p.field, p.message) for p in problems] == expected
    assert all(p.file == path for p in problems)


def test_unknown_profile_names_the_known_ones() -> None:
    path = DATA / "unknown_profile.toml"
    assert [(p.line, p.device, p.field, p.message) for p in _problems(path)] == [
        (4, "core-1", "profile", f"unknown profile 'cisco-iso'; known: {_known_list()}")
    ]


def test_profiles_the_inventory_tests_rely_on_exist() -> None:
    # linux, mikrotik and host-resources are data files in src/netwatch/profiles/.
    assert known_profiles() >= EXPECTED_PROFILES


def test_problem_text_names_file_line_device_and_field() -> None:
    (problem,) = _problems(DATA / "unknown_key.toml")
    assert str(problem) == (
        f"{DATA / 'unknown_key.toml'}:6: device 'tower-1': field 'threshhold': "
        "unknown key (misspelled?)"
    )
    # The exception's own text lists every problem, one per line.
    with pytest.raises(InventoryError) as caught:
        load_inventory(DATA / "several_errors.toml")
    assert len(str(caught.value).splitlines()) == 5


def test_unknown_key_in_a_device_snmp_table() -> None:
    text = '[[devices]]\nid = "r1"\naddress = "192.0.2.1"\n\n[devices.snmp]\ncomunity = "x"\n'
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text, Path("t.toml"))
    assert [(p.line, p.device, p.field, p.message) for p in caught.value.problems] == [
        (6, "r1", "snmp.comunity", "unknown key (misspelled?)")
    ]


def test_unknown_key_in_inline_defaults_table() -> None:
    text = '[defaults]\nsite = "hq"\nsnmp = { community = "public", threshhold = 3 }\n'
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text, Path("t.toml"))
    assert [(p.line, p.field) for p in caught.value.problems] == [(3, "defaults.snmp.threshhold")]


def test_unknown_key_line_is_not_taken_from_a_later_table() -> None:
    # `[defaults.ping]` has the bad key; `[groups.x.ping]` further down has a valid `count`.
    text = (
        "[defaults.ping]\ncount = 3\ncuont = 2\n\n"
        '[groups.x.ping]\ncount = 5\n\n[[devices]]\nid = "r1"\naddress = "192.0.2.1"\n'
    )
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text, Path("t.toml"))
    assert [(p.line, p.field) for p in caught.value.problems] == [(3, "defaults.ping.cuont")]


def test_unquoted_id_gets_the_quoting_hint() -> None:
    with pytest.raises(InventoryError) as caught:
        parse_inventory('[[devices]]\nid = r1\naddress = "192.0.2.1"\n', Path("t.toml"))
    (problem,) = caught.value.problems
    assert (problem.line, problem.message) == (
        2,
        'TOML syntax: Invalid value (strings must be quoted: address = "192.0.2.1")',
    )


def test_unreadable_secret_file_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "community").mkdir()
    text = (
        '[[devices]]\nid = "r1"\naddress = "192.0.2.1"\nprofile = "linux"\n'
        'snmp = { community = "file:community" }\n'
    )
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text, tmp_path / "devices.toml")
    assert [(p.line, p.device, p.field, p.message) for p in caught.value.problems] == [
        (5, "r1", "snmp.community", f"cannot read {tmp_path / 'community'}: Is a directory")
    ]


def test_missing_env_for_routing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NW_TEST_ROUTING_KEY", raising=False)
    text = '[pagerduty]\nrouting_key = "env:NW_TEST_ROUTING_KEY"\n'
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text, Path("t.toml"))
    assert [(p.line, p.device, p.field, p.message) for p in caught.value.problems] == [
        (2, None, "pagerduty.routing_key", "environment variable NW_TEST_ROUTING_KEY is not set")
    ]


def test_secret_values_never_appear_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NW_TEST_V3_KEY", "s3cr")
    text = (
        '[[devices]]\nid = "r1"\naddress = "192.0.2.1"\nprofile = "linux"\n'
        '[devices.snmp]\nversion = "3"\nuser = "mon"\nauth_protocol = "SHA"\n'
        'auth_key = "env:NW_TEST_V3_KEY"\n'
    )
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text, Path("t.toml"))
    assert "s3cr" not in str(caught.value)
    assert [p.message for p in caught.value.problems] == ["auth_key is shorter than 8 characters"]


# ---- valid inventories -------------------------------------------------------------------------


def test_layers_built_ins_defaults_group_device() -> None:
    inventory = load_inventory(DATA / "layering.toml")
    assert inventory.warnings == ()
    assert inventory.settings.interval == 30.0
    devices = inventory.by_id()
    assert list(devices) == ["cpe-17", "db-1", "edge-1"]

    cpe = devices["cpe-17"]
    assert cpe.profile == PING_ONLY
    assert cpe.snmp is None and not cpe.uses_snmp
    assert cpe.name == "cpe-17"  # name defaults to the id
    assert cpe.site == "hq"  # [defaults]
    assert cpe.hold_down == 180.0  # [defaults]
    assert cpe.recovery == 300.0  # group
    assert cpe.tags == ("cpe",)

    db = devices["db-1"]
    assert db.name == "Database 1"
    assert db.address == "2001:db8::1"
    assert db.profile == "linux"  # group
    assert db.site == "dc-1"  # group beats [defaults]
    assert db.hold_down == 90.0  # device beats [defaults]
    assert db.recovery == 120.0  # built-in
    assert db.snmp is not None
    # Nested tables merge key by key across all four layers.
    assert db.snmp.community is not None
    assert db.snmp.community.get_secret_value() == b"public"  # [defaults.snmp]
    assert db.snmp.timeout == 3.0  # [defaults.snmp]
    assert db.snmp.retries == 3  # [groups.linux-hosts.snmp]
    assert db.snmp.port == 1161  # device
    assert db.snmp.version == "2c"  # built-in
    assert (db.thresholds.cpu.warning, db.thresholds.cpu.critical) == (70.0, 95.0)
    assert db.thresholds.cpu.clear == 5.0  # built-in
    assert (db.thresholds.temperature.warning, db.thresholds.temperature.critical) == (
        70.0,
        85.0,
    )

    edge = devices["edge-1"]
    assert edge.profile == "mikrotik"
    assert edge.site == "tower-north"
    assert edge.thresholds.temperature.critical == 80.0  # the group's 85 is not edge-1's
    assert edge.snmp is not None and edge.snmp.retries == 1


def test_device_without_group_uses_built_in_profile() -> None:
    text = '[defaults.snmp]\ncommunity = "public"\n[[devices]]\nid = "r1"\naddress = "192.0.2.1"\n'
    (device,) = parse_inventory(text, Path("t.toml")).devices
    assert device.profile == "host-resources"
    assert device.hold_down == 120.0 and device.recovery == 120.0
    assert device.snmp is not None and (device.snmp.version, device.snmp.port) == ("2c", 161)


def test_unknown_group_is_an_error() -> None:
    text = '[[devices]]\nid = "r1"\naddress = "192.0.2.1"\ngroup = "nope"\n'
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text, Path("t.toml"))
    assert [(p.line, p.device, p.field, p.message) for p in caught.value.problems] == [
        (4, "r1", "group", "unknown group 'nope'")
    ]


@pytest.mark.parametrize(
    ("toml_value", "expected"),
    [
        ('"Link$ysRO"', b"Link$ysRO"),
        ('"#public"', b"#public"),
        (r"'back\slash\\'", b"back\\slash\\\\"),
        (r'"two\\back"', b"two\\back"),
        ('"$HOME"', b"$HOME"),
        ('"~user"', b"~user"),
    ],
)
def test_literal_community_is_exact_bytes(toml_value: str, expected: bytes) -> None:
    text = (
        '[[devices]]\nid = "r1"\naddress = "192.0.2.1"\nprofile = "linux"\n'
        f"snmp = {{ community = {toml_value} }}\n"
    )
    (device,) = parse_inventory(text, Path("t.toml")).devices
    assert device.snmp is not None and device.snmp.community is not None
    assert device.snmp.community.get_secret_value() == expected


@pytest.mark.parametrize("secret", [b"Link$ysRO", b"#public", b"a\\b\\\\c", b"$(reboot)`x`"])
def test_env_reference_is_exact_bytes(monkeypatch: pytest.MonkeyPatch, secret: bytes) -> None:
    monkeypatch.setenv("NW_TEST_COMMUNITY", secret.decode())
    text = (
        '[[devices]]\nid = "r1"\naddress = "192.0.2.1"\nprofile = "linux"\n'
        'snmp = { community = "env:NW_TEST_COMMUNITY" }\n'
    )
    (device,) = parse_inventory(text, Path("t.toml")).devices
    assert device.snmp is not None and device.snmp.community is not None
    assert device.snmp.community.get_secret_value() == secret


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"Link$ysRO\n", b"Link$ysRO"),  # the editor's trailing newline is dropped
        (b"#public\r\n", b"#public"),
        (b"back\\slash", b"back\\slash"),
        (b"two-lines\n\n", b"two-lines\n"),  # only one newline is the editor's
        (b" spaced ", b" spaced "),
    ],
)
def test_file_reference_is_exact_bytes(tmp_path: Path, content: bytes, expected: bytes) -> None:
    (tmp_path / "secret").write_bytes(content)
    (tmp_path / "routing").write_bytes(ROUTING_KEY + b"\n")
    text = (
        '[pagerduty]\nrouting_key = "file:routing"\n\n'
        '[[devices]]\nid = "r1"\naddress = "192.0.2.1"\nprofile = "linux"\n'
        f'snmp = {{ community = "file:{tmp_path / "secret"}" }}\n'
    )
    # Relative file: references are relative to the inventory's folder, not the cwd.
    inventory = parse_inventory(text, tmp_path / "devices.toml")
    (device,) = inventory.devices
    assert device.snmp is not None and device.snmp.community is not None
    assert device.snmp.community.get_secret_value() == expected
    assert inventory.routing_key == ROUTING_KEY


def test_short_key_from_file_is_rejected_after_resolution(tmp_path: Path) -> None:
    (tmp_path / "v3.key").write_bytes(b"1234567\n")  # 7 characters once the newline goes
    text = (
        '[[devices]]\nid = "r1"\naddress = "192.0.2.1"\nprofile = "linux"\n'
        '[devices.snmp]\nversion = "3"\nuser = "mon"\nauth_protocol = "SHA"\n'
        'auth_key = "file:v3.key"\n'
    )
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text, tmp_path / "devices.toml")
    assert [(p.line, p.field, p.message) for p in caught.value.problems] == [
        (9, "snmp.auth_key", "auth_key is shorter than 8 characters")
    ]


def test_v3_auth_priv_with_exactly_eight_character_keys() -> None:
    text = (
        '[[devices]]\nid = "r1"\naddress = "192.0.2.1"\nprofile = "mikrotik"\n'
        '[devices.snmp]\nversion = "3"\nuser = "mon"\nauth_protocol = "SHA"\n'
        'auth_key = "12345678"\npriv_protocol = "AES"\npriv_key = "abcdefgh"\n'
    )
    (device,) = parse_inventory(text, Path("t.toml")).devices
    assert device.snmp is not None and device.snmp.priv_key is not None
    assert device.snmp.priv_key.get_secret_value() == b"abcdefgh"


def test_same_address_and_port_twice_is_a_warning() -> None:
    text = (
        '[defaults]\nprofile = "ping-only"\n'
        '[[devices]]\nid = "a"\naddress = "192.0.2.1"\n'
        '[[devices]]\nid = "b"\naddress = "192.0.2.1"\n'
    )
    inventory = parse_inventory(text, Path("t.toml"))
    assert [d.id for d in inventory.devices] == ["a", "b"]
    assert [(w.line, w.device, w.field, w.message) for w in inventory.warnings] == [
        (8, "b", "address", "same address as device 'a' (added twice?)")
    ]


def test_same_address_different_ports_is_fine() -> None:
    text = (
        '[defaults]\nprofile = "linux"\nsnmp = { community = "public" }\n'
        '[[devices]]\nid = "a"\naddress = "192.0.2.1"\n'
        '[[devices]]\nid = "b"\naddress = "192.0.2.1"\nsnmp = { port = 1161 }\n'
    )
    inventory = parse_inventory(text, Path("t.toml"))
    assert [d.id for d in inventory.devices] == ["a", "b"]
    assert inventory.warnings == ()


def test_ping_only_device_has_no_snmp_even_with_inherited_settings() -> None:
    text = (
        '[defaults.snmp]\nversion = "3"\nuser = "mon"\nauth_protocol = "SHA"\n'
        '[[devices]]\nid = "cpe"\naddress = "192.0.2.9"\nprofile = "ping-only"\n'
    )
    (device,) = parse_inventory(text, Path("t.toml")).devices
    assert device.snmp is None
    assert not device.uses_snmp


@pytest.mark.parametrize(
    "address", ["192.0.2.1", "2001:db8::1", "router.example.net", "core-1", "localhost"]
)
def test_valid_addresses(address: str) -> None:
    text = f'[[devices]]\nid = "r1"\naddress = "{address}"\nprofile = "ping-only"\n'
    (device,) = parse_inventory(text, Path("t.toml")).devices
    assert device.address == address


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("1.2.3", "'1.2.3' is not a valid IPv4 address"),
        ("010.0.0.1", "'010.0.0.1' is not a valid IPv4 address"),
        ("192.0.2.256", "'192.0.2.256' is not a valid IPv4 address"),
        ("bad_name.example", "'bad_name.example' is neither an IP address nor a valid DNS name"),
        ("-lead.example", "'-lead.example' is neither an IP address nor a valid DNS name"),
        ("", "'' is neither an IP address nor a valid DNS name"),
    ],
)
def test_invalid_addresses(address: str, message: str) -> None:
    text = f'[[devices]]\nid = "r1"\naddress = "{address}"\nprofile = "ping-only"\n'
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text, Path("t.toml"))
    assert [(p.field, p.message) for p in caught.value.problems] == [("address", message)]


def test_missing_file_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "devices.toml"
    assert [p.message for p in _problems(path)] == [
        "cannot read inventory: No such file or directory"
    ]


def test_data_files_load_from_a_copy(tmp_path: Path) -> None:
    # The table's files are plain inventories: the same problems wherever they live.
    copy = tmp_path / "unknown_key.toml"
    shutil.copy(DATA / "unknown_key.toml", copy)
    assert [str(p) for p in _problems(copy)] == [
        f"{copy}:6: device 'tower-1': field 'threshhold': unknown key (misspelled?)"
    ]


# ---- property: any valid inventory round-trips through the resolved view ----------------------

_ids = st.from_regex(r"[a-z][a-z0-9\-]{0,12}", fullmatch=True)
_ipv4 = st.integers(min_value=0x01000000, max_value=0xDFFFFFFF).map(
    lambda n: str(ipaddress.IPv4Address(n))
)
_ipv6 = st.integers(min_value=1, max_value=2**128 - 1).map(lambda n: str(ipaddress.IPv6Address(n)))
_percent = st.integers(min_value=0, max_value=1000).map(lambda n: n / 10)


@st.composite
def _threshold(draw: st.DrawFn) -> tuple[float, float, float]:
    warning = draw(_percent)
    critical = draw(_percent.filter(lambda c: c >= warning))
    clear = draw(st.integers(min_value=0, max_value=20).map(float))
    return warning, critical, clear


@st.composite
def _inventories(draw: st.DrawFn) -> list[dict[str, object]]:
    ids = draw(st.lists(_ids, min_size=1, max_size=12, unique=True))
    devices: list[dict[str, object]] = []
    for index, device_id in enumerate(ids):
        devices.append(
            {
                "id": device_id,
                "address": draw(st.one_of(_ipv4, _ipv6)),
                # Parents only point backwards: never a cycle.
                "parent": draw(st.none() | st.sampled_from(ids[:index])) if index else None,
                "hold_down": draw(st.integers(min_value=0, max_value=3600)),
                "cpu": draw(_threshold()),
                "temperature": draw(_threshold()),
                "profile": draw(st.sampled_from(sorted(EXPECTED_PROFILES))),
                "port": draw(st.integers(min_value=1, max_value=65535)),
            }
        )
    return devices


def _render(devices: list[dict[str, object]]) -> str:
    out = ['[defaults.snmp]\ncommunity = "public"\n']
    for device in devices:
        out.append("[[devices]]")
        out.append(f'id = "{device["id"]}"')
        out.append(f'address = "{device["address"]}"')
        out.append(f'profile = "{device["profile"]}"')
        out.append(f'hold_down = "{device["hold_down"]}s"')
        if device["parent"] is not None:
            out.append(f'parent = "{device["parent"]}"')
        out.append(f"snmp.port = {device['port']}")
        for check in ("cpu", "temperature"):
            warning, critical, clear = device[check]  # type: ignore[misc]
            out.append(f"[devices.thresholds.{check}]")
            out.append(f"warning = {warning}\ncritical = {critical}\nclear = {clear}")
        out.append("")
    return "\n".join(out)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_inventories())
def test_any_valid_inventory_round_trips(devices: list[dict[str, object]]) -> None:
    inventory: Inventory = parse_inventory(_render(devices), Path("t.toml"))
    resolved: dict[str, DeviceConfig] = inventory.by_id()
    assert list(resolved) == [d["id"] for d in devices]
    for given_device in devices:
        device = resolved[str(given_device["id"])]
        assert ipaddress.ip_address(device.address) == ipaddress.ip_address(
            str(given_device["address"])
        )
        assert device.parent == given_device["parent"]
        assert device.profile == given_device["profile"]
        assert device.hold_down == float(given_device["hold_down"])  # type: ignore[arg-type]
        for check in ("cpu", "temperature"):
            threshold = getattr(device.thresholds, check)
            assert (threshold.warning, threshold.critical, threshold.clear) == given_device[check]
        if device.profile == PING_ONLY:
            assert device.snmp is None
        else:
            assert device.snmp is not None and device.snmp.port == given_device["port"]


# ---- added for issue 3's validation promises -------------------------------------------------


def test_secret_file_open_to_others_is_a_warning_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "community").write_bytes(b"Link$ysRO\n")
    (tmp_path / "community").chmod(0o644)
    (tmp_path / "routing").write_bytes(ROUTING_KEY)
    (tmp_path / "routing").chmod(0o600)
    text = (
        '[pagerduty]\nrouting_key = "file:routing"\n'
        '[defaults]\nprofile = "linux"\n[defaults.snmp]\ncommunity = "file:community"\n'
        '[[devices]]\nid = "r1"\naddress = "192.0.2.1"\n'
        '[[devices]]\nid = "r2"\naddress = "192.0.2.2"\n'
    )
    inventory = parse_inventory(text, tmp_path / "devices.toml")
    assert len(inventory.devices) == 2
    # once, where the reference is written, not once per device
    assert [(w.line, w.device, w.field, w.message) for w in inventory.warnings] == [
        (
            6,
            None,
            "defaults.snmp.community",
            f"secret file {tmp_path / 'community'} can be read by other users (mode 0644): "
            f"chmod 600 {tmp_path / 'community'}",
        )
    ]
    assert "Link$ysRO" not in " ".join(str(w) for w in inventory.warnings)
    (tmp_path / "community").chmod(0o600)
    assert parse_inventory(text, tmp_path / "devices.toml").warnings == ()


def test_secret_values_never_appear_in_any_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = {
        "NW_TEST_AUTH": "Au7h$hrt",  # 8 characters: valid
        "NW_TEST_PRIV": "Pr1v",  # too short
        "NW_TEST_ROUTING": "Routing-Key-With-Dashes-0123456789",  # not a routing key
        "NW_TEST_COMMUNITY": "C0mmun1ty#x",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "loose").write_text("Fi1e$ecret\n")
    (tmp_path / "loose").chmod(0o640)
    text = (
        '[pagerduty]\nrouting_key = "env:NW_TEST_ROUTING"\n'
        '[[paging.routes]]\ntags = ["x"]\nrouting_key = "env:NW_TEST_ROUTING"\n'
        '[defaults.snmp]\ncommunity = "env:NW_TEST_COMMUNITY"\n'
        '[[devices]]\nid = "v3"\naddress = "192.0.2.1"\nprofile = "linux"\n'
        '[devices.snmp]\nversion = "3"\nuser = "mon"\nauth_protocol = "SHA"\n'
        'auth_key = "env:NW_TEST_AUTH"\npriv_protocol = "AES"\npriv_key = "env:NW_TEST_PRIV"\n'
        '[[devices]]\nid = "v2"\naddress = "192.0.2.1"\nprofile = "linux"\n'
        'snmp = { community = "file:loose", version = "9" }\n'
    )
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text, tmp_path / "devices.toml")
    shown = str(caught.value) + repr(caught.value.problems)
    assert [p.field for p in caught.value.problems] == [
        "snmp.priv_key",
        "snmp.version",
        "pagerduty.routing_key",
        "paging.routes[1].routing_key",
    ]
    for value in [*secrets.values(), "Fi1e$ecret"]:
        assert value not in shown


def test_relations_are_checked_over_devices_that_do_not_resolve() -> None:
    text = (
        '[[devices]]\nid = "a"\naddress = "999.1.1.1"\nparent = "b"\n'
        '[[devices]]\nid = "b"\naddress = "192.0.2.2"\nthreshhold = 1\nparent = "a"\n'
        '[[devices]]\nid = "c"\naddress = "192.0.2.3"\nprofile = "nope"\nparent = "typo"\n'
    )
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text, Path("t.toml"))
    assert [(p.line, p.device, p.field) for p in caught.value.problems][-2:] == [
        (14, "c", "parent"),
        (4, "a", "parent"),  # the cycle a -> b -> a, though neither resolves
    ]
    assert caught.value.problems[-1].message == "parent cycle: a -> b -> a"


def test_group_with_problems_still_lets_its_devices_be_checked() -> None:
    text = (
        '[groups.g]\nprofile = "linux"\nhold_dwon = "1m"\n'
        '[[devices]]\nid = "a"\naddress = "192.0.2.300"\ngroup = "g"\n'
        '[[devices]]\nid = "a"\naddress = "192.0.2.2"\ngroup = "g"\n'
        '[[devices]]\nid = "c"\naddress = "192.0.2.3"\ngroup = "gg"\n'
    )
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text, Path("t.toml"))
    assert [(p.line, p.device, p.field) for p in caught.value.problems] == [
        (3, None, "groups.g.hold_dwon"),
        (6, "a", "address"),
        (15, "c", "group"),
        (9, "a", "id"),
    ]


def test_unknown_group_is_reported_while_defaults_are_broken() -> None:
    text = '[defaults]\nsitee = "x"\n[[devices]]\nid = "r1"\naddress = "192.0.2.1"\ngroup = "g"\n'
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text, Path("t.toml"))
    assert [(p.line, p.field, p.message) for p in caught.value.problems] == [
        (2, "defaults.sitee", "unknown key (misspelled?)"),
        (6, "group", "unknown group 'g'"),
    ]


@pytest.mark.parametrize(
    ("second", "warned"),
    [
        # same address, same SNMP port (written differently): added twice
        ('address = "2001:DB8:0::1"\nprofile = "linux"', "same address and port as device 'a'"),
        ('address = "2001:db8::1"\nprofile = "linux"\nsnmp_port = 161', "same address and port"),
        # ping-only has no port: the same address is the same device
        ('address = "2001:db8::1"\nprofile = "ping-only"', "same address as device 'a'"),
        # same address, other ports: allowed
        ('address = "2001:db8::1"\nprofile = "linux"\nsnmp_port = 1161', None),
        ('address = "2001:db8::2"\nprofile = "linux"', None),
    ],
)
def test_same_address_warnings(second: str, warned: str | None) -> None:
    text = (
        '[defaults.snmp]\ncommunity = "public"\n'
        '[[devices]]\nid = "a"\naddress = "2001:db8::1"\nprofile = "linux"\n'
        f'[[devices]]\nid = "b"\n{second}\n'
    )
    inventory = parse_inventory(text, Path("t.toml"))
    assert len(inventory.devices) == 2
    messages = [(w.device, w.field, w.message) for w in inventory.warnings]
    if warned is None:
        assert messages == []
    else:
        ((device, field, message),) = messages
        assert (device, field) == ("b", "address") and message.startswith(warned)


def test_two_ping_only_devices_at_one_name_are_warned_about() -> None:
    text = (
        '[defaults]\nprofile = "ping-only"\n'
        '[[devices]]\nid = "a"\naddress = "Router.Example.net."\n'
        '[[devices]]\nid = "b"\naddress = "router.example.net"\n'
    )
    inventory = parse_inventory(text, Path("t.toml"))
    assert [w.message for w in inventory.warnings] == ["same address as device 'a' (added twice?)"]


@pytest.mark.parametrize("address", ["0177.0.0.1.example", "0x7f.example", "1.example", "host1"])
def test_names_with_numbers_are_still_names(address: str) -> None:
    text = f'[[devices]]\nid = "r1"\naddress = "{address}"\nprofile = "ping-only"\n'
    (device,) = parse_inventory(text, Path("t.toml")).devices
    assert device.address == address


def test_a_route_with_no_mail_recipients_is_a_problem() -> None:
    # A page with nobody to mail fails at the SMTP server every time, and the mail queue keeps
    # it first in line: no page after it was ever mailed.
    text = (
        '[email]\nhost = "127.0.0.1"\nsender = "nw@isp.example"\nto = ["noc@isp.example"]\n'
        '[[paging.routes]]\ntags = ["lab"]\nemail = []\n'
        '[[devices]]\nid = "r1"\naddress = "192.0.2.1"\nprofile = "ping-only"\n'
    )
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text, Path("t.toml"))
    assert [(p.line, p.field) for p in caught.value.problems] == [(7, "paging.routes[1].email")]
