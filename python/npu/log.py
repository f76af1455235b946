"""Logging of the Python SDK: the ``"npu"`` logger, configured from ``NPU_LOG_LEVEL``.

``NPU_LOG_LEVEL`` (``debug``, ``info``, ``warn``/``warning``, ``error``, ``off``) is the same
variable the driver reads for its own log, so one setting turns on both. When it is set, the
``npu`` logger gets that level and a handler writing ``npu: LEVEL: message`` lines to stderr;
when it is unset, the logger is left to the application's logging configuration.
"""

from __future__ import annotations

import logging
import os

logger = logging.getLogger("npu")

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "off": logging.CRITICAL + 10,
    "none": logging.CRITICAL + 10,
}


def configure(value: str | None = None) -> None:
    """(Re)applies ``NPU_LOG_LEVEL`` (or ``value``) to the ``npu`` logger."""
    value = os.environ.get("NPU_LOG_LEVEL") if value is None else value
    if not value:
        return
    level = _LEVELS.get(value.strip().lower())
    if level is None:
        logger.warning("NPU_LOG_LEVEL=%r is not one of %s; ignored", value, ", ".join(_LEVELS))
        return
    logger.setLevel(level)
    if not any(getattr(h, "_npu_handler", False) for h in logger.handlers):
        h = logging.StreamHandler()
        h.setFormatter(logging.Formatter("npu: %(levelname)s: %(message)s"))
        h._npu_handler = True  # type: ignore[attr-defined]
        logger.addHandler(h)


def debug_enabled() -> bool:
    """Cheap check for hot paths (launches) before formatting a message."""
    return logger.isEnabledFor(logging.DEBUG)


configure()
