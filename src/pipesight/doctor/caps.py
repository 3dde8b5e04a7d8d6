"""GStreamer caps as text, and where two caps fail to intersect.

Reads the three spellings doctor meets: serialized caps in logs (``video/x-raw,
format=(string)I420, width=(int)[ 1, 2147483647 ]; ...``), gst-inspect-1.0's pad templates (one
field per line) and DOT edge labels (types dropped, long values cut with ``...``). A value cut
short cannot be compared and counts as compatible: doctor never claims a conflict it cannot
see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

Scalar = int | Fraction | str | bool | float


@dataclass(frozen=True)
class Range:
    lo: Scalar
    hi: Scalar

    def __str__(self) -> str:
        return f"[ {_fmt(self.lo)}, {_fmt(self.hi)} ]"


@dataclass(frozen=True)
class Unknown:
    text: str

    def __str__(self) -> str:
        return self.text


Value = Scalar | Range | frozenset | Unknown


@dataclass
class Structure:
    media: str
    features: str = ""  # "" is system memory; "ANY" matches every feature
    fields: dict[str, Value] = field(default_factory=dict)

    @property
    def head(self) -> str:
        return self.media + (f"({self.features})" if self.features else "")

    def __str__(self) -> str:
        parts = [self.head] + [f"{k}={_fmt_value(v)}" for k, v in self.fields.items()]
        return ", ".join(parts)


@dataclass
class Caps:
    structures: list[Structure] = field(default_factory=list)
    any: bool = False

    @property
    def empty(self) -> bool:
        return not self.any and not self.structures

    def __str__(self) -> str:
        if self.any:
            return "ANY"
        if not self.structures:
            return "EMPTY"
        return "; ".join(str(s) for s in self.structures)


@dataclass
class Mismatch:
    """Why two structures do not intersect: the first difference found."""

    what: str  # "media", "features" or a field name
    left: str
    right: str

    def __str__(self) -> str:
        if self.what == "media":
            return f"media type {self.left} against {self.right}"
        if self.what == "features":
            return (f"memory {self.left or 'system memory'} against "
                    f"{self.right or 'system memory'}")
        return f"{self.what} {self.left} against {self.right}"


# ---------------------------------------------------------------- parsing

_TYPE_PREFIX = re.compile(r"^\((\w+)\)\s*")


def parse(text: str) -> Caps:
    """Serialized caps (one line, ';' between structures) or gst-inspect's multi-line form."""
    text = text.strip()
    if not text:
        return Caps()
    if text in ("ANY", "NONE") or text.startswith("ANY"):
        return Caps(any=text.startswith("ANY"))
    if text == "EMPTY":
        return Caps()
    if "\n" in text and not re.search(r"[;,]\s*\w[\w-]*=", text.split("\n", 1)[0]):
        return _parse_template(text)
    return Caps([s for s in (_parse_structure(p) for p in _split_top(text, ";")) if s])


def _parse_template(text: str) -> Caps:
    caps = Caps()
    cur: Structure | None = None
    for ln in text.splitlines():
        s = ln.strip()
        if not s:
            continue
        if s == "ANY":
            return Caps(any=True)
        m = re.match(r"^([\w.+-]+/[\w.+-]+|ANY)(?:\(([^)]*)\))?$", s)
        if m:
            cur = Structure(m.group(1), (m.group(2) or "").strip())
            caps.structures.append(cur)
            continue
        if cur is not None and ":" in s:
            k, v = s.split(":", 1)
            cur.fields[k.strip()] = _parse_value(v.strip())
    return caps


def _parse_structure(text: str) -> Structure | None:
    parts = _split_top(text.strip().rstrip(";"), ",")
    if not parts or not parts[0].strip():
        return None
    m = re.match(r"^\s*([^,(\s]+)\s*(?:\(([^)]*)\))?\s*$", parts[0])
    if not m:
        return None
    st = Structure(m.group(1), (m.group(2) or "").strip())
    for p in parts[1:]:
        if "=" not in p:
            continue
        k, v = p.split("=", 1)
        st.fields[k.strip()] = _parse_value(v.strip())
    return st


def _split_top(text: str, sep: str) -> list[str]:
    """Split on sep outside of {} [] <> and quotes."""
    out, depth, cur, quote = [], 0, [], False
    for ch in text:
        if ch == '"':
            quote = not quote
        elif not quote and ch in "{[<":
            depth += 1
        elif not quote and ch in "}]>":
            depth = max(0, depth - 1)
        if ch == sep and depth == 0 and not quote:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur))
    return out


def _parse_value(v: str) -> Value:
    v = v.strip()
    if "..." in v or "…" in v:
        return Unknown(v)
    m = _TYPE_PREFIX.match(v)
    typ = None
    if m:
        typ = m.group(1)
        v = v[m.end():]
    if v.startswith("{") and v.endswith("}"):
        return frozenset(_scalar(x, typ) for x in _split_top(v[1:-1], ",") if x.strip())
    if v.startswith("[") and v.endswith("]"):
        items = [x for x in _split_top(v[1:-1], ",") if x.strip()]
        if len(items) >= 2:
            return Range(_scalar(items[0], typ), _scalar(items[1], typ))
        return Unknown(v)
    if v.startswith("<") and v.endswith(">"):  # arrays: compare as text
        return v
    return _scalar(v, typ)


