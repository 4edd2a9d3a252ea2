"""Retouch and colour benchmark: is the skin's texture kept, are temporary spots healed and moles
kept, is the colour right under a cast and on a saturated wall, is the person still the person, and
is it fast?

The photo set is the astronaut plus every single-person dev photo of ``../shared/faces`` (never
copied into the repository); each photo is analysed once. Every render is ``corporate`` on
``linkedin``. Two sizes are used:

- the **default size** (the platform's, as a user gets it);
- the **100% size**: the size at which the output face is about as wide as the input face, so the
  skin's texture is neither invented by upscaling nor lost by downscaling:
  ``size = default size x input face width / output face width`` (= default size / crop.scale),
  clamped to [600, 4000] px (a face under ~150 px is therefore enlarged a little).

Subjects with changed pixels (spots painted in, a colour cast, a new wall) are made with
``dataclasses.replace(subject, photo=replace(photo, pixels=new), levels=framing.pyramid(new),
colour=colour.estimate(new, face))``: the same face, matte and framing, so two renders can be
compared pixel by pixel.

1. **Texture kept.** ``none`` (reference), ``natural`` and ``maximum`` at the 100% size. In the
   output's log luminance ``log(Y + 0.001)`` the band-pass is a difference of Gaussians,
   ``G(sigma1) - G(sigma2)`` with ``sigma1 = max(0.5 px, 0.0015 fw)`` and ``sigma2 = 0.006 fw``
   (``fw``: the output face width; a face ~15 cm wide: 0.2-0.9 mm, pores and fine lines). Energy =
   mean square of the band over the patch: both cheeks (``headshot.light.cheek_patches``: discs of
   0.07 fw at the mean of six landmarks each) and the forehead (a box across the face's axis, from
   the inner third of the brows (landmarks 105 to 334) and 0.03 fw above the highest brow landmark
   up to 0.03 fw below landmark 10), intersected with the output face's ``skin`` region mask, the
   output alpha > 0.95 and not dark (luminance smoothed at 0.01 fw at least half the patch's median:
   hair over the forehead, a beard's edge). The patch is drawn once, on the ``none`` render, and used
   for all three. Ratio = energy(retouched) / energy(none). Target: every photo's ``natural`` ratio in
   [0.6, 0.9] (texture softened, not erased), every ``maximum`` ratio >= 0.4.
2. **Blemishes healed, moles kept.** On each photo's INPUT pixels, synthetic red spots of radius 2,
   3, 4, 5, 6 and 8 input px and one mole of radius 12 px are painted at skin positions (cheeks,
   forehead, chin, jaw; anchors from landmarks, tried in a fixed order, unused anchors first, largest
   radius first; at each anchor the nearest pixel within 0.1 fw that qualifies). A spot is placed
   only where the whole healing area round it (radius ``1.6 r + 2 + 0.02 fw``; for the
   mole, which is to be kept, ``r + 2 + 0.02 fw``) lies in the input's skin region (landmark ``skin``
   mask without the nostrils, without dark pixels: smoothed luminance under 0.5 x the skin's median,
   and without stubble: local RMS (0.03 fw) of the log luminance's detail below 0.01 fw over
   ``max(2 x its lower quartile on the skin, 0.15)``),
   and at least ``1.6 (r1 + r2) + 4 + 0.05 fw`` from any other disc; a radius with no such place is
   skipped (and listed). Profile, multiplicative in
   linear RGB: ``f(d) = 1 - (1 - k) p(d)``, ``p = 1`` inside ``0.6 r`` and a raised-cosine fall to 0
   at ``r``; spot ``k = (0.92, 0.70, 0.75)`` (a red papule: haemoglobin absorbs green), mole
   ``k = (0.45, 0.38, 0.36)`` (dark brown). The spotted and clean subjects are rendered with
   ``none`` and ``natural`` at the 100% size; the spotted renders are given the clean render's
   :class:`~headshot.colour.Correction` (so the spots cannot move the white balance and every pixel
   difference is the spot's). Contrast of a spot = CIEDE2000 between the MEAN linear colour over its
   disc (mapped into the output: centre through ``crop.apply``, radius ``r x crop.scale``) in the
   spotted render and in the clean render, each mean converted linear -> sRGB -> CIELAB
   (scikit-image). ``removal = 1 - contrast(natural) / contrast(none)``; mole kept =
   ``contrast(natural) / contrast(none)``. Targets: every spot >= 80% removed, every mole >= 0.8 kept.
   Also reported: how many more spots the retouch healed on the spotted photo than on the clean one
   (``Headshot.retouch["spots_healed"]``), and how the retouch classified each synthetic spot: the
   kinds of the marks it found with their centre inside the disc (``headshot.retouch.apply`` called as
   ``render`` calls it, on the spotted ``none`` render's foreground; ``unhealed`` = a blemish outside
   the ``MAX_HEALED`` most visible, which ``apply`` does not heal).
   Photos whose input face is under 100 px wide are skipped (an 8 px spot there is a fifth of the
   face).
3. **Colour.** Skin colour of an output = the mean linear RGB of the output image over the output
   face's ``skin`` region mask where alpha > 0.9, converted to CIELAB as above.
   (a) Cast: the input pixels multiplied by ``kelvin_to_rgb(T) / kelvin_to_rgb(6500)`` (normalised
   to luminance 1, so only the colour changes; clipped to [0, 1]) for T = 5000 K and 8000 K, colour
   re-estimated, rendered ``natural`` at the default size; CIEDE2000 to the uncast photo's render.
   Target: every dE <= 3. The raw dE of the cast (cast and uncast photo both rendered with the
   style's ``white_balance`` set to 0, retouch ``none``) is reported beside it, so the reader sees
   what the correction removed.
   (b) Saturated wall: the photo's subject (matte resized to the photo) composited onto flat linear
   red (0.55, 0.04, 0.03), green (0.05, 0.35, 0.04), blue (0.03, 0.06, 0.5), yellow (0.6, 0.45, 0.02)
   and grey (0.2, 0.2, 0.2) walls, colour re-estimated, rendered ``natural``; CIEDE2000 of each
   wall's skin colour to the grey wall's. Target: every dE <= 3.
4. **Likeness.** dlib identity distance (:func:`headshot.eval.identity`) from the input pixels to
   the default-size output for ``none`` (the reference: what framing, backdrop and colour cost),
   ``natural`` and ``maximum``. Targets: ``natural`` median <= 0.10 and every photo <= 0.18;
   ``maximum`` every photo <= 0.25. Photos where dlib finds no face are listed, not counted.
5. **Speed.** The whole retouch of a 1024x1024 output of the astronaut (``square-avatar`` at size
   1024): :func:`headshot.colour.apply` then :func:`headshot.retouch.apply` with ``natural`` settings
   (the healing included, as on a render's first style on a frame),
   on the un-toned warped foreground and alpha, pinned to 2 cores (``os.sched_setaffinity`` and
   ``cv2.setNumThreads(2)``), median of 9 runs after a warm-up. Target <= 0.25 s; ``maximum`` reported.
   The same measure (natural, median of 3) on every photo's 1024 px output is reported beside it:
   the astronaut (smooth skin in a 512 px photo: few marks to measure) is the easy case.
6. **Look.** ``<out>/sheets/<photo>.png``: 100% crops (no resampling) of both cheeks and the eyes
   from the ``none``, ``natural`` and ``maximum`` renders at the 100% size, side by side and
   labelled, and every synthetic spot before/after (spotted ``none`` | spotted ``natural``);
   ``<out>/sheets/overview.png``: one row per photo (right cheek at the three levels, the largest red
   spot and the mole before/after; resized to one height for the overview). They are judged by eye.

Writes ``results.json`` and ``results.md`` (and ``sheets/``) to ``--out`` (default
``bench-output/retouch``), and ``bench-output/retouch.{md,json}`` like the other benchmarks.

Run: ``python benchmarks/bench_retouch.py [--photos N] [--out DIR] [--no-speed]``.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import _common as C

C.quiet_native_logs()

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from skimage.color import deltaE_ciede2000, rgb2lab  # noqa: E402

import headshot  # noqa: E402
from headshot import colour as colour_mod  # noqa: E402
from headshot import framing  # noqa: E402
from headshot import retouch as retouch_mod  # noqa: E402
from headshot.errors import HeadshotError  # noqa: E402
from headshot.face import LEFT_BROW, RIGHT_BROW, Face, region_mask  # noqa: E402
from headshot.imageio import linear_to_srgb, to_srgb8  # noqa: E402
from headshot.light import cheek_patches, kelvin_to_rgb  # noqa: E402
from headshot.pipeline import Headshot, Subject  # noqa: E402
from headshot.presets import load_retouch, load_style  # noqa: E402

CMD = "`python benchmarks/bench_retouch.py`"
DEFAULT_OUT = C.OUT_DIR / "retouch"
STYLE = "corporate"
PLATFORM = "linkedin"
LEVELS = ("none", "natural", "maximum")
LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)

# 1. texture
SIZE_RANGE = (600, 4000)
DOG_SIGMA1_FW, DOG_SIGMA1_MIN, DOG_SIGMA2_FW = 0.0015, 0.5, 0.006
LOG_EPS = 1e-3
PATCH_ALPHA = 0.95
PATCH_DARK = 0.5  # pixels darker (smoothed) than this fraction of the patch's median are left out
FOREHEAD_MARGIN = 0.03
FOREHEAD_SHARE = 0.6  # of the forehead between the brows (+ margin) and the hairline (- margin)
NATURAL_RANGE = (0.6, 0.9)
MAXIMUM_MIN = 0.4

# 2. blemishes
SPOT_RADII = (2, 3, 4, 5, 6, 8)
MOLE_RADIUS = 12
SPOT_K = (0.92, 0.70, 0.75)
MOLE_K = (0.45, 0.38, 0.36)
CORE = 0.6  # p = 1 inside CORE * r
MIN_FACE = 100  # px: input faces narrower than this are skipped in figure 2
SEARCH_FW = 0.1  # a spot may move this far (face widths) from its landmark anchor to find room
SKIN_DARK = 0.5
SKIN_ROUGH = 2.0  # local fine contrast above this multiple of its lower quartile on the skin: stubble, beard
SKIN_ROUGH_MIN = 0.15  # (log luminance) ... and above this: clear skin's pores stay far below it
REMOVAL_MIN = 0.8
MOLE_KEPT_MIN = 0.8

# 3. colour
CAST_KELVIN = (5000, 8000)
NEUTRAL_KELVIN = 6500
WALLS = {
    "red": (0.55, 0.04, 0.03),
    "green": (0.05, 0.35, 0.04),
    "blue": (0.03, 0.06, 0.5),
    "yellow": (0.6, 0.45, 0.02),
}
GREY_WALL = (0.2, 0.2, 0.2)
SKIN_ALPHA = 0.9
DE_MAX = 3.0

# 4. likeness
NATURAL_MEDIAN_MAX, NATURAL_MAX, MAXIMUM_ID_MAX = 0.10, 0.18, 0.25

# 5. speed
SPEED_SIZE = 1024
SPEED_PLATFORM = "square-avatar"
SPEED_REPS = 9
SPEED_REPS_EACH = 3  # the same measure on every photo (reported beside the astronaut's)
SPEED_MAX = 0.25
BUSY_WARN = 0.15  # share of all cores busy before the timing above which the report warns

# 6. sheets
TILE_MIN = 96
OVERVIEW_H = 120


# --------------------------------------------------------------------------------------------- helpers


def _r(v: float | None, n: int = 4) -> float | None:
    return None if v is None or not math.isfinite(v) else round(float(v), n)


def lab(lin: np.ndarray) -> np.ndarray:
    """CIELAB of linear RGB colours (..., 3): linear -> sRGB -> Lab (scikit-image, D65)."""
    lin = np.clip(np.asarray(lin, dtype=np.float32), 0.0, 1.0)
    srgb = linear_to_srgb(lin).astype(np.float64)
    return rgb2lab(srgb.reshape(1, -1, 3)).reshape(lin.shape)


def delta_e(a_lin: np.ndarray, b_lin: np.ndarray) -> float:
    """CIEDE2000 between two linear RGB colours."""
    return float(deltaE_ciede2000(lab(a_lin), lab(b_lin)))


def with_pixels(subject: Subject, pixels: np.ndarray, *, estimate: bool = True) -> Subject:
    """The same face, matte and framing with other pixels (colour re-estimated unless told not to)."""
    pixels = np.ascontiguousarray(pixels, dtype=np.float32)
    est = colour_mod.estimate(pixels, subject.face, subject.matte.alpha) if estimate else subject.colour
    return replace(subject, photo=replace(subject.photo, pixels=pixels), levels=framing.pyramid(pixels), colour=est)


def out_face(face: Face, crop: framing.Crop) -> Face:
    """The face mapped into the output frame (what render gives the retouch)."""
    lm = face.landmarks
    return replace(face, landmarks=np.column_stack([crop.apply(lm[:, :2]), lm[:, 2] * crop.scale]))


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(x, (0, 0), sigmaX=max(float(sigma), 0.3), borderType=cv2.BORDER_REFLECT)


def _disc(shape: tuple[int, int], centre: np.ndarray, radius: float) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    cv2.circle(m, (round(float(centre[0]) * 16), round(float(centre[1]) * 16)), max(1, round(radius * 16)), 1, -1,
               shift=4)
    return m.astype(bool)


def _axes(lm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors along the eye line (image-left to image-right) and up the face."""
    e = lm[263, :2] - lm[33, :2]
    e = e / max(float(np.linalg.norm(e)), 1e-6)
    up = np.array([e[1], -e[0]])
    if float(np.dot(up, lm[10, :2] - lm[152, :2])) < 0:
        up = -up
    return e, up


