"""Configuration ports of the Ethernet/IPv4/UDP receiver (set from the CSR bank)."""

from amaranth.lib import data, wiring
from amaranth.lib.wiring import Out

from tick2trade.proto.net import mac_bytes

__all__ = ["UDP_RX_COUNTERS", "UdpRxConfigSignature", "UdpRxStats", "drive_fixed_config"]

#: counter name → what one count means; each frame from the MAC is counted once,
#: by the first reason in this order that applies
UDP_RX_COUNTERS = {
    "packets": "UDP payloads forwarded",
    "mac_errors": "frames the MAC flagged bad (FCS, runt, giant, control, overflow)",
    "truncated": "frames that end inside the headers or before the IPv4 total length",
    "dst_mac": "destination MAC not ours, not a subscribed group, or refused broadcast",
    "not_ipv4": "EtherType (after one optional 802.1Q tag) not IPv4, version not 4 or IHL < 5",
    "ip_checksum": "IPv4 header checksum wrong",
    "fragments": "IPv4 fragments (MF set or fragment offset non-zero)",
    "not_udp": "IPv4 protocol not UDP",
    "bad_length": "UDP length < 9 (empty payload) or beyond the IPv4 total length",
    "dst_port": "UDP destination port not in the port table",
}


class UdpRxConfigSignature(wiring.Signature):
    """Filter settings (the CSR side drives them; ``Out`` = driver's view).

    MAC addresses are 48-bit integers in wire order (first byte most
    significant: ``0x01005e360c6f`` is ``01:00:5e:36:0c:6f``).
    """

    def __init__(self, groups: int = 4, ports: int = 4):
        self.groups = groups
        self.ports = ports
        super().__init__({
            "own_mac": Out(48),
            "accept_broadcast": Out(1),
            "group_mac": Out(data.ArrayLayout(48, groups)),
            "group_valid": Out(groups),
            "port": Out(data.ArrayLayout(16, ports)),
            "port_valid": Out(ports),
            "check_ip_checksum": Out(1, init=1),
        })


class UdpRxStats(wiring.Signature):
    """One wrapping 32-bit counter per name in :data:`UDP_RX_COUNTERS`."""

    def __init__(self):
        super().__init__({name: Out(32) for name in UDP_RX_COUNTERS})


def drive_fixed_config(m, config, cfg) -> None:
    """Tie the ``config`` port (:class:`UdpRxConfigSignature`) to build-time filters ``cfg``.

    ``cfg`` has ``own_mac``, ``groups`` (multicast MACs), ``ports`` (UDP),
    ``accept_broadcast`` and ``check_ip_checksum`` (``sim.model.net.UdpRxConfig``).
    """
    m.d.comb += [
        config.own_mac.eq(int.from_bytes(mac_bytes(cfg.own_mac), "big")),
        config.accept_broadcast.eq(cfg.accept_broadcast),
        config.check_ip_checksum.eq(cfg.check_ip_checksum),
        config.group_valid.eq((1 << len(cfg.groups)) - 1),
        config.port_valid.eq((1 << len(cfg.ports)) - 1),
    ]
    for k, group in enumerate(cfg.groups):
        m.d.comb += config.group_mac[k].eq(int.from_bytes(mac_bytes(group), "big"))
    for k, port in enumerate(cfg.ports):
        m.d.comb += config.port[k].eq(port)
