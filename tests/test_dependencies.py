"""Every third-party package the code imports is declared in pyproject.toml, where it belongs:

- imported when a module loads (not inside a function, not in an ``ImportError`` guard), by
  the module itself or by any pipesight module it loads with it: a core dependency, so that
  every command starts on a plain ``pip install pipesight``; only the packages in OPTIONAL
  (the GPU lab and its networks) may load an extra's package, that extra's;
- imported lazily (inside a function, or guarded): declared in an extra (or core);
- a message telling the user to ``pip install 'pipesight[X]'`` names an extra that holds a
  package the same module imports;
- the tests and bench scripts import only what core, the extras or ``dev`` declare.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest

from pyproject import PYPROJECT, load

ROOT = PYPROJECT.parent
SRC = ROOT / "src"
# packages whose modules may load an extra's package when they load, and which extras
OPTIONAL = {"pipesight.nets": {"lab"}, "pipesight.ceiling": {"lab"},
            "pipesight.lab.gpu": {"lab", "gst"}}
# import name -> distribution, for packages that may not be installed here (GPU-only ones)
KNOWN = {"gi": "PyGObject", "torch": "torch", "pynvml": "nvidia-ml-py",
         "PyNvVideoCodec": "PyNvVideoCodec", "onnxruntime": "onnxruntime-gpu",
         "markupsafe": "MarkupSafe", "jinja2": "Jinja2", "numpy": "numpy", "rich": "rich",
         "pytest": "pytest", "tomli": "tomli", "hypothesis": "hypothesis",
         "prometheus_client": "prometheus-client", "opentelemetry": "opentelemetry-sdk",
         "atheris": "atheris"}
_EXTRA_HINT = re.compile(r"pipesight\[([a-z0-9_-]+)\]")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module (dotted)
    name: str  # what it imports (dotted)
    lazy: bool  # inside a function or an ImportError guard
    line: int


def _norm(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


def _requirement_name(req: str) -> str:
    return _norm(re.split(r"[\s<>=!~;\[(]", req.strip(), maxsplit=1)[0])


def _declared() -> dict[str, set[str]]:
    """'core' and each extra -> the distributions it declares (normalised names)."""
    cfg = load()["project"]
    out = {"core": {_requirement_name(r) for r in cfg.get("dependencies", [])}}
    for extra, reqs in cfg.get("optional-dependencies", {}).items():
        out[extra] = {_requirement_name(r) for r in reqs}
    return out


@cache
def _installed() -> dict[str, list[str]]:
    return metadata.packages_distributions()


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text("utf-8"))


def _dists(top: str) -> set[str]:
    found = set(_installed().get(top, []))
    if top in KNOWN:
        found.add(KNOWN[top])
    return {_norm(d) for d in found}


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _guarded(node: ast.Try) -> bool:
    names = set()
    for h in node.handlers:
        for t in ([h.type] if not isinstance(h.type, ast.Tuple) else h.type.elts):
            if t is not None:
                names.add(ast.unparse(t))
    return bool(names & {"ImportError", "ModuleNotFoundError", "Exception"})


def _imports(path: Path, module: str) -> list[Import]:
    """Every absolute import in a file, marked lazy inside functions and ImportError guards;
    ``if TYPE_CHECKING:`` blocks never run and are left out."""
    tree = _tree(path)
    out: list[Import] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.orelse:
                visit(sub, lazy)
            return
        if isinstance(node, ast.Import):
            out.extend(Import(module, a.name, lazy, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append(Import(module, node.module, lazy, node.lineno))
        inner = lazy or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        if isinstance(node, ast.Try) and _guarded(node):
            for sub in node.body:
                visit(sub, True)
            for sub in [*node.handlers, *node.orelse, *node.finalbody]:
                visit(sub, inner)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, False)
    return out


# the standard library of newer Pythons, imported behind a version check (tests/pyproject.py)
LATER_STDLIB = {"tomllib"}


def _third_party(name: str, local: set[str]) -> str | None:
    top = name.split(".")[0]
    if top in sys.stdlib_module_names or top in LATER_STDLIB or top in ("pipesight",
                                                                         "__future__") or \
            top in local:
        return None
    return top


def _package_imports() -> list[Import]:
    out = []
    for p in sorted((SRC / "pipesight").rglob("*.py")):
        out.extend(_imports(p, _module_name(p, SRC)))
    return out


def _where(dist: str, declared: dict[str, set[str]]) -> set[str]:
    return {group for group, names in declared.items() if dist in names}


def _modules() -> dict[str, Path]:
    return {_module_name(p, SRC): p for p in sorted((SRC / "pipesight").rglob("*.py"))}


def _internal(imp: Import, modules: dict[str, Path]) -> list[str]:
    """The pipesight modules an import loads: the named one and the packages above it, and
    for ``from PKG import NAME`` the submodule NAME where there is one."""
    if not imp.name.startswith("pipesight"):
        return []
    parts = imp.name.split(".")
    out = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return [m for m in out if m in modules]


def _load_time(modules: dict[str, Path]) -> dict[str, dict[str, str]]:
    """Per module: third-party package -> the module that imports it, for everything that
    loads when the module loads (its own eager imports and those of the modules it loads)."""
    eager: dict[str, list[Import]] = {m: [i for i in _imports(p, m) if not i.lazy]
                                      for m, p in modules.items()}
    subs: dict[str, list[str]] = {}
    for m, p in modules.items():
        tree_from = [n for n in ast.walk(_tree(p))
                     if isinstance(n, ast.ImportFrom) and n.level == 0 and n.module]
        for n in tree_from:
            for a in n.names:
                sub = f"{n.module}.{a.name}"
                if sub in modules:
                    subs.setdefault(m, []).append(sub)
    memo: dict[str, dict[str, str]] = {}

    def walk(m: str, stack: frozenset[str]) -> dict[str, str]:
        if m in memo:
            return memo[m]
        got: dict[str, str] = {}
        for i in eager[m]:
            top = _third_party(i.name, set())
            if top is not None:
                got.setdefault(top, f"{m}:{i.line}")
        deps = {d for i in eager[m] for d in _internal(i, modules)}
        lazy_lines = {i.line for i in _imports(modules[m], m) if i.lazy}
        deps |= {s for s in subs.get(m, []) if not _from_lazy(modules[m], s, lazy_lines)}
        for d in sorted(deps - {m} - stack):
            for top, where in walk(d, stack | {m}).items():
                got.setdefault(top, where)
        memo[m] = got
        return got

    return {m: walk(m, frozenset()) for m in modules}


def _from_lazy(path: Path, sub: str, lazy_lines: set[int]) -> bool:
    """Whether every `from PKG import NAME` of this submodule in the file is a lazy one."""
    pkg, _, leaf = sub.rpartition(".")
    lines = [n.lineno for n in ast.walk(_tree(path))
             if isinstance(n, ast.ImportFrom) and n.module == pkg
             and any(a.name == leaf for a in n.names)]
    return bool(lines) and all(ln in lazy_lines for ln in lines)


def _allowed(module: str) -> set[str]:
    return {"core"}.union(*(x for pkg, x in OPTIONAL.items()
                            if module == pkg or module.startswith(pkg + ".")))


def test_every_third_party_import_of_the_package_is_declared_where_it_belongs() -> None:
    declared = _declared()
    modules = _modules()
    problems = []
    for imp in _package_imports():
        top = _third_party(imp.name, set())
        if top is None or imp.module.endswith("pyhooks.sitecustomize"):
            continue  # sitecustomize runs inside the user's own Python app, with its packages
        dists = _dists(top)
        groups = set().union(*(_where(d, declared) for d in dists)) if dists else set()
        at = f"{imp.module}:{imp.line} imports {top}"
        if not groups:
            problems.append(f"{at}, which pyproject.toml does not declare ({sorted(dists)})")
        elif groups == {"dev"}:
            problems.append(f"{at}, declared only for the tests (dev)")
    for m, loaded in _load_time(modules).items():
        if m.endswith("pyhooks.sitecustomize"):
            continue
        for top, where in loaded.items():
            groups = set().union(*(_where(d, declared) for d in _dists(top)))
            if groups and not groups & _allowed(m):
                problems.append(f"loading {m} loads {top} ({where}), which is declared only in "
                                f"{sorted(groups)}")
    assert problems == []


def test_install_hints_name_an_extra_that_provides_the_module_s_imports() -> None:
    declared = _declared()
    problems = []
    for p in sorted((SRC / "pipesight").rglob("*.py")):
        mod = _module_name(p, SRC)
        hints = set(_EXTRA_HINT.findall(p.read_text("utf-8")))
        if not hints:
            continue
        dists = set()
        # a package's __init__ may word the hint for its modules (exporters.missing())
        family = sorted(p.parent.glob("*.py")) if p.name == "__init__.py" else [p]
        for f in family:
            for imp in _imports(f, _module_name(f, SRC)):
                top = _third_party(imp.name, set())
                if top is not None:
                    dists |= _dists(top)
        for extra in hints:
            if extra not in declared:
                problems.append(f"{mod} tells users to install pipesight[{extra}], "
                                "which pyproject.toml does not define")
            elif not dists & declared[extra]:
                problems.append(f"{mod} names pipesight[{extra}] but imports none of "
                                f"{sorted(declared[extra])}")
    assert problems == []


@pytest.mark.parametrize("folder", ["tests", "bench", "scripts"])
def test_tests_and_bench_import_only_declared_packages(folder: str) -> None:
    declared = _declared()
    root = ROOT / folder
    local = {p.stem for p in root.rglob("*.py")} | {p.name for p in root.rglob("*") if p.is_dir()}
    problems = []
    for p in sorted(root.rglob("*.py")):
        for imp in _imports(p, _module_name(p, ROOT)):
            top = _third_party(imp.name, local)
            if top is None:
                continue
            if not any(_where(d, declared) for d in _dists(top)):
                problems.append(f"{p.relative_to(ROOT)}:{imp.line} imports {top}, undeclared")
    assert problems == []


def test_the_walk_finds_what_it_must(tmp_path: Path) -> None:
    """The checks above can fail: a module-level import of an extra, and an undeclared one."""
    f = tmp_path / "planted.py"
    f.write_text("import torch\nimport yaml\ndef g():\n    import gi\n"
                 "try:\n    import pynvml\nexcept ImportError:\n    pass\n"
                 "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import onnxruntime\n")
    got = {(i.name, i.lazy) for i in _imports(f, "planted")}
    assert got == {("torch", False), ("yaml", False), ("gi", True), ("pynvml", True),
                   ("typing", False)}
    declared = _declared()
    assert _where(next(iter(_dists("torch"))), declared) == {"lab"}
    assert not any(_where(d, declared) for d in _dists("yaml"))
    # a core module that loads the lab's detector when it loads is caught
    loaded = _load_time(_modules())
    assert "torch" in loaded["pipesight.lab.gpu.stages"]
    assert "torch" not in loaded["pipesight.commands.lab"]
    assert _allowed("pipesight.commands.lab") == {"core"}
