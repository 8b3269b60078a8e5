"""Shared fixtures: a TestClient app, a real uvicorn server, and a headless Chromium page."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = os.environ.get("DESCENT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def client() -> Iterator[TestClient]:
    from descent.server.app import create_app
    from descent.settings import Settings

    with TestClient(create_app(Settings(device="cpu", worker_processes=0))) as c:
        yield c


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A real uvicorn server running Descent on a free loopback port (worker processes as
    in production: one per core)."""
    from bench.common import running_server

    with running_server({"DESCENT_DEVICE": "cpu"}, "server") as (url, _, _):
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: run `make browser` (installs Debian's chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: object, server_url: str) -> Iterator[object]:
    """A fresh 1280x800 page; console errors fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.base_url = server_url  # type: ignore[attr-defined]
    # waits are for events; their limit is only a safety net, wide for a loaded machine
    pg.set_default_timeout(60_000)  # type: ignore[attr-defined]
    yield pg
    context.close()
    assert not errors, f"page errors: {errors}"


def screenshot(pg: object, name: str) -> Path:
    """Save a screenshot under artifacts/ (kept by CI as a test artifact)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    pg.screenshot(path=str(path))  # type: ignore[attr-defined]
    return path
