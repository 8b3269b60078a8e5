"""The /ws endpoint: admit a client (origin, flood bar, capacity or resume), greet it, and
relay messages both ways until it leaves. The session lives in the host; this end only
passes text: the client's messages parsed and checked, the session's already encoded."""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any

import anyio
from fastapi import WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ValidationError

from descent import __version__
from descent.errors import describe
from descent.labs import LAB_NAMES
from descent.protocol import Ack, Error, Hello, client_message, to_json
from descent.runtime.bucket import TokenBucket
from descent.runtime.device import device_name
from descent.runtime.hosting import Directory
from descent.server.context import Context
from descent.server.limits import AckLimit
from descent.server.roster import Entry
from descent.server.security import origin_allowed
from descent.server.wire import LINGER_SECONDS, Outbox, abort, close_with, cut_off

log = logging.getLogger(__name__)
ACKS = frozenset({'{"type":"ack"}', '{"type": "ack"}'})  # as the page and Python's json write it


async def endpoint(context: Context, ws: WebSocket) -> None:
    settings, host, roster = context.settings, context.host, context.roster
    await ws.accept()
    origin = ws.headers.get("origin")
    if not origin_allowed(origin, ws.headers.get("host"), settings.allowed_origins):
        log.warning("websocket from origin %r refused", origin)
        await close_with(ws, 1008, f"origin {origin!r} is not allowed to connect (set DESCENT_ALLOWED_ORIGINS)")
        return
    client = ws.client.host if ws.client else "unknown"
    barred = context.penalties.remaining(client, time.monotonic())
    if barred:
        await close_with(ws, 1008, f"your address was closed for flooding: wait {barred:.0f} s before connecting again")
        return

    entry, resume_error, connection = None, None, None
    token = ws.query_params.get("resume")
    if token:
        if context.directory is not None:  # (its session may have been made through another front end)
            await adopt(context, context.directory, token[:64])
        entry, resume_error = roster.resume(token[:64], ws, time.monotonic())
    if entry is None:
        refusal, reclaimed = roster.admit(client)
        context.reclaim(reclaimed)
        refusal = refusal or host.room()  # past training capacity: refused, not everyone slower
        if refusal:
            await close_with(ws, 1013, refusal)
            return
        entry = roster.add(secrets.token_urlsafe(9), client, ws, time.monotonic())
        host.create(entry.session)
        if context.directory is not None:
            context.directory.publish(entry.token, entry.session, client)
    try:
        hello = Hello(session=entry.session, token=entry.token, resumed=resume_error is None and bool(token),
                      resume_error=resume_error, device=device_name(context.device), version=__version__,
                      labs=list(LAB_NAMES), limits=settings.limits())
        connection = Connection(context, ws, entry)
        await connection.serve(hello)
    finally:
        if connection is not None:
            context.rooms.left(connection)
        if roster.detach(entry, ws, time.monotonic()):
            host.detach(entry.session)
        # however it ended (the client left, a close, the server shutting down), a client
        # that does not read must not keep the connection: uvicorn waits for every
        # connection to close before it stops, and its close waits on what is unread
        abort(ws, after=LINGER_SECONDS)


async def adopt(context: Context, directory: Directory, token: str) -> None:
    """Claim ``token``'s session from the cluster: served through this front end from now on."""
    try:
        found = await directory.claim(token)
    except Exception:  # (the cluster did not answer: the token is judged by this front end alone)
        log.exception("claiming a session token failed")
        return
    if found is not None:
        context.roster.adopt(found[0], token, found[1], time.monotonic())


