"""How heavy arrays travel in frames: base64 of their raw bytes (C order), the encoding each
view's schema names (``base64-uint8``, ``base64-uint16le`` ...). Torch-free: a tensor is
turned into a numpy array (``.cpu().numpy()``) by its caller."""

from __future__ import annotations

import base64

import numpy as np


def b64(data: bytes | np.ndarray) -> str:
    """``data`` (bytes, or an array's bytes in C order) as base64 text."""
    raw = data if isinstance(data, bytes) else np.ascontiguousarray(data).tobytes()
    return base64.b64encode(raw).decode("ascii")
