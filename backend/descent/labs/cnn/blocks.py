"""The block grammar of the convolution lab and the shape of every layer (torch-free).

A network is a list of short tokens, so a setup fits in a URL (``blocks=conv8k3p1,act,max2``):

- ``conv<C>k<K>[s<S>][p<P>]``: a convolution to C channels (1-16), kernel K (1-7), stride S (1-3),
  padding P (0-3); e.g. ``conv8k3p1``, ``conv16k5s2``
- ``act``: the config's activation;  ``bn``: BatchNorm (2-D on maps, 1-D on vectors)
- ``max<K>`` / ``avg<K>``: max or average pooling, window K (2-3), stride K
- ``res``: a residual block around two 3x3 convolutions that keep the channels: act(x + conv(act(conv(x))))
- ``gap``: global average pooling (one number per channel);  ``flatten``: the maps as one vector
- ``dense<N>``: a fully connected layer of N units (1-128)

The output layer (dense to the dataset's classes, softmax in the loss) is always added last."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_BLOCKS = 16
CHANNELS = (1, 16)
KERNEL = (1, 7)
STRIDE = (1, 3)
PADDING = (0, 3)
POOL = (2, 3)
UNITS = (1, 128)

_CONV = re.compile(r"conv(\d+)k(\d+)(?:s(\d+))?(?:p(\d+))?")
_POOL = re.compile(r"(max|avg)(\d+)")
_DENSE = re.compile(r"dense(\d+)")
GRAMMAR = "conv<C>k<K>[s<S>][p<P>], act, bn, max<K>, avg<K>, res, gap, flatten, dense<N>"


@dataclass(frozen=True)
class Block:
    kind: str  # conv, act, bn, max, avg, res, gap, flatten, dense
    channels: int = 0  # conv: output channels; dense: units
    kernel: int = 0
    stride: int = 1
    padding: int = 0


def _within(value: int, bounds: tuple[int, int], what: str, where: str) -> int:
    if not bounds[0] <= value <= bounds[1]:
        raise ValueError(f"{where}: {what} {value} is out of range; allowed {bounds[0]}-{bounds[1]}")
    return value


def parse_block(token: str, where: str) -> Block:
    """One token -> a Block; ValueError naming ``where`` (e.g. ``blocks[2] 'conv8k9'``) otherwise."""
    if token in ("act", "bn", "res", "gap", "flatten"):
        return Block(token)
    if m := _CONV.fullmatch(token):
        c, k, s, p = (int(g) if g is not None else None for g in m.groups())
        return Block(
            "conv",
            channels=_within(c, CHANNELS, "channels", where),  # type: ignore[arg-type]
            kernel=_within(k, KERNEL, "kernel", where),  # type: ignore[arg-type]
            stride=_within(s or 1, STRIDE, "stride", where),
            padding=_within(p or 0, PADDING, "padding", where),
        )
    if m := _POOL.fullmatch(token):
        k = _within(int(m.group(2)), POOL, "pool window", where)
        return Block(m.group(1), kernel=k, stride=k)
    if m := _DENSE.fullmatch(token):
        return Block("dense", channels=_within(int(m.group(1)), UNITS, "units", where))
    raise ValueError(f"{where}: unknown block; allowed: {GRAMMAR}")


@dataclass(frozen=True)
class Layer:
    """One row of the architecture table: a block with its input and output shape."""

    index: int  # position in blocks; -1 = the output layer the lab adds
    token: str
    block: Block
    shape_in: tuple[int, ...]  # (C, H, W) or (N,)
    shape_out: tuple[int, ...]
    params: int
    formula: str | None  # the output size with the numbers filled in (conv, pooling)
    rf: int | None  # receptive field on the input (pixels per side); None once flattened
    jump: int  # input pixels between two neighbouring outputs
    center: float  # input coordinate of the centre of output pixel 0 (pixel i: center + i * jump)


def out_size(h: int, k: int, p: int, s: int) -> int:
    """floor((H + 2P - K) / S) + 1, as torch computes it."""
    return (h + 2 * p - k) // s + 1


def formula(h: int, k: int, p: int, s: int) -> str:
    return f"({h} + 2·{p} − {k})/{s} + 1 = {out_size(h, k, p, s)}"


def plan(tokens: list[str], size: int, classes: int) -> list[Layer]:
    """Every layer of the network ``tokens`` builds on size x size one-channel images, the
    output layer last. ValueError naming the block and, for a size below 1, the formula."""
    shape: tuple[int, ...] = (1, size, size)
    rf, jump, center = 1, 1, 0.0
    layers: list[Layer] = []
    for i, token in enumerate(tokens):
        where = f"blocks[{i}] {token!r}"
        block = parse_block(token, where)
        flat = len(shape) == 1
        params, text = 0, None
        if block.kind in ("conv", "max", "avg", "res", "gap") and flat:
            raise ValueError(f"{where}: needs feature maps, but the input is already a flat vector of {shape[0]} (after flatten, gap or dense)")
        if block.kind in ("conv", "max", "avg"):
            c, h, _ = shape
            k, p, s = block.kernel, block.padding, block.stride
            if block.kind != "conv" and k > h:
                raise ValueError(f"{where}: window {k} is larger than its {h}x{h} input; output size (H − K)/S + 1 = ({h} − {k})/{s} + 1 < 1")
            out = out_size(h, k, p, s)
            if out < 1:
                raise ValueError(f"{where}: kernel {k} does not fit its {h}x{h} input: output size (H + 2P − K)/S + 1 = "
                                 f"({h} + 2·{p} − {k})/{s} + 1 = {(h + 2 * p - k) / s + 1:g} < 1; use a kernel at most {h + 2 * p} or more padding")
            text = formula(h, k, p, s)
            cout = block.channels if block.kind == "conv" else c
            params = (cout * c * k * k + cout) if block.kind == "conv" else 0
            new: tuple[int, ...] = (cout, out, out)
            rf, center, jump = rf + (k - 1) * jump, center + ((k - 1) / 2 - p) * jump, jump * s
        elif block.kind == "res":
            c, h, _ = shape
            params, new = 2 * (c * c * 9 + c), shape
            text = formula(h, 3, 1, 1) + " (twice)"
            rf = rf + 4 * jump
        elif block.kind == "gap":
            new, rf = (shape[0],), None  # type: ignore[assignment]
        elif block.kind == "flatten":
            new = shape if flat else (shape[0] * shape[1] * shape[2],)
            rf = None  # type: ignore[assignment]
        elif block.kind == "dense":
            n = shape[0] if flat else shape[0] * shape[1] * shape[2]
            if not flat:
                raise ValueError(f"{where}: a dense layer needs a flat vector; put flatten or gap before it (the input is {'x'.join(map(str, shape))})")
            new, params = (block.channels,), n * block.channels + block.channels
        elif block.kind == "bn":
            new, params = shape, 2 * shape[0]
        else:  # act
            new = shape
        layers.append(Layer(i, token, block, shape, new, params, text, rf if len(new) == 3 else None, jump, center))
        shape = new
    if len(shape) != 1:
        raise ValueError(f"blocks: the last block gives feature maps {'x'.join(map(str, shape))}; end with flatten or gap (then dense layers) before the output")
    output = Block("dense", channels=classes)
    layers.append(Layer(-1, f"dense{classes}", output, shape, (classes,), shape[0] * classes + classes, None, None, jump, center))
    return layers


def parameter_count(layers: list[Layer]) -> int:
    return sum(layer.params for layer in layers)


def multiply_adds(layers: list[Layer]) -> int:
    """Multiply-adds of one forward pass of one image (conv, residual and dense layers)."""
    total = 0
    for layer in layers:
        b = layer.block
        if b.kind == "conv":
            c_in, (c, h, w) = layer.shape_in[0], layer.shape_out
            total += c * h * w * c_in * b.kernel * b.kernel
        elif b.kind == "res":
            c, h, w = layer.shape_in
            total += 2 * c * h * w * c * 9
        elif b.kind == "dense":
            total += layer.params
        else:
            total += 4 * (layer.shape_out[0] if len(layer.shape_out) == 1 else layer.shape_out[0] * layer.shape_out[1] * layer.shape_out[2])
    return total
