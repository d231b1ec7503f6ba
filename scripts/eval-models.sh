#!/usr/bin/env bash
# Scores every shipped blob on the synthetic test set and keeps the result
# beside it: models/<name>.eval.json is `sonomask eval --json` of the blob's
# int8 masks (shared engine, as the cart runs it) on
# `sonomask synth --clips 40 --seed 1001`. The model cards quote these files;
# rerun this after retraining a model.
#
#   bash scripts/eval-models.sh [WORKDIR]     # ~1 minute once built
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-target/eval-models}"
# shellcheck source=scripts/sonomask-bin.sh
source scripts/sonomask-bin.sh
S="$(sonomask_bin)"
rm -rf "$work" && mkdir -p "$work"
"$S" synth --out "$work/test" --clips 40 --seed 1001
for blob in models/*.snmk; do
    name="$(basename "$blob" .snmk)"
    "$S" predict --model "$blob" --data "$work/test" --out "$work/$name-masks" >/dev/null
    "$S" eval --data "$work/test" --masks "$work/$name-masks" --json >"models/$name.eval.json.tmp"
    mv "models/$name.eval.json.tmp" "models/$name.eval.json"
    echo "models/$name.eval.json"
done
