"""Order table: order reference → (slot, side, price, shares) in block RAM (ITCH 5.0 §5).

**Structure: two-choice set-associative hashing.** ``2**order_bits`` entries
in two banks, each of ``2**set_bits`` sets of ``2**way_bits`` ways (one
memory per bank and way, read together). A reference may live in one set
of each bank: bank ``b``'s set is ``low ^ H_b(tag)``, ``low`` the reference's
low bits and ``H_b`` an XOR tree per bit over the high bits (H3 universal
hashing, :meth:`BookParams.set_of`). A way stores the full high bits, so a
hit is never false. A lookup reads both sets in one cycle and reports the
way holding the reference and the freest set (more free ways; tie: bank 0).

*Why.* Nasdaq references rise through the day, but orders live for very
different times: a direct-mapped table on the low bits evicts a resting
order as soon as a reference ``2**order_bits`` later arrives, which happens
to every long-lived order. Hashing spreads live orders evenly, and choosing
the freer of two sets makes a full set very unlikely below about half load
(measured on generated flows: no collision at 25 % load, a few per ten
thousand adds at 45 %); cuckoo hashing would fill further but needs a
variable number of moves per insert, i.e. stalls of unbounded length.

*Failure mode.* An add whose two sets are both full is **dropped**, counted
in ``collisions``, and its (symbol, side) is marked ``lost``: that side's
top of book is published as inexact from then on (never a wrong figure),
and the dropped order's later messages count as misses. Size the table
for at most half load.

Only orders of subscribed symbols are stored. Read latency is one cycle:
``lookup`` with ``ref`` in cycle ``n``, results in ``n + 1`` and held until
the next lookup; a write (``we``) goes to the looked-up sets and is seen by
the held results one cycle later, and by a lookup issued in the same cycle
(the read ports are transparent: back-to-back records on one set need no
stall). ``clear`` invalidates the hit way in the same cycle as a ``we`` to
another way (a duplicate add replaced in one step); the free way reported
already counts the hit way as free, as it is after the removal.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .layouts import BookParams, order_entry

__all__ = ["OrderTable"]


class OrderTable(wiring.Component):
    """Two-choice set-associative order table (see the module docstring)."""

    def __init__(self, params: BookParams):
        self._p = p = params
        super().__init__({
            "lookup": In(1),
            "ref": In(64),
            "tag": Out(p.tag_bits),
            "hit": Out(1),
            "hit_bank": Out(1),
            "hit_way": Out(max(1, p.way_bits)),
            "entry": Out(order_entry(p)),
            "free": Out(1),
            "free_bank": Out(1),
            "free_way": Out(max(1, p.way_bits)),
            "clear": In(1),
            "we": In(1),
            "w_bank": In(1),
            "w_way": In(max(1, p.way_bits)),
            "w_entry": In(order_entry(p)),
        })

    def _set_of(self, ref, bank: int):
        p = self._p
        tag = ref[p.set_bits:]
        bits = [ref[j] ^ (tag & mask).xor() for j, mask in enumerate(p.set_masks(bank))]
        return Cat(*bits)

    def elaborate(self, platform):
        p, m = self._p, Module()
        layout = order_entry(p)
        held = [Signal(p.set_bits, name=f"set{b}") for b in (0, 1)]
        with m.If(self.lookup):
            m.d.sync += [held[b].eq(self._set_of(self.ref, b)) for b in (0, 1)]
            m.d.sync += self.tag.eq(self.ref[p.set_bits:])
        entries = []  # [bank][way] read data
        for b in (0, 1):
            row = []
            addr = Signal(p.set_bits, name=f"raddr{b}")
            m.d.comb += addr.eq(held[b])
            with m.If(self.lookup):
                m.d.comb += addr.eq(self._set_of(self.ref, b))
            for w in range(p.ways):
                mem = m.submodules[f"bank{b}_way{w}"] = Memory(
                    shape=layout, depth=1 << p.set_bits, init=[])
                wr = mem.write_port()
                rd = mem.read_port(transparent_for=(wr,))
                write = self.we & (self.w_bank == b) & (self.w_way == w)
                clear = self.clear & (self.hit_bank == b) & (self.hit_way == w)
                m.d.comb += [
                    rd.addr.eq(addr),
                    wr.addr.eq(held[b]),
                    wr.data.eq(Mux(write, self.w_entry.as_value(), 0)),
                    wr.en.eq(write | clear),
                ]
                row.append(layout(rd.data))
            entries.append(row)
        # the way holding the reference (bank 0 first, lowest way first)
        for b in (1, 0):
            for w in reversed(range(p.ways)):
                e = entries[b][w]
                with m.If(e.valid & (e.tag == self.tag)):
                    m.d.comb += [self.hit.eq(1), self.hit_bank.eq(b), self.hit_way.eq(w),
                                 self.entry.eq(e)]
        # the freest set (tie: bank 0) and its lowest free way, the hit way counted free
        empty = [[~entries[b][w].valid | (self.hit & (self.hit_bank == b)
                                          & (self.hit_way == w))
                  for w in range(p.ways)] for b in (0, 1)]
        free_count = [sum(empty[b][w].as_unsigned() for w in range(p.ways)) for b in (0, 1)]
        first_free = []
        for b in (0, 1):
            way = Signal(max(1, p.way_bits), name=f"free_way{b}")
            for w in reversed(range(p.ways)):
                with m.If(empty[b][w]):
                    m.d.comb += way.eq(w)
            first_free.append(way)
        with m.If(free_count[1] > free_count[0]):
            m.d.comb += [self.free.eq(1), self.free_bank.eq(1), self.free_way.eq(first_free[1])]
        with m.Else():
            m.d.comb += [self.free.eq(free_count[0] != 0), self.free_bank.eq(0),
                         self.free_way.eq(first_free[0])]
        return m
