"""A small asyncio FIX initiator for tests and demos.

It speaks just enough of the session layer to drive the venue over a real
socket: Logon (``141=Y``, sequence numbers from 1), Heartbeat replies to
TestRequests, Logout. Every message it receives is parsed and validated by
QuickFIX against the data dictionary of its FIX version, so a test that
reads an ExecutionReport through it also proves the report is valid FIX.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import quickfix as fix

from . import wire
from .dictionary import dictionary_path

SOH = wire.SOH
_BODY_LENGTH = re.compile(rb"^8=[^\x01]+\x019=(\d+)\x01")


class FixClientError(RuntimeError):
    """The peer broke the session or sent something unexpected."""


def sending_time() -> str:
    """SendingTime (52) now, UTC with milliseconds."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H:%M:%S.%f")[:-3]


def frame(begin_string: str, fields: list[tuple[int, str]]) -> bytes:
    """BeginString, BodyLength, ``fields`` in order, CheckSum (FIX framing)."""
    return wire.frame(begin_string, fields).encode()


class FixClient:
    """One FIX initiator session over TCP (see module docstring)."""

    def __init__(self, port: int, *, host: str = "127.0.0.1", begin_string: str = "FIX.4.4",
                 sender_comp_id: str = "TW44", target_comp_id: str = "ISLD") -> None:
        self.host, self.port = host, port
        self.begin_string = begin_string
        self.sender_comp_id, self.target_comp_id = sender_comp_id, target_comp_id
        self.dictionary = fix.DataDictionary(str(dictionary_path(begin_string)))
        self._next_seq = 1
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._buffer = b""

    async def logon(self, heartbeat: int = 30, timeout: float = 5) -> fix.Message:
        """Connect and log on; returns the acceptor's Logon."""
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self.send(fix.MsgType_Logon, [(98, "0"), (108, str(heartbeat)), (141, "Y")])
        reply = await self.receive(timeout)
        if reply.getHeader().getField(35) != fix.MsgType_Logon:
            raise FixClientError(f"expected Logon, got {text(reply)}")
        return reply

    def send(self, msg_type: str, fields: list[tuple[int, str]]) -> int:
        """Send one message (header added); returns its MsgSeqNum."""
        seq = self._next_seq
        self._next_seq += 1
        header = [(35, msg_type), (34, str(seq)), (49, self.sender_comp_id),
                  (52, sending_time()), (56, self.target_comp_id)]
        self._writer.write(frame(self.begin_string, header + list(fields)))
        return seq

    async def receive(self, timeout: float = 5) -> fix.Message:
        """The next application or session message, validated (TestRequests answered)."""
        while True:
            message = await asyncio.wait_for(self._read_message(), timeout)
            if message.getHeader().getField(35) == fix.MsgType_TestRequest:
                self.send(fix.MsgType_Heartbeat, [(112, message.getField(112))])
                continue
            if message.getHeader().getField(35) == fix.MsgType_Heartbeat:
                continue
            return message

    async def expect(self, msg_type: str, timeout: float = 5) -> fix.Message:
        """The next message, which must be of ``msg_type``."""
        message = await self.receive(timeout)
        if message.getHeader().getField(35) != msg_type:
            raise FixClientError(f"expected 35={msg_type}, got {text(message)}")
        return message

    async def count(self, msg_type: str, count: int, timeout: float = 30) -> None:
        """Read until ``count`` messages of ``msg_type`` arrived, without parsing them.

        For throughput measurements; the messages are neither validated nor kept.
        """
        marker = f"{SOH}35={msg_type}{SOH}".encode()
        seen = self._buffer.count(marker)
        async with asyncio.timeout(timeout):
            while seen < count:
                chunk = await self._reader.read(65536)
                if not chunk:
                    raise FixClientError("connection closed by the acceptor")
                tail = self._buffer[-len(marker):] + chunk
                seen += tail.count(marker)
                self._buffer = chunk[-len(marker):]
        self._buffer = b""

    async def _read_message(self) -> fix.Message:
        while True:
            match = _BODY_LENGTH.match(self._buffer)
            if match:
                end = match.end() + int(match.group(1))
                trailer = self._buffer.find(SOH.encode(), end)
                if trailer >= 0:
                    raw, self._buffer = self._buffer[:trailer + 1], self._buffer[trailer + 1:]
                    message = fix.Message(raw.decode(), self.dictionary, True)
                    self.dictionary.validate(message)
                    return message
            chunk = await self._reader.read(65536)
            if not chunk:
                raise FixClientError("connection closed by the acceptor")
            self._buffer += chunk

    async def close(self, timeout: float = 5) -> None:
        """Log out (waiting briefly for the acceptor's Logout) and close."""
        if self._writer is None:
            return
        try:
            self.send(fix.MsgType_Logout, [])
            while True:
                message = await self.receive(timeout)  # keep it alive while reading its header
                if message.getHeader().getField(35) == fix.MsgType_Logout:
                    break
        except (FixClientError, TimeoutError, ConnectionError):
            pass
        finally:
            self._writer.close()
            self._writer = None


def text(message: fix.Message) -> str:
    """``message`` with SOH shown as ``|``."""
    return message.toString().replace(SOH, "|")


def fields(message: fix.Message, *tags: int) -> dict[int, str | None]:
    """The values of ``tags`` in ``message`` (body or header; None when absent)."""
    out = {}
    for tag in tags:
        for part in (message, message.getHeader()):
            if part.isSetField(tag):
                out[tag] = part.getField(tag)
                break
        else:
            out[tag] = None
    return out
