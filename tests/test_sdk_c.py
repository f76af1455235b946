"""The C SDK as a vendor or C user meets it after `pip install`: headers, libnpu.so.0,
pkg-config, exported symbols, versions, and the example program built from the installed
SDK alone."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import npu

ROOT = Path(__file__).resolve().parent.parent
INC = Path(npu.get_include())
LIBDIR = Path(npu.get_library_dir())
PCDIR = Path(npu.get_pkgconfig_dir())
HEADERS = ["npu.h", "npu_kbin.h", "npu_accel.h", "npu_hw.h", "npu_isa.h"]
needs_cc = pytest.mark.skipif(not shutil.which("cc") or not shutil.which("c++"),
                              reason="needs a C and a C++ compiler")
needs_pkgconfig = pytest.mark.skipif(not shutil.which("pkg-config"), reason="needs pkg-config")
needs_source = pytest.mark.skipif(not (ROOT / "libnpu" / "libnpu.sym").exists(),
                                  reason="needs the source tree")


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{cmd}\n{r.stdout}\n{r.stderr}"
    return r


def pkg_config(*args):
    env = dict(os.environ, PKG_CONFIG_PATH=str(PCDIR))
    return run(["pkg-config", *args, "npu"], env=env).stdout.split()


def test_sdk_layout_is_installed():
    for h in HEADERS:
        assert (INC / "npu" / h).is_file(), h
    assert (LIBDIR / "libnpu.so.0").is_file()
    assert (LIBDIR / "libnpu.so").is_file()
    assert (PCDIR / "npu.pc").is_file()


def test_python_m_npu_prints_the_sdk_paths():
    out = run([sys.executable, "-m", "npu", "--pkgconfigdir"], cwd="/").stdout.strip()
    assert Path(out) == PCDIR
    out = run([sys.executable, "-m", "npu", "--includedir"], cwd="/").stdout.strip()
    assert Path(out) == INC


@needs_pkgconfig
def test_pkg_config_file_is_relocatable(tmp_path):
    text = (PCDIR / "npu.pc").read_text()
    assert "${pcfiledir}" in text
    assert str(PCDIR.parent.parent) not in text  # no absolute install path baked in
    # A copy of the whole SDK elsewhere resolves to the copy.
    moved = tmp_path / "moved"
    shutil.copytree(PCDIR.parent.parent / "include", moved / "include")
    shutil.copytree(PCDIR.parent, moved / "lib")
    env = dict(os.environ, PKG_CONFIG_PATH=str(moved / "lib" / "pkgconfig"))
    cflags = run(["pkg-config", "--cflags", "npu"], env=env).stdout.split()
    assert [Path(f[2:]).resolve() for f in cflags if f.startswith("-I")] == [
        (moved / "include").resolve()]


@needs_pkgconfig
def test_pkg_config_version_and_flags():
    env = dict(os.environ, PKG_CONFIG_PATH=str(PCDIR))
    version = run(["pkg-config", "--modversion", "npu"], env=env).stdout.strip()
    assert version == ".".join(map(str, npu.version())) == npu.__version__
    cflags = pkg_config("--cflags")
    libs = pkg_config("--libs")
    assert any(Path(f[2:]).resolve() == INC.resolve() for f in cflags if f.startswith("-I"))
    assert "-lnpu" in libs
    assert any(f.startswith("-L") and Path(f[2:]).resolve() == LIBDIR.resolve() for f in libs)


def test_shared_library_soname():
    r = run(["readelf", "-d", str(LIBDIR / "libnpu.so.0")]) if shutil.which("readelf") else None
    if r is None:
        pytest.skip("needs readelf")
    assert re.search(r"SONAME.*\[libnpu\.so\.0\]", r.stdout)


def _exported(lib: Path) -> set[str]:
    r = run(["nm", "-D", "--defined-only", str(lib)])
    names = set()
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TtWwDdBbRr" and parts[1].isupper():
            names.add(parts[2].split("@")[0])
    return names


def _declared(header_text: str) -> set[str]:
    return set(re.findall(r"NPU_API\s+[^;(]*?\b(npu_\w+)\s*\(", header_text))


@needs_source
@pytest.mark.skipif(not shutil.which("nm"), reason="needs nm")
def test_exported_symbols_match_the_checked_in_list():
    """libdrm-style: libnpu.sym (the version script) lists exactly what the built library
    exports, and exactly the NPU_API functions of the public headers."""
    text = (ROOT / "libnpu" / "libnpu.sym").read_text()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    listed = set(re.findall(r"^\s*(npu_\w+);", text, re.M))
    exported = _exported(LIBDIR / "libnpu.so.0")
    declared = set()
    for h in ("npu.h", "npu_kbin.h"):
        declared |= _declared((INC / "npu" / h).read_text())
    assert exported == listed, (
        f"exported but not listed: {sorted(exported - listed)}; "
        f"listed but not exported: {sorted(listed - exported)}")
    assert declared == listed, (
        f"declared NPU_API but not listed: {sorted(declared - listed)}; "
        f"listed but not declared: {sorted(listed - declared)}")
    # Nothing else leaks: no driver, simulator or internal names.
    assert not [s for s in exported if not s.startswith("npu_")]
    assert not [s for s in exported if s.startswith(("npu_drv_", "npui_", "sim_", "drv_"))]


@needs_cc
@pytest.mark.parametrize("header", HEADERS)
@pytest.mark.parametrize("lang", ["c", "c++"])
def test_each_public_header_compiles_alone(tmp_path, header, lang):
    src = tmp_path / ("t.c" if lang == "c" else "t.cpp")
    src.write_text(f"#include <npu/{header}>\n#include <npu/{header}>\n"
                   "int npu_header_test_anchor;\n")
    compiler = ["cc", "-std=c11"] if lang == "c" else ["c++", "-std=c++17"]
    run([*compiler, "-fsyntax-only", "-Wall", "-Wextra", "-Werror", f"-I{INC}", str(src)])


@needs_cc
@needs_pkgconfig
def test_compile_time_and_run_time_versions_agree(tmp_path):
    src = tmp_path / "v.c"
    src.write_text(r"""
