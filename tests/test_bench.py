"""The benchmark suite (python -m npu.bench): a smoke run in its tiny mode, checked through the
JSON and the table it writes, and the instruction counts its MIPS figures divide by. Nothing
here asserts a speed: the figures of a tiny run on a shared machine mean nothing."""

import errno
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import npu
from npu import bench

FIGURE_KEYS = {"name", "value", "unit", "baseline", "baseline_value", "ratio", "target", "met",
               "median", "spread", "repeats", "notes"}
NUMBER = (int, float)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("bench")
    js, md = d / "bench.json", d / "bench.md"
    p = subprocess.run([sys.executable, "-m", "npu.bench", "--tiny", "-q", "--json", str(js),
                        "--markdown", str(md)], capture_output=True, text=True, timeout=300,
                       cwd=d)
    assert p.returncode == 0, p.stderr
    return json.loads(js.read_text()), p.stdout, md.read_text()


def test_json_header_and_machine(tiny_run):
    r, _, _ = tiny_run
    assert r["schema"] == bench.SCHEMA
    assert r["mode"] == "tiny"
    m = r["machine"]
    assert m["cpu_model"] and isinstance(m["cpus"], int) and m["cpus"] >= 1
    blas = m["numpy_blas"]
    assert blas["numpy"] == __import__("numpy").__version__
    assert "name" in blas  # which BLAS numpy was built with
    assert all(isinstance(w, str) for w in r["warnings"])
    assert isinstance(r["duration_s"], float) and r["sections"] == list(bench.Suite.SECTIONS)


def test_every_figure_follows_the_schema(tiny_run):
    figs = tiny_run[0]["figures"]
    names = [f["name"] for f in figs]
    assert len(names) == len(set(names)), "figure names must be unique"
    for f in figs:
        assert FIGURE_KEYS <= f.keys(), f
        where = f["name"]
        assert isinstance(f["unit"], str) and isinstance(f["notes"], str), where
        if f["value"] is None:
            # Not measurable (yet): says why, and claims nothing.
            assert f["notes"].startswith("n/a ("), where
            assert f["met"] is None and f["ratio"] is None and f["median"] is None, where
            continue
        assert isinstance(f["value"], NUMBER) and math.isfinite(f["value"]), where
        assert isinstance(f["repeats"], int) and f["repeats"] >= 1, where
        assert isinstance(f["median"], NUMBER), where
        assert f["spread"]["p10"] <= f["spread"]["p90"], where
        if f["baseline_value"] is not None and f["target_on"] != "value":
            assert f["ratio"] == pytest.approx(f["value"] / f["baseline_value"]), where
        if f["target"] is None:
            assert f["met"] is None, where
            continue
        x = f["ratio"] if f["target_on"] == "ratio" else f["value"]
        want = {"<=": x <= f["target_bound"], ">=": x >= f["target_bound"],
                "<": x < f["target_bound"]}[f["target_op"]]
        assert f["met"] is want, where


def test_baselines_come_first_and_targets_have_baselines(tiny_run):
    figs = tiny_run[0]["figures"]
    sections = [f["section"] for f in figs]
    n_base = sections.count("baselines")
    assert sections[:n_base] == ["baselines"] * n_base
    names = " | ".join(f["name"] for f in figs[:n_base])
    for what in ("memcpy", "futex", "eventfd", "spin", "float32 matmul", "int32 matmul",
                 "add", "relu", "exp", "cffi call", "interpreter"):
        assert what in names, what
    for f in figs[n_base:]:
        if f["target_on"] == "ratio":
            assert f["baseline"], f["name"]


def test_table_and_markdown_list_every_figure(tiny_run):
    r, table, md = tiny_run
    for f in r["figures"]:
        assert f["name"] in table
        assert f["name"] in md
    assert "targets met:" in table


