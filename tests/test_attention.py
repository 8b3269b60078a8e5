"""The attention lab: the attention formula, the tasks, training on reverse, config errors, the probe."""

from __future__ import annotations

import base64
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from pydantic import ValidationError

from descent.history import Cursor
from descent.labs.attention.lab import Lab, head_entropy
from descent.labs.attention.model import Transformer, attention_weights, causal_mask, masked_loss
from descent.labs.attention.positional import POSITIONAL
from descent.labs.attention.schema import Config, ProbeReply
from descent.labs.attention.tasks import IGNORE, TASKS, make_task
from descent.labs.attention.timelapse import Timelapse
from descent.nn.schedules import schedule_curve

CPU = torch.device("cpu")


def decode(maps: dict) -> np.ndarray:
    data = np.frombuffer(base64.b64decode(maps["data"]), dtype=np.uint8)
    return data.reshape(maps["shape"]).astype(np.float32) / 255


# ---- the attention formula ------------------------------------------------------------


@pytest.mark.parametrize("positional", POSITIONAL.names())
@pytest.mark.parametrize("causal", [False, True])
def test_rows_sum_to_one_and_mask_is_respected(positional: str, causal: bool) -> None:
    torch.manual_seed(0)
    model = Transformer(vocab=12, max_len=17, d_model=32, heads=4, layers=3, ffn=32, positional=positional, causal=causal)
    _, maps = model(torch.randint(0, 12, (5, 17)))  # (L, B, H, T, T)
    assert maps.shape == (3, 5, 4, 17, 17)
    torch.testing.assert_close(maps.sum(-1), torch.ones(3, 5, 4, 17))
    assert (maps >= 0).all()
    future = causal_mask(17).expand_as(maps)
    if causal:
        assert (maps[future] == 0).all()
    else:
        assert (maps[future] > 0).any()


def test_attention_matches_torch_sdpa() -> None:
    """softmax(QK^T/sqrt(d)) V with our weights equals PyTorch's fused attention."""
    torch.manual_seed(1)
    q, k, v = torch.randn(3, 2, 4, 9, 8).unbind(0)  # (B, H, T, d)
    for causal in (False, True):
        w = attention_weights(q, k, causal_mask(9) if causal else None)
        expected = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        torch.testing.assert_close(w @ v, expected)


def test_rope_scores_depend_on_relative_position_only() -> None:
    rope = POSITIONAL["rope"].fn(16, 8, 20)
    q = torch.randn(1, 1, 1, 8).expand(1, 1, 20, 8)
    k = torch.randn(1, 1, 1, 8).expand(1, 1, 20, 8)
    rq, rk = rope.rotate(q, k)
    scores = (rq @ rk.transpose(-2, -1))[0, 0]  # (T, T): same vectors at every position
    for offset in (0, 1, 5):
        diagonal = torch.diagonal(scores, offset)
        torch.testing.assert_close(diagonal, diagonal[0].expand_as(diagonal))


def test_masked_loss_and_entropy_match_the_formulas() -> None:
    logits = torch.randn(2, 5, 7)
    targets = torch.tensor([[IGNORE, 1, 2, IGNORE, 3], [0, IGNORE, IGNORE, 6, 5]])
    logp = logits.log_softmax(-1)
    picked = [logp[b, t, targets[b, t]] for b in range(2) for t in range(5) if targets[b, t] != IGNORE]
    torch.testing.assert_close(masked_loss(logits, targets), -torch.stack(picked).mean())
    uniform = torch.full((1, 1, 1, 4, 4), 0.25)  # (L, B, H, T, T)
    torch.testing.assert_close(head_entropy(uniform), torch.full((1, 1), math.log(4)))
    one_hot = torch.eye(4).expand(1, 1, 1, 4, 4)
    torch.testing.assert_close(head_entropy(one_hot), torch.zeros(1, 1))


# ---- tasks ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TASKS.names())
def test_tasks_generate_scored_sequences(name: str) -> None:
    task = make_task(name, 6, 7)
    tokens, targets = task.generate(np.random.default_rng(0), 4)
    assert tokens.shape == targets.shape == (4, task.seq_len)
    assert tokens.max() < len(task.vocab) and tokens.min() >= 0
    scored = targets != IGNORE
    assert scored.any(axis=1).all()
    assert targets[scored].max() < len(task.vocab)


