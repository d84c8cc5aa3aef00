"""scapy layers for MoldUDP64, SoupBinTCP and OUCH 4.2 / 5.0.

Build and dissect real frames in tests and tools::

    bind_mold_port(26477)
    Ether() / IP() / UDP(dport=26477) / MoldUDP64(session=b"000010059B", sequence=1,
                                                  messages=[itch_bytes])

``MoldUDP64`` carries its message blocks (MoldUDP64 §2.2) as
``MoldMessageBlock`` items; plain ``bytes`` are accepted too. ``SoupBinTCP``
is the 3-byte header (SoupBinTCP §1) with one body layer per packet type
(SoupBinTCP §2); several packets in one TCP segment dissect as a chain of
``SoupBinTCP`` layers. The OUCH layers are generated from the ``FIELDS``
tables of :mod:`tick2trade.proto.ouch50` and :mod:`tick2trade.proto.ouch42`
(layouts defined once), with the OUCH 5.0 appendage as ``OuchTagValue``
items (OUCH 5.0 §2). Which OUCH version a SoupBinTCP port speaks is set by
:func:`bind_soup_port`.
"""

from __future__ import annotations

import struct

from scapy.fields import (
    ByteEnumField,
    ByteField,
    FieldLenField,
    IntField,
    LongField,
    PacketListField,
    ShortField,
    StrField,
    StrFixedLenField,
    StrLenField,
)
from scapy.layers.inet import TCP, UDP
from scapy.packet import Packet, Raw, bind_bottom_up, bind_layers, bind_top_down

from tick2trade.proto import ouch, ouch42, ouch50
from tick2trade.proto.moldudp64 import END_OF_SESSION
from tick2trade.proto.soupbintcp import Direction

# --- field helpers -----------------------------------------------------------------------------


class SpacePaddedField(StrFixedLenField):
    """Fixed-length ASCII field padded with spaces (right or left) instead of NULs."""

    __slots__ = ["left"]

    def __init__(self, name, default, length, left=False):
        super().__init__(name, default, length=length)
        self.left = left

    def i2m(self, pkt, x):
        raw = super().i2m(pkt, x)
        return raw.rjust(self.length_from(pkt), b" ") if self.left else \
            raw.ljust(self.length_from(pkt), b" ")


class AsciiNumberField(StrFixedLenField):
    """SoupBinTCP numeric field: an int as ASCII decimal, left-padded with spaces (§5)."""

    def i2m(self, pkt, x):
        return str(int(x)).encode().rjust(self.length_from(pkt), b" ")

    def m2i(self, pkt, x):
        text = x.strip(b" ")
        return int(text) if text.isdigit() else x

    def any2i(self, pkt, x):
        return x if isinstance(x, int) else self.m2i(pkt, x)

    def i2repr(self, pkt, x):
        return repr(x)


# --- MoldUDP64 ---------------------------------------------------------------------------------


class MoldMessageBlock(Packet):
    """One message block: u16 length + data (MoldUDP64 §2.2)."""

    name = "MoldUDP64 message block"
    fields_desc = [
        FieldLenField("length", None, length_of="data", fmt="!H"),
        StrLenField("data", b"", length_from=lambda p: p.length),
    ]

    def extract_padding(self, s):
        return b"", s


class _BlockListField(PacketListField):
    def any2i(self, pkt, x):
        items = x if isinstance(x, list | tuple) else [x]
        return [MoldMessageBlock(data=bytes(i)) if isinstance(i, bytes | bytearray) else i
                for i in items]


def _block_count(pkt) -> int:
    return 0 if pkt.count == END_OF_SESSION else pkt.count


class MoldUDP64(Packet):
    """MoldUDP64 downstream packet (MoldUDP64 §2): header + message blocks."""

    name = "MoldUDP64"
    fields_desc = [
        StrFixedLenField("session", b"0" * 10, length=10),
        LongField("sequence", 0),
        FieldLenField("count", None, count_of="messages", fmt="!H"),
        _BlockListField("messages", [], MoldMessageBlock, count_from=_block_count),
    ]

    def extract_padding(self, s):
        return b"", s

    def mysummary(self):
        return self.sprintf("MoldUDP64 %session% seq=%sequence% count=%count%")


def bind_mold_port(port: int) -> None:
    """Dissect UDP datagrams to or from ``port`` as MoldUDP64; ``UDP()/MoldUDP64()``
    gets ``dport=port``."""
    bind_bottom_up(UDP, MoldUDP64, sport=port)
    bind_bottom_up(UDP, MoldUDP64, dport=port)
    bind_top_down(UDP, MoldUDP64, dport=port)


# --- OUCH ---------------------------------------------------------------------------------------


