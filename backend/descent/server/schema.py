"""The document /api/schema serves: every protocol message (descent/protocol.py) and, per
lab, its config, frame views and command args, read from each lab's schema module. It
lives above both, so the protocol never imports the labs."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from descent import PROTOCOL_VERSION
from descent.labs import LAB_NAMES, config_model, schema
from descent.protocol import ClientMessage, ServerMessage


def json_schema() -> dict[str, Any]:
    """The JSON Schema of every message, and of each lab's config, frame views and command args."""
    return {
        "protocol": PROTOCOL_VERSION,
        "client": TypeAdapter(ClientMessage).json_schema(),
        "server": TypeAdapter(ServerMessage).json_schema(),
        "labs": {
            name: {
                "title": getattr(schema(name), "TITLE", name),  # the lab's tab on the page (in LAB_NAMES order)
                "config": config_model(name).model_json_schema(),
                "views": schema(name).Views.model_json_schema(),
                # each lab command's args (an unknown key, a wrong type or a value out of range is an error)
                "commands": {command: args.model_json_schema() for command, args in schema(name).COMMANDS.items()},
            }
            for name in LAB_NAMES
        },
    }
