"""Running a "show the code" script as a user would: alone, in a clean environment (no Descent
on the path), one thread; and reading what it prints of its first step and first epoch."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def run_script(text: str, path: Path, epochs: int = 1) -> str:
    path.write_text(text)
    return subprocess.run([sys.executable, str(path), str(epochs)], capture_output=True, text=True, timeout=300,
                          cwd=path.parent, env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}, check=True).stdout


def first_step_and_epoch(out: str) -> tuple[float, float]:
    """The loss the script printed for step 1 and its epoch 1 train loss."""
    first = re.search(r"step 1: loss (\S+)", out)
    epoch = re.search(r"epoch 1: train loss ([0-9.eE+-]+|nan)", out)
    assert first and epoch, out
    return float(first.group(1)), float(epoch.group(1))