class Connection:
    """One client's connection to its session: three tasks (send what the session says,
    receive what the client says, cut off a client that does not read)."""

    def __init__(self, context: Context, ws: WebSocket, entry: Entry) -> None:
        self.context, self.settings, self.ws, self.entry = context, context.settings, ws, entry
        self.sid, self.client = entry.session, entry.client
        self.outbox = Outbox(ws, self.settings.max_outbox, self.settings.max_unread_bytes, self.settings.max_unread_seconds)
        self.put, self.deliver = self.outbox.put, self.outbox.deliver  # (a room's seat: rooms.Seat)
        self.acks = AckLimit()  # acks reach the session only for frames sent (frames.py keeps the credit)
        now = time.monotonic()
        self.rate = TokenBucket(self.settings.messages_per_second, self.settings.message_burst, now)
        # dropped messages are forgiven at the message rate; past flood_messages the connection is closed
        self.flood = TokenBucket(self.settings.messages_per_second, self.settings.flood_messages, now)
        self.told_at = -1.0  # when the client was last told it is too fast (told once a second)

    async def serve(self, hello: Hello) -> None:
        """Greet the client, hand the session its messages, and relay what it sends."""
        await self.ws.send_text(to_json(hello))
        self.context.host.attach(self.sid, self.context.rooms.deliver_for(self))
        self.context.rooms.reconnected(self)
        async with anyio.create_task_group() as tg:
            tg.start_soon(self.sender, tg.cancel_scope)
            tg.start_soon(self.watcher, tg.cancel_scope)
            try:
                await self.receiver()
            except (WebSocketDisconnect, RuntimeError, OSError):
                pass
            tg.cancel_scope.cancel()

    async def sender(self, scope: anyio.CancelScope) -> None:
        try:
            while True:
                kind, text, patience = await self.outbox.get()
                if kind == "frame":
                    self.acks.frame_sent()  # (before the send: its ack may come before the send returns)
                if not await self.outbox.send(text, patience):
                    return  # the client does not read: the watcher cuts it off
        except (WebSocketDisconnect, RuntimeError, OSError):
            scope.cancel()  # the client is gone

    async def watcher(self, scope: anyio.CancelScope) -> None:
        await self.outbox.cut.wait()
        await cut_off(self.ws, self.outbox.reason)
        scope.cancel()

    async def receiver(self) -> None:
        host, settings = self.context.host, self.settings
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                if message.get("code") == 1012:  # the server is stopping: it waits for this connection
                    abort(self.ws)
                return
            now = time.monotonic()
            self.context.roster.touch(self.entry, now)
            text = message.get("text")
            if is_ack(text):
                verdict = self.acks.ack()
                if verdict == "take back":
                    host.ack(self.sid)
                elif verdict == "excess" and not await self.dropped(now, "too many acks: at most one per frame received"):
                    return
                continue
            if not self.rate.take(now):
                why = f"too many messages: at most {settings.messages_per_second:g} per second (bursts of {settings.message_burst})"
                if not await self.dropped(now, why):
                    return
                continue
            if text is None:
                self.reply(Error(message="binary frames are not accepted; send JSON text messages"))
                continue
            parsed = parse(text, settings.max_message_bytes)
            if getattr(parsed, "type", None) == "room":  # (a room message: teaching.py)
                self.context.rooms.handle(self, parsed)
                continue
            refused = parsed if isinstance(parsed, Error) else self.context.rooms.refusal(self.sid, parsed)
            if refused is not None:
                self.reply(refused)
            else:
                host.handle(self.sid, parsed)

    async def dropped(self, now: float, why: str) -> bool:
        """A message was dropped: tell the client (once a second); False if it is flooding
        and has been closed."""
        if not self.flood.take(now):
            self.context.penalties.bar(self.entry.client, now, self.settings.flood_penalty_seconds)
            await close_with(self.ws, 1008, f"closed: kept sending after {self.settings.flood_messages} dropped messages ({why})")
            return False
        if now - self.told_at >= 1.0:
            self.told_at = now
            self.reply(Error(message=f"{why}; this one was dropped"))
        return True

    def reply(self, message: Error) -> None:
        """Answers go through the outbox too: a client that does not read them is bounded alike."""
        self.outbox.put(message.type, to_json(message))


def is_ack(text: str | None) -> bool:
    """Frame acknowledgements are tiny and frequent: recognised before the rate limit (the
    usual spellings at a glance, anything else that parses as one too)."""
    return text is not None and (text in ACKS or len(text) <= 40 and isinstance(parse(text, 40), Ack))


def parse(text: str, limit: int) -> BaseModel | Error:
    """A client message, or the error saying what is wrong with it."""
    if len(text) > limit:
        return Error(message=f"message too large: {len(text)} characters, at most {limit}")
    try:
        data: Any = json.loads(text)
    except RecursionError:
        return Error(message="malformed JSON: nested too deeply")
    except ValueError as e:  # bad syntax, or an integer of more than 4300 digits
        return Error(message=f"malformed JSON: {e}")
    if not isinstance(data, dict) or "type" not in data:
        return Error(message="a message is a JSON object with a 'type' field (configure, control, subscribe, command)")
    try:
        message: BaseModel = client_message.validate_python(data)
        return message
    except ValidationError as e:
        text, loc = describe(e)
        return Error(message=text, loc=loc)
