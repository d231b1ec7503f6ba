#!/usr/bin/env bash
# Regenerates docs/benchmarks.md: every figure with the exact command that
# measured it, on this machine, for this commit.
#
#   scripts/bench.sh            # full run (release builds; ~10-20 min on 2 cores)
#   scripts/bench.sh --quick    # smoke run: few samples, few frames (figures noisy)
#   scripts/bench.sh --out PATH # write elsewhere (default docs/benchmarks.md)
#
# Beside the page it writes the same figures as JSON (PATH with .json for
# .md: docs/benchmarks.json), per-stage QEMU means and worst cases included;
# README and the model cards link to these instead of copying figures.
#
# Needs: cargo, and for the QEMU section qemu-system-arm and a C compiler
# (as .ci/run installs them); for firmware sizes one of arm-none-eabi-size,
# llvm-size or rust-size (rustup component add llvm-tools). A section whose
# tool is missing says "not measured" and why; nothing is ever made up.
# The report is written to a temporary file and renamed into place, so an
# interrupted run leaves the previous report intact.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0
OUT=docs/benchmarks.md
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --out) OUT="${2:?--out needs a path}"; shift ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export CARGO_TERM_COLOR=never
TD="$CARGO_TARGET_DIR"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/sonomask-bench.XXXXXX")"
REPORT="$WORK/benchmarks.md"
trap 'rm -rf "$WORK"' EXIT

if [ "$QUICK" = 1 ]; then
    CRIT_ARGS=(--warm-up-time 1 --measurement-time 2 --sample-size 10)
    TRAIN_CLIPS=4; TRAIN_EPOCHS=1
    HIL_FRAMES=2; MASK_REPS=1; SYNTH_CLIPS=4; WIDE_CLIPS=5
else
    CRIT_ARGS=(--warm-up-time 3 --measurement-time 10)
    TRAIN_CLIPS=24; TRAIN_EPOCHS=3
    HIL_FRAMES=20; MASK_REPS=5; SYNTH_CLIPS=24; WIDE_CLIPS=60
fi
SYNTH_FRAMES=5
MODEL=models/default.snmk
CART_MODEL=models/cart.snmk

log() { printf '[bench] %s\n' "$*" >&2; }
# Figures for the JSON twin of the page: `fig KEY VALUE` (a number, or
# null when not measured); QEMU reports are merged in at the end.
FIGS="$WORK/figures.tsv"
: >"$FIGS"
fig() { printf '%s\t%s\n' "$1" "${2:-null}" >>"$FIGS"; }
emit() { printf '%s\n' "$*" >>"$REPORT"; }
# Runs a command, echoing it to stderr; its stdout and stderr go to $1.
run_to() {
    local out="$1"; shift
    log "\$ $*"
    "$@" >"$out" 2>&1 || { log "failed: $*"; tail -n 20 "$out" >&2; return 1; }
}
# A command line as the report shows it: the binary as $S, scratch paths
# relative to the scratch folder.
show() {
    local s="$*"
    s="${s//"$S"/'$S'}"
    s="${s//"$WORK/"/}"
    printf '%s' "$s"
}
# awk arithmetic on decimal strings.
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

log "building (release): sonomask, its examples and benches"
cargo build --release -q -p sonomask -p sonomask-mask -p sonomask-data -p sonomask-tract-graphs --bins --examples --benches
S="$TD/release/sonomask"

# --- machine ------------------------------------------------------------
CPU="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
CORES="$(nproc 2>/dev/null || echo '?')"
COMMIT="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    COMMIT="$COMMIT (with uncommitted changes)"
fi
LOAD="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"

emit "# Benchmarks"
emit ""
emit "Produced by \`scripts/bench.sh$([ "$QUICK" = 1 ] && echo ' --quick')\`; every figure below"
emit "comes with the command that measured it. Rerun the script to refresh the"
emit "whole page (it is written atomically)."
emit ""
emit "| | |"
emit "|---|---|"
emit "| date (UTC) | $(date -u '+%Y-%m-%d %H:%M') |"
emit "| commit | \`$COMMIT\` |"
emit "| CPU | ${CPU:-unknown} |"
emit "| cores | $CORES |"
emit "| load average at start | $LOAD |"
emit "| rustc | $(rustc --version) |"
emit "| mode | $([ "$QUICK" = 1 ] && echo 'quick (smoke: few samples, noisy)' || echo full) |"
emit ""
emit "Host figures are wall-clock on a shared machine: read them as orders of"
emit "magnitude and ratios, not as exact throughput."
emit ""

