"""Test fixtures: real SNMP agents on 127.0.0.1, started by the tests themselves.

- `snmpsim_agent`: snmpsim serving a temporary copy of SHARED/snmprec; the community of a
  recording is its file name without `.snmprec`.
- `snmpd_agent`: Debian's net-snmp snmpd in the foreground with a v2c community and SNMPv3
  users (authPriv and authNoPriv) defined with createUser in a generated configuration.

A missing agent binary fails the fixture with the install hint: these tests must not pass by
skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trio
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto.api import v2c

from netwatch.snmp.client import SnmpClient
from netwatch.snmp.target import AuthProtocol, PrivProtocol, SnmpTarget

from .paths import REPO, SHARED

LOOPBACK = "127.0.0.1"
SNMPSIM_BINARY = REPO / ".venv" / "bin" / "snmpsim-command-responder"
SNMPD_BINARY = Path("/usr/sbin/snmpd")
STARTUP_TIMEOUT_S = 20.0
SYS_UPTIME_OID = (1, 3, 6, 1, 2, 1, 1, 3, 0)
# net-snmp spells the SHA-2 family with a dash.
NET_SNMP_AUTH_NAMES: dict[str, str] = {
    "MD5": "MD5",
    "SHA": "SHA",
    "SHA224": "SHA-224",
    "SHA256": "SHA-256",
    "SHA384": "SHA-384",
    "SHA512": "SHA-512",
}
# pysnmp's AES192/AES256 use the Reeder key extension (Cisco's); net-snmp calls that variant
# AES192C/AES256C (its plain AES192/AES256 are the Blumenthal draft). Debian's net-snmp has
# no 3DES at all ("unknown privProtocol").
NET_SNMP_PRIV_NAMES: dict[str, str] = {
    "DES": "DES",
    "AES": "AES",
    "AES192": "AES192C",
    "AES256": "AES256C",
}


@dataclass(frozen=True)
class SnmpsimAgent:
    address: str
    port: int
    devices: tuple[str, ...]

    def target(self, device: str, *, timeout: float = 2.0, retries: int = 1) -> SnmpTarget:
        return SnmpTarget(
            self.address,
            self.port,
            "2c",
            community=device.encode(),
            timeout=timeout,
            retries=retries,
        )


@dataclass(frozen=True)
class SnmpdUser:
    name: str
    auth_protocol: AuthProtocol
    auth_key: bytes = field(repr=False)
    priv_protocol: PrivProtocol | None = None
    priv_key: bytes | None = field(default=None, repr=False)

    def create_user_line(self) -> str:
        auth = NET_SNMP_AUTH_NAMES[self.auth_protocol]
        line = f'createUser {self.name} {auth} "{self.auth_key.decode()}"'
        if self.priv_protocol is not None and self.priv_key is not None:
            line += f' {NET_SNMP_PRIV_NAMES[self.priv_protocol]} "{self.priv_key.decode()}"'
        return line

    @property
    def level(self) -> str:
        return "priv" if self.priv_protocol else "auth"

    def target(
        self, address: str, port: int, *, timeout: float = 2.0, retries: int = 1
    ) -> SnmpTarget:
        """An SNMPv3 target for this user on an agent at address:port."""
        return SnmpTarget(
            address,
            port,
            "3",
            user=self.name,
            auth_protocol=self.auth_protocol,
            auth_key=self.auth_key,
            priv_protocol=self.priv_protocol,
            priv_key=self.priv_key,
            timeout=timeout,
            retries=retries,
        )


@dataclass(frozen=True)
class SnmpdAgent:
    address: str
    port: int
    community: bytes = field(repr=False)
    users: dict[str, SnmpdUser]

    def v2c_target(self, *, timeout: float = 2.0, retries: int = 1) -> SnmpTarget:
        return SnmpTarget(
            self.address,
            self.port,
            "2c",
            community=self.community,
            timeout=timeout,
            retries=retries,
        )

    def v3_target(self, user: str, *, timeout: float = 2.0, retries: int = 1) -> SnmpTarget:
        return self.users[user].target(self.address, self.port, timeout=timeout, retries=retries)


SNMPD_USERS = (
    SnmpdUser("nw-authpriv", "SHA", b"auth-secret-1", "AES", b"priv-secret-1"),
    SnmpdUser("nw-authnopriv", "SHA256", b"auth-secret-2"),
    SnmpdUser("nw-sha512-aes", "SHA512", b"auth-secret-3", "AES", b"priv-secret-3"),
    SnmpdUser("nw-md5-des", "MD5", b"auth-secret-4", "DES", b"priv-secret-4"),
    # The rest of the v3 matrix: every auth protocol without privacy, and every privacy
    # protocol Debian's snmpd offers.
    SnmpdUser("nw-md5", "MD5", b"auth-secret-5"),
    SnmpdUser("nw-sha", "SHA", b"auth-secret-6"),
    SnmpdUser("nw-sha224", "SHA224", b"auth-secret-7"),
    SnmpdUser("nw-sha384", "SHA384", b"auth-secret-8"),
    SnmpdUser("nw-sha512", "SHA512", b"auth-secret-9"),
    SnmpdUser("nw-sha224-aes192", "SHA224", b"auth-secret-10", "AES192", b"priv-secret-10"),
    SnmpdUser("nw-sha384-aes256", "SHA384", b"auth-secret-11", "AES256", b"priv-secret-11"),
    SnmpdUser("nw-sha256-des", "SHA256", b"auth-secret-12", "DES", b"priv-secret-12"),
)
SNMPD_COMMUNITY = b"nw-community"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def _require_binary(path: Path, install_hint: str) -> None:
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: {install_hint}", pytrace=False)


def _v2c_get_packet(community: bytes) -> bytes:
    pdu = v2c.GetRequestPDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_varbinds(pdu, [(SYS_UPTIME_OID, v2c.null)])
    message = v2c.Message()
    v2c.apiMessage.set_defaults(message)
    v2c.apiMessage.set_community(message, community)
    v2c.apiMessage.set_pdu(message, pdu)
    packet: bytes = encoder.encode(message)
    return packet


def _answers(port: int, community: bytes) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.settimeout(0.3)
        probe.sendto(_v2c_get_packet(community), (LOOPBACK, port))
        try:
            reply, _ = probe.recvfrom(65535)
        except (TimeoutError, ConnectionRefusedError):
            return False
    decoder.decode(reply, asn1Spec=v2c.Message())
    return True


def _wait_until_answering(
    process: subprocess.Popen[bytes], port: int, community: bytes, log_path: Path
) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"agent exited with {process.returncode}:\n{_tail(log_path)}", pytrace=False
            )
        if _answers(port, community):
            return
    process.kill()
    pytest.fail(f"agent did not answer within {STARTUP_TIMEOUT_S}s:\n{_tail(log_path)}")


def _tail(log_path: Path) -> str:
    try:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@contextmanager
def running_snmpsim(
    base: Path,
    recordings: list[Path],
    *,
    v3_user: SnmpdUser | None = None,
    v3_recording: Path | None = None,
) -> Iterator[SnmpsimAgent]:
    """snmpsim serving copies of `recordings` on 127.0.0.1 at a free port; the community of a
    recording is its file name without `.snmprec`. With `v3_user`, SNMPv3 requests from that
    user (and no other) are answered from `v3_recording`."""
    _require_binary(SNMPSIM_BINARY, "pip install 'snmpsim==1.2.2' 'pysmi>=2,<3' into .venv")
    if not recordings:
        pytest.fail(f"no .snmprec recordings given for {base}", pytrace=False)
    data_dir, cache_dir = base / "data", base / "cache"
    data_dir.mkdir()
    cache_dir.mkdir()
    for recording in recordings:
        shutil.copy(recording, data_dir / recording.name)
    v3_args: list[str] = []
    if v3_user is not None:
        if v3_recording is None:
            pytest.fail("an snmpsim v3 user needs a v3 recording", pytrace=False)
        # snmpsim 1.2.2 overrides pysnmp's old `handleMgmtOperation`, which pysnmp 7 no longer
        # calls, so its context-name probing never runs: a v3 request is answered only from
        # the data file named by its contextName. We send the empty one, which snmpsim gives
        # to `self.snmprec`.
        shutil.copy(v3_recording, data_dir / "self.snmprec")
        v3_args = _snmpsim_v3_args(v3_user)
    port = free_udp_port()
    env = dict(os.environ)
    if os.geteuid() == 0:
        # Dropping to `nobody` fails when the venv's interpreter lives under /root.
        env["SNMPSIM_ALLOW_ROOT"] = "true"
    log_path = base / "snmpsim.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                str(SNMPSIM_BINARY),
                f"--data-dir={data_dir}",
                f"--cache-dir={cache_dir}",
                f"--agent-udpv4-endpoint={LOOPBACK}:{port}",
                *v3_args,
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=base,
        )
    try:
        devices = tuple(recording.stem for recording in recordings)
        _wait_until_answering(process, port, devices[0].encode(), log_path)
        yield SnmpsimAgent(LOOPBACK, port, devices)
    finally:
        _stop(process)


def _snmpsim_v3_args(user: SnmpdUser) -> list[str]:
    args = [
        f"--v3-user={user.name}",
        f"--v3-auth-proto={user.auth_protocol}",
        f"--v3-auth-key={user.auth_key.decode()}",
    ]
    if user.priv_protocol is not None and user.priv_key is not None:
        args += [f"--v3-priv-proto={user.priv_protocol}", f"--v3-priv-key={user.priv_key.decode()}"]
    return args


@pytest.fixture(scope="session")
def snmpsim_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpsimAgent]:
    recordings = sorted((SHARED / "snmprec").glob("*.snmprec"))
    if not recordings:
        pytest.fail(
            f"no device recordings in {SHARED / 'snmprec'}: the tests expect the shared "
            "material beside the clone (../shared); set NETWATCH_SHARED=/path/to/shared",
            pytrace=False,
        )
    with running_snmpsim(tmp_path_factory.mktemp("snmpsim"), recordings) as agent:
        yield agent


@pytest.fixture(scope="session")
def quirk_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpsimAgent]:
    """snmpsim serving our own recordings of device quirks (tests/data/snmp)."""
    recordings = sorted((REPO / "tests" / "data" / "snmp").glob("*.snmprec"))
    with running_snmpsim(tmp_path_factory.mktemp("snmpsim-quirks"), recordings) as agent:
        yield agent


def _snmpd_config() -> str:
    lines = [
        f"rocommunity {SNMPD_COMMUNITY.decode()} {LOOPBACK}",
        *(user.create_user_line() for user in SNMPD_USERS),
        *(f"rouser {user.name} {user.level}" for user in SNMPD_USERS),
        "sysLocation netwatch test agent",
        "sysContact netwatch-tests",
    ]
    return "\n".join(lines) + "\n"


@contextmanager
def running_snmpd(
    base: Path,
    config: str,
    community: bytes,
    *,
    port: int | None = None,
    keep_engine: bool = False,
) -> Iterator[int]:
    """Debian's snmpd in the foreground on 127.0.0.1 at a free port (or `port`) with `config`
    (which must grant `community` read access); yields the port once the agent answers.
    With `keep_engine`, started again on the same `base` and port it is the same agent
    rebooted: net-snmp keeps its engine ID and counts snmpEngineBoots up in `base`/persistent
    (`-C` would ignore that state; SNMPCONFPATH keeps /etc/snmp out instead)."""
    _require_binary(SNMPD_BINARY, "apt-get install -y snmpd snmp")
    persistent_dir = base / "persistent"
    persistent_dir.mkdir(exist_ok=True)
    port = port or free_udp_port()
    config_path = base / "snmpd.conf"
    config_path.write_text(config)
    log_path = base / "snmpd.log"
    # No MIB loading: the agent does not need names, and it keeps start-up quiet and fast.
    env = dict(os.environ, SNMP_PERSISTENT_DIR=str(persistent_dir), MIBS="", MIBDIRS=str(base))
    config_args = ["-C", "-c", str(config_path)]
    if keep_engine:
        env["SNMPCONFPATH"] = f"{base}:{persistent_dir}"
        config_args = []
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                str(SNMPD_BINARY),
                "-f",
                "-Lo",
                *config_args,
                "-p",
                str(base / "snmpd.pid"),
                f"udp:{LOOPBACK}:{port}",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=base,
        )
    try:
        _wait_until_answering(process, port, community, log_path)
        yield port
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def snmpd_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpdAgent]:
    base = tmp_path_factory.mktemp("snmpd")
    with running_snmpd(base, _snmpd_config(), SNMPD_COMMUNITY) as port:
        yield SnmpdAgent(LOOPBACK, port, SNMPD_COMMUNITY, {user.name: user for user in SNMPD_USERS})


class RestartableSnmpd:
    """A test's own snmpd (the `snmpd_agent` users and community) that it may restart."""

    def __init__(self, base: Path) -> None:
        self._base = base
        self._stack = ExitStack()
        self.port = self._stack.enter_context(
            running_snmpd(base, _snmpd_config(), SNMPD_COMMUNITY, keep_engine=True)
        )

    @property
    def agent(self) -> SnmpdAgent:
        return SnmpdAgent(
            LOOPBACK, self.port, SNMPD_COMMUNITY, {user.name: user for user in SNMPD_USERS}
        )

    def restart(self, *, new_engine_id: bool = False) -> None:
        """Stop and start again on the same port; `new_engine_id` forgets the persistent
        state, as a factory reset or a replaced device does."""
        self._stack.close()
        if new_engine_id:
            shutil.rmtree(self._base / "persistent")
        self._stack = ExitStack()
        self._stack.enter_context(
            running_snmpd(
                self._base, _snmpd_config(), SNMPD_COMMUNITY, port=self.port, keep_engine=True
            )
        )

    def close(self) -> None:
        self._stack.close()


@pytest.fixture
def restartable_snmpd(tmp_path: Path) -> Iterator[RestartableSnmpd]:
    snmpd = RestartableSnmpd(tmp_path)
    try:
        yield snmpd
    finally:
        snmpd.close()


@pytest.fixture
async def snmp_client() -> AsyncIterator[SnmpClient]:
    """A running SnmpClient, as the daemon starts it."""
    client = SnmpClient()
    async with trio.open_nursery() as nursery:
        await nursery.start(client.run)
        yield client
        nursery.cancel_scope.cancel()
