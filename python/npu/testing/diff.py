# SPDX-License-Identifier: MIT
"""The differential checker: the same program on an implementation and on the reference model.

An implementation is anything with the :class:`Target` interface: ``run(program, state)``
executes an NPUKBIN kernel binary on an initial device state and returns the final one.
:class:`DeviceTarget` is the default: it goes through the whole stack (``npu.Device`` ->
libnpu -> driver -> firmware-sim). A vendor checks its own implementation by passing its own
target::

    from npu.testing import diff, generate

    class MyChip(diff.Target):
        name = "my-chip"
        num_cores = 8
        def run(self, program: bytes, state: diff.InitialState) -> diff.FinalState:
            ...   # map state.buffers, launch program with state.args over state.grid

    cases = [generate.gen_case(generate.RandomSource(i)) for i in range(1000)]
    report = diff.check_cases(cases, target=MyChip())
    for d in report.failures:
        print(d)                                   # differences + shrunk assembly

:func:`check_cases` composes generated :class:`~npu.testing.program.Case` objects into
kernels (many cases per launch where that is safe), runs them on the target, runs the same
kernels on the reference model, and compares every architectural result: the trap (name,
pc, address, is_write), all 32 registers, the configuration registers, the SRAM and the
cycle count of each program instance after the body (written out by the harness's
epilogue), and device memory. A divergence is shrunk to a small program and reported as assembly that
:func:`replay` (or ``python -m npu.testing.fuzz --replay FILE``) runs again.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from . import program as P
from . import refmodel as rm

__all__ = [
    "BatchReport",
    "BufferArg",
    "DeviceTarget",
    "Divergence",
    "FinalState",
    "GeneratorError",
    "InitialState",
    "ReferenceTarget",
    "Target",
    "TransientError",
    "check_case",
    "check_cases",
    "compare",
    "default_target",
    "replay",
    "reproducer",
    "run_checked",
    "shrink_case",
]


# --------------------------------------------------------------------------- the interface


@dataclass(frozen=True)
class BufferArg:
    """A kernel argument that is the device address of ``buffers[index]``."""
    index: int


@dataclass
class InitialState:
    """What a launch starts from: device buffers (each a whole number of pages; the page
    after each must be unmapped), the kernel arguments (ints, or :class:`BufferArg`), the
    grid and the watchdog's per-instance instruction budget (0: none)."""

    buffers: list[bytes]
    args: list
    grid: tuple[int, int, int] = (1, 1, 1)
    max_insns: int = 0


@dataclass
class FinalState:
    """What a launch left: the buffers' contents, the device address each was mapped at,
    and the trap (None if every program instance halted)."""

    buffers: list[bytes]
    buffer_vas: list[int]
    trap: rm.Trap | None = None


class Target:
    """An implementation of the ISA under test. ``num_cores`` is what ``NUM_CORES`` reads
    (launches that synchronise need a grid of at most that many instances)."""

    name = "target"
    num_cores = 1

    def run(self, program: bytes, state: InitialState) -> FinalState:  # pragma: no cover
        """Loads the NPUKBIN ``program`` (one kernel), maps ``state.buffers`` and launches
        the kernel with ``state.args`` over ``state.grid``; waits; returns the final state.
        A program instance that traps is reported in ``FinalState.trap``, not raised."""
        raise NotImplementedError


class DeviceTarget(Target):
    """The real stack: ``npu.Device`` -> libnpu -> driver -> firmware-sim."""

    name = "npu.Device"

    def __init__(self, device=None):
        import npu
        self.npu = npu
        self.dev = device if device is not None else npu.Device(0)
        self.num_cores = self.dev.properties.num_cores

    def run(self, program: bytes, state: InitialState) -> FinalState:
        npu = self.npu
        dev = self.dev
        mod = dev.load(program)
        tensors = []
        try:
            kernel = mod[mod.kernels[0]]
            tensors = [dev.asarray(np.frombuffer(b, np.uint8)) for b in state.buffers]
            args = [tensors[a.index] if isinstance(a, BufferArg) else a for a in state.args]
            trap = None
            try:
                dev.launch(kernel, *args, grid=state.grid, max_insns=state.max_insns)
                dev.synchronize()
            except npu.KernelFault as f:
                trap = rm.Trap(f.trap, f.pc if f.pc is not None else -1, f.address,
                               f.is_write, f.insn)
            except npu.NpuError as e:  # e.g. a device reset under a starved host
                raise TransientError(str(e)) from e
            out = [t.numpy().tobytes() for t in tensors]
            vas = [t.device_ptr for t in tensors]
            return FinalState(out, vas, trap)
        finally:
            for t in tensors:
                t.free()
            mod.unload()


