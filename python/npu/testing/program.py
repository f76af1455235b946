# SPDX-License-Identifier: MIT
"""Test cases and how they become kernels: the harness around a generated program.

A :class:`Case` is an initial architectural state (registers r1..r31, configuration
registers, an SRAM image, the contents of a device-memory region) plus a body of
instructions, run by ``width`` program instances (1 for most cases; several for programs
that synchronise). :func:`compose` turns one case, or a batch of cases, into a single kernel
whose program instances run the cases:

* a *dispatcher* (batches and multi-instance cases) jumps to the case of ``PROGRAM_ID``;
* the *prologue* records the instance's environment (``CORE_ID``, ``CONST_PTR``) into the
  output buffer, loads the SRAM image from the constant section and sets every
  configuration register and every register;
* the *body* runs;
* the *epilogue* records ``CYCLE``, waits for all DMAs (``fence``), stores all 32
  registers and the configuration registers into SRAM and copies the whole SRAM into the
  output buffer.

The reference model executes exactly the same kernel, harness included, so the harness's own
effects are accounted for on both sides; the final registers, configuration registers and
SRAM are read back from the output buffer, and the data regions are compared as device
memory.

Layout (all sizes in bytes)::

    SRAM   [0, TEST_SRAM)             what the body may use
           [REG_DUMP, +256)           r0..r31 after the body (epilogue)
           [CSR_DUMP, +8 * NCSR)      the configuration registers after the body
           [ENV_DUMP, +32)            CORE_ID, CONST_PTR (prologue), DONE_MARK, CYCLE
                                      after the body (epilogue)
    arg 0  mem: REGION bytes per program instance at mem + PROGRAM_ID * REGION
    arg 1  out: SRAM_BYTES per program instance at out + PROGRAM_ID * SRAM_BYTES
    arg 2.. EXTRA_ARGS (u64 constants for ldarg)

The instances of one case have consecutive program ids starting at the case's *base*
(:class:`BaseRef`); instance ``PROGRAM_ID - base`` is its *lane*.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import _isa_tables as T
from .. import asm

TEST_SRAM = 2048
CSR_NAMES = sorted(getattr(T, "SREG_WRITABLE", ()), key=lambda n: T.SREGS[n][0])
REG_DUMP = TEST_SRAM
CSR_DUMP = REG_DUMP + 8 * T.NUM_REGS
ENV_DUMP = CSR_DUMP + 8 * len(CSR_NAMES)
SRAM_BYTES = ENV_DUMP + 64
DONE_MARK = 0x600D  # the epilogue ran
REGION = 4096
PAGE_SIZE = T.PAGE_SIZE
# Buffer sizes of a single-case launch: whole pages, so the page after each is unmapped.
SINGLE_MEM = PAGE_SIZE
MAX_WIDTH = SINGLE_MEM // REGION
# The watchdog budget of launches of valid cases: generated programs retire far fewer
# instructions per instance, and a runaway one then traps alike on both sides.
DEFAULT_BUDGET = 200_000
EXTRA_ARGS = (0xDEADBEEFCAFEF00D, 0xFFFFFFFFFFFFFFFF, 0, 0x8000000000000000)
ARG_NAMES = ("mem", "out") + tuple(f"a{i}" for i in range(len(EXTRA_ARGS)))
NARGS = len(ARG_NAMES)
KERNEL_NAME = "fuzz"
MASK64 = (1 << 64) - 1

_SYNTAX = {d["name"]: [s.strip() for s in d["syntax"].split(",") if s.strip()]
           for d in T.INSNS}
_SREG_NAMES = {sid: name for name, (sid, _doc) in T.SREGS.items()}


# --------------------------------------------------------------------------- lines


@dataclass(frozen=True)
class Label:
    """A code label (names the next instruction)."""
    name: str


@dataclass(frozen=True)
class CodeRef:
    """An immediate that is the absolute instruction index of a code label (for ``jr``)."""
    name: str


@dataclass(frozen=True)
class ConstRef:
    """An immediate that is the byte offset of the case's constant block."""
    name: str = "sram_image"


@dataclass(frozen=True)
class BaseRef:
    """An immediate that is the first program id of the case (its lane 0)."""
    k: int = 0  # added to it


@dataclass(frozen=True)
class EndRef:
    """A branch target ``k`` instructions past the end of the whole code (to leave it)."""
    k: int = 0


