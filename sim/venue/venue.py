"""The venue: matching engine, order ports, drop copy, FIX and market data, assembled.

``Venue(config)`` builds everything named in a :class:`VenueConfig`;
``await venue.start()`` starts, in order, the market data (so its start of
day goes out first), the OUCH ports, the drop copy and the FIX acceptor;
``await venue.stop()`` ends the day (OUCH System Event ``E`` and
SoupBinTCP End of Session, MoldUDP64 end of session) and closes every
port. ``start``/``stop`` are the public lifecycle and are not overridden;
the work is in ``_start``/``_stop`` (STYLE §11). ``venue.endpoints()``
names every bound port, for logs and clients.

FIX (``sim/venue/fix``) and market data (``sim/venue/marketdata``) are
loaded only when their section is enabled, so a venue with only OUCH ports
never imports QuickFIX.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tick2trade.sim.venue.config import VenueConfig
from tick2trade.sim.venue.dropcopy import DropCopy
from tick2trade.sim.venue.engine import MatchingEngine
from tick2trade.sim.venue.ouch_port import OuchPort

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Endpoint:
    """One bound port of the venue."""

    name: str
    protocol: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.name}: {self.protocol} on {self.host}:{self.port}"


class Venue:
    """The whole exchange simulator (see module docstring)."""

    def __init__(self, config: VenueConfig | None = None):
        self.config = config or VenueConfig()
        self.engine: MatchingEngine | None = None
        self.ouch: dict[str, OuchPort] = {}
        self.dropcopy: DropCopy | None = None
        self.fix = None
        self.marketdata = None
        self.running = False

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Build the engine and start every configured component."""
        if self.running:
            raise RuntimeError("the venue is already running")
        try:
            await self._start()
        except BaseException:
            await self._stop()
            raise
        self.running = True
        for endpoint in self.endpoints():
            log.info("venue: %s", endpoint)

    async def stop(self) -> None:
        """End the day and close every port (safe to call twice)."""
        if not self.running:
            return
        self.running = False
        await self._stop()

    async def _start(self) -> None:
        config = self.config
        options = {"symbols": config.symbols, "order_ref_start": config.order_ref_start}
        if config.marketdata.enabled:
            from tick2trade.sim.venue.marketdata.service import MarketData, engine_options
            options = engine_options(config.marketdata, config.symbols, config.order_ref_start)
        clock = options.get("clock")
        self.engine = MatchingEngine(**options)
        if config.marketdata.enabled:
            self.marketdata = MarketData(config.marketdata, self.engine, host=config.host,
                                         clock=clock)
            await self.marketdata.start()
        port_clock = {"clock": clock} if clock is not None else {}
        for port_config in config.ouch:
            port = OuchPort(port_config, self.engine, soup=config.soup, host=config.host,
                            **port_clock)
            self.ouch[port_config.name] = port
            await port.start()
        if config.dropcopy.enabled:
            self.dropcopy = DropCopy(config.dropcopy, self.engine, soup=config.soup,
                                     host=config.host)
            await self.dropcopy.start()
        if config.fix.enabled:
            from tick2trade.sim.venue.fix import FixAcceptor
            self.fix = FixAcceptor(config.fix, engine=self.engine)
            await self.fix.start()

    async def _stop(self) -> None:
        for port in self.ouch.values():
            port.end_of_day()
        if self.dropcopy is not None:
            self.dropcopy.end_of_day()
        if self.fix is not None and self.fix.running:
            await self.fix.stop()
        for port in self.ouch.values():
            await port.stop()
        if self.dropcopy is not None:
            await self.dropcopy.stop()
        if self.marketdata is not None:
            await self.marketdata.stop()

    # ------------------------------------------------------------- counters

    def stats(self) -> dict[str, dict[str, int]]:
        """Counters of every component (engine, each port's OUCH and SoupBinTCP layers, ...)."""
        out: dict[str, dict[str, int]] = {}
        if self.engine is not None:
            out["engine"] = dict(self.engine.stats)
        for name, port in self.ouch.items():
            out[name] = {**port.stats, **{f"soup.{k}": v for k, v in port.server.stats.items()}}
        if self.dropcopy is not None:
            out["dropcopy"] = {**self.dropcopy.stats,
                               **{f"soup.{k}": v for k, v in self.dropcopy.server.stats.items()}}
        if self.marketdata is not None:
            out["marketdata"] = dict(self.marketdata.stats)
        return out

    # -------------------------------------------------------------- ports

    def endpoints(self) -> list[Endpoint]:
        """Every bound port: OUCH, drop copy, FIX, MoldUDP64 destination, re-request."""
        host = self.config.host
        out = [Endpoint(name, f"OUCH {port.dialect.version} over SoupBinTCP 3.0", host,
                        port.port) for name, port in self.ouch.items()]
        if self.dropcopy is not None:
            out.append(Endpoint("dropcopy", "drop copy over SoupBinTCP 3.0", host,
                                self.dropcopy.port))
        if self.fix is not None and self.fix.running:
            versions = ", ".join(s.begin_string for s in self.config.fix.sessions)
            out.append(Endpoint("fix", f"FIX acceptor ({versions})", "0.0.0.0", self.fix.port))
        if self.marketdata is not None and self.marketdata.running:
            group, port = self.marketdata.destination
            out.append(Endpoint("marketdata", "ITCH 5.0 over MoldUDP64 (UDP)", group, port))
            rhost, rport = self.marketdata.rerequest_address
            out.append(Endpoint("rerequest", "MoldUDP64 re-request (UDP)", rhost, rport))
        return out
