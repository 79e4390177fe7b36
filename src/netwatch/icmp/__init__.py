"""ICMP reachability: echo requests under trio over shared raw or datagram ICMP sockets."""

from netwatch.icmp.packets import Family
from netwatch.icmp.pinger import Pinger
from netwatch.icmp.sockets import IcmpPermissionError, SocketKind

__all__ = ["Family", "IcmpPermissionError", "Pinger", "SocketKind"]
