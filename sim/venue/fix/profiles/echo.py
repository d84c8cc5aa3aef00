"""The ``echo`` profile: QuickFIX's acceptance-test application (upstream ``at``).

What QuickFIX's server acceptance definitions expect of the application:

* NewOrderSingle (35=D) is sent straight back with its body unchanged; the
  session layer writes a new header (CompIDs, MsgSeqNum, SendingTime) and
  keeps the rest of it (``97=Y`` for example). A PossResend (``97=Y``)
  order whose ClOrdID was already seen on the session is dropped. Seen
  ClOrdIDs are forgotten when the session logs out.
* SecurityDefinition (35=d) and Email (35=C) are echoed.
* Anything else is unsupported: BusinessMessageReject ``58=Unsupported
  Message Type``.
"""

from __future__ import annotations

import quickfix as fix

from .base import ApplicationProfile, UnsupportedMessage, header_flag, msg_type

NEW_ORDER_SINGLE = "D"
ECHOED = frozenset({"d", "C"})  #: SecurityDefinition, Email
POSS_RESEND = 97
CL_ORD_ID = 11


class EchoProfile(ApplicationProfile):
    """Echo orders back, dropping PossResend duplicates (upstream ``at``)."""

    name = "echo"

    def __init__(self) -> None:
        super().__init__()
        self._seen: dict[str, set[str]] = {}  # session → ClOrdIDs

    def on_logout(self, session: fix.SessionID) -> None:
        self._seen.pop(session.toString(), None)

    def on_message(self, message: fix.Message, session: fix.SessionID) -> None:
        kind = msg_type(message)
        if kind == NEW_ORDER_SINGLE:
            seen = self._seen.setdefault(session.toString(), set())
            cl_ord_id = message.getField(CL_ORD_ID)
            if header_flag(message, POSS_RESEND) and cl_ord_id in seen:
                return
            seen.add(cl_ord_id)
        elif kind not in ECHOED:
            raise UnsupportedMessage(kind)
        self.send(fix.Message(message), session)
