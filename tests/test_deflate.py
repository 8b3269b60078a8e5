"""The websocket transport compresses at zlib level 1 (server/deflate.py): a real server
negotiates permessage-deflate with a real client, and frames arrive whole."""

from __future__ import annotations

import asyncio
import json

import uvicorn
import websockets

from bench.common import run_in_thread
from descent.server.deflate import LEVEL, MEM_LEVEL, WINDOW_BITS, LightDeflate


def test_the_protocol_deflates_at_level_one() -> None:
    config = uvicorn.Config(lambda *a: None, ws_per_message_deflate=True)
    config.load()
    protocol = LightDeflate(config, uvicorn.server.ServerState(), {}, _loop=asyncio.new_event_loop())
    (factory,) = protocol.conn.available_extensions
    assert factory.compress_settings == {"memLevel": MEM_LEVEL, "level": LEVEL} and (LEVEL, MEM_LEVEL) == (1, 5)
    assert (factory.server_max_window_bits, factory.client_max_window_bits) == (WINDOW_BITS, 12) and WINDOW_BITS == 12


def test_a_real_server_negotiates_deflate_and_frames_arrive_whole(server_url: str) -> None:
    async def scenario() -> None:
        async with websockets.connect(server_url.replace("http", "ws") + "/ws", compression="deflate") as ws:
            assert [type(e).__name__ for e in ws.protocol.extensions] == ["PerMessageDeflate"]
            assert json.loads(await ws.recv())["type"] == "hello"
            await ws.send(json.dumps({"type": "control", "action": "play"}))
            while True:
                message = json.loads(await ws.recv())
                if message["type"] == "frame" and message["state"] == "running":
                    break
            assert message["views"]["boundary"]  # (a heavy array came through)

    run_in_thread(scenario())  # (a browser test earlier in the session leaves Playwright's loop on this thread)