#include <stdio.h>
#include <string.h>
#include <npu/npu.h>
int main(void)
{
	char s[32];
	snprintf(s, sizeof(s), "%d.%d.%d", NPU_VERSION_MAJOR, NPU_VERSION_MINOR, NPU_VERSION_PATCH);
	printf("%d %d %s\n", NPU_VERSION, npu_get_version(), NPU_VERSION_STRING);
	return npu_get_version() == NPU_VERSION && strcmp(s, NPU_VERSION_STRING) == 0 ? 0 : 1;
}
""")
    exe = tmp_path / "v"
    run(["cc", "-o", str(exe), str(src), *pkg_config("--cflags"), *pkg_config("--libs")])
    out = run([str(exe)]).stdout.split()
    assert out[0] == out[1]
    assert out[2] == npu.__version__
    major, minor, patch = npu.version()
    assert int(out[1]) == major * 10000 + minor * 100 + patch


@needs_cc
@needs_pkgconfig
@needs_source
def test_example_program_builds_against_the_installed_sdk(tmp_path):
    """libnpu/examples: built with its Makefile (pkg-config only), run on a kernel binary
    written by npu-as; it checks a result and reports a fault."""
    ex = tmp_path / "examples"
    shutil.copytree(ROOT / "libnpu" / "examples", ex)
    env = dict(os.environ)
    env.pop("PKG_CONFIG_PATH", None)
    env["PYTHON"] = sys.executable
    if not shutil.which("make"):
        pytest.skip("needs make")
    run(["make", "-C", str(ex), f"PYTHON={sys.executable}"], env=env)
    assert (ex / "vadd.kbin").read_bytes()[:8] == b"NPUKBIN\0"
    # The binary finds libnpu.so.0 through the rpath from pkg-config, no LD_LIBRARY_PATH.
    env.pop("LD_LIBRARY_PATH", None)
    r = subprocess.run([str(ex / "vadd"), str(ex / "vadd.kbin")], capture_output=True,
                       text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "vadd: 100000 elements correct" in r.stdout
    fault = [ln for ln in r.stdout.splitlines() if ln.startswith("fault: trap")][0]
    assert "PAGE_FAULT" in fault and "kernel oob" in fault and "0x7f00000000" in fault
    assert "dma.ld r0, r1, r2, 0" in fault
    assert "after the fault: launch ok" in r.stdout
    ldd = run(["ldd", str(ex / "vadd")]).stdout if shutil.which("ldd") else ""
    assert not ldd or str(LIBDIR) in ldd or "libnpu.so.0 =>" in ldd


@needs_cc
@needs_pkgconfig
def test_example_kernel_binary_from_python(tmp_path):
    """The same program with a binary the Python assembler wrote (npu.assemble + save)."""
    if not (ROOT / "libnpu" / "examples" / "vadd.c").exists():
        pytest.skip("needs the source tree")
    prog = npu.assemble((ROOT / "libnpu" / "examples" / "vadd.s").read_text())
    prog.save(tmp_path / "k.kbin")
    exe = tmp_path / "vadd"
    run(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(exe),
         str(ROOT / "libnpu" / "examples" / "vadd.c"), *pkg_config("--cflags"),
         *pkg_config("--libs")])
    r = run([str(exe), str(tmp_path / "k.kbin")], timeout=60)
    assert "elements correct" in r.stdout


def test_sdk_paths_fall_back_to_the_build_tree(monkeypatch, tmp_path):
    """An editable install runs the package from the source tree, which has no include/ or
    lib/: the paths then come from the build tree's copy (npu/_build_info.py)."""
    from npu import _build_info, _paths
    staged = tmp_path / "sdk"
    (staged / "include" / "npu").mkdir(parents=True)
    monkeypatch.setattr(_paths, "_PKG", tmp_path / "pkg-without-sdk")
    monkeypatch.setattr(_build_info, "SDK_STAGING_DIR", str(staged))
    assert Path(npu.get_include()) == staged / "include"
    assert Path(npu.get_pkgconfig_dir()) == staged / "lib" / "pkgconfig"
    assert Path(npu.get_library_dir()) == staged / "lib"
