"""Positional encodings: name -> factory(d_model, d_head, max_len) -> module (torch-free at import).

A module adds to the token embeddings (``embed``) and/or rotates queries and keys inside every
attention layer (``rotate``); see positions.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from descent.registry import Registry

POSITIONAL: Registry[Callable[[int, int, int], Any]] = Registry("positional encoding")


@POSITIONAL.register("sinusoidal", description="fixed sines and cosines added to the embeddings")
def sinusoidal(d_model: int, d_head: int, max_len: int) -> Any:
    from descent.labs.attention.positions import Sinusoidal

    return Sinusoidal(d_model, max_len)


@POSITIONAL.register("learned", description="one trained vector per position, added to the embeddings")
def learned(d_model: int, d_head: int, max_len: int) -> Any:
    from descent.labs.attention.positions import Learned

    return Learned(d_model, max_len)


@POSITIONAL.register("rope", description="rotary: queries and keys rotated by an angle growing with position")
def rope(d_model: int, d_head: int, max_len: int) -> Any:
    from descent.labs.attention.positions import Rotary

    return Rotary(d_head, max_len)


@POSITIONAL.register("none", description="no position information (only the causal mask tells order)")
def none(d_model: int, d_head: int, max_len: int) -> Any:
    from descent.labs.attention.positions import Positional

    return Positional()
