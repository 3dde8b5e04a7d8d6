"""A Python pad probe that is the limit is named as the probe, not as the element whose pad
carries it: the probe's time is its own, and identity's own time per buffer stays what
identity costs (next to nothing)."""

from __future__ import annotations

import pytest

from conftest import needs_gst
from pipesight.lab.scenarios import by_name

pytestmark = [needs_gst, pytest.mark.slow]


@pytest.mark.parametrize("renamed", [False, True], ids=["names", "renamed"])
def test_the_python_probe_is_named_not_the_element_it_sits_on(lab_run, renamed):
    pytest.importorskip("gi")
    res = lab_run(by_name("python-probe"), renamed)
    v = res.verdict
    ident = res.names["ident"]
    assert v.bottleneck.element == f"probe@{ident}.sink", v.bottleneck.summary
    assert "pad probe" in v.bottleneck.summary and "probe.py" in v.bottleneck.summary
    row = next(r for r in v.elements if r.name == ident)
    # 3 ms of Python per buffer in the probe; identity itself copies nothing
    assert row.mean_process_ms is not None and row.mean_process_ms < 0.5
