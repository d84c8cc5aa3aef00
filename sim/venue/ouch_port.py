"""OUCH order-entry port: SoupBinTCP 3.0 sessions in, matching engine behind.

``OuchPort(config, engine)`` serves one TCP port speaking OUCH 4.2 or 5.0
(``config.version``) inside SoupBinTCP 3.0 (``soup_server.py``: logins,
heartbeats, replay). Each SoupBinTCP user is an *account* with its own
sequenced stream, order ids and orders; its engine owner is
``"<port name>:<USERNAME>"``, which is also its self-match key. The
stream starts with System Event ``S`` (OUCH 4.2 §4.1 / OUCH 5.0 §4.2) and
:meth:`end_of_day` appends ``E`` and then ends the SoupBinTCP session.

Inbound rules (OUCH 4.2 §3, OUCH 5.0 §4.1):

* **Enter** — a token already used (4.2) or a UserRefNum not above the last
  one processed (5.0) is ignored as a retransmission. Invalid fields
  (side, quantity 1..999,999, symbol, price, TIF, display, ISO, cross
  type, unsupported options) get **Rejected** with the version's reason
  code, and the id is consumed. Halted symbols: reason *halted*.
* **Replace** — order not live, or new id already used: ignored. Invalid
  fields: the old order is **Canceled** (reason ``U``), new id not
  consumed. Halted: **Rejected**, old order untouched, id consumed.
  Otherwise **Replaced** (quantity = total shares of the chain, executed
  ones included; the engine keeps priority when only the size shrinks).
* **Cancel** — quantity is the new intended *total* order size, executed
  shares included (0 = cancel all); the answer is **Canceled** with the
  shares removed. Unknown orders and cancels that change nothing are
  ignored.
* **Modify** — sell ↔ short ↔ short-exempt side changes and size
  decreases, answered with **Order Modified**; increases are ignored.
* **Account Query** (5.0) — next UserRefNum. **Mass Cancel** (5.0) — every
  live order of the account (optionally one symbol), then the response.
  **Disable/Enable Order Entry** (5.0) — new orders are refused while
  disabled.
* A message that does not decode (unknown type, wrong length, bad
  appendage) is logged and counted in ``stats["malformed"]``; the session
  stays up (SoupBinTCP framing is intact).

Engine events of this port's accounts come back as sequenced data:
Accepted, Executed (liquidity ``A``/``J``/``R``, the engine's match
number), Canceled (``U`` user, ``I`` IOC rest, ``Q`` self-match), Replaced.
Outbound messages caused by a Cancel/Modify/Query that carried an
Appendage Length carry an empty one (OUCH 5.0 §2, 2024); others carry
none, as in the 2023 revision and the bundled captures.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from tick2trade.proto.errors import ProtocolError
from tick2trade.sim.venue.config import OuchPortConfig, SoupConfig
from tick2trade.sim.venue.engine import MatchingEngine, ns_since_midnight
from tick2trade.sim.venue.events import (
    Accepted,
    Canceled,
    Executed,
    OrderRequest,
    Rejected,
    RejectReason,
    Replaced,
    ReplaceRejected,
    Side,
)
from tick2trade.sim.venue.ouch_dialects import (
    DIALECTS,
    Cancel,
    Enter,
    EntrySwitch,
    Ignored,
    MassCancel,
    Modify,
    OrderInfo,
    Query,
    Refusal,
    Replace,
)
from tick2trade.sim.venue.soup_server import (
    EngineSoupService,
    SequencedStream,
    SoupConnection,
    SoupServer,
)

log = logging.getLogger(__name__)

_ENGINE_REFUSALS = {
    RejectReason.HALTED: Refusal.HALTED,
    RejectReason.INVALID_SYMBOL: Refusal.INVALID_SYMBOL,
    RejectReason.INVALID_QUANTITY: Refusal.INVALID_QUANTITY,
    RejectReason.INVALID_PRICE: Refusal.INVALID_PRICE,
}
_SELL_SIDES = frozenset("STE")


class Account:
    """One SoupBinTCP user of a port: stream, order ids and live orders."""

    def __init__(self, username: str, owner: str):
        self.username = username
        self.owner = owner
        self.stream = SequencedStream()
        self.last_ref = 0                       # OUCH 5.0: highest UserRefNum processed
        self.used: set[Any] = set()             # OUCH 4.2: tokens used today
        self.orders: dict[Any, OrderInfo] = {}  # live orders by current id
        self.entry_enabled = True


class OuchPort(EngineSoupService):
    """An OUCH 4.2 / 5.0 order port (see module docstring)."""

    def __init__(self, config: OuchPortConfig, engine: MatchingEngine, *,
                 soup: SoupConfig | None = None, host: str = "127.0.0.1",
                 clock: Callable[[], int] = ns_since_midnight):
        soup = soup or SoupConfig()
        self.config = config
        self.name = config.name
        self.engine = engine
        self.dialect = DIALECTS[config.version]
        self.clock = clock
        self.accounts: dict[str, Account] = {}
        self._owners: dict[str, Account] = {}
        self.stats: Counter[str] = Counter()
        self.server = SoupServer(
            f"OUCH {config.version} {config.name}",
            credentials={u.username: u.password for u in config.users},
            session=soup.session, stream_for=self._stream_for, on_message=self._on_message,
            host=host, port=config.port, heartbeat_interval=soup.heartbeat_interval,
            idle_timeout=soup.idle_timeout, login_timeout=soup.login_timeout,
            max_packet_length=soup.max_packet_length)
        self._pending: OrderInfo | None = None   # info of the Enter/Replace being processed
        self._cause: Any = None                  # neutral request being processed

    # ------------------------------------------------------------ lifecycle

    def end_of_day(self) -> None:
        """System Event ``E`` to every account, then End of Session (SoupBinTCP §2.6)."""
        for account in self.accounts.values():
            account.stream.append(self.dialect.system_event(self.clock(), "E"))
        self.server.end_session()
        for account in self.accounts.values():
            account.stream.ended = True

    def account(self, username: str) -> Account:
        """The account of ``username`` (created on first use)."""
        username = username.upper()
        acct = self.accounts.get(username)
        if acct is None:
            acct = Account(username, f"{self.name}:{username}")
            acct.stream.append(self.dialect.system_event(self.clock(), "S"))
            self.accounts[username] = acct
            self._owners[acct.owner] = acct
        return acct

    def _stream_for(self, username: str) -> SequencedStream:
        return self.account(username).stream

    # -------------------------------------------------------------- inbound

    def _on_message(self, conn: SoupConnection, payload: bytes) -> None:
        acct = self.account(conn.username)
        try:
            msg = self.dialect.decode(payload)
            req = self.dialect.parse(msg)
        except ProtocolError as error:
            self.stats["malformed"] += 1
            log.warning("%s %s: malformed OUCH %s message dropped: %s", self.name,
                        acct.username, self.dialect.version, error)
            return
        self.stats[type(req).__name__.lower()] += 1
        self._cause = req
        try:
            if isinstance(req, Enter):
                self._enter(acct, req)
            elif isinstance(req, Replace):
                self._replace(acct, req)
            elif isinstance(req, Cancel):
                self._cancel(acct, req)
            elif isinstance(req, Modify):
                self._modify(acct, req)
            elif isinstance(req, Query):
                acct.stream.append(self.dialect.query_response(self.clock(), acct.last_ref + 1,
                                                               req.appendage))
            elif isinstance(req, MassCancel):
                self._mass_cancel(acct, req)
            elif isinstance(req, EntrySwitch):
                self._entry_switch(acct, req)
            elif isinstance(req, Ignored):
                self.stats["ignored"] += 1
        finally:
            self._cause = None
            self._pending = None

    def _fresh(self, acct: Account, ref: Any) -> bool:
        """A new order id: above the last (5.0) or never used (4.2); else a duplicate."""
        fresh = ref > acct.last_ref if self.dialect.increasing_refs else ref not in acct.used
        if not fresh:
            self.stats["duplicate_id"] += 1
        return fresh

    def _consume(self, acct: Account, ref: Any) -> None:
        if self.dialect.increasing_refs:
            acct.last_ref = ref
        else:
            acct.used.add(ref)

    def _reject(self, acct: Account, info: OrderInfo, refusal: Refusal) -> None:
        self.stats["rejected"] += 1
        acct.stream.append(self.dialect.rejected(self.clock(), info, refusal))

    def _enter(self, acct: Account, req: Enter) -> None:
        info = req.info
        if not self._fresh(acct, info.ref):
            return
        self._consume(acct, info.ref)
        if not info.firm and not self.dialect.increasing_refs:
            info = replace(info, firm=acct.username[:4])   # OUCH 4.2 §4.2: the default firm
        refusal = req.refusal
        if refusal is None and info.symbol not in self.engine.symbols:
            refusal = Refusal.INVALID_SYMBOL
        if refusal is None and not acct.entry_enabled:
            refusal = Refusal.ENTRY_DISABLED
        if refusal is not None:
            self._reject(acct, info, refusal)
            return
        self._pending = info
        self.engine.submit(OrderRequest(
            acct.owner, info.ref, info.symbol, Side.BUY if info.side == "B" else Side.SELL,
            req.qty, None if req.market else info.price, req.engine_tif,
            displayed=self.dialect.DISPLAYS[info.display],
            self_match=self.config.self_match,
            attribution=(info.firm or acct.username[:4]) if info.display == "A" else None))

    def _replace(self, acct: Account, req: Replace) -> None:
        old = acct.orders.get(req.orig)
        view = self.engine.order(acct.owner, req.orig)
        if old is None or view is None or not self._fresh(acct, req.info.ref):
            self.stats["replace_ignored"] += 1
            return
        if req.refusal is not None:
            self.stats["replace_invalid"] += 1
            self.engine.cancel(acct.owner, req.orig, 0)
            return
        self._consume(acct, req.info.ref)
        self._pending = self.dialect.merge_replace(old, req.info)
        self.engine.replace(acct.owner, req.orig, req.info.ref, req.qty, req.info.price,
                            tif=req.engine_tif)

    def _intended_remaining(self, view, qty: int) -> int:
        """Open shares left by a new intended total size (0 = none)."""
        return 0 if qty == 0 else max(0, qty - view.executed)

    def _cancel(self, acct: Account, req: Cancel) -> None:
        view = self.engine.order(acct.owner, req.ref)
        if view is None:
            self.stats["cancel_ignored"] += 1
            return
        self.engine.cancel(acct.owner, req.ref, self._intended_remaining(view, req.qty))

    def _modify(self, acct: Account, req: Modify) -> None:
        view = self.engine.order(acct.owner, req.ref)
        info = acct.orders.get(req.ref)
        side_ok = req.side == info.side or (req.side in _SELL_SIDES
                                            and info.side in _SELL_SIDES) if info else False
        if view is None or not side_ok or req.qty > view.executed + view.leaves:
            self.stats["modify_ignored"] += 1
            return
        remaining = self._intended_remaining(view, req.qty)
        if remaining < view.leaves:
            self.engine.cancel(acct.owner, req.ref, remaining)   # Canceled is not sent
        if req.ref in acct.orders:
            acct.orders[req.ref] = replace(acct.orders[req.ref], side=req.side)
        acct.stream.append(self.dialect.modified(self.clock(), req.ref, req.side, remaining,
                                                 req.appendage))

    def _mass_cancel(self, acct: Account, req: MassCancel) -> None:
        if not self._fresh(acct, req.ref):
            return
        self._consume(acct, req.ref)
        for view in self.engine.orders(acct.owner):
            if not req.symbol or view.symbol == req.symbol:
                self.engine.cancel(acct.owner, view.client_id, 0)
        acct.stream.append(self.dialect.mass_cancel_response(self.clock(), req))

    def _entry_switch(self, acct: Account, req: EntrySwitch) -> None:
        if not self._fresh(acct, req.ref):
            return
        self._consume(acct, req.ref)
        acct.entry_enabled = req.enable
        acct.stream.append(self.dialect.entry_switch_response(self.clock(), req))

    # ------------------------------------------------------- engine events

    def _on_events(self, events: list) -> None:
        for ev in events:
            if isinstance(ev, Executed):
                for fill in (ev.passive, ev.aggressor):
                    acct = self._owners.get(fill.owner)
                    if acct is None:
                        continue
                    acct.stream.append(self.dialect.executed(
                        ev.ts, fill.client_id, ev.qty, ev.price, fill.liquidity,
                        ev.match_number))
                    if not fill.remaining:
                        acct.orders.pop(fill.client_id, None)
                continue
            acct = self._owners.get(getattr(ev, "owner", None))
            if acct is not None:
                self._own_event(acct, ev)

    def _own_event(self, acct: Account, ev) -> None:
        if isinstance(ev, Accepted):
            info = self._pending
            acct.orders[ev.client_id] = info
            acct.stream.append(self.dialect.accepted(ev.ts, info, ev.qty, ev.order_ref))
        elif isinstance(ev, Rejected):
            refusal = _ENGINE_REFUSALS.get(ev.reason, Refusal.INVALID_OPTION)
            self._reject(acct, self._pending, refusal)
        elif isinstance(ev, Canceled):
            if not ev.remaining:
                acct.orders.pop(ev.client_id, None)
            if isinstance(self._cause, Modify):
                return
            appendage = isinstance(self._cause, Cancel) and self._cause.appendage
            acct.stream.append(self.dialect.canceled(ev.ts, ev.client_id, ev.qty,
                                                     ev.reason.value, appendage))
        elif isinstance(ev, Replaced):
            info = self._pending
            acct.orders.pop(ev.old_client_id, None)
            acct.orders[ev.client_id] = info
            acct.stream.append(self.dialect.replaced(ev.ts, ev.old_client_id, info, ev.qty,
                                                     ev.order_ref))
        elif isinstance(ev, ReplaceRejected) and ev.reason is RejectReason.HALTED:
            self._reject(acct, self._pending, Refusal.HALTED)
