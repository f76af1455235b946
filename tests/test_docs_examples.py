"""Every code example in docs/*.md runs, so that the docs cannot rot.

```python blocks of one page run in order as one script (a page builds up its examples).
```c blocks that define main() are compiled against the installed SDK through pkg-config
and run with a kernel binary of libnpu/examples/vadd.s as their argument.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import npu

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
pytestmark = pytest.mark.skipif(not DOCS.is_dir(), reason="needs the source tree")
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.M | re.S)


def blocks(page: Path, lang: str) -> list[str]:
    return [body for kind, body in FENCE.findall(page.read_text()) if kind == lang]


PAGES = sorted(p.name for p in DOCS.glob("*.md")) if DOCS.is_dir() else []


@pytest.mark.parametrize("page", [p for p in PAGES if blocks(DOCS / p, "python")])
def test_python_examples(page, tmp_path):
    code = blocks(DOCS / page, "python")
    if any("import torch" in c for c in code):
        try:
            import torch  # noqa: F401
        except ImportError:
            code = [c for c in code if "import torch" not in c]
    script = tmp_path / "example.py"
    script.write_text("\n\n".join(code))
    env = {k: v for k, v in os.environ.items() if k not in ("NPU_VISIBLE_DEVICES",)}
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       cwd=tmp_path, env=env, timeout=300)
    assert r.returncode == 0, f"{page}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"


C_PAGES = [p for p in PAGES if any("int main" in b for b in blocks(DOCS / p, "c"))]


@pytest.mark.skipif(not shutil.which("cc") or not shutil.which("pkg-config"),
                    reason="needs cc and pkg-config")
@pytest.mark.parametrize("page", C_PAGES)
def test_c_examples(page, tmp_path):
    env = dict(os.environ, PKG_CONFIG_PATH=npu.get_pkgconfig_dir())
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "npu"], capture_output=True,
                           text=True, env=env, check=True).stdout.split()
    kbin = tmp_path / "vadd.kbin"
    npu.assemble((ROOT / "libnpu" / "examples" / "vadd.s").read_text()).save(kbin)
    for i, body in enumerate(b for b in blocks(DOCS / page, "c") if "int main" in b):
        src = tmp_path / f"ex{i}.c"
        src.write_text(body)
        exe = tmp_path / f"ex{i}"
        r = subprocess.run(["cc", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-o", str(exe),
                            str(src), *flags], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        r = subprocess.run([str(exe), str(kbin)], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"{page} example {i}: {r.stdout}\n{r.stderr}"
