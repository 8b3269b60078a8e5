"""What a session tells its client: every message built from a model of descent.protocol
and handed to ``send`` as the dict the transport encodes (``protocol.to_json``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from descent.labs.base import Lab
from descent.protocol import ConfigMessage, Error, Rebuilt, RunState, Status, to_dict

Send = Callable[[dict[str, Any]], None]


def discard(message: dict[str, Any]) -> None:
    """The send of a session no client holds (awaiting resume)."""


class Replies:
    send: Send
    lab: Lab
    state: RunState

    def emit(self, message: BaseModel) -> None:
        """Send a server message (a model of descent.protocol)."""
        self.send(to_dict(message))

    def error(self, message: str, loc: list[str | int] | None = None) -> None:
        self.emit(Error(message=message, loc=loc or []))

    def send_config(self, rebuilt: Rebuilt, changed: list[str]) -> None:
        self.emit(ConfigMessage(config=self.lab.config.model_dump(), rebuilt=rebuilt, changed=changed))

    def send_status(self, reason: str | None = None) -> None:
        lr = self.lab.lr
        self.emit(Status(state=self.state, step=self.lab.step_count, epoch=self.lab.epoch,
                         lr=lr if math.isfinite(lr) else None, reason=reason))  # (JSON has no NaN: null, as to_json writes it)

