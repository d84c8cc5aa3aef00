"""The QuickFIX ``Application`` that hands session events to a profile.

QuickFIX calls these methods on the acceptor's thread. Admin messages stay
with the session layer; application messages go to the profile. A
profile's :class:`UnsupportedMessage` is answered exactly as QuickFIX
answers ``UnsupportedMessageType`` (BusinessMessageReject ``380=3``, see
``rejects.py``); any other error in a profile is logged and counted, and
the session carries on. No Python exception ever propagates back into
QuickFIX (its binding would leak it, and the acceptor with it).
"""

from __future__ import annotations

import logging
from collections import Counter

import quickfix as fix

from .profiles.base import ApplicationProfile, UnsupportedMessage
from .rejects import unsupported_reply

log = logging.getLogger(__name__)


class SessionApplication(fix.Application):
    """Bridge from QuickFIX callbacks to an :class:`ApplicationProfile`."""

    def __init__(self, profile: ApplicationProfile) -> None:
        super().__init__()
        self.profile = profile
        #: logons, logouts, app_messages, unsupported, profile_errors
        self.stats: Counter[str] = Counter()
        #: bumped by every message in or out (the acceptor's poller watches it)
        self.activity = 0

    def onCreate(self, session_id):  # QuickFIX names its callbacks in camelCase
        log.debug("FIX session created: %s", session_id.toString())

    def onLogon(self, session_id):
        self.stats["logons"] += 1
        log.info("FIX logon: %s", session_id.toString())
        self._guard(self.profile.on_logon, session_id)

    def onLogout(self, session_id):
        self.stats["logouts"] += 1
        log.info("FIX logout: %s", session_id.toString())
        self._guard(self.profile.on_logout, session_id)

    def toAdmin(self, message, session_id):
        self.activity += 1

    def fromAdmin(self, message, session_id):
        self.activity += 1

    def toApp(self, message, session_id):
        self.activity += 1

    def fromApp(self, message, session_id):
        self.activity += 1
        self.stats["app_messages"] += 1
        try:
            self.profile.on_message(message, session_id)
        except UnsupportedMessage:
            self.stats["unsupported"] += 1
            self._send(unsupported_reply(message), session_id)
        except Exception:  # a profile bug must not take the session down
            self.stats["profile_errors"] += 1
            log.exception("FIX profile %s failed on %s", self.profile.name,
                          message.toString().replace("\x01", "|"))

    def _send(self, message, session_id) -> None:
        try:
            fix.Session.sendToTarget(message, session_id)
        except Exception:
            self.stats["profile_errors"] += 1
            log.exception("FIX acceptor could not answer on %s", session_id.toString())

    def _guard(self, hook, *args) -> None:
        try:
            hook(*args)
        except Exception:
            self.stats["profile_errors"] += 1
            log.exception("FIX profile %s failed in %s", self.profile.name, hook.__name__)
