"""Texture-preserving retouch of the subject, in linear light, at output size.

What a retoucher removes is temporary; what they keep is the person. Every step here works on one
frequency band or one small region, so the pores, lines, marks and the shape of the face are never
touched by a step that was not meant for them:

- **Skin** (frequency separation on the landmark skin region: eyes, brows, lips, nostrils, and dark
  hair or beard over the skin left out). In log light the skin is split into a fine band (pores, below
  :data:`FINE_SIGMA` face widths), a middle band (blotches, up to :data:`MID_SIGMA`) and the shading
  above. Blotches and redness in the middle band are evened; the amount falls off with the blotch's
  own contrast, so the shadow edges of the light (nose, cheekbone) are not flattened. The fine band is
  softened only a little (:data:`FINE_SOFTEN`): the skin keeps its grain.
- **Temporary blemishes**: small, round, *red* spots (haemoglobin: a pimple, a spot, a shaving nick)
  found on the skin's redness (log R/G, which shading does not change), and healed the way the
  healing brush does it: the spot's smooth colour is filled in from the skin around it and its fine
  texture is taken from a nearby patch of skin. What is kept, unless the style sets ``marks``: any
  mark darker than blood's colour would make it (:data:`RED_RATIO`: moles, freckles, lentigines,
  i.e. melanin, and shadows in folds reddened by light scattered through the skin), darker than
  :data:`MOLE_DARK`, larger than :data:`SPOT_MAX` face widths in radius, or long rather than round
  (lines, scars, hairs). The thresholds are in docs/retouch.md.
- **Shine**: the white (specular) part of hot spots, separated from the skin's own colour with the
  dichromatic model (pixel = a * skin colour + w * white), is reduced where it exceeds the face's
  normal sheen. Taking away white light makes the skin more, not less, saturated: no greying.
- **Under the eyes**: the region under each lower lid is lifted toward the level and colour of the
  cheek below it, with a smooth gain, so the lines stay as they are.
- **Eyes**: local contrast in the iris. The whites are not touched (never bleached blue-white).
- **Teeth**: only their yellow (CIELAB b*) is reduced, toward a natural off-white; lightness and
  shape never change. Off unless asked for.
- **Stray hairs**: fine hairs reaching out from the silhouette above the shoulders are made fainter
  in the matte (at most :data:`HAIR_FADE` of their opacity), never cut.

Everything is deterministic (no random numbers) and works on a box round the face, so the cost does
not grow with the backdrop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np
from skimage.restoration import inpaint_biharmonic

from .colour import apply_gain
from .face import Face, region_mask
from .matte import _bbox
from .presets import Retouch

__all__ = ["Retouched", "Healed", "apply", "heal", "skin_mask", "find_spots", "Spot", "NOSTRILS",
           "FINE_SIGMA", "MID_SIGMA", "SPOT_MAX", "MOLE_DARK", "RED_RATIO"]

LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
EPS = np.float32(1e-3)  # offset of the log (keeps noise in the shadows from exploding)

# Lower nose: the nostrils and the columella (MediaPipe face-mesh indices, checked on a 1000 px face).
NOSTRILS = (64, 79, 237, 44, 1, 274, 457, 438, 294, 327, 326, 2, 97, 98)
# The lower lids, outer corner to inner corner (from the eye rings).
RIGHT_LOWER_LID = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_LOWER_LID = (263, 249, 390, 373, 374, 380, 381, 382, 362)

# Bands of the skin, as Gaussian sigmas in face widths (a face ~15 cm wide: 0.004 fw ~ 0.6 mm).
FINE_SIGMA = 0.004
MID_SIGMA = 0.02
FINE_SOURCE_PX = 0.8  # photo pixels: the fine band reaches at least this far on an enlarged photo
FINE_SOFTEN = 0.15  # fraction of the fine band removed at skin strength 1 (luminance only)
MID_EVEN = 0.8  # fraction of the middle band's luminance removed at skin strength 1 (small contrasts)
CHROMA_EVEN = 0.9  # fraction of the middle band's colour (redness, blotches) removed at strength 1
EVEN_KNEE = 0.12  # log contrast above which the middle band is evened less and less (light's edges)
NOT_SKIN_DARK = 0.45  # smoothed luminance below this fraction of the skin's median: hair, beard, frames

# Blemishes.
SPOT_RED = 0.06  # redness (log R/G) above the skin around it that marks a pixel as part of a spot
BLEMISH_RED = 0.12  # mean redness a spot needs to be healed (fainter ones are left to the evening)
SPOT_MIN = 1.0  # px: equivalent radius below which a spot is noise
SPOT_MAX = 0.08  # face widths: equivalent radius above which a mark is kept (a patch, not a spot)
# A blemish must have blood's colour: redness (log R/G over its ring) at least this fraction of its
# darkness (-log Y under its ring). Haemoglobin darkens mostly green, so a blood tint has darkness
# 0.7-1.05x its redness (the benchmark's synthetic spot 1.05x); a shadow on a fold, reddened by the
# light scattered through the skin, 1.5-1.8x (if_RD_d1's nasolabial fold and inner eye corner).
# 0.69 puts the line at 1.45x.
RED_RATIO = 0.69
MOLE_DARK = 0.7  # log darkness (about 50% darker) beyond which a mark is kept whatever its colour
MAX_HEALED = 200  # spots (and, if asked, marks) healed per face at most (time bound): the most visible, contrast x area
SPOT_ROUND = 3.0  # length/width ratio from which a mark is a line (wrinkle, scar, hair), kept

# Shine, under-eye, eyes, teeth, hair.
# Fraction of a hot spot's rise above the skin around it removed at strength 1. Not all of it: the
# highlight on the nose, the cheekbones and the brow is what models the face, and a face with none
# left looks flat and measurably less like the person (dlib distance on fn_paul_rudd_1.jpg, shine
# alone at strength 1: 0.084 -> 0.263 at 0.85, 0.138 at 0.5; docs/benchmarks.md, "Retouch").
SHINE_REMOVE = 0.65
SHINE_SMOOTH = 0.008  # face widths: the scale above which shine is taken down (the pores below it stay)
SHINE_AROUND = 0.08  # face widths: the skin a hot spot is compared with (a forehead's shine is ~0.1)
UNDER_EYE_LIFT = 0.7  # fraction of the gap to the cheek closed at strength 1
UNDER_EYE_MAX = 1.35  # largest gain under the eyes
IRIS_CLARITY = 0.9  # local-contrast boost in the iris at strength 1
TEETH_TARGET_B = 6.0  # CIELAB b* of natural off-white teeth; never whitened below it
TEETH_REDUCE = 0.7  # fraction of the yellow above the target removed at strength 1
# Face widths round the landmarks: the box the skin steps work in. The skin lies inside the
# landmarks' box and every wide average over it is a normalised convolution on the skin mask, so
# what lies outside adds nothing but pixels: 0.15 cost 0.05 s of a 0.27 s retouch (1024 px
# astronaut, same-run A/B; docs/benchmarks.md, "Retouch"). 0.03 keeps 4 sigma of the finest blurs.
ROI_PAD = 0.03
HAIR_FADE = 0.6  # most of a stray hair's opacity ever taken away
HEAL_FILL = 0.4  # weight of the fill-from-the-rim estimate of a healed spot (the rest: its tint taken off)
# The darkness (log luminance) of a blood tint per unit of its redness (log R/G): haemoglobin
# absorbs mostly green, so a blemish is about as dark as it is red (0.7-1.05; the benchmark's
# synthetic papule 1.05; a reddened shadow in a fold is 1.5-1.8, see RED_RATIO), with a margin.
BLOOD_DARK = (0.7, 1.1)
# The tint's footprint is the spot's redness over the fill in units of the tint's own (the core's
# median), up to TINT_FOOT_MAX: the median sits below the spot's peak (on flat skin it read 92% of
# the painted tint), so a footprint clipped at 1 left the rest of the peak. And it covers the
# spot's soft fringe: the hole (redness above 40% of the peak, grown) ends where the fringe still
# carries some tint, so the hole's blurred edge is taken TINT_FOOT_EDGE times (clipped at 1).
# Measured on synthetic spots on the astronaut's plain cheek (natural): removal 88-100% -> 90-100%;
# bench_retouch figure 2: median 90.6% -> 93.2% (docs/benchmarks.md, "Retouch and colour").
TINT_FOOT_MAX = 1.3
TINT_FOOT_EDGE = 1.5


@dataclass(frozen=True)
class Spot:
    """A mark found on the skin (in the output frame)."""

    x: float
    y: float
    radius: float  # equivalent radius, px
    redness: float  # mean log R/G above the median of the ring round it (1.8-2.8 radii)
    darkness: float  # median -log luminance below the ring's median
    # "blemish" (healed), "unhealed" (a blemish past MAX_HEALED), "mark" (kept: mole, freckle; healed
    # only with ``marks``), "faint" (left to the evening), "large", "line"
    kind: str


@dataclass(frozen=True)
class Retouched:
    """The result of :func:`apply`.

    Attributes
    ----------
    image : ndarray, shape (H, W, 3), float32, linear RGB in [0, 1]
    alpha : ndarray, shape (H, W), float32 in [0, 1]
        The matte, with stray hairs faded.
    spots : tuple of Spot
        Every mark found, and what was done (``kind == "blemish"``: healed).
    summary : dict
        What was done, in numbers (for the report).
    """

    image: np.ndarray
    alpha: np.ndarray
    spots: tuple[Spot, ...]
    summary: dict[str, object]


@dataclass(frozen=True)
class Healed:
    """The result of :func:`heal`: the blemishes healed, before anything else.

    Attributes
    ----------
    image : ndarray, shape (H, W, 3), float32, linear RGB in [0, 1]
        The image with its blemishes healed (read-only; the image given when there was nothing to do).
    spots : tuple of Spot
        Every mark found, and what was done (``kind == "blemish"``: healed).
    summary : dict
        ``spots_healed`` and ``marks_kept`` (empty when blemishes were not asked for).
    """

    image: np.ndarray
    spots: tuple[Spot, ...]
    summary: dict[str, object]


BLUR_DIRECT = 6.0  # px: sigmas above this are blurred on a shrunken copy (see _blur)


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur. A wide one (the skin's surroundings, 0.05-0.08 face widths: 50-80 px on a
    large headshot; the blob scale space's coarse levels) is done on a copy shrunk so the sigma is
    ~3 px, then enlarged: the result is smooth at that scale anyway, and it costs a few per cent of
    a full-size blur."""
    sigma = max(float(sigma), 0.3)
    f = int(sigma // 3) if sigma > BLUR_DIRECT else 1
    h, w = x.shape[:2]
    if f < 2 or min(h, w) < 4 * f:
        return cv2.GaussianBlur(x, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)
    small = cv2.resize(x, (max(1, round(w / f)), max(1, round(h / f))), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigmaX=sigma / f, borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _nconv(x: np.ndarray, w: np.ndarray, sigma: float) -> np.ndarray:
    """Normalised convolution: the Gaussian mean of ``x`` over the pixels where ``w`` is set, so
    the skin's averages do not take in the eyes, the lips or the backdrop."""
    den = _blur(w, sigma)
    num = _blur(x * (w[..., None] if x.ndim == 3 else w), sigma)
    den = np.maximum(den, 1e-4)
    return num / (den[..., None] if x.ndim == 3 else den)


def _fill(mask: np.ndarray, face: Face, idx: tuple[int, ...], value: int) -> None:
    cv2.fillPoly(mask, [np.round(face.landmarks[list(idx), :2] * 16).astype(np.int32)], value, shift=4)


def skin_mask(image: np.ndarray, face: Face) -> np.ndarray:
    """The skin the skin steps may touch.

    The landmark skin region (face oval without eyes, brows and lips), without the nostrils, and
    without anything much darker than the skin around it once smoothed (hair over the forehead, a
    beard, glasses frames).

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32, linear RGB
    face : Face
        Landmarks in the image's pixels.

    Returns
    -------
    ndarray, shape (H, W), bool
    """
    h, w = image.shape[:2]
    m = (region_mask(face, "skin", (h, w)) > 0).astype(np.uint8)
    _fill(m, face, NOSTRILS, 0)
    if not m.any():
        return m.astype(bool)
    y = image @ LUMA
    ref = float(np.median(y[m > 0]))
    ys = _blur(y, 0.01 * face.width)
    m &= (ys > NOT_SKIN_DARK * ref).astype(np.uint8)
    return m.astype(bool)


def _lower_lid_region(face: Face, lid: tuple[int, ...], top: float, bottom: float) -> np.ndarray:
    """Polygon of the band ``top``..``bottom`` face widths below a lower lid."""
    lm = face.landmarks[:, :2]
    eye_line = lm[263] - lm[33]
    down = np.array([-eye_line[1], eye_line[0]]) / max(np.linalg.norm(eye_line), 1e-6)
    if np.dot(down, lm[152] - lm[168]) < 0:
        down = -down
    pts = lm[list(lid)]
    fw = face.width
    return np.vstack([pts + down * top * fw, (pts + down * bottom * fw)[::-1]])


def _blobs(resp: np.ndarray, r_max: float, threshold: float) -> list[tuple[float, float, float, float]]:
    """Round bright blobs in ``resp``: (x, y, radius, strength), strongest first.

    Difference-of-Gaussians scale space with 3-D non-maximum suppression, as ``skimage.feature.
    blob_dog`` does; written here with OpenCV's blurs because ``blob_dog`` took 0.27 s on the face of
    a 1024 px headshot (measured), more than the whole retouch's budget.
    """
    ratio = 1.6
    sigmas = [0.8]
    while sigmas[-1] * np.sqrt(2) < r_max:
        sigmas.append(sigmas[-1] * ratio)
    # The coarse levels (sigma > BLUR_DIRECT) on a shrunken copy, like every wide blur here: the
    # full-size blurs up to sigma 34 px were 0.084 s of a 0.30 s retouch (1024 px astronaut) and
    # the spots found are the same but for a few (measured on the 20 benchmark photos' default
    # renders: 9,772 of 9,794 spots and 867 of 872 blemishes found identically, and find_spots'
    # time over them 16.3 s -> 8.8 s; docs/benchmarks.md, "Retouch").
    g = [_blur(resp, sg) for sg in sigmas + [sigmas[-1] * ratio]]
    dog = np.stack([(g[i] - g[i + 1]) / np.float32(ratio - 1) for i in range(len(sigmas))])
    kernel = np.ones((3, 3), np.uint8)
    spatial = np.stack([cv2.dilate(d, kernel) for d in dog])
    # A peak is above the threshold and at least its 3x3x3 neighbourhood's maximum. Tested at the
    # pixels above the threshold only (a few per cent of the scale space): the full-volume
    # comparison level by level was a third of this function's time.
    ks, ys, xs = np.nonzero(dog > threshold)
    v = dog[ks, ys, xs]
    top = len(sigmas) - 1
    best = np.maximum(np.maximum(spatial[np.maximum(ks - 1, 0), ys, xs], spatial[ks, ys, xs]),
                      spatial[np.minimum(ks + 1, top), ys, xs])
    at_peak = v >= best
    ks, ys, xs = ks[at_peak], ys[at_peak], xs[at_peak]
    strength = v[at_peak].astype(np.float64)
    order = np.argsort(-strength, kind="stable")
    px, py = xs[order].astype(np.float64), ys[order].astype(np.float64)
    pr = np.asarray(sigmas)[ks[order]] * np.sqrt(2)
    # Greedy suppression, strongest first: a blob inside a stronger one's radius is dropped. (One
    # vectorised test per blob against those kept; a face of a 3000 px headshot has thousands.)
    kx, ky, kr = np.empty(len(order)), np.empty(len(order)), np.empty(len(order))
    chosen: list[int] = []
    for i in range(len(order)):
        n = len(chosen)
        if n and np.any((px[i] - kx[:n]) ** 2 + (py[i] - ky[:n]) ** 2 <= (np.maximum(pr[i], kr[:n]) * 0.9) ** 2):
            continue
        kx[n], ky[n], kr[n] = px[i], py[i], pr[i]
        chosen.append(i)
    st = strength[order]
    return [(float(px[i]), float(py[i]), float(pr[i]), float(st[i])) for i in chosen]


def find_spots(image: np.ndarray, face: Face, skin: np.ndarray) -> list[Spot]:
    """Find marks on the skin and sort them into blemishes and what is kept.

    A spot is a round blob of redness (log R/G above the skin around it), found at its own scale;
    then its colour against the ring round it decides: blood's colour (redness at least
    :data:`RED_RATIO` of its darkness) is a temporary blemish; darker than that (a mole, a freckle,
    a shadow in a fold reddened by light scattered through the skin) is a mark that is kept
    (module docstring and docs/retouch.md for the thresholds).

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32, linear RGB
    face : Face
        Landmarks in the image's pixels.
    skin : ndarray, shape (H, W), bool
        From :func:`skin_mask`.

    Returns
    -------
    list of Spot
    """
    fw = face.width
    lx = np.log(image + EPS)
    red = lx[..., 0] - lx[..., 1]
    lum = np.log(image @ LUMA + EPS)
    wsk = skin.astype(np.float32)
    # Look inside the skin only: its rim meets lips, eyelids and nostrils, which are red.
    inner = cv2.erode(skin.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)),
                      iterations=max(1, round(0.008 * fw))) > 0
    dr = (red - _nconv(red, wsk, 0.05 * fw)) * wsk
    from . import _spots  # numba-compiled (see there); loaded on the first retouch

    blobs = _blobs(np.maximum(dr, 0), SPOT_MAX * fw, SPOT_RED * 0.5)
    bx, by, br = (np.array([b[k] for b in blobs], dtype=np.float64) for k in range(3))
    # Each blob's own radius (the scale space's is coarse, steps of 1.6: where its redness falls to
    # half of the centre's), then its redness and darkness against the same ring (1.8-2.8 radii):
    # measured against the wider skin round it, a spot on a locally pale patch read as faint and
    # one beside a red patch as darker than redder. The disc's median darkness, not its mean: a
    # crease or a dark pore crossing the spot does not make it a mark. Round or long: the second
    # moments of the blob's redness above half its peak.
    radius, reds, darks, elongs, ok = _spots.measure(
        np.ascontiguousarray(dr, dtype=np.float32), np.ascontiguousarray(red, dtype=np.float32),
        np.ascontiguousarray(lum, dtype=np.float32), np.ascontiguousarray(skin), np.ascontiguousarray(inner),
        bx, by, br, float(SPOT_MIN))
    spots: list[Spot] = []
    for i in np.flatnonzero(ok):
        x, y, r = float(bx[i]), float(by[i]), float(radius[i])
        redness, darkness, elong = float(reds[i]), float(darks[i]), float(elongs[i])
        # At or above the ratio: small pixel sets give exactly 3 (eigenvalues 9:1), which rounding
        # put on either side; as a line, as the NumPy measurement before the kernel had them.
        if elong >= SPOT_ROUND - 1e-9:
            kind = "line"
        elif darkness > MOLE_DARK or redness < RED_RATIO * max(darkness, 0.0):
            kind = "mark"
        elif redness < BLEMISH_RED:
            kind = "faint"
        else:
            kind = "blemish"
        spots.append(Spot(x=x, y=y, radius=r, redness=redness, darkness=darkness, kind=kind))
    # A blob on the rim of a kept mark is part of it (a mole's edge is not a spot to heal).
    kept = [t for t in spots if t.kind != "blemish"]
    blem = [i for i, t in enumerate(spots) if t.kind == "blemish"]
    if kept and blem:
        k = np.array([(t.x, t.y, t.radius) for t in kept])
        b = np.array([(spots[i].x, spots[i].y, spots[i].radius) for i in blem])
        d2 = (b[:, None, 0] - k[None, :, 0]) ** 2 + (b[:, None, 1] - k[None, :, 1]) ** 2
        on_rim = np.any((d2 < (1.3 * k[None, :, 2] + b[:, None, 2]) ** 2) & (k[None, :, 2] > b[:, None, 2]), axis=1)
        for i, rim in zip(blem, on_rim):
            if rim:
                spots[i] = replace(spots[i], kind="mark")
    return spots


