"""MoldUDP64 ingress for one feed line: check each packet, buffer it whole.

MoldUDP64 §2: a packet is a 20-byte header (session, sequence number,
message count) and ``count`` message blocks, each a 2-byte big-endian length
and that many bytes. This block takes the UDP payload of one line
(:class:`~tick2trade.hdl.layouts.UdpBeat`), walks the block lengths while
the packet streams in, and stores the packet in a circular buffer. At the
packet's last beat it either commits it (one :class:`PacketInfo` pushed on
``info``) or rewinds the buffer and counts the drop:

* ``errored`` — the MAC/UDP stage flagged the frame bad (``error`` on last);
* ``malformed`` — shorter than the header, or (data packets, count 1–65534)
  the blocks do not end exactly at the end of the datagram, their number
  differs from ``count``, or a block is shorter than ``min_message_len``
  (MoldUDP64 §5 validation). Heartbeats (count 0) and end-of-session
  packets (0xFFFF) are checked for the header only;
* ``overflowed`` — no room left in the packet buffer or the info queue
  (room is judged from the last cycle's pointers and levels: one buffer slot
  and one info slot, two in cut-through, stay free).

A packet that never gets its last beat (a new ``first`` arrives) is
dropped and counted ``errored``, as if its last beat had carried ``error``.

Buffering whole packets means nothing downstream ever sees a packet that
turns out bad, at the cost of one packet of latency; the A/B arbiter also
needs the per-line queue. The input is never back-pressured
(``i.ready`` is always 1): a full buffer is a counted drop, not a stall.

The consumer (the arbiter) pops ``o.info``; ``o.take`` sampled with the
pop chooses between streaming the packet's beats on ``o.beats`` (1) and
discarding it in one cycle (0). ``o.info`` is held invalid while a packet
streams.

Blocks shorter than ``min_message_len`` bytes (default: the shortest ITCH
5.0 message, ITCH 5.0 §2) are rejected, which also guarantees at most one
block boundary per 8-byte beat, so the walk runs at one beat per cycle.

Timing: two stages. The *walk* (header capture, block lengths, the §5
checks) registers its findings about each beat; the buffer decides on those
registers one cycle later. The walk keeps the next length prefix relative to
the beat with a one-hot "prefix lane" register and works out every candidate
lane's length, next position and checks in parallel from the beat's bytes
(the ITCH decoder's technique), so its loop is a one-hot select, never an
add after a select. Every packet leaves one cycle later than with a single
stage.

Cut-through (``cut_through=True``; the model is
:class:`tick2trade.sim.model.feed.moldudp64.MoldIngressModel` with the same
flag). A data packet is offered on ``o.info`` as soon as its header beat
(beat 2, MoldUDP64 §2.1) is in and not bad; a taken packet's beats stream
out as they are written (the read side follows the write side, a few cycles
behind), so the decoder emits each record once its message's last byte is
in. Heartbeats and end-of-session packets are offered at their end, whole,
and store no beats (they are never taken). A packet dies at the first bad
beat: the one completing the length of a block shorter than
``min_message_len`` or of a block beyond the header's count, or a last
beat with ``error`` or failing the checks above; a packet cut off by the
next one's first beat dies after all its beats. Dying before it was
offered, it vanishes as in store-and-forward. Dying after:

* the beats before the bad one stay and stream out (records already
  emitted stay); the bad beat and the rest of the packet are dropped;
* a taken packet ends with one ``o.abort`` transfer instead of a ``last``
  beat, carrying ``done``: the leading blocks whole in the beats that went
  out. The decoder never sees the packet's end; the next ``first`` beat
  restarts it, so the partial block makes no record and no count;
* it is counted under its reason (``errored``/``malformed``/
  ``overflowed``, as in store-and-forward) and in ``late_errors``.

The reason counters are those of store-and-forward on the same input;
``late_errors`` is always 0 there.
"""


