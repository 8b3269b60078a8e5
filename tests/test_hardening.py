"""Limits, resumable sessions, origin check, security headers and lab-failure recovery,
through the real app (TestClient websocket, real torch training on the CPU)."""

from __future__ import annotations

import gc
import logging
import time
import weakref
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect

from descent.protocol import Hello
from descent.runtime.bucket import TokenBucket
from descent.server.security import RedactTokens, origin_allowed
from descent.settings import Settings
from tests.wsutil import alive, greet, of_type, serve, until, wait_for

# ---- settings and small parts ---------------------------------------------------------


def test_settings_from_environment() -> None:
    s = Settings.from_env(
        {
            "DESCENT_ALLOWED_ORIGINS": "https://course.example.edu/, http://localhost:3000",
            "DESCENT_MAX_SESSIONS_PER_CLIENT": "3",
            "DESCENT_FRAME_ANCESTORS": "'self' https://course.example.edu",
            "DESCENT_RESUME_GRACE_SECONDS": "5",
        }
    )
    assert s.allowed_origins == ["https://course.example.edu", "http://localhost:3000"]
    assert s.max_sessions_per_client == 3 and s.resume_grace_seconds == 5
    assert s.frame_ancestors == "'self' https://course.example.edu"


def test_frame_ancestors_cannot_inject_a_directive() -> None:
    with pytest.raises(ValidationError, match="frame_ancestors"):
        Settings(frame_ancestors="* ; script-src *")


