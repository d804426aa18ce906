#!/usr/bin/env bash
# Reproduces the training table in docs/results.md:
#   tools/results/train_table.sh OUT_DIR [MINUTES]
# Builds the built-in dataset (default lengths, seed 0), then trains each model on the
# crunch and high-gain presets for MINUTES (default 30, the documented default budget) and
# writes OUT_DIR/results.json and OUT_DIR/results.md.
set -euo pipefail
out=${1:?usage: train_table.sh OUT_DIR [MINUTES]}
minutes=${2:-30}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export PYTHONPATH=$root/python
python=$root/.venv/bin/python
mkdir -p "$out/runs"
[ -f "$out/data/meta.json" ] || "$python" -m valvenet.cli dataset build --out "$out/data"
for preset in crunch highgain; do
  for model in wavenet-10x8 lstm-12 nam-feather nam-nano wavenet1 wavenet2; do
    run=$out/runs/$preset-$model
    [ -f "$run/model.vnet" ] && continue
    "$python" -m valvenet.cli train --data "$out/data" --name "$preset" --model "$model" \
      --out "$run" --max-minutes "$minutes" --seed 0 >"$run.log" 2>&1 || echo "training $preset $model failed: see $run.log" >&2
  done
done
"$python" "$root/tools/results/table.py" "$out"
