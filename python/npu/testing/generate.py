# SPDX-License-Identifier: MIT
"""Program generators, written once over a source of choices.

The same generator code serves hypothesis (``strategies.py`` wraps hypothesis's ``data.draw``
as a :class:`Source`, so examples shrink) and the fast random campaign (``fuzz.py`` uses
:class:`RandomSource`, seeded, so a seed reproduces a run).

* :data:`VALID` maps every mnemonic to a generator of a short, valid use of it (operand
  set-up included) with interesting operands: zero, +-1, min/max integers, NaN, Inf,
  denormals, aliased source and destination registers and overlapping SRAM ranges.
* :data:`TRAPS` maps trap names to generators of code that raises it.
* :func:`gen_case` builds whole programs: random initial registers, configuration registers,
  SRAM and device memory, then a body of nested blocks (forward branches, counted loops,
  calls) that terminates and stays inside the case's SRAM and memory region.
* :func:`gen_group_case` builds programs run by several program instances that exchange
  data through device memory, synchronised by barriers or semaphores.
* :func:`gen_trap_case` builds programs that trap on purpose.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from .. import _isa_tables as T
from . import program as P
from .program import BaseRef, EndRef, Label, Op, Word, op, set_reg

MASK64 = (1 << 64) - 1
SREG = {name: sid for name, (sid, _d) in T.SREGS.items()}
WRITABLE = sorted(getattr(T, "SREG_WRITABLE", ()), key=lambda n: SREG[n])
NUM_CORES = 4  # the device default; fuzz.py / diff set it from the target


class Source:
    """Where a generator's choices come from."""

    def int(self, lo: int, hi: int) -> int:  # inclusive
        raise NotImplementedError

    def choice(self, seq: Sequence):
        return seq[self.int(0, len(seq) - 1)]

    def bool(self, p: float = 0.5) -> bool:
        """True with probability about ``p`` (shrinks to False)."""
        return self.int(0, 999) >= 1000 - int(p * 1000)

    def weighted(self, table: Sequence[tuple[float, object]]):
        """An item of ``[(weight, item), ...]``, the first being the simplest."""
        total = sum(w for w, _ in table)
        x = self.int(0, 9999) * total / 10000
        for w, item in table:
            if x < w:
                return item
            x -= w
        return table[-1][1]


class RandomSource(Source):
    def __init__(self, seed):
        self.r = random.Random(seed)

    def int(self, lo, hi):
        return self.r.randint(lo, hi)

    def choice(self, seq):
        return seq[self.r.randrange(len(seq))]

    def bool(self, p=0.5):
        return self.r.random() < p


# --------------------------------------------------------------------------- values


INT64_SPECIAL = [
    0, 1, MASK64, 2, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0x7FFFFFFF, 0x80000000,
    0xFFFFFFFF, 0xFFFFFFFF80000000, 0x100000000, 63, 64, 65, 0x80, 0xFF, 0xFFFF, 0x8000,
    0xFFFFFFFFFFFFFFFE, 0x8000000000000001, 3, 7, 31, 32, 0x7FC00000, 0x7F800000,
]
IMM_SPECIAL = [0, 1, -1, 2, 0x7FFFFFFF, -0x80000000, 63, 64, 65, 31, 32, -64, -2, 0xFF,
               0x7FFF, -0x8000, 0x10000]
ELEM_SPECIAL = {
    "f32": P.F32_SPECIAL, "i32": P.I32_SPECIAL, "f16": P.F16_SPECIAL,
    "bf16": P.BF16_SPECIAL, "i8": P.I8_SPECIAL,
    "i16": [0, 1, 0xFFFF, 0x7FFF, 0x8000, 0x8001, 0xFFFE, 0x7F, 0x80, 0xFF80, 15, 16, 31],
}
ESIZE = {"f32": 4, "i32": 4, "i16": 2, "i8": 1, "f16": 2, "bf16": 2}


def value64(src: Source) -> int:
    kind = src.weighted([(4, "special"), (2, "small"), (2, "s32"), (2, "any")])
    if kind == "special":
        return src.choice(INT64_SPECIAL)
    if kind == "small":
        return src.int(-16, 16) & MASK64
    if kind == "s32":
        return src.int(-(1 << 31), (1 << 31) - 1) & MASK64
    return src.int(0, MASK64)


def imm32(src: Source) -> int:
    if src.bool(0.6):
        return src.choice(IMM_SPECIAL)
    return src.int(-(1 << 31), (1 << 31) - 1)


def seed(src: Source) -> int:
    return 0 if src.bool(0.2) else src.int(1, (1 << 31) - 1)


# --------------------------------------------------------------------------- context


class Ctx:
    """Generation state: registers that must not be written (live loop counters, link
    registers, a lane number), nesting depth, label numbering, the functions to place after
    the body, and what the body may do: ``sync`` allows barrier and sem.wait (the case will
    run with every instance on its own core), ``device_writes`` allows DMA stores,
    ``signals`` a sem.signal that no wait of the same instance balances."""

    def __init__(self, src: Source, depth: int = 0, reserved=(), in_function=False,
                 shared=None, sync=False, device_writes=True, signals=True):
        self.src = src
        self.depth = depth
        self.reserved = frozenset(reserved)
        self.in_function = in_function
        self.shared = shared if shared is not None else {"labels": 0, "funcs": []}
        self.sync = sync
        self.device_writes = device_writes
        self.signals = signals

    def sub(self, reserve=(), function=None) -> Ctx:
        return Ctx(self.src, self.depth + 1, self.reserved | set(reserve),
                   self.in_function if function is None else function, self.shared,
                   self.sync, self.device_writes, self.signals)

    def label(self) -> str:
        self.shared["labels"] += 1
        return f"L{self.shared['labels']}"

    def rd(self, allow_zero=True) -> int:
        """A destination register (r0 sometimes: its writes are dropped)."""
        if allow_zero and self.src.bool(0.05):
            return 0
        return self.tmp()

    def tmp(self, avoid=()) -> int:
        """A writable register other than r0."""
        regs = [r for r in range(1, 32) if r not in self.reserved and r not in avoid]
        return self.src.choice(regs)

    def tmps(self, n: int, avoid=()) -> list[int]:
        """``n`` distinct writable registers."""
        out: list[int] = []
        for _ in range(n):
            out.append(self.tmp(avoid=tuple(avoid) + tuple(out)))
        return out

    def rs(self) -> int:
        return self.src.int(0, 31)


# --------------------------------------------------------------------------- valid uses


VALID: dict[str, Callable[[Ctx], list]] = {}
CLASS: dict[str, str] = {}  # mnemonic -> instruction class (for choosing and reporting)


def gen(*names, cls: str):
    def reg(fn):
        for n in names:
            VALID[n] = fn
            CLASS[n] = cls
        return fn
    return reg


def _setup_operand(ctx: Ctx, avoid=()) -> tuple[int, list]:
    """A source register, sometimes freshly set to an interesting value."""
    if ctx.src.bool(0.5):
        r = ctx.tmp(avoid)
        return r, set_reg(r, value64(ctx.src))
    return ctx.rs(), []


def _rr(name):
    def fn(ctx):
        a, pre_a = _setup_operand(ctx)
        b, pre_b = _setup_operand(ctx, avoid=(a,) if pre_a else ())
        rd = ctx.src.choice([ctx.rd(), a if a and a not in ctx.reserved else ctx.rd(),
                             b if b and b not in ctx.reserved else ctx.rd()])
        return pre_a + pre_b + [op(name, rd=rd, rs1=a, rs2=b)]
    return fn


def _ri(name):
    def fn(ctx):
        a, pre = _setup_operand(ctx)
        rd = a if a and a not in ctx.reserved and ctx.src.bool(0.3) else ctx.rd()
        return pre + [op(name, rd=rd, rs1=a, imm=imm32(ctx.src))]
    return fn


ALU_RR = ("add", "sub", "mul", "mulh", "mulhu", "div", "divu", "rem", "remu", "and", "or",
          "xor", "shl", "shr", "sra", "slt", "sltu")
ALU_RI = ("addi", "andi", "ori", "xori", "shli", "shri", "srai", "slti", "sltiu", "muli")
for _n in ALU_RR:
    gen(_n, cls="alu")(_rr(_n))