def skin_mean(hs: Headshot, face: Face) -> np.ndarray:
    """Mean linear RGB of the output over the output face's skin region where alpha > 0.9."""
    of = out_face(face, hs.crop)
    m = (region_mask(of, "skin", hs.alpha.shape) > 0) & (hs.alpha > SKIN_ALPHA)
    return hs.image[m].mean(axis=0) if m.any() else np.full(3, np.nan, np.float32)


def render(subject: Subject, level: str, *, size: int | None = None, style: Any = STYLE,
           platform: str = PLATFORM, correction: colour_mod.Correction | None = None) -> Headshot:
    return headshot.render(subject, style, platform, size=size, retouch=level, correction=correction)


# ----------------------------------------------------------------------------------- 1. texture


def texture_patch(img: np.ndarray, alpha: np.ndarray, of: Face) -> tuple[np.ndarray, dict[str, int]]:
    """Cheeks + forehead patch (bool, output shape) and the pixel count of each part."""
    h, w = alpha.shape
    lm = of.landmarks[:, :2].astype(np.float64)
    fw = of.width
    cr, cl, rad = cheek_patches(lm, fw)
    cheeks = _disc((h, w), cr, rad) | _disc((h, w), cl, rad)
    e, up = _axes(lm)
    o = lm[9]

    def uv(p: np.ndarray) -> tuple[float, float]:
        d = p - o
        return float(d @ e), float(d @ up)

    v_brow = max(uv(lm[i])[1] for i in RIGHT_BROW + LEFT_BROW)
    v0 = v_brow + FOREHEAD_MARGIN * fw
    # The lower part of the forehead only: a fringe often hangs below the landmarks' hairline (10).
    v1 = v0 + FOREHEAD_SHARE * (uv(lm[10])[1] - FOREHEAD_MARGIN * fw - v0)
    u0, u1 = sorted((uv(lm[105])[0], uv(lm[334])[0]))
    fore = np.zeros((h, w), np.uint8)
    if v1 > v0 + 2:
        quad = np.array([o + u * e + v * up for u, v in ((u0, v0), (u1, v0), (u1, v1), (u0, v1))])
        cv2.fillPoly(fore, [np.round(quad * 16).astype(np.int32)], 1, shift=4)
    base = (region_mask(of, "skin", (h, w)) > 0) & (alpha > PATCH_ALPHA)
    patch = (cheeks | (fore > 0)) & base
    if patch.any():
        ys, xs = np.nonzero(patch)
        pad = int(math.ceil(0.03 * fw)) + 2
        ya, yb, xa, xb = max(0, ys.min() - pad), min(h, ys.max() + pad + 1), max(0, xs.min() - pad), min(w, xs.max() + pad + 1)
        y = _blur(np.ascontiguousarray(img[ya:yb, xa:xb]) @ LUMA, 0.01 * fw)
        inside = patch[ya:yb, xa:xb]
        # Hair over the forehead (a fringe below the landmarks' hairline) is no skin: left out by
        # darkness, or by roughness as in input_skin (a light fringe is not dark).
        ly = np.log(np.ascontiguousarray(img[ya:yb, xa:xb]) @ LUMA + np.float32(LOG_EPS))
        rough = np.sqrt(_blur((ly - _blur(ly, 0.01 * fw)) ** 2, 0.03 * fw))
        rough_max = max(SKIN_ROUGH * float(np.quantile(rough[inside], 0.25)), SKIN_ROUGH_MIN)
        bad = np.zeros((h, w), bool)
        bad[ya:yb, xa:xb] = (y < PATCH_DARK * float(np.median(y[inside]))) | (rough > rough_max)
        patch &= ~bad
    parts = {"cheeks": int((patch & cheeks).sum()), "forehead": int((patch & (fore > 0)).sum())}
    return patch, parts