def test_reverse_task_answers_and_ideal_map() -> None:
    task = make_task("reverse", 4, 10)
    tokens, targets = task.generate(np.random.default_rng(0), 3)
    for seq, tgt in zip(tokens, targets):
        assert list(tgt[5:]) == list(seq[:4][::-1])
        assert (tgt[:5] == IGNORE).all()
    ideal = task.ideal(list(tokens[0]))
    assert ideal.shape == (9, 9)
    assert [int(np.argmax(ideal[5 + i])) for i in range(4)] == [3, 2, 1, 0]


def test_induction_targets_repeat_the_prefix() -> None:
    task = make_task("induction", 5, 8)
    tokens, targets = task.generate(np.random.default_rng(0), 2)
    assert (tokens[:, :5] == tokens[:, 5:]).all()
    assert (targets[:, 5:9] == tokens[:, 6:]).all()


# ---- training ---------------------------------------------------------------------------


def anti_diagonal_mass(lab: Lab) -> float:
    """The largest, over heads, mean weight that answer slot i puts on input position n-1-i."""
    _, maps = lab._run(lab.eval_tokens)  # (L, B, H, T, T)
    n = lab.config.length
    rows = torch.arange(n + 1, 2 * n + 1)
    cols = n - 1 - torch.arange(n)
    mass = maps[:, :, :, rows, cols].mean(dim=(1, 3))  # (L, H)
    return float(mass.max())


def test_reverse_is_learned_and_a_head_reads_the_mirrored_position() -> None:
    torch.set_num_threads(1)
    lab = Lab(Config(), CPU)
    assert lab.metrics()["test_accuracy"] < 0.5
    before = anti_diagonal_mass(lab)
    while lab.metrics()["test_accuracy"] < 0.99 and lab.step_count < 1000:
        lab.step(20)
    assert lab.metrics()["test_accuracy"] >= 0.99, lab.metrics()
    mass = anti_diagonal_mass(lab)
    assert mass > 0.6 and mass > 3 * before, (before, mass)
    samples = lab.views(False)["samples"]
    assert all(s["output"] == s["input"][::-1] for s in samples)


def test_perplexity_is_exp_of_the_test_loss() -> None:
    lab = Lab(Config(task="sort", length=5), CPU)
    lab.step(40)
    m = lab.metrics()
    assert m["perplexity"] == pytest.approx(math.exp(m["test_loss"]), rel=1e-12)
    logits, _ = lab._run(lab.eval_tokens)
    assert m["test_loss"] == pytest.approx(float(F.cross_entropy(logits.flatten(0, 1), lab.eval_targets.flatten())), rel=1e-5)


def test_history_carries_losses_lr_and_head_entropies() -> None:
    lab = Lab(Config(layers=1, heads=4, d_model=16, ffn=16), CPU)
    lab.step(60)
    assert lab.history.x == [0, 1, 2, 3]
    names = [f"entropy_1_{h}" for h in range(1, 5)]
    assert lab.views(False)["heads"] == names
    for name in names:
        assert all(0 <= v <= math.log(17) + 1e-6 for v in lab.history.series[name])
    assert lab.history.series["lr"] == [0.003] * 4


def test_schedule_drives_the_lr_and_the_planned_curve() -> None:
    cfg = Config(schedule="cosine", horizon=100, learning_rate=0.01, min_lr=0.001)
    lab = Lab(cfg, CPU)
    curve = schedule_curve(cfg, 0.01, 100)
    lab.step(40)
    assert lab.lr == pytest.approx(curve[40])
    planned = lab.views(True)["schedule"]
    assert planned["lr"][0] == pytest.approx(0.01) and planned["steps"][-1] == 99
    # changing the LR keeps the network and continues the schedule at the current step
    weights = lab.model.head.weight.clone()
    assert lab.configure(cfg.model_copy(update={"learning_rate": 0.02})) == "none"
    assert torch.equal(lab.model.head.weight, weights)
    assert lab.lr == pytest.approx(schedule_curve(cfg, 0.02, 100)[40])


def test_configure_rebuilds_only_what_changed() -> None:
    cfg = Config()
    lab = Lab(cfg, CPU)
    lab.step(20)
    assert lab.configure(cfg.model_copy(update={"dropout": 0.2})) == "none"
    assert lab.step_count == 20
    assert all(m.p == 0.2 for m in lab.model.modules() if isinstance(m, torch.nn.Dropout))
    assert lab.configure(Config(dropout=0.2, example=3)) == "none"
    assert lab.views(False)["timelapse"]["reset"] is True
    assert lab.configure(Config(dropout=0.2, example=3, heads=4)) == "network"
    assert lab.step_count == 0 and decode(lab.views(False)["maps"]).shape == (2, 4, 17, 17)


