# SPDX-License-Identifier: MIT
"""The assembler, disassembler and NPUKBIN reader/writer in npu.asm."""

from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from npu import _isa_tables as T
from npu import asm

INSN_NAMES = [d["name"] for d in T.INSNS]
SIGNED = ("simm", "target")


def field_range(name: str) -> tuple[int, int]:
    _lsb, width, kind = T.FIELDS[name]
    if kind == "reg":
        return 0, T.NUM_REGS - 1
    if kind in SIGNED:
        return -(1 << (width - 1)), (1 << (width - 1)) - 1
    return 0, (1 << width) - 1


def code_of(source: str) -> list[int]:
    return asm.read_kbin(asm.assemble(source)).code


# --------------------------------------------------------------------------- assembling


def test_encode_decode_examples():
    w = asm.encode("add", rd=1, rs1=2, rs2=3)
    assert asm.decode(w) == ("add", {"rd": 1, "rs1": 2, "rs2": 3})
    assert asm.disassemble_word(w) == "add r1, r2, r3"
    assert asm.disassemble_word(asm.encode("lw", rd=4, rs1=2, imm=-8)) == "lw r4, -8(r2)"
    assert asm.disassemble_word(asm.encode("sw", rs2=5, rs1=3, imm=0)) == "sw r5, 0(r3)"
    assert asm.disassemble_word(asm.encode("beq", rs1=1, rs2=0, target=-3)) == "beq r1, r0, -3"
    assert asm.disassemble_word(asm.encode("csrr", rd=5, sreg="CORE_ID")) == "csrr r5, CORE_ID"
    assert asm.disassemble_word(asm.encode("csrr", rd=5, sreg=999)) == "csrr r5, 999"
    assert asm.disassemble_word(asm.encode("ldarg", rd=1, arg=2)) == "ldarg r1, 2"
    assert asm.disassemble_word(asm.encode("li", rd=3, imm=-5)) == "li r3, -5"
    assert asm.disassemble_word(asm.encode("halt")) == "halt"
    assert asm.disassemble_word(0x0123456789ABCDEF) == ".word 0x0123456789abcdef"


