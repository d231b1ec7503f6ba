#!/usr/bin/env python3
"""Regenerates the seed corpora of dicom_source, still_image and journal_jsonl.

    python3 host-trainer/fuzz/corpus/make_seeds.py   # from the repository root

Needs pydicom 3, numpy and Pillow (with OpenJPEG). Real files are cut down
to small crops with their own headers kept (scanner attributes, palettes,
ultrasound regions, transfer syntax), so the fuzzer starts from real
structure at a size it can mutate quickly; see README.md beside this script
for where each seed comes from and its licence.
"""

import io
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import FileMetaDataset
from pydicom.encaps import encapsulate, generate_fragments, generate_frames
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    RLELossless,
    generate_uid,
)

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
REAL = ROOT / "datasets/real-dev/files"
CODECS = ROOT / "tests/data/codecs"
W, H = 64, 48


def out_dir(target):
    d = HERE / target
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    return d


def crop(arr, w=W, h=H):
    """A w x h window from the middle of the frame (where the scan is)."""
    rows, cols = arr.shape[-3:-1] if arr.ndim == 3 and arr.shape[-1] in (3, 4) else arr.shape[-2:]
    y0, x0 = max(0, rows // 2 - h // 2), max(0, cols // 2 - w // 2)
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        return np.ascontiguousarray(arr[y0 : y0 + h, x0 : x0 + w])
    return np.ascontiguousarray(arr[..., y0 : y0 + h, x0 : x0 + w])


def save(ds, path, ts=None):
    if "PixelData" in ds and ds["PixelData"].VR not in ("OB", "OW"):
        ds["PixelData"].VR = "OW" if ds.get("BitsAllocated", 8) > 8 else "OB"
    if ts is not None:
        ds.file_meta.TransferSyntaxUID = ts
    if ds.file_meta.TransferSyntaxUID == ExplicitVRBigEndian:
        pydicom.dcmwrite(
            path, ds, implicit_vr=False, little_endian=False, enforce_file_format=True
        )
        return
    ds.save_as(path, enforce_file_format=True)


def real_grey(d):
    ds = pydicom.dcmread(REAL / "deid-philips-linear-grey.dcm")
    px = crop(ds.pixel_array)
    ds.Rows, ds.Columns = px.shape
    ds.PixelData = px.tobytes()
    save(ds, d / "real-philips-grey-native.dcm")
    # The same crop, MONOCHROME1, implicit VR.
    ds.PhotometricInterpretation = "MONOCHROME1"
    save(ds, d / "real-philips-grey-mono1-implicit.dcm", ImplicitVRLittleEndian)


def real_palette_rle(d):
    ds = pydicom.dcmread(ROOT / "tests/data/realdata/pydicom-philips-curvilinear-palette-rle.dcm")
    px = crop(ds.pixel_array)
    ds.Rows, ds.Columns = px.shape
    ds.compress(RLELossless, px, encoding_plugin="pydicom")
    save(ds, d / "real-philips-palette-rle.dcm")


def real_palette16(d):
    """The Aloka file's header (two ultrasound regions, 16-bit indices), but
    a 256-entry palette instead of its own 65536-entry segmented one
    (250 KiB of LUTs; syn-palette-segmented.dcm has a small segmented one)."""
    ds = pydicom.dcmread(REAL / "pydicom-aloka-dualpane-palette16.dcm")
    px = crop(ds.pixel_array).astype("<u2") % 256
    ds.Rows, ds.Columns = px.shape
    for c in ["Red", "Green", "Blue"]:
        delattr(ds, f"Segmented{c}PaletteColorLookupTableData")
    ramp = np.arange(256, dtype="<u2") * 257
    for c, lut in enumerate(["Red", "Green", "Blue"]):
        setattr(ds, f"{lut}PaletteColorLookupTableDescriptor", [256, 0, 16])
        ds[f"{lut}PaletteColorLookupTableDescriptor"].VR = "US"
        setattr(ds, f"{lut}PaletteColorLookupTableData", (ramp >> c).astype("<u2").tobytes())
    ds.PixelData = px.tobytes()
    save(ds, d / "real-aloka-palette16-native.dcm", ExplicitVRLittleEndian)


def real_j2k(d):
    ds = pydicom.dcmread(REAL / "pydicom-ge-linear-powerdoppler-j2k.dcm")
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    rgb = np.asarray(Image.open(io.BytesIO(frame)).convert("RGB"))
    px = crop(rgb)
    buf = io.BytesIO()
    Image.fromarray(px).save(buf, format="JPEG2000", irreversible=False, mct=1, codec="j2k")
    ds.Rows, ds.Columns = px.shape[:2]
    ds.PixelData = encapsulate([buf.getvalue()])
    ds["PixelData"].VR = "OB"
    save(ds, d / "real-ge-j2k-rct.dcm")


def real_ybr_cine(d):
    ds = pydicom.dcmread(REAL / "pydicom-sonosite-phased-ybr-cine.dcm")
    frames = [f for _, f in zip(range(2), generate_fragments(ds.PixelData))]
    ds.NumberOfFrames = 2
    ds.PixelData = encapsulate(frames)
    save(ds, d / "real-sonosite-ybr422-jpeg-2frames.dcm")


def synthetic(d):
    """Native layouts the real files lack, on the grey crop's header."""
    base = pydicom.dcmread(REAL / "deid-philips-linear-grey.dcm")
    grey = crop(base.pixel_array, 16, 12)
    rgb = np.stack([grey, 255 - grey, grey // 2], axis=-1).astype(np.uint8)

    def fresh(rows=12, cols=16):
        ds = pydicom.dcmread(REAL / "deid-philips-linear-grey.dcm", stop_before_pixels=True)
        ds.Rows, ds.Columns = rows, cols
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        return ds

    ds = fresh()
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 1
    ds.PixelData = np.moveaxis(rgb, -1, 0).tobytes()  # planar
    save(ds, d / "syn-rgb-planar.dcm", ExplicitVRLittleEndian)

    ds.PhotometricInterpretation, ds.PlanarConfiguration = "YBR_FULL", 0
    ds.PixelData = rgb.tobytes()
    save(ds, d / "syn-ybr-full.dcm", ExplicitVRLittleEndian)

    ds.PhotometricInterpretation = "YBR_FULL_422"
    y = grey.reshape(-1, 2)
    packed = np.concatenate([y, np.full_like(y, 100), np.full_like(y, 160)], axis=1)
    ds.PixelData = packed.astype(np.uint8).tobytes()
    save(ds, d / "syn-ybr-full-422.dcm", ExplicitVRLittleEndian)

    ds = fresh()
    ds.NumberOfFrames = 3
    ds.PixelData = np.stack([grey, grey[::-1], 255 - grey]).tobytes()
    save(ds, d / "syn-grey-3-frames.dcm", ExplicitVRLittleEndian)
    save(ds, d / "syn-grey-3-frames-big-endian.dcm", ExplicitVRBigEndian)
    save(ds, d / "syn-grey-3-frames-deflated.dcm", DeflatedExplicitVRLittleEndian)

    ds = fresh()
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 1
    ds.RescaleSlope, ds.RescaleIntercept = 2, -1024
    ds.WindowCenter, ds.WindowWidth = 0, 2000
    ds.PixelData = (grey.astype(np.int16) * 8 - 1024).astype("<i2").tobytes()
    ds["PixelData"].VR = "OW"
    save(ds, d / "syn-grey-signed-12-of-16.dcm", ExplicitVRLittleEndian)

    # Segmented palette (0028,1221-1223): a linear ramp segment per channel.
    ds = fresh()
    ds.PhotometricInterpretation = "PALETTE COLOR"
    for c, (desc, seg) in enumerate(
        [
            ("RedPaletteColorLookupTableDescriptor", "SegmentedRedPaletteColorLookupTableData"),
            ("GreenPaletteColorLookupTableDescriptor", "SegmentedGreenPaletteColorLookupTableData"),
            ("BluePaletteColorLookupTableDescriptor", "SegmentedBluePaletteColorLookupTableData"),
        ]
    ):
        setattr(ds, desc, [256, 0, 16])
        ds[desc].VR = "US"
        # discrete(1 value: 0), linear(255 steps to 65535 >> c)
        words = np.array([0, 1, 0, 1, 255, 65535 >> c], dtype="<u2")
        setattr(ds, seg, words.tobytes())
    ds.PixelData = grey.tobytes()
    save(ds, d / "syn-palette-segmented.dcm", ExplicitVRLittleEndian)


def dicom(target="dicom_source"):
    d = out_dir(target)
    real_grey(d)
    real_palette_rle(d)
    real_palette16(d)
    real_j2k(d)
    real_ybr_cine(d)
    synthetic(d)
    for f in sorted(CODECS.glob("*.dcm")):
        shutil.copy(f, d / f"codecs-{f.name}")


def stills(target="still_image"):
    d = out_dir(target)
    for f in sorted(CODECS.glob("*.png")):
        shutil.copy(f, d / f"codecs-{f.name}")
    for name in [
        "skimage-echo-sector-X75Y75.png",
        "dltrackus-telemed-echowave-linear-screenshot.png",
    ]:
        img = Image.open(REAL / name)
        w, h = img.size
        cut = img.crop((w // 2 - W // 2, h // 2 - H // 2, w // 2 + W // 2, h // 2 + H // 2))
        stem = "real-" + name.split("-")[0]
        cut.save(d / f"{stem}-{cut.mode.lower()}.png", optimize=True)
        cut.convert("L").save(d / f"{stem}-grey.jpg", quality=80)
        cut.convert("RGB").save(d / f"{stem}-rgb.jpg", quality=80)
        cut.convert("RGB").save(d / f"{stem}-progressive.jpg", quality=80, progressive=True)
        cut.convert("RGB").save(d / f"{stem}-rgb-interlaced.png", interlace=1)
        cut.convert("P").save(d / f"{stem}-palette.png")
        cut.convert("LA").save(d / f"{stem}-grey-alpha.png")
        grey16 = (np.asarray(cut.convert("L")).astype(np.uint16) * 257).astype(np.uint16)
        Image.fromarray(grey16).save(d / f"{stem}-grey16.png")


JOURNAL = [
    '{"clip":"c0","labels":"weak","decision":"accept","reviewer":"oracle","seconds":2.0,"time":"2026-11-26T13:30:00.123Z","dice":0.97}',
    '{"clip":"c1","labels":"weak","decision":"reject","reviewer":"ana","seconds":1.5,"time":"2026-11-26T13:30:02.000Z"}',
    '{"clip":"c1","labels":"weak","decision":"undo","reviewer":"ana","seconds":0.4,"time":"2026-11-26T13:30:03.000Z","request":"r-7"}',
    '{"clip":"c2","labels":"hq","decision":"draw","reviewer":"ana","seconds":31.0,"time":"2026-11-26T13:31:00.000Z"}',
    '{"clip":"c2","labels":"weak","decision":"flag","reviewer":"ben","seconds":3.25,"time":"2026-11-26T13:32:00.000Z"}',
]


def journals(target="journal_jsonl"):
    d = out_dir(target)
    body = "\n".join(JOURNAL) + "\n"
    (d / "full.jsonl").write_text(body)
    (d / "torn-tail.jsonl").write_text(body + JOURNAL[0][:40])
    (d / "blank-and-crlf.jsonl").write_text("\n\r\n".join(JOURNAL[:2]) + "\r\n\n")
    (d / "bad-line.jsonl").write_text(JOURNAL[0] + '\n{"clip":1}\n' + JOURNAL[1] + "\n")
    (d / "complete-unterminated.jsonl").write_text(JOURNAL[0] + "\n" + JOURNAL[1])


if __name__ == "__main__":
    os.chdir(ROOT)
    which = sys.argv[1:] or ["dicom", "stills", "journals"]
    for w in which:
        globals()[w]()
