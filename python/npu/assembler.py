"""``npu-as``: assemble NPU assembly into a kernel binary (NPUKBIN).

    npu-as vadd.s -o vadd.kbin
    npu-as - -o out.kbin < vadd.s

Errors are reported as FILE:LINE:COL: message, with exit status 1.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import asm


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="npu-as", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", help="assembly file, or - for standard input")
    ap.add_argument("-o", "--output", help="output file (default: SOURCE with .kbin)")
    a = ap.parse_args(argv)
    if a.source == "-":
        text, name = sys.stdin.read(), "<stdin>"
        out = a.output or "a.kbin"
    else:
        try:
            with open(a.source) as f:
                text = f.read()
        except OSError as e:
            print(f"npu-as: {a.source}: {e.strerror}", file=sys.stderr)
            return 1
        name = a.source
        out = a.output or os.path.splitext(a.source)[0] + ".kbin"
    try:
        binary = asm.assemble(text, filename=name)
    except asm.AsmError as e:
        print(str(e), file=sys.stderr)
        return 1
    with open(out, "wb") as f:
        f.write(binary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
