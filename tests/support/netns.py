"""Network namespaces made by the tests themselves, and a pinger run inside one of them.

Every namespace gets a name unique to this test run and is deleted when the test ends, pass or
fail. Links are veth pairs created directly inside the namespaces, so nothing the tests build
ever touches the root namespace or leaves the machine.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

COMMAND_TIMEOUT = 60.0

# Runs inside a namespace: one Pinger, the given addresses pinged one after another, JSON out.
# "actions" are commands run at given seconds after the first ping starts (e.g. cutting a link
# mid-cycle), timed inside the process so interpreter start-up does not shift them.
PINGER_SCRIPT = """
import dataclasses, json, sys
import trio
from netwatch.icmp import IcmpPermissionError, Pinger, SocketKind

args = json.loads(sys.argv[1])

async def act(at, command):
    await trio.sleep(at)
    await trio.run_process(command)

async def main():
    pinger = Pinger(socket_kind=SocketKind(args["socket_kind"]))
    async with trio.open_nursery() as nursery:
        try:
            await nursery.start(pinger.run)
        except IcmpPermissionError as error:
            return {"exception": type(error).__name__, "message": str(error)}
        for action in args["actions"]:
            nursery.start_soon(act, action["at"], action["command"])
        results = [
            dataclasses.asdict(
                await pinger.ping(
                    address,
                    count=args["count"],
                    interval=args["interval"],
                    timeout=args["timeout"],
                )
            )
            for address in args["addresses"]
        ]
        kinds = {f"v{family.value}": kind.value for family, kind in pinger.socket_kinds.items()}
        nursery.cancel_scope.cancel()
    return {"socket_kinds": kinds, "results": results}

print(json.dumps(trio.run(main)))
"""


@dataclass
class NetnsLab:
    """Namespaces and links for one test; `close()` removes every namespace it made."""

    run_id: str = field(default_factory=lambda: f"nwt{os.getpid()}{secrets.token_hex(3)}")
    namespaces: list[str] = field(default_factory=list)
    etc_directories: list[Path] = field(default_factory=list)

    def namespace(self, role: str) -> str:
        name = f"{self.run_id}-{role}"
        self.namespaces.append(name)  # before creating, so a half-made one is still removed
        run_command("ip", "netns", "add", name)
        self.exec(name, "ip", "link", "set", "lo", "up")
        return name

    def link(
        self,
        namespace_a: str,
        addresses_a: Sequence[str],
        namespace_b: str,
        addresses_b: Sequence[str],
    ) -> tuple[str, str]:
        """A veth pair between two namespaces, both ends up, with the given addresses."""
        tag = secrets.token_hex(3)
        end_a, end_b = f"va{tag}", f"vb{tag}"
        run_command(
            "ip", "link", "add", end_a, "netns", namespace_a, "type", "veth",
            "peer", "name", end_b, "netns", namespace_b,
        )  # fmt: skip
        for namespace, end, addresses in (
            (namespace_a, end_a, addresses_a),
            (namespace_b, end_b, addresses_b),
        ):
            for address in addresses:
                # nodad: IPv6 addresses are usable at once instead of after duplicate detection.
                extra = ["nodad"] if ":" in address else []
                self.exec(namespace, "ip", "addr", "add", address, "dev", end, *extra)
            self.exec(namespace, "ip", "link", "set", end, "up")
        return end_a, end_b

    def etc_file(self, namespace: str, name: str, text: str) -> None:
        """A file `ip netns exec` bind-mounts over /etc/NAME inside `namespace` (hosts,
        nsswitch.conf, ...); the directory is removed with the namespaces."""
        directory = Path("/etc/netns") / namespace
        if directory not in self.etc_directories:
            self.etc_directories.append(directory)
            directory.mkdir(parents=True, exist_ok=False)
        (directory / name).write_text(text)

    def sysctl(self, namespace: str, key: str, value: str) -> None:
        self.exec(namespace, "sysctl", "-q", "-w", f"{key}={value}")

    def exec(self, namespace: str, *command: str) -> str:
        return run_command("ip", "netns", "exec", namespace, *command)

    def ping_from(
        self,
        namespace: str,
        addresses: Sequence[str],
        *,
        count: int = 3,
        interval: float = 0.1,
        timeout: float = 0.5,
        socket_kind: str = "auto",
        without_net_raw: bool = False,
        actions: Sequence[tuple[float, Sequence[str]]] = (),
    ) -> dict[str, Any]:
        """Run a netwatch Pinger inside `namespace`; returns its JSON report. `actions`:
        (seconds after the pings start, command) pairs, run alongside the pings."""
        arguments = {
            "actions": [{"at": at, "command": list(command)} for at, command in actions],
            "addresses": list(addresses),
            "count": count,
            "interval": interval,
            "timeout": timeout,
            "socket_kind": socket_kind,
        }
        # Dropping CAP_NET_RAW from the bounding set leaves root without raw sockets.
        drop = ["setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw", "--"]
        output = self.exec(
            namespace,
            *(drop if without_net_raw else []),
            sys.executable,
            "-c",
            PINGER_SCRIPT,
            json.dumps(arguments),
        )
        report: dict[str, Any] = json.loads(output)
        return report

    def close(self) -> None:
        failures = []
        for name in reversed(self.namespaces):
            result = subprocess.run(
                ["ip", "netns", "del", name], capture_output=True, text=True, check=False
            )
            if result.returncode != 0 and "No such file" not in result.stderr:
                failures.append(f"{name}: {result.stderr.strip()}")
        self.namespaces.clear()
        for directory in self.etc_directories:
            shutil.rmtree(directory, ignore_errors=True)
        self.etc_directories.clear()
        if failures:
            raise RuntimeError("could not remove test namespaces: " + "; ".join(failures))


def run_command(*command: str) -> str:
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command[:6])}... exited {result.returncode}: {result.stderr.strip()}"
        )
    return result.stdout


def require_netns_privileges() -> None:
    """Fail, not skip: CI runs as root, and a silently skipped network test proves nothing."""
    if os.geteuid() != 0:
        pytest.fail(
            "netns tests need root (creating network namespaces and veth links); "
            "run them as root, or deselect them with -m 'not netns'",
            pytrace=False,
        )
    for tool in ("ip", "setpriv", "sysctl"):
        if shutil.which(tool) is None:
            pytest.fail(f"netns tests need the `{tool}` command", pytrace=False)


@pytest.fixture
def netns_lab() -> Iterator[NetnsLab]:
    require_netns_privileges()
    lab = NetnsLab()
    try:
        yield lab
    finally:
        lab.close()
