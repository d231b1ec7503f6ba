#!/usr/bin/env bash
# Remakes models/default.snmk (or, with --cart, models/cart.snmk) from
# nothing, byte for byte: synthetic pool, threshold weak labels, simulated
# check, simulated drawing of the rejected clips first, pretraining,
# refinement, int8 quantisation and the development signature
# (keys/dev.key). Every step is seeded and the flex backend is
# deterministic, so the blob's sha256 matches its model card
# (models/default.md, models/cart.md).
#
#   bash scripts/default-model.sh [WORKDIR]          # ~5 minutes on 2 cores
#   bash scripts/default-model.sh --cart [WORKDIR]   # the cart's narrow net, ~5 minutes
#
# WORKDIR (default: target/default-model, target/cart-model) keeps the pool,
# labels, journal and checkpoints; the blob and its report are written into
# models/.
set -euo pipefail
cd "$(dirname "$0")/.."
name=default
if [ "${1:-}" = "--cart" ]; then
    name=cart
    shift
fi
work="${1:-target/$name-model}"
cargo build --release -q -p sonomask
S="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release/sonomask"
root="$PWD"
rm -rf "$work" && mkdir -p "$work"
cd "$work"
# Relative names inside WORKDIR: the checkpoints' metadata records them and
# the blob's provenance hash covers that metadata.
"$S" synth --out pool --clips 200 --seed 7
"$S" weak-label --method threshold --data pool --out thr
"$S" check --data pool --labels thr --oracle --journal j.jsonl
"$S" annotate --oracle --data pool --clips 20 --prefer-rejected j.jsonl --out hq
if [ "$name" = cart ]; then
    # The cart's network: narrow enough for the Cortex-M7 (2.6 M MACs
    # against 8.2 M); more frames per clip and epochs than the default, and
    # the seed chosen on a validation set (synth --clips 40 --seed 2002; see
    # models/cart.md).
    "$S" train --data pool --labels thr --decisions j.jsonl --out pre.bpk \
        --encoder 4,8,16 --bottleneck 32 --seed 1 --epochs 45 --patience 10 --frames-per-clip 12
    "$S" train --data pool --labels hq --init pre.bpk --out ref.bpk --seed 1
else
    "$S" train --data pool --labels thr --decisions j.jsonl --out pre.bpk
    "$S" train --data pool --labels hq --init pre.bpk --out ref.bpk
fi
# The same file name inside WORKDIR for both: the blob's report records it.
"$S" quantize --model ref.bpk --calib pool --out default.snmk
"$S" sign --model default.snmk --key "$root/keys/dev.key" --out default.snmk
out="$root/models/$name.snmk"
cp default.snmk "$out.tmp" && mv "$out.tmp" "$out"
cp default.snmk.json "$out.json.tmp" && mv "$out.json.tmp" "$out.json"
"$S" inspect "$out" --pubkey "$root/keys/dev.key.pub" --require-signature | sed -n 1,10p
sha256sum "$out"
