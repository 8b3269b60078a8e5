"""Fork and compare, for any lab: a second run beside the main one, differing in the settings a
user names, trained in the same rounds and streamed with the main run's frames.

The twin is the main run copied whole (its weights, optimizer state, step counters and random
generators, through the same path a snapshot takes), then reconfigured with the patch:
- a change in how the network is trained (learning rate, optimizer, clipping, ...) keeps the
  weights: a **fork** from this point that sees the same batches in the same order;
- a change of the network itself (cell, blocks, hidden size, seed ...) builds the twin's
  network afresh, as the main run's own change would: a **comparison from scratch**, whose
  curves start at epoch 0 beside the main run's (equal epochs, equal data seen).
The data never differs (the lab names the keys that would change it). A network change of the
main run, or a reset, ends the twin."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, ClassVar, Protocol

from pydantic import ValidationError

from descent.history import Cursor, History
from descent.labs.commands import CommandError, refusal


class Run(Protocol):
    """What a second run needs of a lab (labs/base/lab.py's Lab, which holds the twin)."""

    config: Any
    comparable: ClassVar[frozenset[str]]
    history: History
    diverged: str | None

    def copy(self) -> Run: ...
    def configure(self, config: Any, changed: Collection[str] | None = None) -> str: ...
    def step(self, n: int) -> None: ...
    def rebuilt(self) -> None: ...
    def twin_views(self, run: Any) -> dict[str, Any]: ...
    def change_words(self, key: str, value: Any) -> str: ...


def short(key: str, value: Any) -> str:
    """'lr 0.1', 'cell lstm', 'blocks conv8k5...': a legend entry's words for one change."""
    name = "lr" if key == "learning_rate" else key.replace("_", " ")
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value).lower() if isinstance(value, bool) else str(value)
    return f"{name} {text[:40]}"


class Twin:
    """The second run (``run``: a lab of the main run's class) and what the page was sent of it."""

    def __init__(self, lab: Run, patch: Any) -> None:
        if not isinstance(patch, dict) or not patch:
            raise CommandError('args.patch: the settings the second run changes, e.g. {"learning_rate": 0.1}', ["args", "patch"])
        bad = sorted(set(patch) - lab.comparable)
        if bad:
            raise CommandError(f"args.patch.{bad[0]}: a second run keeps the main run's data and views; "
                               f"it may change: {', '.join(sorted(lab.comparable))}", ["args", "patch", bad[0]])
        model = type(lab.config)
        try:
            config = model.model_validate({**lab.config.model_dump(), **patch})
        except ValidationError as e:  # the field, or the patched setup as a whole
            raise refusal(e, ("args", "patch"), model) from None
        changed = {k for k in patch if getattr(config, k) != getattr(lab.config, k)}
        if not changed:
            raise CommandError("args.patch: these are the main run's settings already; change at least one", ["args", "patch"])
        self.run = lab.copy()
        self.fresh = self.run.configure(config, changed) == "network"
        if not self.fresh:
            self.run.history.keep_last()  # the fork's curves start here, beside the main run's
        words = ", ".join(lab.change_words(k, getattr(config, k)) for k in sorted(changed))
        self.label = f"compare: {words} (from scratch)" if self.fresh else f"fork: {words}"
        self.cursor = Cursor()

    def step(self, n: int) -> None:
        if not self.run.diverged:
            self.run.step(n)

    def view(self, lab: Run, full: bool) -> dict[str, Any]:
        """{label, history since the page's cursor, diverged} and what the lab adds of its own."""
        cursor = Cursor() if full else self.cursor
        history = self.run.history.since(cursor)
        if full:
            self.cursor = cursor
        view = {"label": self.label, "history": history, "diverged": self.run.diverged}
        extra = lab.twin_views(self.run)
        return {**view, "views": extra} if extra else view
