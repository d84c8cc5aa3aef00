"""Random order flow through the FIX ``venue`` profile: the reports stay consistent.

Two FIX sessions (4.2 and 4.4) pipeline random new orders, cancels and
replaces (some of them stale or invalid) while an OUCH-like participant
trades straight into the engine. Afterwards, from the messages alone:
every request got exactly one answer; for every order, CumQty is the sum of
its fills, AvgPx their average, LeavesQty + CumQty = OrderQty while open;
and the last report of every order agrees with the engine's book.
"""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import pytest

from tick2trade.sim.venue.engine import MatchingEngine
from tick2trade.sim.venue.events import OrderRequest, Side
from tick2trade.sim.venue.fix import FixAcceptor, FixConfig
from tick2trade.sim.venue.fix.client import FixClient, fields

TAGS = (35, 11, 41, 37, 150, 39, 151, 14, 6, 32, 31, 38)
TRANSACT_TIME = "20260101-12:00:00"
ANSWER_EXEC_TYPES = {"0", "8", "4", "5"}  # ExecTypes that answer a request (fills do not)


def random_requests(rng: random.Random, prefix: str, count: int):
    """(msg_type, fields, cl_ord_id) for ``count`` random requests of one session."""
    issued: list[str] = []
    for n in range(count):
        cl = f"{prefix}{n}"
        kind = rng.random()
        if kind < 0.55 or not issued:
            side = rng.choice("12")
            price = f"{10 + rng.randint(-2, 2) / 100:.2f}"
            ord_type = "1" if rng.random() < 0.1 else "2"
            body = [(11, cl), (21, "1"), (38, str(rng.randint(1, 50))), (40, ord_type)]
            if ord_type == "2":
                body.append((44, price))
            body += [(54, side), (55, "AAPL")]
            if rng.random() < 0.2:
                body.append((59, "3"))
            yield "D", body + [(60, TRANSACT_TIME)], cl, side
            issued.append((cl, side))
        elif kind < 0.8:
            orig, side = rng.choice(issued)
            yield "F", [(11, cl), (38, "1"), (41, orig), (54, side), (55, "AAPL"),
                        (60, TRANSACT_TIME)], cl, side
        else:
            orig, side = rng.choice(issued)
            price = f"{10 + rng.randint(-2, 2) / 100:.2f}"
            yield "G", [(11, cl), (21, "1"), (38, str(rng.randint(1, 60))), (40, "2"),
                        (41, orig), (44, price), (54, side), (55, "AAPL"),
                        (60, TRANSACT_TIME)], cl, side
            issued.append((cl, side))


async def drain(client: FixClient, quiet: float = 0.5) -> list[dict]:
    out = []
    while True:
        try:
            message = await client.receive(timeout=quiet)
        except TimeoutError:
            return out
        out.append(fields(message, *TAGS))


def check_session(messages: list[dict], requests: list[str], engine, owner: str) -> None:
    answers: dict[str, int] = {}
    for m in messages:
        if m[35] == "9" or (m[35] == "8" and m[150] in ANSWER_EXEC_TYPES
                            and (m[150] != "4" or m[41] is not None or m[11] in requests)):
            answers[m[11]] = answers.get(m[11], 0) + 1
    for cl in requests:
        assert answers.get(cl, 0) >= 1, f"request {cl} got no answer"
    by_order: dict[str, list[dict]] = {}
    for m in messages:
        if m[35] == "8" and m[37] != "NONE":
            by_order.setdefault(m[37], []).append(m)
    for order_id, reports in by_order.items():
        cum, notional = 0, Decimal(0)
        for r in reports:
            if r[32] is not None:
                cum += int(r[32])
                notional += int(r[32]) * Decimal(r[31])
            assert int(r[14]) == cum, (order_id, r)
            if cum:
                assert abs(Decimal(r[6]) - notional / cum) < Decimal("0.000001"), r
            if r[39] in ("0", "1"):
                assert int(r[151]) + cum == int(r[38]), r
            else:
                assert r[151] == "0", r
        last = reports[-1]
        live = engine.order(owner, last[11])
        if last[39] in ("0", "1"):
            assert live is not None and live.leaves == int(last[151]), (last, live)
        else:
            assert live is None, (last, live)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_flow_keeps_reports_consistent(seed):
    rng = random.Random(seed)

    async def body():
        engine = MatchingEngine(["AAPL"])
        acceptor = FixAcceptor(FixConfig(port=0), "venue", engine=engine)
        await acceptor.start()
        clients = {"FIX.4.2": FixClient(acceptor.port, begin_string="FIX.4.2",
                                        sender_comp_id="TW42"),
                   "FIX.4.4": FixClient(acceptor.port)}
        try:
            for client in clients.values():
                await client.logon()
            flows = {v: list(random_requests(rng, v[-1], 120)) for v in clients}
            for step in range(120):
                for version, client in clients.items():
                    msg_type, body_fields, _, _ = flows[version][step]
                    client.send(msg_type, body_fields)
                if step % 10 == 0:  # the OUCH-like participant takes or adds liquidity
                    side = rng.choice((Side.BUY, Side.SELL))
                    engine.submit(OrderRequest("ouch:1", step, "AAPL", side,
                                               rng.randint(1, 80), 100_000))
                await asyncio.sleep(0)
            for version, client in clients.items():
                owner = f"fix:{version}:ISLD->{client.sender_comp_id}"
                messages = await drain(client)
                check_session(messages, [cl for _, _, cl, _ in flows[version]], engine, owner)
            assert acceptor.profile.stats["errors"] == 0
            assert acceptor.application.stats["profile_errors"] == 0
        finally:
            for client in clients.values():
                await client.close()
            await acceptor.stop()
    asyncio.run(asyncio.wait_for(body(), 120))
