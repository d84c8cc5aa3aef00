"""MoldUDP64 publisher, re-request server and listener over real UDP sockets on 127.0.0.1.

MoldUDP64 §2 (packets, heartbeats, end of session) and §3 (re-requests).
"""

from __future__ import annotations

import asyncio
import random
import socket

import pytest

from tick2trade.proto.moldudp64 import END_OF_SESSION, MoldPacket, MoldRequest
from tick2trade.sim.venue.marketdata.listener import MoldListener
from tick2trade.sim.venue.marketdata.publisher import MoldPublisher, SessionEndedError
from tick2trade.sim.venue.marketdata.rerequest import RerequestServer
from tick2trade.sim.venue.marketdata.store import RetransmitStore
from tick2trade.sim.venue.marketdata.transport import UdpSender

SESSION = b"PUBTEST001"
GROUP = "239.255.77.11"


def _messages(n: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    return [bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 60))) for _ in range(n)]


def _run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


class Stack:
    """Store + publisher + re-request server + listener, wired on 127.0.0.1."""

    def __init__(self, *, max_payload=1472, batch_interval=0.0, heartbeat_interval=1.0,
                 drop=None, first_sequence=1, group=None):
        self.store = RetransmitStore(SESSION)
        self.server = RerequestServer(self.store, max_payload=max_payload)
        self.kw = dict(max_payload=max_payload, batch_interval=batch_interval,
                       heartbeat_interval=heartbeat_interval)
        self.drop, self.first_sequence, self.group = drop, first_sequence, group

    async def __aenter__(self):
        await self.server.start()
        if self.group:
            probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
            probe.close()
            self.listener = MoldListener(self.group, port, rerequest=self.server.address,
                                         drop=self.drop, first_sequence=self.first_sequence)
            await self.listener.start()
            self.sender = UdpSender(self.group, port)
        else:
            self.listener = MoldListener("127.0.0.1", 0, rerequest=self.server.address,
                                         drop=self.drop, first_sequence=self.first_sequence)
            await self.listener.start()
            self.sender = UdpSender(*self.listener.address)
        self.publisher = MoldPublisher(self.store, self.sender, **self.kw)
        await self.publisher.start()
        return self

    async def __aexit__(self, *exc):
        await self.publisher.stop()
        await self.listener.stop()
        await self.server.stop()
        self.sender.close()


def _raw_receiver() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2.0)
    return sock


@pytest.mark.parametrize("max_payload", [82, 300, 1472])
def test_every_packet_fits_the_payload_limit_and_sequences_run_on(max_payload):
    receiver = _raw_receiver()
    receiver.setblocking(False)
    messages = _messages(400)
    datagrams: list[bytes] = []

    def drain():
        while True:
            try:
                datagrams.append(receiver.recv(65536))
            except BlockingIOError:
                return

    async def scenario():
        store = RetransmitStore(SESSION)
        sender = UdpSender(*receiver.getsockname())
        publisher = MoldPublisher(store, sender, max_payload=max_payload)
        await publisher.start()
        for i, m in enumerate(messages):
            assert publisher.publish(m) == i + 1
            if i % 10 == 0:
                await asyncio.sleep(0)
                drain()
        await publisher.stop()
        sender.close()
        await asyncio.sleep(0.01)
        drain()
        return publisher.stats

    stats = _run(scenario())
    receiver.close()
    assert len(datagrams) == stats["packets"]
    got, expected_seq = [], 1
    for datagram in datagrams:
        assert len(datagram) <= max_payload
        packet = MoldPacket.decode(datagram)
        assert packet.session == SESSION and packet.sequence == expected_seq
        assert 1 <= packet.count < END_OF_SESSION
        expected_seq = packet.next_sequence
        got += packet.messages
    assert got == messages


def test_batching_interval_gathers_messages_into_one_packet():
    receiver = _raw_receiver()

    async def scenario():
        sender = UdpSender(*receiver.getsockname())
        publisher = MoldPublisher(RetransmitStore(SESSION), sender, batch_interval=0.25)
        await publisher.start()
        for m in _messages(5):
            publisher.publish(m)
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.4)
        await publisher.stop()
        sender.close()

    _run(scenario())
    packet = MoldPacket.decode(receiver.recv(65536))
    receiver.close()
    assert packet.sequence == 1 and packet.count == 5


