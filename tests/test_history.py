from descent.history import Cursor, History


def test_incremental_then_nothing_new() -> None:
    h = History(("loss",))
    cursor = Cursor()
    h.append(0, {"loss": 1.0})
    first = h.since(cursor)
    assert first == {"reset": True, "epoch": [0], "series": {"loss": [1.0]}}
    assert h.since(cursor) is None
    h.append(1, {"loss": 0.5})
    assert h.since(cursor) == {"reset": False, "epoch": [1], "series": {"loss": [0.5]}}


def test_bounded_memory_thins_and_resets_clients() -> None:
    h = History(("loss",), cap=100)
    cursor = Cursor()
    for i in range(1000):
        h.append(i, {"loss": float(i)})
        h.since(cursor)
    assert len(h.x) < 100
    assert h.x[0] == 0 and h.x[-1] > 900  # still spans the whole run
    # a client that falls behind a thinning gets the whole history again
    stale = Cursor(version=0, length=10)
    assert h.since(stale)["reset"] is True


def test_non_finite_values_become_none() -> None:
    h = History(("loss",))
    h.append(0, {"loss": float("nan")})
    assert h.series["loss"] == [None]
