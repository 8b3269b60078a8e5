"""Calls handed to the event loop from other threads (server/wire.py Handoff: how the worker
processes' pipe readers pass frames to the clients' outboxes) all run, on the loop, each
thread's in its order, a failing one holding up none of the others; and a burst handed over
while the loop is busy runs after one wake-up."""

from __future__ import annotations

import asyncio
import threading

from descent.server.wire import Handoff, handoff

THREADS, CALLS = 4, 2000


def test_calls_from_threads_all_run_on_the_loop_in_each_threads_order() -> None:
    async def main() -> tuple[dict[int, list[int]], set[int], int]:
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
        return seen, threads_seen, threading.get_ident()

    seen, ran_on, loop_thread = asyncio.run(main())
    assert ran_on == {loop_thread}
    for t in range(THREADS):
        assert seen[t] == [i for i in range(CALLS) if i != 7]


def test_a_burst_handed_over_while_the_loop_is_busy_runs_after_one_wake_up() -> None:
    async def main() -> tuple[list[int], int]:
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
        producer = threading.Thread(target=lambda: [hand.call(out.append, i) for i in range(500)])
        producer.start()
        producer.join()  # (blocks the loop: nothing runs until the burst is all queued)
        for _ in range(5):
            await asyncio.sleep(0)
        return out, wakes[0]

    out, wakes = asyncio.run(main())
    assert out == list(range(500)) and wakes == 1
