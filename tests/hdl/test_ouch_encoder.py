"""OuchEncoder (OUCH 4.2 §3.1–§3.3, OUCH 5.0 §4.1, SoupBinTCP §2.8) against its model and proto."""

from __future__ import annotations

import random

import pytest
from feed_streams import TIMING_IDS, TIMINGS, join, receive, run, send
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tick2trade.hdl.order import OuchEncoder, OuchTemplate
from tick2trade.hdl.order.template import symbol_word, token_text
from tick2trade.hdl.risk.layouts import Reason
from tick2trade.hdl.strategy.layouts import OrderKind, Side, Tif
from tick2trade.proto import ouch42, ouch50, soupbintcp
from tick2trade.sim.model.order import OuchEncoderModel, Request

VERSIONS = ["4.2", "5.0"]
SYMBOLS = {0: "AAPL", 1: "MSFT", 7: "ZVZZT", 255: "BRK A"}


def requests(rng: random.Random, n: int, reject_rate: float = 0.2) -> list[Request]:
    out = []
    for _ in range(n):
        kind = rng.choice(list(OrderKind))
        out.append(Request(
            kind=kind, side=rng.choice(list(Side)), tif=rng.choice(list(Tif)),
            reason=(rng.choice(list(Reason)[1:]) if rng.random() < reject_rate
                    else Reason.SENT),
            slot=rng.choice(list(SYMBOLS)), locate=rng.getrandbits(16),
            price=rng.choice([0, 1, rng.getrandbits(31), 0x7735939C]),
            shares=0 if kind is OrderKind.CANCEL else rng.randint(1, 999_999),
            token=rng.getrandbits(32), orig_token=rng.getrandbits(32),
            trigger_ts=rng.getrandbits(48), stamp_risk=rng.getrandbits(64)))
    return out


def simulate(template, reqs, *, ref_base=0, idle=0.0, stall=0.0, seed=0, symbols=None):
    """Drive the encoder; return (packets as bytes, reports as dicts, counters)."""
    dut = OuchEncoder(template)
    rng = random.Random(seed)
    packets, reports, counts = [], [], {}
    n_sent = sum(r.reason is Reason.SENT for r in reqs)

    async def setup_and_drive(ctx):
        ctx.set(dut.ref_base, ref_base)
        for slot, symbol in (symbols or SYMBOLS).items():
            ctx.set(dut.symbols.addr, slot)
            ctx.set(dut.symbols.data, {"symbol": symbol_word(symbol)})
            ctx.set(dut.symbols.en, 1)
            await ctx.tick()
        ctx.set(dut.symbols.en, 0)
        await send(ctx, dut.requests, [r.payload() for r in reqs], rng, idle)

    async def collect(ctx):
        for _ in range(n_sent):
            beats = []
            while True:
                beat = await receive(ctx, dut.packets, rng, stall)
                assert beat.first == (not beats)
                beats.append((beat.data, beat.keep))
                if beat.last:
                    break
            packets.append(join(beats))
        await ctx.tick().repeat(4)
        counts["sent"] = ctx.get(dut.sent_count)
        counts["rejected"] = ctx.get(dut.reject_count)

    async def watch_reports(ctx):
        async for _clk, _, valid, payload in ctx.tick().sample(dut.reports.valid,
                                                               dut.reports.payload):
            if valid:
                reports.append((Reason(payload.request.reason), payload.request.token,
                                payload.number))

    run(dut, setup_and_drive, collect, processes=[watch_reports])
    return packets, reports, counts


def model_packets(template, reqs, ref_base=0):
    model = OuchEncoderModel(template, ref_base)
    for slot, symbol in SYMBOLS.items():
        model.set_symbol(slot, symbol)
    return [p for p in (model.encode(r) for r in reqs) if p is not None]


def check_decodes(template, req: Request, packet: bytes, ref_base=0):
    """The packet decodes with proto to exactly the requested fields."""
    soup = soupbintcp.decode(packet[:])
    assert isinstance(soup, soupbintcp.UnsequencedData)
    number = (ref_base + req.token) & 0xFFFF_FFFF
    orig = (ref_base + req.orig_token) & 0xFFFF_FFFF
    side = chr(req.side.value)
    if template.version == "4.2":
        msg = ouch42.decode_inbound(soup.message)
        tif = ouch42.TIF_IOC if req.tif is Tif.IOC else ouch42.TIF_MARKET_HOURS
        text = token_text(template.token_prefix, number)
        if req.kind is OrderKind.ENTER:
            assert isinstance(msg, ouch42.EnterOrder)
            assert (msg.order_token, msg.side, msg.shares, msg.stock, msg.price,
                    msg.time_in_force) == (text, side, req.shares, SYMBOLS[req.slot],
                                           req.price, tif)
        elif req.kind is OrderKind.REPLACE:
            assert isinstance(msg, ouch42.ReplaceOrder)
            assert (msg.existing_order_token, msg.replacement_order_token, msg.shares,
                    msg.price, msg.time_in_force) == (
                        token_text(template.token_prefix, orig), text, req.shares, req.price,
                        tif)
        else:
            assert isinstance(msg, ouch42.CancelOrder)
            assert (msg.order_token, msg.shares) == (text, req.shares)
        return
    msg = ouch50.decode_inbound(soup.message)
    tif = "3" if req.tif is Tif.IOC else "0"
    if req.kind is OrderKind.ENTER:
        assert isinstance(msg, ouch50.EnterOrder)
        assert (msg.user_ref_num, msg.side, msg.quantity, msg.symbol, msg.price,
                msg.time_in_force, msg.cl_ord_id, msg.appendage) == (
                    number, side, req.shares, SYMBOLS[req.slot], req.price, tif,
                    token_text(template.token_prefix, number), ())
    elif req.kind is OrderKind.REPLACE:
        assert isinstance(msg, ouch50.ReplaceOrder)
        assert (msg.orig_user_ref_num, msg.user_ref_num, msg.quantity, msg.price,
                msg.time_in_force) == (orig, number, req.shares, req.price, tif)
    else:
        assert isinstance(msg, ouch50.CancelOrder)
        assert (msg.user_ref_num, msg.quantity, msg.appendage) == (number, req.shares, None)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("idle", "stall"), TIMINGS, ids=TIMING_IDS)
