"""The HTTP API: liveness, the JSON Schema of the protocol, and the read-only data each lab
offers its page (``descent.labs.<lab>.offers``: the transport mounts them without naming
any lab)."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
from collections.abc import Callable
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel

from descent import __version__
from descent.labs import LAB_NAMES
from descent.runtime.device import device_name
from descent.server.context import Context
from descent.server.schema import json_schema

Offer = tuple[type[BaseModel], Callable[[Any], Any]]  # (its query's model, what answers it)


def router(context: Context) -> APIRouter:
    api = APIRouter()
    roster = context.roster

    @api.get("/healthz")
    def healthz() -> dict[str, Any]:
        """Liveness, the training device and the version."""
        return {
            "status": "ok",
            "device": device_name(context.device),
            "version": __version__,
            "sessions": len(roster),
            "connected": sum(1 for e in roster.entries.values() if e.connection is not None),
        }

    @api.get("/api/schema", response_class=Response, responses={200: {"content": {"application/json": {}}}})
    def api_schema() -> Response:
        """JSON Schema of every websocket message and of each lab's config and views."""
        return Response(schema_bytes(), media_type="application/json")

    @api.get("/api/embed")
    def embed() -> dict[str, Any]:
        """Who may drive an embedded page with postMessage (docs/embed.md): its origins, "*" = any."""
        return {"origins": context.settings.embed_origins}

    for name, (query, answer) in lab_offers().items():
        api.add_api_route(f"/api/{name}", endpoint(query, answer), methods=["GET"], summary=answer.__doc__)
    return api


@cache
def schema_bytes() -> bytes:
    """/api/schema's body: built once per process (~50 ms), then served as it is."""
    return json.dumps(json_schema(), separators=(",", ":")).encode()


def lab_offers() -> dict[str, Offer]:
    """What each lab's ``offers`` module offers (``OFFERS``: name -> (query model, answer)),
    served at /api/<name>; two labs offering one name is a mistake caught at start."""
    offers: dict[str, Offer] = {}
    for lab in LAB_NAMES:
        module = f"descent.labs.{lab}.offers"
        if importlib.util.find_spec(module) is None:
            continue
        for name, offer in importlib.import_module(module).OFFERS.items():
            if name in offers or name in ("schema", "embed"):
                raise ValueError(f"/api/{name} is offered twice (lab {lab})")
            offers[name] = offer
    return offers


def endpoint(query: type[BaseModel], answer: Callable[[Any], Any]) -> Callable[..., Any]:
    """A route for ``answer``: its query string validated by ``query`` (422 naming the
    field and its range, as FastAPI words it)."""

    def route(params: BaseModel) -> Any:
        return answer(params)

    # FastAPI reads the parameters from the signature (inspect honours __signature__): one query model
    route.__dict__["__signature__"] = inspect.Signature(
        [inspect.Parameter("params", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Annotated[query, Query()])])
    return route
