"""Lays out the C SDK in the build tree exactly as the Python package installs it.

    stage_sdk.py OUTDIR STAMP --lib LIBNPU_SO --ldscript LDSCRIPT --pc NPU_PC HEADER...

gives OUTDIR/include/npu/*.h, OUTDIR/lib/libnpu.so.0, OUTDIR/lib/libnpu.so (linker script)
and OUTDIR/lib/pkgconfig/npu.pc. An editable install (whose npu/__init__.py lives in the
source tree) finds the SDK here through npu/_build_info.py.
"""
import argparse
import os
import shutil


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("stamp")
    ap.add_argument("--lib", required=True)
    ap.add_argument("--ldscript", required=True)
    ap.add_argument("--pc", required=True)
    ap.add_argument("headers", nargs="+")
    a = ap.parse_args()
    inc = os.path.join(a.outdir, "include", "npu")
    lib = os.path.join(a.outdir, "lib")
    os.makedirs(inc, exist_ok=True)
    os.makedirs(os.path.join(lib, "pkgconfig"), exist_ok=True)
    for h in a.headers:
        shutil.copy2(h, os.path.join(inc, os.path.basename(h)))
    shutil.copy2(a.lib, os.path.join(lib, "libnpu.so.0"))
    shutil.copy2(a.ldscript, os.path.join(lib, "libnpu.so"))
    shutil.copy2(a.pc, os.path.join(lib, "pkgconfig", "npu.pc"))
    with open(a.stamp, "w") as f:
        f.write("staged\n")


if __name__ == "__main__":
    main()
