"""Raw ICMP sockets drop, in the kernel, echo replies carrying another socket's identifier
(netwatch.icmp.bpf): a poll worker does not read the replies to the others' probes. Real
sockets, real echoes to loopback."""

from __future__ import annotations

import socket

import pytest
import trio

from netwatch.icmp import Family, Pinger
from netwatch.icmp.bpf import attach_echo_identifier_filter
from netwatch.icmp.matching import IdentifierPool
from netwatch.icmp.packets import parse_icmp
from netwatch.icmp.sockets import SocketKind, open_icmp_socket

TARGETS = {Family.V4: "127.0.0.1", Family.V6: "::1"}
PROBES = 20


def drain_unfiltered(family: Family, sock: socket.socket) -> int:
    """Echo replies waiting on a raw socket opened without the identifier filter."""
    replies = 0
    while True:
        try:
            packet, source = sock.recvfrom(4096)
        except BlockingIOError:
            return replies
        if parse_icmp(family, packet, source[0], has_ip_header=family is Family.V4):
            replies += 1


@pytest.mark.parametrize("family", [Family.V4, Family.V6])
async def test_a_bystander_reads_none_of_the_other_workers_replies(
    nursery: trio.Nursery, family: Family
) -> None:
    pinging = Pinger(identifiers=IdentifierPool(1000))
    bystander = Pinger(identifiers=IdentifierPool(2000))
    await nursery.start(pinging.run)
    await nursery.start(bystander.run)
    assert pinging.socket_kinds[family] is SocketKind.RAW
    unfiltered = open_icmp_socket(family, SocketKind.RAW)
    try:
        for _ in range(PROBES):
            result = await pinging.ping(TARGETS[family], count=3, interval=0.005, timeout=1.0)
            assert result.received == 3  # our own replies pass the filter
        await trio.sleep(0.05)  # let the bystander's reader run over whatever reached it
        # every reply did reach raw sockets: the unfiltered one holds a copy of each
        assert drain_unfiltered(family, unfiltered.sock) >= PROBES * 3
    finally:
        unfiltered.close()
    counters = bystander.match_counters[family]
    assert (counters.foreign, counters.late, counters.matched) == (0, 0, 0)


@pytest.mark.parametrize("family", [Family.V4, Family.V6])
async def test_replies_queued_before_the_filter_is_attached_are_dropped_with_it(
    nursery: trio.Nursery, family: Family
) -> None:
    # A raw socket queues every reply from socket() on; until the filter is attached, others'
    # replies (another worker's, another program's) pile up unfiltered.
    late_filtered = open_icmp_socket(family, SocketKind.RAW)
    try:
        pinging = Pinger(identifiers=IdentifierPool(3000))
        await nursery.start(pinging.run)
        result = await pinging.ping(TARGETS[family], count=3, interval=0.005, timeout=1.0)
        assert result.received == 3
        await trio.sleep(0.05)

        attach_echo_identifier_filter(late_filtered.sock, family, 4000)

        assert drain_unfiltered(family, late_filtered.sock) == 0
    finally:
        late_filtered.close()
