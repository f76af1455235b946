# SPDX-License-Identifier: MIT
"""A reference model of the NPU ISA in Python (and numpy), written from the documentation.

It executes any program of the ISA on a given initial state and returns the final state and
any trap, with the fields the device reports (trap name/code, pc, address, is_write). It is
an independent implementation: it follows the spec's per-instruction summaries
(``docs/isa.md``), ``docs/numerics.md`` and the semantics ``docs/firmware-sim.md`` states,
and shares only the generated encoding tables (``npu._isa_tables``) with the rest of the
stack. It never imports the simulator.

::

    from npu.testing import refmodel as rm

    mem = rm.DeviceMemory()
    mem.map(0x1_0000_0000, bytes(65536))                 # one writable page
    prog = rm.Program.from_binary(npu.assemble(src).binary)
    res = rm.run_launch(prog, mem, args=[0x1_0000_0000], grid=(4,), num_cores=4)
    res.trap                     # None, or Trap(name, pc, address, is_write, insn)
    res.instances[0].regs        # final registers of program instance 0

    # One program instance from an arbitrary state (registers, SRAM, pc, special registers):
    st = rm.State(sram=bytearray(1024), regs=[0] * 32)
    out = rm.run(prog, st, mem, args=[...])              # st is updated in place

Instruction semantics live in :data:`SEMANTICS`, one small function per mnemonic; the test
suite checks that every instruction of the spec has one.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import _isa_tables as T
from . import numerics as N

__all__ = [
    "CANONICAL_NAN32",
    "PAGE_SIZE",
    "SEMANTICS",
    "TRAP_CODES",
    "VA_BITS",
    "DeviceMemory",
    "Env",
    "LaunchResult",
    "ModelLimit",
    "Program",
    "State",
    "Trap",
    "decode",
    "run",
    "run_launch",
]

MASK64 = (1 << 64) - 1
MASK32 = (1 << 32) - 1
PAGE_SIZE = T.PAGE_SIZE
NUM_REGS = T.NUM_REGS
VA_BITS = 40  # the MMU translates 40-bit VAs (docs/firmware-sim.md, "MMU"); above is unmapped
CANONICAL_NAN32 = N.CANONICAL_NAN32
TRAP_CODES = {name: code for name, (code, _doc) in T.TRAPS.items()}
TRAP_NAMES = {code: name for name, code in TRAP_CODES.items()}
SREG_IDS = {name: sid for name, (sid, _doc) in T.SREGS.items()}
SREG_NAMES = {sid: name for name, sid in SREG_IDS.items()}
WRITABLE = frozenset(getattr(T, "SREG_WRITABLE", ()))
WRITABLE_IDS = frozenset(SREG_IDS[n] for n in WRITABLE)
NUM_DMA_TAGS = 16
NUM_SEMAPHORES = 16
MM_MAX = 1024
RQ_SHIFT_MAX = 62


def sext(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def s64(value: int) -> int:
    return sext(value, 64)


# --------------------------------------------------------------------------- traps


@dataclass(frozen=True)
class Trap:
    """Why a program instance stopped abnormally, as the device reports it."""

    name: str  # e.g. "PAGE_FAULT"
    pc: int  # instruction index of the trapping instruction
    address: int
    is_write: bool = False
    insn: int | None = None  # the instruction word, when there is one

    @property
    def code(self) -> int:
        return TRAP_CODES[self.name]

    def key(self) -> tuple:
        """The fields two implementations must agree on."""
        return (self.name, self.pc, self.address, self.is_write)

    def __str__(self) -> str:
        rw = "write" if self.is_write else "read"
        return f"{self.name} at pc {self.pc}, address {self.address:#x} ({rw})"


class TrapError(Exception):
    """Raised inside the model by an instruction that traps."""

    def __init__(self, name: str, address: int = 0, is_write: bool = False):
        super().__init__(name)
        self.name = name
        self.address = address & MASK64
        self.is_write = is_write


class ModelLimit(Exception):
    """The program asks for work the model does not carry out: a 2-D DMA that would move
    more than :data:`MAX_DMA_BYTES` (with zero strides, an astronomical row count passes
    every check). A device runs such an instruction until its time limit, so the result
    is not comparable anyway."""


MAX_DMA_BYTES = 1 << 32


class Blocked(Exception):
    """Raised by barrier / sem.wait when the instance must wait (nothing retires)."""

    def __init__(self, kind: str, index: int = 0):
        super().__init__(kind)
        self.kind = kind
        self.index = index


# --------------------------------------------------------------------------- device memory


class DeviceMemory:
    """Device memory as seen through one MMU context: mapped pages of :data:`PAGE_SIZE`
    bytes, each readable and optionally writable. Everything else is unmapped."""

    def __init__(self):
        self.pages: dict[int, bytearray] = {}  # page number -> contents
        self.writable: set[int] = set()

    def map(self, va: int, data: bytes | int, writable: bool = True) -> None:
        """Maps the pages covering ``[va, va + len(data))`` (``data`` may be a size: zeros).
        ``va`` must be page-aligned; a partial last page is padded with zeros."""
        size = data if isinstance(data, int) else len(data)
        if va % PAGE_SIZE or va < 0 or va + size > 1 << VA_BITS:
            raise ValueError(f"cannot map {size} bytes at {va:#x}")
        for off in range(0, size, PAGE_SIZE):
            page = bytearray(PAGE_SIZE)
            if not isinstance(data, int):
                chunk = data[off:off + PAGE_SIZE]
                page[:len(chunk)] = chunk
            n = (va + off) // PAGE_SIZE
            self.pages[n] = page
            if writable:
                self.writable.add(n)
            else:
                self.writable.discard(n)

    def copy(self) -> DeviceMemory:
        m = DeviceMemory()
        m.pages = {n: bytearray(p) for n, p in self.pages.items()}
        m.writable = set(self.writable)
        return m

    def fault_address(self, va: int, size: int, write: bool) -> int | None:
        """The first VA of ``[va, va + size)`` that cannot be accessed, or None."""
        if size == 0:
            return None
        end = va + size  # exact integer: no wrap-around
        n = va // PAGE_SIZE
        while n * PAGE_SIZE < end:
            if n not in self.pages or (write and n not in self.writable):
                return max(va, n * PAGE_SIZE)
            n += 1
        return None

    def check(self, va: int, size: int, write: bool) -> None:
        bad = self.fault_address(va, size, write)
        if bad is not None:
            raise TrapError("PAGE_FAULT", bad, write)

    def read(self, va: int, size: int) -> bytes:
        self.check(va, size, False)
        out = bytearray()
        while size:
            n, off = divmod(va, PAGE_SIZE)
            k = min(size, PAGE_SIZE - off)
            out += self.pages[n][off:off + k]
            va += k
            size -= k
        return bytes(out)

    def write(self, va: int, data: bytes) -> None:
        self.check(va, len(data), True)
        pos = 0
        while pos < len(data):
            n, off = divmod(va + pos, PAGE_SIZE)
            k = min(len(data) - pos, PAGE_SIZE - off)
            self.pages[n][off:off + k] = data[pos:pos + k]
            pos += k


# --------------------------------------------------------------------------- programs


_FIELDS = {name: (lsb, width, kind) for name, (lsb, width, kind) in T.FIELDS.items()}
_SIGNED = ("simm", "target")


class Insn:
    """One pre-decoded instruction word: ``name``, ``word``, ``timing`` and one attribute
    per operand field (``d.rd``, ``d.imm`` ...; simm and target fields are signed)."""

    def __init__(self, name: str, word: int, ops: dict, timing: str):
        self.name = name
        self.word = word
        self.ops = ops
        self.timing = timing
        t = T.TIMING[timing]
        self.base, self.per_bytes, self.per_lanes = t["base"], t["per_bytes"], t["per_lanes"]
        self.sem = None  # its SEMANTICS entry, looked up once
        self.__dict__.update(ops)

    def __repr__(self) -> str:
        return f"Insn({self.name!r}, {self.ops})"


_BY_OPCODE: dict[int, list[dict]] = {}
for _d in T.INSNS:
    _BY_OPCODE.setdefault(_d["opcode"], []).append(_d)


def _extract(word: int, name: str) -> int:
    lsb, width, kind = _FIELDS[name]
    v = (word >> lsb) & ((1 << width) - 1)
    return sext(v, width) if kind in _SIGNED else v


_DECODED: dict[int, Insn | None] = {}


def decode(word: int) -> Insn | None:
    """The instruction a word encodes, or None if executing it traps ILLEGAL_INSN: no
    encoding matches, or an operand is outside what the instruction accepts (an unknown
    special register, a read-only one for csrw, a DMA tag outside 0..15)."""
    try:
        return _DECODED[word]
    except KeyError:
        pass
    d = _decode(word)
    if len(_DECODED) > 1 << 18:
        _DECODED.clear()
    _DECODED[word] = d
    return d


def _decode(word: int) -> Insn | None:
    op = word & ((1 << _FIELDS["op"][1]) - 1)
    for d in _BY_OPCODE.get(op, ()):
        if word & d["mask"] == d["match"]:
            ops = {f: _extract(word, f) for f in d["operands"]}
            insn = Insn(d["name"], word, ops, d["timing"])
            check = OPERAND_CHECKS.get(d["name"])
            if check is not None and not check(insn):
                return None
            return insn
    return None


@dataclass
class Program:
    """A kernel as the device runs it: code words, entry, SRAM need, constants."""

    code: list[int]
    entry: int = 0
    sram_bytes: int = 0
    consts: bytes = b""
    name: str = "kernel"
    nargs: int | None = None  # from the kernel's signature; None: as many as given

    def __post_init__(self):
        self.decoded = [decode(w) for w in self.code]

    @classmethod
    def from_binary(cls, binary: bytes, kernel: str | None = None) -> Program:
        """From an NPUKBIN file (``npu.Program.binary``); the only kernel or ``kernel``."""
        from .. import asm
        kb = asm.read_kbin(bytes(binary))
        ks = [k for k in kb.kernels if kernel is None or k.name == kernel]
        if len(ks) != 1:
            raise ValueError(f"choose one of the kernels {[k.name for k in kb.kernels]}")
        k = ks[0]
        return cls(list(kb.code), k.entry, k.sram_bytes, bytes(kb.consts), k.name, len(k.args))


# --------------------------------------------------------------------------- state


@dataclass
class Env:
    """What a program instance can observe about its launch (the read-only special
    registers)."""

    program_id: tuple[int, int, int] = (0, 0, 0)
    grid: tuple[int, int, int] = (1, 1, 1)
    core_id: int = 0
    num_cores: int = 1
    const_ptr: int = 0

    @property
    def num_programs(self) -> int:
        gx, gy, gz = self.grid
        return gx * gy * gz

    def sreg(self, name: str, state: State, sram_bytes: int, nargs: int) -> int:
        gx, gy, gz = self.grid
        x, y, z = self.program_id
        values = {
            "CORE_ID": self.core_id,
            "NUM_CORES": self.num_cores,
            "PROGRAM_ID": x + gx * (y + gy * z),
            "PROGRAM_ID_X": x,
            "PROGRAM_ID_Y": y,
            "PROGRAM_ID_Z": z,
            "NUM_PROGRAMS": gx * gy * gz,
            "GRID_X": gx,
            "GRID_Y": gy,
            "GRID_Z": gz,
            "NUM_ARGS": nargs,
            "SRAM_SIZE": sram_bytes,
            "CONST_PTR": self.const_ptr,
            "CYCLE": state.cycles,
        }
        return values[name] & MASK64


class Launch:
    """What the program instances of one launch share: the 16 semaphores."""

    def __init__(self):
        self.sems = [0] * NUM_SEMAPHORES


@dataclass
class State:
    """The architectural state of one program instance. ``csr`` holds the writable special
    registers (configuration of the DMA, matrix and vector units), by name; absent = 0."""

    sram: bytearray
    regs: list[int] = field(default_factory=lambda: [0] * NUM_REGS)
    pc: int = 0
    csr: dict = field(default_factory=dict)
    cycles: int = 0  # what CYCLE reads: cost of the instructions retired so far
    retired: int = 0
    halted: bool = False
    trap: Trap | None = None
    counts: dict | None = None  # mnemonic -> times retired, when given
    blocked: tuple | None = None  # ("barrier",) or ("sem", index) while waiting
    released: bool = False  # the barrier this instance waits in has opened

    def reg(self, i: int) -> int:
        return 0 if i == 0 else self.regs[i]

    def set(self, i: int, value: int) -> None:
        if i:
            self.regs[i] = value & MASK64

    @property
    def finished(self) -> bool:
        return self.halted or self.trap is not None


class Machine:
    """Runs one program instance; the instruction bodies in :data:`SEMANTICS` act on it."""

    def __init__(self, prog: Program, state: State, mem: DeviceMemory, args: Sequence[int],
                 env: Env, max_insns: int = 0, launch: Launch | None = None):
        self.prog = prog
        self.st = state
        self.mem = mem
        self.args = [int(a) & MASK64 for a in args]
        self.nargs = len(self.args) if prog.nargs is None else prog.nargs
        self.env = env
        self.max_insns = max_insns
        self.launch = launch or Launch()
        self.sram = state.sram
        self.sram_bytes = len(state.sram)
        # Set by an instruction body: the next pc (None = pc + 1), and the amount of work
        # (bytes moved, elements processed) its timing class charges for.
        self.next_pc: int | None = None
        self.work = 0

    # ---- registers ----
    def r(self, i: int) -> int:
        return 0 if i == 0 else self.st.regs[i]

    def w(self, i: int, value: int) -> None:
        if i:
            self.st.regs[i] = value & MASK64

    def csr(self, name: str) -> int:
        return self.st.csr.get(name, 0)

    # ---- SRAM ----
    def sram_check(self, addr: int, size: int, write: bool, align: int = 1) -> None:
        """Alignment (MISALIGNED), then bounds (SRAM_OOB: the address if it starts outside
        SRAM, else the first byte past SRAM). Nothing is checked for size 0."""
        if size == 0:
            return
        if align > 1 and addr % align:
            raise TrapError("MISALIGNED", addr, write)
        if addr >= self.sram_bytes:
            raise TrapError("SRAM_OOB", addr, write)
        if addr + size > self.sram_bytes:
            raise TrapError("SRAM_OOB", self.sram_bytes, write)

    def load(self, addr: int, size: int) -> int:
        self.sram_check(addr, size, False, size)
        return int.from_bytes(self.sram[addr:addr + size], "little")

    def store(self, addr: int, size: int, value: int) -> None:
        self.sram_check(addr, size, True, size)
        self.sram[addr:addr + size] = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")

    def array(self, addr: int, dt: str, count: int) -> np.ndarray:
        """A copy of ``count`` elements of type ``dt`` (a numerics type name) at ``addr``."""
        return np.frombuffer(self.sram, N.DTYPE[dt], count, addr).copy()

    def put(self, addr: int, values: np.ndarray) -> None:
        b = values.tobytes()
        self.sram[addr:addr + len(b)] = b

    # ---- control ----
    def jump(self, target: int) -> None:
        self.next_pc = target & MASK64

    def cost(self, insn: Insn) -> int:
        c = insn.base
        if insn.per_bytes:
            c += -(-self.work // insn.per_bytes)
        if insn.per_lanes:
            c += -(-self.work // insn.per_lanes)
        return c

    def step(self) -> bool:
        """Executes one instruction; False once the instance has halted, trapped or
        blocked (in barrier or sem.wait: ``st.blocked`` says on what)."""
        st = self.st
        if st.halted or st.trap is not None:
            return False
        pc = st.pc
        code = self.prog.code
        insn = self.prog.decoded[pc]
        if self.max_insns and st.retired >= self.max_insns:
            st.trap = Trap("WATCHDOG", pc, 0, False, code[pc])
            return False
        if insn is None:
            st.trap = Trap("ILLEGAL_INSN", pc, pc, False, code[pc])
            return False
        self.next_pc = None
        self.work = 0
        try:
            fn = insn.sem
            if fn is None:
                fn = insn.sem = SEMANTICS[insn.name]
            fn(self, insn)
        except TrapError as e:
            st.trap = Trap(e.name, pc, e.address, e.is_write, code[pc])
            st.blocked = None
            return False
        except Blocked as b:
            st.blocked = (b.kind, b.index)
            return False
        st.blocked = None
        st.released = False
        st.retired += 1
        st.cycles += self.cost(insn)
        if st.counts is not None:
            st.counts[insn.name] = st.counts.get(insn.name, 0) + 1
        if st.halted:
            return False
        nxt = pc + 1 if self.next_pc is None else self.next_pc
        if nxt >= len(code):
            st.trap = Trap("PC_OOB", pc, nxt, False, code[pc])
            return False
        st.pc = nxt
        return True

    def run(self) -> None:
        """Until the instance halts, traps or blocks."""
        while self.step():
            pass


# --------------------------------------------------------------------------- running


def run(prog: Program, state: State, mem: DeviceMemory, args: Sequence[int] = (),
        env: Env | None = None, max_insns: int = 0) -> State:
    """Runs one program instance from ``state`` (its ``pc``, registers, special registers,
    SRAM: the SRAM size is ``len(state.sram)``) until it halts or traps, as the only
    instance of its launch; updates and returns ``state``. ``max_insns`` (0 = none) is the
    watchdog's instruction budget."""
    if not 0 <= state.pc < len(prog.code):
        raise ValueError(f"pc {state.pc} is outside the code")
    res = _schedule([Machine(prog, state, mem, args, env or Env(), max_insns)])
    return res[0].st


