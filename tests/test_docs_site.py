"""The documentation site builds from docs/ with no warning (a broken link, an anchor that
does not exist, a page left out of the table of contents all fail), and holds what a reader
looks for: every page, and the ISA reference generated from the spec."""

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest

from npu import _isa_tables

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
pytestmark = [pytest.mark.skipif(not (DOCS / "conf.py").is_file(), reason="needs the source tree")]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    out = tmp_path_factory.mktemp("site")
    r = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q",
                        "-b", "html", "-d", str(out / ".doctrees"), str(DOCS), str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and not r.stderr.strip(), f"sphinx:\n{r.stdout}\n{r.stderr}"
    return out


def test_every_page_is_on_the_site(site):
    index = (site / "index.html").read_text()
    for page in sorted(DOCS.glob("*.md")):
        if page.stem == "index":
            continue
        assert (site / f"{page.stem}.html").is_file(), page.name
        assert f'href="{page.stem}.html"' in index, f"{page.name} is not linked from the index"


def test_isa_reference_lists_every_instruction(site):
    text = html.unescape(re.sub(r"<[^>]+>", " ", (site / "isa.html").read_text()))
    words = set(text.split())
    missing = [i["name"] for i in _isa_tables.INSNS if i["name"] not in words]
    assert not missing, f"isa.html lacks {missing}"
    major, minor = _isa_tables.ISA_VERSION
    assert f"{major}.{minor}" in text
