# SPDX-License-Identifier: MIT
"""The ISA generator: it rejects every kind of bad spec with a message naming the culprit,
the real spec generates, its outputs compile, and the committed docs/isa.md is current."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
GEN = ROOT / "firmware-sim" / "isa" / "gen_isa.py"
SPEC = ROOT / "firmware-sim" / "isa" / "npu-isa.toml"
OUTPUTS = ("npu_isa.h", "npu_isa.c", "_isa_tables.py", "isa.md")
C_FLAGS = ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wstrict-prototypes",
           "-Wmissing-prototypes", "-Wpointer-arith", "-Wvla", "-Wformat=2"]
CXX_FLAGS = ["-x", "c++", "-Wall", "-Wextra", "-Werror", "-Wshadow"]

MINIMAL = """\
[isa]
name = "t"
version_major = 1
version_minor = 0
word_bits = 64
num_regs = 32

[fields]
op  = { lsb = 0,  width = 8,  kind = "uimm" }
rd  = { lsb = 8,  width = 5,  kind = "reg" }
rs1 = { lsb = 13, width = 5,  kind = "reg" }
fn  = { lsb = 28, width = 4,  kind = "uimm" }
imm = { lsb = 32, width = 32, kind = "simm" }

[sregs]
CORE_ID = { id = 0, doc = "core" }
CYCLE   = { id = 1, doc = "cycles" }

[traps]
ILLEGAL_INSN = { code = 1, doc = "bad word" }
WATCHDOG     = { code = 2, doc = "too long" }

[timing]
alu = { base = 1 }

[[insn]]
name = "add"
opcode = 0x01
syntax = "rd, rs1"
timing = "alu"
doc = "add"

