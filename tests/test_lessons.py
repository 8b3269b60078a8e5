"""Guided lessons (frontend/lessons.json): every preset and step is a valid setup, what each
lesson tells the student to watch for really happens (real training), and the card works in
the page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from descent import stats
from descent.labs import LAB_NAMES, config_model, lab_class
from tests.conftest import screenshot

LESSONS: dict[str, Any] = json.loads((Path(__file__).resolve().parents[1] / "frontend/lessons.json").read_text())
CPU = torch.device("cpu")


def build(lesson: str, **patch: Any) -> Any:
    preset = LESSONS[lesson]["preset"]
    config = config_model(preset["lab"]).model_validate({**preset, **patch})
    return lab_class(preset["lab"])(config, CPU)


@pytest.mark.parametrize("lesson", sorted(LESSONS))
def test_every_preset_and_step_is_a_valid_setup(lesson: str) -> None:
    spec = LESSONS[lesson]
    assert spec["lab"] in LAB_NAMES and spec["preset"]["lab"] == spec["lab"]
    model = config_model(spec["lab"])
    config = model.model_validate(spec["preset"])
    for step in spec["tries"]:
        assert step["text"]
        if step["patch"]:
            model.model_validate({**config.model_dump(), **step["patch"]})


def test_a_learning_rate_too_high_diverges() -> None:
    slow = build("lr-too-high")
    start = slow.metrics()["train_loss"]
    slow.step(3 * slow.steps_per_epoch)
    assert slow.diverged is None and slow.metrics()["train_loss"] < 0.5 * start
    wild = build("lr-too-high", learning_rate=10)
    wild.step(3 * wild.steps_per_epoch)
    assert wild.diverged and "learning rate 10" in wild.diverged


def test_the_symmetry_trap_keeps_units_identical() -> None:
    trapped = build("symmetry-trap")
    trapped.step(3 * trapped.steps_per_epoch)
    first = trapped.weights[0]  # (units, inputs)
    assert torch.equal(first, first[:1].expand_as(first))
    free = build("symmetry-trap", init="xavier")
    free.step(3 * free.steps_per_epoch)
    assert not torch.allclose(free.weights[0][0], free.weights[0][1])


def test_the_symmetry_trap_shows_one_bar_in_layer_2_and_two_in_layer_1() -> None:
    # what the card tells the student to look at: the weight histograms the page draws
    trapped = build("symmetry-trap")
    trapped.step(3 * trapped.steps_per_epoch)
    bars = [sum(1 for c in h["weights"]["counts"] if c) for h in trapped.views(False)["histograms"]]
    assert bars[1] == 1 and bars[0] == 2, bars
    assert "layer 2" in LESSONS["symmetry-trap"]["tries"][0]["text"]


def test_forgetting_zero_grad_visibly_hurts_within_six_steps() -> None:
    spec = LESSONS["backprop-by-hand"]
    forget = next(t["patch"] for t in spec["tries"] if t["patch"] and t["patch"].get("forget_zero_grad"))

    def losses(**patch: Any) -> list[float]:
        lab = build("backprop-by-hand", **{**forget, **patch})
        out = []
        for _ in range(6):
            lab.whole_step()
            out.append(lab.metrics()["loss"])
        return out

    wild, calm = losses(), losses(forget_zero_grad=False)
    assert all(b < a for a, b in zip(calm, calm[1:])), calm  # zero_grad: falls every step
    low = min(range(6), key=lambda i: wild[i])
    assert low < 5 and wild[-1] > 10 * wild[low] and wild[-1] > calm[-1] * 10, wild  # forgotten: back up


def test_vanishing_gradients_in_the_deep_sigmoid_net() -> None:
    deep = build("vanishing-gradients")
    deep.step(deep.steps_per_epoch)
    norms = stats.grad_norms(deep.weights)
    assert norms[0] < 1e-3 * norms[-1]
    fixed = build("vanishing-gradients", activation="relu", init="he")
    fixed.step(fixed.steps_per_epoch)
    norms = stats.grad_norms(fixed.weights)
    assert norms[0] > 0.1 * norms[-1]


def test_momentum_wins_the_ravine_at_the_same_lr() -> None:
    race = build("momentum")
    race.advance(600)
    sgd, momentum = (r["reached"] for r in race.views(False)["racers"])
    assert momentum is not None and sgd is not None and 3 * momentum < sgd
    edge = build("momentum", racers=["sgd 0.52", "momentum 0.05"])
    edge.advance(100)
    assert [r["status"] for r in edge.views(False)["racers"]][0] == "diverged"


def test_a_lesson_link_loads_the_preset_and_its_steps_apply(page: Any) -> None:
    page.goto(page.base_url + "/?lesson=symmetry-trap")
    page.wait_for_selector(".lesson[data-lesson=symmetry-trap]")
    assert "symmetry trap" in page.inner_text(".lesson strong").lower()
    page.wait_for_function("() => location.hash.includes('init=constant')")
    page.wait_for_function("() => Number(document.body.dataset.epoch ?? -1) >= 0")
    screenshot(page, "lesson_symmetry_1280")
    page.click(".lesson [data-step='1']")
    page.wait_for_function("() => location.hash.includes('init=xavier')")
    page.goto(page.base_url + "/?lesson=nope")
    assert "unknown lesson 'nope'" in page.wait_for_selector(".toast").inner_text()


def test_a_lesson_works_embedded_in_a_course_page(page: Any) -> None:
    from tests.test_hardening_browser import course_site

    course = f'<h3>Week 3: momentum</h3><iframe src="{page.base_url}/?lesson=momentum" width="1240" height="760"></iframe>'
    with course_site(course) as url:
        page.goto(url)
        frame = page.frame_locator("iframe")
        frame.locator(".lesson[data-lesson=momentum]").wait_for()
        inner = page.frames[1]
        inner.wait_for_function("() => location.hash.includes('surface=ravine')")
        frame.locator(".lesson [data-step='1']").click()
        inner.wait_for_function("() => location.hash.includes('sgd+0.45')")
        screenshot(page, "lesson_embedded")
