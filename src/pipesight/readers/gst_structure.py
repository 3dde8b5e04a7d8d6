"""Parse the text form of a GstStructure as tracers log it: ``name, key=(type)value, ...;``."""

from __future__ import annotations

import re
from typing import Any

_FIELD = re.compile(r'([A-Za-z][\w-]*)=\(([\w]+)\)("(?:[^"\\]|\\.)*"|[^,;]*)')
_UNESCAPE = re.compile(r"\\(.)")
_INT_TYPES = {"uint", "int", "guint64", "gint64", "guint", "gint", "ulong", "long", "i", "u"}
_NONE_U64 = 18446744073709551615


def parse_structure(text: str) -> tuple[str, dict[str, Any]]:
    """Return (name, fields). Values: int for integer types, bool for booleans, str else.
    Unknown or malformed fields are kept as strings; nothing raises."""
    text = text.strip()
    comma = text.find(",")
    if comma < 0:
        return text.rstrip(";").strip(), {}
    name = text[:comma].strip()
    fields: dict[str, Any] = {}
    for m in _FIELD.finditer(text, comma + 1):
        key, typ, raw = m.group(1), m.group(2), m.group(3)
        fields[key] = _value(typ, raw)
    return name, fields


def _value(typ: str, raw: str) -> Any:
    raw = raw.strip()
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        return _UNESCAPE.sub(r"\1", raw[1:-1])
    if typ in _INT_TYPES or (typ.startswith("Gst") and raw.lstrip("-").isdigit()):
        try:
            return int(raw)
        except ValueError:
            return raw
    if typ in ("boolean", "gboolean"):
        return raw.lower() in ("1", "true", "yes")
    if typ in ("double", "float", "gdouble"):
        try:
            return float(raw)
        except ValueError:
            return raw
    return raw


def none_if_max(v: Any) -> int | None:
    """GStreamer writes G_MAXUINT / GST_CLOCK_TIME_NONE for 'no value'."""
    if not isinstance(v, int) or v in (_NONE_U64, 4294967295):
        return None
    return v
