"""The composed trading core: XGMII RX → feed → book → decision → OUCH payload (issues 5, 6).

Only composes (DESIGN.md diagram, STYLE.md §2):

* :class:`~.feed.path.FeedPath` — XGMII MAC RX, Ethernet/IPv4/UDP, MoldUDP64
  sequencing (MoldUDP64 §5) and ITCH 5.0 decoding into feed records;
* :class:`~.book.Book` — records → top-of-book records;
* :class:`~.strategy.decision.DecisionPath` — strategy and inline risk;
* :class:`~.order.encoder.OuchEncoder` — SoupBinTCP ``U`` packets of OUCH
  orders (SoupBinTCP §2.8, OUCH 5.0 §4.1), out on ``ouch``;
* :class:`~.csr.link.ControlLink` ⇄ :class:`~.csr.plane.ControlPlane` — the
  control protocol (``proto/control``) in UDP datagrams on the same XGMII RX
  as the feed, through a second :class:`~.net.mac.xgmii_rx.XgmiiRx` on the
  same pins (``FeedPath`` keeps its MAC's frame stream inside; a second MAC
  RX costs LUTs, no ports, and neither receiver can stall the other); the
  plane's ports drive the book subscriptions
  (table ``subscription``), the strategy/risk/position tables, the risk
  globals and trip clear, the encoder's symbol table and ``ref_base``, and
  read back the book, risk and encoder counters;
* :class:`~.csr.events.EventPacker` — the encoder's reports (sent orders with
  their stage stamps, rejects with their reason), the gated gap events and
  snapshots of the risk counters into EVENTS datagrams for the subscriber
  (``events.sent``/``events.dropped``);
* :class:`~.net.mac.xgmii_tx.XgmiiTx` — control replies and events out on
  ``xgmii_tx`` (the link's UDP framer, ARP replies included);
* :class:`~.gap_gate.GapGate` — the arbiter's gap events into the decision
  path's ``gap``, in order with the records;
* :class:`~.timestamp.Timestamp` — the free-running cycle counter: frames
  are stamped at their start (``hw_ts``), the decision path and the encoder
  stamp their stages with it; it is also the ``now`` output.

The MAC/IP/TCP transmit side of the orders is not in yet: the hot path ends at
the encoder's payload beats (``ouch``) and its per-request ``report``.
"""

from amaranth.hdl import Cat, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tick2trade.proto import control

from .book import Book
from .book.layouts import COUNTERS as BOOK_COUNTERS
from .book.layouts import BookParams
from .csr.device_map import device_map
from .csr.events import EventPacker
from .csr.link import ControlLink
from .csr.plane import ControlPlane
from .feed.layer import FeedStats
from .feed.path import FeedPath
from .gap_gate import GapGate
from .layouts import TIMESTAMP_WIDTH, beat_stream
from .net.mac.stats import MacRxStats
from .net.mac.xgmii import XgmiiSignature
from .net.mac.xgmii_rx import XgmiiRx
from .net.mac.xgmii_tx import XgmiiTx
from .net.udp_rx_config import UdpRxStats, drive_fixed_config
from .order.encoder import OuchEncoder
from .order.layouts import OrderReport
from .risk.layouts import COUNTERS as RISK_COUNTERS
from .strategy.decision import DecisionPath
from .strategy.layouts import MAX_SYMBOLS, executed_stream
from .timestamp import Timestamp

__all__ = ["CONTROL_IP", "CONTROL_MAC", "CONTROL_PORT", "TradingCore"]

#: the control link's own addresses unless given: MAC (wire order), IPv4, UDP port
CONTROL_MAC = 0x02_00_00_00_00_01
CONTROL_IP = 0x0A_00_00_02
CONTROL_PORT = 7400


