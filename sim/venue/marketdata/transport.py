"""UDP sockets for the feed: the downstream sender and the re-request listener.

Downstream packets go to a multicast group or to a unicast address
(MoldUDP64 §2); replies to re-requests go back, unicast, to the address the
request came from (MoldUDP64 §3). Sends never block: a datagram the kernel
will not take is counted as dropped, as on a real wire.
"""

from __future__ import annotations

import ipaddress
import socket


def is_multicast(host: str) -> bool:
    """True for an IPv4 multicast group address (224.0.0.0/4)."""
    try:
        return ipaddress.IPv4Address(host).is_multicast
    except ipaddress.AddressValueError:
        return False


class UdpSender:
    """A non-blocking UDP socket sending datagrams to one destination."""

    def __init__(self, host: str, port: int, *, interface: str = "127.0.0.1",
                 ttl: int = 1, loopback: bool = True, source_port: int = 0):
        self.destination = (host, port)
        self.multicast = is_multicast(host)
        self.sent = 0
        self.dropped = 0
        self.bytes_sent = 0
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            if self.multicast:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, int(loopback))
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                                socket.inet_aton(interface))
            sock.bind((interface, source_port))
        except OSError:
            sock.close()
            raise
        self.socket = sock

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) packets are sent from."""
        return self.socket.getsockname()[:2]

    def send(self, datagram: bytes) -> bool:
        """Send one datagram; False (and counted) if the kernel refused it."""
        try:
            self.socket.sendto(datagram, self.destination)
        except (BlockingIOError, InterruptedError, OSError):
            self.dropped += 1
            return False
        self.sent += 1
        self.bytes_sent += len(datagram)
        return True

    def close(self) -> None:
        self.socket.close()
