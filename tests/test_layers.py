"""The package's layers, read from the source with ``ast`` (nothing is imported):

    server/  ->  runtime/  ->  labs/  ->  nn/  ->  the contract (top-level modules:
                                                   protocol, registry, settings, errors, history, ...)

- a module imports only from its own layer or the layers below it (every import counts:
  at module level, inside a function, under ``if TYPE_CHECKING``);
- nothing below server/ imports a web framework (fastapi, starlette, uvicorn);
- the schemas (protocol.py, every labs/<lab>/schema.py) are torch-free when imported: no
  module-level import of torch, directly or through the modules they import;
- no import cycles between modules.

Each test names every violation it finds, so one run lists all that is left to fix."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "backend"
PACKAGE = "descent"
# the layers, lowest first; a top-level module (protocol, registry, ...) is the contract
LAYERS = ("contract", "nn", "labs", "runtime", "server")
WEB = ("fastapi", "starlette", "uvicorn")
REGISTRY = "descent.labs"  # the lab registry (labs/__init__.py)


@cache
def module_names() -> list[str]:
    """Every module of the package (a package by its own name, for its __init__.py)."""
    return sorted(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                  for p in (ROOT / PACKAGE).rglob("*.py"))


def source_of(module: str) -> Path:
    base = ROOT.joinpath(*module.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def layer(module: str) -> str:
    """The layer of a module of the package; ``__main__`` (it starts the server) is above all."""
    parts = module.split(".")
    if parts[1:] == ["__main__"]:
        return "entry"
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS[1:] else "contract"  # (a layer's package too)


def rank(module: str) -> int:
    return len(LAYERS) if layer(module) == "entry" else LAYERS.index(layer(module))


def known(name: str) -> str | None:
    """``name``, or the longest prefix of it that is a module of the package (``from a.b
    import c`` imports a.b.c when that is a module, else the name c of a.b)."""
    while name:
        if source_of(name).exists():
            return name
        name = name.rpartition(".")[0]
    return None


def _runs_at_import(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Whether an import statement runs when its module is imported: not inside a function,
    nor under ``if TYPE_CHECKING``."""
    parent = parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return False
        if isinstance(parent, ast.If) and "TYPE_CHECKING" in ast.unparse(parent.test):
            return False
        parent = parents.get(parent)
    return True


@cache
def imports(module: str) -> tuple[tuple[str, bool], ...]:
    """(what ``module`` imports, whether it runs at import time), every import statement.
    Names of the package are resolved to its modules; others are kept as their top package."""
    tree = ast.parse(source_of(module).read_text(), str(source_of(module)))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    package = module if source_of(module).name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up level - 1
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        at_import = _runs_at_import(node, parents)
        for name in names:
            target = known(name) if name.split(".")[0] == PACKAGE else name.split(".")[0]
            if target and target != module:
                found.append((target, at_import))
    if module == REGISTRY:  # it imports each lab's schema and lab by name, when asked for them
        found += [(m, False) for m in module_names() if m.count(".") == 3 and m.startswith(REGISTRY + ".")
                  and m.rpartition(".")[2] in ("schema", "lab")]
    return tuple(dict.fromkeys(found))


def package_imports(module: str) -> list[str]:
    """The package's modules that ``module`` imports, at import time or later."""
    return [t for t, _ in imports(module) if t.split(".")[0] == PACKAGE]


def short(module: str) -> str:
    return module.removeprefix(PACKAGE + ".")


# ---- (a) downward only ------------------------------------------------------------------


def test_the_layers_are_seen_in_the_tree() -> None:
    """The test reads what is there: every layer has modules (a rename would make it vacuous)."""
    layers = {layer(m) for m in module_names()}
    assert set(LAYERS) <= layers, f"missing layers: {set(LAYERS) - layers}"
    assert "descent.protocol" in module_names() and layer("descent.protocol") == "contract"


def test_imports_go_downward_only() -> None:
    upward = [
        f"{short(m)} ({layer(m)}) imports {short(t)} ({layer(t)})"
        for m in module_names() for t in package_imports(m) if rank(t) > rank(m)
    ]
    assert not upward, "imports against the layers (server -> runtime -> labs -> nn -> contract):\n" + "\n".join(upward)


def test_only_the_server_imports_a_web_framework() -> None:
    web = [f"{short(m)} imports {t}" for m in module_names() if layer(m) not in ("server", "entry")
           for t, _ in imports(m) if t in WEB]
    assert not web, "web framework imports below server/:\n" + "\n".join(web)


