"""Reference model of :class:`~tick2trade.hdl.feed.itch.ItchDecoder`.

Walks the message blocks of a sequenced MoldUDP64 packet (MoldUDP64 §2.2)
and emits one :class:`~.records.Record` per message of a record type
(ITCH 5.0 §3.2, §3.3, §3.11–§3.17), with the same counters as the gateware:

* ``records`` emitted; ``skipped`` known types that make no record;
  ``unknown`` type letters not in ITCH 5.0 §2 (skipped by their length);
* ``malformed`` a block shorter than the shortest ITCH message, or a known
  type whose length differs from ITCH 5.0 §2 — the rest of the packet is
  dropped;
* ``truncated`` a block running past the end of the packet.

Blocks before ``skip`` (already delivered, MoldUDP64 §5 overlap) are only
checked, never emitted or counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tick2trade.hdl.feed.layouts import RECORD_TYPES
from tick2trade.proto.itch import LENGTHS
from tick2trade.proto.moldudp64 import HEADER_LEN

from .moldudp64 import min_message_len
from .records import Record, record_from_message

__all__ = ["Delivery", "DecoderCounters", "ItchDecoderModel"]


@dataclass(frozen=True)
class Delivery:
    """A packet as the arbiter hands it to the decoder (a ``MoldBeat`` stream)."""

    payload: bytes
    seq: int
    skip: int = 0
    line: int = 0
    timestamp: int = 0


@dataclass
class DecoderCounters:
    records: int = 0
    skipped: int = 0
    unknown: int = 0
    malformed: int = 0
    truncated: int = 0


@dataclass
class ItchDecoderModel:
    min_len: int = field(default_factory=min_message_len)
    counters: DecoderCounters = field(default_factory=DecoderCounters)

    def push(self, d: Delivery) -> list[Record]:
        c, data, out = self.counters, d.payload, []
        offset, index = HEADER_LEN, 0
        while offset < len(data):
            if offset + 2 > len(data):
                c.truncated += 1
                break
            length = int.from_bytes(data[offset:offset + 2], "big")
            if length < self.min_len:
                c.malformed += 1
                break
            if offset + 2 + length > len(data):
                c.truncated += 1
                break
            msg = data[offset + 2:offset + 2 + length]
            type_code = chr(msg[0])
            known = type_code in LENGTHS
            if known and length != LENGTHS[type_code]:
                c.malformed += 1
                break
            if index >= d.skip:
                if not known:
                    c.unknown += 1
                elif type_code in RECORD_TYPES:
                    c.records += 1
                    out.append(record_from_message(msg, seq=(d.seq + index) % (1 << 64),
                                                   line=d.line, hw_ts=d.timestamp))
                else:
                    c.skipped += 1
            offset += 2 + length
            index += 1
        return out
