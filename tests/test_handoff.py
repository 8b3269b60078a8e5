"""Calls handed to the event loop from other threads (server/wire.py Handoff: how the worker
processes' pipe readers pass frames to the clients' outboxes) all run, on the loop, each
thread's in its order, a failing one holding up none of the others; and a burst handed over
while the loop is busy runs after one wake-up."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from bench.common import run_in_thread
from descent.server.wire import Handoff, handoff

THREADS, CALLS = 4, 2000


def test_calls_from_threads_all_run_on_the_loop_in_each_threads_order() -> None:
    result: dict[str, Any] = {}

    async def main() -> None:
        loop = asyncio.get_running_loop()
        assert handoff(loop) is handoff(loop)  # (one per loop)
        hand = Handoff(loop)
        seen: dict[int, list[int]] = {t: [] for t in range(THREADS)}
        threads_seen: set[int] = set()
        done = asyncio.Event()
        count = [0]

        def record(t: int, i: int) -> None:
            threads_seen.add(threading.get_ident())
            if i == 7:
                raise RuntimeError("a failing call")
            seen[t].append(i)
            count[0] += 1
            if count[0] == THREADS * (CALLS - 1):
                done.set()

        def produce(t: int) -> None:
            for i in range(CALLS):
                hand.call(record, t, i)

        producers = [threading.Thread(target=produce, args=(t,)) for t in range(THREADS)]
        for p in producers:
            p.start()
        for p in producers:
            await asyncio.to_thread(p.join)
        await asyncio.wait_for(done.wait(), 30)
        result.update(seen=seen, ran_on=threads_seen, loop_thread=threading.get_ident())

    run_in_thread(main())  # (a browser test earlier in the session leaves Playwright's loop on this thread)
    seen, ran_on, loop_thread = result["seen"], result["ran_on"], result["loop_thread"]
    assert ran_on == {loop_thread}
    for t in range(THREADS):
        assert seen[t] == [i for i in range(CALLS) if i != 7]


def test_a_burst_handed_over_while_the_loop_is_busy_runs_after_one_wake_up() -> None:
    result: dict[str, Any] = {}

    async def main() -> None:
        loop = asyncio.get_running_loop()
        hand = Handoff(loop)
        wakes = [0]
        run = hand.run

        def counted() -> None:
            wakes[0] += 1
            run()

        hand.run = counted  # type: ignore[method-assign]
        out: list[int] = []
        # the loop is busy in this coroutine while another thread hands over a burst
        def burst() -> None:
            for i in range(500):
                hand.call(out.append, i)

        producer = threading.Thread(target=burst)
        producer.start()
        producer.join()  # (blocks the loop: nothing runs until the burst is all queued)
        for _ in range(5):
            await asyncio.sleep(0)
        result.update(out=out, wakes=wakes[0])

    run_in_thread(main())
    out, wakes = result["out"], result["wakes"]
    assert out == list(range(500)) and wakes == 1
