"""Each loss against its formula, and the prediction each one maps onto the label scale."""

from __future__ import annotations

import pytest
import torch

from descent.nn.losses import LOSSES, default_loss

torch.manual_seed(0)
Y = torch.tensor([-1.0, 1.0, 1.0, -1.0, 1.0])
OUT1 = torch.randn(5, 1) * 2
OUT2 = torch.randn(5, 2) * 2


def test_value_losses() -> None:
    e = OUT1[:, 0] - Y
    assert float(LOSSES["mse"].fn(OUT1, Y)) == pytest.approx(float(0.5 * (e**2).mean()))
    assert float(LOSSES["mae"].fn(OUT1, Y)) == pytest.approx(float(e.abs().mean()))
    huber = torch.where(e.abs() <= 1, 0.5 * e**2, e.abs() - 0.5).mean()
    assert float(LOSSES["huber"].fn(OUT1, Y)) == pytest.approx(float(huber))


def test_cross_entropies() -> None:
    t = (Y + 1) / 2
    p = torch.sigmoid(OUT1[:, 0])
    bce = -(t * p.log() + (1 - t) * (1 - p).log()).mean()
    assert float(LOSSES["bce"].fn(OUT1, Y)) == pytest.approx(float(bce), rel=1e-5)
    logp = OUT2.log_softmax(1)
    ce = -logp[torch.arange(5), (Y > 0).long()].mean()
    assert float(LOSSES["ce"].fn(OUT2, Y)) == pytest.approx(float(ce), rel=1e-5)


def test_predictions_on_label_scale() -> None:
    torch.testing.assert_close(LOSSES["bce"].meta["predict"](OUT1), 2 * torch.sigmoid(OUT1[:, 0]) - 1)
    soft = OUT2.softmax(1)
    torch.testing.assert_close(LOSSES["ce"].meta["predict"](OUT2), soft[:, 1] - soft[:, 0])
    torch.testing.assert_close(LOSSES["mse"].meta["predict"](OUT1), OUT1[:, 0])


def test_cross_entropy_over_k_classes() -> None:
    out, y = torch.randn(6, 4), torch.tensor([0.0, 3.0, 1.0, 2.0, 3.0, 0.0])  # multiclass labels: class indices
    expected = torch.nn.CrossEntropyLoss()(out, y.long())
    torch.testing.assert_close(LOSSES["ce"].fn(out, y), expected)


def test_meta() -> None:
    for entry in LOSSES:
        assert entry.meta["outputs"] in (1, "classes") and entry.meta["problems"]
    assert LOSSES["ce"].meta["outputs"] == "classes" and "regression" not in LOSSES["bce"].meta["problems"]
    assert [e.name for e in LOSSES if "multiclass" in e.meta["problems"]] == ["ce"]
    assert (default_loss("classification"), default_loss("regression"), default_loss("multiclass")) == ("mse", "mse", "ce")