from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.fifo import SyncFIFO, SyncFIFOBuffered
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from tick2trade.proto.moldudp64 import END_OF_SESSION, HEADER_FIELDS, HEADER_LEN, HEARTBEAT

from ..layouts import Beat, UdpBeat, udp_stream
from .layouts import PacketInfo, packet_port

__all__ = ["MoldIngress", "COUNTERS", "default_min_message_len"]

#: the ingress counters (names shared with the model)
COUNTERS = ("packets", "errored", "malformed", "overflowed", "late_errors")

#: MoldUDP64 §2.1 header fields as (first byte, end byte)
_SPANS = {name: (offset, offset + length) for name, offset, length in HEADER_FIELDS}

_LANES = 8
_REL_BITS = 18


def _walked_layout() -> data.StructLayout:
    """What the walk stage says about one input beat (registered)."""
    return data.StructLayout({
        "valid": 1, "beat": UdpBeat, "info": PacketInfo,
        "header_done": 1,  # beat 2: the header's last bytes (MoldUDP64 §2.1)
        "is_data": 1,      # the header's count is neither heartbeat nor end of session
        "malformed": 1,    # the packet fails MoldUDP64 §5 if this is its last beat
        "control": 1,      # counted, and a heartbeat or end of session
        "bad_early": 1,    # counted data packet: a short block or too many blocks so far
        "bad_last": 1,     # a last beat with ``error`` or failing MoldUDP64 §5
        "done": 16,        # whole blocks in the beats up to this one
    })


def _packet_end(ptr_width: int) -> data.StructLayout:
    """How an offered packet ended (cut-through): its end slot; dead after ``done`` blocks."""
    return data.StructLayout({"end": ptr_width, "dead": 1, "done": 16})


def default_min_message_len() -> int:
    """The shortest ITCH 5.0 message (ITCH 5.0 §2), from ``proto.itch``."""
    from tick2trade.proto.itch import LENGTHS
    return min(LENGTHS.values())


def _field(header, span):
    """Big-endian number from header bytes ``span`` (wire order, byte 0 at bits 0:8)."""
    start, stop = span
    return Cat(*[header[8 * b:8 * b + 8] for b in reversed(range(start, stop))])


