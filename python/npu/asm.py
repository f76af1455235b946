# SPDX-License-Identifier: MIT
"""NPU assembler and disassembler, and the NPUKBIN kernel binary container.

Everything ISA-specific comes from the generated tables (``npu._isa_tables``), so this module
knows no opcode.

Assembly syntax
===============
::

    ; comments start with ';' or '#' and run to the end of the line
    .kernel vadd              ; starts a kernel; its entry is the next instruction
    .arg x ptr                ; arguments in order: name and type (ptr i32 u32 i64 u64 f32 f64)
    .arg n i64
    .sram 65536               ; SRAM bytes the kernel needs per program instance (default 0)
    loop_top:                 ; labels, global to the file
        ldarg r1, x           ; an argument by name (of the current kernel) or by index
        csrr r2, PROGRAM_ID   ; special registers by name or number
        li r3, 0x10           ; numbers: decimal, 0x hex, 0b binary, optionally negative
        li r7, table          ; a constant label: its byte offset in the constant section
        li r8, f32(0.5)       ; the binary32 bit pattern of a float (decimal, hex, inf, nan)
        lw r4, 8(r2)          ; memory operands off(reg); "(r2)" means 0(r2)
        beq r1, r0, done      ; targets: a label, or a number = offset in instructions
        dma.ld r5, r1, r6, 0
        .word 0x40            ; a raw 64-bit instruction word
    done:
        halt
    .const                    ; the constant section (one per file) holds data directives
    table: .word 1, 2         ; .byte .half .word .dword (8/16/32/64-bit integers),
        .float 1.5            ; .float (f32) .double (f64), .align N, .zero N
        .align 8

- Registers are ``r0``..``r31``; ``zero`` is ``r0``. Mnemonics, registers, directives and
  special-register names are case-insensitive; labels, kernel and argument names are not.
- Several kernels per file share one code section; instructions belong in a kernel.
- A code label used as an immediate (``li r1, func``) gives its instruction index, for ``jr``.
- Immediates must fit their field as written: a signed 32-bit field takes
  -2147483648..2147483647 (write -1, not 0xffffffff). Integer data directives take either a
  signed or an unsigned value of their size.
- ``.isa MAJOR.MINOR`` records an older minor ISA version in the binary (the disassembler
  emits it when a binary is not at the current version).
- In a kernel ``.word`` is one 64-bit instruction word; in ``.const`` it is 32 bits.

Errors raise :class:`AsmError`, whose text is ``file:line:col: message`` and points at the
offending token.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass, field

from . import _isa_tables as _T

__all__ = [
    "ARG_TYPES", "AsmError", "ArgInfo", "KernelBinary", "KernelInfo", "assemble", "decode",
    "disassemble", "disassemble_word", "encode", "read_kbin", "write_kbin",
]

ISA_VERSION: tuple[int, int] = tuple(_T.ISA_VERSION)
WORD_BITS = _T.WORD_BITS
NUM_REGS = _T.NUM_REGS

# --------------------------------------------------------------------------- ISA model

_SIGNED_KINDS = ("simm", "target")
_WORD_MASK = (1 << WORD_BITS) - 1


@dataclass(frozen=True)
class _Field:
    name: str
    lsb: int
    width: int
    kind: str

    @property
    def lo(self) -> int:
        return -(1 << (self.width - 1)) if self.kind in _SIGNED_KINDS else 0

    @property
    def hi(self) -> int:
        if self.kind in _SIGNED_KINDS:
            return (1 << (self.width - 1)) - 1
        if self.kind == "reg":
            return min(NUM_REGS, 1 << self.width) - 1
        return (1 << self.width) - 1

    def extract(self, word: int) -> int:
        v = (word >> self.lsb) & ((1 << self.width) - 1)
        if self.kind in _SIGNED_KINDS and v >> (self.width - 1):
            v -= 1 << self.width
        return v

    def insert(self, value: int) -> int:
        return (value & ((1 << self.width) - 1)) << self.lsb


@dataclass(frozen=True)
class _Insn:
    name: str
    opcode: int
    items: tuple  # ((field, base field or None), ...) in assembly order
    operands: tuple  # field names in assembly order
    match: int
    mask: int


_FIELDS = {n: _Field(n, *v) for n, v in _T.FIELDS.items()}
_OPCODE = _FIELDS["op"]


def _parse_syntax(syntax: str) -> tuple:
    items = []
    for text in filter(None, (t.strip() for t in syntax.split(","))):
        m = re.fullmatch(r"(\w+)(?:\((\w+)\))?", text)
        items.append((_FIELDS[m.group(1)], _FIELDS[m.group(2)] if m.group(2) else None))
    return tuple(items)


_INSNS = [
    _Insn(d["name"], d["opcode"], _parse_syntax(d["syntax"]), tuple(d["operands"]),
          d["match"], d["mask"])
    for d in _T.INSNS
]
_BY_NAME = {i.name: i for i in _INSNS}
_BY_OPCODE: dict[int, list[_Insn]] = {}
for _i in _INSNS:
    _BY_OPCODE.setdefault(_i.opcode, []).append(_i)
_SREG_IDS = {name: sid for name, (sid, _doc) in _T.SREGS.items()}
_SREG_NAMES = {sid: name for name, sid in _SREG_IDS.items()}

# --------------------------------------------------------------------------- words


def _check_value(f: _Field, value) -> int:
    if f.kind == "sreg" and isinstance(value, str):
        if value.upper() not in _SREG_IDS:
            raise ValueError(f"unknown special register {value!r}")
        value = _SREG_IDS[value.upper()]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"operand {f.name} must be an integer, not {value!r}")
    if not f.lo <= value <= f.hi:
        raise ValueError(f"operand {f.name}={value} out of range ({f.lo}..{f.hi})")
    return value


def encode(mnemonic: str, **operands) -> int:
    """The word for ``mnemonic`` with its operand fields given by name:
    ``encode("lw", rd=4, rs1=2, imm=-8)``. Targets are offsets in instructions; a special
    register may be given by name. Raises ValueError."""
    insn = _BY_NAME.get(mnemonic)
    if insn is None:
        raise ValueError(f"unknown instruction {mnemonic!r}")
    missing = [f for f in insn.operands if f not in operands]
    extra = [f for f in operands if f not in insn.operands]
    if missing or extra:
        raise ValueError(f"{mnemonic} takes operands ({', '.join(insn.operands)}); "
                         + (f"missing {', '.join(missing)}" if missing else "")
                         + ("; " if missing and extra else "")
                         + (f"unexpected {', '.join(extra)}" if extra else ""))
    word = insn.match
    for name in insn.operands:
        f = _FIELDS[name]
        word |= f.insert(_check_value(f, operands[name]))
    return word


def _decode(word: int) -> _Insn | None:
    for insn in _BY_OPCODE.get(_OPCODE.extract(word), ()):
        if word & insn.mask == insn.match:
            return insn
    return None


def decode(word: int) -> tuple[str, dict]:
    """``(mnemonic, {field: value})`` for a word; simm and target fields are signed.
    Raises ValueError for an illegal instruction."""
    if not isinstance(word, int) or not 0 <= word <= _WORD_MASK:
        raise ValueError(f"not a {WORD_BITS}-bit word: {word!r}")
    insn = _decode(word)
    if insn is None:
        raise ValueError(f"illegal instruction 0x{word:016x}")
    return insn.name, {name: _FIELDS[name].extract(word) for name in insn.operands}


def _format_value(f: _Field, word: int, target_label=None) -> str:
    v = f.extract(word)
    if f.kind == "reg":
        return f"r{v}"
    if f.kind == "sreg":
        return _SREG_NAMES.get(v, str(v))
    if f.kind == "target" and target_label is not None:
        return target_label(v)
    return str(v)


def _format_insn(insn: _Insn, word: int, target_label=None) -> str:
    parts = []
    for f, base in insn.items:
        text = _format_value(f, word, target_label)
        if base is not None:
            text += f"({_format_value(base, word)})"
        parts.append(text)
    return insn.name + (" " + ", ".join(parts) if parts else "")


def disassemble_word(word: int) -> str:
    """One word as text, exactly as the C npu_isa_disasm() prints it."""
    word &= _WORD_MASK
    insn = _decode(word)
    if insn is None:
        return f".word 0x{word:016x}"
    return _format_insn(insn, word)


# --------------------------------------------------------------------------- container

KBIN_MAGIC = b"NPUKBIN\0"
KBIN_FORMAT_VERSION = 1
MAX_KERNEL_ARGS = 32
ARG_TYPES = {"ptr": 1, "i32": 2, "u32": 3, "i64": 4, "u64": 5, "f32": 6, "f64": 7}
_ARG_TYPE_NAMES = {v: k for k, v in ARG_TYPES.items()}

_HEADER = struct.Struct("<8sHHHHIIIIIIIIIIIIII")
_KERNEL = struct.Struct("<IIIIII")
_ARG = struct.Struct("<IB3s")
_CRC_OFFSET = 64  # of the crc32 field in the header
assert _HEADER.size == 72 and _KERNEL.size == 24 and _ARG.size == 8


@dataclass
class ArgInfo:
    name: str
    type: str  # one of ARG_TYPES


@dataclass
class KernelInfo:
    name: str
    entry: int  # index of the first instruction in the code
    sram_bytes: int = 0
    args: list[ArgInfo] = field(default_factory=list)


@dataclass
class KernelBinary:
    isa_version: tuple[int, int]
    code: list[int]  # instruction words
    consts: bytes = b""
    kernels: list[KernelInfo] = field(default_factory=list)


def _align(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def write_kbin(kb: KernelBinary) -> bytes:
    """The NPUKBIN file for ``kb``. Raises ValueError for anything the loader would reject."""
    u32 = range(1 << 32)
    if len(kb.isa_version) != 2 or not all(v in range(1 << 16) for v in kb.isa_version):
        raise ValueError(f"isa_version must be (major, minor) in 0..65535: {kb.isa_version!r}")
    if not all(isinstance(w, int) and 0 <= w <= _WORD_MASK for w in kb.code):
        raise ValueError(f"code words must be integers in 0..2^{WORD_BITS}-1")
    for k in kb.kernels:
        if k.entry not in u32 or k.sram_bytes not in u32:
            raise ValueError(f"kernel {k.name!r}: entry and sram_bytes must be in 0..2^32-1")
        for a in k.args:
            if a.type not in ARG_TYPES:
                raise ValueError(f"kernel {k.name!r}: argument {a.name!r}: unknown type {a.type!r}")
        for name in [k.name] + [a.name for a in k.args]:
            if "\0" in name:
                raise ValueError(f"kernel {k.name!r}: name {name!r} contains NUL")

    strings = bytearray()
    offsets: dict[str, int] = {}

    def string(s: str) -> int:
        if s not in offsets:
            offsets[s] = len(strings)
            strings.extend(s.encode("utf-8") + b"\0")
        return offsets[s]

    kernels, args = bytearray(), bytearray()
    for k in kb.kernels:
        kernels += _KERNEL.pack(string(k.name), k.entry, k.sram_bytes, len(args) // _ARG.size,
                                len(k.args), 0)
        for a in k.args:
            args += _ARG.pack(string(a.name), ARG_TYPES[a.type], b"\0\0\0")

    code = b"".join(w.to_bytes(8, "little") for w in kb.code)
    code_off = _HEADER.size
    const_off = code_off + len(code) if kb.consts else 0
    kernels_off = _align(code_off + len(code) + len(kb.consts), 8)
    args_off = kernels_off + len(kernels)
    strings_off = args_off + len(args)
    size = strings_off + len(strings)
    n_args = len(args) // _ARG.size
    header = _HEADER.pack(KBIN_MAGIC, KBIN_FORMAT_VERSION, kb.isa_version[0], kb.isa_version[1],
                          _HEADER.size, 0, size, code_off, len(code), const_off, len(kb.consts),
                          kernels_off, len(kb.kernels), args_off, n_args, strings_off,
                          len(strings), 0, 0)
    out = bytearray(header + code + kb.consts)
    out += bytes(kernels_off - len(out))
    out += kernels + args + strings
    struct.pack_into("<I", out, _CRC_OFFSET, zlib.crc32(out))
    read_kbin(bytes(out))  # one set of rules: never write what the loader rejects
    return bytes(out)


def read_kbin(data: bytes, *, sram_limit: int | None = None) -> KernelBinary:
    """Parses and validates an NPUKBIN file in the order the C loader does; raises
    ValueError naming the first bad field. ``sram_limit`` is the device's SRAM per core."""
    data = bytes(data)
    if len(data) < _HEADER.size:
        raise ValueError(f"file too small for the header: {len(data)} bytes < {_HEADER.size}")
    (magic, fmt, isa_major, isa_minor, hdr_size, flags, file_size, code_off, code_size,
     const_off, const_size, kernels_off, n_kernels, args_off, n_args, strings_off,
     strings_size, crc, reserved) = _HEADER.unpack_from(data)
    if magic != KBIN_MAGIC:
        raise ValueError(f"bad magic {magic!r}, expected {KBIN_MAGIC!r}")
    if fmt != KBIN_FORMAT_VERSION:
        raise ValueError(f"format_version {fmt} is not supported (expected {KBIN_FORMAT_VERSION})")
    if hdr_size != _HEADER.size:
        raise ValueError(f"header_size {hdr_size} != {_HEADER.size}")
    if flags:
        raise ValueError(f"header flags 0x{flags:x} are not zero")
    if reserved:
        raise ValueError(f"header reserved field 0x{reserved:x} is not zero")
    if file_size != len(data):
        raise ValueError(f"file_size {file_size} != actual size {len(data)}")
    actual = zlib.crc32(data[:_CRC_OFFSET] + b"\0\0\0\0" + data[_CRC_OFFSET + 4:])
    if crc != actual:
        raise ValueError(f"crc32 0x{crc:08x} does not match the contents (0x{actual:08x})")
    if isa_major != ISA_VERSION[0] or isa_minor > ISA_VERSION[1]:
        raise ValueError(f"ISA version {isa_major}.{isa_minor} is not supported "
                         f"(this ISA is {ISA_VERSION[0]}.{ISA_VERSION[1]})")

    if code_size == 0:
        raise ValueError("code_size is 0: no instructions")
    if code_size % 8:
        raise ValueError(f"code_size {code_size} is not a multiple of 8")
    if n_kernels == 0:
        raise ValueError("num_kernels is 0")
    sections = [  # name, offset, size, alignment
        ("code", code_off, code_size, 8),
        ("const", const_off, const_size, 8),
        ("kernels", kernels_off, n_kernels * _KERNEL.size, 4),
        ("args", args_off, n_args * _ARG.size, 4),
        ("strings", strings_off, strings_size, 1),
    ]
    for name, off, size, align in sections:
        if off % align:
            raise ValueError(f"{name}_offset {off} is not {align}-aligned")
        if off + size > file_size:
            raise ValueError(f"{name} section [{off}, {off + size}) extends past the end of "
                             f"the file ({file_size} bytes)")
        if size and off < _HEADER.size:
            raise ValueError(f"{name} section [{off}, {off + size}) overlaps the header")
    used = [s for s in sections if s[2]]
    for i, (a, aoff, asize, _) in enumerate(used):
        for b, boff, bsize, _ in used[i + 1:]:
            if aoff < boff + bsize and boff < aoff + asize:
                raise ValueError(f"{a} section [{aoff}, {aoff + asize}) overlaps {b} section "
                                 f"[{boff}, {boff + bsize})")

    strings = data[strings_off:strings_off + strings_size]

    def string(off: int, what: str) -> str:
        if off >= strings_size:
            raise ValueError(f"{what}: name offset {off} is outside the string table "
                             f"({strings_size} bytes)")
        end = strings.find(b"\0", off)
        if end < 0:
            raise ValueError(f"{what}: name at offset {off} is not NUL-terminated")
        try:
            return strings[off:end].decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"{what}: name at offset {off} is not valid UTF-8") from None

    n_code = code_size // 8
    raw_args = [_ARG.unpack_from(data, args_off + i * _ARG.size) for i in range(n_args)]
    arg_names = []
    for i, (name_off, typ, pad) in enumerate(raw_args):
        what = f"argument {i}"
        name = string(name_off, what)
        if not name:
            raise ValueError(f"{what}: empty name")
        if typ not in _ARG_TYPE_NAMES:
            raise ValueError(f"{what} ({name!r}): unknown type {typ}")
        if pad != b"\0\0\0":
            raise ValueError(f"{what} ({name!r}): padding is not zero")
        arg_names.append(name)

    kernels: list[KernelInfo] = []
    seen: set[str] = set()
    for i in range(n_kernels):
        name_off, entry, sram, first, count, kflags = _KERNEL.unpack_from(
            data, kernels_off + i * _KERNEL.size)
        what = f"kernel {i}"
        name = string(name_off, what)
        if not name:
            raise ValueError(f"{what}: empty name")
        what = f"kernel {i} ({name!r})"
        if name in seen:
            raise ValueError(f"{what}: duplicate kernel name")
        seen.add(name)
        if kflags:
            raise ValueError(f"{what}: flags 0x{kflags:x} are not zero")
        if entry >= n_code:
            raise ValueError(f"{what}: entry {entry} is not below the {n_code} code words")
        if count > MAX_KERNEL_ARGS:
            raise ValueError(f"{what}: {count} arguments, at most {MAX_KERNEL_ARGS}")
        if first + count > n_args:
            raise ValueError(f"{what}: arguments [{first}, {first + count}) exceed the "
                             f"{n_args} in the argument table")
        names = arg_names[first:first + count]
        dup = next((n for j, n in enumerate(names) if n in names[:j]), None)
        if dup is not None:
            raise ValueError(f"{what}: duplicate argument name {dup!r}")
        if sram_limit is not None and sram > sram_limit:
            raise ValueError(f"{what}: sram_bytes {sram} exceeds the device's {sram_limit}")
        kernels.append(KernelInfo(name, entry, sram, [
            ArgInfo(arg_names[j], _ARG_TYPE_NAMES[raw_args[j][1]])
            for j in range(first, first + count)]))

    code = [int.from_bytes(data[code_off + 8 * i:code_off + 8 * i + 8], "little")
            for i in range(n_code)]
    return KernelBinary((isa_major, isa_minor), code, data[const_off:const_off + const_size],
                        kernels)


