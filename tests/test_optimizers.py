"""Every registered optimizer, step by step, against its update formula written out here
(and the hand-written Adam family against torch.optim itself)."""

from __future__ import annotations

import math

import pytest
import torch
from pydantic import ValidationError

from descent.nn.moments import Moments, Yogi
from descent.nn.optimizers import OPTIMIZERS, OptimizerParams

LR = 0.05
HP = OptimizerParams(momentum=0.8, beta1=0.8, beta2=0.9, rho=0.7, eps=1e-3, weight_decay=0.1)
STEPS = 6


def gradient(p: torch.Tensor, t: int) -> torch.Tensor:
    """A gradient that depends on the parameters and changes sign pattern over time."""
    gen = torch.Generator().manual_seed(100 + t)
    return torch.sin(3 * p) + p + torch.randn(p.shape, generator=gen, dtype=p.dtype)


def start() -> torch.Tensor:
    return torch.randn(5, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def reference(name: str, hp: OptimizerParams, lr: float = LR) -> list[torch.Tensor]:
    """Parameters after each step, from the textbook update rules (torch's conventions)."""
    p = start()
    m = torch.zeros_like(p)  # velocity / first moment / Adadelta's delta average
    v = torch.zeros_like(p)  # squared-gradient sum or average
    out = []
    for t in range(1, STEPS + 1):
        g = gradient(p, t)
        if name == "adamw":
            p = p * (1 - lr * hp.weight_decay)
        else:
            g = g + hp.weight_decay * p
        if name == "sgd":
            p = p - lr * g
        elif name in ("momentum", "nesterov"):
            m = g if t == 1 else hp.momentum * m + g
            p = p - lr * (g + hp.momentum * m if name == "nesterov" else m)
        elif name == "adagrad":
            v = v + g * g
            p = p - lr * g / (v.sqrt() + hp.eps)
        elif name == "rmsprop":
            v = hp.rho * v + (1 - hp.rho) * g * g
            p = p - lr * g / (v.sqrt() + hp.eps)
        elif name == "adadelta":
            v = hp.rho * v + (1 - hp.rho) * g * g
            delta = (m + hp.eps).sqrt() / (v + hp.eps).sqrt() * g
            m = hp.rho * m + (1 - hp.rho) * delta * delta
            p = p - lr * delta
        else:  # adam, adamw, yogi
            m = hp.beta1 * m + (1 - hp.beta1) * g
            if name == "yogi":
                v = v - (1 - hp.beta2) * torch.sign(v - g * g) * g * g
            else:
                v = hp.beta2 * v + (1 - hp.beta2) * g * g
            if hp.bias_correction:
                m_hat, v_hat = m / (1 - hp.beta1**t), v / (1 - hp.beta2**t)
            else:
                m_hat, v_hat = m, v
            p = p - lr * m_hat / (v_hat.sqrt() + hp.eps)
        out.append(p.clone())
    return out


def run(optimizer_factory, lr: float = LR) -> list[torch.Tensor]:
    p = start().requires_grad_(True)
    opt = optimizer_factory([p], lr)
    out = []
    for t in range(1, STEPS + 1):
        p.grad = gradient(p.detach(), t)
        opt.step()
        out.append(p.detach().clone())
    return out


def assert_trajectories_close(got: list[torch.Tensor], want: list[torch.Tensor]) -> None:
    for t, (a, b) in enumerate(zip(got, want), start=1):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11, msg=lambda m: f"step {t}: {m}")


def test_names_are_the_documented_ones() -> None:
    assert OPTIMIZERS.names() == (
        "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "yogi"
    )