# --- criterion: engine vs tract, span masking vs memcpy -------------------
CRIT="$WORK/criterion"
BENCH_CMD=(cargo bench -q -p sonomask-tract-graphs --bench engine -- --noplot "${CRIT_ARGS[@]}")
log "criterion (results in $CRIT)"
run_to "$WORK/engine.txt" env CRITERION_HOME="$CRIT" "${BENCH_CMD[@]}"

# Median point estimate in nanoseconds of one criterion benchmark.
median_ns() {
    local f="$CRIT/$1/$2/new/estimates.json"
    [ -f "$f" ] || { log "missing $f"; echo nan; return; }
    grep -oE '"median":\{"confidence_interval":\{[^}]*\},"point_estimate":[0-9.eE+-]+' "$f" \
        | grep -oE '[0-9.eE+-]+$'
}
us() { calc '%.1f' "$1 / 1000"; }
INT8="$(median_ns inference_64x80 engine_int8)"
F32="$(median_ns inference_64x80 tract_f32)"
TI8="$(median_ns inference_64x80 tract_int8)"
MEMCPY="$(median_ns mask_1024x768_rgb memcpy)"
SPAN="$(median_ns mask_1024x768_rgb span_mask_in_place)"
BOTH="$(median_ns mask_1024x768_rgb memcpy_then_span_mask)"
THUMB="$(median_ns thumbnail_1024x768_rgb frame_to_input)"
fig engine_int8_64x80_ns "$INT8"
fig tract_f32_64x80_ns "$F32"
fig tract_int8_64x80_ns "$TI8"
fig thumbnail_1024x768_rgb_ns "$THUMB"
fig memcpy_1024x768_rgb_ns "$MEMCPY"
fig span_mask_1024x768_rgb_ns "$SPAN"
fig memcpy_then_span_mask_1024x768_rgb_ns "$BOTH"
FRAME_BYTES=$((1024 * 768 * 3))
gbs() { calc '%.2f' "$FRAME_BYTES / $1"; }

emit "## Shared int8 engine vs tract, span masking vs memcpy"
emit ""
emit "Command: \`$(show "${BENCH_CMD[@]}")\` (criterion; medians of its samples,"
emit "read from \`<criterion home>/<group>/<bench>/new/estimates.json\`). One core."
emit ""
emit "| figure | median |"
emit "|---|---|"
emit "| int8 engine (\`sonomask-core\`, the cart's code), 64×80 sector net | $(us "$INT8") µs |"
emit "| tract f32, same graph | $(us "$F32") µs |"
emit "| tract int8, same graph | $(us "$TI8") µs |"
emit "| **tract f32 / int8 engine** | **$(calc '%.2f' "$F32 / $INT8")×** |"
emit "| tract int8 / int8 engine | $(calc '%.2f' "$TI8 / $INT8")× |"
emit "| thumbnail 1024×768 RGB → 64×80 int8 input | $(us "$THUMB") µs |"
emit "| memcpy of a 1024×768 RGB frame | $(us "$MEMCPY") µs ($(gbs "$MEMCPY") GB/s) |"
emit "| span masking in place, same frame (cardiac fan) | $(us "$SPAN") µs ($(gbs "$SPAN") GB/s) |"
emit "| memcpy then span mask | $(us "$BOTH") µs |"
emit "| **span masking / memcpy (time)** | **$(calc '%.2f' "$SPAN / $MEMCPY")×** |"
emit ""
emit "On this x86 host the int8 engine runs its portable Rust path (its \`SMLAD\`"
emit "and \`UXTAB16\` kernels are Cortex-M assembly, \`shared/src/dsp.rs\`), while tract's f32"
emit "path uses the host's SIMD, so a ratio below 1 here says nothing about the cart: the"
emit "cart's figure is the QEMU instruction count below."
emit ""
FAN="$(grep -m1 '^fan keeps' "$WORK/engine.txt" || true)"
[ -n "$FAN" ] && emit "The benchmark's fan: $FAN." && emit ""

