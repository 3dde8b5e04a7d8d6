"""NVTX v3 headers for building the tracer with Nsight Systems marks and ranges.

NVTX v3 is header-only: nothing is linked, and at run time the calls do nothing unless
Nsight Systems injects itself. The headers come from the `nvtx` source distribution on PyPI
(pinned, checked by its SHA-256) and are kept in pipesight's cache, never in the repository.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import urllib.request
from pathlib import Path

VERSION = "0.2.17"
URL = ("https://files.pythonhosted.org/packages/3e/da/"
       "1772bc74e1b59a89be009180d48477489e417dbc191404ee7612cddff8e3/nvtx-0.2.17.tar.gz")
SHA256 = "b8509031d0a92ae17a6d1038348fe2274dbfea14c7083eb8d139dd6905228633"


def _cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pipesight" / "nvtx" / VERSION / "include"


def include_dir(fetch: bool = True, timeout_s: float = 30.0) -> tuple[Path | None, str]:
    """A folder holding nvtx3/nvToolsExt.h, and a note when there is none."""
    env = os.environ.get("PIPESIGHT_NVTX_INCLUDE")
    if env:
        d = Path(env)
        if (d / "nvtx3" / "nvToolsExt.h").exists():
            return d, ""
        return None, f"PIPESIGHT_NVTX_INCLUDE={env} holds no nvtx3/nvToolsExt.h"
    d = _cache()
    if (d / "nvtx3" / "nvToolsExt.h").exists():
        return d, ""
    if not fetch:
        return None, "the NVTX headers are not in the cache"
    try:
        with urllib.request.urlopen(URL, timeout=timeout_s) as r:
            data = r.read()
    except OSError as e:
        return None, f"could not fetch the NVTX headers ({e})"
    if hashlib.sha256(data).hexdigest() != SHA256:
        return None, "the NVTX headers' download did not match its SHA-256"
    tmp = d.parent / (d.name + ".tmp")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for m in tar.getmembers():
            parts = Path(m.name).parts
            if not m.isfile() or "nvtx3" not in parts or parts[parts.index("nvtx3") - 1] != \
                    "include":
                continue
            rel = Path(*parts[parts.index("nvtx3"):])
            out = tmp / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            f = tar.extractfile(m)
            if f is not None:
                out.write_bytes(f.read())
    if d.exists():
        return d, ""
    tmp.replace(d)
    return d, ""
