"""Bad kernels and bad input: each gives a precise error and the device keeps working."""

import struct
import time
import zlib

import numpy as np
import pytest

import npu
from npu import asm
from kernels import VADD, scalar_binop


def check_device_still_works(dev):
    n = 5000
    a = np.arange(n, dtype=np.float32)
    x, y, z = dev.asarray(a), dev.asarray(a), dev.empty(n, np.float32)
    dev.launch(npu.assemble(VADD), x, y, z, n, grid=(4,))
    np.testing.assert_array_equal(z.numpy(), a * 2)


def fault_of(dev, prog, *args, **kw) -> npu.KernelFault:
    dev.launch(prog, *args, **kw)
    with pytest.raises(npu.KernelFault) as ei:
        dev.synchronize()
    # Reported once: the next synchronize is clean.
    dev.synchronize()
    return ei.value


def test_sram_out_of_bounds(dev):
    prog = npu.assemble(".kernel oob\n.sram 256\n    li r1, 4096\n    nop\n    lw r2, 8(r1)\n    halt\n")
    f = fault_of(dev, prog)
    assert f.trap == "SRAM_OOB" and f.kernel == "oob"
    assert f.pc == 2 and f.disasm == "lw r2, 8(r1)" and f.address == 4104
    assert not f.is_write
    assert "SRAM_OOB" in str(f) and "pc 2" in str(f) and "lw r2, 8(r1)" in str(f)
    assert isinstance(f, npu.NpuError) and f.name == "NPU_ERROR_KERNEL_FAULT"
    check_device_still_works(dev)


def test_store_out_of_bounds_is_a_write(dev):
    prog = npu.assemble(".kernel oobw\n.sram 64\n    li r1, 64\n    sd r1, 0(r1)\n    halt\n")
    f = fault_of(dev, prog)
    assert f.trap == "SRAM_OOB" and f.is_write and f.address == 64 and f.pc == 1
    check_device_still_works(dev)


def test_unmapped_device_address(dev):
    src = """
.kernel pf
.arg p i64
.sram 64
    ldarg r1, p
    li r2, 8
    dma.ld r0, r1, r2, 0
    halt
"""
    bad = 0x7F_0000_0000
    f = fault_of(dev, npu.assemble(src), bad)
    assert f.trap == "PAGE_FAULT" and f.address == bad and f.pc == 2
    assert f.disasm == "dma.ld r0, r1, r2, 0" and not f.is_write
    check_device_still_works(dev)


def test_misaligned_access(dev):
    f = fault_of(dev, npu.assemble(".kernel mis\n.sram 64\n    li r1, 2\n    lw r2, 0(r1)\n    halt\n"))
    assert f.trap == "MISALIGNED" and f.address == 2 and f.pc == 1
    check_device_still_works(dev)


def test_bad_argument_index(dev):
    f = fault_of(dev, npu.assemble(".kernel ba\n.arg a i64\n    ldarg r1, 3\n    halt\n"), 5)
    assert f.trap == "BAD_ARG" and f.address == 3 and f.disasm == "ldarg r1, 3"
    check_device_still_works(dev)


def test_pc_out_of_range(dev):
    f = fault_of(dev, npu.assemble(".kernel pc\n    li r1, 1000\n    jr r1\n    halt\n"))
    assert f.trap == "PC_OOB" and f.address == 1000
    check_device_still_works(dev)


def _patch_word(binary: bytes, index: int, word: int) -> bytes:
    kb = asm.read_kbin(binary)
    kb.code[index] = word
    return asm.write_kbin(kb)


@pytest.mark.parametrize("word", [0, 0xFFFF_FFFF_FFFF_FFFF, 0x0000_0000_FFFF_FF01, 0xEE])
def test_illegal_instruction(dev, word):
    prog = npu.assemble(".kernel ill\n    nop\n    nop\n    halt\n")
    prog = npu.Program(_patch_word(prog.binary, 1, word))
    f = fault_of(dev, prog)
    assert f.trap == "ILLEGAL_INSN" and f.pc == 1 and f.insn == word
    assert f.disasm == f".word {word:#018x}"
    check_device_still_works(dev)


def test_runaway_kernel_by_time(dev):
    prog = npu.assemble(".kernel spin\nforever:\n    addi r1, r1, 1\n    jmp forever\n")
    t0 = time.monotonic()
    f = fault_of(dev, prog, grid=(8,), timeout=0.2)
    elapsed = time.monotonic() - t0
    assert f.trap == "WATCHDOG" and f.disasm in ("addi r1, r1, 1", "jmp -1")
    assert elapsed < 5
    check_device_still_works(dev)


def test_runaway_kernel_by_instruction_budget(dev):
    prog = npu.assemble(".kernel spin2\nforever:\n    addi r1, r1, 1\n    jmp forever\n")
    f = fault_of(dev, prog, max_insns=100_000)
    assert f.trap == "WATCHDOG"
    check_device_still_works(dev)


