"""MoldUDP64 sequencing model: in order, gaps, duplicates, overlaps, control packets."""

from __future__ import annotations

import pytest
from conftest import CAPTURES

from tick2trade.proto.moldudp64 import MoldPacker, MoldPacket
from tick2trade.sim.model.sequencer import MoldSequencer

SESSION = b"000010059B"
OTHER = b"000010060A"


def data(seq: int, n: int, session: bytes = SESSION) -> MoldPacket:
    return MoldPacket(session, seq, tuple(f"m{seq + i}".encode() for i in range(n)))


def seqs(delivered) -> list:
    return [s for s, _ in delivered]


def test_in_order_packets_are_delivered_with_their_numbers():
    sq = MoldSequencer()
    assert sq.accept(data(10, 3)) == [(10, b"m10"), (11, b"m11"), (12, b"m12")]
    assert seqs(sq.accept(data(13, 2))) == [13, 14]
    assert sq.expected(SESSION) == 15
    st = sq.stats
    assert (st.packets, st.data_packets, st.delivered, st.gaps, st.sessions) == (2, 2, 5, 0, 1)


def test_first_packet_syncs_unless_a_first_sequence_is_given():
    assert MoldSequencer().accept(data(500, 1)) == [(500, b"m500")]
    sq = MoldSequencer(first_sequence=1)
    assert seqs(sq.accept(data(500, 1))) == [500]
    assert sq.stats.gap_ranges == [(SESSION, 1, 499)]
    assert sq.stats.missing == 499
    with pytest.raises(ValueError, match="start at 1"):
        MoldSequencer(first_sequence=0)


def test_gap_is_recorded_and_skipped():
    sq = MoldSequencer()
    sq.accept(data(1, 2))
    assert seqs(sq.accept(data(7, 2))) == [7, 8]
    st = sq.stats
    assert (st.gaps, st.missing, st.gap_ranges) == (1, 4, [(SESSION, 3, 6)])
    assert sq.expected(SESSION) == 9


def test_duplicate_packet_is_dropped():
    sq = MoldSequencer()
    sq.accept(data(1, 3))
    assert sq.accept(data(1, 3)) == []
    assert sq.accept(data(2, 2)) == []  # wholly inside what was delivered
    st = sq.stats
    assert (st.duplicate_packets, st.duplicate_messages, st.delivered) == (2, 5, 3)


def test_overlap_delivers_only_the_new_tail():
    sq = MoldSequencer()
    sq.accept(data(1, 3))
    assert sq.accept(data(2, 4)) == [(4, b"m4"), (5, b"m5")]
    st = sq.stats
    assert (st.overlaps, st.duplicate_messages, st.delivered) == (1, 2, 5)
    assert sq.expected(SESSION) == 6


def test_heartbeat_detects_a_lost_tail():
    sq = MoldSequencer()
    sq.accept(data(1, 2))
    assert sq.accept(MoldPacket.heartbeat(SESSION, 3)) == []
    assert sq.stats.gaps == 0
    assert sq.accept(MoldPacket.heartbeat(SESSION, 6)) == []
    st = sq.stats
    assert (st.heartbeats, st.gaps, st.gap_ranges) == (2, 1, [(SESSION, 3, 5)])
    assert seqs(sq.accept(data(6, 1))) == [6]


def test_end_of_session_marks_the_session_ended():
    sq = MoldSequencer()
    sq.accept(data(1, 2))
    assert sq.accept(MoldPacket.end_of_session(SESSION, 3)) == []
    assert sq.sessions[SESSION].ended
    assert sq.stats.end_of_session == 1 and sq.stats.gaps == 0
    assert sq.accept(data(1, 2)) == []  # a late retransmission is still a duplicate
    sq.accept(data(3, 1))
    assert sq.stats.after_end_of_session == 2


def test_sessions_are_sequenced_independently():
    sq = MoldSequencer()
    sq.accept(data(1, 2))
    assert seqs(sq.accept(data(100, 1, OTHER))) == [100]
    assert seqs(sq.accept(data(3, 1))) == [3]
    assert sq.stats.gaps == 0 and sq.stats.sessions == 2


def test_sequence_zero_packets_are_unsequenced_and_in_file_order():
    sq = MoldSequencer()
    zeros = bytes(10)
    a = MoldPacket(zeros, 0, (b"a", b"b"))
    assert sq.accept(a) == [(None, b"a"), (None, b"b")]
    assert sq.accept(a) == [(None, b"a"), (None, b"b")]  # no duplicate detection without numbers
    assert sq.accept(MoldPacket.heartbeat(zeros, 0)) == []
    st = sq.stats
    assert (st.unsequenced_packets, st.delivered, st.gaps, st.duplicate_packets) == (2, 4, 0, 0)
    assert sq.expected(zeros) is None


def test_packer_output_is_delivered_whole_in_any_packet_size():
    messages = [bytes([65 + i % 26]) * (1 + i % 40) for i in range(500)]
    packets = list(MoldPacker(SESSION, max_payload=200).pack(messages))
    sq = MoldSequencer(first_sequence=1)
    out = [d for p in packets for d in sq.accept(p)]
    assert [m for _, m in out] == messages
    assert seqs(out) == list(range(1, 501))
    assert sq.stats.gaps == sq.stats.duplicate_messages == 0


@pytest.mark.skipif(not (CAPTURES / "itch50_Multiple.Packets.pcap").exists(),
                    reason="third-party capture itch50_Multiple.Packets.pcap not present")
def test_real_capture_with_one_gap():
    iter_mold = pytest.importorskip("tick2trade.proto.capture").iter_mold
    sq = MoldSequencer()
    delivered = [d for rec in iter_mold(CAPTURES / "itch50_Multiple.Packets.pcap")
                 for d in sq.accept(rec.packet)]
    st = sq.stats
    assert (st.packets, st.delivered, st.gaps) == (2, 39, 1)
    assert st.gap_ranges == [(SESSION, 14764497, 19009116)]
    assert delivered[0][0] == 14764496 and delivered[-1][0] == 19009117 + 37


def test_deliverable_is_accept_without_copies():
    sq = MoldSequencer()
    packet = data(1, 3)
    first, messages = sq.deliverable(packet)
    assert (first, messages) == (1, packet.messages) and messages is packet.messages
    assert sq.deliverable(data(2, 4)) == (4, (b"m4", b"m5"))
    assert sq.deliverable(data(1, 2)) == (1, ())
    assert sq.deliverable(MoldPacket(bytes(10), 0, (b"x",))) == (None, (b"x",))
