#!/usr/bin/env bash
# Times mote against PyTorch on the parity models (mlp, cnn) in the same run and prints a
# markdown table: test accuracy, median seconds per training epoch, peak RSS, and the
# ratio of mote's epoch time to PyTorch's. See benches/peers/README.md.
#
#   benches/peers/run.sh
#
# Environment: OUTDIR (default target/peers) receives every run's output; THREADS
# (default 2), EPOCHS (default 10, PyTorch only: mote takes its epochs from
# examples/parity/<model>.toml, so keep the two equal) and SEED (default 0).
# PyTorch is skipped, with a message, when `python3 -c 'import torch'` fails.
# OMP_WAIT_POLICY defaults to PASSIVE: with the default (spinning) OpenMP threads,
# PyTorch's epoch times on a shared 2-core machine swing from 0.5 s to 25 s; set
# OMP_WAIT_POLICY=ACTIVE to measure PyTorch's spinning threads on a quiet machine.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUTDIR="${OUTDIR:-target/peers}"
THREADS="${THREADS:-2}"
EPOCHS="${EPOCHS:-10}"
SEED="${SEED:-0}"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
MODELS=(${MODELS_LIST:-mlp cnn lstm})

if [ ! -x /usr/bin/time ]; then
    echo "run.sh: /usr/bin/time (GNU time) is needed for peak RSS; install the 'time' package" >&2
    exit 1
fi
mkdir -p "$OUTDIR"

cargo build --release -p mote-trainer

for model in "${MODELS[@]}"; do
    echo "== mote: $model" >&2
    rm -rf "$OUTDIR/mote-$model"
    /usr/bin/time -f '%M' -o "$OUTDIR/mote-$model.rss" \
        target/release/mote train "examples/parity/$model.toml" --data data/mnist \
        --threads "$THREADS" --quiet --out "$OUTDIR/mote-$model"
done

have_torch=0
if python3 -c 'import torch' >/dev/null 2>&1; then
    have_torch=1
    for model in "${MODELS[@]}"; do
        echo "== pytorch: $model" >&2
        python3 benches/peers/torch_parity.py --model "$model" --epochs "$EPOCHS" \
            --seed "$SEED" --threads "$THREADS" >"$OUTDIR/pytorch-$model.json"
    done
else
    echo "run.sh: python3 cannot import torch; skipped PyTorch" >&2
fi

python3 - "$OUTDIR" "$have_torch" "${MODELS[@]}" <<'PY'
import json
import sys
from pathlib import Path

out, have_torch, models = Path(sys.argv[1]), sys.argv[2] == "1", sys.argv[3:]


def last_line(path):
    lines = path.read_text().split("\n")
    return [l for l in lines if l.strip()][-1]


print("| model | framework | test accuracy | median s/epoch | peak RSS MB | ratio mote/PyTorch epoch time |")
print("|---|---|---|---|---|---|")
for model in models:
    mote = json.loads((out / f"mote-{model}" / "metrics.json").read_text())
    mote_rss_mb = int(last_line(out / f"mote-{model}.rss")) / 1024
    torch = json.loads(last_line(out / f"pytorch-{model}.json")) if have_torch else None
    ratio = (f"{mote['median_epoch_seconds'] / torch['median_epoch_seconds']:.2f}"
             if torch else "n/a (PyTorch skipped)")
    print(f"| {model} | mote | {mote['test_accuracy']:.4f} | "
          f"{mote['median_epoch_seconds']:.3f} | {mote_rss_mb:.1f} | {ratio} |")
    if torch:
        print(f"| {model} | PyTorch {torch.get('torch_version', '')} | {torch['test_accuracy']:.4f} | "
              f"{torch['median_epoch_seconds']:.3f} | {torch['peak_rss_mb']:.1f} | 1.00 |")
PY