@dataclass
class LaunchResult:
    trap: Trap | None  # the launch's trap (the first one; see run_launch)
    trap_program: int | None
    instances: list[State]  # final state of each program instance that ran, by program id


def _schedule(machines: list[Machine]) -> list[Machine]:
    """Runs instances that may synchronise, as if each had its own core: each runs until it
    blocks; a barrier opens once every unfinished instance waits in one (halted instances
    count as arrived); when nothing can move and some instance waits in sem.wait, the
    first such instance traps DEADLOCK. Stops at the first trap (the others are aborted).
    For race-free programs the result does not depend on this order."""
    while True:
        moved = False
        for m in machines:
            if m.st.finished:
                continue
            before = (m.st.retired, m.st.pc)
            m.run()
            if (m.st.retired, m.st.pc) != before or m.st.finished:
                moved = True
            if m.st.trap is not None:
                return machines
        live = [m for m in machines if not m.st.finished]
        if not live:
            return machines
        if moved:
            continue
        if all(m.st.blocked and m.st.blocked[0] == "barrier" for m in live):
            for m in live:
                m.st.released = True
            continue
        waiting = [m for m in live if m.st.blocked and m.st.blocked[0] == "sem"]
        if any(m.launch.sems[m.st.blocked[1]] > 0 for m in waiting):
            continue  # cannot happen (a waiter takes a count at once), kept for safety
        m = waiting[0]
        pc = m.st.pc
        m.st.trap = Trap("DEADLOCK", pc, m.st.blocked[1], False, m.prog.code[pc])
        m.st.blocked = None
        return machines


