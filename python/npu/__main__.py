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
from npu import kernels

VADD = kernels.source("vadd.s")


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