class MoldIngress(wiring.Component):
    """Check and buffer the MoldUDP64 packets of one line (MoldUDP64 §2, §5)."""

    def __init__(self, *, depth: int = 512, info_depth: int = 16,
                 min_message_len: int | None = None, cut_through: bool = False):
        if depth & (depth - 1) or not 8 <= depth <= 8192:
            raise ValueError(f"depth must be a power of two in 8..8192 beats, got {depth}")
        if min_message_len is None:
            min_message_len = default_min_message_len()
        if min_message_len < 7:
            raise ValueError("min_message_len must be >= 7 (one block boundary per beat)")
        if info_depth < 3:
            raise ValueError(f"info_depth must be >= 3, got {info_depth}")
        self._depth = depth
        self._info_depth = info_depth
        self._min_len = min_message_len
        self._cut_through = cut_through
        super().__init__({
            "i": In(udp_stream()),
            "o": Out(packet_port(cut_through=cut_through)),
            **{name: Out(32) for name in COUNTERS},
        })

    def _walk(self, m, beat, fire):
        """Stage 1: header capture and block walk (MoldUDP64 §2.1, §2.2), registered.

        Returns the registered walk of the previous input beat (``valid``, ``beat`` and
        the per-beat terms the buffer decides on). Timing (as the ITCH decoder's walk):
        the next length prefix is kept relative to the beat (``rel``) with a one-hot
        "prefix lane" register; each possible prefix lane's length, next position and
        checks are worked out in parallel from the beat's bytes, so the loop is a
        one-hot select, never an add after a select.
        """
        first, last, keep = beat.first, beat.last, beat.keep
        lanes = [beat.data[8 * k:8 * k + 8] for k in range(_LANES)]
        index_reg = Signal(14)            # beat index of the next input beat
        header = Signal(8 * HEADER_LEN)
        rel = Signal(_REL_BITS)           # next prefix, bytes from this beat's lane 0
        at = Signal(_LANES)               # ... one-hot: its lane, when it is in this beat
        blocks_reg = Signal(16)           # blocks walked so far ...
        blocks_p1_reg = Signal(16, init=1)  # ... plus one (timing: compares run in parallel)
        hi_reg = Signal(8)                # high length byte of a block straddling beats
        straddle_reg = Signal()
        short_reg = Signal()
        index = Mux(first, 0, index_reg)
        # timing: which header beat this is, from one-hot registers (no index compares)
        beat1_reg, beat2_reg, later_reg = Signal(), Signal(), Signal()
        in_beat = [first, ~first & beat1_reg, ~first & beat2_reg]
        counted = ~first & (beat2_reg | later_reg)    # beat 2 or later
        blocks = Mux(first, 0, blocks_reg)
        blocks_p1 = Mux(first, 1, blocks_p1_reg)
        short = Mux(first, 0, short_reg)

        nbytes = Signal(4)
        m.d.comb += nbytes.eq(sum(keep[i] for i in range(_LANES)))

        # header bytes 0..19 as they arrive (the header spans beats 0..2)
        header_now = Signal.like(header)
        m.d.comb += header_now.eq(header)
        for b in range(HEADER_LEN):
            with m.If(in_beat[b // _LANES]):
                m.d.comb += header_now[8 * b:8 * b + 8].eq(lanes[b % _LANES])

        # each candidate prefix lane, in parallel from the beat's bytes: its length and
        # message start ``ms`` (relative to this beat's lane 0); the next prefix relative
        # to the next beat and its lane there; whether it is the packet's end, or past it
        def candidate(name, length, ms):
            c = {"next": Signal(_REL_BITS, name=f"{name}_next"),
                 "next_at": Signal(_LANES, name=f"{name}_next_at"),
                 "short": Signal(name=f"{name}_short"), "fits": Signal(name=f"{name}_fits"),
                 "runs_on": Signal(name=f"{name}_runs_on")}
            small = length[4:] == 0
            m.d.comb += [c["next"].eq(length + (ms - _LANES)),
                         c["next_at"].eq(Mux(small & (length[:4] < 2 * _LANES - ms)
                                             & (length[:4] >= _LANES - ms),
                                             1 << (length[:3] + ms)[:3], 0)),
                         c["short"].eq(length < self._min_len),
                         c["fits"].eq((length[4:] == 0) & (length[:4] + ms == nbytes)),
                         c["runs_on"].eq(length > _LANES - ms)]
            return c
        cands = [candidate(f"lane{ln}", Cat(lanes[ln + 1], lanes[ln]), ln + 2)
                 for ln in range(_LANES - 1)]
        straddled = candidate("straddled", Cat(lanes[0], hi_reg), 1)

        # at most one block boundary per beat; the first beat holds no prefix (byte 20)
        straddle = straddle_reg & ~first
        sel = [at[ln] & keep[ln] & ~first for ln in range(_LANES)]
        chosen = [(straddle, straddled)] + list(zip(sel[:_LANES - 1], cands, strict=True))
        boundary = Signal()
        m.d.comb += boundary.eq(straddle | Cat(*sel[:_LANES - 1]).any())

        def pick(key, default=0, gate=True):
            """The chosen candidate's ``key`` (an AND-OR of one-hot selects); ``default``
            when none is chosen (ungated when it is 0 whenever one is)."""
            value = Mux(boundary, 0, default) if gate else default
            for cond, c in chosen:
                value = value | Mux(cond, c[key], 0)
            return value

        blocks_new = Signal(16)
        straddle_new = sel[_LANES - 1]
        short_new = Signal()
        ends_ok = Signal()               # the blocks end exactly at this beat's last byte
        m.d.comb += [
            blocks_new.eq(Mux(boundary, blocks_p1, blocks)),
            short_new.eq(short | pick("short")),
            ends_ok.eq(pick("fits", ~first & (rel == nbytes))),
        ]

        count = _field(header_now, _SPANS["count"])
        is_data = (count != HEARTBEAT) & (count != END_OF_SESSION)
        too_short = ~counted | (in_beat[2] & (nbytes < HEADER_LEN - 2 * _LANES))
        # the block count against the header's, both outcomes in parallel, then the select
        count_differs = Mux(boundary, blocks_p1 != count, blocks != count)
        too_many = Mux(boundary, blocks_p1 > count, blocks > count)
        bad_blocks = straddle_new | short_new | ~ends_ok | count_differs
        malformed = too_short | (is_data & bad_blocks)

        w = Signal(_walked_layout())
        m.d.sync += [
            w.valid.eq(fire), w.beat.eq(beat),
            w.header_done.eq(in_beat[2]), w.is_data.eq(is_data),
            w.malformed.eq(malformed), w.control.eq(counted & ~is_data),
            w.bad_early.eq(counted & is_data & (short_new | too_many)),
            w.bad_last.eq(last & (beat.error | malformed)),
            # whole blocks: one fewer if the last one walked runs past this beat (a packet
            # holds far fewer than 65535 blocks: ``blocks_p1`` never wraps)
            w.done.eq(Mux(boundary, Mux(pick("runs_on"), blocks, blocks_p1),
                          Mux((rel > _LANES) & (blocks != 0), blocks - 1, blocks))),
            w.info.session.eq(header_now[8 * _SPANS["session"][0]:8 * _SPANS["session"][1]]),
            w.info.seq.eq(_field(header_now, _SPANS["sequence"])),
            w.info.count.eq(count),
            w.info.beats.eq(index + 1),
            w.info.line.eq(beat.line),
            w.info.dst_port.eq(beat.dst_port),
            w.info.timestamp.eq(beat.timestamp),
        ]
        with m.If(fire):
            m.d.sync += [
                index_reg.eq(index + 1),
                beat1_reg.eq(first), beat2_reg.eq(in_beat[1]), later_reg.eq(counted),
                header.eq(header_now),
                blocks_reg.eq(blocks_new),
                blocks_p1_reg.eq(Mux(boundary, blocks_p1 + 1, blocks_p1)),
                hi_reg.eq(lanes[_LANES - 1]),
                straddle_reg.eq(straddle_new & ~last),
                short_reg.eq(short_new),
                rel.eq(Mux(first, HEADER_LEN - _LANES, pick("next", rel - _LANES))),
                # (the default is 0 when a prefix is in this beat, ``rel`` < 8, or
                # straddles, ``rel`` < 0: timing, no boundary term in the loop)
                at.eq(Mux(first, 0,     # the first prefix is in beat 2 (byte 20)
                          pick("next_at", Mux(rel[3:] == 1, 1 << rel[:3], 0), gate=False))),
            ]
        return w

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.i.ready.eq(1)
        w = self._walk(m, self.i.payload, self.i.valid)
        if self._cut_through:
            self._cut_through_buffer(m, w.beat, w.valid, w)
        else:
            self._store_and_forward_buffer(m, w.beat, w.valid, w)
        return m

    def _store_and_forward_buffer(self, m, beat, fire, w):
        """Whole packets: committed at their last beat, then offered."""
        abits = (self._depth - 1).bit_length()
        m.submodules.mem = mem = Memory(shape=Beat, depth=self._depth, init=[])
        wr = mem.write_port()
        rd = mem.read_port()
        m.submodules.infos = infos = SyncFIFOBuffered(
            width=len(self.o.info.payload.as_value()), depth=self._info_depth)

        wptr = Signal(abits + 1)          # next free slot of the packet being written
        cptr = Signal(abits + 1)          # end of the last committed packet
        rptr = Signal(abits + 1)          # next slot to read
        full_reg = Signal()
        first = beat.first
        open_reg = Signal()               # a packet is in progress (no last beat yet)
        aborted = Signal()                # it never got one: a new packet starts
        m.d.comb += aborted.eq(first & open_reg)
        base = Mux(first, cptr, wptr)
        # timing: room judged from the last cycle's pointers and level, registered and
        # conservative (the write base is at most one past the last ``wptr``, ``rptr`` only
        # moves on, one info push per cycle): one beat slot and one info slot stay free
        tight, info_room = Signal(), Signal()
        m.d.sync += [tight.eq((wptr + 1 - rptr)[abits]),
                     info_room.eq(infos.w_level < self._info_depth - 1)]
        no_room = Signal()
        m.d.comb += no_room.eq(Mux(first, tight, full_reg | tight))
        m.d.comb += [
            wr.addr.eq(base[:abits]),
            wr.data.data.eq(beat.data),
            wr.data.keep.eq(beat.keep),
            wr.data.first.eq(first),
            wr.data.last.eq(beat.last),
            wr.en.eq(fire & ~no_room),
        ]
        malformed = w.malformed
        overflow = no_room | ~info_room
        m.d.comb += infos.w_data.eq(w.info.as_value())

        with m.If(fire):
            m.d.sync += [
                full_reg.eq(no_room),
                wptr.eq(Mux(no_room, base, base + 1)),
            ]
            m.d.sync += open_reg.eq(~beat.last)
            with m.If(aborted):
                m.d.sync += [self.packets.eq(self.packets + 1), self.errored.eq(self.errored + 1)]
            with m.If(beat.last):
                m.d.sync += self.packets.eq(self.packets + 1 + aborted)
                with m.If(beat.error):
                    m.d.sync += [self.errored.eq(self.errored + 1 + aborted), wptr.eq(cptr)]
                with m.Elif(malformed):
                    m.d.sync += [self.malformed.eq(self.malformed + 1), wptr.eq(cptr)]
                with m.Elif(overflow):
                    m.d.sync += [self.overflowed.eq(self.overflowed + 1), wptr.eq(cptr)]
                with m.Else():
                    m.d.comb += infos.w_en.eq(1)
                    m.d.sync += [cptr.eq(base + 1), wptr.eq(base + 1)]

        # ---- read side: hand out infos, stream or discard packets ----------
        remaining = Signal(14)
        pending = Signal()                # remaining != 0 (timing: a register)
        out_valid = Signal()
        busy = pending | out_valid
        m.d.comb += [
            self.o.info.payload.eq(infos.r_data),
            self.o.info.valid.eq(infos.r_rdy & ~busy),
            infos.r_en.eq(self.o.info.ready & ~busy),
        ]
        with m.If(self.o.info.valid & self.o.info.ready):
            with m.If(self.o.take):
                m.d.sync += [remaining.eq(self.o.info.payload.beats), pending.eq(1)]
            with m.Else():
                m.d.sync += rptr.eq(rptr + self.o.info.payload.beats)

        beats = self.o.beats
        advance = ~out_valid | beats.ready
        m.d.comb += [rd.addr.eq(rptr[:abits]), rd.en.eq(advance),
                     beats.valid.eq(out_valid), beats.payload.eq(rd.data)]
        with m.If(advance):
            with m.If(pending):
                m.d.sync += [out_valid.eq(1), rptr.eq(rptr + 1), remaining.eq(remaining - 1),
                             pending.eq(remaining != 1)]
            with m.Else():
                m.d.sync += out_valid.eq(0)


    def _cut_through_buffer(self, m, beat, fire, w):
        """Data packets offered at their header; beats readable as soon as written."""
        abits = (self._depth - 1).bit_length()
        m.submodules.mem = mem = Memory(shape=Beat, depth=self._depth, init=[])
        wr = mem.write_port()
        rd = mem.read_port()
        m.submodules.infos = infos = SyncFIFO(
            width=len(self.o.info.payload.as_value()), depth=self._info_depth)
        # one end per offered packet: outstanding ends <= queued infos + the one being read
        end_layout = _packet_end(abits + 1)
        ends = Signal(end_layout)
        m.submodules.ends = end_fifo = SyncFIFO(width=len(ends.as_value()),
                                                depth=self._info_depth + 2)
        head_end = end_layout(end_fifo.r_data)

        wptr = Signal(abits + 1)          # next free slot
        rptr = Signal(abits + 1)          # next slot to read
        start_reg = Signal(abits + 1)     # first slot of the packet being written
        done_reg = Signal(16)             # its blocks whole in the beats stored so far
        open_reg = Signal()               # a packet is in progress (no last beat yet)
        pub_reg = Signal()                # ... its header was offered (``o.info``)
        dead_reg = Signal()               # ... it went bad: its later beats are ignored
        ovf_reg = Signal()                # ... for want of room
        first = beat.first
        aborted = first & open_reg
        pub = Mux(first, 0, pub_reg)
        dead = Mux(first, 0, dead_reg)
        ovf = Mux(first, 0, ovf_reg)
        # an unoffered packet cut off by a new one is forgotten: its slots are reused
        rewind = aborted & ~pub_reg
        base = Mux(rewind, start_reg, wptr)
        base_p1 = Mux(rewind, start_reg + 1, wptr + 1)   # timing: adds before the select
        start = Mux(first, base, start_reg)

        header_done = w.header_done       # MoldUDP64 §2.1: bytes 16..19 are in beat 2
        is_data = w.is_data
        # bad in this beat: a short block or one block too many (seen as its length
        # arrives), or a bad or malformed last beat
        bad_early, bad_last = w.bad_early, w.bad_last
        # timing: "no room" from the last cycle's pointers, registered and conservative
        # (the write base is at most one past the last ``wptr``, and ``rptr`` only moves
        # on): the buffer holds up to ``depth - 1`` beats
        no_room = Signal()
        m.d.sync += no_room.eq((wptr + 1 - rptr)[abits])
        # ... and room in the info queue, as conservative: pushes are registered (timing),
        # so two may land before the level is seen again
        info_room = Signal()
        m.d.sync += info_room.eq(infos.w_level < self._info_depth - 2)
        info_push = Signal()
        info_data = Signal.like(w.info)
        m.d.sync += [info_push.eq(0), info_data.eq(w.info)]
        # control packets (heartbeat, end of session) are offered whole and store nothing
        control = w.control
        offer_now = header_done & is_data & ~dead & ~bad_early & ~bad_last & ~no_room
        offered = pub | (offer_now & info_room)
        store = ~dead & ~control & ~bad_early & ~bad_last & ~no_room & (pub | ~header_done
                                                                      | info_room)
        dies = ~dead & ~store & ~control

        # timing: end pushes are registered; the read side sees ``wptr`` as late
        # (``wptr_seen``), so an end and the write pointer stay consistent
        end_push = Signal()
        end_data = Signal.like(ends.as_value())
        wptr_seen = Signal.like(wptr)
        m.d.sync += [end_push.eq(0), end_data.eq(ends.as_value()), wptr_seen.eq(wptr)]
        m.d.comb += [
            wr.addr.eq(base[:abits]),
            wr.data.data.eq(beat.data),
            wr.data.keep.eq(beat.keep),
            wr.data.first.eq(first),
            wr.data.last.eq(beat.last),
            wr.en.eq(fire & store),
            infos.w_data.eq(info_data.as_value()),
            infos.w_en.eq(info_push),
            end_fifo.w_data.eq(end_data),
            end_fifo.w_en.eq(end_push),
        ]

        with m.If(fire):
            m.d.sync += [
                open_reg.eq(~beat.last),
                start_reg.eq(start),
                done_reg.eq(w.done),
                pub_reg.eq(offered),
                dead_reg.eq(dead | dies),
                ovf_reg.eq(ovf | (dies & ~bad_early & ~bad_last)),
            ]
            with m.If(store):
                m.d.sync += wptr.eq(base_p1)
            with m.Elif(~offered):
                m.d.sync += wptr.eq(start)       # forget an unoffered packet's beats
            with m.Else():
                m.d.sync += wptr.eq(base)
            # an end is pushed when the packet before died unfinished (``cut_off``), when
            # an offered packet dies or ends, or for a good control packet (an empty end);
            # timing: the end's fields are selected by early terms, ``store`` comes last
            cut_off = aborted & pub_reg & ~dead_reg
            good_control = control & beat.last & ~beat.error & ~w.malformed & ~dead
            m.d.comb += [
                ends.done.eq(done_reg),
                ends.dead.eq(cut_off | (~control & ~store)),
                ends.end.eq(Mux(cut_off, wptr, Mux(control, start,
                                                   Mux(store, base_p1, base)))),
            ]
            with m.If(cut_off | (pub & dies) | (offered & store & beat.last)
                      | (good_control & info_room)):
                m.d.sync += end_push.eq(1)
            with m.If((offer_now | good_control) & info_room):
                m.d.sync += info_push.eq(1)

            # counters: as store-and-forward, at the last beat (or the next first)
            late = Signal()
            m.d.comb += late.eq(beat.last & offered & (dead | dies | bad_last))
            m.d.sync += [
                self.packets.eq(self.packets + aborted + beat.last),
                self.late_errors.eq(self.late_errors + (aborted & pub_reg) + late),
            ]
            with m.If(beat.last):
                with m.If(beat.error):
                    m.d.sync += self.errored.eq(self.errored + 1 + aborted)
                with m.Else():
                    with m.If(aborted):
                        m.d.sync += self.errored.eq(self.errored + 1)
                    with m.If(w.malformed):
                        m.d.sync += self.malformed.eq(self.malformed + 1)
                    with m.Elif(ovf | (dies & ~bad_early) | (good_control & ~info_room)):
                        m.d.sync += self.overflowed.eq(self.overflowed + 1)
            with m.Elif(aborted):
                m.d.sync += self.errored.eq(self.errored + 1)

        # ---- read side: offer infos, stream or skip each packet as it arrives -------
        streaming = Signal()              # the head packet was taken
        skipping = Signal()               # ... discarded
        out_valid = Signal()
        busy = streaming | skipping | out_valid
        m.d.comb += [
            self.o.info.payload.eq(infos.r_data),
            self.o.info.valid.eq(infos.r_rdy & ~busy),
            infos.r_en.eq(self.o.info.ready & ~busy),
        ]
        with m.If(self.o.info.valid & self.o.info.ready):
            m.d.sync += [streaming.eq(self.o.take), skipping.eq(~self.o.take)]

        ended = end_fifo.r_rdy
        bound = Mux(ended, head_end.end, wptr_seen)
        beats = self.o.beats
        advance = ~out_valid | beats.ready
        more = streaming & (rptr != bound)
        m.d.comb += [rd.addr.eq(rptr[:abits]), rd.en.eq(advance),
                     beats.valid.eq(out_valid), beats.payload.eq(rd.data)]
        with m.If(advance):
            m.d.sync += out_valid.eq(more)
            with m.If(more):
                m.d.sync += rptr.eq(rptr + 1)
        abort = self.o.abort
        m.d.comb += abort.payload.done.eq(head_end.done)
        with m.If(streaming & ended & (rptr == bound)):
            with m.If(~head_end.dead):
                m.d.comb += end_fifo.r_en.eq(1)
                m.d.sync += streaming.eq(0)
            with m.Elif(~out_valid):
                m.d.comb += abort.valid.eq(1)
                with m.If(abort.ready):
                    m.d.comb += end_fifo.r_en.eq(1)
                    m.d.sync += streaming.eq(0)
        with m.If(skipping):
            with m.If(ended):
                m.d.comb += end_fifo.r_en.eq(1)
                m.d.sync += [rptr.eq(head_end.end), skipping.eq(0)]
            with m.Else():
                m.d.sync += rptr.eq(wptr_seen)
