"""OuchEncoder bytes against real OUCH 5.0 captures (SoupBinTCP §2.8, OUCH 5.0 §4.1)."""

from __future__ import annotations

import random

import pytest
from conftest import CAPTURES
from test_ouch_encoder import simulate

from tick2trade.hdl.order import OuchTemplate
from tick2trade.hdl.strategy.layouts import OrderKind, Side, Tif
from tick2trade.proto import ouch50, soupbintcp
from tick2trade.sim.model.order import OuchEncoderModel, Request


def captured_packet(name: str) -> bytes:
    from tick2trade.proto.net import parse_frame
    from tick2trade.proto.pcap import iter_records
    path = CAPTURES / name
    if not path.exists():
        pytest.skip(f"third-party capture not present: {path}")
    (record,) = list(iter_records(path))
    return parse_frame(record.frame).payload


def test_cancel_is_byte_identical_to_the_capture():
    """The captured Cancel (no appendage) is exactly what the encoder emits for it."""
    packet = captured_packet("ouch50_CancelOrderMessage.pcap")
    msg = ouch50.decode_inbound(soupbintcp.decode(packet).message)
    req = Request(kind=OrderKind.CANCEL, token=msg.user_ref_num, shares=msg.quantity)
    template = OuchTemplate(version="5.0")
    packets, _, _ = simulate(template, [req], idle=0.3, stall=0.3, seed=1)
    assert packets == [packet]
    assert OuchEncoderModel(template).encode(req) == packet


def test_enter_matches_the_capture_in_every_field_we_fill():
    """The captured Enter Order (sell short, firm appendage) agrees wherever our template
    writes a request field; the constant fields come from the session template."""
    packet = captured_packet("ouch50_EnterOrderMessage.pcap")
    theirs = ouch50.decode_inbound(soupbintcp.decode(packet).message)
    req = Request(kind=OrderKind.ENTER, side=Side.SELL,
                  tif=Tif.DAY if theirs.time_in_force == "0" else Tif.IOC,
                  token=theirs.user_ref_num, shares=theirs.quantity, price=theirs.price,
                  slot=0)
    template = OuchTemplate(version="5.0", display=theirs.display, capacity=theirs.capacity,
                            intermarket_sweep=theirs.intermarket_sweep,
                            cross_type=theirs.cross_type)
    packets, _, _ = simulate(template, [req], seed=random.randrange(100),
                             symbols={0: theirs.symbol})
    ours = ouch50.decode_inbound(soupbintcp.decode(packets[0]).message)
    for name in ("user_ref_num", "quantity", "symbol", "price", "time_in_force", "display",
                 "capacity", "intermarket_sweep", "cross_type"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert (ours.side, theirs.side) == ("S", "T")  # we send plain sells only
    assert ours.appendage == () and theirs.appendage  # we send no options
