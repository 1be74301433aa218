"""Self-contained HTML pages with inline SVG charts: no script, no font, no request leaves the page.

One small vocabulary for every page coldvault writes (``plan --html``, the audit): :func:`page`,
:func:`summary`, :func:`table`, :func:`line_chart` and :func:`bar_chart`. Every text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

PALETTE = ("#1f6feb", "#d4a72c", "#2da44e", "#cf222e", "#8250df", "#6e7781")
WIDTH, HEIGHT = 720, 320
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 16, 48

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:960px;
color:#1f2328;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem}
.sub{color:#57606a;margin-top:0}
.cards{display:flex;flex-wrap:wrap;gap:.75rem}
.card{border:1px solid #d0d7de;border-radius:6px;padding:.6rem .9rem;min-width:10rem}
.card b{display:block;font-size:1.25rem}.card span{color:#57606a;font-size:.85rem}
table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{border-bottom:1px solid #d8dee4;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1a7f37}.warn{color:#9a6700}.bad{color:#cf222e}
svg text{font:12px system-ui,sans-serif;fill:#57606a}
.legend span{display:inline-block;margin-right:1rem}
.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
"""


def page(title: str, subtitle: str, sections: Sequence[str]) -> str:
    body = "\n".join(sections)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="sub">{escape(subtitle)}</p>\n{body}\n</body></html>\n'
    )


def section(heading: str, *parts: str) -> str:
    return f"<section><h2>{escape(heading)}</h2>{''.join(parts)}</section>"


def paragraph(text: str) -> str:
    return f"<p>{escape(text)}</p>"


def summary(cards: Sequence[tuple[str, str]]) -> str:
    """Figures in cards: (value, label)."""
    items = "".join(f'<div class="card"><b>{escape(v)}</b><span>{escape(k)}</span></div>' for v, k in cards)
    return f'<div class="cards">{items}</div>'


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, numeric: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{escape(str(v))}</td>' if i in numeric else f"<td>{escape(str(v))}</td>"
            for i, v in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top``."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [step * i for i in range(math.ceil(top / step - 1e-9) + 1)]


def _legend(names: Sequence[str]) -> str:
    items = "".join(
        f'<span><i style="background:{PALETTE[i % len(PALETTE)]}"></i>{escape(n)}</span>'
        for i, n in enumerate(names)
    )
    return f'<div class="legend">{items}</div>'


def _frame(y_top: float, y_label: str, x_label: str, unit: str) -> tuple[list[str], float, float]:
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    ticks = _ticks(y_top)
    scale_top = ticks[-1]
    parts = []
    for tick in ticks:
        y = TOP + plot_h * (1 - tick / scale_top)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eaeef2"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(unit)}{tick:,.6g}</text>'
        )
    parts.append(
        f'<text x="{LEFT + plot_w / 2:.0f}" y="{HEIGHT - 8}" text-anchor="middle">{escape(x_label)}</text>'
        f'<text transform="rotate(-90)" x="{-(TOP + plot_h / 2):.0f}" y="14" text-anchor="middle">'
        f"{escape(y_label)}</text>"
    )
    return parts, scale_top, plot_h


def line_chart(
    series: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    *,
    x_label: str,
    y_label: str,
    unit: str = "",
    title: str = "",
) -> str:
    """Lines of (x, y) points, x and y from 0, with a legend."""
    xs = [x for _, points in series for x, _ in points] or [1.0]
    ys = [y for _, points in series for _, y in points] or [1.0]
    x_top = max(*xs, 1e-9)
    parts, y_top, plot_h = _frame(max(ys), y_label, x_label, unit)
    plot_w = WIDTH - LEFT - RIGHT
    x_ticks = _ticks(x_top)
    x_scale = x_ticks[-1]
    for tick in x_ticks:
        x = LEFT + plot_w * tick / x_scale
        parts.append(f'<text x="{x:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">{tick:,.6g}</text>')
    for i, (name, points) in enumerate(series):
        coords = " ".join(
            f"{LEFT + plot_w * x / x_scale:.1f},{TOP + plot_h * (1 - y / y_top):.1f}" for x, y in points
        )
        parts.append(
            f'<polyline fill="none" stroke="{PALETTE[i % len(PALETTE)]}" stroke-width="2.5" '
            f'points="{coords}">'
            f"<title>{escape(name)}</title></polyline>"
        )
    label = f' aria-label="{escape(title)}"' if title else ""
    svg = f'<svg role="img"{label} viewBox="0 0 {WIDTH} {HEIGHT}" width="100%">{"".join(parts)}</svg>'
    return svg + _legend([name for name, _ in series])


def bar_chart(bars: Sequence[tuple[str, float]], *, y_label: str, unit: str = "", title: str = "") -> str:
    """One bar per (label, value)."""
    parts, y_top, plot_h = _frame(max([v for _, v in bars] or [1.0]), y_label, "", unit)
    plot_w = WIDTH - LEFT - RIGHT
    slot = plot_w / max(len(bars), 1)
    for i, (name, value) in enumerate(bars):
        height = plot_h * value / y_top
        x = LEFT + i * slot + slot * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{TOP + plot_h - height:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{height:.1f}" fill="{PALETTE[0]}"><title>{escape(name)}: {value:,.6g}</title></rect>'
            f'<text x="{x + slot * 0.35:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">'
            f"{escape(name)}</text>"
        )
    label = f' aria-label="{escape(title)}"' if title else ""
    return f'<svg role="img"{label} viewBox="0 0 {WIDTH} {HEIGHT}" width="100%">{"".join(parts)}</svg>'