def test_token_bucket_follows_rate_and_burst() -> None:
    b = TokenBucket(rate=10, burst=3, now=0.0)
    assert [b.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert b.wait(0.0) == pytest.approx(0.1)  # one token accrues in 1/rate seconds
    assert b.take(0.1) and not b.take(0.1)
    assert b.available(100.0) == 3  # never more than the burst
    b.spend(5)  # work already done may go into debt ...
    assert b.wait(100.0) == pytest.approx(0.3)  # ... repaid at the rate: (1 - (-2)) / 10


@pytest.mark.parametrize(
    "origin,host,allowed,ok",
    [
        (None, "h:1", [], True),  # not a browser page
        ("http://h:1", "h:1", [], True),  # same origin
        ("https://h:1", "h:1", [], True),
        ("http://evil.example", "h:1", [], False),
        ("http://h:2", "h:1", [], False),  # another port is another origin
        ("null", "h:1", [], False),  # sandboxed frames, file:// pages
        ("https://course.example.edu", "h:1", ["https://course.example.edu"], True),
        ("https://COURSE.example.edu/", "h:1", ["https://course.example.edu"], True),
        ("http://evil.example", "h:1", ["*"], True),
    ],
)
def test_origin_allowed(origin, host, allowed, ok) -> None:
    assert origin_allowed(origin, host, allowed) is ok


def test_tokens_are_redacted_from_log_lines() -> None:
    record = logging.LogRecord("uvicorn.error", logging.INFO, "", 0, '%s - "WebSocket %s" [accepted]', ("1.2.3.4:5", "/ws?resume=SECRETtoken_x&b=1"), None)
    RedactTokens().filter(record)
    assert "SECRET" not in record.getMessage() and "resume=<redacted>&b=1" in record.getMessage()


# ---- HTTP: headers and static files ----------------------------------------------------


def test_security_headers_allow_embedding_by_default() -> None:
    with serve() as client:
        for path in ("/", "/api/schema", "/static/js/main.js", "/healthz"):
            r = client.get(path)
            assert r.status_code == 200
            csp = r.headers["content-security-policy"]
            assert "frame-ancestors" not in csp and "script-src 'self'" in csp and "object-src 'none'" in csp
            assert r.headers["x-content-type-options"] == "nosniff"
            assert "x-frame-options" not in r.headers  # it would forbid the iframe embeds


def test_frame_ancestors_can_be_restricted() -> None:
    with serve(frame_ancestors="'self' https://course.example.edu") as client:
        csp = client.get("/").headers["content-security-policy"]
        assert "frame-ancestors 'self' https://course.example.edu" in csp


@pytest.mark.parametrize("path", ["/static/../backend/descent/settings.py", "/static/%2e%2e/Makefile", "/static/..%2fMakefile", "/static//etc/passwd"])
def test_static_files_stay_inside_the_frontend(path) -> None:
    with serve() as client:
        r = client.get(path)
        assert r.status_code == 404 and b"PYTHONPATH" not in r.content and b"root:" not in r.content


# ---- websocket origin ------------------------------------------------------------------


def test_foreign_origin_is_refused_with_a_reason() -> None:
    with serve() as client:
        with client.websocket_connect("/ws", headers={"origin": "http://evil.example"}) as ws:
            error = ws.receive_json()
            assert error["type"] == "error" and "origin 'http://evil.example' is not allowed" in error["message"]
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 1008
        assert client.get("/healthz").json()["sessions"] == 0  # nothing was allocated


def test_same_and_listed_origins_connect() -> None:
    with serve(allowed_origins=["https://course.example.edu"]) as client:
        for origin in ("http://testserver", "https://course.example.edu"):
            with client.websocket_connect("/ws", headers={"origin": origin}) as ws:
                greet(ws)


# ---- message limits --------------------------------------------------------------------


def test_message_rate_limit_drops_with_an_error_and_the_session_goes_on() -> None:
    with serve(messages_per_second=2, message_burst=5) as client:
        with client.websocket_connect("/ws") as ws:
            greet(ws)
            for _ in range(30):
                ws.send_json({"type": "subscribe", "frame_rate": 30})
            error = until(ws, of_type("error"))
            assert "too many messages: at most 2 per second (bursts of 5)" in error["message"]
            time.sleep(1.0)  # let tokens accrue again
            assert alive(ws)["state"] == "paused"


def test_binary_and_oversized_messages_get_errors() -> None:
    with serve(max_message_bytes=2048) as client:
        with client.websocket_connect("/ws") as ws:
            greet(ws)
            ws.send_bytes(b"\x00\xff" * 10)
            assert "binary frames are not accepted" in until(ws, of_type("error"))["message"]
            big = '{"type": "subscribe", "pad": "' + "x" * 5000 + '"}'
            ws.send_text(big)
            assert f"message too large: {len(big)} characters, at most 2048" in until(ws, of_type("error"))["message"]
            assert alive(ws)


# ---- session limits --------------------------------------------------------------------


def test_sessions_per_client_are_capped_and_detached_ones_make_room() -> None:
    with serve(max_sessions_per_client=2) as client:
        first = client.websocket_connect("/ws")
        ws1 = first.__enter__()
        token1 = greet(ws1)["token"]
        with client.websocket_connect("/ws") as ws2:
            greet(ws2)
            with client.websocket_connect("/ws") as ws3:
                error = ws3.receive_json()
                assert error["type"] == "error" and "too many sessions from your address: at most 2" in error["message"]
                with pytest.raises(WebSocketDisconnect) as closed:
                    ws3.receive_json()
                assert closed.value.code == 1013
            first.__exit__(None, None, None)  # ws1 leaves: its session awaits resume ...
            wait_for(lambda: client.get("/healthz").json()["connected"] == 1)
            with client.websocket_connect("/ws") as ws4:  # ... and is reclaimed to make room
                assert greet(ws4)["resumed"] is False
            with client.websocket_connect(f"/ws?resume={token1}") as ws5:
                assert ws5.receive_json()["resume_error"] == "unknown or expired session token"


def test_simultaneous_connections_cannot_overshoot_the_cap() -> None:
    from contextlib import ExitStack

    with serve(max_sessions_per_client=2) as client, ExitStack() as stack:
        sockets = [stack.enter_context(client.websocket_connect("/ws")) for _ in range(5)]  # all accepted at once
        first = sorted(ws.receive_json()["type"] for ws in sockets)
        assert first == ["error", "error", "error", "hello", "hello"]
        assert client.get("/healthz").json()["sessions"] == 2


def test_total_sessions_are_capped() -> None:
    with serve(max_sessions=1) as client:
        with client.websocket_connect("/ws") as ws1:
            greet(ws1)
            with client.websocket_connect("/ws") as ws2:
                assert "the server is full (1 sessions)" in ws2.receive_json()["message"]
            assert alive(ws1)


def test_parameter_limit_refuses_a_big_network_and_keeps_the_run() -> None:
    # the default MLP 2-4-2-1 has (2*4+4) + (4*2+2) + (2*1+1) = 25 parameters
    with serve(max_parameters=30) as client:
        with client.websocket_connect("/ws") as ws:
            greet(ws)
            ws.send_json({"type": "control", "action": "step"})
            stepped = until(ws, of_type("status"))
            ws.send_json({"type": "configure", "config": {"hidden": [8, 8]}})  # 24 + 72 + 9 = 105
            error = until(ws, of_type("error"))
            assert error["message"] == "config: this setup has 105 trainable parameters; at most 30 are allowed (make the model smaller)"
            ws.send_json({"type": "configure", "config": {"hidden": [4, 3], "learning_rate": 0.1}})  # 12 + 15 + 4 = 31
            assert "has 31 trainable parameters" in until(ws, of_type("error"))["message"]
            ws.send_json({"type": "configure", "config": {"learning_rate": 0.1}})  # no size change
            config = until(ws, of_type("config"))
            assert config["config"]["hidden"] == [4, 2] and config["rebuilt"] == "none"
            status = alive(ws)
            assert status["epoch"] == stepped["epoch"] == 1 and status["step"] == stepped["step"]  # run kept


def test_parameter_count_default_counts_what_the_lab_builds() -> None:
    import torch

    from descent.labs import config_model, lab_class

    config = config_model("mlp")(hidden=[3, 5], features=["x1", "x2", "x1x2"])
    lab = lab_class("mlp")(config, torch.device("cpu"))
    expected = sum(p.numel() for p in lab.model.parameters())
    assert expected == (3 * 3 + 3) + (3 * 5 + 5) + (5 * 1 + 1)
    assert lab_class("mlp").parameter_count(config) == lab.parameter_total() == expected


def test_steps_per_second_cap() -> None:
    import torch

    from descent.runtime.session import Session

    rate, burst = 200.0, 50.0  # burst is rate / 4
    session = Session("s", torch.device("cpu"), lambda m: None, Settings(max_steps_per_second=rate))
    session.control("play")
    started = time.perf_counter()
    for _ in range(5):
        session.tick(1.0)  # each asks for a second's worth of steps
    elapsed = time.perf_counter() - started
    assert 1 <= session.lab.step_count <= burst + rate * elapsed + 1
    assert session.train_wait(time.perf_counter()) is not None


def test_stepping_is_held_to_the_steps_allowance() -> None:
    """A 'step' press owes an epoch, trained within the steps/s allowance: at 1 step/s (a
    burst of 1), rounds in quick succession take one step, not the epoch."""
    import time

    import torch

    from descent.runtime.session import Session

    session = Session("s", torch.device("cpu"), lambda m: None, Settings(max_steps_per_second=1))
    session.control("step")  # one epoch = 25 steps owed
    started = time.perf_counter()
    for _ in range(20):
        session.budget.earn(0.01, 1)  # (the worker credits each round's time)
        session.tick(0.01)
    assert 1 <= session.lab.step_count <= 1 + (time.perf_counter() - started) * 1
    assert session.wants_training  # the rest of the epoch is still owed


# ---- resuming and reclaiming -----------------------------------------------------------


def test_resume_takes_back_the_same_run() -> None:
    with serve() as client:
        with client.websocket_connect("/ws") as ws:
            hello = greet(ws)
            ws.send_json({"type": "configure", "config": {"dataset": "xor", "learning_rate": 0.1}})
            until(ws, of_type("config"))
            ws.send_json({"type": "control", "action": "play"})
            before = until(ws, lambda m: m["type"] == "frame" and m["epoch"] >= 3)
        with client.websocket_connect(f"/ws?resume={hello['token']}") as ws:
            again = ws.receive_json()
            Hello.model_validate(again)  # the published schema
            assert again["resumed"] is True and again["resume_error"] is None
            assert again["session"] == hello["session"] and again["token"] == hello["token"]
            config = until(ws, of_type("config"))
            assert config["config"]["dataset"] == "xor" and config["config"]["learning_rate"] == 0.1
            assert until(ws, of_type("status"))["state"] == "running"  # it plays on
            frame = until(ws, of_type("frame"))
            assert frame["epoch"] >= before["epoch"]
            history = frame["history"]
            assert history["reset"] is True and history["epoch"][: before["epoch"] + 1] == list(range(before["epoch"] + 1))


def session_of(client: Any, token: str) -> Any:
    """The Session object behind a token (the app runs its training thread in-process)."""
    return client.app.state.worker.sessions[client.app.state.roster.entries[token].session]


def test_a_detached_session_does_not_train() -> None:
    with serve() as client:
        with client.websocket_connect("/ws") as ws:
            hello = greet(ws)
            ws.send_json({"type": "control", "action": "play"})
            until(ws, lambda m: m["type"] == "frame" and m["epoch"] >= 1)
        session = session_of(client, hello["token"])
        wait_for(lambda: session.state == "paused")
        steps = session.lab.step_count
        time.sleep(0.3)
        assert session.lab.step_count == steps


def test_resume_with_unknown_token_gives_a_new_session() -> None:
    with serve() as client:
        with client.websocket_connect("/ws?resume=not-a-token") as ws:
            hello = greet(ws)
            assert hello["resumed"] is False and hello["resume_error"] == "unknown or expired session token"


def test_a_held_session_is_not_taken_over() -> None:
    with serve() as client:
        with client.websocket_connect("/ws") as ws1:
            hello = greet(ws1)
            with client.websocket_connect(f"/ws?resume={hello['token']}") as ws2:
                other = greet(ws2)
                assert other["resumed"] is False and other["resume_error"] == "that session is open in another connection"
                assert other["session"] != hello["session"]
            assert alive(ws1)


def test_detached_sessions_are_reclaimed_after_the_grace_period_and_freed() -> None:
    with serve(resume_grace_seconds=0.5) as client:
        with client.websocket_connect("/ws") as ws:
            hello = greet(ws)
            ws.send_json({"type": "control", "action": "step"})
            until(ws, of_type("status"))
            ref = weakref.ref(session_of(client, hello["token"]))
        wait_for(lambda: client.get("/healthz").json()["sessions"] == 0)
        wait_for(lambda: not client.app.state.worker.sessions)
        gc.collect()
        assert ref() is None  # no reference left: its tensors are freed
        with client.websocket_connect(f"/ws?resume={hello['token']}") as ws:
            assert ws.receive_json()["resume_error"] == "unknown or expired session token"


def test_idle_sessions_are_closed_and_reclaimed() -> None:
    with serve(idle_timeout_seconds=1) as client:
        with client.websocket_connect("/ws") as ws:
            greet(ws)
            error = until(ws, of_type("error"))
            assert error["message"] == "session closed after 1 seconds without input; reload to start again"
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 4000
        wait_for(lambda: client.get("/healthz").json()["sessions"] == 0)


# ---- a lab that raises -----------------------------------------------------------------


def test_a_failing_lab_is_reported_restarts_on_reset_and_spares_others() -> None:
    def broken(*args: Any) -> None:  # fault injection: this session's lab raises mid-run
        raise RuntimeError("injected fault")

    with serve() as client:
        with client.websocket_connect("/ws") as bad, client.websocket_connect("/ws") as good:
            bad_token, _ = greet(bad)["token"], greet(good)
            # (both sessions run the default preset, so they train as one cohort: the fault
            # breaks the batched step, after which each trains alone and only the bad one fails)
            session_of(client, bad_token).lab.next_rows = broken
            good.send_json({"type": "control", "action": "play"})
            bad.send_json({"type": "control", "action": "play"})
            error = until(bad, of_type("error"))
            assert error["message"] == "the lab failed (RuntimeError: injected fault); press reset to restart"
            status = until(bad, of_type("status"))
            assert status["state"] == "paused" and status["reason"] == error["message"]
            bad.send_json({"type": "control", "action": "play"})
            assert until(bad, of_type("error"))["message"] == error["message"]  # refused until reset
            first = until(good, of_type("frame"))
            assert until(good, lambda m: m["type"] == "frame" and m["epoch"] > first["epoch"] + 2)  # unaffected
            bad.send_json({"type": "control", "action": "reset"})
            assert until(bad, of_type("config"))["rebuilt"] == "lab"  # a fresh lab, same config
            assert until(bad, of_type("status"))["reason"] is None
            bad.send_json({"type": "control", "action": "play"})
            assert until(bad, lambda m: m["type"] == "frame" and m["epoch"] >= 2)["state"] == "running"


def worker_fault_is_told_and_reset_restarts(inject: Callable[[Any], None], told: str) -> None:
    """Two sessions, one training; ``inject`` breaks the worker; both are paused and told
    ``told``, and a reset restarts each."""
    with serve() as client:
        worker = client.app.state.worker
        with client.websocket_connect("/ws") as one, client.websocket_connect("/ws") as two:
            greet(one), greet(two)
            one.send_json({"type": "control", "action": "play"})
            until(one, of_type("frame"))
            inject(worker)
            for ws in (one, two):
                assert told in until(ws, of_type("error"))["message"]
                assert until(ws, of_type("status"))["state"] == "paused"
            assert worker._thread.is_alive()  # the same thread or its replacement
            for ws in (one, two):
                ws.send_json({"type": "control", "action": "reset"})
                until(ws, of_type("config"))
                ws.send_json({"type": "control", "action": "play"})
                assert until(ws, lambda m: m["type"] == "frame" and m["epoch"] >= 2)["state"] == "running"


def test_a_crashed_worker_round_is_reported_and_every_session_can_restart() -> None:
    def crash_a_round(worker: Any) -> None:  # fault injection: the worker's own round breaks, once
        serve_round = worker._serve

        def crash_once() -> None:
            worker._serve = serve_round
            raise RuntimeError("injected worker fault")

        worker._serve = crash_once
        worker.wake()

    worker_fault_is_told_and_reset_restarts(crash_a_round, "injected worker fault")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the kill, on purpose
def test_a_killed_worker_thread_is_replaced_and_its_sessions_told() -> None:
    """The worker thread killed outright (an exception raised into it, as a kill would end
    it, which no round catches): within the janitor's second a new thread serves."""
    import ctypes

    def kill(worker: Any) -> None:
        dead = worker._thread
        for _ in range(20):  # (one that lands inside a queued command is that command's error: again)
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(dead.ident), ctypes.py_object(SystemExit))
            worker.wake()
            dead.join(timeout=0.5)
            if not dead.is_alive():
                break
        assert not dead.is_alive()

    worker_fault_is_told_and_reset_restarts(kill, "the training worker stopped")


