"""The venue simulator: a stand-in exchange for tests and demos (DESIGN.md).

``engine`` (price-time matching), ``ouch_port`` (SoupBinTCP 3.0 / OUCH order
entry), ``dropcopy`` (execution stream), ``fix`` (FIX acceptor),
``marketdata`` (ITCH 5.0 / MoldUDP64 publisher and capture replay),
``config`` and ``venue`` (assembly). See ``docs/venue.md``.
"""

from tick2trade.sim.venue.engine import MatchingEngine
from tick2trade.sim.venue.events import OrderRequest, SelfMatch, Side, TimeInForce

__all__ = ["MatchingEngine", "OrderRequest", "SelfMatch", "Side", "TimeInForce"]
