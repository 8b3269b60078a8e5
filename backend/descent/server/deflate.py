"""The websocket transport's compression: permessage-deflate as uvicorn negotiates it
(12-bit windows, memLevel 5, context kept between messages), at zlib level 1 instead of
the default 6.

Frames are mostly base64 arrays and numbers that level 1 packs nearly as small (a
default-setup frame of 10.6 kB: 4.3 kB at level 6, 4.7 kB at level 1) at a third or a
quarter of the CPU (big setup: 0.61 -> 0.15 ms a frame), and the event loop compresses every
frame of every client (docs/benchmarks.md, issue 21's figures: a fifth of the server's CPU)."""

from __future__ import annotations

import logging
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.server import ServerProtocol

LEVEL = 1


class LightDeflate(WebSocketsSansIOProtocol):
    """uvicorn's websockets protocol, its deflate at ``LEVEL`` (pass as ``uvicorn.run(ws=...)``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.config.ws_per_message_deflate:  # (the connection is not open yet: nothing was negotiated)
            deflate = ServerPerMessageDeflateFactory(server_max_window_bits=12, client_max_window_bits=12,
                                                     compress_settings={"memLevel": 5, "level": LEVEL})
            self.conn = ServerProtocol(extensions=[deflate], max_size=self.config.ws_max_size,
                                       logger=logging.getLogger("uvicorn.error"))
