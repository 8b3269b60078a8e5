"""The wall's thumbnails (runtime/summary.py): each lab's main picture in at most 16 x 16
bytes; the arena's is its surface with every racer's point, which moves as the race runs."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import torch

from descent.labs import config_model, lab_class
from descent.runtime.summary import THUMB, summarize, thumbnail

CPU = torch.device("cpu")


def picture(name: str, lab: object) -> np.ndarray:
    thumb = thumbnail(name, lab.views(True), lab)  # type: ignore[attr-defined]
    assert thumb is not None
    data, size = thumb
    assert size <= THUMB
    return np.frombuffer(base64.b64decode(data), np.uint8).reshape(size, size)


@pytest.mark.parametrize("name", ["mlp", "attention", "cnn", "arena"])
def test_each_main_picture_has_a_thumbnail(name: str) -> None:
    lab = lab_class(name)(config_model(name)(), CPU)
    lab.step(3)
    assert picture(name, lab).std() > 0  # a picture, not a blank
    assert len(str(summarize(lab, "running", thumbnail(name, lab.views(False), lab)))) < 1200


def test_the_arena_thumbnail_marks_the_racers_and_follows_them() -> None:
    lab = lab_class("arena")(config_model("arena")(surface="bowl", racers=["sgd 0.05", "adam 0.5"]), CPU)
    before = picture("arena", lab)
    assert 1 <= int((before == 255).sum()) <= 2  # the racers' points (both start at one point)
    lab.step(40)
    after = picture("arena", lab)
    assert not np.array_equal(np.argwhere(before == 255), np.argwhere(after == 255))  # they moved
    assert (after[after < 255] <= 110).all()  # the surface stays lighter than a point