def test_timelapse_is_bounded_and_sent_once() -> None:
    tl = Timelapse(cap=8)
    cursor = Cursor()
    for epoch in range(100):
        tl.add(epoch, np.full((1, 1, 2, 2), epoch % 256, dtype=np.uint8))
        assert len(tl.epochs) < 8
    assert tl.epochs == sorted(tl.epochs) and tl.epochs[0] == 0
    first = tl.since(cursor)
    assert first["reset"] and len(first["frames"]) == len(tl.epochs)
    assert tl.since(cursor) is None
    tl.add(100, np.zeros((1, 1, 2, 2), dtype=np.uint8))
    tl.add(101, np.zeros((1, 1, 2, 2), dtype=np.uint8))
    nxt = tl.since(cursor)
    assert nxt is None or (not nxt["reset"] and nxt["epochs"][-1] <= 101)


def test_views_maps_are_the_models_weights() -> None:
    lab = Lab(Config(task="copy", length=4), CPU)
    lab.step(20)
    views = lab.views(True)
    maps = decode(views["maps"])
    _, expected = lab._run(lab.eval_tokens[:1])
    np.testing.assert_allclose(maps, expected[:, 0].numpy(), atol=1 / 255)
    assert views["maps"]["tokens"][4:] == ["|", "_", "_", "_", "_"]
    ideal = decode({"data": views["ideal"], "shape": [9, 9]})
    assert ideal[5:, :4].tolist() == np.eye(4).tolist()


# ---- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "patch, words",
    [
        ({"heads": 3}, ["heads 3 does not divide d_model 32", "[1, 2, 4, 8]"]),
        ({"task": "text"}, ["needs causal: true"]),
        ({"task": "reverse", "length": 20}, ["length 20", "2-16"]),
        ({"positional": "rope", "d_model": 24, "heads": 8}, ["rope needs an even head width"]),
        ({"d_model": 12}, ["multiple of 8"]),
        ({"layers": 5}, ["less than or equal to 4"]),
        ({"positional": "alibi"}, ["'sinusoidal', 'learned', 'rope' or 'none'"]),
        ({"schedule": "warmup_cosine", "horizon": 40, "warmup_steps": 50}, ["warmup_steps 50"]),
    ],
)
def test_bad_configs_name_the_allowed_values(patch: dict, words: list[str]) -> None:
    with pytest.raises(ValidationError) as e:
        Config(**patch)
    for w in words:
        assert w in str(e.value)


def test_probe_answers_and_rejects_bad_tokens() -> None:
    lab = Lab(Config(task="reverse", length=4), CPU)
    lab.step(20)
    reply = lab.command("probe", {"tokens": "1 2 3 4"})
    ProbeReply.model_validate(reply)
    assert reply["maps"]["tokens"] == ["1", "2", "3", "4", "|", "_", "_", "_", "_"]
    assert len(reply["output"]) == 4 and len(reply["predictions"]) == 9
    assert decode(reply["maps"]).shape == (2, 2, 9, 9)
    assert reply["ideal"] is not None
    with pytest.raises(ValueError, match=r"'x' is not in the reverse vocabulary; allowed: 0 1 2 3 4 5 6 7 8 9"):
        lab.command("probe", {"tokens": "12x4"})
    with pytest.raises(ValueError, match="exactly 4 tokens"):
        lab.command("probe", {"tokens": "12345"})
    with pytest.raises(ValueError, match="args.tokens"):
        lab.command("probe", {"tokens": 5})
    with pytest.raises(ValueError, match="allowed: probe"):
        lab.command("nope", {})


def test_probe_on_text_and_modadd() -> None:
    lab = Lab(Config(task="text", causal=True, length=16), CPU)
    reply = lab.command("probe", {"tokens": "the river "})
    assert reply["maps"]["shape"] == [2, 2, 10, 10] and len(reply["output"]) == 1
    assert reply["continuation"][0] == reply["output"] and len(reply["continuation"]) == 24
    ProbeReply.model_validate(reply)
    with pytest.raises(ValueError, match="at most 16"):
        lab.command("probe", {"tokens": "the river and the mill"})
    with pytest.raises(ValueError, match="not in the text vocabulary"):
        lab.command("probe", {"tokens": "THE"})
    lab = Lab(Config(task="modadd", symbols=7), CPU)
    reply = lab.command("probe", {"tokens": "3+5"})
    assert reply["maps"]["tokens"] == ["3", "+", "5", "="] and len(reply["output"]) == 1
    with pytest.raises(ValueError, match="two numbers"):
        lab.command("probe", {"tokens": "3++"})