# --- training images/s ----------------------------------------------------
TRAIN="$WORK/train"
SYN_T=("$S" synth --out "$TRAIN/data" --clips "$TRAIN_CLIPS" --frames 4 --seed 11)
WL_T=("$S" weak-label --method threshold --data "$TRAIN/data" --out "$TRAIN/thr")
TR_T=("$S" train --data "$TRAIN/data" --labels "$TRAIN/thr" --out "$TRAIN/m.bpk"
      --epochs "$TRAIN_EPOCHS" --patience "$TRAIN_EPOCHS" --device flex --seed 1)
run_to "$WORK/train-synth.txt" "${SYN_T[@]}"
run_to "$WORK/train-wl.txt" "${WL_T[@]}"
run_to "$WORK/train.txt" "${TR_T[@]}"
IMGS="$(grep -oE '[0-9.]+ images/s' "$WORK/train.txt" | tail -n 1 | cut -d' ' -f1)"
fig train_images_per_s_flex "$IMGS"
emit "## Training throughput (flex backend, CPU)"
emit ""
emit "Commands (\`S=target/release/sonomask\`):"
emit ""
emit '```sh'
emit "$(show "${SYN_T[@]}")"
emit "$(show "${WL_T[@]}")"
emit "$(show "${TR_T[@]}")"
emit '```'
emit ""
emit "| figure | value |"
emit "|---|---|"
emit "| training images/s (flex, all cores), as \`train\` prints it | ${IMGS:-not printed} |"
emit ""
emit "\`train\`'s summary line: \`$(grep -E '^trained ' "$WORK/train.txt" | tail -n 1 | sed "s#$TRAIN/##g")\`"
emit ""
emit "CUDA: not measured here (no GPU on this machine; \`--features cuda\` builds)."
emit ""
emit "### Against PyTorch and the tch backend"
emit ""
if [ -f docs/benchmarks-training.md ]; then
    # Measured separately (it needs torch from PyPI, ~5 GB): included as
    # scripts/train-bench.sh last wrote it, with its own date and commit.
    emit "$(cat docs/benchmarks-training.md)"
else
    emit "Not measured yet: \`TORCH_PYTHON=... bash scripts/train-bench.sh\`."
fi
emit ""

# --- synth frames/s ---------------------------------------------------------
SYN=("$S" synth --out "$WORK/synth" --clips "$SYNTH_CLIPS" --frames "$SYNTH_FRAMES" --size 640x480 --seed 3)
run_to "$WORK/synth.txt" "${SYN[@]}"
SYN_LINE="$(grep -E '^wrote ' "$WORK/synth.txt" | tail -n 1 | sed "s#$WORK/##g")"
SYN_FPS="$(grep -oE '\(([0-9.]+) frames/s' "$WORK/synth.txt" | tail -n 1 | grep -oE '[0-9.]+')"
fig synth_frames_per_s_640x480 "$SYN_FPS"
emit "## Synthetic data"
emit ""
emit "Command: \`$(show "${SYN[@]}")\` (its own timing line)."
emit ""
emit "| figure | value |"
emit "|---|---|"
emit "| synth frames/s, 640×480, PNG encoding included | ${SYN_FPS:-not printed} |"
emit ""
emit "\`synth\` printed: \`$SYN_LINE\`"
emit ""

# --- sonomask mask on the real cines ----------------------------------------
emit "## \`sonomask mask\` on real cines"
emit ""
if [ -d ../shared/realdata ]; then
    MT=("$TD/release/examples/mask_throughput" --model "$MODEL" --reps "$MASK_REPS" --json "$WORK/mask.json")
    run_to "$WORK/mask.txt" "${MT[@]}"
    emit "Command: \`cargo run --release -p sonomask-mask --example mask_throughput -- --model $MODEL --reps $MASK_REPS\`"
    emit "(the 27-frame and 30-frame cines of \`../shared/realdata\`; best of the reps;"
    emit "decode = open + codec + colour conversion, mask = int8 model on every frame + fit +"
    emit "checks + masking the stored samples, encode = the output DICOM in memory; rayon on"
    emit "all cores)."
    emit ""
    emit '```text'
    cat "$WORK/mask.txt" >>"$REPORT"
    emit '```'
else
    emit "Not measured: \`../shared/realdata\` is not present."
fi
emit ""

