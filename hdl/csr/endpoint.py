"""The control-plane endpoint: ``proto/control`` datagrams in, CSR bus accesses, replies out.

Serves READ, WRITE, TABLE_WRITE and SUBSCRIBE exactly as the Python model
(``sim/model/control``) does, checks in the same order, ERROR replies with
the same codes (and no detail text), so the host tells the two apart only by
the ID register. Control traffic is rare: a datagram is buffered whole, then
served word by word (a few cycles per word) while ``rx`` is held not ready.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from tick2trade.proto import control as c

from ..layouts import BYTES_PER_BEAT, beat_stream
from .builder import WORD_BYTES, RegisterMap
from .ports import bus_signature

__all__ = ["ControlEndpoint"]

#: beats of the largest datagram
BUFFER_BEATS = -(-c.MAX_DATAGRAM // BYTES_PER_BEAT)
#: first byte of the word list / row bytes of WRITE, READ_REPLY and TABLE_WRITE
WORDS_AT = c.HEADER.size + 6


def _be_bytes(value, n: int) -> list:
    """``value`` as ``n`` big-endian bytes, first byte first."""
    return [value[8 * (n - 1 - i):8 * (n - i)] for i in range(n)]


def _lanes(data, first: int, n: int):
    """Bytes ``first``..``first+n-1`` of a beat as a big-endian value."""
    return Cat(*reversed([data[8 * (first + i):8 * (first + i + 1)] for i in range(n)]))


class ControlEndpoint(wiring.Component):
    """One control datagram at a time, against the CSR bank of ``regmap``.

    Ports
    -----
    rx : In(beat_stream())
        Request datagrams (UDP payloads), lane 0 first.
    tx : Out(beat_stream())
        Reply datagrams.
    bus : Out(bus_signature(...))
        To :class:`~tick2trade.hdl.csr.CsrBank` ``bus``.
    errors : Out(32)
        Refused datagrams (wire to the ``events.errors`` register).
    mask, subscribed : Out(32), Out(1)
        Event mask of the last SUBSCRIBE, and a one-cycle strobe when it
        arrives (the UDP layer then takes its sender as the subscriber).
    """

    def __init__(self, regmap: RegisterMap, addr_width: int):
        self.regmap = regmap
        super().__init__({
            "rx": In(beat_stream()), "tx": Out(beat_stream()),
            "bus": Out(bus_signature(addr_width)),
            "errors": Out(32), "mask": Out(32), "subscribed": Out(1),
        })

    def _bitmap(self, addrs) -> Const:
        words = -(-self.regmap.size // WORD_BYTES)
        return Const(sum(1 << (a // WORD_BYTES) for a in addrs), words)

    def elaborate(self, platform):
        m = Module()
        regmap = self.regmap
        bus = self.bus
        size_words = -(-regmap.size // WORD_BYTES)
        mapped = self._bitmap({a for p in regmap.registers for a in p.word_addrs()}
                              | {t.row_addr + WORD_BYTES * i for t in regmap.tables
                                 for i in range(t.table.words)}
                              | {t.commit_addr for t in regmap.tables})
        commits = self._bitmap({t.commit_addr for t in regmap.tables})

        m.submodules.rx_buf = rx_buf = Memory(shape=64, depth=BUFFER_BEATS, init=[])
        rx_wr, rx_rd = rx_buf.write_port(), rx_buf.read_port(domain="sync")
        m.submodules.tx_buf = tx_buf = Memory(shape=64, depth=BUFFER_BEATS, init=[])
        tx_wr, tx_rd = tx_buf.write_port(granularity=8), tx_buf.read_port(domain="sync")

        # --- received datagram ---------------------------------------------------------------
        beat_no = Signal(range(BUFFER_BEATS + 2))
        total = Signal(16)            # bytes received
        too_long = Signal()
        head = Signal(64)             # beat 0: the header
        body0 = Signal(64)            # beat 1: the first 8 body bytes
        magic, version = _lanes(head, 0, 2), head[16:24]
        opcode, tag, length = head[24:32], _lanes(head, 4, 2), _lanes(head, 6, 2)
        f_addr, f_count = _lanes(body0, 0, 4), _lanes(body0, 4, 2)      # READ / WRITE
        f_table, f_row = _lanes(body0, 0, 2), _lanes(body0, 2, 4)       # TABLE_WRITE
        body_len = total - c.HEADER.size

        # --- the current request ---------------------------------------------------------------
        index = Signal(16)            # word number within the request
        err_code = Signal(8)
        reply_op = Signal(8)
        reply_fixed = Signal(48)      # the body's first 6 bytes, big-endian
        reply_len = Signal(16)        # body bytes of the reply
        address = Signal(34)          # byte address of word ``index`` (no wrap)
        m.d.comb += address.eq(f_addr + (index << 2))
        in_map = Signal()
        word_no = address[2:]
        m.d.comb += in_map.eq((address[:2] == 0) & (address < regmap.size))
        is_mapped = in_map & mapped.bit_select(word_no[:max(1, (size_words - 1).bit_length())], 1)
        is_commit = in_map & commits.bit_select(word_no[:max(1, (size_words - 1).bit_length())],
                                                1)

        # table of a TABLE_WRITE
        t_known, t_row_addr, t_commit = Signal(), Signal(16), Signal(16)
        t_words, t_row_bytes, t_width, t_depth = Signal(8), Signal(16), Signal(16), Signal(17)
        with m.Switch(f_table):
            for placed in regmap.tables:
                t = placed.table
                with m.Case(t.table_id):
                    m.d.comb += [t_known.eq(1), t_row_addr.eq(placed.row_addr),
                                 t_commit.eq(placed.commit_addr), t_words.eq(t.words),
                                 t_row_bytes.eq(t.row_bytes), t_width.eq(t.width),
                                 t_depth.eq(t.depth)]

        # word generator over the received bytes from WORDS_AT (beats 1, 2, ...)
        gen_beat = Signal(range(BUFFER_BEATS + 1))
        prev = Signal(64)
        cur = Signal(64)
        odd = Signal()
        word = Signal(32)
        m.d.comb += rx_rd.addr.eq(gen_beat)
        table_pass = Signal()         # TABLE_WRITE: 0 checks every row word, 1 writes them
        staged = Signal(32)           # row word: little-endian bytes, masked to the row
        valid_bytes = Signal(16)
        m.d.comb += valid_bytes.eq(Mux(t_row_bytes > (index << 2), t_row_bytes - (index << 2), 0))
        byte_mask = Signal(32)
        with m.Switch(valid_bytes):
            for n in range(4):
                with m.Case(n):
                    m.d.comb += byte_mask.eq((1 << (8 * n)) - 1)
            with m.Default():
                m.d.comb += byte_mask.eq(0xFFFF_FFFF)
        valid_bits = Signal(16)
        m.d.comb += valid_bits.eq(Mux(t_width > (index << 5), t_width - (index << 5), 0))
        bit_mask = Signal(32)
        m.d.comb += bit_mask.eq(Mux(valid_bits >= 32, 0xFFFF_FFFF,
                                    (Const(1, 33) << valid_bits[:6]) - 1))
        m.d.comb += staged.eq(Cat(*_be_bytes(word, 4)) & byte_mask)

        # reply buffer writes and streaming
        out_beat = Signal(range(BUFFER_BEATS + 1))
        n_beats = Signal(range(BUFFER_BEATS + 1))
        m.d.comb += tx_rd.addr.eq(out_beat)
        reply_total = c.HEADER.size + reply_len

        def header_beat():
            fields = [Const(c.MAGIC >> 8, 8), Const(c.MAGIC & 0xFF, 8),
                      Const(c.PROTOCOL_VERSION, 8), reply_op, *_be_bytes(tag, 2),
                      *_be_bytes(reply_len, 2)]
            return Cat(*fields)

        def error(code):
            return [err_code.eq(code), reply_op.eq(c.Opcode.ERROR)]

        with m.FSM():
            with m.State("RECEIVE"):
                m.d.comb += self.rx.ready.eq(1)
                data = self.rx.payload
                with m.If(self.rx.valid):
                    n = sum(data.keep[i] for i in range(BYTES_PER_BEAT))
                    with m.If(data.first):
                        m.d.sync += [beat_no.eq(1), too_long.eq(0), total.eq(n), head.eq(data.data)]
                        m.d.comb += [rx_wr.addr.eq(0), rx_wr.data.eq(data.data), rx_wr.en.eq(1)]
                    with m.Else():
                        m.d.sync += [beat_no.eq(beat_no + 1), total.eq(total + n)]
                        with m.If(beat_no < BUFFER_BEATS):
                            m.d.comb += [rx_wr.addr.eq(beat_no), rx_wr.data.eq(data.data),
                                         rx_wr.en.eq(1)]
                        with m.Else():
                            m.d.sync += too_long.eq(1)
                        with m.If(beat_no == 1):
                            m.d.sync += body0.eq(data.data)
                    with m.If(data.last):
                        m.next = "CHECK"

            with m.State("CHECK"):  # the order of sim/model/control.handle
                m.d.sync += [index.eq(0), reply_op.eq(opcode | 0x80), err_code.eq(0),
                             gen_beat.eq(2), prev.eq(body0), odd.eq(0), table_pass.eq(0)]
                m.next = "DISPATCH"
                with m.If(too_long | (total > c.MAX_DATAGRAM)):
                    m.d.sync += [*error(c.ErrorCode.TOO_LONG), head.eq(0)]
                    m.next = "ERROR"
                with m.Elif(total < c.HEADER.size):
                    m.d.sync += [*error(c.ErrorCode.BAD_LENGTH), head.eq(0)]
                    m.next = "ERROR"
                with m.Elif(magic != c.MAGIC):
                    m.d.sync += [*error(c.ErrorCode.BAD_MAGIC), head.eq(0)]
                    m.next = "ERROR"
                with m.Elif(version != c.PROTOCOL_VERSION):
                    m.d.sync += error(c.ErrorCode.BAD_VERSION)
                    m.next = "ERROR"
                with m.Elif(body_len != length):
                    m.d.sync += error(c.ErrorCode.BAD_LENGTH)
                    m.next = "ERROR"
                with m.Else():
                    with m.Switch(opcode):
                        with m.Case(*[int(op) for op in c.Opcode if op not in c.REQUESTS]):
                            m.d.sync += error(c.ErrorCode.NOT_A_REQUEST)
                            m.next = "ERROR"
                        with m.Case(*[int(op) for op in c.REQUESTS]):
                            pass
                        with m.Default():
                            m.d.sync += error(c.ErrorCode.UNKNOWN_OPCODE)
                            m.next = "ERROR"

            with m.State("DISPATCH"):
                with m.Switch(opcode):
                    with m.Case(c.Opcode.READ):
                        with m.If(body_len != 6):
                            m.d.sync += error(c.ErrorCode.BAD_LENGTH)
                            m.next = "ERROR"
                        with m.Elif(f_count > c.MAX_WORDS):
                            m.d.sync += error(c.ErrorCode.TOO_LONG)
                            m.next = "ERROR"
                        with m.Else():
                            m.d.sync += [reply_fixed.eq(Cat(f_count, f_addr)),
                                         reply_len.eq(6 + (f_count << 2))]
                            m.next = "READ_CHECK"
                    with m.Case(c.Opcode.WRITE):
                        with m.If((body_len < 6) | (body_len != 6 + (f_count << 2))):
                            m.d.sync += error(c.ErrorCode.BAD_LENGTH)
                            m.next = "ERROR"
                        with m.Else():
                            m.d.sync += [reply_fixed.eq(Cat(f_count, f_addr)), reply_len.eq(6)]
                            m.next = "WRITE_NEXT"
                    with m.Case(c.Opcode.TABLE_WRITE):
                        with m.If(body_len < 6):
                            m.d.sync += error(c.ErrorCode.BAD_LENGTH)
                            m.next = "ERROR"
                        with m.Elif(~t_known):
                            m.d.sync += error(c.ErrorCode.BAD_TABLE)
                            m.next = "ERROR"
                        with m.Elif(body_len - 6 != t_row_bytes):
                            m.d.sync += error(c.ErrorCode.BAD_LENGTH)
                            m.next = "ERROR"
                        with m.Elif(f_row >= t_depth):
                            m.d.sync += error(c.ErrorCode.BAD_ROW)
                            m.next = "ERROR"
                        with m.Else():
                            m.d.sync += [reply_fixed.eq(Cat(f_row, f_table)), reply_len.eq(6)]
                            m.next = "TABLE_FETCH"
                    with m.Case(c.Opcode.SUBSCRIBE):
                        with m.If(body_len != 4):
                            m.d.sync += error(c.ErrorCode.BAD_LENGTH)
                            m.next = "ERROR"
                        with m.Else():
                            m.d.sync += [self.mask.eq(f_addr), reply_fixed.eq(f_addr << 16),
                                         reply_len.eq(4)]
                            m.d.comb += self.subscribed.eq(1)
                            m.next = "REPLY_HEAD"

            # READ: every address first, then word by word into the reply buffer
            with m.State("READ_CHECK"):
                with m.If(index == f_count):
                    m.d.sync += index.eq(0)
                    m.next = "READ_WORD"
                with m.Elif(~is_mapped):
                    m.d.sync += error(c.ErrorCode.BAD_ADDRESS)
                    m.next = "ERROR"
                with m.Else():
                    m.d.sync += index.eq(index + 1)
            with m.State("READ_WORD"):
                with m.If(index == f_count):
                    m.next = "REPLY_HEAD"
                with m.Else():
                    m.d.comb += [bus.addr.eq(address), bus.r_stb.eq(1)]
                    m.next = "READ_STORE"
            with m.State("READ_STORE"):
                # word i at reply byte WORDS_AT + 4i: lanes 6-7 and 0-1 (i even) or 2-5 (odd)
                at = WORDS_AT + (index << 2)
                b = _be_bytes(bus.r_data, 4)
                m.d.comb += tx_wr.addr.eq(at[3:])
                with m.If(index[0]):
                    m.d.comb += [tx_wr.data.eq(Cat(Const(0, 16), *b, Const(0, 16))),
                                 tx_wr.en.eq(0b0011_1100)]
                    m.d.sync += index.eq(index + 1)
                    m.next = "READ_WORD"
                with m.Else():
                    m.d.comb += [tx_wr.data.eq(Cat(Const(0, 48), b[0], b[1])),
                                 tx_wr.en.eq(0b1100_0000)]
                    m.d.sync += word.eq(bus.r_data)
                    m.next = "READ_STORE2"
            with m.State("READ_STORE2"):
                at = WORDS_AT + (index << 2)
                b = _be_bytes(word, 4)
                m.d.comb += [tx_wr.addr.eq(at[3:] + 1), tx_wr.data.eq(Cat(b[2], b[3],
                                                                          Const(0, 48))),
                             tx_wr.en.eq(0b0000_0011)]
                m.d.sync += index.eq(index + 1)
                m.next = "READ_WORD"

            # word generator: beat ``gen_beat`` arrives; even words straddle two beats
            with m.State("WRITE_NEXT"):
                with m.If(index == f_count):
                    m.next = "REPLY_HEAD"
                with m.Else():
                    m.next = "GEN"
            with m.State("TABLE_FETCH"):
                m.next = "GEN"
            with m.State("GEN"):
                with m.If(~odd):
                    m.d.sync += [cur.eq(rx_rd.data),
                                 word.eq(Cat(_lanes(rx_rd.data, 0, 2), _lanes(prev, 6, 2)))]
                with m.Else():
                    m.d.sync += [word.eq(_lanes(cur, 2, 4)), prev.eq(cur),
                                 gen_beat.eq(gen_beat + 1)]
                m.d.sync += odd.eq(~odd)
                m.next = "USE"
            with m.State("USE"):
                with m.If(opcode == c.Opcode.WRITE):
                    with m.If(~in_map):
                        m.d.sync += error(c.ErrorCode.BAD_ADDRESS)
                        m.next = "ERROR"
                    with m.Else():
                        m.d.comb += [bus.addr.eq(address), bus.w_data.eq(word), bus.w_stb.eq(1)]
                        m.next = "WRITE_CHECK"
                with m.Elif(~table_pass):
                    with m.If((staged & ~bit_mask) != 0):
                        m.d.sync += error(c.ErrorCode.BAD_ROW)
                        m.next = "ERROR"
                    with m.Elif(index + 1 == t_words):
                        m.d.sync += [index.eq(0), table_pass.eq(1), gen_beat.eq(2),
                                     prev.eq(body0), odd.eq(0)]
                        m.next = "TABLE_FETCH"
                    with m.Else():
                        m.d.sync += index.eq(index + 1)
                        m.next = "TABLE_FETCH"
                with m.Else():
                    m.d.comb += [bus.addr.eq(t_row_addr + (index << 2)), bus.w_data.eq(staged),
                                 bus.w_stb.eq(1)]
                    with m.If(index + 1 == t_words):
                        m.next = "TABLE_COMMIT"
                    with m.Else():
                        m.d.sync += index.eq(index + 1)
                        m.next = "TABLE_FETCH"
            with m.State("WRITE_CHECK"):
                with m.If(bus.error):
                    with m.If(is_commit):
                        m.d.sync += error(c.ErrorCode.BAD_ROW)
                    with m.Elif(is_mapped):
                        m.d.sync += error(c.ErrorCode.READ_ONLY)
                    with m.Else():
                        m.d.sync += error(c.ErrorCode.BAD_ADDRESS)
                    m.next = "ERROR"
                with m.Else():
                    m.d.sync += index.eq(index + 1)
                    m.next = "WRITE_NEXT"
            with m.State("TABLE_COMMIT"):
                m.d.comb += [bus.addr.eq(t_commit), bus.w_data.eq(f_row), bus.w_stb.eq(1)]
                m.next = "REPLY_HEAD"

            with m.State("ERROR"):
                m.d.sync += [self.errors.eq(self.errors + 1), reply_len.eq(6),
                             reply_fixed.eq(Cat((self.errors + 1)[:32], opcode, err_code))]
                m.next = "REPLY_HEAD"

            # reply: header beat, the fixed six body bytes, then the buffer streams out
            with m.State("REPLY_HEAD"):
                m.d.comb += [tx_wr.addr.eq(0), tx_wr.data.eq(header_beat()),
                             tx_wr.en.eq(0xFF)]
                m.next = "REPLY_FIXED"
            with m.State("REPLY_FIXED"):
                m.d.comb += [tx_wr.addr.eq(1), tx_wr.data.eq(Cat(*_be_bytes(reply_fixed, 6))),
                             tx_wr.en.eq(0b0011_1111)]
                m.d.sync += [out_beat.eq(0), n_beats.eq((reply_total + 7) >> 3)]
                m.next = "SEND_FETCH"
            with m.State("SEND_FETCH"):
                m.next = "SEND"
            with m.State("SEND"):
                last = out_beat + 1 == n_beats
                tail = reply_total[:3]
                m.d.comb += [self.tx.valid.eq(1), self.tx.payload.data.eq(tx_rd.data),
                             self.tx.payload.first.eq(out_beat == 0),
                             self.tx.payload.last.eq(last),
                             self.tx.payload.keep.eq(Mux(last & (tail != 0),
                                                         (Const(1, 9) << tail) - 1, 0xFF))]
                with m.If(self.tx.ready):
                    m.d.sync += out_beat.eq(out_beat + 1)
                    m.next = "SEND_FETCH"
                    with m.If(last):
                        m.next = "RECEIVE"
        return m
