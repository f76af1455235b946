# SPDX-License-Identifier: MIT
"""A differential fuzzing campaign: ``python -m npu.testing.fuzz --examples N --seed S``.

Generates N programs (mostly whole valid programs; also single instructions, programs that
trap on purpose, and programs of several instances that synchronise), runs each on the
target (by default the real stack: npu.Device -> libnpu -> driver -> firmware-sim) and on
the reference model, and compares every architectural result. Progress goes to stderr; the
summary says which instructions were covered, how many examples ran and which failed.
Each divergence is shrunk and written as a reproducible assembly file. Exit status: 0 if
the two agreed everywhere, 1 on any divergence, 2 on bad usage.

Example ``i`` of seed ``S`` is generated from its own random stream, so ``--seed S`` always
gives the same programs and ``--seed S --start i --examples 1`` regenerates one of them.

Vendors: ``--target mypkg.mymod:make_target`` checks your implementation instead (a
callable returning a :class:`npu.testing.diff.Target`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

from .. import _isa_tables as T
from . import diff
from . import generate as G

# Share of each kind of example (of the random campaign).
MIX = (("program", 0.70), ("instruction", 0.12), ("trap", 0.12), ("group", 0.06))
CHUNK = 1024  # examples generated and checked at a time


def example(seed: int, i: int, num_cores: int):
    """Example ``i`` of the campaign ``seed``: (kind, Case)."""
    src = G.RandomSource(f"npu-fuzz:{seed}:{i}")
    x = src.r.random()
    for kind, share in MIX:
        if x < share:
            break
        x -= share
    if kind == "program":
        return kind, G.gen_case(src)
    if kind == "instruction":
        return kind, G.gen_insn_case(src)
    if kind == "trap":
        return kind, G.gen_trap_case(src, num_cores=num_cores)
    return kind, G.gen_group_case(src, num_cores=num_cores)


class Progress:
    """A progress bar on stderr (a line every few seconds when stderr is not a terminal)."""

    def __init__(self, total: int, enabled: bool = True, stream=None):
        self.total = total
        self.done = 0
        self.failures = 0
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.t0 = time.monotonic()
        self.last = 0.0

    def update(self, n: int, failures: int) -> None:
        self.done += n
        self.failures = failures
        now = time.monotonic()
        if not self.enabled or (now - self.last < (0.2 if self.tty else 10.0)
                                and self.done < self.total):
            return
        self.last = now
        el = now - self.t0
        rate = self.done / el if el > 0 else 0.0
        eta = (self.total - self.done) / rate if rate else 0.0
        width = 30
        fill = int(width * self.done / max(1, self.total))
        line = (f"[{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total} "
                f"{100 * self.done / max(1, self.total):5.1f}% {rate:6.0f}/s "
                f"eta {int(eta) // 60}:{int(eta) % 60:02d} failures {self.failures}")
        if self.tty:
            self.stream.write("\r" + line + ("\n" if self.done >= self.total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def load_target(spec: str | None) -> diff.Target:
    if not spec:
        return diff.default_target()
    mod, _, attr = spec.partition(":")
    factory = getattr(importlib.import_module(mod), attr or "target")
    return factory() if callable(factory) else factory


def run(examples: int, seed: int, *, start: int = 0, target: diff.Target | None = None,
        shrink: bool = True, out_dir: str | None = None, progress: bool = True,
        batch: int = 256, stream=None) -> tuple[diff.BatchReport, dict]:
    """Runs the campaign; returns the report and a summary dict (see :func:`summary`)."""
    target = target or diff.default_target()
    G.NUM_CORES = target.num_cores
    retries0 = diff.RETRIES["launches"]
    report = diff.BatchReport()
    kinds: dict[str, int] = {}
    bar = Progress(examples, progress, stream)
    t0 = time.monotonic()
    for lo in range(start, start + examples, CHUNK):
        hi = min(start + examples, lo + CHUNK)
        cases = []
        for i in range(lo, hi):
            kind, case = example(seed, i, target.num_cores)
            case.origin = (seed, i, kind)
            kinds[kind] = kinds.get(kind, 0) + 1
            cases.append(case)
        before = len(report.failures)
        diff.check_cases(cases, target, batch=batch, shrink=shrink, report=report,
                         progress=lambda n: bar.update(n, len(report.failures)))
        if out_dir:
            for k, d in enumerate(report.failures[before:], before):
                write_failure(out_dir, k, d)
    info = {"seed": seed, "start": start, "examples": report.cases, "kinds": kinds,
            "seconds": time.monotonic() - t0, "target": target.name,
            "retries": diff.RETRIES["launches"] - retries0}
    return report, info


def write_failure(out_dir: str, k: int, d: diff.Divergence) -> str:
    os.makedirs(out_dir, exist_ok=True)
    origin = getattr(d.case, "origin", None) if d.case is not None else None
    name = f"divergence-{k}" + (f"-seed{origin[0]}-ex{origin[1]}" if origin else "") + ".s"
    path = os.path.join(out_dir, name)
    with open(path, "w") as f:
        f.write("".join(f"; {ln}\n" for ln in d.summary.splitlines()))
        f.write(d.source if d.source else "".join(f"; {ln}\n" for ln in str(d).splitlines()))
    return path


def summary(report: diff.BatchReport, info: dict) -> str:
    names = [d["name"] for d in T.INSNS]
    covered = [n for n in names if report.counts.get(n)]
    missing = [n for n in names if not report.counts.get(n)]
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(info["kinds"].items()))
    lines = [
        f"target: {info['target']}, seed {info['seed']}"
        + (f", examples {info['start']}..{info['start'] + info['examples'] - 1}"
           if info["start"] else ""),
        (f"examples run: {info['examples']} ({kinds}) in {report.launches} launches, "
         f"{info['seconds']:.1f} s ({info['examples'] / max(info['seconds'], 1e-9):.0f}/s)"),
        (f"instructions covered: {len(covered)}/{len(names)} mnemonics executed "
         f"({sum(report.counts.values())} instructions retired)"),
    ]
    if missing:
        lines.append("  never executed: " + " ".join(missing))
    if info.get("retries"):
        lines.append(f"launches run again after a transient target failure: "
                     f"{info['retries']}")
    if report.traps:
        lines.append("traps raised: " + ", ".join(f"{k} {v}" for k, v in
                                                   sorted(report.traps.items())))
    if report.skipped:
        lines.append(f"not comparable (work the model does not carry out): "
                     f"{len(report.skipped)}")
    lines.append(f"failures: {len(report.failures)}")
    return "\n".join(lines)


def _body(source: str) -> str:
    """The generated part of a reproducer (between the harness's prologue and epilogue)."""
    lines = source.splitlines()
    try:
        i = next(k for k, ln in enumerate(lines) if "case 0: body" in ln)
        j = next(k for k, ln in enumerate(lines) if "case 0: epilogue" in ln)
    except StopIteration:
        return ""
    return "\n".join(lines[i + 1:j])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m npu.testing.fuzz",
        description="Differential fuzzing of an NPU ISA implementation against the "
                    "reference model.")
    ap.add_argument("--examples", type=int, default=1000, help="programs to run (1000)")
    ap.add_argument("--seed", type=int, default=None,
                    help="campaign seed (default: random, printed); the same seed gives "
                         "the same programs")
    ap.add_argument("--start", type=int, default=0,
                    help="index of the first example (to re-run part of a campaign)")
    ap.add_argument("--out", default="npu-fuzz-failures",
                    help="directory for reproducers of divergences (npu-fuzz-failures)")
    ap.add_argument("--no-shrink", action="store_true", help="report divergences unshrunk")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    ap.add_argument("--batch", type=int, default=256,
                    help="valid programs per launch (256)")
    ap.add_argument("--target", default=None, metavar="MODULE:FACTORY",
                    help="the implementation to check (default: npu.Device(0))")
    ap.add_argument("--replay", metavar="FILE",
                    help="run a reproducer written by a campaign and show the differences")
    a = ap.parse_args(argv)
    if a.examples < 0 or a.start < 0 or a.batch < 1:
        ap.error("--examples and --start must be >= 0, --batch >= 1")
    target = load_target(a.target)
    if a.replay:
        with open(a.replay) as f:
            diffs = diff.replay(f.read(), target)
        for d in diffs:
            print(d)
        print(f"reproduces: {len(diffs)} difference(s)" if diffs else "no divergence")
        return 1 if diffs else 0
    seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "little")
    if a.seed is None:
        print(f"seed {seed}", file=sys.stderr)
    report, info = run(a.examples, seed, start=a.start, target=target,
                       shrink=not a.no_shrink, out_dir=a.out, progress=not a.quiet,
                       batch=a.batch)
    print(summary(report, info))
    for k, d in enumerate(report.failures[:3]):
        origin = getattr(d.case, "origin", None)
        where = f" (example {origin[1]}, {origin[2]})" if origin else ""
        print(f"\n---- failure {k}{where}:\n{d.summary}")
        if d.source:
            body = _body(d.source)
            print("body of the shrunk program:\n" + body if body else d.source)
    if report.failures:
        print(f"\nreproducers in {a.out}/")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
