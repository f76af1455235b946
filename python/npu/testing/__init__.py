# SPDX-License-Identifier: MIT
"""npu.testing: fuzzing the NPU ISA, for verification engineers and vendors.

* :mod:`~npu.testing.refmodel` — a reference model of the ISA in Python/numpy, written from
  the documentation (docs/isa.md, docs/numerics.md): runs any program on a given initial
  state (registers, configuration registers, SRAM, device memory pages, arguments, grid)
  and returns the final state and any trap (name, code, pc, address, is_write).
* :mod:`~npu.testing.generate` — program generators: every instruction with interesting
  operands, whole valid programs, programs of several instances that synchronise, and
  programs that trap on purpose; driven by a seeded random source or by hypothesis.
* :mod:`~npu.testing.strategies` — the hypothesis strategies over those generators
  (imported on use; needs hypothesis).
* :mod:`~npu.testing.diff` — the differential checker: the same programs on an
  implementation (:class:`~npu.testing.diff.Target`; the default goes through the whole
  stack) and on the reference model, every architectural result compared, a shrunk
  reproducible assembly program on failure.
* :mod:`~npu.testing.fuzz` — the campaign: ``python -m npu.testing.fuzz --examples N
  --seed S``.

::

    from npu.testing import diff, generate
    cases = [generate.gen_case(generate.RandomSource(i)) for i in range(500)]
    report = diff.check_cases(cases)          # npu.Device(0) against the reference model
    assert not report.failures, report.failures[0]
"""

from . import diff, generate, program, refmodel

__all__ = ["diff", "generate", "program", "refmodel", "strategies"]


def __getattr__(name):
    if name == "strategies":  # needs hypothesis: imported on first use
        import importlib
        return importlib.import_module(__name__ + ".strategies")
    raise AttributeError(f"module 'npu.testing' has no attribute {name!r}")
