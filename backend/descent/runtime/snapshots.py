"""A session's run as bytes, and the run brought back from them in another process (the
one that held it ended: processes.py), or from its last setup when there are none."""

from __future__ import annotations

import logging
import pickle
from typing import Any

import torch

from descent.labs import DEFAULT_LAB, config_model, lab_class
from descent.labs.base import Lab
from descent.runtime.setups import lab_of

log = logging.getLogger(__name__)


def take(lab: Lab[Any], playing: bool, frame_interval: float) -> bytes:
    """The lab's whole state, whether it was playing, and its client's frame interval."""
    return pickle.dumps({"lab": lab_of(lab.config), "state": lab.snapshot(), "playing": playing, "frame_interval": frame_interval})


def restore(snapshot: bytes | None, config: dict[str, Any], device: torch.device, fallback: Lab[Any],
            sid: str) -> tuple[Lab[Any], float | None, bool]:
    """The lab again where ``snapshot`` was taken, or built from ``config`` when there is none
    (weights and history lost; should even that fail, ``fallback`` stands): the lab, the
    frame interval kept (None: none) and whether the run was playing."""
    if snapshot is not None:
        try:
            kept = pickle.loads(snapshot)
            return lab_class(kept["lab"]).restore(kept["state"]), kept["frame_interval"], bool(kept["playing"])
        except Exception:  # (then from its config, as without a snapshot)
            log.exception("session %s: restoring its snapshot failed", sid)
    lab_name = config.get("lab", DEFAULT_LAB)
    try:
        return lab_class(lab_name)(config_model(lab_name).model_validate(config), device), None, False
    except Exception:  # (it was a good config; should it fail now, the default lab stands)
        log.exception("session %s: restoring its config failed", sid)
        return fallback, None, False
