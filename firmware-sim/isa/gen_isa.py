#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generate every artefact that knows an NPU opcode from the one ISA spec.

    gen_isa.py --spec npu-isa.toml --outdir DIR

writes DIR/npu_isa.h, npu_isa.c, _isa_tables.py and isa.md.
The spec is validated strictly first; any problem exits with status 1 and one message per
problem naming the offending instruction, field or table entry.
"""

from __future__ import annotations

import argparse
import re
import sys
try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib
from dataclasses import dataclass, field
from pathlib import Path

FIELD_KINDS = ("reg", "simm", "uimm", "target", "sreg", "arg")
SIGNED_KINDS = ("simm", "target")
OPCODE_FIELD = "op"
MAX_OPCODE_BITS = 12  # the decoder keeps a table indexed by opcode; keep it small
REPO_ROOT = Path(__file__).resolve().parents[2]

INSN_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
UPPER_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
LOWER_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
SYNTAX_ITEM_RE = re.compile(r"^([a-z_][a-z0-9_]*)(?:\(([a-z_][a-z0-9_]*)\))?$")


class SpecError(Exception):
    pass


@dataclass
class Field:
    name: str
    lsb: int
    width: int
    kind: str

    @property
    def bits(self) -> int:
        return ((1 << self.width) - 1) << self.lsb

    @property
    def signed(self) -> bool:
        return self.kind in SIGNED_KINDS


@dataclass
class Insn:
    name: str
    opcode: int
    syntax: str
    items: list  # [(field, base_field_or_None)] in assembly order
    operands: list  # field names in assembly order
    fixed: dict
    timing: str
    doc: str
    match: int = 0
    mask: int = 0

    @property
    def ident(self) -> str:
        return self.name.upper().replace(".", "_")


@dataclass
class Spec:
    path: str
    name: str
    version: tuple
    word_bits: int
    num_regs: int
    page_size: int
    fields: dict
    sregs: dict  # name -> (id, doc)
    traps: dict  # name -> (code, doc)
    timing: dict  # name -> {base, per_bytes, per_lanes}
    writable: set = field(default_factory=set)  # names of sregs that csrw may write
    insns: list = field(default_factory=list)
    declared: set = field(default_factory=set)  # field names, including rejected ones
    declared_timing: set = field(default_factory=set)  # likewise for timing classes


# --------------------------------------------------------------------------- validation


class Checker:
    """Collects every problem instead of stopping at the first, so one run shows them all."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, msg: str) -> None:
        self.errors.append(msg)

    def already_reported(self) -> None:
        """Fails the current item over a problem reported elsewhere, without repeating it."""
        self.errors.append("")

    def keys(self, where: str, table, required, optional=()) -> bool:
        if not isinstance(table, dict):
            self.error(f"{where}: must be a table")
            return False
        ok = True
        for k in required:
            if k not in table:
                self.error(f"{where}: missing key '{k}'")
                ok = False
        for k in table:
            if k not in required and k not in optional:
                self.error(f"{where}: unknown key '{k}'")
                ok = False
        return ok

    def integer(self, where: str, value, lo: int, hi: int | None = None) -> bool:
        if not isinstance(value, int) or isinstance(value, bool):
            self.error(f"{where}: must be an integer, not {value!r}")
            return False
        if value < lo or (hi is not None and value > hi):
            rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
            self.error(f"{where}: {value} is out of range ({rng})")
            return False
        return True

    def string(self, where: str, value, pattern: re.Pattern | None = None) -> bool:
        if not isinstance(value, str):
            self.error(f"{where}: must be a string, not {value!r}")
            return False
        if pattern is not None and not pattern.fullmatch(value):
            self.error(f"{where}: invalid name {value!r}")
            return False
        return True


def spec_label(path: Path) -> str:
    """How generated files name their spec: stable across build and source directories."""
    path = path.resolve()
    try:
        return path.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return path.name


