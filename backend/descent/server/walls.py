"""A room's wall as a file: GET /api/rooms/{code}/wall?format=csv|json, guarded by the
teacher token (header ``X-Teacher-Token``; a wrong one counts as a failed join attempt).
Each student's name, setup and last losses (rooms.rows); an ended room's stays a while (rooms.archive)."""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import Response

from descent.server.context import Context

COLUMNS = ("name", "lab", "optimizer", "learning_rate", "epoch", "state", "train_loss", "test_loss", "test_accuracy", "diverged", "setup")


def as_csv(data: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS)
    writer.writeheader()
    for row in data:
        name = str(row["name"])
        # (a spreadsheet runs a cell that starts with =, +, - or @ as a formula)
        row = {**row, "name": "'" + name if name[:1] in "=+-@" else name, "setup": json.dumps(row["setup"], separators=(",", ":"))}
        writer.writerow(row)
    return buffer.getvalue()


def router(context: Context) -> APIRouter:
    api = APIRouter()
    rooms = context.rooms

    @api.get("/api/rooms/{code}/wall")
    async def wall(code: str, request: Request, format: Annotated[Literal["csv", "json"], Query()] = "csv",
                   x_teacher_token: Annotated[str, Header(max_length=64)] = "") -> Response:
        """A room's wall (name, setup, final losses of each student) as CSV or JSON; teacher token required."""
        client = request.client.host if request.client else "unknown"
        code = code.strip().upper()[:16]
        data = await rooms.download(code, x_teacher_token, client)  # (a wrong token counts as a failed join attempt)
        if data is None:
            raise HTTPException(403, "unknown room or wrong teacher token (header X-Teacher-Token)")
        headers = {"Content-Disposition": f'attachment; filename="descent-{code}.{format}"', "Cache-Control": "no-store"}
        if format == "json":
            return Response(json.dumps({"room": code, "students": data}, indent=1), media_type="application/json", headers=headers)
        return Response(as_csv(data), media_type="text/csv", headers=headers)

    return api