@pytest.mark.parametrize("name", OPTIMIZERS.names())
@pytest.mark.parametrize("bias_correction", [True, False])
def test_matches_update_formula(name: str, bias_correction: bool) -> None:
    hp = HP.model_copy(update={"bias_correction": bias_correction})
    got = run(lambda params, lr: OPTIMIZERS[name].fn(params, lr, hp))
    assert_trajectories_close(got, reference(name, hp))
    assert not torch.equal(got[-1], start())  # it moved


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_uses_lists_exactly_the_fields_that_matter(name: str) -> None:
    """Changing a field in meta['uses'] changes the trajectory; any other field does not."""
    base = run(lambda params, lr: OPTIMIZERS[name].fn(params, lr, HP))
    changed = {"momentum": 0.5, "beta1": 0.5, "beta2": 0.5, "rho": 0.3, "eps": 0.2, "weight_decay": 0.3,
               "bias_correction": False}
    uses = OPTIMIZERS[name].meta["uses"]
    assert set(uses) <= set(OptimizerParams.model_fields)
    for field, value in changed.items():
        hp = HP.model_copy(update={field: value})
        other = run(lambda params, lr: OPTIMIZERS[name].fn(params, lr, hp))
        differs = not torch.allclose(other[-1], base[-1], rtol=0, atol=0)
        assert differs == (field in uses), f"{name}: field {field} in uses={uses} but differs={differs}"


@pytest.mark.parametrize("decoupled", [False, True])
def test_hand_written_adam_matches_torch(decoupled: bool) -> None:
    kw = dict(betas=(0.8, 0.9), eps=1e-3, weight_decay=0.1)
    torch_cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    got = run(lambda params, lr: Moments(params, lr=lr, decoupled=decoupled, **kw))
    want = run(lambda params, lr: torch_cls(params, lr=lr, **kw))
    assert_trajectories_close(got, want)


def test_yogi_first_step_equals_adam_then_differs() -> None:
    kw = dict(betas=(0.9, 0.99), eps=1e-8)
    yogi = run(lambda params, lr: Yogi(params, lr=lr, **kw))
    adam = run(lambda params, lr: torch.optim.Adam(params, lr=lr, **kw))
    torch.testing.assert_close(yogi[0], adam[0], rtol=1e-12, atol=1e-14)
    assert not torch.allclose(yogi[-1], adam[-1])


def test_without_bias_correction_adam_first_step_is_tiny_and_damped() -> None:
    """The reason bias correction exists: with m, v started at 0 the first step is
    lr * (1-b1) g / (sqrt(1-b2) |g|), i.e. lr * 0.1/0.0316 ~ 3.16 lr instead of lr."""
    p = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    for bias_correction, expected in ((True, 1.0), (False, 0.1 / math.sqrt(0.001))):
        p.data.fill_(1.0)
        hp = OptimizerParams(bias_correction=bias_correction, eps=1e-12)
        opt = OPTIMIZERS["adam"].fn([p], 0.01, hp)
        p.grad = torch.tensor([2.0], dtype=torch.float64)
        opt.step()
        assert float(1.0 - p.detach()) == pytest.approx(0.01 * expected, rel=1e-6)


def test_state_names_exist_after_a_step() -> None:
    """meta['state'] names the optimizer-state tensors the gradient views read."""
    for entry in OPTIMIZERS:
        p = torch.ones(3, requires_grad=True)
        opt = entry.fn([p], 0.1, OptimizerParams())
        p.grad = torch.ones(3)
        opt.step()
        for key in entry.meta.get("state", ()):
            assert opt.state[p][key].shape == p.shape, (entry.name, key)


@pytest.mark.parametrize(
    "field,value",
    [("beta1", 1.0), ("beta2", 1.5), ("eps", -1e-8), ("eps", 0.0), ("momentum", -0.1), ("rho", 1.0),
     ("weight_decay", 2.0)],
)
def test_out_of_range_names_field_and_range(field: str, value: float) -> None:
    with pytest.raises(ValidationError) as err:
        OptimizerParams(**{field: value})
    (e,) = err.value.errors()
    assert e["loc"] == (field,)
    assert any(word in e["msg"] for word in ("greater", "less"))