[[insn]]
name = "v.a"
opcode = 0x02
syntax = "rd, imm(rs1)"
fixed = { fn = 1 }
timing = "alu"
doc = "vector a"
"""


def run_gen(spec: Path, outdir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(GEN), "--spec", str(spec), "--outdir", str(outdir)],
                          capture_output=True, text=True, timeout=60)


def edited(*edits: tuple[str, str], append: str = "") -> str:
    text = MINIMAL
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text + append


def insn(name: str, opcode: int, syntax: str, extra: str = "", timing: str = "alu") -> str:
    return (f'\n[[insn]]\nname = "{name}"\nopcode = {opcode}\nsyntax = "{syntax}"\n'
            f'timing = "{timing}"\ndoc = "d"\n{extra}\n')


def test_minimal_spec_generates(tmp_path):
    spec = tmp_path / "t.toml"
    spec.write_text(MINIMAL)
    r = run_gen(spec, tmp_path / "out")
    assert r.returncode == 0, r.stderr
    for name in OUTPUTS:
        assert (tmp_path / "out" / name).exists()


BAD_SPECS = {
    "version missing": (edited(("version_major = 1\n", "")), "missing key 'version_major'"),
    "minor version missing": (edited(("version_minor = 0\n", "")), "missing key 'version_minor'"),
    "overlapping encodings": (
        edited(append=insn("b.x", 2, "rd, rs1, fn")),
        "instructions 'v.a' and 'b.x' overlap"),
    "duplicate opcode and fixed": (
        edited(append=insn("sub", 1, "rd, rs1")),
        "instruction 'sub': duplicate opcode 0x01"),
    "duplicate opcode and same fixed": (
        edited(append=insn("v.b", 2, "rd", "fixed = { fn = 1 }")),
        "instruction 'v.b': duplicate opcode 0x02"),
    "duplicate name": (edited(append=insn("add", 3, "rd")), "instruction 'add': duplicate name"),
    "clashing C names": (edited(append=insn("v_a", 3, "rd")), "NPU_INSN_V_A clashes"),
    "fields overlap within an instruction": (
        edited(("imm = {", 'big = { lsb = 10, width = 8, kind = "uimm" }\nimm = {'),
               append=insn("wide", 3, "rd, big")),
        "instruction 'wide': fields 'rd' and 'big' overlap (bits 10..12)"),
    "fixed field overlaps an operand": (
        edited(("imm = {", 'hi = { lsb = 30, width = 4, kind = "uimm" }\nimm = {'),
               append=insn("f", 3, "rd, hi", "fixed = { fn = 0 }")),
        "instruction 'f': fields 'fn' and 'hi' overlap"),
    "field overlaps the opcode": (
        edited(("imm = {", 'lo = { lsb = 4, width = 8, kind = "uimm" }\nimm = {')),
        "[fields] lo: overlaps the opcode field 'op'"),
    "field past bit 63": (
        edited(('imm = { lsb = 32, width = 32', 'imm = { lsb = 40, width = 32')),
        "[fields] imm: bits 40..71 extend past bit 63"),
    "unknown field kind": (
        edited(('fn  = { lsb = 28, width = 4,  kind = "uimm" }',
                'fn  = { lsb = 28, width = 4,  kind = "float" }')),
        "[fields] fn: unknown kind 'float'"),
    "register field size disagrees with num_regs": (
        edited(("num_regs = 32", "num_regs = 16")),
        "[fields] rd: a 5-bit register field encodes 32 registers"),
    "syntax names an unknown field": (
        edited(append=insn("bad", 3, "rd, rs9")),
        "instruction 'bad': syntax names unknown field 'rs9'"),
    "syntax names an unknown memory base": (
        edited(append=insn("bad", 3, "rd, imm(base)")),
        "instruction 'bad': syntax names unknown field 'base'"),
    "syntax memory base not a register": (
        edited(append=insn("bad", 3, "rd, imm(fn)")),
        "instruction 'bad': memory operand base 'fn' is not a register field"),
    "syntax names a field twice": (
        edited(append=insn("bad", 3, "rd, rd")),
        "instruction 'bad': syntax names field 'rd' more than once"),
    "syntax names the opcode": (
        edited(append=insn("bad", 3, "rd, op")),
        "instruction 'bad': syntax names the opcode field 'op'"),
    "malformed syntax": (
        edited(append=insn("bad", 3, "rd, 8+rs1")),
        "instruction 'bad': syntax item '8+rs1'"),
    "fixed names an unknown field": (
        edited(append=insn("bad", 3, "rd", "fixed = { fx = 1 }")),
        "instruction 'bad': fixed names unknown field 'fx'"),
    "fixed value does not fit": (
        edited(append=insn("bad", 3, "rd", "fixed = { fn = 16 }")),
        "instruction 'bad': fixed value 16 does not fit field 'fn' (4 bits, 0..15)"),
    "field both fixed and operand": (
        edited(append=insn("bad", 3, "rd, fn", "fixed = { fn = 1 }")),
        "instruction 'bad': field 'fn' is both fixed and an operand"),
    "opcode does not fit": (
        edited(append=insn("bad", 256, "rd")),
        "instruction 'bad': opcode: 256 is out of range (0..255)"),
    "unknown timing class": (
        edited(append=insn("bad", 3, "rd", timing="fpu")),
        "instruction 'bad': unknown timing class 'fpu'"),
    "unknown instruction key": (
        edited(append=insn("bad", 3, "rd", 'latency = 3')),
        "instruction 'bad': unknown key 'latency'"),
    "missing instruction key": (
        edited(('syntax = "rd, rs1"\ntiming = "alu"\n', 'syntax = "rd, rs1"\n')),
        "instruction 'add': missing key 'timing'"),
    "duplicate sreg id": (
        edited(('CYCLE   = { id = 1', 'CYCLE   = { id = 0')),
        "[sregs] CYCLE: duplicate id 0 (also used by CORE_ID)"),
    "duplicate trap code": (
        edited(('WATCHDOG     = { code = 2', 'WATCHDOG     = { code = 1')),
        "[traps] WATCHDOG: duplicate code 1 (also used by ILLEGAL_INSN)"),
    "trap code 0 is NONE": (
        edited(('WATCHDOG     = { code = 2', 'WATCHDOG     = { code = 0')),
        "[traps] WATCHDOG: code: 0 is out of range"),
    "ILLEGAL_INSN missing": (
        edited(('ILLEGAL_INSN = { code = 1, doc = "bad word" }\n', '')),
        "ILLEGAL_INSN is required"),
    "duplicate TOML key": (
        edited(('CYCLE   = {', 'CORE_ID = {')),
        "invalid TOML"),
    "writable not a bool": (
        edited(('CYCLE   = { id = 1, doc = "cycles" }', 'CYCLE   = { id = 1, writable = 1, doc = "cycles" }')),
        "[sregs] CYCLE: writable must be true or false, not 1"),
    "unknown sreg key": (
        edited(('CYCLE   = { id = 1, doc = "cycles" }', 'CYCLE   = { id = 1, rw = true, doc = "cycles" }')),
        "[sregs] CYCLE: unknown key 'rw'"),
    "no instructions": ("insn = []\n" + MINIMAL[:MINIMAL.index("[[insn]]")],
                        "the spec defines no instructions"),
}


@pytest.mark.parametrize("case", list(BAD_SPECS))
def test_bad_spec_rejected(tmp_path, case):
    text, message = BAD_SPECS[case]
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    r = run_gen(spec, tmp_path / "out")
    assert r.returncode != 0
    assert message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists(), "no output for a bad spec"


def test_missing_spec_file(tmp_path):
    r = run_gen(tmp_path / "nope.toml", tmp_path / "out")
    assert r.returncode != 0 and "cannot read" in r.stderr


# --------------------------------------------------------------------------- the real spec


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("isa")
    r = run_gen(SPEC, out)
    assert r.returncode == 0, r.stderr
    return out


def test_outputs_say_generated_from_spec(generated):
    for name in OUTPUTS:
        first = (generated / name).read_text().splitlines()[0]
        assert "Generated by firmware-sim/isa/gen_isa.py" in first
        assert "npu-isa.toml" in first


def test_docs_isa_md_is_current(generated):
    committed = (ROOT / "docs" / "isa.md").read_text()
    assert committed == (generated / "isa.md").read_text(), (
        "docs/isa.md is stale: regenerate it with "
        "firmware-sim/isa/gen_isa.py --spec firmware-sim/isa/npu-isa.toml --outdir docs")


def test_tables_match_spec(generated):
    from npu import _isa_tables as T

    spec = tomllib.loads(SPEC.read_text())
    assert T.ISA_VERSION == (spec["isa"]["version_major"], spec["isa"]["version_minor"])
    assert [(i["name"], i["opcode"], i["syntax"], i["timing"]) for i in T.INSNS] == [
        (i["name"], i["opcode"], i["syntax"], i["timing"]) for i in spec["insn"]]
    assert {n: v["id"] for n, v in spec["sregs"].items()} == {n: v[0] for n, v in T.SREGS.items()}
    assert {n: v["code"] for n, v in spec["traps"].items()} == {n: v[0] for n, v in T.TRAPS.items()}
    assert T.SREG_WRITABLE == {n for n, v in spec["sregs"].items() if v.get("writable")}
    assert set(T.TIMING) == set(spec["timing"])
    header = (generated / "npu_isa.h").read_text()
    source = (generated / "npu_isa.c").read_text()
    doc = (generated / "isa.md").read_text()
    for i in spec["insn"]:
        ident = i["name"].upper().replace(".", "_")
        assert f'X({ident}, "{i["name"]}", 0x{i["opcode"]:02x},' in header
        assert f"NPU_INSN_{ident}," in header
        assert f'"{i["name"]}"' in source
        assert f"| `{i['name']}` |" in doc


def test_tables_have_no_overlaps():
    from npu import _isa_tables as T

    for i, a in enumerate(T.INSNS):
        assert a["match"] & ~a["mask"] == 0, a["name"]
        for b in T.INSNS[i + 1:]:
            assert (a["match"] ^ b["match"]) & a["mask"] & b["mask"], (a["name"], b["name"])


def _compiler(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"no {name}")
    return path


def _compile(cmd: list[str]) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_c_compiles_as_c(generated, tmp_path):
    gcc = _compiler("gcc")
    _compile([gcc, *C_FLAGS, "-c", str(generated / "npu_isa.c"), "-o", str(tmp_path / "a.o")])
    # The header is installed for vendors: it must stand on its own.
    (tmp_path / "h.c").write_text('#include "npu_isa.h"\n')
    _compile([gcc, *C_FLAGS, "-I", str(generated), "-c", str(tmp_path / "h.c"),
              "-o", str(tmp_path / "h.o")])


def test_c_compiles_as_cxx(generated, tmp_path):
    gxx = _compiler("g++")
    _compile([gxx, *CXX_FLAGS, "-c", str(generated / "npu_isa.c"), "-o", str(tmp_path / "a.o")])
    (tmp_path / "h.cc").write_text('#include "npu_isa.h"\n')
    _compile([gxx, *CXX_FLAGS, "-I", str(generated), "-c", str(tmp_path / "h.cc"),
              "-o", str(tmp_path / "h.o")])


DRIVER = r"""
#include "npu_isa.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char line[64], buf[128], small[8];
	while (fgets(line, sizeof line, stdin)) {
		uint64_t w = strtoull(line, NULL, 16);
		int n = npu_isa_disasm(w, buf, sizeof buf);
		int m = npu_isa_disasm(w, small, sizeof small);
		/* snprintf semantics: same length whatever the buffer, truncated and terminated */
		size_t want = (size_t)n < sizeof small - 1 ? (size_t)n : sizeof small - 1;

		if (n != (int)strlen(buf) || m != n || strlen(small) != want || strncmp(small, buf, want))
			return 1;
		printf("%s|%s\n", buf, npu_insn_name(npu_isa_decode(w)));
	}
	return 0;
}
"""


def test_c_and_python_agree(generated, tmp_path):
    """The C disassembler and decoder say exactly what the Python ones say."""
    from npu import _isa_tables as T
    from npu import asm

    gcc = _compiler("gcc")
    (tmp_path / "drv.c").write_text(DRIVER)
    exe = tmp_path / "drv"
    _compile([gcc, *C_FLAGS, "-I", str(generated), str(tmp_path / "drv.c"),
              str(generated / "npu_isa.c"), "-o", str(exe)])
    rng = random.Random(1)
    words = [rng.getrandbits(64) for _ in range(2000)]
    for d in T.INSNS:  # random operand bits under every instruction's encoding
        words += [d["match"] | (rng.getrandbits(64) & ~d["mask"]) for _ in range(20)]
    words += [0, (1 << 64) - 1]
    r = subprocess.run([str(exe)], input="".join(f"{w:016x}\n" for w in words),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert len(lines) == len(words)
    for w, line in zip(words, lines):
        text, name = line.split("|")
        assert text == asm.disassemble_word(w), hex(w)
        try:
            expect = asm.decode(w)[0]
        except ValueError:
            expect = "illegal"
        assert name == expect, hex(w)


WRITABLE_DRIVER = r"""
#include "npu_isa.h"
#include <stdio.h>

int main(void)
{
	for (unsigned id = 0; id < NPU_SREG_COUNT + 2; id++)
		printf("%u %d %s\n", id, npu_sreg_writable(id), npu_sreg_name(id) ? npu_sreg_name(id) : "-");
	return 0;
}
"""


def test_c_sreg_writable_matches_spec(generated, tmp_path):
    from npu import _isa_tables as T

    gcc = _compiler("gcc")
    (tmp_path / "w.c").write_text(WRITABLE_DRIVER)
    exe = tmp_path / "w"
    _compile([gcc, *C_FLAGS, "-I", str(generated), str(tmp_path / "w.c"),
              str(generated / "npu_isa.c"), "-o", str(exe)])
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60).stdout.split("\n")
    got = {line.split()[2]: line.split()[1] == "1" for line in out if line and line.split()[2] != "-"}
    assert got == {n: n in T.SREG_WRITABLE for n in T.SREGS}
