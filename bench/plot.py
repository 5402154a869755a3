#!/usr/bin/env python3
"""Draws bench/results/scale.json into SVG curves under bench/ (no plotting library needed):

- bench/feed-cost.svg: feed time against the number of releases, cold and cached;
- bench/log-cost.svg: the slowest admin download-log query against the number of events.
"""
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]


def chart(path, title, xlabel, ylabel, series, target=None):
    """series: [(label, [(x, y), ...])]; both axes logarithmic."""
    w, h, left, right, top, bottom = 720, 440, 80, 200, 50, 60
    xs = [x for _, pts in series for x, _ in pts]
    ys = [y for _, pts in series for _, y in pts] + ([target] if target else [])
    x0, x1 = math.floor(math.log10(min(xs))), math.ceil(math.log10(max(xs)))
    y0, y1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    if x0 == x1:
        x1 += 1
    if y0 == y1:
        y1 += 1

    def px(x):
        return left + (math.log10(x) - x0) / (x1 - x0) * (w - left - right)

    def py(y):
        return h - bottom - (math.log10(y) - y0) / (y1 - y0) * (h - top - bottom)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2 - 100}" y="24" font-size="15">{title}</text>']
    for e in range(x0, x1 + 1):
        x = px(10 ** e)
        out.append(f'<line x1="{x}" y1="{top}" x2="{x}" y2="{h - bottom}" stroke="#ddd"/>')
        out.append(f'<text x="{x - 12}" y="{h - bottom + 18}">{10 ** e:,}</text>')
    for e in range(y0, y1 + 1):
        y = py(10 ** e)
        label = f"{10 ** e:g}"
        out.append(f'<line x1="{left}" y1="{y}" x2="{w - right}" y2="{y}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 8}" y="{y + 4}" text-anchor="end">{label}</text>')
    out.append(f'<text x="{(w - right + left) / 2 - 40}" y="{h - 18}">{xlabel}</text>')
    out.append(f'<text x="18" y="{(h) / 2}" transform="rotate(-90 18 {h / 2})">{ylabel}</text>')
    if target:
        y = py(target)
        out.append(f'<line x1="{left}" y1="{y}" x2="{w - right}" y2="{y}" stroke="#c00" '
                   f'stroke-dasharray="6 4"/>')
        out.append(f'<text x="{w - right + 6}" y="{y + 4}" fill="#c00">target {target:g} ms</text>')
    for i, (label, pts) in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        pts = sorted(pts)
        d = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        out.append(f'<polyline points="{d}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in pts:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>')
        ly = top + 20 + i * 20
        out.append(f'<line x1="{w - right + 10}" y1="{ly}" x2="{w - right + 30}" y2="{ly}" '
                   f'stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{w - right + 36}" y="{ly + 4}">{label}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out))
    print(f"drew {path}")


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "results", "scale.json")
    with open(src) as f:
        rows = json.load(f)
    feed = []
    for backend in ("sqlite", "postgres"):
        pts = [r for r in rows if r["kind"] == "feed" and r["backend"] == backend]
        if pts:
            feed.append((f"{backend} cold", [(r["releases"], r["cold_ms"]) for r in pts]))
            feed.append((f"{backend} cached", [(r["releases"], r["cached_ms"]) for r in pts]))
    if feed:
        chart(os.path.join(HERE, "feed-cost.svg"), "Extension feed: time per request",
              "releases of the extension", "milliseconds", feed, target=50)
    log = []
    for backend in ("sqlite", "postgres"):
        pts = [r for r in rows if r["kind"] == "events" and r["backend"] == backend]
        if pts:
            log.append((f"{backend} slowest", [(r["events"], r["worst_ms"]) for r in pts]))
    if log:
        chart(os.path.join(HERE, "log-cost.svg"), "Admin download-log queries (slowest of six)",
              "download events in the log", "milliseconds", log, target=200)


if __name__ == "__main__":
    main()