def test_encoder_matches_model_and_proto(version, idle, stall):
    template = OuchTemplate(version=version, token_prefix="AB12CD", firm="FIRM")
    reqs = requests(random.Random(f"{version}-{idle}"), 60)
    packets, reports, counts = simulate(template, reqs, ref_base=1000, idle=idle, stall=stall,
                                        seed=3)
    assert packets == model_packets(template, reqs, ref_base=1000)
    sent = [r for r in reqs if r.reason is Reason.SENT]
    assert len(packets) == len(sent)
    for req, packet in zip(sent, packets, strict=True):
        check_decodes(template, req, packet, ref_base=1000)
    assert counts == {"sent": len(sent), "rejected": len(reqs) - len(sent)}
    # every request reported once, in order; sent ones with their wire number
    assert [(r.reason, r.token) for r in reqs] == [(reason, token) for reason, token, _ in
                                                   reports]
    assert all(number == (1000 + token) & 0xFFFF_FFFF
               for reason, token, number in reports if reason is Reason.SENT)


def test_back_to_back_packets_at_line_rate():
    """At line rate a packet follows the previous one with no idle beat."""
    template = OuchTemplate(version="5.0")
    reqs = [Request(kind=OrderKind.CANCEL, token=i, slot=0) for i in range(1, 6)]
    dut = OuchEncoder(template)
    valid_cycles = []

    async def drive(ctx):
        await send(ctx, dut.requests, [r.payload() for r in reqs], random.Random(0), 0.0)

    async def sink(ctx):
        ctx.set(dut.packets.ready, 1)
        count = 0
        for cycle in range(40):
            await ctx.tick()
            if ctx.get(dut.packets.valid):
                valid_cycles.append(cycle)
                count += ctx.get(dut.packets.payload.last)
            if count == len(reqs):
                return

    run(dut, drive, sink)
    # a Cancel is 12 bytes = 2 beats; 5 packets in 10 consecutive cycles
    assert valid_cycles == list(range(valid_cycles[0], valid_cycles[0] + 10))


request_values = st.builds(
    Request,
    kind=st.sampled_from(list(OrderKind)), side=st.sampled_from(list(Side)),
    tif=st.sampled_from(list(Tif)), reason=st.just(Reason.SENT),
    slot=st.sampled_from(list(SYMBOLS)), price=st.integers(0, (1 << 32) - 1),
    shares=st.integers(0, (1 << 32) - 1), token=st.integers(0, (1 << 32) - 1),
    orig_token=st.integers(0, (1 << 32) - 1))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(version=st.sampled_from(VERSIONS), reqs=st.lists(request_values, min_size=1, max_size=12),
       ref_base=st.integers(0, (1 << 32) - 1),
       prefix=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                      min_size=6, max_size=6))
def test_encoder_fields_hypothesis(version, reqs, ref_base, prefix):
    template = OuchTemplate(version=version, token_prefix=prefix)
    packets, _, _ = simulate(template, reqs, ref_base=ref_base)
    assert packets == model_packets(template, reqs, ref_base)
    for req, packet in zip(reqs, packets, strict=True):
        check_decodes(template, req, packet, ref_base)


def test_template_offsets_come_from_proto_tables():
    """Every filled field sits where the proto FIELDS table puts it (no hand-copied offsets)."""
    from tick2trade.hdl.order.template import SOUP_HEADER_LEN, plan
    for version in VERSIONS:
        template = OuchTemplate(version=version)
        for kind, cls in template.classes.items():
            p = plan(template, kind)
            assert len(p.template) == SOUP_HEADER_LEN + cls.LENGTH
            starts = {SOUP_HEADER_LEN + f.offset for f in cls.FIELDS}
            ends = {SOUP_HEADER_LEN + f.offset + f.length for f in cls.FIELDS}
            for fill in p.fills:
                assert fill.offset + fill.length in ends
                assert fill.offset in starts or fill.source.endswith("_text")


def test_template_rejects_bad_prefix():
    with pytest.raises(ValueError, match="token_prefix"):
        OuchTemplate(token_prefix="AB-12C")
    with pytest.raises(ValueError, match="version"):
        OuchTemplate(version="4.1")


@pytest.mark.parametrize("version", VERSIONS)
def test_encoder_elaborates_to_rtlil(version):
    from amaranth.back import rtlil
    from amaranth.hdl import Signal, Value
    dut = OuchEncoder(OuchTemplate(version=version))
    ports = [Value.cast(v) for _, _, v in dut.signature.flatten(dut)
             if isinstance(Value.cast(v), Signal)]
    text = rtlil.convert(dut, ports=ports)  # (the always-ready report port is a constant)
    assert "module" in text