def _spot_hole(red: np.ndarray, skin: np.ndarray, cx: float, cy: float, r: float) -> np.ndarray:
    """The pixels a spot covers, as tight as its redness allows (uint8 mask over ``red``'s patch).

    What is filled in is guessed from the skin round it, and the guess is only as good as the hole
    is small (beside a crease, a fill twice the spot's size takes in the crease's shadow): the hole
    is where the redness stands above the ring round the spot by 40% of the spot's own, grown
    by a margin of a quarter of its radius (the spot's soft edge), and never less than its core."""
    hh, ww = red.shape
    yy, xx = np.mgrid[0:hh, 0:ww]
    d2 = (xx - cx) ** 2 + (yy - cy) ** 2
    ring = (d2 > (1.8 * r) ** 2) & (d2 <= (2.8 * r + 1) ** 2) & skin
    ref = float(np.median(red[ring])) if np.count_nonzero(ring) >= 6 else float(np.median(red))
    above = red - ref
    peak = float(np.max(above[d2 <= max(1.0, 0.5 * r) ** 2]))
    core = (d2 <= (0.7 * r) ** 2)
    if peak > 0:
        part = ((above > 0.4 * peak) & (d2 <= (1.4 * r) ** 2)).astype(np.uint8)
        n, lab = cv2.connectedComponents(part, connectivity=8)
        keep = np.unique(lab[core & (part > 0)])
        core = core | np.isin(lab, keep[keep > 0])
    grow = max(1, int(round(r / 4)))
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    return cv2.dilate(core.astype(np.uint8), k)