def test_idle_feed_sends_heartbeats_then_end_of_session():
    receiver = _raw_receiver()

    async def scenario():
        sender = UdpSender(*receiver.getsockname())
        publisher = MoldPublisher(RetransmitStore(SESSION), sender, heartbeat_interval=0.05)
        await publisher.start()
        publisher.publish(b"abc")
        publisher.publish(b"defg")
        await asyncio.sleep(0.3)
        publisher.end_session()
        await asyncio.sleep(0.3)
        with pytest.raises(SessionEndedError):
            publisher.publish(b"late")
        await publisher.stop()
        sender.close()
        return publisher.stats

    stats = _run(scenario())
    packets = [MoldPacket.decode(receiver.recv(65536)) for _ in range(stats["packets"])]
    receiver.close()
    assert packets[0].messages == (b"abc", b"defg")
    heartbeats = [p for p in packets if p.is_heartbeat]
    eos = [p for p in packets if p.is_end_of_session]
    assert len(heartbeats) >= 2 and len(eos) >= 2
    assert all(p.sequence == 3 and not p.messages for p in heartbeats + eos)
    first_eos = packets.index(eos[0])
    assert all(p.is_end_of_session for p in packets[first_eos:])


def test_gap_is_rerequested_and_filled_in_order():
    seen: set[int] = set()

    def lose_every_third_packet_once(packet: MoldPacket) -> bool:
        if packet.is_heartbeat or packet.sequence in seen:
            return False
        seen.add(packet.sequence)
        return len(seen) % 3 == 0

    messages = _messages(1500, seed=2)

    async def scenario():
        async with Stack(max_payload=200, drop=lose_every_third_packet_once) as s:
            for i, m in enumerate(messages):
                s.publisher.publish(m)
                if i % 50 == 0:
                    await asyncio.sleep(0)
            s.publisher.end_session()
            await s.listener.wait_ended()
            return s.listener, s.server.stats

    listener, server_stats = _run(scenario())
    assert [m for _, m in listener.messages] == messages
    assert [s for s, _ in listener.messages] == list(range(1, 1501))
    assert listener.stats["dropped_by_test"] > 10
    assert server_stats["replies"] >= 1 and server_stats["messages_resent"] >= 100


def test_tail_gap_announced_by_heartbeat_is_filled():
    def lose_all_data_once(packet, _seen=set()):  # noqa: B006 - per-test state
        if packet.count and packet.sequence not in _seen:
            _seen.add(packet.sequence)
            return True
        return False

    async def scenario():
        async with Stack(heartbeat_interval=0.05, drop=lose_all_data_once) as s:
            for m in _messages(20):
                s.publisher.publish(m)
            await s.listener.wait_for(21)
            return s.listener

    listener = _run(scenario())
    assert len(listener.messages) == 20 and listener.stats["heartbeats"] >= 1


def test_late_joiner_recovers_from_the_first_message():
    messages = _messages(300, seed=3)

    async def scenario():
        async with Stack() as s:
            await s.listener.stop()  # not listening while the first 200 go out
            for m in messages[:200]:
                s.publisher.publish(m)
            await asyncio.sleep(0.05)
            late = MoldListener("127.0.0.1", 0, rerequest=s.server.address)
            await late.start()
            s.sender.destination = late.address
            for m in messages[200:]:
                s.publisher.publish(m)
            await late.wait_for(301)
            await late.stop()
            return late

    late = _run(scenario())
    assert [m for _, m in late.messages] == messages


def test_rerequest_server_survives_garbage_over_the_socket():
    async def scenario():
        store = RetransmitStore(SESSION)
        store.extend(_messages(10))
        server = RerequestServer(store)
        await server.start()
        loop = asyncio.get_running_loop()
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        client.bind(("127.0.0.1", 0))
        client.setblocking(False)
        for junk in (b"", b"\xff" * 3, b"z" * 20, b"q" * 500,
                     MoldRequest(SESSION, 99, 1).encode()):
            client.sendto(junk, server.address)
        client.sendto(MoldRequest(SESSION, 4, 3).encode(), server.address)
        reply = await asyncio.wait_for(loop.sock_recv(client, 65536), 2)
        client.close()
        await server.stop()
        return MoldPacket.decode(reply), server.stats

    packet, stats = _run(scenario())
    assert packet.sequence == 4 and packet.count == 3
    assert stats["malformed"] == 3 and stats["unknown_session"] == 1 and stats["future"] == 1


def test_multicast_on_loopback():
    messages = _messages(200, seed=4)

    async def scenario():
        async with Stack(group=GROUP) as s:
            for m in messages:
                s.publisher.publish(m)
            await s.listener.wait_for(201, timeout=3)
            return s.listener

    try:
        listener = _run(scenario())
    except (OSError, TimeoutError) as error:
        pytest.skip(f"multicast on loopback refused by this kernel: {error!r}")
    assert [m for _, m in listener.messages] == messages