# --- QEMU: instructions per frame ---------------------------------------------
emit "## The cart's pipeline on QEMU (Cortex-M7 board image)"
emit ""
if command -v qemu-system-arm >/dev/null && command -v cc >/dev/null; then
    log "firmware board image (release)"
    run_to "$WORK/mps2.txt" cargo mps2
    HD=("$S" synth --out "$WORK/hil" --clips 4 --frames 5 --size 640x480 --seed 7)
    run_to "$WORK/hil-data.txt" "${HD[@]}"
    emit "Commands (\`S=target/release/sonomask\`; \`-icount shift=0\` and the counting"
    emit "plugin of \`firmware/qemu-plugin/\`, so instruction counts are exact), for the"
    emit "default model (8.2 M MACs) and the cart's (\`models/cart.snmk\`, 2.6 M MACs):"
    emit ""
    emit '```sh'
    emit "cargo mps2"
    emit "$(show "${HD[@]}")"
    for M in "$MODEL" "$CART_MODEL"; do
        HIL=("$S" hil --target qemu --link semihosting --model "$M" --data "$WORK/hil" --frames "$HIL_FRAMES" --cpi 1.0
             --json "$WORK/qemu-$(basename "$M" .snmk).json")
        run_to "$WORK/hil-$(basename "$M").txt" "${HIL[@]}"
        emit "$(show "${HIL[@]}")"
    done
    emit '```'
    emit ""
    for M in "$MODEL" "$CART_MODEL"; do
        emit "\`$M\`:"
        emit ""
        emit '```text'
        grep -E '^(summary|instructions per frame|estimated Cortex-M7|device:)' "$WORK/hil-$(basename "$M").txt" >>"$REPORT" || true
        emit '```'
        emit ""
    done
    # The worst case needs more than the 20 frames above: the fit's cost
    # depends on the layout (a dual screen searches for the seam between
    # its panes), so the cart's model runs on a wider set, every layout.
    WD=("$S" synth --out "$WORK/wide" --clips "$WIDE_CLIPS" --frames 4 --size 640x480 --seed 4242)
    run_to "$WORK/wide-data.txt" "${WD[@]}"
    WIDE=("$S" hil --target qemu --link semihosting --model "$CART_MODEL" --data "$WORK/wide" --frames "$((WIDE_CLIPS * 4))" --cpi 1.0
          --json "$WORK/qemu-cart-every-layout.json")
    run_to "$WORK/hil-wide.txt" "${WIDE[@]}"
    emit "The cart's model over more frames, every layout (the fit's cost varies with"
    emit "the layout; a dual screen searches for the seam between its panes):"
    emit ""
    emit '```sh'
    emit "$(show "${WD[@]}")"
    emit "$(show "${WIDE[@]}")"
    emit '```'
    emit ""
    emit '```text'
    grep -E '^(summary|instructions per frame|estimated Cortex-M7)' "$WORK/hil-wide.txt" >>"$REPORT" || true
    # Per-frame totals (the rows after the "instructions per stage" header):
    # percentiles and the frames over the 33 ms budget at CPI 1.0.
    awk '/instructions per stage/ { on = 1; next }
         on && /^ *[0-9]+ / { gsub(",", ""); print $6 }' "$WORK/hil-wide.txt" | sort -n | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "per-frame totals: none"; exit }
            over = 0; for (i = 1; i <= NR; i++) if (v[i] * 1.0 / 480e6 > 0.033) over++
            printf "per-frame total instructions over %d frames: p50 %.2f M, p90 %.2f M, p99 %.2f M, max %.2f M; %d over 33 ms at CPI 1.0\n",
                NR, v[int(NR * 0.5) + (NR * 0.5 > int(NR * 0.5))] / 1e6, v[int(NR * 0.9 + 0.999)] / 1e6,
                v[int(NR * 0.99 + 0.999)] / 1e6, v[NR] / 1e6, over
        }' >>"$REPORT"
    emit '```'
    emit ""
    emit "The estimate is instructions × CPI / 480 MHz with CPI = 1.0 stated, not"
    emit "measured: a real M7 with caches and tightly coupled memory runs between"
    emit "about 0.5 (dual issue) and 2+ (flash wait states, cache misses) cycles per"
    emit "instruction; \`--cpi\` changes the assumption."
else
    emit "Not measured: qemu-system-arm or a C compiler is missing (\`.ci/run\` installs them)."
fi
emit ""

# --- firmware flash and RAM ------------------------------------------------------
emit "## Firmware flash and RAM (release board image, thumbv7em-none-eabihf)"
emit ""
IMG="$TD/thumbv7em-none-eabihf/release/sonomask-mps2"
[ -f "$IMG" ] || run_to "$WORK/mps2.txt" cargo mps2
SIZE_TOOL=""
for t in arm-none-eabi-size llvm-size rust-size; do
    if command -v "$t" >/dev/null; then SIZE_TOOL="$t"; break; fi
