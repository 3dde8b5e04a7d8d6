"""The house stays as docs/architecture.md draws it: its ```layers block lists every package
and top-level module of pipesight, top floor first; an import may go down or across a floor,
never up, and no two of them import each other, even through others. No function or method is
longer than 100 lines. Read with ast from the source: nothing is imported or run."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "src" / "pipesight"
DOC = ROOT / "docs" / "architecture.md"
MAX_LINES = 100


def declared_layers() -> list[list[str]]:
    m = re.search(r"```layers\n(.*?)```", DOC.read_text(), re.S)
    assert m, "docs/architecture.md has no ```layers block"
    return [line.split("#", 1)[0].split() for line in m.group(1).splitlines()
            if line.split("#", 1)[0].strip()]


def units() -> set[str]:
    out = {p.stem for p in PKG.glob("*.py") if p.stem not in ("__init__", "__main__")}
    out |= {p.name for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    return out


def unit_of(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py")


def imported_units(path: Path) -> set[str]:
    found: set[str] = set()
    for n in ast.walk(ast.parse(path.read_text())):
        mods: list[str] = []
        if isinstance(n, ast.Import):
            mods = [a.name for a in n.names]
        elif isinstance(n, ast.ImportFrom) and n.module and not n.level:
            mods = [n.module] if n.module != "pipesight" else [
                f"pipesight.{a.name}" for a in n.names]
        elif isinstance(n, ast.ImportFrom) and n.level:
            base = path.relative_to(PKG).parts[:-n.level]
            mods = [".".join(("pipesight", *base, *([n.module] if n.module else [])))]
        for m in mods:
            parts = m.split(".")
            if parts[0] == "pipesight" and len(parts) > 1:
                found.add(parts[1])
    return found


def graph() -> dict[str, set[str]]:
    known = units()
    g: dict[str, set[str]] = {u: set() for u in known}
    for f in PKG.rglob("*.py"):
        u = unit_of(f)
        if u in g:  # the package's own __init__ is no floor
            g[u] |= (imported_units(f) & known) - {u}
    return g


def test_every_unit_is_on_one_declared_floor():
    layers = declared_layers()
    flat = [u for layer in layers for u in layer]
    assert len(flat) == len(set(flat)), "a unit is on two floors"
    assert set(flat) == units(), (f"not declared: {sorted(units() - set(flat))}; "
                                  f"declared but absent: {sorted(set(flat) - units())}")


def test_no_import_runs_up_a_floor():
    floor = {u: len(layers) - i for layers in [declared_layers()]
             for i, layer in enumerate(layers) for u in layer}
    up = sorted(f"{a} (floor {floor[a]}) imports {b} (floor {floor[b]})"
                for a, bs in graph().items() for b in bs if b in floor and floor[b] > floor[a])
    assert not up, "\n".join(up)


def circles(g: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan's)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
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

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_graph() -> dict[str, set[str]]:
    """Module to the modules it imports (a package's name stands for its __init__)."""
    files = {module_name(f): f for f in PKG.rglob("*.py")}
    g: dict[str, set[str]] = {m: set() for m in files}
    for m, f in files.items():
        for n in ast.walk(ast.parse(f.read_text())):
            if isinstance(n, ast.Import):
                g[m] |= {a.name for a in n.names} & files.keys()
            elif isinstance(n, ast.ImportFrom):
                if n.level:
                    pkg = m if f.name == "__init__.py" else m.rsplit(".", 1)[0]
                    base = ".".join(pkg.split(".")[:len(pkg.split(".")) - n.level + 1])
                    mod = f"{base}.{n.module}" if n.module else base
                else:
                    mod = n.module or ""
                for a in n.names:  # "from package import module" imports the module
                    sub = f"{mod}.{a.name}"
                    g[m].add(sub if sub in files else mod)
        g[m] = (g[m] & files.keys()) - {m}
    return g


def test_no_circles_between_units():
    assert not circles(graph()), f"units that import each other: {circles(graph())}"


def test_no_circles_between_modules():
    found = circles(module_graph())
    assert not found, f"modules that import each other: {found}"


def long_functions() -> list[str]:
    out = []
    for f in sorted(PKG.rglob("*.py")):
        for n in ast.walk(ast.parse(f.read_text())):
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (n.end_lineno or n.lineno) - n.lineno + 1
                if length > MAX_LINES:
                    out.append(f"{f.relative_to(PKG)}:{n.lineno} {n.name} ({length} lines)")
    return out


def test_no_function_longer_than_a_hundred_lines():
    assert not long_functions(), "\n".join(long_functions())


@pytest.mark.parametrize("upward", [("trace", "readers")])
def test_the_walk_sees_an_upward_import(tmp_path, upward, monkeypatch):
    """The check can fail: an import planted from the ground floor up is found."""
    low, high = upward
    f = PKG / low / "_planted_for_test.py"
    f.write_text(f"from pipesight.{high} import run_dir  # noqa\n")
    try:
        assert high in graph()[low]
        with pytest.raises(AssertionError, match=f"{low} .* imports {high}"):
            test_no_import_runs_up_a_floor()
    finally:
        f.unlink()


def test_the_walk_sees_two_modules_importing_each_other():
    """Two modules planted in one package, each importing the other (one of them lazily, the
    way a circle hides), are found."""
    a, b = PKG / "trace" / "_planted_a.py", PKG / "trace" / "_planted_b.py"
    a.write_text("from pipesight.trace import _planted_b  # noqa\n")
    b.write_text("def f():\n    from . import _planted_a  # noqa\n")
    try:
        with pytest.raises(AssertionError, match=r"pipesight\.trace\._planted_a"):
            test_no_circles_between_modules()
    finally:
        a.unlink()
        b.unlink()
