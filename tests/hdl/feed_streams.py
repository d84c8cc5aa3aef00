"""Amaranth-simulator stream drivers for the feed-path tests.

Every driver takes a ``random.Random`` and a probability: ``idle`` inserts
random idle cycles between input beats, ``stall`` holds ``ready`` low at
random on outputs, so each test runs with and without gaps/back-pressure.
"""

from __future__ import annotations

import random

from amaranth.sim import Simulator

#: (idle probability, stall probability) pairs every stream test runs with
TIMINGS = [(0.0, 0.0), (0.3, 0.4)]
TIMING_IDS = ["line-rate", "gaps+backpressure"]


def beats(payload: bytes, **fields) -> list[dict]:
    """The 8-byte beats of one packet (lane 0 = first byte), with extra fields."""
    out = []
    chunks = [payload[i:i + 8] for i in range(0, len(payload), 8)] or [b""]
    for n, chunk in enumerate(chunks):
        out.append({"data": int.from_bytes(chunk.ljust(8, b"\0"), "little"),
                    "keep": (1 << len(chunk)) - 1, "first": n == 0,
                    "last": n == len(chunks) - 1, **fields})
    return out


def join(beat_list) -> bytes:
    """Bytes of collected beats (``data``/``keep`` views or dicts)."""
    out = bytearray()
    for data, keep in beat_list:
        n = bin(keep).count("1")
        out += int(data).to_bytes(8, "little")[:n]
    return bytes(out)


async def send(ctx, stream, items, rng: random.Random, idle: float):
    """Drive ``items`` (payload dicts) into ``stream`` with random idle cycles."""
    for item in items:
        while rng.random() < idle:
            await ctx.tick()
        ctx.set(stream.valid, 1)
        ctx.set(stream.payload, item)
        await ctx.tick().until(stream.ready)
        ctx.set(stream.valid, 0)


async def receive(ctx, stream, rng: random.Random, stall: float):
    """Accept one payload from ``stream`` with random back-pressure."""
    while rng.random() < stall:
        ctx.set(stream.ready, 0)
        await ctx.tick()
    ctx.set(stream.ready, 1)
    (payload,) = await ctx.tick().sample(stream.payload).until(stream.valid)
    ctx.set(stream.ready, 0)
    return payload


def run(dut, *testbenches, processes=(), max_cycles: int = 200_000, vcd: str | None = None):
    """Simulate ``dut`` until every testbench returns; fail after ``max_cycles`` (a hang)."""
    sim = Simulator(dut)
    period = 1e-8
    sim.add_clock(period)
    done = []

    def finishing(tb):
        async def wrapped(ctx):
            await tb(ctx)
            done.append(tb)
        return wrapped

    for tb in testbenches:
        sim.add_testbench(finishing(tb))
    for proc in processes:
        sim.add_testbench(proc, background=True)
    def until_done():
        for chunk in range(1000, max_cycles + 1000, 1000):
            sim.run_until(period * chunk)
            if len(done) == len(testbenches):
                return

    if vcd:
        with sim.write_vcd(vcd):
            until_done()
    else:
        until_done()
    names = [tb.__name__ for tb in testbenches if tb not in done]
    assert not names, f"still waiting after {max_cycles} cycles (hang?): {names}"


def capture_payloads(path) -> list[tuple[int, int, bytes]]:
    """(ts_ns, dst_port, UDP payload) of every MoldUDP64 packet of a capture, in file order."""
    from tick2trade.proto.capture import iter_mold
    return [(c.ts_ns, c.dst_port, c.packet.encode()) for c in iter_mold(path, strict=True)]


def proto_json(msg, seq):
    """The record issue 4 specifies, built straight from ``proto.itch`` (independent oracle)."""
    out = {"seq": seq, "type": msg.TYPE, "locate": msg.stock_locate, "ts": msg.timestamp}
    if msg.TYPE in "RH":
        out["symbol"] = msg.stock
        if msg.TYPE == "H":
            out["state"] = msg.trading_state
        return out
    out["ref"] = msg.original_order_ref if msg.TYPE == "U" else msg.order_ref
    if msg.TYPE in "AF":
        out["side"] = msg.side
    shares = {"E": "executed_shares", "C": "executed_shares", "X": "cancelled_shares"}
    if msg.TYPE in "AFUECX":
        out["shares"] = getattr(msg, shares.get(msg.TYPE, "shares"))
    if msg.TYPE in "AFU":
        out["price"] = msg.price
    if msg.TYPE == "C":
        out["price"] = msg.execution_price
    if msg.TYPE in "EC":
        out["match"] = msg.match_number
    if msg.TYPE == "U":
        out["new_ref"] = msg.new_order_ref
    return out


def proto_records(frames) -> list[dict]:
    """Every record-type message of the MoldUDP64 packets in ``frames``, as ``proto`` decodes
    them, in order (the oracle when every packet is delivered)."""
    from tick2trade.proto import itch
    from tick2trade.proto.moldudp64 import MoldPacket
    from tick2trade.proto.net import parse_frame
    out = []
    for frame in frames:
        parsed = parse_frame(frame)
        if not parsed.is_udp:
            continue
        packet = MoldPacket.decode(parsed.payload)
        for n, raw in enumerate(packet.messages):
            if chr(raw[0]) in "AFECXDURH":
                out.append(proto_json(itch.decode(raw), packet.sequence + n))
    return out
