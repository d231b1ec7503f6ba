#!/usr/bin/env bash
# Remakes models/default.snmk (or, with --cart, models/cart.snmk) from
# nothing, byte for byte: synthetic pool, temporal weak labels, simulated
# check, simulated drawing of the rejected clips first, pretraining,
# refinement with the real development set's committed clips, int8
# quantisation and the development signature (keys/dev.key). Every step is
# seeded and the flex backend is deterministic, so the blob's sha256 matches
# its model card
# (models/default.md, models/cart.md).
#
#   bash scripts/default-model.sh [WORKDIR]          # ~20 minutes on 2 cores
#   bash scripts/default-model.sh --cart [WORKDIR]   # the cart's narrow net, ~14 minutes
#
# The shipped cart blob is session 14's (commit 7801460): with today's
# generator and real set this recipe scored worse leaving one scanner out
# (models/cart.md), so --cart here makes a different blob. Set
# SONOMASK_MODELS_DIR to try it without replacing the shipped one.
#
# WORKDIR (default: target/default-model, target/cart-model) keeps the pool,
# labels, journal and checkpoints; the blob, its report and the refined float
# checkpoint (<name>.bpk, .bpk.json) are written into models/ (or
# $SONOMASK_MODELS_DIR, to try a recipe without replacing the shipped files).
set -euo pipefail
cd "$(dirname "$0")/.."
name=default
if [ "${1:-}" = "--cart" ]; then
    name=cart
    shift
fi
work="${1:-target/$name-model}"
# shellcheck source=scripts/sonomask-bin.sh
source scripts/sonomask-bin.sh
S="$(sonomask_bin)"
root="$PWD"
# The pool: 1,200 clips of 8 frames for both networks. Their accuracy
# follows the pool's size (trained on the true sectors, 200 clips scored
# 0.937 on the synthetic test set, 600 scored 0.960), and eight frames a
# clip label as well as sixteen (temporal labeler 0.934 against 0.936) at
# half the disk. The default kept 200 clips of 16 until the generator drew
# zoomed curved-probe views (a pane filled edge to edge): before that the
# larger pool's network read the Aloka dual screen's panes as fans
# (models/default.md, "Pool size").
pool_clips=1200 pool_frames=8 pre_frames=6
rm -rf "$work" && mkdir -p "$work"
cd "$work"
# Relative names inside WORKDIR: the checkpoints' metadata records them and
# the blob's provenance hash covers that metadata.
"$S" synth --out pool --clips "$pool_clips" --frames "$pool_frames" --seed 7
# Weak labels from the temporal labeler: on sectors as dark as real ones
# the threshold labeler cuts the dark anatomy out (0.84 on this pool against
# the temporal labeler's 0.94), and pretraining on its labels teaches the
# network exactly the "bright = inside" mistake real frames punish. The
# paper's threshold-vs-method comparison lives in experiments/, not here.
"$S" weak-label --method temporal --data pool --out weak
"$S" check --data pool --labels weak --oracle --journal j.jsonl
"$S" annotate --oracle --data pool --clips 40 --prefer-rejected j.jsonl --out hq
# Real frames with human-drawn sectors (datasets/real-dev, the committed
# files only, so the model rebuilds the same on any clone) join the
# refinement; real/truth is their label folder.
"$S" ingest --out real --truth "$root/datasets/real-dev/labels" "$root/datasets/real-dev/files" 2> real.log
# shellcheck source=scripts/recipe.sh
source "$root/scripts/recipe.sh"
if [ "$name" = cart ]; then
    # The cart's network: narrow enough for the Cortex-M7 (2.6 M MACs
    # against 8.2 M), pretrained as long as the default, and
    # the seed chosen on a validation set (synth --clips 40 --seed 2002; see
    # models/cart.md).
    "$S" train --data pool --labels weak --decisions j.jsonl --out pre.bpk \
        --encoder 4,8,16 --bottleneck 32 --seed 1 --epochs 45 --patience 10 --frames-per-clip "$pre_frames"
else
    # 12 frames per clip and patience 10: the trainer's defaults (6, 5)
    # stopped at epoch 9 and scored 0.955 on the real development set
    # against 0.983 (models/default.md).
    "$S" train --data pool --labels weak --decisions j.jsonl --out pre.bpk \
        --epochs 45 --patience 10 --frames-per-clip "$pre_frames"
fi
"$S" train --data pool --labels hq --init pre.bpk --out ref.bpk \
    --extra-data real --extra-labels real/truth "${REFINE_ARGS[@]}" "${REFINE_SEED_ARGS[@]}"
# The same file name inside WORKDIR for both: the blob's report records it.
"$S" quantize --model ref.bpk --calib pool --out default.snmk
"$S" sign --model default.snmk --key "$root/keys/dev.key" --out default.snmk
# The float checkpoint ships beside the blob: the starting point for
# adapting the model to a scanner (README, "Adapt the shipped model").
models="${SONOMASK_MODELS_DIR:-$root/models}"
out="$models/$name.snmk"
for f in default.snmk default.snmk.json ref.bpk ref.bpk.json; do
    case "$f" in
        default.*) dst="$models/$name.${f#default.}" ;;
        ref.*) dst="$models/$name.${f#ref.}" ;;
    esac
    cp "$f" "$dst.tmp" && mv "$dst.tmp" "$dst"
done
"$S" inspect "$out" --pubkey "$root/keys/dev.key.pub" --require-signature | sed -n 1,10p
sha256sum "$out"
