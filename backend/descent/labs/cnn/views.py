"""What the convolution lab's frames carry: the layers table, filters and feature maps as
compact uint8 base64 (torch tensors in, JSON-ready dicts out)."""

from __future__ import annotations

from typing import Any

import torch

from descent.encoding import b64
from descent.labs.cnn.blocks import Layer


def encode(values: torch.Tensor, layer: int) -> dict[str, Any]:
    """Signed values: byte 128 + 127 v / max|v|; values >= 0 (after ReLU, pooling of those,
    the input): byte 255 v / max. NaN -> 0 (a diverged run draws blank, never breaks a frame)."""
    v = torch.nan_to_num(values.detach().float(), nan=0.0, posinf=0.0, neginf=0.0).cpu()
    signed = bool((v < 0).any())
    scale = float(v.abs().max()) or 1.0
    scaled = 128 + 127 * v / scale if signed else 255 * v / scale
    data = scaled.round().clamp(0, 255).to(torch.uint8).numpy()
    return {
        "layer": layer,
        "shape": list(v.shape),
        "encoding": "base64-uint8",
        "signed": signed,
        "scale": scale,
        "data": b64(data),
    }


def image_bytes(image: torch.Tensor) -> str:
    """A (S, S) image in [0, 1] as base64 bytes (255 = ink)."""
    data = (image.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
    return b64(data)


def shown(show: list[int], layers: list[Layer]) -> list[int]:
    """The rows of ``show`` that this network has, in order, each once."""
    return sorted({row for row in show if row < len(layers)})


def grad_key(row: int) -> str:
    return f"grad_{row}"


def has_weights(layer: Layer) -> bool:
    return layer.params > 0


def layer_rows(layers: list[Layer]) -> list[dict[str, Any]]:
    return [
        {
            "index": layer.index,
            "token": layer.token,
            "kind": "output" if layer.index < 0 else layer.block.kind,
            "shape": list(layer.shape_out),
            "formula": layer.formula,
            "params": layer.params,
            "rf": layer.rf,
            "jump": layer.jump,
            "center": layer.center,
            "grad_key": grad_key(row) if has_weights(layer) else None,
        }
        for row, layer in enumerate(layers)
    ]


def prediction(image: torch.Tensor, label: int | None, logits: torch.Tensor, outputs: list[torch.Tensor], layers: list[Layer],
               show: list[int]) -> dict[str, Any]:
    """One input through the network: its probabilities and the feature maps of the rows in
    ``show`` whose output is still an image (C, H, W)."""
    probs = torch.softmax(logits.float(), -1)
    finite = bool(torch.isfinite(probs).all())
    return {
        "image": image_bytes(image),
        "label": label,
        "predicted": int(probs.argmax()) if finite else 0,
        "probabilities": [round(p, 4) for p in probs.tolist()] if finite else [0.0] * len(probs),
        "maps": [encode(outputs[row][0], row) for row in shown(show, layers) if len(layers[row].shape_out) == 3],
    }