def _heal(lx: np.ndarray, skin: np.ndarray, holes: np.ndarray, spot: Spot) -> None:
    """Heal one spot in place (log image). ``holes`` marks every spot and mark found: none of them is
    used as the skin round another, nor as the source of texture.

    Two estimates of the skin under the spot, averaged (:data:`HEAL_FILL`), because each goes wrong
    where the other does not:

    - the healing brush's: the spot's smooth part filled in from the skin round it (biharmonic),
      its fine texture copied from a clean patch beside it. It loses what the spot sits on: in a
      crease or on a shadow edge the fill takes the rim's level (measured 2-4 L* too light);
    - the spot's own skin with its tint taken off: a blemish is blood under the skin, a tint over
      skin that is still there (its pores, its crease). Where the spot's redness stands above the
      fill's, the colour of the spot's core (its smooth part over the fill) is taken off in
      proportion. It keeps the crease and the pores, but leaves what is more than a tint (a raised
      edge), and the fill's error enters its colour.

    Both work over a hole as tight as the spot (:func:`_spot_hole`): the smaller the hole, the less
    there is to guess."""
    h, w = skin.shape
    r = spot.radius
    rad = int(np.ceil(r * 1.6)) + 2
    off = int(np.ceil(2.2 * r)) + 3
    pad = rad + off + 2
    cx, cy = int(round(spot.x)), int(round(spot.y))
    ya, yb, xa, xb = max(0, cy - pad), min(h, cy + pad + 1), max(0, cx - pad), min(w, cx + pad + 1)
    patch = lx[ya:yb, xa:xb]
    sk = skin[ya:yb, xa:xb]
    hole = _spot_hole(patch[..., 0] - patch[..., 1], sk, spot.x - xa, spot.y - ya, r)
    hole &= cv2.dilate(holes[ya:yb, xa:xb].astype(np.uint8), np.ones((3, 3), np.uint8), iterations=int(np.ceil(r * 0.6)) + 1)
    if not hole.any():
        return
    # The split between the smooth part (filled in) and the texture (copied) is at the spot's scale:
    # everything finer than about a third of it is texture.
    sigma = max(0.8, 0.35 * r)
    low = _blur(patch, sigma)
    # The rim's smooth colour is taken from outside the hole only (a plain blur would smear the
    # spot itself over its rim).
    outside = (hole == 0).astype(np.float32)
    low_out = _nconv(patch, outside, sigma)
    rim = (cv2.dilate(hole, np.ones((3, 3), np.uint8)) > 0) & (hole == 0)
    if float(np.mean(sk[rim])) < 0.7:
        return  # its rim is not skin (at the hairline, beside an eye): left as it is
    # The hole's smooth part continues the skin round it, slopes included (biharmonic: a shading
    # gradient across a spot carries on through it, and the fill meets the rim without a crease).
    # (Not OpenCV's inpainting: on float images Telea returns noise (measured) and Navier-Stokes is
    # only 8-bit accurate.)
    filled = inpaint_biharmonic(low_out.astype(np.float64), hole > 0, channel_axis=-1).astype(np.float32)
    tex = patch - low
    # Texture from the nearest clean patch of skin (of eight directions, the one with the most skin
    # and no spot); the spot's own fine band otherwise.
    src_tex = tex
    best = -1.0
    ys, xs = np.nonzero(hole)
    for ang in range(8):
        dx, dy = int(round(off * np.cos(ang * np.pi / 4))), int(round(off * np.sin(ang * np.pi / 4)))
        sy, sx = ys + dy, xs + dx
        if sy.min() < 0 or sx.min() < 0 or sy.max() >= patch.shape[0] or sx.max() >= patch.shape[1]:
            continue
        score = float(np.mean(sk[sy, sx] & ~holes[ya:yb, xa:xb][sy, sx]))
        if score > best + 1e-6:
            best, bdx, bdy = score, dx, dy
    if best >= 0.9:
        src_tex = tex.copy()
        src_tex[ys, xs] = tex[ys + bdy, xs + bdx]
    wgt = (np.clip(_blur(hole.astype(np.float32), max(0.5, r * 0.25)) * 1.5, 0.0, 1.0) * hole)[..., None]
    fill_est = patch + wgt * (filled + src_tex - patch)
    # The tint: its colour is the median of the spot's core (redness above 60% of its peak) over
    # the fill, per channel in log light; its footprint the redness above the fill's in that unit.
    ls = _blur(patch, max(0.5, 0.15 * r))
    red_a = (ls[..., 0] - ls[..., 1]) - (filled[..., 0] - filled[..., 1])
    inside = hole > 0
    peak = float(np.max(red_a[inside]))
    core = inside & (red_a > 0.6 * peak)
    tint = np.median((ls - filled)[core], axis=0) if peak > 0 else np.zeros(3, np.float32)
    tr = float(tint[0] - tint[1])
    if tr > 0:
        # Blood darkens by about as much as it reddens (BLOOD_DARK); darkness beyond that range
        # is the skin under the spot differing from its rim (a dark dot, a mole, a shadow the
        # spot sits on, or a paler patch), which is the person's and stays: only the tint's grey
        # part is moved into the range, its colour is the spot's own.
        dark = -float(tint @ LUMA)
        tint = tint - (min(max(dark, BLOOD_DARK[0] * tr), BLOOD_DARK[1] * tr) - dark)
        edge = np.clip(np.float32(TINT_FOOT_EDGE) * _blur(hole.astype(np.float32), max(0.5, 0.2 * r)), 0.0, 1.0)
        foot = np.clip(red_a / tr, 0.0, TINT_FOOT_MAX) * edge
        tint_est = patch - foot[..., None] * tint.astype(np.float32)
    else:
        tint_est = fill_est
    patch[:] = HEAL_FILL * fill_est + (1 - HEAL_FILL) * tint_est


