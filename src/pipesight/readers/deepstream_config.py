"""Reader for deepstream-app configuration files (GLib key-file INI: [application],
[source0], [streammux], [primary-gie], [secondary-gie0], [tracker], [osd], [tiled-display],
[sink0], ...) and the Gst-nvinfer configuration files they point to ([property],
[class-attrs-all]). Keeps each key's line so that findings can quote it; never judges."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from pipesight.errors import UserError

_GROUP = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*=\s*(.*?)\s*$")
APP_GROUPS = {"application", "tiled-display", "streammux", "primary-gie", "osd", "tracker",
              "tests", "source-list", "source-attr-all", "message-converter", "pre-process"}
APP_GROUP_PREFIXES = ("source", "sink", "secondary-gie", "message-consumer")
MAX_NUMBER = 1e15
INFER_KEYS = {"network-mode", "gie-unique-id", "model-engine-file", "onnx-file", "model-file",
              "tlt-encoded-model", "int8-calib-file", "num-detected-classes", "net-scale-factor",
              "batch-size", "process-mode", "network-type", "labelfile-path"}


@dataclass
class Entry:
    value: str
    lineno: int
    raw: str

    def number(self) -> float | None:
        """The value as a number; None unless it is one a configuration can hold (finite,
        within 1e15: ``nan``, ``inf`` or 400 digits are not settings)."""
        v = self.value.split("#", 1)[0].strip()
        if len(v) > 40:
            return None
        try:
            x = float(int(v, 0)) if re.fullmatch(r"-?(0x[0-9a-fA-F]+|\d+)", v) else float(v)
        except (ValueError, OverflowError):
            return None
        return x if math.isfinite(x) and abs(x) <= MAX_NUMBER else None

    def flag(self) -> bool | None:
        v = self.value.split("#", 1)[0].strip().lower()
        if v in ("1", "true", "yes"):
            return True
        if v in ("0", "false", "no"):
            return False
        return None


@dataclass
class KeyFile:
    path: Path
    groups: dict[str, dict[str, Entry]] = field(default_factory=dict)
    bad_lines: list[int] = field(default_factory=list)

    def get(self, group: str, key: str) -> Entry | None:
        return self.groups.get(group, {}).get(key)

    def where(self, e: Entry) -> str:
        return f"{self.path.name}:{e.lineno}"

    def enabled(self, group: str) -> bool:
        """deepstream-app's groups are on unless enable=0."""
        if group not in self.groups:
            return False
        e = self.get(group, "enable")
        return e is None or e.flag() is not False


@dataclass
class InferConfig:
    group: str  # the app group that points to it: primary-gie, secondary-gie0, ...
    path: Path
    keyfile: KeyFile | None
    error: str | None = None


@dataclass
class DsAppConfig:
    app: KeyFile | None  # None when the input is an nvinfer config alone
    infer: list[InferConfig] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.app.path if self.app else self.infer[0].path


def parse_keyfile(text: str, path: Path) -> KeyFile:
    kf = KeyFile(path)
    group: str | None = None
    for i, ln in enumerate(text.splitlines(), start=1):
        s = ln.strip()
        if not s or s.startswith(("#", ";")):
            continue
        m = _GROUP.match(s)
        if m:
            group = m.group(1).strip()
            kf.groups.setdefault(group, {})
            continue
        m = _KEY.match(s)
        if m and group is not None:
            kf.groups[group][m.group(1)] = Entry(m.group(2), i, ln.rstrip())
        else:
            kf.bad_lines.append(i)
    return kf


def _is_app_group(g: str) -> bool:
    return g in APP_GROUPS or any(re.fullmatch(rf"{p}\d+", g) for p in APP_GROUP_PREFIXES)


def sniff(head: bytes) -> str | None:
    """'app' for a deepstream-app config, 'infer' for a Gst-nvinfer config, else None."""
    if b"\x00" in head[:4096]:
        return None
    text = head.decode("utf-8", errors="replace")
    groups = {m.group(1).strip() for m in re.finditer(r"^\s*\[([^\]\n]+)\]\s*$", text, re.M)}
    if sum(1 for g in groups if _is_app_group(g)) >= 2:
        return "app"
    if "property" in groups and any(
            re.search(rf"^\s*{re.escape(k)}\s*=", text, re.M) for k in INFER_KEYS):
        return "infer"
    return None


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from None
    return data.decode("utf-8", errors="replace")


def read(path: Path) -> DsAppConfig:
    text = _read_text(path)
    kind = sniff(text.encode()[:65536])
    if kind is None:
        raise UserError(f"{path}: not a deepstream-app or Gst-nvinfer configuration file")
    kf = parse_keyfile(text, path)
    if kind == "infer":
        return DsAppConfig(app=None, infer=[InferConfig("nvinfer", path, kf)])
    cfg = DsAppConfig(app=kf)
    for g in sorted(kf.groups):
        if g != "primary-gie" and not re.fullmatch(r"secondary-gie\d+", g):
            continue
        e = kf.get(g, "config-file")
        if e is None:
            continue
        p = Path(e.value)
        if not p.is_absolute():
            p = path.parent / p
        try:
            sub = parse_keyfile(_read_text(p), p)
            cfg.infer.append(InferConfig(g, p, sub))
        except UserError as err:
            cfg.infer.append(InferConfig(g, p, None, str(err)))
    return cfg
