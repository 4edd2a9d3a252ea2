"""Boundary contact sheets: the subject's edges (hair and shoulders) at 2x, before and after.

For each photo: analyse once, render ``linkedin`` at 1024 px in three styles (``corporate`` light
grey, ``charcoal`` dark, ``high-key`` white), and cut five places on the subject's boundary out of
the OUTPUT frame, located from the landmarks and the matte mapped through the crop:

- hair top: the matte's ``head_top`` (when the matte has none, the head is cut by the photo's top
  edge: the face's estimated crown, moved down to that edge);
- hair left / right: where the matte ends walking outward from the face's centre at forehead
  height (45% of the chin-to-eye distance above the eyes);
- shoulder left / right: the first subject pixel below the chin in the column 0.95 face widths
  to either side of the face's centre (closer columns when that one holds no subject).

Each crop is shown at 2x (nearest neighbour, so the output's own pixels are visible) in five
columns: "before" (the original photo warped with the same crop), "alpha" (the output's matte),
and the result on light grey, charcoal and white. A small overview of the whole output with the
five boxes heads each sheet. An index page puts every photo's hair-top crops side by side.

Writes ``<out>/edge_<photo>.png`` and ``<out>/edge_index.png`` (default ``bench-output/edge-sheets``)
and prints their paths.

Run: ``python benchmarks/edge_sheet.py [PHOTOS...] [--out DIR]`` (default: every photo in
``../shared/faces``, else ``examples/astronaut.jpg``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import _common as C

C.quiet_native_logs()

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from headshot import framing  # noqa: E402
from headshot.errors import HeadshotError  # noqa: E402
from headshot.face import FACE_OVAL  # noqa: E402
from headshot.imageio import to_srgb8  # noqa: E402
from headshot.pipeline import Subject, analyse, render  # noqa: E402

PLATFORM = "linkedin"
SIZE = 1024
ZOOM = 2
STYLES = (("on light grey (corporate)", "corporate"), ("on charcoal (dark)", "charcoal"),
          ("on white (high-key)", "high-key"))
COLUMNS = ("before", "alpha") + tuple(label for label, _ in STYLES)
PLACES = ("hair top", "hair left", "hair right", "shoulder left", "shoulder right")
DEFAULT_OUT = C.OUT_DIR / "edge-sheets"
IMAGE_EXT = (".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif")
CROP_FW = 0.42  # crop side in face widths (output pixels)
CROP_MIN, CROP_MAX = 64, 200
LABEL_H = 22
INDEX_TILE = 150
FONT = cv2.FONT_HERSHEY_SIMPLEX


def default_photos() -> list[Path]:
    if C.SHARED_FACES.is_dir():
        found = sorted(p for p in C.SHARED_FACES.iterdir() if p.suffix.lower() in IMAGE_EXT)
        if found:
            return found
    return [C.ASTRONAUT_FILE]


def _walk_out(alpha: np.ndarray, y: int, x0: int, step: int) -> int:
    """From column x0 on row y, walk by `step` (+-1) while the subject is there; the last subject column."""
    h, w = alpha.shape
    y = int(np.clip(y, 0, h - 1))
    row = alpha[y]
    x = int(np.clip(x0, 0, w - 1))
    while 0 <= x + step < w and row[x + step] >= 0.5:
        x += step
    return x


def locate(subject: Subject, hs: Any) -> tuple[dict[str, tuple[float, float]], int]:
    """Centres (output pixels) of the five boundary crops, and the crop side."""
    crop = hs.crop
    alpha = hs.alpha
    h, w = alpha.shape
    face = subject.face
    fw = face.width * crop.scale
    side = int(np.clip(round(CROP_FW * fw), CROP_MIN, CROP_MAX))
    lm = crop.apply(face.landmarks[:, :2])
    oval = lm[list(FACE_OVAL)]
    cx = float((oval[:, 0].min() + oval[:, 0].max()) / 2)
    eye = crop.apply(face.eye_mid[None, :])[0]
    chin = crop.apply(face.chin[None, :])[0]
    ce = float(chin[1] - eye[1])  # chin-to-eyes in output px (eyes are level in the output)
    top = subject.matte.head_top
    if top is not None:
        ht = crop.apply(np.asarray(top, dtype=np.float64)[None, :])[0]
    else:  # the head is cut by the photo's top edge: the crown, brought down to that edge
        cr = np.asarray(face.crown, dtype=np.float64).copy()
        cr[1] = max(cr[1], 0.0)
        ht = crop.apply(cr[None, :])[0]
    out: dict[str, tuple[float, float]] = {"hair top": (float(ht[0]), float(ht[1]))}
    y_side = int(round(eye[1] - 0.45 * ce))
    start = int(round(cx))
    if 0 <= y_side < h and 0 <= start < w and alpha[y_side, start] >= 0.5:
        out["hair left"] = (float(_walk_out(alpha, y_side, start, -1)), float(y_side))
        out["hair right"] = (float(_walk_out(alpha, y_side, start, +1)), float(y_side))
    else:  # the matte does not reach the forehead row at the centre: fall back to the oval's width
        out["hair left"] = (float(oval[:, 0].min()), float(y_side))
        out["hair right"] = (float(oval[:, 0].max()), float(y_side))
    y0 = int(np.clip(round(chin[1]), 0, h - 1))
    for name, sign in (("shoulder left", -1), ("shoulder right", +1)):
        pt = None
        for k in (0.95, 0.8, 0.65, 1.1, 0.5):
            x = int(round(cx + sign * k * fw))
            if not 0 <= x < w:
                continue
            col = alpha[y0:, x]
            hit = np.flatnonzero(col >= 0.5)
            if hit.size and hit[0] > 0:  # a boundary below the chin (not subject all the way from the chin)
                pt = (float(x), float(y0 + hit[0]))
                break
        if pt is None:
            x = float(np.clip(cx + sign * 0.95 * fw, side / 2, w - side / 2))
            pt = (x, float(min(h - side / 2, chin[1] + 0.5 * fw)))
        out[name] = pt
    return out, side


def _cut(img: np.ndarray, centre: tuple[float, float], side: int) -> tuple[np.ndarray, tuple[int, int]]:
    h, w = img.shape[:2]
    x0 = int(np.clip(round(centre[0] - side / 2), 0, max(0, w - side)))
    y0 = int(np.clip(round(centre[1] - side / 2), 0, max(0, h - side)))
    return img[y0 : y0 + side, x0 : x0 + side], (x0, y0)


def _rgb8(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        g = (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        return np.dstack([g, g, g])
    return to_srgb8(img)


def _label(tile: np.ndarray, text: str, height: int = LABEL_H) -> np.ndarray:
    bar = np.full((height, tile.shape[1], 3), 245, dtype=np.uint8)
    scale = 0.45 if tile.shape[1] >= 260 else 0.36
    cv2.putText(bar, text, (4, height - 7), FONT, scale, (20, 20, 20), 1, cv2.LINE_AA)
    return np.concatenate([bar, tile], axis=0)


def _pad(img: np.ndarray, width: int | None = None, height: int | None = None, value: int = 255) -> np.ndarray:
    h, w = img.shape[:2]
    out = np.full((height or h, width or w, 3), value, dtype=np.uint8)
    out[:h, :w] = img
    return out


def _boxes_overview(img8: np.ndarray, places: dict[str, tuple[float, float]], side: int, name: str) -> np.ndarray:
    ov = img8.copy()
    for i, (place, c) in enumerate(places.items()):
        _, (x0, y0) = _cut(ov, c, side)
        cv2.rectangle(ov, (x0, y0), (x0 + side - 1, y0 + side - 1), (255, 0, 160), 3)
        cv2.putText(ov, str(i + 1), (x0 + 4, y0 + 26), FONT, 0.9, (255, 0, 160), 2, cv2.LINE_AA)
    k = 360 / ov.shape[0]
    ov = cv2.resize(ov, (round(ov.shape[1] * k), 360), interpolation=cv2.INTER_AREA)
    return _label(ov, f"{name}: output {img8.shape[1]}x{img8.shape[0]}, crops 1-5")


def sheet(path: Path, out_dir: Path) -> tuple[Path, list[np.ndarray]]:
    subject = analyse(path)
    outs = [render(subject, st, PLATFORM, size=SIZE) for _, st in STYLES]
    hs = outs[0]
    before = framing.warp_image(subject.photo.pixels, hs.crop, levels=subject.levels)
    layers = [_rgb8(before), _rgb8(hs.alpha)] + [_rgb8(o.image) for o in outs]
    places, side = locate(subject, hs)
    rows = []
    index_tiles = []
    pw, ph = subject.photo.width, subject.photo.height
    for place in PLACES:
        src = hs.crop.invert(np.array([places[place]], dtype=np.float64))[0]
        where = place
        if place == "hair top" and subject.matte.head_top is None:
            where += " (crown: head cut by the photo)"
        elif not (0 <= src[0] <= pw - 1 and 0 <= src[1] <= ph - 1):
            where += " (beyond the photo's edge)"
        tiles = []
        for i, (col, layer) in enumerate(zip(COLUMNS, layers)):
            t, _ = _cut(layer, places[place], side)
            t = cv2.resize(t, (t.shape[1] * ZOOM, t.shape[0] * ZOOM), interpolation=cv2.INTER_NEAREST)
            tiles.append(_label(_pad(t, side * ZOOM, side * ZOOM), f"{where if i == 0 else place}: {col}"))
            if place == "hair top":
                it = cv2.resize(_cut(layer, places[place], side)[0], (INDEX_TILE, INDEX_TILE),
                                interpolation=cv2.INTER_NEAREST)
                index_tiles.append(_label(it, col.replace("on ", "").split(" (")[0], 18))
        gap = np.full((tiles[0].shape[0], 6, 3), 255, dtype=np.uint8)
        row = np.concatenate([x for t in tiles for x in (t, gap)][:-1], axis=1)
        rows.append(row)
    width = max(r.shape[1] for r in rows)
    overview = _boxes_overview(layers[2], places, side, path.name)
    parts = [_pad(overview, width)] + [_pad(r, width) for r in rows]
    vgap = np.full((8, width, 3), 255, dtype=np.uint8)
    img = np.concatenate([x for p in parts for x in (p, vgap)][:-1], axis=0)
    out = out_dir / f"edge_{path.stem}.png"
    cv2.imwrite(str(out), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    return out, index_tiles


def index_sheet(entries: list[tuple[str, list[np.ndarray]]], out_dir: Path, per_row: int = 2) -> Path:
    blocks = []
    for name, tiles in entries:
        gap = np.full((tiles[0].shape[0], 4, 3), 255, dtype=np.uint8)
        strip = np.concatenate([x for t in tiles for x in (t, gap)][:-1], axis=1)
        blocks.append(_label(strip, f"{name}: hair top"))
    bw = max(b.shape[1] for b in blocks)
    bh = max(b.shape[0] for b in blocks)
    blocks = [_pad(b, bw, bh) for b in blocks]
    while len(blocks) % per_row:
        blocks.append(np.full((bh, bw, 3), 255, dtype=np.uint8))
    rows = []
    for i in range(0, len(blocks), per_row):
        hg = np.full((bh, 16, 3), 255, dtype=np.uint8)
        rows.append(np.concatenate([x for b in blocks[i : i + per_row] for x in (b, hg)][:-1], axis=1))
    vg = np.full((10, rows[0].shape[1], 3), 255, dtype=np.uint8)
    img = np.concatenate([x for r in rows for x in (r, vg)][:-1], axis=0)
    out = out_dir / "edge_index.png"
    cv2.imwrite(str(out), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("photos", nargs="*", type=Path, help="photos (default: every photo in ../shared/faces)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    args = ap.parse_args(argv)
    photos = args.photos or default_photos()
    args.out.mkdir(parents=True, exist_ok=True)
    entries = []
    failed = 0
    for p in photos:
        try:
            path, tiles = sheet(p, args.out)
        except (HeadshotError, OSError) as e:
            print(f"skipped {p}: {e}", file=sys.stderr)
            failed += 1
            continue
        entries.append((p.name, tiles))
        print(path, flush=True)
    if entries:
        print(index_sheet(entries, args.out))
    return 1 if failed and not entries else 0


if __name__ == "__main__":
    sys.exit(main())
