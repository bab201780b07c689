"""Print the package's structure figures (the redesign issues quote them before/after).

Run from the project root::

    python tools/structure.py

It reads the source as text (``ast``), runs nothing of the package, and prints:
the ten longest functions and five longest classes, import cycles among our modules,
upward imports (a lower layer importing a higher one), README lines, and the public
ways to build a Panel and the containers of series as arrays.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "segmenter"
ADAPTERS = ROOT / "adapters"
# Lower number = lower layer. A module may import its own layer or lower ones.
LAYERS = {
    "errors": 0,
    "_version": 0,
    "_safe_pickle": 0,
    "base": 0,
    "_moved": 0,
    "_spec": 0,
    "persistence": 0,  # model files: header, checksum, safe unpickling
    "data": 1,
    "datasets": 1,
    "distances": 2,
    "features": 2,
    "engine": 2,
    "clustering": 3,
    "selection": 3,
    "forecasting": 4,
    "reporting": 5,
    "segmenter": 5,  # the Segmenter: clustering, selection, forecasts and report together
    "serving": 6,
    "mlflow": 6,
    "cli": 7,
    "__init__": 8,
}
# A bridge sits at the layer of the protocol it implements: the clusterer beside
# clustering, the forecasting candidates beside forecasting, the sktime estimator on top.
ADAPTERS_LAYER = {
    "tslearn_bridge": 3,  # a clusterer, used by the clustering blueprints
    "statsforecast_bridge": 4,  # forecasting candidates (forecasting.base protocol)
    "mlforecast_bridge": 4,
    "sktime_bridge": 6,  # wraps Segmenter and SegmentedForecaster for sktime
}
ADAPTERS_DEFAULT = 2


def modules() -> dict[str, Path]:
    found = {}
    for base, prefix in ((PACKAGE, "segmenter"), (ADAPTERS, "segmenter.adapters")):
        for path in sorted(base.rglob("*.py")):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([prefix, *parts])] = path
    return found


def resolve(name: str, path: Path, node: ast.ImportFrom | ast.Import) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    if node.level:
        parts = package.split(".")
        base = ".".join(parts[: len(parts) - node.level + 1])
        mod = f"{base}.{node.module}" if node.module else base
    else:
        mod = node.module or ""
    # "from pkg import sub" imports the submodule; "from mod import name" imports mod.
    names = [f"{mod}.{a.name}" for a in node.names]
    return names + [mod]


def imported(name, path, node, mods) -> set[str]:
    """Our modules an import statement loads (a submodule rather than its package)."""
    found = resolve(name, path, node)
    if isinstance(node, ast.ImportFrom):
        subs = {t for t in found[:-1] if t in mods}
        found = subs if subs else [found[-1]]
    return {t for t in found if t in mods and t != name}


def layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "segmenter" or len(parts) < 2:
        return LAYERS["__init__"] if module == "segmenter" else None
    if parts[1] == "adapters":
        return ADAPTERS_LAYER.get(parts[2], ADAPTERS_DEFAULT) if len(parts) > 2 else 8
    return LAYERS.get(parts[1])


def main() -> int:
    mods = modules()
    edges: dict[str, set[str]] = {m: set() for m in mods}
    top_level: dict[str, set[str]] = {m: set() for m in mods}
    functions, classes = [], []
    for name, path in mods.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions.append(
                    (node.end_lineno - node.lineno + 1, f"{name}.{node.name}")
                )
            elif isinstance(node, ast.ClassDef):
                classes.append(
                    (node.end_lineno - node.lineno + 1, f"{name}.{node.name}")
                )
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges[name] |= imported(name, path, node, mods)
        for (
            node
        ) in tree.body:  # imports at module level only: the ones that make cycles
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                top_level[name] |= imported(name, path, node, mods)
    print("ten longest functions (lines):")
    for n, f in sorted(functions, reverse=True)[:10]:
        print(f"  {n:4d}  {f}")
    print("five longest classes (lines):")
    for n, c in sorted(classes, reverse=True)[:5]:
        print(f"  {n:4d}  {c}")
    cycles = find_cycles(edges)
    print(
        f"import cycles among our modules (any import, also inside functions): {len(cycles)}"
    )
    for c in cycles:
        print("  " + " -> ".join(c))
    upward = sorted(
        (a, b)
        for a, targets in edges.items()
        for b in targets
        if layer(a) is not None
        and layer(b) is not None
        and layer(b) > layer(a)
        and not b.startswith(a + ".")
    )
    print(f"upward imports (lower layer imports a higher one): {len(upward)}")
    for a, b in upward:
        print(f"  {a} -> {b}")
    readme = (ROOT / "README.md").read_text().splitlines()
    print(f"README lines: {len(readme)}")
    return 0


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return out


if __name__ == "__main__":
    sys.exit(main())
