"""Work is budgeted by time (backend/descent/runtime/budget.py, session.py, worker.py): a 'step'
control's epoch is trained across rounds, a setup whose single step is too costly is
refused by formula or paused when measured, a session pays for what it makes the worker do
(a costly command puts it, not others, in debt), and admission counts places by measured
cost. Real labs and real training; nothing here waits on the machine's speed: each check
waits for events (messages in the order they were sent) or counts rounds."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest
import torch

from descent.labs.attention.lab import Lab as AttentionLab
from descent.labs.attention.schema import Config as AttentionConfig
from descent.protocol import Command, Configure, Control
from descent.runtime.session import Session
from descent.runtime.setups import MAX_WEIGHT
from descent.runtime.worker import Worker
from descent.settings import Settings

CPU = torch.device("cpu")
# an epoch of 1,080 batch-1 steps of a 6x8 layer-norm net: seconds of work for one 'step' press
SLOW_EPOCH = {"dataset": "spiral", "train_ratio": 90, "batch_size": 1, "hidden": [8] * 6, "norm": "layer"}
HUGE_ATTENTION = {"lab": "attention", "task": "text", "causal": True, "length": 32, "layers": 4, "heads": 8,
                  "d_model": 128, "ffn": 512, "batch_size": 256}
SEQUENCE = itertools.count()


class Inbox:
    """A session's send: every message kept with a number that orders it among all inboxes."""

    def __init__(self) -> None:
        self.messages: list[tuple[int, dict[str, Any]]] = []
        self.arrived = threading.Condition()
        self.session: Session | None = None  # frames are acked as soon as sent (a page that keeps up)

    def __call__(self, message: dict[str, Any]) -> None:
        with self.arrived:
            self.messages.append((next(SEQUENCE), message))
            self.arrived.notify_all()
        if message["type"] == "frame" and self.session is not None:
            self.session.ack()

    def wait(self, want: Any, timeout: float = 300.0) -> int:
        """The sequence number of the first message satisfying ``want`` (waits for it)."""
        with self.arrived:
            for _ in range(100_000):
                for number, message in self.messages:
                    if want(message):
                        return number
                if not self.arrived.wait(timeout):
                    break
        raise AssertionError("the message never came")

    def first(self, want: Any) -> dict[str, Any]:
        """The first message satisfying ``want`` (waits for it)."""
        number = self.wait(want)
        return next(m for n, m in self.messages if n == number)

    def frames(self, after: int, before: int) -> int:
        return sum(1 for n, m in self.messages if m["type"] == "frame" and after < n < before)


def make(worker: Worker, sid: str, settings: Settings | None = None) -> tuple[Session, Inbox]:
    inbox = Inbox()
    session = Session(sid, CPU, inbox, settings or Settings())
    inbox.session = session
    worker.submit(lambda: worker.add(session)).result()
    worker.submit(session.start).result()
    return session, inbox


def on(worker: Worker, fn: Any) -> Any:
    return worker.submit(fn).result()


@pytest.fixture
def worker() -> Any:
    w = Worker()
    w.start()
    yield w
    w.stop()


def test_a_step_press_trains_its_epoch_across_rounds_while_others_get_frames(worker: Worker) -> None:
    stepper, steps = make(worker, "stepper")
    bystander, watched = make(worker, "bystander")
    on(worker, lambda: stepper.handle(Configure(type="configure", config=SLOW_EPOCH)))
    on(worker, lambda: stepper.handle(Command(type="command", name="fork", args={"patch": {"learning_rate": 0.01}})))
    on(worker, lambda: bystander.handle(Control(type="control", action="play")))
    watched.wait(lambda m: m["type"] == "frame" and m["state"] == "running")
    pressed = next(SEQUENCE)
    on(worker, lambda: stepper.handle(Control(type="control", action="step")))
    done = steps.wait(lambda m: m["type"] == "status" and m["epoch"] == 1)
    # the old step ran the whole epoch inside the command: the bystander got no frame meanwhile
    assert watched.frames(pressed, done) >= 3
    assert stepper.state == "paused" and stepper.lab.step_count == stepper.lab.steps_per_epoch