# --------------------------------------------------------------------------- assembler


class AsmError(ValueError):
    """An assembly error at ``filename:line:col`` (1-based)."""

    def __init__(self, filename: str, line: int, col: int, msg: str):
        self.filename, self.line, self.col, self.msg = filename, line, col, msg
        super().__init__(f"{filename}:{line}:{col}: {msg}")

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}:{self.col}: {self.msg}"


_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.$]*")
_LABEL_RE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_.$]*)\s*:")
_HEAD_RE = re.compile(r"\s*(\.?[A-Za-z_][A-Za-z0-9_.]*)")
_NUMBER_RE = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]+|0[bB][01]+|[0-9]+)")
_REG_RE = re.compile(r"[rR]([0-9]+)")
_F32_RE = re.compile(r"[fF]32\(\s*(.*?)\s*\)")
_MEM_RE = re.compile(r"(.*?)\(\s*(.*?)\s*\)\s*")
_INT_DATA = {".byte": 1, ".half": 2, ".word": 4, ".dword": 8}
_FLOAT_DATA = {".float": "<f", ".double": "<d"}


@dataclass
class _Tok:
    text: str
    col: int  # 1-based


@dataclass
class _Label:
    section: str  # "code" or "const"
    value: int  # instruction index or constant byte offset
    line: int