# ---- nothing from a user is executed or becomes a path ---------------------------------

BANNED_BUILTINS = {"eval", "exec", "compile", "__import__"}
BANNED_METHODS = {("os", "system"), ("os", "popen"), ("torch", "load"), ("numpy", "load"), ("np", "load")}
BANNED_MODULES = {"pickle", "marshal", "shelve", "subprocess", "dill", "cloudpickle"}
# Session snapshots (a crashed worker's sessions restored) are pickled: made by the worker
# processes and held by the server, they never come from a client (nor does anything else
# the server pipes to its workers, which multiprocessing pickles anyway).
SNAPSHOTS = {"runtime/snapshots.py": {"import pickle"}, "labs/base/snapshots.py": {"import pickle", "torch.load()"}}
# Where modules are imported by name: the lab registry, and the transport mounting each
# registered lab's offers (descent.labs.<name>.offers, names from LAB_NAMES only).
IMPORTERS = {"labs/__init__.py", "server/api.py"}


def test_backend_never_evaluates_code_or_unpickles() -> None:
    """A static audit of the backend (labs included): no eval/exec, no unpickling (torch.load
    unpickles too), no shelling out. Lab modules are imported only by registered name."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "backend" / "descent"
    found = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
                owner = getattr(f.value, "id", "") if isinstance(f, ast.Attribute) else ""
                if (isinstance(f, ast.Name) and name in BANNED_BUILTINS) or (owner, name) in BANNED_METHODS:
                    found.append(f"{path.relative_to(root)}:{node.lineno} {owner}.{name}()")
                if name == "import_module" and path.relative_to(root).as_posix() not in IMPORTERS:
                    found.append(f"{path.relative_to(root)}:{node.lineno} import_module()")
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                found += [f"{path.relative_to(root)}:{node.lineno} import {n}" for n in names if n.split(".")[0] in BANNED_MODULES]
    found = [f for f in found if not any(f.startswith(f"{path}:") and f.endswith(allowed)
                                         for path, names in SNAPSHOTS.items() for allowed in names)]
    assert not found, found


def test_lab_names_and_command_names_are_allowlisted() -> None:
    with serve() as client:
        with client.websocket_connect("/ws") as ws:
            greet(ws)
            ws.send_json({"type": "configure", "config": {"lab": "os"}})
            assert until(ws, of_type("error"))["message"].startswith("config.lab: unknown lab; allowed: mlp")
            for name in ("__init__", "reset", "step", "../../etc/passwd"):
                ws.send_json({"type": "command", "name": name, "args": {"n": 10**9}})
                error = until(ws, of_type("error"))
                assert error["message"].startswith(f"name: unknown command {name!r} for this lab; allowed:")
            assert alive(ws)["step"] == 0  # no method was reached


def test_a_lab_whose_views_raise_fails_once_not_every_frame() -> None:
    import torch

    from descent.runtime.session import Session
    from descent.runtime.worker import Worker

    def broken(full: bool, detail: bool = True) -> dict:  # fault injection: building the frame raises
        raise ValueError("bad view")

    sent: list[dict] = []
    worker = Worker()
    worker.start()
    try:
        session = worker.submit(lambda: Session("v", torch.device("cpu"), sent.append)).result()
        session.lab.views = broken
        worker.submit(lambda: (worker.add(session), session.control("play"))).result()
        wait_for(lambda: session.failed is not None)
        time.sleep(0.5)  # frames would be due 15 times over
        errors = [m for m in sent if m["type"] == "error"]
        assert [e["message"] for e in errors] == ["the lab failed (ValueError: bad view); press reset to restart"]
        assert not any(m["type"] == "frame" for m in sent)
        worker.submit(lambda: session.control("reset")).result()  # a fresh lab: its own views
        wait_for(lambda: any(m["type"] == "frame" for m in sent))  # (no transport: one frame, no credit back)
        assert session.failed is None and session.lab.views is not broken
    finally:
        worker.stop()


def test_bad_command_arguments_are_errors_not_failures() -> None:
    import torch

    from descent.runtime.session import Session

    sent: list[dict] = []
    session = Session("c", torch.device("cpu"), sent.append)
    lab = session.lab
    # a lab command that trusts its arguments (as a lab author might write it, with a model
    # that lets anything through)
    from descent.labs.commands import Args

    class Nudge(Args):
        row: object = None

    own_commands = type(lab).command_args
    type(lab).command_args = {**own_commands, "nudge": Nudge}
    try:
        type(lab).command_nudge = lambda self, args: {"w": float(self.weights[0].detach()[args.row, 0])}
        session.command("nudge", {"row": 0})
        assert sent[-1]["type"] == "reply" and sent[-1]["name"] == "nudge"
        for args in ({}, {"row": "x"}, {"row": 10**6}, {"row": 10**400}):
            session.command("nudge", args)
            assert sent[-1]["type"] == "error" and sent[-1]["loc"] == ["command", "nudge"]
        assert session.failed is None
    finally:
        type(lab).command_args = own_commands
        del type(lab).command_nudge