def test_a_setup_whose_one_step_is_too_costly_is_refused_naming_the_sizes(worker: Worker) -> None:
    session, inbox = make(worker, "big")
    on(worker, lambda: session.handle(Configure(type="configure", config=HUGE_ATTENTION)))
    error = inbox.first(lambda m: m["type"] == "error")
    assert "multiply-adds" in error["message"] and error["loc"] == ["config"]
    for size in ("batch_size (256)", "length (32)", "d_model (128)", "ffn (512)", "layers (4)"):
        assert size in error["message"]
    assert session.lab.config.lab == "mlp" and not session.failed  # the last good setup stands
    # the same network with a small batch fits, and trains
    on(worker, lambda: session.handle(Configure(type="configure", config={**HUGE_ATTENTION, "batch_size": 4})))
    assert session.lab.config.lab == "attention"
    assert AttentionLab.step_work(AttentionConfig(**{**HUGE_ATTENTION, "batch_size": 4})) <= Settings().max_step_work


def test_step_work_of_the_largest_attention_setup_is_counted_like_the_issue_measured_it() -> None:
    """0.8 M parameters, batch 256 x length 32: about 2e10 multiply-adds a step (~3.5 s on
    one core of these machines), fifty times the default limit."""
    work = AttentionLab.step_work(AttentionConfig(**HUGE_ATTENTION))
    assert 1e10 < work < 4e10
    assert AttentionLab.step_work(AttentionConfig()) < Settings().max_step_work / 4  # the default is far inside


def test_a_session_whose_measured_steps_are_too_slow_is_paused_with_the_sizes_to_lower(worker: Worker) -> None:
    session, inbox = make(worker, "slow", Settings(max_step_seconds=1e-9))  # every step is "too slow"
    on(worker, lambda: session.handle(Control(type="control", action="play")))
    message = inbox.first(lambda m: m["type"] == "error" and "s is allowed" in m["message"])["message"]
    assert "batch_size" in message and "hidden" in message
    inbox.wait(lambda m: m["type"] == "status" and m["state"] == "paused" and m["reason"])
    assert session.state == "paused" and not session.failed


def test_a_costly_command_puts_only_its_session_in_debt() -> None:
    """A fork of a slow setup costs its session's credit: it sits out rounds until repaid,
    while the other session trains in every one of them (rounds served by hand)."""
    worker = Worker()  # not started: rounds are run here, one by one
    costly = Session("costly", CPU, lambda m: None)
    other = Session("other", CPU, lambda m: None)
    costly.handle(Configure(type="configure", config=SLOW_EPOCH))
    for s in (costly, other):
        worker.add(s)
        s.handle(Control(type="control", action="play"))
    costly.budget.spend(10.0)  # as if a command had just taken ten seconds of the worker
    before = (costly.lab.step_count, other.lab.step_count)
    for _ in range(20):
        worker._serve()
    assert costly.lab.step_count == before[0]  # still repaying
    assert other.lab.step_count > before[1]
    assert costly.train_wait(0.0) is not None and costly.budget.repaid_in() > 5


def test_sessions_with_long_steps_get_no_more_than_their_share(worker: Worker) -> None:
    """Three sessions whose steps take tens of milliseconds (a transformer near the step-work
    limit) and one playground on one worker: each should get about a quarter of its time.
    Were a long step started on any scrap of credit, the long steps would run nearly every
    round while the playground's quanta stayed short."""
    heavies = [make(worker, f"heavy{i}") for i in range(3)]
    light, _ = make(worker, "light")
    for heavy, _ in heavies:
        on(worker, lambda h=heavy: h.handle(Configure(type="configure", config={**HUGE_ATTENTION, "batch_size": 4})))
    for s in [h for h, _ in heavies] + [light]:
        on(worker, lambda s=s: s.handle(Control(type="control", action="play")))
    sessions = [h for h, _ in heavies] + [light]
    start = on(worker, lambda: [s.budget.spent for s in sessions])
    heavies[0][1].wait(lambda m: m["type"] == "frame" and m["step"] >= 12)
    used = [b - a for a, b in zip(start, on(worker, lambda: [s.budget.spent for s in sessions]))]
    assert used[3] > 0.4 * max(used[:3]), used  # (ideal: equal)


def test_every_message_and_frame_is_paid_from_the_session_credit() -> None:
    session = Session("s", CPU, lambda m: None)
    credit = session.budget.credit
    session.handle(Configure(type="configure", config={"hidden": [8, 8, 8]}))
    assert session.budget.credit < credit
    credit = session.budget.credit
    session.send_frame(0.0)
    assert session.budget.credit < credit


