# SPDX-License-Identifier: MIT
"""Raw 64-bit words through the whole stack: each either executes or traps (ILLEGAL_INSN
for a word that is not an instruction), exactly as the reference model says, and the
device never crashes nor stops working."""

from __future__ import annotations

import random

import npu
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from npu import _isa_tables as T
from npu.testing import diff
from npu.testing import generate as G
from npu.testing import program as P
from npu.testing import refmodel as rm
from npu.testing import strategies as S

BUDGET = 2000  # a word that jumps back (jmp 0, jr r0) spins until this many


@pytest.fixture(scope="module")
def target():
    t = diff.DeviceTarget()
    G.NUM_CORES = t.num_cores
    return t


def word_case(word: int, regs: list[int], sram_seed: int) -> P.Case:
    """The word alone after the harness's prologue (registers, SRAM image), then halt."""
    return P.Case(regs, [P.Word(word), P.op("halt")], sram_seed=sram_seed, mem_seed=0,
                  max_insns=BUDGET, expect=None)


def check_word(target, word: int, regs: list[int], sram_seed: int) -> rm.Trap | None:
    case = word_case(word, regs, sram_seed)
    comp = P.compose([case])
    try:
        _s, got, want, gr, wr, problem = diff.run_checked(comp, target, BUDGET)
    except rm.ModelLimit:  # e.g. a 2-D DMA of 2^60 rows with zero strides: not comparable
        return None
    diffs = diff.compare(comp, got, want, gr, wr, problem)
    assert diffs == [], f"word {word:#018x}: " + "; ".join(d for _c, d in diffs) + \
        "\n" + diff.case_source(case)
    # The reference's own verdict: a word that does not decode traps ILLEGAL_INSN there.
    body = comp.body_range[0][0]
    if rm.decode(word) is None:
        assert want.trap is not None and want.trap.key() == ("ILLEGAL_INSN", body, body,
                                                              False)
    return want.trap


def test_random_words(target):
    rng = random.Random(99)
    illegal = legal = 0
    for i in range(1500):
        kind = i % 3
        if kind == 0:
            w = rng.getrandbits(64)
        else:  # an encoding with random operand bits, sometimes one bit too many
            d = rng.choice(T.INSNS)
            w = d["match"] | (rng.getrandbits(64) & ~d["mask"])
            if kind == 2:
                w ^= 1 << rng.randrange(64)
        regs = [0] + [rng.choice([0, 1, 64, rng.getrandbits(64)]) for _ in range(31)]
        trap = check_word(target, w, regs, rng.choice([0, 5]))
        if trap is not None and trap.name == "ILLEGAL_INSN":
            illegal += 1
        else:
            legal += 1
    assert illegal > 300 and legal > 300  # both sides of the decoder were exercised
    # and the device still runs ordinary kernels
    dev = target.dev
    x = dev.asarray(np.arange(64, dtype=np.float32))
    prog = npu.assemble(".kernel k\n.arg x ptr\n.sram 256\nldarg r1, 0\nli r2, 256\n"
                        "dma.ld r0, r1, r2, 0\ndma.wait 0\nli r3, 64\n"
                        "vadd.f32 r0, r0, r0, r3\ndma.st r1, r0, r2, 1\ndma.wait 1\nhalt\n")
    dev.launch(prog, x)
    dev.synchronize()
    assert np.array_equal(x.numpy(), 2 * np.arange(64, dtype=np.float32))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(S.raw_words())
def test_raw_words_hypothesis(target, word):
    check_word(target, word, [0] * 32, 0)