def band_energy(img: np.ndarray, patch: np.ndarray, fw: float) -> float:
    """Mean square of the DoG band of log luminance over the patch."""
    s1 = max(DOG_SIGMA1_MIN, DOG_SIGMA1_FW * fw)
    s2 = DOG_SIGMA2_FW * fw
    ys, xs = np.nonzero(patch)
    pad = int(math.ceil(4 * s2)) + 3
    h, w = patch.shape
    ya, yb, xa, xb = max(0, ys.min() - pad), min(h, ys.max() + pad + 1), max(0, xs.min() - pad), min(w, xs.max() + pad + 1)
    ly = np.log(np.ascontiguousarray(img[ya:yb, xa:xb]) @ LUMA + np.float32(LOG_EPS))
    band = _blur(ly, s1) - _blur(ly, s2)
    return float(np.mean(band[patch[ya:yb, xa:xb]] ** 2))


# -------------------------------------------------------------------------------- 2. blemishes


def spot_candidates(lm: np.ndarray, fw: float) -> list[tuple[str, np.ndarray]]:
    """Skin positions (input px) to place spots at, in the order they are tried."""
    lm = lm[:, :2].astype(np.float64)
    e, _ = _axes(lm)
    cr, cl, _ = cheek_patches(lm, fw)
    fore = lm[151]
    return [
        ("right cheek", cr),
        ("left cheek", cl),
        ("forehead", fore),
        ("chin", 0.5 * (lm[17] + lm[152])),
        ("right jaw", lm[61] + 0.55 * (lm[172] - lm[61])),
        ("left jaw", lm[291] + 0.55 * (lm[397] - lm[291])),
        ("forehead right", fore - 0.22 * fw * e),
        ("forehead left", fore + 0.22 * fw * e),
        ("outer right cheek", cr - 0.12 * fw * e),
        ("outer left cheek", cl + 0.12 * fw * e),
    ]


def input_skin(pixels: np.ndarray, face: Face) -> np.ndarray:
    """Where spots may go: the skin region without nostrils and without dark pixels (uint8)."""
    h, w = pixels.shape[:2]
    m = (region_mask(face, "skin", (h, w)) > 0).astype(np.uint8)
    cv2.fillPoly(m, [np.round(face.landmarks[list(retouch_mod.NOSTRILS), :2] * 16).astype(np.int32)], 0, shift=4)
    if not m.any():
        return m
    ys, xs = np.nonzero(m)
    pad = int(math.ceil(0.05 * face.width)) + 2
    ya, yb, xa, xb = max(0, ys.min() - pad), min(h, ys.max() + pad + 1), max(0, xs.min() - pad), min(w, xs.max() + pad + 1)
    y = np.ascontiguousarray(pixels[ya:yb, xa:xb]) @ LUMA
    inside = m[ya:yb, xa:xb] > 0
    ref = float(np.median(y[inside]))
    ys_ = _blur(y, 0.01 * face.width)
    # Stubble and beard: fine-scale contrast of log luminance (below 0.01 fw), its local RMS over
    # 0.03 fw, well above the skin's median.
    ly = np.log(y + np.float32(LOG_EPS))
    rough = np.sqrt(_blur((ly - _blur(ly, 0.01 * face.width)) ** 2, 0.03 * face.width))
    bad = np.zeros((h, w), bool)
    rough_max = max(SKIN_ROUGH * float(np.quantile(rough[inside], 0.25)), SKIN_ROUGH_MIN)
    bad[ya:yb, xa:xb] = (ys_ < SKIN_DARK * ref) | (rough > rough_max)
    m[bad] = 0
    return m


def place_spots(pixels: np.ndarray, face: Face) -> tuple[list[dict[str, Any]], list[str]]:
    fw = face.width
    ok = input_skin(pixels, face)
    dist = cv2.distanceTransform(ok, cv2.DIST_L2, 5)
    h, w = ok.shape
    cands = spot_candidates(face.landmarks, fw)
    wanted = [("mole", MOLE_RADIUS)] + [("spot", r) for r in sorted(SPOT_RADII, reverse=True)]
    placed: list[dict[str, Any]] = []
    skipped: list[str] = []
    for kind, r in wanted:
        # A spot's whole healing area must be skin (or the retouch could not be fair to it); a mole,
        # which is to be kept, only needs its disc well inside the skin.
        need = (1.6 * r if kind == "spot" else r) + 2 + 0.02 * fw
        gap = [(p["x"], p["y"], 1.6 * (r + p["r"]) + 4 + 0.05 * fw) for p in placed]
        used = {p["where"] for p in placed}
        # Anchors not used yet first (the spots spread over the face), then the others.
        for name, c in [a for a in cands if a[0] not in used] + [a for a in cands if a[0] in used]:
            # The anchor itself, or else the nearest pixel within SEARCH_FW of it, where the disc fits
            # and keeps its distance from the discs already placed.
            rad = int(math.ceil(SEARCH_FW * fw))
            x0, x1 = max(0, int(round(c[0])) - rad), min(w, int(round(c[0])) + rad + 1)
            y0, y1 = max(0, int(round(c[1])) - rad), min(h, int(round(c[1])) + rad + 1)
            if x1 <= x0 or y1 <= y0:
                continue
            yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
            good = dist[y0:y1, x0:x1] >= need
            for gx, gy, gd in gap:
                good &= np.hypot(xx - gx, yy - gy) >= gd
            d_anchor = np.hypot(xx - c[0], yy - c[1])
            good &= d_anchor <= SEARCH_FW * fw
            if not good.any():
                continue
            i = int(np.argmin(np.where(good, d_anchor, np.inf)))
            px, py = float(xx.flat[i]), float(yy.flat[i])
            if d_anchor.flat[i] <= 1.0:  # the anchor itself fits: keep its sub-pixel position
                px, py = float(c[0]), float(c[1])
            placed.append({"kind": kind, "r": r, "x": px, "y": py, "where": name,
                           "moved_fw": round(float(d_anchor.flat[i]) / fw, 3)})
            break
        else:
            skipped.append(f"{kind} r={r}")
    return placed, skipped


