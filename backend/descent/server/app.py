"""The transport, assembled: the HTTP API (api.py), the /ws endpoint (socket.py), the
static page (static.py), the middleware, and the janitor that reclaims idle sessions."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import anyio.abc
import plotly
import torch
from fastapi import FastAPI, WebSocket

from descent import __version__
from descent.runtime.device import choose_device
from descent.runtime.hosting import Directory, Host, LocalHost
from descent.runtime.processes import ProcessHost, default_processes
from descent.server import api, socket, static, walls
from descent.server.classrooms import Classroom, LocalClassroom
from descent.server.context import Context
from descent.server.roster import Roster
from descent.server.security import ApiRateLimit, SecurityHeaders, redact_tokens_in_logs
from descent.server.wire import KeepTransport, close_with
from descent.settings import Settings

log = logging.getLogger(__name__)
FRONTEND = Path(__file__).resolve().parents[3] / "frontend"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    device = choose_device(settings.device)
    host = make_host(settings, device)
    context = Context(settings, device, host, Roster(settings), make_classroom(settings, host), directory=host if isinstance(host, Directory) else None)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redact_tokens_in_logs()
        await anyio.to_thread.run_sync(host.start)  # (worker processes take seconds to import torch)
        await anyio.to_thread.run_sync(context.rooms.start)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(janitor, context)
                tg.start_soon(context.rooms.run)
                yield
                tg.cancel_scope.cancel()
        finally:
            await anyio.to_thread.run_sync(context.rooms.stop)
            await anyio.to_thread.run_sync(host.stop)

    app = FastAPI(title="Descent", version=__version__, lifespan=lifespan)
    app.add_middleware(ApiRateLimit, rate=settings.api_requests_per_second, burst=settings.api_burst)
    app.add_middleware(SecurityHeaders, frame_ancestors=settings.frame_ancestors)  # (outside: on 429s too)
    app.add_middleware(KeepTransport)
    app.state.settings = settings
    app.state.host = host
    if isinstance(host, LocalHost):
        app.state.worker = host.worker  # (tests reach into the training thread)
    app.state.roster = context.roster

    app.include_router(api.router(context))
    app.include_router(walls.router(context))

    # The page's files, gzipped once and sent with ETag and Cache-Control (static.py);
    # paths resolve inside FRONTEND only (no ../, no symlink out).
    app.add_route("/vendor/plotly.min.js", static.file_route(PLOTLY_JS, static.ONE_DAY), include_in_schema=False)
    app.add_route("/", static.file_route(FRONTEND / "index.html", static.REVALIDATE), include_in_schema=False)
    # the embed API's example course page (docs/embed.md)
    app.add_route("/embed-example.html", static.file_route(FRONTEND / "embed-example.html", static.REVALIDATE), include_in_schema=False)
    app.mount("/static", static.CompressedFiles(FRONTEND), name="static")

    @app.websocket("/ws")
    async def ws_endpoint(ws: WebSocket) -> None:
        await socket.endpoint(context, ws)

    return app


def make_host(settings: Settings, device: torch.device) -> Host:
    """Worker processes (one per core on the CPU, one for the GPU) unless the setting asks
    for 0: then one training thread inside the server process. With ``ray_address`` set,
    actors on that Ray cluster (imported only then: one machine needs no Ray)."""
    if settings.ray_address:
        from descent.runtime.rayhost import RayHost

        return RayHost(settings)
    processes = default_processes(device) if settings.worker_processes is None else settings.worker_processes
    if processes == 0:
        return LocalHost(settings, device)
    return ProcessHost(settings, device, processes)


def make_classroom(settings: Settings, host: Host) -> Classroom:
    """The rooms in this process, or (on a Ray cluster) shared by every front end."""
    if settings.ray_address:
        from descent.server.rayclassroom import RayClassroom

        return RayClassroom(settings, host)
    return LocalClassroom(settings, host)


async def janitor(context: Context) -> None:
    async with anyio.create_task_group() as tg:
        while True:
            await anyio.sleep(1.0)
            reap(context, tg)
            context.host.check()  # a dead training thread is replaced, its sessions told


def reap(context: Context, tg: anyio.abc.TaskGroup) -> None:
    """Reclaim expired sessions; close the idle ones still connected, each in a task of its
    own (a client that does not read must not hold up the janitor). A function of its own,
    too, so no local outlives the call and keeps a reclaimed session alive."""
    gone = context.roster.expired(time.monotonic())
    context.reclaim(gone)
    for entry in gone:
        if entry.connection is not None:
            idle = duration(context.settings.idle_timeout_seconds)
            tg.start_soon(close_with, entry.connection, 4000, f"session closed after {idle} without input; reload to start again")


def duration(seconds: float) -> str:
    """60 -> '60 seconds', 3600 -> '60 minutes' (for messages)."""
    return f"{seconds:g} seconds" if seconds < 120 else f"{seconds / 60:.0f} minutes"
