# SPDX-License-Identifier: MIT
"""The simulator's wide kernels (firmware-sim/sim_simd.c: AVX2, AVX-512, AVX-512 VNNI) give
the reference model's bits (npu.testing.refmodel, written from docs/numerics.md) on every
level the host CPU has, and so does the portable fallback. Each level runs in its own
process (NPU_SIM_SIMD picks it once per process) over the same cases: vexp / vrelu /
vtanh / vsigmoid / vgelu / vadd / vsub / vmul.f32 on every tail length of 8 and 16 lanes,
edge values (NaN payloads, +-inf, denormals, exp's overflow and underflow into subnormals,
the clamps at 100 and -104, tanh's switch at 0.625) and aliased operands; mm / mma of every type over every row remainder of the 4-row register
block, column tails of the 8/16-lane vectors and 16/64-column strips, K remainders of the
int8 pairs and quads, int8 extremes whose sums wrap, fp16/bf16 specials, padded strides,
C rows that overlap each other, C rows in descending order, and C over A."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

SRAM = 1 << 17
LEVELS = ("generic", "avx2", "avx512", "avx512vnni")
F32_NAN = 0x7FC00000
ESIZE = {"f32": 4, "f16": 2, "bf16": 2, "i8": 1}


# --------------------------------------------------------------------------- cases

def li(reg: int, value: int) -> str:
    """Any 64-bit constant into r<reg>."""
    value &= (1 << 64) - 1
    lo, hi = value & 0xFFFFFFFF, value >> 32
    lo -= (1 << 32) if lo >> 31 else 0
    hi -= (1 << 32) if hi >> 31 else 0
    return f"    li r{reg}, {lo}\n    lih r{reg}, {hi}\n"


def f32_edges(rng, n: int) -> np.ndarray:
    special = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -0.5, np.inf, -np.inf, np.nan, 1e-45,
                        -1e-45, 1.1754942e-38, -1.1754942e-38, 3.4028235e38, -3.4028235e38,
                        88.72, 88.7228, 88.73, 89.0, -87.3, -88.0, -100.0, -103.0, -103.9,
                        -104.0, -104.5, 99.9, 100.0, 100.5, 1e10, -1e10, 0.34657359,
                        -0.34657359, 1e-8, -1e-8, 0.625, -0.625, 0.62500006, -0.62500006,
                        9.0, -9.0, 20.0, -20.0, 44.4, -44.4, 1e-20, -1e-20], np.float32)
    payload = np.array([0x7FC00001, 0xFFC00000, 0x7F800001, 0xFFFFFFFF, 0x7FBFFFFF],
                       np.uint32).view(np.float32)
    wide = rng.uniform(-110, 110, n).astype(np.float32)
    tiny = (rng.standard_normal(n // 8) * 1e-39).astype(np.float32)  # denormals
    rbits = rng.integers(0, 1 << 32, n // 8, dtype=np.uint64).astype(np.uint32).view(np.float32)
    x = np.concatenate([special, payload, wide, tiny, rbits])
    return x[rng.permutation(x.size)]


def vector_cases(rng) -> list[tuple[str, str, bytes]]:
    """(name, body, SRAM image): a at 0, b at 0x4000, results from 0x8000 on."""
    n_src = 2048
    a, b = f32_edges(rng, n_src)[:n_src], f32_edges(rng, n_src)[:n_src]
    image = bytearray(SRAM)
    image[0:4 * n_src] = a.tobytes()
    image[0x4000:0x4000 + 4 * n_src] = b.tobytes()
    lengths = list(range(1, 18)) + [31, 33, 64, 100, 1027]
    cases = []
    for op in ("vexp.f32", "vrelu.f32", "vtanh.f32", "vsigmoid.f32", "vgelu.f32", "vadd.f32",
               "vsub.f32", "vmul.f32"):
        binary = op in ("vadd.f32", "vsub.f32", "vmul.f32")
        lines = []
        dst = 0x8000
        for i, n in enumerate(lengths):
            src = 4 * (i % 5)           # misaligned to the vector width, aligned to 4
            lines.append(f"    li r1, {dst}\n    li r2, {src}\n    li r3, {0x4000 + 8 * i}\n"
                         f"    li r4, {n}\n")
            lines.append(f"    {op} r1, r2, r3, r4\n" if binary else f"    {op} r1, r2, r4\n")
            dst += 4 * n + 4 * (i % 3)  # results packed, some 16-byte aligned, some not
        cases.append((f"{op} tails", "".join(lines), bytes(image)))
        # aliasing: in place, dst 1 element below the source (overlapping, forward-safe),
        # dst 1 and 20 elements above it (each element reads what an earlier one wrote)
        for name, d in (("in place", 0), ("dst below src", -4), ("dst above src", 4),
                        ("dst 20 above src", 80)):
            src = 0x100
            body = (f"    li r1, {src + d}\n    li r2, {src}\n    li r3, {src}\n"
                    f"    li r4, 1000\n")
            body += f"    {op} r1, r2, r3, r4\n" if binary else f"    {op} r1, r2, r4\n"
            cases.append((f"{op} {name}", body, bytes(image)))
    return cases


def rand_tile(t: str, rng, shape, special: bool) -> np.ndarray:
    if t == "i8":
        x = rng.integers(-128, 127, shape, endpoint=True).astype(np.int8)
        if special:  # extremes: -128 * -128 sums
            x.reshape(-1)[rng.random(x.size) < 0.5] = -128
            x.reshape(-1)[rng.random(x.size) < 0.1] = 127
        return x
    f = (rng.standard_normal(shape) * 4).astype(np.float32)
    if special:
        flat = f.reshape(-1)
        picks = {"f32": [np.inf, -np.inf, np.nan, 1e-30, -1e-30, 1e-40, 3e38, -0.0],
                 "f16": [np.inf, -np.inf, np.nan, 6e-8, -6e-8, 1e-5, 65504.0, -0.0],
                 "bf16": [np.inf, -np.inf, np.nan, 1e-30, 1e-39, 3e38, -3e38, -0.0]}[t]
        idx = rng.choice(flat.size, min(flat.size, 3), replace=False)
        flat[idx] = rng.choice(np.array(picks, np.float32), idx.size)
    if t == "f16":
        with np.errstate(over="ignore"):
            return f.astype(np.float16)
    if t == "bf16":  # round to nearest even on the upper half, NaN kept as a NaN
        u = f.view(np.uint32).astype(np.uint64)
        r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
        r[np.isnan(f)] = 0x7FC1
        return r
    return f


def mm_case(rng, t: str, acc: bool, M: int, N: int, K: int, *, special: bool = False,
            ldc: int | None = None, c_base: int | None = None, c_over_a: bool = False,
            fill: int | None = None):
    e = ESIZE[t]
    lda, ldb = K * e + 4 * int(rng.integers(0, 3)), N * e + 4 * int(rng.integers(0, 3))
    ldc = N * 4 + 4 * int(rng.integers(0, 3)) if ldc is None else ldc
    oa = 0x100
    ob = oa + M * lda + 0x40
    oc = (ob + K * ldb + 0x40) // 4 * 4 if c_base is None else c_base
    if c_over_a:
        oc = oa // 4 * 4
    image = bytearray(rng.integers(0, 256, SRAM, dtype=np.uint8).tobytes())
    A, B = rand_tile(t, rng, (M, K), special), rand_tile(t, rng, (K, N), special)
    if fill is not None:
        A[:], B[:] = fill, fill
    for r in range(M):
        image[oa + r * lda:oa + r * lda + K * e] = A[r].tobytes()
    for r in range(K):
        image[ob + r * ldb:ob + r * ldb + N * e] = B[r].tobytes()
    # C0 (mma): ints near the wrap-around, floats with NaN payloads and infinities
    if t == "i8":
        c0 = rng.integers(-(2**31), 2**31, (M, N), dtype=np.int64).astype(np.int32)
        c0.reshape(-1)[:2] = [2**31 - 1, -(2**31)][:c0.size]
    else:
        c0 = (rng.standard_normal((M, N)) * 8).astype(np.float32)
        c0.view(np.uint32).reshape(-1)[:3] = [0x7FC00123, 0xFF800000, 0x00000001][:c0.size]
    for r in range(M):
        at = (oc + r * ldc) % (1 << 64)
        image[at:at + 4 * N] = c0[r].tobytes()
    body = "".join(li(1, v) + f"    csrw {reg}, r1\n" for reg, v in
                   (("MM_M", M), ("MM_N", N), ("MM_K", K), ("MM_LDA", lda),
                    ("MM_LDB", ldb), ("MM_LDC", ldc)))
    body += li(1, oc) + li(2, oa) + li(3, ob)
    body += f"    {'mma' if acc else 'mm'}.{t} r1, r2, r3\n"
    name = (f"{'mma' if acc else 'mm'}.{t} M={M} N={N} K={K} ldc={ldc}"
            f"{' special' if special else ''}{' C over A' if c_over_a else ''}"
            f"{'' if fill is None else f' all {fill}'}")
    return name, body, bytes(image)


def matrix_cases(rng) -> list[tuple[str, str, bytes]]:
    shapes = [(M, N, K) for M, (N, K) in zip(range(1, 10), [
        (1, 1), (7, 2), (8, 3), (9, 4), (15, 5), (16, 6), (17, 7), (63, 8), (65, 9)])]
    shapes += [(4, 64, 4), (5, 130, 67), (8, 128, 130), (3, 200, 1), (9, 16, 33)]
    cases = []
    for t in ("f32", "f16", "bf16", "i8"):
        for acc in (False, True):
            for i, (M, N, K) in enumerate(shapes):
                cases.append(mm_case(rng, t, acc, M, N, K, special=i % 2 == 1))
        # C rows that overlap: all on one row; half a row apart; descending rows
        cases.append(mm_case(rng, t, True, 6, 20, 9, ldc=0))
        cases.append(mm_case(rng, t, True, 7, 34, 5, ldc=4 * 17))
        cases.append(mm_case(rng, t, False, 5, 70, 6, ldc=(-(4 * 70 + 8)) % (1 << 64),
                             c_base=0x18000))
        cases.append(mm_case(rng, t, False, 6, 12, 6, c_over_a=True))
    # int8 sums that wrap: K = 1024 products -128 * -128 on top of C0 near INT32_MAX
    cases.append(mm_case(rng, "i8", True, 5, 33, 1024, fill=-128))
    return cases


def all_cases() -> list[tuple[str, str, bytes]]:
    rng = np.random.default_rng(20261129)
    return vector_cases(rng) + matrix_cases(rng)


# --------------------------------------------------------------------------- running

def reference(body: str, image: bytes) -> bytes:
    from npu import asm
    from npu.testing import refmodel as rm
    prog = rm.Program.from_binary(asm.assemble(f".kernel t\n.sram {SRAM}\n{body}    halt\n"))
    res = rm.run_launch(prog, rm.DeviceMemory(),
                        initial=lambda pid: rm.State(bytearray(image), pc=prog.entry))
    assert res.trap is None, str(res.trap)
    return bytes(res.instances[0].sram)


def device_run(cases_file: str, out_file: str) -> None:
    """Child process: every case through the whole stack, SRAM image in, SRAM out."""
    import npu
    with open(cases_file, "rb") as f:
        cases = pickle.load(f)
    dev = npu.Device(0)
    inp, out = dev.empty(SRAM, np.uint8), dev.empty(SRAM, np.uint8)
    results = []
    for _, body, image in cases:
        src = f"""
