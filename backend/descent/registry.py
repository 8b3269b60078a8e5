"""A name -> implementation table. One registry per kind of option (optimizers,
activations, datasets ...); the names are the values users put in configs and URLs.

Registries are torch-free at import time so config schemas can list their names;
entries import torch lazily inside their factories."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T", bound=Callable[..., Any])


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    fn: T
    meta: dict[str, Any] = field(default_factory=dict)


class Registry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def register(self, name: str, **meta: Any) -> Callable[[T], T]:
        def add(fn: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._entries[name] = Entry(name, fn, meta)
            return fn

        return add

    def __getitem__(self, name: str) -> Entry[T]:
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(f"unknown {self.kind} {name!r}; allowed: {', '.join(self.names())}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(self._entries.values())

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def schema_extra(self) -> dict[str, Any]:
        """What the page needs of this registry, as JSON-schema extras on a choice field:
        ``x-labels`` (name -> its name in a list: meta ``short``, else ``label``),
        ``x-titles`` (name -> its full label) and ``x-uses`` (name -> the fields it reads)."""
        return {
            "x-labels": {e.name: e.meta.get("short", e.meta.get("label", e.name)) for e in self},
            "x-titles": {e.name: e.meta.get("label", e.name) for e in self},
            "x-uses": {e.name: list(e.meta.get("uses", ())) for e in self},
        }
