"""Order table: two-choice lookups, inserts and removals against a dict, hazards included."""

from __future__ import annotations

import random

import pytest
from amaranth.sim import Simulator

from tick2trade.hdl.book import BookParams, OrderTable

P = BookParams(order_bits=4, way_bits=1)   # 2 banks × 4 sets × 2 ways


class TableModel:
    """Where :class:`OrderTable` puts references (the placement rule of the book model)."""

    def __init__(self, p: BookParams):
        self.p = p
        self.ways = {(b, s): [None] * p.ways for b in (0, 1) for s in range(1 << p.set_bits)}

    def find(self, ref):
        for b in (0, 1):
            ways = self.ways[(b, self.p.set_of(ref, b))]
            if ref in ways:
                return b, ways.index(ref)
        return None

    def free(self, ref):
        sets = [self.ways[(b, self.p.set_of(ref, b))] for b in (0, 1)]
        frees = [s.count(None) for s in sets]
        b = 1 if frees[1] > frees[0] else 0
        return (b, sets[b].index(None)) if frees[b] else None


@pytest.mark.parametrize("back_to_back", [False, True], ids=["spaced", "back-to-back"])
def test_random_ops_match_placement_model(back_to_back):
    rng = random.Random(4)
    dut = TableModel(P), OrderTable(P)
    model, table = dut
    refs = [rng.randrange(1 << 40) for _ in range(12)] + [1, 2, 3, 4, 5]

    async def tb(ctx):
        for _ in range(400):
            ref = rng.choice(refs)
            ctx.set(table.lookup, 1)
            ctx.set(table.ref, ref)
            await ctx.tick()
            ctx.set(table.lookup, 0)
            hit = ctx.get(table.hit)
            where = model.find(ref)
            assert bool(hit) == (where is not None), ref
            if hit:
                assert (ctx.get(table.hit_bank), ctx.get(table.hit_way)) == where
                assert ctx.get(table.entry.price) == ref & 0xFFFF
                # remove it (the next lookup, maybe in this same cycle, must not see it)
                ctx.set(table.we, 1)
                ctx.set(table.w_bank, where[0])
                ctx.set(table.w_way, where[1])
                ctx.set(table.w_entry, {"valid": 0})
                model.ways[(where[0], P.set_of(ref, where[0]))][where[1]] = None
            else:
                free = model.free(ref)
                assert bool(ctx.get(table.free)) == (free is not None)
                if free is not None:
                    assert (ctx.get(table.free_bank), ctx.get(table.free_way)) == free
                    ctx.set(table.we, 1)
                    ctx.set(table.w_bank, free[0])
                    ctx.set(table.w_way, free[1])
                    ctx.set(table.w_entry, {"valid": 1, "tag": ctx.get(table.tag),
                                            "price": ref & 0xFFFF, "shares": 1})
                    model.ways[(free[0], P.set_of(ref, free[0]))][free[1]] = ref
            if not back_to_back:
                await ctx.tick()
                ctx.set(table.we, 0)
            else:
                # the write lands in the same cycle as the next lookup's read
                ref2 = ref if rng.random() < 0.5 else rng.choice(refs)
                ctx.set(table.lookup, 1)
                ctx.set(table.ref, ref2)
                await ctx.tick()
                ctx.set(table.we, 0)
                ctx.set(table.lookup, 0)
                assert bool(ctx.get(table.hit)) == (model.find(ref2) is not None), ref2

    sim = Simulator(table)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
