#!/usr/bin/env python3
"""Issue 17's targets, each marked met or not met, from the results the suite just wrote.

Reads bench/results/against_nginx.json (ratios: the median of the pairs), instructions.json and
scale.json; prints one line per target and exits 0 either way (a miss is a finding, explained in
bench/README.md, not a failed run). A result that is missing is reported as not measured.
"""
import json
import os
import sys

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def load(name):
    try:
        with open(os.path.join(RESULTS, name)) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def main():
    rows = []

    def check(target, value, met, shown):
        state = "not measured" if value is None else ("met" if met(value) else "NOT MET")
        rows.append((target, "-" if value is None else shown(value), state))

    against = load("against_nginx.json") or {"results": []}
    by_name = {r["scenario"]: r for r in against["results"]}

    def ratio(name):
        r = by_name.get(name)
        return r["ratio"]["median"] if r else None

    for name, floor in (("extension feed", 1.1), ("collection feed", 1.1),
                        ("304 revalidation", 1.1), ("free 1 MiB download", 0.9),
                        ("paid 1 MiB download (dlid)", 0.9), ("100 MiB download", 1.0)):
        check(f"{name} >= {floor}x nginx (median)", ratio(name), lambda v, f=floor: v >= f,
              lambda v: f"{v:.2f}x")
    slow = next((r for r in against["results"] if r["scenario"].endswith("slow readers")), None)
    if slow:
        slow.setdefault("clients", int(slow["scenario"].split()[0]))  # older result files
        check(f"{slow['clients']:,} slow readers of 100 MiB: peak RSS <= 200 MiB",
              slow["rss_peak_mib"], lambda v: v <= 200 and slow["clients"] >= 10000,
              lambda v: f"{v:.0f} MiB")
        p99 = slow.get("feed_p99_ms")
        refused = slow.get("feed_non_2xx", 0)
        check("feed answered while they read (p99 reported)", p99, lambda v: refused == 0,
              lambda v: f"{v:.1f} ms" + (f", {refused:,} refused" if refused else ""))
    else:
        check("10,000 slow readers of 100 MiB: peak RSS <= 200 MiB", None, None, None)

    scale = load("scale.json") or []
    for backend in ("sqlite", "postgres"):
        row = next((r for r in scale if r.get("kind") == "feed" and r["backend"] == backend
                    and r["releases"] == 10000), None)
        check(f"10,000-release feed cold <= 20 ms ({backend})",
              row and row["cold_ms"], lambda v: v <= 20, lambda v: f"{v:.1f} ms")
        # Cold after a change to the feed's own releases: the order is read again.
        check(f"  the same after a change to one of its releases ({backend})",
              row and row.get("after_change_ms"), lambda v: v <= 20, lambda v: f"{v:.1f} ms")

    counts = load("instructions.json") or {"results": []}
    for r in counts["results"]:
        check(f"instructions per request recorded: {r['scenario']}", r["depot"], lambda v: True,
              lambda v, r=r: f"{v:,.0f} (nginx {r['nginx']:,.0f})")
    if not counts["results"]:
        check("instructions per request recorded", None, None, None)

    width = max(len(t) for t, _, _ in rows)
    print("\nissue 17 targets")
    for target, shown, state in rows:
        print(f"  {target:<{width}}  {shown:>24}  {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