.kernel t
.arg inp ptr
.arg out ptr
.sram {SRAM}
    ldarg r30, inp
    li r29, {SRAM}
    dma.ld r0, r30, r29, 0
    dma.wait 0
{body}
    ldarg r30, out
    dma.st r30, r0, r29, 1
    dma.wait 1
    halt
"""
        inp.copy_from(np.frombuffer(image, np.uint8))
        dev.launch(npu.assemble(src), inp, out)
        results.append(out.numpy().tobytes())
    with open(out_file, "wb") as f:
        pickle.dump(results, f)


@pytest.fixture(scope="module")
def cases_and_refs(tmp_path_factory):
    cases = all_cases()
    path = tmp_path_factory.mktemp("simd") / "cases.pkl"
    with open(path, "wb") as f:
        pickle.dump(cases, f)
    return str(path), cases, [reference(body, image) for _, body, image in cases]


def first_difference(got: bytes, want: bytes) -> str:
    g, w = np.frombuffer(got, np.uint8), np.frombuffer(want, np.uint8)
    at = int(np.argmax(g != w)) // 4 * 4
    return (f"first at SRAM 0x{at:x}: got {got[at:at + 4].hex()} want {want[at:at + 4].hex()}"
            f" ({int(np.sum(g != w))} bytes differ)")


@pytest.mark.parametrize("level", LEVELS)
def test_level_matches_reference_model(cases_and_refs, level, tmp_path):
    path, cases, refs = cases_and_refs
    out = tmp_path / "out.pkl"
    env = dict(os.environ, NPU_SIM_SIMD=level, NPU_SIM_DEBUG="1")
    p = subprocess.run([sys.executable, __file__, path, str(out)], env=env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    used = [ln.rsplit(": ", 1)[1] for ln in p.stderr.splitlines()
            if "vector/matrix kernels:" in ln]
    assert len(used) == 1, p.stderr[-3000:]
    if used[0] != level:
        pytest.skip(f"this CPU has no {level} (the simulator chose {used[0]})")
    with open(out, "rb") as f:
        got = pickle.load(f)
    bad = [f"{name}: {first_difference(g, w)}"
           for (name, _, _), g, w in zip(cases, got, refs) if g != w]
    assert bad == [], f"{len(bad)} of {len(cases)} cases differ:\n" + "\n".join(bad[:20])


def test_unknown_level_is_ignored_with_a_message(tmp_path):
    env = dict(os.environ, NPU_SIM_SIMD="sse9", NPU_SIM_DEBUG="1")
    code = ("import numpy as np, npu\n"
            "d = npu.Device(0)\n"
            "x = d.asarray(np.ones(16, np.float32)); y = d.empty(16, np.float32)\n"
            "d.launch(npu.assemble(r'''\n.kernel k\n.arg x ptr\n.arg y ptr\n.sram 64\n"
            "    ldarg r1, x\n    li r2, 64\n    dma.ld r0, r1, r2, 0\n    dma.wait 0\n"
            "    li r3, 16\n    vexp.f32 r0, r0, r3\n    ldarg r1, y\n"
            "    dma.st r1, r0, r2, 0\n    dma.wait 0\n    halt\n'''), x, y)\n"
            "assert np.allclose(y.numpy(), np.e, rtol=1e-6, atol=0)\n")
    p = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "NPU_SIM_SIMD=sse9 is not one of generic, avx2, avx512, avx512vnni" in p.stderr


if __name__ == "__main__":
    device_run(sys.argv[1], sys.argv[2])
