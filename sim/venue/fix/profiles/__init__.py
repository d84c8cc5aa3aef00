"""Application profiles of the FIX acceptor, by name.

``venue``: orders into the matching engine, answered with ExecutionReports.
``echo``: QuickFIX's acceptance-test application. Both run behind the same
session layer (``acceptor.py``).
"""

from __future__ import annotations

import asyncio

from .base import ApplicationProfile, UnsupportedMessage
from .echo import EchoProfile

PROFILES = ("venue", "echo")


def make_profile(spec: str | ApplicationProfile, *, engine=None,
                 loop: asyncio.AbstractEventLoop | None = None, config=None) -> ApplicationProfile:
    """The profile named ``spec`` (or ``spec`` itself when it is a profile)."""
    if isinstance(spec, ApplicationProfile):
        return spec
    if spec == "echo":
        return EchoProfile()
    if spec == "venue":
        if engine is None:
            raise ValueError("the FIX 'venue' profile needs a matching engine")
        from .venue import VenueProfile
        return VenueProfile(engine, loop or asyncio.get_running_loop(), config)
    raise ValueError(f"unknown FIX application profile {spec!r}; choose one of {PROFILES}")


__all__ = ["PROFILES", "ApplicationProfile", "UnsupportedMessage", "make_profile"]
