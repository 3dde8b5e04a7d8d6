"""Runs Graphviz's dot on generated DOT text, and readies its SVG for embedding: the XML
prolog and comments go, and each <title> (which Graphviz fills with our own node ids) is
replaced by the text to show on hover, XML-escaped."""

from __future__ import annotations

import html
import re
import shutil
import subprocess

from pipesight.errors import UserError

TIMEOUT_S = 120
_TITLE = re.compile(r"<title>([^<]*)</title>")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_XML_BAD = re.compile(r"[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class GraphvizError(UserError):
    pass


def available() -> bool:
    return shutil.which("dot") is not None


def render(dot_text: str, fmt: str) -> bytes:
    """``dot -T<fmt>`` of the text; GraphvizError when dot is missing or fails."""
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizError("Graphviz's `dot` is not installed (apt-get install graphviz)")
    try:
        res = subprocess.run([exe, f"-T{fmt}"], input=dot_text.encode("utf-8"),
                             capture_output=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise GraphvizError(f"Graphviz took more than {TIMEOUT_S} s to lay out the graph") \
            from None
    if res.returncode != 0 or not res.stdout:
        msg = res.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GraphvizError("Graphviz failed: " + (msg[0] if msg else f"exit {res.returncode}"))
    return res.stdout


def xml_text(s: str) -> str:
    return html.escape(_XML_BAD.sub("\ufffd", s), quote=True)


def embeddable_svg(svg: bytes, tooltips: dict[str, str], css_class: str = "") -> str:
    """The <svg> element alone, with hover text put in place of Graphviz's titles."""
    text = svg.decode("utf-8", "replace")
    start = text.find("<svg")
    if start < 0:
        raise GraphvizError("Graphviz produced no SVG")
    text = _COMMENT.sub("", text[start:])

    def title(m: re.Match[str]) -> str:
        key = html.unescape(m.group(1))
        tip = tooltips.get(key)
        return f"<title>{xml_text(tip if tip is not None else key)}</title>"

    text = _TITLE.sub(title, text)
    if css_class:
        text = text.replace("<svg", f'<svg class="{css_class}"', 1)
    return text