def paint_spots(pixels: np.ndarray, spots: list[dict[str, Any]]) -> np.ndarray:
    out = pixels.copy()
    h, w = out.shape[:2]
    for s in spots:
        r = float(s["r"])
        k = np.array(MOLE_K if s["kind"] == "mole" else SPOT_K, dtype=np.float32)
        x0, x1 = max(0, int(s["x"] - r) - 1), min(w, int(s["x"] + r) + 2)
        y0, y1 = max(0, int(s["y"] - r) - 1), min(h, int(s["y"] + r) + 2)
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        d = np.hypot(xx - s["x"], yy - s["y"])
        t = np.clip((d - CORE * r) / ((1 - CORE) * r), 0.0, 1.0)
        p = np.where(d <= CORE * r, 1.0, 0.5 * (1 + np.cos(np.pi * t))).astype(np.float32)
        p[d >= r] = 0
        out[y0:y1, x0:x1] *= 1 - (1 - k) * p[..., None]
    return out


def disc_mean(img: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    h, w = img.shape[:2]
    r = max(radius, 1.0)
    x0, x1 = max(0, int(centre[0] - r) - 1), min(w, int(centre[0] + r) + 2)
    y0, y1 = max(0, int(centre[1] - r) - 1), min(h, int(centre[1] + r) + 2)
    yy, xx = np.mgrid[y0:y1, x0:x1]
    m = np.hypot(xx - centre[0], yy - centre[1]) <= r
    return img[y0:y1, x0:x1][m].mean(axis=0)


# ------------------------------------------------------------------------------------ 6. sheets


def _u8(img: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(to_srgb8(np.clip(img, 0.0, 1.0)))


def _crop(img: np.ndarray, cx: float, cy: float, half_w: float, half_h: float) -> np.ndarray:
    h, w = img.shape[:2]
    x0, x1 = max(0, int(round(cx - half_w))), min(w, int(round(cx + half_w)))
    y0, y1 = max(0, int(round(cy - half_h))), min(h, int(round(cy + half_h)))
    return img[y0:y1, x0:x1]


def _label(tile: np.ndarray, text: str, band: int = 22) -> np.ndarray:
    """A tile with a white label band on top (the label never covers the pixels)."""
    h, w = tile.shape[:2]
    font_scale = 0.45
    (tw, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
    out = np.full((h + band, max(w, tw + 8), 3), 255, np.uint8)
    out[band:, :w] = tile
    cv2.putText(out, text, (4, band - 7), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), 1, cv2.LINE_AA)
    return out


def _hcat(tiles: list[np.ndarray], gap: int = 6) -> np.ndarray:
    h = max(t.shape[0] for t in tiles)
    parts = []
    for i, t in enumerate(tiles):
        pad = np.full((h, t.shape[1], 3), 255, np.uint8)
        pad[: t.shape[0]] = t
        parts.append(pad)
        if i < len(tiles) - 1:
            parts.append(np.full((h, gap, 3), 255, np.uint8))
    return np.concatenate(parts, axis=1)


def _vcat(rows: list[np.ndarray], gap: int = 8) -> np.ndarray:
    w = max(r.shape[1] for r in rows)
    parts = []
    for i, r in enumerate(rows):
        pad = np.full((r.shape[0], w, 3), 255, np.uint8)
        pad[:, : r.shape[1]] = r
        parts.append(pad)
        if i < len(rows) - 1:
            parts.append(np.full((gap, w, 3), 255, np.uint8))
    return np.concatenate(parts, axis=0)


def _resize_h(tile: np.ndarray, h: int) -> np.ndarray:
    if tile.shape[0] == h:
        return tile
    w = max(1, round(tile.shape[1] * h / tile.shape[0]))
    interp = cv2.INTER_AREA if tile.shape[0] > h else cv2.INTER_NEAREST
    return cv2.resize(tile, (w, h), interpolation=interp)


def _grid(cells: list[list[tuple[str, np.ndarray]]], gap: int = 6) -> np.ndarray:
    """Labelled tiles in a grid whose columns share one width (so rows line up)."""
    labelled = [[_label(t, txt) for txt, t in row] for row in cells]
    ncol = max(len(r) for r in labelled)
    widths = [max(r[c].shape[1] for r in labelled if c < len(r)) for c in range(ncol)]
    out_rows = []
    for r in labelled:
        padded = []
        for c, t in enumerate(r):
            pad = np.full((t.shape[0], widths[c], 3), 255, np.uint8)
            pad[:, : t.shape[1]] = t
            padded.append(pad)
        out_rows.append(_hcat(padded, gap))
    return _vcat(out_rows)


def photo_sheet(name: str, renders: dict[str, np.ndarray], of: Face, spots: list[dict[str, Any]],
                spotted: dict[str, np.ndarray], out: Path) -> tuple[Path, list[np.ndarray]]:
    """The per-photo before/after sheet; returns its path and the overview tiles."""
    lm = of.landmarks[:, :2].astype(np.float64)
    fw = of.width
    cr, cl, _ = cheek_patches(lm, fw)
    half = max(TILE_MIN / 2, 0.16 * fw)
    e_r, e_l = lm[33], lm[263]
    eye_c = 0.5 * (e_r + e_l)
    eye_hw = 0.5 * float(np.linalg.norm(e_l - e_r)) + max(TILE_MIN / 4, 0.1 * fw)
    eye_hh = max(TILE_MIN / 2, 0.1 * fw)
    title = _label(np.full((2, 2, 3), 255, np.uint8),
                   f"{name}: 100% crops of the output (face {fw:.0f} px wide), no resampling")
    cells = []
    over: list[np.ndarray] = []
    for level in LEVELS:
        img = renders[level]
        cells.append([(f"{level}: right cheek", _u8(_crop(img, cr[0], cr[1], half, half))),
                      (f"{level}: left cheek", _u8(_crop(img, cl[0], cl[1], half, half))),
                      (f"{level}: eyes", _u8(_crop(img, eye_c[0], eye_c[1], eye_hw, eye_hh)))])
        over.append(_resize_h(_u8(_crop(img, cr[0], cr[1], half, half)), OVERVIEW_H))
    parts = [title, _grid(cells)]
    spot_over: list[np.ndarray] = []
    if spots and spotted:
        tiles = []
        for s in spots:
            hw = max(TILE_MIN / 2, 2.5 * s["r_out"])
            a = _u8(_crop(spotted["none"], s["x_out"], s["y_out"], hw, hw))
            b = _u8(_crop(spotted["natural"], s["x_out"], s["y_out"], hw, hw))
            tag = "mole" if s["kind"] == "mole" else f"spot r={s['r']}"
            tiles.append((f"{tag}: none | natural", _hcat([a, b], gap=2)))
        parts.append(_label(np.full((2, 2, 3), 255, np.uint8), "synthetic marks on the input (same 100% scale): "
                            "spotted render without and with the natural retouch"))
        parts.append(_grid([tiles[i: i + 4] for i in range(0, len(tiles), 4)]))
        red = [s for s in spots if s["kind"] == "spot"]
        for s in ([max(red, key=lambda q: q["r"])] if red else []) + [s for s in spots if s["kind"] == "mole"]:
            hw = max(12.0, 2.5 * s["r_out"])
            for lv in ("none", "natural"):
                spot_over.append(_resize_h(_u8(_crop(spotted[lv], s["x_out"], s["y_out"], hw, hw)), OVERVIEW_H))
    sheet = _vcat(parts)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{Path(name).stem}.png"
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    return path, over + spot_over


def overview_sheet(rows: list[tuple[str, list[np.ndarray]]], out: Path) -> Path | None:
    if not rows:
        return None
    head = _label(np.full((4, 4, 3), 255, np.uint8),
                  "right cheek: none | natural | maximum;  largest red spot: spotted none | natural;  mole: spotted "
                  f"none | natural  (each resized to {OVERVIEW_H} px high)")
    lines = [head]
    for name, tiles in rows:
        lines.append(_label(_hcat(tiles), name, band=18))
    sheet = _vcat(lines)
    path = out / "overview.png"
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    return path


# ------------------------------------------------------------------------------------------- photo


def measure_photo(ref: C.PhotoRef, out_dir: Path | None, do_identity: bool = True,
                  do_speed: bool = False) -> tuple[dict[str, Any], Subject | None, list[np.ndarray]]:
    """All per-photo figures; returns the results, the subject when it is the astronaut (for the speed
    figure), and the photo's overview tiles."""
    t0 = time.perf_counter()
    res: dict[str, Any] = {"photo": ref.name}
    try:
        subject = headshot.analyse(ref.path if ref.path is not None else ref.data())
    except HeadshotError as e:
        res["error"] = f"analysis failed: {e}"
        return res, None, []
    face = subject.face
    res["face_px"] = round(face.width, 1)
    res["size"] = [subject.photo.width, subject.photo.height]

    # Default-size renders (figures 3 and 4).
    default = {lv: render(subject, lv) for lv in LEVELS}
    crop0 = default["none"].crop
    size100 = int(min(SIZE_RANGE[1], max(SIZE_RANGE[0], round(max(crop0.width, crop0.height) / crop0.scale))))
    res["default_size"] = [crop0.width, crop0.height]
    res["default_scale"] = round(crop0.scale, 4)
    res["size100"] = size100

    # 1. texture at the 100% size.
    big = {lv: render(subject, lv, size=size100) for lv in LEVELS}
    crop = big["none"].crop
    of = out_face(face, crop)
    res["scale100"] = round(crop.scale, 4)
    res["out_face_px"] = round(of.width, 1)
    patch, parts = texture_patch(big["none"].image, big["none"].alpha, of)
    tex: dict[str, Any] = {"patch_px": int(patch.sum()), **{f"{k}_px": v for k, v in parts.items()}}
    if patch.sum() >= 50:
        en = {lv: band_energy(big[lv].image, patch, of.width) for lv in LEVELS}
        tex.update({f"energy_{lv}": en[lv] for lv in LEVELS})
        tex["rms_none"] = math.sqrt(en["none"])
        for lv in ("natural", "maximum"):
            tex[lv] = en[lv] / en["none"] if en["none"] > 0 else None
    else:
        tex["error"] = "patch under 50 px"
    res["texture"] = tex
    if do_speed:  # figure 5 on every photo, not only the astronaut
        res["speed_natural_s"] = _retouch_times(subject, ("natural",), SPEED_REPS_EACH)["natural"]["total_s"]
    res["retouch_natural"] = {k: v for k, v in (big["natural"].retouch or {}).items() if k != "settings"}
    res["retouch_maximum"] = {k: v for k, v in (big["maximum"].retouch or {}).items() if k != "settings"}

    # 2. blemishes.
    spots_out: list[dict[str, Any]] = []
    spotted_imgs: dict[str, np.ndarray] = {}
    bl: dict[str, Any] = {}
    if face.width < MIN_FACE:
        bl["skipped"] = f"input face {face.width:.0f} px wide (< {MIN_FACE})"
    else:
        placed, skipped = place_spots(subject.photo.pixels, face)
        bl["skipped_radii"] = skipped
        if not placed:
            bl["skipped"] = "no room on the skin for any spot"
        else:
            sp_subject = with_pixels(subject, paint_spots(subject.photo.pixels, placed), estimate=False)
            sp = {lv: render(sp_subject, lv, size=size100, correction=big[lv].correction) for lv in ("none", "natural")}
            if not np.allclose(sp["none"].crop.matrix, crop.matrix):
                bl["warning"] = "spotted render framed differently"
            # The retouch's own classification of the marks (the call render makes, on the same input).
            found = retouch_mod.apply(sp["none"].foreground, sp["none"].alpha, of, load_retouch("natural")).spots
            # (apply() heals at most MAX_HEALED blemishes; the others come back as kind "unhealed".)

            def kind_of(f: Any) -> str:
                return str(f.kind)
            for s in placed:
                c_out = crop.apply(np.array([[s["x"], s["y"]]]))[0]
                r_out = s["r"] * crop.scale
                con = {}
                for lv in ("none", "natural"):
                    con[lv] = delta_e(disc_mean(sp[lv].image, c_out, r_out), disc_mean(big[lv].image, c_out, r_out))
                # Every mark the retouch found with its centre inside the disc, largest first.
                near = sorted((f for f in found if math.hypot(f.x - c_out[0], f.y - c_out[1]) <= max(2.0, r_out)),
                              key=lambda f: -f.radius)
                best = near[0] if near else None
                row = {**s, "x_out": float(c_out[0]), "y_out": float(c_out[1]), "r_out": float(r_out),
                       "contrast_none": con["none"], "contrast_natural": con["natural"],
                       "found_as": "+".join(kind_of(f) for f in near) if near else "not found",
                       "found_radius": _r(best.radius, 2) if best else None,
                       "found_redness": _r(best.redness, 3) if best else None,
                       "found_darkness": _r(best.darkness, 3) if best else None}
                ratio = con["natural"] / con["none"] if con["none"] > 0 else None
                if s["kind"] == "mole":
                    row["kept"] = ratio
                else:
                    row["removal"] = None if ratio is None else 1.0 - ratio
                spots_out.append(row)
            healed_sp = int((sp["natural"].retouch or {}).get("spots_healed", 0))
            healed_clean = int((big["natural"].retouch or {}).get("spots_healed", 0))
            red = [s for s in spots_out if s["kind"] == "spot"]
            moles = [s for s in spots_out if s["kind"] == "mole"]
            bl.update({
                "spots": spots_out,
                "min_removal": min((s["removal"] for s in red if s["removal"] is not None), default=None),
                "worst_spot": (min(red, key=lambda s: s["removal"] if s["removal"] is not None else 9)["r"]
                               if red else None),
                "mole_kept": moles[0]["kept"] if moles else None,
                "healed_spotted": healed_sp, "healed_clean": healed_clean, "healed_extra": healed_sp - healed_clean,
                "red_spots": len(red),
            })
            spotted_imgs = {lv: sp[lv].image for lv in sp}
            del sp, sp_subject
    res["blemishes"] = bl

    # 6. sheets (from the 100% renders).
    over_tiles: list[np.ndarray] = []
    if out_dir is not None:
        path, over_tiles = photo_sheet(ref.name, {lv: big[lv].image for lv in LEVELS}, of, spots_out, spotted_imgs,
                                       out_dir / "sheets")
        res["sheet"] = str(path)
    del big, spotted_imgs

    # 3a. colour cast.
    style = load_style(STYLE)
    nowb = replace(style, name=f"{STYLE}-no-wb", tone=replace(style.tone, white_balance=0.0))
    ref_skin = skin_mean(default["natural"], face)
    # The raw cast is shown without retouching on both sides (it only says how large the cast is).
    ref_skin_nowb = skin_mean(render(subject, "none", style=nowb), face)
    cast: dict[str, Any] = {}
    for kel in CAST_KELVIN:
        g = kelvin_to_rgb(kel) / kelvin_to_rgb(NEUTRAL_KELVIN)
        g = (g / float(LUMA @ g)).astype(np.float32)
        cs = with_pixels(subject, np.clip(subject.photo.pixels * g, 0.0, 1.0))
        de = delta_e(skin_mean(render(cs, "natural"), face), ref_skin)
        raw = delta_e(skin_mean(render(cs, "none", style=nowb), face), ref_skin_nowb)
        cast[str(kel)] = {"de": de, "raw_de": raw, "gain": [round(float(x), 4) for x in g],
                          "cast_estimate": [round(c, 4) for c in (cs.colour.cast if cs.colour else (0, 0))]}
        del cs
    res["cast"] = cast
    res["cast_estimate"] = [round(c, 4) for c in (subject.colour.cast if subject.colour else (0, 0))]

    # 3b. saturated walls.
    a = np.asarray(subject.matte.alpha, dtype=np.float32)
    a = cv2.resize(a, (subject.photo.width, subject.photo.height), interpolation=cv2.INTER_LINEAR)[..., None]
    px = subject.photo.pixels

    def on_wall(rgb: tuple[float, float, float]) -> tuple[np.ndarray, tuple[float, float]]:
        ws = with_pixels(subject, px * a + np.array(rgb, np.float32) * (1.0 - a))
        est = ws.colour.cast if ws.colour else (0.0, 0.0)
        return skin_mean(render(ws, "natural"), face), est

    grey_skin, grey_est = on_wall(GREY_WALL)
    walls: dict[str, Any] = {"grey_cast_estimate": [round(c, 4) for c in grey_est]}
    for wname, rgb in WALLS.items():
        sk, est = on_wall(rgb)
        walls[wname] = {"de": delta_e(sk, grey_skin), "cast_estimate": [round(c, 4) for c in est]}
    res["walls"] = walls

    # 4. likeness.
    if do_identity:
        from headshot.eval import identity as idm

        try:
            e_in = idm.embedding(subject.photo.pixels)
        except idm.NoFaceForIdentity:
            e_in = None
        res["identity"] = ({lv: idm.distance_to(e_in, default[lv].image) for lv in LEVELS} if e_in is not None
                           else {"error": "dlib found no face in the input"})
    res["seconds"] = round(time.perf_counter() - t0, 1)
    return res, (subject if ref.name == "astronaut" else None), over_tiles


# ------------------------------------------------------------------------------------------- speed


def _retouch_times(subject: Subject, levels: tuple[str, ...], reps: int) -> dict[str, Any]:
    """colour.apply + retouch.apply (healing included: a render on a new frame) on the subject's
    1024 px square-avatar output, pinned to 2 cores; median of ``reps`` after a warm-up."""
    style = load_style(STYLE)
    # The un-toned warped foreground (identity correction, no retouch) and its alpha.
    raw = headshot.render(subject, style, SPEED_PLATFORM, size=SPEED_SIZE, retouch="none",
                          correction=colour_mod.Correction())
    fg = np.ascontiguousarray(raw.foreground)
    alpha = np.ascontiguousarray(raw.alpha)
    of = out_face(subject.face, raw.crop)
    corr = colour_mod.correction(subject.colour, subject.stats.luminance, style.tone)
    prev, cores = C.pin(2)
    threads = cv2.getNumThreads()
    cv2.setNumThreads(2)
    out: dict[str, Any] = {"size": [raw.crop.width, raw.crop.height], "cores": cores, "face_px": round(of.width, 1),
                           "cpu_busy_before": C.cpu_busy(0.5)}
    try:
        for level in levels:
            settings = load_retouch(level)
            tc, tr, tt = [], [], []
            for i in range(reps + 1):
                t_a = time.perf_counter()
                toned = colour_mod.apply(fg, corr)
                t_b = time.perf_counter()
                retouch_mod.apply(toned, alpha, of, settings, pixel_scale=raw.crop.scale)
                t_c = time.perf_counter()
                if i:
                    tc.append(t_b - t_a)
                    tr.append(t_c - t_b)
                    tt.append(t_c - t_a)
            out[level] = {"colour_s": C.median(tc), "retouch_s": C.median(tr), "total_s": C.median(tt),
                          "min_s": min(tt), "max_s": max(tt)}
    finally:
        cv2.setNumThreads(threads)
        if prev is not None:
            os.sched_setaffinity(0, prev)
    return out


def speed(subject: Subject | None) -> dict[str, Any]:
    if subject is None:
        ref = C.astronaut()
        subject = headshot.analyse(ref.path if ref.path is not None else ref.data())
    out = _retouch_times(subject, ("natural", "maximum"), SPEED_REPS)
    out["pass"] = out["natural"]["total_s"] <= SPEED_MAX
    return out


# --------------------------------------------------------------------------------------------- run


def _f(v: float | None, d: int = 2) -> str:
    return "—" if v is None else f"{v:.{d}f}"


def run(n_photos: int | None = None, out_dir: Path | None = DEFAULT_OUT, do_speed: bool = True) -> dict[str, Any]:
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    photos, note = C.photo_set()
    if n_photos is not None:
        photos = photos[: max(1, n_photos)]
    m = C.machine()
    t0 = time.perf_counter()
    results: list[dict[str, Any]] = []
    astro: Subject | None = None
    overview: list[tuple[str, list[np.ndarray]]] = []
    for ref in photos:
        r, subj, tiles = measure_photo(ref, out_dir, do_speed=do_speed)
        results.append(r)
        if subj is not None:
            astro = subj
        if tiles:
            overview.append((ref.name, tiles))
        tx = r.get("texture", {})
        print(f"  {ref.name}: texture {_f(tx.get('natural'))}/{_f(tx.get('maximum'))}, spots "
              f"{_f(r.get('blemishes', {}).get('min_removal'))}, mole {_f(r.get('blemishes', {}).get('mole_kept'))}, "
              f"id {r.get('identity', {})} ({r.get('seconds', 0)} s){' ' + r['error'] if 'error' in r else ''}",
              file=sys.stderr, flush=True)
    over_path = overview_sheet(overview, out_dir / "sheets") if out_dir is not None else None
    ok_rows = [r for r in results if "error" not in r]
    errs = [f"{r['photo']}: {r['error']}" for r in results if "error" in r]

    md = ["## Retouch and colour (texture, blemishes, colour cast, saturated walls, likeness, speed)", "",
          f"{m['cpu_count']} cores (affinity {m['sched_affinity']}), Python {m['python']}. {len(ok_rows)} photos "
          f"(astronaut + single-person dev photos), {STYLE}/{PLATFORM}. Reproduce: {CMD}.", ""]
    if note:
        md += [f"_{note}_", ""]
    if errs:
        md += ["Analysis failed: " + "; ".join(errs), ""]
    verdicts: list[tuple[str, bool]] = []

    # 1. texture
    rows, bad_nat, bad_max = [], [], []
    nat_vals, max_vals = [], []
    for r in ok_rows:
        t = r["texture"]
        n, x = t.get("natural"), t.get("maximum")
        if n is None or x is None:
            rows.append([r["photo"], f"{r['face_px']:.0f} / {r['out_face_px']:.0f}", str(r["size100"]), str(t["patch_px"]),
                         "—", "—", "—", t.get("error", "no energy")])
            bad_nat.append(r["photo"])
            continue
        nat_vals.append(n)
        max_vals.append(x)
        okn = NATURAL_RANGE[0] <= n <= NATURAL_RANGE[1]
        okx = x >= MAXIMUM_MIN
        if not okn:
            bad_nat.append(f"{r['photo']} {n:.2f}")
        if not okx:
            bad_max.append(f"{r['photo']} {x:.2f}")
        rows.append([r["photo"], f"{r['face_px']:.0f} / {r['out_face_px']:.0f}", str(r["size100"]),
                     f"{t['patch_px']} ({t['cheeks_px']} + {t['forehead_px']})", f"{t['rms_none']:.4f}",
                     f"{n:.3f}" + ("" if okn else " ✗"), f"{x:.3f}" + ("" if okx else " ✗"),
                     str(r["retouch_natural"].get("spots_healed", "—"))])
    ok1 = bool(nat_vals) and not bad_nat and not bad_max
    md += ["### 1. Texture kept (skin band-pass energy, retouched / none, at the 100% size)", "",
           f"DoG of log luminance, sigma {DOG_SIGMA1_FW} fw (>= {DOG_SIGMA1_MIN} px) minus sigma {DOG_SIGMA2_FW} fw; "
           "patch = both cheek discs (0.07 fw) + forehead box, on skin, alpha > 0.95, not dark. "
           f"Targets: natural in [{NATURAL_RANGE[0]}, {NATURAL_RANGE[1]}], maximum >= {MAXIMUM_MIN}, every photo.", "",
           C.table(["photo", "face in / out px", "size", "patch px (cheeks + forehead)", "band RMS (none)",
                    "natural", "maximum", "spots healed (natural)"], rows), ""]
    md += [f"**{'PASS' if ok1 else 'FAIL'}** texture kept: natural {_f(min(nat_vals, default=None))}–"
           f"{_f(max(nat_vals, default=None))} (median {_f(C.median(nat_vals) if nat_vals else None)}), maximum "
           f"{_f(min(max_vals, default=None))}–{_f(max(max_vals, default=None))} (median "
           f"{_f(C.median(max_vals) if max_vals else None)})"
           + (f"; natural outside [{NATURAL_RANGE[0]}, {NATURAL_RANGE[1]}]: {', '.join(bad_nat)}" if bad_nat else "")
           + (f"; maximum under {MAXIMUM_MIN}: {', '.join(bad_max)}" if bad_max else "") + ".", ""]
    verdicts.append(("texture kept", ok1))

    # 2. blemishes
    rows, bad_spot, bad_mole, skipped_ph = [], [], [], []
    removals, moles_k = [], []
    for r in ok_rows:
        b = r["blemishes"]
        if "skipped" in b:
            skipped_ph.append(f"{r['photo']} ({b['skipped']})")
            continue
        red = [s for s in b["spots"] if s["kind"] == "spot"]
        cells_sp = " ".join(
            f"{s['r']}:{s['removal'] * 100:.0f}%" + ("✗" if s["removal"] < REMOVAL_MIN else "")
            for s in red if s["removal"] is not None)
        for s in red:
            if s["removal"] is not None:
                removals.append(s["removal"])
                if s["removal"] < REMOVAL_MIN:
                    bad_spot.append(f"{r['photo']} r={s['r']} {s['removal'] * 100:.0f}%")
        mk = b.get("mole_kept")
        if mk is not None:
            moles_k.append(mk)
            if mk < MOLE_KEPT_MIN:
                bad_mole.append(f"{r['photo']} {mk:.2f}")
        kinds = ", ".join(f"{s['r']}:{s['found_as']}" for s in b["spots"])
        con = " ".join(f"{s['contrast_none']:.1f}" for s in b["spots"])
        rows.append([r["photo"], f"{r['face_px']:.0f}", cells_sp or "—",
                     (f"{b['min_removal'] * 100:.0f}% (r={b['worst_spot']})" if b["min_removal"] is not None else "—")
                     + ("" if b["min_removal"] is None or b["min_removal"] >= REMOVAL_MIN else " ✗"),
                     ("—" if mk is None else f"{mk:.2f}" + ("" if mk >= MOLE_KEPT_MIN else " ✗")),
                     f"+{b['healed_extra']} of {b['red_spots']} ({b['healed_clean']} on the clean photo)",
                     con, kinds, ", ".join(b.get("skipped_radii", [])) or "—"])
    n_meas = sum(1 for r in ok_rows if "skipped" not in r["blemishes"])
    ok2a = bool(removals) and not bad_spot
    no_mole = [r["photo"] for r in ok_rows if "skipped" not in r["blemishes"] and r["blemishes"].get("mole_kept") is None]
    ok2b = bool(moles_k) and not bad_mole
    md += ["### 2. Blemishes healed, moles kept (synthetic spots on the input, natural vs none, 100% size)", "",
           f"Red spots k = {SPOT_K}, radii {', '.join(map(str, SPOT_RADII))} input px; mole k = {MOLE_K}, radius "
           f"{MOLE_RADIUS}. Contrast = CIEDE2000 of the disc's mean colour, spotted vs clean render. removal = 1 − "
           f"contrast(natural)/contrast(none) (target >= {REMOVAL_MIN:.0%} every spot); mole kept = "
           f"contrast(natural)/contrast(none) (target >= {MOLE_KEPT_MIN}). 'found as': how "
           "`retouch.find_spots` classified each synthetic mark (radius: kinds of the marks found inside its disc, "
           "largest first; 12 = the mole; unhealed = a blemish beyond the MAX_HEALED most visible, so not healed).", "",
           C.table(["photo", "face px", "removal per radius", "min removal", "mole kept", "spots healed (extra)",
                    "contrast none dE (mole first)", "found as", "not placed"], rows), ""]
    if skipped_ph:
        md += ["Skipped: " + "; ".join(skipped_ph) + ".", ""]
    md += [f"**{'PASS' if ok2a else 'FAIL'}** spots removed: min {_f(min(removals, default=None) if removals else None)}"
           f" (median {_f(C.median(removals) if removals else None)}) over {len(removals)} spots on {n_meas} photos"
           + (f"; under {REMOVAL_MIN:.0%}: {', '.join(bad_spot)}" if bad_spot else "") + ".",
           f"**{'PASS' if ok2b else 'FAIL'}** moles kept: min {_f(min(moles_k, default=None) if moles_k else None)} "
           f"(median {_f(C.median(moles_k) if moles_k else None)}) on {len(moles_k)}/{n_meas} photos"
           + (f"; under {MOLE_KEPT_MIN}: {', '.join(bad_mole)}" if bad_mole else "")
           + (f"; no room for the mole on {', '.join(no_mole)}" if no_mole else "") + ".", ""]
    verdicts += [("spots removed", ok2a), ("moles kept", ok2b)]

    # 3. colour
    rows, bad_cast, bad_wall = [], [], []
    des, raws, wdes = [], [], []
    for r in ok_rows:
        cells = [r["photo"], "({:+.2f}, {:+.2f})".format(*r["cast_estimate"])]
        for kel in CAST_KELVIN:
            c = r["cast"][str(kel)]
            des.append(c["de"])
            raws.append(c["raw_de"])
            cells.append(f"{c['de']:.2f}" + ("" if c["de"] <= DE_MAX else " ✗") + f" (raw {c['raw_de']:.1f})")
            if c["de"] > DE_MAX:
                bad_cast.append(f"{r['photo']} {kel} K {c['de']:.1f}")
        for wname in WALLS:
            d = r["walls"][wname]["de"]
            wdes.append(d)
            cells.append(f"{d:.2f}" + ("" if d <= DE_MAX else " ✗"))
            if d > DE_MAX:
                bad_wall.append(f"{r['photo']} {wname} {d:.1f}")
        rows.append(cells)
    ok3a = bool(des) and not bad_cast
    ok3b = bool(wdes) and not bad_wall
    md += ["### 3. Colour (skin's mean colour in the output, CIEDE2000)", "",
           f"(a) input x kelvin_to_rgb(T)/kelvin_to_rgb({NEUTRAL_KELVIN}) (luminance kept), colour re-estimated, "
           f"natural at the default size, vs the uncast photo's render; raw = the same with white balance off. "
           f"(b) subject composited on a flat saturated wall vs on grey {GREY_WALL}. Target dE <= {DE_MAX} every photo.",
           "", C.table(["photo", "photo's cast (log R/G, B/G)", *(f"{k} K dE" for k in CAST_KELVIN),
                        *(f"{w} wall dE" for w in WALLS)], rows), ""]
    md += [f"**{'PASS' if ok3a else 'FAIL'}** colour cast ±1500 K: dE max {_f(max(des, default=None))} (median "
           f"{_f(C.median(des) if des else None)}); raw cast dE median {_f(C.median(raws) if raws else None, 1)}, max "
           f"{_f(max(raws, default=None), 1)}" + (f"; over {DE_MAX}: {', '.join(bad_cast)}" if bad_cast else "") + ".",
           f"**{'PASS' if ok3b else 'FAIL'}** saturated walls: dE max {_f(max(wdes, default=None))} (median "
           f"{_f(C.median(wdes) if wdes else None)})" + (f"; over {DE_MAX}: {', '.join(bad_wall)}" if bad_wall else "")
           + ".", ""]
    verdicts += [("colour cast", ok3a), ("saturated walls", ok3b)]

    # 4. likeness
    rows, no_face, id_n, id_x, id_0 = [], [], [], [], []
    bad_id = []
    for r in ok_rows:
        idd = r.get("identity", {})
        if "error" in idd or any(idd.get(lv) is None for lv in LEVELS):
            no_face.append(r["photo"])
            rows.append([r["photo"], "—", "—", "—", "no face for dlib"])
            continue
        id_0.append(idd["none"])
        id_n.append(idd["natural"])
        id_x.append(idd["maximum"])
        okn, okx = idd["natural"] <= NATURAL_MAX, idd["maximum"] <= MAXIMUM_ID_MAX
        if not okn:
            bad_id.append(f"{r['photo']} natural {idd['natural']:.3f}")
        if not okx:
            bad_id.append(f"{r['photo']} maximum {idd['maximum']:.3f}")
        rows.append([r["photo"], f"{idd['none']:.3f}", f"{idd['natural']:.3f}" + ("" if okn else " ✗"),
                     f"{idd['maximum']:.3f}" + ("" if okx else " ✗"),
                     f"{idd['natural'] - idd['none']:+.3f} / {idd['maximum'] - idd['none']:+.3f}"])
    med_n = C.median(id_n) if id_n else None
    ok4 = bool(id_n) and med_n is not None and med_n <= NATURAL_MEDIAN_MAX and not bad_id
    md += ["### 4. Likeness (dlib distance input -> output, default size)", "",
           f"Targets: natural median <= {NATURAL_MEDIAN_MAX} and every photo <= {NATURAL_MAX}; maximum every photo <= "
           f"{MAXIMUM_ID_MAX}. `none` is the reference (framing, backdrop and colour without retouching).", "",
           C.table(["photo", "none", "natural", "maximum", "retouch's share (natural / maximum − none)"], rows), ""]
    if no_face:
        md += ["Not counted (dlib found no face): " + ", ".join(no_face) + ".", ""]
    md += [f"**{'PASS' if ok4 else 'FAIL'}** likeness: natural median {_f(med_n, 3)} (max {_f(max(id_n, default=None), 3)}), "
           f"maximum median {_f(C.median(id_x) if id_x else None, 3)} (max {_f(max(id_x, default=None), 3)}); none median "
           f"{_f(C.median(id_0) if id_0 else None, 3)} (max {_f(max(id_0, default=None), 3)})"
           + (f"; over: {', '.join(bad_id)}" if bad_id else "") + ".", ""]
    verdicts.append(("likeness", ok4))

    # 5. speed
    sp_res = None
    if do_speed:
        sp_res = speed(astro)
        n, x = sp_res["natural"], sp_res["maximum"]
        md += [f"### 5. Speed (colour.apply + retouch.apply on a {sp_res['size'][0]}x{sp_res['size'][1]} astronaut output, "
               f"{sp_res['cores']} cores, median of {SPEED_REPS})", "",
               f"Output face {sp_res['face_px']:.0f} px wide; CPU busy before {(sp_res['cpu_busy_before'] or 0) * 100:.0f}%"
               + (" (other processes were using the cores: the times are upper bounds)"
                  if (sp_res["cpu_busy_before"] or 0) > BUSY_WARN else "") + ".", "",
               C.table(["level", "colour.apply", "retouch.apply", "total (min–max)"], [
                   ["natural", f"{n['colour_s']:.3f}", f"{n['retouch_s']:.3f}",
                    f"**{n['total_s']:.3f}** ({n['min_s']:.3f}–{n['max_s']:.3f})"],
                   ["maximum", f"{x['colour_s']:.3f}", f"{x['retouch_s']:.3f}",
                    f"{x['total_s']:.3f} ({x['min_s']:.3f}–{x['max_s']:.3f})"]]), "",
               f"**{'PASS' if sp_res['pass'] else 'FAIL'}** retouch speed: natural {n['total_s']:.3f} s (target <= "
               f"{SPEED_MAX} s); maximum {x['total_s']:.3f} s.", ""]
        each = sorted((r["speed_natural_s"], r["photo"]) for r in ok_rows if r.get("speed_natural_s") is not None)
        if each:
            over = [f"{p} {t:.3f} s" for t, p in each if t > SPEED_MAX]
            sp_res["each"] = {p: t for t, p in each}
            md += [f"The same measure (natural, median of {SPEED_REPS_EACH}) on each photo's 1024 px output: median "
                   f"{C.median([t for t, _ in each]):.3f} s, max {each[-1][0]:.3f} s ({each[-1][1]}); "
                   f"{len(over)} of {len(each)} over {SPEED_MAX} s" + (f": {', '.join(over)}" if over else "") + ".", ""]
        verdicts.append(("retouch speed", sp_res["pass"]))

    # 6. sheets
    if out_dir is not None:
        md += ["### 6. Look", "", f"Before/after sheets: `{out_dir / 'sheets'}/<photo>.png` (100% crops of both cheeks "
               "and the eyes at none / natural / maximum, every synthetic spot before/after) and "
               f"`{over_path}` (one row per photo). Judged by eye.", ""]

    elapsed = time.perf_counter() - t0
    passed = all(v for _, v in verdicts) and not errs
    md += ["### Verdicts", ""] + [f"- **{'PASS' if v else 'FAIL'}** {n}" for n, v in verdicts]
    md += ["", f"{m['cpu_count']} cores; {elapsed:.0f} s."]
    markdown = "\n".join(md)
    summary = {
        "photos": len(ok_rows), "verdicts": {n: v for n, v in verdicts}, "seconds": round(elapsed, 1), "pass_": passed,
        "texture_natural": {"min": _r(min(nat_vals, default=math.nan)), "max": _r(max(nat_vals, default=math.nan)),
                            "median": _r(C.median(nat_vals)) if nat_vals else None, "out_of_range": bad_nat},
        "texture_maximum": {"min": _r(min(max_vals, default=math.nan)), "median": _r(C.median(max_vals)) if max_vals else None,
                            "under": bad_max},
        "spots": {"min_removal": _r(min(removals, default=math.nan)), "under": bad_spot, "photos": n_meas,
                  "skipped": skipped_ph},
        "moles": {"min_kept": _r(min(moles_k, default=math.nan)), "under": bad_mole, "not_placed": no_mole},
        "cast": {"max_de": _r(max(des, default=math.nan)), "raw_median": _r(C.median(raws)) if raws else None,
                 "over": bad_cast},
        "walls": {"max_de": _r(max(wdes, default=math.nan)), "over": bad_wall},
        "likeness": {"natural_median": _r(med_n), "natural_max": _r(max(id_n, default=math.nan)),
                     "maximum_max": _r(max(id_x, default=math.nan)), "none_median": _r(C.median(id_0)) if id_0 else None,
                     "over": bad_id, "no_face": no_face},
        "speed": sp_res,
    }
    data = {"benchmark": "retouch", "machine": m, "note": note, "summary": summary, "results": results,
            "definitions": {
                "size100": "clamp(default size / crop.scale, 600, 4000)",
                "dog": {"sigma1": f"max({DOG_SIGMA1_MIN} px, {DOG_SIGMA1_FW} fw)", "sigma2": f"{DOG_SIGMA2_FW} fw",
                        "signal": f"log(Y + {LOG_EPS})"},
                "spot_k": SPOT_K, "mole_k": MOLE_K, "radii": SPOT_RADII, "mole_radius": MOLE_RADIUS,
                "walls": WALLS, "grey_wall": GREY_WALL, "cast_kelvin": CAST_KELVIN, "neutral_kelvin": NEUTRAL_KELVIN}}
    C.write_results(out_dir, "retouch", markdown, data)  # also bench-output/retouch.{md,json}
    return {"name": "retouch", "markdown": markdown, "pass": passed, "summary": summary}


def main(argv: list[str] | None = None) -> int:
    return C.bench_main("retouch", __doc__ or "", run, DEFAULT_OUT, "folder for results.json/.md and sheets/",
                        "skip the speed measurement", argv)


if __name__ == "__main__":
    sys.exit(main())
