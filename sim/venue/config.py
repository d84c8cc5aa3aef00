"""The venue's configuration: one TOML file validated into frozen typed models.

Every section has documented defaults, so an empty file (or none: ``t2t
venue``) runs a complete venue on 127.0.0.1. Unknown keys are errors that
name the key. Sections:

* top level — ``host`` (bind address of the TCP ports), ``symbols``,
  ``order_ref_start`` (first Order Reference Number the engine assigns);
* ``[soup]`` — SoupBinTCP 3.0 session name and timers shared by every
  SoupBinTCP port (``SoupBinTCP §3``: server heartbeat after 1 s of send
  silence, 15 s of client silence ends the connection, 30 s to log in);
* ``[[ouch]]`` — one table per OUCH order port: name, TCP port, OUCH
  version (``"4.2"`` or ``"5.0"``), users (SoupBinTCP username/password),
  self-match policy;
* ``[dropcopy]`` — the SoupBinTCP drop-copy stream: port and users;
* ``[fix]`` — the FIX acceptor (:class:`tick2trade.sim.venue.fix.FixConfig`,
  part B);
* ``[marketdata]`` — ITCH 5.0 / MoldUDP64 publisher, re-request server and
  capture replay (:class:`MarketDataConfig`, part C).

Port ``0`` means "any free port" (tests); the bound ports are logged at start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tick2trade.host.configfile import describe, read_toml
from tick2trade.sim.venue.events import SelfMatch
from tick2trade.sim.venue.fix.config import FixConfig

DEFAULT_SYMBOLS = ("AAPL", "MSFT", "AMZN", "NVDA", "SPY", "QQQ", "TSLA", "ZVZZT")


class ConfigError(ValueError):
    """A venue config file that cannot be read or does not validate."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Credential(_Frozen):
    """A SoupBinTCP login (``SoupBinTCP §2.7``: username 6, password 10, case-insensitive)."""

    username: str = Field(min_length=1, max_length=6, pattern=r"^[A-Za-z0-9]+$")
    password: str = Field(min_length=1, max_length=10, pattern=r"^[A-Za-z0-9]+$")


class SoupConfig(_Frozen):
    """SoupBinTCP 3.0 session name and timers (``SoupBinTCP §3``)."""

    #: session ID every port hands out in Login Accepted (10 ASCII characters at most)
    session: str = Field(default="T2T0000001", min_length=1, max_length=10,
                         pattern=r"^[\x21-\x7e]+$")
    #: the server sends a heartbeat after this many seconds without sending anything
    heartbeat_interval: float = Field(default=1.0, gt=0)
    #: the server closes a logged-in connection silent for this long
    idle_timeout: float = Field(default=15.0, gt=0)
    #: the server closes a connection that sends no Login Request for this long
    login_timeout: float = Field(default=30.0, gt=0)
    #: largest Packet Length accepted from a client (longer = protocol error, closed)
    max_packet_length: int = Field(default=1024, ge=64, le=65535)


