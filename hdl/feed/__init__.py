"""Feed path after UDP: MoldUDP64 ingress and sequencing with A/B arbitration, ITCH decoder.

``MoldIngress`` (MoldUDP64 §2) → ``MoldArbiter`` (MoldUDP64 §5) →
``ItchDecoder`` (ITCH 5.0 §3), composed by ``FeedLayer``; ``FeedPath``
puts part A's XGMII MAC + Eth/IPv4/UDP receiver in front (issue 4).
"""

from .arbiter import MoldArbiter
from .itch import ItchDecoder
from .layer import FeedLayer
from .moldudp64 import MoldIngress
from .path import FeedPath

__all__ = ["FeedLayer", "FeedPath", "ItchDecoder", "MoldArbiter", "MoldIngress"]
