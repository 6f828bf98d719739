"""Shared pieces of every page: the stylesheet, the colours, escaping helpers and the page shell.

Pages are self-contained: the CSS and the little JavaScript live inline, nothing is fetched.
LONG/SHORT/FLAT and the gate verdicts use one palette everywhere (CSS classes ``c-<NAME>``).
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

COLOUR = {
    "LONG": "#1a7f37",
    "SHORT": "#cf222e",
    "FLAT": "#9a6700",
    "APPROVED": "#1a7f37",
    "CLAMPED": "#9a6700",
    "DENIED": "#cf222e",
}
NEUTRAL = "#57606a"

CSS = (
    """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5rem auto;max-width:1150px;
color:#1f2328;padding:0 1rem}
h1{font-size:1.45rem;margin-bottom:.2rem}h2{font-size:1.15rem;border-bottom:1px solid #d0d7de;
padding-bottom:.3rem;margin-top:2rem}h3{font-size:1rem}.muted{color:#656d76}
.tag{display:inline-block;padding:0 .45rem;border-radius:1rem;color:#fff;font-weight:600;font-size:.8rem;
white-space:nowrap}
"""
    + "".join(f".c-{k}{{background:{v}}}" for k, v in COLOUR.items())
    + """
.c-other{background:#57606a}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eaeef2;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f6f8fa;white-space:nowrap}td.n,th.n{text-align:right;
font-variant-numeric:tabular-nums}code{font-size:.85em;overflow-wrap:anywhere}td code{white-space:nowrap}
.card{border:1px solid #d0d7de;border-radius:6px;padding:.6rem .8rem;margin:.6rem 0}
.interrupt{border-left:4px solid #8250df}.ev a{margin-right:.4rem}.fail{color:#cf222e;font-weight:600}
tr:target,div:target{background:#fff8c5}
.stage td{background:#f6f8fa;font-weight:600}
.chart{width:100%;height:auto;display:block;border:1px solid #eaeef2;border-radius:6px;background:#fff}
.legend span{margin-right:1rem;white-space:nowrap}.legend i{display:inline-block;width:1.2rem;height:3px;
vertical-align:middle;margin-right:.3rem}
.zoomwrap{overflow-x:auto;border:1px solid #eaeef2;border-radius:6px}
.zoomwrap svg{border:0}
.filters{display:flex;flex-wrap:wrap;gap:.5rem;margin:.5rem 0}.filters input,.filters select{font:inherit;
padding:.25rem .4rem}
th.sortable{cursor:pointer;user-select:none}th.sortable:after{content:" ↕";color:#8c959f}
th[data-dir=asc]:after{content:" ↑"}th[data-dir=desc]:after{content:" ↓"}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(240px,1fr));gap:.6rem}
nav a{margin-right:.8rem}#meetings td:first-child{white-space:nowrap}
@media (max-width:640px){body{margin:.6rem auto;padding:0 .5rem;font-size:13px}
td,th{padding:.25rem .3rem}h1{font-size:1.2rem}.hide-sm{display:none}.chart{min-width:680px}}
"""
)


def esc(value: Any) -> str:
    """Any value as escaped text (None as an em dash)."""
    return "—" if value is None else escape(str(value))


def num(value: Any, digits: int = 6) -> str:
    """A number as people read it: floats to ``digits`` significant digits with separators."""
    if isinstance(value, bool) or value is None or not isinstance(value, int | float):
        return esc(value)
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 10**digits:
        return f"{value:,.0f}"
    return f"{value:,.{digits}g}"


def tag(text: Any) -> str:
    """A coloured pill for a stance or a verdict (grey for anything else)."""
    name = str(text)
    cls = f"c-{name}" if name in COLOUR else "c-other"
    return f'<span class="tag {cls}">{escape(name)}</span>'


def link_or_text(source: str) -> str:
    """An http(s) URL as a link that opens outside the page, anything else as text."""
    if re.match(r"^https?://", source):
        return (
            f'<a href="{escape(source, quote=True)}" rel="noopener noreferrer" '
            f'target="_blank">{escape(source)}</a>'
        )
    return escape(source)


def rule_order(rule: str) -> tuple[int, int, str]:
    """The gate's rules in their order: ``R00_*`` first (as recorded), then R01..R15 by number,
    then anything else (e.g. the manage rules ``M00``..)."""
    m = re.match(r"^R(\d+)", rule)
    if m:
        n = int(m.group(1))
        return (0 if n == 0 else 1, n, "")
    return (2, 0, rule)


def table(head: list[str], rows: list[str], *, numeric: set[int] | None = None) -> str:
    """A table (already-rendered ``<tr>`` rows) in a horizontally scrolling box."""
    numeric = numeric or set()
    ths = "".join(
        f'<th class="n">{escape(h)}</th>' if i in numeric else f"<th>{escape(h)}</th>"
        for i, h in enumerate(head)
    )
    return f'<div class="scroll"><table><tr>{ths}</tr>{"".join(rows)}</table></div>'


def page(title: str, body: str, *, script: str = "") -> str:
    """The self-contained HTML document."""
    js = f"<script>{script}</script>" if script else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>{body}{js}</body></html>\n"
    )
