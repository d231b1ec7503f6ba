#!/usr/bin/env bash
# Remakes models/default.snmk from nothing, byte for byte: synthetic pool,
# threshold weak labels, simulated check, simulated drawing of the rejected
# clips first, pretraining, refinement, int8 quantisation and the
# development signature (keys/dev.key). Every step is seeded and the flex
# backend is deterministic, so the blob's sha256 matches models/default.md.
#
#   bash scripts/default-model.sh [WORKDIR]      # ~4 minutes on 2 cores
#
# WORKDIR (default: target/default-model) keeps the pool, labels, journal
# and checkpoints; the blob and its report are written into models/.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-target/default-model}"
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
"$S" train --data pool --labels thr --decisions j.jsonl --out pre.bpk
"$S" train --data pool --labels hq --init pre.bpk --out ref.bpk
"$S" quantize --model ref.bpk --calib pool --out default.snmk
"$S" sign --model default.snmk --key "$root/keys/dev.key" --out default.snmk
cp default.snmk "$root/models/default.snmk.tmp" && mv "$root/models/default.snmk.tmp" "$root/models/default.snmk"
cp default.snmk.json "$root/models/default.snmk.json.tmp" && mv "$root/models/default.snmk.json.tmp" "$root/models/default.snmk.json"
"$S" inspect "$root/models/default.snmk" --pubkey "$root/keys/dev.key.pub" --require-signature | head -n 10
sha256sum "$root/models/default.snmk"