def run_launch(prog: Program, mem: DeviceMemory, args: Sequence[int] = (),
               grid: int | Sequence[int] = 1, *, num_cores: int = 1, const_ptr: int = 0,
               core_of: Callable[[int], int] | None = None, max_insns: int = 0,
               counts: dict | None = None,
               initial: Callable[[int], State] | None = None) -> LaunchResult:
    """Runs a launch as the device does: every program instance of ``grid`` starts with all
    registers and configuration registers zero, ``pc = entry`` and ``sram_bytes`` of zeroed
    SRAM (or, to start from another state, with ``initial(program_id)``: a :class:`State`
    of its own, which is updated in place); ``mem`` is updated in place; the launch's 16
    semaphores start at 0.

    When the grid fits the cores (``NUM_PROGRAMS <= num_cores``) the instances run as if
    concurrently (see :func:`_schedule`), so barriers and semaphores work; otherwise they
    run one after the other in program-id order (barrier and sem.wait trap BAD_SYNC then).
    The first trap ends the launch. On the device several instances run at once, so only
    launches whose instances are race-free and trap at most once (or all alike) compare
    exactly. ``core_of(program_id)`` gives the CORE_ID an instance sees (default 0)."""
    g = [grid] if isinstance(grid, int) else list(grid)
    g = tuple(g + [1] * (3 - len(g)))
    gx, gy, gz = g
    n = gx * gy * gz
    launch = Launch()

    def machine(pid):
        env = Env((pid % gx, pid // gx % gy, pid // (gx * gy)), g,
                  core_of(pid) if core_of else 0, num_cores, const_ptr)
        if initial is None:
            st = State(bytearray(prog.sram_bytes), pc=prog.entry, counts=counts)
        else:
            st = initial(pid)
            if not 0 <= st.pc < len(prog.code):
                raise ValueError(f"pc {st.pc} of program {pid} is outside the code")
        return Machine(prog, st, mem, args, env, max_insns, launch)

    def result(ms):
        for pid, m in enumerate(ms):
            if m.st.trap is not None:
                return LaunchResult(m.st.trap, pid, [x.st for x in ms])
        return LaunchResult(None, None, [x.st for x in ms])

    if n <= num_cores:
        return result(_schedule([machine(pid) for pid in range(n)]))
    out: list[Machine] = []
    for pid in range(n):
        m = machine(pid)
        _schedule([m])
        out.append(m)
        if m.st.trap is not None:
            break
    return result(out)


# --------------------------------------------------------------------------- semantics
#
# One function per mnemonic, from the spec's summaries (docs/isa.md), docs/numerics.md and
# the "semantics the spec leaves implicit" of docs/firmware-sim.md.

SEMANTICS: dict[str, Callable[[Machine, Insn], None]] = {}
OPERAND_CHECKS: dict[str, Callable[[Insn], bool]] = {}


def insn(*names: str):
    def reg(fn):
        for n in names:
            SEMANTICS[n] = fn
        return fn
    return reg


# ---- scalar ALU ----

def _div(a: int, b: int) -> int:
    a, b = s64(a), s64(b)
    if b == 0:
        return MASK64  # -1
    if a == -(1 << 63) and b == -1:
        return a
    q = abs(a) // abs(b)
    return -q if (a < 0) != (b < 0) else q


def _rem(a: int, b: int) -> int:
    sa, sb = s64(a), s64(b)
    if sb == 0:
        return a
    if sa == -(1 << 63) and sb == -1:
        return 0
    r = abs(sa) % abs(sb)
    return -r if sa < 0 else r


_ALU_RR = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "mulh": lambda a, b: (s64(a) * s64(b)) >> 64,
    "mulhu": lambda a, b: (a * b) >> 64,
    "div": _div,
    "divu": lambda a, b: a // b if b else MASK64,
    "rem": _rem,
    "remu": lambda a, b: a % b if b else a,
    "and": lambda a, b: a & b,
    "or": lambda a, b: a | b,
    "xor": lambda a, b: a ^ b,
    "shl": lambda a, b: a << (b & 63),
    "shr": lambda a, b: a >> (b & 63),
    "sra": lambda a, b: s64(a) >> (b & 63),
    "slt": lambda a, b: int(s64(a) < s64(b)),
    "sltu": lambda a, b: int(a < b),
}
_ALU_RI = {
    "addi": "add", "andi": "and", "ori": "or", "xori": "xor", "shli": "shl", "shri": "shr",
    "srai": "sra", "slti": "slt", "sltiu": "sltu", "muli": "mul",
}