for _n in ALU_RI:
    gen(_n, cls="alu")(_ri(_n))
def _imm_only(name):
    return lambda ctx: [op(name, rd=ctx.rd(), imm=imm32(ctx.src))]


for _n in ("li", "lih"):
    gen(_n, cls="alu")(_imm_only(_n))


def items(ctx: Ctx, lo: int, hi: int, simple: bool = False) -> list:
    """``lo``..``hi`` random items; ``simple`` keeps to straight-line code."""
    out = []
    for _ in range(ctx.src.int(lo, hi)):
        out += item(ctx, simple)
    return out


# How often each class of instruction is drawn (then a mnemonic of it, uniformly).
CLASS_WEIGHTS = {"alu": 4, "control": 2, "sreg": 1, "mem": 2, "dma": 1.5, "vector": 4,
                 "matrix": 1, "sync": 0.5}
_CONTROL = ("beq", "bne", "blt", "bge", "bltu", "bgeu", "jmp", "jal", "jr", "loop", "halt")


def allowed(ctx: Ctx, name: str, simple: bool) -> bool:
    if simple and name in _CONTROL:
        return False
    if not ctx.sync and name in ("barrier", "sem.wait"):
        return False
    if not ctx.device_writes and name in ("dma.st", "dma.st2"):
        return False
    return ctx.signals or name != "sem.signal"


def item(ctx: Ctx, simple: bool = False) -> list:
    simple = simple or ctx.depth >= 2
    table = [(w, c) for c, w in CLASS_WEIGHTS.items() if c in BY_CLASS]
    for _ in range(20):
        cls = ctx.src.weighted(table)
        names = [n for n in BY_CLASS[cls] if allowed(ctx, n, simple)]
        if names:
            break
    else:
        names = ["nop"]
    name = ctx.src.choice(names)
    if name == "halt" and not ctx.src.bool(0.15):
        name = "nop"  # an early halt ends the program before the epilogue: keep it rare
    return VALID[name](ctx)


def _branch(name):
    def fn(ctx):
        a, pre_a = _setup_operand(ctx)
        if ctx.src.bool(0.3):  # equal operands: the other outcome
            b, pre_b = a, []
        else:
            b, pre_b = _setup_operand(ctx, avoid=(a,))
        if ctx.src.bool(0.2) and ctx.depth < 2 and name != "beq":
            # A backward branch closing a counted loop on c, n down to 1:
            # c = n; L: ...; c -= 1; then bne c, r0 / blt r0, c / bltu r0, c / bge c, one
            # / bgeu c, one (one: a register holding 1).
            c, one = ctx.tmps(2)
            top = ctx.label()
            n = ctx.src.int(1, 3)
            body = items(ctx.sub(reserve=(c, one)), 0, 3)
            rs1, rs2 = {"bne": (c, 0), "blt": (0, c), "bltu": (0, c), "bge": (c, one),
                        "bgeu": (c, one)}[name]
            tail = [op("addi", rd=c, rs1=c, imm=-1)]
            if one in (rs1, rs2):
                tail.append(op("li", rd=one, imm=1))
            return set_reg(c, n) + [Label(top)] + body + tail + [
                op(name, rs1=rs1, rs2=rs2, target=top)]
        skip = ctx.label()
        body = items(ctx.sub(), 0, 3) if ctx.depth < 2 else items(ctx.sub(), 0, 2, True)
        return pre_a + pre_b + [op(name, rs1=a, rs2=b, target=skip)] + body + [Label(skip)]
    return fn


for _n in ("beq", "bne", "blt", "bge", "bltu", "bgeu"):
    gen(_n, cls="control")(_branch(_n))


@gen("jmp", cls="control")
def _g_jmp(ctx):
    skip = ctx.label()
    dead = [Word(ctx.src.int(0, MASK64)) if ctx.src.bool(0.5) else op("halt")]
    return [op("jmp", target=skip)] + dead + [Label(skip)]


@gen("jal", cls="control")
def _g_jal(ctx):
    link = ctx.tmp()
    if ctx.in_function or ctx.depth >= 2 or ctx.src.bool(0.2):
        return [op("jal", rd=link, target=1)]  # to the next instruction: only links
    f = ctx.label()
    body = items(ctx.sub(reserve=(link,), function=True), 0, 4)
    ctx.shared["funcs"].append([Label(f)] + body + [op("jr", rs1=link)])
    return [op("jal", rd=link, target=f)]


@gen("jr", cls="control")
def _g_jr(ctx):
    r = ctx.tmp()
    skip = ctx.label()
    return [op("li", rd=r, imm=P.CodeRef(skip)), op("jr", rs1=r), op("halt"), Label(skip)]


@gen("loop", cls="control")
def _g_loop(ctx):
    c = ctx.tmp()
    top = ctx.label()
    body = items(ctx.sub(reserve=(c,)), 0, 3) if ctx.depth < 2 else []
    return set_reg(c, ctx.src.int(1, 4)) + [Label(top)] + body + [op("loop", rd=c, target=top)]


@gen("halt", cls="control")
def _g_halt(ctx):
    return [op("halt")]


@gen("nop", cls="control")
def _g_nop(ctx):
    return [op("nop")]


@gen("csrr", cls="sreg")
def _g_csrr(ctx):
    return [op("csrr", rd=ctx.rd(), sreg=ctx.src.choice(sorted(SREG.values())))]


def csr_value(src: Source) -> int:
    return value64(src)


@gen("csrw", cls="sreg")
def _g_csrw(ctx):
    # Every generator that uses a configuration register sets it just before, so any
    # value is fine here; csrr and the epilogue read it back.
    r, pre = _setup_operand(ctx)
    return pre + [op("csrw", sreg=SREG[ctx.src.choice(WRITABLE)], rs1=r)]


@gen("ldarg", cls="sreg")
def _g_ldarg(ctx):
    return [op("ldarg", rd=ctx.rd(), arg=ctx.src.int(0, P.NARGS - 1))]


LOAD_SIZE = {"lb": 1, "lbu": 1, "lh": 2, "lhu": 2, "lw": 4, "lwu": 4, "ld": 8}
STORE_SIZE = {"sb": 1, "sh": 2, "sw": 4, "sd": 8}


def _address(ctx: Ctx, addr: int, base: int) -> tuple[list, int]:
    """Set-up making ``imm(base)`` address ``addr``: the immediate is interesting and the
    base register holds the rest (wrapping modulo 2^64)."""
    if base == 0:
        return [], addr
    imm = ctx.src.choice([0, 0, 8, -8, 1, -1, 0x7FFFFFFF, -0x80000000, ctx.src.int(-64, 64)])
    return set_reg(base, (addr - imm) & MASK64), imm


