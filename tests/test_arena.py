"""The descent arena: surfaces against finite differences, races against the SGD formula and
torch.optim, divergence, the minimum badge, config validation and pacing."""

from __future__ import annotations

import base64
import math
import time

import pytest
import torch
from pydantic import ValidationError

from descent.errors import describe
from descent.labs.arena.lab import Lab
from descent.labs.arena.schema import MAX_RACERS, Config, Racer, Views, lr_presets
from descent.labs.arena.surfaces import SURFACES, contains
from descent.labs.base import Pace
from descent.runtime.session import Session

CPU = torch.device("cpu")


def make(**values: object) -> Lab:
    return Lab(Config.model_validate(values), CPU)


@pytest.mark.parametrize("name", SURFACES.names())
def test_gradient_matches_central_differences(name: str) -> None:
    fn = SURFACES[name].fn
    x0, x1, y0, y1 = SURFACES[name].meta["window"]
    gen = torch.Generator().manual_seed(1)
    points = torch.rand(20, 2, generator=gen, dtype=torch.float64)
    points = torch.stack([x0 + (x1 - x0) * points[:, 0], y0 + (y1 - y0) * points[:, 1]], 1).requires_grad_(True)
    fn(points[:, 0], points[:, 1]).sum().backward()
    h = 1e-6
    for p, g in zip(points.detach(), points.grad):
        dx = (fn(p[0] + h, p[1]) - fn(p[0] - h, p[1])) / (2 * h)
        dy = (fn(p[0], p[1] + h) - fn(p[0], p[1] - h)) / (2 * h)
        assert torch.allclose(g, torch.stack([dx, dy]), rtol=1e-5, atol=1e-5 * (1 + float(g.abs().max())))


@pytest.mark.parametrize("name", SURFACES.names())
def test_known_minima_are_stationary_at_f_min(name: str) -> None:
    meta = SURFACES[name].meta
    fn = SURFACES[name].fn
    assert contains(name, meta["start"])
    for m in meta["minima"]:
        p = torch.tensor(m, dtype=torch.float64, requires_grad=True)
        value = fn(p[0], p[1])
        value.backward()
        assert contains(name, m)
        assert float(value.detach()) == pytest.approx(meta["f_min"], abs=1e-6)
        assert float(p.grad.norm()) < 1e-3


def test_sgd_race_follows_the_update_formula() -> None:
    lab = make(surface="bowl", start=[-2.0, 1.0], racers=[{"optimizer": "sgd", "learning_rate": 0.1}])
    lab.advance(3)
    w = torch.tensor([-2.0, 1.0], dtype=torch.float64)
    for _ in range(3):
        w = w - 0.1 * 2 * w  # grad of x² + y² is 2w
    racer = lab.views(False)["racers"][0]
    assert racer["point"] == pytest.approx(w.tolist())
    last = racer["last"]
    assert last["w_new"] == pytest.approx([a - 0.1 * g for a, g in zip(last["w_old"], last["grad"])])
    assert racer["grad"] == pytest.approx((2 * w).tolist())


def test_each_racer_uses_torch_optim_adam() -> None:
    lab = make(surface="rosenbrock", racers=[{"optimizer": "adam", "learning_rate": 0.05, "beta1": 0.8}])
    lab.advance(20)
    p = torch.tensor(SURFACES["rosenbrock"].meta["start"], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=0.05, betas=(0.8, 0.999))
    for _ in range(20):
        opt.zero_grad()
        SURFACES["rosenbrock"].fn(p[0], p[1]).backward()
        opt.step()
    racer = lab.views(False)["racers"][0]
    assert racer["point"] == pytest.approx(p.tolist(), rel=1e-12)
    assert racer["momentum"] == pytest.approx(opt.state[p]["exp_avg"].tolist(), rel=1e-12)


def test_bowl_small_lr_converges_and_reaches_the_minimum() -> None:
    lab = make(surface="bowl", racers=[{"optimizer": "sgd", "learning_rate": 0.1}])
    lab.advance(200)
    racer = lab.views(False)["racers"][0]
    assert racer["status"] == "racing" and lab.diverged is None
    assert math.hypot(*racer["point"]) < 1e-6
    # |w_t| = |w_0| * 0.8^t: the first t with |w_t| < tolerance (0.06) is the badge's step
    r0, tol = math.hypot(*SURFACES["bowl"].meta["start"]), lab.tolerance
    assert racer["reached"] == math.ceil(math.log(tol / r0) / math.log(0.8))


def test_bowl_lr_above_two_over_l_diverges() -> None:
    # f = x² + y²: L = 2, so SGD diverges for lr > 2/L = 1
    lab = make(surface="bowl", racers=[{"optimizer": "sgd", "learning_rate": 1.05}])
    lab.advance(500)
    assert lab.diverged and "diverged" in lab.diverged
    assert lab.step_count < 100  # stopped when it left the view, not after 500 steps
    assert lab.views(False)["racers"][0]["status"] == "diverged"


def test_one_diverged_racer_stops_while_the_others_race_on() -> None:
    lab = make(surface="bowl", racers=["sgd 1.2", "sgd 0.1"])
    lab.advance(100)
    fast, good = lab.views(False)["racers"]
    assert fast["status"] == "diverged" and "lr 1.2" in fast["reason"]
    assert good["status"] == "racing" and good["reached"] is not None
    assert lab.diverged is None and lab.step_count == 100
    series = lab.history.series
    assert series["x0"][-1] is None and series["x1"][-1] is not None  # the trajectory ends


