"""The transport: FastAPI routes, the /ws protocol endpoint and the static page."""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import plotly
from fastapi import FastAPI, Query, WebSocket, WebSocketDisconnect
from fastapi.responses import Response
from pydantic import ValidationError

from descent import PROTOCOL_VERSION, __version__
from descent.errors import describe
from descent.labs import LAB_NAMES
from descent.labs.mlp.datasets import CLASSES, DATASETS, DEFAULT_CLASSES, generate
from descent.protocol import Ack, client_message, json_schema, to_json
from descent.runtime.device import choose_device, device_name
from descent.runtime.hosting import Host, LocalHost
from descent.runtime.processes import ProcessHost, default_processes
from descent.server import static
from descent.server.limits import AckCredit, Penalties, TokenBucket
from descent.server.roster import Entry, Roster
from descent.server.security import ApiRateLimit, SecurityHeaders, origin_allowed, redact_tokens_in_logs
from descent.server.wire import LINGER_SECONDS, KeepTransport, Outbox, abort, close_with, cut_off
from descent.settings import Settings

log = logging.getLogger(__name__)
FRONTEND = Path(__file__).resolve().parents[3] / "frontend"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    device = choose_device(settings.device)
    host = make_host(settings, device)
    roster = Roster(settings)
    penalties = Penalties()  # addresses closed for flooding, barred for a while

    def reclaim(entries: list[Entry]) -> None:
        for entry in entries:
            host.remove(entry.session)

    def reap(tg: anyio.abc.TaskGroup) -> None:
        """Reclaim expired sessions; close the idle ones still connected, each in a task of
        its own (a client that does not read must not hold up the janitor). A function of
        its own, too, so no local outlives the call and keeps a reclaimed session alive."""
        gone = roster.expired(time.monotonic())
        reclaim(gone)
        for entry in gone:
            if entry.connection is not None:
                idle = duration(settings.idle_timeout_seconds)
                tg.start_soon(close_with, entry.connection, 4000, f"session closed after {idle} without input; reload to start again")

    async def janitor() -> None:
        async with anyio.create_task_group() as tg:
            while True:
                await anyio.sleep(1.0)
                reap(tg)
                host.check()  # a dead training thread is replaced, its sessions told

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redact_tokens_in_logs()
        await anyio.to_thread.run_sync(host.start)  # (worker processes take seconds to import torch)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(janitor)
                yield
                tg.cancel_scope.cancel()
        finally:
            await anyio.to_thread.run_sync(host.stop)

    app = FastAPI(title="Descent", version=__version__, lifespan=lifespan)
    app.add_middleware(ApiRateLimit, rate=settings.api_requests_per_second, burst=settings.api_burst)
    app.add_middleware(SecurityHeaders, frame_ancestors=settings.frame_ancestors)  # (outside: on 429s too)
    app.add_middleware(KeepTransport)
    app.state.settings = settings
    app.state.host = host
    if isinstance(host, LocalHost):
        app.state.worker = host.worker  # (tests reach into the training thread)
    app.state.roster = roster

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        """Liveness, the training device and the version."""
        return {
            "status": "ok",
            "device": device_name(device),
            "version": __version__,
            "sessions": len(roster),
            "connected": sum(1 for e in roster.entries.values() if e.connection is not None),
        }

    @app.get("/api/schema", response_class=Response, responses={200: {"content": {"application/json": {}}}})
    def api_schema() -> Response:
        """JSON Schema of every websocket message and of each lab's config and views."""
        return Response(schema_bytes(), media_type="application/json")

    @app.get("/api/datasets")
    def api_datasets(
        classes: int = Query(DEFAULT_CLASSES, ge=CLASSES[0], le=CLASSES[1], description="classes of the multiclass previews"),
    ) -> list[dict[str, Any]]:
        """Each 2-D dataset with its problem type and a sample of its points (for previews)."""
        return [dataset_preview(entry.name, classes) for entry in DATASETS]

    # The page's files, gzipped once and sent with ETag and Cache-Control (static.py);
    # paths resolve inside FRONTEND only (no ../, no symlink out).
    app.add_route("/vendor/plotly.min.js", static.file_route(PLOTLY_JS, static.ONE_DAY), include_in_schema=False)
    app.add_route("/", static.file_route(FRONTEND / "index.html", static.REVALIDATE), include_in_schema=False)
    app.mount("/static", static.CompressedFiles(FRONTEND), name="static")

    @app.websocket("/ws")
    async def ws_endpoint(ws: WebSocket) -> None:
        await ws.accept()
        origin = ws.headers.get("origin")
        if not origin_allowed(origin, ws.headers.get("host"), settings.allowed_origins):
            log.warning("websocket from origin %r refused", origin)
            await close_with(ws, 1008, f"origin {origin!r} is not allowed to connect (set DESCENT_ALLOWED_ORIGINS)")
            return
        client = ws.client.host if ws.client else "unknown"
        barred = penalties.remaining(client, time.monotonic())
        if barred:
            await close_with(ws, 1008, f"your address was closed for flooding: wait {barred:.0f} s before connecting again")
            return
        outbox = Outbox(ws, settings.max_outbox, settings.max_unread_bytes, settings.max_unread_seconds)

        entry, resume_error = None, None
        token = ws.query_params.get("resume")
        if token:
            entry, resume_error = roster.resume(token[:64], ws, time.monotonic())
        if entry is None:
            refusal, reclaimed = roster.admit(client)
            reclaim(reclaimed)
            refusal = refusal or host.room()  # past training capacity: refused, not everyone slower
            if refusal:
                await close_with(ws, 1013, refusal)
                return
            entry = roster.add(secrets.token_urlsafe(9), client, ws, time.monotonic())
            host.create(entry.session)
        sid = entry.session
        try:
            await serve(ws, entry, sid, outbox, token, resume_error)
        finally:
            if roster.detach(entry, ws, time.monotonic()):
                host.detach(sid)
            # however it ended (the client left, a close, the server shutting down), a client
            # that does not read must not keep the connection: uvicorn waits for every
            # connection to close before it stops, and its close waits on what is unread
            abort(ws, after=LINGER_SECONDS)

    async def serve(
        ws: WebSocket,
        entry: Entry,
        sid: str,
        outbox: Outbox,
        token: str | None,
        resume_error: str | None,
    ) -> None:
        """Greet the client, hand the session its messages, and relay what it sends."""
        await ws.send_json(
            {
                "type": "hello",
                "protocol": PROTOCOL_VERSION,
                "session": sid,
                "token": entry.token,
                "resumed": resume_error is None and bool(token),
                "resume_error": resume_error,
                "device": device_name(device),
                "version": __version__,
                "labs": list(LAB_NAMES),
                "limits": settings.limits(),
            }
        )

        host.attach(sid, outbox.deliver)
        # once the client acks frames, its acks take frames back and "delivered" is news to no one
        acking = False
        credit = AckCredit()  # an ack costs the worker something only if it takes back a frame

        async def sender(scope: anyio.CancelScope) -> None:
            try:
                while True:
                    kind, text, patience = await outbox.get()
                    if kind == "frame":
                        credit.frame_sent()  # (before the send: its ack may come before the send returns)
                    if not await outbox.send(text, patience):
                        return  # the client does not read: the watcher cuts it off
                    if kind == "frame" and not acking:
                        host.frame_sent(sid)
            except (WebSocketDisconnect, RuntimeError, OSError):
                scope.cancel()  # the client is gone

        async def receiver() -> None:
            nonlocal acking
            rate = TokenBucket(settings.messages_per_second, settings.message_burst, time.monotonic())
            # dropped messages are forgiven at the message rate; past flood_messages the connection is closed
            flood = TokenBucket(settings.messages_per_second, settings.flood_messages, time.monotonic())
            told_at = -1.0  # when the client was last told it is too fast (told once a second)

            async def dropped(now: float, why: str) -> bool:
                """A message was dropped: tell the client (once a second); False if it is
                flooding and has been closed."""
                nonlocal told_at
                if not flood.take(now):
                    penalties.bar(entry.client, now, settings.flood_penalty_seconds)
                    await close_with(ws, 1008, f"closed: kept sending after {settings.flood_messages} dropped messages ({why})")
                    return False
                if now - told_at >= 1.0:
                    told_at = now
                    reply(error_message(f"{why}; this one was dropped"))
                return True

            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    if message.get("code") == 1012:  # the server is stopping: it waits for this connection
                        abort(ws)
                    return
                now = time.monotonic()
                roster.touch(entry, now)
                if is_ack(message.get("text")):
                    verdict = credit.ack()
                    if verdict == "take back":
                        acking = True
                        host.ack(sid)
                    elif verdict == "excess" and not await dropped(now, "too many acks: at most one per frame received"):
                        return
                    continue
                if not rate.take(now):
                    if not await dropped(now, f"too many messages: at most {settings.messages_per_second:g} per second (bursts of {settings.message_burst})"):
                        return
                    continue
                text = message.get("text")
                if text is None:
                    reply(error_message("binary frames are not accepted; send JSON text messages"))
                    continue
                parsed = parse(text, settings.max_message_bytes)
                if isinstance(parsed, dict):
                    reply(parsed)
                else:
                    host.handle(sid, parsed)

        def reply(message: dict[str, Any]) -> None:
            """Answers go through the outbox too: a client that does not read them is bounded alike."""
            outbox.put(message["type"], to_json(message))

        async def watcher(scope: anyio.CancelScope) -> None:
            await outbox.cut.wait()
            await cut_off(ws, outbox.reason)
            scope.cancel()

        async with anyio.create_task_group() as tg:
            tg.start_soon(sender, tg.cancel_scope)
            tg.start_soon(watcher, tg.cancel_scope)
            try:
                await receiver()
            except (WebSocketDisconnect, RuntimeError, OSError):
                pass
            tg.cancel_scope.cancel()

    return app


