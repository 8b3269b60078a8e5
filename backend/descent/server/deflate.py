"""The websocket transport's compression: permessage-deflate, context kept between
messages, at zlib level 1 instead of the default 6, and the server's side with zlib's full
window (15 bits) and memLevel 8 instead of uvicorn's 12 and 5.

Frames are mostly base64 arrays and numbers that level 1 packs nearly as small (a
default-setup frame of 10.6 kB: 4.3 kB at level 6, 4.7 kB at level 1) at a third or a
quarter of the CPU (big setup: 0.61 -> 0.15 ms a frame), and the event loop compresses every
frame of every client (docs/benchmarks.md, issue 21's figures: a fifth of the server's CPU).

The window: a frame is much like the one before it, and a 32 kB window holds the whole
previous frame of even the big setup (28 kB), where 4 kB held a seventh of it. Measured on
six consecutive frames compressed by one zlib stream (``python -m bench.load`` reports the
event loop's whole CPU per frame): big 389 -> 245 µs a frame, compressed 2.2 -> 2.8
times; default 162 -> 114 µs, 1.66 -> 1.87 times. (A small memLevel is slower, not faster: its hash table collides.) The
cost is memory: ~260 kB of zlib state per connection instead of ~40 kB, 52 MB at the
default limit of 200 sessions. What the client sends stays at 12 bits (it is small)."""

from __future__ import annotations

import logging
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.server import ServerProtocol

LEVEL = 1
WINDOW_BITS = 15  # the server's compression window: 32 kB
MEM_LEVEL = 8  # zlib's hash table: 2^(8+7) entries


class LightDeflate(WebSocketsSansIOProtocol):
    """uvicorn's websockets protocol, its deflate at ``LEVEL`` (pass as ``uvicorn.run(ws=...)``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.config.ws_per_message_deflate:  # (the connection is not open yet: nothing was negotiated)
            deflate = ServerPerMessageDeflateFactory(server_max_window_bits=WINDOW_BITS, client_max_window_bits=12,
                                                     compress_settings={"memLevel": MEM_LEVEL, "level": LEVEL})
            self.conn = ServerProtocol(extensions=[deflate], max_size=self.config.ws_max_size,
                                       logger=logging.getLogger("uvicorn.error"))