def _soft(mask: np.ndarray, sigma: float) -> np.ndarray:
    """A mask eroded by ``sigma`` then blurred by it: 0 on the rim, 1 well inside."""
    k = max(1, int(round(sigma)))
    e = cv2.erode(mask.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
    return _blur(e.astype(np.float32), sigma)


def _even_skin(lx: np.ndarray, skin: np.ndarray, weight: np.ndarray, strength: float, fw: float,
               pixel_scale: float = 1.0) -> None:
    """Frequency separation on the skin, in place (log image)."""
    w = skin.astype(np.float32)
    # On an enlarged photo the finest detail it has (its pores, or its grain where pores are below
    # a pixel) spans several output pixels: the fine band is never finer than that.
    fine_s = max(0.6, FINE_SIGMA * fw, FINE_SOURCE_PX * pixel_scale)
    base_f = _nconv(lx, w, fine_s)
    base_m = _nconv(lx, w, max(fine_s * 2, MID_SIGMA * fw))
    fine = lx - base_f
    mid = base_f - base_m
    fine_y = fine @ LUMA
    mid_y = mid @ LUMA
    mid_c = mid - mid_y[..., None]
    # Small contrasts (blotches) evened fully, large ones (the light's shadow edges) less and less.
    k2 = np.float32(EVEN_KNEE**2)
    even_y = np.float32(MID_EVEN * strength) * mid_y * (k2 / (k2 + mid_y * mid_y))
    delta = (np.float32(FINE_SOFTEN * strength) * fine_y + even_y)[..., None] + np.float32(CHROMA_EVEN * strength) * mid_c
    lx -= weight[..., None] * delta


def _shine(img: np.ndarray, skin: np.ndarray, weight: np.ndarray, strength: float, fw: float) -> float:
    """Reduce specular hot spots in place (linear image); returns the mean luminance taken off the skin."""
    sm = _blur(img, max(0.6, SHINE_SMOOTH * fw))
    px = sm[skin]
    if len(px) < 50:
        return 0.0
    y = px @ LUMA
    lo, hi = np.quantile(y, [0.2, 0.7])
    keep = (y > lo) & (y < hi)
    c = np.median(px[keep] / np.maximum(y[keep, None], 1e-4), axis=0)
    c = c / np.linalg.norm(c)
    one = np.full(3, 1 / np.sqrt(3), dtype=np.float64)
    # Least squares img = a c + b one (c and one are unit vectors): solve the 2x2 normal equations.
    g = float(c @ one)
    det = 1 - g * g
    if det < 1e-4:  # a grey face (monochrome photo): no colour to tell shine from skin
        return 0.0
    pc = sm @ c.astype(np.float32)
    po = sm @ one.astype(np.float32)
    b = (po - g * pc) / det  # the white part
    wn = (b / np.sqrt(3)).astype(np.float32)  # the white part, per channel
    # A hot spot is white light above the skin's sheen around it (a face that is pale or evenly
    # glossy all over has no hot spot). It is taken down toward the colour of the skin around it
    # (not by subtracting grey: a clipped highlight has lost its red, and grey taken from it would
    # leave it blue), in its smooth part only, so the pores in it stay.
    wsk = skin.astype(np.float32)
    around = max(1.0, SHINE_AROUND * fw)
    base = _nconv(sm, wsk, around)
    excess = np.maximum(wn - _nconv(wn, wsk, around), 0)
    sm_y, base_y = sm @ LUMA, base @ LUMA
    above = np.maximum(sm_y - base_y, 0)
    # How much of the pixel's brightness above its surroundings is white light (0..1).
    hot = np.clip(excess / np.maximum(above, 1e-4), 0.0, 1.0) * (above > 0.01 * base_y)
    hot = _blur(hot.astype(np.float32), max(0.6, 0.004 * fw))
    k = np.float32(SHINE_REMOVE * strength) * hot * weight
    move = np.minimum(sm - base, 0.5 * img) * (sm_y > base_y)[..., None]
    img -= k[..., None] * move
    return float(np.mean((k[..., None] * move)[skin] @ LUMA))


def _under_eyes(img: np.ndarray, face: Face, strength: float) -> list[float]:
    fw = face.width
    h, w = img.shape[:2]
    gains = []
    for lid in (RIGHT_LOWER_LID, LEFT_LOWER_LID):
        band = np.zeros((h, w), np.uint8)
        cheek = np.zeros((h, w), np.uint8)
        cv2.fillPoly(band, [np.round(_lower_lid_region(face, lid, 0.015, 0.1) * 16).astype(np.int32)], 1, shift=4)
        cv2.fillPoly(cheek, [np.round(_lower_lid_region(face, lid, 0.13, 0.19) * 16).astype(np.int32)], 1, shift=4)
        if np.count_nonzero(band) < 10 or np.count_nonzero(cheek) < 10:
            gains.append(1.0)
            continue
        cur = np.median(img[band > 0], axis=0)
        ref = np.median(img[cheek > 0], axis=0)
        ly = float(np.log(max(ref @ LUMA, 1e-4)) - np.log(max(cur @ LUMA, 1e-4)))
        if ly <= 0:
            gains.append(1.0)
            continue
        k = UNDER_EYE_LIFT * strength
        g = np.clip(np.exp(k * (np.log(np.maximum(ref, 1e-4)) - np.log(np.maximum(cur, 1e-4)))), 1 / 1.1,
                    UNDER_EYE_MAX).astype(np.float32)
        # The lift's feathered band reaches 4 sigma past the band: work in that box only.
        box = _box(band > 0, 4 * 0.02 * fw + 2)
        wgt = _blur(band[box].astype(np.float32), 0.02 * fw)
        img[box] *= 1 + wgt[..., None] * (g - 1)
        gains.append(float(g @ LUMA))
    return gains


def _box(mask: np.ndarray, pad: float) -> tuple[slice, slice]:
    """The bounding box of ``mask``'s set pixels grown by ``pad`` px, clipped to the array, as
    slices (the matte's :func:`~headshot.matte._bbox`): the small steps (irises, under the eyes,
    stray hairs) work in it instead of the whole face box."""
    y0, y1, x0, x1 = _bbox(mask, int(np.ceil(pad)))
    return slice(y0, y1), slice(x0, x1)


def _irises(img: np.ndarray, face: Face, strength: float) -> None:
    full = region_mask(face, "irises", img.shape[:2])
    if not full.any():
        return
    r = max(1.0, float(np.sqrt(np.count_nonzero(full) / (2 * np.pi))))
    # Only the irises change: work in their box, wide enough for the blurs' kernels (4 sigma).
    box = _box(full > 0, 4 * max(0.7, 0.3 * r) + 2)
    m, part = full[box], img[box]
    wgt = _blur(m, max(0.5, 0.15 * r)) * m
    ly = np.log(part @ LUMA + EPS)
    detail = ly - _blur(ly, max(0.7, 0.3 * r))
    part *= np.exp(np.float32(IRIS_CLARITY * strength) * detail * wgt)[..., None]


def _teeth(img: np.ndarray, face: Face, strength: float) -> float:
    m = region_mask(face, "mouth", img.shape[:2]) > 0
    if np.count_nonzero(m) < 10:
        return 0.0
    ys, xs = np.nonzero(m)
    ya, yb, xa, xb = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    part = np.ascontiguousarray(img[ya:yb, xa:xb])
    lab = cv2.cvtColor(part, cv2.COLOR_LRGB2Lab)  # (float: linear RGB in [0, 1] -> L in 0..100)
    mm = m[ya:yb, xa:xb]
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    teeth = mm & (lab[..., 0] > 45) & (chroma < 45) & (lab[..., 2] > TEETH_TARGET_B)
    if not teeth.any():
        return 0.0
    wgt = _blur(teeth.astype(np.float32), 0.7) * mm
    lab[..., 2] -= np.float32(TEETH_REDUCE * strength) * np.maximum(lab[..., 2] - TEETH_TARGET_B, 0) * wgt
    back = np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2LRGB), 0.0, 1.0)
    img[ya:yb, xa:xb] = np.where(mm[..., None], back, part)
    return float(np.count_nonzero(teeth))