@functools.lru_cache(maxsize=1 << 16)
def _encode(name: str, ops: tuple) -> int:
    return asm.encode(name, **dict(ops))


_OPERANDS = {d["name"]: tuple(d["operands"]) for d in T.INSNS}


@dataclass(frozen=True)
class Op:
    """One instruction: mnemonic and operand fields by name. A target may be a label name
    (str) or an :class:`EndRef`; an ``imm`` may be a :class:`CodeRef`, :class:`ConstRef`
    or :class:`BaseRef`. ``word`` is its encoding when no operand needs resolving."""
    name: str
    ops: tuple  # ((field, value), ...) in the spec's operand order
    word: int | None = field(default=None, compare=False, repr=False)

    @classmethod
    def make(cls, name: str, **ops) -> Op:
        t = tuple((f, ops[f]) for f in _OPERANDS[name])
        plain = all(type(v) is int for _f, v in t)
        return cls(name, t, _encode(name, t) if plain else None)

    def get(self, f: str):
        return dict(self.ops)[f]


@dataclass(frozen=True)
class Word:
    """A raw instruction word (``.word``), e.g. an illegal one."""
    value: int


Line = Label | Op | Word


def op(name: str, **ops) -> Op:
    return Op.make(name, **ops)


# --------------------------------------------------------------------------- cases


def fill_bytes(seed: int, nbytes: int) -> bytes:
    """Deterministic contents for SRAM images and memory regions: 0 gives zeros; other
    seeds mix the interesting bit patterns of one element type with random data."""
    if seed == 0:
        return bytes(nbytes)
    rng = np.random.default_rng(seed)
    mode = seed % 7
    if mode in (0, 1, 4, 5, 6):
        pool, dt = {0: (F32_SPECIAL, "<u4"), 1: (I32_SPECIAL, "<u4"), 4: (F16_SPECIAL, "<u2"),
                    5: (BF16_SPECIAL, "<u2"), 6: (I8_SPECIAL, "u1")}[mode]
        size = np.dtype(dt).itemsize
        n = (nbytes + size - 1) // size
        rand = rng.integers(0, 1 << (8 * size), n, dtype=np.uint64)
        if mode == 0:
            rand = rng.standard_normal(n).astype(np.float32).view(np.uint32)
        vals = np.where(rng.random(n) < 0.6, rng.choice(np.array(pool, np.uint64), n), rand)
        return vals.astype(dt).tobytes()[:nbytes]
    nw = (nbytes + 3) // 4
    if mode == 2:
        words = rng.integers(0, 1 << 32, nw, dtype=np.uint64).astype(np.uint32)
    else:  # small exact floats: sums and products stay exact or round in simple ways
        words = (rng.integers(-64, 64, nw) / 8.0).astype(np.float32).view(np.uint32)
    return words.astype("<u4").tobytes()[:nbytes]


F32_SPECIAL = [
    0x00000000, 0x80000000, 0x3F800000, 0xBF800000, 0x7F800000, 0xFF800000, 0x7FC00000,
    0x7FA00000, 0xFFC00001, 0x7F800001, 0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF,
    0x00800000, 0x80800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x3F800001, 0x33800000, 0x4B800000,
    0x5F000000, 0x3F000000, 0x40000000, 0x00400000, 0x34000000, 0x4F000000, 0xCF000000,
    0x4EFFFFFF, 0x477FF000, 0x477FE000, 0x387FC000, 0x33000000, 0x3F400000, 0x3FC00000,
    0x42C80000, 0xC2D00000, 0x42B17218, 0x3F200000, 0xC0200000,
]
I32_SPECIAL = [
    0, 1, 0xFFFFFFFF, 2, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFE, 0x7F, 0x80, 0xFF,
    0xFFFFFF80, 0x7FFF, 0x8000, 0xFFFF, 0xFFFF8000, 0x10000, 31, 32, 63, 7, 8, 15, 16,
]
F16_SPECIAL = [
    0x0000, 0x8000, 0x3C00, 0xBC00, 0x7C00, 0xFC00, 0x7E00, 0x7D00, 0xFE01, 0x0001, 0x8001,
    0x03FF, 0x0400, 0x7BFF, 0xFBFF, 0x3C01, 0x3800, 0x4000, 0x5640, 0xD800,
]
BF16_SPECIAL = [
    0x0000, 0x8000, 0x3F80, 0xBF80, 0x7F80, 0xFF80, 0x7FC0, 0x7FA0, 0xFFC1, 0x0001, 0x8001,
    0x007F, 0x0080, 0x7F7F, 0xFF7F, 0x3F81, 0x3F00, 0x4000, 0x4F00, 0xCF00,
]
I8_SPECIAL = [0, 1, 0xFF, 0x7F, 0x80, 0x81, 0xFE, 2, 7, 8, 15, 16]


