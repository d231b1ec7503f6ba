#!/usr/bin/env bash
# Training throughput side by side on one dataset and one recipe: sonomask
# train on flex (the default build), the same network and recipe in
# PyTorch (scripts/torch-train-bench.py, the anchor), and, when given,
# sonomask built with the burn-tch backend. Default and cart widths.
# Writes docs/benchmarks-training.md (atomically), which scripts/bench.sh
# includes in docs/benchmarks.md.
#
#   TORCH_PYTHON=/venv/bin/python bash scripts/train-bench.sh [WORKDIR]
#
# TORCH_PYTHON: a Python with torch, numpy and pillow (required).
# TCH_BIN: a sonomask built with `--features tch` against torch 2.9.0
#   (LIBTORCH_USE_PYTORCH=1; see docs/benchmarks-training.md); optional.
# POOL, LABELS: reuse a dataset and label folder (default: WORKDIR/pool,
#   `synth --clips 200 --seed 7`, and its temporal labels, as the paper
#   table and the shipped model use).
# EPOCHS: epochs per run (default 4; the first is warm-up and not counted).
# SONOMASK_BIN: a release sonomask to use instead of building one.
# Nothing else should run on the machine meanwhile: these are wall-clock
# figures.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${TORCH_PYTHON:?set TORCH_PYTHON to a python with torch, numpy and pillow}"
work="${1:-target/train-bench}"
epochs="${EPOCHS:-4}"
# shellcheck source=scripts/sonomask-bin.sh
source scripts/sonomask-bin.sh
S="$(sonomask_bin)"
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$work"
pool="${POOL:-$work/pool}"
labels="${LABELS:-$work/temporal}"
[ -d "$pool" ] || "$S" synth --out "$pool" --clips 200 --seed 7
[ -d "$labels" ] || "$S" weak-label --method temporal --data "$pool" --out "$labels"

# sonomask's images/s over epochs 2.. (the epoch lines), and its profile.
sonomask_run() { # BIN NAME [train args]
    local bin="$1" name="$2"
    shift 2
    "$bin" train --data "$pool" --labels "$labels" --out "$work/$name.bpk" \
        --epochs "$epochs" --patience "$epochs" --frames-per-clip 12 --seed 1 "$@" 2>&1 |
        tr '\r' '\n' | grep -E '^epoch' > "$work/$name.txt"
    awk 'NR > 1 { n++; ips += $(NF - 12); b += $(NF - 7); s += $(NF - 4); t += $(NF - 10) }
         END { printf "%.0f %.0f %.0f\n", ips / n, 100 * b / t, 100 * s / t }' "$work/$name.txt"
}
torch_run() { # NAME [args]
    local name="$1"
    shift
    "$TORCH_PYTHON" scripts/torch-train-bench.py --data "$pool" --labels "$labels" \
        --frames-per-clip 12 --epochs "$epochs" --threads 2 "$@" 2>/dev/null > "$work/$name.txt"
    tail -1 "$work/$name.txt" | sed -n 's/.*"images_per_s": \([0-9.]*\).*/\1/p' | awk '{ printf "%.0f\n", $1 }'
}
cart=(--encoder 4,8,16 --bottleneck 32)
read -r flex_d flex_d_b flex_d_s < <(sonomask_run "$S" flex-default)
read -r flex_c flex_c_b flex_c_s < <(sonomask_run "$S" flex-cart "${cart[@]}")
torch_d=$(torch_run torch-default)
torch_dcl=$(torch_run torch-default-cl --channels-last)
torch_c=$(torch_run torch-cart "${cart[@]}")
torch_ccl=$(torch_run torch-cart-cl --channels-last "${cart[@]}")
tch_d="not measured (no TCH_BIN)"
tch_c="$tch_d"
if [ -n "${TCH_BIN:-}" ]; then
    read -r tch_d _ _ < <(sonomask_run "$TCH_BIN" tch-default --device tch)
    read -r tch_c _ _ < <(sonomask_run "$TCH_BIN" tch-cart --device tch "${cart[@]}")
fi
torch_version=$("$TORCH_PYTHON" -c 'import torch; print(torch.__version__)' 2>/dev/null)
images=$(sed -n 's/.* \([0-9]*\) training images.*/\1/p' "$work/torch-default.txt")

out=docs/benchmarks-training.md
{
    echo "Measured by \`scripts/train-bench.sh\` on $(date -u '+%Y-%m-%d %H:%M') UTC, commit"
    echo "\`$(git rev-parse --short=12 HEAD)\`, $(nproc) cores, load average at start"
    echo "$load_at_start. Same data for all: \`synth --clips 200 --seed 7\`,"
    echo "temporal weak labels, 12 frames per clip ($images training images per epoch),"
    echo "batch 16, BCE + soft Dice, Adam (lr 2e-3), the augmentation of"
    echo "\`sonomask train\`; $epochs epochs, images/s over epochs 2–$epochs (the first is"
    echo "warm-up); frames decoded once before training in every case."
    echo
    echo "| training images/s, 2 threads | default net (8.2 M MACs) | cart net (2.6 M MACs) |"
    echo "|---|---:|---:|"
    echo "| \`sonomask train\`, flex (the default build) | $flex_d | $flex_c |"
    echo "| \`sonomask train --device tch\` (torch $( [ -n "${TCH_BIN:-}" ] && echo 2.9.0 || echo –)) | $tch_d | $tch_c |"
    echo "| PyTorch $torch_version, \`scripts/torch-train-bench.py\` | $torch_d | $torch_c |"
    echo "| PyTorch $torch_version, channels-last | $torch_dcl | $torch_ccl |"
    echo
    echo "Where a flex epoch goes (default net; cart net in parentheses): batch"
    echo "assembly with augmentation $flex_d_b % ($flex_c_b %), forward + loss +"
    echo "backward + optimiser step $flex_d_s % ($flex_c_s %), the rest validation."
    echo "The per-epoch lines are in \`$work/*.txt\`."
    echo
    echo "The tch build (a measured configuration, not a CI step): torch 2.9.0"
    echo "from PyPI in a virtual environment (\`pip install torch==2.9.0\`, 6.7 GB:"
    echo "the wheel pulls the CUDA libraries), then"
    echo "\`PATH=VENV/bin:\$PATH LIBTORCH_USE_PYTORCH=1 cargo build --release -p sonomask --features tch\`"
    echo "(18 min of CPU on this machine), run with"
    echo "\`LD_LIBRARY_PATH=VENV/lib/python3.11/site-packages/torch/lib\`."
} > "$out.tmp"
mv "$out.tmp" "$out"
cat "$out"
