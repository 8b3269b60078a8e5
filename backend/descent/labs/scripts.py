"""What every lab's "show the code" writer shares: the source of a registered function
(without its decorator) and of the module-level helpers it mentions, taken with ``inspect``
so the script cannot drift from what the server runs. Torch-free."""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable, Iterable
from typing import Any


def function_source(fn: Callable[..., Any]) -> str:
    """A registered function's source without its decorator."""
    source = textwrap.dedent(inspect.getsource(fn))
    return "\n" + source[source.index("def "):].rstrip() + "\n\n"


def helpers_source(module: Any, names: Iterable[str], body: str) -> str:
    """Source of the helpers ``names`` of ``module`` (functions or constants) that ``body`` mentions."""
    out = []
    for name in names:
        if not re.search(rf"\b{name}\b", body):
            continue
        value = getattr(module, name)
        out.append(function_source(value) if callable(value) else f"\n{name} = {literal(value)}\n")
    return "".join(out)


def literal(value: Any) -> str:
    """A constant as Python source (a numpy array as ``np.array([...])``)."""
    return f"np.array({value.tolist()!r})" if hasattr(value, "tolist") else repr(value)


# an optimizer's import of the moment classes: the script holds the classes themselves
_MOMENTS_IMPORT = r"\n\s*from descent\.nn\.moments import \w+\n"


def optimizer_source(name: str) -> str:
    """The registered optimizer ``name``'s source, after the moment classes it uses."""
    from descent.nn import moments
    from descent.nn.optimizers import OPTIMIZERS

    source = function_source(OPTIMIZERS[name].fn)
    if re.search(_MOMENTS_IMPORT, source) is None:
        return source
    classes = [moments.Moments, *([moments.Yogi] if name == "yogi" else [])]
    return "".join("\n" + inspect.getsource(c) + "\n" for c in classes) + re.sub(_MOMENTS_IMPORT, "\n", source)
