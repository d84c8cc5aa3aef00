"""The cut-through feed models on hand-built packets (MoldUDP64 §2, §5): where a
packet dies, which messages went out, what the arbiter expects next, which gap."""

from __future__ import annotations

from tick2trade.proto.moldudp64 import MoldPacket
from tick2trade.sim.model.feed.arbiter import MoldArbiterModel
from tick2trade.sim.model.feed.itch import ItchDecoderModel
from tick2trade.sim.model.feed.moldudp64 import MoldIngressModel, UdpPayload

SESSION = b"HANDMADE01"


def add_order(n: int) -> bytes:
    """An ITCH 5.0 Add Order (type A, 36 bytes, ITCH 5.0 §3.11) numbered ``n``."""
    return b"A" + n.to_bytes(2, "big") + bytes(15) + b"B" + bytes(11) + n.to_bytes(4, "big") \
        + bytes(2)


def packet(seq: int, n: int) -> MoldPacket:
    return MoldPacket(SESSION, seq, tuple(add_order(seq + k) for k in range(n)))


def test_bad_fcs_keeps_the_blocks_whole_before_the_last_beat():
    # 5 blocks of 38 bytes after the 20-byte header: 210 bytes = 27 beats, blocks end at
    # 58, 96, 134, 172, 210; the last beat (26, bytes 208..209) is bad, 26 beats stay
    p = packet(1, 5)
    got = MoldIngressModel(cut_through=True).push(UdpPayload(p.encode(), error=True))
    assert got.cut == (26, 4)
    assert MoldIngressModel().push(UdpPayload(p.encode(), error=True)) is None


def test_too_many_blocks_dies_where_the_extra_length_arrives():
    p = packet(1, 5)
    payload = bytearray(p.encode())
    payload[18:20] = (3).to_bytes(2, "big")   # the header promises 3 blocks
    ingress = MoldIngressModel(cut_through=True)
    got = ingress.push(UdpPayload(bytes(payload)))
    # block 4's length is bytes 134..135, in beat 16: beats 0..15 (bytes 0..127) stay;
    # block 3 ends at byte 133, inside the bad beat, so 2 blocks went out whole
    assert got.cut == (16, 2)
    assert (ingress.counters.malformed, ingress.counters.late_errors) == (1, 1)


def test_header_beat_bad_means_never_offered():
    p = MoldPacket(SESSION, 1, (b"A" + bytes(2),))    # a 3-byte block: short, in beat 2
    ingress = MoldIngressModel(cut_through=True)
    assert ingress.push(UdpPayload(p.encode())) is None
    assert (ingress.counters.malformed, ingress.counters.late_errors) == (1, 0)


def test_undelivered_messages_become_a_gap_or_line_b_supplies_them():
    first, dying, after = packet(1, 2), packet(3, 5), packet(8, 2)
    ingress = MoldIngressModel(cut_through=True)
    a = [ingress.push(UdpPayload(x.encode(), error=x is dying)) for x in (first, dying, after)]
    one = MoldArbiterModel(lines=1)
    one.run([a])
    # messages 3..6 went out, 7 did not: a gap (7, 1) before packet 8
    assert one.gaps == [(7, 1)] and one.counters.cut_short == 1
    records = [r.seq for d in one.delivered for r in ItchDecoderModel().push(d)]
    assert records == [1, 2, 3, 4, 5, 6, 8, 9]

    b = [MoldIngressModel(cut_through=True).push(UdpPayload(x.encode(), line=1))
         for x in (first, dying, after)]
    two = MoldArbiterModel(lines=2)
    two.run([a, b])
    assert two.gaps == [] and two.counters.overlaps == 1
    decoder = ItchDecoderModel()
    records = [r.seq for d in two.delivered for r in decoder.push(d)]
    assert records == list(range(1, 10))
