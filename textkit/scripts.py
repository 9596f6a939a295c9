"""Character classes of the scripts the text functions tell apart."""

from __future__ import annotations

import re

# CJK ideographs (Chinese characters): the unified block with extension A, and the compatibility block.
HAN = "\u3400-\u9fff\uf900-\ufaff"
HAN_CHAR = re.compile(f"[{HAN}]")
