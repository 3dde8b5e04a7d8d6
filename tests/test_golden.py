"""The same verdict.json, field by field, on every committed fixture and corpus file as when
its golden file was written (tests/golden_inputs.py --write): a refactoring that changes no
behaviour changes none of them; a change meant to alter verdicts rewrites them, reviewed."""

from __future__ import annotations

import json

import pytest

from golden_inputs import GOLDEN, inputs, verdict_of


def pytest_generate_tests(metafunc):
    if "golden_case" in metafunc.fixturenames:
        import tempfile
        from pathlib import Path

        tmp = Path(tempfile.mkdtemp(prefix="golden-"))
        cases = list(inputs(tmp))
        metafunc.parametrize("golden_case", cases, ids=[n for n, _ in cases])


def test_verdict_is_the_golden_one(golden_case):
    name, path = golden_case
    gold = GOLDEN / f"{name}.json"
    if not gold.exists():
        pytest.fail(f"no golden file for {name}: run tests/golden_inputs.py --write")
    assert verdict_of(path) == json.loads(gold.read_text())


def test_every_golden_file_has_its_input():
    import tempfile
    from pathlib import Path

    names = {n for n, _ in inputs(Path(tempfile.mkdtemp(prefix="golden-")))}
    stale = sorted(p.stem for p in GOLDEN.glob("*.json") if p.stem not in names
                   and not p.stem.startswith("corpus-"))
    assert not stale, f"golden files without an input: {stale}"