class OuchTagValue(Packet):
    """One OUCH 5.0 appendage element: Length (tag + value), OptionTag, value (OUCH 5.0 §2)."""

    name = "OUCH TagValue"
    fields_desc = [
        FieldLenField("length", None, length_of="value", fmt="B", adjust=lambda p, x: x + 1),
        ByteEnumField("tag", 0, {t.value: t.name for t in ouch50.OptionTag}),
        StrLenField("value", b"", length_from=lambda p: max(p.length - 1, 0)),
    ]

    def extract_padding(self, s):
        return b"", s


class _OptionalAppendageField(StrField):
    """Appendage Length + TagValue list that may be absent (OUCH 5.0 §2, 2024 revision)."""

    def __init__(self, name):
        super().__init__(name, None)

    def getfield(self, pkt, s):
        if len(s) < 2:
            return s, None
        n = struct.unpack_from("!H", s)[0]
        body, rest = s[2:2 + n], s[2 + n:]
        items = []
        while body:
            item = OuchTagValue(body)
            items.append(item)
            consumed = len(bytes(item))
            body = body[consumed:] if consumed else b""
        return rest, items

    def addfield(self, pkt, s, val):
        if val is None:
            return s
        raw = b"".join(bytes(i) for i in val)
        return s + struct.pack("!H", len(raw)) + raw

    def i2repr(self, pkt, x):
        return repr(x)


_INT_FIELDS = {1: ByteField, 2: ShortField, 4: IntField, 8: LongField}


def scapy_field_name(name: str) -> str:
    """The layer attribute for an OUCH field: names that scapy's Packet already uses
    (``display``) get a trailing underscore."""
    return name + "_" if hasattr(Packet, name) else name


def _scapy_fields(cls: type[ouch.Message]) -> list:
    out = []
    for f in cls.FIELDS:
        if f.kind == ouch.TYPE:
            out.append(StrFixedLenField("type", cls.TYPE, length=1))
        elif f.kind in (ouch.UINT, ouch.PRICE):
            out.append(_INT_FIELDS[f.length](scapy_field_name(f.name), 0))
        elif f.kind in (ouch.ALPHA, ouch.CHAR):
            out.append(SpacePaddedField(scapy_field_name(f.name), b"", f.length))
        elif f.kind == ouch.APPENDAGE_LENGTH:
            out.append(FieldLenField("appendage_length", None, length_of="appendage",
                                     fmt="!H"))
    if cls.APPENDAGE == ouch.ALWAYS:
        out.append(PacketListField("appendage", [], OuchTagValue,
                                   length_from=lambda p: p.appendage_length))
    elif cls.APPENDAGE == ouch.OPTIONAL:
        out.append(_OptionalAppendageField("appendage"))
    return out


def _ouch_layer(cls: type[ouch.Message]) -> type[Packet]:
    tag = cls.VERSION.replace(".", "")
    layer = type(f"OUCH{tag}_{cls.NAME}", (Packet,), {
        "name": f"OUCH {cls.VERSION} {cls.NAME}",
        "fields_desc": _scapy_fields(cls),
        "extract_padding": lambda self, s: (b"", s),
        "__module__": __name__,
        "__doc__": cls.__doc__,
    })
    layer.OUCH_CLASS = cls
    return layer


#: OUCH message class → generated scapy layer
OUCH_LAYERS: dict[type[ouch.Message], type[Packet]] = {
    cls: _ouch_layer(cls) for cls in (*ouch50.MESSAGES, *ouch42.MESSAGES)
}
_BY_VERSION = {
    (module.VERSION, direction): {t: OUCH_LAYERS[c] for t, c in table.items()}
    for module in (ouch50, ouch42)
    for direction, table in ((Direction.INBOUND, module.INBOUND),
                             (Direction.OUTBOUND, module.OUTBOUND))
}


def ouch_layer(cls: type[ouch.Message]) -> type[Packet]:
    """The scapy layer generated for an OUCH message class."""
    return OUCH_LAYERS[cls]


# --- SoupBinTCP ---------------------------------------------------------------------------------

#: TCP port → OUCH version carried on it ("5.0" or "4.2"); set by bind_soup_port
SOUP_PORTS: dict[int, str] = {}
DEFAULT_OUCH_VERSION = ouch50.VERSION