def _stray_hairs(alpha: np.ndarray, face: Face, strength: float) -> float:
    """Fade fine hairs standing out of the silhouette above the chin; returns opacity removed."""
    fw = face.width
    lm = face.landmarks[:, :2]
    chin_y = float(lm[152, 1])
    k = max(3, 2 * int(round(0.025 * fw)) + 1)
    # Only the partly transparent pixels above the chin can fade. Their box, grown by what decides
    # their fade (the opening's kernel twice and the 0.035 fw over which the distance to the core
    # counts), gives the same fade as the whole frame at a fraction of the cost (a 1024 px frame's
    # opening and distance transform were 0.02 s).
    edge = (alpha > 0) & (alpha < 0.98)
    edge[int(np.clip(np.ceil(chin_y), 0, alpha.shape[0])):] = False
    if not edge.any():
        return 0.0
    box = _box(edge, 0.035 * fw + 2 * k + 2)
    a = alpha[box]
    solid = (a > 0.5).astype(np.uint8)
    core = cv2.morphologyEx(solid, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    dist = cv2.distanceTransform(1 - core, cv2.DIST_L2, 3)
    far = np.clip((dist - 0.005 * fw) / (0.03 * fw), 0.0, 1.0)
    rows = np.arange(box[0].start, box[0].stop, dtype=np.float32)[:, None]
    above = np.clip((chin_y - rows) / (0.1 * fw), 0.0, 1.0)
    fade = np.float32(HAIR_FADE * strength) * far * above * (a < 0.98)
    removed = a * fade
    a -= removed
    return float(removed.sum())


def _check(image: np.ndarray, alpha: np.ndarray) -> None:
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3), got shape {image.shape}")
    if alpha.shape != image.shape[:2]:
        raise ValueError(f"alpha must be {image.shape[:2]}, got shape {alpha.shape}")