for _name, _fn in _ALU_RR.items():
    def _rr(m, d, fn=_fn):
        m.w(d.rd, fn(m.r(d.rs1), m.r(d.rs2)))
    SEMANTICS[_name] = _rr

for _name, _base in _ALU_RI.items():
    def _ri(m, d, fn=_ALU_RR[_base]):
        m.w(d.rd, fn(m.r(d.rs1), d.imm & MASK64))
    SEMANTICS[_name] = _ri


@insn("li")
def _li(m, d):
    m.w(d.rd, d.imm)


@insn("lih")
def _lih(m, d):
    m.w(d.rd, ((d.imm & MASK32) << 32) | (m.r(d.rd) & MASK32))


# ---- control ----

_BRANCHES = {
    "beq": lambda a, b: a == b,
    "bne": lambda a, b: a != b,
    "blt": lambda a, b: s64(a) < s64(b),
    "bge": lambda a, b: s64(a) >= s64(b),
    "bltu": lambda a, b: a < b,
    "bgeu": lambda a, b: a >= b,
}
for _name, _cond in _BRANCHES.items():
    def _br(m, d, cond=_cond):
        if cond(m.r(d.rs1), m.r(d.rs2)):
            m.jump(m.st.pc + d.target)
    SEMANTICS[_name] = _br


