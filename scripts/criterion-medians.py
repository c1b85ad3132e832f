#!/usr/bin/env python3
"""Print criterion's medians (and throughput in G/s) as a Markdown table.

Usage: scripts/criterion-medians.py [target/criterion]
Reads every <group>/<function>/new/estimates.json under the folder; throughput is the
benchmark's declared element count divided by the median time.
"""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
rows = []
for est in sorted(root.glob("**/new/estimates.json")):
    bench = json.loads((est.parent / "benchmark.json").read_text())
    median_ns = json.loads(est.read_text())["median"]["point_estimate"]
    throughput = bench.get("throughput") or {}
    elements = throughput.get("Elements") if isinstance(throughput, dict) else None
    rate = f"{elements / median_ns:.2f}" if elements else ""
    rows.append((bench["group_id"], bench.get("function_id") or "", median_ns, rate))

print("| benchmark | function | median | G elements/s |")
print("|---|---|---|---|")
for group, function, ns, rate in rows:
    print(f"| {group} | {function} | {ns / 1000:.1f} µs | {rate} |")