def test_admission_counts_a_costly_session_as_several_places(worker: Worker) -> None:
    heavy, _ = make(worker, "heavy")
    light, _ = make(worker, "light")
    transformer, _ = make(worker, "transformer")
    on(worker, lambda: heavy.handle(Configure(type="configure", config={**HUGE_ATTENTION, "batch_size": 4})))
    on(worker, lambda: transformer.handle(Configure(type="configure", config={"lab": "attention"})))
    for s in (heavy, light, transformer):
        on(worker, lambda s=s: s.handle(Control(type="control", action="play")))
    assert light.weight == 1  # the playground
    assert transformer.weight == 2  # the default transformer: ~6e7 multiply-adds a step
    assert heavy.weight == 7  # ~3.2e8 of the 4e8 allowed: 7 of MAX_WEIGHT places
    assert MAX_WEIGHT == 8
    assert on(worker, worker.running) == 10


def test_a_paced_race_waits_on_the_worker_not_in_the_lab() -> None:
    """The arena steps at a set rate for people to watch: between its steps the worker is
    free (the session says when the next is due) instead of the lab sleeping on its thread."""
    session = Session("race", CPU, lambda m: None)
    session.handle(Configure(type="configure", config={"lab": "arena", "speed": 2}))
    session.handle(Control(type="control", action="play"))
    session.budget.credit = session.budget.cap  # (building the lab was paid from it)
    session.tick(0.05)  # a fresh start: one step at once
    assert session.lab.step_count == 1
    session.tick(0.05)  # none due yet: nothing done, no time spent waiting for it
    assert session.lab.step_count == 1
    import time

    assert 0.2 < session.train_wait(time.perf_counter()) <= 0.5  # the next step is due in half a second


def test_a_lab_left_for_another_keeps_its_run_for_the_way_back() -> None:
    """Playground (spiral, 6-6) trained two epochs -> arena -> playground again with the
    setup the page kept: the same run comes back, weights, epoch and history."""
    session = Session("visit", CPU, lambda m: None)
    setup = {"lab": "mlp", "dataset": "spiral", "hidden": [6, 6]}
    session.configure(setup)
    session.lab.step(2 * session.lab.steps_per_epoch)
    run, weights = session.lab, [p.detach().clone() for p in session.lab.model.parameters()]
    session.configure({"lab": "arena"})
    assert session.lab.config.lab == "arena"
    session.configure(setup)
    assert session.lab is run and session.lab.epoch == 2 and len(session.lab.history.x) > 0
    for before, now in zip(weights, session.lab.model.parameters()):
        assert torch.equal(before, now)
    session.configure({"lab": "arena"})
    session.configure({**setup, "hidden": [3]})  # a changed setup: changed as within the lab (a new network)
    assert session.lab is run and session.lab.epoch == 0


def test_a_lone_session_whose_steps_outlast_its_credit_trains_on_and_sends_frames(worker: Worker) -> None:
    """Steps dearer than the credit cap (a transformer an operator allowed past the default
    limit; here a small one's, with a cap of a millisecond): alone on its worker the session
    earns back each step's time as it ends, so it neither sits out its own step's time nor
    spends each repayment on the next step before a frame could leave (it sent none)."""
    session, inbox = make(worker, "lone", Settings(credit_cap_seconds=1e-3))
    on(worker, lambda: session.handle(Configure(type="configure", config={**HUGE_ATTENTION, "batch_size": 4})))
    on(worker, lambda: session.handle(Control(type="control", action="play")))
    for step in (1, 5, 20):
        inbox.wait(lambda m, s=step: m["type"] == "frame" and m["step"] >= s, timeout=120)


def test_a_new_setup_starts_with_one_step_however_cheap_the_last_ones_were(worker: Worker) -> None:
    """The quantum is sized by the measured cost of a step; a setup that changed sizes has
    none yet, so its first quantum is one step (sized by the playground's old cost it was
    hundreds of transformer steps: seconds with the worker held)."""
    session, inbox = make(worker, "switch")
    on(worker, lambda: session.handle(Control(type="control", action="play")))
    inbox.wait(lambda m: m["type"] == "frame" and m["step"] >= 50)  # a playground step's cost is known
    ticks: list[int] = []

    def counted(budget: float, tick: Any = session.tick) -> None:
        before = session.lab.step_count
        tick(budget)
        ticks.append(session.lab.step_count - before)

    def switch() -> None:
        session.handle(Configure(type="configure", config={**HUGE_ATTENTION, "batch_size": 4}))
        session.tick = counted  # type: ignore[method-assign]

    on(worker, switch)
    inbox.wait(lambda m: m["type"] == "frame" and m.get("lab") == "attention" and m["step"] >= 3)
    assert [n for n in ticks if n][0] == 1, ticks