def load_spec(path: Path) -> Spec:
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except OSError as e:
        raise SpecError(f"{path}: cannot read: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        # Duplicate keys (two sregs or fields of one name) are caught here by the TOML parser.
        raise SpecError(f"{path}: invalid TOML: {e}") from None

    c = Checker()
    c.keys("spec", raw, ("isa", "fields", "insn"), ("sregs", "traps", "timing"))
    if c.errors:
        raise SpecError("\n".join(f"{path}: {e}" for e in c.errors))

    isa = raw["isa"]
    if not isinstance(isa, dict):
        raise SpecError(f"{path}: [isa]: must be a table")
    c.keys("[isa]", isa, ("name", "version_major", "version_minor", "word_bits", "num_regs"),
           ("page_size",))
    name = isa.get("name", "")
    c.string("[isa] name", name, re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$"))
    major, minor = isa.get("version_major"), isa.get("version_minor")
    if "version_major" in isa:
        c.integer("[isa] version_major", major, 0, 0xFFFF)
    if "version_minor" in isa:
        c.integer("[isa] version_minor", minor, 0, 0xFFFF)
    word_bits = isa.get("word_bits", 64)
    if word_bits != 64:
        c.error(f"[isa] word_bits: only 64-bit instruction words are supported, not {word_bits!r}")
        word_bits = 64
    num_regs = isa.get("num_regs", 32)
    c.integer("[isa] num_regs", num_regs, 1, 1 << 16)
    page_size = isa.get("page_size", 4096)
    if c.integer("[isa] page_size", page_size, 1, 1 << 40) and page_size & (page_size - 1):
        c.error(f"[isa] page_size: {page_size} is not a power of two")

    fields = _check_fields(c, raw["fields"], word_bits, num_regs)
    sregs = _check_named_ids(c, "sregs", raw.get("sregs", {}), "id", 0, ("COUNT",),
                             ("writable",))
    writable = set()
    if isinstance(raw.get("sregs"), dict):
        for sname, entry in raw["sregs"].items():
            flag = entry.get("writable", False) if isinstance(entry, dict) else False
            if not isinstance(flag, bool):
                c.error(f"[sregs] {sname}: writable must be true or false, not {flag!r}")
            elif flag and sname in sregs:
                writable.add(sname)
    traps = _check_named_ids(c, "traps", raw.get("traps", {}), "code", 1,
                             ("NONE", "COUNT", "UNKNOWN"))
    if "ILLEGAL_INSN" not in traps:
        c.error("[traps]: ILLEGAL_INSN is required (the decoder reports undecodable words with it)")
    timing = _check_timing(c, raw.get("timing", {}))
    if "sreg" in fields:
        width = fields["sreg"].width
        for sname, (sid, _) in sregs.items():
            if sid >= 1 << width:
                c.error(f"[sregs] {sname}: id {sid} does not fit field 'sreg' ({width} bits)")

    spec = Spec(str(path), name, (major, minor), word_bits, num_regs, page_size, fields, sregs,
                traps, timing, writable)
    if isinstance(raw["fields"], dict):
        spec.declared = set(raw["fields"])
    if isinstance(raw.get("timing"), dict):
        spec.declared_timing = set(raw["timing"])
    if isinstance(raw["insn"], list):
        for i, entry in enumerate(raw["insn"]):
            insn = _check_insn(c, i, entry, spec)
            if insn is not None:
                spec.insns.append(insn)
    else:
        c.error("[[insn]]: must be an array of tables")
    if not raw.get("insn"):
        c.error("[[insn]]: the spec defines no instructions")
    _check_insn_set(c, spec)

    if c.errors:
        raise SpecError("\n".join(f"{path}: {e}" for e in c.errors if e))
    return spec


def _check_fields(c: Checker, raw, word_bits: int, num_regs: int) -> dict:
    fields: dict[str, Field] = {}
    if not isinstance(raw, dict):
        c.error("[fields]: must be a table")
        return fields
    for fname, f in raw.items():
        where = f"[fields] {fname}"
        if not c.string(where, fname, LOWER_NAME_RE):
            continue
        if not c.keys(where, f, ("lsb", "width", "kind")):
            continue
        ok = c.integer(f"{where}: lsb", f["lsb"], 0, word_bits - 1)
        ok &= c.integer(f"{where}: width", f["width"], 1, word_bits)
        if f["kind"] not in FIELD_KINDS:
            c.error(f"{where}: unknown kind {f['kind']!r} (known: {', '.join(FIELD_KINDS)})")
            ok = False
        if not ok:
            continue
        if f["lsb"] + f["width"] > word_bits:
            msb = f["lsb"] + f["width"] - 1
            c.error(f"{where}: bits {f['lsb']}..{msb} extend past bit {word_bits - 1}")
            continue
        fld = Field(fname, f["lsb"], f["width"], f["kind"])
        if fld.kind == "reg" and (1 << fld.width) != num_regs:
            # Every encodable register number must name a register, or decode would accept
            # words the assembler cannot write.
            c.error(f"{where}: a {fld.width}-bit register field encodes {1 << fld.width} "
                    f"registers, but [isa] num_regs is {num_regs}")
        fields[fname] = fld

    op = fields.get(OPCODE_FIELD)
    if op is None:
        if OPCODE_FIELD not in raw:
            c.error(f"[fields]: the opcode field '{OPCODE_FIELD}' is missing")
        return fields
    if op.kind != "uimm":
        c.error(f"[fields] {OPCODE_FIELD}: the opcode field must be of kind 'uimm'")
    if op.width > MAX_OPCODE_BITS:
        c.error(f"[fields] {OPCODE_FIELD}: {op.width} bits is too wide for the decode table "
                f"(at most {MAX_OPCODE_BITS})")
    for fld in fields.values():
        if fld is not op and fld.bits & op.bits:
            c.error(f"[fields] {fld.name}: overlaps the opcode field '{OPCODE_FIELD}'")
    return fields


def _check_named_ids(c: Checker, table: str, raw, key: str, lo: int, reserved,
                     optional=()) -> dict:
    out: dict[str, tuple[int, str]] = {}
    if not isinstance(raw, dict):
        c.error(f"[{table}]: must be a table")
        return out
    seen: dict[int, str] = {}
    for name, entry in raw.items():
        where = f"[{table}] {name}"
        if (not c.string(where, name, UPPER_NAME_RE)
                or not c.keys(where, entry, (key, "doc"), optional)):
            continue
        if name in reserved:
            c.error(f"{where}: the name {name} is reserved")
            continue
        if not c.integer(f"{where}: {key}", entry[key], lo, 4095):
            continue
        if not c.string(f"{where}: doc", entry["doc"]):
            continue
        if entry[key] in seen:
            c.error(f"{where}: duplicate {key} {entry[key]} (also used by {seen[entry[key]]})")
            continue
        seen[entry[key]] = name
        out[name] = (entry[key], entry["doc"])
    return out


def _check_timing(c: Checker, raw) -> dict:
    out: dict[str, dict] = {}
    if not isinstance(raw, dict):
        c.error("[timing]: must be a table")
        return out
    for name, entry in raw.items():
        where = f"[timing] {name}"
        if not c.string(where, name, LOWER_NAME_RE):
            continue
        if not c.keys(where, entry, ("base",), ("per_bytes", "per_lanes")):
            continue
        cost = {k: entry.get(k, 0) for k in ("base", "per_bytes", "per_lanes")}
        if all([c.integer(f"{where}: {k}", v, 0, 0xFFFFFFFF) for k, v in cost.items()]):
            if name.upper() == "COUNT":
                c.error(f"{where}: the name {name} is reserved")
            else:
                out[name] = cost
    if not out and not c.errors:
        c.error("[timing]: the spec defines no timing classes")
    return out


def _check_insn(c: Checker, index: int, raw, spec: Spec) -> Insn | None:
    name = raw.get("name") if isinstance(raw, dict) else None
    where = f"instruction '{name}'" if isinstance(name, str) else f"[[insn]] #{index + 1}"
    if not c.keys(where, raw, ("name", "opcode", "syntax", "timing", "doc"), ("fixed",)):
        return None
    n_err = len(c.errors)
    c.string(f"{where}: name", name, INSN_NAME_RE)
    if isinstance(name, str) and name.upper() in ("ILLEGAL", "COUNT"):
        c.error(f"{where}: the name {name} is reserved")
    op = spec.fields.get(OPCODE_FIELD)
    if op is not None:
        c.integer(f"{where}: opcode", raw["opcode"], 0, (1 << op.width) - 1)
    c.string(f"{where}: doc", raw["doc"])
    timing = raw["timing"]
    if c.string(f"{where}: timing", timing) and timing not in spec.timing:
        if timing in spec.declared_timing:
            c.already_reported()
        else:
            c.error(f"{where}: unknown timing class {timing!r} "
                    f"(known: {', '.join(spec.timing)})")

    # Syntax: comma-separated field names, `off(base)` for a memory operand.
    items: list[tuple[str, str | None]] = []
    syntax = raw["syntax"]
    if c.string(f"{where}: syntax", syntax) and syntax.strip():
        for text in syntax.split(","):
            m = SYNTAX_ITEM_RE.match(text.strip())
            if not m:
                c.error(f"{where}: syntax item {text.strip()!r} is neither a field nor 'imm(reg)'")
                continue
            items.append((m.group(1), m.group(2)))
    operands = [f for item in items for f in item if f is not None]
    for fname in operands:
        if fname not in spec.fields:
            if fname not in spec.declared:  # a rejected field was reported already
                c.error(f"{where}: syntax names unknown field '{fname}'")
            else:
                c.already_reported()
        elif fname == OPCODE_FIELD:
            c.error(f"{where}: syntax names the opcode field '{fname}'")
    for fname in sorted({f for f in operands if operands.count(f) > 1}):
        c.error(f"{where}: syntax names field '{fname}' more than once")
    for off, base in items:
        if base is None:
            continue
        if base in spec.fields and spec.fields[base].kind != "reg":
            c.error(f"{where}: memory operand base '{base}' is not a register field")
        if off in spec.fields and spec.fields[off].kind not in ("simm", "uimm"):
            c.error(f"{where}: memory operand offset '{off}' is not an immediate field")

    fixed = raw.get("fixed", {})
    if not isinstance(fixed, dict):
        c.error(f"{where}: fixed must be a table")
        fixed = {}
    for fname, value in fixed.items():
        fld = spec.fields.get(fname)
        if fld is None:
            if fname not in spec.declared:
                c.error(f"{where}: fixed names unknown field '{fname}'")
            else:
                c.already_reported()
        elif fname == OPCODE_FIELD:
            c.error(f"{where}: fixed names the opcode field; use 'opcode'")
        elif fname in operands:
            c.error(f"{where}: field '{fname}' is both fixed and an operand")
        elif c.integer(f"{where}: fixed {fname}", value, -(1 << 63)):
            lo = -(1 << (fld.width - 1)) if fld.signed else 0
            hi = (1 << fld.width) - 1
            if not lo <= value <= hi:
                c.error(f"{where}: fixed value {value} does not fit field '{fname}' "
                        f"({fld.width} bits, {lo}..{hi})")

    if len(c.errors) != n_err or op is None:
        return None

    # Every used field must own its bits within this instruction.
    used = [op] + [spec.fields[f] for f in fixed] + [spec.fields[f] for f in operands]
    for i, a in enumerate(used):
        for b in used[i + 1:]:
            if a.bits & b.bits:
                c.error(f"{where}: fields '{a.name}' and '{b.name}' overlap "
                        f"(bits {_bit_range(a.bits & b.bits)})")
    if len(c.errors) != n_err:
        return None

    insn = Insn(name, raw["opcode"], syntax, items, operands, dict(fixed), raw["timing"],
                raw["doc"])
    full = (1 << spec.word_bits) - 1
    insn.match = insn.opcode << op.lsb
    for fname, value in fixed.items():
        fld = spec.fields[fname]
        insn.match |= (value & ((1 << fld.width) - 1)) << fld.lsb
    insn.mask = full
    for fname in operands:
        insn.mask &= ~spec.fields[fname].bits
    return insn


def _bit_range(bits: int) -> str:
    lo = (bits & -bits).bit_length() - 1
    return f"{lo}..{bits.bit_length() - 1}"


def _check_insn_set(c: Checker, spec: Spec) -> None:
    names: dict[str, Insn] = {}
    idents: dict[str, Insn] = {}
    combos: dict[tuple, Insn] = {}
    for insn in spec.insns:
        if insn.name in names:
            c.error(f"instruction '{insn.name}': duplicate name")
            continue
        if insn.ident in idents:
            c.error(f"instruction '{insn.name}': C name NPU_INSN_{insn.ident} clashes with "
                    f"instruction '{idents[insn.ident].name}'")
            continue
        key = (insn.opcode, tuple(sorted(insn.fixed.items())))
        if key in combos:
            c.error(f"instruction '{insn.name}': duplicate opcode 0x{insn.opcode:02x} and fixed "
                    f"fields {insn.fixed or '{}'} (also '{combos[key].name}')")
            continue
        names[insn.name] = idents[insn.ident] = combos[key] = insn
    unique = list(names.values())
    for i, a in enumerate(unique):
        for b in unique[i + 1:]:
            if ((a.match ^ b.match) & a.mask & b.mask) == 0:
                c.error(f"instructions '{a.name}' and '{b.name}' overlap: a word can match both "
                        f"(match 0x{a.match:016x}/0x{b.match:016x}, "
                        f"mask 0x{a.mask:016x}/0x{b.mask:016x})")


# --------------------------------------------------------------------------- C output


def c_string(s: str) -> str:
    out = []
    for ch in s.encode("utf-8"):
        if ch in (0x22, 0x5C):
            out.append("\\" + chr(ch))
        elif 0x20 <= ch < 0x7F and ch != 0x3F:  # '?' escaped against trigraphs
            out.append(chr(ch))
        else:
            out.append(f"\\{ch:03o}")
    return '"' + "".join(out) + '"'


def c_comment(s: str) -> str:
    return s.replace("*/", "* /")


def gen_header(spec: Spec, label: str) -> str:
    major, minor = spec.version
    L = []
    w = L.append
    w(f"/* Generated by firmware-sim/isa/gen_isa.py from {label}; do not edit. */")
    w("/* SPDX-License-Identifier: MIT */")
    w("/*")
    w(" * npu_isa.h - the NPU instruction set: encodings, fields, special registers, trap codes")
    w(" * and timing classes, plus a decoder and disassembler. See docs/isa.md.")
    w(" */")
    w("#ifndef NPU_ISA_H")
    w("#define NPU_ISA_H")
    w("")
    w("#include <stddef.h>")
    w("#include <stdint.h>")
    w("")
    w("#ifdef __cplusplus")
    w('extern "C" {')
    w("#endif")
    w("")
    w(f"#define NPU_ISA_VERSION_MAJOR {major}")
    w(f"#define NPU_ISA_VERSION_MINOR {minor}")
    w("#define NPU_ISA_VERSION ((NPU_ISA_VERSION_MAJOR << 16) | NPU_ISA_VERSION_MINOR)")
    w(f"#define NPU_ISA_WORD_BITS {spec.word_bits}")
    w(f"#define NPU_ISA_NUM_REGS {spec.num_regs}")
    w(f"#define NPU_ISA_PAGE_SIZE {spec.page_size}")
    w("")
    w("/* Field extraction; reg/uimm/sreg/arg fields unsigned, simm/target fields sign-extended")
    w(" * (int64_t). */")
    for f in spec.fields.values():
        mask = (1 << f.width) - 1
        raw = f"(((uint64_t)(w) >> {f.lsb}) & 0x{mask:x}ull)" if f.width < 64 else "((uint64_t)(w))"
        if f.signed:
            if f.width == 64:
                expr = "((int64_t)(w))"
            else:
                sign = 1 << (f.width - 1)
                # xor/subtract sign-extends without implementation-defined shifts.
                expr = f"((int64_t)({raw} ^ 0x{sign:x}ull) - (int64_t)0x{sign:x})"
        else:
            ctype = "uint32_t" if f.width <= 32 else "uint64_t"
            expr = f"(({ctype}){raw})"
        w(f"#define NPU_FIELD_{f.name.upper()}(w) {expr}")
    w("")
    w("/* Field placement, for encoders (tests, tools): value << SHIFT, masked to WIDTH bits. */")
    for f in spec.fields.values():
        w(f"#define NPU_FIELD_{f.name.upper()}_SHIFT {f.lsb}")
        w(f"#define NPU_FIELD_{f.name.upper()}_WIDTH {f.width}")
    w("")
    w("/* X-macro over every instruction, in spec order:")
    w(" *   X(ID, \"mnemonic\", opcode, match, mask, TIMING)")
    w(" * a word w is the instruction iff (w & mask) == match. */")
    w("#define NPU_INSN_LIST(X) \\")
    for i, insn in enumerate(spec.insns):
        end = " \\" if i + 1 < len(spec.insns) else ""
        w(f"\tX({insn.ident}, \"{insn.name}\", 0x{insn.opcode:02x}, 0x{insn.match:016x}ull, "
          f"0x{insn.mask:016x}ull, {insn.timing.upper()}){end}")
    w("")
    w("enum npu_insn {")
    w("\tNPU_INSN_ILLEGAL = 0,")
    for insn in spec.insns:
        w(f"\tNPU_INSN_{insn.ident},")
    w("\tNPU_INSN_COUNT")
    w("};")
    w("")
    w("/* Special registers, read with csrr. */")
    w("enum npu_sreg {")
    for name, (sid, doc) in sorted(spec.sregs.items(), key=lambda kv: kv[1][0]):
        w(f"\tNPU_SREG_{name} = {sid}, /* {c_comment(doc)} */")
    w(f"\tNPU_SREG_COUNT = {max((i for i, _ in spec.sregs.values()), default=-1) + 1}")
    w("};")
    w("")
    w("/* Why a program instance stopped abnormally. */")
    w("enum npu_trap {")
    w("\tNPU_TRAP_NONE = 0,")
    for name, (code, doc) in sorted(spec.traps.items(), key=lambda kv: kv[1][0]):
        w(f"\tNPU_TRAP_{name} = {code}, /* {c_comment(doc)} */")
    w(f"\tNPU_TRAP_COUNT = {max(code for code, _ in spec.traps.values()) + 1}")
    w("};")
    w("")
    w("enum npu_timing {")
    for name in spec.timing:
        w(f"\tNPU_TIMING_{name.upper()},")
    w("\tNPU_TIMING_COUNT")
    w("};")
    w("")
    w("/* Simulated cycles: base, plus one per per_bytes bytes (DMA) or per_lanes elements")
    w(" * (vector); 0 = not used. */")
    w("struct npu_timing_cost {")
    w("\tuint32_t base, per_bytes, per_lanes;")
    w("};")
    w("")
    w("extern const struct npu_timing_cost npu_timing_costs[NPU_TIMING_COUNT];")
    w("extern const uint8_t npu_insn_timing[NPU_INSN_COUNT]; /* enum npu_timing */")
    w("")
    w("/* NPU_INSN_ILLEGAL when nothing matches. */")
    w("enum npu_insn npu_isa_decode(uint64_t word);")
    w("/* \"add\"; \"illegal\" for NPU_INSN_ILLEGAL or an id out of range. */")
    w("const char *npu_insn_name(enum npu_insn id);")
    w("/* \"ILLEGAL_INSN\"; \"NONE\" for 0; \"UNKNOWN\" for a code the spec does not define. */")
    w("const char *npu_trap_name(uint32_t code);")
    w("/* The spec's description of the trap; \"\" if unknown. */")
    w("const char *npu_trap_doc(uint32_t code);")
    w("/* \"CORE_ID\"; NULL if unknown. */")
    w("const char *npu_sreg_name(uint32_t id);")
    w("/* 1 if csrw may write special register id, else 0 (read-only or unknown). */")
    w("int npu_sreg_writable(uint32_t id);")
    w("/* Disassembles one word: \"add r1, r2, r3\", \"lw r4, -8(r2)\",")
    w(" * \"beq r1, r0, -3\" (targets as a signed offset in instructions), \"csrr r5, CORE_ID\"")
    w(" * (an unknown sreg as its number), an illegal word as")
    w(" * \".word 0x0123456789abcdef\". snprintf semantics: returns the full length. */")
    w("int npu_isa_disasm(uint64_t word, char *buf, size_t size);")
    w("")
    w("#ifdef __cplusplus")
    w("}")
    w("#endif")
    w("")
    w("#endif /* NPU_ISA_H */")
    return "\n".join(L) + "\n"


def gen_source(spec: Spec, label: str) -> str:
    fields = list(spec.fields.values())
    findex = {f.name: i for i, f in enumerate(fields)}
    op = spec.fields[OPCODE_FIELD]
    n_ops = 1 << op.width
    max_items = max(1, max(len(i.items) for i in spec.insns))

    L = []
    w = L.append
    w(f"/* Generated by firmware-sim/isa/gen_isa.py from {label}; do not edit. */")
    w("/* SPDX-License-Identifier: MIT */")
    w("#include \"npu_isa.h\"")
    w("")
    w("#include <stdarg.h>")
    w("#include <stdio.h>")
    w("")
    w("enum npu_field_kind { " + ", ".join(f"NPU_KIND_{k.upper()}" for k in FIELD_KINDS) + " };")
    w("")
    w("struct npu_field_desc {")
    w("\tuint8_t lsb, width, kind;")
    w("};")
    w("")
    w("static const struct npu_field_desc npu_fields[] = {")
    for f in fields:
        w(f"\t{{ {f.lsb}, {f.width}, NPU_KIND_{f.kind.upper()} }}, /* {f.name} */")
    w("};")
    w("")
    w("#define NPU_NO_FIELD 0xff")
    w(f"#define NPU_MAX_ITEMS {max_items}")
    w("")
    w("/* Assembly operands in order; an item with a base is a memory operand off(base). */")
    w("struct npu_insn_fmt {")
    w("\tuint8_t count;")
    w("\tuint8_t field[NPU_MAX_ITEMS];")
    w("\tuint8_t base[NPU_MAX_ITEMS];")
    w("};")
    w("")

    def arr(vals):
        vals = list(vals) + ["NPU_NO_FIELD"] * (max_items - len(vals))
        return "{ " + ", ".join(str(v) for v in vals) + " }"

    w("static const struct npu_insn_fmt npu_insn_fmts[NPU_INSN_COUNT] = {")
    w(f"\t{{ 0, {arr([])}, {arr([])} }}, /* illegal */")
    for insn in spec.insns:
        fs = [findex[f] for f, _ in insn.items]
        bs = [findex[b] if b is not None else "NPU_NO_FIELD" for _, b in insn.items]
        w(f"\t{{ {len(insn.items)}, {arr(fs)}, {arr(bs)} }}, /* {insn.name} {insn.syntax} */")
    w("};")
    w("")
    w("static const char *const npu_insn_names[NPU_INSN_COUNT] = {")
    w('\t"illegal",')
    for insn in spec.insns:
        w(f'\t"{insn.name}",')
    w("};")
    w("")
    w("static const uint64_t npu_insn_match[NPU_INSN_COUNT] = {")
    w("\t0,")
    for insn in spec.insns:
        w(f"\t0x{insn.match:016x}ull, /* {insn.name} */")
    w("};")
    w("")
    w("static const uint64_t npu_insn_mask[NPU_INSN_COUNT] = {")
    w("\t0,")
    for insn in spec.insns:
        w(f"\t0x{insn.mask:016x}ull, /* {insn.name} */")
    w("};")
    w("")
    w("const uint8_t npu_insn_timing[NPU_INSN_COUNT] = {")
    w(f"\tNPU_TIMING_{next(iter(spec.timing)).upper()}, /* illegal: never executed */")
    for insn in spec.insns:
        w(f"\tNPU_TIMING_{insn.timing.upper()}, /* {insn.name} */")
    w("};")
    w("")
    w("const struct npu_timing_cost npu_timing_costs[NPU_TIMING_COUNT] = {")
    for name, cost in spec.timing.items():
        w(f"\t{{ {cost['base']}, {cost['per_bytes']}, {cost['per_lanes']} }}, /* {name} */")
    w("};")
    w("")
    # Decode: candidates per opcode value, so a word costs one or two mask compares.
    by_op: dict[int, list[int]] = {}
    for idx, insn in enumerate(spec.insns, start=1):
        by_op.setdefault(insn.opcode, []).append(idx)
    cand_type = "uint8_t" if len(spec.insns) < 256 else "uint16_t"
    first, cands = [], []
    for o in range(n_ops):
        first.append(len(cands))
        cands.extend(by_op.get(o, []))
    first.append(len(cands))
    first_type = "uint8_t" if len(cands) < 256 else "uint16_t"
    w("/* Candidates for opcode o: npu_decode_cands[npu_decode_first[o]]")
    w(" * up to npu_decode_cands[npu_decode_first[o + 1]], exclusive. */")
    w(f"static const {first_type} npu_decode_first[{n_ops + 1}] = {{")
    for i in range(0, len(first), 16):
        w("\t" + ", ".join(str(v) for v in first[i:i + 16]) + ",")
    w("};")
    w("")
    w(f"static const {cand_type} npu_decode_cands[{len(cands)}] = {{")
    for i in range(0, len(cands), 16):
        w("\t" + ", ".join(str(v) for v in cands[i:i + 16]) + ",")
    w("};")
    w("")
    w("enum npu_insn npu_isa_decode(uint64_t word)")
    w("{")
    w(f"\tunsigned op = (unsigned)NPU_FIELD_{OPCODE_FIELD.upper()}(word);")
    w("\tunsigned i;")
    w("")
    w("\tfor (i = npu_decode_first[op]; i < npu_decode_first[op + 1]; i++) {")
    w("\t\tunsigned id = npu_decode_cands[i];")
    w("")
    w("\t\tif ((word & npu_insn_mask[id]) == npu_insn_match[id])")
    w("\t\t\treturn (enum npu_insn)id;")
    w("\t}")
    w("\treturn NPU_INSN_ILLEGAL;")
    w("}")
    w("")
    w("const char *npu_insn_name(enum npu_insn id)")
    w("{")
    w("\tif ((unsigned)id >= NPU_INSN_COUNT)")
    w("\t\treturn \"illegal\";")
    w("\treturn npu_insn_names[id];")
    w("}")
    w("")
    n_traps = max(code for code, _ in spec.traps.values()) + 1
    tr = {code: (name, doc) for name, (code, doc) in spec.traps.items()}
    w("static const char *const npu_trap_names[NPU_TRAP_COUNT] = {")
    w('\t"NONE",')
    for code in range(1, n_traps):
        w(f"\t{c_string(tr[code][0]) if code in tr else 'NULL'},")
    w("};")
    w("")
    w("static const char *const npu_trap_docs[NPU_TRAP_COUNT] = {")
    w('\t"no trap",')
    for code in range(1, n_traps):
        w(f"\t{c_string(tr[code][1]) if code in tr else 'NULL'},")
    w("};")
    w("")
    w("const char *npu_trap_name(uint32_t code)")
    w("{")
    w("\tif (code >= NPU_TRAP_COUNT || !npu_trap_names[code])")
    w("\t\treturn \"UNKNOWN\";")
    w("\treturn npu_trap_names[code];")
    w("}")
    w("")
    w("const char *npu_trap_doc(uint32_t code)")
    w("{")
    w("\tif (code >= NPU_TRAP_COUNT || !npu_trap_docs[code])")
    w("\t\treturn \"\";")
    w("\treturn npu_trap_docs[code];")
    w("}")
    w("")
    n_sregs = max((i for i, _ in spec.sregs.values()), default=-1) + 1
    sr = {sid: name for name, (sid, _) in spec.sregs.items()}
    w(f"static const char *const npu_sreg_names[{max(n_sregs, 1)}] = {{")
    for sid in range(max(n_sregs, 1)):
        w(f"\t{c_string(sr[sid]) if sid in sr else 'NULL'},")
    w("};")
    w("")
    w("const char *npu_sreg_name(uint32_t id)")
    w("{")
    w("\tif (id >= NPU_SREG_COUNT)")
    w("\t\treturn NULL;")
    w("\treturn npu_sreg_names[id];")
    w("}")
    w("")
    w(f"static const uint8_t npu_sreg_wr[{max(n_sregs, 1)}] = {{")
    for sid in range(max(n_sregs, 1)):
        w(f"\t{1 if sr.get(sid) in spec.writable else 0}, /* {sr.get(sid, '-')} */")
    w("};")
    w("")
    w("int npu_sreg_writable(uint32_t id)")
    w("{")
    w("\tif (id >= NPU_SREG_COUNT)")
    w("\t\treturn 0;")
    w("\treturn npu_sreg_wr[id];")
    w("}")
    w("")
    w("struct npu_out {")
    w("\tchar *buf;")
    w("\tsize_t size, len;")
    w("};")
    w("")
    w("#if defined(__GNUC__)")
    w("__attribute__((format(printf, 2, 3)))")
    w("#endif")
    w("static void npu_out_printf(struct npu_out *o, const char *fmt, ...)")
    w("{")
    w("\tva_list ap;")
    w("\tint n;")
    w("")
    w("\tva_start(ap, fmt);")
    w("\t/* Keep counting past the end of buf, as snprintf does. */")
    w("\tif (o->len < o->size)")
    w("\t\tn = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);")
    w("\telse")
    w("\t\tn = vsnprintf(NULL, 0, fmt, ap);")
    w("\tva_end(ap);")
    w("\tif (n > 0)")
    w("\t\to->len += (size_t)n;")
    w("}")
    w("")
    w("static void npu_out_field(struct npu_out *o, uint64_t word, unsigned f)")
    w("{")
    w("\tconst struct npu_field_desc *d = &npu_fields[f];")
    w("\tuint64_t v = word >> d->lsb;")
    w("")
    w("\tif (d->width < 64)")
    w("\t\tv &= (1ull << d->width) - 1;")
    w("\tswitch (d->kind) {")
    w("\tcase NPU_KIND_REG:")
    w("\t\tnpu_out_printf(o, \"r%u\", (unsigned)v);")
    w("\t\tbreak;")
    w("\tcase NPU_KIND_SIMM:")
    w("\tcase NPU_KIND_TARGET: {")
    w("\t\tuint64_t sign = 1ull << (d->width - 1);")
    w("")
    w("\t\tnpu_out_printf(o, \"%lld\", (long long)(int64_t)((v ^ sign) - sign));")
    w("\t\tbreak;")
    w("\t}")
    w("\tcase NPU_KIND_SREG: {")
    w("\t\tconst char *name = v <= 0xffffffffu ? npu_sreg_name((uint32_t)v) : NULL;")
    w("")
    w("\t\tif (name) {")
    w("\t\t\tnpu_out_printf(o, \"%s\", name);")
    w("\t\t\tbreak;")
    w("\t\t}")
    w("\t\tnpu_out_printf(o, \"%llu\", (unsigned long long)v);")
    w("\t\tbreak;")
    w("\t}")
    w("\tdefault:")
    w("\t\tnpu_out_printf(o, \"%llu\", (unsigned long long)v);")
    w("\t\tbreak;")
    w("\t}")
    w("}")
    w("")
    w("int npu_isa_disasm(uint64_t word, char *buf, size_t size)")
    w("{")
    w("\tstruct npu_out o;")
    w("\tenum npu_insn id = npu_isa_decode(word);")
    w("\tconst struct npu_insn_fmt *fmt = &npu_insn_fmts[id];")
    w("\tunsigned i;")
    w("")
    w("\to.buf = buf;")
    w("\to.size = buf ? size : 0;")
    w("\to.len = 0;")
    w("\tif (size && buf)")
    w("\t\tbuf[0] = '\\0';")
    w("\tif (id == NPU_INSN_ILLEGAL) {")
    w("\t\tnpu_out_printf(&o, \".word 0x%016llx\", (unsigned long long)word);")
    w("\t\treturn (int)o.len;")
    w("\t}")
    w("\tnpu_out_printf(&o, \"%s\", npu_insn_names[id]);")
    w("\tfor (i = 0; i < fmt->count; i++) {")
    w("\t\tnpu_out_printf(&o, \"%s\", i ? \", \" : \" \");")
    w("\t\tnpu_out_field(&o, word, fmt->field[i]);")
    w("\t\tif (fmt->base[i] != NPU_NO_FIELD) {")
    w("\t\t\tnpu_out_printf(&o, \"(\");")
    w("\t\t\tnpu_out_field(&o, word, fmt->base[i]);")
    w("\t\t\tnpu_out_printf(&o, \")\");")
    w("\t\t}")
    w("\t}")
    w("\treturn (int)o.len;")
    w("}")
    return "\n".join(L) + "\n"


# --------------------------------------------------------------------------- Python output


def gen_tables(spec: Spec, label: str) -> str:
    L = []
    w = L.append
    w(f"# Generated by firmware-sim/isa/gen_isa.py from {label}; do not edit.")
    w('"""NPU ISA tables, plain data for the assembler, disassembler and reference model."""')
    w("")
    w(f"ISA_NAME = {spec.name!r}")
    w(f"ISA_VERSION = {tuple(spec.version)!r}")
    w(f"WORD_BITS = {spec.word_bits}")
    w(f"NUM_REGS = {spec.num_regs}")
    w(f"PAGE_SIZE = {spec.page_size}")
    w("")
    w("# name: (lsb, width, kind)")
    w("FIELDS = {")
    for f in spec.fields.values():
        w(f"    {f.name!r}: ({f.lsb}, {f.width}, {f.kind!r}),")
    w("}")
    w("")
    w("INSNS = [")
    for i in spec.insns:
        w("    dict(")
        w(f"        name={i.name!r},")
        w(f"        opcode=0x{i.opcode:02x},")
        w(f"        syntax={i.syntax!r},")
        w(f"        operands={i.operands!r},")
        w(f"        fixed={i.fixed!r},")
        w(f"        match=0x{i.match:016x},")
        w(f"        mask=0x{i.mask:016x},")
        w(f"        timing={i.timing!r},")
        w(f"        doc={i.doc!r},")
        w("    ),")
    w("]")
    w("")
    w("# name: (id, doc)")
    w("SREGS = {")
    for name, (sid, doc) in spec.sregs.items():
        w(f"    {name!r}: ({sid}, {doc!r}),")
    w("}")
    w("")
    w("# special registers that csrw may write (the others are read-only)")
    w(f"SREG_WRITABLE = frozenset({sorted(spec.writable)!r})")
    w("")
    w("# name: (code, doc); code 0 means no trap")
    w("TRAPS = {")
    for name, (code, doc) in spec.traps.items():
        w(f"    {name!r}: ({code}, {doc!r}),")
    w("}")
    w("")
    w("TIMING = {")
    for name, cost in spec.timing.items():
        w(f"    {name!r}: dict(base={cost['base']}, per_bytes={cost['per_bytes']}, "
          f"per_lanes={cost['per_lanes']}),")
    w("}")
    return "\n".join(L) + "\n"


# --------------------------------------------------------------------------- Markdown output


def md_cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def gen_markdown(spec: Spec, label: str) -> str:
    major, minor = spec.version
    L = []
    w = L.append
    w(f"<!-- Generated by firmware-sim/isa/gen_isa.py from {label}; do not edit. -->")
    w(f"# NPU ISA reference ({spec.name} {major}.{minor})")
    w("")
    w(f"Every instruction is one {spec.word_bits}-bit little-endian word. A word is an instruction")
    w("iff `(word & mask) == match`: the mask covers the opcode, any fixed sub-fields and every")
    w("bit the instruction does not use (those must be zero); any other word is an illegal")
    w("instruction (trap `ILLEGAL_INSN`).")
    w("")
    w(f"- {spec.num_regs} scalar 64-bit registers `r0`..`r{spec.num_regs - 1}`; `r0` reads as zero "
      "and writes to it are discarded (`zero` is an alias).")
    w(f"- Device MMU page size: {spec.page_size} bytes.")
    w("- Branch targets are signed offsets in instructions from the branch itself.")
    w("- Numerics (integer wrap and saturation, rounding, NaN, denormals, accumulation order,")
    w("  the exact algorithms of the transcendental functions), the element types, the check")
    w("  order of every instruction and the trap address it reports, and the synchronisation")
    w("  model are in [numerics.md](numerics.md); this page is the per-instruction summary.")
    w("")
    w("## Fields")
    w("")
    w("| field | bits | width | kind |")
    w("|---|---|---|---|")
    for f in spec.fields.values():
        w(f"| `{f.name}` | {f.lsb + f.width - 1}..{f.lsb} | {f.width} | {f.kind} |")
    w("")
    w("## Instructions")
    w("")
    w("| mnemonic | operands | opcode | fixed | match | mask | timing | semantics |")
    w("|---|---|---|---|---|---|---|---|")
    for i in spec.insns:
        fixed = ", ".join(f"{k}={v}" for k, v in i.fixed.items())
        ops = f"`{i.syntax}`" if i.syntax.strip() else ""
        w(f"| `{i.name}` | {ops} | 0x{i.opcode:02x} | {fixed} | `0x{i.match:016x}` | "
          f"`0x{i.mask:016x}` | {i.timing} | {md_cell(i.doc)} |")
    w("")
    w("## Special registers")
    w("")
    w("Read with `csrr rd, NAME`; the writable ones (configuration registers of the DMA,")
    w("matrix and vector units) are written with `csrw NAME, rs1` and start at 0 in every")
    w("program instance.")
    w("")
    w("| id | name | access | meaning |")
    w("|---|---|---|---|")
    for name, (sid, doc) in sorted(spec.sregs.items(), key=lambda kv: kv[1][0]):
        acc = "read/write" if name in spec.writable else "read"
        w(f"| {sid} | `{name}` | {acc} | {md_cell(doc)} |")
    w("")
    w("## Trap codes")
    w("")
    w("| code | name | meaning |")
    w("|---|---|---|")
    w("| 0 | `NONE` | no trap |")
    for name, (code, doc) in sorted(spec.traps.items(), key=lambda kv: kv[1][0]):
        w(f"| {code} | `{name}` | {md_cell(doc)} |")
    w("")
    w("## Timing classes")
    w("")
    w("Simulated cycles: `base`, plus one cycle per `per_bytes` bytes moved (DMA) or per")
    w("`per_lanes` elements processed (vector); 0 means the term is not used.")
    w("")
    w("| class | base | per_bytes | per_lanes | instructions |")
    w("|---|---|---|---|---|")
    for name, cost in spec.timing.items():
        users = ", ".join(f"`{i.name}`" for i in spec.insns if i.timing == name)
        w(f"| {name} | {cost['base']} | {cost['per_bytes']} | {cost['per_lanes']} | {users} |")
    return "\n".join(L) + "\n"


# --------------------------------------------------------------------------- main


def write(path: Path, text: str) -> None:
    # newline="\n" keeps the committed docs/isa.md byte-identical on every platform.
    path.write_text(text, encoding="utf-8", newline="\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", required=True, type=Path, help="the ISA spec (TOML)")
    ap.add_argument("--outdir", required=True, type=Path, help="where to write the outputs")
    args = ap.parse_args(argv)
    try:
        spec = load_spec(args.spec)
    except SpecError as e:
        for line in str(e).splitlines():
            print(f"gen_isa: error: {line}", file=sys.stderr)
        return 1
    label = spec_label(args.spec)
    args.outdir.mkdir(parents=True, exist_ok=True)
    write(args.outdir / "npu_isa.h", gen_header(spec, label))
    write(args.outdir / "npu_isa.c", gen_source(spec, label))
    write(args.outdir / "_isa_tables.py", gen_tables(spec, label))
    write(args.outdir / "isa.md", gen_markdown(spec, label))
    return 0


if __name__ == "__main__":
    sys.exit(main())
