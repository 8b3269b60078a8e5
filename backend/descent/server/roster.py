"""Which sessions exist, who holds them, and when they are reclaimed.

A session is created for a connection and handed a secret token. When the connection goes,
the session stays (detached, not training) for ``resume_grace_seconds`` so a reload or a
dropped connection can take it back with the token; after that, or after
``idle_timeout_seconds`` without a client message, it is reclaimed. The roster also
enforces the session limits, in total and per client address.

Runs on the event loop only (no locks): the transport calls it, the worker never does."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from descent.settings import Settings


@dataclass(eq=False)
class Entry:
    session: str  # the session's id (the host holds the session)
    token: str
    client: str  # the client's address
    last_input: float
    connection: Any = None  # the live connection holding it; None while detached
    detached_at: float | None = None


class Roster:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.entries: dict[str, Entry] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def count(self, client: str) -> int:
        return sum(1 for e in self.entries.values() if e.client == client)

    def admit(self, client: str) -> tuple[str | None, list[Entry]]:
        """May ``client`` get a new session? Makes room by reclaiming the oldest detached
        sessions (its own first). Returns (refusal message or None, reclaimed entries)."""
        reclaimed: list[Entry] = []
        s = self.settings

        def reclaim_oldest(of_client: str | None) -> bool:
            detached = [e for e in self.entries.values() if e.connection is None and of_client in (None, e.client)]
            if not detached:
                return False
            oldest = min(detached, key=lambda e: e.detached_at or 0.0)
            reclaimed.append(self.entries.pop(oldest.token))
            return True

        while self.count(client) >= s.max_sessions_per_client:
            if not reclaim_oldest(client):
                return f"too many sessions from your address: at most {s.max_sessions_per_client}; close another tab", reclaimed
        while len(self.entries) >= s.max_sessions:
            if not reclaim_oldest(None):
                return f"the server is full ({s.max_sessions} sessions); try again in a moment", reclaimed
        return None, reclaimed

    def add(self, session: str, client: str, connection: Any, now: float) -> Entry:
        entry = Entry(session, secrets.token_urlsafe(24), client, now, connection)
        self.entries[entry.token] = entry
        return entry

    def adopt(self, session: str, token: str, client: str, now: float) -> None:
        """A session made through another front end, whose client came back here (its token
        claimed from the cluster, see hosting.Directory): held as a detached one."""
        if token not in self.entries:
            self.entries[token] = Entry(session, token, client, now, None, now)

    def resume(self, token: str, connection: Any, now: float) -> tuple[Entry | None, str | None]:
        """Attach ``connection`` to the session holding ``token``: (entry, None), or
        (None, why not). A session another connection still holds is not taken over (a
        duplicated tab gets its own session instead of fighting over one)."""
        entry = self.entries.get(token)
        if entry is None:
            return None, "unknown or expired session token"
        if entry.connection is not None:
            return None, "that session is open in another connection"
        entry.connection, entry.detached_at, entry.last_input = connection, None, now
        return entry, None

    def touch(self, entry: Entry, now: float) -> None:
        entry.last_input = now

    def detach(self, entry: Entry, connection: Any, now: float) -> bool:
        """``connection`` is gone. True if it held the session (which now awaits resume)."""
        if entry.connection is not connection or self.entries.get(entry.token) is not entry:
            return False
        entry.connection, entry.detached_at = None, now
        return True

    def expired(self, now: float) -> list[Entry]:
        """Remove and return the sessions to reclaim: detached past the grace period, or
        without client input past the idle timeout (the caller closes their connection)."""
        s = self.settings
        gone = [
            e
            for e in self.entries.values()
            if (e.detached_at is not None and now - e.detached_at >= s.resume_grace_seconds)
            or now - e.last_input >= s.idle_timeout_seconds
        ]
        for e in gone:
            del self.entries[e.token]
        return gone