done
if [ -n "$SIZE_TOOL" ]; then
    read -r TEXT DATA BSS _ < <("$SIZE_TOOL" "$IMG" | awk 'NR == 2 { print $1, $2, $3 }')
    kib() { calc '%.1f' "$1 / 1024"; }
    emit "Command: \`cargo mps2 && $SIZE_TOOL target/thumbv7em-none-eabihf/release/sonomask-mps2\`"
    emit ""
    emit "| figure | bytes | KiB |"
    emit "|---|---|---|"
    fig firmware_flash_bytes "$((TEXT + DATA))"
    fig firmware_static_ram_bytes "$((DATA + BSS))"
    emit "| flash (text + data) | $((TEXT + DATA)) | $(kib $((TEXT + DATA))) |"
    emit "| RAM, static (data + bss) | $((DATA + BSS)) | $(kib $((DATA + BSS))) |"
    for M in "$MODEL" "$CART_MODEL"; do
        emit "| model blob (\`$M\`, its own flash slot) | $(stat -c %s "$M") | $(kib "$(stat -c %s "$M")") |"
    done
    emit ""
    emit "RAM is dominated by the 1024×768 RGB frame buffer (2.25 MiB) and the"
    emit "256 KiB engine arena (\`firmware/src/board.rs\`); the stack is not included."
    emit ""
    emit '```text'
    "$SIZE_TOOL" "$IMG" | sed "s#$TD/##" >>"$REPORT"
    emit '```'
else
    emit "Not measured: no size tool (install binutils-arm-none-eabi, or \`rustup component add llvm-tools\`)."
fi
emit ""

# The JSON twin: the figures above plus, per QEMU run, instructions per
# stage (mean and worst over the frames) and the frame outcomes.
JSON_OUT="${OUT%.md}.json"
python3 - "$FIGS" "$WORK" "$QUICK" "$COMMIT" >"$WORK/benchmarks.json" <<'PY'
import json, glob, os, sys
figs_path, work, quick, commit = sys.argv[1:5]
figs = {}
for line in open(figs_path):
    k, v = line.rstrip("\n").split("\t")
    try:
        figs[k] = None if v in ("", "null", "nan") else float(v)
    except ValueError:
        figs[k] = v
out = {"generated_by": "scripts/bench.sh" + (" --quick" if quick == "1" else ""),
       "commit": commit, "figures": figs, "qemu": {}, "mask_throughput": None}
for path in sorted(glob.glob(os.path.join(work, "qemu-*.json"))):
    rep = json.load(open(path))
    # Mean over masked frames (as `hil` prints it), worst over every frame.
    counts = [f["instructions"] for f in rep["frames"] if f.get("instructions")]
    masked = [f["instructions"] for f in rep["frames"] if f.get("instructions") and f["masked"]]
    stages = {}
    for st in ("preprocess", "inference", "fit", "masking", "total"):
        v, m = [c[st] for c in counts], [c[st] for c in masked]
        stages[st] = {"mean_masked": sum(m) / len(m) if m else None, "worst": max(v) if v else None}
    out["qemu"][os.path.basename(path)[5:-5]] = {
        "model": rep["model"], "frames": len(rep["frames"]),
        "masked": sum(1 for f in rep["frames"] if f["masked"]),
        "mismatches": sum(1 for f in rep["frames"] if f.get("mismatch")),
        "leaked_frames": sum(1 for f in rep["frames"] if f.get("leaked_bytes", 0) > 0),
        "instructions": stages,
        "worst_ms_at_cpi_1": stages["total"]["worst"] / 480e3 if stages["total"]["worst"] else None,
    }
mt = os.path.join(work, "mask.json")
if os.path.exists(mt):
    out["mask_throughput"] = json.load(open(mt))
json.dump(out, sys.stdout, indent=1, sort_keys=True)
print()
PY
mkdir -p "$(dirname "$OUT")"
TMP_OUT="$OUT.tmp.$$"
cp "$REPORT" "$TMP_OUT"
mv -f "$TMP_OUT" "$OUT"
cp "$WORK/benchmarks.json" "$JSON_OUT.tmp.$$"
mv -f "$JSON_OUT.tmp.$$" "$JSON_OUT"
log "wrote $OUT and $JSON_OUT"
