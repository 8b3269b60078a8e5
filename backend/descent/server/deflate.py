"""The websocket transport's compression: permessage-deflate as uvicorn negotiates it
(12-bit windows, memLevel 5, context kept between messages), at zlib level 1 instead of
the default 6.

Frames are mostly base64 arrays and numbers that level 1 packs nearly as small (a
default-setup frame of 10.6 kB: 4.3 kB at level 6, 4.7 kB at level 1) at a third or a
quarter of the CPU (big setup: 0.61 -> 0.15 ms a frame), and the event loop compresses every
frame of every client (docs/benchmarks.md, issue 21's figures: a fifth of the server's CPU).

A larger window was tried and left: zlib's full 32 kB window with memLevel 8 compressed one
client's consecutive big frames in 245 µs instead of 389, and 2.8 times instead of 2.2 (the
window holds the whole previous frame), but fifty clients' streams, interleaved as a class
sends them, took as long with either (~240 µs a 17 kB frame: each stream's state is cold in
the cache by its turn, and a busy worker's light frames (runtime/pressure.py) alternate
with detailed ones, so the previous frame alike is no longer in the window), for six times
the memory per connection."""

from __future__ import annotations

import logging
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.server import ServerProtocol

LEVEL = 1
WINDOW_BITS = 12  # the server's compression window: 4 kB (uvicorn's)
MEM_LEVEL = 5  # zlib's hash table: 2^(5+7) entries (uvicorn's)


class LightDeflate(WebSocketsSansIOProtocol):
    """uvicorn's websockets protocol, its deflate at ``LEVEL`` (pass as ``uvicorn.run(ws=...)``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.config.ws_per_message_deflate:  # (the connection is not open yet: nothing was negotiated)
            deflate = ServerPerMessageDeflateFactory(server_max_window_bits=WINDOW_BITS, client_max_window_bits=12,
                                                     compress_settings={"memLevel": MEM_LEVEL, "level": LEVEL})
            self.conn = ServerProtocol(extensions=[deflate], max_size=self.config.ws_max_size,
                                       logger=logging.getLogger("uvicorn.error"))
