# SPDX-License-Identifier: MIT
"""``python -m npu.testing`` is ``python -m npu.testing.fuzz``."""

import sys

from .fuzz import main

sys.exit(main())