class SoupBinTCP(Packet):
    """SoupBinTCP packet header: Packet Length (bytes after it) and Packet Type (§1)."""

    name = "SoupBinTCP"
    fields_desc = [
        ShortField("length", None),
        ByteEnumField("type", ord("H"), {ord(t): n for t, n in (
            ("+", "Debug"), ("A", "LoginAccepted"), ("J", "LoginRejected"),
            ("S", "SequencedData"), ("H", "ServerHeartbeat"), ("Z", "EndOfSession"),
            ("L", "LoginRequest"), ("U", "UnsequencedData"), ("R", "ClientHeartbeat"),
            ("O", "LogoutRequest"))}),
    ]

    def post_build(self, p, pay):
        if self.length is None:
            following = self.payload.getlayer(SoupBinTCP) if self.payload else None
            body = len(pay) - (len(bytes(following)) if following is not None else 0)
            p = struct.pack("!H", body + 1) + p[2:]
        return p + pay

    def extract_padding(self, s):
        n = max(self.length - 1, 0)
        return s[:n], s[n:]

    def dissect(self, s):
        s = self.pre_dissect(s)
        s = self.do_dissect(s)
        s = self.post_dissect(s)
        body, rest = self.extract_padding(s)
        self.do_dissect_payload(body)
        if rest:   # the next SoupBinTCP packet in the same segment
            self.add_payload(SoupBinTCP(rest, _internal=1, _underlayer=self))

    def ouch_version(self) -> str:
        layer = self.underlayer
        while layer is not None and not isinstance(layer, TCP):
            layer = layer.underlayer
        if layer is not None:
            for port in (layer.dport, layer.sport):
                if port in SOUP_PORTS:
                    return SOUP_PORTS[port]
        return DEFAULT_OUCH_VERSION


class _SoupBody(Packet):
    def extract_padding(self, s):
        return s, b""


class SoupDebug(_SoupBody):
    name = "SoupBinTCP Debug"
    fields_desc = [StrField("text", b"")]


class SoupLoginAccepted(_SoupBody):
    name = "SoupBinTCP Login Accepted"
    fields_desc = [SpacePaddedField("session", b"", 10, left=True),
                   AsciiNumberField("sequence", 1, length=20)]


class SoupLoginRejected(_SoupBody):
    name = "SoupBinTCP Login Rejected"
    fields_desc = [StrFixedLenField("reason", b"A", length=1)]


class SoupLoginRequest(_SoupBody):
    name = "SoupBinTCP Login Request"
    fields_desc = [SpacePaddedField("username", b"", 6),
                   SpacePaddedField("password", b"", 10),
                   SpacePaddedField("session", b"", 10, left=True),
                   AsciiNumberField("sequence", 1, length=20)]


class _SoupData(_SoupBody):
    DIRECTION = Direction.INBOUND

    def guess_payload_class(self, payload):
        soup = self.underlayer
        version = soup.ouch_version() if isinstance(soup, SoupBinTCP) else DEFAULT_OUCH_VERSION
        layer = _BY_VERSION[(version, self.DIRECTION)].get(payload[0]) if payload else None
        return layer or Raw


class SoupSequencedData(_SoupData):
    """Sequenced Data: one venue → client OUCH message follows (SoupBinTCP §2.4)."""

    name = "SoupBinTCP Sequenced Data"
    DIRECTION = Direction.OUTBOUND


class SoupUnsequencedData(_SoupData):
    """Unsequenced Data: one client → venue OUCH message follows (SoupBinTCP §2.8)."""

    name = "SoupBinTCP Unsequenced Data"
    DIRECTION = Direction.INBOUND


for _letter, _body in (("+", SoupDebug), ("A", SoupLoginAccepted), ("J", SoupLoginRejected),
                       ("S", SoupSequencedData), ("U", SoupUnsequencedData),
                       ("L", SoupLoginRequest)):
    bind_layers(SoupBinTCP, _body, type=ord(_letter))


def bind_soup_port(port: int, ouch_version: str = DEFAULT_OUCH_VERSION) -> None:
    """Dissect TCP segments to or from ``port`` as SoupBinTCP carrying OUCH ``ouch_version``;
    ``TCP()/SoupBinTCP()`` gets ``dport=port`` (client → venue)."""
    if (ouch_version, Direction.INBOUND) not in _BY_VERSION:
        raise ValueError(f"unknown OUCH version {ouch_version!r} (use '5.0' or '4.2')")
    SOUP_PORTS[port] = ouch_version
    bind_bottom_up(TCP, SoupBinTCP, sport=port)
    bind_bottom_up(TCP, SoupBinTCP, dport=port)
    bind_top_down(TCP, SoupBinTCP, dport=port)


__all__ = [
    "OUCH_LAYERS",
    "AsciiNumberField",
    "MoldMessageBlock",
    "MoldUDP64",
    "OuchTagValue",
    "SoupBinTCP",
    "SoupDebug",
    "SoupLoginAccepted",
    "SoupLoginRejected",
    "SoupLoginRequest",
    "SoupSequencedData",
    "SoupUnsequencedData",
    "SpacePaddedField",
    "bind_mold_port",
    "bind_soup_port",
    "ouch_layer",
    "scapy_field_name",
]