@pytest.mark.parametrize("call, message", [
    (lambda: asm.encode("nope"), "unknown instruction 'nope'"),
    (lambda: asm.encode("add", rd=1, rs1=2), "missing rs2"),
    (lambda: asm.encode("add", rd=1, rs1=2, rs2=3, imm=4), "unexpected imm"),
    (lambda: asm.encode("add", rd=32, rs1=2, rs2=3), "rd=32 out of range (0..31)"),
    (lambda: asm.encode("li", rd=1, imm=1 << 31), "out of range"),
    (lambda: asm.encode("csrr", rd=1, sreg="NOPE"), "unknown special register"),
    (lambda: asm.encode("add", rd="r1", rs1=2, rs2=3), "must be an integer"),
    (lambda: asm.decode(1 << 64), "not a 64-bit word"),
    (lambda: asm.decode(0), "illegal instruction 0x0000000000000000"),
])
def test_encode_decode_errors(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


EXAMPLE = """\
; an example touching every operand form
.kernel vadd              ; entry 0
.arg x ptr
.arg n i64
.sram 65536
loop_top:
    ldarg r1, x           # by name
    ldarg r2, 1           # by index
    csrr r3, PROGRAM_ID
    CSRR r4, 13           ; case-insensitive mnemonic, sreg by number
    li r5, 0x10
    li r6, -0x10
    li r7, table
    lw r8, 8(r2)
    sw zero, (R3)
    beq r1, r0, done
    bne r1, r0, -2
    dma.ld r5, r1, r6, 0
    jmp loop_top
    .word 0x0123456789abcdef
done: halt
.kernel second
    li r1, second_const
    jal r31, loop_top
    halt
.const
table: .word 1, 2
    .byte -1, 255
    .align 8
second_const:
    .dword -1
    .half 0x1234
    .float 1.5
    .double -2.0
    .zero 3
"""


def test_example_program():
    kb = asm.read_kbin(asm.assemble(EXAMPLE, filename="ex.s"))
    assert kb.isa_version == tuple(T.ISA_VERSION)
    assert [(k.name, k.entry, k.sram_bytes) for k in kb.kernels] == [
        ("vadd", 0, 65536), ("second", 15, 0)]
    assert kb.kernels[0].args == [asm.ArgInfo("x", "ptr"), asm.ArgInfo("n", "i64")]
    assert kb.kernels[1].args == []
    E = asm.encode
    assert kb.code == [
        E("ldarg", rd=1, arg=0),
        E("ldarg", rd=2, arg=1),
        E("csrr", rd=3, sreg="PROGRAM_ID"),
        E("csrr", rd=4, sreg=13),
        E("li", rd=5, imm=16),
        E("li", rd=6, imm=-16),
        E("li", rd=7, imm=0),
        E("lw", rd=8, rs1=2, imm=8),
        E("sw", rs2=0, rs1=3, imm=0),
        E("beq", rs1=1, rs2=0, target=5),
        E("bne", rs1=1, rs2=0, target=-2),
        E("dma.ld", rd=5, rs1=1, rs2=6, imm=0),
        E("jmp", target=-12),
        0x0123456789ABCDEF,
        E("halt"),
        E("li", rd=1, imm=16),
        E("jal", rd=31, target=-16),
        E("halt"),
    ]
    assert kb.consts == (struct.pack("<II", 1, 2) + b"\xff\xff" + bytes(6)
                         + struct.pack("<qHfd", -1, 0x1234, 1.5, -2.0) + bytes(3))


def test_code_label_as_immediate_is_instruction_index():
    code = code_of(".kernel k\n  nop\nf: li r1, f\n  jr r1\n")
    assert code[1] == asm.encode("li", rd=1, imm=1)


def test_kernels_may_share_an_entry():
    kb = asm.read_kbin(asm.assemble(".kernel a\n.kernel b\n.arg p ptr\n  halt\n"))
    assert [(k.name, k.entry, len(k.args)) for k in kb.kernels] == [("a", 0, 0), ("b", 0, 1)]


def test_isa_directive_records_version():
    kb = asm.read_kbin(asm.assemble(f".isa {T.ISA_VERSION[0]}.0\n.kernel k\n halt\n"))
    assert kb.isa_version == (T.ISA_VERSION[0], 0)


def test_crlf_and_empty_lines():
    assert code_of(".kernel k\r\n\r\n   \r\n  halt ; done\r\n") == [asm.encode("halt")]


def test_container_header():
    data = asm.assemble(EXAMPLE)
    assert data[:8] == b"NPUKBIN\0"
    crc = struct.unpack_from("<I", data, 64)[0]
    assert crc == zlib.crc32(data[:64] + bytes(4) + data[68:])


# --------------------------------------------------------------------------- errors

K = ".kernel k\n"

ERRORS = [
    # source, line, col, message
    (K + "  frob r1, r2\n", 2, 3, "unknown instruction 'frob'"),
    (K + "  add r1, r2, r32\n", 2, 15, "bad register 'r32'"),
    (K + "  add r1, x2, r3\n", 2, 11, "bad register 'x2'"),
    (K + "  add r1, r2\n", 2, 3, "too few operands: add takes 3"),
    (K + "  add r1, r2, r3, r4\n", 2, 19, "too many operands: add takes 3"),
    (K + "  halt r1\n", 2, 8, "too many operands"),
    (K + "  add r1,, r3\n", 2, 10, "empty operand"),
    (K + "  li r1, 2147483648\n", 2, 10, "immediate 2147483648 out of range for field 'imm'"),
    (K + "  li r1, -2147483649\n", 2, 10, "out of range"),
    (K + "  li r1, 12abc\n", 2, 10, "expected a number or label for operand imm"),
    (K + "  lw r1, 8(r40)\n", 2, 12, "bad register 'r40'"),
    (K + "  lw r1, 8(  r40)\n", 2, 14, "bad register 'r40'"),
    (K + "  lw r1, 9999999999(r2)\n", 2, 10, "immediate 9999999999 out of range"),
    (K + "  lw r1, r2\n", 2, 10, "expected a memory operand like 8(r2)"),
    (K + "  beq r1, r2, nowhere\n", 2, 15, "undefined label 'nowhere'"),
    (K + "  li r1, nowhere\n", 2, 10, "undefined label 'nowhere'"),
    (K + "a: nop\na: halt\n", 3, 1, "duplicate label 'a' (first defined at line 2)"),
    (K + "  nop\n  x: halt\n  jmp x\n.const\nc: .byte 1\n.kernel j\n  jmp c\n", 8, 7,
     "'c' is a constant label, not a branch target"),
    (K + "  beq r1, r2, 2147483648\n", 2, 15, "branch offset 2147483648 out of range"),
    (K + "  csrr r1, NOPE\n", 2, 12, "unknown special register 'NOPE'"),
    (K + "  csrr r1, -1\n", 2, 12, "special register -1 out of range"),
    (K + ".arg x ptr\n  ldarg r1, y\n", 3, 13, "unknown argument 'y' of kernel 'k' (declared: x)"),
    (K + "  ldarg r1, -1\n", 2, 13, "argument index -1 out of range"),
    (K + ".arg x pointer\n", 2, 8, "unknown argument type 'pointer'"),
    (K + ".arg x\n", 2, 1, "too few operands: usage is .arg NAME TYPE"),
    (K + ".arg x ptr i32\n", 2, 12, "too many operands"),
    (K + ".arg x ptr\n.arg x i32\n", 3, 6, "duplicate argument 'x' of kernel 'k'"),
    (K + "".join(f".arg a{i} i32\n" for i in range(33)), 34, 1, "more than 32 arguments"),
    (K + ".sram lots\n", 2, 7, "expected a number for the SRAM size"),
    (K + ".sram 4294967296\n", 2, 7, "SRAM size 4294967296 out of range"),
    (K + ".sram 4\n.sram 8\n", 3, 1, "second .sram for kernel 'k'"),
    (K + ".frob 1\n", 2, 1, "unknown directive '.frob'"),
    ("  add r1, r2, r3\n", 1, 3, "instruction 'add' outside a kernel"),
    (".arg x ptr\n", 1, 1, ".arg outside a kernel"),
    (K + "  halt\n.const\n  nop\n", 4, 3, "instruction 'nop' in the .const section"),
    (K + "  halt\n.const\n.sram 4\n", 4, 1, ".sram in the .const section"),
    (K + "  .byte 1\n", 2, 3, "data directive '.byte' outside the .const section"),
    (K + "  .align 8\n", 2, 3, "data directive '.align' outside the .const section"),
    (K + "  halt\n.const\n.const\n", 4, 1, "second .const section"),
    (K + "  halt\n.const\n  .byte 256\n", 4, 9, ".byte value 256 out of range"),
    (K + "  halt\n.const\n  .half 1, 65536\n", 4, 12, ".half value 65536 out of range"),
    (K + "  halt\n.const\n  .float 1e40\n", 4, 10, "1e40 does not fit .float"),
    (K + "  halt\n.const\n  .double x\n", 4, 11, "invalid number 'x'"),
    (K + "  halt\n.const\n  .align 3\n", 4, 10, "alignment 3 is not a power of two"),
    (K + "  halt\n.const\n  .word\n", 4, 3, "too few operands: usage is .word VALUE"),
    (K + "  .word 0x10000000000000000\n", 2, 9,
     "instruction word 0x10000000000000000 out of range"),
    (K + "  halt\n.kernel k\n", 3, 9, "duplicate kernel 'k' (first defined at line 1)"),
    (".kernel 9lives\n", 1, 9, "invalid kernel name '9lives'"),
    (K + "  halt\n.kernel empty\n", 3, 9, "kernel 'empty' has no instructions"),
    ("; nothing\n", 1, 1, "no kernel in the file"),
    (K + "r3: halt\n", 2, 1, "label 'r3' is a register name"),
    (K + "  add, r1\n", 2, 6, "unexpected ','"),
    (K + "  @foo\n", 2, 3, "expected a label, instruction or directive"),
    (".isa 2.0\n", 1, 6, "ISA version 2.0 is not compatible"),
    (".isa one\n", 1, 6, "expected MAJOR.MINOR"),
]


@pytest.mark.parametrize("source, line, col, message", ERRORS,
                         ids=[e[3].split("(")[0][:40] for e in ERRORS])
def test_error_names_line_and_column(source, line, col, message):
    with pytest.raises(asm.AsmError) as exc:
        asm.assemble(source, filename="t.s")
    e = exc.value
    assert message in e.msg
    assert (e.filename, e.line, e.col) == ("t.s", line, col), str(e)
    assert str(e) == f"t.s:{line}:{col}: {e.msg}"
    assert isinstance(e, ValueError)


# --------------------------------------------------------------------------- round trips

MULTI = """\
.kernel first
.arg a ptr
.arg b f32
.sram 1024
    ldarg r1, a
    ldarg r2, 7          ; past the declared args: stays a number
    li r3, 10
top:
    addi r3, r3, -1
    bne r3, zero, top
    beq r1, r2, far_ahead
    beq r1, r2, 1000     ; outside the code: stays numeric
    jal r31, helper
    .word 0xffffffffffffffff
    halt
helper:
    jr r31
.kernel second
.kernel third
.arg n u64
    csrr r4, 4000
    loop r4, -1
far_ahead:
    halt
end:
.const
    .byte 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17
"""


def test_disassemble_round_trip_multi_kernel():
    binary = asm.assemble(MULTI)
    text = asm.disassemble(binary)
    assert asm.assemble(text) == binary
    assert ".kernel second\n\n.kernel third\n.arg n u64\n" in text
    assert "ldarg r1, 0  ; a" in text and "ldarg r2, 7\n" in text
    assert "beq r1, r2, 1000" in text
    assert ".word 0xffffffffffffffff" in text
    assert "csrr r4, 4000" in text
    # A second trip changes nothing.
    assert asm.disassemble(asm.assemble(text)) == text


def test_disassemble_older_minor_version():
    kb = asm.read_kbin(asm.assemble(".kernel k\n halt\n"))
    if T.ISA_VERSION[1] == 0:
        pytest.skip("no older minor version of this ISA")
    kb.isa_version = (T.ISA_VERSION[0], 0)
    binary = asm.write_kbin(kb)
    assert asm.assemble(asm.disassemble(binary)) == binary


def test_disassemble_rejects_inexpressible_kernel_order():
    kb = asm.read_kbin(asm.assemble(".kernel a\n nop\n.kernel b\n halt\n"))
    kb.kernels.reverse()
    with pytest.raises(ValueError, match="no assembly form"):
        asm.disassemble(asm.write_kbin(kb))


# --------------------------------------------------------------------------- read_kbin

GOOD = asm.assemble(".kernel k\n.arg x ptr\n.arg y i32\n halt\n.kernel j\n nop\n halt\n"
                    ".const\n .dword 7\n")
H = {  # header field: (offset, struct format)
    "format_version": (8, "H"), "isa_major": (10, "H"), "isa_minor": (12, "H"),
    "header_size": (14, "H"), "flags": (16, "I"), "file_size": (20, "I"),
    "code_offset": (24, "I"), "code_size": (28, "I"), "const_offset": (32, "I"),
    "const_size": (36, "I"), "kernels_offset": (40, "I"), "num_kernels": (44, "I"),
    "args_offset": (48, "I"), "num_args": (52, "I"), "strings_offset": (56, "I"),
    "strings_size": (60, "I"), "crc32": (64, "I"), "reserved": (68, "I"),
}


def header(data: bytes, name: str) -> int:
    off, fmt = H[name]
    return struct.unpack_from("<" + fmt, data, off)[0]


def fix_crc(data: bytearray) -> bytes:
    struct.pack_into("<I", data, 64, 0)
    struct.pack_into("<I", data, 64, zlib.crc32(data))
    return bytes(data)


def patch(data: bytes, offset: int, fmt: str, value, crc: bool = True) -> bytes:
    out = bytearray(data)
    struct.pack_into("<" + fmt, out, offset, value)
    return fix_crc(out) if crc else bytes(out)


def hpatch(name: str, value) -> bytes:
    off, fmt = H[name]
    return patch(GOOD, off, fmt, value)


def kernel_off(i: int, field: int) -> int:
    return header(GOOD, "kernels_offset") + 24 * i + 4 * field


def arg_off(i: int) -> int:
    return header(GOOD, "args_offset") + 8 * i


def strings_end() -> int:
    return header(GOOD, "strings_offset") + header(GOOD, "strings_size")


def with_strings(extra: bytes) -> bytearray:
    """GOOD with bytes appended to its string table (it ends the file)."""
    assert strings_end() == len(GOOD)
    out = bytearray(GOOD + extra)
    struct.pack_into("<I", out, H["strings_size"][0], header(GOOD, "strings_size") + len(extra))
    struct.pack_into("<I", out, H["file_size"][0], len(out))
    return out


def _bad_strings(extra: bytes, kernel_name_offset: int | None = None,
                 arg_name_offset: int | None = None) -> bytes:
    out = with_strings(extra)
    if kernel_name_offset is not None:
        struct.pack_into("<I", out, kernel_off(1, 0), kernel_name_offset)
    if arg_name_offset is not None:
        struct.pack_into("<I", out, arg_off(1), arg_name_offset)
    return fix_crc(out)


def _strings_at() -> int:
    """Where with_strings() puts its bytes in the string table."""
    return header(GOOD, "strings_size")


def _kernel_field(i: int, field: int, value: int) -> bytes:
    return patch(GOOD, kernel_off(i, field), "I", value)


MALFORMED = {
    "too small": (lambda: GOOD[:71], "file too small for the header: 71 bytes < 72"),
    "bad magic": (lambda: patch(GOOD, 0, "8s", b"NPUKBIX\0"), "bad magic"),
    "format version": (lambda: hpatch("format_version", 2), "format_version 2 is not supported"),
    "header size": (lambda: hpatch("header_size", 80), "header_size 80 != 72"),
    "flags": (lambda: hpatch("flags", 1), "header flags 0x1 are not zero"),
    "reserved": (lambda: hpatch("reserved", 5), "header reserved field 0x5 is not zero"),
    "file size": (lambda: GOOD + b"\0", f"file_size {len(GOOD)} != actual size {len(GOOD) + 1}"),
    "crc": (lambda: patch(GOOD, H["crc32"][0], "I", header(GOOD, "crc32") ^ 1, crc=False),
            "crc32 0x"),
    "corrupt byte": (lambda: patch(GOOD, header(GOOD, "code_offset"), "B", 0x41, crc=False),
                     "does not match the contents"),
    "isa major": (lambda: hpatch("isa_major", T.ISA_VERSION[0] + 1), "ISA version"),
    "isa minor too new": (lambda: hpatch("isa_minor", T.ISA_VERSION[1] + 1), "is not supported"),
    "no code": (lambda: hpatch("code_size", 0), "code_size is 0"),
    "code size": (lambda: hpatch("code_size", 12), "code_size 12 is not a multiple of 8"),
    "code misaligned": (lambda: hpatch("code_offset", 76), "code_offset 76 is not 8-aligned"),
    "const misaligned": (lambda: hpatch("const_offset", header(GOOD, "const_offset") + 4),
                         "const_offset"),
    "kernels misaligned": (lambda: hpatch("kernels_offset", header(GOOD, "kernels_offset") + 2),
                           "is not 4-aligned"),
    "args misaligned": (lambda: hpatch("args_offset", header(GOOD, "args_offset") + 1),
                        "args_offset"),
    "no kernels": (lambda: hpatch("num_kernels", 0), "num_kernels is 0"),
    "code past end": (lambda: hpatch("code_size", 1 << 20), "code section [72, "),
    "strings past end": (lambda: hpatch("strings_size", header(GOOD, "strings_size") + 1),
                         "extends past the end of the file"),
    "section overlaps header": (lambda: hpatch("code_offset", 64),
                                "code section [64, 88) overlaps the header"),
    "sections overlap": (lambda: hpatch("const_offset", header(GOOD, "code_offset")),
                         "code section [72, 96) overlaps const section [72, 80)"),
    "name outside strings": (lambda: _kernel_field(0, 0, 4096),
                             "kernel 0: name offset 4096 is outside the string table"),
    "name not terminated": (lambda: _bad_strings(b"abc", kernel_name_offset=_strings_at()),
                            "kernel 1: name at offset"),
    "name not utf-8": (lambda: _bad_strings(b"\xff\xfe\0", kernel_name_offset=_strings_at()),
                       "is not valid UTF-8"),
    "empty kernel name": (lambda: _bad_strings(b"\0", kernel_name_offset=_strings_at()),
                          "kernel 1: empty name"),
    "duplicate kernel name": (lambda: patch(GOOD, kernel_off(1, 0), "I",
                                            struct.unpack_from("<I", GOOD, kernel_off(0, 0))[0]),
                              "kernel 1 ('k'): duplicate kernel name"),
    "entry out of range": (lambda: _kernel_field(1, 1, 3),
                           "kernel 1 ('j'): entry 3 is not below the 3 code words"),
    "kernel flags": (lambda: _kernel_field(0, 5, 2), "kernel 0 ('k'): flags 0x2 are not zero"),
    "too many args": (lambda: _kernel_field(0, 4, 33), "kernel 0 ('k'): 33 arguments, at most 32"),
    "arg run out of bounds": (lambda: _kernel_field(0, 3, 1),
                              "kernel 0 ('k'): arguments [1, 3) exceed the 2"),
    "unknown arg type": (lambda: patch(GOOD, arg_off(1) + 4, "B", 9),
                         "argument 1 ('y'): unknown type 9"),
    "arg type zero": (lambda: patch(GOOD, arg_off(0) + 4, "B", 0),
                      "argument 0 ('x'): unknown type 0"),
    "arg padding": (lambda: patch(GOOD, arg_off(0) + 6, "B", 1),
                    "argument 0 ('x'): padding is not zero"),
    "empty arg name": (lambda: _bad_strings(b"\0", arg_name_offset=_strings_at()),
                       "argument 1: empty name"),
    "duplicate arg name": (lambda: patch(GOOD, arg_off(1), "I",
                                         struct.unpack_from("<I", GOOD, arg_off(0))[0]),
                           "kernel 0 ('k'): duplicate argument name 'x'"),
}


def test_good_container_reads():
    kb = asm.read_kbin(GOOD)
    assert [k.name for k in kb.kernels] == ["k", "j"]
    assert kb.consts == struct.pack("<q", 7)
    assert asm.write_kbin(kb) == GOOD


@pytest.mark.parametrize("case", list(MALFORMED))
def test_read_kbin_rejects(case):
    make, message = MALFORMED[case]
    data = make()
    with pytest.raises(ValueError) as exc:
        asm.read_kbin(data)
    assert message in str(exc.value)
    with pytest.raises(ValueError):
        asm.disassemble(data)


def test_read_kbin_sram_limit():
    data = asm.assemble(".kernel k\n.sram 4096\n halt\n")
    asm.read_kbin(data, sram_limit=4096)
    with pytest.raises(ValueError, match="sram_bytes 4096 exceeds the device's 1024"):
        asm.read_kbin(data, sram_limit=1024)


@pytest.mark.parametrize("edit, message", [
    (lambda kb: setattr(kb, "code", []), "code_size is 0"),
    (lambda kb: setattr(kb, "code", [1 << 64]), "code words must be integers"),
    (lambda kb: setattr(kb, "kernels", []), "num_kernels is 0"),
    (lambda kb: setattr(kb.kernels[0], "entry", 5), "entry 5 is not below the 1 code words"),
    (lambda kb: setattr(kb.kernels[0], "sram_bytes", -1), "sram_bytes must be in"),
    (lambda kb: setattr(kb.kernels[0], "name", ""), "empty name"),
    (lambda kb: setattr(kb.kernels[0], "name", "a\0b"), "contains NUL"),
    (lambda kb: kb.kernels[0].args.append(asm.ArgInfo("z", "f16")), "unknown type 'f16'"),
    (lambda kb: setattr(kb, "isa_version", (T.ISA_VERSION[0] + 1, 0)), "ISA version"),
])
def test_write_kbin_rejects(edit, message):
    kb = asm.read_kbin(asm.assemble(".kernel k\n halt\n"))
    edit(kb)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        asm.write_kbin(kb)


# --------------------------------------------------------------------------- properties


def operand_values(name: str):
    d = next(d for d in T.INSNS if d["name"] == name)
    return st.fixed_dictionaries({f: st.integers(*field_range(f)) for f in d["operands"]})


@pytest.mark.parametrize("name", INSN_NAMES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_encode_decode_round_trip(name, data):
    ops = data.draw(operand_values(name))
    word = asm.encode(name, **ops)
    assert 0 <= word < 1 << 64
    assert asm.decode(word) == (name, ops)
    # The text form assembles back to the same word.
    text = asm.disassemble_word(word)
    assert code_of(f".kernel k\n{text}\n") == [word]


@settings(max_examples=2000, deadline=None)
@given(st.integers(0, (1 << 64) - 1))
def test_raw_words_decode_or_raise(word):
    try:
        name, ops = asm.decode(word)
    except ValueError:
        assert asm.disassemble_word(word) == f".word 0x{word:016x}"
    else:
        assert asm.encode(name, **ops) == word
    assert code_of(f".kernel k\n{asm.disassemble_word(word)}\n") == [word]


@st.composite
def programs(draw):
    """A random valid kernel binary: code mixing every instruction (branch targets inside
    and outside the code) and raw words, several kernels, args and constants."""
    n = draw(st.integers(1, 40))
    code = []
    for _ in range(n):
        if draw(st.integers(0, 9)) == 0:
            code.append(draw(st.integers(0, (1 << 64) - 1)))
            continue
        name = draw(st.sampled_from(INSN_NAMES))
        ops = draw(operand_values(name))
        if "target" in ops and draw(st.booleans()):
            ops["target"] = draw(st.integers(-len(code), n - len(code)))
        code.append(asm.encode(name, **ops))
    entries = sorted(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4)))
    entries[0] = 0
    names = draw(st.lists(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True),
                          min_size=len(entries), max_size=len(entries), unique=True))
    kernels = []
    for name, entry in zip(names, entries):
        arg_names = draw(st.lists(st.from_regex(r"[a-z_][a-z0-9_]{0,5}", fullmatch=True),
                                  max_size=5, unique=True))
        args = [asm.ArgInfo(a, draw(st.sampled_from(list(asm.ARG_TYPES)))) for a in arg_names]
        kernels.append(asm.KernelInfo(name, entry, draw(st.integers(0, (1 << 32) - 1)), args))
    consts = draw(st.binary(max_size=64))
    return asm.KernelBinary(tuple(T.ISA_VERSION), code, consts, kernels)


