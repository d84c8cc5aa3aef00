"""The answer to an application message nobody handles, as QuickFIX gives it.

QuickFIX answers an ``UnsupportedMessageType`` raised by the application
with a BusinessMessageReject (FIX 4.2 and later: RefSeqNum, Text
``Unsupported Message Type``, RefMsgType, BusinessRejectReason 3) or, before
FIX 4.2, a session Reject (RefSeqNum, Text ``Unsupported message type``,
routing reversed). The bridge builds the same message itself instead of
raising through QuickFIX's Python binding, because the binding leaks the
raised exception, and with it the acceptor (its sessions then stay
registered after ``stop``).
"""

from __future__ import annotations

import quickfix as fix

UNSUPPORTED_MESSAGE_TYPE = "3"  #: BusinessRejectReason (380)
BMR_TEXT = "Unsupported Message Type"
REJECT_TEXT = "Unsupported message type"

#: routing tags swapped on a reject: OnBehalfOf ↔ DeliverTo (CompID, SubID, LocationID)
REVERSE_ROUTE = {115: 128, 116: 129, 144: 145, 128: 115, 129: 116, 145: 144}
REF_SEQ_NUM, TEXT, REF_MSG_TYPE, BUSINESS_REJECT_REASON = 45, 58, 372, 380


def _begin_string(message: fix.Message) -> str:
    return message.getHeader().getField(8)


def unsupported_reply(message: fix.Message) -> fix.Message:
    """The BusinessMessageReject (or pre-4.2 Reject) for ``message``."""
    header = message.getHeader()
    begin_string = _begin_string(message)
    reply = fix.Message()
    reply.getHeader().setField(fix.BeginString(begin_string))
    msg_type, seq = header.getField(35), header.getField(34)
    if begin_string >= "FIX.4.2":
        reply.getHeader().setField(fix.MsgType(fix.MsgType_BusinessMessageReject))
        for tag, value in ((REF_SEQ_NUM, seq), (TEXT, BMR_TEXT), (REF_MSG_TYPE, msg_type),
                           (BUSINESS_REJECT_REASON, UNSUPPORTED_MESSAGE_TYPE)):
            reply.setField(tag, value)
        return reply
    reply.getHeader().setField(fix.MsgType(fix.MsgType_Reject))
    for tag, reverse in REVERSE_ROUTE.items():
        if header.isSetField(tag) and header.getField(tag):
            reply.getHeader().setField(reverse, header.getField(tag))
    reply.setField(REF_SEQ_NUM, seq)
    reply.setField(TEXT, REJECT_TEXT)
    return reply
