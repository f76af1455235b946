"""Where the installed C SDK is: headers, the shared library and the pkg-config file."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _sdk_root() -> Path:
    # A regular install has include/ and lib/ inside the package; an editable install runs
    # the package from the source tree and finds the SDK laid out in its build directory.
    if (_PKG / "include" / "npu" / "npu.h").is_file():
        return _PKG
    try:
        from . import _build_info
    except ImportError:  # pragma: no cover - a broken install
        return _PKG
    return Path(_build_info.SDK_STAGING_DIR)


def get_include() -> str:
    """The directory to pass with ``-I``: it holds ``npu/npu.h`` and the other headers."""
    return str(_sdk_root() / "include")


def get_library_dir() -> str:
    """The directory holding ``libnpu.so.0`` (and the ``libnpu.so`` link script)."""
    return str(_sdk_root() / "lib")


def get_pkgconfig_dir() -> str:
    """The directory holding ``npu.pc``: put it on ``PKG_CONFIG_PATH``."""
    return str(_sdk_root() / "lib" / "pkgconfig")
