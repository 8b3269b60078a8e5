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

    from descent.server.app import create_app
    from descent.settings import Settings

    with TestClient(create_app(Settings(device="auto"))) as client:
        assert client.get("/healthz").json()["device"] == "cuda:0"
        with client.websocket_connect("/ws") as ws:
            assert ws.receive_json()["device"] == "cuda:0"


def test_a_class_steps_together_on_the_gpu_as_each_alone() -> None:
    """The cohort path (stacked steps, epoch ends scored together) on CUDA equals stepping alone."""
    import copy

    from descent.labs.mlp.lab import Lab
    from descent.labs.mlp.schema import Config

    together = [Lab(Config(seed=i, learning_rate=0.01 * (i + 1)), CUDA) for i in range(4)]
    alone = [copy.deepcopy(lab) for lab in together]
    Lab.step_together(together, 60)
    for lab in alone:
        lab.step(60)
    for a, b in zip(together, alone):
        assert (a.step_count, a.epoch) == (b.step_count, b.epoch)
        assert a.metrics() == pytest.approx(b.metrics(), rel=1e-4)
        for pa, pb in zip(a.model.parameters(), b.model.parameters()):
            torch.testing.assert_close(pa, pb, rtol=1e-4, atol=1e-5)


def test_statistics_copy_the_gpu_tensors_to_the_host_once() -> None:
    from descent.nn import stats

    tensors = [torch.randn(4, 3, device=CUDA), None, torch.randn(7, device=CUDA)]
    arrays = stats.on_host(tensors)
    assert arrays[1] is None
    assert all((a == t.cpu().numpy()).all() for a, t in zip(arrays, tensors) if t is not None)
    assert stats.norms(tensors) == pytest.approx([float(t.norm()) if t is not None else 0.0 for t in tensors], rel=1e-5)
