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


def test_no_circles_between_units():
    g = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
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
                circles.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    assert not circles, f"units that import each other: {circles}"


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
