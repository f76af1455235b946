"""`python -m npu.bench [--short] [--json FILE]`: the benchmark suite (docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import sys

from . import Suite, run


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m npu.bench", description=(
        "Measures the NPU stack against baselines taken on this machine in the same run "
        "and prints each figure's ratio and target."))
    g = p.add_mutually_exclusive_group()
    g.add_argument("--short", action="store_true", help="about a minute (fewer repeats)")
    g.add_argument("--tiny", action="store_true",
                   help="seconds; exercises every figure with meaningless sizes (smoke test)")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    p.add_argument("--markdown", metavar="FILE", help="also write the table as markdown to FILE")
    p.add_argument("--only", metavar="SECTION[,SECTION...]",
                   help="run only these sections: " + ", ".join(Suite.SECTIONS))
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    a = p.parse_args(argv)
    only = None
    if a.only:
        only = tuple(s.strip() for s in a.only.split(",") if s.strip())
        bad = [s for s in only if s not in Suite.SECTIONS]
        if bad or not only:
            p.error(f"unknown section(s) {', '.join(bad) or '(none given)'}; choose from "
                    + ", ".join(Suite.SECTIONS))
    mode = "tiny" if a.tiny else "short" if a.short else "full"
    run(mode, a.json, verbose=not a.quiet, markdown_path=a.markdown, only=only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
