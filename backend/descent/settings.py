"""Server settings, read once from the environment (DESCENT_* variables)."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, Field


class Settings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    # "auto" picks cuda:0 when available, else cpu; "cpu" or "cuda[:N]" force one.
    device: str = "auto"
    max_sessions: int = Field(200, ge=1)
    max_message_bytes: int = Field(64 * 1024, ge=1024)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            key = f"DESCENT_{name.upper()}"
            if key in env:
                values[name] = env[key]
        # HOST/PORT are the README's documented overrides.
        for name in ("host", "port"):
            if name.upper() in env and f"DESCENT_{name.upper()}" not in env:
                values[name] = env[name.upper()]
        return cls.model_validate(values)
