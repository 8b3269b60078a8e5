"""The transport: FastAPI routes, the /ws protocol endpoint and the static page."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import anyio
import anyio.abc
import plotly
from fastapi import FastAPI, Query, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from . import PROTOCOL_VERSION, __version__, static
from .datasets import CLASSES, DATASETS, DEFAULT_CLASSES, generate
from .device import choose_device, device_name
from .errors import describe
from .labs import LAB_NAMES
from .limits import TokenBucket
from .protocol import Ack, client_message, json_schema
from .roster import Entry, Roster
from .security import SecurityHeaders, origin_allowed, redact_tokens_in_logs
from .hosting import Host, LocalHost
from .processes import ProcessHost, default_processes
from .settings import Settings

log = logging.getLogger(__name__)
FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    device = choose_device(settings.device)
    host = make_host(settings, device)
    roster = Roster(settings)

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
    app.add_middleware(SecurityHeaders, frame_ancestors=settings.frame_ancestors)
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

    @app.get("/api/schema")
    def api_schema() -> dict[str, Any]:
        """JSON Schema of every websocket message and of each lab's config and views."""
        return json_schema()

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
        loop = asyncio.get_running_loop()
        outbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

        def deliver(kind: str, text: str) -> None:  # called on a training or pipe thread
            if outbox.qsize() >= settings.max_outbox:  # the client is not reading: cut it off
                loop.call_soon_threadsafe(outbox.put_nowait, ("overflow", ""))
                return
            loop.call_soon_threadsafe(outbox.put_nowait, (kind, text))

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
            await serve(ws, entry, sid, deliver, outbox, token, resume_error)
        finally:
            if roster.detach(entry, ws, time.monotonic()):
                host.detach(sid)

    async def serve(
        ws: WebSocket,
        entry: Entry,
        sid: str,
        deliver: Callable[[str, str], None],
        outbox: asyncio.Queue[tuple[str, str]],
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

        host.attach(sid, deliver)
        # once the client acks frames, its acks take frames back and "delivered" is news to no one
        acking = False

        async def sender(scope: anyio.CancelScope) -> None:
            try:
                while True:
                    kind, text = await outbox.get()
                    if kind == "overflow":
                        await close_with(ws, 4008, f"more than {settings.max_outbox} messages queued unread; reconnect")
                        break
                    await ws.send_text(text)
                    if kind == "frame" and not acking:
                        host.frame_sent(sid)
            except (WebSocketDisconnect, RuntimeError, OSError):
                pass  # the client is gone
            scope.cancel()

        async def receiver() -> None:
            nonlocal acking
            rate = TokenBucket(settings.messages_per_second, settings.message_burst, time.monotonic())
            told_at = -1.0  # when the client was last told it is too fast (told once a second)
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                now = time.monotonic()
                roster.touch(entry, now)
                if is_ack(message.get("text")):
                    acking = True
                    host.ack(sid)
                    continue
                if not rate.take(now):
                    if now - told_at >= 1.0:
                        told_at = now
                        await ws.send_json(error_message(f"too many messages: at most {settings.messages_per_second:g} per second (bursts of {settings.message_burst}); this one was dropped"))
                    continue
                text = message.get("text")
                if text is None:
                    await ws.send_json(error_message("binary frames are not accepted; send JSON text messages"))
                    continue
                reply = parse(text, settings.max_message_bytes)
                if isinstance(reply, dict):
                    await ws.send_json(reply)
                else:
                    host.handle(sid, reply)

        async with anyio.create_task_group() as tg:
            tg.start_soon(sender, tg.cancel_scope)
            try:
                await receiver()
            except (WebSocketDisconnect, RuntimeError):
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


async def close_with(ws: WebSocket, code: int, reason: str) -> None:
    """Tell the client why (an error message, then the close reason) and close."""
    try:
        await ws.send_json(error_message(reason))
        await ws.close(code=code, reason=reason[:120])  # a close reason is at most 123 bytes
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass


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
