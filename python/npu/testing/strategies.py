# SPDX-License-Identifier: MIT
"""hypothesis strategies for NPU programs (needs ``hypothesis``; ``pip install 'open-npu[test]'``).

Each strategy runs the generators of :mod:`npu.testing.generate` on hypothesis's choices, so
examples shrink toward simple ones (small values, the first alternative, fewer
instructions). They produce :class:`~npu.testing.program.Case` objects: an initial state plus
a body, which :func:`npu.testing.diff.check_case` runs on an implementation and on the
reference model::

    from hypothesis import given, settings
    from npu.testing import diff, strategies as S

    @settings(max_examples=200, deadline=None)
    @given(S.programs())
    def test_device_matches_reference(case):
        diff.check_case(case)          # raises diff.Divergence with the assembly

* :func:`instructions` — one instruction (of a mnemonic, a class, or any) with its operand
  set-up and interesting operands: zero, +-1, min/max integers, NaN, Inf, denormals,
  aliased registers and overlapping SRAM operands;
* :func:`programs` — whole valid programs that terminate and stay in bounds;
* :func:`synchronising_programs` — programs run by several program instances that
  exchange data through device memory under barriers or semaphores;
* :func:`trapping_programs` — programs that trap on purpose (a given trap, or any);
* :func:`raw_words` — 64-bit words, valid encodings or not (decode or trap, never crash).
"""

from __future__ import annotations

from hypothesis import strategies as st

from .. import _isa_tables as T
from . import generate as G
from . import program as P

__all__ = [
    "DrawSource",
    "instructions",
    "mnemonics",
    "programs",
    "raw_words",
    "synchronising_programs",
    "trapping_programs",
]


class DrawSource(G.Source):
    """A generator choice source that draws from hypothesis (so examples shrink)."""

    def __init__(self, draw):
        self.draw = draw

    def int(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))


def mnemonics(cls: str | None = None) -> st.SearchStrategy[str]:
    """Mnemonics of the spec (of one instruction class of :data:`generate.CLASS`)."""
    names = [d["name"] for d in T.INSNS if cls is None or G.CLASS.get(d["name"]) == cls]
    return st.sampled_from(names)


@st.composite
def instructions(draw, name: str | None = None, cls: str | None = None) -> P.Case:
    """One instruction with its operand set-up, alone in a program, from a random
    initial state."""
    if name is None:
        name = draw(mnemonics(cls))
    return G.gen_insn_case(DrawSource(draw), name)


@st.composite
def programs(draw, min_items: int = 1, max_items: int = 24, sync: bool | None = False
             ) -> P.Case:
    """A whole valid program of ``min_items``..``max_items`` generated items (an item is an
    instruction with its set-up, or a branch/loop/call block). ``sync=True`` allows
    barrier and sem.wait (such cases run with every instance on its own core);
    None: either."""
    return G.gen_case(DrawSource(draw), min_items, max_items, sync=sync)


@st.composite
def synchronising_programs(draw, width: int | None = None, num_cores: int | None = None
                           ) -> P.Case:
    """A program for ``width`` program instances (2..num_cores) exchanging data."""
    return G.gen_group_case(DrawSource(draw), width, num_cores)


@st.composite
def trapping_programs(draw, trap: str | None = None, num_cores: int | None = None
                      ) -> P.Case:
    """A valid prefix, then code that raises ``trap`` (a name of ``generate.TRAPS``; any
    if None). ``case.expect`` names it."""
    if trap is None:
        trap = draw(st.sampled_from(sorted(G.TRAPS)))
    return G.gen_trap_case(DrawSource(draw), trap, num_cores)


@st.composite
def raw_words(draw) -> int:
    """64-bit words: uniformly random, or an encoding of the spec with random operand
    bits, or with one more bit set (mostly illegal)."""
    kind = draw(st.sampled_from(["any", "encoding", "flipped"]))
    if kind == "any":
        return draw(st.integers(0, (1 << 64) - 1))
    d = draw(st.sampled_from(T.INSNS))
    w = d["match"] | (draw(st.integers(0, (1 << 64) - 1)) & ~d["mask"])
    if kind == "flipped":
        w ^= 1 << draw(st.integers(0, 63))
    return w