def lab_of(module: str) -> str | None:
    """The lab whose package holds ``module`` (labs/<lab>/...), if any (labs/base/ is the base
    every lab shares, not a lab)."""
    parts = module.split(".")
    return parts[2] if len(parts) > 3 and parts[1] == "labs" and parts[2] != "base" else None


def test_a_lab_is_one_package() -> None:
    """A lab's code imports no other lab's, and only the lab registry (labs/__init__.py)
    imports a lab's package from outside it: adding a lab touches its package alone."""
    crossing = [
        f"{short(m)} imports {short(t)}"
        for m in module_names() for t in package_imports(m)
        if lab_of(t) and lab_of(m) != lab_of(t) and m != REGISTRY
    ]
    assert not crossing, "imports of a lab's package from outside it:\n" + "\n".join(crossing)


def schemas() -> list[str]:
    return ["descent.protocol", *(m for m in module_names() if m.startswith("descent.labs.") and m.endswith(".schema"))]


def torch_path(module: str) -> list[str] | None:
    """The shortest chain of module-level imports from ``module`` to torch, if any."""
    came_from: dict[str, str] = {}
    queue = [module]
    for m in queue:  # (breadth first: the queue grows while it is read)
        for target, runs in imports(m):
            if not runs or target in came_from or target == module:
                continue
            if target == "torch":
                path = [m, "torch"]
                while path[0] != module:
                    path.insert(0, came_from[path[0]])
                return path
            if target.split(".")[0] == PACKAGE:
                came_from[target] = m
                queue.append(target)
    return None


def test_the_schemas_are_torch_free() -> None:
    assert len(schemas()) >= 5  # protocol and the four labs' at least
    heavy = [f"{short(s)}: {' -> '.join(short(m) for m in path)}" for s in schemas() if (path := torch_path(s))]
    assert not heavy, "schemas that import torch when imported (the shortest chain of each):\n" + "\n".join(heavy)


# ---- (b) no cycles ------------------------------------------------------------------------


def cycles() -> list[list[str]]:
    """The import graph's strongly connected components of more than one module (Tarjan)."""
    graph = {m: package_imports(m) for m in module_names()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(m: str) -> None:
        index[m] = low[m] = len(index)
        stack.append(m)
        for t in graph.get(m, []):
            if t not in index:
                visit(t)
                low[m] = min(low[m], low[t])
            elif t in stack:
                low[m] = min(low[m], index[t])
        if low[m] == index[m]:
            component = []
            while (top := stack.pop()) != m:
                component.append(top)
            component.append(m)
            if len(component) > 1:
                found.append(sorted(component))

    for m in graph:
        if m not in index:
            visit(m)
    return sorted(found)


def shortest_path(start: str, end: str, within: set[str]) -> list[str]:
    """The shortest chain of imports from ``start`` to ``end`` through ``within``."""
    came_from = {start: start}
    queue = [start]
    for m in queue:
        if m == end:
            break
        for t in package_imports(m):
            if t in within and t not in came_from:
                came_from[t] = m
                queue.append(t)
    path = [end]
    while path[0] != start:
        path.insert(0, came_from[path[0]])
    return path


def test_no_import_cycles() -> None:
    """Each import that closes a loop, with the shortest loop it closes (a loop is written
    once, starting from its first module in alphabetical order)."""
    loops: set[tuple[str, ...]] = set()
    for component in cycles():
        inside = set(component)
        for m in component:
            for t in package_imports(m):
                if t in inside:
                    loop = [m, *shortest_path(t, m, inside)[:-1]]
                    first = loop.index(min(loop))
                    loops.add(tuple(loop[first:] + loop[:first]))
    described = [" -> ".join(short(m) for m in (*loop, loop[0])) for loop in sorted(loops, key=lambda lp: (len(lp), lp))]
    assert not described, "import cycles:\n" + "\n".join(described)


def test_the_checks_catch_what_they_look_for() -> None:
    """The parser itself, on real lines of the package: relative and absolute imports are
    resolved to modules, lazy ones are seen but not counted as import-time."""
    assert ("descent.registry", True) in imports("descent.nn.optimizers")
    assert ("torch", False) in imports("descent.nn.optimizers")  # (inside the factories)
    assert "descent.runtime.hosting" in package_imports("descent.server.app")
    assert layer("descent.labs") == "labs" and layer("descent") == "contract"
    assert rank("descent.server.app") > rank("descent.runtime.session") > rank("descent.labs.base") > rank("descent.nn.stats") > rank("descent.protocol")
    assert layer("descent.__main__") == "entry"
    assert torch_path("descent.nn.stats") == ["descent.nn.stats", "torch"] and torch_path("descent.registry") is None
