"""The whole feed path under cocotb + Verilator: XGMII frames in, records out.

Every real capture, scapy-built frames and fuzzed frames (scapy-mutated
and truncated frames, bad FCS, wrong lengths, message lengths running past
the packet end, wrong ITCH lengths) go through ``cocotbext.eth.XgmiiSource``
into :class:`~tick2trade.sim.feed_top.FeedPathTop`. The records must equal
``proto``'s decoding of the good packets, message for message, and the
models' output and counters exactly; bad input is dropped and counted, and
the next good packet decodes.
"""

from __future__ import annotations

import json
import random

import pytest
from conftest import itch_pcaps
from feed_streams import proto_records
from net_tb import scapy_frame

from tick2trade.proto.moldudp64 import MoldPacket
from tick2trade.proto.net import parse_frame
from tick2trade.proto.pcap import read_records
from tick2trade.sim.feed_engine import replay_config
from tick2trade.sim.model.feed.path import FeedPathModel
from tick2trade.sim.model.feed.records import record_from_bits, record_json
from tick2trade.sim.model.net import with_fcs

# the Verilator build of the whole path takes minutes: behind `slow` (make test-all)
pytestmark = [pytest.mark.rtl, pytest.mark.slow]

SESSION = b"SCAPYFEED1"


def itch_messages(rng, n):
    from tick2trade.proto.itch import LENGTHS
    out = []
    for _ in range(n):
        code = rng.choice("AFECXDURHSAAADDE")
        body = bytearray(rng.randbytes(LENGTHS[code] - 1))
        if code in "AF":
            body[18] = ord(rng.choice("BS"))
        if code in "RH":
            body[10:18] = rng.choice([b"AAPL    ", b"META    ", b"MSFT    "])
        if code == "H":
            body[18] = ord(rng.choice("HPQT"))
        out.append(code.encode() + bytes(body))
    return tuple(out)


def good_frame(rng, seq=0):
    payload = MoldPacket(SESSION, seq, itch_messages(rng, rng.randint(1, 30))).encode()
    return scapy_frame(payload, vlan=141 if rng.random() < 0.5 else None,
                       options=b"\x01" * (4 * rng.randrange(3)))


def fuzzed_frame(rng):
    """A frame broken in one of the ways issue 4 lists (FCS added later, maybe broken)."""
    kind = rng.randrange(7)
    msgs = list(itch_messages(rng, rng.randint(1, 8)))
    payload = bytearray(MoldPacket(SESSION, 0, tuple(msgs)).encode())
    if kind == 0:    # a message length running past the packet end
        at = 20 + sum(2 + len(m) for m in msgs[:-1])
        payload[at:at + 2] = (len(msgs[-1]) + rng.randint(1, 40)).to_bytes(2, "big")
    elif kind == 1:  # count disagrees with the blocks
        payload[18:20] = (len(msgs) + 1).to_bytes(2, "big")
    elif kind == 2:  # an ITCH length that does not match its type
        bad = b"D" + rng.randbytes(25)
        payload[18:20] = (len(msgs) + 1).to_bytes(2, "big")
        payload += len(bad).to_bytes(2, "big") + bad
    elif kind == 3:  # random bytes flipped anywhere in the MoldUDP64 packet
        for _ in range(rng.randint(1, 6)):
            payload[rng.randrange(len(payload))] ^= 1 << rng.randrange(8)
    frame = bytearray(scapy_frame(bytes(payload), vlan=141 if rng.random() < 0.5 else None))
    if kind == 4:    # truncated frame (FCS recomputed: the IP/UDP lengths now lie)
        frame = frame[:rng.randrange(14, len(frame))]
    elif kind == 5:  # scapy-level mutation of the headers (IP/UDP lengths, ports, ...)
        from scapy.all import Ether, fuzz
        from scapy.layers.inet import IP, UDP
        pkt = Ether(bytes(frame))
        layer = pkt[UDP] if rng.random() < 0.5 else pkt[IP]
        fuzzed = fuzz(layer.copy())
        for name in rng.sample(sorted(f.name for f in layer.fields_desc), 1):
            setattr(layer, name, getattr(fuzzed, name))
        frame = bytearray(bytes(pkt))
    wire = bytearray(with_fcs(bytes(frame)))
    if kind == 6:    # bad FCS
        wire[rng.randrange(len(wire))] ^= 0x10
    return bytes(wire)


