"""Guided lessons (frontend/lessons.json): every preset and step is a valid setup, what each
lesson tells the student to watch for really happens (real training), and the card works in
the page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from descent.history import Cursor
from descent.labs import LAB_NAMES, config_model, lab_class
from descent.labs.mlp.fork import FORKABLE
from descent.nn import stats
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
        if step.get("fork"):  # a step that starts a second run beside the main one
            assert set(step["fork"]) <= (FORKABLE if spec["lab"] == "mlp" else lab_class(spec["lab"]).comparable)
            model.model_validate({**config.model_dump(), **step["fork"]})


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


def warmup_fork() -> dict[str, Any]:
    return next(t["fork"] for t in LESSONS["warmup"]["tries"] if t.get("fork"))


def test_warmup_trains_where_a_constant_lr_never_learns() -> None:
    # the same network, batches and top LR: the main run at a constant LR, the fork with warmup
    lab = build("warmup")
    lab.command("fork", {"patch": warmup_fork()})
    lab.step(6 * lab.steps_per_epoch)
    assert lab.diverged is None and lab.fork.diverged is None
    constant = lab.history.since(Cursor())["series"]["test_loss"]
    warm = lab.fork.view(True)["history"]["series"]["test_loss"]
    assert len(constant) == len(warm) == 7
    for epoch in range(2, 7):  # from the second epoch on, at every epoch
        assert warm[epoch] < 0.05 and constant[epoch] > 0.3, (epoch, constant, warm)
    # why, as the card says: the constant LR's first steps killed every ReLU; no gradient flows
    assert all(n == 0 for n in stats.grad_norms(lab.weights)) and 0.4 < lab.metrics()["test_accuracy"] < 0.6
    assert all(n > 0 for n in stats.grad_norms(lab.fork.weights))


# Legend entries of the loss chart that cover its x-axis title ('epoch'): their names.
LEGEND_OVER_TITLE = """() => {
  const chart = document.querySelector('.loss-chart'), title = chart.querySelector('.xtitle').getBoundingClientRect();
  return [...chart.querySelectorAll('.legend .legendtext')].filter((e) => { const r = e.getBoundingClientRect();
    return r.left < title.right && title.left < r.right && r.top < title.bottom && title.top < r.bottom; })
    .map((e) => e.textContent);
}"""


def test_the_warmup_lesson_overlays_both_runs_on_the_loss_chart(page: Any) -> None:
    page.goto(page.base_url + "/?lesson=warmup")
    page.wait_for_selector(".lesson[data-lesson=warmup]")
    page.wait_for_function("() => location.hash.includes('dataset=gauss')")
    page.wait_for_function("() => Number(document.body.dataset.epoch ?? -1) === 0", timeout=30_000)
    page.click(".lesson [data-step='0']")  # the fork, from epoch 0: the same starting weights
    page.wait_for_selector("[data-ref=unfork]:not([hidden])")
    page.click("#play")
    # both curves up to epoch 6 (counted in epochs, not seconds), then pause
    drawn = "(name) => (document.querySelector('.loss-chart').data.find((t) => t.name === name)?.x ?? []).at(-1) >= 6"
    fork = f"fork: schedule {warmup_fork()['schedule']} (test)"
    page.wait_for_function(f"() => {{ const has = {drawn}; return has('test') && has('{fork}'); }}", timeout=120_000)
    page.click("#play")
    traces = page.evaluate("() => document.querySelector('.loss-chart').data.map((t) => ({name: t.name, x: t.x, y: t.y, color: t.line.color}))")
    by_name = {t["name"]: t for t in traces}
    constant, warm = by_name["test"], by_name[fork]
    for epoch in range(2, 7):  # what the card says: warmup near 0, the constant LR stays high
        c, w = constant["y"][constant["x"].index(epoch)], warm["y"][warm["x"].index(epoch)]
        assert w < 0.05 and c > 0.3, (epoch, c, w)
    # 'Gradient norm per layer' (the main run's) shows 0 in every layer, as the card says
    page.wait_for_function("() => { const n = document.querySelector('[data-ref=gradNorms]').innerText"
                           ".match(/\\d\\.\\de[+-]\\d+/g) ?? []; return n.length === 7 && n.every((v) => Number(v) === 0); }")
    text = " ".join(t["text"] for t in LESSONS["warmup"]["tries"])
    assert "purple" in text and warm["color"] == "#7048e8"  # the colour the card names
    page.wait_for_timeout(500)  # (the paced chart draws its last frame; only the picture waits for it)
    assert page.evaluate(LEGEND_OVER_TITLE) == []  # the five curves' names stay readable
    screenshot(page, "lesson_warmup_1280_light")
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.click("#theme")
    page.wait_for_function("() => document.documentElement.dataset.theme === 'dark'")
    page.wait_for_timeout(500)  # (the charts re-colour and re-lay out; only the picture waits for it)
    screenshot(page, "lesson_warmup_1920_dark")
    assert page.evaluate(LEGEND_OVER_TITLE) == []


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


def test_exploding_gradients_diverge_without_clipping_and_train_with_it() -> None:
    torch.set_num_threads(1)  # as the worker trains (two threads crawl on a loaded 2-core machine)
    wild = build("exploding-gradients")
    wild.step(2 * wild.steps_per_epoch)
    assert wild.diverged and "train loss became nan" in wild.diverged
    clipped = build("exploding-gradients", clip=True, max_norm=0.25)
    start = clipped.metrics()["test_loss"]
    clipped.step(10 * clipped.steps_per_epoch)
    assert clipped.diverged is None and clipped.metrics()["test_loss"] < 0.4 * start
    trace = clipped.views(False)["clip"]  # as the card says: before spikes past the line, after never
    assert max(trace["before"]) > 4 * 0.25 and max(trace["after"]) <= 0.25 + 1e-6


def test_the_first_conv_layer_learns_oriented_strokes_on_bars() -> None:
    """cnn-first-layer: in ten epochs test accuracy passes 95 % and the four 5x5 filters line up
    with bars: each filter's best cosine with a (mean-free) bar template of one orientation
    (4 orientations, 3 offsets) rises, on average, by 0.1 or more from the random start."""
    import numpy as np

    def bar_fit(weight: torch.Tensor) -> float:
        k = weight.shape[-1]
        t, templates = np.arange(k), []
        for off in (-1, 0, 1):
            for rows, cols in ((np.full(k, k // 2 + off), t), (t, np.full(k, k // 2 + off)), (t, np.clip(t + off, 0, k - 1)), (t, np.clip(k - 1 - t + off, 0, k - 1))):
                m = np.zeros((k, k), np.float32)
                m[rows, cols] = 1
                templates.append((m - m.mean()).ravel())
        bars = torch.from_numpy(np.stack(templates))
        bars = bars / bars.norm(dim=1, keepdim=True)
        f = weight[:, 0].flatten(1)
        f = f - f.mean(1, keepdim=True)
        f = f / f.norm(dim=1, keepdim=True)
        return float((f @ bars.T).abs().max(1).values.mean())

    lab = build("cnn-first-layer")
    assert lab.model.blocks[0].weight.shape == (4, 1, 5, 5)
    before = bar_fit(lab.model.blocks[0].weight.detach())
    lab.step(10 * lab.steps_per_epoch)
    assert lab.metrics()["test_accuracy"] > 0.95
    assert bar_fit(lab.model.blocks[0].weight.detach()) > before + 0.1
    assert "95 %" in LESSONS["cnn-first-layer"]["tries"][0]["text"]


def test_pooling_learns_shapes_anywhere_with_fewer_weights() -> None:
    """cnn-pooling: after 5 epochs on shapes, the flattened conv net (4,692 weights) is below
    90 % test accuracy while the pooled one (700 weights) passes 95 %; and moving every test
    image by two pixels (8 directions) changes fewer of the pooled net's answers."""
    def shifted_agreement(lab: Any) -> float:
        lab.model.eval()
        with torch.no_grad():
            x = lab.test_x
            base = lab.model(x)[0].argmax(-1)
            same = [(lab.model(torch.roll(x, (dy, dx), (2, 3)))[0].argmax(-1) == base).float().mean()
                    for dy in (-2, 0, 2) for dx in (-2, 0, 2) if (dy, dx) != (0, 0)]
        lab.model.train()
        return float(torch.stack(same).mean())

    spec = LESSONS["cnn-pooling"]
    flat = build("cnn-pooling")
    pooled = build("cnn-pooling", **spec["tries"][1]["patch"])
    assert (flat.parameter_total(), pooled.parameter_total()) == (4692, 700)
    for lab in (flat, pooled):
        lab.step(5 * lab.steps_per_epoch)
    assert flat.metrics()["test_accuracy"] < 0.9 < 0.95 < pooled.metrics()["test_accuracy"]
    assert shifted_agreement(pooled) > shifted_agreement(flat) + 0.1
    assert "4,692" in spec["tries"][0]["text"] and "700" in spec["tries"][1]["text"] and "95 %" in spec["tries"][1]["text"]


