"""Stream layouts of the feed path after UDP, defined once.

Used by the gateware (``hdl/feed``), the reference models
(``sim/model/feed``) and the JSON Lines writer, so a record field is named
and sized in exactly one place.

* :class:`PacketInfo` — a MoldUDP64 header (MoldUDP64 §2.1) plus what the
  ingress learnt about the packet; one per buffered packet.
* :class:`MoldBeat` — a beat of a sequenced MoldUDP64 packet on its way to
  the ITCH decoder, tagged with what the decoder needs to number messages.
* :class:`FeedRecord` — the normalized record, one per book-relevant ITCH
  message (ITCH 5.0 §3.11–§3.17) or Stock Directory / Trading Action
  (ITCH 5.0 §3.2, §3.3).
* :class:`GapEvent` — a missing range of sequence numbers (MoldUDP64 §2.3).
* :class:`PacketAbort` — a cut-through packet that died after its header was
  published: how many of its message blocks went out whole.
"""

from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from tick2trade.proto.moldudp64 import SESSION_LEN

from ..layouts import TIMESTAMP_WIDTH, beat_stream

__all__ = [
    "SESSION_LEN", "PacketInfo", "MoldBeat", "FeedRecord", "GapEvent", "PacketAbort",
    "info_stream", "packet_port", "mold_stream", "record_stream", "gap_stream",
    "BOOK_TYPES", "DIRECTORY_TYPES", "RECORD_TYPES", "RECORD_SOURCES", "BOOK_KEYS",
    "DIRECTORY_KEYS", "ASCII_FIELDS", "record_keys", "record_fields",
]


class PacketInfo(data.Struct):
    """What the MoldUDP64 ingress knows about one complete, valid packet.

    ``session`` holds the 10 session bytes with the first byte in bits 0:8
    (wire order, like beat data); ``seq`` and ``count`` are the header's
    big-endian numbers (MoldUDP64 §2.1); ``beats`` is the packet length in
    8-byte beats.
    """

    session: 8 * SESSION_LEN
    seq: 64
    count: 16
    beats: 14
    line: 1
    dst_port: 16
    timestamp: TIMESTAMP_WIDTH


class MoldBeat(data.Struct):
    """A beat of a whole MoldUDP64 packet (header included, lane 0 first).

    ``seq`` is the packet's first sequence number, ``skip`` how many leading
    message blocks are old (already delivered: MoldUDP64 §5 overlap) and
    must not be emitted; both, like ``line`` and ``timestamp``, are constant
    over the packet.
    """

    data: 64
    keep: 8
    first: 1
    last: 1
    seq: 64
    skip: 16
    line: 1
    timestamp: TIMESTAMP_WIDTH


class FeedRecord(data.Struct):
    """One decoded ITCH message, normalized (fields a type lacks are zero).

    ``type``, ``side`` and ``state`` are ASCII codes; ``symbol`` is the
    8-byte Stock field with its first character in bits 0:8 (R and H only);
    ``ts`` is the ITCH timestamp (ns since midnight); ``seq`` the message's
    MoldUDP64 sequence number; ``hw_ts`` the cycle counter at start of frame.
    """

    type: 8
    locate: 16
    ts: 48
    ref: 64
    side: 8
    shares: 32
    price: 32
    match: 64
    new_ref: 64
    symbol: 64
    state: 8
    seq: 64
    line: 1
    hw_ts: TIMESTAMP_WIDTH


class GapEvent(data.Struct):
    """Sequence numbers ``first`` … ``first + count - 1`` were never received."""

    first: 64
    count: 64


class PacketAbort(data.Struct):
    """A cut-through packet ended early (bad FCS, truncated, malformed tail).

    ``done`` counts its leading message blocks (MoldUDP64 §2.2) whose last
    byte was in a beat already streamed out: those messages were delivered,
    the rest were not.
    """

    done: 16


def info_stream():
    return stream.Signature(PacketInfo)


def packet_port(*, cut_through: bool = False):
    """A buffered-packet queue as its producer (the ingress) sees it.

    ``info`` offers the head packet; ``take``, sampled with each ``info``
    handshake, asks for its ``beats`` (1) or discards it (0). With
    ``cut_through`` a taken packet either ends with its ``last`` beat or,
    if it died while streaming, with one ``abort`` transfer (no ``last``
    beat) after its good beats.
    """
    members = {
        "info": Out(info_stream()),
        "take": In(1),
        "beats": Out(beat_stream()),
    }
    if cut_through:
        members["abort"] = Out(stream.Signature(PacketAbort))
    return wiring.Signature(members)


def mold_stream():
    return stream.Signature(MoldBeat)


def record_stream():
    return stream.Signature(FeedRecord)


def gap_stream():
    return stream.Signature(GapEvent)


# ---- normalization: which ITCH field fills which record field -------------

#: book-relevant types (ITCH 5.0 §3.11–§3.17) and the directory/state types
#: (ITCH 5.0 §3.2, §3.3) that the decoder turns into records
BOOK_TYPES = "AFECXDU"
DIRECTORY_TYPES = "RH"
RECORD_TYPES = BOOK_TYPES + DIRECTORY_TYPES

#: record field ← the ITCH field names it is normalized from (ITCH 5.0 §3)
RECORD_SOURCES = {
    "locate": ("stock_locate",),
    "ts": ("timestamp",),
    "ref": ("order_ref", "original_order_ref"),
    "side": ("side",),
    "shares": ("shares", "executed_shares", "cancelled_shares"),
    "price": ("price", "execution_price"),
    "match": ("match_number",),
    "new_ref": ("new_order_ref",),
    "symbol": ("stock",),
    "state": ("trading_state",),
}

#: keys of a record written as JSON, in order (issue 4: ``--records-out``)
BOOK_KEYS = ("seq", "type", "locate", "ts", "ref", "side", "shares", "price", "match", "new_ref")
DIRECTORY_KEYS = ("seq", "type", "locate", "ts", "symbol", "state")

#: record fields that hold ASCII (one character, or the 8-byte symbol)
ASCII_FIELDS = ("type", "side", "state", "symbol")


def record_keys(type_code: str) -> tuple[str, ...]:
    """JSON keys a record of this type may carry (those it lacks are omitted)."""
    return DIRECTORY_KEYS if type_code in DIRECTORY_TYPES else BOOK_KEYS


def record_fields(type_code: str) -> dict:
    """Record field name → the ``proto.itch`` :class:`Field` it comes from, for one type."""
    from tick2trade.proto.itch import FIELDS
    by_name = {f.name: f for f in FIELDS[type_code]}
    found = {}
    for key in record_keys(type_code):
        for source in RECORD_SOURCES.get(key, ()):
            if source in by_name:
                found[key] = by_name[source]
    return found
