#!/usr/bin/env python3
"""The PyTorch anchor for sonomask's training throughput (docs/benchmarks.md).

Trains the network of `sonomask train` -- the same U-Net (64x80 luma input,
encoder 8,16,32, bottleneck 40 at 1/8 and 1/16, add-skips, nearest x2
upsampling, BatchNorm, ReLU; 8,235,520 MACs, 53,497 parameters with the
defaults), the same loss (BCE-with-logits + soft Dice, per image, smoothed
by 1), the same optimiser (Adam, lr 2e-3, eps 1e-5), batch 16, and the same
augmentation (gain 0.6-1.4, zoom 0.92-1.08, shift +-3 coarse px, mirror,
multiplicative speckle with sigma drawn from 0-0.25, bilinear, zero outside)
-- on a sonomask dataset folder and a label folder, so both trainers see the
same images:

    S=target/release/sonomask
    $S synth --out bench/pool --clips 200 --seed 7
    $S weak-label --method temporal --data bench/pool --out bench/weak
    python3 scripts/torch-train-bench.py --data bench/pool --labels bench/weak \
        --frames-per-clip 12 --epochs 5 --threads 2 [--channels-last]
    $S train --data bench/pool --labels bench/weak --out bench/m.bpk \
        --frames-per-clip 12 --epochs 5 --patience 5 --seed 1

Frames are decoded and area-averaged to 80x64 once, before training (as
`sonomask train` does); images/s counts the training loop only --
augmentation, batch assembly, forward, backward and the optimiser step --
over every epoch but the first (warm-up), which is what `train` reports.
The validation pass (10 % of the clips) is timed separately.

Needs torch, numpy and pillow (pip install torch numpy pillow). Prints one
line per epoch and a final JSON line.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn


def spread_frames(n, k):
    """Up to k evenly spaced frame indices of n (sonomask's spread_frames)."""
    if k >= n:
        return list(range(n))
    return sorted({round(i * (n - 1) / max(k - 1, 1)) for i in range(k)})


def area_average(img, w, h):
    """An 8-bit image area-averaged to w x h, as floats in [0, 1]."""
    return np.asarray(img.resize((w, h), Image.BOX), dtype=np.float32) / 255.0


def load(data, labels, frames_per_clip, w, h):
    clips_dir = os.path.join(data, "clips")
    images, targets, clip_of = [], [], []
    ids = sorted(
        c
        for c in os.listdir(clips_dir)
        if os.path.isfile(os.path.join(labels, c + ".png"))
    )
    if not ids:
        sys.exit(f"{labels}: no <clip-id>.png for any clip of {data}")
    for ci, cid in enumerate(ids):
        mask = Image.open(os.path.join(labels, cid + ".png")).convert("L")
        target = area_average(mask, w, h)
        fdir = os.path.join(clips_dir, cid, "frames")
        frames = sorted(f for f in os.listdir(fdir) if f.endswith(".png"))
        for i in spread_frames(len(frames), frames_per_clip):
            img = Image.open(os.path.join(fdir, frames[i])).convert("L")
            images.append(area_average(img, w, h))
            targets.append(target)
            clip_of.append(ci)
    x = torch.from_numpy(np.stack(images))[:, None]
    y = torch.from_numpy(np.stack(targets))[:, None]
    return ids, x, y, np.array(clip_of)


class ConvBnRelu(nn.Module):
    def __init__(self, cin, cout, k):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, padding=k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        he_uniform(self.conv)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def he_uniform(conv):
    fan_in = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
    bound = math.sqrt(6.0 / fan_in)
    nn.init.uniform_(conv.weight, -bound, bound)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


class SectorNet(nn.Module):
    """sonomask-train's SectorNet (host-trainer/crates/train/src/model.rs)."""

    def __init__(self, encoder=(8, 16, 32), bottleneck=40):
        super().__init__()
        c1, c2, c3 = encoder
        m = bottleneck
        self.enc1 = ConvBnRelu(1, c1, 3)
        self.enc2 = ConvBnRelu(c1, c2, 3)
        self.enc3 = ConvBnRelu(c2, c3, 3)
        self.mid1 = ConvBnRelu(c3, m, 3)
        self.ctx1 = ConvBnRelu(m, m, 3)
        self.ctx2 = ConvBnRelu(m, m, 3)
        self.reduce = ConvBnRelu(m, c3, 1)
        self.dec3 = ConvBnRelu(c3, c2, 3)
        self.dec2 = ConvBnRelu(c2, c1, 3)
        self.head = nn.Conv2d(c1, 1, 3, padding=1)
        he_uniform(self.head)

    def forward(self, x):
        pool = lambda t: F.max_pool2d(t, 2)  # noqa: E731
        up = lambda t: F.interpolate(t, scale_factor=2, mode="nearest")  # noqa: E731
        e1 = self.enc1(x)
        e2 = self.enc2(pool(e1))
        e3 = self.enc3(pool(e2))
        m = self.mid1(pool(e3))
        c = self.ctx2(self.ctx1(pool(m)))
        r = self.reduce(up(c) + m)
        d3 = self.dec3(up(r) + e3)
        d2 = self.dec2(up(d3) + e2)
        return self.head(up(d2) + e1)


def macs(encoder, bottleneck, h=64, w=80):
    c1, c2, c3 = encoder
    b = bottleneck
    layers = [
        (3, 1, c1, 1), (3, c1, c2, 2), (3, c2, c3, 4), (3, c3, b, 8),
        (3, b, b, 16), (3, b, b, 16), (1, b, c3, 8), (3, c3, c2, 4),
        (3, c2, c1, 2), (3, c1, 1, 1),
    ]
    return sum((h // d) * (w // d) * k * k * i * o for k, i, o, d in layers)


def loss_fn(logits, targets, dice_weight=1.0):
    bce = F.binary_cross_entropy_with_logits(logits, targets)
    p = torch.sigmoid(logits).flatten(1)
    t = targets.flatten(1)
    dice = (2 * (p * t).sum(1) + 1) / (p.sum(1) + t.sum(1) + 1)
    return bce + dice_weight * (1 - dice.mean())


def augment(x, y, gen):
    """sonomask's augmentation, on a whole batch at once."""
    n, _, h, w = x.shape
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(n, generator=gen)  # noqa: E731
    gain, scale = u(0.6, 1.4), u(0.92, 1.08)
    dx, dy = u(-3.0, 3.0), u(-3.0, 3.0)
    flip = torch.rand(n, generator=gen) < 0.5
    sigma = u(0.0, 0.25)
    # Output pixel -> source position: (out - c - shift) / scale + c, in
    # normalised coordinates (align_corners=False), mirrored when flipped.
    theta = torch.zeros(n, 2, 3)
    sx = torch.where(flip, -1.0, 1.0)
    theta[:, 0, 0] = sx / scale
    theta[:, 1, 1] = 1.0 / scale
    theta[:, 0, 2] = -(2 * dx / w) * sx / scale
    theta[:, 1, 2] = -(2 * dy / h) / scale
    grid = F.affine_grid(theta, (n, 1, h, w), align_corners=False)
    xa = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    ya = F.grid_sample(y, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    noise = (1 + sigma[:, None, None, None] * torch.randn(xa.shape, generator=gen)).clamp_min(0)
    xa = (xa * gain[:, None, None, None] * noise).clamp(0, 1)
    return xa, ya


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="sonomask dataset folder")
    ap.add_argument("--labels", required=True, help="label folder (<clip-id>.png)")
    ap.add_argument("--frames-per-clip", type=int, default=12)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--encoder", default="8,16,32")
    ap.add_argument("--bottleneck", type=int, default=40)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.epochs < 2:
        sys.exit("--epochs must be at least 2 (the first is warm-up)")
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    encoder = tuple(int(v) for v in a.encoder.split(","))

    t0 = time.perf_counter()
    ids, x, y, clip_of = load(a.data, a.labels, a.frames_per_clip, 80, 64)
    load_s = time.perf_counter() - t0
    rng = np.random.default_rng(a.seed)
    n_val = max(1, round(0.1 * len(ids))) if len(ids) > 1 else 0
    val_clips = set(rng.choice(len(ids), n_val, replace=False).tolist())
    is_val = torch.from_numpy(np.isin(clip_of, list(val_clips)))
    xt, yt, xv, yv = x[~is_val], y[~is_val], x[is_val], y[is_val]

    model = SectorNet(encoder, a.bottleneck)
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, eps=1e-5)
    print(
        f"torch {torch.__version__}, {a.threads} threads, channels_last={a.channels_last}; "
        f"{len(xt)} training images from {len(ids) - n_val} clips, {len(xv)} validation; "
        f"decoded in {load_s:.1f} s; {macs(encoder, a.bottleneck)} MACs, {params} params",
        flush=True,
    )
    per_epoch = []
    val_s = 0.0
    for epoch in range(1, a.epochs + 1):
        model.train()
        order = torch.randperm(len(xt), generator=gen)
        t = time.perf_counter()
        seen, loss_sum = 0, 0.0
        for i in range(0, len(order), a.batch_size):
            idx = order[i : i + a.batch_size]
            if len(idx) < 2:
                continue  # BatchNorm needs two samples
            xb, yb = augment(xt[idx], yt[idx], gen)
            xb = xb.contiguous(memory_format=fmt)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            seen += len(idx)
            loss_sum += loss.item() * len(idx)
        dt = time.perf_counter() - t
        per_epoch.append((seen, dt))
        tv = time.perf_counter()
        model.eval()
        with torch.no_grad():
            acc = 0.0
            if len(xv):
                pred = model(xv.contiguous(memory_format=fmt)) > 0
                acc = (pred == (yv >= 0.5)).float().mean().item()
        val_s += time.perf_counter() - tv
        print(
            f"epoch {epoch}: loss {loss_sum / max(seen, 1):.4f} val acc {acc:.4f}, "
            f"{seen / dt:.0f} images/s",
            flush=True,
        )
    imgs = sum(s for s, _ in per_epoch[1:])
    secs = sum(d for _, d in per_epoch[1:])
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "threads": a.threads,
                "channels_last": a.channels_last,
                "encoder": list(encoder),
                "bottleneck": a.bottleneck,
                "macs": macs(encoder, a.bottleneck),
                "params": params,
                "train_images": len(xt),
                "images_per_s": round(imgs / secs, 1),
                "decode_s": round(load_s, 2),
                "validation_s": round(val_s, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