def _mem(name):
    def fn(ctx):
        size = LOAD_SIZE.get(name) or STORE_SIZE[name]
        addr = ctx.src.choice([0, P.TEST_SRAM - size, ctx.src.int(0, P.TEST_SRAM // size - 1)
                               * size])
        use_zero = ctx.src.bool(0.15)
        base = 0 if use_zero else ctx.tmp()
        pre, imm = _address(ctx, addr, base)
        if name in LOAD_SIZE:
            rd = base if base and ctx.src.bool(0.3) else ctx.rd()
            return pre + [op(name, rd=rd, rs1=base, imm=imm)]
        rs2 = base if ctx.src.bool(0.2) else ctx.rs()
        return pre + [op(name, rs2=rs2, rs1=base, imm=imm)]
    return fn


for _n in list(LOAD_SIZE) + list(STORE_SIZE):
    gen(_n, cls="mem")(_mem(_n))


# ---- DMA ----

def region_address(ctx: Ctx, reg: int, offset: int, tmp: int, lane_reg: int | None = None
                   ) -> list:
    """reg = a device-memory region + offset: this instance's (PROGRAM_ID picks it), or
    with ``lane_reg`` the region of that lane of the case."""
    if lane_reg is None:
        pick = [op("csrr", rd=tmp, sreg=SREG["PROGRAM_ID"])]
    else:
        pick = [op("li", rd=tmp, imm=BaseRef()), op("add", rd=tmp, rs1=tmp, rs2=lane_reg)]
    return [op("ldarg", rd=reg, arg=0)] + pick + [
        op("muli", rd=tmp, rs1=tmp, imm=P.REGION),
        op("add", rd=reg, rs1=reg, rs2=tmp),
        op("addi", rd=reg, rs1=reg, imm=offset),
    ]


def _dma_size(ctx: Ctx, limit: int) -> int:
    return min(limit, ctx.src.choice([0, 1, 7, 8, 64, 65, limit, ctx.src.int(0, limit)]))


def _dma(name):
    def fn(ctx):
        s = ctx.src
        n = _dma_size(ctx, P.TEST_SRAM)
        sram = s.int(0, P.TEST_SRAM - n)
        off = s.int(0, P.REGION - n)
        va_r, t = ctx.tmps(2)
        sram_r, n_r = ctx.tmps(2, avoid=(va_r,))
        pre = region_address(ctx, va_r, off, t)
        if sram == n and s.bool(0.5):  # one register for both the SRAM address and size
            n_r = sram_r
            pre += set_reg(sram_r, sram)
        else:
            pre += set_reg(sram_r, sram) + set_reg(n_r, n)
        tag = s.int(0, 15)
        if name == "dma.ld":
            insn = op(name, rd=sram_r, rs1=va_r, rs2=n_r, imm=tag)
        else:
            insn = op(name, rd=va_r, rs1=sram_r, rs2=n_r, imm=tag)
        return pre + [insn] + _between(ctx, (va_r, sram_r, n_r)) + [_wait(ctx, tag)]
    return fn


def _between(ctx: Ctx, live) -> list:
    """Between a DMA's issue and its wait: only register work that leaves its operands
    alone (a portable program does not touch a DMA's buffers before the wait)."""
    if not ctx.src.bool(0.3):
        return []
    mid = items(ctx.sub(reserve=live), 0, 2, simple=True)
    return [x for x in mid if not _touches_memory(x)]


def _wait(ctx: Ctx, tag: int) -> Op:
    return op("fence") if ctx.src.bool(0.2) else op("dma.wait", imm=tag)


def _touches_memory(x) -> bool:
    return isinstance(x, Op) and (x.name in LOAD_SIZE or x.name in STORE_SIZE
                                  or CLASS.get(x.name) in ("dma", "vector", "matrix", "sync")
                                  or x.name == "halt") or isinstance(x, Label)


gen("dma.ld", cls="dma")(_dma("dma.ld"))
gen("dma.st", cls="dma")(_dma("dma.st"))


@gen("dma.wait", cls="dma")
def _g_wait(ctx):
    return [op("dma.wait", imm=ctx.src.int(0, 15))]


def stride_choice(ctx: Ctx, size: int, align: int = 1) -> int:
    """A row stride for rows of ``size`` bytes: dense, padded, 0 (one row repeated),
    overlapping, or negative (rows going down); a multiple of ``align``."""
    s = ctx.src
    st = s.choice([size, size, size + align * s.int(1, 4), 0, -size, -size - align,
                   align * s.int(0, max(1, size // align)), size * 2])
    return st - st % align if st >= 0 else -((-st) - (-st) % align)


def place(ctx: Ctx, rows: int, stride: int, size: int, align: int, limit: int) -> int | None:
    """A start address (a multiple of ``align``) putting ``rows`` rows of ``size`` bytes,
    ``stride`` apart, inside ``[0, limit)``; None if they cannot fit."""
    last = (rows - 1) * stride if rows else 0
    lo = -min(0, last)
    hi = limit - size - max(0, last)
    lo = -(-lo // align) * align
    if hi < lo:
        return None
    return lo + align * ctx.src.int(0, (hi - lo) // align)


def set_csr(ctx: Ctx, name: str, value: int, tmp: int) -> list:
    return set_reg(tmp, value & MASK64) + [op("csrw", sreg=SREG[name], rs1=tmp)]


def _dma2(name):
    def fn(ctx):
        s = ctx.src
        for _ in range(20):
            rows = s.choice([0, 1, 2, 3, 4, 5, 8, s.int(1, 16)])
            n = s.choice([0, 1, 4, 7, 8, 16, 33, 64, s.int(1, 128)])
            sst, dst = stride_choice(ctx, n), stride_choice(ctx, n)
            # SRAM side and device side of each row.
            if name == "dma.ld2":
                sram_stride, dev_stride = dst, sst
            else:
                sram_stride, dev_stride = sst, dst
            sram = place(ctx, rows, sram_stride, n, 1, P.TEST_SRAM)
            dev = place(ctx, rows, dev_stride, n, 1, P.REGION)
            if sram is not None and dev is not None:
                break
        else:
            rows, n, sst, dst, sram, dev = 0, 0, 0, 0, 0, 0
        t = ctx.tmp()
        va_r, tt, sram_r, n_r, rows_r = ctx.tmps(5, avoid=(t,))
        pre = set_csr(ctx, "DMA_SSTRIDE", sst, t) + set_csr(ctx, "DMA_DSTRIDE", dst, t)
        pre += region_address(ctx, va_r, dev, tt)
        pre += set_reg(sram_r, sram) + set_reg(n_r, n) + set_reg(rows_r, rows)
        tag = s.int(0, 15)
        if name == "dma.ld2":
            insn = op(name, rd=sram_r, rs1=va_r, rs2=n_r, rs3=rows_r, imm=tag)
        else:
            insn = op(name, rd=va_r, rs1=sram_r, rs2=n_r, rs3=rows_r, imm=tag)
        return pre + [insn] + _between(ctx, (va_r, sram_r, n_r, rows_r)) + [_wait(ctx, tag)]
    return fn


gen("dma.ld2", cls="dma")(_dma2("dma.ld2"))
gen("dma.st2", cls="dma")(_dma2("dma.st2"))


# ---- vector unit ----

_FII = "f32 i32 i16 i8"
_III = "i32 i16 i8"
VEC_BINARY = {
    "vadd": _FII, "vsub": _FII, "vmul": _FII, "vdiv": "f32", "vmin": _FII, "vmax": _FII,
    "vand": _III, "vor": _III, "vxor": _III, "vshl": _III, "vshr": _III, "vsra": _III,
    "vcmpeq": _FII, "vcmplt": _FII, "vcmple": _FII, "vsel": _III,
}
VEC_UNARY = {
    "vabs": _FII, "vneg": _FII, "vrelu": "f32", "vexp": "f32", "vtanh": "f32",
    "vsigmoid": "f32", "vgelu": "f32", "vrsqrt": "f32", "vrecip": "f32", "vsqrt": "f32",
}
TYPES = ("f32", "i32", "i16", "i8", "f16", "bf16")


def vec_layout(name: str) -> tuple[list[tuple[str, str, bool]], str]:
    """The SRAM operands of a vector instruction in check order, as (field, element type,
    is_write), and the field holding the count."""
    base, *ts = name.split(".")
    if base in VEC_BINARY:
        t = ts[0]
        return [("rs1", t, False), ("rs2", t, False), ("rd", t, True)], "rs3"
    if base in VEC_UNARY:
        return [("rs1", ts[0], False), ("rd", ts[0], True)], "rs2"
    if base == "vcvt":
        return [("rs1", ts[1], False), ("rd", ts[0], True)], "rs2"
    if base == "vrequant":
        return [("rs1", "i32", False), ("rd", ts[0], True)], "rs2"
    if base == "vbcast":
        return [("rd", ts[0], True)], "rs2"
    raise KeyError(name)


def vector_count(ctx: Ctx, esize: int, limit_bytes: int) -> int:
    most = limit_bytes // esize
    return min(most, ctx.src.choice([0, 1, 2, 3, 4, 7, 8, 15, 16, 17, 31, 33,
                                     ctx.src.int(0, most), most, ctx.src.int(0, 64)]))


def vector_addresses(ctx: Ctx, layout, count: int, mode: str = "apart") -> list[int]:
    """An aligned in-bounds address per operand; by ``mode`` equal or overlapping (a
    source shifted a few elements either way)."""
    addrs = []
    for _f, t, _w in layout:
        e = ESIZE[t]
        top = (P.TEST_SRAM - count * e) // e
        addrs.append(ctx.src.int(0, top) * e)
    if len(layout) < 2:
        return addrs
    d_e = ESIZE[layout[-1][1]]
    d_top = (P.TEST_SRAM - count * d_e) // d_e * d_e
    srcs = range(len(layout) - 1)
    if mode == "dst=src":
        a = addrs[ctx.src.choice(srcs)]
        addrs[-1] = min(a - a % d_e, d_top)
    elif mode == "src=src" and len(layout) > 2 and layout[0][1] == layout[1][1]:
        addrs[1] = addrs[0]
    elif mode == "shifted":
        a = addrs[ctx.src.choice(srcs)] + ctx.src.choice([-2, -1, 1, 2]) * d_e
        addrs[-1] = min(max(a - a % d_e, 0), d_top)
    return addrs


def poke(ctx: Ctx, addr: int, t: str, count: int, pool=None) -> list:
    """Stores a few interesting element values of type ``t`` into ``count`` elements at
    ``addr`` (before the operand registers are set)."""
    if count == 0 or not ctx.src.bool(0.6):
        return []
    e = ESIZE[t]
    store = {1: "sb", 2: "sh", 4: "sw"}[e]
    r = ctx.tmp()
    out = []
    for _ in range(ctx.src.int(1, 4)):
        i = ctx.src.int(0, count - 1)
        v = ctx.src.choice(pool or ELEM_SPECIAL[t])
        out += set_reg(r, v) + [op(store, rs2=r, rs1=0, imm=addr + i * e)]
    return out


def operand_regs(ctx: Ctx, fields: Sequence[str], values: Sequence[int]) -> tuple[dict, list]:
    """Registers holding ``values`` for ``fields``; equal values sometimes share a
    register (aliased operands), a zero sometimes comes from r0."""
    regs: dict[int, int] = {}
    ops: dict[str, int] = {}
    pre: list = []
    used: set[int] = set()
    for f, v in zip(fields, values):
        if v in regs and ctx.src.bool(0.5):
            ops[f] = regs[v]
            continue
        r = 0 if v == 0 and ctx.src.bool(0.3) else ctx.tmp(avoid=used)
        if r:
            used.add(r)
            pre += set_reg(r, v)
        regs[v] = r
        ops[f] = r
    return ops, pre


def vector_op(ctx: Ctx, name: str) -> list:
    """Set-up and one vector instruction over in-bounds SRAM operands."""
    layout, count_field = vec_layout(name)
    widest = max(ESIZE[t] for _f, t, _w in layout)
    mode = ctx.src.weighted([(3, "apart"), (1, "dst=src"), (1, "src=src"), (1, "shifted")])
    # Overlapping operands are computed element by element: keep them short.
    count = vector_count(ctx, widest, P.TEST_SRAM if mode == "apart" else 48 * widest)
    addrs = vector_addresses(ctx, layout, count, mode)
    pre = []
    for (f, t, w), a in zip(layout, addrs):
        if not w:
            pool = [0, 0, 0xFFFFFFFF, 1] if (name.startswith("vsel") and f == "rs1") else None
            pre += poke(ctx, a, t, count, pool)
    fields = [f for f, _t, _w in layout] + [count_field]
    ops, setup = operand_regs(ctx, fields, addrs + [count])
    pre += setup
    if name.startswith("vbcast"):
        r, vpre = _setup_operand(ctx, avoid=tuple(ops.values()))
        pre += vpre
        ops["rs1"] = r
    if name.startswith("vrequant"):
        t = ctx.tmp(avoid=tuple(ops.values()))
        pre += requant_setup(ctx, t)
    return pre + [op(name, **ops)]


def requant_setup(ctx: Ctx, tmp: int, shift: int | None = None) -> list:
    s = ctx.src
    mult = s.choice([0, 1, -1, 2, 1 << 30, 0x7FFFFFFF, -(1 << 31), 1518500250,
                     s.int(-(1 << 31), (1 << 31) - 1)])
    if shift is None:
        shift = s.choice([0, 1, 2, 15, 31, 32, 40, 62, s.int(0, 62)])
    zp = s.choice([0, 1, -1, 127, -128, 32767, -32768, 0x7FFFFFFF, -(1 << 31),
                   s.int(-300, 300)])
    hi = s.choice([0, 0, s.int(0, MASK64) & ~0xFFFFFFFF])  # upper bits are ignored
    return (set_csr(ctx, "RQ_MULT", (mult & 0xFFFFFFFF) | hi, tmp)
            + set_csr(ctx, "RQ_SHIFT", shift, tmp)
            + set_csr(ctx, "RQ_ZP", (zp & 0xFFFFFFFF) | hi, tmp))


VECTOR_NAMES: list[str] = []
for _b, _ts in list(VEC_BINARY.items()) + list(VEC_UNARY.items()):
    VECTOR_NAMES += [f"{_b}.{_t}" for _t in _ts.split()]
VECTOR_NAMES += [f"vbcast.{_t}" for _t in ("i32", "i16", "i8")]
VECTOR_NAMES += [f"vcvt.{_d}.{_s}" for _d in TYPES for _s in TYPES if _d != _s]
VECTOR_NAMES += ["vrequant.i8", "vrequant.i16"]
def _vector(name):
    return lambda ctx: vector_op(ctx, name)


for _n in VECTOR_NAMES:
    gen(_n, cls="vector")(_vector(_n))


def _reduction(name):
    def fn(ctx):
        t = name.split(".")[1]
        s = ctx.src
        for _ in range(20):
            rows = s.choice([0, 1, 2, 3, 4, 8, s.int(1, 16)])
            cols = s.choice([0, 1, 2, 3, 5, 8, 16, 17, s.int(1, 64)])
            stride = stride_choice(ctx, 4 * cols, 4)
            src = place(ctx, rows, stride, 4 * cols, 4, P.TEST_SRAM)
            if src is not None:
                break
        else:
            rows, cols, stride, src = 0, 0, 0, 0
        dst = 4 * s.int(0, (P.TEST_SRAM - 4 * rows) // 4)
        if rows and s.bool(0.3):  # the results land on the source rows
            dst = min(src, P.TEST_SRAM - 4 * rows)
        pre = []
        if cols:
            for r in range(min(rows, 3)):
                pre += poke(ctx, (src + r * stride) & MASK64, t, cols)
        tmp = ctx.tmp()
        pre += set_csr(ctx, "V_STRIDE", stride, tmp)
        ops, setup = operand_regs(ctx, ["rs1", "rd", "rs2", "rs3"], [src, dst, rows, cols])
        return pre + setup + [op(name, **ops)]
    return fn


for _n in ("vredsum.f32", "vredsum.i32", "vredmax.f32", "vredmax.i32"):
    gen(_n, cls="vector")(_reduction(_n))


# ---- matrix unit ----

def matmul_setup(ctx: Ctx, t: str, dims=None, bad_row: str | None = None) -> tuple[list, dict]:
    """Configuration and operand registers for an in-bounds tile matmul of element type
    ``t`` (``dims`` = (M, N, K) to force them)."""
    s = ctx.src
    e = ESIZE[t]
    for _ in range(30):
        if dims:
            M, N, K = dims
        else:
            pick = [0, 1, 2, 3, 4, 5, 8, s.int(1, 8), s.int(1, 16)]
            M, N, K = s.choice(pick), s.choice(pick), s.choice(pick)
            if 0 in (M, N, K) and s.bool(0.7):
                continue
        lda, ldb = stride_choice(ctx, K * e, e), stride_choice(ctx, N * e, e)
        ldc = s.choice([4 * N, 4 * N, 4 * N + 4 * s.int(1, 3), 0, 4 * max(N - 1, 0),
                        -4 * N])
        a = place(ctx, M, lda, K * e, e, P.TEST_SRAM)
        b = place(ctx, K, ldb, N * e, e, P.TEST_SRAM)
        c = place(ctx, M, ldc, 4 * N, 4, P.TEST_SRAM)
        if None in (a, b, c):
            continue
        break
    else:
        M = N = K = 0
        lda = ldb = ldc = a = b = c = 0
    mode = s.weighted([(4, "apart"), (1, "c=a"), (1, "c=b"), (1, "a=b")])
    if mode == "c=a" and a % 4 == 0 and place_ok(a, M, ldc, 4 * N):
        c = a
    elif mode == "c=b" and b % 4 == 0 and place_ok(b, M, ldc, 4 * N):
        c = b
    elif mode == "a=b" and place_ok(a, K, ldb, N * e):
        b = a
    pre = []
    if K:
        for r in range(min(M, 2)):
            pre += poke(ctx, a + r * lda, t, K)
        for r in range(min(K, 2)):
            pre += poke(ctx, b + r * ldb, t, N)
    tmp = ctx.tmp()
    for nm, v in (("MM_M", M), ("MM_N", N), ("MM_K", K), ("MM_LDA", lda), ("MM_LDB", ldb),
                  ("MM_LDC", ldc)):
        pre += set_csr(ctx, nm, v, tmp)
    ops, setup = operand_regs(ctx, ["rs1", "rs2", "rd"], [a, b, c])
    return pre + setup, ops


def place_ok(start: int, rows: int, stride: int, size: int) -> bool:
    lo = min(start, start + (rows - 1) * stride) if rows else start
    hi = max(start, start + (rows - 1) * stride) + size if rows else start
    return lo >= 0 and hi <= P.TEST_SRAM


def _matmul(name):
    def fn(ctx):
        pre, ops = matmul_setup(ctx, name.split(".")[1])
        return pre + [op(name, **ops)]
    return fn


MATRIX_NAMES = [f"{k}.{t}" for k in ("mm", "mma") for t in ("f32", "i8", "f16", "bf16")]
for _n in MATRIX_NAMES:
    gen(_n, cls="matrix")(_matmul(_n))


# ---- synchronisation (within one instance; see gen_group_case for several) ----

@gen("fence", cls="sync")
def _g_fence(ctx):
    return [op("fence")]


@gen("barrier", cls="sync")
def _g_barrier(ctx):
    # Alone in its launch, or beside instances that do not wait for it: passes.
    return [op("barrier")]


def _sem_reg(ctx: Ctx, index: int, avoid=()) -> tuple[int, list]:
    r = ctx.tmp(avoid)
    return r, set_reg(r, index)


@gen("sem.signal", cls="sync")
def _g_signal(ctx):
    r, pre = _sem_reg(ctx, ctx.src.int(0, 15))
    return pre + [op("sem.signal", rs1=r)]


@gen("sem.wait", cls="sync")
def _g_sem_wait(ctx):
    # Signal first, then wait: balanced within the instance, so it never blocks for long
    # whoever else shares the semaphore.
    i = ctx.src.int(0, 15)
    r, pre = _sem_reg(ctx, i)
    mid = items(ctx.sub(), 0, 2, simple=True) if ctx.src.bool(0.3) else []
    mid = [x for x in mid if not (isinstance(x, Op) and x.name in ("sem.wait", "barrier"))]
    return pre + [op("sem.signal", rs1=r)] + mid + set_reg(r, i) + [op("sem.wait", rs1=r)]


# --------------------------------------------------------------------------- traps


TRAPS: dict[str, Callable[[Ctx], list]] = {}


def trap(name):
    def reg(fn):
        TRAPS[name] = fn
        return fn
    return reg


def _illegal_word(src: Source) -> int:
    from . import refmodel as rm
    for _ in range(100):
        kind = src.weighted([(2, "random"), (2, "flip"), (1, "sreg"), (1, "tag"),
                             (1, "opcode"), (1, "csrw"), (1, "fn")])
        if kind == "random":
            w = src.int(0, MASK64)
        elif kind == "flip":
            d = src.choice(T.INSNS)
            free = [b for b in range(64) if (d["mask"] >> b) & 1 and not (d["match"] >> b) & 1]
            w = d["match"] | (1 << src.choice(free)) if free else src.int(0, MASK64)
        elif kind == "sreg":
            w = (op_word("csrr", rd=src.int(0, 31), sreg=0)
                 | (src.choice([len(SREG), len(SREG) + 1, 0xFFFF, 0xFFFFFFFF,
                                src.int(len(SREG), 0xFFFFFFFF)]) << 32))
        elif kind == "csrw":
            ro = [sid for n, sid in SREG.items() if n not in WRITABLE]
            w = (op_word("csrw", rs1=src.int(0, 31))
                 | (src.choice(ro + [len(SREG), 0xFFFFFFFF, src.int(len(SREG), 0xFFFFFFFF)])
                    << 32))
        elif kind == "tag":
            tag = src.choice([16, 17, 0xFFFFFFFF, 0x80000000, src.int(16, 0xFFFFFFFF)])
            w = op_word(src.choice(["dma.ld", "dma.st", "dma.wait", "dma.ld2", "dma.st2"])) \
                | (tag << 32)
        elif kind == "fn":  # a vector/matrix opcode with an element type it lacks
            d = src.choice([d for d in T.INSNS if "fn" in d["fixed"]])
            w = (d["match"] & ~(0xF << 28) & ~(0xF << 32)) | (src.int(0, 15) << 28) \
                | (src.int(0, 15) << 32 if src.bool(0.3) else d["match"] & (0xF << 32))
        else:
            used = {d["opcode"] for d in T.INSNS}
            free_ops = [o for o in range(256) if o not in used]
            w = src.choice(free_ops) | (src.int(0, MASK64) & ~0xFF if src.bool() else 0)
        if rm.decode(w) is None:
            return w
    return 0  # the all-zero word is illegal (opcode 0 is never assigned)


def op_word(name: str, **ops) -> int:
    d = next(d for d in T.INSNS if d["name"] == name)
    w = d["match"]
    for f, v in ops.items():
        lsb, width, _k = T.FIELDS[f]
        w |= (v & ((1 << width) - 1)) << lsb
    return w


@trap("ILLEGAL_INSN")
def _t_illegal(ctx):
    return [Word(_illegal_word(ctx.src))]


def _oob_addr(ctx: Ctx, size: int, align: int) -> int:
    """An ``align``-aligned address whose ``size`` bytes do not fit in the SRAM (some
    where address + size overflows 64 bits)."""
    sram = P.SRAM_BYTES
    a = ctx.src.choice([sram, sram - align, 1 << 63, (1 << 64) - align, 1 << 32,
                        ctx.src.int(sram, 1 << 40), ctx.src.int(0, MASK64)])
    a -= a % align
    return sram if a + size <= sram else a


@trap("SRAM_OOB")
def _t_sram_oob(ctx):
    kind = ctx.src.weighted([(2, "scalar"), (2, "vector"), (1, "dma"), (1, "dma2"),
                             (1, "reduce"), (1, "matrix")])
    if kind == "scalar":
        name = ctx.src.choice(list(LOAD_SIZE) + list(STORE_SIZE))
        size = LOAD_SIZE.get(name) or STORE_SIZE[name]
        base = ctx.tmp()
        pre, imm = _address(ctx, _oob_addr(ctx, size, size), base)
        if name in LOAD_SIZE:
            return pre + [op(name, rd=ctx.rd(), rs1=base, imm=imm)]
        return pre + [op(name, rs2=ctx.rs(), rs1=base, imm=imm)]
    if kind == "vector":
        return vector_trap(ctx, "SRAM_OOB")
    if kind == "reduce":
        return reduce_trap(ctx, "SRAM_OOB")
    if kind == "matrix":
        return matrix_trap(ctx, "SRAM_OOB")
    if kind == "dma2":
        return dma2_trap(ctx, "SRAM_OOB")
    n = ctx.src.choice([1, 8, P.SRAM_BYTES, P.SRAM_BYTES + 1, 1 << 63, MASK64])
    sram = ctx.src.choice([P.SRAM_BYTES - 1, P.SRAM_BYTES, 0, MASK64, 1 << 40])
    if sram + n <= P.SRAM_BYTES:
        sram = P.SRAM_BYTES
    return _dma_with(ctx, ctx.src.choice(["dma.ld", "dma.st"]), sram, n, 0)


def _dma_with(ctx: Ctx, name: str, sram: int, n: int, region_off: int | None,
              va: int | None = None) -> list:
    va_r, t = ctx.tmps(2)
    s_r, n_r = ctx.tmps(2, avoid=(va_r,))
    pre = region_address(ctx, va_r, region_off, t) if va is None else set_reg(va_r, va)
    pre += set_reg(s_r, sram) + set_reg(n_r, n)
    tag = ctx.src.int(0, 15)
    if name == "dma.ld":
        return pre + [op(name, rd=s_r, rs1=va_r, rs2=n_r, imm=tag)]
    return pre + [op(name, rd=va_r, rs1=s_r, rs2=n_r, imm=tag)]


@trap("MISALIGNED")
def _t_misaligned(ctx):
    kind = ctx.src.weighted([(3, "scalar"), (2, "vector"), (1, "reduce"), (1, "matrix")])
    if kind == "vector":
        return vector_trap(ctx, "MISALIGNED")
    if kind == "reduce":
        return reduce_trap(ctx, "MISALIGNED")
    if kind == "matrix":
        return matrix_trap(ctx, "MISALIGNED")
    name = ctx.src.choice(["lh", "lhu", "lw", "lwu", "ld", "sh", "sw", "sd"])
    size = LOAD_SIZE.get(name) or STORE_SIZE[name]
    a = ctx.src.choice([ctx.src.int(0, P.TEST_SRAM), P.SRAM_BYTES + 1, MASK64,
                        ctx.src.int(0, MASK64)])
    if a % size == 0:
        a += ctx.src.int(1, size - 1)
    a &= MASK64
    base = ctx.tmp()
    pre, imm = _address(ctx, a, base)
    if name in LOAD_SIZE:
        return pre + [op(name, rd=ctx.rd(), rs1=base, imm=imm)]
    return pre + [op(name, rs2=ctx.rs(), rs1=base, imm=imm)]


def _bad_operand_address(ctx: Ctx, want: str, e: int, count: int) -> int:
    """An address for an operand of ``count`` elements of ``e`` bytes that fails with
    ``want``: misaligned (e > 1), or aligned but (partly) outside the SRAM."""
    s = ctx.src
    sram = P.SRAM_BYTES
    if want == "MISALIGNED":
        a = s.choice([s.int(0, P.TEST_SRAM), sram + 1, MASK64, s.int(0, MASK64)])
        return a + s.int(1, e - 1) if a % e == 0 else a
    fits = count * e <= sram
    if fits:
        a = s.choice([sram - count * e + e * s.int(1, count), 1 << 63, (1 << 64) - e,
                      1 << 40, sram])
    else:
        a = s.choice([0, e, sram - e, sram, 1 << 62])
    a -= a % e
    return a


def vector_trap(ctx: Ctx, want: str, name: str | None = None) -> list:
    """A vector instruction whose operand ``k`` (in check order) is misaligned or outside
    the SRAM while the operands before it are fine; some counts make the byte size
    overflow 64 bits."""
    s = ctx.src
    names = [n for n in VECTOR_NAMES
             if want != "MISALIGNED" or any(ESIZE[t] > 1 for _f, t, _w in vec_layout(n)[0])]
    name = name or s.choice(names)
    layout, count_field = vec_layout(name)
    sram = P.SRAM_BYTES
    widest = max(ESIZE[t] for _f, t, _w in layout)
    count = s.choice([1, 4, 64, sram // widest, sram // widest + 1, 1 << 62, (1 << 62) + 1,
                      1 << 63, MASK64])
    cands = [k for k, (_f, t, _w) in enumerate(layout)
             if want != "MISALIGNED" or ESIZE[t] > 1]
    fits_all = all(count * ESIZE[t] <= sram for _f, t, _w in layout)
    k = s.choice(cands) if fits_all else next(
        (k for k in cands if count * ESIZE[layout[k][1]] > sram), cands[0])
    if not fits_all and want == "MISALIGNED":
        k = cands[0]
        count = min(count, sram // widest)
        fits_all = True
    addrs = []
    for i, (_f, t, _w) in enumerate(layout):
        e = ESIZE[t]
        if i < k:
            addrs.append(e * s.int(0, max(0, (P.TEST_SRAM - e * count) // e)))
        elif i == k:
            addrs.append(_bad_operand_address(ctx, want, e, count))
        else:
            addrs.append(s.int(0, MASK64))
    fields = [f for f, _t, _w in layout] + [count_field]
    regs = ctx.tmps(len(fields) + 1)
    pre = []
    ops = {}
    for f, r, v in zip(fields, regs, addrs + [count]):
        pre += set_reg(r, v)
        ops[f] = r
    if name.startswith("vbcast"):
        ops["rs1"] = ctx.rs()
    if name.startswith("vrequant"):
        pre += requant_setup(ctx, regs[-1])
    return pre + [op(name, **ops)]


def reduce_trap(ctx: Ctx, want: str) -> list:
    """A reduction with a bad source row r (misaligned by the stride or the start, or out
    of the SRAM), or a bad destination."""
    s = ctx.src
    name = s.choice(["vredsum.f32", "vredsum.i32", "vredmax.f32", "vredmax.i32"])
    rows, cols = s.int(1, 6), s.int(1, 16)
    sram = P.SRAM_BYTES
    if s.bool(0.3):  # the destination
        stride = 4 * cols
        src = place(ctx, rows, stride, 4 * cols, 4, P.TEST_SRAM) or 0
        dst = _bad_operand_address(ctx, want, 4, rows)
    elif want == "MISALIGNED":
        if rows > 1 and s.bool():  # row 1 by the stride
            stride, src = s.choice([4 * cols + s.int(1, 3), s.int(1, 3)]), 4 * s.int(0, 16)
        else:
            stride, src = 4 * cols, 4 * s.int(0, 16) + s.int(1, 3)
        dst = 0
    else:
        kind = s.choice(["dense", "far", "down"])
        if kind == "dense":  # the last row runs past the end
            stride = 4 * cols
            src = sram - 4 * cols * rows + 4 * s.int(1, cols)
        else:  # row 1 jumps out (a huge stride, or below 0: wraps to a huge address)
            rows = max(rows, 2)
            src = 4 * s.int(0, 16)
            stride = s.choice([sram, 1 << 62]) if kind == "far" else -(src + 4 * s.int(1, 8))
        dst = 0
    tmp = ctx.tmp()
    pre = set_csr(ctx, "V_STRIDE", stride, tmp)
    regs = ctx.tmps(4)
    pre += set_reg(regs[0], src) + set_reg(regs[1], dst) + set_reg(regs[2], rows) + \
        set_reg(regs[3], cols)
    return pre + [op(name, rs1=regs[0], rd=regs[1], rs2=regs[2], rs3=regs[3])]


def matrix_trap(ctx: Ctx, want: str) -> list:
    """A matmul with a bad row of A, B or C (by its start or its stride)."""
    s = ctx.src
    t = s.choice(["f32", "i8", "f16", "bf16"] if want != "MISALIGNED" else ["f32", "f16", "bf16"])
    name = s.choice(["mm", "mma"]) + "." + t
    M, N, K = s.int(1, 4), s.int(1, 4), s.int(1, 4)
    pre, ops = matmul_setup(ctx, t, dims=(M, N, K))
    which = s.choice(["rs1", "rs2", "rd"])
    e = 4 if which == "rd" else ESIZE[t]
    row = {"rs1": K, "rs2": N, "rd": N}[which]
    r = ctx.tmp(avoid=tuple(ops.values()))
    ops = dict(ops)
    if want == "MISALIGNED" or s.bool(0.5):  # the first row
        pre += set_reg(r, _bad_operand_address(ctx, want, e, row))
        ops[which] = r
        return pre + [op(name, **ops)]
    # A stride that walks row 1 out of the SRAM (M, K >= 2 so there is a row 1).
    ld = {"rs1": "MM_LDA", "rs2": "MM_LDB", "rd": "MM_LDC"}[which]
    rows_of = {"rs1": "MM_M", "rs2": "MM_K", "rd": "MM_M"}[which]
    pre += set_csr(ctx, ld, s.choice([P.SRAM_BYTES, 1 << 40, -(1 << 20)]) // e * e, r)
    pre += set_csr(ctx, rows_of, s.int(2, 4), r)
    return pre + [op(name, **ops)]


def dma2_trap(ctx: Ctx, want: str, name: str | None = None) -> list:
    """A 2-D DMA whose SRAM rows (SRAM_OOB) or device rows (PAGE_FAULT) leave the allowed
    range at row ``r_bad``, the rows before it (and all SRAM rows, for PAGE_FAULT) fine."""
    s = ctx.src
    name = name or s.choice(["dma.ld2", "dma.st2"])
    n = s.choice([1, 8, 64, 100])
    r_bad = s.int(0, 4)
    rows = s.int(r_bad + 1, r_bad + 3)
    sram_stride, dev_stride, sram, dev = n, n, 0, 0
    if want == "SRAM_OOB":
        kind = s.choice(["dense", "jump"]) if r_bad else "dense"
        if kind == "dense":  # row r_bad starts at or crosses the end
            sram = P.SRAM_BYTES - n * r_bad - s.int(0, n - 1)
        else:
            sram_stride = s.choice([P.SRAM_BYTES, 1 << 63])
            sram, rows = s.int(0, P.TEST_SRAM - n), max(rows, 2)
    else:  # device rows run into the unmapped page after the case's buffer, or above 2^40
        kind = s.choice(["dense", "jump"]) if r_bad else "dense"
        if kind == "dense":
            dev = P.SINGLE_MEM - n * r_bad - s.int(0, n - 1)
        else:
            dev_stride = s.choice([P.SINGLE_MEM, 1 << 40])
            dev, rows = s.int(0, P.REGION - n), max(rows, 2)
    t = ctx.tmp()
    va_r, tt, sram_r, n_r, rows_r = ctx.tmps(5, avoid=(t,))
    sst, dst = (dev_stride, sram_stride) if name == "dma.ld2" else (sram_stride, dev_stride)
    pre = set_csr(ctx, "DMA_SSTRIDE", sst, t) + set_csr(ctx, "DMA_DSTRIDE", dst, t)
    pre += region_address(ctx, va_r, 0, tt)
    pre += set_reg(tt, dev) + [op("add", rd=va_r, rs1=va_r, rs2=tt)]
    pre += set_reg(sram_r, sram) + set_reg(n_r, n) + set_reg(rows_r, rows)
    tag = s.int(0, 15)
    if name == "dma.ld2":
        return pre + [op(name, rd=sram_r, rs1=va_r, rs2=n_r, rs3=rows_r, imm=tag)]
    return pre + [op(name, rd=va_r, rs1=sram_r, rs2=n_r, rs3=rows_r, imm=tag)]


@trap("PAGE_FAULT")
def _t_page_fault(ctx):
    s = ctx.src
    name = s.choice(["dma.ld", "dma.st"])
    kind = s.weighted([(2, "guard"), (1, "high"), (1, "const"), (2, "2d")])
    n = s.choice([1, 8, 64, 100, P.TEST_SRAM])
    sram = s.int(0, P.TEST_SRAM - n)
    if kind == "2d":
        return dma2_trap(ctx, "PAGE_FAULT")
    if kind == "guard":  # running into the unmapped page after the case's buffer
        off = s.choice([P.SINGLE_MEM, P.SINGLE_MEM - n // 2, P.SINGLE_MEM - 1,
                        P.SINGLE_MEM + s.int(0, P.PAGE_SIZE - 1)])
        if off + n <= P.SINGLE_MEM:
            off = P.SINGLE_MEM
        return _dma_with(ctx, name, sram, n, off)
    if kind == "high":  # beyond the 40-bit device address space
        return _dma_with(ctx, name, sram, n, None,
                         s.choice([1 << 40, (1 << 40) + 8, 1 << 63, MASK64 - 7,
                                   s.int(1 << 40, MASK64)]))
    # a write into the read-only constant section
    r, s_r, n_r = ctx.tmps(3)
    return ([op("csrr", rd=r, sreg=SREG["CONST_PTR"]), op("addi", rd=r, rs1=r,
                                                           imm=s.choice([0, 8, 1]))]
            + set_reg(s_r, sram) + set_reg(n_r, n)
            + [op("dma.st", rd=r, rs1=s_r, rs2=n_r, imm=0)])


@trap("BAD_ARG")
def _t_bad_arg(ctx):
    return [op("ldarg", rd=ctx.rd(), arg=ctx.src.choice(
        [P.NARGS, P.NARGS + 1, 31, 32, 0xFFFFFFFF, ctx.src.int(P.NARGS, 0xFFFFFFFF)]))]


@trap("PC_OOB")
def _t_pc_oob(ctx):
    s = ctx.src
    kind = s.choice(["jmp", "branch", "jr", "jal", "loop", "back"])
    k = s.choice([0, 1, 2, 1000, s.int(0, 1 << 20)])
    if kind == "jmp":
        return [op("jmp", target=EndRef(k))]
    if kind == "back":  # before instruction 0: the pc wraps
        return [op("jmp", target=-(1 << 31))]
    if kind == "branch":
        a = ctx.tmp()
        return set_reg(a, 5) + [op(s.choice(["beq", "bge", "bgeu"]), rs1=a, rs2=a,
                                   target=EndRef(k))]
    if kind == "jal":
        return [op("jal", rd=ctx.rd(), target=EndRef(k))]
    if kind == "loop":
        c = ctx.tmp()
        return set_reg(c, s.int(2, 5)) + [op("loop", rd=c, target=EndRef(k))]
    r = ctx.tmp()
    return set_reg(r, s.choice([1 << 24, 1 << 63, MASK64, s.int(1 << 24, MASK64)])) + [
        op("jr", rs1=r)]


@trap("WATCHDOG")
def _t_watchdog(ctx):
    top = ctx.label()
    kind = ctx.src.choice(["jmp", "loop0", "self"])
    if kind == "self":
        return [Label(top), op("jmp", target=top)]
    if kind == "loop0":  # a counted loop from 0 runs 2^64 times
        c = ctx.tmp()
        body = items(ctx.sub(reserve=(c,)), 0, 3, simple=True)
        return [op("li", rd=c, imm=0), Label(top)] + body + [op("loop", rd=c, target=top)]
    body = items(ctx.sub(), 0, 3, simple=True)
    return [Label(top)] + body + [op("jmp", target=top)]


@trap("BAD_OPERAND")
def _t_bad_operand(ctx):
    s = ctx.src
    kind = s.choice(["mm", "rq", "sem"])
    if kind == "mm":
        t = s.choice(["f32", "i8", "f16", "bf16"])
        pre, ops = matmul_setup(ctx, t)
        r = ctx.tmp(avoid=tuple(ops.values()))
        for nm in s.choice([["MM_M"], ["MM_N"], ["MM_K"], ["MM_K", "MM_M"], ["MM_N", "MM_M"]]):
            pre += set_csr(ctx, nm, s.choice([1025, 1 << 32, MASK64, s.int(1025, MASK64)]), r)
        return pre + [op(s.choice(["mm.", "mma."]) + t, **ops)]
    if kind == "rq":
        name = s.choice(["vrequant.i8", "vrequant.i16"])
        pre = vector_op(ctx, name)
        ins = pre[-1]
        r = ctx.tmp(avoid=(ins.get("rd"), ins.get("rs1")))
        extra = set_csr(ctx, "RQ_SHIFT", s.choice([63, 64, 1 << 40, MASK64,
                                                   s.int(63, MASK64)]), r)
        # A count of 0 does nothing; any other, even an out-of-bounds one, meets the shift
        # check first.
        c = ctx.tmp(avoid=(ins.get("rd"), ins.get("rs1"), r))
        extra += set_reg(c, s.choice([1, 5, 48, MASK64]))
        return pre[:-1] + extra + [op(name, rd=ins.get("rd"), rs1=ins.get("rs1"), rs2=c)]
    r = ctx.tmp()
    return set_reg(r, s.choice([16, 17, 1 << 32, MASK64, s.int(16, MASK64)])) + [
        op(s.choice(["sem.signal", "sem.wait"]), rs1=r)]


@trap("DEADLOCK")
def _t_deadlock(ctx):
    # Waiting on a semaphore nobody will signal (the case is alone in its launch).
    s = ctx.src
    i = s.int(0, 15)
    r = ctx.tmp()
    pre = set_reg(r, i)
    if s.bool(0.3):  # one count, taken, then a second wait
        pre += [op("sem.signal", rs1=r), op("sem.wait", rs1=r)]
    return pre + [op("sem.wait", rs1=r)]


@trap("BAD_SYNC")
def _t_bad_sync(ctx):
    # Run by more lanes than cores (gen_trap_case sets the width): every lane stops here.
    r = ctx.tmp()
    if ctx.src.bool(0.5):
        return [op("barrier")]
    return set_reg(r, ctx.src.int(0, 15)) + [op("sem.wait", rs1=r)]


# --------------------------------------------------------------------------- cases


def initial_regs(src: Source) -> list[int]:
    if src.bool(0.1):
        return [0] * 32
    return [0] + [value64(src) for _ in range(31)]


def initial_csr(src: Source) -> dict:
    if src.bool(0.7):
        return {}
    return {n: csr_value(src) for n in WRITABLE if src.bool(0.3)}


def _finish(ctx: Ctx, body: list) -> list:
    funcs = ctx.shared["funcs"]
    if funcs:
        body.append(op("jmp", target="__end"))
        for f in funcs:
            body += f
    return body


def gen_body(src: Source, lo: int = 1, hi: int = 24, names: Sequence[str] | None = None,
             ctx: Ctx | None = None) -> list:
    ctx = ctx or Ctx(src)
    if names:
        body = []
        for n in names:
            body += VALID[n](ctx)
    else:
        body = items(ctx, lo, hi)
    return _finish(ctx, body)


def gen_case(src: Source, lo: int = 1, hi: int = 24, sync: bool | None = None) -> P.Case:
    """A whole valid program: it terminates and stays inside its SRAM and memory. ``sync``
    allows barrier and sem.wait (random if None)."""
    if sync is None:
        sync = src.bool(0.1)
    ctx = Ctx(src, sync=sync)
    return P.Case(initial_regs(src), gen_body(src, lo, hi, ctx=ctx), seed(src), seed(src),
                  csr=initial_csr(src))


def gen_insn_case(src: Source, name: str | None = None) -> P.Case:
    """One instruction (with its operand set-up) of the given or a random mnemonic."""
    name = name or src.choice(ALL_VALID)
    ctx = Ctx(src, sync=True)
    return P.Case(initial_regs(src), gen_body(src, names=[name], ctx=ctx), seed(src),
                  seed(src), csr=initial_csr(src))


def gen_trap_case(src: Source, trap_name: str | None = None, num_cores: int | None = None
                  ) -> P.Case:
    """A program that traps on purpose: a valid prefix, then code raising ``trap_name``
    (random if None), then code that must never run."""
    trap_name = trap_name or src.choice(sorted(TRAPS))
    cores = num_cores or NUM_CORES
    width = 1
    if trap_name == "BAD_SYNC":
        width = src.int(cores + 1, min(P.MAX_WIDTH, cores + 3))
    # The prefix must not satisfy the wait of a DEADLOCK case, nor wait in a BAD_SYNC one.
    ctx = Ctx(src, sync=trap_name != "BAD_SYNC", signals=trap_name != "DEADLOCK")
    prefix = _no_halt(items(ctx, 0, 6))
    body = prefix + TRAPS[trap_name](ctx)
    body += [Word(src.int(0, MASK64)) if src.bool(0.3) else op("halt")]
    funcs = ctx.shared["funcs"]
    if funcs:
        body.append(op("jmp", target="__end"))
        for f in funcs:
            body += _no_halt(f)
    case = P.Case(initial_regs(src), body, seed(src), seed(src), expect=trap_name,
                  csr=initial_csr(src), width=width)
    if trap_name == "WATCHDOG":
        case.max_insns = src.choice([300, 1000, src.int(250, 3000)])
    if trap_name == "PC_OOB" and not funcs and src.bool(0.2):
        case.body = prefix  # no halt and no epilogue: run off the end of the code
        case.epilogue = False
    return case


def _no_halt(lines: list) -> list:
    return [op("nop") if isinstance(x, Op) and x.name == "halt" else x for x in lines]


# --------------------------------------------------------------------------- several lanes


def gen_group_case(src: Source, width: int | None = None, num_cores: int | None = None
                   ) -> P.Case:
    """A program run by ``width`` program instances (2..NUM_CORES) that exchange data:
    in each phase every lane computes on its SRAM, writes its own block of device memory,
    synchronises (a barrier, or semaphores in a ring), then reads a neighbour's block.
    Each block is written by one lane and read only after the synchronisation, so the
    result does not depend on timing."""
    cores = num_cores or NUM_CORES
    width = width or src.int(2, max(2, min(cores, P.MAX_WIDTH)))
    lane, other, k_r = 31, 30, 29  # reserved: lane number, neighbour, scratch
    # Local work between the exchanges must not write device memory (others read it) nor
    # signal semaphores (that would release a reader early).
    ctx = Ctx(src, reserved=(lane, other, k_r), device_writes=False, signals=False)
    body = [op("csrr", rd=lane, sreg=SREG["PROGRAM_ID"]), op("li", rd=k_r, imm=BaseRef()),
            op("sub", rd=lane, rs1=lane, rs2=k_r)]
    phases = src.int(1, 3)
    blk = P.REGION // 4
    use_sem = src.bool(0.5)
    halt_lane = None if use_sem or not src.bool(0.2) else src.int(0, width - 1)
    for p in range(phases):
        body += items(ctx, 0, 6)
        if halt_lane is not None and p == phases - 1 and p > 0:
            skip = ctx.label()
            body += set_reg(k_r, halt_lane) + [op("bne", rs1=lane, rs2=k_r, target=skip),
                                               op("halt"), Label(skip)]
        n = src.choice([8, 64, blk, src.int(1, blk)])
        s_off = src.int(0, P.TEST_SRAM - n)
        va, t, sr, nr = ctx.tmps(4)
        body += region_address(ctx, va, p * blk, t, lane_reg=lane)
        body += set_reg(sr, s_off) + set_reg(nr, n)
        tag = src.int(0, 15)
        body += [op("dma.st", rd=va, rs1=sr, rs2=nr, imm=tag), _wait(ctx, tag)]
        # neighbour = (lane + d) mod width
        d = src.int(1, width - 1)
        body += [op("addi", rd=other, rs1=lane, imm=d)] + set_reg(k_r, width) + [
            op("remu", rd=other, rs1=other, rs2=k_r)]
        if use_sem:
            # Block of lane l is ready: signal the semaphore of its reader (l - d); then
            # wait for our own (our neighbour's block is ready).
            # Per phase its own semaphores when they suffice; sharing them across phases is
            # also safe (blocks are written in phase order, counts only say "ready").
            sems = 16 // phases
            base_sem = p * sems if width <= sems else 0
            body += [op("sub", rd=k_r, rs1=lane, rs2=0), op("addi", rd=k_r, rs1=k_r,
                                                            imm=width - d)]
            body += [op("li", rd=t, imm=width), op("remu", rd=k_r, rs1=k_r, rs2=t),
                     op("addi", rd=k_r, rs1=k_r, imm=base_sem), op("sem.signal", rs1=k_r),
                     op("addi", rd=k_r, rs1=lane, imm=base_sem), op("sem.wait", rs1=k_r)]
        else:
            body += [op("barrier")]
        va2, t2, sr2, nr2 = ctx.tmps(4)
        m = src.choice([n, src.int(1, blk)])
        body += region_address(ctx, va2, p * blk, t2, lane_reg=other)
        body += set_reg(sr2, src.int(0, P.TEST_SRAM - m)) + set_reg(nr2, m)
        tag = src.int(0, 15)
        body += [op("dma.ld", rd=sr2, rs1=va2, rs2=nr2, imm=tag), _wait(ctx, tag)]
    body += items(ctx, 0, 4)
    body = _finish(ctx, body)
    return P.Case(initial_regs(src), body, seed(src), seed(src), csr=initial_csr(src),
                  width=width)


# --------------------------------------------------------------------------- tables


BY_CLASS: dict[str, list[str]] = {}
for _n, _c in CLASS.items():
    BY_CLASS.setdefault(_c, []).append(_n)
ALL_VALID: list[str] = sorted(VALID)


def refresh() -> None:
    """Recomputes the tables after generators are added."""
    global ALL_VALID
    BY_CLASS.clear()
    for n, c in CLASS.items():
        BY_CLASS.setdefault(c, []).append(n)
    ALL_VALID = sorted(VALID)
