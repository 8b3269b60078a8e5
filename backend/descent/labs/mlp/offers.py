"""Read-only data the playground's page fetches besides the websocket: each 2-D dataset
with a sample of its points, for the dataset pickers. The transport serves each entry of
``OFFERS`` at /api/<name> (server/api.py), its query validated by the model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from descent.labs.mlp.datasets import CLASSES, DATASETS, DEFAULT_CLASSES, generate


class PreviewQuery(BaseModel):
    classes: int = Field(default=DEFAULT_CLASSES, ge=CLASSES[0], le=CLASSES[1], description="classes of the multiclass previews")


def datasets(query: PreviewQuery) -> list[dict[str, Any]]:
    """Each 2-D dataset with its problem type and a sample of its points (for previews)."""
    return [preview(entry.name, query.classes) for entry in DATASETS]


def preview(name: str, classes: int = DEFAULT_CLASSES) -> dict[str, Any]:
    xy, label = generate(name, noise=0.0, seed=0, classes=classes)
    xy, label = xy[:200], label[:200]
    return {
        "name": name,
        "problem": DATASETS[name].meta["problem"],
        "points": {"x1": xy[:, 0].round(2).tolist(), "x2": xy[:, 1].round(2).tolist(), "label": label.round(2).tolist()},
    }


OFFERS = {"datasets": (PreviewQuery, datasets)}
