"""Reference model of the whole feed path: wire frames → records (issue 4).

Part A's models (:class:`~tick2trade.sim.model.net.MacRxModel`,
:class:`~tick2trade.sim.model.net.UdpRxModel`) then ours: ingress per line,
arbiter, decoder — the same counters as
:class:`~tick2trade.hdl.feed.path.FeedPath`. Hardware timestamps are cycle
counts the model cannot know: its records carry ``hw_ts = 0``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from tick2trade.hdl.net.mac.stats import MAC_RX_COUNTERS
from tick2trade.hdl.net.udp_rx_config import UDP_RX_COUNTERS

from ..net import MacRxModel, UdpRxConfig, UdpRxModel
from .arbiter import MoldArbiterModel
from .itch import ItchDecoderModel
from .moldudp64 import MoldIngressModel, UdpPayload
from .records import Record

__all__ = ["FeedPathModel"]

LINES = ("a", "b")


@dataclass
class FeedPathModel:
    config: UdpRxConfig
    lines: int = 1
    seq_check: bool = True
    cut_through: bool = False
    macs: list = field(default_factory=list)
    udps: list = field(default_factory=list)
    ingresses: list = field(default_factory=list)
    arbiter: MoldArbiterModel = None
    decoder: ItchDecoderModel = field(default_factory=ItchDecoderModel)

    def __post_init__(self):
        self.macs = [MacRxModel() for _ in range(self.lines)]
        self.udps = [UdpRxModel(self.config) for _ in range(self.lines)]
        self.ingresses = [MoldIngressModel(cut_through=self.cut_through)
                          for _ in range(self.lines)]
        self.arbiter = MoldArbiterModel(lines=self.lines, seq_check=self.seq_check)

    def run(self, wires: Iterable[bytes], wires_b: Iterable[bytes] = ()) -> list[Record]:
        """Wire frames (FCS included) of each line → records in feed order."""
        queues = []
        for n, line_wires in enumerate([wires, wires_b][:self.lines]):
            queue = []
            for wire in line_wires:
                frame, mac_error = self.macs[n].receive(wire)
                udp = self.udps[n].receive(frame, mac_error=mac_error)
                if udp is None:
                    continue
                packet = self.ingresses[n].push(UdpPayload(udp.payload, n, udp.dst_port, 0,
                                                           udp.error))
                if packet is not None:
                    queue.append(packet)
            queues.append(queue)
        self.arbiter.run(queues)
        return [rec for d in self.arbiter.delivered for rec in self.decoder.push(d)]

    def counters(self) -> dict[str, int]:
        """Counter name → value, named as the feed path's Verilog ports are."""
        out = {}
        for n in range(self.lines):
            suffix = "" if n == 0 else "_b"
            out.update({f"mac_stats{suffix}__{k}": self.macs[n].counters[k]
                        for k in MAC_RX_COUNTERS})
            out.update({f"udp_stats{suffix}__{k}": self.udps[n].counters[k]
                        for k in UDP_RX_COUNTERS})
            out.update({f"stats__{LINES[n]}_{k}": v
                        for k, v in asdict(self.ingresses[n].counters).items()})
        out.update({f"stats__{k}": v for k, v in asdict(self.arbiter.counters).items()})
        out.update({f"stats__{k}": v for k, v in asdict(self.decoder.counters).items()})
        return out
