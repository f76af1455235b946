"""The benchmark suite of the NPU stack: ``python -m npu.bench [--short] [--json FILE]``.

It first measures its baselines on this machine, in this run (host memcpy, thread ping-pongs
over a futex, an eventfd and a spinning shared word, numpy single-thread matmul and elementwise
ops, one cffi call, a minimal computed-goto C interpreter), then each figure of the stack as a
ratio to its baseline. Every figure is sampled side by side with its baseline (one of each in
turn, so both see the same noise of a shared machine; latencies with the threads placed alike:
not pinned, on one CPU, across two), after a warm-up, and reported as the median of its
repeats with its spread. A capability the stack does not have yet is reported as
``n/a (not implemented: ...)``, found at run time, so the suite keeps running while the stack
grows and measures new capabilities as they land.

The C half of the suite is the extension ``npu._bench`` (python/bench/): baselines that need
C and tight loops over libnpu's public API. It links its own copy of libnpu, so the figures
"from C" use a device of their own; the Python figures use ``npu.Device(0)``.
docs/benchmarks.md describes every figure.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

import npu

from .. import _isa_tables

try:
    from .._bench import ffi as bffi
    from .._bench import lib as blib
except ImportError:  # a build without the benchmark extension
    bffi = blib = None

SCHEMA = "npu-bench/1"
MiB = 1 << 20
GiB = 1 << 30

# ---- modes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mode:
    name: str
    rounds: int            # side-by-side rounds of most figures
    pingpong_n: int        # round trips per ping-pong baseline
    rt_n: int              # launch round trips per placement, each paired with a futex one
    poll_n: int            # polling-wait round trips (in chunks, alternating with spin ones)
    pipelined_n: int       # launches per pipelined sample
    py_launch_n: int       # Python launches per round
    py_sync_n: int         # Python synchronous launches (each paired with a C one)
    memcpy_sizes: tuple[int, ...]
    copy_sizes: tuple[int, ...]
    np_copy_sizes: tuple[int, ...]
    elementwise_n: int     # elements of the vector / numpy elementwise figures
    matmul_n: int
    matmul_rounds: int
    scalar_iters: int      # loop iterations of the scalar-core kernel
    mem_runs: int          # subprocesses of the device-memory figure
    bytes_per_sample: int  # memcpy / copy: repeat small sizes up to this many bytes


MODES = {
    # For the smoke test only: every code path, tiny sizes, figures meaningless.
    "tiny": Mode("tiny", rounds=2, pingpong_n=50, rt_n=40, poll_n=40, pipelined_n=50,
                 py_launch_n=20, py_sync_n=20, memcpy_sizes=(MiB,), copy_sizes=(MiB,),
                 np_copy_sizes=(MiB,), elementwise_n=1 << 16, matmul_n=64, matmul_rounds=1,
                 scalar_iters=20_000, mem_runs=1, bytes_per_sample=2 * MiB),
    "short": Mode("short", rounds=15, pingpong_n=10000, rt_n=10000, poll_n=3000,
                  pipelined_n=1000, py_launch_n=1000, py_sync_n=3000,
                  memcpy_sizes=(MiB, 16 * MiB, 256 * MiB), copy_sizes=(MiB, 16 * MiB),
                  np_copy_sizes=(16 * MiB,), elementwise_n=1 << 20, matmul_n=512,
                  matmul_rounds=7, scalar_iters=10_000_000, mem_runs=3,
                  bytes_per_sample=128 * MiB),
    "full": Mode("full", rounds=31, pingpong_n=50000, rt_n=30000, poll_n=10000,
                 pipelined_n=1000, py_launch_n=2000, py_sync_n=10000,
                 memcpy_sizes=(MiB, 4 * MiB, 16 * MiB, 64 * MiB, 256 * MiB),
                 copy_sizes=(MiB, 16 * MiB, 256 * MiB), np_copy_sizes=(16 * MiB, 256 * MiB),
                 elementwise_n=1 << 20, matmul_n=512, matmul_rounds=15,
                 scalar_iters=20_000_000, mem_runs=9, bytes_per_sample=512 * MiB),
}
POLL_CHUNK = 100  # polling round trips per chunk, alternating with spin ping-pong chunks

# ---- figures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    on: str      # "ratio" (value / baseline_value) or "value"
    op: str      # "<=", ">=", "<"
    bound: float
    unit: str = ""

    def text(self) -> str:
        if self.on == "ratio":
            return f"{self.op} {self.bound:g}x"
        return f"{self.op} {self.bound:g} {self.unit}".rstrip()

    def check(self, x: float) -> bool:
        return {"<=": x <= self.bound, ">=": x >= self.bound, "<": x < self.bound}[self.op]


@dataclass
class Figure:
    name: str
    section: str
    unit: str
    value: float | None = None
    baseline: str | None = None
    baseline_value: float | None = None
    ratio: float | None = None
    target: Target | None = None
    met: bool | None = None
    median: float | None = None
    spread: dict | None = None
    repeats: int = 0
    notes: str = ""
    load: float | None = None  # 1-minute load average when the figure was done
    samples: list = field(default_factory=list, repr=False)

    def to_json(self) -> dict:
        t = self.target
        return {
            "name": self.name, "section": self.section, "value": self.value,
            "unit": self.unit, "baseline": self.baseline,
            "baseline_value": self.baseline_value, "ratio": self.ratio,
            "target": t.text() if t else None,
            "target_on": t.on if t else None, "target_op": t.op if t else None,
            "target_bound": t.bound if t else None,
            "met": self.met, "median": self.median, "spread": self.spread,
            "repeats": self.repeats, "notes": self.notes, "loadavg_1m": self.load,
        }


def stats(samples) -> dict:
    a = np.asarray(samples, dtype=np.float64)
    p10, p50, p90, p99 = np.percentile(a, [10, 50, 90, 99])
    return {"median": float(p50), "p10": float(p10), "p90": float(p90), "p99": float(p99),
            "n": int(a.size)}


def _finish(fig: Figure, samples, baseline: str | None = None, baseline_samples=None,
            value: str = "median", target: Target | None = None, notes: str = "") -> Figure:
    """Fills a figure from its samples (and its baseline's samples, taken side by side)."""
    s = stats(samples)
    fig.median = s["median"]
    fig.value = s[value]
    fig.spread = {"p10": s["p10"], "p90": s["p90"]}
    if value == "p99" or fig.unit in ("us", "ns"):
        fig.spread["p99"] = s["p99"]
    fig.repeats = s["n"]
    fig.samples = list(map(float, samples))
    if baseline is not None:
        fig.baseline = baseline
        if baseline_samples is not None:
            fig.baseline_value = stats(baseline_samples)["median"]
    if fig.baseline_value:
        fig.ratio = fig.value / fig.baseline_value
    fig.target = target
    if target is not None:
        x = fig.ratio if target.on == "ratio" else fig.value
        fig.met = None if x is None else bool(target.check(x))
    if notes:
        fig.notes = notes
    return fig


def _na(name: str, section: str, unit: str, why: str, baseline: str | None = None,
        target: Target | None = None) -> Figure:
    return Figure(name, section, unit, baseline=baseline, target=target,
                  notes=f"n/a ({why})")


# ---- kernels (NPU assembly) ------------------------------------------------------------------

EMPTY = """
.kernel empty
    halt
"""

EMPTY3 = """
; three tensor arguments, no work: the cost of a launch from Python
.kernel empty3
.arg a ptr
.arg b ptr
.arg c ptr
    halt
"""

# Five ALU/branch instructions per iteration; retired = 4 + 5 * n (ldarg, li, li, ..., halt).
# bench_interp() runs the same body on the C interpreter.
ALU_LOOP = """
.kernel alu_loop
.arg n i64
    ldarg r1, n
    li    r2, 0
    li    r3, 1
top:
    add   r2, r2, r3
    xor   r4, r2, r1
    addi  r3, r3, 1
    sub   r5, r4, r3
    loop  r1, top
    halt
"""


def alu_loop_insns(n: int) -> int:
    return 4 + 5 * n


def elementwise_kernel(insn: dict, chunk: int) -> str | None:
    """An fp32 elementwise kernel over n elements: each program instance a contiguous slice,
    moved through SRAM in chunks of `chunk` elements by DMA. Operands follow the instruction's
    syntax in the ISA tables (dst, src1[, src2], count); None if the form is unknown."""
    ops = [o for o in insn["operands"]]
    if ops == ["rd", "rs1", "rs2", "rs3"]:
        binary = True
        line = f"{insn['name']} r22, r20, r21, r10"
    elif len(ops) == 3 and ops[0] == "rd" and all(o.startswith("rs") for o in ops[1:]):
        binary = False
        line = f"{insn['name']} r22, r20, r10"
    else:
        return None
    b = chunk * 4
    load_b = f"""
    add   r14, r2, r12
    li    r21, {b}
    dma.ld r21, r14, r13, 1
    dma.wait 1""" if binary else ""
    return f"""
.kernel ew
.arg x ptr
.arg y ptr
.arg z ptr
.arg n i64
.sram {3 * b}
    ldarg r1, x
    ldarg r2, y
    ldarg r3, z
    ldarg r4, n
    csrr  r5, PROGRAM_ID
    csrr  r6, NUM_PROGRAMS
    add   r7, r4, r6
    addi  r7, r7, -1
    divu  r7, r7, r6          ; slice = ceil(n / programs)
    mul   r8, r5, r7
    add   r9, r8, r7
    bltu  r9, r4, clamped
    add   r9, r4, r0
clamped:
    bgeu  r8, r9, done
chunk:
    sub   r10, r9, r8
    li    r11, {chunk}
    bltu  r10, r11, sized
    add   r10, r11, r0
sized:
    shli  r12, r8, 2
    shli  r13, r10, 2
    add   r14, r1, r12
    li    r20, 0
    dma.ld r20, r14, r13, 0
    dma.wait 0{load_b}
    li    r22, {2 * b}
    {line}
    add   r14, r3, r12
    dma.st r14, r22, r13, 2
    dma.wait 2
    add   r8, r8, r10
    bltu  r8, r9, chunk
done:
    halt
"""


# The ALU loop again, writing the core's CYCLE counter (the timing model's simulated cycles
# of this program instance) to out[0] before it halts.
ALU_LOOP_CYCLES = """
.kernel alu_loop_cycles
.arg n i64
.arg out ptr
.sram 8
    ldarg r1, n
    ldarg r7, out
    li    r2, 0
    li    r3, 1
top:
    add   r2, r2, r3
    xor   r4, r2, r1
    addi  r3, r3, 1
    sub   r5, r4, r3
    loop  r1, top
    csrr  r6, CYCLE
    sd    r6, 0(r0)
    li    r8, 8
    dma.st r7, r0, r8, 0
    dma.wait 0
    halt
"""

# Matrix-unit operand types: element size in bytes and numpy dtype of A and B as stored.
MATMUL_TYPES = {"i8": (1, np.int8), "f16": (2, np.float16), "bf16": (2, np.uint16),
                "f32": (4, np.float32)}


def matmul_tiles(n: int, esize: int, sram: int) -> tuple[int, int, int] | None:
    """Tile (TM, TN, TK) of an n x n x n matmul whose A, B and int32/f32 C tiles fit in
    `sram` bytes: TM = TN up to 128, then the longest K chunk that fits; None if none."""
    t = 128
    while t > 1 and n % t:
        t //= 2
    for tk in (1024, 512, 256, 128, 64, 32, 16, 8, 4, 2, 1):
        if tk <= n and n % tk == 0 and (2 * t * tk * esize + t * t * 4) <= sram:
            return t, t, tk
    return None


def matmul_kernel(ty: str, n: int, tiles: tuple[int, int, int]) -> str:
    """C (n x n, int32 or f32) = A (n x n) x B (n x n), all row-major in device memory.
    The C tiles are dealt out to the program instances round-robin; each tile is computed
    in SRAM from K chunks brought in by 2-D DMA (mm for the first chunk, mma after it, so the
    accumulation order is the spec's k ascending for the whole K) and stored by 2-D DMA."""
    tm, tn, tk = tiles
    es = MATMUL_TYPES[ty][0]
    a_s, b_s = 0, tm * tk * es
    c_s = b_s + tk * tn * es
    return f"""
.kernel matmul
.arg a ptr
.arg b ptr
.arg c ptr
.arg n i64
.sram {c_s + tm * tn * 4}
    ldarg r1, a
    ldarg r2, b
    ldarg r3, c
    ldarg r4, n
    csrr  r5, PROGRAM_ID
    csrr  r6, NUM_PROGRAMS
    li    r7, {tn}
    divu  r8, r4, r7          ; tiles per row of C
    li    r7, {tm}
    divu  r9, r4, r7
    mul   r10, r8, r9         ; tiles of C
    li    r11, {tm}
    csrw  MM_M, r11
    li    r11, {tn}
    csrw  MM_N, r11
    li    r11, {tk}
    csrw  MM_K, r11
    li    r11, {tk * es}
    csrw  MM_LDA, r11
    li    r11, {tn * es}
    csrw  MM_LDB, r11
    li    r11, {tn * 4}
    csrw  MM_LDC, r11
    muli  r12, r4, {es}       ; bytes per row of A and B
    shli  r13, r4, 2          ; bytes per row of C
tile:
    bgeu  r5, r10, done
    divu  r14, r5, r8         ; tile row
    remu  r15, r5, r8         ; tile column
    muli  r16, r14, {tm}
    mul   r16, r16, r12
    add   r16, r16, r1        ; A: first row of the tile
    muli  r17, r15, {tn * es}
    add   r17, r17, r2        ; B: first column of the tile
    muli  r18, r14, {tm}
    mul   r18, r18, r13
    muli  r19, r15, {tn * 4}
    add   r18, r18, r19
    add   r18, r18, r3        ; C tile
    li    r20, 0              ; k0
kloop:
    csrw  DMA_SSTRIDE, r12
    li    r21, {tk * es}
    csrw  DMA_DSTRIDE, r21
    muli  r22, r20, {es}
    add   r23, r16, r22
    li    r24, {a_s}
    li    r25, {tm}
    dma.ld2 r24, r23, r21, r25, 0    ; A[tile rows, k0:k0+TK]
    mul   r22, r20, r12
    add   r23, r17, r22
    li    r21, {tn * es}
    csrw  DMA_DSTRIDE, r21
    li    r24, {b_s}
    li    r25, {tk}
    dma.ld2 r24, r23, r21, r25, 1    ; B[k0:k0+TK, tile columns]
    dma.wait 0
    dma.wait 1
    li    r26, {c_s}
    li    r27, {a_s}
    li    r28, {b_s}
    bne   r20, r0, accumulate
    mm.{ty} r26, r27, r28
    jmp   next
accumulate:
    mma.{ty} r26, r27, r28
next:
    addi  r20, r20, {tk}
    bltu  r20, r4, kloop
    li    r21, {tn * 4}
    csrw  DMA_SSTRIDE, r21
    csrw  DMA_DSTRIDE, r13
    li    r24, {c_s}
    li    r25, {tm}
    dma.st2 r18, r24, r21, r25, 2
    dma.wait 2
    add   r5, r5, r6
    jmp   tile
done:
    halt
"""


def matmul_reference(ty: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """What the spec says C is: int32 wrapping sums, or fp32 products each rounded, added
    k ascending with a rounding after every addition (no FMA)."""
    if ty == "i8":
        return (a.astype(np.int64) @ b.astype(np.int64)).astype(np.int32)
    fa, fb = as_f32(ty, a), as_f32(ty, b)
    acc = np.zeros((fa.shape[0], fb.shape[1]), np.float32)
    for k in range(fa.shape[1]):
        acc += np.multiply.outer(fa[:, k], fb[k, :])  # float32 throughout
    return acc


def as_f32(ty: str, x: np.ndarray) -> np.ndarray:
    if ty == "bf16":
        return (x.astype(np.uint32) << 16).view(np.float32)
    return x.astype(np.float32)


def matmul_inputs(ty: str, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    if ty == "i8":
        return (rng.integers(-128, 128, (n, n), dtype=np.int8),
                rng.integers(-128, 128, (n, n), dtype=np.int8))
    x = rng.standard_normal((2, n, n), dtype=np.float32)
    if ty == "f32":
        return x[0], x[1]
    if ty == "f16":
        return x[0].astype(np.float16), x[1].astype(np.float16)
    bits = (x.view(np.uint32) >> 16).astype(np.uint16)  # bf16 by truncation
    return bits[0], bits[1]


# ---- capabilities: what the stack under test offers ------------------------------------------

def _isa_insns() -> dict[str, dict]:
    return {i["name"]: i for i in _isa_tables.INSNS}


def vector_insn(op: str) -> dict | None:
    """The ISA's fp32 instruction for elementwise `op` (add, relu, exp), if any."""
    insns = _isa_insns()
    for name in (f"v{op}.f32", f"v{op}f32", f"v{op}"):
        if name in insns:
            return insns[name]
    return None


def matrix_insns() -> list[str]:
    return sorted(n for n, i in _isa_insns().items() if i.get("timing") == "matrix")


def sdk_header() -> str:
    """The text of the installed public header npu/npu.h ("" if not found): what libnpu
    offers, for figures that need an API the suite cannot call before it exists."""
    try:
        with open(os.path.join(npu.get_include(), "npu", "npu.h")) as f:
            return f.read()
    except (OSError, AttributeError):
        return ""


def sdk_functions(pattern: str) -> list[str]:
    """Public libnpu functions whose name matches the regular expression `pattern`."""
    return sorted(set(re.findall(rf"\b(npu_\w*(?:{pattern})\w*)\s*\(", sdk_header())))


def _isa_version() -> str:
    return "%d.%d" % _isa_tables.ISA_VERSION


# ---- machine -------------------------------------------------------------------------------

def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _openblas_corename() -> str | None:
    """The kernel OpenBLAS picked at run time (DYNAMIC_ARCH builds), without threadpoolctl."""
    import ctypes
    try:
        with open("/proc/self/maps") as f:
            libs = {ln.split()[-1] for ln in f if "openblas" in ln.lower() and "/" in ln}
    except OSError:
        return None
    for path in sorted(libs):
        try:
            so = ctypes.CDLL(path)
        except OSError:
            continue
        for sym in ("openblas_get_corename", "openblas_get_corename64_",
                    "scipy_openblas_get_corename64_", "scipy_openblas_get_corename"):
            fn = getattr(so, sym, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                return fn().decode()
    return None


@functools.lru_cache(maxsize=1)
def numpy_blas() -> dict:
    """numpy's BLAS: build-time name and version (np.show_config), and the kernel picked at
    run time (threadpoolctl if installed, else OpenBLAS's own corename)."""
    info: dict[str, Any] = {"numpy": np.__version__}
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info.update(name=cfg.get("name"), version=cfg.get("version"),
                    config=cfg.get("openblas configuration"))
    except Exception:  # older numpy: no dict mode
        pass
    try:
        import threadpoolctl
        for p in threadpoolctl.threadpool_info():
            if p.get("user_api") == "blas":
                info.update(kernel=p.get("architecture"), internal_api=p.get("internal_api"),
                            library=os.path.basename(p.get("filepath", "")),
                            default_threads=p.get("num_threads"))
                break
    except ImportError:
        core = _openblas_corename()
        if core:
            info["kernel"] = core
    return info


def blas_text() -> str:
    b = numpy_blas()
    return (f"{b.get('name', '?')} {b.get('version', '')}".strip()
            + (f" (kernel {b['kernel']})" if b.get("kernel") else ""))


def machine_info() -> dict:
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "cpu_model": _cpu_model(),
        "cpus": os.cpu_count(),
        "cpus_usable": len(usable_cpus()),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "numpy_blas": numpy_blas(),
        "loadavg_at_start": load,
        "npu_version": npu.__version__,
        "isa_version": _isa_version(),
        "sim_config": os.environ.get("NPU_SIM_CONFIG", ""),
    }


# ---- numpy single-thread worker ---------------------------------------------------------------

_WORKER = r"""
import json, sys, time
import numpy as np
try:
    import threadpoolctl
    blas = [p for p in threadpoolctl.threadpool_info() if p.get("user_api") == "blas"]
    threads = blas[0]["num_threads"] if blas else None
except ImportError:
    threads = None
print(json.dumps({"ready": True, "blas_threads": threads}), flush=True)
rng = np.random.default_rng(0)
cache = {}
for line in sys.stdin:
    req = json.loads(line)
    n, dt, reps = req["n"], req["dtype"], req["reps"]
    key = (n, dt)
    if key not in cache:
        if dt == "float32":
            cache[key] = (rng.standard_normal((n, n), dtype=np.float32),
                          rng.standard_normal((n, n), dtype=np.float32))
        else:
            cache[key] = (rng.integers(-128, 128, (n, n)).astype(dt),
                          rng.integers(-128, 128, (n, n)).astype(dt))
    a, b = cache[key]
    out = []
    a @ b  # warm-up
    for _ in range(reps):
        t0 = time.perf_counter_ns()
        a @ b
        out.append(time.perf_counter_ns() - t0)
    print(json.dumps({"ns": out}), flush=True)
"""


class NumpyWorker:
    """numpy in a subprocess whose BLAS is limited to one thread by its environment (the
    suite's own process may already have started a BLAS thread pool). Kept running, so its
    samples can be interleaved with the NPU's."""

    def __init__(self):
        env = dict(os.environ)
        for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                  "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
            env[v] = "1"
        self.proc = subprocess.Popen([sys.executable, "-c", _WORKER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env)
        self.blas_threads = json.loads(self.proc.stdout.readline())["blas_threads"]

    def matmul_ns(self, n: int, dtype: str, reps: int) -> list[int]:
        self.proc.stdin.write(json.dumps({"n": n, "dtype": dtype, "reps": reps}) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())["ns"]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


# ---- the C device (npu._bench's libnpu) ------------------------------------------------------

class BenchError(RuntimeError):
    pass


def _bcheck(ret: int, what: str) -> None:
    if ret:
        name = bffi.string(blib.npu_error_name(ret)).decode()
        msg = bffi.string(blib.npu_last_error_message()).decode()
        raise BenchError(f"{what}: {name}: {msg}")


class CDevice:
    """A device opened through npu._bench's own libnpu, for loops that run in C."""

    def __init__(self):
        out = bffi.new("npu_device_t **")
        _bcheck(blib.npu_device_open(0, out), "npu_device_open")
        self.h = out[0]
        self._mods = []
        self._allocs = []

    def kernel(self, program: npu.Program, name: str):
        mod = bffi.new("npu_module_t **")
        _bcheck(blib.npu_module_load_data(self.h, program.binary, len(program.binary), mod),
                "npu_module_load_data")
        self._mods.append(mod[0])
        k = bffi.new("npu_kernel_t **")
        _bcheck(blib.npu_module_get_kernel(mod[0], name.encode(), k), "npu_module_get_kernel")
        return k[0]

    def alloc(self, nbytes: int) -> int:
        p = bffi.new("npu_deviceptr_t *")
        _bcheck(blib.npu_mem_alloc(self.h, nbytes, p), "npu_mem_alloc")
        self._allocs.append(p[0])
        return p[0]

    def free(self, ptr: int) -> None:
        self._allocs.remove(ptr)
        blib.npu_mem_free(self.h, ptr)

    def htod(self, ptr: int, a: np.ndarray) -> None:
        _bcheck(blib.npu_memcpy_htod(self.h, ptr, bffi.from_buffer(a), a.nbytes), "htod")

    def dtoh(self, a: np.ndarray, ptr: int) -> None:
        _bcheck(blib.npu_memcpy_dtoh(self.h, bffi.from_buffer(a), ptr, a.nbytes), "dtoh")

    def launch_rt(self, kernel, args=(), grid: int = 1, n: int = 1,
                  poll: bool = False) -> np.ndarray:
        """n x (launch + wait), each timed, ns; the wait sleeps in npu_device_synchronize,
        or with poll=True spins: npu_stream_synchronize in libnpu's NPU_WAIT_SPIN mode."""
        a = bffi.new("uint64_t[]", list(args) or [0])
        out = np.empty(n, np.int64)
        wait = blib.BENCH_WAIT_POLL if poll else blib.BENCH_WAIT_SYNC
        _bcheck(blib.bench_launch_rt(self.h, kernel, a, len(args), grid, wait, n,
                                     bffi.from_buffer("int64_t[]", out)), "bench_launch_rt")
        return out

    def launch_vs_pingpong(self, kernel, n: int, cpus: tuple[int, int] = (-1, -1),
                           kind: str = "futex", warmup: int = 100, args=(), grid: int = 1
                           ) -> tuple[np.ndarray, np.ndarray]:
        """n launch round trips and n ping-pong round trips, one of each in turn (us); the
        ping-pong threads on cpus (-1: unpinned)."""
        a = bffi.new("uint64_t[]", list(args) or [0])
        lt, pp = np.empty(n, np.int64), np.empty(n, np.int64)
        _bcheck(blib.bench_launch_vs_pingpong(
            self.h, kernel, a, len(args), grid, PINGPONG[kind], cpus[0], cpus[1], warmup, n,
            bffi.from_buffer("int64_t[]", lt), bffi.from_buffer("int64_t[]", pp)),
            "bench_launch_vs_pingpong")
        return lt / 1e3, pp / 1e3

    def launch_pipelined(self, kernel, n: int, args=(), grid: int = 1) -> tuple[int, int]:
        a = bffi.new("uint64_t[]", list(args) or [0])
        sub, tot = bffi.new("int64_t *"), bffi.new("int64_t *")
        _bcheck(blib.bench_launch_pipelined(self.h, kernel, a, len(args), grid, n, sub, tot),
                "bench_launch_pipelined")
        return sub[0], tot[0]

    def graph_replay(self, kernel, n: int, reps: int, args=(), grid: int = 1
                     ) -> tuple[np.ndarray, np.ndarray]:
        """A graph of n launches, replayed reps times: (submit, total) ns per replay."""
        a = bffi.new("uint64_t[]", list(args) or [0])
        sub, tot = np.empty(reps, np.int64), np.empty(reps, np.int64)
        _bcheck(blib.bench_graph_replay(self.h, kernel, a, len(args), grid, n, reps,
                                        bffi.from_buffer("int64_t[]", sub),
                                        bffi.from_buffer("int64_t[]", tot)),
                "bench_graph_replay")
        return sub, tot

    def copy_2d_ns(self, direction: int, ptr: int, dpitch: int, host: np.ndarray,
                   hpitch: int, width: int, height: int, iters: int) -> np.ndarray:
        out = np.empty(iters, np.int64)
        _bcheck(blib.bench_npu_copy_2d(self.h, direction, ptr, dpitch, bffi.from_buffer(host),
                                       hpitch, width, height, iters,
                                       bffi.from_buffer("int64_t[]", out)),
                "bench_npu_copy_2d")
        return out

    def copy_ns(self, direction: int, ptr: int, host: np.ndarray, nbytes: int,
                iters: int) -> np.ndarray:
        out = np.empty(iters, np.int64)
        _bcheck(blib.bench_npu_copy(self.h, direction, ptr, bffi.from_buffer(host), nbytes,
                                    iters, bffi.from_buffer("int64_t[]", out)), "bench_npu_copy")
        return out

    def close(self) -> None:
        if self.h is not None:
            blib.npu_device_close(self.h)
            self.h = None


# ---- baselines (C) ---------------------------------------------------------------------------

def memcpy_gbps(dst: np.ndarray, src: np.ndarray, nbytes: int, iters: int) -> np.ndarray:
    out = np.empty(iters, np.int64)
    ret = blib.bench_memcpy(bffi.from_buffer(dst), bffi.from_buffer(src), nbytes, iters,
                            bffi.from_buffer("int64_t[]", out))
    if ret:
        raise BenchError(f"bench_memcpy: {ret}")
    return nbytes / out  # bytes per ns = GB/s


PINGPONG = {"futex": 0, "eventfd": 1, "spin": 2}
PLACE_TEXT = {None: "threads not pinned", "same": "one CPU", "cross": "across CPUs"}


def _bcheck_errno(ret: int, what: str) -> None:
    if ret:
        raise BenchError(f"{what}: {os.strerror(-ret)}")


def pingpong_us(kind: str, n: int, warmup: int = 200,
                cpus: tuple[int, int] = (-1, -1)) -> np.ndarray:
    """n round trips between two threads on cpus (ping, pong; -1: unpinned), us."""
    out = np.empty(n, np.int64)
    _bcheck_errno(blib.bench_pingpong(PINGPONG[kind], cpus[0], cpus[1], warmup, n,
                                      bffi.from_buffer("int64_t[]", out)),
                  f"bench_pingpong({kind})")
    return out / 1e3


@functools.lru_cache(maxsize=1)
def usable_cpus() -> tuple[int, ...]:
    """The CPUs this process may run on, as at the first call (before any pinning)."""
    return tuple(sorted(os.sched_getaffinity(0)))


def placement_cpus(where: str | None) -> tuple[int, int]:
    """(this thread's CPU, the other side's CPU) for a placement; (-1, -1) for none."""
    cpus = usable_cpus()
    if where is None:
        return -1, -1
    if where == "cross" and len(cpus) < 2:
        raise BenchError("needs two usable CPUs")
    return cpus[0], cpus[0] if where == "same" else cpus[1]


def thread_activity() -> dict[int, tuple[int, int]]:
    """{thread id: (CPU it last ran on, context switches so far)} for this process."""
    out = {}
    for name in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{name}/stat") as f:
                cpu = int(f.read().rsplit(")", 1)[1].split()[36])
            with open(f"/proc/self/task/{name}/status") as f:
                sw = sum(int(ln.split()[1]) for ln in f if "ctxt_switches" in ln)
        except (OSError, IndexError, ValueError):
            continue
        out[int(name)] = (cpu, sw)
    return out


def where_threads_ran(before: dict, after: dict) -> str:
    """Which CPUs this thread and the other threads that switched in between last ran on."""
    me = threading.get_native_id()
    others = sorted({cpu for tid, (cpu, sw) in after.items()
                     if tid != me and tid in before and sw > before[tid][1]})
    mine = after.get(me, (None, 0))[0]
    return (f"this thread last on CPU {mine}, the other active threads on CPU "
            f"{', '.join(map(str, others)) or '-'}")


class Placement:
    """``with Placement("same" | "cross" | None):`` pins every thread of this process: the
    calling thread on the first usable CPU, every other thread (the simulated devices'
    command processors and cores, libnpu's threads) on the same CPU ("same") or the second
    ("cross"). Thread hand-offs cost very different amounts on one CPU and across two (on a
    VM, waking an idle vCPU goes through the hypervisor) and the scheduler picks either when
    nothing is pinned; pinning both a figure and its baseline the same way compares like
    with like. Threads keep their affinity when they sleep, so the device stays placed."""

    def __init__(self, where: str | None):
        self.where = where
        self.saved: dict[int, set[int]] = {}

    def __enter__(self) -> "Placement":
        if self.where is None:
            return self
        me_cpu, other_cpu = placement_cpus(self.where)
        me = threading.get_native_id()
        for name in os.listdir("/proc/self/task"):
            tid = int(name)
            try:
                self.saved[tid] = os.sched_getaffinity(tid)
                os.sched_setaffinity(tid, {me_cpu if tid == me else other_cpu})
            except OSError:  # the thread has just exited
                pass
        return self

    def __exit__(self, *exc) -> None:
        for tid, mask in self.saved.items():
            try:
                os.sched_setaffinity(tid, mask)
            except OSError:
                pass


def interp_mips(iters: int) -> float:
    insns, ns = bffi.new("uint64_t *"), bffi.new("int64_t *")
    if blib.bench_interp(iters, insns, ns):
        raise BenchError("bench_interp failed")
    return insns[0] / ns[0] * 1e3


def cffi_call_ns(calls: int) -> float:
    f = blib.bench_nop
    r = range(calls)
    t0 = time.perf_counter_ns()
    for _ in r:
        f(1)
    return (time.perf_counter_ns() - t0) / calls


def _iters_for(nbytes: int, budget: int) -> int:
    return max(3, min(200, budget // nbytes))


@contextlib.contextmanager
def sdk_launch_stubbed():
    """Within the block the Python SDK's launches reach bench_launch_stub, not libnpu: the
    SDK's launch helper (npupy_launch*, python/build_ffi.py) calls through a pointer that
    the SDK lets the suite set."""
    from .. import _core
    stub = int(bffi.cast("uintptr_t", bffi.addressof(blib, "bench_launch_stub")))
    _core.lib.npupy_set_launch_impl(_core.ffi.cast("void *", stub))
    try:
        yield
    finally:
        _core.lib.npupy_set_launch_impl(_core.ffi.NULL)


# ---- the suite ---------------------------------------------------------------------------------

class Suite:
    def __init__(self, mode: Mode, log: Callable[[str], None] | None = None):
        self.mode = mode
        self.figures: list[Figure] = []
        self.warnings: list[str] = []  # stack errors outside any figure (warm-ups)
        self.log = log or (lambda s: None)
        self.rng = np.random.default_rng(1)

    def add(self, fig: Figure) -> Figure:
        try:
            fig.load = round(os.getloadavg()[0], 2)
        except OSError:
            pass
        self.figures.append(fig)
        self.log(f"  {fig.name}: " + (format_value(fig.value, fig.unit) if fig.value is not None
                                       else fig.notes))
        return fig

    def section(self, name: str, fn: Callable[[], None]) -> None:
        self.log(f"[{name}]")
        t0 = time.perf_counter()
        if name not in ("baselines", "memory"):
            # Both devices may have sat idle through the sections before this one.
            self.warm_up(f"{name} (C device)", lambda: self.cdev.launch_rt(self.k_empty, n=3))
            self.warm_up(f"{name} (Python device)", self._py_empty)
        try:
            fn()
        except Exception as e:  # a broken layer must not hide every other figure
            self.add(Figure(f"{name}: error", name, "", notes=f"n/a (error: {e!r})"))
        self.log(f"  ({time.perf_counter() - t0:.1f} s)")

    def _py_empty(self) -> None:
        self.dev.launch(self.py_empty)
        self.dev.synchronize()

    def warm_up(self, what: str, fn: Callable[[], Any]) -> None:
        """Runs fn() once; an error of the stack is kept as a warning of the run (printed
        with the table, in the JSON) rather than hidden, and fn() is tried once more."""
        for _ in range(2):
            try:
                fn()
                return
            except (BenchError, npu.NpuError) as e:
                self.warnings.append(f"{what} warm-up: {e}")
                self.log(f"  warm-up failed: {e}")

    def attempt(self, name: str, section: str, unit: str, baseline: str | None,
                target: Target | None, fn: Callable[[], Figure | None]) -> Figure | None:
        """Adds the figure fn() returns; an error of the stack becomes an n/a figure saying
        so, and the section goes on with its other figures."""
        try:
            fig = fn()
        except (BenchError, npu.NpuError, npu.AsmError) as e:
            fig = _na(name, section, unit, f"error: {e}", baseline, target)
        return self.add(fig) if fig is not None else None

    # -- setup ----------------------------------------------------------------------------------
    def setup(self) -> None:
        if blib is None:
            raise BenchError("npu._bench (the benchmark extension) is not built")
        self.cdev = CDevice()
        self.k_empty = self.cdev.kernel(npu.assemble(EMPTY), "empty")
        self.k_empty3 = self.cdev.kernel(npu.assemble(EMPTY3), "empty3")
        self.k_alu = self.cdev.kernel(npu.assemble(ALU_LOOP), "alu_loop")
        self.args3 = [self.cdev.alloc(4096) for _ in range(3)]
        self.dev = npu.Device(0)
        self.props = self.dev.properties
        self.py_empty = self.dev.load(npu.assemble(EMPTY))["empty"]
        self.worker = NumpyWorker()
        try:  # numpy's BLAS threads here would only compete with the device's
            import threadpoolctl
            self._blas_limit = threadpoolctl.threadpool_limits(1)
        except ImportError:
            self._blas_limit = None

    def close(self) -> None:
        if getattr(self, "worker", None):
            self.worker.close()
        if getattr(self, "cdev", None):
            self.cdev.close()

    # -- baselines -------------------------------------------------------------------------------
    def baselines(self) -> None:
        m = self.mode
        sec = "baselines"
        self._host_buffers()
        for size in m.memcpy_sizes:
            memcpy_gbps(self.host_dst, self.host_src, size, 2)
            it = _iters_for(size, m.bytes_per_sample)
            s = np.concatenate([memcpy_gbps(self.host_dst, self.host_src, size, it)
                                for _ in range(m.rounds)])
            self.add(_finish(Figure(f"host memcpy {_size(size)}", sec, "GB/s"), s))
        # Each placement on its own (the launch figures pair their own futex round trips
        # with theirs): on a VM a hand-off to an idle vCPU goes through the hypervisor.
        for kind, where in (("futex", None), ("futex", "same"), ("futex", "cross"),
                            ("eventfd", "cross"), ("spin", "cross")):
            name = f"{kind} ping-pong, {PLACE_TEXT[where]}"
            try:
                s = pingpong_us(kind, m.pingpong_n, cpus=placement_cpus(where))
            except BenchError as e:
                self.add(_na(name, sec, "us", str(e)))
                continue
            self.add(_finish(Figure(name, sec, "us"), s, notes="round trip between two threads"))
        w = self.worker
        reps = max(2, m.rounds // 2)
        flops = 2 * m.matmul_n ** 3
        for dt, unit in (("float32", "GFLOP/s"), ("int32", "GOP/s")):
            ns = w.matmul_ns(m.matmul_n, dt, reps if dt == "float32" else max(2, reps // 2))
            self.add(_finish(Figure(f"numpy {dt} matmul {m.matmul_n}^3, 1 thread", sec, unit),
                             flops / np.asarray(ns),
                             notes=f"{blas_text()}, BLAS threads in the worker: "
                                   f"{w.blas_threads or 'env=1'}"
                             if dt == "float32" else "numpy's own integer loop (no BLAS)"))
        n = m.elementwise_n
        for op in ("add", "relu", "exp"):
            s = [self._numpy_elementwise(op, n) for _ in range(m.rounds * 3)]
            self.add(_finish(Figure(f"numpy {op} f32 {_count(n)}", sec, "Gelem/s"), s))
        s = [cffi_call_ns(20000) for _ in range(m.rounds * 2)]
        self.add(_finish(Figure("one cffi call (API mode, trivial C function)", sec, "ns"), s))
        s = [interp_mips(m.scalar_iters) for _ in range(m.rounds)]
        self.add(_finish(Figure("C interpreter loop (computed goto)", sec, "MIPS"), s))

    def _ew_arrays(self, n: int):
        key = ("ew", n)
        if getattr(self, "_ew_key", None) != key:
            self._ew = (self.rng.standard_normal(n, dtype=np.float32),
                        self.rng.standard_normal(n, dtype=np.float32),
                        np.empty(n, np.float32))
            self._ew_key = key
        return self._ew

    def _numpy_elementwise(self, op: str, n: int) -> float:
        a, b, c = self._ew_arrays(n)
        f = {"add": lambda: np.add(a, b, out=c), "relu": lambda: np.maximum(a, 0, out=c),
             "exp": lambda: np.exp(a, out=c)}[op]
        f()
        t0 = time.perf_counter_ns()
        f()
        return n / (time.perf_counter_ns() - t0)

    # -- launches (C) ------------------------------------------------------------------------------
    def launches(self) -> None:
        m, c = self.mode, self.cdev
        sec = "launch"
        self.warm_up("launch", lambda: c.launch_rt(self.k_empty, n=200))
        # Each launch round trip is paired with a futex round trip between two threads placed
        # the same way, one of each in turn: unpinned (what a user gets), everything on one
        # CPU (the software path alone) and host thread / device threads on two CPUs. The
        # unpinned figures come first: a sleeping thread tends to wake where it last ran, so
        # the pinned runs would leave their placement behind.
        self._launch_pair(None)
        self.attempt(f"pipelined: {m.pipelined_n} launches + 1 wait, per launch (C)", sec, "us",
                     "launch round trip", Target("ratio", "<=", 0.2), self._pipelined)
        self._launch_pair("same")
        self._launch_pair("cross")
        self.attempt("launch round trip, polling wait, across CPUs (C)", sec, "us",
                     "spin ping-pong, across CPUs", Target("ratio", "<=", 10),
                     self._polling_wait)
        # Last: capturing needs a stream of its own, and once a second stream exists every
        # job of the default stream also signals a fence (libnpu), which would change the
        # figures above. Its baseline is taken in turn, under the same conditions.
        graph = sdk_functions("graph")
        if "npu_graph_launch" in graph and hasattr(blib, "bench_graph_replay"):
            self.attempt(f"graph replay: {m.pipelined_n} launches + 1 wait, per launch (C)",
                         sec, "us", "pipelined per launch", None, self._graph_replay)
        else:
            self.add(_na("graph replay, per launch (C)", sec, "us",
                         f"libnpu now has {', '.join(graph)}; the suite does not call it yet"
                         if graph else "not implemented: libnpu has no recorded command "
                         "buffers (graphs)", "pipelined per launch"))

    def _pipelined(self) -> Figure:
        """n launches then one wait, side by side with single round trips."""
        m, c = self.mode, self.cdev
        subs, pl, rts = [], [], []
        c.launch_pipelined(self.k_empty, min(m.pipelined_n, 100))
        for _ in range(m.rounds):
            rts.append(c.launch_rt(self.k_empty, n=100) / 1e3)
            sub, tot = c.launch_pipelined(self.k_empty, m.pipelined_n)
            subs.append(sub / m.pipelined_n / 1e3)
            pl.append(tot / m.pipelined_n / 1e3)
        return _finish(Figure(f"pipelined: {m.pipelined_n} launches + 1 wait, per launch (C)",
                              "launch", "us"), pl, "launch round trip", np.concatenate(rts),
                       target=Target("ratio", "<=", 0.2),
                       notes=f"submit alone {np.median(subs):.2f} us per launch; chunks of "
                             "100 round trips in turn with the pipelined runs; nothing pinned")

    def _graph_replay(self) -> Figure:
        """A graph of n captured launches replayed (one npu_graph_launch + one wait), side by
        side with n launches + one wait (the pipelined figure)."""
        m, c = self.mode, self.cdev
        n = m.pipelined_n
        gr, subs, pl = [], [], []
        c.graph_replay(self.k_empty, n, reps=2)
        c.launch_pipelined(self.k_empty, n)
        for _ in range(m.rounds * 5):
            sub, tot = c.graph_replay(self.k_empty, n, reps=3)
            gr.extend(tot / n / 1e3)
            subs.extend(sub / n / 1e3)
            pl.append(c.launch_pipelined(self.k_empty, n)[1] / n / 1e3)
        return _finish(Figure(f"graph replay: {n} launches + 1 wait, per launch (C)",
                              "launch", "us"), gr, "pipelined per launch", pl,
                       notes=f"npu_graph_launch of {n} captured launches of the empty kernel "
                             "on the default stream + npu_device_synchronize; "
                             f"npu_graph_launch alone {np.median(subs) * 1e3:.0f} ns per "
                             "launch; in turn with pipelined runs of the same size on the same "
                             "stream (after the stream figures: the pipelined figure above ran "
                             "before any other stream existed)")

    def _launch_pair(self, where: str | None) -> None:
        m, c, sec = self.mode, self.cdev, "launch"
        label = PLACE_TEXT[where]
        name = "launch round trip, empty kernel" + (f", {label}" if where else "") + " (C)"
        p99_name = name.replace("round trip", "round trip p99")
        base = f"futex ping-pong, {label}"
        target, p99_target = Target("ratio", "<=", 1.5), Target("ratio", "<=", 2.0)
        try:
            with Placement(where):
                before = thread_activity()
                lt, fx = c.launch_vs_pingpong(self.k_empty, m.rt_n, placement_cpus(where),
                                              warmup=min(200, m.rt_n))
                ran = where_threads_ran(before, thread_activity())
        except BenchError as e:
            self.add(_na(name, sec, "us", f"error: {e}", base, target))
            self.add(_na(p99_name, sec, "us", f"error: {e}", "its median", p99_target))
            return
        f = self.add(_finish(Figure(name, sec, "us"), lt, base, fx, target=target,
                             notes="npu_launch_kernel + npu_device_synchronize, grid 1; " +
                                   ("nothing pinned: " + ran if where is None else
                                    "host thread on one CPU, every device / libnpu thread on "
                                    + ("the same" if where == "same" else "the other"))))
        p99 = _finish(Figure(p99_name, sec, "us"), lt, "its median", value="p99",
                      target=p99_target)
        p99.baseline_value = f.median
        self._refresh_ratio(p99)
        self.add(p99)

    def _refresh_ratio(self, fig: Figure) -> None:
        fig.ratio = fig.value / fig.baseline_value if fig.baseline_value else None
        if fig.target is not None and fig.ratio is not None and fig.target.on == "ratio":
            fig.met = fig.target.check(fig.ratio)

    def _polling_wait(self) -> Figure:
        """libnpu's polling wait: npu_stream_synchronize with the device in NPU_WAIT_SPIN
        mode, which polls the driver's completion record. Spinning needs a CPU of its own
        (the device must not wait for it), so both this and its baseline run across two
        CPUs, in chunks."""
        m, c = self.mode, self.cdev
        per = min(POLL_CHUNK, m.poll_n)
        pl, sp = [], []
        with Placement("cross"):
            cpus = placement_cpus("cross")
            c.launch_rt(self.k_empty, n=min(50, per), poll=True)
            for i in range(max(1, m.poll_n // per)):
                if i & 1:
                    pl.append(c.launch_rt(self.k_empty, n=per, poll=True) / 1e3)
                    sp.append(pingpong_us("spin", per, warmup=5, cpus=cpus))
                else:
                    sp.append(pingpong_us("spin", per, warmup=5, cpus=cpus))
                    pl.append(c.launch_rt(self.k_empty, n=per, poll=True) / 1e3)
        return _finish(Figure("launch round trip, polling wait, across CPUs (C)", "launch",
                              "us"), np.concatenate(pl), "spin ping-pong, across CPUs",
                       np.concatenate(sp), target=Target("ratio", "<=", 10),
                       notes="npu_launch_kernel on a stream, then npu_stream_synchronize "
                             "with npu_device_set_wait_mode(NPU_WAIT_SPIN); "
                             "chunks of %d alternating with the spin ping-pong" % per)

    # -- Python ------------------------------------------------------------------------------------
    def python(self) -> None:
        dev, sec = self.dev, "python"
        k = dev.load(npu.assemble(EMPTY3))["empty3"]
        args = tuple(dev.empty(1024, np.float32) for _ in range(3))
        self.warm_up("python", lambda: (dev.launch(k, *args), dev.synchronize()))
        self.attempt("Python async launch, 3 tensor args", sec, "ns", "one cffi call",
                     Target("ratio", "<=", 10), lambda: self._py_async(k, args))
        self.attempt("Python async launch, SDK part (libnpu call stubbed)", sec, "ns",
                     "one cffi call", None, lambda: self._sdk_part(k, args))
        self.attempt("Python sync launch overhead over C round trip, one CPU", sec, "us",
                     "C round trip, same kernel", Target("value", "<=", 3.0, "us"),
                     lambda: self._py_sync(k, args))

    def _py_async(self, k, args) -> Figure:
        m, dev = self.mode, self.dev
        launch, B = dev.launch, m.py_launch_n
        for _ in range(B):
            launch(k, *args)
        dev.synchronize()
        py, cf = [], []
        for _ in range(m.rounds * 2):
            cf.append(cffi_call_ns(B * 10))
            t0 = time.perf_counter_ns()
            for _ in range(B):
                launch(k, *args)
            py.append((time.perf_counter_ns() - t0) / B)
            dev.synchronize()
        return _finish(Figure("Python async launch, 3 tensor args", "python", "ns"), py,
                       "one cffi call", cf, target=Target("ratio", "<=", 10),
                       notes=f"dev.launch(kernel, a, b, c) x {B}, then one synchronize "
                             "(not timed); nothing pinned")

    def _py_sync(self, k, args) -> Figure:
        """launch + synchronize from Python vs the same kernel from C, one of each in turn,
        everything on one CPU: the software path, without cross-CPU wake-ups, whose cost
        varies with placement far more than the overhead measured here."""
        m, dev = self.mode, self.dev
        launch, sync = dev.launch, dev.synchronize
        crt_one, k3, args3 = self.cdev.launch_rt, self.k_empty3, self.args3
        sy, crt = [], []

        def py_once() -> None:
            t0 = time.perf_counter_ns()
            launch(k, *args)
            sync()
            sy.append((time.perf_counter_ns() - t0) / 1e3)

        with Placement("same"):
            for _ in range(50):
                launch(k, *args)
                sync()
                crt_one(k3, args3, n=1)
            for i in range(m.py_sync_n):
                if i & 1:
                    py_once()
                crt.append(crt_one(k3, args3, n=1)[0] / 1e3)
                if not i & 1:
                    py_once()
        sy, crt = np.asarray(sy), np.asarray(crt)
        fig = _finish(Figure("Python sync launch overhead over C round trip, one CPU",
                             "python", "us"), sy - crt, "C round trip, same kernel", crt,
                      target=Target("value", "<=", 3.0, "us"),
                      notes=f"launch + synchronize, medians: Python {np.median(sy):.1f} us, "
                            f"C {np.median(crt):.1f} us; value = median of the paired "
                            "differences; all threads on one CPU")
        fig.ratio = None
        return fig

    def _sdk_part(self, k, args) -> Figure:
        """dev.launch with libnpu's npu_launch_kernel replaced by a C function that returns
        at once: the Python SDK's own share of the launch (argument checks, cffi arrays),
        to set against the whole."""
        m, dev, sec = self.mode, self.dev, "python"
        name = "Python async launch, SDK part (libnpu call stubbed)"
        launch, B = dev.launch, m.py_launch_n
        before = dev.stats().get("jobs_submitted")
        sdk, cf = [], []
        with sdk_launch_stubbed():
            for _ in range(B):
                launch(k, *args)
            for _ in range(m.rounds * 2):
                cf.append(cffi_call_ns(B * 10))
                t0 = time.perf_counter_ns()
                for _ in range(B):
                    launch(k, *args)
                sdk.append((time.perf_counter_ns() - t0) / B)
        if dev.stats().get("jobs_submitted") != before:
            return _na(name, sec, "ns", "the SDK's launches reached libnpu with its launch "
                       "helper stubbed", "one cffi call")
        return _finish(Figure(name, sec, "ns"), sdk, "one cffi call", cf,
                       notes="the same dev.launch calls with npu_launch_kernel replaced by a "
                             "C function that returns 0 (no target: the split of the figure "
                             "above between the Python SDK and the layers below it)")

    # -- copies ------------------------------------------------------------------------------------
    def _host_buffers(self) -> None:
        big = max(self.mode.memcpy_sizes + self.mode.copy_sizes)
        if getattr(self, "host_src", None) is None:
            self.host_src = np.ones(big, np.uint8)
            self.host_dst = np.ones(big, np.uint8)

    def copies(self) -> None:
        m, c = self.mode, self.cdev
        sec = "copies"
        self._host_buffers()
        dptr = c.alloc(max(m.copy_sizes))
        for direction, label in ((0, "host -> device"), (1, "device -> host")):
            for size in m.copy_sizes:
                it = _iters_for(size, m.bytes_per_sample)
                c.copy_ns(direction, dptr, self.host_src, size, 2)
                memcpy_gbps(self.host_dst, self.host_src, size, 2)
                # One copy and one memcpy in turn, so that both see the same memory
                # traffic from the rest of the machine.
                cp, mc = [], []
                for i in range(m.rounds * it):
                    if i & 1:
                        cp.append(size / c.copy_ns(direction, dptr, self.host_src, size, 1))
                    mc.append(memcpy_gbps(self.host_dst, self.host_src, size, 1))
                    if not i & 1:
                        cp.append(size / c.copy_ns(direction, dptr, self.host_src, size, 1))
                self.add(_finish(Figure(f"copy {label} {_size(size)} (C)", sec, "GB/s"),
                                 np.concatenate(cp), f"memcpy {_size(size)}",
                                 np.concatenate(mc), target=Target("ratio", ">=", 0.8),
                                 notes="npu_memcpy_htod / _dtoh, timed in C, one in turn with "
                                       "a memcpy of the same size"))
        c.free(dptr)
        self._numpy_copies()
        two_d = sdk_functions("2d|strided")
        if "npu_memcpy_2d_htod" in two_d and hasattr(blib, "bench_npu_copy_2d"):
            for direction, label in ((0, "host -> device"), (1, "device -> host")):
                self.attempt(f"copy 2-D strided {label} (C)", sec, "GB/s", "memcpy",
                             Target("ratio", ">=", 0.5),
                             lambda d=direction, lb=label: self._copy_2d(d, lb))
        else:
            self.add(_na("copy 2-D strided (C)", sec, "GB/s",
                         f"libnpu now has {', '.join(two_d)}; the suite does not call it yet"
                         if two_d else "not implemented: libnpu has no 2-D (strided) host "
                         "<-> device copy", "memcpy", Target("ratio", ">=", 0.5)))

    def _copy_2d(self, direction: int, label: str) -> Figure:
        """A column block of a row-major matrix: rows of `width` bytes, `pitch` apart on both
        sides (half of each row), in turn with a memcpy of the same bytes."""
        m, c = self.mode, self.cdev
        size = max(m.copy_sizes) if max(m.copy_sizes) <= 16 * MiB else 16 * MiB
        width = 4096 if size >= 16 * MiB else 1024
        height, pitch = size // width, 2 * width
        host = np.ones(height * pitch, np.uint8)
        dst = np.empty(size, np.uint8)
        src = np.ones(size, np.uint8)
        dptr = c.alloc(height * pitch)
        try:
            it = _iters_for(size, m.bytes_per_sample)
            c.copy_2d_ns(direction, dptr, pitch, host, pitch, width, height, 2)
            memcpy_gbps(dst, src, size, 2)
            cp, mc = [], []
            for i in range(m.rounds * it):
                if i & 1:
                    cp.append(size / c.copy_2d_ns(direction, dptr, pitch, host, pitch, width,
                                                  height, 1))
                mc.append(memcpy_gbps(dst, src, size, 1))
                if not i & 1:
                    cp.append(size / c.copy_2d_ns(direction, dptr, pitch, host, pitch, width,
                                                  height, 1))
        finally:
            c.free(dptr)
        return _finish(Figure(f"copy 2-D strided {label} (C)", "copies", "GB/s"),
                       np.concatenate(cp), f"memcpy {_size(size)}", np.concatenate(mc),
                       target=Target("ratio", ">=", 0.5),
                       notes=f"npu_memcpy_2d_{'htod' if direction == 0 else 'dtoh'}: "
                             f"{height} rows of {width} B, pitch {pitch} B on both sides "
                             f"({_size(size)}), timed in C, in turn with a memcpy of "
                             f"{_size(size)}")

    def _numpy_copies(self) -> None:
        m, dev = self.mode, self.dev
        sec = "copies"
        for size in m.np_copy_sizes:
            n = size // 4
            src = self.rng.standard_normal(n, dtype=np.float32)
            dst = np.empty_like(src)
            t = dev.empty(n, np.float32)
            it = _iters_for(size, m.bytes_per_sample)
            t.copy_from(src)
            np.copyto(dst, src)
            up, base = [], []
            for _ in range(m.rounds):
                for _ in range(it):
                    t0 = time.perf_counter_ns()
                    np.copyto(dst, src)
                    t1 = time.perf_counter_ns()
                    t.copy_from(src)
                    t2 = time.perf_counter_ns()
                    base.append(size / (t1 - t0))
                    up.append(size / (t2 - t1))
            self.add(_finish(Figure(f"copy from numpy {_size(size)} (Tensor.copy_from)", sec,
                                    "GB/s"), up, "np.copyto", base,
                             target=Target("ratio", ">=", 0.7)))
            # Device -> numpy: into an existing array if the SDK can, else a new one.
            into = getattr(t, "copy_to_host", None)
            down, base = [], []
            for _ in range(m.rounds):
                for _ in range(it):
                    t0 = time.perf_counter_ns()
                    if into:
                        np.copyto(dst, src)
                    else:
                        src.copy()
                    t1 = time.perf_counter_ns()
                    if into:
                        into(dst)
                    else:
                        t.numpy()
                    t2 = time.perf_counter_ns()
                    base.append(size / (t1 - t0))
                    down.append(size / (t2 - t1))
            how = ("Tensor.copy_to_host(out)", "np.copyto") if into else ("Tensor.numpy()",
                                                                           "ndarray.copy()")
            self.add(_finish(Figure(f"copy to numpy {_size(size)} ({how[0]})", sec, "GB/s"),
                             down, how[1], base, target=Target("ratio", ">=", 0.7),
                             notes="" if into else "both allocate a new array"))
            t.free()

    # -- vector unit -------------------------------------------------------------------------------
    def vector(self) -> None:
        m, c = self.mode, self.cdev
        n = m.elementwise_n
        cores = self.props.num_cores
        # Three buffers of `chunk` f32 in SRAM, a power of two up to 16K elements.
        chunk = 1024
        while chunk * 2 * 12 <= self.props.sram_per_core and chunk < 16384:
            chunk *= 2
        a, b, _ = self._ew_arrays(n)
        px, py_, pz = c.alloc(4 * n), c.alloc(4 * n), c.alloc(4 * n)
        c.htod(px, a)
        c.htod(py_, b)
        try:
            for op in ("add", "relu", "exp"):
                name = f"vector {op} f32 {_count(n)}, {cores} cores (C)"
                self.attempt(name, "vector", "Gelem/s", f"numpy {op}",
                             Target("ratio", ">=", 0.5),
                             lambda op=op, name=name: self._vector_op(op, name, chunk,
                                                                      (px, py_, pz)))
        finally:
            for p in (px, py_, pz):
                c.free(p)

    def _vector_op(self, op: str, name: str, chunk: int, ptrs) -> Figure:
        m, c = self.mode, self.cdev
        sec, n, cores = "vector", m.elementwise_n, self.props.num_cores
        target = Target("ratio", ">=", 0.5)
        insn = vector_insn(op)
        if insn is None:
            return _na(name, sec, "Gelem/s", f"not implemented: no {op} instruction in ISA "
                       f"{_isa_version()}", f"numpy {op}", target)
        src = elementwise_kernel(insn, chunk)
        if src is None:
            return _na(name, sec, "Gelem/s", f"the suite does not know the operand form of "
                       f"{insn['name']} ({insn['syntax']})", f"numpy {op}", target)
        a, b, _ = self._ew_arrays(n)
        want = {"add": lambda: a + b, "relu": lambda: np.maximum(a, 0),
                "exp": lambda: np.exp(a)}[op]()
        k = c.kernel(npu.assemble(src), "ew")
        args = tuple(ptrs) + (n,)
        c.launch_rt(k, args, grid=cores, n=2)
        got = np.empty(n, np.float32)
        c.dtoh(got, ptrs[2])
        # add and relu are exact in IEEE fp32; exp follows the spec's own algorithm.
        ok = np.array_equal(got, want) if op != "exp" else \
            np.allclose(got, want, rtol=1e-5, atol=0)
        if not ok:
            bad = int(np.argmax(got != want))
            return _na(name, sec, "Gelem/s", f"{insn['name']} kernel result differs from "
                       f"numpy (first at {bad}: {got[bad]!r} vs {want[bad]!r})",
                       f"numpy {op}", target)
        dv, npy = [], []
        for _ in range(m.rounds * 2):
            npy.append(self._numpy_elementwise(op, n))
            dv.append(n / float(c.launch_rt(k, args, grid=cores, n=1)[0]))
        return _finish(Figure(name, sec, "Gelem/s"), dv, f"numpy {op}", npy, target=target,
                       notes=f"{insn['name']}: device memory -> SRAM chunks of {chunk} -> "
                             f"device memory, launch + wait included; {cores} NPU cores on "
                             f"{len(usable_cpus())} host CPUs vs numpy on one")

    # -- matrix unit -------------------------------------------------------------------------------
    def matrix(self) -> None:
        m = self.mode
        n = m.matmul_n
        self._mm_ok: dict[str, tuple] = {}
        for ty in ("i8", "bf16", "f16", "f32"):
            if ty == "i8":
                name, unit = f"matmul int8->int32 {n}^3 incl. DMA, 1 core (C)", "GOP/s"
                base, target = "numpy int32 matmul", Target("ratio", ">=", 20)
            else:
                name, unit = f"matmul {ty}->fp32 {n}^3 incl. DMA, 1 core (C)", "GFLOP/s"
                base, target = "numpy float32 matmul, 1 thread", Target("ratio", ">=", 0.25)
            self.attempt(name, "matrix", unit, base, target,
                         lambda ty=ty, name=name, unit=unit, base=base, target=target:
                         self._matmul(ty, name, unit, base, target))
        name = "matmul scaling, 2 cores vs 1 (C)"
        self.attempt(name, "matrix", "GOP/s", "1 core", Target("ratio", ">=", 1.8),
                     lambda: self._matmul_scaling(name))
        for ptrs, _ in self._mm_ok.values():
            for p in ptrs:
                self.cdev.free(p)

    def _matmul(self, ty: str, name: str, unit: str, base: str, target: Target) -> Figure:
        m, c = self.mode, self.cdev
        n, sec = m.matmul_n, "matrix"
        insns = _isa_insns()
        missing = [f"{op}.{ty}" for op in ("mm", "mma") if f"{op}.{ty}" not in insns]
        if missing:
            return _na(name, sec, unit, f"not implemented: no {', '.join(missing)} in ISA "
                       f"{_isa_version()}", base, target)
        es = MATMUL_TYPES[ty][0]
        tiles = matmul_tiles(n, es, self.props.sram_per_core)
        if tiles is None:
            return _na(name, sec, unit, f"no tiling of {n}^3 fits {self.props.sram_per_core} "
                       "bytes of SRAM", base, target)
        k = c.kernel(npu.assemble(matmul_kernel(ty, n, tiles)), "matmul")
        a, b = matmul_inputs(ty, n, self.rng)
        ptrs = (c.alloc(a.nbytes), c.alloc(b.nbytes), c.alloc(n * n * 4))
        self._mm_ok[ty] = (ptrs, None)
        c.htod(ptrs[0], a)
        c.htod(ptrs[1], b)
        args = ptrs + (n,)
        c.launch_rt(k, args, n=1)
        got = np.empty((n, n), np.int32 if ty == "i8" else np.float32)
        c.dtoh(got, ptrs[2])
        want = matmul_reference(ty, a, b)
        if not np.array_equal(got.view(np.uint32), want.view(np.uint32)):
            diff = np.argwhere(got.view(np.uint32) != want.view(np.uint32))[0]
            return _na(name, sec, unit, f"result is not bit-exact to the spec's reference "
                       f"(first at {tuple(int(i) for i in diff)}: {got[tuple(diff)]!r} vs "
                       f"{want[tuple(diff)]!r})", base, target)
        self._mm_ok[ty] = (ptrs, k)
        ops = 2 * n ** 3
        dtype = "int32" if ty == "i8" else "float32"
        dv, npy = [], []
        for _ in range(m.matmul_rounds):
            npy.extend(ops / np.asarray(self.worker.matmul_ns(n, dtype, 1)))
            dv.append(ops / float(c.launch_rt(k, args, n=1)[0]))
        return _finish(Figure(name, sec, unit), dv, base, npy, target=target,
                       notes=f"tiles {tiles[0]}x{tiles[1]}, K chunks of {tiles[2]} by 2-D DMA "
                             "from device memory, mm/mma, C stored by 2-D DMA; launch + wait "
                             "included; bit-exact to the spec's accumulation order; one NPU "
                             "core vs one numpy thread")

    def _matmul_scaling(self, name: str) -> Figure:
        m, c = self.mode, self.cdev
        sec, n = "matrix", m.matmul_n
        target = Target("ratio", ">=", 1.8)
        ok = [ty for ty, (_, k) in self._mm_ok.items() if k is not None]
        if not ok:
            return _na(name, sec, "GOP/s", "no matmul kernel ran (see the figures above)",
                       "1 core", target)
        if self.props.num_cores < 2 or len(usable_cpus()) < 2:
            return _na(name, sec, "GOP/s", f"needs 2 NPU cores and 2 host CPUs (has "
                       f"{self.props.num_cores} and {len(usable_cpus())})", "1 core", target)
        ty = ok[0]
        ptrs, k = self._mm_ok[ty]
        args = ptrs + (n,)
        ops = 2 * n ** 3
        one, two = [], []
        c.launch_rt(k, args, grid=2, n=1)
        for i in range(m.matmul_rounds * 2):
            for grid in ((1, 2) if i & 1 else (2, 1)):
                ns = float(c.launch_rt(k, args, grid=grid, n=1)[0])
                (one if grid == 1 else two).append(ops / ns)
        return _finish(Figure(name, sec, "GOP/s"), two, "1 core", one, target=target,
                       notes=f"matmul {ty} {n}^3 on grid 2 vs grid 1, in turn; two NPU cores "
                             f"are two host threads on a shared {len(usable_cpus())}-CPU "
                             "machine")

    # -- scalar core -------------------------------------------------------------------------------
    def scalar(self) -> None:
        m, c = self.mode, self.cdev
        it = m.scalar_iters
        c.launch_rt(self.k_alu, (it // 10,), n=1)
        interp_mips(it // 10)
        sim, base = [], []
        for _ in range(m.rounds):
            base.append(interp_mips(it))
            ns = float(c.launch_rt(self.k_alu, (it,), n=1)[0])
            sim.append(alu_loop_insns(it) / ns * 1e3)
        self.add(_finish(Figure("scalar core, simulated instructions/s", "scalar", "MIPS"),
                         sim, "C interpreter loop", base, target=Target("ratio", ">=", 0.7),
                         notes=f"{alu_loop_insns(it) / 1e6:.0f} M instructions per launch "
                               "(add/xor/addi/sub/loop), one core; the launch round trip is "
                               "included"))

    # -- device memory -----------------------------------------------------------------------------
    def memory(self) -> None:
        sec = "memory"
        runs = [_memory_probe() for _ in range(self.mode.mem_runs)]
        self.add(_finish(Figure("open a device with 64 GiB of memory", sec, "ms"),
                         [r["open_ms"] for r in runs], target=Target("value", "<", 100, "ms"),
                         notes="NPU_SIM_CONFIG=mem=64G, first open of a fresh process "
                               f"(boots the simulator); RSS +{_med(runs, 'open_rss'):.1f} MiB"))
        alloc_mib = runs[0]["alloc_mib"]
        fig = _finish(Figure(f"RSS growth, {alloc_mib // 1024} GiB allocated, untouched",
                             sec, "MiB"), [r["alloc_rss"] for r in runs],
                      "allocated size", None, target=Target("ratio", "<=", 0.01))
        fig.baseline_value = float(alloc_mib)
        self._refresh_ratio(fig)
        self.add(fig)
        touch = runs[0]["touch_mib"]
        fig = _finish(Figure(f"RSS growth, {touch} MiB filled on the device", sec, "MiB"),
                      [r["touch_rss"] for r in runs], "bytes touched", None,
                      target=Target("ratio", "<=", 1.1))
        fig.baseline_value = float(touch)
        self._refresh_ratio(fig)
        self.add(fig)

    # -- simulated time ----------------------------------------------------------------------------
    def cycles(self) -> None:
        m, sec = self.mode, "cycles"
        it = m.scalar_iters // 10
        name = f"simulated cycles per launch, ALU loop {_count_plain(it)} iterations (API)"
        self.attempt(name, sec, "cycles", "host time per launch", None,
                     lambda: self._cycles_api(name, it))
        name = "simulated clock rate, ALU loop (in-kernel CYCLE)"
        self.attempt(name, sec, "MHz", "device clock (timing model)", None,
                     lambda: self._cycles_in_kernel(name, m.scalar_iters))

    def _cycles_api(self, name: str, it: int) -> Figure:
        """Each launch's simulated cycles as the SDK reports them (Event.elapsed), next to
        its host time."""
        dev, sec = self.dev, "cycles"
        k = dev.load(npu.assemble(ALU_LOOP))["alu_loop"]
        e0, e1 = dev.event(), dev.event()
        cyc, host = [], []
        for _ in range(max(3, self.mode.rounds)):
            e0.record()
            dev.launch(k, it)
            e1.record()
            e1.synchronize()
            el = e0.elapsed(e1)
            if el.device_cycles is None:
                return _na(name, sec, "cycles", "npu_event_elapsed reports no device time "
                           "(NPU_ELAPSED_DEVICE unset): the driver does not return per-job "
                           "cycles (NPU_IOCTL_JOB_TIME needs uapi 1.2)",
                           "host time per launch")
            cyc.append(el.device_cycles)
            host.append(el.host_s * 1e6)
        fig = _finish(Figure(name, sec, "cycles"), cyc,
                      f"host time per launch ({np.median(host):,.1f} us)")
        clk = self.props.clock_khz
        fig.notes = (f"host {np.median(host):.1f} us per launch (median); "
                     f"{np.median(cyc) / clk * 1e3:.1f} us simulated at {clk / 1e3:g} MHz")
        return fig

    def _cycles_in_kernel(self, name: str, it: int) -> Figure:
        """Simulated cycles per host second: how much faster or slower than the modelled
        silicon the simulator runs (the kernel reads the timing model's CYCLE register)."""
        c, sec = self.cdev, "cycles"
        k = c.kernel(npu.assemble(ALU_LOOP_CYCLES), "alu_loop_cycles")
        out = c.alloc(8)
        got = np.zeros(1, np.uint64)
        rate, cyc = [], []
        try:
            c.launch_rt(k, (it // 10, out), n=1)
            for _ in range(max(3, self.mode.rounds // 2)):
                ns = float(c.launch_rt(k, (it, out), n=1)[0])
                c.dtoh(got, out)
                cyc.append(int(got[0]))
                rate.append(int(got[0]) / ns * 1e3)  # cycles per us = MHz
        finally:
            c.free(out)
        clk = self.props.clock_khz / 1e3
        fig = _finish(Figure(name, sec, "MHz"), rate, "device clock (timing model)")
        fig.baseline_value = clk
        fig.ratio = fig.value / clk if clk else None
        fig.notes = (f"{np.median(cyc):,.0f} simulated cycles for {alu_loop_insns(it):,} "
                     f"instructions; ratio = simulation speed relative to the modelled "
                     f"{clk:g} MHz device (1 = real time); launch round trip included")
        return fig

    SECTIONS = ("baselines", "launch", "python", "copies", "vector", "matrix", "scalar",
                "memory", "cycles")

    def run(self, only: tuple[str, ...] | None = None) -> list[Figure]:
        fns = {"baselines": self.baselines, "launch": self.launches, "python": self.python,
               "copies": self.copies, "vector": self.vector, "matrix": self.matrix,
               "scalar": self.scalar, "memory": self.memory, "cycles": self.cycles}
        self.setup()
        try:
            for name in self.SECTIONS:
                if only is None or name in only:
                    self.section(name, fns[name])
        finally:
            self.close()
        return self.figures


def _subprocess_json(code: str, env: dict | None = None, timeout: float = 600) -> dict:
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=timeout)
    if p.returncode:
        raise BenchError(f"subprocess failed: {p.stderr.strip()[-500:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def _med(runs: list[dict], key: str) -> float:
    return float(np.median([r[key] for r in runs]))


_MEM_PROBE = r"""
import json, os, time
import numpy as np
import npu
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page / 2**20
r0 = rss()
t0 = time.perf_counter()
dev = npu.Device(0)
t1 = time.perf_counter()
assert dev.properties.mem_total == 64 << 30, dev.properties.mem_total
r1 = rss()
big = dev.empty((4 << 30) // 4, np.float32)
dev.synchronize()
r2 = rss()
touched = dev.empty((256 << 20) // 4, np.float32).fill(1.0)
dev.synchronize()
r3 = rss()
print(json.dumps({"open_ms": (t1 - t0) * 1e3, "open_rss": r1 - r0, "alloc_mib": 4096,
                  "alloc_rss": r2 - r1, "touch_mib": 256, "touch_rss": r3 - r2}))
"""


def _memory_probe() -> dict:
    return _subprocess_json(_MEM_PROBE, dict(os.environ, NPU_SIM_CONFIG="mem=64G"), 120)


# ---- output ----------------------------------------------------------------------------------

def _size(n: int) -> str:
    return f"{n // GiB} GiB" if n >= GiB and n % GiB == 0 else f"{n // MiB} MiB"


def _count(n: int) -> str:
    return f"{n // (1 << 20)}M" if n % (1 << 20) == 0 else f"{n // 1024}K"


def _count_plain(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 10**6 else f"{n / 1e3:g}K" if n >= 1000 else str(n)


def format_value(v: float | None, unit: str) -> str:
    if v is None:
        return "n/a"
    a = abs(v)
    d = 0 if a >= 1000 else 1 if a >= 100 else 2 if a >= 1 else 3
    return f"{v:,.{d}f} {unit}".strip()


def _rows(figures: list[dict]) -> tuple[list[tuple], list[str]]:
    """Table rows (figure, value, p10..p90, baseline, ratio, target, met) and the footnotes
    that say why a figure is n/a."""
    rows, notes = [], []
    for f in figures:
        unit = f["unit"]
        if f["value"] is None:
            n = f["notes"]
            notes.append(n[5:-1] if n.startswith("n/a (") and n.endswith(")") else n)
            value, spread = f"n/a [{len(notes)}]", ""
        else:
            value = format_value(f["value"], unit)
            sp = f["spread"] or {}
            spread = (f"{format_value(sp['p10'], '')}..{format_value(sp['p90'], '')}"
                      if "p10" in sp else "")
        base = f["baseline"] or ""
        if f["baseline_value"] is not None:
            base += f" ({format_value(f['baseline_value'], unit)})"
        ratio = f"{f['ratio']:.3g}x" if f["ratio"] is not None else ""
        met = {True: "yes", False: "NO", None: ""}[f["met"]] if f["target"] else ""
        rows.append((f["name"], value, spread, base, ratio, f["target"] or "", met))
    return rows, notes


HEADER = ("figure", "value", "p10..p90", "baseline", "ratio", "target", "met")


def format_table(figures: list[dict]) -> str:
    rows, notes = _rows(figures)
    rows.insert(0, HEADER)
    width = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    out = ["  ".join(c.ljust(width[i]) for i, c in enumerate(r)).rstrip() for r in rows]
    out += [f"[{i}] {n}" for i, n in enumerate(notes, 1)]
    return "\n".join(out)


def format_markdown(figures: list[dict]) -> str:
    rows, notes = _rows(figures)
    out = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    if notes:
        out.append("")
        out += [f"[{i}] {n}  " for i, n in enumerate(notes, 1)]
    return "\n".join(out)


def machine_text(info: dict) -> str:
    b = info["numpy_blas"]
    def load(key):
        return ", ".join(f"{x:.1f}" for x in info.get(key) or ()) or "?"
    return (f"{info['cpu_model']}, {info['cpus']} CPUs ({info['cpus_usable']} usable), "
            f"Linux {info['kernel']}, Python {info['python']}, numpy {b.get('numpy')} with "
            f"{b.get('name', '?')} {b.get('version', '')} (kernel {b.get('kernel', '?')}), "
            f"load average {load('loadavg_at_start')} at start, "
            f"{load('loadavg_at_end')} at end")


def run(mode: str = "full", json_path: str | None = None, out=sys.stdout,
        verbose: bool = True, markdown_path: str | None = None,
        only: tuple[str, ...] | None = None) -> dict:
    """Runs the suite in `mode` (tiny, short, full), or only some of its sections; prints the
    table to `out`, writes the JSON to `json_path` (and a markdown table to `markdown_path`)
    and returns the results."""
    m = MODES[mode]
    log = (lambda s: print(s, file=sys.stderr, flush=True)) if verbose else None
    t0 = time.time()
    info = machine_info()
    suite = Suite(m, log)
    figures = suite.run(only)
    try:
        info["loadavg_at_end"] = os.getloadavg()
    except OSError:
        info["loadavg_at_end"] = None
    result = {
        "schema": SCHEMA,
        "mode": mode,
        "sections": list(only) if only else list(Suite.SECTIONS),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(t0)),
        "duration_s": round(time.time() - t0, 1),
        "machine": info,
        "figures": [f.to_json() for f in figures],
        "warnings": suite.warnings,
    }
    figs = result["figures"]
    print(f"machine: {machine_text(info)}", file=out)
    print(f"mode: {mode}, {result['duration_s']} s\n", file=out)
    print(format_table(figs), file=out)
    missed = [f["name"] for f in figs if f["met"] is False]
    print(f"\ntargets met: {sum(f['met'] is True for f in figs)}, missed: {len(missed)}, "
          f"n/a: {sum(f['target'] is not None and f['met'] is None for f in figs)}", file=out)
    for w in suite.warnings:
        print(f"warning: {w}", file=out)
    if json_path:
        with open(json_path, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")
    if markdown_path:
        with open(markdown_path, "w") as f:
            f.write(f"Machine: {machine_text(info)}. Mode: {mode}, {result['duration_s']} s, "
                    f"{result['started']}.\n\n{format_markdown(figs)}\n")
            for w in suite.warnings:
                f.write(f"\nWarning: {w}\n")
    return result
