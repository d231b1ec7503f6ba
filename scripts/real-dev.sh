#!/usr/bin/env bash
# Builds the real development set (datasets/real-dev) as a sonomask dataset
# with ground truth, and optionally scores models on it.
#
#   bash scripts/real-dev.sh [OUT]                    # build OUT (default target/real-dev)
#   bash scripts/real-dev.sh [OUT] --eval MODEL...    # ... and score `sonomask mask` with each blob
#
# OUT/all     every clip whose file is here: the committed files in
#             datasets/real-dev/files plus the external ones (too large, or
#             GPL) found in $SONOMASK_REALDATA (default ../shared/realdata);
#             evaluation only.
# OUT/train   the committed clips only: what the shipped models may train on,
#             so a model rebuilds the same on any clone.
# Each has truth/<clip>.png, the label folder for `sonomask train`.
# MASK_ARGS adds arguments to the scoring `sonomask mask` (e.g.
# MASK_ARGS="--no-motion-prior --no-edge-snap": the network and the fit).
#
# Every file's sha256 is checked against datasets/real-dev/sources.tsv; a
# missing external file is reported and left out, a wrong hash is an error.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/real-dev
if [ $# -gt 0 ] && [ "$1" != --eval ]; then
    out="$1"
    shift
fi
ext="${SONOMASK_REALDATA:-../shared/realdata}"
read -r -a mask_args <<< "${MASK_ARGS:-}"
# shellcheck source=scripts/sonomask-bin.sh
source scripts/sonomask-bin.sh
S="$(sonomask_bin)"

rm -rf "$out" && mkdir -p "$out/stage-all" "$out/stage-train"
while IFS=$'\t' read -r clip scanner where sha _; do
    case "$clip" in '#'* | '') continue ;; esac
    dir=datasets/real-dev/files
    [ "$where" = external ] && dir="$ext"
    file=""
    for cand in "$dir/$clip.dcm" "$dir/$clip.png"; do
        [ -f "$cand" ] && file="$cand"
    done
    if [ -z "$file" ]; then
        echo "real-dev: $clip ($scanner): not found in $dir, left out" >&2
        continue
    fi
    got="$(sha256sum "$file" | cut -d' ' -f1)"
    if [ "$got" != "$sha" ]; then
        echo "real-dev: $file: sha256 $got, expected $sha" >&2
        exit 2
    fi
    ln -s "$(realpath "$file")" "$out/stage-all/$(basename "$file")"
    if [ "$where" = files ]; then
        ln -s "$(realpath "$file")" "$out/stage-train/$(basename "$file")"
    fi
done < datasets/real-dev/sources.tsv
for set in all train; do
    "$S" ingest --out "$out/$set" --truth datasets/real-dev/labels "$out/stage-$set" 2> "$out/$set.log" ||
        { cat "$out/$set.log" >&2; exit 2; }
    echo "real-dev: $out/$set: $(ls "$out/$set/truth" | wc -l) clips with ground truth" >&2
done

if [ "${1:-}" = --eval ]; then
    shift
    # What a user gets: `sonomask mask` on the files (DICOM regions, the
    # plausibility checks and failing closed included), its keep masks
    # scored against the drawn sectors.
    for model in "$@"; do
        m="$out/mask-$(basename "$model")"
        "$S" mask --model "$model" --out "$m" --emit-masks --preview "${mask_args[@]}" \
            "$out/stage-all" > "$m.log" 2>&1 || true
        mkdir -p "$m/keep"
        for f in "$m"/*_f000.mask.png; do
            cp "$f" "$m/keep/$(basename "$f" _f000.mask.png).png"
        done
        echo "== $model: sonomask mask on $out/all (sheets in $m/preview)"
        "$S" eval --data "$out/all" --masks "$m/keep"
    done
fi
