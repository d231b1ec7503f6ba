#!/usr/bin/env bash
# Leave-one-scanner-out on the real development set: for each scanner X of
# datasets/real-dev/sources.tsv, refine the model's pretrained checkpoint on
# the synthetic HQ clips plus the real clips of every other scanner, quantise
# it, mask the real files with the int8 blob (`sonomask mask`, as a user
# would) and score X's clips only. X's frames are never seen
# by the model that scores them: the figure that stands in for "a scanner
# we have never met".
#
#   bash scripts/real-loso.sh [--cart] [--rescore] [WORKDIR]
#
# --rescore keeps each fold's trained blob (WORKDIR/loso/<scanner>/m.snmk)
# and only masks and scores again: for changes after the network (map
# fusion, fit, checks). MASK_ARGS adds arguments to `sonomask mask`
# (e.g. MASK_ARGS=--no-motion-prior). REFINE_SEED=N refines with seed N
# instead of the recipe's (see below).
#
# WORKDIR is a finished scripts/default-model.sh workdir (default
# target/default-model, with --cart target/cart-model): its pool, hq, real
# (the committed real clips) and pre.bpk are reused, and the refinement uses
# the same arguments as the shipped model. Needs scripts/real-dev.sh's target/real-dev. Writes
# WORKDIR/loso/<scanner>/ and prints one row per scanner plus the mean over
# clips; the rows are also in WORKDIR/loso/loso.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
name=default
rescore=0
while [ $# -gt 0 ]; do
    case "$1" in
    --cart) name=cart ;;
    --rescore) rescore=1 ;;
    *) break ;;
    esac
    shift
done
read -r -a mask_args <<< "${MASK_ARGS:-}"
work="${1:-target/$name-model}"
real=target/real-dev
[ -d "$real/all" ] || { echo "run scripts/real-dev.sh first" >&2; exit 2; }
[ -f "$work/pre.bpk" ] || { echo "$work/pre.bpk missing: run scripts/default-model.sh first" >&2; exit 2; }
# shellcheck source=scripts/sonomask-bin.sh
source scripts/sonomask-bin.sh
S="$(sonomask_bin)"
# The refinement arguments of scripts/default-model.sh, kept in one place.
# shellcheck source=scripts/recipe.sh
source scripts/recipe.sh
# REFINE_SEED=N refines every fold with another seed (a spread check: the
# same recipe, another training run); its results belong in another
# WORKDIR (symlink the first one's pool, hq, real and pre.bpk*).
if [ -n "${REFINE_SEED:-}" ]; then
    REFINE_SEED_ARGS=(--seed "$REFINE_SEED")
fi

mkdir -p "$work/loso"
printf 'scanner\tclip\taccuracy\tdice\tphi_leak\tsignal_loss\n' > "$work/loso/loso.tsv"
for scanner in $(grep -v '^#' datasets/real-dev/sources.tsv | cut -f2 | sort -u); do
    d="$work/loso/$scanner"
    held=$(awk -F'\t' -v s="$scanner" '$2 == s { print $1 }' datasets/real-dev/sources.tsv)
    if [ "$rescore" = 1 ]; then
        [ -f "$d/m.snmk" ] || { echo "$d/m.snmk missing: run without --rescore first" >&2; exit 2; }
        rm -rf "$d/mask" "$d/keep"
    else
        rm -rf "$d" && mkdir -p "$d/labels"
        for f in "$work/real/truth/"*.png; do
            c="$(basename "$f" .png)"
            grep -qx "$c" <<< "$held" || cp "$f" "$d/labels/"
        done
        (
            cd "$work"
            "$S" train --data pool --labels hq --init pre.bpk --out "loso/$scanner/ref.bpk" \
                --extra-data real --extra-labels "loso/$scanner/labels" \
                "${REFINE_ARGS[@]}" "${REFINE_SEED_ARGS[@]}" > "loso/$scanner/train.log" 2>&1
            "$S" quantize --model "loso/$scanner/ref.bpk" --calib pool --out "loso/$scanner/m.snmk" > /dev/null 2>&1
        )
    fi
    # Scored as a user runs it: `sonomask mask` on the files.
    "$S" mask --model "$d/m.snmk" --out "$d/mask" --emit-masks --preview "${mask_args[@]}" \
        "$real/stage-all" > "$d/mask.log" 2>&1 || true
    mkdir -p "$d/keep"
    for f in "$d/mask/"*_f000.mask.png; do
        cp "$f" "$d/keep/$(basename "$f" _f000.mask.png).png"
    done
    "$S" eval --data "$real/all" --masks "$d/keep" --json > "$d/eval.json"
    python3 - "$d/eval.json" "$scanner" "$held" >> "$work/loso/loso.tsv" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
held = set(sys.argv[3].split())
for c in s["per_clip"]:
    if c["clip"] in held:
        print(f'{sys.argv[2]}\t{c["clip"]}\t{c["pixel_accuracy"]:.4f}\t{c["dice"]:.4f}\t{c["phi_leak"]:.4f}\t{c["signal_loss"]:.4f}')
EOF
done
python3 - "$work/loso/loso.tsv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
print(f'{"scanner":<24} {"clip":<40} {"acc":>7} {"dice":>7} {"leak":>7} {"loss":>7}')
for r in rows:
    print(f'{r["scanner"]:<24} {r["clip"]:<40} {float(r["accuracy"]):7.4f} {float(r["dice"]):7.4f} {float(r["phi_leak"]):7.4f} {float(r["signal_loss"]):7.4f}')
n = len(rows)
mean = lambda k: sum(float(r[k]) for r in rows) / max(n, 1)
print(f'{"mean over " + str(n) + " clips":<65} {mean("accuracy"):7.4f} {mean("dice"):7.4f} {mean("phi_leak"):7.4f} {mean("signal_loss"):7.4f}')
print(f'worst frame accuracy {min(float(r["accuracy"]) for r in rows):.4f}')
EOF