@insn("jmp")
def _jmp(m, d):
    m.jump(m.st.pc + d.target)


@insn("jal")
def _jal(m, d):
    m.w(d.rd, m.st.pc + 1)
    m.jump(m.st.pc + d.target)


@insn("jr")
def _jr(m, d):
    m.jump(m.r(d.rs1))


@insn("loop")
def _loop(m, d):
    m.w(d.rd, m.r(d.rd) - 1)
    if m.r(d.rd) != 0:  # re-read: `loop r0` never branches
        m.jump(m.st.pc + d.target)


@insn("halt")
def _halt(m, d):
    m.st.halted = True


@insn("nop")
def _nop(m, d):
    pass


# ---- special registers, arguments ----

@insn("csrr")
def _csrr(m, d):
    name = SREG_NAMES[d.sreg]
    if name in WRITABLE:
        m.w(d.rd, m.csr(name))
    else:
        m.w(d.rd, m.env.sreg(name, m.st, m.sram_bytes, m.nargs))


OPERAND_CHECKS["csrr"] = lambda d: d.sreg in SREG_NAMES


@insn("csrw")
def _csrw(m, d):
    m.st.csr[SREG_NAMES[d.sreg]] = m.r(d.rs1)


OPERAND_CHECKS["csrw"] = lambda d: d.sreg in WRITABLE_IDS


@insn("ldarg")
def _ldarg(m, d):
    if d.arg >= m.nargs:
        raise TrapError("BAD_ARG", d.arg)
    m.w(d.rd, m.args[d.arg] if d.arg < len(m.args) else 0)


# ---- SRAM loads and stores ----

_LOADS = {"lb": (1, True), "lbu": (1, False), "lh": (2, True), "lhu": (2, False),
          "lw": (4, True), "lwu": (4, False), "ld": (8, False)}
_STORES = {"sb": 1, "sh": 2, "sw": 4, "sd": 8}

for _name, (_size, _signed) in _LOADS.items():
    def _ld(m, d, size=_size, signed=_signed):
        v = m.load((m.r(d.rs1) + d.imm) & MASK64, size)
        m.w(d.rd, sext(v, 8 * size) if signed else v)
    SEMANTICS[_name] = _ld