def test_bad_arguments_are_rejected():
    p = subprocess.run([sys.executable, "-m", "npu.bench", "--short", "--tiny"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "not allowed with" in p.stderr


def test_alu_loop_retires_the_counted_instructions(dev):
    """The scalar MIPS figure divides by alu_loop_insns(n): the watchdog's exact instruction
    budget confirms the count (one instruction fewer traps)."""
    prog = npu.assemble(bench.ALU_LOOP)
    n = 1000
    dev.launch(prog, n, max_insns=bench.alu_loop_insns(n))
    dev.synchronize()
    dev.launch(prog, n, max_insns=bench.alu_loop_insns(n) - 1)
    with pytest.raises(npu.KernelFault) as e:
        dev.synchronize()
    assert e.value.trap == "WATCHDOG"


def test_c_interpreter_counts_the_same_program():
    if bench.blib is None:
        pytest.skip("npu._bench is not built")
    insns, ns = bench.bffi.new("uint64_t *"), bench.bffi.new("int64_t *")
    assert bench.blib.bench_interp(1000, insns, ns) == 0
    assert insns[0] == bench.alu_loop_insns(1000) - 1  # the same program without its ldarg
    assert bench.blib.bench_interp(0, insns, ns) < 0


def test_pingpong_returns_every_round_trip():
    if bench.blib is None:
        pytest.skip("npu._bench is not built")
    for kind in bench.PINGPONG:
        s = bench.pingpong_us(kind, 20, warmup=2)
        assert s.shape == (20,) and (s > 0).all(), kind
    cpu = bench.usable_cpus()[0]
    s = bench.pingpong_us("futex", 20, warmup=2, cpus=(cpu, cpu))
    assert s.shape == (20,) and (s > 0).all()
    out = bench.bffi.new("int64_t[]", 1)
    assert bench.blib.bench_pingpong(7, -1, -1, 0, 1, out) == -errno.EINVAL  # unknown kind
    assert bench.blib.bench_pingpong(0, -2, -1, 0, 1, out) == -errno.EINVAL  # bad CPU


def test_placement_pins_and_restores_every_thread():
    before = {int(t): os.sched_getaffinity(int(t)) for t in os.listdir("/proc/self/task")}
    cpu = bench.usable_cpus()[0]
    with bench.Placement("same"):
        for t in os.listdir("/proc/self/task"):
            assert os.sched_getaffinity(int(t)) == {cpu}
    after = {int(t): os.sched_getaffinity(int(t)) for t in os.listdir("/proc/self/task")}
    assert all(after[t] == m for t, m in before.items() if t in after)


def test_launch_pairs_and_polling_wait_from_c():
    if bench.blib is None:
        pytest.skip("npu._bench is not built")
    c = bench.CDevice()
    try:
        k = c.kernel(npu.assemble(bench.EMPTY), "empty")
        lt, pp = c.launch_vs_pingpong(k, 10, warmup=2)
        assert lt.shape == pp.shape == (10,) and (lt > 0).all() and (pp > 0).all()
        assert (c.launch_rt(k, n=5, poll=True) > 0).all()
        with pytest.raises(bench.BenchError, match="INVALID_VALUE"):
            c.launch_vs_pingpong(k, 1, kind="spin")  # a spinning pong would starve the device
    finally:
        c.close()


@pytest.mark.parametrize("ty", ["i8", "bf16", "f16", "f32"])
def test_matmul_kernel_computes_the_spec_result(dev, ty):
    """The suite's tiled matmul kernel (2-D DMA, mm then mma over K chunks) against the spec's
    reference, with tiles small enough that every path runs: several tiles, K chunks,
    program instances taking turns."""
    if f"mma.{ty}" not in bench._isa_insns():
        pytest.skip(f"no mma.{ty} in this ISA")
    n, tiles = 32, (16, 16, 8)
    rng = np.random.default_rng(5)
    a, b = bench.matmul_inputs(ty, n, rng)
    ta, tb = dev.asarray(a), dev.asarray(b)
    tc = dev.empty((n, n), np.int32 if ty == "i8" else np.float32)
    prog = npu.assemble(bench.matmul_kernel(ty, n, tiles))
    dev.launch(prog, ta, tb, tc, n, grid=3)
    want = bench.matmul_reference(ty, a, b)
    assert np.array_equal(tc.numpy().view(np.uint32), want.view(np.uint32))


def test_matmul_tiles_fit_the_sram():
    for n in (64, 512, 1024):
        for es in (1, 2, 4):
            tm, tn, tk = bench.matmul_tiles(n, es, 256 << 10)
            assert n % tm == 0 and n % tn == 0 and n % tk == 0
            assert 2 * tm * tk * es + tm * tn * 4 <= 256 << 10
    assert bench.matmul_tiles(512, 4, 1024) is None


def test_only_runs_the_named_sections(tmp_path):
    js = tmp_path / "b.json"
    p = subprocess.run([sys.executable, "-m", "npu.bench", "--tiny", "-q", "--only",
                        "memory,cycles", "--json", str(js)], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    r = json.loads(js.read_text())
    assert r["sections"] == ["memory", "cycles"]
    assert {f["section"] for f in r["figures"]} == {"memory", "cycles"}
    p = subprocess.run([sys.executable, "-m", "npu.bench", "--only", "nosuch"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "unknown section" in p.stderr
