#!/usr/bin/env python3
"""Instructions per function of the board image, per pipeline stage.

Reads the block profile that the QEMU counting plugin writes when
SONOMASK_QEMU_PROFILE names a file, and sums it per function of the
image (symbols from llvm-nm, or NM). Usage:

    SONOMASK_QEMU_PROFILE=/tmp/prof.txt target/release/sonomask hil --target qemu ...
    scripts/qemu-profile.py /tmp/prof.txt target/thumbv7em-none-eabihf/release/sonomask-mps2 \\
        [--stage fit] [--top 30] [--frames N]

Functions inlined into another are counted in the one they were inlined
into. With --frames N the figures are divided by N (per frame).
"""
import argparse
import bisect
import os
import subprocess
import sys

STAGES = ["boot", "preprocess", "inference", "fit", "mask", "done"]


def symbols(image):
    nm = os.environ.get("NM", "llvm-nm")
    out = subprocess.run(
        [nm, "-n", "-S", "--demangle", "--defined-only", image],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4 and parts[2] in "tTwW":
            addr = int(parts[0], 16) & ~1
            syms.append((addr, int(parts[1], 16), parts[3]))
    syms.sort()
    return syms


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("profile")
    ap.add_argument("image")
    ap.add_argument("--stage", choices=STAGES + ["all"], default="all")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--frames", type=int, default=1)
    a = ap.parse_args()
    syms = symbols(a.image)
    starts = [s[0] for s in syms]
    per = {}
    total = [0] * len(STAGES)
    with open(a.profile) as f:
        for line in f:
            p = line.split()
            if not p or p[0] != "tb":
                continue
            addr = int(p[1], 16) & ~1
            counts = [int(x) for x in p[3 : 3 + len(STAGES)]]
            i = bisect.bisect_right(starts, addr) - 1
            name = syms[i][2] if i >= 0 and addr < syms[i][0] + max(syms[i][1], 1) else "?"
            acc = per.setdefault(name, [0] * len(STAGES))
            for s, c in enumerate(counts):
                acc[s] += c
                total[s] += c
    col = None if a.stage == "all" else STAGES.index(a.stage)
    key = (lambda kv: sum(kv[1])) if col is None else (lambda kv: kv[1][col])
    denom = float(a.frames)
    whole = sum(total) if col is None else total[col]
    print(f"stage {a.stage}: {whole / denom / 1e6:.3f} M instructions"
          + (f" per frame over {a.frames}" if a.frames > 1 else ""))
    for name, c in sorted(per.items(), key=key, reverse=True)[: a.top]:
        v = sum(c) if col is None else c[col]
        if v == 0:
            break
        print(f"{v / denom / 1e6:9.3f} M {100.0 * v / max(whole, 1):5.1f}%  {name[:140]}")


if __name__ == "__main__":
    sys.exit(main())
