"""Stream payload layouts shared by the feed path, defined once.

Byte order on every 64-bit beat follows the wire: the first byte received
is ``data[0:8]`` (lane 0), the eighth is ``data[56:64]`` (lane 7). ``keep``
has one bit per lane and is contiguous from lane 0; it is all ones on every
beat but possibly the last. ``first`` and ``last`` live in the payload
(STYLE.md §4).
"""

from amaranth.lib import data, stream

__all__ = ["BYTES_PER_BEAT", "Beat", "MacBeat", "UdpBeat", "beat_stream", "mac_stream",
           "udp_stream"]

#: bytes carried per beat of the 64-bit core datapath (DESIGN.md, clocks and widths)
BYTES_PER_BEAT = 8

#: width of the free-running cycle counter stamped at start of frame
TIMESTAMP_WIDTH = 64


class Beat(data.Struct):
    """Eight bytes of a frame or packet."""

    data: 64
    keep: 8
    first: 1
    last: 1


class MacBeat(data.Struct):
    """A beat of an Ethernet frame (destination MAC first, FCS removed).

    The MAC is cut-through: it cannot know a frame is bad until its end, so
    ``error`` is meaningful on the ``last`` beat only (bad FCS, XGMII control
    error, runt, giant); downstream stages discard what they built from the
    frame and count it. ``timestamp`` is the cycle counter at start of
    frame, constant over the frame.
    """

    data: 64
    keep: 8
    first: 1
    last: 1
    error: 1
    timestamp: TIMESTAMP_WIDTH


class UdpBeat(data.Struct):
    """A beat of a UDP payload (the MoldUDP64 packet), headers stripped.

    ``dst_port`` and ``timestamp`` are constant over the packet; ``line`` is
    the feed input it came from (0 = A, 1 = B) for A/B arbitration;
    ``error`` on the ``last`` beat says the frame turned out bad (see
    :class:`MacBeat`) and everything decoded from it must be discarded.
    """

    data: 64
    keep: 8
    first: 1
    last: 1
    error: 1
    line: 1
    dst_port: 16
    timestamp: TIMESTAMP_WIDTH


def beat_stream():
    return stream.Signature(Beat)


def mac_stream():
    return stream.Signature(MacBeat)


def udp_stream():
    return stream.Signature(UdpBeat)