@dataclass
class Case:
    """One generated test: initial state plus body, run by ``width`` program instances.
    ``expect`` names the trap the generator meant the body to raise (None: the program
    must run to completion)."""

    regs: list[int]  # initial r0..r31 (r0 is ignored)
    body: list  # Lines
    sram_seed: int = 0  # initial SRAM [0, TEST_SRAM): fill_bytes(sram_seed, TEST_SRAM)
    mem_seed: int = 0  # initial data regions: fill_bytes(mem_seed, width * REGION)
    expect: str | None = None
    max_insns: int = 0  # the watchdog budget of the launch (0: DEFAULT_BUDGET)
    epilogue: bool = True  # False: the body runs off the end of the code
    csr: dict = field(default_factory=dict)  # initial configuration registers, by name
    width: int = 1  # program instances running the body (lanes)
    origin: tuple | None = field(default=None, compare=False, repr=False)  # who made it

    @property
    def sram_image(self) -> bytes:
        return fill_bytes(self.sram_seed, TEST_SRAM)

    @property
    def region(self) -> bytes:
        """The initial device memory of all the case's lanes (``REGION`` bytes each)."""
        return fill_bytes(self.mem_seed, self.width * REGION)

    @property
    def budget(self) -> int:
        return self.max_insns or DEFAULT_BUDGET

    def mnemonics(self) -> set[str]:
        return {ln.name for ln in self.body if isinstance(ln, Op)}

    @property
    def synchronises(self) -> bool:
        """Whether the body may wait (barrier, sem.wait): such cases need every instance
        of their launch on a core of its own."""
        return bool(self.mnemonics() & {"barrier", "sem.wait"})

    def __repr__(self) -> str:
        n = sum(isinstance(ln, (Op, Word)) for ln in self.body)
        return (f"Case({n} instructions, width={self.width}, expect={self.expect}, "
                f"sram_seed={self.sram_seed}, mem_seed={self.mem_seed}, "
                f"max_insns={self.max_insns}, csr={self.csr})")


# --------------------------------------------------------------------------- harness code


def set_reg(r: int, value: int) -> list[Op]:
    """li (+ lih) that put a 64-bit ``value`` in ``r``."""
    value &= MASK64
    lo = value & 0xFFFFFFFF
    lo_s = lo - (1 << 32) if lo >> 31 else lo
    out = [op("li", rd=r, imm=lo_s)]
    if (lo_s & MASK64) != value:
        hi = value >> 32
        out.append(op("lih", rd=r, imm=hi - (1 << 32) if hi >> 31 else hi))
    return out


def _sreg(name: str) -> int:
    return T.SREGS[name][0]


def prologue(case: Case) -> list:
    out = [
        op("csrr", rd=1, sreg=_sreg("CORE_ID")),
        op("sd", rs2=1, rs1=0, imm=ENV_DUMP),
        op("csrr", rd=1, sreg=_sreg("CONST_PTR")),
        op("sd", rs2=1, rs1=0, imm=ENV_DUMP + 8),
        op("ldarg", rd=2, arg=1),
        op("csrr", rd=3, sreg=_sreg("PROGRAM_ID")),
        op("muli", rd=3, rs1=3, imm=SRAM_BYTES),
        op("add", rd=2, rs1=2, rs2=3),
        op("addi", rd=2, rs1=2, imm=ENV_DUMP),
        op("li", rd=4, imm=ENV_DUMP),
        op("li", rd=5, imm=16),
        op("dma.st", rd=2, rs1=4, rs2=5, imm=0),
        op("dma.wait", imm=0),
    ]
    if case.sram_seed:
        out += [
            op("li", rd=4, imm=ConstRef()),
            op("add", rd=1, rs1=1, rs2=4),
            op("li", rd=5, imm=TEST_SRAM),
            op("dma.ld", rd=0, rs1=1, rs2=5, imm=0),
            op("dma.wait", imm=0),
        ]
    for name in CSR_NAMES:
        v = case.csr.get(name, 0)
        if v:
            out += set_reg(1, v) + [op("csrw", sreg=_sreg(name), rs1=1)]
    for r in range(1, T.NUM_REGS):
        out += set_reg(r, case.regs[r])
    return out


