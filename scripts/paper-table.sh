#!/usr/bin/env bash
# Runs the paper's table (experiments/paper.toml) so that it survives
# interruptions across machines and sessions: every finished job's result
# file is copied into docs/experiments/paper/jobs/ (committed as the run
# goes), and a later call restores those before it starts, so only the
# missing (arm, seed) jobs run. Then it writes the report
# (docs/experiments/paper/report.md, results.csv, plots/), incomplete or not.
#
#   bash scripts/paper-table.sh [RUNS]      # default RUNS: target/paper-runs
#   bash scripts/paper-table.sh --report [RUNS]   # only the report
#
# RUNS keeps the regenerated pool, test and real sets, the shared weak
# labels and the shared pretrainings (RUNS/cache/pretrain); none of it is
# committed: it is deterministic, and the jobs' result files record the
# data's fingerprint, which `experiment run` checks against a fresh copy.
#
# SONOMASK_BIN: a sonomask binary to use instead of building the release one.
# JOBS: jobs at once (default 1: each job already uses every core).
set -euo pipefail
cd "$(dirname "$0")/.."
report_only=0
if [ "${1:-}" = "--report" ]; then
    report_only=1
    shift
fi
runs="${1:-target/paper-runs}"
keep=docs/experiments/paper/jobs
out=docs/experiments/paper
# shellcheck source=scripts/sonomask-bin.sh
source scripts/sonomask-bin.sh
S="$(sonomask_bin)"
mkdir -p "$runs/results" "$keep"
# Finished jobs of earlier sessions (never overwrite a local result), and
# the resolved configuration the report reads.
cp -rn "$keep/." "$runs/results/"
if [ ! -e "$runs/experiment.json" ] && [ -e "$out/experiment.json" ]; then
    cp "$out/experiment.json" "$runs/experiment.json"
fi
sync_results() {
    # New result files only; a result file is written atomically, so any
    # file present is complete.
    (cd "$runs/results" && find . -name '*.json' -print0) |
        while IFS= read -r -d '' f; do
            if [ ! -e "$keep/$f" ]; then
                mkdir -p "$keep/$(dirname "$f")"
                cp "$runs/results/$f" "$keep/$f.tmp" && mv "$keep/$f.tmp" "$keep/$f"
            fi
        done
    if [ -e "$runs/experiment.json" ]; then
        cp "$runs/experiment.json" "$out/experiment.json.tmp" && mv "$out/experiment.json.tmp" "$out/experiment.json"
    fi
}
if [ "$report_only" = 0 ]; then
    start=$(date +%s)
    "$S" experiment run --config experiments/paper.toml --out "$runs" --jobs "${JOBS:-1}" &
    pid=$!
    trap 'kill $pid 2>/dev/null || true' INT TERM
    while kill -0 "$pid" 2>/dev/null; do
        sleep 30
        sync_results
    done
    rc=0
    wait "$pid" || rc=$?
    sync_results
    echo "experiment run exited $rc after $(($(date +%s) - start)) s" >&2
fi
"$S" experiment report --runs "$runs" --out "$out"
