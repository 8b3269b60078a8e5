"""The cluster's registry (runtime/rayregistry.py) as plain Python: where sessions are
placed, who may reclaim them, and what becomes of the sessions of a front end that died;
and one machine's app, which imports no Ray."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from bench.common import ROOT
from descent.runtime.rayregistry import DEAD_AFTER, Registry
from descent.settings import Settings


def made(registry: Registry, n: int, owner: str = "a", key: str | None = "x", first: int = 0) -> list[int]:
    """``n`` new sessions on preset ``key``; the actor each is placed on."""
    places = []
    for i in range(first, first + n):
        registry.publish(f"t{i}", f"s{i}", "10.0.0.1", owner)
        places.append(registry.place(f"s{i}", key))
    return places


def test_a_class_stays_on_one_actor_while_the_load_stays_near_even() -> None:
    r = Registry(actors=2, grace=60)
    assert made(r, 2, key="x") == [0, 0]  # a class of two: one cohort
    assert made(r, 2, key="y", first=2) == [1, 1]  # the next class on the other actor
    # a big class: its actor takes it while it holds at most a quarter of a share more, then the other one does
    places = made(r, 40, key="z", first=4)
    held = [list(r.where().values()).count(i) for i in (0, 1)]
    assert abs(held[0] - held[1]) <= 6, held  # (a quarter of a fair share of 22, rounded up)
    assert places[:2] == [0, 0] and set(places) == {0, 1}


def test_sessions_without_a_preset_go_to_the_least_loaded_actor() -> None:
    r = Registry(actors=3, grace=60)
    assert made(r, 6, key=None) == [0, 1, 2, 0, 1, 2]


def test_a_claimed_session_is_reclaimed_only_by_its_new_front_end() -> None:
    r = Registry(actors=2, grace=60)
    made(r, 1, owner="a")
    assert r.claim("t0", "b") == ("s0", "10.0.0.1", 0)
    assert r.claim("nope", "b") is None
    assert r.drop("s0", "a") is None  # the first front end's stale entry expired: the session lives on
    assert r.drop("s0", "b") == 0 and r.claim("t0", "a") is None


def test_a_dead_front_end_leaves_its_sessions_detached_then_reclaimed() -> None:
    r = Registry(actors=2, grace=60)
    made(r, 2, owner="a")
    r.attached("s0", "a", True)
    r.beat("a", now=0)
    assert r.beat("b", now=DEAD_AFTER) == []  # (not dead yet)
    assert r.beat("b", now=DEAD_AFTER + 1) == [(0, "detach", "s0")]  # attached to a front end that is gone
    r.claim("t1", "b")  # its client came back through b: no longer a's
    assert r.beat("b", now=DEAD_AFTER + 62) == [(0, "remove", "s0")]
    assert set(r.where()) == {"s1"}


def test_one_machine_imports_no_ray_and_the_address_turns_it_on() -> None:
    """``make run`` (no DESCENT_RAY_ADDRESS) builds its app without importing Ray; with the
    address set, the app's host is the Ray host (started only when the app starts)."""
    code = ("import sys; from descent.server.app import create_app; from descent.settings import Settings; "
            "create_app(Settings(worker_processes=0, device='cpu')); assert 'ray' not in sys.modules, 'ray imported'; "
            "app = create_app(Settings.from_env({'DESCENT_RAY_ADDRESS': 'auto', 'DESCENT_RAY_WORKERS': '3'})); "
            "print(type(app.state.host).__name__, app.state.settings.ray_workers)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "backend")})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["RayHost", "3"]


def test_a_bad_ray_address_is_refused_by_name() -> None:
    for good in ("auto", "10.0.0.5:6379", "ray://head:10001", "ray-head:6379"):
        assert Settings.from_env({"DESCENT_RAY_ADDRESS": good}).ray_address == good
    assert Settings.from_env({"DESCENT_RAY_ADDRESS": ""}).ray_address is None
    with pytest.raises(ValidationError, match="ray_address: 'auto', 'host:port' or 'ray://host:port'"):
        Settings.from_env({"DESCENT_RAY_ADDRESS": "http://head"})