for _name, _size in _STORES.items():
    def _st(m, d, size=_size):
        m.store((m.r(d.rs1) + d.imm) & MASK64, size, m.r(d.rs2))
    SEMANTICS[_name] = _st


# ---- DMA ----

def _tag_ok(d) -> bool:
    return 0 <= d.imm < NUM_DMA_TAGS


for _name in ("dma.ld", "dma.st", "dma.wait", "dma.ld2", "dma.st2"):
    OPERAND_CHECKS[_name] = _tag_ok


@insn("dma.ld")
def _dma_ld(m, d):
    sram, va, n = m.r(d.rd), m.r(d.rs1), m.r(d.rs2)
    m.work = n
    if n == 0:
        return
    m.sram_check(sram, n, True)
    m.sram[sram:sram + n] = m.mem.read(va, n)


@insn("dma.st")
def _dma_st(m, d):
    va, sram, n = m.r(d.rd), m.r(d.rs1), m.r(d.rs2)
    m.work = n
    if n == 0:
        return
    m.sram_check(sram, n, False)
    m.mem.write(va, bytes(m.sram[sram:sram + n]))


@insn("dma.wait")
def _dma_wait(m, d):
    pass  # DMAs complete when issued


class _Repeat:
    """``rows`` copies of one row start (a zero stride), without the list."""

    def __init__(self, start: int, rows: int):
        self.start, self.rows = start, rows

    def __len__(self):
        return self.rows

    def __iter__(self):
        return (self.start for _ in range(self.rows))


def _sram_rows(m: Machine, base: int, stride: int, rows: int, size: int, write: bool,
               align: int = 1):
    """Checks ``rows`` SRAM rows of ``size`` bytes, ``stride`` apart (mod 2^64), r
    ascending, and returns their starts. A nonzero stride leaves the SRAM within
    SRAM_SIZE + 1 rows, so the first failing row comes quickly; with a zero stride every row
    is the first one."""
    stride &= MASK64
    if rows and stride == 0:
        m.sram_check(base, size, write, align)
        return _Repeat(base, rows)
    out = []
    for r in range(rows):
        a = (base + r * stride) & MASK64
        m.sram_check(a, size, write, align)
        out.append(a)
    return out


def _device_rows(m: Machine, base: int, stride: int, rows: int, size: int, write: bool):
    """Checks the device rows (r ascending) like :func:`_sram_rows` (PAGE_FAULT at the
    first byte of the first bad row that cannot be accessed)."""
    stride &= MASK64
    if stride == 0:
        m.mem.check(base, size, write)
        return _Repeat(base, rows)
    out = []
    for r in range(rows):
        if r >= 1 << 16 and rows * size > MAX_DMA_BYTES:
            raise ModelLimit(f"a 2-D DMA of {rows} rows of {size} bytes")
        a = (base + r * stride) & MASK64
        m.mem.check(a, size, write)
        out.append(a)
    return out


@insn("dma.ld2")
def _dma_ld2(m, d):
    n, rows = m.r(d.rs2), m.r(d.rs3)
    m.work = n * rows
    if n == 0 or rows == 0:
        return
    # Every SRAM row, then every device row, before any byte moves.
    srows = _sram_rows(m, m.r(d.rd), m.csr("DMA_DSTRIDE"), rows, n, True)
    vrows = _device_rows(m, m.r(d.rs1), m.csr("DMA_SSTRIDE"), rows, n, False)
    if n * rows > MAX_DMA_BYTES:
        raise ModelLimit(f"a 2-D DMA of {rows} rows of {n} bytes")
    for s, va in zip(srows, vrows):
        m.sram[s:s + n] = m.mem.read(va, n)


@insn("dma.st2")
def _dma_st2(m, d):
    n, rows = m.r(d.rs2), m.r(d.rs3)
    m.work = n * rows
    if n == 0 or rows == 0:
        return
    srows = _sram_rows(m, m.r(d.rs1), m.csr("DMA_SSTRIDE"), rows, n, False)
    vrows = _device_rows(m, m.r(d.rd), m.csr("DMA_DSTRIDE"), rows, n, True)
    if n * rows > MAX_DMA_BYTES:
        raise ModelLimit(f"a 2-D DMA of {rows} rows of {n} bytes")
    for s, va in zip(srows, vrows):
        m.mem.write(va, bytes(m.sram[s:s + n]))


# ---- vector unit ----
#
# Element types by mnemonic suffix; numerics (rounding, NaN, saturation) in numerics.py.

ESIZE = N.ESIZE


def vcheck(m: Machine, operands: Sequence[tuple[int, int, bool]], count: int) -> None:
    """Checks operands in the order given, each alignment then bounds over ``count``
    elements: ``(address, element size, is_write)``."""
    if count == 0:
        return
    for addr, esize, write in operands:
        m.sram_check(addr, esize * count, write, esize)


def _block(dst: int, dsize: int, srcs: Sequence[tuple[int, int]], count: int) -> int:
    """How many consecutive elements can be computed at once with the result of the
    sequential loop: the smallest ``j - i`` over elements ``i < j`` where writing
    destination element ``i`` overwrites bytes of a source element ``j`` read later
    (``count`` if there is none)."""
    best = count
    i = np.arange(count, dtype=np.int64)
    for s, ssize in srcs:
        if s >= dst + dsize * count or dst >= s + ssize * count:
            continue  # disjoint
        # Source elements overlapping destination element i: j in [lo, hi].
        lo = np.floor_divide(dst + i * dsize - s, ssize)
        hi = -np.floor_divide(-(dst + (i + 1) * dsize - s), ssize) - 1
        first = np.maximum(lo, i + 1)
        bad = first <= np.minimum(hi, count - 1)
        if bad.any():
            best = min(best, int((first - i)[bad].min()))
    return best


