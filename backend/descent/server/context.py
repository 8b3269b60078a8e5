"""What the transport's routes share: the settings, the training device, where sessions
live (the host), which sessions exist (the roster) and the addresses barred for flooding."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from descent.runtime.hosting import Directory, Host
from descent.server.classrooms import Classroom
from descent.server.limits import Penalties
from descent.server.roster import Entry, Roster
from descent.settings import Settings


@dataclass
class Context:
    settings: Settings
    device: torch.device
    host: Host
    roster: Roster
    rooms: Classroom  # (in this process, or shared by a cluster's front ends: classrooms.py)
    penalties: Penalties = field(default_factory=Penalties)
    directory: Directory | None = None  # several front ends share the sessions (a Ray cluster)

    def reclaim(self, entries: list[Entry]) -> None:
        """Sessions the roster let go are removed from their host."""
        for entry in entries:
            self.rooms.forget(entry.session)
            self.host.remove(entry.session)