class TradingCore(wiring.Component):
    """XGMII RX in, OUCH payload beats out, configured through the control plane.

    Parameters
    ----------
    net_config :
        Receive filters fixed at build time: an object with ``own_mac``,
        ``groups`` (multicast MACs), ``ports`` (UDP), ``accept_broadcast``,
        ``check_ip_checksum`` (``sim.model.net.UdpRxConfig``).
    book_params : BookParams
        Book capacities; ``book_params.symbols`` (at most ``MAX_SYMBOLS``) is
        also the decision path's number of slots.
    kind, build_hash :
        The ID register's device kind and the build hash (device block).
    control_mac, control_ip, control_port :
        The control link's own MAC (wire order, as an int), IPv4 address and UDP
        port: requests to them are served, replies and events come from them.
    snapshot_period :
        Cycles between automatic COUNTERS events (the risk counters; 0: only on
        ``snapshot``).
    cut_through :
        The MoldUDP64 ingress streams a packet's messages while it arrives
        (``hdl/feed/moldudp64.py``; a bad tail is counted after the fact, as
        DESIGN.md's cut-through rule says); ``False``: whole packets first.
    feed_depth :
        Beats (8 bytes) of the MoldUDP64 ingress buffer: the bursts the feed
        can hold while the book and decision path catch up (2048: 16 KiB,
        eleven full 1472-byte packets); a full buffer drops whole packets
        and counts them (``overflowed``), and the sequencer reports the gap.
    event_depth :
        Order events the packer queues while the link sends earlier ones (an
        order event takes about 20 cycles on the wire; a full queue drops and
        counts, never stalls the decision path).

    Ports
    -----
    xgmii : In(XgmiiSignature())
        The feed line (as ``sim.feed_top.FeedPathTop``), also carrying control requests.
    xgmii_tx : Out(XgmiiSignature())
        Control replies and EVENTS datagrams (and ARP replies for ``control_ip``).
    ouch : Out(beat_stream())
        SoupBinTCP-framed OUCH packets, lane 0 first.
    report, report_valid : Out(OrderReport), Out(1)
        The encoder's ``reports`` stream (it never stalls): every request the
        encoder consumed, a sent order when its first byte leaves, a reject
        when taken (the event packer's source).
    executed : In(executed_stream())
        Executions of our orders (positions).
    snapshot : In(1)
        A strobe asking for a COUNTERS event (the risk counters).
    stats, mac_stats, udp_stats : Out
        The feed path's counters.
    tripped : Out(1)
        The risk kill switch is latched.
    record_taken, record_seq : Out(1), Out(64)
        A feed record enters the book this cycle, and its MoldUDP64 sequence
        number (the stage stamp between feed and book, for latency figures).
    idle : Out(1)
        No record between the arbiter and the encoder's output (the ingress
        buffers may still hold packets while a gap waits for its timeout).
    now : Out(TIMESTAMP_WIDTH)
        The free-running cycle counter.
    """

    def __init__(self, net_config, book_params: BookParams | None = None, *,
                 seq_check: bool = True, kind: control.DeviceKind = control.DeviceKind.HARDWARE,
                 build_hash: int = 0, control_mac: int = CONTROL_MAC,
                 control_ip: int = CONTROL_IP, control_port: int = CONTROL_PORT,
                 snapshot_period: int = 0, cut_through: bool = True,
                 feed_depth: int = 2048, event_depth: int = 32):
        self.net_config = net_config
        self.book_params = book_params or BookParams()
        if self.book_params.symbols > MAX_SYMBOLS:
            raise ValueError(f"book_params.symbols must be at most {MAX_SYMBOLS}")
        self.seq_check = seq_check
        self.regmap = device_map(kind, build_hash)
        self.control_addresses = (control_mac, control_ip, control_port)
        self.snapshot_period = snapshot_period
        self.cut_through, self.feed_depth, self.event_depth = cut_through, feed_depth, event_depth
        super().__init__({
            "xgmii": In(XgmiiSignature()),
            "xgmii_tx": Out(XgmiiSignature()),
            "ouch": Out(beat_stream()),
            "report": Out(OrderReport),
            "report_valid": Out(1),
            "executed": In(executed_stream()),
            "snapshot": In(1),
            "stats": Out(FeedStats(1)),
            "mac_stats": Out(MacRxStats()),
            "udp_stats": Out(UdpRxStats()),
            "tripped": Out(1),
            "record_taken": Out(1),
            "record_seq": Out(64),
            "idle": Out(1),
            "now": Out(TIMESTAMP_WIDTH),
        })

    def _feed(self, m, clock) -> FeedPath:
        cfg = self.net_config
        groups, ports = max(1, len(cfg.groups)), max(1, len(cfg.ports))
        m.submodules.feed = feed = FeedPath(lines=1, groups=groups, ports=ports,
                                              cut_through=self.cut_through,
                                              depth=self.feed_depth)
        m.d.comb += [
            feed.timestamp.eq(clock),
            feed.seq_check.eq(self.seq_check),
        ]
        drive_fixed_config(m, feed.config, cfg)
        wiring.connect(m, wiring.flipped(self.xgmii), feed.xgmii)
        for name in ("stats", "mac_stats", "udp_stats"):
            wiring.connect(m, getattr(feed, name), wiring.flipped(getattr(self, name)))
        return feed

    @staticmethod
    def _table(m, source, sink, data=None):
        """Drive a table write port ``sink`` from the bank's ``source`` (rows as bits)."""
        m.d.comb += [sink.en.eq(source.en), sink.addr.eq(source.addr),
                     sink.data.eq(source.data.as_value() if data is None else data)]

    def elaborate(self, platform):
        m = Module()
        p = self.book_params
        m.submodules.clock = clock = Timestamp()
        m.d.comb += self.now.eq(clock.count)
        feed = self._feed(m, clock.count)
        m.submodules.book = book = Book(p)
        m.submodules.decision = decision = DecisionPath(p.symbols)
        m.submodules.encoder = encoder = OuchEncoder()
        m.submodules.control = plane = ControlPlane(self.regmap)
        m.submodules.gap_gate = gate = GapGate()

        # hot path
        wiring.connect(m, feed.o, book.i)
        m.d.comb += [self.record_taken.eq(feed.o.valid & book.i.ready),
                     self.record_seq.eq(feed.o.payload.seq)]
        wiring.connect(m, book.o, decision.tob)
        wiring.connect(m, decision.orders, encoder.requests)
        wiring.connect(m, encoder.packets, wiring.flipped(self.ouch))
        m.d.comb += [self.report.eq(encoder.reports.payload),
                     self.report_valid.eq(encoder.reports.valid)]
        wiring.connect(m, wiring.flipped(self.executed), decision.executed)
        m.d.comb += [decision.now.eq(clock.count), encoder.now.eq(clock.count),
                     self.tripped.eq(decision.tripped)]

        # feed gaps, after every earlier record (GapGate)
        wiring.connect(m, feed.gap, gate.gap)
        drained = ~feed.o.valid & book.idle & ~book.o.valid & decision.idle & ~decision.tob.valid
        m.d.comb += [gate.drained.eq(drained), decision.gap.eq(gate.strobe),
                     self.idle.eq(drained & ~decision.orders.valid & ~encoder.packets.valid)]

        self._control_port(m, plane, clock.count, encoder, feed.gap)
        sub = plane.port("table.subscription")
        m.d.comb += [book.sub_we.eq(sub.en & (sub.addr < p.symbols)),
                     book.sub_slot.eq(sub.addr[:p.slot_bits]),
                     book.sub_locate.eq(sub.data.locate), book.sub_valid.eq(sub.data.valid)]
        self._table(m, plane.port("table.strategy"), decision.strategy_table)
        self._table(m, plane.port("table.risk"), decision.risk_table)
        position = plane.port("table.position")
        self._table(m, position, decision.position_table, position.data.position)
        self._table(m, plane.port("table.symbols"), encoder.symbols)
        m.d.comb += [decision.glob.eq(plane.port("risk.global").as_value()),
                     decision.clear_trip.eq(plane.port("risk.clear_trip").value),
                     encoder.ref_base.eq(plane.port("order.ref_base").value),
                     plane.port("order.sent").value.eq(encoder.sent_count),
                     plane.port("order.rejected").value.eq(encoder.reject_count)]
        for i, name in enumerate(RISK_COUNTERS):
            m.d.comb += plane.port(f"risk.count_{name}").value.eq(decision.counters[i])
        for name in BOOK_COUNTERS:
            m.d.comb += plane.port(f"book.count_{name}").value.eq(getattr(book, name))
        return m

    def _control_port(self, m, plane, now, encoder, gap):
        """XGMII RX → ControlLink ⇄ ControlPlane, EventPacker → link → XgmiiTx (docs/control.md)."""
        first_counter = self.regmap.register(f"risk.count_{RISK_COUNTERS[0]}").addr
        m.submodules.control_rx = mac_rx = XgmiiRx()
        m.submodules.control_link = link = ControlLink()
        m.submodules.events = packer = EventPacker(line=0, counters=len(RISK_COUNTERS),
                                                   counters_addr=first_counter,
                                                   order_depth=self.event_depth)
        m.submodules.control_tx = mac_tx = XgmiiTx()
        m.d.comb += [mac_rx.xgmii.data.eq(self.xgmii.data), mac_rx.xgmii.ctrl.eq(self.xgmii.ctrl),
                     mac_rx.timestamp.eq(now)]
        wiring.connect(m, mac_rx.o, link.rx)
        wiring.connect(m, link.ctl_rx, plane.rx)
        wiring.connect(m, plane.tx, link.ctl_tx)
        wiring.connect(m, packer.o, link.events)
        wiring.connect(m, link.tx, mac_tx.i)
        wiring.connect(m, mac_tx.xgmii, wiring.flipped(self.xgmii_tx))
        mac, ip, port = self.control_addresses
        m.d.comb += [link.config.mac.eq(mac), link.config.ip.eq(ip), link.config.port.eq(port),
                     link.subscribed.eq(plane.subscribed), packer.mask.eq(plane.mask),
                     packer.now.eq(now), packer.ref_base.eq(plane.order_ref_base.value),
                     plane.events_sent.value.eq(packer.sent),
                     plane.events_dropped.value.eq(packer.dropped),
                     packer.orders.valid.eq(encoder.reports.valid),
                     packer.orders.payload.eq(encoder.reports.payload),
                     # the gap as the gate hands it to the decision path, in order
                     packer.gap.valid.eq(gap.valid & gap.ready),
                     packer.gap.payload.eq(gap.payload),
                     packer.counters.eq(Cat(*(plane.port(f"risk.count_{name}").value
                                              for name in RISK_COUNTERS))),
                     packer.snapshot.eq(self.snapshot),
                     packer.period.eq(self.snapshot_period)]

