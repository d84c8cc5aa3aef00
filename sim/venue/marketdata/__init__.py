"""Venue market data: ITCH 5.0 over MoldUDP64, re-requests, capture replay.

``store`` (retransmit store), ``publisher`` (MoldUDP64 packets over UDP with
batching, heartbeats and end of session), ``rerequest`` (MoldUDP64 §3
server), ``feed`` (engine events and replayed messages → ITCH 5.0),
``replay`` (a real capture as the market), ``listener`` (a receiver with
gap recovery, for tests and demos). See ``docs/marketdata.md``.
"""

from tick2trade.sim.venue.marketdata.feed import ItchFeed
from tick2trade.sim.venue.marketdata.listener import MoldListener
from tick2trade.sim.venue.marketdata.publisher import MoldPublisher
from tick2trade.sim.venue.marketdata.replay import CaptureReplay, ReplayClock, scan_capture
from tick2trade.sim.venue.marketdata.rerequest import RerequestServer
from tick2trade.sim.venue.marketdata.service import MarketData, engine_options
from tick2trade.sim.venue.marketdata.store import RetransmitStore

__all__ = ["CaptureReplay", "ItchFeed", "MarketData", "MoldListener", "MoldPublisher",
           "ReplayClock", "RerequestServer", "RetransmitStore", "engine_options",
           "scan_capture"]
