"""Venue market data: ITCH 5.0 over MoldUDP64, re-requests, capture replay.

``store`` (retransmit store), ``publisher`` (MoldUDP64 packets over UDP with
batching, heartbeats and end of session), ``rerequest`` (MoldUDP64 §3
server), ``feed`` (engine events and replayed messages → ITCH 5.0),
``replay`` (a real capture as the market), ``listener`` (a receiver with
gap recovery, for tests and demos). See ``docs/marketdata.md``.
"""
