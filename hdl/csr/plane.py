"""The control plane as one block: endpoint in front of the CSR bank (composition only)."""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out, connect, flipped

from ..layouts import beat_stream
from .bank import CsrBank
from .builder import RegisterMap
from .endpoint import ControlEndpoint

__all__ = ["ControlPlane"]

#: the bank port the endpoint's error count drives
ERRORS_PORT = "events_errors"


class ControlPlane(wiring.Component):
    """:class:`ControlEndpoint` + :class:`CsrBank` of ``regmap``.

    Ports: ``rx``/``tx`` control datagrams, ``mask``/``subscribed`` from the
    endpoint, and every register and table port of the bank under the same
    name (``<block>_<register>``, ``table_<name>``), except ``events.errors``,
    which the endpoint drives.
    """

    def __init__(self, regmap: RegisterMap):
        self.bank = CsrBank(regmap)
        self.endpoint = ControlEndpoint(regmap, self.bank.addr_width)
        members = {"rx": In(beat_stream()), "tx": Out(beat_stream()), "mask": Out(32),
                   "subscribed": Out(1)}
        for name, member in self.bank.signature.members.items():
            if name not in ("bus", ERRORS_PORT):
                members[name] = member
        super().__init__(members)

    def port(self, path: str):
        block, name = path.split(".")
        return getattr(self, f"table_{name}" if block == "table" else f"{block}_{name}")

    def elaborate(self, platform):
        m = Module()
        m.submodules.bank, m.submodules.endpoint = self.bank, self.endpoint
        ep = self.endpoint
        connect(m, ep.bus, self.bank.bus)
        connect(m, flipped(self.rx), ep.rx)
        connect(m, ep.tx, flipped(self.tx))
        m.d.comb += [self.mask.eq(ep.mask), self.subscribed.eq(ep.subscribed)]
        if hasattr(self.bank, ERRORS_PORT):
            m.d.comb += getattr(self.bank, ERRORS_PORT).value.eq(ep.errors)
        for name, member in self.signature.members.items():
            if name in ("rx", "tx", "mask", "subscribed"):
                continue
            ours, theirs = getattr(self, name), getattr(self.bank, name)
            if member.is_signature:
                connect(m, theirs, flipped(ours))
            elif member.flow is Out:
                m.d.comb += ours.eq(theirs)
            else:
                m.d.comb += theirs.eq(ours)
        return m
