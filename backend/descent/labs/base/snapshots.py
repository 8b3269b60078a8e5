"""A lab's state as bytes and back (a worker process that dies loses nobody's run:
runtime/processes.py): its attributes pickled as one graph by torch.save, so what they share
(a model's parameters and the optimizer's references to them) stays shared."""

from __future__ import annotations

import io
import pickle
import types
from typing import Any

from descent.nn.schedules import Schedule


class Unbuilt:
    """Where a snapshot had an LR schedule: its step index only (a schedule holds lambdas,
    which do not pickle); the restored lab builds the schedule again at that step."""

    def __init__(self, t: int) -> None:
        self.t = t


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Schedule):
            return Unbuilt, (obj.t,)
        return NotImplemented


# what torch.save calls a pickle module: the standard one, with schedules left unbuilt
_PICKLING = types.SimpleNamespace(**{name: getattr(pickle, name) for name in ("Unpickler", "load", "dump", "loads", "dumps")},
                                  Pickler=_Pickler, __name__="pickle")


def dump(state: dict[str, Any]) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(state, buffer, pickle_module=_PICKLING)
    return buffer.getvalue()


def load(data: bytes) -> dict[str, Any]:
    """The state ``dump`` made (our own bytes, never a client's: hence weights_only=False)."""
    import torch

    state: dict[str, Any] = torch.load(io.BytesIO(data), weights_only=False)
    return state