@settings(max_examples=200, deadline=None)
@given(programs())
def test_program_round_trip(kb):
    binary = asm.write_kbin(kb)
    assert asm.read_kbin(binary) == kb
    assert asm.assemble(asm.disassemble(binary)) == binary


# --------------------------------------------------------------------------- ISA 1.1 syntax


def test_f32_immediates():
    code = code_of(".kernel k\n li r1, f32(0.5)\n li r2, f32(-2)\n li r3, F32( inf )\n"
                   " li r4, f32(nan)\n li r5, f32(0x1p-149)\n li r6, f32(-0.0)\n"
                   " li r7, f32(1e-46)\n li r8, f32(3.4028234663852886e38)\n")
    imms = [asm.decode(w)[1]["imm"] & 0xFFFFFFFF for w in code]
    assert imms == [0x3F000000, 0xC0000000, 0x7F800000, 0x7FC00000, 0x00000001, 0x80000000,
                    0x00000000, 0x7F7FFFFF]


@pytest.mark.parametrize("source, col, message", [
    (".kernel k\n li r1, f32(abc)\n", 9, "invalid float 'abc' in f32(...)"),
    (".kernel k\n li r1, f32(1e39)\n", 9, "1e39 does not fit f32"),
    (".kernel k\n csrw NOPE, r1\n", 7, "unknown special register 'NOPE'"),
])
def test_isa11_errors(source, col, message):
    with pytest.raises(asm.AsmError) as ei:
        asm.assemble(source)
    assert ei.value.line == 2 and ei.value.col == col
    assert message in ei.value.msg