class ReferenceTarget(Target):
    """The reference model behind the :class:`Target` interface (for tests of the checker
    itself, and as an example of a target)."""

    name = "reference model"
    BASE_VA = 1 << 32

    def __init__(self, num_cores: int = 4):
        self.num_cores = num_cores

    def run(self, program: bytes, state: InitialState) -> FinalState:
        prog = rm.Program.from_binary(program)
        mem = rm.DeviceMemory()
        vas, va = [], self.BASE_VA
        for b in state.buffers:
            vas.append(va)
            mem.map(va, b)
            va += len(b) + rm.PAGE_SIZE  # an unmapped page after each buffer
        const_va = va
        mem.map(const_va, prog.consts or bytes(8), writable=False)
        args = [vas[a.index] if isinstance(a, BufferArg) else a for a in state.args]
        res = rm.run_launch(prog, mem, args, state.grid, num_cores=self.num_cores,
                            const_ptr=const_va, core_of=lambda pid: pid % self.num_cores,
                            max_insns=state.max_insns)
        return FinalState([mem.read(v, len(b)) for v, b in zip(vas, state.buffers)], vas,
                          res.trap)


# --------------------------------------------------------------------------- results


@dataclass
class LaneResult:
    """The architectural result of one program instance, read back from the buffers."""

    regs: list[int] | None  # None: the epilogue did not run (halt in the body, or a trap)
    csr: list[int] | None
    cycles: int | None  # CYCLE at the end of the body
    sram: bytes | None
    region: bytes
    core_id: int
    const_ptr: int


def _lanes(comp: P.Composed, final: FinalState) -> list[list[LaneResult]]:
    """Per case, per lane."""
    mem, out = final.buffers[0], final.buffers[1]
    res = []
    for i, case in enumerate(comp.cases):
        lanes = []
        for lane in range(case.width):
            pid = comp.base[i] + lane
            dump = out[pid * P.SRAM_BYTES:(pid + 1) * P.SRAM_BYTES]
            env = np.frombuffer(dump, "<u8", 4, P.ENV_DUMP)
            done = int(env[2]) == P.DONE_MARK
            regs = [int(x) for x in np.frombuffer(dump, "<u8", 32, P.REG_DUMP)]
            csr = [int(x) for x in np.frombuffer(dump, "<u8", len(P.CSR_NAMES), P.CSR_DUMP)]
            lanes.append(LaneResult(
                regs if done else None, csr if done else None,
                int(env[3]) if done else None,
                dump[:P.TEST_SRAM] if done else None,
                mem[pid * P.REGION:(pid + 1) * P.REGION], int(env[0]), int(env[1])))
        res.append(lanes)
    return res


# --------------------------------------------------------------------------- checking


class Divergence(AssertionError):
    """The target and the reference model disagree (or a generated case did not do what it
    was meant to); ``str()`` is a full report, ``summary`` its first lines, ``source`` the
    case as assembly."""

    def __init__(self, message: str, case: P.Case | None = None, source: str | None = None,
                 summary: str | None = None):
        super().__init__(message)
        self.case = case
        self.source = source
        self.summary = summary if summary is not None else message.split("\n\n")[0]


def launch_state(comp: P.Composed, max_insns: int = 0) -> InitialState:
    n = comp.grid
    mem = bytearray(max(P.SINGLE_MEM, _pages(n * P.REGION)))
    out_size = _pages(n * P.SRAM_BYTES)
    for i, c in enumerate(comp.cases):
        lo = comp.base[i] * P.REGION
        mem[lo:lo + c.width * P.REGION] = c.region
    return InitialState([bytes(mem), bytes(out_size)],
                        [BufferArg(0), BufferArg(1), *P.EXTRA_ARGS], (n, 1, 1), max_insns)