def test_timelapse_memory_is_bounded_for_the_largest_maps() -> None:
    lab = Lab(Config(layers=4, heads=8, d_model=32, ffn=8, length=16, batch_size=1), CPU)
    for epoch in range(200):
        lab.epoch = epoch
        lab._capture()  # what every epoch end keeps; the bound does not depend on training
    assert lab.timelapse.nbytes <= 512 * 1024 and len(lab.timelapse.epochs) >= 8


@pytest.mark.parametrize(
    "patch",
    [
        {"norm": "post"},
        {"ffn_activation": "gelu", "dropout": 0.1},
        {"positional": "sinusoidal", "optimizer": "sgd", "learning_rate": 0.1},
        {"positional": "rope", "schedule": "onecycle", "horizon": 200},
        {"positional": "none", "causal": True, "layers": 1, "heads": 8},
        {"task": "induction", "causal": True, "length": 4},
        {"task": "text", "causal": True, "length": 12},
        {"task": "modadd", "symbols": 5},
    ],
)
def test_every_option_trains_and_lowers_the_loss(patch: dict) -> None:
    lab = Lab(Config(**patch), CPU)
    first = lab.metrics()["test_loss"]
    lab.step(60)
    assert lab.diverged is None
    assert lab.metrics()["test_loss"] < first


def test_divergence_stops_the_run_and_frames_stay_valid_json() -> None:
    import json

    lab = Lab(Config(optimizer="sgd", learning_rate=10), CPU)
    lab.step(200)
    assert lab.diverged and "nan" in lab.diverged and lab.step_count < 200
    assert lab.metrics()["test_loss"] is None and lab.metrics()["perplexity"] is None
    json.dumps(lab.views(True), allow_nan=False)
    json.dumps(lab.history.since(Cursor()), allow_nan=False)
    lab.reset()
    assert lab.diverged is None and lab.step_count == 0


@pytest.mark.parametrize(
    "patch",
    [{}, {"positional": "rope", "norm": "post"}, {"task": "text", "causal": True, "length": 32, "layers": 4, "heads": 8, "d_model": 128, "ffn": 512}, {"task": "modadd", "symbols": 13, "positional": "none"}],
)
def test_parameter_count_formula_matches_the_model(patch: dict) -> None:
    cfg = Config(**patch)
    lab = Lab(cfg, CPU)
    assert Lab.parameter_count(cfg) == sum(p.numel() for p in lab.model.parameters() if p.requires_grad)


def test_any_valid_config_builds_trains_and_shows() -> None:
    """Random valid setups (hypothesis): build, train a few steps, views are JSON, a probe of a
    held-out input answers."""
    import json

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @st.composite
    def configs(draw: st.DrawFn) -> Config:
        task = draw(st.sampled_from(TASKS.names()))
        meta = TASKS[task].meta
        heads = draw(st.sampled_from([1, 2, 4, 8]))
        d_model = draw(st.sampled_from([8, 16, 32]))  # small: the largest model is built elsewhere
        positional = draw(st.sampled_from(POSITIONAL.names()))
        if positional == "rope" and (d_model // heads) % 2:
            positional = "learned"  # rope needs an even head width (a config error, tested above)
        return Config(
            task=task,
            length=draw(st.integers(2, meta.get("max_length", 32))),
            symbols=draw(st.integers(2, 32)),
            layers=draw(st.integers(1, 4)),
            heads=heads,
            d_model=d_model,
            ffn=draw(st.sampled_from([8, 64])),
            positional=positional,
            causal=True if meta.get("causal_only") else draw(st.booleans()),
            norm=draw(st.sampled_from(["pre", "post"])),
            ffn_activation=draw(st.sampled_from(["relu", "gelu"])),
            dropout=draw(st.sampled_from([0.0, 0.5])),
            batch_size=draw(st.integers(1, 8)),
            example=draw(st.integers(0, 15)),
        )

    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(configs())
    def check(cfg: Config) -> None:
        lab = Lab(cfg, CPU)
        lab.step(3)
        views = lab.views(True)
        json.dumps(views, allow_nan=False)
        assert decode(views["maps"]).shape == (cfg.layers, cfg.heads, lab.task.seq_len, lab.task.seq_len)
        assert Lab.parameter_count(cfg) == sum(p.numel() for p in lab.model.parameters())
        reply = lab.command("probe", {"tokens": views["samples"][0]["input"]})
        json.dumps(reply, allow_nan=False)

    check()