def test_the_rnn_forgets_where_the_lstm_remembers() -> None:
    """rnn-memory: on the 60-step delay task the RNN stays near chance (25%) while an LSTM
    beside it, on the same sequences (the lesson's second step), learns it."""
    spec = LESSONS["rnn-memory"]
    lab = build("rnn-memory")
    fork = next(t["fork"] for t in spec["tries"] if t.get("fork"))
    lab.command("fork", {"patch": fork})
    for _ in range(15):
        lab.train_steps(lab.steps_per_epoch)
        if lab.twin.run.metrics()["test_accuracy"] >= 0.95:
            break
    assert lab.twin.run.metrics()["test_accuracy"] >= 0.95, lab.twin.run.history.series["test_accuracy"]
    lab.train_steps(10 * lab.steps_per_epoch)  # the RNN gets more time than the LSTM needed, and still guesses
    accuracy = lab.history.series["test_accuracy"]
    assert max(accuracy) < 0.45, accuracy
    # what the card says to look at: the BPTT view's gradient falls by orders of magnitude toward t = 0
    norms = lab.views(False)["bptt"]["norms"][0]
    assert norms[0] < norms[-1] / 100, norms
    assert "25%" in spec["tries"][0]["text"] and "t = 0" in spec["tries"][0]["text"]