def epilogue() -> list:
    out = [op("csrr", rd=1, sreg=_sreg("CYCLE")), op("sd", rs2=1, rs1=0, imm=ENV_DUMP + 24),
           op("fence")]
    out += [op("sd", rs2=r, rs1=0, imm=REG_DUMP + 8 * r) for r in range(T.NUM_REGS)]
    for i, name in enumerate(CSR_NAMES):
        out += [op("csrr", rd=1, sreg=_sreg(name)),
                op("sd", rs2=1, rs1=0, imm=CSR_DUMP + 8 * i)]
    out += [
        op("li", rd=1, imm=DONE_MARK),
        op("sd", rs2=1, rs1=0, imm=ENV_DUMP + 16),
        op("ldarg", rd=1, arg=1),
        op("csrr", rd=2, sreg=_sreg("PROGRAM_ID")),
        op("muli", rd=2, rs1=2, imm=SRAM_BYTES),
        op("add", rd=1, rs1=1, rs2=2),
        op("li", rd=3, imm=SRAM_BYTES),
        op("dma.st", rd=1, rs1=0, rs2=3, imm=0),
        op("dma.wait", imm=0),
        op("halt"),
    ]
    return out


_EPILOGUE = epilogue()


# --------------------------------------------------------------------------- composing


@dataclass
class Composed:
    """A batch of cases as one kernel."""

    cases: list[Case]
    code: list[int]
    consts: bytes
    entry: int
    sram_bytes: int
    case_start: list[int]  # code index where each case's prologue begins
    body_range: list[tuple[int, int]]  # [first, end) code index of each body
    lines: object = field(default_factory=list)  # (case, Line, pc or None), for the text
    marks: dict = field(default_factory=dict)  # line number -> comment before it
    base: list[int] = field(default_factory=list)  # first program id of each case

    @property
    def grid(self) -> int:
        return sum(c.width for c in self.cases)

    def kbin(self) -> asm.KernelBinary:
        args = [asm.ArgInfo("mem", "ptr"), asm.ArgInfo("out", "ptr")] + [
            asm.ArgInfo(n, "u64") for n in ARG_NAMES[2:]]
        k = asm.KernelInfo(KERNEL_NAME, self.entry, self.sram_bytes, args)
        return asm.KernelBinary(asm.ISA_VERSION, list(self.code), self.consts, [k])

    def binary(self) -> bytes:
        return asm.write_kbin(self.kbin())

    def source(self) -> str:
        return to_source(self)


