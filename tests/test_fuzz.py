# SPDX-License-Identifier: MIT
"""Differential fuzzing of the whole stack (npu.assemble -> Device.launch: Python -> libnpu
-> driver -> firmware-sim) against the reference model, with the generated programs of
npu.testing: a seeded campaign of thousands of programs, the hypothesis strategies, the
``python -m npu.testing.fuzz`` command, and the checker itself catching (and shrinking) a
deliberately wrong implementation."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from npu import _isa_tables as T
from npu.testing import diff, fuzz
from npu.testing import generate as G
from npu.testing import program as P
from npu.testing import refmodel as rm
from npu.testing import strategies as S

# CI: 8000 programs through the device in about 40-60 s on the 2-core machine.
CAMPAIGN = int(os.environ.get("NPU_FUZZ_EXAMPLES", "8000"))
SLOW = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                      HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def target():
    t = diff.DeviceTarget()
    G.NUM_CORES = t.num_cores
    return t


def test_campaign_agrees_and_covers_every_instruction_and_trap(target, tmp_path):
    report, info = fuzz.run(CAMPAIGN, seed=20240611, target=target, out_dir=str(tmp_path),
                            progress=False)
    assert report.failures == [], str(report.failures[0])
    assert info["examples"] == CAMPAIGN
    names = [d["name"] for d in T.INSNS]
    assert [n for n in names if not report.counts.get(n)] == []  # every mnemonic retired
    assert sorted(report.traps) == sorted(G.TRAPS)  # every trap kind raised, as meant
    assert set(info["kinds"]) == {"program", "instruction", "trap", "group"}


@settings(SLOW, max_examples=150)
@given(S.programs(max_items=16))
def test_programs(target, case):
    diff.check_case(case, target)


@settings(SLOW, max_examples=300)
@given(S.instructions())
def test_single_instructions(target, case):
    diff.check_case(case, target)


@settings(SLOW, max_examples=120)
@given(S.instructions(cls="vector"))
def test_vector_instructions(target, case):
    diff.check_case(case, target)


@settings(SLOW, max_examples=150)
@given(S.trapping_programs())
def test_trapping_programs(target, case):
    trap = diff.check_case(case, target)
    assert trap is not None and trap.name == case.expect


@settings(SLOW, max_examples=60)
@given(S.synchronising_programs())
def test_synchronising_programs(target, case):
    assert 2 <= case.width <= target.num_cores
    diff.check_case(case, target)


def test_same_seed_same_programs():
    a = [fuzz.example(7, i, 4)[1] for i in range(50)]
    b = [fuzz.example(7, i, 4)[1] for i in range(50)]
    c = [fuzz.example(8, i, 4)[1] for i in range(50)]
    assert [P.compose([x]).code for x in a] == [P.compose([x]).code for x in b]
    assert [P.compose([x]).code for x in a] != [P.compose([x]).code for x in c]


def test_reproducer_text_assembles_to_the_same_kernel():
    import npu
    for i in range(30):
        case = fuzz.example(3, i, 4)[1]
        comp = P.compose([case])
        assert npu.assemble(comp.source()).binary == comp.binary()


# --------------------------------------------------------------------------- the checker


class Broken(diff.ReferenceTarget):
    """A "chip": the reference model with one instruction body replaced."""

    def __init__(self, name: str, body):
        super().__init__()
        self.insn, self.body = name, body
        self.name = f"broken-{name}"

    def run(self, program, state):
        good = rm.SEMANTICS[self.insn]
        rm.SEMANTICS[self.insn] = lambda m, d: self.body(good, m, d)
        rm._DECODED.clear()  # decoded instructions cache their body
        try:
            return super().run(program, state)
        finally:
            rm.SEMANTICS[self.insn] = good
            rm._DECODED.clear()


def saturating_vadd_i16(good, m, d):
    """vadd.i16 that saturates instead of wrapping."""
    before = bytes(m.sram)
    good(m, d)  # checks the operands (and traps) as usual
    n, a, b, dst = m.r(d.rs3), m.r(d.rs1), m.r(d.rs2), m.r(d.rd)
    if n:
        x = np.frombuffer(before, "<i2", n, a).astype(np.int64)
        y = np.frombuffer(before, "<i2", n, b).astype(np.int64)
        m.put(dst, np.clip(x + y, -32768, 32767).astype("<i2"))


def swapped_sub(good, m, d):
    """sub computing rs2 - rs1."""
    m.w(d.rd, m.r(d.rs2) - m.r(d.rs1))


def make_broken_target():
    return Broken("sub", swapped_sub)


def test_checker_finds_shrinks_and_replays_a_divergence(tmp_path):
    target = Broken("vadd.i16", saturating_vadd_i16)
    src = G.RandomSource(11)
    cases = [G.gen_insn_case(src, "vadd.i16") for _ in range(40)]
    report = diff.check_cases(cases, target)
    assert report.failures, "a saturating vadd.i16 went unnoticed"
    d = report.failures[0]
    text = str(d)
    assert "divergence between broken-vadd.i16 and the reference model" in text
    assert re.search(r"SRAM differs at \d+ bytes", text)
    body = d.source[d.source.index("case 0: body"):d.source.index("case 0: epilogue")]
    insns = [ln for ln in body.splitlines()[1:] if ln.strip() and not ln.strip()[0] in ";"]
    assert any("vadd.i16" in ln for ln in insns)
    assert len(insns) <= 8, body  # shrunk to the instruction and its operands
    assert diff.replay(d.source, target)  # the reproducer reproduces
    assert diff.replay(d.source, diff.ReferenceTarget()) == []


def test_fuzz_command(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.path.dirname(__file__))
    cmd = [sys.executable, "-m", "npu.testing.fuzz", "--examples", "60", "--seed", "5",
           "--out", str(tmp_path / "f")]
    r1 = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=300, cwd=tmp_path,
                        env=env)
    assert r1.returncode == 0, r1.stdout + r1.stderr
    assert "examples run: 60" in r1.stdout and "failures: 0" in r1.stdout
    assert re.search(rf"instructions covered: \d+/{len(T.INSNS)}", r1.stdout)
    assert "60/60" in r1.stderr and "100.0%" in r1.stderr  # the progress bar
    r2 = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=300, cwd=tmp_path,
                        env=env)

    def stable(out):  # the same programs: all but the timings agree
        return [re.sub(r"[\d.]+ s \(\d+/s\)", "", ln) for ln in out.splitlines()]
    assert stable(r1.stdout) == stable(r2.stdout)

    # A vendor target that diverges: exit 1, a reproducer file that --replay confirms.
    bad = cmd[:-2] + ["--out", str(tmp_path / "bad"), "--target",
                      "test_fuzz:make_broken_target", "--examples", "150", "--no-shrink",
                      "--quiet"]
    r3 = subprocess.run(bad, capture_output=True, text=True, check=False, timeout=600, cwd=tmp_path,
                        env=env)
    assert r3.returncode == 1, r3.stdout + r3.stderr
    files = sorted((tmp_path / "bad").iterdir())
    assert files and "failures: 0" not in r3.stdout
    rep = [sys.executable, "-m", "npu.testing.fuzz", "--replay", str(files[0])]
    r4 = subprocess.run(rep + ["--target", "test_fuzz:make_broken_target"],
                        capture_output=True, text=True, check=False, timeout=120, cwd=tmp_path, env=env)
    assert r4.returncode == 1 and "reproduces" in r4.stdout
    r5 = subprocess.run(rep, capture_output=True, text=True, check=False, timeout=120, cwd=tmp_path,
                        env=env)
    assert r5.returncode == 0 and "no divergence" in r5.stdout  # the device is right
    r6 = subprocess.run([sys.executable, "-m", "npu.testing.fuzz", "--examples", "-1"],
                        capture_output=True, text=True, check=False, timeout=60, cwd=tmp_path, env=env)
    assert r6.returncode == 2 and "--examples" in r6.stderr
