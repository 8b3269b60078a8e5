"""The transport: FastAPI routes, the /ws protocol endpoint and the static page."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import anyio
import plotly
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError

from . import __version__
from .datasets import DATASETS, generate
from .device import choose_device, device_name
from .errors import describe
from .protocol import client_message, json_schema
from .session import Session
from .settings import Settings
from .worker import Worker

log = logging.getLogger(__name__)
FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    device = choose_device(settings.device)
    worker = Worker()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker.start()
        yield
        worker.stop()

    app = FastAPI(title="Descent", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.worker = worker

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        """Liveness, the training device and the version."""
        return {"status": "ok", "device": device_name(device), "version": __version__, "sessions": len(worker.sessions)}

    @app.get("/api/schema")
    def api_schema() -> dict[str, Any]:
        """JSON Schema of every websocket message and of each lab's config and views."""
        return json_schema()

    @app.get("/api/datasets")
    def api_datasets() -> list[dict[str, Any]]:
        """Each 2-D dataset with its problem type and a sample of its points (for previews)."""
        return [dataset_preview(entry.name) for entry in DATASETS]

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(PLOTLY_JS, media_type="text/javascript")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(FRONTEND / "index.html")

    app.mount("/static", StaticFiles(directory=FRONTEND), name="static")

    @app.websocket("/ws")
    async def ws_endpoint(ws: WebSocket) -> None:
        await ws.accept()
        if len(worker.sessions) >= settings.max_sessions:
            await ws.send_json({"type": "error", "message": "the server is full, try again in a moment", "loc": []})
            await ws.close(code=1013)
            return
        loop = asyncio.get_running_loop()
        outbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

        def send(message: dict[str, Any]) -> None:  # called on the worker thread
            text = json.dumps(message, allow_nan=False)
            loop.call_soon_threadsafe(outbox.put_nowait, (message["type"], text))

        session_id = secrets.token_urlsafe(12)
        session = await worker.call(lambda: Session(session_id, device, send))
        await ws.send_json(
            {"type": "hello", "protocol": 1, "session": session_id, "device": device_name(device), "version": __version__}
        )

        def start() -> None:
            worker.add(session)
            session.start()

        worker.submit(start)

        async def sender(scope: anyio.CancelScope) -> None:
            try:
                while True:
                    kind, text = await outbox.get()
                    await ws.send_text(text)
                    if kind == "frame":
                        session.frame_sent()
                        worker.wake()
            except (WebSocketDisconnect, RuntimeError, OSError):
                scope.cancel()  # the client is gone

        async def receiver() -> None:
            while True:
                text = await ws.receive_text()
                reply = parse(text, settings.max_message_bytes)
                if isinstance(reply, dict):
                    await ws.send_json(reply)
                else:
                    worker.submit(lambda m=reply: session.handle(m))

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(sender, tg.cancel_scope)
                try:
                    await receiver()
                except WebSocketDisconnect:
                    pass
                tg.cancel_scope.cancel()
        finally:
            worker.submit(lambda: worker.remove(session_id))

    return app


def parse(text: str, limit: int) -> Any:
    """A client message, or an error message dict saying what is wrong with it."""
    if len(text) > limit:
        return {"type": "error", "message": f"message too large: {len(text)} bytes, at most {limit}", "loc": []}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        return {"type": "error", "message": f"malformed JSON: {e}", "loc": []}
    try:
        return client_message.validate_python(data)
    except ValidationError as e:
        message, loc = describe(e)
        return {"type": "error", "message": message, "loc": loc}


def dataset_preview(name: str) -> dict[str, Any]:
    xy, label = generate(name, noise=0.0, seed=0)
    xy, label = xy[:200], label[:200]
    return {
        "name": name,
        "problem": DATASETS[name].meta["problem"],
        "points": {"x1": xy[:, 0].round(2).tolist(), "x2": xy[:, 1].round(2).tolist(), "label": label.round(2).tolist()},
    }
