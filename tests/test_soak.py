"""A short soak on loopback (the long one is `python -m bench.soak`): clients connect,
resume, reconfigure, play and drop for ~20 s against a real server process, whose memory
must stay flat and whose sessions must all be reclaimed once the clients are gone."""

from __future__ import annotations

from bench.soak import soak


def test_soak_memory_stays_flat_and_sessions_are_reclaimed() -> None:
    result = soak(seconds=20, clients=4, seed=1, every=2.0, grace=1.0)
    t = result.tally
    assert t.connects >= 8 and t.resumed >= 1 and t.frames > 50  # it really exercised the server
    # RSS after 6 s (each lab was trained once before the first sample) vs the end: a leak of a
    # session per connect (tens of them) would show; allocator noise stays well under this,
    # plus a few MB for each session more alive at the end than at the start
    allowance = 10.0 + 4.0 * result.extra_sessions(warmup=6.0)
    assert result.growth_mb(warmup=6.0) < allowance, [(s.t, s.rss_mb, s.sessions) for s in result.samples]
    assert max(s.sessions for s in result.samples) <= 4 * 4  # never more than the per-client cap
    assert result.settled_sessions == 0
    assert "Traceback" not in result.log
