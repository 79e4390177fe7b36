"""The netwatch command's inventory tools: check-config and show-device."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.paths import REPO

from netwatch.cli import main

SECRET = "s3cret-Link$ys"


def test_check_config_accepts_the_shipped_inventory(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(REPO / "devices.toml")]) == 0
    out = capsys.readouterr().out
    assert "OK, 3 devices" in out
    assert "by profile: airos (1), linux (1), ping-only (1)" in out
    assert "parents: lab-server (2 behind)" in out
    assert "dry run (no routing key)" in out


def test_check_config_lists_every_problem_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "devices.toml"
    path.write_text(
        '[defaults.snmp]\ncommunity = "public"\n'
        '[[devices]]\nid = "a"\naddress = "192.0.2.012"\n'
        '[[devices]]\nid = "b"\naddress = "192.0.2.2"\nparent = "nobody"\n'
    )
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "2 problem(s)" in err
    assert f"{path}:5: device 'a': field 'address': " in err
    assert f"{path}:9: device 'b': field 'parent': parent 'nobody' is not a device" in err


def test_show_device_resolves_layers_and_masks_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NW_TEST_COMMUNITY", SECRET)
    path = tmp_path / "devices.toml"
    path.write_text(
        '[defaults]\nprofile = "mikrotik"\n[defaults.snmp]\ncommunity = "env:NW_TEST_COMMUNITY"\n'
        '[[devices]]\nid = "rtr"\naddress = "192.0.2.1"\nsnmp_port = 1161\n'
    )
    assert main(["show-device", "rtr", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert '"profile": "mikrotik"' in out
    assert '"port": 1161' in out
    assert SECRET not in out
    assert main(["show-device", "nope", "--config", str(path)]) == 1


def test_check_config_takes_config_like_the_other_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "one.toml"
    path.write_text('[[devices]]\nid = "a"\naddress = "192.0.2.1"\nprofile = "ping-only"\n')
    assert main(["check-config", "--config", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: OK, 1 device\n")
    assert main(["check-config", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: OK, 1 device\n")
    with pytest.raises(SystemExit):
        main(["check-config", str(path), "--config", str(tmp_path / "other.toml")])


def test_check_config_prints_warnings_and_still_succeeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "devices.toml"
    path.write_text(
        '[defaults]\nprofile = "ping-only"\n'
        '[[devices]]\nid = "a"\naddress = "192.0.2.1"\n'
        '[[devices]]\nid = "a-again"\naddress = "192.0.2.1"\n'
    )
    assert main(["check-config", str(path)]) == 0
    captured = capsys.readouterr()
    assert "OK, 2 devices" in captured.out
    assert "1 warning(s)" in captured.out
    assert (
        f"warning: {path}:8: device 'a-again': field 'address': same address as device 'a'"
        in captured.err
    )


def test_check_config_summary_of_a_large_inventory_lists_the_largest_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "devices.toml"
    entries = ['[[devices]]\nid = "core"\naddress = "192.0.2.1"\nprofile = "ping-only"\n']
    for n in range(1, 400):
        parent = "core" if n < 100 else f"d{n - 1}"
        entries.append(
            f'[[devices]]\nid = "d{n}"\naddress = "10.0.{n // 256}.{n % 256}"\n'
            f'profile = "ping-only"\nsite = "s{n % 20}"\nparent = "{parent}"\n'
        )
    path.write_text("".join(entries))
    assert main(["check-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "parents: core (99 behind), d100 (1 behind)" in out
    assert out.count(", and ") == 2  # sites and parents are cut, profiles are not
    assert "and 289 more" in out  # 301 parents, 12 shown
