"""Where training runs: a thread that owns its sessions' labs, never the event loop (one
per worker process, see processes.py; or one in the server process).

Sessions are served round-robin in rounds held near ``round_time``: each running session
gets its share of the round, then the worker runs queued commands (messages from clients)
and sends the frames that are due. Running sessions of one shape (equal cohort keys: a
class on one preset) take their shares together, as one batched computation. A paused
session costs nothing: with nothing running, the thread sleeps until a command or a frame
is due.

Time, not counts, is what is shared: each round's elapsed time is credited to the sessions
that want the worker (``budget.Budget``), and all a session makes the worker do (steps, a
'step' control's epoch, commands, a frame's views) is paid from its own credit. A session
that spent more than its share (one costly step, a fork, heavy views) sits out until its
share has repaid it, so it slows only itself."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

import torch

from descent.runtime.cohort import tick_together
from descent.runtime.pressure import Pressure
from descent.runtime.session import Session

log = logging.getLogger(__name__)
T = TypeVar("T")


def room(running: int, limit: int) -> str | None:
    """Admission: None if one more session may start training, else why not (for the user).
    ``running`` counts places: a session whose steps cost more than a default one takes
    more (``Session.weight``)."""
    if running < limit:
        return None
    return (f"the server is full: the sessions training now take {running} places, at most {limit}; "
            "try again in a moment")


class Census:
    """How many sessions train in each worker process, and whether each is alive: shared
    memory, one slot per process, each written by its own process, so admission counts the
    whole server and the server's watchdog sees a process that is stuck.

    Alive means: its training thread is waiting for work (however long: nothing to do is not
    a fault) or started a round or a command within the stall time, and the process's main
    thread pulses each second (a process frozen whole, SIGSTOP, stops both)."""

    def __init__(self, counts: Any, beats: Any, index: int, waiting: Any = None, pulses: Any = None) -> None:
        self.counts = counts  # multiprocessing Arrays, one slot per worker process: ints ...
        self.beats = beats  # ... time.monotonic() when the thread last woke or began a round (system-wide clock)
        self.waiting = waiting  # ... 1 while the thread waits for work, else 0
        self.pulses = pulses  # ... time.monotonic() of the main thread's last pulse
        self.index = index

    def report(self, running: int) -> None:
        self.counts[self.index] = running
        self.beats[self.index] = time.monotonic()

    def wait(self, running: int) -> None:
        """The training thread waits for work: what runs now is counted (sessions paused or
        removed in the last round no longer are), and no stall is seen while it waits."""
        self.report(running)
        if self.waiting is not None:
            self.waiting[self.index] = 1

    def woke(self) -> None:
        self.beats[self.index] = time.monotonic()
        if self.waiting is not None:
            self.waiting[self.index] = 0

    def pulse(self) -> None:
        if self.pulses is not None:
            self.pulses[self.index] = time.monotonic()

    def others(self) -> int:
        return sum(self.counts) - self.counts[self.index]


class Worker:
    def __init__(self, quantum: float = 0.01, torch_threads: int = 1, max_running: int | None = None,
                 round_time: float = 1 / 35, min_quantum: float = 0.002, census: Census | None = None,
                 detail_every: int = 1) -> None:
        self.quantum = quantum  # the longest quantum (few sessions running)
        # Frames and control replies wait for the round to end, so the round, not the quantum,
        # is held near round_time: quanta shrink as more sessions run, but not below
        # min_quantum, where a quantum would be mostly bookkeeping. A busy round is its
        # training time plus the frames it sends, so round_time splits a full worker between
        # the two: 1/35 s gave a class of 50 on 2 cores ~37 epochs/s and ~17 frames/s each
        # (1/30: ~42 and ~15.5; 1/40: ~30 and ~18; docs/benchmarks.md).
        self.round_time = round_time
        self.min_quantum = min_quantum
        self.max_running = max_running  # None: no admission limit
        self.census = census  # the running sessions of other worker processes (admission counts all)
        self.torch_threads = torch_threads
        self.sessions: dict[str, Session] = {}
        self.pressure = Pressure(detail_every)  # frames give way first when this worker is short of time
        self._round_at = time.perf_counter()  # when the last round began (its elapsed time is shared out)
        self._commands: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="descent-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._commands.put(None)
        self._thread.join(timeout=5)

    # ---- from other threads ---------------------------------------------------------

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        self._commands.put((fn, future))
        return future

    def wake(self) -> None:
        self._commands.put(None)

    def add(self, session: Session) -> None:
        self.sessions[session.id] = session
        session.frames.pressure = self.pressure
        session.room = self.room

    def running(self) -> int:
        """Places the training sessions take now (``Session.weight``). (Read from the event
        loop too: a snapshot of attributes the worker writes, good enough for admission.)"""
        return sum(s.weight for s in list(self.sessions.values()) if s.running)

    def room(self) -> str | None:
        """None if one more session may start training, else why not (for the user)."""
        if self.max_running is None:
            return None
        return room(self.running() + (self.census.others() if self.census else 0), self.max_running)

    def remove(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)

    # ---- the thread -----------------------------------------------------------------

    def _run(self) -> None:
        torch.set_num_threads(self.torch_threads)
        while not self._stop.is_set():
            try:
                waiting = time.perf_counter()
                self._drain(self._wait_time())
                self.pressure.waited(time.perf_counter() - waiting)
                self._serve()
            except Exception as e:  # a fault of the worker itself, not of one session's lab
                self._crashed(e)

    def _crashed(self, error: BaseException) -> None:
        """The round broke outside any one session: every session is paused and told (reset
        restarts it), and the thread goes on serving."""
        log.error("worker round failed", exc_info=error)
        for session in list(self.sessions.values()):
            self._guarded(session, lambda s: s.fail(error))

    def revive(self) -> bool:
        """If the thread died (killed by a fault no round could catch), start another: its
        first act is to pause and tell every session it served (reset restarts each), then it
        serves as before. Called by the app's janitor each second; True if it had to."""
        if self._stop.is_set() or self._thread.ident is None or self._thread.is_alive():
            return False
        log.error("the worker thread died; starting another")
        stopped = RuntimeError("the training worker stopped and was restarted")
        self.submit(lambda: self._crashed(stopped))
        self._thread = threading.Thread(target=self._run, name="descent-worker", daemon=True)
        self._thread.start()
        return True

    def _credit(self, now: float) -> None:
        """The time since the last look, shared out among the sessions that want the worker.
        Asked before every decision that weighs credit (a frame, a quantum, how long to
        sleep), so the time a round spent working is earned before anyone waits for it: a
        lone session is never made to sit out its own step's time."""
        elapsed, self._round_at = now - self._round_at, now
        wanting = [s for s in self.sessions.values() if s.wants_time(now)]
        for session in wanting:
            session.budget.earn(elapsed / len(wanting), len(wanting))

    def _send_frames(self) -> None:
        now = time.perf_counter()
        self._credit(now)
        for session in list(self.sessions.values()):
            if session.frame_due(now) == 0.0:
                self._guarded(session, lambda s: s.send_frame(now))
        done = time.perf_counter()
        self.pressure.framed(done - now)
        self.pressure.update(done)

    def _serve(self) -> None:
        """One round: the frames due, a quantum of training for each session that has
        credit, then the frames due again. Frames go first too: a session whose steps cost
        more than its credit would otherwise spend each repayment on its next step and never
        send a frame. (Its locals end with it, so a removed session is not kept alive while
        the thread sleeps.)"""
        self._send_frames()
        sessions = list(self.sessions.values())
        training = [s for s in sessions if s.wants_training]
        if self.census:
            self.census.report(sum(s.weight for s in training if s.running))
        share = min(self.quantum, self.round_time / max(1, len(training)))  # each training session's time
        quantum = max(self.min_quantum, share)
        began = time.perf_counter()
        alone = self._train_cohorts(training, share)
        now = time.perf_counter()
        for session in alone:
            # a session whose next frame falls due within its quantum trains until then
            due = session.next_frame_in(now)
            budget = quantum if due is None else min(quantum, due)
            self._guarded(session, lambda s: s.tick(budget))
        self.pressure.trained(time.perf_counter() - began)
        del sessions, training, alone
        self._drain(0)  # what clients sent while the round trained shows in this round's frames
        self._send_frames()

    def _train_cohorts(self, sessions: list[Session], share: float) -> list[Session]:
        """Sessions that can train as one batched computation (equal cohort keys: a class
        running one preset) take their shares of the round together (``share`` each, or
        min_quantum for the whole cohort if that is more); returns the rest, to train alone.
        Should a batched step fail, its sessions train alone from then on (a fault of one
        lab then stays with that lab)."""
        cohorts: dict[Any, list[Session]] = {}
        alone: list[Session] = []
        for session in sessions:
            try:
                key = session.cohort_key()
            except Exception:
                key = None
            (alone if key is None else cohorts.setdefault(key, [])).append(session)
        for members in cohorts.values():
            if len(members) == 1:
                alone.extend(members)
                continue
            try:
                tick_together(members, max(share, self.min_quantum / len(members)))
            except Exception:
                log.exception("a batched step of %d sessions failed; they train alone from now on", len(members))
                for session in members:
                    session.solo = True
                alone.extend(members)
        return alone

    def _wait_time(self) -> float | None:
        """How long the thread may sleep: 0 if a session can train now, else until the next
        frame is due or a capped session may train again; None = until a command comes."""
        now = time.perf_counter()
        self._credit(now)
        waits = [w for s in self.sessions.values() for w in (s.train_wait(now), s.frame_due(now)) if w is not None]
        return min(waits) if waits else None

    def _drain(self, timeout: float | None) -> None:
        block = timeout is None or timeout > 0
        while True:
            if block and self.census:
                self.census.wait(self.running())
            try:
                item = self._commands.get(block=block, timeout=timeout if block else None)
            except queue.Empty:
                return
            finally:
                if block and self.census:
                    self.census.woke()
            block = False
            if item is None:
                continue
            fn, future = item
            item = None  # drop references before blocking again (see _serve)
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as e:  # reported to the caller
                future.set_exception(e)
            del fn, future

    def _guarded(self, session: Session, fn: Callable[[Session], None]) -> None:
        """``fn(session)``, now. A failing session is paused and told (reset restarts it);
        the worker and the other sessions go on."""
        try:
            fn(session)
        except Exception as e:
            try:
                session.fail(e)
            except Exception:  # even reporting failed (its client is gone): drop it
                log.exception("session %s: failure report failed", session.id)
                self.remove(session.id)
