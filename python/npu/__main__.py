"""`python -m npu demo`: runs a short job on the embedded simulated NPU and says what it did.
`python -m npu info`: lists the devices.
`python -m npu --pkgconfigdir` / `--includedir` / `--libdir` / `--cflags` / `--libs`: where the
C SDK is, for build systems (e.g. PKG_CONFIG_PATH=$(python -m npu --pkgconfigdir))."""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import npu

VADD = """
; z[i] = x[i] + y[i], fp32. Each program instance handles a contiguous slice, moving it
; through SRAM in chunks of 4096 elements with DMA.
.kernel vadd
.arg x ptr
.arg y ptr
.arg z ptr
.arg n i64
.sram 49152
    ldarg r1, x
    ldarg r2, y
    ldarg r3, z
    ldarg r4, n
    csrr  r5, PROGRAM_ID
    csrr  r6, NUM_PROGRAMS
    ; slice = ceil(n / programs); [start, end) = [id*slice, min(n, (id+1)*slice))
    add   r7, r4, r6
    addi  r7, r7, -1
    divu  r7, r7, r6
    mul   r8, r5, r7
    add   r9, r8, r7
    bltu  r9, r4, clamped
    add   r9, r4, r0
clamped:
    bgeu  r8, r9, done
chunk:
    sub   r10, r9, r8          ; elements left
    li    r11, 4096
    bltu  r10, r11, sized
    add   r10, r11, r0
sized:
    shli  r12, r8, 2           ; byte offset of the chunk
    shli  r13, r10, 2          ; bytes in the chunk
    add   r14, r1, r12
    li    r20, 0
    dma.ld r20, r14, r13, 0    ; x chunk -> SRAM[0]
    add   r14, r2, r12
    li    r21, 16384
    dma.ld r21, r14, r13, 1    ; y chunk -> SRAM[16384]
    dma.wait 0
    dma.wait 1
    li    r22, 32768
    vadd.f32 r22, r20, r21, r10
    add   r14, r3, r12
    dma.st r14, r22, r13, 2    ; SRAM[32768] -> z chunk
    dma.wait 2
    add   r8, r8, r10
    bltu  r8, r9, chunk
done:
    halt
"""


def demo() -> int:
    n = 100_000
    dev = npu.Device(0)
    p = dev.properties
    print(f"device: {p.name}: {p.num_cores} cores, {p.sram_per_core // 1024} KiB SRAM per core, "
          f"{p.mem_total / 2**30:.0f} GiB device memory, ISA {p.isa_version[0]}.{p.isa_version[1]}")
    prog = npu.assemble(VADD)
    print(f"assembled kernel 'vadd': {len(prog.binary)} bytes, "
          f"{len(npu.disassemble(prog.binary).splitlines())} lines of disassembly")
    x = dev.asarray(np.arange(n, dtype=np.float32))
    y = dev.asarray(np.ones(n, dtype=np.float32))
    z = dev.empty(n, np.float32)
    t0 = time.perf_counter()
    dev.launch(prog, x, y, z, n, grid=(4,))
    dev.synchronize()
    t1 = time.perf_counter()
    ok = np.array_equal(z.numpy(), x.numpy() + 1)
    print(f"launched vadd on {n} fp32 elements, grid (4,): {(t1 - t0) * 1e3:.2f} ms host time, "
          f"result {'correct' if ok else 'WRONG'}")
    bad = npu.assemble(".kernel oob\n.sram 64\n    li r1, 4096\n    lw r2, 0(r1)\n    halt\n")
    dev.launch(bad, grid=(1,))
    try:
        dev.synchronize()
    except npu.KernelFault as e:
        print(f"a kernel reading SRAM out of bounds raised KernelFault: {e.trap} at pc {e.pc} "
              f"({e.disasm}), address {e.address:#x}")
    dev.launch(prog, x, y, z, n, grid=(4,))
    ok2 = np.array_equal(z.numpy(), x.numpy() + 1)
    print(f"the next launch on the same device: result {'correct' if ok2 else 'WRONG'}")
    return 0 if ok and ok2 else 1


def info() -> int:
    for i in range(npu.device_count()):
        p = npu.Device(i).properties
        print(f"{i}: {p.name}, {p.num_cores} cores, {p.mem_total} bytes")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m npu", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["demo", "info"], nargs="?", default=None)
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--pkgconfigdir", action="store_true",
                       help="print the directory holding npu.pc (for PKG_CONFIG_PATH)")
    where.add_argument("--includedir", action="store_true",
                       help="print the include directory (npu.get_include())")
    where.add_argument("--libdir", action="store_true",
                       help="print the directory holding libnpu.so.0")
    where.add_argument("--cflags", action="store_true", help="print compiler flags")
    where.add_argument("--libs", action="store_true", help="print linker flags")
    where.add_argument("--version", action="store_true",
                       help="print the package and libnpu versions")
    args = ap.parse_args(argv)
    if args.pkgconfigdir:
        print(npu.get_pkgconfig_dir())
    elif args.includedir:
        print(npu.get_include())
    elif args.libdir:
        print(npu.get_library_dir())
    elif args.cflags:
        print(f"-I{npu.get_include()}")
    elif args.libs:
        d = npu.get_library_dir()
        print(f"-L{d} -Wl,-rpath,{d} -lnpu")
    elif args.version:
        print(f"open-npu {npu.__version__}, libnpu {'.'.join(map(str, npu.version()))}")
    elif args.command == "info":
        return info()
    else:
        return demo()
    return 0


if __name__ == "__main__":
    sys.exit(main())
