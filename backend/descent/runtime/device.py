"""Choose the torch device once: CUDA when available, else CPU."""

from __future__ import annotations

import logging

import torch

log = logging.getLogger(__name__)


def choose_device(setting: str = "auto") -> torch.device:
    """Resolve a device setting ("auto", "cpu", "cuda", "cuda:1") to a usable device."""
    setting = setting.strip().lower()
    if setting == "cpu":
        return torch.device("cpu")
    if setting == "auto" or setting.startswith("cuda"):
        if torch.cuda.is_available():
            return torch.device("cuda:0" if setting in ("auto", "cuda") else setting)
        if setting != "auto":
            log.warning("device %r requested but CUDA is not available; using cpu", setting)
        return torch.device("cpu")
    raise ValueError(f"device setting {setting!r}: allowed auto, cpu, cuda, cuda:N")


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{device.index or 0}"
    return device.type