def make_host(settings: Settings, device: Any) -> Host:
    """Worker processes (one per core on the CPU, one for the GPU) unless the setting asks
    for 0: then one training thread inside the server process."""
    processes = default_processes(device) if settings.worker_processes is None else settings.worker_processes
    if processes == 0:
        return LocalHost(settings, device)
    return ProcessHost(settings, device, processes)


def duration(seconds: float) -> str:
    """60 -> '60 seconds', 3600 -> '60 minutes' (for messages)."""
    return f"{seconds:g} seconds" if seconds < 120 else f"{seconds / 60:.0f} minutes"


def error_message(text: str, loc: list[str | int] | None = None) -> dict[str, Any]:
    return {"type": "error", "message": text, "loc": loc or []}


@cache
def schema_bytes() -> bytes:
    """/api/schema's body: built once per process (~50 ms), then served as it is."""
    return json.dumps(json_schema(), separators=(",", ":")).encode()


ACKS = frozenset({'{"type":"ack"}', '{"type": "ack"}'})  # as the page and Python's json write it


def is_ack(text: str | None) -> bool:
    """Frame acknowledgements are tiny and frequent: recognised before the rate limit (the
    usual spellings at a glance, anything else that parses as one too)."""
    return text is not None and (text in ACKS or len(text) <= 40 and isinstance(parse(text, 40), Ack))


def parse(text: str, limit: int) -> Any:
    """A client message, or an error message dict saying what is wrong with it."""
    if len(text) > limit:
        return error_message(f"message too large: {len(text)} characters, at most {limit}")
    try:
        data = json.loads(text)
    except RecursionError:
        return error_message("malformed JSON: nested too deeply")
    except ValueError as e:  # bad syntax, or an integer of more than 4300 digits
        return error_message(f"malformed JSON: {e}")
    if not isinstance(data, dict) or "type" not in data:
        return error_message("a message is a JSON object with a 'type' field (configure, control, subscribe, command)")
    try:
        return client_message.validate_python(data)
    except ValidationError as e:
        message, loc = describe(e)
        return {"type": "error", "message": message, "loc": loc}


def dataset_preview(name: str, classes: int = DEFAULT_CLASSES) -> dict[str, Any]:
    xy, label = generate(name, noise=0.0, seed=0, classes=classes)
    xy, label = xy[:200], label[:200]
    return {
        "name": name,
        "problem": DATASETS[name].meta["problem"],
        "points": {"x1": xy[:, 0].round(2).tolist(), "x2": xy[:, 1].round(2).tolist(), "label": label.round(2).tolist()},
    }
