"""Charts drawn as inline SVG from the run's data (pure functions: same data, same bytes).

Why SVG rather than the run's PNGs: vectors stay sharp on a phone and when zoomed, each mark
carries a ``<title>`` tooltip with its exact values, the page stays small (a 1 MB PNG as base64
is bigger than the whole page), and a browser test can count the marks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape

W, H = 1000, 340
LEFT, RIGHT, TOP, BOTTOM = 70, 110, 16, 30


@dataclass(frozen=True)
class Series:
    """One line: ``points`` are (epoch seconds, value), in time order."""

    name: str
    colour: str
    points: Sequence[tuple[float, float]]
    width: float = 1.6
    dash: str = ""


@dataclass(frozen=True)
class Level:
    """A horizontal line at a price (entry, stop-loss, take-profit)."""

    label: str
    value: float
    colour: str
    dash: str = "6 4"


@dataclass(frozen=True)
class Mark:
    """A point mark (a fill, a trade's entry or exit)."""

    t: float
    value: float
    colour: str
    title: str
    shape: str = "circle"


@dataclass(frozen=True)
class Segment:
    """A line from one point to another (a trade from entry to exit)."""

    t0: float
    v0: float
    t1: float
    v1: float
    colour: str
    title: str


@dataclass
class Chart:
    """What a chart shows; ``render`` draws it."""

    series: list[Series]
    levels: list[Level] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    vline: tuple[float, str] | None = None  # (time, label): the meeting
    shade_after: float | None = None  # shade what came after this time
    label: str = ""


def _fmt_time(t: float, span: float) -> str:
    d = datetime.fromtimestamp(t, UTC)
    return d.strftime("%d %b %H:%M") if span <= 8 * 86400 else d.strftime("%d %b %Y")


def _fmt_value(v: float) -> str:
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:,.1f}"
    return f"{v:,.4g}"


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** int(f"{raw:e}".split("e")[1])
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = (lo // step + 1) * step
    out = []
    v = start
    while v <= hi:
        out.append(round(v, 10))
        v += step
    return out


def render(chart: Chart, *, css_id: str = "") -> str:
    """The chart as one ``<svg>`` element (empty string when there is nothing to draw)."""
    ts = [t for s in chart.series for t, _ in s.points] + [m.t for m in chart.marks]
    ts += [x for g in chart.segments for x in (g.t0, g.t1)]
    vs = [v for s in chart.series for _, v in s.points] + [lv.value for lv in chart.levels]
    vs += [m.value for m in chart.marks] + [x for g in chart.segments for x in (g.v0, g.v1)]
    if not ts or not vs:
        return ""
    t0, t1 = min(ts), max(ts)
    if chart.vline:
        t0, t1 = min(t0, chart.vline[0]), max(t1, chart.vline[0])
    t1 = t1 if t1 > t0 else t0 + 1
    lo, hi = min(vs), max(vs)
    pad = (hi - lo) * 0.05 or abs(hi) * 0.01 or 1.0
    lo, hi = lo - pad, hi + pad
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def x(t: float) -> float:
        return round(LEFT + (t - t0) / (t1 - t0) * pw, 1)

    def y(v: float) -> float:
        return round(TOP + (hi - v) / (hi - lo) * ph, 1)

    parts: list[str] = []
    if chart.shade_after is not None and chart.shade_after < t1:
        xa = x(max(chart.shade_after, t0))
        parts.append(
            f'<rect class="after" x="{xa}" y="{TOP}" width="{round(LEFT + pw - xa, 1)}" '
            f'height="{ph}" fill="#f6f8fa"><title>after the meeting (not known to the desk)'
            "</title></rect>"
        )
    for v in _nice_ticks(lo, hi):
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{y(v)}" y2="{y(v)}" stroke="#eaeef2"/>'
            f'<text x="{LEFT - 6}" y="{y(v) + 4}" text-anchor="end" font-size="11" '
            f'fill="#656d76">{escape(_fmt_value(v))}</text>'
        )
    span = t1 - t0
    for i in range(6):
        t = t0 + span * i / 5
        anchor = "start" if i == 0 else "end" if i == 5 else "middle"
        parts.append(
            f'<text x="{x(t)}" y="{H - 8}" text-anchor="{anchor}" font-size="11" '
            f'fill="#656d76">{escape(_fmt_time(t, span))}</text>'
        )
    parts.append(
        f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#d0d7de"/>'
    )
    for s in chart.series:
        pts = " ".join(f"{x(t)},{y(v)}" for t, v in s.points)
        parts.append(
            f'<polyline class="series" data-name="{escape(s.name)}" points="{pts}" fill="none" '
            f'stroke="{s.colour}" stroke-width="{s.width}" stroke-linejoin="round"'
            + (f' stroke-dasharray="{s.dash}"' if s.dash else "")
            + ">"
            f"<title>{escape(s.name)}</title></polyline>"
        )
    for lv in chart.levels:
        parts.append(
            f'<line class="level" x1="{LEFT}" x2="{LEFT + pw}" y1="{y(lv.value)}" '
            f'y2="{y(lv.value)}" stroke="{lv.colour}" stroke-width="1.4" '
            f'stroke-dasharray="{lv.dash}"><title>{escape(lv.label)} {lv.value:,.6g}</title>'
            f'</line><text x="{LEFT + pw + 4}" y="{y(lv.value) + 4}" font-size="11" '
            f'fill="{lv.colour}">{escape(lv.label)} {escape(_fmt_value(lv.value))}</text>'
        )
    if chart.vline:
        xv = x(chart.vline[0])
        parts.append(
            f'<line class="vline" x1="{xv}" x2="{xv}" y1="{TOP}" y2="{TOP + ph}" stroke="#8250df"'
            f' stroke-width="1.4"/><text x="{xv + 4}" y="{TOP + 12}" font-size="11" '
            f'fill="#8250df">{escape(chart.vline[1])}</text>'
        )
    for g in chart.segments:
        parts.append(
            f'<line class="trade" x1="{x(g.t0)}" y1="{y(g.v0)}" x2="{x(g.t1)}" y2="{y(g.v1)}" '
            f'stroke="{g.colour}" stroke-width="2.2" stroke-linecap="round">'
            f"<title>{escape(g.title)}</title></line>"
        )
    for m in chart.marks:
        cx, cy = x(m.t), y(m.value)
        shape = (
            f'<circle cx="{cx}" cy="{cy}" r="4.5"'
            if m.shape == "circle"
            else f'<path d="M{cx},{cy - 6} L{cx - 5},{cy + 4} L{cx + 5},{cy + 4} Z"'
            if m.shape == "up"
            else f'<path d="M{cx},{cy + 6} L{cx - 5},{cy - 4} L{cx + 5},{cy - 4} Z"'
        )
        parts.append(
            f'{shape} class="mark" fill="{m.colour}" stroke="#fff" stroke-width="1">'
            f"<title>{escape(m.title)}</title>"
            + ("</circle>" if m.shape == "circle" else "</path>")
        )
    ident = f' id="{escape(css_id)}"' if css_id else ""
    return (
        f'<div class="scroll"><svg{ident} class="chart" viewBox="0 0 {W} {H}" role="img" '
        f'aria-label="{escape(chart.label)}" xmlns="http://www.w3.org/2000/svg">'
        f"{''.join(parts)}</svg></div>"
    )