def elementwise(m: Machine, dst: int, dt: str, srcs: Sequence[tuple[int, str]], count: int,
                fn: Callable) -> None:
    """dst[i] = fn(src0[i], src1[i], ...) for i ascending, element by element (each read
    then written before the next); ``fn`` maps numpy arrays of the source types to an
    array of ``dt`` (or its bit pattern). Overlapping operands are computed in blocks
    small enough that no element reads what another element of its block writes."""
    if count == 0:
        return
    dsize = ESIZE[dt]
    step = _block(dst, dsize, [(a, ESIZE[t]) for a, t in srcs], count)
    for k in range(0, count, step):
        n = min(step, count - k)
        res = fn(*[m.array(a + k * ESIZE[t], t, n) for a, t in srcs])
        m.put(dst + k * dsize, np.asarray(res).astype(N.DTYPE[dt], copy=False))


_VBIN_OPS = {
    "vadd": N.add, "vsub": N.sub, "vmul": N.mul, "vdiv": N.div, "vmin": N.vmin,
    "vmax": N.vmax, "vand": N.band, "vor": N.bor, "vxor": N.bxor, "vshl": N.shl,
    "vshr": N.shr, "vsra": N.sra, "vcmpeq": N.cmpeq, "vcmplt": N.cmplt, "vcmple": N.cmple,
}
_VBIN_TYPES = {
    "vadd": "f32 i32 i16 i8", "vsub": "f32 i32 i16 i8", "vmul": "f32 i32 i16 i8",
    "vdiv": "f32", "vmin": "f32 i32 i16 i8", "vmax": "f32 i32 i16 i8",
    "vand": "i32 i16 i8", "vor": "i32 i16 i8", "vxor": "i32 i16 i8",
    "vshl": "i32 i16 i8", "vshr": "i32 i16 i8", "vsra": "i32 i16 i8",
    "vcmpeq": "f32 i32 i16 i8", "vcmplt": "f32 i32 i16 i8", "vcmple": "f32 i32 i16 i8",
}


def _result_type(op: str, t: str) -> str:
    # Compares of f32 give an i32 mask (-1 / 0) of the same size.
    return "i32" if op.startswith("vcmp") and t == "f32" else t


for _op, _types in _VBIN_TYPES.items():
    for _t in _types.split():
        _rt = _result_type(_op, _t)

        def _vbin(m, d, op=_VBIN_OPS[_op], t=_t, rt=_rt):
            n = m.r(d.rs3)
            m.work = n
            a, b, dst = m.r(d.rs1), m.r(d.rs2), m.r(d.rd)
            e = ESIZE[t]
            vcheck(m, [(a, e, False), (b, e, False), (dst, e, True)], n)
            elementwise(m, dst, rt, [(a, t), (b, t)], n, lambda x, y: op(x, y, t))
        SEMANTICS[f"{_op}.{_t}"] = _vbin


for _t in ("i32", "i16", "i8"):
    def _vsel(m, d, t=_t):
        n = m.r(d.rs3)
        m.work = n
        mask, src, dst = m.r(d.rs1), m.r(d.rs2), m.r(d.rd)
        e = ESIZE[t]
        vcheck(m, [(mask, e, False), (src, e, False), (dst, e, True)], n)
        elementwise(m, dst, t, [(mask, t), (src, t), (dst, t)], n,
                    lambda k, s, old: np.where(k != 0, s, old))
    SEMANTICS[f"vsel.{_t}"] = _vsel


_VUN = {
    "vabs": ("f32 i32 i16 i8", N.vabs), "vneg": ("f32 i32 i16 i8", N.vneg),
    "vrelu": ("f32", N.relu), "vexp": ("f32", N.exp), "vtanh": ("f32", N.tanh),
    "vsigmoid": ("f32", N.sigmoid), "vgelu": ("f32", N.gelu), "vrsqrt": ("f32", N.rsqrt),
    "vrecip": ("f32", N.recip), "vsqrt": ("f32", N.sqrt),
}
for _op, (_types, _fn) in _VUN.items():
    for _t in _types.split():
        def _vun(m, d, fn=_fn, t=_t):
            n = m.r(d.rs2)
            m.work = n
            a, dst = m.r(d.rs1), m.r(d.rd)
            e = ESIZE[t]
            vcheck(m, [(a, e, False), (dst, e, True)], n)
            elementwise(m, dst, t, [(a, t)], n, lambda x: fn(x, t))
        SEMANTICS[f"{_op}.{_t}"] = _vun


for _t in ("i32", "i16", "i8"):
    def _vbcast(m, d, t=_t):
        n = m.r(d.rs2)
        m.work = n
        dst, v = m.r(d.rd), m.r(d.rs1)
        e = ESIZE[t]
        vcheck(m, [(dst, e, True)], n)
        if n:
            m.put(dst, np.full(n, v & ((1 << (8 * e)) - 1), N.UTYPE[t]))
    SEMANTICS[f"vbcast.{_t}"] = _vbcast


