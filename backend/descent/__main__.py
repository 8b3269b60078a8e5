"""`python -m descent`: serve Descent with uvicorn (HOST/PORT override the address)."""

import logging

import uvicorn

from descent.server.app import create_app
from descent.server.deflate import LightDeflate
from descent.server.security import redact_tokens_in_logs
from descent.settings import Settings


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    settings = Settings.from_env()
    redact_tokens_in_logs()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        # Frames a little over the message limit still get a clear error from the app;
        # far bigger ones are cut off by the transport before they are buffered (close 1009).
        ws_max_size=4 * settings.max_message_bytes,
        ws=LightDeflate,  # (permessage-deflate at level 1: deflate.py)
    )


if __name__ == "__main__":
    main()
