"""The CUDA path: each lab trains on the GPU and its views come back as plain data, and the
server names the GPU to the page. Skipped on machines without CUDA (CI); run on a GPU box."""

from __future__ import annotations

import json

import pytest
import torch

from descent.labs import config_model, lab_class
from descent.protocol import to_json

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
CUDA = torch.device("cuda:0")


@pytest.mark.parametrize(("lab", "patch"), [
    ("mlp", {}),
    ("mlp", {"problem": "multiclass", "dataset": "spirals", "classes": 4, "loss": "ce", "hidden": [8, 8]}),
    ("attention", {}),
    ("arena", {}),
])
def test_each_lab_trains_on_the_gpu(lab: str, patch: dict) -> None:
    model = config_model(lab)
    instance = lab_class(lab)(model(lab=lab, **patch), CUDA)
    before = instance.metrics()
    instance.step(200)
    views = json.loads(to_json({"views": instance.views(True), "metrics": instance.metrics()}))
    assert views["views"] and instance.step_count > 0
    if lab != "arena":  # the arena's 2-D points stay on the CPU: a GPU launch costs more than the step
        assert all(p.is_cuda for p in instance.model.parameters())
    if lab == "mlp":
        assert instance.metrics()["train_loss"] < before["train_loss"]


def test_the_server_reports_the_gpu() -> None:
    from fastapi.testclient import TestClient

    from descent.app import create_app
    from descent.settings import Settings

    with TestClient(create_app(Settings(device="auto"))) as client:
        assert client.get("/healthz").json()["device"] == "cuda:0"
        with client.websocket_connect("/ws") as ws:
            assert ws.receive_json()["device"] == "cuda:0"