def test_saddle_noise_kicks_sgd_off_the_ridge() -> None:
    on_ridge = {"surface": "saddle", "start": [-1.5, 0.0], "racers": ["sgd 0.1"]}
    still = make(**on_ridge)
    still.advance(100)
    assert still.views(False)["racers"][0]["point"][1] == 0.0  # the gradient has no y part on y = 0
    noisy = make(**on_ridge, noise=0.5)
    noisy.advance(100)
    assert abs(noisy.views(False)["racers"][0]["point"][1]) > 0.5  # off to one of the minima


def test_reset_replays_the_same_noisy_race() -> None:
    lab = make(surface="bowl", noise=1.0, racers=["sgd 0.05"])
    lab.advance(30)
    first = lab.views(False)["racers"][0]["point"]
    lab.reset()
    assert lab.step_count == 0
    lab.advance(30)
    assert lab.views(False)["racers"][0]["point"] == first


def test_schedule_applies_to_every_racer() -> None:
    lab = make(surface="bowl", racers=["sgd 0.1", "adam 0.2"], schedule="exponential", factor=0.5)
    lab.advance(3)
    assert [r["lr"] for r in lab.views(False)["racers"]] == pytest.approx([0.1 / 8, 0.2 / 8])


def test_configure_restarts_the_race_but_noise_and_speed_go_live() -> None:
    cfg = Config(surface="bowl", racers=[Racer(optimizer="sgd", learning_rate=0.01)])
    lab = Lab(cfg, CPU)
    lab.advance(10)
    assert lab.configure(cfg.model_copy(update={"noise": 0.5, "speed": 100})) == "none"
    assert lab.step_count == 10
    assert lab.configure(cfg.model_copy(update={"start": [1.0, 1.0]})) == "network"
    assert lab.step_count == 0 and lab.views(False)["racers"][0]["point"] == [1.0, 1.0]


def test_views_validate_and_the_grid_decodes() -> None:
    lab = make(surface="himmelblau")
    lab.advance(5)
    views = lab.views(True)
    Views.model_validate(views)
    grid = views["surface"]["grid"]
    raw = base64.b64decode(grid["data"])
    assert len(raw) == 2 * grid["resolution"] ** 2
    values = torch.frombuffer(bytearray(raw), dtype=torch.int16).to(torch.int32) & 0xFFFF
    assert int(values.min()) == 0 and int(values.max()) == 65535
    assert "surface" not in lab.views(False)


@pytest.mark.parametrize(
    "patch, where, names",
    [
        ({"surface": "volcano"}, "config.surface", "rosenbrock"),
        ({"surface": "bowl", "start": [4.0, 0.0]}, "config.start", "x in [-3, 3]"),
        ({"racers": ["sgd 0.1"] * (MAX_RACERS + 1)}, "config.racers", f"at most {MAX_RACERS}"),
        ({"racers": [{"optimizer": "sgd", "learning_rate": float("inf")}]}, "config.racers.0.learning_rate", "finite"),
        ({"racers": ["lbfgs 0.1"]}, "config.racers.0.optimizer", "adam"),
        ({"racers": []}, "config.racers", "at least 1"),
        ({"noise": -1}, "config.noise", "greater than or equal to 0"),
    ],
)
def test_bad_config_names_the_field_and_the_allowed_values(patch: dict, where: str, names: str) -> None:
    with pytest.raises(ValidationError) as info:
        Config.model_validate(patch)
    message, _ = describe(info.value, ("config",), Config)
    assert message.startswith(where) and names in message


def test_racer_text_form_round_trips() -> None:
    racer = Racer.model_validate("adam 0.1 beta1=0.8")
    assert (racer.optimizer, racer.learning_rate, racer.beta1) == ("adam", 0.1, 0.8)
    assert Racer.model_validate(racer.text()) == racer
    assert Config.model_validate({"start": "-1,2"}).start == [-1.0, 2.0]


def test_presets_show_the_four_regimes_on_the_bowl() -> None:
    outcomes = []
    for lr in lr_presets("bowl", "sgd").values():
        lab = make(surface="bowl", racers=[{"optimizer": "sgd", "learning_rate": lr}])
        lab.advance(60)
        outcomes.append((lab.views(False)["racers"][0]["reached"], lab.diverged is not None))
    (small, _), (good, _), (oscillating, _), (_, diverged) = outcomes
    assert small is None and good is not None and oscillating is not None and good < oscillating and diverged


def test_pace_runs_a_step_at_once_then_keeps_the_rate() -> None:
    pace = Pace(rate=200)
    assert pace.take(50) == 1  # a fresh start: one step now
    taken, started = 0, time.perf_counter()
    while time.perf_counter() - started < 0.2:
        taken += pace.take(50)
    # bounds, not timings: paced calls never run ahead of the clock
    assert 1 <= taken <= 200 * (time.perf_counter() - started) + 1


def test_a_paced_lab_says_when_its_next_step_is_due() -> None:
    # The worker sleeps until then (Session.train_wait), so the lab never sleeps on its thread.
    lab = make(surface="bowl", speed=1, racers=["sgd 0.1"])
    lab.step(5)  # a fresh start: one step
    assert lab.step_count == 1
    assert 0.5 < lab.due_in() <= 1.0
    lab.step(5)  # nothing due for a second
    # on a loaded machine the second call may come after the idle gap and count as a fresh
    # start (one step), but never as more
    assert lab.step_count <= 2


def test_paced_race_runs_in_a_real_session() -> None:
    session = Session("arena-test", CPU, lambda message: None)
    session.configure({"lab": "arena", "surface": "bowl", "speed": 100, "racers": ["sgd 0.01", "adam 0.1"]})
    session.control("play")
    started = time.perf_counter()
    for _ in range(100):
        session.budget.earn(0.01, 1)  # (the worker credits each round's time)
        session.tick(0.01)
    elapsed = time.perf_counter() - started
    assert session.state == "running"
    assert 1 <= session.lab.step_count <= 100 * elapsed + 1