def compose(cases: Sequence[Case]) -> Composed:
    """One kernel running the cases (see the module doc); case ``i`` gets the program ids
    ``base[i] .. base[i] + width - 1``."""
    cases = list(cases)
    lines: list = []  # (case index or None, Line)
    base = []
    n = 0
    for c in cases:
        base.append(n)
        n += c.width
    if n > 1:
        lines += [
            (None, op("csrr", rd=1, sreg=_sreg("PROGRAM_ID"))),
            (None, op("li", rd=2, imm=CodeRef("__table"))),
            (None, op("add", rd=1, rs1=1, rs2=2)),
            (None, op("jr", rs1=1)),
            (None, Label("__table")),
        ]
        for i, c in enumerate(cases):
            lines += [(None, op("jmp", target=f"__case{i}"))] * c.width
    consts = bytearray()
    const_off: dict[int, int] = {}
    spans = []
    for i, c in enumerate(cases):
        lines.append((i, Label(f"__case{i}")))
        if c.sram_seed:
            const_off[i] = len(consts)
            consts += c.sram_image
        start = len(lines)
        lines += [(i, ln) for ln in prologue(c)]
        b0 = len(lines)
        lines += [(i, ln) for ln in c.body]
        b1 = len(lines)
        lines.append((i, Label("__end")))
        if c.epilogue:
            lines += [(i, ln) for ln in _EPILOGUE]
        spans.append((start, b0, b1))
    if not consts:
        consts = bytearray(8)  # a constant section always exists (CONST_PTR is mapped)

    # Pass 1: instruction indices of the labels (scoped per case).
    labels: dict[tuple, int] = {}
    index: list[int | None] = []
    pc = 0
    for ci, ln in lines:
        if isinstance(ln, Label):
            key = (None if ln.name.startswith("__case") or ln.name == "__table" else ci,
                   ln.name)
            labels[key] = pc
            index.append(None)
        else:
            index.append(pc)
            pc += 1
    n_code = pc

    def label(ci, name):
        try:
            return labels[(ci, name)] if (ci, name) in labels else labels[(None, name)]
        except KeyError:
            raise ValueError(f"undefined label {name!r} in case {ci}") from None

    def resolve(ci, v, pc):
        if isinstance(v, str):
            return label(ci, v) - pc
        if isinstance(v, EndRef):
            return n_code + v.k - pc
        if isinstance(v, CodeRef):
            return label(ci, v.name)
        if isinstance(v, ConstRef):
            return const_off.get(ci, 0)
        if isinstance(v, BaseRef):
            return base[ci] + v.k
        return v

    # Pass 2: encode.
    code = []
    for (ci, ln), pc in zip(lines, index):
        if pc is None:
            continue
        if isinstance(ln, Word):
            code.append(ln.value & MASK64)
        elif ln.word is not None:
            code.append(ln.word)
        else:
            code.append(_encode(ln.name, tuple((f, resolve(ci, v, pc)) for f, v in ln.ops)))

    marks = {}
    for i, (s, b0, b1) in enumerate(spans):
        marks[s] = f"case {i}: prologue (environment, SRAM image, registers)"
        marks[b0] = f"case {i}: body"
        marks[b1] = f"case {i}: epilogue (registers and SRAM to out)"

    def first_pc(k):  # of the first instruction at or after line k
        while k < len(index) and index[k] is None:
            k += 1
        return index[k] if k < len(index) else n_code

    comp = Composed(
        cases, code, bytes(consts), 0, SRAM_BYTES,
        [first_pc(s) for s, _, _ in spans],
        [(first_pc(b0), first_pc(b1)) for _, b0, b1 in spans],
        _Lines(lines, index), marks, base,
    )
    comp.resolve = resolve
    return comp


class _Lines:
    """(case, Line, pc) for each line, built only when the text is wanted."""

    def __init__(self, lines, index):
        self._lines, self._index = lines, index

    def __iter__(self):
        return ((ci, ln, pc) for (ci, ln), pc in zip(self._lines, self._index))


# --------------------------------------------------------------------------- assembly text


def format_line(ln, pc=None, ci=None, resolve=None) -> str:
    if isinstance(ln, Label):
        return f"{label_text(ln.name, ci)}:"
    if isinstance(ln, Word):
        return f"    .word {ln.value:#018x}"
    vals = dict(ln.ops)
    parts = []
    for item in _SYNTAX[ln.name]:
        if "(" in item:
            f, base = item.rstrip(")").split("(")
            parts.append(f"{_value(f, vals[f], ci, resolve)}(r{vals[base]})")
        else:
            parts.append(_value(item, vals[item], ci, resolve))
    return f"    {ln.name}" + (" " + ", ".join(parts) if parts else "")


def label_text(name: str, ci) -> str:
    if name.startswith("__case") or name == "__table" or ci is None:
        return name.lstrip("_")
    return f"c{ci}_{name.lstrip('_')}"


def _value(f: str, v, ci, resolve) -> str:
    kind = T.FIELDS[f][2]
    if isinstance(v, str):
        return label_text(v, ci)
    if isinstance(v, CodeRef):
        return label_text(v.name, ci)
    if isinstance(v, (ConstRef, EndRef, BaseRef)):
        return str(resolve(v))
    if kind == "reg":
        return f"r{v}"
    if kind == "sreg":
        return _SREG_NAMES.get(v, str(v))
    return str(v)


def to_source(comp: Composed) -> str:
    """The kernel as assembly text; ``npu.assemble`` of it gives ``comp.binary()``."""
    out = [f".kernel {KERNEL_NAME}"]
    out += [f".arg {n} {'ptr' if i < 2 else 'u64'}" for i, n in enumerate(ARG_NAMES)]
    out.append(f".sram {comp.sram_bytes}")
    for k, (ci, ln, pc) in enumerate(comp.lines):
        if k in comp.marks:
            out.append(f"    ; ---- {comp.marks[k]}")
        out.append(format_line(ln, pc, ci, lambda v, pc=pc, ci=ci: comp.resolve(ci, v, pc)))
    out.append(".const")
    consts = comp.consts
    for i in range(0, len(consts), 16):
        out.append("    .byte " + ", ".join(str(b) for b in consts[i:i + 16]))
    return "\n".join(out) + "\n"
