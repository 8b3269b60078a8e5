"""The Adam family written out as torch.optim.Optimizers, for what torch.optim lacks:
Adam/AdamW with bias correction switched off (to show why it exists) and Yogi.

State names match torch.optim.Adam (``exp_avg``, ``exp_avg_sq``, ``step``) so views that
read optimizer state treat them alike."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import Optimizer


class Moments(Optimizer):
    """Adam: m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
    p -= lr * m_hat / (sqrt(v_hat) + eps), with m_hat = m / (1-b1^t), v_hat = v / (1-b2^t)
    when ``bias_correction`` (else m_hat = m, v_hat = v).
    ``decoupled`` applies weight decay as p *= 1 - lr*wd (AdamW) instead of g += wd*p."""

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled: bool = False,
        bias_correction: bool = True,
    ) -> None:
        if lr < 0 or eps <= 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1) or weight_decay < 0:
            raise ValueError(f"invalid hyper-parameters lr={lr} betas={betas} eps={eps} weight_decay={weight_decay}")
        defaults = dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, decoupled=decoupled, bias_correction=bias_correction
        )
        super().__init__(params, defaults)

    def second_moment(self, v: torch.Tensor, g2: torch.Tensor, beta2: float) -> None:
        """Leaky average of g^2, in place (Yogi overrides this)."""
        v.mul_(beta2).add_(g2, alpha=1 - beta2)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                state = self.state[p]
                if not state:
                    state["step"] = torch.tensor(0.0)
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = int(state["step"])
                if wd:
                    if group["decoupled"]:
                        p.mul_(1 - lr * wd)
                    else:
                        g = g.add(p, alpha=wd)
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_(g, alpha=1 - beta1)
                self.second_moment(v, g * g, beta2)
                if group["bias_correction"]:
                    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
                else:
                    m_hat, v_hat = m, v
                p.addcdiv_(m_hat, v_hat.sqrt().add_(eps), value=-lr)
        return loss


class Yogi(Moments):
    """Yogi (Zaheer et al. 2018): Adam with an additive second-moment update,
    v = v - (1-b2) * sign(v - g^2) * g^2, so v changes by at most (1-b2) g^2 per step and
    cannot be blown up (or collapse) by one large gradient the way Adam's leaky average can.
    v starts at 0, so the first step equals Adam's."""

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        lr: float = 1e-2,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-3,
        weight_decay: float = 0.0,
        bias_correction: bool = True,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, decoupled=False, bias_correction=bias_correction)

    def second_moment(self, v: torch.Tensor, g2: torch.Tensor, beta2: float) -> None:
        v.addcmul_(torch.sign(v - g2), g2, value=-(1 - beta2))
