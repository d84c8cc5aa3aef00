"""The contract between the FIX session layer and an application profile.

QuickFIX runs the session layer (logon, heartbeats, sequence numbers,
resends, validation) and hands every valid application message to the
profile on QuickFIX's own thread. A profile answers through ``send``
(QuickFIX ``Session::sendToTarget``, safe from any thread) and raises
:class:`UnsupportedMessage` for message types it does not handle, which the
session layer turns into a BusinessMessageReject (``58=Unsupported Message
Type``, ``380=3``).
"""

from __future__ import annotations

from collections.abc import Callable

import quickfix as fix

#: sends one message on one session; False when the session is not logged on
Sender = Callable[[fix.Message, fix.SessionID], bool]


class UnsupportedMessage(Exception):
    """The profile does not handle this application message type."""


def msg_type(message: fix.Message) -> str:
    """MsgType (35) of ``message``."""
    return message.getHeader().getField(35)


def header_flag(message: fix.Message, tag: int) -> bool:
    """A Boolean header field (``Y``/``N``), False when absent."""
    header = message.getHeader()
    return header.isSetField(tag) and header.getField(tag) == "Y"


class ApplicationProfile:
    """Base of the application behind the acceptor's sessions.

    Subclasses override the ``on_*`` hooks; ``send`` is bound by the
    acceptor before the first session is created. Hooks run on QuickFIX's
    thread and must never block on the asyncio loop.
    """

    name = "base"

    def __init__(self) -> None:
        self._sender: Sender | None = None

    def bind(self, send: Sender) -> None:
        self._sender = send

    def send(self, message: fix.Message, session: fix.SessionID) -> bool:
        if self._sender is None:
            raise RuntimeError(f"profile {self.name!r} used before the acceptor bound it")
        return self._sender(message, session)

    def on_logon(self, session: fix.SessionID) -> None:
        """The counterparty of ``session`` logged on."""

    def on_logout(self, session: fix.SessionID) -> None:
        """``session`` logged out or lost its connection."""

    def on_message(self, message: fix.Message, session: fix.SessionID) -> None:
        """A valid application message arrived on ``session``."""
        raise UnsupportedMessage(msg_type(message))

    def close(self) -> None:
        """The acceptor stopped; release whatever the profile holds."""
