"""Assembly kernels shared by the tests."""

from npu import kernels

VADD = kernels.source("vadd.s")


def vector_binop(op: str) -> str:
    """out[i] = a[i] OP b[i] for n <= 4096 elements of 4 bytes, one program instance."""
    return f"""
.kernel vbin
.arg a ptr
.arg b ptr
.arg out ptr
.arg n i64
.sram 49152
    ldarg r1, a
    ldarg r2, b
    ldarg r3, out
    ldarg r4, n
    shli  r5, r4, 2
    li    r10, 0
    li    r11, 16384
    li    r12, 32768
    dma.ld r10, r1, r5, 0
    dma.ld r11, r2, r5, 0
    dma.wait 0
    {op} r12, r10, r11, r4
    dma.st r3, r12, r5, 1
    dma.wait 1
    halt
"""


def scalar_binop(op: str) -> str:
    """out[0] = a OP b on 64-bit registers."""
    return f"""
.kernel sbin
.arg a i64
.arg b i64
.arg out ptr
.sram 64
    ldarg r1, a
    ldarg r2, b
    ldarg r3, out
    {op} r4, r1, r2
    sd    r4, 0(r0)
    li    r5, 8
    dma.st r3, r0, r5, 0
    dma.wait 0
    halt
"""


def scalar_immop(op: str, imm: int) -> str:
    """out[0] = a OP imm."""
    return f"""
.kernel simm
.arg a i64
.arg out ptr
.sram 64
    ldarg r1, a
    ldarg r3, out
    {op} r4, r1, {imm}
    sd    r4, 0(r0)
    li    r5, 8
    dma.st r3, r0, r5, 0
    dma.wait 0
    halt
"""
