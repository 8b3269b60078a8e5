"""A session's run as bytes, and the run brought back from them in another process (the
one that held it ended: processes.py), or from its last setup when there are none."""

from __future__ import annotations

import logging
import pickle
from typing import TYPE_CHECKING, Any

from descent.labs import DEFAULT_LAB, config_model, lab_class
from descent.runtime.setups import lab_of

if TYPE_CHECKING:
    from descent.runtime.session import Session

log = logging.getLogger(__name__)


def take(session: Session) -> bytes | None:
    """The lab's whole state, and whether it was playing; None while the lab has failed
    (its state is suspect)."""
    if session.failed:
        return None
    return pickle.dumps({"lab": lab_of(session.lab.config), "state": session.lab.snapshot(),
                         "playing": session.running or session.resume_running, "frame_interval": session.frames.interval})


def restore(session: Session, config: dict[str, Any], notice: str | None, snapshot: bytes | None, resume: bool) -> None:
    """Start ``session`` again where its ``snapshot`` was taken, or from ``config`` when there
    is none (weights and history lost), paused; ``notice`` tells the next client why.
    ``resume``: a run that was playing plays on when a client holds it (as after ``detach``)."""
    kept = None
    if snapshot is not None:
        try:
            kept = pickle.loads(snapshot)
            session.lab = lab_class(kept["lab"]).restore(kept["state"])
            session.frames.interval = kept["frame_interval"]
        except Exception:  # (then from its config, as without a snapshot)
            log.exception("session %s: restoring its snapshot failed", session.id)
            kept = None
    if kept is None:
        lab_name = config.get("lab", DEFAULT_LAB)
        try:
            session.lab = lab_class(lab_name)(config_model(lab_name).model_validate(config), session.device)
        except Exception:  # (it was a good config; should it fail now, the default lab stands)
            log.exception("session %s: restoring its config failed", session.id)
    session.good_config = session.lab.config
    session.state = "diverged" if session.lab.diverged else "paused"
    session.resume_running = bool(resume and kept and kept["playing"])
    session.notice = notice
