# Sphinx configuration of the documentation site. The pages are the Markdown files of this
# directory, read by MyST; docs/isa.md is generated from the ISA spec (gen_isa.py).
# Build: pip install ".[docs]" && python -m sphinx -W -b html docs build/docs
import re
from pathlib import Path

# The version is pyproject.toml's (a regex: tomllib is Python 3.11+, the project 3.10+).
_pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
release = re.search(r'^version = "([^"]+)"', _pyproject, re.M).group(1)

project = "open-npu"
author = "the open-npu developers"
copyright = "the open-npu developers"
version = release

extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
# Links written as page.md#a-heading resolve to the heading's anchor, as on a forge.
myst_heading_anchors = 4
myst_enable_extensions = ["colon_fence"]
# Pages link to sources outside docs/ (headers, examples): these go to the repository.
html_theme = "alabaster"
html_title = f"open-npu {release}"
html_show_sourcelink = False