def test_budget_does_not_stop_a_kernel_that_fits(dev):
    prog = npu.assemble(scalar_binop("add"))
    out = dev.empty(1, np.int64)
    dev.launch(prog, 40, 2, out, max_insns=1000)
    assert out.numpy()[0] == 42


def test_fault_surfaces_at_host_copy_and_later_work_runs(dev):
    bad = npu.assemble(".kernel oob2\n.sram 64\n    li r1, 100000\n    lb r2, 0(r1)\n    halt\n")
    t = dev.asarray(np.zeros(4, np.float32))
    dev.launch(bad)
    with pytest.raises(npu.KernelFault):
        t.numpy()
    assert (t.numpy() == 0).all()
    check_device_still_works(dev)


# ---- launch argument checking ------------------------------------------------------------

def test_launch_argument_errors(dev):
    prog = npu.assemble(VADD)
    x = dev.empty(4, np.float32)
    with pytest.raises(TypeError, match=r"argument 3 \('n', i64\).*int"):
        dev.launch(prog, x, x, x, 4.5)
    with pytest.raises(TypeError, match=r"argument 1 \('y', ptr\).*npu.Tensor"):
        dev.launch(prog, x, 5, x, 4)
    with pytest.raises(TypeError, match="takes 4 arguments, 3 given"):
        dev.launch(prog, x, x, x)
    with pytest.raises(ValueError, match="grid"):
        dev.launch(prog, x, x, x, 4, grid=(0,))
    with pytest.raises(ValueError, match="grid"):
        dev.launch(prog, x, x, x, 4, grid=(1, 1, 1, 1))
    with pytest.raises(TypeError, match="grid"):
        dev.launch(prog, x, x, x, 4, grid=(1.5,))
    with pytest.raises(OverflowError):
        dev.launch(prog, x, x, x, 2**64)
    with pytest.raises(TypeError):
        dev.launch(prog, x, x, x, 4, (4,))  # geometry is keyword-only
    dev.synchronize()


# ---- malformed kernel binaries -----------------------------------------------------------

def _fix_crc(b: bytearray) -> bytes:
    b[64:68] = b"\0\0\0\0"
    b[64:68] = struct.pack("<I", zlib.crc32(bytes(b)))
    return bytes(b)


def _binary():
    return bytearray(npu.assemble(VADD).binary)


@pytest.mark.parametrize("mutate,message", [
    (lambda b: b[:40], "shorter than the 72-byte header"),
    (lambda b: b"XPUKBIN\0" + b[8:], "bad magic"),
    (lambda b: _fix_crc(b[:8] + struct.pack("<H", 9) + b[10:]), "format_version 9"),
    (lambda b: _fix_crc(b[:10] + struct.pack("<H", 77) + b[12:]), "ISA 77."),
    (lambda b: _fix_crc(b[:16] + struct.pack("<I", 1) + b[20:]), "flags 0x1"),
    (lambda b: b + b"\0" * 8, "file_size"),
    (lambda b: b[:100] + bytes([b[100] ^ 1]) + b[101:], "crc32 mismatch"),
    (lambda b: _fix_crc(b[:24] + struct.pack("<I", 4) + b[28:]), "code section"),
    (lambda b: _fix_crc(b[:28] + struct.pack("<I", 12) + b[32:]), "code_size 12"),
    (lambda b: _fix_crc(b[:44] + struct.pack("<I", 0) + b[48:]), "num_kernels is 0"),
    (lambda b: _fix_crc(b[:44] + struct.pack("<I", 1000) + b[48:]), "kernel table"),
])
def test_malformed_binary_rejected_precisely(dev, mutate, message):
    bad = bytes(mutate(_binary()))
    with pytest.raises(npu.InvalidImageError) as ei:
        dev.load(bad)
    assert message in str(ei.value)
    assert ei.value.name == "NPU_ERROR_INVALID_IMAGE"
    check_device_still_works(dev)


def _patch_kernel_field(binary: bytes, offset_in_entry: int, value: int) -> bytes:
    """Rewrites one u32 of kernel 0's table entry and re-signs the file."""
    b = bytearray(binary)
    (kernels_offset,) = struct.unpack_from("<I", b, 40)
    struct.pack_into("<I", b, kernels_offset + offset_in_entry, value)
    return _fix_crc(b)


def test_kernel_entry_and_sram_checked_by_loader(dev):
    binary = npu.assemble(VADD).binary
    n_code = len(asm.read_kbin(binary).code)
    with pytest.raises(npu.InvalidImageError, match=f"entry {n_code + 3} is past"):
        dev.load(_patch_kernel_field(binary, 4, n_code + 3))
    sram = dev.properties.sram_per_core + 8
    with pytest.raises(npu.InvalidImageError, match=f"needs {sram} bytes of SRAM"):
        dev.load(_patch_kernel_field(binary, 8, sram))


def test_out_of_device_memory(dev):
    with pytest.raises(npu.OutOfMemoryError) as ei:
        dev.empty(dev.properties.mem_total + 2**20, np.uint8)
    assert isinstance(ei.value, MemoryError)
    assert ei.value.requested == dev.properties.mem_total + 2**20
    check_device_still_works(dev)
