"""Builds the C layers (ISA library, firmware-sim, driver, libnpu) and their C tests in a
C-only meson tree under AddressSanitizer + UndefinedBehaviorSanitizer, and runs them.

The tree is built from the source checkout next to this file; NPU_C_SUITE_BUILDDIR reuses a
build directory between runs.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(not (ROOT / "meson.build").exists(),
                                reason="needs the source tree")


def _meson() -> list[str]:
    exe = shutil.which("meson")
    return [exe] if exe else [sys.executable, "-m", "mesonbuild.mesonmain"]


@pytest.fixture(scope="module")
def asan_build(tmp_path_factory) -> Path:
    build = Path(os.environ.get("NPU_C_SUITE_BUILDDIR") or tmp_path_factory.mktemp("build-asan"))
    if not (build / "build.ninja").exists():
        subprocess.run(
            [*_meson(), "setup", str(build), str(ROOT), "-Dpython=false",
             "-Db_sanitize=address,undefined", "-Db_lundef=false", "-Dbuildtype=debug",
             "-Doptimization=1"],
            check=True, capture_output=True, text=True)
    r = subprocess.run([*_meson(), "compile", "-C", str(build)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    return build


def test_c_tests_under_asan_ubsan(asan_build):
    env = dict(os.environ,
               ASAN_OPTIONS="detect_leaks=1:abort_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    r = subprocess.run([*_meson(), "test", "-C", str(asan_build), "--print-errorlogs",
                        "--num-processes", "2"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stdout[-8000:] + r.stderr[-2000:]
    ok = re.search(r"^Ok:\s+(\d+)", r.stdout, re.M)
    fail = re.search(r"^Fail:\s+(\d+)", r.stdout, re.M)
    # Every layer contributes tests; a suite that silently built nothing must not pass.
    assert ok and int(ok.group(1)) >= 20, r.stdout[-4000:]
    assert fail and int(fail.group(1)) == 0, r.stdout[-4000:]
    for suite in ("sim", "driver", "libnpu"):
        assert f" {suite} - " in r.stdout or f"{suite} /" in r.stdout or suite in r.stdout


@pytest.fixture(scope="module")
def tsan_build(tmp_path_factory) -> Path:
    """The simulator and driver (threaded code) and their tests under ThreadSanitizer."""
    build = Path(os.environ.get("NPU_C_SUITE_TSAN_BUILDDIR")
                 or tmp_path_factory.mktemp("build-tsan"))
    if not (build / "build.ninja").exists():
        subprocess.run(
            [*_meson(), "setup", str(build), str(ROOT), "-Dpython=false",
             "-Db_sanitize=thread", "-Db_lundef=false", "-Dbuildtype=debug",
             "-Doptimization=1"],
            check=True, capture_output=True, text=True)
    r = subprocess.run([*_meson(), "compile", "-C", str(build)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    return build


def test_driver_and_sim_tests_under_tsan(tsan_build):
    env = dict(os.environ, TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1")
    r = subprocess.run([*_meson(), "test", "-C", str(tsan_build), "--print-errorlogs",
                        "--num-processes", "2", "--suite", "driver", "--suite", "sim"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stdout[-8000:] + r.stderr[-2000:]
    ok = re.search(r"^Ok:\s+(\d+)", r.stdout, re.M)
    fail = re.search(r"^Fail:\s+(\d+)", r.stdout, re.M)
    assert ok and int(ok.group(1)) >= 20, r.stdout[-4000:]
    assert fail and int(fail.group(1)) == 0, r.stdout[-4000:]
    assert "driver/fuzz_ioctl" in r.stdout and "sim_" in r.stdout