def capture_frames():
    """Every real ITCH frame: anonymised (seq 0) first, then the real ones by sequence."""
    frames = [rec.frame for path in itch_pcaps() for rec in read_records(path)]
    return sorted(frames, key=lambda f: MoldPacket.decode(parse_frame(f).payload).sequence)


def run_feed(tmp_path, request, wires, *, backpressure=False, wires_b=None, b_delay=0):
    from tick2trade.sim.cocotb.runner import run_cocotb
    from tick2trade.sim.feed_top import FeedPathTop

    config = replay_config([])
    lines = 1 if wires_b is None else 2
    top = FeedPathTop(config, lines=lines)
    model = FeedPathModel(config, lines=lines)
    want = model.run(wires, wires_b or ())
    counters = model.counters()
    case = {"frames": [w.hex() for w in wires], "backpressure": backpressure,
            "counters": sorted(counters), "seed": 3}
    if wires_b is not None:
        case.update(frames_b=[w.hex() for w in wires_b], b_delay=b_delay)
    (tmp_path / "case.json").write_text(json.dumps(case))
    result_path = tmp_path / "result.json"
    run_cocotb(top, "tick2trade.sim.cocotb.feed_path", tag=request.node.name,
               extra_env={"T2T_FEED_CASE": str(tmp_path / "case.json"),
                          "T2T_FEED_RESULT": str(result_path)})
    result = json.loads(result_path.read_text())
    got = [record_from_bits(int(r, 16)) for r in result["records"]]
    assert [record_json(r) for r in got] == [record_json(r) for r in want]
    assert result["counters"] == counters
    stamps = [r.hw_ts for r in got]
    if lines == 1:  # with A/B, a packet B filled in is stamped after A's later ones
        assert stamps == sorted(stamps), "hardware timestamps rise with the frames"
    return got, counters


@pytest.mark.parametrize("backpressure", [False, True], ids=["ready", "backpressure"])
def test_real_captures_and_scapy_frames(tmp_path, request, backpressure):
    if not itch_pcaps():
        pytest.skip("captures not present (set T2T_SHARED)")
    rng = random.Random(1)
    frames = capture_frames() + [good_frame(rng) for _ in range(12)]
    got, counters = run_feed(tmp_path, request, [with_fcs(f) for f in frames],
                             backpressure=backpressure)
    assert [record_json(r) for r in got] == proto_records(frames)
    assert counters["stats__a_overflowed"] == 0


def test_fuzzed_frames_are_dropped_and_counted(tmp_path, request):
    rng = random.Random(2)
    wires, good = [], []
    for _ in range(40):
        frame = good_frame(rng)
        good.append(frame)
        wires += [fuzzed_frame(rng), with_fcs(frame)]
    got, counters = run_feed(tmp_path, request, wires)
    # every good packet decodes, in order, whatever came before it
    want = proto_records(good)
    it = iter(record_json(r) for r in got)
    assert all(any(rec == g for g in it) for rec in want)
    dropped = (counters["stats__a_malformed"] + counters["stats__malformed"]
               + counters["stats__truncated"] + counters["udp_stats__mac_errors"]
               + counters["udp_stats__truncated"] + counters["udp_stats__bad_length"])
    assert dropped >= 20


def test_two_lines_a_b_arbitration(tmp_path, request):
    """Lines A and B carry one sequenced stream, each losing packets; B lags A.

    Every packet at least one line carried is decoded exactly once, in
    order; the two packets both lines lost make one gap.
    """
    rng = random.Random(4)
    seq, packets = 1, []
    for _ in range(40):
        packet = MoldPacket(SESSION, seq, itch_messages(rng, rng.randint(1, 12)))
        packets.append(packet)
        seq = packet.next_sequence
    frames = [scapy_frame(p.encode()) for p in packets]
    lose_a = {i for i in range(1, 40) if rng.random() < 0.2} | {20, 21}
    lose_b = {i for i in range(1, 40) if rng.random() < 0.2 and i not in lose_a} | {20, 21}
    wires_a = [with_fcs(f) for i, f in enumerate(frames) if i not in lose_a]
    wires_b = [with_fcs(f) for i, f in enumerate(frames) if i not in lose_b]
    got, counters = run_feed(tmp_path, request, wires_a, wires_b=wires_b, b_delay=300)
    kept = [f for i, f in enumerate(frames) if i not in (20, 21)]
    assert [record_json(r) for r in got] == proto_records(kept)
    assert (counters["stats__gaps"], counters["stats__missing"]) == (
        1, packets[20].count + packets[21].count)
