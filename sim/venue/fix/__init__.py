"""FIX acceptor of the venue simulator (FIX 4.2 and 4.4 over QuickFIX).

``FixAcceptor(config, app_profile, engine)`` with async ``start()``/``stop()``;
``FixConfig`` is its configuration (the venue config's ``fix`` section).
See ``docs/fix.md``.
"""

from .acceptor import FixAcceptor
from .config import FixConfig, FixSessionConfig
from .profiles import PROFILES, ApplicationProfile

__all__ = ["PROFILES", "ApplicationProfile", "FixAcceptor", "FixConfig", "FixSessionConfig"]
