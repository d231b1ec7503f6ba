#!/usr/bin/env bash
# Runs an experiment as a Slurm job array: task i of N runs
# `sonomask experiment run --shard i/N` into one shared runs folder, then the
# report is made from that folder. Works on any Slurm cluster whose nodes see
# the same filesystem (and on scripts/slurm-local.sh's one-node cluster,
# which is how CI tests it).
#
#   bash scripts/slurm-experiment.sh [--check] CONFIG RUNS REPORT N [SBATCH_ARGS...]
#
# --check: also run the experiment unsharded in one process (RUNS.single)
# and fail unless its results.csv equals the array's row for row, the
# wall-clock `seconds` column aside.
#
# SONOMASK_BIN selects the binary (default: `cargo build -p sonomask`'s
# debug binary). Slurm output goes to RUNS/slurm-<array job>_<task>.out.
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
if [ "${1:-}" = --check ]; then
    check=1
    shift
fi
[ $# -ge 4 ] || {
    echo "usage: $0 [--check] CONFIG RUNS REPORT N [SBATCH_ARGS...]" >&2
    exit 2
}
config="$(realpath "$1")"
runs="$2"
report="$3"
n="$4"
shift 4
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "N must be a positive integer, got '$n'" >&2; exit 2; }
command -v sbatch >/dev/null || { echo "sbatch not found: no Slurm client here" >&2; exit 2; }

# shellcheck source=scripts/sonomask-bin.sh
source scripts/sonomask-bin.sh
bin="$(sonomask_bin debug)"
mkdir -p "$runs"
runs="$(realpath "$runs")"

# --wait: sbatch returns when every task has ended, with a non-zero status
# if any task failed. The shard comes from Slurm's own variables, exactly as
# on a real cluster.
start=$(date +%s)
sbatch --wait --job-name=sonomask-experiment --array="0-$((n - 1))" \
    --cpus-per-task=1 --output="$runs/slurm-%A_%a.out" "$@" \
    --wrap "exec '$bin' experiment run --config '$config' --out '$runs' --shard \$SLURM_ARRAY_TASK_ID/\$SLURM_ARRAY_TASK_COUNT" || {
    echo "slurm array failed; task logs:" >&2
    tail -n 20 "$runs"/slurm-*.out >&2 || true
    exit 1
}
echo "slurm array of $n tasks finished in $(($(date +%s) - start)) s"
"$bin" experiment report --runs "$runs" --out "$report"

[ "$check" = 1 ] || exit 0

# The same experiment in one process, and the two results tables compared.
"$bin" experiment run --config "$config" --out "$runs.single" > /dev/null
"$bin" experiment report --runs "$runs.single" --out "$report.single" > /dev/null
strip() {
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "seconds") s = i }
             { out = ""; for (i = 1; i <= NF; i++) if (i != s) out = out (out == "" ? "" : ",") $i; print out }' "$1"
}
if diff <(strip "$report/results.csv") <(strip "$report.single/results.csv"); then
    echo "slurm array and unsharded run agree: $(($(wc -l < "$report/results.csv") - 1)) rows"
else
    echo "slurm array and unsharded run differ (above)" >&2
    exit 1
fi