def _reduce(kind: str, t: str):
    def fn(m, d):
        rows, cols = m.r(d.rs2), m.r(d.rs3)
        m.work = rows * cols
        if rows == 0 or cols == 0:
            return
        src, dst, stride = m.r(d.rs1), m.r(d.rd), m.csr("V_STRIDE")
        starts = _sram_rows(m, src, stride, rows, 4 * cols, False, 4)
        m.sram_check(dst, 4 * rows, True, 4)
        # Rows in order, each fully read, then its result written: all at once unless the
        # results land on a source row.
        dend = dst + 4 * rows
        if rows == 1 or all(s >= dend or s + 4 * cols <= dst for s in set(starts)):
            x = np.stack([m.array(s, t, cols) for s in starts])
            m.put(dst, N.reduce_rows(kind, x, t))
            return
        for r, s in enumerate(starts):
            m.put(dst + 4 * r, N.reduce_rows(kind, m.array(s, t, cols)[None, :], t))
    return fn


for _kind in ("sum", "max"):
    for _t in ("f32", "i32"):
        SEMANTICS[f"vred{_kind}.{_t}"] = _reduce(_kind, _t)


_TYPES = ("f32", "i32", "i16", "i8", "f16", "bf16")
for _dt in _TYPES:
    for _st in _TYPES:
        if _dt == _st:
            continue

        def _vcvt(m, d, dt=_dt, st=_st):
            n = m.r(d.rs2)
            m.work = n
            a, dst = m.r(d.rs1), m.r(d.rd)
            vcheck(m, [(a, ESIZE[st], False), (dst, ESIZE[dt], True)], n)
            elementwise(m, dst, dt, [(a, st)], n, lambda x: N.convert(x, st, dt))
        SEMANTICS[f"vcvt.{_dt}.{_st}"] = _vcvt


for _t in ("i8", "i16"):
    def _vrequant(m, d, t=_t):
        n = m.r(d.rs2)
        m.work = n
        shift = m.csr("RQ_SHIFT")
        if n == 0:
            return
        if shift > RQ_SHIFT_MAX:
            raise TrapError("BAD_OPERAND", shift)
        a, dst = m.r(d.rs1), m.r(d.rd)
        vcheck(m, [(a, 4, False), (dst, ESIZE[t], True)], n)
        mult = sext(m.csr("RQ_MULT"), 32)
        zp = sext(m.csr("RQ_ZP"), 32)
        elementwise(m, dst, t, [(a, "i32")], n,
                    lambda x: N.requant(x, mult, shift, zp, t))
    SEMANTICS[f"vrequant.{_t}"] = _vrequant


# ---- matrix unit ----

def _matmul(t: str, accumulate: bool):
    e = ESIZE[t]
    acc_t = "i32" if t == "i8" else "f32"

    def fn(m, d):
        M, Nn, K = m.csr("MM_M"), m.csr("MM_N"), m.csr("MM_K")
        for v in (M, Nn, K):
            if v > MM_MAX:
                raise TrapError("BAD_OPERAND", v)
        m.work = M * Nn * K
        if M == 0 or Nn == 0 or K == 0:
            return
        a0, b0, c0 = m.r(d.rs1), m.r(d.rs2), m.r(d.rd)
        arows = _sram_rows(m, a0, m.csr("MM_LDA"), M, K * e, False, e)
        brows = _sram_rows(m, b0, m.csr("MM_LDB"), K, Nn * e, False, e)
        crows = _sram_rows(m, c0, m.csr("MM_LDC"), M, 4 * Nn, True, 4)
        A = np.stack([m.array(r, t, K) for r in arows])
        B = np.stack([m.array(r, t, Nn) for r in brows])
        c_overlap = _rows_overlap(crows, 4 * Nn)
        if not c_overlap:
            C0 = np.stack([m.array(r, acc_t, Nn) for r in crows]) if accumulate else None
            C = N.matmul(A, B, C0, t)
            for i, r in enumerate(crows):
                m.put(r, C[i])
            return
        # C rows overlap each other: element by element, row-major, each accumulator
        # read (mma) just before its element is computed and written.
        for i, r in enumerate(crows):
            for j in range(Nn):
                c = m.array(r + 4 * j, acc_t, 1)[None, :] if accumulate else None
                m.put(r + 4 * j, N.matmul(A[i:i + 1], B[:, j:j + 1], c, t)[0])
    return fn


def _rows_overlap(starts: Sequence[int], size: int) -> bool:
    s = sorted(starts)
    return any(b < a + size for a, b in itertools.pairwise(s))


for _t in ("f32", "i8", "f16", "bf16"):
    SEMANTICS[f"mm.{_t}"] = _matmul(_t, False)
    SEMANTICS[f"mma.{_t}"] = _matmul(_t, True)


# ---- synchronisation ----

def _need_coresident(m: Machine) -> None:
    if m.env.num_programs > m.env.num_cores:
        raise TrapError("BAD_SYNC", m.env.num_programs)


@insn("barrier")
def _barrier(m, d):
    _need_coresident(m)
    if not m.st.released:
        raise Blocked("barrier")


def _sem_index(m: Machine, d) -> int:
    i = m.r(d.rs1)
    if i >= NUM_SEMAPHORES:
        raise TrapError("BAD_OPERAND", i)
    return i


@insn("sem.signal")
def _sem_signal(m, d):
    m.launch.sems[_sem_index(m, d)] += 1


@insn("sem.wait")
def _sem_wait(m, d):
    i = _sem_index(m, d)
    _need_coresident(m)
    if m.launch.sems[i] == 0:
        raise Blocked("sem", i)
    m.launch.sems[i] -= 1


@insn("fence")
def _fence(m, d):
    pass  # DMAs complete at issue and the model runs instances one at a time


def f32_bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def ceil_div(a: int, b: int) -> int:
    return -(-a // b) if b else 0
