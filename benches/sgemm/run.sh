#!/usr/bin/env bash
# mote's SGEMM against OpenBLAS (numpy's) in the same run, one thread each, for square
# matrices of 256, 512 and 1024: OpenBLAS, then mote's criterion bench on every path
# this CPU has, then OpenBLAS again; prints a table of medians and ratios.
#
#   benches/sgemm/run.sh [SIZES]        e.g. benches/sgemm/run.sh 256,512
#
# Needs numpy for the OpenBLAS column (pip install numpy); without it only mote's
# figures are printed.
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes="${1:-256,512,1024}"
py_sizes="${sizes//,/ }"
have_numpy=0
python3 -c 'import numpy' 2>/dev/null && have_numpy=1
out="$(mktemp -d)"
if [ "$have_numpy" = 1 ]; then
    python3 benches/sgemm/openblas.py $py_sizes >"$out/before"
fi
MOTE_SGEMM_SIZES="$sizes" cargo bench -q -p mote-simd --features std --bench sgemm -- \
    --warm-up-time 1 --measurement-time 4 >"$out/criterion" 2>&1 ||
    { cat "$out/criterion"; exit 1; }
if [ "$have_numpy" = 1 ]; then
    python3 benches/sgemm/openblas.py $py_sizes >"$out/after"
fi
python3 - "$out" "$sizes" <<'PY'
import json, os, sys
out, sizes = sys.argv[1], [int(s) for s in sys.argv[2].split(",")]
def openblas(name):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return {}
    return {int(l.split()[0]): float(l.split()[1]) for l in open(path) if l.strip()}
before, after = openblas("before"), openblas("after")
root = "target/criterion/sgemm"
paths = sorted(p for p in os.listdir(root) if os.path.isdir(os.path.join(root, p)) and p != "report")
print("| n | path | mote median | GFLOP/s | OpenBLAS median (before / after) | OpenBLAS GFLOP/s (faster run) | mote / OpenBLAS speed |")
print("|---|---|---|---|---|---|---|")
for n in sizes:
    flops = 2 * n**3
    ob = [d[n] for d in (before, after) if n in d]
    ob_med = min(ob) if ob else None  # the faster OpenBLAS run: the harder bar
    for p in paths:
        est = os.path.join(root, p, str(n), "new", "estimates.json")
        if not os.path.exists(est):
            continue
        med = json.load(open(est))["median"]["point_estimate"] * 1e-9
        ob_txt = " / ".join(f"{t*1e3:.3f} ms" for t in ob) if ob else "—"
        ob_g = f"{flops / ob_med / 1e9:.1f}" if ob_med else "—"
        ratio = f"**{ob_med / med:.2f}**" if ob_med else "—"
        print(f"| {n} | {p} | {med*1e3:.3f} ms | {flops/med/1e9:.1f} | {ob_txt} | {ob_g} | {ratio} |")
PY
rm -rf "$out"
