#!/usr/bin/env bash
# mote's SGEMM against OpenBLAS (numpy's) in the same run, one thread each, for square
# matrices of 256, 512 and 1024. The machine's speed drifts by tens of percent from
# minute to minute, so the two are interleaved: ROUNDS rounds (default 3) of OpenBLAS
# then mote's criterion bench on its best path, a ratio per round and size, and the
# median over rounds; then mote's other paths (scalar…) once, for reference.
#
#   benches/sgemm/run.sh [SIZES]        e.g. benches/sgemm/run.sh 256,512
#   ROUNDS=5 benches/sgemm/run.sh
#
# Needs numpy for the OpenBLAS column (pip install numpy); without it only mote's
# figures are printed.
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes="${1:-256,512,1024}"
rounds="${ROUNDS:-3}"
py_sizes="${sizes//,/ }"
have_numpy=0
python3 -c 'import numpy' 2>/dev/null && have_numpy=1
out="$(mktemp -d)"
bench() {
    MOTE_SGEMM_SIZES="$sizes" cargo bench -q -p mote-simd --features std --bench sgemm -- \
        --warm-up-time 1 --measurement-time 3 >"$out/criterion" 2>&1 ||
        { cat "$out/criterion"; exit 1; }
}
median_of() { python3 - "$@" <<'PY'
import json, os, sys
root = "target/criterion/sgemm"
for p in sorted(os.listdir(root)):
    for n in os.listdir(os.path.join(root, p)) if os.path.isdir(os.path.join(root, p)) else []:
        est = os.path.join(root, p, n, "new", "estimates.json")
        if p != "report" and os.path.exists(est):
            print(p, n, json.load(open(est))["median"]["point_estimate"] * 1e-9)
PY
}
for r in $(seq 1 "$rounds"); do
    if [ "$have_numpy" = 1 ]; then
        python3 benches/sgemm/openblas.py $py_sizes >"$out/openblas-$r"
    fi
    rm -rf target/criterion/sgemm
    MOTE_SGEMM_PATHS=best bench
    median_of >"$out/mote-$r"
done
rm -rf target/criterion/sgemm
bench
median_of >"$out/all"
python3 - "$out" "$sizes" "$rounds" <<'PY'
import os, statistics, sys
out, sizes, rounds = sys.argv[1], [int(s) for s in sys.argv[2].split(",")], int(sys.argv[3])
def table(path):
    rows = {}
    if os.path.exists(path):
        for line in open(path):
            f = line.split()
            if len(f) == 3:
                rows[(f[0], int(f[1]))] = float(f[2])
    return rows
def openblas(path):
    if not os.path.exists(path):
        return {}
    return {int(l.split()[0]): float(l.split()[1]) for l in open(path) if l.strip()}
print("| n | path | mote median per round (ms) | OpenBLAS median per round (ms) | mote GFLOP/s (median round) | OpenBLAS GFLOP/s | mote / OpenBLAS speed per round | median |")
print("|---|---|---|---|---|---|---|---|")
for n in sizes:
    flops = 2 * n**3
    motes, obs = [], []
    best = None
    for r in range(1, rounds + 1):
        m = [(p, t) for (p, k), t in table(f"{out}/mote-{r}").items() if k == n]
        if m:
            best = m[0][0]
            motes.append(m[0][1])
        o = openblas(f"{out}/openblas-{r}")
        if n in o:
            obs.append(o[n])
    if not motes:
        continue
    ratios = [o / m for m, o in zip(motes, obs)]
    mm = statistics.median(motes)
    om = statistics.median(obs) if obs else None
    print(f"| {n} | {best} | " + " / ".join(f"{t*1e3:.3f}" for t in motes) + " | "
          + (" / ".join(f"{t*1e3:.3f}" for t in obs) if obs else "—") + f" | {flops/mm/1e9:.1f} | "
          + (f"{flops/om/1e9:.1f}" if om else "—") + " | "
          + (" / ".join(f"{x:.2f}" for x in ratios) if ratios else "—") + " | "
          + (f"**{statistics.median(ratios):.2f}**" if ratios else "—") + " |")
print()
print("Every path once (after the rounds):")
print()
print("| n | path | median (ms) | GFLOP/s |")
print("|---|---|---|---|")
for (p, n), t in sorted(table(f"{out}/all").items(), key=lambda x: (x[0][1], x[0][0])):
    print(f"| {n} | {p} | {t*1e3:.3f} | {2*n**3/t/1e9:.1f} |")
PY
rm -rf "$out"