def legend(items: Sequence[tuple[str, str]]) -> str:
    """A legend line: (name, colour) pairs."""
    return (
        '<div class="legend muted">'
        + "".join(f'<span><i style="background:{c}"></i>{escape(n)}</span>' for n, c in items)
        + "</div>"
    )


def thin(points: Sequence[tuple[float, float]], most: int = 1500) -> list[tuple[float, float]]:
    """At most about ``most`` points: each bucket keeps its first, lowest and highest point, so
    the line keeps its extremes."""
    if len(points) <= most:
        return list(points)
    size = max(1, len(points) * 3 // most)
    out: list[tuple[float, float]] = []
    for i in range(0, len(points), size):
        chunk = points[i : i + size]
        keep = {0, min(range(len(chunk)), key=lambda j: chunk[j][1])}
        keep.add(max(range(len(chunk)), key=lambda j: chunk[j][1]))
        out.extend(chunk[j] for j in sorted(keep))
    return out


def density_strip(
    entries: Sequence[tuple[float, bool]],
    t0: float,
    t1: float,
    *,
    buckets: int = 120,
    won: str = "#1a7f37",
    lost: str = "#cf222e",
    css_id: str = "",
) -> str:
    """Every trade, counted: one bar per time bucket, as tall as the trades entered in it, the
    won part and the lost part stacked. Drawn in ``render``'s margins, so under a chart of (about)
    the same window it lines up, however many trades there are."""
    if not entries or t1 <= t0:
        return ""
    counts = [[0, 0] for _ in range(buckets)]
    for t, win in entries:
        i = min(buckets - 1, max(0, int((t - t0) / (t1 - t0) * buckets)))
        counts[i][0 if win else 1] += 1
    top = max(a + b for a, b in counts) or 1
    h, pw = 70, W - LEFT - RIGHT
    bw = pw / buckets
    parts = []
    for i, (a, b) in enumerate(counts):
        if a + b == 0:
            continue
        x = round(LEFT + i * bw, 1)
        ha, hb = a / top * (h - 10), b / top * (h - 10)
        start = datetime.fromtimestamp(t0 + (t1 - t0) * i / buckets, UTC).strftime("%d %b %H:%M")
        title = f"{start}: {a + b} trade(s), {a} won, {b} lost"
        parts.append(
            f'<g class="bucket"><title>{escape(title)}</title>'
            f'<rect x="{x}" y="{round(h - ha, 1)}" width="{round(bw * 0.85, 1)}" '
            f'height="{round(ha, 1)}" fill="{won}"/>'
            f'<rect x="{x}" y="{round(h - ha - hb, 1)}" width="{round(bw * 0.85, 1)}" '
            f'height="{round(hb, 1)}" fill="{lost}"/></g>'
        )
    ident = f' id="{escape(css_id)}"' if css_id else ""
    return (
        f'<div class="scroll"><svg{ident} class="chart density" viewBox="0 0 {W} {h + 4}" '
        f'role="img" aria-label="trades per period" xmlns="http://www.w3.org/2000/svg">'
        f'<text x="{LEFT - 6}" y="14" text-anchor="end" font-size="11" fill="#656d76">{top}</text>'
        f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{h}" y2="{h}" stroke="#d0d7de"/>'
        f"{''.join(parts)}</svg></div>"
    )
