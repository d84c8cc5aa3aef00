"""Every real ITCH 5.0 message in the captures decodes and round trips exactly.

Expected facts (types, counts, symbols, first and last timestamps) are those
the captures README states for each file; files we have not seen are still
checked for clean decoding and exact round trips.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from conftest import CAPTURES, itch_pcaps

from tick2trade.proto import itch
from tick2trade.proto.binaryfile import read_binaryfile
from tick2trade.proto.capture import iter_mold


def ns(clock: str) -> int:
    """'HH:MM:SS.nnnnnnnnn' (ET) → ns since midnight, the ITCH timestamp (ITCH 5.0 §1)."""
    hms, frac = clock.split(".")
    h, m, s = map(int, hms.split(":"))
    return ((h * 60 + m) * 60 + s) * 1_000_000_000 + int(frac)


# file → (type counts, first and last timestamp ET, symbols as a multiset or None)
README_FACTS = {
    "itch50_20230822_AddOrderNoMPID.pcap": (
        {"A": 5}, "09:29:59.999894278", "09:30:00.000084959", "XLF XLF IVOO RETL T"),
    "itch50_20230822_AddOrderWithMPID.pcap": (
        {"F": 5}, "09:29:59.999977782", "09:30:00.000192403", "CASY TSVT EIDO QLYS VCYT"),
    "itch50_20230822_CrossTrade.pcap": (
        {"Q": 5}, "09:30:00.000483331", "09:30:00.001163323", "BAC-Q GCV PTGX BNED IBTG"),
    "itch50_20230822_LULDAuctionCollar.pcap": (
        {"J": 5}, "09:30:15.592415125", "09:35:16.303768822", "ZVZZT ZVZZT ZXZZT LTRY SHLT"),
    "itch50_20230822_MarketParticipantPosition.pcap": (
        {"L": 5}, "09:30:24.468064326", "09:34:03.930332539", "TAN TAN FDLS FGMC FBIO"),
    "itch50_20230822_NetOrderImbalanceIndicator.pcap": (
        {"I": 5}, "09:30:00.000087025", "09:30:00.000399147", "PFTAW GFOR= MMM MDC SKOR"),
    "itch50_20230822_NonCrossTrade.pcap": (
        {"P": 5}, "09:30:00.000684713", "09:30:00.000997052", "ASML ASML GOOGL MU QCOM"),
    "itch50_20230822_OrderCancel.pcap": (
        {"X": 5}, "09:30:00.002394205", "09:30:00.007174153", None),
    "itch50_20230822_OrderDelete.pcap": (
        {"D": 5}, "09:29:59.999889645", "09:29:59.999920371", None),
    "itch50_20230822_OrderExecuted.pcap": (
        {"E": 5}, "09:29:59.999934561", "09:30:00.000566216", None),
    "itch50_20230822_OrderExecutedWithPrice.pcap": (
        {"C": 5}, "09:30:00.001163323", "09:30:00.008266604", None),
    "itch50_20230822_OrderReplace.pcap": (
        {"U": 5}, "09:29:59.999836649", "09:29:59.999852428", None),
    "itch50_20230822_RegSHORestriction.pcap": (
        {"Y": 5}, "09:30:00.116533431", "09:30:00.161634344", "SOPA CPHI CUENW MSGM YCBD-A"),
    "itch50_20230822_StockTradingAction.pcap": (
        {"H": 5}, "09:30:15.592125541", "09:31:00.849901211", "ZXZZT ZVZZT CAML LTRY CSMD"),
    "itch50_20230822_SystemEvent.pcap": (
        {"S": 1}, "09:30:00.000070384", "09:30:00.000070384", None),
    "itch50_AddOrderNoMpidAttributionMessage.pcap": (
        {"A": 1}, "09:29:59.999894278", "09:29:59.999894278", "IVOO"),
    "itch50_MarketParticipantPositionMessage.pcap": (
        {"L": 1}, "09:30:24.494802989", "09:30:24.494802989", "FGMC"),
    "itch50_Multiple.Packets.pcap": (
        {"A": 36, "D": 1, "F": 2}, "09:30:00.007495351", "09:30:38.952381153", " ".join(
            ["META"] * 38)),
    "itch50_NetOrderImbalanceIndicatorMessage.pcap": (
        {"I": 1}, "09:30:00.000268978", "09:30:00.000268978", "MDC"),
    "itch50_OrderDeleteMessage.pcap": (
        {"D": 1}, "09:29:59.999896280", "09:29:59.999896280", None),
    "itch50_OrderExecutedMessage.pcap": (
        {"E": 1}, "09:29:59.999934561", "09:29:59.999934561", None),
    "itch50_OrderReplaceMessage.pcap": (
        {"U": 1}, "09:29:59.999836649", "09:29:59.999836649", None),
    "itch50_StockTradingActionMessage.pcap": (
        {"H": 1}, "09:39:23.322465824", "09:39:23.322465824", "AMC"),
}


def pcap_messages(path: Path) -> list[bytes]:
    """The ITCH messages of every MoldUDP64 packet of a capture, in order."""
    return [m for captured in iter_mold(path, strict=True) for m in captured.packet.messages]


def _id(path: Path) -> str:
    return path.name


@pytest.mark.parametrize("path", itch_pcaps(), ids=_id)
def test_every_pcap_message_decodes_and_round_trips(path):
    packets = list(iter_mold(path, strict=True))
    assert packets, f"{path.name}: no MoldUDP64 packets found"
    for raw in (m for captured in packets for m in captured.packet.messages):
        assert itch.encode(itch.decode(raw)) == raw


@pytest.mark.parametrize("path", itch_pcaps(), ids=_id)
def test_pcap_matches_the_readme(path):
    if path.name not in README_FACTS:
        pytest.skip(f"no README facts recorded for {path.name}")
    counts, first, last, symbols = README_FACTS[path.name]
    decoded = [itch.decode(raw) for raw in pcap_messages(path)]
    assert Counter(m.TYPE for m in decoded) == Counter(counts)
    timestamps = [m.timestamp for m in decoded]
    assert (min(timestamps), max(timestamps)) == (ns(first), ns(last))
    if symbols is not None:
        assert Counter(m.stock for m in decoded if hasattr(m, "stock")) == Counter(symbols.split())


def test_add_order_field_values(captures_dir):
    (msg,) = map(itch.decode, pcap_messages(
        captures_dir / "itch50_AddOrderNoMpidAttributionMessage.pcap"))
    assert isinstance(msg, itch.AddOrder)
    assert (msg.stock, msg.side, msg.shares, msg.price) == ("IVOO", "B", 1600, 873900)


def test_order_book_messages_carry_plausible_values(captures_dir):
    decoded = [itch.decode(raw) for raw in pcap_messages(
        captures_dir / "itch50_Multiple.Packets.pcap")]
    adds = [m for m in decoded if isinstance(m, itch.AddOrder | itch.AddOrderMpid)]
    assert {m.side for m in adds} <= {"B", "S"}
    assert all(0 < m.price < 2_000_000_000 and m.shares > 0 for m in adds)  # ITCH 5.0 §1 Price(4)
    assert len({m.order_ref for m in adds}) == len(adds)  # day-unique (ITCH 5.0 §3.11)


def test_non_cross_trade_has_zero_order_ref_and_buy_side(captures_dir):
    trades = list(map(itch.decode, pcap_messages(captures_dir /
                                                 "itch50_20230822_NonCrossTrade.pcap")))
    assert {(m.order_ref, m.side) for m in trades} == {(0, "B")}  # ITCH 5.0 §3.18


def _sample() -> Path:
    path = CAPTURES / "sample.itch"
    if not path.exists():
        pytest.skip(f"third-party data not present: {path}")
    return path


def test_sample_binaryfile_decodes_and_round_trips():
    raws = list(read_binaryfile(_sample()))
    decoded = [itch.decode(raw) for raw in raws]
    assert [itch.encode(m) for m in decoded] == raws
    assert Counter(m.TYPE for m in decoded) == Counter(H=3, R=993, S=1, Y=3)
    assert decoded[0] == itch.SystemEvent(0, 0, decoded[0].timestamp, "O")  # start of messages
    timestamps = [m.timestamp for m in decoded]
    assert timestamps == sorted(timestamps)
    assert (timestamps[0], timestamps[-1]) == (ns("03:04:32.057543747"), ns("03:09:14.360581176"))
    directory = [m for m in decoded if isinstance(m, itch.StockDirectory)]
    assert [m.stock_locate for m in directory] == list(range(1, 994))
    assert (directory[0].stock, directory[-1].stock) == ("A", "BPFH")
    assert {m.tracking_number for m in decoded} == {0}
