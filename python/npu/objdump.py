"""``npu-objdump``: show what is inside a kernel binary (NPUKBIN).

    npu-objdump vadd.kbin            header, kernels with signatures, disassembled code
    npu-objdump -h vadd.kbin         header only          (-t: kernels, -d: code)
    npu-objdump -S vadd.kbin         re-assemblable source (what `npu-as` takes)
    npu-objdump --json vadd.kbin     all of it as JSON

The binary is validated as the loader does; a malformed one is reported with the field that
is wrong and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
from typing import Any

from . import asm

_HEADER_FIELDS = ("magic", "format_version", "isa_major", "isa_minor", "header_size", "flags",
                  "file_size", "code_offset", "code_size", "const_offset", "const_size",
                  "kernels_offset", "num_kernels", "args_offset", "num_args",
                  "strings_offset", "strings_size", "crc32", "reserved")


def describe(binary: bytes) -> dict[str, Any]:
    """Everything in the binary as plain data (what --json prints). Raises ValueError for a
    malformed binary."""
    kb = asm.read_kbin(binary)
    raw = struct.unpack_from("<8sHHHHIIIIIIIIIIIIII", binary)
    header = dict(zip(_HEADER_FIELDS, raw))
    header["magic"] = header["magic"].rstrip(b"\0").decode("ascii", "replace")
    starts = {k.entry: k.name for k in kb.kernels}
    code = [{"index": i, "word": f"0x{w:016x}", "text": asm.disassemble_word(w),
             **({"kernel": starts[i]} if i in starts else {})} for i, w in enumerate(kb.code)]
    return {
        "header": header,
        "isa_version": list(kb.isa_version),
        "kernels": [{"name": k.name, "entry": k.entry, "sram_bytes": k.sram_bytes,
                     "args": [{"name": a.name, "type": a.type} for a in k.args],
                     "signature": f"{k.name}(" + ", ".join(f"{a.name}: {a.type}"
                                                           for a in k.args) + ")"}
                    for k in kb.kernels],
        "code": code,
        "consts": kb.consts.hex(),
    }


def _text(d: dict, path: str, headers: bool, kernels: bool, code: bool) -> str:
    out = []
    h = d["header"]
    if headers:
        out.append(f"{path}: file format NPUKBIN version {h['format_version']}, "
                   f"ISA {h['isa_major']}.{h['isa_minor']}, {h['file_size']} bytes, "
                   f"crc32 0x{h['crc32']:08x}")
        out.append("")
        out.append("Sections:")
        out.append(f"  {'name':<10} {'offset':>8} {'size':>8}")
        for name, off, size in (("code", h["code_offset"], h["code_size"]),
                                ("const", h["const_offset"], h["const_size"]),
                                ("kernels", h["kernels_offset"], h["num_kernels"] * 24),
                                ("args", h["args_offset"], h["num_args"] * 8),
                                ("strings", h["strings_offset"], h["strings_size"])):
            out.append(f"  {name:<10} {off:>8} {size:>8}")
        out.append("")
    if kernels:
        out.append("Kernels:")
        for k in d["kernels"]:
            out.append(f"  {k['signature']}  entry {k['entry']}, sram {k['sram_bytes']} bytes")
        out.append("")
    if code:
        out.append("Disassembly of the code section:")
        for c in d["code"]:
            if "kernel" in c:
                out.append(f"\n{c['index']:08x} <{c['kernel']}>:")
            out.append(f"  {c['index']:6d}:  {c['word'][2:]}  {c['text']}")
        if d["consts"]:
            out.append("")
            out.append(f"Constants ({len(d['consts']) // 2} bytes):")
            cb = bytes.fromhex(d["consts"])
            for off in range(0, len(cb), 16):
                out.append(f"  {off:06x}  {cb[off:off + 16].hex(' ')}")
    return "\n".join(out).rstrip()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="npu-objdump", description=__doc__, add_help=False,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--help", action="help", help="show this help and exit")
    ap.add_argument("file", nargs="+", help="kernel binaries")
    ap.add_argument("-h", "--headers", action="store_true", help="the file header and sections")
    ap.add_argument("-t", "--kernels", action="store_true", help="kernels and signatures")
    ap.add_argument("-d", "--disassemble", action="store_true", help="the code")
    ap.add_argument("-S", "--source", action="store_true",
                    help="assembly source that npu-as turns back into the same binary")
    ap.add_argument("--json", action="store_true", help="everything as JSON")
    a = ap.parse_args(argv)
    show_all = not (a.headers or a.kernels or a.disassemble)
    status = 0
    results = []
    for path in a.file:
        try:
            with open(path, "rb") as f:
                binary = f.read()
            if a.source:
                print(asm.disassemble(binary))
                continue
            d = describe(binary)
        except OSError as e:
            print(f"npu-objdump: {path}: {e.strerror}", file=sys.stderr)
            status = 1
            continue
        except ValueError as e:
            print(f"npu-objdump: {path}: not a valid kernel binary: {e}", file=sys.stderr)
            status = 1
            continue
        if a.json:
            results.append(dict(file=path, **d))
        else:
            print(_text(d, path, show_all or a.headers, show_all or a.kernels,
                        show_all or a.disassemble))
    if a.json:
        print(json.dumps(results[0] if len(results) == 1 and len(a.file) == 1 else results,
                         indent=2))
    return status


if __name__ == "__main__":
    sys.exit(main())