@dataclass
class _KernelDraft:
    info: KernelInfo
    line: int
    col: int
    sram_set: bool = False


@dataclass
class _Pending:
    """An instruction whose operands are encoded once every label is known."""
    insn: _Insn | None  # None: a raw .word
    operands: list
    line: int
    pc: int
    kernel: _KernelDraft


def _split_operands(text: str, start: int) -> list[_Tok]:
    """Comma-separated operands of ``text``, which begins at column ``start``."""
    if not text.strip():
        return []
    toks, pos = [], 0
    for piece in text.split(","):
        lead = len(piece) - len(piece.lstrip())
        toks.append(_Tok(piece.strip(), start + pos + lead))
        pos += len(piece) + 1
    return toks


def _split_words(text: str, start: int) -> list[_Tok]:
    return [_Tok(m.group(), start + m.start()) for m in re.finditer(r"[^\s,]+", text)]


class _Assembler:
    def __init__(self, filename: str):
        self.filename = filename
        self.line = 0
        self.section = "code"
        self.kernel: _KernelDraft | None = None
        self.kernels: list[_KernelDraft] = []
        self.labels: dict[str, _Label] = {}
        self.pending: list[_Pending] = []
        self.consts = bytearray()
        self.const_seen = False
        self.isa_version = ISA_VERSION
        self.isa_seen = False

    def error(self, col: int, msg: str) -> AsmError:
        return AsmError(self.filename, self.line, col, msg)

    # ---- pass 1: statements, labels, layout

    def run(self, source: str) -> bytes:
        # Only "\n" ends a line, so line numbers agree with editors and compilers.
        for self.line, text in enumerate(source.split("\n"), start=1):
            self.statement(text.rstrip("\r"))
        self.line = max(self.line, 1)
        return self.finish()

    def statement(self, text: str) -> None:
        cut = min((i for i in (text.find(";"), text.find("#")) if i >= 0), default=len(text))
        text = text[:cut]
        pos = 0
        while m := _LABEL_RE.match(text, pos):
            self.define_label(_Tok(m.group(1), m.start(1) + 1))
            pos = m.end()
        if not text[pos:].strip():
            return
        m = _HEAD_RE.match(text, pos)
        if not m:
            col = pos + len(text[pos:]) - len(text[pos:].lstrip()) + 1
            raise self.error(col, f"expected a label, instruction or directive, found "
                                  f"{text[pos:].strip()!r}")
        head = _Tok(m.group(1), m.start(1) + 1)
        rest, rest_col = text[m.end():], m.end() + 1
        if rest and not rest[0].isspace():
            raise self.error(rest_col, f"unexpected {rest.split()[0]!r} after {head.text!r}")
        if head.text.startswith("."):
            self.directive(head, rest, rest_col)
        else:
            self.instruction(head, _split_operands(rest, rest_col))

    def define_label(self, tok: _Tok) -> None:
        if tok.text.lower() == "zero" or _REG_RE.fullmatch(tok.text):
            raise self.error(tok.col, f"label {tok.text!r} is a register name")
        if tok.text in self.labels:
            prev = self.labels[tok.text]
            raise self.error(tok.col, f"duplicate label {tok.text!r} (first defined at line "
                                      f"{prev.line})")
        value = len(self.pending) if self.section == "code" else len(self.consts)
        self.labels[tok.text] = _Label(self.section, value, self.line)

    def instruction(self, head: _Tok, operands: list[_Tok]) -> None:
        insn = _BY_NAME.get(head.text.lower())
        if insn is None:
            raise self.error(head.col, f"unknown instruction {head.text!r}")
        self.need_kernel(head, f"instruction {head.text!r}")
        for tok in operands:
            if not tok.text:
                raise self.error(tok.col, "empty operand")
        want = len(insn.items)
        if len(operands) > want:
            raise self.error(operands[want].col, f"too many operands: {insn.name} takes {want} "
                                                 f"({_syntax_text(insn)})")
        if len(operands) < want:
            raise self.error(head.col, f"too few operands: {insn.name} takes {want} "
                                       f"({_syntax_text(insn)}), got {len(operands)}")
        self.pending.append(_Pending(insn, operands, self.line, len(self.pending), self.kernel))

    def need_kernel(self, head: _Tok, what: str) -> None:
        if self.section == "const":
            raise self.error(head.col, f"{what} in the .const section")
        if self.kernel is None:
            raise self.error(head.col, f"{what} outside a kernel (start one with .kernel NAME)")

    def directive(self, head: _Tok, rest: str, rest_col: int) -> None:
        name = head.text.lower()
        if name == ".arg":
            toks = _split_words(rest, rest_col)
        else:
            toks = _split_operands(rest, rest_col)
            for tok in toks:
                if not tok.text:
                    raise self.error(tok.col, "empty operand")
        handler = {
            ".kernel": self.d_kernel, ".arg": self.d_arg, ".sram": self.d_sram,
            ".const": self.d_const, ".isa": self.d_isa, ".align": self.d_align,
            ".zero": self.d_zero,
        }.get(name)
        if handler is not None:
            handler(head, toks)
        elif name in _INT_DATA or name in _FLOAT_DATA:
            self.d_data(head, name, toks)
        else:
            raise self.error(head.col, f"unknown directive {head.text!r}")

    def count(self, head: _Tok, toks: list[_Tok], n: int, usage: str) -> None:
        if len(toks) > n:
            raise self.error(toks[n].col, f"too many operands: usage is {usage}")
        if len(toks) < n:
            raise self.error(head.col, f"too few operands: usage is {usage}")

    def d_kernel(self, head: _Tok, toks: list[_Tok]) -> None:
        self.count(head, toks, 1, ".kernel NAME")
        tok = toks[0]
        if not _NAME_RE.fullmatch(tok.text):
            raise self.error(tok.col, f"invalid kernel name {tok.text!r}")
        for k in self.kernels:
            if k.info.name == tok.text:
                raise self.error(tok.col, f"duplicate kernel {tok.text!r} (first defined at "
                                          f"line {k.line})")
        self.section = "code"
        self.kernel = _KernelDraft(KernelInfo(tok.text, len(self.pending)), self.line, tok.col)
        self.kernels.append(self.kernel)

    def d_arg(self, head: _Tok, toks: list[_Tok]) -> None:
        self.need_kernel(head, ".arg")
        self.count(head, toks, 2, ".arg NAME TYPE")
        name, typ = toks
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name.text):
            raise self.error(name.col, f"invalid argument name {name.text!r}")
        args = self.kernel.info.args
        if any(a.name == name.text for a in args):
            raise self.error(name.col, f"duplicate argument {name.text!r} of kernel "
                                       f"{self.kernel.info.name!r}")
        if typ.text.lower() not in ARG_TYPES:
            raise self.error(typ.col, f"unknown argument type {typ.text!r} (expected one of "
                                      f"{', '.join(ARG_TYPES)})")
        if len(args) == MAX_KERNEL_ARGS:
            raise self.error(head.col, f"kernel {self.kernel.info.name!r} has more than "
                                       f"{MAX_KERNEL_ARGS} arguments")
        args.append(ArgInfo(name.text, typ.text.lower()))

    def d_sram(self, head: _Tok, toks: list[_Tok]) -> None:
        self.need_kernel(head, ".sram")
        self.count(head, toks, 1, ".sram BYTES")
        if self.kernel.sram_set:
            raise self.error(head.col, f"second .sram for kernel {self.kernel.info.name!r}")
        self.kernel.info.sram_bytes = self.number(toks[0], 0, (1 << 32) - 1, "SRAM size")
        self.kernel.sram_set = True

    def d_const(self, head: _Tok, toks: list[_Tok]) -> None:
        self.count(head, toks, 0, ".const")
        if self.const_seen:
            raise self.error(head.col, "second .const section (one per file)")
        self.const_seen = True
        self.section = "const"
        self.kernel = None

    def d_isa(self, head: _Tok, toks: list[_Tok]) -> None:
        self.count(head, toks, 1, ".isa MAJOR.MINOR")
        if self.isa_seen:
            raise self.error(head.col, "second .isa directive")
        m = re.fullmatch(r"([0-9]+)\.([0-9]+)", toks[0].text)
        if not m:
            raise self.error(toks[0].col, f"expected MAJOR.MINOR, found {toks[0].text!r}")
        version = (int(m.group(1)), int(m.group(2)))
        if version[0] != ISA_VERSION[0] or version[1] > ISA_VERSION[1]:
            raise self.error(toks[0].col, f"ISA version {toks[0].text} is not compatible with "
                                          f"{ISA_VERSION[0]}.{ISA_VERSION[1]}")
        self.isa_version, self.isa_seen = version, True

    def need_const(self, head: _Tok) -> None:
        if self.section != "const":
            raise self.error(head.col, f"data directive {head.text!r} outside the .const section")

    def d_align(self, head: _Tok, toks: list[_Tok]) -> None:
        self.need_const(head)
        self.count(head, toks, 1, ".align N")
        n = self.number(toks[0], 1, 1 << 16, "alignment")
        if n & (n - 1):
            raise self.error(toks[0].col, f"alignment {n} is not a power of two")
        self.consts += bytes(-len(self.consts) % n)

    def d_zero(self, head: _Tok, toks: list[_Tok]) -> None:
        self.need_const(head)
        self.count(head, toks, 1, ".zero N")
        self.consts += bytes(self.number(toks[0], 0, 1 << 28, "byte count"))

    def d_data(self, head: _Tok, name: str, toks: list[_Tok]) -> None:
        if name == ".word" and self.section == "code":
            # A raw instruction word: how the disassembler writes words it cannot decode.
            self.need_kernel(head, ".word")
            if not toks:
                raise self.error(head.col, "too few operands: usage is .word VALUE, ...")
            for tok in toks:
                self.pending.append(_Pending(None, [tok], self.line, len(self.pending),
                                             self.kernel))
            return
        self.need_const(head)
        if not toks:
            raise self.error(head.col, f"too few operands: usage is {name} VALUE, ...")
        for tok in toks:
            if name in _INT_DATA:
                size = _INT_DATA[name]
                v = self.number(tok, -(1 << (8 * size - 1)), (1 << (8 * size)) - 1,
                                f"{name} value")
                self.consts += (v & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
            else:
                try:
                    self.consts += struct.pack(_FLOAT_DATA[name], float(tok.text))
                except ValueError:
                    raise self.error(tok.col, f"invalid number {tok.text!r}") from None
                except OverflowError:
                    raise self.error(tok.col, f"{tok.text} does not fit {name}") from None

    def number(self, tok: _Tok, lo: int, hi: int, what: str) -> int:
        if not _NUMBER_RE.fullmatch(tok.text):
            raise self.error(tok.col, f"expected a number for the {what}, found {tok.text!r}")
        v = _parse_int(tok.text)
        if not lo <= v <= hi:
            raise self.error(tok.col, f"{what} {tok.text} out of range ({lo}..{hi})")
        return v

    # ---- pass 2: operands

    def finish(self) -> bytes:
        if not self.kernels:
            raise AsmError(self.filename, 1, 1, "no kernel in the file (start one with "
                                                ".kernel NAME)")
        for k in self.kernels:
            if k.info.entry >= len(self.pending):
                self.line = k.line
                raise self.error(k.col, f"kernel {k.info.name!r} has no instructions")
        code = [self.encode(p) for p in self.pending]
        kb = KernelBinary(self.isa_version, code, bytes(self.consts),
                          [k.info for k in self.kernels])
        return write_kbin(kb)

    def encode(self, p: _Pending) -> int:
        self.line = p.line
        if p.insn is None:
            return self.number(p.operands[0], -(1 << (WORD_BITS - 1)), _WORD_MASK,
                               "instruction word") & _WORD_MASK
        word = p.insn.match
        for (f, base), tok in zip(p.insn.items, p.operands):
            if base is None:
                word |= f.insert(self.operand(f, tok, p))
                continue
            m = _MEM_RE.fullmatch(tok.text)
            if not m:
                raise self.error(tok.col, f"expected a memory operand like 8(r2), found "
                                          f"{tok.text!r}")
            off_text, reg_text = m.group(1), m.group(2)
            inner = tok.text[tok.text.index("(") + 1:]
            reg_col = tok.col + tok.text.index("(") + 1 + len(inner) - len(inner.lstrip())
            off = self.operand(f, _Tok(off_text.strip(), tok.col), p) if off_text.strip() else 0
            word |= f.insert(off) | base.insert(self.operand(base, _Tok(reg_text, reg_col), p))
        return word

    def operand(self, f: _Field, tok: _Tok, p: _Pending) -> int:
        text = tok.text
        if not text:
            raise self.error(tok.col, "empty operand")
        if f.kind == "reg":
            if text.lower() == "zero":
                return 0
            m = _REG_RE.fullmatch(text)
            if not m or int(m.group(1)) >= NUM_REGS or m.group(1) != str(int(m.group(1))):
                raise self.error(tok.col, f"bad register {text!r} (expected r0..r{NUM_REGS - 1} "
                                          f"or zero)")
            return int(m.group(1))
        if f.kind == "sreg" and not _NUMBER_RE.fullmatch(text):
            if text.upper() not in _SREG_IDS:
                raise self.error(tok.col, f"unknown special register {text!r}")
            return self.check_range(f, tok, _SREG_IDS[text.upper()])
        if f.kind == "arg" and not _NUMBER_RE.fullmatch(text):
            args = p.kernel.info.args
            for i, a in enumerate(args):
                if a.name == text:
                    return self.check_range(f, tok, i)
            declared = ", ".join(a.name for a in args) or "none"
            raise self.error(tok.col, f"unknown argument {text!r} of kernel "
                                      f"{p.kernel.info.name!r} (declared: {declared})")
        if _NUMBER_RE.fullmatch(text):
            return self.check_range(f, tok, _parse_int(text))
        m = _F32_RE.fullmatch(text)
        if m and f.kind in ("simm", "uimm") and f.width >= 32:
            return self.check_range(f, tok, self.f32_bits(f, tok, m.group(1)))
        if not _NAME_RE.fullmatch(text):
            raise self.error(tok.col, f"expected a number or label for operand {f.name}, "
                                      f"found {text!r}")
        label = self.labels.get(text)
        if label is None:
            raise self.error(tok.col, f"undefined label {text!r}")
        if f.kind == "target":
            if label.section != "code":
                raise self.error(tok.col, f"{text!r} is a constant label, not a branch target")
            return self.check_range(f, tok, label.value - p.pc)
        return self.check_range(f, tok, label.value)

    def f32_bits(self, f: _Field, tok: _Tok, text: str) -> int:
        """The binary32 bit pattern of ``f32(VALUE)`` (VALUE: a decimal or hex float, inf,
        nan), as the field's signed or unsigned 32-bit value."""
        try:
            v = float.fromhex(text) if re.match(r"[+-]?0[xX]", text) else float(text)
            bits = struct.unpack("<I", struct.pack("<f", v))[0]
        except ValueError:
            raise self.error(tok.col, f"invalid float {text!r} in f32(...)") from None
        except OverflowError:
            raise self.error(tok.col, f"{text} does not fit f32") from None
        if f.kind == "simm" and bits >= 1 << 31:
            bits -= 1 << 32
        return bits

    def check_range(self, f: _Field, tok: _Tok, value: int) -> int:
        if not f.lo <= value <= f.hi:
            what = {"target": "branch offset", "sreg": "special register",
                    "arg": "argument index"}.get(f.kind, "immediate")
            raise self.error(tok.col, f"{what} {value} out of range for field {f.name!r} "
                                      f"({f.lo}..{f.hi})")
        return value


def _parse_int(text: str) -> int:
    neg = text.startswith("-")
    body = text.lstrip("+-")
    v = int(body, 0) if body[:2].lower() in ("0x", "0b") else int(body, 10)
    return -v if neg else v


def _syntax_text(insn: _Insn) -> str:
    return ", ".join(f.name + (f"({b.name})" if b else "") for f, b in insn.items) or "none"


def assemble(source: str, *, filename: str = "<asm>") -> bytes:
    """Assembles ``source`` into a complete NPUKBIN kernel binary. Raises AsmError."""
    return _Assembler(filename).run(source)


# --------------------------------------------------------------------------- disassembler


def disassemble(binary: bytes) -> str:
    """Assembly text for an NPUKBIN file that assembles back to the identical bytes."""
    kb = read_kbin(binary)
    entries = [k.entry for k in kb.kernels]
    if entries[0] != 0 or entries != sorted(entries):
        # Kernel order in the file is the order of .kernel directives, and each kernel's
        # entry is where its directive stands; other layouts have no assembly form.
        raise ValueError("kernel entries are not in file order starting at 0; the binary has "
                         "no assembly form")

    n = len(kb.code)
    targets = set()
    for pc, word in enumerate(kb.code):
        insn = _decode(word)
        if insn is None:
            continue
        for f, _ in insn.items:
            if f.kind == "target" and 0 <= pc + f.extract(word) <= n:
                targets.add(pc + f.extract(word))

    out = [f"; NPUKBIN: {len(kb.kernels)} kernel(s), {n} instruction(s), "
           f"{len(kb.consts)} constant byte(s)"]
    if kb.isa_version != ISA_VERSION:
        out.append(f".isa {kb.isa_version[0]}.{kb.isa_version[1]}")
    starts: dict[int, list[KernelInfo]] = {}
    for k in kb.kernels:
        starts.setdefault(k.entry, []).append(k)
    current: KernelInfo | None = None
    for pc, word in enumerate(kb.code):
        for k in starts.get(pc, ()):
            current = k
            out.append("")
            out.append(f".kernel {k.name}")
            out.extend(f".arg {a.name} {a.type}" for a in k.args)
            if k.sram_bytes:
                out.append(f".sram {k.sram_bytes}")
        if pc in targets:
            out.append(f"L{pc}:")
        insn = _decode(word)
        if insn is None:
            out.append(f"    .word 0x{word:016x}")
            continue

        def label(off: int, pc: int = pc) -> str:
            return f"L{pc + off}" if pc + off in targets else str(off)

        text = "    " + _format_insn(insn, word, label)
        if "arg" in insn.operands and current is not None:
            idx = _FIELDS["arg"].extract(word)
            if idx < len(current.args):
                text += f"  ; {current.args[idx].name}"
        out.append(text)
    if n in targets:
        out.append(f"L{n}:")
    if kb.consts:
        out.append("")
        out.append(".const")
        for i in range(0, len(kb.consts), 16):
            out.append("    .byte " + ", ".join(f"0x{b:02x}" for b in kb.consts[i:i + 16]))
    return "\n".join(out) + "\n"