def _scalar(x: str, typ: str | None = None) -> Scalar:
    x = x.strip()
    m = _TYPE_PREFIX.match(x)
    if m:
        typ = m.group(1)
        x = x[m.end():]
    if x.startswith('"') and x.endswith('"') and len(x) >= 2:
        return x[1:-1]
    if typ in (None, "int", "uint", "fraction", "i", "fraction") or typ is None:
        if re.fullmatch(r"-?\d+", x):
            return int(x)
        if re.fullmatch(r"-?\d+/\d+", x):
            n, d = x.split("/")
            return Fraction(int(n), int(d)) if int(d) else x
    if typ in ("boolean", "gboolean") or (typ is None and x.lower() in ("true", "false")):
        return x.lower() in ("true", "1", "yes")
    if typ in ("double", "float"):
        try:
            return float(x)
        except ValueError:
            return x
    return x


# ---------------------------------------------------------------- intersection

def intersect_values(a: Value, b: Value) -> Value | None:
    """The common part of two field values, None when there is none."""
    if isinstance(a, Unknown) or isinstance(b, Unknown):
        return a if isinstance(b, Unknown) else b
    if isinstance(a, frozenset) and isinstance(b, frozenset):
        common = frozenset(x for x in a if any(_eq(x, y) for y in b))
        return common or None
    if isinstance(a, frozenset) or isinstance(b, frozenset):
        lst, other = (a, b) if isinstance(a, frozenset) else (b, a)
        common = frozenset(x for x in lst if intersect_values(x, other) is not None)
        return common or None
    if isinstance(a, Range) and isinstance(b, Range):
        try:
            lo, hi = max(a.lo, b.lo), min(a.hi, b.hi)  # type: ignore[type-var]
        except TypeError:
            return a
        return Range(lo, hi) if lo <= hi else None  # type: ignore[operator]
    if isinstance(a, Range) or isinstance(b, Range):
        rng, x = (a, b) if isinstance(a, Range) else (b, a)
        try:
            return x if rng.lo <= x <= rng.hi else None  # type: ignore[operator]
        except TypeError:
            return None
    return a if _eq(a, b) else None


def _eq(a: Value, b: Value) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    try:
        return a == b
    except TypeError:
        return str(a) == str(b)


def intersect_structures(a: Structure, b: Structure) -> Mismatch | None:
    """None when the two structures have a common part, else the first difference."""
    if a.media != b.media:
        return Mismatch("media", a.media, b.media)
    fa, fb = a.features, b.features
    if fa != fb and "ANY" not in (fa, fb):
        return Mismatch("features", fa, fb)
    for k, va in a.fields.items():
        if k in b.fields and intersect_values(va, b.fields[k]) is None:
            return Mismatch(k, _fmt_value(va), _fmt_value(b.fields[k]))
    return None


@dataclass
class Intersection:
    ok: bool
    # the closest pair of structures and why they do not meet (when not ok)
    left: Structure | None = None
    right: Structure | None = None
    mismatch: Mismatch | None = None

    def explain(self) -> str:
        if self.ok or self.mismatch is None:
            return "the caps intersect"
        return str(self.mismatch)


def intersect(a: Caps, b: Caps) -> Intersection:
    if a.any or b.any:
        return Intersection(ok=not (a.empty or b.empty))
    best: tuple[int, Structure, Structure, Mismatch] | None = None
    for sa in a.structures:
        for sb in b.structures:
            mm = intersect_structures(sa, sb)
            if mm is None:
                return Intersection(ok=True)
            # the pair that agrees the longest is the one the user meant to connect
            score = {"media": 0, "features": 1}.get(mm.what, 2)
            if best is None or score > best[0]:
                best = (score, sa, sb, mm)
    if best is None:
        return Intersection(ok=False)
    return Intersection(False, best[1], best[2], best[3])


# ---------------------------------------------------------------- formatting

def _fmt(x: Scalar) -> str:
    if isinstance(x, Fraction):
        return f"{x.numerator}/{x.denominator}"
    if isinstance(x, bool):
        return "true" if x else "false"
    return str(x)


def _fmt_value(v: Value, limit: int = 8) -> str:
    if isinstance(v, frozenset):
        items = sorted((_fmt(x) for x in v), key=str)
        shown = ", ".join(items[:limit]) + (f", … ({len(items)} in all)" if len(items) > limit
                                             else "")
        return "{ " + shown + " }"
    if isinstance(v, Range | Unknown):
        return str(v)
    return _fmt(v)


def summarize(c: Caps, limit: int = 3) -> str:
    """A short spelling for explanations: heads and the fields that usually decide."""
    if c.any:
        return "ANY"
    if not c.structures:
        return "nothing (EMPTY)"
    out = []
    for s in c.structures[:limit]:
        keys = [k for k in ("format", "width", "height", "framerate", "rate", "channels",
                            "stream-format", "alignment") if k in s.fields]
        out.append(", ".join([s.head] + [f"{k}={_fmt_value(s.fields[k], 6)}" for k in keys]))
    more = len(c.structures) - limit
    return "; ".join(out) + (f"; and {more} more" if more > 0 else "")