def _pages(n: int) -> int:
    return -(-n // P.PAGE_SIZE) * P.PAGE_SIZE


def reference(comp: P.Composed, state: InitialState, vas: Sequence[int], num_cores: int,
              core_ids: Sequence[int], const_ptr: int,
              counts: dict | None = None) -> FinalState:
    """Runs the composed kernel on the reference model with the buffers where the target
    mapped them, and the placement facts (CORE_ID, CONST_PTR) the target reported."""
    mem = rm.DeviceMemory()
    for va, data in zip(vas, state.buffers):
        mem.map(va, data)
    mem.map(const_ptr - const_ptr % rm.PAGE_SIZE,
            bytes(const_ptr % rm.PAGE_SIZE) + comp.consts, writable=False)
    prog = rm.Program(comp.code, comp.entry, comp.sram_bytes, comp.consts, P.KERNEL_NAME,
                      P.NARGS)
    args = [vas[a.index] if isinstance(a, BufferArg) else a for a in state.args]
    res = rm.run_launch(prog, mem, args, state.grid, num_cores=num_cores, const_ptr=const_ptr,
                        core_of=lambda pid: core_ids[pid], max_insns=state.max_insns,
                        counts=counts)
    out = [mem.read(va, len(b)) for va, b in zip(vas, state.buffers)]
    return FinalState(out, list(vas), res.trap)


@dataclass
class BatchReport:
    cases: int = 0
    launches: int = 0
    failures: list = field(default_factory=list)  # Divergence
    counts: dict = field(default_factory=dict)  # mnemonic -> retired in the reference
    traps: dict = field(default_factory=dict)  # trap name -> cases that raised it
    skipped: list = field(default_factory=list)  # cases the model cannot carry out


def _environment(lanes: list[list[LaneResult]], num_cores: int) -> tuple[list[int], int, str]:
    """The CORE_ID of each instance and the CONST_PTR the target reported, and any
    problem with them (the prologue wrote them before anything else)."""
    flat = [ln for case in lanes for ln in case]
    cores = [r.core_id for r in flat]
    # An instance that never started (a launch stopped by a trap) left zeros.
    ptrs = {r.const_ptr for r in flat if r.const_ptr} or {0}
    problem = ""
    if any(c >= num_cores for c in cores):
        problem = f"CORE_ID values {sorted(set(cores))} are not below NUM_CORES={num_cores}"
    if len(ptrs) != 1:
        problem = f"instances of one launch saw different CONST_PTR values {sorted(ptrs)}"
    return [min(c, num_cores - 1) for c in cores], min(ptrs), problem


def run_composed(comp: P.Composed, target: Target, max_insns: int = 0,
                 counts: dict | None = None):
    """Runs a composed kernel on ``target`` and the reference; returns both results."""
    state = launch_state(comp, max_insns)
    got = target.run(comp.binary(), state)
    got_res = _lanes(comp, got)
    cores, const_ptr, problem = _environment(got_res, target.num_cores)
    want = reference(comp, state, got.buffer_vas, target.num_cores, cores, const_ptr, counts)
    return state, got, want, got_res, _lanes(comp, want), problem


def compare(comp: P.Composed, got: FinalState, want: FinalState, got_res, want_res,
             problem: str) -> list[tuple[int | None, str]]:
    """Differences, as (case index or None, description)."""
    diffs: list[tuple[int | None, str]] = []
    if problem:
        diffs.append((None, problem))
    gk = got.trap.key() if got.trap else None
    wk = want.trap.key() if want.trap else None
    if gk != wk:
        pc = (got.trap or want.trap).pc
        diffs.append((_case_of_pc(comp, pc), (f"trap: target {_trap_text(got.trap)}, "
                                             f"reference {_trap_text(want.trap)}")))
    if (got.trap or want.trap) and comp.grid > 1:
        # On a device whose instances run at once, which of the others ran (and how far)
        # before the first trap stopped the launch depends on timing: only the trap counts.
        return diffs
    for i, (gc, wc) in enumerate(zip(got_res, want_res)):
        for lane, (g, w) in enumerate(zip(gc, wc)):
            where = f"lane {lane}: " if len(gc) > 1 else ""
            if (g.regs is None) != (w.regs is None):
                diffs.append((i, where + "the harness epilogue ran on "
                              + ("the target only" if g.regs is not None else
                                 "the reference only")))
            elif g.regs is not None:
                for r in range(32):
                    if g.regs[r] != w.regs[r]:
                        diffs.append((i, (f"{where}r{r}: target {g.regs[r]:#018x}, "
                                          f"reference {w.regs[r]:#018x}")))
                for k, name in enumerate(P.CSR_NAMES):
                    if g.csr[k] != w.csr[k]:
                        diffs.append((i, (f"{where}{name}: target {g.csr[k]:#018x}, "
                                          f"reference {w.csr[k]:#018x}")))
                if g.sram != w.sram:
                    diffs.append((i, where + "SRAM " + _bytes_diff(g.sram, w.sram)))
                if g.cycles != w.cycles:
                    diffs.append((i, (f"{where}CYCLE after the body: target {g.cycles}, "
                                      f"reference {w.cycles}")))
            if g.region != w.region:
                diffs.append((i, where + "device memory " + _bytes_diff(g.region, w.region)))
    if not diffs:  # anything else in the buffers (the environment record, padding)
        for b, (x, y) in enumerate(zip(got.buffers, want.buffers)):
            if x != y:
                diffs.append((None, f"buffer {b} " + _bytes_diff(x, y)))
    return diffs


def _trap_text(t: rm.Trap | None) -> str:
    return "none (halted)" if t is None else str(t)


def _bytes_diff(got: bytes, want: bytes) -> str:
    a = np.frombuffer(got, np.uint8)
    b = np.frombuffer(want, np.uint8)
    bad = np.flatnonzero(a != b)
    first = int(bad[0])
    lo = first - first % 4
    return (f"differs at {len(bad)} bytes, first at offset {first}: target "
            f"{bytes(got[lo:lo + 8]).hex()}, reference {bytes(want[lo:lo + 8]).hex()} "
            f"(bytes {lo}..{lo + 7})")


def _case_of_pc(comp: P.Composed, pc: int) -> int | None:
    owner = None
    for i, start in enumerate(comp.case_start):
        if pc >= start:
            owner = i
    return owner


class TransientError(RuntimeError):
    """The target failed to run a launch for reasons outside the program (e.g. the host
    starved the device past its hang timeout); the launch is worth running again."""


RETRIES = {"launches": 0}  # launches run again after a transient failure (see below)


def _transient(got: FinalState, want: FinalState) -> bool:
    # A WATCHDOG the reference does not raise at the same place: on a loaded host the
    # driver's wall-clock hang detection can stop a healthy launch.
    return (got.trap is not None and got.trap.name == "WATCHDOG"
            and (want.trap is None or want.trap.key() != got.trap.key()))


def run_checked(comp: P.Composed, target: Target, max_insns: int = 0,
                counts: dict | None = None):
    """:func:`run_composed`, run once more if the target failed transiently (counted in
    ``RETRIES``); a second failure is reported as it is."""
    for attempt in (0, 1):
        c = {} if counts is not None else None
        try:
            res = run_composed(comp, target, max_insns, c)
        except TransientError:
            if attempt:
                raise
            RETRIES["launches"] += 1
            continue
        if attempt == 0 and _transient(res[1], res[2]):
            RETRIES["launches"] += 1
            continue
        if counts is not None:
            _merge(counts, c)
        return res
    raise AssertionError("unreachable")


def check_composed(comp: P.Composed, target: Target, max_insns: int = 0,
                   counts: dict | None = None) -> list[tuple[int | None, str]]:
    _state, got, want, got_res, want_res, problem = run_checked(comp, target, max_insns,
                                                                counts)
    return compare(comp, got, want, got_res, want_res, problem)


# --------------------------------------------------------------------------- cases


_TARGET: Target | None = None


def default_target() -> Target:
    global _TARGET
    if _TARGET is None:
        _TARGET = DeviceTarget()
    return _TARGET


def _expect_problem(case: P.Case, want: rm.Trap | None) -> str:
    got = want.name if want else None
    if case.expect != got:
        meant = "trap " + case.expect if case.expect else "halt"
        did = "traps " + str(want) if want else "halts"
        return f"generator: the case was meant to {meant} but the reference model {did}"
    return ""


def check_case(case: P.Case, target: Target | None = None, *, shrink: bool = False,
               counts: dict | None = None) -> rm.Trap | None:
    """Runs one case alone (one launch of ``case.width`` program instances) on ``target``
    and the reference model; raises :class:`Divergence` with a reproducer if they disagree
    (or AssertionError if the case does not do what its generator meant; or
    :class:`~npu.testing.refmodel.ModelLimit` if it asks for work the model does not carry
    out). Returns the reference's trap."""
    target = target or default_target()
    comp = P.compose([case])
    _state, got, want, gr, wr, problem = run_checked(comp, target, case.budget, counts)
    diffs = compare(comp, got, want, gr, wr, problem)
    if diffs:
        if shrink:
            case = shrink_case(case, target)
        raise Divergence(reproducer(case, target), case, case_source(case))
    bad = _expect_problem(case, want.trap)
    if bad:
        raise GeneratorError(bad, case)
    return want.trap


class GeneratorError(AssertionError):
    """A generated case did not do what its generator meant (a bug of the generator, not
    of the target: the reference model and the target agree)."""

    def __init__(self, message: str, case: P.Case):
        super().__init__(message + "\n" + case_source(case))
        self.message = message
        self.case = case


def plan(cases: Sequence[P.Case], num_cores: int, batch: int = 256) -> list[list[P.Case]]:
    """How cases share launches: plain valid cases ``batch`` per launch; valid cases that
    synchronise (one lane each) ``num_cores`` per launch, so all run at once; cases that
    trap, have a budget of their own or several lanes, one per launch (their semaphores,
    barriers and trap are then theirs alone)."""
    plain, sync, alone = [], [], []
    for c in cases:
        if c.expect is not None or c.max_insns or c.width > 1:
            alone.append(c)
        elif c.synchronises:
            sync.append(c)
        else:
            plain.append(c)
    out = [plain[k:k + batch] for k in range(0, len(plain), batch)]
    out += [sync[k:k + num_cores] for k in range(0, len(sync), num_cores)]
    out += [[c] for c in alone]
    return out


def check_cases(cases: Sequence[P.Case], target: Target | None = None, *,
                batch: int = 256, shrink: bool = True, report: BatchReport | None = None,
                progress=None) -> BatchReport:
    """Checks many cases (see :func:`plan` for how they share launches). Divergences are
    collected in the report (shrunk if ``shrink``); nothing is raised."""
    target = target or default_target()
    report = report or BatchReport()
    for chunk in plan(cases, target.num_cores, batch):
        if len(chunk) == 1:
            _check_one(chunk[0], target, shrink, report)
        else:
            comp = P.compose(chunk)
            counts: dict = {}
            try:
                diffs = check_composed(comp, target, P.DEFAULT_BUDGET, counts)
            except rm.ModelLimit:
                diffs = [(None, "not comparable")]
            report.launches += 1
            if diffs:  # find the culprits one by one (a trap stops the whole launch)
                for c in chunk:
                    _check_one(c, target, shrink, report)
            else:
                _merge(report.counts, counts)
        report.cases += len(chunk)
        if progress:
            progress(len(chunk))
    return report


def _merge(into: dict, counts: dict) -> None:
    for k, v in counts.items():
        into[k] = into.get(k, 0) + v


def _check_one(case: P.Case, target: Target, shrink: bool, report: BatchReport) -> None:
    counts: dict = {}
    try:
        trap = check_case(case, target, shrink=shrink, counts=counts)
        if trap is not None:
            report.traps[trap.name] = report.traps.get(trap.name, 0) + 1
    except rm.ModelLimit:
        report.skipped.append(case)
    except Divergence as d:
        report.failures.append(d)
    except GeneratorError as e:  # the generator's expectation, not a divergence
        report.failures.append(Divergence(str(e), e.case, case_source(e.case), e.message))
    report.launches += 1
    _merge(report.counts, counts)


# --------------------------------------------------------------------------- shrinking


def _diverges(case: P.Case, target: Target) -> bool:
    try:
        comp = P.compose([case])
        return bool(check_composed(comp, target, case.budget))
    except (ValueError, KeyError):  # a candidate that no longer links (a label was removed)
        return False


def shrink_case(case: P.Case, target: Target, budget: int = 400) -> P.Case:
    """A smaller case that still diverges: greedy deletion of body lines (keeping labels),
    then zeroing initial registers, configuration registers, the SRAM image and the
    memory region."""
    tries = 0

    def attempt(c):
        nonlocal tries
        tries += 1
        return tries <= budget and _diverges(c, target)

    body = list(case.body)
    changed = True
    while changed and tries < budget:
        changed = False
        size = max(1, len(body) // 2)  # chunks first, then single lines
        while size >= 1 and tries < budget:
            i = 0
            while i < len(body) and tries < budget:
                if any(isinstance(x, P.Label) for x in body[i:i + size]):
                    i += size
                    continue
                cand = body[:i] + body[i + size:]
                c = dataclasses.replace(case, body=cand)
                if attempt(c):
                    body = cand
                    case = c
                    changed = True
                else:
                    i += size
            size //= 2
    for r in range(1, 32):
        if case.regs[r] and tries < budget:
            regs = list(case.regs)
            regs[r] = 0
            c = dataclasses.replace(case, regs=regs)
            if attempt(c):
                case = c
    for name in list(case.csr):
        if tries < budget:
            c = dataclasses.replace(case, csr={k: v for k, v in case.csr.items() if k != name})
            if attempt(c):
                case = c
    for f in ("sram_seed", "mem_seed"):
        if getattr(case, f) and tries < budget:
            c = dataclasses.replace(case, **{f: 0})
            if attempt(c):
                case = c
    return case


# --------------------------------------------------------------------------- reporting


def reproducer(case: P.Case, target: Target | None = None) -> str:
    """A report of ``case`` on ``target``: the differences and the program as assembly
    with a header that :func:`replay` reads back."""
    target = target or default_target()
    comp = P.compose([case])
    diffs = check_composed(comp, target, case.budget)
    head = [f"divergence between {target.name} and the reference model:"]
    head += [f"  - {d}" for _ci, d in diffs] or ["  (none now: not reproducible)"]
    return "\n".join(head) + "\n\nreproducer (python -m npu.testing.fuzz --replay FILE):\n" \
        + case_source(case)


def case_source(case: P.Case) -> str:
    comp = P.compose([case])
    st = launch_state(comp, case.budget)
    hdr = (f"; npu.testing case: mem_seed={case.mem_seed} max_insns={case.budget} "
           f"width={case.width} expect={case.expect or 'halt'}\n"
           f"; launch: grid ({case.width},), max_insns {case.budget}, args mem (ptr, "
           f"{len(st.buffers[0])} bytes: the regions below), out (ptr, "
           f"{len(st.buffers[1])} bytes of zeros), "
           + ", ".join(f"{v:#x}" for v in P.EXTRA_ARGS) + "\n"
           f"; mem regions: npu.testing.program.fill_bytes({case.mem_seed}, "
           f"{case.width * P.REGION})\n")
    return hdr + comp.source()


_HDR = re.compile(r";\s*npu.testing case: mem_seed=(\d+) max_insns=(\d+) width=(\d+)")


def replay(source: str, target: Target | None = None) -> list[str]:
    """Runs a reproducer written by :func:`reproducer` on ``target`` and the reference
    model; returns the differences (empty: they agree)."""
    from .. import asm
    target = target or default_target()
    m = _HDR.search(source)
    mem_seed, max_insns, width = (int(m.group(1)), int(m.group(2)), int(m.group(3))) \
        if m else (0, P.DEFAULT_BUDGET, 1)
    kb = asm.read_kbin(asm.assemble(source, filename="<replay>"))
    k = kb.kernels[0]
    case = P.Case([0] * 32, [], mem_seed=mem_seed, max_insns=max_insns, width=width)
    comp = P.Composed([case], list(kb.code), bytes(kb.consts), k.entry, k.sram_bytes,
                      [0], [(0, len(kb.code))], base=[0])
    return [d for _ci, d in check_composed(comp, target, max_insns)]