def _face_box(face: Face, shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
    """The box round the face every skin step works in (x0, x1, y0, y1), or None when too small."""
    fw = face.width
    h, w = shape[:2]
    lm = face.landmarks[:, :2]
    pad = ROI_PAD * fw
    x0 = int(max(0, np.floor(lm[:, 0].min() - pad)))
    x1 = int(min(w, np.ceil(lm[:, 0].max() + pad)))
    y0 = int(max(0, np.floor(lm[:, 1].min() - pad)))
    y1 = int(min(h, np.ceil(lm[:, 1].max() + pad)))
    if x1 - x0 < 8 or y1 - y0 < 8 or fw < 16:
        return None
    return x0, x1, y0, y1


def _in_box(face: Face, x0: int, y0: int) -> Face:
    lms = face.landmarks.copy()
    lms[:, 0] -= x0
    lms[:, 1] -= y0
    return replace(face, landmarks=lms)


def heal(image: np.ndarray, alpha: np.ndarray, face: Face, settings: Retouch, *,
         gains: np.ndarray | None = None) -> Healed:
    """Find the marks on the skin and heal the temporary blemishes (the first step of :func:`apply`).

    Every step of the healing is relative (a spot's redness against the ring round it, its fill from
    its rim, its tint over the fill, all in log light), so an exposure does not change it and a
    white balance only a little (a spot's darkness is measured on luminance, whose mix of R, G and B
    a per-channel gain shifts: a blemish is told from a reddened shadow by that darkness). A render
    therefore heals once per frame, before the tone, in the photo's own neutral white balance
    (``gains``), and every style on that frame reuses it (``apply(..., healed=...)``).

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32, linear RGB in [0, 1]
        Not changed.
    alpha : ndarray, shape (H, W), float32 in [0, 1]
    face : Face
        Landmarks in the image's pixels.
    settings : Retouch
        Only ``blemishes`` and ``marks`` are used.
    gains : array of 3 floats, optional
        Linear RGB gains to measure and heal under, as :func:`headshot.colour.apply_gain` applies
        them (the photo's neutral white balance and exposure); the result is in ``image``'s own
        colours.

    Returns
    -------
    Healed
    """
    _check(image, alpha)
    g = np.ones(3, np.float32) if gains is None else np.asarray(gains, np.float32).reshape(-1)
    if g.shape != (3,) or not (np.all(np.isfinite(g)) and np.all(g > 0)):
        raise ValueError(f"gains must be three positive numbers, got {gains}")
    box = _face_box(face, image.shape)
    if box is None or not (settings.blemishes > 0 or settings.marks):
        return Healed(image, (), {})
    x0, x1, y0, y1 = box
    out = image.astype(np.float32, copy=True)
    roi = out[y0:y1, x0:x1]
    # Seen as the tone would show it (the same gains and highlight roll-off); what the healing does
    # there is carried back to the image's own colours.
    seen = apply_gain(roi, g) if gains is not None else roi
    rf = _in_box(face, x0, y0)
    skin = skin_mask(seen, rf) & (alpha[y0:y1, x0:x1] > 0.5)
    spots = find_spots(seen, rf, skin)
    # Every blemish is healed, the most visible first, up to MAX_HEALED of each kind asked
    # for: a bound on the time a very mottled face takes (a 3100 px photo of reddish skin
    # has ~1600 red flecks that qualify), not a choice of what to keep. (Marks asked for do
    # not crowd out the blemishes, nor the reverse.)
    def most_visible(kind: str) -> list[Spot]:
        found = [t for t in spots if t.kind == kind]
        return sorted(found, key=lambda t: -(t.redness + max(t.darkness, 0.0)) * t.radius**2)[:MAX_HEALED]

    todo = (most_visible("blemish") if settings.blemishes > 0 else []) + (
        most_visible("mark") if settings.marks else [])
    if todo:
        lx0 = np.log(seen + EPS)
        lx = lx0.copy()
        holes = np.zeros(skin.shape, np.uint8)
        for t in spots:
            cv2.circle(holes, (int(round(t.x)), int(round(t.y))), int(np.ceil(t.radius * 1.4)) + 1, 1, -1)
        holes_b = holes.astype(bool)
        for t in todo:
            _heal(lx, skin, holes_b, t)
        if settings.blemishes < 1:
            lx = lx0 + np.float32(settings.blemishes) * (lx - lx0)
        # Back to the image's colours as a difference in linear light over the gains (exact below
        # the roll-off; a ratio would not be: the log's offset makes it wrong in the dark channels
        # of stubble or a frame, which came out red), on the healed pixels only.
        done = np.any(lx != lx0, axis=2)
        roi[done] += (np.exp(lx[done]) - EPS - seen[done]) / g
        np.clip(roi, 0.0, 1.0, out=roi)
    # By identity: ``t not in todo`` compares the dataclasses field by field, len(spots) x
    # len(todo) times (3.8 s of a 7 s retouch on a 3100 px photo with 900 spots healed).
    healed = set(map(id, todo))
    summary: dict[str, object] = {"spots_healed": len(todo),
                                  "marks_kept": sum(1 for t in spots if id(t) not in healed)}
    # What the list says is what was done: a blemish past the cap was not healed.
    found = tuple(replace(t, x=t.x + x0, y=t.y + y0,
                          kind="unhealed" if t.kind == "blemish" and id(t) not in healed else t.kind)
                  for t in spots)
    out.flags.writeable = False
    return Healed(out, found, summary)


def apply(image: np.ndarray, alpha: np.ndarray, face: Face, settings: Retouch, *,
          pixel_scale: float = 1.0, healed: Healed | None = None) -> Retouched:
    """Retouch a subject.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32, linear RGB in [0, 1]
        The subject's colours (not changed; a new array is returned).
    alpha : ndarray, shape (H, W), float32 in [0, 1]
        The subject's matte (not changed).
    face : Face
        Landmarks in the image's pixels.
    settings : Retouch
        Strengths (see :class:`headshot.presets.Retouch`).
    pixel_scale : float
        Image pixels per pixel of the photo (above 1 when the photo was enlarged to this size): the
        skin's fine band is kept at least as wide as the photo's own finest detail.
    healed : Healed, optional
        The blemishes already healed by :func:`heal` on this frame (``image`` then already carries
        the healing, possibly toned since): the healing step is skipped and its spots reported.

    Returns
    -------
    Retouched
    """
    _check(image, alpha)
    summary: dict[str, object] = {"settings": settings.as_dict()}
    if not settings.active:
        return Retouched(image.astype(np.float32, copy=True), alpha.astype(np.float32, copy=True), (), summary)
    if healed is None:
        healed = heal(image, alpha, face, settings)
        image = healed.image
    summary.update(healed.summary)
    out = image.astype(np.float32, copy=True)
    a = alpha.astype(np.float32, copy=True)
    fw = face.width
    box = _face_box(face, image.shape)
    if box is not None:
        x0, x1, y0, y1 = box
        roi = out[y0:y1, x0:x1]
        rf = _in_box(face, x0, y0)
        skin = skin_mask(roi, rf) & (a[y0:y1, x0:x1] > 0.5)
        weight = _soft(skin, max(0.7, 0.006 * fw))
        if settings.skin > 0 and skin.any():
            lx = np.log(roi + EPS)
            _even_skin(lx, skin, weight, settings.skin, fw, pixel_scale)
            roi[:] = np.clip(np.exp(lx) - EPS, 0.0, 1.0)
        if settings.shine > 0:
            summary["shine_removed"] = round(_shine(roi, skin, weight, settings.shine, fw), 5)
        if settings.under_eye > 0:
            summary["under_eye_gain"] = [round(g, 3) for g in _under_eyes(roi, rf, settings.under_eye)]
        if settings.eyes > 0:
            _irises(roi, rf, settings.eyes)
        if settings.teeth > 0:
            summary["teeth_pixels"] = int(_teeth(roi, rf, settings.teeth))
        np.clip(roi, 0.0, 1.0, out=roi)
    if settings.stray_hairs > 0:
        summary["hair_opacity_removed"] = round(_stray_hairs(a, face, settings.stray_hairs), 1)
    return Retouched(out, a, healed.spots, summary)
