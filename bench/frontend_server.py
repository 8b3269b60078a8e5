"""`python -m bench.frontend_server PATH`: this checkout's server (`python -m descent`)
serving the page of another checkout's `frontend/` folder, so that bench/page.py measures
two pages against the same server (before and after a change to the page)."""

from __future__ import annotations

import sys
from pathlib import Path

import descent.server.app
from descent.__main__ import main

if __name__ == "__main__":
    frontend = Path(sys.argv[1]).resolve()
    if not (frontend / "index.html").is_file():
        sys.exit(f"{frontend} has no index.html: give a checkout's frontend folder")
    descent.server.app.FRONTEND = frontend  # (create_app reads it when it builds the routes)
    main()
