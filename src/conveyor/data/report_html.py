"""The profile report as one self-contained HTML page: inline CSS and SVG, no script, no CDN, no network."""

from __future__ import annotations

import html
import math
from typing import Any

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1f2933;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d9e2ec}
.meta{color:#52606d}.grid{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #d9e2ec;border-radius:6px;padding:10px 12px;width:330px}
.card h3{font-size:15px;margin:0 0 4px;word-break:break-all}
.tag{font-size:11px;background:#e4e7eb;border-radius:3px;padding:1px 5px;margin-left:4px}
table{border-collapse:collapse}td,th{padding:2px 6px;text-align:right;font-size:12px}
th{text-align:left;font-weight:600}
.warn{color:#8d2b0b;background:#fff3c4;padding:4px 8px;margin:3px 0;border-radius:4px}
.heat td{width:34px;height:22px;text-align:center;font-size:10px}
.heat th{font-size:11px;max-width:120px;overflow:hidden}
"""


def render_html(report: dict[str, Any], title: str) -> str:
    """The report of `insights.analyze` as a complete HTML document."""
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(title)} — profile</title><style>{_CSS}</style></head><body>",
        fragment(report, title),
        "</body></html>",
    ]
    return "".join(parts)


def fragment(report: dict[str, Any], title: str) -> str:
    """The report's body, for embedding (a notebook's `_repr_html_`)."""
    sampled = (
        f" Distributions and correlations from a sample of {report['sample_rows']:,} rows."
        if report.get("sampled")
        else ""
    )
    out = [
        f"<h1>{_e(title)}</h1>",
        f"<p class='meta'>{report['rows']:,} rows × {report['columns']:,} columns · "
        f"{report['duplicate_rows']:,} duplicate rows.{sampled}</p>",
    ]
    if report.get("warnings"):
        out.append("<h2>Warnings</h2>")
        out.extend(f"<div class='warn'>{_e(w['message'])}</div>" for w in report["warnings"])
    target = report.get("target")
    if target:
        out.append(f"<h2>Association with target {_e(target['column'])}</h2>")
        out.append(_bars([(k, v) for k, v in target["association"].items()], width=420, fmt="{:.3f}"))
    out.append("<h2>Columns</h2><div class='grid'>")
    for name, entry in report["column_details"].items():
        out.append(_column_card(name, entry))
    out.append("</div>")
    for key, label in (("numeric", "Correlations (Pearson)"), ("categorical", "Associations (Cramér's V)")):
        found = report.get("correlations", {}).get(key) or {}
        if len(found.get("columns", [])) >= 2:
            out.append(f"<h2>{label}</h2>" + _heatmap(found["columns"], found["matrix"]))
    return "".join(out)


def _column_card(name: str, entry: dict[str, Any]) -> str:
    rows = [
        ("missing", f"{entry['missing_pct']:.1f}%"),
        ("distinct", f"{entry['distinct']:,}"),
    ]
    for key in ("min", "max", "mean", "std"):
        if entry.get(key) is not None:
            rows.append((key, _num(entry[key])))
    for key, value in (entry.get("quantiles") or {}).items():
        rows.append((key, _num(value)))
    if entry.get("outliers"):
        rows.append(("outliers", f"{entry['outliers']:,} ({entry['outlier_pct']:.1f}%)"))
    if entry.get("skew") is not None:
        rows.append(("skew", f"{entry['skew']:.2f}"))
    stats = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    chart = ""
    if entry.get("histogram"):
        chart = _histogram(entry["histogram"])
    elif entry.get("top_values"):
        chart = _bars([(t["value"], t["count"]) for t in entry["top_values"]], width=300, fmt="{:,}")
    return (
        f"<div class='card'><h3>{_e(name)}<span class='tag'>{_e(entry['semantic_type'])}</span>"
        f"<span class='tag'>{_e(entry['physical_type'])}</span></h3>{chart}<table>{stats}</table></div>"
    )


def _histogram(histogram: dict[str, Any], width: int = 300, height: int = 80) -> str:
    counts = histogram["counts"]
    top = max(counts) or 1
    bar = width / len(counts)
    rects = "".join(
        f"<rect x='{i * bar:.1f}' y='{height - height * c / top:.1f}' width='{max(bar - 1, 1):.1f}' "
        f"height='{height * c / top:.1f}' fill='#3e7cb1'><title>{_num(histogram['edges'][i])} – "
        f"{_num(histogram['edges'][i + 1])}: {c:,}</title></rect>"
        for i, c in enumerate(counts)
    )
    return f"<svg width='{width}' height='{height}' role='img' aria-label='histogram'>{rects}</svg>"


def _bars(items: list[tuple[str, float]], width: int, fmt: str) -> str:
    if not items:
        return ""
    top = max(abs(v) for _, v in items) or 1
    label_width, row = 130, 16
    height = row * len(items)
    shapes = []
    for i, (label, value) in enumerate(items):
        size = (width - label_width - 60) * abs(value) / top
        shapes.append(
            f"<text x='0' y='{i * row + 12}' font-size='11'>{_e(str(label)[:22])}</text>"
            f"<rect x='{label_width}' y='{i * row + 2}' width='{size:.1f}' height='{row - 4}' fill='#3e7cb1'/>"
            f"<text x='{label_width + size + 4:.1f}' y='{i * row + 12}' font-size='11'>{_e(fmt.format(value))}</text>"
        )
    return f"<svg width='{width}' height='{height}' role='img' aria-label='bars'>{''.join(shapes)}</svg>"


def _heatmap(columns: list[str], matrix: list[list[float | None]]) -> str:
    head = "".join(f"<th title='{_e(c)}'>{_e(c[:10])}</th>" for c in columns)
    body = []
    for name, values in zip(columns, matrix, strict=True):
        cells = []
        for value in values:
            if value is None:
                cells.append("<td></td>")
                continue
            strength = min(abs(value), 1.0)
            color = f"rgba({'178,34,34' if value < 0 else '62,124,177'},{strength:.2f})"
            cells.append(f"<td style='background:{color}'>{value:.2f}</td>")
        body.append(f"<tr><th title='{_e(name)}'>{_e(name[:24])}</th>{''.join(cells)}</tr>")
    return f"<table class='heat'><tr><th></th>{head}</tr>{''.join(body)}</table>"


def _num(value: Any) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:,.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)