def test_vector_matrix_mnemonics_round_trip():
    src = (".kernel k\n csrw MM_M, r1\n csrr r2, MM_LDC\n mma.bf16 r1, r2, r3\n"
           " vcvt.f16.i32 r4, r5, r6\n dma.ld2 r1, r2, r3, r4, 15\n vredmax.f32 r1, r2, r3, r4\n"
           " sem.wait r7\n barrier\n fence\n vsel.i8 r1, r2, r3, r4\n mulhu r1, r2, r3\n")
    words = code_of(src)
    texts = [asm.disassemble_word(w) for w in words]
    assert texts == ["csrw MM_M, r1", "csrr r2, MM_LDC", "mma.bf16 r1, r2, r3",
                     "vcvt.f16.i32 r4, r5, r6", "dma.ld2 r1, r2, r3, r4, 15",
                     "vredmax.f32 r1, r2, r3, r4", "sem.wait r7", "barrier", "fence",
                     "vsel.i8 r1, r2, r3, r4", "mulhu r1, r2, r3"]
    d = {x["name"]: x for x in T.INSNS}
    # the element type is in fn, the source type of vcvt in fn2
    assert d["vcvt.f16.i32"]["fixed"] == {"fn": 4, "fn2": 1}
    assert d["mma.bf16"]["fixed"] == {"fn": 5}
