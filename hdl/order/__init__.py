"""Gateware OUCH 4.2 / 5.0 order encoder (issue 6): request stream → SoupBinTCP packets."""

from .encoder import OuchEncoder
from .template import OuchTemplate

__all__ = ["OuchEncoder", "OuchTemplate"]