class OuchPortConfig(_Frozen):
    """One OUCH order-entry port over SoupBinTCP 3.0."""

    name: str = Field(default="ouch50", min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    port: int = Field(default=15000, ge=0, le=65535)
    version: Literal["4.2", "5.0"] = "5.0"
    users: tuple[Credential, ...] = (Credential(username="T2T", password="T2TPASS"),)
    #: self-match prevention policy for this port's orders (engine ``SelfMatch``)
    self_match: SelfMatch = SelfMatch.CANCEL_NEWEST

    @field_validator("users")
    @classmethod
    def _unique_users(cls, users):
        names = [u.username.upper() for u in users]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate username in {names}")
        return users


def _default_ouch_ports() -> tuple[OuchPortConfig, ...]:
    return (OuchPortConfig(),
            OuchPortConfig(name="ouch42", port=15001, version="4.2"))


class DropCopyConfig(_Frozen):
    """The drop-copy stream: every execution, sequenced and replayable, on its own port."""

    enabled: bool = True
    port: int = Field(default=15100, ge=0, le=65535)
    users: tuple[Credential, ...] = (Credential(username="DROP", password="DROPPASS"),)


class ReplayConfig(_Frozen):
    """Replay a real capture as the market (part C); ``capture=None`` = no replay."""

    #: pcap/pcapng of MoldUDP64 or a BinaryFILE of ITCH 5.0
    capture: Path | None = None
    #: 1.0 = real time, N = N times faster, 0 = as fast as possible
    speed: float = Field(default=1.0, ge=0)
    #: pace by the pcap capture times or by the ITCH timestamps (a BinaryFILE has only these)
    timestamps: Literal["capture", "itch"] = "capture"
    #: idle stretches of the capture longer than this many seconds are cut to it (None = keep)
    max_gap: float | None = Field(default=None, ge=0)
    #: only these symbols are replayed (empty = every symbol of the capture)
    symbols: tuple[str, ...] = ()

    @field_validator("capture")
    @classmethod
    def _readable(cls, capture):
        if capture is not None and not capture.is_file():
            raise ValueError(f"no such capture file: {capture}")
        return capture


class MarketDataConfig(_Frozen):
    """ITCH 5.0 over MoldUDP64: destination, re-request port, MTU, batching, heartbeats."""

    enabled: bool = True
    #: MoldUDP64 destination (multicast group, or a unicast address)
    group: str = "233.54.12.111"
    port: int = Field(default=26477, ge=0, le=65535)
    #: local interface address the packets leave from (and the multicast interface)
    interface: str = "127.0.0.1"
    ttl: int = Field(default=1, ge=0, le=255)
    #: multicast packets are looped back to listeners on this host
    loopback: bool = True
    #: MoldUDP64 re-request server (UDP, bound on the venue's ``host``)
    rerequest_port: int = Field(default=26478, ge=0, le=65535)
    #: MoldUDP64 session name (10 characters at most; space-padded on the left)
    session: str = Field(default="T2T0000001", min_length=1, max_length=10,
                         pattern=r"^[\x20-\x7e]+$")
    #: IP MTU; a packet's UDP payload is at most mtu - 28 bytes
    mtu: int = Field(default=1500, ge=128, le=9000)
    #: seconds to gather messages into one packet (0 = one engine request per packet)
    batch_interval: float = Field(default=0.0, ge=0)
    #: a heartbeat after this many idle seconds (MoldUDP64 §2.3)
    heartbeat_interval: float = Field(default=1.0, gt=0)
    #: messages kept for re-requests (None = the whole session)
    retransmit_limit: int | None = Field(default=None, ge=1)
    #: on stop, keep sending end-of-session packets and serving re-requests this many
    #: seconds, so listeners can still fill their last gaps (MoldUDP64 §2.4)
    end_linger: float = Field(default=0.0, ge=0)
    #: share of live data packets not sent (a lossy line; re-requests recover them)
    loss: float = Field(default=0.0, ge=0, lt=1)
    #: seed of the loss draw, so a lossy run repeats
    loss_seed: int = 0
    replay: ReplayConfig = ReplayConfig()


class VenueConfig(_Frozen):
    """The whole venue (see module docstring for the sections)."""

    host: str = "127.0.0.1"
    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    order_ref_start: int = Field(default=1, ge=1)
    soup: SoupConfig = SoupConfig()
    ouch: tuple[OuchPortConfig, ...] = Field(default_factory=_default_ouch_ports)
    dropcopy: DropCopyConfig = DropCopyConfig()
    fix: FixConfig = FixConfig()
    marketdata: MarketDataConfig = MarketDataConfig()

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, symbols):
        for s in symbols:
            if not 1 <= len(s) <= 8 or not s.isascii() or s != s.strip():
                raise ValueError(f"symbol {s!r} must be 1-8 ASCII characters (ITCH 5.0 §1)")
        if len(set(symbols)) != len(symbols):
            raise ValueError("duplicate symbol")
        return symbols

    @field_validator("ouch")
    @classmethod
    def _unique_ports(cls, ports):
        names = [p.name for p in ports]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate OUCH port name in {names}")
        return ports



def parse_config(data: dict, source: str = "config") -> VenueConfig:
    """Validate a TOML-shaped dict; errors name the offending key."""
    try:
        return VenueConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"{source}: {describe(error)}") from None


def load_config(path: str | Path | None = None) -> VenueConfig:
    """Read ``path`` (TOML); ``None`` gives the defaults."""
    if path is None:
        return VenueConfig()
    return parse_config(read_toml(path, ConfigError), str(path))
